"""Plots of the measurement analysis: item distributions, correlations, loadings,
hypotheses (forest plot) and a mediation path diagram.

Every function takes the :class:`~engagement_kit.measurement.DimensionsResult` (or a tidy
table plus column names), returns the matplotlib Axes and never calls ``plt.show()``; a
part of the analysis that did not run draws an empty Axes saying so.
:func:`save_figures` writes the figures of a result as PNG files.

Example
-------
>>> import pandas as pd
>>> df = pd.DataFrame({"q1": [1, 2, 7, 6], "q2": [3, 4, 5, 5]})
>>> ax = item_distributions(df, items=["q1", "q2"], likert_min=1, likert_max=7)
>>> ax.get_title()
'Item answers'
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..measurement import DimensionsResult, answer_shares
from ..results import output_folder

__all__ = ["item_distributions", "correlation_heatmap", "loadings_plot", "hypothesis_forest", "mediation_diagram",
           "save_figures"]


def _not_run(what: str, ax: plt.Axes | None) -> plt.Axes:
    """An empty Axes saying that ``what`` did not run (see ``result.skipped``)."""
    ax = ax or plt.subplots(figsize=(6, 1.5))[1]
    ax.text(0.5, 0.5, f"{what}: not run (see result.skipped)", ha="center", va="center")
    ax.axis("off")
    ax.set_title(what.capitalize())
    return ax


def item_distributions(
    data: DimensionsResult | pd.DataFrame,
    *,
    items: Sequence[str] | None = None,
    likert_min: int = 1,
    likert_max: int = 7,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Diverging stacked bars: share of each answer per item, centred on the scale midpoint
    (disagreement to the left, agreement to the right, the midpoint split in half).

    ``data``: a DimensionsResult (its ``item_shares``), or the answers with ``items`` and the
    Likert range."""
    import seaborn as sns

    if isinstance(data, DimensionsResult):
        if data.item_shares is None:
            return _not_run("item distributions", ax)
        shares = data.item_shares
    else:
        shares = answer_shares(data, items=items, likert_min=likert_min, likert_max=likert_max)
    items = list(shares.index)
    levels = np.asarray(shares.columns)
    mid = (levels.min() + levels.max()) / 2
    colors = sns.color_palette("RdBu", len(levels))
    ax = ax or plt.subplots(figsize=(8, 0.4 * len(items) + 1.5))[1]
    left = -(shares[[lv for lv in levels if lv < mid]].sum(axis=1) + shares.get(mid, 0.0) / 2)
    y = np.arange(len(items))
    for k, lv in enumerate(levels):
        w = shares[lv].to_numpy()
        ax.barh(y, w, left=left.to_numpy(), color=colors[k], label=str(lv), edgecolor="white", linewidth=0.5)
        left = left + w
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, labels=list(items))
    ax.invert_yaxis()
    ax.set_xlabel("share of answers (left: below midpoint, right: above)")
    ax.set_title("Item answers")
    ax.legend(title="answer", ncols=len(levels), loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    return ax


def correlation_heatmap(data: DimensionsResult | pd.DataFrame, *, columns: Sequence[str] | None = None,
                        ax: plt.Axes | None = None, annot: bool | None = None) -> plt.Axes:
    """Heat map of the Pearson correlations among ``columns`` (items or scale scores) of a
    table, or among the items of a DimensionsResult (reverse-keyed items rescored)."""
    import seaborn as sns

    corr = data.item_correlations if isinstance(data, DimensionsResult) else data[list(columns)].corr()
    columns = list(corr.columns)
    ax = ax or plt.subplots(figsize=(0.45 * len(columns) + 3, 0.45 * len(columns) + 2.5))[1]
    sns.heatmap(corr, vmin=-1, vmax=1, cmap="RdBu_r", square=True, ax=ax,
                annot=len(columns) <= 10 if annot is None else annot, fmt=".2f", cbar_kws={"shrink": 0.7})
    ax.set_title("Correlations between the items (Pearson; reverse-keyed items rescored)"
                 if isinstance(data, DimensionsResult) else "Correlations between the columns (Pearson)")
    return ax


def loadings_plot(data: DimensionsResult | pd.DataFrame, *, item_col: str = "item", scale_col: str = "scale",
                  loading_col: str = "std_loading", ci_low: str = "ci_low", ci_high: str = "ci_high",
                  threshold: float = 0.5, ax: plt.Axes | None = None) -> plt.Axes:
    """Standardised loadings with CIs per item, coloured by scale; a line at ``threshold``
    (``data``: a DimensionsResult or its ``loadings`` table)."""
    import seaborn as sns

    d = (data.tables()["loadings"] if isinstance(data, DimensionsResult) else data).reset_index(drop=True)
    ax = ax or plt.subplots(figsize=(7, 0.3 * len(d) + 1.5))[1]
    pal = dict(zip(d[scale_col].unique(), sns.color_palette("colorblind", d[scale_col].nunique())))
    y = np.arange(len(d))
    for scale, g in d.groupby(scale_col, sort=False):
        idx = g.index.to_numpy()
        ax.errorbar(g[loading_col], y[idx], xerr=[g[loading_col] - g[ci_low], g[ci_high] - g[loading_col]],
                    fmt="o", color=pal[scale], label=scale, capsize=2)
    ax.axvline(threshold, color="grey", linestyle="--", linewidth=0.8)
    ax.set_yticks(y, labels=d[item_col])
    ax.invert_yaxis()
    ax.set_xlabel("standardised loading (95 % CI)")
    ax.set_title("Factor loadings")
    ax.legend(loc="lower left", fontsize="small")
    return ax


def hypothesis_forest(data: DimensionsResult | pd.DataFrame, *, label_col: str = "term", id_col: str = "id",
                      estimate: str = "estimate", ci_low: str = "ci_low", ci_high: str = "ci_high",
                      verdict_col: str = "verdict", ax: plt.Axes | None = None) -> plt.Axes:
    """Forest plot of the hypothesis estimates with CIs, coloured by verdict (``data``: a
    DimensionsResult or its ``hypotheses`` table; suppressed rows keep their label only).

    Estimates are on each model's own scale (coefficient, log-odds, log hazard), so the
    plot compares significance and direction, not magnitudes across models."""
    colors = {"supported": "#1b9e77", "not supported": "#7f7f7f", "opposite direction": "#d95f02"}
    if isinstance(data, DimensionsResult):
        data = data.tables()["hypotheses"]
        if data.empty:
            return _not_run("hypotheses", ax)
    d = data.reset_index(drop=True)
    ax = ax or plt.subplots(figsize=(7, 0.35 * len(d) + 1.5))[1]
    y = np.arange(len(d))
    for verdict, g in d.groupby(verdict_col):
        ax.errorbar(g[estimate], y[g.index], xerr=[g[estimate] - g[ci_low], g[ci_high] - g[estimate]], fmt="o",
                    color=colors.get(verdict, "black"), label=verdict, capsize=2)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, labels=[f"{i}: {t}" for i, t in zip(d[id_col], d[label_col])])
    ax.invert_yaxis()
    ax.set_xlabel("estimate (model scale) with 95 % CI")
    ax.set_title("Hypotheses")
    ax.legend(loc="best", fontsize="small")
    return ax


