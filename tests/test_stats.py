"""engagement_kit.stats: one multiplicity vocabulary accepted by every function that corrects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from engagement_kit.dsce import drivers
from engagement_kit.experiments import analyze
from engagement_kit.experiments.power import alpha_per_comparison
from engagement_kit.hypotheses import test_hypotheses
from engagement_kit.journeys import funnel_from_counts
from engagement_kit.stats.multitest import METHODS, adjust

VALID = "'holm', 'fdr_bh', 'bonferroni', 'none'"


@pytest.mark.parametrize("method", ["holm", "fdr_bh", "bonferroni"])
def test_adjust_is_multipletests_to_the_bit(method):
    rng = np.random.default_rng(3)
    for _ in range(50):
        p = rng.uniform(size=rng.integers(1, 40)) ** 3
        np.testing.assert_array_equal(adjust(p, method), multipletests(p, method=method)[1])


def test_none_returns_p_and_nan_stays_nan():
    p = np.array([0.2, np.nan, 0.01])
    np.testing.assert_array_equal(adjust(p, "none"), p)
    assert np.isnan(adjust(p, "holm")[1])
    assert METHODS == ("holm", "fdr_bh", "bonferroni", "none")


def _counts() -> pd.DataFrame:
    return pd.DataFrame({"framework": "laer", "arm": ["no_touch"] * 2 + ["high_touch"] * 2, "stage_order": [1, 2] * 2,
                         "n_ordered": [50, 20, 60, 35], "n_any": [50, 20, 60, 35], "n_any_prev": [50, 20, 60, 35],
                         "n_arm": [100, 100, 100, 100]})  # fmt: skip


@pytest.mark.parametrize("bad", ["bh", "fdr", "holm-sidak", "Holm"])
def test_every_correcting_function_names_the_valid_methods(bad):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"arm": rng.choice(["a", "b"], 200), "y": rng.normal(size=200)})
    calls = [
        lambda: adjust([0.1], bad),
        lambda: analyze(df, arm_col="arm", control="a", metrics={"y": "continuous"}, correction=bad),
        lambda: alpha_per_comparison(0.05, correction=bad),
        lambda: funnel_from_counts(_counts(), "laer", correction=bad, control="no_touch"),
        lambda: test_hypotheses(df, [], correction=bad),
        lambda: drivers(df, [], correction=bad),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=f"correction must be one of {VALID}; got '{bad}'"):
            call()


@pytest.mark.parametrize("method", METHODS)
def test_every_correcting_function_accepts_the_four_names(method):
    res = funnel_from_counts(_counts(), "laer", correction=method, control="no_touch")
    assert res.tests["p_adjusted"].notna().all()
    assert alpha_per_comparison(0.05, n_arms=3, correction=method) == (0.05 if method == "none" else 0.025)
