"""The query layer: every relational aggregation of the journeys package, as Ibis expressions.

All relational work of :mod:`engagement_kit.journeys` lives here. Each method builds an
Ibis expression over the registered tables, which runs inside the engine that holds the
rows (embedded DuckDB for pandas frames, files and DuckDB relations; Spark for a PySpark
DataFrame or catalog table; any Ibis backend for an Ibis table) and returns a *small*
pandas frame (counts per arm and stage, per transition, per cohort and period); the
statistics then run on those aggregates in pandas/statsmodels. Only aggregates leave the
engine (:meth:`Engine.stage_durations` returns the distinct durations with their counts;
:meth:`Engine.customer_table` is the one per-customer read, refused above
:data:`MAX_REMOTE_ROWS` rows on a remote engine).

Tables (registered with :meth:`Engine.register`, read through
:func:`engagement_kit.engines.as_table`):

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

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from ibis.common.exceptions import IbisError

from ..engines import as_table, duckdb_connection, is_remote
from ..frameworks import FRAMEWORKS, get_framework

__all__ = ["ALL_ARM", "MAX_REMOTE_ROWS", "Engine", "Source"]

#: Arm label used when there is no customers table (or no arm column).
ALL_ARM = "all"
#: Largest per-customer table :meth:`Engine.customer_table` pulls out of a remote engine
#: (Spark, a warehouse); the survival models need individual times.
MAX_REMOTE_ROWS = 5_000_000

#: A table: pandas frame, Ibis table, DuckDB relation, PySpark DataFrame, or path(s) to
#: Parquet/CSV files, a folder, a glob or a ``.duckdb`` file (with ``table=``).
Source = Any

_REQUIRED = {
    "events": ("customer_id", "timestamp", "framework", "stage"),
    "customers": ("customer_id",),
    "outcomes": ("customer_id",),
}
_US_PER_DAY = 86_400_000_000.0


def _backend(t: ir.Table) -> Any:
    """The backend an expression is bound to, or None for in-memory (memtable) data only."""
    try:
        return t._find_backend(use_default=False)
    except IbisError:
        return None


def _text(col: ir.Value) -> ir.StringValue:
    return col.cast("string")


class Engine:
    """The registered tables (Ibis tables, each in the engine that holds its rows) plus the
    journeys aggregations.

    Parameters
    ----------
    threads, memory_limit:
        Settings of the process's embedded DuckDB (``memory_limit`` like ``"3GB"``;
        DuckDB spills to disk beyond it), which reads pandas frames and files.
        ``None`` keeps DuckDB's defaults.
    """

    def __init__(self, threads: int | None = None, memory_limit: str | None = None) -> None:
        if threads or memory_limit:
            con = duckdb_connection().con
            if threads:
                con.execute(f"SET threads = {int(threads)}")
            if memory_limit:
                con.execute("SET memory_limit = '" + str(memory_limit).replace("'", "''") + "'")
        self._t: dict[str, ir.Table] = {}

    # ------------------------------------------------------------------ sources
    def register(self, name: str, source: Source, *, table: str | None = None) -> None:
        """Make ``source`` available as table ``name`` (nothing is read until a query runs).

        ``source`` is a pandas frame, an Ibis table, a DuckDB relation, a PySpark
        DataFrame, a SparkSession with ``table=``, or path(s): Parquet/CSV file(s), a
        folder, a glob, or a ``.duckdb`` file with ``table=``.
        """
        if isinstance(source, (list, tuple)):
            paths = [str(p) for p in source]
            if not paths:
                raise ValueError(f"table {name!r}: no files given")
            suffixes = {Path(p).suffix.lower() for p in paths}
            con = duckdb_connection()
            if suffixes <= {".parquet", ".pq"}:
                t = con.read_parquet(paths)
            elif suffixes <= {".csv", ".gz", ".txt"}:
                t = con.read_csv(paths)
            else:
                raise ValueError(f"table {name!r}: cannot tell the format of {paths}; use .csv or .parquet files "
                                 "or pass a pandas DataFrame")  # fmt: skip
        else:
            t = as_table(source, table=table)
        cols = list(t.columns)
        missing = [c for c in _REQUIRED.get(name, ()) if c not in cols]
        if missing:
            raise KeyError(f"table {name!r} lacks required column(s) {missing}; it has {cols}")
        new = _backend(t)
        for other, ot in self._t.items():
            old = _backend(ot)
            if other != name and new is not None and old is not None and new != old:
                raise ValueError(
                    f"table {name!r} lives in one {new.name} connection and {other!r} in another "
                    f"({old.name}): put both in one engine (e.g. both as Spark tables, or both in one "
                    "DuckDB file), or pass the smaller one as a pandas DataFrame")
        self._t[name] = t

    def has(self, name: str) -> bool:
        """Whether table ``name`` was registered."""
        return name in self._t

    def table(self, name: str) -> ir.Table:
        """The Ibis table registered as ``name``."""
        return self._t[name]

    def columns(self, name: str) -> list[str]:
        """Column names of a registered table."""
        return list(self._t[name].columns)

    def _run(self, expr: ir.Expr) -> pd.DataFrame:
        """Execute in the engine holding the rows (embedded DuckDB for in-memory data)."""
        backend = _backend(expr.as_table()) if isinstance(expr, ir.Table) else None
        return (backend or duckdb_connection()).to_pandas(expr)

    def _scalar(self, expr: ir.Scalar) -> Any:
        backend = None
        for t in self._t.values():
            backend = backend or _backend(t)
        return (backend or duckdb_connection()).execute(expr)

    def is_remote(self) -> bool:
        """Whether any table lives in a remote engine (Spark, a warehouse)."""
        return any(is_remote(t) for t in self._t.values())

    # ------------------------------------------------------------------ helpers
    def _arm_table(self, arm_col: str | None) -> ir.Table | None:
        """customers as (customer_id, arm) for by-arm results; None for one arm, 'all'."""
        if arm_col is None or not self.has("customers"):
            return None
        c = self._t["customers"]
        if arm_col not in c.columns:
            raise KeyError(f"arm column {arm_col!r} not in the customers table; columns are {list(c.columns)}")
        return c.select("customer_id", arm=_text(c[arm_col]))

    def _with_arm(self, t: ir.Table, arm_col: str | None) -> ir.Table:
        """``t`` with an ``arm`` column (inner join with customers, or the literal 'all')."""
        arms = self._arm_table(arm_col)
        if arms is None:
            return t.mutate(arm=ibis.literal(ALL_ARM))
        return t.join(arms, "customer_id")

    @staticmethod
    def _stage_order(fw: ir.StringValue, st: ir.StringValue, frameworks: Sequence[str]) -> ir.IntegerValue:
        """Stage order from (framework, stage); NULL for an unknown stage.

        A CASE over the (dictionary-encoded) stage column is much cheaper than a join
        with a stage table on 10^8 rows.
        """
        branches = [(f, st.cases(*[(s.name, s.order) for s in get_framework(f).stages])) for f in frameworks]
        return fw.cases(*branches).cast("int64")

    def _stage_events(self, frameworks: Sequence[str]) -> ir.Table:
        """The usable events: known stage, non-missing timestamp and customer id.

        Columns: customer_id, fw_code (index into ``frameworks``), framework, stage,
        stage_order, ts.
        """
        frameworks = [get_framework(f).name for f in frameworks]
        e = self._t["events"]
        fw, st = _text(e.framework), _text(e.stage)
        ev = e.filter(fw.isin(frameworks), e.timestamp.notnull(), e.customer_id.notnull()).select(
            customer_id=e.customer_id,
            fw_code=fw.cases(*[(f, i) for i, f in enumerate(frameworks)]).cast("int64"),
            framework=fw,
            stage=st,
            stage_order=self._stage_order(fw, st, frameworks),
            ts=e.timestamp.cast("timestamp"),
        )
        return ev.filter(ev.stage_order.notnull())

    def _first_reach(self, frameworks: Sequence[str]) -> tuple[ir.Table, int]:
        """Per (framework, customer): first arrival ``t_k`` at each stage, any-order flags
        ``a_k`` and ordered flags ``o_k`` (stages 1..k all reached, first arrivals in
        non-decreasing time order). Returns the table and the largest number of stages."""
        frameworks = [get_framework(f).name for f in frameworks]
        k_max = max(len(get_framework(f).stages) for f in frameworks)
        ev = self._stage_events(frameworks)
        # min(CASE ...) is faster than min(...) FILTER (...) in DuckDB for many groups
        firsts = {f"t{k}": ibis.cases((ev.stage_order == k, ev.ts)).min() for k in range(1, k_max + 1)}
        # one integer group key per framework (grouping on the framework string is slower)
        keys = ["customer_id"] if len(frameworks) == 1 else ["fw_code", "customer_id"]
        fr = ev.group_by(keys).aggregate(**firsts)
        if len(frameworks) == 1:
            fw_name: ir.Value = ibis.literal(frameworks[0])
        else:
            fw_name = fr.fw_code.cases(*[(i, f) for i, f in enumerate(frameworks)])
        cols: dict[str, ir.Value] = {"framework": fw_name, "customer_id": fr.customer_id}
        cols.update({f"t{k}": fr[f"t{k}"] for k in range(1, k_max + 1)})
        cols.update({f"a{k}": fr[f"t{k}"].notnull() for k in range(1, k_max + 1)})
        cond = fr.t1.notnull()
        cols["o1"] = cond
        for k in range(2, k_max + 1):
            cond = cond & (fr[f"t{k}"] >= fr[f"t{k - 1}"]).fill_null(False)
            cols[f"o{k}"] = cond
        return fr.select(**cols), k_max

    # --------------------------------------------------------------- aggregates
    def funnel_counts(self, frameworks: Sequence[str], arm_col: str | None = None) -> pd.DataFrame:
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
        fr, k_max = self._first_reach(frameworks)
        f = self._with_arm(fr, arm_col)
        sums: dict[str, ir.Value] = {"n_entered": f.count()}
        for k in range(1, k_max + 1):
            a, prev = f[f"a{k}"], (f[f"a{k - 1}"] & f[f"a{k}"]) if k > 1 else f[f"a{k}"]
            sums[f"n_any_{k}"] = a.cast("int64").sum()
            sums[f"n_ordered_{k}"] = f[f"o{k}"].cast("int64").sum()
            sums[f"n_any_prev_{k}"] = prev.cast("int64").sum()
        wide = self._run(f.group_by("framework", "arm").aggregate(**sums))
        arms = self._arm_table(arm_col)
        if arms is not None:
            n_arm = self._run(arms.group_by("arm").aggregate(n_arm=arms.count()))
            grid = pd.DataFrame({"framework": frameworks}).merge(n_arm, how="cross")
            wide = grid.merge(wide, on=["framework", "arm"], how="left").fillna(0)
        else:
            wide["n_arm"] = wide["n_entered"]
        rows = []
        for fw in frameworks:
            n = len(get_framework(fw).stages)
            sub = wide[wide["framework"] == fw]
            for k in range(1, n + 1):
                rows.append(pd.DataFrame({
                    "framework": fw, "arm": sub["arm"].to_numpy(), "stage_order": k,
                    "n_arm": sub["n_arm"].to_numpy(), "n_any": sub[f"n_any_{k}"].to_numpy(),
                    "n_ordered": sub[f"n_ordered_{k}"].to_numpy(), "n_any_prev": sub[f"n_any_prev_{k}"].to_numpy(),
                }))  # fmt: skip
        out = pd.concat(rows, ignore_index=True)
        for c in ("n_arm", "n_any", "n_ordered", "n_any_prev"):
            out[c] = out[c].astype("int64")
        return out.sort_values(["framework", "arm", "stage_order"], ignore_index=True)

    def _observation_end(self, observation_end: Any) -> pd.Timestamp:
        if observation_end is None:
            e = self._t["events"]
            return pd.Timestamp(self._scalar(e.timestamp.cast("timestamp").max()))
        return pd.Timestamp(observation_end)

    def stage_durations(self, framework: str, arm_col: str | None = None, observation_end: Any = None) -> pd.DataFrame:
        """Time from (ordered) arrival at stage k-1 to arrival at stage k, per customer.

        One row per customer and stage k >= 2 among those who reached k-1 in
        order: arm, stage_order (k), duration_days, event (1 = reached k in order;
        0 = censored at ``observation_end``, default the latest event timestamp).
        No customer ids are returned, and only the distinct (arm, stage, duration,
        event) rows with their counts leave the engine (expanded here).
        """
        fw = get_framework(framework)
        end = ibis.literal(self._observation_end(observation_end).to_pydatetime(), type="timestamp")
        fr, _ = self._first_reach([fw.name])
        f = self._with_arm(fr, arm_col)
        parts = []
        for k in range(2, len(fw.stages) + 1):
            reached = f[f"o{k}"]
            stop = reached.ifelse(f[f"t{k}"], end)
            sub = f.filter(f[f"o{k - 1}"]).select(
                arm=f.arm, stage_order=ibis.literal(k, type="int64"),
                us=stop.delta(f[f"t{k - 1}"], unit="microsecond").cast("int64"),
                event=reached.cast("int64"))  # fmt: skip
            parts.append(sub)
        if not parts:
            return pd.DataFrame({"arm": [], "stage_order": [], "duration_days": [], "event": []})
        u = ibis.union(*parts)
        g = self._run(u.group_by("arm", "stage_order", "us", "event").aggregate(n=u.count()))
        g = g.sort_values(["stage_order", "arm", "us", "event"], ignore_index=True)
        rep = np.repeat(np.arange(len(g)), g["n"].to_numpy(dtype="int64"))
        out = g.iloc[rep].reset_index(drop=True)
        return pd.DataFrame({
            "arm": out["arm"].astype(str).to_numpy(), "stage_order": out["stage_order"].astype("int32").to_numpy(),
            "duration_days": out["us"].to_numpy(dtype="float64") / _US_PER_DAY,
            "event": out["event"].astype("int32").to_numpy(),
        })  # fmt: skip

    def _distinct_events(self, framework: str) -> ir.Table:
        return self._stage_events([framework]).select("customer_id", "stage", "stage_order", "ts").distinct()

    def transition_counts(self, framework: str, arm_col: str | None = None) -> pd.DataFrame:
        """Stage-to-stage transitions between consecutive (distinct) events of a customer.

        Events are ordered by timestamp, then stage order. Each customer adds one
        ``(entry) -> first stage`` and one ``last stage -> (exit)`` transition.
        Returns arm, from_stage, to_stage, from_order, to_order (0 for entry,
        n_stages + 1 for exit), n (transitions), n_customers (customers making it at least once),
        n_from_customers (customers with any transition out of from_stage, i.e. who reached it).
        """
        fw = get_framework(framework)
        ev = self._distinct_events(fw.name)
        win = ibis.window(group_by=ev.customer_id, order_by=[ev.ts, ev.stage_order])
        w = ev.select("customer_id", "stage", "stage_order", prev_stage=ev.stage.lag().over(win),
                      next_stage=ev.stage.lead().over(win), next_order=ev.stage_order.lead().over(win))  # fmt: skip
        moves = w.select(customer_id=w.customer_id, from_stage=w.stage, to_stage=w.next_stage.fill_null("(exit)"),
                         from_order=w.stage_order.cast("int64"),
                         to_order=w.next_order.fill_null(len(fw.stages) + 1).cast("int64"))  # fmt: skip
        first = w.filter(w.prev_stage.isnull())
        entries = first.select(customer_id=first.customer_id, from_stage=ibis.literal("(entry)"),
                               to_stage=first.stage, from_order=ibis.literal(0, type="int64"),
                               to_order=first.stage_order.cast("int64"))  # fmt: skip
        ta = self._with_arm(ibis.union(moves, entries), arm_col)
        keys = ["arm", "from_stage", "to_stage", "from_order", "to_order"]
        fc = ta.group_by("arm", "from_stage").aggregate(n_from_customers=ta.customer_id.nunique())
        main = ta.group_by(keys).aggregate(n=ta.count(), n_customers=ta.customer_id.nunique())
        out = self._run(main.join(fc, ["arm", "from_stage"]).select(*keys, "n", "n_customers", "n_from_customers"))
        for c in ("from_order", "to_order", "n", "n_customers", "n_from_customers"):
            out[c] = out[c].astype("int64")
        return out.sort_values(["arm", "from_order", "to_order"], ignore_index=True)

    def path_counts(self, framework: str, arm_col: str | None = None, top: int = 10) -> pd.DataFrame:
        """The ``top`` most frequent stage sequences per arm (consecutive repeats kept).

        Returns arm, path (stages joined by ``' > '``), n_customers, rank.
        """
        fw = get_framework(framework)
        ev = self._distinct_events(fw.name)
        # an ordered string_agg is not portable (Spark); a sorted array of (ts, order, stage) is
        step = ibis.struct({"ts": ev.ts, "o": ev.stage_order, "s": ev.stage})
        p = ev.group_by("customer_id").aggregate(path=step.collect().sort().map(lambda x: x.s).join(" > "))
        pa = self._with_arm(p, arm_col)
        c = pa.group_by("arm", "path").aggregate(n_customers=pa.count())
        win = ibis.window(group_by=c.arm, order_by=[c.n_customers.desc(), c.path])
        r = c.mutate(rank=(ibis.row_number().over(win) + 1).cast("int64"))
        out = self._run(r.filter(r["rank"] <= int(top)))
        out["n_customers"] = out["n_customers"].astype("int64")
        return out[["arm", "path", "n_customers", "rank"]].sort_values(["arm", "rank"], ignore_index=True)

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

        ``cohort`` is the signup date truncated to ``cohort_period``. For period p
        (p = 0..n_periods) at t = p * period_days after signup: n_eligible =
        customers observed up to t (churned, or followed at least t); n_retained =
        still a customer at t (churn_time > t, or censored with churn_time >= t).
        """
        o, c = self._t["outcomes"], self._t["customers"]
        arms = self._arm_table(arm_col)
        cust = c.select("customer_id", signup=c.signup_date.cast("timestamp"))
        cust = cust.join(arms, "customer_id") if arms is not None else cust.mutate(arm=ibis.literal(ALL_ARM))
        x = o.select("customer_id", dur=o[duration].cast("float64"), ev=o[event].cast("boolean")).join(
            cust, "customer_id")
        x = x.mutate(cohort=x.signup.truncate(cohort_period).cast("date"))
        sums: dict[str, ir.Value] = {}
        ts = [p * float(period_days) for p in range(int(n_periods) + 1)]
        for p, t in enumerate(ts):  # one pass: a column per period instead of a cross join
            elig = (x.ev | (x.dur >= t)).fill_null(False)
            kept = ((x.dur > t) | (~x.ev & (x.dur >= t))).fill_null(False)
            sums[f"e{p}"] = elig.cast("int64").sum()
            sums[f"r{p}"] = kept.cast("int64").sum()
        wide = self._run(x.group_by("arm", "cohort").aggregate(**sums))
        rows = [pd.DataFrame({"arm": wide["arm"].to_numpy(), "cohort": pd.to_datetime(wide["cohort"]).to_numpy(),
                              "period": p, "days": t, "n_eligible": wide[f"e{p}"].to_numpy(dtype="int64"),
                              "n_retained": wide[f"r{p}"].to_numpy(dtype="int64")})
                for p, t in enumerate(ts)]  # fmt: skip
        return pd.concat(rows, ignore_index=True).sort_values(["arm", "cohort", "period"], ignore_index=True)

    def customer_table(self, columns: Sequence[str], arm_col: str | None = None) -> pd.DataFrame:
        """``outcomes`` joined to ``customers`` (inner join), selected columns only, no ids.

        The per-customer input of the survival models and KPIs (one row per
        customer; survival estimators need the individual times). On a remote engine
        it is refused above :data:`MAX_REMOTE_ROWS` rows rather than pulling them.
        """
        o = self._t["outcomes"]
        c = self._t.get("customers")
        have = set(o.columns) | (set(c.columns) if c is not None else set())
        missing = [col for col in columns if col not in have]
        if missing:
            raise KeyError(f"column(s) {missing} are in neither outcomes nor customers; available: {sorted(have)}")
        arms = self._arm_table(arm_col)
        own = [col for col in columns if col in o.columns]
        x = o.select("customer_id", *own)
        other = [col for col in columns if col not in own]
        if other:  # a customers column (with or without arms)
            x = x.join(c.select("customer_id", *other), "customer_id")
        x = x.join(arms, "customer_id") if arms is not None else x.mutate(arm=ibis.literal(ALL_ARM))
        x = x.select("arm", *columns)
        if self.is_remote():
            n = int(self._scalar(x.count()))
            if n > MAX_REMOTE_ROWS:
                raise ValueError(f"the survival models need one row per customer: {n:,} rows exceed the "
                                 f"{MAX_REMOTE_ROWS:,} pulled from a remote engine; sample the customers "
                                 "table in the engine first (e.g. customers.sample(0.01))")  # fmt: skip
        return self._run(x)

    def levels(self, table: str, column: str) -> list[str]:
        """The distinct non-missing values of ``table.column`` as text, sorted."""
        t = self._t[table]
        v = self._run(t.filter(t[column].notnull()).select(v=_text(t[column])).distinct())["v"]
        return sorted(str(x) for x in v)

    def quality_counts(self, frameworks: Sequence[str] | None = None, observation_end: Any = None) -> pd.DataFrame:
        """Data-quality counts of the events table (and its link to customers).

        Returns check, framework, stage, n_rows, n_customers. Checks:
        ``missing_customer_id``, ``missing_timestamp``, ``unknown_framework``,
        ``unknown_stage``, ``duplicate_event`` (rows beyond the first of an exact
        duplicate), ``out_of_order`` (customers whose first arrival at a stage is
        earlier than their first arrival at the previous stage; n_rows = n_customers),
        ``customer_not_in_customers``, ``event_before_signup``, ``event_after_observation_end``.
        """
        frameworks = [get_framework(f).name for f in (frameworks or list(FRAMEWORKS))]
        e = self._t["events"]
        e = e.mutate(_fw=_text(e.framework), _st=_text(e.stage))
        known = list(FRAMEWORKS)
        parts: list[pd.DataFrame] = []

        def add(check: str, t: ir.Table, by: Sequence[str], customers: bool = True) -> None:
            aggs: dict[str, ir.Value] = {"n_rows": t.count()}
            if customers:
                aggs["n_customers"] = t.customer_id.nunique()
            got = self._run(t.group_by(list(by)).aggregate(**aggs) if by else t.aggregate(**aggs))
            got = got.rename(columns={"_fw": "framework", "_st": "stage"})
            parts.append(got.assign(check=check))

        add("missing_customer_id", e.filter(e.customer_id.isnull()), [], customers=False)
        add("missing_timestamp", e.filter(e.timestamp.isnull()), ["_fw", "_st"])
        add("unknown_framework", e.filter(e._fw.isnull() | e._fw.notin(known)), ["_fw"])
        order = self._stage_order(e._fw, e._st, known)
        add("unknown_stage", e.filter(e._fw.isin(known), order.isnull()), ["_fw", "_st"])
        d = e.group_by("customer_id", "_fw", "_st", "timestamp").aggregate(n=e.count())
        d = d.filter(d.n > 1)
        dup = self._run(d.group_by("_fw", "_st").aggregate(n_rows=(d.n - 1).sum(), n_customers=d.customer_id.nunique()))
        parts.append(dup.rename(columns={"_fw": "framework", "_st": "stage"}).assign(check="duplicate_event"))
        fr, k_max = self._first_reach(frameworks)
        inv = {f"k{k}": (fr[f"t{k}"] < fr[f"t{k - 1}"]).fill_null(False).cast("int64").sum()
               for k in range(2, k_max + 1)}  # fmt: skip
        if inv:
            w = self._run(fr.group_by("framework").aggregate(**inv))
            for _, r in w.iterrows():
                fw = get_framework(r["framework"])
                for k in range(2, len(fw.stages) + 1):
                    n = int(r[f"k{k}"])
                    parts.append(pd.DataFrame({"check": ["out_of_order"], "framework": fw.name,
                                               "stage": fw.stage_names[k - 1], "n_rows": n, "n_customers": n}))
        if self.has("customers"):
            c = self._t["customers"]
            ids = c.select("customer_id")
            add("customer_not_in_customers", e.filter(e.customer_id.notnull()).anti_join(ids, "customer_id"), [])
            if "signup_date" in c.columns:
                j = e.join(c.select("customer_id", _signup=c.signup_date.cast("timestamp")), "customer_id")
                add("event_before_signup", j.filter(j.timestamp.cast("timestamp") < j._signup), ["_fw"])
        if observation_end is not None:
            end = ibis.literal(pd.Timestamp(observation_end).to_pydatetime(), type="timestamp")
            add("event_after_observation_end", e.filter(e.timestamp.cast("timestamp") > end), ["_fw"])
        cols = ["check", "framework", "stage", "n_rows", "n_customers"]
        out = pd.concat([p.reindex(columns=cols) for p in parts if len(p)], ignore_index=True)
        out = out[out["n_rows"].fillna(0) > 0].reset_index(drop=True)
        out["n_rows"] = out["n_rows"].astype("int64")
        out["n_customers"] = out["n_customers"].astype("Int64")
        for col in ("check", "framework", "stage"):
            out[col] = out[col].astype("str")
        return out

    def n_events(self) -> int:
        """Number of rows of the events table."""
        return int(self._scalar(self._t["events"].count()))
