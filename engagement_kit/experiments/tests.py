"""Two-sample tests computed from sufficient statistics (vectorised over any shape).

Every function takes arrays of per-arm counts, means and variances (one element
per group x comparison, or per simulated replicate) and returns arrays, so the
same code analyses one experiment, every segment, or 10,000 simulated A/A
experiments in one call.

Formulas
--------
- Welch (continuous, count): ``se = sqrt(v1/n1 + v0/n0)`` with sample variances
  (ddof 1), Welch-Satterthwaite df, t quantiles. Equals
  ``scipy.stats.ttest_ind(equal_var=False)`` and its ``confidence_interval()``.
- Wald z for proportions (binary): variances ``p(1-p)`` (ddof 0), unpooled, normal
  quantiles. Equals statsmodels ``test_proportions_2indep(method="wald")`` and
  ``confint_proportions_2indep(method="wald")``.
- NPS: the per-answer score +1/0/-1 has variance ``pP + pD - (pP - pD)^2`` (ddof 0,
  the :mod:`engagement_kit.kpis` formula); Wald z on the difference, in points.
- Ratio of means (``sum(num)/sum(den)``): delta method,
  ``Var(R) = (var_num - 2 R cov + R^2 var_den) / (n mean_den^2)``, normal quantiles.
- Relative difference ``(mean_arm - mean_control) / |mean_control|`` (= ``mean_arm /
  mean_control - 1`` for a positive control mean): CI on the log scale with the
  log-delta variances ``v/(n m^2)`` (as tea-tasting does) when both means are
  positive; otherwise the linear delta method. Undefined (NaN, with a warning)
  when the control mean is 0.
- CUPED (Deng et al. 2013) with several covariates: ``theta`` from the pooled
  within-arm covariance of the two arms compared, ``y - theta'(x - mean_x)``, then
  Welch on the adjusted values.

Example
-------
>>> r = mean_diff(n1=100, m1=1.2, v1=1.0, n0=100, m0=1.0, v0=1.0, use_t=True)
>>> round(float(r["diff"]), 3), round(float(r["p_value"]), 4)
(0.2, 0.1589)
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["mean_diff", "relative_ci", "cuped_moments", "ratio_moments"]


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
        stat = np.where(degenerate, np.where(diff == 0, 0.0, np.sign(diff) * np.inf), stat)
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


def _centered(n, s1, s2, sx, sxx, sxy):
    """Within-cell centred sums of squares / cross-products."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = sx / n[..., None]
        syy = s2 - s1 * s1 / n
        cxx = sxx - n[..., None, None] * mx[..., :, None] * mx[..., None, :]
        cxy = sxy - mx * s1[..., None]
    return mx, syy, cxx, cxy


def cuped_moments(
    pair_stats: list[tuple[np.ndarray, ...]],
) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """CUPED-adjusted means and per-row variances of the arms of one comparison.

    ``pair_stats``: for each arm compared, ``(n, s1, s2, sx, sxx, sxy)``
    (shapes ``(...)``, ``(..., p)``, ``(..., p, p)``). ``theta`` solves the pooled
    within-arm normal equations; each adjusted mean is
    ``mean_y - theta'(mean_x - pooled mean_x)`` and its per-row variance
    ``(Syy - 2 theta'Sxy + theta'Sxx theta) / (n - 1)`` (within-arm centred sums).
    Returns ``[(adjusted mean, variance)]`` per arm and ``theta``.
    """
    cents = [_centered(*s) for s in pair_stats]
    cxx = sum(c[2] for c in cents)
    cxy = sum(c[3] for c in cents)
    # pinv (not solve): a constant or collinear covariate gets weight 0 instead of an error
    theta = np.einsum("...ij,...j->...i", np.linalg.pinv(cxx), cxy)
    n_tot = sum(s[0] for s in pair_stats)
    mx_pool = sum(s[3] for s in pair_stats) / n_tot[..., None]
    out = []
    for (n, s1, _s2, _sx, _sxx, _sxy), (mx, syy, cxx_k, cxy_k) in zip(pair_stats, cents):
        with np.errstate(invalid="ignore", divide="ignore"):
            m_adj = s1 / n - np.einsum("...i,...i->...", theta, mx - mx_pool)
            ss = (
                syy
                - 2 * np.einsum("...i,...i->...", theta, cxy_k)
                + np.einsum("...i,...ij,...j->...", theta, cxx_k, theta)
            )
            out.append((m_adj, np.maximum(ss, 0.0) / (n - 1)))
    return out, theta


