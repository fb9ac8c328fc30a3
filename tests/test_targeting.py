"""Targeting (:mod:`engagement_kit.targeting`): exact AIPW scores and blanket values against
hand computations, refusal of observational data, known propensities, budgets, the published
tables, and seeded simulations of recovery and interval calibration
(:func:`engagement_kit.simulate.simulate_targeting`, whose truths are exact)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.dummy import DummyRegressor

from engagement_kit.simulate import (
    TARGETING_COSTS,
    _targeting_cells,
    simulate_targeting,
)
from engagement_kit.targeting import (
    TargetingResult,
    _stratified_folds,
    aipw_scores,
    assign,
    policy_value,
    targeting_policy,
)

ARMS = ["no_touch", "high_touch", "low_touch"]
FEATURES = ["segment", "region", "prior_revenue", "prior_activity", "tenure_months"]
ORACLE = {a: f"true_revenue_{a}" for a in ARMS}


def _fit(data, **kw):
    args = {"arm_col": "touch_model", "control": "no_touch", "value_metric": "revenue", "costs": TARGETING_COSTS,
                "features": FEATURES, "randomised": True, "learner": "linear", "folds": 2, "seed": 1}
    return targeting_policy(data, **{**args, **kw})


def _wilson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    z = stats.norm.ppf(1 - (1 - level) / 2)
    p = k / n
    c = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    h = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return c - h, c + h


def _true_learned_value(result: TargetingResult, fresh: pd.DataFrame, truth: dict) -> float:
    """The population value of the fold policies, weighted as the estimate weights them:
    the exact value of no-touch plus the mean true net gain of each fold's policy over it on
    a large fresh sample."""
    net = fresh[[ORACLE[a] for a in ARMS]].to_numpy() - np.array([TARGETING_COSTS[a] for a in ARMS])
    per_fold = result.policy(fresh, per_fold=True)
    gains = [(net[np.arange(len(net)), pd.Categorical(per_fold[:, k], categories=ARMS).codes] - net[:, 0]).mean()
             for k in range(per_fold.shape[1])]
    return truth["blanket_values"]["no_touch"] + float(np.dot(result.fold_weights, gains))


# ----------------------------------------------------------------------------- exactness
def test_aipw_scores_equal_hand_computation():
    # four customers, two arms; Gamma = mu + 1[A = a] (V - mu) / e, worked by hand
    value = np.array([10.0, 4.0, 7.0, 0.0])
    arm = np.array([0, 1, 1, 0])
    mu = np.array([[8.0, 9.0], [5.0, 6.0], [6.0, 5.0], [1.0, 2.0]])
    e = np.array([[0.5, 0.5], [0.25, 0.75], [0.25, 0.75], [0.5, 0.5]])
    expected = np.array([
        [8 + (10 - 8) / 0.5, 9.0],
        [5.0, 6 + (4 - 6) / 0.75],
        [6.0, 5 + (7 - 5) / 0.75],
        [1 + (0 - 1) / 0.5, 2.0],
    ])
    np.testing.assert_allclose(aipw_scores(value, arm, mu, e), expected, rtol=0, atol=1e-12)
    est, se = policy_value(expected[:, 0], np.array([0, 0, 1, 1]))
    # fold variances by hand: fold 0 (12, 5) and fold 1 (6, -1), each 3.5^2 * 2 = 24.5
    assert est == pytest.approx((12 + 5 + 6 - 1) / 4)
    assert se == pytest.approx(np.sqrt(2 * 24.5 + 2 * 24.5) / 4)


def _balanced_table(per_arm_per_fold: int, folds: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_arm = per_arm_per_fold * folds
    arm = np.repeat(ARMS, n_arm)
    x = rng.normal(size=3 * n_arm)
    revenue = 100 + 20 * x + np.select([arm == "high_touch", arm == "low_touch"], [30.0, 10.0], 0.0)
    return pd.DataFrame({"touch_model": arm, "x": x, "seg": rng.choice(["a", "b"], 3 * n_arm),
                         "revenue": revenue + rng.gamma(2.0, 20.0, 3 * n_arm)})


def test_blanket_dr_equals_difference_in_means_with_intercept_only_model():
    # an intercept-only model and folds holding equal shares of every arm: the DR value of
    # "everyone gets a" is the arm's mean net value, so the difference is the difference in means
    data = _balanced_table(per_arm_per_fold=10, folds=4, seed=3)
    r = _fit(data, features=["x", "seg"], learner=DummyRegressor(), folds=4)
    pv = r.policy_value.set_index("policy")
    net = data["revenue"] - data["touch_model"].map(TARGETING_COSTS)
    means = net.groupby(data["touch_model"]).mean()
    for a in ARMS:
        assert pv.loc[f"all {a}", "value"] == pytest.approx(means[a], rel=0, abs=1e-9)
    diff = pv.loc["all high_touch", "value"] - pv.loc["all no_touch", "value"]
    assert diff == pytest.approx(means["high_touch"] - means["no_touch"], rel=0, abs=1e-9)


def test_blanket_dr_is_fold_means_plus_the_imbalance_adjustment_with_any_model():
    # with a covariate model: value(all a) = sum_k (n_k / n) [mean_{k, A=a} V + mean_k mu_a - mean_{k, A=a} mu_a]
    data = _balanced_table(per_arm_per_fold=13, folds=3, seed=5)
    r = _fit(data, features=["x", "seg"], folds=3, seed=7)
    codes = pd.Categorical(data["touch_model"], categories=r.arms).codes
    fold = _stratified_folds(codes, 3, np.random.default_rng(7))
    net = (data["revenue"] - data["touch_model"].map(TARGETING_COSTS)).to_numpy()
    expected_by_fold = r.fold_expected(data)  # folds x customers x arms
    n = len(data)
    for j, a in enumerate(r.arms):
        total = 0.0
        for k in range(3):
            in_k = fold == k
            mu = expected_by_fold[k][in_k, j]
            got = codes[in_k] == j
            total += in_k.sum() / n * (net[in_k][got].mean() + mu.mean() - mu[got].mean())
        assert r.policy_value.set_index("policy").loc[f"all {a}", "value"] == pytest.approx(total, rel=0, abs=1e-9)


# ----------------------------------------------------------------------------- assignment
def test_observational_data_is_refused_without_randomisation_or_propensities():
    data = simulate_targeting(600, seed=1).customers
    with pytest.raises(ValueError, match="randomised=True"):
        _fit(data, randomised=False)


def test_known_propensities_remove_confounding_that_biases_the_naive_comparison():
    # assignment depends on segment (enterprise mostly high-touch), revenue on segment too
    rng = np.random.default_rng(11)
    n = 30_000
    ent = rng.random(n) < 0.3
    p_high = np.where(ent, 0.7, 0.1)
    arm = np.where(rng.random(n) < p_high, "high_touch", "no_touch")
    revenue = 100 + 300 * ent + 50 * (arm == "high_touch") + rng.normal(0, 30, n)
    data = pd.DataFrame({"touch_model": arm, "segment": np.where(ent, "enterprise", "smb"), "revenue": revenue,
                         "p_high": p_high, "p_no": 1 - p_high})
    costs = {"high_touch": 0.0, "no_touch": 0.0}
    r = _fit(data, features=["segment"], costs=costs, randomised=False,
             propensity_cols={"high_touch": "p_high", "no_touch": "p_no"})
    pv = r.policy_value.set_index("policy")
    truth_no, truth_high = 100 + 300 * 0.3, 150 + 300 * 0.3
    for name, truth in (("all no_touch", truth_no), ("all high_touch", truth_high)):
        assert pv.loc[name, "ci_low"] <= truth <= pv.loc[name, "ci_high"]
    naive = data.groupby("touch_model")["revenue"].mean()
    assert naive["high_touch"] - naive["no_touch"] > 150  # the confounded comparison is far off 50


def test_budget_caps_the_share_of_an_arm_and_the_mean_cost():
    rng = np.random.default_rng(2)
    expected = rng.normal(size=(1_000, 3)) + np.array([0.0, 1.0, 0.5])
    free = assign(expected)
    assert (free == 1).mean() > 0.4
    capped = assign(expected, budget={"b": 0.2}, arms=["a", "b", "c"])
    assert (capped == 1).mean() == pytest.approx(0.2)
    # the customers kept are those who lose most from another arm
    loss = expected[:, 1] - np.delete(expected, 1, axis=1).max(axis=1)
    assert loss[capped == 1].min() >= loss[(free == 1) & (capped != 1)].max()
    costs = np.array([0.0, 10.0, 2.0])
    cheap = assign(expected, arm_costs=costs, budget={"cost_per_customer": 3.0})
    assert costs[free].mean() > 3.0 and costs[cheap].mean() <= 3.0 + 1e-9
    assert costs[cheap].mean() > 2.9  # the cap is used, not overshot by a large lambda
    with pytest.raises(ValueError, match="neither an arm"):
        assign(expected, budget={"z": 0.1}, arms=["a", "b", "c"])


def test_learned_policy_respects_a_high_touch_budget():
    data = simulate_targeting(4_000, seed=2).customers
    r = _fit(data, budget={"high_touch": 0.05})
    learned = r.policy_value.set_index("policy").loc["learned"]
    assert learned["share_high_touch"] <= 0.05 + 2 / len(data)


# ----------------------------------------------------------------------------- tables
def test_tables_publish_aggregates_with_interface_columns_and_suppress_small_cells(tmp_path):
    sim = simulate_targeting(3_000, seed=4)
    r = _fit(sim.customers, segment_col="segment", oracle_cols=ORACLE, min_cell_size=200)
    t = r.tables()
    for name, cols in TargetingResult.COLUMNS.items():
        assert list(t[name].columns[: len(cols)]) == cols, name
    pv = t["policy_value"]
    assert list(pv["kind"]) == ["learned", "blanket", "blanket", "blanket", "segment_rule", "oracle"]
    assert [c for c in pv.columns if c.startswith("share_")] == [f"share_{a}" for a in r.arms]
    assert np.allclose(pv[[f"share_{a}" for a in r.arms]].sum(axis=1), 1)
    best = pv[pv["kind"].eq("blanket")].sort_values("value").iloc[-1]
    assert best["diff_vs_best_blanket"] == 0 and np.isnan(best["p_value"])
    up = t["uplift_curve"]
    small = r.uplift_curve["n_targeted"] < 200
    assert small.any() and up.loc[small, "suppressed"].all() and up.loc[small, "gain"].isna().all()
    assert not up.loc[~small, "suppressed"].any()
    assert set(t["cate_by_feature"]["feature"]) == set(FEATURES)
    written = r.write(tmp_path)
    text = "".join(p.read_text() for p in written.values())
    assert "C000" not in text
    assert "\\_" in r.conclusions()  # labels escaped


def test_uplift_curve_full_fraction_is_the_average_effect():
    sim = simulate_targeting(3_000, seed=6)
    r = _fit(sim.customers)
    up = r.uplift_curve
    pv = r.policy_value.set_index("policy")
    for a in ("high_touch", "low_touch"):
        last = up[up["arm"].eq(a)].iloc[-1]
        assert last["fraction"] == 1.0
        assert last["gain"] == pytest.approx(pv.loc[f"all {a}", "value"] - pv.loc["all no_touch", "value"])
        assert last["gain"] == pytest.approx(last["random_gain"])


# ----------------------------------------------------------------------------- simulator
def test_simulated_truths_are_exact_against_the_customers_true_revenues():
    sim = simulate_targeting(400_000, seed=9)
    c = sim.customers
    for a in ARMS:
        mc = (c[ORACLE[a]] - TARGETING_COSTS[a]).mean()
        se = c[ORACLE[a]].std() / np.sqrt(len(c))
        assert abs(mc - sim.truth["blanket_values"][a]) < 4 * se
    net = c[[ORACLE[a] for a in ARMS]].to_numpy() - np.array([TARGETING_COSTS[a] for a in ARMS])
    assert abs(net.max(axis=1).mean() - sim.truth["oracle_value"]) < 4 * net.max(axis=1).std() / np.sqrt(len(c))
    assert _targeting_cells()["probability"].sum() == pytest.approx(1.0)
    null = simulate_targeting(2_000, seed=9, heterogeneity="none").customers
    effect = null["true_revenue_high_touch"] - null["true_revenue_no_touch"]
    assert effect.std() < 1e-9


# ----------------------------------------------------------------------------- seeded simulations
@pytest.mark.slow
def test_learned_policy_captures_most_of_the_oracle_gain_at_50000_customers():
    sim = simulate_targeting(50_000, seed=4)
    fresh = simulate_targeting(100_000, seed=10**6).customers
    r = _fit(sim.customers, learner="hgb", folds=5, oracle_cols=ORACLE, seed=4)
    value = _true_learned_value(r, fresh, sim.truth)
    best = sim.truth["blanket_values"][sim.truth["best_blanket"]]
    share = (value - best) / sim.truth["oracle_gain"]
    print(f"share of the oracle gain: {share:.3f}; CATE correlation: {r.cate_correlation}")
    assert share >= 0.80
    assert min(r.cate_correlation.values()) > 0.5


@pytest.mark.slow
def test_policy_value_intervals_cover_and_the_null_rarely_declares_targeting_better():
    # CI version of benchmarks/bench_targeting.py: 300 replicates of 2,000 customers, linear learner
    reps, n = 300, 2_000
    fresh = simulate_targeting(50_000, seed=10**6).customers
    covered = {k: 0 for k in ("learned", "all no_touch", "all high_touch", "all low_touch", "oracle")}
    declared = 0
    truth = simulate_targeting(10, seed=0).truth
    null_truth = simulate_targeting(10, seed=0, heterogeneity="none").truth
    for rep in range(reps):
        sim = simulate_targeting(n, seed=rep)
        r = _fit(sim.customers, oracle_cols=ORACLE, seed=rep)
        pv = r.policy_value.set_index("policy")
        truths = {f"all {a}": truth["blanket_values"][a] for a in ARMS}
        truths["oracle"] = truth["oracle_value"]
        truths["learned"] = _true_learned_value(r, fresh, truth)
        for k, v in truths.items():
            covered[k] += pv.loc[k, "ci_low"] <= v <= pv.loc[k, "ci_high"]
        null = _fit(simulate_targeting(n, seed=10_000 + rep, heterogeneity="none").customers, seed=rep)
        declared += null.policy_value.set_index("policy").loc["learned", "diff_ci_low"] > 0
    for k, c in covered.items():
        lo, hi = _wilson(c, reps)
        print(f"coverage {k}: {c / reps:.3f} ({lo:.3f} to {hi:.3f})")
        assert lo <= 0.97 and hi >= 0.93, k
    lo, hi = _wilson(declared, reps)
    print(f"null: learned declared better in {declared / reps:.3f} ({lo:.3f} to {hi:.3f})")
    assert lo <= 0.05
    assert null_truth["oracle_gain"] == pytest.approx(0.0)
