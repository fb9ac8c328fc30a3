"""Untrusted configuration, names and labels (the hardening issue, classes 1 to 3).

Each test feeds one class of hostile input and asserts the exit code, the message, that
nothing outside (or inside) the output root changed, and that no marker file of an
injected command exists. The security model is in docs/reports.md.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from reports_helpers import make_project

from engagement_kit.reports import __main__ as cli
from engagement_kit.reports import runner
from engagement_kit.reports.cache import cache_index
from engagement_kit.reports.config import ConfigError, RunSpec, check_runs, load_config
from engagement_kit.reports.manifest import BatchManifest, RunRecord, write_json_atomic
from engagement_kit.reports.render import index_html, key_figure_rows, notebook_to_html
from engagement_kit.reports.runner import execute_job

REPO = Path(__file__).resolve().parents[1]
OK_RUN = {"name": "ok", "notebook": "notebooks/ok.ipynb"}


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")} if root.exists() else set()


@pytest.fixture
def no_kernel(monkeypatch):
    """Any attempt to execute a run fails the test: refusals come before any kernel."""

    def refuse(*args, **kwargs):
        raise AssertionError("a kernel would have started")

    monkeypatch.setattr(runner, "execute_job", refuse)


def _report(cfg: Path, out: Path, *extra: str) -> int:
    return cli.main(["--config", str(cfg), "--output-root", str(out), *extra])


# ----------------------------------------------------------------- 1. no code from configuration
MARKER = "ek_injected_marker"
INJECTIONS = {
    # papermill writes str(value) of a non-JSON object unescaped into the injected cell
    "omap": f"!!omap [{{a: \"'); open('{MARKER}', 'w'); ('\"}}]",
    "set": f"!!set {{\"'); open('{MARKER}', 'w'); ('\": null}}",
    "binary": "!!binary aGVsbG8=",
    "timestamp": "!!timestamp 2026-11-01T10:00:00",
    "date": "2026-11-01",
    "int_key": "{1: a}",
    "nan": ".nan",
}


@pytest.mark.parametrize("tag", list(INJECTIONS))
def test_yaml_values_that_are_not_plain_data_exit_2_and_run_nothing(tmp_path, capsys, no_kernel, tag):
    cfg = make_project(tmp_path, [OK_RUN])
    cfg.write_text(f"runs:\n  - name: tagged\n    notebook: notebooks/ok.ipynb\n    parameters:\n      label: {INJECTIONS[tag]}\n")
    before = _tree(tmp_path)
    assert _report(cfg, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "tagged" in err and "'label'" in err and "Traceback" not in err
    if tag == "date":
        assert "quote the date" in err
    assert _tree(tmp_path) == before  # no output root, no marker file
    assert not list(tmp_path.rglob(MARKER)) and not Path(MARKER).exists()


def test_plain_data_is_also_required_from_python(tmp_path, no_kernel):
    import datetime

    make_project(tmp_path, [OK_RUN])
    run = RunSpec(name="py", notebook="notebooks/ok.ipynb", parameters={"label": datetime.date(2026, 1, 1)}, root=tmp_path)
    with pytest.raises(ConfigError, match="quote the date"):
        check_runs([run])
    with pytest.raises(ConfigError, match="quote the date"):  # run_batch without check_runs
        runner.run_batch([run], config_path="x", output_root=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="is not a string; quote the key"):  # and the worker's own guard
        execute_job({"name": "py", "parameters": {"label": {("a",): 1}}, "run_dir": str(tmp_path / "r")})


def test_duplicate_keys_are_refused(tmp_path, capsys, no_kernel):
    cfg = make_project(tmp_path, [OK_RUN])
    cfg.write_text("runs:\n  - name: a\n    notebook: notebooks/ok.ipynb\n    parameters: {n: 1}\n    parameters: {n: 2}\n")
    assert _report(cfg, tmp_path / "out") == 2
    assert "found the key 'parameters' twice" in capsys.readouterr().err


def test_alias_bomb_is_refused_quickly(tmp_path, capsys, no_kernel):
    cfg = make_project(tmp_path, [OK_RUN])
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"] + [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
        for i in range(1, 9)
    ]  # 9**9 = 387 million strings from 700 bytes
    cfg.write_text(
        "runs:\n  - name: bomb\n    notebook: notebooks/ok.ipynb\n    description: x\n"
        "    parameters:\n      label:\n" + "".join(f"        {line}\n" for line in levels)
    )
    t0 = time.perf_counter()
    assert _report(cfg, tmp_path / "out") == 2
    assert time.perf_counter() - t0 < 10  # the unprotected pipeline took 26 s and 1.6 GB
    err = capsys.readouterr().err
    assert "larger than 1,000,000" in err and "'label'" in err


@pytest.mark.parametrize("timeout", ["0", "-5", "1.5", "true", "'10'"])
def test_timeouts_must_be_whole_seconds_of_at_least_one(tmp_path, capsys, no_kernel, timeout):
    cfg = make_project(tmp_path, [OK_RUN])
    cfg.write_text(f"runs:\n  - name: a\n    notebook: notebooks/ok.ipynb\n    timeout: {timeout}\n")
    assert _report(cfg, tmp_path / "out") == 2
    assert "'timeout' must be" in capsys.readouterr().err


# ----------------------------------------------------------------- 2. paths stay inside their folders
@pytest.mark.parametrize("run_id", [".", "..", ".hidden", "a/b", "../x", "latest", "index.html", "", "x" * 101])
def test_run_ids_are_one_plain_path_part(tmp_path, capsys, no_kernel, run_id):
    cfg = make_project(tmp_path, [OK_RUN])
    out = tmp_path / "out"
    (out / "older").mkdir(parents=True)
    before = _tree(tmp_path)
    assert _report(cfg, out, "--run-id", run_id) == 2
    assert "--run-id" in capsys.readouterr().err
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("name", ["..", ".", ".hidden", "a/b", "manifest.json", "index.html"])
def test_run_names_are_one_plain_path_part(tmp_path, capsys, no_kernel, name):
    cfg = make_project(tmp_path, [OK_RUN])
    cfg.write_text(f"runs:\n  - name: '{name}'\n    notebook: notebooks/ok.ipynb\n")
    before = _tree(tmp_path)
    assert _report(cfg, tmp_path / "out") == 2
    assert "run name" in capsys.readouterr().err
    assert _tree(tmp_path) == before
    # the same from Python, without load_config
    run = RunSpec(name=name, notebook="notebooks/ok.ipynb", parameters={}, root=tmp_path)
    with pytest.raises(ConfigError, match="run name"):
        runner.run_batch([run], config_path="x", output_root=tmp_path / "out")
    assert _tree(tmp_path) == before


@pytest.mark.parametrize(
    "entry",
    [{"key_figures": "/etc/passwd"}, {"key_figures": "../x.csv"}, {"key_figures": "sub/x.csv"},
     {"account_level": ["../../scores.csv"]}, {"account_level": ["/tmp/x.csv"]}],  # fmt: skip
)
def test_key_figures_and_account_level_are_plain_file_names(tmp_path, capsys, no_kernel, entry):
    cfg = make_project(tmp_path, [{**OK_RUN, **entry}])
    assert _report(cfg, tmp_path / "out") == 2
    assert "must be the plain name of a file" in capsys.readouterr().err


def test_account_level_names_are_compared_after_normalisation(tmp_path):
    cfg = make_project(tmp_path, [{**OK_RUN, "key_figures": "./scores.csv", "account_level": ["scores.csv"]}])
    (run,) = load_config(cfg)
    assert run.key_figures == "scores.csv"
    run_dir = tmp_path / "b" / "ok"
    run_dir.mkdir(parents=True)
    (run_dir / "scores.csv").write_text("customer_id,score\nC00001,1\n")
    (run_dir / "means.csv").write_text("arm,mean\na,1\n")
    for key, account in [("./scores.csv", ["scores.csv"]), ("scores.csv", ["./scores.csv"])]:
        rec = RunRecord("ok", "nb", "h", {}, [], "k", outputs=["means.csv", "scores.csv"], key_figures=key,
                        account_level=account)  # fmt: skip
        assert key_figure_rows(run_dir, rec)[0] == "means.csv"  # never the account-level table


def test_a_crafted_manifest_never_opens_files_outside_the_run_folder(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n")
    batch = tmp_path / "root" / "b1"
    (batch / "ok").mkdir(parents=True)
    (batch / "ok" / "report.html").write_text("x")
    for kf in (str(secret), "../../secret.csv"):
        rec = RunRecord("ok", "nb", "h", {}, [], "key", status="ok", outputs=[kf], key_figures=kf)
        assert key_figure_rows(batch / "ok", rec) is None
        m = BatchManifest(run_id="b1", config="c", start="s", runs=[rec])
        assert "hunter2" not in index_html(m, batch)
    # cache records whose names are not plain are ignored
    bad = RunRecord("..", "nb", "h", {}, [], "key", status="ok")
    write_json_atomic(batch / "manifest.json", BatchManifest(run_id="b1", config="c", start="s", runs=[bad]).to_dict())
    assert cache_index(tmp_path / "root") == {}
    good = RunRecord("ok", "nb", "h", {}, [], "key", status="ok")
    write_json_atomic(batch / "manifest.json", BatchManifest(run_id="b1", config="c", start="s", runs=[good]).to_dict())
    assert list(cache_index(tmp_path / "root")) == ["key"]


def test_data_paths_that_are_not_files_or_folders_are_refused_without_hanging(tmp_path):
    cfg = make_project(tmp_path, [])
    fifo = tmp_path / "data" / "pipe.csv"
    os.mkfifo(fifo)
    for path in (str(fifo), "/dev/zero"):
        cfg.write_text(f"runs:\n  - name: a\n    notebook: notebooks/data.ipynb\n    parameters: {{table_path: {path}}}\n")
        proc = subprocess.run(
            [sys.executable, "-m", "engagement_kit.reports", "--config", str(cfg), "--output-root", str(tmp_path / "out")],
            capture_output=True, text=True, timeout=120, cwd=REPO,
        )  # fmt: skip
        assert proc.returncode == 2, proc.stderr
        assert "not a regular file or folder" in proc.stderr


# ----------------------------------------------------------------- 3. no live HTML from data
SCRIPT = "<script>window.EK_PWNED=1</script>"
IMG = '<img src=x onerror="EK_PWNED()">'


def _live(html: str) -> bool:
    return SCRIPT in html or "<img src=x onerror" in html or "<img src=\"x\" onerror" in html


def test_journey_and_dsce_conclusions_escape_labels():
    from engagement_kit import dsce
    from engagement_kit import journeys as J

    funnel = pd.DataFrame({"stage": [SCRIPT, IMG], "stage_order": [1, 2], "arm": [SCRIPT] * 2,
                           "rate_from_start": [1.0, 0.5], "rate_from_previous": [1.0, 0.5]})  # fmt: skip
    tests = pd.DataFrame({"stage": [IMG], "arm": [SCRIPT], "control": [IMG], "basis": [SCRIPT], "diff": [0.1],
                          "p_adjusted": [0.001], "reject": [True], "correction": ["holm"]})  # fmt: skip
    res = J.FunnelResult(funnel, tests, "aarrr", "ordered", 0.05)
    text = J.conclusions(res, None)
    assert SCRIPT not in text and "<img" not in text and "&lt;script&gt;" in text
    seg = pd.DataFrame({"group_col": ["all", SCRIPT, SCRIPT], "group": ["all", SCRIPT, IMG],
                        "component": ["index", "index", "index"], "n": [10, 5, 5], "score": [60.0, 50.0, 70.0],
                        "gap": [40.0, 50.0, 30.0], "target": [100.0] * 3})  # fmt: skip
    card = dsce.Scorecard(seg.iloc[:0], seg, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), "equal")
    text = dsce.conclusions(card)
    assert SCRIPT not in text and "<img" not in text and "&lt;script&gt;" in text


def test_html_export_renders_outputs_inert_and_keeps_the_trusted_structure():
    cell = nbformat.v4.new_code_cell("x")
    table = pd.DataFrame({"segment": [SCRIPT], "n": [3]})._repr_html_()
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": f"- **bold** {SCRIPT} {IMG}"}),
                    nbformat.v4.new_output("display_data", data={"text/html": f"<p>{SCRIPT}</p>{IMG}"}),
                    nbformat.v4.new_output("display_data", data={"text/html": table})]  # fmt: skip
    story = nbformat.v4.new_markdown_cell("# The question\n\nA paragraph with a [link](https://example.org).")
    html = notebook_to_html(nbformat.v4.new_notebook(cells=[story, cell]))
    assert "EK_PWNED" in html and not _live(html)
    # the notebook's own headings, paragraphs and the table's header are rendered, not escaped
    assert '<h1 id="The-question">' in html and "<p>A paragraph" in html and "&lt;h1" not in html
    assert "<thead>" in html and "<th>segment</th>" in html and "&lt;thead" not in html
    assert "<strong>bold</strong>" in html and ".dataframe tbody" not in html  # pandas' style block dropped


def test_index_escapes_descriptions_parameters_and_errors(tmp_path):
    rec = RunRecord("r", "nb", "h", {"label": SCRIPT}, [], "k", status="failed", description=SCRIPT,
                    error={"cell": 1, "ename": IMG, "evalue": SCRIPT})  # fmt: skip
    html = index_html(BatchManifest(run_id="b", config="c", start="s", runs=[rec]), tmp_path)
    assert "EK_PWNED" in html and not _live(html)


def test_journeys_report_on_a_hostile_churn_table_has_no_live_script(tmp_path):
    """End to end: a Telco ``Contract`` value that is a script, through the notebook's
    conclusions and tables into report.html (the case seen in the issue)."""
    telco = pd.read_csv(REPO / "data" / "real" / "telco_churn" / "telco_churn.csv", nrows=400)
    telco.loc[telco["Contract"] == "Two year", "Contract"] = SCRIPT
    telco.loc[telco["Contract"] == "One year", "Contract"] = IMG
    telco.to_csv(tmp_path / "telco.csv", index=False)
    (tmp_path / "notebooks").symlink_to(REPO / "notebooks", target_is_directory=True)
    cfg = tmp_path / "reports.yaml"
    cfg.write_text(
        "runs:\n  - name: hostile\n    notebook: notebooks/customer_journeys.ipynb\n"
        "    parameters: {events_path: '', customers_path: '', outcomes_path: '', churn_path: telco.csv}\n"
    )
    assert _report(cfg, tmp_path / "out", "--run-id", "b") == 0
    html = (tmp_path / "out" / "b" / "hostile" / "report.html").read_text()
    assert "EK_PWNED" in html and not _live(html)
    assert not re.search(r"<script>[^<]*EK_PWNED", html)
    assert "<h1 id=" in html and "<thead>" in html and "&lt;h2" not in html  # the story itself renders
    assert 'class="ek-summary" id="summary"' in html and 'class="ek-table' in html  # display layer, escaped
    assert "&lt;script&gt;window.EK_PWNED" in html


def test_summary_box_and_tables_escape_hostile_labels():
    from engagement_kit.display import show
    from engagement_kit.summary import Summary

    box = Summary(question=SCRIPT, verdicts=(IMG,), data=SCRIPT, caveats=(IMG,)).to_html()
    table = show(pd.DataFrame({SCRIPT: [IMG], "arm": [SCRIPT], "p_value": [0.5]})).to_html()
    for html in (box, table):
        assert "EK_PWNED" in html and not _live(html) and "<img" not in html
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": box + table})]
    page = notebook_to_html(nbformat.v4.new_notebook(cells=[cell]))
    assert not _live(page) and 'id="summary"' in page and 'class="ek-table"' in page
    # the one script of the page is the project's own, inlined, not an output's
    assert page.count('<script id="ek-tables">') == 1


def test_index_escapes_a_hostile_verdict_and_never_follows_a_symlinked_summary(tmp_path):
    import json

    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "summary.json").write_text(json.dumps({"verdict": SCRIPT + IMG}))
    (tmp_path / "s").mkdir()
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"verdict": "SECRET-VERDICT"}))
    (tmp_path / "s" / "summary.json").symlink_to(secret)
    recs = [RunRecord(n, "nb", "h", {}, ["summary.json"], "k", status="ok") for n in ("r", "s")]
    html = index_html(BatchManifest(run_id="b", config="c", start="s", runs=recs), tmp_path)
    assert "EK_PWNED" in html and not _live(html) and "<img" not in html
    assert 'href="r/report.html#summary"' in html and "SECRET-VERDICT" not in html


def test_command_line_parameters_are_checked_like_the_config(tmp_path, capsys, no_kernel):
    cfg = make_project(tmp_path, [OK_RUN])
    before = _tree(tmp_path)
    for value, message in [("2026-11-01", "quote the date"), ("!!set {a: null}", "not plain data"),
                           ("1.5", "'n' must be int"), ("x: [", "not a valid value")]:  # fmt: skip
        assert _report(cfg, tmp_path / "out", "--param", f"n={value}") == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
    assert _report(cfg, tmp_path / "out", "--param", "nope") == 2
    assert "NAME=VALUE" in capsys.readouterr().err
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("notebook", ["/etc/passwd", "../evil.ipynb", "evil.ipynb", "notebooks/../evil.ipynb",
                                      "notebooks/ok.py"])  # fmt: skip
def test_only_the_projects_own_notebooks_run(tmp_path, capsys, no_kernel, notebook):
    """A notebook is code: the configuration may only choose among the notebooks/ folder's."""
    cfg = make_project(tmp_path, [OK_RUN])
    (tmp_path / "evil.ipynb").write_text((tmp_path / "notebooks" / "ok.ipynb").read_text())
    cfg.write_text(f"runs:\n  - name: a\n    notebook: '{notebook}'\n")
    assert _report(cfg, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "inside the notebooks/ folder" in err and "root:x" not in err
    run = RunSpec(name="a", notebook=notebook, parameters={}, root=tmp_path)
    with pytest.raises(ConfigError, match="inside the notebooks/ folder"):
        runner.run_batch([run], config_path="x", output_root=tmp_path / "out")
