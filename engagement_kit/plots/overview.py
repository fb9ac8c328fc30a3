"""The assignment overview's plot: each touch model's share of its segment.

>>> import pandas as pd
>>> from engagement_kit.overview import overview
>>> r = overview(pd.DataFrame({"touch_model": ["a", "b"] * 20}), arm_col="touch_model")
>>> share_plot(r).get_ylabel()
"share of the segment's customers"
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import palette_for, plot_text, plot_value

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..overview import OverviewResult

__all__ = ["share_plot"]


def share_plot(result: OverviewResult, ax: Axes | None = None) -> Axes:
    """Bars of each touch model's share per segment (suppressed cells left out of the plot)."""
    import seaborn as sns

    t = result.tables()["customers_by_segment"]
    t = t[~t["suppressed"]]
    colours = {plot_value(k): c for k, c in palette_for(t["touch_model"].unique()).items()}  # house colours kept
    t = t.assign(segment=t["segment"].map(plot_value), touch_model=t["touch_model"].map(plot_value))
    ax = sns.barplot(data=t, x="segment", y="share", hue="touch_model", palette=colours, ax=ax)
    ax.set(xlabel=plot_text("plot.overview_x"), ylabel=plot_text("plot.overview_y"), title=plot_text("plot.overview_title"))
    if ax.get_legend() is not None:
        ax.get_legend().set_title(plot_text("plot.overview_legend"))
    return ax
