"""The hello report reads its customers table through the data contract: a good table
gives the documented CSV, a bad one stops the run with the contract's message."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "hello_report.ipynb"
BAD = ROOT / "tests" / "data" / "bad"
COLUMNS = ["segment", "touch_model", "customers", "share", "share_ci_low", "share_ci_high", "suppressed"]


def _run(tmp_path: Path, customers: Path) -> Path:
    papermill = pytest.importorskip("papermill")
    out = tmp_path / "out"
    out.mkdir()
    papermill.execute_notebook(str(NOTEBOOK), str(tmp_path / "run.ipynb"), kernel_name="python3",
                               parameters={"customers_path": str(customers), "output_dir": str(out),
                                           "min_cell_size": 1},
                               cwd=str(NOTEBOOK.parent), progress_bar=False)
    return out


def test_good_customers_give_the_documented_csv(tmp_path):
    from engagement_kit.simulate import simulate

    simulate(n_customers=300, seed=5, truth=False, frameworks=[]).write(tmp_path / "demo")
    table = pd.read_csv(_run(tmp_path, tmp_path / "demo" / "customers.csv") / "customers_by_segment.csv")
    assert list(table.columns) == COLUMNS
    assert table["customers"].sum() == 300


def test_bad_customers_stop_the_report_with_the_contract_message(tmp_path):
    papermill = pytest.importorskip("papermill")
    with pytest.raises(papermill.PapermillExecutionError) as err:
        _run(tmp_path, BAD / "customers_unknown_arm.csv")
    text = str(err.value)
    assert "ValidationError" in text and "customers.touch_model: unknown label" in text
    assert "'High Touch' -> 'high_touch'" in text
    assert not (tmp_path / "out" / "customers_by_segment.csv").exists()  # no CSV from a bad table
