"""Data validation: check a table against its contract and report every problem at once.

The contracts (which columns a table has, their kinds and ranges) live in
:mod:`engagement_kit.schema`; this module checks a DataFrame against them. Every
problem names the table, the column, the first offending rows and the fix, and all
problems are collected before anything is raised, so one run tells the data owner
everything that needs correcting.

Row numbers are 1-based data rows: row 1 is the first row after the header, that is
line 2 of a CSV file (or position 0 of a DataFrame); blank lines are skipped.

Numbers must be finite and of a sane magnitude: ``inf``/``-inf`` (also written
``inf``, ``Infinity`` or ``1e400`` in a file, which pandas reads as infinity) and
magnitudes above :data:`MAX_ABS_VALUE` are problems, in the contract tables and, via
:func:`check_finite`, in any other table an analysis reads.

Accepted and coerced (not problems): booleans written TRUE/FALSE, true/false, yes/no,
Y/N, T/F, 1/0; numbers and dates written as text; ids read as numbers (turned into
strings); leading/trailing spaces around labels and ids.

Example
-------
>>> import pandas as pd
>>> bad = pd.DataFrame({"customer_id": ["C1", "C1"], "segment": ["smb", "smb"],
...                     "touch_model": ["high_touch", "hi_touch"],
...                     "signup_date": ["2024-01-05", "2024-02-01"]})
>>> for p in validate(bad, "customers"):
...     print(p.column, p.rows, p.code)
customer_id (1, 2) duplicate_id
touch_model (2,) unknown_label
>>> pd.api.types.is_datetime64_dtype(check(bad.iloc[:1], "customers")["signup_date"])
True
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .frameworks import FRAMEWORKS
from .schema import CONTRACTS, DEFAULT_SCALES, DSCE_MAX, DSCE_MIN, TABLE_KINDS, TYPE_SCALES, Column, Contract

__all__ = [
    "Problem",
    "ValidationError",
    "validate",
    "check",
    "check_finite",
    "finite_problems",
    "MAX_ABS_VALUE",
    "problems_frame",
]

#: How many offending row numbers a problem lists (the count of all is in ``n_rows``).
MAX_ROWS_LISTED = 5

#: Largest magnitude a numeric value may have. The statistics sum values and their
#: squares and cross-products over all n rows (means, variances, CUPED, OLS), and the
#: variance formulas square those sums again: n values of magnitude x give a sum of
#: squares n * x**2 and a squared sum (n * x)**2, both of which must stay below the
#: float64 maximum (1.8e308), or the estimate silently becomes inf/NaN (two revenues
#: of 1e308 once gave an "ok" run with a diff of 9.6e305 and an empty CI). With
#: |x| <= 1e100 the squared sum stays below 1e200 * n**2, finite for any n below 1e54
#: rows, while no real quantity (revenue, counts, durations, scores) comes near 1e100.
MAX_ABS_VALUE = 1e100

_TRUE_WORDS = ("true", "t", "yes", "y", "1", "1.0")
_FALSE_WORDS = ("false", "f", "no", "n", "0", "0.0")

_NUMBER_FIX = (
    "write plain numbers with '.' as the decimal separator "
    "(no units, currency signs, thousands separators or text)"
)


@dataclass(frozen=True)
class Problem:
    """One problem found in a table.

    Attributes
    ----------
    table : the table kind (or file) the problem is in, e.g. ``"customers"``.
    column : the column concerned; None for problems of the whole table.
    rows : the first offending data rows (1-based; row 1 = line 2 of a CSV file);
        empty when the problem is not about particular rows.
    message : what is wrong.
    fix : what to do about it.
    code : the class of problem (``missing_column``, ``unknown_column``,
        ``wrong_type``, ``out_of_range``, ``duplicate_id``, ``unknown_label``,
        ``unknown_stage``, ``missing_values``, ``all_missing``, ``empty_table``,
        ``empty_arm``, ``future_date``, ``duplicate_column``, ``no_items``,
        ``not_a_table``, ``unreadable``, ``not_finite``, ``too_large``, ``no_components``;
        analyses add ``unmatched_id`` and their own codes via :meth:`from_mask`).
    n_rows : how many rows are affected in total (``rows`` lists the first few).
    """

    table: str
    column: str | None
    rows: tuple[int, ...]
    message: str
    fix: str
    code: str = "invalid"
    n_rows: int = 0

    def __str__(self) -> str:
        where = self.table if self.column is None else f"{self.table}.{self.column}"
        rows = ""
        if self.rows:
            more = ", ..." if self.n_rows > len(self.rows) else ""
            label = "row" if len(self.rows) == 1 and not more else "rows"
            rows = f" [{label} {', '.join(map(str, self.rows))}{more}]"
        return f"{where}: {self.message}{rows}. Fix: {self.fix}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_mask(
        cls,
        table: str,
        column: str | None,
        message: str,
        fix: str,
        code: str = "invalid",
        mask: np.ndarray | pd.Series | None = None,
        max_rows: int = MAX_ROWS_LISTED,
    ) -> Problem:
        """The problem of the rows where ``mask`` is True (by position; listed 1-based, as
        every problem), for checks an analysis makes beyond its contracts.

        >>> print(Problem.from_mask("dsce", "customer_id", "absent from outcomes", "add them", "unmatched_id",
        ...                         np.array([False, True, True])))
        dsce.customer_id: absent from outcomes [rows 2, 3]. Fix: add them
        """
        rows: tuple[int, ...] = ()
        n = 0
        if mask is not None:
            idx = np.flatnonzero(np.asarray(mask, dtype=bool))
            n = int(idx.size)
            rows = tuple(int(i) + 1 for i in idx[:max_rows])
        return cls(table, column, rows, message, fix, code, n)


class ValidationError(ValueError):
    """A table broke its contract; ``.problems`` lists every :class:`Problem` found."""

    def __init__(self, problems: Sequence[Problem], source: str | None = None) -> None:
        self.problems: list[Problem] = list(problems)
        self.source = source
        super().__init__(self._text())

    def _text(self) -> str:
        n = len(self.problems)
        what = self.source or (self.problems[0].table if self.problems else "table")
        head = f"{n} problem{'s' if n != 1 else ''} in {what}:"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])

    def __str__(self) -> str:
        return self._text()


def problems_frame(problems: Sequence[Problem]) -> pd.DataFrame:
    """The problems as a tidy DataFrame (one row each; columns as :class:`Problem`)."""
    cols = [f.name for f in dataclasses.fields(Problem)]
    return pd.DataFrame([p.to_dict() for p in problems], columns=cols)


# --------------------------------------------------------------------------- helpers


def _norm_name(name: str) -> str:
    """Compare names loosely: case, spaces, hyphens and dots do not matter."""
    return re.sub(r"[\s\-.]+", "_", str(name).strip().lower())


def _closest(name: str, candidates: Sequence[str], cutoff: float = 0.6) -> str | None:
    """The candidate most similar to ``name`` (difflib ratio on normalised names)."""
    if not candidates:
        return None
    keyed = {_norm_name(c): c for c in candidates}
    match = difflib.get_close_matches(_norm_name(name), list(keyed), n=1, cutoff=cutoff)
    return keyed[match[0]] if match else None


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float) and abs(value) >= 1e15:
        return f"{value:g}"  # 1e+308, not a 309-digit integer
    return repr(value) if isinstance(value, str) else str(value)


def _examples(values: pd.Series, k: int = 3) -> str:
    """The first ``k`` distinct offending values, with counts when repeated."""
    counts = values.value_counts(sort=False, dropna=False)
    first = pd.unique(values)[:k]
    parts = [f"{_fmt(v)}" + (f" x{counts[v]}" if counts.get(v, 1) > 1 else "") for v in first]
    more = ", ..." if values.nunique(dropna=False) > k else ""
    return ", ".join(parts) + more


def _n(count: int | np.ndarray, noun: str = "row") -> str:
    """'1 row', '3 rows' (a boolean mask counts its True values)."""
    k = int(np.sum(count)) if isinstance(count, np.ndarray) else int(count)
    return f"{k:,} {noun}{'' if k == 1 else 's'}"


def _range_text(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"{_fmt(float(lo))}-{_fmt(float(hi))}"
    if lo is not None:
        return f">= {_fmt(float(lo))}"
    return f"<= {_fmt(float(hi))}"


class _Report:
    """Collects the problems of one table."""

    def __init__(self, table: str, max_rows: int) -> None:
        self.table = table
        self.max_rows = max_rows
        self.problems: list[Problem] = []

    def add(
        self,
        column: str | None,
        code: str,
        message: str,
        fix: str,
        mask: np.ndarray | pd.Series | None = None,
    ) -> None:
        self.problems.append(Problem.from_mask(self.table, column, message, fix, code, mask, self.max_rows))


# --------------------------------------------------------------------- coercions
# Each takes the raw column and returns (coerced column, mask of values that were
# missing in the input). Problems with the values are added to the report.


def _as_text(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if isinstance(s.dtype, pd.CategoricalDtype):
        # work on the (few) categories, not the rows; the column stays categorical
        cats = pd.Index(s.cat.categories.astype("str"))
        clean = cats.str.strip()
        if clean.equals(cats) and not (clean == "").any() and not clean.duplicated().any():
            out = s if s.cat.categories.equals(cats) else s.cat.rename_categories(cats)
            return out, s.isna().to_numpy(dtype=bool)
        s = s.astype("str")
    if pd.api.types.is_float_dtype(s.dtype):
        finite = s.dropna()
        if len(finite) and (finite % 1 == 0).all():
            s = s.astype("Int64")  # ids read as numbers: 1.0 -> '1'
    text = s if isinstance(s.dtype, pd.StringDtype) else s.astype("str")
    missing = text.isna()
    stripped = text.str.strip()
    blank = stripped.eq("").fillna(False).to_numpy(dtype=bool)
    if blank.any():
        stripped = stripped.mask(blank)
    missing = missing.to_numpy(dtype=bool) | blank
    return stripped, missing


def _as_number(s: pd.Series, col: Column, rep: _Report) -> tuple[pd.Series, np.ndarray]:
    missing = s.isna().to_numpy(dtype=bool)
    if pd.api.types.is_bool_dtype(s.dtype):
        num = s.astype("float64")
    elif pd.api.types.is_numeric_dtype(s.dtype):
        num = s.astype("float64")
    else:
        num = pd.to_numeric(s, errors="coerce").astype("float64")
        bad = num.isna().to_numpy() & ~missing
        if bad.any():  # ' ' or '' count as missing, not as wrong values
            blank = np.zeros_like(bad)
            blank[bad] = s[bad].astype("str").str.strip().eq("").to_numpy(dtype=bool)
            missing = missing | blank
            bad = bad & ~blank
        if bad.any():
            rep.add(
                col.name,
                "wrong_type",
                f"not a number in {_n(bad)} ({_examples(s[bad])})",
                _NUMBER_FIX,
                bad,
            )
    bad_number = _flag_not_finite(num, col.name, rep)
    if bad_number is not None:  # reported once; not also as out of range or not whole
        num = num.mask(bad_number)
    if col.kind == "int":
        frac = (num % 1 != 0).to_numpy() & ~np.isnan(num.to_numpy())
        if frac.any():
            rep.add(
                col.name,
                "wrong_type",
                f"not a whole number in {_n(frac)} ({_examples(num[frac])})",
                f"'{col.name}' holds whole numbers: round or correct these values",
                frac,
            )
            num = num.mask(frac)
    return num, missing


def _flag_not_finite(
    values: pd.Series | np.ndarray, column: str, rep: _Report, max_abs: float = MAX_ABS_VALUE
) -> np.ndarray | None:
    """Report infinite values and magnitudes above ``max_abs`` (see :data:`MAX_ABS_VALUE`).

    Returns the mask of the offending values, or None when there are none (one
    vectorised comparison in the common, clean case; NaN is missing, not reported here).
    """
    arr = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        bad = np.abs(arr) > max_abs  # True for +-inf too; False for NaN
    if not bad.any():
        return None
    inf = np.isinf(arr)
    big = bad & ~inf
    if inf.any():
        rep.add(
            column,
            "not_finite",
            f"infinite in {_n(inf)} ({_examples(pd.Series(arr[inf]))})",
            f"'{column}' holds finite numbers: write the real value, or leave the cell blank if it is "
            "unknown (infinity comes from a division by zero or an overflow upstream; the text "
            "'inf', 'Infinity' or a number like 1e400 is read as infinity)",
            inf,
        )
    if big.any():
        found = arr[big]
        rep.add(
            column,
            "too_large",
            f"larger in magnitude than {max_abs:g} in {_n(big)} (found {_examples(pd.Series(found))})",
            f"correct these values of '{column}' (a unit, scaling or export error?) or blank them: "
            f"no real quantity is that large, and the sums of squares of such values overflow, "
            f"so every estimate would be inf or NaN",
            big,
        )
    return bad


def finite_problems(
    data: pd.DataFrame,
    columns: Sequence[str] | None = None,
    *,
    table: str = "data",
    max_abs: float = MAX_ABS_VALUE,
    max_rows: int = MAX_ROWS_LISTED,
) -> list[Problem]:
    """Infinite and overflowing values in the numeric ``columns`` of any table.

    ``columns`` default to every numeric column; columns that are absent or not
    numeric are skipped (the analysis reports those itself). Booleans are skipped.
    The contract tables get this check inside :func:`validate`; this function is for
    the tables read without a contract (the Hillstrom file, a user's A/B export).
    """
    rep = _Report(table, max_rows)
    names = list(data.columns) if columns is None else list(dict.fromkeys(columns))
    for name in names:
        if name not in data.columns:
            continue
        s = data[name]
        if isinstance(s, pd.DataFrame):  # duplicated column name: check the first copy
            s = s.iloc[:, 0]
        if pd.api.types.is_bool_dtype(s.dtype) or not pd.api.types.is_numeric_dtype(s.dtype):
            continue
        if isinstance(s.dtype, np.dtype) and s.dtype.kind in "iu":
            continue  # integers are finite, and int64 cannot reach 1e100
        # a float64 column is checked in place (no copy); others are converted once
        arr = s.to_numpy() if s.dtype == np.float64 else s.to_numpy(dtype=float, na_value=np.nan)
        _flag_not_finite(arr, str(name), rep, max_abs)
    return rep.problems


def check_finite(
    data: pd.DataFrame,
    columns: Sequence[str] | None = None,
    *,
    table: str = "data",
    max_abs: float = MAX_ABS_VALUE,
    max_rows: int = MAX_ROWS_LISTED,
) -> None:
    """Raise :class:`ValidationError` if a numeric column holds inf or a value above ``max_abs``.

    Why: such values do not fail loudly downstream; they turn means, variances and
    CIs into inf/NaN, which end up as blank cells of a results CSV. ``table`` names
    the source in the message (e.g. the file). Options as :func:`finite_problems`.

    Example
    -------
    >>> import pandas as pd
    >>> ab = pd.DataFrame({"arm": ["a", "b", "b"], "revenue": [1.0, 1e308, float("inf")]})
    >>> try:
    ...     check_finite(ab, ["revenue"], table="ab.csv")
    ... except ValidationError as err:
    ...     print([(p.code, p.column, p.rows) for p in err.problems])
    [('not_finite', 'revenue', (3,)), ('too_large', 'revenue', (2,))]
    """
    problems = finite_problems(data, columns, table=table, max_abs=max_abs, max_rows=max_rows)
    if problems:
        raise ValidationError(problems, source=table)


def _range_fix(col: Column) -> str:
    rng = _range_text(col.min, col.max)
    if col.name.startswith("target_") or col.description.startswith("Rating of component"):
        return (
            f"DSCE ratings are on a {rng} scale: correct the values, or declare the scale "
            f"you used with dsce_range=(min, max) (scorecard: scale_min/scale_max; CLI: --dsce-range MIN MAX)"
        )
    if col.name == "nps":
        return f"NPS answers are {rng} (likelihood to recommend): correct or blank them"
    if col.name == "csat":
        return f"CSAT answers are {rng}: correct or blank them (recode other scales to {rng})"
    if col.kind in ("float", "int") and col.min == 0 and col.max is None:
        return f"'{col.name}' cannot be negative: correct these values"
    return f"values of '{col.name}' must be {rng}: correct or remove them"


def _check_range(num: pd.Series, col: Column, rep: _Report, fix: str | None = None) -> pd.Series:
    if col.min is None and col.max is None:
        return num
    arr = num.to_numpy()
    out = np.zeros(arr.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        if col.min is not None:
            out = out | (arr < col.min)
        if col.max is not None:
            out = out | (arr > col.max)
    if out.any():
        bad = num[out]
        rep.add(
            col.name,
            "out_of_range",
            f"outside {_range_text(col.min, col.max)} in {_n(out)} "
            f"(found {_fmt(float(bad.min()))} to {_fmt(float(bad.max()))})",
            fix or _range_fix(col),
            out,
        )
    return num


def _as_bool(s: pd.Series, col: Column, rep: _Report) -> tuple[pd.Series, np.ndarray]:
    missing = s.isna().to_numpy(dtype=bool)
    if pd.api.types.is_bool_dtype(s.dtype):
        return s, missing
    if pd.api.types.is_numeric_dtype(s.dtype):
        true = (s == 1).to_numpy(dtype=bool)
        false = (s == 0).to_numpy(dtype=bool)
    else:
        t = s.astype("str").str.strip().str.lower()
        blank = t.eq("").fillna(False).to_numpy(dtype=bool)
        missing = missing | blank
        true = t.isin(_TRUE_WORDS).to_numpy(dtype=bool)
        false = t.isin(_FALSE_WORDS).to_numpy(dtype=bool)
    bad = ~(true | false | missing)
    if bad.any():
        rep.add(
            col.name,
            "wrong_type",
            f"not true/false in {_n(bad)} ({_examples(s[bad])})",
            f"write '{col.name}' as True/False (TRUE/FALSE, yes/no, Y/N and 1/0 are accepted too)",
            bad,
        )
    if (missing | bad).any():
        out = pd.Series(pd.array(np.where(true, True, False), dtype="boolean"), index=s.index)
        out[missing | bad] = pd.NA
    else:
        out = pd.Series(true, index=s.index)
    return out, missing


def _as_datetime(
    s: pd.Series, col: Column, rep: _Report, today: pd.Timestamp
) -> tuple[pd.Series, np.ndarray]:
    missing = s.isna().to_numpy(dtype=bool)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        parsed = s.dt.tz_convert("UTC").dt.tz_localize(None)
    elif pd.api.types.is_datetime64_dtype(s.dtype):
        parsed = s
    else:
        if not (isinstance(s.dtype, pd.StringDtype) or s.dtype == object):
            s = s.astype("str")
        try:
            parsed = pd.to_datetime(s, errors="coerce", format="ISO8601")
        except (ValueError, TypeError):  # mixed time-zone offsets: bring all to UTC
            parsed = pd.to_datetime(s, errors="coerce", format="ISO8601", utc=True)
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        bad = parsed.isna().to_numpy() & ~missing
        if bad.any():  # ' ' or '' count as missing, not as wrong values
            blank = np.zeros_like(bad)
            blank[bad] = s[bad].astype("str").str.strip().eq("").to_numpy(dtype=bool)
            missing = missing | blank
            bad = bad & ~blank
        if bad.any():
            form = "YYYY-MM-DD" if col.kind == "date" else "YYYY-MM-DD HH:MM:SS"
            rep.add(
                col.name,
                "wrong_type",
                f"not a {'date' if col.kind == 'date' else 'timestamp'} in {_n(bad)} "
                f"({_examples(s[bad])})",
                f"write '{col.name}' as {form} (ISO 8601)",
                bad,
            )
    cutoff = today.normalize() + pd.Timedelta(days=1)
    future = (parsed >= cutoff).to_numpy(dtype=bool)
    if future.any():
        latest = parsed[future].max()
        rep.add(
            col.name,
            "future_date",
            f"after today ({today.date()}) in {_n(future)}, latest "
            f"{latest.date() if col.kind == 'date' else latest}",
            "correct the dates (a swapped day/month or a wrong year?); if the data are "
            "dated ahead on purpose, pass today=... (CLI: --today YYYY-MM-DD)",
            future,
        )
    return parsed, missing


def _check_labels(
    text: pd.Series, col: Column, allowed: Sequence[str], rep: _Report, fix_hint: str = ""
) -> None:
    bad = (~text.isin(list(allowed)) & text.notna()).to_numpy(dtype=bool)
    if not bad.any():
        return
    bad_values = text[bad]
    suggestions = []
    for label in pd.unique(bad_values)[:5]:
        near = _closest(label, allowed)
        if near is not None:
            suggestions.append(f"'{label}' -> '{near}'")
    fix = "use one of " + ", ".join(repr(a) for a in allowed)
    if suggestions:
        fix = "recode " + ", ".join(suggestions) + "; " + fix
    rep.add(
        col.name,
        "unknown_label",
        f"unknown label in {_n(bad)} ({_examples(bad_values)})",
        fix + fix_hint,
        bad,
    )


# ------------------------------------------------------------------- the checks


def _effective_contract(
    kind: str,
    likert_range: tuple[float, float] | None,
    dsce_range: tuple[float, float] | None,
    dsce_components: Sequence[str] | None = None,
) -> Contract:
    contract = CONTRACTS[kind]
    if dsce_components is not None and kind == "dsce":
        # the declared components are required rating columns (names outside the eight too)
        listed = list(dict.fromkeys(dsce_components))
        known = {c.name for c in contract.columns}
        cols = tuple(dataclasses.replace(c, required=True) if c.name in listed else c for c in contract.columns)
        extra = tuple(
            Column(c, "float", f"Rating of component '{c}'.", nullable=True, min=DSCE_MIN, max=DSCE_MAX)
            for c in listed
            if c not in known
        )
        contract = dataclasses.replace(contract, columns=cols + extra)
    if likert_range is not None:
        contract = dataclasses.replace(contract, item_min=likert_range[0], item_max=likert_range[1])
    if dsce_range is not None and kind == "dsce":
        cols = tuple(
            dataclasses.replace(c, min=dsce_range[0], max=dsce_range[1]) if c.kind == "float" else c
            for c in contract.columns
            if c.name != "customer_id"
        )
        contract = dataclasses.replace(contract, columns=(contract.columns[0], *cols))
    return contract


def _check_columns(df: pd.DataFrame, contract: Contract, rep: _Report) -> list[str]:
    """Missing, misspelled and duplicate column names. Returns the item columns."""
    names = [str(c) for c in df.columns]
    dups = sorted({n for n in names if names.count(n) > 1})
    for n in dups:
        rep.add(
            n,
            "duplicate_column",
            f"the column name '{n}' appears {names.count(n)} times",
            "give every column a distinct name (only the first copy was checked)",
        )
    present = set(names)
    # read_csv renames a repeated header 'nps' to 'nps.1': the file had duplicate names
    for n in names:
        m = re.fullmatch(r"(.+)\.(\d+)", n)
        if m and m.group(1) in present:
            rep.add(
                m.group(1),
                "duplicate_column",
                f"the column name '{m.group(1)}' appears more than once (the copy was read as '{n}')",
                f"give every column a distinct name: rename or drop the second '{m.group(1)}'",
            )
            present.discard(n)
    names = [n for n in names if n in present]
    pattern = re.compile(contract.item_pattern) if contract.item_pattern else None
    items = [n for n in dict.fromkeys(names) if pattern is not None and pattern.match(n)]
    known = {c.name for c in contract.columns}
    extra = [n for n in dict.fromkeys(names) if n not in known and n not in items]

    for col in contract.columns:
        if not col.required or col.name in present:
            continue
        near = _closest(col.name, extra)
        if near is not None:
            extra.remove(near)
            rep.add(
                col.name,
                "missing_column",
                f"required column '{col.name}' is missing; found '{near}' instead",
                f"rename column '{near}' to '{col.name}'",
            )
        else:
            rep.add(
                col.name,
                "missing_column",
                f"required column '{col.name}' is missing",
                f"add a column '{col.name}': {col.description}",
            )

    # extra columns that look like a misspelt optional column or survey item
    candidates = [c.name for c in contract.columns if c.name not in present]
    if pattern is not None:
        default_items = [i for cols in (*DEFAULT_SCALES.values(), *TYPE_SCALES.values()) for i in cols]
        candidates += [i for i in default_items if i not in present]
    for n in extra:
        near = _closest(n, candidates, cutoff=0.8)
        if near is not None:
            candidates.remove(near)
            rep.add(
                n,
                "unknown_column",
                f"column '{n}' is not in the {contract.kind} contract; it looks like '{near}'",
                f"rename column '{n}' to '{near}' (or drop it if it is something else)",
            )

    if pattern is not None and not items:
        rep.add(
            None,
            "no_items",
            "no survey item columns found (expected names like 'enthusiasm_1', "
            "'attention_2': <dimension>_<k>)",
            "name the Likert item columns <dimension>_<k> with dimension one of "
            + ", ".join(DEFAULT_SCALES),
        )
    return items


def _check_column(
    raw: pd.Series,
    col: Column,
    rep: _Report,
    *,
    today: pd.Timestamp,
    allowed: Sequence[str] | None,
    n: int,
    range_fix: str | None = None,
) -> pd.Series:
    if n and raw.isna().all():
        what = "required" if col.required else "optional: fill it in or drop it"
        rep.add(
            col.name,
            "all_missing",
            "the column is entirely empty",
            f"fill in '{col.name}' ({what}): {col.description}",
        )
        return raw
    if col.kind in ("id", "category"):
        out, missing = _as_text(raw)
        if allowed is not None:
            hint = " (or declare your arms with arms=[...], CLI --arms)" if col.name == "touch_model" else ""
            _check_labels(out, col, allowed, rep, hint)
        if col.unique:
            dup = (out.duplicated(keep=False) & out.notna()).to_numpy(dtype=bool)
            if dup.any():
                dup_vals = out[dup]
                rep.add(
                    col.name,
                    "duplicate_id",
                    f"duplicate ids in {_n(dup)} ({_n(dup_vals.nunique(), 'distinct id')}: "
                    f"{_examples(dup_vals)})",
                    f"keep one row per {col.name} (the {rep.table} table has one row per customer): "
                    "remove or merge the duplicates",
                    dup,
                )
    elif col.kind in ("float", "int"):
        out, missing = _as_number(raw, col, rep)
        out = _check_range(out, col, rep, range_fix)
        if col.kind == "int" and not np.isnan(out.to_numpy()).any():
            out = out.astype("int64")
    elif col.kind == "bool":
        out, missing = _as_bool(raw, col, rep)
    elif col.kind in ("date", "datetime"):
        out, missing = _as_datetime(raw, col, rep, today)
    else:  # pragma: no cover - a contract with an unknown kind is a programming error
        raise ValueError(f"unknown column kind {col.kind!r}")
    if not col.nullable and missing.any() and n:
        rep.add(
            col.name,
            "missing_values",
            f"missing in {_n(missing)}",
            f"fill in '{col.name}' on every row ({col.description})",
            missing,
        )
    return out


def _check_whole_answers(values: pd.Series, name: str, contract: Contract, rep: _Report) -> None:
    """A Likert answer is one of the scale's points: 3.5 is an average, an imputation or a typo.

    The column stays float (the values are kept), so only the problem is reported.
    """
    if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return  # not numbers at all: already reported as wrong_type
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu":
        return
    arr = values.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        frac = np.isfinite(arr) & (arr != np.round(arr))
    if frac.any():
        rep.add(
            name,
            "wrong_type",
            f"not a whole-number answer in {_n(frac)} ({_examples(pd.Series(arr[frac]))})",
            f"Likert answers are whole points of the {_range_text(contract.item_min, contract.item_max)} "
            "scale: correct these values (an averaged or imputed answer?) or blank them; items "
            "that are scores on a continuous scale are analysed with engagement_kit.measurement "
            "(likert_min=None, likert_max=None), not as survey answers",
            frac,
        )


def _codes(s: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes (-1 = missing) and labels of a label column (categorical: free)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy(), [str(c) for c in s.cat.categories]
    codes, uniques = pd.factorize(s)
    return codes, [str(u) for u in uniques]


def _check_stages(data: pd.DataFrame, rep: _Report) -> None:
    """Each event's stage must be a stage of its framework."""
    fw, st = data["framework"], data["stage"]
    # one pass over the rows: label codes, then a small (framework x stage) lookup table
    f_codes, f_labels = _codes(fw)
    s_codes, s_labels = _codes(st)
    valid = np.ones((len(f_labels) + 1, len(s_labels) + 1), dtype=bool)  # code -1: missing
    for i, f in enumerate(f_labels):
        if f in FRAMEWORKS:
            stages = set(FRAMEWORKS[f].stage_names)
            valid[i, : len(s_labels)] = [lab in stages for lab in s_labels]
    bad = ~valid[f_codes, s_codes]
    if not bad.any():
        return
    pairs = (fw[bad].astype("str") + " / " + st[bad].astype("str")).rename(None)
    fixes = []
    for name in pd.unique(fw[bad])[:3]:
        stages = FRAMEWORKS[name].stage_names
        wrong = pd.unique(st[bad & (fw == name).to_numpy(dtype=bool)])[:3]
        hints = []
        for w in wrong:
            elsewhere = [f for f, fr in FRAMEWORKS.items() if w in fr.stage_names]
            near = _closest(w, stages, cutoff=0.75)
            if elsewhere:
                hints.append(f"'{w}' is a stage of {' and '.join(elsewhere)}, not of {name}")
            elif near is not None:
                hints.append(f"recode '{w}' -> '{near}'")
        fixes.append("; ".join([*hints, f"the stages of {name} are {', '.join(stages)}"]))
    rep.add(
        "stage",
        "unknown_stage",
        f"stage not in its framework in {_n(bad)} ({_examples(pairs)})",
        "; ".join(fixes),
        bad,
    )


def _check_ratings_present(data: pd.DataFrame, contract: Contract, rep: _Report) -> None:
    """A dsce table has at least one component column, and every account at least one rating."""
    ratings = [c.name for c in contract.columns if c.kind == "float" and not c.name.startswith("target_")]
    present = [c for c in ratings if c in data.columns]
    if not present:
        rep.add(
            None,
            "no_components",
            "no component rating column found (expected one or more of " + ", ".join(ratings) + ")",
            "name the rating columns after the components, or declare yours (scorecard: components=[...])",
        )
        return
    none = data[present].isna().all(axis=1).to_numpy(dtype=bool)
    if none.any():
        rep.add(
            None,
            "missing_values",
            f"no rating for any component in {_n(none)}",
            "rate at least one component of every account, or drop the unrated accounts",
            none,
        )


def _validate(
    data: Any,
    kind: str | Contract,
    *,
    arms: Sequence[str] | None = None,
    likert_range: tuple[float, float] | None = None,
    dsce_range: tuple[float, float] | None = None,
    dsce_components: Sequence[str] | None = None,
    today: Any = None,
    table: str | None = None,
    max_rows: int = MAX_ROWS_LISTED,
) -> tuple[list[Problem], pd.DataFrame | None]:
    if isinstance(kind, Contract):  # an analysis' own contract (e.g. the DSCE questionnaire answers)
        contract, kind = kind, kind.kind
    elif kind not in CONTRACTS:
        raise ValueError(f"unknown table kind {kind!r}; kinds are {', '.join(TABLE_KINDS)}")
    else:
        contract = _effective_contract(kind, likert_range, dsce_range, dsce_components)
    rep = _Report(table or kind, max_rows)
    if not isinstance(data, pd.DataFrame):
        rep.add(
            None,
            "not_a_table",
            f"expected a table (pandas DataFrame), got {type(data).__name__}",
            "read the file with engagement_kit.io.read_table, or pass a DataFrame",
        )
        return rep.problems, None
    today_ts = pd.Timestamp.now() if today is None else pd.Timestamp(today)
    df = data
    if not all(isinstance(c, str) for c in df.columns):
        df = df.set_axis([str(c) for c in df.columns], axis=1)
    if df.columns.duplicated().any():
        df = df.loc[:, ~df.columns.duplicated()]
    n = len(df)
    if n == 0:
        rep.add(
            None,
            "empty_table",
            "the table has no rows",
            "check that the right file was exported (only a header was found)",
        )
    items = _check_columns(data, contract, rep)
    out = df.copy(deep=False)

    for col in contract.columns:
        if col.name not in df.columns:
            continue
        allowed = col.allowed
        if col.name == "touch_model" and arms is not None:
            allowed = tuple(arms)
        out[col.name] = _check_column(df[col.name], col, rep, today=today_ts, allowed=allowed, n=n)

    if items:
        item_fix = (
            f"Likert answers are on the {_range_text(contract.item_min, contract.item_max)} scale: "
            "correct the values, or declare the scale you used with likert_range=(min, max) "
            "(CLI: --likert-range MIN MAX)"
        )
        for name in items:
            col = Column(
                name,
                "float",
                "Likert item answer.",
                required=False,
                nullable=True,
                min=contract.item_min,
                max=contract.item_max,
            )
            out[name] = _check_column(
                df[name], col, rep, today=today_ts, allowed=None, n=n, range_fix=item_fix
            )
            _check_whole_answers(out[name], name, contract, rep)

    if kind == "events" and {"framework", "stage"} <= set(out.columns) and n:
        if not (out["framework"].isna().all() or out["stage"].isna().all()):
            _check_stages(out, rep)

    if kind == "dsce" and n:
        _check_ratings_present(out, contract, rep)

    if arms is not None and "touch_model" in out.columns and n:
        seen = set(pd.unique(out["touch_model"].dropna()))
        for arm in arms:
            if arm not in seen:
                rep.add(
                    "touch_model",
                    "empty_arm",
                    f"arm '{arm}' has no rows",
                    "check the spelling of the arm labels in the file, or leave the arm out of arms=",
                )
    return rep.problems, out


def validate(
    data: pd.DataFrame,
    kind: str | Contract,
    *,
    arms: Sequence[str] | None = None,
    likert_range: tuple[float, float] | None = None,
    dsce_range: tuple[float, float] | None = None,
    dsce_components: Sequence[str] | None = None,
    today: Any = None,
    table: str | None = None,
    max_rows: int = MAX_ROWS_LISTED,
) -> list[Problem]:
    """Every problem of ``data`` against the contract of ``kind`` (empty list: valid).

    Parameters
    ----------
    data : the table (as read; text columns are coerced before checking).
    kind : one of ``customers``, ``survey``, ``events``, ``outcomes``, ``dsce`` (or a
        :class:`~engagement_kit.schema.Contract` an analysis defines for its own table).
    arms : the expected arm labels of ``touch_model``. Replaces the default labels
        (high_touch, low_touch, no_touch), and each arm must have rows.
    likert_range : (min, max) of the survey item scale; default 1-7.
    dsce_range : (min, max) of the DSCE rating scale; default 1-5.
    dsce_components : the DSCE components rated (required columns, names outside the
        eight included); default any of the eight, at least one.
    today : dates after this day are reported as in the future; default today.
    table : the name used in the messages; default ``kind``.
    max_rows : how many offending row numbers each problem lists.

    Example
    -------
    >>> import pandas as pd
    >>> survey = pd.DataFrame({"customer_id": ["C1"], "nps": [11], "csat": [4],
    ...                        "survey_date": ["2024-03-01"], "enthusiasm_1": [5]})
    >>> print(validate(survey, "survey")[0])  # doctest: +ELLIPSIS
    survey.nps: outside 0-10 in 1 row (found 11 to 11) [row 1]. Fix: NPS answers are 0-10 ...
    """
    problems, _ = _validate(
        data,
        kind,
        arms=arms,
        likert_range=likert_range,
        dsce_range=dsce_range,
        dsce_components=dsce_components,
        today=today,
        table=table,
        max_rows=max_rows,
    )
    return problems


def check(
    data: pd.DataFrame,
    kind: str | Contract,
    *,
    arms: Sequence[str] | None = None,
    likert_range: tuple[float, float] | None = None,
    dsce_range: tuple[float, float] | None = None,
    dsce_components: Sequence[str] | None = None,
    today: Any = None,
    table: str | None = None,
    max_rows: int = MAX_ROWS_LISTED,
) -> pd.DataFrame:
    """The table with its contract columns coerced (ids and labels as text, dates as
    datetime64, booleans as bool, counts as int64); raises :class:`ValidationError`
    listing every problem. Options as :func:`validate`; other columns pass unchanged.

    Example
    -------
    >>> import pandas as pd
    >>> out = pd.DataFrame({"customer_id": [1, 2], "retained": ["yes", "N"],
    ...     "churn_time": [365, 40.5], "churned": ["FALSE", "TRUE"], "revenue": [10, 0],
    ...     "expansion_revenue": [0, 0], "referrals": [1, 0]})
    >>> check(out, "outcomes")[["customer_id", "retained", "churned"]].to_dict("list")
    {'customer_id': ['1', '2'], 'retained': [True, False], 'churned': [False, True]}
    """
    problems, cleaned = _validate(
        data,
        kind,
        arms=arms,
        likert_range=likert_range,
        dsce_range=dsce_range,
        dsce_components=dsce_components,
        today=today,
        table=table,
        max_rows=max_rows,
    )
    if problems or cleaned is None:
        raise ValidationError(problems, source=table)
    return cleaned
