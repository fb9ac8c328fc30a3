"""Means: t and normal intervals, the difference of two means, the delta-method ratio.

Every function is vectorised over any shape (one element per group x comparison, or
per simulated replicate), so the same code analyses one experiment, every segment,
or 10,000 simulated A/A experiments in one call.

Formulas
--------
- One mean: ``mean +- t_{n-1} se`` (:func:`t_interval`); an asymptotically normal
  estimate: ``estimate +- z se`` (:func:`z_interval`).
- Welch (continuous, count): ``se = sqrt(v1/n1 + v0/n0)`` with sample variances
  (ddof 1), Welch-Satterthwaite df, t quantiles. Equals
  ``scipy.stats.ttest_ind(equal_var=False)`` and its ``confidence_interval()``.
- Wald z for proportions (binary): variances ``p(1-p)`` (ddof 0), unpooled, normal
  quantiles. Equals statsmodels ``test_proportions_2indep(method="wald")`` and
  ``confint_proportions_2indep(method="wald")``.
- NPS: the per-answer score +1/0/-1 has variance ``pP + pD - (pP - pD)^2`` (ddof 0,
  the :mod:`engagement_kit.kpis` formula); Wald z on the difference, in points.
- Ratio of means (``sum(num)/sum(den)``): delta method,
  ``Var(R) = (var_num - 2 R cov + R^2 var_den) / (n mean_den^2)``, normal quantiles;
  from sufficient statistics (:func:`ratio_moments`) or from the rows
  (:func:`ratio_of_means`, ``Var(num - R den) / (n mean_den^2)``, the same quantity).
- Relative difference ``(mean_arm - mean_control) / |mean_control|`` (= ``mean_arm /
  mean_control - 1`` for a positive control mean): CI on the log scale with the
  log-delta variances ``v/(n m^2)`` (as tea-tasting does) when both means are
  positive; otherwise the linear delta method. Undefined (NaN, with a warning)
  when the control mean is 0.

Example
-------
>>> r = mean_diff(n1=100, m1=1.2, v1=1.0, n0=100, m0=1.0, v0=1.0, use_t=True)
>>> round(float(r["diff"]), 3), round(float(r["p_value"]), 4)
(0.2, 0.1589)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

__all__ = [
    "t_interval", "z_interval", "welch_df", "mean_diff", "relative_ci", "ratio_moments", "ratio_of_means",
]  # fmt: skip


def t_interval(estimate: ArrayLike, se: ArrayLike, df: ArrayLike, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """``estimate +- t_{df, 1-alpha/2} se``; NaN where ``df`` < 1 (one value has no interval).

    >>> [round(float(v), 4) for v in t_interval(2.5, (5 / 12) ** 0.5, 3)]
    [0.4457, 4.5543]
    """
    est, se, df = (np.asarray(a, dtype=float) for a in (estimate, se, df))
    with np.errstate(invalid="ignore"):
        half = stats.t.ppf(1 - alpha / 2, np.where(df >= 1, df, np.nan)) * se
    return est - half, est + half


def z_interval(estimate: ArrayLike, se: ArrayLike, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """``estimate +- z_{1-alpha/2} se`` (normal-theory interval).

    >>> [round(float(v), 3) for v in z_interval(1.0, 0.5)]
    [0.02, 1.98]
    """
    est, se = np.asarray(estimate, dtype=float), np.asarray(se, dtype=float)
    z = stats.norm.ppf(1 - alpha / 2)
    return est - z * se, est + z * se


def ratio_of_means(num: ArrayLike, den: ArrayLike, alpha: float = 0.05) -> tuple[float, float, float]:
    """``sum(num) / sum(den)`` with its delta-method normal CI: ``Var(num - R den) / (n mean(den)^2)``.

    NaN bounds with a single row; NaN ratio where ``den`` sums to 0.

    >>> [round(v, 4) for v in ratio_of_means([2.0, 3.0, 4.0, 3.0], [2.0, 2.0, 3.0, 3.0])]
    [1.2, 0.9692, 1.4308]
    """
    y, x = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    n = len(y)
    if x.sum() == 0:
        return np.nan, np.nan, np.nan
    ratio = y.sum() / x.sum()
    se = np.sqrt(np.var(y - ratio * x, ddof=1) / n) / x.mean() if n > 1 else np.nan
    lo, hi = z_interval(ratio, se, alpha)
    return float(ratio), float(lo), float(hi)


def _quantile(df: np.ndarray | float, level: float, use_t: bool) -> np.ndarray:
    if not use_t:
        return np.full(np.shape(df), stats.norm.ppf(level))
    df = np.asarray(df, dtype=float)
    return np.where(np.isfinite(df), stats.t.ppf(level, np.where(np.isfinite(df), df, 1.0)), stats.norm.ppf(level))


def _two_sided_p(stat: np.ndarray, df: np.ndarray, use_t: bool) -> np.ndarray:
    a = np.abs(stat)
    if not use_t:
        return 2 * stats.norm.sf(a)
    return np.where(np.isfinite(df), 2 * stats.t.sf(a, np.where(np.isfinite(df), df, 1.0)), 2 * stats.norm.sf(a))


def welch_df(vm1: np.ndarray, n1: np.ndarray, vm0: np.ndarray, n0: np.ndarray) -> np.ndarray:
    """Welch-Satterthwaite degrees of freedom from the variances of the two means."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (vm1 + vm0) ** 2 / (vm1**2 / (n1 - 1) + vm0**2 / (n0 - 1))


