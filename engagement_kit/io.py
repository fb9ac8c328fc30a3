"""Reading tables and finding files.

:func:`read_table` reads CSV, Parquet and Excel files with ids as text and checks
them against their contract (:mod:`engagement_kit.validation`); a file that cannot
be read at all is reported the same way, as a :class:`~engagement_kit.validation.ValidationError`.
:func:`load_analysis_table` builds the one-row-per-customer (or per-respondent)
table the experiment and measurement analyses read, from a data folder or one file.

Example
-------
>>> resolve_path("data/demo/customers.csv").name
'customers.csv'
>>> fp = file_fingerprint("data/real/telco_churn/telco_churn.csv")
>>> fp["rows"], fp["bytes"]
(7043, 970457)
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from . import engines
from .codebook import Codebook, read_codebook
from .schema import CONTRACTS
from .survey_files import SurveyMetadata, is_survey_file, read_survey, survey_metadata
from .validation import Problem, ValidationError, check, check_finite

__all__ = [
    "DERIVED_COLUMNS",
    "project_root",
    "resolve_path",
    "read_table",
    "load_analysis_table",
    "load_data",
    "add_promoter",
    "file_fingerprint",
    "read_survey",
    "read_codebook",
    "survey_metadata",
    "SurveyMetadata",
    "Codebook",
]

_COMPRESSION = {".gz", ".bz2", ".zip", ".xz", ".zst"}
_CSV = {".csv", ".txt", ".tsv"}
_PARQUET = {".parquet", ".pq"}
_EXCEL = {".xlsx", ".xlsm"}


def project_root(start: Path | None = None) -> Path:
    """The repository root: the nearest folder above ``start`` (default: cwd) holding
    ``pyproject.toml`` and ``engagement_kit/``; the cwd if there is none."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "engagement_kit").is_dir():
            return folder
    return here


def resolve_path(path: str | Path) -> Path:
    """Resolve a data path written relative to the repository root.

    Absolute paths and paths that exist relative to the cwd are returned as they
    are; otherwise the path is taken relative to :func:`project_root`, so a
    notebook finds ``data/demo/customers.csv`` whether it runs from the repo root
    or from ``notebooks/``.
    """
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    return project_root() / p


def _file_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION:
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in _CSV:
        return "csv"
    if last in _PARQUET:
        return "parquet"
    if last in _EXCEL:
        return "excel"
    return last or "(none)"


def _unreadable(table: str, source: str, message: str, fix: str, rows: tuple[int, ...] = ()) -> ValidationError:
    problem = Problem(table, None, rows, message, fix, "unreadable", len(rows))
    return ValidationError([problem], source=source)


