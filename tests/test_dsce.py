"""DSCE index arithmetic (hand-computed examples), bad input, assessment helper, drivers, plots."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.multitest import multipletests

from engagement_kit import dsce
from engagement_kit.frameworks import DSCE_COMPONENT_NAMES
from engagement_kit.simulate import simulate
from engagement_kit.validation import ValidationError

C3 = ["customer_intent", "anticipation", "journey"]
ADJUST = ["touch_model", "segment"]  # the demo's arm and segment columns (no default adjustment)


@pytest.fixture
def small():
    # ratings on 1..5; scores are 100 (r - 1) / 4:
    #   A: 5, 3, 1 -> 100, 50,   0
    #   B: 2, 4, 4 ->  25, 75,  75
    #   C: 3, 3, 5 ->  50, 50, 100
    return pd.DataFrame(
        {
            "customer_id": ["A", "B", "C"],
            "customer_intent": [5, 2, 3],
            "anticipation": [3, 4, 3],
            "journey": [1, 4, 5],
            "segment": ["x", "x", "y"],
        }
    )


@pytest.fixture(scope="module")
def sim():
    s = simulate(n_customers=3000, seed=5, truth=False, frameworks=["aarrr"], include_types=False)
    return s


# --- index arithmetic by hand ------------------------------------------------------


def test_scores_and_equal_weight_index_by_hand(small):
    out = dsce.dsce_index(small, components=C3)
    assert out["score_customer_intent"].tolist() == pytest.approx([100.0, 25.0, 50.0])
    assert out["score_journey"].tolist() == pytest.approx([0.0, 75.0, 100.0])
    # equal weights: A (100 + 50 + 0)/3 = 50; B (25 + 75 + 75)/3 = 58.33; C (50 + 50 + 100)/3 = 66.67
    assert out["index"].tolist() == pytest.approx([50.0, 175 / 3, 200 / 3])
    # default target = top of the scale (score 100), so the gap is 100 - index
    assert out["target_index"].tolist() == pytest.approx([100.0, 100.0, 100.0])
    assert out["gap"].tolist() == pytest.approx([50.0, 100 - 175 / 3, 100 - 200 / 3])
    assert out["gap_anticipation"].tolist() == pytest.approx([50.0, 25.0, 50.0])


def test_weighted_index_and_targets_by_hand(small):
    # weights 2:1:1 -> 0.5, 0.25, 0.25
    #   A: 0.5*100 + 0.25*50 + 0.25*0   = 62.5
    #   B: 0.5*25  + 0.25*75 + 0.25*75  = 50.0
    #   C: 0.5*50  + 0.25*50 + 0.25*100 = 62.5
    # targets (ratings) 4, 5, 3 -> scores 75, 100, 50; target index 0.5*75 + 0.25*100 + 0.25*50 = 75
    w = {"customer_intent": 2, "anticipation": 1, "journey": 1}
    out = dsce.dsce_index(small, components=C3, weights=w, targets={"customer_intent": 4, "anticipation": 5, "journey": 3})
    assert out["index"].tolist() == pytest.approx([62.5, 50.0, 62.5])
    assert out["target_index"].tolist() == pytest.approx([75.0, 75.0, 75.0])
    assert out["gap"].tolist() == pytest.approx([12.5, 25.0, 12.5])
    # per-component gaps: target score - score (negative = above the desired state)
    assert out["gap_customer_intent"].tolist() == pytest.approx([-25.0, 50.0, 25.0])
    assert out["gap_journey"].tolist() == pytest.approx([50.0, -25.0, -50.0])


def test_declared_scale_zero_to_ten():
    df = pd.DataFrame({"customer_id": ["A"], "education": [7], "journey": [0]})
    out = dsce.dsce_index(df, components=["education", "journey"], scale_min=0, scale_max=10, targets=8)
    # scores 70 and 0; index 35; target score 80 each -> target index 80; gap 45
    assert out[["score_education", "score_journey", "index", "target_index", "gap"]].iloc[0].tolist() == pytest.approx(
        [70.0, 0.0, 35.0, 80.0, 45.0]
    )


def test_per_account_target_columns_are_used(small):
    df = small.assign(target_customer_intent=[5, 4, 3], target_anticipation=5, target_journey=5)
    out = dsce.dsce_index(df, components=C3)
    # A: targets 100, 100, 100 -> gap 50; B: targets 75, 100, 100 -> target index 91.67, index 58.33
    assert out["target_index"].tolist() == pytest.approx([100.0, 275 / 3, 250 / 3])
    assert out["gap_customer_intent"].tolist() == pytest.approx([0.0, 50.0, 0.0])


def test_missing_rating_reweights_when_asked(small):
    df = small.astype({"anticipation": float})
    df.loc[0, "anticipation"] = np.nan
    with pytest.raises(ValidationError, match="reweight"):
        dsce.dsce_index(df, components=C3)
    out = dsce.dsce_index(df, components=C3, missing="reweight", weights={"customer_intent": 2, "anticipation": 1, "journey": 1})
    # A: rated components customer_intent (w 2) and journey (w 1): (2*100 + 1*0)/3 = 66.67; target 100
    assert out["index"].iloc[0] == pytest.approx(200 / 3)
    assert out["target_index"].iloc[0] == 100.0
    assert np.isnan(out["gap_anticipation"].iloc[0])


def test_group_summary_means_and_t_interval_by_hand(small):
    scores = dsce.dsce_index(small, components=C3).join(small[["segment"]])
    out = dsce.group_summary(scores, group_cols=["segment"], components=C3)
    assert tuple(out.columns) == dsce.SEGMENT_COLUMNS
    row = out[(out.group_col == "segment") & (out.group == "x") & (out.component == "index")].iloc[0]
    # segment x = accounts A (50) and B (58.33): mean 54.17, SD = 8.33/sqrt(2), SE = SD/sqrt(2) = 4.1667
    mean, se = (50 + 175 / 3) / 2, (175 / 3 - 50) / 2
    assert row["n"] == 2
    assert row["score"] == pytest.approx(mean)
    assert row["score_ci_low"] == pytest.approx(mean - stats.t.ppf(0.975, 1) * se)
    assert row["gap"] == pytest.approx(100 - mean)
    allrow = out[(out.group_col == "all") & (out.component == "journey")].iloc[0]
    assert allrow["score"] == pytest.approx((0 + 75 + 100) / 3)
    assert allrow["target"] == 100.0


def test_resolve_weights_rejects_bad_weights():
    with pytest.raises(ValueError, match="unknown component"):
        dsce.resolve_weights({"nope": 1}, components=C3)
    with pytest.raises(ValueError, match="non-negative"):
        dsce.resolve_weights({"journey": -1, "anticipation": 2}, components=C3)
    with pytest.raises(ValueError, match="fitted"):
        dsce.resolve_weights("fitted", components=C3)


def test_fitted_weights_clip_wrong_sign_and_use_expansion_direction():
    t = pd.DataFrame(
        {"component": ["a", "b", "c"], "outcome": "expansion_any", "estimate": [0.2, -0.1, 0.6]}
    )
    # expansion: good sign +1 -> max(0, (0.2, -0.1, 0.6)) / 0.8 = (0.25, 0, 0.75)
    assert dsce.fitted_weights(t, outcome="expansion_any").tolist() == pytest.approx([0.25, 0.0, 0.75])
    with pytest.raises(ValueError, match="beneficial direction"):
        dsce.fitted_weights(t.assign(outcome="churn", estimate=[0.1, 0.2, 0.3]), outcome="churn")


# --- bad input ----------------------------------------------------------------------


def test_out_of_scale_rating_is_an_error_naming_column_and_rows(small):
    df = small.copy()
    df.loc[2, "journey"] = 7
    with pytest.raises(ValidationError) as err:
        dsce.dsce_index(df, components=C3)
    msg = str(err.value)
    assert "dsce.journey" in msg and "[row 3]" in msg and "1-5" in msg  # rows are 1-based, as in every contract


def test_every_problem_is_listed_at_once(small):
    df = small.drop(columns=["anticipation"]).assign(customer_id=["A", "A", "C"], journey=["1", "x", "5"])
    with pytest.raises(ValidationError) as err:
        dsce.check_ratings(df, components=C3)
    codes = {(p.code, p.column) for p in err.value.problems}
    assert {("duplicate_id", "customer_id"), ("missing_column", "anticipation"), ("wrong_type", "journey")} <= codes


def test_invalid_targets_and_scale():
    df = pd.DataFrame({"customer_id": ["A"], "journey": [3]})
    with pytest.raises(ValidationError, match="outside the declared scale"):
        dsce.dsce_index(df, components=["journey"], targets=6)
    with pytest.raises(ValueError, match="greater than"):
        dsce.dsce_index(df, components=["journey"], scale_min=5, scale_max=1)


def test_accounts_absent_from_outcomes(small):
    outcomes = pd.DataFrame({"customer_id": ["A", "B"], "retained": [True, False]})
    with pytest.raises(ValidationError, match="absent from outcomes") as err:
        dsce.merge_accounts(small, ("outcomes", outcomes))
    assert "on_unmatched='drop'" in str(err.value)
    with pytest.warns(UserWarning, match="1 assessed account"):
        merged = dsce.merge_accounts(small, ("outcomes", outcomes), on_unmatched="drop")
    assert merged["customer_id"].tolist() == ["A", "B"]


# --- assessment helper ----------------------------------------------------------------


def test_questionnaire_covers_every_component():
    t = dsce.questionnaire_template(["A1", "A2"])
    assert tuple(t.columns) == dsce.TEMPLATE_COLUMNS
    assert set(t["component"]) == set(DSCE_COMPONENT_NAMES)
    assert len(t) == 2 * len(dsce.QUESTIONS)
    assert t["rating"].isna().all()


def test_answers_to_dsce_averages_answered_questions(tmp_path):
    path = tmp_path / "q.csv"
    dsce.questionnaire_template(["A1", "A2"], path=path)
    filled = pd.read_csv(path)
    filled["rating"] = 3.0
    # A1 product_adoption: 5, 4 and one blank -> mean of answered = 4.5
    pa = (filled.customer_id == "A1") & (filled.component == "product_adoption")
    filled.loc[pa, "rating"] = [5, 4, np.nan]
    wide = dsce.answers_to_dsce(filled, accounts=["A1", "A2"])
    assert list(wide.columns) == ["customer_id", *DSCE_COMPONENT_NAMES]
    assert wide.set_index("customer_id").loc["A1", "product_adoption"] == 4.5
    assert wide.set_index("customer_id").loc["A2", "journey"] == 3.0
    # and the wide table scores without complaint
    assert dsce.dsce_index(wide)["index"].notna().all()


def test_validate_answers_reports_each_kind_of_problem():
    t = dsce.questionnaire_template(["A1", "A2"])
    t["rating"] = pd.Series(3.0, index=t.index, dtype=object)  # as read from a sheet with a typo
    t.loc[0, "rating"] = 9  # out of scale
    t.loc[1, "rating"] = "good"  # non-numeric
    t.loc[t.customer_id == "A2", "customer_id"] = "ZZ"  # unknown account
    t.loc[(t.customer_id == "ZZ") & (t.component == "education"), "rating"] = np.nan  # component unanswered
    t.loc[2, "question_id"] = "made_up"
    with pytest.raises(ValidationError) as err:
        dsce.validate_answers(t, accounts=["A1", "A2"])
    text = "\n".join(map(str, err.value.problems))
    assert "answers.rating: outside 1-5" in text  # the answers' data contract
    assert "answers.rating: not a number" in text
    assert "unknown account" in text and "ZZ" in text
    assert "no answered question" in text and "education" in text
    assert "unknown question id" in text


# --- drivers and the scorecard ----------------------------------------------------------


def test_drivers_logit_matches_statsmodels_formula_api(sim):
    merged = dsce.merge_accounts(sim.dsce, ("outcomes", sim.outcomes), ("customers", sim.customers))
    out = dsce.drivers(merged, adjust=ADJUST, outcomes=["churn"], churn_model="logit")
    # independent reference: the formula API with its own dummy coding on z-scored ratings
    df = merged.copy()
    for c in DSCE_COMPONENT_NAMES:
        df[c] = (df[c] - df[c].mean()) / df[c].std()
    df["y"] = df["churned"].astype(float)
    ref = smf.logit("y ~ " + " + ".join(DSCE_COMPONENT_NAMES) + " + C(touch_model) + C(segment)", df).fit(disp=0)
    est = out.set_index("component")
    for c in DSCE_COMPONENT_NAMES:
        assert est.loc[c, "estimate"] == pytest.approx(ref.params[c], rel=1e-6)
        assert est.loc[c, "p_value"] == pytest.approx(ref.pvalues[c], rel=1e-5)


def test_drivers_table_columns_and_holm_across_all_rows(sim):
    merged = dsce.merge_accounts(sim.dsce, ("outcomes", sim.outcomes), ("customers", sim.customers))
    out = dsce.drivers(merged, adjust=ADJUST)
    assert tuple(out.columns) == dsce.DRIVER_COLUMNS
    assert set(out["outcome"]) == {"churn", "expansion_any", "expansion_amount"}
    assert len(out) == 3 * len(DSCE_COMPONENT_NAMES)
    assert out["p_adjusted"].to_numpy() == pytest.approx(multipletests(out["p_value"], method="holm")[1])
    assert (out["ci_low"] < out["estimate"]).all() and (out["estimate"] < out["ci_high"]).all()
    ols = dsce.drivers(merged, adjust=ADJUST, outcomes=["expansion"], expansion_model="ols")
    assert set(ols["outcome"]) == {"expansion_revenue"}


def test_scorecard_writes_the_interface_tables(sim, tmp_path):
    sc = dsce.scorecard(sim.dsce, outcomes=sim.outcomes, customers=sim.customers, survey=sim.survey, weights="fitted",
                        segment_col="segment", arm_col="touch_model")
    paths = sc.write(tmp_path)
    scores = pd.read_csv(paths["dsce_scores"])
    assert scores["index"].tolist() == pytest.approx(scores["index_fitted"].tolist())
    assert {"index_equal", "index_fitted", "gap", "target_index"} <= set(scores.columns)
    seg = pd.read_csv(paths["dsce_segments"])
    assert tuple(seg.columns) == (*dsce.SEGMENT_COLUMNS, "suppressed")  # small-cell marker appended
    assert set(seg["group_col"]) == {"all", "segment", "touch_model"}
    drv = pd.read_csv(paths["dsce_drivers"])
    assert {"component", "outcome", "estimate", "ci_low", "ci_high", "p_value", "p_adjusted"} <= set(drv.columns)
    w = pd.read_csv(paths["dsce_weights"])
    assert w["fitted_weight"].sum() == pytest.approx(1.0) and w["equal_weight"].sum() == pytest.approx(1.0)
    # aggregates only outside dsce_scores.csv
    for name in ("dsce_segments", "dsce_drivers", "dsce_weights", "kpis"):
        text = paths[name].read_text()
        assert "C0000" not in text
    # the simulator's per-segment targets (target_<c> columns) flow into the gaps
    ent = seg[(seg.group == "enterprise") & (seg.component == "journey")].iloc[0]
    assert ent["target"] == pytest.approx(100.0)
    smb = seg[(seg.group == "smb") & (seg.component == "journey")].iloc[0]
    assert smb["target"] == pytest.approx(75.0)


def test_plots_return_axes_and_figures(sim):
    from engagement_kit.kpis import cohort_labels, proportion_by_group
    from engagement_kit.plots import dsce as pl

    sc = dsce.scorecard(sim.dsce, outcomes=sim.outcomes, customers=sim.customers, segment_col="segment", arm_col="touch_model")
    seg = sc.dsce_segments[sc.dsce_segments.group_col == "segment"]
    assert pl.radar(data=seg).name == "polar"
    assert pl.gap_heatmap(data=seg).get_title() == "Mean gap to the desired state by component and group (score points)"
    fig = pl.driver_forest(data=sc.dsce_drivers)
    assert len(fig.axes) == 3
    df = sim.outcomes.merge(sim.customers)
    df["cohort"] = cohort_labels(df)
    ax = pl.kpi_trend(data=proportion_by_group(df, "retained", ["cohort", "touch_model"]), hue="touch_model")
    assert len(ax.lines) == 3
    import matplotlib.pyplot as plt

    plt.close("all")


def test_drivers_reject_constant_components_and_unknown_models(sim):
    merged = dsce.merge_accounts(sim.dsce, ("outcomes", sim.outcomes), ("customers", sim.customers))
    with pytest.raises(ValueError, match="same rating for every account"):
        dsce.drivers(merged.assign(journey=3), adjust=ADJUST)
    with pytest.raises(ValueError, match="churn_model"):
        dsce.drivers(merged, adjust=ADJUST, outcomes=["churn"], churn_model="weibull")
    with pytest.raises(KeyError, match="touch_model"):
        dsce.drivers(merged.drop(columns=["touch_model"]), adjust=ADJUST)


def test_scorecard_stops_on_accounts_without_outcomes(sim):
    with pytest.raises(ValidationError, match="absent from outcomes"):
        dsce.scorecard(sim.dsce, outcomes=sim.outcomes.iloc[10:], customers=sim.customers)


# --- plain-language conclusions ------------------------------------------------------


def test_conclusions_name_largest_gap_and_true_churn_drivers(sim):
    from engagement_kit.frameworks import DSCE_COMPONENTS
    from engagement_kit.simulate import CHURN_COEF

    card = dsce.scorecard(sim.dsce, outcomes=sim.outcomes, customers=sim.customers, survey=sim.survey, weights="fitted",
                        segment_col="segment", arm_col="touch_model")
    text = dsce.conclusions(card, alpha=0.05)
    lines = text.splitlines()
    assert all(line.startswith("- ") for line in lines)
    # the component with the largest mean gap, computed here from the dsce_segments-style table
    seg = card.dsce_segments
    overall = seg[(seg.group_col == "all") & seg.component.isin(DSCE_COMPONENT_NAMES)]
    worst = overall.loc[overall["gap"].idxmax(), "component"]
    gap_line = next(line for line in lines if "Largest gap" in line)
    assert DSCE_COMPONENTS[worst].label in gap_line and f"{overall['gap'].max():.1f}" in gap_line
    # the true churn drivers of the simulation are named, with direction, when flagged
    true_churn = [k.removeprefix("dsce:") for k, v in CHURN_COEF.items() if k.startswith("dsce:") and v != 0]
    churn_line = next(line for line in lines if line.startswith("- **Churn:**"))
    drv = card.dsce_drivers[card.dsce_drivers.outcome == "churn"].set_index("component")
    flagged = [c for c in true_churn if drv.loc[c, "p_adjusted"] < 0.05]
    assert flagged, "at n=3000 the simulated churn drivers should be detected"
    for c in flagged:
        assert f"accounts rating {DSCE_COMPONENTS[c].label} higher churned less" in churn_line
    for c in drv.index[drv["p_adjusted"] >= 0.05]:
        assert DSCE_COMPONENTS[c].label not in churn_line
    # overall index with its CI, both groupings, fitted-vs-equal ranking, the caveat; no account ids
    all_index = seg[(seg.group_col == "all") & (seg.component == "index")].iloc[0]
    assert f"{all_index['score']:.1f} out of 100" in lines[0]
    assert any("By segment" in line for line in lines) and any("By touch model" in line for line in lines)
    assert any("Fitted weights" in line for line in lines)
    assert "observational" in lines[-1]
    assert not any(str(i) in text for i in sim.dsce["customer_id"].head(50))


def test_conclusions_never_raise_on_missing_pieces(sim):
    card = dsce.scorecard(sim.dsce, outcomes=sim.outcomes, customers=sim.customers, segment_col="segment", arm_col="touch_model")
    none_flagged = card.dsce_drivers.assign(p_adjusted=1.0)
    bare = dsce.Scorecard(card.dsce_scores, card.dsce_segments, none_flagged, card.dsce_weights[["component", "equal_weight"]],
                          card.kpis, "equal")
    text = dsce.conclusions(bare)
    assert "no component predicts churn after correction" in text
    assert "no component predicts expansion after correction" in text
    assert "Fitted weights" not in text
    empty = dsce.Scorecard(*(pd.DataFrame() for _ in range(5)), "equal")
    assert "observational" in dsce.conclusions(empty)
    assert "observational" in dsce.conclusions(object())
    broken = dsce.Scorecard(card.dsce_scores, card.dsce_segments.drop(columns=["gap"]), card.dsce_drivers.drop(columns=["estimate"]),
                            card.dsce_weights, card.kpis, "equal")
    assert dsce.conclusions(broken).startswith("- ")
