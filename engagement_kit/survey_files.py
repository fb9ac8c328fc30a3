"""Survey files as they arrive: Qualtrics CSV/TSV exports, SPSS, Stata and SAS files.

:func:`read_survey` returns one row per respondent with the answers as numbers and keeps
what the file says about them (question text, value labels, Qualtrics ImportIds) in a
:class:`SurveyMetadata` at ``df.attrs["survey"]`` (:func:`survey_metadata` fetches it).

* **Qualtrics** exports have three header rows: variable names, question text and
  ``{"ImportId":"QID1_1"}``; the 2nd and 3rd are read as metadata, never as answers. Both
  "choice text" and "numeric values" exports work; ``-99`` (Qualtrics' "seen but
  unanswered" option) in a question column is missing. Qualtrics' own columns
  (StartDate, IPAddress, ResponseId, Recipient*, Location*, ...) are dropped on reading:
  they are not answers, and some identify people, so they can never reach a report.
  UTF-16 TSV exports are read as such.
* **SPSS** ``.sav``/``.zsav``/``.por``, **Stata** ``.dta`` and **SAS** ``.sas7bdat``/``.xpt``
  are read with pyreadstat: codes stay numbers, value labels and variable labels (the
  question text) go to the metadata; user-defined missing codes become missing.
* **Likert answers as text** ("Strongly agree") are mapped to numbers by a declared scale:
  a shipped label set (:data:`LIKERT_SCALES`, matched ignoring case and spacing), labels
  listed per item (``likert=``) or a codebook's response labels. An answer that is not a
  label of its scale is an error naming the item, the label, the rows and the fix.

:func:`write_qualtrics_csv` and :func:`write_sav` write the same shapes;
:func:`write_demo_exports` uses them for the demo data's ``survey_qualtrics.csv`` and
``survey.sav``.

Example
-------
>>> import pandas as pd
>>> answers = pd.DataFrame({"q1": ["Agree", "strongly  AGREE", None], "q2": ["Never", "Often", "Always"]})
>>> likert_codes(answers, likert={"q1": "agree_5", "q2": "frequency_5"}).to_dict("list")
{'q1': [4.0, 5.0, nan], 'q2': [1.0, 4.0, 5.0]}
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .codebook import LIKERT_SCALES, Codebook, normalise_label, read_codebook
from .validation import Problem, ValidationError


__all__ = [
    "LIKERT_SCALES",
    "STAT_SUFFIXES",
    "QUALTRICS_METADATA",
    "SurveyMetadata",
    "read_survey",
    "survey_metadata",
    "is_qualtrics_export",
    "is_survey_file",
    "likert_codes",
    "write_qualtrics_csv",
    "write_sav",
    "write_demo_exports",
]

#: Reader per file suffix (pyreadstat function name).
STAT_SUFFIXES: dict[str, str] = {
    ".sav": "read_sav", ".zsav": "read_sav", ".por": "read_por", ".dta": "read_dta",
    ".sas7bdat": "read_sas7bdat", ".xpt": "read_xport",
}  # fmt: skip
_FORMATS = {".sav": "spss", ".zsav": "spss", ".por": "spss", ".dta": "stata", ".sas7bdat": "sas", ".xpt": "sas"}
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt")

#: Qualtrics' own columns (by ImportId): survey-taking metadata, not answers; several
#: identify a person (IP address, e-mail, names, location). Dropped when a file is read.
QUALTRICS_METADATA: dict[str, str] = {
    "startDate": "StartDate", "endDate": "EndDate", "status": "Status", "ipAddress": "IPAddress",
    "progress": "Progress", "duration": "Duration (in seconds)", "finished": "Finished",
    "recordedDate": "RecordedDate", "_recordId": "ResponseId", "recipientLastName": "RecipientLastName",
    "recipientFirstName": "RecipientFirstName", "recipientEmail": "RecipientEmail",
    "externalDataReference": "ExternalReference", "locationLatitude": "LocationLatitude",
    "locationLongitude": "LocationLongitude", "distributionChannel": "DistributionChannel",
    "userLanguage": "UserLanguage",
}  # fmt: skip
_METADATA_NAMES = {n.casefold() for n in QUALTRICS_METADATA.values()} | {"responseid", "duration"}
_SYSTEM_FIELD = re.compile(r"^Q_[A-Z]")  # Q_RecaptchaScore, Q_RelevantIDDuplicate, Q_TotalDuration, ...
_SEEN_UNANSWERED = -99
_MAX_ROWS = 5
_MAX_DISTINCT = 50  # more distinct text answers than this: not an (undeclared) answer scale


@dataclasses.dataclass(frozen=True)
class SurveyMetadata:
    """What a survey file says about its columns (plain dicts, so pandas can copy it).

    ``questions``: column -> question text; ``value_labels``: column -> {code: label};
    ``likert``: column -> the label set its text answers were mapped by (a
    :data:`LIKERT_SCALES` name, ``"codebook"`` or ``"declared"``); ``import_ids``:
    Qualtrics column -> ImportId; ``dropped``: Qualtrics metadata columns left out;
    ``unanswered``: column -> number of "seen but unanswered" (-99) answers set missing.
    """

    source: str
    format: str
    questions: dict[str, str] = dataclasses.field(default_factory=dict)
    value_labels: dict[str, dict[float, str]] = dataclasses.field(default_factory=dict)
    likert: dict[str, str] = dataclasses.field(default_factory=dict)
    import_ids: dict[str, str] = dataclasses.field(default_factory=dict)
    dropped: tuple[str, ...] = ()
    unanswered: dict[str, int] = dataclasses.field(default_factory=dict)

    def items_table(self) -> pd.DataFrame:
        """One row per column with a question text or labels: ``column, question, labels``
        (labels as ``1=Strongly disagree|2=...``). Texts come from the file: escape them
        (:func:`engagement_kit.markdown.escape`) before placing them in Markdown."""
        cols = list(dict.fromkeys([*self.questions, *self.value_labels]))
        return pd.DataFrame({
            "column": cols,
            "question": [self.questions.get(c, "") for c in cols],
            "labels": ["|".join(f"{_code(v)}={lab}" for v, lab in self.value_labels.get(c, {}).items()) for c in cols],
        })  # fmt: skip


def survey_metadata(data: pd.DataFrame) -> SurveyMetadata | None:
    """The :class:`SurveyMetadata` :func:`read_survey` attached to ``data`` (None if none)."""
    meta = data.attrs.get("survey")
    return meta if isinstance(meta, SurveyMetadata) else None


def _code(v: float) -> str:
    return f"{v:g}" if isinstance(v, (int, float, np.number)) else str(v)


# --------------------------------------------------------------------------- detection


def _text_encoding(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"  # Qualtrics' TSV export
    return "utf-8-sig"


def _separator(path: Path, sep: str | None) -> str:
    if sep is not None:
        return sep
    return "\t" if path.suffix.lower() == ".tsv" else ","


def _header_rows(path: Path, sep: str | None, n: int = 3) -> list[list[str]]:
    """The first ``n`` records of a delimited text file (quoted line breaks handled)."""
    with path.open(encoding=_text_encoding(path), newline="") as fh:
        reader = csv.reader(fh, delimiter=_separator(path, sep))
        rows = []
        for row in reader:
            rows.append(row)
            if len(rows) == n:
                break
    return rows


def _import_id(cell: str) -> str | None:
    cell = cell.strip()
    if not cell.startswith("{"):
        return None
    try:
        value = json.loads(cell)
    except ValueError:
        return None
    return str(value["ImportId"]) if isinstance(value, dict) and "ImportId" in value else None


def is_qualtrics_export(path: str | Path, *, sep: str | None = None) -> bool:
    """Whether a CSV/TSV file has Qualtrics' three header rows (the third of ImportIds)."""
    p = Path(path)
    if p.suffix.lower() not in _TEXT_SUFFIXES or not p.is_file():
        return False
    try:
        rows = _header_rows(p, sep)
    except (UnicodeError, csv.Error, OSError):
        return False
    return len(rows) == 3 and any(_import_id(c) for c in rows[2])


