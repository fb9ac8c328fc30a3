"""engagement-kit: turn customer-engagement claims into hypotheses and test them on data.

Modules (one domain concept each): ``frameworks`` (the domain as data), ``schema`` and
``validation`` (data contracts), ``io`` (readers), ``simulate`` (data with known ground
truth), ``experiments`` (touch-model A/B/n), ``measurement`` and ``hypotheses``
(engagement dimensions), ``journeys`` (funnels, paths, cohorts, churn), ``dsce`` and
``kpis`` (desired state scorecard), ``plots``, ``reports`` (the batch pipeline), ``cli``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import frameworks  # noqa: F401  (cheap, used everywhere)

__all__ = ["__version__", "frameworks"]
