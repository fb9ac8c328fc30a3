"""The summary box: the first thing a report shows, answering its question on one screen.

Every result's ``summary(language=...)`` returns a :class:`Summary`: the question, one
verdict line per claim or arm (the estimate and its interval in words and units), the data
and its size, and the caveats (sample ratio mismatch, imbalance, small cells,
non-invariance ...). Lines are plain text, labels from the data included; they are escaped
when rendered (:meth:`Summary.to_html`, :meth:`Summary.to_markdown`), never before.
:meth:`Summary.write` stores it as ``summary.json`` beside the CSVs, where the report index
reads the first verdict line.

>>> s = Summary(question="Does high-touch raise retention?",
...             verdicts=("high_touch raises retained by 4.9 points",), data="20,000 customers")
>>> '<div class="ek-summary" id="summary">' in s.to_html()
True
>>> Summary(question="<script>", verdicts=()).to_html().count("<script>")
0
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
import uuid
from pathlib import Path
from typing import Any

from .i18n import check_language, translate
from .markdown import escape

__all__ = ["SUMMARY_FILE", "Summary", "read_summary"]

#: The file a notebook writes beside its CSVs and the report index reads.
SUMMARY_FILE = "summary.json"


@dataclasses.dataclass(frozen=True)
class Summary:
    """A report's first screen: ``question``, ``verdicts`` (one line each), ``data`` (what
    was analysed and its size) and ``caveats``; plain text, escaped when rendered."""

    question: str
    verdicts: tuple[str, ...]
    data: str = ""
    caveats: tuple[str, ...] = ()
    language: str = "en"
    #: metric -> kind (binary, nps, ...), so that the report index formats the key figures
    #: in the same units as the report
    kinds: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        check_language(self.language)

    @property
    def verdict(self) -> str:
        """The first verdict line (the one the report index shows), or the no-verdict text."""
        return self.verdicts[0] if self.verdicts else translate("summary.no_verdict", self.language)

    def to_html(self) -> str:
        """The box as HTML, every text escaped; ``id="summary"`` is the index's anchor."""
        e = html.escape
        t = lambda key: e(translate(key, self.language))
        verdicts = "".join(f"<li>{e(v)}</li>" for v in self.verdicts) or f"<li>{e(self.verdict)}</li>"
        parts = [
            '<div class="ek-summary" id="summary">',
            f'<p class="ek-question"><strong>{t("summary.question")}</strong> {e(self.question)}</p>',
            f'<p><strong>{t("summary.verdicts")}</strong></p><ul class="ek-verdicts">{verdicts}</ul>',
        ]
        if self.data:
            parts.append(f'<p class="ek-data"><strong>{t("summary.data")}</strong> {e(self.data)}</p>')
        if self.caveats:
            items = "".join(f"<li>{e(c)}</li>" for c in self.caveats)
            parts.append(f'<p><strong>{t("summary.caveats")}</strong></p><ul class="ek-caveats">{items}</ul>')
        return "".join(parts) + "</div>"

    def to_markdown(self) -> str:
        """The box as Markdown, every text escaped (:func:`engagement_kit.markdown.escape`)."""
        t = lambda key: translate(key, self.language)
        lines = [f"**{t('summary.question')}** {escape(self.question)}", "", f"**{t('summary.verdicts')}**", ""]
        lines += [f"- {escape(v)}" for v in self.verdicts or (self.verdict,)]
        if self.data:
            lines += ["", f"**{t('summary.data')}** {escape(self.data)}"]
        if self.caveats:
            lines += ["", f"**{t('summary.caveats')}**", ""] + [f"- {escape(c)}" for c in self.caveats]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "verdicts": list(self.verdicts), "verdict": self.verdict,
                "data": self.data, "caveats": list(self.caveats), "language": self.language,
                "kinds": {str(k): v if isinstance(v, str) else str(v[0]) for k, v in self.kinds.items()}}

    def write(self, folder: str | Path) -> Path:
        """``<folder>/summary.json`` (atomically, as the CSVs); returns its path."""
        from .io import (
            project_root,  # relative folders are taken from the project root, as the CSVs'
        )

        folder = Path(folder).expanduser()
        folder = folder if folder.is_absolute() else project_root() / folder
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / SUMMARY_FILE
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            with open(tmp, "x", encoding="utf-8") as f:
                json.dump(self.to_dict(), f, ensure_ascii=False, indent=1)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return path


def read_summary(folder: Path) -> dict[str, Any] | None:
    """The ``summary.json`` of a run folder as a dict of plain text, or None when absent,
    a symlink, or not the expected shape (the index treats it as untrusted input)."""
    path = Path(folder) / SUMMARY_FILE
    if path.is_symlink() or not path.is_file():
        return None
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("verdict", ""), str):
        return None
    return data
