"""Plots in one house style. Every function takes ``data=`` plus column names and
returns the matplotlib Axes or Figure; none calls ``plt.show()``.

Sub-modules hold the plots of one analysis each (``plots.experiments``,
``plots.measurement``, ``plots.journeys``, ``plots.dsce``); ``plots.survival`` holds the
Kaplan-Meier plot that the experiment and the journeys reports share.
"""

from __future__ import annotations

import matplotlib

from ..frameworks import TOUCH_MODEL_NAMES

#: One colour per touch model, everywhere.
TOUCH_MODEL_PALETTE: dict[str, str] = {
    "high_touch": "#1b6ca8",
    "low_touch": "#f29e4c",
    "no_touch": "#7f7f7f",
}


def set_theme() -> None:
    """Apply the house style (seaborn ``whitegrid``, readable sizes)."""
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook", palette="colorblind")
    matplotlib.rcParams.update({"figure.dpi": 100, "axes.titleweight": "bold", "figure.autolayout": True})


def palette_for(labels) -> dict:
    """Touch-model colours for known arms, the colourblind palette for the rest."""
    import seaborn as sns

    labels = list(dict.fromkeys(labels))
    others = [lab for lab in labels if lab not in TOUCH_MODEL_PALETTE]
    extra = dict(zip(others, sns.color_palette("colorblind", max(len(others), 1))))
    return {lab: TOUCH_MODEL_PALETTE.get(lab, extra.get(lab)) for lab in labels}


__all__ = ["set_theme", "palette_for", "TOUCH_MODEL_PALETTE", "TOUCH_MODEL_NAMES"]
