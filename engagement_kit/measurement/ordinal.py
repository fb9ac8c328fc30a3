"""Ordinal items: thresholds, polychoric correlations, ordinal alpha and CFA by DWLS with
the WLSMV (mean- and variance-adjusted) test.

A Likert answer is read as a coarsened normal response: ``x = c`` when ``tau_{c-1} < y* <= tau_c``.

Why our own code: semopy's ``polychoric_corr`` gives the two-step estimate but neither the
asymptotic covariance of thresholds and correlations nor a robust test (and with SciPy >= 1.15
it fails: it calls the removed ``scipy.stats.mvn.mvnun``); its ``DWLS`` objective weights the sample
*covariances* under normal theory, not the polychoric ones; factor_analyzer has no
ordinal CFA. So this module follows lavaan's ``estimator = "WLSMV"`` (Muthen 1984;
Muthen, du Toit & Spisic 1997; Asparouhov & Muthen 2010):

* **thresholds** ``tau_j = Phi^-1(cumulative share)`` per item;
* **polychoric correlations**, two-step (Olsson 1979): each pair's ``rho`` maximises the
  bivariate-normal likelihood of its contingency table with the thresholds held fixed.
  The bivariate normal integral uses Owen's T (``scipy.special.owens_t``), accurate to
  machine precision and vectorised;
* ``Gamma`` (N x asymptotic covariance of thresholds and correlations) from the
  case-wise influence functions of the two steps (the correlation's influence is
  corrected for the estimated thresholds), as lavaan's ``NACOV`` (``muthen1984``: the
  two-step "Hessian" blocks of the correlations are outer products of case-wise scores);
* **DWLS**: minimise ``F = (s - sigma(theta))' W (s - sigma(theta))`` with
  ``W = diag(Gamma)^-1`` in the delta parameterisation (latent responses of unit
  variance; thresholds free, so they are fitted exactly); ``chi2 = (N - 1) F`` and the
  sandwich below divided by ``N - 1``, which is what lavaan 0.6 prints for WLSMV;
* **WLSMV test** (lavaan's default ``scaled.shifted``): with
  ``U = W - W D (D'WD)^-1 D'W`` and ``UG = U Gamma``,
  ``chi2_scaled = chi2 / c + b``, ``c = sqrt(tr(UG^2) / df)`` (the scaling factor),
  ``b = df - sqrt(df tr(UG)^2 / tr(UG^2))``, on ``df`` degrees of freedom;
* standard errors by the sandwich ``(D'WD)^-1 D'W Gamma W D (D'WD)^-1 / (N - 1)``;
* indices: ``cfi, tli`` from the unscaled statistics of the model and the independence
  baseline; ``cfi_robust, tli_robust`` from the scaled ones (lavaan's ``cfi.scaled``;
  lavaan >= 0.6-13 prints a different ``cfi.robust`` for categorical data, Savalei
  2021, not reproduced here); RMSEA with ``N - 1`` as lavaan does for WLSMV, and
  ``rmsea_robust`` from the scaled statistic (lavaan's ``rmsea.scaled``).

Checked in ``tests/test_measurement_ordinal.py`` against Olsson's (1979) Table 7 and
against lavaan 0.6-14 / psych 2.2.9 output (``tests/data/ordinal_reference``), and in
``tests/test_measurement_ordinal_published.py`` against a published WLSMV output: the Mplus
User's Guide example 5.10 as printed by Mplus 6.11 (``tests/data/mplus_ex5_10``), with
``mimic="mplus"`` (Mplus uses ``Gamma (N - 1) / N`` in the scaled-shifted test, i.e. ``N``
where lavaan uses ``N - 1``; estimates and standard errors are the same).

Example
-------
>>> import numpy as np
>>> table = np.array([[13, 6, 0], [69, 113, 22], [41, 132, 104]])  # Olsson (1979), Table 7
>>> round(polychoric_table(table).rho, 4)
0.4914
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from .scales import MeasurementWarning

__all__ = [
    "PolychoricTable",
    "PolychoricMatrix",
    "OrdinalCFA",
    "polychoric_table",
    "polychoric_matrix",
    "ordinal_alpha",
    "cfa_ordinal",
    "ORDINAL_FIT_COLUMNS",
    "simulate_ordinal_items",
]

ORDINAL_FIT_COLUMNS = ["chi2_scaled", "df_scaled", "scaling_factor", "cfi_robust", "tli_robust", "rmsea_robust",
                       "rmsea_robust_ci_low", "rmsea_robust_ci_high", "estimator", "missing"]
_BIG = 38.0  # Phi(38) == 1 in double precision: stands in for an infinite threshold


# bivariate normal -----------------------------------------------------------------------
def _bvn_cdf(h: np.ndarray, k: np.ndarray, rho: float) -> np.ndarray:
    """P(X <= h, Y <= k) for a standard bivariate normal with correlation ``rho`` (Owen 1956)."""
    h = np.clip(np.asarray(h, dtype=float), -_BIG, _BIG)
    k = np.clip(np.asarray(k, dtype=float), -_BIG, _BIG)
    h, k = np.broadcast_arrays(h, k)
    h = np.where(h == 0, 1e-15, h)
    k = np.where(k == 0, 1e-15, k)
    s = np.sqrt(1 - rho * rho)
    ah = (k - rho * h) / (h * s)
    ak = (h - rho * k) / (k * s)
    corr = np.where(h * k < 0, 0.5, 0.0)
    return 0.5 * special.ndtr(h) + 0.5 * special.ndtr(k) - special.owens_t(h, ah) - special.owens_t(k, ak) - corr


def _bvn_pdf(h: np.ndarray, k: np.ndarray, rho: float) -> np.ndarray:
    h = np.clip(h, -_BIG, _BIG)
    k = np.clip(k, -_BIG, _BIG)
    s2 = 1 - rho * rho
    return np.exp(-(h * h - 2 * rho * h * k + k * k) / (2 * s2)) / (2 * np.pi * np.sqrt(s2))


def _edges(tau: np.ndarray) -> np.ndarray:
    return np.concatenate([[-np.inf], tau, [np.inf]])


def _cell_probs(ta: np.ndarray, tb: np.ndarray, rho: float) -> np.ndarray:
    """Cell probabilities (len(ta)+1) x (len(tb)+1) of the discretised bivariate normal."""
    F = _bvn_cdf(_edges(ta)[:, None], _edges(tb)[None, :], rho)
    F[0, :] = 0.0
    F[:, 0] = 0.0
    F[-1, 1:] = special.ndtr(np.clip(_edges(tb)[1:], -_BIG, _BIG))
    F[1:, -1] = special.ndtr(np.clip(_edges(ta)[1:], -_BIG, _BIG))
    return np.maximum(np.diff(np.diff(F, axis=0), axis=1), 1e-300)


def _cell_derivatives(ta: np.ndarray, tb: np.ndarray, rho: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dP/drho (cells), dP/dta (len(ta), cells), dP/dtb (len(tb), cells)."""
    ea, eb = np.clip(_edges(ta), -_BIG, _BIG), np.clip(_edges(tb), -_BIG, _BIG)
    dens = _bvn_pdf(ea[:, None], eb[None, :], rho)
    drho = np.diff(np.diff(dens, axis=0), axis=1)
    s = np.sqrt(1 - rho * rho)
    # dF(h, k)/dh = phi(h) Phi((k - rho h)/s): a row of the CDF grid moves with its threshold
    ga = stats.norm.pdf(ea)[:, None] * special.ndtr((eb[None, :] - rho * ea[:, None]) / s)
    gb = stats.norm.pdf(eb)[None, :] * special.ndtr((ea[:, None] - rho * eb[None, :]) / s)
    na, nb = len(ta) + 1, len(tb) + 1
    dta = np.zeros((len(ta), na, nb))
    dtb = np.zeros((len(tb), na, nb))
    for t in range(len(ta)):
        row = np.diff(ga[t + 1])  # d P(cell a, b) for the cells bounded by edge t+1
        dta[t, t, :] += row
        dta[t, t + 1, :] -= row
    for t in range(len(tb)):
        col = np.diff(gb[:, t + 1])
        dtb[t, :, t] += col
        dtb[t, :, t + 1] -= col
    return drho, dta, dtb


