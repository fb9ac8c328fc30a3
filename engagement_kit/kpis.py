"""KPIs with confidence intervals, overall and by group. NPS primitives live here so
that the experiment engine and the DSCE scorecard share one estimator.

NPS = % promoters (9-10) - % detractors (0-6), in points (-100..100). With
answers multinomial over (promoter, passive, detractor) and shares p_P, p_D, the
per-answer score is +1 / 0 / -1, so Var(NPS/100) = (p_P + p_D - (p_P - p_D)^2) / n.

The other KPIs (the essay's list: CSAT, retention and churn, expansion revenue,
cost to serve, customer lifetime value, response time) each have a
``*_by_group`` function; :func:`kpi_table` assembles all that the data supports
into the tidy ``kpis.csv`` table:

==========  ===============================================================
column      meaning
==========  ===============================================================
kpi         nps (points), csat_top2 and retention_rate / churn_rate /
            expansion_rate (shares 0-1, Wilson CI), csat_mean, revenue,
            expansion_revenue, cost_to_serve, margin, response_time (means,
            t CI), clv (currency, delta-method CI)
group_col   the grouping column ('all' for the overall row)
group       the group's label (as text)
n           customers (answers, for survey KPIs) in the group
estimate    the KPI
ci_low      lower bound of the (1 - alpha) CI
ci_high     upper bound
method      how the CI was formed
==========  ===============================================================

Example
-------
>>> import pandas as pd
>>> r = nps(pd.Series([10, 9, 8, 7, 6, 0, 10, 9, 9, 3]))
>>> r.nps, r.n_promoters, r.n_detractors
(20.0, 5, 3)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .engines import MAX_ROWS_PULLED, as_table, is_in_memory, pull_rows
from .stats.means import t_interval
from .stats.proportions import wilson_ci
from .stats.survival import event_flag

__all__ = [
    "NPSResult",
    "nps",
    "nps_score",
    "nps_from_counts",
    "nps_category",
    "nps_counts_ci",
    "nps_by_group",
    "proportion_by_group",
    "mean_by_group",
    "csat_by_group",
    "retention_by_group",
    "clv",
    "clv_by_group",
    "cohort_labels",
    "kpi_trend",
    "kpi_table",
    "KPI_TABLE_COLUMNS",
    "KPI_TREND_COLUMNS",
]

PROMOTER_MIN = 9
DETRACTOR_MAX = 6
NPS_MIN_ANSWER, NPS_MAX_ANSWER = 0, 10


def nps_score(answers: pd.Series | np.ndarray) -> np.ndarray:
    """Per-answer NPS score: +1 promoter (9-10), 0 passive (7-8), -1 detractor (0-6)."""
    a = np.asarray(answers, dtype=float)
    return np.where(a >= PROMOTER_MIN, 1.0, np.where(a <= DETRACTOR_MAX, -1.0, 0.0))


def nps_category(answers: pd.Series) -> pd.Series:
    """'promoter' / 'passive' / 'detractor' labels for 0-10 answers (NaN stays NaN)."""
    s = pd.Series(answers)
    out = pd.Series(
        np.where(s >= PROMOTER_MIN, "promoter", np.where(s <= DETRACTOR_MAX, "detractor", "passive")),
        index=s.index,
        dtype=object,
    )
    return out.where(s.notna())


@dataclass(frozen=True)
class NPSResult:
    """NPS in points with a Wald CI from the multinomial variance."""

    n: int
    n_promoters: int
    n_passives: int
    n_detractors: int
    nps: float
    se: float
    ci_low: float
    ci_high: float

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)])


def nps_from_counts(n_promoters: int, n_passives: int, n_detractors: int, alpha: float = 0.05) -> NPSResult:
    """NPS and its CI from the three counts (sufficient statistics)."""
    n = n_promoters + n_passives + n_detractors
    if n == 0:
        raise ValueError("NPS needs at least one answer")
    pp, pd_ = n_promoters / n, n_detractors / n
    score = pp - pd_
    var = (pp + pd_ - score**2) / n
    se = float(np.sqrt(var))
    z = stats.norm.ppf(1 - alpha / 2)
    return NPSResult(
        n=int(n),
        n_promoters=int(n_promoters),
        n_passives=int(n_passives),
        n_detractors=int(n_detractors),
        nps=100 * score,
        se=100 * se,
        ci_low=100 * (score - z * se),
        ci_high=100 * (score + z * se),
    )


def nps(answers: pd.Series, alpha: float = 0.05) -> NPSResult:
    """NPS of 0-10 answers (missing answers are skipped; out-of-range is an error)."""
    a = pd.to_numeric(pd.Series(answers), errors="raise").dropna()
    bad = (a < 0) | (a > 10)
    if bad.any():
        raise ValueError(f"NPS answers must be 0-10; rows {list(a.index[bad][:5])} have {list(a[bad].head(5))}")
    score = nps_score(a)
    return nps_from_counts(int((score == 1).sum()), int((score == 0).sum()), int((score == -1).sum()), alpha)


# ---------------------------------------------------------------------------
# KPIs by group
#
# Every ``*_by_group`` function takes a tidy customer-level table and returns one
# row per group with the KPI, n, estimate, ci_low, ci_high and the CI method.
# Sufficient statistics (counts, sums, sums of squares) are computed once with a
# groupby; the intervals are vectorised functions of them.
# ---------------------------------------------------------------------------

#: Columns of :func:`kpi_table` (the ``kpis.csv`` interface).
KPI_TABLE_COLUMNS: tuple[str, ...] = ("kpi", "group_col", "group", "n", "estimate", "ci_low", "ci_high", "method")
#: Columns of :func:`kpi_trend` (the ``kpi_trend.csv`` interface): a KPI per signup cohort.
KPI_TREND_COLUMNS: tuple[str, ...] = ("kpi", "cohort", "group_col", "group", "n", "estimate", "ci_low", "ci_high", "method")


def _group_list(group_col: str | list[str] | None) -> list[str]:
    if group_col is None:
        return []
    return [group_col] if isinstance(group_col, str) else list(group_col)


def _check_columns(data: pd.DataFrame, columns: list[str], table: str = "data") -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise KeyError(f"{table} has no column(s) {missing}; columns are {list(data.columns)}")


def _numeric(data: pd.DataFrame, column: str, allow_missing: bool, table: str = "data") -> pd.Series:
    s = pd.to_numeric(data[column], errors="coerce")
    bad = s.isna() & data[column].notna()
    if bad.any():
        raise ValueError(
            f"{table} column {column!r} has non-numeric values in rows {list(data.index[bad][:5])}: "
            f"{list(data.loc[bad, column].head(5))}"
        )
    if not allow_missing and s.isna().any():
        rows = list(data.index[s.isna()][:5])
        raise ValueError(
            f"{table} column {column!r} has {int(s.isna().sum())} missing values (first rows {rows}); "
            "drop or impute them first"
        )
    return s


def _sums(frame: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    """Per-group sums (and the count) of every non-group column, computed once."""
    if groups:
        for g in groups:
            if frame[g].isna().any():
                raise ValueError(f"group column {g!r} has missing values; fill or drop them first")
        out = frame.groupby(groups, observed=True, sort=True).sum()
        out["n"] = frame.groupby(groups, observed=True, sort=True).size()
        return out.reset_index()
    out = frame.sum().to_frame().T
    out["n"] = len(frame)
    return out


def nps_counts_ci(
    n_promoters: np.ndarray | pd.Series,
    n_passives: np.ndarray | pd.Series,
    n_detractors: np.ndarray | pd.Series,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Vectorised :func:`nps_from_counts`: NPS in points with its Wald CI for arrays of counts.

    Same estimator (multinomial variance (p_P + p_D - (p_P - p_D)^2) / n) so that a
    by-group table and a single :class:`NPSResult` always agree.

    >>> nps_counts_ci([5], [2], [3]).round(2).to_dict("records")[0]["estimate"]
    20.0
    """
    pp_n = np.asarray(n_promoters, dtype=float)
    pa_n = np.asarray(n_passives, dtype=float)
    dd_n = np.asarray(n_detractors, dtype=float)
    n = pp_n + pa_n + dd_n
    if (n <= 0).any():
        raise ValueError("NPS needs at least one answer in every group")
    pp, pd_ = pp_n / n, dd_n / n
    score = pp - pd_
    se = np.sqrt((pp + pd_ - score**2) / n)
    z = stats.norm.ppf(1 - alpha / 2)
    return pd.DataFrame(
        {
            "n": n.astype(int),
            "n_promoters": pp_n.astype(int),
            "n_passives": pa_n.astype(int),
            "n_detractors": dd_n.astype(int),
            "estimate": 100 * score,
            "se": 100 * se,
            "ci_low": 100 * (score - z * se),
            "ci_high": 100 * (score + z * se),
        }
    )


