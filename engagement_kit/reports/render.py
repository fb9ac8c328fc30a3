"""HTML for a report batch: each executed notebook (nbconvert) and the batch's ``index.html``.

Reports hide code by default (as ``jupyter nbconvert --no-input``); ``with_code=True``
keeps it. The index lists every run with its status, its verdict line (from the
``summary.json`` the notebook wrote, linked to the report's summary box), duration,
parameters and key figures (the first rows of its ``key_figures`` CSV, or of the first CSV
it wrote, formatted for people) and links to each report.

Every report page gets the project's own stylesheet and one script, both shipped in
``reports/assets/`` and inlined here (never taken from a notebook output, whose scripts the
sanitiser removes): the script makes tables of class ``ek-table`` sortable and long ones
searchable, offline, reading and writing text only (:mod:`engagement_kit.display` says why
not itables).

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

from ..summary import read_summary
from .config import plain_file_name
from .manifest import BatchManifest, RunRecord

__all__ = ["index_html", "key_figure_rows", "key_figures_table", "notebook_to_html", "sanitize_outputs"]

KEY_FIGURE_ROWS = 6
#: Columns read from a key-figure CSV; the index shows at most KEY_FIGURE_SHOWN of them once
#: formatted (labels that tell rows apart, the estimate, its interval, the p-value).
KEY_FIGURE_COLUMNS = 40
KEY_FIGURE_SHOWN = 7
#: The estimate a key-figure table leads with: the first of these its CSV has.
_ESTIMATES = ("diff", "estimate", "value", "incremental_value", "share", "score", "rate_from_start", "gap", "mean",
              "alpha", "n_reached", "customers")


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
    ["a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul"]
)
SAFE_ATTRIBUTES = {
    "*": ["class", "id", "title", "align"],
    "a": ["href", "title"],
    "img": ["src", "alt", "width", "height"],
    "td": ["colspan", "rowspan", "align", "data-sort"],  # data-sort: the raw number a column sorts by
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


_ASSETS = Path(__file__).parent / "assets"


@lru_cache(maxsize=1)
def _assets() -> tuple[str, str]:
    return ((_ASSETS / "report.css").read_text(encoding="utf-8"), (_ASSETS / "tables.js").read_text(encoding="utf-8"))


def notebook_to_html(nb: nbformat.NotebookNode, with_code: bool = False, language: str = "en") -> str:
    """The notebook as a standalone HTML page (code hidden unless ``with_code``) in ``language``
    (the page's ``lang``), its outputs
    made inert first (:func:`sanitize_outputs`), with the project's stylesheet and table
    script inlined (offline)."""
    body, _ = _exporter(with_code, language).from_notebook_node(sanitize_outputs(nb))
    css, js = _assets()
    body = body.replace("</head>", f'<style id="ek-report-style">{css}</style>\n</head>', 1)
    return body.replace("</body>", f'<script id="ek-tables">{js}</script>\n</body>', 1)


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


def key_figures_table(rows: list[list[str]], language: str = "en", kinds: dict | None = None) -> str:
    """The key-figure rows (header first) as a small escaped HTML table for people: the
    columns that tell rows apart, the lead estimate with its interval, and the p-value, in
    at most :data:`KEY_FIGURE_SHOWN` columns (:mod:`engagement_kit.display` formatting)."""
    import pandas as pd

    from ..display import LABEL_COLUMNS, format_table

    if not rows or not rows[0]:
        return ""
    header = rows[0]
    width = len(header)
    frame = pd.DataFrame([(r + [""] * width)[:width] for r in rows[1:]], columns=header).replace("", None)
    for c in frame.columns:
        converted = pd.to_numeric(frame[c], errors="coerce")
        if converted.notna().sum() == frame[c].notna().sum():
            frame[c] = converted
    if "suppressed" in frame:
        frame["suppressed"] = frame["suppressed"].astype(str).str.lower().eq("true")
    labels = [c for c in LABEL_COLUMNS if c in frame and (frame[c].nunique(dropna=False) > 1 or c in ("metric", "arm"))]
    lead = next((c for c in _ESTIMATES if c in frame), None)
    keep = labels[: KEY_FIGURE_SHOWN - 3]
    if lead:
        keep.append(lead)
        pair = "ci_low" if lead in ("diff", "estimate", "value", "incremental_value", "mean") else f"{lead}_ci_low"
        if pair in frame and pair.replace("_low", "_high") in frame:
            keep += [pair, pair.replace("_low", "_high")]
    keep += [p for p in ("p_adjusted",) if p in frame] or [p for p in ("p_value",) if p in frame]
    keep += [c for c in header if c not in keep and c != "suppressed" and c not in LABEL_COLUMNS][: max(0, 2 - len(keep))]
    if "suppressed" in frame:
        keep.append("suppressed")
    kinds = {str(k): str(v) for k, v in (kinds or {}).items() if isinstance(v, str)}
    shown = format_table(frame[[c for c in dict.fromkeys(keep) if c in frame]], kinds=kinds, language=language)
    shown = shown.iloc[:, :KEY_FIGURE_SHOWN]
    e = html.escape
    head = "".join(f"<th>{e(str(c))}</th>" for c in shown.columns)
    body = "".join("<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in row) + "</tr>" for row in shown.itertuples(index=False))
    return f'<table class="kf"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;color:#222;max-width:1240px}
h1{font-size:1.5rem} .meta{color:#555;font-size:.9rem}
table.runs{border-collapse:collapse;width:100%} table.runs>tbody>tr>td,table.runs>thead>tr>th{
border-bottom:1px solid #ddd;padding:.5rem;vertical-align:top;text-align:left}
.ok{color:#1a7f37;font-weight:600} .failed{color:#cf222e;font-weight:600}
table.kf{border-collapse:collapse;font-size:.75rem} table.kf td,table.kf th{border:1px solid #eee;
padding:2px 5px;white-space:nowrap} table.kf th{background:#f6f6f6;font-weight:600;white-space:normal}
td.params{max-width:16rem;font-size:.8rem;overflow-wrap:anywhere} td.params code{font-size:.75rem}
.verdict{margin:.4rem 0 0;max-width:26rem;font-size:.9rem} .verdict a{color:#1b4f72}
td.figures{overflow-x:auto}
@media print{body{margin:0;max-width:none;font-size:9pt} table.runs{page-break-inside:auto}
table.runs tr{page-break-inside:avoid} a{color:inherit;text-decoration:none}
table.kf td{white-space:normal} td.figures{overflow:visible}}
code{font-size:.85rem} .desc{font-size:.85rem;max-width:22rem;margin:.4rem 0 0} .err{color:#cf222e;font-size:.85rem}
"""


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
        summary = read_summary(batch_dir / r.name) if r.status == "ok" else None
        kf = key_figure_rows(batch_dir / r.name, r)
        if kf:
            name, table = kf
            try:
                kinds = summary.get("kinds") if summary else None
                shown = key_figures_table(table, kinds=kinds if isinstance(kinds, dict) else None)
            except (ValueError, TypeError, KeyError):  # a CSV that is not a table: show no figures
                shown = ""
            figures = f'<div class="meta">{e(name)}</div>{shown}'
        else:
            figures = ""
        verdict = ""
        if summary and summary.get("verdict"):
            verdict = (f'<p class="verdict"><a href="{e(r.name)}/report.html#summary">'
                       f'{e(str(summary["verdict"])[:400])}</a></p>')
        if r.error:
            figures += f'<div class="err">cell {e(str(r.error.get("cell")))}: {e(r.error.get("ename", ""))}: ' \
                f'{e(str(r.error.get("evalue", ""))[:300])}</div>'
        links = (f'<a href="{e(r.name)}/report.html#summary">summary</a> · <a href="{e(r.name)}/report.html">report</a>'
                 f' · <a href="{e(r.name)}/notebook.ipynb">notebook</a>')
        duration = f"{r.duration_s:.1f} s" if r.duration_s is not None else ""
        rows.append(
            f"<tr><td><b>{e(r.name)}</b><br><span class='meta'>{e(r.notebook)}</span><br>{links}"
            + (f"<p class='desc'>{e(r.description)}</p>" if r.description else "")
            + verdict
            + "</td>"
            f"<td class='{status}'>{e(label)}</td><td>{duration}</td><td class='params'>{params}</td><td class='figures'>{figures}</td></tr>"
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
