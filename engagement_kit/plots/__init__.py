"""Plots in one house style. Every function takes ``data=`` plus column names and
returns the matplotlib Axes or Figure; none calls ``plt.show()``.

Sub-modules hold the plots of one analysis each (``plots.experiments``,
``plots.measurement``, ``plots.journeys``, ``plots.dsce``); ``plots.survival`` holds the
Kaplan-Meier plot that the experiment and the journeys reports share.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

from ..frameworks import TOUCH_MODEL_NAMES, label, value_label
from ..i18n import check_language, translate

#: One colour per touch model, everywhere.
TOUCH_MODEL_PALETTE: dict[str, str] = {
    "high_touch": "#1b6ca8",
    "low_touch": "#f29e4c",
    "no_touch": "#7f7f7f",
}


#: The language of the labels the plot helpers write (set by :func:`set_theme`).
_STATE = {"language": "en"}

#: Fonts tried in order, glyph by glyph (matplotlib's font fallback): DejaVu Sans (ships with
#: matplotlib) covers Latin and Cyrillic; Noto Sans TC (the ``pylopdf-fonts-zh-tw`` dependency,
#: SIL Open Font License) covers Chinese in Traditional script. No system font is assumed.
FONT_FAMILY = ["DejaVu Sans", "Noto Sans TC"]


def _chinese_font() -> Path | None:
    try:
        import pylopdf_fonts_zh_tw
    except ImportError:  # an install without the dependency: Chinese text would show as boxes
        return None
    return pylopdf_fonts_zh_tw.sans_path()


def register_fonts() -> list[str]:
    """Register the project's fonts with matplotlib; the families usable, in fallback order."""
    from matplotlib import font_manager

    path = _chinese_font()
    have = {f.name for f in font_manager.fontManager.ttflist}
    if path is not None and path.exists() and "Noto Sans TC" not in have:
        font_manager.fontManager.addfont(str(path))
        have.add("Noto Sans TC")
    return [f for f in FONT_FAMILY if f in have]


def set_theme(language: str = "en") -> None:
    """Apply the house style (seaborn ``whitegrid``, readable sizes) and write domain labels
    (touch models, stages, components, KPIs) in ``language``, with fonts that render its script
    (Chinese and Cyrillic included).

    >>> set_theme("zh"); plot_label("high_touch")
    '高接觸'
    >>> set_theme(); plot_label("high_touch")
    'High-touch'
    """
    import seaborn as sns

    _STATE["language"] = check_language(language)
    sns.set_theme(style="whitegrid", context="notebook", palette="colorblind")
    families = register_fonts()
    matplotlib.rcParams.update({"figure.dpi": 100, "axes.titleweight": "bold", "figure.autolayout": True,
                                # named families, not the generic "sans-serif": matplotlib falls back
                                # glyph by glyph only across the families listed here
                                "font.family": families + ["sans-serif"]})  # fmt: skip


def plot_value(value: object) -> str:
    """A value from the data as the plots show it in the chosen language: the data's own label
    in English, the translated label of a known domain name otherwise
    (:func:`engagement_kit.frameworks.value_label`)."""
    return value_label(value, _STATE["language"])


def plot_text(key: str, **fields: object) -> str:
    """A plot's title or axis label (``plot.*`` keys of the translation files) in the chosen language."""
    return translate(key, _STATE["language"], **fields)


def plot_label(value: object) -> str:
    """A name as the plots show it, in the language chosen by :func:`set_theme`
    (:func:`engagement_kit.frameworks.label`); outside English, ``"<column>: <value>"`` labels
    each part.

    >>> set_theme("it"); plot_label("segment: mid_market")
    'Segmento: Mid-market'
    >>> set_theme(); plot_label("segment: mid_market")
    'Segment: mid market'
    """
    text = str(value)
    if ": " in text and _STATE["language"] != "en":
        column, _, rest = text.partition(": ")
        return f"{label(column, _STATE['language'])}: {label(rest, _STATE['language'])}"
    return label(text, _STATE["language"])


def palette_for(labels) -> dict:
    """Touch-model colours for known arms, the colourblind palette for the rest."""
    import seaborn as sns

    labels = list(dict.fromkeys(labels))
    others = [lab for lab in labels if lab not in TOUCH_MODEL_PALETTE]
    extra = dict(zip(others, sns.color_palette("colorblind", max(len(others), 1))))
    return {lab: TOUCH_MODEL_PALETTE.get(lab, extra.get(lab)) for lab in labels}


__all__ = ["set_theme", "register_fonts", "plot_label", "plot_value", "plot_text", "palette_for", "TOUCH_MODEL_PALETTE", "TOUCH_MODEL_NAMES"]
