"""Scale scoring: item -> scale map, reverse-keyed items, Likert range, mean or sum scores.

Missing data
------------
* **Scoring** (:func:`score_scales`) is *available-item* (pairwise within a person):
  a respondent's scale score is the mean of the items they answered, provided they
  answered at least ``min_answered`` (a share, default 0.5) of the scale's items;
  otherwise the score is NaN. ``method="sum"`` is the prorated sum (mean x number of
  items) so sums stay comparable when an item is skipped.
* **Reliability and factor analysis** use *listwise* deletion over the items they
  analyse (a row with any missing item is dropped); the ``n`` they report is the
  number of complete rows.

Reverse-keyed items are rescored as ``likert_min + likert_max - x``. When the items
are not on a bounded answer scale (``likert_min=None`` / ``likert_max=None``, e.g.
the simulator's ``item_scale="continuous"``) they are negated instead.

Example
-------
>>> import pandas as pd
>>> df = pd.DataFrame({"a_1": [1, 5, 7], "a_2": [2, 4, 6], "a_3": [7, 3, 1]})
>>> score_scales(df, scales={"a": ["a_1", "a_2", "a_3"]}, reverse_items=["a_3"])["a"].round(3).tolist()
[1.333, 4.667, 6.667]
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from ..validation import check_finite

__all__ = [
    "MeasurementWarning",
    "check_scales",
    "reverse_score",
    "prepare_items",
    "score_scales",
    "scale_means",
    "answer_shares",
]

Scales = Mapping[str, list[str]]


class MeasurementWarning(UserWarning):
    """A documented, non-fatal problem with the items (e.g. a constant item)."""


def check_scales(
    data: pd.DataFrame,
    *,
    scales: Scales,
    reverse_items: Iterable[str] = (),
    likert_min: float | None = 1,
    likert_max: float | None = 7,
    min_items: int = 2,
) -> None:
    """Validate an item -> scale map against the data; raise a clear error if it is wrong.

    Errors: an item listed in two scales, a scale with fewer than ``min_items`` items,
    an item that is not a column, a non-numeric item, an infinite or overflowing answer
    (:class:`~engagement_kit.validation.ValidationError`, a ValueError: it would turn
    every covariance into inf/NaN), answers outside ``[likert_min, likert_max]``, and on
    a bounded answer scale (both limits given) answers that are not whole points (3.5 is
    an average or an imputation, not an answer), a reverse-keyed item that belongs to no
    scale. Warning (:class:`MeasurementWarning`): a constant item (zero variance), which
    carries no information and makes factor models fail.

    Example
    -------
    >>> df = pd.DataFrame({"a_1": [1, 4, 7], "a_2": [2, 3.5, 6]})
    >>> check_scales(df, scales={"a": ["a_1", "a_2"]})
    Traceback (most recent call last):
    ...
    ValueError: items ['a_2'] have answers that are not whole points of the Likert scale [1, 7] (e.g. 3.5; first rows [1]); ...
    """
    if not scales:
        raise ValueError("scales is empty; give a dict scale -> list of item columns")
    seen: dict[str, str] = {}
    for scale, items in scales.items():
        if isinstance(items, str):
            raise TypeError(f"scale {scale!r}: items must be a list of column names, not the string {items!r}")
        if len(items) < min_items:
            raise ValueError(
                f"scale {scale!r} has {len(items)} item(s) {list(items)}; reliability and factor models "
                f"need at least {min_items} items per scale (analyse a single item as an observed variable)"
            )
        if len(set(items)) != len(items):
            raise ValueError(f"scale {scale!r} lists an item twice: {list(items)}")
        for item in items:
            if item in seen:
                raise ValueError(
                    f"item {item!r} is in two scales ({seen[item]!r} and {scale!r}); each item must "
                    "measure one scale"
                )
            seen[item] = scale
    missing = [i for i in seen if i not in data.columns]
    if missing:
        raise KeyError(f"item columns {missing} are not in the survey table; columns are {list(data.columns)}")
    stray = [i for i in reverse_items if i not in seen]
    if stray:
        raise ValueError(f"reverse_items {stray} belong to no scale; scale items are {list(seen)}")
    items = list(seen)
    non_numeric = [i for i in items if not pd.api.types.is_numeric_dtype(data[i]) or pd.api.types.is_bool_dtype(data[i])]
    if non_numeric:
        raise TypeError(f"item columns {non_numeric} are not numeric; convert the answers to numbers first")
    check_finite(data, items, table="survey items")
    values = data[items]
    if likert_min is not None or likert_max is not None:
        lo = -np.inf if likert_min is None else likert_min
        hi = np.inf if likert_max is None else likert_max
        out = (values < lo) | (values > hi)
        if out.any().any():
            bad_cols = list(out.columns[out.any()])
            rows = list(values.index[out.any(axis=1)][:5])
            raise ValueError(
                f"items {bad_cols} have answers outside the Likert range [{likert_min}, {likert_max}] "
                f"(first rows {rows}); fix the data or pass the right likert_min / likert_max"
            )
    if likert_min is not None and likert_max is not None:
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            frac = np.isfinite(arr) & (arr != np.round(arr))
        if frac.any():
            bad_cols = [c for c, b in zip(values.columns, frac.any(axis=0)) if b]
            rows = list(values.index[frac.any(axis=1)][:5])
            examples = ", ".join(f"{v:g}" for v in pd.unique(arr[frac])[:3])
            raise ValueError(
                f"items {bad_cols} have answers that are not whole points of the Likert scale "
                f"[{likert_min}, {likert_max}] (e.g. {examples}; first rows {rows}); a Likert answer is "
                "one of the scale's points: correct these answers (an averaged or imputed value?) or blank "
                "them; if the items are continuous scores, pass likert_min=None, likert_max=None"
            )
    sd = values.std(skipna=True)
    constant = list(sd.index[(sd == 0) | sd.isna()])
    if constant:
        warnings.warn(
            f"items {constant} are constant (zero variance); they carry no information and factor "
            "models cannot use them; drop them from the scales",
            MeasurementWarning,
            stacklevel=2,
        )


def reverse_score(
    data: pd.DataFrame,
    *,
    items: Iterable[str],
    likert_min: float | None = 1,
    likert_max: float | None = 7,
) -> pd.DataFrame:
    """A copy of ``data`` with ``items`` reverse-scored (``min + max - x``, or ``-x`` if unbounded)."""
    out = data.copy()
    for item in items:
        if likert_min is None or likert_max is None:
            out[item] = -out[item].astype(float)
        else:
            out[item] = likert_min + likert_max - out[item].astype(float)
    return out


def prepare_items(
    data: pd.DataFrame,
    *,
    scales: Scales,
    reverse_items: Iterable[str] = (),
    likert_min: float | None = 1,
    likert_max: float | None = 7,
    min_items: int = 2,
) -> pd.DataFrame:
    """Validated, reverse-scored item columns (float) of all scales, in scale order."""
    reverse_items = list(reverse_items)
    check_scales(data, scales=scales, reverse_items=reverse_items, likert_min=likert_min, likert_max=likert_max,
                 min_items=min_items)
    items = [i for its in scales.values() for i in its]
    return reverse_score(data[items].astype(float), items=reverse_items, likert_min=likert_min, likert_max=likert_max)


def score_scales(
    data: pd.DataFrame,
    *,
    scales: Scales,
    reverse_items: Iterable[str] = (),
    likert_min: float | None = 1,
    likert_max: float | None = 7,
    method: str = "mean",
    min_answered: float = 0.5,
    keep: Iterable[str] = (),
) -> pd.DataFrame:
    """Scale scores, one column per scale (plus the ``keep`` columns of ``data``).

    ``method`` is ``"mean"`` or ``"sum"`` (prorated; see the module docstring for
    missing data). A score is NaN when fewer than ``min_answered`` of its items
    were answered.
    """
    if method not in ("mean", "sum"):
        raise ValueError(f"method must be 'mean' or 'sum', not {method!r}")
    if not 0 < min_answered <= 1:
        raise ValueError(f"min_answered is a share in (0, 1]; got {min_answered}")
    items = prepare_items(data, scales=scales, reverse_items=reverse_items, likert_min=likert_min, likert_max=likert_max)
    out = data[list(keep)].copy() if keep else pd.DataFrame(index=data.index)
    for scale, its in scales.items():
        block = items[its]
        answered = block.notna().sum(axis=1)
        score = block.mean(axis=1, skipna=True)
        if method == "sum":
            score = score * len(its)
        out[scale] = score.where(answered >= min_answered * len(its))
    return out


def scale_means(data: pd.DataFrame, *, scales: Iterable[str], group_col: str | None = None) -> pd.DataFrame:
    """Scale-score mean and SD per group (``group, scale, n, mean, sd``) of the scale-score
    table ``data``; one group ``all`` if none."""
    scales = list(scales)
    d = data.assign(_g="all") if group_col is None else data.rename(columns={group_col: "_g"})
    long = d.melt(id_vars="_g", value_vars=scales, var_name="scale", value_name="score").dropna()
    out = long.groupby(["_g", "scale"], sort=False)["score"].agg(n="count", mean="mean", sd="std").reset_index()
    return out.rename(columns={"_g": "group"})


def answer_shares(
    data: pd.DataFrame, *, items: Iterable[str], likert_min: int = 1, likert_max: int = 7
) -> pd.DataFrame:
    """Share of each answer (as given, rounded to a point) per item: items x levels
    ``likert_min .. likert_max``, each row summing to 1 over the answered rows.

    >>> answer_shares(pd.DataFrame({"q": [1, 2, 2, 3]}), items=["q"], likert_min=1, likert_max=3).loc["q"].tolist()
    [0.25, 0.5, 0.25]
    """
    levels = np.arange(likert_min, likert_max + 1)
    shares = pd.DataFrame(
        {i: data[i].round().value_counts(normalize=True).reindex(levels, fill_value=0.0) for i in items}
    ).T
    return shares.rename_axis(index="item", columns="answer")
