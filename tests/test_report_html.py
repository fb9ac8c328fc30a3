"""Every default report, as a reader's browser gets it (issue #17, "Done means").

One run of the default batch (``reports.yaml``, on miniature copies of its data, shared by
the module) and, in every ``report.html``:

- the **summary box is the first element**: the first output of the page (the first
  ``jp-OutputArea-output`` element in document order; the notebook's own title and
  Markdown cells may stand above it) is the ``div.ek-summary`` with ``id="summary"``,
  holding a question, at least one verdict line and the data line;
- **no pandas index column**: no ``table.dataframe`` at all (every table goes through the
  display layer) and no header cell inside a table body;
- **no NaN** anywhere in the visible text, and no ``e-`` notation in any table cell or in
  the summary box (p-values read ``< 0.001`` / ``0.012``);
- **no live script from outputs**: the only scripts are nbconvert's template and the
  project's table script (``id="ek-tables"``); labels stay escaped.

And in ``index.html``: each successful run shows its verdict line, linked to its report's
summary anchor, and key figures without NaN or ``e-`` notation.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from engagement_kit.i18n import LANGUAGES, translate

E_NOTATION = re.compile(r"\d[eE][-+]?\d")
# the decimal mark and the word for a blanked cell are the report language's (0.012 in English,
# 0,012 in Italian)
_SUPPRESSED = "|".join(re.escape(translate("display.suppressed", lang)) for lang in LANGUAGES)
P_VALUE = re.compile(rf"^(< 0[.,]001|0[.,]\d{{2,3}}|1|–|{_SUPPRESSED})$")
P_HEADERS = {"p-value", "adjusted p", "Interaction p", "A p value", "B p value", "C p value", "C prime p value",
             "Delta p value", "Bartlett p"}


# the default batch is run once for this module and tests/test_reports_privacy.py (conftest.py)
pytestmark = pytest.mark.xdist_group("default_batch")


@pytest.fixture(scope="module")
def batch(request):
    if os.environ.get("EK_CHECK_BATCH"):  # check a batch folder you already have (reports/latest)
        batch = Path(os.environ["EK_CHECK_BATCH"])
        return batch, json.loads((batch / "manifest.json").read_text())["runs"]
    root, batch, code = request.getfixturevalue("default_batch")
    runs = json.loads((batch / "manifest.json").read_text())["runs"]
    failed = {r["name"]: r["error"] for r in runs if r["status"] != "ok"}
    assert code == 0 and not failed, failed
    return batch, runs


def _reports(batch: Path, runs: list[dict]) -> list[tuple[str, BeautifulSoup]]:
    return [(r["name"], BeautifulSoup((batch / r["name"] / "report.html").read_text(encoding="utf-8"), "html.parser"))
            for r in runs]


def _visible_text(soup: BeautifulSoup) -> str:
    body = BeautifulSoup(str(soup.body), "html.parser")
    for tag in body(["script", "style"]):
        tag.decompose()
    return body.get_text(" ")


def test_every_report_opens_with_its_summary_box(batch):
    for name, soup in _reports(*batch):
        first = soup.select_one(".jp-OutputArea-output")
        assert first is not None, name
        box = first if "ek-summary" in (first.get("class") or []) else first.find(recursive=False)
        assert box is not None and "ek-summary" in (box.get("class") or []) and box.get("id") == "summary", (
            name, str(first)[:300])
        assert box.select_one(".ek-question") and box.select("ul.ek-verdicts > li"), name
        assert not E_NOTATION.search(box.get_text(" ")), (name, box.get_text(" "))
        assert len(soup.select("div.ek-summary")) == 1, name


def test_no_index_column_no_nan_no_e_notation(batch):
    for name, soup in _reports(*batch):
        assert not soup.select("table.dataframe"), f"{name}: a raw DataFrame is displayed (use result.display)"
        assert not soup.select("table tbody th"), f"{name}: a table has an index column"
        assert not re.search(r"\bNaN\b|\bnan\b", _visible_text(soup)), name
        for table in soup.select("table.ek-table"):
            headers = [th.get_text() for th in table.select("thead th")]
            for row in table.select("tbody tr"):
                cells = [td.get_text() for td in row.select("td")]
                assert len(cells) == len(headers), name
                for header, cell in zip(headers, cells):
                    assert not E_NOTATION.search(cell), (name, header, cell)
                    if header in P_HEADERS:
                        assert P_VALUE.match(cell), (name, header, cell)


def test_no_script_from_outputs_and_one_trusted_table_script(batch):
    for name, soup in _reports(*batch):
        assert not soup.select(".jp-OutputArea-output script, .jp-OutputArea-output style"), name
        assert not soup.select(".jp-OutputArea-output [onerror], .jp-OutputArea-output [onclick]"), name
        assert len(soup.select("script#ek-tables")) == 1 and soup.select_one("style#ek-report-style"), name


def test_long_tables_are_marked_for_sorting_and_searching(batch):
    batch_dir, runs = batch
    soup = dict(_reports(batch_dir, runs))["touch_model_experiment_demo"]
    long = soup.select("table.ek-table.ek-long")
    assert long, "the experiment's effects table has more than 15 rows"
    numeric = long[0].select("td[data-sort]")
    assert numeric and all(float(td["data-sort"]) == float(td["data-sort"]) for td in numeric)


def test_effects_table_shows_method_early_and_nps_in_points(batch):
    batch_dir, runs = batch
    soup = dict(_reports(batch_dir, runs))["touch_model_experiment_demo"]
    effects = next(t for t in soup.select("table.ek-table") if "Relative difference" in t.get_text())
    headers = [th.get_text() for th in effects.select("thead th")]
    assert headers.index("Method") < 3  # CUPED rows are told apart at a glance
    rows = [[td.get_text() for td in tr.select("td")] for tr in effects.select("tbody tr")]
    nps = [dict(zip(headers, r)) for r in rows if r[0] == "nps"]
    assert nps and all(r["Relative difference"] == "–" and r["Difference"].endswith("points") for r in nps)
    retained = [dict(zip(headers, r)) for r in rows if r[0] == "retained"]
    assert all(r["Mean (arm)"].endswith("%") and r["Difference"].endswith("pp") for r in retained)


def test_index_shows_verdicts_linked_to_summaries_and_readable_key_figures(batch):
    batch_dir, runs = batch
    soup = BeautifulSoup((batch_dir / "index.html").read_text(encoding="utf-8"), "html.parser")
    for r in runs:
        summary = json.loads((batch_dir / r["name"] / "summary.json").read_text(encoding="utf-8"))
        link = soup.select_one(f'p.verdict a[href="{r["name"]}/report.html#summary"]')
        assert link is not None and link.get_text() == summary["verdict"][:400], r["name"]
    for table in soup.select("table.kf"):
        text = table.get_text(" ")
        assert not E_NOTATION.search(text) and not re.search(r"\bNaN\b|\bnan\b", text), text
        assert len(table.select("thead th")) <= 7
