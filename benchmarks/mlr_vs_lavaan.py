"""Is the MLR rejection rate of the robust calibration ours or the method's? (issue #15)

Run: ``PYTHONPATH=. nice -n 10 python benchmarks/mlr_vs_lavaan.py [--reps 300] [--n 400] [--seed 20261201]``
(needs ``Rscript`` with lavaan; about 1 s per replication for lavaan's three fits).

Writes the first ``reps`` data sets of :func:`~engagement_kit.measurement.calibration.robust_calibration`
(same seed, same random stream: ``simulate_skewed_ordinal``) to CSV, fits each here and in
lavaan (``benchmarks/mlr_vs_lavaan.R``), and prints, per variant, the largest relative
difference of the scaling factor and the scaled statistic, the largest p-value difference,
and both rejection rates at 5 % with a Wilson 95 % Monte-Carlo interval. Variants of the
information matrix ``E`` in the Yuan-Bentler trace ``tr(A1^-1 B1) - tr(E^-1 B0)``:

* ``mlr``: lavaan's default for ``estimator = "MLR"`` (observed information, the Hessian) and ours;
* ``mlrexp``: ``information = "expected"`` (``Delta' W Delta`` at the implied moments);
* ``mlrfo``: first-order information ``E = B0``; lavaan 0.6-14 refuses it with a robust test, so
  both sides use ``tr(E^-1 B0) = npar``: ``c = (tr(A1^-1 B1) - npar) / df`` from the traces;
* ``mlm``: Satorra-Bentler (``estimator = "MLM"``).

Measured (2026-12-01, 300 replications, n = 400, seed 20261201): every variant agrees to
< 7e-7 relative and every accept / reject decision is the same; rejection at 5 %: MLR 28/300
= .093 [.065, .132], expected information .090 [.063, .128], first-order .040 [.023, .069],
MLM .083 [.057, .120], ML 154/300 = .513 [.457, .569]. At n = 2000 (200 replications,
seed 20261202): MLR 8/200 = .040 [.020, .077] in both.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from engagement_kit.measurement import robust
from engagement_kit.measurement.calibration import simulate_skewed_ordinal, wilson
from engagement_kit.measurement.factors import fit_model
from engagement_kit.measurement.sem import group_moments

VARIANTS = ("mlr", "mlrexp", "mlrfo", "mlm")


def ours(reps: int, n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The calibration's data sets (long, with ``rep``) and our statistics per replication."""
    rng = np.random.default_rng(seed)
    pat = np.ones((6, 1), bool)
    rows, data = [], []
    for r in range(1, reps + 1):
        d = simulate_skewed_ordinal(n, rng, 6)
        data.append(d.astype(int).assign(rep=r))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est, rob = fit_model(group_moments(d), pat, list(d.columns), ["f"], estimator="mlr")
            mlm = robust.robust_test(est, "mlm")
        m = est._model
        iu0, iu1, basis = robust._vech_basis(m.p)
        implied, deltas = [m.implied(est.x, 0)], [robust._delta(est, 0, iu0, iu1)]
        e_exp = deltas[0].T @ robust._weight(implied[0][0], basis) @ deltas[0]
        tr_exp, meat = robust._trace_ug("mlr", m.moments, implied, deltas, np.linalg.inv(e_exp), m.w, iu0, iu1, basis)
        tr_fo, _ = robust._trace_ug("mlr", m.moments, implied, deltas, np.linalg.inv(meat), m.w, iu0, iu1, basis)
        row = {"rep": r, "chisq": est.chi2, "df": est.df, "mlr_c": rob.scaling_factor, "mlm_c": mlm.scaling_factor,
               "mlrexp_c": tr_exp / est.df, "mlrfo_c": tr_fo / est.df}
        for v in VARIANTS:
            row[f"{v}_t"] = est.chi2 / row[f"{v}_c"]
            row[f"{v}_p"] = stats.chi2.sf(row[f"{v}_t"], est.df)
        rows.append(row)
    return pd.concat(data)[["rep", *d.columns]], pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--seed", type=int, default=20261201)
    args = ap.parse_args()
    if shutil.which("Rscript") is None:
        raise SystemExit("Rscript not found: this comparison needs R with lavaan")
    data, o = ours(args.reps, args.n, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        data.to_csv(Path(tmp) / "data.csv", index=False)
        subprocess.run(["Rscript", str(Path(__file__).with_suffix(".R")), str(Path(tmp) / "data.csv"),
                        str(Path(tmp) / "lavaan.csv")], check=True)
        lav = pd.read_csv(Path(tmp) / "lavaan.csv")
    assert (lav["rep"].to_numpy() == o["rep"].to_numpy()).all()
    reps = len(o)
    print(f"{reps} replications, n = {args.n}, seed {args.seed}: "
          f"ML chi-square max rel diff {np.max(np.abs(o['chisq'] / lav['mlr_chisq'] - 1)):.1e}")
    k = int((stats.chi2.sf(o["chisq"], o["df"]) < 0.05).sum())
    lo, hi = wilson(k, reps)
    print(f"  {'ML':<7s} rejection at 5 %: {k}/{reps} = {k / reps:.3f} [{lo:.3f}, {hi:.3f}]")
    for v in VARIANTS:
        rc = np.max(np.abs(o[f"{v}_c"] / lav[f"{v}_c"] - 1))
        rt = np.max(np.abs(o[f"{v}_t"] / lav[f"{v}_t"] - 1))
        dp = np.max(np.abs(o[f"{v}_p"] - lav[f"{v}_p"]))
        ko, kl = int((o[f"{v}_p"] < 0.05).sum()), int((lav[f"{v}_p"] < 0.05).sum())
        same = int(((o[f"{v}_p"] < 0.05) == (lav[f"{v}_p"] < 0.05)).sum())
        lo, hi = wilson(ko, reps)
        print(f"  {v:<7s} max rel diff c {rc:.1e}, T {rt:.1e}, max |dp| {dp:.1e}; same decision {same}/{reps}; "
              f"rejection ours {ko}/{reps} = {ko / reps:.3f} [{lo:.3f}, {hi:.3f}], lavaan {kl}/{reps}; "
              f"mean c {o[f'{v}_c'].mean():.3f}")


if __name__ == "__main__":
    main()
