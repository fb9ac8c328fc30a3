"""The desired state of customer engagement (DSCE) as a measurable scorecard.

The essay behind the toolkit defines the desired state as the "sum" of eight
components (customer intent, anticipation, product adoption, outcomes at scale,
relationships, communication, education, journey) and leaves the arithmetic
open. Here it is made explicit:

1. **Component score.** A rating r on a declared scale [scale_min, scale_max]
   becomes s = 100 (r - scale_min) / (scale_max - scale_min), 0 = bottom of the
   scale, 100 = top. Ratings outside the scale are an error (never clipped).
2. **Index.** The weighted mean of the component scores, I = sum_c w_c s_c with
   sum_c w_c = 1 (0-100). Equal weights (1/8) by default. "Fitted" weights come
   from the churn (or expansion) driver model below: w_c proportional to
   max(0, -beta_c) for churn (max(0, beta_c) for expansion), beta_c the
   coefficient per SD of the rating, adjusted for touch model and segment. A
   component whose higher rating goes with *more* churn gets weight 0 (clipped,
   not negative: the index must stay monotone in every rating). Fitted weights
   describe which ratings went with the outcome in *this* data; they are noisy
   (null components get small positive weights by chance) and observational, so
   equal weights stay the default and both are shown side by side.
3. **Targets and gaps.** The desired state per component is a rating (default:
   the top of the scale, i.e. score 100), given as one number, a dict per
   component, or per account in ``target_<component>`` columns of the dsce table.
   gap_c = target score - score (positive = shortfall); the index gap is
   target index - index, with the same weights.
4. **Groups.** Means of scores, index and gaps per segment and per touch model
   with t intervals (:func:`engagement_kit.kpis.mean_by_group`).
5. **Drivers.** Which components predict churn (Cox model via
   :func:`engagement_kit.stats.survival.cox`, or a logit of the churn flag) and
   expansion (two-part: logit of any expansion among retained accounts, OLS of
   log expansion among expanders with HC3 errors; or one OLS of expansion
   revenue with HC3 errors), all components in one model, adjusted for touch
   model and segment; Holm (default) correction across every component x
   outcome test (:func:`engagement_kit.stats.multitest.adjust`). Ratings are
   observational: a driver is a component whose rating *predicts* the outcome
   after adjustment, not proof that raising it changes the outcome (accounts
   that rate well may differ in ways the ratings do not capture).
6. **Assessment helper.** :data:`QUESTIONS` turns the essay's questions into a
   questionnaire; :func:`questionnaire_template` writes one row per account x
   question for an analyst to fill in, :func:`validate_answers` checks a filled
   sheet and :func:`answers_to_dsce` turns it into the wide dsce table (the
   component rating is the mean of its answered questions).

Bad input. Ratings outside the declared scale, non-numeric ratings, duplicated
or missing account ids and missing component columns raise
:class:`DSCEInputError` naming the table, column, rows and the fix. Missing
ratings are an error by default; with ``missing="reweight"`` the index of that
account averages the rated components with their weights renormalised (the
driver models then use complete cases only). Accounts in the dsce table that
are absent from outcomes or customers are an error by default; with
``on_unmatched="drop"`` they are dropped with a warning giving the count.
Accounts with outcomes but no assessment are simply not scored.

Output tables (the CSV interface of ``notebooks/dsce_scorecard.ipynb``)
-----------------------------------------------------------------------
``dsce_scores.csv`` - one row per account (the only table with account ids):
    customer_id; score_<component> (0-100) for each component; index (the
    chosen weights), index_equal, index_fitted (when fitted weights were
    computed); target_index; gap (target_index - index); gap_<component>.
``dsce_segments.csv`` - one row per grouping x group x measure:
    group_col ('all', the segment column or the touch-model column), group,
    component (a component name, 'index', 'index_equal' or 'index_fitted'), n,
    score (mean, 0-100), score_ci_low, score_ci_high, target (mean target score),
    gap (mean gap), gap_ci_low, gap_ci_high (t intervals).
``dsce_drivers.csv`` - one row per component x outcome:
    component, outcome ('churn', 'expansion_any', 'expansion_amount' or
    'expansion_revenue'), model, estimate (per SD of the rating: log hazard
    ratio, log odds ratio, change in log expansion or in expansion revenue),
    se, ci_low, ci_high, p_value, p_adjusted (``correction`` across all rows),
    flagged (p_adjusted < alpha), n, unit.
``dsce_weights.csv`` - one row per component: component, equal_weight,
    fitted_weight, fitted_from (the outcome), estimate, ci_low, ci_high,
    p_adjusted (of that driver model).
``kpis.csv`` - see :mod:`engagement_kit.kpis`.

Example
-------
>>> import pandas as pd
>>> ratings = pd.DataFrame({"customer_id": ["A", "B"], "customer_intent": [5, 3],
...                         "anticipation": [1, 3]})
>>> dsce_index(ratings, components=["customer_intent", "anticipation"])[["index", "gap"]].to_dict("list")
{'index': [50.0, 50.0], 'gap': [50.0, 50.0]}
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..frameworks import DSCE_COMPONENT_NAMES, DSCE_COMPONENTS
from ..markdown import escape
from ..kpis import kpi_table
from ..schema import DSCE_MAX, DSCE_MIN
from ..stats import multitest
from ..stats.survival import cox, event_flag

__all__ = [
    "DSCEInputError",
    "QUESTIONS",
    "validate_ratings",
    "component_scores",
    "target_scores",
    "resolve_weights",
    "dsce_index",
    "merge_accounts",
    "group_summary",
    "drivers",
    "fitted_weights",
    "weights_table",
    "Scorecard",
    "scorecard",
    "conclusions",
    "questionnaire_template",
    "validate_answers",
    "answers_to_dsce",
    "DRIVER_COLUMNS",
    "SEGMENT_COLUMNS",
]

#: Columns of ``dsce_drivers.csv``.
DRIVER_COLUMNS: tuple[str, ...] = (
    "component",
    "outcome",
    "model",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "p_adjusted",
    "flagged",
    "n",
    "unit",
)
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


class DSCEInputError(ValueError):
    """Invalid DSCE input; ``problems`` lists every problem found (not only the first)."""

    def __init__(self, table: str, problems: list[str]):
        self.table = table
        self.problems = list(problems)
        super().__init__(f"{table}: {len(problems)} problem(s):\n- " + "\n- ".join(problems))


def _first(index: Iterable, k: int = 5) -> list:
    return list(index)[:k]


def _check_scale(scale_min: float, scale_max: float) -> None:
    if not scale_max > scale_min:
        raise ValueError(f"scale_max ({scale_max}) must be greater than scale_min ({scale_min})")


# ---------------------------------------------------------------------------
# Ratings -> scores -> index
# ---------------------------------------------------------------------------


def validate_ratings(
    data: pd.DataFrame,
    components: Iterable[str] = DSCE_COMPONENT_NAMES,
    scale_min: float = DSCE_MIN,
    scale_max: float = DSCE_MAX,
    id_col: str = "customer_id",
    missing: str = "error",
    table: str = "dsce",
) -> None:
    """Check a wide ratings table; raise :class:`DSCEInputError` listing every problem.

    Checks: the id column exists, has no missing or duplicated ids; every
    component column exists, is numeric and within [scale_min, scale_max];
    missing ratings are an error unless ``missing="reweight"``; an account with
    no rating at all is always an error.
    """
    _check_scale(scale_min, scale_max)
    if missing not in ("error", "reweight"):
        raise ValueError(f"missing must be 'error' or 'reweight', not {missing!r}")
    components = list(components)
    problems: list[str] = []
    if id_col not in data.columns:
        problems.append(f"no account id column {id_col!r}; columns are {list(data.columns)}")
    else:
        ids = data[id_col]
        if ids.isna().any():
            problems.append(f"column {id_col!r} has missing ids in rows {_first(data.index[ids.isna()])}")
        dup = ids.duplicated(keep=False) & ids.notna()
        if dup.any():
            problems.append(
                f"column {id_col!r} has duplicated ids {_first(ids[dup].unique())} "
                "(one row per account; aggregate repeated assessments first)"
            )
    absent = [c for c in components if c not in data.columns]
    if absent:
        problems.append(
            f"missing component column(s) {absent}; add them or pass components= to score a subset"
        )
    present = [c for c in components if c in data.columns]
    any_rating = pd.Series(False, index=data.index)
    for c in present:
        s = pd.to_numeric(data[c], errors="coerce")
        nonnum = s.isna() & data[c].notna()
        if nonnum.any():
            problems.append(
                f"column {c!r} has non-numeric ratings in rows {_first(data.index[nonnum])}: "
                f"{_first(data.loc[nonnum, c])}"
            )
        out = s.notna() & ((s < scale_min) | (s > scale_max))
        if out.any():
            problems.append(
                f"column {c!r} has {int(out.sum())} rating(s) outside the declared scale "
                f"{scale_min:g}-{scale_max:g} in rows {_first(data.index[out])}: {_first(s[out])}; "
                "fix the ratings or declare the scale with scale_min/scale_max"
            )
        if missing == "error" and (data[c].isna()).any():
            problems.append(
                f"column {c!r} has {int(data[c].isna().sum())} missing rating(s) in rows "
                f"{_first(data.index[data[c].isna()])}; rate them, drop the accounts, or pass "
                "missing='reweight' to average the rated components"
            )
        any_rating |= s.notna()
    if present and not any_rating.all():
        problems.append(f"rows {_first(data.index[~any_rating])} have no rating for any component")
    if problems:
        raise DSCEInputError(table, problems)


def component_scores(
    data: pd.DataFrame,
    components: Iterable[str] = DSCE_COMPONENT_NAMES,
    scale_min: float = DSCE_MIN,
    scale_max: float = DSCE_MAX,
    id_col: str = "customer_id",
    missing: str = "error",
) -> pd.DataFrame:
    """Normalised component scores, 100 (rating - scale_min) / (scale_max - scale_min).

    Returns ``id_col`` plus one ``score_<component>`` column per component.

    >>> df = pd.DataFrame({"customer_id": ["A"], "journey": [4]})
    >>> component_scores(df, ["journey"]).to_dict("records")
    [{'customer_id': 'A', 'score_journey': 75.0}]
    """
    components = list(components)
    validate_ratings(data, components, scale_min, scale_max, id_col, missing)
    out = pd.DataFrame({id_col: data[id_col].to_numpy()})
    r = data[components].apply(pd.to_numeric).to_numpy(dtype=float)
    s = SCORE_MAX * (r - scale_min) / (scale_max - scale_min)
    for j, c in enumerate(components):
        out[f"score_{c}"] = s[:, j]
    return out


def target_scores(
    data: pd.DataFrame,
    components: Iterable[str] = DSCE_COMPONENT_NAMES,
    targets: float | Mapping[str, float] | None = None,
    scale_min: float = DSCE_MIN,
    scale_max: float = DSCE_MAX,
) -> pd.DataFrame:
    """Desired-state targets as scores (0-100), one row per account, one column per component.

    ``targets``: None -> ``target_<component>`` columns of ``data`` where present,
    else the top of the scale; a number -> that rating for every component; a
    dict -> per component (components not in the dict: top of the scale). Target
    ratings outside the scale are an error.
    """
    components = list(components)
    _check_scale(scale_min, scale_max)
    cols = {}
    problems = []
    for c in components:
        if targets is None:
            col = f"target_{c}"
            if col in data.columns:
                t = pd.to_numeric(data[col], errors="coerce")
                if t.isna().any():
                    problems.append(f"column {col!r} has missing or non-numeric targets in rows {_first(data.index[t.isna()])}")
                t = t.to_numpy(dtype=float)
            else:
                t = np.full(len(data), float(scale_max))
        elif isinstance(targets, Mapping):
            unknown = set(targets) - set(components)
            if unknown:
                raise DSCEInputError("targets", [f"unknown component(s) {sorted(unknown)}; components are {components}"])
            t = np.full(len(data), float(targets.get(c, scale_max)))
        else:
            t = np.full(len(data), float(targets))
        bad = (t < scale_min) | (t > scale_max)
        if np.any(bad):
            problems.append(
                f"target for {c!r} is outside the declared scale {scale_min:g}-{scale_max:g}: {_first(np.unique(t[bad]))}"
            )
        cols[c] = SCORE_MAX * (t - scale_min) / (scale_max - scale_min)
    if problems:
        raise DSCEInputError("targets", problems)
    return pd.DataFrame(cols, index=data.index)


def resolve_weights(weights: str | Mapping[str, float] | pd.Series, components: Iterable[str]) -> pd.Series:
    """Component weights normalised to sum to one.

    ``"equal"`` or a mapping component -> non-negative weight (components not
    listed get 0). The string ``"fitted"`` is resolved by :func:`scorecard`, which
    needs outcomes; pass the result of :func:`fitted_weights` here.

    >>> resolve_weights({"a": 1, "b": 3}, ["a", "b"]).to_dict()
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
    components: Iterable[str] = DSCE_COMPONENT_NAMES,
    weights: str | Mapping[str, float] | pd.Series = "equal",
    targets: float | Mapping[str, float] | None = None,
    scale_min: float = DSCE_MIN,
    scale_max: float = DSCE_MAX,
    id_col: str = "customer_id",
    missing: str = "error",
) -> pd.DataFrame:
    """Per-account component scores, index, target index and gaps (see the module docstring).

    Columns: ``id_col``, ``score_<c>``, ``index``, ``target_index``, ``gap``,
    ``gap_<c>`` (target score - score; positive = short of the desired state).

    >>> df = pd.DataFrame({"customer_id": ["A"], "education": [2], "journey": [4]})
    >>> r = dsce_index(df, ["education", "journey"], weights={"education": 1, "journey": 3}, targets=4)
    >>> r[["index", "target_index", "gap", "gap_education", "gap_journey"]].to_dict("records")
    [{'index': 62.5, 'target_index': 75.0, 'gap': 12.5, 'gap_education': 50.0, 'gap_journey': 0.0}]
    """
    components = list(components)
    w = resolve_weights(weights, components).to_numpy()
    out = component_scores(data, components, scale_min, scale_max, id_col, missing)
    s = out[[f"score_{c}" for c in components]].to_numpy(dtype=float)
    t = target_scores(data, components, targets, scale_min, scale_max).to_numpy(dtype=float)
    t_present = np.where(np.isnan(s), np.nan, t)  # target index over the same rated components
    out["index"] = _weighted(s, w)
    out["target_index"] = _weighted(t_present, w)
    out["gap"] = out["target_index"] - out["index"]
    for j, c in enumerate(components):
        out[f"gap_{c}"] = t[:, j] - s[:, j]
    return out


