"""The WLSMV CFA against a *published* Mplus output.

Source
------
Mplus User's Guide, example 5.10 "threshold structure CFA for categorical factor indicators"
(Muthén & Muthén; https://www.statmodel.com/usersguide/chap5/mcex5.10.html), run with
``estimator = WLSMV`` by Mplus 6.11 (Linux), 07/18/2012: file
``Categorical/ex5.10.WLSMV.mplus.out`` of the lavaan developers' Mplus-comparison repository
https://github.com/lucdw/lavaan-mplus, whose ``Categorical/ex5.10.dat`` is the data
(``tests/data/mplus_ex5_10``, README there). Six binary items, n = 500; each item loads 1 on
its factor and the items of a factor share one threshold, which in Mplus's DELTA
parameterisation is ``cfa_ordinal(equal_loadings=True, equal_thresholds=True)``.

Every value below is the one Mplus printed, asserted to the decimals printed. Mplus computes
the scaled-shifted test with N where lavaan uses N - 1 (``Gamma (N - 1) / N``; lavaan's
``mimic = "Mplus"``), so the published test statistic is matched with ``mimic="mplus"``; the
estimates and standard errors do not depend on it. The unrounded lavaan 0.6-14 values for
both conventions (``reference_output.txt``) pin the same fit to 1e-5.

Not compared: WRMR (not computed here; lavaan's 0.741 differs from Mplus's 0.742 anyway) and
"Probability RMSEA <= .05" (not computed here); Mplus's z-values (Est./S.E.) differ from both
lavaan conventions in the third decimal (e.g. 22.907 vs 22.884), so standard errors are
matched at the three decimals printed, not through z.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from engagement_kit.measurement.ordinal import cfa_ordinal

DATA = Path(__file__).parent / "data" / "mplus_ex5_10" / "ex5_10.csv"
SCALES = {"f1": ["u1a", "u1b", "u1c"], "f2": ["u2a", "u2b", "u2c"]}


@pytest.fixture(scope="module")
def ex510() -> pd.DataFrame:
    return pd.read_csv(DATA)


@pytest.fixture(scope="module")
def mplus_fit(ex510):
    return cfa_ordinal(ex510, scales=SCALES, equal_loadings=True, equal_thresholds=True, mimic="mplus")


@pytest.fixture(scope="module")
def lavaan_fit(ex510):
    return cfa_ordinal(ex510, scales=SCALES, equal_loadings=True, equal_thresholds=True)


def test_the_data_are_the_sample_mplus_analysed(ex510):
    """UNIVARIATE PROPORTIONS AND COUNTS FOR CATEGORICAL VARIABLES (category 1 = code 0)."""
    assert ex510.shape == (500, 6)
    assert set(np.unique(ex510.to_numpy())) == {0, 1}
    printed_category_1 = {"u1a": 158, "u1b": 141, "u1c": 156, "u2a": 359, "u2b": 352, "u2c": 347}
    assert {c: int((ex510[c] == 0).sum()) for c in ex510.columns} == printed_category_1


def test_model_fit_information_as_printed_by_mplus(mplus_fit):
    """MODEL FIT INFORMATION: chi-square 15.119* (df 16, P-value 0.5159); RMSEA 0.000 (90 %
    C.I. 0.000 0.039); CFI 1.000, TLI 1.002; baseline model chi-square 406.672 on 15 df."""
    f = mplus_fit.fit.iloc[0]
    assert f["df_scaled"] == 16 and f["df"] == 16
    assert round(f["chi2_scaled"], 3) == 15.119
    assert round(float(stats.chi2.sf(f["chi2_scaled"], f["df_scaled"])), 4) == 0.5159
    assert (round(f["rmsea_robust"], 3), round(f["rmsea_robust_ci_low"], 3), round(f["rmsea_robust_ci_high"], 3)) == (
        0.0, 0.0, 0.039)
    assert (round(f["cfi_robust"], 3), round(f["tli_robust"], 3)) == (1.0, 1.002)
    b = mplus_fit.baseline.iloc[0]
    assert b["df"] == 15 and round(b["chi2_scaled"], 3) == 406.672


def test_model_results_as_printed_by_mplus(mplus_fit):
    """MODEL RESULTS (unstandardised: loadings fixed at 1, factor variances free) and
    STDYX Standardization, estimates and S.E. to the three decimals printed."""
    lam = mplus_fit.loadings.set_index("item")
    phi = mplus_fit.factor_correlations.loc["f1", "f2"]
    phi_se = mplus_fit.factor_correlation_se.loc["f1", "f2"]
    # STDYX: F1 BY U1A-U1C 0.703 (0.031); F2 BY U2A-U2C 0.725 (0.030); F2 WITH F1 0.345 (0.077)
    for item in SCALES["f1"]:
        assert (round(lam.loc[item, "std_loading"], 3), round(lam.loc[item, "std_se"], 3)) == (0.703, 0.031)
    for item in SCALES["f2"]:
        assert (round(lam.loc[item, "std_loading"], 3), round(lam.loc[item, "std_se"], 3)) == (0.725, 0.030)
    assert (round(phi, 3), round(phi_se, 3)) == (0.345, 0.077)
    # unstandardised: Variances F1 0.494 (0.043), F2 0.526 (0.044) are the squared standardised
    # loadings (SE by the delta method, 2 lambda se); F2 WITH F1 0.176 = lambda1 lambda2 phi
    l1, l2 = lam.loc["u1a", "std_loading"], lam.loc["u2a", "std_loading"]
    s1, s2 = lam.loc["u1a", "std_se"], lam.loc["u2a", "std_se"]
    assert (round(l1 ** 2, 3), round(2 * l1 * s1, 3)) == (0.494, 0.043)
    assert (round(l2 ** 2, 3), round(2 * l2 * s2, 3)) == (0.526, 0.044)
    assert round(l1 * l2 * phi, 3) == 0.176
    # R-SQUARE 0.494 / 0.526, residual variances 0.506 / 0.474
    assert round(1 - lam.loc["u1b", "residual_var"], 3) == 0.494 and round(lam.loc["u1b", "residual_var"], 3) == 0.506
    assert round(1 - lam.loc["u2c", "residual_var"], 3) == 0.526 and round(lam.loc["u2c", "residual_var"], 3) == 0.474
    # Thresholds U1A$1..U1C$1 -0.515 (0.043); U2A$1..U2C$1 0.540 (0.044)
    th = mplus_fit.thresholds.set_index("item")
    for item in SCALES["f1"]:
        assert (round(th.loc[item, "estimate"], 3), round(th.loc[item, "se"], 3)) == (-0.515, 0.043)
    for item in SCALES["f2"]:
        assert (round(th.loc[item, "estimate"], 3), round(th.loc[item, "se"], 3)) == (0.540, 0.044)


def test_both_conventions_match_lavaan_unrounded(mplus_fit, lavaan_fit):
    """lavaan 0.6-14, ``mimic = "lavaan"`` and ``"Mplus"`` (tests/data/mplus_ex5_10/reference_output.txt):
    the conventions differ only in the scaled test; our polychoric optimiser and lavaan's
    agree to ~1e-8 relative, hence 1e-5 on statistics in the hundreds."""
    lav, mpl = lavaan_fit.fit.iloc[0], mplus_fit.fit.iloc[0]
    assert lav["chi2"] == pytest.approx(11.5458561, abs=1e-6) and mpl["chi2"] == pytest.approx(11.5458561, abs=1e-6)
    assert lav["chi2_scaled"] == pytest.approx(15.0912292, abs=1e-6)
    assert mpl["chi2_scaled"] == pytest.approx(15.1191335, abs=1e-6)
    assert lav["scaling_factor"] == pytest.approx(0.8291901, abs=1e-7)
    assert mpl["scaling_factor"] == pytest.approx(0.8275317, abs=1e-7)
    assert lav["tli_robust"] == pytest.approx(1.0021797, abs=1e-7)
    assert mpl["tli_robust"] == pytest.approx(1.0021084, abs=1e-7)
    assert lav["rmsea_robust_ci_high"] == pytest.approx(0.0392092, abs=1e-7)
    assert mpl["rmsea_robust_ci_high"] == pytest.approx(0.0392783, abs=1e-7)
    assert lav["srmr"] == pytest.approx(0.0485400, abs=1e-7)
    assert lavaan_fit.baseline.loc[0, "chi2"] == pytest.approx(467.1813742, abs=1e-4)
    assert lavaan_fit.baseline.loc[0, "chi2_scaled"] == pytest.approx(405.8624116, abs=1e-4)
    assert mplus_fit.baseline.loc[0, "chi2_scaled"] == pytest.approx(406.6716867, abs=1e-4)
    # estimates and SEs (lavaan's own convention): std loadings, factor correlation, thresholds
    for fit in (lavaan_fit, mplus_fit):
        lam = fit.loadings.set_index("item")
        assert lam.loc["u1a", "std_loading"] == pytest.approx(0.7028710, abs=1e-6)
        assert lam.loc["u2a", "std_loading"] == pytest.approx(0.7250585, abs=1e-6)
        assert lam.loc["u1a", "std_se"] == pytest.approx(0.0307143, abs=1e-6)
        assert lam.loc["u2a", "std_se"] == pytest.approx(0.0300455, abs=1e-6)
        assert fit.factor_correlations.loc["f1", "f2"] == pytest.approx(0.3452577, abs=1e-6)
        assert fit.factor_correlation_se.loc["f1", "f2"] == pytest.approx(0.0766232, abs=1e-6)
        th = fit.thresholds.set_index("item")
        assert th.loc["u1c", "estimate"] == pytest.approx(-0.5145933, abs=1e-6)
        assert th.loc["u1c", "se"] == pytest.approx(0.0433827, abs=1e-6)
        assert th.loc["u2b", "estimate"] == pytest.approx(0.5396963, abs=1e-6)
        assert th.loc["u2b", "se"] == pytest.approx(0.0441113, abs=1e-6)


def test_the_free_model_is_unchanged_by_the_new_options(ex510):
    """The default (free loadings and thresholds) fits the sample thresholds exactly, and
    ``mimic`` moves only the scaled statistic and what is built on it."""
    free = cfa_ordinal(ex510, scales=SCALES)
    free_m = cfa_ordinal(ex510, scales=SCALES, mimic="mplus")
    pc = free.polychoric
    np.testing.assert_allclose(free.thresholds["estimate"], np.concatenate(list(pc.thresholds.values())), atol=1e-9)
    assert free.fit.loc[0, "df"] == 8
    for col in ("chi2", "cfi", "tli", "srmr"):
        assert free_m.fit.loc[0, col] == pytest.approx(free.fit.loc[0, col], abs=1e-12), col
    np.testing.assert_allclose(free_m.loadings["std_se"], free.loadings["std_se"], atol=1e-12)
    assert free_m.fit.loc[0, "chi2_scaled"] != pytest.approx(free.fit.loc[0, "chi2_scaled"], abs=1e-6)


def test_constraint_options_check_their_input(ex510):
    mixed = ex510.copy()
    mixed.loc[:99, "u1b"] = 2  # u1b now has three answer levels, u1a two
    with pytest.raises(ValueError, match=r"equal_thresholds: the items of scale 'f1' have different numbers"):
        cfa_ordinal(mixed, scales=SCALES, equal_thresholds=True)
    with pytest.raises(ValueError, match="mimic must be 'lavaan' or 'mplus'"):
        cfa_ordinal(ex510, scales=SCALES, mimic="eqs")


@pytest.mark.slow
def test_constrained_model_keeps_its_level_and_coverage():
    """A/A for the ex5.10-type model: data that follow it exactly (two factors of three skewed
    4-category items, every loading .7, common thresholds, factor correlation .3), seeded.

    n = 500, R = 200: the rejection rate of the scaled test and the coverage of the loading's
    95 % CI; the Monte-Carlo SE of a rate near .05 (coverage near .95) is .015, so the bands
    are about +-3 SE around nominal. The factor correlation's SE is checked at n = 2000
    (R = 150, MC SE .018): at n = 500 its sandwich SE is ~10 % below the empirical SD
    (coverage ~.91 over 450 samples, the same in the free model, whose SEs equal lavaan's), a
    finite-sample property that vanishes with n (SD .0375 vs mean SE .0385 at n = 2000)."""
    from engagement_kit.measurement.ordinal import simulate_ordinal_items

    scales = {"f1": ["a1", "a2", "a3"], "f2": ["b1", "b2", "b3"]}
    R, rejected, covered_lam = 200, 0, 0
    for r in range(R):
        d = simulate_ordinal_items(500, scales=scales, seed=9000 + r)
        fit = cfa_ordinal(d, scales=scales, equal_loadings=True, equal_thresholds=True)
        f = fit.fit.iloc[0]
        rejected += bool(stats.chi2.sf(f["chi2_scaled"], f["df_scaled"]) < 0.05)
        lam = fit.loadings.iloc[0]
        covered_lam += bool(lam["ci_low"] <= 0.7 <= lam["ci_high"])
    assert 0.005 <= rejected / R <= 0.10, rejected / R
    assert 0.90 <= covered_lam / R <= 0.995, covered_lam / R
    R, covered_phi = 150, 0
    z = stats.norm.ppf(0.975)
    for r in range(R):
        d = simulate_ordinal_items(2000, scales=scales, seed=40000 + r)
        fit = cfa_ordinal(d, scales=scales, equal_loadings=True, equal_thresholds=True)
        phi, se = fit.factor_correlations.loc["f1", "f2"], fit.factor_correlation_se.loc["f1", "f2"]
        covered_phi += bool(abs(phi - 0.3) <= z * se)
    assert 0.895 <= covered_phi / R <= 0.995, covered_phi / R
