"""Validate an experiment table and reduce it to per-arm sufficient statistics, once.

Everything the experiment engine estimates (means, variances, Welch/z tests,
CUPED, ratio metrics, segment interaction tests, value, Bayesian posteriors) is
a function of the arrays built here: for every group (segment, or one group for
the whole experiment) and arm, the count ``n``, the sum and the sum of squares of
each metric, and the covariate sums, cross-products with each other and with the
metric. The reduction is ``numpy.bincount`` over integer codes (arms factorised
once), so it is one pass per statistic over the raw column and could equally run
as a ``GROUP BY`` in a database.

Example
-------
>>> import pandas as pd
>>> df = pd.DataFrame({"arm": ["a", "b", "a", "b"], "y": [1.0, 2.0, 3.0, 5.0]})
>>> agg = aggregate(df, "arm", parse_metrics({"y": "continuous"}))
>>> agg.arms, agg.stats["y"].n.tolist(), agg.stats["y"].s1.tolist()
(['a', 'b'], [[2.0, 2.0]], [[4.0, 7.0]])
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..kpis import nps_score
from ..validation import check_finite

__all__ = [
    "METRIC_KINDS",
    "MetricSpec",
    "parse_metrics",
    "factorize",
    "metric_values",
    "covariate_matrix",
    "MetricStats",
    "Aggregates",
    "aggregate",
    "codes_of",
]

#: Metric kinds understood by the engine.
METRIC_KINDS = ("binary", "continuous", "count", "nps", "ratio", "time_to_event")


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its name in the results, its kind and the column(s) it reads.

    ``column`` for binary/continuous/count/nps; ``numerator``/``denominator`` for
    ratio; ``duration``/``event`` for time_to_event.
    """

    name: str
    kind: str
    column: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    duration: str | None = None
    event: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        cols = (self.column, self.numerator, self.denominator, self.duration, self.event)
        return tuple(c for c in cols if c is not None)


def parse_metrics(metrics: dict[str, Any] | list[MetricSpec]) -> list[MetricSpec]:
    """Normalise the ``metrics`` argument.

    Accepted forms (``name -> spec``): ``"binary"`` / ``"continuous"`` / ``"count"``
    / ``"nps"`` (the column is the name); ``("ratio", numerator, denominator)``;
    ``("time_to_event", duration, event)``; or a dict such as
    ``{"kind": "ratio", "numerator": "revenue", "denominator": "sessions"}``.
    """
    if isinstance(metrics, (list, tuple)) and all(isinstance(m, MetricSpec) for m in metrics):
        return list(metrics)
    if not isinstance(metrics, dict) or not metrics:
        raise ValueError(
            "metrics must be a non-empty dict name -> kind, e.g. {'revenue': 'continuous', "
            "'retained': 'binary'}"
        )
    specs = []
    for name, spec in metrics.items():
        if isinstance(spec, str):
            kind, extra = spec, {}
        elif isinstance(spec, dict):
            extra = dict(spec)
            kind = extra.pop("kind", None)
        elif isinstance(spec, (tuple, list)) and spec:
            kind = spec[0]
            if kind == "ratio" and len(spec) == 3:
                extra = {"numerator": spec[1], "denominator": spec[2]}
            elif kind == "time_to_event" and len(spec) == 3:
                extra = {"duration": spec[1], "event": spec[2]}
            else:
                raise ValueError(
                    f"metric {name!r}: tuple specs are ('ratio', numerator, denominator) or "
                    f"('time_to_event', duration, event); got {spec!r}"
                )
        else:
            raise ValueError(f"metric {name!r}: cannot read spec {spec!r}")
        if kind not in METRIC_KINDS:
            raise ValueError(f"metric {name!r}: kind {kind!r} is not one of {METRIC_KINDS}")
        if kind == "ratio":
            if not {"numerator", "denominator"} <= set(extra):
                raise ValueError(f"ratio metric {name!r} needs a numerator and a denominator column")
            specs.append(MetricSpec(name, kind, numerator=extra["numerator"], denominator=extra["denominator"]))
        elif kind == "time_to_event":
            if not {"duration", "event"} <= set(extra):
                raise ValueError(f"time_to_event metric {name!r} needs a duration and an event column")
            specs.append(MetricSpec(name, kind, duration=extra["duration"], event=extra["event"]))
        else:
            specs.append(MetricSpec(name, kind, column=extra.get("column", name)))
    return specs


