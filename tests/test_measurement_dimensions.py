"""``measurement.dimensions``: one call, one frozen result; its tables equal the building
blocks' (reliability, cfa, measurement_invariance, scale_means, test_hypotheses,
mediation_table), optional parts skip with a line naming their parameter, small groups are
suppressed and marked, and the conclusions escape every label."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from survey_helpers import SCALES, three_factor_survey

from engagement_kit import measurement
from engagement_kit.hypotheses import (
    default_hypotheses,
    mediation_table,
    test_hypotheses,
)
from engagement_kit.measurement import (
    DimensionsResult,
    cfa,
    measurement_invariance,
    reliability,
    scale_means,
    score_scales,
)
from engagement_kit.measurement.factors import FIT_COLUMNS, ROBUST_FIT_COLUMNS

LIKERT = {"likert_min": 1, "likert_max": 5}


def _with_groups(n: int = 600, seed: int = 1) -> pd.DataFrame:
    data, f = three_factor_survey(n, seed)
    rng = np.random.default_rng(seed)
    data["wave"] = rng.choice(["w1", "w2"], n)
    data["arm"] = rng.choice(["ctrl", "a", "b"], n)
    data["buy"] = (f[:, 0] + rng.normal(size=n) > 0).astype(int)
    return data


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    return _with_groups()


@pytest.fixture(scope="module")
def full(survey) -> DimensionsResult:
    return measurement.dimensions(survey, scales=SCALES, **LIKERT, outcomes=["buy"], group_col="wave", arm_col="arm",
                                  control="ctrl", n_boot=200, seed=3)


def test_tables_equal_the_building_blocks(survey, full):
    t = full.tables()
    rel, items = reliability(survey, scales=SCALES, **LIKERT)
    assert_frame_equal(t["reliability"], rel)
    assert_frame_equal(t["item_statistics"], items)
    fit = cfa(survey, scales=SCALES, **LIKERT)
    assert_frame_equal(t["cfa_fit"], fit.fit)
    assert t["cfa_fit"].loc[0, "estimator"] == "ml"  # the appended robust columns are NaN for ML
    assert_frame_equal(t["loadings"], fit.loadings)
    assert_frame_equal(t["validity"], fit.validity)
    inv = measurement_invariance(survey, scales=SCALES, group_col="wave", **LIKERT)
    assert_frame_equal(t["invariance"].drop(columns="suppressed"), inv)
    scores = score_scales(survey, scales=SCALES, **LIKERT, keep=["wave", "arm", "buy"])
    assert_frame_equal(t["scale_means"].drop(columns="suppressed"),
                       scale_means(scores, scales=list(SCALES), group_col="wave"))
    hyps = default_hypotheses(scores.columns, dimensions=list(SCALES), arm_col="arm", control="ctrl")
    assert_frame_equal(t["hypotheses"].drop(columns="suppressed"), test_hypotheses(scores, hypotheses=hyps))
    specs = [{"treatment": "arm", "mediator": s, "outcome": "buy", "control": "ctrl"} for s in SCALES]
    assert_frame_equal(t["mediation"].drop(columns="suppressed"),
                       mediation_table(scores, specs=specs, n_boot=200, seed=3))
    assert set(t["hypotheses"]["term"]) == {"arm[a]", "arm[b]"}  # ctrl is the reference
    assert full.skipped == ()


def test_result_is_frozen_and_writes_every_table(full, tmp_path):
    with pytest.raises(dataclasses.FrozenInstanceError):
        full.alpha = 0.1  # type: ignore[misc]
    paths = full.write(tmp_path)
    assert sorted(paths) == sorted(DimensionsResult.COLUMNS)
    # a published interface: the original columns first, unchanged; the robust ones appended (issue #15)
    assert list(pd.read_csv(tmp_path / "cfa_fit.csv").columns) == FIT_COLUMNS + ROBUST_FIT_COLUMNS
    for name, cols in DimensionsResult.COLUMNS.items():
        assert list(pd.read_csv(paths[name]).columns)[: len(cols)] == cols, name
    assert list(pd.read_csv(tmp_path / "efa_loadings.csv")["item"]) == [i for its in SCALES.values() for i in its]
    assert pd.read_csv(tmp_path / "efa.csv")["n_factors"].iloc[0] == 3


def test_conclusions_name_each_part(full):
    text = full.conclusions()
    for part in ("Reliability", "Factor structure (CFA)", "Discriminant validity", "Measurement invariance",
                 "Hypotheses", "Mediation"):
        assert f"**{part}" in text, part
    assert "scalar level reached" in text and "Holm-adjusted" in text
    assert "Small cells" not in text and "Not run" not in text


def test_minimal_call_skips_each_optional_part_naming_its_parameter():
    data, _ = three_factor_survey(300, seed=2)
    res = measurement.dimensions(data, scales=SCALES, likert_min=None, likert_max=None, group_col="nope",
                                 outcomes=["missing"], covariates=["gone"], arm_col="absent")
    lines = "\n".join(res.skipped)
    for param in ("(group_col)", "(outcomes)", "(covariates)", "(arm_col)", "hypotheses: skipped",
                  "mediation: skipped", "(likert_min, likert_max)"):
        assert param in lines, param
    t = res.tables()
    assert t["invariance"].empty and t["hypotheses"].empty and t["mediation"].empty
    assert list(t["invariance"].columns) == (measurement.INVARIANCE_COLUMNS + measurement.INVARIANCE_ROBUST_COLUMNS
                                             + ["suppressed"])
    assert t["scale_means"]["group"].unique().tolist() == ["all"]
    assert "Not run: mediation: skipped" in res.conclusions()


def test_a_group_of_three_is_suppressed_and_left_out_of_invariance(survey):
    data = survey.copy()
    data.loc[:2, "wave"] = "tiny"
    res = measurement.dimensions(data, scales=SCALES, **LIKERT, group_col="wave", min_cell_size=10)
    means = res.tables()["scale_means"]
    tiny = means[means["group"] == "tiny"]
    assert len(tiny) == 3 and tiny["suppressed"].all()
    assert tiny[["n", "mean", "sd"]].isna().all().all()
    assert not means.loc[means["group"] != "tiny", "suppressed"].any()
    inv = measurement_invariance(data[data["wave"] != "tiny"], scales=SCALES, group_col="wave", **LIKERT)
    assert_frame_equal(res.tables()["invariance"].drop(columns="suppressed"), inv)
    assert any("left out (min_cell_size)" in s for s in res.skipped)
    assert "**Small cells:** 3 row(s)" in res.conclusions()


def test_labels_are_escaped_in_the_conclusions(survey):
    evil = "<script>alert(1)</script>"
    scales = {evil: SCALES["sat"], "*loy*": SCALES["loy"], "tru": SCALES["tru"]}
    group = "<script>group</script>"
    data = survey.rename(columns={"wave": group})
    res = measurement.dimensions(data, scales=scales, **LIKERT, group_col=group, arm_col="arm", control="ctrl",
                                 outcomes=["buy"], mediation=[])
    text = res.conclusions()
    assert "<script>" not in text and "&lt;script&gt;alert" in text and "&lt;script&gt;group" in text
    assert "\\*loy\\*" in text


def test_bad_parameters_are_clear_errors(survey):
    with pytest.raises(ValueError, match="correction must be one of"):
        measurement.dimensions(survey, scales=SCALES, **LIKERT, correction="bh")
    with pytest.raises(ValueError, match="min_cell_size"):
        measurement.dimensions(survey, scales=SCALES, **LIKERT, min_cell_size=0)
    with pytest.raises(ValueError, match="pass scales="):
        measurement.dimensions(survey, **LIKERT)


def test_plots_take_the_result_and_save_the_parts_that_ran(full, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from engagement_kit.plots import measurement as mp

    assert sorted(p.name for p in mp.save_figures(full, tmp_path / "all").values()) == [
        "hypotheses.png", "item_distributions.png", "loadings.png", "mediation.png"]
    ax = mp.item_distributions(full)
    assert len(ax.patches) == 9 * 5  # nine items, five answer levels
    assert mp.correlation_heatmap(full).get_title().startswith("Correlations between the items")
    data, _ = three_factor_survey(300, seed=2)
    bare = measurement.dimensions(data, scales=SCALES, **LIKERT)
    assert sorted(mp.save_figures(bare, tmp_path / "bare")) == ["item_distributions", "loadings"]
    assert "not run" in mp.hypothesis_forest(bare).texts[0].get_text()
    assert "not run" in mp.mediation_diagram(bare).texts[0].get_text()
    plt.close("all")


def test_dimensions_passes_estimator_and_missing_to_cfa_and_invariance(survey):
    import numpy as np

    data = survey.copy()
    items = [i for its in SCALES.values() for i in its]
    x = data[items].to_numpy(dtype=float).copy()
    x[np.random.default_rng(4).random(x.shape) < 0.05] = np.nan
    data[items] = x
    res = measurement.dimensions(data, scales=SCALES, group_col="wave", estimator="mlr", missing="fiml", n_boot=200, **LIKERT)
    t = res.tables()
    assert_frame_equal(t["cfa_fit"], cfa(data, scales=SCALES, estimator="mlr", missing="fiml", **LIKERT).fit)
    inv = measurement_invariance(data, scales=SCALES, group_col="wave", estimator="mlr", missing="fiml", **LIKERT)
    assert_frame_equal(t["invariance"].drop(columns="suppressed"), inv)
    assert t["cfa_fit"]["n"].iloc[0] == len(data)
    kinds = t["modification_indices"]["kind"]
    assert (kinds.iloc[:20] != "equality constraint").all() and (kinds.iloc[20:] == "equality constraint").all()
    assert len(kinds) > 20  # the scalar model's constraints follow the CFA's top 20
    assert "Missing answers" in res.conclusions() and "Yuan-Bentler" in res.conclusions()
    with pytest.raises(ValueError, match="estimator must be one of"):
        measurement.dimensions(data, scales=SCALES, estimator="gls", **LIKERT)


@pytest.mark.parametrize(
    ("options", "parameter", "words"),
    [({"estimator": "gls"}, "estimator", "one of ml, mlm, mlr, wlsmv"),
     ({"estimator": 3}, "estimator", "not 3"),
     ({"missing": "pairwise"}, "missing", "missing must be one of"),
     ({"estimator": "WLSMV", "missing": "fiml"}, "missing", "reads complete rows only"),
     ({"ordinal_items": True, "missing": "fiml"}, "missing", "reads complete rows only"),
     ({"estimator": "mlm", "missing": "fiml"}, "missing", "needs complete data"),
     ({"ordinal_items": ["nope"]}, "ordinal_items", "['nope'] are not items"),
     ({"ordinal_items": {"a": 1}}, "ordinal_items", "a list of item columns"),
     ({"estimator": "wlsmv", "ordinal_items": ["sat_a"]}, "estimator", "needs every CFA item ordinal"),
     ({"estimator": "wlsmv", "ordinal_items": False}, "estimator", "needs every CFA item ordinal")],
)  # fmt: skip
def test_option_problems_are_what_dimensions_refuses_before_any_fit(options, parameter, words):
    """One rule set: the report batch's preflight shows dimensions_option_problems, and
    dimensions() raises exactly those (fast: before any fit)."""
    from engagement_kit.measurement.analysis import dimensions_option_problems

    items = [i for its in SCALES.values() for i in its]
    problems = dimensions_option_problems(**options, items=items)
    assert [p for p, _ in problems] == [parameter] and words in problems[0][1]
    with pytest.raises(ValueError) as caught:
        measurement.dimensions(three_factor_survey(n=50, seed=3)[0], scales=SCALES, **LIKERT, **options)
    assert str(caught.value) == problems[0][1]


def test_option_problems_accept_what_dimensions_fits():
    from engagement_kit.measurement.analysis import dimensions_option_problems

    items = [i for its in SCALES.values() for i in its]
    for options in ({}, {"estimator": "MLR", "missing": "fiml"}, {"ordinal_items": True}, {"ordinal_items": "all"},
                    {"ordinal_items": items[:2]}, {"estimator": "wlsmv"}, {"estimator": "wlsmv", "ordinal_items": items}):
        assert dimensions_option_problems(**options, items=items) == [], options
    assert dimensions_option_problems(ordinal_items=["anything"]) == []  # items unknown: left to dimensions()