# ---------------------------------------------------------------------------
# Joining accounts to outcomes; group summaries
# ---------------------------------------------------------------------------


def merge_accounts(
    dsce: pd.DataFrame,
    *others: tuple[str, pd.DataFrame],
    id_col: str = "customer_id",
    on_unmatched: str = "error",
) -> pd.DataFrame:
    """Join the dsce table with other per-account tables, e.g. ``("outcomes", outcomes)``.

    Every assessed account must appear in every other table; otherwise an error
    names the table, the count and the first ids (``on_unmatched="drop"`` drops
    those accounts with a warning instead). Accounts present only in the other
    tables are not assessed and are left out.
    """
    if on_unmatched not in ("error", "drop"):
        raise ValueError(f"on_unmatched must be 'error' or 'drop', not {on_unmatched!r}")
    out = dsce
    for name, table in others:
        if id_col not in table.columns:
            raise DSCEInputError(name, [f"no account id column {id_col!r}; columns are {list(table.columns)}"])
        if table[id_col].duplicated().any():
            raise DSCEInputError(name, [f"duplicated ids {_first(table[id_col][table[id_col].duplicated()].unique())}"])
        absent = ~out[id_col].isin(table[id_col])
        if absent.any():
            msg = (
                f"{int(absent.sum())} assessed account(s) are absent from {name} "
                f"(first: {_first(out.loc[absent, id_col])})"
            )
            if on_unmatched == "error":
                raise DSCEInputError(
                    name, [msg + "; add their rows, drop them from the dsce table, or pass on_unmatched='drop'"]
                )
            warnings.warn(msg + "; dropped", stacklevel=2)
            out = out.loc[~absent]
        extra = [c for c in table.columns if c != id_col and c not in out.columns]
        out = out.merge(table[[id_col, *extra]], on=id_col, how="left", validate="one_to_one")
    return out.reset_index(drop=True)


