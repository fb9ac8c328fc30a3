"""Independent lavaan references for the robust indices, FIML, MLR with FIML, modification
indices under FIML and partial invariance (issue #15).

Reference: ``tests/data/robust_reference/reference.R`` run with R 4.2.2 and **lavaan 0.6-14**
(its output saved as ``reference_output.txt``). It loads lavaan's HolzingerSwineford1939 and
writes ``hs_mar.csv``, a copy with a seeded MAR deletion pattern (x1, x4, x7 always
observed; x2, x3, x5, x6, x8, x9 deleted with probability ``plogis(-1.5 + 0.8 z)``, z the
standardised marker of the item's factor; 362 of 2709 answers missing, 85 complete rows),
so Python reads the exact same rows. Every figure below is parsed from that output, not
copied by hand.

Agreement (ours - lavaan), all at the estimates lavaan prints to 8 decimals:

* robust CFI / TLI / RMSEA and its 90 % CI, MLR and MLM, single group and configural by
  school: |diff| < 1e-7; scaled chi-squares |diff| < 2e-4 (the scaling factors agree to
  1e-6; the statistic multiplies the difference by ~100). lavaan 0.6-14 reproduces the
  0.6-17 figures of ``test_measurement_robust.py`` (MLR 87.132 / .979, MLM 80.872 / 1.055):
  no version difference on complete data. The version change that matters is 0.6-13's
  Zhang & Savalei (2023) robust CFI / RMSEA for ``missing = "ml"`` (yrosseel/lavaan#276).
* FIML (``missing = "ml"``): chi-square, CFI, TLI, RMSEA + CI |diff| < 1e-6; estimates
  and standard errors |diff| < 1e-5 (lavaan's default observed information for FIML is
  what ``sem.py`` uses).
* MLR with FIML: scaled chi-square and scaling factor |diff| < 1e-5; robust SEs < 1e-5.
  lavaan's robust CFI / TLI / RMSEA with missing data are Zhang & Savalei's (2023) versions
  (``lav_fit_fiml_corrected``), ours too: |diff| < 1e-4 against lavaan's defaults, < 1e-6
  against lavaan with a converged saturated EM (``tests/test_measurement_fiml_robust.py``).
* modification indices under FIML: since the fix of issue #15 (pattern-wise expected
  information, lavaan's ``modindices`` default) |diff| < 1e-3; before it, ours were 60-90 %
  of lavaan's (median 74 %).
* score tests of the scalar model's equality constraints (``lavTestScore``), complete and
  FIML: |diff| < 1e-4 with the same reference group; the loading tests depend on which
  group's factor means are fixed (lavaan: first seen, Pasteur; ours: first sorted), the
  intercept tests do not. The FIML ones were also off before the fix above.
* partial scalar invariance, ``free=["x3~1"]`` vs ``group.partial = "x3~1"``: chi-square,
  df, CFI, TLI, RMSEA, robust indices |diff| < 1e-6; parameters < 1e-4 after matching groups
  by name (lavaan orders groups by first appearance, Pasteur first; ours sorts them,
  Grant-White first, so the reference group of the factor means is the other school and
  the factor means change sign).

Convention difference kept (documented, not a bug): **SRMR** with a mean structure
(multi-group, FIML) -- lavaan averages the squared standardised residuals over the
``p(p+1)/2`` covariances *and* the ``p`` means; ours over the covariances only. Configural:
ours .074342 = lavaan .067864 * sqrt(54/45) exactly (the mean residuals are zero there).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from semopy.examples import holzinger39

from engagement_kit.measurement import cfa, measurement_invariance
from engagement_kit.measurement.factors import _pattern
from engagement_kit.measurement.sem import fit_cfa_ml, group_moments, parse_free

REF = Path(__file__).parent / "data" / "robust_reference"
HS_SCALES = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
PLAIN = {"likert_min": None, "likert_max": None}
LAVAAN = {"chi2": "chisq", "df": "df", "chi2_scaled": "chisq.scaled", "scaling_factor": "chisq.scaling.factor",
          "cfi": "cfi", "tli": "tli", "rmsea": "rmsea", "rmsea_ci_low": "rmsea.ci.lower",
          "rmsea_ci_high": "rmsea.ci.upper", "cfi_robust": "cfi.robust", "tli_robust": "tli.robust",
          "rmsea_robust": "rmsea.robust", "rmsea_robust_ci_low": "rmsea.ci.lower.robust",
          "rmsea_robust_ci_high": "rmsea.ci.upper.robust"}
INDICES = ["cfi", "tli", "rmsea", "rmsea_ci_low", "rmsea_ci_high"]
ROBUST = ["cfi_robust", "tli_robust", "rmsea_robust", "rmsea_robust_ci_low", "rmsea_robust_ci_high"]


def _sections() -> dict[str, list[str]]:
    text = (REF / "reference_output.txt").read_text()
    assert text.startswith("lavaan 0.6.14")
    out = {}
    for block in text.split("\n== ")[1:]:
        head, *lines = block.strip("\n").split("\n")
        out[head.strip()] = lines
    return out


SECTIONS = _sections()


def lavaan_fit(name: str) -> dict[str, float]:
    return {a: float(b) for a, b in (line.split() for line in SECTIONS[name])}


def lavaan_params(name: str) -> dict[tuple, tuple[float, float]]:
    out = {}
    for line in SECTIONS["parameters " + name]:
        a = line.split()
        if a[1] == "~1":  # empty rhs
            a = [a[0], a[1], "", *a[2:]]
        out[(a[0], a[1], a[2], int(a[3]))] = (float(a[4]), float(a[5]))
    return out


def our_params(est, group_index: dict[object, int] | None = None) -> dict[tuple, tuple[float, float]]:
    """Our estimates and SEs keyed like lavaan's parameterEstimates (lhs, op, rhs, group)."""
    se = np.sqrt(np.diag(est.vcov))
    gi = group_index or {g: i + 1 for i, g in enumerate(est.groups)}
    out = {}
    for lab, x, s in zip(est._model.labels, est.x, se):
        kind, g = lab[0], gi[est.groups[lab[1]]]
        if kind == "loading":
            key = (est.factors[lab[3]], "=~", est.items[lab[2]])
        elif kind == "factor_cov":
            key = (est.factors[lab[2]], "~~", est.factors[lab[3]])
        elif kind == "residual":
            key = (est.items[lab[2]], "~~", est.items[lab[2]])
        elif kind == "intercept":
            key = (est.items[lab[2]], "~1", "")
        else:
            key = (est.factors[lab[2]], "~1", "")
        out[(*key, g)] = (x, s)
    return out


