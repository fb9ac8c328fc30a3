"""Touch-model experiments: A/B/n analysis from per-arm sufficient statistics.

One data flow: validate -> :mod:`.aggregate` (counts, sums, sums of squares,
cross-products, once) -> :mod:`.tests` (pure functions of those) -> tidy tables.

- :func:`analyze` -- the effects table (every metric x arm vs control; see :mod:`.effects`).
- :func:`srm`, :func:`balance` -- design checks (sample ratio mismatch, covariate balance).
- :func:`segment_effects`, :func:`interaction_test` -- effects per segment and the arm x segment test.
- :func:`value` -- incremental value per customer (revenue - cost to serve), best arm, P(best).
- :func:`bayes` -- posterior of the difference and P(beat control).
- :func:`sample_size`, :func:`mde`, :func:`power_curve`, :func:`power_table` -- planning the next test.
- :func:`survival_tests` -- Kaplan-Meier medians and log-rank per comparison.
- :func:`load_experiment_table` -- demo customers + outcomes (+ survey) joined on customer_id.

Example
-------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"arm": rng.choice(["A", "B", "C"], 3000), "y": rng.normal(size=3000)})
>>> analyze(df, "arm", "A", {"y": "continuous"})["arm"].tolist()
['B', 'C']
"""

from __future__ import annotations

from .aggregate import METRIC_KINDS, MetricSpec, aggregate, parse_metrics
from .bayes import bayes
from .churn import survival_tests
from .effects import EFFECT_COLUMNS, adjust_pvalues, analyze, comparisons
from .loader import load_experiment_table
from .power import mde, power_at, power_curve, power_table, sample_size
from .segments import interaction_test, segment_effects
from .report import OUTPUT_COLUMNS, conclusions, output_folder, write_tables
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
    "load_experiment_table",
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
    "OUTPUT_COLUMNS",
    "conclusions",
    "output_folder",
    "write_tables",
]
