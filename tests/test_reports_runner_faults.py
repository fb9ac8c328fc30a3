"""The batch dies cleanly: a killed batch leaves no process behind and its finished runs are
reused; one batch at a time per output root; an unwritable output root is exit 2."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from reports_helpers import make_project

from engagement_kit.reports import __main__ as cli
from engagement_kit.reports import runner
from engagement_kit.reports.kernel_template import BATCH_ENV

REPO = Path(__file__).resolve().parents[1]


def manifest_of(batch: Path) -> dict:
    return json.loads((batch / "manifest.json").read_text())


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def batch_processes(batch_pid: int) -> list[psutil.Process]:
    """Live (not zombie) processes carrying the batch token of process ``batch_pid``."""
    found = []
    for p in psutil.process_iter():
        try:
            if p.status() == psutil.STATUS_ZOMBIE:
                continue
            if p.environ().get(BATCH_ENV, "").startswith(f"{batch_pid}:"):
                found.append(p)
        except psutil.Error:
            continue
    return found


def wait_for(condition, seconds: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(proc.communicate())
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_sigkilled_batch_leaves_no_process_and_rerun_reuses_its_finished_runs(tmp_path):
    pids = [tmp_path / "slow1.pid", tmp_path / "slow2.pid"]
    slow = [
        {"name": f"slow{i + 1}", "notebook": "notebooks/sleep.ipynb",
         "parameters": {"seconds": 300.0, "pid_file": str(pid)}}
        for i, pid in enumerate(pids)
    ]  # fmt: skip
    ok_a = {"name": "ok_a", "notebook": "notebooks/ok.ipynb", "parameters": {"label": "a"}}
    ok_b = {"name": "ok_b", "notebook": "notebooks/ok.ipynb", "parameters": {"label": "b"}}
    cfg = make_project(tmp_path, [ok_a, *slow, ok_b])  # 2 workers: ok_a, slow1, then slow2; ok_b waits
    out = tmp_path / "reports"
    cmd = [sys.executable, "-m", "engagement_kit.reports", "--config", str(cfg), "--output-root", str(out),
           "--jobs", "2"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    env.pop(BATCH_ENV, None)
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # ok_a finished (its record is saved) and both slow runs are computing in their kernels
        wait_for(lambda: list(out.glob(".staging-*/.runs/ok_a.json")) and all(p.exists() and p.read_text()
                                                                              for p in pids), 240, proc)  # fmt: skip
        kernels = {int(p.read_text()) for p in pids}
        members = {p.pid for p in batch_processes(proc.pid)}
        assert kernels <= members, "the kernels carry the batch token"
        assert len(members) >= 2 + 2 + 2  # at least the workers, their templates and the kernels
        killed_id = next(out.glob(".staging-*")).name.removeprefix(".staging-").rpartition("-")[0]
        proc.kill()  # SIGKILL: the batch process cleans up nothing
        proc.wait(timeout=10)
        t0 = time.monotonic()
        deadline = t0 + 10
        while batch_processes(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        survivors = [(p.pid, p.cmdline()[:4]) for p in batch_processes(proc.pid)]
        assert not survivors, f"alive {time.monotonic() - t0:.1f} s after the batch was killed: {survivors}"
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in batch_processes(proc.pid):
            p.kill()

    cfg.write_text(cfg.read_text().replace("300.0", "0.0"))  # the rerun's slow runs finish at once
    rerun = subprocess.run(cmd, env=env, capture_output=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr.decode()
    assert f"cached   ok_a (from {killed_id})".encode() in rerun.stderr
    latest = out / "latest"
    runs = {r["name"]: r for r in manifest_of(latest)["runs"]}
    assert runs["ok_a"]["cached_from"] == killed_id  # finished before the kill: reused
    assert [runs[n]["cached_from"] for n in ("slow1", "slow2", "ok_b")] == [None, None, None]  # executed now
    assert (latest / "ok_a" / "summary.csv").read_text().splitlines() == ["label,n", "a,3"]
    assert not list(out.glob(".staging-*"))  # the dead batch's staging folder is gone once reused


def test_second_batch_on_the_same_output_root_exits_2_naming_the_first(tmp_path, capsys):
    cfg = make_project(tmp_path, [{"name": "ok_a", "notebook": "notebooks/ok.ipynb"}])
    out = tmp_path / "reports"
    out.mkdir()
    holder = runner._lock_output_root(out)  # as a running batch does
    holder.write("pid 4242, run id nightly\n")
    holder.flush()
    try:
        code = cli.main(["--config", str(cfg), "--output-root", str(out)])
    finally:
        holder.close()
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "another batch (pid 4242, run id nightly) is writing to" in err and "--output-root" in err
    assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing was started or written


def test_default_run_ids_of_batches_started_in_the_same_second_differ(tmp_path, monkeypatch):
    cfg = make_project(tmp_path, [{"name": "ok_a", "notebook": "notebooks/ok.ipynb"}])
    out = tmp_path / "reports"
    monkeypatch.setattr(runner, "default_run_id", lambda: "20260101T000000Z")
    args = ["--config", str(cfg), "--output-root", str(out)]
    assert cli.main(args) == 0
    first = files_of(out / "20260101T000000Z")
    assert cli.main(args) == 0  # served from the cache: no kernel
    assert files_of(out / "20260101T000000Z") == first  # not replaced
    second = manifest_of(out / "20260101T000000Z-2")
    assert second["run_id"] == "20260101T000000Z-2"
    assert second["runs"][0]["cached_from"] == "20260101T000000Z"
    assert os.readlink(out / "latest") == "20260101T000000Z-2"


def test_output_root_that_is_not_a_folder_exits_2_with_the_fix(tmp_path, capsys):
    cfg = make_project(tmp_path, [{"name": "ok_a", "notebook": "notebooks/ok.ipynb"}])
    (tmp_path / "file").write_text("not a folder")
    assert cli.main(["--config", str(cfg), "--output-root", str(tmp_path / "file" / "reports")]) == 2
    err = capsys.readouterr().err
    assert f"error: cannot write to {tmp_path / 'file' / 'reports'}: Not a directory; fix:" in err
    assert "--output-root" in err and "Traceback" not in err


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_full_or_read_only_output_root_exits_2_and_loses_nothing(tmp_path, capsys, monkeypatch, code):
    cfg = make_project(tmp_path, [{"name": "ok_a", "notebook": "notebooks/ok.ipynb"}])
    out = tmp_path / "reports"
    args = ["--config", str(cfg), "--output-root", str(out), "--run-id", "good"]
    assert cli.main(args) == 0
    good = files_of(out / "good")
    capsys.readouterr()

    def no_space(path, obj):
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(runner, "write_json_atomic", no_space)
    assert cli.main(args) == 2  # the same batch again (from the cache), but the disk is full / read-only
    err = capsys.readouterr().err
    assert f"cannot write to {out}" in err and os.strerror(code) in err and "Traceback" not in err
    assert files_of(out / "good") == good
    assert os.readlink(out / "latest") == "good"
    assert not list(out.glob(".staging-*")) and not list(out.glob(".trash-*"))


def test_promotion_that_fails_puts_the_old_batch_back(tmp_path, monkeypatch):
    final, staging = tmp_path / "nightly", tmp_path / ".staging-nightly-1"
    final.mkdir()
    (final / "index.html").write_text("good")
    staging.mkdir()
    (staging / "index.html").write_text("new")
    real_replace = os.replace

    def replace(src, dst):
        if Path(src) == staging:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(runner.os, "replace", replace)
    with pytest.raises(OSError):
        runner._promote(staging, final)
    assert (final / "index.html").read_text() == "good"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".staging-nightly-1", "nightly"]
