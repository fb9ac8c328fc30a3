"""The CSV interface of the journeys report (``TABLE_COLUMNS``: each table's interface
columns, written first by :class:`~engagement_kit.journeys.analysis.JourneyResult`; a part
that cannot be computed is written with the header only) and its conclusions.

Example
-------
:func:`conclusions` turns the funnel, its tests and the churn result into a short
Markdown bullet list in plain language (aggregates only, never customer ids):

>>> print(conclusions(None, None, has_events=False))
- **This data has no events**: no funnel, so nothing can be said about stages or drop-offs.
- No churn (survival) result: nothing to say about customer lifetime.
- Differences between groups are causal only if the arms were randomised; otherwise they may reflect who was assigned to which arm.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..frameworks import value_label
from ..i18n import check_language, translate
from ..markdown import escape, escape_columns
from .churn import SURVIVAL_COLUMNS
from .funnels import FUNNEL_COLUMNS

__all__ = ["TABLE_COLUMNS", "conclusions", "summarise"]

TABLE_COLUMNS: dict[str, list[str]] = {
    "funnel": FUNNEL_COLUMNS,
    "funnel_tests": ["framework", "stage", "stage_order", "mode", "basis", "arm", "control", "diff",
                     "diff_ci_low", "diff_ci_high", "z", "chi2", "p_value", "p_adjusted", "reject"],
    "stage_times": ["framework", "from_stage", "stage", "stage_order", "arm", "n", "n_events",
                    "median_days", "ci_low", "ci_high"],
    "transitions": ["framework", "arm", "from_stage", "to_stage", "from_order", "to_order", "kind", "n",
                    "n_from", "probability", "ci_low", "ci_high"],
    "top_paths": ["framework", "arm", "rank", "path", "n_customers", "share"],
    "cohorts": ["arm", "cohort", "period", "days", "n_eligible", "n_retained", "retention", "ci_low", "ci_high"],
    "kpis": ["framework", "kpi", "arm", "value", "ci_low", "ci_high", "n", "formula", "note"],
    "survival": SURVIVAL_COLUMNS,
    "quality": ["check", "framework", "stage", "n_rows", "n_customers", "share_of_rows", "rule"],
}  # fmt: skip


CAVEAT = translate("journeys.caveat")


def _table(obj: Any, attr: str) -> pd.DataFrame:
    """``obj.attr`` as a DataFrame, or an empty one when it is missing or not a table."""
    t = getattr(obj, attr, None) if obj is not None else None
    return t if isinstance(t, pd.DataFrame) else pd.DataFrame()


def _has(df: pd.DataFrame, *cols: str) -> bool:
    return not df.empty and all(c in df.columns for c in cols)


def _pct(x: Any) -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if math.isnan(x) else f"{100 * x:.1f} %"


def _ci(lo: Any, hi: Any, key: str = "journeys.ci", lang: str = "en") -> str:
    a, b = _pct(lo), _pct(hi)
    return "" if "n/a" in (a, b) else translate(key, lang, low=a[:-2], high=b)


def _localised(table: pd.DataFrame, columns: list[str], lang: str) -> pd.DataFrame:
    """``table`` with the domain names in ``columns`` as readers of ``lang`` know them, then escaped."""
    if lang != "en":
        table = table.assign(**{c: table[c].map(lambda v: v if pd.isna(v) else value_label(v, lang))
                                for c in columns if c in table.columns})  # fmt: skip
    return escape_columns(table, columns)


def _p(p: Any) -> str:
    try:
        p = float(p)
    except (TypeError, ValueError):
        return "p n/a"
    if math.isnan(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _level(alpha: float) -> str:
    return f"{100 * (1 - alpha):g} %"


def _published(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``table`` not suppressed for small cells (a suppressed row says nothing)."""
    if "suppressed" not in table.columns:
        return table
    return table[~table["suppressed"].fillna(False).astype(bool)]


