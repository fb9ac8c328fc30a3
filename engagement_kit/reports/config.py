"""``reports.yaml``: the runs of a report batch, grid expansion and strict validation.

A run is a notebook plus parameter values. A ``grid`` expands one entry into several
named runs (the cartesian product of its keys); a grid key's values are either a list
(labels are the values) or a mapping ``label: value``; a mapping value that is itself a
mapping is a *bundle* of parameters that change together (e.g. one per data set)::

    runs:
      - name: hello_demo                       # unique; letters, digits, _ - .
        notebook: notebooks/hello_report.ipynb  # relative to this file's folder
        parameters:
          customers_path: data/demo/customers.csv
        key_figures: customers_by_segment.csv   # optional: CSV shown in the index
      - name: hello_{segment}                   # one run per segment
        notebook: notebooks/hello_report.ipynb
        grid:
          segment: [smb, mid_market, enterprise]

Everything is checked before any kernel starts (:func:`check_runs`): unknown keys,
wrong types, values that are not plain data, unknown parameter names, values whose type
differs from the notebook's default, missing data files, column names (parameters
tagged ``[column of data_path]`` and the like) that the data's header does not hold, and
a survey notebook's ``codebook``, ``estimator``, ``missing`` and ``ordinal_items`` (by the
validators of :mod:`engagement_kit.codebook` and :mod:`engagement_kit.measurement`).

Example
-------
>>> runs = expand_entry({"name": "m_{segment}", "notebook": "nb.ipynb",
...                      "grid": {"segment": ["smb", "enterprise"]}}, 0)
>>> [(r.name, r.parameters) for r in runs]
[('m_smb', {'segment': 'smb'}), ('m_enterprise', {'segment': 'enterprise'})]
"""

from __future__ import annotations

import difflib
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .monitor import MONITOR_PARAMETER
from .params import (
    EXPRESSION,
    ParameterError,
    check_parameters,
    closest,
    load_notebook,
    parameters_of,
    plain_data_problems,
)

__all__ = [
    "ConfigError",
    "RunSpec",
    "check_runs",
    "data_parameters",
    "expand_entry",
    "load_config",
    "name_problem",
    "notebook_problem",
    "parse_parameters",
    "plain_file_name",
    "select_runs",
]

TOP_KEYS = {"runs": list}
RUN_KEYS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "notebook": str,
    "parameters": dict,
    "grid": dict,
    "key_figures": str,
    "account_level": list,
    "description": str,
    "timeout": int,
    "monitor": str,
}
REQUIRED_RUN_KEYS = ("name", "notebook")
#: A run name or batch id is one path part: it starts with a letter, digit or '_' (never
#: '.', so never '.', '..' or a hidden folder) and holds no separator.
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
#: Names taken by the files of a batch folder and the output root's own entries.
RESERVED_NAMES = frozenset({"index.html", "manifest.json", "latest", "latest.txt"})
#: Most runs one grid entry may expand into (a typo in a grid must not start a million runs).
MAX_GRID_RUNS = 1000
#: File endings that mark a string parameter value as a data file.
DATA_SUFFIXES = (
    ".csv", ".tsv", ".parquet", ".pq", ".feather", ".arrow", ".json", ".jsonl",
    ".xlsx", ".xls", ".csv.gz", ".zip",
    ".sav", ".zsav", ".por", ".dta", ".sas7bdat", ".xpt",  # survey files (engagement_kit.survey_files)
    ".yaml", ".yml",  # e.g. a codebook: an input whose content the cache must see
)  # fmt: skip
#: Parameters the pipeline sets itself.
RESERVED = ("output_dir",)
#: Parameters whose text always names an input file, whatever its ending (a codebook may be
#: ``.txt``): the batch checks that it exists and the cache sees its content.
FILE_PARAMETERS = ("codebook",)