def nps_by_group(
    data: pd.DataFrame,
    answer: str = "nps",
    group_col: str | list[str] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """NPS (points) with its multinomial Wald CI per group.

    Missing answers are non-response and are skipped (``n`` counts answers);
    answers outside 0-10 are an error.

    >>> df = pd.DataFrame({"nps": [10, 9, 8, 7, 6, 0, 10, 9, 9, 3], "g": list("aabbabbaab")})
    >>> nps_by_group(df, group_col="g")[["g", "n", "estimate"]].round(1).to_dict("records")
    [{'g': 'a', 'n': 5, 'estimate': 60.0}, {'g': 'b', 'n': 5, 'estimate': -20.0}]
    """
    groups = _group_list(group_col)
    _check_columns(data, [answer, *groups])
    a = _numeric(data, answer, allow_missing=True)
    bad = a.notna() & ((a < NPS_MIN_ANSWER) | (a > NPS_MAX_ANSWER))
    if bad.any():
        raise ValueError(
            f"NPS column {answer!r} must be 0-10; rows {list(data.index[bad][:5])} have {list(a[bad].head(5))}"
        )
    keep = a.notna()
    score = nps_score(a[keep])
    frame = data.loc[keep, groups].copy()
    frame["n_promoters"] = (score == 1).astype(int)
    frame["n_passives"] = (score == 0).astype(int)
    frame["n_detractors"] = (score == -1).astype(int)
    return _nps_rows(_sums(frame, groups), groups, alpha)


def _nps_rows(sums: pd.DataFrame, groups: list[str], alpha: float) -> pd.DataFrame:
    ci = nps_counts_ci(sums["n_promoters"], sums["n_passives"], sums["n_detractors"], alpha)
    out = pd.concat([sums[groups].reset_index(drop=True), ci], axis=1)
    out.insert(len(groups), "kpi", "nps")
    out["method"] = "multinomial Wald"
    return out



def proportion_by_group(
    data: pd.DataFrame,
    outcome: str,
    group_col: str | list[str] | None = None,
    alpha: float = 0.05,
    kpi: str | None = None,
) -> pd.DataFrame:
    """Share of True (or 1) in ``outcome`` per group with a Wilson CI.

    The outcome must be a yes/no flag without missing values (see
    :func:`engagement_kit.stats.survival.event_flag` for the accepted spellings).

    >>> df = pd.DataFrame({"retained": [True, True, False, True]})
    >>> float(proportion_by_group(df, "retained")["estimate"][0])
    0.75
    """
    groups = _group_list(group_col)
    _check_columns(data, [outcome, *groups])
    if data[outcome].isna().any():
        rows = list(data.index[data[outcome].isna()][:5])
        raise ValueError(f"column {outcome!r} has missing values (first rows {rows}); drop or impute them first")
    frame = data[groups].copy()
    frame["successes"] = event_flag(data[outcome], outcome)
    return _proportion_rows(_sums(frame, groups), groups, alpha, kpi or outcome)


def _proportion_rows(sums: pd.DataFrame, groups: list[str], alpha: float, kpi: str) -> pd.DataFrame:
    lo, hi = wilson_ci(sums["successes"].to_numpy(), sums["n"].to_numpy(), alpha)
    out = sums[groups].copy()
    out["kpi"] = kpi
    out["n"] = sums["n"].astype(int)
    out["estimate"] = sums["successes"] / sums["n"]
    out["ci_low"], out["ci_high"] = lo, hi
    out["method"] = "Wilson"
    return out


def mean_by_group(
    data: pd.DataFrame,
    value: str,
    group_col: str | list[str] | None = None,
    alpha: float = 0.05,
    kpi: str | None = None,
    allow_missing: bool = False,
) -> pd.DataFrame:
    """Mean of ``value`` per group with a t interval (mean +- t_{n-1} s / sqrt(n)).

    For heavy-tailed money columns the t interval relies on the central limit
    theorem; it is fine for the group sizes of a scorecard (hundreds) but not for
    a handful of accounts. With ``allow_missing`` missing values are skipped
    (survey non-response); otherwise they are an error. A group with a single
    value has no interval: ci_low and ci_high are NaN there (by design, not an error).

    >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]})
    >>> r = mean_by_group(df, "x").iloc[0]
    >>> float(r.estimate), round(float(r.ci_low), 4)
    (2.5, 0.4457)
    """
    groups = _group_list(group_col)
    _check_columns(data, [value, *groups])
    x = _numeric(data, value, allow_missing=allow_missing)
    keep = x.notna()
    frame = data.loc[keep, groups].copy()
    frame["s1"] = x[keep]
    frame["s2"] = x[keep] ** 2
    return _mean_rows(_sums(frame, groups), groups, alpha, kpi or value)


def _mean_rows(sums: pd.DataFrame, groups: list[str], alpha: float, kpi: str) -> pd.DataFrame:
    n = sums["n"].to_numpy(dtype=float)
    mean = sums["s1"].to_numpy(dtype=float) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.clip(sums["s2"].to_numpy(dtype=float) - n * mean**2, 0, None) / (n - 1)
        se = np.sqrt(var / n)
    out = sums[groups].copy()
    out["kpi"] = kpi
    out["n"] = n.astype(int)
    out["estimate"] = mean
    out["ci_low"], out["ci_high"] = t_interval(mean, se, n - 1, alpha)  # NaN for a group of one
    out["method"] = "t"
    return out


def csat_by_group(
    data: pd.DataFrame,
    answer: str = "csat",
    group_col: str | list[str] | None = None,
    alpha: float = 0.05,
    scale_min: int = 1,
    scale_max: int = 5,
    top_box: int = 2,
) -> pd.DataFrame:
    """CSAT per group: the top-``top_box`` share (Wilson CI) and the mean answer (t CI).

    With the default 1-5 scale, "top two box" counts answers 4 and 5. Missing
    answers are non-response (skipped); answers outside the scale are an error.

    >>> df = pd.DataFrame({"csat": [5, 4, 3, 2, 5]})
    >>> csat_by_group(df)[["kpi", "estimate"]].to_dict("records")
    [{'kpi': 'csat_top2', 'estimate': 0.6}, {'kpi': 'csat_mean', 'estimate': 3.8}]
    """
    groups = _group_list(group_col)
    _check_columns(data, [answer, *groups])
    a = _numeric(data, answer, allow_missing=True)
    bad = a.notna() & ((a < scale_min) | (a > scale_max))
    if bad.any():
        raise ValueError(
            f"CSAT column {answer!r} must be within {scale_min}-{scale_max}; rows "
            f"{list(data.index[bad][:5])} have {list(a[bad].head(5))}"
        )
    keep = a.notna()
    sub = data.loc[keep, groups].copy()
    sub["_top"] = a[keep] > scale_max - top_box
    sub["_csat"] = a[keep]
    top = proportion_by_group(sub, "_top", groups or None, alpha, kpi=f"csat_top{top_box}")
    mean = mean_by_group(sub, "_csat", groups or None, alpha, kpi="csat_mean")
    return pd.concat([top, mean], ignore_index=True)


def retention_by_group(
    data: pd.DataFrame,
    retained: str = "retained",
    group_col: str | list[str] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Retention rate and churn rate (= 1 - retention) per group, Wilson CIs.

    The churn interval is the retention interval mirrored (Wilson is symmetric
    under swapping successes and failures).
    """
    ret = proportion_by_group(data, retained, group_col, alpha, kpi="retention_rate")
    churn = ret.copy()
    churn["kpi"] = "churn_rate"
    churn["estimate"] = 1 - ret["estimate"]
    churn["ci_low"], churn["ci_high"] = 1 - ret["ci_high"], 1 - ret["ci_low"]
    return pd.concat([ret, churn], ignore_index=True)


def clv(margin, retention, discount_rate: float = 0.1):
    """Customer lifetime value of a constant margin stream.

    CLV = m * r / (1 + d - r), with m the margin per period, r the per-period
    retention rate and d the per-period discount rate. This is the
    infinite-horizon formula of Gupta & Lehmann (2003, "Customers as assets",
    J. Interactive Marketing 17(1)) and Gupta, Lehmann & Stuart (2004, JMR):
    margin is received at the end of every period the customer is still active,
    retention and margin are constant, the geometric series sum_{t>=1} m r^t /
    (1+d)^t. It is a scorecard figure, not a forecast: margin growth,
    heterogeneous retention (which makes pooled r understate lifetime) and
    acquisition cost are ignored.

    >>> round(clv(100.0, 0.8, 0.1), 4)
    266.6667
    """
    m = np.asarray(margin, dtype=float)
    r = np.asarray(retention, dtype=float)
    if ((r < 0) | (r > 1)).any():
        raise ValueError("retention must be within [0, 1]")
    if discount_rate <= -1:
        raise ValueError("discount_rate must be > -1")
    out = m * r / (1 + discount_rate - r)
    return float(out) if out.ndim == 0 else out


def clv_by_group(
    data: pd.DataFrame,
    margin: str,
    retained: str = "retained",
    group_col: str | list[str] | None = None,
    discount_rate: float = 0.1,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """:func:`clv` per group from the mean margin per customer and the retention rate.

    m = mean of ``margin`` over the group's customers (margin per period of the
    observation window, e.g. revenue + expansion - cost to serve), r = share
    retained. The CI is the delta method on the pair of means (m, r), including
    their covariance (both come from the same customers):
    grad = (r / (1+d-r), m (1+d) / (1+d-r)^2), Var = grad' Cov(m, r) grad / n.
    """
    groups = _group_list(group_col)
    _check_columns(data, [margin, retained, *groups])
    m_i = _numeric(data, margin, allow_missing=False).to_numpy(dtype=float)
    if data[retained].isna().any():
        raise ValueError(f"column {retained!r} has missing values; drop or impute them first")
    r_i = event_flag(data[retained], retained)
    frame = data[groups].copy()
    frame["m"], frame["r"] = m_i, r_i
    frame["mm"], frame["rr"], frame["mr"] = m_i**2, r_i**2, m_i * r_i
    return _clv_rows(_sums(frame, groups), groups, discount_rate, alpha)


def _clv_rows(s: pd.DataFrame, groups: list[str], discount_rate: float, alpha: float) -> pd.DataFrame:
    n = s["n"].to_numpy(dtype=float)
    m, r = s["m"].to_numpy(dtype=float) / n, s["r"].to_numpy(dtype=float) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        v_mm = (s["mm"].to_numpy(dtype=float) - n * m**2) / (n - 1)
        v_rr = (s["rr"].to_numpy(dtype=float) - n * r**2) / (n - 1)
        c_mr = (s["mr"].to_numpy(dtype=float) - n * m * r) / (n - 1)
        d = discount_rate
        g_m = r / (1 + d - r)
        g_r = m * (1 + d) / (1 + d - r) ** 2
        se = np.sqrt(np.clip(g_m**2 * v_mm + g_r**2 * v_rr + 2 * g_m * g_r * c_mr, 0, None) / n)
    z = stats.norm.ppf(1 - alpha / 2)
    est = clv(m, r, discount_rate)
    out = s[groups].copy()
    out["kpi"] = "clv"
    out["n"] = n.astype(int)
    out["estimate"] = est
    out["ci_low"], out["ci_high"] = est - z * se, est + z * se
    out["method"] = f"delta (m*r/(1+d-r), d={discount_rate:g})"
    return out


def cohort_labels(data: pd.DataFrame, date_col: str = "signup_date", freq: str = "Q") -> pd.Series:
    """Signup cohort labels ('2025Q1', or '2025-03' with freq='M') for KPI trends."""
    _check_columns(data, [date_col])
    dates = pd.to_datetime(data[date_col], errors="coerce")
    bad = dates.isna()
    if bad.any():
        raise ValueError(
            f"column {date_col!r} has missing or unparseable dates in rows {list(data.index[bad][:5])}"
        )
    return dates.dt.to_period(freq).astype(str).rename("cohort")


def kpi_trend(
    data: pd.DataFrame,
    *,
    group_col: str | None = None,
    date_col: str = "signup_date",
    retained_col: str = "retained",
    freq: str = "Q",
    alpha: float = 0.05,
    max_rows_pulled: int = MAX_ROWS_PULLED,
) -> pd.DataFrame:
    """Retention rate per signup cohort (and per ``group_col`` group), Wilson CIs.

    ``data`` may be a table held by an engine: with date/time signup dates and ``freq``
    Q, M or Y the counts are one ``GROUP BY`` year, period (x group) there; text dates or
    another ``freq`` pull the three columns, up to ``max_rows_pulled`` rows.

    Tidy (the ``kpi_trend.csv`` table): kpi ('retention_rate'), cohort ('2025Q1'),
    group_col (the grouping column, 'all' without one), group, n, estimate, ci_low,
    ci_high, method. The same estimator as :func:`proportion_by_group`.

    >>> df = pd.DataFrame({"signup_date": ["2025-01-05", "2025-02-01", "2025-04-03"],
    ...                    "retained": [True, False, True]})
    >>> kpi_trend(df)[["cohort", "group", "n", "estimate"]].to_dict("records")
    [{'cohort': '2025Q1', 'group': 'all', 'n': 2, 'estimate': 0.5}, {'cohort': '2025Q2', 'group': 'all', 'n': 1, 'estimate': 1.0}]
    """
    if not is_in_memory(data):
        t = as_table(data)
        _check_columns(t, [date_col, retained_col, *_group_list(group_col)])
        sums = _cohort_sums_in_engine(t, group_col, date_col, retained_col, freq)
        if sums is None:  # text dates (parsed here) or another period: the columns are pulled
            data = pull_rows(t, [date_col, retained_col, *_group_list(group_col)],
                             what=f"kpi_trend with text dates in {date_col!r} or freq={freq!r}",
                             max_rows_pulled=max_rows_pulled)
    if is_in_memory(data):
        frame = data.assign(cohort=cohort_labels(data, date_col, freq).to_numpy())
        out = proportion_by_group(frame, retained_col, ["cohort", *_group_list(group_col)], alpha,
                                  kpi="retention_rate")
    else:
        out = _proportion_rows(sums, ["cohort", *_group_list(group_col)], alpha, "retention_rate")
    out["group_col"] = group_col or "all"
    out["group"] = out[group_col].astype(str) if group_col else "all"
    return out[list(KPI_TREND_COLUMNS)].reset_index(drop=True)


#: Cohort periods computed inside an engine (``freq`` -> the label from year and period).
_ENGINE_PERIODS = {"Q": lambda y, p: f"{y}Q{p}", "M": lambda y, p: f"{y}-{p:02d}", "Y": lambda y, p: f"{y}"}


def _cohort_sums_in_engine(t, group_col: str | None, date_col: str, retained_col: str,
                           freq: str) -> pd.DataFrame | None:
    """Retained customers and customers per signup cohort (x group) of an engine table: one
    ``GROUP BY`` year, period (, group) in the engine, labelled here as :func:`cohort_labels`
    spells them. None when the dates are text or ``freq`` is not Q, M or Y (the caller pulls)."""
    import ibis

    dt = t[date_col].type()
    if freq not in _ENGINE_PERIODS or not (dt.is_timestamp() or dt.is_date()):
        return None
    d = t[date_col]
    period = {"Q": d.quarter(), "M": d.month(), "Y": ibis.literal(1)}[freq]
    r, bad, missing = _engine_flag(t, retained_col)
    groups = _group_list(group_col)
    u = t.select(_ek_year=d.year(), _ek_period=period, _ek_r=r, _ek_bad=bad, _ek_missing=missing,
                 _ek_no_date=d.isnull(), **{g: t[g] for g in groups})
    keys = ["_ek_year", "_ek_period", *groups]
    res = u.group_by(keys).aggregate(
        n=u.count(), successes=ibis.ifelse(u._ek_bad | u._ek_missing, 0, u._ek_r).sum(),
        bad=u._ek_bad.cast("int64").sum(), missing=u._ek_missing.cast("int64").sum(),
        no_date=u._ek_no_date.cast("int64").sum()).execute()
    if int(res["no_date"].sum()):
        raise ValueError(f"column {date_col!r} has {int(res['no_date'].sum())} missing dates; drop or fill them")
    if int(res["missing"].sum()):
        raise ValueError(f"column {retained_col!r} has {int(res['missing'].sum())} missing values; drop or impute "
                         "them first")
    if int(res["bad"].sum()):
        raise ValueError(f"column {retained_col!r} has {int(res['bad'].sum())} values that are not a yes/no flag "
                         "(true/false, yes/no, 1/0)")
    for g in groups:
        if res[g].isna().any():
            raise ValueError(f"group column {g!r} has missing values; fill or drop them first")
    label = _ENGINE_PERIODS[freq]
    res["cohort"] = [label(int(y), int(p)) for y, p in zip(res["_ek_year"], res["_ek_period"])]
    res["n"] = pd.to_numeric(res["n"]).astype(np.int64)
    res["successes"] = pd.to_numeric(res["successes"]).fillna(0)
    sums = res.groupby(["cohort", *groups], sort=True)[["successes", "n"]].sum().reset_index()
    return sums


def kpi_table(
    data: pd.DataFrame,
    group_col: str | list[str] | None = None,
    alpha: float = 0.05,
    nps_col: str = "nps",
    csat_col: str = "csat",
    retained_col: str = "retained",
    expansion_col: str = "expansion_revenue",
    revenue_col: str = "revenue",
    cost_col: str = "cost_to_serve",
    response_time_col: str = "response_time",
    discount_rate: float = 0.1,
    csat_scale: tuple[int, int] = (1, 5),
) -> pd.DataFrame:
    """Every KPI the data supports, overall and by each column in ``group_col``.

    ``data`` is one row per customer (outcomes joined with customers and, where
    available, the survey; survey non-respondents have missing nps/csat). A KPI
    whose column is absent is skipped, so response time appears only where the
    data has it. CLV uses margin = revenue + expansion revenue - cost to serve
    (the terms that are present) and the retention rate, see :func:`clv`.

    Returns the tidy ``kpis.csv`` table: kpi, group_col ('all' for the overall
    row), group, n, estimate, ci_low, ci_high, method. Rates are shares (0-1),
    NPS is in points, money in the data's currency per customer.

    ``data`` may also be a table held by an engine (an Ibis table, a DuckDB relation, a
    PySpark DataFrame, a path to Parquet/CSV files): then each grouping level is one
    ``GROUP BY`` inside the engine (:func:`_kpi_sums_in_engine`) and the same estimators
    run on the sums; the table is the same.
    """
    settings = dict(nps_col=nps_col, csat_col=csat_col, retained_col=retained_col, expansion_col=expansion_col,
                    revenue_col=revenue_col, cost_col=cost_col, response_time_col=response_time_col)
    if not is_in_memory(data):
        return _kpi_table_in_engine(as_table(data), _group_list(group_col), alpha, discount_rate, csat_scale,
                                    **settings)
    has = set(data.columns)
    frame = data
    margin_terms = [c for c in (revenue_col, expansion_col) if c in has]
    if margin_terms and retained_col in has:
        frame = data.copy()
        frame["_margin"] = frame[margin_terms].sum(axis=1, skipna=False)
        if cost_col in has:
            frame["_margin"] = frame["_margin"] - frame[cost_col]
    results = []
    for g in [None, *_group_list(group_col)]:
        parts = []
        if nps_col in has:
            parts.append(nps_by_group(frame, nps_col, g, alpha))
        if csat_col in has:
            parts.append(csat_by_group(frame, csat_col, g, alpha, *csat_scale))
        if retained_col in has:
            parts.append(retention_by_group(frame, retained_col, g, alpha))
        if expansion_col in has:
            flag = frame[[expansion_col] + ([g] if g else [])].copy()
            flag["_any"] = _numeric(frame, expansion_col, allow_missing=False) > 0
            parts.append(proportion_by_group(flag, "_any", g, alpha, kpi="expansion_rate"))
            parts.append(mean_by_group(frame, expansion_col, g, alpha, kpi="expansion_revenue"))
        if revenue_col in has:
            parts.append(mean_by_group(frame, revenue_col, g, alpha, kpi="revenue"))
        if cost_col in has:
            parts.append(mean_by_group(frame, cost_col, g, alpha, kpi="cost_to_serve"))
        if response_time_col in has:
            parts.append(mean_by_group(frame, response_time_col, g, alpha, kpi="response_time", allow_missing=True))
        if "_margin" in frame.columns:
            parts.append(mean_by_group(frame, "_margin", g, alpha, kpi="margin"))
            parts.append(clv_by_group(frame, "_margin", retained_col, g, discount_rate, alpha))
        for p in parts:
            p = p.copy()
            p["group_col"] = g or "all"
            p["group"] = p[g].astype(str) if g else "all"
            results.append(p[list(KPI_TABLE_COLUMNS)])
    if not results:
        raise ValueError(f"no KPI column found in the data; columns are {sorted(has)}")
    return pd.concat(results, ignore_index=True)


def _engine_number(t, column: str):
    """(value as float, is-missing) of a numeric or boolean engine column; an error otherwise."""
    dt = t[column].type()
    if not (dt.is_numeric() or dt.is_boolean()):
        raise ValueError(f"data column {column!r} has non-numeric values (type {dt}); convert it in the engine")
    x = t[column].cast("float64")
    return x, x.isnull() | x.isnan()


def _engine_flag(t, column: str):
    """(0/1 flag, is-invalid, is-missing) of a yes/no engine column, spelled as :func:`event_flag` accepts."""
    import ibis

    c = t[column]
    if c.type().is_string():
        s = c.strip().lower()
        y = ibis.cases((s.isin(("true", "yes", "1")), 1), (s.isin(("false", "no", "0")), 0), else_=None)
        return y.cast("int64"), c.notnull() & y.isnull(), c.isnull()
    x, missing = _engine_number(t, column)
    return x, ~missing & (x != 0) & (x != 1), missing


def _kpi_sums_in_engine(t, g: str | None, plan: dict) -> pd.DataFrame:
    """One ``GROUP BY g`` (or a global aggregate) of every ``name -> expression`` in ``plan``."""
    if g is not None:
        res = t.group_by(g).aggregate(**plan).execute()
        if res[g].isna().any():
            raise ValueError(f"group column {g!r} has missing values; fill or drop them first")
        res = res.sort_values(g, kind="stable").reset_index(drop=True)
    else:
        res = t.aggregate(**plan).execute()
    for c in plan:
        res[c] = pd.to_numeric(res[c]).fillna(0)
    return res


def _kpi_table_in_engine(t, group_cols: list[str], alpha: float, discount_rate: float, csat_scale: tuple[int, int],
                         *, nps_col: str, csat_col: str, retained_col: str, expansion_col: str, revenue_col: str,
                         cost_col: str, response_time_col: str) -> pd.DataFrame:
    """:func:`kpi_table` of an engine table: per grouping level one aggregate pass in the engine."""
    import ibis

    has = set(t.columns)
    _check_columns(t, group_cols)
    count = lambda cond: ibis.ifelse(cond, 1, 0).sum()  # noqa: E731
    total = lambda x, ok: ibis.ifelse(ok, x, 0).sum()  # noqa: E731
    plan: dict = {"rows": t.count()}
    money = {}
    if nps_col in has:
        a, miss = _engine_number(t, nps_col)
        ok = ~miss
        plan |= {"nps_bad": count(ok & ((a < NPS_MIN_ANSWER) | (a > NPS_MAX_ANSWER))),
                 "n_promoters": count(ok & (a >= PROMOTER_MIN)), "n_detractors": count(ok & (a <= DETRACTOR_MAX)),
                 "nps_n": count(ok)}
    lo, hi = csat_scale
    if csat_col in has:
        a, miss = _engine_number(t, csat_col)
        ok = ~miss
        plan |= {"csat_bad": count(ok & ((a < lo) | (a > hi))), "csat_n": count(ok),
                 "csat_top": count(ok & (a > hi - 2)), "csat_s1": total(a, ok), "csat_s2": total(a * a, ok)}
    if retained_col in has:
        r, bad, miss = _engine_flag(t, retained_col)
        plan |= {"ret_bad": count(bad), "ret_missing": count(miss), "ret_s": total(r, ~miss & ~bad)}
    for key, col in (("exp", expansion_col), ("rev", revenue_col), ("cost", cost_col), ("rt", response_time_col)):
        if col in has:
            x, miss = _engine_number(t, col)
            money[key] = (x, miss)
            plan |= {f"{key}_missing": count(miss), f"{key}_n": count(~miss), f"{key}_s1": total(x, ~miss),
                     f"{key}_s2": total(x * x, ~miss)}
    if "exp" in money:
        plan["exp_any"] = count(~money["exp"][1] & (money["exp"][0] > 0))
    terms = [k for k in ("rev", "exp") if k in money]
    if terms and retained_col in has:
        m = sum((money[k][0] for k in terms[1:]), money[terms[0]][0])
        m_miss = money[terms[0]][1]
        for k in terms[1:]:
            m_miss = m_miss | money[k][1]
        if "cost" in money:
            m, m_miss = m - money["cost"][0], m_miss | money["cost"][1]
        ok = ~m_miss
        plan |= {"m_missing": count(m_miss), "m": total(m, ok), "mm": total(m * m, ok), "mr": total(m * r, ok)}

    def need(name: str, col: str, what: str) -> None:
        if name in plan and int(sums[name].sum()):
            raise ValueError(f"data column {col!r} has {int(sums[name].sum())} rows with {what}")

    results = []
    for g in [None, *group_cols]:
        sums = _kpi_sums_in_engine(t, g, plan)
        groups = [g] if g else []
        need("nps_bad", nps_col, f"answers outside {NPS_MIN_ANSWER}-{NPS_MAX_ANSWER} (NPS must be 0-10)")
        need("csat_bad", csat_col, f"answers outside {lo}-{hi} (the CSAT scale)")
        need("ret_bad", retained_col, "values that are not a yes/no flag")
        need("ret_missing", retained_col, "missing values; drop or impute them first")
        for key, col in (("exp", expansion_col), ("rev", revenue_col), ("cost", cost_col)):
            need(f"{key}_missing", col, "missing values; drop or impute them first")
        parts = []
        if nps_col in has:
            s = sums[sums["nps_n"] > 0].reset_index(drop=True)
            s = s.assign(n_passives=s["nps_n"] - s["n_promoters"] - s["n_detractors"])
            parts.append(_nps_rows(s, groups, alpha))
        if csat_col in has:
            s = sums[sums["csat_n"] > 0].reset_index(drop=True)
            parts.append(_proportion_rows(s.assign(n=s["csat_n"], successes=s["csat_top"]), groups, alpha,
                                          "csat_top2"))
            parts.append(_mean_rows(s.assign(n=s["csat_n"], s1=s["csat_s1"], s2=s["csat_s2"]), groups, alpha,
                                    "csat_mean"))
        if retained_col in has:
            ret = _proportion_rows(sums.assign(n=sums["rows"], successes=sums["ret_s"]), groups, alpha,
                                   "retention_rate")
            churn = ret.assign(kpi="churn_rate", estimate=1 - ret["estimate"], ci_low=1 - ret["ci_high"],
                               ci_high=1 - ret["ci_low"])
            parts += [ret, churn]
        moments = {k: sums.assign(n=sums[f"{k}_n"], s1=sums[f"{k}_s1"], s2=sums[f"{k}_s2"]) for k in money}
        if "exp" in money:
            parts.append(_proportion_rows(sums.assign(n=sums["rows"], successes=sums["exp_any"]), groups, alpha,
                                          "expansion_rate"))
            parts.append(_mean_rows(moments["exp"], groups, alpha, "expansion_revenue"))
        for key, kpi in (("rev", "revenue"), ("cost", "cost_to_serve"), ("rt", "response_time")):
            if key in money:
                s = moments[key]
                parts.append(_mean_rows(s[s["n"] > 0].reset_index(drop=True), groups, alpha, kpi))
        if "m" in plan:
            need("m_missing", "margin", "missing values; drop or impute them first")
            margin = sums.assign(n=sums["rows"], s1=sums["m"], s2=sums["mm"])
            parts.append(_mean_rows(margin, groups, alpha, "margin"))
            # r is a 0/1 flag: sum r = sum r^2
            parts.append(_clv_rows(sums.assign(n=sums["rows"], r=sums["ret_s"], rr=sums["ret_s"]), groups,
                                   discount_rate, alpha))
        for part in parts:
            part = part.copy()
            part["group_col"] = g or "all"
            part["group"] = part[g].astype(str) if g else "all"
            results.append(part[list(KPI_TABLE_COLUMNS)])
    if not results:
        raise ValueError(f"no KPI column found in the data; columns are {sorted(has)}")
    return pd.concat(results, ignore_index=True)