# thresholds and polychoric correlations ---------------------------------------------------
def _thresholds(counts: np.ndarray) -> np.ndarray:
    return stats.norm.ppf(np.cumsum(counts)[:-1] / counts.sum())


@dataclass(frozen=True)
class PolychoricTable:
    """Two-step polychoric correlation of one contingency table (rows = first item)."""

    rho: float
    thresholds_row: np.ndarray
    thresholds_col: np.ndarray


def _rho_two_step(table: np.ndarray, ta: np.ndarray, tb: np.ndarray) -> float:
    """The correlation maximising the table's likelihood at fixed thresholds: Fisher scoring
    (a few steps), with a bounded line search as the fallback."""
    def negll(r: float) -> float:
        return -float(np.sum(table * np.log(_cell_probs(ta, tb, r))))

    n = table.sum()
    r = 0.0
    ea, eb = np.clip(_edges(ta), -_BIG, _BIG), np.clip(_edges(tb), -_BIG, _BIG)
    for _ in range(50):
        P = _cell_probs(ta, tb, r)
        drho = np.diff(np.diff(_bvn_pdf(ea[:, None], eb[None, :], r), axis=0), axis=1)
        step = float(np.sum(table * drho / P) / (n * np.sum(drho * drho / P)))
        new = float(np.clip(r + step, -0.9999, 0.9999))
        if abs(new - r) < 1e-12:
            return new
        r = new
    res = optimize.minimize_scalar(negll, bounds=(-0.9999, 0.9999), method="bounded",
                                   options={"xatol": 1e-10, "maxiter": 500})
    return float(res.x)


