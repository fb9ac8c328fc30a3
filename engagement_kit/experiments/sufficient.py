"""The experiment's sufficient statistics computed inside the engine that holds the rows.

:mod:`.aggregate` reduces a pandas table with numpy; this module builds the same
reduction as **one Ibis expression** (a single ``GROUP BY`` arm [x segment], with counts,
sums, sums of squares and cross-products with the covariates as its aggregates), runs it
once in DuckDB, Spark or a warehouse, and returns the same :class:`.Aggregates` object, so
that every statistic downstream is computed by the same numpy code whatever the input.
Only ``groups x arms x (metrics x covariates^2)`` numbers leave the engine.

Kinds: binary, continuous, count, nps and ratio are sums. ``time_to_event`` needs the
rows (Kaplan-Meier, Cox); the entry points pull the three columns it reads when the table
has at most ``max_rows_pulled`` rows and refuse otherwise (:func:`pull_rows`).

Validation happens in the same pass: each metric's aggregates include the count of rows
breaking its kind (a binary value other than 0/1, a negative count, an NPS answer outside
0-10, inf or a magnitude above 1e100), and the arm/segment columns' missing labels come
back as a null group; errors name the column, the count and the fix.

Example
-------
>>> import pandas as pd
>>> from engagement_kit.experiments.aggregate import parse_metrics
>>> t = pd.DataFrame({"arm": ["a", "b", "a", "b"], "y": [1.0, 2.0, 3.0, 5.0]})
>>> agg = aggregate_table(t, "arm", parse_metrics({"y": "continuous"}))
>>> agg.arms, agg.stats["y"].n.tolist(), agg.stats["y"].s1.tolist()
(['a', 'b'], [[2.0, 2.0]], [[4.0, 7.0]])
"""

from __future__ import annotations

import contextlib
import contextvars
import warnings
from dataclasses import dataclass
from typing import Any, Iterator

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ..engines import MAX_ROWS_PULLED, as_table, engine_of, pull_rows
from ..validation import MAX_ABS_VALUE
from .aggregate import Aggregates, MetricSpec, MetricStats, aggregate

__all__ = ["MAX_ROWS_PULLED", "sufficient_statistics", "aggregate_table", "shared_aggregates", "pull_rows", "arm_labels", "collapse"]

_TRUE = ("true", "yes", "1")  # the spellings the pandas path accepts
_FALSE = ("false", "no", "0")


def _key(spec: MetricSpec) -> tuple:
    return (spec.kind, spec.column, spec.numerator, spec.denominator)


@dataclass(frozen=True)
class _Shared:
    table: ir.Table
    arm_col: str
    group_col: str | None
    covariates: tuple[str, ...]
    agg: Aggregates
    keys: dict  # spec key -> name in agg.stats


_SHARED: contextvars.ContextVar[_Shared | None] = contextvars.ContextVar("ek_shared_aggregates", default=None)


def _columns_of(t: ir.Table, columns, what: str) -> None:
    have = list(t.columns)
    missing = [c for c in columns if c not in have]
    if missing:
        raise KeyError(f"{what} {missing} {'is' if len(missing) == 1 else 'are'} not in the data; columns are {have}")


def _numeric(t: ir.Table, col: str, metric: str, clean: bool = True) -> tuple[ir.Value, ir.BooleanValue, bool]:
    """(value as float or int, is-present, is floating) of a numeric or boolean column; with
    ``clean=False`` NaN counts as present (the fast pass, which has proven there is none)."""
    c = t[col]
    dt = c.type()
    if dt.is_boolean():
        return c.cast("int64"), c.notnull(), False
    if dt.is_integer():
        return c.cast("int64"), c.notnull(), False
    if dt.is_floating() or dt.is_decimal():
        x = c.cast("float64")
        return x, (x.notnull() & ~x.isnan()) if clean else x.notnull(), True
    raise ValueError(f"metric {metric!r}: column {col!r} is not numeric (type {dt}); convert it or declare "
                     "another kind")


