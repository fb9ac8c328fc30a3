"""Peeking-safe monitoring: boundaries against published output, the confidence sequence
against the paper's formula, mSPRT against Johari et al.'s statistic, and seeded
calibration (A/A any-look false positives, simultaneous coverage) at the full size the
issue asks for (2,000 experiments x 20 looks: each check runs in seconds)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats
from statsmodels.stats.proportion import proportion_confint

from engagement_kit.experiments.sequential import (
    SEQUENTIAL_COLUMNS,
    max_sample_size,
    sequential,
    simulate_monitoring,
)
from engagement_kit.stats import sequential as sq

ALPHA = 0.05


def wilson(hits: np.ndarray) -> tuple[float, float, float]:
    k, n = int(np.sum(hits)), len(hits)
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    return k / n, float(lo), float(hi)


# ---- group-sequential boundaries -----------------------------------------------------------
def test_obrien_fleming_type_boundaries_equal_ldbounds_printed_output():
    # Reference: R package ldbounds (Casper, Cook and Perez; the ld98 algorithm of Reboussin,
    # DeMets, Kim and Lan, Controlled Clinical Trials 2000;21:190-207), summary(bounds(c(0.10,
    # 0.33, 1), iuse=c(1, 1), alpha=c(0.025, 0.025))) as printed in the r-help post "output of
    # bounds function ldbounds package" (J. Sorkin, March 2020): upper bounds 6.9913, 3.7308,
    # 1.9605, cumulative exit probability 2.7227e-12, ..., 0.05.
    c = sq.gs_boundaries([0.10, 0.33, 1.0], alpha=0.05, spending="obf")
    np.testing.assert_allclose(c, [6.9913, 3.7308, 1.9605], atol=5e-4)
    up, down = sq.gs_crossing([0.10, 0.33, 1.0], c)
    assert (up + down)[0] == pytest.approx(2.7227e-12, rel=1e-3)
    assert (up + down).sum() == pytest.approx(0.05, abs=1e-6)


def test_five_equally_spaced_looks_match_the_classic_table_to_three_decimals():
    # Lan-DeMets O'Brien-Fleming-type and Pocock-type, K = 5 equally spaced, two-sided 0.05
    # (alpha/2 spent per side): 4.877, 3.357, 2.680, 2.290, 2.031 and 2.438, 2.427, 2.410,
    # 2.397, 2.386 -- the values printed by ld98/ldbounds, gsDesign (sfLDOF/sfLDPocock,
    # alpha = 0.025 one-sided with a symmetric lower bound) and rpact (asOF/asP).
    t = np.arange(1, 6) / 5
    np.testing.assert_allclose(sq.gs_boundaries(t, spending="obf"), [4.877, 3.357, 2.680, 2.290, 2.031], atol=5e-4)
    np.testing.assert_allclose(sq.gs_boundaries(t, spending="pocock"), [2.438, 2.427, 2.410, 2.397, 2.386], atol=5e-4)


def test_boundaries_spend_the_planned_alpha_in_a_seeded_brownian_simulation():
    # independent of the numerical integration: 400,000 Brownian paths at 5 looks
    rng = np.random.default_rng(11)
    t = np.arange(1, 6) / 5
    z = rng.standard_normal((400_000, 5)).cumsum(axis=1) / np.sqrt(np.arange(1, 6))
    for spending in ("obf", "pocock"):
        crossed = np.maximum.accumulate(np.abs(z) >= sq.gs_boundaries(t, spending=spending), axis=1)
        cum = crossed.mean(axis=0)
        se = np.sqrt(cum * (1 - cum) / len(z))
        assert np.all(np.abs(cum - sq.spend(t, 0.05, spending)) < 4 * se + 1e-5), (spending, cum)


def test_inflation_factor_gives_the_planned_power_and_reduces_to_one_look():
    assert sq.gs_inflation([1.0]) == pytest.approx(1.0, abs=1e-6)
    # Monte-Carlo power at the inflated maximum: drift theta_fixed sqrt(R)
    t = np.arange(1, 6) / 5
    rng = np.random.default_rng(12)
    for spending in ("obf", "pocock"):
        R = sq.gs_inflation(t, spending=spending)
        theta = (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * math.sqrt(R)
        z = (rng.standard_normal((200_000, 5)) + theta * np.sqrt(0.2)).cumsum(axis=1) / np.sqrt(np.arange(1, 6))
        power = (np.maximum.accumulate(z >= sq.gs_boundaries(t, spending=spending), axis=1)[:, -1]).mean()
        assert power == pytest.approx(0.8, abs=0.005), spending
    r = max_sample_size(1000, looks=5, spending="obf")
    assert 1.0 < r["inflation"] < 1.05 and r["n_expected_h1"] < 1000 < r["n_max"]


# ---- confidence sequences and mSPRT ----------------------------------------------------------
def test_confidence_sequence_equals_the_papers_formula_on_a_small_case():
    # Waudby-Smith et al. (2024), Theorem 2.2: mu_t +- sigma_t sqrt(2(t rho^2 + 1)/(t^2 rho^2)
    # log(sqrt(t rho^2 + 1)/alpha)), written here literally from raw observations
    x = np.array([2.1, 3.4, 1.9, 4.2, 3.3, 2.8, 3.9, 2.2, 3.1, 2.6])
    t = np.arange(1, len(x) + 1)
    mu = np.cumsum(x) / t
    sigma = np.array([np.std(x[:k], ddof=1) if k > 1 else np.nan for k in t])
    rho2 = 0.37
    half = sigma * np.sqrt(2 * (t * rho2 + 1) / (t**2 * rho2) * np.log(np.sqrt(t * rho2 + 1) / ALPHA))
    se = sigma / np.sqrt(t)
    ours = sq.cs_multiplier(t, t_opt=1.0, alpha=ALPHA, rho2=rho2) * se
    np.testing.assert_allclose(ours, half, rtol=1e-12)
    lo, hi = sq.asymptotic_cs(mu, se, t, t_opt=10, alpha=ALPHA)
    np.testing.assert_allclose(hi - mu, sq.cs_multiplier(t, 10, ALPHA) * se)


def test_rho_is_the_minimiser_of_the_width_at_the_planned_size():
    for alpha in (0.05, 0.01, 0.1):
        width = lambda r2: float(sq.cs_multiplier(500, 1, alpha, rho2=r2))  # noqa: E731
        best = optimize.minimize_scalar(width, bounds=(1e-5, 1.0), method="bounded", options={"xatol": 1e-10}).x
        assert sq.optimal_rho2(500, alpha) == pytest.approx(best, rel=1e-4)
        assert sq.approx_rho2(500, alpha) == pytest.approx(best, rel=0.05)  # the paper's closed form


def test_anytime_p_value_is_the_smallest_alpha_whose_sequence_excludes_zero():
    est, se, t = 0.31, 0.1, 400.0
    p = float(sq.cs_p_value(est, se, t, t_opt=1000, alpha=ALPHA))
    x = t * sq.optimal_rho2(1000, ALPHA)
    # with rho fixed (tuned at ALPHA), the CS at level a excludes 0 iff m_a(x) * se <= |est|
    m = lambda a: math.sqrt((1 + x) / x * (math.log1p(x) + 2 * math.log(1 / a)))  # noqa: E731
    assert m(p) * se == pytest.approx(est, rel=1e-9)


def test_msprt_equals_johari_et_al_two_sample_formula():
    # Johari, Koomen, Pekelis and Walsh (2022), two-sample normal mSPRT with n per arm, known
    # sigma^2 and mixing N(0, tau^2): Lambda_n = sqrt(2s/(2s + n tau^2)) exp(n^2 tau^2 d^2 /
    # (4 s (2s + n tau^2))), s = sigma^2.
    s, tau2, d = 1.7, 0.04, 0.23
    n = np.array([10, 50, 200, 1000])
    johari = np.sqrt(2 * s / (2 * s + n * tau2)) * np.exp(n**2 * tau2 * d**2 / (4 * s * (2 * s + n * tau2)))
    ours = np.exp(sq.msprt_statistic(d, 2 * s / n, tau2))
    np.testing.assert_allclose(ours, johari, rtol=1e-12)
    lo, hi = sq.msprt_cs(d, 2 * s / n, tau2, ALPHA)
    np.testing.assert_allclose(np.exp(sq.msprt_statistic(d, 2 * s / n, tau2, theta0=hi)), 1 / ALPHA, rtol=1e-9)


def test_cuped_sequence_is_narrower_and_still_covers():
    plain = simulate_monitoring(kind="continuous", covariate_r2=0.5, effect=0.1, n_per_arm=1000, seed=5)
    cuped = simulate_monitoring(kind="continuous", covariate_r2=0.5, effect=0.1, n_per_arm=1000, cuped=True, seed=5)
    width = lambda r: np.mean(r["hi"][:, -1] - r["lo"][:, -1])  # noqa: E731
    assert width(cuped) < 0.8 * width(plain)  # sqrt(1 - 0.5) = 0.71 of the plain width
    rate, lo, hi = wilson(cuped["covered"])  # 2,000 experiments x 20 looks, simultaneous
    assert hi >= 0.95, (rate, lo, hi)


# ---- the data-facing function ----------------------------------------------------------------
@pytest.fixture(scope="module")
def monitored():
    from engagement_kit.simulate import simulate

    sim = simulate(n_customers=9000, seed=21, arrival_weeks=8, truth=False)
    return sim.customers.merge(sim.outcomes, on="customer_id").merge(sim.survey[["customer_id", "nps"]], on="customer_id")


def test_table_is_one_row_per_look_metric_arm_from_cumulative_statistics(monitored):
    metrics = {"retained": "binary", "revenue": "continuous", "referrals": "count", "nps": "nps"}
    r = sequential(monitored, arm_col="touch_model", control="no_touch", metrics=metrics, time_col="assigned_at", looks=6)
    t = r.tables()["sequential"]
    assert list(t.columns[: len(SEQUENTIAL_COLUMNS)]) == SEQUENTIAL_COLUMNS
    assert len(t) == 6 * 4 * 2 and r.tables()["boundaries"].empty
    # look 3 equals a direct analysis of the customers assigned by its cut-off
    row = t[(t.look == 3) & (t.metric == "revenue") & (t.arm == "high_touch")].iloc[0]
    sub = monitored[monitored["assigned_at"] <= row["time"]]
    a, c = (sub.loc[sub.touch_model == g, "revenue"] for g in ("high_touch", "no_touch"))
    assert (row["n_arm"], row["n_control"]) == (len(a), len(c))
    assert row["estimate"] == pytest.approx(a.mean() - c.mean())
    se = math.sqrt(a.var() / len(a) + c.var() / len(c))
    assert row["se"] == pytest.approx(se)
    assert row["fixed_horizon_p"] == pytest.approx(stats.ttest_ind(a, c, equal_var=False).pvalue, rel=1e-2)
    # NPS: promoter share minus detractor share, multinomial variance, in points (x 100) as in effects
    row = t[(t.look == 6) & (t.metric == "nps") & (t.arm == "low_touch")].iloc[0]
    row = row[["estimate", "se"]] / 100
    sc = {g: monitored.loc[monitored.touch_model == g, "nps"] for g in ("low_touch", "no_touch")}
    share = {g: ((s >= 9).mean(), (s <= 6).mean()) for g, s in sc.items()}
    assert row["estimate"] == pytest.approx((share["low_touch"][0] - share["low_touch"][1]) - (share["no_touch"][0] - share["no_touch"][1]))
    v = {g: p + d - (p - d) ** 2 for g, (p, d) in share.items()}
    assert row["se"] == pytest.approx(math.sqrt(sum(v[g] / len(sc[g]) for g in sc)))


def test_methods_decisions_and_conclusions(monitored):
    kw = dict(arm_col="touch_model", control="no_touch", time_col="assigned_at", looks=5)
    gs = sequential(monitored, metrics={"retained": "binary"}, method="group_sequential", **kw)
    b = gs.tables()["boundaries"]
    assert len(b) == 10 and np.all(np.diff(b[b.arm == "low_touch"]["z_boundary"]) < 0)
    ms = sequential(monitored, metrics={"retained": "binary", "referrals": "count"}, method="msprt", **kw)
    assert any("referrals" in s for s in ms.skipped)
    fut = sequential(monitored, metrics={"retained": "binary"}, futility=0.5, **kw)
    assert set(fut.tables()["sequential"]["decision"]) <= {"stop: futile", "stop: better", "stop: worse"}
    assert "stop: futile" in set(fut.tables()["sequential"]["decision"])
    bad = monitored.assign(touch_model=monitored["touch_model"].replace({"low_touch": "<b>x*</b>"}))
    text = sequential(bad, metrics={"retained": "binary"}, **kw).conclusions()
    assert "<b>" not in text and "&lt;b&gt;x\\*&lt;/b&gt;" in text
    assert "hold only at the planned end" in text
    small = sequential(monitored.iloc[:300], metrics={"retained": "binary"}, min_cell_size=40, **kw).tables()["sequential"]
    assert small["suppressed"].iloc[0] and small["n_arm"].isna().iloc[0]
    with pytest.raises(ValueError, match="correction"):
        sequential(monitored, metrics={"retained": "binary"}, correction="bh", **kw)


def test_cuped_from_cumulative_sums_equals_the_fixed_horizon_cuped(monitored):
    from engagement_kit.experiments.effects import analyze

    r = sequential(monitored, arm_col="touch_model", control="no_touch", metrics={"revenue": "continuous"},
                   time_col="assigned_at", looks=4, covariates=["prior_revenue"])  # fmt: skip
    last = r.tables()["sequential"].query("look == 4 and arm == 'high_touch'").iloc[0]
    ref = analyze(monitored, arm_col="touch_model", control="no_touch", metrics={"revenue": "continuous"},
                  covariates=["prior_revenue"])
    ref = ref[(ref.method == "cuped") & (ref.arm == "high_touch")].iloc[0]
    assert last["estimate"] == pytest.approx(ref["diff"]) and last["se"] == pytest.approx(ref["se"])


def test_arrival_weeks_adds_assignment_times_and_changes_nothing_else():
    from engagement_kit.simulate import simulate

    a = simulate(n_customers=500, seed=3, truth=False)
    b = simulate(n_customers=500, seed=3, truth=False, arrival_weeks=6)
    assert "assigned_at" not in a.customers and "assigned_at" in b.customers
    pd.testing.assert_frame_equal(a.customers, b.customers.drop(columns="assigned_at"))
    pd.testing.assert_frame_equal(a.outcomes, b.outcomes)
    span = b.customers["assigned_at"].max() - b.customers["assigned_at"].min()
    assert pd.Timedelta(weeks=5) < span <= pd.Timedelta(weeks=6)
    with pytest.raises(ValueError, match="arrival_weeks"):
        simulate(n_customers=10, arrival_weeks=0)


# ---- calibration: the targets, full size (seconds each) ------------------------------
A_A = [
    ("binary", dict(kind="binary", baseline=0.10)),
    ("continuous", dict(kind="continuous", distribution="lognormal", baseline=100.0, sd=250.0)),
]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["confidence_sequence", "msprt"])
@pytest.mark.parametrize("name,kw", A_A, ids=[a[0] for a in A_A])
def test_a_a_any_look_false_positive_rate_is_at_most_alpha(name, kw, method):
    r = simulate_monitoring(**kw, n_experiments=2_000, n_per_arm=2_000, n_looks=20, method=method, seed=101)
    rate, lo, hi = wilson(r["reject"])
    peek, _, _ = wilson((r["fixed_p"] < ALPHA).any(axis=1))
    print(f"{name} {method}: any-look FPR {rate:.4f} [{lo:.4f}, {hi:.4f}]; fixed-horizon peeking {peek:.3f}")
    assert lo <= ALPHA  # the project rule: the Monte-Carlo 95 % interval reaches the target
    assert rate <= ALPHA
    assert peek > 2 * ALPHA  # the contrast: 20 fixed-horizon looks on the same runs


@pytest.mark.slow
@pytest.mark.parametrize("name,kw,effect", [("binary", A_A[0][1], 0.02), ("continuous", A_A[1][1], 20.0)],
                         ids=["binary", "continuous"])  # fmt: skip
def test_sequence_covers_the_true_effect_at_every_look_simultaneously(name, kw, effect):
    r = simulate_monitoring(**kw, effect=effect, n_experiments=2_000, n_per_arm=2_000, n_looks=20, seed=202)
    rate, lo, hi = wilson(r["covered"])
    print(f"{name}: simultaneous coverage {rate:.4f} [{lo:.4f}, {hi:.4f}]")
    assert hi >= 0.95 and rate >= 0.95