class ConfigError(ValueError):
    """An invalid batch configuration; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass
class RunSpec:
    """One named run after grid expansion: a notebook and its parameter values.

    ``notebook`` is as written in the config (relative to ``root``); ``data`` maps each
    data parameter to its resolved file once :func:`check_runs` has run.
    """

    name: str
    notebook: str
    parameters: dict[str, Any]
    key_figures: str | None = None
    #: CSV files of this run that hold one row per account (ids included) because the
    #: notebook's issue asks for an account-level table; every other output is aggregate.
    account_level: list[str] = field(default_factory=list)
    description: str = ""
    timeout: float | None = None
    #: the experiment this run is a scheduled look at (its history of looks: reports/monitor.py)
    monitor: str | None = None
    entry: str = ""
    root: Path = field(default_factory=Path.cwd)
    effective: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Path] = field(default_factory=dict)

    @property
    def notebook_path(self) -> Path:
        p = Path(self.notebook)
        return p if p.is_absolute() else self.root / p


def _type_label(t: type | tuple[type, ...]) -> str:
    names = {"str": "a string", "dict": "a mapping", "list": "a list", "int": "a number", "float": "a number"}
    ts = t if isinstance(t, tuple) else (t,)
    return " or ".join(dict.fromkeys(names.get(x.__name__, x.__name__) for x in ts))


def _grid_options(key: str, values: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    if isinstance(values, list):
        if not values:
            raise ConfigError([f"{where}: grid key {key!r} has no values"])
        return [(str(v), {key: v}) for v in values]
    if isinstance(values, dict):
        if not values:
            raise ConfigError([f"{where}: grid key {key!r} has no values"])
        return [(str(label), dict(v) if isinstance(v, dict) else {key: v}) for label, v in values.items()]
    raise ConfigError(
        [f"{where}: grid key {key!r} must be a list of values or a mapping label: value, got {values!r}"]
    )


def name_problem(name: str, what: str) -> str | None:
    """Why ``name`` cannot be a run name or batch id, i.e. one plain path part (None: it can).

    >>> name_problem("hello_smb", "run name") is None
    True
    >>> name_problem("..", "run name")
    "run name '..' must start with a letter, digit or '_' and hold only letters, digits, '_', '-' and '.' (at most 100)"
    """
    if not isinstance(name, str) or not NAME_RE.match(name):
        return (
            f"{what} {name!r} must start with a letter, digit or '_' and hold only letters, digits, "
            "'_', '-' and '.' (at most 100)"
        )
    if name in RESERVED_NAMES:
        return f"{what} {name!r} is reserved for the batch's own files; choose another"
    return None


#: The folder, next to the batch file, that holds the notebooks a batch may run: notebooks
#: are code, so the configuration may only pick among the project's own.
NOTEBOOK_FOLDER = "notebooks"


def notebook_problem(notebook: Any, root: Path) -> str | None:
    """Why ``notebook`` (as written in the config) may not be run (None: it may): it must be a
    relative path to a ``.ipynb`` file inside ``<root>/notebooks/`` (symbolic links resolved)."""
    p = Path(str(notebook))
    folder = (root / NOTEBOOK_FOLDER).resolve()
    target = (root / p).resolve()
    if p.is_absolute() or ".." in p.parts or p.suffix != ".ipynb" or folder not in target.parents:
        return (
            f"notebook {str(notebook)!r} must be a .ipynb file inside the {NOTEBOOK_FOLDER}/ folder next to the "
            f"batch file ({folder}); notebooks are code, so a batch runs only the project's own"
        )
    return None


def plain_file_name(name: Any) -> str | None:
    """``name`` as a plain file name inside a run folder (``./a.csv`` -> ``a.csv``), or None
    if it is not one (absolute, with a folder part, ``..``, hidden, empty).

    >>> plain_file_name("./dsce_scores.csv"), plain_file_name("/etc/passwd"), plain_file_name("../x.csv")
    ('dsce_scores.csv', None, None)
    """
    if not isinstance(name, str) or not name or "\\" in name or "\0" in name:
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if name.startswith("/") or len(parts) != 1 or parts[0] == ".." or parts[0].startswith("."):
        return None
    return parts[0]


def _label(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"


def expand_entry(entry: dict[str, Any], index: int, root: Path | None = None) -> list[RunSpec]:
    """Check one ``runs:`` entry and expand its grid into named :class:`RunSpec` objects."""
    where = f"runs[{index}]" + (f" ({entry['name']})" if isinstance(entry, dict) and "name" in entry else "")
    if not isinstance(entry, dict):
        raise ConfigError([f"{where}: each run must be a mapping with name and notebook, got {entry!r}"])
    problems = []
    for key, value in entry.items():
        if key not in RUN_KEYS:
            hint = closest(str(key), list(RUN_KEYS))
            problems.append(
                f"{where}: unknown key {key!r}"
                + (f" (did you mean {hint!r}?)" if hint else "")
                + f"; valid keys: {', '.join(RUN_KEYS)}"
            )
        elif not isinstance(value, RUN_KEYS[key]) or isinstance(value, bool):
            problems.append(f"{where}: {key!r} must be {_type_label(RUN_KEYS[key])}, got {value!r}")
    for key in REQUIRED_RUN_KEYS:
        if key not in entry:
            problems.append(f"{where}: missing required key {key!r}")
    if isinstance(entry.get("monitor"), str) and name_problem(entry["monitor"], "monitor"):
        problems.append(f"{where}: {name_problem(entry['monitor'], 'monitor')}")
    if "timeout" in entry and isinstance(entry["timeout"], int) and entry["timeout"] < 1:
        problems.append(f"{where}: 'timeout' must be a whole number of seconds >= 1, got {entry['timeout']!r}")
    files = ([entry["key_figures"]] if isinstance(entry.get("key_figures"), str) else []) + list(
        entry.get("account_level") or []
    )
    for f in files:
        if plain_file_name(f) is None:
            problems.append(
                f"{where}: {f!r} must be the plain name of a file the run writes (like 'effects.csv'), "
                "without folders"
            )
    if problems:
        raise ConfigError(problems)
    base = dict(entry.get("parameters") or {})
    for reserved in RESERVED:
        if reserved in base:
            problems.append(f"{where}: {reserved!r} is set by the pipeline (each run's own folder); remove it")
    grid = entry.get("grid") or {}
    options = [_grid_options(k, v, where) for k, v in grid.items()]
    n_runs = 1
    for o in options:
        n_runs *= len(o)
    if n_runs > MAX_GRID_RUNS:
        raise ConfigError([f"{where}: the grid expands into {n_runs:,} runs, more than {MAX_GRID_RUNS}; split it"])
    template = entry["name"]
    runs = []
    for combo in itertools.product(*options) if options else [()]:
        params = dict(base)
        labels = {}
        for key, (label, values) in zip(grid, combo, strict=True):
            params.update(values)
            labels[key] = _label(label)
        if combo and "{" in template:
            try:
                name = template.format(**labels)
            except (KeyError, IndexError) as exc:
                problems.append(f"{where}: name placeholder {exc} is not a grid key ({', '.join(grid)})")
                continue
        elif combo:
            name = "_".join([template, *labels.values()])
        else:
            name = template
        problem = name_problem(name, "run name")
        if problem:
            problems.append(f"{where}: {problem}")
        for reserved in RESERVED:
            if reserved in params and reserved not in base:
                problems.append(f"{where}: {reserved!r} is set by the pipeline; remove it from the grid")
        runs.append(
            RunSpec(
                name=name,
                notebook=entry["notebook"],
                parameters=params,
                key_figures=plain_file_name(entry["key_figures"]) if "key_figures" in entry else None,
                account_level=[plain_file_name(f) or "" for f in entry.get("account_level") or []],
                description=entry.get("description", ""),
                timeout=entry.get("timeout"),
                monitor=entry.get("monitor"),
                entry=template,
                root=root or Path.cwd(),
            )
        )
    if problems:
        raise ConfigError(problems)
    return runs


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (PyYAML keeps the
    last silently, so a second ``parameters:`` would replace the first unnoticed)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            try:
                hashable = key in seen
            except TypeError:
                continue  # an unhashable key: construct_mapping reports it
            if hashable:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark,
                    f"found the key {key!r} twice (first at line {seen[key].line + 1}); keep one", key_node.start_mark,
                )  # fmt: skip
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


#: Largest reports.yaml read (bytes); a batch file is a few kilobytes.
MAX_CONFIG_BYTES = 1_000_000


def load_config(path: str | Path) -> list[RunSpec]:
    """Read and expand a ``reports.yaml``; raises :class:`ConfigError` listing every problem.

    Every value must be plain data (see :func:`~engagement_kit.reports.params.plain_data_problems`):
    YAML tags that build other objects (``!!omap``, ``!!set``, ``!!binary``, dates) are refused.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError([f"config file {path} not found (pass --config PATH)"])
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ConfigError([f"{path}: larger than {MAX_CONFIG_BYTES:,} bytes; a batch file holds runs, not data"])
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text ({exc.reason}); save it as UTF-8"]) from exc
    if not isinstance(raw, dict):
        raise ConfigError([f"{path}: expected a mapping with a 'runs:' list at the top"])
    problems = []
    for key in raw:
        if key not in TOP_KEYS:
            hint = closest(str(key), list(TOP_KEYS))
            problems.append(
                f"{path}: unknown top-level key {key!r}" + (f" (did you mean {hint!r}?)" if hint else "")
            )
    if not isinstance(raw.get("runs"), list) or not raw.get("runs"):
        problems.append(f"{path}: 'runs' must be a non-empty list of runs")
    if problems:
        raise ConfigError(problems)
    for i, entry in enumerate(raw["runs"]):
        name = entry.get("name") if isinstance(entry, dict) else None
        problems += plain_data_problems(entry, f"{path}: runs[{i}]" + (f" ({name})" if isinstance(name, str) else ""))
    if problems:
        raise ConfigError(problems)
    root = path.resolve().parent
    runs: list[RunSpec] = []
    for i, entry in enumerate(raw["runs"]):
        try:
            runs.extend(expand_entry(entry, i, root))
        except ConfigError as exc:
            problems.extend(exc.problems)
    seen: dict[str, str] = {}
    for r in runs:
        if r.name in seen:
            problems.append(f"run name {r.name!r} is used twice (entries {seen[r.name]!r} and {r.entry!r})")
        seen[r.name] = r.entry
    if problems:
        raise ConfigError(problems)
    return runs


