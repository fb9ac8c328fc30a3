"""The report batch: every parameterised notebook, over its parameter sets, executed with
papermill into readable (HTML), reproducible (manifest) and machine-readable (CSV) reports.

Modules: :mod:`.config` (``reports.yaml``, grids, validation), :mod:`.params` (a notebook's
``parameters`` cell), :mod:`.runner` (parallel execution, staging, ``latest``),
:mod:`.render` (HTML, ``index.html``), :mod:`.manifest` (provenance), :mod:`.cache` (reuse).

Command line (see ``docs/reports.md``; the options are parsed in :mod:`engagement_kit.cli`)::

    engagement-kit report [--config reports.yaml] [--only NAME ...] [--jobs N] [--run-id ID]
                          [--with-code] [--force] [--describe NOTEBOOK] [--output-root reports]

Exit codes: 0 every run succeeded, 1 some run failed, 2 bad configuration or parameters
(nothing was executed), another batch writing to the same output root, or an output
root that cannot be written (read-only, full), 130 interrupted.

Example
-------
>>> from engagement_kit.cli import build_parser
>>> build_parser("report").parse_args(["report", "--jobs", "2"]).jobs
2
"""
