"""A survey's codebook: which item measures which scale, which items are reverse-keyed,
the question text, the answer range and the answer labels.

A codebook file is CSV or YAML with one entry per item and the fields

========== ===================================================================
item       the column of the survey file (required, unique)
scale      the scale the item measures; blank: not part of a scale (e.g. NPS)
reverse    true/false (yes/no, 1/0): reverse-keyed, rescored as min + max - x
question   the question text (free text)
min, max   the lowest and highest answer (numbers, min < max; blank: unbounded)
labels     optional answer labels: ``1=Strongly disagree|2=Disagree|...`` (YAML: a
           mapping code -> label, or that string), or a shipped set name (``agree_7``)
========== ===================================================================

:func:`read_codebook` validates it strictly (an unknown field, a repeated item, a bad
range, a label outside the range: one :class:`CodebookError` naming the file, the row and
the fix); YAML is read with ``yaml.safe_load`` (never executed). :func:`dimensions_parameters`
turns it into the ``scales``, ``reverse_items``, ``likert_min``, ``likert_max`` of
:func:`engagement_kit.measurement.dimensions`; :func:`draft_codebook` drafts one from a
file's labels (``engagement-kit codebook SURVEY_FILE``), grouping items into scales by
their name prefix.

Example
-------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "codebook.csv"
>>> _ = p.write_text("item,scale,reverse,question,min,max\\n"
...                  "sat_1,satisfaction,false,I am satisfied,1,5\\n"
...                  "sat_2,satisfaction,true,I would rather switch,1,5\\n")
>>> book = read_codebook(p)
>>> dimensions_parameters(book, scales=None, reverse_items=None, likert_min=1, likert_max=7)
{'scales': {'satisfaction': ['sat_1', 'sat_2']}, 'reverse_items': ['sat_2'], 'likert_min': 1.0, 'likert_max': 5.0}
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .validation import Problem, ValidationError

__all__ = [
    "LIKERT_SCALES",
    "normalise_label",
    "CODEBOOK_FIELDS",
    "CodebookError",
    "CodebookItem",
    "Codebook",
    "read_codebook",
    "draft_codebook",
    "write_codebook",
    "dimensions_parameters",
]

#: The fields of a codebook entry, in file order; ``labels`` is optional.
CODEBOOK_FIELDS = ("item", "scale", "reverse", "question", "min", "max", "labels")
_REQUIRED = CODEBOOK_FIELDS[:6]
_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f", ""}
_MAX_BYTES = 5_000_000

#: The shipped answer-label sets, lowest answer first (coded 1, 2, ...). Agreement and
#: frequency anchors as in Vagias (2006), "Likert-type scale response anchors", Clemson
#: University; ``agree_5_somewhat`` is Qualtrics' default 5-point agreement wording. Answers
#: that fit two sets (e.g. only "Somewhat agree" and "Strongly agree": 5 or 7 points?) are
#: an error until the scale is declared, never a guess.
LIKERT_SCALES: dict[str, tuple[str, ...]] = {
    "agree_5": ("Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"),
    "agree_5_somewhat": ("Strongly disagree", "Somewhat disagree", "Neither agree nor disagree", "Somewhat agree",
                         "Strongly agree"),
    "agree_7": ("Strongly disagree", "Disagree", "Somewhat disagree", "Neither agree nor disagree",
                "Somewhat agree", "Agree", "Strongly agree"),
    "frequency_5": ("Never", "Rarely", "Sometimes", "Often", "Always"),
    "frequency_7": ("Never", "Rarely", "Occasionally", "Sometimes", "Frequently", "Usually", "Every time"),
    "satisfaction_5": ("Very dissatisfied", "Dissatisfied", "Neither satisfied nor dissatisfied", "Satisfied",
                       "Very satisfied"),
}  # fmt: skip

# Common variants of a middle answer, read as the wording above.
_ALIASES = {
    "neither agree or disagree": "neither agree nor disagree",
    "neither disagree nor agree": "neither agree nor disagree",
    "neither satisfied or dissatisfied": "neither satisfied nor dissatisfied",
    # Qualtrics' default satisfaction wording
    "extremely dissatisfied": "very dissatisfied",
    "somewhat dissatisfied": "dissatisfied",
    "somewhat satisfied": "satisfied",
    "extremely satisfied": "very satisfied",
}


def normalise_label(text: Any) -> str:
    """A label compared loosely: case, surrounding and repeated spaces ignored.

    >>> normalise_label("  Strongly   AGREE ")
    'strongly agree'
    """
    key = " ".join(str(text).split()).casefold()
    return _ALIASES.get(key, key)




class CodebookError(ValidationError):
    """A codebook that cannot be used; ``.problems`` names the rows and the fixes."""


@dataclasses.dataclass(frozen=True)
class CodebookItem:
    """One codebook entry; ``row`` is its place in the file (CSV: data row, 1 = line 2;
    YAML: entry number from 1)."""

    item: str
    scale: str | None = None
    reverse: bool = False
    question: str = ""
    min: float | None = None
    max: float | None = None
    labels: dict[float, str] | None = None
    row: int = 0


@dataclasses.dataclass(frozen=True)
class Codebook:
    """The validated entries of a codebook file (see the module docstring)."""

    items: tuple[CodebookItem, ...]
    source: str = "codebook"

    def entry(self, item: str) -> CodebookItem | None:
        """The entry of column ``item`` (None when the codebook does not list it)."""
        return next((e for e in self.items if e.item == item), None)

    @property
    def scales(self) -> dict[str, list[str]]:
        """scale -> its items, in file order (items without a scale left out)."""
        out: dict[str, list[str]] = {}
        for e in self.items:
            if e.scale:
                out.setdefault(e.scale, []).append(e.item)
        return out

    @property
    def reverse_items(self) -> list[str]:
        return [e.item for e in self.items if e.reverse]

    def check_columns(self, columns: Sequence[str], *, source: str = "survey") -> None:
        """Raise :class:`CodebookError` for every item that is not a column of the survey."""
        problems = []
        for e in self.items:
            if e.item not in columns:
                near = difflib.get_close_matches(e.item, [str(c) for c in columns], n=3, cutoff=0.6)
                problems.append(Problem(self.source, "item", (e.row,), f"item {e.item!r} is not a column of {source}"
                                        + (f" (closest: {', '.join(map(repr, near))})" if near else ""),
                                        "spell the item as the survey's column, or remove the entry",
                                        "unknown_column", 1))  # fmt: skip
        if problems:
            raise CodebookError(problems, source=self.source)

    def to_frame(self) -> pd.DataFrame:
        """The entries as a table with the file's columns (labels as ``1=...|2=...``)."""
        return pd.DataFrame(
            [{"item": e.item, "scale": e.scale or "", "reverse": e.reverse, "question": e.question,
              "min": _number_text(e.min), "max": _number_text(e.max), "labels": _labels_text(e.labels)}
             for e in self.items], columns=list(CODEBOOK_FIELDS))  # fmt: skip