def parse_parameters(items: list[str]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs from the command line as parameters; each VALUE is read as YAML by
    the same strict safe loader as ``reports.yaml`` and must be plain data.

    >>> parse_parameters(["alpha=0.1", "metrics={y: binary}", "label=No E-Mail"])
    {'alpha': 0.1, 'metrics': {'y': 'binary'}, 'label': 'No E-Mail'}
    """
    out: dict[str, Any] = {}
    problems: list[str] = []
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            problems.append(f"--param {item!r}: write NAME=VALUE with a parameter name, e.g. alpha=0.1")
            continue
        try:
            value = yaml.load(text, Loader=_StrictLoader) if text.strip() else ""  # noqa: S506 - a SafeLoader
        except yaml.YAMLError as exc:
            problems.append(f"--param {name}: not a valid value ({exc}); quote text with spaces or colons")
            continue
        plain = plain_data_problems(value, f"--param {name}")
        if name in (*RESERVED, MONITOR_PARAMETER):
            problems.append(f"--param {name}: set by the batch itself (each run's own folder, the earlier looks); remove it")
        elif plain:
            problems.extend(plain)
        else:
            out[name] = value
    if problems:
        raise ConfigError(problems)
    return out


def select_runs(runs: list[RunSpec], only: list[str] | None) -> list[RunSpec]:
    """The runs named in ``only`` (exact names, entry names or shell patterns like ``hello_*``)."""
    if not only:
        return runs
    import fnmatch

    chosen, problems = [], []
    for pattern in only:
        hits = [r for r in runs if fnmatch.fnmatchcase(r.name, pattern) or r.entry == pattern]
        if not hits:
            hint = closest(pattern, [r.name for r in runs])
            problems.append(f"--only {pattern!r} matches no run" + (f" (did you mean {hint!r}?)" if hint else ""))
        chosen.extend(h for h in hits if h not in chosen)
    if problems:
        raise ConfigError(problems)
    return [r for r in runs if r in chosen]


def _looks_like_data(name: str, value: Any) -> bool:
    if not isinstance(value, str) or not value or name in RESERVED:
        return False
    return name in FILE_PARAMETERS or name.endswith(("_path", "_dir")) or value.lower().endswith(DATA_SUFFIXES)


def data_parameters(params: dict[str, Any], root: Path) -> dict[str, Path]:
    """The data among ``params``: names ending in ``_path`` (a file or a folder of tables) or
    ``_dir`` (a folder), or values ending in a data suffix; ``output_dir`` excluded."""
    out = {}
    for name, value in params.items():
        if _looks_like_data(name, value):
            p = Path(value).expanduser()
            out[name] = p if p.is_absolute() else root / p
    return out


def _is_glob(path: Path | str) -> bool:
    return any(ch in str(path) for ch in "*?[")


def _glob_files(path: Path) -> list[Path]:
    root = Path(path.anchor or ".")
    return [f for f in root.glob(str(path.relative_to(root) if path.is_absolute() else path)) if f.is_file()]


def _duckdb_header(path: Path, table: str | None) -> list[str] | None:
    """Columns of a glob of Parquet/CSV files, or of ``table`` in a ``.duckdb`` file, read by
    DuckDB from the files' metadata / the database's catalog (no rows are scanned)."""
    try:
        from ..engines import as_table

        return list(as_table(path, table=table).columns)
    except Exception:  # noqa: BLE001 - unreadable: the notebook explains it
        return None


def table_header(path: Path, table: str | None = None) -> list[str] | None:
    """The column names of a data file (read from its header only), or of every table in a
    folder of tables, plus the columns the toolkit's loader derives from them (``promoter``
    from ``nps``); None where they cannot be read cheaply (the notebook reports it then).
    A glob, or a ``.duckdb`` file with ``table``, is described by DuckDB without reading rows."""
    from ..io import DERIVED_COLUMNS

    if _is_glob(path) or path.suffix.lower() in (".duckdb", ".ddb"):
        names = _duckdb_header(path, table) if (_is_glob(path) or table) else None
    else:
        names = _raw_header(path)
    if names is None:
        return None
    return names + [d for d, source in DERIVED_COLUMNS.items() if source in names and d not in names]


def _raw_header(path: Path) -> list[str] | None:
    if path.is_dir():
        names: list[str] = []
        for f in sorted(path.iterdir()):
            if f.is_file() and f.name.lower().endswith(DATA_SUFFIXES) and not f.name.startswith("."):
                names += _raw_header(f) or []
        return list(dict.fromkeys(names)) or None
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        if name.endswith((".csv", ".tsv", ".csv.gz", ".txt")):
            import pandas as pd

            return [str(c) for c in pd.read_csv(path, nrows=0, sep=None if name.endswith(".txt") else
                                                 "\t" if name.endswith(".tsv") else ",", engine="python").columns]
        if name.endswith((".sav", ".zsav", ".por", ".dta", ".sas7bdat", ".xpt")):
            from ..survey_files import STAT_SUFFIXES
            import pyreadstat

            _, meta = getattr(pyreadstat, STAT_SUFFIXES[Path(name).suffix])(str(path), metadataonly=True)
            return [str(c) for c in meta.column_names]
    except Exception:  # noqa: BLE001 - an unreadable file is the notebook's (and validate's) to explain
        return None
    return None


def _metric_kind_problems(metrics: dict, parameter: str, where: str) -> list[str]:
    """Metric specs whose kind is not one the experiment knows (visible from the config alone)."""
    from ..experiments.aggregate import METRIC_KINDS

    problems = []
    for name, spec in metrics.items():
        kind = spec if isinstance(spec, str) else (spec[0] if isinstance(spec, list) and spec else None)
        if kind not in METRIC_KINDS:
            near = difflib.get_close_matches(str(kind), list(METRIC_KINDS), n=1, cutoff=0.5)
            problems.append(
                f"{where}: parameter {parameter!r}: metric {name!r} has kind {kind!r}"
                + (f" (did you mean {near[0]!r}?)" if near else "")
                + f"; kinds: {', '.join(METRIC_KINDS)}"
            )
    return problems


def _column_problems(run: RunSpec, declared: list, where: str) -> list[str]:
    """Parameters the user set that name columns their table does not have."""
    problems = []
    headers: dict[str, list[str] | None] = {}
    for p in declared:
        if p.column_role is None or p.name not in run.parameters:
            continue  # a default the user did not set: the notebook skips what it cannot do
        if p.column_role == "metrics" and isinstance(run.parameters[p.name], dict):
            problems += _metric_kind_problems(run.parameters[p.name], p.name, where)
        wanted = p.columns(run.parameters[p.name])
        path = run.data.get(p.columns_of or "")
        if run.effective.get("engine") == "spark":
            continue  # no Spark session before the kernel: the notebook checks the columns in Spark
        if not wanted or path is None or not (path.is_file() or path.is_dir() or _is_glob(path)):
            continue
        if p.columns_of not in headers:
            headers[p.columns_of] = table_header(path, run.effective.get("table"))
        header = headers[p.columns_of]
        if header is None:
            continue
        for col in dict.fromkeys(wanted):
            if col in header:
                continue
            near = difflib.get_close_matches(col, header, n=3, cutoff=0.5)
            shown = ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")
            problems.append(
                f"{where}: parameter {p.name!r} names column {col!r}, which {run.effective[p.columns_of]} does not have"
                + (f"; closest: {', '.join(map(repr, near))}" if near else "")
                + f". Its columns: {shown}. Fix: set {p.name} to one of them"
            )
    return problems


def _language_problem(language: Any) -> str | None:
    """Why ``language`` cannot be a report's language (None when it can)."""
    from ..i18n import UnknownLanguageError, check_language

    if not isinstance(language, str):
        return f"{language!r} is not a language code; use one of en, it, es, zh, ru"
    try:
        check_language(language)
    except UnknownLanguageError as exc:
        return str(exc)
    return None


