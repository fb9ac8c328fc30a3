"""The ``engagement-kit`` command line: argument parsing and printing, nothing else.

Each sub-command has a ``_<name>_arguments(parser)`` and a ``_<name>(args) -> int``
(the exit code) that calls the domain functions; the domain modules import nothing
from here. Building the parser imports only the chosen sub-command's modules, so
``engagement-kit --help`` stays fast.

    engagement-kit simulate --customers 20000 --seed 42 --out data/demo
    engagement-kit validate customers data/demo/customers.csv
    engagement-kit report --jobs 2
    engagement-kit workshop --out workshop_kit
    engagement-kit codebook survey.sav --out codebook.yaml

Example
-------
>>> build_parser("report").parse_args(["report", "--jobs", "2", "--only", "hello_demo"]).jobs
2
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["COMMANDS", "build_parser", "main"]



# --------------------------------------------------------------------------- simulate


#: Above this many customers ``simulate --survey-exports auto`` skips the survey exports: they
#: are demo files of the survey readers (issue #15), and at 1,000,000 customers they cost more
#: CPU than all the tables together (pyreadstat writes .sav row by row).
SURVEY_EXPORTS_AUTO_MAX = 100_000


def _simulate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customers", type=int, default=20_000, help="number of customers (default 20000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--assignment", choices=["randomised", "confounded"], default="randomised")
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    parser.add_argument("--response-rate", type=float, default=1.0, help="share of customers who answer the survey")
    parser.add_argument("--item-missing", type=float, default=0.0, help="share of item answers missing at random")
    parser.add_argument("--arrival-weeks", type=float, default=None, metavar="WEEKS",
                        help="customers arrive over this many weeks: adds customers.assigned_at (for monitoring)")  # fmt: skip
    parser.add_argument("--survey-exports", choices=["auto", "yes", "no"], default="auto",
                        help="also write the survey as a Qualtrics CSV export and an SPSS .sav with a codebook "
                             f"(auto: up to {SURVEY_EXPORTS_AUTO_MAX:,} customers)")  # fmt: skip


def _simulate(args: argparse.Namespace) -> int:
    """Write the simulated tables and list them with their row counts."""
    from .simulate import simulate_to

    start = time.perf_counter()
    # each table is written while the next is drawn
    sim, paths = simulate_to(
        args.out,
        fmt=args.format,
        n_customers=args.customers,
        seed=args.seed,
        assignment=args.assignment,
        survey_response_rate=args.response_rate,
        item_missing_rate=args.item_missing,
        arrival_weeks=args.arrival_weeks,
    )
    with_exports = args.survey_exports == "yes" or (args.survey_exports == "auto"
                                                     and args.customers <= SURVEY_EXPORTS_AUTO_MAX)
    if with_exports:  # Qualtrics CSV, .sav, codebook
        from .survey_files import write_demo_exports

        paths += write_demo_exports(sim, args.out, seed=args.seed)
    rows = {k: len(v) for k, v in sim.tables().items()}
    print(f"simulated {args.customers} customers (seed {args.seed}) in {time.perf_counter() - start:.1f} s -> {args.out}")
    for p in paths:
        print(f"  {p}" + (f"  ({rows[p.stem]:,} rows)" if p.stem in rows and p.suffix in (".csv", ".parquet") else ""))
    if not with_exports and args.survey_exports == "auto":
        print(f"survey exports (Qualtrics CSV, SPSS .sav) skipped above {SURVEY_EXPORTS_AUTO_MAX:,} customers; "
              "--survey-exports yes writes them")
    return 0


# --------------------------------------------------------------------------- validate


def _validate_arguments(parser: argparse.ArgumentParser) -> None:
    from .schema import TABLE_KINDS
    from .validation import MAX_ROWS_LISTED

    parser.add_argument("kind", choices=TABLE_KINDS, metavar="KIND", help="table kind: " + ", ".join(TABLE_KINDS))
    parser.add_argument("path", metavar="PATH", help="CSV, Parquet or Excel (.xlsx) file")
    parser.add_argument("--arms", nargs="+", metavar="ARM", help="expected touch_model labels (each must have rows)")
    parser.add_argument("--likert-range", nargs=2, type=float, metavar=("MIN", "MAX"), help="survey item scale (default 1 7)")
    parser.add_argument("--dsce-range", nargs=2, type=float, metavar=("MIN", "MAX"), help="DSCE rating scale (default 1 5)")
    parser.add_argument("--today", metavar="YYYY-MM-DD", help="dates after this day count as future (default: today)")
    parser.add_argument("--max-rows", type=int, default=MAX_ROWS_LISTED, help="row numbers listed per problem")
    parser.add_argument("--sep", metavar="CHAR", help="CSV field separator, e.g. ';' (default: ',')")
    parser.add_argument("--sheet", metavar="NAME", help="sheet of an Excel workbook with several sheets")


def _validate(args: argparse.Namespace) -> int:
    """Print the problems (exit code 2) or an OK line (exit code 0)."""
    from .io import read_table
    from .validation import ValidationError

    options = {
        "arms": args.arms,
        "likert_range": tuple(args.likert_range) if args.likert_range else None,
        "dsce_range": tuple(args.dsce_range) if args.dsce_range else None,
        "today": args.today,
        "max_rows": args.max_rows,
    }
    try:
        table = read_table(args.path, kind=args.kind, sep=args.sep, sheet=args.sheet, **options)
    except ValidationError as err:
        print(err)
        return 2
    print(
        f"OK: {len(table):,} rows, {table.shape[1]} columns in {args.path} "
        f"match the {args.kind} contract"
    )
    return 0


# --------------------------------------------------------------------------- report


def _report_arguments(parser: argparse.ArgumentParser) -> None:
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
    parser.add_argument("--notebook", metavar="NOTEBOOK",
                        help="run this one notebook (from notebooks/) instead of reports.yaml's runs, "
                             "with --param values: your own data without editing the batch file")  # fmt: skip
    parser.add_argument("--language", metavar="CODE",
                        help="language of every run that reports.yaml does not give one: en, it, es, zh, ru "
                             "(headings, domain labels, conclusions; a --param language=... overrides every run)")  # fmt: skip
    parser.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE",
                        help="set a parameter of every selected run (VALUE in YAML: 0.1, true, [a, b], {y: binary}, "
                             "'quoted text'); checked like reports.yaml values")  # fmt: skip


def _error(lines: list[str]) -> int:
    for line in lines:
        print(f"error: {line}", file=sys.stderr)
    return 2


def _report(args: argparse.Namespace) -> int:
    """Run the report batch. Exit codes: 0 every run succeeded, 1 some run failed,
    2 bad configuration or parameters (nothing was executed), 130 interrupted."""
    try:
        return _report_batch(args)
    except KeyboardInterrupt:
        print("interrupted: kernels stopped, no report was changed", file=sys.stderr)
        return 130


def _report_batch(args: argparse.Namespace) -> int:
    from .reports.config import (
        ConfigError,
        RunSpec,
        check_runs,
        load_config,
        name_problem,
        parse_parameters,
        select_runs,
    )
    from .reports.params import ParameterError, describe

    if args.describe:
        try:
            print(describe(args.describe))
        except ParameterError as exc:
            return _error([f"{args.describe}: {exc}"])
        return 0
    if args.jobs is not None and args.jobs < 1:
        return _error([f"--jobs must be at least 1, got {args.jobs}"])
    if args.run_id is not None:
        problem = name_problem(args.run_id, "--run-id")
        if problem:
            return _error([problem])
    try:
        if args.notebook:  # one ad-hoc run: the config's runs (and their monitors) are not touched
            if args.only:
                return _error(["--notebook and --only exclude each other: --notebook runs one notebook on its own"])
            runs = [RunSpec(name=Path(args.notebook).stem or "run", notebook=args.notebook, parameters={},
                            entry="--notebook", root=Path.cwd())]  # fmt: skip
        else:
            runs = select_runs(load_config(args.config), args.only)
        overrides = parse_parameters(args.param)
        for run in runs:
            if args.language is not None:
                run.parameters.setdefault("language", args.language)
            run.parameters.update(overrides)
    except ConfigError as exc:
        return _error(exc.problems)
    try:
        check_runs(runs)
    except ConfigError as exc:  # each problem names the file (or command line) its run comes from
        source = f"--notebook {args.notebook}" if args.notebook else str(args.config)
        return _error([f"{source}: {problem}" for problem in exc.problems])

    from .reports.runner import BatchError, run_batch

    try:
        result = run_batch(
            runs,
            config_path=args.notebook or args.config,
            output_root=args.output_root,
            run_id=args.run_id,
            jobs=args.jobs,
            force=args.force,
            with_code=args.with_code,
            update_latest=not (args.only or args.notebook),  # `latest` shows a complete batch, never a subset
        )
    except (ConfigError, BatchError) as exc:  # bad names or values; the output root is held or unwritable
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


# --------------------------------------------------------------------------- workshop


def _workshop_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="workshop_kit", help="folder to write the kit into (default workshop_kit)")
    parser.add_argument("--no-handout", action="store_true", help="skip executing the solutions into handout.html")
    parser.add_argument("--language", default="en", metavar="CODE",
                        help="language of the notebooks' headings: en (default), it, es, zh, ru")  # fmt: skip


def _workshop(args: argparse.Namespace) -> int:
    """Build the offline learner kit."""
    from .i18n import UnknownLanguageError, check_language
    from .io import project_root
    from .workshop import build_workshop

    try:
        check_language(args.language)
    except UnknownLanguageError as exc:
        return _error([f"--language: {exc}"])
    out = build_workshop(args.out, root=project_root(), handout=not args.no_handout, language=args.language)
    print(f"workshop kit ready in {out} (copy the whole folder for offline use)")
    return 0


# --------------------------------------------------------------------------- codebook


def _codebook_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("survey", metavar="SURVEY_FILE",
                        help="Qualtrics CSV/TSV export, SPSS .sav, Stata .dta, SAS .sas7bdat/.xpt or CSV")  # fmt: skip
    parser.add_argument("--out", metavar="FILE", help="write the draft here (.csv or .yaml); default: CSV on stdout")
    parser.add_argument("--likert", metavar="SCALE",
                        help="answer labels of text answers, e.g. agree_7 (default: recognised from the answers)")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="overwrite FILE if it exists")


def _codebook(args: argparse.Namespace) -> int:
    """Draft a codebook from a survey file's labels (exit 2 if the file cannot be read)."""
    from .codebook import LIKERT_SCALES, draft_codebook, write_codebook
    from .survey_files import read_survey
    from .validation import ValidationError

    if args.likert is not None and args.likert not in LIKERT_SCALES:
        return _error([f"--likert {args.likert!r} is not a shipped scale; choose one of {', '.join(LIKERT_SCALES)}"])
    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() not in (".csv", ".yaml", ".yml"):
        return _error([f"--out {args.out}: write the codebook as .csv or .yaml"])
    if out is not None and out.exists() and not args.force:
        return _error([f"--out {args.out} exists; choose another file or pass --force to overwrite it"])
    try:
        data = read_survey(args.survey, likert=args.likert)
    except FileNotFoundError as exc:
        return _error([str(exc)])
    except ValidationError as exc:
        return _error(str(exc).splitlines())
    book = draft_codebook(data, source=args.out or "stdout")
    if not book.items:
        return _error([f"{args.survey}: no column has answer labels or is a Qualtrics question; write the codebook "
                       "by hand (fields: item, scale, reverse, question, min, max, labels)"])  # fmt: skip
    if out is None:
        print(book.to_frame().to_csv(index=False), end="")
    else:
        write_codebook(book, out)
        print(f"drafted {len(book.items)} items in {len(book.scales)} scale(s) -> {out}", file=sys.stderr)
    print("check the scales, and set reverse to true for the reverse-keyed items", file=sys.stderr)
    return 0


# --------------------------------------------------------------------------- the parser

Arguments = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]

#: sub-command -> (one-line help, add its arguments, run it)
COMMANDS: dict[str, tuple[str, Arguments, Run]] = {
    "simulate": ("write a simulated data set with known ground truth", _simulate_arguments, _simulate),
    "validate": ("check a table against its data contract", _validate_arguments, _validate),
    "report": ("run the report batch (papermill) into reports/", _report_arguments, _report),
    "workshop": ("build the offline teaching-workshop folder", _workshop_arguments, _workshop),
    "codebook": ("draft a codebook from a survey file's labels", _codebook_arguments, _codebook),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only`` set, just that sub-command gets its arguments (and imports)."""
    parser = argparse.ArgumentParser(
        prog="engagement-kit",
        description="Customer-engagement research toolkit.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"engagement-kit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, arguments, run) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or name == only:
            arguments(p)
            p.set_defaults(_run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``engagement-kit``; returns the exit code (2 without a sub-command)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    return int(args._run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