def assert_params_match(ours: dict, ref: dict, atol: float, sign: dict | None = None) -> int:
    matched = 0
    for key, (x, s) in ours.items():
        k = key if key in ref else (key[2], key[1], key[0], key[3])  # lavaan writes f2 ~~ f1
        if k not in ref:
            continue
        e, se = ref[k]
        flip = (sign or {}).get(key, 1)
        assert x == pytest.approx(flip * e, abs=atol), key
        assert s == pytest.approx(se, abs=atol), key
        matched += 1
    return matched


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    return holzinger39.get_data()


@pytest.fixture(scope="module")
def hs_mar() -> pd.DataFrame:
    return pd.read_csv(REF / "hs_mar.csv")


def test_the_mar_copy_is_holzinger_swineford_with_the_documented_holes(hs, hs_mar):
    assert len(hs_mar) == len(hs) == 301
    observed = hs_mar[[f"x{i}" for i in range(1, 10)]].notna()
    np.testing.assert_allclose(hs_mar[observed].filter(like="x").to_numpy(dtype=float),
                               hs[[f"x{i}" for i in range(1, 10)]].where(observed.to_numpy()).to_numpy(), atol=1e-12)
    assert observed[["x1", "x4", "x7"]].all(axis=None) and int((~observed).sum(axis=None)) == 362
    assert int(observed.all(axis=1).sum()) == 85


@pytest.mark.parametrize("estimator", ["mlr", "mlm"])
def test_robust_indices_single_group_match_lavaan(hs, estimator):
    ours = cfa(hs, scales=HS_SCALES, estimator=estimator, **PLAIN).fit.iloc[0]
    ref = lavaan_fit(f"single {estimator.upper()}")
    for col in INDICES + ROBUST + ["scaling_factor"]:
        assert ours[col] == pytest.approx(ref[LAVAAN[col]], abs=1e-6), col
    assert ours["chi2"] == pytest.approx(ref["chisq"], abs=1e-6)
    assert ours["chi2_scaled"] == pytest.approx(ref["chisq.scaled"], abs=1e-4)