def polychoric_table(table: np.ndarray) -> PolychoricTable:
    """Olsson's (1979) two-step polychoric correlation of a contingency table of counts.

    >>> round(polychoric_table(np.array([[40, 10], [10, 40]])).rho, 3)
    0.809
    """
    t = np.asarray(table, dtype=float)
    if t.ndim != 2 or min(t.shape) < 2:
        raise ValueError(f"a polychoric correlation needs a table with at least 2 x 2 categories; got shape {t.shape}")
    ta, tb = _thresholds(t.sum(axis=1)), _thresholds(t.sum(axis=0))
    return PolychoricTable(rho=_rho_two_step(t, ta, tb), thresholds_row=ta, thresholds_col=tb)


@dataclass(frozen=True)
class PolychoricMatrix:
    """Polychoric correlations of ordinal items with their thresholds and ``gamma``.

    ``gamma``: N x the asymptotic covariance of the statistics in the order
    ``thresholds`` (item by item) then the lower-triangle correlations (column by column,
    as lavaan's ``vech``); ``labels`` names them.
    """

    corr: pd.DataFrame
    thresholds: dict[str, np.ndarray]
    gamma: np.ndarray
    labels: list[str]
    n: int
    counts: dict[str, np.ndarray] | None = None


def _codes(data: pd.DataFrame) -> tuple[np.ndarray, list[int]]:
    """Items as 0..K-1 codes of their observed answer levels (unused levels dropped)."""
    codes, levels = [], []
    for c in data.columns:
        values = np.sort(data[c].unique())
        if len(values) < 2:
            raise ValueError(f"ordinal item {c!r} is constant ({values[0]!r} in every complete row); drop it")
        if len(values) > 15:
            raise ValueError(f"ordinal item {c!r} has {len(values)} distinct answers; an ordinal item has at most 15 "
                             "(declare it continuous: leave it out of ordinal_items)")
        codes.append(np.searchsorted(values, data[c].to_numpy()))
        levels.append(len(values))
    return np.column_stack(codes), levels


