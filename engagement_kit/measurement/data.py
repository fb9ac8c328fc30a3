"""Loading a survey for the measurement analysis.

:func:`load_survey_table` reads either one table (a CSV / parquet file holding items and
outcomes) or a data folder laid out like ``data/demo`` (``survey.csv``, ``outcomes.csv``,
``customers.csv``), joining the three on ``customer_id`` (inner join on the survey's
respondents; outcomes and customer columns are added where present). It adds
``promoter`` (NPS >= 9, the advocacy outcome) when an ``nps`` column exists.

Example
-------
>>> from engagement_kit.simulate import simulate
>>> import tempfile
>>> with tempfile.TemporaryDirectory() as d:
...     _ = simulate(n_customers=300, seed=3, frameworks=["aarrr"]).write(d)
...     df = load_survey_table(d)
>>> {"enthusiasm_1", "retained", "touch_model", "promoter"} <= set(df.columns)
True
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..io import read_table, resolve_path

__all__ = ["load_survey_table", "add_promoter"]


def add_promoter(data: pd.DataFrame, nps_col: str = "nps") -> pd.DataFrame:
    """``promoter`` = 1.0 when NPS >= 9, 0.0 otherwise, NaN when NPS is missing."""
    out = data.copy()
    if nps_col in out.columns:
        nps = pd.to_numeric(out[nps_col], errors="raise")
        out["promoter"] = (nps >= 9).astype(float).where(nps.notna())
    return out


def _read(path: Path, kind: str | None = None) -> pd.DataFrame:
    # the toolkit's own tables are checked against their contracts; other files are read as they are
    return read_table(path, kind, validate=kind is not None)


def load_survey_table(data_path: str | Path, id_col: str = "customer_id") -> pd.DataFrame:
    """One analysis table: the survey joined to outcomes and customers (see module docstring)."""
    path = resolve_path(data_path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist; generate the demo data with "
            "`engagement-kit simulate --customers 20000 --seed 20261123 --out data/demo` or give a survey file"
        )
    if path.is_file():
        return add_promoter(_read(path))
    survey_file = path / "survey.csv"
    if not survey_file.exists():
        raise FileNotFoundError(f"folder {path} has no survey.csv")
    df = _read(survey_file, "survey")
    for name in ("outcomes", "customers"):
        f = path / f"{name}.csv"
        if f.exists():
            other = _read(f, name)
            if id_col not in other.columns or id_col not in df.columns:
                raise KeyError(f"{f} or survey.csv lacks the join key {id_col!r}")
            extra = [c for c in other.columns if c not in df.columns or c == id_col]
            df = df.merge(other[extra], on=id_col, how="left", validate="one_to_one")
    return add_promoter(df)
