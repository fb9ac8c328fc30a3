"""Benchmark: speed, recovery and calibration of the targeting analysis (issue: who should get
which touch model).

Prints (seeded):
1. Time of fit + evaluation (:func:`engagement_kit.targeting.targeting_policy`, gradient
   boosting, ``--folds`` folds (default 2: at this size each model trains on 500,000
   customers), ``--threads`` threads) for 1,000,000 customers x 3 arms x 10 features
   (target <= 60 s on 2 cores).
2. Recovery at 50,000 customers (gradient boosting): the share of the oracle's value gain over
   the best blanket policy that the learned policy captures (its true value from the
   simulator; target >= 0.80) and the correlation of estimated and true effects, per seed.
3. Calibration, the full size of the issue: 500 replicates of 2,000 customers (linear
   learner, 2 folds): coverage of the 95 % intervals of every policy's value (target in
   [0.93, 0.97]) and, in the null setting, the share of replicates declaring the learned
   policy better than the best blanket policy (target <= 0.05); Wilson 95 % intervals.
   The CI test (tests/test_targeting.py, marked slow) runs 300 replicates.
Run: `.venv/bin/python benchmarks/bench_targeting.py [--skip-timing] [--reps 500]`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from statsmodels.stats.proportion import proportion_confint

from engagement_kit.simulate import TARGETING_COSTS, simulate_targeting
from engagement_kit.targeting import targeting_policy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_targeting import ARMS, FEATURES, ORACLE, _fit, _true_learned_value


def rate(hits: int, n: int) -> str:
    lo, hi = proportion_confint(hits, n, method="wilson")
    return f"{hits / n:.4f} [{lo:.4f}, {hi:.4f}]"


def timing(folds: int, n_threads: int) -> None:
    sim = simulate_targeting(1_000_000, seed=1, n_noise_features=5)
    feats = FEATURES + [f"noise_{j}" for j in range(1, 6)]
    t = time.perf_counter()
    r = targeting_policy(sim.customers, arm_col="touch_model", control="no_touch", value_metric="revenue",
                         costs=TARGETING_COSTS, features=feats, randomised=True, segment_col="segment", folds=folds,
                         seed=1, n_threads=n_threads)
    print(f"1. fit + evaluation, 1,000,000 customers x 3 arms x {len(feats)} features, {folds} folds, "
          f"{n_threads} thread(s): {time.perf_counter() - t:.1f} s (target <= 60 s)")
    print(r.tables()["policy_value"][["policy", "value", "ci_low", "ci_high", "diff_vs_best_blanket", "p_value"]])


def recovery(seeds=(4, 5, 6)) -> None:
    fresh = simulate_targeting(200_000, seed=10**6).customers
    for seed in seeds:
        sim = simulate_targeting(50_000, seed=seed)
        r = _fit(sim.customers, learner="hgb", folds=5, oracle_cols=ORACLE, seed=seed)
        value = _true_learned_value(r, fresh, sim.truth)
        best = sim.truth["blanket_values"][sim.truth["best_blanket"]]
        cors = ", ".join(f"{a} {c:.3f}" for a, c in r.cate_correlation.items())
        print(f"2. seed {seed}: share of the oracle gain {(value - best) / sim.truth['oracle_gain']:.3f} "
              f"(target >= 0.80); CATE correlation {cors}")


def calibration(reps: int) -> None:
    fresh = simulate_targeting(50_000, seed=10**6).customers
    truth = simulate_targeting(10, seed=0).truth
    covered = {k: 0 for k in ("learned", *(f"all {a}" for a in ARMS), "oracle")}
    declared = 0
    for rep in range(reps):
        sim = simulate_targeting(2_000, seed=rep)
        r = _fit(sim.customers, oracle_cols=ORACLE, seed=rep)
        pv = r.policy_value.set_index("policy")
        truths = {f"all {a}": truth["blanket_values"][a] for a in ARMS}
        truths["oracle"] = truth["oracle_value"]
        truths["learned"] = _true_learned_value(r, fresh, truth)
        for k, v in truths.items():
            covered[k] += bool(pv.loc[k, "ci_low"] <= v <= pv.loc[k, "ci_high"])
        null = _fit(simulate_targeting(2_000, seed=10_000 + rep, heterogeneity="none").customers, seed=rep)
        declared += bool(null.policy_value.set_index("policy").loc["learned", "diff_ci_low"] > 0)
    for k, c in covered.items():
        print(f"3. coverage of the 95 % CI, {k}: {rate(c, reps)} (target [0.93, 0.97]; {reps} replicates)")
    print(f"3. null: learned policy declared better than the best blanket: {rate(declared, reps)} (target <= 0.05)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--skip-recovery", action="store_true")
    parser.add_argument("--reps", type=int, default=500)
    parser.add_argument("--folds", type=int, default=2, help="folds of the timing run")
    parser.add_argument("--threads", type=int, default=1, help="threads of the timing run (1: fastest on a shared machine)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    if not args.skip_timing:
        timing(args.folds, args.threads)
    if not args.skip_recovery:
        recovery()
    if args.reps:
        calibration(args.reps)
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
