"""Benchmark: calibration and cost of peeking-safe monitoring (issue: peeking-safe monitoring).

Prints (seeded, 2,000 experiments x 20 looks each, the issue's full size):
1. A/A: the share of experiments in which any look rejects, with its Wilson 95 % interval,
   for the confidence sequence and the mSPRT, beside the fixed-horizon p-value read at every
   look on the same runs (target: <= 0.05).
2. Simultaneous coverage of the true effect over all 20 looks (target: >= 0.95).
3. The cost, on the simulator's true effects (retained: binary; revenue: a log-normal with
   the simulated control arm's mean and SD): customers per arm of the fixed-horizon design
   (80 % power), and for the fixed design, the confidence sequence (20 looks up to the same
   planned n) and an O'Brien-Fleming-type group-sequential design (5 looks, maximum n
   inflated to keep 80 % power): power at the planned horizon and median customers per arm
   at the decision (the horizon when there is none).
Run: `.venv/bin/python benchmarks/bench_sequential.py`.
"""

from __future__ import annotations

import time

import numpy as np
from statsmodels.stats.proportion import proportion_confint

from engagement_kit.experiments.power import sample_size
from engagement_kit.experiments.sequential import max_sample_size, simulate_monitoring
from engagement_kit.simulate import simulate

E, LOOKS, ALPHA = 2_000, 20, 0.05


def rate(hits) -> str:
    k, n = int(np.sum(hits)), len(hits)
    lo, hi = proportion_confint(k, n, method="wilson")
    return f"{k / n:.4f} [{lo:.4f}, {hi:.4f}]"


def main() -> None:
    t0 = time.perf_counter()
    cases = {"binary": dict(kind="binary", baseline=0.10),
             "continuous (log-normal)": dict(kind="continuous", distribution="lognormal", baseline=100.0, sd=250.0)}  # fmt: skip
    print(f"A/A, {E:,} experiments x {LOOKS} looks, 2,000 customers per arm at the end (alpha {ALPHA})")
    for name, kw in cases.items():
        for method in ("confidence_sequence", "msprt"):
            r = simulate_monitoring(**kw, n_experiments=E, n_per_arm=2_000, n_looks=LOOKS, method=method, seed=101)
            print(f"  {name:24s} {method:20s} any look rejects {rate(r['reject'])}   fixed-horizon p at every "
                  f"look {rate((r['fixed_p'] < ALPHA).any(axis=1))}, at the end only {rate(r['fixed_p'][:, -1] < ALPHA)}")
    print(f"\nSimultaneous coverage over {LOOKS} looks, {E:,} experiments with a true effect")
    for (name, kw), effect in zip(cases.items(), (0.02, 20.0)):
        r = simulate_monitoring(**kw, effect=effect, n_experiments=E, n_per_arm=2_000, n_looks=LOOKS, seed=202)
        print(f"  {name:24s} effect {effect:g}: {rate(r['covered'])}")

    sim = simulate(n_customers=60_000, seed=7)
    truth = sim.truth.arm_effects.set_index(["metric", "arm"])
    data = sim.customers.merge(sim.outcomes, on="customer_id")
    ctrl = data[data.touch_model == "no_touch"]
    print("\nCost on the simulator's effects (vs no_touch; 80 % power planned; medians are customers per arm)")
    print(f"  {'metric':9s} {'arm':10s} {'effect':>8s} {'n fixed':>8s} | {'fixed: power':>12s} | "
          f"{'CS: power':>9s} {'median n':>8s} | {'OBF x5: n max':>13s} {'power':>6s} {'median n':>8s}")
    for metric, kind in (("retained", "binary"), ("revenue", "continuous")):
        for arm in ("high_touch", "low_touch"):
            eff = float(truth.loc[(metric, arm), "diff"])
            base = float(truth.loc[(metric, arm), "mean_control"])
            sd = None if kind == "binary" else float(ctrl[metric].std())
            kw = dict(kind="binary", baseline=base) if kind == "binary" else dict(
                kind="continuous", distribution="lognormal", baseline=base, sd=sd)  # fmt: skip
            n_fix = sample_size(kind, baseline=base, mde=eff, sd=sd, alpha=ALPHA, power=0.8)
            fixed = simulate_monitoring(**kw, effect=eff, n_experiments=E, n_per_arm=n_fix, n_looks=1, seed=303)
            cs = simulate_monitoring(**kw, effect=eff, n_experiments=E, n_per_arm=n_fix, n_looks=LOOKS, seed=303)
            plan = max_sample_size(n_fix, looks=5, alpha=ALPHA, power=0.8, spending="obf")
            n_max = int(np.ceil(plan["n_max"]))
            gs = simulate_monitoring(**kw, effect=eff, n_experiments=E, n_per_arm=n_max, n_looks=5,
                                     method="group_sequential", seed=303)  # fmt: skip
            print(f"  {metric:9s} {arm:10s} {eff:8.4g} {n_fix:8,d} | {np.mean(fixed['fixed_p'][:, -1] < ALPHA):12.3f} | "
                  f"{cs['reject'].mean():9.3f} {np.median(cs['stop_n']):8,.0f} | {n_max:13,d} "
                  f"{gs['reject'].mean():6.3f} {np.median(gs['stop_n']):8,.0f}")
    print("\nGroup-sequential maximum-sample-size inflation (alpha 0.05 two-sided, power 0.8):")
    for spending in ("obf", "pocock"):
        for k in (2, 5, 10, 20):
            p = max_sample_size(1.0, looks=k, spending=spending)
            print(f"  {spending:6s} K={k:2d}: inflation {p['inflation']:.4f}, expected n under H1 "
                  f"{p['n_expected_h1']:.3f}, under H0 {p['n_expected_h0']:.3f} (x fixed n)")
    print(f"\nwall {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
