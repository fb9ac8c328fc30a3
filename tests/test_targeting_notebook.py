"""The targeting notebook runs with papermill, unchanged: on a small simulated targeting table
and on a sample of the real Hillstrom e-mail experiment with the parameters of its run in
reports.yaml. It writes its CSVs with the documented columns
(``engagement_kit.targeting.TargetingResult.COLUMNS``) and no customer ids."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from engagement_kit.simulate import simulate_targeting
from engagement_kit.targeting import TargetingResult

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "touch_model_targeting.ipynb"


def _run(tmp_path: Path, **params) -> dict[str, pd.DataFrame]:
    papermill = pytest.importorskip("papermill")
    out = tmp_path / "out"
    papermill.execute_notebook(str(NOTEBOOK), str(tmp_path / "run.ipynb"), kernel_name="python3",
                               parameters={"output_dir": str(out), **params}, cwd=str(NOTEBOOK.parent),
                               progress_bar=False)
    tables = {}
    for name, cols in TargetingResult.COLUMNS.items():
        df = pd.read_csv(out / f"{name}.csv")
        assert list(df.columns)[: len(cols)] == cols, name
        tables[name] = df
    text = "".join(p.read_text() for p in out.glob("*.csv"))
    assert "C000" not in text  # aggregates only
    return tables


def test_notebook_parameters_are_tagged_and_outputs_stripped():
    import nbformat

    from engagement_kit.reports.params import parameters_of

    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    names = {p.name for p in parameters_of(nb)}
    assert {"data_path", "arm_col", "control", "value_metric", "costs", "features", "budget", "folds", "alpha",
            "seed", "output_dir"} <= names
    assert all(not c.get("outputs") for c in code) and nb.metadata["kernelspec"]["name"] == "python3"
    roles = {p.name: (p.column_role, p.columns_of) for p in parameters_of(nb)}
    assert roles["features"] == ("columns", "data_path") and roles["arm_col"] == ("column", "data_path")


def test_notebook_runs_on_a_small_simulated_table(tmp_path):
    path = tmp_path / "targeting.csv"
    simulate_targeting(1_500, seed=3).customers.to_csv(path, index=False)
    t = _run(tmp_path, data_path=str(path), features=["segment", "prior_revenue", "prior_activity", "region"],
             costs={"high_touch": 150.0, "low_touch": 30.0, "no_touch": 5.0}, cost_col=None, learner="linear",
             folds=2, budget={"high_touch": 0.2})
    pv = t["policy_value"]
    assert list(pv["kind"]) == ["learned", "blanket", "blanket", "blanket", "segment_rule"]
    assert pv.loc[0, "share_high_touch"] <= 0.2 + 1e-9


def test_notebook_runs_on_a_hillstrom_sample_with_its_reports_yaml_parameters(tmp_path):
    hill = ROOT / "data/real/hillstrom/hillstrom.csv"
    if not hill.exists():
        pytest.skip("Hillstrom data not available")
    runs = yaml.safe_load((ROOT / "reports.yaml").read_text())["runs"]
    params = next(r for r in runs if r["name"] == "touch_model_targeting_hillstrom")["parameters"]
    t = _run(tmp_path, **{**params, "data_path": str(hill)}, sample_n=6_000, folds=2)
    pv = t["policy_value"]
    assert {"share_No E-Mail", "share_Mens E-Mail", "share_Womens E-Mail"} <= set(pv.columns)
    assert set(t["cate_by_feature"]["feature"]) == set(params["features"])