def factorize(values: pd.Series, column: str, table: str = "data") -> tuple[np.ndarray, list]:
    """Integer codes and sorted labels of a label column (arms or segments).

    Categorical columns reuse their codes (free); other columns are factorised
    once. Missing labels are an error.
    """
    s = values
    if s.isna().any():
        bad = s.isna()
        raise ValueError(
            f"{table}: column {column!r} has {int(bad.sum())} missing labels (first rows "
            f"{list(s.index[bad][:5])}); drop those rows or label them"
        )
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy()
        cats = list(s.cat.categories)
        used = np.bincount(codes, minlength=len(cats)) > 0
        if not used.all():  # drop unused categories, keep the category order
            empty = [c for c, u in zip(cats, used) if not u]
            warnings.warn(
                f"{table}: column {column!r} has categories with no rows {empty}; they are left out "
                f"(an arm with no customers cannot be compared -- if it was planned, the assignment is "
                f"broken: check it with srm(..., allocation=...))",
                stacklevel=3,
            )
            remap = np.cumsum(used) - 1
            codes = remap[codes]
            cats = [c for c, u in zip(cats, used) if u]
        return codes.astype(np.intp, copy=False), cats
    codes, uniques = pd.factorize(s, sort=True)
    return codes.astype(np.intp, copy=False), list(uniques)


def codes_of(data: Any, column: str) -> tuple[np.ndarray, list] | None:
    """:func:`factorize` of a pandas frame's column; None for a table held by an engine
    (:func:`aggregate` then groups by the column there)."""
    return factorize(data[column], column) if isinstance(data, pd.DataFrame) else None


def _numeric(data: pd.DataFrame, column: str, metric: str) -> np.ndarray:
    s = data[column]
    if pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=float, na_value=np.nan)
    if not pd.api.types.is_numeric_dtype(s):
        raise ValueError(
            f"metric {metric!r}: column {column!r} is not numeric (dtype {s.dtype}, values like "
            f"{list(s.dropna().head(3))}); convert it or declare another kind"
        )
    # inf or a value like 1e308 would not fail here but turn the sums of squares, and so
    # every SE and CI, into inf/NaN: reject them with the column and rows (ValidationError)
    check_finite(data, [column])
    return s.to_numpy(dtype=float, na_value=np.nan)


def _is_plain_int(s: pd.Series) -> bool:
    """numpy integer/bool dtype: no missing values, no fractions (validation can skip those checks)."""
    return isinstance(s.dtype, np.dtype) and s.dtype.kind in "iub"


def _binary(data: pd.DataFrame, column: str, metric: str) -> np.ndarray:
    s = data[column]
    if _is_plain_int(s):
        y = s.to_numpy(dtype=float)
        lo, hi = (y.min(), y.max()) if len(y) else (0.0, 0.0)
        if lo >= 0 and hi <= 1:  # integers within [0, 1] are 0/1
            return y
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        y = s.to_numpy(dtype=float, na_value=np.nan)
    else:
        mapped = s.astype("str").str.strip().str.lower().map(
            {"true": 1.0, "yes": 1.0, "1": 1.0, "false": 0.0, "no": 0.0, "0": 0.0}
        )
        bad = mapped.isna() & s.notna()
        if bad.any():
            raise ValueError(
                f"metric {metric!r} is declared binary but column {column!r} has values that are "
                f"not 0/1, bool or TRUE/FALSE in rows {list(s.index[bad][:5])}: "
                f"{list(s[bad].head(5))}; declare kind='continuous' or recode"
            )
        y = mapped.to_numpy(dtype=float, na_value=np.nan)
    ok = np.isnan(y) | (y == 0) | (y == 1)
    if not ok.all():
        bad = ~ok
        raise ValueError(
            f"metric {metric!r} is declared binary but column {column!r} has values other than "
            f"0/1 (e.g. {np.unique(y[bad])[:5].tolist()} in rows {list(data.index[bad][:5])}); "
            f"declare kind='continuous' or 'count'"
        )
    return y


