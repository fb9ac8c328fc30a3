"""Executing a report batch: a warm process pool, each run in its own kernel.

Worker processes fork warm from a ``multiprocessing`` fork server that imported papermill
and nbconvert once; each worker executes notebooks through papermill's Python API, each
in a fresh ``python3`` kernel (talking over IPC sockets) started with the project root as
working directory, and exports the HTML in-process. That avoids a Python start-up and the
papermill/nbconvert imports per run, the main cost of calling the ``papermill`` CLI. Everything is
written into a staging folder ``<output root>/.staging-<run id>-<pid>/`` and renamed to
``<output root>/<run id>/`` when the batch is complete, so an interrupted batch never
leaves a half-written report where a good one was.

A batch dies cleanly:

* one batch at a time per output root: it holds ``<output root>/.lock`` (``flock``), and
  a second batch exits with :class:`BatchError` naming the first; default run ids get a
  ``-2``, ``-3`` ... suffix rather than replace a batch started in the same second;
* each finished run's record is saved in the staging folder (``.runs/<name>.json``) as
  soon as it finishes, so the runs a killed batch completed are reused by the next batch
  (from the dead staging folder) instead of being executed again;
* workers, kernel templates and kernels carry the batch's token (``ENGAGEMENT_KIT_BATCH``)
  and exit within a second of the batch process, even one killed with SIGKILL (see
  :mod:`.kernel_template`);
* an output root that cannot be written (read-only, full) is a :class:`BatchError`,
  and nothing already written is lost.

Example
-------
>>> from engagement_kit.reports.config import load_config, check_runs
>>> runs = load_config("reports.yaml"); check_runs(runs)           # doctest: +SKIP
>>> result = run_batch(runs, config_path="reports.yaml", jobs=2)    # doctest: +SKIP
>>> result.exit_code                                                # doctest: +SKIP
0
"""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock
    fcntl = None  # type: ignore[assignment]

from .cache import cache_index, cache_key, code_hash, copy_run, notebook_hash
from .config import RunSpec
from .manifest import (
    BatchManifest,
    DataFingerprint,
    RunRecord,
    fingerprint,
    git_info,
    package_versions,
    read_manifest,
    utc_now,
    write_json_atomic,
)
from .kernel_template import BATCH_ENV, batch_token, set_parent_death_signal, start_lifeline
from .monitor import MONITOR_PARAMETER, append_look, earlier_looks, look_record, read_history
from .params import load_notebook
from ..progress import ENV as PROGRESS_ENV

__all__ = ["BatchError", "BatchResult", "default_run_id", "execute_job", "point_latest", "run_batch"]

KERNEL_NAME = "python3"
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # folder holding engagement_kit/

_EVENTS: Any = None  # the worker's queue of ("start", name, time) events
_TEMPLATE: Any = None  # the worker's KernelTemplate (warm kernels), if enabled


LOCK_NAME = ".lock"
RECORDS = ".runs"  # in a staging folder: the records of the runs that finished


class BatchError(Exception):
    """The batch cannot run or finish for a reason outside the notebooks (exit code 2):
    another batch holds the output root, or the output root cannot be written.
    ``problems`` are the lines to show, each with its fix."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def default_run_id() -> str:
    """A UTC timestamp like ``20261123T114100Z``."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _unique_run_id(output_root: Path, base: str) -> str:
    """``base``, or ``base-2``, ``base-3`` ... if a batch folder (or a staging folder) of
    that name exists: two batches started in the same second never share a folder.
    Called under the output root's lock, so no other batch picks the same name meanwhile."""
    run_id, n = base, 1
    while (output_root / run_id).exists() or any(output_root.glob(f".staging-{run_id}-*")):
        n += 1
        run_id = f"{base}-{n}"
    return run_id


