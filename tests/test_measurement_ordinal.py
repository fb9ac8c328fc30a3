"""Ordinal items (polychoric, ordinal alpha, DWLS/WLSMV CFA) and psych-style omega.

References
----------
* Olsson, U. (1979). Maximum likelihood estimation of the polychoric correlation
  coefficient. Psychometrika 44, 443-460, Table 7 (3 x 3 table, n = 500): thresholds
  a = (-1.77, -.14), b = (-.69, .67) and the two-step estimate .49, as printed (two decimals).
* lavaan 0.6-14 and psych 2.2.9 (R 4.2.2, Debian bookworm packages r-cran-lavaan /
  r-cran-psych) run by ``tests/data/ordinal_reference/reference.R``; their printed output is
  ``tests/data/ordinal_reference/reference_output.txt``. The data are lavaan's documented
  ``lavCor`` example: HolzingerSwineford1939 x1..x9 cut into three classes
  (``hs9_ordinal.csv``), fitted with lavaan's tutorial three-factor model,
  ``estimator = "WLSMV"``. The reference is this lavaan run (an independent implementation),
  not numbers of this package; the check against a *published* WLSMV output (Mplus User's
  Guide example 5.10, Mplus 6.11) is ``tests/test_measurement_ordinal_published.py``.
* ``psych::omega(Thurstone)`` (psych 2.2.9, the help-page example): printed "Alpha: 0.89,
  Omega Hierarchical: 0.74, Omega H asymptotic: 0.79, Omega Total 0.93"; the unrounded
  values from the same run are ``om$omega_h`` etc. in reference_output.txt.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal

from engagement_kit.measurement import MeasurementWarning
from engagement_kit.measurement.ordinal import (
    _bvn_cdf,
    cfa_ordinal,
    ordinal_alpha,
    polychoric_matrix,
    polychoric_table,
)
from engagement_kit.measurement.reliability import omega_hierarchical, omega_total

REF = Path(__file__).parent / "data" / "ordinal_reference"
OLSSON_TABLE_7 = np.array([[13, 6, 0], [69, 113, 22], [41, 132, 104]])
HS_SCALES = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}

# psych 2.2.9: data(Thurstone), 9 ability tests (Bechtoldt 1961 sample 1, n = 213)
THURSTONE_NAMES = ["Sentences", "Vocabulary", "Sent.Completion", "First.Letters", "Four.Letter.Words", "Suffixes",
                   "Letter.Series", "Pedigrees", "Letter.Group"]
THURSTONE = np.array([
    [1, .828, .776, .439, .432, .447, .447, .541, .380],
    [.828, 1, .779, .493, .464, .489, .432, .537, .358],
    [.776, .779, 1, .460, .425, .443, .401, .534, .359],
    [.439, .493, .460, 1, .674, .590, .381, .350, .424],
    [.432, .464, .425, .674, 1, .541, .402, .367, .446],
    [.447, .489, .443, .590, .541, 1, .288, .320, .325],
    [.447, .432, .401, .381, .402, .288, 1, .555, .598],
    [.541, .537, .534, .350, .367, .320, .555, 1, .452],
    [.380, .358, .359, .424, .446, .325, .598, .452, 1],
])


def _expand(table: np.ndarray) -> pd.DataFrame:
    rows = [(a, b) for a in range(table.shape[0]) for b in range(table.shape[1]) for _ in range(int(table[a, b]))]
    return pd.DataFrame(rows, columns=["x", "y"])


@pytest.fixture(scope="module")
def hs9() -> pd.DataFrame:
    return pd.read_csv(REF / "hs9_ordinal.csv")


@pytest.fixture(scope="module")
def hs_fit(hs9):
    return cfa_ordinal(hs9, scales=HS_SCALES)


def test_bivariate_normal_cdf_matches_scipy():
    h = np.array([-2.1, -0.5, 0.0, 0.3, 1.7, 0.0])
    k = np.array([0.4, -1.2, 0.0, 2.5, 1.1, -0.8])
    for rho in (-0.7, 0.0, 0.45, 0.95):
        ref = [multivariate_normal([0, 0], [[1, rho], [rho, 1]]).cdf([a, b]) for a, b in zip(h, k)]
        np.testing.assert_allclose(_bvn_cdf(h, k, rho), ref, atol=1e-7)


def test_olsson_table_7_printed_values():
    """Olsson (1979) Table 7: thresholds and the two-step estimate to the two decimals printed."""
    fit = polychoric_table(OLSSON_TABLE_7)
    assert np.round(fit.thresholds_row, 2).tolist() == [-1.77, -0.14]
    assert np.round(fit.thresholds_col, 2).tolist() == [-0.69, 0.67]
    assert round(fit.rho, 2) == 0.49


def test_olsson_table_7_against_psych_and_an_independent_likelihood():
    """psych 2.2.9 ``polychoric(correct = 0)`` prints 0.4913712 (reference_output.txt); the
    two-step likelihood maximised with scipy's multivariate-normal CDF agrees.
    (semopy's ``polychoric_corr`` cannot be the check: it calls ``scipy.stats.mvn.mvnun``,
    removed from SciPy.)"""
    from scipy import optimize, stats

    rho = polychoric_table(OLSSON_TABLE_7).rho
    assert rho == pytest.approx(0.4913712, abs=1e-5)  # psych stops its optimiser at ~1e-6
    a = np.r_[-9, stats.norm.ppf(np.cumsum(OLSSON_TABLE_7.sum(1))[:-1] / 500), 9]
    b = np.r_[-9, stats.norm.ppf(np.cumsum(OLSSON_TABLE_7.sum(0))[:-1] / 500), 9]

    def negll(r: float) -> float:
        mvn = multivariate_normal([0, 0], [[1, r], [r, 1]])
        F = np.array([[mvn.cdf([x, y]) for y in b] for x in a])
        return -float(np.sum(OLSSON_TABLE_7 * np.log(np.diff(np.diff(F, axis=0), axis=1))))

    ref = optimize.minimize_scalar(negll, bounds=(0.3, 0.7), method="bounded", options={"xatol": 1e-8}).x
    assert rho == pytest.approx(ref, abs=1e-4)
    d = _expand(OLSSON_TABLE_7)
    assert polychoric_matrix(d, gamma=False).corr.loc["x", "y"] == pytest.approx(rho, abs=1e-7)


def test_polychoric_matrix_thresholds_and_gamma_match_lavaan(hs9):
    """lavInspect(fit, "sampstat") and lavInspect(fit, "gamma") of lavaan 0.6-14 (reference_output.txt)."""
    pc = polychoric_matrix(hs9)
    p = 9
    R = pc.corr.to_numpy()
    vech = [R[i, j] for j in range(p) for i in range(j + 1, p)]
    lavaan_cor = [0.3173787, 0.5080004, 0.3731572, 0.3081058, 0.3192147, 0.1133157, 0.1473459, 0.4589304,
                  0.3039080, 0.2733728, 0.2256354, 0.2738320, -0.0967388, 0.0944871, 0.2043300, 0.1364252,
                  0.1249657, 0.2145508, 0.0576544, 0.0909329, 0.2862522, 0.8005849, 0.6834576, 0.1691121,
                  0.1116222, 0.2581729, 0.7834126, 0.1359165, 0.1602241, 0.2648756, 0.0708807, 0.1847048,
                  0.2554001, 0.5522340, 0.3654071, 0.4539193]
    np.testing.assert_allclose(vech, lavaan_cor, atol=1e-6)
    lavaan_th = [-1.3633968, 0.8439970, -1.5564491, 0.7413657, -0.3527812, 0.6256242, -0.7973476, 0.9563995,
                 -0.8204491, 0.5272692, 0.1884826, 1.5290750, -0.8204491, 1.0243969, -0.1294394, 1.8822604,
                 -0.4246438, 1.8354085]
    np.testing.assert_allclose(np.concatenate(list(pc.thresholds.values())), lavaan_th, atol=1e-6)
    lavaan_gamma = [  # diag(lavInspect(fit, "gamma")): 18 thresholds, then 36 correlations
        3.181571, 2.044450, 3.982896, 1.923456, 1.643707, 1.813487, 1.986478, 2.207020, 2.014541,
        1.739047, 1.591225, 3.849999, 2.014541, 2.323212, 1.580393, 6.299935, 1.677688, 5.860819,
        1.469778, 1.075643, 1.093466, 1.376071, 1.276991, 1.617956, 1.764656, 1.582804, 1.300292,
        1.439348, 1.431624, 1.464317, 1.822664, 2.152909, 2.202419, 1.585780, 1.468095, 1.856057,
        1.627843, 1.720444, 1.572064, 0.309439, 0.736433, 2.026692, 1.721044, 1.289553, 0.523782,
        1.435854, 1.662110, 1.270711, 1.817419, 1.855079, 1.713418, 1.042160, 1.674135, 1.748792,
    ]
    np.testing.assert_allclose(np.diag(pc.gamma), lavaan_gamma, atol=2e-6)
    assert pc.labels[18] == "x2~~x1"


def test_wlsmv_fit_matches_lavaan(hs_fit):
    """fitMeasures() of lavaan 0.6-14, WLSMV (reference_output.txt), to 1e-4 or better.
    ``cfi_robust, tli_robust, rmsea_robust`` are lavaan's ``*.scaled`` indices."""
    r = hs_fit.fit.iloc[0]
    lavaan = {"chi2": 45.1225379, "df": 24, "p_value": 0.0056338, "chi2_scaled": 63.5726781, "df_scaled": 24,
              "scaling_factor": 0.7570742, "cfi": 0.9873030, "tli": 0.9809545, "cfi_robust": 0.9656334,
              "tli_robust": 0.9484501, "rmsea": 0.0541635, "rmsea_ci_low": 0.0288075, "rmsea_ci_high": 0.0782376,
              "rmsea_robust": 0.0741364, "rmsea_robust_ci_low": 0.0522812, "rmsea_robust_ci_high": 0.0965583,
              "srmr": 0.0708808}
    for key, value in lavaan.items():
        assert r[key] == pytest.approx(value, abs=2e-5 if key.startswith("chi2") else 2e-7), key
    assert (r["n"], r["estimator"], r["missing"]) == (301, "wlsmv", "listwise")


