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

from ..frameworks import DSCE_COMPONENTS
from ..markdown import escape
from ..privacy import MIN_CELL_SIZE, suppress_small_cells

__all__ = ["conclusions"]


_INDEX_LABELS = ("index", "index_equal", "index_fitted")

#: Per driver outcome: (heading, words for a positive estimate, words for a negative one).
_OUTCOME_WORDS = {
    "churn": ("churn", "churned more", "churned less"),
    "expansion_any": ("expansion", "were more likely to expand", "were less likely to expand"),
    "expansion_amount": ("expansion", "expanded by more (among expanders)", "expanded by less (among expanders)"),
    "expansion_revenue": ("expansion", "had more expansion revenue", "had less expansion revenue"),
}


def _component_label(name) -> str:
    """The component's label, escaped for Markdown (a column name from the data may hold anything)."""
    concept = DSCE_COMPONENTS.get(str(name))
    return escape(concept.label if concept is not None else str(name).replace("_", " "))


def _grouping_label(col) -> str:
    return escape(str(col).replace("_", " "))


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


def _overall_bullet(seg: pd.DataFrame, weights_used=None) -> str | None:
    if not _has(seg, "group_col", "component", "score"):
        return None
    row = seg[(seg["group_col"] == "all") & (seg["component"] == "index")]
    if row.empty:
        return None
    r = row.iloc[0]
    text = (
        f"**Overall index{f' ({weights_used} weights)' if isinstance(weights_used, str) else ''}:** "
        f"{_num(r['score'])} out of 100 "
        f"(95 % CI {_num(r.get('score_ci_low'))} to {_num(r.get('score_ci_high'))}, n = {_num(r.get('n'), '.0f')} accounts)"
    )
    if pd.notna(r.get("gap", np.nan)):
        text += (
            f"; the gap to the desired state is {_num(r['gap'])} points "
            f"(target {_num(r.get('target'))}, CI {_num(r.get('gap_ci_low'))} to {_num(r.get('gap_ci_high'))})."
        )
    else:
        text += "."
    return text


def _group_bullets(seg: pd.DataFrame, min_cell_size: int = MIN_CELL_SIZE) -> list[str]:
    if not _has(seg, "group_col", "group", "component", "gap"):
        return []
    out = []
    rows = seg[(seg["group_col"] != "all") & (seg["component"] == "index")]
    small = rows["suppressed"].fillna(False).astype(bool) if "suppressed" in rows.columns else rows["gap"].isna() & False
    for col, hidden in rows[small].groupby("group_col", sort=False):
        names = ", ".join(escape(v) for v in hidden["group"])
        out.append(f"**By {_grouping_label(col)}:** not shown for {names} (fewer than {min_cell_size} accounts each).")
    for col, g in rows[~small].dropna(subset=["gap"]).groupby("group_col", sort=False):
        word = _grouping_label(col)
        if len(g) < 2:
            out.append(f"**By {word}:** only one group ({escape(g.iloc[0]['group'])}), mean index gap {_num(g.iloc[0]['gap'])} points.")
            continue
        hi, lo = g.loc[g["gap"].idxmax()], g.loc[g["gap"].idxmin()]
        out.append(
            f"**By {word}:** the largest mean index gap is in {escape(hi['group'])} ({_num(hi['gap'])} points, "
            f"n = {_num(hi.get('n'), '.0f')}), the smallest in {escape(lo['group'])} ({_num(lo['gap'])} points, "
            f"n = {_num(lo.get('n'), '.0f')})."
        )
    return out


def _largest_gap_bullet(seg: pd.DataFrame) -> str | None:
    if not _has(seg, "group_col", "component", "gap"):
        return None
    rows = seg[(seg["group_col"] == "all") & ~seg["component"].isin(_INDEX_LABELS)].dropna(subset=["gap"])
    if rows.empty:
        return None
    r = rows.loc[rows["gap"].idxmax()]
    return (
        f"**Largest gap:** {_component_label(r['component'])} ({escape(r['component'])}) is furthest from the desired "
        f"state, {_num(r['gap'])} points on average (mean score {_num(r.get('score'))}, target {_num(r.get('target'))})."
    )


