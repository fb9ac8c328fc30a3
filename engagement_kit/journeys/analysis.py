"""The journeys analysis in one call: :func:`journey` returns a frozen :class:`JourneyResult`.

Given an event log (and, optionally, a customers table, an outcomes table or a
one-row-per-customer churn table), :func:`journey` runs every part the data allows and
skips the others with one line each in ``result.skipped``, naming the parameter that
turns the part on. Every table of the notebook's CSV interface is always present
(header-only where its part did not run):

``quality``       check, framework, stage, n_rows, n_customers, share_of_rows, rule
                  (the event log's data-quality problems; a churn table's rows with
                  missing values as ``missing_value``)
``funnel``        framework, stage, stage_order, arm, n_reached, rate_from_start,
                  rate_from_previous, ci_low, ci_high (+ mode, n_arm, n_previous,
                  n_converted, start_ci_low, start_ci_high) -- a published interface
``funnel_tests``  framework, stage, stage_order, mode, basis, arm, control, diff,
                  diff_ci_low, diff_ci_high, z, chi2, p_value, p_adjusted, reject
                  (+ n_arm, rate_arm, n_control, rate_control, correction, note,
                  n_reached_arm, n_reached_control, n_customers_arm, n_customers_control)
``stage_times``   framework, from_stage, stage, stage_order, arm, n, n_events,
                  median_days, ci_low, ci_high (+ note)
``transitions``   framework, arm, from_stage, to_stage, from_order, to_order, kind, n,
                  n_from, probability, ci_low, ci_high (+ n_customers, n_from_customers)
``top_paths``     framework, arm, rank, path, n_customers, share
``cohorts``       arm, cohort, period, days, n_eligible, n_retained, retention, ci_low, ci_high
``kpis``          framework, kpi, arm, value, ci_low, ci_high, n, formula, note
``survival``      source, kind, group_col, group, term, time, n, n_at_risk, n_events,
                  estimate, ci_low, ci_high, statistic, df, p_value (Kaplan-Meier rows
                  on merged steps, median lifetimes, log-rank tests, Cox hazard ratios)

Every table but ``quality`` ends with ``suppressed``: rows describing fewer than
``min_cell_size`` people keep their labels, lose their values and are marked
(:mod:`engagement_kit.privacy`). The Kaplan-Meier rows are published on merged time
steps (:func:`engagement_kit.privacy.merge_small_steps`: each published step holds at
least ``min_cell_size`` events and at risk; the survival at a published time is exact).

Example
-------
>>> import pandas as pd
>>> ids = [f"u{i:03d}" for i in range(40)]
>>> ev = pd.DataFrame({"customer_id": ids * 2 + ids[:3], "framework": "laer",
...                    "stage": ["land"] * 40 + ["adopt"] * 40 + ["expand"] * 3,
...                    "timestamp": pd.to_datetime(["2025-01-01"] * 40 + ["2025-01-05"] * 40 + ["2025-02-01"] * 3)})
>>> res = journey(ev, framework="laer")
>>> res.tables()["funnel"][["stage", "n_reached", "rate_from_start", "suppressed"]]
    stage  n_reached  rate_from_start  suppressed
0    land       40.0              1.0       False
1   adopt       40.0              1.0       False
2  expand        NaN              NaN        True
3   renew        NaN              NaN        True
>>> print(res.skipped[0])
By-arm results and tests skipped: no arm column (set arm_col to the arm column of the customers table).
>>> print(res.conclusions().splitlines()[-1])
- **Small cells:** 7 row(s) describe fewer than 10 people and are suppressed (2 in funnel, 2 in stage_times, 2 in transitions, 1 in top_paths); they are marked `suppressed` in the CSV files.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from ..display import format_number, format_p
from ..engines import ENGINES
from ..frameworks import get_framework
from ..i18n import translate
from ..io import read_table, resolve_path
from ..privacy import (
    MIN_CELL_SIZE,
    check_min_cell_size,
    merge_small_steps,
    suppress_small_cells,
)
from ..results import Result
from ..stats.multitest import check_method
from ..summary import Summary
from .churn import churn_survival
from .cohorts import PERIOD_DAYS, retention_cohorts, retention_curves
from .engine import Engine, Source
from .funnels import funnel, time_to_next_stage
from .lifecycle import lifecycle_kpis
from .paths import loops, top_paths, transitions
from .quality import DataQuality, check_events
from .report import TABLE_COLUMNS, summarise

__all__ = ["JourneyResult", "journey"]

#: what to set, in the library and in the notebook, to give each table
_SET = {
    "data": "data / events_path",
    "customers": "customers / customers_path",
    "outcomes": "outcomes / outcomes_path",
    "churn": "churn / churn_path",
}
_EVENT_PARTS = "Funnel, stage times, transitions and top paths"
_OUTCOME_KPIS = "retention_d7/d30/d90, referral_rate, revenue_per_customer, net_revenue_retention"


@dataclasses.dataclass(frozen=True, eq=False)
class JourneyResult(Result):
    """The tables of the journeys analysis (see the module docstring), the settings used and
    ``skipped``. ``arm_col``/``control`` are those actually used (None when the data has no
    arms or no control arm). A table that did not run is None (header-only CSV)."""

    quality: pd.DataFrame | None
    funnel: pd.DataFrame | None
    funnel_tests: pd.DataFrame | None
    stage_times: pd.DataFrame | None
    transitions: pd.DataFrame | None
    top_paths: pd.DataFrame | None
    cohorts: pd.DataFrame | None
    kpis: pd.DataFrame | None
    survival: pd.DataFrame | None
    framework: str
    arm_col: str | None = None
    control: str | None = None
    alpha: float = 0.05
    correction: str = "holm"
    has_events: bool = False
    min_cell_size: int = MIN_CELL_SIZE
    skipped: tuple[str, ...] = ()

    COLUMNS: ClassVar[dict[str, list[str]]] = {
        "quality": TABLE_COLUMNS["quality"],
        **{k: v for k, v in TABLE_COLUMNS.items() if k != "quality"},
    }
    CELLS: ClassVar[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
        "funnel": (("n_reached", "n_arm", "n_previous", "n_converted"),
                   ("framework", "stage", "stage_order", "arm", "mode")),
        "funnel_tests": (("n_arm", "n_control", "n_reached_arm", "n_reached_control", "n_customers_arm",
                          "n_customers_control"),
                         ("framework", "stage", "stage_order", "mode", "basis", "arm", "control", "correction")),
        "stage_times": (("n", "n_events"), ("framework", "from_stage", "stage", "stage_order", "arm")),
        "transitions": (("n", "n_from", "n_customers", "n_from_customers"),
                        ("framework", "arm", "from_stage", "to_stage", "from_order", "to_order", "kind")),
        "top_paths": (("n_customers",), ("framework", "arm", "rank", "path")),
        "cohorts": (("n_eligible", "n_retained"), ("arm", "cohort", "period", "days")),
        "kpis": (("n",), ("framework", "kpi", "arm", "formula", "note")),
        "survival": (("n", "n_at_risk", "n_events"), ("source", "kind", "group_col", "group", "term")),
    }  # fmt: skip

    def loops(self) -> pd.DataFrame:
        """Loops back and repeats per arm (:func:`engagement_kit.journeys.loops`), small cells
        suppressed; empty when there were no events."""
        if self.transitions is None or self.transitions.empty:
            return pd.DataFrame()
        lp = loops(self.transitions, alpha=self.alpha)
        labels = ["framework", "arm", "from_stage", "to_stage", "kind"]
        return suppress_small_cells(lp, ["n", "n_customers", "n_at_from"], labels=labels,
                                    min_cell_size=self.min_cell_size)  # fmt: skip

    def retention_curves(self) -> pd.DataFrame:
        """Retention by arm and period pooled over cohorts, small cells suppressed (empty
        without cohorts)."""
        if self.cohorts is None or self.cohorts.empty:
            return pd.DataFrame()
        g = retention_curves(self.cohorts, alpha=self.alpha)
        return suppress_small_cells(g, ["n_eligible", "n_retained"], labels=["arm", "period", "days"],
                                    min_cell_size=self.min_cell_size)  # fmt: skip

    def display_options(self, name: str) -> dict:
        """Funnel rates are shares and their differences percentage points."""
        return {"kinds": "binary"} if name in ("funnel", "funnel_tests", "cohorts", "transitions") else {}

    def summary(self, *, language: str = "en") -> Summary:
        """Per arm the biggest drop-off and the reach of the last stage; the stages where an
        arm differs from the control after correction; the churn test."""
        t = self.tables()
        lines: list[str] = []
        f = t["funnel"]
        f = f[~f["suppressed"].astype(bool)] if "suppressed" in f else f
        first_stage_n = 0
        for arm, g in f.groupby("arm", sort=False) if len(f) else []:
            g = g.sort_values("stage_order")
            later = g.iloc[1:]
            if later.empty or later["rate_from_previous"].isna().all():
                continue
            drop = later.loc[later["rate_from_previous"].idxmin()]
            first_stage_n += int(g["n_reached"].iloc[0]) if pd.notna(g["n_reached"].iloc[0]) else 0
            lines.append(translate(
                "summary.journeys.drop", language, arm=arm, stage=drop["stage"],
                rate=format_number(100 * drop["rate_from_previous"], digits=2, language=language),
                last=g["stage"].iloc[-1],
                reach=format_number(100 * g["rate_from_start"].iloc[-1], digits=2, language=language)))
        ft = t["funnel_tests"]
        if len(ft) and "reject" in ft:
            hits = ft[ft["reject"].fillna(False).astype(bool)]
            lines.append(translate("summary.journeys.tests", language, k=len(hits), n=len(ft)))
        s = t["survival"]
        lr = s[s["kind"].eq("logrank")] if len(s) and "kind" in s else s.iloc[:0] if len(s) else s
        for _, r in lr.iterrows():
            key = "summary.journeys.churn_differs" if r["p_value"] < self.alpha else "summary.journeys.churn_same"
            lines.append(translate(key, language, group=r.get("group_col", ""), p=format_p(r["p_value"], language)))
        data = translate("summary.journeys.data", language, framework=self.framework or "",
                         n=format_number(first_stage_n, language=language)) if first_stage_n else ""
        caveats = [translate("summary.journeys.caveat_causal", language)]
        if small := self.small_cell_caveat(language):
            caveats.append(small)
        return Summary(question=translate("summary.journeys.question", language, framework=self.framework or ""),
                       verdicts=tuple(lines), data=data, caveats=tuple(caveats), language=language)

    def conclusions(self, language: str = "en") -> str:
        """Biggest drop-off and reach of the last stage per arm, the stages where an arm
        differs from the control after correction, the churn verdicts, the small-cell note
        and the causality caveat, from the published tables (labels escaped)."""
        t = self.tables()
        text = summarise(
            None if self.funnel is None else t["funnel"],
            t["funnel_tests"],
            None if self.survival is None else t["survival"],
            has_events=self.has_events,
            alpha=self.alpha,
            language=language,
        )
        note = self.small_cell_note(language)
        return text + (f"\n- {note}" if note else "")


def _spark() -> Any:
    from pyspark.sql import SparkSession  # the spark extra: pip install 'engagement-kit[spark]'

    return SparkSession.builder.getOrCreate()


def _source(value: Any, name: str, skipped: list[str], *, engine: str = "auto", table: str | None = None) -> Any:
    """A table argument as a registrable source: None or "" for none; a path resolved
    from the project root (a file that does not exist is skipped with a line).

    ``engine`` says who reads a path: ``auto``/``duckdb`` (DuckDB, out of core; a
    ``.duckdb`` file with ``table``), ``pandas`` (read into memory), ``spark`` (the active
    Spark session; with no path, ``table`` is a Spark catalog table).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    empty = value is None or (isinstance(value, str) and not value.strip())
    if empty and table and engine in ("auto", "spark"):
        return _spark()  # a catalog table of the active (or the cluster's) Spark session
    if empty:
        return None
    if isinstance(value, (str, Path)):
        p = resolve_path(value)
        if not p.exists() and not any(ch in str(value) for ch in "*?["):
            skipped.append(f"Table {name!r} not read: {value} does not exist (set {_SET[name]} to a file, "
                           f"or to '' for none).")  # fmt: skip
            return None
        if engine == "pandas":
            return read_table(p)
        if engine == "spark":
            reader = _spark().read
            if p.suffix.lower() == ".csv":
                return reader.csv(str(p), header=True, inferSchema=True)
            return reader.parquet(str(p))
        return str(p)
    return value


