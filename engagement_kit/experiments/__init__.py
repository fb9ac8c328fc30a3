"""Touch-model experiments: A/B/n analysis from per-arm sufficient statistics.

One data flow: validate -> :mod:`.aggregate` (counts, sums, sums of squares,
cross-products, once) -> :mod:`.tests` (pure functions of those) -> tidy tables.

The entry point: :func:`experiment` runs every part the data and the parameters allow and
returns one frozen :class:`ExperimentResult` (``tables()``, ``write(folder)``,
``conclusions()``, ``skipped``, ``design_warnings``); its tables and their columns (the
published CSVs: ``effects, srm, balance, segments, interaction, value, power, bayes,
survival, sequential``) are listed in :mod:`.result`; with ``time_col`` it also monitors the
experiment look by look with anytime-valid confidence sequences (:func:`sequential`, the
``sequential`` table). The building blocks, each ``data`` first and the
rest keyword-only (``arm_col``, ``control``, ...):

- :func:`analyze` -- the effects table (every metric x arm vs control; see :mod:`.effects`).
- :func:`srm`, :func:`balance` -- design checks (sample ratio mismatch, covariate balance).
- :func:`segment_effects`, :func:`interaction_test` -- effects per segment and the arm x segment test.
- :func:`value` -- incremental value per customer (revenue - cost to serve), best arm, P(best).
- :func:`bayes` -- posterior of the difference and P(beat control).
- :func:`sample_size`, :func:`mde`, :func:`power_curve`, :func:`power_table` -- planning the next test.
- :func:`survival_tests` -- Kaplan-Meier medians and log-rank per comparison.
- :func:`sequential`, :func:`max_sample_size` -- peeking-safe monitoring (confidence
  sequences, mixture SPRT, Lan-DeMets group-sequential boundaries) and its planning cost.
- the table itself: :func:`engagement_kit.io.load_analysis_table` (demo customers + outcomes
  (+ survey) joined on customer_id, or one file).

Example
-------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"arm": rng.choice(["A", "B", "C"], 3000), "y": rng.normal(size=3000)})
>>> analyze(df, arm_col="arm", control="A", metrics={"y": "continuous"})["arm"].tolist()
['B', 'C']
"""

from __future__ import annotations

from .aggregate import METRIC_KINDS, MetricSpec, aggregate, parse_metrics
from .bayes import bayes
from .churn import survival_tests
from .effects import EFFECT_COLUMNS, adjust_pvalues, analyze, comparisons
from .power import mde, power_at, power_curve, power_table, sample_size
from .segments import interaction_test, segment_effects
from .result import ExperimentResult, experiment
from .sequential import SequentialResult, max_sample_size, sequential
from .srm import DesignWarning, balance, srm
from .value import value

__all__ = [
    "METRIC_KINDS",
    "MetricSpec",
    "EFFECT_COLUMNS",
    "aggregate",
    "parse_metrics",
    "analyze",
    "adjust_pvalues",
    "comparisons",
    "bayes",
    "survival_tests",
    "mde",
    "power_at",
    "power_curve",
    "power_table",
    "sample_size",
    "interaction_test",
    "segment_effects",
    "DesignWarning",
    "balance",
    "srm",
    "value",
    "ExperimentResult",
    "experiment",
    "SequentialResult",
    "max_sample_size",
    "sequential",
]
