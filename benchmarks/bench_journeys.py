"""Benchmark: a full funnel by touch model over a 100,000,000-row events table.

Run from the repo root::

    .venv/bin/python benchmarks/bench_journeys.py            # generate once (cached), then time
    .venv/bin/python benchmarks/bench_journeys.py --rows 10_000_000   # smaller table

The events table is generated ONCE into ``benchmarks/.cache/`` (gitignored) in
chunks with numpy + pyarrow, so generation memory stays low. It has the shape of
the simulator's events (every framework, stage k reached after k-1 with a
touch-model shift, a loyalty loop in the decision journey), with int64 customer
ids, dictionary-encoded framework/stage columns, and rows shuffled within each
chunk of ~500,000 customers (an interleaved log, not one sorted by customer).

The funnel runs through the Ibis aggregation layer (:mod:`engagement_kit.journeys.engine`,
compiled to DuckDB here) and, as the comparison, through *today's* hand-written DuckDB SQL
(``benchmarks/journeys_sql_today.py``, a verbatim copy of the SQL path it replaced), in
the same run and on the same file; the two sets of counts are asserted equal.

Each measurement runs in a fresh child process which reports its own peak
resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``), so the figure
is that of the measured work alone (interpreter and imports included), plus
its CPU time (user + system), which is less sensitive to other load on a shared
machine than the wall time. Printed figures (``funnel`` = first arrivals,
ordered and any-order reach of every stage by touch model, Wilson intervals and
Holm-corrected tests against no-touch):

* DuckDB, the AARRR funnel over the full table, through the layer (headline; target <
  10 s, < 4 GB, and no slower than today's SQL) and through today's SQL;
* DuckDB, the funnels of all five frameworks in one pass over the full table;
* the AARRR funnel in plain pandas on a 10,000,000-row sample (the first rows of
  the table, cached as its own Parquet file) and DuckDB on the same sample, for
  the ratio.

DuckDB runs with ``threads`` = the number of cores and ``memory_limit = 3GB``
(it spills beyond that), leaving head-room under the 4 GB target.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache"
CHUNK_CUSTOMERS = 500_000

# Stage-reach base probabilities per framework (P(reach k | reached k-1) on the logit
# scale shifted by the touch model), as in the simulator.
BASE = {
    "aidae": [0.95, 0.7, 0.6, 0.5, 0.6],
    "mckinsey_cdj": [0.95, 0.7, 0.55, 0.8],
    "aarrr": [0.98, 0.7, 0.6, 0.3, 0.5],
    "laer": [0.9, 0.75, 0.4, 0.7],
    "five_levels": [0.95, 0.75, 0.55, 0.5, 0.35],
}
TAU = {"high_touch": 0.4, "low_touch": 0.2, "no_touch": 0.0}


def _stage_names() -> dict[str, tuple[str, ...]]:
    sys.path.insert(0, str(ROOT))
    from engagement_kit.frameworks import FRAMEWORKS

    return {k: FRAMEWORKS[k].stage_names for k in BASE}


def generate(n_rows: int, out: Path, seed: int = 7) -> None:
    """Write events.parquet (exactly ``n_rows`` rows) and customers.parquet into ``out``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    names = _stage_names()
    fw_names = list(BASE)
    all_stages = sorted({s for v in names.values() for s in v})
    stage_code = {s: i for i, s in enumerate(all_stages)}
    arms = np.array(list(TAU))
    segs = np.array(["smb", "mid_market", "enterprise"])
    rng = np.random.default_rng(seed)
    t0 = np.datetime64("2025-01-01T00:00:00", "us").astype(np.int64)
    ev_tmp, cu_tmp = out / "events.parquet.tmp", out / "customers.parquet.tmp"
    ev_schema = pa.schema(
        [
            ("customer_id", pa.int64()),
            ("timestamp", pa.timestamp("us")),
            ("framework", pa.dictionary(pa.int8(), pa.string())),
            ("stage", pa.dictionary(pa.int8(), pa.string())),
        ]
    )
    cu_schema = pa.schema(
        [
            ("customer_id", pa.int64()),
            ("touch_model", pa.string()),
            ("segment", pa.string()),
            ("signup_date", pa.date32()),
        ]
    )
    fw_dict = pa.array(fw_names)
    st_dict = pa.array(all_stages)
    written, next_id = 0, 1
    with pq.ParquetWriter(ev_tmp, ev_schema) as ew, pq.ParquetWriter(cu_tmp, cu_schema) as cw:
        while written < n_rows:
            n = CHUNK_CUSTOMERS
            ids = np.arange(next_id, next_id + n, dtype=np.int64)
            next_id += n
            arm_i = rng.integers(0, 3, n)
            tau = np.array([TAU[a] for a in arms])[arm_i]
            signup_days = rng.integers(0, 180, n)
            signup_us = t0 + signup_days.astype(np.int64) * 86_400_000_000
            cw.write_table(
                pa.table(
                    {
                        "customer_id": ids,
                        "touch_model": arms[arm_i],
                        "segment": segs[rng.choice(3, n, p=[0.6, 0.3, 0.1])],
                        "signup_date": (np.datetime64("2025-01-01") + signup_days).astype("datetime64[D]"),
                    },
                    schema=cu_schema,
                )
            )
            cid, ts, fw, st = [], [], [], []
            for f_i, fwk in enumerate(fw_names):
                base = np.array(BASE[fwk])
                logit = np.log(base / (1 - base))[None, :] + tau[:, None]
                p = 1 / (1 + np.exp(-logit))
                reached = np.cumprod(rng.random(p.shape) < p, axis=1).astype(bool)
                gaps = rng.exponential(5.0, p.shape) * 86_400_000_000
                times = signup_us[:, None] + np.cumsum(gaps, axis=1).astype(np.int64)
                r, k = np.nonzero(reached)
                codes = np.array([stage_code[s] for s in names[fwk]], dtype=np.int8)
                cid.append(ids[r])
                ts.append(times[r, k])
                fw.append(np.full(r.size, f_i, dtype=np.int8))
                st.append(codes[k])
                if fwk == "mckinsey_cdj":  # loyalty loop: post_purchase -> closure -> post_purchase
                    loops = rng.geometric(0.6, n) - 1
                    loops = np.where(reached[:, 3], loops, 0)
                    rr = np.repeat(np.arange(n), loops)
                    j = np.concatenate([np.arange(m) for m in loops]) if loops.sum() else np.zeros(0, int)
                    base_t = times[rr, 3] + (j * 2 + 1) * 3 * 86_400_000_000
                    for off, stg in ((0, "closure"), (86_400_000_000, "post_purchase")):
                        cid.append(ids[rr])
                        ts.append(base_t + off)
                        fw.append(np.full(rr.size, f_i, dtype=np.int8))
                        st.append(np.full(rr.size, stage_code[stg], dtype=np.int8))
            cid_a, ts_a = np.concatenate(cid), np.concatenate(ts)
            fw_a, st_a = np.concatenate(fw), np.concatenate(st)
            perm = rng.permutation(cid_a.size)[: n_rows - written]
            tbl = pa.table(
                [
                    pa.array(cid_a[perm]),
                    pa.array(ts_a[perm], type=pa.timestamp("us")),
                    pa.DictionaryArray.from_arrays(pa.array(fw_a[perm]), fw_dict),
                    pa.DictionaryArray.from_arrays(pa.array(st_a[perm]), st_dict),
                ],
                schema=ev_schema,
            )
            ew.write_table(tbl, row_group_size=1_000_000)
            written += tbl.num_rows
            print(f"  generated {written:,} rows", flush=True)
    ev_tmp.rename(out / "events.parquet")
    cu_tmp.rename(out / "customers.parquet")