def _arms(eng: Engine, arm_col: str | None, control: Any, skipped: list[str]) -> tuple[str | None, str | None]:
    """The arm column and control label that the data supports; a line for each that it does not."""
    what = "By-arm results and tests skipped"
    if not arm_col:
        skipped.append(f"{what}: no arm column (set arm_col to the arm column of the customers table).")
        return None, None
    if not eng.has("customers"):
        skipped.append(f"{what}: arm_col {arm_col!r} needs a customers table (set {_SET['customers']}).")
        return None, None
    if arm_col not in eng.columns("customers"):
        cols = ", ".join(eng.columns("customers"))
        skipped.append(f"{what}: the customers table has no column {arm_col!r} (set arm_col; its columns: {cols}).")
        return None, None
    arms = eng.levels("customers", arm_col)
    what = "Tests against a control arm skipped"
    if control is None or control == "":
        skipped.append(f"{what}: set control to one of the arms of {arm_col!r} ({', '.join(arms)}).")
        return arm_col, None
    if str(control) not in arms:
        skipped.append(f"{what}: control {control!r} is not an arm of {arm_col!r} (its arms: {', '.join(arms)}); "
                       "set control.")  # fmt: skip
        return arm_col, None
    return arm_col, str(control)


def _event_parts(eng, fw, arm, control, alpha, correction, n_paths, skipped) -> dict[str, pd.DataFrame]:
    """quality, funnel, funnel_tests, stage_times, transitions, top_paths (those the events allow)."""
    if not eng.has("events"):
        skipped.append(f"{_EVENT_PARTS} skipped: no event log (set {_SET['data']}).")
        return {}
    out = {"quality": check_events(eng, frameworks=[fw.name]).to_pandas()}
    present = eng.levels("events", "framework")
    if fw.name not in present:
        skipped.append(f"{_EVENT_PARTS} skipped: the event log has no events of framework {fw.name!r} "
                       f"(it has: {', '.join(present) or 'none'}); set framework.")  # fmt: skip
        return out
    f = funnel(eng, framework=fw.name, arm_col=arm, control=control, alpha=alpha, correction=correction)
    out["funnel"], out["funnel_tests"] = f.funnel, None
    if len(f.tests):  # a test describes every customer of both arms, whatever its basis
        size = f.funnel.drop_duplicates("arm").set_index("arm")["n_arm"]
        out["funnel_tests"] = f.tests.assign(n_customers_arm=f.tests["arm"].map(size).astype("int64"),
                                             n_customers_control=f.tests["control"].map(size).astype("int64"))
    out["stage_times"] = time_to_next_stage(eng, framework=fw.name, arm_col=arm, alpha=alpha)
    out["transitions"] = transitions(eng, framework=fw.name, arm_col=arm, alpha=alpha)
    out["top_paths"] = top_paths(eng, framework=fw.name, arm_col=arm, top=n_paths)
    return out


