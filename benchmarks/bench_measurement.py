"""Timings of the measurement analysis on the demo-sized simulation (20,000 customers).

Run: ``PYTHONPATH=. python benchmarks/bench_measurement.py``. Prints seconds per step.
"""

from __future__ import annotations

import time

from engagement_kit.hypotheses import default_hypotheses, mediation, test_hypotheses
from engagement_kit.measurement import add_promoter, cfa, measurement_invariance, reliability, score_scales
from engagement_kit.schema import DEFAULT_SCALES, REVERSE_KEYED_ITEMS
from engagement_kit.simulate import simulate


def _timed(label: str, fn):
    t = time.perf_counter()
    out = fn()
    print(f"{label:<55s} {time.perf_counter() - t:7.2f} s")
    return out


def main() -> None:
    sim = simulate(n_customers=20_000, seed=20261123, frameworks=["aarrr"], include_types=False)
    df = add_promoter(sim.survey.merge(sim.outcomes, on="customer_id").merge(sim.customers, on="customer_id"))
    _timed("reliability (5 scales, alpha + omega)", lambda: reliability(df, scales=DEFAULT_SCALES, reverse_items=REVERSE_KEYED_ITEMS))
    _timed("CFA (20 items, 5 factors, std-loading CIs)", lambda: cfa(df, scales=DEFAULT_SCALES, reverse_items=REVERSE_KEYED_ITEMS))
    _timed("invariance (3 arms: configural, metric, scalar)",
           lambda: measurement_invariance(df, scales=DEFAULT_SCALES, group_col="touch_model",
                                          reverse_items=REVERSE_KEYED_ITEMS))
    scores = score_scales(df, scales=DEFAULT_SCALES, reverse_items=REVERSE_KEYED_ITEMS,
                          keep=["touch_model", "segment", "retained", "churned", "churn_time", "csat", "referrals",
                                "promoter"])
    hyps = default_hypotheses(scores.columns, arm_col="touch_model", covariates=["segment"])
    _timed(f"hypotheses (default family, {len(hyps)} specs)", lambda: test_hypotheses(scores, hypotheses=hyps))
    _timed("mediation, 5,000 bootstrap resamples, n ~ 13,300",
           lambda: mediation(scores, treatment="touch_model", mediator="attention", outcome="retained", covariates=["segment"],
                             treatment_level="high_touch", n_boot=5000, seed=1))


if __name__ == "__main__":
    main()
