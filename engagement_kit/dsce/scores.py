"""DSCE arithmetic: ratings -> component scores -> index, targets and gaps; group means.

1. **Component score.** A rating r on a declared scale [scale_min, scale_max] becomes
   s = 100 (r - scale_min) / (scale_max - scale_min), 0 = bottom of the scale, 100 = top.
   Ratings outside the scale are an error (never clipped).
2. **Index.** The weighted mean of the component scores, I = sum_c w_c s_c with
   sum_c w_c = 1 (0-100). Equal weights by default; fitted weights come from
   :mod:`engagement_kit.dsce.drivers`.
3. **Targets and gaps.** The desired state per component is a rating (default: the top
   of the scale, i.e. score 100), given as one number, a dict per component, or per
   account in ``target_<component>`` columns of the dsce table. gap_c = target score -
   score (positive = shortfall); the index gap is target index - index, same weights.
4. **Groups.** Means of scores, index and gaps per group with t intervals
   (:func:`group_summary`, the ``dsce_segments`` table).

The ratings table is checked by its data contract (:func:`engagement_kit.validation.check`,
kind ``dsce``, with ``dsce_range=(scale_min, scale_max)`` and the components declared):
one set of checks, one error type (:class:`~engagement_kit.validation.ValidationError`).
Missing ratings are an error by default; with ``missing="reweight"`` the index of that
account averages the rated components with their weights renormalised.

>>> ratings = pd.DataFrame({"customer_id": ["A", "B"], "customer_intent": [5, 3],
...                         "anticipation": [1, 3]})
>>> dsce_index(ratings, components=["customer_intent", "anticipation"])[["index", "gap"]].to_dict("list")
{'index': [50.0, 50.0], 'gap': [50.0, 50.0]}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from ..frameworks import DSCE_COMPONENT_NAMES
from ..schema import DSCE_MAX, DSCE_MIN
from ..validation import Problem, ValidationError, check

__all__ = [
    "SCORE_MAX",
    "SEGMENT_COLUMNS",
    "check_ratings",
    "component_scores",
    "target_scores",
    "resolve_weights",
    "dsce_index",
    "group_summary",
]

#: Columns of ``dsce_segments.csv``.
SEGMENT_COLUMNS: tuple[str, ...] = (
    "group_col",
    "group",
    "component",
    "n",
    "score",
    "score_ci_low",
    "score_ci_high",
    "target",
    "gap",
    "gap_ci_low",
    "gap_ci_high",
)

SCORE_MAX = 100.0
ID = "customer_id"


def _check_scale(scale_min: float, scale_max: float) -> None:
    if not scale_max > scale_min:
        raise ValueError(f"scale_max ({scale_max}) must be greater than scale_min ({scale_min})")


# ---------------------------------------------------------------------------
# Ratings -> scores -> index
# ---------------------------------------------------------------------------


def check_ratings(
    data: pd.DataFrame,
    *,
    components: Iterable[str] = DSCE_COMPONENT_NAMES,
    scale_min: float = DSCE_MIN,
    scale_max: float = DSCE_MAX,
    missing: str = "error",
    table: str = "dsce",
) -> pd.DataFrame:
    """The ratings table checked by the ``dsce`` data contract and coerced (ids as text,
    ratings as floats); raises :class:`~engagement_kit.validation.ValidationError` listing
    every problem (table, column, rows, fix).

    The contract checks the id column (present, unique, no gaps), that every component
    in ``components`` is a numeric column within [scale_min, scale_max], and that every
    account has at least one rating. On top, missing ratings are an error unless
    ``missing="reweight"`` (a choice of the scorecard, not a property of the table).

    >>> check_ratings(pd.DataFrame({"customer_id": [7], "journey": ["4"]}), components=["journey"]).to_dict("list")
    {'customer_id': ['7'], 'journey': [4.0]}
    """
    _check_scale(scale_min, scale_max)
    if missing not in ("error", "reweight"):
        raise ValueError(f"missing must be 'error' or 'reweight', not {missing!r}")
    components = list(components)
    extra: list[Problem] = []
    if missing == "error" and isinstance(data, pd.DataFrame):
        for c in components:
            if c in data.columns and data[c].isna().any():
                gaps = data[c].isna().to_numpy()
                extra.append(
                    Problem.from_mask(
                        table, c, f"missing rating in {int(gaps.sum())} row(s)",
                        "rate them, drop the accounts, or pass missing='reweight' to average the rated components",
                        "missing_values", gaps,
                    )
                )  # fmt: skip
    try:
        clean = check(data, "dsce", dsce_range=(scale_min, scale_max), dsce_components=components, table=table)
    except ValidationError as err:
        raise ValidationError([*err.problems, *extra], source=table) from None
    if extra:
        raise ValidationError(extra, source=table)
    return clean


def component_scores(
    data: pd.DataFrame,
    *,
    components: Iterable[str] = DSCE_COMPONENT_NAMES,
    scale_min: float = DSCE_MIN,
    scale_max: float = DSCE_MAX,
    missing: str = "error",
) -> pd.DataFrame:
    """Normalised component scores, 100 (rating - scale_min) / (scale_max - scale_min).

    Returns ``customer_id`` plus one ``score_<component>`` column per component.

    >>> df = pd.DataFrame({"customer_id": ["A"], "journey": [4]})
    >>> component_scores(df, components=["journey"]).to_dict("records")
    [{'customer_id': 'A', 'score_journey': 75.0}]
    """
    components = list(components)
    data = check_ratings(data, components=components, scale_min=scale_min, scale_max=scale_max, missing=missing)
    out = pd.DataFrame({ID: data[ID].to_numpy()})
    r = data[components].apply(pd.to_numeric).to_numpy(dtype=float)
    s = SCORE_MAX * (r - scale_min) / (scale_max - scale_min)
    for j, c in enumerate(components):
        out[f"score_{c}"] = s[:, j]
    return out


def target_scores(
    data: pd.DataFrame,
    *,
    components: Iterable[str] = DSCE_COMPONENT_NAMES,
    targets: float | Mapping[str, float] | None = None,
    scale_min: float = DSCE_MIN,
    scale_max: float = DSCE_MAX,
) -> pd.DataFrame:
    """Desired-state targets as scores (0-100), one row per account, one column per component.

    ``targets``: None -> ``target_<component>`` columns of ``data`` where present,
    else the top of the scale; a number -> that rating for every component; a
    dict -> per component (components not in the dict: top of the scale). Target
    ratings outside the scale are an error (:class:`~engagement_kit.validation.ValidationError`).
    """
    components = list(components)
    _check_scale(scale_min, scale_max)
    cols = {}
    problems: list[Problem] = []
    fix = "give targets on the declared scale (the targets parameter, or the target_<component> columns)"
    for c in components:
        if targets is None:
            col = f"target_{c}"
            if col in data.columns:
                t = pd.to_numeric(data[col], errors="coerce")
                if t.isna().any():
                    problems.append(
                        Problem.from_mask("dsce", col, "missing or non-numeric targets", fix, "missing_values", t.isna())
                    )
                t = t.to_numpy(dtype=float)
            else:
                t = np.full(len(data), float(scale_max))
        elif isinstance(targets, Mapping):
            unknown = set(targets) - set(components)
            if unknown:
                raise ValidationError(
                    [Problem("targets", None, (), f"unknown component(s) {sorted(unknown)}",
                             f"name components of the table: {components}", "unknown_label")]
                )  # fmt: skip
            t = np.full(len(data), float(targets.get(c, scale_max)))
        else:
            t = np.full(len(data), float(targets))
        bad = (t < scale_min) | (t > scale_max)
        if np.any(bad):
            problems.append(
                Problem.from_mask(
                    "targets", c,
                    f"target for {c!r} is outside the declared scale {scale_min:g}-{scale_max:g}: {list(np.unique(t[bad]))[:5]}",
                    fix, "out_of_range", bad,
                )
            )  # fmt: skip
        cols[c] = SCORE_MAX * (t - scale_min) / (scale_max - scale_min)
    if problems:
        raise ValidationError(problems, source="targets")
    return pd.DataFrame(cols, index=data.index)


def resolve_weights(weights: str | Mapping[str, float] | pd.Series, *, components: Iterable[str]) -> pd.Series:
    """Component weights normalised to sum to one.

    ``"equal"`` or a mapping component -> non-negative weight (components not
    listed get 0). The string ``"fitted"`` is resolved by the scorecard, which needs
    outcomes; pass the result of :func:`engagement_kit.dsce.drivers.fitted_weights` here.

    >>> resolve_weights({"a": 1, "b": 3}, components=["a", "b"]).to_dict()
    {'a': 0.25, 'b': 0.75}
    """
    components = list(components)
    if isinstance(weights, str):
        if weights == "equal":
            return pd.Series(1.0 / len(components), index=components, name="weight")
        raise ValueError(
            f"weights must be 'equal' or a mapping component -> weight, not {weights!r} "
            "('fitted' needs outcomes: use scorecard() or fitted_weights())"
        )
    w = pd.Series(dict(weights), dtype=float)
    unknown = sorted(set(w.index) - set(components))
    if unknown:
        raise ValueError(f"weights name unknown component(s) {unknown}; components are {components}")
    w = w.reindex(components).fillna(0.0)
    if (w < 0).any() or not np.isfinite(w).all():
        raise ValueError(f"weights must be finite and non-negative; got {w.to_dict()}")
    if w.sum() <= 0:
        raise ValueError("weights sum to zero; give at least one component a positive weight")
    return (w / w.sum()).rename("weight")


def _weighted(scores: np.ndarray, w: np.ndarray) -> np.ndarray:
    # Weighted mean over the non-missing components, weights renormalised per row
    # (identical to sum w_c s_c when nothing is missing, since sum w_c = 1).
    present = ~np.isnan(scores)
    ww = np.where(present, w[None, :], 0.0)
    total = ww.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.nansum(scores * ww, axis=1) / total, np.nan)


def dsce_index(
    data: pd.DataFrame,
    *,
    components: Iterable[str] = DSCE_COMPONENT_NAMES,
    weights: str | Mapping[str, float] | pd.Series = "equal",
    targets: float | Mapping[str, float] | None = None,
    scale_min: float = DSCE_MIN,
    scale_max: float = DSCE_MAX,
    missing: str = "error",
) -> pd.DataFrame:
    """Per-account component scores, index, target index and gaps (see the module docstring).

    Columns: ``customer_id``, ``score_<c>``, ``index``, ``target_index``, ``gap``,
    ``gap_<c>`` (target score - score; positive = short of the desired state).

    >>> df = pd.DataFrame({"customer_id": ["A"], "education": [2], "journey": [4]})
    >>> r = dsce_index(df, components=["education", "journey"], weights={"education": 1, "journey": 3}, targets=4)
    >>> r[["index", "target_index", "gap", "gap_education", "gap_journey"]].to_dict("records")
    [{'index': 62.5, 'target_index': 75.0, 'gap': 12.5, 'gap_education': 50.0, 'gap_journey': 0.0}]
    """
    components = list(components)
    w = resolve_weights(weights, components=components).to_numpy()
    out = component_scores(data, components=components, scale_min=scale_min, scale_max=scale_max, missing=missing)
    s = out[[f"score_{c}" for c in components]].to_numpy(dtype=float)
    t = target_scores(data, components=components, targets=targets, scale_min=scale_min, scale_max=scale_max)
    t = t.to_numpy(dtype=float)
    t_present = np.where(np.isnan(s), np.nan, t)  # target index over the same rated components
    out["index"] = _weighted(s, w)
    out["target_index"] = _weighted(t_present, w)
    out["gap"] = out["target_index"] - out["index"]
    for j, c in enumerate(components):
        out[f"gap_{c}"] = t[:, j] - s[:, j]
    return out


def group_summary(
    scores: pd.DataFrame,
    *,
    group_cols: Iterable[str] = (),
    components: Iterable[str] = DSCE_COMPONENT_NAMES,
    alpha: float = 0.05,
    index_cols: Iterable[str] = ("index",),
) -> pd.DataFrame:
    """Mean score, target and gap per group with t intervals (``dsce_segments.csv``).

    ``scores`` is the output of :func:`dsce_index` joined with the group columns.
    One block of rows overall (group_col 'all') and one per column in
    ``group_cols``; ``component`` is a component name or an index column.
    Targets and gaps are reported for the components and for ``index`` (the
    chosen weights); the alternative index columns (``index_equal``,
    ``index_fitted``) carry scores only, with target and gap left empty. A group
    of one account has no interval (ci columns empty), as a t interval needs two.
    """
    components = list(components)
    index_cols = list(index_cols)
    frame = scores.copy()
    for c in components:
        frame[f"target_{c}__"] = frame[f"score_{c}"] + frame[f"gap_{c}"]
    frame["target_index__"] = frame["index"] + frame["gap"]
    score_cols, gap_cols, target_cols = measure_columns(components, index_cols)
    rows = []
    for g in [None, *group_cols]:
        if g is not None and frame[g].isna().any():
            raise ValueError(f"group column {g!r} has missing values; fill or drop them first")
        key = np.full(len(frame), "all", dtype=object) if g is None else frame[g].astype(str).to_numpy()
        # one pass per grouping: count, mean and SD of every measure (t interval as in kpis.mean_by_group)
        agg = frame[score_cols + gap_cols + target_cols].groupby(key, sort=True).agg(["count", "mean", "std"])
        n, mean, sd = (agg.xs(stat, axis=1, level=1) for stat in ("count", "mean", "std"))
        rows.append(segment_rows(g or "all", n, mean, sd, components=components, index_cols=index_cols,
                                 alpha=alpha))
    return pd.concat(rows, ignore_index=True)[list(SEGMENT_COLUMNS)]


def measure_columns(components: list[str], index_cols: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(score, gap, target) measure columns that :func:`group_summary` averages per group."""
    score_cols = [f"score_{c}" for c in components] + list(index_cols)
    gap_cols = [f"gap_{c}" for c in components] + ["gap"]
    target_cols = [f"target_{c}__" for c in components] + ["target_index__"]
    return score_cols, gap_cols, target_cols