def _has_columns(eng: Engine, table: str, *cols: str) -> bool:
    return eng.has(table) and all(c in eng.columns(table) for c in cols)


def _cohorts_and_kpis(eng, arm, cohort_period, n_periods, alpha, skipped) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    cust_ok = _has_columns(eng, "customers", "signup_date")
    out_ok = _has_columns(eng, "outcomes", "churn_time", "churned")
    if cust_ok and out_ok:
        out["cohorts"] = retention_cohorts(eng, arm_col=arm, cohort_period=cohort_period, n_periods=n_periods,
                                           alpha=alpha)  # fmt: skip
    else:
        need = ([] if cust_ok else [f"a customers table with signup_date (set {_SET['customers']})"]) + (
            [] if out_ok else [f"an outcomes table with churn_time and churned (set {_SET['outcomes']})"])
        skipped.append("Cohorts skipped: they need " + " and ".join(need) + ".")
    if not eng.has("events") and not eng.has("outcomes"):
        skipped.append(f"Lifecycle KPIs skipped: they need an event log (set {_SET['data']}) or an outcomes table "
                       f"(set {_SET['outcomes']}).")  # fmt: skip
        return out
    out["kpis"] = lifecycle_kpis(eng, arm_col=arm, alpha=alpha)
    if not eng.has("outcomes"):
        skipped.append(f"Outcome KPIs ({_OUTCOME_KPIS}) skipped: no outcomes table (set {_SET['outcomes']}).")
    return out