# --------------------------------------------------------------------------- worker side
def _init_worker(events: Any, with_code: bool, batch: str = "") -> None:
    """Pool initializer: ignore Ctrl-C (the parent shuts us down), die with the batch,
    import the heavy parts once.

    ``batch`` is the batch's token: passed explicitly because the fork server we were forked
    from may have been started by an earlier batch of the same process (its environment is
    stale); our template and kernels inherit it from our environment.
    """
    global _EVENTS, _TEMPLATE
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Leave the terminal's process group: Ctrl-C must reach the batch process only, which
    # then stops us. Ignoring SIGINT is not enough: while a notebook runs, nbclient installs
    # its own SIGINT/SIGTERM handlers on the event loop (a graceful kernel shutdown that
    # raced with the batch's), and asyncio restores SIGINT to KeyboardInterrupt afterwards.
    os.setpgid(0, 0)
    if batch:
        os.environ[BATCH_ENV] = batch
    set_parent_death_signal(os.getppid())  # the fork server (or the batch): gone means we go
    start_lifeline(_worker_gone)
    _EVENTS = events
    _kernel_env()
    from . import kernel_template

    if kernel_template.enabled():
        _TEMPLATE = kernel_template.KernelTemplate()  # imports while we do
    import logging

    import papermill  # noqa: F401

    from .render import _exporter

    logging.getLogger("papermill").setLevel(logging.ERROR)
    _exporter(with_code)


def _worker_gone() -> None:
    """Lifeline of a worker whose batch is gone: take the kernel template down with us
    (it would notice within a second anyway; its kernels follow it)."""
    if _TEMPLATE is not None:
        try:
            _TEMPLATE.process.kill()
        except OSError:
            pass


