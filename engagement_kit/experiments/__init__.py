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
- the table itself: :func:`engagement_kit.io.load_analysis_table` (demo customers + outcomes
  (+ survey) joined on customer_id, or one file).

Output tables (the columns are an interface; the notebook writes them as CSVs)
------------------------------------------------------------------------------
- ``effects.csv`` (:func:`analyze`): ``metric, arm, control, n_arm, n_control, mean_arm,
  mean_control, diff, ci_low, ci_high, rel_diff, rel_ci_low, rel_ci_high, p_value,
  p_adjusted, method, se, variance_reduction``. One row per metric x arm vs control x
  method. ``method``: ``z_wald`` (binary), ``welch`` (continuous, count), ``z_nps`` (NPS,
  in points), ``delta`` (ratio), ``cox`` (time_to_event: ``diff`` is the hazard ratio,
  ``mean_*`` the Kaplan-Meier survival at the common horizon, ``rel_*`` = HR - 1),
  ``cuped`` / ``ancova_hc1`` (covariate-adjusted; ``variance_reduction`` = 1 -
  Var_adjusted / Var_unadjusted), ``mann_whitney``, ``bootstrap``. ``rel_diff`` = diff /
  |mean_control|. ``p_adjusted``: Holm (default) / BH / Bonferroni within each method over
  metrics x comparisons.
- ``srm.csv`` (:func:`srm`): ``arm, n_observed, n_expected, planned_share, observed_share,
  chi2, df, p_value, srm_detected`` (chi-square vs the planned allocation, alarm at p < 0.001).
- ``balance.csv`` (:func:`balance`): ``covariate, arm, control, mean_arm, mean_control,
  sd_arm, sd_control, smd, p_value, imbalanced`` (|SMD| > 0.1).
- ``segments.csv`` (:func:`segment_effects`): ``segment`` + the effects columns +
  ``interaction_p_value``; ``interaction.csv`` (:func:`interaction_test`): ``metric,
  statistic, df, p_value, n_segments, method`` (Wald, HC2, saturated arm x segment model).
- ``value.csv`` (:func:`value`): ``segment, arm, control, n_arm, revenue_per_customer,
  cost_per_customer, value_per_customer, incremental_revenue, incremental_cost,
  incremental_value, ci_low, ci_high, p_value, prob_best, best`` (segment ``all`` = overall).
- ``power.csv`` (:func:`power_table`): ``metric, kind, baseline, sd, n_per_arm_current,
  n_comparisons, alpha_per_comparison, power, mde_current, mde_current_rel,
  target_rel_mde, target_mde, n_per_arm_required``.
- ``bayes.csv`` (:func:`bayes`): ``metric, arm, control, mean_arm, mean_control,
  posterior_mean_diff, cred_low, cred_high, prob_beat_control, expected_loss, method``.
- ``survival.csv`` (:func:`survival_tests`): ``metric, arm, control, n_arm, n_control,
  events_arm, events_control, median_arm, median_control, logrank_chi2, logrank_df, p_value``.

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