def _churn_table(churn, *, duration, event, group, covariates, alpha, skipped):
    """(survival result, quality rows) from a one-row-per-customer churn table."""
    table = churn if isinstance(churn, pd.DataFrame) else read_table(churn)
    source = "churn" if isinstance(churn, pd.DataFrame) else Path(str(churn)).name
    what = "Churn (survival) skipped"
    for param, col in (("churn_duration", duration), ("churn_event", event)):
        if not col or col not in table.columns:
            skipped.append(f"{what}: the churn table has no column {col!r} (set {param}; its columns: "
                           f"{', '.join(map(str, table.columns))}).")  # fmt: skip
            return None, None
    groups = [group] if group and group in table.columns else []
    if not groups:
        why = f"the churn table has no column {group!r}" if group else "no group column"
        skipped.append(f"Churn by group (log-rank, medians by group) skipped: {why} (set churn_group).")
        table = table.assign(all="all")
        groups = ["all"]
    covs = [c for c in covariates if c in table.columns]
    if len(covs) < len(covariates):
        gone = [c for c in covariates if c not in table.columns]
        skipped.append(f"Cox covariate(s) {gone} left out: not columns of the churn table (set churn_covariates).")
    used = [duration, event, *groups, *covs]
    blank = table[used].isna()
    quality = None
    if blank.any(axis=None):
        counts = pd.DataFrame({"check": "missing_value", "framework": None, "stage": used,
                               "n_rows": blank.sum().to_numpy(), "n_customers": blank.sum().to_numpy()})  # fmt: skip
        quality = DataQuality.from_counts(counts[counts["n_rows"] > 0], n_events=len(table)).to_pandas()
        table = table[~blank.any(axis=1)]
    res = churn_survival(table, duration=duration, event=event, group_cols=groups, covariates=covs, alpha=alpha,
                         source=source)  # fmt: skip
    return res, quality