def _kernel_env() -> None:
    # Kernels inherit the worker's environment: put this package first on their path and
    # silence the debugger's frozen-modules warning that ipykernel prints on every start.
    paths = [str(PACKAGE_ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    os.environ[PROGRESS_ENV] = "0"  # no progress bars in a report (engagement_kit.progress)


_KM_CLASS: Any = None
_KERNEL_LOG: Path | None = None  # where the next kernel's own stdout/stderr go
KERNEL_LOG = "kernel.log"


def _kernel_manager_class() -> type:
    """A kernel manager talking to its kernel over IPC (unix sockets) instead of local TCP:
    no port races between parallel kernels, no plain-TCP warning from ipykernel."""
    global _KM_CLASS
    if _KM_CLASS is None:
        from jupyter_client.manager import AsyncKernelManager
        from traitlets import default

        class IpcKernelManager(AsyncKernelManager):
            @default("transport")
            def _default_transport(self) -> str:
                return "ipc" if os.name == "posix" else "tcp"

            @default("ip")
            def _default_ip(self) -> str:
                # a unique socket prefix per kernel: parallel kernels never pick the same files,
                # and none land in the project folder
                if self.transport != "ipc":
                    return "127.0.0.1"
                return os.path.join(tempfile.gettempdir(), f"ek-kernel-{os.getpid()}-{uuid.uuid4().hex[:8]}")

            async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
                # The kernel process's own output (start-up warnings, the interrupt that
                # jupyter_client sends before every shutdown, crash messages) goes to a log
                # file instead of the terminal; the cells' output is in the notebook.
                log_path = str(_KERNEL_LOG or os.devnull)
                if _TEMPLATE is not None:
                    from .kernel_template import ForkedKernel

                    try:
                        pid = _TEMPLATE.fork_kernel(self.connection_file, str(kw.get("cwd") or os.getcwd()), log_path)
                    except OSError:
                        pass  # start this kernel from scratch
                    else:
                        prov = self.provisioner
                        prov.process, prov.pid, prov.pgid = ForkedKernel(pid), pid, pid
                        prov.cwd = kw.get("cwd") or os.getcwd()
                        self._reconcile_connection_info(prov.connection_info)
                        return None
                # no progress bars in executed notebooks (the batch's and the workshop handout's)
                kw["env"] = {**(kw.get("env") or os.environ), PROGRESS_ENV: "0"}
                if kernel_cmd[1:3] == ["-m", "ipykernel_launcher"]:
                    # the same launcher plus the lifeline: the kernel dies with the batch
                    kernel_cmd = [kernel_cmd[0], "-m", "engagement_kit.reports.kernel_template", "--kernel",
                                  *kernel_cmd[3:]]  # fmt: skip
                if _KERNEL_LOG is None:
                    return await super()._async_launch_kernel(kernel_cmd, **kw)
                with open(_KERNEL_LOG, "ab") as log:
                    kw.update(stdout=log, stderr=subprocess.STDOUT)
                    return await super()._async_launch_kernel(kernel_cmd, **kw)

        _KM_CLASS = IpcKernelManager
    return _KM_CLASS


def ipc_kernel_manager_class() -> type:
    """The batch's kernel manager for other papermill callers (the workshop builder): kernels
    on unix sockets (no plain-TCP warning), their own output out of the terminal."""
    return _kernel_manager_class()


def execute_job(job: dict[str, Any]) -> dict[str, Any]:
    """Execute one run (worker side) into ``job["run_dir"]``; never raises for notebook errors.

    Returns the fields of the run's :class:`RunRecord` that execution determines:
    status, error, start, end, duration_s, outputs, timings.
    """
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    from .render import notebook_to_html

    _kernel_env()
    t0 = time.perf_counter()
    start = utc_now()
    if _EVENTS is not None:
        _EVENTS.put(("start", job["name"], time.time()))
    run_dir = Path(job["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    out_nb = run_dir / "notebook.ipynb"
    params = {**job["parameters"], "output_dir": str(run_dir)}
    from .params import plain_data_problems

    unsafe = plain_data_problems(params, f"run {job['name']!r}: parameters")
    if unsafe:  # never reached through run_batch; a guard for direct callers of execute_job
        raise ValueError("; ".join(unsafe))
    timings: dict[str, float] = {}
    status, error = "ok", None

    global _KERNEL_LOG
    _KERNEL_LOG = run_dir / KERNEL_LOG
    nb = load_notebook_node(job["notebook"])  # papermill's reader adds the metadata it expects
    if params.get("language", "en") != "en":  # headings in the run's language, by cell id
        from ..i18n import translate_headings

        nb = translate_headings(nb, params["language"], f"heading.{Path(job['notebook']).stem}")
    nb = parameterize_notebook(nb, params, kernel_name=KERNEL_NAME, language="python")
    timings["inject"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    try:
        nb = papermill.execute_notebook(
            nb,
            str(out_nb),
            kernel_name=KERNEL_NAME,
            progress_bar=False,
            log_output=False,
            cwd=job["cwd"],
            execution_timeout=job.get("timeout"),
            kernel_manager_class=_kernel_manager_class(),
            # Kill the kernel as soon as its last cell has replied and its outputs are
            # collected: the graceful default (shutdown request, then up to 1 s of polling
            # for the process to exit) cost ~1 s per run and saves nothing, since the
            # notebook's files are closed by the cells that wrote them.
            shutdown_kernel="immediate",
        )
    except PapermillExecutionError as exc:
        status = "failed"
        error = {"cell": exc.exec_count, "ename": exc.ename, "evalue": str(exc.evalue)}
    except Exception as exc:  # kernel died, timeout, ...: the run fails, the batch goes on
        status = "failed"
        lines = str(exc).strip().splitlines()
        error = {"cell": None, "ename": type(exc).__name__, "evalue": lines[-1] if lines else ""}
    timings["execute"] = time.perf_counter() - t1
    if status == "failed" or not isinstance(nb, nbformat.NotebookNode):
        # papermill saved the partial notebook (with its error banner) before raising
        try:
            nb = nbformat.read(out_nb, as_version=4)
        except (OSError, ValueError):
            pass
    timings["compute"] = sum(
        float(c.get("metadata", {}).get("papermill", {}).get("duration") or 0.0) for c in nb.cells
    )
    # Show the run's final folder, not the staging folder, in the injected parameters cell.
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = cell.source.replace(str(run_dir), job["final_dir"])
    nbformat.write(nb, out_nb)
    t2 = time.perf_counter()
    try:
        (run_dir / "report.html").write_text(notebook_to_html(nb, job["with_code"], params.get("language", "en")), encoding="utf-8")
    except Exception as exc:
        if status == "ok":
            status, error = "failed", {"cell": None, "ename": f"HTML export: {type(exc).__name__}", "evalue": str(exc)}
    timings["html"] = time.perf_counter() - t2
    log = run_dir / KERNEL_LOG
    if log.exists() and (status == "ok" or log.stat().st_size == 0):
        log.unlink()  # kept only to explain a failure
    timings["total"] = time.perf_counter() - t0
    outputs = sorted(
        p.relative_to(run_dir).as_posix()
        for p in run_dir.rglob("*")
        if p.is_file() and p.name not in ("notebook.ipynb", "report.html", KERNEL_LOG)
    )
    return {
        "status": status,
        "error": error,
        "start": start,
        "end": utc_now(),
        "duration_s": round(timings["total"], 3),
        "outputs": outputs,
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }


# --------------------------------------------------------------------------- progress
class Progress:
    """Live progress: a redrawn status line on a terminal, plain log lines otherwise."""

    def __init__(self, total: int, stream: TextIO | None = None, tty: bool | None = None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.total = total
        self.t0 = time.time()
        self.running: dict[str, float] = {}
        self.ok = self.failed = 0

    def _line(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K" + text + "\n")
            self._status()
        else:
            self.stream.write(time.strftime("%H:%M:%S ") + text + "\n")
        self.stream.flush()

    def _status(self) -> None:
        now = time.time()
        running = ", ".join(f"{n} {now - t:.0f}s" for n, t in list(self.running.items())[:4])
        self.stream.write(
            f"\r\x1b[K[{self.ok + self.failed}/{self.total}] ok {self.ok}, failed {self.failed}, "
            f"running {len(self.running)}" + (f" ({running})" if running else "") + f", {now - self.t0:.0f}s elapsed"
        )
        self.stream.flush()

    def cached(self, name: str, source: str) -> None:
        self.ok += 1
        self._line(f"cached   {name} (from {source})")

    def started(self, name: str, at: float | None = None) -> None:
        self.running[name] = at or time.time()
        if not self.tty:
            self._line(f"start    {name}")
        else:
            self._status()

    def finished(self, name: str, status: str, seconds: float | None) -> None:
        self.running.pop(name, None)
        if status == "ok":
            self.ok += 1
        else:
            self.failed += 1
        self._line(f"{status:<8} {name} ({seconds or 0:.1f} s)")

    def tick(self) -> None:
        if self.tty:
            self._status()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


# --------------------------------------------------------------------------- batch side
@dataclass
class BatchResult:
    """Outcome of :func:`run_batch`: exit code (0 ok, 1 some run failed), folder, manifest."""

    exit_code: int
    batch_dir: Path
    manifest: BatchManifest
    failures: list[RunRecord] = field(default_factory=list)


def _pool_context() -> Any:
    """``forkserver`` with papermill and nbconvert preloaded where available (workers fork warm
    from one process that imported them once), else ``spawn``. Never plain ``fork``: the
    parent may hold threads."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(["engagement_kit.reports.warm"])
    return ctx


def _kill_pool(executor: ProcessPoolExecutor) -> None:
    """Stop the workers and every kernel they started (Ctrl-C, crash), at once.

    SIGKILL, not SIGTERM: while a notebook runs, nbclient's event loop handles SIGTERM in
    the worker by starting a graceful kernel shutdown and goes on, so a terminated worker
    lived on until a 5 s join timed out, per worker, slower still on a loaded machine.
    Nothing in a worker needs cleaning up: the staging folder and sockets are ours.
    """
    import psutil

    procs = list(getattr(executor, "_processes", {}).values())  # no public accessor
    descendants: list[psutil.Process] = []
    for p in procs:
        try:
            descendants += psutil.Process(p.pid).children(recursive=True)
        except psutil.Error:
            pass
        p.kill()  # first, so that it starts nothing more
    for child in descendants:  # templates and kernels (each kernel leads its own group)
        try:
            if os.getpgid(child.pid) == child.pid:
                os.killpg(child.pid, signal.SIGKILL)  # with the notebook's own subprocesses
            else:
                child.kill()
        except (OSError, psutil.Error):
            pass
    executor.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        p.join(timeout=5)
        for pattern in (f"ek-kernel-{p.pid}-*", f"ek-template-{p.pid}-*"):
            for socket_file in Path(tempfile.gettempdir()).glob(pattern):
                socket_file.unlink(missing_ok=True)  # the killed kernels' and template's sockets


def _stale_staging(output_root: Path, locked: bool = True) -> list[Path]:
    """Staging folders of batches that are gone. Under the output root's lock (``locked``)
    every other staging folder is stale: its batch died (a pid may have been reused);
    without it, only those whose process is gone."""
    import psutil

    stale = []
    for d in output_root.glob(".staging-*"):
        try:
            pid = int(d.name.rsplit("-", 1)[1])
        except (IndexError, ValueError):
            continue
        if (locked and fcntl is not None) or not psutil.pid_exists(pid) or pid == os.getpid():
            stale.append(d)
    return stale


def _clean_stale_staging(output_root: Path) -> None:
    """Remove what dead batches left behind (stale staging folders, sockets) and restore a
    batch folder moved aside by a process that died mid-swap."""
    _clean_stale_files(output_root)
    for d in _stale_staging(output_root, locked=False):
        shutil.rmtree(d, ignore_errors=True)


def _salvaged_runs(stale: list[Path]) -> dict[str, tuple[str, Path, RunRecord]]:
    """Cache key -> ``(run_id, run_folder, record)`` of the runs that batches killed before
    their end had finished successfully: each finished run's record was saved in its
    staging folder (:data:`RECORDS`) right after the run, never before, so a run found
    there is complete."""
    found: dict[str, tuple[str, Path, RunRecord]] = {}
    for d in stale:
        run_id = d.name.removeprefix(".staging-").rpartition("-")[0]
        for path in sorted((d / RECORDS).glob("*.json")):
            try:
                rec = RunRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError, KeyError):
                continue
            if rec.status == "ok" and (d / rec.name / "report.html").is_file():
                found[rec.cache_key] = (run_id, d / rec.name, rec)
    return found


def _clean_stale_files(output_root: Path) -> None:
    """Remove the sockets of killed workers; restore a batch folder that was moved aside
    for its replacement when the process died between the two renames."""
    import psutil

    for sock in Path(tempfile.gettempdir()).glob("ek-[kt]e[rm]*-*-*"):  # sockets of killed workers
        parts = sock.name.split("-")
        if len(parts) >= 4 and parts[2].isdigit() and not psutil.pid_exists(int(parts[2])):
            sock.unlink(missing_ok=True)
    for d in output_root.glob(".trash-*"):  # a batch folder being replaced when its process died
        name, _, pid_text = d.name.removeprefix(".trash-").rpartition("-")
        if pid_text.isdigit() and psutil.pid_exists(int(pid_text)) and int(pid_text) != os.getpid():
            continue
        if name and not (output_root / name).exists():
            os.replace(d, output_root / name)  # the replacement never arrived: restore the old one
        else:
            shutil.rmtree(d, ignore_errors=True)


def _lock_output_root(output_root: Path) -> TextIO | None:
    """Hold ``<output root>/.lock`` for the batch (released when the file is closed or the
    process dies, however it dies); raise :class:`BatchError` if another batch holds it.
    The holder writes its pid and run id into the file for the other's message."""
    f = open(output_root / LOCK_NAME, "a+", encoding="utf-8")
    if fcntl is None:  # pragma: no cover
        return f
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            f.close()
            raise
        f.seek(0)
        holder = f.read().strip() or "unknown"
        f.close()
        raise BatchError(
            [
                f"another batch ({holder}) is writing to {output_root}; "
                "fix: wait for it to finish, or give this one another --output-root"
            ]
        ) from None
    return f


def _write_error(exc: OSError, output_root: Path) -> BatchError:
    where = exc.filename if exc.filename is not None else output_root
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno in (errno.EEXIST, errno.ENOTDIR):  # a file where a folder should be
        fix = "give --output-root a folder (or a path where one can be made), not a file"
    else:
        fix = "free space on that disk or make it writable, or use another --output-root"
    return BatchError([f"cannot write to {where}: {reason}; fix: {fix} (earlier batches there are unchanged)"])


def point_latest(output_root: Path, run_id: str) -> Path:
    """Point ``<output root>/latest`` at ``run_id``: a relative symlink, else a copy."""
    link = output_root / "latest"
    tmp = output_root / f".latest-{os.getpid()}"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(run_id, tmp, target_is_directory=True)
        if link.is_dir() and not link.is_symlink():
            shutil.rmtree(link)
        os.replace(tmp, link)
    except OSError:  # no symlinks (some Windows set-ups, some mounted file systems): copy
        if tmp.is_symlink():
            tmp.unlink()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(output_root / run_id, tmp)
        old = output_root / f".latest-old-{os.getpid()}"
        if link.is_symlink():
            link.unlink()
        elif link.exists():
            os.replace(link, old)
        os.replace(tmp, link)
        shutil.rmtree(old, ignore_errors=True)
        (output_root / "latest.txt").write_text(run_id + "\n", encoding="utf-8")
    return link


def _promote(staging: Path, final: Path) -> None:
    """Replace ``final`` by ``staging`` with two renames (never a half-written folder);
    if the second rename fails, the old folder is put back."""
    trash = final.with_name(f".trash-{final.name}-{os.getpid()}")
    if final.exists():
        os.replace(final, trash)
    try:
        os.replace(staging, final)
    except OSError:
        if trash.exists() and not final.exists():
            os.replace(trash, final)
        raise
    shutil.rmtree(trash, ignore_errors=True)


def _save_record(staging: Path, record: RunRecord) -> None:
    """Save a finished run's record in the staging folder, so that a batch killed later
    still leaves it reusable (see :func:`_salvaged_runs`)."""
    write_json_atomic(staging / RECORDS / f"{record.name}.json", asdict(record))


def _failure(ename: str, exc: BaseException) -> dict[str, Any]:
    return {"status": "failed", "error": {"cell": None, "ename": ename, "evalue": str(exc)}}


def _fingerprints(run: RunSpec, memo: dict[Path, DataFingerprint]) -> list[DataFingerprint]:
    out = []
    for name, path in run.data.items():
        if path not in memo:
            memo[path] = fingerprint(path)
        fp = memo[path]
        out.append(DataFingerprint(name, str(run.effective[name]), fp.sha256, fp.rows, fp.bytes))
    return out


def _record_looks(output_root: Path, batch_dir: Path, manifest: BatchManifest) -> None:
    """Append each successful monitored run's look to its monitor's history (once)."""
    for rec in manifest.runs:
        if rec.monitor and rec.status == "ok":
            look = look_record(batch_dir / rec.name, batch=manifest.run_id, run=rec.name, cache_key=rec.cache_key,
                               run_at=manifest.start)  # fmt: skip
            if look is not None:
                append_look(output_root, rec.monitor, look)


def _check_batch(runs: list[RunSpec], run_id: str | None) -> None:
    """Refuse, before anything is written, what :func:`~.config.check_runs` refuses about
    names and values (``run_batch`` may be called from Python without it): every batch and
    run folder is a direct child of its parent, every parameter value plain data."""
    from .config import ConfigError, name_problem, notebook_problem
    from .params import plain_data_problems

    problems = [p for p in [name_problem(run_id, "batch id")] if p] if run_id is not None else []
    for run in runs:
        problems += [p for p in [name_problem(run.name, "run name"), notebook_problem(run.notebook, run.root)] if p]
        for name, value in run.parameters.items():
            problems += plain_data_problems(value, f"run {run.name!r}: parameter {name!r}")
    if problems:
        raise ConfigError(problems)


def run_batch(
    runs: list[RunSpec],
    *,
    config_path: str | Path,
    output_root: str | Path = "reports",
    run_id: str | None = None,
    jobs: int | None = None,
    force: bool = False,
    with_code: bool = False,
    progress: Progress | None = None,
    update_latest: bool = True,
) -> BatchResult:
    """Execute ``runs`` (already checked by :func:`~engagement_kit.reports.config.check_runs`).

    Writes ``<output_root>/<run_id>/`` with one folder per run, ``index.html`` and
    ``manifest.json``; points ``<output_root>/latest`` at it when every run succeeded.
    A ``KeyboardInterrupt`` stops the kernels, removes the staging folder and propagates.
    Raises :class:`BatchError` when another batch holds ``output_root`` or it cannot be
    written (the staging folder is removed; earlier batches are unchanged).
    """
    output_root = Path(output_root)
    _check_batch(runs, run_id)  # before anything is written
    try:
        output_root.mkdir(parents=True, exist_ok=True)
        lock = _lock_output_root(output_root)
    except OSError as exc:
        raise _write_error(exc, output_root) from None
    previous_token = os.environ.get(BATCH_ENV)
    # Everything this batch starts carries the token (the fork server, when this batch starts
    # it; workers get it explicitly): their lifelines watch this process.
    token = os.environ[BATCH_ENV] = batch_token()
    try:
        return _run_locked(
            runs, lock, token,
            config_path=config_path, output_root=output_root, run_id=run_id, jobs=jobs, force=force,
            with_code=with_code, progress=progress, update_latest=update_latest,
        )  # fmt: skip
    except OSError as exc:
        where = Path(os.path.abspath(str(exc.filename))) if isinstance(exc.filename, (str, Path)) else None
        if where is not None and Path(os.path.abspath(output_root)) not in (where, *where.parents):
            raise  # not about the output root (a bug, a vanished input): not a write problem
        raise _write_error(exc, output_root) from None
    finally:
        lock.close()  # releases the lock
        if previous_token is None:
            os.environ.pop(BATCH_ENV, None)
        else:
            os.environ[BATCH_ENV] = previous_token


def _run_locked(
    runs: list[RunSpec],
    lock: TextIO,
    token: str,
    *,
    config_path: str | Path,
    output_root: Path,
    run_id: str | None,
    jobs: int | None,
    force: bool,
    with_code: bool,
    progress: Progress | None,
    update_latest: bool,
) -> BatchResult:
    """:func:`run_batch` once it holds the output root's lock."""
    from .render import index_html

    _clean_stale_files(output_root)
    stale = _stale_staging(output_root)
    run_id = run_id or _unique_run_id(output_root, default_run_id())
    lock.seek(0)
    lock.truncate()
    lock.write(f"pid {os.getpid()}, run id {run_id}\n")
    lock.flush()
    final = output_root / run_id
    staging = output_root / f".staging-{run_id}-{os.getpid()}"
    root = runs[0].root if runs else Path.cwd()
    manifest = BatchManifest(
        run_id=run_id, config=str(config_path), start=utc_now(), with_code=with_code, git=git_info(root)
    )
    progress = progress or Progress(len(runs))
    executor: ProcessPoolExecutor | None = None
    ctx = _pool_context()
    if ctx.get_start_method() == "forkserver":
        # the fork server imports papermill and nbconvert while we fingerprint the data
        from multiprocessing import forkserver

        forkserver.ensure_running()
    try:
        shutil.rmtree(staging, ignore_errors=True)
        (staging / RECORDS).mkdir(parents=True)
        packages = package_versions()
        code = code_hash()
        memo: dict[Path, DataFingerprint] = {}
        # the runs of killed batches first: a complete batch's copy of the same run wins
        cached = {} if force else {**_salvaged_runs(stale), **cache_index(output_root)}
        jobs_todo: list[tuple[RunRecord, dict[str, Any]]] = []
        for run in runs:
            nb = load_notebook(run.notebook_path)
            nb_sha = notebook_hash(nb)
            data = _fingerprints(run, memo)
            if run.monitor:  # a scheduled look: it draws the earlier looks too
                looks = earlier_looks(read_history(output_root, run.monitor), batch=run_id, run=run.name)
                run.effective[MONITOR_PARAMETER] = looks
                run.parameters = {**run.parameters, MONITOR_PARAMETER: looks}
            key = cache_key(nb_sha, run.effective, data, packages, code, with_code)
            final_dir = (final / run.name).as_posix()
            record = RunRecord(
                name=run.name,
                notebook=run.notebook,
                notebook_sha256=nb_sha,
                parameters={**run.effective, "output_dir": final_dir},
                data=data,
                cache_key=key,
                key_figures=run.key_figures,
                account_level=list(run.account_level),
                description=run.description,
                monitor=run.monitor,
            )
            manifest.runs.append(record)
            hit = None if force else cached.get(key)
            if hit is not None:
                src_id, src_dir, src_rec = hit
                copy_run(src_dir, staging / run.name)
                for f in ("start", "end", "duration_s", "outputs", "timings", "status"):
                    setattr(record, f, getattr(src_rec, f))
                if src_id == run_id:  # rerun of the same batch id: its record stays as it was
                    record.parameters, record.cached_from = src_rec.parameters, src_rec.cached_from
                else:  # name the batch that executed it
                    record.cached_from = src_rec.cached_from or src_id
                _save_record(staging, record)
                progress.cached(run.name, src_id)
                continue
            jobs_todo.append(
                (
                    record,
                    {
                        "name": run.name,
                        "notebook": str(run.notebook_path),
                        "parameters": dict(run.parameters),
                        "run_dir": str((staging / run.name).resolve()),
                        "final_dir": final_dir,
                        "cwd": str(run.root),
                        "with_code": with_code,
                        "timeout": run.timeout,
                    },
                )
            )
        for d in stale:  # what could be reused from them is copied
            shutil.rmtree(d, ignore_errors=True)
        if jobs_todo:
            n_workers = max(1, min(jobs or os.cpu_count() or 1, len(jobs_todo)))
            events = ctx.Queue()
            executor = ProcessPoolExecutor(
                max_workers=n_workers, mp_context=ctx, initializer=_init_worker, initargs=(events, with_code, token)
            )
            futures = {executor.submit(execute_job, job): rec for rec, job in jobs_todo}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                while True:
                    try:
                        _, name, at = events.get_nowait()
                    except queue.Empty:
                        break
                    progress.started(name, at)
                for fut in done:
                    rec = futures[fut]
                    try:
                        result = fut.result()
                    except BrokenProcessPool as exc:  # the worker died (out of memory, signal)
                        result = _failure("WorkerCrashed", exc)
                    except Exception as exc:  # a bug outside the notebook: this run fails, the batch goes on
                        result = _failure(type(exc).__name__, exc)
                    for k, v in result.items():
                        setattr(rec, k, v)
                    _save_record(staging, rec)
                    progress.finished(rec.name, rec.status, rec.duration_s)
                progress.tick()
            executor.shutdown(wait=True)
            executor = None
        progress.close()
        manifest.end = utc_now()
        manifest.status = "ok" if all(r.status == "ok" for r in manifest.runs) else "failed"
        (staging / "index.html").write_text(index_html(manifest, staging), encoding="utf-8")
        write_json_atomic(staging / "manifest.json", manifest.to_dict())
        shutil.rmtree(staging / RECORDS)  # the manifest holds them now
        _promote(staging, final)
        _record_looks(output_root, final, manifest)
    except BaseException:
        if executor is not None:
            _kill_pool(executor)
        progress.close()
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if manifest.status == "ok" and update_latest:
        point_latest(output_root, run_id)
    failures = [r for r in manifest.runs if r.status != "ok"]
    return BatchResult(exit_code=1 if failures else 0, batch_dir=final, manifest=manifest, failures=failures)


__all__ += ["Progress", "read_manifest"]
