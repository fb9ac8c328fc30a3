"""The journeys entry point: ``journey(...)`` returns a frozen JourneyResult whose tables equal the
building blocks, skip what the data does not allow with one line each, suppress small cells and
escape labels in the conclusions."""

from __future__ import annotations

import dataclasses

import matplotlib
import numpy as np
import pandas as pd
import pytest

from engagement_kit import journeys as J
from engagement_kit.stats.survival import kaplan_meier

matplotlib.use("Agg")

STAGES = ["acquisition", "activation", "retention", "referral", "revenue"]
SCRIPT = "<script>alert(1)</script>"


def make_tables(n: int = 900, seed: int = 7, tiny: int = 3):
    """customers (arm ``variant``: ctl, v1 and a ``tiny`` arm of ``tiny`` people; a segment), an AARRR
    event log (v1 moves on more often) and outcomes (churn_time, churned, revenue, referrals)."""
    rng = np.random.default_rng(seed)
    ids = [f"u{i:04d}" for i in range(1, n + 1)]
    arm = np.array(["ctl", "v1"] * (n // 2) + ["ctl"] * (n % 2), dtype=object)
    arm[:tiny] = "tiny"
    signup = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 180, n), unit="D")
    customers = pd.DataFrame({"customer_id": ids, "variant": arm, "signup_date": signup.normalize(),
                              "region": rng.choice(["north", "south"], n)})  # fmt: skip
    rows = []
    for i, (cid, a) in enumerate(zip(ids, arm, strict=True)):
        p = 0.7 if a == "v1" else 0.55
        k = 1 + int(np.sum(np.cumprod(rng.random(4) < p)))
        rows += [{"customer_id": cid, "timestamp": signup[i] + pd.Timedelta(days=2 * j + 1), "framework": "aarrr",
                  "stage": STAGES[j]} for j in range(k)]  # fmt: skip
    events = pd.DataFrame(rows)
    t = rng.exponential(np.where(arm == "v1", 500, 300))
    outcomes = pd.DataFrame({"customer_id": ids, "churn_time": np.minimum(t, 365.0).round(1), "churned": t < 365,
                             "revenue": rng.gamma(2, 50, n), "referrals": rng.poisson(0.4, n)})  # fmt: skip
    return events, customers, outcomes


@pytest.fixture(scope="module")
def tables():
    return make_tables()


@pytest.fixture(scope="module")
def full(tables):
    ev, cu, out = tables
    return J.journey(ev, framework="aarrr", customers=cu, outcomes=out, arm_col="variant", control="ctl",
                     segment_col="region", cohort_period="M", n_periods=6)  # fmt: skip


def test_tables_have_their_interface_columns_and_write_atomically(full, tmp_path):
    t = full.tables()
    assert list(t) == ["quality", *[k for k in J.TABLE_COLUMNS if k != "quality"]]
    for name, cols in J.TABLE_COLUMNS.items():
        assert list(t[name].columns[: len(cols)]) == cols, name
        assert "customer_id" not in t[name].columns
    paths = full.write(tmp_path / "out")
    assert sorted(p.name for p in paths.values()) == sorted(f"{k}.csv" for k in J.TABLE_COLUMNS)
    f = pd.read_csv(paths["funnel"])
    assert list(f.columns[: len(J.FUNNEL_COLUMNS)]) == J.FUNNEL_COLUMNS and f.columns[-1] == "suppressed"
    assert not list(tmp_path.glob("out/.*"))  # no temporary file left behind
    with pytest.raises(dataclasses.FrozenInstanceError):
        full.framework = "laer"  # type: ignore[misc]


