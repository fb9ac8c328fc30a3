"""Hypotheses, mediation and moderation.

References: hand-computed OLS (numpy ``lstsq``) for the mediation paths and simple
slopes; statsmodels ``multipletests`` for the family adjustment; the simulator's truth
for recovery; a simulated null for the family-wise error rate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from engagement_kit.hypotheses import (
    Hypothesis,
    _bootstrap_paths,
    default_hypotheses,
    hypotheses_from_records,
    mediation,
    mediation_table,
    moderation,
    test_hypotheses as run_hypotheses,
)


def _ols(y, *cols):
    X = np.column_stack([np.ones(len(y)), *cols])
    return np.linalg.lstsq(X, y, rcond=None)[0]


@pytest.fixture(scope="module")
def med_data():
    rng = np.random.default_rng(3)
    n = 1500
    t = rng.integers(0, 2, n).astype(float)
    c = rng.normal(size=n)
    m = 0.5 * t + 0.3 * c + rng.normal(size=n)
    y = 0.4 * m + 0.2 * t - 0.2 * c + rng.normal(size=n)
    return pd.DataFrame({"t": t, "c": c, "m": m, "y": y})


def test_mediation_paths_equal_hand_computed_ols(med_data):
    d = med_data
    res = mediation(d, treatment="t", mediator="m", outcome="y", covariates=["c"], n_boot=1000, seed=1)
    a = _ols(d.m.to_numpy(), d.t, d.c)[1]
    bb = _ols(d.y.to_numpy(), d.t, d.c, d.m)
    c = _ols(d.y.to_numpy(), d.t, d.c)[1]
    assert res.a == pytest.approx(a, abs=1e-6)
    assert res.b == pytest.approx(bb[3], abs=1e-6)
    assert res.c_prime == pytest.approx(bb[1], abs=1e-6)
    assert res.c == pytest.approx(c, abs=1e-6)
    assert res.indirect == pytest.approx(res.c - res.c_prime, abs=1e-10)  # OLS identity c = c' + ab
    assert res.indirect_ci_low < res.indirect < res.indirect_ci_high


def test_vectorised_bootstrap_equals_refit_on_resampled_rows(med_data):
    d = med_data
    Z = np.column_stack([np.ones(len(d)), d.t, d.c, d.m, d.y])
    rng = np.random.default_rng(9)
    idx = rng.integers(0, len(d), size=(3, len(d)))
    counts = np.stack([np.bincount(i, minlength=len(d)) for i in idx]).astype(float)
    a, b = _bootstrap_paths(Z, counts)
    for k in range(3):
        r = d.iloc[idx[k]]
        assert a[k] == pytest.approx(_ols(r.m.to_numpy(), r.t, r.c)[1], abs=1e-8)
        assert b[k] == pytest.approx(_ols(r.y.to_numpy(), r.t, r.c, r.m)[3], abs=1e-8)


def test_mediation_bootstrap_is_seeded(med_data):
    r1 = mediation(med_data, treatment="t", mediator="m", outcome="y", n_boot=5000, seed=4)
    r2 = mediation(med_data, treatment="t", mediator="m", outcome="y", n_boot=5000, seed=4)
    assert r1 == r2
    assert r1.n_boot == 5000


def test_family_adjustment_and_verdicts():
    rng = np.random.default_rng(5)
    n = 600
    d = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n), "w": rng.normal(size=n)})
    d["y"] = 0.4 * d.x - 0.4 * d.z + rng.normal(size=n)
    hyps = [
        {"id": "Hx", "statement": "x raises y", "outcome": "y", "predictors": ["x"], "covariates": ["w"]},
        {"id": "Hz", "statement": "z raises y", "outcome": "y", "predictors": ["z"]},
        {"id": "Hw", "statement": "w raises y", "outcome": "y", "predictors": ["w"], "expected": "any"},
    ]
    res = run_hypotheses(d, hypotheses=hyps).set_index("id")
    assert res.loc["Hx", "verdict"] == "supported"
    assert res.loc["Hz", "verdict"] == "opposite direction"
    assert res.loc["Hw", "verdict"] == "not supported"
    np.testing.assert_allclose(res["p_adjusted"], multipletests(res["p_value"], method="holm")[1])
    assert res.loc["Hx", "std_effect"] == pytest.approx(res.loc["Hx", "estimate"] * d.x.std() / d.y.std())
    assert 1.0 <= res.loc["Hx", "vif"] < 1.1


def test_all_four_model_kinds_and_cox_matches_survival_module():
    from engagement_kit.stats.survival import cox

    rng = np.random.default_rng(6)
    n = 800
    x = rng.normal(size=n)
    arm = rng.choice(["no_touch", "low_touch", "high_touch"], n)
    t = rng.exponential(1 / np.exp(0.5 * x))
    d = pd.DataFrame({"x": x, "arm": arm, "time": np.minimum(t, 2.0), "event": t < 2.0,
                      "bin": (x + rng.logistic(size=n)) > 0, "ord": np.digitize(x + rng.logistic(size=n), [-1, 0, 1]),
                      "y": 0.3 * (arm == "high_touch") + rng.normal(size=n)})
    hyps = [
        Hypothesis("C", "x raises hazard", outcome="time", event="event", predictors=("x",), model="cox"),
        Hypothesis("L", "x raises bin", outcome="bin", predictors=("x",), model="logit"),
        Hypothesis("O", "x raises ord", outcome="ord", predictors=("x",), model="ordinal"),
        Hypothesis("A", "arm raises y", outcome="y", predictors=("arm",)),
    ]
    res = run_hypotheses(d, hypotheses=hyps)
    assert res.groupby("id").size().to_dict() == {"A": 2, "C": 1, "L": 1, "O": 1}
    assert set(res.loc[res.id == "A", "term"]) == {"arm[high_touch]", "arm[low_touch]"}  # no_touch is reference
    ref = cox(d, duration="time", event="event", predictors=["x"])
    assert res.loc[res.id == "C", "estimate"].iloc[0] == pytest.approx(ref["log_hr"].iloc[0], abs=1e-8)
    assert (res.loc[res.id.isin(["C", "L", "O"]), "verdict"] == "supported").all()


def test_bad_hypothesis_specs_are_clear_errors():
    d = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 3.0]})
    with pytest.raises(KeyError, match="nope"):
        run_hypotheses(d, hypotheses=[Hypothesis("H", "s", outcome="nope", predictors=("x",))])
    with pytest.raises(ValueError, match="cox model needs event"):
        Hypothesis("H", "s", outcome="y", predictors=("x",), model="cox")
    with pytest.raises(ValueError, match="unique"):
        hypotheses_from_records([{"id": "H", "statement": "", "outcome": "y", "predictors": ["x"]}] * 2)


def test_simple_slopes_equal_hand_computed_combination():
    rng = np.random.default_rng(7)
    n = 700
    d = pd.DataFrame({"x": rng.normal(size=n), "w": rng.normal(1.0, 2.0, size=n)})
    d["y"] = 0.5 * d.x + 0.2 * d.w + 0.3 * d.x * d.w + rng.normal(size=n)
    res = moderation(d, outcome="y", predictor="x", moderator="w")
    beta = _ols(d.y.to_numpy(), d.x, d.w, d.x * d.w)
    for _, row in res.simple_slopes.iterrows():
        assert row["slope"] == pytest.approx(beta[1] + beta[3] * row["moderator_value"], abs=1e-8)
    assert res.interaction["estimate"].iloc[0] == pytest.approx(beta[3], abs=1e-8)


@pytest.fixture(scope="module")
def sim_scores():
    from engagement_kit.measurement import add_promoter, score_scales
    from engagement_kit.schema import DEFAULT_SCALES, REVERSE_KEYED_ITEMS
    from engagement_kit.simulate import simulate

    sim = simulate(n_customers=6000, seed=21, frameworks=["aarrr"])
    df = add_promoter(sim.survey.merge(sim.outcomes, on="customer_id").merge(sim.customers, on="customer_id"))
    scores = score_scales(df, scales=DEFAULT_SCALES, reverse_items=REVERSE_KEYED_ITEMS,
                          keep=["customer_id", "touch_model", "segment", "retained", "csat", "promoter"])
    latents = sim.truth.latents.rename(columns=lambda c: c if c == "customer_id" else f"true_{c}")
    return scores.merge(latents, on="customer_id"), sim.truth


def test_mediation_recovers_true_a_path_and_total_effect(sim_scores):
    scores, truth = sim_scores
    res = mediation_table(scores, specs=[{"treatment": "touch_model", "mediator": "true_attention", "outcome": "retained"}],
                          n_boot=2000, seed=2).set_index("treatment")
    de = truth.dimension_effects.set_index(["touch_model", "dimension"])["effect"]
    ae = truth.arm_effects.set_index(["metric", "arm"])["diff"]
    for arm in ("high_touch", "low_touch"):
        row = res.loc[f"touch_model[{arm}]"]
        se_a = 1.0 / np.sqrt(row["n"] / 4)  # latent SD 1, two equal arms
        assert abs(row["a"] - de[(arm, "attention")]) < 3 * se_a
        se_c = np.sqrt(0.25 / (row["n"] / 4))
        assert abs(row["c"] - ae[("retained", arm)]) < 3 * se_c
        assert row["indirect_ci_low"] > 0  # attention truly lowers the churn hazard


def test_default_hypotheses_recover_simulated_claims(sim_scores):
    scores, _ = sim_scores
    hyps = default_hypotheses(scores.columns, arm_col="touch_model", covariates=["segment"])
    assert {"H1", "H2a", "H3", "H4a", "H5_interaction"} <= {h.id for h in hyps}
    res = run_hypotheses(scores, hypotheses=hyps)
    assert (res.loc[res.id.isin(["H1", "H2a", "H3", "H4a"]), "verdict"] == "supported").all()
    hi = res[(res.id == "H5_interaction") & (res.term == "touch_model[high_touch]")]
    assert hi["verdict"].iloc[0] == "supported"


@pytest.mark.slow
def test_family_error_rate_under_simulated_null_is_at_most_alpha():
    """Null: dimension_effects all zero (touch does not move the dimensions) and the
    outcome rows permuted across customers (outcomes independent of the survey)."""
    from engagement_kit.frameworks import DIMENSION_NAMES, TOUCH_MODEL_NAMES
    from engagement_kit.measurement import add_promoter, score_scales
    from engagement_kit.schema import DEFAULT_SCALES, REVERSE_KEYED_ITEMS
    from engagement_kit.simulate import simulate

    zeros = {arm: {d: 0.0 for d in DIMENSION_NAMES} for arm in TOUCH_MODEL_NAMES if arm != "no_touch"}
    reps, n = 50, 500
    # customers are i.i.d., so disjoint blocks of one large simulation are independent replicates
    sim = simulate(n_customers=reps * n, seed=500, dimension_effects=zeros, frameworks=["aarrr"],
                   include_types=False, truth=False)
    df_all = sim.survey.merge(sim.outcomes, on="customer_id").merge(sim.customers, on="customer_id")
    outcome_cols = [c for c in sim.outcomes.columns if c != "customer_id"] + ["nps", "csat"]
    rejections = []
    for r in range(reps):
        df = df_all.iloc[r * n : (r + 1) * n].reset_index(drop=True)
        rng = np.random.default_rng(r)
        perm = rng.permutation(n)
        df[outcome_cols] = df[outcome_cols].iloc[perm].to_numpy()  # outcomes independent of the survey items
        scores = score_scales(add_promoter(df), scales=DEFAULT_SCALES, reverse_items=REVERSE_KEYED_ITEMS,
                              keep=["touch_model", "segment", "retained", "churned", "churn_time", "csat",
                                    "referrals", "promoter"])
        res = run_hypotheses(scores, hypotheses=default_hypotheses(scores.columns, arm_col="touch_model",
                                                                       covariates=["segment"]))
        rejections.append((res["p_adjusted"] < 0.05).any())
    fwer = float(np.mean(rejections))
    print(f"family-wise error rate under the null: {fwer:.3f} over {reps} replicates")
    # Holm controls FWER at .05; allow Monte-Carlo error (binomial SD ~ .031 at 50 replicates)
    assert fwer <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / reps)
