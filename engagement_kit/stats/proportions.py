"""Intervals for binomial proportions.

The Wilson score interval (statsmodels ``proportion_confint(method="wilson")``),
vectorised, with NaN bounds where there are no observations.

Example
-------
>>> lo, hi = wilson_ci([10], [40])
>>> round(float(lo[0]), 4), round(float(hi[0]), 4)
(0.1419, 0.4019)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from statsmodels.stats.proportion import proportion_confint

__all__ = ["wilson_ci"]


def wilson_ci(successes: ArrayLike, n: ArrayLike, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of ``successes / n``; NaN where ``n`` is 0.

    >>> [round(float(v), 4) for v in np.ravel(wilson_ci(np.array([0, 5]), np.array([0, 5])))]
    [nan, 0.5655, nan, 1.0]
    """
    count = np.asarray(successes, dtype=float)
    nobs = np.asarray(n, dtype=float)
    lo = np.full(count.shape, np.nan)
    hi = np.full(count.shape, np.nan)
    ok = nobs > 0
    if ok.any():
        lo[ok], hi[ok] = proportion_confint(count[ok], nobs[ok], alpha=alpha, method="wilson")
    return lo, hi
