"""The DSCE scorecard notebook runs end to end on small simulated data and writes its tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engagement_kit import dsce
from engagement_kit.kpis import KPI_TABLE_COLUMNS
from engagement_kit.simulate import simulate

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "dsce_scorecard.ipynb"


def test_notebook_writes_the_scorecard_tables(tmp_path):
    papermill = pytest.importorskip("papermill")
    data = tmp_path / "data"
    simulate(n_customers=1500, seed=11, truth=False, frameworks=["aarrr"], include_types=False).write(data)
    out = tmp_path / "out"
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(tmp_path / "executed.ipynb"),
        parameters={
            "dsce_path": str(data / "dsce.csv"),
            "outcomes_path": str(data / "outcomes.csv"),
            "customers_path": str(data / "customers.csv"),
            "survey_path": str(data / "survey.csv"),
            "weights": "fitted",
            "output_dir": str(out),
        },
        kernel_name="python3",
        cwd=str(NOTEBOOK.parent),
        progress_bar=False,
    )
    scores = pd.read_csv(out / "dsce_scores.csv")
    assert len(scores) == 1500
    assert {"customer_id", "index", "index_equal", "index_fitted", "gap"} <= set(scores.columns)
    assert tuple(pd.read_csv(out / "dsce_segments.csv").columns) == dsce.SEGMENT_COLUMNS
    drivers = pd.read_csv(out / "dsce_drivers.csv")
    assert list(drivers.columns[:3]) == ["component", "outcome", "model"]
    assert {"estimate", "ci_low", "ci_high", "p_value", "p_adjusted"} <= set(drivers.columns)
    assert tuple(pd.read_csv(out / "kpis.csv").columns) == KPI_TABLE_COLUMNS
    # the executed notebook shows aggregates only: no customer id in any output
    executed = (tmp_path / "executed.ipynb").read_text()
    assert "C000" not in executed


def test_notebook_is_stored_without_outputs():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert nb.metadata["kernelspec"]["name"] == "python3"