def _read_raw(
    path: str | Path, kind: str | None, *, sep: str | None = None, sheet: str | int | None = None
) -> pd.DataFrame:
    """The file as a DataFrame with id columns as text; unreadable files raise ValidationError."""
    p = resolve_path(path)
    table = kind or p.name
    source = str(path)
    if not p.is_file():
        raise _unreadable(
            table,
            source,
            f"file not found: {p}",
            "check the path (relative paths are taken from the cwd, then from the repository root)",
        )
    ids = [c.name for c in CONTRACTS[kind].columns if c.kind == "id"] if kind in CONTRACTS else ["customer_id"]
    fmt = _file_format(p)
    if fmt == "csv":
        delimiter = sep or ("\t" if ".tsv" in [s.lower() for s in p.suffixes] else ",")
        try:
            df = pd.read_csv(p, sep=delimiter, dtype={c: "str" for c in ids}, encoding="utf-8-sig")
        except UnicodeDecodeError as err:
            raise _unreadable(
                table,
                source,
                f"the file is not UTF-8 text (byte {err.object[err.start:err.start + 1]!r} at "
                f"position {err.start}); it may be in another encoding, or not a CSV file at all",
                "save it as UTF-8 (Excel: 'CSV UTF-8 (comma delimited)'); an Excel or Parquet file "
                "needs its own extension (.xlsx, .parquet)",
            ) from None
        except pd.errors.EmptyDataError:
            raise _unreadable(
                table, source, "the file is empty (not even a header row)", "export the table again"
            ) from None
        except pd.errors.ParserError as err:
            m = re.search(r"line (\d+), saw (\d+)", str(err))
            rows = (int(m.group(1)) - 1,) if m else ()
            detail = str(err).split("C error: ")[-1].strip()
            raise _unreadable(
                table,
                source,
                f"the file is not a valid CSV table ({detail})",
                "every line needs as many fields as the header: quote values that contain the "
                f"separator {delimiter!r}, or remove the stray separators",
                rows,
            ) from None
        if df.shape[1] == 1 and sep is None:
            header = str(df.columns[0])
            for other in (";", "\t", "|"):
                if other in header:
                    raise _unreadable(
                        table,
                        source,
                        f"only one column was read, and its header contains {other!r}: the file "
                        f"uses {other!r} as the separator",
                        f"save the file with ',' as the separator, or pass sep={other!r} (command line: --sep '{other}')",
                    )
    elif fmt == "parquet":
        try:
            df = pd.read_parquet(p)
        except Exception as err:  # pyarrow raises several types for a corrupt file
            raise _unreadable(
                table,
                source,
                f"the file is not a readable Parquet file ({type(err).__name__}: {err})",
                "write it again with pandas.DataFrame.to_parquet, or save it as CSV",
            ) from None
    elif fmt == "excel":
        df = _read_excel(p, table, source, sheet, ids)
    else:
        raise _unreadable(
            table,
            source,
            f"unknown file type {fmt!r}",
            "save the table as CSV (.csv), Parquet (.parquet) or Excel (.xlsx)",
        )
    for c in ids:
        if c in df.columns and not (df[c].dtype == object or isinstance(df[c].dtype, pd.StringDtype)):
            df[c] = df[c].astype("str")
    return df


def _read_excel(p: Path, table: str, source: str, sheet: str | int | None, ids: list[str]) -> pd.DataFrame:
    """One sheet of a workbook. With several sheets the sheet must be chosen: silently
    taking the first one analyses whatever tab happened to be saved first."""
    try:
        with pd.ExcelFile(p, engine="openpyxl") as book:
            names = [str(n) for n in book.sheet_names]
            listed = ", ".join(repr(n) for n in names)
            if sheet is None and len(names) > 1:
                raise _unreadable(
                    table,
                    source,
                    f"the workbook has {len(names)} sheets ({listed}) and none was chosen",
                    f"choose the sheet that holds the table: sheet={names[0]!r} (read_table(..., sheet=...); "
                    f"command line: --sheet {names[0]!r}), or save that sheet alone as .xlsx or CSV",
                )
            if isinstance(sheet, str) and sheet not in names and sheet.isdigit():
                sheet = int(sheet)  # '--sheet 1' on the command line: the second sheet
            if isinstance(sheet, str) and sheet not in names:
                raise _unreadable(
                    table,
                    source,
                    f"the workbook has no sheet {sheet!r}; its sheets are {listed}",
                    "pass one of those names as sheet= (command line: --sheet NAME), spelt exactly",
                )
            if isinstance(sheet, int) and not -len(names) <= sheet < len(names):
                raise _unreadable(
                    table,
                    source,
                    f"the workbook has {len(names)} sheet(s) ({listed}); there is no sheet number {sheet}",
                    "pass a sheet name, or a number from 0 (the first sheet)",
                )
            chosen = 0 if sheet is None else sheet
            return pd.read_excel(book, sheet_name=chosen, dtype={c: "str" for c in ids})
    except (zipfile.BadZipFile, ValueError, KeyError, OSError) as err:
        if isinstance(err, ValidationError):
            raise
        raise _unreadable(
            table,
            source,
            f"the file is not a readable .xlsx workbook ({type(err).__name__}: {err})",
            "open it in Excel and save it as .xlsx (or as CSV UTF-8)",
        ) from None


