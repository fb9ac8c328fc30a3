"""Measurement invariance across groups (e.g. touch models): configural, metric, scalar.

One multi-group ML likelihood (:mod:`.sem`) is fitted three times:

* **configural**: same pattern in every group, all parameters free per group;
* **metric**: loadings equal across groups;
* **scalar**: loadings and item intercepts equal, factor means free in groups 2..G
  (0 in the first group, the reference).

Each step is compared with the previous one by the chi-square difference test
(nested ML models; with ``estimator="mlm"``/``"mlr"`` also the Satorra-Bentler 2001 scaled
difference, ``chi2_diff_scaled`` / ``p_value_scaled``) and by the change in CFI and RMSEA.

Partial invariance: ``free=["visual=~x2", "x3~1"]`` releases the named loadings and
intercepts in the metric and scalar steps (lavaan's ``group.partial``); the ``freed`` column
lists what each step released. To find the item to free, read the modification indices of
the equality constraints (:func:`.modification.modification_indices` with
``constraints=True``, lavaan's ``lavTestScore``): the largest one is the most non-invariant
loading or intercept. ``missing="fiml"`` fits every step by full-information ML. Verdict (Chen 2007, for
N > 300): the step *holds* when ``delta_cfi >= -0.010`` and ``delta_rmsea <= 0.015``
(the chi-square difference is reported but, with thousands of respondents, it
rejects trivial differences, so the verdict follows the approximate-fit changes).
Comparing latent or scale **means** across groups is justified only when scalar
invariance holds; comparing relations (correlations, regressions) needs metric.

semopy's ``multigroup`` fits each group separately (no equality constraints), which is
why the fit is our own; its configural chi-square equals the sum of semopy's
per-group chi-squares, and the Holzinger-Swineford by-school figures equal lavaan's
(``tests/test_measurement_sem.py``).

Example
-------
>>> from semopy.examples import holzinger39
>>> hs = holzinger39.get_data()
>>> scales = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
>>> inv = measurement_invariance(hs, scales=scales, group_col="school", likert_min=None, likert_max=None)
>>> inv["chi2"].round(2).tolist()
[115.85, 124.04, 164.1]
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy import stats

from .factors import (
    ROBUST_FIT_COLUMNS,
    _pattern,
    check_estimation,
    fit_indices,
    fit_model,
)
from .robust import scaled_difference
from .scales import Scales, prepare_items
from .sem import group_moments, parse_free

__all__ = ["measurement_invariance", "INVARIANCE_COLUMNS", "INVARIANCE_ROBUST_COLUMNS", "constraint_indices"]

INVARIANCE_COLUMNS = [
    "model", "n", "n_groups", "chi2", "df", "p_value", "cfi", "tli", "rmsea", "rmsea_ci_low", "rmsea_ci_high",
    "srmr", "delta_chi2", "delta_df", "delta_p_value", "delta_cfi", "delta_rmsea", "holds", "verdict",
]
#: appended after :data:`INVARIANCE_COLUMNS`
INVARIANCE_ROBUST_COLUMNS = ROBUST_FIT_COLUMNS + ["chi2_diff_scaled", "p_value_scaled", "freed"]

_STEPS = [("configural", frozenset()), ("metric", frozenset({"loadings"})),
          ("scalar", frozenset({"loadings", "intercepts"}))]


def measurement_invariance(
    data: pd.DataFrame,
    *,
    scales: Scales,
    group_col: str,
    reverse_items: Iterable[str] = (),
    likert_min: float | None = 1,
    likert_max: float | None = 7,
    max_delta_cfi: float = 0.010,
    max_delta_rmsea: float = 0.015,
    estimator: str = "ml",
    missing: str = "listwise",
    free: Iterable[str] = (),
) -> pd.DataFrame:
    """Configural / metric / scalar invariance table (columns :data:`INVARIANCE_COLUMNS`
    then :data:`INVARIANCE_ROBUST_COLUMNS`).

    ``estimator`` (``ml``, ``mlm``, ``mlr``) and ``missing`` (``listwise``, ``fiml``) as in
    :func:`.factors.cfa`; ``free``: loadings (``"scale=~item"``) and intercepts
    (``"item~1"``) left free across groups (partial invariance).

    ``holds`` is True for configural when CFI >= .90 and RMSEA <= .08 (the common
    pattern fits acceptably); for metric and scalar when the changes meet Chen's
    thresholds. ``verdict`` says what comparison across groups is justified.
    """
    if group_col not in data.columns:
        raise KeyError(f"group column {group_col!r} not in the data; columns are {list(data.columns)}")
    if data[group_col].isna().any():
        raise ValueError(f"{int(data[group_col].isna().sum())} rows have no {group_col!r}; drop them first")
    n_groups = data[group_col].nunique()
    if n_groups < 2:
        raise ValueError(f"invariance needs at least two groups in {group_col!r}; found {n_groups}")
    items_df = prepare_items(data, scales=scales, reverse_items=reverse_items, likert_min=likert_min,
                             likert_max=likert_max)
    check_estimation(estimator, missing)
    items, factors, pat = _pattern(scales)
    freed_keys = parse_free(list(free), items, factors)
    for key in freed_keys:
        if key[0] == "loading" and not pat[key[1], key[2]]:
            raise ValueError(f"free: {factors[key[2]]}=~{items[key[1]]} is not a loading of the model; "
                             f"{items[key[1]]} belongs to another scale")
        if key[0] == "loading" and int(np.flatnonzero(pat[:, key[2]])[0]) == key[1]:
            raise ValueError(f"free: {items[key[1]]} is the marker of {factors[key[2]]} (its loading is fixed to 1); "
                             "list the scale's items in another order to free it")
    moments = group_moments(items_df, data[group_col], missing=missing)
    rows = []
    prev, prev_holds = None, True
    for name, equal in _STEPS:
        step_free = frozenset(k for k in freed_keys if (k[0] + "s") in equal)
        est, rob = fit_model(moments, pat, items, factors, estimator=estimator, equal=equal, free=step_free)
        row = {"model": name, "n_groups": n_groups, **fit_indices(est, rob).iloc[0].to_dict()}
        row["freed"] = "; ".join(sorted(
            f"{factors[k[2]]}=~{items[k[1]]}" if k[0] == "loading" else f"{items[k[1]]}~1" for k in step_free))
        row["chi2_diff_scaled"] = row["p_value_scaled"] = np.nan
        if prev is None:
            row.update(delta_chi2=np.nan, delta_df=np.nan, delta_p_value=np.nan, delta_cfi=np.nan,
                       delta_rmsea=np.nan)
            holds = row["cfi"] >= 0.90 and row["rmsea"] <= 0.08
        else:
            dchi = row["chi2"] - prev["chi2"]
            ddf = row["df"] - prev["df"]
            row.update(
                delta_chi2=dchi,
                delta_df=ddf,
                delta_p_value=float(stats.chi2.sf(dchi, ddf)),
                delta_cfi=row["cfi"] - prev["cfi"],
                delta_rmsea=row["rmsea"] - prev["rmsea"],
            )
            if rob is not None:
                row["chi2_diff_scaled"], row["p_value_scaled"] = scaled_difference(
                    row["chi2"], row["df"], row["scaling_factor"], prev["chi2"], prev["df"], prev["scaling_factor"])
            holds = bool(prev_holds and row["delta_cfi"] >= -max_delta_cfi and row["delta_rmsea"] <= max_delta_rmsea)
        row["holds"] = bool(holds)
        rows.append(row)
        prev, prev_holds = row, holds
    out = pd.DataFrame(rows)
    verdicts = {
        "configural": ("same factor structure in every group", "the factor structure differs across groups"),
        "metric": ("loadings equal: relations (correlations, slopes) comparable across groups",
                   "loadings differ: relations are not comparable across groups"),
        "scalar": ("intercepts equal: scale and latent means comparable across groups",
                   "intercepts differ: do not compare scale means across groups"),
    }
    out["verdict"] = [verdicts[m][0] if h else verdicts[m][1] for m, h in zip(out["model"], out["holds"])]
    out["df"] = out["df"].astype(int)
    out["n"] = out["n"].astype(int)
    return out[INVARIANCE_COLUMNS + INVARIANCE_ROBUST_COLUMNS]


def constraint_indices(
    data: pd.DataFrame,
    *,
    scales: Scales,
    group_col: str,
    reverse_items: Iterable[str] = (),
    likert_min: float | None = 1,
    likert_max: float | None = 7,
    missing: str = "listwise",
    free: Iterable[str] = (),
    top: int | None = 20,
) -> pd.DataFrame:
    """Which loading or intercept breaks scalar invariance: the score test of every equality
    constraint of the scalar model (lavaan's ``lavTestScore``, univariate), largest first,
    columns :data:`~.modification.MODINDEX_COLUMNS` (``group``: the group whose parameter
    would be released from the first group's).

    The first group in sorted order is the reference (its factor means fixed at 0). The
    intercept tests do not depend on that choice; the loading tests do, because freeing a
    loading of a scalar model puts the other groups' mean differences along their own
    loadings: lavaan (``lavTestScore``) takes the first group seen in the data instead, and
    agrees to 1e-4 once the reference groups are the same (tests/test_measurement_lavaan.py).

    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> sc = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
    >>> ci = constraint_indices(hs, scales=sc, group_col="school", likert_min=None, likert_max=None)
    >>> (ci["lhs"] + ci["op"]).head(2).tolist()
    ['x3~1', 'x7~1']
    """
    from .modification import modification_indices

    items_df = prepare_items(data, scales=scales, reverse_items=reverse_items, likert_min=likert_min,
                             likert_max=likert_max)
    items, factors, pat = _pattern(scales)
    moments = group_moments(items_df, data[group_col], missing=missing)
    est, _ = fit_model(moments, pat, items, factors, equal=_STEPS[2][1], free=parse_free(list(free), items, factors))
    return modification_indices(est, top=top, fixed=False)
