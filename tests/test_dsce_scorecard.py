"""The DSCE scorecard's one shape: a frozen result with tables/write/conclusions, skipped lines,
small-cell suppression, one validation path, and numbers equal to the building blocks."""

from __future__ import annotations

import dataclasses

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from engagement_kit import dsce
from engagement_kit.kpis import KPI_TABLE_COLUMNS, KPI_TREND_COLUMNS, cohort_labels, kpi_table, proportion_by_group
from engagement_kit.simulate import simulate
from engagement_kit.validation import ValidationError, validate

SCRIPT = "<script>alert(1)</script>"
ADJUST = ["touch_model", "segment"]


@pytest.fixture(scope="module")
def sim():
    return simulate(n_customers=1200, seed=7, truth=False, frameworks=[], include_types=False)


@pytest.fixture(scope="module")
def card(sim):
    return dsce.scorecard(sim.dsce, outcomes=sim.outcomes, customers=sim.customers, survey=sim.survey,
                          segment_col="segment", arm_col="touch_model")  # fmt: skip


@pytest.fixture(scope="module")
def hostile(sim):
    """Three accounts form a segment whose label is a script: a small cell with a hostile label."""
    customers = sim.customers.copy()
    customers.loc[customers.index[:3], "segment"] = SCRIPT
    return dsce.scorecard(sim.dsce, outcomes=sim.outcomes, customers=customers, survey=sim.survey,
                          segment_col="segment", arm_col="touch_model")  # fmt: skip


# --- the result ---------------------------------------------------------------------------


def test_result_is_frozen_and_publishes_its_tables_with_their_columns(card, tmp_path):
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.alpha = 0.1
    tables = card.tables()
    assert list(tables) == ["dsce_scores", "dsce_segments", "dsce_drivers", "dsce_weights", "kpis", "kpi_trend"]
    assert tuple(tables["dsce_drivers"].columns) == dsce.DRIVER_COLUMNS  # the published interface, exactly
    assert tuple(tables["dsce_segments"].columns) == (*dsce.SEGMENT_COLUMNS, "suppressed")
    assert tuple(tables["kpis"].columns) == (*KPI_TABLE_COLUMNS, "suppressed")
    assert tuple(tables["kpi_trend"].columns) == (*KPI_TREND_COLUMNS, "suppressed")
    assert list(tables["dsce_scores"].columns[:2]) == ["customer_id", "score_customer_intent"]
    assert card.ACCOUNT_LEVEL == ("dsce_scores",)
    paths = card.write(tmp_path)
    assert sorted(p.name for p in paths.values()) == sorted(f"{n}.csv" for n in tables)
    assert len(pd.read_csv(paths["dsce_scores"])) == 1200
    assert not list(tmp_path.glob(".*.tmp"))


def test_conclusions_are_a_method_and_match_the_module_function(card):
    text = card.conclusions()
    assert text == dsce.conclusions(card, 0.05)
    assert text.splitlines()[0].startswith("- **Overall index (equal weights):**")
    assert "after adjusting for touch\\_model, segment" in text


def test_a_small_segment_with_a_script_label_is_suppressed_named_escaped(hostile):
    seg = hostile.tables()["dsce_segments"]
    small = seg[seg["group"] == SCRIPT]
    assert len(small) and small["suppressed"].all()
    assert small[["n", "score", "gap", "score_ci_low"]].isna().all().all()  # marked and blanked
    assert not seg.loc[seg["group"] != SCRIPT, "suppressed"].any()
    kp = hostile.tables()["kpis"]
    assert kp.loc[kp["group"] == SCRIPT, "suppressed"].all() and kp.loc[kp["group"] == SCRIPT, "estimate"].isna().all()
    text = hostile.conclusions()
    assert SCRIPT not in text and "<script" not in text
    assert "&lt;script&gt;" in text and "fewer than 10 accounts" in text
    assert hostile.small_cell_note() in text
    # the account-level table is the only one with ids and is not suppressed
    assert hostile.tables()["dsce_scores"]["customer_id"].notna().all()


