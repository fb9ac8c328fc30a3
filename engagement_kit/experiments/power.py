"""Power for the next test: sample size per arm, minimum detectable effect, power curves.

Binary metrics use statsmodels ``NormalIndPower`` with Cohen's arcsine effect size
``h = 2 asin(sqrt(p1)) - 2 asin(sqrt(p0))`` (``proportion_effectsize``); continuous
(and count, NPS score) metrics use ``TTestIndPower`` with ``d = mde / sd``.
Multi-arm: with ``m = (n_arms - 1) x n_metrics`` comparisons and a correction
(Holm, Bonferroni, BH), each comparison is powered at ``alpha / m``: Holm's first
step is Bonferroni, so this guarantees the stated power for every comparison
under Holm and is conservative for BH.

``power.csv`` columns: ``metric, kind, baseline, sd, n_per_arm_current,
n_comparisons, alpha_per_comparison, power, mde_current, mde_current_rel,
target_rel_mde, target_mde, n_per_arm_required`` (baseline and sd from the control
arm; mde_current is the absolute MDE at the current n per arm). NPS rows are in points
throughout: their targets are 5 and 10 points (``target_rel_mde`` and ``mde_current_rel``
empty), because a share of a baseline that can be zero or negative means nothing.

Example
-------
>>> sample_size("continuous", baseline=10, mde=0.5, sd=5, alpha=0.05, power=0.8)
1571
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize

from ..stats.multitest import check_method
from .aggregate import codes_of, parse_metrics
from .sufficient import sufficient_statistics

__all__ = ["alpha_per_comparison", "sample_size", "mde", "power_at", "power_curve", "power_table"]


def alpha_per_comparison(alpha: float, n_arms: int = 2, n_metrics: int = 1, correction: str = "holm") -> float:
    """The per-comparison level used for power: ``alpha / m`` unless ``correction='none'``.

    ``correction`` is one of :data:`engagement_kit.stats.multitest.METHODS`.

    >>> alpha_per_comparison(0.05, n_arms=3, n_metrics=2)
    0.0125
    """
    m = max(1, (n_arms - 1) * n_metrics)
    return alpha if check_method(correction) == "none" else alpha / m


def _effect_size(kind: str, baseline: float, mde: float, sd: float | None) -> float:
    if kind == "binary":
        p1 = baseline + mde
        if not (0 < baseline < 1 and 0 < p1 < 1):
            raise ValueError(f"binary power needs 0 < baseline, baseline + mde < 1; got {baseline}, {p1}")
        return float(proportion_effectsize(p1, baseline))
    if sd is None or not sd > 0:
        raise ValueError(f"{kind} power needs a positive sd (the per-customer standard deviation); got {sd}")
    return mde / sd


def _engine(kind: str):
    return NormalIndPower() if kind == "binary" else TTestIndPower()


def sample_size(
    kind: str, baseline: float, mde: float, sd: float | None = None, alpha: float = 0.05, power: float = 0.8,
    n_arms: int = 2, n_metrics: int = 1, correction: str = "holm", ratio: float = 1.0,
) -> int:
    """Customers per arm (the control; arms get ``ratio`` x that) to detect ``mde`` (absolute)."""
    es = _effect_size(kind, baseline, mde, sd)
    a = alpha_per_comparison(alpha, n_arms, n_metrics, correction)
    n = _engine(kind).solve_power(effect_size=abs(es), alpha=a, power=power, ratio=ratio)
    return int(math.ceil(float(np.squeeze(n))))


def power_at(
    kind: str, baseline: float, mde: float, n: float, sd: float | None = None, alpha: float = 0.05,
    n_arms: int = 2, n_metrics: int = 1, correction: str = "holm", ratio: float = 1.0,
) -> float:
    """Power of one comparison with ``n`` customers per arm."""
    es = _effect_size(kind, baseline, mde, sd)
    a = alpha_per_comparison(alpha, n_arms, n_metrics, correction)
    return float(_engine(kind).power(effect_size=abs(es), nobs1=n, alpha=a, ratio=ratio))


def mde(
    kind: str, baseline: float, n: float, sd: float | None = None, alpha: float = 0.05, power: float = 0.8,
    n_arms: int = 2, n_metrics: int = 1, correction: str = "holm", ratio: float = 1.0,
) -> float:
    """Smallest absolute upward effect detectable with ``n`` per arm (binary: in proportion points)."""
    a = alpha_per_comparison(alpha, n_arms, n_metrics, correction)
    es = float(np.squeeze(_engine(kind).solve_power(effect_size=None, nobs1=n, alpha=a, power=power, ratio=ratio)))
    if kind == "binary":
        # invert Cohen's h: p1 = sin(asin(sqrt(p0)) + h/2)^2
        p1 = math.sin(min(math.asin(math.sqrt(baseline)) + es / 2, math.pi / 2)) ** 2
        return p1 - baseline
    if sd is None or not sd > 0:
        raise ValueError(f"{kind} MDE needs a positive sd; got {sd}")
    return es * sd


def power_curve(
    kind: str, baseline: float, sd: float | None = None, n_values=None, mdes=None, alpha: float = 0.05,
    n_arms: int = 2, n_metrics: int = 1, correction: str = "holm",
) -> pd.DataFrame:
    """Power over a grid of n per arm x absolute MDEs: columns ``n_per_arm, mde, power``."""
    if n_values is None:
        n_values = np.unique(np.geomspace(100, 100_000, 25).astype(int))
    if mdes is None:
        scale = baseline * 0.05 if kind != "binary" else max(baseline * 0.05, 1e-3)
        mdes = [scale, 2 * scale]
    rows = [
        {"n_per_arm": int(n), "mde": float(d),
         "power": power_at(kind, baseline, d, n, sd, alpha, n_arms, n_metrics, correction)}
        for d in mdes for n in n_values
    ]
    return pd.DataFrame(rows)


def power_table(
    data: pd.DataFrame, *, arm_col: str, control, metrics: dict, alpha: float = 0.05, power: float = 0.8,
    correction: str = "holm", relative_mdes=(0.05, 0.10),
) -> pd.DataFrame:
    """Power for the next test from this one: baseline and sd of the control arm per metric,
    the MDE at the current n per arm and the n per arm needed for each relative MDE.

    Ratio and time-to-event metrics are skipped (no closed-form power here)."""
    specs = [s for s in parse_metrics(metrics) if s.kind in ("binary", "continuous", "count", "nps")]
    if not specs:
        raise ValueError("power_table needs at least one binary, continuous, count or nps metric")
    arm_codes = codes_of(data, arm_col)
    agg = sufficient_statistics(data, arm_col, specs, arm_codes=arm_codes)
    arms = agg.arms
    if control not in arms:
        raise ValueError(f"control label {control!r} is not an arm; arms are {arms}")
    c = arms.index(control)
    K = len(arms)
    a = alpha_per_comparison(alpha, K, len(specs), correction)
    rows = []
    for spec in specs:
        ms = agg.stats[spec.name]
        base = float(ms.mean[0, c])
        sd = float(np.sqrt(ms.var(1)[0, c]))
        n_now = float(np.mean(ms.n[0]))
        kind = "binary" if spec.kind == "binary" else "continuous"
        scale = 100.0 if spec.kind == "nps" else 1.0
        m_now = mde(kind, base, n_now, sd, alpha, power, K, len(specs), correction)
        # NPS lives on -100..100 with a baseline that can be zero or negative: its targets are
        # points (5 and 10 for relative_mdes 0.05, 0.10), never a share of the baseline
        in_points = spec.kind == "nps"
        for rel in relative_mdes:
            target = rel if in_points else abs(base) * rel
            try:
                n_req = sample_size(kind, base, target, sd, alpha, power, K, len(specs), correction)
            except ValueError:
                n_req = -1  # not reachable (e.g. baseline 0 or p + mde >= 1): marked -1
            rows.append(
                {
                    "metric": spec.name, "kind": spec.kind, "baseline": scale * base, "sd": scale * sd,
                    "n_per_arm_current": n_now, "n_comparisons": (K - 1) * len(specs),
                    "alpha_per_comparison": a, "power": power, "mde_current": scale * m_now,
                    "mde_current_rel": m_now / abs(base) if base and not in_points else np.nan,
                    "target_rel_mde": np.nan if in_points else rel, "target_mde": scale * target,
                    "n_per_arm_required": n_req,
                }
            )
    return pd.DataFrame(rows)
