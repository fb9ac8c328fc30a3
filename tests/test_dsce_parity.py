"""Parity: the DSCE scorecard gives the same numbers whether the rows are in pandas, DuckDB or Spark.

The simulator's dsce, outcomes, customers and survey tables, with string ids, segments and
arms, NaN ratings (``missing="reweight"``) and per-account targets, go through pandas (the
numpy path), Parquet paths and DuckDB relations (aggregated by DuckDB) and Spark DataFrames
(aggregated by Spark, ``local[2]``); every published table must agree to 1e-9 relative on
every numeric column and exactly on the labels (issue 13). ``dsce_scores`` is compared
ordered by customer_id (the engine path orders it so; the pandas path keeps the input's order).
"""

from __future__ import annotations

import importlib
import warnings

import duckdb
import numpy as np
import pandas as pd
import pytest
from parity import assert_same_tables

from engagement_kit.dsce import scorecard
from engagement_kit.simulate import simulate
from engagement_kit.validation import ValidationError

SETTINGS = dict(segment_col="segment", arm_col="touch_model", missing="reweight")


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    t = simulate(n_customers=1200, seed=21, truth=False, frameworks=[], include_types=False).tables()
    dsce = t["dsce"].sample(frac=1.0, random_state=3).reset_index(drop=True)  # not in id order
    rng = np.random.default_rng(4)
    for c in ("customer_intent", "anticipation", "journey"):
        dsce[c] = dsce[c].astype(float).where(rng.random(len(dsce)) > 0.06)  # NaN: reweighted
    return {"dsce": dsce, "outcomes": t["outcomes"], "customers": t["customers"], "survey": t["survey"]}


@pytest.fixture(scope="module")
def parquet(tables, tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("dsce_parity")
    paths = {}
    for name, frame in tables.items():
        paths[name] = str(folder / f"{name}.parquet")
        frame.to_parquet(paths[name], index=False)
    return paths


def _card(data: dict, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return scorecard(data["dsce"], outcomes=data["outcomes"], customers=data["customers"],
                         survey=data["survey"], **{**SETTINGS, **kw})


def _published(card) -> dict[str, pd.DataFrame]:
    out = card.tables()
    out["dsce_scores"] = out["dsce_scores"].sort_values("customer_id").reset_index(drop=True)
    return out


def test_duckdb_paths_match_pandas(tables, parquet):
    card = _card(tables)
    expected = _published(card)
    seg = expected["dsce_segments"]
    assert set(seg["group_col"]) == {"all", "segment", "touch_model"}
    assert {"index", "index_equal", "index_fitted"} <= set(seg["component"])
    assert seg.loc[seg["component"].eq("journey") & seg["group_col"].eq("all"), "n"].item() < len(tables["dsce"])
    assert len(expected["dsce_drivers"]) and len(expected["kpis"]) and len(expected["kpi_trend"])
    relations = {k: duckdb.read_parquet(p) for k, p in parquet.items()}
    for source, data in [("parquet paths", parquet), ("duckdb relations", relations),
                         ("parquet ratings, pandas others", {**tables, "dsce": parquet["dsce"]})]:
        got = _card(data)
        assert got.skipped == card.skipped, source
        assert_same_tables(expected, _published(got), source)


def test_custom_weights_and_scalar_targets_match_pandas(tables, parquet):
    kw = dict(weights={"journey": 2, "education": 1, "relationships": 1}, targets=4)
    assert_same_tables(_published(_card(tables, **kw)), _published(_card(parquet, **kw)), "parquet, custom weights")


def test_segments_come_from_the_engine_and_rows_are_not_pulled_above_the_limit(tables, parquet, monkeypatch):
    """Above max_rows_pulled the aggregates are still published (from the engine's GROUP BY,
    not from pandas), and the parts that need rows are skipped with one line each."""
    expected = _published(_card(tables))
    scorecard_module = importlib.import_module("engagement_kit.dsce.scorecard")

    def refuse(*args, **kwargs):
        raise AssertionError("a pandas reduction ran on an engine table")

    monkeypatch.setattr(scorecard_module, "group_summary", refuse)
    monkeypatch.setattr(scorecard_module, "dsce_index", refuse)
    monkeypatch.setattr(scorecard_module, "drivers", refuse)
    card = _card(parquet, max_rows_pulled=100)
    got = card.tables()
    assert any("driver models, fitted weights and the account-level dsce_scores skipped" in s
               and "1,200 accounts" in s and "max_rows_pulled=100" in s for s in card.skipped)
    assert any(s.startswith("KPI trend by signup cohort skipped: it needs the rows") for s in card.skipped)
    assert got["dsce_scores"].empty and got["dsce_drivers"].empty and got["kpi_trend"].empty
    keep = ~expected["dsce_segments"]["component"].eq("index_fitted")
    assert_same_tables({"dsce_segments": expected["dsce_segments"][keep].reset_index(drop=True), "kpis": expected["kpis"]},
                 {"dsce_segments": got["dsce_segments"], "kpis": got["kpis"]}, "engine only")
    with pytest.raises(ValueError, match=r"weights='fitted' needs the driver models.*1,200 accounts"):
        _card(parquet, max_rows_pulled=100, weights="fitted")


def test_bad_ratings_in_the_engine_name_table_column_count_and_fix(tables, tmp_path):
    bad = tables["dsce"].copy()
    bad.loc[:2, "education"] = 9
    bad.to_parquet(tmp_path / "bad.parquet", index=False)
    data = {**tables, "dsce": str(tmp_path / "bad.parquet")}
    with pytest.raises(ValidationError) as err:
        _card(data, missing="error")
    text = str(err.value)
    assert "education" in text and "3 rating(s) outside the declared scale 1-5" in text
    assert "missing rating in" in text and "missing='reweight'" in text
    unmatched = {**tables, "outcomes": tables["outcomes"].iloc[5:]}
    short = tmp_path / "outcomes.parquet"
    unmatched["outcomes"].to_parquet(short, index=False)
    with pytest.raises(ValidationError, match=r"5 assessed account\(s\) are absent from outcomes.*on_unmatched='drop'"):
        _card({**tables, "dsce": str(tmp_path / "bad.parquet"), "outcomes": str(short)}, scale_max=9)


def test_spark_matches_pandas(spark, tables):
    expected = _published(_card(tables))
    frames = {k: spark.createDataFrame(v.astype({c: object for c in v.columns if v[c].dtype == "string"}))
              for k, v in tables.items()}  # NaN stays NaN in a Spark double column: treated as missing
    assert_same_tables(expected, _published(_card(frames)), "spark")