def _binary(t: ir.Table, col: str, metric: str, clean: bool = True) -> tuple[ir.Value, ir.BooleanValue, ir.BooleanValue]:
    c = t[col]
    if c.type().is_string():
        s = c.strip().lower()
        y = ibis.cases((s.isin(_TRUE), 1), (s.isin(_FALSE), 0), else_=None).cast("int64")
        return y, y.notnull(), c.notnull() & y.isnull()
    y, ok, _ = _numeric(t, col, metric, clean)
    return y, ok, ok & (y != 0) & (y != 1)


def _finite_bad(x: ir.Value, floating: bool) -> ir.BooleanValue | None:
    if not floating:
        return None
    return x.isinf() | (x.abs() > MAX_ABS_VALUE)


def _null_unless(x: ir.Value, ok: ir.BooleanValue) -> ir.Value:
    """``x`` where ``ok``, NULL elsewhere: SQL aggregates then skip the row by themselves."""
    return ibis.ifelse(ok, x, ibis.null().cast(x.type()))


def _plan(t: ir.Table, spec: MetricSpec, clean: bool = True) -> tuple[dict, dict, dict]:
    """The value columns of one metric, NULL where the value is missing or NaN (``y``, or
    ``num``/``den`` NULL together); its validation conditions (name -> per-row condition);
    and the screens (name -> (expression, low, high)) that prove most conditions false from
    a MIN and a MAX: the per-row counts then run only when a screen fails (or for the
    conditions no screen covers: fractional values in float columns, text flags).

    ``clean=False`` (the fast pass) leaves NaN in place and screens every float column's
    raw maximum |x| instead: a NaN, an inf or a huge value fails that screen, and the caller
    then redoes the pass with ``clean=True``."""
    checks: dict[str, ir.Value] = {}
    screens: dict[str, tuple] = {}

    def finite(col: str, x: ir.Value, fl: bool, ok: ir.BooleanValue) -> None:
        bad = _finite_bad(x, fl)
        if bad is None:
            return
        checks[f"finite:{col}"] = ok & bad  # on present values only: Spark orders NaN above every number
        screens[f"finite:{col}"] = ((_null_unless(x, ok) if clean else x).abs(), None, MAX_ABS_VALUE)

    if spec.kind == "ratio":  # always cleaned: num and den must be NULL together
        num, ok_n, fl_n = _numeric(t, spec.numerator, spec.name)
        den, ok_d, fl_d = _numeric(t, spec.denominator, spec.name)
        for col, x, fl, ok in ((spec.numerator, num, fl_n, ok_n), (spec.denominator, den, fl_d, ok_d)):
            finite(col, x, fl, ok)
        ok = ok_n & ok_d
        return {"num": _null_unless(num, ok), "den": _null_unless(den, ok)}, checks, screens
    if spec.kind == "binary":
        c = t[spec.column]
        y, ok, bad = _binary(t, spec.column, spec.name, clean)
        if not c.type().is_boolean():
            checks["kind"] = bad
            if c.type().is_integer():
                screens["kind"] = (y, 0, 1)
        if c.type().is_floating():
            finite(spec.column, y, True, ok)
        return {"y": _null_unless(y, ok) if c.type().is_floating() and clean else y}, checks, screens
    y, ok, fl = _numeric(t, spec.column, spec.name, clean)
    finite(spec.column, y, fl, ok)
    if spec.kind == "count":
        checks["kind"] = ok & ((y < 0) | (y != y.floor()) if fl else (y < 0))
        if not fl:
            screens["kind"] = (y, 0, None)
    elif spec.kind == "nps":
        checks["kind"] = ok & ((y < 0) | (y > 10) | (y != y.floor()) if fl else (y < 0) | (y > 10))
        if not fl:
            screens["kind"] = (y, 0, 10)
        y = ibis.cases((y >= 9, 1), (y <= 6, -1), else_=0).cast("int64")
    return {"y": _null_unless(y, ok) if ((fl and clean) or spec.kind == "nps") else y}, checks, screens


_KIND_FIX = {
    "binary": "values that are not 0/1, bool or TRUE/FALSE; declare kind='continuous' or recode",
    "count": "negative or non-integer values; declare kind='continuous'",
    "nps": "values that are not integers 0-10; recode the answers",
}


