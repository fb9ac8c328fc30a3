"""A notebook's ``parameters`` cell: names, defaults, types, and the comment beside each.

The cell tagged ``parameters`` holds one assignment per line,
``name = default  # comment``. Its defaults define the parameter types that the
batch checks values against before any kernel starts.

Example
-------
>>> import nbformat
>>> nb = nbformat.v4.new_notebook()
>>> cell = nbformat.v4.new_code_cell('n = 10  # sample size\\nseed = 1')
>>> cell.metadata["tags"] = ["parameters"]
>>> nb.cells.append(cell)
>>> [(p.name, p.type_name, p.default, p.comment) for p in parameters_of(nb)]
[('n', 'int', 10, 'sample size'), ('seed', 'int', 1, '')]
"""

from __future__ import annotations

import ast
import difflib
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

__all__ = [
    "Parameter",
    "ParameterError",
    "check_parameters",
    "closest",
    "describe",
    "load_notebook",
    "parameters_cell",
    "parameters_of",
    "plain_data_problems",
]

#: Marker for a default that is an expression rather than a literal (no type check).
EXPRESSION = object()


class ParameterError(ValueError):
    """A parameters cell that cannot be read, or a parameter value that does not fit it."""


#: ``[ROLE of DATA_PARAMETER]`` at the start of a parameter's comment declares that its
#: value names columns of the table that ``DATA_PARAMETER`` points to; the batch checks
#: them against the table's header before any kernel starts. Roles:
#: ``column`` (a name, or None / "" for none), ``columns`` (a list of names),
#: ``metrics`` (the experiment's metric specs: ``{column: kind}`` or ``{label: [kind, column, ...]}``),
#: ``scales`` (``{scale: [item column, ...]}``).
COLUMN_TAG = re.compile(r"^\[(column|columns|metrics|scales) of ([A-Za-z_][A-Za-z0-9_]*)\]\s*")


