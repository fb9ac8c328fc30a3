"""Benchmark: analyze() on 10,000,000 customers x 3 arms x 4 metrics with 2 covariates.

Prints wall time and peak memory (tracemalloc: Python + numpy allocations) of
``engagement_kit.experiments.analyze`` (Welch/z rows + CUPED rows, no bootstrap) and
the wall time of tea-tasting (installed as the ``bench`` extra) on the same data frame
in the same run, and the ratio. tea-tasting's Mean metric takes one covariate, so it
gets the first covariate for its CUPED metrics (4 plain + 4 CUPED metrics); our
CUPED uses both.

Run: ``python benchmarks/bench_experiments.py [n_customers]`` (default 10,000,000).
Targets (issue 3): under 1 s, at least 4x faster than tea-tasting.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd

from engagement_kit.experiments import analyze

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
ARMS = ["no_touch", "low_touch", "high_touch"]
METRICS = {"converted": "binary", "revenue": "continuous", "orders": "count", "sessions": "continuous"}
COVARIATES = ["prior_revenue", "prior_activity"]


def make_data(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 3, n).astype(np.int8)
    prior_rev = rng.gamma(2.0, 50.0, n)
    prior_act = rng.poisson(5, n).astype(float)
    lift = np.array([0.0, 0.05, 0.1])[arm]
    return pd.DataFrame(
        {
            "arm": pd.Categorical.from_codes(arm, categories=ARMS),
            "converted": (rng.random(n) < 0.2 + lift).astype(np.int8),
            "revenue": prior_rev * 0.5 + rng.gamma(1.0, 20.0, n) * (1 + lift),
            "orders": rng.poisson(1.0 + lift + prior_act / 10).astype(np.int64),
            "sessions": prior_act + rng.normal(0, 2, n) + lift,
            "prior_revenue": prior_rev,
            "prior_activity": prior_act,
        }
    )


def run_ours(df: pd.DataFrame) -> tuple[float, float, pd.DataFrame]:
    tracemalloc.start()
    t0 = time.perf_counter()
    eff = analyze(df, arm_col="arm", control="no_touch", metrics=METRICS, covariates=COVARIATES)
    wall = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return wall, peak / 2**20, eff


def run_tea_tasting(df: pd.DataFrame) -> tuple[float, object] | None:
    try:
        import tea_tasting as tt
    except ImportError:
        return None
    metrics = {m: tt.Mean(m) for m in METRICS}
    metrics |= {f"{m}_cuped": tt.Mean(m, covariate=COVARIATES[0]) for m in METRICS}
    exp = tt.Experiment(metrics, variant="arm")
    t0 = time.perf_counter()
    res = exp.analyze(df, control="no_touch", all_variants=True)
    return time.perf_counter() - t0, res


def main() -> None:
    t0 = time.perf_counter()
    df = make_data(N)
    print(f"data: {N:,} customers x {len(ARMS)} arms x {len(METRICS)} metrics, {len(COVARIATES)} covariates "
          f"({df.memory_usage(deep=True).sum() / 2**20:.0f} MiB, built in {time.perf_counter() - t0:.1f} s)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_ours(df.head(10_000))  # warm-up (imports, first-call overheads)
        walls = []
        for _ in range(3):
            wall, peak, eff = run_ours(df)
            walls.append(wall)
    ours = min(walls)
    print(f"engagement_kit analyze (Welch/z + CUPED, {len(eff)} rows): best of 3 {ours:.3f} s "
          f"(runs {', '.join(f'{w:.3f}' for w in walls)}), peak traced memory {peak:.0f} MiB")
    str_df = df.assign(arm=df["arm"].astype(str))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wall_str, _, _ = run_ours(str_df)
    print(f"  same with the arm column as plain strings (factorised inside): {wall_str:.3f} s")
    del str_df
    got = run_tea_tasting(df)
    if got is None:
        print("tea-tasting not installed (pip install -e '.[bench]'): no comparison")
        return
    tt_wall, res = got
    print(f"tea-tasting Experiment.analyze (4 Mean + 4 Mean-with-covariate): {tt_wall:.3f} s")
    print(f"ratio tea-tasting / engagement_kit: {tt_wall / ours:.1f}x  (targets: < 1 s, >= 4x)")
    # sanity: the unadjusted estimates agree
    worst = 0.0
    for (contr, treat), r in res.items():
        for m in METRICS:
            row = eff[(eff.metric == m) & (eff.arm == treat) & (eff.control == contr) & (eff.method != "cuped")]
            if len(row):
                worst = max(worst, abs(row["diff"].item() - r[m].effect_size), abs(row["p_value"].item() - r[m].pvalue))
    print(f"max |difference| of unadjusted effects / p-values vs tea-tasting: {worst:.2e} "
          f"(binary rows: tea-tasting uses Welch t, we use the Wald z of proportions)")


if __name__ == "__main__":
    main()