def metric_values(data: pd.DataFrame, spec: MetricSpec) -> dict[str, np.ndarray]:
    """The per-row values of a metric as float arrays (NaN = missing), validated.

    Returns ``{"y": ...}`` for binary/continuous/count/nps (nps: the per-answer score
    +1/0/-1 of :func:`engagement_kit.kpis.nps_score`), ``{"num", "den"}`` for ratio.
    """
    for col in spec.columns:
        if col not in data.columns:
            raise KeyError(
                f"metric {spec.name!r}: column {col!r} is not in the data; columns are "
                f"{list(data.columns)}"
            )
    if spec.kind == "binary":
        return {"y": _binary(data, spec.column, spec.name)}
    if spec.kind == "continuous":
        return {"y": _numeric(data, spec.column, spec.name)}
    if spec.kind == "count":
        y = _numeric(data, spec.column, spec.name)
        if _is_plain_int(data[spec.column]):
            bad = y < 0 if y.min(initial=0) < 0 else np.zeros(0, bool)
        else:
            bad = ~np.isnan(y) & ((y < 0) | (y != np.round(y)))
        if bad.any():
            raise ValueError(
                f"metric {spec.name!r} is declared count but column {spec.column!r} has negative or "
                f"non-integer values (e.g. {np.unique(y[bad])[:5].tolist()}); declare kind='continuous'"
            )
        return {"y": y}
    if spec.kind == "nps":
        a = _numeric(data, spec.column, spec.name)
        bad = ~np.isnan(a) & ((a < 0) | (a > 10) | (a != np.round(a)))
        if bad.any():
            raise ValueError(
                f"metric {spec.name!r} is declared nps but column {spec.column!r} has values that "
                f"are not integers 0-10 (e.g. {np.unique(a[bad])[:5].tolist()} in rows "
                f"{list(data.index[bad][:5])})"
            )
        return {"y": np.where(np.isnan(a), np.nan, nps_score(np.nan_to_num(a)))}
    if spec.kind == "ratio":
        num = _numeric(data, spec.numerator, spec.name)
        den = _numeric(data, spec.denominator, spec.name)
        return {"num": num, "den": den}
    raise ValueError(f"metric {spec.name!r}: kind {spec.kind!r} has no row values here")


def covariate_matrix(data: pd.DataFrame, covariates: list[str] | None) -> np.ndarray | None:
    """Covariates as an ``(n, p)`` float array; errors for missing/non-numeric/NaN columns."""
    if not covariates:
        return None
    # stored covariate-major (p, n) and returned as its (n, p) transpose, so that each
    # column X[:, i] is contiguous for the per-column aggregation passes
    Xt = np.empty((len(covariates), len(data)))
    for i, c in enumerate(covariates):
        if c not in data.columns:
            raise KeyError(f"covariate {c!r} is not in the data; columns are {list(data.columns)}")
        s = data[c]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            raise ValueError(
                f"covariate {c!r} is not numeric (dtype {s.dtype}); one-hot encode it first "
                f"(pandas.get_dummies) or drop it"
            )
        check_finite(data, [c])  # inf / overflowing covariates break the cross-products
        x = s.to_numpy(dtype=float, na_value=np.nan)
        nan = np.isnan(x)
        if nan.all():
            raise ValueError(f"covariate {c!r} is all missing (NaN); drop it from covariates")
        if nan.any():
            raise ValueError(
                f"covariate {c!r} has {int(nan.sum())} missing values (first rows "
                f"{list(data.index[nan][:5])}); impute them (e.g. with the pre-period mean plus "
                f"a missing-indicator covariate) or drop the covariate"
            )
        Xt[i] = x
    return Xt.T


