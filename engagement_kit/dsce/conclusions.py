"""Plain-language conclusions of a DSCE scorecard, as Markdown (labels escaped).

Built from the published (small-cell suppressed) tables only, never from account-level
rows; a missing table or column drops its bullet, and nothing here ever raises.

>>> seg = pd.DataFrame({"group_col": ["all"], "group": ["all"], "component": ["index"], "n": [40],
...                     "score": [60.0], "score_ci_low": [55.0], "score_ci_high": [65.0], "target": [100.0],
...                     "gap": [40.0], "gap_ci_low": [35.0], "gap_ci_high": [45.0]})
>>> print(conclusions(SimpleNamespace(dsce_segments=seg)).splitlines()[0])
- **Overall index:** 60.0 out of 100 (95 % CI 55.0 to 65.0, n = 40 accounts); the gap to the desired state is 40.0 points (target 100.0, CI 35.0 to 45.0).
"""

from __future__ import annotations

from types import SimpleNamespace  # noqa: F401  (the doctest's stand-in for a scorecard)

import numpy as np
import pandas as pd

from ..frameworks import DSCE_COMPONENTS, label, value_label
from ..i18n import check_language, translate
from ..markdown import escape
from ..privacy import MIN_CELL_SIZE, suppress_small_cells

__all__ = ["conclusions"]


_INDEX_LABELS = ("index", "index_equal", "index_fitted")

#: Driver outcomes whose direction has its own words (keys ``dsce.<outcome>_up`` / ``_down``).
_OUTCOME_WORDS = ("churn", "expansion_any", "expansion_amount", "expansion_revenue")


def _component_label(name, lang: str = "en") -> str:
    """The component's label, escaped for Markdown (a column name from the data may hold anything)."""
    if str(name) in DSCE_COMPONENTS:
        return escape(label(str(name), lang))
    return escape(str(name).replace("_", " "))


def _grouping_label(col, lang: str = "en") -> str:
    text = value_label(col, lang)
    return escape(text.replace("_", " ") if text == str(col) else text)


def _num(x, fmt: str = ".1f") -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return "n/a"
    return format(x, fmt) if np.isfinite(x) else "n/a"


def _min_cell_size(card) -> int:
    m = getattr(card, "min_cell_size", MIN_CELL_SIZE)
    return int(m) if isinstance(m, (int, np.integer)) and not isinstance(m, bool) and m >= 1 else MIN_CELL_SIZE


def _table(card, name: str) -> pd.DataFrame:
    """The table as published: rows describing fewer than ``min_cell_size`` accounts keep
    their labels only and are marked ``suppressed`` (the card's ``CELLS``)."""
    t = getattr(card, name, None)
    if not isinstance(t, pd.DataFrame) or t.empty:
        return pd.DataFrame()
    counts, labels = getattr(card, "CELLS", {}).get(name, ((), ()))
    if counts and all(c in t.columns for c in counts):
        t = suppress_small_cells(t, counts, labels=labels, min_cell_size=_min_cell_size(card))
    return t


def _has(t: pd.DataFrame, *cols: str) -> bool:
    return not t.empty and all(c in t.columns for c in cols)


def _overall_bullet(seg: pd.DataFrame, weights_used=None, lang: str = "en") -> str | None:
    if not _has(seg, "group_col", "component", "score"):
        return None
    row = seg[(seg["group_col"] == "all") & (seg["component"] == "index")]
    if row.empty:
        return None
    r = row.iloc[0]
    weights = ""
    if isinstance(weights_used, str):
        name = translate(f"dsce.weights_{weights_used}", lang) if weights_used in ("equal", "fitted") else escape(weights_used)
        weights = translate("dsce.weights_used", lang, weights=name)
    fields = {"weights": weights, "score": _num(r["score"]), "low": _num(r.get("score_ci_low")),
              "high": _num(r.get("score_ci_high")), "n": _num(r.get("n"), ".0f")}  # fmt: skip
    if pd.notna(r.get("gap", np.nan)):
        return translate("dsce.overall_gap", lang, gap=_num(r["gap"]), target=_num(r.get("target")),
                         gap_low=_num(r.get("gap_ci_low")), gap_high=_num(r.get("gap_ci_high")), **fields)
    return translate("dsce.overall", lang, **fields)


