"""Peeking-safe monitoring: confidence sequences, mixture SPRT and group-sequential looks.

:func:`sequential` analyses a running (or finished) experiment at a series of looks: the
customers assigned up to each cut-off time. The data are reduced once: every row gets the
index of the first look that includes it, :func:`.aggregate.aggregate` sums counts, sums,
sums of squares (and covariate cross-products) per look x arm, and a cumulative sum over
looks gives every look's sufficient statistics. On a table held by an engine (DuckDB,
Spark, a warehouse) the look index is a ``CASE`` and the sums one ``GROUP BY`` arm x look
inside the engine (:func:`.sufficient.aggregate_table`); only the cumulative sums over the
small result run here. The statistics are the pure functions of
:mod:`engagement_kit.stats.sequential`.

Methods (``method``)
--------------------
- ``confidence_sequence`` (default): the asymptotic confidence sequence of Waudby-Smith et
  al. (2024) for the difference in means (binary, continuous, count; NPS as the difference
  of the +1/0/-1 scores, i.e. promoter share minus detractor share, with the multinomial
  variance ``pP + pD - (pP - pD)^2``), tuned to be narrowest at the planned sample size.
  Valid at every look, however many, whenever you look.
- ``msprt``: Johari et al.'s normal-mixture SPRT with mixing variance ``tau^2`` on the effect
  scale (binary and continuous; binary through the normal approximation).
- ``group_sequential``: Lan-DeMets alpha spending (``spending="obf"`` or ``"pocock"``) at the
  looks' information fractions ``(n_arm + n_control) / (2 planned_n)``; valid for looks
  planned in advance; the interval is the repeated confidence interval ``estimate +- c_k se``
  and the p-value the repeated p-value.

With ``covariates`` the estimate is CUPED-adjusted: ``y - theta'(x - mean x)`` with ``theta``
from the pooled within-arm regression on the data up to that look (the same
:func:`.tests.cuped_moments` as the fixed-horizon analysis). Valid because ``theta_t``
converges to the population coefficient ``theta*`` and the adjusted difference with
``theta_t`` differs from the one with ``theta*`` by ``(theta_t - theta*)'(mean x_arm -
mean x_control)``: randomisation makes the covariate difference ``O(sqrt(log log t / t))``
(law of the iterated logarithm), so the error is ``o(sqrt(log log t / t))``, smaller
than the width of the confidence sequence, which is what the time-uniform
strong approximation needs (Waudby-Smith et al. 2024, Section 3; the regression-adjusted
sequences of Lindon, Ham, Tingley and Bojinov 2022 reach the same estimator by another
route). The calibration is checked by simulation in ``tests/test_sequential.py``.

Multiplicity: ``correction`` (holm, fdr_bh, bonferroni, none) adjusts the anytime-valid
p-values over arms x metrics within each look (``p_adjusted``). Holm and Bonferroni on
anytime-valid p-values control the family-wise error over all looks together (a false
rejection at any look needs some true null's running-minimum p below ``alpha/m``). The
intervals are simultaneous over the ``m`` comparisons: level ``alpha/m`` unless
``correction="none"``.

Output tables
-------------
- ``sequential.csv``: ``look, time, metric, arm, control, n_arm, n_control, estimate,
  cs_low, cs_high, p_value, decision`` then ``p_adjusted, se, information,
  fixed_horizon_p, method``. One row per look x metric x arm. ``estimate`` = mean_arm -
  mean_control (NPS in points); ``cs_low, cs_high`` the running intersection of the
  intervals so far; ``p_value`` the anytime-valid (running-minimum) p-value; ``decision``:
  ``continue``, ``stop: better`` (arm higher than control), ``stop: worse`` or, with
  ``futility``, ``stop: futile`` (the interval lies inside ``(-futility, futility)``);
  ``information`` = customers so far / planned; ``fixed_horizon_p`` the ordinary z-test
  p-value at that look, valid only at the planned end.
- ``boundaries.csv`` (``group_sequential`` only): ``look, time, metric, arm, control,
  information, alpha_spent, z_boundary, estimate_boundary``.

Example
-------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> df = pd.DataFrame({"arm": rng.choice(["a", "b"], 4000), "day": rng.integers(0, 28, 4000),
...                    "y": rng.normal(size=4000)})
>>> r = sequential(df, arm_col="arm", control="a", metrics={"y": "continuous"}, time_col="day", looks=4)
>>> r.tables()["sequential"][["look", "n_arm", "decision"]].to_dict("list")["decision"]
['continue', 'continue', 'continue', 'continue']
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy import stats

from ..engines import as_table, is_in_memory
from ..frameworks import value_label
from ..i18n import check_language, translate
from ..markdown import escape
from ..privacy import MIN_CELL_SIZE, check_min_cell_size
from ..results import Result
from ..stats import sequential as sq
from ..stats.multitest import adjust, check_method
from .aggregate import Aggregates, MetricStats, aggregate, factorize, parse_metrics
from .sufficient import aggregate_table
from .tests import cuped_moments

__all__ = ["SEQUENTIAL_COLUMNS", "BOUNDARY_COLUMNS", "METHODS", "SequentialResult", "sequential"]

SEQUENTIAL_COLUMNS = [
    "look", "time", "metric", "arm", "control", "n_arm", "n_control", "estimate", "cs_low", "cs_high",
    "p_value", "decision",
]  # fmt: skip
BOUNDARY_COLUMNS = [
    "look", "time", "metric", "arm", "control", "information", "alpha_spent", "z_boundary", "estimate_boundary",
]  # fmt: skip
METHODS = ("confidence_sequence", "msprt", "group_sequential")
_KINDS = {
    "confidence_sequence": ("binary", "continuous", "count", "nps"),
    "group_sequential": ("binary", "continuous", "count", "nps"),
    "msprt": ("binary", "continuous"),
}
_LABELS = ("look", "time", "metric", "arm", "control")


@dataclasses.dataclass(frozen=True, eq=False)
class SequentialResult(Result):
    """The monitored experiment: ``tables()`` -> ``sequential`` (and ``boundaries`` for
    ``group_sequential``); ``conclusions()`` says per metric x arm whether it may stop."""

    sequential: pd.DataFrame
    boundaries: pd.DataFrame | None
    method: str
    alpha: float
    correction: str
    min_cell_size: int = MIN_CELL_SIZE
    skipped: tuple[str, ...] = ()

    COLUMNS: ClassVar[dict[str, list[str]]] = {"sequential": SEQUENTIAL_COLUMNS, "boundaries": BOUNDARY_COLUMNS}
    CELLS: ClassVar[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
        "sequential": (("n_arm", "n_control"), _LABELS),
    }

    def conclusions(self, language: str = "en") -> str:
        """Per metric x arm: may the experiment stop, at which look, and why (Markdown, in
        ``language``)."""
        lang = check_language(language)
        table = self.tables()["sequential"]
        name = translate(f"sequential.method_{self.method}", lang)
        lines = [translate("sequential.heading", lang, method=name, alpha=f"{self.alpha:g}",
                           correction=escape(self.correction))]  # fmt: skip
        if len(table) == 0:
            lines.append(translate("sequential.no_comparison", lang))
        last_look = table["look"].max() if len(table) else 0
        for (metric, arm), rows in table.groupby(["metric", "arm"], sort=False):
            rows = rows.sort_values("look")
            label = translate("sequential.comparison", lang, metric=escape(value_label(metric, lang)),
                              arm=escape(value_label(arm, lang)),
                              control=escape(value_label(rows["control"].iloc[0], lang)))  # fmt: skip
            if rows["suppressed"].fillna(False).astype(bool).all():
                continue  # too few customers to say anything; the small-cell note counts it
            stop = rows[rows["decision"].astype(str).str.startswith("stop")]
            final = rows.iloc[-1]
            interval = f"[{final['cs_low']:.4g}, {final['cs_high']:.4g}]"
            figures = {"estimate": f"{final['estimate']:+.4g}", "interval": interval, "p": f"{final['p_adjusted']:.3g}"}
            if len(stop):
                first = stop.iloc[0]
                lines.append("- " + translate(
                    "sequential.may_stop", lang, comparison=label, look=int(first["look"]),
                    when=escape(_when(first["time"])), reason=_reason(first["decision"][6:], lang), last=int(last_look),
                    **figures))  # fmt: skip
            else:
                lines.append("- " + translate("sequential.go_on", lang, comparison=label, **figures))
        lines.append("\n" + translate("sequential.simultaneous", lang))
        lines.append(translate("sequential.anytime_valid", lang))
        if self.method == "group_sequential":
            lines.append(translate("sequential.planned_looks", lang))
        note = self.small_cell_note(lang)
        if note:
            lines.append(note)
        lines += ["- " + translate("sequential.skipped", lang, line=escape(s)) for s in self.skipped]
        return "\n".join(lines)


def _reason(word: str, language: str) -> str:
    """Why a comparison may stop (``better``, ``worse``, ``futile``) in ``language``."""
    if word in ("better", "worse", "futile"):
        return translate(f"sequential.reason_{word}", language)
    return escape(word)


def _times(data: pd.DataFrame, time_col: str) -> tuple[np.ndarray, bool]:
    if time_col not in data.columns:
        raise KeyError(f"time column {time_col!r} is not in the data; columns are {list(data.columns)}")
    s = data[time_col]
    if s.isna().any():
        raise ValueError(f"time column {time_col!r} has {int(s.isna().sum())} missing values; drop or fill them")
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(float), True
    if not pd.api.types.is_numeric_dtype(s):
        raise ValueError(f"time column {time_col!r} must be a date/time or a number, not {s.dtype}")
    return s.to_numpy(dtype=float), False


def _cutoffs(tv: np.ndarray, looks: Any, is_time: bool) -> np.ndarray:
    if looks is None:
        looks = 10
    if isinstance(looks, (int, np.integer)) and not isinstance(looks, bool):
        if looks < 1:
            raise ValueError(f"looks must be at least 1; got {looks}")
        lo, hi = float(tv.min()), float(tv.max())
        cuts = lo + (hi - lo) * np.arange(1, looks + 1) / looks
        if is_time:  # whole seconds (the last look still holds the latest customer)
            cuts = np.ceil(cuts / 1e9) * 1e9
        return cuts
    values = pd.Series(list(looks))
    cuts = (pd.to_datetime(values).to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(float)
            if is_time else values.to_numpy(dtype=float))  # fmt: skip
    if len(cuts) == 0 or np.any(np.diff(cuts) <= 0):
        raise ValueError(f"looks must be increasing cut-off times; got {list(looks)}")
    return cuts


def engine_time(t: ir.Table, time_col: str) -> tuple[ir.Value, bool] | None:
    """``time_col`` of an engine table as a timestamp (True) or float (False) expression;
    None for a column the engine would have to parse (text)."""
    if time_col not in t.columns:
        raise KeyError(f"time column {time_col!r} is not in the data; columns are {list(t.columns)}")
    x = t[time_col]
    dt = x.type()
    if dt.is_timestamp():
        return x, True
    if dt.is_date():
        return x.cast("timestamp"), True
    if dt.is_numeric() or dt.is_boolean():
        return x.cast("float64"), False
    return None


def time_range(t: ir.Table, time_col: str) -> tuple[Any, Any, int]:
    """First and last time of an engine table's ``time_col`` and its missing values (NULL or
    NaN), in one pass inside the engine."""
    timed = engine_time(t, time_col)
    if timed is None:
        raise ValueError(f"time column {time_col!r} must be a date/time or a number, not {t[time_col].type()}; "
                         "cast it in the engine")
    x, is_time = timed
    missing = x.isnull() if is_time else x.isnull() | x.isnan()
    present = x if is_time else ibis.ifelse(missing, ibis.null().cast("float64"), x)
    r = t.aggregate(lo=present.min(), hi=present.max(), missing=missing.cast("int64").sum()).execute()
    return r["lo"].iloc[0], r["hi"].iloc[0], int(r["missing"].fillna(0).iloc[0])


def _ns(value: Any) -> float:
    """A time from the engine as float nanoseconds since the epoch (UTC), as :func:`_times` reads it."""
    return float(pd.Timestamp(value).value)


def _looks_in_engine(t: ir.Table, arm_col: str, specs: list, covariates, time_col: str,
                     looks: Any) -> tuple[Aggregates, np.ndarray, bool]:
    """Per look x arm sufficient statistics of an engine table: the look of every row
    (the first cut-off at or after its time, as ``np.searchsorted(side="left")``) is a
    ``CASE`` inside the engine and the sums one ``GROUP BY`` arm x look there
    (:func:`.sufficient.aggregate_table`); only ``looks x arms x metrics`` numbers come back.
    Rows after the last cut-off form one more group, dropped here."""
    timed = engine_time(t, time_col)
    if timed is None:
        raise ValueError(f"time column {time_col!r} must be a date/time or a number, not {t[time_col].type()}; "
                         "cast it in the engine (e.g. CAST(... AS TIMESTAMP))")
    x, is_time = timed
    if looks is not None and not isinstance(looks, (int, np.integer)):
        cuts = _cutoffs(np.empty(0), looks, is_time)  # given cut-offs: no pass for the first/last time
    else:
        lo, hi, missing = time_range(t, time_col)
        if missing:
            raise ValueError(f"time column {time_col!r} has {missing} missing values; drop or fill them")
        cuts = _cutoffs(np.array([_ns(lo), _ns(hi)]) if is_time else np.array([float(lo), float(hi)]), looks, is_time)
    K = len(cuts)
    tz = getattr(x.type(), "timezone", None)
    if is_time:
        lits = [ibis.literal(pd.Timestamp(int(c), tz="UTC" if tz else None), type=x.type()) for c in cuts]
    else:
        lits = [ibis.literal(float(c), type="float64") for c in cuts]
    # missing times form the group K + 1, rows after the last cut-off the group K
    missing = x.isnull() if is_time else x.isnull() | x.isnan()
    look = ibis.cases((missing, K + 1), *[(x <= lit, k) for k, lit in enumerate(lits)], else_=K).cast("int64")
    name = "_ek_look"
    while name in t.columns:
        name += "_"
    agg = aggregate_table(t.mutate(**{name: look}), arm_col, specs, covariates, group_col=name)
    groups = [int(g) for g in agg.groups]
    if K + 1 in groups:
        n_missing = int(agg.rows[groups.index(K + 1)].sum())
        raise ValueError(f"time column {time_col!r} has {n_missing} missing values; drop or fill them")
    return _on_looks(agg, K), cuts, is_time


def look_times(lo: Any, hi: Any, looks: int | None, is_time: bool) -> list:
    """The cut-offs of ``looks`` equally spaced looks between the first time ``lo`` and the
    last ``hi`` (as :func:`sequential` places them), as a list of times it accepts."""
    ends = np.array([_ns(lo), _ns(hi)]) if is_time else np.array([float(lo), float(hi)])
    cuts = _cutoffs(ends, looks, is_time)
    return list(pd.to_datetime(cuts.astype(np.int64))) if is_time else [float(c) for c in cuts]


def _on_looks(agg: Aggregates, K: int) -> Aggregates:
    """``agg`` with one group per look ``0..K-1`` (zeros for a look without customers)."""
    where = [(i, int(g)) for i, g in enumerate(agg.groups) if int(g) < K]

    def fill(a: np.ndarray | None) -> np.ndarray | None:
        if a is None:
            return None
        out = np.zeros((K,) + a.shape[1:])
        for i, g in where:
            out[g] = a[i]
        return out

    out = Aggregates(arms=agg.arms, groups=list(range(K)), covariates=agg.covariates, rows=fill(agg.rows))
    for name, ms in agg.stats.items():
        out.stats[name] = MetricStats(**{f: (fill(v) if isinstance(v, np.ndarray) else v) for f, v in vars(ms).items()})
    return out


def _when(time: Any) -> str:
    """A look's time for people: a number to 4 significant digits, a timestamp to the second."""
    if isinstance(time, (int, float, np.integer, np.floating)):
        return f"{float(time):.4g}"
    try:
        return pd.Timestamp(time).strftime("%Y-%m-%d %H:%M:%S").removesuffix(" 00:00:00")
    except (TypeError, ValueError):
        return str(time)