def _number_text(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


def _labels_text(labels: Mapping[float, str] | None) -> str:
    return "|".join(f"{v:g}={lab}" for v, lab in (labels or {}).items())


# --------------------------------------------------------------------------- reading


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def _parse_labels(value: Any, row: int, source: str, problems: list[Problem]) -> dict[float, str] | None:
    if _blank(value):
        return None
    if isinstance(value, str) and value.strip() in LIKERT_SCALES:
        return {float(k): lab for k, lab in enumerate(LIKERT_SCALES[value.strip()], start=1)}
    pairs: list[tuple[Any, Any]]
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, str):
        pairs = []
        for part in value.split("|"):
            code, sep, label = part.partition("=")
            if not sep:
                problems.append(Problem(source, "labels", (row,), f"label {part.strip()!r} has no code",
                                        "write labels as code=label separated by |, e.g. 1=Strongly disagree|"
                                        "2=Disagree, or a shipped set: " + ", ".join(LIKERT_SCALES)))  # fmt: skip
                return None
            pairs.append((code.strip(), label.strip()))
    else:
        problems.append(Problem(source, "labels", (row,), f"labels must be text or a mapping, not {type(value).__name__}",
                                "write labels as 1=Strongly disagree|2=Disagree|..."))  # fmt: skip
        return None
    out: dict[float, str] = {}
    for code, label in pairs:
        try:
            number = float(code)
        except (TypeError, ValueError):
            problems.append(Problem(source, "labels", (row,), f"label code {code!r} is not a number",
                                    "codes are the numbers the answers are scored as: 1=Strongly disagree"))
            return None
        if _blank(label) or not isinstance(label, (str, int, float)):
            problems.append(Problem(source, "labels", (row,), f"code {code} has no label text",
                                    "give each code its answer text: 1=Strongly disagree"))
            return None
        if number in out:
            problems.append(Problem(source, "labels", (row,), f"code {number:g} is labelled twice",
                                    "give each code one label"))
            return None
        out[number] = str(label)
    norm = [" ".join(lab.split()).casefold() for lab in out.values()]
    if len(set(norm)) != len(norm):
        problems.append(Problem(source, "labels", (row,), "two codes share a label (case and spaces ignored)",
                                "give each code its own answer text"))
        return None
    return out


