"""engagement_kit.stats.survival: the Kaplan-Meier curve and its pointwise log-log interval.

References: the product-limit estimate and Greenwood variance computed by hand (numpy,
not statsmodels), statsmodels' own median, and a seeded coverage simulation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.duration.survfunc import SurvfuncRight

from engagement_kit.stats.survival import kaplan_meier, median_survival


def _hand_km(t, e, alpha=0.05):
    """Product limit, Greenwood variance and the log(-log S) interval, by hand."""
    times = np.unique(t[e == 1])
    s, green, rows = 1.0, 0.0, []
    z = stats.norm.ppf(1 - alpha / 2)
    for u in times:
        n = (t >= u).sum()
        d = ((t == u) & (e == 1)).sum()
        s *= 1 - d / n
        green += d / (n * (n - d)) if n > d else np.inf
        if 0 < s < 1:
            se_ll = np.sqrt(green) / abs(np.log(s))
            lo, hi = s ** np.exp(z * se_ll), s ** np.exp(-z * se_ll)
        else:
            lo = hi = s
        rows.append((u, n, d, s, lo, hi))
    return pd.DataFrame(rows, columns=["time", "n_at_risk", "n_events", "survival", "ci_low", "ci_high"])


def test_kaplan_meier_equals_the_hand_computed_product_limit_and_log_log_interval():
    rng = np.random.default_rng(4)
    t = np.round(rng.exponential(50, 80), 0) + 1
    e = (rng.random(80) < 0.7).astype(int)
    km = kaplan_meier(pd.DataFrame({"t": t, "e": e}), "t", "e")
    ref = _hand_km(t, e)
    for col in ["time", "n_at_risk", "n_events", "survival", "ci_low", "ci_high"]:
        np.testing.assert_allclose(km[col].to_numpy(dtype=float), ref[col].to_numpy(dtype=float), rtol=1e-9, err_msg=col)


def test_median_survival_equals_statsmodels_quantile():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"t": rng.exponential(30, 200), "e": (rng.random(200) < 0.8).astype(int),
                       "g": rng.choice(["a", "b"], 200)})
    med = median_survival(df, "t", "e", group_col="g").set_index("group")
    for g, d in df.groupby("g"):
        assert med.loc[g, "median"] == pytest.approx(SurvfuncRight(d["t"], d["e"]).quantile(0.5))


@pytest.mark.slow
def test_log_log_interval_covers_the_true_survival_about_95_percent():
    # exponential times (mean 100), uniform censoring on 0-200; true S(60) = exp(-0.6)
    R, n, t0 = 2000, 120, 60.0
    truth = np.exp(-t0 / 100)
    rng = np.random.default_rng(6)
    covered = 0
    for _ in range(R):
        t_event = rng.exponential(100, n)
        c = rng.uniform(0, 200, n)
        df = pd.DataFrame({"t": np.minimum(t_event, c), "e": (t_event <= c).astype(int)})
        km = kaplan_meier(df, "t", "e")
        row = km[km["time"] <= t0].iloc[-1]
        covered += row["ci_low"] <= truth <= row["ci_high"]
    rate = covered / R
    print(f"\nKM log-log pointwise coverage of S(60): {rate:.4f} (R = {R})")
    assert 0.935 <= rate <= 0.965
