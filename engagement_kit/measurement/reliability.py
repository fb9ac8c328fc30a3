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

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .scales import Scales, prepare_items
from .sem import fit_cfa_ml, group_moments

__all__ = ["AlphaResult", "cronbach_alpha", "omega_total", "item_statistics", "reliability"]


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
        return float("nan")
    est = fit_cfa_ml(group_moments(x), np.ones((k, 1), dtype=bool), list(x.columns), ["f"])
    lam = est.loadings[0][:, 0] * np.sqrt(est.factor_cov[0][0, 0])
    theta = est.residual_var[0]
    return float(lam.sum() ** 2 / (lam.sum() ** 2 + theta.sum()))


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
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reliability per scale and item statistics.

    Returns ``(scales_table, items_table)``: ``scale, n_items, n, alpha, alpha_ci_low,
    alpha_ci_high, omega`` and ``scale, item, mean, sd, item_total_r, alpha_if_deleted``.
    """
    items = prepare_items(data, scales=scales, reverse_items=reverse_items, likert_min=likert_min, likert_max=likert_max)
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
            }
        )
        item_rows.append(item_statistics(block).assign(scale=scale))
    it = pd.concat(item_rows, ignore_index=True)
    return pd.DataFrame(rows), it[["scale"] + [c for c in it.columns if c != "scale"]]