@pytest.mark.parametrize("estimator", ["mlr", "mlm"])
def test_robust_indices_by_school_match_lavaan(hs, estimator):
    inv = measurement_invariance(hs, scales=HS_SCALES, group_col="school", estimator=estimator, **PLAIN)
    ours = inv.iloc[0]  # configural: lavaan's cfa(..., group = "school")
    ref = lavaan_fit(f"configural {estimator.upper()}")
    for col in INDICES + ROBUST + ["scaling_factor"]:
        assert ours[col] == pytest.approx(ref[LAVAAN[col]], abs=2e-6), col
    assert ours["chi2"] == pytest.approx(ref["chisq"], abs=1e-6)
    assert ours["chi2_scaled"] == pytest.approx(ref["chisq.scaled"], abs=3e-4)
    # SRMR convention: lavaan counts the p mean residuals (zero here) in the average
    assert ours["srmr"] * np.sqrt(45 / 54) == pytest.approx(lavaan_fit(f"configural {estimator.upper()}")["srmr"],
                                                            abs=1e-6)


def test_mlr_parameters_and_robust_standard_errors_match_lavaan(hs):
    est = cfa(hs, scales=HS_SCALES, estimator="mlr", **PLAIN).estimate
    assert assert_params_match(our_params(est), lavaan_params("single MLR"), atol=1e-5) == 21


def test_fiml_matches_lavaan_missing_ml(hs_mar):
    res = cfa(hs_mar, scales=HS_SCALES, missing="fiml", **PLAIN)
    ours, ref = res.fit.iloc[0], lavaan_fit("fiml ML")
    assert ours["n"] == 301 and ours["df"] == ref["df"] == 24
    assert ours["chi2"] == pytest.approx(ref["chisq"], abs=1e-5)
    for col in INDICES:
        assert ours[col] == pytest.approx(ref[LAVAAN[col]], abs=1e-6), col
    # estimates and (observed-information) standard errors, intercepts included
    assert assert_params_match(our_params(res.estimate), lavaan_params("fiml ML"), atol=1e-5) == 30


def test_mlr_with_fiml_matches_lavaan(hs_mar):
    res = cfa(hs_mar, scales=HS_SCALES, missing="fiml", estimator="mlr", **PLAIN)
    ours, ref = res.fit.iloc[0], lavaan_fit("fiml MLR")
    assert ours["scaling_factor"] == pytest.approx(ref["chisq.scaling.factor"], abs=1e-6)
    assert ours["chi2_scaled"] == pytest.approx(ref["chisq.scaled"], abs=1e-4)
    assert assert_params_match(our_params(res.estimate), lavaan_params("fiml MLR"), atol=1e-5) == 30
    # lavaan reports Zhang & Savalei's missing-data robust indices here (cfi.robust .9178);
    # ours follow lavaan's lav_fit_fiml_corrected; 1e-4, not 1e-6, because lavaan's saturated
    # EM stops at em.h1.tol = 1e-5 (tests/test_measurement_fiml_robust.py checks 1e-6 against
    # lavaan run with a converged EM)
    assert ref["cfi.robust"] == pytest.approx(0.917768, abs=1e-6)
    for col in ROBUST:
        assert ours[col] == pytest.approx(ref[LAVAAN[col]], abs=1e-4), col


@pytest.mark.parametrize("estimator", ["ML", "MLR"])
def test_partial_scalar_invariance_matches_group_partial(hs, estimator):
    inv = measurement_invariance(hs, scales=HS_SCALES, group_col="school", free=["x3~1"],
                                 estimator=estimator.lower(), **PLAIN)
    ours, ref = inv.iloc[2], lavaan_fit(f"partial scalar {estimator}")
    assert ours["model"] == "scalar" and ours["freed"] == "x3~1"
    assert ours["df"] == ref["df"] == 59
    assert ours["chi2"] == pytest.approx(ref["chisq"], abs=1e-6)
    cols = INDICES + (ROBUST + ["scaling_factor"] if estimator == "MLR" else [])
    for col in cols:
        assert ours[col] == pytest.approx(ref[LAVAAN[col]], abs=1e-6), col
    if estimator == "MLR":
        assert ours["chi2_scaled"] == pytest.approx(ref["chisq.scaled"], abs=1e-4)