def _group_bullets(seg: pd.DataFrame, min_cell_size: int = MIN_CELL_SIZE, lang: str = "en") -> list[str]:
    if not _has(seg, "group_col", "group", "component", "gap"):
        return []
    out = []
    rows = seg[(seg["group_col"] != "all") & (seg["component"] == "index")]
    small = rows["suppressed"].fillna(False).astype(bool) if "suppressed" in rows.columns else rows["gap"].isna() & False
    for col, hidden in rows[small].groupby("group_col", sort=False):
        names = ", ".join(escape(value_label(v, lang)) for v in hidden["group"])
        out.append(translate("dsce.groups_hidden", lang, grouping=_grouping_label(col, lang), groups=names,
                             min_cell_size=min_cell_size))  # fmt: skip
    for col, g in rows[~small].dropna(subset=["gap"]).groupby("group_col", sort=False):
        word = _grouping_label(col, lang)
        if len(g) < 2:
            out.append(translate("dsce.one_group", lang, grouping=word, group=escape(value_label(g.iloc[0]["group"], lang)),
                                 gap=_num(g.iloc[0]["gap"])))  # fmt: skip
            continue
        hi, lo = g.loc[g["gap"].idxmax()], g.loc[g["gap"].idxmin()]
        out.append(translate(
            "dsce.groups", lang, grouping=word, high=escape(value_label(hi["group"], lang)), high_gap=_num(hi["gap"]),
            high_n=_num(hi.get("n"), ".0f"), low=escape(value_label(lo["group"], lang)), low_gap=_num(lo["gap"]),
            low_n=_num(lo.get("n"), ".0f")))
    return out


def _largest_gap_bullet(seg: pd.DataFrame, lang: str = "en") -> str | None:
    if not _has(seg, "group_col", "component", "gap"):
        return None
    rows = seg[(seg["group_col"] == "all") & ~seg["component"].isin(_INDEX_LABELS)].dropna(subset=["gap"])
    if rows.empty:
        return None
    r = rows.loc[rows["gap"].idxmax()]
    return translate("dsce.largest_gap", lang, component=_component_label(r["component"], lang),
                     name=escape(r["component"]), gap=_num(r["gap"]), score=_num(r.get("score")),
                     target=_num(r.get("target")))  # fmt: skip


def _driver_bullets(drv: pd.DataFrame, alpha: float, lang: str = "en") -> list[str]:
    if not _has(drv, "component", "outcome", "estimate", "p_adjusted"):
        return [translate("dsce.no_drivers", lang)]
    out = []
    for heading, outcomes in (("churn", ("churn",)), ("expansion", ("expansion_any", "expansion_amount", "expansion_revenue"))):
        rows = drv[drv["outcome"].isin(outcomes)]
        title = translate(f"dsce.heading_{heading}", lang)
        if rows.empty:
            out.append(translate("dsce.not_modelled", lang, heading=title))
            continue
        p_adj = pd.to_numeric(rows["p_adjusted"], errors="coerce")
        flagged = rows[p_adj < alpha]
        if flagged.empty:
            out.append(translate(f"dsce.no_predictor_{heading}", lang, heading=title, alpha=f"{alpha:g}"))
            continue
        parts = []
        for outcome in outcomes:
            f = flagged[flagged["outcome"] == outcome]
            f = f.reindex(f["estimate"].abs().sort_values(ascending=False).index)
            for _, r in f.iterrows():
                words = outcome if outcome in _OUTCOME_WORDS else "other"
                est = float(r["estimate"])
                effect = translate("dsce.hazard_ratio", lang, value=_num(np.exp(est), ".2f")) if outcome == "churn" else (
                    translate("dsce.odds_ratio", lang, value=_num(np.exp(est), ".2f")) if outcome == "expansion_any"
                    else translate("dsce.per_sd", lang, value=_num(est, "+.3g")))  # fmt: skip
                parts.append(translate(
                    "dsce.driver", lang, component=_component_label(r["component"], lang),
                    direction=translate(f"dsce.{words}_{'up' if est > 0 else 'down'}", lang), effect=effect,
                    p=_num(r["p_adjusted"], ".2g")))
        out.append(translate("dsce.drivers", lang, heading=title, drivers="; ".join(parts)))
    return out


