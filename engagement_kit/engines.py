"""Where the data lives: one way to reach a table in pandas, DuckDB, Spark or a warehouse.

Every analysis reduces rows to small per-group sums before any statistics run. This module
turns whatever the user has into an **Ibis table** (Ibis compiles one expression to DuckDB,
PySpark, BigQuery, Snowflake, Postgres, ...), so that reduction runs inside the engine
that holds the rows and only the aggregates come back:

==========================  ===========================================================
``data`` given as           becomes
==========================  ===========================================================
pandas DataFrame            an in-memory table, aggregated by embedded DuckDB (analyses
                            that hold a numpy path keep it: :func:`is_in_memory`)
Ibis table                  itself (any backend: Spark, BigQuery, Snowflake, ...)
DuckDB relation             the relation's rows, read by DuckDB (a view where possible)
PySpark DataFrame           a temporary view in its own Spark session
path (str / Path)           Parquet / CSV file, folder of them, glob, or a ``.duckdb``
                            file with ``table=`` - read by DuckDB, out of core
==========================  ===========================================================

Why Ibis: it is the well-kept portable dataframe library that compiles one expression to
every engine above, pandas-free, so the same aggregation code serves a laptop and a
cluster. (narwhals, also installed, covers eager/lazy dataframe libraries but not SQL
warehouses.)

Example
-------
>>> import pandas as pd
>>> t = as_table(pd.DataFrame({"arm": ["a", "a", "b"], "y": [1.0, 2.0, 5.0]}))
>>> t.group_by("arm").aggregate(n=t.count(), total=t.y.sum()).order_by("arm").execute().to_numpy().tolist()
[['a', 2, 3.0], ['b', 1, 5.0]]
>>> engine_of(t)
'duckdb'
"""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

__all__ = ["ENGINES", "Engine", "as_table", "engine_of", "is_in_memory", "is_remote", "duckdb_connection",
           "AUTO_DUCKDB_BYTES", "choose_engine", "spark_table", "n_rows", "MAX_ROWS_PULLED", "pull_rows"]

Engine = Literal["auto", "pandas", "duckdb", "spark"]
#: Values of the notebooks' ``engine`` parameter.
ENGINES = ("auto", "pandas", "duckdb", "spark")

_FILES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "csv", ".txt": "csv",
          ".csv.gz": "csv", ".parquet.gz": "parquet"}
_DATABASES = {".duckdb", ".ddb", ".db"}
_counter = itertools.count()
_duckdb: Any = None


def duckdb_connection() -> Any:
    """The process's embedded DuckDB (an Ibis backend), created on first use."""
    global _duckdb
    if _duckdb is None:
        _duckdb = ibis.duckdb.connect()
    return _duckdb


def _is_spark(data: Any) -> bool:
    return type(data).__module__.startswith("pyspark.sql") and type(data).__name__ == "DataFrame"


def _is_duckdb_relation(data: Any) -> bool:
    return type(data).__name__ == "DuckDBPyRelation"


def is_in_memory(data: Any) -> bool:
    """True for a pandas DataFrame: analyses may keep their numpy path on it."""
    return isinstance(data, pd.DataFrame)


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for s in sorted(_FILES, key=len, reverse=True):
        if name.endswith(s):
            return s
    return path.suffix.lower()


def _read_path(path: str | Path, table: str | None) -> ir.Table:
    text = str(path)
    p = Path(text).expanduser()
    con = duckdb_connection()
    if any(ch in text for ch in "*?["):
        kind = _FILES.get(_suffix(Path(text.split("*")[-1] or "x.parquet")), "parquet")
        return con.read_parquet(text) if kind == "parquet" else con.read_csv(text)
    if p.is_dir():
        for kind, pattern in (("parquet", "*.parquet"), ("csv", "*.csv")):
            if any(p.glob(pattern)):
                glob = str(p / "**" / pattern)
                return con.read_parquet(glob) if kind == "parquet" else con.read_csv(glob)
        raise FileNotFoundError(f"{p}: no .parquet or .csv files in this folder; point data_path at a file, "
                                "a folder of Parquet/CSV files, a glob or a .duckdb file")
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file; check data_path")
    if p.suffix.lower() in _DATABASES:
        if not table:
            raise ValueError(f"{p} is a DuckDB database: name the table to read with table=")
        db = ibis.duckdb.connect(str(p), read_only=True)
        if table not in db.list_tables():
            raise ValueError(f"{p} has no table {table!r}; its tables: {', '.join(db.list_tables()) or 'none'}")
        return db.table(table)
    kind = _FILES.get(_suffix(p))
    if kind is None:
        raise ValueError(f"{p}: the DuckDB engine reads .parquet, .csv/.tsv files and .duckdb databases")
    return con.read_parquet(str(p)) if kind == "parquet" else con.read_csv(str(p))


