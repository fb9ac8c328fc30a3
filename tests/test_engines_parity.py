"""Parity: the same numbers whether the rows are in pandas, DuckDB or Spark.

The simulator's customer and outcome tables (joined), with a string arm and segment, NaN
in a metric, booleans, a text binary column and timestamps, go through pandas (the numpy
path), a Parquet path and a DuckDB relation (aggregated by DuckDB), an Ibis table, and a
Spark DataFrame (aggregated by Spark, local[2]); every table of the experiment must agree
to 1e-9 relative on every numeric column and exactly on the labels (issue 13).
"""

from __future__ import annotations

import importlib
import warnings

import duckdb
import ibis
import numpy as np
import pandas as pd
import pytest
from parity import assert_same_tables

from engagement_kit.experiments import analyze, experiment, sequential, survival_tests
from engagement_kit.experiments.srm import balance
from engagement_kit.kpis import kpi_table, kpi_trend
from engagement_kit.overview import overview
from engagement_kit.simulate import TARGETING_COSTS, simulate, simulate_targeting
from engagement_kit.targeting import targeting_policy

METRICS = {
    "retained": "binary",
    "retained_text": "binary",
    "revenue": "continuous",
    "referrals": "count",
    "nps": "nps",
    "revenue_per_activity": ("ratio", "revenue", "prior_activity"),
    "churn": ("time_to_event", "churn_time", "churned"),
}
SETTINGS = {"arm_col": "touch_model", "control": "no_touch", "metrics": METRICS,
                "covariates": ["prior_revenue", "prior_activity"], "segment_col": "segment", "value_metric": "expansion_revenue",
                "cost_col": "cost_to_serve", "time_col": "assigned_at", "looks": 4, "seed": 7}


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    tables = simulate(n_customers=3000, seed=13, truth=False, frameworks=[], include_types=False,
                      arrival_weeks=6).tables()
    df = tables["customers"].merge(tables["outcomes"], on="customer_id")
    df = df.merge(tables["survey"][["customer_id", "nps", "csat"]], on="customer_id", how="left")  # NaN: not surveyed
    rng = np.random.default_rng(0)
    df["revenue"] = df["revenue"].where(rng.random(len(df)) > 0.05)  # NaN: complete-case per metric
    df["retained"] = df["retained"].astype(bool)
    df["churned"] = df["churned"].astype(bool)
    df["retained_text"] = np.where(df["retained"], "Yes", "no")
    df["assigned_at"] = pd.to_datetime(df["assigned_at"])
    return df