def read_table(
    path: str | Path,
    kind: str | None = None,
    validate: bool = True,
    *,
    sep: str | None = None,
    sheet: str | int | None = None,
    **validate_options: Any,
) -> pd.DataFrame:
    """Read a CSV, Parquet or Excel table, ids as text, checked against its contract.

    With ``kind`` (customers, survey, events, outcomes, dsce) and ``validate=True``
    the table is checked and coerced by :func:`engagement_kit.validation.check`
    (``validate_options``: arms, likert_range, dsce_range, today, max_rows); every
    problem, an unreadable file included, raises one ``ValidationError``.
    ``sheet`` chooses the sheet of an Excel workbook (name, or number from 0); a
    workbook with several sheets needs it, and the error lists the sheet names.

    Example
    -------
    >>> hill = read_table("data/real/hillstrom/hillstrom.csv")
    >>> hill.shape
    (64000, 12)
    """
    df = _read_raw(path, kind, sep=sep, sheet=sheet)
    if kind is None or not validate:
        return df
    try:
        return check(df, kind, **validate_options)
    except ValidationError as err:
        raise ValidationError(err.problems, source=f"{path} ({kind})") from None


#: Columns :func:`load_analysis_table` adds to what it reads: derived column -> its source.
#: The report batch counts them as present when it checks column parameters.
DERIVED_COLUMNS: dict[str, str] = {"promoter": "nps"}


def add_promoter(data: pd.DataFrame, nps_col: str = "nps") -> pd.DataFrame:
    """A copy with ``promoter`` = 1.0 when NPS >= 9, 0.0 otherwise, NaN when NPS is missing.

    Promoters (NPS 9-10) are the advocacy outcome of the measurement analysis; a table
    without an ``nps_col`` column is returned unchanged (as a copy).

    Example
    -------
    >>> add_promoter(pd.DataFrame({"nps": [10, 8, None]}))["promoter"].tolist()
    [1.0, 0.0, nan]
    """
    out = data.copy()
    if nps_col in out.columns:
        nps = pd.to_numeric(out[nps_col], errors="raise")
        out["promoter"] = (nps >= 9).astype(float).where(nps.notna())
    return out


def _read_own(path: Path, kind: str) -> pd.DataFrame:
    # a table of the toolkit's own kinds is checked against its contract (finite numbers included)
    return read_table(path, kind)


def _read_foreign(path: Path) -> pd.DataFrame:
    """A file read as it is (e.g. the Hillstrom experiment), its numeric columns checked
    for inf and overflowing values: nothing else about a foreign table is known."""
    df = read_table(path)
    check_finite(df, table=str(path))
    return df


def _customers_base(path: Path, id_col: str) -> pd.DataFrame:
    """customers inner-join outcomes (one row per customer; every customer needs an
    outcomes row), plus ``nps``/``csat`` from survey.csv by a left join (the last answer
    of a customer; customers without one get NaN)."""
    cust, out = path / "customers.csv", path / "outcomes.csv"
    for p in (cust, out):
        if not p.exists():
            raise FileNotFoundError(f"{p} is missing: a demo folder needs customers.csv and outcomes.csv")
    table = _read_own(cust, "customers")
    o = _read_own(out, "outcomes")
    dup = o[id_col].duplicated()
    if dup.any():
        raise ValueError(f"{out}: {int(dup.sum())} duplicated {id_col} values; outcomes must be one row per customer")
    n = len(table)
    table = table.merge(o, on=id_col, how="inner", validate="one_to_one")
    if len(table) != n:
        raise ValueError(f"{n - len(table)} customers have no outcomes row in {out}")
    if (path / "survey.csv").exists():
        s = _read_own(path / "survey.csv", "survey")
        keep = [c for c in ("nps", "csat") if c in s.columns]
        if keep:
            s = s.drop_duplicates(id_col, keep="last")[[id_col] + keep]
            table = table.merge(s, on=id_col, how="left", validate="one_to_one")
    return table


