"""Factor structure: CFA fit and loadings, composite reliability, AVE, discriminant
validity (Fornell-Larcker, HTMT) and exploratory factor analysis.

Fit indices (lavaan conventions, so numbers match lavaan's ``fitMeasures``)
-------------------------------------------------------------------------
* ``chi2 = N F_ML`` (N, not N-1); ``p_value`` from chi-square(df).
* ``cfi = 1 - max(chi2 - df, 0) / max(chi2_b - df_b, chi2 - df, 0)`` against the
  independence model (free means and variances); ``tli = (chi2_b/df_b - chi2/df) /
  (chi2_b/df_b - 1)``.
* ``rmsea = sqrt(max(chi2 - df, 0) / (N df)) * sqrt(G)`` (Steiger's multi-group
  correction, as lavaan); the 90 % CI inverts the noncentral chi-square: the
  noncentrality ``lambda`` with ``P(X <= chi2 | df, lambda) = 0.95`` (lower) and
  ``= 0.05`` (upper) gives ``sqrt(lambda / (N df)) * sqrt(G)`` (scipy ``ncx2``).
* ``srmr``: Bentler's SRMR, lavaan's default: root mean square over the p(p+1)/2
  covariance residuals standardised by the observed SDs,
  ``(s_jk - sigma_jk) / sqrt(s_jj s_kk)``; groups are averaged with weights n_g/N.

Usual thresholds (Hu & Bentler 1999): CFI and TLI >= .95 (>= .90 acceptable),
RMSEA <= .06 (<= .08 acceptable), SRMR <= .08. Validity (Fornell & Larcker 1981;
Henseler, Ringle & Sarstedt 2015): composite reliability >= .70, AVE >= .50,
sqrt(AVE) above every correlation with another factor, HTMT < .85.

Example
-------
>>> from semopy.examples import holzinger39
>>> hs = holzinger39.get_data()
>>> scales = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
>>> res = cfa(hs, scales=scales, likert_min=None, likert_max=None)
>>> round(float(res.fit["chi2"].iloc[0]), 3), int(res.fit["df"].iloc[0])
(85.306, 24)
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .robust import ESTIMATORS, RobustTest, robust_test
from .scales import MeasurementWarning, Scales, prepare_items
from .sem import MISSING_METHODS, CFAEstimate, fit_cfa_ml, group_moments

__all__ = [
    "CFAResult",
    "FIT_COLUMNS",
    "ROBUST_FIT_COLUMNS",
    "cfa",
    "check_estimation",
    "estimation_problems",
    "fit_indices",
    "rmsea_ci",
    "srmr",
    "htmt",
    "validity",
    "EFAResult",
    "efa",
    "parallel_analysis",
]

FIT_COLUMNS = ["n", "chi2", "df", "p_value", "cfi", "tli", "rmsea", "rmsea_ci_low", "rmsea_ci_high", "srmr"]
#: appended to :data:`FIT_COLUMNS` (NaN for plain ML; with FIML the robust indices are Zhang &
#: Savalei's FIML-corrected ones, see :mod:`.robust`); ``estimator`` and ``missing`` name how
#: the model was fitted.
ROBUST_FIT_COLUMNS = ["chi2_scaled", "df_scaled", "scaling_factor", "cfi_robust", "tli_robust", "rmsea_robust",
                      "rmsea_robust_ci_low", "rmsea_robust_ci_high", "estimator", "missing"]


def rmsea_ci(chi2: float, df: int, n: int, n_groups: int = 1, level: float = 0.90,
             c_hat: float = 1.0) -> tuple[float, float]:
    """RMSEA confidence interval by inverting the noncentral chi-square (as lavaan); with
    ``chi2`` a scaled statistic and ``c_hat`` its scaling factor, the robust interval
    (Brosseau-Liard, Savalei & Li 2012: the noncentrality times ``c_hat``)."""
    if df <= 0:
        return float("nan"), float("nan")
    upper_q, lower_q = (1 + level) / 2, (1 - level) / 2  # 0.95 and 0.05 for a 90 % CI

    def ncp_for(prob: float) -> float:
        # the cdf at chi2 decreases in lambda; 0 if even lambda = 0 gives cdf below prob
        f = lambda lam: stats.ncx2.cdf(chi2, df, lam) - prob if lam > 0 else stats.chi2.cdf(chi2, df) - prob  # noqa: E731
        if f(0.0) < 0:
            return 0.0
        hi = max(chi2, 1.0)
        while f(hi) > 0:
            hi *= 2
        return optimize.brentq(f, 0.0, hi, xtol=1e-10)

    lam_lo, lam_hi = ncp_for(upper_q) * c_hat, ncp_for(lower_q) * c_hat
    scale = np.sqrt(n_groups)
    return float(np.sqrt(lam_lo / (n * df)) * scale), float(np.sqrt(lam_hi / (n * df)) * scale)


def srmr(est: CFAEstimate) -> float:
    """Bentler's SRMR over the covariance residuals, weighted over groups by n_g / N.

    lavaan's ``srmr`` for one group and complete data; when the model has a mean structure
    (several groups, FIML) lavaan also averages in the p standardised mean residuals, which
    makes its value smaller (configural Holzinger-Swineford by school: lavaan .0679, ours
    .0743 = .0679 sqrt(54/45)). Ours keeps one definition for every model, so the .08 rule
    of thumb means the same thing with or without groups and missing answers
    (tests/test_measurement_lavaan.py reproduces lavaan's convention)."""
    vals = []
    iu = np.triu_indices(len(est.items))
    for s, sig in zip(est.sample_cov, est.implied_cov):
        sd = np.sqrt(np.diag(s))
        r = (s - sig) / np.outer(sd, sd)
        vals.append(np.sqrt(np.mean(r[iu] ** 2)))
    w = np.asarray(est.n, dtype=float) / est.n_total
    return float(np.sum(w * np.asarray(vals)))


def _robust_indices(est: CFAEstimate, robust: RobustTest) -> dict[str, float]:
    """Robust CFI / TLI / RMSEA + CI as lavaan's ``lav_fit_cfi`` / ``lav_fit_tli`` /
    ``lav_fit_rmsea`` / ``lav_fit_rmsea_ci``: from the ML statistic and the scaling factors
    with complete data (Brosseau-Liard & Savalei), from Zhang & Savalei's FIML-corrected
    statistic with ``missing="fiml"`` (:mod:`.robust`)."""
    n, G, df, dfb = est.n_total, len(est.groups), est.df, est.baseline_df
    fc = robust.fiml_corrected
    if fc is not None:
        x2, c, x2b, cb, scaled = fc.chi2, fc.scaling, fc.baseline_chi2, fc.baseline_scaling, fc.chi2_scaled
    elif est.missing == "listwise":
        x2, c, x2b, cb = est.chi2, robust.scaling_factor, est.baseline_chi2, robust.baseline_scaling
        scaled = robust.chi2_scaled
    else:
        return {}
    if not (np.isfinite([x2, c, x2b, cb]).all() and df > 0):
        return {}
    # Brosseau-Liard & Savalei (2014) eq. 15; lavaan uses the unscaled differences when a
    # factor is exactly 1
    cc, ccb = (c, cb) if c != 1.0 and cb != 1.0 else (1.0, 1.0)
    t1, t2 = x2 - cc * df, x2b - ccb * dfb
    lo, hi = rmsea_ci(scaled, df, n, G, c_hat=c)
    return {"cfi_robust": 1.0 - max(t1, 0.0) / max(t1, t2, 0.0) if max(t1, t2, 0.0) > 0 else 1.0,
            "tli_robust": 1.0 - (t1 * dfb) / (t2 * df) if t2 != 0 else 1.0,
            "rmsea_robust": float(np.sqrt(max(x2 / (n * df) - c / n, 0.0)) * np.sqrt(G)),
            "rmsea_robust_ci_low": lo, "rmsea_robust_ci_high": hi}


def fit_indices(est: CFAEstimate, robust: RobustTest | None = None) -> pd.DataFrame:
    """One-row table: :data:`FIT_COLUMNS` then :data:`ROBUST_FIT_COLUMNS` (the scaled
    statistic and the robust CFI / TLI / RMSEA of ``robust``, NaN without it)."""
    chi2, df, n, G = est.chi2, est.df, est.n_total, len(est.groups)
    cb, dfb = est.baseline_chi2, est.baseline_df
    denom = max(cb - dfb, chi2 - df, 0.0)
    cfi = 1.0 - max(chi2 - df, 0.0) / denom if denom > 0 else 1.0
    tli = (cb / dfb - chi2 / df) / (cb / dfb - 1.0) if df > 0 else np.nan
    rmsea = np.sqrt(max(chi2 - df, 0.0) / (n * df)) * np.sqrt(G) if df > 0 else np.nan
    lo, hi = rmsea_ci(chi2, df, n, G)
    row = {
        "n": n,
        "chi2": chi2,
        "df": df,
        "p_value": float(stats.chi2.sf(chi2, df)) if df > 0 else np.nan,
        "cfi": cfi,
        "tli": tli,
        "rmsea": rmsea,
        "rmsea_ci_low": lo,
        "rmsea_ci_high": hi,
        "srmr": srmr(est),
    }
    row.update(dict.fromkeys(ROBUST_FIT_COLUMNS, np.nan))
    row.update(estimator=robust.estimator if robust is not None else "ml", missing=est.missing)
    if robust is not None:
        c = robust.scaling_factor
        row.update(chi2_scaled=robust.chi2_scaled, df_scaled=float(df), scaling_factor=c)
        row.update(_robust_indices(est, robust))
    return pd.DataFrame([row])


def _pattern(scales: Scales) -> tuple[list[str], list[str], np.ndarray]:
    items = [i for its in scales.values() for i in its]
    factors = list(scales)
    pat = np.zeros((len(items), len(factors)), dtype=bool)
    k = 0
    for f, its in enumerate(scales.values()):
        pat[k : k + len(its), f] = True
        k += len(its)
    return items, factors, pat


@dataclass
class CFAResult:
    """A fitted CFA of an item -> scale structure.

    ``fit``: one row (see :data:`FIT_COLUMNS`); ``loadings``: ``scale, item, loading,
    std_loading, std_se, ci_low, ci_high, residual_var`` (standardised loadings with
    delta-method CIs); ``factor_correlations``: scale x scale; ``validity``: per scale
    ``composite_reliability, ave, sqrt_ave, max_factor_correlation, fornell_larcker_ok,
    max_htmt, htmt_ok``; ``estimate``: the raw :class:`~.sem.CFAEstimate`.
    """

    fit: pd.DataFrame
    loadings: pd.DataFrame
    factor_correlations: pd.DataFrame
    validity: pd.DataFrame
    htmt: pd.DataFrame
    estimate: CFAEstimate


def estimation_problems(estimator: object, missing: object) -> list[tuple[str, str]]:
    """Why the ML-family ``estimator`` / ``missing`` pair cannot be fitted, as ``(parameter,
    problem and fix)`` pairs (empty: it can); :func:`check_estimation` raises the first.

    >>> estimation_problems("mlm", "fiml")[0][0]
    'missing'
    """
    problems = []
    if estimator not in ESTIMATORS:
        problems.append(("estimator", f"estimator must be one of {ESTIMATORS}, not {estimator!r}"))
    if missing not in MISSING_METHODS:
        problems.append(("missing", f"missing must be one of {MISSING_METHODS}, not {missing!r}"))
    if estimator == "mlm" and missing == "fiml":
        problems.append(("missing", ("estimator='mlm' (Satorra-Bentler) needs complete data: use estimator='mlr' "
                                     "with missing='fiml', or missing='listwise'")))
    return problems


def check_estimation(estimator: str, missing: str) -> None:
    """Raise a clear error for an unknown ``estimator`` / ``missing`` or an unsupported pair."""
    problems = estimation_problems(estimator, missing)
    if problems:
        raise ValueError(problems[0][1])


def fit_model(moments, pat: np.ndarray, items: list[str], factors: list[str], *, estimator: str = "ml",
              **kwargs) -> tuple[CFAEstimate, RobustTest | None]:
    """Fit by ML and, for ``mlm`` / ``mlr``, add the scaled test; the estimate's ``vcov`` is
    then the robust one (so every standard error and CI downstream is robust)."""
    est = fit_cfa_ml(moments, pat, items, factors, **kwargs)
    if estimator == "ml":
        return est, None
    rob = robust_test(est, estimator)
    est.vcov = rob.vcov
    return est, rob


def cfa(
    data: pd.DataFrame,
    *,
    scales: Scales,
    reverse_items: Iterable[str] = (),
    likert_min: float | None = 1,
    likert_max: float | None = 7,
    alpha: float = 0.05,
    estimator: str = "ml",
    missing: str = "listwise",
) -> CFAResult:
    """Confirmatory factor analysis of ``scales`` (each item loads on its scale only;
    factors correlate freely; first item of each scale is the marker), normal-theory ML.

    ``missing``: ``"listwise"`` (complete rows) or ``"fiml"`` (full-information ML on
    every row with an answer). ``estimator``: ``"ml"``, ``"mlm"`` (Satorra-Bentler, complete
    data) or ``"mlr"`` (Yuan-Bentler, observed information), see :mod:`.robust`; the robust
    estimators add the scaled test and robust indices and make the loading CIs robust.
    See the module docstring for the fit indices.
    """
    check_estimation(estimator, missing)
    items_df = prepare_items(data, scales=scales, reverse_items=reverse_items, likert_min=likert_min,
                             likert_max=likert_max)
    items, factors, pat = _pattern(scales)
    est, rob = fit_model(group_moments(items_df, missing=missing), pat, items, factors, estimator=estimator)
    fit = fit_indices(est, rob)
    loadings = est.standardized_loadings(alpha=alpha).drop(columns="group")
    phi = est.factor_cov[0]
    sd = np.sqrt(np.diag(phi))
    corr = pd.DataFrame(phi / np.outer(sd, sd), index=factors, columns=factors)
    ht = htmt(items_df.dropna(), scales=scales)
    val = validity(loadings, factor_correlations=corr, htmt_table=ht)
    return CFAResult(fit=fit, loadings=loadings, factor_correlations=corr, validity=val, htmt=ht, estimate=est)


def htmt(data: pd.DataFrame, *, scales: Scales) -> pd.DataFrame:
    """Heterotrait-monotrait ratio (Henseler et al. 2015) for every pair of scales.

    ``HTMT_ij = mean r(heterotrait) / sqrt(mean r(monotrait_i) * mean r(monotrait_j))``
    on the correlations of the item columns ``data`` (reverse-keyed items already
    rescored). NaN on the diagonal.
    """
    r = data.corr().to_numpy()
    names = list(data.columns)
    idx = {s: [names.index(i) for i in its] for s, its in scales.items()}

    def mono(s: str) -> float:
        ii = idx[s]
        sub = r[np.ix_(ii, ii)]
        return sub[np.triu_indices(len(ii), 1)].mean()

    out = pd.DataFrame(np.nan, index=list(scales), columns=list(scales))
    for a in scales:
        for b in scales:
            if a == b:
                continue
            hetero = r[np.ix_(idx[a], idx[b])].mean()
            out.loc[a, b] = hetero / np.sqrt(mono(a) * mono(b))
    return out


def validity(loadings: pd.DataFrame, *, factor_correlations: pd.DataFrame, htmt_table: pd.DataFrame) -> pd.DataFrame:
    """Composite reliability, AVE, Fornell-Larcker and HTMT checks per scale."""
    rows = []
    for scale, d in loadings.groupby("scale", sort=False):
        lam = d["std_loading"].to_numpy()
        cr = lam.sum() ** 2 / (lam.sum() ** 2 + np.sum(1 - lam**2))
        ave = float(np.mean(lam**2))
        others = factor_correlations.loc[scale].drop(scale).abs()
        max_r = float(others.max()) if len(others) else np.nan
        max_h = float(htmt_table.loc[scale].drop(scale).max()) if len(others) else np.nan
        rows.append(
            {
                "scale": scale,
                "composite_reliability": cr,
                "ave": ave,
                "sqrt_ave": np.sqrt(ave),
                "max_factor_correlation": max_r,
                "fornell_larcker_ok": bool(np.sqrt(ave) > max_r) if len(others) else True,
                "max_htmt": max_h,
                "htmt_ok": bool(max_h < 0.85) if len(others) else True,
            }
        )
    return pd.DataFrame(rows)


def parallel_analysis(data: pd.DataFrame, *, n_iter: int = 100, quantile: float = 0.95, seed: int = 0) -> int:
    """Number of factors by Horn's parallel analysis on correlation-matrix eigenvalues
    of the item columns ``data`` (observed eigenvalues above the ``quantile`` of eigenvalues
    of random normal data)."""
    x = data.dropna().to_numpy(dtype=float)
    n, p = x.shape
    obs = np.sort(np.linalg.eigvalsh(np.corrcoef(x, rowvar=False)))[::-1]
    rng = np.random.default_rng(seed)
    sims = np.empty((n_iter, p))
    for b in range(n_iter):
        z = rng.standard_normal((n, p))
        sims[b] = np.sort(np.linalg.eigvalsh(np.corrcoef(z, rowvar=False)))[::-1]
    thresh = np.quantile(sims, quantile, axis=0)
    above = obs > thresh
    k = int(np.argmin(above)) if not above.all() else p
    return max(k, 1)


@dataclass
class EFAResult:
    """Exploratory factor analysis: sampling adequacy, sphericity, loadings.

    ``kmo``: overall Kaiser-Meyer-Olkin (>= .60 adequate, >= .80 good);
    ``kmo_items``: per item; ``bartlett_chi2`` / ``bartlett_p``: test that the
    correlation matrix is the identity; ``loadings``: items x factors (rotated);
    ``n_factors``: the number extracted.
    """

    kmo: float
    kmo_items: pd.Series
    bartlett_chi2: float
    bartlett_p: float
    n_factors: int
    loadings: pd.DataFrame
    variance: pd.DataFrame

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "kmo": self.kmo,
                    "bartlett_chi2": self.bartlett_chi2,
                    "bartlett_p": self.bartlett_p,
                    "n_factors": self.n_factors,
                }
            ]
        )