def _ranking_bullet(seg: pd.DataFrame, wt: pd.DataFrame, lang: str = "en") -> str | None:
    if "fitted_weight" not in wt.columns or not _has(seg, "group_col", "group", "component", "score"):
        return None
    rows = seg[(seg["group_col"] != "all") & seg["component"].isin(["index_equal", "index_fitted"])]
    if not (rows["component"] == "index_fitted").any():
        return None
    same, differ = [], []
    for col, g in rows.groupby("group_col", sort=False):
        wide = g.pivot_table(index="group", columns="component", values="score")
        if not {"index_equal", "index_fitted"} <= set(wide.columns) or len(wide) < 2:
            continue
        eq = wide["index_equal"].sort_values(ascending=False).index.tolist()
        fi = wide["index_fitted"].sort_values(ascending=False).index.tolist()
        word = _grouping_label(col, lang)
        if eq == fi:
            same.append(word)
        else:
            def order(groups: list) -> str:
                return " > ".join(escape(value_label(v, lang)) for v in groups)

            differ.append(translate("dsce.ranking_item", lang, grouping=word, equal=order(eq), fitted=order(fi)))
    if not same and not differ:
        return None
    src = escape(wt["fitted_from"].iloc[0]) if "fitted_from" in wt.columns and len(wt) else translate("dsce.driver_model", lang)
    if differ and same:
        return translate("dsce.ranking_differ_some", lang, source=src, differ="; ".join(differ), same=", ".join(same))
    if differ:
        return translate("dsce.ranking_differ", lang, source=src, differ="; ".join(differ))
    return translate("dsce.ranking_same", lang, source=src, same=", ".join(same))


def conclusions(card, alpha: float | None = None, language: str = "en") -> str:
    """Plain-language conclusions of a scorecard as a Markdown bullet list
    (:meth:`engagement_kit.dsce.Scorecard.conclusions` calls this; ``alpha`` defaults to
    the card's).

    Bullets: the overall index (mean, CI) and its gap to the desired state; per
    grouping (segment, arm) the groups with the largest and smallest mean
    index gap (groups under the minimum cell size are named, not described); the component with the largest mean gap overall; the components
    flagged (``p_adjusted < alpha``) as drivers of churn and of expansion, with
    the direction in words; whether fitted weights rank groups differently from
    equal weights (when fitted weights exist); and a caveat that the ratings are
    observational; and the small-cell note. Uses the published aggregates only (no
    account ids) and never raises: a missing table or column just drops its bullet.

    >>> seg = pd.DataFrame({"group_col": ["all", "all"], "group": ["all", "all"],
    ...                     "component": ["index", "journey"], "n": [10, 10], "score": [60.0, 40.0],
    ...                     "score_ci_low": [55.0, 35.0], "score_ci_high": [65.0, 45.0],
    ...                     "target": [100.0, 100.0], "gap": [40.0, 60.0],
    ...                     "gap_ci_low": [35.0, 55.0], "gap_ci_high": [45.0, 65.0]})
    >>> print(conclusions(SimpleNamespace(dsce_segments=seg)).splitlines()[1])
    - **Largest gap:** Optimal customer journey (journey) is furthest from the desired state, 60.0 points on average (mean score 40.0, target 100.0).
    """
    lang = check_language(language)
    bullets: list[str] = []
    if alpha is None:
        alpha = getattr(card, "alpha", 0.05)
    seg, drv, wt = _table(card, "dsce_segments"), _table(card, "dsce_drivers"), _table(card, "dsce_weights")
    steps = (
        lambda: [_overall_bullet(seg, getattr(card, "weights_used", None), lang)],
        lambda: [_largest_gap_bullet(seg, lang)],
        lambda: _group_bullets(seg, _min_cell_size(card), lang),
        lambda: _driver_bullets(drv, alpha, lang),
        lambda: [_ranking_bullet(seg, wt, lang)],
    )
    for step in steps:
        try:
            bullets.extend(b for b in step() if b)
        except Exception as err:  # a conclusion must never break the report
            bullets.append(translate("dsce.failed", lang, error=type(err).__name__))
    skipped = getattr(card, "skipped", None)
    if isinstance(skipped, (list, tuple)) and any(str(line).startswith("fitted weights") for line in skipped):
        bullets.append(translate("dsce.fitted_unavailable", lang))
    try:
        note = card.small_cell_note(lang)
    except Exception:  # a stand-in without the Result interface: nothing suppressed to report
        note = None
    if note:
        bullets.append(note.removeprefix("- "))
    if not bullets:
        bullets.append(translate("dsce.no_conclusions", lang))
    adjusted = getattr(card, "adjusted_for", None)
    after = (
        translate("dsce.after_adjusting", lang, covariates=", ".join(escape(value_label(c, lang)) for c in adjusted))
        if isinstance(adjusted, (list, tuple)) and adjusted
        else translate("dsce.in_this_data", lang)
    )
    bullets.append(translate("dsce.caveat", lang, after=after))
    return "\n".join(f"- {b}" for b in bullets)

