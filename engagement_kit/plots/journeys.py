"""Plots of the journeys analyses. Each takes ``data``: a
:class:`~engagement_kit.journeys.JourneyResult` (its published tables, small cells
suppressed) or one of its tables, plus column names, and returns the Axes. A part
that did not run gives an empty Axes that says so.

Example
-------
>>> import pandas as pd
>>> f = pd.DataFrame({"stage": ["land", "adopt"] * 2, "stage_order": [1, 2] * 2,
...                   "arm": ["a", "a", "b", "b"], "rate_from_start": [1, .5, 1, .6],
...                   "start_ci_low": [1, .4, 1, .5], "start_ci_high": [1, .6, 1, .7]})
>>> ax = funnel_plot(f)
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import plot_label as label
from . import palette_for
from .survival import km_plot

__all__ = ["funnel_plot", "transition_heatmap", "cohort_heatmap", "retention_curve_plot", "survival_plot"]


def _part(data: Any, name: str) -> pd.DataFrame:
    """Table ``name`` of a result (published: small cells suppressed), or ``data`` itself."""
    return data.tables()[name] if hasattr(data, "tables") else data


def _control(data: Any, arm: str | None) -> str | None:
    """The arm to show: ``arm``, else the result's control arm (None: all arms pooled)."""
    return arm if arm is not None or not hasattr(data, "tables") else data.control


def _nothing(ax: plt.Axes | None, what: str) -> plt.Axes:
    ax = ax or plt.subplots(figsize=(7, 2))[1]
    ax.text(0.5, 0.5, f"No {what}: see result.skipped", ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return ax


def funnel_plot(
    data: Any,
    x: str = "stage",
    y: str = "rate_from_start",
    hue: str = "arm",
    ci: tuple[str, str] | None = ("start_ci_low", "start_ci_high"),
    order: str = "stage_order",
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Share of customers reaching each stage, one line per arm, with interval bars."""
    data = _part(data, "funnel")
    if data.empty:
        return _nothing(ax, "funnel")
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    stages = data.drop_duplicates(x).sort_values(order)[x].tolist()
    pos = {s: i for i, s in enumerate(stages)}
    colors = palette_for(data[hue].unique())
    arms = list(data[hue].unique())
    width = 0.8 / max(len(arms), 1)
    for j, (arm, d) in enumerate(data.groupby(hue, sort=False)):
        d = d.sort_values(order)
        xs = np.array([pos[s] for s in d[x]]) + (j - (len(arms) - 1) / 2) * width
        ax.bar(xs, d[y], width=width, color=colors[arm], label=label(arm))
        if ci is not None:
            err = np.vstack([d[y] - d[ci[0]], d[ci[1]] - d[y]]).clip(min=0)
            ax.errorbar(xs, d[y], yerr=err, fmt="none", ecolor="black", capsize=2, lw=1)
    ax.set_xticks(range(len(stages)), [label(s) for s in stages], rotation=20)
    ax.set_ylabel(label(y))
    ax.set_ylim(0, 1.05)
    ax.legend(title=label(hue))
    return ax


def transition_heatmap(
    data: Any,
    arm: str | None = None,
    value: str = "probability",
    hue: str = "arm",
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """From-stage x to-stage heat map of transition probabilities (one arm, or pooled;
    a result shows its control arm)."""
    import seaborn as sns

    from ..journeys.paths import transition_matrix

    arm, data = _control(data, arm), _part(data, "transitions")
    if data.empty:
        return _nothing(ax, "transitions")
    ax = ax or plt.subplots(figsize=(7, 5))[1]
    d = data if arm is None else data[data[hue] == arm]
    m = transition_matrix(d, arm=None, value=value)
    sns.heatmap(m, annot=True, fmt=".2f", cmap="Blues", vmin=0, vmax=1, cbar_kws={"label": label(value)}, ax=ax)
    ax.set_xlabel("to stage")
    ax.set_ylabel("from stage")
    ax.tick_params(axis="x", rotation=30)
    ax.set_title(f"Stage-to-stage transition probabilities: {label(arm) if arm else 'all arms'}")
    return ax


def cohort_heatmap(
    data: Any,
    arm: str | None = None,
    x: str = "period",
    y: str = "cohort",
    value: str = "retention",
    hue: str = "arm",
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Signup cohort x period retention matrix of one arm (or all arms pooled; a result
    shows its control arm). Suppressed cells are blank."""
    import seaborn as sns

    arm, data = _control(data, arm), _part(data, "cohorts")
    if data.empty:
        return _nothing(ax, "cohorts")
    ax = ax or plt.subplots(figsize=(9, 5))[1]
    d = data if arm is None else data[data[hue] == arm]
    g = d.groupby([y, x], as_index=False)[["n_retained", "n_eligible"]].sum(min_count=1)
    g[value] = g["n_retained"] / g["n_eligible"]
    m = g.pivot(index=y, columns=x, values=value)
    sns.heatmap(m, annot=m.shape[1] <= 13, fmt=".2f", cmap="viridis", vmin=0, vmax=1, ax=ax,
                cbar_kws={"label": label(value)})  # fmt: skip
    ax.set_title(f"Retention by signup cohort and period: {label(arm) if arm else 'all arms'}")
    return ax


def retention_curve_plot(
    data: Any,
    x: str = "days",
    y: str = "retention",
    hue: str = "arm",
    ci: tuple[str, str] | None = ("ci_low", "ci_high"),
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Retention (pooled cohorts) against time, one line per arm with an interval band
    (``data``: a result, or :func:`engagement_kit.journeys.retention_curves` output)."""
    data = data.retention_curves() if hasattr(data, "retention_curves") else data
    if data.empty:
        return _nothing(ax, "cohorts")
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    colors = palette_for(data[hue].unique())
    for arm, d in data.groupby(hue, sort=False):
        d = d.sort_values(x)
        ax.plot(d[x], d[y], marker="o", color=colors[arm], label=label(arm))
        if ci is not None:
            ax.fill_between(d[x], d[ci[0]], d[ci[1]], color=colors[arm], alpha=0.2)
    ax.set_xlabel(label(x))
    ax.set_ylabel(label(y))
    ax.legend(title=label(hue))
    return ax


def survival_plot(data: Any, group_col: str | None = None, ax: plt.Axes | None = None) -> plt.Axes:
    """Kaplan-Meier curves of one grouping (default: the first) from the survival table
    (``kind == "km"``, on its published merged steps), drawn by the shared
    :func:`engagement_kit.plots.survival.km_plot`."""
    s = _part(data, "survival")
    km = s[s["kind"] == "km"] if "kind" in s.columns else s.iloc[:0]
    if km.empty:
        return _nothing(ax, "survival curve")
    group_col = group_col or km["group_col"].iloc[0]
    km = km[km["group_col"] == group_col]
    return km_plot(km, y="estimate", title=f"Survival by {label(str(group_col))}", ax=ax)
