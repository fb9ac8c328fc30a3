"""Calibration of the WLSMV test against plain ML on skewed ordinal items (seeded).

The true model holds for the latent responses (2 factors x 4 items, standardised loadings .7,
factor correlation .3); the answers are cut into 4 strongly skewed categories (about 69 % in
the lowest). Each replication fits the true CFA twice: DWLS with the WLSMV scaled-shifted test
on polychoric correlations (:func:`engagement_kit.measurement.ordinal.cfa_ordinal`) and
normal-theory ML on the answer codes (:func:`engagement_kit.measurement.cfa`); a test that
rejects the true model more often than alpha = .05 is miscalibrated. Prints rejection rates with
Wilson 95 % Monte-Carlo intervals, beside the nominal 5 % (the floor) and seconds per fit, and
the coverage of the WLSMV 95 % CIs of the standardised loadings (true value .7).

Run: ``PYTHONPATH=. nice -n 10 python benchmarks/bench_ordinal.py [n_reps] [n] [seed]`` (default
1000 x 500; ``200 500 7000`` repeats the samples of the in-suite test).

Last run (2026-12-01, 2 shared cores, lavaan 0.6-14): CPU per fit 124 ms here, 301 ms in lavaan.
1000 samples: WLSMV rejects 5.4 % (MC 95 % 4.2-7.0), ML 24.1 % (21.6-26.8); WLSMV loading-CI
coverage 93.9 %. The in-suite 200 samples (seed 7000): WLSMV 3.0 % (1.4-6.4), ML 21.0 % (15.9-27.2),
coverage 94.5 %.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from statsmodels.stats.proportion import proportion_confint

from engagement_kit.measurement import cfa
from engagement_kit.measurement.ordinal import cfa_ordinal, simulate_ordinal_items

SCALES = {"f1": ["a1", "a2", "a3", "a4"], "f2": ["b1", "b2", "b3", "b4"]}


def rejection_rates(n_reps: int, n: int, *, seed: int = 20261201, alpha: float = 0.05) -> dict[str, tuple]:
    """WLSMV and ML rejection counts of the true model over ``n_reps`` seeded samples of size ``n``."""
    reject = {"wlsmv": 0, "ml": 0}
    covered = 0
    seconds = {"wlsmv": 0.0, "ml": 0.0}
    for r in range(n_reps):
        d = simulate_ordinal_items(n, scales=SCALES, seed=seed + r)
        t = time.perf_counter()
        wl_fit = cfa_ordinal(d, scales=SCALES)
        wl = wl_fit.fit.iloc[0]
        covered += int(((wl_fit.loadings["ci_low"] <= 0.7) & (0.7 <= wl_fit.loadings["ci_high"])).sum())
        seconds["wlsmv"] += time.perf_counter() - t
        from scipy import stats

        reject["wlsmv"] += bool(stats.chi2.sf(wl["chi2_scaled"], wl["df_scaled"]) < alpha)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ml = cfa(d, scales=SCALES, likert_min=1, likert_max=4).fit.iloc[0]
        seconds["ml"] += time.perf_counter() - t
        reject["ml"] += bool(ml["p_value"] < alpha)
    out = {k: (reject[k], n_reps, seconds[k] / n_reps) for k in reject}
    out["coverage"] = (covered, n_reps * 8, 0.0)
    return out


LAVAAN_TIMING = """
suppressMessages(library(lavaan))
d <- read.csv(commandArgs(TRUE)[1])
m <- 'f1 =~ a1 + a2 + a3 + a4
f2 =~ b1 + b2 + b3 + b4'
t <- system.time(for (i in 1:20) cfa(m, data = d, ordered = names(d), estimator = "WLSMV"))
cat(t[["user.self"]] / 20, "\n")
"""


def speed_against_lavaan(n: int, seed: int = 1) -> None:
    """CPU seconds per WLSMV fit here and in lavaan (the peer, when R and lavaan are installed)."""
    d = simulate_ordinal_items(n, scales=SCALES, seed=seed)
    t = time.process_time()
    for _ in range(20):
        cfa_ordinal(d, scales=SCALES)
    ours = (time.process_time() - t) / 20
    peer = "lavaan not installed"
    if shutil.which("Rscript"):
        with tempfile.TemporaryDirectory() as tmp:
            path, script = Path(tmp) / "d.csv", Path(tmp) / "t.R"
            d.to_csv(path, index=False)
            script.write_text(LAVAAN_TIMING)
            run = subprocess.run(["Rscript", str(script), str(path)], capture_output=True, text=True, timeout=600)
            peer = f"{float(run.stdout.split()[-1]) * 1000:.0f} ms" if run.returncode == 0 else "lavaan failed"
    print(f"CPU per WLSMV fit (8 items, n = {n}): engagement-kit {ours * 1000:.0f} ms; peer lavaan 0.6 {peer}")


def main() -> None:
    n_reps = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20261201  # 7000: the samples of the in-suite test
    if n_reps >= 1000:
        speed_against_lavaan(n)
    print(f"true 2-factor model, 8 skewed 4-category items, n = {n}, {n_reps} replications, alpha = .05")
    for name, (k, total, sec) in rejection_rates(n_reps, n, seed=seed).items():
        lo, hi = proportion_confint(k, total, alpha=0.05, method="wilson")
        if name == "coverage":
            print(f"WLSMV 95% CI coverage of the 8 loadings {k / total:6.3f}  (MC 95% {lo:.3f}-{hi:.3f}, "
                  "intervals within a sample are correlated)  nominal 0.950")
            continue
        print(f"{name:<6s} rejection rate {k / total:6.3f}  (MC 95% {lo:.3f}-{hi:.3f})  nominal 0.050  "
              f"{sec * 1000:6.1f} ms per fit")


if __name__ == "__main__":
    main()
