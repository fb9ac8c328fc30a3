"""Shared fixtures: one local Spark session for the whole test session.

Spark takes ~20 s to start on a loaded 2-core machine, so the session is started once
(``local[2]``, no UI, 2 shuffle partitions, log level ERROR) and shared by the few Spark
tests. Under ``CI=true`` a session that cannot start FAILS the tests that need it (CI
installs ``.[spark]`` and Java 17: a skip there would hide a broken Spark path);
elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import os

import pytest


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def spark():
    try:
        from pyspark.sql import SparkSession

        session = (
            SparkSession.builder.master("local[2]")
            .appName("engagement-kit-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.default.parallelism", "2")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.driver.memory", "1g")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
    except Exception as exc:  # no pyspark, no Java, no free port, ...
        message = f"a local Spark session could not start: {type(exc).__name__}: {exc}"
        if _in_ci():
            pytest.fail(f"{message} (CI=true: the Spark tests must run; `make test` installs .[dev,spark])")
        pytest.skip(f"{message} (install .[spark] and Java 17 to run the Spark tests)")
    yield session
    session.stop()