# ---------------------------------------------------------------- raw-row methods (batched)


def ols_hc1(y: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OLS coefficients and their HC1 covariance; batched over leading axes.

    ``y`` ``(..., n)``, ``Z`` ``(..., n, q)``. HC1 = ``n/(n-q) (Z'Z)^-1 Z' diag(e^2) Z (Z'Z)^-1``,
    statsmodels' ``fit(cov_type="HC1")``. Written with einsum (not statsmodels) so that
    thousands of simulated experiments are fitted in one call.
    """
    n, q = Z.shape[-2], Z.shape[-1]
    zz_inv = np.linalg.pinv(np.einsum("...ni,...nj->...ij", Z, Z))
    beta = np.einsum("...ij,...nj,...n->...i", zz_inv, Z, y)
    e = y - np.einsum("...ni,...i->...n", Z, beta)
    meat = np.einsum("...ni,...n,...nj->...ij", Z, e * e, Z)
    V = zz_inv @ meat @ zz_inv * (n / (n - q))
    return beta, V


def mann_whitney_p(y1: np.ndarray, y0: np.ndarray) -> np.ndarray:
    """Two-sided Mann-Whitney U p-value (scipy ``mannwhitneyu``, asymptotic with tie
    correction for large samples), batched over leading axes."""
    return np.asarray(stats.mannwhitneyu(y1, y0, alternative="two-sided", axis=-1).pvalue)


def bootstrap_diff(
    y1: np.ndarray, y0: np.ndarray, n_boot: int, alpha: float, rng: np.random.Generator, max_cells: float = 2e7
) -> dict[str, np.ndarray]:
    """Percentile bootstrap of ``mean(y1) - mean(y0)`` (each arm resampled with replacement).

    Resamples are multinomial count vectors, so every bootstrap mean is one matrix
    product ``y @ counts / n`` (BLAS) instead of a gather of resampled rows; chunks of
    at most ``max_cells`` counts bound memory. Batched over leading axes (``y1``
    ``(..., n1)``, ``y0`` ``(..., n0)``): all batch elements share the same resampling
    pattern, which leaves each element's bootstrap distribution exact (it is a
    bootstrap of that element's data) and makes thousands of simulated experiments cheap.

    Returns ``ci_low``, ``ci_high``, ``p_value`` (2 x the smaller share of bootstrap
    differences on either side of 0, capped at 1), ``se``, and the bootstrap means of each
    arm ``means1``/``means0`` ``(..., n_boot)``.
    """
    y1, y0 = np.asarray(y1, float), np.asarray(y0, float)
    batch = y1.shape[:-1]
    n1, n0 = y1.shape[-1], y0.shape[-1]
    flat1, flat0 = y1.reshape(-1, n1), y0.reshape(-1, n0)
    B = flat1.shape[0]
    b1, b0 = np.empty((B, n_boot)), np.empty((B, n_boot))
    per = max(1, int(max_cells // (n1 + n0)))
    for s in range(0, n_boot, per):
        b = min(per, n_boot - s)
        c1 = rng.multinomial(n1, np.full(n1, 1.0 / n1), size=b).astype(float)
        c0 = rng.multinomial(n0, np.full(n0, 1.0 / n0), size=b).astype(float)
        b1[:, s : s + b] = flat1 @ c1.T / n1
        b0[:, s : s + b] = flat0 @ c0.T / n0
    d = b1 - b0
    lo, hi = np.quantile(d, [alpha / 2, 1 - alpha / 2], axis=-1)
    p = np.minimum(1.0, 2 * np.minimum((d <= 0).mean(axis=-1), (d >= 0).mean(axis=-1)))
    out = {"ci_low": lo, "ci_high": hi, "p_value": p, "se": d.std(axis=-1, ddof=1)}
    out = {k: v.reshape(batch) for k, v in out.items()}
    out["means1"], out["means0"] = b1.reshape(batch + (n_boot,)), b0.reshape(batch + (n_boot,))
    return out