def _check(spec: MetricSpec, name: str, bad: int, source: str) -> None:
    if not bad:
        return
    if name == "kind":
        raise ValueError(f"{source}: metric {spec.name!r} is declared {spec.kind} but column "
                         f"{spec.columns[0]!r} has {bad} rows with {_KIND_FIX[spec.kind]}")
    col = name.split(":", 1)[1]
    raise ValueError(f"{source}: column {col!r} (metric {spec.name!r}) has {bad} rows holding inf or a magnitude "
                     f"above {MAX_ABS_VALUE:g}, which overflow the sums of squares; filter or fix those rows in "
                     "the engine (e.g. a WHERE on the column) and rerun")


def _labels(values: pd.Series, column: str, source: str) -> list:
    if values.isna().any():
        raise ValueError(f"{source}: column {column!r} has missing labels; drop those rows or label them")
    return sorted(values.unique().tolist())


def _screen_holds(res: pd.DataFrame, key: str, lo: float | None, hi: float | None) -> bool:
    """Whether every group's MIN/MAX of screen ``key`` lies in [lo, hi]; a NaN fails (any
    comparison with NaN is false)."""
    for bound, side, ok in ((lo, "min", np.greater_equal), (hi, "max", np.less_equal)):
        if bound is not None and not np.all(ok(pd.to_numeric(res[f"{side}_{key}"]).to_numpy(float), bound)):
            return False
    return True


