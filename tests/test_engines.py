"""The aggregation layer's entry: every kind of input becomes an Ibis table, rows stay in their engine."""

from __future__ import annotations

import duckdb
import ibis
import numpy as np
import pandas as pd
import pytest

from engagement_kit.engines import as_table, engine_of, is_in_memory, is_remote


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return pd.DataFrame({"arm": np.repeat(["a", "b"], 50), "y": np.arange(100.0)})


def _sums(t) -> list:
    out = t.group_by("arm").aggregate(n=t.count(), s=t.y.sum()).order_by("arm").execute()
    return out.to_numpy().tolist()


def test_every_local_input_gives_the_same_sums(frame, tmp_path):
    frame.to_parquet(tmp_path / "x.parquet")
    frame.to_csv(tmp_path / "x.csv", index=False)
    with duckdb.connect(str(tmp_path / "db.duckdb")) as con:
        con.register("frame", frame)
        con.execute("CREATE TABLE customers AS SELECT * FROM frame")
    expected = [["a", 50, 1225.0], ["b", 50, 3725.0]]
    sources = [(frame, {}), (tmp_path / "x.parquet", {}), (str(tmp_path / "x.csv"), {}),
               (str(tmp_path / "*.parquet"), {}), (tmp_path, {}),
               (tmp_path / "db.duckdb", {"table": "customers"}), (duckdb.from_df(frame), {})]
    for source, kw in sources:
        assert _sums(as_table(source, **kw)) == expected, type(source).__name__
    assert engine_of(frame) == "pandas" and is_in_memory(frame) and not is_remote(frame)
    assert engine_of(tmp_path / "x.parquet") == "duckdb" and not is_remote(tmp_path / "x.parquet")


def test_an_ibis_table_is_passed_through(frame):
    t = ibis.memtable(frame)
    assert as_table(t) is t


def test_bad_inputs_name_the_fix(tmp_path):
    with pytest.raises(TypeError, match="pandas DataFrame, an Ibis table"):
        as_table(42)
    with pytest.raises(FileNotFoundError, match="no such file"):
        as_table(tmp_path / "missing.parquet")
    with duckdb.connect(str(tmp_path / "db.duckdb")) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    with pytest.raises(ValueError, match="table="):
        as_table(tmp_path / "db.duckdb")
    with pytest.raises(ValueError, match="its tables: t"):
        as_table(tmp_path / "db.duckdb", table="nope")


def test_the_pins_that_keep_ibis_working_hold():
    """Ibis 12 calls DuckDBPyConnection.fetch_arrow_table, which duckdb 2.0 removed (list_tables
    fails), and sqlglot >= 30.18 compiles create_table to SQL DuckDB rejects ("Parser Error: syntax
    error at end of input"); pyproject.toml pins duckdb<2 and sqlglot<30.18 until Ibis follows.
    This test fails when either pin is lifted while the break remains."""
    con = ibis.duckdb.connect()
    con.create_table("t", pd.DataFrame({"x": [1]}))
    assert "t" in con.list_tables()
