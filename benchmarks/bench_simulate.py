"""Benchmark: ``engagement-kit simulate --customers 1000000`` as a user runs it.

Targets (issues 2 and 13): the command <= 30 s wall in both ``--format csv`` and
``--format parquet`` on the 2-core machine (it was 120 s for CSV, 20 s for Parquet);
the function alone < 30 s and < 4 GB peak RSS.

Printed, in one run:

* the **command** end to end, in a child process (``python -m engagement_kit.cli
  simulate ...``: imports, generation, writing every file), for CSV and Parquet, with the
  child's CPU time and peak RSS;
* the **function** ``simulate()`` alone (generation, tables in memory);
* the **survey exports** alone (``write_demo_exports``: Qualtrics CSV, SPSS .sav, codebook);
* the **write** step alone (``Simulation.write``) for each format, and the **floor**:
  pyarrow writing the same tables (``pyarrow.csv.write_csv`` /
  ``pyarrow.parquet.write_table``, no formatting choices) - the least any writer of
  these bytes can cost here.

Run: ``nice -n 10 .venv/bin/python benchmarks/bench_simulate.py [N]``. The machine is
shared: the load average is printed before each command and at the end; CPU times are less
sensitive to other load than wall times. The commands' peak is the largest child so far.

Measured (1,000,000 customers, seed 1, ``nice -n 10``, 2 cores; s wall / s CPU):

==========================  =================================  ========================
step                        before (this morning, load 1.0)    after (load 3.5 -> 2.6)
==========================  =================================  ========================
command --format csv        36.6 / 42.7                        21.9 / 25.8
command --format parquet    20.3 / 23.8                        16.4 / 15.8
function simulate()         14.2 / 13.5, 1974 MiB              10.3 / 9.6, 1689 MiB
write csv (floor)           14.1 / 20.2 (8.6)                  9.6 / 10.9 (6.1 / 6.2)
write parquet (floor)       6.5 / 9.8 (7.0)                    3.6 / 5.8 (4.4 / 4.4)
==========================  =================================  ========================

The same commands run alternately, old and new, under the same load (5-10 on 2 cores):
CSV 45-51 s -> 33-38 s wall, 32-33 s -> 21-23 s CPU; Parquet 32-36 s -> 28-32 s wall,
20-23 s -> 18-19 s CPU. Where it went: the CSV writer searches quote characters in the
Arrow buffers instead of a regex per row, decodes dictionaries with ``take`` and formats
low-cardinality floats once per distinct value (the event log's CPU halved); the command
writes each table while the next is drawn (``simulate_to``), the Monte-Carlo truth runs
beside the tables and the event log is formatted in two halves at once; ids and labels are
built once as Arrow strings; fresh columns are not copied into 2-D blocks; scipy.stats is
no longer imported. The floor writes no ``truth_latents.csv`` (5-decimal text, DuckDB),
which is most of the CSV gap. Left: about 10 s of system time for CSV (page faults and
885 MB into the page cache), the drawing itself (the random stream is fixed by the seed).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _command(n: int, fmt: str, out: Path) -> dict[str, float]:
    """The CLI in a child process: wall (from here), the child's CPU and peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "engagement_kit.cli", "simulate", "--customers", str(n), "--seed", "1",
                    "--out", str(out), "--format", fmt], check=True, capture_output=True, cwd=ROOT)  # fmt: skip
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    size = sum(p.stat().st_size for p in out.iterdir()) / 2**20
    return {"wall": wall, "cpu": cpu, "peak": after.ru_maxrss / 1024, "mb": size}


def _floor(tables: dict, fmt: str, out: Path) -> tuple[float, float]:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    t, c = time.perf_counter(), time.process_time()
    for kind, df in tables.items():
        tbl = pa.Table.from_pandas(df, preserve_index=False)
        if fmt == "csv":
            tbl = tbl.cast(pa.schema([pa.field(f.name, pa.string() if pa.types.is_dictionary(f.type) else f.type)
                                      for f in tbl.schema]))  # fmt: skip
            pacsv.write_csv(tbl, out / f"{kind}.csv")
        else:
            pq.write_table(tbl, out / f"{kind}.parquet")
    return time.perf_counter() - t, time.process_time() - c


def main(n: int = 1_000_000) -> None:
    sys.path.insert(0, str(ROOT))
    print(f"simulate: {n:,} customers, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        for fmt in ("csv", "parquet"):
            load = os.getloadavg()[0]
            m = _command(n, fmt, tmp_path / f"cli_{fmt}")
            ok = "PASS" if m["wall"] <= 30 else "MISS"
            print(f"  command, --format {fmt:<8} {m['wall']:7.1f} s wall  {m['cpu']:7.1f} s CPU  "
                  f"{m['peak']:6.0f} MiB peak  {m['mb']:6.0f} MB written  [target <= 30 s: {ok}]  "
                  f"(load {load:.1f} before)", flush=True)
        from engagement_kit.simulate import simulate

        t, c = time.perf_counter(), time.process_time()
        sim = simulate(n_customers=n, seed=1)
        gen, gen_cpu = time.perf_counter() - t, time.process_time() - c
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  function simulate()      {gen:7.1f} s wall  {gen_cpu:7.1f} s CPU  {peak:6.0f} MiB peak RSS  "
              "[target < 30 s, < 4096 MiB]", flush=True)
        tables = sim.tables()
        for fmt in ("csv", "parquet"):
            t, c = time.perf_counter(), time.process_time()
            sim.write(tmp_path / f"write_{fmt}", fmt=fmt)
            w, w_cpu = time.perf_counter() - t, time.process_time() - c
            fl, fl_cpu = _floor(tables, fmt, tmp_path / f"floor_{fmt}")
            print(f"  write {fmt:<8} (ours)     {w:7.1f} s wall  {w_cpu:7.1f} s CPU   floor (pyarrow, same tables) "
                  f"{fl:6.1f} s wall {fl_cpu:6.1f} s CPU  -> {w_cpu / fl_cpu:4.1f}x the floor's CPU", flush=True)
        from engagement_kit.survey_files import write_demo_exports

        t, c = time.perf_counter(), time.process_time()
        write_demo_exports(sim, tmp_path / "exports", seed=1)
        ex, ex_cpu = time.perf_counter() - t, time.process_time() - c
        print(f"  survey exports (ours)    {ex:7.1f} s wall  {ex_cpu:7.1f} s CPU   (Qualtrics CSV + SPSS .sav + codebook, "
              f"{len(sim.survey):,} respondents)", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