def _parse_number(value: Any, field: str, row: int, source: str, problems: list[Problem]) -> float | None:
    if _blank(value):
        return None
    try:
        x = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        x = math.nan
    if not math.isfinite(x):
        problems.append(Problem(source, field, (row,), f"{field} {value!r} is not a finite number",
                                f"write the {'lowest' if field == 'min' else 'highest'} answer as a number, e.g. "
                                f"{1 if field == 'min' else 7}, or leave it blank for unbounded answers"))  # fmt: skip
        return None
    return x


def _parse_bool(value: Any, row: int, source: str, problems: list[Problem]) -> bool:
    if isinstance(value, bool):
        return value
    text = "" if _blank(value) else str(value).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    problems.append(Problem(source, "reverse", (row,), f"reverse {value!r} is not true or false",
                            "write true for a reverse-keyed item, false (or blank) otherwise"))
    return False


def _entries_from_yaml(text: str, source: str) -> list[dict[str, Any]]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise CodebookError([Problem(source, None, (), f"the file is not valid YAML ({err})",
                                     "fix the YAML syntax, or write the codebook as CSV")], source) from None
    if isinstance(doc, Mapping) and set(doc) == {"items"}:
        doc = doc["items"]
    if not isinstance(doc, list) or not all(isinstance(e, Mapping) for e in doc):
        raise CodebookError([Problem(source, None, (), "the YAML is not a list of entries",
                                     "write one mapping per item: - {item: q1, scale: trust, reverse: false, "
                                     "question: ..., min: 1, max: 5}")], source)  # fmt: skip
    return [dict(e) for e in doc]


def _entries_from_csv(path: Path, source: str) -> list[dict[str, Any]]:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise CodebookError([Problem(source, None, (), f"the file is not a readable CSV table ({err})",
                                     "save the codebook as CSV UTF-8 with the header "
                                     + ",".join(CODEBOOK_FIELDS))], source) from None  # fmt: skip
    df.columns = [str(c).strip() for c in df.columns]
    return df.to_dict("records")


