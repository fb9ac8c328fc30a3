"""Survival analysis shared by experiments, journeys and DSCE drivers.

Thin, typed wrappers around statsmodels (``SurvfuncRight``, ``survdiff``,
``PHReg``): Kaplan-Meier curves, median survival, the log-rank test and the Cox
proportional-hazards model, each taking a tidy DataFrame and returning a tidy
DataFrame or a small result record. Rows with a missing duration or event flag
are an error, not silently dropped.

Example
-------
>>> import pandas as pd
>>> df = pd.DataFrame({"t": [5, 8, 12, 3, 9, 14], "e": [1, 0, 1, 1, 1, 0],
...                    "g": ["a", "a", "a", "b", "b", "b"]})
>>> km = kaplan_meier(df, duration="t", event="e", group_col="g")
>>> list(km.columns)
['group', 'time', 'n_at_risk', 'n_events', 'survival', 'ci_low', 'ci_high']
>>> round(logrank(df, duration="t", event="e", group_col="g").p_value, 4)
0.9458
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

__all__ = [
    "kaplan_meier", "median_survival", "survival_at", "logrank", "LogrankResult", "cox", "event_flag",
    "duration_event_arrays",
]  # fmt: skip


def event_flag(values: pd.Series, column: str = "event") -> np.ndarray:
    """Event flag as 0/1 floats; accepts bool, 0/1 and 'TRUE'/'yes'-style strings."""
    s = values
    if s.dtype == bool or pd.api.types.is_bool_dtype(s):
        return s.astype(float).to_numpy()
    if pd.api.types.is_numeric_dtype(s):
        bad = ~s.isin([0, 1])
        if bad.any():
            raise ValueError(
                f"event column {column!r} must be 0/1 or boolean; rows {list(s.index[bad][:5])} "
                f"have {list(s[bad].head(5))}"
            )
        return s.astype(float).to_numpy()
    mapped = s.astype(str).str.strip().str.lower().map(
        {"true": 1.0, "yes": 1.0, "1": 1.0, "false": 0.0, "no": 0.0, "0": 0.0}
    )
    if mapped.isna().any():
        bad = mapped.isna()
        raise ValueError(
            f"event column {column!r} has values that are not a yes/no flag in rows "
            f"{list(s.index[bad][:5])}: {list(s[bad].head(5))}"
        )
    return mapped.to_numpy()


def duration_event_arrays(data: pd.DataFrame, duration: str, event: str) -> tuple[np.ndarray, np.ndarray]:
    """Durations and 0/1 event flags as float arrays; missing values or negative durations are an error.

    >>> duration_event_arrays(pd.DataFrame({"t": [3, 5], "e": ["yes", "no"]}), "t", "e")
    (array([3., 5.]), array([1., 0.]))
    """
    for col in (duration, event):
        if col not in data.columns:
            raise KeyError(f"column {col!r} not in the data; columns are {list(data.columns)}")
    missing = data[[duration, event]].isna().any(axis=1)
    if missing.any():
        raise ValueError(
            f"{int(missing.sum())} rows have a missing {duration!r} or {event!r} "
            f"(first rows {list(data.index[missing][:5])}); drop or impute them first"
        )
    t = pd.to_numeric(data[duration]).to_numpy(dtype=float)
    if (t < 0).any():
        raise ValueError(f"column {duration!r} has negative durations")
    return t, event_flag(data[event], event)


def _loglog_ci(surv: np.ndarray, se: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    # statsmodels gives the Greenwood SE but no pointwise interval; this is the
    # log(-log S) interval (Kalbfleisch & Prentice), the default of R's survfit(conf.type="log-log").
    from scipy import stats

    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_ll = se / (surv * np.abs(np.log(surv)))
        lo = surv ** np.exp(z * se_ll)
        hi = surv ** np.exp(-z * se_ll)
    edge = (surv <= 0) | (surv >= 1)
    lo = np.where(edge, surv, lo)
    hi = np.where(edge, surv, hi)
    return lo, hi


def _groups(data: pd.DataFrame, group_col: str | None) -> list[tuple[object, pd.DataFrame]]:
    if group_col is None:
        return [("all", data)]
    return [(g, d) for g, d in data.groupby(group_col, observed=True, sort=True)]


def kaplan_meier(
    data: pd.DataFrame,
    duration: str,
    event: str,
    group_col: str | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Kaplan-Meier survival curve per group (statsmodels ``SurvfuncRight``).

    Returns one row per group and distinct event time with the number at risk,
    events, survival and a pointwise CI (statsmodels' log-log transform).
    """
    frames = []
    for g, d in _groups(data, group_col):
        t, e = duration_event_arrays(d, duration, event)
        sf = SurvfuncRight(t, e)
        lo, hi = _loglog_ci(sf.surv_prob, sf.surv_prob_se, alpha)
        frames.append(
            pd.DataFrame(
                {
                    "group": g,
                    "time": sf.surv_times,
                    "n_at_risk": sf.n_risk,
                    "n_events": sf.n_events,
                    "survival": sf.surv_prob,
                    "ci_low": lo,
                    "ci_high": hi,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def median_survival(
    data: pd.DataFrame,
    duration: str,
    event: str,
    group_col: str | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Median survival time per group with its CI (Brookmeyer-Crowley, statsmodels).

    NaN where survival never drops to one half (the median is not reached).
    """
    rows = []
    for g, d in _groups(data, group_col):
        t, e = duration_event_arrays(d, duration, event)
        sf = SurvfuncRight(t, e)
        med = sf.quantile(0.5)
        try:
            with np.errstate(divide="ignore", invalid="ignore"):
                lo, hi = sf.quantile_ci(0.5, alpha=alpha)
        except Exception:  # statsmodels raises when the CI cannot be formed
            lo, hi = np.nan, np.nan
        rows.append(
            {
                "group": g,
                "n": len(t),
                "n_events": int(e.sum()),
                "median": float(med) if med is not None else np.nan,
                "ci_low": float(lo) if lo is not None else np.nan,
                "ci_high": float(hi) if hi is not None else np.nan,
            }
        )
    return pd.DataFrame(rows)


def survival_at(durations: np.ndarray, events: np.ndarray, time: float) -> float:
    """Kaplan-Meier survival S(``time``) (1 before the first event time).

    >>> round(survival_at(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 1.0, 0.0, 1.0]), 2.5), 4)
    0.5
    """
    sf = SurvfuncRight(durations, events)
    pos = np.searchsorted(sf.surv_times, time, side="right") - 1
    return 1.0 if pos < 0 else float(sf.surv_prob[pos])


@dataclass(frozen=True)
class LogrankResult:
    """Log-rank test of equal survival across groups.

    ``statistic`` is chi-square with ``df`` = groups - 1.
    """

    statistic: float
    df: int
    p_value: float
    n_groups: int

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)])


def logrank(data: pd.DataFrame, duration: str, event: str, group_col: str) -> LogrankResult:
    """Log-rank test (statsmodels ``survdiff``) of survival across ``group_col``."""
    t, e = duration_event_arrays(data, duration, event)
    groups = data[group_col].to_numpy()
    n_groups = int(pd.Series(groups).nunique())
    if n_groups < 2:
        raise ValueError(f"log-rank needs at least two groups in {group_col!r}; found {n_groups}")
    stat, p = survdiff(t, e, groups)
    return LogrankResult(statistic=float(stat), df=n_groups - 1, p_value=float(p), n_groups=n_groups)


def cox(
    data: pd.DataFrame,
    duration: str,
    event: str,
    predictors: list[str],
    reference: dict[str, object] | None = None,
    alpha: float = 0.05,
    ties: str = "breslow",
) -> pd.DataFrame:
    """Cox proportional-hazards model (statsmodels ``PHReg``).

    Categorical predictors are dummy-coded against ``reference[col]`` (default:
    the first level in sorted order). Returns one row per term with the log
    hazard ratio, its standard error, the hazard ratio with CI, z and p.
    """
    t, e = duration_event_arrays(data, duration, event)
    parts = []
    for col in predictors:
        s = data[col]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            parts.append(s.astype(float).rename(col))
        else:
            levels = sorted(pd.Series(s.dropna().unique()).tolist(), key=str)
            ref = (reference or {}).get(col, levels[0])
            if ref not in levels:
                raise ValueError(f"reference {ref!r} is not a level of {col!r}: {levels}")
            for lev in levels:
                if lev == ref:
                    continue
                parts.append((s == lev).astype(float).rename(f"{col}[{lev}]"))
    X = pd.concat(parts, axis=1)
    if X.isna().any().any():
        bad = X.isna().any(axis=1)
        raise ValueError(
            f"{int(bad.sum())} rows have missing predictor values (first rows "
            f"{list(data.index[bad][:5])}); drop or impute them first"
        )
    res = PHReg(t, X.to_numpy(), status=e, ties=ties).fit()
    params = np.asarray(res.params)
    bse = np.asarray(res.bse)
    from scipy import stats

    zcrit = stats.norm.ppf(1 - alpha / 2)
    z = params / bse
    return pd.DataFrame(
        {
            "term": list(X.columns),
            "log_hr": params,
            "se": bse,
            "hazard_ratio": np.exp(params),
            "ci_low": np.exp(params - zcrit * bse),
            "ci_high": np.exp(params + zcrit * bse),
            "z": z,
            "p_value": 2 * stats.norm.sf(np.abs(z)),
        }
    )
