"""Progress of the long steps (CFA, bootstrap, cross-fitting) for a researcher in JupyterLab.

One tqdm bar (``tqdm.auto``: a widget in Lab, text in a terminal) per long call, advanced
step by step with the step's name. ``progress=None`` (the default of the analyses that use
it) shows the bar only in an interactive Jupyter kernel: never in tests, scripts or the
report batch, whose kernels get ``ENGAGEMENT_KIT_PROGRESS=0`` (a bar in a report is noise).
``True`` or ``False`` decide explicitly.

>>> with Steps(["reliability", "CFA"], progress=False) as steps:
...     steps.next("reliability")
...     steps.next("CFA")
>>> show_progress(None)  # not in a Jupyter kernel
False
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["ENV", "Steps", "show_progress"]

#: Set to "0" to silence every bar (the batch sets it for its kernels), "1" to force them.
ENV = "ENGAGEMENT_KIT_PROGRESS"


def show_progress(progress: bool | None) -> bool:
    """Whether to draw a bar: ``progress`` if given, else the environment variable, else
    only inside an interactive Jupyter kernel."""
    if progress is not None:
        return bool(progress)
    env = os.environ.get(ENV)
    if env is not None:
        return env.strip() not in ("", "0", "false", "no")
    shell = sys.modules.get("IPython")
    ip = shell.get_ipython() if shell is not None and hasattr(shell, "get_ipython") else None
    return type(ip).__name__ == "ZMQInteractiveShell"


class Steps:
    """A bar over named steps: ``next(name)`` marks the start of the next step."""

    def __init__(self, names: Sequence[str], *, progress: bool | None = None, desc: str = "") -> None:
        self._bar: Any = None
        self._started = False
        if show_progress(progress):
            from tqdm.auto import tqdm

            self._bar = tqdm(total=len(names), desc=desc, leave=False, file=sys.stderr)

    def next(self, name: str) -> None:
        if self._bar is None:
            return
        if self._started:
            self._bar.update(1)
        self._started = True
        self._bar.set_postfix_str(name, refresh=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.update(self._bar.total - self._bar.n)
            self._bar.close()

    def __enter__(self) -> Steps:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
