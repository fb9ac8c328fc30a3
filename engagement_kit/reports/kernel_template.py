"""Warm kernels: a template process that has imported ipykernel and the toolkit's heavy
libraries once and forks a fresh kernel process for each run.

Starting a kernel and importing pandas, statsmodels, scipy, matplotlib and seaborn costs
about 3 s of CPU per run, more than most report notebooks compute. Each worker of the
batch starts one template (``python -m engagement_kit.reports.kernel_template SOCKET``);
for every run it asks the template to ``fork()`` a child that becomes an ordinary
ipykernel on the run's connection file. Every run still has its own kernel process with
its own state: the child starts from the template's freshly imported, untouched modules
(numpy's global random state is re-seeded from the OS, as a new process would be).

Set ``ENGAGEMENT_KIT_FRESH_KERNELS=1`` to start every kernel from scratch instead.

Lifeline
--------
Workers, templates and kernels must not outlive the batch, even when the batch process
is killed with SIGKILL and can clean up nothing. None of them is in the batch's process
group (workers are forked by the ``multiprocessing`` fork server, templates and kernels
start sessions of their own), and ipykernel's parent poller only reacts to a
reparenting to pid 1, which does not happen under a subreaper. So every one of them

* asks Linux to SIGKILL it when its parent dies (``prctl(PR_SET_PDEATHSIG)``), which
  makes the chain runner -> fork server -> worker -> template -> kernel collapse, and
* runs a *lifeline* thread that polls the batch process named in ``ENGAGEMENT_KIT_BATCH``
  (``pid:start time:nonce``; the start time guards against pid reuse) and, when it is
  gone, kills what it is responsible for and exits. This covers platforms without
  ``prctl``, a kernel's own subprocesses (the kernel kills its process group), and
  workers whose parent, the fork server, outlives the batch in a long-lived process
  (a notebook or test session calling :func:`~engagement_kit.reports.runner.run_batch`).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

__all__ = [
    "BATCH_ENV",
    "PRELOAD",
    "ForkedKernel",
    "KernelTemplate",
    "batch_alive",
    "batch_token",
    "enabled",
    "set_parent_death_signal",
    "start_lifeline",
]

#: Environment variable naming the batch process (``pid:start time:nonce``), inherited by
#: every worker, template and kernel of the batch (and a marker to find them by).
BATCH_ENV = "ENGAGEMENT_KIT_BATCH"
LIFELINE_INTERVAL = 0.5  # seconds between checks that the batch process still lives

#: Imported once in the template (the libraries the toolkit's notebooks use).
PRELOAD = ("numpy", "pandas", "scipy.stats", "statsmodels.api", "matplotlib.pyplot", "seaborn")
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def _start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot, from ``/proc``), ``""``
    where the platform does not tell, None if there is no such live process (a zombie is dead)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except FileNotFoundError:
        if os.path.exists("/proc/self/stat"):
            return None
        try:  # no /proc: existence only
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return ""
    except OSError:
        return ""
    fields = stat[stat.rfind(b")") + 2 :].split()  # the command name may hold spaces
    if not fields or fields[0] in (b"Z", b"X"):
        return None
    return fields[19].decode() if len(fields) > 19 else ""


def batch_token(pid: int | None = None) -> str:
    """A value for :data:`BATCH_ENV` naming process ``pid`` (default: this one) uniquely."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}:{_start_time(pid) or ''}:{uuid.uuid4().hex[:12]}"


def batch_alive(token: str) -> bool:
    """Whether the batch process named by ``token`` (see :func:`batch_token`) still runs."""
    pid_text, _, rest = token.partition(":")
    if not pid_text.isdigit():
        return True  # not ours to judge
    started = rest.partition(":")[0]
    now = _start_time(int(pid_text))
    return now is not None and (not started or not now or now == started)