def mediation_diagram(data: DimensionsResult | pd.Series | pd.DataFrame, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Path diagram of one mediation row (``treatment, mediator, outcome, a, b, c, c_prime,
    indirect, indirect_ci_low, indirect_ci_high``): the first row of a table, or of a
    DimensionsResult the row with the largest indirect effect."""
    if isinstance(data, DimensionsResult):
        med = data.tables()["mediation"].dropna(subset=["indirect"])
        if med.empty:
            return _not_run("mediation", ax)
        data = med.sort_values("indirect", ascending=False)
    row = data.iloc[0] if isinstance(data, pd.DataFrame) else data
    ax = ax or plt.subplots(figsize=(6, 3.2))[1]
    pos = {"T": (0.1, 0.2), "M": (0.5, 0.8), "Y": (0.9, 0.2)}
    names = {"T": row["treatment"], "M": row["mediator"], "Y": row["outcome"]}
    boxes = {}
    for k, (x, y) in pos.items():
        boxes[k] = ax.text(x, y, str(names[k]), ha="center", va="center", fontsize=9,
                           bbox={"boxstyle": "round", "facecolor": "#eef3f8", "edgecolor": "#1b6ca8"})

    def arrow(a, b, text, off):
        # arrow between the two label boxes, clipped at their edges
        ax.annotate("", xy=(0.5, 0.5), xycoords=boxes[b], xytext=(0.5, 0.5), textcoords=boxes[a],
                    arrowprops={"arrowstyle": "->", "color": "#333333", "patchA": boxes[a].get_bbox_patch(),
                                "patchB": boxes[b].get_bbox_patch(), "shrinkA": 2, "shrinkB": 2})
        (x0, y0), (x1, y1) = pos[a], pos[b]
        ax.text((x0 + x1) / 2 + off[0], (y0 + y1) / 2 + off[1], text, ha="center", fontsize=9)

    arrow("T", "M", f"a = {row['a']:.3f}", (-0.07, 0.03))
    arrow("M", "Y", f"b = {row['b']:.3f}", (0.07, 0.03))
    arrow("T", "Y", f"c' = {row['c_prime']:.3f} (c = {row['c']:.3f})", (0, -0.1))
    ax.text(0.5, -0.05, f"indirect a*b = {row['indirect']:.3f} "
            f"[{row['indirect_ci_low']:.3f}, {row['indirect_ci_high']:.3f}]", ha="center", fontsize=9)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.12, 1)
    ax.axis("off")
    ax.set_title("Mediation")
    return ax


def save_figures(result: DimensionsResult, folder: str | Path) -> dict[str, Path]:
    """Draw and save ``item_distributions.png``, ``loadings.png``, ``hypotheses.png`` and
    ``mediation.png`` into ``folder`` (relative: from the project root), each only when its
    part of the analysis ran; the figures are closed. Returns name -> path."""
    out = output_folder(folder)
    ran = {
        "item_distributions": (item_distributions, result.item_shares is not None),
        "loadings": (loadings_plot, True),
        "hypotheses": (hypothesis_forest, result.hypotheses is not None and len(result.hypotheses) > 0),
        "mediation": (mediation_diagram, result.mediation is not None and len(result.mediation) > 0),
    }
    paths = {}
    for name, (draw, did_run) in ran.items():
        if not did_run:
            continue
        fig = draw(result).figure
        paths[name] = out / f"{name}.png"
        fig.savefig(paths[name], bbox_inches="tight")
        plt.close(fig)
    return paths
