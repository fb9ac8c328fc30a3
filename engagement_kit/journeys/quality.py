"""Data quality of an events table: what was found, how much, and what the analysis did with it.

Nothing is dropped silently: every problem found by
:meth:`~engagement_kit.journeys.engine.Engine.quality_counts` is counted and
carries the rule the journeys analyses apply to it.

Example
-------
>>> import pandas as pd
>>> ev = pd.DataFrame({"customer_id": ["a", "a"], "framework": "laer", "stage": ["land", "lnad"],
...                    "timestamp": pd.to_datetime(["2025-01-01", "2025-01-02"])})
>>> dq = check_events(ev)
>>> dq.to_pandas()[["check", "stage", "n_rows"]].to_numpy().tolist()
[['unknown_stage', 'lnad', 1]]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .engine import Engine, Source

__all__ = ["RULES", "DataQuality", "check_events", "as_engine"]

#: check -> the documented rule the journeys analyses apply.
RULES: dict[str, str] = {
    "missing_customer_id": "excluded from every analysis (the event cannot be linked to a customer)",
    "missing_timestamp": "excluded from funnels, paths and times (the event cannot be ordered)",
    "unknown_framework": "excluded (not one of engagement_kit.frameworks.FRAMEWORKS)",
    "unknown_stage": "excluded from the framework's funnel, paths and times (not a stage of it)",
    "duplicate_event": "counted once (first arrivals unaffected; paths use distinct events)",
    "out_of_order": (
        "customer counts as reaching the stage in the any-order funnel but not in the ordered funnel "
        "(first arrival earlier than the first arrival at the previous stage)"
    ),
    "customer_not_in_customers": "excluded from by-arm results (no arm); listed here",
    "event_before_signup": "kept (the timestamp is trusted; check the signup dates)",
    "event_after_observation_end": "kept; times to the next stage are censored at the observation end",
    "blank_value": "see the note of the table that reports it",
    "missing_value": "row left out of the churn analysis (a survival model needs every value it uses)",
}


@dataclass(frozen=True)
class DataQuality:
    """Problems found in the input tables.

    ``table`` has one row per check (and framework/stage where it applies):
    check, framework, stage, n_rows, n_customers, share_of_rows, rule.
    ``n_events`` is the number of rows of the checked table (the events table, or
    the churn table given to :func:`~engagement_kit.journeys.journey`).
    """

    table: pd.DataFrame
    n_events: int

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return self.table.empty

    def to_pandas(self) -> pd.DataFrame:
        return self.table.copy()

    def count(self, check: str) -> int:
        """Rows affected by one check (0 when it found nothing)."""
        return int(self.table.loc[self.table["check"] == check, "n_rows"].sum())

    def write(self, path: str | Path) -> Path:
        """Write ``quality.csv`` (aggregates only: no customer ids)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.table.to_csv(path, index=False)
        return path

    @classmethod
    def from_counts(cls, counts: pd.DataFrame, n_events: int) -> DataQuality:
        t = counts.copy()
        t["share_of_rows"] = t["n_rows"] / n_events if n_events else float("nan")
        t["rule"] = t["check"].map(RULES).fillna("reported")
        cols = ["check", "framework", "stage", "n_rows", "n_customers", "share_of_rows", "rule"]
        t = t.reindex(columns=cols).sort_values(["check", "framework", "stage"], na_position="first")
        return cls(table=t.reset_index(drop=True), n_events=n_events)


def as_engine(
    data: Engine | Source | None,
    *,
    customers: Source | None = None,
    outcomes: Source | None = None,
) -> Engine:
    """An :class:`Engine` with the given tables registered (``data`` = events).

    Passing an Engine returns it (with any extra tables registered on it).
    """
    eng = data if isinstance(data, Engine) else Engine()
    if data is not None and not isinstance(data, Engine):
        eng.register("events", data)
    if customers is not None:
        eng.register("customers", customers)
    if outcomes is not None:
        eng.register("outcomes", outcomes)
    return eng


def check_events(
    data: Engine | Source,
    *,
    customers: Source | None = None,
    frameworks: list[str] | None = None,
    observation_end: object = None,
) -> DataQuality:
    """Count the data-quality problems of an events table (see :data:`RULES`).

    ``data`` is the events table (path(s), frame) or an Engine holding
    ``events`` (and optionally ``customers``).
    """
    eng = as_engine(data, customers=customers)
    counts = eng.quality_counts(frameworks, observation_end=observation_end)
    return DataQuality.from_counts(counts, eng.n_events())