@dataclass(frozen=True)
class Parameter:
    """One parameter: its name, literal default (or :data:`EXPRESSION`), type name, comment,
    line, and, when its comment starts with a column tag (:data:`COLUMN_TAG`), the role of
    the columns it names and the data parameter whose table holds them."""

    name: str
    default: Any
    type_name: str
    comment: str
    source: str
    column_role: str | None = None
    columns_of: str | None = None

    def columns(self, value: Any) -> list[str]:
        """The column names that ``value`` of this parameter refers to (empty when it names none).

        >>> Parameter("metrics", {}, "dict", "", "", "metrics", "data_path").columns(
        ...     {"retained": "binary", "churn": ["time_to_event", "churn_time", "churned"]})
        ['retained', 'churn_time', 'churned']
        """
        role = self.column_role
        if role is None or value is None or value == "":
            return []
        if role == "column":
            return [value] if isinstance(value, str) else []
        if role == "columns":
            return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
        if not isinstance(value, dict):
            return []
        if role == "metrics":  # {column: kind} or {label: [kind, column, column]}
            out: list[str] = []
            for name, spec in value.items():
                out += [name] if isinstance(spec, str) else [c for c in list(spec)[1:] if isinstance(c, str)]
            return out
        return [c for items in value.values() if isinstance(items, list) for c in items if isinstance(c, str)]

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` has a type compatible with the default.

        ``int`` accepts ints (not bools), ``float`` accepts ints and floats, a ``None`` or
        expression default accepts anything, containers accept the same container kind.
        ``None`` is accepted where the parameter's comment documents it (mentions "None"),
        as in ``cost_col = "cost_to_serve"  # ... None for no value analysis``.
        """
        t = self.type_name
        if t in ("any", "expression"):
            return True
        if value is None and "none" in self.comment.lower():
            return True
        if t == "bool":
            return isinstance(value, bool)
        if t == "int":
            return isinstance(value, int) and not isinstance(value, bool)
        if t == "float":
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        if t == "str":
            return isinstance(value, str)
        if t in ("list", "tuple"):
            return isinstance(value, (list, tuple))
        if t == "dict":
            return isinstance(value, dict)
        return True


#: Largest parameter value accepted, counted as items (list/dict entries) plus characters of
#: strings, with every YAML alias expanded: a 600-byte alias bomb expands to billions.
MAX_PARAMETER_SIZE = 1_000_000
#: Deepest nesting of lists and mappings accepted in a parameter value.
MAX_PARAMETER_DEPTH = 32

_FIXES = {
    "date": "quote the date (e.g. '2026-11-01') or write it as a number",
    "datetime": "quote the timestamp (e.g. '2026-11-01T12:00:00')",
    "bytes": "write the value as a plain string, not !!binary",
    "set": "write a list ([a, b]) instead of a set (!!set)",
    "tuple": "write a list ([a, b]) or a mapping instead of !!omap / !!pairs",
}


def plain_data_problems(value: Any, where: str) -> list[str]:
    """Why ``value`` is not plain JSON data (empty list: it is).

    Plain data is ``str``, ``int``, finite ``float``, ``bool``, ``None``, and lists and
    dicts (with ``str`` keys) of plain data, at most :data:`MAX_PARAMETER_DEPTH` deep and
    :data:`MAX_PARAMETER_SIZE` items and characters in all. Anything else is refused
    before a kernel starts, because papermill writes ``str(value)`` of an unknown type
    unescaped into the injected cell: a YAML ``!!omap`` or ``!!set`` value could run code.

    >>> plain_data_problems({"a": [1, 2.5, None, "x"]}, "p")
    []
    >>> import datetime
    >>> plain_data_problems({"start": datetime.date(2026, 11, 1)}, "parameter 'p'")[0]
    "parameter 'p' at ['start']: a date (2026-11-01) is not plain data; quote the date (e.g. '2026-11-01') or write it as a number"
    """
    problems: list[str] = []
    budget = [MAX_PARAMETER_SIZE]

    def _at(path: str) -> str:
        return f" at {path}" if path else ""

    def walk(v: Any, path: str, depth: int) -> None:
        if problems:
            return  # the first problem of a value is enough (a bomb would report millions)
        budget[0] -= 1
        if budget[0] < 0:
            problems.append(
                f"{where}{_at(path)}: the value is larger than {MAX_PARAMETER_SIZE:,} items and characters "
                "(YAML anchors and aliases multiply it); pass a file path instead of the data"
            )
            return
        if depth > MAX_PARAMETER_DEPTH:
            problems.append(f"{where}{_at(path)}: nested deeper than {MAX_PARAMETER_DEPTH} levels; flatten the value")
            return
        if v is None or isinstance(v, (bool, int)):
            return
        if isinstance(v, float):
            if v != v or v in (float("inf"), float("-inf")):
                problems.append(f"{where}{_at(path)}: {v!r} is not a finite number; give a number or null")
            return
        if isinstance(v, str):
            budget[0] -= len(v)
            if budget[0] < 0:
                walk(None, path, depth)  # reports the size problem
            return
        if isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, f"{path}[{i}]", depth + 1)
            return
        if isinstance(v, dict):
            for k, x in v.items():
                if not isinstance(k, str):
                    problems.append(
                        f"{where}{_at(path)}: key {k!r} ({type(k).__name__}) is not a string; quote the key"
                    )
                    return
                walk(x, f"{path}[{k!r}]", depth + 1)
            return
        kind = type(v).__name__
        fix = _FIXES.get(kind, "write it as a string, number, boolean, null, list or mapping")
        shown = v.isoformat() if hasattr(v, "isoformat") else repr(v)[:60]
        problems.append(f"{where}{_at(path)}: a {kind} ({shown}) is not plain data; {fix}")

    walk(value, "", 0)
    return problems


def _type_name(value: Any) -> str:
    if value is EXPRESSION:
        return "expression"
    if value is None:
        return "any"
    return type(value).__name__


def load_notebook(path: str | Path) -> nbformat.NotebookNode:
    """Read a notebook (nbformat 4) from ``path`` with a clear error if it is not one."""
    p = Path(path)
    if not p.is_file():
        raise ParameterError(f"notebook {p} does not exist")
    try:
        return nbformat.read(p, as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types
        # the exception's text may quote the file: name only its kind
        raise ParameterError(f"notebook {p} is not a readable .ipynb file ({type(exc).__name__})") from exc


def parameters_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
    """The first code cell tagged ``parameters`` (None if there is none)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            return cell
    return None


def _comments_by_line(source: str) -> dict[int, str]:
    comments: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                comments[tok.start[0]] = tok.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError):
        pass
    return comments


def parameters_of(nb: nbformat.NotebookNode | str | Path) -> list[Parameter]:
    """The parameters declared in a notebook's ``parameters`` cell, in order.

    Raises :class:`ParameterError` if there is no such cell or it is not valid Python.
    """
    if not isinstance(nb, nbformat.NotebookNode):
        nb = load_notebook(nb)
    cell = parameters_cell(nb)
    if cell is None:
        raise ParameterError(
            "the notebook has no code cell tagged 'parameters' "
            "(add the tag to the cell holding `name = default  # comment` lines)"
        )
    source = cell.source
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ParameterError(f"the parameters cell is not valid Python: {exc}") from exc
    comments = _comments_by_line(source)
    lines = source.splitlines()
    out: list[Parameter] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value_node = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, value_node = node.target.id, node.value
        else:
            continue
        try:
            default = ast.literal_eval(value_node)
        except (ValueError, SyntaxError, TypeError):
            default = EXPRESSION
        comment = comments.get(node.end_lineno or node.lineno, comments.get(node.lineno, ""))
        tag = COLUMN_TAG.match(comment)
        out.append(
            Parameter(
                name=name,
                default=default,
                type_name=_type_name(default),
                comment=comment[tag.end():] if tag else comment,
                source=lines[node.lineno - 1].strip() if node.lineno - 1 < len(lines) else "",
                column_role=tag.group(1) if tag else None,
                columns_of=tag.group(2) if tag else None,
            )
        )
    return out


