"""The touch-model experiment notebook runs with papermill, unchanged, on small simulated
demo data and on a sample of the real Hillstrom e-mail experiment, and writes its CSVs with
the documented columns (engagement_kit.experiments.report.OUTPUT_COLUMNS)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engagement_kit.experiments.report import OUTPUT_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "touch_model_experiment.ipynb"
REQUIRED = ["effects.csv", "srm.csv", "balance.csv", "segments.csv", "value.csv", "power.csv"]


def _hillstrom() -> Path:
    for p in (ROOT / "data/real/hillstrom/hillstrom.csv", Path("/work/shared/data/hillstrom/hillstrom.csv")):
        if p.exists():
            return p
    pytest.skip("Hillstrom data not available")


def _run(tmp_path: Path, **params) -> dict[str, pd.DataFrame]:
    papermill = pytest.importorskip("papermill")
    out = tmp_path / "out"
    papermill.execute_notebook(str(NOTEBOOK), str(tmp_path / "run.ipynb"), kernel_name="python3",
                               parameters={"output_dir": str(out), **params}, cwd=str(NOTEBOOK.parent),
                               progress_bar=False)
    tables = {}
    for name in REQUIRED:
        df = pd.read_csv(out / name)
        assert list(df.columns)[: len(OUTPUT_COLUMNS[name])] == OUTPUT_COLUMNS[name], name
        tables[name] = df
    text = "".join(p.read_text() for p in out.glob("*.csv"))
    assert "C000" not in text  # aggregates only, never customer ids
    return tables


def test_notebook_parameters_cell_is_tagged_and_outputs_are_stripped():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    for name in ("data_path", "arm_col", "control", "metrics", "covariates", "segment_col", "costs", "alpha",
                 "correction", "output_dir", "seed"):
        assert any(line.startswith(f"{name} = ") for line in code[0].source.splitlines()), name
    assert all(not c.get("outputs") for c in code)
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_notebook_runs_on_small_simulated_demo(tmp_path):
    from engagement_kit.simulate import simulate

    data_dir = tmp_path / "demo"
    simulate(n_customers=1500, seed=11, frameworks=["aarrr"], include_types=False).write(data_dir)
    t = _run(tmp_path, data_path=str(data_dir))
    eff = t["effects.csv"]
    # 5 metrics x 2 arms, plus CUPED rows for the 4 sufficient-statistic metrics
    assert len(eff) == 5 * 2 + 4 * 2
    assert set(eff["method"]) == {"z_wald", "welch", "z_nps", "cox", "cuped"}
    assert not eff[["diff", "ci_low", "ci_high", "p_value", "p_adjusted"]].isna().any().any()
    assert set(t["segments.csv"]["segment"]) == {"smb", "mid_market", "enterprise"}
    assert t["value.csv"].groupby("segment")["best"].sum().eq(1).all()


def test_notebook_runs_unchanged_on_hillstrom_sample(tmp_path):
    sample = pd.read_csv(_hillstrom()).sample(n=12_000, random_state=1)
    path = tmp_path / "hillstrom_sample.csv"
    sample.to_csv(path, index=False)
    from engagement_kit.experiments.report import HILLSTROM_PARAMETERS

    params = {**HILLSTROM_PARAMETERS, "data_path": str(path)}
    params.pop("output_dir")
    t = _run(tmp_path, **params)
    eff = t["effects.csv"]
    assert set(eff["arm"]) == {"Mens E-Mail", "Womens E-Mail"} and set(eff["control"]) == {"No E-Mail"}
    visit = eff[(eff.metric == "visit") & (eff.arm == "Mens E-Mail") & (eff.method == "z_wald")].iloc[0]
    # the published Hillstrom result: the men's e-mail lifts visits by ~7.7 points (18.3 % vs 10.6 %)
    assert visit.ci_low < 0.077 < visit.ci_high
    assert not t["srm.csv"]["srm_detected"].any()