def _survey_problems(run: RunSpec, names: list[str], where: str) -> list[str]:
    """The survey parameters of a notebook that hands them to
    :func:`engagement_kit.measurement.dimensions`: the ``codebook`` file read and checked
    against the data's header, and ``estimator``, ``missing`` and ``ordinal_items`` checked
    against the scale items, each by the library's own validator (the rules live there)."""
    from ..codebook import dimensions_parameters, read_codebook
    from ..measurement.analysis import default_scales, dimensions_option_problems
    from ..validation import ValidationError

    eff, problems = run.effective, []
    data = run.data.get("data_path")
    header = None
    if data is not None and (data.is_file() or data.is_dir()) and eff.get("engine") != "spark":
        header = table_header(data, eff.get("table"))
    items: list[str] | None = None
    book = eff.get("codebook")
    if "codebook" in names and book is not None and not (isinstance(book, str) and book.strip()):
        problems.append(f"{where}: parameter 'codebook' = {book!r} is not a file path. "
                        "Fix: set codebook to the path of a CSV or YAML codebook, or to None")
    elif "codebook" in names and book is not None:
        path = run.data["codebook"]
        try:  # a codebook not found is reported with the other data paths
            spec = dimensions_parameters(read_codebook(path, columns=header), scales=None, reverse_items=None,
                                         likert_min=None, likert_max=None) if path.is_file() else None
            items = None if spec is None else [i for its in spec["scales"].values() for i in its]
        except ValidationError as exc:
            problems += [f"{where}: parameter 'codebook' = {book!r}: {p}" for p in exc.problems]
        except (OSError, ValueError) as exc:
            problems.append(f"{where}: parameter 'codebook' = {book!r}: {exc}")
    if not {"estimator", "missing"} <= set(names):
        return problems
    scales = eff.get("scales") if book is None else False  # a codebook replaces scales
    if isinstance(scales, dict) and all(isinstance(v, list) for v in scales.values()):
        items = [i for its in scales.values() for i in its]
    elif scales is None and header is not None:
        try:
            items = [i for its in default_scales(header).values() for i in its]
        except ValueError:
            pass  # no default scale in the header: the notebook explains it with the data at hand
    for name, problem in dimensions_option_problems(estimator=eff.get("estimator"), missing=eff.get("missing"),
                                                    ordinal_items=eff.get("ordinal_items"), items=items):
        problems.append(f"{where}: parameter {name!r} = {eff.get(name)!r}: {problem}")
    return problems


