"""Benchmark and calibration figures for the DSCE scorecard (issue 6).

Prints:
1. the wall time of the whole scorecard (scores, group summaries, drivers,
   weights, KPIs) on N simulated accounts;
2. driver calibration over R seeded replicates of ``n`` accounts: power per
   true driver, family-wise false-flag rate of the null components after Holm
   correction, and 95 % CI coverage of the working model's pseudo-true value
   (from one sample of 200,000 accounts; see tests/test_dsce_recovery.py).

Run: `.venv/bin/python benchmarks/bench_dsce.py [N] [R] [n]` (defaults 20000 200 4000).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd


def main(n_scorecard: int = 20_000, replicates: int = 200, n: int = 4000) -> None:
    from engagement_kit import dsce
    from engagement_kit.simulate import simulate

    sim = simulate(n_customers=n_scorecard, seed=20261123, truth=True)
    t0 = time.perf_counter()
    dsce.scorecard(sim.dsce, outcomes=sim.outcomes, customers=sim.customers, survey=sim.survey, weights="fitted",
                   segment_col="segment", arm_col="touch_model")
    print(f"scorecard on {n_scorecard:,} accounts: {time.perf_counter() - t0:.2f} s")

    truth = sim.truth.dsce_drivers.assign(outcome=lambda d: d["outcome"].map({"churn": "churn", "expansion": "expansion_any"}))
    structural = truth.set_index(["component", "outcome"])["coefficient"]

    def fit(size: int, seed: int) -> pd.DataFrame:
        s = simulate(n_customers=size, seed=seed, truth=False, frameworks=["aarrr"], include_types=False)
        merged = dsce.merge_accounts(s.dsce, ("outcomes", s.outcomes), ("customers", s.customers))
        return dsce.drivers(merged, adjust=["touch_model", "segment"])

    t0 = time.perf_counter()
    pseudo = fit(200_000, 31337).set_index(["component", "outcome"])["estimate"]
    print(f"pseudo-true fit on 200,000 accounts: {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    rows = pd.concat([fit(n, 10_000 + r).assign(rep=r) for r in range(replicates)], ignore_index=True)
    print(f"{replicates} replicates of {n:,} accounts: {time.perf_counter() - t0:.1f} s")
    keys = list(zip(rows["component"], rows["outcome"]))
    beta = np.array([structural.get(k, 0.0) for k in keys])
    pt = pseudo.reindex(keys).to_numpy()
    covered = (rows["ci_low"].to_numpy() <= pt) & (pt <= rows["ci_high"].to_numpy())
    nulls = rows[beta == 0]
    any_flag = nulls.groupby("rep")["flagged"].any()
    fwer = any_flag.mean()
    from scipy import stats
    from statsmodels.stats.proportion import proportion_confint

    k = int(any_flag.sum())
    fw_lo, fw_hi = proportion_confint(k, len(any_flag), method="wilson")
    fw_p = stats.binomtest(k, len(any_flag), 0.05, alternative="greater").pvalue
    power = rows[beta != 0].groupby(["component", "outcome"])["flagged"].mean()
    sign = (np.sign(rows.loc[beta != 0, "estimate"]) == np.sign(beta[beta != 0])).mean()
    print(f"family-wise false-flag rate (20 null rows, Holm over 24): {k}/{len(any_flag)} = {fwer:.3f} "
          f"(Wilson 95% CI {fw_lo:.3f}-{fw_hi:.3f}; one-sided binomial p vs 0.05: {fw_p:.3f})")
    print(f"null p-values < 0.05 (unadjusted): {(nulls['p_value'] < 0.05).mean():.4f}")
    print(f"true drivers with the right sign: {sign:.3f}")
    print("power per true driver:\n" + power.round(3).to_string())
    print(f"95% CI coverage of the pseudo-true value: all rows {covered.mean():.4f}, "
          f"true drivers {covered[beta != 0].mean():.4f}")
    print(pd.Series(covered).groupby(rows["outcome"].to_numpy()).mean().round(4).to_string())


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*args)