def _tau2(tau: Any, metric: str) -> float | None:
    if tau is None:
        return None
    value = tau.get(metric) if isinstance(tau, dict) else tau
    return None if value is None else float(value) ** 2


def sequential(
    data: Any,
    *,
    arm_col: str,
    control: Any,
    metrics: dict,
    time_col: str,
    looks: int | list | None = None,
    alpha: float = 0.05,
    method: str = "confidence_sequence",
    covariates: list[str] | None = None,
    correction: str = "holm",
    planned_n: int | None = None,
    futility: float | dict | None = None,
    spending: str = "obf",
    tau: float | dict | None = None,
    min_cell_size: int = MIN_CELL_SIZE,
) -> SequentialResult:
    """Monitor an experiment at ``looks``: anytime-valid intervals, p-values and decisions.

    ``data``: one row per customer, a pandas DataFrame or a table held by an engine (Ibis
    table, DuckDB relation, PySpark DataFrame, path): there every row's look is a ``CASE``
    on ``time_col`` and the per look x arm sums one ``GROUP BY`` inside the engine (plus one
    pass for the first and last time); the cumulative sums over looks run here in numpy,
    so no row leaves the engine.
    ``time_col``: each customer's assignment (or observation) time, a date/time or a number.
    ``looks``: a list of cut-off times, or the number of equally spaced looks between the
    first and the last time (default 10); look ``k`` holds the customers with time <= its
    cut-off. ``planned_n``: planned customers per arm, where the confidence sequence is
    tuned to be narrowest and the information fractions' denominator (default: the
    customers per arm at the last look). ``futility``: absolute effect (per metric with a
    dict) below which the experiment is not worth continuing. ``tau``: the mSPRT's mixing
    standard deviation on the effect scale (per metric with a dict; default: tuned like the
    confidence sequence from the variance at the first look). ``spending``: ``obf`` or
    ``pocock`` for ``group_sequential``. The module docstring gives the formulas.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    check_method(correction)
    min_cell_size = check_min_cell_size(min_cell_size)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1; got {alpha}")
    if spending not in sq.SPENDING:
        raise ValueError(f"spending must be one of {sorted(sq.SPENDING)}; got {spending!r}")
    specs = parse_metrics(metrics)
    skipped = [f"{s.name}: {s.kind} metrics are not monitored by {method} (kinds: {', '.join(_KINDS[method])})"
               for s in specs if s.kind not in _KINDS[method]]  # fmt: skip
    specs = [s for s in specs if s.kind in _KINDS[method]]
    if not is_in_memory(data):
        data = as_table(data)
    if arm_col not in data.columns:
        raise KeyError(f"arm column {arm_col!r} is not in the data; columns are {list(data.columns)}")
    if not is_in_memory(data):
        agg, cuts, is_time = _looks_in_engine(data, arm_col, specs, covariates, time_col, looks)
        K = len(cuts)
        times = pd.to_datetime(cuts.astype(np.int64)) if is_time else cuts
        if not specs:
            return SequentialResult(None, None, method, alpha, correction, min_cell_size, tuple(skipped))
        arms = agg.arms
        if control not in arms:
            raise ValueError(f"control {control!r} is not an arm of {arm_col!r}; arms are {arms}")
    else:
        a_codes, arms = factorize(data[arm_col], arm_col)
        if control not in arms:
            raise ValueError(f"control {control!r} is not an arm of {arm_col!r}; arms are {arms}")
        tv, is_time = _times(data, time_col)
        cuts = _cutoffs(tv, looks, is_time)
        K = len(cuts)
        bucket = np.searchsorted(cuts, tv, side="left")
        keep = bucket < K
        times = pd.to_datetime(cuts.astype(np.int64)) if is_time else cuts
        if not specs:
            return SequentialResult(None, None, method, alpha, correction, min_cell_size, tuple(skipped))
        agg = aggregate(
            data.loc[keep], arm_col, specs, covariates, group_col=time_col,
            arm_codes=(a_codes[keep], arms), group_codes=(bucket[keep].astype(np.intp), list(range(K))),
        )  # fmt: skip
    c = arms.index(control)
    others = [j for j in range(len(arms)) if j != c]
    m = len(others) * len(specs)
    level = alpha if correction == "none" else alpha / m
    rows, bounds_rows = [], []
    for spec in specs:
        ms = agg.stats[spec.name]
        cum = {f: np.cumsum(getattr(ms, f), axis=0) for f in ("n", "s1", "s2", "sx", "sxx", "sxy")
               if getattr(ms, f) is not None}  # fmt: skip
        ddof = 0 if spec.kind in ("binary", "nps") else 1
        for j in others:
            n1, n0 = cum["n"][:, j], cum["n"][:, c]
            if covariates:
                pick = lambda k: tuple(cum[f][:, k] for f in ("n", "s1", "s2", "sx", "sxx", "sxy"))
                (m1, v1), (m0, v0) = cuped_moments([pick(j), pick(c)])[0]
            else:
                with np.errstate(invalid="ignore", divide="ignore"):
                    m1, m0 = cum["s1"][:, j] / n1, cum["s1"][:, c] / n0
                    v1 = np.maximum(cum["s2"][:, j] - n1 * m1 * m1, 0) / (n1 - ddof)
                    v0 = np.maximum(cum["s2"][:, c] - n0 * m0 * m0, 0) / (n0 - ddof)
            ok = (n1 >= 2) & (n0 >= 2)
            with np.errstate(invalid="ignore", divide="ignore"):
                est = np.where(ok, m1 - m0, np.nan)
                var = np.where(ok, v1 / n1 + v0 / n0, np.nan)
            se = np.sqrt(var)
            t = n1 + n0
            t_opt = 2.0 * planned_n if planned_n else float(t[-1])
            info = t / t_opt
            with np.errstate(invalid="ignore", divide="ignore"):
                fixed_p = 2 * stats.norm.sf(np.abs(est / se))
            if method == "confidence_sequence":
                lo, hi = sq.asymptotic_cs(est, se, t, t_opt, level)
                p = sq.running_min(sq.cs_p_value(est, se, t, t_opt, alpha))
            elif method == "msprt":
                tau2 = _tau2(tau, spec.name)
                if tau2 is None:  # tuned like the CS: narrowest at the plan, variance from the first look
                    first = int(np.argmax(ok)) if ok.any() else 0
                    tau2 = float(sq.optimal_rho2(t_opt, alpha) * var[first] * t[first])
                lo, hi = sq.msprt_cs(est, var, tau2, level)
                with np.errstate(over="ignore"):
                    p = sq.running_min(np.minimum(1.0, np.exp(-sq.msprt_statistic(est, var, tau2))))
            else:
                frac = np.maximum.accumulate(np.clip(info, 1e-9, 1.0)) + 1e-9 * np.arange(K)
                cb = sq.gs_boundaries(frac, level, spending)
                lo, hi = est - cb * se, est + cb * se
                p = sq.gs_repeated_p_value(est / se, frac, spending)
                spent = sq.spend(frac, level, spending)
                for k in range(K):
                    bounds_rows.append({"look": k + 1, "time": times[k], "metric": spec.name, "arm": arms[j],
                                        "control": control, "information": info[k], "alpha_spent": spent[k],
                                        "z_boundary": cb[k], "estimate_boundary": cb[k] * se[k]})  # fmt: skip
            lo, hi = sq.running_intersection(lo, hi)
            if spec.kind == "nps":  # in points, as the effects table shows NPS (p-values unchanged)
                est, lo, hi, se = est * 100, lo * 100, hi * 100, se * 100
            fut = futility.get(spec.name) if isinstance(futility, dict) else futility
            for k in range(K):
                rows.append({
                    "look": k + 1, "time": times[k], "metric": spec.name, "arm": arms[j], "control": control,
                    "n_arm": int(n1[k]), "n_control": int(n0[k]), "estimate": est[k], "cs_low": lo[k],
                    "cs_high": hi[k], "p_value": p[k], "_futile": fut is not None and -fut < lo[k] and hi[k] < fut,
                    "se": se[k], "information": info[k], "fixed_horizon_p": fixed_p[k], "method": method,
                })  # fmt: skip
    table = pd.DataFrame(rows)
    table["p_adjusted"] = adjust(table["p_value"].to_numpy(), correction, family=table["look"].to_numpy())
    reject = table["p_adjusted"].to_numpy() <= alpha
    decision = np.where(reject, np.where(table["estimate"] > 0, "stop: better", "stop: worse"),
                        np.where(table.pop("_futile").to_numpy(dtype=bool), "stop: futile", "continue"))  # fmt: skip
    table["decision"] = decision
    table = table[SEQUENTIAL_COLUMNS + ["p_adjusted", "se", "information", "fixed_horizon_p", "method"]]
    boundaries = pd.DataFrame(bounds_rows, columns=BOUNDARY_COLUMNS) if method == "group_sequential" else None
    return SequentialResult(table, boundaries, method, alpha, correction, min_cell_size, tuple(skipped))


def planned_looks(n_per_arm: int, n_looks: int) -> np.ndarray:
    """Customers per arm at ``n_looks`` equally spaced looks up to ``n_per_arm``."""
    return np.unique(np.ceil(np.arange(1, n_looks + 1) * n_per_arm / n_looks).astype(int))


def max_sample_size(
    n_fixed: float, *, looks: int | list, alpha: float = 0.05, power: float = 0.8, spending: str = "obf"
) -> dict[str, float]:
    """Planning a group-sequential test: the maximum customers per arm and the inflation factor.

    ``n_fixed``: the fixed-horizon customers per arm (:func:`.power.sample_size`); ``looks``:
    the number of equally spaced looks or their information fractions. Returns
    ``inflation`` (max n over fixed n at the same alpha and power), ``n_max`` and the
    expected customers per arm at stopping when the planned effect is true
    (``n_expected_h1``) and when it is not (``n_expected_h0``).

    >>> r = max_sample_size(1000, looks=5, spending="pocock")
    >>> round(r["inflation"], 3), math.ceil(r["n_max"])
    (1.213, 1213)
    """
    fractions = np.arange(1, looks + 1) / looks if isinstance(looks, (int, np.integer)) else np.asarray(looks, float)
    R = sq.gs_inflation(fractions, alpha, power, spending)
    bounds = sq.gs_boundaries(fractions, alpha, spending)
    theta = (stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * math.sqrt(R)
    n_max = R * n_fixed
    return {
        "inflation": R,
        "n_max": n_max,
        "n_expected_h1": n_max * sq.gs_expected_fraction(fractions, bounds, theta),
        "n_expected_h0": n_max * sq.gs_expected_fraction(fractions, bounds, 0.0),
    }


def simulate_monitoring(
    *,
    kind: str = "binary",
    n_experiments: int = 2_000,
    n_per_arm: int = 2_000,
    n_looks: int = 20,
    effect: float = 0.0,
    baseline: float = 0.10,
    sd: float = 1.0,
    distribution: str = "normal",
    covariate_r2: float = 0.0,
    cuped: bool = False,
    alpha: float = 0.05,
    method: str = "confidence_sequence",
    planned_n: int | None = None,
    spending: str = "obf",
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Seeded two-arm experiments monitored at ``n_looks`` equally spaced looks, all at once.

    ``kind`` ``binary`` (control rate ``baseline``, arm ``baseline + effect``) or
    ``continuous`` (control mean ``baseline``, sd ``sd``; ``distribution`` ``normal`` or
    ``lognormal`` -- a skewed, revenue-like outcome with that mean and sd). With
    ``covariate_r2`` > 0 a standard-normal covariate explains that share of the outcome's
    variance (normal only) and ``cuped=True`` analyses the CUPED-adjusted difference.
    Every look's sufficient statistics are cumulative sums over the looks' increments:
    arrays ``(n_experiments, n_looks)``, no loop over experiments.

    Returns per experiment x look ``estimate, lo, hi`` (running intersection), ``p`` (the
    method's running p-value, or 0/1 crossing indicators for ``group_sequential``),
    ``fixed_p`` (the z-test at that look), ``n`` per arm, and per experiment ``reject``
    (some look rejected), ``covered`` (the truth inside every look's interval),
    ``stop_n`` (customers per arm at the first rejection, ``n_per_arm`` if none).
    """
    rng = np.random.default_rng(seed)
    n = planned_looks(n_per_arm, n_looks)
    K, E = len(n), n_experiments
    inc = np.diff(np.concatenate([[0], n]))
    per_customer = kind == "continuous" and (distribution == "lognormal" or covariate_r2 > 0)
    stats_ = []
    for mean in (baseline, baseline + effect):  # control, arm
        if kind == "binary":
            s1 = rng.binomial(inc, mean, size=(E, K)).astype(float).cumsum(axis=1)
            stats_.append((np.broadcast_to(n, (E, K)).astype(float), s1, s1, None, None, None))
        elif not per_customer:
            sums = rng.normal(inc * mean, sd * np.sqrt(inc), size=(E, K))
            ss = sd**2 * rng.chisquare(np.maximum(inc - 1, 1), size=(E, K))
            s2 = (ss + sums**2 / inc).cumsum(axis=1)
            stats_.append((np.broadcast_to(n, (E, K)).astype(float), sums.cumsum(axis=1), s2, None, None, None))
        else:
            N = int(n[-1])
            if distribution == "lognormal":
                s2l = math.log1p((sd / mean) ** 2)
                y = rng.lognormal(math.log(mean) - s2l / 2, math.sqrt(s2l), size=(E, N))
                x = None
            else:
                x = rng.standard_normal((E, N))
                b = sd * math.sqrt(covariate_r2)
                y = mean + b * x + sd * math.sqrt(1 - covariate_r2) * rng.standard_normal((E, N))
            idx = np.repeat(np.arange(K), inc)
            csum = lambda v: np.add.reduceat(v, np.concatenate([[0], n[:-1]]), axis=1).cumsum(axis=1)
            nn = np.broadcast_to(n, (E, K)).astype(float)
            if x is None or not cuped:
                stats_.append((nn, csum(y), csum(y * y), None, None, None))
            else:
                stats_.append((nn, csum(y), csum(y * y), csum(x)[..., None], csum(x * x)[..., None, None],
                               csum(x * y)[..., None]))  # fmt: skip
            del idx
    (n0, a1, a2, *xs0), (n1, b1, b2, *xs1) = stats_
    ddof = 0 if kind == "binary" else 1
    if cuped and xs0[0] is not None:
        (m1, v1), (m0, v0) = cuped_moments([(n1, b1, b2, *xs1), (n0, a1, a2, *xs0)])[0]
    else:
        m1, m0 = b1 / n1, a1 / n0
        v1 = np.maximum(b2 - n1 * m1 * m1, 0) / (n1 - ddof)
        v0 = np.maximum(a2 - n0 * m0 * m0, 0) / (n0 - ddof)
    est = m1 - m0
    var = v1 / n1 + v0 / n0
    se = np.sqrt(var)
    t = n0 + n1
    t_opt = 2.0 * (planned_n or n_per_arm)
    with np.errstate(invalid="ignore", divide="ignore"):
        fixed_p = 2 * stats.norm.sf(np.abs(est / se))
    if method == "confidence_sequence":
        lo, hi = sq.asymptotic_cs(est, se, t, t_opt, alpha)
        p = sq.running_min(sq.cs_p_value(est, se, t, t_opt, alpha))
    elif method == "msprt":
        tau2 = sq.optimal_rho2(t_opt, alpha) * var[:, :1] * t[:, :1]
        lo, hi = sq.msprt_cs(est, var, tau2, alpha)
        with np.errstate(over="ignore"):
            p = sq.running_min(np.minimum(1.0, np.exp(-sq.msprt_statistic(est, var, tau2))))
    elif method == "group_sequential":
        cb = sq.gs_boundaries(n / n[-1] * n_per_arm / (planned_n or n_per_arm), alpha, spending)
        lo, hi = est - cb * se, est + cb * se
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.maximum.accumulate(np.abs(est / se) >= cb, axis=1).astype(float)
            p = np.where(p > 0, 0.0, 1.0)
    else:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    lo, hi = sq.running_intersection(lo, hi)
    rejected = p <= alpha
    reject = rejected.any(axis=1)
    first = np.where(reject, rejected.argmax(axis=1), K - 1)
    truth = effect
    return {
        "estimate": est, "lo": lo, "hi": hi, "p": p, "fixed_p": fixed_p, "n": n,
        "reject": reject, "covered": (lo[:, -1] <= truth) & (truth <= hi[:, -1]),
        "stop_n": np.where(reject, n[first], n_per_arm),
    }  # fmt: skip
