"""Effects per segment and the arm x segment interaction test.

Subgroup p-values alone do not show that effects differ between segments; the
interaction test does. For each metric it tests H0: "the effect of every arm vs
the control is the same in every segment", a Wald test with
``(n_segments - 1) x (n_arms - 1)`` degrees of freedom on the cell means of the
saturated model ``y ~ arm * segment`` with heteroskedasticity-robust HC2
variances. In a saturated model HC2 gives each cell mean the variance
``s^2 / n`` (sample variance, ddof 1), so the test is a function of the
sufficient statistics and equals statsmodels
``OLS.from_formula("y ~ C(arm) * C(segment)").fit(cov_type="HC2").wald_test(<interaction terms>, use_f=False)``
(a linear probability model for binary metrics; the +1/0/-1 score for NPS).

``segments.csv`` columns: ``segment`` + the effects columns (see :mod:`.effects`) +
``interaction_p_value`` (the metric's interaction test, repeated per row).
``interaction.csv`` columns: ``metric, statistic, df, p_value, n_segments, method``.

A metric whose test is undefined (a segment x arm cell with fewer than 2 customers, or
constant within a cell, as with rare conversions in a small segment) gets a row with
NaN statistic and p-value, ``method = "not computed: <reason>"`` and a
``UserWarning`` saying what to merge or drop; the other metrics are still tested.

Example
-------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(2)
>>> df = pd.DataFrame({"arm": rng.choice(["c", "t"], 2000), "seg": rng.choice(["x", "y"], 2000),
...                    "y": rng.normal(size=2000)})
>>> interaction_test(df, arm_col="arm", control="c", metrics={"y": "continuous"}, segment_col="seg")["df"].tolist()
[1]
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from ..stats.means import ratio_moments
from .aggregate import codes_of, parse_metrics
from .sufficient import sufficient_statistics
from .effects import analyze, comparisons

__all__ = ["interaction_test", "segment_effects"]


def interaction_test(
    data: pd.DataFrame, *, arm_col: str, control, metrics: dict, segment_col: str
) -> pd.DataFrame:
    """Wald test of the arm x segment interaction per metric (HC2, saturated model).

    Time-to-event metrics are not covered (no sufficient-statistic form); they are skipped.
    """
    specs = [s for s in parse_metrics(metrics) if s.kind != "time_to_event"]
    if not specs:
        raise ValueError("interaction_test needs at least one non-survival metric")
    a_codes = codes_of(data, arm_col)
    g_codes = codes_of(data, segment_col)
    agg = sufficient_statistics(data, arm_col, specs, None, segment_col, arm_codes=a_codes, group_codes=g_codes)
    arms, groups = agg.arms, agg.groups
    G, K = len(groups), len(arms)
    if G < 2:
        raise ValueError(f"segment column {segment_col!r} has a single level {groups}; nothing to interact")
    c = comparisons(arms, control)[0][1]
    others = [k for k in range(K) if k != c]
    # contrast matrix on the cell means vector (g-major): d[g,k] - d[0,k], d[g,k] = mu[g,k] - mu[g,c]
    R = np.zeros(((G - 1) * len(others), G * K))
    r = 0
    for g in range(1, G):
        for k in others:
            R[r, g * K + k] += 1
            R[r, g * K + c] -= 1
            R[r, k] -= 1
            R[r, c] += 1
            r += 1
    rows = []
    for spec in specs:
        ms = agg.stats[spec.name]
        reason = None
        if np.any(ms.n < 2):
            g, k = np.argwhere(ms.n < 2)[0]
            reason = (f"segment {groups[g]!r} x arm {arms[k]!r} has fewer than 2 customers; "
                      f"merge small segments before testing the interaction")
        else:
            if spec.kind == "ratio":
                mu, vm = ratio_moments(ms.n, ms.s1, ms.s2, ms.d1, ms.d2, ms.nd)
            else:
                mu, vm = ms.mean, ms.var(1) / ms.n
            if np.any(vm == 0):
                g, k = np.argwhere(vm == 0)[0]
                reason = (f"constant in segment {groups[g]!r} x arm {arms[k]!r}, so the robust interaction "
                          f"test is undefined; merge segments or drop the metric")
        if reason is not None:
            warnings.warn(f"metric {spec.name!r}: {reason}", UserWarning, stacklevel=2)
            rows.append({"metric": spec.name, "statistic": np.nan, "df": R.shape[0], "p_value": np.nan,
                         "n_segments": G, "method": f"not computed: {reason.split(';')[0]}"})
            continue
        est = R @ mu.ravel()
        cov = (R * vm.ravel()) @ R.T
        stat = float(est @ np.linalg.solve(cov, est))
        df = R.shape[0]
        rows.append(
            {"metric": spec.name, "statistic": stat, "df": df, "p_value": float(stats.chi2.sf(stat, df)),
             "n_segments": G, "method": "wald_hc2_saturated" if spec.kind != "ratio" else "wald_delta"}
        )
    return pd.DataFrame(rows)


def segment_effects(
    data: pd.DataFrame, *, arm_col: str, control, metrics: dict, segment_col: str, covariates: list[str] | None = None,
    alpha: float = 0.05, correction: str = "holm", adjustment: str | None = "cuped",
) -> pd.DataFrame:
    """Effects per segment (:func:`.analyze` with ``segment_col``) plus each metric's
    ``interaction_p_value``. ``p_adjusted`` corrects over segments x arms x metrics per method."""
    eff = analyze(data, arm_col=arm_col, control=control, metrics=metrics, covariates=covariates,
                  segment_col=segment_col, alpha=alpha, correction=correction, adjustment="cuped" if adjustment in ("cuped", "both", "ancova") else None)
    inter = interaction_test(data, arm_col=arm_col, control=control, metrics=metrics, segment_col=segment_col)
    return eff.merge(inter[["metric", "p_value"]].rename(columns={"p_value": "interaction_p_value"}),
                     on="metric", how="left")