def is_survey_file(path: str | Path) -> bool:
    """Whether :func:`read_survey` is needed for ``path``: a statistics-package file or a
    Qualtrics export (a plain CSV is read by :func:`engagement_kit.io.read_table`)."""
    return Path(path).suffix.lower() in STAT_SUFFIXES or is_qualtrics_export(path)


# --------------------------------------------------------------------------- reading


def _error(source: str, column: str | None, message: str, fix: str, code: str = "unreadable",
           rows: Sequence[int] = (), n_rows: int = 0) -> ValidationError:  # fmt: skip
    return ValidationError([Problem(source, column, tuple(rows), message, fix, code, n_rows)], source=source)


def _read_stat(path: Path) -> tuple[pd.DataFrame, SurveyMetadata]:
    import pyreadstat

    reader = getattr(pyreadstat, STAT_SUFFIXES[path.suffix.lower()])
    options: dict[str, Any] = {}
    catalog = path.with_suffix(".sas7bcat")
    if path.suffix.lower() == ".sas7bdat" and catalog.is_file():
        options["catalog_file"] = str(catalog)  # SAS keeps value labels (formats) in a catalog beside the data
    try:
        df, meta = reader(str(path), **options)
    except Exception as err:  # pyreadstat raises ReadstatError/PyreadstatError, OSError, ...
        raise _error(str(path), None, f"the file is not a readable {_FORMATS[path.suffix.lower()].upper()} file "
                     f"({type(err).__name__}: {err})",
                     "export it again from the statistics package, or save the survey as CSV") from None  # fmt: skip
    questions = {c: str(t) for c, t in (meta.column_names_to_labels or {}).items() if t}
    labels = {c: {float(v) if isinstance(v, (int, float)) else v: str(lab) for v, lab in m.items()}
              for c, m in (meta.variable_value_labels or {}).items()}  # fmt: skip
    return df, SurveyMetadata(str(path), _FORMATS[path.suffix.lower()], questions=questions, value_labels=labels)