def test_wlsmv_parameters_match_lavaan(hs_fit):
    """standardizedSolution() of lavaan 0.6-14: std.all loadings and factor correlations with their SEs (1e-4)."""
    std = [0.8567791, 0.4739523, 0.5506393, 0.8562329, 0.9293175, 0.8318346, 0.5622336, 0.6746775, 0.8316741]
    se = [0.0965319, 0.0745994, 0.0679892, 0.0350467, 0.0297770, 0.0388424, 0.0724040, 0.0736983, 0.0833938]
    np.testing.assert_allclose(hs_fit.loadings["std_loading"], std, atol=1e-6)
    np.testing.assert_allclose(hs_fit.loadings["std_se"], se, atol=1e-4)
    phi = hs_fit.factor_correlations
    np.testing.assert_allclose([phi.loc["visual", "textual"], phi.loc["visual", "speed"], phi.loc["textual", "speed"]],
                               [0.4508593, 0.4053856, 0.3083679], atol=1e-6)
    th = hs_fit.thresholds
    assert th.loc[0, ["item", "threshold"]].tolist() == ["x1", 1]
    assert th.loc[0, "estimate"] == pytest.approx(-1.3633968, abs=1e-6)
    assert th.loc[0, "se"] == pytest.approx(0.103, abs=5e-4)  # lavaan prints 0.103


