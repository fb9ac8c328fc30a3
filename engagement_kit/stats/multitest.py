"""Multiplicity correction: one vocabulary for every function that corrects.

``holm`` (Holm step-down, the default everywhere), ``fdr_bh`` (Benjamini-Hochberg
step-up), ``bonferroni`` and ``none``: the statsmodels ``multipletests`` names, and
no other spelling is accepted. :func:`adjust` corrects any number of families in one
call; NaN p-values are left out of their family and stay NaN.

Hand-written (not ``multipletests``) only because statsmodels' Holm branch calls
``gc.collect()`` on every call (0.1-0.2 s with a large heap: a third of the 10M-row
experiment benchmark, and minutes for thousands of families such as segments or
simulated replicates). Same step-down / step-up formulas with the same arithmetic;
``tests/test_experiments.py`` checks equality with ``multipletests`` family by family.

Example
-------
>>> adjust([0.01, 0.04, 0.03], "holm").round(2).tolist()
[0.03, 0.06, 0.06]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = ["METHODS", "check_method", "adjust"]

#: The accepted correction names.
METHODS: tuple[str, ...] = ("holm", "fdr_bh", "bonferroni", "none")


def check_method(method: str) -> str:
    """``method`` if it is one of :data:`METHODS`, else a ValueError naming them.

    >>> check_method("bh")
    Traceback (most recent call last):
    ...
    ValueError: correction must be one of 'holm', 'fdr_bh', 'bonferroni', 'none'; got 'bh'
    """
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"correction must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    return method


def adjust(p: ArrayLike, method: str = "holm", family: ArrayLike | None = None) -> np.ndarray:
    """Adjusted p-values, corrected within each ``family`` (integer codes; default one family).

    >>> adjust([0.01, 0.04, 0.02, 0.04], "fdr_bh", family=[0, 0, 1, 1]).round(2).tolist()
    [0.02, 0.04, 0.04, 0.04]
    """
    check_method(method)
    pv_all = np.asarray(p, dtype=float)
    if method == "none":
        return pv_all.copy()
    fam_all = np.zeros(len(pv_all), dtype=np.int64) if family is None else np.asarray(family, dtype=np.int64)
    ok = ~np.isnan(pv_all)
    out = np.full(len(pv_all), np.nan)
    pv, fam = pv_all[ok], fam_all[ok]
    order = np.lexsort((pv, fam))  # by family, then p ascending
    ps, fs = pv[order], fam[order]
    m = np.bincount(fs)[fs].astype(float)  # family size per row
    start = np.searchsorted(fs, fs)  # first row of the row's family
    rank = np.arange(len(ps)) - start  # 0-based rank within family
    if method == "bonferroni":
        adj = np.minimum(1.0, ps * m)
    elif method == "holm":  # step-down: running max within family
        adj = pd.Series(np.minimum(1.0, ps * (m - rank))).groupby(fs).cummax().to_numpy()
    else:  # fdr_bh, step-up: running min from the largest p within family; p / ecdf as statsmodels
        raw = pd.Series(np.minimum(1.0, ps / ((rank + 1) / m))[::-1])
        adj = raw.groupby(fs[::-1]).cummin().to_numpy()[::-1]
    res = np.empty(len(ps))
    res[order] = adj
    out[ok] = res
    return out