def test_min_cell_size_is_a_parameter(sim):
    customers = sim.customers.assign(segment=np.where(np.arange(len(sim.customers)) < 30, "tiny", "rest"))
    big = dsce.scorecard(sim.dsce, outcomes=sim.outcomes, customers=customers, segment_col="segment",
                         min_cell_size=50)  # fmt: skip
    seg = big.tables()["dsce_segments"]
    assert seg.loc[seg["group"] == "tiny", "suppressed"].all() and not seg.loc[seg["group"] == "rest", "suppressed"].any()
    with pytest.raises(ValueError, match="min_cell_size"):
        dsce.scorecard(sim.dsce, outcomes=sim.outcomes, min_cell_size=0)


# --- optional parts -------------------------------------------------------------------------


def test_optional_parts_skip_with_one_line_naming_the_parameter(sim):
    card = dsce.scorecard(sim.dsce, outcomes=sim.outcomes, weights_outcome="nothing")
    assert card.skipped == (
        "breakdown by arm skipped: set arm_col to a column of customers (customers_path)",
        "breakdown by segment skipped: set segment_col to a column of customers (customers_path)",
        "fitted weights skipped (weights_outcome='nothing'): the driver table has no rows for outcome 'nothing'; "
        "it has ['churn', 'expansion_amount', 'expansion_any']",
        "NPS and CSAT KPIs skipped: no survey (survey / survey_path)",
        "cost to serve skipped: no cost_to_serve column (customers / customers_path); CLV margins leave it out",
        "KPI trend by signup cohort skipped: no signup_date column (customers / customers_path)",
    )
    tables = card.tables()
    assert set(tables["dsce_segments"]["group_col"]) == {"all"} and set(tables["kpis"]["group_col"]) == {"all"}
    assert tables["kpi_trend"].empty and tuple(tables["kpi_trend"].columns) == (*KPI_TREND_COLUMNS, "suppressed")
    assert list(tables["dsce_weights"].columns) == ["component", "equal_weight"]
    assert "index_fitted" not in tables["dsce_scores"].columns
    assert card.adjusted_for == ()
    with pytest.raises(ValueError, match="no rows for outcome"):
        dsce.scorecard(sim.dsce, outcomes=sim.outcomes, weights="fitted", weights_outcome="nothing")


def test_a_grouping_column_the_customers_lack_is_an_error_naming_it(sim):
    with pytest.raises(ValidationError) as err:
        dsce.scorecard(sim.dsce, outcomes=sim.outcomes, customers=sim.customers, segment_col="region")
    (problem,) = err.value.problems
    assert (problem.table, problem.column, problem.code) == ("customers", "region", "missing_column")
    assert "segment_col=None" in problem.fix


# --- one validation path --------------------------------------------------------------------


def test_ratings_problems_and_scorecard_checks_share_one_error_type(sim):
    bad = sim.dsce.copy()
    bad.loc[bad.index[4], "journey"] = 9
    bad.loc[bad.index[6], "education"] = np.nan
    with pytest.raises(ValidationError) as err:
        dsce.scorecard(bad, outcomes=sim.outcomes)
    got = {(p.table, p.column, p.code, p.rows) for p in err.value.problems}
    assert got == {("dsce", "journey", "out_of_range", (5,)), ("dsce", "education", "missing_values", (7,))}
    assert "missing='reweight'" in str(err.value)
    card = dsce.scorecard(bad.assign(journey=bad["journey"].clip(upper=5)), outcomes=sim.outcomes, missing="reweight")
    assert card.dsce_scores["index"].notna().all()
    with pytest.raises(ValidationError) as err:
        dsce.scorecard(sim.dsce, outcomes=sim.outcomes.iloc[5:])
    (problem,) = err.value.problems
    assert (problem.table, problem.column, problem.code, problem.rows) == ("dsce", "customer_id", "unmatched_id",
                                                                          (1, 2, 3, 4, 5))  # fmt: skip