def _sample(data_dir: Path, rows: int) -> Path:
    """The first ``rows`` rows of the events table as their own Parquet file (cached)."""
    import pyarrow.parquet as pq

    out = data_dir / f"events_sample_{rows}.parquet"
    if not out.exists():
        pf = pq.ParquetFile(data_dir / "events.parquet")
        tmp = out.with_suffix(".tmp")
        with pq.ParquetWriter(tmp, pf.schema_arrow) as w:
            n = 0
            for b in pf.iter_batches(batch_size=1_000_000):
                b = b.slice(0, rows - n)
                w.write_batch(b, row_group_size=1_000_000)
                n += b.num_rows
                if n >= rows:
                    break
        tmp.rename(out)
    return out


def _pandas_funnel(events, customers, fws):
    """The same funnel in plain pandas: first arrival per customer x stage, the ordered rule, counts by arm."""
    import pandas as pd

    from engagement_kit.frameworks import FRAMEWORKS

    order = pd.DataFrame(
        [(f, s.name, s.order) for f in fws for s in FRAMEWORKS[f].stages],
        columns=["framework", "stage", "stage_order"],
    )
    events["framework"] = events["framework"].astype(str)
    events["stage"] = events["stage"].astype(str)
    e = events.merge(order, on=["framework", "stage"])
    first = e.groupby(["framework", "customer_id", "stage_order"])["timestamp"].min().unstack()
    ok = pd.Series(True, index=first.index)
    flags, prev = {}, None
    for k in first.columns:
        cur = first[k]
        ok = ok & cur.notna() & (True if prev is None else cur >= prev)
        flags[f"o{k}"] = ok
        flags[f"a{k}"] = cur.notna()
        prev = cur
    fl = pd.DataFrame(flags).reset_index().merge(customers[["customer_id", "touch_model"]])
    return fl.groupby(["framework", "touch_model"])[list(flags)].sum()


