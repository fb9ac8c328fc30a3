"""Design checks: sample ratio mismatch (SRM) and covariate balance.

``srm.csv`` columns: ``arm, n_observed, n_expected, planned_share, observed_share,
chi2, df, p_value, srm_detected`` (the test statistics repeat on every row).
``balance.csv`` columns: ``covariate, arm, control, mean_arm, mean_control, sd_arm,
sd_control, smd, p_value, imbalanced`` -- ``smd`` is the standardised mean difference
``(mean_arm - mean_control) / sqrt((sd_arm^2 + sd_control^2) / 2)``; ``imbalanced``
flags ``|smd| > smd_threshold`` (default 0.1, Austin 2009); ``p_value`` is Welch's.

Both warn loudly (:class:`DesignWarning`) when a check fails.

Example
-------
>>> import pandas as pd
>>> df = pd.DataFrame({"arm": ["a"] * 500 + ["b"] * 500})
>>> srm(df, arm_col="arm")["srm_detected"].any()
np.False_
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from ..engines import as_table, engine_of
from ..stats.means import mean_diff
from .aggregate import (
    Aggregates,
    MetricStats,
    covariate_matrix,
    factorize,
    parse_metrics,
)
from .effects import comparisons
from .sufficient import arm_labels, sufficient_statistics

__all__ = ["DesignWarning", "srm", "balance"]


class DesignWarning(UserWarning):
    """A design check failed: sample ratio mismatch or covariate imbalance."""


def srm(
    data: pd.DataFrame,
    *,
    arm_col: str,
    allocation: dict | None = None,
    alpha: float = 0.001,
) -> pd.DataFrame:
    """Chi-square goodness-of-fit test of the arm counts against the planned allocation.

    ``allocation``: arm -> planned share (normalised; default equal shares). The
    usual SRM threshold is ``alpha = 0.001`` (Fabijan et al. 2019): with large
    samples, smaller mismatches are still worth a look but not an alarm.
    Equals ``scipy.stats.chisquare(observed, expected)``.
    """
    if isinstance(data, pd.DataFrame):
        codes, arms = factorize(data[arm_col], arm_col)
        observed = np.bincount(codes, minlength=len(arms)).astype(float)
    else:  # a table held by an engine: the arm counts come out of a GROUP BY there
        arms, observed = arm_labels(data, arm_col)
    if allocation is None:
        planned = np.full(len(arms), 1 / len(arms))
    else:
        missing = [a for a in arms if a not in allocation]
        if missing:
            raise ValueError(f"allocation has no share for arms {missing}; it has {list(allocation)}")
        extra = [a for a in allocation if a not in arms and allocation[a] > 0]
        if extra:
            raise ValueError(
                f"planned arms {extra} have no rows in the data (an arm with no rows is the most "
                f"extreme sample ratio mismatch): check the assignment log"
            )
        planned = np.array([float(allocation[a]) for a in arms])
        if (planned <= 0).any():
            raise ValueError("allocation shares must be positive")
        planned = planned / planned.sum()
    expected = planned * observed.sum()
    chi2, p = stats.chisquare(observed, expected)
    detected = bool(p < alpha)
    if detected:
        warnings.warn(
            f"SAMPLE RATIO MISMATCH: arm counts {dict(zip(arms, observed.astype(int)))} differ from the "
            f"planned allocation (chi2 = {chi2:.1f}, p = {p:.2g} < {alpha}). Effects may be biased: "
            f"check assignment and logging before trusting any result.",
            DesignWarning,
            stacklevel=2,
        )
    return pd.DataFrame(
        {
            "arm": arms,
            "n_observed": observed.astype(np.int64),
            "n_expected": expected,
            "planned_share": planned,
            "observed_share": observed / observed.sum(),
            "chi2": float(chi2),
            "df": len(arms) - 1,
            "p_value": float(p),
            "srm_detected": detected,
        }
    )


def balance(
    data: pd.DataFrame,
    *,
    arm_col: str,
    control,
    covariates: list[str],
    smd_threshold: float = 0.1,
) -> pd.DataFrame:
    """Covariate balance table: means, standardised mean difference and Welch p per arm vs control.

    Non-numeric covariates (e.g. a channel label) are one-hot encoded, one row per level
    (named ``column[level]``; a missing value is in no level). ``data`` may be a table held
    by an engine: the sums and the per-arm level counts are then ``GROUP BY`` s there.
    """
    if not covariates:
        raise ValueError("balance needs at least one covariate")
    parts = {}
    if not isinstance(data, pd.DataFrame):
        agg, parts = _balance_in_engine(data, arm_col, covariates)
        return _balance_rows(agg, parts, control, smd_threshold)
    for c in covariates:
        if c not in data.columns:
            raise KeyError(f"covariate {c!r} is not in the data; columns are {list(data.columns)}")
        s = data[c]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            parts[c] = s
        else:
            for lev in sorted(s.dropna().unique(), key=str):
                parts[f"{c}[{lev}]"] = (s == lev).astype(float)
    frame = pd.DataFrame(parts)
    frame[arm_col] = data[arm_col].to_numpy()
    covariate_matrix(frame, [c for c in parts])  # validation: NaN / all-NaN errors
    specs = parse_metrics({c: "continuous" for c in parts})
    agg = sufficient_statistics(frame, arm_col, specs)
    return _balance_rows(agg, parts, control, smd_threshold)


def _balance_in_engine(data, arm_col: str, covariates: list[str]) -> tuple[Aggregates, dict]:
    """The balance table's sufficient statistics from an engine table, as the pandas path
    builds them: numeric and boolean covariates from the shared ``GROUP BY`` arm sums; a
    text (or other non-numeric) covariate as one 0/1 indicator per level (missing values
    are in no level), its per-arm level counts one ``GROUP BY`` arm, level in the engine
    (an indicator's sum and sum of squares are both its count)."""
    t = as_table(data)
    for c in covariates:
        if c not in t.columns:
            raise KeyError(f"covariate {c!r} is not in the data; columns are {list(t.columns)}")
    numeric = [c for c in covariates if t[c].type().is_numeric() or t[c].type().is_boolean()]
    arms, totals = arm_labels(data, arm_col)
    agg = Aggregates(arms=arms, groups=["all"], covariates=[], rows=np.asarray(totals, float)[None, :])
    if numeric:
        agg = sufficient_statistics(data, arm_col, parse_metrics({c: "continuous" for c in numeric}))
        for c in numeric:
            missing = int(agg.rows.sum() - agg.stats[c].n.sum())
            if missing:
                raise ValueError(f"data ({engine_of(data)}): covariate {c!r} has {missing} missing values; impute "
                                 "them (e.g. with the pre-period mean plus a missing-indicator covariate) or drop "
                                 "the covariate")
    parts: dict = {}
    for c in covariates:
        if c in numeric:
            parts[c] = None
            continue
        counts = t.group_by([arm_col, c]).aggregate(__n=t.count()).execute()
        n = agg.rows[0]
        for lev in sorted(counts[c].dropna().unique(), key=str):
            per_arm = counts[counts[c] == lev].groupby(arm_col)["__n"].sum()
            k = np.array([float(per_arm.get(a, 0)) for a in agg.arms])[None, :]
            name = f"{c}[{lev}]"
            parts[name] = None
            agg.stats[name] = MetricStats(kind="continuous", n=n[None, :].copy(), s1=k, s2=k.copy())
    return agg, parts


def _balance_rows(agg, parts: dict, control, smd_threshold: float) -> pd.DataFrame:
    pairs = comparisons(agg.arms, control)
    rows = []
    for name in parts:
        ms = agg.stats[name]
        m, v = ms.mean[0], ms.var(1)[0]
        for k, c in pairs:
            with np.errstate(invalid="ignore", divide="ignore"):
                sd_pool = np.sqrt((v[k] + v[c]) / 2)
                smd = (m[k] - m[c]) / sd_pool if sd_pool > 0 else 0.0
            r = mean_diff(ms.n[0, k], m[k], v[k], ms.n[0, c], m[c], v[c])
            rows.append(
                {
                    "covariate": name, "arm": agg.arms[k], "control": agg.arms[c],
                    "mean_arm": m[k], "mean_control": m[c], "sd_arm": np.sqrt(v[k]), "sd_control": np.sqrt(v[c]),
                    "smd": float(smd), "p_value": float(r["p_value"]), "imbalanced": bool(abs(smd) > smd_threshold),
                }
            )
    out = pd.DataFrame(rows)
    if out["imbalanced"].any():
        bad = out.loc[out["imbalanced"], ["covariate", "arm", "smd"]]
        warnings.warn(
            f"COVARIATE IMBALANCE: |SMD| > {smd_threshold} for {bad.to_dict('records')}. If assignment "
            f"was randomised this is chance or a broken assignment; report covariate-adjusted effects "
            f"(CUPED/ANCOVA) and check the assignment.",
            DesignWarning,
            stacklevel=2,
        )
    return out
