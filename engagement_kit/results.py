"""The one shape of every analysis result: ``.tables()``, ``.write(folder)``, ``.conclusions()``.

Each analysis (experiments, dimensions, journeys, the DSCE scorecard) has one entry point
that returns a frozen result object built on :class:`Result`. A reader who knows one
result knows them all:

- ``tables()``: name -> tidy DataFrame, the names being the CSV files' stems and the
  columns documented in the analysis module (published columns first, in their order).
- ``write(folder)``: every table as ``<name>.csv``, each written atomically (a temporary
  file renamed into place), header-only where a table is empty; returns name -> path.
- ``conclusions()``: plain-language Markdown, every label from the data escaped
  (:func:`engagement_kit.markdown.escape`).
- ``skipped``: one line per optional analysis that did not run, naming the parameter that
  turns it on; notebooks print them.

:func:`output_folder` is the one rule for a notebook's ``output_dir``.

Example
-------
>>> import dataclasses, tempfile, pandas as pd
>>> @dataclasses.dataclass(frozen=True, eq=False)
... class Counts(Result):
...     counts: pd.DataFrame
...     COLUMNS = {"counts": ["arm", "n"]}
...     def conclusions(self, language="en") -> str:
...         return "- two arms"
>>> r = Counts(counts=pd.DataFrame({"n": [3, 4], "arm": ["a", "b"]}))
>>> list(r.tables()["counts"].columns)
['arm', 'n']
>>> sorted(p.name for p in r.write(tempfile.mkdtemp()).values())
['counts.csv']
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pandas as pd

from .display import Table, show
from .i18n import translate
from .privacy import MIN_CELL_SIZE, suppress_small_cells, suppression_note
from .summary import Summary

__all__ = ["IDENTIFIER_COLUMNS", "Result", "output_folder", "write_csv"]

#: Columns that identify a person; a table holding one is written only when the result
#: declares it account-level (``ACCOUNT_LEVEL``), because an issue asks for it.
IDENTIFIER_COLUMNS = ("customer_id", "account_id")


def output_folder(output_dir: str | Path) -> Path:
    """``output_dir`` made absolute and created: a relative path is taken from the project
    root (the folder holding ``pyproject.toml`` and ``engagement_kit/``), so a notebook
    writes to the same place whether it runs from the root, ``notebooks/`` or a batch.

    >>> import tempfile
    >>> output_folder(tempfile.mkdtemp()).is_dir()
    True
    """
    from .io import project_root

    p = Path(output_dir).expanduser()
    if not p.is_absolute():
        p = project_root() / p
    p.mkdir(parents=True, exist_ok=True)
    return p


def write_csv(table: pd.DataFrame, path: Path) -> Path:
    """Write ``table`` (no index) to ``path`` through a temporary file in the same folder
    and a rename: a reader never sees a half-written CSV."""
    # a unique name opened with "x" (not mkstemp, whose files are private): the file gets the
    # permissions the user's umask gives every other report file
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "x", newline="", encoding="utf-8") as f:
            table.to_csv(f, index=False)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


@dataclasses.dataclass(frozen=True, eq=False)
class Result:
    """Base of every analysis result (a frozen dataclass; subclasses add DataFrame fields).

    Results compare by identity (``eq=False``: comparing DataFrames field by field has no
    single truth value); subclasses use ``@dataclasses.dataclass(frozen=True, eq=False)``.
    Subclasses set ``COLUMNS`` (table name -> the published interface columns, in order),
    implement :meth:`conclusions`, and end their fields with ``skipped: tuple[str, ...] = ()``
    (one line per optional analysis that did not run, naming the parameter that turns it on). Every DataFrame field whose name is in ``COLUMNS``
    is a table; ``None`` stands for an analysis that did not run (its CSV is header-only).
    """

    #: table name -> interface columns (first, in this order; extra columns follow).
    COLUMNS: ClassVar[dict[str, list[str]]] = {}
    #: tables that hold one row per account, ids included, because an issue asks for them.
    ACCOUNT_LEVEL: ClassVar[tuple[str, ...]] = ()
    #: table name -> (count columns, label columns): rows whose counts fall below the
    #: result's ``min_cell_size`` keep only their labels and are marked ``suppressed``
    #: (:func:`engagement_kit.privacy.suppress_small_cells`).
    CELLS: ClassVar[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {}

    def tables(self) -> dict[str, pd.DataFrame]:
        """Table name -> tidy DataFrame with the interface columns first (empty, with the
        interface header, for an analysis that did not run)."""
        out: dict[str, pd.DataFrame] = {}
        for name, cols in self.COLUMNS.items():
            table = getattr(self, name, None)
            if table is None or len(table) == 0:
                out[name] = pd.DataFrame(columns=cols + (["suppressed"] if name in self.CELLS else []))
                continue
            missing = [c for c in cols if c not in table.columns]
            if missing:
                raise ValueError(f"{type(self).__name__}.{name} lacks its interface column(s) {missing}")
            ids = [c for c in IDENTIFIER_COLUMNS if c in table.columns]
            if ids and name not in self.ACCOUNT_LEVEL:
                raise ValueError(f"table {name!r} holds {ids}; reports publish aggregates only")
            table = table[cols + [c for c in table.columns if c not in cols]].reset_index(drop=True)
            if name in self.CELLS:
                counts, labels = self.CELLS[name]
                table = suppress_small_cells(table, counts, labels=labels, min_cell_size=self.min_cell_size)
            out[name] = table
        return out

    @property
    def min_cell_size(self) -> int:
        """The smallest number of people a published row may describe (a field of the
        subclass where its entry point takes ``min_cell_size``)."""
        return int(self.__dict__.get("min_cell_size", MIN_CELL_SIZE))

    def small_cell_note(self, language: str = "en") -> str | None:
        """A Markdown sentence on the rows suppressed for small cells (None if none)."""
        return suppression_note(self.tables(), self.min_cell_size, language)

    def write(self, folder: str | Path) -> dict[str, Path]:
        """Write every table as ``<folder>/<name>.csv`` (atomically); returns name -> path."""
        out = output_folder(folder)
        return {name: write_csv(table, out / f"{name}.csv") for name, table in self.tables().items()}

    def conclusions(self, language: str = "en") -> str:
        """The results in plain language, as Markdown with every data label escaped, in
        ``language`` (one of :data:`engagement_kit.i18n.LANGUAGES`; the sentences are templates
        in ``engagement_kit/i18n/<language>.yaml``)."""
        raise NotImplementedError

    def summary(self, *, language: str = "en") -> Summary:
        """The report's first screen (:class:`engagement_kit.summary.Summary`): the question,
        one verdict line per claim or arm, the data and its size, the caveats."""
        raise NotImplementedError

    def display_options(self, name: str) -> dict:
        """How table ``name`` is formatted for people: ``kinds`` (metric -> kind, or one kind)
        and ``money`` (metrics shown as a currency); see :func:`engagement_kit.display.show`."""
        return {}

    def display(self, name: str, *, query: str | None = None, drop: Sequence[str] = (), currency: str = "",
                language: str = "en") -> Table:
        """Table ``name`` formatted for people (no index, units, readable headers, intervals
        merged, p-values as ``< 0.001``): what notebooks show and reports print. ``query``
        keeps the rows it selects (``DataFrame.query`` on the published columns; a notebook's
        own text, never data), ``drop`` leaves columns out. The CSV (``write``) keeps full precision."""
        tables = self.tables()
        if name not in tables:
            raise KeyError(f"{type(self).__name__} has no table {name!r}; it has {sorted(tables)}")
        table = tables[name] if query is None else tables[name].query(query)
        table = table.drop(columns=[c for c in drop if c in table.columns])
        return show(table, currency=currency, language=language, **self.display_options(name))

    def small_cell_caveat(self, language: str = "en") -> str | None:
        """The small-cell caveat of the summary box (None when nothing was suppressed)."""
        tables = self.tables()
        n = sum(int(t["suppressed"].fillna(False).astype(bool).sum()) for t in tables.values() if "suppressed" in t)
        return translate("summary.caveat_small_cells", language, n=n, min=self.min_cell_size) if n else None

    def _repr_markdown_(self) -> str:  # JupyterLab shows the conclusions for a bare result
        return self.conclusions()
