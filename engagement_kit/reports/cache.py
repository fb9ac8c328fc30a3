"""Reuse of earlier successful runs.

A run's *cache key* hashes everything its result depends on: the notebook's content
(cell types, sources and tags, not its outputs), the parameter values, the data
fingerprints (sha256), the installed package versions, the engagement_kit source code
and whether code is shown in the HTML. A run whose key matches a successful run of an
earlier batch under the same output root is copied from it (hard links where the file
system allows) instead of being executed again; ``--force`` disables this.

Example
-------
>>> k1 = cache_key("nbhash", {"n": 1}, [], {"pandas": "3.1"}, "code", False)
>>> k1 == cache_key("nbhash", {"n": 1}, [], {"pandas": "3.1"}, "code", False)
True
>>> k1 == cache_key("nbhash", {"n": 2}, [], {"pandas": "3.1"}, "code", False)
False
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import nbformat

from .config import name_problem, plain_file_name
from .manifest import DataFingerprint, RunRecord, read_manifest

__all__ = ["cache_index", "cache_key", "code_hash", "copy_run", "find_cached", "notebook_hash"]


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()


def notebook_hash(nb: nbformat.NotebookNode) -> str:
    """sha256 of the notebook's content: cell types, sources and tags, and the kernel name."""
    cells = [
        [c.cell_type, c.source, sorted(c.get("metadata", {}).get("tags", []))]
        for c in nb.cells
    ]
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    return hashlib.sha256(_canonical([kernel, cells])).hexdigest()


def code_hash(package_dir: Path | None = None) -> str:
    """sha256 over the engagement_kit package's ``.py`` files (the code notebooks call) and its
    translation files (``i18n/*.yaml``: a corrected translation changes the reports)."""
    if package_dir is None:
        package_dir = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for p in sorted([*package_dir.rglob("*.py"), *package_dir.glob("i18n/*.yaml")]):
        h.update(p.relative_to(package_dir).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def cache_key(
    notebook_sha256: str,
    parameters: dict[str, Any],
    data: list[DataFingerprint],
    packages: dict[str, str | None],
    code_sha256: str,
    with_code: bool,
) -> str:
    """The key under which a run's result can be reused (sha256 hex)."""
    payload = {
        "notebook": notebook_sha256,
        "parameters": {k: v for k, v in parameters.items() if k != "output_dir"},
        "data": sorted((d.parameter, d.sha256) for d in data),
        "packages": packages,
        "code": code_sha256,
        "with_code": with_code,
    }
    return hashlib.sha256(_canonical(payload)).hexdigest()


def cache_index(output_root: Path) -> dict[str, tuple[str, Path, RunRecord]]:
    """Cache key -> ``(run_id, run_folder, record)`` of the newest successful run under ``output_root``.

    Only complete batches count (their manifest is written last) and only runs whose
    folder still holds its ``report.html``.
    """
    best: dict[str, tuple[str, str, Path, RunRecord]] = {}
    if not output_root.is_dir():
        return {}
    for manifest_path in output_root.glob("*/manifest.json"):
        batch_dir = manifest_path.parent
        if batch_dir.name.startswith(".") or batch_dir.name == "latest" or batch_dir.is_symlink():
            continue
        m = read_manifest(manifest_path)
        if m is None:
            continue
        if name_problem(m.run_id, "batch id") or m.run_id != batch_dir.name:
            continue  # a manifest naming another folder (moved, edited or crafted)
        for rec in m.runs:
            if not _plain_record(rec):
                continue  # names that are not plain could point outside the batch folder
            if rec.status == "ok" and (batch_dir / rec.name / "report.html").is_file():
                stamp = rec.end or m.end or ""
                if rec.cache_key not in best or stamp > best[rec.cache_key][0]:
                    best[rec.cache_key] = (stamp, m.run_id, batch_dir / rec.name, rec)
    return {k: v[1:] for k, v in best.items()}


def _plain_record(rec: RunRecord) -> bool:
    """Whether every name in a stored record is a plain path part (see :func:`name_problem`)."""
    files = [*rec.outputs, *rec.account_level] + ([rec.key_figures] if rec.key_figures else [])
    plain_outputs = all(
        isinstance(f, str) and all(plain_file_name(p) == p for p in f.split("/")) for f in files
    )  # outputs may sit in sub-folders of the run folder (figures/...), each part plain
    return name_problem(rec.name, "run name") is None and plain_outputs


def find_cached(output_root: Path, key: str) -> tuple[str, Path, RunRecord] | None:
    """The newest successful run with cache key ``key`` under ``output_root`` (None if none)."""
    return cache_index(output_root).get(key)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def copy_run(src: Path, dst: Path) -> None:
    """Copy a run folder, hard-linking files when possible (outputs are never edited in place)."""
    shutil.copytree(src, dst, copy_function=_link_or_copy, dirs_exist_ok=False)