def _driver_bullets(drv: pd.DataFrame, alpha: float) -> list[str]:
    if not _has(drv, "component", "outcome", "estimate", "p_adjusted"):
        return ["**Drivers:** no driver table, so nothing can be said about churn or expansion."]
    out = []
    for heading, outcomes in (("churn", ("churn",)), ("expansion", ("expansion_any", "expansion_amount", "expansion_revenue"))):
        rows = drv[drv["outcome"].isin(outcomes)]
        if rows.empty:
            out.append(f"**{heading.capitalize()}:** not modelled.")
            continue
        p_adj = pd.to_numeric(rows["p_adjusted"], errors="coerce")
        flagged = rows[p_adj < alpha]
        if flagged.empty:
            out.append(
                f"**{heading.capitalize()}:** no component predicts {heading} after correction "
                f"(adjusted p < {alpha:g})."
            )
            continue
        parts = []
        for outcome in outcomes:
            f = flagged[flagged["outcome"] == outcome]
            f = f.reindex(f["estimate"].abs().sort_values(ascending=False).index)
            for _, r in f.iterrows():
                _, up, down = _OUTCOME_WORDS.get(outcome, (heading, "had a higher outcome", "had a lower outcome"))
                est = float(r["estimate"])
                effect = f"hazard ratio {_num(np.exp(est), '.2f')} per SD" if outcome == "churn" else (
                    f"odds ratio {_num(np.exp(est), '.2f')} per SD" if outcome == "expansion_any" else f"{_num(est, '+.3g')} per SD"
                )
                parts.append(
                    f"accounts rating {_component_label(r['component'])} higher {up if est > 0 else down} "
                    f"({effect}, adjusted p = {_num(r['p_adjusted'], '.2g')})"
                )
        out.append(f"**{heading.capitalize()}:** " + "; ".join(parts) + ".")
    return out


def _ranking_bullet(seg: pd.DataFrame, wt: pd.DataFrame) -> str | None:
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
        word = _grouping_label(col)
        if eq == fi:
            same.append(word)
        else:
            differ.append(f"{word} (equal: {' > '.join(map(escape, eq))}; fitted: {' > '.join(map(escape, fi))})")
    if not same and not differ:
        return None
    src = wt["fitted_from"].iloc[0] if "fitted_from" in wt.columns and len(wt) else "the driver model"
    text = f"**Fitted weights** (from {escape(src)}): "
    if differ:
        text += "the fitted index ranks groups differently from the equal-weight index by " + "; ".join(differ)
        text += (f", and the same way by {', '.join(same)}." if same else ".")
    else:
        text += f"the fitted index ranks groups the same way as the equal-weight index (by {', '.join(same)})."
    return text


def conclusions(card, alpha: float | None = None) -> str:
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
    bullets: list[str] = []
    if alpha is None:
        alpha = getattr(card, "alpha", 0.05)
    seg, drv, wt = _table(card, "dsce_segments"), _table(card, "dsce_drivers"), _table(card, "dsce_weights")
    steps = (
        lambda: [_overall_bullet(seg, getattr(card, "weights_used", None))],
        lambda: [_largest_gap_bullet(seg)],
        lambda: _group_bullets(seg, _min_cell_size(card)),
        lambda: _driver_bullets(drv, alpha),
        lambda: [_ranking_bullet(seg, wt)],
    )
    for step in steps:
        try:
            bullets.extend(b for b in step() if b)
        except Exception as err:  # a conclusion must never break the report
            bullets.append(f"(one conclusion could not be drawn: {type(err).__name__})")
    skipped = getattr(card, "skipped", None)
    if isinstance(skipped, (list, tuple)) and any(str(line).startswith("fitted weights") for line in skipped):
        bullets.append("**Fitted weights:** unavailable (no component predicts the outcome in the beneficial direction).")
    try:
        note = card.small_cell_note()
    except Exception:  # a stand-in without the Result interface: nothing suppressed to report
        note = None
    if note:
        bullets.append(note.removeprefix("- "))
    if not bullets:
        bullets.append("No conclusions: the scorecard has no segment or driver tables.")
    adjusted = getattr(card, "adjusted_for", None)
    after = (
        f"after adjusting for {', '.join(escape(c) for c in adjusted)}"
        if isinstance(adjusted, (list, tuple)) and adjusted
        else "in this data"
    )
    bullets.append(
        "**Caveat:** the ratings are observational. A driver is a component whose rating *predicts* the outcome "
        f"{after}, not proof that raising it would change the outcome."
    )
    return "\n".join(f"- {b}" for b in bullets)

