"""Journeys through the aggregation layer: the same event log held by pandas, DuckDB (files,
a relation, a database file) and Spark gives the same funnels, transitions, cohorts, stage
times, paths, quality counts and KPIs, to 1e-9 relative.

The reference is the pandas path (embedded DuckDB over in-memory frames), itself checked
against direct pandas formulas in tests/test_journeys.py. The log is the simulator's, made
dirty: exact duplicate events, missing timestamps, unknown stages and frameworks, and
customer ids with quotes, commas and non-ASCII text.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from spark_session import spark_session

from engagement_kit import journeys as J
from engagement_kit.simulate import simulate

FRAMEWORK = "aarrr"
LOOPS = "mckinsey_cdj"  # non-linear, with loops back: transitions and paths
KEYS = {
    "quality": ["check", "framework", "stage"],
    "funnel": ["framework", "stage_order", "arm", "mode"],
    "funnel_tests": ["framework", "stage_order", "mode", "basis", "arm"],
    "stage_times": ["framework", "stage_order", "arm"],
    "transitions": ["framework", "arm", "from_order", "to_order"],
    "top_paths": ["framework", "arm", "rank"],
    "cohorts": ["arm", "cohort", "period"],
    "kpis": ["framework", "kpi", "arm"],
    "survival": ["source", "kind", "group_col", "group", "term", "time"],
}


@pytest.fixture(scope="module")
def tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    s = simulate(n_customers=1500, seed=21)
    ev = s.events.copy()
    for c in ("customer_id", "framework", "stage"):
        ev[c] = ev[c].astype(str)
    rng = np.random.default_rng(5)
    ev = pd.concat([ev, ev.iloc[rng.choice(len(ev), 40, replace=False)]], ignore_index=True)  # duplicates
    ev.loc[rng.choice(len(ev), 25, replace=False), "timestamp"] = pd.NaT
    ev.loc[rng.choice(len(ev), 15, replace=False), "stage"] = "mystery_stage"
    ev.loc[rng.choice(len(ev), 10, replace=False), "framework"] = "no_such_framework"
    cu, out = s.customers.copy(), s.outcomes.copy()
    odd = {"C0000001": "O'Brien, \"Ltd\"", "C0000002": "Zoë 客户 №2"}  # strings that break naive SQL/CSV
    for t in (ev, cu, out):
        t["customer_id"] = t["customer_id"].replace(odd)
    cu["vip"] = cu["prior_revenue"] > 500  # a boolean column along for the ride
    return ev, cu, out


def _run(events, customers, outcomes, frameworks=(FRAMEWORK, LOOPS), **kw) -> dict[str, pd.DataFrame]:
    tabs = {}
    for fw in frameworks:
        r = J.journey(events, customers=customers, outcomes=outcomes, framework=fw, arm_col="touch_model",
                      control="no_touch", cohort_period="M", n_periods=6, **kw)  # fmt: skip
        tabs.update({f"{fw}:{k}": v for k, v in r.tables().items()})
    return tabs


def _same(got: dict[str, pd.DataFrame], ref: dict[str, pd.DataFrame], label: str) -> None:
    ref = {k: v for k, v in ref.items() if k.split(":")[0] in {n.split(":")[0] for n in got}}
    assert set(got) == set(ref) and ref
    for name, r in ref.items():
        keys = [k for k in KEYS[name.split(":")[1]] if k in r.columns]
        a = r.sort_values(keys, ignore_index=True, na_position="first")
        b = got[name].sort_values(keys, ignore_index=True, na_position="first")
        pd.testing.assert_frame_equal(b, a, check_dtype=False, rtol=1e-9, atol=0, obj=f"{label} {name}")


@pytest.fixture(scope="module")
def reference(tables):
    ref = _run(*tables)
    f = ref[f"{FRAMEWORK}:funnel"]
    assert len(f) and f["n_reached"].notna().all()  # not vacuous: real counts to compare
    q = ref[f"{FRAMEWORK}:quality"]
    assert {"duplicate_event", "missing_timestamp", "unknown_stage", "unknown_framework"} <= set(q["check"])
    assert len(ref[f"{LOOPS}:transitions"]) > 10 and len(ref[f"{FRAMEWORK}:cohorts"]) > 10
    return ref


@pytest.fixture(scope="module")
def files(tables, tmp_path_factory):
    folder = tmp_path_factory.mktemp("parity")
    paths = {}
    for name, t in zip(("events", "customers", "outcomes"), tables):
        paths[name] = folder / f"{name}.parquet"
        t.to_parquet(paths[name], index=False)
    return paths


def test_duckdb_files_and_folders_give_the_pandas_numbers(reference, files, tables):
    _same(_run(files["events"], files["customers"], files["outcomes"]), reference, "parquet")
    # the events as a folder of Parquet files (split in two): DuckDB reads the glob
    ev = tables[0]
    part = files["events"].parent / "events_parts"
    part.mkdir()
    ev.iloc[: len(ev) // 2].to_parquet(part / "a.parquet", index=False)
    ev.iloc[len(ev) // 2 :].to_parquet(part / "b.parquet", index=False)
    _same(_run(str(part), files["customers"], files["outcomes"]), reference, "folder")


def test_duckdb_relations_and_database_files_give_the_pandas_numbers(reference, files, tmp_path):
    rel = {k: duckdb.read_parquet(str(p)) for k, p in files.items()}
    _same(_run(rel["events"], rel["customers"], rel["outcomes"]), reference, "relation")
    db = tmp_path / "shop.duckdb"
    with duckdb.connect(str(db)) as con:
        for k, p in files.items():
            con.execute(f"CREATE TABLE {k}_t AS SELECT * FROM read_parquet(?)", [str(p)])
    got = _run(db, db, db, events_table="events_t", customers_table="customers_t", outcomes_table="outcomes_t")
    _same(got, reference, "duckdb file")


def test_the_pandas_engine_reads_paths_into_memory_with_the_same_numbers(reference, files):
    got = _run(files["events"], files["customers"], files["outcomes"], engine="pandas")
    _same(got, reference, "engine=pandas")


def test_spark_gives_the_pandas_numbers(reference, files, tables):
    """Spark runs every part of one linear framework, and the transitions and paths of the
    one with loops at the engine level (a Spark query costs seconds: few and small)."""
    spark = spark_session()
    sdf = {k: spark.read.parquet(str(p)) for k, p in files.items()}
    _same(_run(sdf["events"], sdf["customers"], sdf["outcomes"], frameworks=(FRAMEWORK,)), reference, "spark")
    local, remote = J.Engine(), J.Engine()
    for name, t in zip(("events", "customers"), tables):
        local.register(name, t)
        remote.register(name, sdf[name])
    assert remote.is_remote() and not local.is_remote()
    for method in ("transition_counts", "path_counts"):
        a, b = getattr(local, method)(LOOPS, arm_col="touch_model"), getattr(remote, method)(LOOPS, arm_col="touch_model")
        assert len(a) > 5
        pd.testing.assert_frame_equal(b, a, check_dtype=False, rtol=1e-9, obj=f"spark {method}")


def test_mixed_engines_are_refused_with_the_fix(files, tmp_path):
    db = tmp_path / "other.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE c AS SELECT * FROM read_parquet(?)", [str(files["customers"])])
    eng = J.Engine()
    eng.register("events", files["events"])
    with pytest.raises(ValueError, match="put both in one engine"):
        eng.register("customers", db, table="c")


def test_the_manifest_does_not_record_the_environment(monkeypatch):
    """docs/scale.md: connection secrets live in the environment, which the manifest never records."""
    import json

    from engagement_kit.reports.manifest import BatchManifest, RunRecord

    secret = "s3cret-Passw0rd"
    monkeypatch.setenv("EK_WAREHOUSE_URL", f"snowflake://analyst:{secret}@acme/db/schema")
    monkeypatch.setenv("DATABRICKS_TOKEN", secret)
    params = {"engine": "spark", "events_path": "", "events_table": "analytics.events"}
    run = RunRecord(name="journeys_prod", notebook="notebooks/customer_journeys.ipynb", notebook_sha256="0" * 64,
                    parameters=params, data=[], cache_key="k")  # fmt: skip
    m = BatchManifest(run_id="r", config="reports.yaml", start="now", git={"commit": "abc", "dirty": False},
                      runs=[run])  # fmt: skip
    text = json.dumps(m.to_dict(), default=str)
    assert "analytics.events" in text  # the parameters are there ...
    assert secret not in text and "EK_WAREHOUSE_URL" not in text  # ... the environment is not


def test_per_customer_reads_are_refused_above_the_limit_on_remote_engines(tables, monkeypatch):
    """The survival models need one row per customer: on a remote engine (Spark, a warehouse)
    more than MAX_REMOTE_ROWS are refused with the fix, instead of pulling them."""
    from engagement_kit.journeys import engine as E

    _, cu, out = tables
    eng = J.Engine()
    eng.register("customers", cu)
    eng.register("outcomes", out)
    assert len(eng.customer_table(["churn_time", "churned"], arm_col="touch_model")) == len(out)  # local: fine
    monkeypatch.setattr(E.Engine, "is_remote", lambda self: True)
    monkeypatch.setattr(E, "MAX_REMOTE_ROWS", len(out) - 1)
    with pytest.raises(ValueError, match="exceed the .* pulled from a remote engine; sample"):
        eng.customer_table(["churn_time", "churned"], arm_col="touch_model")
    monkeypatch.setattr(E, "MAX_REMOTE_ROWS", len(out))
    assert len(eng.customer_table(["churn_time", "churned"], arm_col="touch_model")) == len(out)
