"""Labels from data and configuration, made safe to place in Markdown or HTML.

Arm, segment, stage, group and column names come from other people's tables and
``reports.yaml``: untrusted text. Placed unescaped in a Markdown conclusion, a segment
called ``<script>…</script>`` becomes live script in ``report.html``, and ``*VIP*``
becomes italics. :func:`escape` turns any label into Markdown that renders as exactly
that text, inert; every place that builds Markdown or HTML from a label calls it.

Example
-------
>>> escape("<script>alert(1)</script>")
'&lt;script&gt;alert\\\\(1\\\\)&lt;/script&gt;'
>>> escape("mid_market")
'mid\\\\_market'
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

__all__ = ["bullets", "escape", "escape_columns"]

# Characters with a meaning in CommonMark inline syntax (after & < > became entities).
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def escape(label: Any) -> str:
    """``label`` as Markdown text that renders literally: HTML entities for ``& < >``,
    a backslash before Markdown punctuation, and line breaks folded into spaces (a new
    line could start a heading or a list item)."""
    text = " ".join(str(label).splitlines())
    return _SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def escape_columns(data: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """A copy of ``data`` whose label ``columns`` (those present) are escaped text, for
    tables that are read only to write Markdown."""
    out = data.copy()
    for c in columns:
        if c in out.columns:
            out[c] = out[c].map(lambda v: v if pd.isna(v) else escape(v))
    return out


def bullets(lines: Iterable[str]) -> str:
    """Markdown bullet list of already-escaped ``lines``.

    >>> print(bullets(["one", "two"]))
    - one
    - two
    """
    return "\n".join(f"- {line}" for line in lines)
