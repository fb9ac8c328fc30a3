"""Report batches end to end (each run starts a real kernel: keep the batches tiny)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
from reports_helpers import make_project

from engagement_kit.reports import __main__ as cli

REPO = Path(__file__).resolve().parents[1]


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def manifest_of(batch: Path) -> dict:
    return json.loads((batch / "manifest.json").read_text())


def test_failing_notebook_fails_its_run_only_exit_1_and_latest_stays(tmp_path, capsys):
    ok_a = {"name": "ok_a", "notebook": "notebooks/ok.ipynb", "parameters": {"label": "a"}}
    cfg = make_project(tmp_path, [ok_a])
    out = tmp_path / "reports"
    assert cli.main(["--config", str(cfg), "--output-root", str(out), "--run-id", "good"]) == 0
    assert os.readlink(out / "latest") == "good"
    assert cli.main(["--config", str(cfg), "--output-root", str(out), "--run-id", "part", "--only", "ok_a"]) == 0
    assert os.readlink(out / "latest") == "good"  # a subset (--only) never becomes `latest`
    make_project(
        tmp_path,
        [
            ok_a,
            {"name": "broken", "notebook": "notebooks/fail.ipynb"},
            {"name": "ok_b", "notebook": "notebooks/ok.ipynb", "parameters": {"label": "b", "n": 7}},
        ],
    )
    capsys.readouterr()

    code = cli.main(["--config", str(cfg), "--output-root", str(out), "--run-id", "bad", "--jobs", "2", "--force"])
    assert code == 1
    err = capsys.readouterr().err
    failures = [line for line in err.splitlines() if line.startswith("FAILED")]
    assert len(failures) == 1
    assert failures[0].startswith("FAILED broken: cell 4: ValueError: deliberate failure for the test")
    assert "Traceback" not in err
    assert os.readlink(out / "latest") == "good"  # not moved to a batch with a failure

    batch = out / "bad"
    m = manifest_of(batch)
    status = {r["name"]: r["status"] for r in m["runs"]}
    assert status == {"ok_a": "ok", "broken": "failed", "ok_b": "ok"} and m["status"] == "failed"
    broken = next(r for r in m["runs"] if r["name"] == "broken")
    assert broken["error"] == {"cell": 4, "ename": "ValueError", "evalue": "deliberate failure for the test"}
    assert (batch / "ok_b" / "summary.csv").read_text().splitlines() == ["label,n", "b,7"]
    partial = nbformat.read(batch / "broken" / "notebook.ipynb", as_version=4)
    assert "An Exception was encountered" in partial.cells[0].source  # papermill's banner
    assert [c.get("execution_count") for c in partial.cells if c.cell_type == "code"][-1] is None  # y = 2 never ran
    assert (batch / "broken" / "report.html").is_file()
    index = (batch / "index.html").read_text()
    assert 'href="ok_a/report.html"' in index and "deliberate failure" in index and "label" in index
    # the executed notebook shows the run's final folder, not the staging folder
    nb = nbformat.read(batch / "ok_b" / "notebook.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert str(out / "bad" / "ok_b") in injected.source and ".staging" not in injected.source
    assert "import csv" not in (batch / "ok_b" / "report.html").read_text()  # code hidden by default
    assert not list(out.glob(".staging-*"))


def test_identical_rerun_is_served_from_cache_and_same_run_id_is_idempotent(tmp_path, capsys):
    cfg = make_project(
        tmp_path,
        [{"name": "table", "notebook": "notebooks/data.ipynb"}, {"name": "ok", "notebook": "notebooks/ok.ipynb"}],
    )
    out = tmp_path / "reports"
    args = ["--config", str(cfg), "--output-root", str(out), "--jobs", "2"]
    assert cli.main([*args, "--run-id", "first"]) == 0
    first = manifest_of(out / "first")
    table = next(r for r in first["runs"] if r["name"] == "table")
    assert table["data"] == [
        {
            "parameter": "table_path",
            "path": "data/t.csv",
            "sha256": __import__("hashlib").sha256((tmp_path / "data" / "t.csv").read_bytes()).hexdigest(),
            "rows": 2,
            "bytes": (tmp_path / "data" / "t.csv").stat().st_size,
        }
    ]
    assert table["cached_from"] is None and table["timings"]["execute"] > 0

    t0 = time.perf_counter()
    assert cli.main([*args, "--run-id", "second"]) == 0
    cached_seconds = time.perf_counter() - t0
    second = manifest_of(out / "second")
    assert [r["cached_from"] for r in second["runs"]] == ["first", "first"]
    assert cached_seconds < 2.0, "no kernel should start for cached runs"
    for name in ("table", "ok"):
        assert files_of(out / "second" / name) == files_of(out / "first" / name)
    assert os.readlink(out / "latest") == "second"

    before = files_of(out / "second")
    assert cli.main([*args, "--run-id", "second"]) == 0  # same run id again: nothing changes in the runs
    after = files_of(out / "second")
    assert {k: v for k, v in after.items() if "/" in k} == {k: v for k, v in before.items() if "/" in k}
    assert manifest_of(out / "second")["runs"] == second["runs"]

    (tmp_path / "data" / "t.csv").write_text("customer_id,x\nC1,1\nC2,2\nC3,3\n")  # new data: re-executed
    assert cli.main([*args, "--run-id", "third"]) == 0
    third = {r["name"]: r for r in manifest_of(out / "third")["runs"]}
    assert third["table"]["cached_from"] is None and third["ok"]["cached_from"] == "first"
    assert (out / "third" / "table" / "rows.csv").read_text().split() == ["rows", "3"]


def test_interrupted_batch_leaves_previous_report_intact_and_stops_kernels(tmp_path):
    pid_file = tmp_path / "kernel.pid"
    cfg = make_project(tmp_path, [{"name": "slow", "notebook": "notebooks/sleep.ipynb"}])
    out = tmp_path / "reports"
    cmd = [sys.executable, "-m", "engagement_kit.reports", "--config", str(cfg), "--output-root", str(out),
           "--run-id", "nightly"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    env["ENGAGEMENT_KIT_FRESH_KERNELS"] = "1"  # this test also covers kernels started from scratch
    subprocess.run(cmd, check=True, env=env, capture_output=True, timeout=120)
    good = files_of(out / "nightly")

    cfg.write_text(cfg.read_text().replace("sleep.ipynb", "sleep.ipynb\n  parameters: {seconds: 120.0, pid_file: "
                                           + json.dumps(str(pid_file)) + "}"))  # fmt: skip
    # as from a terminal: Ctrl-C handled by default, whatever the test process inherited
    proc = subprocess.Popen([*cmd, "--force"], env=env, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.time() + 90
        while not pid_file.exists() or not pid_file.read_text():
            assert proc.poll() is None and time.time() < deadline, proc.communicate()
            time.sleep(0.2)
        kernel_pid = int(pid_file.read_text())
        assert psutil.pid_exists(kernel_pid)
        assert list(out.glob(".staging-nightly-*/slow/done.csv"))  # the new run is half-written in staging
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal signals the whole process group
        # The batch SIGKILLs its workers and kernels (workers are outside the terminal's process
        # group, so only the batch process sees the Ctrl-C): no graceful waits to time out.
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err.decode()
    assert b"interrupted" in err and b"Traceback" not in err
    if psutil.pid_exists(kernel_pid):
        alive = psutil.wait_procs([psutil.Process(kernel_pid)], timeout=10)[1]
        assert not alive, "the kernel survived the interrupt"
    assert files_of(out / "nightly") == good
    assert os.readlink(out / "latest") == "nightly"
    assert not list(out.glob(".staging-*"))


def test_warm_kernels_share_no_state_between_runs(tmp_path):
    from reports_helpers import write_notebook

    write_notebook(
        tmp_path / "notebooks" / "state.ipynb",
        'output_dir = "."  # results',
        "import os, pathlib, numpy as np, pandas as pd\n"
        "seen = hasattr(pd, '_ek_marker')\n"
        "pd._ek_marker = True\n"
        "pathlib.Path(output_dir, 'state.csv').write_text(\n"
        "    f'seen,draw,pid,cwd\\n{seen},{np.random.random()},{os.getpid()},{os.getcwd()}\\n')",
    )
    (tmp_path / "reports.yaml").write_text(
        "runs:\n  - name: s\n    notebook: notebooks/state.ipynb\n    grid:\n      output_note: {a: {}, b: {}}\n"
    )
    out = tmp_path / "reports"
    assert cli.main(["--config", str(tmp_path / "reports.yaml"), "--output-root", str(out), "--jobs", "1"]) == 0
    rows = [(out / "latest" / name / "state.csv").read_text().splitlines()[1].split(",") for name in ("s_a", "s_b")]
    assert [r[0] for r in rows] == ["False", "False"]  # run b does not see what run a did
    assert rows[0][1] != rows[1][1]  # nor the same random stream
    assert rows[0][2] != rows[1][2]  # a kernel process of its own
    assert rows[0][3] == rows[1][3] == str(tmp_path)  # started in the project folder
