"""The DSCE group summaries computed inside the engine that holds the rows (issue 13).

:func:`~engagement_kit.dsce.scores.group_summary` averages account-level scores with pandas;
this module builds the same reduction as Ibis expressions (one ``GROUP BY`` per grouping,
with the count, the sum and the sum of squares of every score, index, gap and target as
its aggregates), runs it in DuckDB, Spark or a warehouse, and feeds the per-group count,
mean and SD to the same :func:`~engagement_kit.dsce.scores.segment_rows`, so that the
``dsce_segments`` table is computed by the same numpy code whatever the input. Only
``groups x measures x 3`` numbers leave the engine.

The ratings are checked in the engine too (counts of rows breaking the ``dsce`` contract:
non-numeric, out-of-scale or missing ratings, missing or duplicated ids, accounts absent
from outcomes/customers); errors name the table, column, count, first ids and the fix.

What needs the rows: the account-level ``dsce_scores`` table and the driver models
(Cox / logit / OLS fits, hence the fitted weights). The scorecard pulls the columns they
read when the joined table has at most ``max_rows_pulled`` rows
(:func:`engagement_kit.experiments.sufficient.pull_rows`) and otherwise skips them with a
line in ``Scorecard.skipped``.

Example
-------
>>> import pandas as pd
>>> t = as_accounts(pd.DataFrame({"customer_id": [1, 2, 3], "journey": [1.0, 5.0, float("nan")],
...                               "seg": ["a", "a", "b"]}))
>>> rows = engine_segments(t, components=["journey"], weights={"index": {"journey": 1.0}}, targets=None,
...                        scale_min=1, scale_max=5, group_cols=["seg"], alpha=0.05)
>>> rows.query("component == 'journey'")[["group_col", "group", "n", "score"]].to_numpy().tolist()
[['all', 'all', 2, 50.0], ['seg', 'a', 2, 50.0], ['seg', 'b', 0, nan]]
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ..engines import as_table
from ..validation import Problem, ValidationError
from .scores import ID, SCORE_MAX, SEGMENT_COLUMNS, measure_columns, segment_rows

__all__ = ["as_accounts", "check_ratings_in_engine", "join_accounts", "engine_segments"]

# Sums are taken of (value - _SHIFT): scores live in 0-100, so centring them at 50 keeps the
# one-pass variance (S2 - S1^2/n)/(n-1) free of cancellation (on a 1-5 scale the shifted
# scores are multiples of 25 and their sums exact in floating point).
_SHIFT = SCORE_MAX / 2


def _text_id(col: ir.Value) -> ir.StringValue:
    """Ids as text, as the pandas path reads them (17.0 -> '17', ' A1 ' -> 'A1')."""
    dt = col.type()
    if dt.is_floating() or dt.is_decimal():
        col = col.cast("int64")
    return col.cast("string").strip()


def as_accounts(data: Any, *, table: str | None = None) -> ir.Table:
    """``data`` as an Ibis table whose ``customer_id`` is text (see :func:`_text_id`)."""
    t = as_table(data, table=table)
    if ID not in t.columns:
        raise ValidationError([Problem("dsce", ID, (), f"no account id column; columns are {list(t.columns)}",
                                       f"name the account id column {ID!r}", "missing_column")], source="dsce")
    return t.mutate(**{ID: _text_id(t[ID])})


def _value(t: ir.Table, col: str) -> ir.FloatingValue:
    """A numeric column as float, NULL where missing or NaN (SQL aggregates then skip it)."""
    x = t[col].cast("float64")
    return ibis.ifelse(x.isnull() | x.isnan(), ibis.null().cast("float64"), x)


def _first_ids(t: ir.Table, mask: ir.BooleanValue, k: int = 5) -> list:
    return t.filter(mask).select(ID).limit(k).to_pyarrow()[ID].to_pylist()


def check_ratings_in_engine(
    t: ir.Table, *, components: list[str], scale_min: float, scale_max: float, missing: str, table: str = "dsce"
) -> None:
    """The ``dsce`` contract counted in the engine; raises ValidationError listing every problem."""
    problems: list[Problem] = []
    absent = [c for c in components if c not in t.columns]
    if absent:
        problems.append(Problem(table, ", ".join(absent), (), f"component column(s) {absent} missing",
                                f"add them or name the components present: {list(t.columns)}", "missing_column"))
    wrong = [c for c in components if c in t.columns and not t[c].type().is_numeric()]
    for c in wrong:
        problems.append(Problem(table, c, (), f"ratings are not numeric (type {t[c].type()})",
                                "convert the column to numbers on the declared scale", "wrong_type"))
    if problems:
        raise ValidationError(problems, source=table)
    checks: dict[str, ir.Value] = {"n": t.count(), "no_id": (t[ID].isnull() | (t[ID] == "")).sum(),
                                   "ids": t[ID].nunique()}
    values = {c: _value(t, c) for c in components}
    for j, c in enumerate(components):
        x = values[c]
        checks[f"out{j}"] = ((x < scale_min) | (x > scale_max) | t[c].cast("float64").isinf()).sum()
        checks[f"na{j}"] = x.isnull().sum()
    none_rated = ibis.and_(*[values[c].isnull() for c in components]) if components else ibis.literal(False)
    checks["unrated"] = none_rated.sum()
    got = t.aggregate(**checks).to_pyarrow().to_pylist()[0]
    n = int(got["n"])
    if got["no_id"]:
        problems.append(Problem(table, ID, (), f"{got['no_id']} row(s) without an account id",
                                "give every row an id or drop it", "missing_values", n_rows=int(got["no_id"])))
    if int(got["ids"]) + int(got["no_id"] or 0) < n:
        dup = t.group_by(ID).aggregate(k=t.count()).filter(ibis._.k > 1)
        first = dup.select(ID).limit(5).to_pyarrow()[ID].to_pylist()
        problems.append(Problem(table, ID, (), f"duplicated ids {first}", "keep one row per account",
                                "duplicate_id"))
    for j, c in enumerate(components):
        if got[f"out{j}"]:
            bad = values[c].notnull() & ((values[c] < scale_min) | (values[c] > scale_max))
            problems.append(Problem(
                table, c, (), f"{got[f'out{j}']} rating(s) outside the declared scale {scale_min:g}-{scale_max:g} "
                f"(first ids: {_first_ids(t, bad)})", "fix the ratings or declare the scale (scale_min, scale_max)",
                "out_of_range", n_rows=int(got[f"out{j}"])))
        if missing == "error" and got[f"na{j}"]:
            problems.append(Problem(
                table, c, (), f"missing rating in {got[f'na{j}']} row(s) (first ids: {_first_ids(t, values[c].isnull())})",
                "rate them, drop the accounts, or pass missing='reweight' to average the rated components",
                "missing_values", n_rows=int(got[f"na{j}"])))
    if got["unrated"]:
        problems.append(Problem(table, None, (), f"{got['unrated']} account(s) without any rating "
                                f"(first ids: {_first_ids(t, none_rated)})", "rate them or drop them",
                                "all_missing", n_rows=int(got["unrated"])))
    if problems:
        raise ValidationError(problems, source=table)


def join_accounts(ratings: ir.Table, *others: tuple[str, Any], on_unmatched: str = "error") -> ir.Table:
    """The engine twin of :func:`engagement_kit.dsce.scorecard.merge_accounts`: every assessed
    account must be in every other table (``on_unmatched="drop"``: dropped with a warning);
    the other tables' columns not already present are appended."""
    if on_unmatched not in ("error", "drop"):
        raise ValueError(f"on_unmatched must be 'error' or 'drop', not {on_unmatched!r}")
    out = ratings
    for name, data in others:
        other = as_accounts(data)
        counts = other.group_by(ID).aggregate(_k=other.count())
        dup = counts.filter(counts._k > 1).select(ID).limit(5).to_pyarrow()[ID].to_pylist()
        if dup:
            raise ValidationError([Problem(name, ID, (), f"duplicated ids {dup}", f"keep one row per account in {name}",
                                           "duplicate_id")], source=name)
        ids = other.select(_match=other[ID])
        absent_rows = out.left_join(ids, out[ID] == ids._match).filter(ibis._._match.isnull())
        n_absent = int(absent_rows.count().to_pyarrow().as_py())
        if n_absent:
            first = absent_rows.select(ID).limit(5).to_pyarrow()[ID].to_pylist()
            msg = f"{n_absent} assessed account(s) are absent from {name} (first: {first})"
            if on_unmatched == "error":
                fix = f"add their rows to {name}, drop them from the ratings table, or pass on_unmatched='drop'"
                raise ValidationError([Problem("dsce", ID, (), msg, fix, "unmatched_id", n_rows=n_absent)],
                                      source="dsce")
            warnings.warn(msg + "; dropped", stacklevel=3)
        extra = [c for c in other.columns if c != ID and c not in out.columns]
        right = other.select(ID, *extra).rename({"_ek_id": ID})
        out = out.inner_join(right, out[ID] == right._ek_id).drop("_ek_id")
    return out


