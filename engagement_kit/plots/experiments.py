"""Plots of the experiment engine: forest plot of effects, power curves, value by
segment (Kaplan-Meier curves: :func:`engagement_kit.plots.survival.km_plot`). Each
takes ``data=`` (a tidy table from :mod:`engagement_kit.experiments`) plus column
names and returns the Axes/Figure.

Example
-------
>>> import pandas as pd
>>> eff = pd.DataFrame({"metric": ["y", "y"], "arm": ["b", "c"], "control": ["a", "a"],
...                     "diff": [0.1, -0.2], "ci_low": [0.0, -0.4], "ci_high": [0.2, 0.0],
...                     "method": ["welch", "welch"]})
>>> ax = forest_plot(eff)
>>> ax.get_xlabel()
'difference vs control (95 % CI)'
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import palette_for

__all__ = ["forest_plot", "power_curve_plot", "value_plot"]


def forest_plot(
    data: pd.DataFrame, metric: str = "metric", arm: str = "arm", estimate: str = "diff", ci_low: str = "ci_low",
    ci_high: str = "ci_high", method: str | None = "method", relative: bool = False, ax=None, ci_level: int = 95,
):
    """Effects with CIs, one row per metric x arm (x method), a vertical line at no effect.

    ``relative=True`` plots ``rel_diff`` and its CI (comparable across metrics). Hazard-ratio
    rows (method ``cox``) have their no-effect line at 1 in absolute mode.
    """
    if relative:
        estimate, ci_low, ci_high = "rel_diff", "rel_ci_low", "rel_ci_high"
    d = data.reset_index(drop=True).copy()
    label = d[metric].astype(str) + "  " + d[arm].astype(str)
    if method and method in d and d[method].nunique() > 1:
        label = label + " (" + d[method].astype(str) + ")"
    d["_label"] = label
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.4 * len(d) + 1.2))
    colours = palette_for(d[arm].tolist())
    y = np.arange(len(d))[::-1]
    for yi, (_, r) in zip(y, d.iterrows()):
        ax.errorbar(r[estimate], yi, xerr=[[r[estimate] - r[ci_low]], [r[ci_high] - r[estimate]]], fmt="o",
                    color=colours[r[arm]], capsize=3)
    ax.set_yticks(y, d["_label"])
    null = 0.0 if relative or (method and method in d and (d[method] != "cox").any()) else 1.0
    ax.axvline(null, color="black", lw=0.8, ls="--")
    ax.set_xlabel(("relative difference" if relative else "difference vs control") + f" ({ci_level} % CI)")
    ax.set_title("Effects vs control")
    return ax


def power_curve_plot(data: pd.DataFrame, n: str = "n_per_arm", power: str = "power", hue: str = "mde", target: float = 0.8,
                     ax=None):
    """Power against n per arm, one line per MDE (output of :func:`.power_curve`)."""
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    d = data.assign(**{hue: data[hue].map(lambda v: f"{v:.3g}")})
    sns.lineplot(data=d, x=n, y=power, hue=hue, marker="o", ax=ax)
    ax.axhline(target, color="black", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel("customers per arm")
    ax.set_title("Power of the next test")
    return ax


def value_plot(data: pd.DataFrame, segment: str = "segment", arm: str = "arm", estimate: str = "incremental_value",
               ci_low: str = "ci_low", ci_high: str = "ci_high", control: str | None = "control", ax=None):
    """Incremental value per customer by segment and arm, with CIs (control rows left out)."""
    d = data if control is None else data[data[arm] != data[control]]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    segs = list(dict.fromkeys(d[segment]))
    arms = list(dict.fromkeys(d[arm]))
    colours = palette_for(arms)
    width = 0.8 / max(len(arms), 1)
    for j, a in enumerate(arms):
        da = d[d[arm] == a].set_index(segment).reindex(segs)
        x = np.arange(len(segs)) + (j - (len(arms) - 1) / 2) * width
        ax.bar(x, da[estimate], width, color=colours[a], label=str(a))
        ax.errorbar(x, da[estimate], yerr=[da[estimate] - da[ci_low], da[ci_high] - da[estimate]], fmt="none",
                    color="black", capsize=3)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(np.arange(len(segs)), [str(s) for s in segs])
    ax.set_ylabel("incremental value per customer")
    ax.legend(title=arm)
    ax.set_title("Value vs control by segment (revenue - cost to serve)")
    return ax
