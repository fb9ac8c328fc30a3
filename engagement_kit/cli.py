"""The ``engagement-kit`` command line.

Each sub-command lives in the module that owns its concept; the module exposes
``add_arguments(parser)`` and ``run(args) -> int`` (the exit code).

    engagement-kit simulate --customers 20000 --seed 42 --out data/demo
    engagement-kit validate customers data/demo/customers.csv
    engagement-kit report --jobs 2
"""

from __future__ import annotations

import argparse
import importlib
import sys

# sub-command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "simulate": ("engagement_kit.simulate", "write a simulated data set with known ground truth"),
    "validate": ("engagement_kit.validation", "check a table against its data contract"),
    "report": ("engagement_kit.reports", "run the report batch (papermill) into reports/"),
    "workshop": ("engagement_kit.workshop", "build the offline teaching-workshop folder"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only`` set, just that sub-command's module is imported."""
    parser = argparse.ArgumentParser(
        prog="engagement-kit",
        description="Customer-engagement research toolkit.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"engagement-kit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or name == only:
            module = importlib.import_module(module_name)
            module.add_arguments(p)
            p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
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
