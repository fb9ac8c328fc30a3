"""Simulated engagement data with known ground truth.

One seeded, vectorised generator produces every table of the data contracts
(:mod:`engagement_kit.schema`): ``customers``, ``survey``, ``events``,
``outcomes`` and ``dsce``, plus a :class:`GroundTruth` holding the true
effects, loadings, transition probabilities and driver coefficients, so every
estimator in the toolkit can be checked against the answer it should find.

The structural model
--------------------
* Customer value ``v ~ N(0, 1)``; segments smb / mid_market / enterprise
  (60 / 30 / 10 %). Assignment to touch models is randomised (equal thirds by
  default) or, with ``assignment="confounded"``, depends on segment (enterprise
  customers mostly high-touch): the teaching case where naive comparisons lie.
* Five latent dimensions ``eta_d = effect[arm, d] + 0.4 v + sqrt(0.84) u_d``
  with ``u`` correlated 0.4 across dimensions, so within an arm each latent has
  variance 1 and ``effect`` is in latent-SD units.
* Likert items ``<dimension>_1..4`` from latent responses
  ``x* = lambda eta + sqrt(1 - lambda^2) e``; item 4 of every dimension is
  reverse-keyed (``-x*``); Likert 1..7 by fixed thresholds.
  ``item_scale="continuous"`` keeps ``4 + 1.5 x*`` unrounded, where the
  standardised loadings are exactly ``truth.loadings.loading`` (within arm).
  The four engagement types (``<type>_1..3``) have latents that correlate 0.6
  with a mix of their source dimensions (:data:`TYPE_SOURCES`): related, not the same.
* DSCE component latents are independent ``N(0, 1)`` plus arm and segment
  shifts; ratings 1..5 by thresholds.
* Churn: exponential hazard ``h0[segment] exp(beta_arm - .35 attention
  - .25 identification - .2 v - .30 product_adoption - .20 outcomes_at_scale)``
  over a 365-day window with administrative censoring (``retained == not
  churned``). Revenue: two-part (logit purchase, log-normal amount). Expansion
  revenue for retained customers; referrals Poisson; NPS 0..10 and CSAT 1..5
  from thresholded latents. Pre-period covariates depend on ``v`` and segment
  only. All coefficients are in ``truth.outcome_coefficients``.
* Lifecycle events: in each framework stage k is reached after stage k-1 with
  probability ``expit(logit(base_k) + tau_arm)``; the McKinsey journey adds a
  loyalty loop back to closure.

Example
-------
>>> sim = simulate(n_customers=2_000, seed=7)
>>> sorted(sim.tables())
['customers', 'dsce', 'events', 'outcomes', 'survey']
>>> sim.customers.shape[0], sim.customers["customer_id"].iloc[0]
(2000, 'C0000001')
>>> t = sim.truth.arm_effects
>>> float(t.loc[(t.metric == "interaction") & (t.arm == "high_touch"), "diff"].iloc[0])
0.5
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special  # scipy.stats (a second to import) only where used, below

from .frameworks import (
    DIMENSION_NAMES,
    DSCE_COMPONENT_NAMES,
    ENGAGEMENT_TYPE_NAMES,
    FRAMEWORK_NAMES,
    FRAMEWORKS,
    SEGMENT_NAMES,
    TOUCH_MODEL_NAMES,
)
from .schema import ITEMS_PER_DIMENSION, LIKERT_MAX, LIKERT_MIN

__all__ = ["simulate", "simulate_to", "simulate_targeting", "SimulatedData", "TargetingSimulation", "GroundTruth", "CONTROL_ARM",
           "DEFAULT_DIMENSION_EFFECTS", "TARGETING_COSTS"]

CONTROL_ARM = "no_touch"
SIGNUP_START = pd.Timestamp("2024-01-01")
OBSERVATION_END = pd.Timestamp("2025-12-31")
#: First day of the touch-model experiment; ``simulate(arrival_weeks=...)`` spreads the
#: assignment times over the weeks that follow.
EXPERIMENT_START = pd.Timestamp("2025-01-06")
WINDOW_DAYS = 365.0

SEGMENT_SHARES: dict[str, float] = {"smb": 0.6, "mid_market": 0.3, "enterprise": 0.1}
CONFOUNDED_ALLOCATION: dict[str, dict[str, float]] = {
    "smb": {"high_touch": 0.10, "low_touch": 0.30, "no_touch": 0.60},
    "mid_market": {"high_touch": 0.35, "low_touch": 0.45, "no_touch": 0.20},
    "enterprise": {"high_touch": 0.80, "low_touch": 0.15, "no_touch": 0.05},
}

#: Latent mean shift of each dimension versus no-touch, in latent-SD units.
DEFAULT_DIMENSION_EFFECTS: dict[str, dict[str, float]] = {
    "high_touch": {"enthusiasm": 0.30, "attention": 0.20, "absorption": 0.10, "interaction": 0.50, "identification": 0.25},
    "low_touch": {"enthusiasm": 0.10, "attention": 0.15, "absorption": 0.05, "interaction": 0.20, "identification": 0.10},
    "no_touch": {d: 0.0 for d in DIMENSION_NAMES},
}

#: Direct effects of the touch model on each outcome's linear predictor (vs no-touch).
DEFAULT_OUTCOME_EFFECTS: dict[str, dict[str, float]] = {
    "churn": {"high_touch": -0.15, "low_touch": -0.10},  # log hazard
    "purchase": {"high_touch": 0.15, "low_touch": 0.10},  # logit
    "amount": {"high_touch": 0.10, "low_touch": 0.05},  # log amount
    "expansion": {"high_touch": 0.30, "low_touch": 0.10},  # logit
    "referrals": {"high_touch": 0.10, "low_touch": 0.05},  # log rate
    "nps": {"high_touch": 0.10, "low_touch": 0.05},  # latent
    "csat": {"high_touch": 0.10, "low_touch": 0.05},  # latent
}

#: DSCE component latent shifts by arm and segment.
DSCE_ARM_SHIFTS: dict[str, dict[str, float]] = {
    "high_touch": {"relationships": 0.5, "communication": 0.4, "anticipation": 0.3, "journey": 0.2, "education": 0.2},
    "low_touch": {"communication": 0.2, "education": 0.3, "journey": 0.1},
    "no_touch": {},
}
DSCE_SEGMENT_SHIFTS: dict[str, dict[str, float]] = {
    "smb": {},
    "mid_market": {"customer_intent": 0.1},
    "enterprise": {"customer_intent": 0.2, "product_adoption": 0.2},
}
DSCE_THRESHOLDS = np.array([-1.2, -0.4, 0.4, 1.2])
DSCE_TARGET_BY_SEGMENT = {"smb": 4.0, "mid_market": 4.5, "enterprise": 5.0}

ITEM_LOADINGS = (0.80, 0.75, 0.70, 0.65)
TYPE_LOADINGS = (0.80, 0.70, 0.60)
# Which dimensions (and v) form each engagement type's latent, before standardising.
TYPE_SOURCES: dict[str, dict[str, float]] = {
    "cognitive": {"attention": 0.6, "absorption": 0.4},
    "emotional": {"enthusiasm": 0.6, "identification": 0.4},
    "behavioural": {"interaction": 1.0},
    "transactional": {"v": 1.0},
}
TYPE_SOURCE_WEIGHT = 0.6  # correlation of a type's latent with its source combination
LIKERT_THRESHOLDS = np.array([-1.6, -1.0, -0.4, 0.2, 0.8, 1.4])
LATENT_V_LOADING = 0.4
LATENT_CORRELATION = 0.4

# Outcome structure (coefficients on each model's link scale).
CHURN_H0 = {s: -np.log(1 - p) / WINDOW_DAYS for s, p in {"smb": 0.30, "mid_market": 0.22, "enterprise": 0.12}.items()}
CHURN_COEF = {"attention": -0.35, "identification": -0.25, "v": -0.20, "dsce:product_adoption": -0.30, "dsce:outcomes_at_scale": -0.20}
PURCHASE_INTERCEPT = {"smb": -0.5, "mid_market": -0.2, "enterprise": 0.1}
PURCHASE_COEF = {"enthusiasm": 0.30, "identification": 0.20, "v": 0.30}
AMOUNT_MU = {"smb": 4.5, "mid_market": 5.5, "enterprise": 6.5}
AMOUNT_COEF = {"v": 0.50, "interaction": 0.10}
AMOUNT_SIGMA = 1.0
EXPANSION_INTERCEPT = {"smb": -2.0, "mid_market": -1.8, "enterprise": -1.6}
EXPANSION_COEF = {"identification": 0.40, "dsce:relationships": 0.30, "dsce:anticipation": 0.20}
EXPANSION_MU = {"smb": 3.5, "mid_market": 4.5, "enterprise": 5.5}
EXPANSION_SIGMA = 0.8
REFERRAL_INTERCEPT = -1.5
REFERRAL_COEF = {"enthusiasm": 0.40, "identification": 0.20}
NPS_COEF = {"enthusiasm": 0.60, "identification": 0.30}
NPS_NOISE_SD = 0.8
# cut points on the NPS latent's SD scale; answer = number of cut points below the latent (0..10)
NPS_CUTS = np.array([-2.2, -1.8, -1.5, -1.2, -0.9, -0.6, -0.35, 0.25, 0.6, 1.1])
CSAT_COEF = {"interaction": 0.50, "absorption": 0.20}
CSAT_NOISE_SD = 0.8
CSAT_CUTS = np.array([-1.5, -0.7, 0.1, 0.9])
# Cost to serve over the 365-day window. Chosen so that the value story is non-trivial:
# high-touch pays for itself in enterprise only, low-touch in mid-market and enterprise.
COST_BY_ARM = {"high_touch": 150.0, "low_touch": 30.0, "no_touch": 5.0}
COST_SEGMENT_MULT = {"smb": 0.8, "mid_market": 1.0, "enterprise": 1.5}
COST_SIGMA = 0.25

# Journey frameworks: P(reach stage k | reached k-1) at the control arm, k >= 2.
STAGE_BASE_PROBS: dict[str, tuple[float, ...]] = {
    "aidae": (0.60, 0.50, 0.60, 0.50),
    "mckinsey_cdj": (0.70, 0.50, 0.80),
    "aarrr": (0.65, 0.55, 0.35, 0.50),
    "laer": (0.70, 0.35, 0.75),
    "five_levels": (0.70, 0.50, 0.45, 0.30),
}
STAGE_TAU = {"high_touch": 0.4, "low_touch": 0.2, "no_touch": 0.0}
LOOP_BASE_PROB = 0.25  # McKinsey loyalty loop: post_purchase -> closure
STAGE_GAP_DAYS = 10.0
STAGE_GAP_ARM_FACTOR = {"high_touch": 0.8, "low_touch": 0.9, "no_touch": 1.0}
VALUE_STAGES = {("aarrr", "revenue"): 5.0, ("laer", "expand"): 5.5, ("mckinsey_cdj", "closure"): 5.0}

MC_DRAWS = 400_000
MC_SEED = 20_240_101


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------
@dataclass
class GroundTruth:
    """What the simulation knows to be true. Every table is a tidy DataFrame.

    Attributes
    ----------
    arm_effects:
        ``metric, arm, control, mean_arm, mean_control, diff``: population average
        treatment effects versus ``control``, by Monte-Carlo integration of the
        expected potential outcomes (400,000 draws; Rao-Blackwellised, so the MC
        error is far below any estimator's SE). Metrics: retained, churned,
        revenue, expansion_revenue, referrals, csat, nps (points), promoter,
        cost_to_serve and the five latent dimensions.
    segment_arm_effects:
        the same per segment (``segment`` column first).
    dimension_effects:
        ``touch_model, dimension, effect``: latent mean shift versus control (the
        mediation a-paths, in latent-SD units).
    loadings:
        ``scale, item, loading, loading_pooled, reverse``: standardised loading of
        the latent-response item after reverse-scoring; ``loading`` holds within an
        arm, ``loading_pooled`` in the whole sample (latent variance inflated by
        the arm effects under the planned allocation).
    outcome_coefficients:
        ``outcome, term, coefficient, link``: the structural model.
    transition_probs:
        ``framework, touch_model, from_stage, to_stage, probability``.
    dsce_drivers:
        ``component, outcome, coefficient, link``: effect of each DSCE component
        latent (0 for the null components).
    costs:
        ``touch_model, mean_cost``: expected cost to serve per customer.
    latents:
        ``customer_id`` plus the five true latent dimension scores.
    """

    arm_effects: pd.DataFrame
    segment_arm_effects: pd.DataFrame
    dimension_effects: pd.DataFrame
    loadings: pd.DataFrame
    outcome_coefficients: pd.DataFrame
    transition_probs: pd.DataFrame
    dsce_drivers: pd.DataFrame
    costs: pd.DataFrame
    latents: pd.DataFrame
    config: dict = field(default_factory=dict)
    observation_end: pd.Timestamp = OBSERVATION_END
    control: str = CONTROL_ARM

    def effect(self, metric: str, arm: str, segment: str | None = None) -> float:
        """The true difference (arm minus control) of one metric."""
        t = self.arm_effects if segment is None else self.segment_arm_effects
        mask = (t["metric"] == metric) & (t["arm"] == arm)
        if segment is not None:
            mask &= t["segment"] == segment
        if not mask.any():
            raise KeyError(f"no true effect for metric={metric!r}, arm={arm!r}, segment={segment!r}")
        return float(t.loc[mask, "diff"].iloc[0])

    def to_json_dict(self) -> dict:
        out: dict = {"config": self.config, "observation_end": str(self.observation_end.date()), "control": self.control}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, pd.DataFrame) and f.name != "latents":
                out[f.name] = json.loads(value.to_json(orient="records"))
        return out


@dataclass
class SimulatedData:
    """The five contract tables and the ground truth of one simulation."""

    customers: pd.DataFrame
    survey: pd.DataFrame
    events: pd.DataFrame
    outcomes: pd.DataFrame
    dsce: pd.DataFrame
    truth: GroundTruth

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "customers": self.customers,
            "survey": self.survey,
            "events": self.events,
            "outcomes": self.outcomes,
            "dsce": self.dsce,
        }

    def write(self, out_dir: str | Path, fmt: Literal["csv", "parquet"] = "csv") -> list[Path]:
        """Write every table (``<kind>.csv`` or ``.parquet``), ``ground_truth.json``
        and ``truth_latents.csv`` into ``out_dir``; returns the paths written.

        Each file is written through a temporary file and a rename, by a columnar writer
        (:func:`write_csv`, pyarrow Parquet): a million customers take seconds, not minutes.
        """
        parts = [*self.tables().items(), ("latents", self.truth.latents), ("truth", self.truth)]
        return _write_parts(iter(parts), out_dir, fmt)[1]


def _write_parts(parts: Iterator[tuple[str, pd.DataFrame | GroundTruth]], out_dir: str | Path,
                 fmt: Literal["csv", "parquet"]) -> tuple[dict, list[Path]]:
    """Write the tables of ``parts`` (``(kind, table)``: the contract tables, ``latents``
    and, last, ``truth``) as they come; returns the parts and the paths (the contract tables
    in :class:`SimulatedData` order, ``ground_truth.json``, ``truth_latents.csv``)."""
    from concurrent.futures import ThreadPoolExecutor

    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    done: dict = {}
    # two files at a time: pyarrow (and DuckDB) format and write without the GIL, so one
    # table's writing overlaps the drawing of the next, or another table's writing, on the 2 cores
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs, latents = [], None
        for kind, part in parts:
            done[kind] = part
            if kind == "latents":
                latents = pool.submit(write_csv, part, out / "truth_latents.csv", decimals=5)
            elif kind != "truth":
                jobs.append(pool.submit(_write_table, part, out / f"{kind}.{fmt}", dates_only=kind != "events"))
        truth = done["truth"]
        truth_path = out / "ground_truth.json"
        truth_path.write_text(json.dumps(truth.to_json_dict(), indent=1))
        tables = [job.result() for job in jobs]
    order = [f.name for f in fields(SimulatedData)]
    return done, sorted(tables, key=lambda p: order.index(p.stem)) + [truth_path, latents.result()]


def write_csv(df: pd.DataFrame, path: str | Path, *, dates_only: bool = False, decimals: int | None = None,
              header: bool = True) -> Path:
    """Write ``df`` as CSV with DuckDB's parallel columnar writer (pandas' ``to_csv`` formats
    row by row in Python and took ~100 s for the million-customer event log).

    Text as is (quoted only where needed), missing values empty, booleans ``True``/``False``,
    floats in the shortest form that reads back exactly (``365.0``), timestamps
    ``YYYY-MM-DD HH:MM:SS`` (``YYYY-MM-DD`` with ``dates_only``, for date columns); with
    ``decimals``, floats with that many decimals (as pandas' ``float_format="%.5f"``).
    The bytes equal pandas' ``to_csv(index=False)`` for the simulator's tables (tested).
    ``header=False`` leaves out the column names (for files with more header rows).
    Not covered: timestamps with fractions of a second (pandas pads them to milliseconds).
    pyarrow writes the frame where its text can be made pandas' (:func:`_write_csv_arrow`),
    DuckDB's COPY the rest.

    >>> import tempfile
    >>> p = write_csv(pd.DataFrame({"id": ["a"], "x": [1.5], "d": pd.to_datetime(["2025-01-02"])}),
    ...               Path(tempfile.mkdtemp()) / "t.csv", dates_only=True)
    >>> p.read_text()
    'id,x,d\\na,1.5,2025-01-02\\n'
    """
    import duckdb  # imported here: the simulator itself needs only numpy/pandas
    import pyarrow as pa

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    if decimals is None and _write_csv_arrow(df, tmp, dates_only=dates_only, header=header):
        tmp.replace(path)
        return path
    cols = []
    for c in df.columns:
        q = '"' + str(c).replace('"', '""') + '"'
        if dates_only and pd.api.types.is_datetime64_any_dtype(df[c]):
            cols.append(f"CAST({q} AS DATE) AS {q}")
        elif decimals is not None and pd.api.types.is_float_dtype(df[c]):
            cols.append(f"printf('%.{int(decimals)}f', {q}) AS {q}")
        elif pd.api.types.is_bool_dtype(df[c]):  # as pandas writes them
            cols.append(f"CASE WHEN {q} THEN 'True' WHEN NOT {q} THEN 'False' END AS {q}")
        else:
            cols.append(q)
    con = duckdb.connect()
    try:
        # through Arrow: DuckDB scans Arrow columns in parallel without the GIL (a pandas frame's
        # string columns are read through Python objects); Arrow-backed strings are not copied
        con.register("frame", pa.Table.from_pandas(df, preserve_index=False))
        target = "'" + str(tmp).replace("'", "''") + "'"
        con.execute(f"COPY (SELECT {', '.join(cols)} FROM frame) TO {target} (FORMAT csv, HEADER {'true' if header else 'false'})")
    finally:
        con.close()
    tmp.replace(path)
    return path


_CSV_SPECIAL = (b",", b'"', b"\r", b"\n")


def _text_needs_quotes(col) -> bool:
    """True when a string column holds text pandas would quote (a comma, a quote, a line
    break). Empty strings need nothing: pandas and pyarrow both write an empty field (DuckDB
    writes ``""``, so they no longer go to the fallback). The bytes are searched in the Arrow data buffers (memchr),
    a hundred times cheaper than a regex over 12 million strings; a sliced chunk's buffer may
    hold bytes outside the slice, which can only send the frame to the DuckDB fallback."""
    for chunk in col.chunks if hasattr(col, "chunks") else [col]:
        data = chunk.buffers()[2]
        if data is not None:
            raw = data.to_pybytes()
            if any(raw.find(c) >= 0 for c in _CSV_SPECIAL):
                return True
    return False


def _decode_dictionary(col):
    """A dictionary column as its values: ``take`` per chunk (about four times cheaper than
    Arrow's cast for the event log's customer ids and stages)."""
    import pyarrow as pa

    return pa.chunked_array([chunk.dictionary.take(chunk.indices) for chunk in col.chunks],
                            type=col.type.value_type)  # fmt: skip


def _float_text(col):
    """Floats as pandas writes them: the shortest round-trip digits (Arrow's cast, like
    Python's repr) with ``.0`` after whole numbers (Arrow writes ``365``). Columns with few
    distinct values (event values, mostly 0; DSCE targets) are formatted once per distinct
    value and expanded with ``take``: the text functions cost per row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def text(values):
        t = values.cast(pa.string())
        return pc.if_else(pc.match_substring(t, "."), t, pc.binary_join_element_wise(t, ".0", ""))

    out = []
    for chunk in col.chunks:
        encoded = pc.dictionary_encode(chunk)
        if len(encoded.dictionary) * 2 <= len(chunk):
            out.append(text(encoded.dictionary).take(encoded.indices))
        else:
            out.append(text(chunk))
    return pa.chunked_array(out, type=pa.string())


#: Above this many rows :func:`_write_csv_arrow` formats the two halves of a frame at once
#: (the event log, 12 million rows for a million customers, is the command's last step).
CSV_SPLIT_ROWS = 2_000_000


def _write_csv_arrow(df: pd.DataFrame, path: Path, *, dates_only: bool, header: bool) -> bool:
    """Write ``df`` as pandas' ``to_csv`` would with pyarrow's CSV writer (about half the CPU
    of DuckDB's COPY), pre-formatting the columns whose text differs: floats (pyarrow writes
    ``365``, pandas ``365.0``), booleans (``True``), timestamps. Returns False, writing nothing,
    when a column is outside what that covers (text needing quotes, floats pandas would write
    in exponent form, timestamps with fractions of a second): the caller falls back to DuckDB.
    Frames of :data:`CSV_SPLIT_ROWS` rows or more are formatted in two halves on two threads
    (Arrow's functions run without the GIL), the first written while the second is formatted.
    """
    import csv
    import io

    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pa.Table.from_pandas(df, preserve_index=False)
    if table.num_rows >= CSV_SPLIT_ROWS:
        half = table.num_rows // 2
        second = _in_background(_pandas_text, table.slice(half), dates_only)
        parts = [_pandas_text(table.slice(0, half), dates_only), second]
    else:
        parts = [_pandas_text(table, dates_only)]
    if parts[0] is None or (len(parts) > 1 and parts[1].result() is None):
        return False
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow(df.columns)
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    with pa.OSFile(str(path), "wb") as sink:
        if header:
            sink.write(line.getvalue().encode())
        for part in parts:
            pacsv.write_csv(part if isinstance(part, pa.Table) else part.result(), sink, options)
    return True


def _pandas_text(table, dates_only: bool):
    """``table`` with every column pandas would write differently from pyarrow pre-formatted
    as text (see :func:`_write_csv_arrow`), or None when a column is outside what that covers."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for name, col in zip(table.column_names, table.columns):
        t = col.type
        if pa.types.is_dictionary(t):
            col, t = _decode_dictionary(col), t.value_type
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            if _text_needs_quotes(col):
                return None  # pandas quotes these; pyarrow would refuse or quote differently
        elif pa.types.is_floating(t):
            mag = pc.abs(col)
            if (pc.any(pc.or_(pc.greater_equal(mag, 1e15), pc.and_(pc.less(mag, 1e-4), pc.greater(mag, 0)))).as_py()
                    or pc.any(pc.is_nan(col)).as_py()):  # fmt: skip
                return None  # exponent forms and NaN text differ between Python's repr and Arrow
            col = _float_text(col)
        elif pa.types.is_boolean(t):
            col = pc.if_else(col, "True", "False")
        elif pa.types.is_timestamp(t):
            if t.tz is not None:
                return None
            if dates_only:
                col = col.cast(pa.date32())
            else:
                try:
                    col = col.cast(pa.timestamp("s"))  # safe cast: fails on fractions of a second
                except pa.ArrowInvalid:
                    return None
                col = col.cast(pa.string())  # YYYY-MM-DD HH:MM:SS, as pandas writes whole seconds
        elif not (pa.types.is_integer(t) or pa.types.is_date(t) or pa.types.is_null(t)):
            return None
        columns.append(col)
    return pa.table(columns, names=table.column_names)


def _write_table(df: pd.DataFrame, path: Path, *, dates_only: bool) -> Path:
    if path.suffix == ".csv":
        return write_csv(df, path, dates_only=dates_only)
    tmp = path.with_name(path.name + ".tmp")
    df.to_parquet(tmp, index=False)
    tmp.replace(path)
    return path


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _effects_table(
    override: Mapping[str, Mapping[str, float]] | pd.DataFrame | None,
    default: Mapping[str, Mapping[str, float]],
    keys: tuple[str, ...],
) -> dict[str, dict[str, float]]:
    """Arm -> key -> value, filling unspecified entries with 0 (override) or the default."""
    if override is None:
        src = default
    elif isinstance(override, pd.DataFrame):
        src = {}
        for row in override.itertuples(index=False):
            src.setdefault(row[0], {})[row[1]] = float(row[2])
    else:
        src = override
    unknown = set(src) - set(TOUCH_MODEL_NAMES)
    if unknown:
        raise ValueError(f"unknown touch models {sorted(unknown)}; known: {list(TOUCH_MODEL_NAMES)}")
    out = {}
    for arm in TOUCH_MODEL_NAMES:
        row = dict(src.get(arm, {}))
        bad = set(row) - set(keys)
        if bad:
            raise ValueError(f"unknown names {sorted(bad)} for {arm!r}; known: {list(keys)}")
        out[arm] = {k: float(row.get(k, 0.0)) for k in keys}
    return out


def _cut(latent: np.ndarray, cuts: np.ndarray, lowest: int) -> np.ndarray:
    """Ordinal answer: ``lowest`` plus the number of cut points below the latent."""
    return (np.searchsorted(cuts, latent, side="right") + lowest).astype(np.int16)


#: The dtype pandas gives text columns: ``str`` (Arrow-backed) from pandas 3, ``object`` before.
_TEXT_DTYPE = pd.Series(["a"]).dtype


def _text(values) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """An Arrow string array as the column pandas would make of the same text, without a
    round trip through Python strings: built once, every table shares its buffers (pandas
    converted the id array anew for each of the six tables, and CSV writing converts back)."""
    if isinstance(_TEXT_DTYPE, pd.StringDtype) and _TEXT_DTYPE.storage == "pyarrow":
        return pd.array(values, dtype=_TEXT_DTYPE)
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)


def _labels(names: tuple[str, ...], codes: np.ndarray) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """Text column of ``names[codes]``."""
    import pyarrow as pa

    return _text(pa.array(list(names), type=pa.string()).take(pa.array(codes)))


def _customer_ids(n: int) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """``C0000001`` ... (at least seven digits)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    digits = pc.utf8_lpad(pa.array(np.arange(1, n + 1)).cast(pa.string()), 7, "0")
    return _text(pc.binary_join_element_wise("C", digits, ""))


@dataclass
class _Population:
    """Customer-level draws shared by the tables and the ground-truth integration."""

    segment: np.ndarray  # int codes into SEGMENT_NAMES
    arm: np.ndarray  # int codes into TOUCH_MODEL_NAMES
    v: np.ndarray
    u: np.ndarray  # (n, 5) correlated residuals of the dimensions
    dsce_u: np.ndarray  # (n, 8) DSCE component residuals


def _draw_population(rng: np.random.Generator, n: int, allocation: np.ndarray, confounded: bool) -> _Population:
    seg_p = np.array([SEGMENT_SHARES[s] for s in SEGMENT_NAMES])
    segment = rng.choice(len(SEGMENT_NAMES), size=n, p=seg_p).astype(np.int8)
    if confounded:
        probs = np.array([[CONFOUNDED_ALLOCATION[s][a] for a in TOUCH_MODEL_NAMES] for s in SEGMENT_NAMES])
        cum = probs.cumsum(axis=1)[segment]
        arm = (rng.random(n)[:, None] > cum).sum(axis=1).astype(np.int8)
        arm = np.minimum(arm, len(TOUCH_MODEL_NAMES) - 1)
    else:
        arm = rng.choice(len(TOUCH_MODEL_NAMES), size=n, p=allocation).astype(np.int8)
    v = rng.standard_normal(n)
    k = len(DIMENSION_NAMES)
    corr = np.full((k, k), LATENT_CORRELATION)
    np.fill_diagonal(corr, 1.0)
    u = rng.standard_normal((n, k)) @ np.linalg.cholesky(corr).T
    dsce_u = rng.standard_normal((n, len(DSCE_COMPONENT_NAMES)))
    return _Population(segment, arm, v, u, dsce_u)


class _Model:
    """The structural model: linear predictors given arm, segment and latents."""

    def __init__(self, dim_effects: dict, out_effects: dict, dsce_effects: dict):
        self.dim_eff = np.array([[dim_effects[a][d] for d in DIMENSION_NAMES] for a in TOUCH_MODEL_NAMES])
        self.out_eff = {o: np.array([out_effects[a][o] for a in TOUCH_MODEL_NAMES]) for o in DEFAULT_OUTCOME_EFFECTS}
        self.dsce_arm = np.array(
            [[dsce_effects[a][c] for c in DSCE_COMPONENT_NAMES] for a in TOUCH_MODEL_NAMES]
        )
        self.dsce_seg = np.array(
            [[DSCE_SEGMENT_SHIFTS[s].get(c, 0.0) for c in DSCE_COMPONENT_NAMES] for s in SEGMENT_NAMES]
        )
        self.seg = lambda table: np.array([table[s] for s in SEGMENT_NAMES])
        self.nps_sd = float(
            np.sqrt(self._var_combo(NPS_COEF) + NPS_NOISE_SD**2)
        )
        self.csat_sd = float(np.sqrt(self._var_combo(CSAT_COEF) + CSAT_NOISE_SD**2))

    @staticmethod
    def _var_combo(coefs: Mapping[str, float]) -> float:
        # within-arm variance of a weighted sum of dimensions (unit variances, correlation 0.4 + v-sharing)
        r = LATENT_V_LOADING**2 + (1 - LATENT_V_LOADING**2) * LATENT_CORRELATION
        w = np.array([coefs.get(d, 0.0) for d in DIMENSION_NAMES])
        cov = np.full((len(w), len(w)), r)
        np.fill_diagonal(cov, 1.0)
        return float(w @ cov @ w)

    def dimensions(self, arm: np.ndarray, v: np.ndarray, u: np.ndarray) -> np.ndarray:
        return self.dim_eff[arm] + LATENT_V_LOADING * v[:, None] + np.sqrt(1 - LATENT_V_LOADING**2) * u

    def dsce_latents(self, arm: np.ndarray, segment: np.ndarray, dsce_u: np.ndarray) -> np.ndarray:
        return self.dsce_arm[arm] + self.dsce_seg[segment] + dsce_u

    @staticmethod
    def _lin(coefs: Mapping[str, float], eta: np.ndarray, v: np.ndarray, dsce: np.ndarray | None = None) -> np.ndarray:
        out = np.zeros(len(v))
        for term, c in coefs.items():
            if term == "v":
                out += c * v
            elif term.startswith("dsce:"):
                out += c * dsce[:, DSCE_COMPONENT_NAMES.index(term[5:])]
            else:
                out += c * eta[:, DIMENSION_NAMES.index(term)]
        return out

    def predictors(self, arm, segment, v, eta, dsce) -> dict[str, np.ndarray]:
        seg = lambda table: self.seg(table)[segment]  # noqa: E731
        return {
            "log_hazard": np.log(seg(CHURN_H0)) + self.out_eff["churn"][arm] + self._lin(CHURN_COEF, eta, v, dsce),
            "purchase_logit": seg(PURCHASE_INTERCEPT) + self.out_eff["purchase"][arm] + self._lin(PURCHASE_COEF, eta, v),
            "amount_mu": seg(AMOUNT_MU) + self.out_eff["amount"][arm] + self._lin(AMOUNT_COEF, eta, v),
            "expansion_logit": seg(EXPANSION_INTERCEPT)
            + self.out_eff["expansion"][arm]
            + self._lin(EXPANSION_COEF, eta, v, dsce),
            "expansion_mu": seg(EXPANSION_MU) + 0.3 * v,
            "referral_log_rate": REFERRAL_INTERCEPT + self.out_eff["referrals"][arm] + self._lin(REFERRAL_COEF, eta, v),
            "nps_mean": self.out_eff["nps"][arm] + self._lin(NPS_COEF, eta, v),
            "csat_mean": self.out_eff["csat"][arm] + self._lin(CSAT_COEF, eta, v),
            "cost_mean": np.array([COST_BY_ARM[a] for a in TOUCH_MODEL_NAMES])[arm] * seg(COST_SEGMENT_MULT),
        }

    def expected(self, arm, segment, v, eta, dsce) -> dict[str, np.ndarray]:
        """Expected value of every outcome given the latents (for the ground truth)."""
        p = self.predictors(arm, segment, v, eta, dsce)
        retained = np.exp(-np.exp(p["log_hazard"]) * WINDOW_DAYS)
        buy = special.expit(p["purchase_logit"])
        expand = special.expit(p["expansion_logit"])
        nps_cuts = NPS_CUTS * self.nps_sd
        csat_cuts = CSAT_CUTS * self.csat_sd
        # special.ndtr is what stats.norm.cdf/sf evaluate (sf(x) = ndtr(-x)), the same bits without
        # scipy's per-call argument handling, which cost a third of the ground truth's time
        p_promoter = special.ndtr(-((nps_cuts[8] - p["nps_mean"]) / NPS_NOISE_SD))
        p_detractor = special.ndtr((nps_cuts[6] - p["nps_mean"]) / NPS_NOISE_SD)
        csat = 1 + special.ndtr(-((csat_cuts[None, :] - p["csat_mean"][:, None]) / CSAT_NOISE_SD)).sum(axis=1)
        out = {
            "retained": retained,
            "churned": 1 - retained,
            "revenue": buy * np.exp(p["amount_mu"] + AMOUNT_SIGMA**2 / 2),
            "expansion_revenue": retained * expand * np.exp(p["expansion_mu"] + EXPANSION_SIGMA**2 / 2),
            "referrals": np.exp(p["referral_log_rate"]),
            "nps": 100 * (p_promoter - p_detractor),
            "promoter": p_promoter,
            "csat": csat,
            "cost_to_serve": p["cost_mean"],
        }
        for j, d in enumerate(DIMENSION_NAMES):
            out[d] = eta[:, j]
        return out


# --------------------------------------------------------------------------------------
# ground truth by Monte-Carlo integration
# --------------------------------------------------------------------------------------
def _truth_effects(model: _Model) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(MC_SEED)
    pop = _draw_population(rng, MC_DRAWS, np.full(3, 1 / 3), confounded=False)
    seg_shares = np.array([SEGMENT_SHARES[s] for s in SEGMENT_NAMES])
    # per segment x arm: average of expected outcomes over the latent draws
    means: dict[tuple[int, int], dict[str, float]] = {}
    arms = [np.full(MC_DRAWS, a, dtype=np.int8) for a in range(len(TOUCH_MODEL_NAMES))]
    etas = [model.dimensions(arm, pop.v, pop.u) for arm in arms]  # the dimensions do not depend on the segment
    for s in range(len(SEGMENT_NAMES)):
        seg = np.full(MC_DRAWS, s, dtype=np.int8)
        for a in range(len(TOUCH_MODEL_NAMES)):
            arm, eta = arms[a], etas[a]
            dsce = model.dsce_latents(arm, seg, pop.dsce_u)
            means[(s, a)] = {k: float(v.mean()) for k, v in model.expected(arm, seg, pop.v, eta, dsce).items()}
    control = TOUCH_MODEL_NAMES.index(CONTROL_ARM)
    metrics = list(means[(0, 0)])
    rows, seg_rows = [], []
    for a, arm_name in enumerate(TOUCH_MODEL_NAMES):
        if a == control:
            continue
        for m in metrics:
            ma = float(sum(seg_shares[s] * means[(s, a)][m] for s in range(3)))
            mc = float(sum(seg_shares[s] * means[(s, control)][m] for s in range(3)))
            rows.append({"metric": m, "arm": arm_name, "control": CONTROL_ARM, "mean_arm": ma, "mean_control": mc, "diff": ma - mc})
            for s, seg_name in enumerate(SEGMENT_NAMES):
                sa, sc = means[(s, a)][m], means[(s, control)][m]
                seg_rows.append(
                    {"segment": seg_name, "metric": m, "arm": arm_name, "control": CONTROL_ARM, "mean_arm": sa, "mean_control": sc, "diff": sa - sc}
                )
    effects = pd.DataFrame(rows)
    # latent dimension effects are exact, not Monte-Carlo
    for j, d in enumerate(DIMENSION_NAMES):
        for a, arm_name in enumerate(TOUCH_MODEL_NAMES):
            if a == control:
                continue
            exact = model.dim_eff[a, j] - model.dim_eff[control, j]
            for tbl in (effects,):
                mask = (tbl["metric"] == d) & (tbl["arm"] == arm_name)
                tbl.loc[mask, ["mean_arm", "mean_control", "diff"]] = [model.dim_eff[a, j], model.dim_eff[control, j], exact]
    seg_effects = pd.DataFrame(seg_rows)
    return effects, seg_effects


def _truth_tables(model: _Model, allocation: np.ndarray, dim_effects: dict, out_effects: dict, frameworks: list[str]):
    dim_tbl = pd.DataFrame(
        [
            {"touch_model": a, "dimension": d, "effect": dim_effects[a][d] - dim_effects[CONTROL_ARM][d]}
            for a in TOUCH_MODEL_NAMES
            for d in DIMENSION_NAMES
        ]
    )
    # pooled latent variance: 1 + between-arm variance of the means under the allocation
    mean_shift = model.dim_eff.T @ allocation
    between = ((model.dim_eff - mean_shift) ** 2).T @ allocation
    load_rows = []
    for j, d in enumerate(DIMENSION_NAMES):
        s = np.sqrt(1 + between[j])
        for k, lam in enumerate(ITEM_LOADINGS, start=1):
            pooled = lam * s / np.sqrt(lam**2 * s**2 + 1 - lam**2)
            load_rows.append({"scale": d, "item": f"{d}_{k}", "loading": lam, "loading_pooled": float(pooled), "reverse": k == ITEMS_PER_DIMENSION})
    for t in ENGAGEMENT_TYPE_NAMES:
        for k, lam in enumerate(TYPE_LOADINGS, start=1):
            load_rows.append({"scale": t, "item": f"{t}_{k}", "loading": lam, "loading_pooled": np.nan, "reverse": False})
    coef_rows = []

    def add(outcome, link, coefs, arm_key=None, intercepts=None):
        for term, c in coefs.items():
            coef_rows.append({"outcome": outcome, "term": term, "coefficient": c, "link": link})
        if arm_key:
            for a in TOUCH_MODEL_NAMES:
                if a != CONTROL_ARM:
                    coef_rows.append({"outcome": outcome, "term": f"touch_model[{a}]", "coefficient": out_effects[a][arm_key], "link": link})
        for s, c in (intercepts or {}).items():
            coef_rows.append({"outcome": outcome, "term": f"intercept[{s}]", "coefficient": float(c), "link": link})

    add("churn", "log_hazard_per_day", CHURN_COEF, "churn", {s: np.log(h) for s, h in CHURN_H0.items()})
    add("revenue_purchase", "logit", PURCHASE_COEF, "purchase", PURCHASE_INTERCEPT)
    add("revenue_amount", "log_mean (lognormal mu, sigma=1.0)", AMOUNT_COEF, "amount", AMOUNT_MU)
    add("expansion", "logit (among retained)", EXPANSION_COEF, "expansion", EXPANSION_INTERCEPT)
    add("referrals", "log_rate (Poisson)", REFERRAL_COEF, "referrals", {"all": REFERRAL_INTERCEPT})
    add("nps_latent", f"linear (noise sd {NPS_NOISE_SD})", NPS_COEF, "nps")
    add("csat_latent", f"linear (noise sd {CSAT_NOISE_SD})", CSAT_COEF, "csat")

    trans_rows = []
    for f in frameworks:
        stages = FRAMEWORKS[f].stage_names
        for a in TOUCH_MODEL_NAMES:
            trans_rows.append({"framework": f, "touch_model": a, "from_stage": None, "to_stage": stages[0], "probability": 1.0})
            for k, base in enumerate(STAGE_BASE_PROBS[f], start=1):
                prob = float(special.expit(special.logit(base) + STAGE_TAU[a]))
                trans_rows.append({"framework": f, "touch_model": a, "from_stage": stages[k - 1], "to_stage": stages[k], "probability": prob})
            if f == "mckinsey_cdj":
                prob = float(special.expit(special.logit(LOOP_BASE_PROB) + STAGE_TAU[a]))
                trans_rows.append({"framework": f, "touch_model": a, "from_stage": stages[-1], "to_stage": FRAMEWORKS[f].loop_to, "probability": prob})

    drivers = []
    for c in DSCE_COMPONENT_NAMES:
        drivers.append({"component": c, "outcome": "churn", "coefficient": CHURN_COEF.get(f"dsce:{c}", 0.0), "link": "log_hazard_per_day"})
        drivers.append({"component": c, "outcome": "expansion", "coefficient": EXPANSION_COEF.get(f"dsce:{c}", 0.0), "link": "logit (among retained)"})
    seg_mult = sum(SEGMENT_SHARES[s] * COST_SEGMENT_MULT[s] for s in SEGMENT_NAMES)
    costs = pd.DataFrame([{"touch_model": a, "mean_cost": COST_BY_ARM[a] * seg_mult} for a in TOUCH_MODEL_NAMES])
    return dim_tbl, pd.DataFrame(load_rows), pd.DataFrame(coef_rows), pd.DataFrame(trans_rows), pd.DataFrame(drivers), costs


# --------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------
def _likert(rng: np.random.Generator, latent: np.ndarray, loadings, item_scale: str, reverse_last: bool) -> list[np.ndarray]:
    cols = []
    n = len(latent)
    for k, lam in enumerate(loadings, start=1):
        x = lam * latent + np.sqrt(1 - lam**2) * rng.standard_normal(n)
        if reverse_last and k == len(loadings):
            x = -x
        if item_scale == "continuous":
            cols.append((LIKERT_MIN + LIKERT_MAX) / 2 + 1.5 * x)
        else:
            cols.append(_cut(x, LIKERT_THRESHOLDS, LIKERT_MIN))
    return cols


def _events(
    rng: np.random.Generator,
    arm: np.ndarray,
    signup_days: np.ndarray,
    frameworks: list[str],
) -> pd.DataFrame:
    n = len(arm)
    tau = np.array([STAGE_TAU[a] for a in TOUCH_MODEL_NAMES])[arm]
    gap_scale = STAGE_GAP_DAYS * np.array([STAGE_GAP_ARM_FACTOR[a] for a in TOUCH_MODEL_NAMES])[arm]
    horizon = (OBSERVATION_END - SIGNUP_START).days
    cust_parts, time_parts, fw_parts, stage_parts, value_parts = [], [], [], [], []
    stage_labels: list[str] = []
    stage_index: dict[tuple[str, str], int] = {}
    for f in frameworks:
        for s in FRAMEWORKS[f].stage_names:
            stage_index[(f, s)] = len(stage_labels)
            stage_labels.append(s)

    def emit(f_idx: int, f: str, stage: str, idx: np.ndarray, t: np.ndarray) -> None:
        keep = t <= horizon
        idx, t = idx[keep], t[keep]
        cust_parts.append(idx.astype(np.int32))
        time_parts.append(t)
        fw_parts.append(np.full(len(idx), f_idx, dtype=np.int8))
        stage_parts.append(np.full(len(idx), stage_index[(f, stage)], dtype=np.int16))
        mu = VALUE_STAGES.get((f, stage))
        value_parts.append(rng.lognormal(mu, 1.0, len(idx)) if mu is not None else np.zeros(len(idx)))

    for f_idx, f in enumerate(FRAMEWORK_NAMES):
        if f not in frameworks:
            continue
        stages = FRAMEWORKS[f].stage_names
        idx = np.arange(n)
        t = signup_days + rng.random(n) * 3.0
        emit(f_idx, f, stages[0], idx, t)
        for k, base in enumerate(STAGE_BASE_PROBS[f], start=1):
            p = special.expit(special.logit(base) + tau[idx])
            move = rng.random(len(idx)) < p
            idx = idx[move]
            t = t[move] + rng.exponential(1.0, len(idx)) * gap_scale[idx]
            emit(f_idx, f, stages[k], idx, t)
        if f == "mckinsey_cdj":
            # loyalty loop: after post-purchase, back to closure and post-purchase again (at most twice)
            for _ in range(2):
                p = special.expit(special.logit(LOOP_BASE_PROB) + tau[idx])
                move = rng.random(len(idx)) < p
                idx = idx[move]
                t = t[move] + rng.exponential(1.0, len(idx)) * gap_scale[idx]
                emit(f_idx, f, "closure", idx, t)
                t = t + rng.exponential(1.0, len(idx)) * gap_scale[idx]
                emit(f_idx, f, "post_purchase", idx, t)
    if not cust_parts:  # no frameworks: an empty events table with the contract's columns
        return pd.DataFrame(
            {
                "_cust": np.array([], dtype=np.int32),
                "timestamp": pd.Series([], dtype="datetime64[us]"),
                "framework": pd.Categorical([], categories=list(FRAMEWORK_NAMES)),
                "stage": pd.Categorical([], categories=[]),
                "value": np.array([], dtype=float),
            }
        )
    cust = np.concatenate(cust_parts)
    # rounded in place (np.round with out: the same operations, no 100 MB temporaries: fresh
    # memory is what costs here); the frame takes the arrays as they are (copy=False)
    days = np.concatenate(time_parts)
    days *= 86400
    seconds = np.round(days, out=days).astype("int64")
    values = np.concatenate(value_parts)
    return pd.DataFrame(
        {
            "_cust": cust,
            "timestamp": SIGNUP_START + pd.to_timedelta(seconds, unit="s"),
            "framework": pd.Categorical.from_codes(np.concatenate(fw_parts), categories=list(FRAMEWORK_NAMES)),
            "stage": pd.Categorical.from_codes(np.concatenate(stage_parts), categories=pd.Index(stage_labels).unique())
            if len(set(stage_labels)) == len(stage_labels)
            else pd.Categorical(np.array(stage_labels, dtype=object)[np.concatenate(stage_parts)]),
            "value": np.round(values, 2, out=values),
        },
        copy=False,
    )


def simulate(
    n_customers: int = 20_000,
    seed: int = 0,
    assignment: Literal["randomised", "confounded"] = "randomised",
    allocation: Mapping[str, float] | None = None,
    dimension_effects: Mapping[str, Mapping[str, float]] | pd.DataFrame | None = None,
    outcome_effects: Mapping[str, Mapping[str, float]] | None = None,
    dsce_effects: Mapping[str, Mapping[str, float]] | None = None,
    item_scale: Literal["likert", "continuous"] = "likert",
    survey_response_rate: float = 1.0,
    item_missing_rate: float = 0.0,
    frameworks: list[str] | None = None,
    include_types: bool = True,
    truth: bool = True,
    arrival_weeks: float | None = None,
) -> SimulatedData:
    """Simulate every contract table with known ground truth.

    Parameters
    ----------
    n_customers, seed:
        size and seed; the same arguments always give the same tables.
    assignment:
        ``"randomised"`` (by ``allocation``) or ``"confounded"`` (by segment).
    allocation:
        arm -> share for randomised assignment (default equal thirds).
    dimension_effects:
        arm -> dimension -> latent shift; unspecified entries are 0, so
        ``{}`` gives a null simulation of the dimensions.
    outcome_effects:
        arm -> outcome -> direct effect (outcomes: churn, purchase, amount,
        expansion, referrals, nps, csat); unspecified entries are 0.
    dsce_effects:
        arm -> DSCE component -> latent shift (default :data:`DSCE_ARM_SHIFTS`);
        pass ``{}`` with the two above for a simulation where the touch model
        affects nothing.
    item_scale:
        ``"likert"`` (1..7) or ``"continuous"`` (unrounded latent responses).
    survey_response_rate:
        share of customers in the survey table (a seeded random subset).
    item_missing_rate:
        share of item answers set missing at random.
    frameworks:
        which journey frameworks produce events (default: all).
    include_types:
        add the four engagement types' items (``<type>_1..3``).
    truth:
        compute the Monte-Carlo ground truth (about 1 s); False skips it.
    arrival_weeks:
        spread the customers' assignment to a touch model uniformly over this many weeks
        from :data:`EXPERIMENT_START` and add it as the ``assigned_at`` timestamp of
        ``customers`` (a monitored experiment: customers arrive over weeks). Drawn from
        its own seeded stream, so every other column is the same with or without it;
        None (default) adds no column.
    """
    return SimulatedData(**_without_latents(_simulate_parts(
        n_customers, seed, assignment, allocation, dimension_effects, outcome_effects, dsce_effects, item_scale,
        survey_response_rate, item_missing_rate, frameworks, include_types, truth, arrival_weeks)))


def simulate_to(out_dir: str | Path, *, fmt: Literal["csv", "parquet"] = "csv",
                **options) -> tuple[SimulatedData, list[Path]]:
    """``simulate(**options).write(out_dir, fmt=fmt)``, with each table written while the
    next is drawn (what ``engagement-kit simulate`` runs: on two cores the writing of the
    customer-level tables hides behind the drawing of the event log). The same files, byte
    for byte; returns the simulation and the paths written.

    >>> import tempfile
    >>> sim, paths = simulate_to(tempfile.mkdtemp(), n_customers=500, seed=2, truth=False)
    >>> [p.name for p in paths][:3], len(sim.events) > 0
    (['customers.csv', 'survey.csv', 'events.csv'], True)
    """
    import inspect
    import itertools

    bound = inspect.signature(simulate).bind(**options)  # a TypeError names an unknown option
    bound.apply_defaults()
    parts = _simulate_parts(**bound.arguments)
    first = next(parts)  # bad options raise here, before anything is written
    done, paths = _write_parts(itertools.chain([first], parts), out_dir, fmt)
    return SimulatedData(**_without_latents(done.items())), paths


def _without_latents(parts) -> dict:
    """The parts as :class:`SimulatedData` fields (the latents are ``truth.latents``)."""
    return {kind: part for kind, part in parts if kind != "latents"}


def _in_background(fn, *args):
    """``fn(*args)`` in a thread of its own; returns the future."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(fn, *args)
    finally:
        pool.shutdown(wait=False)  # the thread ends when fn returns


def _simulate_parts(n_customers, seed, assignment, allocation, dimension_effects, outcome_effects, dsce_effects,
                    item_scale, survey_response_rate, item_missing_rate, frameworks, include_types, truth,
                    arrival_weeks) -> Iterator[tuple[str, pd.DataFrame | GroundTruth]]:
    """:func:`simulate`, yielding ``(kind, table)`` as each table is complete (then
    ``("truth", GroundTruth)``), so that :func:`simulate_to` writes a table while the next
    is drawn. The draws are those of :func:`simulate`, in the same order."""
    if n_customers < 1:
        raise ValueError("n_customers must be at least 1")
    if assignment not in ("randomised", "confounded"):
        raise ValueError(f"assignment must be 'randomised' or 'confounded', not {assignment!r}")
    if item_scale not in ("likert", "continuous"):
        raise ValueError(f"item_scale must be 'likert' or 'continuous', not {item_scale!r}")
    if arrival_weeks is not None and not (np.isfinite(arrival_weeks) and arrival_weeks > 0):
        raise ValueError(f"arrival_weeks must be a positive number of weeks or None; got {arrival_weeks!r}")
    if not 0 < survey_response_rate <= 1:
        raise ValueError("survey_response_rate must be in (0, 1]")
    frameworks = list(frameworks) if frameworks is not None else list(FRAMEWORK_NAMES)
    unknown = [f for f in frameworks if f not in FRAMEWORKS]
    if unknown:
        raise ValueError(f"unknown frameworks {unknown}; known: {list(FRAMEWORK_NAMES)}")
    alloc = allocation or {a: 1 / len(TOUCH_MODEL_NAMES) for a in TOUCH_MODEL_NAMES}
    bad = set(alloc) - set(TOUCH_MODEL_NAMES)
    if bad:
        raise ValueError(f"unknown arms in allocation: {sorted(bad)}")
    alloc_vec = np.array([float(alloc.get(a, 0.0)) for a in TOUCH_MODEL_NAMES])
    if alloc_vec.min() < 0 or not np.isclose(alloc_vec.sum(), 1.0):
        raise ValueError("allocation shares must be non-negative and sum to 1")

    dim_effects = _effects_table(dimension_effects, DEFAULT_DIMENSION_EFFECTS, DIMENSION_NAMES)
    if outcome_effects is None:
        out_effects = {a: {o: DEFAULT_OUTCOME_EFFECTS[o].get(a, 0.0) for o in DEFAULT_OUTCOME_EFFECTS} for a in TOUCH_MODEL_NAMES}
    else:
        out_effects = _effects_table(outcome_effects, {}, tuple(DEFAULT_OUTCOME_EFFECTS))
    dsce_eff = _effects_table(dsce_effects, DSCE_ARM_SHIFTS, DSCE_COMPONENT_NAMES)
    model = _Model(dim_effects, out_effects, dsce_eff)
    # the Monte-Carlo truth draws from its own stream (MC_SEED): computed beside the tables
    truth_job = _in_background(_truth_effects, model) if truth else None

    rng = np.random.default_rng(seed)
    n = n_customers
    pop = _draw_population(rng, n, alloc_vec, confounded=assignment == "confounded")
    ids = _customer_ids(n)
    arm_labels = _labels(TOUCH_MODEL_NAMES, pop.arm)
    seg_labels = _labels(SEGMENT_NAMES, pop.segment)
    eta = model.dimensions(pop.arm, pop.v, pop.u)
    dsce_lat = model.dsce_latents(pop.arm, pop.segment, pop.dsce_u)
    pred = model.predictors(pop.arm, pop.segment, pop.v, eta, dsce_lat)

    # customers -------------------------------------------------------------------
    signup_days = rng.integers(0, 366, n).astype(float)
    prior_buy = rng.random(n) < special.expit(0.5 + 0.5 * pop.v)
    prior_revenue = prior_buy * rng.lognormal(model.seg(AMOUNT_MU)[pop.segment] + 0.5 * pop.v, 0.8)
    prior_activity = rng.poisson(np.exp(1.5 + 0.4 * pop.v + 0.2 * pop.segment))
    cost = pred["cost_mean"] * rng.lognormal(-(COST_SIGMA**2) / 2, COST_SIGMA, n)
    customers = pd.DataFrame(
        {
            "customer_id": ids.copy(),  # a frame of its own (cheap: Arrow buffers are shared)
            "segment": seg_labels,
            "touch_model": arm_labels,
            "signup_date": SIGNUP_START + pd.to_timedelta(signup_days, unit="D"),
            "prior_revenue": np.round(prior_revenue, 2),
            "prior_activity": prior_activity.astype(np.int64),
            "cost_to_serve": np.round(cost, 2),
        },
        copy=False,  # fresh arrays: no stacking copy of a million rows per column
    )

    if arrival_weeks is not None:
        # its own stream (seed, 1): the main stream, so every other table, is unchanged
        arrival_s = np.random.default_rng([seed, 1]).uniform(0.0, arrival_weeks * 7 * 86_400, n)
        customers["assigned_at"] = EXPERIMENT_START + pd.to_timedelta(np.round(arrival_s), unit="s")
    yield "customers", customers
    latents = pd.DataFrame({"customer_id": ids, **{d: eta[:, j] for j, d in enumerate(DIMENSION_NAMES)}})
    yield "latents", latents

    # outcomes --------------------------------------------------------------------
    churn_t = rng.exponential(1.0, n) / np.exp(pred["log_hazard"])
    churned = churn_t < WINDOW_DAYS
    buy = rng.random(n) < special.expit(pred["purchase_logit"])
    revenue = buy * rng.lognormal(pred["amount_mu"], AMOUNT_SIGMA)
    expand = (~churned) & (rng.random(n) < special.expit(pred["expansion_logit"]))
    expansion = expand * rng.lognormal(pred["expansion_mu"], EXPANSION_SIGMA)
    referrals = rng.poisson(np.exp(pred["referral_log_rate"]))
    outcomes = pd.DataFrame(
        {
            "customer_id": ids.copy(),
            "retained": ~churned,
            "churn_time": np.round(np.minimum(churn_t, WINDOW_DAYS), 3),
            "churned": churned,
            "revenue": np.round(revenue, 2),
            "expansion_revenue": np.round(expansion, 2),
            "referrals": referrals.astype(np.int64),
        },
        copy=False,  # fresh arrays: no stacking copy of a million rows per column
    )
    yield "outcomes", outcomes

    # survey ----------------------------------------------------------------------
    nps_answer = _cut(pred["nps_mean"] + NPS_NOISE_SD * rng.standard_normal(n), NPS_CUTS * model.nps_sd, 0)
    csat_answer = _cut(pred["csat_mean"] + CSAT_NOISE_SD * rng.standard_normal(n), CSAT_CUTS * model.csat_sd, 1)
    survey_cols: dict[str, np.ndarray] = {"customer_id": ids.copy()}
    for j, d in enumerate(DIMENSION_NAMES):
        for k, col in enumerate(_likert(rng, eta[:, j], ITEM_LOADINGS, item_scale, reverse_last=True), start=1):
            survey_cols[f"{d}_{k}"] = col
    if include_types:
        for t_name in ENGAGEMENT_TYPE_NAMES:
            src = TYPE_SOURCES[t_name]
            lat = sum(w * (pop.v if s == "v" else eta[:, DIMENSION_NAMES.index(s)]) for s, w in src.items())
            lat = (lat - lat.mean()) / lat.std()
            # a type is related to, not the same as, the dimensions it draws on
            lat = TYPE_SOURCE_WEIGHT * lat + np.sqrt(1 - TYPE_SOURCE_WEIGHT**2) * rng.standard_normal(n)
            for k, col in enumerate(_likert(rng, lat, TYPE_LOADINGS, item_scale, reverse_last=False), start=1):
                survey_cols[f"{t_name}_{k}"] = col
    survey_cols["nps"] = nps_answer
    survey_cols["csat"] = csat_answer
    survey_cols["survey_date"] = SIGNUP_START + pd.to_timedelta(signup_days + rng.integers(60, 121, n), unit="D")
    survey = pd.DataFrame(survey_cols, copy=False)
    if item_missing_rate > 0:
        item_cols = [c for c in survey.columns if c not in ("customer_id", "nps", "csat", "survey_date")]
        mask = rng.random((n, len(item_cols))) < item_missing_rate
        block = survey[item_cols].astype(float).mask(mask)
        survey[item_cols] = block.astype("Int16") if item_scale == "likert" else block
    if survey_response_rate < 1:
        survey = survey.loc[rng.random(n) < survey_response_rate].reset_index(drop=True)
    yield "survey", survey

    # dsce ------------------------------------------------------------------------
    dsce_cols: dict[str, np.ndarray] = {"customer_id": ids.copy()}
    for j, c in enumerate(DSCE_COMPONENT_NAMES):
        dsce_cols[c] = _cut(dsce_lat[:, j], DSCE_THRESHOLDS, 1)
    targets = np.array([DSCE_TARGET_BY_SEGMENT[s] for s in SEGMENT_NAMES])[pop.segment]
    for c in DSCE_COMPONENT_NAMES:
        dsce_cols[f"target_{c}"] = targets.copy()  # a column of its own: the frame takes it as it is
    dsce = pd.DataFrame(dsce_cols, copy=False)
    yield "dsce", dsce

    # events ----------------------------------------------------------------------
    ev = _events(rng, pop.arm, signup_days, frameworks)
    events = pd.DataFrame(
        {
            "customer_id": pd.Categorical.from_codes(ev["_cust"].to_numpy(), categories=ids),
            "timestamp": ev["timestamp"],
            "framework": ev["framework"],
            "stage": ev["stage"],
            "value": ev["value"],
        },
        copy=False,
    )
    yield "events", events

    # ground truth ----------------------------------------------------------------
    config = {
        "n_customers": n,
        "seed": seed,
        "assignment": assignment,
        "allocation": dict(zip(TOUCH_MODEL_NAMES, alloc_vec.tolist())),
        "dimension_effects": dim_effects,
        "outcome_effects": out_effects,
        "dsce_effects": dsce_eff,
        "item_scale": item_scale,
        "survey_response_rate": survey_response_rate,
        "item_missing_rate": item_missing_rate,
        "frameworks": frameworks,
        "include_types": include_types,
    }
    if arrival_weeks is not None:  # only when set, so that default ground truth files are unchanged
        config["arrival_weeks"] = arrival_weeks
    if truth:
        arm_eff, seg_eff = truth_job.result()
    else:
        arm_eff = seg_eff = pd.DataFrame(columns=["metric", "arm", "control", "mean_arm", "mean_control", "diff"])
    dim_tbl, loadings, coefs, trans, drivers, costs = _truth_tables(model, alloc_vec, dim_effects, out_effects, frameworks)
    gt = GroundTruth(
        arm_effects=arm_eff,
        segment_arm_effects=seg_eff,
        dimension_effects=dim_tbl,
        loadings=loadings,
        outcome_coefficients=coefs,
        transition_probs=trans,
        dsce_drivers=drivers,
        costs=costs,
        latents=latents,
        config=config,
    )
    yield "truth", gt



# --------------------------------------------------------------------------------------
# targeting: customer-level heterogeneous effects (opt-in; ``simulate`` is unchanged)
# --------------------------------------------------------------------------------------
#: Cost to serve per customer of each touch model in :func:`simulate_targeting`.
TARGETING_COSTS: dict[str, float] = {"high_touch": 150.0, "low_touch": 30.0, "no_touch": 5.0}
TARGETING_REVENUE_THRESHOLD = 500.0  # prior revenue above which high-touch pays more
TARGETING_ACTIVITY_THRESHOLD = 6  # prior activity from which low-touch pays more
_T_LOG_REVENUE = {"smb": 5.0, "mid_market": 5.8, "enterprise": 6.6}  # mean log prior revenue
_T_LOG_SD = 0.8
_T_ACTIVITY = {"smb": 4.0, "mid_market": 6.0, "enterprise": 8.0}  # Poisson mean of prior activity
_T_BASE_SEGMENT = {"smb": 0.0, "mid_market": 50.0, "enterprise": 150.0}
_T_GAMMA_SHAPE = 2.0  # revenue ~ Gamma(shape, mean / shape): sd = mean / sqrt(2)
REGION_NAMES = ("north", "south", "east", "west")


def _targeting_cells() -> pd.DataFrame:
    """Every (segment, revenue above threshold, activity above threshold) cell with its
    probability and the true revenue effect of each touch model in it (the effects depend on
    the features only through these cells)."""
    from scipy import stats

    rows = []
    for s, p_s in SEGMENT_SHARES.items():
        p_rev = 1 - stats.norm.cdf((np.log(TARGETING_REVENUE_THRESHOLD) - _T_LOG_REVENUE[s]) / _T_LOG_SD)
        p_act = stats.poisson.sf(TARGETING_ACTIVITY_THRESHOLD - 1, _T_ACTIVITY[s])
        for hr in (0, 1):
            for ha in (0, 1):
                p = p_s * (p_rev if hr else 1 - p_rev) * (p_act if ha else 1 - p_act)
                high = 20.0 + 130.0 * (s == "enterprise") + 130.0 * hr
                low = 10.0 + 60.0 * ha + 20.0 * (s == "mid_market")
                rows.append({"segment": s, "revenue_high": hr, "activity_high": ha, "probability": p,
                             "high_touch": high, "low_touch": low, "no_touch": 0.0})
    return pd.DataFrame(rows)


@dataclass
class TargetingSimulation:
    """One simulated targeting experiment: ``customers`` (one row per customer: the
    pre-period features ``segment, region, prior_revenue, prior_activity, tenure_months``
    (+ ``noise_1..k``), the randomised ``touch_model``, the outcome ``revenue``, the
    ``cost_to_serve`` of the arm received, and each customer's true expected revenue under
    every arm, ``true_revenue_<arm>``) and ``truth``: ``costs``, ``heterogeneity``,
    ``blanket_values`` (arm -> true value per customer, revenue - cost, of giving everyone
    that arm), ``oracle_value`` (the value of the best arm for every customer), ``oracle_gain``
    (over the best blanket policy), ``best_blanket`` and ``effects`` (arm -> population average
    revenue effect against no-touch)."""

    customers: pd.DataFrame
    truth: dict


def simulate_targeting(
    n_customers: int = 20_000,
    seed: int = 0,
    *,
    heterogeneity: Literal["features", "none"] = "features",
    allocation: Mapping[str, float] | None = None,
    n_noise_features: int = 0,
) -> TargetingSimulation:
    """A randomised touch-model experiment whose revenue effects vary by customer.

    ``heterogeneity="features"``: high-touch adds 20 + 130 (enterprise) + 130 (prior revenue
    above 500) to the expected revenue, low-touch 10 + 60 (prior activity of 6 or more) + 20
    (mid-market); with the costs :data:`TARGETING_COSTS` high-touch pays only for enterprise
    customers with a high prior revenue, low-touch only for active or mid-market ones. ``"none"``: every customer gets the population average of those
    effects (the null where targeting cannot beat the best blanket policy). The expected
    revenue without touch is ``100 + 0.3 prior_revenue + 5 prior_activity`` plus a segment
    shift; revenue is Gamma distributed around it (shape 2). ``region``, ``tenure_months`` and
    the ``noise_*`` columns have no effect. All truths are exact (closed form over the cells of
    :func:`_targeting_cells`), not Monte-Carlo.

    >>> sim = simulate_targeting(1_000, seed=1)
    >>> sim.truth["best_blanket"], round(sim.truth["oracle_gain"], 1)
    ('low_touch', 14.3)
    """
    if heterogeneity not in ("features", "none"):
        raise ValueError(f"heterogeneity must be 'features' or 'none', not {heterogeneity!r}")
    arms = list(TOUCH_MODEL_NAMES)
    alloc = np.array([float((allocation or {a: 1 / 3 for a in arms}).get(a, 0.0)) for a in arms])
    if alloc.min() < 0 or not np.isclose(alloc.sum(), 1.0):
        raise ValueError("allocation shares must be non-negative and sum to 1")
    cells = _targeting_cells()
    average = {a: float((cells["probability"] * cells[a]).sum()) for a in arms}
    rng = np.random.default_rng([seed, 20_261_201])
    n = int(n_customers)
    seg = rng.choice(len(SEGMENT_NAMES), n, p=[SEGMENT_SHARES[s] for s in SEGMENT_NAMES])
    seg_names = np.array(SEGMENT_NAMES, dtype=object)
    prior_revenue = np.exp(np.array([_T_LOG_REVENUE[s] for s in SEGMENT_NAMES])[seg] + _T_LOG_SD * rng.standard_normal(n))
    activity = rng.poisson(np.array([_T_ACTIVITY[s] for s in SEGMENT_NAMES])[seg])
    region = rng.integers(0, len(REGION_NAMES), n)
    tenure = rng.integers(1, 61, n)
    arm = rng.choice(len(arms), n, p=alloc)
    base = 100.0 + 0.3 * prior_revenue + 5.0 * activity + np.array([_T_BASE_SEGMENT[s] for s in SEGMENT_NAMES])[seg]
    ent, mid = seg == SEGMENT_NAMES.index("enterprise"), seg == SEGMENT_NAMES.index("mid_market")
    hr, ha = prior_revenue > TARGETING_REVENUE_THRESHOLD, activity >= TARGETING_ACTIVITY_THRESHOLD
    effect = {"high_touch": 20.0 + 130.0 * ent + 130.0 * hr, "low_touch": 10.0 + 60.0 * ha + 20.0 * mid,
              "no_touch": np.zeros(n)}
    if heterogeneity == "none":
        effect = {a: np.full(n, average[a]) for a in arms}
    mean = np.column_stack([base + effect[a] for a in arms])
    chosen = mean[np.arange(n), arm]
    revenue = rng.gamma(_T_GAMMA_SHAPE, chosen / _T_GAMMA_SHAPE)
    cost = np.array([TARGETING_COSTS[a] for a in arms])
    customers = pd.DataFrame({
        "customer_id": _customer_ids(n), "segment": seg_names[seg],
        "region": np.array(REGION_NAMES, dtype=object)[region], "prior_revenue": np.round(prior_revenue, 2),
        "prior_activity": activity.astype(np.int64), "tenure_months": tenure.astype(np.int64),
    })
    for j in range(n_noise_features):
        customers[f"noise_{j + 1}"] = rng.standard_normal(n)
    customers["touch_model"] = np.array(arms, dtype=object)[arm]
    customers["revenue"] = revenue
    customers["cost_to_serve"] = cost[arm]
    for j, a in enumerate(arms):
        customers[f"true_revenue_{a}"] = mean[:, j]

    # exact truths: E[base] in closed form; the effects are constant on the cells
    e_base = 100.0 + sum(SEGMENT_SHARES[s] * (0.3 * np.exp(_T_LOG_REVENUE[s] + _T_LOG_SD**2 / 2) + 5.0 * _T_ACTIVITY[s]
                                              + _T_BASE_SEGMENT[s]) for s in SEGMENT_NAMES)
    if heterogeneity == "none":
        cells = cells.assign(**{a: average[a] for a in arms})
    net = np.column_stack([cells[a] - TARGETING_COSTS[a] for a in arms])
    blanket = {a: float(e_base + (cells["probability"] * net[:, j]).sum()) for j, a in enumerate(arms)}
    oracle = float(e_base + (cells["probability"] * net.max(axis=1)).sum())
    best = max(blanket, key=blanket.get)
    truth = {"costs": dict(TARGETING_COSTS), "heterogeneity": heterogeneity, "blanket_values": blanket,
             "oracle_value": oracle, "best_blanket": best, "oracle_gain": oracle - blanket[best],
             "effects": {a: average[a] for a in arms if a != CONTROL_ARM}, "expected_base": float(e_base)}
    return TargetingSimulation(customers=customers, truth=truth)