def _read_text(path: Path, sep: str | None) -> tuple[pd.DataFrame, SurveyMetadata]:
    source = str(path)
    encoding = _text_encoding(path)
    try:
        rows = _header_rows(path, sep)
        qualtrics = len(rows) == 3 and any(_import_id(c) for c in rows[2])
        df = pd.read_csv(path, sep=_separator(path, sep), encoding=encoding, dtype=str, keep_default_na=False,
                         na_values=[""], skiprows=[1, 2] if qualtrics else None)  # fmt: skip
    except UnicodeDecodeError:
        raise _error(source, None, "the file is not UTF-8 (or Qualtrics' UTF-16) text",
                     "export it again from Qualtrics, or save it as 'CSV UTF-8'") from None
    except (pd.errors.ParserError, csv.Error) as err:
        raise _error(source, None, f"the file is not a valid delimited table ({err})",
                     "every line needs as many fields as the header; quote values holding the separator") from None
    except pd.errors.EmptyDataError:
        raise _error(source, None, "the file is empty", "export the survey again") from None
    if not qualtrics:
        return df, SurveyMetadata(source, "csv")
    names, texts, ids = rows
    if len(texts) != len(names) or len(ids) != len(names):
        raise _error(source, None, f"the three Qualtrics header rows have {len(names)}, {len(texts)} and {len(ids)} "
                     "fields", "export the responses again from Qualtrics without editing the header rows")
    import_ids = {n: i for n, i in zip(names, (_import_id(c) or "" for c in ids))}
    questions = {n: t for n, t in zip(names, texts) if t and t != n}
    return df, SurveyMetadata(source, "qualtrics", questions=questions, import_ids=import_ids)


def _is_metadata_column(name: str, import_id: str | None) -> bool:
    if import_id is not None and import_id.startswith("QID"):
        return False
    return (import_id in QUALTRICS_METADATA or name.casefold() in _METADATA_NAMES
            or bool(_SYSTEM_FIELD.match(name)) or bool(import_id and _SYSTEM_FIELD.match(import_id)))  # fmt: skip


def _drop_metadata(df: pd.DataFrame, meta: SurveyMetadata) -> tuple[pd.DataFrame, SurveyMetadata]:
    if meta.format == "qualtrics":
        drop = [c for c in df.columns if _is_metadata_column(c, meta.import_ids.get(c))]
    else:
        # an SPSS/Stata file exported from Qualtrics: its metadata columns by name, and only
        # when several are there (a user's own file may well have a column called Status)
        named = [c for c in df.columns if c.casefold() in _METADATA_NAMES or _SYSTEM_FIELD.match(c)]
        drop = named if len(named) >= 3 else []
    if not drop:
        return df, meta
    keep = [c for c in df.columns if c not in drop]
    meta = dataclasses.replace(
        meta, dropped=tuple(drop),
        questions={c: t for c, t in meta.questions.items() if c in keep},
        value_labels={c: v for c, v in meta.value_labels.items() if c in keep},
        import_ids={c: i for c, i in meta.import_ids.items() if c in keep},
    )  # fmt: skip
    return df[keep], meta


def _numbers_where_possible(df: pd.DataFrame, keep_text: Sequence[str] = ()) -> pd.DataFrame:
    """Text columns whose every value is a number become numbers; ids and labels stay text."""
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if c in keep_text or not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
            continue
        if re.search(r"(^|_)id$", str(c), flags=re.IGNORECASE):
            continue
        distinct = pd.Series(s.dropna().unique(), dtype=object)  # few: decide on them, then convert once
        if distinct.empty:
            continue
        if pd.to_numeric(distinct, errors="coerce").notna().all():
            out[c] = pd.to_numeric(s).astype(float)
        elif distinct.str.strip().str.casefold().isin({"true", "false"}).all():
            out[c] = s.str.strip().str.casefold().map({"true": 1.0, "false": 0.0})  # an exported yes/no flag
    return out


