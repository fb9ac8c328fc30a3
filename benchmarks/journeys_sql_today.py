"""Today's journeys funnel, in DuckDB SQL: the comparison for benchmarks/bench_journeys.py.

A verbatim copy of the SQL path that engagement_kit/journeys/engine.py used before it
became Ibis expressions (registration, the stage CASE, first arrivals and the funnel
counts only), kept runnable so the benchmark can time the old path beside the new one on
the same file in the same run. Not part of the library.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from engagement_kit.frameworks import FRAMEWORKS, get_framework

ALL_ARM = "all"
Source = str | Path | Sequence[str | Path] | pd.DataFrame | duckdb.DuckDBPyRelation
_REQUIRED = {
    "events": ("customer_id", "timestamp", "framework", "stage"),
    "customers": ("customer_id",),
    "outcomes": ("customer_id",),
}


def _sql_str(s: str) -> str:
    return "'" + str(s).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


class SqlEngine:
    """Today's embedded DuckDB connection and funnel SQL (copied, see the module docstring).

    Parameters
    ----------
    threads, memory_limit:
        DuckDB settings (``memory_limit`` like ``"3GB"``; DuckDB spills to disk
        beyond it). ``None`` keeps DuckDB's defaults.
    """

    def __init__(self, threads: int | None = None, memory_limit: str | None = None) -> None:
        self.con = duckdb.connect(":memory:")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            self.con.execute(f"SET memory_limit = {_sql_str(memory_limit)}")
        self.con.execute("SET preserve_insertion_order = false")
        self._tables: set[str] = set()
        rows = [(f, s.name, s.order, len(fw.stages)) for f, fw in FRAMEWORKS.items() for s in fw.stages]
        # the stage table is used by the data-quality checks only
        self.con.register(
            "_stage_map_df",
            pd.DataFrame(rows, columns=["framework", "stage", "stage_order", "n_stages"]),
        )
        self.con.execute("CREATE TEMP TABLE _stage_map AS SELECT * FROM _stage_map_df")

    # ------------------------------------------------------------------ sources
    def register(self, name: str, source: Source) -> None:
        """Make ``source`` available as table ``name`` (a view; files are read lazily).

        ``source`` is a pandas frame, a DuckDB relation, or CSV/Parquet path(s)
        (globs allowed; the format follows the extension).
        """
        view = _ident(name)
        if isinstance(source, pd.DataFrame):
            self.con.register(f"_{name}_df", source)
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM {_ident('_' + name + '_df')}")
        elif isinstance(source, duckdb.DuckDBPyRelation):
            source.create_view(name, replace=True)
        else:
            paths = [source] if isinstance(source, (str, Path)) else list(source)
            if not paths:
                raise ValueError(f"table {name!r}: no files given")
            lst = "[" + ", ".join(_sql_str(str(p)) for p in paths) + "]"
            suffixes = {Path(str(p)).suffix.lower() for p in paths}
            if suffixes <= {".parquet", ".pq"}:
                reader = f"read_parquet({lst})"
            elif suffixes <= {".csv", ".gz", ".txt"}:
                reader = f"read_csv({lst}, header = true)"
            else:
                raise ValueError(
                    f"table {name!r}: cannot tell the format of {paths}; use .csv or .parquet files "
                    "or pass a pandas DataFrame"
                )
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM {reader}")
        cols = self.columns(name)
        missing = [c for c in _REQUIRED.get(name, ()) if c not in cols]
        if missing:
            raise KeyError(f"table {name!r} lacks required column(s) {missing}; it has {cols}")
        self._tables.add(name)

    def has(self, name: str) -> bool:
        """Whether table ``name`` was registered."""
        return name in self._tables

    def columns(self, name: str) -> list[str]:
        """Column names of a registered table."""
        return [r[0] for r in self.con.execute(f"DESCRIBE {_ident(name)}").fetchall()]

    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run SQL and return a pandas frame (used by every method below)."""
        return self.con.execute(sql, params or []).df()

    # ------------------------------------------------------------------ helpers
    def _arm_expr(self, arm_col: str | None) -> tuple[str, str]:
        """(join clause, arm expression) for by-arm results."""
        if arm_col is None or not self.has("customers"):
            return "", f"{_sql_str(ALL_ARM)}"
        if arm_col not in self.columns("customers"):
            raise KeyError(
                f"arm column {arm_col!r} not in the customers table; columns are {self.columns('customers')}"
            )
        return "JOIN customers c USING (customer_id)", f"CAST(c.{_ident(arm_col)} AS VARCHAR)"

    @staticmethod
    def _order_case(frameworks: Sequence[str]) -> tuple[str, str]:
        """SQL CASE expressions (stage_order, framework code) from the framework list.

        A CASE over the (dictionary-encoded) stage column is much cheaper than a
        join with the stage table on 10^8 rows; unknown stages map to NULL.
        """
        fw_case, st_case = [], []
        for i, f in enumerate(frameworks):
            stages = " ".join(f"WHEN {_sql_str(s.name)} THEN {s.order}" for s in get_framework(f).stages)
            st_case.append(f"WHEN {_sql_str(f)} THEN CASE CAST(stage AS VARCHAR) {stages} END")
            fw_case.append(f"WHEN {_sql_str(f)} THEN {i}")
        fw_col = "CAST(framework AS VARCHAR)"
        return (
            f"CASE {fw_col} {' '.join(st_case)} END",
            f"CASE {fw_col} {' '.join(fw_case)} END",
        )

    def _stage_events(self, frameworks: Sequence[str]) -> str:
        """SQL of the usable events: known stage, non-missing timestamp and customer id.

        Columns: customer_id, fw_code (index into ``frameworks``), framework, stage,
        stage_order, ts.
        """
        frameworks = [get_framework(f).name for f in frameworks]
        order, code = self._order_case(frameworks)
        fws = ", ".join(_sql_str(f) for f in frameworks)
        return f"""
            SELECT * FROM (
                SELECT customer_id, {code} AS fw_code, CAST(framework AS VARCHAR) AS framework,
                       CAST(stage AS VARCHAR) AS stage, {order} AS stage_order, CAST(timestamp AS TIMESTAMP) AS ts
                FROM events
                WHERE CAST(framework AS VARCHAR) IN ({fws}) AND timestamp IS NOT NULL AND customer_id IS NOT NULL)
            WHERE stage_order IS NOT NULL"""

    def _first_reach_sql(self, frameworks: Sequence[str]) -> str:
        """Per (framework, customer): first arrival ``t_k`` at each stage, any-order flags
        ``a_k`` and ordered flags ``o_k`` (stages 1..k all reached, first arrivals in
        non-decreasing time order)."""
        frameworks = [get_framework(f).name for f in frameworks]
        k_max = max(len(get_framework(f).stages) for f in frameworks)
        # min(CASE ...) is faster than min(...) FILTER (...) in DuckDB for many groups
        firsts = ",\n".join(
            f"min(CASE WHEN stage_order = {k} THEN ts END) AS t{k}" for k in range(1, k_max + 1)
        )
        ordered = ["t1 IS NOT NULL AS o1"]
        cond = "t1 IS NOT NULL"
        for k in range(2, k_max + 1):
            cond = f"{cond} AND coalesce(t{k} >= t{k - 1}, false)"
            ordered.append(f"({cond}) AS o{k}")
        anys = [f"t{k} IS NOT NULL AS a{k}" for k in range(1, k_max + 1)]
        # one integer group key per framework (grouping on the framework string is slower)
        keys = "customer_id" if len(frameworks) == 1 else "fw_code, customer_id"
        names = " ".join(f"WHEN {i} THEN {_sql_str(f)}" for i, f in enumerate(frameworks))
        fw_name = _sql_str(frameworks[0]) if len(frameworks) == 1 else f"CASE fw_code {names} END"
        return f"""
            WITH ev AS ({self._stage_events(frameworks)}),
            fr AS (SELECT {keys}, {firsts} FROM ev GROUP BY {keys})
            SELECT {fw_name} AS framework, customer_id, t1{"".join(f", t{k}" for k in range(2, k_max + 1))},
                   {", ".join(anys)}, {", ".join(ordered)} FROM fr"""

    # --------------------------------------------------------------- aggregates
    def funnel_counts(
        self, frameworks: Sequence[str], arm_col: str | None = None
    ) -> pd.DataFrame:
        """Customers reaching each stage, per framework and arm (one pass over events).

        Returns framework, arm, stage_order, n_arm (customers of the arm: the
        customers table, or those with any usable event of the framework when
        there is none), n_any (reached the stage, any order), n_ordered (reached
        stages 1..k with first arrivals in time order; ties count as in order),
        n_any_prev (reached the stage and the previous one, any order; for stage 1
        equal to n_any).
        """
        frameworks = [get_framework(f).name for f in frameworks]
        if len(frameworks) > 1:
            # one query per framework: each aggregates over customers only (an integer or
            # id key), which keeps the hash table and the peak memory small on 10^8 events
            return pd.concat([self.funnel_counts([f], arm_col) for f in frameworks], ignore_index=True)
        k_max = max(len(get_framework(f).stages) for f in frameworks)
        join, arm = self._arm_expr(arm_col)
        sums = []
        for k in range(1, k_max + 1):
            prev = f"a{k - 1} AND " if k > 1 else ""
            sums.append(
                f"sum(a{k}::INTEGER) AS n_any_{k}, sum(o{k}::INTEGER) AS n_ordered_{k}, "
                f"sum(({prev}a{k})::INTEGER) AS n_any_prev_{k}"
            )
        sql = f"""
            WITH f AS ({self._first_reach_sql(frameworks)})
            SELECT f.framework, {arm} AS arm, count(*) AS n_entered, {", ".join(sums)}
            FROM f {join} GROUP BY ALL"""
        wide = self.query(sql)
        if join:
            n_arm = self.query(
                f"SELECT {arm} AS arm, count(*) AS n_arm FROM customers c GROUP BY ALL"
            )
            grid = pd.DataFrame({"framework": frameworks}).merge(n_arm, how="cross")
            wide = grid.merge(wide, on=["framework", "arm"], how="left").fillna(0)
        else:
            wide["n_arm"] = wide["n_entered"]
        rows = []
        for f in frameworks:
            n = len(get_framework(f).stages)
            sub = wide[wide["framework"] == f]
            for k in range(1, n + 1):
                rows.append(
                    pd.DataFrame(
                        {
                            "framework": f,
                            "arm": sub["arm"].to_numpy(),
                            "stage_order": k,
                            "n_arm": sub["n_arm"].to_numpy(),
                            "n_any": sub[f"n_any_{k}"].to_numpy(),
                            "n_ordered": sub[f"n_ordered_{k}"].to_numpy(),
                            "n_any_prev": sub[f"n_any_prev_{k}"].to_numpy(),
                        }
                    )
                )
        out = pd.concat(rows, ignore_index=True)
        for c in ("n_arm", "n_any", "n_ordered", "n_any_prev"):
            out[c] = out[c].astype("int64")
        return out.sort_values(["framework", "arm", "stage_order"], ignore_index=True)
