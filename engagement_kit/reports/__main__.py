"""``python -m engagement_kit.reports``: the same as ``engagement-kit report``."""

from __future__ import annotations

import argparse
import sys

from . import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="engagement-kit report", description="Run the report batch.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