def efa(
    data: pd.DataFrame,
    *,
    items: list[str],
    n_factors: int | None = None,
    rotation: str = "oblimin",
    reverse_items: Iterable[str] = (),
    likert_min: float | None = 1,
    likert_max: float | None = 7,
    seed: int = 0,
) -> EFAResult:
    """EFA: ML extraction (scikit-learn) with oblimin rotation (factor_analyzer), KMO and Bartlett.

    ``n_factors=None`` chooses the number by parallel analysis (seeded). Listwise
    deletion of incomplete rows.
    """
    from threadpoolctl import threadpool_limits

    x = prepare_items(data, scales={"all": list(items)}, reverse_items=reverse_items, likert_min=likert_min,
                      likert_max=likert_max).dropna()
    with threadpool_limits(1):  # small matrices: multi-threaded BLAS only adds contention
        return _efa(x, n_factors, rotation, seed)


def _efa(x: pd.DataFrame, n_factors: int | None, rotation: str, seed: int) -> EFAResult:
    from factor_analyzer.factor_analyzer import (
        calculate_bartlett_sphericity,
        calculate_kmo,
    )
    from factor_analyzer.rotator import Rotator
    from sklearn.decomposition import FactorAnalysis

    if n_factors is None:
        n_factors = parallel_analysis(x, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        kmo_items, kmo = calculate_kmo(x)
        chi2, p = calculate_bartlett_sphericity(x)
    # ML extraction with scikit-learn on standardised items (factor_analyzer 0.5.1's
    # FactorAnalyzer.fit is broken with scikit-learn >= 1.8: check_array lost
    # force_all_finite); the rotation is factor_analyzer's Rotator.
    z = (x - x.mean()) / x.std(ddof=0)
    fa = FactorAnalysis(n_components=n_factors, random_state=seed).fit(z.to_numpy())
    raw = fa.components_.T
    rotated = Rotator(method=rotation).fit_transform(raw) if n_factors > 1 and rotation else raw
    # sign convention: each factor's largest loading positive
    rotated = rotated * np.sign(rotated[np.abs(rotated).argmax(axis=0), range(n_factors)])
    cols = [f"factor_{k + 1}" for k in range(n_factors)]
    loadings = pd.DataFrame(rotated, index=list(x.columns), columns=cols)
    ss = (rotated**2).sum(axis=0)
    prop = ss / x.shape[1]
    variance = pd.DataFrame({"factor": cols, "ss_loadings": ss, "proportion": prop, "cumulative": np.cumsum(prop)})
    if kmo < 0.6:
        warnings.warn(f"KMO = {kmo:.2f} < .60: the items share too little variance for factor analysis",
                      MeasurementWarning, stacklevel=2)
    return EFAResult(
        kmo=float(kmo),
        kmo_items=pd.Series(kmo_items, index=list(x.columns), name="kmo"),
        bartlett_chi2=float(chi2),
        bartlett_p=float(p),
        n_factors=int(n_factors),
        loadings=loadings,
        variance=variance,
    )
