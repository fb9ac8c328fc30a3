"""FIML's precision-matrix path equals the straightforward pattern-by-pattern evaluation.

The fit function, its gradient, the derivative of the gradient (observed information),
the baseline statistic and the EM estimates of the saturated model are computed from the
full precision matrix and a k x k block per pattern (k unanswered items) in
:mod:`engagement_kit.measurement.sem`; here each is checked against the direct
evaluation (one q x q inverse of Sigma_oo per pattern, q answered items) on a small data
set with many patterns: rows with a single answered item, the complete pattern, and
everything in between.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from missing_patterns import ITEMS, PATTERN, many_pattern_items

from engagement_kit.measurement.sem import (
    _baseline_chi2,
    _Model,
    _patterns,
    fit_cfa_ml,
    group_moments,
    saturated_em,
)


def _data(n: int, seed: int) -> pd.DataFrame:
    return many_pattern_items(n, seed)


@pytest.fixture(scope="module")
def fitted():
    d = _data(600, 3)
    d = d[d.notna().any(axis=1)]
    groups = pd.Series(np.where(np.arange(len(d)) % 2 == 0, "a", "b"), index=d.index)
    mom = group_moments(d, groups, missing="fiml")
    est = fit_cfa_ml(mom, PATTERN, ITEMS, ["f1", "f2"], equal={"loadings"})
    return est


def test_the_data_has_many_patterns_single_items_and_complete_rows(fitted):
    m = fitted._model
    for g, mo in enumerate(m.moments):
        sizes = [pt.observed.size for pt in mo.patterns]
        assert len(sizes) > 30 and 1 in sizes and 6 in sizes
        assert m.rows[g] is not None  # the precision-matrix path is taken


@pytest.mark.parametrize("shift", [0.0, 0.05, -0.1])
def test_fit_function_gradient_and_observed_information_equal_the_direct_evaluation(fitted, shift):
    m = fitted._model
    x = fitted.x + shift * np.random.default_rng(1).normal(size=fitted.x.size)
    for g in range(m.G):
        sigma, mu = m.implied(x, g)
        assert np.linalg.eigvalsh(sigma).min() > 0
        fast, direct = m._pattern_terms(sigma, mu, g), m._pattern_terms_direct(sigma, mu, g)
        assert fast == pytest.approx(direct, rel=1e-10, abs=1e-12)
        for a, b in zip(m._moment_gradient(sigma, mu, g), m._moment_gradient_direct(sigma, mu, g)):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        par = m.group_params(g)
        ds, dm = m._dmoments(x, g, par)
        for a, b in zip(m._moment_gradient_derivative(sigma, mu, g, ds, dm),
                        m._moment_gradient_derivative_direct(sigma, mu, g, ds, dm)):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_a_covariance_that_is_not_positive_definite_falls_back_to_the_direct_path(fitted):
    m = fitted._model
    sigma, mu = m.implied(fitted.x, 0)
    sigma = sigma + np.diag([-5.0, 0, 0, 0, 0, 0])
    assert np.linalg.eigvalsh(sigma).min() < 0
    assert m._pattern_terms(sigma, mu, 0) == m._pattern_terms_direct(sigma, mu, 0) == np.inf


def test_baseline_statistic_equals_the_direct_evaluation(fitted):
    m = fitted._model
    fast = _baseline_chi2(m.moments, m.rows)
    assert fast == pytest.approx(_baseline_chi2(m.moments), rel=1e-10)
    assert fitted.baseline_chi2 == fast


def test_em_estimates_are_where_the_direct_saturated_gradient_vanishes():
    """The saturated model is the factor model with Sigma and mu free: at the EM estimates
    the pattern-by-pattern gradient of F with respect to Sigma and mu is zero."""
    d = _data(400, 5)
    a = d[d.notna().any(axis=1)].to_numpy()
    pats = _patterns(a)
    mu, cov = saturated_em(pats, 6)
    mo = group_moments(pd.DataFrame(a, columns=ITEMS), missing="fiml")[0]
    np.testing.assert_array_equal(mo.mean, mu)
    m = _Model(PATTERN, [mo], frozenset())
    gs, gm = m._moment_gradient_direct(cov, mu, 0)
    assert np.max(np.abs(gs)) < 1e-9 and np.max(np.abs(gm)) < 1e-9
    # and moving away from them raises the direct fit function
    f0 = m._pattern_terms_direct(cov, mu, 0)
    assert m._pattern_terms_direct(cov * 1.01, mu, 0) > f0 and m._pattern_terms_direct(cov, mu + 0.01, 0) > f0


def test_expected_information_equals_the_per_pattern_sum(fitted):
    """The kernel form of the FIML expected information (modification indices) equals the
    per-pattern traces, with several chunks per batch."""
    m, x = fitted._model, fitted.x
    direct = m.fiml_expected_information_direct(x)
    np.testing.assert_allclose(m.fiml_expected_information(x), direct, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(m.fiml_expected_information(x, chunk=3), direct, rtol=1e-10, atol=1e-13)
