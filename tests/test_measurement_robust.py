"""Robust ML (MLM, MLR), full-information ML, modification indices and partial invariance.

References
----------
* lavaan 0.6-17, ``cfa(HS.model, data = HolzingerSwineford1939, estimator = "MLR")``:
  scaled (Yuan-Bentler, Mplus variant) chi-square 87.132 on 24 df, scaling factor 0.979;
  ``estimator = "MLM"``: Satorra-Bentler 80.872, scaling factor 1.055 (issue #15).
* lavaan tutorial, "Modification indices" (https://lavaan.ugent.be/tutorial/modindices.html),
  ``modindices(fit, sort = TRUE, maximum.number = 5)`` on the same model:
  ``visual =~ x9`` mi 36.411 epc 0.577 sepc.all 0.515; ``x7 ~~ x8`` 34.145, 0.536, 0.859;
  ``visual =~ x7`` 18.631, -0.422, -0.349; ``x8 ~~ x9`` 14.946, -0.423, -0.805.
* lavaan's ``lav_fit_rmsea.R`` (Y. Rosseel, 2022): "robust RMSEA == scaled RMSEA *
  sqrt(c.hat)", "robust RMSEA CI == scaled RMSEA CI * sqrt(c.hat)" (Brosseau-Liard, Savalei
  & Li 2012).
* FIML: the casewise normal log-likelihood of scipy.stats.multivariate_normal, row by row
  (an independent implementation of the likelihood FIML maximises); FIML on complete data
  must equal listwise ML.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from semopy.examples import holzinger39

from engagement_kit.measurement import cfa, measurement_invariance
from engagement_kit.measurement.calibration import fiml_calibration, robust_calibration
from engagement_kit.measurement.factors import _pattern
from engagement_kit.measurement.missing import missing_patterns
from engagement_kit.measurement.modification import modification_indices
from engagement_kit.measurement.robust import scaled_difference
from engagement_kit.measurement.sem import (
    _jacobian,
    fit_cfa_ml,
    group_moments,
    saturated_em,
)

HS_SCALES = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
ITEMS = [f"x{i}" for i in range(1, 10)]
PLAIN = {"likert_min": None, "likert_max": None}


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    return holzinger39.get_data()


@pytest.fixture(scope="module")
def hs_missing(hs) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    d = hs.copy()
    x = d[ITEMS].to_numpy(dtype=float).copy()
    x[rng.random(x.shape) < 0.15] = np.nan
    d[ITEMS] = x
    return d


@pytest.mark.parametrize("estimator, chi2, scaling", [("mlr", 87.132, 0.979), ("mlm", 80.872, 1.055)])
def test_scaled_chi_square_matches_lavaan(hs, estimator, chi2, scaling):
    fit = cfa(hs, scales=HS_SCALES, estimator=estimator, **PLAIN).fit.iloc[0]
    assert round(fit["chi2"], 3) == 85.306  # the ML statistic is unchanged
    assert round(fit["chi2_scaled"], 3) == chi2
    assert round(fit["scaling_factor"], 3) == scaling
    assert fit["df_scaled"] == 24 and fit["estimator"] == estimator and fit["missing"] == "listwise"


def test_robust_rmsea_is_scaled_rmsea_times_sqrt_c(hs):
    fit = cfa(hs, scales=HS_SCALES, estimator="mlr", **PLAIN).fit.iloc[0]
    c, n, df = fit["scaling_factor"], fit["n"], fit["df"]
    scaled = np.sqrt(max(fit["chi2_scaled"] / (n * df) - 1 / n, 0))
    assert fit["rmsea_robust"] == pytest.approx(scaled * np.sqrt(c), rel=1e-10)
    lam_lo = (fit["rmsea_robust_ci_low"] ** 2) * n * df / c  # the noncentrality of the scaled statistic
    assert stats.ncx2.cdf(fit["chi2_scaled"], df, lam_lo) == pytest.approx(0.95, abs=1e-7)
    assert fit["rmsea_robust_ci_low"] < fit["rmsea_robust"] < fit["rmsea_robust_ci_high"]
    # robust CFI (Brosseau-Liard & Savalei 2014) differs from the ML CFI but stays close here
    assert abs(fit["cfi_robust"] - fit["cfi"]) < 0.01 and fit["cfi_robust"] != fit["cfi"]


def test_plain_ml_leaves_the_robust_columns_empty_and_keeps_the_published_ones(hs):
    fit = cfa(hs, scales=HS_SCALES, **PLAIN).fit
    assert list(fit.columns[:10]) == ["n", "chi2", "df", "p_value", "cfi", "tli", "rmsea", "rmsea_ci_low",
                                      "rmsea_ci_high", "srmr"]
    assert fit[["chi2_scaled", "scaling_factor", "cfi_robust", "rmsea_robust"]].isna().all(axis=None)
    assert fit["estimator"].iloc[0] == "ml"


def test_robust_standard_errors_are_a_sandwich_and_close_to_ml_under_normality():
    rng = np.random.default_rng(3)
    f = rng.normal(size=(4000, 1))
    d = pd.DataFrame(f @ np.array([[1.0, 0.8, 1.2, 0.9]]) + rng.normal(size=(4000, 4)), columns=list("abcd"))
    res = {e: cfa(d, scales={"f": list("abcd")}, estimator=e, **PLAIN) for e in ("ml", "mlm", "mlr")}
    se = {e: np.sqrt(np.diag(r.estimate.vcov)) for e, r in res.items()}
    for e in ("mlm", "mlr"):
        np.testing.assert_allclose(se[e], se["ml"], rtol=0.08)  # normal data: robust ~ model-based
        assert 0.8 < res[e].fit["scaling_factor"].iloc[0] < 1.25


def test_multi_group_scaled_difference_test(hs):
    inv = measurement_invariance(hs, scales=HS_SCALES, group_col="school", estimator="mlm", **PLAIN)
    np.testing.assert_allclose(inv["chi2"], [115.851, 124.044, 164.103], atol=0.001)  # lavaan, unchanged
    r0, r1 = inv.iloc[1], inv.iloc[0]
    t, p = scaled_difference(r0["chi2"], r0["df"], r0["scaling_factor"], r1["chi2"], r1["df"], r1["scaling_factor"])
    assert inv["chi2_diff_scaled"].iloc[1] == pytest.approx(t) and inv["p_value_scaled"].iloc[1] == pytest.approx(p)
    # Satorra-Bentler 2001 by hand: (T0 - T1) / ((df0 c0 - df1 c1) / (df0 - df1))
    cd = (54 * r0["scaling_factor"] - 48 * r1["scaling_factor"]) / 6
    assert t == pytest.approx((124.044 - 115.851) / cd, abs=1e-3)
    assert np.isnan(inv["chi2_diff_scaled"].iloc[0]) and inv["freed"].eq("").all()


def test_scaled_difference_with_unit_scaling_is_the_plain_difference():
    t, p = scaled_difference(124.044, 54, 1.0, 115.851, 48, 1.0)
    assert t == pytest.approx(8.193) and p == pytest.approx(stats.chi2.sf(8.193, 6))
    assert np.isnan(scaled_difference(10.0, 50, 0.5, 5.0, 48, 1.2)[0])  # negative difference scaling


def test_modification_indices_match_lavaan_tutorial(hs):
    mi = modification_indices(cfa(hs, scales=HS_SCALES, **PLAIN).estimate)
    top = mi.head(4)
    assert (top["lhs"] + top["op"] + top["rhs"]).tolist() == ["visual=~x9", "x7~~x8", "visual=~x7", "x8~~x9"]
    np.testing.assert_allclose(top["mi"].round(3), [36.411, 34.145, 18.631, 14.946])
    np.testing.assert_allclose(top["epc"].round(3), [0.577, 0.536, -0.422, -0.423])
    np.testing.assert_allclose(top["sepc_all"].round(3), [0.515, 0.859, -0.349, -0.805])
    assert len(mi) == 18 + 36  # every cross-loading and residual covariance of nine items, three factors


def test_equality_constraint_indices_locate_non_invariant_intercepts(hs):
    items, factors, pat = _pattern(HS_SCALES)
    est = fit_cfa_ml(group_moments(hs[items], hs["school"]), pat, items, factors, equal={"loadings", "intercepts"})
    mi = modification_indices(est)
    eq = mi[mi["kind"] == "equality constraint"]
    assert (eq["lhs"] + eq["op"]).head(2).tolist() == ["x3~1", "x7~1"]
    # the index predicts the drop in chi-square of freeing the parameter (score ~ LR test)
    inv = measurement_invariance(hs, scales=HS_SCALES, group_col="school", free=["x3~1"], **PLAIN)
    drop = 164.103 - inv["chi2"].iloc[2]
    assert abs(drop - eq["mi"].iloc[0]) < 0.25 * eq["mi"].iloc[0]


def test_partial_invariance_frees_named_parameters(hs):
    inv = measurement_invariance(hs, scales=HS_SCALES, group_col="school", free=["x3~1", "x7 ~ 1", "visual=~x2"],
                                 **PLAIN)
    assert inv["df"].tolist() == [48, 53, 57]  # one loading, then also two intercepts, fewer constraints
    assert inv["freed"].tolist() == ["", "visual=~x2", "visual=~x2; x3~1; x7~1"]
    assert inv["chi2"].iloc[0] < inv["chi2"].iloc[1] < inv["chi2"].iloc[2] < 164.103
    assert inv["delta_cfi"].iloc[2] > -0.01  # partial scalar invariance holds by Chen's criterion


@pytest.mark.parametrize("free, match", [(["visual=~x9"], "not a loading of the model"),
                                         (["visual=~x1"], "marker"), (["x3"], "is not a loading"),
                                         (["x10~1"], "names no intercept")])
def test_bad_free_names_are_clear_errors(hs, free, match):
    with pytest.raises(ValueError, match=match):
        measurement_invariance(hs, scales=HS_SCALES, group_col="school", free=free, **PLAIN)


def test_bad_estimator_or_missing_are_clear_errors(hs):
    with pytest.raises(ValueError, match="estimator must be one of"):
        cfa(hs, scales=HS_SCALES, estimator="gls", **PLAIN)
    with pytest.raises(ValueError, match="missing must be one of"):
        cfa(hs, scales=HS_SCALES, missing="pairwise", **PLAIN)
    with pytest.raises(ValueError, match="needs complete data"):
        cfa(hs, scales=HS_SCALES, estimator="mlm", missing="fiml", **PLAIN)


def test_fiml_on_complete_data_equals_listwise(hs):
    a = cfa(hs, scales=HS_SCALES, **PLAIN)
    b = cfa(hs, scales=HS_SCALES, missing="fiml", **PLAIN)
    np.testing.assert_allclose(a.estimate.x, b.estimate.x, atol=1e-6)
    assert b.fit["chi2"].iloc[0] == pytest.approx(85.306, abs=5e-4)
    assert b.fit["missing"].iloc[0] == "fiml"


def _casewise_loglik(d: pd.DataFrame, sigma: np.ndarray, mu: np.ndarray) -> float:
    total = 0.0
    x = d[ITEMS].to_numpy(dtype=float)
    for row in x:
        o = ~np.isnan(row)
        total += stats.multivariate_normal.logpdf(row[o], mu[o], sigma[np.ix_(o, o)])
    return total


def test_fiml_maximises_the_casewise_likelihood(hs_missing):
    res = cfa(hs_missing, scales=HS_SCALES, missing="fiml", **PLAIN)
    est = res.estimate
    model = est._model

    def loglik(x):
        s, mu = model.implied(x, 0)
        return _casewise_loglik(hs_missing, s, mu)

    # chi2 = 2 (logL saturated - logL model), both by scipy, row by row
    mo = est.moments[0]
    ll_sat = _casewise_loglik(hs_missing, mo.cov, mo.mean)
    assert est.chi2 == pytest.approx(2 * (ll_sat - loglik(est.x)), abs=1e-6)
    # the estimate is the maximiser: a Newton step on scipy's likelihood moves no parameter by 1e-4
    grad = _jacobian(loglik, est.x, h=1e-6)[0]
    step = np.linalg.solve(est.info * est.n_total, grad)
    assert np.max(np.abs(step)) < 1e-4
    # and the EM estimates maximise the saturated likelihood
    p = len(ITEMS)

    def ll_saturated(theta):
        low = np.zeros((p, p))
        low[np.tril_indices(p)] = theta[p:]
        return _casewise_loglik(hs_missing, low @ low.T, theta[:p])

    chol = np.linalg.cholesky(mo.cov)[np.tril_indices(p)]
    g = _jacobian(ll_saturated, np.concatenate([mo.mean, chol]), h=1e-6)[0]
    assert np.max(np.abs(g)) < 1e-3
    assert res.fit["n"].iloc[0] == 301  # every row with an answer


def test_saturated_em_recovers_complete_data_moments(hs):
    items, _, _ = _pattern(HS_SCALES)
    mo = group_moments(hs[items], missing="fiml")[0]
    lw = group_moments(hs[items])[0]
    np.testing.assert_allclose(mo.cov, lw.cov, atol=1e-12)
    assert len(mo.patterns) == 1
    mu, _ = saturated_em(mo.patterns, 9)
    np.testing.assert_allclose(mu, hs[items].mean(), atol=1e-12)


def test_mlr_with_fiml_gives_a_scaled_statistic_and_fiml_corrected_robust_indices(hs_missing):
    fit = cfa(hs_missing, scales=HS_SCALES, missing="fiml", estimator="mlr", **PLAIN).fit.iloc[0]
    assert 0.8 < fit["scaling_factor"] < 1.2
    assert fit["chi2_scaled"] == pytest.approx(fit["chi2"] / fit["scaling_factor"])
    # Zhang & Savalei's indices, as lavaan (tests/test_measurement_fiml_robust.py)
    assert 0 < fit["cfi_robust"] <= 1
    assert fit["rmsea_robust_ci_low"] <= fit["rmsea_robust"] <= fit["rmsea_robust_ci_high"]
    plain = cfa(hs_missing, scales=HS_SCALES, missing="fiml", **PLAIN).fit.iloc[0]
    assert np.isnan(plain["cfi_robust"])  # plain ML: no scaled test, no robust indices


def test_fiml_invariance_runs_all_steps(hs_missing):
    inv = measurement_invariance(hs_missing, scales=HS_SCALES, group_col="school", missing="fiml",
                                 estimator="mlr", **PLAIN)
    assert inv["df"].tolist() == [48, 54, 60] and (inv["missing"] == "fiml").all()
    assert (inv["n"] == 301).all() and inv["chi2_diff_scaled"].iloc[1:].notna().all()


def test_missing_patterns_pool_rare_patterns_and_are_aggregates(hs_missing):
    pat = missing_patterns(hs_missing, items=ITEMS, min_cell_size=10)
    assert pat["n"].sum() == 301
    assert pat["pattern"].iloc[0] == "(complete)"
    assert pat["pattern"].iloc[-1].startswith("(other patterns, each < 10 rows")
    assert (pat["n"].iloc[:-1] >= 10).all()
    assert pat["share"].sum() == pytest.approx(1.0)


@pytest.mark.slow
def test_fiml_loadings_unbiased_and_covered_under_mar():
    """Seeded, small version of benchmarks/bench_measurement_robust.py (the full run
    reports the figures with Monte-Carlo intervals)."""
    out = fiml_calibration(reps=60, n=400, seed=11)
    print(out)
    # full run, 1000 replicates: FIML bias +.0024 (MC se .0010), coverage .949 [.943, .954], CI width .307;
    # listwise n ~ 109 of 400, bias +.121, coverage .889 [.881, .897], CI width .631
    assert abs(out["fiml_bias"]) < 3 * out["fiml_bias_se"] + 0.005
    assert 0.93 <= out["fiml_coverage"] <= 0.97
    assert out["listwise_ci_width"] > 1.5 * out["fiml_ci_width"]  # listwise keeps the complete rows only
    assert out["listwise_mean_n"] < 0.5 * out["n"]


@pytest.mark.slow
def test_scaled_tests_cut_the_ml_over_rejection_of_a_true_model():
    """Seeded, small version of the robust calibration. Full run (benchmarks/bench_measurement_robust.py,
    1000 replicates, seed 20261201), rejection at 5 % with Wilson 95 % intervals:
    n = 400: ML .530 [.499, .561], MLM .062 [.049, .079], MLR .073 [.058, .091];
    n = 2000: ML .508 [.477, .539], MLM .049 [.037, .064], MLR .051 [.039, .066].
    MLR's scaled test over-rejects at n = 400 and approaches 5 % as n grows. lavaan's MLR does
    the same on the same data sets (tests/test_measurement_mlr_calibration.py, per replication;
    benchmarks/mlr_vs_lavaan.py): the method's finite-sample behaviour, not ours to hide."""
    out = robust_calibration(reps=150, n=400, seed=5)
    print(out)
    assert out["ml_rejection_ci"][0] > 0.2  # plain ML rejects a true model far more often than 5 %
    for k, full_run in (("mlr", 0.073), ("mlm", 0.062)):
        lo, hi = out[f"{k}_rejection_ci"]
        assert hi < out["ml_rejection_ci"][0]  # Wilson 95 % intervals apart: the scaling works
        assert lo <= full_run <= hi  # the small run agrees with the full one (MC interval)