def _label_map(spec: Any, item: str, where: str) -> tuple[dict[str, float], str]:
    """A declared scale as {normalised label: code} and its name."""
    if isinstance(spec, str):
        if spec not in LIKERT_SCALES:
            raise ValueError(f"{where}: item {item!r}: unknown Likert scale {spec!r}; shipped scales: "
                             f"{', '.join(LIKERT_SCALES)} (or list the labels, lowest answer first)")
        return {normalise_label(lab): float(k) for k, lab in enumerate(LIKERT_SCALES[spec], start=1)}, spec
    if isinstance(spec, Mapping):
        return {normalise_label(lab): float(v) for lab, v in spec.items()}, "declared"
    if isinstance(spec, Sequence):
        return {normalise_label(lab): float(k) for k, lab in enumerate(spec, start=1)}, "declared"
    raise TypeError(f"{where}: item {item!r}: a Likert scale is a name ({', '.join(LIKERT_SCALES)}), a list of "
                    f"labels or a dict label -> number, not {type(spec).__name__}")


_KNOWN = {normalise_label(lab) for labels in LIKERT_SCALES.values() for lab in labels}


def _guess_scale(values: set[str], n_points: int | None) -> list[str]:
    """The shipped scales that hold every value (of ``n_points`` answers when known)."""
    return [name for name, labels in LIKERT_SCALES.items()
            if values <= {normalise_label(lab) for lab in labels} and n_points in (None, len(labels))]  # fmt: skip


def likert_codes(
    data: pd.DataFrame,
    *,
    likert: str | Mapping[str, Any] | None = None,
    codebook: Codebook | None = None,
    source: str = "survey",
    row_offset: int = 0,
) -> pd.DataFrame:
    """The text Likert answers of ``data`` as numbers (a copy; other columns unchanged).

    Which columns and which scale: an item of ``codebook`` with response labels uses them;
    ``likert`` maps item -> a :data:`LIKERT_SCALES` name, a list of labels (lowest answer
    first, coded 1, 2, ...) or a dict label -> code; a single name applies to every text
    column holding one of its labels. Otherwise a text column holding shipped labels is
    mapped by the one shipped scale that holds all its answers (with the codebook's
    ``min``/``max`` telling a 5- from a 7-point scale). Labels match ignoring case and
    spacing. Every answer that is no label of its scale is reported at once in one
    :class:`~engagement_kit.validation.ValidationError` naming the item, the label, the
    first rows (data rows, plus ``row_offset``) and the fix; the map used per column is in
    ``result.attrs["likert"]``.

    >>> likert_codes(pd.DataFrame({"q": ["Agree", "Agree strongly"]}), likert="agree_5")
    Traceback (most recent call last):
    ...
    engagement_kit.validation.ValidationError: 1 problem in survey:
      - survey.q: answer 'Agree strongly' is not a label of the scale agree_5 (Strongly disagree, Disagree, Neither agree nor disagree, Agree, Strongly agree) [row 2]. Fix: declare it in the codebook's response labels (labels column, e.g. 4=Agree|5=Agree strongly), or recode the answer in the file
    """
    out = data.copy()
    problems: list[Problem] = []
    per_item = likert if isinstance(likert, Mapping) else {}
    everywhere = likert if isinstance(likert, str) else None
    if everywhere is not None:
        _label_map(everywhere, "*", source)  # an unknown name fails even when no column is text
    chosen: dict[str, tuple[dict[str, float], str]] = {}
    ambiguous: dict[str, list[str]] = {}
    unfit: list[str] = []
    # each text column as its distinct answers and one code per row (-1: missing): a survey
    # has few distinct answers, so labels are checked and mapped once each, not once per row
    texts: dict[str, tuple[list[str], list[str], np.ndarray]] = {}
    for col in out.columns:
        s = out[col]
        if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
            continue
        cat = pd.Categorical(s)
        if not len(cat.categories):
            continue
        entry = codebook.entry(col) if codebook is not None else None
        declared = (entry is not None and entry.labels) or col in per_item
        if len(cat.categories) > _MAX_DISTINCT and not declared:
            continue  # ids, free text: an answer scale has a handful of labels
        answers = [str(c) for c in cat.categories]
        normal = [normalise_label(a) for a in answers]
        if entry is not None and entry.labels:
            chosen[col] = {normalise_label(lab): float(v) for v, lab in entry.labels.items()}, "codebook"
        elif col in per_item:
            chosen[col] = _label_map(per_item[col], str(col), source)
        elif not _KNOWN.intersection(normal):
            continue  # ids, arms, free text: not Likert answers
        elif everywhere is not None:
            chosen[col] = _label_map(everywhere, str(col), source)
        else:
            n_points = None
            if entry is not None and entry.min is not None and entry.max is not None:
                n_points = int(entry.max - entry.min + 1)
            fits = _guess_scale(set(normal), n_points)
            if len(fits) == 1:
                chosen[col] = _label_map(fits[0], str(col), source)
            elif fits:
                ambiguous[col] = fits
            else:
                unfit.append(col)
        texts[col] = (answers, normal, np.asarray(cat.codes))
    for col, fits in ambiguous.items():
        # items of one question (Qualtrics Q5_1, Q5_2; trust_1, trust_2) share its answer scale:
        # a sibling whose answers settle the scale settles it for the item too
        siblings = {chosen[c][1] for c in chosen if c != col and _stem(c) == _stem(col) and chosen[c][1] in fits}
        if _stem(col) is not None and len(siblings) == 1:
            chosen[col] = _label_map(siblings.pop(), str(col), source)
            continue
        known = sorted(a for a, n in zip(texts[col][0], texts[col][1]) if n in _KNOWN)[:4]
        problems.append(Problem(source, str(col), (), f"its answers ({', '.join(map(repr, known))}) fit several "
                                f"shipped scales ({', '.join(fits)})",
                                f"declare the scale: likert={{{str(col)!r}: {fits[-1]!r}}}, or give the item min and "
                                "max (or labels) in the codebook", "unknown_label"))  # fmt: skip
    for col in unfit:  # no shipped scale holds every answer: report against its question's, else the closest
        siblings = {chosen[c][1] for c in chosen if _stem(c) is not None and _stem(c) == _stem(col)}
        normal = texts[col][1]
        best = siblings.pop() if len(siblings) == 1 else max(
            LIKERT_SCALES, key=lambda k: len({normalise_label(x) for x in LIKERT_SCALES[k]}.intersection(normal)))
        chosen[col] = _label_map(best, str(col), source)
    used: dict[str, str] = {}
    for col, (mapping, name) in chosen.items():
        answers, normal, row_codes = texts[col]
        values = np.array([mapping.get(n, np.nan) for n in normal] + [np.nan])  # the last: missing rows (-1)
        unmapped = [k for k, v in enumerate(values[:-1]) if np.isnan(v)]
        if unmapped:
            scale_text = ", ".join(LIKERT_SCALES[name]) if name in LIKERT_SCALES else ", ".join(mapping)
            for k in unmapped:
                where = np.flatnonzero(row_codes == k)
                problems.append(Problem(
                    source, str(col), tuple(int(i) + 1 + row_offset for i in where[:_MAX_ROWS]),
                    f"answer {answers[k]!r} is not a label of the scale {name} ({scale_text})",
                    "declare it in the codebook's response labels (labels column, e.g. 4=Agree|5=Agree strongly), "
                    "or recode the answer in the file", "unknown_label", len(where)))  # fmt: skip
            continue
        out[col] = values[row_codes]
        used[str(col)] = name
    if problems:
        raise ValidationError(problems, source=source)
    out.attrs["likert"] = used
    return out