@dataclass
class MetricStats:
    """Sufficient statistics of one metric; arrays are ``(G, K)`` (groups x arms).

    ``n``: rows with a value; ``s1``/``s2``: sum and sum of squares of the value
    (ratio: of the numerator). Ratio metrics add ``d1``/``d2`` (denominator sum,
    sum of squares) and ``nd`` (sum of numerator x denominator). With covariates:
    ``sx`` ``(G, K, p)``, ``sxx`` ``(G, K, p, p)``, ``sxy`` ``(G, K, p)``.
    """

    kind: str
    n: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    d1: np.ndarray | None = None
    d2: np.ndarray | None = None
    nd: np.ndarray | None = None
    sx: np.ndarray | None = None
    sxx: np.ndarray | None = None
    sxy: np.ndarray | None = None

    @property
    def mean(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.s1 / self.n

    def var(self, ddof: int = 1) -> np.ndarray:
        """Within-cell variance of the value from the sums (``ddof`` 1 or 0)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            ss = self.s2 - self.s1 * self.s1 / self.n
            return np.maximum(ss, 0.0) / (self.n - ddof)


@dataclass
class Aggregates:
    """Per group x arm sufficient statistics of every metric (see :class:`MetricStats`)."""

    arms: list
    groups: list
    covariates: list[str]
    stats: dict[str, MetricStats] = field(default_factory=dict)
    rows: np.ndarray | None = None  # (G, K) number of rows, any metric


def _sums(codes: np.ndarray, size: int, w: np.ndarray | None) -> np.ndarray:
    return np.bincount(codes, weights=w, minlength=size).astype(float)


def _product_sums(codes: np.ndarray, size: int, a: np.ndarray, b: np.ndarray, buf: np.ndarray) -> np.ndarray:
    """Per-cell sums of ``a * b`` using a reused buffer (no 80 MB allocation per product)."""
    np.multiply(a, b, out=buf)
    return _sums(codes, size, buf)


def aggregate(
    data: pd.DataFrame,
    arm_col: str,
    metrics: list[MetricSpec],
    covariates: list[str] | None = None,
    group_col: str | None = None,
    *,
    arm_codes: tuple[np.ndarray, list] | None = None,
    group_codes: tuple[np.ndarray, list] | None = None,
) -> Aggregates:
    """Sufficient statistics of the non-survival metrics per ``group_col`` x arm.

    Rows where a metric is missing (NaN) are left out of that metric only (its
    ``n`` counts the rows used); a warning says how many. Time-to-event metrics
    are skipped here (they need the rows; see :mod:`.survival_effects`).

    For a table held by an engine, :func:`.sufficient.sufficient_statistics` dispatches to
    the same reduction run inside the engine.
    """
    if arm_col not in data.columns:
        raise KeyError(f"arm column {arm_col!r} is not in the data; columns are {list(data.columns)}")
    a_codes, arms = arm_codes or factorize(data[arm_col], arm_col)
    if group_col is None:
        g_codes, groups = np.zeros(len(data), dtype=np.intp), ["all"]
    else:
        if group_col not in data.columns:
            raise KeyError(f"segment column {group_col!r} is not in the data; columns are {list(data.columns)}")
        g_codes, groups = group_codes or factorize(data[group_col], group_col)
    K, G = len(arms), len(groups)
    shape = (G, K)
    codes = g_codes * K + a_codes if G > 1 else a_codes
    size = G * K
    X = covariate_matrix(data, covariates)
    p = 0 if X is None else X.shape[1]
    rows = _sums(codes, size, None).reshape(shape)
    buf = np.empty(len(data))
    Xc = None if X is None else [np.ascontiguousarray(X[:, i]) for i in range(p)]

    base_x: tuple | None = None

    def covariate_sums(mask_w: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        sx = np.empty((size, p))
        sxx = np.empty((size, p, p))
        for i in range(p):
            xi = Xc[i] if mask_w is None else Xc[i] * mask_w
            sx[:, i] = _sums(codes, size, xi)
            for j in range(i, p):
                sxx[:, i, j] = sxx[:, j, i] = _product_sums(codes, size, xi, Xc[j], buf)
        return sx.reshape(shape + (p,)), sxx.reshape(shape + (p, p))

    out = Aggregates(arms=arms, groups=groups, covariates=list(covariates or []), rows=rows)
    for spec in metrics:
        if spec.kind == "time_to_event":
            continue
        vals = metric_values(data, spec)
        if spec.kind == "ratio":
            num, den = vals["num"], vals["den"]
            miss = np.isnan(num) | np.isnan(den)
        else:
            y = vals["y"]
            miss = np.isnan(y)
        n_miss = int(miss.sum())
        if n_miss == len(data):
            raise ValueError(f"metric {spec.name!r} is missing (NaN) in every row")
        if n_miss:
            warnings.warn(
                f"metric {spec.name!r}: {n_miss} of {len(data)} rows have no value and are left "
                f"out of this metric (complete-case analysis)",
                stacklevel=3,
            )
            w = (~miss).astype(float)
            n = _sums(codes, size, w).reshape(shape)
        else:
            w = None
            n = rows
        if spec.kind == "ratio":
            if n_miss:
                num, den = np.where(miss, 0.0, num), np.where(miss, 0.0, den)
            ms = MetricStats(
                kind=spec.kind,
                n=n,
                s1=_sums(codes, size, num).reshape(shape),
                s2=_product_sums(codes, size, num, num, buf).reshape(shape),
                d1=_sums(codes, size, den).reshape(shape),
                d2=_product_sums(codes, size, den, den, buf).reshape(shape),
                nd=_product_sums(codes, size, num, den, buf).reshape(shape),
            )
        else:
            if n_miss:
                y = np.where(miss, 0.0, y)
            ms = MetricStats(
                kind=spec.kind,
                n=n,
                s1=_sums(codes, size, y).reshape(shape),
                s2=_product_sums(codes, size, y, y, buf).reshape(shape),
            )
            if p:
                if w is None:
                    if base_x is None:
                        base_x = covariate_sums(None)
                    ms.sx, ms.sxx = base_x
                else:
                    ms.sx, ms.sxx = covariate_sums(w)
                ms.sxy = np.stack([_product_sums(codes, size, Xc[i], y, buf) for i in range(p)], axis=-1).reshape(
                    shape + (p,)
                )
        out.stats[spec.name] = ms
    return out
