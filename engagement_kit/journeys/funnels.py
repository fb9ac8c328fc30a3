"""Funnels of the journey frameworks, by touch model, with intervals and tests.

A funnel counts, per arm, the customers reaching each stage of a framework.
Two reach rules (see :mod:`engagement_kit.journeys.engine`):

* **ordered** -- reached stages 1..k with first arrivals in time order (ties
  count as in order); the funnel of a linear framework;
* **any** -- reached stage k at any time, whatever else happened; for the
  non-linear decision journey, where customers enter and leave anywhere.

Rates (per arm; ``n_arm`` = customers of the arm in the customers table):

* ``rate_from_start`` = n_reached(k) / n_arm;
* ``rate_from_previous`` = ordered: n_reached(k) / n_reached(k-1);
  any: n(reached k and k-1) / n(reached k-1); for stage 1 both are n_reached(1) / n_arm.
  This is the stage-transition probability P(reach k | reached k-1).

``ci_low``/``ci_high`` are the Wilson interval of ``rate_from_previous``;
``start_ci_low``/``start_ci_high`` that of ``rate_from_start``
(:func:`engagement_kit.stats.proportions.wilson_ci`).

Tests: every arm against ``control`` at every stage, for both rates, with the
pooled two-proportion z test (statsmodels ``proportions_ztest``; z^2 is the
2x2 Pearson chi-square without continuity correction), corrected for
multiplicity (:func:`engagement_kit.stats.multitest.adjust`: ``holm``, ``fdr_bh``,
``bonferroni`` or ``none``) within each family (rate_from_start, rate_from_previous)
over stages x arms; ``reject`` = p_adjusted <= alpha. The difference carries
a Newcomb (Wilson-score) interval.

Example
-------
>>> import pandas as pd
>>> ev = pd.DataFrame({"customer_id": list("aabbc"), "framework": "laer",
...                    "stage": ["land", "adopt", "land", "adopt", "land"],
...                    "timestamp": pd.to_datetime(["2025-01-01", "2025-01-02"] * 2 + ["2025-01-01"])})
>>> res = funnel(ev, framework="laer")
>>> res.funnel[["stage", "n_reached", "rate_from_previous"]].head(2).to_numpy().tolist()
[['land', 3, 1.0], ['adopt', 2, 0.6666666666666666]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from ..frameworks import get_framework
from ..stats.multitest import adjust, check_method
from ..stats.proportions import wilson_ci
from ..stats.survival import median_survival
from .engine import Engine, Source
from .quality import as_engine

__all__ = ["FunnelResult", "funnel", "funnel_from_counts", "time_to_next_stage", "FUNNEL_COLUMNS"]

#: The interface columns of funnel.csv (further columns follow them).
FUNNEL_COLUMNS = [
    "framework",
    "stage",
    "stage_order",
    "arm",
    "n_reached",
    "rate_from_start",
    "rate_from_previous",
    "ci_low",
    "ci_high",
]


@dataclass(frozen=True)
class FunnelResult:
    """A funnel and its tests.

    ``funnel``: FUNNEL_COLUMNS + mode, n_arm, n_previous, start_ci_low, start_ci_high.
    ``tests``: framework, stage, stage_order, mode, basis ('rate_from_start' or
    'rate_from_previous'), arm, control, n_arm, rate_arm, n_control, rate_control,
    diff, diff_ci_low, diff_ci_high, z, chi2, p_value, p_adjusted, reject, correction, note,
    n_reached_arm, n_reached_control (the numerators of ``rate_arm`` and ``rate_control``).
    """

    funnel: pd.DataFrame
    tests: pd.DataFrame
    framework: str
    mode: str
    alpha: float

    def to_pandas(self) -> pd.DataFrame:
        return self.funnel.copy()


def funnel_from_counts(
    counts: pd.DataFrame,
    *,
    framework: str,
    mode: str = "ordered",
    control: str | None = None,
    alpha: float = 0.05,
    correction: str = "holm",
) -> FunnelResult:
    """Funnel rates, intervals and tests from :meth:`Engine.funnel_counts` output."""
    fw = get_framework(framework)
    check_method(correction)
    if mode not in ("ordered", "any"):
        raise ValueError(f"mode must be 'ordered' or 'any', not {mode!r}")
    c = counts[counts["framework"] == fw.name].sort_values(["arm", "stage_order"]).copy()
    if c.empty:
        raise ValueError(f"no funnel counts for framework {fw.name!r}")
    reached = c["n_ordered"] if mode == "ordered" else c["n_any"]
    c["n_reached"] = reached.astype("int64")
    prev_reached = c.groupby("arm")["n_reached"].shift(1)
    c["n_previous"] = prev_reached.fillna(c["n_arm"]).astype("int64")
    num_prev = c["n_reached"] if mode == "ordered" else c["n_any_prev"]
    c["n_converted"] = num_prev.astype("int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        c["rate_from_start"] = c["n_reached"] / c["n_arm"].where(c["n_arm"] > 0)
        c["rate_from_previous"] = c["n_converted"] / c["n_previous"].where(c["n_previous"] > 0)
    c["ci_low"], c["ci_high"] = wilson_ci(c["n_converted"], c["n_previous"], alpha)
    c["start_ci_low"], c["start_ci_high"] = wilson_ci(c["n_reached"], c["n_arm"], alpha)
    c["stage"] = c["stage_order"].map(lambda k: fw.stage_names[k - 1])
    c["mode"] = mode
    out = c[FUNNEL_COLUMNS + ["mode", "n_arm", "n_previous", "n_converted", "start_ci_low", "start_ci_high"]]
    out = out.reset_index(drop=True)
    tests = _tests(out, control, alpha, correction) if control is not None else pd.DataFrame()
    return FunnelResult(funnel=out, tests=tests, framework=fw.name, mode=mode, alpha=alpha)


def _tests(f: pd.DataFrame, control: str, alpha: float, correction: str) -> pd.DataFrame:
    arms = list(f["arm"].unique())
    if control not in arms:
        raise ValueError(f"control arm {control!r} is not among the arms {arms}")
    rows = []
    ctrl = f[f["arm"] == control].set_index("stage_order")
    for basis, num, den in (
        ("rate_from_start", "n_reached", "n_arm"),
        ("rate_from_previous", "n_converted", "n_previous"),
    ):
        for _, r in f[f["arm"] != control].iterrows():  # a few stages x arms: aggregates only
            k = r["stage_order"]
            x1, n1 = int(r[num]), int(r[den])
            x0, n0 = int(ctrl.loc[k, num]), int(ctrl.loc[k, den])
            row = {
                "framework": r["framework"],
                "stage": r["stage"],
                "stage_order": k,
                "mode": r["mode"],
                "basis": basis,
                "arm": r["arm"],
                "control": control,
                "n_arm": n1,
                "rate_arm": x1 / n1 if n1 else np.nan,
                "n_control": n0,
                "rate_control": x0 / n0 if n0 else np.nan,
                "n_reached_arm": x1,
                "n_reached_control": x0,
                "note": "",
            }
            pooled = (x1 + x0) / (n1 + n0) if n1 and n0 else np.nan
            if not n1 or not n0:
                row.update(diff=np.nan, diff_ci_low=np.nan, diff_ci_high=np.nan, z=np.nan, p_value=np.nan)
                row["note"] = "no customers at the previous stage in one arm: not testable"
            elif pooled in (0.0, 1.0):
                row.update(diff=0.0, diff_ci_low=np.nan, diff_ci_high=np.nan, z=0.0, p_value=1.0)
                row["note"] = "all or none converted in both arms: no variation"
            else:
                z, p = proportions_ztest([x1, x0], [n1, n0])
                lo, hi = confint_proportions_2indep(x1, n1, x0, n0, method="newcomb", compare="diff", alpha=alpha)
                row.update(diff=x1 / n1 - x0 / n0, diff_ci_low=lo, diff_ci_high=hi, z=float(z), p_value=float(p))
            rows.append(row)
    t = pd.DataFrame(rows)
    t["chi2"] = t["z"] ** 2
    t["p_adjusted"] = adjust(t["p_value"].to_numpy(dtype=float), correction, t.groupby("basis").ngroup().to_numpy())
    t["reject"] = t["p_adjusted"] <= alpha
    t["correction"] = correction
    cols = [
        "framework", "stage", "stage_order", "mode", "basis", "arm", "control", "n_arm", "rate_arm",
        "n_control", "rate_control", "diff", "diff_ci_low", "diff_ci_high", "z", "chi2", "p_value",
        "p_adjusted", "reject", "correction", "note", "n_reached_arm", "n_reached_control",
    ]  # fmt: skip
    return t[cols]


def funnel(
    data: Engine | Source,
    *,
    framework: str,
    customers: Source | None = None,
    arm_col: str | None = None,
    control: str | None = None,
    mode: str | None = None,
    alpha: float = 0.05,
    correction: str = "holm",
) -> FunnelResult:
    """Funnel of ``framework`` by arm, with Wilson intervals and tests vs ``control``.

    ``data`` is the events table (CSV/Parquet path(s) or a frame) or an Engine.
    ``mode`` defaults to 'ordered' for linear frameworks and 'any' for the
    non-linear decision journey. With ``arm_col=None`` (or no customers table)
    there is one arm, 'all', and no tests.
    """
    fw = get_framework(framework)
    eng = as_engine(data, customers=customers)
    if mode is None:
        mode = "ordered" if fw.linear else "any"
    counts = eng.funnel_counts([fw.name], arm_col=arm_col)
    if arm_col is None or not eng.has("customers"):
        control = None
    return funnel_from_counts(counts, framework=fw.name, mode=mode, control=control, alpha=alpha, correction=correction)


def time_to_next_stage(
    data: Engine | Source,
    *,
    framework: str,
    customers: Source | None = None,
    arm_col: str | None = None,
    observation_end: object = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Median days from (ordered) arrival at stage k-1 to arrival at stage k, Kaplan-Meier.

    Customers who reached k-1 but not yet k are censored at ``observation_end``
    (default: the latest event timestamp). Returns framework, from_stage, stage,
    stage_order, arm, n, n_events, median_days, ci_low, ci_high (Brookmeyer-Crowley
    via :func:`engagement_kit.stats.survival.median_survival`; NaN median = fewer than
    half converted by the end, reported in ``note``).
    """
    fw = get_framework(framework)
    eng = as_engine(data, customers=customers)
    d = eng.stage_durations(fw.name, arm_col=arm_col, observation_end=observation_end)
    if (d["duration_days"] < 0).any():
        raise ValueError(
            f"{int((d['duration_days'] < 0).sum())} customers reached a stage after observation_end; "
            "pass a later observation_end"
        )
    rows = []
    for k, dk in d.groupby("stage_order", sort=True):
        m = median_survival(dk, duration="duration_days", event="event", group_col="arm", alpha=alpha)
        m = m.rename(columns={"group": "arm", "median": "median_days"})
        m["stage_order"] = k
        rows.append(m)
    if not rows:
        return pd.DataFrame(
            columns=["framework", "from_stage", "stage", "stage_order", "arm", "n", "n_events",
                     "median_days", "ci_low", "ci_high", "note"]  # fmt: skip
        )
    out = pd.concat(rows, ignore_index=True)
    out["framework"] = fw.name
    out["stage"] = out["stage_order"].map(lambda k: fw.stage_names[k - 1])
    out["from_stage"] = out["stage_order"].map(lambda k: fw.stage_names[k - 2])
    out["note"] = np.where(out["median_days"].isna(), "median not reached (under half converted)", "")
    return out[
        ["framework", "from_stage", "stage", "stage_order", "arm", "n", "n_events",
         "median_days", "ci_low", "ci_high", "note"]  # fmt: skip
    ]