def test_analytic_derivatives_equal_central_differences(hs_missing):
    """The moment Jacobian and the FIML observed information are analytic; central
    differences of the implied moments / of the analytic gradient are the check."""
    from engagement_kit.measurement.sem import _Model

    items, factors, pat = _pattern(HS_SCALES)
    mom = group_moments(hs_missing[items], hs_missing["school"], missing="fiml")
    est = fit_cfa_ml(mom, pat, items, factors, equal={"loadings", "intercepts"}, free={("intercept", 2)})
    m = est._model
    ext = _Model(m.pattern, m.moments, m.equal, m.free, extra_loadings=~m.pattern, residual_pairs=((0, 1), (2, 5)),
                 deviations=frozenset({("loading", 1, 0), ("intercept", 3)}), markers=m.markers)
    x = np.random.default_rng(0).normal(size=ext.n_par) * 0.3 + 0.5
    for g in range(2):
        par = ext.group_params(g)
        for a, b in zip(ext._dmoments(x, g, par), ext._dmoments_numeric(x, g, par)):
            np.testing.assert_allclose(a, b, atol=1e-9)
    for point in (est.x, est.x + 0.05):
        np.testing.assert_allclose(m.observed_hessian(point), m.observed_hessian_numeric(point), atol=1e-6)
