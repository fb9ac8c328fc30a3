"""The experiment's one entry point: ``experiments.experiment`` -> ``ExperimentResult``.

Its tables equal the building blocks called directly (the statistics are theirs), its
interface is the shared one (tables, write, escaped Markdown conclusions, skipped lines),
optional parts skip on absent columns, and small cells are suppressed and marked.
"""

from __future__ import annotations

import re

import dataclasses
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

from engagement_kit import experiments as ex
from engagement_kit.markdown import escape

matplotlib.use("Agg")

METRICS = {"y": "binary", "rev": "continuous", "score": "nps", "churn": ["time_to_event", "t", "e"]}
SUFFICIENT = {"y": "binary", "rev": "continuous", "score": "nps"}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    """Three arms, two segments, a covariate, a cost column and every metric kind the notebook uses."""
    rng = np.random.default_rng(7)
    n = 1800
    arm = rng.choice(["ctl", "v1", "v2"], n)
    lift = pd.Series(arm).map({"ctl": 0.0, "v1": 0.1, "v2": 0.2}).to_numpy()
    x = rng.normal(50, 10, n)
    return pd.DataFrame({
        "arm": arm,
        "seg": rng.choice(["north", "south"], n),
        "x": x,
        "y": (rng.random(n) < 0.3 + lift).astype(int),
        "rev": rng.gamma(2.0, 10.0, n) + 0.5 * x + 10 * lift,
        "score": rng.integers(0, 11, n),
        "cost": rng.gamma(2.0, 1.0, n) + 3 * lift,
        "t": rng.exponential(50 / (1 + lift), n).round(1) + 0.1,
        "e": (rng.random(n) < 0.8).astype(int),
        "joined": np.sort(rng.uniform(0, 100, n)),  # assignment time, for the monitoring part
    })


def _run(data, **kw):
    args = dict(arm_col="arm", control="ctl", metrics=METRICS, covariates=["x"], segment_col="seg", cost_col="cost",
                value_metric="rev", seed=3, time_col="joined", looks=5)
    return ex.experiment(data, **{**args, **kw})


@pytest.fixture(scope="module")
def result(data):
    return _run(data)


def _same(table: pd.DataFrame, expected: pd.DataFrame) -> None:
    got = table.drop(columns=[c for c in ("suppressed",) if c in table])
    pd.testing.assert_frame_equal(got[list(expected.columns)].reset_index(drop=True),
                                  expected.reset_index(drop=True), check_dtype=False)


def test_tables_equal_the_building_blocks(data, result):
    t = result.tables()
    common = dict(arm_col="arm", control="ctl")
    _same(t["effects"], ex.analyze(data, metrics=METRICS, covariates=["x"], **common))
    _same(t["srm"], ex.srm(data, arm_col="arm"))
    _same(t["balance"], ex.balance(data, covariates=["x"], **common))
    _same(t["segments"], ex.segment_effects(data, metrics=SUFFICIENT, segment_col="seg", covariates=["x"], **common))
    _same(t["interaction"], ex.interaction_test(data, metrics=SUFFICIENT, segment_col="seg", **common))
    _same(t["value"], ex.value(data, revenue="rev", cost_col="cost", segment_col="seg", seed=3, **common))
    _same(t["power"], ex.power_table(data, metrics=SUFFICIENT, **common))
    _same(t["bayes"], ex.bayes(data, metrics=SUFFICIENT, seed=3, **common))
    _same(t["survival"], ex.survival_tests(data, duration="t", event="e", metric="churn", **common))
    _same(t["sequential"], ex.sequential(data, metrics=SUFFICIENT, time_col="joined", looks=5, covariates=["x"],
                                         **common).tables()["sequential"].drop(columns="suppressed"))  # fmt: skip
    assert result.skipped == () and result.design_warnings == ()