def test_the_dsce_contract_takes_a_subset_or_declared_components():
    df = pd.DataFrame({"customer_id": ["a", "b"], "journey": [3, np.nan], "education": [2, np.nan]})
    problems = validate(df, "dsce")
    assert [(p.column, p.code, p.rows) for p in problems] == [(None, "missing_values", (2,))]  # b: no rating at all
    assert [p.code for p in validate(df[["customer_id"]], "dsce")] == ["no_components"]
    own = pd.DataFrame({"customer_id": ["a"], "trust": [6.0]})
    assert [(p.column, p.code) for p in validate(own, "dsce", dsce_components=["trust"])] == [("trust", "out_of_range")]
    assert validate(own, "dsce", dsce_components=["trust"], dsce_range=(0, 10)) == []
    assert [(p.column, p.code) for p in validate(own, "dsce", dsce_components=["trust", "journey"])][0] == (
        "journey", "missing_column")


def test_scorecard_scores_the_components_the_table_has(sim):
    five = ["customer_intent", "product_adoption", "relationships", "education", "journey"]
    card = dsce.scorecard(sim.dsce[["customer_id", *five]], outcomes=sim.outcomes)
    assert card.components == tuple(five)
    assert set(card.dsce_drivers["component"]) == set(five)
    with pytest.raises(ValidationError, match="no component rating column"):
        dsce.scorecard(sim.dsce[["customer_id"]], outcomes=sim.outcomes)


# --- the numbers are the building blocks' --------------------------------------------------


def test_tables_equal_the_building_blocks(sim, card):
    merged = dsce.merge_accounts(sim.dsce, ("outcomes", sim.outcomes), ("customers", sim.customers))
    drv = dsce.drivers(merged, adjust=ADJUST)
    pd.testing.assert_frame_equal(card.dsce_drivers, drv)
    scores = dsce.dsce_index(merged[sim.dsce.columns])
    np.testing.assert_allclose(card.dsce_scores["index"], scores["index"])
    np.testing.assert_allclose(card.dsce_scores["gap"], scores["gap"])
    fw = dsce.fitted_weights(drv, outcome="churn")
    np.testing.assert_allclose(card.dsce_scores["index_fitted"], dsce.dsce_index(merged[sim.dsce.columns], weights=fw)["index"])
    grouped = card.dsce_scores.join(merged[ADJUST])
    seg = dsce.group_summary(grouped, group_cols=["segment", "touch_model"], index_cols=["index", "index_equal", "index_fitted"])
    pd.testing.assert_frame_equal(card.dsce_segments, seg)
    kdata = sim.outcomes.merge(sim.customers, on="customer_id", how="left").merge(sim.survey, on="customer_id", how="left")
    pd.testing.assert_frame_equal(card.kpis, kpi_table(kdata, ADJUST, 0.05))
    # the trend the notebook used to compute inline: retention by signup cohort x arm
    kdata["cohort"] = cohort_labels(kdata)
    trend = proportion_by_group(kdata, "retained", ["cohort", "touch_model"], 0.05, kpi="retention_rate")
    np.testing.assert_allclose(card.kpi_trend["estimate"], trend["estimate"])
    assert card.kpi_trend["group"].tolist() == trend["touch_model"].astype(str).tolist()


def test_plots_take_the_result(card, sim):
    import matplotlib.pyplot as plt

    from engagement_kit.plots import dsce as pl

    assert pl.radar(card).name == "polar"
    ax = pl.gap_heatmap(card)
    assert "Segment: smb" in [t.get_text() for t in ax.get_xticklabels()]
    assert "adjusted for touch_model, segment" in pl.driver_forest(card)._suptitle.get_text()
    assert len(pl.kpi_trend(card).lines) == 3
    bare = dsce.scorecard(sim.dsce, outcomes=sim.outcomes)
    assert pl.radar(bare).name == "polar" and pl.kpi_trend(bare).texts  # no trend: a panel that says so
    plt.close("all")


def test_questionnaire_problems_are_validation_errors():
    sheet = dsce.questionnaire_template(["A1"]).assign(rating=3.0)
    sheet.loc[0, "component"] = "vibes"
    with pytest.raises(ValidationError) as err:
        dsce.validate_answers(sheet)
    assert ("answers", "component", "unknown_label") in {(p.table, p.column, p.code) for p in err.value.problems}