def read_codebook(path: str | Path, *, columns: Sequence[str] | None = None) -> Codebook:
    """Read and validate a codebook file (CSV, or YAML ``.yaml``/``.yml``).

    Every problem is collected into one :class:`CodebookError` naming the file, the row
    and the fix: a missing or unknown field, a blank or repeated item, a reverse value
    that is not true/false, a non-numeric or empty range (min >= max), a reverse-keyed
    item without a range, answer labels outside the range, a scale of one item. With
    ``columns`` (the survey's columns) an item that is not a column is an error too.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "book.yaml"
    >>> _ = p.write_text("- {item: q1, scale: trust, reverse: false, question: Q, min: 5, max: 1}\\n")
    >>> read_codebook(p)
    Traceback (most recent call last):
    ...
    engagement_kit.codebook.CodebookError: 2 problems in ...book.yaml:
      - ...book.yaml.min: the range 5 to 1 is empty (min must be below max) [row 1]. Fix: ...
      - ...book.yaml.scale: scale 'trust' has one item (q1) [row 1]. Fix: ...
    """
    p = Path(path)
    source = str(path)
    if not p.is_file():
        raise FileNotFoundError(f"codebook {path}: no such file (draft one with `engagement-kit codebook SURVEY_FILE`)")
    if p.stat().st_size > _MAX_BYTES:
        raise CodebookError([Problem(source, None, (), f"the file has {p.stat().st_size:,} bytes",
                                     f"a codebook lists items; keep it under {_MAX_BYTES:,} bytes")], source)
    if p.suffix.lower() in (".yaml", ".yml"):
        raw = _entries_from_yaml(p.read_text(encoding="utf-8-sig"), source)
    elif p.suffix.lower() in (".csv", ".txt"):
        raw = _entries_from_csv(p, source)
    else:
        raise CodebookError([Problem(source, None, (), f"unknown codebook file type {p.suffix!r}",
                                     "write the codebook as .csv or .yaml")], source)
    problems: list[Problem] = []
    if not raw:
        problems.append(Problem(source, None, (), "the codebook has no entries", "list one entry per item"))
    fields = list(dict.fromkeys(k for e in raw for k in map(str, e)))
    unknown = [f for f in fields if f not in CODEBOOK_FIELDS]
    for f in unknown:
        near = difflib.get_close_matches(f, CODEBOOK_FIELDS, n=1, cutoff=0.6)
        problems.append(Problem(source, f, (), f"unknown field {f!r}" + (f" (did you mean {near[0]!r}?)" if near else ""),
                                f"use only the fields {', '.join(CODEBOOK_FIELDS)}", "unknown_column"))  # fmt: skip
    missing = [f for f in _REQUIRED if raw and f not in fields]
    for f in missing:
        problems.append(Problem(source, f, (), f"the field {f!r} is missing",
                                f"give every entry the fields {', '.join(_REQUIRED)} (labels optional)",
                                "missing_column"))  # fmt: skip
    if unknown or missing:
        raise CodebookError(problems, source)
    entries: list[CodebookItem] = []
    seen: dict[str, int] = {}
    for row, e in enumerate(raw, start=1):
        n_before = len(problems)
        for field in ("item", "scale", "question"):
            if not _blank(e.get(field)) and not isinstance(e.get(field), (str, int, float)):
                problems.append(Problem(source, field, (row,), f"{field} must be text, not {type(e[field]).__name__}",
                                        f"write the {field} as plain text"))  # fmt: skip
        if len(problems) > n_before:
            continue
        item = "" if _blank(e.get("item")) else str(e["item"]).strip()
        if not item:
            problems.append(Problem(source, "item", (row,), "the item is blank", "name the survey column of the item"))
            continue
        if item in seen:
            problems.append(Problem(source, "item", (row,), f"item {item!r} is listed twice (rows {seen[item]} and {row})",
                                    "keep one entry per item", "duplicate_id"))  # fmt: skip
            continue
        seen[item] = row
        lo = _parse_number(e.get("min"), "min", row, source, problems)
        hi = _parse_number(e.get("max"), "max", row, source, problems)
        reverse = _parse_bool(e.get("reverse"), row, source, problems)
        labels = _parse_labels(e.get("labels"), row, source, problems)
        if lo is not None and hi is not None and lo >= hi:
            problems.append(Problem(source, "min", (row,), f"the range {lo:g} to {hi:g} is empty (min must be below max)",
                                    "write the lowest answer in min and the highest in max", "out_of_range"))  # fmt: skip
        if reverse and (lo is None or hi is None):
            problems.append(Problem(source, "reverse", (row,), f"item {item!r} is reverse-keyed but has no min and max",
                                    "give the answer range: a reverse-keyed answer is rescored as min + max - x"))
        if labels and lo is not None and hi is not None:
            outside = [v for v in labels if not lo <= v <= hi]
            if outside:
                problems.append(Problem(source, "labels", (row,), f"label codes {[f'{v:g}' for v in outside]} are "
                                        f"outside the range {lo:g} to {hi:g}",
                                        "make min and max span the label codes", "out_of_range"))  # fmt: skip
        scale = None if _blank(e.get("scale")) else str(e["scale"]).strip()
        question = "" if _blank(e.get("question")) else str(e["question"]).strip()
        entries.append(CodebookItem(item, scale, reverse, question, lo, hi, labels, row))
    sizes: dict[str, list[CodebookItem]] = {}
    for entry in entries:
        if entry.scale:
            sizes.setdefault(entry.scale, []).append(entry)
    for scale, members in sizes.items():
        if len(members) == 1:
            problems.append(Problem(source, "scale", (members[0].row,), f"scale {scale!r} has one item ({members[0].item})",
                                    "a scale needs at least two items: add its other items, or leave scale blank "
                                    "to keep the item out of the scales"))  # fmt: skip
    if problems:
        raise CodebookError(problems, source)
    book = Codebook(tuple(entries), source)
    if columns is not None:
        book.check_columns(columns)
    return book


