"""Scale scoring, reliability and bad input.

Alpha reference: Hoyt's (1941) two-way ANOVA identity alpha = 1 - MS_residual / MS_person,
computed with statsmodels ``anova_lm`` on the long table (an independent route to alpha).
Omega reference: a one-factor model fitted by semopy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import semopy
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.anova import anova_lm

from engagement_kit.measurement import (
    MeasurementWarning,
    check_scales,
    cronbach_alpha,
    omega_total,
    reliability,
    score_scales,
)


def _items(n=200, k=4, seed=0, loading=0.7):
    rng = np.random.default_rng(seed)
    f = rng.normal(size=n)
    x = loading * f[:, None] + np.sqrt(1 - loading**2) * rng.normal(size=(n, k))
    return pd.DataFrame(np.clip(np.round(4 + 1.5 * x), 1, 7), columns=[f"q{j}" for j in range(1, k + 1)])


def test_alpha_equals_hoyt_anova_reference_to_1e_6():
    items = _items(n=60, seed=3)
    long = items.reset_index(names="person").melt(id_vars="person", var_name="item", value_name="y")
    table = anova_lm(smf.ols("y ~ C(person) + C(item)", data=long).fit())
    ms_person = table.loc["C(person)", "mean_sq"]
    ms_resid = table.loc["Residual", "mean_sq"]
    assert cronbach_alpha(items).alpha == pytest.approx(1 - ms_resid / ms_person, abs=1e-6)


def test_feldt_interval_formula_and_coverage():
    items = _items(n=120, seed=4)
    a = cronbach_alpha(items, ci=0.95)
    df1, df2 = 119, 119 * 3
    assert a.ci_low == pytest.approx(1 - (1 - a.alpha) * stats.f.ppf(0.975, df1, df2), abs=1e-12)
    assert a.ci_low < a.alpha < a.ci_high
    # coverage for parallel normal items (true alpha = k r / (1 + (k-1) r), r = loading^2)
    r = 0.5
    true_alpha = 4 * r / (1 + 3 * r)
    rng = np.random.default_rng(11)
    hits = 0
    reps = 400
    for _ in range(reps):
        f = rng.normal(size=80)
        x = np.sqrt(r) * f[:, None] + np.sqrt(1 - r) * rng.normal(size=(80, 4))
        res = cronbach_alpha(pd.DataFrame(x))
        hits += res.ci_low <= true_alpha <= res.ci_high
    assert 0.92 <= hits / reps <= 0.98


def test_omega_equals_one_factor_semopy_fit():
    items = _items(n=400, seed=5)
    model = semopy.Model("f =~ q1 + q2 + q3 + q4")
    model.fit(items)
    ins = model.inspect(std_est=True)
    lam = ins[ins["op"] == "~"]["Est. Std"].astype(float).to_numpy()
    expected = lam.sum() ** 2 / (lam.sum() ** 2 + np.sum(1 - lam**2))
    assert omega_total(items) == pytest.approx(expected, abs=1e-3)
    with pytest.warns(MeasurementWarning, match="at least three items"):
        assert np.isnan(omega_total(items[["q1", "q2"]]))  # one-factor model not identified with two items


def test_reliability_table_and_item_statistics():
    items = _items(n=300, seed=6)
    items["q4"] = 8 - items["q4"]  # a reverse-keyed item as answered
    rel, it = reliability(items, scales={"s": ["q1", "q2", "q3", "q4"]}, reverse_items=["q4"])
    assert list(rel.columns) == ["scale", "n_items", "n", "alpha", "alpha_ci_low", "alpha_ci_high", "omega",
                                 "ordinal_alpha"]  # appended: NaN unless the items are declared ordinal
    assert rel["ordinal_alpha"].isna().all()
    back = items.assign(q4=8 - items["q4"])
    assert rel["alpha"].iloc[0] == pytest.approx(cronbach_alpha(back).alpha, abs=1e-12)
    # alpha if deleted equals alpha of the remaining items; item-total r against the rest score
    assert it.loc[0, "alpha_if_deleted"] == pytest.approx(cronbach_alpha(back[["q2", "q3", "q4"]]).alpha, abs=1e-12)
    rest = back[["q2", "q3", "q4"]].sum(axis=1)
    assert it.loc[0, "item_total_r"] == pytest.approx(np.corrcoef(back["q1"], rest)[0, 1], abs=1e-12)


def test_score_scales_reverse_mean_sum_and_min_answered():
    df = pd.DataFrame({"a_1": [1, 7, 4, np.nan], "a_2": [2, 6, np.nan, np.nan], "a_3": [7, 1, 4, 5]})
    mean = score_scales(df, scales={"a": ["a_1", "a_2", "a_3"]}, reverse_items=["a_3"], min_answered=0.6)["a"]
    assert mean.iloc[0] == pytest.approx((1 + 2 + 1) / 3)
    assert mean.iloc[2] == pytest.approx((4 + 4) / 2)  # 2 of 3 answered >= 0.6
    assert np.isnan(mean.iloc[3])  # 1 of 3 answered < 0.6
    total = score_scales(df, scales={"a": ["a_1", "a_2", "a_3"]}, reverse_items=["a_3"], method="sum", min_answered=0.6)["a"]
    assert total.iloc[2] == pytest.approx(12.0)  # prorated: mean 4 x 3 items
    cont = score_scales(df.fillna(0.0), scales={"a": ["a_1", "a_3"]}, reverse_items=["a_3"], likert_min=None,
                        likert_max=None)["a"]
    assert cont.iloc[0] == pytest.approx((1 - 7) / 2)  # unbounded items are negated


def test_item_in_two_scales_is_an_error():
    df = _items()
    with pytest.raises(ValueError, match="'q2' is in two scales"):
        check_scales(df, scales={"a": ["q1", "q2"], "b": ["q2", "q3"]})


def test_scale_with_one_item_is_an_error():
    with pytest.raises(ValueError, match="scale 'b' has 1 item"):
        check_scales(_items(), scales={"a": ["q1", "q2"], "b": ["q3"]})


def test_items_outside_likert_range_are_an_error_naming_rows():
    df = _items()
    df.loc[5, "q1"] = 9
    with pytest.raises(ValueError, match=r"items \['q1'\].*outside the Likert range \[1, 7\].*\[5\]"):
        reliability(df, scales={"a": ["q1", "q2", "q3"]})


def test_missing_and_non_numeric_items_are_errors():
    df = _items()
    with pytest.raises(KeyError, match="q9"):
        check_scales(df, scales={"a": ["q1", "q9"]})
    with pytest.raises(TypeError, match="not numeric"):
        check_scales(df.assign(q1=df["q1"].astype(str)), scales={"a": ["q1", "q2"]})


def test_constant_item_warns():
    df = _items().assign(q3=4.0)
    with pytest.warns(MeasurementWarning, match=r"\['q3'\] are constant"):
        score_scales(df, scales={"a": ["q1", "q2", "q3"]})


def test_measurement_plots_draw_what_they_are_given():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from engagement_kit.plots import measurement as mp

    items = _items(n=100, k=3, seed=8)
    ax = mp.item_distributions(items, items=["q1", "q2", "q3"], likert_min=1, likert_max=7)
    # one bar per item and answer level; the shares of each item sum to 1
    assert len(ax.patches) == 3 * 7
    widths = np.array([p.get_width() for p in ax.patches]).reshape(7, 3)
    np.testing.assert_allclose(widths.sum(axis=0), 1.0)
    ax = mp.correlation_heatmap(items, columns=["q1", "q2", "q3"])
    assert ax.get_title() == "Correlations between the columns (Pearson)"
    load = pd.DataFrame({"scale": ["a", "a", "b"], "item": ["q1", "q2", "q3"], "std_loading": [0.7, 0.6, 0.8],
                         "ci_low": [0.6, 0.5, 0.7], "ci_high": [0.8, 0.7, 0.9]})
    assert [t.get_text() for t in mp.loadings_plot(load).get_yticklabels()] == ["q1", "q2", "q3"]
    hyp = pd.DataFrame({"id": ["H1", "H2"], "term": ["x", "z"], "estimate": [0.3, -0.1], "ci_low": [0.1, -0.3],
                        "ci_high": [0.5, 0.1], "verdict": ["supported", "not supported"]})
    assert len(mp.hypothesis_forest(hyp).get_yticklabels()) == 2
    med = pd.Series({"treatment": "t", "mediator": "m", "outcome": "y", "a": 0.5, "b": 0.4, "c": 0.4,
                     "c_prime": 0.2, "indirect": 0.2, "indirect_ci_low": 0.1, "indirect_ci_high": 0.3})
    texts = [t.get_text() for t in mp.mediation_diagram(med).texts]
    assert "a = 0.500" in texts and any("indirect a*b = 0.200" in t for t in texts)
    plt.close("all")


def test_half_point_likert_answer_is_an_error_naming_item_rows_and_fix():
    df = _items()
    df["q2"] = df["q2"].astype(float)
    df.loc[[4, 9], "q2"] = 3.5
    with pytest.raises(ValueError, match=r"items \['q2'\] have answers that are not whole points of the Likert "
                                         r"scale \[1, 7\] \(e\.g\. 3\.5; first rows \[4, 9\]\).*likert_min=None"):
        check_scales(df, scales={"a": ["q1", "q2", "q3"]})
    # continuous scores on an unbounded scale are fine
    check_scales(df, scales={"a": ["q1", "q2", "q3"]}, likert_min=None, likert_max=None)


def test_infinite_or_overflowing_item_is_a_validation_error_even_without_a_range():
    from engagement_kit.validation import ValidationError

    df = _items().astype(float)
    df.loc[3, "q1"] = np.inf
    df.loc[6, "q3"] = 1e300
    with pytest.raises(ValidationError) as err:
        check_scales(df, scales={"a": ["q1", "q2", "q3"]}, likert_min=None, likert_max=None)
    text = str(err.value)
    assert "survey items.q1: infinite in 1 row (inf) [row 4]" in text
    assert "survey items.q3: larger in magnitude than 1e+100 in 1 row (found 1e+300) [row 7]" in text