_STEM = re.compile(r"^(.*?[A-Za-z].*?)[ _.\-]*\d+$")


def _stem(name: Any) -> str | None:
    m = _STEM.match(str(name))
    return m.group(1) if m else None


def read_survey(
    path: str | Path,
    *,
    codebook: Codebook | str | Path | None = None,
    likert: str | Mapping[str, Any] | None = None,
    sep: str | None = None,
) -> pd.DataFrame:
    """Read a survey file: answers as numbers, question text and value labels as metadata.

    Qualtrics CSV/TSV exports (three header rows), SPSS ``.sav``/``.zsav``/``.por``, Stata
    ``.dta``, SAS ``.sas7bdat``/``.xpt`` and plain CSV/TSV tables. Text Likert answers are
    mapped by :func:`likert_codes` (``likert``, ``codebook``); a ``codebook`` (a
    :class:`~engagement_kit.codebook.Codebook` or its file) is also checked against the
    columns (an item the file lacks is an error naming the codebook row). The metadata is
    a :class:`SurveyMetadata` in ``df.attrs["survey"]`` (:func:`survey_metadata`).
    Every problem raises one :class:`~engagement_kit.validation.ValidationError` naming the
    file, the column, the rows and the fix.

    Example
    -------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "export.csv"
    >>> _ = p.write_text('ResponseId,Q1_1,Q1_2\\nResponse ID,How much ... - I like it,How much ... - I use it\\n'
    ...                  '{"ImportId":"_recordId"},{"ImportId":"QID1_1"},{"ImportId":"QID1_2"}\\n'
    ...                  'R_1,Agree,Strongly agree\\nR_2,Somewhat disagree,\\n')
    >>> df = read_survey(p)
    >>> df.to_dict("list")
    {'Q1_1': [6.0, 3.0], 'Q1_2': [7.0, nan]}
    >>> meta = survey_metadata(df)
    >>> meta.format, meta.dropped, meta.likert["Q1_1"], meta.questions["Q1_2"]
    ('qualtrics', ('ResponseId',), 'agree_7', 'How much ... - I use it')
    """
    p = Path(path)
    source = str(path)
    if not p.is_file():
        raise FileNotFoundError(f"{path}: no such survey file")
    book = codebook if isinstance(codebook, Codebook) or codebook is None else read_codebook(codebook)
    suffix = p.suffix.lower()
    if suffix in STAT_SUFFIXES:
        df, meta = _read_stat(p)
    elif suffix in _TEXT_SUFFIXES or sep is not None:
        df, meta = _read_text(p, sep)
    else:
        raise _error(source, None, f"unknown survey file type {suffix!r}",
                     "export the survey as Qualtrics CSV/TSV, SPSS (.sav), Stata (.dta), SAS (.sas7bdat, .xpt) or CSV")
    df, meta = _drop_metadata(df, meta)
    if len(set(df.columns)) != len(df.columns):
        dup = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
        raise _error(source, dup[0], f"column names {dup} occur more than once", "give every column its own name",
                     code="duplicate_column")  # fmt: skip
    unanswered: dict[str, int] = {}
    if meta.format == "qualtrics":
        for c in df.columns:
            if meta.import_ids.get(c, "").startswith("QID"):
                hit = df[c].isin([str(_SEEN_UNANSWERED), f"{_SEEN_UNANSWERED}.0"])
                if hit.any():
                    unanswered[c] = int(hit.sum())
                    df.loc[hit, c] = None
    if book is not None:
        book.check_columns(list(df.columns), source=source)
    offset = 2 if meta.format == "qualtrics" else 0  # Qualtrics data row 1 is line 4 of the file
    coded = likert_codes(_numbers_where_possible(df), likert=likert, codebook=book, source=source, row_offset=offset)
    used = dict(coded.attrs.get("likert", {}))
    value_labels = dict(meta.value_labels)
    for c, name in used.items():
        if name in LIKERT_SCALES:
            value_labels[c] = {float(k): lab for k, lab in enumerate(LIKERT_SCALES[name], start=1)}
        elif name == "codebook" and book is not None:
            value_labels[c] = dict(book.entry(c).labels or {})
        elif isinstance(likert, Mapping) and isinstance(likert[c], Mapping):
            value_labels[c] = {float(v): str(lab) for lab, v in likert[c].items()}
        elif isinstance(likert, Mapping):
            value_labels[c] = {float(k): str(lab) for k, lab in enumerate(likert[c], start=1)}
    coded.attrs = {"survey": dataclasses.replace(meta, value_labels=value_labels, likert=used, unanswered=unanswered)}
    return coded