def test_numbers_equal_the_building_blocks(tables, full):
    ev, cu, out = tables
    eng = J.Engine()
    eng.register("events", ev)
    eng.register("customers", cu)
    eng.register("outcomes", out)
    f = J.funnel(eng, framework="aarrr", arm_col="variant", control="ctl")
    pd.testing.assert_frame_equal(full.funnel, f.funnel)
    pd.testing.assert_frame_equal(full.funnel_tests[f.tests.columns], f.tests)
    same = {
        "stage_times": J.time_to_next_stage(eng, framework="aarrr", arm_col="variant"),
        "transitions": J.transitions(eng, framework="aarrr", arm_col="variant"),
        "top_paths": J.top_paths(eng, framework="aarrr", arm_col="variant", top=5),
        "cohorts": J.retention_cohorts(eng, arm_col="variant", n_periods=6),
        "kpis": J.lifecycle_kpis(eng, arm_col="variant"),
    }
    for name, ref in same.items():
        pd.testing.assert_frame_equal(getattr(full, name).reset_index(drop=True), ref.reset_index(drop=True))
    d = eng.customer_table(["churn_time", "churned", "region"], arm_col="variant")
    churn = J.churn_survival(d, arm_col="arm", control="ctl", group_cols=["region"], source="outcomes").to_pandas()
    s = full.survival
    for kind in ("median_lifetime", "logrank", "cox_hr"):
        pd.testing.assert_frame_equal(s[s["kind"] == kind].reset_index(drop=True),
                                      churn[churn["kind"] == kind].reset_index(drop=True))  # fmt: skip
    # published rows: the unsuppressed funnel rows are the building block's numbers
    pub = full.tables()["funnel"]
    keep = ~pub["suppressed"]
    np.testing.assert_allclose(pub.loc[keep, "rate_from_start"], f.funnel.loc[keep.to_numpy(), "rate_from_start"])


def test_kaplan_meier_is_published_on_merged_steps_with_exact_survival(tables, full):
    ev, cu, out = tables
    km = full.tables()["survival"].query("kind == 'km'")
    assert (km["n_events"] >= 10).all() and (km["n_at_risk"] >= 10).all()
    assert not km["suppressed"].any()
    d = out.merge(cu, on="customer_id").rename(columns={"variant": "arm"})
    for g in ("ctl", "v1"):
        raw = kaplan_meier(d[d["arm"] == g], "churn_time", "churned").set_index("time")["survival"]
        pub = km[(km["group_col"] == "arm") & (km["group"] == g)]
        assert len(pub) < len(raw)  # coarser ...
        np.testing.assert_allclose(pub["estimate"], raw.loc[pub["time"]].to_numpy())  # ... but exact
    assert "tiny" not in set(km["group"])  # an arm of 3 people has no curve


def test_an_arm_of_three_people_is_marked_and_blanked_everywhere(full):
    t = full.tables()
    for name, col in (("funnel", "n_reached"), ("funnel_tests", "n_arm"), ("cohorts", "n_eligible"),
                      ("kpis", "n"), ("stage_times", "n"), ("transitions", "n")):  # fmt: skip
        tiny = t[name][t[name]["arm"] == "tiny"]
        assert len(tiny) and tiny["suppressed"].all(), name
        assert tiny[col].isna().all(), name
        big = t[name][t[name]["arm"] == "v1"]
        assert big[col].notna().any(), name
    med = t["survival"].query("kind == 'median_lifetime' and group == 'tiny'")
    assert med["suppressed"].all() and med["n"].isna().all()
    note = full.small_cell_note()
    assert note and "fewer than 10 people" in full.conclusions()
    assert not full.loops()["n"].dropna().lt(10).any()


def test_conclusions_escape_labels(tables):
    ev, cu, out = tables
    cu = cu.assign(variant=cu["variant"].replace({"v1": SCRIPT}))
    res = J.journey(ev, framework="aarrr", customers=cu, outcomes=out, arm_col="variant", control="ctl")
    text = res.conclusions()
    assert SCRIPT not in text and "<script" not in text and "&lt;script&gt;" in text
    assert "vs ctl" in text and "Churn by **arm**" in text


def test_events_alone_skip_arms_cohorts_outcome_kpis_and_churn(tables):
    ev, _, _ = tables
    res = J.journey(ev, framework="aarrr", arm_col="touch_model", control="no_touch", segment_col="segment")
    lines = "\n".join(res.skipped)
    assert "arm_col 'touch_model' needs a customers table" in lines
    for part, param in (("Cohorts skipped", "customers_path"), ("Outcome KPIs", "outcomes_path"),
                        ("Churn (survival) skipped", "churn_path")):  # fmt: skip
        line = next(x for x in res.skipped if x.startswith(part))
        assert param in line
    assert set(res.tables()["funnel"]["arm"]) == {"all"} and res.arm_col is None
    assert res.tables()["cohorts"].empty and res.tables()["survival"].empty
    assert res.tables()["kpis"].set_index("kpi").loc["activation_rate", "value"] > 0


