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

from engagement_kit.experiments import analyze, experiment
from engagement_kit.kpis import kpi_table
from engagement_kit.simulate import simulate

METRICS = {
    "retained": "binary",
    "retained_text": "binary",
    "revenue": "continuous",
    "referrals": "count",
    "nps": "nps",
    "revenue_per_activity": ("ratio", "revenue", "prior_activity"),
    "churn": ("time_to_event", "churn_time", "churned"),
}
SETTINGS = dict(arm_col="touch_model", control="no_touch", metrics=METRICS,
                covariates=["prior_revenue", "prior_activity"], segment_col="segment", value_metric="expansion_revenue",
                cost_col="cost_to_serve", time_col="assigned_at", looks=4, seed=7)


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


def _assert_same(expected: dict, got: dict, source: str) -> None:
    assert sorted(expected) == sorted(got)
    for name, a in expected.items():
        b = got[name]
        assert list(a.columns) == list(b.columns), (source, name)
        assert a.shape == b.shape, (source, name, a.shape, b.shape)
        numeric = [c for c in a.columns if a[c].dtype.kind in "fiu" and b[c].dtype.kind in "fiub"]
        if len(a):
            np.testing.assert_allclose(b[numeric].to_numpy(float), a[numeric].to_numpy(float), rtol=1e-9,
                                       atol=0, err_msg=f"{source}: table {name}")
        labels = [c for c in a.columns if c not in numeric]
        pd.testing.assert_frame_equal(a[labels].astype(str).reset_index(drop=True),
                                      b[labels].astype(str).reset_index(drop=True), obj=f"{source}: {name}")


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
        _assert_same(expected, _tables(data), source)


def test_kpis_match_pandas(customers, tmp_path):
    frame = customers.drop(columns=["revenue"])
    frame.to_parquet(tmp_path / "kpis.parquet", index=False)
    expected = _kpis(frame)
    assert set(expected["kpis"]["kpi"]) >= {"nps", "csat_top2", "retention_rate", "expansion_rate", "margin", "clv"}
    for source, data in [("parquet path", str(tmp_path / "kpis.parquet")),
                         ("duckdb relation", duckdb.read_parquet(str(tmp_path / "kpis.parquet")))]:
        _assert_same(expected, _kpis(data), source)


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
    kw = dict(arm_col="touch_model", control="no_touch", metrics={"revenue": "continuous"})
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


def test_spark_matches_pandas(spark, customers):
    expected = _tables(customers)
    sdf = spark.createDataFrame(customers)  # NaN stays NaN in a Spark double column: the layer treats it as missing
    _assert_same(expected, _tables(sdf), "spark")
    _assert_same(_kpis(customers.drop(columns=["revenue"])), _kpis(sdf.drop("revenue")), "spark")