# --------------------------------------------------------------------------- writing


def write_qualtrics_csv(
    data: pd.DataFrame,
    path: str | Path,
    *,
    questions: Mapping[str, str] | None = None,
    import_ids: Mapping[str, str] | None = None,
    choice_text: Mapping[str, str] | None = None,
) -> Path:
    """Write ``data`` shaped like a Qualtrics CSV export (UTF-8 with BOM, three header rows).

    Row 2 holds ``questions`` (the column name where none is given), row 3
    ``{"ImportId":...}`` from ``import_ids`` (default: the column name, as Qualtrics does
    for embedded data). ``choice_text`` maps item -> a :data:`LIKERT_SCALES` name: those
    items are written as answer text (a "choice text" export), the others as they are.
    The file is written through a temporary file and a rename.
    """
    from .simulate import write_csv

    p = Path(path)
    out = data.copy()
    for col, scale in (choice_text or {}).items():
        labels = list(LIKERT_SCALES[scale])
        codes = pd.to_numeric(out[col], errors="raise").to_numpy(dtype=float, na_value=np.nan)
        answered = ~np.isnan(codes)
        whole = np.trunc(codes[answered])
        bad = (whole < 1) | (whole > len(labels))
        if bad.any():
            rows = (np.flatnonzero(answered)[bad][:5] + 1).tolist()
            raise ValueError(f"column {col!r}: codes {sorted(set(whole[bad].tolist()))[:5]} (data rows {rows}) are not "
                             f"answers of the scale {scale!r} (1..{len(labels)}); fix the codes or the scale")
        index = np.full(len(codes), -1)
        index[answered] = whole.astype(np.int64) - 1
        # vectorised label lookup (a per-answer Python lambda took ~60 s for a million respondents)
        out[col] = pd.Categorical.from_codes(index, categories=pd.Index(labels, dtype=object))
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            x = out[c].to_numpy(dtype=float, na_value=np.nan)
            x = x[~np.isnan(x)]
            if (np.isfinite(x) & (x == np.trunc(x))).all():
                out[c] = out[c].astype("Int64")  # whole answers print as 4, not 4.0
    header = pd.DataFrame([
        [(questions or {}).get(c, c) for c in out.columns],
        [json.dumps({"ImportId": (import_ids or {}).get(c, c)}, separators=(",", ":")) for c in out.columns],
    ], columns=out.columns)  # fmt: skip
    tmp = p.with_name(p.name + ".tmp")
    body = p.with_name(p.name + ".body.tmp")
    header.to_csv(tmp, index=False, encoding="utf-8-sig")  # the three header rows, as pandas quotes them
    try:
        write_csv(out, body, header=False)  # the answers: DuckDB's columnar writer, the same text as pandas'
        with open(tmp, "ab") as dst, open(body, "rb") as src:
            shutil.copyfileobj(src, dst, 16 * 2**20)
    finally:
        body.unlink(missing_ok=True)
    tmp.replace(p)
    return p


