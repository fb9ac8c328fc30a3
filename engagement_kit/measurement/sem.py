"""Maximum-likelihood confirmatory factor models for one or several groups, complete or
incomplete answers (full-information ML).

Why our own estimator: semopy (the maintained Python SEM library) fits single-group
CFA and reproduces lavaan, but its multi-group routine fits each group separately
(no cross-group equality constraints), it reports neither SRMR nor the RMSEA
interval, no scaled (robust) test statistics and no standard errors for standardised
loadings. Measurement invariance needs one likelihood over all groups with loadings /
intercepts held equal, so this module implements the standard normal-theory ML fit (as
lavaan does, ``likelihood="normal"``) with:

* parameters: loadings (marker item of each factor fixed to 1), factor
  (co)variances, residual variances (diagonal, plus named residual covariances),
  item intercepts and factor means (factor means fixed to 0 unless intercepts are held
  equal, then free in groups 2..G); equality constraints share one parameter across
  groups, and ``free`` releases named shared loadings / intercepts (partial invariance);
* data as *missing-data patterns*: the rows of a group are grouped once by which items
  they answered; each pattern keeps its count, mean and ML covariance (and its rows, for
  the robust statistics). Listwise deletion is the special case of one complete pattern;
* fit function ``F = sum_patterns (n_r/N) [log|Sigma_oo| + tr(S_r Sigma_oo^-1)
  + (m_r - mu_o)' Sigma_oo^-1 (m_r - mu_o)] - F_h1`` over the observed items ``o`` of each
  pattern (ML covariances, divide by n), ``chi2 = N F`` (lavaan's convention). ``F_h1`` is
  the same function at the unrestricted (saturated) estimates: sample means and
  covariances for complete data, the EM estimates for FIML (:func:`saturated_em`), so
  ``chi2`` is the likelihood-ratio statistic against the saturated model as in lavaan;
* with unanswered items the sum over patterns is evaluated through the full precision
  matrix ``P = Sigma^-1`` and a k x k block per pattern (k unanswered items):
  ``Sigma_oo^-1 = P_oo - P_om P_mm^-1 P_mo``, ``log|Sigma_oo| = log|Sigma| + log|P_mm|``,
  so the fit function, gradient, EM step and observed information are a few row-matrix
  products instead of one q x q inverse per pattern (with answers missing cell by cell
  nearly every row is its own pattern); the pattern-by-pattern evaluation is kept as the
  reference and the fallback (``tests/test_measurement_fiml_fast.py``);
* Fisher scoring with step halving (for FIML the complete-data information at the
  current estimate is the scoring matrix); the Jacobian of the model-implied moments is
  analytic (checked against central differences in the tests);
* standard errors: expected information for complete data (lavaan's default for ML),
  observed information (the Hessian of ``F``, by central differences of the analytic
  gradient) for FIML, as lavaan with ``missing="ml"``; robust (sandwich) errors for MLM
  and MLR are in :mod:`.robust`.

Checked against semopy (single group: chi2, estimates, standard errors) and against
lavaan's published Holzinger-Swineford figures (single and two-group) in
``tests/test_measurement_sem.py``; FIML against scipy's casewise normal log-likelihood
(chi2 = 2 (logL_h1 - logL), and the estimates maximise it) in
``tests/test_measurement_robust.py``. semopy 2.3.11 was tried as the FIML reference, but
its ``Model.fit(obj="FIML")`` has no mean structure (on Holzinger-Swineford with 15 %
of answers removed it returned loadings far from the maximiser, after ~1 minute) and
``ModelMeans`` has no FIML objective.

Example
-------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> f = rng.normal(size=(400, 1))
>>> items = pd.DataFrame(f @ np.ones((1, 3)) + rng.normal(size=(400, 3)), columns=["a", "b", "c"])
>>> est = fit_cfa_ml(group_moments(items), np.ones((3, 1), bool), ["a", "b", "c"], ["f"])
>>> est.df, round(est.chi2, 6)
(0, 0.0)
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .scales import MeasurementWarning

__all__ = [
    "GroupMoments", "Pattern", "CFAEstimate", "fit_cfa_ml", "group_moments", "saturated_em", "NotIdentifiedError",
    "MISSING_METHODS",
]

MISSING_METHODS = ("listwise", "fiml")


class NotIdentifiedError(ValueError):
    """The factor model is not identified (negative df or a singular information matrix)."""


@dataclass(frozen=True)
class Pattern:
    """The rows of one group that answered the same items: ``observed`` (item indices),
    ``rows`` (n x len(observed) answers), their count, mean and ML covariance."""

    observed: np.ndarray
    rows: np.ndarray
    n: int
    mean: np.ndarray
    cov: np.ndarray


@dataclass(frozen=True)
class GroupMoments:
    """Sufficient statistics of one group: size, item means, ML covariance (divide by n).

    With ``missing="fiml"`` ``mean`` and ``cov`` are the EM (saturated-model) estimates and
    ``patterns`` holds every missing-data pattern; with listwise deletion ``patterns`` is
    the one complete pattern.
    """

    name: object
    n: int
    mean: np.ndarray
    cov: np.ndarray
    patterns: tuple[Pattern, ...] = ()
    missing: str = "listwise"


def _pattern(obs: np.ndarray, rows: np.ndarray) -> Pattern:
    mean = rows.mean(axis=0)
    c = rows - mean
    return Pattern(observed=obs, rows=rows, n=rows.shape[0], mean=mean, cov=c.T @ c / rows.shape[0])


def _patterns(a: np.ndarray) -> tuple[Pattern, ...]:
    """Group the rows of ``a`` (NaN = not answered) by missing-data pattern, once."""
    mask = ~np.isnan(a)
    # one integer per row (its answered items as bits, in chunks of 62 items): sorting
    # integers is much faster than np.unique(axis=0) on a boolean matrix
    chunks = [mask[:, i : i + 62].astype(np.int64) @ (np.int64(1) << np.arange(min(62, mask.shape[1] - i),
                                                                               dtype=np.int64))
              for i in range(0, mask.shape[1], 62)]
    code = np.stack(chunks, axis=1) if len(chunks) > 1 else chunks[0][:, None]
    _, first, inverse = np.unique(code, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(first) + 1))
    out = []
    for r in range(len(first)):
        obs = np.flatnonzero(mask[first[r]])
        if obs.size == 0:
            continue
        rows = a[order[bounds[r] : bounds[r + 1]]][:, obs]
        out.append(_pattern(obs, rows))
    return tuple(out)


@dataclass(frozen=True)
class _Batch:
    """Patterns with the same number of answered items, stacked for batched linear algebra:
    ``idx`` (R x q observed item indices), ``n`` (R), ``mean`` (R x q), ``cov`` (R x q x q)."""

    idx: np.ndarray
    n: np.ndarray
    mean: np.ndarray
    cov: np.ndarray


def _batches(patterns: tuple[Pattern, ...]) -> list[_Batch]:
    out = []
    sizes = sorted({pt.observed.size for pt in patterns})
    for q in sizes:
        sel = [pt for pt in patterns if pt.observed.size == q]
        out.append(_Batch(idx=np.array([pt.observed for pt in sel]), n=np.array([pt.n for pt in sel], dtype=float),
                          mean=np.array([pt.mean for pt in sel]), cov=np.array([pt.cov for pt in sel])))
    return out


def _scatter(p: int, idx: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """Sum the (R x q x q) blocks ``vals`` into a p x p matrix at rows / columns ``idx``."""
    flat = (idx[:, :, None] * p + idx[:, None, :]).ravel()
    return np.bincount(flat, weights=vals.ravel(), minlength=p * p).reshape(p, p)


def _scatter_vec(p: int, idx: np.ndarray, vals: np.ndarray) -> np.ndarray:
    return np.bincount(idx.ravel(), weights=vals.ravel(), minlength=p)


# The rows of a group for the precision-matrix evaluation --------------------------------
#
# With most rows their own missing-data pattern (answers missing cell by cell) a loop or a
# batch of q x q inverses per pattern (q answered items) is the whole cost of FIML. All
# that FIML needs of a pattern follows from the full precision matrix P = Sigma^-1 and a
# k x k block of it, k = the number of *unanswered* items (usually a few):
#   Sigma_oo^-1 = P_oo - P_om P_mm^-1 P_mo,   log|Sigma_oo| = log|Sigma| + log|P_mm|,
#   E[x_m - mu_m | x_o] = -P_mm^-1 P_mo (x_o - mu_o),   Cov[x_m | x_o] = P_mm^-1.
# So every row's residual, its missing part filled by the conditional mean (``fill``),
# times P gives Sigma_oo^-1 (x_o - mu_o) embedded in p items (zero at the unanswered
# ones): the fit function, its gradient, the EM step and the observed information are
# then sums of row products (a few N x p matrix products) and of k x k blocks per pattern.


@dataclass(frozen=True)
class _MissingBlock:
    """The patterns of a group with the same number k of unanswered items, their rows
    contiguous: ``rows`` (slice of the group's rows), ``miss`` (R x k unanswered items),
    ``n`` (R rows per pattern), ``pid`` (pattern of each row within the block), ``starts``
    (first row of each pattern, relative to the block), ``cells`` (the flat indices of the
    unanswered cells of the block's rows in the group's N x p matrix, row by row)."""

    rows: slice
    miss: np.ndarray
    n: np.ndarray
    pid: np.ndarray
    starts: np.ndarray
    cells: np.ndarray


@dataclass(frozen=True)
class _Rows:
    """A group's answers as one N x p matrix ``x`` (0 where unanswered), ``obs`` (1.0 where
    answered), rows ordered by number of unanswered items then pattern, in ``blocks`` by that
    number."""

    x: np.ndarray
    obs: np.ndarray
    blocks: tuple[_MissingBlock, ...]

    @property
    def n(self) -> int:
        return self.x.shape[0]

    @property
    def incomplete(self) -> bool:
        return any(bl.miss.shape[1] > 0 for bl in self.blocks)


def _rows(patterns: tuple[Pattern, ...], p: int) -> _Rows:
    k_of = np.array([p - pt.observed.size for pt in patterns])
    n_all = sum(pt.n for pt in patterns)
    x = np.zeros((n_all, p))
    obs = np.zeros((n_all, p))
    blocks = []
    start = 0
    for k in np.unique(k_of):
        sel = [patterns[i] for i in np.flatnonzero(k_of == k)]
        n = np.array([pt.n for pt in sel])
        pid = np.repeat(np.arange(len(sel)), n)
        o = np.array([pt.observed for pt in sel]).reshape(len(sel), p - k)
        at = np.arange(start, start + n.sum())
        x[at[:, None], o[pid]] = np.concatenate([pt.rows for pt in sel])
        obs[at[:, None], o[pid]] = 1.0
        miss = np.nonzero(obs[at[np.cumsum(n) - n]] == 0)[1].reshape(len(sel), k)
        blocks.append(_MissingBlock(rows=slice(start, at[-1] + 1), miss=miss, n=n.astype(float), pid=pid,
                                    starts=np.cumsum(n) - n, cells=(at[:, None] * p + miss[pid]).ravel()))
        start += n.sum()
    return _Rows(x=x, obs=obs, blocks=tuple(blocks))


@dataclass(frozen=True)
class _Fill:
    """The precision-matrix quantities of a group's rows at (Sigma, mu): ``prec`` (P),
    ``logdet`` (sum over rows of log|Sigma_oo|; NaN unless asked for), ``resid`` (x - mu, 0
    where unanswered), ``fill`` (the residuals with the unanswered items at their
    conditional mean), ``v`` (``fill @ P``: Sigma_oo^-1 (x_o - mu_o) of each row, embedded),
    ``cond`` (per block, the R x k x k conditional covariances P_mm^-1) and ``cond_sum``
    (sum over rows of the embedded conditional covariances)."""

    prec: np.ndarray
    logdet: float
    resid: np.ndarray
    fill: np.ndarray
    v: np.ndarray
    cond: tuple[np.ndarray, ...]
    cond_sum: np.ndarray


def _fill(rows: _Rows, sigma: np.ndarray, mu: np.ndarray, logdet: bool = False) -> _Fill | None:
    """See the comment above :class:`_MissingBlock`; ``None`` if Sigma is not positive definite."""
    p = sigma.shape[0]
    try:
        chol = np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        return None
    ichol = np.linalg.inv(chol)
    prec = ichol.T @ ichol
    total_logdet = rows.n * 2 * np.sum(np.log(np.diag(chol))) if logdet else np.nan
    resid = rows.x - rows.obs * mu
    fill = resid.copy()
    flat = fill.reshape(-1)
    y = (resid @ prec).reshape(-1)  # (P e)_m = P_mo e_o: the residual is 0 at the unanswered items
    cond = []
    cond_sum = np.zeros((p, p))
    for bl in rows.blocks:
        k = bl.miss.shape[1]
        if k == 0:
            cond.append(np.zeros((1, 0, 0)))
            continue
        pmm = prec[bl.miss[:, :, None], bl.miss[:, None, :]]
        try:
            if logdet:
                c = np.linalg.cholesky(pmm)
                total_logdet += np.sum(bl.n * 2 * np.sum(np.log(np.diagonal(c, axis1=1, axis2=2)), axis=1))
            cmm = np.linalg.inv(pmm)
        except np.linalg.LinAlgError:  # Sigma numerically singular: the caller evaluates pattern by pattern
            return None
        cond.append(cmm)
        ym = y[bl.cells].reshape(-1, k)
        flat[bl.cells] = -np.einsum("nij,nj->ni", cmm[bl.pid], ym).ravel()
        cond_sum += _scatter(p, bl.miss, bl.n[:, None, None] * cmm)
    return _Fill(prec=prec, logdet=float(total_logdet), resid=resid, fill=fill, v=fill @ prec, cond=tuple(cond),
                 cond_sum=cond_sum)


def saturated_em(patterns: tuple[Pattern, ...], p: int, tol: float = 1e-10,
                 max_iter: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """ML means and covariance of incomplete normal data by EM (Dempster, Laird & Rubin
    1977) on the pattern sufficient statistics: each iteration costs one small solve per
    pattern, not per row. Returns ``(mean, cov)`` (divide by n).

    >>> a = np.array([[1.0, 2.0], [2.0, np.nan], [3.0, 5.0], [4.0, 7.0], [0.5, np.nan]])
    >>> mu, cov = saturated_em(_patterns(a), 2)
    >>> round(float(mu[0]), 3)  # the first item is complete: its mean is the sample mean
    2.1
    """
    n = sum(pt.n for pt in patterns)
    if all(pt.observed.size == p for pt in patterns):
        pt = patterns[0] if len(patterns) == 1 else _pattern(np.arange(p), np.vstack([q.rows for q in patterns]))
        return pt.mean, pt.cov
    rows = _rows(patterns, p)
    cnt = rows.obs.sum(axis=0)
    mu = rows.x.sum(axis=0) / np.maximum(cnt, 1)
    sigma = np.diag(np.maximum((rows.x**2).sum(axis=0) / np.maximum(cnt, 1) - mu**2, 1e-8))
    for _ in range(max_iter):
        # E step: each row's unanswered items at their conditional mean, plus the conditional
        # covariances; M step: mean and covariance of the completed rows
        fl = _fill(rows, sigma, mu)
        if fl is None:
            raise ValueError("EM for the saturated model reached a singular covariance matrix; drop redundant items")
        shift = fl.fill.mean(axis=0)
        dev = fl.fill - shift
        mu_new = mu + shift
        sigma_new = (dev.T @ dev + fl.cond_sum) / n
        delta = max(np.max(np.abs(mu_new - mu)), np.max(np.abs(sigma_new - sigma)))
        mu, sigma = mu_new, (sigma_new + sigma_new.T) / 2
        if delta < tol:
            break
    else:
        warnings.warn(f"EM for the saturated model did not converge in {max_iter} iterations", MeasurementWarning,
                      stacklevel=2)
    return mu, sigma


def group_moments(items: pd.DataFrame, groups: pd.Series | None = None, missing: str = "listwise") -> list[GroupMoments]:
    """Per-group n, means, ML covariance and missing-data patterns.

    ``missing="listwise"``: complete rows only. ``missing="fiml"``: every row with at least
    one answered item; means and covariance are the saturated EM estimates.
    """
    if missing not in MISSING_METHODS:
        raise ValueError(f"missing must be one of {MISSING_METHODS}, not {missing!r}")
    keep = items.notna().all(axis=1) if missing == "listwise" else items.notna().any(axis=1)
    x = items[keep]
    if groups is None:
        parts = [("all", x)]
    else:
        g = groups[keep]
        parts = [(k, x[g == k]) for k in pd.Series(g.unique()).sort_values(key=lambda s: s.astype(str))]
    out = []
    p = items.shape[1]
    for name, d in parts:
        a = d.to_numpy(dtype=float)
        n = a.shape[0]
        if n <= p:
            what = "complete rows" if missing == "listwise" else "rows with an answer"
            raise ValueError(
                f"group {name!r} has {n} {what} for {p} items; a factor model needs more rows than items"
                + ("; missing='fiml' uses the incomplete rows too" if missing == "listwise" else "")
            )
        if missing == "listwise":
            pt = _pattern(np.arange(p), a)
            out.append(GroupMoments(name=name, n=n, mean=pt.mean, cov=pt.cov, patterns=(pt,)))
            continue
        answered = (~np.isnan(a)).sum(axis=0)
        if (answered < 2).any():
            bad = [items.columns[j] for j in np.flatnonzero(answered < 2)]
            raise ValueError(f"items {bad} have fewer than two answers in group {name!r}; drop them")
        pats = _patterns(a)
        mean, cov = saturated_em(pats, p)
        out.append(GroupMoments(name=name, n=n, mean=mean, cov=cov, patterns=pats, missing="fiml"))
    return out


@dataclass
class CFAEstimate:
    """A fitted (multi-group) CFA. Matrices are per group, in item / factor order.

    ``vcov`` is the covariance of the estimates used for standard errors (model-based, or
    robust after :func:`.robust.robust_test` replaced it); ``info`` is the per-respondent
    information the model-based ``vcov`` came from (``inv(info) / N``).
    """

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
    _model: _Model = field(repr=False)
    missing: str = "listwise"
    info: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_total(self) -> int:
        return int(sum(self.n))

    @property
    def moments(self) -> list[GroupMoments]:
        return self._model.moments

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

    def loading_table(self, alpha: float = 0.05) -> pd.DataFrame:
        """Unstandardised free loadings with standard errors and Wald CIs:
        ``group, scale, item, estimate, se, ci_low, ci_high``."""
        from scipy import stats

        z = stats.norm.ppf(1 - alpha / 2)
        se = np.sqrt(np.diag(self.vcov))
        rows = []
        for g in range(len(self.groups)):
            idx = self._model.L_idx[g]
            for j, item in enumerate(self.items):
                for f, factor in enumerate(self.factors):
                    k = idx[j, f]
                    if k < 0 or not self._model.pattern[j, f]:
                        continue
                    rows.append({"group": self.groups[g], "scale": factor, "item": item, "estimate": self.x[k],
                                 "se": se[k], "ci_low": self.x[k] - z * se[k], "ci_high": self.x[k] + z * se[k]})
        return pd.DataFrame(rows)


def _jacobian(fun, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    f0 = np.atleast_1d(fun(x))
    jac = np.empty((f0.size, x.size))
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = h * max(1.0, abs(x[k]))
        jac[:, k] = (np.atleast_1d(fun(x + e)) - np.atleast_1d(fun(x - e))) / (2 * e[k])
    return jac


def parse_free(free, items: list[str], factors: list[str]) -> frozenset[tuple]:
    """Named parameters in lavaan syntax -> ``("loading", j, f)`` / ``("intercept", j)`` keys.

    ``"visual=~x2"`` is the loading of item x2 on factor visual, ``"x3~1"`` the intercept
    of item x3.

    >>> sorted(parse_free(["f=~b", "a ~ 1"], ["a", "b"], ["f"]))
    [('intercept', 0), ('loading', 1, 0)]
    """
    out = set()
    for name in free or ():
        s = str(name).replace(" ", "")
        if "=~" in s:
            fac, item = s.split("=~", 1)
            if fac not in factors or item not in items:
                raise ValueError(f"free: {name!r} names no loading; use 'scale=~item' with a scale of {factors} "
                                 "and one of its items")
            out.add(("loading", items.index(item), factors.index(fac)))
        elif s.endswith("~1"):
            item = s[:-2]
            if item not in items:
                raise ValueError(f"free: {name!r} names no intercept; use 'item~1' with an item of {items}")
            out.add(("intercept", items.index(item)))
        else:
            raise ValueError(f"free: {name!r} is not a loading ('scale=~item') or an intercept ('item~1')")
    return frozenset(out)


class _Model:
    """Parameter layout: per group, index arrays into the free-parameter vector (-1 = fixed).

    ``pattern``: the loadings of the model (markers: the first item of each factor unless
    ``markers`` is given); ``extra_loadings`` / ``residual_pairs``: additional group-specific
    parameters (the candidates of modification indices); ``free``: shared parameters
    released per group; ``deviations``: shared parameters that get a per-group deviation in
    groups 2..G (the score tests of equality constraints).
    """

    def __init__(self, pattern: np.ndarray, moments: list[GroupMoments], equal: frozenset[str],
                 free: frozenset[tuple] = frozenset(), extra_loadings: np.ndarray | None = None,
                 residual_pairs: tuple[tuple[int, int], ...] = (), deviations: frozenset[tuple] = frozenset(),
                 markers: list[int] | None = None):
        self.pattern = pattern.astype(bool)
        self.equal, self.free = frozenset(equal), frozenset(free)
        p, m = pattern.shape
        self.p, self.m, self.G = p, m, len(moments)
        self.moments = moments
        self.markers = markers if markers is not None else [int(np.flatnonzero(pattern[:, f])[0]) for f in range(m)]
        extra = np.zeros((p, m), bool) if extra_loadings is None else extra_loadings.astype(bool)
        self.residual_pairs = tuple(residual_pairs)
        n_par = 0
        labels: list[tuple] = []

        def new(label: tuple) -> int:
            nonlocal n_par
            labels.append(label)
            n_par += 1
            return n_par - 1

        self.L_idx, self.P_idx, self.T_idx, self.N_idx, self.K_idx, self.R_idx = [], [], [], [], [], []
        self.DL_idx, self.DN_idx = [], []
        first_L = first_N = None
        for g in range(self.G):
            L = -np.ones((p, m), dtype=int)
            DL = -np.ones((p, m), dtype=int)
            for j in range(p):
                for f in range(m):
                    if self.pattern[j, f] and j != self.markers[f]:
                        shared = "loadings" in equal and ("loading", j, f) not in free and g > 0
                        L[j, f] = first_L[j, f] if shared else new(("loading", g, j, f))
                        if shared and ("loading", j, f) in deviations:
                            DL[j, f] = new(("loading_dev", g, j, f))
                    elif extra[j, f] and not self.pattern[j, f]:
                        L[j, f] = new(("loading", g, j, f))
            if g == 0:
                first_L = L
            P = -np.ones((m, m), dtype=int)
            for a in range(m):
                for b in range(a + 1):
                    P[a, b] = P[b, a] = new(("factor_cov", g, a, b))
            T = np.array([new(("residual", g, j)) for j in range(p)])
            R = np.array([new(("residual_cov", g, j, k)) for j, k in self.residual_pairs], dtype=int)
            N = -np.ones(p, dtype=int)
            DN = -np.ones(p, dtype=int)
            for j in range(p):
                shared = "intercepts" in equal and ("intercept", j) not in free and g > 0
                N[j] = first_N[j] if shared else new(("intercept", g, j))
                if shared and ("intercept", j) in deviations:
                    DN[j] = new(("intercept_dev", g, j))
            if g == 0:
                first_N = N
            if "intercepts" in equal and g > 0:
                K = np.array([new(("factor_mean", g, f)) for f in range(m)])
            else:
                K = -np.ones(m, dtype=int)
            self.L_idx.append(L)
            self.P_idx.append(P)
            self.T_idx.append(T)
            self.R_idx.append(R)
            self.N_idx.append(N)
            self.K_idx.append(K)
            self.DL_idx.append(DL)
            self.DN_idx.append(DN)
        self.n_par = n_par
        self.labels = labels
        self.N = sum(mo.n for mo in moments)
        self.w = np.array([mo.n / self.N for mo in moments])
        # groups with unanswered items take the precision-matrix path (see _MissingBlock)
        rows = [_rows(mo.patterns, p) if mo.missing == "fiml" else None for mo in moments]
        self.rows = [r if r is not None and r.incomplete else None for r in rows]
        self._last_fill: list[tuple | None] = [None] * self.G
        self._last_hessian: tuple[np.ndarray, np.ndarray] | None = None  # (x, observed_hessian(x))
        self.h1 = sum(self._pattern_terms(mo.cov, mo.mean, g) for g, mo in enumerate(moments))

    @functools.cached_property
    def batches(self) -> list[list[_Batch]]:
        """The patterns stacked by size, for the pattern-by-pattern evaluations."""
        return [_batches(mo.patterns) for mo in self.moments]

    # model matrices -----------------------------------------------------------------
    def matrices(self, x: np.ndarray, g: int):
        L = np.where(self.L_idx[g] >= 0, x[self.L_idx[g]], 0.0)
        L = L + np.where(self.DL_idx[g] >= 0, x[self.DL_idx[g]], 0.0)
        L[self.markers, range(self.m)] = 1.0
        P = x[self.P_idx[g]]
        T = x[self.T_idx[g]]
        nu = x[self.N_idx[g]] + np.where(self.DN_idx[g] >= 0, x[self.DN_idx[g]], 0.0)
        K = np.where(self.K_idx[g] >= 0, x[self.K_idx[g]], 0.0)
        return L, P, T, nu, K

    def implied(self, x: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
        L, P, T, nu, K = self.matrices(x, g)
        theta = np.diag(T)
        for (j, k), r in zip(self.residual_pairs, self.R_idx[g]):
            theta[j, k] = theta[k, j] = x[r]
        return L @ P @ L.T + theta, nu + L @ K

    def standardized(self, x: np.ndarray, g: int) -> np.ndarray:
        L, P, _, _, _ = self.matrices(x, g)
        sigma, _ = self.implied(x, g)
        std = L * np.sqrt(np.diag(P))[None, :] / np.sqrt(np.diag(sigma))[:, None]
        return std[self.pattern]

    # fit function, gradient, information ---------------------------------------------
    def _fill(self, sigma: np.ndarray, mu: np.ndarray, g: int, logdet: bool = False) -> _Fill | None:
        """:func:`_fill` of group g, the last one kept: Fisher scoring asks for the gradient
        where the line search last evaluated the fit function."""
        if self.rows[g] is None:
            return None
        last = self._last_fill[g]
        if last is not None and np.array_equal(last[0], sigma) and np.array_equal(last[1], mu) and (
                not logdet or np.isfinite(last[2].logdet)):
            return last[2]
        fl = _fill(self.rows[g], sigma, mu, logdet=logdet)
        if fl is not None:
            self._last_fill[g] = (sigma.copy(), mu.copy(), fl)
        return fl

    def _pattern_terms(self, sigma: np.ndarray, mu: np.ndarray, g: int) -> float:
        """sum_r (n_r/N) [log|Sigma_oo| + tr(S_r Sigma_oo^-1) + d' Sigma_oo^-1 d]; inf if not PD."""
        fl = self._fill(sigma, mu, g, logdet=True)
        if fl is None:  # complete data, or a Sigma that is not positive definite
            return self._pattern_terms_direct(sigma, mu, g)
        # sum over rows of (x_o - mu_o)' Sigma_oo^-1 (x_o - mu_o) = n_r [tr(S_r Sigma_oo^-1) + d' Sigma_oo^-1 d]
        return float((fl.logdet + np.sum(fl.resid * fl.v)) / self.N)

    def _pattern_terms_direct(self, sigma: np.ndarray, mu: np.ndarray, g: int) -> float:
        """:meth:`_pattern_terms` pattern by pattern (one q x q inverse each): the reference of the
        precision-matrix path in the tests, and its fallback."""
        total = 0.0
        for bt in self.batches[g]:
            s = sigma[bt.idx[:, :, None], bt.idx[:, None, :]]
            try:
                c = np.linalg.cholesky(s)
            except np.linalg.LinAlgError:
                return np.inf
            logdet = 2 * np.sum(np.log(np.diagonal(c, axis1=1, axis2=2)), axis=1)
            inv = np.linalg.inv(s)
            d = bt.mean - mu[bt.idx]
            quad = np.einsum("ri,rij,rj->r", d, inv, d)
            total += np.sum(bt.n / self.N * (logdet + np.sum(bt.cov * inv, axis=(1, 2)) + quad))
        return float(total)

    def objective(self, x: np.ndarray) -> float:
        total = 0.0
        for g in range(self.G):
            s, mu = self.implied(x, g)
            total += self._pattern_terms(s, mu, g)
            if not np.isfinite(total):
                return np.inf
        return total - self.h1

    def group_params(self, g: int) -> np.ndarray:
        """Indices of the free parameters that enter group ``g``."""
        idx = np.concatenate([self.L_idx[g].ravel(), self.DL_idx[g].ravel(), self.P_idx[g].ravel(), self.T_idx[g],
                              self.R_idx[g], self.N_idx[g], self.DN_idx[g], self.K_idx[g]])
        return np.unique(idx[idx >= 0])

    def _dmoments(self, x: np.ndarray, g: int, par: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """dSigma (k, p, p) and dmu (k, p) of group g w.r.t. parameters ``par``, analytically:
        Sigma = L P L' + Theta, mu = nu + L kappa."""
        L, P, _, _, K = self.matrices(x, g)
        pos = -np.ones(self.n_par, dtype=int)
        pos[par] = np.arange(par.size)
        ds = np.zeros((par.size, self.p, self.p))
        dm = np.zeros((par.size, self.p))
        lp = L @ P
        for idx_mat in (self.L_idx[g], self.DL_idx[g]):
            for j, f in zip(*np.nonzero(idx_mat >= 0)):
                i = pos[idx_mat[j, f]]
                if i < 0:
                    continue
                ds[i, j, :] += lp[:, f]
                ds[i, :, j] += lp[:, f]
                dm[i, j] += K[f]
        for a in range(self.m):
            for b in range(a + 1):
                i = pos[self.P_idx[g][a, b]]
                if i < 0:
                    continue
                outer = np.outer(L[:, a], L[:, b])
                ds[i] += outer + outer.T if a != b else outer
        for j, k in enumerate(self.T_idx[g]):
            if pos[k] >= 0:
                ds[pos[k], j, j] += 1.0
        for (j, k), r in zip(self.residual_pairs, self.R_idx[g]):
            if pos[r] >= 0:
                ds[pos[r], j, k] += 1.0
                ds[pos[r], k, j] += 1.0
        for idx_vec in (self.N_idx[g], self.DN_idx[g]):
            for j, k in enumerate(idx_vec):
                if k >= 0 and pos[k] >= 0:
                    dm[pos[k], j] += 1.0
        for f, k in enumerate(self.K_idx[g]):
            if k >= 0 and pos[k] >= 0:
                dm[pos[k]] += L[:, f]
        return ds, dm

    def _dmoments_numeric(self, x: np.ndarray, g: int, par: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The same by central differences (exact: every moment is at most quadratic in a
        single parameter); the check of :meth:`_dmoments` in the tests."""
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

    def _moment_gradient(self, sigma: np.ndarray, mu: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
        """dF/dSigma (p x p, as a full symmetric matrix) and dF/dmu of group g's patterns."""
        fl = self._fill(sigma, mu, g)
        if fl is None:
            return self._moment_gradient_direct(sigma, mu, g)
        # sum_r n_r embed(Sigma_oo^-1) = n_g P - P (sum_r n_r embed(P_mm^-1)) P, and
        # sum_r n_r embed(Sigma_oo^-1 W_r Sigma_oo^-1) = V'V (W_r = S_r + d d', V = fill @ P)
        prec = fl.prec
        gs = (self.rows[g].n * prec - prec @ fl.cond_sum @ prec - fl.v.T @ fl.v) / self.N
        return (gs + gs.T) / 2, -2 * fl.v.sum(axis=0) / self.N

    def _moment_gradient_direct(self, sigma: np.ndarray, mu: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_moment_gradient` pattern by pattern (the reference, and the fallback)."""
        gs = np.zeros((self.p, self.p))
        gm = np.zeros(self.p)
        for bt in self.batches[g]:
            inv = np.linalg.inv(sigma[bt.idx[:, :, None], bt.idx[:, None, :]])
            d = bt.mean - mu[bt.idx]
            wmat = bt.cov + d[:, :, None] * d[:, None, :]
            wr = (bt.n / self.N)[:, None, None]
            gs += _scatter(self.p, bt.idx, wr * (inv - inv @ wmat @ inv))
            gm += _scatter_vec(self.p, bt.idx, -2 * wr[:, :, 0] * np.einsum("rij,rj->ri", inv, d))
        return gs, gm

    def gradient(self, x: np.ndarray) -> np.ndarray:
        grad = np.zeros(x.size)
        for g in range(self.G):
            par = self.group_params(g)
            ds, dm = self._dmoments(x, g, par)
            s, mu = self.implied(x, g)
            gs, gm = self._moment_gradient(s, mu, g)
            grad[par] += ds.reshape(par.size, -1) @ gs.ravel() + dm @ gm
        return grad

    def gradient_information(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Gradient of F and its expected complete-data Hessian H (information = N/2 H)."""
        grad = np.zeros(x.size)
        hess = np.zeros((x.size, x.size))
        for g in range(self.G):
            par = self.group_params(g)
            ds, dm = self._dmoments(x, g, par)
            s, mu = self.implied(x, g)
            gs, gm = self._moment_gradient(s, mu, g)
            k = par.size
            grad[par] += ds.reshape(k, -1) @ gs.ravel() + dm @ gm
            inv = np.linalg.inv(s)
            a = np.matmul(inv, ds)  # Sigma^-1 dSigma_k
            # tr(A_a A_b) = vec(A_a) . vec(A_b'), one matrix product
            tr = a.reshape(k, -1) @ a.transpose(0, 2, 1).reshape(k, -1).T
            hess[np.ix_(par, par)] += self.w[g] * (tr + 2 * dm @ inv @ dm.T)
        return grad, hess

    def fiml_expected_information(self, x: np.ndarray, *, chunk: int = 2048) -> np.ndarray:
        """Expected Hessian of F under missing answers (lavaan's expected information with
        ``missing = "ml"``): ``sum_r (n_r/N) [tr(S_r^-1 dS_r,a S_r^-1 dS_r,b) + 2 dmu_r,a'
        S_r^-1 dmu_r,b]`` over the observed blocks ``S_r = Sigma_oo`` of each pattern
        (information = N/2 times it). With complete data it is the Hessian of
        :meth:`gradient_information`.

        Summed without a per-pattern, per-parameter-pair trace: with ``P_r`` the pattern's
        ``S_r^-1`` embedded in a p x p zero matrix, ``tr(P_r dS_a P_r dS_b)`` is bilinear in
        (dS_a, dS_b) with the p^2 x p^2 kernel ``sum_r w_r P_r[i,j] P_r[k,l]``, one matrix
        product over all patterns; :meth:`fiml_expected_information_direct` is the
        per-pattern reference (equal to 1e-10 in the tests).
        """
        hess = np.zeros((x.size, x.size))
        for g in range(self.G):
            par = self.group_params(g)
            ds, dm = self._dmoments(x, g, par)
            sigma, _ = self.implied(x, g)
            p = sigma.shape[0]
            kernel = np.zeros((p * p, p * p))
            pbar = np.zeros((p, p))
            for bt in self.batches[g]:
                for lo in range(0, len(bt.n), chunk):
                    idx, w = bt.idx[lo:lo + chunk], bt.n[lo:lo + chunk] / self.N
                    r = np.arange(len(w))[:, None, None]
                    emb = np.zeros((len(w), p, p))
                    emb[r, idx[:, :, None], idx[:, None, :]] = np.linalg.inv(sigma[idx[:, :, None], idx[:, None, :]])
                    flat = emb.reshape(len(w), -1)
                    kernel += flat.T @ (flat * w[:, None])
                    pbar += np.tensordot(w, emb, axes=1)
            # tr(P dS_a P dS_b) = sum_ijkl P_ij dS_a[j,k] P_kl dS_b[l,i]: kernel indexed (j,k),(l,i)
            kernel = kernel.reshape(p, p, p, p).transpose(1, 2, 3, 0).reshape(p * p, p * p)
            d = ds.reshape(par.size, -1)
            hess[np.ix_(par, par)] += d @ kernel @ d.T + 2 * dm @ pbar @ dm.T
        return hess

    def fiml_expected_information_direct(self, x: np.ndarray) -> np.ndarray:
        """:meth:`fiml_expected_information` pattern by pattern (the tests' reference)."""
        hess = np.zeros((x.size, x.size))
        for g in range(self.G):
            par = self.group_params(g)
            ds, dm = self._dmoments(x, g, par)
            sigma, _ = self.implied(x, g)
            for bt in self.batches[g]:
                inv = np.linalg.inv(sigma[bt.idx[:, :, None], bt.idx[:, None, :]])
                a = np.matmul(inv[None], ds[:, bt.idx[:, :, None], bt.idx[:, None, :]])  # (k, R, q, q)
                mo = dm[:, bt.idx]  # (k, R, q)
                wr = bt.n / self.N
                tr = np.einsum("arij,brji,r->ab", a, a, wr, optimize=True)
                mean = np.einsum("ari,rij,brj,r->ab", mo, inv, mo, wr, optimize=True)
                hess[np.ix_(par, par)] += tr + 2 * mean
        return hess

    def observed_hessian_numeric(self, x: np.ndarray) -> np.ndarray:
        """Hessian of F by central differences of the analytic gradient (the check of
        :meth:`observed_hessian` in the tests)."""
        h = _jacobian(self.gradient, x, h=1e-5)
        return (h + h.T) / 2

    def observed_hessian(self, x: np.ndarray) -> np.ndarray:
        """Hessian of F: ``J' dG + (dJ)' G`` with ``G`` the gradient of F w.r.t. the implied
        moments and ``J`` their Jacobian. ``dG`` along each parameter is analytic: every
        ``dSigma`` of a factor model has rank <= 2 (``sum_t l_t z_t z_t'``), so each pattern
        needs matrix-vector products only; ``dJ`` (second derivatives of the moments) by
        central differences of the analytic Jacobian, exact for these polynomial moments.
        The last one is kept: the standard errors and the robust (MLR) test both ask for it at
        the estimate."""
        if self._last_hessian is not None and np.array_equal(self._last_hessian[0], x):
            return self._last_hessian[1].copy()
        hess = self._observed_hessian(x)
        self._last_hessian = (x.copy(), hess)
        return hess.copy()

    def _observed_hessian(self, x: np.ndarray) -> np.ndarray:
        hess = np.zeros((x.size, x.size))
        h = 1e-5
        for g in range(self.G):
            par = self.group_params(g)
            k = par.size
            ds, dm = self._dmoments(x, g, par)
            sigma, mu = self.implied(x, g)
            gs, gm = self._moment_gradient(sigma, mu, g)
            for i, a in enumerate(par):
                e = np.zeros(x.size)
                e[a] = h
                dp, mp = self._dmoments(x + e, g, par)
                dn, mn = self._dmoments(x - e, g, par)
                hess[par, a] += ((dp - dn).reshape(k, -1) @ gs.ravel() + (mp - mn) @ gm) / (2 * h)
            dgs, dgm = self._moment_gradient_derivative(sigma, mu, g, ds, dm)
            hess[np.ix_(par, par)] += ds.reshape(k, -1) @ dgs.reshape(k, -1).T + dm @ dgm.T
        return (hess + hess.T) / 2

    def _moment_gradient_derivative(self, sigma: np.ndarray, mu: np.ndarray, g: int, ds: np.ndarray,
                                    dm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Derivatives of (dF/dSigma, dF/dmu) along each (dSigma_a, dmu_a): (k, p, p), (k, p).

        Per pattern (K = Sigma_oo^-1, W = S_r + d d', w = n_r/N) along dSigma = lam z z':
        d[K - K W K] = lam (-Kz z'K + KWKz z'K + Kz z'KWK), d[-2 K d] = 2 lam Kz z'K d; along
        dmu: d[-K W K] = K dmu d'K + K d dmu'K, d[-2 K d] = 2 K dmu. With the precision
        matrix, ``Kz`` of every pattern is ``Pz - P_.m P_mm^-1 (Pz)_m``, ``n_r K d`` the
        pattern's sum of ``v`` and ``n_r KWKz`` the pattern's sum of ``v (v'z)``."""
        fl = self._fill(sigma, mu, g)
        if fl is None:
            return self._moment_gradient_derivative_direct(sigma, mu, g, ds, dm)
        p, k, N = self.p, ds.shape[0], self.N
        prec, v = fl.prec, fl.v
        vals, vecs = np.linalg.eigh(ds)
        dgs = np.zeros((k, p, p))
        dgm = np.zeros((k, p))
        for bl, cmm in zip(self.rows[g].blocks, fl.cond):
            vb = v[bl.rows]
            vsum = np.add.reduceat(vb, bl.starts, axis=0)  # n_r K d per pattern (R x p)
            gain = np.einsum("pri,rij->rpj", prec[:, bl.miss], cmm)  # P_.m P_mm^-1 (R x p x k)

            def k_times(z: np.ndarray, bl: _MissingBlock = bl, gain: np.ndarray = gain) -> np.ndarray:
                """K_r z (embedded) of every pattern of the block, R x p."""
                u = prec @ z
                return u[None, :] - np.einsum("rpj,rj->rp", gain, u[bl.miss])

            for a in range(k):
                big = np.abs(vals[a]) > 1e-12 * max(1.0, np.abs(vals[a]).max())
                acc = np.zeros((p, p))
                gm_a = np.zeros(p)
                for lam, z in zip(vals[a][big], vecs[a][:, big].T):
                    kz = k_times(z)
                    kwkz = np.add.reduceat(vb * (vb @ z)[:, None], bl.starts, axis=0)  # n_r K W K z
                    part = (kwkz - bl.n[:, None] * kz).T @ kz
                    acc += lam / N * (part + kz.T @ kwkz)
                    gm_a += 2 * lam / N * (kz * (vsum @ z)[:, None]).sum(axis=0)
                if np.any(dm[a] != 0):
                    kdm = k_times(dm[a])
                    acc += (kdm.T @ vsum + vsum.T @ kdm) / N
                    gm_a += 2 / N * (bl.n @ kdm)
                dgs[a] += acc
                dgm[a] += gm_a
        return dgs, dgm

    def _moment_gradient_derivative_direct(self, sigma: np.ndarray, mu: np.ndarray, g: int, ds: np.ndarray,
                                           dm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_moment_gradient_derivative` pattern by pattern (the reference, and the fallback)."""
        p, k = self.p, ds.shape[0]
        vals, vecs = np.linalg.eigh(ds)
        dgs = np.zeros((k, p, p))
        dgm = np.zeros((k, p))
        for bt in self.batches[g]:
            idx = bt.idx
            r = idx.shape[0]
            kk = np.linalg.inv(sigma[idx[:, :, None], idx[:, None, :]])
            d = bt.mean - mu[idx]
            w = bt.n / self.N
            wmat = bt.cov + d[:, :, None] * d[:, None, :]
            mm = kk @ wmat @ kk
            v0 = np.einsum("rij,rj->ri", kk, d)
            def emb(v: np.ndarray, idx: np.ndarray = idx, r: int = r) -> np.ndarray:
                out = np.zeros((r, p))
                out[np.arange(r)[:, None], idx] = v
                return out

            v0e = emb(v0)
            for a in range(k):
                big = np.abs(vals[a]) > 1e-12 * max(1.0, np.abs(vals[a]).max())
                acc = np.zeros((p, p))
                gm_a = np.zeros(p)
                for lam, z in zip(vals[a][big], vecs[a][:, big].T):
                    zo = z[idx]
                    kz = np.einsum("rij,rj->ri", kk, zo)
                    mz = np.einsum("rij,rj->ri", mm, zo)
                    kze, mze = emb(kz), emb(mz)
                    wk = w[:, None] * kze
                    acc += lam * (-kze.T @ wk + mze.T @ wk + wk.T @ mze)
                    gm_a += 2 * lam * (wk * np.sum(kz * d, axis=1)[:, None]).sum(axis=0)
                if np.any(dm[a] != 0):
                    kdm = emb(np.einsum("rij,rj->ri", kk, dm[a][idx]))
                    wkd = w[:, None] * kdm
                    acc += wkd.T @ v0e + v0e.T @ wkd
                    gm_a += 2 * wkd.sum(axis=0)
                dgs[a] += acc
                dgm[a] += gm_a
        return dgs, dgm

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
                    if L[j, f] >= 0 and self.pattern[j, f]:
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


def _univariate_moments(mo: GroupMoments) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Available-case count, mean and ML variance of every item (the independence model's
    FIML estimates: under independence the likelihood factorises by item)."""
    p = mo.mean.size
    s1, s2, cnt = np.zeros(p), np.zeros(p), np.zeros(p)
    for pt in mo.patterns:
        s1[pt.observed] += pt.rows.sum(axis=0)
        s2[pt.observed] += (pt.rows**2).sum(axis=0)
        cnt[pt.observed] += pt.n
    mean = s1 / cnt
    return cnt, mean, s2 / cnt - mean**2


def _baseline_chi2(moments: list[GroupMoments], rows: list[_Rows | None] | None = None) -> float:
    # Independence model with free means and variances per group (lavaan's baseline);
    # ``rows``: the groups' rows for the precision-matrix path (None: pattern by pattern).
    total = 0.0
    for g, mo in enumerate(moments):
        if mo.missing == "listwise":
            _, logdet = np.linalg.slogdet(mo.cov)
            total += mo.n * (np.sum(np.log(np.diag(mo.cov))) - logdet)
            continue
        # -2 log L(independence) - (-2 log L(saturated)); constants cancel
        cnt, mean, var = _univariate_moments(mo)
        ll0 = np.sum(cnt * (np.log(var) + 1.0))
        fl = _fill(rows[g], mo.cov, mo.mean, logdet=True) if rows is not None and rows[g] is not None else None
        if fl is not None:
            total += ll0 - (fl.logdet + np.sum(fl.resid * fl.v))
            continue
        ll1 = 0.0
        for pt in mo.patterns:
            o = pt.observed
            s = mo.cov[np.ix_(o, o)]
            inv = np.linalg.inv(s)
            d = pt.mean - mo.mean[o]
            ll1 += pt.n * (np.linalg.slogdet(s)[1] + np.sum(pt.cov * inv) + d @ inv @ d)
        total += ll0 - ll1
    return float(total)


def fit_cfa_ml(*args, **kwargs) -> CFAEstimate:
    """Fit a (multi-group) CFA by ML; ``equal`` may hold ``"loadings"`` and ``"intercepts"``.

    Arguments: ``moments`` (from :func:`group_moments`), ``pattern`` (boolean items x
    factors, True = the item loads on the factor), ``items``, ``factors``, ``equal``,
    ``free`` (keys from :func:`parse_free`: shared parameters released per group).
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
    free: frozenset[tuple] = frozenset(),
    max_iter: int = 500,
    tol: float = 1e-12,
) -> CFAEstimate:
    pattern = np.asarray(pattern, dtype=bool)
    p, m = pattern.shape
    if (pattern.sum(axis=0) == 0).any():
        raise NotIdentifiedError("a factor has no items; every factor needs at least one indicator")
    if (pattern.sum(axis=1) == 0).any():
        bad = [items[j] for j in np.flatnonzero(pattern.sum(axis=1) == 0)]
        raise ValueError(f"items {bad} load on no factor")
    for mo in moments:
        if np.any(np.diag(mo.cov) <= 1e-12):
            bad = [items[j] for j in np.flatnonzero(np.diag(mo.cov) <= 1e-12)]
            raise ValueError(
                f"items {bad} are constant in group {mo.name!r}; a factor model cannot use a constant item, drop it"
            )
        if np.linalg.matrix_rank(mo.cov) < p:
            raise ValueError(
                f"the item covariance matrix of group {mo.name!r} is singular (an item is a linear combination "
                "of others, or too few rows); drop duplicated items"
            )
    model = _Model(pattern, moments, frozenset(equal), frozenset(free))
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
            converged = np.max(np.abs(grad)) < 1e-7
            break
        converged = np.max(np.abs(t * step)) < 1e-8 or (abs(f - f_new) < tol and np.max(np.abs(t * step)) < 1e-6)
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
    missing = moments[0].missing
    # information per respondent: expected for complete data, observed (Hessian) for FIML
    info = hess / 2 if missing == "listwise" else model.observed_hessian(x) / 2
    vcov = np.linalg.inv(info) / model.N
    model._last_fill = [None] * G  # the estimate keeps its model, not the N x p work arrays
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
        baseline_chi2=_baseline_chi2(moments, model.rows),
        baseline_df=int(G * p * (p - 1) // 2),
        implied_cov=[model.implied(x, g)[0] for g in range(G)],
        sample_cov=[mo.cov for mo in moments],
        x=x,
        vcov=vcov,
        n_free=model.n_par,
        _model=model,
        missing=missing,
        info=info,
    )