def test_ordinal_alpha_matches_psych(hs9):
    """psych::alpha() of psych::polychoric(x4..x6, correct = 0)$rho: 0.9027800 (reference_output.txt)."""
    assert ordinal_alpha(hs9[["x4", "x5", "x6"]]) == pytest.approx(0.9027800, abs=1e-6)


def test_omega_thurstone_matches_psych():
    """psych::omega(Thurstone): printed .74 / .79 / .93 / .89; unrounded values from the same run."""
    om = omega_hierarchical(pd.DataFrame(THURSTONE, index=THURSTONE_NAMES, columns=THURSTONE_NAMES))
    assert (round(om.omega_h, 2), round(om.omega_h_asymptotic, 2), round(om.omega_total, 2), round(om.alpha, 2)) == (
        0.74, 0.79, 0.93, 0.89)
    assert om.omega_h == pytest.approx(0.7360703, abs=1e-4)
    assert om.omega_h_asymptotic == pytest.approx(0.7907716, abs=1e-4)
    assert om.omega_total == pytest.approx(0.9308254, abs=1e-4)
    assert om.alpha == pytest.approx(0.8914575, abs=1e-7)
    # psych's Schmid-Leiman g loadings, printed to two decimals
    assert np.round(om.loadings["g"], 2).tolist() == [0.71, 0.73, 0.68, 0.65, 0.62, 0.56, 0.59, 0.58, 0.54]
    assert om.flipped == ()


def _implied(loadings: list[list[float]]) -> pd.DataFrame:
    L = np.array(loadings)
    R = L @ L.T
    np.fill_diagonal(R, 1.0)
    names = [f"i{k}" for k in range(len(L))]
    return pd.DataFrame(R, index=names, columns=names)


