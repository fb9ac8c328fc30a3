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
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

__all__ = ["PRELOAD", "ForkedKernel", "KernelTemplate", "enabled"]

#: Imported once in the template (the libraries the toolkit's notebooks use).
PRELOAD = ("numpy", "pandas", "scipy.stats", "statsmodels.api", "matplotlib.pyplot", "seaborn")
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


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
def _become_kernel(request: dict[str, Any]) -> None:
    """In the forked child: detach, redirect output, and run an ipykernel (never returns)."""
    os.setsid()
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
    # History in memory, as nbclient asks of the kernels it starts: no sqlite file to open
    # at start-up, and none left locked by a kernel killed once its notebook is done.
    sys.argv = ["ipykernel_launcher", "-f", request["connection_file"], "--HistoryManager.hist_file=:memory:"]
    from ipykernel.kernelapp import IPKernelApp

    IPKernelApp.launch_instance(argv=sys.argv[1:])
    raise SystemExit(0)  # a normal interpreter shutdown (open files are flushed)


def serve(address: str, parent: int) -> None:
    """Import everything once, then fork a kernel for each request on the unix socket,
    as long as the worker process ``parent`` lives."""
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
                    _become_kernel(request)  # leaves through SystemExit
                conn.sendall(f"{pid}\n".encode())
    finally:
        if os.getpid() == me:
            server.close()
            Path(address).unlink(missing_ok=True)


if __name__ == "__main__":  # pragma: no cover
    serve(sys.argv[1], int(sys.argv[2]))
