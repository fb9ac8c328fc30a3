"""Maximum-likelihood confirmatory factor models for one or several groups.

Why our own estimator: semopy (the maintained Python SEM library) fits single-group
CFA and reproduces lavaan, but its multi-group routine fits each group separately
(no cross-group equality constraints), it reports neither SRMR nor the RMSEA
interval, and it gives no standard errors for standardised loadings. Measurement
invariance needs one likelihood over all groups with loadings / intercepts held
equal, so this module implements the standard normal-theory ML fit (as lavaan
does, ``likelihood="normal"``) with:

* parameters: loadings (marker item of each factor fixed to 1), factor
  (co)variances, residual variances (diagonal), item intercepts and factor means
  (factor means fixed to 0 unless intercepts are held equal, then free in groups
  2..G); equality constraints share one parameter across groups;
* fit function ``F = sum_g (n_g/N) [log|Sigma_g| + tr(S_g Sigma_g^-1) - log|S_g| - p
  + (m_g - mu_g)' Sigma_g^-1 (m_g - mu_g)]`` with ML (divide-by-n) covariances,
  ``chi2 = N F`` (lavaan's convention; semopy's chi2 equals it);
* Fisher scoring with step halving; the Jacobian of the model-implied moments
  is taken by central differences, which is exact here because every moment is at
  most quadratic in any single parameter;
* expected-information standard errors (lavaan's default), ``cov = (N/2 H)^-1``.

Checked against semopy (single group: chi2, estimates, standard errors) and against
lavaan's published Holzinger-Swineford figures (single and two-group) in
``tests/test_measurement_sem.py``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .scales import MeasurementWarning

__all__ = ["GroupMoments", "CFAEstimate", "fit_cfa_ml", "group_moments", "NotIdentifiedError"]


class NotIdentifiedError(ValueError):
    """The factor model is not identified (negative df or a singular information matrix)."""


@dataclass(frozen=True)
class GroupMoments:
    """Sufficient statistics of one group: size, item means, ML covariance (divide by n)."""

    name: object
    n: int
    mean: np.ndarray
    cov: np.ndarray


def group_moments(items: pd.DataFrame, groups: pd.Series | None = None) -> list[GroupMoments]:
    """Per-group n, means and ML covariance of complete rows (listwise deletion)."""
    complete = items.notna().all(axis=1)
    x = items[complete]
    if groups is None:
        parts = [("all", x)]
    else:
        g = groups[complete]
        parts = [(k, x[g == k]) for k in pd.Series(g.unique()).sort_values(key=lambda s: s.astype(str))]
    out = []
    for name, d in parts:
        a = d.to_numpy(dtype=float)
        n = a.shape[0]
        if n <= a.shape[1]:
            raise ValueError(
                f"group {name!r} has {n} complete rows for {a.shape[1]} items; a factor model needs more rows than items"
            )
        mean = a.mean(axis=0)
        c = a - mean
        out.append(GroupMoments(name=name, n=n, mean=mean, cov=c.T @ c / n))
    return out


@dataclass
class CFAEstimate:
    """A fitted (multi-group) CFA. Matrices are per group, in item / factor order."""

    items: list[str]
    factors: list[str]
    groups: list[object]
    n: list[int]
    loadings: list[np.ndarray]
    factor_cov: list[np.ndarray]
    residual_var: list[np.ndarray]
    intercepts: list[np.ndarray]
    factor_means: list[np.ndarray]
    chi2: float
    df: int
    baseline_chi2: float
    baseline_df: int
    implied_cov: list[np.ndarray]
    sample_cov: list[np.ndarray]
    x: np.ndarray
    vcov: np.ndarray
    n_free: int
    _model: "_Model" = field(repr=False)

    @property
    def n_total(self) -> int:
        return int(sum(self.n))

    def standardized_loadings(self, alpha: float = 0.05) -> pd.DataFrame:
        """Standardised loadings (``lambda sqrt(phi) / sqrt(sigma_jj)``) with delta-method SE and CI."""
        from scipy import stats

        z = stats.norm.ppf(1 - alpha / 2)
        m = self._model
        rows = []
        for g in range(len(self.groups)):
            std = lambda x, g=g: m.standardized(x, g)  # noqa: E731
            est = std(self.x)
            jac = _jacobian(std, self.x)
            se = np.sqrt(np.einsum("ij,jk,ik->i", jac, self.vcov, jac))
            k = 0
            for j, item in enumerate(self.items):
                for f, factor in enumerate(self.factors):
                    if not m.pattern[j, f]:
                        continue
                    rows.append(
                        {
                            "group": self.groups[g],
                            "scale": factor,
                            "item": item,
                            "loading": self.loadings[g][j, f],
                            "std_loading": est[k],
                            "std_se": se[k],
                            "ci_low": est[k] - z * se[k],
                            "ci_high": est[k] + z * se[k],
                            "residual_var": self.residual_var[g][j],
                        }
                    )
                    k += 1
        return pd.DataFrame(rows)


def _jacobian(fun, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    f0 = np.atleast_1d(fun(x))
    jac = np.empty((f0.size, x.size))
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = h * max(1.0, abs(x[k]))
        jac[:, k] = (np.atleast_1d(fun(x + e)) - np.atleast_1d(fun(x - e))) / (2 * e[k])
    return jac


class _Model:
    """Parameter layout: per group, index arrays into the free-parameter vector (-1 = fixed)."""

    def __init__(self, pattern: np.ndarray, moments: list[GroupMoments], equal: frozenset[str]):
        self.pattern = pattern.astype(bool)
        p, m = pattern.shape
        self.p, self.m, self.G = p, m, len(moments)
        self.moments = moments
        markers = [int(np.flatnonzero(pattern[:, f])[0]) for f in range(m)]
        self.markers = markers
        n_par = 0
        labels: list[tuple] = []

        def new(label: tuple) -> int:
            nonlocal n_par
            labels.append(label)
            n_par += 1
            return n_par - 1

        self.L_idx, self.P_idx, self.T_idx, self.N_idx, self.K_idx = [], [], [], [], []
        shared_L = shared_N = None
        for g in range(self.G):
            if "loadings" in equal and shared_L is not None:
                L = shared_L
            else:
                L = -np.ones((p, m), dtype=int)
                for j in range(p):
                    for f in range(m):
                        if pattern[j, f] and j != markers[f]:
                            L[j, f] = new(("loading", g, j, f))
                shared_L = L
            P = -np.ones((m, m), dtype=int)
            for a in range(m):
                for b in range(a + 1):
                    P[a, b] = P[b, a] = new(("factor_cov", g, a, b))
            T = np.array([new(("residual", g, j)) for j in range(p)])
            if "intercepts" in equal and shared_N is not None:
                N = shared_N
            else:
                N = np.array([new(("intercept", g, j)) for j in range(p)])
                shared_N = N
            if "intercepts" in equal and g > 0:
                K = np.array([new(("factor_mean", g, f)) for f in range(m)])
            else:
                K = -np.ones(m, dtype=int)
            self.L_idx.append(L)
            self.P_idx.append(P)
            self.T_idx.append(T)
            self.N_idx.append(N)
            self.K_idx.append(K)
        self.n_par = n_par
        self.labels = labels
        self.N = sum(mo.n for mo in moments)
        self.w = np.array([mo.n / self.N for mo in moments])

    # model matrices -----------------------------------------------------------------
    def matrices(self, x: np.ndarray, g: int):
        L = np.where(self.L_idx[g] >= 0, x[self.L_idx[g]], 0.0)
        L[self.markers, range(self.m)] = 1.0
        P = x[self.P_idx[g]]
        T = x[self.T_idx[g]]
        nu = x[self.N_idx[g]]
        K = np.where(self.K_idx[g] >= 0, x[self.K_idx[g]], 0.0)
        return L, P, T, nu, K

    def implied(self, x: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
        L, P, T, nu, K = self.matrices(x, g)
        return L @ P @ L.T + np.diag(T), nu + L @ K

    def standardized(self, x: np.ndarray, g: int) -> np.ndarray:
        L, P, _, _, _ = self.matrices(x, g)
        sigma, _ = self.implied(x, g)
        std = L * np.sqrt(np.diag(P))[None, :] / np.sqrt(np.diag(sigma))[:, None]
        return std[self.pattern]

    def moments_vector(self, x: np.ndarray) -> np.ndarray:
        parts = []
        iu = np.triu_indices(self.p)
        for g in range(self.G):
            s, mu = self.implied(x, g)
            parts.append(s[iu])
            parts.append(mu)
        return np.concatenate(parts)

    # fit function, gradient, information ---------------------------------------------
    def objective(self, x: np.ndarray) -> float:
        total = 0.0
        for g, mo in enumerate(self.moments):
            s, mu = self.implied(x, g)
            sign, logdet = np.linalg.slogdet(s)
            if sign <= 0:
                return np.inf
            inv = np.linalg.inv(s)
            d = mo.mean - mu
            _, logdet_s = np.linalg.slogdet(mo.cov)
            f = logdet + np.trace(mo.cov @ inv) - logdet_s - self.p + d @ inv @ d
            total += self.w[g] * f
        return total

    def group_params(self, g: int) -> np.ndarray:
        """Indices of the free parameters that enter group ``g``."""
        idx = np.concatenate([self.L_idx[g].ravel(), self.P_idx[g].ravel(), self.T_idx[g], self.N_idx[g],
                              self.K_idx[g]])
        return np.unique(idx[idx >= 0])

    def _dmoments(self, x: np.ndarray, g: int, par: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """dSigma (k, p, p) and dmu (k, p) of group g w.r.t. parameters ``par``, by central
        differences (exact: every moment is at most quadratic in a single parameter)."""
        h = 1e-4
        ds = np.empty((par.size, self.p, self.p))
        dm = np.empty((par.size, self.p))
        for i, k in enumerate(par):
            e = np.zeros(x.size)
            e[k] = h
            s1, m1 = self.implied(x + e, g)
            s0, m0 = self.implied(x - e, g)
            ds[i] = (s1 - s0) / (2 * h)
            dm[i] = (m1 - m0) / (2 * h)
        return ds, dm

    def gradient_information(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Gradient of F and its expected Hessian H (information = N/2 H)."""
        grad = np.zeros(x.size)
        hess = np.zeros((x.size, x.size))
        for g, mo in enumerate(self.moments):
            par = self.group_params(g)
            ds, dm = self._dmoments(x, g, par)
            s, mu = self.implied(x, g)
            inv = np.linalg.inv(s)
            d = mo.mean - mu
            wmat = mo.cov + np.outer(d, d)
            gmat = inv - inv @ wmat @ inv
            k = par.size
            grad[par] += self.w[g] * (ds.reshape(k, -1) @ gmat.ravel() - 2 * dm @ (inv @ d))
            a = np.matmul(inv, ds)  # Sigma^-1 dSigma_k
            # tr(A_a A_b) = vec(A_a) . vec(A_b'), one matrix product
            tr = a.reshape(k, -1) @ a.transpose(0, 2, 1).reshape(k, -1).T
            hess[np.ix_(par, par)] += self.w[g] * (tr + 2 * dm @ inv @ dm.T)
        return grad, hess

    def start(self) -> np.ndarray:
        x = np.zeros(self.n_par)
        counts = np.zeros(self.n_par)
        for g, mo in enumerate(self.moments):
            S = mo.cov
            vals = {}
            phi = np.array([0.5 * S[self.markers[f], self.markers[f]] for f in range(self.m)])
            L = self.L_idx[g]
            for j in range(self.p):
                for f in range(self.m):
                    if L[j, f] >= 0:
                        vals[L[j, f]] = S[j, self.markers[f]] / phi[f]
            for a in range(self.m):
                vals[self.P_idx[g][a, a]] = phi[a]
            for j in range(self.p):
                vals[self.T_idx[g][j]] = 0.5 * S[j, j]
                vals[self.N_idx[g][j]] = mo.mean[j]
            for k, v in vals.items():
                x[k] += v
                counts[k] += 1
        return x / np.maximum(counts, 1)