def polychoric_matrix(data: pd.DataFrame, *, gamma: bool = True) -> PolychoricMatrix:
    """Two-step polychoric correlations of the item columns ``data`` (complete rows),
    their thresholds and, if ``gamma``, lavaan's ``NACOV`` of thresholds and correlations.

    >>> rng = np.random.default_rng(1)
    >>> z = rng.multivariate_normal([0, 0], [[1, .6], [.6, 1]], size=2000)
    >>> df = pd.DataFrame(np.digitize(z, [-1, 0, 1]), columns=["a", "b"])
    >>> round(float(polychoric_matrix(df, gamma=False).corr.loc["a", "b"]), 2)
    0.59
    """
    x = data.dropna()
    names = list(x.columns)
    codes, levels = _codes(x)
    n, p = codes.shape
    counts = [np.bincount(codes[:, j], minlength=levels[j]) for j in range(p)]
    taus = [_thresholds(c.astype(float)) for c in counts]
    R = np.eye(p)
    pairs = [(i, j) for j in range(p) for i in range(j + 1, p)]  # lavaan's vech order, column by column
    tables = {}
    for i, j in pairs:
        tab = np.zeros((levels[i], levels[j]))
        np.add.at(tab, (codes[:, i], codes[:, j]), 1)
        tables[i, j] = tab
        R[i, j] = R[j, i] = _rho_two_step(tab, taus[i], taus[j])
    labels = [f"{names[j]}|t{t + 1}" for j in range(p) for t in range(levels[j] - 1)]
    labels += [f"{names[i]}~~{names[j]}" for i, j in pairs]
    G = _gamma(codes, levels, taus, R, pairs) if gamma else np.full((len(labels), len(labels)), np.nan)
    return PolychoricMatrix(corr=pd.DataFrame(R, index=names, columns=names), thresholds=dict(zip(names, taus)),
                            gamma=G, labels=labels, n=int(n), counts=dict(zip(names, counts)))


def _gamma(codes: np.ndarray, levels: list[int], taus: list[np.ndarray], R: np.ndarray,
           pairs: list[tuple[int, int]]) -> np.ndarray:
    """N x acov of (thresholds, correlations) from case-wise influence functions (Muthen 1984)."""
    n, p = codes.shape
    offsets = np.concatenate([[0], np.cumsum([k - 1 for k in levels])])
    n_th = int(offsets[-1])
    infl = np.zeros((n, n_th + len(pairs)))
    for j in range(p):
        e = _edges(taus[j])
        prob = np.diff(special.ndtr(e))
        dens = stats.norm.pdf(taus[j])
        # dP_c / dtau_t = phi(tau_t) (1{c = t} - 1{c = t + 1})
        dP = np.zeros((len(taus[j]), len(prob)))
        for t in range(len(taus[j])):
            dP[t, t], dP[t, t + 1] = dens[t], -dens[t]
        info = (dP / prob) @ dP.T
        score = (dP / prob)[:, codes[:, j]].T  # n x thresholds
        infl[:, offsets[j]:offsets[j + 1]] = np.linalg.solve(info, score.T).T
    for k, (i, j) in enumerate(pairs):
        P = _cell_probs(taus[i], taus[j], R[i, j])
        drho, dta, dtb = _cell_derivatives(taus[i], taus[j], R[i, j])
        ci, cj = codes[:, i], codes[:, j]
        s = (drho / P)[ci, cj]
        # as lavaan (muthen1984): the blocks of the two-step "Hessian" are outer products of
        # case-wise scores; the threshold scores here are those of the bivariate likelihood
        s_th = np.hstack([(dta / P[None])[:, ci, cj].T, (dtb / P[None])[:, ci, cj].T])
        a22 = float(s @ s) / n
        a21 = s @ s_th / n
        th = np.r_[offsets[i]:offsets[i + 1], offsets[j]:offsets[j + 1]]
        infl[:, n_th + k] = (s - infl[:, th] @ a21) / a22
    return infl.T @ infl / n


