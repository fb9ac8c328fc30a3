"""Words of the reports in the reader's language: one YAML file per language beside this module.

A translator edits ``<language>.yaml`` (a flat or nested mapping of keys to text with
``{named}`` fields) without touching Python; ``tests/test_i18n.py`` fails when any language
misses a key that English has. English (``en.yaml``) is the reference.

>>> translate("language.name", "it")
'Italiano'
>>> translate("language.name")
'English'
"""

from __future__ import annotations

import re
import string
from functools import cache
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "LANGUAGES",
    "UnknownLanguageError",
    "check_language",
    "fields_of",
    "heading_keys",
    "heading_lines",
    "messages",
    "translate",
    "translate_headings",
]

#: Languages with a translation file: English (reference), Italian, Spanish, Chinese
#: (Traditional script, as the source articles), Russian.
LANGUAGES = ("en", "it", "es", "zh", "ru")

_FOLDER = Path(__file__).parent


class UnknownLanguageError(ValueError):
    """A language code without a translation file."""


def check_language(language: str) -> str:
    """``language`` if it has a translation file; otherwise an error naming the choices."""
    if language not in LANGUAGES:
        raise UnknownLanguageError(
            f"language {language!r} has no translation; choose one of {', '.join(LANGUAGES)} "
            f"(or add engagement_kit/i18n/{language}.yaml: docs/translating.md)")
    return language


def _flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = str(value)
    return out


@cache
def messages(language: str = "en") -> dict[str, str]:
    """Every key of ``language`` as ``dotted.key -> text``."""
    check_language(language)
    path = _FOLDER / f"{language}.yaml"
    if not path.exists():
        return {}
    with open(path, encoding="utf-8") as f:
        return _flatten(yaml.safe_load(f) or {})


def translate(key: str, language: str = "en", /, **fields: Any) -> str:
    """The text of ``key`` in ``language`` with ``fields`` filled in (``str.format`` on the
    translator's template; the values are never parsed as templates themselves)."""
    text = messages(language).get(key)
    if text is None:
        text = messages("en").get(key)
        if text is None:
            raise KeyError(f"no text for {key!r} in engagement_kit/i18n/en.yaml")
    return _PlainFields().format(text, **fields) if fields else text


def fields_of(template: str) -> set[str]:
    """The ``{named}`` fields of a template (what a translation must keep, and only those), as
    written: ``{arm.x}`` or ``{arm!r}`` is not ``{arm}``.

    >>> sorted(fields_of("{arm} is {word} than {control} by {diff}"))
    ['arm', 'control', 'diff', 'word']
    >>> sorted(fields_of("{arm.__class__} {p:.2f}"))
    ['arm.__class__', 'p:.2f']
    """
    return {name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "")
            for _, name, spec, conv in string.Formatter().parse(template) if name is not None}


class _PlainFields(string.Formatter):
    """``str.format`` limited to plain named fields: a template cannot reach attributes or items
    of the values (``{arm.__class__}``), whoever edited the translation file."""

    def get_field(self, field_name: str, args, kwargs):  # type: ignore[override]
        if not field_name.isidentifier():
            raise ValueError(f"translation field {{{field_name}}} must be a plain name")
        return kwargs[field_name], field_name


# A heading of a notebook's Markdown cell: "# Title" ... "###### Title", or a paragraph that is
# only bold text ending with a full stop ("**Caveats.**").
_HEADING = re.compile(r"^(?P<lead>#{1,6} +|\*\*)(?P<text>.+?)(?P<tail>\*\*)?\s*$")


def heading_lines(source: str) -> list[tuple[int, str]]:
    """(line number, heading text) of each heading in a Markdown cell's source.

    >>> heading_lines("## 1. Funnel\\n\\nText with **bold** words.\\n**Caveats.**")
    [(0, '1. Funnel'), (3, 'Caveats.')]
    """
    out = []
    for i, line in enumerate(source.splitlines()):
        m = _HEADING.match(line)
        if m is None:
            continue
        bold = m.group("lead") == "**"
        if bold != bool(m.group("tail")) or (bold and "**" in m.group("text")):
            continue
        out.append((i, m.group("text").strip()))
    return out


def heading_keys(notebook: dict, prefix: str) -> dict[str, str]:
    """``<prefix>.<cell id>`` (``_2``, ``_3`` for a cell's later headings) -> English heading,
    for every heading of the notebook's Markdown cells (what ``en.yaml`` holds under ``prefix``)."""
    out: dict[str, str] = {}
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "markdown" or not cell.get("id"):
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        for k, (_, text) in enumerate(heading_lines(source)):
            out[f"{prefix}.{cell['id']}" + (f"_{k + 1}" if k else "")] = text
    return out


def translate_headings(notebook: dict, language: str, prefix: str) -> dict:
    """``notebook`` (nbformat dict or node, changed in place and returned) with every heading of
    its Markdown cells in ``language``, looked up by cell id under ``prefix`` (e.g.
    ``heading.hello_report``). A heading is swapped only where the notebook still holds the
    English text that ``en.yaml`` has for its key, so an edited notebook keeps its new English
    heading rather than a stale translation (``tests/test_i18n.py`` then names the key to update).
    The body text of the cells stays as written.
    """
    check_language(language)
    if language == "en":
        return notebook
    english, local = messages("en"), messages(language)
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "markdown" or not cell.get("id"):
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        lines = source.splitlines()
        for k, (i, text) in enumerate(heading_lines(source)):
            key = f"{prefix}.{cell['id']}" + (f"_{k + 1}" if k else "")
            if english.get(key) != text or key not in local:
                continue
            lines[i] = lines[i].replace(text, local[key], 1)
        cell["source"] = "\n".join(lines) + ("\n" if source.endswith("\n") else "")
    return notebook