def _targets(t: ir.Table, c: str, targets: float | Mapping[str, float] | None, scale_min: float,
             scale_max: float) -> ir.FloatingValue:
    """The target of component ``c`` as a score, as :func:`~engagement_kit.dsce.scores.target_scores`."""
    if targets is None:
        col = f"target_{c}"
        raw = _value(t, col) if col in t.columns else ibis.literal(float(scale_max))
    elif isinstance(targets, Mapping):
        raw = ibis.literal(float(targets.get(c, scale_max)))
    else:
        raw = ibis.literal(float(targets))
    return SCORE_MAX * (raw - scale_min) / (scale_max - scale_min)


def _weighted(values: list[ir.FloatingValue], present: list[ir.BooleanValue], w: np.ndarray) -> ir.FloatingValue:
    """Weighted mean over the present components, weights renormalised per row (as scores._weighted)."""
    num = sum((ibis.ifelse(p, v * float(wc), 0.0) for v, p, wc in zip(values, present, w)), ibis.literal(0.0))
    den = sum((ibis.ifelse(p, float(wc), 0.0) for p, wc in zip(present, w)), ibis.literal(0.0))
    return ibis.ifelse(den > 0, num / den, ibis.null().cast("float64"))


def _measures(t: ir.Table, *, components: list[str], weights: dict[str, Mapping[str, float]],
              targets: float | Mapping[str, float] | None, scale_min: float, scale_max: float) -> ir.Table:
    """``t`` with every measure group_summary averages as a column (NULL = missing), built in
    three stages (scores, then indexes, then gaps) so that the engine evaluates each once."""
    nothing = ibis.null().cast("float64")
    stage = t.mutate(**{f"score_{c}": SCORE_MAX * (_value(t, c) - scale_min) / (scale_max - scale_min)
                        for c in components},
                     **{f"_ek_t_{c}": _targets(t, c, targets, scale_min, scale_max) for c in components})
    scores = [stage[f"score_{c}"] for c in components]
    present = [x.notnull() for x in scores]
    chosen = np.array([float(weights["index"][c]) for c in components])
    indexes = {name: _weighted(scores, present, np.array([float(w[c]) for c in components]))
               for name, w in weights.items()}
    tscores = [ibis.ifelse(p, stage[f"_ek_t_{c}"], nothing) for p, c in zip(present, components)]
    stage = stage.mutate(**indexes, _ek_target_index=_weighted(tscores, present, chosen))
    stage = stage.mutate(gap=stage._ek_target_index - stage["index"],
                         **{f"gap_{c}": stage[f"_ek_t_{c}"] - stage[f"score_{c}"] for c in components})
    return stage.mutate(**{f"target_{c}__": stage[f"score_{c}"] + stage[f"gap_{c}"] for c in components},
                        target_index__=stage["index"] + stage["gap"])  # as group_summary: score + gap