def _survey_base(path: Path, id_col: str) -> pd.DataFrame:
    """survey left-join outcomes left-join customers (one row per respondent; the columns
    of outcomes and customers that the survey does not already have), plus ``promoter``."""
    survey_file = path / "survey.csv"
    if not survey_file.exists():
        raise FileNotFoundError(f"folder {path} has no survey.csv")
    df = _read_own(survey_file, "survey")
    for name in ("outcomes", "customers"):
        f = path / f"{name}.csv"
        if f.exists():
            other = _read_own(f, name)
            if id_col not in other.columns or id_col not in df.columns:
                raise KeyError(f"{f} or survey.csv lacks the join key {id_col!r}")
            extra = [c for c in other.columns if c not in df.columns or c == id_col]
            df = df.merge(other[extra], on=id_col, how="left", validate="one_to_one")
    return add_promoter(df)


def load_data(
    data_path: str | Path | None,
    *,
    engine: str = "auto",
    table: str | None = None,
    sample_n: int | None = None,
    seed: int = 0,
) -> Any:
    """A notebook's customer-level data, in the engine that suits it (:func:`engines.choose_engine`).

    ``pandas``: :func:`load_analysis_table` (the demo folder joined, or one file). ``duckdb``:
    an Ibis table read out of core (a file, glob, folder of Parquet, ``table`` of a
    ``.duckdb`` file; a folder laid out like ``data/demo`` is joined as the pandas loader
    joins it). ``spark``: ``table`` from the Spark catalog or ``data_path`` read by Spark.
    ``sample_n``: a random sample of that many customers (pandas), or a Bernoulli sample of
    about that many inside the engine.

    >>> engines.engine_of(load_data("data/demo", engine="duckdb"))
    'duckdb'
    """
    kind = engines.choose_engine(data_path or "", engine=engine, table=table)
    if kind == "pandas":
        data = load_analysis_table(data_path)
        return data.sample(n=min(int(sample_n), len(data)), random_state=seed) if sample_n else data
    if kind == "spark":
        data = engines.spark_table(None if table else resolve_path(data_path), table=table)
        return data.sample(fraction=min(1.0, int(sample_n) / data.count()), seed=seed) if sample_n else data
    path = resolve_path(data_path)
    if path.is_dir() and any(path.glob("customers.*")) and any(path.glob("outcomes.*")):
        t = _joined_in_duckdb(path)
    else:
        t = engines.as_table(path, table=table)
    if sample_n:
        t = t.sample(min(1.0, int(sample_n) / engines.n_rows(t)), seed=seed)
    return t


def _joined_in_duckdb(folder: Path, id_col: str = "customer_id") -> Any:
    """customers x outcomes (+ the survey's nps/csat, last answer) joined by DuckDB, like
    :func:`load_analysis_table` (without its data contracts: the engine checks what it sums)."""
    import ibis

    def one(name: str):
        files = sorted(folder.glob(f"{name}.*"))
        return engines.as_table(files[0]) if files else None

    customers, outcomes, survey = one("customers"), one("outcomes"), one("survey")
    t = customers.inner_join(outcomes, id_col)
    if survey is not None:
        cols = [c for c in ("nps", "csat") if c in survey.columns and c not in t.columns]
        if cols:
            if "survey_date" in survey.columns:  # the last answer: the latest survey_date
                rank = ibis.row_number().over(group_by=id_col, order_by=ibis.desc("survey_date"))
                survey = survey.mutate(_rank=rank).filter(ibis._["_rank"] == 0)
            answers = survey.select(id_col, *cols).distinct(on=id_col, keep="first")
            t = t.left_join(answers, id_col).drop(f"{id_col}_right")
    return t