def test_omega_warns_for_few_items_per_factor():
    L = [[.6, .5, 0, 0]] * 4 + [[.6, 0, .5, 0]] * 3 + [[.6, 0, 0, .5]] * 2
    with pytest.warns(MeasurementWarning, match="fewer than three items"):
        omega_hierarchical(_implied(L))


def test_omega_warns_for_two_factors_and_heywood():
    L = [[.6, .5, 0], [.5, .6, 0], [.7, .4, 0], [.5, 0, .4], [.4, 0, .7], [.6, 0, .6]]  # no mirror symmetry
    with pytest.warns(MeasurementWarning, match="two group factors"):
        om = omega_hierarchical(_implied(L), n_factors=2)
    assert 0 < om.omega_h < om.omega_total < 1
    L = [[.8, .6, 0, 0]] + [[.6, .5, 0, 0]] * 2 + [[.6, 0, .5, 0]] * 3 + [[.6, 0, 0, .5]] * 3
    with pytest.warns(MeasurementWarning, match="Heywood"):
        omega_hierarchical(_implied(L))


def test_omega_total_warns_for_two_items():
    rng = np.random.default_rng(0)
    f = rng.normal(size=200)
    d = pd.DataFrame({"a": f + rng.normal(size=200), "b": f + rng.normal(size=200)})
    with pytest.warns(MeasurementWarning, match="at least three items"):
        assert np.isnan(omega_total(d))


def test_omega_flips_reverse_keyed_items():
    L = [[.6, .5, 0, 0]] * 3 + [[.6, 0, .5, 0]] * 3 + [[.6, 0, 0, .5]] * 3
    R = _implied(L)
    key = np.ones(9)
    key[[1, 4]] = -1
    flipped = R * np.outer(key, key)
    with warnings.catch_warnings():
        warnings.simplefilter("error", MeasurementWarning)
        a, b = omega_hierarchical(R), omega_hierarchical(flipped)
    assert b.flipped == ("i1", "i4")
    assert b.omega_h == pytest.approx(a.omega_h, abs=1e-6)


def test_bad_ordinal_input_is_a_clear_error(hs9):
    with pytest.raises(ValueError, match="ordinal item 'c' has 40 distinct answers"):
        polychoric_matrix(pd.DataFrame({"a": [1, 2] * 20, "b": [1, 2, 3, 4] * 10, "c": np.arange(40)}))
    with pytest.raises(ValueError, match="'b' is constant"):
        polychoric_matrix(pd.DataFrame({"a": [1, 2, 3] * 5, "b": [2] * 15}))
    with pytest.raises(ValueError, match="estimator='wlsmv' only"):
        cfa_ordinal(hs9, scales=HS_SCALES, estimator="ml")
    with pytest.raises(ValueError, match="not identified"):
        cfa_ordinal(hs9, scales={"a": ["x1", "x2"]})


def _survey(n: int = 600, seed: int = 4) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    from engagement_kit.measurement.ordinal import simulate_ordinal_items

    scales = {"sat": ["sat_a", "sat_b", "sat_c"], "loy": ["loy_a", "loy_b", "loy_c"]}
    return simulate_ordinal_items(n, scales=scales, thresholds=(-1.0, 0.0, 0.8, 1.5), seed=seed), scales


def test_dimensions_wlsmv_branch_writes_the_appended_columns(tmp_path):
    from engagement_kit.measurement import dimensions
    from engagement_kit.measurement.analysis import DimensionsResult

    survey, scales = _survey()
    res = dimensions(survey, scales=scales, likert_min=1, likert_max=5, ordinal_items=True, n_boot=200)
    fit = res.tables()["cfa_fit"]
    assert list(fit.columns) == DimensionsResult.COLUMNS["cfa_fit"]
    assert list(fit.columns)[-10:] == ["chi2_scaled", "df_scaled", "scaling_factor", "cfi_robust", "tli_robust",
                                       "rmsea_robust", "rmsea_robust_ci_low", "rmsea_robust_ci_high", "estimator",
                                       "missing"]
    assert fit.loc[0, "estimator"] == "wlsmv"
    direct = cfa_ordinal(survey, scales=scales).fit.iloc[0]
    assert fit.loc[0, "chi2_scaled"] == pytest.approx(direct["chi2_scaled"], abs=1e-9)
    rel = res.tables()["reliability"].set_index("scale")
    assert rel.loc["sat", "ordinal_alpha"] == pytest.approx(ordinal_alpha(survey[scales["sat"]]), abs=1e-12)
    th = res.tables()["thresholds"]
    assert len(th) == 6 * 4 and th["suppressed"].eq(False).all()
    assert "WLSMV" in res.conclusions()
    written = res.write(tmp_path)
    assert pd.read_csv(written["thresholds"]).shape[0] == 24
    ml = dimensions(survey, scales=scales, likert_min=1, likert_max=5, n_boot=200).tables()
    assert ml["cfa_fit"].loc[0, "estimator"] == "ml" and np.isnan(ml["cfa_fit"].loc[0, "chi2_scaled"])
    assert ml["thresholds"].empty and ml["reliability"]["ordinal_alpha"].isna().all()


