"""MLR with FIML: the row form of the saturated model's casewise scores and observed
information equals the pattern-by-pattern evaluation.

:func:`engagement_kit.measurement.robust._saturated_scores` and
:func:`~engagement_kit.measurement.robust._saturated_observed_information` compute from the
full precision matrix and a k x k block per pattern (k unanswered items); the
``_direct`` versions invert Sigma_oo of each pattern and are the reference. Checked on a
two-group data set with many patterns: rows with a single answered item, complete rows and
everything in between, at the saturated (EM) estimates and at the fitted model's moments.
The direct versions are themselves checked against numerical derivatives of scipy's
casewise normal log-likelihood here, so the reference cannot drift with the fast path.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from missing_patterns import ITEMS, PATTERN, many_pattern_items
from scipy import stats

from engagement_kit.measurement.robust import (
    _saturated_observed_information,
    _saturated_observed_information_direct,
    _saturated_scores,
    _saturated_scores_direct,
    _vech_basis,
    robust_test,
)
from engagement_kit.measurement.sem import _jacobian, fit_cfa_ml, group_moments


def _data(n: int, seed: int) -> pd.DataFrame:
    return many_pattern_items(n, seed, heavy_tails=True)


@pytest.fixture(scope="module")
def fitted():
    d = _data(600, 3)
    d = d[d.notna().any(axis=1)]
    groups = pd.Series(np.where(np.arange(len(d)) % 2 == 0, "a", "b"), index=d.index)
    return fit_cfa_ml(group_moments(d, groups, missing="fiml"), PATTERN, ITEMS, ["f1", "f2"], equal={"loadings"})


def test_the_data_has_many_patterns_single_items_and_complete_rows(fitted):
    for mo in fitted._model.moments:
        sizes = [pt.observed.size for pt in mo.patterns]
        assert len(sizes) > 30 and 1 in sizes and 6 in sizes


@pytest.fixture(params=["one chunk", "three patterns a chunk"])
def chunked(request, monkeypatch):
    """The row form holds the per-pattern p x p matrices in chunks of bounded memory: one
    chunk per block here, or a few patterns each (several chunks per block)."""
    from engagement_kit.measurement import robust

    if request.param != "one chunk":
        monkeypatch.setattr(robust, "_CHUNK", 3 * len(ITEMS) ** 2)


def test_scores_equal_the_direct_evaluation_row_by_row(fitted, chunked):
    m = fitted._model
    iu0, iu1, _ = _vech_basis(m.p)
    for g, mo in enumerate(m.moments):
        for sigma, mu in [(mo.cov, mo.mean), m.implied(fitted.x, g)]:
            fast = _saturated_scores(mo, sigma, mu, iu0, iu1)
            direct = _saturated_scores_direct(mo, sigma, mu, iu0, iu1)
            assert fast.shape == direct.shape == (mo.n, m.p + iu0.size)
            np.testing.assert_allclose(fast, direct, rtol=1e-10, atol=1e-10)


def test_observed_information_equals_the_direct_evaluation(fitted, chunked):
    m = fitted._model
    iu0, iu1, _ = _vech_basis(m.p)
    for mo in m.moments:
        fast = _saturated_observed_information(mo, iu0, iu1)
        direct = _saturated_observed_information_direct(mo, iu0, iu1)
        np.testing.assert_allclose(fast, direct, rtol=1e-10, atol=1e-10 * np.abs(direct).max())
        assert np.linalg.eigvalsh(fast).min() > 0


def _loglik(mo, theta: np.ndarray, iu0: np.ndarray, iu1: np.ndarray) -> np.ndarray:
    """Casewise log-likelihood of each row's answered items at (mu, vech Sigma) = theta, by
    scipy, rows in pattern order."""
    p = mo.mean.size
    mu = theta[:p]
    sigma = np.zeros((p, p))
    sigma[iu0, iu1] = sigma[iu1, iu0] = theta[p:]
    return np.concatenate([stats.multivariate_normal(mu[pt.observed], sigma[np.ix_(pt.observed, pt.observed)])
                           .logpdf(pt.rows).reshape(pt.n) for pt in mo.patterns])


def test_the_direct_reference_is_the_derivative_of_scipys_casewise_loglikelihood(fitted):
    mo = fitted._model.moments[0]
    iu0, iu1, _ = _vech_basis(mo.mean.size)
    theta = np.concatenate([mo.mean, mo.cov[iu0, iu1]])
    scores = _jacobian(lambda t: _loglik(mo, t, iu0, iu1), theta, h=1e-6)
    np.testing.assert_allclose(_saturated_scores_direct(mo, mo.cov, mo.mean, iu0, iu1), scores, atol=1e-6)
    # observed information per respondent: minus the mean Hessian, by differences of the scores
    hess = _jacobian(lambda t: _saturated_scores_direct(mo, _sym(t, mo.mean.size, iu0, iu1), t[:mo.mean.size],
                                                        iu0, iu1).sum(axis=0), theta, h=1e-6)
    np.testing.assert_allclose(_saturated_observed_information_direct(mo, iu0, iu1), -hess / mo.n, atol=1e-6)


def _sym(theta: np.ndarray, p: int, iu0: np.ndarray, iu1: np.ndarray) -> np.ndarray:
    s = np.zeros((p, p))
    s[iu0, iu1] = s[iu1, iu0] = theta[p:]
    return s


def test_mlr_test_is_unchanged_by_the_row_form(fitted, monkeypatch):
    """The whole scaled test (scaling factor, robust covariance) with the fast functions
    equals the one with the direct ones substituted."""
    from engagement_kit.measurement import robust

    fast = robust_test(fitted, "mlr")
    monkeypatch.setattr(robust, "_saturated_scores", robust._saturated_scores_direct)
    monkeypatch.setattr(robust, "_saturated_observed_information", robust._saturated_observed_information_direct)
    direct = robust_test(fitted, "mlr")
    assert abs(fast.scaling_factor - 1) > 0.02
    assert fast.scaling_factor == pytest.approx(direct.scaling_factor, rel=1e-10)
    np.testing.assert_allclose(fast.vcov, direct.vcov, rtol=1e-9, atol=1e-14)
