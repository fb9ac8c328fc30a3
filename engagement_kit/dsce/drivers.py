"""DSCE drivers: which components predict churn and expansion, and the fitted weights.

**Drivers** (the ``dsce_drivers`` table): churn (Cox model via
:func:`engagement_kit.stats.survival.cox`, or a logit of the churn flag) and expansion
(two-part: logit of any expansion among retained accounts, OLS of log expansion among
expanders with HC3 errors; or one OLS of expansion revenue with HC3 errors), all
components in one model, adjusted for the ``adjust`` columns (the scorecard passes its
``arm_col`` and ``segment_col``); Holm (default) correction across every component x
outcome test (:func:`engagement_kit.stats.multitest.adjust`). Ratings are observational:
a driver is a component whose rating *predicts* the outcome after adjustment, not proof
that raising it changes the outcome.

**Fitted weights** (the ``dsce_weights`` table): w_c proportional to max(0, -beta_c) for
churn (max(0, beta_c) for expansion), beta_c the coefficient per SD of the rating. A
component whose higher rating goes with *more* churn gets weight 0 (clipped, not
negative: the index must stay monotone in every rating). Fitted weights describe which
ratings went with the outcome in *this* data; they are noisy (null components get small
positive weights by chance) and observational, so equal weights stay the default and
both are shown side by side.

>>> t = pd.DataFrame({"component": ["a", "b"], "outcome": "churn", "estimate": [-0.3, -0.1]})
>>> fitted_weights(t).round(3).to_dict()
{'a': 0.75, 'b': 0.25}
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy import stats

from ..frameworks import DSCE_COMPONENT_NAMES
from ..stats import multitest
from ..stats.survival import cox, event_flag

__all__ = ["DRIVER_COLUMNS", "drivers", "fitted_weights", "weights_table"]

#: Columns of ``dsce_drivers.csv`` (a published interface: keep them exactly).
DRIVER_COLUMNS: tuple[str, ...] = (
    "component",
    "outcome",
    "model",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "p_adjusted",
    "flagged",
    "n",
    "unit",
)


def _design(data: pd.DataFrame, numeric: list[str], categorical: list[str], intercept: bool) -> pd.DataFrame:
    parts = [data[numeric].astype(float)]
    for col in categorical:
        levels = sorted(data[col].dropna().unique().tolist(), key=str)
        for lev in levels[1:]:
            parts.append((data[col] == lev).astype(float).rename(f"{col}[{lev}]"))
    X = pd.concat(parts, axis=1)
    if intercept:
        X.insert(0, "const", 1.0)
    return X


def _fit_rows(res, names: list[str], alpha: float, model: str, outcome: str, unit: str, n: int, dist: str = "z"):
    params, bse = np.asarray(res.params), np.asarray(res.bse)
    p = np.asarray(res.pvalues)
    idx = [list(res.model.exog_names).index(c) for c in names]
    crit = stats.norm.ppf(1 - alpha / 2) if dist == "z" else stats.t.ppf(1 - alpha / 2, res.df_resid)
    return pd.DataFrame(
        {
            "component": [c.removeprefix("z_") for c in names],
            "outcome": outcome,
            "model": model,
            "estimate": params[idx],
            "se": bse[idx],
            "ci_low": params[idx] - crit * bse[idx],
            "ci_high": params[idx] + crit * bse[idx],
            "p_value": p[idx],
            "n": n,
            "unit": unit,
        }
    )


def drivers(
    data: pd.DataFrame,
    *,
    components: Iterable[str] = DSCE_COMPONENT_NAMES,
    adjust: Iterable[str] = (),
    outcomes: Iterable[str] = ("churn", "expansion"),
    churn_model: str = "cox",
    expansion_model: str = "two_part",
    duration: str = "churn_time",
    event: str = "churned",
    retained: str = "retained",
    expansion: str = "expansion_revenue",
    alpha: float = 0.05,
    correction: str = "holm",
) -> pd.DataFrame:
    """Which components predict churn and expansion (``dsce_drivers.csv``).

    ``data`` holds one row per account with the component ratings, the outcome
    columns and the ``adjust`` columns (categorical, dummy-coded against their
    first level; e.g. the arm and segment columns; none by default). Each component enters as its rating standardised over the
    analysed accounts (z-score), so estimates are per SD of the rating and all
    components sit in one model per outcome (mutually adjusted).

    - churn, ``churn_model="cox"``: Cox PH on (``duration``, ``event``); estimate
      = log hazard ratio per SD. ``"logit"``: logit of the churn flag; log odds ratio.
    - expansion, ``expansion_model="two_part"``: (1) ``expansion_any``: logit of
      expansion > 0 among retained accounts (churned accounts cannot expand);
      (2) ``expansion_amount``: OLS of log expansion among expanders, HC3 SEs.
      ``"ols"``: one OLS of expansion revenue on all accounts, HC3 SEs (the
      change in mean expansion revenue per SD).

    ``p_adjusted`` corrects across all rows of the table with
    :func:`engagement_kit.stats.multitest.adjust` (``holm``, ``fdr_bh``, ``bonferroni``
    or ``none``); ``flagged`` = p_adjusted < alpha.
    Rows with a missing rating are left out (complete cases); ``n`` says how
    many accounts each model used. Observational: see the module docstring.
    """
    import statsmodels.api as sm

    multitest.check_method(correction)
    components = list(components)
    adjust = list(adjust)
    outcomes = list(outcomes)
    need = components + adjust
    missing_cols = [c for c in need if c not in data.columns]
    if missing_cols:
        raise KeyError(f"drivers: data has no column(s) {missing_cols}")
    d = data.dropna(subset=components).reset_index(drop=True)
    for col in adjust:
        if d[col].isna().any():
            raise ValueError(f"drivers: adjustment column {col!r} has missing values; fill or drop them first")
    z = d[components].astype(float)
    sd = z.std(ddof=1)
    flat = sd[sd <= 0].index.tolist()
    if flat:
        raise ValueError(f"drivers: component(s) {flat} have the same rating for every account; leave them out")
    zcols = [f"z_{c}" for c in components]
    d[zcols] = ((z - z.mean()) / sd).to_numpy()
    frames = []
    for outcome in outcomes:
        if outcome == "churn":
            if churn_model == "cox":
                res = cox(d, duration, event, zcols + adjust, alpha=alpha)
                res = res[res["term"].isin(zcols)]
                crit = stats.norm.ppf(1 - alpha / 2)
                frames.append(
                    pd.DataFrame(
                        {
                            "component": res["term"].str.removeprefix("z_").to_numpy(),
                            "outcome": "churn",
                            "model": "cox",
                            "estimate": res["log_hr"].to_numpy(),
                            "se": res["se"].to_numpy(),
                            "ci_low": (res["log_hr"] - crit * res["se"]).to_numpy(),
                            "ci_high": (res["log_hr"] + crit * res["se"]).to_numpy(),
                            "p_value": res["p_value"].to_numpy(),
                            "n": len(d),
                            "unit": "log hazard ratio per SD of rating",
                        }
                    )
                )
            elif churn_model == "logit":
                y = event_flag(d[event], event)
                X = _design(d, zcols, adjust, intercept=True)
                fit = sm.Logit(y, X).fit(disp=0)
                frames.append(_fit_rows(fit, zcols, alpha, "logit", "churn", "log odds ratio per SD of rating", len(d)))
            else:
                raise ValueError(f"churn_model must be 'cox' or 'logit', not {churn_model!r}")
        elif outcome == "expansion":
            x = pd.to_numeric(d[expansion], errors="coerce")
            if x.isna().any() or (x < 0).any():
                raise ValueError(f"drivers: column {expansion!r} must be non-negative numbers without gaps")
            if expansion_model == "two_part":
                keep = event_flag(d[retained], retained) == 1 if retained in d.columns else np.ones(len(d), bool)
                sub = d.loc[keep]
                X = _design(sub, zcols, adjust, intercept=True)
                fit = sm.Logit((x[keep] > 0).astype(float).to_numpy(), X).fit(disp=0)
                frames.append(
                    _fit_rows(fit, zcols, alpha, "logit (retained)", "expansion_any",
                              "log odds ratio per SD of rating", int(keep.sum()))
                )
                pos = (x > 0).to_numpy() & np.asarray(keep)
                if pos.sum() > len(zcols) + 10:
                    sub = d.loc[pos]
                    X = _design(sub, zcols, adjust, intercept=True)
                    fit = sm.OLS(np.log(x[pos].to_numpy()), X).fit(cov_type="HC3")
                    frames.append(
                        _fit_rows(fit, zcols, alpha, "OLS log (expanders, HC3)", "expansion_amount",
                                  "change in log expansion per SD of rating", int(pos.sum()))
                    )
                else:
                    warnings.warn("too few expanders for the amount part of the two-part model; skipped", stacklevel=2)
            elif expansion_model == "ols":
                X = _design(d, zcols, adjust, intercept=True)
                fit = sm.OLS(x.to_numpy(dtype=float), X).fit(cov_type="HC3")
                frames.append(
                    _fit_rows(fit, zcols, alpha, "OLS (HC3)", "expansion_revenue",
                              "change in mean expansion revenue per SD of rating", len(d))
                )
            else:
                raise ValueError(f"expansion_model must be 'two_part' or 'ols', not {expansion_model!r}")
        else:
            raise ValueError(f"outcomes must be 'churn' and/or 'expansion', not {outcome!r}")
    out = pd.concat(frames, ignore_index=True)
    out["p_adjusted"] = multitest.adjust(out["p_value"].to_numpy(), correction)
    out["flagged"] = out["p_adjusted"] < alpha
    return out[list(DRIVER_COLUMNS)]


#: Direction in which a higher rating is good, per driver outcome.
_GOOD_SIGN = {"churn": -1.0, "expansion_any": 1.0, "expansion_amount": 1.0, "expansion_revenue": 1.0}


def fitted_weights(
    driver_table: pd.DataFrame, *, outcome: str = "churn", components: Iterable[str] | None = None
) -> pd.Series:
    """Data-driven weights: normalised standardised coefficients, clipped at zero.

    w_c = max(0, g * beta_c) / sum_k max(0, g * beta_k), where beta_c is the
    driver estimate per SD of the rating and g = -1 for churn (fewer churns is
    good), +1 for the expansion outcomes. See the module docstring for why the
    clip and why equal weights stay the default.

    >>> t = pd.DataFrame({"component": ["a", "b", "c"], "outcome": "churn", "estimate": [-0.3, -0.1, 0.2]})
    >>> fitted_weights(t).round(3).to_dict()
    {'a': 0.75, 'b': 0.25, 'c': 0.0}
    """
    rows = driver_table[driver_table["outcome"] == outcome]
    if rows.empty:
        raise ValueError(f"the driver table has no rows for outcome {outcome!r}; it has {sorted(driver_table['outcome'].unique())}")
    beta = rows.set_index("component")["estimate"].astype(float)
    if components is not None:
        beta = beta.reindex(list(components))
    good = np.clip(_GOOD_SIGN.get(outcome, 1.0) * beta, 0, None)
    if not (good.sum() > 0):
        raise ValueError(
            f"no component predicts {outcome!r} in the beneficial direction, so fitted weights are undefined; "
            "use weights='equal'"
        )
    return (good / good.sum()).rename("weight")


def weights_table(driver_table: pd.DataFrame, *, components: Iterable[str], outcome: str = "churn") -> pd.DataFrame:
    """Equal and fitted weights side by side with the driver estimates they come from."""
    components = list(components)
    fw = fitted_weights(driver_table, outcome=outcome, components=components)
    src = driver_table[driver_table["outcome"] == outcome].set_index("component").reindex(components)
    return pd.DataFrame(
        {
            "component": components,
            "equal_weight": 1.0 / len(components),
            "fitted_weight": fw.to_numpy(),
            "fitted_from": outcome,
            "estimate": src["estimate"].to_numpy(),
            "ci_low": src["ci_low"].to_numpy(),
            "ci_high": src["ci_high"].to_numpy(),
            "p_adjusted": src["p_adjusted"].to_numpy(),
        }
    )

