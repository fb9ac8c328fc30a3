"""HTML for a report batch: each executed notebook (nbconvert) and the batch's ``index.html``.

Reports hide code by default (as ``jupyter nbconvert --no-input``); ``with_code=True``
keeps it. The index lists every run with its status, duration, parameters and key figures
(the first rows of its ``key_figures`` CSV, or of the first CSV it wrote) and links to
each report.

Example
-------
>>> import nbformat
>>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Hi")])
>>> '<h1 id="Hi">Hi' in notebook_to_html(nb)
True
"""

from __future__ import annotations

import csv
import html
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat

from .config import plain_file_name
from .manifest import BatchManifest, RunRecord

__all__ = ["index_html", "key_figure_rows", "notebook_to_html", "sanitize_outputs"]

KEY_FIGURE_ROWS = 6
KEY_FIGURE_COLUMNS = 8


@lru_cache(maxsize=10)
def _exporter(with_code: bool, language: str = "en"):
    # Built once per process: template discovery costs ~0.3 s, far more than an export.
    from nbconvert import HTMLExporter

    return HTMLExporter(
        exclude_input=not with_code,
        exclude_input_prompt=not with_code,
        exclude_output_prompt=True,
        language_code=language,  # <html lang="..">: browsers pick CJK fonts and hyphenation by it
    )


