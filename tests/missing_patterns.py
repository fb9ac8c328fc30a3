"""A small two-factor, six-item data set with many missing-data patterns: rows with a single
answered item (each item in turn), complete rows, and everything in between (35 % of the
other answers missing). Shared by the FIML and MLR-with-FIML fast-path tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

ITEMS = [f"y{j}" for j in range(1, 7)]
PATTERN = np.array([[1, 0]] * 3 + [[0, 1]] * 3, dtype=bool)


def many_pattern_items(n: int, seed: int, *, heavy_tails: bool = False) -> pd.DataFrame:
    """``heavy_tails``: rows scaled by a common random factor (elliptical), so that the MLR
    scaling factor is not 1."""
    rng = np.random.default_rng(seed)
    f = rng.multivariate_normal([0, 0], [[1, 0.4], [0.4, 1]], size=n)
    scale = np.sqrt(rng.exponential(size=(n, 1)) * 2) if heavy_tails else 1.0
    x = 3 + (np.repeat(f, 3, axis=1) * rng.uniform(0.6, 1.2, 6) + rng.normal(size=(n, 6)) * 0.7) * scale
    x[rng.random(x.shape) < 0.35] = np.nan
    x[:30] = np.nan  # rows with a single answered item, each item in turn
    x[np.arange(30), np.arange(30) % 6] = 3 + rng.normal(size=30)
    x[30:60] = 3 + rng.normal(size=(30, 6))  # complete rows
    return pd.DataFrame(x, columns=ITEMS)
