"""Measurement invariance across groups (e.g. touch models): configural, metric, scalar.

One multi-group ML likelihood (:mod:`.sem`) is fitted three times:

* **configural**: same pattern in every group, all parameters free per group;
* **metric**: loadings equal across groups;
* **scalar**: loadings and item intercepts equal, factor means free in groups 2..G
  (0 in the first group, the reference).

Each step is compared with the previous one by the chi-square difference test
(nested ML models) and by the change in CFI and RMSEA. Verdict (Chen 2007, for
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

from .factors import _pattern, fit_indices
from .scales import Scales, prepare_items
from .sem import fit_cfa_ml, group_moments

__all__ = ["measurement_invariance", "INVARIANCE_COLUMNS"]

INVARIANCE_COLUMNS = [
    "model", "n", "n_groups", "chi2", "df", "p_value", "cfi", "tli", "rmsea", "rmsea_ci_low", "rmsea_ci_high",
    "srmr", "delta_chi2", "delta_df", "delta_p_value", "delta_cfi", "delta_rmsea", "holds", "verdict",
]

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
) -> pd.DataFrame:
    """Configural / metric / scalar invariance table (columns :data:`INVARIANCE_COLUMNS`).

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
    items, factors, pat = _pattern(scales)
    moments = group_moments(items_df, data[group_col])
    rows = []
    prev = None
    for name, equal in _STEPS:
        est = fit_cfa_ml(moments, pat, items, factors, equal=equal)
        row = {"model": name, "n_groups": n_groups, **fit_indices(est).iloc[0].to_dict()}
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
    return out[INVARIANCE_COLUMNS]
