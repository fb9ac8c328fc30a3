"""Calibration of the experiment engine by seeded simulation (marked slow; they run in CI).

Thousands of experiments are generated as ONE long table with a replicate column and
analysed in one call with ``segment_col="rep"``: the engine's per-segment sufficient
statistics make each replicate a segment, so the code under test is the production
path and the whole file runs in well under a minute.

Bands: with R replicates the Monte-Carlo SE of a rate near 0.05 is sqrt(.05 .95 / R)
(0.0031 for R = 5,000), so [0.04, 0.06] is about +-3 SE; coverage [0.935, 0.965] likewise.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from engagement_kit.experiments import adjust_pvalues, analyze, sample_size
from engagement_kit.experiments.tests import bootstrap_diff, mann_whitney_p, ols_hc1

pytestmark = pytest.mark.slow
ALPHA = 0.05
NPS_P = np.array([0.04, 0.03, 0.04, 0.05, 0.06, 0.1, 0.08, 0.14, 0.16, 0.15, 0.15])  # answers 0..10


def _nps_shifted(lift: float) -> np.ndarray:
    """Answer probabilities with `lift` probability mass moved from detractor 0..6 to 10."""
    p = NPS_P.copy()
    p[:7] *= 1 - lift / p[:7].sum()
    p[10] += lift
    return p


def _true_nps(p: np.ndarray) -> float:
    return 100 * (p[9:].sum() - p[:7].sum())


def experiments(R: int, n: int, arms: tuple[str, ...], lift: dict[str, float], seed: int) -> pd.DataFrame:
    """R experiments x len(arms) arms x n customers, metrics of every kind; `lift` by arm."""
    rng = np.random.default_rng(seed)
    K = len(arms)
    N = R * K * n
    arm_idx = np.tile(np.repeat(np.arange(K), n), R)
    L = np.array([lift.get(a, 0.0) for a in arms])[arm_idx]
    x = rng.normal(0, 1, N)
    den = rng.poisson(3, N) + 1.0
    nps_rows = np.empty(N)
    for k, a in enumerate(arms):  # per arm (K iterations), vectorised over rows
        m = arm_idx == k
        nps_rows[m] = rng.choice(11, m.sum(), p=_nps_shifted(0.05 * lift.get(a, 0.0) / 0.3 if lift.get(a) else 0.0))
    return pd.DataFrame(
        {
            "rep": np.repeat(np.arange(R), K * n),
            "arm": pd.Categorical.from_codes(arm_idx, categories=list(arms)),
            "revenue": rng.gamma(2.0, 1.0, N) + L,  # skewed, mean 2 (+ lift)
            "visit": (rng.random(N) < 0.3 + L / 6).astype(np.int8),  # 0.30 -> 0.35 at lift 0.3
            "orders": rng.poisson(1.5 + L / 2, N),
            "nps": nps_rows,
            "num": den * rng.gamma(2.0, 0.5, N) * (1 + L),  # ratio of means 1 (+ lift)
            "den": den,
            "x": x,
            "y_cov": 2 * x + rng.gamma(2.0, 1.0, N) + L,  # the covariate explains 2/3 of the variance
        }
    )


METRICS = {"revenue": "continuous", "visit": "binary", "orders": "count", "nps": "nps",
           "rps": ("ratio", "num", "den"), "y_cov": "continuous"}
TRUE_DIFF_AT_03 = {"revenue": 0.3, "visit": 0.05, "orders": 0.15, "rps": 0.3, "y_cov": 0.3,
                   "nps": _true_nps(_nps_shifted(0.05)) - _true_nps(NPS_P)}


@pytest.fixture(scope="module")
def null_results() -> pd.DataFrame:
    df = experiments(R=5000, n=100, arms=("c", "t"), lift={}, seed=101)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze(df, arm_col="arm", control="c", metrics=METRICS, covariates=["x"], segment_col="rep", correction="none")


@pytest.fixture(scope="module")
def effect_results() -> pd.DataFrame:
    df = experiments(R=5000, n=100, arms=("c", "t"), lift={"t": 0.3}, seed=202)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze(df, arm_col="arm", control="c", metrics=METRICS, covariates=["x"], segment_col="rep", correction="none")


def test_aa_false_positive_rate_near_alpha_for_every_method(null_results):
    rates = null_results.groupby(["metric", "method"])["p_value"].apply(lambda p: (p < ALPHA).mean())
    print("\nA/A false-positive rates (R = 5,000):\n" + rates.round(4).to_string())
    # every sufficient-statistic method: welch, z_wald, z_nps, delta, and cuped on each kind
    assert set(rates.index.get_level_values("method")) == {"welch", "z_wald", "z_nps", "delta", "cuped"}
    assert ((rates >= 0.04) & (rates <= 0.06)).all(), rates


def test_ci_coverage_of_the_true_effect(effect_results):
    truth = effect_results["metric"].map(TRUE_DIFF_AT_03)
    covered = (effect_results.ci_low <= truth) & (truth <= effect_results.ci_high)
    cov = covered.groupby([effect_results.metric, effect_results.method]).mean()
    print("\n95 % CI coverage of the true effect (R = 5,000):\n" + cov.round(4).to_string())
    assert ((cov >= 0.935) & (cov <= 0.965)).all(), cov


def test_relative_ci_coverage(effect_results):
    base = {"revenue": 2.0, "visit": 0.3, "orders": 1.5, "rps": 1.0, "y_cov": 2.0}
    r = effect_results[effect_results.metric.isin(base) & (effect_results.method != "cuped")]
    truth = r.metric.map(TRUE_DIFF_AT_03) / r.metric.map(base)
    cov = ((r.rel_ci_low <= truth) & (truth <= r.rel_ci_high)).groupby(r.metric).mean()
    print("\nrelative-CI coverage:\n" + cov.round(4).to_string())
    assert ((cov >= 0.935) & (cov <= 0.965)).all(), cov


def test_cuped_narrows_the_ci_and_stays_unbiased(effect_results):
    e = effect_results[effect_results.metric == "y_cov"]
    welch, cuped = e[e.method == "welch"], e[e.method == "cuped"]
    width = lambda d: (d.ci_high - d.ci_low).mean()  # noqa: E731
    ratio = width(cuped) / width(welch)
    print(f"\nCUPED / Welch mean CI width {ratio:.3f}; mean variance reduction {cuped.variance_reduction.mean():.3f}")
    assert ratio < 0.65  # x explains 2/3 of the variance: expected sqrt(1/3) = 0.58
    mc_se = cuped["diff"].std() / np.sqrt(len(cuped))
    assert abs(cuped["diff"].mean() - 0.3) < 3 * mc_se
    # a covariate unrelated to the metric neither narrows nor biases
    other = effect_results[(effect_results.metric == "revenue")]
    assert width(other[other.method == "cuped"]) / width(other[other.method == "welch"]) > 0.98
    assert abs(other.loc[other.method == "cuped", "diff"].mean() - 0.3) < 3 * other["diff"].std() / np.sqrt(5000)


def test_holm_keeps_fwer_under_null_3_arms_4_metrics():
    R, n = 20_000, 30
    rng = np.random.default_rng(303)
    N = R * 3 * n
    arm_idx = np.tile(np.repeat(np.arange(3), n), R)
    df = pd.DataFrame(
        {"rep": np.repeat(np.arange(R), 3 * n), "arm": pd.Categorical.from_codes(arm_idx, ["ctl", "low", "high"]),
         **{f"m{j}": rng.normal(size=N) for j in range(4)}}
    )
    eff = analyze(df, arm_col="arm", control="ctl", metrics={f"m{j}": "continuous" for j in range(4)}, segment_col="rep", correction="none")
    assert len(eff) == R * 8
    eff["p_holm"] = adjust_pvalues(eff, "holm", by=["segment", "method"])
    fwer_holm = eff.groupby("segment")["p_holm"].min().lt(ALPHA).mean()
    fwer_raw = eff.groupby("segment")["p_value"].min().lt(ALPHA).mean()
    se = np.sqrt(ALPHA * (1 - ALPHA) / R)
    print(f"\nFWER 3 arms x 4 metrics null (R = {R}): unadjusted {fwer_raw:.4f}, Holm {fwer_holm:.4f} (MC SE {se:.4f})")
    # consistent with FWER <= alpha (one-sided 97.5 % Monte-Carlo bound), and far below the unadjusted rate
    assert fwer_holm - 2 * se <= ALPHA
    assert fwer_raw > 0.25


def test_ancova_hc1_false_positives_and_coverage():
    R, n = 2000, 100
    rng = np.random.default_rng(404)
    t = np.repeat([0.0, 1.0], n)[None, :].repeat(R, 0)
    x = rng.normal(size=(R, 2 * n))
    Z = np.stack([np.ones_like(t), t, x], axis=-1)
    for delta, label in ((0.0, "null"), (0.3, "effect")):
        y = 2 * x + rng.gamma(2.0, 1.0, (R, 2 * n)) * (1 + 0.5 * t) + delta * t  # heteroskedastic by arm
        beta, V = ols_hc1(y, Z)
        se = np.sqrt(V[:, 1, 1])
        p = 2 * stats.norm.sf(np.abs((beta[:, 1] - 0.0) / se))
        z = stats.norm.ppf(0.975)
        true = delta + 0.5 * 2.0  # gamma(2,1) mean 2, scaled by 1.5 in the arm
        cover = np.mean((beta[:, 1] - z * se <= true) & (true <= beta[:, 1] + z * se))
        print(f"\nANCOVA HC1 ({label}): coverage {cover:.4f}")
        assert 0.935 <= cover <= 0.965
        if label == "null":
            # test of the correct null (effect = 1.0, the arm's mean shift) -> rate of false positives
            fpr = np.mean(2 * stats.norm.sf(np.abs((beta[:, 1] - true) / se)) < ALPHA)
            print(f"ANCOVA HC1 false-positive rate {fpr:.4f}")
            assert 0.04 <= fpr <= 0.06


def test_mann_whitney_and_bootstrap_false_positives_and_coverage():
    # n = 300 per arm: the percentile bootstrap is a large-sample method (its interval is
    # z-based and uses the (n-1)/n plug-in variance), at n = 100 it undercovers (~0.939)
    R, n = 2000, 300
    rng = np.random.default_rng(505)
    y1, y0 = rng.gamma(4.0, 1.0, (R, n)), rng.gamma(4.0, 1.0, (R, n))
    fpr_mw = np.mean(mann_whitney_p(y1, y0) < ALPHA)
    bs = bootstrap_diff(y1, y0, n_boot=2000, alpha=ALPHA, rng=rng)
    fpr_bs = np.mean(bs["p_value"] < ALPHA)
    cover_bs = np.mean((bs["ci_low"] <= 0) & (0 <= bs["ci_high"]))
    print(f"\nMann-Whitney FPR {fpr_mw:.4f}; bootstrap FPR {fpr_bs:.4f}, coverage {cover_bs:.4f} (R = {R}, n = {n} per arm, B = 2000)")
    assert 0.04 <= fpr_mw <= 0.06
    assert 0.04 <= fpr_bs <= 0.06
    assert 0.935 <= cover_bs <= 0.965


def test_logrank_false_positive_rate():
    from statsmodels.duration.survfunc import survdiff

    R, n = 2000, 100
    rng = np.random.default_rng(606)
    t = rng.exponential(100.0, (R, 2 * n))
    e = (t < 150).astype(float)  # administrative censoring at 150 days
    t = np.minimum(t, 150.0)
    g = np.repeat([0, 1], n)
    p = np.array([survdiff(t[r], e[r], g)[1] for r in range(R)])
    print(f"\nlog-rank FPR {np.mean(p < ALPHA):.4f} (R = {R})")
    assert 0.04 <= np.mean(p < ALPHA) <= 0.06


def test_sample_size_gives_the_promised_power():
    n = sample_size("continuous", baseline=2.0, mde=0.4, sd=np.sqrt(2.0), power=0.8)
    R = 4000
    rng = np.random.default_rng(707)
    df = pd.DataFrame({"rep": np.repeat(np.arange(R), 2 * n),
                       "arm": np.tile(np.repeat(["c", "t"], n), R),
                       "y": rng.gamma(2.0, 1.0, R * 2 * n)})
    df.loc[df.arm == "t", "y"] += 0.4
    eff = analyze(df, arm_col="arm", control="c", metrics={"y": "continuous"}, segment_col="rep", correction="none")
    power = (eff.p_value < ALPHA).mean()
    print(f"\nn per arm {n}: empirical power {power:.4f} (target 0.80)")
    assert 0.78 <= power <= 0.83


def test_recovers_simulator_truth_with_nominal_coverage():
    from engagement_kit.simulate import simulate

    R, size = 2000, 600  # 2,000 randomised experiments of 600 customers from one simulated population
    sim = simulate(n_customers=R * size, seed=808, frameworks=["aarrr"], include_types=False)
    df = sim.customers.merge(sim.outcomes, on="customer_id").merge(sim.survey[["customer_id", "nps"]], on="customer_id")
    df["rep"] = np.arange(len(df)) // size
    metrics = {"retained": "binary", "referrals": "count", "nps": "nps", "expansion_revenue": "continuous"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eff = analyze(df, arm_col="touch_model", control="no_touch", metrics=metrics, segment_col="rep", correction="none")
    truth = sim.truth.arm_effects.set_index(["metric", "arm"])["diff"]
    t = pd.Series([truth[(m, a)] for m, a in zip(eff.metric, eff.arm)], index=eff.index)
    cov = ((eff.ci_low <= t) & (t <= eff.ci_high)).groupby([eff.metric, eff.arm]).mean()
    print(f"\ncoverage of the simulator's true effects ({R} experiments of {size} customers):\n" + cov.round(4).to_string())
    assert ((cov >= 0.935) & (cov <= 0.965)).all(), cov


@pytest.mark.slow
def test_cox_hazard_ratio_false_positives_and_coverage():
    """2,000 A/A and 2,000 A/B survival experiments, Cox Wald test and CI.

    analyze's time_to_event rows equal statsmodels PHReg to 1e-6 (exactness tests), so
    the calibration fits PHReg directly to skip the per-call table overhead. The true
    hazard ratio of the A/B runs is 0.7 (exponential times, administrative censoring
    at 150 days); its 95 % CI should cover 0.7 about 95 % of the time.
    """
    from statsmodels.duration.hazard_regression import PHReg

    R, n = 2000, 100
    rng = np.random.default_rng(808)
    g = np.repeat([0.0, 1.0], n)[:, None]
    false_pos, covered = 0, 0
    for _ in range(R):
        for hr in (1.0, 0.7):
            t = rng.exponential(100.0, 2 * n) / np.where(g[:, 0] == 1, hr, 1.0)
            res = PHReg(np.minimum(t, 150.0), g, status=(t < 150.0).astype(float)).fit()
            if hr == 1.0:
                false_pos += res.pvalues[0] < ALPHA
            else:
                lo, hi = np.exp(res.conf_int(alpha=ALPHA)[0])
                covered += lo <= hr <= hi
    print(f"\nCox HR: FPR {false_pos / R:.4f}; coverage of HR 0.7 {covered / R:.4f} (R = {R}, n = {n} per arm)")
    assert 0.04 <= false_pos / R <= 0.06
    assert 0.935 <= covered / R <= 0.965
