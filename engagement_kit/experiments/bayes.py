"""Bayesian view: posterior of the difference arm - control and P(arm beats control).

- binary: independent ``Beta(prior_a + successes, prior_b + failures)`` posteriors
  (default uniform Beta(1, 1)); the difference's posterior by seeded Monte-Carlo draws.
- continuous / count / nps: flat-prior normal approximation, each arm's mean
  ``~ N(mean, s^2/n)`` (large-sample), so the difference is normal and
  ``P(beat) = Phi(diff / se)`` exactly (no draws).

Columns: ``metric, arm, control, mean_arm, mean_control, posterior_mean_diff,
cred_low, cred_high, prob_beat_control, expected_loss, method`` (equal-tailed
credible interval at 1 - alpha; ``expected_loss`` = E[max(control - arm, 0)], what
choosing the arm costs if it is in fact worse; NPS in points).

Example
-------
>>> import pandas as pd
>>> df = pd.DataFrame({"arm": ["a"] * 100 + ["b"] * 100, "y": [0, 1] * 50 + [1] * 70 + [0] * 30})
>>> round(bayes(df, arm_col="arm", control="a", metrics={"y": "binary"})["prob_beat_control"].item(), 3)
0.998
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .aggregate import codes_of, parse_metrics
from .sufficient import sufficient_statistics
from .effects import comparisons

__all__ = ["bayes"]


def bayes(
    data: pd.DataFrame, *, arm_col: str, control, metrics: dict, alpha: float = 0.05, prior: tuple[float, float] = (1.0, 1.0),
    n_draws: int = 200_000, seed: int = 0,
) -> pd.DataFrame:
    """Posterior of the difference and probability to beat the control, per metric x arm."""
    specs = [s for s in parse_metrics(metrics) if s.kind in ("binary", "continuous", "count", "nps")]
    if not specs:
        raise ValueError("bayes covers binary, continuous, count and nps metrics; none given")
    a_codes = codes_of(data, arm_col)
    agg = sufficient_statistics(data, arm_col, specs, arm_codes=a_codes)
    pairs = comparisons(agg.arms, control)
    rng = np.random.default_rng(seed)
    rows = []
    for spec in specs:
        ms = agg.stats[spec.name]
        n, s = ms.n[0], ms.s1[0]
        scale = 100.0 if spec.kind == "nps" else 1.0
        for k, c in pairs:
            if spec.kind == "binary":
                d1 = rng.beta(prior[0] + s[k], prior[1] + n[k] - s[k], n_draws)
                d0 = rng.beta(prior[0] + s[c], prior[1] + n[c] - s[c], n_draws)
                d = d1 - d0
                lo, hi = np.quantile(d, [alpha / 2, 1 - alpha / 2])
                row = dict(posterior_mean_diff=d.mean(), cred_low=lo, cred_high=hi,
                           prob_beat_control=(d > 0).mean(), expected_loss=np.maximum(-d, 0).mean(),
                           method="beta_binomial", mean_arm=d1.mean(), mean_control=d0.mean())
            else:
                m, v = ms.mean[0], ms.var(1)[0]
                diff = m[k] - m[c]
                se = np.sqrt(v[k] / n[k] + v[c] / n[c])
                z = stats.norm.ppf(1 - alpha / 2)
                # E[max(-D, 0)] for D ~ N(diff, se^2)
                loss = se * stats.norm.pdf(diff / se) - diff * stats.norm.cdf(-diff / se)
                row = dict(posterior_mean_diff=diff, cred_low=diff - z * se, cred_high=diff + z * se,
                           prob_beat_control=stats.norm.cdf(diff / se), expected_loss=loss,
                           method="normal_approx", mean_arm=m[k], mean_control=m[c])
            for key in ("posterior_mean_diff", "cred_low", "cred_high", "expected_loss", "mean_arm", "mean_control"):
                row[key] = float(row[key]) * scale
            rows.append({"metric": spec.name, "arm": agg.arms[k], "control": agg.arms[c], **row})
    cols = ["metric", "arm", "control", "mean_arm", "mean_control", "posterior_mean_diff", "cred_low", "cred_high",
            "prob_beat_control", "expected_loss", "method"]
    return pd.DataFrame(rows)[cols]
