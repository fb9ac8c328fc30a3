"""Churn as survival: Kaplan-Meier by touch model and segment, log-rank, Cox, median lifetime.

All estimators come from :mod:`engagement_kit.stats.survival` (statsmodels). Input is
one row per customer with a duration, an event flag (churned) and the grouping
columns; the simulator's ``outcomes`` joined to ``customers``, or a churn table
such as IBM's Telco table (tenure in months as time, Churn Yes/No as event,
Contract as the group; :func:`~engagement_kit.journeys.journey` reads it).

Example
-------
>>> import pandas as pd
>>> df = pd.DataFrame({"t": [5, 8, 12, 3, 9, 14], "e": [1, 0, 1, 1, 1, 0],
...                    "g": ["a", "a", "a", "b", "b", "b"]})
>>> res = churn_survival(df, duration="t", event="e", group_cols=["g"])
>>> round(float(res.logrank["p_value"].iloc[0]), 4)
0.9458
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..stats.survival import cox, kaplan_meier, logrank, median_survival

__all__ = ["ChurnResult", "churn_survival", "SURVIVAL_COLUMNS"]

#: Columns of survival.csv (a long table: one row per KM point, median, test or Cox term).
SURVIVAL_COLUMNS = [
    "source", "kind", "group_col", "group", "term", "time", "n", "n_at_risk", "n_events",
    "estimate", "ci_low", "ci_high", "statistic", "df", "p_value",
]  # fmt: skip


@dataclass(frozen=True)
class ChurnResult:
    """Survival of customers.

    ``km`` (group_col, group, time, n_at_risk, n_events, survival, ci_low, ci_high),
    ``medians`` (group_col, group, n, n_events, median, ci_low, ci_high),
    ``logrank`` (group_col, statistic, df, p_value, n_groups),
    ``cox`` (term, log_hr, se, hazard_ratio, ci_low, ci_high, z, p_value) or None.
    """

    km: pd.DataFrame
    medians: pd.DataFrame
    logrank: pd.DataFrame
    cox: pd.DataFrame | None
    source: str = ""

    def to_pandas(self) -> pd.DataFrame:
        """The long survival.csv table (SURVIVAL_COLUMNS)."""
        km = self.km.rename(columns={"survival": "estimate"}).assign(kind="km")
        med = self.medians.rename(columns={"median": "estimate"}).assign(kind="median_lifetime")
        lr = self.logrank.assign(kind="logrank")
        parts = [km, med, lr]
        if self.cox is not None:
            parts.append(self.cox.rename(columns={"hazard_ratio": "estimate", "z": "statistic"}).assign(kind="cox_hr"))
        out = pd.concat(parts, ignore_index=True)
        out["source"] = self.source
        return out.reindex(columns=SURVIVAL_COLUMNS)


def churn_survival(
    data: pd.DataFrame,
    *,
    duration: str = "churn_time",
    event: str = "churned",
    arm_col: str | None = None,
    control: object = None,
    group_cols: list[str] | tuple[str, ...] = (),
    covariates: list[str] | tuple[str, ...] = (),
    baselines: dict[str, object] | None = None,
    alpha: float = 0.05,
    source: str = "",
) -> ChurnResult:
    """KM, median lifetime and log-rank per grouping column; Cox on groups + covariates.

    The grouping columns are ``arm_col`` (if given) followed by ``group_cols``;
    ``duration`` and ``event`` default to the columns of the ``outcomes`` contract.
    ``control`` is the reference level of the arm in the Cox model (default: the
    first level in sorted order); ``baselines`` names the reference level of other
    categorical predictors (column -> level, e.g. ``{"segment": "smb"}``). The Cox
    model is fitted when there is at least one predictor; with several group columns
    it is adjusted for all of them.
    """
    group_cols = list(dict.fromkeys([*([arm_col] if arm_col else []), *group_cols]))
    reference = {**(baselines or {}), **({arm_col: control} if arm_col and control is not None else {})} or None
    for c in (duration, event, *group_cols, *covariates):
        if c not in data.columns:
            raise KeyError(f"column {c!r} not in the churn data; columns are {list(data.columns)}")
    km, med, lr = [], [], []
    for g in group_cols:
        k = kaplan_meier(data, duration, event, group_col=g, alpha=alpha)
        k.insert(0, "group_col", g)
        km.append(k)
        m = median_survival(data, duration, event, group_col=g, alpha=alpha)
        m.insert(0, "group_col", g)
        med.append(m)
        if data[g].nunique() >= 2:
            r = logrank(data, duration, event, group_col=g).to_pandas()
            r.insert(0, "group_col", g)
            lr.append(r)
    # a grouping with one level (e.g. one arm, 'all') has no contrast to estimate
    predictors = [*(g for g in group_cols if data[g].nunique() >= 2), *covariates]
    cx = cox(data, duration, event, predictors, reference=reference, alpha=alpha) if predictors else None
    return ChurnResult(
        km=pd.concat(km, ignore_index=True) if km else pd.DataFrame(),
        medians=pd.concat(med, ignore_index=True) if med else pd.DataFrame(),
        logrank=pd.concat(lr, ignore_index=True) if lr else pd.DataFrame(),
        cox=cx,
        source=source,
    )


