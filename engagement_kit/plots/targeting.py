"""Plots of the targeting analysis: policy values with intervals, uplift curves per arm and
the estimated effect by feature bin. Each takes the
:class:`~engagement_kit.targeting.TargetingResult` and returns the Axes (or Figure); rows
suppressed for small cells are left out.

Example
-------
>>> from engagement_kit.simulate import simulate_targeting
>>> from engagement_kit.targeting import targeting_policy
>>> sim = simulate_targeting(2_000, seed=1)
>>> r = targeting_policy(sim.customers, arm_col="touch_model", control="no_touch", value_metric="revenue",
...                      costs=sim.truth["costs"], features=["segment", "prior_revenue"], randomised=True,
...                      learner="linear", folds=2)
>>> policy_value_plot(r).get_xlabel()
'value per customer (revenue - cost to serve), 95 % CI'
>>> len(uplift_plot(r).axes)
2
>>> cate_plot(r, "segment").get_title()
'Estimated effect against no_touch by segment'
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..targeting import TargetingResult
from . import palette_for

__all__ = ["cate_plot", "policy_value_plot", "uplift_plot"]


def _published(result: TargetingResult, name: str) -> pd.DataFrame:
    t = result.tables()[name]
    return t[~t["suppressed"].astype(bool)] if "suppressed" in t else t


def policy_value_plot(result: TargetingResult, ax=None):
    """Value per customer of every policy with its interval; the best blanket policy dashed."""
    d = _published(result, "policy_value").iloc[::-1]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.5 * len(d) + 1.5))
    y = np.arange(len(d))
    ax.errorbar(d["value"], y, xerr=[d["value"] - d["ci_low"], d["ci_high"] - d["value"]], fmt="o", color="#1b6ca8",
                capsize=3)
    best = d[d["kind"].eq("blanket")]["value"].max()
    if np.isfinite(best):
        ax.axvline(best, color="grey", ls="--", lw=1)
    ax.set_yticks(y, [str(p) for p in d["policy"]])
    ax.set_xlabel(f"value per customer ({result.value_metric} - cost to serve), {1 - result.alpha:.0%} CI"
                  .replace("%", " %"))
    ax.set_title("Who gets which touch model: value of each policy")
    return ax


def uplift_plot(result: TargetingResult):
    """One panel per arm: value gained by giving the arm to the customers with the largest
    estimated effect first (band: pointwise CI), against choosing them at random."""
    d = _published(result, "uplift_curve")
    arms = list(dict.fromkeys(d["arm"]))
    fig, axes = plt.subplots(1, max(len(arms), 1), figsize=(4.5 * max(len(arms), 1), 3.8), squeeze=False)
    colours = palette_for(arms)
    for ax, a in zip(axes[0], arms):
        da = d[d["arm"] == a]
        x = np.r_[0.0, da["fraction"]]
        ax.plot(x, np.r_[0.0, da["gain"]], color=colours[a], label="ranked by estimated effect")
        ax.fill_between(da["fraction"], da["ci_low"], da["ci_high"], color=colours[a], alpha=0.25)
        ax.plot(x, np.r_[0.0, da["random_gain"]], color="black", ls="--", lw=1, label="random")
        ax.axhline(0, color="black", lw=0.6)
        ax.set_xlabel(f"share of customers given {a}")
        ax.set_ylabel("value gained per customer")
        ax.set_title(f"{a} vs {result.control}")
        ax.legend(fontsize="small")
    return fig


def cate_plot(result: TargetingResult, feature: str, ax=None):
    """Honest (AIPW) effect of each arm against the control per bin of ``feature``, with CIs."""
    d = _published(result, "cate_by_feature")
    d = d[d["feature"] == feature]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    bins = list(dict.fromkeys(d["bin"]))
    arms = list(dict.fromkeys(d["arm"]))
    colours = palette_for(arms)
    width = 0.8 / max(len(arms), 1)
    for j, a in enumerate(arms):
        da = d[d["arm"] == a].set_index("bin").reindex(bins)
        x = np.arange(len(bins)) + (j - (len(arms) - 1) / 2) * width
        ax.bar(x, da["estimate"], width, color=colours[a], label=str(a))
        ax.errorbar(x, da["estimate"], yerr=[da["estimate"] - da["ci_low"], da["ci_high"] - da["estimate"]],
                    fmt="none", color="black", capsize=3)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(np.arange(len(bins)), [str(b) for b in bins], rotation=20)
    ax.set_ylabel("net effect per customer")
    ax.legend(title="arm")
    ax.set_title(f"Estimated effect against {result.control} by {feature}")
    return ax
