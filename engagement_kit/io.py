"""Reading tables and finding files.

Example
-------
>>> resolve_path("data/demo/customers.csv").name
'customers.csv'
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["project_root", "resolve_path"]


def project_root(start: Path | None = None) -> Path:
    """The repository root: the nearest folder above ``start`` (default: cwd) holding
    ``pyproject.toml`` and ``engagement_kit/``; the cwd if there is none."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "engagement_kit").is_dir():
            return folder
    return here


def resolve_path(path: str | Path) -> Path:
    """Resolve a data path written relative to the repository root.

    Absolute paths and paths that exist relative to the cwd are returned as they
    are; otherwise the path is taken relative to :func:`project_root`, so a
    notebook finds ``data/demo/customers.csv`` whether it runs from the repo root
    or from ``notebooks/``.
    """
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    return project_root() / p
