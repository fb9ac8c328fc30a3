"""Customer journeys: funnels, paths, cohorts, lifecycle KPIs and churn, aggregated where the data lives.

:func:`journey` is the one entry point: it runs every part the data allows and returns
a frozen :class:`JourneyResult` (``tables()``, ``write()``, ``conclusions()``,
``skipped``; see :mod:`.analysis`). The building blocks below stay public. The relational work (reading events out of core, first arrivals, transitions,
cohort counts) happens in :mod:`.engine`, as Ibis expressions run by DuckDB, Spark or a
warehouse (docs/scale.md); the other modules run statistics on
the small aggregates it returns.

Example
-------
>>> import pandas as pd
>>> from engagement_kit import journeys
>>> ev = pd.DataFrame({"customer_id": ["a", "a"], "framework": "laer", "stage": ["land", "adopt"],
...                    "timestamp": pd.to_datetime(["2025-01-01", "2025-01-02"])})
>>> journeys.funnel(ev, framework="laer").funnel["n_reached"].tolist()
[1, 1, 0, 0]
"""

from .analysis import JourneyResult, journey
from .churn import ChurnResult, churn_survival
from .cohorts import retention_cohorts, retention_curves
from .engine import Engine
from .funnels import FUNNEL_COLUMNS, FunnelResult, funnel, funnel_from_counts, time_to_next_stage
from .lifecycle import lifecycle_kpis
from .paths import loops, top_paths, transition_matrix, transitions
from .quality import DataQuality, check_events
from .report import TABLE_COLUMNS, conclusions, summarise

__all__ = [
    "journey",
    "JourneyResult",
    "Engine",
    "DataQuality",
    "check_events",
    "FUNNEL_COLUMNS",
    "FunnelResult",
    "funnel",
    "funnel_from_counts",
    "time_to_next_stage",
    "transitions",
    "transition_matrix",
    "top_paths",
    "loops",
    "retention_cohorts",
    "retention_curves",
    "lifecycle_kpis",
    "ChurnResult",
    "churn_survival",
    "TABLE_COLUMNS",
    "conclusions",
    "summarise",
]