def test_tables_have_the_interface_columns_first_and_write_every_csv(result, tmp_path):
    t = result.tables()
    assert list(t) == list(ex.ExperimentResult.COLUMNS)
    for name, cols in ex.ExperimentResult.COLUMNS.items():
        assert list(t[name].columns)[: len(cols)] == cols, name
    assert list(t["value"].columns)[-2:] == ["n_control", "suppressed"]
    paths = result.write(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.csv" for n in t)
    assert list(pd.read_csv(paths["effects"]).columns) == list(t["effects"].columns)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.alpha = 0.1


def test_optional_parts_skip_with_one_line_naming_their_parameter(data, tmp_path):
    bare = data[["arm", "y", "rev"]]
    r = _run(bare, metrics={"y": "binary", "rev": "continuous"}, covariates=["prior_revenue"], segment_col="segment",
             cost_col="cost_to_serve", value_metric="revenue")
    text = "\n".join(r.skipped)
    for part, parameter in (("CUPED and balance", "covariates"), ("segments and interaction", "segment_col"),
                            ("value", "value_metric"), ("survival", "metrics"), ("monitoring", "time_col")):
        assert any(s.startswith(f"{part}: skipped") and parameter in s for s in r.skipped), (part, text)
    assert len(r.skipped) == 5
    written = r.write(tmp_path)
    assert pd.read_csv(written["balance"]).empty and list(pd.read_csv(written["balance"]).columns)[0] == "covariate"
    none = _run(bare, metrics={"y": "binary"}, covariates=None, segment_col=None, cost_col=None, value_metric=None,
                time_col=None)  # fmt: skip
    assert {s.split(":")[0] for s in none.skipped} == {"CUPED and balance", "segments and interaction", "value",
                                                       "survival", "monitoring"}
    # a value column there but no cost: value names cost_col; some covariates absent: the rest are used
    r = _run(data.drop(columns=["cost"]), covariates=["x", "ghost"])
    assert any(s.startswith("value: skipped") and "cost_col 'cost'" in s for s in r.skipped)
    assert any("['ghost']" in s and "left out" in s for s in r.skipped)
    assert set(r.tables()["balance"]["covariate"]) == {"x"}


def test_missing_required_columns_fail_with_the_closest_names(data):
    with pytest.raises(ValueError, match=r"arm_col 'amr' \(closest: 'arm'\)"):
        _run(data, arm_col="amr")
    with pytest.raises(ValueError, match=r"metric column 'revenue' \(closest: 'rev'\)"):
        _run(data, metrics={"revenue": "continuous"})
    with pytest.raises(ValueError, match="control label 'control' is not an arm"):
        _run(data, control="control")


def test_labels_are_escaped_in_the_conclusions(data):
    evil = "<script>alert(1)</script>"
    d = data.assign(arm=data["arm"].replace({"v2": evil}), seg=data["seg"].replace({"south": "*VIP*"}))
    text = _run(d, metrics={"y": "binary", "rev": "continuous"}).conclusions()
    assert evil not in text and "<script>" not in text and escape(evil) in text
    assert "Value (\\*VIP\\*)" in text
    assert text.startswith("- ")


def test_design_warnings_are_data_and_lead_the_conclusions(data):
    lopsided = pd.concat([data, data[data["arm"] == "v1"]], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ex.DesignWarning)
        r = _run(lopsided, metrics={"y": "binary"})
    assert len(r.design_warnings) == 1 and "SAMPLE RATIO MISMATCH" in r.design_warnings[0]
    assert r.conclusions().startswith("- **Warning:** sample ratio mismatch")


def test_a_small_segment_is_suppressed_and_marked(data):
    rng = np.random.default_rng(1)
    tiny = data.sample(9, random_state=2).assign(seg="tiny", arm=["ctl", "v1", "v2"] * 3,
                                                 y=[0, 1, 1, 1, 0, 1, 0, 1, 0], rev=rng.gamma(2.0, 10.0, 9))
    r = _run(pd.concat([data, tiny], ignore_index=True), metrics={"y": "binary", "rev": "continuous"})
    t = r.tables()
    seg = t["segments"]
    small = seg[seg["segment"] == "tiny"]
    assert len(small) == 2 * 2 * 2  # 2 metrics x 2 arms x (plain, cuped): marked, not dropped
    assert small["suppressed"].all() and small["diff"].isna().all() and small["n_arm"].isna().all()
    assert small["metric"].notna().all() and small["arm"].notna().all()  # labels kept
    assert not seg.loc[seg["segment"] != "tiny", "suppressed"].any()
    assert seg.loc[seg["segment"] != "tiny", "diff"].notna().all()
    val = t["value"]
    assert val.loc[val["segment"] == "tiny", "suppressed"].all()
    assert val.loc[val["segment"] == "tiny", "value_per_customer"].isna().all()
    assert not val.loc[val["segment"] != "tiny", "suppressed"].any()
    note = r.small_cell_note()
    assert note and note in r.conclusions() and "fewer than 10 people" in note
    assert "Value (tiny)" not in r.conclusions()


def test_a_small_arm_is_suppressed_in_every_table_and_the_km_curves_merge(data):
    rare = data.sample(4, random_state=3).assign(arm="rare")
    r = _run(pd.concat([data, rare], ignore_index=True), segment_col=None,
             metrics={"y": "binary", "rev": "continuous", "churn": ["time_to_event", "t", "e"]})
    t = r.tables()
    for name in ("effects", "bayes", "survival", "value"):
        rows = t[name][t[name]["arm"] == "rare"]
        assert len(rows) and rows["suppressed"].all() and rows["control"].eq("ctl").all(), name
        assert not t[name].loc[t[name]["arm"] == "v1", "suppressed"].any(), name
    assert t["srm"].set_index("arm").loc["rare", "suppressed"]
    bal = t["balance"]
    assert bal.loc[bal["arm"] == "rare", "suppressed"].all() and bal.loc[bal["arm"] == "rare", "mean_arm"].isna().all()
    assert not bal.loc[bal["arm"] != "rare", "suppressed"].any() and not t["power"]["suppressed"].any()
    assert "rare" not in set(r.km["group"])  # 4 customers: no curve on merged steps
    assert r.km.groupby(["metric", "group"])["n_events"].min().min() >= 10
    assert "rare" not in r.conclusions()  # no finding is stated about a suppressed comparison
    assert not re.search(r"\b0 in", r.small_cell_note())  # only tables with suppressed rows are named


def test_a_small_control_suppresses_the_power_rows_built_on_its_baseline(data):
    d = pd.concat([data[data["arm"] != "ctl"], data[data["arm"] == "ctl"].head(5)], ignore_index=True)
    t = _run(d, metrics={"y": "binary", "rev": "continuous"}, segment_col=None).tables()
    assert t["power"]["suppressed"].all() and t["power"]["baseline"].isna().all()
    assert t["effects"]["suppressed"].all() and t["balance"]["suppressed"].all()
    assert _run(d, metrics={"y": "binary"}, segment_col=None).power_curve().empty


def test_an_unestimable_segment_analysis_is_skipped_not_fatal(data):
    one = data.iloc[:1].assign(seg="solo")
    r = _run(pd.concat([data, one], ignore_index=True), metrics={"y": "binary"})
    assert r.segments is None and r.interaction is None
    assert any(s.startswith("segments and interaction: skipped") and "solo" in s for s in r.skipped)


def test_power_curve_is_the_power_table_first_metric_on_its_own_scale(data, result):
    # the notebook used to rebuild this from the power table (NPS shown in points, /100 back)
    r = _run(data, metrics={"score": "nps", "y": "binary"})
    first = r.tables()["power"].iloc[0]
    assert first["metric"] == "score"
    base, sd = first["baseline"] / 100, first["sd"] / 100
    expected = ex.power_curve("continuous", baseline=base, sd=sd, mdes=[abs(base) * 0.05, abs(base) * 0.1],
                              n_arms=3, n_metrics=2)
    pd.testing.assert_frame_equal(r.power_curve().drop(columns="metric"), expected)
    assert set(result.power_curve("y")["metric"]) == {"y"}


def test_plot_helpers_take_the_result(result, data):
    from engagement_kit.plots import experiments as explots

    fig = explots.forest_plot(result)
    # one panel per metric with its own axis (issue #17): 2 arms x (plain, cuped) rows for each mean
    # metric, and the hazard ratios of the time-to-event metric on a log axis of their own
    assert [len(a.get_yticklabels()) for a in fig.axes] == [2 * 2] * 3 + [2]
    assert len({a.get_title() for a in fig.axes}) == 4
    assert fig.axes[-1].get_xscale() == "log" and fig.axes[-1].get_xlabel().startswith("hazard ratio")
    assert explots.value_plot(result).get_title().startswith("Value")
    assert explots.power_curve_plot(result).get_title() == "Power for y (5 % and 10 % relative MDE)"
    assert len(explots.km_plot(result).get_lines()) == 3
    bare = _run(data[["arm", "y"]], metrics={"y": "binary"})
    assert explots.value_plot(bare) is None and explots.km_plot(bare) is None
    import matplotlib.pyplot as plt

    plt.close("all")


def test_monitoring_looks_are_the_earlier_looks_plus_the_data_end(data):
    """A scheduled batch passes the times of the looks taken so far; the data's last time is
    always the final look, and looks at or after it are dropped."""
    r = _run(data, looks=[20.0, 60.0, 500.0])
    seq = r.tables()["sequential"]
    assert sorted(seq["look"].unique()) == [1, 2, 3]
    assert seq["time"].max() == pytest.approx(data["joined"].max())
    assert "fixed-horizon" in r.conclusions() and "Monitoring with the confidence sequence" in r.conclusions()
    assert set(seq["decision"]) <= {"continue", "stop: better", "stop: worse"}


def test_monitoring_reads_times_written_as_text_and_skips_what_is_not_a_time(data):
    """A CSV holds assignment times as text: they are parsed; text that is no time skips
    monitoring with one line naming time_col instead of failing the run."""
    as_text = data.assign(joined=(pd.Timestamp("2025-01-06") + pd.to_timedelta(data["joined"], unit="h"))
                          .dt.strftime("%Y-%m-%d %H:%M:%S"))  # fmt: skip
    r = _run(as_text, looks=4)
    assert r.tables()["sequential"]["look"].nunique() == 4
    r = _run(data.assign(joined="soon"))
    assert r.sequential is None and any("time_col 'joined'" in s and "not dates" in s for s in r.skipped)
