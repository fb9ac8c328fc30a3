"""The engine aggregation's fast pass and its fallbacks give the numpy path's sums.

:func:`aggregate_table` first runs one fast ``GROUP BY`` (no NaN cleaning, covariates summed
once); a metric with missing values gets a second, masked pass, and a NaN anywhere sends
the whole reduction through the exact (cleaned) pass. Each route is forced here by the
data and counted by the number of queries DuckDB receives; the sums must equal
:func:`.aggregate` (pandas/numpy) in every case.
"""

from __future__ import annotations

import warnings

import duckdb
import numpy as np
import pandas as pd
import pytest
from ibis.backends.duckdb import Backend

from engagement_kit.experiments.aggregate import aggregate, parse_metrics
from engagement_kit.experiments.sufficient import aggregate_table

METRICS = parse_metrics({"y": "continuous", "k": "count", "b": "binary", "s": "nps"})
COVS = ["x1", "x2"]


def _frame(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "arm": rng.choice(["a", "b", "c"], n), "seg": rng.choice(["n", "s"], n),
        "y": rng.normal(10, 3, n), "k": rng.poisson(2, n), "b": rng.random(n) < 0.3,
        "s": rng.integers(0, 11, n), "x1": rng.normal(5, 2, n), "x2": rng.integers(0, 4, n).astype(float),
    })


def _queries(monkeypatch) -> list:
    """Every query DuckDB runs for Ibis (``execute`` and ``to_pyarrow``), recorded."""
    seen: list = []
    for method in ("execute", "to_pyarrow"):
        original = getattr(Backend, method)
        monkeypatch.setattr(Backend, method, lambda self, expr, *a, _f=original, _m=method, **k:
                            seen.append(_m) or _f(self, expr, *a, **k))
    return seen


def _assert_same(df: pd.DataFrame, relation) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = aggregate(df, "arm", METRICS, COVS, "seg")
        got = aggregate_table(relation, "arm", METRICS, COVS, "seg")
    assert got.arms == want.arms and got.groups == want.groups
    for name, ms in want.stats.items():
        for field in ("n", "s1", "s2", "sx", "sxy", "sxx"):
            np.testing.assert_allclose(getattr(got.stats[name], field), getattr(ms, field), rtol=1e-12,
                                       err_msg=f"{name}.{field}")


def test_complete_data_takes_one_fast_query(monkeypatch):
    df = _frame()
    seen = _queries(monkeypatch)
    _assert_same(df, duckdb.from_df(df))
    assert len(seen) == 1


def test_a_metric_with_missing_values_gets_its_covariate_sums_from_a_masked_pass(monkeypatch):
    df = _frame()
    df.loc[::7, "y"] = None  # NULL in DuckDB: the fast pass holds, y's covariate sums are redone
    con = duckdb.connect()
    con.register("df", df)
    rel = con.sql("SELECT arm, seg, CASE WHEN y = y THEN y END AS y, k, b, s, x1, x2 FROM df")
    seen = _queries(monkeypatch)
    _assert_same(df, rel)
    assert len(seen) == 2


@pytest.mark.parametrize("column", ["y", "x1"])
def test_a_nan_sends_the_reduction_through_the_exact_pass(monkeypatch, column):
    df = _frame()
    con = duckdb.connect()
    con.register("df", df)
    # a real NaN (not NULL) in DuckDB: the fast pass's MAX screen sees it and the exact pass runs
    rel = con.sql(f"SELECT * REPLACE (CASE WHEN row_number() OVER () % 9 = 0 THEN 'nan'::DOUBLE "
                  f"ELSE {column} END AS {column}) FROM df")
    assert con.sql(f"SELECT count(*) FROM rel WHERE isnan({column})").fetchone()[0] > 0
    seen = _queries(monkeypatch)
    if column == "y":
        nan_rows = con.sql("SELECT row_number() OVER () % 9 = 0 AS nan FROM df").df()["nan"].to_numpy()
        _assert_same(df.assign(y=df["y"].mask(nan_rows)), rel)
        assert len(seen) == 2  # fast (screen fails), exact
    else:
        with pytest.raises(ValueError, match=r"covariate 'x1' has \d+ missing values"):
            aggregate_table(rel, "arm", METRICS, COVS, "seg")
        assert len(seen) == 3  # fast, exact, and the count that names the rows
