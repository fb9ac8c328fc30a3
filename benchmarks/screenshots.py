"""Screenshots of a report batch as its readers first see it: the index and each report's first
screen, at 1,280 x 800 in headless Chromium, per language of the batch's runs.

    .venv/bin/python benchmarks/screenshots.py                       # reports/latest -> screenshots/<run-id>/
    .venv/bin/python benchmarks/screenshots.py reports/20261201T031743Z --out /tmp/shots
    make screenshots                                                 # the same, on reports/latest
    .venv/bin/python benchmarks/screenshots.py --pdf                 # and each page printed to PDF

Writes ``index.png`` (and ``<language>/index.png`` for any ``index.<language>.html``),
``<language>/<run>.png`` for each run (the language is the run's ``language`` parameter in
``manifest.json``, ``en`` when it has none) and ``index.html``, a contact sheet of them all.
Prints the pages shot, the seconds each took, and what went wrong where.

Chromium is driven through its command line (``--headless --screenshot``) rather than a
browser-automation library: one screenshot per page is all we need, and the command line needs
no extra package nor a browser download (``CHROMIUM=/path/to/chrome`` picks another binary).

>>> [p.target for p in plan_pages(Path("tests/data/none"), runs=[{"name": "a", "parameters": {"language": "zh"}}])]
['index.png', 'zh/a.png']
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

WIDTH, HEIGHT = 1280, 800
DEFAULT_LANGUAGE = "en"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class Page:
    """One page to shoot: ``source`` (an HTML file of the batch) into ``target`` (relative PNG path)."""

    source: Path
    target: str
    title: str
    language: str


def _safe(name: str) -> str:
    """A run or language name as a file name (the batch already restricts them; belt and braces)."""
    return _SAFE.sub("_", name) or "_"


def plan_pages(batch: Path, runs: list[dict] | None = None) -> list[Page]:
    """The index page(s), then each run's report, grouped by language (``runs`` defaults to
    the batch's ``manifest.json``; a run without a ``report.html`` is left out)."""
    from_manifest = runs is None
    if runs is None:
        runs = json.loads((batch / "manifest.json").read_text(encoding="utf-8"))["runs"]
    pages = [Page(batch / "index.html", "index.png", "index", DEFAULT_LANGUAGE)]
    for index in sorted(batch.glob("index.*.html")):
        lang = index.name.split(".")[1]
        pages.append(Page(index, f"{_safe(lang)}/index.png", f"index ({lang})", lang))
    by_language: dict[str, list[dict]] = {}
    for run in runs:
        lang = str((run.get("parameters") or {}).get("language") or DEFAULT_LANGUAGE)
        by_language.setdefault(lang, []).append(run)
    for lang in sorted(by_language, key=lambda x: (x != DEFAULT_LANGUAGE, x)):
        for run in by_language[lang]:
            report = batch / run["name"] / "report.html"
            if from_manifest and not report.exists():
                continue
            pages.append(Page(report, f"{_safe(lang)}/{_safe(run['name'])}.png", run["name"], lang))
    return pages


def find_chromium() -> str:
    """``$CHROMIUM``, else the first Chromium or Chrome on the PATH (or /usr/bin/chromium)."""
    candidates = [os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium"]
    for c in candidates:
        if c and (found := shutil.which(c)):
            return found
    raise FileNotFoundError("no Chromium found: install it (apt-get install chromium) or set CHROMIUM=/path/to/chrome")


def font_environment(folder: Path) -> dict[str, str]:
    """A fontconfig set-up that adds the project's own Chinese (Traditional) font, the one the
    plots use (the ``pylopdf-fonts-zh-tw`` dependency), to the machine's fonts: the screenshots
    show Chinese text on a machine without CJK fonts, as a Chinese reader's browser would.
    Empty (the machine's fonts only) when the package is missing."""
    try:
        import pylopdf_fonts_zh_tw
    except ImportError:
        return {}
    fonts = Path(pylopdf_fonts_zh_tw.__file__).parent
    conf = folder / "fonts.conf"
    system = "<include ignore_missing=\"yes\">/etc/fonts/fonts.conf</include>"
    conf.write_text(f"<?xml version=\"1.0\"?>\n<fontconfig>{system}<dir>{html.escape(str(fonts))}</dir>"
                    f"<cachedir>{html.escape(str(folder / 'cache'))}</cachedir></fontconfig>\n")
    return {"FONTCONFIG_FILE": str(conf)}


def shoot(chromium: str, page: Path, png: Path, width: int = WIDTH, height: int = HEIGHT, timeout: float = 120) -> None:
    """One headless screenshot of ``page``'s first screen into ``png`` (raises on failure);
    a ``png`` ending in ``.pdf`` gets the page printed to PDF instead (what "print" gives)."""
    png.parent.mkdir(parents=True, exist_ok=True)
    output = f"--print-to-pdf={png}" if png.suffix == ".pdf" else f"--screenshot={png}"
    with tempfile.TemporaryDirectory(prefix="ek-chromium-") as profile:
        cmd = [
            chromium, "--headless", "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1",
            f"--user-data-dir={profile}", f"--window-size={width},{height}",
            "--virtual-time-budget=5000",  # let the page's scripts (sortable tables) render first
            "--no-pdf-header-footer", output, page.resolve().as_uri(),
        ]  # fmt: skip
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        env = {**os.environ, **font_environment(Path(profile))}
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if done.returncode != 0 or not png.exists():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"Chromium failed on {page} (exit {done.returncode}): {last}")