def engine_segments(
    t: ir.Table, *, components: Iterable[str], weights: dict[str, Mapping[str, float]],
    targets: float | Mapping[str, float] | None, scale_min: float, scale_max: float,
    group_cols: Iterable[str] = (), alpha: float = 0.05,
) -> pd.DataFrame:
    """The ``dsce_segments`` table of an engine table (same rows and numbers as
    :func:`~engagement_kit.dsce.scores.group_summary` on the same accounts).

    ``weights`` maps each index column ('index' - the chosen weights - 'index_equal',
    'index_fitted') to normalised component weights.
    """
    components = list(components)
    index_cols = list(weights)
    measures = _measures(t, components=components, weights=weights, targets=targets, scale_min=scale_min,
                         scale_max=scale_max)
    score_cols, gap_cols, target_cols = measure_columns(components, index_cols)
    names = score_cols + gap_cols + target_cols
    group_cols = list(group_cols)
    # one GROUP BY over every grouping column at once; counts and sums are additive, so the
    # overall row and each grouping's rows are sums over these cells (as experiments.collapse)
    aggs: dict[str, ir.Value] = {}
    for i, m in enumerate(names):
        x = measures[m] - _SHIFT
        aggs[f"n{i}"] = measures[m].count()
        aggs[f"s{i}"] = x.sum()
        aggs[f"q{i}"] = (x * x).sum()
    cells = (measures.group_by(group_cols).aggregate(**aggs) if group_cols else measures.aggregate(**aggs)).to_pandas()
    stat_cols = [c for c in cells.columns if c not in group_cols]
    cells[stat_cols] = cells[stat_cols].astype(float).fillna(0.0)  # SUM over no value is NULL: 0 here
    rows = []
    for g in [None, *group_cols]:
        if g is not None and cells[g].isna().any():
            raise ValueError(f"group column {g!r} has missing values; fill or drop them first")
        key = np.full(len(cells), "all", dtype=object) if g is None else cells[g].astype(str).to_numpy()
        got = cells[stat_cols].groupby(key, sort=True).sum()
        n = pd.DataFrame({m: got[f"n{i}"] for i, m in enumerate(names)})
        s1 = pd.DataFrame({m: got[f"s{i}"] for i, m in enumerate(names)})
        s2 = pd.DataFrame({m: got[f"q{i}"] for i, m in enumerate(names)})
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = (_SHIFT + s1 / n).where(n > 0)
            var = ((s2 - s1 * s1 / n) / (n - 1)).clip(lower=0).where(n > 1)
        rows.append(segment_rows(g or "all", n, mean, np.sqrt(var), components=components, index_cols=index_cols,
                                 alpha=alpha))
    return pd.concat(rows, ignore_index=True)[list(SEGMENT_COLUMNS)]