def set_parent_death_signal(parent: int) -> None:
    """Have Linux SIGKILL this process when its parent (expected: ``parent``) dies; exit
    at once if the parent is already gone. No-op where ``prctl`` is unavailable."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before the prctl: the signal will never come
        os._exit(1)


def start_lifeline(on_gone: Any, token: str | None = None, interval: float = LIFELINE_INTERVAL) -> None:
    """Call ``on_gone()`` from a daemon thread once the batch process (``token``, default
    ``$ENGAGEMENT_KIT_BATCH``) is gone, then end this process (``os._exit``: no clean-up
    code of a half-done run may run). Nothing happens outside a batch (no token)."""
    token = token if token is not None else os.environ.get(BATCH_ENV)
    if not token:
        return

    def watch() -> None:
        while batch_alive(token):
            time.sleep(interval)
        try:
            on_gone()
        finally:
            os._exit(1)

    threading.Thread(target=watch, name="ek-lifeline", daemon=True).start()


def _kill_own_group() -> None:
    """For a kernel (a session and process-group leader): kill it with its subprocesses."""
    os.killpg(0, signal.SIGKILL)


def enabled() -> bool:
    """Warm kernels are used on POSIX unless ``ENGAGEMENT_KIT_FRESH_KERNELS`` is set."""
    return hasattr(os, "fork") and not os.environ.get("ENGAGEMENT_KIT_FRESH_KERNELS")


class ForkedKernel:
    """The ``subprocess.Popen`` subset jupyter_client's provisioner uses, for a kernel
    forked by the template (not our child: liveness is checked with signal 0; the
    template reaps it)."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None
        self.stdin = self.stdout = self.stderr = None  # the template redirected them to the log

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = 0
            except PermissionError:
                pass
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.02)
        return self.returncode or 0

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class KernelTemplate:
    """Worker side: start the template process and ask it for kernels."""

    def __init__(self) -> None:
        self.address = os.path.join(tempfile.gettempdir(), f"ek-template-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engagement_kit.reports.kernel_template", self.address, str(os.getpid())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def fork_kernel(self, connection_file: str, cwd: str, log: str, timeout: float = 60.0) -> int:
        """Ask the template for a kernel on ``connection_file``; returns its pid (raises OSError)."""
        deadline = time.monotonic() + timeout
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(self.address)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                s.close()
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise OSError("the kernel template is not running") from None
                time.sleep(0.02)
        with s:
            s.settimeout(timeout)
            request = {"connection_file": connection_file, "cwd": cwd, "log": log, "env": dict(os.environ)}
            s.sendall(json.dumps(request).encode() + b"\n")
            reply = s.makefile("r").readline().strip()
        if not reply.isdigit():
            raise OSError(f"the kernel template did not start a kernel: {reply!r}")
        return int(reply)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        Path(self.address).unlink(missing_ok=True)


# --------------------------------------------------------------------------- template side
def _become_kernel(request: dict[str, Any], template: int) -> None:
    """In the forked child: detach, redirect output, and run an ipykernel (never returns)."""
    os.setsid()
    set_parent_death_signal(template)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    fd = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    os.environ["JPY_PARENT_PID"] = str(os.getppid())
    if "numpy" in sys.modules:  # a new process would draw fresh OS entropy
        sys.modules["numpy"].random.seed()
    start_lifeline(_kill_own_group)  # the worker's batch token came with the environment
    # History in memory, as nbclient asks of the kernels it starts: no sqlite file to open
    # at start-up, and none left locked by a kernel killed once its notebook is done.
    sys.argv = ["ipykernel_launcher", "-f", request["connection_file"], "--HistoryManager.hist_file=:memory:"]
    from ipykernel.kernelapp import IPKernelApp

    IPKernelApp.launch_instance(argv=sys.argv[1:])
    raise SystemExit(0)  # a normal interpreter shutdown (open files are flushed)


def serve(address: str, parent: int) -> None:
    """Import everything once, then fork a kernel for each request on the unix socket,
    as long as the worker process ``parent`` (and the batch) lives."""
    set_parent_death_signal(parent)
    kernels: list[int] = []

    def kill_kernels() -> None:
        for pid in kernels:  # each kernel leads a process group of its own
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass

    start_lifeline(kill_kernels)
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # as ipykernel_launcher does; IPython adds the kernel's cwd back
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401

    for name in PRELOAD:
        try:
            __import__(name)
        except Exception:  # an optional library: the notebook imports it itself
            pass
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forked kernels are reaped automatically
    me = os.getpid()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(address + ".tmp")
    os.replace(address + ".tmp", address)  # clients connect only once we listen
    server.listen(8)
    server.settimeout(1.0)
    try:
        while os.getppid() == parent:  # the worker is gone: so are we
            try:
                conn, _ = server.accept()
            except socket.timeout:
                continue
            with conn:
                request = json.loads(conn.makefile("r").readline())
                pid = os.fork()
                if pid == 0:
                    server.close()
                    _become_kernel(request, me)  # leaves through SystemExit
                kernels[:] = [k for k in kernels if _start_time(k) is not None] + [pid]
                conn.sendall(f"{pid}\n".encode())
    finally:
        if os.getpid() == me:
            server.close()
            Path(address).unlink(missing_ok=True)


def launch_fresh_kernel(argv: list[str]) -> None:
    """``python -m engagement_kit.reports.kernel_template --kernel -f CONNECTION_FILE ...``:
    ``ipykernel_launcher`` with the lifeline, for kernels started from scratch (the
    worker, their parent, passes the batch token in the environment)."""
    set_parent_death_signal(int(os.environ.get("JPY_PARENT_PID") or os.getppid()))
    start_lifeline(_kill_own_group)
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # as ipykernel_launcher does
    from ipykernel import kernelapp

    kernelapp.launch_new_instance(argv=argv)


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:2] == ["--kernel"]:
        launch_fresh_kernel(sys.argv[2:])
    else:
        serve(sys.argv[1], int(sys.argv[2]))