def _threshold_scores(code: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """d log P(x_i) / d tau per case (n x thresholds)."""
    prob = np.diff(special.ndtr(_edges(tau)))
    dens = stats.norm.pdf(tau)
    dP = np.zeros((len(tau), len(prob)))
    for t in range(len(tau)):
        dP[t, t], dP[t, t + 1] = dens[t], -dens[t]
    return (dP / prob)[:, code].T


def ordinal_alpha(data: pd.DataFrame) -> float:
    """Ordinal alpha (Zumbo, Gadermann & Zeisser 2007): Cronbach's alpha of the polychoric
    correlation matrix, ``k/(k-1) (1 - k / sum(R))``.

    >>> rng = np.random.default_rng(2)
    >>> f = rng.normal(size=(800, 1))
    >>> df = pd.DataFrame(np.digitize(f + rng.normal(size=(800, 4)), [-1, 0, 1]), columns=list("abcd"))
    >>> round(ordinal_alpha(df), 2)
    0.8
    """
    R = polychoric_matrix(data, gamma=False).corr.to_numpy()
    k = R.shape[0]
    if k < 2:
        raise ValueError(f"ordinal alpha needs at least two items; got {k}")
    return float(k / (k - 1) * (1 - k / R.sum()))


# DWLS / WLSMV confirmatory factor analysis -------------------------------------------------
@dataclass(frozen=True)
class OrdinalCFA:
    """A CFA of ordinal items by DWLS with the WLSMV test.

    ``fit``: one row, ``n, chi2, df, p_value, cfi, tli, rmsea, rmsea_ci_low, rmsea_ci_high,
    srmr`` then :data:`ORDINAL_FIT_COLUMNS`; ``loadings``: ``scale, item, loading,
    std_loading, std_se, ci_low, ci_high, residual_var`` (delta parameterisation: the
    loadings are standardised); ``factor_correlations``; ``thresholds``: ``item,
    threshold, estimate, se, n`` (``n``: respondents on the smaller side of the threshold,
    for small-cell suppression); ``baseline``: one row, ``chi2, df, chi2_scaled`` of the
    independence model (thresholds free, every correlation 0) behind the CFI/TLI;
    ``factor_correlation_se``: the SEs of ``factor_correlations`` (0 on the diagonal).
    """

    fit: pd.DataFrame
    loadings: pd.DataFrame
    factor_correlations: pd.DataFrame
    thresholds: pd.DataFrame
    polychoric: PolychoricMatrix
    baseline: pd.DataFrame | None = None
    factor_correlation_se: pd.DataFrame | None = None


def _rmsea(chi2: float, df: int, n: int) -> float:
    return float(np.sqrt(max(chi2 - df, 0.0) / (n * df))) if df > 0 else float("nan")


def _scaled_shifted(chi2: float, df: int, UG: np.ndarray) -> tuple[float, float, float]:
    """Asparouhov & Muthen's (2010) scaled-shifted statistic: ``(chi2 / c + b, c, b)``."""
    if df <= 0:
        return float("nan"), float("nan"), float("nan")
    tr1, tr2 = float(np.trace(UG)), float(np.sum(UG * UG.T))
    c = float(np.sqrt(tr2 / df))
    b = df - float(np.sqrt(df * tr1 ** 2 / tr2))
    return chi2 / c + b, c, b


def cfa_ordinal(
    data: pd.DataFrame,
    *,
    scales: Mapping[str, Sequence[str]],
    estimator: str = "wlsmv",
    alpha: float = 0.05,
    equal_loadings: bool = False,
    equal_thresholds: bool = False,
    mimic: str = "lavaan",
) -> OrdinalCFA:
    """CFA of ordinal items (each loads on its scale; factors correlate) by DWLS with the
    WLSMV test on the complete rows of ``data`` (items already reverse-scored).

    ``estimator``: ``"wlsmv"`` (robust standard errors and the scaled-shifted test) is the
    only one; the name is kept for :func:`~engagement_kit.measurement.dimensions`.
    ``equal_loadings``: the items of a scale share one loading (tau-equivalence, the
    assumption behind ordinal alpha); ``equal_thresholds``: they share their thresholds
    (items of a scale must then have the same number of answer levels). Both default to
    the free model. ``mimic``: ``"lavaan"`` (lavaan's default) or ``"mplus"``: Mplus
    computes the scaled-shifted test with ``N`` where lavaan uses ``N - 1``
    (lavaan's ``mimic = "Mplus"``: ``Gamma (N - 1) / N`` in the test); estimates, standard
    errors and the unscaled statistic are the same.

    >>> d = simulate_ordinal_items(400, scales={"a": ["a1", "a2", "a3"], "b": ["b1", "b2", "b3"]}, seed=3)
    >>> free = cfa_ordinal(d, scales={"a": ["a1", "a2", "a3"], "b": ["b1", "b2", "b3"]})
    >>> tied = cfa_ordinal(d, scales={"a": ["a1", "a2", "a3"], "b": ["b1", "b2", "b3"]}, equal_loadings=True)
    >>> int(free.fit.loc[0, "df"]), int(tied.fit.loc[0, "df"])
    (8, 12)
    """
    if estimator.lower() != "wlsmv":
        raise ValueError(f"cfa_ordinal supports estimator='wlsmv' only; got {estimator!r}")
    mimic = mimic.lower()
    if mimic not in ("lavaan", "mplus"):
        raise ValueError(f"mimic must be 'lavaan' or 'mplus'; got {mimic!r}")
    from .factors import rmsea_ci  # same inversion of the noncentral chi-square as the ML fit

    items = [i for its in scales.values() for i in its]
    factors = list(scales)
    small = [s for s, its in scales.items() if len(its) < 2]
    if small:
        raise ValueError(f"scales {small} have fewer than two items; a factor of ordinal items needs at least two "
                         "(three if it is the only factor)")
    absent = [i for i in items if i not in data.columns]
    if absent:
        raise ValueError(f"items {absent} are not columns of the data; check the scales")
    pc = polychoric_matrix(data[items])
    n, p, m = pc.n, len(items), len(factors)
    factor_of = np.concatenate([[f] * len(its) for f, its in enumerate(scales.values())])
    n_levels = [len(pc.thresholds[i]) for i in items]
    if equal_thresholds:
        for s, its in scales.items():
            levels = {i: len(pc.thresholds[i]) + 1 for i in its}
            if len(set(levels.values())) > 1:
                raise ValueError(f"equal_thresholds: the items of scale {s!r} have different numbers of observed "
                                 f"answer levels {levels}; drop equal_thresholds or recode the items alike")
    # the free parameters: loadings, factor correlations, thresholds; each maps onto its slots
    lam_par = factor_of.copy() if equal_loadings else np.arange(p)
    n_lam = m if equal_loadings else p
    phi_idx = [(a, b) for b in range(m) for a in range(b + 1, m)]
    th_par, k, first_of_factor = [], n_lam + len(phi_idx), {}
    for j in range(p):
        f = int(factor_of[j])
        if equal_thresholds and f in first_of_factor:
            th_par.extend(first_of_factor[f])
            continue
        slots = list(range(k, k + n_levels[j]))
        first_of_factor.setdefault(f, slots)
        th_par.extend(slots)
        k += n_levels[j]
    th_par = np.asarray(th_par, dtype=int)
    n_par = k
    iu = np.array([(i, j) for j in range(p) for i in range(j + 1, p)])
    r = pc.corr.to_numpy()[iu[:, 0], iu[:, 1]]
    th_sample = np.concatenate([pc.thresholds[i] for i in items])
    n_th = len(th_sample)
    s = np.concatenate([th_sample, r])
    gamma = pc.gamma
    w = 1.0 / np.diag(gamma)
    df = len(s) - n_par
    if df < 0:
        raise ValueError(f"the ordinal factor model is not identified: {n_par} free parameters for {len(s)} "
                         f"thresholds and polychoric correlations (df = {df}); a factor needs at least three items")

    def factor_corr(theta: np.ndarray) -> np.ndarray:
        Phi = np.eye(m)
        for q, (a, b) in enumerate(phi_idx):
            Phi[a, b] = Phi[b, a] = theta[n_lam + q]
        return Phi

    def implied(theta: np.ndarray) -> np.ndarray:
        L = np.zeros((p, m))
        L[np.arange(p), factor_of] = theta[lam_par]
        S = L @ factor_corr(theta) @ L.T
        return np.concatenate([theta[th_par], S[iu[:, 0], iu[:, 1]]])

    sw = np.sqrt(w)
    start = np.zeros(n_par)
    start[:n_lam], start[n_lam:n_lam + len(phi_idx)] = 0.7, 0.3
    for slot in np.unique(th_par):
        start[slot] = th_sample[th_par == slot].mean()
    sol = optimize.least_squares(lambda th: sw * (s - implied(th)), start, method="lm", xtol=1e-15, ftol=1e-15,
                                 gtol=1e-15, max_nfev=20000)
    theta = sol.x
    # a factor's sign is arbitrary: make its first loading positive
    for f in range(m):
        first = int(lam_par[np.flatnonzero(factor_of == f)[0]])
        if theta[first] < 0:
            theta[np.unique(lam_par[factor_of == f])] *= -1
            for q, (a, b) in enumerate(phi_idx):
                if f in (a, b):
                    theta[n_lam + q] *= -1
    resid = s - implied(theta)
    chi2 = float((n - 1) * np.sum(w * resid ** 2))
    D = _num_jacobian(implied, theta)
    WD = w[:, None] * D
    bread = np.linalg.inv(D.T @ WD)
    # Mplus's scaled test uses Gamma (N - 1) / N (lavaan's mimic = "Mplus", lav_test_satorra_bentler)
    G_test = gamma * ((n - 1) / n) if mimic == "mplus" else gamma
    U = np.diag(w) - WD @ bread @ WD.T
    chi2_s, scaling, _ = _scaled_shifted(chi2, df, U @ G_test)
    vcov = bread @ WD.T @ gamma @ WD @ bread / (n - 1)
    se = np.sqrt(np.diag(vcov))
    # independence baseline: thresholds free, every correlation 0; U is W on the correlations
    w_r = w[n_th:]
    chi2_b = float((n - 1) * np.sum(w_r * r ** 2))
    df_b = len(r)
    chi2_bs, _, _ = _scaled_shifted(chi2_b, df_b, w_r[:, None] * G_test[n_th:, n_th:])

    def cfi_tli(t: float, tb: float) -> tuple[float, float]:
        denom = max(tb - df_b, t - df, 0.0)
        cfi = 1.0 - max(t - df, 0.0) / denom if denom > 0 else 1.0
        tli = (tb / df_b - t / df) / (tb / df_b - 1.0) if df > 0 else float("nan")
        return cfi, tli

    cfi, tli = cfi_tli(chi2, chi2_b)
    cfi_r, tli_r = cfi_tli(chi2_s, chi2_bs)
    # lavaan's mimic = "Mplus" keeps N - 1 in the RMSEA (Mplus prints it to 3 decimals, which cannot tell)
    n_rmsea = n - 1
    lo, hi = rmsea_ci(chi2, df, n_rmsea)
    lo_r, hi_r = rmsea_ci(chi2_s, df, n_rmsea)
    resid_r = resid[n_th:]
    fit = pd.DataFrame([{
        "n": n, "chi2": chi2, "df": df, "p_value": float(stats.chi2.sf(chi2, df)) if df > 0 else np.nan,
        "cfi": cfi, "tli": tli, "rmsea": _rmsea(chi2, df, n_rmsea), "rmsea_ci_low": lo, "rmsea_ci_high": hi,
        "srmr": float(np.sqrt(np.sum(resid_r ** 2) / (p * (p + 1) / 2))),
        "chi2_scaled": chi2_s, "df_scaled": df, "scaling_factor": scaling, "cfi_robust": cfi_r, "tli_robust": tli_r,
        "rmsea_robust": _rmsea(chi2_s, df, n_rmsea), "rmsea_robust_ci_low": lo_r, "rmsea_robust_ci_high": hi_r,
        "estimator": "wlsmv", "missing": "listwise",
    }])
    z = stats.norm.ppf(1 - alpha / 2)
    rows = []
    for j in range(p):
        q = int(lam_par[j])
        est = theta[q]
        rows.append({"scale": factors[factor_of[j]], "item": items[j], "loading": est, "std_loading": est,
                     "std_se": se[q], "ci_low": est - z * se[q], "ci_high": est + z * se[q],
                     "residual_var": 1 - est ** 2})
    loadings = pd.DataFrame(rows)
    Phi = factor_corr(theta)
    Phi_se = np.zeros((m, m))
    for q, (a, b) in enumerate(phi_idx):
        Phi_se[a, b] = Phi_se[b, a] = se[n_lam + q]
    th_rows, k = [], 0
    for item in items:
        below = np.cumsum(pc.counts[item])[:-1]
        for t in range(len(pc.thresholds[item])):
            slot = int(th_par[k])
            th_rows.append({"item": item, "threshold": t + 1, "estimate": theta[slot], "se": se[slot],
                            "n": int(min(below[t], n - below[t]))})
            k += 1
    if (loadings["residual_var"] < 0).any():
        bad = loadings.loc[loadings["residual_var"] < 0, "item"].tolist()
        warnings.warn(f"Heywood case: items {bad} have a standardised loading above 1 (negative residual variance); "
                      "the solution is improper, check the items or the model", MeasurementWarning, stacklevel=2)
    return OrdinalCFA(fit=fit, loadings=loadings, factor_correlations=pd.DataFrame(Phi, index=factors, columns=factors),
                      thresholds=pd.DataFrame(th_rows), polychoric=pc,
                      baseline=pd.DataFrame([{"chi2": chi2_b, "df": df_b, "chi2_scaled": chi2_bs}]),
                      factor_correlation_se=pd.DataFrame(Phi_se, index=factors, columns=factors))


def _num_jacobian(fun, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    # the implied correlations are at most quadratic in each parameter: central differences are exact
    cols = []
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = h
        cols.append((fun(x + e) - fun(x - e)) / (2 * h))
    return np.column_stack(cols)


def ordinal_columns(items: Iterable[str], ordinal_items: Iterable[str] | str | bool | None) -> list[str]:
    """The items declared ordinal: ``True``/``"all"`` for every item, else the listed ones."""
    items = list(items)
    if ordinal_items is None or ordinal_items is False:
        return []
    if ordinal_items is True or ordinal_items == "all":
        return items
    chosen = [ordinal_items] if isinstance(ordinal_items, str) else list(ordinal_items)
    unknown = [c for c in chosen if c not in items]
    if unknown:
        raise ValueError(f"ordinal_items {unknown} are not items of any scale; list item columns of the scales "
                         "(or True for all)")
    return [c for c in items if c in chosen]


def simulate_ordinal_items(
    n: int,
    *,
    scales: Mapping[str, Sequence[str]],
    loadings: float | Sequence[float] = 0.7,
    factor_correlation: float = 0.3,
    thresholds: Sequence[float] = (0.5, 1.2, 1.8),
    seed: int = 0,
) -> pd.DataFrame:
    """``n`` answers (codes 1..K) to ordinal items that follow a true CFA of latent normal
    responses: each item loads ``loadings`` (standardised) on its scale, the factors
    correlate ``factor_correlation``, answers cut the responses at ``thresholds`` (the
    default puts about 69 % of the answers in the lowest category: strongly skewed). For
    calibration runs (the WLSMV test should reject this true model at its nominal rate).

    >>> d = simulate_ordinal_items(5, scales={"a": ["a1", "a2", "a3"]}, seed=1)
    >>> d.shape, int(d.min().min()) >= 1
    ((5, 3), True)
    """
    rng = np.random.default_rng(seed)
    items = [i for its in scales.values() for i in its]
    m = len(scales)
    lam = np.broadcast_to(np.asarray(loadings, dtype=float), (len(items),))
    phi = np.full((m, m), factor_correlation)
    np.fill_diagonal(phi, 1.0)
    f = rng.multivariate_normal(np.zeros(m), phi, size=n)
    which = np.concatenate([[k] * len(its) for k, its in enumerate(scales.values())])
    y = f[:, which] * lam + rng.standard_normal((n, len(items))) * np.sqrt(1 - lam**2)
    return pd.DataFrame(np.digitize(y, np.asarray(thresholds)) + 1, columns=items)
