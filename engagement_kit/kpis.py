"""KPIs with confidence intervals. NPS primitives live here so that the experiment
engine and the DSCE scorecard share one estimator.

NPS = % promoters (9-10) - % detractors (0-6), in points (-100..100). With
answers multinomial over (promoter, passive, detractor) and shares p_P, p_D, the
per-answer score is +1 / 0 / -1, so Var(NPS/100) = (p_P + p_D - (p_P - p_D)^2) / n.

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

__all__ = ["NPSResult", "nps", "nps_score", "nps_from_counts", "nps_category"]

PROMOTER_MIN = 9
DETRACTOR_MAX = 6


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
