"""Small cells: no published aggregate describes fewer than ``min_cell_size`` people.

Reports hold aggregates only, but an aggregate of 1 to 4 people identifies them (a segment
x arm mean of two customers is nearly their own revenue). One project-wide minimum cell
size (:data:`MIN_CELL_SIZE`, a parameter of every notebook and analysis entry point)
applies to every published table and plot: a row whose count columns fall below it keeps
its labels, loses every other value (counts included) and is marked ``suppressed = True``;
it is never silently dropped. Survival curves are published on merged time steps instead
(:func:`merge_small_steps`), so that no step rests on fewer than the minimum number of
events or people at risk.

Example
-------
>>> import pandas as pd
>>> t = pd.DataFrame({"segment": ["smb", "vip"], "n": [120, 3], "mean": [10.0, 99.0]})
>>> suppress_small_cells(t, ["n"], labels=["segment"], min_cell_size=10)
  segment      n  mean  suppressed
0     smb  120.0  10.0       False
1     vip    NaN   NaN        True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["MIN_CELL_SIZE", "check_min_cell_size", "merge_small_steps", "suppress_small_cells", "suppression_note"]

#: The default minimum cell size (a common disclosure-control threshold).
MIN_CELL_SIZE = 10


def check_min_cell_size(min_cell_size: int) -> int:
    """``min_cell_size`` as an int >= 1, or a ValueError naming the fix."""
    if isinstance(min_cell_size, bool) or not isinstance(min_cell_size, (int, np.integer)) or min_cell_size < 1:
        raise ValueError(f"min_cell_size must be a whole number >= 1 (default {MIN_CELL_SIZE}), got {min_cell_size!r}")
    return int(min_cell_size)


def suppress_small_cells(
    table: pd.DataFrame,
    count_columns: Sequence[str],
    *,
    labels: Sequence[str],
    min_cell_size: int = MIN_CELL_SIZE,
) -> pd.DataFrame:
    """A copy of ``table`` with a ``suppressed`` column (appended, or updated if present):
    rows where any present ``count_columns`` value is below ``min_cell_size`` keep their
    ``labels`` columns and lose every other value. A count of 0 is no person and is kept.
    """
    min_cell_size = check_min_cell_size(min_cell_size)
    out = table.copy()
    counts = [c for c in count_columns if c in out.columns]
    small = np.zeros(len(out), dtype=bool)
    for c in counts:
        n = pd.to_numeric(out[c], errors="coerce").to_numpy(dtype=float)
        small |= (n > 0) & (n < min_cell_size)
    previous = out["suppressed"].fillna(False).astype(bool).to_numpy() if "suppressed" in out.columns else False
    keep = set(labels) | {"suppressed"}
    blank = [c for c in out.columns if c not in keep]
    if small.any():
        for c in blank:
            if out[c].dtype == bool or not (pd.api.types.is_numeric_dtype(out[c]) or out[c].dtype == object):
                out[c] = out[c].astype(object)
            elif pd.api.types.is_integer_dtype(out[c]):
                out[c] = out[c].astype(float)
            out.loc[small, c] = np.nan
    out["suppressed"] = small | previous
    return out


def merge_small_steps(
    km: pd.DataFrame,
    *,
    time: str = "time",
    events: str = "n_events",
    at_risk: str = "n_at_risk",
    group_cols: Sequence[str] = (),
    min_cell_size: int = MIN_CELL_SIZE,
) -> pd.DataFrame:
    """A Kaplan-Meier table (one row per event time) published on merged steps.

    Within each group, consecutive event times are merged until the merged step holds at
    least ``min_cell_size`` events; the merged row carries the last time and survival of
    the step (the curve at that time is unchanged) and the summed events. Rows once fewer
    than ``min_cell_size`` people are at risk (the curve's tail) are dropped, and a last
    merged step with too few events is folded into the one before. Survival values are
    exact at the published times; only the resolution is coarser.

    >>> km = pd.DataFrame({"time": [1, 2, 3, 4], "n_events": [4, 4, 4, 1],
    ...                    "n_at_risk": [100, 96, 92, 88], "survival": [.96, .92, .88, .87]})
    >>> merge_small_steps(km, min_cell_size=10)[["time", "n_events", "survival"]]
       time  n_events  survival
    0     4        13      0.87
    """
    min_cell_size = check_min_cell_size(min_cell_size)
    parts = []
    groups = km.groupby(list(group_cols), sort=False, dropna=False) if group_cols else [((), km)]
    for _, g in groups:
        g = g.sort_values(time)
        g = g[pd.to_numeric(g[at_risk], errors="coerce") >= min_cell_size] if at_risk in g.columns else g
        if g.empty:
            continue
        ev = pd.to_numeric(g[events], errors="coerce").fillna(0).to_numpy()
        step, acc, ids = 0, 0.0, []
        for e in ev:
            ids.append(step)
            acc += e
            if acc >= min_cell_size:
                step, acc = step + 1, 0.0
        ids_arr = np.array(ids)
        if acc and step > 0:  # a short last step joins the one before
            ids_arr[ids_arr == step] = step - 1
        sums = g.groupby(ids_arr)[events].sum()
        last = g.groupby(ids_arr).tail(1).copy()
        last[events] = sums.to_numpy()
        if acc and step == 0:
            continue  # fewer than the minimum events in the whole group: no curve to publish
        parts.append(last)
    cols = list(km.columns)
    return pd.concat(parts, ignore_index=True)[cols] if parts else km.iloc[:0].copy()


def suppression_note(tables: dict[str, pd.DataFrame], min_cell_size: int, language: str = "en") -> str | None:
    """One Markdown sentence on what was suppressed (None when nothing was), in ``language``."""
    from .i18n import translate

    hits = {n: int(t["suppressed"].fillna(False).astype(bool).sum()) for n, t in tables.items() if "suppressed" in t}
    hits = {n: k for n, k in hits.items() if k}
    if not hits:
        return None
    where = ", ".join(translate("privacy.rows_in", language, rows=k, table=n) for n, k in hits.items())
    return translate("privacy.small_cells", language, rows=sum(hits.values()), min_cell_size=min_cell_size, where=where)