# --------------------------------------------------------------------------- using it


def dimensions_parameters(
    codebook: Codebook | None,
    *,
    scales: Mapping[str, list[str]] | None,
    reverse_items: Sequence[str] | None,
    likert_min: float | None,
    likert_max: float | None,
) -> dict[str, Any]:
    """``scales, reverse_items, likert_min, likert_max`` for
    :func:`engagement_kit.measurement.dimensions`: the codebook's when it is given (it
    replaces the four), else the ones passed in, unchanged. The scale items must share
    one answer range (the analysis takes one); otherwise a :class:`CodebookError` names
    the rows.

    >>> dimensions_parameters(None, scales=None, reverse_items=None, likert_min=1, likert_max=7)
    {'scales': None, 'reverse_items': None, 'likert_min': 1, 'likert_max': 7}
    """
    if codebook is None:
        return {"scales": scales, "reverse_items": reverse_items, "likert_min": likert_min, "likert_max": likert_max}
    members = [e for e in codebook.items if e.scale]
    if not members:
        raise CodebookError([Problem(codebook.source, "scale", (), "no item has a scale",
                                     "write each item's scale in the scale column")], codebook.source)
    ranges = {(e.min, e.max) for e in members}
    if len(ranges) > 1:
        first = (members[0].min, members[0].max)
        odd = [e for e in members if (e.min, e.max) != first]
        raise CodebookError([Problem(codebook.source, "max", tuple(e.row for e in odd[:5]),
                                     f"the scale items have {len(ranges)} answer ranges (e.g. {odd[0].item} "
                                     f"{_number_text(odd[0].min)}-{_number_text(odd[0].max)}, {members[0].item} "
                                     f"{_number_text(first[0])}-{_number_text(first[1])}); the analysis takes one",
                                     "rescale the items to one range, or analyse them in separate runs",
                                     "out_of_range", len(odd))], codebook.source)  # fmt: skip
    lo, hi = ranges.pop()
    return {"scales": codebook.scales, "reverse_items": codebook.reverse_items, "likert_min": lo, "likert_max": hi}


# --------------------------------------------------------------------------- drafting

_PREFIX = re.compile(r"^(.*?[A-Za-z].*?)[ _.\-]*\d+$")


def _prefix(name: str) -> str | None:
    m = _PREFIX.match(name)
    return m.group(1) if m else None


