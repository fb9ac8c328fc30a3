"""Exactness of the experiment engine against independent references (scipy, statsmodels).

Every estimate, CI and p-value is compared to 1e-6 (relative or absolute) with the
reference computed from the raw rows by scipy/statsmodels; the reference is named in
each test.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight, survdiff
from statsmodels.stats import proportion as sm_prop

from engagement_kit.experiments import (
    adjust_pvalues,
    DesignWarning,
    analyze,
    balance,
    bayes,
    interaction_test,
    mde,
    power_table,
    sample_size,
    segment_effects,
    srm,
    survival_tests,
    value,
)
from engagement_kit.experiments.aggregate import aggregate, parse_metrics
from engagement_kit.kpis import nps as nps_kpi

TOL = dict(rtol=1e-6, atol=1e-9)


@pytest.fixture(scope="module")
def exp3() -> pd.DataFrame:
    """A 3-arm experiment with every metric kind; labels with spaces and mixed case."""
    rng = np.random.default_rng(20261123)
    n = 3000
    arm = rng.choice(["No E-Mail", "Mens E-Mail", "Womens E-Mail"], n, p=[0.4, 0.3, 0.3])
    lift = pd.Series(arm).map({"No E-Mail": 0.0, "Mens E-Mail": 0.3, "Womens E-Mail": 0.1}).to_numpy()
    x1 = rng.gamma(2.0, 50.0, n)
    x2 = rng.normal(0, 1, n)
    revenue = np.where(rng.random(n) < 0.3 + 0.1 * lift, rng.lognormal(2 + 0.012 * x1 + lift, 0.5), 0.0)
    seg = rng.choice(["smb", "mid", "ent"], n, p=[0.5, 0.3, 0.2])
    return pd.DataFrame(
        {
            "arm": arm,
            "seg": seg,
            "x1": x1,
            "x2": x2,
            "revenue": revenue,
            "visit": (rng.random(n) < 0.2 + 0.2 * lift + 0.05 * (x2 > 0)).astype(int),
            "orders": rng.poisson(1 + lift + 0.002 * x1),
            "nps": rng.integers(0, 11, n),
            "sessions": rng.integers(1, 10, n),
            "t": rng.exponential(100 / (1 + lift), n).round(1) + 0.1,
            "churned": rng.random(n) < 0.7,
        }
    )


def _row(eff, metric, arm, method, control="No E-Mail"):
    r = eff[(eff.metric == metric) & (eff.arm == arm) & (eff.method == method) & (eff.control == control)]
    assert len(r) == 1, (metric, arm, method)
    return r.iloc[0]


def test_welch_matches_scipy_ttest_ind(exp3):
    eff = analyze(exp3, arm_col="arm", control="No E-Mail", metrics={"revenue": "continuous", "orders": "count"})
    for metric in ("revenue", "orders"):
        for arm in ("Mens E-Mail", "Womens E-Mail"):
            a = exp3.loc[exp3.arm == arm, metric].to_numpy(float)
            b = exp3.loc[exp3.arm == "No E-Mail", metric].to_numpy(float)
            ref = stats.ttest_ind(a, b, equal_var=False)
            ci = ref.confidence_interval(0.95)
            r = _row(eff, metric, arm, "welch")
            np.testing.assert_allclose(
                [r["diff"], r.ci_low, r.ci_high, r.p_value, r.mean_arm, r.mean_control],
                [a.mean() - b.mean(), ci.low, ci.high, ref.pvalue, a.mean(), b.mean()],
                **TOL,
            )
            assert (r.n_arm, r.n_control) == (len(a), len(b))


def test_proportions_match_statsmodels_wald(exp3):
    eff = analyze(exp3, arm_col="arm", control="No E-Mail", metrics={"visit": "binary"}, alpha=0.1)
    for arm in ("Mens E-Mail", "Womens E-Mail"):
        a = exp3.loc[exp3.arm == arm, "visit"]
        b = exp3.loc[exp3.arm == "No E-Mail", "visit"]
        counts = (a.sum(), len(a), b.sum(), len(b))
        test = sm_prop.test_proportions_2indep(*counts, method="wald", compare="diff")
        lo, hi = sm_prop.confint_proportions_2indep(*counts, method="wald", compare="diff", alpha=0.1)
        r = _row(eff, "visit", arm, "z_wald")
        np.testing.assert_allclose([r["diff"], r.ci_low, r.ci_high, r.p_value], [test.diff, lo, hi, test.pvalue], **TOL)


def test_nps_uses_kpis_variance(exp3):
    eff = analyze(exp3, arm_col="arm", control="No E-Mail", metrics={"nps": "nps"})
    for arm in ("Mens E-Mail", "Womens E-Mail"):
        a = nps_kpi(exp3.loc[exp3.arm == arm, "nps"])
        b = nps_kpi(exp3.loc[exp3.arm == "No E-Mail", "nps"])
        se = np.hypot(a.se, b.se)
        d = a.nps - b.nps
        r = _row(eff, "nps", arm, "z_nps")
        np.testing.assert_allclose(
            [r.mean_arm, r.mean_control, r["diff"], r.se, r.ci_low, r.p_value],
            [a.nps, b.nps, d, se, d - stats.norm.ppf(0.975) * se, 2 * stats.norm.sf(abs(d / se))],
            **TOL,
        )


def test_ratio_delta_method_matches_influence_function(exp3):
    # reference: linearisation R + (num - R den) / mean(den), whose sample variance / n is the delta variance
    eff = analyze(exp3, arm_col="arm", control="No E-Mail", metrics={"rps": ("ratio", "revenue", "sessions")})
    parts = {}
    for arm in ("Mens E-Mail", "Womens E-Mail", "No E-Mail"):
        d = exp3[exp3.arm == arm]
        R = d.revenue.sum() / d.sessions.sum()
        phi = (d.revenue - R * d.sessions) / d.sessions.mean()
        parts[arm] = (R, phi.var(ddof=1) / len(d))
    for arm in ("Mens E-Mail", "Womens E-Mail"):
        r = _row(eff, "rps", arm, "delta")
        diff = parts[arm][0] - parts["No E-Mail"][0]
        se = np.sqrt(parts[arm][1] + parts["No E-Mail"][1])
        np.testing.assert_allclose([r["diff"], r.se, r.p_value], [diff, se, 2 * stats.norm.sf(abs(diff / se))], **TOL)


def test_relative_ci_matches_tea_tasting(exp3):
    tt = pytest.importorskip("tea_tasting")
    eff = analyze(exp3, arm_col="arm", control="No E-Mail", metrics={"revenue": "continuous"})
    sub = exp3[exp3.arm.isin(["No E-Mail", "Mens E-Mail"])]
    res = tt.Experiment({"revenue": tt.Mean("revenue")}, variant="arm").analyze(sub, control="No E-Mail")
    ref = res["revenue"]
    r = _row(eff, "revenue", "Mens E-Mail", "welch")
    np.testing.assert_allclose(
        [r.rel_diff, r.rel_ci_low, r.rel_ci_high, r.p_value],
        [ref.rel_effect_size, ref.rel_effect_size_ci_lower, ref.rel_effect_size_ci_upper, ref.pvalue],
        **TOL,
    )


def test_cuped_matches_adjusted_welch(exp3):
    # reference: theta by least squares on within-arm centred rows of the two arms, then scipy Welch
    eff = analyze(exp3, arm_col="arm", control="No E-Mail", metrics={"revenue": "continuous"}, covariates=["x1", "x2"])
    for arm in ("Mens E-Mail", "Womens E-Mail"):
        d = exp3[exp3.arm.isin([arm, "No E-Mail"])]
        cols = ["x1", "x2", "revenue"]
        cen = d[cols] - d.groupby("arm")[cols].transform("mean")
        theta = np.linalg.lstsq(cen[["x1", "x2"]].to_numpy(), cen["revenue"].to_numpy(), rcond=None)[0]
        adj = d["revenue"] - (d[["x1", "x2"]] - d[["x1", "x2"]].mean()).to_numpy() @ theta
        a, b = adj[d.arm == arm], adj[d.arm == "No E-Mail"]
        ref = stats.ttest_ind(a, b, equal_var=False)
        ci = ref.confidence_interval(0.95)
        r = _row(eff, "revenue", arm, "cuped")
        np.testing.assert_allclose(
            [r["diff"], r.ci_low, r.ci_high, r.p_value, r.mean_arm, r.mean_control],
            [a.mean() - b.mean(), ci.low, ci.high, ref.pvalue, a.mean(), b.mean()],
            **TOL,
        )
        w = _row(eff, "revenue", arm, "welch")
        assert r.variance_reduction == pytest.approx(1 - r.se**2 / w.se**2, rel=1e-9)
        assert r.variance_reduction > 0.05  # x1 predicts revenue in this fixture


def test_ancova_matches_statsmodels_ols_hc1(exp3):
    eff = analyze(exp3, arm_col="arm", control="No E-Mail", metrics={"revenue": "continuous", "visit": "binary"},
                  covariates=["x1", "x2"], adjustment="ancova", all_pairs=True)
    for metric in ("revenue", "visit"):
        X = pd.DataFrame(
            {"const": 1.0, "m": (exp3.arm == "Mens E-Mail").astype(float),
             "w": (exp3.arm == "Womens E-Mail").astype(float), "x1": exp3.x1, "x2": exp3.x2}
        )
        fit = sm.OLS(exp3[metric].astype(float), X).fit(cov_type="HC1")
        ci = fit.conf_int()
        for arm, term in (("Mens E-Mail", "m"), ("Womens E-Mail", "w")):
            r = _row(eff, metric, arm, "ancova_hc1")
            np.testing.assert_allclose(
                [r["diff"], r.se, r.ci_low, r.ci_high, r.p_value],
                [fit.params[term], fit.bse[term], ci.loc[term, 0], ci.loc[term, 1], fit.pvalues[term]],
                **TOL,
            )
        # the pair Womens vs Mens is the contrast w - m of the same fit
        t = fit.t_test("w - m")
        r = eff[(eff.metric == metric) & (eff.arm == "Womens E-Mail") & (eff.control == "Mens E-Mail")
                & (eff.method == "ancova_hc1")].iloc[0]
        np.testing.assert_allclose([r["diff"], r.se, r.p_value],
                                   [t.effect.item(), t.sd.item(), t.pvalue.item()], **TOL)


def test_cox_km_and_logrank_match_statsmodels(exp3):
    metrics = {"churn": ("time_to_event", "t", "churned")}
    eff = analyze(exp3, arm_col="arm", control="No E-Mail", metrics=metrics)
    lr = survival_tests(exp3, arm_col="arm", control="No E-Mail", duration="t", event="churned")
    for arm in ("Mens E-Mail", "Womens E-Mail"):
        d = exp3[exp3.arm.isin([arm, "No E-Mail"])]
        treated = (d.arm == arm).to_numpy(float)
        fit = PHReg(d.t.to_numpy(), treated[:, None], status=d.churned.to_numpy(float), ties="breslow").fit()
        r = _row(eff, "churn", arm, "cox")
        z = stats.norm.ppf(0.975)
        b, se = fit.params[0], fit.bse[0]
        np.testing.assert_allclose(
            [r["diff"], r.ci_low, r.ci_high, r.p_value],
            [np.exp(b), np.exp(b - z * se), np.exp(b + z * se), fit.pvalues[0]],
            **TOL,
        )
        horizon = min(d.t[d.arm == arm].max(), d.t[d.arm == "No E-Mail"].max())
        for col, who in (("mean_arm", arm), ("mean_control", "No E-Mail")):
            sf = SurvfuncRight(d.t[d.arm == who].to_numpy(), d.churned[d.arm == who].to_numpy(float))
            assert r[col] == pytest.approx(sf.surv_prob[sf.surv_times <= horizon][-1], rel=1e-9)
        stat, p = survdiff(d.t.to_numpy(), d.churned.to_numpy(float), d.arm.to_numpy())
        row = lr[lr.arm == arm].iloc[0]
        np.testing.assert_allclose([row.logrank_chi2, row.p_value], [stat, p], **TOL)


def test_mann_whitney_matches_scipy_and_bootstrap_is_seeded(exp3):
    kw = dict(methods=("mann_whitney", "bootstrap"), n_boot=500, seed=7)
    eff = analyze(exp3, arm_col="arm", control="No E-Mail", metrics={"revenue": "continuous"}, **kw)
    a = exp3.loc[exp3.arm == "Mens E-Mail", "revenue"]
    b = exp3.loc[exp3.arm == "No E-Mail", "revenue"]
    r = _row(eff, "revenue", "Mens E-Mail", "mann_whitney")
    assert r.p_value == pytest.approx(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue, rel=1e-9)
    again = analyze(exp3, arm_col="arm", control="No E-Mail", metrics={"revenue": "continuous"}, **kw)
    pd.testing.assert_frame_equal(eff, again)
    boot = _row(eff, "revenue", "Mens E-Mail", "bootstrap")
    welch = _row(eff, "revenue", "Mens E-Mail", "welch")
    # the percentile CI and the Welch CI estimate the same interval: same width within 15 %
    assert (boot.ci_high - boot.ci_low) == pytest.approx(welch.ci_high - welch.ci_low, rel=0.15)


def test_holm_and_bh_adjustment_match_multipletests(exp3):
    from statsmodels.stats.multitest import multipletests

    m = {"revenue": "continuous", "visit": "binary", "orders": "count", "nps": "nps"}
    for corr, sm_name in (("holm", "holm"), ("fdr_bh", "fdr_bh")):
        eff = analyze(exp3, arm_col="arm", control="No E-Mail", metrics=m, covariates=["x1"], correction=corr)
        for method, grp in eff.groupby("method"):
            np.testing.assert_allclose(grp.p_adjusted, multipletests(grp.p_value, method=sm_name)[1], **TOL)
        assert len(eff) == 16  # 4 metrics x 2 arms x (unadjusted + cuped)


def test_interaction_test_matches_statsmodels_hc2(exp3):
    res = interaction_test(exp3, arm_col="arm", control="No E-Mail", metrics={"revenue": "continuous", "visit": "binary"}, segment_col="seg")
    for metric in ("revenue", "visit"):
        fit = sm.OLS.from_formula(
            f"{metric} ~ C(arm, Treatment('No E-Mail')) * C(seg)", data=exp3.assign(**{metric: exp3[metric].astype(float)})
        ).fit(cov_type="HC2")
        names = [n for n in fit.params.index if ":" in n]
        R = np.array([[1.0 if p == n else 0.0 for p in fit.params.index] for n in names])
        w = fit.wald_test(R, use_f=False, scalar=True)
        row = res[res.metric == metric].iloc[0]
        assert row["df"] == len(names) == 4
        np.testing.assert_allclose([row.statistic, row.p_value], [float(w.statistic), float(w.pvalue)], **TOL)


def test_segment_effects_equal_analyze_on_each_segment(exp3):
    seg = segment_effects(exp3, arm_col="arm", control="No E-Mail", metrics={"revenue": "continuous"}, segment_col="seg", covariates=["x1"])
    for s in ("smb", "ent"):
        alone = analyze(exp3[exp3.seg == s], arm_col="arm", control="No E-Mail", metrics={"revenue": "continuous"}, covariates=["x1"])
        mine = seg[seg.segment == s].reset_index(drop=True)
        cols = ["diff", "ci_low", "ci_high", "p_value", "rel_diff", "mean_arm", "mean_control"]
        np.testing.assert_allclose(mine[cols].to_numpy(float), alone[cols].to_numpy(float), **TOL)
    assert seg["interaction_p_value"].notna().all()


def test_srm_matches_chisquare_and_warns():
    df = pd.DataFrame({"arm": ["a"] * 5300 + ["b"] * 4700})
    with pytest.warns(DesignWarning, match="SAMPLE RATIO MISMATCH"):
        out = srm(df, arm_col="arm")
    ref = stats.chisquare([5300, 4700])
    assert out.p_value.iloc[0] == pytest.approx(ref.pvalue, rel=1e-9)
    assert out.chi2.iloc[0] == pytest.approx(ref.statistic, rel=1e-9)
    ok = srm(df, arm_col="arm", allocation={"a": 0.53, "b": 0.47})
    assert not ok.srm_detected.any()
    with pytest.raises(ValueError, match="no rows"):
        srm(df, arm_col="arm", allocation={"a": 1, "b": 1, "c": 1})


def test_balance_smd_and_warning(exp3):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DesignWarning)  # a chance |SMD| of 0.10 in this fixture
        b = balance(exp3, arm_col="arm", control="No E-Mail", covariates=["x1", "x2", "seg"])
    d1 = exp3.loc[exp3.arm == "Mens E-Mail", "x1"]
    d0 = exp3.loc[exp3.arm == "No E-Mail", "x1"]
    smd = (d1.mean() - d0.mean()) / np.sqrt((d1.var() + d0.var()) / 2)
    assert b.query("covariate == 'x1' and arm == 'Mens E-Mail'").smd.item() == pytest.approx(smd, rel=1e-9)
    assert {"seg[ent]", "seg[mid]", "seg[smb]"} <= set(b.covariate)
    skewed = exp3.assign(x3=np.where(exp3.arm == "Mens E-Mail", 1.0, 0.0) + np.random.default_rng(0).normal(size=len(exp3)))
    with pytest.warns(DesignWarning, match="IMBALANCE"):
        balance(skewed, arm_col="arm", control="No E-Mail", covariates=["x3"])


def test_power_matches_statsmodels_and_is_tight():
    from statsmodels.stats.power import NormalIndPower, TTestIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    n = sample_size("continuous", 10, 0.5, sd=5, power=0.8, n_arms=3, n_metrics=2)
    a = 0.05 / 4
    assert TTestIndPower().power(0.1, n, a) >= 0.8 > TTestIndPower().power(0.1, n - 1, a)
    nb = sample_size("binary", 0.10, 0.02, power=0.9)
    h = proportion_effectsize(0.12, 0.10)
    assert NormalIndPower().power(h, nb, 0.05) >= 0.9 > NormalIndPower().power(h, nb - 1, 0.05)
    # MDE inverts sample size
    assert mde("binary", 0.10, nb, power=0.9) == pytest.approx(0.02, rel=2e-3)
    assert mde("continuous", 10, n, sd=5, n_arms=3, n_metrics=2) == pytest.approx(0.5, rel=2e-3)


def test_power_table_columns(exp3):
    pt = power_table(exp3, arm_col="arm", control="No E-Mail", metrics={"revenue": "continuous", "visit": "binary"})
    assert list(pt.columns) == [
        "metric", "kind", "baseline", "sd", "n_per_arm_current", "n_comparisons", "alpha_per_comparison",
        "power", "mde_current", "mde_current_rel", "target_rel_mde", "target_mde", "n_per_arm_required",
    ]
    assert (pt.alpha_per_comparison == 0.05 / 4).all()


def test_value_with_arm_costs_is_shifted_revenue_effect(exp3):
    costs = {"No E-Mail": 0.0, "Mens E-Mail": 0.5, "Womens E-Mail": 0.4}
    v = value(exp3, arm_col="arm", control="No E-Mail", revenue="revenue", costs=costs, segment_col="seg")
    eff = analyze(exp3, arm_col="arm", control="No E-Mail", metrics={"revenue": "continuous"})
    for arm in ("Mens E-Mail", "Womens E-Mail"):
        r = v[(v.segment == "all") & (v.arm == arm)].iloc[0]
        e = _row(eff, "revenue", arm, "welch")
        assert r.incremental_value == pytest.approx(e["diff"] - costs[arm], rel=1e-9)
        assert r.ci_low == pytest.approx(e.ci_low - costs[arm], rel=1e-9)
        assert r.ci_high == pytest.approx(e.ci_high - costs[arm], rel=1e-9)
    for _, g in v.groupby("segment"):
        assert g.prob_best.sum() == pytest.approx(1.0)
        assert g.best.sum() == 1
        assert g.loc[g.best, "value_per_customer"].item() == g.value_per_customer.max()
    with pytest.raises(ValueError, match="no cost per customer"):
        value(exp3, arm_col="arm", control="No E-Mail", revenue="revenue", costs={"No E-Mail": 0})


def test_bayes_binary_prob_matches_numerical_integral(exp3):
    from scipy import integrate

    b = bayes(exp3, arm_col="arm", control="No E-Mail", metrics={"visit": "binary", "revenue": "continuous"}, n_draws=400_000, seed=3)
    a = exp3.loc[exp3.arm == "Womens E-Mail", "visit"]
    c = exp3.loc[exp3.arm == "No E-Mail", "visit"]
    pa, pc = stats.beta(1 + a.sum(), 1 + len(a) - a.sum()), stats.beta(1 + c.sum(), 1 + len(c) - c.sum())
    # P(A > C) = integral f_C(x) (1 - F_A(x)) dx  (independent reference by quadrature)
    exact = integrate.quad(lambda x: pc.pdf(x) * pa.sf(x), 0, 1, limit=200)[0]
    got = b.query("metric == 'visit' and arm == 'Womens E-Mail'").prob_beat_control.item()
    assert got == pytest.approx(exact, abs=3e-3)
    r = b.query("metric == 'revenue' and arm == 'Mens E-Mail'").iloc[0]
    e = _row(analyze(exp3, arm_col="arm", control="No E-Mail", metrics={"revenue": "continuous"}), "revenue", "Mens E-Mail", "welch")
    assert r.prob_beat_control == pytest.approx(stats.norm.cdf(e["diff"] / e.se), rel=1e-9)


def test_aggregate_sums_match_pandas_groupby(exp3):
    agg = aggregate(exp3, "arm", parse_metrics({"revenue": "continuous"}), ["x1", "x2"], "seg")
    ms = agg.stats["revenue"]
    g = exp3.assign(xy=exp3.x1 * exp3.revenue, xx=exp3.x1 * exp3.x2).groupby(["seg", "arm"])
    np.testing.assert_allclose(ms.s1, g.revenue.sum().unstack().loc[agg.groups, agg.arms].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(ms.sxy[..., 0], g.xy.sum().unstack().loc[agg.groups, agg.arms].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(ms.sxx[..., 0, 1], g.xx.sum().unstack().loc[agg.groups, agg.arms].to_numpy(), rtol=1e-12)


# ---------------------------------------------------------------- arms, labels and kinds


def test_numeric_and_bool_labels_all_pairs():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"arm": rng.choice([0, 1, 2, 3], 2000), "y": rng.normal(size=2000),
                       "b": rng.random(2000) < 0.3, "s": rng.choice(["TRUE", "FALSE"], 2000)})
    eff = analyze(df, arm_col="arm", control=0, metrics={"y": "continuous", "b": "binary", "s": "binary"}, all_pairs=True)
    assert len(eff) == 3 * 6  # 3 metrics x (3 vs control + 3 other pairs)
    assert set(zip(eff.arm, eff.control)) == {(1, 0), (2, 0), (3, 0), (2, 1), (3, 1), (3, 2)}


# ---------------------------------------------------------------- bad input


@pytest.fixture()
def small():
    rng = np.random.default_rng(5)
    return pd.DataFrame({"arm": rng.choice(["c", "t"], 500), "y": rng.normal(size=500),
                         "x": rng.normal(size=500), "const": 3.0, "b": rng.integers(0, 2, 500)})


def test_missing_control_label_is_a_clear_error(small):
    with pytest.raises(ValueError, match=r"control label 'C' is not an arm.*\['c', 't'\]"):
        analyze(small, arm_col="arm", control="C", metrics={"y": "continuous"})


def test_arm_with_no_rows_is_a_clear_error(small):
    cat = small.assign(arm=pd.Categorical(small.arm, categories=["c", "t", "ghost"]))
    # a planned arm (category) without rows is left out with a warning naming it ...
    with pytest.warns(UserWarning, match=r"categories with no rows \['ghost'\]"):
        eff = analyze(cat, arm_col="arm", control="c", metrics={"y": "continuous"})
    assert eff.arm.tolist() == ["t"]
    # ... so it cannot be the control
    with pytest.raises(ValueError, match="not an arm"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analyze(cat, arm_col="arm", control="ghost", metrics={"y": "continuous"})
    # ... and an arm whose metric is all missing is an error naming the arm
    with pytest.raises(ValueError, match="arm 't' has no rows with a value of metric 'y'"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            analyze(small.assign(y=np.where(small.arm == "t", np.nan, small.y)), arm_col="arm", control="c", metrics={"y": "continuous"})
    with pytest.raises(ValueError, match="at least two arms"):
        analyze(small[small.arm == "c"], arm_col="arm", control="c", metrics={"y": "continuous"})


def test_constant_metric_is_a_clear_error(small):
    with pytest.raises(ValueError, match="'const' is constant"):
        analyze(small, arm_col="arm", control="c", metrics={"const": "continuous"})


def test_constant_within_both_arms_warns(small):
    df = small.assign(z=np.where(small.arm == "c", 1.0, 2.0))
    with pytest.warns(UserWarning, match="standard error is 0"):
        eff = analyze(df, arm_col="arm", control="c", metrics={"z": "continuous"})
    assert eff.p_value.item() == 0.0 and eff.ci_low.item() == eff.ci_high.item() == 1.0


def test_all_nan_covariate_is_a_clear_error(small):
    with pytest.raises(ValueError, match="covariate 'x' is all missing"):
        analyze(small.assign(x=np.nan), arm_col="arm", control="c", metrics={"y": "continuous"}, covariates=["x"])
    with pytest.raises(ValueError, match="covariate 'x' has 1 missing"):
        analyze(small.assign(x=small.x.where(small.index != 3)), arm_col="arm", control="c", metrics={"y": "continuous"}, covariates=["x"])


@pytest.mark.parametrize(
    "column, kind, message",
    [("y", "binary", "declared binary"), ("y", "count", "declared count"), ("y", "nps", "declared nps"),
     ("arm", "continuous", "not numeric"), ("y", "poisson", "not one of")],
)
def test_kind_that_does_not_fit_the_column(small, column, kind, message):
    with pytest.raises(ValueError, match=message):
        analyze(small, arm_col="arm", control="c", metrics={column: kind})


def test_missing_metric_values_warn_and_are_excluded(small):
    df = small.assign(y=small.y.where(small.index % 10 != 0))
    with pytest.warns(UserWarning, match="50 of 500 rows have no value"):
        eff = analyze(df, arm_col="arm", control="c", metrics={"y": "continuous"})
    assert eff.n_arm.item() + eff.n_control.item() == 450
    assert not eff[["diff", "ci_low", "ci_high", "p_value", "p_adjusted"]].isna().any().any()


@pytest.mark.parametrize("correction", ["holm", "fdr_bh", "bonferroni"])
def test_many_family_adjustment_equals_multipletests(correction):
    # the vectorised path (every family at once) must equal statsmodels family by family
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(9)
    fam = rng.integers(0, 8, 400)
    p = rng.uniform(size=400) ** 3
    p[::37] = np.nan
    eff = pd.DataFrame({"segment": fam, "method": "welch", "p_value": p})
    got = adjust_pvalues(eff, correction, by=["segment", "method"]).to_numpy()
    for f in np.unique(fam):
        m = (fam == f) & ~np.isnan(p)
        np.testing.assert_allclose(got[m], multipletests(p[m], method=correction)[1], rtol=1e-12)
    assert np.isnan(got[np.isnan(p)]).all()


def test_nps_and_non_positive_baselines_have_no_relative_difference():
    # NPS below zero in the control: a relative difference (+300 %) would be noise; points only (issue #17)
    df = pd.DataFrame({"arm": ["c"] * 200 + ["t"] * 200,
                       "nps": [0] * 120 + [10] * 80 + [0] * 60 + [10] * 140,
                       "net": [-1.0, -2.0] * 100 + [1.0, 2.0] * 100, "spend": [1.0, 3.0] * 100 + [2.0, 4.0] * 100})
    eff = analyze(df, arm_col="arm", control="c", metrics={"nps": "nps", "net": "continuous", "spend": "continuous"})
    r = eff.set_index("metric")
    assert r.loc["nps", "mean_control"] == pytest.approx(-20.0) and r.loc["nps", "diff"] == pytest.approx(60.0)
    assert r.loc[["nps", "net"], ["rel_diff", "rel_ci_low", "rel_ci_high"]].isna().all().all()
    assert r.loc["spend", "rel_diff"] == pytest.approx(0.5)  # positive baselines keep it


def test_loader_joins_demo_tables_and_reads_single_files(tmp_path):
    from engagement_kit.io import load_analysis_table
    from engagement_kit.simulate import simulate

    sim = simulate(n_customers=40, seed=2, truth=False, frameworks=[])
    sim.write(tmp_path)
    survey = sim.survey.iloc[:30]  # ten customers did not answer
    survey.to_csv(tmp_path / "survey.csv", index=False)
    t = load_analysis_table(tmp_path).set_index("customer_id")
    first = sim.outcomes["customer_id"].iloc[5]
    assert t.loc[first, "revenue"] == sim.outcomes["revenue"].iloc[5]
    assert t["nps"].isna().sum() == 10
    assert "promoter" not in t.columns and "enthusiasm_1" not in t.columns  # only nps/csat of the survey
    assert len(load_analysis_table(tmp_path / "outcomes.csv")) == 40  # one file: read as it is
    with pytest.raises(FileNotFoundError, match="make demo"):
        load_analysis_table(tmp_path / "nowhere")
    (tmp_path / "customers.csv").unlink()
    with pytest.raises(FileNotFoundError, match="customers.csv is missing"):
        load_analysis_table(tmp_path)


def test_loader_survey_base_keeps_respondents_and_adds_promoter(tmp_path):
    from engagement_kit.io import load_analysis_table
    from engagement_kit.simulate import simulate

    sim = simulate(n_customers=60, seed=4, truth=False, frameworks=[])
    sim.write(tmp_path)
    sim.survey.iloc[:25].to_csv(tmp_path / "survey.csv", index=False)  # 25 respondents
    t = load_analysis_table(tmp_path, base="survey")
    assert len(t) == 25 and t["customer_id"].tolist() == sim.survey["customer_id"].iloc[:25].tolist()
    assert {"enthusiasm_1", "retained", "revenue", "touch_model", "segment"} <= set(t.columns)
    assert ((t["nps"] >= 9) == (t["promoter"] == 1.0)).all()
    one = load_analysis_table(tmp_path / "survey.csv", base="survey")  # one file: as it is + promoter
    assert len(one) == 25 and "promoter" in one.columns and "retained" not in one.columns
    (tmp_path / "outcomes.csv").unlink()
    assert "retained" not in load_analysis_table(tmp_path, base="survey").columns  # optional tables
    with pytest.raises(ValueError, match="base must be 'customers'"):
        load_analysis_table(tmp_path, base="respondents")


def test_two_revenues_of_1e308_are_rejected_not_analysed(tmp_path):
    # the case: an "ok" run with diff 9.6e305 and an empty CI
    from engagement_kit.io import load_analysis_table
    from engagement_kit.validation import ValidationError

    rng = np.random.default_rng(8)
    ab = pd.DataFrame({"arm": np.repeat(["control", "email"], 50), "revenue": rng.gamma(2.0, 30.0, 100)})
    ab.loc[[3, 70], "revenue"] = 1e308
    path = tmp_path / "ab.csv"
    ab.to_csv(path, index=False)
    with pytest.raises(ValidationError) as err:  # the loader: a foreign file gets the finite check
        load_analysis_table(path)
    (p,) = err.value.problems
    assert (p.code, p.column, p.rows) == ("too_large", "revenue", (4, 71))
    assert str(path) in str(err.value) and "sums of squares" in p.fix
    with pytest.raises(ValidationError, match=r"data\.revenue: larger in magnitude than 1e\+100.*\[rows 4, 71\]"):
        analyze(ab, arm_col="arm", control="control", metrics={"revenue": "continuous"})  # and the engine, for a DataFrame


def test_plots_return_axes(exp3):
    import matplotlib

    matplotlib.use("Agg")
    from engagement_kit.experiments import power_curve
    from engagement_kit.plots import experiments as explots
    from engagement_kit.plots.survival import km_plot
    from engagement_kit.stats.survival import kaplan_meier

    eff = analyze(exp3, arm_col="arm", control="No E-Mail", metrics={"revenue": "continuous", "visit": "binary"}, covariates=["x1"])
    assert len(explots.forest_plot(eff).get_yticks()) == len(eff)
    assert explots.forest_plot(eff, relative=True).get_xlabel().startswith("relative")
    km = kaplan_meier(exp3, "t", "churned", group_col="arm")
    assert len(km_plot(km).get_lines()) >= 3
    curve = power_curve("binary", 0.2, n_values=[100, 1000], mdes=[0.02, 0.05])
    assert explots.power_curve_plot(curve).get_yscale() == "linear"
    v = value(exp3, arm_col="arm", control="No E-Mail", revenue="revenue", costs={"No E-Mail": 0, "Mens E-Mail": 1, "Womens E-Mail": 1},
              segment_col="seg")
    assert len(explots.value_plot(v).patches) == 2 * 4  # 2 arms x (3 segments + all)


def test_interaction_test_warns_and_skips_a_metric_constant_in_a_cell():
    from engagement_kit.experiments.segments import interaction_test

    rng = np.random.default_rng(1)
    df = pd.DataFrame({"arm": rng.choice(["c", "t"], 400), "seg": rng.choice(["x", "y"], 400),
                       "y": rng.normal(size=400), "b": 0})
    df.loc[df.seg == "x", "b"] = rng.integers(0, 2, int((df.seg == "x").sum()))
    with pytest.warns(UserWarning, match="constant in segment 'y'"):
        out = interaction_test(df, arm_col="arm", control="c", metrics={"y": "continuous", "b": "binary"}, segment_col="seg").set_index("metric")
    assert np.isnan(out.loc["b", "p_value"]) and out.loc["b", "method"].startswith("not computed")
    assert 0 <= out.loc["y", "p_value"] <= 1


# --------------------------------------------- NaN estimates are errors, not blank intervals


def _ab(seed=5, n=60):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"arm": np.repeat(["control", "email"], n // 2), "y": rng.normal(10, 2, n),
                         "x": rng.normal(size=n), "num": rng.gamma(2.0, 5.0, n),
                         "den": rng.integers(1, 4, n).astype(float), "t": rng.exponential(30, n),
                         "e": rng.integers(0, 2, n)})


def test_arm_with_one_value_is_an_error_naming_metric_arm_row_and_fix():
    df = _ab()
    df.loc[df["arm"].eq("email") & (df.index != 40), "y"] = np.nan  # only row 41 (1-based) left
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError) as err:
            analyze(df, arm_col="arm", control="control", metrics={"y": "continuous"}, covariates=["x"])
    text = str(err.value)
    assert "metric 'y' (column 'y'), arm 'email' vs 'control'" in text
    assert "no finite se, ci_low, ci_high" in text
    assert "arm 'email' has 1 customer with a value of 'y' (row 41)" in text
    assert "Fix: collect more data" in text


def test_ratio_with_zero_denominator_in_an_arm_is_an_error_not_a_blank_ci():
    df = _ab().assign(den=lambda d: np.where(d["arm"] == "email", 0.0, d["den"]))
    with pytest.raises(ValueError, match=r"metric 'r' \(columns 'num', 'den'\), arm 'email'.*"
                                         r"'den' sums to 0 in arm 'email'.*Fix: use a denominator"):
        analyze(df, arm_col="arm", control="control", metrics={"r": ("ratio", "num", "den")})


def test_hazard_ratio_without_events_in_an_arm_is_an_error():
    df = _ab().assign(e=lambda d: np.where(d["arm"] == "email", 0, d["e"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=r"arm 'email' has no events in 'e'.*Fix: observe longer"):
            analyze(df, arm_col="arm", control="control", metrics={"churn": ("time_to_event", "t", "e")})


def test_metric_missing_in_a_whole_arm_is_an_error():
    df = _ab().assign(y=lambda d: d["y"].where(d["arm"] == "control"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="arm 'email' has no rows with a value of metric 'y'"):
            analyze(df, arm_col="arm", control="control", metrics={"y": "continuous"})


def test_zero_variance_within_arms_is_a_result_with_se_0_not_an_error():
    df = _ab().assign(y=lambda d: np.where(d["arm"] == "email", 3.0, 2.0))
    with pytest.warns(UserWarning, match="standard error is 0"):
        r = analyze(df, arm_col="arm", control="control", metrics={"y": "continuous"}, adjustment=None).iloc[0]
    assert (r["se"], r["diff"], r["ci_low"], r["ci_high"], r["p_value"]) == (0.0, 1.0, 1.0, 1.0, 0.0)


def test_infinite_covariate_and_duration_are_rejected_with_column_and_rows():
    from engagement_kit.validation import ValidationError

    df = _ab()
    df.loc[7, "x"] = np.inf
    with pytest.raises(ValidationError, match=r"data\.x: infinite in 1 row \(inf\) \[row 8\]"):
        analyze(df, arm_col="arm", control="control", metrics={"y": "continuous"}, covariates=["x"])
    df = _ab()
    df.loc[2, "t"] = -np.inf
    with pytest.raises(ValidationError, match=r"data\.t: infinite in 1 row \(-inf\) \[row 3\]"):
        analyze(df, arm_col="arm", control="control", metrics={"churn": ("time_to_event", "t", "e")})
