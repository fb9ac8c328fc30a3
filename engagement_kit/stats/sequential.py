"""Sequential inference: confidence sequences, mixture SPRT and group-sequential boundaries.

Pure functions of per-look estimates and standard errors (or of information fractions):
every function is vectorised over any leading shape, so one call analyses one experiment's
looks or 2,000 simulated experiments x 20 looks at once. The data-facing entry point is
:func:`engagement_kit.experiments.sequential.sequential`.

Formulas
--------
**Asymptotic confidence sequence** (Waudby-Smith, Arbour, Sinha, Kennedy and Ramdas,
"Time-uniform central limit theory and asymptotic confidence sequences", Annals of
Statistics 2024, Theorem 2.2, the two-sided Gaussian-mixture boundary)::

    mu_t +- sigma_t sqrt( 2 (t rho^2 + 1) / (t^2 rho^2) * log( sqrt(t rho^2 + 1) / alpha ) )

with ``sigma_t / sqrt(t)`` the standard error of the estimate after ``t`` observations.
Written as ``estimate +- se * m(x)`` with ``x = t rho^2`` and the multiplier
``m(x) = sqrt( (1 + x) / x * (log(1 + x) + 2 log(1 / alpha)) )`` (:func:`cs_multiplier`).
For a difference of two means ``t = n_arm + n_control`` and ``se^2 = v_arm/n_arm +
v_control/n_control``: the influence-function variance of the difference-in-means
estimator times ``1/t`` (their Section 3, randomised experiments, with arm-mean
regressions).

**Tuning** ``rho``: the width at a planned ``t*`` is smallest where
``x - log(1 + x) = 2 log(1/alpha)``, i.e. ``x* = -W_{-1}(-alpha^2 / e) - 1`` (Lambert W,
lower branch) and ``rho^2 = x* / t*`` (:func:`optimal_rho2`). The paper's closed-form
approximation ``rho^2 = (2 log(1/alpha) + log(1 + 2 log(1/alpha))) / t*`` is
:func:`approx_rho2`: its ``rho^2`` is 3 % smaller and its width at ``t*`` 0.003 %
wider (``m(x*) = 3.0351`` at ``alpha = 0.05``: the CS at the plan is 1.55 times the
fixed-horizon interval, the price of looking at any time).

**Anytime-valid p-value**: with ``rho`` fixed, the CS at level ``a`` excludes 0 iff
``a >= sqrt(1 + x) exp(-x z^2 / (2 (1 + x)))`` where ``z = estimate / se``; the smallest
such ``a`` is the reciprocal of the Gaussian-mixture likelihood ratio, and its running
minimum over looks is the p-value (:func:`cs_p_value`, :func:`running_min`).

**Mixture SPRT** (Johari, Koomen, Pekelis and Walsh, "Always valid inference", Operations
Research 2022, eq. (11) for the two-sample normal case; binary metrics through the normal
approximation, as in their Section 5): with ``V = se^2`` and mixing variance ``tau^2`` on the
effect scale::

    Lambda = sqrt( V / (V + tau^2) ) * exp( tau^2 d^2 / (2 V (V + tau^2)) )

(``V = 2 sigma^2 / n`` gives their ``sqrt(2s/(2s + n tau^2)) exp(n^2 tau^2 d^2 / (4 s (2s +
n tau^2)))``). The p-value is the running minimum of ``1 / Lambda``; the confidence
sequence is ``d +- sqrt( 2 V (V + tau^2) / tau^2 * log( sqrt((V + tau^2) / V) / alpha ) )``.
With ``tau^2 = rho^2 sigma^2_t`` the two coincide: the CS is an mSPRT whose mixing
variance scales with the outcome's variance.

**Group-sequential boundaries** (Lan and DeMets 1983): alpha spent up to information
fraction ``t`` is ``2 - 2 Phi(z_{1-alpha/2} / sqrt(t))`` (O'Brien-Fleming type) or
``alpha log(1 + (e - 1) t)`` (Pocock type). Two-sided symmetric boundaries ``c_k`` solve
``P(|Z_k| >= c_k, |Z_j| < c_j for j < k) = alpha(t_k) - alpha(t_{k-1})`` by the recursive
numerical integration of Armitage, McPherson and Rowe (1969) (Jennison and Turnbull 2000,
chapter 19) on the score scale ``S_k = Z_k sqrt(t_k)``, a Brownian motion with drift
``theta`` per unit of information (:func:`gs_boundaries`, :func:`gs_crossing`).
The maximum-sample-size inflation factor of a design is ``(theta_GS / theta_fixed)^2``,
``theta_fixed = z_{1-alpha/2} + z_{power}`` (:func:`gs_inflation`).

Example
-------
>>> lo, hi = asymptotic_cs(0.5, 0.1, t=1_000, t_opt=1_000)
>>> round(float(lo), 3), round(float(hi), 3)
(0.196, 0.804)
>>> [round(float(c), 3) for c in gs_boundaries([0.2, 0.4, 0.6, 0.8, 1.0], spending="obf")]
[4.877, 3.357, 2.68, 2.29, 2.031]
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, special, stats

__all__ = [
    "optimal_rho2",
    "approx_rho2",
    "cs_multiplier",
    "asymptotic_cs",
    "cs_p_value",
    "msprt_statistic",
    "msprt_cs",
    "running_min",
    "running_intersection",
    "SPENDING",
    "spend",
    "gs_boundaries",
    "gs_crossing",
    "gs_inflation",
    "gs_expected_fraction",
    "gs_repeated_p_value",
]


# --------------------------------------------------------------------------------------
# asymptotic confidence sequences (Waudby-Smith et al.)
# --------------------------------------------------------------------------------------
def optimal_rho2(t_opt: ArrayLike, alpha: float = 0.05) -> np.ndarray:
    """``rho^2`` that makes the two-sided Gaussian-mixture boundary narrowest at ``t_opt``.

    Exact minimiser: ``x = t rho^2`` solves ``x - log(1 + x) = 2 log(1/alpha)``, so
    ``x = -W_{-1}(-alpha^2/e) - 1``.

    >>> round(float(optimal_rho2(1.0, 0.05)), 3)
    8.212
    """
    x = -special.lambertw(-(alpha**2) / math.e, k=-1).real - 1.0
    return x / np.asarray(t_opt, dtype=float)


def approx_rho2(t_opt: ArrayLike, alpha: float = 0.05) -> np.ndarray:
    """The paper's closed form ``(2 log(1/alpha) + log(1 + 2 log(1/alpha))) / t_opt``."""
    L = 2 * math.log(1 / alpha)
    return (L + math.log(1 + L)) / np.asarray(t_opt, dtype=float)