def _funnel_bullets(f: pd.DataFrame, tests: pd.DataFrame, alpha: float, lang: str = "en") -> list[str]:
    out: list[str] = []
    if not _has(f, "stage", "stage_order"):
        return [translate("journeys.funnel_empty", lang)]
    f = _localised(f, ["arm", "stage"], lang)  # labels from the data go into Markdown
    if "arm" not in f.columns:
        f["arm"] = "all"
    f["arm"] = f["arm"].fillna("all").astype(str)
    arms = list(dict.fromkeys(f["arm"]))
    # 1. the biggest drop-off per arm: the step with the lowest rate_from_previous
    if "rate_from_previous" in f.columns:
        parts = []
        for a in arms:
            fa = f[(f["arm"] == a) & f["rate_from_previous"].notna()]
            if fa.empty:
                continue
            r = fa.loc[fa["rate_from_previous"].idxmin()]
            parts.append(translate("journeys.drop_off_arm", lang, arm=a, stage=r["stage"],
                                   share=_pct(r["rate_from_previous"]),
                                   ci=_ci(r.get("ci_low"), r.get("ci_high"), "journeys.ci_after", lang)))  # fmt: skip
        if parts:
            out.append(translate("journeys.drop_off", lang, arms="; ".join(parts)))
    # 2. overall reach of the last stage per arm
    if "rate_from_start" in f.columns:
        last = f[f["stage_order"] == f["stage_order"].max()]
        parts = [
            f"{r['arm']} {_pct(r['rate_from_start'])}{_ci(r.get('start_ci_low'), r.get('start_ci_high'), lang=lang)}"
            for _, r in last.iterrows()
        ]
        if parts:
            stage = last["stage"].iloc[0]
            out.append(translate("journeys.last_stage", lang, stage=stage, level=_level(alpha), arms="; ".join(parts)))
    # 3. which arms differ from the control, after correction
    t = _localised(_published(tests), ["arm", "stage", "control"], lang)
    t = escape_columns(t, ["correction"])
    if not _has(t, "arm", "stage", "reject"):
        out.append(translate("journeys.one_group" if len(arms) < 2 else "journeys.no_tests", lang))
        return out
    ctrl = str(t["control"].dropna().iloc[0]) if "control" in t.columns and t["control"].notna().any() else "control"
    corr = str(t["correction"].dropna().iloc[0]) if "correction" in t.columns and t["correction"].notna().any() else ""
    how = (translate("journeys.after_named_correction", lang, correction=corr.capitalize()) if corr
           else translate("journeys.after_correction", lang))  # fmt: skip
    sig = t[t["reject"].fillna(False).astype(bool)]
    for a in dict.fromkeys(t["arm"].astype(str)):
        sa = sig[sig["arm"].astype(str) == a]
        if sa.empty:
            out.append(translate("journeys.no_stage_differs", lang, arm=a, control=ctrl, how=how))
            continue
        parts = []
        for _, r in sa.iterrows():
            d = r.get("diff", np.nan)
            word = "higher" if pd.notna(d) and d > 0 else "lower" if pd.notna(d) and d < 0 else "different"
            basis = r.get("basis")
            basis = (translate(f"journeys.{basis}", lang) if basis in ("rate_from_start", "rate_from_previous")
                     else escape(basis if isinstance(basis, str) else ""))  # fmt: skip
            size = translate("journeys.by_points", lang, points=f"{abs(100 * d):.1f}") if pd.notna(d) else ""
            parts.append(translate(f"journeys.stage_{word}", lang, stage=r["stage"], basis=basis, size=size,
                                   p=_p(r.get("p_adjusted"))))  # fmt: skip
        out.append(translate("journeys.stages_differ", lang, arm=a, control=ctrl, how=how, stages="; ".join(parts)))
    return out


def _final_survival(km: pd.DataFrame, group_col: str) -> dict[str, float]:
    """KM survival of each group at the shortest follow-up of the groups (a common horizon)."""
    if not _has(km, "group_col", "group", "time", "survival"):
        return {}
    k = km[km["group_col"] == group_col]
    if k.empty:
        return {}
    horizon = k.groupby("group")["time"].max().min()
    s = k[k["time"] <= horizon].sort_values("time").groupby("group")["survival"].last()
    return {"__horizon__": float(horizon), **{str(g): float(v) for g, v in s.items()}}


