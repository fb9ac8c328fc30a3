"""Build the customer-level experiment table from the demo tables (or read one file).

``load_experiment_table("data/demo")`` joins ``customers.csv`` with ``outcomes.csv``
(and, if present, the ``nps``/``csat`` answers of ``survey.csv``; customers without an
answer get NaN and are left out of those metrics only) on ``customer_id``. A path to a
single CSV/Parquet file (e.g. the Hillstrom e-mail experiment) is read as it is.
Paths are resolved with :func:`engagement_kit.io.resolve_path` (repo root or cwd).

Example
-------
>>> import pandas as pd, tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> pd.DataFrame({"customer_id": ["C1"], "touch_model": ["no_touch"]}).to_csv(d / "customers.csv", index=False)
>>> pd.DataFrame({"customer_id": ["C1"], "revenue": [1.0]}).to_csv(d / "outcomes.csv", index=False)
>>> list(load_experiment_table(d).columns)
['customer_id', 'touch_model', 'revenue']
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..io import resolve_path

__all__ = ["load_experiment_table"]


def _read(path: Path) -> pd.DataFrame:
    if path.suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    return pd.read_csv(path)


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
    table = _read(cust)
    o = _read(out)
    dup = o["customer_id"].duplicated()
    if dup.any():
        raise ValueError(f"{out}: {int(dup.sum())} duplicated customer_id values; outcomes must be one row per customer")
    n = len(table)
    table = table.merge(o, on="customer_id", how="inner", validate="one_to_one")
    if len(table) != n:
        raise ValueError(f"{n - len(table)} customers have no outcomes row in {out}")
    if survey and (path / survey).exists():
        s = _read(path / survey)
        keep = [c for c in ("nps", "csat") if c in s.columns]
        if keep:
            s = s.drop_duplicates("customer_id", keep="last")[["customer_id"] + keep]
            table = table.merge(s, on="customer_id", how="left", validate="one_to_one")
    return table