def test_partial_scalar_parameters_match_group_partial(hs):
    items, factors, pat = _pattern(HS_SCALES)
    est = fit_cfa_ml(group_moments(hs[items], hs["school"]), pat, items, factors, equal={"loadings", "intercepts"},
                     free=parse_free(["x3~1"], items, factors))
    groups = SECTIONS["groups"][0].split()
    assert groups == ["Pasteur", "Grant-White"]  # lavaan: order of appearance; ours: sorted
    ours = our_params(est, {g: groups.index(g) + 1 for g in est.groups})
    # ours fix Grant-White's factor means at 0, lavaan Pasteur's: the free means change sign,
    # and the shared intercepts are the other school's (they differ by loading x mean);
    # so item intercepts are compared through the implied item means of each school
    sign = {(f, "~1", "", 1): -1 for f in factors}
    ref = lavaan_params("partial scalar ML")
    ref_means = {k: v for k, v in ref.items() if k[1] == "~1" and k[0] in factors}
    kept = {k: v for k, v in ref.items() if k[1] != "~1"}
    kept.update({(f, "~1", "", 1): ref[(f, "~1", "", 2)] for f in factors})
    ours_kept = {k: v for k, v in ours.items() if not (k[1] == "~1" and k[0] in items)}
    assert assert_params_match(ours_kept, kept, atol=1e-4, sign=sign) == 6 + 2 * (6 + 9) + 3  # loadings shared
    assert len(ref_means) == 6
    for g, name in enumerate(est.groups):
        lg = groups.index(name) + 1
        lam = np.zeros((9, 3))
        for f, members in enumerate(HS_SCALES.values()):
            for it in members:
                lam[items.index(it), f] = ref[(factors[f], "=~", it, lg)][0]
        nu = np.array([ref[(it, "~1", "", lg)][0] for it in items])
        kappa = np.array([ref[(f, "~1", "", lg)][0] for f in factors])
        np.testing.assert_allclose(est._model.implied(est.x, g)[1], nu + lam @ kappa, atol=1e-4)


def lavaan_modindices(name: str) -> pd.DataFrame:
    rows = [line.split() for line in SECTIONS[name]]
    return pd.DataFrame(rows, columns=["lhs", "op", "rhs", "mi", "epc", "sepc_all"]).astype(
        {"mi": float, "epc": float, "sepc_all": float})


def test_modification_indices_under_fiml_match_lavaan(hs_mar):
    from engagement_kit.measurement.modification import modification_indices

    ours = modification_indices(cfa(hs_mar, scales=HS_SCALES, missing="fiml", **PLAIN).estimate)
    ref = lavaan_modindices("modindices fiml ML")
    # lavaan's modindices uses the expected information whatever the fit's information
    pd.testing.assert_frame_equal(ref, lavaan_modindices("modindices fiml ML, expected information"))
    both = ours.merge(ref, on=["lhs", "op", "rhs"], suffixes=("", "_lavaan"), validate="one_to_one")
    assert len(both) == len(ours) == len(ref) == 54
    assert (both["lhs"] + both["op"] + both["rhs"]).head(3).tolist() == ["visual=~x9", "x7~~x8", "x1~~x9"]
    np.testing.assert_allclose(both["mi"], both["mi_lavaan"], atol=1e-3)
    np.testing.assert_allclose(both["epc"], both["epc_lavaan"], atol=1e-4)
    np.testing.assert_allclose(both["sepc_all"], both["sepc_all_lavaan"], atol=1e-4)  # the estimates differ by ~2e-6


def test_pattern_wise_information_is_the_complete_data_one_without_holes(hs):
    items, factors, pat = _pattern(HS_SCALES)
    est = fit_cfa_ml(group_moments(hs[items], hs["school"], missing="fiml"), pat, items, factors)
    _, hess = est._model.gradient_information(est.x)
    np.testing.assert_allclose(est._model.fiml_expected_information(est.x), hess, rtol=1e-10, atol=1e-12)


