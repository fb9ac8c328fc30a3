"""The desired state of customer engagement (DSCE) as a measurable scorecard.

The essay behind the toolkit defines the desired state as the "sum" of eight components
(customer intent, anticipation, product adoption, outcomes at scale, relationships,
communication, education, journey) and leaves the arithmetic open. Here it is explicit:
ratings on a declared scale become 0-100 component scores, the index is their weighted
mean (equal weights by default, fitted weights from the churn or expansion driver model
side by side), the gap is target minus actual, and driver models say which components
*predict* churn and expansion (observational: not proof that raising a rating changes
the outcome).

One entry point, :func:`scorecard`, returns one frozen :class:`Scorecard`
(``.tables()``, ``.write(folder)``, ``.conclusions()``, ``.skipped``,
``.small_cell_note()``). Modules, one job each:

- :mod:`~engagement_kit.dsce.scores`: the ratings check (the ``dsce`` data contract),
  component scores, targets, weights, the index, group means;
- :mod:`~engagement_kit.dsce.drivers`: driver models and fitted weights;
- :mod:`~engagement_kit.dsce.scorecard`: the entry point and its result;
- :mod:`~engagement_kit.dsce.conclusions`: the plain-language conclusions;
- :mod:`~engagement_kit.dsce.questionnaire`: the assessment template, filled answers ->
  the wide ratings table.

Bad input. The ratings table is checked by the ``dsce`` data contract
(:mod:`engagement_kit.validation`, with ``dsce_range=(scale_min, scale_max)`` and the
components declared): ratings outside the scale, non-numeric ratings, duplicated or
missing ids, missing component columns, accounts without any rating. The checks only the
scorecard can make (missing ratings unless ``missing="reweight"``; every assessed
account must have outcomes unless ``on_unmatched="drop"``; a ``segment_col``/``arm_col``
the customers table lacks) raise the same
:class:`~engagement_kit.validation.ValidationError`: every problem with its table,
column, rows and fix. Accounts with outcomes but no assessment are simply not scored.

Tables (``Scorecard.tables()``; the CSV interface of ``notebooks/dsce_scorecard.ipynb``)
----------------------------------------------------------------------------------------
``dsce_scores`` - one row per account (account-level: the only table with ids):
    customer_id; score_<component> (0-100) for each component; index (the chosen
    weights), index_equal, index_fitted (when fitted weights were computed);
    target_index; gap (target_index - index); gap_<component>.
``dsce_segments`` - one row per grouping x group x measure:
    group_col ('all', the segment_col or the arm_col column), group, component (a
    component name, 'index', 'index_equal' or 'index_fitted'), n, score (mean, 0-100),
    score_ci_low, score_ci_high, target (mean target score), gap (mean gap),
    gap_ci_low, gap_ci_high (t intervals); suppressed (appended: fewer than
    ``min_cell_size`` accounts, values blanked).
``dsce_drivers`` - one row per component x outcome (a published interface):
    component, outcome ('churn', 'expansion_any', 'expansion_amount' or
    'expansion_revenue'), model, estimate (per SD of the rating: log hazard ratio, log
    odds ratio, change in log expansion or in expansion revenue), se, ci_low, ci_high,
    p_value, p_adjusted (``correction`` across all rows), flagged (p_adjusted < alpha),
    n, unit.
``dsce_weights`` - one row per component: component, equal_weight, and when fitted
    weights exist fitted_weight, fitted_from (the outcome), estimate, ci_low, ci_high,
    p_adjusted (of that driver model).
``kpis`` - kpi, group_col, group, n, estimate, ci_low, ci_high, method (see
    :mod:`engagement_kit.kpis`); suppressed (appended).
``kpi_trend`` - the retention rate per signup cohort (and arm): kpi, cohort, group_col,
    group, n, estimate, ci_low, ci_high, method (:func:`engagement_kit.kpis.kpi_trend`);
    suppressed (appended). Header-only without a signup_date column.

Example
-------
>>> import tempfile
>>> from engagement_kit.simulate import simulate
>>> sim = simulate(n_customers=600, seed=3, truth=False, frameworks=[], include_types=False)
>>> card = scorecard(sim.dsce, outcomes=sim.outcomes, customers=sim.customers, segment_col="segment")
>>> print(*card.skipped, sep="\\n")
breakdown by arm skipped: set arm_col to a column of customers (customers_path)
NPS and CSAT KPIs skipped: no survey (survey / survey_path)
>>> sorted(card.tables())
['dsce_drivers', 'dsce_scores', 'dsce_segments', 'dsce_weights', 'kpi_trend', 'kpis']
>>> sorted(card.tables()["dsce_segments"]["group_col"].unique())
['all', 'segment']
>>> sorted(p.name for p in card.write(tempfile.mkdtemp()).values())[:2]
['dsce_drivers.csv', 'dsce_scores.csv']
>>> card.conclusions().splitlines()[0].startswith("- **Overall index (equal weights):**")
True
"""

from __future__ import annotations

from .conclusions import conclusions
from .drivers import DRIVER_COLUMNS, drivers, fitted_weights, weights_table
from .questionnaire import (
    QUESTIONS,
    TEMPLATE_COLUMNS,
    answers_contract,
    answers_to_dsce,
    questionnaire_template,
    validate_answers,
)
from .scorecard import Scorecard, merge_accounts, scorecard
from .scores import (
    SCORE_MAX,
    SEGMENT_COLUMNS,
    check_ratings,
    component_scores,
    dsce_index,
    group_summary,
    resolve_weights,
    target_scores,
)

__all__ = [
    "scorecard",
    "Scorecard",
    "conclusions",
    "check_ratings",
    "component_scores",
    "target_scores",
    "resolve_weights",
    "dsce_index",
    "group_summary",
    "merge_accounts",
    "drivers",
    "fitted_weights",
    "weights_table",
    "QUESTIONS",
    "TEMPLATE_COLUMNS",
    "questionnaire_template",
    "answers_contract",
    "validate_answers",
    "answers_to_dsce",
    "DRIVER_COLUMNS",
    "SEGMENT_COLUMNS",
    "SCORE_MAX",
]
