"""The query layer: every relational aggregation of the journeys package, in DuckDB.

All SQL of :mod:`engagement_kit.journeys` lives here. Each method reads the
registered tables (CSV or Parquet files, read out of core, or pandas frames),
aggregates them in DuckDB and returns a *small* pandas frame (counts per arm and
stage, per transition, per cohort and period); the statistics then run on those
aggregates in pandas/statsmodels. Only the SQL text in this module would change
to point the same aggregations at a distributed engine.

Tables (registered with :meth:`Engine.register`):

``events``    customer_id, timestamp, framework, stage (schema ``events``)
``customers`` customer_id, signup_date, the arm column and segment (optional)
``outcomes``  customer_id, churn_time, churned, revenue, ... (optional)

Rules shared by every query (reported by :meth:`Engine.quality_counts`):

* an event counts towards a stage only if its ``(framework, stage)`` is a stage of
  :data:`engagement_kit.frameworks.FRAMEWORKS` and its timestamp is not missing;
* a customer's *arrival* at a stage is their first event at that stage;
* exact duplicate events (same customer, framework, stage, timestamp) count once;
* events of customers missing from ``customers`` are left out of by-arm results
  (with no ``customers`` table every customer is in one arm, ``"all"``).

Example
-------
>>> import pandas as pd
>>> ev = pd.DataFrame({"customer_id": ["a", "a", "b"], "framework": "laer",
...                    "stage": ["land", "adopt", "land"],
...                    "timestamp": pd.to_datetime(["2025-01-01", "2025-01-03", "2025-01-02"])})
>>> eng = Engine()
>>> eng.register("events", ev)
>>> eng.funnel_counts(["laer"])[["stage_order", "n_any", "n_ordered"]].head(2).to_numpy().tolist()
[[1, 2, 2], [2, 1, 1]]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ..frameworks import FRAMEWORKS, get_framework

__all__ = ["Engine", "Source", "ALL_ARM"]

#: Arm label used when there is no customers table (or no arm column).
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


class Engine:
    """An embedded DuckDB connection plus the journeys aggregations.

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

    def stage_durations(
        self, framework: str, arm_col: str | None = None, observation_end: Any = None
    ) -> pd.DataFrame:
        """Time from (ordered) arrival at stage k-1 to arrival at stage k, per customer.

        One row per customer and stage k >= 2 among those who reached k-1 in
        order: arm, stage_order (k), duration_days, event (1 = reached k in order;
        0 = censored at ``observation_end``, default the latest event timestamp).
        No customer ids are returned.
        """
        fw = get_framework(framework)
        join, arm = self._arm_expr(arm_col)
        if observation_end is None:
            end = "(SELECT max(CAST(timestamp AS TIMESTAMP)) FROM events)"
        else:
            end = f"CAST({_sql_str(pd.Timestamp(observation_end).isoformat())} AS TIMESTAMP)"
        parts = []
        for k in range(2, len(fw.stages) + 1):
            parts.append(
                f"""SELECT {arm} AS arm, {k} AS stage_order,
                       epoch(CASE WHEN o{k} THEN t{k} ELSE {end} END - t{k - 1}) / 86400.0 AS duration_days,
                       CAST(o{k} AS INTEGER) AS event
                    FROM f {join} WHERE o{k - 1}"""
            )
        sql = f"WITH f AS ({self._first_reach_sql([fw.name])}) " + " UNION ALL ".join(parts)
        return self.query(sql)

    def transition_counts(self, framework: str, arm_col: str | None = None) -> pd.DataFrame:
        """Stage-to-stage transitions between consecutive (distinct) events of a customer.

        Events are ordered by timestamp, then stage order. Each customer adds one
        ``(entry) -> first stage`` and one ``last stage -> (exit)`` transition.
        Returns arm, from_stage, to_stage, from_order, to_order (0 for entry,
        n_stages + 1 for exit), n (transitions), n_customers (customers making it at least once),
        n_from_customers (customers with any transition out of from_stage, i.e. who reached it).
        """
        fw = get_framework(framework)
        join, arm = self._arm_expr(arm_col)
        sql = f"""
            WITH ev AS (SELECT DISTINCT customer_id, stage, stage_order, ts FROM ({self._stage_events([fw.name])})),
            w AS (SELECT customer_id, stage, stage_order,
                         lag(stage) OVER win AS prev_stage, lead(stage) OVER win AS next_stage,
                         lead(stage_order) OVER win AS next_order
                  FROM ev WINDOW win AS (PARTITION BY customer_id ORDER BY ts, stage_order)),
            t AS (SELECT customer_id, stage AS from_stage, stage_order AS from_order,
                         coalesce(next_stage, '(exit)') AS to_stage,
                         coalesce(next_order, {len(fw.stages) + 1}) AS to_order FROM w
                  UNION ALL
                  SELECT customer_id, '(entry)', 0, stage, stage_order FROM w WHERE prev_stage IS NULL),
            ta AS (SELECT {arm} AS arm, t.* FROM t {join}),
            fc AS (SELECT arm, from_stage, count(DISTINCT customer_id) AS n_from_customers FROM ta GROUP BY ALL)
            SELECT arm, from_stage, to_stage, from_order, to_order, count(*) AS n,
                   count(DISTINCT customer_id) AS n_customers, any_value(n_from_customers) AS n_from_customers
            FROM ta JOIN fc USING (arm, from_stage) GROUP BY arm, from_stage, to_stage, from_order, to_order
            ORDER BY arm, from_order, to_order"""
        return self.query(sql)

    def path_counts(
        self, framework: str, arm_col: str | None = None, top: int = 10
    ) -> pd.DataFrame:
        """The ``top`` most frequent stage sequences per arm (consecutive repeats kept).

        Returns arm, path (stages joined by ``' > '``), n_customers, rank.
        """
        fw = get_framework(framework)
        join, arm = self._arm_expr(arm_col)
        sql = f"""
            WITH ev AS (SELECT DISTINCT customer_id, stage, stage_order, ts FROM ({self._stage_events([fw.name])})),
            p AS (SELECT customer_id, string_agg(stage, ' > ' ORDER BY ts, stage_order) AS path
                  FROM ev GROUP BY customer_id),
            c AS (SELECT {arm} AS arm, path, count(*) AS n_customers FROM p {join} GROUP BY ALL)
            SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY arm ORDER BY n_customers DESC, path) AS rank
                           FROM c) WHERE rank <= {int(top)} ORDER BY arm, rank"""
        return self.query(sql)

    def cohort_counts(
        self,
        arm_col: str | None,
        cohort_period: str,
        period_days: float,
        n_periods: int,
        duration: str = "churn_time",
        event: str = "churned",
    ) -> pd.DataFrame:
        """Signup cohort x period retention counts from ``customers`` joined to ``outcomes``.

        ``cohort`` is ``date_trunc(cohort_period, signup_date)``. For period p
        (p = 0..n_periods) at t = p * period_days after signup: n_eligible =
        customers observed up to t (churned, or followed at least t); n_retained =
        still a customer at t (churn_time > t, or censored with churn_time >= t).
        """
        join, arm = self._arm_expr(arm_col)
        unit = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}[cohort_period]
        d, e = _ident(duration), _ident(event)
        sql = f"""
            WITH x AS (SELECT {arm} AS arm, CAST(date_trunc('{unit}', CAST(c.signup_date AS DATE)) AS DATE) AS cohort,
                              CAST(o.{d} AS DOUBLE) AS dur, CAST(o.{e} AS BOOLEAN) AS ev
                       FROM outcomes o JOIN customers c USING (customer_id)),
            p AS (SELECT range AS period, range * {float(period_days)} AS t FROM range(0, {int(n_periods) + 1}))
            SELECT arm, cohort, period, t AS days,
                   count(*) FILTER (WHERE ev OR dur >= t) AS n_eligible,
                   count(*) FILTER (WHERE dur > t OR (NOT ev AND dur >= t)) AS n_retained
            FROM x CROSS JOIN p GROUP BY ALL ORDER BY arm, cohort, period"""
        return self.query(sql)

    def customer_table(self, columns: Sequence[str], arm_col: str | None = None) -> pd.DataFrame:
        """``outcomes`` joined to ``customers`` (inner join), selected columns only, no ids.

        The per-customer input of the survival models and KPIs (one row per
        customer; survival estimators need the individual times).
        """
        have = set(self.columns("outcomes")) | (set(self.columns("customers")) if self.has("customers") else set())
        missing = [c for c in columns if c not in have]
        if missing:
            raise KeyError(f"column(s) {missing} are in neither outcomes nor customers; available: {sorted(have)}")
        join, arm = self._arm_expr(arm_col)
        if not join and any(c not in self.columns("outcomes") for c in columns):
            join = "JOIN customers c USING (customer_id)"  # a customers column without arms
        cols = ", ".join(_ident(c) for c in columns)
        return self.query(f"SELECT {arm} AS arm, {cols} FROM outcomes {join}")

    def levels(self, table: str, column: str) -> list[str]:
        """The distinct non-missing values of ``table.column`` as text, sorted."""
        col = f"CAST({_ident(column)} AS VARCHAR)"
        sql = f"SELECT DISTINCT {col} AS v FROM {_ident(table)} WHERE {_ident(column)} IS NOT NULL ORDER BY v"
        return [str(v) for v in self.query(sql)["v"]]

    def quality_counts(
        self, frameworks: Sequence[str] | None = None, observation_end: Any = None
    ) -> pd.DataFrame:
        """Data-quality counts of the events table (and its link to customers).

        Returns check, framework, stage, n_rows, n_customers. Checks:
        ``missing_customer_id``, ``missing_timestamp``, ``unknown_framework``,
        ``unknown_stage``, ``duplicate_event`` (rows beyond the first of an exact
        duplicate), ``out_of_order`` (customers whose first arrival at a stage is
        earlier than their first arrival at the previous stage; n_rows = n_customers),
        ``customer_not_in_customers``, ``event_before_signup``, ``event_after_observation_end``.
        """
        frameworks = [get_framework(f).name for f in (frameworks or list(FRAMEWORKS))]
        parts = [
            """SELECT 'missing_customer_id' AS check, NULL AS framework, NULL AS stage,
                      count(*) AS n_rows, NULL AS n_customers FROM events WHERE customer_id IS NULL""",
            """SELECT 'missing_timestamp', CAST(framework AS VARCHAR), CAST(stage AS VARCHAR), count(*),
                      count(DISTINCT customer_id) FROM events WHERE timestamp IS NULL GROUP BY ALL""",
            """SELECT 'unknown_framework', CAST(e.framework AS VARCHAR), NULL, count(*), count(DISTINCT customer_id)
               FROM events e ANTI JOIN (SELECT DISTINCT framework FROM _stage_map) m
                 ON CAST(e.framework AS VARCHAR) = m.framework GROUP BY ALL""",
            """SELECT 'unknown_stage', CAST(e.framework AS VARCHAR), CAST(e.stage AS VARCHAR), count(*),
                      count(DISTINCT customer_id)
               FROM events e SEMI JOIN (SELECT DISTINCT framework FROM _stage_map) f
                 ON CAST(e.framework AS VARCHAR) = f.framework
               ANTI JOIN _stage_map m ON CAST(e.framework AS VARCHAR) = m.framework
                                    AND CAST(e.stage AS VARCHAR) = m.stage GROUP BY ALL""",
            """SELECT 'duplicate_event', framework, stage, sum(n - 1), count(DISTINCT customer_id) FROM
               (SELECT customer_id, CAST(framework AS VARCHAR) AS framework, CAST(stage AS VARCHAR) AS stage,
                       timestamp, count(*) AS n FROM events GROUP BY ALL HAVING count(*) > 1) GROUP BY ALL""",
        ]
        k_max = max(len(get_framework(f).stages) for f in frameworks)
        inv = " UNION ALL ".join(
            f"""SELECT framework, {k} AS k FROM fr WHERE t{k} < t{k - 1}""" for k in range(2, k_max + 1)
        )
        parts.append(
            f"""SELECT 'out_of_order', x.framework, m.stage, count(*), count(*)
                FROM (WITH fr AS ({self._first_reach_sql(frameworks)}) {inv}) x
                JOIN _stage_map m ON m.framework = x.framework AND m.stage_order = x.k GROUP BY ALL"""
        )
        if self.has("customers"):
            parts.append(
                """SELECT 'customer_not_in_customers', NULL, NULL, count(*), count(DISTINCT customer_id)
                   FROM events e ANTI JOIN customers c USING (customer_id) WHERE e.customer_id IS NOT NULL"""
            )
            if "signup_date" in self.columns("customers"):
                parts.append(
                    """SELECT 'event_before_signup', CAST(e.framework AS VARCHAR), NULL, count(*),
                              count(DISTINCT customer_id)
                       FROM events e JOIN customers c USING (customer_id)
                       WHERE CAST(e.timestamp AS TIMESTAMP) < CAST(c.signup_date AS TIMESTAMP) GROUP BY ALL"""
                )
        if observation_end is not None:
            end = _sql_str(pd.Timestamp(observation_end).isoformat())
            parts.append(
                f"""SELECT 'event_after_observation_end', CAST(framework AS VARCHAR), NULL, count(*),
                           count(DISTINCT customer_id) FROM events
                    WHERE CAST(timestamp AS TIMESTAMP) > CAST({end} AS TIMESTAMP) GROUP BY ALL"""
            )
        out = self.query(" UNION ALL ".join(f"({p})" for p in parts))
        out.columns = ["check", "framework", "stage", "n_rows", "n_customers"]
        out = out[out["n_rows"].fillna(0) > 0].reset_index(drop=True)
        out["n_rows"] = out["n_rows"].astype("int64")
        return out

    def n_events(self) -> int:
        """Number of rows of the events table."""
        return int(self.con.execute("SELECT count(*) FROM events").fetchone()[0])
