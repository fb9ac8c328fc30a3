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

from functools import cache
from pathlib import Path
from typing import Any

import yaml

__all__ = ["LANGUAGES", "UnknownLanguageError", "check_language", "messages", "translate"]

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
    return text.format(**fields) if fields else text