def group_summary(
    scores: pd.DataFrame,
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
    labels = components + index_cols
    score_cols = [f"score_{c}" for c in components] + index_cols
    with_gap = components + ["index"]
    gap_cols = [f"gap_{c}" for c in components] + ["gap"]
    target_cols = [f"target_{c}__" for c in components] + ["target_index__"]
    crit = stats.t.ppf
    rows = []
    for g in [None, *group_cols]:
        if g is not None and frame[g].isna().any():
            raise ValueError(f"group column {g!r} has missing values; fill or drop them first")
        key = np.full(len(frame), "all", dtype=object) if g is None else frame[g].astype(str).to_numpy()
        # one pass per grouping: count, mean and SD of every measure (t interval as in kpis.mean_by_group)
        agg = frame[score_cols + gap_cols + target_cols].groupby(key, sort=True).agg(["count", "mean", "std"])
        n, mean, sd = (agg.xs(stat, axis=1, level=1) for stat in ("count", "mean", "std"))
        with np.errstate(divide="ignore", invalid="ignore"):
            half = crit(1 - alpha / 2, n - 1) * sd / np.sqrt(n)
        groups = agg.index.to_numpy()
        long = pd.DataFrame(
            {
                "group_col": g or "all",
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
        rows.append(long.merge(gaps, on=["group", "component"], how="left"))
    return pd.concat(rows, ignore_index=True)[list(SEGMENT_COLUMNS)]


# ---------------------------------------------------------------------------
# Drivers
# ---------------------------------------------------------------------------


def _design(data: pd.DataFrame, numeric: list[str], categorical: list[str], intercept: bool) -> pd.DataFrame:
    parts = [data[numeric].astype(float)]
    for col in categorical:
        levels = sorted(data[col].dropna().unique().tolist(), key=str)
        for lev in levels[1:]:
            parts.append((data[col] == lev).astype(float).rename(f"{col}[{lev}]"))
    X = pd.concat(parts, axis=1)
    if intercept:
        X.insert(0, "const", 1.0)
    return X


def _fit_rows(res, names: list[str], alpha: float, model: str, outcome: str, unit: str, n: int, dist: str = "z"):
    params, bse = np.asarray(res.params), np.asarray(res.bse)
    p = np.asarray(res.pvalues)
    idx = [list(res.model.exog_names).index(c) for c in names]
    crit = stats.norm.ppf(1 - alpha / 2) if dist == "z" else stats.t.ppf(1 - alpha / 2, res.df_resid)
    return pd.DataFrame(
        {
            "component": [c.removeprefix("z_") for c in names],
            "outcome": outcome,
            "model": model,
            "estimate": params[idx],
            "se": bse[idx],
            "ci_low": params[idx] - crit * bse[idx],
            "ci_high": params[idx] + crit * bse[idx],
            "p_value": p[idx],
            "n": n,
            "unit": unit,
        }
    )


def drivers(
    data: pd.DataFrame,
    components: Iterable[str] = DSCE_COMPONENT_NAMES,
    adjust: Iterable[str] = ("touch_model", "segment"),
    outcomes: Iterable[str] = ("churn", "expansion"),
    churn_model: str = "cox",
    expansion_model: str = "two_part",
    duration: str = "churn_time",
    event: str = "churned",
    retained: str = "retained",
    expansion: str = "expansion_revenue",
    alpha: float = 0.05,
    correction: str = "holm",
) -> pd.DataFrame:
    """Which components predict churn and expansion (``dsce_drivers.csv``).

    ``data`` holds one row per account with the component ratings, the outcome
    columns and the ``adjust`` columns (categorical, dummy-coded against their
    first level). Each component enters as its rating standardised over the
    analysed accounts (z-score), so estimates are per SD of the rating and all
    components sit in one model per outcome (mutually adjusted).

    - churn, ``churn_model="cox"``: Cox PH on (``duration``, ``event``); estimate
      = log hazard ratio per SD. ``"logit"``: logit of the churn flag; log odds ratio.
    - expansion, ``expansion_model="two_part"``: (1) ``expansion_any``: logit of
      expansion > 0 among retained accounts (churned accounts cannot expand);
      (2) ``expansion_amount``: OLS of log expansion among expanders, HC3 SEs.
      ``"ols"``: one OLS of expansion revenue on all accounts, HC3 SEs (the
      change in mean expansion revenue per SD).

    ``p_adjusted`` corrects across all rows of the table with
    :func:`engagement_kit.stats.multitest.adjust` (``holm``, ``fdr_bh``, ``bonferroni``
    or ``none``); ``flagged`` = p_adjusted < alpha.
    Rows with a missing rating are left out (complete cases); ``n`` says how
    many accounts each model used. Observational: see the module docstring.
    """
    import statsmodels.api as sm

    multitest.check_method(correction)
    components = list(components)
    adjust = list(adjust)
    outcomes = list(outcomes)
    need = components + adjust
    missing_cols = [c for c in need if c not in data.columns]
    if missing_cols:
        raise KeyError(f"drivers: data has no column(s) {missing_cols}")
    d = data.dropna(subset=components).reset_index(drop=True)
    for col in adjust:
        if d[col].isna().any():
            raise ValueError(f"drivers: adjustment column {col!r} has missing values; fill or drop them first")
    z = d[components].astype(float)
    sd = z.std(ddof=1)
    flat = sd[sd <= 0].index.tolist()
    if flat:
        raise ValueError(f"drivers: component(s) {flat} have the same rating for every account; leave them out")
    zcols = [f"z_{c}" for c in components]
    d[zcols] = ((z - z.mean()) / sd).to_numpy()
    frames = []
    for outcome in outcomes:
        if outcome == "churn":
            if churn_model == "cox":
                res = cox(d, duration, event, zcols + adjust, alpha=alpha)
                res = res[res["term"].isin(zcols)]
                crit = stats.norm.ppf(1 - alpha / 2)
                frames.append(
                    pd.DataFrame(
                        {
                            "component": res["term"].str.removeprefix("z_").to_numpy(),
                            "outcome": "churn",
                            "model": "cox",
                            "estimate": res["log_hr"].to_numpy(),
                            "se": res["se"].to_numpy(),
                            "ci_low": (res["log_hr"] - crit * res["se"]).to_numpy(),
                            "ci_high": (res["log_hr"] + crit * res["se"]).to_numpy(),
                            "p_value": res["p_value"].to_numpy(),
                            "n": len(d),
                            "unit": "log hazard ratio per SD of rating",
                        }
                    )
                )
            elif churn_model == "logit":
                y = event_flag(d[event], event)
                X = _design(d, zcols, adjust, intercept=True)
                fit = sm.Logit(y, X).fit(disp=0)
                frames.append(_fit_rows(fit, zcols, alpha, "logit", "churn", "log odds ratio per SD of rating", len(d)))
            else:
                raise ValueError(f"churn_model must be 'cox' or 'logit', not {churn_model!r}")
        elif outcome == "expansion":
            x = pd.to_numeric(d[expansion], errors="coerce")
            if x.isna().any() or (x < 0).any():
                raise ValueError(f"drivers: column {expansion!r} must be non-negative numbers without gaps")
            if expansion_model == "two_part":
                keep = event_flag(d[retained], retained) == 1 if retained in d.columns else np.ones(len(d), bool)
                sub = d.loc[keep]
                X = _design(sub, zcols, adjust, intercept=True)
                fit = sm.Logit((x[keep] > 0).astype(float).to_numpy(), X).fit(disp=0)
                frames.append(
                    _fit_rows(fit, zcols, alpha, "logit (retained)", "expansion_any",
                              "log odds ratio per SD of rating", int(keep.sum()))
                )
                pos = (x > 0).to_numpy() & np.asarray(keep)
                if pos.sum() > len(zcols) + 10:
                    sub = d.loc[pos]
                    X = _design(sub, zcols, adjust, intercept=True)
                    fit = sm.OLS(np.log(x[pos].to_numpy()), X).fit(cov_type="HC3")
                    frames.append(
                        _fit_rows(fit, zcols, alpha, "OLS log (expanders, HC3)", "expansion_amount",
                                  "change in log expansion per SD of rating", int(pos.sum()))
                    )
                else:
                    warnings.warn("too few expanders for the amount part of the two-part model; skipped", stacklevel=2)
            elif expansion_model == "ols":
                X = _design(d, zcols, adjust, intercept=True)
                fit = sm.OLS(x.to_numpy(dtype=float), X).fit(cov_type="HC3")
                frames.append(
                    _fit_rows(fit, zcols, alpha, "OLS (HC3)", "expansion_revenue",
                              "change in mean expansion revenue per SD of rating", len(d))
                )
            else:
                raise ValueError(f"expansion_model must be 'two_part' or 'ols', not {expansion_model!r}")
        else:
            raise ValueError(f"outcomes must be 'churn' and/or 'expansion', not {outcome!r}")
    out = pd.concat(frames, ignore_index=True)
    out["p_adjusted"] = multitest.adjust(out["p_value"].to_numpy(), correction)
    out["flagged"] = out["p_adjusted"] < alpha
    return out[list(DRIVER_COLUMNS)]


#: Direction in which a higher rating is good, per driver outcome.
_GOOD_SIGN = {"churn": -1.0, "expansion_any": 1.0, "expansion_amount": 1.0, "expansion_revenue": 1.0}


def fitted_weights(driver_table: pd.DataFrame, outcome: str = "churn", components: Iterable[str] | None = None) -> pd.Series:
    """Data-driven weights: normalised standardised coefficients, clipped at zero.

    w_c = max(0, g * beta_c) / sum_k max(0, g * beta_k), where beta_c is the
    driver estimate per SD of the rating and g = -1 for churn (fewer churns is
    good), +1 for the expansion outcomes. See the module docstring for why the
    clip and why equal weights stay the default.

    >>> t = pd.DataFrame({"component": ["a", "b", "c"], "outcome": "churn", "estimate": [-0.3, -0.1, 0.2]})
    >>> fitted_weights(t).round(3).to_dict()
    {'a': 0.75, 'b': 0.25, 'c': 0.0}
    """
    rows = driver_table[driver_table["outcome"] == outcome]
    if rows.empty:
        raise ValueError(f"the driver table has no rows for outcome {outcome!r}; it has {sorted(driver_table['outcome'].unique())}")
    beta = rows.set_index("component")["estimate"].astype(float)
    if components is not None:
        beta = beta.reindex(list(components))
    good = np.clip(_GOOD_SIGN.get(outcome, 1.0) * beta, 0, None)
    if not (good.sum() > 0):
        raise ValueError(
            f"no component predicts {outcome!r} in the beneficial direction, so fitted weights are undefined; "
            "use weights='equal'"
        )
    return (good / good.sum()).rename("weight")


def weights_table(driver_table: pd.DataFrame, components: Iterable[str], outcome: str = "churn") -> pd.DataFrame:
    """Equal and fitted weights side by side with the driver estimates they come from."""
    components = list(components)
    fw = fitted_weights(driver_table, outcome, components)
    src = driver_table[driver_table["outcome"] == outcome].set_index("component").reindex(components)
    return pd.DataFrame(
        {
            "component": components,
            "equal_weight": 1.0 / len(components),
            "fitted_weight": fw.to_numpy(),
            "fitted_from": outcome,
            "estimate": src["estimate"].to_numpy(),
            "ci_low": src["ci_low"].to_numpy(),
            "ci_high": src["ci_high"].to_numpy(),
            "p_adjusted": src["p_adjusted"].to_numpy(),
        }
    )


# ---------------------------------------------------------------------------
# The scorecard: one call for the notebook
# ---------------------------------------------------------------------------


@dataclass
class Scorecard:
    """Every table of the DSCE scorecard (columns: see the module docstring)."""

    scores: pd.DataFrame
    segments: pd.DataFrame
    drivers: pd.DataFrame
    weights: pd.DataFrame
    kpis: pd.DataFrame
    weights_used: str
    notes: list[str] = field(default_factory=list)

    def write(self, output_dir: str | Path) -> dict[str, Path]:
        """Write dsce_scores.csv, dsce_segments.csv, dsce_drivers.csv, dsce_weights.csv, kpis.csv."""
        out = Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name, table in (
            ("dsce_scores", self.scores),
            ("dsce_segments", self.segments),
            ("dsce_drivers", self.drivers),
            ("dsce_weights", self.weights),
            ("kpis", self.kpis),
        ):
            paths[name] = out / f"{name}.csv"
            table.to_csv(paths[name], index=False)
        return paths


def scorecard(
    dsce: pd.DataFrame,
    outcomes: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    survey: pd.DataFrame | None = None,
    components: Iterable[str] = DSCE_COMPONENT_NAMES,
    targets: float | Mapping[str, float] | None = None,
    weights: str | Mapping[str, float] = "equal",
    weights_outcome: str = "churn",
    segment_col: str = "segment",
    group_col: str = "touch_model",
    scale_min: float = DSCE_MIN,
    scale_max: float = DSCE_MAX,
    alpha: float = 0.05,
    id_col: str = "customer_id",
    missing: str = "error",
    on_unmatched: str = "error",
    churn_model: str = "cox",
    expansion_model: str = "two_part",
    correction: str = "holm",
    discount_rate: float = 0.1,
) -> Scorecard:
    """The whole DSCE scorecard: scores, group summaries, drivers, weights and KPIs.

    ``weights`` = "equal", "fitted" (from the ``weights_outcome`` driver model) or
    a mapping; the index with equal and with fitted weights is always reported
    side by side (``index_equal``, ``index_fitted``), ``index`` is the chosen one.
    KPIs are computed on all customers in ``outcomes`` (not only the assessed
    accounts), overall and by ``group_col`` and ``segment_col``.
    """
    components = list(components)
    validate_ratings(dsce, components, scale_min, scale_max, id_col, missing)
    tables = [("outcomes", outcomes)]
    if customers is not None:
        tables.append(("customers", customers))
    merged = merge_accounts(dsce, *tables, id_col=id_col, on_unmatched=on_unmatched)
    adjust = [c for c in (group_col, segment_col) if c and c in merged.columns]
    notes = []
    drv = drivers(
        merged, components, adjust=adjust, churn_model=churn_model, expansion_model=expansion_model,
        alpha=alpha, correction=correction,
    )
    try:
        fw = fitted_weights(drv, weights_outcome, components)
        wt = weights_table(drv, components, weights_outcome)
    except ValueError as err:
        fw = None
        wt = pd.DataFrame({"component": components, "equal_weight": 1.0 / len(components)})
        notes.append(f"fitted weights unavailable: {err}")
        if isinstance(weights, str) and weights == "fitted":
            raise
    chosen = fw if (isinstance(weights, str) and weights == "fitted") else weights
    scores = dsce_index(merged, components, chosen, targets, scale_min, scale_max, id_col, missing)
    index_cols = ["index", "index_equal"]
    scores["index_equal"] = dsce_index(merged, components, "equal", targets, scale_min, scale_max, id_col, missing)["index"]
    if fw is not None:
        scores["index_fitted"] = dsce_index(merged, components, fw, targets, scale_min, scale_max, id_col, missing)["index"]
        index_cols.append("index_fitted")
    order = [id_col, *[f"score_{c}" for c in components], *index_cols, "target_index", "gap",
             *[f"gap_{c}" for c in components]]
    scores = scores[order]
    grouped = scores.join(merged[adjust])
    segments = group_summary(grouped, adjust[::-1], components, alpha, index_cols)
    kdata = outcomes
    if customers is not None:
        kdata = kdata.merge(customers, on=id_col, how="left", suffixes=("", "_customers"))
    if survey is not None:
        kdata = kdata.merge(survey, on=id_col, how="left", suffixes=("", "_survey"))
    kgroups = [c for c in (group_col, segment_col) if c and c in kdata.columns]
    kp = kpi_table(kdata, kgroups, alpha, discount_rate=discount_rate)
    used = weights if isinstance(weights, str) else "custom"
    return Scorecard(scores, segments, drv, wt, kp, used, notes)


# ---------------------------------------------------------------------------
# Plain-language conclusions for the report
# ---------------------------------------------------------------------------

_INDEX_LABELS = ("index", "index_equal", "index_fitted")

#: Per driver outcome: (heading, words for a positive estimate, words for a negative one).
_OUTCOME_WORDS = {
    "churn": ("churn", "churned more", "churned less"),
    "expansion_any": ("expansion", "were more likely to expand", "were less likely to expand"),
    "expansion_amount": ("expansion", "expanded by more (among expanders)", "expanded by less (among expanders)"),
    "expansion_revenue": ("expansion", "had more expansion revenue", "had less expansion revenue"),
}


def _component_label(name) -> str:
    """The component's label, escaped for Markdown (a column name from the data may hold anything)."""
    concept = DSCE_COMPONENTS.get(str(name))
    return escape(concept.label if concept is not None else str(name).replace("_", " "))


def _grouping_label(col) -> str:
    return escape(str(col).replace("_", " "))


def _num(x, fmt: str = ".1f") -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return "n/a"
    return format(x, fmt) if np.isfinite(x) else "n/a"


def _table(card, name: str) -> pd.DataFrame:
    t = getattr(card, name, None)
    return t if isinstance(t, pd.DataFrame) else pd.DataFrame()


def _has(t: pd.DataFrame, *cols: str) -> bool:
    return not t.empty and all(c in t.columns for c in cols)


def _overall_bullet(seg: pd.DataFrame, weights_used=None) -> str | None:
    if not _has(seg, "group_col", "component", "score"):
        return None
    row = seg[(seg["group_col"] == "all") & (seg["component"] == "index")]
    if row.empty:
        return None
    r = row.iloc[0]
    text = (
        f"**Overall index{f' ({weights_used} weights)' if isinstance(weights_used, str) else ''}:** "
        f"{_num(r['score'])} out of 100 "
        f"(95 % CI {_num(r.get('score_ci_low'))} to {_num(r.get('score_ci_high'))}, n = {_num(r.get('n'), '.0f')} accounts)"
    )
    if pd.notna(r.get("gap", np.nan)):
        text += (
            f"; the gap to the desired state is {_num(r['gap'])} points "
            f"(target {_num(r.get('target'))}, CI {_num(r.get('gap_ci_low'))} to {_num(r.get('gap_ci_high'))})."
        )
    else:
        text += "."
    return text


def _group_bullets(seg: pd.DataFrame) -> list[str]:
    if not _has(seg, "group_col", "group", "component", "gap"):
        return []
    out = []
    rows = seg[(seg["group_col"] != "all") & (seg["component"] == "index")].dropna(subset=["gap"])
    for col, g in rows.groupby("group_col", sort=False):
        word = _grouping_label(col)
        if len(g) < 2:
            out.append(f"**By {word}:** only one group ({escape(g.iloc[0]['group'])}), mean index gap {_num(g.iloc[0]['gap'])} points.")
            continue
        hi, lo = g.loc[g["gap"].idxmax()], g.loc[g["gap"].idxmin()]
        out.append(
            f"**By {word}:** the largest mean index gap is in {escape(hi['group'])} ({_num(hi['gap'])} points, "
            f"n = {_num(hi.get('n'), '.0f')}), the smallest in {escape(lo['group'])} ({_num(lo['gap'])} points, "
            f"n = {_num(lo.get('n'), '.0f')})."
        )
    return out


def _largest_gap_bullet(seg: pd.DataFrame) -> str | None:
    if not _has(seg, "group_col", "component", "gap"):
        return None
    rows = seg[(seg["group_col"] == "all") & ~seg["component"].isin(_INDEX_LABELS)].dropna(subset=["gap"])
    if rows.empty:
        return None
    r = rows.loc[rows["gap"].idxmax()]
    return (
        f"**Largest gap:** {_component_label(r['component'])} ({escape(r['component'])}) is furthest from the desired "
        f"state, {_num(r['gap'])} points on average (mean score {_num(r.get('score'))}, target {_num(r.get('target'))})."
    )


def _driver_bullets(drv: pd.DataFrame, alpha: float) -> list[str]:
    if not _has(drv, "component", "outcome", "estimate", "p_adjusted"):
        return ["**Drivers:** no driver table, so nothing can be said about churn or expansion."]
    out = []
    for heading, outcomes in (("churn", ("churn",)), ("expansion", ("expansion_any", "expansion_amount", "expansion_revenue"))):
        rows = drv[drv["outcome"].isin(outcomes)]
        if rows.empty:
            out.append(f"**{heading.capitalize()}:** not modelled.")
            continue
        p_adj = pd.to_numeric(rows["p_adjusted"], errors="coerce")
        flagged = rows[p_adj < alpha]
        if flagged.empty:
            out.append(
                f"**{heading.capitalize()}:** no component predicts {heading} after correction "
                f"(adjusted p < {alpha:g})."
            )
            continue
        parts = []
        for outcome in outcomes:
            f = flagged[flagged["outcome"] == outcome]
            f = f.reindex(f["estimate"].abs().sort_values(ascending=False).index)
            for _, r in f.iterrows():
                _, up, down = _OUTCOME_WORDS.get(outcome, (heading, "had a higher outcome", "had a lower outcome"))
                est = float(r["estimate"])
                effect = f"hazard ratio {_num(np.exp(est), '.2f')} per SD" if outcome == "churn" else (
                    f"odds ratio {_num(np.exp(est), '.2f')} per SD" if outcome == "expansion_any" else f"{_num(est, '+.3g')} per SD"
                )
                parts.append(
                    f"accounts rating {_component_label(r['component'])} higher {up if est > 0 else down} "
                    f"({effect}, adjusted p = {_num(r['p_adjusted'], '.2g')})"
                )
        out.append(f"**{heading.capitalize()}:** " + "; ".join(parts) + ".")
    return out


def _ranking_bullet(seg: pd.DataFrame, wt: pd.DataFrame) -> str | None:
    if "fitted_weight" not in wt.columns or not _has(seg, "group_col", "group", "component", "score"):
        return None
    rows = seg[(seg["group_col"] != "all") & seg["component"].isin(["index_equal", "index_fitted"])]
    if not (rows["component"] == "index_fitted").any():
        return None
    same, differ = [], []
    for col, g in rows.groupby("group_col", sort=False):
        wide = g.pivot_table(index="group", columns="component", values="score")
        if not {"index_equal", "index_fitted"} <= set(wide.columns) or len(wide) < 2:
            continue
        eq = wide["index_equal"].sort_values(ascending=False).index.tolist()
        fi = wide["index_fitted"].sort_values(ascending=False).index.tolist()
        word = _grouping_label(col)
        if eq == fi:
            same.append(word)
        else:
            differ.append(f"{word} (equal: {' > '.join(map(escape, eq))}; fitted: {' > '.join(map(escape, fi))})")
    if not same and not differ:
        return None
    src = wt["fitted_from"].iloc[0] if "fitted_from" in wt.columns and len(wt) else "the driver model"
    text = f"**Fitted weights** (from {escape(src)}): "
    if differ:
        text += "the fitted index ranks groups differently from the equal-weight index by " + "; ".join(differ)
        text += (f", and the same way by {', '.join(same)}." if same else ".")
    else:
        text += f"the fitted index ranks groups the same way as the equal-weight index (by {', '.join(same)})."
    return text


def conclusions(card, alpha: float = 0.05) -> str:
    """Plain-language conclusions of a :func:`scorecard` result as a Markdown bullet list.

    Bullets: the overall index (mean, CI) and its gap to the desired state; per
    grouping (segment, touch model) the groups with the largest and smallest mean
    index gap; the component with the largest mean gap overall; the components
    flagged (``p_adjusted < alpha``) as drivers of churn and of expansion, with
    the direction in words; whether fitted weights rank groups differently from
    equal weights (when fitted weights exist); and a caveat that the ratings are
    observational. Uses aggregates only (no account ids) and never raises: a
    missing table or column just drops its bullet.

    >>> seg = pd.DataFrame({"group_col": ["all", "all"], "group": ["all", "all"],
    ...                     "component": ["index", "journey"], "n": [10, 10], "score": [60.0, 40.0],
    ...                     "score_ci_low": [55.0, 35.0], "score_ci_high": [65.0, 45.0],
    ...                     "target": [100.0, 100.0], "gap": [40.0, 60.0],
    ...                     "gap_ci_low": [35.0, 55.0], "gap_ci_high": [45.0, 65.0]})
    >>> card = Scorecard(seg.iloc[:0], seg, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), "equal")
    >>> print(conclusions(card).splitlines()[1])
    - **Largest gap:** Optimal customer journey (journey) is furthest from the desired state, 60.0 points on average (mean score 40.0, target 100.0).
    """
    bullets: list[str] = []
    seg, drv, wt = _table(card, "segments"), _table(card, "drivers"), _table(card, "weights")
    steps = (
        lambda: [_overall_bullet(seg, getattr(card, "weights_used", None))],
        lambda: [_largest_gap_bullet(seg)],
        lambda: _group_bullets(seg),
        lambda: _driver_bullets(drv, alpha),
        lambda: [_ranking_bullet(seg, wt)],
    )
    for step in steps:
        try:
            bullets.extend(b for b in step() if b)
        except Exception as err:  # a conclusion must never break the report
            bullets.append(f"(one conclusion could not be drawn: {type(err).__name__})")
    for note in getattr(card, "notes", None) or []:
        if "fitted weights unavailable" in str(note):
            bullets.append("**Fitted weights:** unavailable (no component predicts the outcome in the beneficial direction).")
    if not bullets:
        bullets.append("No conclusions: the scorecard has no segment or driver tables.")
    bullets.append(
        "**Caveat:** the ratings are observational. A driver is a component whose rating *predicts* the outcome "
        "after adjusting for touch model and segment, not proof that raising it would change the outcome."
    )
    return "\n".join(f"- {b}" for b in bullets)


# ---------------------------------------------------------------------------
# Assessment helper: questionnaire, validation, wide table
# ---------------------------------------------------------------------------

#: The essay's assessment questions, per component: (component, question_id, question).
QUESTIONS: tuple[tuple[str, str, str], ...] = (
    ("customer_intent", "customer_intent_1", "Do we know why this customer came to us (the goal they bought for)?"),
    ("customer_intent", "customer_intent_2", "Is that intent recorded and shared with everyone who serves the customer?"),
    ("anticipation", "anticipation_1", "Are content and guidance ready before the customer needs them?"),
    ("anticipation", "anticipation_2", "Do we anticipate the customer's next needs and behaviours from their data?"),
    ("product_adoption", "product_adoption_1", "How deep is the customer's usage of what they bought?"),
    ("product_adoption", "product_adoption_2", "How broad is usage across the customer's users and teams?"),
    ("product_adoption", "product_adoption_3", "Is the customer free of blocking bugs and issues?"),
    ("outcomes_at_scale", "outcomes_at_scale_1", "Is the customer reaching the goals they came for?"),
    ("outcomes_at_scale", "outcomes_at_scale_2", "Is the customer's health score good?"),
    ("relationships", "relationships_1", "Is there an ongoing relationship both before and after the sale?"),
    ("relationships", "relationships_2", "Does the customer advocate for us (references, referrals, reviews)?"),
    ("communication", "communication_1", "Is our communication two-way engagement rather than one-way messages?"),
    ("communication", "communication_2", "Is the customer's engagement positive (not neutral or negative)?"),
    ("education", "education_1", "Is education content available with clear learning objectives?"),
    ("education", "education_2", "Is education delivered at scale to all of the customer's users?"),
    ("journey", "journey_1", "Is the journey prescriptive: is the next best step always clear?"),
    ("journey", "journey_2", "Is it predictive and proactive: do we act before the customer has to ask?"),
    ("journey", "journey_3", "Is the journey tailored to the customer's segment or tier?"),
)

TEMPLATE_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "component",
    "component_label",
    "question_id",
    "question",
    "scale",
    "rating",
    "comment",
)


def questionnaire_template(
    accounts: Iterable[str],
    scale_min: int = DSCE_MIN,
    scale_max: int = DSCE_MAX,
    questions: Iterable[tuple[str, str, str]] = QUESTIONS,
    path: str | Path | None = None,
) -> pd.DataFrame:
    """One row per account x question with empty ``rating`` and ``comment`` to fill in.

    Optionally written to ``path`` (CSV). The ``scale`` column reminds the
    analyst of the declared scale.

    >>> t = questionnaire_template(["A1"])
    >>> len(t), list(t.columns)[:4]
    (18, ['customer_id', 'component', 'component_label', 'question_id'])
    """
    _check_scale(scale_min, scale_max)
    accounts = list(dict.fromkeys(accounts))
    if not accounts:
        raise ValueError("questionnaire_template needs at least one account id")
    q = pd.DataFrame(list(questions), columns=["component", "question_id", "question"])
    q["component_label"] = q["component"].map(lambda c: DSCE_COMPONENTS[c].label if c in DSCE_COMPONENTS else c)
    q["scale"] = f"{scale_min:g} (not at all) .. {scale_max:g} (fully, the desired state)"
    acc = pd.DataFrame({"customer_id": accounts})
    out = acc.merge(q, how="cross")
    out["rating"] = np.nan
    out["comment"] = ""
    out = out[list(TEMPLATE_COLUMNS)]
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        out.to_csv(path, index=False)
    return out


def validate_answers(
    answers: pd.DataFrame,
    scale_min: float = DSCE_MIN,
    scale_max: float = DSCE_MAX,
    accounts: Iterable[str] | None = None,
    components: Iterable[str] = DSCE_COMPONENT_NAMES,
    questions: Iterable[tuple[str, str, str]] | None = QUESTIONS,
) -> None:
    """Check a filled-in questionnaire; raise :class:`DSCEInputError` listing every problem.

    Problems: missing columns; unknown components or question ids (``questions=None``
    accepts any question id); a question answered twice for one account;
    non-numeric or out-of-scale ratings; accounts not in ``accounts`` (when
    given); an account with no answered question for some component. Blank
    ratings of single questions are allowed (the component rating averages the
    answered ones).
    """
    _check_scale(scale_min, scale_max)
    components = list(components)
    problems: list[str] = []
    need = ["customer_id", "component", "question_id", "rating"]
    absent = [c for c in need if c not in answers.columns]
    if absent:
        raise DSCEInputError("answers", [f"missing column(s) {absent}; start from questionnaire_template()"])
    a = answers
    unknown_c = ~a["component"].isin(components)
    if unknown_c.any():
        problems.append(
            f"unknown component(s) {_first(a.loc[unknown_c, 'component'].unique())} in rows "
            f"{_first(a.index[unknown_c])}; components are {components}"
        )
    if questions is not None:
        bank = {(c, q) for c, q, _ in questions}
        pair = pd.Series(list(zip(a["component"], a["question_id"])), index=a.index)
        unknown_q = ~pair.isin(bank) & ~unknown_c
        if unknown_q.any():
            problems.append(
                f"unknown question id(s) {_first(a.loc[unknown_q, 'question_id'].unique())} for their component in rows "
                f"{_first(a.index[unknown_q])}; use the ids of the template (or pass questions=None)"
            )
    dup = a.duplicated(["customer_id", "question_id"], keep=False)
    if dup.any():
        problems.append(f"questions answered more than once for one account in rows {_first(a.index[dup])}")
    if a["customer_id"].isna().any():
        problems.append(f"missing account id in rows {_first(a.index[a['customer_id'].isna()])}")
    r = pd.to_numeric(a["rating"], errors="coerce")
    nonnum = r.isna() & a["rating"].notna() & (a["rating"].astype(str).str.strip() != "")
    if nonnum.any():
        problems.append(f"non-numeric ratings in rows {_first(a.index[nonnum])}: {_first(a.loc[nonnum, 'rating'])}")
    out = r.notna() & ((r < scale_min) | (r > scale_max))
    if out.any():
        problems.append(
            f"{int(out.sum())} rating(s) outside the declared scale {scale_min:g}-{scale_max:g} in rows "
            f"{_first(a.index[out])}: {_first(r[out])}"
        )
    if accounts is not None:
        known = set(accounts)
        unk = a["customer_id"].notna() & ~a["customer_id"].isin(known)
        if unk.any():
            problems.append(
                f"{a.loc[unk, 'customer_id'].nunique()} unknown account(s) (not in the customer list): "
                f"{_first(a.loc[unk, 'customer_id'].unique())}"
            )
    answered = a.loc[r.notna() & a["component"].isin(components), ["customer_id", "component"]].drop_duplicates()
    have = set(zip(answered["customer_id"], answered["component"]))
    lacking = [
        (acc, c) for acc in a["customer_id"].dropna().unique() for c in components if (acc, c) not in have
    ]
    if lacking:
        problems.append(
            f"{len(lacking)} account x component pair(s) have no answered question, e.g. {lacking[:5]}; "
            "answer at least one question per component"
        )
    if problems:
        raise DSCEInputError("answers", problems)


def answers_to_dsce(
    answers: pd.DataFrame,
    scale_min: float = DSCE_MIN,
    scale_max: float = DSCE_MAX,
    accounts: Iterable[str] | None = None,
    components: Iterable[str] = DSCE_COMPONENT_NAMES,
    questions: Iterable[tuple[str, str, str]] | None = QUESTIONS,
) -> pd.DataFrame:
    """Validated answers -> the wide dsce table (component rating = mean of its answered questions).

    >>> t = questionnaire_template(["A1"])
    >>> t["rating"] = 4
    >>> answers_to_dsce(t).iloc[0].to_dict()["journey"]
    4.0
    """
    components = list(components)
    validate_answers(answers, scale_min, scale_max, accounts, components, questions)
    a = answers.assign(rating=pd.to_numeric(answers["rating"], errors="coerce")).dropna(subset=["rating"])
    wide = a.pivot_table(index="customer_id", columns="component", values="rating", aggfunc="mean")
    wide = wide.reindex(columns=components).reset_index()
    wide.columns.name = None
    return wide