def test_dimensions_ordinal_declarations_are_checked():
    from engagement_kit.measurement import dimensions

    survey, scales = _survey(n=300)
    with pytest.raises(ValueError, match=r"ordinal_items \['nope'\] are not items"):
        dimensions(survey, scales=scales, likert_min=1, likert_max=5, ordinal_items=["nope"], n_boot=100)
    with pytest.raises(ValueError, match="needs every CFA item ordinal"):
        dimensions(survey, scales=scales, likert_min=1, likert_max=5, ordinal_items=["sat_a"], estimator="wlsmv",
                   n_boot=100)
    part = dimensions(survey, scales=scales, likert_min=1, likert_max=5, ordinal_items=scales["sat"], n_boot=100)
    assert part.tables()["cfa_fit"].loc[0, "estimator"] == "ml"
    assert any("only some items are ordinal" in s for s in part.skipped)
    assert not np.isnan(part.tables()["reliability"].set_index("scale").loc["sat", "ordinal_alpha"])


@pytest.mark.slow
def test_wlsmv_keeps_its_level_on_skewed_ordinal_items_where_ml_over_rejects():
    """The true 2-factor model on 8 strongly skewed 4-category items (n = 500), R = 200 seeded
    samples (the in-suite version of benchmarks/bench_ordinal.py). The Monte-Carlo SE of a rate
    near .05 is sqrt(.05 .95 / 200) = .015, so [.005, .10] is about +-3 SE around the nominal
    level; plain ML on the answer codes rejects the true model far more often."""
    from scipy import stats

    from engagement_kit.measurement import cfa
    from engagement_kit.measurement.ordinal import simulate_ordinal_items

    scales = {"f1": ["a1", "a2", "a3", "a4"], "f2": ["b1", "b2", "b3", "b4"]}
    R, wlsmv, ml = 200, 0, 0
    for r in range(R):
        d = simulate_ordinal_items(500, scales=scales, seed=7000 + r)
        fit = cfa_ordinal(d, scales=scales).fit.iloc[0]
        wlsmv += bool(stats.chi2.sf(fit["chi2_scaled"], fit["df_scaled"]) < 0.05)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MeasurementWarning)
            ml += bool(cfa(d, scales=scales, likert_min=1, likert_max=4).fit.loc[0, "p_value"] < 0.05)
    assert 0.005 <= wlsmv / R <= 0.10, wlsmv / R
    assert ml / R >= 0.10, ml / R


def test_cfa_ordinal_checks_its_scales(hs9):
    with pytest.raises(ValueError, match=r"scales \['one'\] have fewer than two items"):
        cfa_ordinal(hs9, scales={"one": ["x1"], **HS_SCALES})
    with pytest.raises(ValueError, match=r"items \['zz'\] are not columns"):
        cfa_ordinal(hs9, scales={"a": ["x1", "x2", "zz"]})


def test_dimensions_omega_table_equals_the_building_block():
    from engagement_kit.measurement import dimensions
    from engagement_kit.measurement.ordinal import simulate_ordinal_items

    scales = {s: [f"{s}_{j}" for j in range(3)] for s in ("sat", "loy", "tru")}
    survey = simulate_ordinal_items(600, scales=scales, thresholds=(-1.0, 0.0, 0.8, 1.5), factor_correlation=0.5,
                                    seed=8)
    items = [i for its in scales.values() for i in its]
    for ordinal in (True, None):
        res = dimensions(survey, scales=scales, likert_min=1, likert_max=5, ordinal_items=ordinal, n_boot=100)
        row = res.tables()["omega"].iloc[0]
        om = omega_hierarchical(survey[items], n_factors=3, ordinal=bool(ordinal))
        assert (row["n"], row["n_items"], row["n_factors"]) == (600, 9, 3)
        for key in ("omega_h", "omega_h_asymptotic", "omega_total", "alpha"):
            assert row[key] == pytest.approx(getattr(om, key), abs=1e-12), key
    assert 0.3 < row["omega_h"] < row["omega_total"] < 1
