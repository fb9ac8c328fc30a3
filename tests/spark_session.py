"""One local Spark session per test process (starting one takes ~20 s on a loaded machine).

``spark_session()`` starts ``local[2]`` once and returns the same session afterwards;
under ``CI=true`` a session that cannot start fails the test instead of skipping it.
"""

from __future__ import annotations

import functools
import os

import pytest


@functools.cache
def _start():
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master("local[2]")
        .appName("engagement-kit-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.ansi.enabled", "false")
        .getOrCreate()
    )


def spark_session():
    """The shared local Spark session, or a skip (a failure under ``CI=true``) if none starts."""
    try:
        session = _start()
    except Exception as exc:  # no Java, no pyspark: a skip locally, a failure in CI
        message = f"a local Spark session could not start: {type(exc).__name__}: {exc}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{message} (CI=true: the Spark tests must run; `make test` installs .[dev,spark])")
        pytest.skip(f"{message} (install .[spark] and Java 17 to run the Spark tests)")
    session.sparkContext.setLogLevel("ERROR")
    return session