def draft_codebook(data: pd.DataFrame, *, source: str = "codebook") -> Codebook:
    """A first codebook for a survey read by :func:`engagement_kit.io.read_survey`.

    Items: the columns with answer labels (value labels, or text answers mapped by a
    Likert scale); without any, the numeric columns Qualtrics marks as questions. Items
    sharing a name prefix (``trust_1``, ``trust_2``; Qualtrics ``Q5_1``, ``Q5_2``) form a
    scale; the range is that of the labels (else of the answers seen); the question text
    is the file's. Reverse-keyed items cannot be told from labels: every ``reverse`` is
    false, to be set by someone who knows the questionnaire.

    >>> from engagement_kit.survey_files import SurveyMetadata
    >>> df = pd.DataFrame({"tr_1": [1, 5], "tr_2": [2, 4], "nps": [0, 10], "segment": ["a", "b"]})
    >>> df.attrs["survey"] = SurveyMetadata("x.sav", "spss", questions={"tr_1": "I trust them"},
    ...     value_labels={c: {1.0: "No", 5.0: "Yes"} for c in ("tr_1", "tr_2")} | {"nps": {0.0: "Never", 10.0: "Sure"}})
    >>> draft_codebook(df).to_frame()[["item", "scale", "question", "min", "max"]].values.tolist()
    [['tr_1', 'tr', 'I trust them', '1', '5'], ['tr_2', 'tr', '', '1', '5'], ['nps', '', '', '0', '10']]
    """
    meta = data.attrs.get("survey")  # a SurveyMetadata (engagement_kit.survey_files), which reads with this module
    value_labels: dict = getattr(meta, "value_labels", {})
    questions: dict = getattr(meta, "questions", {})
    import_ids: dict = getattr(meta, "import_ids", {})
    labelled = [c for c in data.columns if c in value_labels and pd.api.types.is_numeric_dtype(data[c])]
    if not labelled:
        labelled = [c for c in data.columns if str(import_ids.get(c, "")).startswith("QID")
                    and pd.api.types.is_numeric_dtype(data[c])]  # fmt: skip
    groups: dict[str, list[str]] = {}
    for c in labelled:
        p = _prefix(str(c))
        if p:
            groups.setdefault(p, []).append(c)
    entries = []
    for row, c in enumerate(labelled, start=1):
        p = _prefix(str(c))
        labels = value_labels.get(c) or None
        values = pd.to_numeric(data[c], errors="coerce").dropna()
        codes = list(labels) if labels else list(values)
        lo = float(min(codes)) if codes else None
        hi = float(max(codes)) if codes else None
        if lo is not None and lo == hi:
            hi = None
        scale = p if p and len(groups[p]) >= 2 else None
        entries.append(CodebookItem(str(c), scale, False, questions.get(c, ""), lo, hi, labels, row))
    return Codebook(tuple(entries), source)


def write_codebook(codebook: Codebook, path: str | Path) -> Path:
    """Write ``codebook`` as CSV, or YAML for a ``.yaml``/``.yml`` path; returns the path.

    A YAML file starts with a comment asking for the reverse-keyed items to be marked.
    """
    p = Path(path)
    frame = codebook.to_frame()
    if p.suffix.lower() in (".yaml", ".yml"):
        records = []
        for e in codebook.items:
            rec: dict[str, Any] = {"item": e.item, "scale": e.scale or "", "reverse": e.reverse, "question": e.question,
                                   "min": _plain(e.min), "max": _plain(e.max)}  # fmt: skip
            if e.labels:
                rec["labels"] = {_plain(v): lab for v, lab in e.labels.items()}
            records.append(rec)
        text = ("# Codebook: item, scale, reverse, question, min, max, labels (engagement_kit.codebook).\n"
                "# Check the scales and set reverse: true for reverse-keyed items.\n")
        p.write_text(text + yaml.safe_dump(records, sort_keys=False, allow_unicode=True), encoding="utf-8")
    else:
        frame.to_csv(p, index=False)
    return p


def _plain(x: float | None) -> int | float | None:
    return None if x is None else int(x) if float(x).is_integer() else float(x)
