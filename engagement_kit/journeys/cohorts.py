"""Signup cohorts: retention matrix and curves by touch model.

Retention rule (from the outcomes table; ``churn_time`` is days from signup to
churn, or to the end of observation when ``churned`` is False):

* period p starts at t = p x period length after signup (D = 1, W = 7,
  M = 30.4375, Q = 91.3125, Y = 365.25 days);
* a customer is *eligible* at period p when observed up to t: churned (at any
  time), or followed at least t days;
* *retained* at period p: churn_time > t, or not churned and churn_time >= t;
* retention = n_retained / n_eligible (Wilson interval). Censored customers
  leave the denominator after their follow-up ends (the usual cohort triangle).

The cohort is the calendar period of the signup date (``date_trunc``). The
curve by arm pools all cohorts (sum of counts per period).

Example
-------
>>> import pandas as pd
>>> cu = pd.DataFrame({"customer_id": ["a", "b"], "touch_model": "no_touch",
...                    "signup_date": pd.to_datetime(["2025-01-05", "2025-01-20"])})
>>> out = pd.DataFrame({"customer_id": ["a", "b"], "churn_time": [40.0, 100.0], "churned": [True, False]})
>>> c = retention_cohorts(cu, outcomes=out, arm_col="touch_model", cohort_period="M", n_periods=2)
>>> c[["period", "n_eligible", "n_retained"]].to_numpy().tolist()
[[0, 2, 2], [1, 2, 2], [2, 2, 1]]
"""

from __future__ import annotations

import pandas as pd

from ..stats.proportions import wilson_ci
from .engine import Engine, Source
from .quality import as_engine

__all__ = ["PERIOD_DAYS", "retention_cohorts", "retention_curves"]

PERIOD_DAYS = {"D": 1.0, "W": 7.0, "M": 30.4375, "Q": 91.3125, "Y": 365.25}


def retention_cohorts(
    customers: Engine | Source,
    *,
    outcomes: Source | None = None,
    arm_col: str | None = None,
    cohort_period: str = "M",
    n_periods: int = 12,
    duration: str = "churn_time",
    event: str = "churned",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Cohort x period retention per arm (the content of cohorts.csv).

    ``customers`` is the customers table or an Engine holding ``customers`` and
    ``outcomes``. Columns: arm, cohort, period, days, n_eligible, n_retained,
    retention, ci_low, ci_high. Cells with no eligible customer are left out.
    """
    period = str(cohort_period).upper()
    if period not in PERIOD_DAYS:
        raise ValueError(f"cohort_period must be one of {list(PERIOD_DAYS)}, not {cohort_period!r}")
    if isinstance(customers, Engine):
        eng = customers
        if outcomes is not None:
            eng.register("outcomes", outcomes)
    else:
        eng = as_engine(None, customers=customers, outcomes=outcomes)
    for tbl, col in (("customers", "signup_date"), ("outcomes", duration), ("outcomes", event)):
        if not eng.has(tbl) or col not in eng.columns(tbl):
            raise KeyError(f"cohorts need column {col!r} in the {tbl} table")
    c = eng.cohort_counts(arm_col, period, PERIOD_DAYS[period], n_periods, duration, event)
    c = c[c["n_eligible"] > 0].reset_index(drop=True)
    c["retention"] = c["n_retained"] / c["n_eligible"]
    c["ci_low"], c["ci_high"] = wilson_ci(c["n_retained"], c["n_eligible"], alpha)
    c["cohort"] = pd.to_datetime(c["cohort"]).dt.date.astype(str)
    return c


def retention_curves(cohorts: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Retention by arm and period pooled over cohorts: arm, period, days, n_eligible,
    n_retained, retention, ci_low, ci_high."""
    g = cohorts.groupby(["arm", "period", "days"], as_index=False)[["n_eligible", "n_retained"]].sum()
    g["retention"] = g["n_retained"] / g["n_eligible"]
    g["ci_low"], g["ci_high"] = wilson_ci(g["n_retained"], g["n_eligible"], alpha)
    return g
