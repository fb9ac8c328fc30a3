"""Lifecycle KPIs of the AARRR and LAER frameworks, per arm, with intervals.

Formulas (per arm; "reached" = the ordered funnel of :mod:`.funnels`):

AARRR
* ``activation_rate`` = reached activation / reached acquisition (Wilson CI).
* ``retention_d7``, ``retention_d30``, ``retention_d90`` = Kaplan-Meier S(t) of
  (churn_time, churned) at t = 7, 30, 90 days (log-log CI); KM, so customers
  censored before t count while observed.
* ``referral_rate`` = customers with referrals >= 1 / customers (Wilson CI).
* ``revenue_per_customer`` = mean revenue (normal CI, t quantile).

LAER
* ``adoption_rate`` = reached adopt / reached land; ``expansion_rate`` = reached
  expand / reached land; ``renewal_rate`` = reached renew / reached land (Wilson).
* ``net_revenue_retention`` = sum(revenue + expansion_revenue) / sum(prior_revenue)
  over the arm's customers: revenue in the window, churned customers included
  with what they paid before churning, relative to the pre-period revenue
  (delta-method CI of a ratio of means).

A KPI whose inputs are missing is not computed; :func:`lifecycle_kpis` lists it
with ``value`` NaN and the reason in ``note``.

Example
-------
>>> import pandas as pd
>>> out = pd.DataFrame({"customer_id": ["a", "b"], "churn_time": [5.0, 365.0], "churned": [True, False],
...                     "revenue": [0.0, 10.0], "referrals": [0, 2]})
>>> k = lifecycle_kpis(outcomes=out, arm_col=None)
>>> k.set_index("kpi").loc["referral_rate", "value"]
np.float64(0.5)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats.means import ratio_of_means, t_interval
from ..stats.proportions import wilson_ci
from ..stats.survival import kaplan_meier
from .engine import Engine, Source
from .funnels import funnel
from .quality import as_engine

__all__ = ["lifecycle_kpis", "KPI_FORMULAS", "RETENTION_DAYS"]

RETENTION_DAYS = (7, 30, 90)

KPI_FORMULAS: dict[str, tuple[str, str]] = {
    "activation_rate": ("aarrr", "reached activation / reached acquisition (ordered funnel)"),
    **{f"retention_d{d}": ("aarrr", f"Kaplan-Meier S({d} days) of churn_time, churned") for d in RETENTION_DAYS},
    "referral_rate": ("aarrr", "customers with referrals >= 1 / customers"),
    "revenue_per_customer": ("aarrr", "mean revenue per customer"),
    "adoption_rate": ("laer", "reached adopt / reached land (ordered funnel)"),
    "expansion_rate": ("laer", "reached expand / reached land (ordered funnel)"),
    "renewal_rate": ("laer", "reached renew / reached land (ordered funnel)"),
    "net_revenue_retention": ("laer", "sum(revenue + expansion_revenue) / sum(prior_revenue)"),
}


def _row(kpi, arm, value, lo, hi, n, note=""):
    fw, formula = KPI_FORMULAS[kpi]
    return {"framework": fw, "kpi": kpi, "arm": arm, "value": value, "ci_low": lo, "ci_high": hi,
            "n": n, "formula": formula, "note": note}  # fmt: skip


def _stage_kpis(eng: Engine, framework: str, arm_col, alpha, specs) -> list[dict]:
    f = funnel(eng, framework=framework, arm_col=arm_col, control=None, mode="ordered", alpha=alpha).funnel
    rows = []
    base_stage = specs[0][1]
    for arm, fa in f.groupby("arm"):
        fa = fa.set_index("stage")
        den = int(fa.loc[base_stage, "n_reached"])
        for kpi, _, stage in specs:
            num = int(fa.loc[stage, "n_reached"])
            lo, hi = wilson_ci(np.array([num]), np.array([den]), alpha)
            rows.append(_row(kpi, arm, num / den if den else np.nan, lo[0], hi[0], den,
                             "" if den else f"no customer reached {base_stage}"))  # fmt: skip
    return rows


def lifecycle_kpis(
    data: Engine | Source | None = None,
    *,
    customers: Source | None = None,
    outcomes: Source | None = None,
    arm_col: str | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """AARRR and LAER KPIs per arm (the content of kpis.csv).

    ``data`` is the events table or an Engine; stage KPIs need events of the
    framework, outcome KPIs need ``outcomes`` (churn_time, churned, revenue,
    referrals, expansion_revenue) and NRR needs ``prior_revenue`` in customers.
    Columns: framework, kpi, arm, value, ci_low, ci_high, n, formula, note.
    """
    eng = as_engine(data, customers=customers, outcomes=outcomes)
    rows: list[dict] = []
    missing: list[tuple[str, str]] = []
    has_events = eng.has("events")
    if has_events:
        fws = set(eng.levels("events", "framework"))
    else:
        fws = set()
    for fw, specs in (
        ("aarrr", [("activation_rate", "acquisition", "activation")]),
        ("laer", [("adoption_rate", "land", "adopt"), ("expansion_rate", "land", "expand"),
                  ("renewal_rate", "land", "renew")]),
    ):  # fmt: skip
        if fw in fws:
            rows += _stage_kpis(eng, fw, arm_col, alpha, specs)
        else:
            missing += [(k, f"no {fw} events") for k, _, _ in specs]
    if eng.has("outcomes"):
        cols = set(eng.columns("outcomes")) | (set(eng.columns("customers")) if eng.has("customers") else set())
        want = [c for c in ("churn_time", "churned", "revenue", "referrals", "expansion_revenue", "prior_revenue")
                if c in cols]  # fmt: skip
        d = eng.customer_table(want, arm_col=arm_col)
        for arm, da in d.groupby("arm"):
            n = len(da)
            if {"churn_time", "churned"} <= set(want):
                km = kaplan_meier(da, "churn_time", "churned", alpha=alpha)
                for day in RETENTION_DAYS:
                    upto = km[km["time"] <= day]
                    if upto.empty:
                        s, lo, hi = 1.0, 1.0, 1.0
                    else:
                        s, lo, hi = upto.iloc[-1][["survival", "ci_low", "ci_high"]]
                    rows.append(_row(f"retention_d{day}", arm, float(s), float(lo), float(hi), n))
            if "referrals" in want:
                x = int((da["referrals"] >= 1).sum())
                lo, hi = wilson_ci(np.array([x]), np.array([n]), alpha)
                rows.append(_row("referral_rate", arm, x / n, lo[0], hi[0], n))
            if "revenue" in want:
                r = da["revenue"].astype(float)
                se = r.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
                lo, hi = t_interval(r.mean(), se, n - 1, alpha)
                rows.append(_row("revenue_per_customer", arm, r.mean(), float(lo), float(hi), n))
            if {"revenue", "expansion_revenue", "prior_revenue"} <= set(want):
                y = da["revenue"].astype(float) + da["expansion_revenue"].astype(float)
                x = da["prior_revenue"].astype(float)
                if x.sum() > 0:
                    rows.append(_row("net_revenue_retention", arm, *ratio_of_means(y, x, alpha), n))
                else:
                    rows.append(_row("net_revenue_retention", arm, np.nan, np.nan, np.nan, n, "prior_revenue sums to 0"))
        got = {r["kpi"] for r in rows}
        for k in ("retention_d7", "referral_rate", "revenue_per_customer", "net_revenue_retention"):
            if k not in got:
                missing.append((k, "input columns missing from outcomes/customers"))
    else:
        missing += [(k, "no outcomes table")
                    for k in ("retention_d7", "referral_rate", "revenue_per_customer", "net_revenue_retention")]
    for k, why in missing:
        if k == "retention_d7":
            for day in RETENTION_DAYS:
                rows.append(_row(f"retention_d{day}", "all", np.nan, np.nan, np.nan, 0, why))
        else:
            rows.append(_row(k, "all", np.nan, np.nan, np.nan, 0, why))
    out = pd.DataFrame(rows).drop_duplicates(["kpi", "arm"])
    order = {k: i for i, k in enumerate(KPI_FORMULAS)}
    return out.sort_values(["kpi", "arm"], key=lambda s: s.map(order) if s.name == "kpi" else s, ignore_index=True)
