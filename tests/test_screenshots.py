"""benchmarks/screenshots.py: the index and each report's first screen at 1,280 x 800, per
language of the batch's runs, in headless Chromium (the shooting test is skipped without it)."""

from __future__ import annotations

import doctest
import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("screenshots", ROOT / "benchmarks" / "screenshots.py")
screenshots = importlib.util.module_from_spec(_spec)
sys.modules["screenshots"] = screenshots  # dataclasses look their module up
_spec.loader.exec_module(screenshots)


def _batch(folder: Path) -> Path:
    """A two-run batch (English and Chinese) shaped as the runner writes it."""
    runs = [
        {"name": "overview_en", "status": "ok", "parameters": {"customers_path": "x.csv"}},
        {"name": "overview_zh", "status": "ok", "parameters": {"language": "zh"}},
        {"name": "broken", "status": "failed", "parameters": {}},  # no report.html: left out
    ]
    (folder / "manifest.json").write_text(json.dumps({"run_id": "b1", "runs": runs}))
    (folder / "index.html").write_text("<!doctype html><meta charset=utf-8><h1>Report batch</h1>")
    for name, body in (("overview_en", "Who are the customers?"), ("overview_zh", "客戶是誰？")):
        (folder / name).mkdir()
        (folder / name / "report.html").write_text(f"<!doctype html><meta charset=utf-8><h1>{body}</h1>", encoding="utf-8")
    return folder


def test_doctests():
    assert doctest.testmod(screenshots).failed == 0


def test_pages_are_the_index_then_each_report_grouped_by_language(tmp_path):
    pages = screenshots.plan_pages(_batch(tmp_path))
    assert [p.target for p in pages] == ["index.png", "en/overview_en.png", "zh/overview_zh.png"]
    assert pages[2].source == tmp_path / "overview_zh" / "report.html"


def test_a_run_name_cannot_leave_the_output_folder():
    (page,) = [p for p in screenshots.plan_pages(Path("none"), runs=[{"name": "../../etc/x", "parameters": {}}])
               if p.title != "index"]  # fmt: skip
    assert ".." not in Path(page.target).parts and page.target.count("/") == 1


def test_contact_sheet_escapes_names(tmp_path):
    page = screenshots.Page(tmp_path / "r.html", "en/a.png", "<script>alert(1)</script>", "en")
    sheet = screenshots.contact_sheet([page], {"en/a.png"}, "<b>")
    assert "<script>" not in sheet and "&lt;script&gt;" in sheet


def test_not_a_batch_exits_2(tmp_path, capsys):
    assert screenshots.main([str(tmp_path)]) == 2
    assert "not a report batch" in capsys.readouterr().err


@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("google-chrome")), reason="no Chromium here")
def test_screenshots_of_index_and_first_screens_at_1280_by_800(tmp_path):
    (tmp_path / "batch").mkdir()
    batch = _batch(tmp_path / "batch")
    out = tmp_path / "shots"
    assert screenshots.main([str(batch), "--out", str(out), "--pdf"]) == 0
    for target in ("index.png", "en/overview_en.png", "zh/overview_zh.png"):
        assert screenshots.png_size(out / target) == (1280, 800), target
        assert (out / target).with_suffix(".pdf").read_bytes()[:5] == b"%PDF-", target
    assert not (out / "en" / "broken.png").exists()
    assert 'src="zh/overview_zh.png"' in (out / "index.html").read_text()