def _child(kind: str, events_path: str, customers_path: str, which: str) -> None:
    """Run one measurement in this (child) process; print wall, CPU and peak RSS."""
    sys.path.insert(0, str(ROOT))
    import pandas as pd

    from engagement_kit import journeys as J

    fws = list(BASE) if which == "all" else [which]
    t = time.perf_counter()
    digest = ""
    if kind in ("duckdb", "sql"):
        if kind == "sql":  # today's DuckDB SQL, the comparison
            sys.path.insert(0, str(ROOT / "benchmarks"))
            from journeys_sql_today import SqlEngine

            eng = SqlEngine(threads=os.cpu_count() or 2, memory_limit="3GB")
        else:  # the Ibis layer
            eng = J.Engine(threads=os.cpu_count() or 2, memory_limit="3GB")
        eng.register("events", events_path)
        eng.register("customers", customers_path)
        counts = eng.funnel_counts(fws, arm_col="touch_model")
        results = [J.funnel_from_counts(counts, framework=f, control="no_touch") for f in fws]  # rates, CIs, tests
        n_rows = sum(len(r.funnel) for r in results)
        digest = ";".join(map(str, counts.to_numpy().ravel().tolist())).replace(" ", "_")
    else:
        events = pd.read_parquet(events_path)
        customers = pd.read_parquet(customers_path)
        n_rows = len(_pandas_funnel(events, customers, fws))
    wall = time.perf_counter() - t
    ru = resource.getrusage(resource.RUSAGE_SELF)
    peak_gb = ru.ru_maxrss / 1024**2  # KiB on Linux
    print(f"WALL {wall:.3f} CPU {ru.ru_utime + ru.ru_stime:.3f} PEAK {peak_gb:.3f} ROWS {n_rows} COUNTS {digest or '-'}")


def _measure(kind: str, events: Path, customers: Path, which: str) -> dict[str, float]:
    res = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--events", str(events), "--customers", str(customers),
         "--which", which],  # fmt: skip
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if res.returncode != 0:
        raise RuntimeError(res.stderr)
    words = res.stdout.split()
    out: dict = {k.lower(): float(words[words.index(k) + 1]) for k in ("WALL", "CPU", "PEAK")}
    out["counts"] = words[words.index("COUNTS") + 1]
    return out


def _line(label: str, m: dict[str, float]) -> str:
    return f"{label:<52} {m['wall']:7.2f} s wall  {m['cpu']:7.2f} s CPU  {m['peak']:5.2f} GB peak RSS"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000_000)
    ap.add_argument("--sample", type=int, default=10_000_000)
    ap.add_argument("--generate-only", action="store_true")
    ap.add_argument("--quick", action="store_true", help="skip the all-frameworks run")
    ap.add_argument("--no-sample", action="store_true", help="skip the pandas/duckdb runs on the sample")
    ap.add_argument("--child", choices=["duckdb", "sql", "pandas"])
    ap.add_argument("--events")
    ap.add_argument("--customers")
    ap.add_argument("--which", default="aarrr", help="a framework name, or 'all'")
    args = ap.parse_args()
    if args.child:
        _child(args.child, args.events, args.customers, args.which)
        return 0
    data_dir = CACHE / f"events_{args.rows}"
    if not (data_dir / "events.parquet").exists():
        print(f"generating {args.rows:,} events into {data_dir} (once) ...", flush=True)
        t = time.perf_counter()
        generate(args.rows, data_dir)
        print(f"generated in {time.perf_counter() - t:.0f} s", flush=True)
    sample = _sample(data_dir, args.sample)
    if args.generate_only:
        return 0
    ev, cu = data_dir / "events.parquet", data_dir / "customers.parquet"
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the runs (shared machine)")
    print(f"events: {args.rows:,} rows, {ev.stat().st_size / 1024**2:,.0f} MB parquet; "
          f"customers: {cu.stat().st_size / 1024**2:,.0f} MB")  # fmt: skip
    print("funnel = first arrivals, ordered + any-order reach by touch model, Wilson CIs, Holm-corrected tests")
    if not args.no_sample:
        s_duck = _measure("duckdb", sample, cu, "aarrr")
        print(_line(f"duckdb, aarrr funnel, {args.sample:,}-row sample", s_duck))
        s_pd = _measure("pandas", sample, cu, "aarrr")
        print(_line(f"pandas, aarrr funnel, {args.sample:,}-row sample", s_pd))
        print(f"  pandas / duckdb on the sample: {s_pd['wall'] / s_duck['wall']:.1f}x wall", flush=True)
    full = _measure("duckdb", ev, cu, "aarrr")
    print(_line(f"ibis layer -> duckdb, aarrr funnel, full {args.rows:,} rows", full) + "  [target < 10 s, < 4 GB]",
          flush=True)
    today = _measure("sql", ev, cu, "aarrr")
    print(_line(f"today's duckdb SQL, aarrr funnel, full {args.rows:,} rows", today), flush=True)
    full2 = _measure("duckdb", ev, cu, "aarrr")  # again: the order of the runs must not decide
    print(_line("ibis layer -> duckdb, again", full2))
    assert full["counts"] == today["counts"] == full2["counts"], "the layer and today's SQL disagree"
    best = min(full["wall"], full2["wall"])
    print(f"  layer / today's SQL: {best / today['wall']:.2f}x wall (best of 2), "
          f"{min(full['cpu'], full2['cpu']) / today['cpu']:.2f}x CPU  [target <= 1.0x; counts equal]")
    if not args.quick:
        full_all = _measure("duckdb", ev, cu, "all")
        print(_line(f"duckdb, all 5 frameworks, full {args.rows:,} rows", full_all))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