def load_analysis_table(
    data_path: str | Path,
    *,
    base: Literal["customers", "survey"] = "customers",
    id_col: str = "customer_id",
    codebook: Codebook | str | Path | None = None,
) -> pd.DataFrame:
    """The analysis table: a data folder's tables joined on ``id_col``, or one file.

    A folder laid out like ``data/demo`` holds the toolkit's own tables, each checked
    against its data contract (:mod:`engagement_kit.validation`) before the join:

    * ``base="customers"`` (the experiment analysis): one row per customer,
      ``customers.csv`` inner-joined with ``outcomes.csv`` (both required; a customer
      without an outcomes row is an error), plus the ``nps``/``csat`` answers of
      ``survey.csv`` if present (left join, a customer's last answer; customers
      without an answer get NaN and are left out of those metrics only).
    * ``base="survey"`` (the measurement analysis): one row per respondent,
      ``survey.csv`` (required) left-joined with ``outcomes.csv`` and ``customers.csv``
      where present (only the columns the survey lacks), plus ``promoter`` (NPS >= 9).

    A path to one CSV/Parquet/Excel file (e.g. the Hillstrom e-mail experiment, a
    user's A/B export) is read as it is, with ``promoter`` added for ``base="survey"``;
    having no contract, it is still checked for infinite and overflowing numbers
    (:func:`engagement_kit.validation.check_finite`), which would otherwise turn every
    estimate into inf/NaN. Paths are resolved with :func:`resolve_path`.

    A survey export (a Qualtrics CSV/TSV with its three header rows, SPSS ``.sav``, Stata
    ``.dta``, SAS ``.sas7bdat``/``.xpt``) is read by :func:`read_survey`: text Likert answers
    become numbers, question text and value labels go to ``df.attrs["survey"]``, Qualtrics'
    metadata columns are dropped. ``codebook`` (a file or :class:`Codebook`) declares the
    answer labels and must name only columns of the table (checked for a folder too).

    Example
    -------
    >>> import tempfile
    >>> from engagement_kit.simulate import simulate
    >>> d = tempfile.mkdtemp()
    >>> _ = simulate(n_customers=300, seed=3, frameworks=[]).write(d)
    >>> t = load_analysis_table(d)
    >>> len(t), {"touch_model", "revenue", "nps"} <= set(t.columns)
    (300, True)
    >>> {"enthusiasm_1", "retained", "touch_model", "promoter"} <= set(load_analysis_table(d, base="survey").columns)
    True
    """
    if base not in ("customers", "survey"):
        raise ValueError(f"base must be 'customers' (experiments) or 'survey' (measurement); got {base!r}")
    path = resolve_path(data_path)
    if not path.exists():
        what = "a customer-level" if base == "customers" else "a survey"
        raise FileNotFoundError(
            f"{data_path}: no such file or folder (looked at {path}); create the demo data with "
            f"`make demo` (engagement-kit simulate --customers 20000 --seed 20261123 --arrival-weeks 8 --out data/demo) "
            f"or point data_path at {what} CSV"
        )
    book = read_codebook(resolve_path(codebook)) if isinstance(codebook, (str, Path)) else codebook
    if path.is_file():
        if is_survey_file(path) or book is not None:
            table = read_survey(path, codebook=book)
            check_finite(table, table=str(path))
        else:
            table = _read_foreign(path)
        return add_promoter(table) if base == "survey" else table
    table = _customers_base(path, id_col) if base == "customers" else _survey_base(path, id_col)
    if book is not None:
        book.check_columns(list(table.columns), source=str(path))
    return table


def file_fingerprint(path: str | Path) -> dict[str, Any]:
    """``{"sha256", "rows", "bytes"}`` of a data file: which exact file a report used.

    ``rows`` counts data rows (header excluded), read by the table reader so quoted
    line breaks are handled; Parquet row counts come from the file metadata.
    """
    p = resolve_path(path)
    digest = hashlib.sha256()
    with p.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if _file_format(p) == "parquet":
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(p).metadata.num_rows
    elif _file_format(p) == "csv":
        rows = len(pd.read_csv(p, usecols=[0], dtype="str", encoding="utf-8-sig"))
    else:
        rows = len(_read_raw(p, None, sheet=0))  # a workbook: its first sheet
    return {"sha256": digest.hexdigest(), "rows": int(rows), "bytes": p.stat().st_size}
