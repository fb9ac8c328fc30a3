"""Build the customer-level experiment table from the demo tables (or read one file).

``load_experiment_table("data/demo")`` joins ``customers.csv`` with ``outcomes.csv``
(and, if present, the ``nps``/``csat`` answers of ``survey.csv``; customers without an
answer get NaN and are left out of those metrics only) on ``customer_id``. A path to a
single CSV/Parquet file (e.g. the Hillstrom e-mail experiment) is read as it is.
The tables of a folder are the toolkit's own (customers, outcomes, survey), so they are
checked against their data contracts first (:mod:`engagement_kit.validation`).
Paths are resolved with :func:`engagement_kit.io.resolve_path` (repo root or cwd).

Example
-------
>>> import tempfile
>>> from engagement_kit.simulate import simulate
>>> d = tempfile.mkdtemp()
>>> _ = simulate(n_customers=50, seed=1, truth=False, frameworks=[]).write(d)
>>> t = load_experiment_table(d)
>>> len(t), {"touch_model", "revenue", "nps"} <= set(t.columns)
(50, True)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..io import read_table, resolve_path

__all__ = ["load_experiment_table"]


def _read(path: Path, kind: str | None = None) -> pd.DataFrame:
    # a table of the toolkit's own kinds is checked against its contract; any other
    # customer-level file (e.g. the Hillstrom experiment) is read as it is
    return read_table(path, kind, validate=kind is not None)


def load_experiment_table(
    data_path: str | Path, customers: str = "customers.csv", outcomes: str = "outcomes.csv",
    survey: str | None = "survey.csv",
) -> pd.DataFrame:
    """One row per customer: a folder of demo tables joined on ``customer_id``, or one file."""
    path = resolve_path(data_path)
    if not path.exists():
        raise FileNotFoundError(
            f"{data_path}: no such file or folder (looked at {path}); create the demo data with "
            f"`make demo` or point data_path at a customer-level CSV"
        )
    if path.is_file():
        return _read(path)
    cust, out = path / customers, path / outcomes
    for p in (cust, out):
        if not p.exists():
            raise FileNotFoundError(f"{p} is missing: a demo folder needs {customers} and {outcomes}")
    table = _read(cust, "customers")
    o = _read(out, "outcomes")
    dup = o["customer_id"].duplicated()
    if dup.any():
        raise ValueError(f"{out}: {int(dup.sum())} duplicated customer_id values; outcomes must be one row per customer")
    n = len(table)
    table = table.merge(o, on="customer_id", how="inner", validate="one_to_one")
    if len(table) != n:
        raise ValueError(f"{n - len(table)} customers have no outcomes row in {out}")
    if survey and (path / survey).exists():
        s = _read(path / survey, "survey")
        keep = [c for c in ("nps", "csat") if c in s.columns]
        if keep:
            s = s.drop_duplicates("customer_id", keep="last")[["customer_id"] + keep]
            table = table.merge(s, on="customer_id", how="left", validate="one_to_one")
    return table