def _srmr_with_means(est) -> float:
    """lavaan's ``srmr`` when the model has a mean structure: the p standardised mean
    residuals join the p(p+1)/2 covariance residuals in the average (groups weighted n_g/N)."""
    vals = []
    for g, mo in enumerate(est.moments):
        sigma, mu = est._model.implied(est.x, g)
        sd = np.sqrt(np.diag(mo.cov))
        r = (mo.cov - sigma)[np.triu_indices(len(sd))] / np.outer(sd, sd)[np.triu_indices(len(sd))]
        rm = (mo.mean - mu) / sd
        vals.append(np.sqrt((np.sum(r**2) + np.sum(rm**2)) / (r.size + rm.size)))
    return float(np.average(vals, weights=est.n))


def test_srmr_differs_from_lavaan_only_by_the_mean_residuals(hs, hs_mar):
    """Ours is Bentler's SRMR over the covariances (the same definition with or without
    groups and missing answers); lavaan adds the means whenever the model has a mean
    structure. The convention, not the residuals, explains the whole difference."""
    res = cfa(hs_mar, scales=HS_SCALES, missing="fiml", **PLAIN)
    ref = lavaan_fit("fiml ML")["srmr"]
    assert res.fit["srmr"].iloc[0] - ref > 0.006  # ours .075967, lavaan .069356
    assert _srmr_with_means(res.estimate) == pytest.approx(ref, abs=1e-6)
    items, factors, pat = _pattern(HS_SCALES)
    est = fit_cfa_ml(group_moments(hs[items], hs["school"]), pat, items, factors, equal={"loadings", "intercepts"},
                     free=parse_free(["x3~1"], items, factors))
    assert _srmr_with_means(est) == pytest.approx(lavaan_fit("partial scalar ML")["srmr"], abs=1e-6)
    # without a mean structure (one group, complete data) both agree
    single = cfa(hs, scales=HS_SCALES, **PLAIN).fit["srmr"].iloc[0]
    assert single == pytest.approx(lavaan_fit("single MLR")["srmr"], abs=1e-7)


def lavaan_score_tests(name: str) -> dict[str, float]:
    return {a: float(x2) for a, _, x2 in (line.split() for line in SECTIONS["lavTestScore " + name])}


@pytest.mark.parametrize("label, missing", [("scalar ML", "listwise"), ("scalar fiml ML", "fiml")])
def test_constraint_indices_match_lavtestscore_with_the_same_reference_group(hs, hs_mar, label, missing):
    """lavTestScore's univariate tests of the scalar model's equality constraints. Freeing a
    loading in a scalar model gives a different model depending on which group's factor
    means are fixed at 0 (the mean differences lie along the other group's loadings), so
    the loading tests depend on the reference group; lavaan's is Pasteur (first seen), ours
    the first group in sorted order: renaming Pasteur so it sorts first makes them the same."""
    from engagement_kit.measurement.invariance import constraint_indices

    d = (hs if missing == "listwise" else hs_mar).copy()
    d["school"] = d["school"].replace({"Pasteur": "0 Pasteur"})
    ours = constraint_indices(d, scales=HS_SCALES, group_col="school", missing=missing, top=None, **PLAIN)
    ref = lavaan_score_tests(label)
    assert len(ours) == len(ref) == 15
    np.testing.assert_allclose(ours["mi"], (ours["lhs"] + ours["op"] + ours["rhs"]).map(ref), atol=1e-4)
    # with Grant-White as the reference the intercept tests are unchanged, the loading tests are not
    other = constraint_indices(hs if missing == "listwise" else hs_mar, scales=HS_SCALES, group_col="school",
                               missing=missing, top=None, **PLAIN)
    other = other.set_index(other["lhs"] + other["op"] + other["rhs"])["mi"]
    intercepts = [f"x{i}~1" for i in range(1, 10)]
    np.testing.assert_allclose(other[intercepts], [ref[k] for k in intercepts], atol=1e-4)
    assert abs(other["visual=~x3"] - ref["visual=~x3"]) > 0.5
