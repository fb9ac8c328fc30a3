"""Churn as time to event: log-rank tests and Kaplan-Meier medians per comparison.

The effects table reports the Cox hazard ratio (``method = "cox"``); this table adds
the log-rank test (statsmodels ``survdiff`` via :func:`engagement_kit.stats.survival.logrank`)
for every arm vs the control and across all arms, with each arm's median survival.

Columns: ``metric, arm, control, n_arm, n_control, events_arm, events_control,
median_arm, median_control, logrank_chi2, logrank_df, p_value`` (one ``arm = "all arms"``
row holds the omnibus test; medians are NaN where survival never falls to 1/2 --
"not reached", documented, not missing data).

Example
-------
>>> import pandas as pd
>>> df = pd.DataFrame({"arm": ["a"] * 4 + ["b"] * 4, "t": [1, 2, 3, 4, 2, 4, 6, 8], "e": [1] * 8})
>>> survival_tests(df, arm_col="arm", control="a", duration="t", event="e")["arm"].tolist()
['b', 'all arms']
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..engines import is_in_memory
from ..stats.survival import logrank, median_survival
from .aggregate import factorize
from .effects import comparisons
from .sufficient import MAX_ROWS_PULLED, pull_rows

__all__ = ["survival_tests"]


def survival_tests(
    data: Any, *, arm_col: str, control, duration: str, event: str, metric: str | None = None, alpha: float = 0.05,
    max_rows_pulled: int = MAX_ROWS_PULLED,
) -> pd.DataFrame:
    """Log-rank test of each arm vs the control (and all arms) with KM medians.

    ``data`` may be a table held by an engine: Kaplan-Meier and the log-rank test need each
    customer's time, so the three columns are copied out of the engine when it has at most
    ``max_rows_pulled`` rows, and refused otherwise (sample in the engine first).
    """
    if not is_in_memory(data):
        data = pull_rows(data, [arm_col, duration, event], what="survival_tests (Kaplan-Meier, log-rank)",
                         max_rows_pulled=max_rows_pulled)
    _, arms = factorize(data[arm_col], arm_col)
    pairs = comparisons(arms, control)
    med = median_survival(data, duration, event, group_col=arm_col, alpha=alpha).set_index("group")
    name = metric or duration
    rows = []
    for k, c in pairs:
        sub = data[data[arm_col].isin([arms[k], arms[c]])]
        lr = logrank(sub, duration, event, arm_col)
        rows.append(
            {"metric": name, "arm": arms[k], "control": arms[c], "n_arm": int(med.loc[arms[k], "n"]),
             "n_control": int(med.loc[arms[c], "n"]), "events_arm": int(med.loc[arms[k], "n_events"]),
             "events_control": int(med.loc[arms[c], "n_events"]), "median_arm": med.loc[arms[k], "median"],
             "median_control": med.loc[arms[c], "median"], "logrank_chi2": lr.statistic, "logrank_df": lr.df,
             "p_value": lr.p_value}
        )
    lr = logrank(data, duration, event, arm_col)
    rows.append({"metric": name, "arm": "all arms", "control": control, "n_arm": int(med["n"].sum()),
                 "n_control": int(med.loc[control, "n"]), "events_arm": int(med["n_events"].sum()),
                 "events_control": int(med.loc[control, "n_events"]), "median_arm": float("nan"),
                 "median_control": med.loc[control, "median"], "logrank_chi2": lr.statistic,
                 "logrank_df": lr.df, "p_value": lr.p_value})
    return pd.DataFrame(rows)