def as_table(data: Any, *, table: str | None = None) -> ir.Table:
    """``data`` as an Ibis table, without moving rows out of the engine that holds them.

    ``table`` names a table in a DuckDB database file, or in the Spark catalog when
    ``data`` is a SparkSession. A pandas frame becomes an in-memory table that the
    embedded DuckDB aggregates.
    """
    if isinstance(data, ir.Table):
        return data
    if isinstance(data, pd.DataFrame):
        return ibis.memtable(data)
    if isinstance(data, (str, Path)):
        return _read_path(data, table)
    if _is_spark(data):
        name = f"ek_view_{uuid.uuid4().hex[:12]}"
        data.createOrReplaceTempView(name)
        return ibis.pyspark.connect(data.sparkSession).table(name)
    if type(data).__name__ == "SparkSession":
        if not table:
            raise ValueError("a SparkSession was given: name the catalog table to read with table=")
        return ibis.pyspark.connect(data).table(table)
    if _is_duckdb_relation(data):
        # DuckDB hides a relation's connection; its Arrow stream is read by DuckDB in one pass,
        # batch by batch, into a table of the embedded database (which spills to disk).
        con = duckdb_connection()
        name = f"ek_rel_{next(_counter)}_{uuid.uuid4().hex[:8]}"
        con.con.register(name + "_stream", data.fetch_arrow_reader())
        con.con.execute(f'CREATE TEMP TABLE "{name}" AS SELECT * FROM "{name}_stream"')
        con.con.unregister(name + "_stream")
        return con.table(name)
    raise TypeError(f"cannot read {type(data).__name__}: give a pandas DataFrame, an Ibis table, a DuckDB "
                    "relation, a PySpark DataFrame or a path to Parquet/CSV files or a .duckdb file")


def engine_of(data: Any) -> str:
    """The engine that holds ``data``: ``pandas``, ``duckdb``, ``pyspark``, or the Ibis backend's name."""
    if isinstance(data, pd.DataFrame):
        return "pandas"
    if _is_spark(data):
        return "pyspark"
    if _is_duckdb_relation(data) or isinstance(data, (str, Path)):
        return "duckdb"
    if isinstance(data, ir.Table):
        try:
            return data._find_backend(use_default=True).name
        except Exception:  # an unbound expression: executed by Ibis's default backend
            return "duckdb"
    raise TypeError(f"unknown data type {type(data).__name__}")


def is_remote(data: Any) -> bool:
    """True when rows live outside this process's memory and embedded DuckDB (Spark, a warehouse):
    raw-row methods must not pull them."""
    return engine_of(data) not in ("pandas", "duckdb")


#: ``engine="auto"`` reads files (or folders of files) larger than this with DuckDB, out of
#: core: pandas holds a table in roughly 2-10x its Parquet/CSV size, so 1 GiB of files is
#: where a laptop with 16 GB starts to struggle, while DuckDB streams any size.
AUTO_DUCKDB_BYTES = 2**30


def _size(p: Path) -> int:
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return p.stat().st_size if p.is_file() else 0


def choose_engine(data_path: str | Path, *, engine: str = "auto", table: str | None = None) -> str:
    """The engine a notebook uses for ``data_path``: ``pandas``, ``duckdb`` or ``spark``.

    ``auto``: DuckDB for globs, ``.duckdb`` files, folders of Parquet files and anything larger
    than :data:`AUTO_DUCKDB_BYTES`; pandas otherwise (the demo folder, files that fit in
    memory). ``spark`` is never chosen automatically.

    >>> choose_engine("data/demo"), choose_engine("exports/*.parquet"), choose_engine("x.csv", engine="spark")
    ('pandas', 'duckdb', 'spark')
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    if engine != "auto":
        return engine
    text = str(data_path)
    p = Path(text).expanduser()
    if any(ch in text for ch in "*?[") or p.suffix.lower() in _DATABASES or table:
        return "duckdb"
    if p.is_dir() and any(p.rglob("*.parquet")) and not any(p.glob("customers.*")):
        return "duckdb"
    return "duckdb" if _size(p) > AUTO_DUCKDB_BYTES else "pandas"


def spark_table(data_path: str | Path | None = None, *, table: str | None = None) -> Any:
    """A PySpark DataFrame from the active (or a new) SparkSession: ``table`` from its catalog,
    else ``data_path`` (Parquet file/folder/glob, or CSV with a header) read by Spark.

    The session comes from ``SparkSession.builder.getOrCreate()``: its configuration (master,
    credentials, warehouse) is the environment's (spark-defaults.conf, SPARK_* variables,
    a Databricks cluster), never the report config.
    """
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    if table:
        return spark.table(table)
    if data_path is None:
        raise ValueError("engine='spark' needs table (a catalog table) or data_path (files Spark can read)")
    text = str(data_path)
    if _FILES.get(_suffix(Path(text.split("*")[-1] or "x.parquet")), "parquet") == "csv":
        return spark.read.csv(text, header=True, inferSchema=True)
    return spark.read.parquet(text)


def n_rows(data: Any) -> int:
    """Rows of ``data`` (a pandas frame, or counted by its engine: Parquet metadata for files)."""
    if isinstance(data, pd.DataFrame):
        return len(data)
    return int(as_table(data).count().execute())


#: Default of ``max_rows_pulled``: the most rows a raw-row method copies out of an engine.
MAX_ROWS_PULLED = 1_000_000


def pull_rows(data: Any, columns: list[str], *, what: str, max_rows_pulled: int = MAX_ROWS_PULLED,
              n_rows: int | None = None) -> pd.DataFrame:
    """``columns`` of an engine table as a pandas frame, for methods that need the rows.

    Refused (ValueError naming ``what``, the row count and the ways out) when the table has
    more than ``max_rows_pulled`` rows: copying a billion rows out of a warehouse is never
    what the user meant.
    """
    if is_in_memory(data):
        return data
    t = as_table(data)
    n = int(t.count().execute()) if n_rows is None else n_rows
    if n > max_rows_pulled:
        raise ValueError(
            f"{what} needs the rows, and the data ({engine_of(data)}) has {n:,} rows, more than "
            f"max_rows_pulled={max_rows_pulled:,}: sample in the engine (e.g. table.sample(0.01) or "
            f"TABLESAMPLE) and pass the sample, drop the method, or raise max_rows_pulled if the rows fit "
            "in memory"
        )
    cols = list(dict.fromkeys(columns))
    return t.select(*cols).to_pandas()