def segment_rows(
    group_col: str, n: pd.DataFrame, mean: pd.DataFrame, sd: pd.DataFrame, *, components: list[str],
    index_cols: list[str], alpha: float,
) -> pd.DataFrame:
    """The ``dsce_segments`` rows of one grouping from per-group count, mean and SD of each
    measure (frames indexed by the sorted group labels, one column per measure): shared by
    the pandas path and the engine path (:mod:`engagement_kit.dsce.sufficient`)."""
    score_cols, gap_cols, target_cols = measure_columns(components, index_cols)
    labels = components + list(index_cols)
    with_gap = components + ["index"]
    with np.errstate(divide="ignore", invalid="ignore"):
        half = stats.t.ppf(1 - alpha / 2, n - 1) * sd / np.sqrt(n)
    groups = n.index.to_numpy()
    long = pd.DataFrame(
        {
            "group_col": group_col,
            "group": np.repeat(groups, len(labels)),
            "component": np.tile(labels, len(groups)),
            "n": n[score_cols].to_numpy().ravel().astype(int),
            "score": mean[score_cols].to_numpy().ravel(),
            "score_ci_low": (mean[score_cols] - half[score_cols]).to_numpy().ravel(),
            "score_ci_high": (mean[score_cols] + half[score_cols]).to_numpy().ravel(),
        }
    )
    gaps = pd.DataFrame(
        {
            "group": np.repeat(groups, len(with_gap)),
            "component": np.tile(with_gap, len(groups)),
            "target": mean[target_cols].to_numpy().ravel(),
            "gap": mean[gap_cols].to_numpy().ravel(),
            "gap_ci_low": (mean[gap_cols] - half[gap_cols]).to_numpy().ravel(),
            "gap_ci_high": (mean[gap_cols] + half[gap_cols]).to_numpy().ravel(),
        }
    )
    return long.merge(gaps, on=["group", "component"], how="left")
