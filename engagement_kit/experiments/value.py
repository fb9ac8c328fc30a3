"""Value of a touch model: incremental revenue minus incremental cost to serve, per customer.

Per customer ``value = revenue - cost`` where the cost is the arm's cost per customer
(``costs`` dict) or a per-customer column (``cost_col``). The incremental value of an
arm is ``mean value(arm) - mean value(control)`` with a Welch CI and p-value (from
the sufficient statistics of the per-customer value). Per segment too. The best arm
of a segment is the one with the highest mean value (the control included); the
probability that each arm is best comes from seeded draws of the arms' mean values
from their normal sampling distributions ``N(mean, s^2/n)`` (a flat-prior posterior).

``value.csv`` columns: ``segment, arm, control, n_arm, revenue_per_customer,
cost_per_customer, value_per_customer, incremental_revenue, incremental_cost,
incremental_value, ci_low, ci_high, p_value, prob_best, best`` (the control's row has
incremental figures 0 and NaN-free CI [0, 0], p 1).

Example
-------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(3)
>>> df = pd.DataFrame({"arm": rng.choice(["no", "yes"], 4000), "rev": rng.gamma(2, 50, 4000)})
>>> v = value(df, arm_col="arm", control="no", revenue="rev", costs={"no": 0.0, "yes": 5.0})
>>> v.loc[v.arm == "yes", "incremental_cost"].item()
5.0
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats.means import mean_diff
from ..validation import check_finite
from .aggregate import Aggregates, MetricStats, factorize, parse_metrics
from .sufficient import collapse, sufficient_statistics
from .effects import comparisons

__all__ = ["value"]


def value(
    data: pd.DataFrame, *, arm_col: str, control, revenue: str, costs: dict | None = None, cost_col: str | None = None,
    segment_col: str | None = None, alpha: float = 0.05, n_draws: int = 20_000, seed: int = 0,
) -> pd.DataFrame:
    """Incremental value per customer of every arm vs the control, overall and per segment."""
    if (costs is None) == (cost_col is None):
        raise ValueError("give exactly one of costs (dict arm -> cost per customer) or cost_col (a column)")
    if not isinstance(data, pd.DataFrame):
        return _value_rows(_engine_value_aggregates(data, arm_col, revenue, costs, cost_col, segment_col),
                           control, alpha, n_draws, seed)
    for col in [revenue] + ([cost_col] if cost_col else []):
        if col not in data.columns:
            raise KeyError(f"column {col!r} is not in the data; columns are {list(data.columns)}")
    check_finite(data, [revenue] + ([cost_col] if cost_col else []))
    a_codes, arms = factorize(data[arm_col], arm_col)
    comparisons(arms, control)  # a control that is no arm: the clear error first
    rev = pd.to_numeric(data[revenue]).to_numpy(dtype=float)
    if np.isnan(rev).any():
        raise ValueError(f"revenue column {revenue!r} has missing values; fill them (0 = no revenue) first")
    if costs is not None:
        missing = [a for a in arms if a not in costs]
        if missing:
            raise ValueError(f"costs has no cost per customer for arms {missing}; give one per arm {arms}")
        cost = np.array([float(costs[a]) for a in arms])[a_codes]
    else:
        cost = pd.to_numeric(data[cost_col]).to_numpy(dtype=float)
        if np.isnan(cost).any():
            raise ValueError(f"cost column {cost_col!r} has missing values")
    frame = pd.DataFrame({"arm": data[arm_col].to_numpy(), "rev": rev, "cost": cost, "val": rev - cost})
    specs = parse_metrics({"rev": "continuous", "cost": "continuous", "val": "continuous"})
    levels = [None] if segment_col is None else [None, segment_col]
    aggs = []
    for level in levels:
        if level is None:
            aggs.append(sufficient_statistics(frame, "arm", specs, arm_codes=(a_codes, arms)))
        else:
            frame["seg"] = data[segment_col].to_numpy()
            aggs.append(sufficient_statistics(frame, "arm", specs, group_col="seg", arm_codes=(a_codes, arms)))
    return _value_rows(aggs, control, alpha, n_draws, seed)


def _engine_value_aggregates(data, arm_col: str, revenue: str, costs: dict | None, cost_col: str | None,
                             segment_col: str | None) -> list[Aggregates]:
    """The rev/cost/val aggregates from one engine pass: with ``cost_col`` the ratio metric
    revenue/cost gives every sum (val = rev - cost: sum = s1 - d1, squares = s2 - 2 nd + d2);
    with ``costs`` (one cost per arm) the revenue sums suffice."""
    spec = (parse_metrics({"_value": ("ratio", revenue, cost_col)}) if cost_col
            else parse_metrics({"_value": {"kind": "continuous", "column": revenue}}))
    full = sufficient_statistics(data, arm_col, spec, group_col=segment_col)
    out = []
    for agg in [collapse(full)] + ([full] if segment_col else []):
        ms = agg.stats["_value"]
        if np.any(ms.n != agg.rows):
            what = f"revenue column {revenue!r}" + (f" or cost column {cost_col!r}" if cost_col else "")
            raise ValueError(f"{what} has missing values; fill them (0 = no revenue) first")
        n, s1, s2 = ms.n, ms.s1, ms.s2
        if cost_col:
            d1, d2, nd = ms.d1, ms.d2, ms.nd
        else:
            missing = [a for a in agg.arms if a not in costs]
            if missing:
                raise ValueError(f"costs has no cost per customer for arms {missing}; give one per arm {agg.arms}")
            c = np.array([float(costs[a]) for a in agg.arms])[None, :]
            d1, d2, nd = n * c, n * c * c, s1 * c
        res = Aggregates(arms=agg.arms, groups=agg.groups, covariates=[], rows=agg.rows)
        res.stats = {"rev": MetricStats("continuous", n, s1, s2), "cost": MetricStats("continuous", n, d1, d2),
                     "val": MetricStats("continuous", n, s1 - d1, s2 - 2 * nd + d2)}
        out.append(res)
    return out


def _value_rows(aggs: list[Aggregates], control, alpha: float, n_draws: int, seed: int) -> pd.DataFrame:
    arms = aggs[0].arms
    c = comparisons(arms, control)[0][1]
    rng = np.random.default_rng(seed)
    out = []
    for agg in aggs:
        seg_labels = agg.groups
        v = agg.stats["val"]
        mean_v, var_v = v.mean, v.var(1)
        se = np.sqrt(var_v / v.n)
        draws = rng.normal(mean_v[None], se[None], size=(n_draws,) + mean_v.shape)
        prob_best = np.stack([(draws.argmax(axis=-1) == k).mean(axis=0) for k in range(len(arms))], axis=-1)
        for g, seg in enumerate(seg_labels):
            best = int(np.argmax(mean_v[g]))
            for k in range(len(arms)):
                r = mean_diff(v.n[g, k], mean_v[g, k], var_v[g, k], v.n[g, c], mean_v[g, c], var_v[g, c], alpha)
                is_c = k == c
                out.append(
                    {
                        "segment": seg, "arm": arms[k], "control": arms[c], "n_arm": int(v.n[g, k]),
                        "revenue_per_customer": agg.stats["rev"].mean[g, k],
                        "cost_per_customer": agg.stats["cost"].mean[g, k],
                        "value_per_customer": mean_v[g, k],
                        "incremental_revenue": agg.stats["rev"].mean[g, k] - agg.stats["rev"].mean[g, c],
                        "incremental_cost": agg.stats["cost"].mean[g, k] - agg.stats["cost"].mean[g, c],
                        "incremental_value": float(r["diff"]),
                        "ci_low": 0.0 if is_c else float(r["ci_low"]),
                        "ci_high": 0.0 if is_c else float(r["ci_high"]),
                        "p_value": 1.0 if is_c else float(r["p_value"]),
                        "prob_best": float(prob_best[g, k]),
                        "best": k == best,
                    }
                )
    return pd.DataFrame(out)
