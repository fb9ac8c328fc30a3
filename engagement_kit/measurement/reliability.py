"""Reliability of each scale: Cronbach's alpha with Feldt's CI, McDonald's omega,
corrected item-total correlations and alpha if an item is deleted.

Rows with a missing item of a scale are dropped for that scale (listwise within
the scale); ``n`` is the number of complete rows used.

Formulas
--------
* alpha = k/(k-1) * (1 - sum(var_i) / var(total)) from the item covariance matrix
  (sample covariance, ddof=1; alpha does not depend on the divisor).
* Feldt (1965) CI, as pingouin's ``cronbach_alpha`` and R ``psychometric::alpha.CI``:
  ``1 - (1 - alpha) F_{1-a/2}(n-1, (n-1)(k-1))`` and ``1 - (1 - alpha) F_{a/2}(...)``.
* omega (total, McDonald 1999) from a one-factor ML model of the scale:
  ``(sum lambda)^2 / ((sum lambda)^2 + sum theta)``. With two items the one-factor
  model is not identified and omega is reported as NaN (documented, not an error).
* item-total correlation is *corrected*: the item against the sum of the other items.
* omega hierarchical, its asymptotic value and omega total of a whole instrument
  (:func:`omega_hierarchical`) as ``psych::omega`` reports them: a minres EFA with
  ``n_factors`` group factors (default 3), oblimin rotation, a one-factor minres model of
  the factor correlations (Schmid-Leiman), items with a negative general loading reversed;
  ``omega_h = (sum g)^2 / V``, ``omega_total = (V - sum u2) / V`` with ``V`` the sum of the
  correlation matrix, ``omega_h_asymptotic = (sum g)^2 / ((sum g)^2 + sum_f (sum a_f)^2)``.
  Warnings (:class:`~.scales.MeasurementWarning`): fewer than three items on a group factor
  or in a one-factor omega, two group factors (omega_h is then not uniquely defined), a
  Heywood case (a communality at 1).
* ordinal alpha (Zumbo et al. 2007) for scales whose items are declared ordinal: alpha of
  the polychoric correlations (:func:`~.ordinal.ordinal_alpha`).

Example
-------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> f = rng.normal(size=500)
>>> df = pd.DataFrame({f"q{i}": f + rng.normal(size=500) for i in range(1, 5)})
>>> round(cronbach_alpha(df[["q1", "q2", "q3", "q4"]]).alpha, 2)
0.81
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .scales import MeasurementWarning, Scales, prepare_items
from .sem import fit_cfa_ml, group_moments

__all__ = ["AlphaResult", "OmegaResult", "cronbach_alpha", "omega_total", "omega_hierarchical", "item_statistics",
           "reliability"]


@dataclass(frozen=True)
class AlphaResult:
    """Cronbach's alpha of ``n_items`` items over ``n`` complete rows with a Feldt CI."""

    alpha: float
    ci_low: float
    ci_high: float
    n: int
    n_items: int

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)])


def _alpha_from_cov(cov: np.ndarray) -> float:
    k = cov.shape[0]
    return float(k / (k - 1) * (1 - np.trace(cov) / cov.sum()))


def cronbach_alpha(data: pd.DataFrame, *, ci: float = 0.95) -> AlphaResult:
    """Cronbach's alpha of the item columns ``data`` (already reverse-scored) with Feldt's CI."""
    x = data.dropna().to_numpy(dtype=float)
    n, k = x.shape
    if k < 2:
        raise ValueError(f"alpha needs at least two items; got {k}")
    if n < 3:
        raise ValueError(f"alpha needs at least three complete rows; got {n}")
    a = _alpha_from_cov(np.cov(x, rowvar=False))
    df1, df2 = n - 1, (n - 1) * (k - 1)
    lo = 1 - (1 - a) * stats.f.ppf(1 - (1 - ci) / 2, df1, df2)
    hi = 1 - (1 - a) * stats.f.ppf((1 - ci) / 2, df1, df2)
    return AlphaResult(alpha=a, ci_low=float(lo), ci_high=float(hi), n=int(n), n_items=int(k))


def omega_total(data: pd.DataFrame) -> float:
    """McDonald's omega of the item columns ``data`` from a one-factor ML model (NaN for two items: not identified)."""
    x = data.dropna()
    k = x.shape[1]
    if k < 3:
        warnings.warn(f"omega needs at least three items; the scale has {k} ({', '.join(map(str, x.columns))}), so "
                      "omega is NaN: a one-factor model of two items is not identified", MeasurementWarning,
                      stacklevel=2)
        return float("nan")
    est = fit_cfa_ml(group_moments(x), np.ones((k, 1), dtype=bool), list(x.columns), ["f"])
    lam = est.loadings[0][:, 0] * np.sqrt(est.factor_cov[0][0, 0])
    theta = est.residual_var[0]
    return float(lam.sum() ** 2 / (lam.sum() ** 2 + theta.sum()))


