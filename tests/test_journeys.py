"""Journeys: funnels, times, paths, cohorts, KPIs, churn and data quality.

References are independent: funnels, transitions and cohorts are recomputed in
plain pandas; intervals and tests with statsmodels/scipy called directly;
survival with statsmodels SurvfuncRight / survdiff / PHReg; recovery against
the simulator's ground truth.
"""

from __future__ import annotations

import re

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight, survdiff
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from engagement_kit import journeys as J
from engagement_kit.frameworks import FRAMEWORKS, TOUCH_MODEL_NAMES

ARMS = list(TOUCH_MODEL_NAMES)


def _telco_path() -> Path:
    for p in (Path("data/real/telco_churn/telco_churn.csv"), Path("/work/shared/data/telco_churn/telco_churn.csv")):
        if p.exists():
            return p
    pytest.skip("telco churn table not available")


def make_events(n: int = 3000, seed: int = 0, framework: str = "aarrr") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Small synthetic events: stage k after k-1 with an arm shift, shuffled, plus
    random out-of-order timestamps (so ordered and any-order differ)."""
    rng = np.random.default_rng(seed)
    stages = FRAMEWORKS[framework].stage_names
    ids = np.array([f"C{i:05d}" for i in range(n)])
    arm = rng.integers(0, 3, n)
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "touch_model": np.array(ARMS)[arm],
            "segment": rng.choice(["smb", "mid_market", "enterprise"], n),
            "signup_date": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 90, n), unit="D"),
        }
    )
    p = np.array([0.9, 0.7, 0.6, 0.5, 0.5])[None, : len(stages)] + np.array([0.05, 0.03, 0.0])[arm][:, None]
    reached = np.cumprod(rng.random(p.shape) < p, axis=1).astype(bool)
    days = np.cumsum(rng.exponential(5, p.shape), axis=1)
    days += np.where(rng.random(p.shape) < 0.05, -rng.exponential(20, p.shape), 0)  # some inversions
    r, k = np.nonzero(reached)
    ev = pd.DataFrame(
        {
            "customer_id": ids[r],
            "timestamp": customers["signup_date"].to_numpy()[r]
            + pd.to_timedelta(np.round(days[r, k] * 86400), unit="s").to_numpy(),
            "framework": framework,
            "stage": np.array(stages)[k],
        }
    )
    return ev.sample(frac=1, random_state=seed).reset_index(drop=True), customers


def pandas_funnel(ev: pd.DataFrame, customers: pd.DataFrame, framework: str) -> pd.DataFrame:
    """Reference funnel in plain pandas (first arrival per stage; ordered = first arrivals non-decreasing)."""
    stages = list(FRAMEWORKS[framework].stage_names)
    e = ev[(ev["framework"] == framework) & ev["stage"].isin(stages) & ev["timestamp"].notna()]
    first = e.groupby(["customer_id", "stage"])["timestamp"].min().unstack().reindex(columns=stages)
    first = first.reindex(customers["customer_id"])  # customers without events: all NaT
    ordered = pd.DataFrame(index=first.index)
    ok = first[stages[0]].notna()
    ordered[stages[0]] = ok
    for a, b in zip(stages, stages[1:]):
        ok = ok & first[b].notna() & (first[b] >= first[a])
        ordered[b] = ok
    anyr = first.notna()
    arm = customers.set_index("customer_id")["touch_model"]
    rows = []
    for a in sorted(arm.unique()):
        idx = arm.index[arm == a]
        n_arm = len(idx)
        for mode, flags in (("ordered", ordered), ("any", anyr)):
            f = flags.loc[idx]
            prev_n = n_arm
            for i, s in enumerate(stages):
                n_k = int(f[s].sum())
                conv = n_k if (mode == "ordered" or i == 0) else int((f[s] & f[stages[i - 1]]).sum())
                rows.append(
                    {"arm": a, "mode": mode, "stage": s, "n_reached": n_k, "n_arm": n_arm, "n_previous": prev_n,
                     "rate_from_start": n_k / n_arm, "rate_from_previous": conv / prev_n, "conv": conv}  # fmt: skip
                )
                prev_n = n_k
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def small():
    ev, cu = make_events()
    return ev, cu


@pytest.mark.parametrize("mode", ["ordered", "any"])
def test_funnel_rates_equal_pandas_reference(small, mode):
    ev, cu = small
    res = J.funnel(ev, framework="aarrr", customers=cu, arm_col="touch_model", control="no_touch", mode=mode)
    ref = pandas_funnel(ev, cu, "aarrr").query("mode == @mode")
    got = res.funnel.merge(ref, on=["arm", "stage"], suffixes=("", "_ref"))
    assert len(got) == 15
    for c in ("n_reached", "n_arm", "n_previous"):
        assert (got[c] == got[f"{c}_ref"]).all(), c
    for c in ("rate_from_start", "rate_from_previous"):
        np.testing.assert_allclose(got[c], got[f"{c}_ref"], atol=1e-12)
    lo, hi = proportion_confint(got["conv"], got["n_previous_ref"], alpha=0.05, method="wilson")
    np.testing.assert_allclose(got["ci_low"], lo, atol=1e-12)
    np.testing.assert_allclose(got["ci_high"], hi, atol=1e-12)
    assert list(res.funnel.columns[: len(J.FUNNEL_COLUMNS)]) == J.FUNNEL_COLUMNS


def test_ordered_funnel_is_stricter_than_any_order(small):
    ev, cu = small
    o = J.funnel(ev, framework="aarrr", customers=cu, arm_col="touch_model", control="no_touch", mode="ordered").funnel
    a = J.funnel(ev, framework="aarrr", customers=cu, arm_col="touch_model", control="no_touch", mode="any").funnel
    assert (o["n_reached"].to_numpy() <= a["n_reached"].to_numpy()).all()
    assert (o["n_reached"].to_numpy() < a["n_reached"].to_numpy()).any()  # the injected inversions


def test_funnel_tests_equal_chi_square_and_holm(small):
    ev, cu = small
    t = J.funnel(ev, framework="aarrr", customers=cu, arm_col="touch_model", control="no_touch", correction="holm").tests
    assert set(t["arm"]) == {"high_touch", "low_touch"}
    for _, r in t.iterrows():
        x1, n1 = round(r["rate_arm"] * r["n_arm"]), r["n_arm"]
        x0, n0 = round(r["rate_control"] * r["n_control"]), r["n_control"]
        table = np.array([[x1, n1 - x1], [x0, n0 - x0]])
        if table.min(axis=0).min() == 0 and (table[:, 0].sum() == 0 or table[:, 1].sum() == 0):
            continue
        chi2, p, _, _ = stats.chi2_contingency(table, correction=False)  # reference: scipy Pearson chi-square
        assert r["chi2"] == pytest.approx(chi2, rel=1e-9)
        assert r["p_value"] == pytest.approx(p, rel=1e-9)
    for _, g in t.groupby("basis"):
        _, padj, _, _ = multipletests(g["p_value"], method="holm")
        np.testing.assert_allclose(g["p_adjusted"], padj, rtol=1e-12)


def test_csv_parquet_and_frame_sources_agree(small, tmp_path):
    ev, cu = small
    ev.to_csv(tmp_path / "events.csv", index=False)
    ev.to_parquet(tmp_path / "events.parquet")
    cu.to_csv(tmp_path / "customers.csv", index=False)
    ref = J.funnel(ev, framework="aarrr", customers=cu, arm_col="touch_model", control="no_touch").funnel
    for src in (tmp_path / "events.csv", tmp_path / "events.parquet"):
        got = J.funnel(str(src), framework="aarrr", customers=str(tmp_path / "customers.csv"),
                       arm_col="touch_model", control="no_touch").funnel
        pd.testing.assert_frame_equal(got, ref)


def test_quality_reports_every_problem_with_its_count(small, tmp_path):
    ev, cu = small
    bad = pd.concat(
        [
            ev,
            ev.iloc[:2],  # 2 duplicate rows
            pd.DataFrame({"customer_id": ev["customer_id"].iloc[:3], "timestamp": ev["timestamp"].iloc[:3],
                          "framework": "aarrr", "stage": "aquisition"}),  # 3 unknown-stage rows  # fmt: skip
            pd.DataFrame({"customer_id": ["X1", "X1", "X2", "X2"], "timestamp": ev["timestamp"].iloc[:4].to_numpy(),
                          "framework": "aarrr", "stage": "acquisition"}),  # 2 customers not in customers  # fmt: skip
        ],
        ignore_index=True,
    )
    dq = J.check_events(bad, customers=cu, frameworks=["aarrr"])
    assert dq.count("duplicate_event") == 2
    assert dq.count("unknown_stage") == 3
    t = dq.to_pandas()
    miss = t[t["check"] == "customer_not_in_customers"].iloc[0]
    assert (miss["n_rows"], miss["n_customers"]) == (4, 2)
    # out_of_order = customers whose first arrival at k precedes the first arrival at k-1 (pandas reference)
    first = ev.groupby(["customer_id", "stage"])["timestamp"].min().unstack()
    st = FRAMEWORKS["aarrr"].stage_names
    inv = sum(int((first[b] < first[a]).sum()) for a, b in zip(st, st[1:]))
    assert dq.count("out_of_order") == inv > 0
    assert t["rule"].str.len().gt(0).all()
    # the documented rules hold: duplicates and unknown customers do not change the funnel
    f_bad = J.funnel(bad, framework="aarrr", customers=cu, arm_col="touch_model", control="no_touch").funnel
    f_ok = J.funnel(ev, framework="aarrr", customers=cu, arm_col="touch_model", control="no_touch").funnel
    pd.testing.assert_frame_equal(f_bad, f_ok)
    out = dq.write(tmp_path / "quality.csv")
    assert "customer_id" not in pd.read_csv(out).columns


def test_time_to_next_stage_equals_statsmodels_km(small):
    ev, cu = small
    end = ev["timestamp"].max()
    res = J.time_to_next_stage(ev, framework="aarrr", customers=cu, arm_col="touch_model")
    # reference: durations from the pandas funnel, censored at the latest event
    stages = FRAMEWORKS["aarrr"].stage_names
    first = ev.groupby(["customer_id", "stage"])["timestamp"].min().unstack().reindex(columns=stages)
    arm = cu.set_index("customer_id")["touch_model"].reindex(first.index)
    ok = first[stages[0]].notna()
    for k in range(1, len(stages)):
        a, b = stages[k - 1], stages[k]
        nxt = ok & first[b].notna() & (first[b] >= first[a])
        d = ((first[b].where(nxt, end) - first[a]).dt.total_seconds() / 86400)[ok]
        for g in ARMS:
            m = (arm[ok] == g).to_numpy()
            sf = SurvfuncRight(d[m].to_numpy(), nxt[ok][m].astype(float).to_numpy())
            row = res[(res["stage"] == b) & (res["arm"] == g)].iloc[0]
            assert row["n"] == m.sum() and row["n_events"] == nxt[ok][m].sum()
            med = sf.quantile(0.5)
            if np.isnan(row["median_days"]):
                assert med is None or np.isnan(med)
            else:
                assert row["median_days"] == pytest.approx(med, abs=1e-6)
        ok = nxt


def test_transitions_equal_pandas_shift():
    ev, cu = make_events(n=800, seed=4, framework="laer")
    t = J.transitions(ev, framework="laer", customers=cu, arm_col="touch_model")
    e = ev.drop_duplicates().copy()
    e["order"] = e["stage"].map({s: i + 1 for i, s in enumerate(FRAMEWORKS["laer"].stage_names)})
    e = e.sort_values(["customer_id", "timestamp", "order"])
    e["to"] = e.groupby("customer_id")["stage"].shift(-1).fillna("(exit)")
    e["arm"] = e["customer_id"].map(cu.set_index("customer_id")["touch_model"])
    ref = e.groupby(["arm", "stage", "to"]).size()
    got = t[t["from_stage"] != "(entry)"].set_index(["arm", "from_stage", "to_stage"])["n"]
    pd.testing.assert_series_equal(got.sort_index(), ref.sort_index(), check_names=False)
    entries = t[t["from_stage"] == "(entry)"].groupby("arm")["n"].sum()
    assert entries.to_dict() == e.groupby("arm")["customer_id"].nunique().to_dict()
    np.testing.assert_allclose(t.groupby(["arm", "from_stage"])["probability"].sum(), 1.0)
    assert {"back", "forward"} <= set(t["kind"])


def test_cohort_retention_equals_pandas_reference():
    rng = np.random.default_rng(2)
    n = 1500
    cu = pd.DataFrame({"customer_id": [f"C{i}" for i in range(n)], "touch_model": rng.choice(ARMS, n),
                       "signup_date": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 120, n), "D")})  # fmt: skip
    follow = (pd.Timestamp("2025-12-31") - cu["signup_date"]).dt.days.to_numpy().astype(float)
    t = rng.exponential(300, n)
    out = pd.DataFrame({"customer_id": cu["customer_id"], "churn_time": np.minimum(t, follow), "churned": t < follow})
    c = J.retention_cohorts(cu, outcomes=out, arm_col="touch_model", cohort_period="M", n_periods=12)
    x = cu.merge(out)
    x["cohort"] = x["signup_date"].dt.to_period("M").dt.start_time.dt.date.astype(str)
    for p in (0, 3, 11):
        tt = p * 30.4375
        x["elig"] = x["churned"] | (x["churn_time"] >= tt)
        x["ret"] = (x["churn_time"] > tt) | (~x["churned"] & (x["churn_time"] >= tt))
        ref = x.groupby(["touch_model", "cohort"])[["elig", "ret"]].sum()
        got = c[c["period"] == p].set_index(["arm", "cohort"])[["n_eligible", "n_retained"]]
        ref = ref[ref["elig"] > 0]
        np.testing.assert_array_equal(got.sort_index().to_numpy(), ref.sort_index().to_numpy())
    curves = J.retention_curves(c)
    assert (curves.loc[curves["period"] == 0, "retention"] == 1).all()
    pooled = c[c["period"] == 3].groupby("arm")[["n_retained", "n_eligible"]].sum()
    np.testing.assert_allclose(curves[curves["period"] == 3].set_index("arm")["retention"],
                               pooled["n_retained"] / pooled["n_eligible"])  # fmt: skip
    assert set(curves["arm"]) == set(ARMS)


@pytest.fixture(scope="module")
def sim():
    from engagement_kit.simulate import simulate

    return simulate(n_customers=20_000, seed=11)


def test_simulator_transition_probabilities_recovered_within_ci(sim):
    eng = J.Engine()
    eng.register("events", sim.events)
    eng.register("customers", sim.customers)
    truth = sim.truth.transition_probs
    fwd = truth[truth["from_stage"].notna()]
    inside95, inside999, n = 0, 0, 0
    for fw in FRAMEWORKS:
        f = J.funnel(eng, framework=fw, arm_col="touch_model", control="no_touch", mode="ordered", alpha=0.05).funnel
        f999 = J.funnel(eng, framework=fw, arm_col="touch_model", control="no_touch", mode="ordered", alpha=0.001).funnel
        for frame, counter in ((f, "95"), (f999, "999")):
            m = frame.merge(fwd, left_on=["framework", "arm", "stage"],
                            right_on=["framework", "touch_model", "to_stage"])  # fmt: skip
            m = m[m["stage_order"] > 1]
            m = m[m["from_stage"] == m["stage_order"].map(lambda k: FRAMEWORKS[fw].stage_names[k - 2])]
            hit = int(((m["ci_low"] <= m["probability"]) & (m["probability"] <= m["ci_high"])).sum())
            if counter == "95":
                inside95 += hit
                n += len(m)
            else:
                inside999 += hit
    assert n == 3 * sum(len(fw.stages) - 1 for fw in FRAMEWORKS.values())
    assert inside999 == n  # no gross miss
    assert inside95 / n >= 0.85  # about 95 % expected
    # the loyalty loop: P(first loop back to closure | reached post_purchase)
    lp = J.loops(J.transitions(eng, framework="mckinsey_cdj", arm_col="touch_model"))
    lt = truth[(truth["from_stage"] == "post_purchase") & (truth["to_stage"] == "closure")]
    m = lp.merge(lt, left_on="arm", right_on="touch_model")
    assert len(m) == 3
    assert ((m["ci_low"] <= m["probability"]) & (m["probability"] <= m["ci_high"])).all()


def test_churn_km_logrank_cox_equal_statsmodels(sim):
    eng = J.Engine()
    eng.register("customers", sim.customers)
    eng.register("outcomes", sim.outcomes)
    d = eng.customer_table(["churn_time", "churned", "segment", "prior_activity"], arm_col="touch_model")
    res = J.churn_survival(d, arm_col="arm", control="no_touch", group_cols=["segment"],
                           covariates=["prior_activity"], baselines={"segment": "smb"})  # fmt: skip
    for g in ARMS:
        dd = d[d["arm"] == g]
        sf = SurvfuncRight(dd["churn_time"].to_numpy(), dd["churned"].astype(float).to_numpy())
        km = res.km[(res.km["group_col"] == "arm") & (res.km["group"] == g)]
        np.testing.assert_allclose(km["survival"], sf.surv_prob, atol=1e-6)
        np.testing.assert_allclose(km["time"], sf.surv_times, atol=1e-6)
    stat, p = survdiff(d["churn_time"].to_numpy(), d["churned"].astype(float).to_numpy(), d["arm"].to_numpy())
    lr = res.logrank.set_index("group_col").loc["arm"]
    assert lr["statistic"] == pytest.approx(stat, abs=1e-6) and lr["p_value"] == pytest.approx(p, abs=1e-6)
    X = np.column_stack([(d["arm"] == "high_touch"), (d["arm"] == "low_touch"), (d["segment"] == "enterprise"),
                         (d["segment"] == "mid_market"), d["prior_activity"]]).astype(float)  # fmt: skip
    ref = PHReg(d["churn_time"].to_numpy(), X, status=d["churned"].astype(float).to_numpy(), ties="breslow").fit()
    np.testing.assert_allclose(res.cox["log_hr"], ref.params, atol=1e-6)
    np.testing.assert_allclose(res.cox["se"], ref.bse, atol=1e-6)
    # touch models lower the churn hazard in the simulator (beta_arm < 0 for high_touch)
    coefs = sim.truth.outcome_coefficients
    beta = coefs[(coefs["outcome"] == "churn") & coefs["term"].str.contains("high_touch")]["coefficient"]
    if len(beta):
        assert np.sign(res.cox.loc[res.cox["term"] == "arm[high_touch]", "log_hr"].iloc[0]) == np.sign(beta.iloc[0])
    tbl = res.to_pandas()
    assert {"km", "median_lifetime", "logrank", "cox_hr"} <= set(tbl["kind"])


def test_real_telco_churn_by_contract():
    df = pd.read_csv(_telco_path())
    df["churned"] = (df["Churn"] == "Yes").astype(int)
    res = J.churn_survival(df, duration="tenure", event="churned", group_cols=["Contract"],
                           covariates=["MonthlyCharges", "SeniorCitizen"], baselines={"Contract": "Month-to-month"})  # fmt: skip
    for g, dd in df.groupby("Contract"):
        sf = SurvfuncRight(dd["tenure"].to_numpy(float), dd["churned"].to_numpy(float))
        km = res.km[res.km["group"] == g]
        np.testing.assert_allclose(km["survival"], sf.surv_prob, atol=1e-6)
    stat, p = survdiff(df["tenure"].to_numpy(float), df["churned"].to_numpy(float), df["Contract"].to_numpy())
    assert res.logrank["statistic"].iloc[0] == pytest.approx(stat, abs=1e-6)
    hr = res.cox.set_index("term")["hazard_ratio"]
    assert hr["Contract[Two year]"] < hr["Contract[One year]"] < 1  # longer contracts churn less
    med = res.medians.set_index("group")["median"]
    assert med["Month-to-month"] > 0 and np.isnan(med["Two year"])  # under half of two-year customers churn


def test_lifecycle_kpis_equal_direct_formulas(sim):
    eng = J.Engine()
    for name in ("events", "customers", "outcomes"):
        eng.register(name, getattr(sim, name))
    k = J.lifecycle_kpis(eng, arm_col="touch_model").set_index(["kpi", "arm"])
    o = sim.outcomes.merge(sim.customers, on="customer_id")
    for g in ARMS:
        og = o[o["touch_model"] == g]
        assert k.loc[("referral_rate", g), "value"] == pytest.approx((og["referrals"] >= 1).mean(), abs=1e-12)
        assert k.loc[("revenue_per_customer", g), "value"] == pytest.approx(og["revenue"].mean(), rel=1e-12)
        nrr = (og["revenue"] + og["expansion_revenue"]).sum() / og["prior_revenue"].sum()
        assert k.loc[("net_revenue_retention", g), "value"] == pytest.approx(nrr, rel=1e-12)
        sf = SurvfuncRight(og["churn_time"].to_numpy(), og["churned"].astype(float).to_numpy())
        s30 = sf.surv_prob[sf.surv_times <= 30][-1] if (sf.surv_times <= 30).any() else 1.0
        assert k.loc[("retention_d30", g), "value"] == pytest.approx(s30, abs=1e-9)
    f = J.funnel(eng, framework="laer", arm_col="touch_model", control="no_touch", mode="ordered").funnel.set_index(["arm", "stage"])
    for g in ARMS:
        exp_rate = f.loc[(g, "expand"), "n_reached"] / f.loc[(g, "land"), "n_reached"]
        assert k.loc[("expansion_rate", g), "value"] == pytest.approx(exp_rate)
    assert k["note"].eq("").all()


def test_kpis_without_events_say_why():
    out = pd.DataFrame({"customer_id": ["a", "b"], "churn_time": [5.0, 365.0], "churned": [True, False],
                        "revenue": [0.0, 10.0], "referrals": [0, 2]})  # fmt: skip
    k = J.lifecycle_kpis(outcomes=out, arm_col=None)
    act = k[k["kpi"] == "activation_rate"].iloc[0]
    assert np.isnan(act["value"]) and "no aarrr events" in act["note"]


def test_bad_input_errors_name_the_problem(small):
    ev, cu = small
    with pytest.raises(KeyError, match="timestamp"):
        J.funnel(ev.drop(columns="timestamp"), framework="aarrr")
    with pytest.raises(KeyError, match="Did you mean 'laer'"):
        J.funnel(ev, framework="lear")
    with pytest.raises(ValueError, match="control arm 'nobody'"):
        J.funnel(ev, framework="aarrr", customers=cu, arm_col="touch_model", control="nobody")
    with pytest.raises(KeyError, match="arm column 'arm'"):
        J.funnel(ev, framework="aarrr", customers=cu, arm_col="arm")


def test_plots_return_axes_without_showing(small):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from engagement_kit.plots import journeys as jp
    from engagement_kit.plots.survival import km_plot

    ev, cu = small
    f = J.funnel(ev, framework="aarrr", customers=cu, arm_col="touch_model", control="no_touch").funnel
    tr = J.transitions(ev, framework="aarrr", customers=cu, arm_col="touch_model")
    rng = np.random.default_rng(0)
    out = pd.DataFrame({"customer_id": cu["customer_id"], "churn_time": rng.exponential(200, len(cu)).clip(max=300),
                        "churned": rng.random(len(cu)) < 0.5})  # fmt: skip
    co = J.retention_cohorts(cu, outcomes=out, arm_col="touch_model", n_periods=4)
    km = J.churn_survival(out.merge(cu), group_cols=["touch_model"]).km
    axes = [jp.funnel_plot(data=f), jp.transition_heatmap(data=tr, arm="no_touch"), jp.cohort_heatmap(data=co),
            jp.retention_curve_plot(data=J.retention_curves(co)), km_plot(data=km)]  # fmt: skip
    assert all(isinstance(a, matplotlib.axes.Axes) and a.has_data() or a.collections for a in axes)
    plt.close("all")


@pytest.mark.slow
def test_aa_funnel_tests_keep_familywise_error_near_alpha():
    """A/A: every arm has the same stage probabilities. The statistical layer (z tests + Holm over
    stages x arms) runs on simulated counts (the counting itself is pinned by the pandas tests)."""
    import gc

    rng = np.random.default_rng(123)
    probs = np.array([0.9, 0.6, 0.5, 0.7])
    reps, n_arm, rejections, raw = 400, 400, 0, 0
    gc.freeze()  # statsmodels' multipletests calls gc.collect(); freezing the heap makes that cheap
    for _ in range(reps):
        rows = []
        for a in ARMS:
            n_prev = n_arm
            for k, p in enumerate(probs, start=1):
                n_k = rng.binomial(n_prev, p)
                rows.append({"framework": "laer", "arm": a, "stage_order": k, "n_arm": n_arm, "n_any": n_k,
                             "n_ordered": n_k, "n_any_prev": n_k})  # fmt: skip
                n_prev = n_k
        t = J.funnel_from_counts(pd.DataFrame(rows), framework="laer", control="no_touch").tests
        t = t[t["basis"] == "rate_from_previous"]
        rejections += bool(t["reject"].any())
        raw += bool((t["p_value"] < 0.05).any())
    gc.unfreeze()
    fwer = rejections / reps
    print(f"A/A family-wise error rate with Holm: {fwer:.3f} (uncorrected: {raw / reps:.3f})")
    assert fwer <= 0.05 + 2.5 * np.sqrt(0.05 * 0.95 / reps)  # 0.05 + 2.5 MC standard errors
    assert fwer >= 0.01 and raw / reps > 0.2  # not vacuous: 8 uncorrected tests reject far more often


def test_conclusions_name_stages_arms_and_survive_missing_pieces():
    from engagement_kit.simulate import simulate

    s = simulate(n_customers=2000, seed=3)
    eng = J.Engine()
    eng.register("events", s.events)
    eng.register("customers", s.customers)
    eng.register("outcomes", s.outcomes)
    res = J.funnel(eng, framework="aarrr", arm_col="touch_model", control="no_touch")
    d = eng.customer_table(["churn_time", "churned", "segment"], arm_col="touch_model")
    churn = J.churn_survival(d, arm_col="arm", control="no_touch", group_cols=["segment"])  # fmt: skip
    # read as rendered: Markdown backslash escapes (mid\\_market) removed
    text = re.sub(r"\\(.)", r"\1", J.conclusions(res, churn, has_events=True))
    lines = text.splitlines()
    assert all(line.startswith("- ") for line in lines)
    f = res.funnel
    for arm in ARMS:  # the biggest drop-off of every arm is named
        assert arm in text
        worst = f.loc[f[f["arm"] == arm]["rate_from_previous"].idxmin(), "stage"]
        assert f"{arm}: **{worst}**" in text
    last = f.loc[f["stage_order"].idxmax(), "stage"]
    assert f"**{last}**" in text
    sig = res.tests[res.tests["reject"]]
    for _, r in sig.iterrows():  # every significant stage after correction appears in its arm's bullet
        bullet = next(line for line in lines if line.startswith(f"- {r['arm']} vs no_touch"))
        assert f"**{r['stage']}**" in bullet
    for arm in set(res.tests["arm"]) - set(sig["arm"]):
        assert any(line.startswith(f"- {arm} vs no_touch") and "no stage differs" in line for line in lines)
    assert "log-rank" in text and "randomised" in text and "nan" not in text.lower()
    assert "C0" not in text and "customer_id" not in text  # no customer ids
    # no events: one bullet says so, the churn part is still reported
    none = J.conclusions(None, churn, has_events=False)
    assert "no events" in none and "Churn by **arm**" in none and "Biggest drop-off" not in none
    # missing pieces never raise
    empty = J.FunnelResult(pd.DataFrame(), pd.DataFrame(), "aarrr", "ordered", 0.05)
    assert "randomised" in J.conclusions(empty, None)
    assert "Only one group" in J.conclusions(J.funnel(eng, framework="laer"), None)
    no_arm = J.FunnelResult(res.funnel.drop(columns="arm"), res.tests.drop(columns="arm"), "aarrr", "ordered", 0.05)
    assert "Biggest drop-off" in J.conclusions(no_arm, object())