def closest(name: str, candidates: list[str]) -> str | None:
    """The candidate most similar to ``name`` (None if nothing is close)."""
    found = difflib.get_close_matches(name, candidates, n=1, cutoff=0.5)
    return found[0] if found else None


def check_parameters(declared: list[Parameter], given: dict[str, Any]) -> list[str]:
    """Problems with ``given`` values against the ``declared`` parameters (empty: all fine).

    Each problem is one readable sentence: an unknown name (with the closest valid name)
    or a value whose type does not match the default's.
    """
    by_name = {p.name: p for p in declared}
    problems = []
    for name, value in given.items():
        p = by_name.get(name)
        plain = plain_data_problems(value, f"parameter {name!r}")
        if plain:
            problems.extend(plain)
        elif p is None:
            hint = closest(name, list(by_name))
            valid = ", ".join(by_name) or "none"
            problems.append(
                f"unknown parameter {name!r}"
                + (f" (did you mean {hint!r}?)" if hint else "")
                + f"; valid parameters: {valid}"
            )
        elif not p.accepts(value):
            problems.append(
                f"parameter {name!r} must be {p.type_name} like its default {p.default!r}, "
                f"got {type(value).__name__} {value!r}"
            )
    return problems


def describe(nb: nbformat.NotebookNode | str | Path) -> str:
    """A plain-text table of a notebook's parameters: name, type, default, the data whose
    columns it names (with the role), comment."""
    params = parameters_of(nb)
    rows = [("name", "type", "default", "columns of", "comment")]
    for p in params:
        default = p.source.split("=", 1)[1].split("#", 1)[0].strip() if p.default is EXPRESSION else repr(p.default)
        of = f"{p.columns_of} ({p.column_role})" if p.column_role else ""
        rows.append((p.name, p.type_name, default, of, p.comment))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(f"{c:<{w}}" for c, w in zip(r, [*widths, 0], strict=True)).rstrip() for r in rows]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)