@dataclass(frozen=True)
class OmegaResult:
    """psych-style omega of an instrument: ``omega_h``, ``omega_h_asymptotic``, ``omega_total``,
    ``alpha`` (of the same correlation matrix), ``n_factors``, ``n_items``, the Schmid-Leiman
    ``loadings`` (items x ``g`` and group factors, with ``h2, u2``) and the reversed ``flipped`` items."""

    omega_h: float
    omega_h_asymptotic: float
    omega_total: float
    alpha: float
    n_factors: int
    n_items: int
    loadings: pd.DataFrame
    flipped: tuple[str, ...] = ()


def _minres(R: np.ndarray, k: int) -> tuple[np.ndarray, bool]:
    """Minimum-residual (unweighted least squares) factor loadings of a correlation matrix, as
    psych's ``fm="minres"``: uniquenesses minimise the squared off-diagonal residuals.
    factor_analyzer 0.5.1's minres cannot be used: its ``fit`` fails with scikit-learn >= 1.8."""
    from scipy import optimize

    def load(psi: np.ndarray) -> np.ndarray:
        S = R.copy()
        np.fill_diagonal(S, 1 - psi)
        e, v = np.linalg.eigh(S)
        idx = np.argsort(e)[::-1][:k]
        return v[:, idx] * np.sqrt(np.maximum(e[idx], 0))

    def objective(psi: np.ndarray) -> float:
        L = load(psi)
        res = R - L @ L.T
        np.fill_diagonal(res, 0)
        return float(np.sum(res**2))

    p = R.shape[0]
    start = np.clip(1 / np.diag(np.linalg.inv(R)), 0.005, 1)  # 1 - squared multiple correlation
    sol = optimize.minimize(objective, start, method="L-BFGS-B", bounds=[(0.005, 1.0)] * p,
                            options={"ftol": 1e-14, "gtol": 1e-10, "maxiter": 5000})
    L = load(sol.x)
    heywood = bool(np.any(sol.x <= 0.005 + 1e-8) or np.any((L**2).sum(axis=1) >= 1))
    return L, heywood