def png_size(png: Path) -> tuple[int, int]:
    """Width and height from a PNG's header."""
    head = png.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{png} is not a PNG")
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def contact_sheet(pages: list[Page], shot: set[str], batch_name: str) -> str:
    """An HTML page showing every screenshot with its title (names escaped)."""
    rows = []
    for p in pages:
        if p.target in shot:
            rows.append(
                f'<figure><figcaption>{html.escape(p.language)} · {html.escape(p.title)}</figcaption>'
                f'<a href="{html.escape(p.target)}"><img src="{html.escape(p.target)}" width="640" '
                f'alt="{html.escape(p.title)}"></a></figure>'
            )
    return (
        "<!doctype html><meta charset=utf-8><title>Screenshots of "
        f"{html.escape(batch_name)}</title><style>body{{font-family:sans-serif;margin:2em}}"
        "figure{display:inline-block;margin:0 1em 2em 0;vertical-align:top}img{border:1px solid #ccc}</style>"
        f"<h1>First screens of {html.escape(batch_name)} at {WIDTH} × {HEIGHT}</h1>" + "".join(rows)
    )


def take_screenshots(batch: Path, out: Path, chromium: str | None = None, languages: set[str] | None = None,
                     pdf: bool = False) -> dict[str, float]:
    """Shoot every page of ``batch`` into ``out`` (``pdf``: also print each to ``.pdf`` beside
    its PNG); returns target -> seconds (failures are reported on stderr and left out)."""
    chromium = chromium or find_chromium()
    pages = [p for p in plan_pages(batch) if languages is None or p.language in languages or p.target == "index.png"]
    timings: dict[str, float] = {}
    for page in pages:
        t0 = time.perf_counter()
        try:
            shoot(chromium, page.source, out / page.target)
            if pdf:
                shoot(chromium, page.source, (out / page.target).with_suffix(".pdf"))
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            print(f"FAILED {page.target}: {exc}", file=sys.stderr)
            continue
        timings[page.target] = time.perf_counter() - t0
        print(f"{timings[page.target]:6.1f} s  {out / page.target}")
    (out / "index.html").write_text(contact_sheet(pages, set(timings), batch.resolve().name), encoding="utf-8")
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("batch", nargs="?", default="reports/latest", help="a report batch folder (default reports/latest)")
    parser.add_argument("--out", help="where the PNGs go (default screenshots/<run-id>)")
    parser.add_argument("--language", action="append", help="only runs in this language (repeatable)")
    parser.add_argument("--pdf", action="store_true", help="also print each page to PDF (checks printability)")
    args = parser.parse_args(argv)
    batch = Path(args.batch)
    if not (batch / "index.html").is_file() or not (batch / "manifest.json").is_file():
        print(f"error: {batch} is not a report batch (no index.html and manifest.json); "
              "run `make report` first or name a folder under reports/", file=sys.stderr)  # fmt: skip
        return 2
    out = Path(args.out) if args.out else Path("screenshots") / batch.resolve().name
    try:
        timings = take_screenshots(batch, out, languages=set(args.language) if args.language else None, pdf=args.pdf)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    pages = len(plan_pages(batch))
    print(f"{len(timings)} of {pages} pages -> {out / 'index.html'}"
          f" ({sum(timings.values()):.0f} s, {WIDTH} x {HEIGHT})")  # fmt: skip
    return 0 if len(timings) == pages or args.language else 1


if __name__ == "__main__":
    sys.exit(main())
