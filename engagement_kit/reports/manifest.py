"""Provenance of a report batch: ``reports/<run-id>/manifest.json``.

For each run: the parameters, the data fingerprints (sha256, rows, bytes), the notebook's
hash, start and end times, status and error; for the batch: package versions, the git
commit (when in a git checkout), the python version and the config file.

Example
-------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> _ = p.write_text("customer_id,x\\nC1,1\\nC2,2\\n")
>>> fingerprint(p).rows
2
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "MANIFEST_VERSION",
    "PACKAGES",
    "BatchManifest",
    "DataFingerprint",
    "RunRecord",
    "fingerprint",
    "git_info",
    "package_versions",
    "read_manifest",
    "utc_now",
    "write_json_atomic",
]

MANIFEST_VERSION = 1
#: Packages whose versions are recorded (and are part of the cache key).
PACKAGES = (
    "engagement-kit", "numpy", "pandas", "scipy", "statsmodels", "matplotlib", "seaborn",
    "semopy", "factor_analyzer", "duckdb", "pyarrow", "papermill", "nbconvert", "ipykernel",
)  # fmt: skip


def utc_now() -> str:
    """The current UTC time as ISO 8601 with seconds and a ``Z``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class DataFingerprint:
    """A data file read by a run: the parameter naming it, the path as given, sha256, rows, bytes."""

    parameter: str
    path: str
    sha256: str
    rows: int | None
    bytes: int


#: Files above this size are fingerprinted cheaply (:func:`_sha256`): a report over a
#: 100-million-row table must not read it end to end for its manifest on every run.
FULL_HASH_MAX_BYTES = 256 * 2**20
_EDGE = 1 << 20


def _sha256(path: Path) -> str:
    """sha256 of the file's bytes; above :data:`FULL_HASH_MAX_BYTES`, sha256 of its size,
    modification time (ns) and first and last MiB (a Parquet file's footer, with its schema,
    row groups and statistics, is in the last MiB): every rewrite changes the mtime."""
    h = hashlib.sha256()
    st = path.stat()
    with open(path, "rb") as f:
        if st.st_size > FULL_HASH_MAX_BYTES:
            h.update(f"large file: size {st.st_size}, mtime_ns {st.st_mtime_ns}\0".encode())
            h.update(f.read(_EDGE))
            f.seek(max(st.st_size - _EDGE, 0))
            h.update(f.read(_EDGE))
            return h.hexdigest()
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _rows(path: Path) -> int | None:
    name = path.name.lower()
    try:
        if name.endswith((".csv", ".tsv", ".csv.gz")):
            if path.stat().st_size > FULL_HASH_MAX_BYTES:
                return None  # counting would parse the whole file on every run: unknown
            # pyarrow's streaming reader respects quoted newlines (a line count would not).
            import pyarrow.csv as pacsv

            opts = pacsv.ParseOptions(delimiter="\t" if name.endswith(".tsv") else ",", newlines_in_values=True)
            reader = pacsv.open_csv(path, parse_options=opts)
            return sum(batch.num_rows for batch in reader)
        if name.endswith((".parquet", ".pq")):
            import pyarrow.parquet as pq

            return pq.read_metadata(path).num_rows
        if name.endswith((".feather", ".arrow")):
            import pyarrow.feather as feather

            return feather.read_table(path).num_rows
    except Exception:  # a file the notebook may still read in its own way; rows stay unknown
        return None
    return None


def _folder_fingerprint(p: Path, parameter: str, shown_as: str, files: list[Path] | None = None) -> DataFingerprint:
    h = hashlib.sha256()
    total = 0
    if files is None:
        files = [x for x in p.rglob("*") if x.is_file() and not x.name.startswith(".")]
    for f in sorted(files):
        # is_file() is False for pipes and devices: they are not data and are skipped
        h.update(f"{f.relative_to(p).as_posix()}\0{_sha256(f)}\n".encode())
        total += f.stat().st_size
    return DataFingerprint(parameter=parameter, path=shown_as, sha256=h.hexdigest(), rows=None, bytes=total)


def _is_glob(path: str | Path) -> bool:
    return any(ch in str(path) for ch in "*?[")


def fingerprint(path: str | Path, parameter: str = "", shown_as: str | None = None) -> DataFingerprint:
    """sha256, row count (tables pyarrow can read; else None) and size of a data file.

    For a folder: sha256 over its files' relative names and hashes, their total size, no rows.
    """
    p = Path(path)
    if _is_glob(p):  # the files a glob matches (engine=duckdb reads them as one table)
        root = Path(p.anchor or ".")
        files = [x for x in root.glob(str(p.relative_to(root))) if x.is_file()] if p.is_absolute() else [
            x for x in Path(".").glob(str(p)) if x.is_file()]
        return _folder_fingerprint(root, parameter, shown_as if shown_as is not None else str(path), files)
    if p.is_dir():
        return _folder_fingerprint(p, parameter, shown_as if shown_as is not None else str(path))
    if not p.is_file():  # a pipe or device would block or never end
        raise ValueError(f"{path} is not a regular file or folder; point the parameter at a data file")
    return DataFingerprint(
        parameter=parameter,
        path=shown_as if shown_as is not None else str(path),
        sha256=_sha256(p),
        rows=_rows(p),
        bytes=p.stat().st_size,
    )


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed versions (None when a package is not installed), without importing them."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_info(root: Path) -> dict[str, Any] | None:
    """``{"commit": sha, "dirty": bool}`` of the git checkout holding ``root`` (None outside git)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root, capture_output=True, text=True, timeout=10, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())}


@dataclass
class RunRecord:
    """One run in the manifest.

    ``status`` is ``ok`` or ``failed``; ``cached_from`` names the earlier batch a cached
    run was copied from (None: executed in this batch). ``error`` is None or
    ``{"cell": execution count or cell index, "ename": ..., "evalue": ...}``.
    ``timings`` (seconds): ``inject``, ``execute`` (kernel start to shutdown), ``compute``
    (sum of the cells' own durations), ``html``, ``total``.
    """

    name: str
    notebook: str
    notebook_sha256: str
    parameters: dict[str, Any]
    data: list[DataFingerprint]
    cache_key: str
    status: str = "pending"
    start: str | None = None
    end: str | None = None
    duration_s: float | None = None
    error: dict[str, Any] | None = None
    cached_from: str | None = None
    outputs: list[str] = field(default_factory=list)
    key_figures: str | None = None
    account_level: list[str] = field(default_factory=list)
    description: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    monitor: str | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunRecord:
        d = dict(d)
        d["data"] = [DataFingerprint(**x) for x in d.get("data", [])]
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


@dataclass
class BatchManifest:
    """The whole batch: ``status`` is ``ok`` when every run is ok, else ``failed``."""

    run_id: str
    config: str
    start: str
    end: str | None = None
    status: str = "running"
    with_code: bool = False
    git: dict[str, Any] | None = None
    python: str = field(default_factory=platform.python_version)
    packages: dict[str, str | None] = field(default_factory=package_versions)
    runs: list[RunRecord] = field(default_factory=list)
    manifest_version: int = MANIFEST_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BatchManifest:
        d = dict(d)
        d["runs"] = [RunRecord.from_dict(r) for r in d.get("runs", [])]
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON to ``path`` through a temporary file and a rename (never half-written)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_manifest(path: Path) -> BatchManifest | None:
    """The manifest at ``path`` (None if missing or unreadable)."""
    try:
        return BatchManifest.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError):
        return None
