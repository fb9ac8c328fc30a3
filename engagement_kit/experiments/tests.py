"""Experiment-only methods: CUPED from sufficient statistics and the batched raw-row methods.

The shared two-sample statistics (Welch and z differences of means, relative
differences, the delta-method ratio) live in :mod:`engagement_kit.stats.means`.

- CUPED (Deng et al. 2013) with several covariates: ``theta`` from the pooled
  within-arm covariance of the two arms compared, ``y - theta'(x - mean_x)``, then
  Welch on the adjusted values.
- OLS with HC1 errors, Mann-Whitney U and the percentile bootstrap, each batched
  over leading axes so thousands of simulated experiments run in one call.

Example
-------
>>> import numpy as np
>>> round(float(mann_whitney_p(np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0]))), 2)
0.1
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["cuped_moments", "ols_hc1", "mann_whitney_p", "bootstrap_diff"]


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
    # pinv (not solve): a constant or collinear covariate gets weight 0 instead of an error;
    # a cell without customers (e.g. a monitoring look before the first arrival) has NaN sums,
    # on which pinv's SVD fails: its theta is NaN instead
    finite = np.isfinite(cxx).all(axis=(-2, -1))
    theta = np.einsum("...ij,...j->...i", np.linalg.pinv(np.where(finite[..., None, None], cxx, 0.0)), cxy)
    theta = np.where(finite[..., None], theta, np.nan)
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
