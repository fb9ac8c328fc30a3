"""``python -m engagement_kit.reports``: the same as ``engagement-kit report``."""

from __future__ import annotations

import sys

from ..cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    """``engagement-kit report`` with ``argv`` (default: the process arguments)."""
    return cli_main(["report", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
