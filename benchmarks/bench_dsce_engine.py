"""The DSCE scorecard's aggregates in DuckDB versus pandas (issue 13).

Prints, on N simulated accounts written as Parquet:
1. peers: pandas ``group_summary`` on the account-level scores (the numpy path's reduction),
   and the whole pandas scorecard (drivers included);
2. the engine path: ``scorecard`` on Parquet paths with ``max_rows_pulled=0`` (only
   aggregates leave DuckDB: engine-side checks, joins, dsce_segments, KPIs);
3. the same with the rows pulled for dsce_scores, drivers and the KPI trend;
4. floor: DuckDB reading the ratings and summing one column per segment.

Run: `nice -n 10 .venv/bin/python benchmarks/bench_dsce_engine.py [N]` (default 100000).
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path


def main(n: int = 100_000) -> None:
    from engagement_kit import dsce
    from engagement_kit.engines import duckdb_connection
    from engagement_kit.simulate import simulate

    sim = simulate(n_customers=n, seed=20261201, truth=False, frameworks=[], include_types=False)
    folder = Path(tempfile.mkdtemp())
    paths = {}
    for name in ("dsce", "outcomes", "customers", "survey"):
        paths[name] = str(folder / f"{name}.parquet")
        sim.tables()[name].to_parquet(paths[name], index=False)
    kw = dict(outcomes=paths["outcomes"], customers=paths["customers"], survey=paths["survey"],
              segment_col="segment", arm_col="touch_model")

    merged = dsce.merge_accounts(sim.dsce, ("customers", sim.customers))
    scores = dsce.dsce_index(merged[list(sim.dsce.columns)]).join(merged[["segment", "touch_model"]])
    t0 = time.perf_counter()
    dsce.group_summary(scores, group_cols=["segment", "touch_model"])
    print(f"peer  pandas group_summary on {n:,} accounts: {time.perf_counter() - t0:.2f} s")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        dsce.scorecard(sim.dsce, outcomes=sim.outcomes, customers=sim.customers, survey=sim.tables()["survey"],
                       segment_col="segment", arm_col="touch_model")
        print(f"peer  pandas scorecard (drivers included): {time.perf_counter() - t0:.2f} s")
        t0 = time.perf_counter()
        dsce.scorecard(paths["dsce"], max_rows_pulled=0, **kw)
        print(f"duckdb scorecard, aggregates only (max_rows_pulled=0): {time.perf_counter() - t0:.2f} s")
        t0 = time.perf_counter()
        dsce.scorecard(paths["dsce"], **kw)
        print(f"duckdb scorecard, rows pulled for scores/drivers/trend: {time.perf_counter() - t0:.2f} s")
    con = duckdb_connection()
    t0 = time.perf_counter()
    t = con.read_parquet(paths["dsce"])
    t.aggregate(s=t.journey.sum()).to_pyarrow()
    print(f"floor duckdb read + one sum: {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
