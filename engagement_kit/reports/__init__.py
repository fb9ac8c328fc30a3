"""The report batch: every parameterised notebook, over its parameter sets, executed with
papermill into readable (HTML), reproducible (manifest) and machine-readable (CSV) reports.

Modules: :mod:`.config` (``reports.yaml``, grids, validation), :mod:`.params` (a notebook's
``parameters`` cell), :mod:`.runner` (parallel execution, staging, ``latest``),
:mod:`.render` (HTML, ``index.html``), :mod:`.manifest` (provenance), :mod:`.cache` (reuse).

Command line (see ``docs/reports.md``)::

    engagement-kit report [--config reports.yaml] [--only NAME ...] [--jobs N] [--run-id ID]
                          [--with-code] [--force] [--describe NOTEBOOK] [--output-root reports]

Exit codes: 0 every run succeeded, 1 some run failed, 2 bad configuration or parameters
(nothing was executed), another batch writing to the same output root, or an output
root that cannot be written (read-only, full), 130 interrupted.

Example
-------
>>> import argparse
>>> p = argparse.ArgumentParser(); add_arguments(p)
>>> p.parse_args(["--jobs", "2", "--only", "hello_demo"]).jobs
2
"""

from __future__ import annotations

import argparse
import re
import sys

__all__ = ["add_arguments", "run"]

RUN_ID_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``engagement-kit report``."""
    parser.add_argument("--config", default="reports.yaml", metavar="PATH", help="batch file (default: reports.yaml)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these runs (names, entry names, globs)")
    parser.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                        help="runs executed at a time (default: number of cores)")  # fmt: skip
    parser.add_argument("--run-id", default=None, metavar="ID",
                        help="batch folder name under the output root (default: UTC timestamp)")  # fmt: skip
    parser.add_argument("--with-code", action="store_true", help="keep the code cells in the HTML reports")
    parser.add_argument("--force", action="store_true", help="execute every run, even if a cached result exists")
    parser.add_argument("--describe", metavar="NOTEBOOK", help="list a notebook's parameters and exit")
    parser.add_argument("--output-root", default="reports", metavar="DIR", help="where batches go (default: reports)")


def _error(lines: list[str]) -> int:
    for line in lines:
        print(f"error: {line}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Run ``engagement-kit report``; returns the exit code."""
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("interrupted: kernels stopped, no report was changed", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    from .config import ConfigError, check_runs, load_config, select_runs
    from .params import ParameterError, describe

    if args.describe:
        try:
            print(describe(args.describe))
        except ParameterError as exc:
            return _error([f"{args.describe}: {exc}"])
        return 0
    if args.jobs is not None and args.jobs < 1:
        return _error([f"--jobs must be at least 1, got {args.jobs}"])
    if args.run_id is not None and not RUN_ID_RE.match(args.run_id):
        return _error([f"--run-id {args.run_id!r} may only hold letters, digits, '_', '-' and '.'"])
    if args.run_id in ("latest",):
        return _error(["--run-id 'latest' is reserved for the pointer to the newest good batch"])
    try:
        runs = select_runs(load_config(args.config), args.only)
        check_runs(runs)
    except ConfigError as exc:
        return _error(exc.problems)

    from .runner import BatchError, run_batch

    try:
        result = run_batch(
            runs,
            config_path=args.config,
            output_root=args.output_root,
            run_id=args.run_id,
            jobs=args.jobs,
            force=args.force,
            with_code=args.with_code,
            update_latest=not args.only,  # `latest` shows a complete batch, never a subset
        )
    except BatchError as exc:  # another batch holds the output root, or it cannot be written
        return _error(exc.problems)
    n = len(result.manifest.runs)
    print(f"{n - len(result.failures)} of {n} runs ok -> {result.batch_dir / 'index.html'}")
    for rec in result.failures:
        err = rec.error or {}
        cell = err.get("cell")
        where = f"cell {cell}" if cell is not None else "kernel"
        print(
            f"FAILED {rec.name}: {where}: {err.get('ename', '?')}: {' '.join(str(err.get('evalue', '')).split())}"[:400]
            + f"  (see {result.batch_dir / rec.name / 'notebook.ipynb'})",
            file=sys.stderr,
        )
    return result.exit_code
