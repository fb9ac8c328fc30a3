"""The engagement-dimensions notebook runs with papermill on small data, on a survey with
custom scales and item names, and on a foreign-shaped survey given only the parameters that
describe it; it writes its CSVs with the documented columns and prints what it skipped."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from survey_helpers import SCALES, three_factor_survey

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "engagement_dimensions.ipynb"
EXPECTED = {
    "reliability.csv": ["scale", "n_items", "n", "alpha", "alpha_ci_low", "alpha_ci_high", "omega"],
    "cfa_fit.csv": ["n", "chi2", "df", "p_value", "cfi", "tli", "rmsea", "rmsea_ci_low", "rmsea_ci_high", "srmr",
                    "chi2_scaled", "df_scaled", "scaling_factor", "cfi_robust", "tli_robust", "rmsea_robust",
                    "rmsea_robust_ci_low", "rmsea_robust_ci_high", "estimator", "missing"],
    "modification_indices.csv": ["lhs", "op", "rhs", "group", "kind", "mi", "epc", "sepc_all", "p_value"],
    "missing_patterns.csv": ["pattern", "n_missing_items", "n", "share", "suppressed"],
    "hypotheses.csv": ["id", "outcome", "predictor", "estimate", "ci_low", "ci_high", "p_value", "p_adjusted",
                       "verdict"],
    "mediation.csv": ["treatment", "mediator", "outcome", "a", "b", "c", "c_prime", "indirect", "indirect_ci_low",
                      "indirect_ci_high"],
    "loadings.csv": ["scale", "item", "std_loading", "ci_low", "ci_high"],
    "validity.csv": ["scale", "composite_reliability", "ave", "fornell_larcker_ok", "max_htmt"],
    "invariance.csv": ["model", "chi2", "df", "delta_cfi", "delta_rmsea", "holds"],
}


def _run(tmp_path: Path, **params) -> Path:
    papermill = pytest.importorskip("papermill")
    out = tmp_path / "out"
    papermill.execute_notebook(str(NOTEBOOK), str(tmp_path / "run.ipynb"), kernel_name="python3",
                               parameters={"output_dir": str(out), **params}, cwd=str(NOTEBOOK.parent),
                               progress_bar=False)
    return out


def _printed(tmp_path: Path) -> str:
    """Everything the executed notebook printed (stream outputs)."""
    nb = nbformat.read(tmp_path / "run.ipynb", 4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                   if o.output_type == "stream")


def _check_columns(out: Path) -> dict[str, pd.DataFrame]:
    tables = {}
    for name, cols in EXPECTED.items():
        df = pd.read_csv(out / name)
        assert set(cols) <= set(df.columns), (name, list(df.columns))
        tables[name] = df
    return tables


def test_notebook_runs_on_small_simulated_data(tmp_path):
    from engagement_kit.simulate import simulate

    data_dir = tmp_path / "demo"
    simulate(n_customers=1000, seed=3, frameworks=["aarrr"], include_types=False).write(data_dir)
    out = _run(tmp_path, data_path=str(data_dir), n_boot=500)
    t = _check_columns(out)
    assert len(t["reliability.csv"]) == 5  # the five dimensions
    assert t["reliability.csv"]["alpha"].between(0.6, 0.95).all()
    assert len(t["invariance.csv"]) == 3
    assert len(t["mediation.csv"]) == 10  # 5 dimensions x (high, low vs no touch)
    assert "H5_interaction" in set(t["hypotheses.csv"]["id"])
    text = "".join(p.read_text() for p in out.glob("*.csv"))
    assert "C000" not in text  # aggregates only, no customer ids
    assert {p.name for p in out.glob("*.png")} == {"item_distributions.png", "loadings.png", "hypotheses.png",
                                                    "mediation.png"}


def test_notebook_runs_on_custom_scales_and_item_names(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    f = rng.normal(size=(n, 2)) @ np.linalg.cholesky([[1, 0.3], [0.3, 1]]).T
    items = {}
    for k, name in enumerate(["trust in brand", "ease"]):
        for j in range(3):
            x = 0.7 * f[:, k] + np.sqrt(0.51) * rng.normal(size=n)
            items[f"{name} q{j}"] = np.clip(np.round(3 + x), 1, 5)
    df = pd.DataFrame(items)
    df["ease q2"] = 6 - df["ease q2"]  # reverse-keyed as answered
    df["wave"] = rng.choice(["w1", "w2"], n)
    df["loyal"] = (f[:, 0] + rng.normal(size=n) > 0).astype(int)
    path = tmp_path / "my_survey.csv"
    df.to_csv(path, index=False)
    scales = {"trust": [f"trust in brand q{j}" for j in range(3)], "ease": [f"ease q{j}" for j in range(3)]}
    out = _run(tmp_path, data_path=str(path), scales=scales, reverse_items=["ease q2"], likert_min=1, likert_max=5,
               outcomes=["loyal"], group_col="wave", covariates=[], n_boot=300,
               hypotheses=[{"id": "T1", "statement": "trust drives loyalty", "outcome": "loyal",
                            "predictors": ["trust"], "model": "logit"}],
               mediation=[{"treatment": "ease", "mediator": "trust", "outcome": "loyal"}])
    t = _check_columns(out)
    assert t["reliability.csv"]["scale"].tolist() == ["trust", "ease"]
    assert t["hypotheses.csv"]["verdict"].iloc[0] == "supported"
    assert len(t["mediation.csv"]) == 1


def test_notebook_runs_on_a_foreign_survey_with_minimal_parameters(tmp_path):
    """600 respondents, three 1-5 scales named sat/loy/tru, an id column ``resp``, no
    outcomes, groups or arms: only the parameters that describe the data are given."""
    survey, _ = three_factor_survey(600, seed=11)
    path = tmp_path / "foreign_survey.csv"
    survey.to_csv(path, index=False)
    out = _run(tmp_path, data_path=str(path), scales=SCALES, likert_min=1, likert_max=5)
    for name in ("reliability.csv", "cfa_fit.csv", "loadings.csv"):
        df = pd.read_csv(out / name)
        assert set(EXPECTED[name]) <= set(df.columns), (name, list(df.columns))
    columns = list(pd.read_csv(out / "cfa_fit.csv").columns)
    assert columns[:len(EXPECTED["cfa_fit.csv"])] == EXPECTED["cfa_fit.csv"]  # published; robust columns appended
    assert pd.read_csv(out / "reliability.csv")["scale"].tolist() == ["sat", "loy", "tru"]
    assert set(pd.read_csv(out / "loadings.csv")["scale"]) == {"sat", "loy", "tru"}
    for name in ("invariance.csv", "hypotheses.csv", "mediation.csv"):
        assert pd.read_csv(out / name).empty  # header only: the part did not run
    printed = _printed(tmp_path)
    for line in ("invariance and scale means by group: skipped", "hypotheses: skipped", "mediation: skipped"):
        assert line in printed, printed
    assert "R0001" not in "".join(p.read_text() for p in out.glob("*.csv"))  # no respondent ids


def test_notebook_fits_ordinal_items_by_wlsmv(tmp_path):
    """``ordinal_items=True``: ordinal alpha, the WLSMV CFA and the thresholds table."""
    from engagement_kit.measurement.ordinal import simulate_ordinal_items

    scales = {"sat": ["sat_a", "sat_b", "sat_c"], "loy": ["loy_a", "loy_b", "loy_c"]}
    path = tmp_path / "ordinal_survey.csv"
    simulate_ordinal_items(500, scales=scales, thresholds=(-1.0, 0.0, 0.8, 1.5), seed=5).to_csv(path, index=False)
    out = _run(tmp_path, data_path=str(path), scales=scales, likert_min=1, likert_max=5, ordinal_items=True,
               outcomes=[], group_col=None, arm_col=None, covariates=[], n_boot=200)
    fit = pd.read_csv(out / "cfa_fit.csv")
    assert fit.loc[0, "estimator"] == "wlsmv" and fit.loc[0, "scaling_factor"] > 0
    assert pd.read_csv(out / "reliability.csv")["ordinal_alpha"].between(0.5, 1).all()
    assert len(pd.read_csv(out / "thresholds.csv")) == 24


def test_notebook_with_robust_estimator_and_fiml_on_incomplete_answers(tmp_path):
    """estimator='mlr', missing='fiml' (issue #15): the robust columns are filled, every row
    with an answer is used, and the missing-pattern table holds aggregates only."""
    survey, _ = three_factor_survey(600, seed=12)
    rng = np.random.default_rng(12)
    items = [i for its in SCALES.values() for i in its]
    x = survey[items].to_numpy(dtype=float).copy()
    x[rng.random(x.shape) < 0.10] = np.nan
    survey[items] = x
    survey["wave"] = rng.choice(["w1", "w2"], len(survey))
    path = tmp_path / "incomplete.csv"
    survey.to_csv(path, index=False)
    out = _run(tmp_path, data_path=str(path), scales=SCALES, likert_min=1, likert_max=5, group_col="wave",
               estimator="mlr", missing="fiml")
    t = _check_columns(out)
    fit = t["cfa_fit.csv"].iloc[0]
    assert fit["n"] == 600 and fit["estimator"] == "mlr" and fit["missing"] == "fiml"
    assert np.isfinite(fit["chi2_scaled"]) and np.isfinite(fit["scaling_factor"])
    # Zhang & Savalei's FIML-corrected robust indices (tests/test_measurement_fiml_robust.py)
    robust = ["cfi_robust", "tli_robust", "rmsea_robust", "rmsea_robust_ci_low", "rmsea_robust_ci_high"]
    assert np.isfinite(fit[robust].astype(float)).all()
    assert t["invariance.csv"][robust].notna().all().all()
    assert (t["invariance.csv"]["missing"] == "fiml").all() and t["invariance.csv"]["chi2_diff_scaled"].iloc[1:].notna().all()
    pats = t["missing_patterns.csv"]
    assert pats["pattern"].iloc[0] == "(complete)" and (pats["n"].dropna() >= 10).all()  # aggregates only
    assert pats["n"].sum() <= 600
    mi = t["modification_indices.csv"]
    assert (mi["kind"].iloc[:20] != "equality constraint").all() and (mi["kind"].iloc[20:] == "equality constraint").all()
