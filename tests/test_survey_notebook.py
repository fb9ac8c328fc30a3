"""The engagement-dimensions notebook on the demo exports: a Qualtrics choice-text export
read with a codebook, and an SPSS file with value labels, both with skipped answers
(listwise deletion for reliability and factor models). The same answers in two file
formats must give the same numbers; the codebook parameter replaces scales and reverse
items; no respondent id or Qualtrics metadata reaches an output."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "engagement_dimensions.ipynb"


def _run(folder: Path, **params) -> Path:
    papermill = pytest.importorskip("papermill")
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "out"
    papermill.execute_notebook(str(NOTEBOOK), str(folder / "run.ipynb"), kernel_name="python3",
                               parameters={"output_dir": str(out), **params}, cwd=str(NOTEBOOK.parent),
                               progress_bar=False)
    return out


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    from engagement_kit.simulate import simulate
    from engagement_kit.survey_files import write_demo_exports

    folder = tmp_path_factory.mktemp("exports")
    sim = simulate(n_customers=1500, seed=21, frameworks=[], include_types=False)
    write_demo_exports(sim, folder, seed=21, missing_rate=0.12)
    return folder


@pytest.fixture(scope="module")
def spss_run(exports, tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("spss"), data_path=str(exports / "survey.sav"), n_boot=200)


def test_qualtrics_with_codebook_and_spss_give_the_same_numbers(exports, spss_run, tmp_path):
    q = _run(tmp_path / "q", data_path=str(exports / "survey_qualtrics.csv"),
             codebook=str(exports / "survey_codebook.yaml"), n_boot=200)
    s = spss_run
    for name in ("reliability.csv", "cfa_fit.csv", "loadings.csv", "invariance.csv", "hypotheses.csv",
                 "mediation.csv", "scale_means.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(q / name), pd.read_csv(s / name), obj=name)
    rel = pd.read_csv(q / "reliability.csv")
    assert rel["scale"].tolist() == ["enthusiasm", "attention", "absorption", "interaction", "identification"]
    assert (rel["n"] < 1500).all()  # listwise: rows with a skipped item are left out
    assert rel["alpha"].between(0.7, 0.9).all()  # reverse-keyed items rescored (else alpha collapses)
    n_cfa = int(pd.read_csv(q / "cfa_fit.csv")["n"].iloc[0])
    assert 0 < n_cfa < rel["n"].min()
    assert len(pd.read_csv(q / "invariance.csv")) == 3 and len(pd.read_csv(q / "hypotheses.csv")) > 0
    text = "".join(p.read_text() for p in [*q.glob("*.csv"), *s.glob("*.csv")])
    for secret in ("C000", "192.0.2.", "R_", "IPAddress", "ResponseId"):
        assert secret not in text, secret


def test_codebook_parameter_replaces_scales_and_reverse_items(exports, spss_run, tmp_path):
    book = tmp_path / "two_scales.csv"
    rows = ["item,scale,reverse,question,min,max"]
    rows += [f"{d}_{k},{d},{str(k == 4).lower()},,1,7" for d in ("enthusiasm", "attention") for k in range(1, 5)]
    book.write_text("\n".join(rows) + "\n")
    out = _run(tmp_path / "c", data_path=str(exports / "survey.sav"), codebook=str(book), n_boot=200,
               scales={"ignored": ["nps", "csat"]}, reverse_items=["nps"], likert_min=0, likert_max=99)
    rel = pd.read_csv(out / "reliability.csv")
    assert rel["scale"].tolist() == ["enthusiasm", "attention"]
    pd.testing.assert_frame_equal(rel, pd.read_csv(spss_run / "reliability.csv").iloc[:2])
