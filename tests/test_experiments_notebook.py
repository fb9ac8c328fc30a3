"""The touch-model experiment notebook runs with papermill, unchanged: on small simulated demo
data (the default batch's shape), on a sample of the real Hillstrom e-mail experiment with the
parameters of its run in reports.yaml, and on a foreign-shaped table given only the parameters
that describe it. It writes its CSVs with the documented columns
(``engagement_kit.experiments.ExperimentResult.COLUMNS``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from engagement_kit.experiments import ExperimentResult

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "touch_model_experiment.ipynb"
REQUIRED = ["effects", "srm", "balance", "segments", "value", "power", "bayes", "survival", "interaction", "sequential"]
#: Column names of the demo data that the notebook's defaults name.
DEMO_COLUMNS = ("touch_model", "prior_revenue", "prior_activity", "cost_to_serve", "churn_time", "referrals")


def _hillstrom() -> Path:
    for p in (ROOT / "data/real/hillstrom/hillstrom.csv", Path("/work/shared/data/hillstrom/hillstrom.csv")):
        if p.exists():
            return p
    pytest.skip("Hillstrom data not available")


def _run(tmp_path: Path, **params) -> tuple[dict[str, pd.DataFrame], str, str]:
    """Run the notebook; the CSVs (columns checked), its stdout and its stderr."""
    papermill = pytest.importorskip("papermill")
    import nbformat

    out = tmp_path / "out"
    papermill.execute_notebook(str(NOTEBOOK), str(tmp_path / "run.ipynb"), kernel_name="python3",
                               parameters={"output_dir": str(out), **params}, cwd=str(NOTEBOOK.parent),
                               progress_bar=False)
    tables = {}
    for name in REQUIRED:
        df = pd.read_csv(out / f"{name}.csv")
        cols = ExperimentResult.COLUMNS[name]
        assert list(df.columns)[: len(cols)] == cols, name
        tables[name] = df
    text = "".join(p.read_text() for p in out.glob("*.csv"))
    assert "C000" not in text  # aggregates only, never customer ids
    outputs = [o for c in nbformat.read(tmp_path / "run.ipynb", as_version=4).cells if c.cell_type == "code"
               for o in c.get("outputs", [])]
    stdout = "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
    stderr = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    return tables, stdout, stderr


def test_notebook_parameters_cell_is_tagged_and_outputs_are_stripped():
    import nbformat

    from engagement_kit.reports.params import parameters_of

    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    for name in ("data_path", "arm_col", "control", "metrics", "covariates", "segment_col", "costs", "alpha",
                 "correction", "output_dir", "seed", "min_cell_size"):
        assert any(line.startswith(f"{name} = ") for line in code[0].source.splitlines()), name
    assert all(not c.get("outputs") for c in code)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    roles = {p.name: (p.column_role, p.columns_of) for p in parameters_of(nb)}
    assert roles["arm_col"] == ("column", "data_path") and roles["metrics"] == ("metrics", "data_path")
    assert roles["covariates"] == ("columns", "data_path")
    assert all(roles[n] == ("column", "data_path") for n in ("segment_col", "cost_col", "value_metric"))


def test_notebook_runs_on_small_simulated_demo(tmp_path):
    from engagement_kit.simulate import simulate

    data_dir = tmp_path / "demo"
    simulate(n_customers=1500, seed=11, frameworks=["aarrr"], include_types=False, arrival_weeks=8).write(data_dir)
    t, stdout, _ = _run(tmp_path, data_path=str(data_dir))
    eff = t["effects"]
    # 5 metrics x 2 arms, plus CUPED rows for the 4 sufficient-statistic metrics
    assert len(eff) == 5 * 2 + 4 * 2
    assert set(eff["method"]) == {"z_wald", "welch", "z_nps", "cox", "cuped"}
    assert not eff[["diff", "ci_low", "ci_high", "p_value", "p_adjusted"]].isna().any().any()
    assert set(t["segments"]["segment"]) == {"smb", "mid_market", "enterprise"}
    assert t["value"].groupby("segment")["best"].sum().eq(1).all()
    assert "skipped" not in stdout  # every part runs on the demo
    seq = t["sequential"]  # monitoring on the assignment times: 10 looks x 4 metrics x 2 arms
    assert seq["look"].nunique() == 10 and len(seq) == 10 * 4 * 2 and seq["decision"].notna().all()


def test_notebook_runs_unchanged_on_hillstrom_sample_with_its_reports_yaml_parameters(tmp_path):
    sample = pd.read_csv(_hillstrom()).sample(n=12_000, random_state=1)
    path = tmp_path / "hillstrom_sample.csv"
    sample.to_csv(path, index=False)
    runs = yaml.safe_load((ROOT / "reports.yaml").read_text())["runs"]
    params = next(r for r in runs if r["name"] == "touch_model_experiment_hillstrom")["parameters"]
    t, _, _ = _run(tmp_path, **{**params, "data_path": str(path)})
    eff = t["effects"]
    assert set(eff["arm"]) == {"Mens E-Mail", "Womens E-Mail"} and set(eff["control"]) == {"No E-Mail"}
    visit = eff[(eff.metric == "visit") & (eff.arm == "Mens E-Mail") & (eff.method == "z_wald")].iloc[0]
    # the published Hillstrom result: the men's e-mail lifts visits by ~7.7 points (18.3 % vs 10.6 %)
    assert visit.ci_low < 0.077 < visit.ci_high
    assert not t["srm"]["srm_detected"].any()


def test_notebook_runs_on_a_foreign_table_with_only_the_parameters_that_describe_it(tmp_path):
    rng = np.random.default_rng(5)
    n = 900
    variant = rng.choice(["ctl", "v1", "v2"], n)
    foreign = pd.DataFrame({
        "user": [f"user-{i:05d}" for i in range(n)],
        "variant": variant,
        "clicked": (rng.random(n) < np.where(variant == "v2", 0.3, 0.2)).astype(int),
        "basket": rng.gamma(2.0, 20.0, n),
    })
    path = tmp_path / "ab_export.csv"
    foreign.to_csv(path, index=False)
    t, stdout, stderr = _run(tmp_path, data_path=str(path), arm_col="variant", control="ctl",
                             metrics={"clicked": "binary", "basket": "continuous"})
    eff = t["effects"]
    assert sorted(zip(eff["metric"], eff["arm"])) == [("basket", "v1"), ("basket", "v2"), ("clicked", "v1"),
                                                      ("clicked", "v2")]
    assert set(eff["control"]) == {"ctl"} and not eff["suppressed"].any()
    for part, parameter in (("CUPED and balance", "covariates"), ("segments and interaction", "segment_col"),
                            ("value", "value_metric"), ("survival", "metrics")):
        line = next((ln for ln in stdout.splitlines() if ln.startswith(f"{part}: skipped")), "")
        assert parameter in line, (part, stdout)
    assert len(t["balance"]) == len(t["segments"]) == len(t["value"]) == len(t["survival"]) == 0
    assert not any(name in stderr for name in DEMO_COLUMNS), stderr
    assert "user-0" not in "".join(p.read_text() for p in (tmp_path / "out").glob("*.csv"))


def test_notebook_aggregates_a_parquet_glob_in_duckdb_with_the_pandas_numbers(tmp_path):
    """engine=auto on a glob of Parquet parts: DuckDB aggregates them (the notebook says so),
    and the effects equal the pandas path's on the same rows."""
    from engagement_kit.experiments import experiment

    rng = np.random.default_rng(8)
    n = 1200
    variant = rng.choice(["ctl", "v1"], n)
    df = pd.DataFrame({"variant": variant, "clicked": rng.random(n) < np.where(variant == "v1", 0.3, 0.2),
                       "basket": rng.gamma(2.0, 20.0, n)})
    (tmp_path / "lake").mkdir()
    df.iloc[:700].to_parquet(tmp_path / "lake" / "part-0.parquet")
    df.iloc[700:].to_parquet(tmp_path / "lake" / "part-1.parquet")
    metrics = {"clicked": "binary", "basket": "continuous"}
    t, stdout, _ = _run(tmp_path, data_path=str(tmp_path / "lake" / "*.parquet"), arm_col="variant", control="ctl",
                        metrics=metrics, covariates=[], segment_col=None, time_col=None, value_metric=None)
    assert "engine: duckdb; 1,200 customers" in stdout
    want = experiment(df, arm_col="variant", control="ctl", metrics=metrics).tables()["effects"]
    num = ["n_arm", "n_control", "diff", "ci_low", "ci_high", "p_value", "p_adjusted"]
    np.testing.assert_allclose(t["effects"][num].to_numpy(float), want[num].to_numpy(float), rtol=1e-9)