def write_sav(
    data: pd.DataFrame,
    path: str | Path,
    *,
    questions: Mapping[str, str] | None = None,
    value_labels: Mapping[str, Mapping[float, str]] | None = None,
) -> Path:
    """Write ``data`` as an SPSS ``.sav`` file with variable labels (``questions``) and value
    labels, through a temporary file and a rename (pyreadstat)."""
    import pyreadstat

    p = Path(path)
    out = data.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.StringDtype) or out[c].dtype == object:
            out[c] = out[c].astype(object)
        elif not pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = pd.to_numeric(out[c]).astype(float)
    tmp = p.with_name(p.name + ".tmp.sav")
    pyreadstat.write_sav(out, str(tmp), column_labels={c: (questions or {}).get(c, "") for c in out.columns},
                         variable_value_labels={c: dict(v) for c, v in (value_labels or {}).items()})  # fmt: skip
    tmp.replace(p)
    return p


# the demo questionnaire's wording: the five dimensions of So, King & Sparks (2014, "Customer
# engagement with tourism brands: scale development and validation", J. Hospitality & Tourism
# Research 38(3)), shortened; the 4th item of each is worded the other way (reverse-keyed)
_DEMO_QUESTIONS = {
    "enthusiasm": ("How much do you agree with each statement?", [
        "I am enthusiastic about the service", "I feel excited about the service",
        "I am interested in anything about the service", "The service bores me"]),
    "attention": ("How much do you agree with each statement?", [
        "I pay a lot of attention to anything about the service", "I like learning more about the service",
        "Anything related to the service grabs my attention", "I rarely notice news about the service"]),
    "absorption": ("How much do you agree with each statement?", [
        "When I am using the service, I forget everything else around me", "Time flies when I am using the service",
        "When I am using the service, I get carried away", "I find it easy to stop thinking about the service"]),
    "interaction": ("How much do you agree with each statement?", [
        "I enjoy taking part in the service's user community", "I share my ideas with other customers",
        "I like talking about the service with others", "I avoid contact with other customers of the service"]),
    "identification": ("How much do you agree with each statement?", [
        "When someone criticises the service, it feels like a personal insult", "The service's successes are my successes",
        "When I talk about the service, I say 'we' rather than 'they'", "The service means little to me personally"]),
}  # fmt: skip
#: How much more (or less) often each segment skips an item in the demo exports: the
#: missingness depends on an observed column (missing at random, not completely at random).
DEMO_SKIP_BY_SEGMENT = {"smb": 1.3, "mid_market": 1.0, "enterprise": 0.6}


def demo_export_table(sim: Any, *, seed: int, missing_rate: float = 0.12) -> tuple[pd.DataFrame, dict[str, str]]:
    """The table both demo exports hold, and its question texts.

    One row per respondent of the simulated survey: ``customer_id``, the 20 items of the
    five dimensions (1-7), ``nps``, ``csat``, plus ``touch_model``, ``segment`` (customers)
    and ``retained``, ``referrals`` (outcomes), as Qualtrics embedded data would carry
    them. Each item answer is blanked with probability ``missing_rate`` x the segment's
    factor (:data:`DEMO_SKIP_BY_SEGMENT`, rescaled so the overall share is ``missing_rate``):
    missing at random given ``segment``, drawn with ``seed``.
    """
    from .schema import DEFAULT_SCALES

    if not 0 <= missing_rate < 1:
        raise ValueError(f"missing_rate must be in [0, 1), got {missing_rate}")
    items = [i for its in DEFAULT_SCALES.values() for i in its]
    table = sim.survey[["customer_id", *items, "nps", "csat"]].merge(
        sim.customers[["customer_id", "touch_model", "segment"]], on="customer_id", how="left"
    ).merge(sim.outcomes[["customer_id", "retained", "referrals"]], on="customer_id", how="left")
    table["retained"] = table["retained"].astype(float)
    rng = np.random.default_rng([seed, 15])
    factor = table["segment"].astype(object).map(DEMO_SKIP_BY_SEGMENT).fillna(1.0).to_numpy(float)
    rate = np.clip(missing_rate * factor / factor.mean(), 0, 1) if len(table) else factor
    skip = rng.random((len(table), len(items))) < rate[:, None]
    block = table[items].astype(float).mask(skip)
    table[items] = block
    questions = {f"{d}_{k}": f"{stem} - {text}" for d, (stem, texts) in _DEMO_QUESTIONS.items()
                 for k, text in enumerate(texts, start=1)}  # fmt: skip
    questions |= {"nps": "How likely are you to recommend the service to a friend or colleague?",
                  "csat": "Overall, how satisfied are you with the service?"}  # fmt: skip
    return table, questions


