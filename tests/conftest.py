"""Shared fixtures: one local Spark session for the whole test session.

Spark takes ~20 s to start on a loaded 2-core machine, so the session is started once
(``local[2]``, no UI, 2 shuffle partitions, log level ERROR; :mod:`spark_session`) and shared
by the few Spark tests. Under ``CI=true`` a session that cannot start FAILS the tests that
need it (CI installs ``.[spark]`` and Java 17: a skip there would hide a broken Spark path);
elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import pytest
from reports_helpers import run_default_batch
from spark_session import spark_session


@pytest.fixture(scope="session")
def spark():
    return spark_session()


@pytest.fixture(scope="session")
def default_batch(tmp_path_factory):
    """The default batch (reports.yaml) on miniature data, run once per test process: the
    privacy and HTML tests read the same batch (both modules are in the xdist group
    ``default_batch``, so ``--dist loadgroup`` puts them on one worker)."""
    return run_default_batch(tmp_path_factory.mktemp("project"))
