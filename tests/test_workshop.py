"""The teaching workshop: notebooks run with their solutions, learner versions hide them,
and every check accepts the right answer and rejects a typical wrong one."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
import papermill as pm
import pytest

from engagement_kit import workshop
from engagement_kit.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks" / "workshop").glob("[0-9]*.ipynb"))
SMALL = {"n_customers": 4000}


def _outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(str(out.get("text", "")))
            parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def _params(path: Path) -> dict:
    nb = nbformat.read(path, as_version=4)
    src = next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    return {k: v for k, v in SMALL.items() if f"{k} =" in src}


def test_the_workshop_has_five_notebooks_each_with_exercises_and_solutions():
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05"]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        tags = [t for c in nb.cells for t in c.metadata.get("tags", [])]
        assert "parameters" in tags
        assert tags.count("solution") >= 2, f"{path.name}: each notebook has exercises with solutions"
        assert tags.count("solution") == tags.count("exercise"), path.name
        # the shipped notebook is the teacher version, and says so first
        assert "teacher" in nb.cells[0].metadata.get("tags", []) and "TEACHER VERSION" in nb.cells[0].source
        assert "Learning goal" in nb.cells[1].source
        for i, cell in enumerate(nb.cells):
            if "exercise" in cell.metadata.get("tags", []):  # the solution sits right under its exercise
                assert "solution" in nb.cells[i + 1].metadata.get("tags", []), f"{path.name}: cell {cell.id}"
                assert nb.cells[i + 1].source.startswith("# SOLUTION"), f"{path.name}: cell {nb.cells[i + 1].id}"


def test_check_verdicts_carry_a_word_beside_the_emoji():
    # Without an emoji font the emoji is an empty box: the word must still say it.
    right, wrong = workshop.check_choice("a", "a", {"a": "yes"}, "q"), workshop.check_choice("b", "a", {"a": "yes", "b": "no"}, "q")
    assert str(right).startswith("✅ PASS — ") and str(wrong).startswith("❌ NOT YET — ")
    assert right._repr_markdown_().startswith("**✅ PASS**") and "NOT YET" in wrong._repr_markdown_()
    assert "NON ANCORA" in str(workshop.CheckResult(False, "x", language="it"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_with_solutions_and_every_check_passes(path, tmp_path):
    out = tmp_path / path.name
    pm.execute_notebook(str(path), str(out), parameters=_params(path), cwd=str(ROOT), kernel_name="python3", progress_bar=False)
    text = _outputs_text(nbformat.read(out, as_version=4))
    assert "✅ PASS" in text
    assert "❌" not in text and "NOT YET" not in text, text[text.find("❌") - 200 : text.find("❌") + 300]
    n_checks = sum("exercise" in c.metadata.get("tags", []) for c in nbformat.read(path, as_version=4).cells)
    assert text.count("✅ PASS") >= n_checks, "every exercise's check passes in the teacher version"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_learner_version_has_no_solutions_and_runs_to_unanswered_checks(path, tmp_path):
    source = json.loads(path.read_text())
    learner = workshop.learner_version(source)
    assert not any({"solution", "teacher"} & set(c.get("metadata", {}).get("tags", [])) for c in learner["cells"])
    assert "Learning goal" in "".join(learner["cells"][0]["source"])
    assert not any("SOLUTION" in "".join(c["source"]) or "TEACHER" in "".join(c["source"]) for c in learner["cells"])
    ids = {c["id"] for c in source["cells"]}
    assert {c["id"] for c in learner["cells"]} <= ids, "cell ids are kept (translations are keyed by them)"
    src = tmp_path / f"learner_{path.name}"
    src.write_text(json.dumps(learner))
    out = tmp_path / f"out_{path.name}"
    pm.execute_notebook(str(src), str(out), parameters=_params(path), cwd=str(ROOT), kernel_name="python3", progress_bar=False)
    text = _outputs_text(nbformat.read(out, as_version=4))
    assert "No answer yet" in text and "❌ NOT YET" in text and "✅" not in text


# ---- the checks, one by one: right answer accepted, typical wrong answer rejected ----------
@pytest.fixture(scope="module")
def confounded():
    sim = simulate(n_customers=6000, seed=3, assignment="confounded", truth=False)
    return sim.customers.merge(sim.outcomes, on="customer_id")


def test_naive_difference_check(confounded):
    m = confounded.groupby("touch_model")["revenue"].mean()
    assert workshop.check_naive_difference(m["high_touch"] - m["no_touch"], confounded).ok
    assert not workshop.check_naive_difference(m["no_touch"] - m["high_touch"], confounded).ok  # sign flipped
    assert not workshop.check_naive_difference(None, confounded).ok


def test_segment_difference_check(confounded):
    smb = confounded[confounded.segment == "smb"].groupby("touch_model")["revenue"].mean()
    overall = confounded.groupby("touch_model")["revenue"].mean()
    assert workshop.check_segment_difference(smb["high_touch"] - smb["no_touch"], confounded, "smb").ok
    # typical mistake: forgetting to filter the segment
    assert not workshop.check_segment_difference(overall["high_touch"] - overall["no_touch"], confounded, "smb").ok


def test_choice_checks():
    assert workshop.check_why_naive_misleads("b").ok
    assert workshop.check_why_naive_misleads(" B ").ok
    assert not workshop.check_why_naive_misleads("a").ok
    assert not workshop.check_why_naive_misleads("z").ok
    assert workshop.check_truth_in_interval("yes", 1.0, 3.0, 2.0).ok
    assert not workshop.check_truth_in_interval("no", 1.0, 3.0, 2.0).ok
    assert workshop.check_truth_in_interval("no", 1.0, 3.0, 5.0).ok


def test_sample_size_check_against_the_textbook_value():
    # Reference: the arcsine (Cohen's h) formula for two equal groups,
    # n per arm = 2 ((z_{1-alpha/2} + z_{power}) / h)^2 with h = 2 asin(sqrt(p1)) - 2 asin(sqrt(p0)).
    from scipy import stats

    h = 2 * np.arcsin(np.sqrt(0.12)) - 2 * np.arcsin(np.sqrt(0.10))
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    n_formula = 2 * (z / h) ** 2  # per arm for two independent samples of equal size
    assert workshop.check_sample_size(n_formula, 0.10, 0.02).ok
    assert not workshop.check_sample_size(n_formula / 2, 0.10, 0.02).ok  # the one-sample formula: half too small


def test_power_check_matches_simulation():
    n = 1900
    simulated = workshop.simulated_power(n, 0.10, 0.02, n_experiments=8000, seed=4)
    assert workshop.check_power(simulated, n, 0.10, 0.02).ok
    assert not workshop.check_power(0.8, n, 0.10, 0.02).ok  # the planned power, not the power at half the n


def test_peeking_inflates_false_positives_and_single_look_is_calibrated():
    r = workshop.peeking_false_positive_rate(n_experiments=4000, n_looks=10, seed=9)
    assert 0.04 <= r["single_look"] <= 0.06
    assert 0.14 <= r["peeking"] <= 0.24  # Armitage et al. (1969): about 0.19 for 10 looks
    assert workshop.check_peeking_rate(r["peeking"], 10, seed=8).ok
    assert not workshop.check_peeking_rate(0.05, 10).ok  # believing alpha still holds


def test_build_workshop_makes_learner_notebooks_without_solutions_and_marked_teacher_ones(tmp_path):
    out = workshop.build_workshop(tmp_path / "kit", root=ROOT, handout=False)
    for folder in ("learner", "teacher"):
        names = sorted(p.name for p in (out / folder).glob("*.ipynb"))  # (not the package's own folder)
        assert names == [p.name for p in NOTEBOOKS], folder
        assert (out / folder / "engagement_kit" / "workshop.py").is_file(), "the package travels with the kit"
    for p in (out / "learner").glob("*.ipynb"):
        nb = json.loads(p.read_text())
        assert not any({"solution", "teacher"} & set(c.get("metadata", {}).get("tags", [])) for c in nb["cells"])
    for p in (out / "teacher").glob("*.ipynb"):
        nb = json.loads(p.read_text())
        assert "TEACHER VERSION" in "".join(nb["cells"][0]["source"]), p.name
        assert sum("solution" in c.get("metadata", {}).get("tags", []) for c in nb["cells"]) >= 2, p.name
    readme = (out / "README.md").read_text()
    assert "learner/" in readme and "teacher/" in readme and (out / "requirements.txt").is_file()
    assert (out.stat().st_mode & 0o755) == 0o755


def test_largest_gap_check_accepts_the_chart_label_and_rejects_the_smallest_gap():
    import pandas as pd

    table = pd.DataFrame({"group": ["enterprise"] * 3, "component": ["outcomes_at_scale", "education", "journey"],
                          "gap": [30.0, 10.0, 5.0]})
    assert workshop.check_largest_gap("outcomes_at_scale", table, "enterprise").ok
    assert workshop.check_largest_gap("Outcomes at scale", table, "enterprise").ok  # as the heat map shows it
    assert not workshop.check_largest_gap("journey", table, "enterprise").ok  # the smallest gap


def test_path_and_survey_checks():
    assert workshop.check_randomised_path(1).ok and workshop.check_randomised_path("1").ok
    assert not workshop.check_randomised_path(3).ok  # "both": the mediator was not randomised
    assert workshop.check_survey_correlation_is_not_proof("b").ok
    assert not workshop.check_survey_correlation_is_not_proof("a").ok
    assert "Right: Right" not in str(workshop.check_survey_correlation_is_not_proof("b"))


def test_dsce_score_and_index_checks():
    assert workshop.check_component_score(75, rating=4).ok
    assert not workshop.check_component_score(80, rating=4).ok  # 4/5 of 100: forgets the scale starts at 1
    ratings = {"a": 1, "b": 5, "c": 3, "d": 3}
    assert workshop.check_account_index(50, ratings).ok
    assert not workshop.check_account_index(3, ratings).ok  # the mean rating, not the mean score


def test_confidence_sequence_fix_keeps_false_positives_under_alpha_and_its_check():
    r = workshop.confidence_sequence_false_positive_rate(n_experiments=4000, n_looks=10, seed=9)
    assert r["confidence_sequence"] <= 0.05 < 0.14 <= r["peeking"]  # same runs, same looks
    assert workshop.check_confidence_sequence_rate(r["confidence_sequence"], 10, seed=8).ok
    assert not workshop.check_confidence_sequence_rate(r["peeking"], 10, seed=8).ok  # p-values at every look
    assert "ordinary p-values" in str(workshop.check_confidence_sequence_rate(r["peeking"], 10, seed=8))
    assert not workshop.check_confidence_sequence_rate(0.05, 10).ok  # "it is alpha": the bound, not the rate
    assert not workshop.check_confidence_sequence_rate(None, 10).ok


def test_building_the_handout_prints_no_warning(tmp_path, capfd):
    # `make workshop` printed ipykernel's "Kernel is running over TCP without encryption" once per
    # notebook; the handout's kernels now talk over IPC sockets. One notebook keeps this cheap.
    root = tmp_path / "root"
    (root / "notebooks" / "workshop").mkdir(parents=True)
    src = NOTEBOOKS[-1]
    (root / "notebooks" / "workshop" / src.name).write_text(src.read_text())
    capfd.readouterr()
    out = workshop.build_workshop(tmp_path / "kit", root=root, handout=True)
    printed = capfd.readouterr()
    assert "✅ PASS" in (out / "handout.html").read_text()
    noise = printed.out + printed.err
    assert "TCP" not in noise and "Warning" not in noise and "IProgress" not in noise, noise