def test_parameters_the_data_does_not_support_are_skipped_with_a_line(tables, tmp_path):
    ev, cu, out = tables
    res = J.journey(ev, framework="aarrr", customers=cu, arm_col="touch_model", control="no_touch")
    assert any("no column 'touch_model'" in x and "set arm_col" in x for x in res.skipped)
    res = J.journey(ev, framework="aarrr", customers=cu, arm_col="variant", control="no_touch")
    assert any("control 'no_touch' is not an arm of 'variant'" in x for x in res.skipped)
    assert res.arm_col == "variant" and res.control is None and res.tables()["funnel_tests"].empty
    res = J.journey(ev, framework="laer", customers=str(tmp_path / "nope.csv"))
    assert any("does not exist" in x and "customers_path" in x for x in res.skipped)
    assert any("no events of framework 'laer'" in x and "set framework" in x for x in res.skipped)
    assert res.tables()["funnel"].empty and not res.tables()["quality"].columns.empty
    none = J.journey(None, framework="aarrr", customers="", outcomes="")
    assert not none.has_events and "This data has no events" in none.conclusions()
    assert all(t.empty for t in none.tables().values())


def test_a_churn_table_is_used_instead_of_outcomes(tmp_path):
    rng = np.random.default_rng(3)
    n = 400
    ch = pd.DataFrame({"months": rng.integers(1, 60, n), "left": rng.choice(["Yes", "No"], n),
                       "plan": rng.choice(["basic", "pro"], n), "fee": rng.normal(50, 10, n)})  # fmt: skip
    ch.loc[:4, "fee"] = np.nan
    ch.to_csv(tmp_path / "churn.csv", index=False)
    res = J.journey(framework="aarrr", churn=str(tmp_path / "churn.csv"), churn_duration="months",
                    churn_event="left", churn_group="plan", churn_covariates=["fee", "age"])  # fmt: skip
    assert any("['age'] left out" in x for x in res.skipped)
    q = res.tables()["quality"]
    assert q.set_index("check").loc["missing_value", "n_rows"] == 5
    ref = J.churn_survival(ch.dropna(), duration="months", event="left", group_cols=["plan"], covariates=["fee"])
    s = res.survival
    np.testing.assert_allclose(s.loc[s["kind"] == "cox_hr", "estimate"], ref.cox["hazard_ratio"])
    assert set(s["source"]) == {"churn.csv"}
    res = J.journey(framework="aarrr", churn=ch, churn_duration="weeks", churn_event="left")
    assert any("no column 'weeks'" in x and "churn_duration" in x for x in res.skipped) and res.survival is None


def test_bad_settings_fail_with_the_fix(tables):
    ev, _, _ = tables
    with pytest.raises(ValueError, match="correction must be one of"):
        J.journey(ev, framework="aarrr", correction="bh")
    with pytest.raises(ValueError, match="min_cell_size"):
        J.journey(ev, framework="aarrr", min_cell_size=0)
    with pytest.raises(ValueError, match="cohort_period"):
        J.journey(ev, framework="aarrr", cohort_period="fortnight")
    with pytest.raises(KeyError):
        J.journey(ev, framework="lear")


def test_an_engine_can_be_the_data(tables):
    ev, cu, _ = tables
    eng = J.Engine()
    eng.register("events", ev)
    res = J.journey(eng, framework="aarrr", customers=cu, arm_col="variant", control="ctl")
    assert set(res.tables()["funnel"]["arm"]) == {"ctl", "v1", "tiny"}


def test_plots_take_the_result(full):
    import matplotlib.pyplot as plt

    from engagement_kit.plots import journeys as jp

    empty = J.journey(None, framework="aarrr")
    for plot in (jp.funnel_plot, jp.transition_heatmap, jp.cohort_heatmap, jp.retention_curve_plot, jp.survival_plot):
        assert isinstance(plot(full), matplotlib.axes.Axes)
        assert "No " in plot(empty).texts[0].get_text()
    plt.close("all")
