"""Imports a report worker needs, loaded once in the fork server that the workers fork from
(``multiprocessing`` ``forkserver`` preload), so each worker starts warm."""

from __future__ import annotations

import papermill  # noqa: F401
import papermill.iorw  # noqa: F401
import papermill.parameterize  # noqa: F401
from jupyter_client.manager import AsyncKernelManager  # noqa: F401

from .render import _exporter

_exporter(False)
_exporter(True)
