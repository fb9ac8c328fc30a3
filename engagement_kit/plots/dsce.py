"""Plots of the DSCE scorecard: radar, gap heat map, driver forest plot, KPI trend.

Each function takes the scorecard (:class:`engagement_kit.dsce.Scorecard`: its published
tables, small cells suppressed) or ``data=`` (a tidy table from :mod:`engagement_kit.dsce`
or :mod:`engagement_kit.kpis`) plus column names, and returns the Axes or Figure.

Example
-------
>>> import pandas as pd
>>> seg = pd.DataFrame({"group": ["smb"] * 3, "component": ["a", "b", "c"],
...                     "score": [40.0, 60.0, 50.0], "target": [100.0] * 3})
>>> ax = radar(data=seg)
>>> ax.name
'polar'
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import plot_label as label
from . import palette_for

__all__ = ["radar", "gap_heatmap", "driver_forest", "kpi_trend"]


def _table(data, name: str) -> pd.DataFrame:
    """``data`` itself, or the published table ``name`` of a result (anything with ``tables()``)."""
    return data.tables()[name] if hasattr(data, "tables") else data


def _grouping(seg: pd.DataFrame, grouping: str | None) -> pd.DataFrame:
    """The rows of one grouping of ``dsce_segments`` (default: the first one that is not 'all')."""
    if grouping is None:
        others = [g for g in dict.fromkeys(seg["group_col"]) if g != "all"]
        grouping = others[0] if others else "all"
    rows = seg[seg["group_col"] == grouping]
    if rows.empty:
        raise KeyError(f"the scorecard has no grouping {grouping!r}; it has {sorted(seg['group_col'].unique())}")
    return rows


def _need(data: pd.DataFrame, cols: list[str | None]) -> None:
    missing = [c for c in cols if c is not None and c not in data.columns]
    if missing:
        raise KeyError(f"plot data has no column(s) {missing}; columns are {list(data.columns)}")


def radar(
    data: pd.DataFrame,
    component: str = "component",
    score: str = "score",
    target: str | None = "target",
    group: str = "group",
    components: list[str] | None = None,
    ax=None,
    grouping: str | None = None,
):
    """Radar of actual component scores (solid) against the desired state (dashed), one line per group.

    ``data``: a scorecard (its ``dsce_segments`` rows of ``grouping``, default the first
    breakdown, else 'all'), or rows of ``dsce_segments.csv`` for one grouping (e.g. the
    segment rows), one row per group x component; index rows are left out.
    """
    if hasattr(data, "tables"):
        data = _grouping(_table(data, "dsce_segments"), grouping)
    _need(data, [component, score, target, group])
    comps = components or [c for c in dict.fromkeys(data[component]) if not str(c).startswith("index")]
    if not comps:
        raise ValueError("a radar needs at least one component")
    angles = np.linspace(0, 2 * np.pi, len(comps), endpoint=False)
    closed = np.r_[angles, angles[:1]]
    if ax is None:
        _, ax = plt.subplots(subplot_kw={"projection": "polar"}, figsize=(6, 6))
    groups = list(dict.fromkeys(data[group]))
    colours = palette_for(groups)
    for g in groups:
        d = data[data[group] == g].set_index(component).reindex(comps)
        ax.plot(closed, np.r_[d[score].to_numpy(), d[score].to_numpy()[:1]], color=colours[g], label=f"{label(str(g))}")
        ax.fill(closed, np.r_[d[score].to_numpy(), d[score].to_numpy()[:1]], color=colours[g], alpha=0.08)
        if target is not None:
            t = d[target].to_numpy()
            ax.plot(closed, np.r_[t, t[:1]], color=colours[g], linestyle="--", linewidth=1)
    ax.set_xticks(angles)
    ax.set_xticklabels([label(c) for c in comps], fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_title("DSCE: actual (solid) vs desired state (dashed)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=min(len(groups), 4), fontsize=8)
    return ax


def gap_heatmap(
    data: pd.DataFrame,
    x: str = "group",
    y: str = "component",
    value: str = "gap",
    ax=None,
    cmap: str = "Reds",
):
    """Heat map of the mean gap to the desired state (component x group), annotated.

    ``data``: a scorecard (every grouping of its ``dsce_segments``, columns labelled
    'all' and '<grouping>: <group>'), or rows of ``dsce_segments.csv``.
    """
    import seaborn as sns

    if hasattr(data, "tables"):
        seg = _table(data, "dsce_segments")
        label_of = np.where(seg["group_col"] == "all", "all", seg["group_col"].astype(str) + ": " + seg["group"].astype(str))
        data = seg.assign(**{x: label_of})
    _need(data, [x, y, value])
    d = data[~data[y].astype(str).str.startswith("index") | (data[y] == "index")]
    table = d.pivot_table(index=y, columns=x, values=value, aggfunc="mean", sort=False)
    table.index = [label(str(i)) for i in table.index]
    table.columns = [label(str(c)) for c in table.columns]
    if ax is None:
        _, ax = plt.subplots(figsize=(1.6 * table.shape[1] + 3, 0.45 * table.shape[0] + 1.5))
    sns.heatmap(table, annot=True, fmt=".0f", cmap=cmap, cbar_kws={"label": "gap (score points)"}, ax=ax)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title(f"Mean gap to the desired state by {y} and {x} (score points)")
    return ax


def driver_forest(
    data: pd.DataFrame,
    component: str = "component",
    outcome: str = "outcome",
    estimate: str = "estimate",
    ci_low: str = "ci_low",
    ci_high: str = "ci_high",
    flagged: str | None = "flagged",
    unit: str | None = "unit",
):
    """Forest plot of driver estimates with CIs, one panel per outcome; flagged (after correction) filled.

    ``data``: a scorecard (its ``dsce_drivers``) or ``dsce_drivers.csv``.
    """
    adjusted = getattr(data, "adjusted_for", ())
    data = _table(data, "dsce_drivers")
    _need(data, [component, outcome, estimate, ci_low, ci_high, flagged])
    outcomes = list(dict.fromkeys(data[outcome]))
    fig, axes = plt.subplots(1, len(outcomes), figsize=(4.2 * len(outcomes), 0.4 * data[component].nunique() + 1.8),
                             sharey=True, squeeze=False)
    for ax, o in zip(axes[0], outcomes):
        d = data[data[outcome] == o].reset_index(drop=True)
        ypos = np.arange(len(d))[::-1]
        err = np.vstack([d[estimate] - d[ci_low], d[ci_high] - d[estimate]])
        ax.errorbar(d[estimate], ypos, xerr=err, fmt="none", ecolor="#555555", capsize=3)
        flag = d[flagged].astype(bool).to_numpy() if flagged else np.zeros(len(d), bool)
        ax.scatter(d[estimate][flag], ypos[flag], color="#1b6ca8", zorder=3, label="flagged")
        ax.scatter(d[estimate][~flag], ypos[~flag], facecolor="white", edgecolor="#1b6ca8", zorder=3,
                   label="not flagged")
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(ypos)
        ax.set_yticklabels([label(str(c)) for c in d[component]])
        ax.set_title(str(o))
        if unit and unit in d.columns:
            ax.set_xlabel(str(d[unit].iloc[0]), fontsize=8)
    axes[0][0].legend(fontsize=8, loc="best")
    how = f"adjusted for {', '.join(map(str, adjusted))}; " if adjusted else ""
    fig.suptitle(f"DSCE drivers ({how}observational)")
    fig.tight_layout()
    return fig


def kpi_trend(
    data: pd.DataFrame,
    x: str = "cohort",
    y: str = "estimate",
    ci_low: str = "ci_low",
    ci_high: str = "ci_high",
    hue: str | None = None,
    ax=None,
    ylabel: str | None = None,
):
    """A KPI by signup cohort with its CI band, one line per ``hue`` group.

    ``data``: a scorecard (its ``kpi_trend`` table, one line per group), or the output
    of a ``*_by_group`` function of :mod:`engagement_kit.kpis` grouped by [cohort, hue],
    e.g. ``proportion_by_group(df, "retained", ["cohort", "touch_model"])``.
    """
    if hasattr(data, "tables"):
        data, hue = _table(data, "kpi_trend"), hue or "group"
        if data.empty:  # skipped (no signup dates): an empty panel that says so, not an error
            if ax is None:
                _, ax = plt.subplots(figsize=(8, 1.5))
            ax.set_axis_off()
            ax.text(0.5, 0.5, "No KPI trend: the data has no signup dates (see the skipped lines).", ha="center")
            return ax
    _need(data, [x, y, ci_low, ci_high, hue])
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    groups = list(dict.fromkeys(data[hue])) if hue else [None]
    colours = palette_for([g for g in groups if g is not None]) if hue else {}
    order = sorted(data[x].astype(str).unique())
    pos = {c: i for i, c in enumerate(order)}
    for g in groups:
        d = data if g is None else data[data[hue] == g]
        d = d.assign(_x=d[x].astype(str).map(pos)).sort_values("_x")
        colour = colours.get(g)
        ax.plot(d["_x"], d[y], marker="o", color=colour, label=label(str(g)) if g is not None else None)
        ax.fill_between(d["_x"], d[ci_low], d[ci_high], color=colour, alpha=0.15)
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels(order, rotation=45, ha="right")
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel or (str(data["kpi"].iloc[0]) if "kpi" in data.columns else y))
    if hue:
        ax.legend(fontsize=8)
    ax.figure.tight_layout()
    return ax