def _baseline_chi2(moments: list[GroupMoments]) -> float:
    # Independence model with free means and variances per group (lavaan's baseline).
    total = 0.0
    for mo in moments:
        _, logdet = np.linalg.slogdet(mo.cov)
        total += mo.n * (np.sum(np.log(np.diag(mo.cov))) - logdet)
    return float(total)


def fit_cfa_ml(*args, **kwargs) -> CFAEstimate:
    """Fit a (multi-group) CFA by ML; ``equal`` may hold ``"loadings"`` and ``"intercepts"``.

    Arguments: ``moments`` (from :func:`group_moments`), ``pattern`` (boolean items x
    factors, True = the item loads on the factor), ``items``, ``factors``, ``equal``.
    BLAS runs single-threaded here: the matrices are small, and multi-threaded BLAS on
    a busy machine made each solve ~40x slower.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _fit_cfa_ml(*args, **kwargs)


def _fit_cfa_ml(
    moments: list[GroupMoments],
    pattern: np.ndarray,
    items: list[str],
    factors: list[str],
    equal: frozenset[str] | set[str] = frozenset(),
    max_iter: int = 200,
    tol: float = 1e-10,
) -> CFAEstimate:
    pattern = np.asarray(pattern, dtype=bool)
    p, m = pattern.shape
    if (pattern.sum(axis=0) == 0).any():
        raise NotIdentifiedError("a factor has no items; every factor needs at least one indicator")
    if (pattern.sum(axis=1) == 0).any():
        bad = [items[j] for j in np.flatnonzero(pattern.sum(axis=1) == 0)]
        raise ValueError(f"items {bad} load on no factor")
    for mo in moments:
        if np.any(np.diag(mo.cov) <= 0):
            bad = [items[j] for j in np.flatnonzero(np.diag(mo.cov) <= 0)]
            raise ValueError(
                f"items {bad} are constant in group {mo.name!r}; a factor model cannot use a constant item, drop it"
            )
        if np.linalg.matrix_rank(mo.cov) < p:
            raise ValueError(
                f"the item covariance matrix of group {mo.name!r} is singular (an item is a linear combination "
                "of others, or too few rows); drop duplicated items"
            )
    model = _Model(pattern, moments, frozenset(equal))
    G = len(moments)
    n_moments = G * (p * (p + 1) // 2 + p)
    df = n_moments - model.n_par
    if df < 0:
        raise NotIdentifiedError(
            f"the factor model is not identified: {model.n_par} free parameters for {n_moments} sample moments "
            f"(df = {df}); a factor needs at least three items, or two items and a correlation with another factor"
        )
    x = model.start()
    f = model.objective(x)
    converged = False
    for _ in range(max_iter):
        grad, hess = model.gradient_information(x)
        try:
            step = -np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            raise NotIdentifiedError(
                "the factor model is not identified (singular information matrix); check that each factor has "
                "enough items and that no two factors are perfectly redundant"
            ) from None
        t = 1.0
        while t > 1e-8:
            x_new = x + t * step
            f_new = model.objective(x_new)
            if np.isfinite(f_new) and f_new <= f + 1e-14:
                break
            t /= 2
        else:
            break
        converged = abs(f - f_new) < tol and np.max(np.abs(t * step)) < 1e-6
        x, f = x_new, f_new
        if converged:
            break
    grad, hess = model.gradient_information(x)
    eig = np.linalg.eigvalsh(hess)
    if eig.min() <= 1e-10 * max(eig.max(), 1.0):
        raise NotIdentifiedError(
            "the factor model is not identified (singular information matrix at the solution); a factor with two "
            "items needs a non-zero correlation with another factor, and no factor may be redundant"
        )
    if not converged:
        warnings.warn(
            f"CFA did not converge in {max_iter} iterations (|grad| = {np.max(np.abs(grad)):.2e}); "
            "interpret the fit with care",
            MeasurementWarning,
            stacklevel=2,
        )
    vcov = np.linalg.inv(hess) * 2.0 / model.N
    mats = [model.matrices(x, g) for g in range(G)]
    if any((mt[2] < 0).any() for mt in mats):
        warnings.warn(
            "negative residual variance (Heywood case): an item's loading is implausibly high; the solution is "
            "improper, check the item or the model",
            MeasurementWarning,
            stacklevel=2,
        )
    return CFAEstimate(
        items=list(items),
        factors=list(factors),
        groups=[mo.name for mo in moments],
        n=[mo.n for mo in moments],
        loadings=[mt[0] for mt in mats],
        factor_cov=[mt[1] for mt in mats],
        residual_var=[mt[2] for mt in mats],
        intercepts=[mt[3] for mt in mats],
        factor_means=[mt[4] for mt in mats],
        chi2=float(model.N * f),
        df=int(df),
        baseline_chi2=_baseline_chi2(moments),
        baseline_df=int(G * p * (p - 1) // 2),
        implied_cov=[model.implied(x, g)[0] for g in range(G)],
        sample_cov=[mo.cov for mo in moments],
        x=x,
        vcov=vcov,
        n_free=model.n_par,
        _model=model,
    )
