"""Plots of the experiment: forest plot of effects, value by segment, power curve and
Kaplan-Meier curves. Each takes the :class:`~engagement_kit.experiments.ExperimentResult`
(or, for the first three, one of its tables plus column names) and returns the Axes; rows
suppressed for small cells are left out, and a part that did not run draws nothing
(``None`` is returned).

Example
-------
>>> import numpy as np, pandas as pd
>>> from engagement_kit.experiments import experiment
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"arm": rng.choice(["a", "b"], 1000), "y": rng.normal(10, 2, 1000)})
>>> result = experiment(df, arm_col="arm", control="a", metrics={"y": "continuous"})
>>> forest_plot(result).axes[0].get_title()  # one panel per metric, each on its own axis
'y: effect of each arm vs a'
>>> power_curve_plot(result).get_title()
'Power for y (5 % and 10 % relative MDE)'
>>> value_plot(result) is None and km_plot(result) is None and monitoring_plot(result) is None  # not run
True
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..experiments.result import ExperimentResult
from . import palette_for
from .survival import km_plot as _km_plot

__all__ = ["forest_plot", "km_plot", "monitoring_plot", "power_curve_plot", "value_plot"]


def _published(result: ExperimentResult, name: str) -> pd.DataFrame:
    """The result's table ``name`` without the rows suppressed for small cells."""
    t = result.tables()[name]
    return t[~t["suppressed"].astype(bool)] if "suppressed" in t else t


def forest_plot(
    data: pd.DataFrame | ExperimentResult, metric: str = "metric", arm: str = "arm", estimate: str = "diff", ci_low: str = "ci_low",
    ci_high: str = "ci_high", method: str | None = "method", relative: bool = False, ax=None, ci_level: int = 95,
):
    """Effects with CIs, one row per metric x arm (x method), a vertical line at no effect.

    ``relative=True`` plots ``rel_diff`` and its CI (comparable across metrics). Hazard-ratio
    rows (method ``cox``) have their no-effect line at 1 in absolute mode. Given the result:
    its effects without the hazard-ratio rows, always relative (the metrics' units differ).
    """
    if isinstance(data, ExperimentResult):
        return _forest_by_metric(data, ax=ax)
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


#: How the difference of a metric kind reads on its axis: (scale factor, axis unit).
_AXIS_UNITS = {"binary": (100.0, "percentage points"), "nps": (1.0, "NPS points"), "time_to_event": (1.0, "hazard ratio")}


def _forest_by_metric(result: ExperimentResult, ax=None):
    """One panel per metric, each with its own axis in the metric's unit (percentage points
    for shares, points for NPS, the metric's own unit otherwise, the hazard ratio on a log
    axis for survival): effects of different units never share, or squash, one axis."""
    eff = _published(result, "effects")
    metrics = list(dict.fromkeys(eff["metric"]))
    if not metrics:
        return None
    level = round(100 * (1 - result.alpha))
    if ax is not None and len(metrics) == 1:
        axes = [ax]
        fig = ax.figure
    else:
        heights = [0.35 * max(1, (eff["metric"] == m).sum()) + 0.9 for m in metrics]
        fig, axes = plt.subplots(len(metrics), 1, figsize=(8, sum(heights)), squeeze=False,
                                 gridspec_kw={"height_ratios": heights})
        axes = list(axes[:, 0])
    for a, m in zip(axes, metrics):
        d = eff[eff["metric"] == m].copy()
        kind = result.metric_kinds.get(m)
        kind = kind[0] if isinstance(kind, (list, tuple)) else kind
        factor, unit = _AXIS_UNITS.get(kind, (1.0, "difference"))
        if kind != "time_to_event" and (d["method"] == "cox").any():
            factor, unit = _AXIS_UNITS["time_to_event"]
        for c in ("diff", "ci_low", "ci_high"):
            d[c] = factor * d[c]
        forest_plot(d, ax=a, ci_level=level)
        if unit == "hazard ratio":
            from matplotlib.ticker import FormatStrFormatter

            a.set_xscale("log")
            a.xaxis.set_major_formatter(FormatStrFormatter("%.2g"))
            a.xaxis.set_minor_formatter(FormatStrFormatter("%.2g"))
        a.set_xlabel(f"{unit} vs {result.control} ({level} % CI)")
        a.set_title(f"{m}: effect of each arm vs {result.control}" + (
            " (cuped: covariate-adjusted)" if (d["method"] == "cuped").any() else ""))
    fig.tight_layout()
    return fig


def power_curve_plot(data: pd.DataFrame | ExperimentResult, n: str = "n_per_arm", power: str = "power",
                     hue: str = "mde", target: float = 0.8, ax=None, metric: str | None = None):
    """Power against n per arm, one line per MDE (output of :func:`.power_curve`). Given the
    result: the curve of ``metric`` (default: the power table's first) at 5 % and 10 % of its
    control baseline (:meth:`ExperimentResult.power_curve`), the target at its power_target."""
    import seaborn as sns

    if isinstance(data, ExperimentResult):
        curve = data.power_curve(metric)
        if curve.empty:
            return None
        ax = power_curve_plot(curve, n=n, power=power, hue=hue, target=data.power_target, ax=ax)
        ax.set_title(f"Power for {curve['metric'].iloc[0]} (5 % and 10 % relative MDE)")
        return ax

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


def value_plot(data: pd.DataFrame | ExperimentResult, segment: str = "segment", arm: str = "arm", estimate: str = "incremental_value",
               ci_low: str = "ci_low", ci_high: str = "ci_high", control: str | None = "control", ax=None):
    """Incremental value per customer by segment and arm, with CIs (control rows left out)."""
    if isinstance(data, ExperimentResult):
        if data.value is None:
            return None
        data = _published(data, "value")
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


def km_plot(result: ExperimentResult, metric: str | None = None, ax=None):
    """Kaplan-Meier curves per arm of a time-to-event ``metric`` (default: the first), on the
    merged steps the result publishes (:func:`engagement_kit.plots.survival.km_plot`)."""
    if result.km is None:
        return None
    km = result.km[result.km["metric"] == (metric or result.km["metric"].iloc[0])]
    return _km_plot(km, title="Kaplan-Meier retention by arm", ax=ax)


def monitoring_plot(result: ExperimentResult, metric: str | None = None, ax=None):
    """The confidence sequence of each arm vs the control over the looks, for ``metric``
    (default: the first monitored), with the estimate and a line at no effect. The interval
    at every look is valid however often the experiment was looked at. ``None`` when the
    experiment was not monitored (no ``time_col``)."""
    seq = _published(result, "sequential")
    if not len(seq):
        return None
    name = metric or seq["metric"].iloc[0]
    seq = seq[seq["metric"] == name]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    colours = palette_for(seq["arm"].unique())
    for arm, g in seq.groupby("arm", sort=False):
        g = g.sort_values("look")
        ax.fill_between(g["look"], g["cs_low"], g["cs_high"], alpha=0.2, color=colours[arm], step=None)
        ax.plot(g["look"], g["estimate"], marker="o", color=colours[arm], label=f"{arm} vs {g['control'].iloc[0]}")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set(xlabel="look", ylabel=f"difference in {name}", title=f"Monitoring {name}: confidence sequence by look")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(frameon=False)
    return ax