#: What an output may keep of HTML: structure, tables, emphasis, links. No script, no style,
#: no event handler, no form, no frame.
SAFE_TAGS = frozenset(
    "a abbr b blockquote br caption code col colgroup dd div dl dt em h1 h2 h3 h4 h5 h6 hr i img li ol p "
    "pre s small span strong sub sup table tbody td tfoot th thead tr u ul".split()
)
SAFE_ATTRIBUTES = {
    "*": ["class", "id", "title", "align"],
    "a": ["href", "title"],
    "img": ["src", "alt", "width", "height"],
    "td": ["colspan", "rowspan", "align"],
    "th": ["colspan", "rowspan", "align"],
    "table": ["border", "class"],
}
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def sanitize_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose code-cell outputs are inert: HTML and Markdown outputs keep only
    :data:`SAFE_TAGS` and :data:`SAFE_ATTRIBUTES` (http/https/mailto links), script and style
    blocks are dropped whole, any other tag is shown as text. Markdown cells are the
    notebook's own text (trusted) and are left as they are.

    This is the second line of defence behind the escaping of every data label: a label
    that slipped through unescaped still cannot run in the report. bleach (which nbconvert
    itself depends on) does the parsing; nbconvert's own ``sanitize_html`` switch also
    escapes the headings and tables of the trusted Markdown cells, so it is not used.

    >>> cell = nbformat.v4.new_code_cell("x")
    >>> cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": "<b>ok</b><script>bad()</script>"})]
    >>> sanitize_outputs(nbformat.v4.new_notebook(cells=[cell])).cells[0].outputs[0].data["text/html"]
    '<b>ok</b>'
    """
    import copy

    import bleach

    out = copy.deepcopy(nb)
    for cell in out.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data", {})
            for mime in ("text/html", "text/markdown"):
                if mime in data:
                    text = "".join(data[mime]) if isinstance(data[mime], list) else str(data[mime])
                    data[mime] = bleach.clean(
                        _SCRIPT_OR_STYLE.sub("", text), tags=SAFE_TAGS, attributes=SAFE_ATTRIBUTES,
                        protocols=["http", "https", "mailto"], strip=mime == "text/html",
                    )  # fmt: skip
    return out


def notebook_to_html(nb: nbformat.NotebookNode, with_code: bool = False, language: str = "en") -> str:
    """The notebook as a standalone HTML page (code hidden unless ``with_code``) in ``language``
    (the page's ``lang``), its outputs made inert first (:func:`sanitize_outputs`)."""
    body, _ = _exporter(with_code, language).from_notebook_node(sanitize_outputs(nb))
    return body


def key_figure_rows(run_dir: Path, record: RunRecord) -> tuple[str, list[list[str]]] | None:
    """``(file name, rows)`` of the run's key-figure CSV: header plus the first rows."""
    # Names are compared as plain file names: './scores.csv' is 'scores.csv'. A name that is
    # not plain (an absolute path, '../x') is never opened, whatever the manifest says.
    account_level = {plain_file_name(f) for f in record.account_level}
    name = plain_file_name(record.key_figures) if record.key_figures else None
    if name is None or name in account_level:
        # never preview an account-level table in the index (it carries account ids)
        csvs = sorted(
            o for o in record.outputs if plain_file_name(o) == o and o.lower().endswith(".csv") and o not in account_level
        )
        if not csvs:
            return None
        name = csvs[0]
    path = run_dir / name
    if path.is_symlink() or not path.is_file():
        return None
    rows = []
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        for i, row in enumerate(csv.reader(f)):
            if i > KEY_FIGURE_ROWS:
                break
            rows.append(row[:KEY_FIGURE_COLUMNS])
    return name, rows


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222}
h1{font-size:1.5rem} .meta{color:#555;font-size:.9rem}
table.runs{border-collapse:collapse;width:100%} table.runs>tbody>tr>td,table.runs>thead>tr>th{
border-bottom:1px solid #ddd;padding:.5rem;vertical-align:top;text-align:left}
.ok{color:#1a7f37;font-weight:600} .failed{color:#cf222e;font-weight:600}
table.kf{border-collapse:collapse;font-size:.8rem} table.kf td,table.kf th{border:1px solid #eee;padding:2px 6px}
code{font-size:.85rem} .desc{font-size:.85rem;max-width:22rem;margin:.4rem 0 0} .err{color:#cf222e;font-size:.85rem}
"""


def _fmt_cell(text: str) -> str:
    """Numbers with a fraction to 4 significant digits (the CSV keeps full precision)."""
    if "." not in text:
        return text
    try:
        return f"{float(text):.4g}"
    except ValueError:
        return text


def _fmt_value(v: Any) -> str:
    return json.dumps(v) if not isinstance(v, str) else v


def index_html(manifest: BatchManifest, batch_dir: Path) -> str:
    """The browsable index of a batch (one table row per run)."""
    e = html.escape
    n_ok = sum(r.status == "ok" for r in manifest.runs)
    git = manifest.git or {}
    commit = (git.get("commit") or "")[:10] + (" (uncommitted changes)" if git.get("dirty") else "")
    rows = []
    for r in manifest.runs:
        status = "ok" if r.status == "ok" else "failed"
        label = status + (f" (cached from {r.cached_from})" if r.cached_from else "")
        params = "<br>".join(
            f"<code>{e(k)}</code> = {e(_fmt_value(v))}" for k, v in r.parameters.items() if k != "output_dir"
        )
        kf = key_figure_rows(batch_dir / r.name, r)
        if kf:
            name, table = kf
            head = "".join(f"<th>{e(c)}</th>" for c in table[0]) if table else ""
            body = "".join("<tr>" + "".join(f"<td>{e(_fmt_cell(c))}</td>" for c in row) + "</tr>" for row in table[1:])
            figures = f'<div class="meta">{e(name)}</div><table class="kf"><tr>{head}</tr>{body}</table>'
        else:
            figures = ""
        if r.error:
            figures += f'<div class="err">cell {e(str(r.error.get("cell")))}: {e(r.error.get("ename", ""))}: ' \
                f'{e(str(r.error.get("evalue", ""))[:300])}</div>'
        links = f'<a href="{e(r.name)}/report.html">report</a> · <a href="{e(r.name)}/notebook.ipynb">notebook</a>'
        duration = f"{r.duration_s:.1f} s" if r.duration_s is not None else ""
        rows.append(
            f"<tr><td><b>{e(r.name)}</b><br><span class='meta'>{e(r.notebook)}</span><br>{links}"
            + (f"<p class='desc'>{e(r.description)}</p>" if r.description else "")
            + "</td>"
            f"<td class='{status}'>{e(label)}</td><td>{duration}</td><td>{params}</td><td>{figures}</td></tr>"
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Reports {e(manifest.run_id)}</title>
<style>{_CSS}</style></head><body>
<h1>Report batch {e(manifest.run_id)}</h1>
<p class="meta">{n_ok} of {len(manifest.runs)} runs ok · started {e(manifest.start)} · finished {e(manifest.end or "")}
· git {e(commit or "n/a")} · python {e(manifest.python)} · <a href="manifest.json">manifest.json</a></p>
<table class="runs"><thead><tr><th>run</th><th>status</th><th>duration</th><th>parameters</th>
<th>key figures</th></tr></thead><tbody>
{"".join(rows)}
</tbody></table></body></html>
"""