def relative_ci(
    m1: np.ndarray,
    vm1: np.ndarray,
    n1: np.ndarray,
    m0: np.ndarray,
    vm0: np.ndarray,
    n0: np.ndarray,
    alpha: float = 0.05,
    use_t: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Relative difference ``(m1 - m0)/|m0|`` with its CI (``vm`` = variance of each mean).

    Log scale when both means are positive (tea-tasting's interval: log-ratio
    variance ``vm1/m1^2 + vm0/m0^2`` with Welch df on those), else the linear
    delta method ``Var(R) = vm1/m0^2 + m1^2 vm0/m0^4``. NaN where ``m0 == 0``.
    """
    m1, vm1, m0, vm0 = (np.asarray(a, dtype=float) for a in (m1, vm1, m0, vm0))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ratio = m1 / m0
        pos = (m1 > 0) & (m0 > 0)
        lv1 = np.where(pos, vm1 / np.where(pos, m1, 1.0) ** 2, np.nan)
        lv0 = np.where(pos, vm0 / np.where(pos, m0, 1.0) ** 2, np.nan)
        df_log = welch_df(lv1, n1, lv0, n0) if use_t else np.inf
        q_log = _quantile(np.broadcast_to(df_log, np.shape(ratio)), 1 - alpha / 2, use_t)
        half_log = q_log * np.sqrt(lv1 + lv0)
        se_lin = np.sqrt(vm1 / m0**2 + m1**2 * vm0 / m0**4)
        df_lin = welch_df(vm1, n1, vm0, n0) if use_t else np.inf
        q_lin = _quantile(np.broadcast_to(df_lin, np.shape(ratio)), 1 - alpha / 2, use_t)
        lo = np.where(pos, ratio * np.exp(-half_log), ratio - q_lin * se_lin)
        hi = np.where(pos, ratio * np.exp(half_log), ratio + q_lin * se_lin)
        zero = m0 == 0
        # a negative baseline (e.g. an NPS below 0): report the change relative to |baseline|,
        # (m1 - m0) / |m0| = -(m1/m0 - 1), so that the sign says the direction of the change
        neg = m0 < 0
        rel, rlo, rhi = ratio - 1, lo - 1, hi - 1
        rel, rlo, rhi = np.where(neg, -rel, rel), np.where(neg, -rhi, rlo), np.where(neg, -rlo, rhi)
        return (
            np.where(zero, np.nan, rel),
            np.where(zero, np.nan, rlo),
            np.where(zero, np.nan, rhi),
        )


def mean_diff(
    n1: np.ndarray,
    m1: np.ndarray,
    v1: np.ndarray,
    n0: np.ndarray,
    m0: np.ndarray,
    v0: np.ndarray,
    alpha: float = 0.05,
    use_t: bool = True,
    vm1: np.ndarray | None = None,
    vm0: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Difference of two independent means: estimate, SE, CI, p and the relative difference.

    ``v1``/``v0`` are per-row variances (the variance of a mean is ``v/n``) unless
    ``vm1``/``vm0`` (variances of the means, e.g. delta method) are given.
    ``use_t``: Welch t (df Welch-Satterthwaite) or normal z. When both variances
    are 0 the SE is 0: p is 1 if the means are equal, else 0, and the CI collapses
    to the point (callers warn).
    """
    n1, m1, v1, n0, m0, v0 = (np.asarray(a, dtype=float) for a in (n1, m1, v1, n0, m0, v0))
    with np.errstate(invalid="ignore", divide="ignore"):
        vm1 = v1 / n1 if vm1 is None else np.asarray(vm1, dtype=float)
        vm0 = v0 / n0 if vm0 is None else np.asarray(vm0, dtype=float)
        diff = m1 - m0
        se = np.sqrt(vm1 + vm0)
        df = welch_df(vm1, n1, vm0, n0) if use_t else np.full(np.shape(diff), np.inf)
        stat = diff / se
        p = _two_sided_p(stat, df, use_t)
        q = _quantile(df, 1 - alpha / 2, use_t)
        half = q * se
    degenerate = se == 0
    if np.any(degenerate):
        p = np.where(degenerate, np.where(diff == 0, 1.0, 0.0), p)
        half = np.where(degenerate, 0.0, half)
        stat = np.where(degenerate, np.where(diff == 0, 0.0, np.copysign(np.inf, diff)), stat)  # no 0 * inf
    rel, rlo, rhi = relative_ci(m1, vm1, n1, m0, vm0, n0, alpha, use_t)
    return {
        "diff": diff,
        "se": se,
        "df": df,
        "statistic": stat,
        "p_value": p,
        "ci_low": diff - half,
        "ci_high": diff + half,
        "rel_diff": rel,
        "rel_ci_low": rlo,
        "rel_ci_high": rhi,
    }


def ratio_moments(
    n: np.ndarray, s_num: np.ndarray, s_num2: np.ndarray, s_den: np.ndarray, s_den2: np.ndarray, s_nd: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Ratio of means ``sum(num)/sum(den)`` and its delta-method variance (of the estimate)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mn, md = s_num / n, s_den / n
        vn = (s_num2 - n * mn * mn) / (n - 1)
        vd = (s_den2 - n * md * md) / (n - 1)
        cnd = (s_nd - n * mn * md) / (n - 1)
        r = mn / md
        var_r = (vn - 2 * r * cnd + r * r * vd) / (n * md * md)
    return r, np.maximum(var_r, 0.0)
