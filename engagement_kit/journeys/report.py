"""The CSV interface of the journeys notebook: column lists and a writer.

Every table is written with its interface columns first; a part that cannot be
computed (e.g. a funnel for data without events) is written with the header
only, so downstream readers always find the file and its columns.

Example
-------
>>> import tempfile, pandas as pd
>>> d = tempfile.mkdtemp()
>>> write_table(None, d, "funnel").read_text().strip() == ",".join(TABLE_COLUMNS["funnel"])
True
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .churn import SURVIVAL_COLUMNS
from .funnels import FUNNEL_COLUMNS

__all__ = ["TABLE_COLUMNS", "write_table"]

TABLE_COLUMNS: dict[str, list[str]] = {
    "funnel": FUNNEL_COLUMNS,
    "funnel_tests": ["framework", "stage", "stage_order", "mode", "basis", "arm", "control", "diff",
                     "diff_ci_low", "diff_ci_high", "z", "chi2", "p_value", "p_adjusted", "reject"],
    "stage_times": ["framework", "from_stage", "stage", "stage_order", "arm", "n", "n_events",
                    "median_days", "ci_low", "ci_high"],
    "transitions": ["framework", "arm", "from_stage", "to_stage", "from_order", "to_order", "kind", "n",
                    "n_from", "probability", "ci_low", "ci_high"],
    "top_paths": ["framework", "arm", "rank", "path", "n_customers", "share"],
    "cohorts": ["arm", "cohort", "period", "days", "n_eligible", "n_retained", "retention", "ci_low", "ci_high"],
    "kpis": ["framework", "kpi", "arm", "value", "ci_low", "ci_high", "n", "formula", "note"],
    "survival": SURVIVAL_COLUMNS,
    "quality": ["check", "framework", "stage", "n_rows", "n_customers", "share_of_rows", "rule"],
}  # fmt: skip


def write_table(data: pd.DataFrame | None, output_dir: str | Path, name: str) -> Path:
    """Write ``<output_dir>/<name>.csv`` with the interface columns first (header only if ``data`` is None)."""
    cols = TABLE_COLUMNS[name]
    path = Path(output_dir) / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    if data is None:
        df = pd.DataFrame(columns=cols)
    else:
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise KeyError(f"table {name!r} lacks interface column(s) {missing}")
        if "customer_id" in data.columns:
            raise ValueError(f"table {name!r} holds customer ids; outputs must be aggregates only")
        df = data[cols + [c for c in data.columns if c not in cols]]
    df.to_csv(path, index=False)
    return path