@pytest.fixture(scope="module")
def parquet(customers, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("parity") / "customers.parquet"
    customers.to_parquet(path, index=False)
    return str(path)


def _tables(data) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return experiment(data, **SETTINGS).tables()


def _kpis(data) -> dict:
    """The KPI table (revenue has NaN, which the KPIs refuse: it is left out here)."""
    return {"kpis": kpi_table(data, group_col=["segment", "touch_model"])}


def test_duckdb_paths_match_pandas(customers, parquet):
    expected = _tables(customers)
    assert len(expected["effects"]) and len(expected["segments"]) and len(expected["sequential"])
    for source, data in [("parquet path", parquet), ("duckdb relation", duckdb.read_parquet(parquet)),
                         ("ibis table", ibis.duckdb.connect().read_parquet(parquet))]:
        assert_same_tables(expected, _tables(data), source)


def test_kpis_match_pandas(customers, tmp_path):
    frame = customers.drop(columns=["revenue"])
    frame.to_parquet(tmp_path / "kpis.parquet", index=False)
    expected = _kpis(frame)
    assert set(expected["kpis"]["kpi"]) >= {"nps", "csat_top2", "retention_rate", "expansion_rate", "margin", "clv"}
    for source, data in [("parquet path", str(tmp_path / "kpis.parquet")),
                         ("duckdb relation", duckdb.read_parquet(str(tmp_path / "kpis.parquet")))]:
        assert_same_tables(expected, _kpis(data), source)


def test_the_engine_path_is_not_the_pandas_path(customers, parquet, monkeypatch):
    """The parity above must come from the engine's GROUP BY, not from rows copied to pandas."""
    agg_module = importlib.import_module("engagement_kit.experiments.aggregate")

    def refuse(*args, **kwargs):
        raise AssertionError("the numpy reduction ran on an engine table")

    monkeypatch.setattr(agg_module, "_sums", refuse)
    eff = analyze(parquet, arm_col="touch_model", control="no_touch", metrics={"revenue": "continuous"},
                  covariates=["prior_revenue"], max_rows_pulled=0)
    assert list(eff["method"]) == ["welch", "welch", "cuped", "cuped"]


def test_raw_row_methods_refuse_above_the_limit_and_say_how_to_proceed(parquet, customers):
    kw = {"arm_col": "touch_model", "control": "no_touch", "metrics": {"revenue": "continuous"}}
    with pytest.raises(ValueError, match=r"bootstrap needs the rows.*3,000 rows.*max_rows_pulled=100.*sample in the engine"):
        analyze(parquet, methods=("bootstrap",), max_rows_pulled=100, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pulled = analyze(parquet, methods=("mann_whitney",), **kw)
        local = analyze(customers, methods=("mann_whitney",), **kw)
    np.testing.assert_allclose(pulled["p_value"], local["p_value"], rtol=1e-9)


def test_bad_values_in_the_engine_name_column_and_fix(tmp_path):
    df = pd.DataFrame({"arm": ["a", "b"] * 10, "flag": [0, 1, 2, 1] * 5, "y": [1.0, np.inf] + [2.0] * 18})
    df.to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match=r"'flag' has 5 rows with values that are not 0/1"):
        analyze(str(tmp_path / "bad.parquet"), arm_col="arm", control="a", metrics={"flag": "binary"})
    with pytest.raises(ValueError, match=r"column 'y' .* 1 rows holding inf"):
        analyze(str(tmp_path / "bad.parquet"), arm_col="arm", control="a", metrics={"y": "continuous"})
    more = df.assign(y=1.0 + np.arange(20) % 3, score=[3, 11] * 10, x=[np.nan] + [1.0] * 19)
    more.to_parquet(tmp_path / "more.parquet")
    with pytest.raises(ValueError, match=r"'score' has 10 rows with values that are not integers 0-10"):
        analyze(str(tmp_path / "more.parquet"), arm_col="arm", control="a", metrics={"score": "nps"})
    with pytest.raises(ValueError, match=r"covariate 'x' has 1 missing values; impute"):
        analyze(str(tmp_path / "more.parquet"), arm_col="arm", control="a", metrics={"y": "continuous"},
                covariates=["x"])


@pytest.mark.xdist_group("spark")
def test_spark_matches_pandas(spark, customers):
    expected = _tables(customers)
    sdf = spark.createDataFrame(customers)  # NaN stays NaN in a Spark double column: the layer treats it as missing
    assert_same_tables(expected, _tables(sdf), "spark")
    assert_same_tables(_kpis(customers.drop(columns=["revenue"])), _kpis(sdf.drop("revenue")), "spark")


# ---------------------------------------------------------------------------------------
# monitoring, balance, overview and targeting on engine tables (issue 13, the gaps)
# ---------------------------------------------------------------------------------------
MONITORED = {k: v for k, v in METRICS.items() if k != "churn"}


def _cuts(customers: pd.DataFrame) -> list:
    """Looks whose cut-offs are customers' own assignment times (a row exactly at a cut-off
    belongs to that look: an off-by-one in the engine's CASE moves it), plus one before the
    first customer (a look without customers)."""
    t = customers["assigned_at"].sort_values().reset_index(drop=True)
    return [t.iloc[0] - pd.Timedelta(days=1), t.iloc[700], t.iloc[1500], t.iloc[2200], t.iloc[-1]]


def _refuse_rows(monkeypatch) -> None:
    """No numpy reduction and no row copied out of the engine: the engine's GROUP BY or nothing."""
    agg_module = importlib.import_module("engagement_kit.experiments.aggregate")
    suff_module = importlib.import_module("engagement_kit.experiments.sufficient")

    def refuse(*args, **kwargs):
        raise AssertionError("rows were reduced in numpy or pulled out of the engine")

    monkeypatch.setattr(agg_module, "_sums", refuse)
    monkeypatch.setattr(suff_module.ibis.expr.types.Table, "to_pandas", refuse)


def _sequential_tables(data, customers, **kw) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sequential(data, arm_col="touch_model", control="no_touch", metrics=MONITORED, time_col="assigned_at",
                          looks=_cuts(customers), **kw).tables()


def test_monitoring_looks_are_one_group_by_in_the_engine(customers, parquet, monkeypatch):
    plans = [{}, {"method": "group_sequential", "covariates": ["prior_revenue", "prior_activity"], "planned_n": 1200},
             {"method": "msprt", "correction": "none"}]
    expected = [_sequential_tables(customers, customers, **kw) for kw in plans]
    assert expected[0]["sequential"]["n_arm"].iloc[0] == 0  # the empty first look is there
    as_numbers = customers.assign(day=(customers["assigned_at"] - customers["assigned_at"].min()).dt.total_seconds()
                                  / 86400)  # fmt: skip
    numeric = sequential(as_numbers, arm_col="touch_model", control="no_touch", metrics={"revenue": "continuous"},
                         time_col="day", looks=3).tables()  # fmt: skip
    settings = {k: v for k, v in SETTINGS.items() if k != "looks"} | {"metrics": MONITORED}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = experiment(customers, **settings, looks=_cuts(customers)[1:4])
    _refuse_rows(monkeypatch)
    for source, data in [("parquet path", parquet), ("duckdb relation", duckdb.read_parquet(parquet))]:
        for plan, want in zip(plans, expected):
            assert_same_tables(want, _sequential_tables(data, customers, **plan), f"{source} {plan}")
    frame = duckdb.sql("SELECT * FROM as_numbers")
    assert_same_tables(numeric, sequential(frame, arm_col="touch_model", control="no_touch",
                                     metrics={"revenue": "continuous"}, time_col="day", looks=3).tables(), "numeric")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = experiment(parquet, **settings, looks=_cuts(customers)[1:4], max_rows_pulled=0)
    assert not [line for line in got.skipped if line.startswith("monitoring")]
    assert_same_tables({"sequential": whole.tables()["sequential"]}, {"sequential": got.tables()["sequential"]},
                 "experiment")


def test_monitoring_missing_times_are_skipped_as_on_pandas(customers, tmp_path):
    frame = customers.drop(columns=["churn_time", "churned"]).assign(
        assigned_at=customers["assigned_at"].where(customers.index % 50 != 3))
    frame.to_parquet(tmp_path / "gaps.parquet", index=False)
    settings = {k: v for k, v in SETTINGS.items()} | {"metrics": MONITORED}
    lines = []
    for data in (frame, str(tmp_path / "gaps.parquet")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = experiment(data, **settings)
        assert r.sequential is None
        lines.append([line for line in r.skipped if line.startswith("monitoring")])
    assert lines[0] == lines[1] == [("monitoring: skipped, time_col 'assigned_at' has 60 missing values (fill or "
                                     "drop them, or set time_col).")]
    for looks in (None, _cuts(customers)):  # the range pass counts them; with given cut-offs the GROUP BY does
        with pytest.raises(ValueError, match="time column 'assigned_at' has 60 missing values"):
            sequential(str(tmp_path / "gaps.parquet"), arm_col="touch_model", control="no_touch", metrics=MONITORED,
                       time_col="assigned_at", looks=looks)


def _with_labels(customers: pd.DataFrame) -> pd.DataFrame:
    """A text covariate with missing values, a boolean one, and a segment with missing labels."""
    i = np.arange(len(customers))
    return customers.assign(channel=np.where(i % 7 == 0, None, np.where(i % 3 == 0, "email", "phone")),
                            region=np.where(i % 11 == 0, None, customers["segment"]))  # fmt: skip


BALANCE = {"arm_col": "touch_model", "control": "no_touch",
               "covariates": ["segment", "prior_revenue", "channel", "retained", "prior_activity"]}


def test_balance_with_text_covariates_in_the_engine(customers, tmp_path, monkeypatch):
    frame = _with_labels(customers)
    frame.to_parquet(tmp_path / "labels.parquet", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = {"balance": balance(frame, **BALANCE)}
    assert {"segment[smb]", "channel[email]", "channel[phone]", "retained"} <= set(expected["balance"]["covariate"])
    _refuse_rows(monkeypatch)
    for source, data in [("parquet path", str(tmp_path / "labels.parquet")),
                         ("duckdb relation", duckdb.read_parquet(str(tmp_path / "labels.parquet")))]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert_same_tables(expected, {"balance": balance(data, **BALANCE)}, source)
    for data in (frame, str(tmp_path / "labels.parquet")):  # a numeric covariate with NaN: the same refusal
        with pytest.raises(ValueError, match=r"covariate 'revenue' has \d+ missing values"):
            balance(data, arm_col="touch_model", control="no_touch", covariates=["segment", "revenue"])


OVERVIEWS = [{"arm_col": "touch_model", "segment_col": "region"}, {"arm_col": "retained"},
             {"arm_col": "touch_model", "segment_col": "channel", "segment": "email"}]


def _overview(data, **kw) -> dict:
    r = overview(data, **kw)
    stats = pd.DataFrame({"n_customers": [r.n_customers], "chi2": [r.chi2], "df": [r.df], "p_value": [r.p_value]})
    return {"customers_by_segment": r.tables()["customers_by_segment"], "test": stats}


def test_overview_counts_in_the_engine(customers, tmp_path, monkeypatch):
    frame = _with_labels(customers)
    frame.to_parquet(tmp_path / "labels.parquet", index=False)
    expected = [_overview(frame, **kw) for kw in OVERVIEWS]
    _refuse_rows(monkeypatch)
    for source, data in [("parquet path", str(tmp_path / "labels.parquet")),
                         ("duckdb relation", duckdb.read_parquet(str(tmp_path / "labels.parquet")))]:
        for kw, want in zip(OVERVIEWS, expected):
            assert_same_tables(want, _overview(data, **kw), f"{source} {kw}")
    with pytest.raises(ValueError, match="no customers for segment='nowhere'"):
        overview(str(tmp_path / "labels.parquet"), arm_col="touch_model", segment_col="segment", segment="nowhere")


def test_targeting_pulls_its_columns_below_the_limit_and_refuses_above(tmp_path):
    sim = simulate_targeting(1_500, seed=3).customers
    sim.to_parquet(tmp_path / "targeting.parquet", index=False)
    kw = {"arm_col": "touch_model", "control": "no_touch", "value_metric": "revenue", "costs": TARGETING_COSTS,
              "features": ["segment", "prior_revenue", "prior_activity"], "segment_col": "segment", "randomised": True,
              "learner": "linear", "folds": 2, "seed": 1}
    expected = targeting_policy(sim, **kw).tables()
    relation = duckdb.read_parquet(str(tmp_path / "targeting.parquet"))
    assert_same_tables(expected, targeting_policy(relation, max_rows_pulled=1_500, **kw).tables(), "duckdb relation")
    with pytest.raises(ValueError, match=r"targeting_policy \(cross-fitted .*\) needs the rows.*1,500 rows.*"
                                         r"max_rows_pulled=1,499.*sample in the engine"):
        targeting_policy(str(tmp_path / "targeting.parquet"), max_rows_pulled=1_499, **kw)


@pytest.mark.xdist_group("spark")
def test_spark_monitoring_balance_and_overview_match_pandas(spark, customers, monkeypatch):
    frame = _with_labels(customers)
    # a missing text label must reach Spark as NULL (from a pandas str column it becomes 'NaN')
    sdf = spark.createDataFrame(frame.assign(**{c: frame[c].astype(object).where(frame[c].notna(), None)
                                                for c in ("channel", "region")}))
    plan = {"method": "group_sequential", "covariates": ["prior_revenue", "prior_activity"], "planned_n": 1200}
    expected = _sequential_tables(customers, customers, **plan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want_balance = {"balance": balance(frame, **BALANCE)}
    want_overview = _overview(frame, **OVERVIEWS[0])
    _refuse_rows(monkeypatch)
    assert_same_tables(expected, _sequential_tables(sdf, customers, **plan), "spark sequential")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_tables(want_balance, {"balance": balance(sdf, **BALANCE)}, "spark balance")
    assert_same_tables(want_overview, _overview(sdf, **OVERVIEWS[0]), "spark overview")


def test_survival_tests_pull_three_columns_below_the_limit_and_refuse_above(customers, parquet):
    kw = {"arm_col": "touch_model", "control": "no_touch", "duration": "churn_time", "event": "churned"}
    expected = {"survival": survival_tests(customers, **kw)}
    assert_same_tables(expected, {"survival": survival_tests(duckdb.read_parquet(parquet), **kw)}, "duckdb relation")
    with pytest.raises(ValueError, match=r"survival_tests \(Kaplan-Meier, log-rank\) needs the rows.*3,000 rows"):
        survival_tests(parquet, max_rows_pulled=2_999, **kw)


TRENDS = [{}, {"group_col": "touch_model", "freq": "M"}, {"group_col": "segment", "retained_col": "retained_text", "freq": "Y"}]


def test_kpi_trend_cohorts_in_the_engine(customers, parquet, monkeypatch):
    expected = [{"trend": kpi_trend(customers, **kw)} for kw in TRENDS]
    weekly = {"trend": kpi_trend(customers, freq="W")}
    relation = duckdb.read_parquet(parquet)
    assert_same_tables(weekly, {"trend": kpi_trend(relation, freq="W")}, "weekly, pulled")
    with pytest.raises(ValueError, match=r"kpi_trend with text dates in 'signup_date' or freq='W' needs the rows"):
        kpi_trend(parquet, freq="W", max_rows_pulled=100)
    _refuse_rows(monkeypatch)
    for kw, want in zip(TRENDS, expected):
        assert_same_tables(want, {"trend": kpi_trend(parquet, **kw)}, f"parquet {kw}")


def test_monitoring_on_text_times_pulls_below_the_limit_and_skips_above(customers, tmp_path):
    """Text times are parsed in pandas: the columns are pulled (the one monitoring path that is)."""
    frame = customers.drop(columns=["churn_time", "churned"]).assign(assigned_at=customers["assigned_at"].astype(str))
    frame.to_parquet(tmp_path / "text_times.parquet", index=False)
    kw = {"arm_col": "touch_model", "control": "no_touch", "metrics": {"revenue": "continuous", "retained": "binary"},
          "time_col": "assigned_at", "looks": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = {"sequential": experiment(frame, **kw).tables()["sequential"]}
        pulled = experiment(str(tmp_path / "text_times.parquet"), **kw)
        refused = experiment(str(tmp_path / "text_times.parquet"), max_rows_pulled=2_999, **kw)
    assert_same_tables(expected, {"sequential": pulled.tables()["sequential"]}, "text times")
    assert refused.sequential is None
    assert any(line.startswith("monitoring: skipped, monitoring (time_col) needs the rows") and "3,000 rows" in line
               for line in refused.skipped)
