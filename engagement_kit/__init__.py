"""engagement-kit: turn customer-engagement claims into hypotheses and test them on data.

Modules (one domain concept each): ``frameworks`` (the domain as data), ``schema`` and
``validation`` (data contracts), ``io`` (readers), ``simulate`` (data with known ground
truth), ``experiments`` (touch-model A/B/n), ``measurement`` and ``hypotheses``
(engagement dimensions), ``journeys`` (funnels, paths, cohorts, churn), ``stats``
(shared statistics: proportions, means, multiple testing, survival), ``dsce`` and
``kpis`` (desired-state scorecard), ``targeting`` (who should get which touch model), ``overview`` (who is in which touch model),
``results``, ``privacy`` and ``markdown`` (the one result shape, small cells, escaped
labels), ``i18n`` (the reports' words in en, it, es, zh, ru), ``plots``, ``reports`` (the batch pipeline), ``workshop`` (teaching material),
``cli``.

The most used entry points are available from the top level (imported on first use, so
``import engagement_kit`` stays fast):

>>> import engagement_kit as ek
>>> from engagement_kit.simulate import simulate  # (a module of the same name, so not re-exported)
>>> sim = simulate(n_customers=300, seed=1, truth=False, frameworks=[])
>>> ek.validate(sim.customers, "customers")
[]
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

from . import frameworks  # noqa: F401  (cheap, used everywhere)

_LAZY = {
    # the one entry point of each analysis (each returns a Result: tables(), write(), conclusions())
    "experiment": "engagement_kit.experiments",
    "sequential": "engagement_kit.experiments",
    "dimensions": "engagement_kit.measurement",
    "journey": "engagement_kit.journeys",
    "scorecard": "engagement_kit.dsce",
    "overview": "engagement_kit.overview",
    "targeting_policy": "engagement_kit.targeting",
    # reading and checking data
    "load_analysis_table": "engagement_kit.io",
    "read_table": "engagement_kit.io",
    "validate": "engagement_kit.validation",
    # the reader's language
    "translate": "engagement_kit.i18n",
    "LANGUAGES": "engagement_kit.i18n",
    "ValidationError": "engagement_kit.validation",
    # building blocks used on their own
    "analyze": "engagement_kit.experiments",
    "test_hypotheses": "engagement_kit.hypotheses",
    "dsce_index": "engagement_kit.dsce",
}

__all__ = ["__version__", "frameworks", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'engagement_kit' has no attribute {name!r}")
