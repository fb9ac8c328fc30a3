"""A foreign-shaped survey for the measurement tests: three correlated factors, three
1-5 Likert items each (``sat_a .. tru_c``), a respondent id ``resp``; no demo columns."""

from __future__ import annotations

import numpy as np
import pandas as pd

SCALES = {s: [f"{s}_{j}" for j in "abc"] for s in ("sat", "loy", "tru")}


def three_factor_survey(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """``(survey, factors)``: items = 0.8 x factor + noise on a 1-5 scale (factor
    correlations .3), ids ``R0001``...; ``factors`` is the n x 3 array of true scores."""
    rng = np.random.default_rng(seed)
    corr = np.full((3, 3), 0.3) + 0.7 * np.eye(3)
    f = rng.normal(size=(n, 3)) @ np.linalg.cholesky(corr).T
    data = {"resp": [f"R{k:04d}" for k in range(1, n + 1)]}
    for k, items in enumerate(SCALES.values()):
        for item in items:
            x = 0.8 * f[:, k] + 0.6 * rng.normal(size=n)
            data[item] = np.clip(np.round(3 + 1.1 * x), 1, 5).astype(int)
    return pd.DataFrame(data), f
