"""The Kaplan-Meier plot, shared by the experiment and the journeys reports.

Example
-------
>>> import pandas as pd
>>> km = pd.DataFrame({"group": ["a", "a", "b"], "time": [2.0, 5.0, 3.0], "survival": [0.8, 0.5, 0.6],
...                    "ci_low": [0.6, 0.3, 0.4], "ci_high": [0.9, 0.7, 0.8]})
>>> len(km_plot(km).get_lines())
2
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import plot_label as label
from . import palette_for

__all__ = ["km_plot"]


def km_plot(
    data: pd.DataFrame,
    x: str = "time",
    y: str = "survival",
    hue: str = "group",
    ci: tuple[str, str] | None = ("ci_low", "ci_high"),
    title: str | None = None,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Kaplan-Meier step curves, one per ``hue`` group, with the pointwise interval as a band.

    ``data`` is the output of :func:`engagement_kit.stats.survival.kaplan_meier` (or a
    filtered ``ChurnResult.km``); every curve starts at survival 1 at time 0.
    """
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    colors = palette_for(data[hue].unique())
    for g, d in data.groupby(hue, sort=False):
        d = d.sort_values(x)
        xs = np.r_[0.0, d[x].to_numpy()]
        ax.step(xs, np.r_[1.0, d[y].to_numpy()], where="post", color=colors[g], label=label(str(g)))
        if ci is not None:
            ax.fill_between(xs, np.r_[1.0, d[ci[0]].to_numpy()], np.r_[1.0, d[ci[1]].to_numpy()],
                            step="post", color=colors[g], alpha=0.15)  # fmt: skip
    ax.set_xlabel(label(x))
    ax.set_ylabel("share still a customer")
    ax.set_ylim(0, 1.02)
    ax.legend(title=label(hue))
    if title:
        ax.set_title(title)
    return ax