def write_demo_exports(sim: Any, out_dir: str | Path, *, seed: int, missing_rate: float = 0.12) -> list[Path]:
    """Write the simulated survey as a Qualtrics "choice text" export
    (``survey_qualtrics.csv``, with Qualtrics' metadata columns, which the reader drops),
    an SPSS file with value and variable labels (``survey.sav``) and the questionnaire's
    codebook (``survey_codebook.yaml``) into ``out_dir``; returns the paths.

    The answers are :func:`demo_export_table`'s (``missing_rate`` of the item answers
    blank, at random given the segment).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from .codebook import Codebook, CodebookItem, write_codebook
    from .schema import DEFAULT_SCALES, REVERSE_KEYED_ITEMS

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table, questions = demo_export_table(sim, seed=seed, missing_rate=missing_rate)
    items = [i for its in DEFAULT_SCALES.values() for i in its]
    rng = np.random.default_rng([seed, 16])
    n = len(table)
    start = np.datetime64("2024-06-01T00:00:00", "s") + rng.integers(0, 200 * 24 * 3600, n)
    seconds = rng.integers(90, 900, n)
    end = start + seconds
    # formatted by Arrow and numpy, not per row in Python (seconds for a million respondents)
    stamp = "%Y-%m-%d %H:%M:%S"
    start_text, end_text = (_arrow_text(pc.strftime(pa.array(t), format=stamp)) for t in (start, end))
    ip = pc.binary_join_element_wise("192.0.2.", pc.cast(pa.array(rng.integers(1, 255, n)), pa.string()), "")
    qualtrics_meta = pd.DataFrame({
        "StartDate": start_text, "EndDate": end_text, "Status": "IP Address",
        # documentation addresses (RFC 5737): no real address, and dropped on reading anyway
        "IPAddress": _arrow_text(ip), "Progress": 100,
        "Duration (in seconds)": seconds, "Finished": "True", "RecordedDate": end_text,
        "ResponseId": _response_ids(rng.integers(0, 2**60, n)), "DistributionChannel": "anonymous",
        "UserLanguage": "EN",
    })  # fmt: skip
    meta_ids = {v: k for k, v in QUALTRICS_METADATA.items()}
    qid = {f"{d}_{k}": f"QID{j}_{k}" for j, d in enumerate(DEFAULT_SCALES, start=1) for k in range(1, 5)}
    qid |= {"nps": f"QID{len(DEFAULT_SCALES) + 1}", "csat": f"QID{len(DEFAULT_SCALES) + 2}"}
    export = pd.concat([qualtrics_meta, table.reset_index(drop=True)], axis=1)
    paths = [write_qualtrics_csv(export, out / "survey_qualtrics.csv", questions=questions | {c: c for c in qualtrics_meta},
                                 import_ids=meta_ids | qid,
                                 choice_text={**{i: "agree_7" for i in items}, "csat": "satisfaction_5"})]  # fmt: skip
    labels = {i: dict(enumerate(LIKERT_SCALES["agree_7"], start=1)) for i in items}
    labels["csat"] = dict(enumerate(LIKERT_SCALES["satisfaction_5"], start=1))
    labels["nps"] = {0: "Not at all likely", 10: "Extremely likely"}
    paths.append(write_sav(table, out / "survey.sav", questions=questions, value_labels=labels))
    book = Codebook(tuple(
        CodebookItem(i, i.rsplit("_", 1)[0], i in REVERSE_KEYED_ITEMS, questions[i], 1.0, 7.0,
                     {float(k): lab for k, lab in enumerate(LIKERT_SCALES["agree_7"], start=1)})
        for i in items))  # fmt: skip
    paths.append(write_codebook(book, out / "survey_codebook.yaml"))
    return paths


def _arrow_text(values: Any) -> pd.Series:
    """An Arrow string array as a pandas text column (no copy through Python objects)."""
    import pyarrow as pa

    return pd.Series(values.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get))


def _response_ids(keys: np.ndarray) -> pd.Series:
    """Qualtrics-like response ids ``R_`` + 15 hex digits of each key (< 2**60), as
    ``f"R_{k:015x}"`` writes them, built from the keys' nibbles in numpy.

    >>> _response_ids(np.array([0, 2**60 - 1, 255])).tolist()
    ['R_000000000000000', 'R_fffffffffffffff', 'R_0000000000000ff']
    """
    nibbles = (np.asarray(keys, dtype=np.int64)[:, None] >> np.arange(56, -1, -4)) & 0xF
    chars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nibbles]
    prefix = np.broadcast_to(np.frombuffer(b"R_", dtype=np.uint8), (len(chars), 2))
    raw = np.ascontiguousarray(np.concatenate([prefix, chars], axis=1)).view("S17").ravel()
    return pd.Series(raw.astype(str), dtype="str")