def check_runs(runs: list[RunSpec]) -> None:
    """Check every run against its notebook before any kernel starts.

    Fills ``run.effective`` (notebook defaults overlaid with the given values) and
    ``run.data``; raises :class:`ConfigError` listing every problem.
    """
    problems: list[str] = []
    declared_cache: dict[Path, list] = {}
    for run in runs:
        where = f"run {run.name!r}"
        # RunSpecs built in Python skip load_config: the same path rules apply to them
        problem = name_problem(run.name, "run name")
        if problem:
            problems.append(problem)
        problem = notebook_problem(run.notebook, run.root)
        if problem:
            problems.append(f"{where}: {problem}")
            continue
        for f in ([run.key_figures] if run.key_figures is not None else []) + list(run.account_level):
            if plain_file_name(f) != f:
                problems.append(f"{where}: {f!r} must be the plain name of a file the run writes, without folders")
        nb_path = run.notebook_path
        if nb_path not in declared_cache:
            try:
                declared_cache[nb_path] = parameters_of(load_notebook(nb_path))
            except ParameterError as exc:
                declared_cache[nb_path] = exc  # type: ignore[assignment]
        declared = declared_cache[nb_path]
        if isinstance(declared, ParameterError):
            problems.append(f"{where}: {run.notebook}: {declared}")
            continue
        names = [p.name for p in declared]
        for reserved in RESERVED:
            if reserved not in names:
                problems.append(
                    f"{where}: {run.notebook} has no {reserved!r} parameter; "
                    f'add `{reserved} = "."  # folder for the CSV results` to its parameters cell'
                )
        problems.extend(f"{where}: {p}" for p in check_parameters(declared, run.parameters))
        if MONITOR_PARAMETER in run.parameters:
            problems.append(f"{where}: {MONITOR_PARAMETER!r} is set by the batch for a run with 'monitor:'; remove it")
        if run.monitor and MONITOR_PARAMETER not in names:
            problems.append(
                f"{where}: 'monitor: {run.monitor}' needs a notebook with a {MONITOR_PARAMETER!r} parameter "
                f"(the earlier looks' times); {run.notebook} has none"
            )
        defaults = {p.name: p.default for p in declared if p.default is not EXPRESSION and p.name not in RESERVED}
        run.effective = {**defaults, **run.parameters}
        if "language" in run.effective:
            problem = _language_problem(run.effective["language"])
            if problem:
                problems.append(f"{where}: parameter 'language': {problem}")
        run.data = data_parameters(run.effective, run.root)
        spark_table = run.effective.get("engine") == "spark" and run.effective.get("table")
        for name, path in run.data.items():
            folder = name.endswith("_dir")  # a `_path` may name a file or a folder of tables
            if spark_table and name == "data_path":
                continue  # the rows come from the Spark catalog's table, not from data_path
            if _is_glob(path):
                if not _glob_files(path):
                    problems.append(f"{where}: parameter {name!r}: the glob {run.effective[name]} matches no file")
                continue
            if path.exists() and not (path.is_dir() or path.is_file()):
                problems.append(
                    f"{where}: parameter {name!r}: {run.effective[name]} is not a regular file or folder "
                    "(a pipe, device or socket); point it at a data file"
                )
            elif not (path.is_dir() if folder else path.exists()):
                hint = (" (create the demo data with `make demo`)" if "data/demo" in str(run.effective[name]) else
                        " (draft one with `engagement-kit codebook SURVEY_FILE`)" if name == "codebook" else "")
                what = "data folder" if folder else "data file"
                problems.append(f"{where}: parameter {name!r}: {what} {run.effective[name]} not found{hint}")
        problems.extend(_column_problems(run, declared, where))
        problems.extend(_survey_problems(run, names, where))
    if problems:
        raise ConfigError(problems)
