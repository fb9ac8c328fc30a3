"""The DSCE scorecard: one call (:func:`scorecard`) returning one frozen result (:class:`Scorecard`).

Tables and their columns: see :mod:`engagement_kit.dsce`. The checks only the scorecard
can make (every assessed account has outcomes and, when given, customer rows; a grouping
column the user named exists) raise the same
:class:`~engagement_kit.validation.ValidationError` as the data contracts.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable, Mapping
from typing import ClassVar

import pandas as pd

from ..display import format_estimate, format_number
from ..engines import as_table, is_in_memory
from ..experiments.sufficient import MAX_ROWS_PULLED
from ..frameworks import DSCE_COMPONENT_NAMES
from ..i18n import translate
from ..kpis import KPI_TABLE_COLUMNS, KPI_TREND_COLUMNS, kpi_table, kpi_trend
from ..privacy import MIN_CELL_SIZE, check_min_cell_size
from ..results import Result
from ..stats import multitest
from ..summary import Summary
from ..validation import Problem, ValidationError
from .conclusions import conclusions as _conclusions
from .drivers import DRIVER_COLUMNS, drivers, fitted_weights, weights_table
from .scores import ID, SEGMENT_COLUMNS, check_ratings, dsce_index, group_summary, resolve_weights
from .sufficient import as_accounts, check_ratings_in_engine, engine_segments, join_accounts

__all__ = ["Scorecard", "merge_accounts", "scorecard"]


def _text_ids(ids: pd.Series) -> pd.Series:
    """Ids as text (as the data contracts read them): 17.0 -> '17', ' A1 ' -> 'A1'."""
    if pd.api.types.is_float_dtype(ids.dtype) and (ids.dropna() % 1 == 0).all():
        ids = ids.astype("Int64")
    return ids.astype("string").str.strip().astype(object).where(ids.notna())


def merge_accounts(
    data: pd.DataFrame,
    *others: tuple[str, pd.DataFrame],
    on_unmatched: str = "error",
) -> pd.DataFrame:
    """Join the ratings table with other per-account tables, e.g. ``("outcomes", outcomes)``.

    Every assessed account must appear in every other table; otherwise a
    :class:`~engagement_kit.validation.ValidationError` names the table, the count, the
    rows of the ratings table and the fix (``on_unmatched="drop"`` drops those accounts
    with a warning instead). Accounts present only in the other tables are not assessed
    and are left out. Ids are compared as text, as the data contracts read them.
    """
    if on_unmatched not in ("error", "drop"):
        raise ValueError(f"on_unmatched must be 'error' or 'drop', not {on_unmatched!r}")
    out = data.assign(**{ID: _text_ids(data[ID])})
    for name, table in others:
        if ID not in table.columns:
            raise ValidationError(
                [Problem(name, ID, (), f"no account id column; columns are {list(table.columns)}",
                         f"name the account id column {ID!r}", "missing_column")]
            )  # fmt: skip
        table = table.assign(**{ID: _text_ids(table[ID])})
        dup = table[ID].duplicated(keep=False).to_numpy()
        if dup.any():
            raise ValidationError(
                [Problem.from_mask(name, ID, f"duplicated ids {list(table.loc[dup, ID].unique()[:5])}",
                                   f"keep one row per account in {name}", "duplicate_id", dup)]
            )  # fmt: skip
        absent = ~out[ID].isin(table[ID]).to_numpy()
        if absent.any():
            msg = f"{int(absent.sum())} assessed account(s) are absent from {name} (first: {list(out.loc[absent, ID][:5])})"
            if on_unmatched == "error":
                fix = f"add their rows to {name}, drop them from the ratings table, or pass on_unmatched='drop'"
                raise ValidationError([Problem.from_mask("dsce", ID, msg, fix, "unmatched_id", absent)], source="dsce")
            warnings.warn(msg + "; dropped", stacklevel=2)
            out = out.loc[~absent]
        extra = [c for c in table.columns if c != ID and c not in out.columns]
        out = out.merge(table[[ID, *extra]], on=ID, how="left", validate="one_to_one")
    return out.reset_index(drop=True)


@dataclasses.dataclass(frozen=True, eq=False)
class Scorecard(Result):
    """The DSCE scorecard (tables and columns: see :mod:`engagement_kit.dsce`).

    ``dsce_scores`` is the one account-level table (ids included, because an issue asks
    for it); every other table is an aggregate, and rows describing fewer than
    ``min_cell_size`` accounts are suppressed and marked when published (``tables()``).
    """

    dsce_scores: pd.DataFrame
    dsce_segments: pd.DataFrame
    dsce_drivers: pd.DataFrame
    dsce_weights: pd.DataFrame
    kpis: pd.DataFrame
    weights_used: str = "equal"
    kpi_trend: pd.DataFrame | None = None
    components: tuple[str, ...] = ()
    adjusted_for: tuple[str, ...] = ()
    alpha: float = 0.05
    min_cell_size: int = MIN_CELL_SIZE
    skipped: tuple[str, ...] = ()

    COLUMNS: ClassVar[dict[str, list[str]]] = {
        "dsce_scores": [ID],
        "dsce_segments": list(SEGMENT_COLUMNS),
        "dsce_drivers": list(DRIVER_COLUMNS),
        "dsce_weights": ["component", "equal_weight"],
        "kpis": list(KPI_TABLE_COLUMNS),
        "kpi_trend": list(KPI_TREND_COLUMNS),
    }
    ACCOUNT_LEVEL: ClassVar[tuple[str, ...]] = ("dsce_scores",)
    CELLS: ClassVar[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
        "dsce_segments": (("n",), ("group_col", "group", "component")),
        "kpis": (("n",), ("kpi", "group_col", "group")),
        "kpi_trend": (("n",), ("kpi", "cohort", "group_col", "group")),
    }

    def summary(self, *, language: str = "en") -> Summary:
        """The index and its gap to the desired state, the group furthest from it, and the
        components flagged as predicting churn or expansion (observational)."""
        t = self.tables()
        seg = t["dsce_segments"]
        seg = seg[~seg["suppressed"].astype(bool)] if "suppressed" in seg else seg
        idx = seg[seg["component"].eq("index")]
        lines = []
        overall = idx[idx["group_col"].eq("all")]
        n = 0
        if len(overall):
            r = overall.iloc[0]
            n = int(r["n"]) if pd.notna(r["n"]) else 0
            score, interval = format_estimate(r["score"], r["score_ci_low"], r["score_ci_high"], column="score",
                                              language=language)
            gap, gap_interval = format_estimate(r["gap"], r["gap_ci_low"], r["gap_ci_high"], column="gap",
                                                language=language)
            lines.append(translate("summary.dsce.index", language, score=score, interval=interval, gap=gap,
                                   gap_interval=gap_interval, level=round(100 * (1 - self.alpha))))
        groups = idx[~idx["group_col"].eq("all")]
        if len(groups) and groups["gap"].notna().any():
            w = groups.loc[groups["gap"].idxmax()]
            lines.append(translate("summary.dsce.furthest", language, group_col=w["group_col"], group=w["group"],
                                   gap=format_number(w["gap"], language=language)))
        dr = t["dsce_drivers"]
        flagged = dr[dr["flagged"].fillna(False).astype(bool)] if len(dr) else dr
        for _, r in flagged.iterrows():
            est, interval = format_estimate(r["estimate"], r["ci_low"], r["ci_high"], column="estimate",
                                            language=language)
            lines.append(translate("summary.dsce.driver", language, component=r["component"], outcome=r["outcome"],
                                   estimate=est, interval=interval, unit=r.get("unit", "")))
        if len(dr) and flagged.empty:
            lines.append(translate("summary.dsce.no_driver", language))
        data = translate("summary.dsce.data", language, n=format_number(n, language=language),
                         k=len(self.components), weights=self.weights_used)
        caveats = [translate("summary.dsce.caveat_observational", language)]
        if small := self.small_cell_caveat(language):
            caveats.append(small)
        return Summary(question=translate("summary.dsce.question", language), verdicts=tuple(lines), data=data,
                       caveats=tuple(caveats), language=language)

    def conclusions(self, language: str = "en") -> str:
        """The scorecard in plain language (Markdown bullets, labels escaped): the overall
        index and gap, the groups furthest from and closest to the desired state, the
        largest component gap, the flagged drivers with their direction, equal versus
        fitted weights, the small-cell note and the observational caveat."""
        return _conclusions(self, self.alpha, language)


def _grouping(
    name: str, col: str | None, merged: pd.DataFrame, customers: pd.DataFrame | None, what: str
) -> tuple[str | None, str | None]:
    """(the column, or None; the skipped line, or None) of an optional breakdown."""
    if col is None:
        return None, f"breakdown by {what} skipped: set {name} to a column of customers (customers_path)"
    if col in merged.columns:
        return col, None
    if customers is not None:
        raise ValidationError(
            [Problem("customers", col, (), f"{name}={col!r} names a column the customers table does not have",
                     f"pass a column of customers ({sorted(map(str, customers.columns))[:12]}) or {name}=None",
                     "missing_column")]
        )  # fmt: skip
    return None, f"breakdown by {what} skipped: no customers table (customers / customers_path) holds {name}={col!r}"


def _kpi_skips(kdata: pd.DataFrame, survey: pd.DataFrame | None) -> list[str]:
    """One line per KPI the data cannot support, naming what turns it on."""
    out = []
    if survey is None:
        out.append("NPS and CSAT KPIs skipped: no survey (survey / survey_path)")
    elif not {"nps", "csat"} & set(survey.columns):
        out.append("NPS and CSAT KPIs skipped: the survey has no nps or csat column (survey / survey_path)")
    if "cost_to_serve" not in kdata.columns:
        out.append("cost to serve skipped: no cost_to_serve column (customers / customers_path); CLV margins leave it out")
    if "retained" not in kdata.columns or not {"revenue", "expansion_revenue"} & set(kdata.columns):
        out.append("CLV skipped: outcomes need retained and revenue or expansion_revenue (outcomes / outcomes_path)")
    return out


def scorecard(
    data: pd.DataFrame,
    *,
    outcomes: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    survey: pd.DataFrame | None = None,
    components: Iterable[str] | None = None,
    targets: float | Mapping[str, float] | None = None,
    weights: str | Mapping[str, float] = "equal",
    weights_outcome: str = "churn",
    segment_col: str | None = None,
    arm_col: str | None = None,
    scale_min: float = 1,
    scale_max: float = 5,
    alpha: float = 0.05,
    correction: str = "holm",
    discount_rate: float = 0.1,
    min_cell_size: int = MIN_CELL_SIZE,
    missing: str = "error",
    on_unmatched: str = "error",
    churn_model: str = "cox",
    expansion_model: str = "two_part",
    max_rows_pulled: int = MAX_ROWS_PULLED,
) -> Scorecard:
    """The whole DSCE scorecard: scores, group summaries, drivers, weights, KPIs and their trend.

    ``data`` is the ratings table (one row per account, the ``dsce`` contract);
    ``outcomes`` one row per customer (every assessed account must be in it);
    ``customers`` (segment, arm, signup date, cost to serve) and ``survey`` (NPS, CSAT)
    are optional. ``components`` default to those of the eight present in ``data``.
    ``weights`` = "equal", "fitted" (from the ``weights_outcome`` driver model) or a
    mapping; the index with equal and with fitted weights is always reported side by
    side (``index_equal``, ``index_fitted``), ``index`` is the chosen one.
    ``segment_col`` / ``arm_col`` (None: no breakdown) add group rows to
    ``dsce_segments`` and ``kpis``, adjust the driver models and (``arm_col``) split the
    KPI trend. KPIs cover all customers in ``outcomes``, not only the assessed accounts.
    ``correction`` is one of holm, fdr_bh, bonferroni, none; ``missing="reweight"``
    averages the rated components of an account with missing ratings;
    ``on_unmatched="drop"`` drops assessed accounts without outcomes (with a warning).
    Optional parts that cannot run are listed in ``skipped``.

    Engines (issue 13): ``data``, ``outcomes``, ``customers`` and ``survey`` may each be a
    pandas DataFrame, an Ibis table, a DuckDB relation, a PySpark DataFrame or a path read
    by DuckDB. All in pandas: the numpy path below. Otherwise the tables are joined, checked
    and aggregated inside the engine (``dsce_segments`` and ``kpis`` from per-group
    sums, :mod:`engagement_kit.dsce.sufficient`); the parts that need rows - the
    account-level ``dsce_scores``, the driver models (hence fitted weights) and the KPI
    trend - pull only the columns they read when there are at most ``max_rows_pulled``
    accounts, and are skipped (one line in ``skipped``) otherwise; ``dsce_scores`` is then
    ordered by customer_id.
    """
    min_cell_size = check_min_cell_size(min_cell_size)
    multitest.check_method(correction)
    if components is None:
        components = [c for c in DSCE_COMPONENT_NAMES if c in getattr(data, "columns", ())]
    components = list(components)
    if not all(is_in_memory(x) for x in (data, outcomes, customers, survey) if x is not None):
        return _scorecard_in_engine(
            data, outcomes=outcomes, customers=customers, survey=survey, components=components, targets=targets,
            weights=weights, weights_outcome=weights_outcome, segment_col=segment_col, arm_col=arm_col,
            scale_min=scale_min, scale_max=scale_max, alpha=alpha, correction=correction,
            discount_rate=discount_rate, min_cell_size=min_cell_size, missing=missing, on_unmatched=on_unmatched,
            churn_model=churn_model, expansion_model=expansion_model, max_rows_pulled=max_rows_pulled,
        )  # fmt: skip
    ratings = check_ratings(data, components=components, scale_min=scale_min, scale_max=scale_max, missing=missing)
    tables = [("outcomes", outcomes)] + ([("customers", customers)] if customers is not None else [])
    merged = merge_accounts(ratings, *tables, on_unmatched=on_unmatched)
    skipped: list[str] = []
    cols = {}
    for name, col, what in (("arm_col", arm_col, "arm"), ("segment_col", segment_col, "segment")):
        cols[name], line = _grouping(name, col, merged, customers, what)
        skipped += [line] if line else []
    adjust = [c for c in (cols["arm_col"], cols["segment_col"]) if c]

    drv = drivers(merged, components=components, adjust=adjust, churn_model=churn_model,
                  expansion_model=expansion_model, alpha=alpha, correction=correction)  # fmt: skip
    try:
        fw = fitted_weights(drv, outcome=weights_outcome, components=components)
        wt = weights_table(drv, components=components, outcome=weights_outcome)
    except ValueError as err:
        if isinstance(weights, str) and weights == "fitted":
            raise
        fw = None
        wt = pd.DataFrame({"component": components, "equal_weight": 1.0 / len(components)})
        skipped.append(f"fitted weights skipped (weights_outcome={weights_outcome!r}): {err}")
    chosen = fw if (isinstance(weights, str) and weights == "fitted") else weights
    rated = merged[list(ratings.columns)]  # the index reads the ratings table only (rows as merged)
    common = dict(components=components, targets=targets, scale_min=scale_min, scale_max=scale_max, missing=missing)
    scores = dsce_index(rated, weights=chosen, **common)
    index_cols = ["index", "index_equal"]
    scores["index_equal"] = dsce_index(rated, weights="equal", **common)["index"]
    if fw is not None:
        scores["index_fitted"] = dsce_index(rated, weights=fw, **common)["index"]
        index_cols.append("index_fitted")
    order = [ID, *[f"score_{c}" for c in components], *index_cols, "target_index", "gap",
             *[f"gap_{c}" for c in components]]  # fmt: skip
    scores = scores[order]
    segments = group_summary(scores.join(merged[adjust]), group_cols=adjust[::-1], components=components,
                             alpha=alpha, index_cols=index_cols)  # fmt: skip

    kdata = outcomes.assign(**{ID: _text_ids(outcomes[ID])})
    for extra, suffix in ((customers, "_customers"), (survey, "_survey")):
        if extra is not None:
            kdata = kdata.merge(extra.assign(**{ID: _text_ids(extra[ID])}), on=ID, how="left", suffixes=("", suffix))
    kgroups = [c for c in adjust if c in kdata.columns]
    kp = kpi_table(kdata, kgroups, alpha, discount_rate=discount_rate)
    skipped += _kpi_skips(kdata, survey)
    trend = None
    if "signup_date" in kdata.columns and "retained" in kdata.columns:
        arm = cols["arm_col"] if cols["arm_col"] in kdata.columns else None
        trend = kpi_trend(kdata, group_col=arm, alpha=alpha)
    else:
        skipped.append("KPI trend by signup cohort skipped: no signup_date column (customers / customers_path)")
    used = weights if isinstance(weights, str) else "custom"
    return Scorecard(
        dsce_scores=scores, dsce_segments=segments, dsce_drivers=drv, dsce_weights=wt, kpis=kp,
        weights_used=used, kpi_trend=trend, components=tuple(components), adjusted_for=tuple(adjust),
        alpha=alpha, min_cell_size=min_cell_size, skipped=tuple(skipped),
    )  # fmt: skip


_OUTCOME_COLUMNS = ("churn_time", "churned", "retained", "expansion_revenue")


def _engine_grouping(name: str, col: str | None, joined, customers, what: str) -> tuple[str | None, str | None]:
    if col is None:
        return None, f"breakdown by {what} skipped: set {name} to a column of customers (customers_path)"
    if col in joined.columns:
        return col, None
    if customers is not None:
        raise ValidationError(
            [Problem("customers", col, (), f"{name}={col!r} names a column the customers table does not have",
                     f"name a column of customers: {list(as_table(customers).columns)}", "missing_column")]
        )  # fmt: skip
    return None, f"breakdown by {what} skipped: {name}={col!r} needs the customers table (customers / customers_path)"


def _scorecard_in_engine(data, *, outcomes, customers, survey, components, targets, weights, weights_outcome,
                         segment_col, arm_col, scale_min, scale_max, alpha, correction, discount_rate,
                         min_cell_size, missing, on_unmatched, churn_model, expansion_model,
                         max_rows_pulled) -> Scorecard:
    """:func:`scorecard` for tables held by an engine (see its docstring: what runs where)."""
    if missing not in ("error", "reweight"):
        raise ValueError(f"missing must be 'error' or 'reweight', not {missing!r}")
    if not scale_max > scale_min:
        raise ValueError(f"scale_max ({scale_max}) must be greater than scale_min ({scale_min})")
    if components is None or not components:
        components = [c for c in DSCE_COMPONENT_NAMES if c in as_table(data).columns]
    ratings = as_accounts(data)
    check_ratings_in_engine(ratings, components=components, scale_min=scale_min, scale_max=scale_max,
                            missing=missing)
    rating_cols = [ID, *components, *[f"target_{c}" for c in components if f"target_{c}" in ratings.columns]]
    others = [("outcomes", outcomes)] + ([("customers", customers)] if customers is not None else [])
    joined = join_accounts(ratings.select(*rating_cols), *others, on_unmatched=on_unmatched)
    skipped: list[str] = []
    cols = {}
    for name, col, what in (("arm_col", arm_col, "arm"), ("segment_col", segment_col, "segment")):
        cols[name], line = _engine_grouping(name, col, joined, customers, what)
        skipped += [line] if line else []
    adjust = [c for c in (cols["arm_col"], cols["segment_col"]) if c]

    n = int(joined.count().to_pyarrow().as_py())
    rows = None
    if n <= max_rows_pulled:
        need = rating_cols + [c for c in (*_OUTCOME_COLUMNS, *adjust) if c in joined.columns]
        rows = joined.select(*need).order_by(ID).to_pandas()
    else:
        skipped.append(f"driver models, fitted weights and the account-level dsce_scores skipped: they need the "
                       f"rows, and the data has {n:,} accounts, more than max_rows_pulled={max_rows_pulled:,} "
                       "(sample in the engine, or raise max_rows_pulled if the rows fit in memory)")
    fw = None
    if rows is not None:
        drv = drivers(rows, components=components, adjust=adjust, churn_model=churn_model,
                      expansion_model=expansion_model, alpha=alpha, correction=correction)  # fmt: skip
        try:
            fw = fitted_weights(drv, outcome=weights_outcome, components=components)
            wt = weights_table(drv, components=components, outcome=weights_outcome)
        except ValueError as err:
            if isinstance(weights, str) and weights == "fitted":
                raise
            skipped.append(f"fitted weights skipped (weights_outcome={weights_outcome!r}): {err}")
    else:
        if isinstance(weights, str) and weights == "fitted":
            raise ValueError(f"weights='fitted' needs the driver models, which need the rows: the data has {n:,} "
                             f"accounts, more than max_rows_pulled={max_rows_pulled:,}; use weights='equal' or "
                             "raise max_rows_pulled")
        drv = pd.DataFrame(columns=list(DRIVER_COLUMNS))
    if fw is None:
        wt = pd.DataFrame({"component": components, "equal_weight": 1.0 / len(components)})
    chosen = fw if (isinstance(weights, str) and weights == "fitted") else weights
    index_weights = {"index": resolve_weights(chosen, components=components),
                     "index_equal": resolve_weights("equal", components=components)}
    if fw is not None:
        index_weights["index_fitted"] = resolve_weights(fw, components=components)
    index_cols = list(index_weights)
    order = [ID, *[f"score_{c}" for c in components], *index_cols, "target_index", "gap",
             *[f"gap_{c}" for c in components]]  # fmt: skip
    if rows is not None:
        rated = rows[rating_cols]
        common = dict(components=components, targets=targets, scale_min=scale_min, scale_max=scale_max,
                      missing=missing)
        scores = dsce_index(rated, weights=chosen, **common)
        scores["index_equal"] = dsce_index(rated, weights="equal", **common)["index"]
        if fw is not None:
            scores["index_fitted"] = dsce_index(rated, weights=fw, **common)["index"]
        scores = scores[order]
    else:
        scores = pd.DataFrame(columns=order)
    # the published aggregates: per-group sums computed by the engine
    segments = engine_segments(joined, components=components, weights=index_weights, targets=targets,
                               scale_min=scale_min, scale_max=scale_max, group_cols=adjust[::-1], alpha=alpha)

    kdata = as_accounts(outcomes)
    for extra in (customers, survey):
        if extra is not None:
            other = as_accounts(extra)
            keep = [c for c in other.columns if c != ID and c not in kdata.columns]
            right = other.select(ID, *keep).rename({"_ek_id": ID})
            kdata = kdata.left_join(right, kdata[ID] == right._ek_id).drop("_ek_id")
    kgroups = [c for c in adjust if c in kdata.columns]
    kp = kpi_table(kdata, kgroups, alpha, discount_rate=discount_rate)
    skipped += _kpi_skips(kdata, None if survey is None else as_table(survey))
    trend = None
    if "signup_date" in kdata.columns and "retained" in kdata.columns:
        arm = cols["arm_col"] if cols["arm_col"] in kdata.columns else None
        k = int(kdata.count().to_pyarrow().as_py())
        if k <= max_rows_pulled:
            # cohort labels are pandas periods: the trend reads three columns of the rows
            trend_rows = kdata.select(*[c for c in ("signup_date", "retained", arm) if c]).to_pandas()
            trend = kpi_trend(trend_rows, group_col=arm, alpha=alpha)
        else:
            skipped.append(f"KPI trend by signup cohort skipped: it needs the rows, and outcomes has {k:,} rows, "
                           f"more than max_rows_pulled={max_rows_pulled:,}")
    else:
        skipped.append("KPI trend by signup cohort skipped: no signup_date column (customers / customers_path)")
    used = weights if isinstance(weights, str) else "custom"
    return Scorecard(
        dsce_scores=scores, dsce_segments=segments, dsce_drivers=drv, dsce_weights=wt, kpis=kp,
        weights_used=used, kpi_trend=trend, components=tuple(components), adjusted_for=tuple(adjust),
        alpha=alpha, min_cell_size=min_cell_size, skipped=tuple(skipped),
    )  # fmt: skip