def cs_multiplier(t: ArrayLike, t_opt: ArrayLike, alpha: float = 0.05, rho2: ArrayLike | None = None) -> np.ndarray:
    """``m`` such that the CS is ``estimate +- m * se`` after ``t`` observations.

    ``m = sqrt((1 + x)/x * (log(1 + x) + 2 log(1/alpha)))``, ``x = t rho^2``; ``rho^2``
    from :func:`optimal_rho2` at ``t_opt`` (tuned at the same ``alpha``) unless given.
    NaN where ``t`` < 1.
    """
    t = np.asarray(t, dtype=float)
    r2 = optimal_rho2(t_opt, alpha) if rho2 is None else np.asarray(rho2, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.where(t >= 1, t * r2, np.nan)
        return np.sqrt((1 + x) / x * (np.log1p(x) + 2 * math.log(1 / alpha)))


def asymptotic_cs(
    estimate: ArrayLike, se: ArrayLike, t: ArrayLike, t_opt: ArrayLike, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided ``1 - alpha`` asymptotic confidence sequence at each look (not intersected).

    >>> [round(float(v), 4) for v in asymptotic_cs(0.0, 1.0, t=100, t_opt=100)]
    [-3.0351, 3.0351]
    """
    est, se = np.asarray(estimate, dtype=float), np.asarray(se, dtype=float)
    half = cs_multiplier(t, t_opt, alpha) * se
    return est - half, est + half


def cs_p_value(
    estimate: ArrayLike, se: ArrayLike, t: ArrayLike, t_opt: ArrayLike, alpha: float = 0.05
) -> np.ndarray:
    """Per-look ``min(1, sqrt(1 + x) exp(-x z^2 / (2 (1 + x))))`` with ``rho`` tuned at ``alpha``.

    Its running minimum over looks (:func:`running_min`) is the anytime-valid p-value: it is
    <= ``alpha`` exactly when some CS so far excluded 0. NaN where ``se`` is NaN; 0 where
    ``se`` is 0 and the estimate is not.
    """
    est, se = np.asarray(estimate, dtype=float), np.asarray(se, dtype=float)
    t = np.asarray(t, dtype=float)
    x = t * optimal_rho2(t_opt, alpha)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        z2 = np.where(se > 0, (est / np.where(se > 0, se, 1.0)) ** 2, np.where(est == 0, 0.0, np.inf))
        log_p = 0.5 * np.log1p(x) - x * z2 / (2 * (1 + x))
        p = np.minimum(1.0, np.exp(log_p))
    return np.where(np.isnan(se) | (t < 1), np.nan, p)


def running_min(p: ArrayLike, axis: int = -1) -> np.ndarray:
    """Running minimum along the looks axis, NaN looks skipped (they keep the earlier value)."""
    a = np.asarray(p, dtype=float)
    filled = np.where(np.isnan(a), np.inf, a)
    out = np.minimum.accumulate(filled, axis=axis)
    return np.where(np.isinf(out), np.nan, out)


def running_intersection(lo: ArrayLike, hi: ArrayLike, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """The intersection of every interval so far (a CS stays valid when intersected)."""
    lo = np.where(np.isnan(lo), -np.inf, lo)
    hi = np.where(np.isnan(hi), np.inf, hi)
    lo_r, hi_r = np.maximum.accumulate(lo, axis=axis), np.minimum.accumulate(hi, axis=axis)
    return np.where(np.isinf(lo_r), np.nan, lo_r), np.where(np.isinf(hi_r), np.nan, hi_r)


# --------------------------------------------------------------------------------------
# mixture SPRT (Johari et al.)
# --------------------------------------------------------------------------------------
def msprt_statistic(diff: ArrayLike, var: ArrayLike, tau2: ArrayLike, theta0: float = 0.0) -> np.ndarray:
    """Log of the normal-mixture likelihood ratio ``Lambda`` of ``H0: effect = theta0``.

    ``var`` is the variance of the estimated difference (``2 sigma^2 / n`` with equal arms).
    """
    d = np.asarray(diff, dtype=float) - theta0
    V, tau2 = np.asarray(var, dtype=float), np.asarray(tau2, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 0.5 * np.log(V / (V + tau2)) + tau2 * d * d / (2 * V * (V + tau2))


def msprt_cs(diff: ArrayLike, var: ArrayLike, tau2: ArrayLike, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """``{theta : Lambda(theta) < 1/alpha}``: ``d +- sqrt(2V(V+tau^2)/tau^2 log(sqrt((V+tau^2)/V)/alpha))``."""
    d = np.asarray(diff, dtype=float)
    V, tau2 = np.asarray(var, dtype=float), np.asarray(tau2, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = np.sqrt(2 * V * (V + tau2) / tau2 * (0.5 * np.log((V + tau2) / V) + math.log(1 / alpha)))
    return d - half, d + half


# --------------------------------------------------------------------------------------
# group-sequential boundaries (Lan-DeMets alpha spending)
# --------------------------------------------------------------------------------------
def _spend_obf(t: np.ndarray, alpha: float) -> np.ndarray:
    # each side spends alpha/2 by the one-sided O'Brien-Fleming-type function
    # 2 - 2 Phi(z_{1 - (alpha/2)/2} / sqrt(t)) (Lan-DeMets 1983; ld98, gsDesign sfLDOF, rpact asOF)
    z = stats.norm.ppf(1 - alpha / 4)
    return np.where(t > 0, 2 * (2 - 2 * special.ndtr(z / np.sqrt(np.maximum(t, 1e-300)))), 0.0)


def _spend_pocock(t: np.ndarray, alpha: float) -> np.ndarray:
    return alpha * np.log1p((math.e - 1) * t)


#: spending function name -> ``f(t, alpha)``, the two-sided alpha spent by information fraction t.
SPENDING = {"obf": _spend_obf, "pocock": _spend_pocock}


def spend(t: ArrayLike, alpha: float = 0.05, spending: str = "obf") -> np.ndarray:
    """Cumulative two-sided alpha spent at information fraction(s) ``t`` (capped at 1).

    >>> round(float(spend(0.5, 0.05, "pocock")), 5)
    0.03101
    """
    if spending not in SPENDING:
        raise ValueError(f"spending must be one of {sorted(SPENDING)}; got {spending!r}")
    t = np.clip(np.asarray(t, dtype=float), 0.0, 1.0)
    return SPENDING[spending](t, alpha)


_SQRT2PI = math.sqrt(2 * math.pi)


def _simpson(a: float, b: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid and Simpson weights on [a, b] (``n`` odd)."""
    x = np.linspace(a, b, n)
    w = np.ones(n)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    return x, w * (b - a) / (3 * (n - 1))


def _check_fractions(fractions: ArrayLike) -> np.ndarray:
    t = np.asarray(fractions, dtype=float)
    if t.ndim != 1 or len(t) == 0 or np.any(t <= 0) or np.any(np.diff(t) <= 0):
        raise ValueError(f"information fractions must be increasing and positive; got {t.tolist()}")
    return t


def _recursion(t: np.ndarray, bounds: np.ndarray | None, alpha_steps: np.ndarray | None, theta: float, grid: int):
    """Walk the looks; solve for each boundary (``alpha_steps`` given) or use ``bounds``.

    Returns the boundaries and, per look, the probabilities of crossing above and below.
    """
    K = len(t)
    c = np.empty(K)
    up, down = np.zeros(K), np.zeros(K)
    x = w = f = wf = None  # sub-density of the score on the continuation region of the last look
    for k in range(K):
        dt = t[k] - (t[k - 1] if k else 0.0)
        sd, mu = math.sqrt(dt), theta * dt

        def cross(b: float) -> tuple[float, float]:
            if f is None:
                return float(special.ndtr((mu - b) / sd)), float(special.ndtr((-b - mu) / sd))
            return float(np.dot(wf, special.ndtr((x + mu - b) / sd))), float(np.dot(wf, special.ndtr((-b - x - mu) / sd)))

        if bounds is None:
            target = alpha_steps[k]
            if target <= 0:
                ck = np.inf
            else:
                g = lambda z: sum(cross(z * math.sqrt(t[k]))) - target  # noqa: E731
                ck = optimize.brentq(g, 0.0, 40.0, xtol=1e-10)
        else:
            ck = bounds[k]
        c[k] = ck
        b = ck * math.sqrt(t[k])
        if np.isinf(b):
            up[k] = down[k] = 0.0
            b = 12.0 * math.sqrt(t[k]) + abs(theta) * t[k]
        else:
            up[k], down[k] = cross(b)
        if k < K - 1:
            xn, wn = _simpson(-b, b, grid)
            if f is None:
                fn = np.exp(-0.5 * ((xn - mu) / sd) ** 2) / (sd * _SQRT2PI)
            else:
                fn = (np.exp(-0.5 * ((xn[:, None] - x[None, :] - mu) / sd) ** 2) / (sd * _SQRT2PI)) @ wf
            x, w, f = xn, wn, fn
            wf = w * f
    return c, up, down


def gs_boundaries(
    fractions: ArrayLike, alpha: float = 0.05, spending: str = "obf", grid: int = 401
) -> np.ndarray:
    """Two-sided symmetric Lan-DeMets boundaries ``c_k`` (reject when ``|Z_k| >= c_k``).

    ``fractions``: information fractions of the looks (increasing; the last is usually 1,
    values above 1 are treated as 1: all alpha spent). ``spending``: ``"obf"`` or ``"pocock"``.
    """
    t = _check_fractions(fractions)
    cum = spend(t, alpha, spending)
    steps = np.diff(np.concatenate([[0.0], cum]))
    c, _, _ = _recursion(t, None, steps, 0.0, grid)
    return c


def gs_crossing(
    fractions: ArrayLike, bounds: ArrayLike, theta: float = 0.0, grid: int = 401
) -> tuple[np.ndarray, np.ndarray]:
    """Per-look probabilities of stopping above and below, for drift ``theta`` (the expected
    Z at full information)."""
    t = _check_fractions(fractions)
    _, up, down = _recursion(t, np.asarray(bounds, dtype=float), None, float(theta), grid)
    return up, down


def gs_inflation(
    fractions: ArrayLike, alpha: float = 0.05, power: float = 0.8, spending: str = "obf", grid: int = 401
) -> float:
    """Maximum sample size of the group-sequential design over the fixed design's (same
    alpha, two-sided, and power): ``(theta_GS / theta_fixed)^2``.

    >>> round(gs_inflation([1.0]), 6)
    1.0
    """
    bounds = gs_boundaries(fractions, alpha, spending, grid)
    theta_fixed = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    pw = lambda th: gs_crossing(fractions, bounds, th, grid)[0].sum() - power  # noqa: E731
    theta = optimize.brentq(pw, 0.5 * theta_fixed, 2.0 * theta_fixed, xtol=1e-10)
    return float((theta / theta_fixed) ** 2)


def gs_expected_fraction(fractions: ArrayLike, bounds: ArrayLike, theta: float, grid: int = 401) -> float:
    """Expected information at stopping as a fraction of the maximum (``E[N] / N_max``)."""
    t = _check_fractions(fractions)
    up, down = gs_crossing(t, bounds, theta, grid)
    stop = up + down
    return float(np.dot(stop, t) + (1 - stop.sum()) * t[-1])


def gs_repeated_p_value(
    z: ArrayLike, fractions: ArrayLike, spending: str = "obf", grid: int = 201, rtol: float = 1e-3
) -> np.ndarray:
    """Repeated p-value at each look: the smallest alpha at which some look so far crossed
    its boundary, ``min{a : |Z_j| >= c_j(a) for some j <= k}`` (Jennison and Turnbull 2000,
    section 9.1). Bisection on ``log a`` (relative precision ``rtol``, floor 1e-12); the
    boundaries up to look ``j`` do not depend on later looks. NaN z-values never cross.
    """
    t = _check_fractions(fractions)
    z = np.abs(np.asarray(z, dtype=float))
    first = np.ones(len(t))  # smallest alpha at which look j alone crosses
    for j in range(len(t)):
        if not np.isfinite(z[j]) or z[j] == 0:
            continue
        crosses = lambda a: z[j] >= gs_boundaries(t[: j + 1], a, spending, grid)[-1]  # noqa: E731
        if not crosses(1.0 - 1e-9):
            continue
        lo, hi = math.log(1e-12), math.log(1.0 - 1e-9)
        if crosses(1e-12):
            first[j] = 1e-12
            continue
        while hi - lo > rtol:
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if crosses(math.exp(mid)) else (mid, hi)
        first[j] = math.exp(hi)
    return np.minimum.accumulate(first)
