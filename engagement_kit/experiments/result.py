"""The touch-model experiment in one call: :func:`experiment` -> :class:`ExperimentResult`.

:func:`experiment` runs every part of the analysis that the data and the parameters allow,
from the building blocks of this package (numbers identical to calling them directly), and
returns one frozen result with the interface of every analysis
(:class:`engagement_kit.results.Result`): ``tables()``, ``write(folder)``, ``conclusions()``,
``skipped``, plus the design warnings as data (``design_warnings``), the analysis' warnings
about the data as ``notes``, ``summary()`` (the report's first screen) and ``display(name)``
(a table formatted for people; the CSVs keep full precision).

Tables (the CSV files' stems; interface columns first, in this order; ``suppressed`` appended
where small cells are suppressed, see ``CELLS``):

- ``effects`` (:func:`.analyze`): ``metric, arm, control, n_arm, n_control, mean_arm,
  mean_control, diff, ci_low, ci_high, rel_diff, rel_ci_low, rel_ci_high, p_value,
  p_adjusted, method, se, variance_reduction``. ``rel_diff, rel_ci_low, rel_ci_high`` are
  empty (NaN) for NPS and wherever the control mean is zero or negative: a relative change
  of a baseline that can be <= 0 is not a size (read ``diff``, in points for NPS).
- ``srm`` (:func:`.srm`): ``arm, n_observed, n_expected, planned_share, observed_share, chi2,
  df, p_value, srm_detected``.
- ``balance`` (:func:`.balance`, with ``covariates``): ``covariate, arm, control, mean_arm,
  mean_control, sd_arm, sd_control, smd, p_value, imbalanced`` (+ ``n_arm, n_control``).
- ``segments`` (:func:`.segment_effects`, with ``segment_col``): ``segment`` + the effects
  columns + ``interaction_p_value``.
- ``interaction`` (:func:`.interaction_test`, with ``segment_col``): ``metric, statistic, df,
  p_value, n_segments, method``.
- ``value`` (:func:`.value`, with ``value_metric`` and ``costs`` or ``cost_col``): ``segment,
  arm, control, n_arm, revenue_per_customer, cost_per_customer, value_per_customer,
  incremental_revenue, incremental_cost, incremental_value, ci_low, ci_high, p_value,
  prob_best, best`` (+ ``n_control``, the control's customers in the segment).
- ``power`` (:func:`.power_table`): ``metric, kind, baseline, sd, n_per_arm_current,
  n_comparisons, alpha_per_comparison, power, mde_current, mde_current_rel, target_rel_mde,
  target_mde, n_per_arm_required`` (+ ``n_control``, the control's customers with a value).
- ``bayes`` (:func:`.bayes`): ``metric, arm, control, mean_arm, mean_control,
  posterior_mean_diff, cred_low, cred_high, prob_beat_control, expected_loss, method``
  (+ ``n_arm, n_control``).
- ``survival`` (:func:`.survival_tests`, with a ``time_to_event`` metric): ``metric, arm,
  control, n_arm, n_control, events_arm, events_control, median_arm, median_control,
  logrank_chi2, logrank_df, p_value``.

Small cells: rows of ``effects``, ``segments``, ``value``, ``balance``, ``bayes`` and
``survival`` with fewer than ``min_cell_size`` customers in the arm or the control (``srm``:
in the arm; ``power``: in the control, whose baseline it shows) keep their labels, lose their
numbers and are marked ``suppressed``. The Kaplan-Meier curves
behind :func:`engagement_kit.plots.experiments.km_plot` (``km``, not written) are published on
merged steps (:func:`engagement_kit.privacy.merge_small_steps`).

Example
-------
>>> import numpy as np, pandas as pd, tempfile
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"variant": rng.choice(["ctl", "v1"], 2000), "clicked": rng.integers(0, 2, 2000)})
>>> r = experiment(df, arm_col="variant", control="ctl", metrics={"clicked": "binary"})
>>> r.tables()["effects"][["metric", "arm", "method"]].values.tolist()
[['clicked', 'v1', 'z_wald']]
>>> print(r.skipped[0])
CUPED and balance: skipped, no covariates (set covariates to pre-period columns to run them).
>>> sorted(r.write(tempfile.mkdtemp()))[:3]
['balance', 'bayes', 'effects']
>>> r.conclusions().splitlines()[0][:40]
'- clicked: no detectable difference betw'
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import functools
import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..display import format_estimate, format_number, format_p
from ..engines import as_table, is_in_memory
from ..frameworks import value_label
from ..i18n import check_language, translate
from ..markdown import bullets, escape
from ..privacy import MIN_CELL_SIZE, check_min_cell_size, merge_small_steps
from ..results import Result
from ..stats.survival import kaplan_meier
from ..summary import Summary
from .aggregate import MetricSpec, factorize, parse_metrics
from .bayes import bayes as bayes_table
from .churn import survival_tests
from .effects import DEFAULT_METHOD, EFFECT_COLUMNS, analyze, comparisons
from .power import power_curve, power_table
from .segments import interaction_test, segment_effects
from .sequential import (
    SEQUENTIAL_COLUMNS,
    SequentialResult,
    engine_time,
    look_times,
    sequential,
    time_range,
)
from .srm import DesignWarning
from .srm import balance as balance_table
from .srm import srm as srm_table
from .sufficient import MAX_ROWS_PULLED, pull_rows, shared_aggregates
from .value import value as value_table

__all__ = ["ExperimentResult", "experiment"]

#: Methods whose rows are alternative analyses, not separate findings, in the conclusions.
_SECONDARY = ("cuped", "ancova_hc1", "mann_whitney", "bootstrap")
#: Notes on the data (warnings of the analysis) listed in the summary box; the rest are counted.
_MAX_NOTES = 4
#: Metric kinds that the Bayesian view and the power table cover.
_MEAN_KINDS = ("binary", "continuous", "count", "nps")


@dataclasses.dataclass(frozen=True, eq=False)
class ExperimentResult(Result):
    """The tables of one experiment (see the module doc), the design warnings and the run's
    settings. ``None`` stands for a part that did not run (its CSV is header-only); ``km``
    holds the Kaplan-Meier curves on merged steps for the plot (not a CSV)."""

    effects: pd.DataFrame
    srm: pd.DataFrame
    balance: pd.DataFrame | None = None
    segments: pd.DataFrame | None = None
    interaction: pd.DataFrame | None = None
    value: pd.DataFrame | None = None
    power: pd.DataFrame | None = None
    bayes: pd.DataFrame | None = None
    survival: pd.DataFrame | None = None
    km: pd.DataFrame | None = None
    sequential: pd.DataFrame | None = None
    monitoring: SequentialResult | None = None
    arm_col: str = "arm"
    control: Any = None
    arms: tuple = ()
    alpha: float = 0.05
    correction: str = "holm"
    power_target: float = 0.8
    min_cell_size: int = MIN_CELL_SIZE
    design_warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    metric_kinds: dict = dataclasses.field(default_factory=dict)
    value_metric: str | None = None
    skipped: tuple[str, ...] = ()

    COLUMNS = {
        "effects": EFFECT_COLUMNS,
        "srm": ["arm", "n_observed", "n_expected", "planned_share", "observed_share", "chi2", "df", "p_value",
                "srm_detected"],
        "balance": ["covariate", "arm", "control", "mean_arm", "mean_control", "sd_arm", "sd_control", "smd",
                    "p_value", "imbalanced"],
        "segments": ["segment"] + EFFECT_COLUMNS + ["interaction_p_value"],
        "interaction": ["metric", "statistic", "df", "p_value", "n_segments", "method"],
        "value": ["segment", "arm", "control", "n_arm", "revenue_per_customer", "cost_per_customer",
                  "value_per_customer", "incremental_revenue", "incremental_cost", "incremental_value", "ci_low",
                  "ci_high", "p_value", "prob_best", "best"],
        "power": ["metric", "kind", "baseline", "sd", "n_per_arm_current", "n_comparisons", "alpha_per_comparison",
                  "power", "mde_current", "mde_current_rel", "target_rel_mde", "target_mde", "n_per_arm_required"],
        "bayes": ["metric", "arm", "control", "mean_arm", "mean_control", "posterior_mean_diff", "cred_low",
                  "cred_high", "prob_beat_control", "expected_loss", "method"],
        "survival": ["metric", "arm", "control", "n_arm", "n_control", "events_arm", "events_control",
                     "median_arm", "median_control", "logrank_chi2", "logrank_df", "p_value"],
        "sequential": SEQUENTIAL_COLUMNS,
    }
    CELLS = {
        "effects": (("n_arm", "n_control"), ("metric", "arm", "control", "method")),
        "srm": (("n_observed",), ("arm",)),
        "segments": (("n_arm", "n_control"), ("segment", "metric", "arm", "control", "method")),
        "value": (("n_arm", "n_control"), ("segment", "arm", "control")),
        "bayes": (("n_arm", "n_control"), ("metric", "arm", "control", "method")),
        "balance": (("n_arm", "n_control"), ("covariate", "arm", "control")),
        "power": (("n_control",), ("metric", "kind", "target_rel_mde")),
        "survival": (("n_arm", "n_control"), ("metric", "arm", "control")),
        "sequential": (("n_arm", "n_control"), ("look", "time", "metric", "arm", "control")),
    }

    def power_curve(self, metric: str | None = None, relative_mdes=(0.05, 0.10)) -> pd.DataFrame:
        """Power against customers per arm for ``metric`` (default: the power table's first),
        one curve per relative MDE of its control baseline, with this run's alpha, correction,
        number of arms and metrics (:func:`.power_curve`). Columns ``metric, n_per_arm, mde,
        power``; empty when there is no power table or no valid MDE (e.g. a binary baseline
        so high that baseline + MDE reaches 1, or a control below ``min_cell_size``)."""
        cols = ["metric", "n_per_arm", "mde", "power"]
        published = self.tables()["power"]
        published = published[~published["suppressed"].astype(bool)]
        if not len(published):
            return pd.DataFrame(columns=cols)
        names = list(dict.fromkeys(published["metric"]))
        if metric is not None and metric not in names:
            raise ValueError(f"metric {metric!r} has no published power row; the power table shows {names}")
        row = published[published["metric"] == (metric or names[0])].iloc[0]
        scale = 100.0 if row["kind"] == "nps" else 1.0  # the power table shows NPS in points
        kind = "binary" if row["kind"] == "binary" else "continuous"
        base, sd = row["baseline"] / scale, row["sd"] / scale
        mdes = [abs(base) * r for r in relative_mdes]
        if kind == "binary":
            mdes = [d for d in mdes if 0 < base < 1 and 0 < d and base + d < 1]
        elif not sd > 0:
            mdes = []
        if not mdes:
            return pd.DataFrame(columns=cols)
        curve = power_curve(kind, baseline=base, sd=sd, mdes=mdes, alpha=self.alpha, n_arms=len(self.arms),
                            n_metrics=self.power["metric"].nunique(), correction=self.correction)
        return curve.assign(metric=row["metric"])[cols]

    def display_options(self, name: str) -> dict:
        """Metric kinds per row; the value table and the ``value_metric`` in money."""
        if name == "value":
            return {"kinds": "money"}
        return {"kinds": self.metric_kinds, "money": [self.value_metric] if self.value_metric else []}

    def summary(self, *, language: str = "en", currency: str = "") -> Summary:
        """Does each arm move each metric against the control? One line per metric x arm
        (covariate-adjusted rows where they exist), the best arm by value, the design caveats."""
        t = self.tables()
        level = round(100 * (1 - self.alpha))
        eff = t["effects"]
        eff = eff[~eff["suppressed"].astype(bool)]
        adjusted = set(zip(eff.loc[eff["method"].eq("cuped"), "metric"], eff.loc[eff["method"].eq("cuped"), "arm"]))
        money = [self.value_metric] if self.value_metric else []
        lines = []
        for _, r in eff[~eff["method"].isin(_SECONDARY) | eff["method"].eq("cuped")].iterrows():
            if r["method"] != "cuped" and (r["metric"], r["arm"]) in adjusted:
                continue
            lines.append(_verdict_line(r, self, level, money, currency, language,
                                       n_tests=int(eff["method"].eq(r["method"]).sum())))
        val = t["value"]
        best = val[val["segment"].eq("all") & val["best"].eq(True)] if len(val) else val
        if len(best):
            b = best.iloc[0]
            value, _ = format_estimate(b["value_per_customer"], 0, 0, kind="money", column="value_per_customer",
                                       currency=currency, language=language)
            lines.append(translate("summary.experiment.best_value", language, arm=b["arm"], value=value,
                                   prob=format_number(100 * b["prob_best"], digits=2, language=language)))
        srm, bal = t["srm"], t["balance"]
        n = int(srm["n_observed"].sum()) if len(srm) and srm["n_observed"].notna().all() else None
        data = translate("summary.experiment.data", language, n=format_number(n or 0, language=language),
                         k=len(self.arms), arms=", ".join(map(str, self.arms)), control=self.control)
        caveats = []
        if len(srm) and srm["srm_detected"].eq(True).any():
            caveats.append(translate("summary.caveat_srm", language, p=format_p(float(srm["p_value"].dropna().iloc[0]), language)))
        if len(bal) and bal["imbalanced"].eq(True).any():
            caveats.append(translate("summary.caveat_imbalance", language,
                                     covariates=", ".join(map(str, bal.loc[bal["imbalanced"].eq(True), "covariate"].unique()))))
        if self.monitoring is not None:
            caveats.append(translate("summary.caveat_fixed_horizon", language))
        caveats += list(self.notes[:_MAX_NOTES])
        if len(self.notes) > _MAX_NOTES:
            caveats.append(translate("summary.more_notes", language, n=len(self.notes) - _MAX_NOTES))
        if small := self.small_cell_caveat(language):
            caveats.append(small)
        metrics = ", ".join(map(str, self.metric_kinds)) or ", ".join(map(str, eff["metric"].unique()))
        question = translate("summary.experiment.question", language, arms=", ".join(str(a) for a in self.arms if a != self.control),
                             control=self.control, metrics=metrics)
        kinds = {**self.metric_kinds, **({self.value_metric: "money"} if self.value_metric else {})}
        return Summary(question=question, verdicts=tuple(lines), data=data, caveats=tuple(caveats), language=language,
                       kinds=kinds)

    def conclusions(self, language: str = "en") -> str:
        """The findings in plain language, as Markdown bullets (labels escaped), in ``language``:
        design warnings, one sentence per primary effect (adjusted p-values), the CUPED variance
        reduction, segment heterogeneity, the best arm by value, and the small-cell note."""
        lang = check_language(language)
        t = self.tables()
        lines = []
        srm, bal = t["srm"], t["balance"]
        if len(srm) and srm["srm_detected"].eq(True).any():
            p = srm["p_value"].dropna().iloc[0]
            lines.append(translate("experiments.srm_warning", lang, p=f"{p:.2g}"))
        if len(bal) and bal["imbalanced"].eq(True).any():
            bad = ", ".join(escape(c) for c in bal.loc[bal["imbalanced"].eq(True), "covariate"].unique())
            lines.append(translate("experiments.imbalance", lang, covariates=bad))
        eff = t["effects"]
        primary = eff[~eff["method"].isin(_SECONDARY) & ~eff["suppressed"].astype(bool)]
        for _, r in primary.iterrows():
            lines.append(_effect_sentence(r, self.alpha, lang))
        cuped = eff[eff["method"].eq("cuped") & ~eff["suppressed"].astype(bool)]
        if len(cuped):
            lines.append(translate("experiments.cuped", lang, share=f"{cuped['variance_reduction'].median():.0%}"))
        inter = t["interaction"]
        if len(inter):
            het = ", ".join(escape(value_label(m, lang)) for m in inter.loc[inter["p_value"] < self.alpha, "metric"])
            lines.append(translate("experiments.segments_differ", lang, alpha=self.alpha, metrics=het)
                         if het else translate("experiments.segments_same", lang))  # fmt: skip
        val = t["value"]
        for seg, g in val.groupby("segment", sort=False):
            best = g[g["best"].eq(True)]
            if len(best):
                b = best.iloc[0]
                lines.append(translate(
                    "experiments.best_value", lang, segment=escape(value_label(seg, lang)),
                    arm=escape(value_label(b["arm"], lang)), value=f"{b['value_per_customer']:.3g}",
                    prob=f"{b['prob_best']:.0%}"))
        if self.monitoring is not None:
            lines.append(translate("experiments.fixed_horizon", lang))
        note = self.small_cell_note(lang)
        text = bullets(lines) + (f"\n\n{note}" if note else "")
        if self.monitoring is not None:
            text += "\n\n" + self.monitoring.conclusions(lang)
        return text


def _verdict_line(r: pd.Series, result: ExperimentResult, level: int, money: list, currency: str, language: str,
                  n_tests: int = 1) -> str:
    """One summary line: the arm's effect on the metric in the metric's unit, with its CI."""
    kind = "money" if r["metric"] in money else result.metric_kinds.get(r["metric"])
    kind = kind[0] if isinstance(kind, (list, tuple)) else kind
    fields = {"arm": value_label(r["arm"], language), "control": value_label(r["control"], language),
              "metric": value_label(r["metric"], language),
              "p": format_p(float(r["p_adjusted"]), language), "k": n_tests}
    adjusted = translate("summary.experiment.adjusted", language) if r["method"] == "cuped" else ""
    if r["method"] == "cox":
        est, interval = format_estimate(r["diff"], r["ci_low"], r["ci_high"], kind="hazard_ratio", language=language)
        key = "hazard_lower" if r["p_adjusted"] < result.alpha and r["diff"] < 1 else (
            "hazard_higher" if r["p_adjusted"] < result.alpha else "hazard_same")
        ci = translate("summary.level", language, level=level, interval=interval)
        return translate(f"summary.experiment.{key}", language, ratio=est, ci=ci, **fields)
    if r["p_adjusted"] < result.alpha:
        up = r["diff"] > 0
        lo, hi = (r["ci_low"], r["ci_high"]) if up else (-r["ci_high"], -r["ci_low"])
        est, interval = format_estimate(abs(r["diff"]), lo, hi, kind=kind, signed=False, currency=currency,
                                        language=language)
        ci = translate("summary.level", language, level=level, interval=interval)
        return translate("summary.experiment.raises" if up else "summary.experiment.lowers", language,
                         estimate=est, ci=ci, adjusted=adjusted, **fields)
    est, interval = format_estimate(r["diff"], r["ci_low"], r["ci_high"], kind=kind, currency=currency,
                                    language=language)
    ci = translate("summary.level", language, level=level, interval=interval)
    return translate("summary.experiment.no_difference", language, estimate=est, ci=ci, adjusted=adjusted, **fields)


def _effect_sentence(r: pd.Series, alpha: float, language: str = "en") -> str:
    # NPS: in points, never a relative difference (its baseline can be zero or negative)
    unit = (lambda v: translate("units.points", language, value=v)) if r["method"] == "z_nps" else (lambda v: v)
    fields = {"metric": escape(value_label(r["metric"], language)), "arm": escape(value_label(r["arm"], language)),
              "control": escape(value_label(r["control"], language)),
              "ci": translate("experiments.ci", language, low=f"{r['ci_low']:.3g}", high=unit(f"{r['ci_high']:.3g}")),
              "p": translate("experiments.p_adjusted", language, p=f"{r['p_adjusted']:.2g}")}  # fmt: skip
    if r["method"] == "cox":
        key = "experiments.hazard_differs" if r["p_adjusted"] < alpha else "experiments.hazard_same"
        return translate(key, language, ratio=f"{r['diff']:.3g}", **fields)
    if r["p_adjusted"] < alpha:
        rel = "" if pd.isna(r["rel_diff"]) else f", {r['rel_diff']:+.1%}"
        key = "experiments.higher" if r["diff"] > 0 else "experiments.lower"
        return translate(key, language, diff=unit(f"{r['diff']:+.3g}"), rel=rel, **fields)
    return translate("experiments.no_difference", language, diff=unit(f"{r['diff']:+.3g}"), **fields)


def _time_column(data: pd.DataFrame, time_col: str, skipped: list) -> pd.DataFrame | None:
    """``data`` with ``time_col`` as dates/times or numbers (text such as ``2025-01-06 10:00:00``,
    as a CSV holds it, is parsed); None with a skipped line when the column cannot be read
    as times or has missing values."""
    s = data[time_col]
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s)):
        parsed = pd.to_datetime(s, errors="coerce", format="mixed")
        if parsed.isna().any() and not s.isna().equals(parsed.isna()):
            bad = s[parsed.isna() & s.notna()].astype(str).head(3).tolist()
            skipped.append(f"monitoring: skipped, time_col {time_col!r} holds values that are not dates or times "
                           f"(e.g. {bad}); set time_col to the assignment-time column.")
            return None
        data = data.assign(**{time_col: parsed})
    if data[time_col].isna().any():
        skipped.append(f"monitoring: skipped, time_col {time_col!r} has {int(data[time_col].isna().sum())} missing "
                       "values (fill or drop them, or set time_col).")
        return None
    return data


def _current_looks(times: pd.Series, looks: int | list | None) -> int | list:
    """``looks`` as :func:`.sequential` takes them: a count as it is; a list of earlier looks'
    times keeps those before the data's last time, which is appended as the current look."""
    if looks is None or isinstance(looks, (int, np.integer)):
        return 10 if looks is None else int(looks)
    is_time = not pd.api.types.is_numeric_dtype(times)
    end = pd.to_datetime(times).max() if is_time else float(times.max())
    earlier = sorted({pd.to_datetime(t) if is_time else float(t) for t in looks})
    return [t for t in earlier if t < end] + [end]


def _monitor_in_engine(table, *, metrics, time_col: str, looks, skipped: list, **kwargs) -> SequentialResult | None:
    """:func:`.sequential` on an engine table, with the pandas path's skipped lines: missing
    times skip monitoring; a list of earlier looks gets the data's last time appended."""
    lo, hi, missing = time_range(table, time_col)
    if missing:
        skipped.append(f"monitoring: skipped, time_col {time_col!r} has {missing} missing "
                       "values (fill or drop them, or set time_col).")
        return None
    is_time = engine_time(table, time_col)[1]
    ends = pd.Series(pd.to_datetime([lo, hi]) if is_time else [float(lo), float(hi)])
    current = _current_looks(ends, looks)
    if isinstance(current, int):  # the cut-offs from the range read here: sequential needs no second pass
        current = look_times(lo, hi, current, is_time)
    monitoring = sequential(table, metrics=metrics, time_col=time_col, looks=current, **kwargs)
    skipped += [f"monitoring: {line}" for line in monitoring.skipped]
    return monitoring


def _missing(columns, data: pd.DataFrame) -> list[str]:
    return [c for c in dict.fromkeys(columns) if c not in data.columns]


def _require(data: pd.DataFrame, columns, what: str) -> None:
    """A ValueError naming each required column the data lacks and the closest names it has."""
    missing = _missing(columns, data)
    if not missing:
        return
    have = [str(c) for c in data.columns]
    hints = []
    for c in missing:
        close = difflib.get_close_matches(str(c), have, n=3, cutoff=0.4)
        hints.append(f"{c!r}" + (f" (closest: {', '.join(map(repr, close))})" if close else ""))
    raise ValueError(f"{what} {', '.join(hints)} {'is' if len(missing) == 1 else 'are'} not a column of the data; "
                     f"its columns are {have}")


def _optional_column(data: pd.DataFrame, column: str | None, parameter: str, part: str, skipped: list) -> bool:
    """Whether the optional ``column`` is there; if not, a skipped line naming ``parameter``."""
    if not column:
        skipped.append(f"{part}: skipped, no {parameter} (set {parameter} to run it).")
        return False
    if column not in data.columns:
        skipped.append(f"{part}: skipped, {parameter} {column!r} is not a column of the data (set {parameter}).")
        return False
    return True


def _recorded(fn, *args, **kwargs):
    """``fn(...)`` with its design warnings caught: (result, warning messages)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DesignWarning)
        out = fn(*args, **kwargs)
    for w in caught:
        if not issubclass(w.category, DesignWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return out, [str(w.message) for w in caught if issubclass(w.category, DesignWarning)]


def _survival(data, specs: list[MetricSpec], arm_col, control, alpha, min_cell_size):
    tables, curves = [], []
    for s in specs:
        tables.append(survival_tests(data, arm_col=arm_col, control=control, duration=s.duration, event=s.event,
                                     metric=s.name, alpha=alpha))
        km = kaplan_meier(data, s.duration, s.event, group_col=arm_col, alpha=alpha)
        curves.append(merge_small_steps(km, group_cols=["group"], min_cell_size=min_cell_size).assign(metric=s.name))
    return pd.concat(tables, ignore_index=True), pd.concat(curves, ignore_index=True)


def experiment(
    data: pd.DataFrame,
    *,
    arm_col: str,
    control: Any,
    metrics: dict,
    covariates: list[str] | None = None,
    segment_col: str | None = None,
    costs: dict | None = None,
    cost_col: str | None = None,
    value_metric: str | None = None,
    allocation: dict | None = None,
    alpha: float = 0.05,
    correction: str = "holm",
    power_target: float = 0.8,
    seed: int | None = None,
    time_col: str | None = None,
    looks: int | list | None = None,
    min_cell_size: int = MIN_CELL_SIZE,
    max_rows_pulled: int = MAX_ROWS_PULLED,
) -> ExperimentResult:
    """Analyse a randomised A/B/n experiment (one row per customer): design checks, effects
    (+ CUPED), segments, value, Bayesian view, power for the next test, survival.

    Parameters
    ----------
    data : one row per customer: a pandas DataFrame, or a table held by an engine (an Ibis
        table, a DuckDB relation, a PySpark DataFrame, a path to Parquet/CSV files or a
        ``.duckdb`` file): every part that reduces to sums is then computed from one
        ``GROUP BY`` pass inside the engine, with the same numbers.
    arm_col, control : the arm column and the control's label (required).
    metrics : ``{name: kind}`` (binary, continuous, count, nps, ``["ratio", num, den]``,
        ``["time_to_event", duration, event]``); their columns are required.
    covariates : pre-period columns for CUPED rows and the balance table; those absent
        from the data are left out (a skipped line says so).
    segment_col : per-segment effects, the arm x segment interaction test, value per segment.
    costs, cost_col, value_metric : the value analysis (revenue ``value_metric`` minus the
        cost to serve: ``costs`` arm -> cost per customer, or the per-customer ``cost_col``).
    allocation : planned arm shares for the SRM test (default equal).
    alpha, correction : CI level 1 - alpha; ``holm``, ``fdr_bh``, ``bonferroni`` or ``none``.
    power_target : power for planning the next test.
    seed : seed of the posterior draws and P(best) (None: the building blocks' fixed default).
    time_col, looks : peeking-safe monitoring (:func:`.sequential`, anytime-valid confidence
        sequences) on each customer's assignment time (dates, times or numbers; text is
        parsed): ``looks`` is the number of equally spaced looks (default 10), or the times of
        the looks taken so far (a scheduled batch passes them, possibly none); the data's
        last time is always the final look. NPS is monitored in points, as in ``effects``.
    min_cell_size : smallest number of customers a published row may describe.
    max_rows_pulled : on an engine table, the most rows the parts that need rows (survival;
        monitoring on a text ``time_col``, which is parsed here) may copy out of the engine;
        above it survival raises and monitoring is skipped, each saying how to proceed (sample
        in the engine, or cast the column to a timestamp there). Monitoring on a date/time or
        numeric ``time_col`` is one ``GROUP BY`` arm x look in the engine and pulls no row.

    An optional part whose parameter is unset, or names a column the data lacks, is skipped
    with one line in ``result.skipped`` naming the parameter; a missing ``arm_col`` or metric
    column raises ValueError with the closest column names. Segment analysis that cannot be
    estimated (a segment x arm cell with fewer than 2 customers, a single segment) is skipped
    with the reason.
    """
    # Warnings about the data (a constant metric in a segment, a zero baseline...) become
    # notes of the result: the summary box lists them, instead of stderr lines above it.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        result = _checked_experiment(
            data, arm_col=arm_col, control=control, metrics=metrics, covariates=covariates, segment_col=segment_col,
            costs=costs, cost_col=cost_col, value_metric=value_metric, allocation=allocation, alpha=alpha,
            correction=correction, power_target=power_target, seed=seed, time_col=time_col, looks=looks,
            min_cell_size=min_cell_size, max_rows_pulled=max_rows_pulled,
        )
    notes = []
    for w in caught:
        if issubclass(w.category, UserWarning) and not issubclass(w.category, DesignWarning):
            notes.append(str(w.message))
        elif not issubclass(w.category, DesignWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return dataclasses.replace(result, notes=tuple(dict.fromkeys(notes)))


def _checked_experiment(
    data: pd.DataFrame, *, arm_col, control, metrics, covariates, segment_col, costs, cost_col, value_metric,
    allocation, alpha, correction, power_target, seed, time_col, looks, min_cell_size, max_rows_pulled,
) -> ExperimentResult:
    min_cell_size = check_min_cell_size(min_cell_size)
    if not is_in_memory(data):
        # a table held by an engine: every part that reduces to sums is answered from one
        # GROUP BY there (shared_aggregates); the parts that need rows pull their columns
        # when there are at most max_rows_pulled rows
        table = as_table(data)
        kwargs = dict(arm_col=arm_col, control=control, metrics=metrics, covariates=covariates,
                      segment_col=segment_col, costs=costs, cost_col=cost_col, value_metric=value_metric,
                      allocation=allocation, alpha=alpha, correction=correction, power_target=power_target, seed=seed,
                      time_col=time_col, looks=looks, min_cell_size=min_cell_size, max_rows_pulled=max_rows_pulled)
        return _experiment_in_engine(table, **kwargs)
    _require(data, [arm_col], "arm_col")
    specs = parse_metrics(metrics)
    _require(data, [c for s in specs for c in s.columns], "metric column")
    _, arms = factorize(data[arm_col], arm_col)
    comparisons(arms, control)  # a control that is no arm: the clear error, before any part runs
    return _experiment(data, specs=specs, arms=arms, arm_col=arm_col, control=control, covariates=covariates,
                       segment_col=segment_col, costs=costs, cost_col=cost_col, value_metric=value_metric,
                       allocation=allocation, alpha=alpha, correction=correction, power_target=power_target,
                       seed=seed, time_col=time_col, looks=looks, min_cell_size=min_cell_size,
                       max_rows_pulled=max_rows_pulled)


def _experiment_in_engine(table, *, arm_col: str, control, metrics: dict, covariates, segment_col, cost_col,
                          value_metric, time_col, max_rows_pulled: int, **rest) -> ExperimentResult:
    _require(table, [arm_col], "arm_col")
    specs = parse_metrics(metrics)
    _require(table, [c for s in specs for c in s.columns], "metric column")
    covs = [c for c in (covariates or []) if c in table.columns]
    wanted = [s for s in specs if s.kind != "time_to_event"]
    wanted += [MetricSpec(c, "continuous", column=c) for c in covs]  # the balance table
    if value_metric and value_metric in table.columns:
        if cost_col and cost_col in table.columns and rest.get("costs") is None:
            wanted += parse_metrics({value_metric: ("ratio", value_metric, cost_col)})
        else:
            wanted += parse_metrics({value_metric: {"kind": "continuous", "column": value_metric}})
    seg = segment_col if segment_col and segment_col in table.columns else None
    with contextlib.ExitStack() as stack:
        try:
            shared = stack.enter_context(shared_aggregates(table, arm_col=arm_col, metrics=wanted, covariates=covs,
                                                           group_col=seg))
        except ValueError:
            if seg is None:
                raise
            # e.g. missing segment labels: share the whole-experiment sums; the segment part
            # then runs on its own and reports why it cannot
            shared = stack.enter_context(shared_aggregates(table, arm_col=arm_col, metrics=wanted, covariates=covs))
        arms = shared.arms
        comparisons(arms, control)
        n_rows = int(shared.rows.sum())
        pull = functools.partial(pull_rows, table, max_rows_pulled=max_rows_pulled, n_rows=n_rows)
        return _experiment(table, specs=specs, arms=arms, arm_col=arm_col, control=control, covariates=covariates,
                           segment_col=segment_col, cost_col=cost_col, value_metric=value_metric, time_col=time_col,
                           max_rows_pulled=max_rows_pulled, pull=pull, **rest)


def _experiment(data, *, specs: list[MetricSpec], arms: list, arm_col: str, control, covariates, segment_col,
                costs, cost_col, value_metric, allocation, alpha: float, correction: str, power_target: float, seed,
                time_col, looks, min_cell_size: int, max_rows_pulled: int, pull=None) -> ExperimentResult:
    seeded = {} if seed is None else {"seed": seed}
    common = dict(arm_col=arm_col, control=control)
    skipped: list[str] = []

    covs = [c for c in (covariates or []) if c in data.columns]
    absent = _missing(covariates or [], data)
    if not covariates:
        skipped.append("CUPED and balance: skipped, no covariates (set covariates to pre-period columns to run them).")
    elif not covs:
        skipped.append(f"CUPED and balance: skipped, covariates {absent} are not columns of the data (set covariates).")
    elif absent:
        skipped.append(f"CUPED and balance: covariates {absent} are not columns of the data and were left out "
                       "(set covariates).")

    srm, warned = _recorded(srm_table, data, arm_col=arm_col, allocation=allocation)
    balance = None
    if covs:
        balance, more = _recorded(balance_table, data, covariates=covs, **common)
        warned += more
        counts = srm.set_index("arm")["n_observed"]
        balance = balance.assign(n_arm=balance["arm"].map(counts), n_control=int(counts[control]))
    effects = analyze(data, metrics=specs, covariates=covs or None, alpha=alpha, correction=correction, **common)

    sufficient = [s for s in specs if s.kind != "time_to_event"]
    segments = interaction = None
    if _optional_column(data, segment_col, "segment_col", "segments and interaction", skipped):
        if not sufficient:
            skipped.append("segments and interaction: skipped, no metric other than time_to_event (set metrics).")
        else:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DesignWarning)
                    segments = segment_effects(data, metrics=sufficient, segment_col=segment_col,
                                               covariates=covs or None, alpha=alpha, correction=correction, **common)
                    interaction = interaction_test(data, metrics=sufficient, segment_col=segment_col, **common)
            except ValueError as exc:  # a tiny segment or a single one: the part cannot be estimated
                segments = interaction = None
                skipped.append(f"segments and interaction: skipped, {exc} (segment_col {segment_col!r}).")

    value = None
    seg_for_value = segment_col if segments is not None else None
    if not value_metric or (costs is None and not cost_col):
        skipped.append("value: skipped, it needs value_metric (a revenue column) and costs or cost_col "
                       "(set them to run it).")
    elif _optional_column(data, value_metric, "value_metric", "value", skipped) and (
        costs is not None or _optional_column(data, cost_col, "cost_col", "value", skipped)
    ):
        value = value_table(data, revenue=value_metric, costs=costs, cost_col=None if costs is not None else cost_col,
                            segment_col=seg_for_value, alpha=alpha, **seeded, **common)
        n_control = value[value["arm"] == value["control"]].set_index("segment")["n_arm"]
        value["n_control"] = value["segment"].map(n_control).astype(np.int64)

    means = [s for s in specs if s.kind in _MEAN_KINDS]
    power = bayes = None
    if means:
        power = power_table(data, metrics=means, alpha=alpha, power=power_target, correction=correction, **common)
        bayes = bayes_table(data, metrics=means, alpha=alpha, **seeded, **common)
        primary = effects[effects["method"].isin(set(DEFAULT_METHOD.values()))]
        power["n_control"] = power["metric"].map(primary.groupby("metric")["n_control"].first())
        bayes = bayes.merge(primary[["metric", "arm", "control", "n_arm", "n_control"]],
                            on=["metric", "arm", "control"], how="left")
    else:
        skipped.append("bayes and power: skipped, no binary, continuous, count or nps metric (set metrics).")

    tte = [s for s in specs if s.kind == "time_to_event"]
    survival = km = None
    if tte:
        rows = data if pull is None else pull([arm_col] + [c for s in tte for c in s.columns],
                                              what="survival (Kaplan-Meier, log-rank)")
        survival, km = _survival(rows, tte, arm_col, control, alpha, min_cell_size)
    else:
        skipped.append("survival: skipped, no time_to_event metric (set metrics, e.g. "
                       "churn: [time_to_event, duration, event]).")

    monitoring = None
    if pull is not None and time_col and time_col in data.columns and engine_time(data, time_col) is not None:
        # a date/time or numeric column of an engine table: the looks are one GROUP BY arm x
        # look inside the engine (sequential), no row is pulled
        monitoring = _monitor_in_engine(data, metrics=means or sufficient, time_col=time_col, looks=looks,
                                        alpha=alpha, covariates=covs or None, correction=correction,
                                        min_cell_size=min_cell_size, skipped=skipped, **common)
        time_col = ""
    elif pull is not None and time_col and time_col in data.columns:  # text times: parsed here, from the rows
        try:
            data = pull([arm_col, time_col] + [c for s in (means or sufficient) for c in s.columns] + covs,
                        what="monitoring (time_col)")
        except ValueError as exc:
            skipped.append(f"monitoring: skipped, {exc}")
            time_col = ""
    timed = None if time_col == "" else _time_column(data, time_col, skipped) if _optional_column(
        data, time_col, "time_col", "monitoring", skipped) else None  # fmt: skip
    if timed is not None:
        monitoring = sequential(timed, metrics=means or sufficient, time_col=time_col,
                                looks=_current_looks(timed[time_col], looks), alpha=alpha,
                                covariates=covs or None, correction=correction, min_cell_size=min_cell_size,
                                **common)  # fmt: skip
        skipped += [f"monitoring: {line}" for line in monitoring.skipped]

    return ExperimentResult(
        sequential=None if monitoring is None else monitoring.sequential, monitoring=monitoring,
        effects=effects, srm=srm, balance=balance, segments=segments, interaction=interaction, value=value,
        power=power, bayes=bayes, survival=survival, km=km, arm_col=arm_col, control=control, arms=tuple(arms),
        alpha=alpha, correction=correction, power_target=power_target, min_cell_size=min_cell_size,
        design_warnings=tuple(warned), metric_kinds={s.name: s.kind for s in specs},
        value_metric=None if value is None else value_metric, skipped=tuple(skipped),
    )
