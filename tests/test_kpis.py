"""KPIs with CIs: each checked against a hand computation or an independent reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from engagement_kit.kpis import (
    KPI_TABLE_COLUMNS,
    clv,
    clv_by_group,
    cohort_labels,
    csat_by_group,
    kpi_table,
    mean_by_group,
    nps,
    nps_by_group,
    nps_counts_ci,
    nps_from_counts,
    proportion_by_group,
    retention_by_group,
)
from engagement_kit.stats.proportions import wilson_ci

Z975 = stats.norm.ppf(0.975)


# --- NPS -------------------------------------------------------------------------


def test_nps_variance_matches_exact_multinomial_enumeration():
    # Reference: enumerate every (promoters, passives, detractors) outcome of a
    # multinomial with n = 12 and compute E and Var of (P - D)/n from the pmf.
    n, p = 12, np.array([0.5, 0.2, 0.3])
    mean = second = 0.0
    for a in range(n + 1):
        for c in range(n + 1 - a):
            b = n - a - c
            w = stats.multinomial.pmf([a, b, c], n, p)
            score = (a - c) / n
            mean += w * score
            second += w * score**2
    exact_var = second - mean**2
    # the variance formula behind nps_from_counts: (pP + pD - (pP - pD)^2) / n
    formula = (p[0] + p[2] - (p[0] - p[2]) ** 2) / n
    assert mean == pytest.approx(p[0] - p[2], abs=1e-12)
    assert exact_var == pytest.approx(formula, rel=1e-10)
    # and nps_from_counts uses it: with counts equal to n * p the SE is 100 * sqrt(formula)
    r = nps_from_counts(50, 20, 30)
    assert r.se == pytest.approx(100 * np.sqrt((0.5 + 0.3 - 0.2**2) / 100), rel=1e-12)


def test_nps_se_equals_delta_method_written_out():
    # Var(pP_hat - pD_hat) = [pP(1-pP) + pD(1-pD) + 2 pP pD] / n (multinomial covariance -pP pD / n)
    nP, nPa, nD = 37, 41, 22
    n = nP + nPa + nD
    pP, pD = nP / n, nD / n
    se = np.sqrt((pP * (1 - pP) + pD * (1 - pD) + 2 * pP * pD) / n)
    r = nps_from_counts(nP, nPa, nD)
    assert r.nps == pytest.approx(100 * (pP - pD))
    assert r.se == pytest.approx(100 * se, rel=1e-12)
    assert r.ci_low == pytest.approx(100 * (pP - pD - Z975 * se))


def test_nps_by_group_agrees_with_nps_on_each_group():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"nps": rng.integers(0, 11, 600), "g": rng.choice(["x", "y", "z"], 600)})
    df.loc[::17, "nps"] = np.nan  # non-response is skipped
    out = nps_by_group(df, group_col="g")
    for _, row in out.iterrows():
        ref = nps(df.loc[df["g"] == row["g"], "nps"])
        assert row["n"] == ref.n
        assert row["estimate"] == pytest.approx(ref.nps)
        assert row["ci_low"] == pytest.approx(ref.ci_low)
        assert row["ci_high"] == pytest.approx(ref.ci_high)


def test_nps_counts_ci_vectorised_equals_scalar():
    counts = np.array([[5, 2, 3], [100, 50, 10], [0, 10, 30]])
    out = nps_counts_ci(counts[:, 0], counts[:, 1], counts[:, 2])
    for row, (a, b, c) in zip(out.itertuples(), counts):
        ref = nps_from_counts(int(a), int(b), int(c))
        assert (row.estimate, row.se, row.ci_low) == pytest.approx((ref.nps, ref.se, ref.ci_low))


def test_nps_out_of_range_is_an_error():
    with pytest.raises(ValueError, match="0-10"):
        nps_by_group(pd.DataFrame({"nps": [3, 11]}))


# --- proportions, means, CSAT -----------------------------------------------------


def test_wilson_interval_matches_the_formula_by_hand():
    # Wilson (1927): centre (x + z^2/2)/(n + z^2), half-width z/(n + z^2) sqrt(x(n-x)/n + z^2/4)
    x, n, z = 7, 20, Z975
    centre = (x + z**2 / 2) / (n + z**2)
    half = z / (n + z**2) * np.sqrt(x * (n - x) / n + z**2 / 4)
    lo, hi = wilson_ci(np.array([x]), np.array([n]))
    assert lo[0] == pytest.approx(centre - half, rel=1e-10)
    assert hi[0] == pytest.approx(centre + half, rel=1e-10)


def test_proportion_by_group_counts_and_bool_spellings():
    df = pd.DataFrame({"retained": ["yes", "no", "yes", "yes"], "g": ["a", "a", "b", "b"]})
    out = proportion_by_group(df, "retained", "g")
    assert out["estimate"].tolist() == [0.5, 1.0]
    assert out["n"].tolist() == [2, 2]


def test_proportion_missing_outcome_is_an_error():
    with pytest.raises(ValueError, match="missing"):
        proportion_by_group(pd.DataFrame({"retained": [True, None]}), "retained")


def test_mean_by_group_matches_scipy_t_interval():
    rng = np.random.default_rng(5)
    x = rng.lognormal(3, 1, 80)
    r = mean_by_group(pd.DataFrame({"x": x}), "x").iloc[0]
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi), rel=1e-10)


def test_csat_top_two_box_and_mean_by_hand():
    # group a: 5, 4, 3, 1 -> top-2 share 2/4, mean 13/4; group b: 2, 4 -> 1/2, 3
    df = pd.DataFrame({"csat": [5, 4, 3, 1, 2, 4, np.nan], "g": list("aaaabbb")})
    out = csat_by_group(df, group_col="g").set_index(["kpi", "g"])["estimate"]
    assert out[("csat_top2", "a")] == 0.5
    assert out[("csat_mean", "a")] == 3.25
    assert out[("csat_top2", "b")] == 0.5
    assert out[("csat_mean", "b")] == 3.0


def test_csat_outside_scale_is_an_error():
    with pytest.raises(ValueError, match="1-5"):
        csat_by_group(pd.DataFrame({"csat": [0, 3]}))


def test_churn_rate_is_the_mirror_of_retention():
    df = pd.DataFrame({"retained": [True] * 30 + [False] * 10})
    out = retention_by_group(df).set_index("kpi")
    assert out.loc["churn_rate", "estimate"] == pytest.approx(0.25)
    assert out.loc["churn_rate", "ci_low"] == pytest.approx(1 - out.loc["retention_rate", "ci_high"])
    lo, hi = wilson_ci(np.array([10]), np.array([40]))
    assert out.loc["churn_rate", "ci_low"] == pytest.approx(lo[0])
    assert out.loc["churn_rate", "ci_high"] == pytest.approx(hi[0])


# --- CLV ---------------------------------------------------------------------------


def test_clv_formula_equals_the_discounted_series():
    # Independent reference: sum_{t>=1} m r^t / (1+d)^t, truncated where the terms vanish.
    m, r, d = 120.0, 0.85, 0.08
    t = np.arange(1, 3000)
    series = float(np.sum(m * r**t / (1 + d) ** t))
    assert clv(m, r, d) == pytest.approx(series, rel=1e-10)
    assert clv(100.0, 0.8, 0.1) == pytest.approx(100 * 0.8 / 0.3)


def test_clv_by_group_delta_se_matches_numerical_gradient():
    rng = np.random.default_rng(11)
    n = 400
    r = rng.random(n) < 0.8
    m = rng.normal(100, 30, n) + 40 * r
    df = pd.DataFrame({"m": m, "retained": r})
    out = clv_by_group(df, "m", discount_rate=0.1).iloc[0]
    # reference: numerical gradient of clv(mean m, mean r) and the sample covariance of (m_i, r_i) / n
    mb, rb, eps = m.mean(), r.mean(), 1e-6
    g = np.array(
        [
            (clv(mb + eps, rb, 0.1) - clv(mb - eps, rb, 0.1)) / (2 * eps),
            (clv(mb, rb + eps, 0.1) - clv(mb, rb - eps, 0.1)) / (2 * eps),
        ]
    )
    cov = np.cov(np.vstack([m, r.astype(float)])) / n
    se = np.sqrt(g @ cov @ g)
    assert out["estimate"] == pytest.approx(clv(mb, rb, 0.1))
    assert out["ci_high"] - out["estimate"] == pytest.approx(Z975 * se, rel=1e-5)


def test_clv_rejects_retention_outside_unit_interval():
    with pytest.raises(ValueError, match="retention"):
        clv(100.0, 1.2)


# --- the kpis.csv table ------------------------------------------------------------


def _customers(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:07d}" for i in range(n)],
            "touch_model": rng.choice(["high_touch", "low_touch", "no_touch"], n),
            "retained": rng.random(n) < 0.8,
            "revenue": rng.lognormal(5, 1, n),
            "expansion_revenue": np.where(rng.random(n) < 0.2, rng.lognormal(3, 1, n), 0.0),
            "cost_to_serve": rng.lognormal(4, 0.3, n),
            "nps": np.where(rng.random(n) < 0.7, rng.integers(0, 11, n), np.nan),
            "csat": rng.integers(1, 6, n),
            "signup_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
        }
    )


def test_kpi_table_has_the_interface_columns_and_every_kpi():
    df = _customers()
    out = kpi_table(df, "touch_model")
    assert tuple(out.columns) == KPI_TABLE_COLUMNS
    kpis = set(out["kpi"])
    assert {"nps", "csat_top2", "csat_mean", "retention_rate", "churn_rate", "expansion_rate",
            "expansion_revenue", "cost_to_serve", "clv", "margin"} <= kpis
    assert "response_time" not in kpis  # absent column -> KPI skipped
    assert set(out["group_col"]) == {"all", "touch_model"}
    assert not out[["estimate", "ci_low", "ci_high"]].isna().any().any()
    assert (out["ci_low"] <= out["estimate"]).all() and (out["estimate"] <= out["ci_high"]).all()
    # the CLV row equals the formula with margin = revenue + expansion - cost
    overall = out[(out.kpi == "clv") & (out.group_col == "all")].iloc[0]
    margin = (df.revenue + df.expansion_revenue - df.cost_to_serve).mean()
    assert overall["estimate"] == pytest.approx(clv(margin, df.retained.mean(), 0.1))


def test_kpi_table_reports_response_time_where_present():
    df = _customers().assign(response_time=lambda d: np.linspace(1, 10, len(d)))
    rows = kpi_table(df)
    rt = rows[rows.kpi == "response_time"].iloc[0]
    assert rt["estimate"] == pytest.approx(5.5)


def test_cohort_labels_quarterly():
    df = pd.DataFrame({"signup_date": ["2024-01-15", "2024-05-01", "2024-12-31"]})
    assert cohort_labels(df).tolist() == ["2024Q1", "2024Q2", "2024Q4"]
    with pytest.raises(ValueError, match="unparseable"):
        cohort_labels(pd.DataFrame({"signup_date": ["2024-01-15", "not a date"]}))


# --- calibration by simulation (vectorised: numpy multinomial draws) ---------------

NPS_DESIGNS = [(200, (0.45, 0.30, 0.25)), (500, (0.20, 0.30, 0.50)), (1000, (0.60, 0.30, 0.10))]


@pytest.mark.slow
@pytest.mark.parametrize("n,p", NPS_DESIGNS)
def test_nps_ci_covers_the_true_nps_95_percent(n, p):
    reps = 4000
    rng = np.random.default_rng(20261123 + n)
    counts = rng.multinomial(n, p, size=reps)
    out = nps_counts_ci(counts[:, 0], counts[:, 1], counts[:, 2])
    truth = 100 * (p[0] - p[2])
    coverage = float(((out["ci_low"] <= truth) & (truth <= out["ci_high"])).mean())
    print(f"NPS coverage n={n} p={p}: {coverage:.4f} over {reps} replicates")
    assert 0.935 <= coverage <= 0.965


@pytest.mark.slow
def test_nps_by_group_coverage_through_the_dataframe_path():
    # 2,000 replicate "groups" of 200 answers each, through nps_by_group (the path kpis.csv uses).
    reps, n, p = 2000, 200, np.array([0.35, 0.40, 0.25])
    rng = np.random.default_rng(7)
    cat = rng.choice(3, size=reps * n, p=p)
    answers = np.array([10, 8, 3])[cat]
    df = pd.DataFrame({"nps": answers, "rep": np.repeat(np.arange(reps), n)})
    out = nps_by_group(df, group_col="rep")
    truth = 100 * (p[0] - p[2])
    coverage = float(((out["ci_low"] <= truth) & (truth <= out["ci_high"])).mean())
    print(f"NPS coverage via nps_by_group: {coverage:.4f}")
    assert 0.935 <= coverage <= 0.965


@pytest.mark.slow
def test_clv_delta_ci_coverage():
    # margin correlated with retention; the true CLV uses the population means E[m], P(retained).
    reps, n, d = 2000, 400, 0.1
    rng = np.random.default_rng(99)
    r = rng.random((reps, n)) < 0.75
    m = rng.normal(80, 40, (reps, n)) + 60 * r
    df = pd.DataFrame({"m": m.ravel(), "retained": r.ravel(), "rep": np.repeat(np.arange(reps), n)})
    out = clv_by_group(df, "m", group_col="rep", discount_rate=d)
    truth = clv(80 + 60 * 0.75, 0.75, d)
    coverage = float(((out["ci_low"] <= truth) & (truth <= out["ci_high"])).mean())
    print(f"CLV delta-method coverage: {coverage:.4f}")
    assert 0.935 <= coverage <= 0.965



def test_kpi_table_without_any_kpi_column_is_an_error():
    with pytest.raises(ValueError, match="no KPI column"):
        kpi_table(pd.DataFrame({"customer_id": ["A"], "segment": ["smb"]}), "segment")