def _churn_bullets(survival: pd.DataFrame | None, alpha: float, lang: str = "en") -> list[str]:
    if survival is None:
        return [translate("journeys.no_churn", lang)]
    s = _localised(_published(survival), ["group_col", "group"], lang) if _has(survival, "kind") else survival
    parts = {kind: s[s["kind"] == kind].rename(columns={"estimate": name}) if _has(s, "kind") else pd.DataFrame()
             for kind, name in (("median_lifetime", "median"), ("logrank", "estimate"), ("km", "survival"))}
    med, lr, km = parts["median_lifetime"], parts["logrank"], parts["km"]  # labels escaped above
    gcols = list(dict.fromkeys(
        ([*lr["group_col"]] if _has(lr, "group_col") else []) + ([*med["group_col"]] if _has(med, "group_col") else [])
    ))  # fmt: skip
    if not gcols:
        return [translate("journeys.churn_empty", lang)]
    out = []
    for g in gcols:
        row = lr[lr["group_col"] == g] if _has(lr, "group_col", "p_value") else pd.DataFrame()
        if not row.empty and pd.notna(row["p_value"].iloc[0]):
            p = float(row["p_value"].iloc[0])
            key = "journeys.survival_differs" if p < alpha else "journeys.survival_same"
            text = translate(key, lang, grouping=g, p=_p(p))
        else:
            text = translate("journeys.no_logrank", lang, grouping=g)
        m = med[med["group_col"] == g] if _has(med, "group_col", "group", "median") else pd.DataFrame()
        surv = _final_survival(km, g)
        horizon = surv.pop("__horizon__", None)
        if not m.empty and m["median"].notna().all():
            best = m.loc[m["median"].idxmax()]
            text += " " + translate("journeys.longest_median", lang, group=best["group"], median=f"{float(best['median']):.4g}")
        elif surv:
            open_ended = set(m.loc[m["median"].isna(), "group"].astype(str)) if not m.empty else set(surv)
            cand = {k: v for k, v in surv.items() if k in open_ended}
            cand = cand or surv
            best = max(cand, key=cand.get)
            when = (translate("journeys.at_time", lang, time=f"{horizon:.4g}") if horizon is not None
                    else translate("journeys.at_the_end", lang))  # fmt: skip
            some = not m.empty and m["median"].notna().any()
            key = "journeys.median_not_reached_some" if some else (
                "journeys.median_not_reached_any" if not m.empty else "journeys.no_median")
            text += " " + translate(key, lang, when=when, group=best, share=_pct(cand[best]))
        if not m.empty and m["median"].notna().any():
            parts = [
                f"{r['group']} " + (f"{float(r['median']):.4g}" if pd.notna(r["median"])
                                    else translate("journeys.not_reached", lang))
                for _, r in m.iterrows()
            ]  # fmt: skip
            text += " " + translate("journeys.median_lifetimes", lang, medians="; ".join(parts))
        out.append(text)
    return out


def summarise(
    funnel: pd.DataFrame | None,
    tests: pd.DataFrame | None,
    survival: pd.DataFrame | None,
    *,
    has_events: bool = True,
    alpha: float = 0.05,
    language: str = "en",
) -> str:
    """The conclusions as a Markdown bullet list, from the tables as published.

    ``funnel`` and ``tests`` are the funnel.csv and funnel_tests.csv tables (None: no
    funnel was computed), ``survival`` the long survival.csv table (None: no churn
    analysis). Rows marked ``suppressed`` (small cells) say nothing. Never raises on
    missing pieces; labels are escaped.
    """
    lang = check_language(language)
    bullets: list[str] = []
    if not has_events:
        bullets.append(translate("journeys.no_events", lang))
    elif funnel is None:
        bullets.append(translate("journeys.no_funnel", lang))
    else:
        try:
            bullets += _funnel_bullets(_published(funnel), pd.DataFrame() if tests is None else tests, alpha, lang)
        except Exception as e:  # noqa: BLE001 - a summary must not break the report
            bullets.append(translate("journeys.funnel_failed", lang, error=type(e).__name__))
    try:
        bullets += _churn_bullets(survival, alpha, lang)
    except Exception as e:  # noqa: BLE001
        bullets.append(translate("journeys.churn_failed", lang, error=type(e).__name__))
    bullets.append(translate("journeys.caveat", lang))
    return "\n".join(f"- {b}" for b in bullets)


def conclusions(res: Any = None, churn: Any = None, has_events: bool = True, alpha: float | None = None,
                language: str = "en") -> str:
    """Plain-language conclusions of a funnel and a churn result as a Markdown bullet list.

    ``res`` is a :class:`~engagement_kit.journeys.FunnelResult` (its ``funnel`` and
    ``tests`` tables), ``churn`` a :class:`~engagement_kit.journeys.ChurnResult` or
    None, ``has_events`` whether the data had events (if not, ``res`` is ignored
    and only the churn part is reported). ``alpha`` defaults to ``res.alpha`` (else
    0.05). Bullets: the biggest drop-off per arm (lowest ``rate_from_previous``),
    the reach of the last stage per arm with its interval, the stages where an arm
    differs from the control after correction (``reject`` / ``p_adjusted``), the
    log-rank verdict and the group living longest per churn grouping, and a
    causality caveat. Never raises on missing pieces; uses aggregates only.
    :meth:`engagement_kit.journeys.JourneyResult.conclusions` says the same from the
    published tables.
    """
    if alpha is None:
        alpha = getattr(res, "alpha", None) if has_events else None
        alpha = float(alpha) if isinstance(alpha, (int, float)) else 0.05
    survival = None
    if churn is not None:
        survival = churn.to_pandas() if hasattr(churn, "to_pandas") else pd.DataFrame()
    funnel = None if res is None else _table(res, "funnel")
    return summarise(funnel, _table(res, "tests"), survival, has_events=has_events, alpha=alpha, language=language)