def _churn_outcomes(eng, *, arm, control, segment_col, alpha, skipped):
    """The survival result from the outcomes table (by arm, and by segment when there is one)."""
    segs: list[str] = []
    if not segment_col:
        skipped.append("Churn by segment skipped: no segment column (set segment_col).")
    elif not _has_columns(eng, "customers", segment_col):
        skipped.append(f"Churn by segment skipped: no customers table with column {segment_col!r} "
                       f"(set segment_col, {_SET['customers']}).")  # fmt: skip
    else:
        segs = [segment_col]
    d = eng.customer_table(["churn_time", "churned", *segs], arm_col=arm)
    return churn_survival(d, arm_col="arm", control=control, group_cols=segs, alpha=alpha, source="outcomes")


def journey(
    data: Engine | Source | None = None,
    *,
    framework: str,
    customers: Source | None = None,
    outcomes: Source | None = None,
    churn: str | Path | pd.DataFrame | None = None,
    arm_col: str | None = None,
    control: str | None = None,
    segment_col: str | None = None,
    cohort_period: str = "M",
    n_periods: int = 12,
    alpha: float = 0.05,
    correction: str = "holm",
    churn_duration: str | None = None,
    churn_event: str | None = None,
    churn_group: str | None = None,
    churn_covariates: list[str] | tuple[str, ...] = (),
    n_paths: int = 5,
    min_cell_size: int = MIN_CELL_SIZE,
    engine: str = "auto",
    events_table: str | None = None,
    customers_table: str | None = None,
    outcomes_table: str | None = None,
) -> JourneyResult:
    """Funnel, tests, stage times, paths, cohorts, lifecycle KPIs and churn of one framework.

    ``data`` is the event log (customer_id, timestamp, framework, stage): a pandas
    DataFrame, an Ibis table, a DuckDB relation, a PySpark DataFrame, CSV/Parquet path(s)
    (a file, folder or glob, read out of core by DuckDB), a ``.duckdb`` file with
    ``events_table``, or an :class:`Engine` with tables registered. Every aggregation runs
    inside the engine holding the rows; only aggregates come back. ``engine`` (``auto``,
    ``pandas``, ``duckdb``, ``spark``) says who reads *paths*; with ``engine="spark"`` and
    no path, ``events_table``/``customers_table``/``outcomes_table`` name tables of the
    Spark catalog (``SparkSession.builder.getOrCreate()``: the cluster's session on
    Databricks). With a ``.duckdb`` file they name tables in that file. ``customers`` (customer_id, signup_date, the ``arm_col``, the
    ``segment_col``) and ``outcomes`` (customer_id, churn_time, churned, revenue, ...)
    are optional tables, frames or paths; ``churn`` is a one-row-per-customer churn
    table (columns ``churn_duration``, ``churn_event`` as 1/0, yes/no or true/false,
    ``churn_group``, ``churn_covariates``) used for the survival part instead of the
    outcomes. None or "" means no table; a path that does not exist is skipped.

    Funnel tests compare every arm with ``control`` (two-proportion z tests,
    ``correction`` in holm, fdr_bh, bonferroni, none). Cohorts use ``cohort_period``
    (D, W, M, Q, Y) and ``n_periods``; ``n_paths`` paths per arm are listed. Every part
    the data does not allow is skipped with one line in ``result.skipped``.
    """
    fw = get_framework(framework)
    check_method(correction)
    min_cell_size = check_min_cell_size(min_cell_size)
    if str(cohort_period).upper() not in PERIOD_DAYS:
        raise ValueError(f"cohort_period must be one of {list(PERIOD_DAYS)}, not {cohort_period!r}")
    skipped: list[str] = []
    eng = data if isinstance(data, Engine) else Engine()
    for name, value, table in (("data", None if isinstance(data, Engine) else data, events_table),
                               ("customers", customers, customers_table), ("outcomes", outcomes, outcomes_table)):
        src = _source(value, name, skipped, engine=engine, table=table)
        if src is not None:
            eng.register("events" if name == "data" else name, src, table=table)
    arm, ctrl = _arms(eng, arm_col, control, skipped)
    tables = _event_parts(eng, fw, arm, ctrl, alpha, correction, n_paths, skipped)
    tables.update(_cohorts_and_kpis(eng, arm, cohort_period, n_periods, alpha, skipped))
    churn_src = _source(churn, "churn", skipped)
    surv = None
    if churn_src is not None:
        surv, q = _churn_table(churn_src, duration=churn_duration, event=churn_event, group=churn_group,
                               covariates=list(churn_covariates), alpha=alpha, skipped=skipped)  # fmt: skip
        if q is not None:
            tables["quality"] = pd.concat([t for t in (tables.get("quality"), q) if t is not None], ignore_index=True)
    elif _has_columns(eng, "outcomes", "churn_time", "churned"):
        surv = _churn_outcomes(eng, arm=arm, control=ctrl, segment_col=segment_col, alpha=alpha, skipped=skipped)
    else:
        skipped.append(f"Churn (survival) skipped: it needs an outcomes table with churn_time and churned "
                       f"(set {_SET['outcomes']}) or a churn table (set {_SET['churn']}).")  # fmt: skip
    if surv is not None:
        km = merge_small_steps(surv.km, group_cols=["group_col", "group"], min_cell_size=min_cell_size)
        tables["survival"] = dataclasses.replace(surv, km=km).to_pandas()
    return JourneyResult(
        quality=tables.get("quality"), funnel=tables.get("funnel"), funnel_tests=tables.get("funnel_tests"),
        stage_times=tables.get("stage_times"), transitions=tables.get("transitions"),
        top_paths=tables.get("top_paths"), cohorts=tables.get("cohorts"), kpis=tables.get("kpis"),
        survival=tables.get("survival"), framework=fw.name, arm_col=arm, control=ctrl, alpha=alpha,
        correction=correction, has_events=eng.has("events"), min_cell_size=min_cell_size, skipped=tuple(skipped),
    )  # fmt: skip
