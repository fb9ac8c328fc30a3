"""Missing answers: the missing-data patterns of the items, as aggregates only.

One row per pattern of unanswered items (``pattern``: the unanswered items joined by
spaces, ``"(complete)"`` for rows that answered every item, ``"(no answer)"`` for rows
that answered none), with ``n_missing_items``, ``n`` (rows) and ``share`` (of all rows).
Patterns met by fewer than ``min_cell_size`` rows are pooled into one row
``"(other patterns, each < k rows)"``: a rare pattern of skipped questions could single a
respondent out, and a table of thousands of one-row patterns says nothing. The pooled row
itself is still subject to the small-cell rule of the result that publishes it.

Which rows each analysis uses: the CFA and invariance models with ``missing="fiml"`` use
every row with at least one answer (full-information ML); with ``missing="listwise"``
only complete rows; Cronbach's alpha and omega always use the complete rows of each scale
(their ``n``); HTMT and the exploratory factor analysis use the rows that answered every
item; scale scores are available-item means (:mod:`.scales`).

Example
-------
>>> import pandas as pd
>>> d = pd.DataFrame({"a": [1, 2, None, 4] * 5, "b": [1, None, 3, 4] * 5})
>>> missing_patterns(d, items=["a", "b"], min_cell_size=5)[["pattern", "n", "share"]]
      pattern   n  share
0  (complete)  10   0.50
1           a   5   0.25
2           b   5   0.25
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..privacy import MIN_CELL_SIZE, check_min_cell_size

__all__ = ["MISSING_PATTERN_COLUMNS", "missing_patterns", "missing_summary"]

MISSING_PATTERN_COLUMNS = ["pattern", "n_missing_items", "n", "share"]


def missing_patterns(data: pd.DataFrame, *, items: Sequence[str], min_cell_size: int = MIN_CELL_SIZE) -> pd.DataFrame:
    """Counts of the missing-data patterns of ``items`` (columns :data:`MISSING_PATTERN_COLUMNS`),
    most frequent first, rare patterns pooled (see the module docstring)."""
    min_cell_size = check_min_cell_size(min_cell_size)
    items = list(items)
    absent = [c for c in items if c not in data.columns]
    if absent:
        raise KeyError(f"items {absent} are not columns of the data")
    miss = data[items].isna().to_numpy()
    total = len(miss)
    if total == 0:
        return pd.DataFrame(columns=MISSING_PATTERN_COLUMNS)
    keys, counts = np.unique(miss, axis=0, return_counts=True)
    rows = []
    other_n = other_k = 0
    for key, n in zip(keys, counts):
        if n < min_cell_size:
            other_n += int(n)
            other_k += 1
            continue
        k = int(key.sum())
        label = "(complete)" if k == 0 else "(no answer)" if k == len(items) else " ".join(
            i for i, m in zip(items, key) if m)
        rows.append({"pattern": label, "n_missing_items": k, "n": int(n), "share": n / total})
    out = pd.DataFrame(rows, columns=MISSING_PATTERN_COLUMNS).sort_values(["n", "pattern"], ascending=[False, True])
    if other_k:
        out = pd.concat([out, pd.DataFrame([{
            "pattern": f"(other patterns, each < {min_cell_size} rows: {other_k})", "n_missing_items": np.nan,
            "n": other_n, "share": other_n / total}])], ignore_index=True)
    return out.reset_index(drop=True)


def missing_summary(data: pd.DataFrame, *, items: Sequence[str]) -> dict[str, float]:
    """Rows, complete rows, rows with no answer, share of answers missing, number of patterns."""
    miss = data[list(items)].isna().to_numpy()
    return {
        "rows": int(miss.shape[0]),
        "complete_rows": int((~miss.any(axis=1)).sum()),
        "empty_rows": int(miss.all(axis=1).sum()),
        "share_missing": float(miss.mean()) if miss.size else 0.0,
        "patterns": len(np.unique(miss, axis=0)) if miss.size else 0,
    }