def _schmid_leiman(R: np.ndarray, n_factors: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """General loadings g (items) and residualised group loadings (items x factors)."""
    from factor_analyzer.rotator import Rotator

    L0, heywood = _minres(R, n_factors)
    rot = Rotator(method="oblimin")
    L = rot.fit_transform(L0)
    phi = rot.phi_
    sign = np.where(L.sum(axis=0) < 0, -1.0, 1.0)  # psych reflects factors to positive loading sums
    L, phi = L * sign, phi * np.outer(sign, sign)
    if n_factors == 2:
        gload = np.full(2, np.sqrt(max(phi[0, 1], 0)))  # psych's option="equal"
    else:
        gload, _ = _minres(phi, 1)
        gload = gload[:, 0] * (1 if gload.sum() >= 0 else -1)
    g = L @ gload
    groups = L * np.sqrt(np.clip(1 - gload**2, 0, None))
    return g, groups, heywood


def omega_hierarchical(data: pd.DataFrame, *, n_factors: int = 3, ordinal: bool = False) -> OmegaResult:
    """Omega hierarchical and total of an instrument, as ``psych::omega`` (see the module
    docstring). ``data``: item columns (rows with a missing item dropped), or a square
    correlation matrix whose index equals its columns; ``ordinal``: use polychoric
    correlations of the items.

    >>> rng = np.random.default_rng(3)
    >>> g, s = rng.normal(size=(1000, 1)), rng.normal(size=(1000, 3))
    >>> x = pd.DataFrame({f"i{f}{j}": .6 * g[:, 0] + .5 * s[:, f] + .6 * rng.normal(size=1000)
    ...                   for f in range(3) for j in range(3)})
    >>> round(omega_hierarchical(x).omega_h, 2)
    0.74
    """
    if data.shape[0] == data.shape[1] and list(data.index) == list(data.columns):
        R = data.to_numpy(dtype=float)
    elif ordinal:
        from .ordinal import polychoric_matrix

        R = polychoric_matrix(data, gamma=False).corr.to_numpy()
    else:
        R = data.dropna().corr().to_numpy()
    names = [str(c) for c in data.columns]
    p = R.shape[0]
    if n_factors < 2:
        raise ValueError(f"omega hierarchical needs at least two group factors (n_factors); got {n_factors}")
    if p < 3 * n_factors:
        raise ValueError(f"omega hierarchical with {n_factors} group factors needs at least {3 * n_factors} items; "
                         f"got {p} (lower n_factors)")
    if n_factors == 2:
        warnings.warn("omega_h with two group factors is not uniquely defined; the general loadings follow psych's "
                      "option 'equal' (both factors load sqrt(r) on g)", MeasurementWarning, stacklevel=2)
    g, groups, heywood = _schmid_leiman(R, n_factors)
    flipped: tuple[str, ...] = ()
    if (g < 0).any():  # psych's flip=TRUE: reverse the items with a negative general loading
        key = np.where(g < 0, -1.0, 1.0)
        flipped = tuple(n for n, k in zip(names, key) if k < 0)
        R = R * np.outer(key, key)
        g, groups, heywood = _schmid_leiman(R, n_factors)
    h2 = g**2 + (groups**2).sum(axis=1)
    u2 = 1 - h2
    V = R.sum()
    main = np.abs(groups).argmax(axis=1)
    few = [f + 1 for f in range(n_factors) if np.sum(main == f) < 3]
    if few:
        warnings.warn(f"group factor(s) {few} have fewer than three items with their largest loading there; omega_h "
                      "rests on poorly identified factors (lower n_factors)", MeasurementWarning, stacklevel=2)
    if heywood or (h2 >= 1).any():
        warnings.warn("Heywood case in the factor solution behind omega (a communality at or above 1); omega is "
                      "unreliable, check the items or lower n_factors", MeasurementWarning, stacklevel=2)
    loadings = pd.DataFrame(np.column_stack([g, groups, h2, u2]), index=names,
                            columns=["g"] + [f"F{f + 1}" for f in range(n_factors)] + ["h2", "u2"])
    return OmegaResult(
        omega_h=float(g.sum() ** 2 / V),
        omega_h_asymptotic=float(g.sum() ** 2 / (g.sum() ** 2 + (groups.sum(axis=0) ** 2).sum())),
        omega_total=float((V - u2.sum()) / V),
        alpha=float((V - np.trace(R)) / V * p / (p - 1)),
        n_factors=int(n_factors),
        n_items=int(p),
        loadings=loadings,
        flipped=flipped,
    )


def item_statistics(data: pd.DataFrame) -> pd.DataFrame:
    """Per item column of ``data``: mean, sd, corrected item-total correlation, alpha if the item is deleted."""
    x = data.dropna().to_numpy(dtype=float)
    cov = np.cov(x, rowvar=False)
    k = cov.shape[0]
    total = x.sum(axis=1)
    rows = []
    for j, name in enumerate(data.columns):
        rest = total - x[:, j]
        keep = [i for i in range(k) if i != j]
        sd = x[:, j].std(ddof=1)
        r = np.corrcoef(x[:, j], rest)[0, 1] if sd > 0 and rest.std() > 0 else np.nan
        rows.append(
            {
                "item": name,
                "mean": x[:, j].mean(),
                "sd": sd,
                "item_total_r": r,
                "alpha_if_deleted": _alpha_from_cov(cov[np.ix_(keep, keep)]) if k > 2 else np.nan,
            }
        )
    return pd.DataFrame(rows)


def reliability(
    data: pd.DataFrame,
    *,
    scales: Scales,
    reverse_items: Iterable[str] = (),
    likert_min: float | None = 1,
    likert_max: float | None = 7,
    ci: float = 0.95,
    ordinal_items: Iterable[str] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reliability per scale and item statistics.

    Returns ``(scales_table, items_table)``: ``scale, n_items, n, alpha, alpha_ci_low,
    alpha_ci_high, omega, ordinal_alpha`` and ``scale, item, mean, sd, item_total_r,
    alpha_if_deleted``. ``ordinal_alpha`` (alpha of the polychoric correlations) is given
    for scales whose items are all in ``ordinal_items``, NaN otherwise.
    """
    from .ordinal import ordinal_alpha

    items = prepare_items(data, scales=scales, reverse_items=reverse_items, likert_min=likert_min, likert_max=likert_max)
    ordinal = set(ordinal_items)
    rows, item_rows = [], []
    for scale, its in scales.items():
        block = items[its]
        a = cronbach_alpha(block, ci=ci)
        rows.append(
            {
                "scale": scale,
                "n_items": a.n_items,
                "n": a.n,
                "alpha": a.alpha,
                "alpha_ci_low": a.ci_low,
                "alpha_ci_high": a.ci_high,
                "omega": omega_total(block),
                "ordinal_alpha": ordinal_alpha(block) if set(its) <= ordinal else np.nan,
            }
        )
        item_rows.append(item_statistics(block).assign(scale=scale))
    it = pd.concat(item_rows, ignore_index=True)
    return pd.DataFrame(rows), it[["scale"] + [c for c in it.columns if c != "scale"]]