def _zero_nulls(res: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return res.fillna({c: 0 for c in res.columns if c not in keys})


def _group_pass(t: ir.Table, keys: list[str], indexed: list[tuple[int, MetricSpec]], covs: list[str],
                source: str, *, fast: bool) -> pd.DataFrame | None:
    """One ``GROUP BY keys`` of every sum the metrics need (columns ``m{m}_n``, ``m{m}_s1``, ...,
    ``m{m}_sx{i}``, ``m{m}_sxy{i}``, ``m{m}_sxx{i}_{j}``), validated.

    The **fast** pass assumes the common case, proven by its own MIN/MAX screens: no NaN, inf
    or huge value and no missing covariate. It skips the NaN-to-NULL cleaning and sums the
    covariates once over all rows rather than once per metric (exact when the metric has no
    missing value; the caller redoes the metrics that have). It returns None when a screen
    fails. The **exact** pass cleans every value, restricts each covariate sum to the metric's
    rows by adding ``0 * y`` (NULL when y is NULL) and, if a screen fails, counts the
    offending rows in a second query so that the error names them.
    """
    cols: dict[str, ir.Value] = {k: t[k] for k in keys}
    diagnose: dict[str, ir.Value] = {}  # every per-row condition, counted only if a screen fails
    screened: dict[str, tuple] = {}
    for i, c in enumerate(covs):
        x = t[c].cast("float64")
        cols[f"x{i}"] = x if fast else _null_unless(x, ~x.isnan())
        diagnose[f"cov_missing_{i}"] = x.isnull() | x.isnan()
        diagnose[f"cov_bad_{i}"] = x.notnull() & ~x.isnan() & (x.isinf() | (x.abs() > MAX_ABS_VALUE))
        screened[f"cov_bad_{i}"] = (cols[f"x{i}"].abs(), None, MAX_ABS_VALUE)
    checks: dict[str, tuple[MetricSpec, str]] = {}
    for m, spec in indexed:
        vals, cks, screens = _plan(t, spec, clean=not fast)
        for name, cond in cks.items():
            key = f"chk_{m}_{len(checks)}"
            checks[key] = (spec, name)
            diagnose[key] = cond
            if name in screens:
                screened[key] = screens[name]
            else:  # no MIN/MAX screen proves it: counted in the main pass
                cols[key] = cond
        for v, e in vals.items():
            cols[f"m{m}_{v}"] = e
    for key, (expr, _, _) in screened.items():
        cols[f"scr_{key}"] = expr
    u = t.select(**cols)
    aggs: dict[str, ir.Value] = {"rows": u.count()}
    aggs |= {c: u[c].cast("int64").sum() for c in cols if c.startswith("chk_")}
    for key in screened:
        _, lo, hi = screened[key]
        # an empty group's NULL becomes a passing bound inside the engine, so that whatever
        # comes back as NaN or NULL (Spark's transfer turns NaN into NULL) is a NaN value: fails
        if lo is not None:
            aggs[f"min_{key}"] = ibis.coalesce(u[f"scr_{key}"].min(), lo)
        if hi is not None:
            aggs[f"max_{key}"] = ibis.coalesce(u[f"scr_{key}"].max(), hi)
    X = [u[f"x{i}"] for i in range(len(covs))]
    aggs |= {f"cov_present_{i}": x.count() for i, x in enumerate(X)}
    if fast:
        for i, xi in enumerate(X):
            aggs[f"cx{i}"] = xi.sum()
            aggs |= {f"cxx{i}_{j}": (xi * X[j]).sum() for j in range(i, len(X))}
    for m, spec in indexed:
        if spec.kind == "ratio":
            num, den = u[f"m{m}_num"], u[f"m{m}_den"]
            aggs |= {f"m{m}_n": num.count(), f"m{m}_s1": num.sum(), f"m{m}_s2": (num * num).sum(),
                     f"m{m}_d1": den.sum(), f"m{m}_d2": (den * den).sum(), f"m{m}_nd": (num * den).sum()}
            continue
        y = u[f"m{m}_y"]
        aggs |= {f"m{m}_n": y.count(), f"m{m}_s1": y.sum(), f"m{m}_s2": (y * y).sum()}
        aggs |= {f"m{m}_sxy{i}": (xi * y).sum() for i, xi in enumerate(X)}
        if not fast:
            zero = y * 0
            for i, xi in enumerate(X):
                aggs[f"m{m}_sx{i}"] = (xi + zero).sum()
                aggs |= {f"m{m}_sxx{i}_{j}": (xi * X[j] + zero).sum() for j in range(i, len(X))}
    res = u.group_by(keys).aggregate(**aggs).execute()
    if fast and not all(_screen_holds(res, key, lo, hi) for key, (_, lo, hi) in screened.items()):
        return None
    for c in res.columns:
        if c not in keys:
            res[c] = pd.to_numeric(res[c])
    if fast:
        if any(res[f"cov_present_{i}"].sum() < res["rows"].sum() for i in range(len(covs))):
            return None
        res = _zero_nulls(res, keys)
        for m, spec in indexed:
            if spec.kind != "ratio":
                for i in range(len(covs)):
                    res[f"m{m}_sx{i}"] = res[f"cx{i}"]
                    for j in range(i, len(covs)):
                        res[f"m{m}_sxx{i}_{j}"] = res[f"cxx{i}_{j}"]
    else:
        res = _zero_nulls(res, keys)  # an empty masked sum is NULL in SQL
        failed = [key for key, (_, lo, hi) in screened.items() if not _screen_holds(res, key, lo, hi)]
        failed += [f"cov_missing_{i}" for i in range(len(covs)) if res[f"cov_present_{i}"].sum() < res["rows"].sum()]
        if failed:  # a screen failed: count the offending rows exactly (a second query, only now)
            counts = t.aggregate(**{k: c.cast("int64").sum() for k, c in diagnose.items()}).execute()
            res = res.assign(**{k: [int(counts[k].iloc[0] or 0)] + [0] * (len(res) - 1) for k in diagnose})
    res = res.assign(**{k: 0 for k in diagnose if k not in res.columns})
    for key, (spec, name) in checks.items():
        _check(spec, name, int(res[key].sum()), source)
    for i, c in enumerate(covs):
        if res[f"cov_bad_{i}"].sum():
            raise ValueError(f"{source}: covariate {c!r} has {int(res[f'cov_bad_{i}'].sum())} rows holding inf or a "
                             f"magnitude above {MAX_ABS_VALUE:g}; fix them or drop the covariate")
        miss = int(res[f"cov_missing_{i}"].sum())
        if miss == int(res["rows"].sum()):
            raise ValueError(f"{source}: covariate {c!r} is all missing (NaN); drop it from covariates")
        if miss:
            raise ValueError(f"{source}: covariate {c!r} has {miss} missing values; impute them (e.g. with the "
                             "pre-period mean plus a missing-indicator covariate) or drop the covariate")
    return res


def aggregate_table(
    data: Any,
    arm_col: str,
    metrics: list[MetricSpec],
    covariates: list[str] | None = None,
    group_col: str | None = None,
    *,
    table: str | None = None,
) -> Aggregates:
    """:func:`.aggregate` of any table (pandas, Ibis, DuckDB relation, Spark, path), run in its engine.

    One ``GROUP BY`` over ``arm_col`` (x ``group_col``); time_to_event metrics are left
    out (they need the rows). Within :func:`shared_aggregates` a request that the shared
    aggregates cover is answered from them without touching the engine.
    """
    shared = _SHARED.get()
    if shared is not None and (data is shared.table or data is shared.agg) and shared.arm_col == arm_col:
        sub = _from_shared(shared, metrics, covariates, group_col)
        if sub is not None:
            return sub
    t = as_table(data, table=table)
    source = f"data ({engine_of(data)})"
    specs = [s for s in metrics if s.kind != "time_to_event"]
    covs = list(covariates or [])
    _columns_of(t, [arm_col] + ([group_col] if group_col else []), "arm/segment column")
    _columns_of(t, [c for s in specs for c in s.columns], "metric column")
    _columns_of(t, covs, "covariate")
    keys = [arm_col] + ([group_col] if group_col else [])
    for c in covs:
        dt = t[c].type()
        if not (dt.is_numeric() or dt.is_boolean()):
            raise ValueError(f"{source}: covariate {c!r} is not numeric (type {dt}); one-hot encode it first or drop it")
    indexed = list(enumerate(specs))
    res = _group_pass(t, keys, indexed, covs, source, fast=True)
    if res is None:  # a NaN, inf, huge value or missing covariate: the exact pass names it
        res = _group_pass(t, keys, indexed, covs, source, fast=False)
    elif covs:
        # the fast pass summed the covariates over all rows; a metric with missing values
        # needs them over its own rows: one more pass for those metrics only
        total = res["rows"].sum()
        incomplete = [(m, spec) for m, spec in indexed if res[f"m{m}_n"].sum() < total]
        if incomplete:
            masked = _group_pass(t, keys, incomplete, covs, source, fast=False)
            redo = [c for c in masked.columns if c.startswith(tuple(f"m{m}_" for m, _ in incomplete))]
            res = res.drop(columns=redo).merge(masked[keys + redo], on=keys, how="left")
    arms = _labels(res[arm_col], arm_col, source)
    groups = _labels(res[group_col], group_col, source) if group_col else ["all"]
    K, G = len(arms), len(groups)
    k_idx = res[arm_col].map({a: k for k, a in enumerate(arms)}).to_numpy()
    g_idx = res[group_col].map({g: i for i, g in enumerate(groups)}).to_numpy() if group_col else np.zeros(len(res), int)

    def cells(col: str) -> np.ndarray:
        out = np.zeros((G, K))
        np.add.at(out, (g_idx, k_idx), res[col].to_numpy(dtype=float))
        return out

    rows = cells("rows")
    out = Aggregates(arms=arms, groups=groups, covariates=covs, rows=rows)
    p = len(covs)
    total = int(rows.sum())
    for m, spec in enumerate(specs):
        n = cells(f"m{m}_n")
        n_miss = total - int(n.sum())
        if n_miss == total:
            raise ValueError(f"metric {spec.name!r} is missing (NaN) in every row")
        if n_miss:
            warnings.warn(f"metric {spec.name!r}: {n_miss} of {total} rows have no value and are left out of this "
                          "metric (complete-case analysis)", stacklevel=3)
        ms = MetricStats(kind=spec.kind, n=n, s1=cells(f"m{m}_s1"), s2=cells(f"m{m}_s2"))
        if spec.kind == "ratio":
            ms.d1, ms.d2, ms.nd = cells(f"m{m}_d1"), cells(f"m{m}_d2"), cells(f"m{m}_nd")
        elif p:
            ms.sx = np.stack([cells(f"m{m}_sx{i}") for i in range(p)], axis=-1)
            ms.sxy = np.stack([cells(f"m{m}_sxy{i}") for i in range(p)], axis=-1)
            sxx = np.empty((G, K, p, p))
            for i in range(p):
                for j in range(i, p):
                    sxx[..., i, j] = sxx[..., j, i] = cells(f"m{m}_sxx{i}_{j}")
            ms.sxx = sxx
        out.stats[spec.name] = ms
    return out


def sufficient_statistics(
    data: Any,
    arm_col: str,
    metrics: list[MetricSpec],
    covariates: list[str] | None = None,
    group_col: str | None = None,
    *,
    arm_codes: tuple[np.ndarray, list] | None = None,
    group_codes: tuple[np.ndarray, list] | None = None,
) -> Aggregates:
    """:func:`.aggregate` (numpy) for a pandas frame, :func:`aggregate_table` (in the engine) otherwise."""
    if isinstance(data, pd.DataFrame):
        return aggregate(data, arm_col, metrics, covariates, group_col, arm_codes=arm_codes, group_codes=group_codes)
    return aggregate_table(data, arm_col, metrics, covariates, group_col)


def collapse(agg: Aggregates) -> Aggregates:
    """The aggregates summed over groups: one group ``all`` (the whole experiment)."""
    out = Aggregates(arms=agg.arms, groups=["all"], covariates=agg.covariates,
                     rows=None if agg.rows is None else agg.rows.sum(axis=0, keepdims=True))
    for name, ms in agg.stats.items():
        out.stats[name] = MetricStats(**{f: (v.sum(axis=0, keepdims=True) if isinstance(v, np.ndarray) else v)
                                         for f, v in vars(ms).items()})
    return out


def _from_shared(shared: _Shared, metrics, covariates, group_col) -> Aggregates | None:
    if group_col not in (None, shared.group_col) or not set(covariates or []) <= set(shared.covariates):
        return None
    base = shared.agg if group_col == shared.group_col else collapse(shared.agg)
    idx = [shared.covariates.index(c) for c in covariates or []]
    out = Aggregates(arms=base.arms, groups=base.groups, covariates=list(covariates or []), rows=base.rows)
    for spec in metrics:
        if spec.kind == "time_to_event":
            continue
        name = shared.keys.get(_key(spec))
        if name is None:
            return None
        ms = base.stats[name]
        fields = dict(vars(ms))
        if ms.sx is not None:
            if idx:
                fields.update(sx=ms.sx[..., idx], sxy=ms.sxy[..., idx], sxx=ms.sxx[..., idx, :][..., idx])
            else:
                fields.update(sx=None, sxy=None, sxx=None)
        out.stats[spec.name] = MetricStats(**fields)
    return out


@contextlib.contextmanager
def shared_aggregates(
    data: Any, *, arm_col: str, metrics: list[MetricSpec], covariates: list[str] | None = None,
    group_col: str | None = None,
) -> Iterator[Aggregates]:
    """Compute the aggregates of ``metrics`` once; within the block every :func:`aggregate_table`
    call on the same ``data`` that they cover (any subset of metrics and covariates, the same
    ``group_col`` or none) is answered from them: one engine pass for a whole experiment."""
    uniq: dict[tuple, MetricSpec] = {}
    for s in metrics:
        if s.kind != "time_to_event":
            uniq.setdefault(_key(s), s)
    names: list[str] = []  # the user's names where unique (they appear in error messages)
    for s in uniq.values():
        names.append(s.name if s.name not in names else f"{s.name} ({s.kind} {', '.join(s.columns)})")
    named = [MetricSpec(n, s.kind, s.column, s.numerator, s.denominator) for n, s in zip(names, uniq.values())]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the building blocks warn again about what they use
        agg = aggregate_table(data, arm_col, named, covariates, group_col)
    token = _SHARED.set(_Shared(data, arm_col, group_col, tuple(covariates or []), agg,
                                dict(zip(uniq, names))))
    try:
        yield agg
    finally:
        _SHARED.reset(token)


def arm_labels(data: Any, arm_col: str) -> tuple[list, np.ndarray]:
    """Sorted arm labels and customers per arm of an engine table (shared aggregates if any)."""
    agg = aggregate_table(data, arm_col, [])
    return agg.arms, agg.rows.sum(axis=0)
