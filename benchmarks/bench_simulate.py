"""Benchmark: simulate 1,000,000 customers with all tables in memory.

Target (issue 2): under 30 s and under 4 GB peak memory on a 2-core machine.
Run: `.venv/bin/python benchmarks/bench_simulate.py [N]` (prints the figures).
Peak memory is the process's maximum resident set size (includes the
interpreter and imported libraries).
"""

from __future__ import annotations

import os
import resource
import sys
import time


def main(n: int = 1_000_000) -> None:
    t0 = time.perf_counter()
    from engagement_kit.simulate import simulate

    t_import = time.perf_counter() - t0
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t1 = time.perf_counter()
    sim = simulate(n_customers=n, seed=1)
    wall = time.perf_counter() - t1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = {k: len(v) for k, v in sim.tables().items()}
    mem = sum(v.memory_usage(deep=True).sum() for v in sim.tables().values()) / 2**20
    print(f"simulate: {n:,} customers, cores={os.cpu_count()}")
    print(f"  rows: " + ", ".join(f"{k}={v:,}" for k, v in rows.items()))
    print(f"  wall time          {wall:8.2f} s   (target < 30 s; imports {t_import:.2f} s not counted)")
    print(f"  peak RSS           {peak:8.0f} MiB (target < 4096 MiB; {rss_before:.0f} MiB before simulate)")
    print(f"  tables in memory   {mem:8.0f} MiB")
    ok = wall < 30 and peak < 4096
    print("  PASS" if ok else "  MISS")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
