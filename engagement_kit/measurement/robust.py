"""Robust ML: scaled chi-square statistics, robust standard errors and robust fit indices.

Non-normal answers (skewed Likert items) leave the ML estimates consistent but make the
ML chi-square too large and the model-based standard errors too small. Two corrections,
both as lavaan 0.6 computes them (``estimator="MLM"`` / ``"MLR"``):

* **MLM** (Satorra & Bentler 1994), complete data only: ``c = tr(U Gamma) / df`` with
  ``U = W - W Delta E^-1 Delta' W``, ``W`` the normal-theory weight of the saturated model
  at the model-implied moments (lavaan's ``h1.information = "structured"``), ``Delta`` the
  Jacobian of the model-implied means and covariances, ``E = Delta' W Delta`` the expected
  information and ``Gamma`` the sample covariance (divide by n) of ``[x_i, vech((x_i - xbar)
  (x_i - xbar)')]`` per group (Browne's ADF matrix). Groups add up with weights n_g/N.
  Robust covariance of the estimates ``E^-1 (Delta' W Gamma W Delta) E^-1 / N``.
* **MLR** (Yuan & Bentler 2000, lavaan's ``"yuan.bentler.mplus"`` test): ``c = (sum_g
  tr(A1_g^-1 B1_g) - sum_g (n_g/N) tr(E^-1 B0_g)) / df`` where ``A1_g`` is the observed
  information of the saturated model at its ML estimates (lavaan's ``h1.information =
  "unstructured"``, ``observed.information = "hessian"``; for complete data it equals the
  expected one), ``B1_g`` the mean outer product of its casewise scores there, ``B0_g`` the
  mean outer product of the fitted model's casewise scores, and ``E`` the observed
  information of the model (Hessian of the fit function, lavaan's default for MLR). With
  ``missing="fiml"`` the casewise scores are those of the incomplete rows' likelihoods
  and ``A1`` is the observed information of the saturated FIML model at the EM estimates.
  Robust covariance ``E^-1 B0 E^-1 / N`` (Huber-White).

The scaled statistic is ``chi2 / c`` on ``df`` degrees of freedom. Robust indices
(lavaan's ``cfi.robust``, ``tli.robust``, ``rmsea.robust``), complete data:
Brosseau-Liard, Savalei & Li (2012) RMSEA ``sqrt(max(chi2/(N df) - c/N, 0)) sqrt(G)``
with the interval of the scaled statistic times ``sqrt(c)``, and Brosseau-Liard &
Savalei (2014) CFI / TLI with ``chi2 - c df`` against the baseline's ``chi2_b - c_b
df_b`` (``c_b`` the same scaling factor of the independence model).

With ``missing="fiml"`` (MLR) the same formulas take Zhang & Savalei's (2023) FIML-corrected
statistic instead ("FIML-C", version V3; lavaan >= 0.6-13, ``lav_fit_fiml_corrected``):

* ``chi2_c = sum_g n_g F_ML(S~_g, m~_g; Sigma_g, mu_g)``: the complete-data ML discrepancy
  between the saturated EM estimates ``(S~, m~)`` and the model-implied moments at the FIML
  estimates (no refit), on the model's ``df``; the baseline's ``chi2_bc`` the same with the
  independence model's FIML estimates (item means and variances of the available answers).
* ``c_c = tr(U Wm^-1 Wc Wm^-1 U Gamma) / df``, every matrix block-diagonal over groups:
  ``Wm_g`` (weight n_g/N) the observed information of the saturated FIML model at the EM
  estimates, ``Wc_g`` (weight n_g/N) the complete-data information at ``(S~, m~)``,
  ``Gamma_g = Wm_g^-1 J_g Wm_g^-1 N/n_g`` with ``J_g`` the mean outer product of the
  saturated casewise scores, ``U = Wm - Wm Delta (Delta' Wm Delta)^-1 Delta' Wm``; ``c_bc``
  the same with the independence model's ``Delta``.
* ``rmsea_robust = sqrt(max(chi2_c/(N df) - c_c/N, 0)) sqrt(G)``, its interval that of
  ``chi2_c / c_c`` times ``sqrt(c_c)``; ``cfi_robust = 1 - max(chi2_c - c_c df, 0) /
  max(chi2_c - c_c df, chi2_bc - c_bc df_b, 0)``, ``tli_robust = 1 - (chi2_c - c_c df) df_b /
  ((chi2_bc - c_bc df_b) df)`` (lavaan's ``lav_fit_cfi`` / ``lav_fit_tli``, which fall back to
  the unscaled formulas when a factor is exactly 1).

The scaled statistic and scaling factor printed beside them stay the Yuan-Bentler ones.
MLM is refused with FIML, as lavaan refuses ``estimator="MLM", missing="ml"``.

Nested models are compared with the Satorra-Bentler (2001) scaled difference
``(chi2_0 - chi2_1) / ((df_0 c_0 - df_1 c_1) / (df_0 - df_1))``.

Both scaled statistics are asymptotic corrections: in small samples of strongly non-normal
answers they can still reject a true model more often than the nominal level. In the
seeded calibration (:mod:`.calibration`: skewed seven-point items, one true factor, scaling
factor ~2) MLR's scaled test rejects 9.7 % at n = 200 and 7.3 % at n = 400, then 6.0 % at
n = 1000 and 5.1 % at n = 2000 (5 % nominal; plain ML ~50 % at every n); lavaan's MLR gives
the same statistic and decision on the same data sets, replication by replication (the
table with Monte-Carlo intervals for n = 200 ... 4000 is in :mod:`.calibration`).

Checked in ``tests/test_measurement_robust.py`` against lavaan 0.6-17 on
Holzinger-Swineford (MLR 87.132, scaling 0.979; MLM 80.872, scaling 1.055), and in
``tests/test_measurement_lavaan.py`` against lavaan 0.6-14 (``tests/data/robust_reference``):
robust CFI / TLI / RMSEA and its CI for MLR and MLM, one group and by school, to 1e-6;
FIML and MLR-with-FIML estimates, SEs, scaling factor to 1e-5; and in
``tests/test_measurement_mlr_calibration.py`` against lavaan 0.6-14 on the calibration's own
data sets (MLR, MLR with expected information, MLM, to 1e-6); and in
``tests/test_measurement_fiml_robust.py`` against lavaan 0.6-14's FIML-corrected robust
indices (``tests/data/fiml_robust_reference``: MCAR and MAR, one group and the configural,
metric and scalar steps by school).

Example
-------
>>> from semopy.examples import holzinger39
>>> from .factors import cfa
>>> hs = holzinger39.get_data()
>>> scales = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
>>> res = cfa(hs, scales=scales, likert_min=None, likert_max=None, estimator="mlr")
>>> round(float(res.fit["chi2_scaled"].iloc[0]), 3), round(float(res.fit["scaling_factor"].iloc[0]), 3)
(87.132, 0.979)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .scales import MeasurementWarning
from .sem import CFAEstimate, GroupMoments, _univariate_moments
from .sem import Pattern, _Fill, _fill, _Rows, _rows  # the row form of the saturated model's scores

__all__ = ["ESTIMATORS", "FimlCorrected", "RobustTest", "robust_test", "scaled_difference"]

ESTIMATORS = ("ml", "mlm", "mlr")


@dataclass(frozen=True)
class FimlCorrected:
    """Zhang & Savalei's (2023) FIML-corrected statistics behind the robust indices with
    missing answers (see the module docstring): the statistic ``chi2`` on ``df`` with its
    scaling factor ``scaling`` (``chi2_scaled = chi2 / scaling``), and the independence
    model's ``baseline_chi2`` on ``baseline_df`` with ``baseline_scaling``."""

    chi2: float
    df: int
    scaling: float
    chi2_scaled: float
    baseline_chi2: float
    baseline_df: int
    baseline_scaling: float


@dataclass(frozen=True)
class RobustTest:
    """A scaled test: ``chi2_scaled = chi2 / scaling_factor`` on ``df``; ``vcov`` the
    robust covariance of the estimates; ``baseline_scaling`` the independence model's
    factor (NaN where the robust indices are not defined); ``fiml_corrected`` the
    statistics the robust indices use with ``missing="fiml"`` (None with complete data)."""

    estimator: str
    chi2_scaled: float
    df: int
    scaling_factor: float
    p_value: float
    vcov: np.ndarray
    baseline_scaling: float
    fiml_corrected: FimlCorrected | None = None


def _vech_basis(p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper-triangle indices and the symmetric basis matrices E_a of vech coordinates."""
    iu = np.triu_indices(p)
    basis = np.zeros((iu[0].size, p, p))
    basis[np.arange(iu[0].size), iu[0], iu[1]] = 1.0
    basis[np.arange(iu[0].size), iu[1], iu[0]] = 1.0
    return iu[0], iu[1], basis


def _weight(sigma: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Normal-theory information per respondent of the saturated model in (mu, vech Sigma)
    coordinates: ``Sigma^-1`` for the means, ``tr(Sigma^-1 E_a Sigma^-1 E_b) / 2`` for the
    covariances (the means and covariances are orthogonal)."""
    p = sigma.shape[0]
    inv = np.linalg.inv(sigma)
    a = np.matmul(inv, basis)
    k = basis.shape[0]
    w = np.zeros((p + k, p + k))
    w[:p, :p] = inv
    w[p:, p:] = 0.5 * a.reshape(k, -1) @ a.transpose(0, 2, 1).reshape(k, -1).T
    return w


def _delta(est: CFAEstimate, g: int, iu0: np.ndarray, iu1: np.ndarray) -> np.ndarray:
    """Jacobian (p + p*) x n_par of group g's implied (mu, vech Sigma)."""
    model = est._model
    par = model.group_params(g)
    ds, dm = model._dmoments(est.x, g, par)
    d = np.zeros((model.p + iu0.size, est.x.size))
    d[: model.p, par] = dm.T
    d[model.p :, par] = ds[:, iu0, iu1].T
    return d


def _saturated_scores(mo: GroupMoments, sigma: np.ndarray, mu: np.ndarray, iu0: np.ndarray,
                      iu1: np.ndarray) -> np.ndarray:
    """Casewise scores (n x (p + p*)) of the normal log-likelihood of each row's answered
    items w.r.t. (mu, vech Sigma), at (mu, Sigma); an unanswered item scores 0. Rows in
    pattern order. With several patterns from the precision matrix in row form
    (:func:`_saturated_scores_rows`), else (one pattern, or Sigma not positive definite)
    pattern by pattern."""
    if len(mo.patterns) > 1:
        rows = _rows(mo.patterns, mu.size)
        fl = _fill(rows, sigma, mu)
        if fl is not None:
            return _saturated_scores_rows(rows, fl, iu0, iu1)[_row_order(mo.patterns, mu.size)]
    return _saturated_scores_direct(mo, sigma, mu, iu0, iu1)


def _saturated_scores_direct(mo: GroupMoments, sigma: np.ndarray, mu: np.ndarray, iu0: np.ndarray,
                             iu1: np.ndarray) -> np.ndarray:
    """:func:`_saturated_scores` pattern by pattern (one q x q inverse each): the reference
    of the row form in the tests, and its fallback."""
    p = mu.size
    out = np.zeros((mo.n, p + iu0.size))
    coef = np.where(iu0 == iu1, 1.0, 2.0)  # an off-diagonal sigma_jk enters twice
    start = 0
    for pt in mo.patterns:
        o = pt.observed
        inv = np.linalg.inv(sigma[np.ix_(o, o)])
        u = np.zeros((pt.n, p))
        u[:, o] = (pt.rows - mu[o]) @ inv
        k = np.zeros((p, p))
        k[np.ix_(o, o)] = inv
        out[start : start + pt.n, :p] = u
        out[start : start + pt.n, p:] = 0.5 * (u[:, iu0] * u[:, iu1] - k[iu0, iu1]) * coef
        start += pt.n
    return out


def _pair_trace(a: np.ndarray, b: np.ndarray, iu0: np.ndarray, iu1: np.ndarray) -> np.ndarray:
    """``tr(A E_a B E_b)`` for all pairs of symmetric basis matrices of vech coordinates
    (E_a = e_j e_k' + e_k e_j', or e_j e_j' on the diagonal), from four index gathers."""
    j, k, l, m = iu0[:, None], iu1[:, None], iu0[None, :], iu1[None, :]
    t = a[m, j] * b[k, l] + a[l, j] * b[k, m] + a[m, k] * b[j, l] + a[l, k] * b[j, m]
    c = np.where(iu0 == iu1, 0.5, 1.0)
    return t * c[:, None] * c[None, :]


def _saturated_observed_information(mo: GroupMoments, iu0: np.ndarray, iu1: np.ndarray) -> np.ndarray:
    """Observed information per respondent of the saturated model at its ML estimates
    (analytic second derivatives of each pattern's log-likelihood, summed over patterns),
    from the precision matrix in row form (:func:`_saturated_observed_information_rows`)."""
    p = mo.mean.size
    if mo.missing == "listwise":
        return _weight(mo.cov, _vech_basis(p)[2])  # complete data: observed = expected at the MLE
    rows = _rows(mo.patterns, p)
    fl = _fill(rows, mo.cov, mo.mean)
    if fl is None:
        return _saturated_observed_information_direct(mo, iu0, iu1)
    return _saturated_observed_information_rows(rows, fl, iu0, iu1)


def _saturated_observed_information_direct(mo: GroupMoments, iu0: np.ndarray, iu1: np.ndarray) -> np.ndarray:
    """:func:`_saturated_observed_information` pattern by pattern (a q x q pair trace each):
    the reference of the row form in the tests, and its fallback."""
    p = mo.mean.size
    q = iu0.size
    h = np.zeros((p + q, p + q))
    c = np.where(iu0 == iu1, 0.5, 1.0)
    for pt in mo.patterns:
        o = pt.observed
        inv = np.linalg.inv(mo.cov[np.ix_(o, o)])
        k = np.zeros((p, p))
        k[np.ix_(o, o)] = inv
        d = np.zeros(p)
        d[o] = pt.mean - mo.mean[o]
        w = np.zeros((p, p))
        w[np.ix_(o, o)] = pt.cov + np.outer(pt.mean - mo.mean[o], pt.mean - mo.mean[o])
        kwk = k @ w @ k
        kd = k @ d
        h[:p, :p] += pt.n * k
        # d/dsigma_(l,m) of K d: -(K_:l (Kd)_m + K_:m (Kd)_l) (halved on the diagonal)
        cross = (k[:, iu0] * kd[iu1] + k[:, iu1] * kd[iu0]) * c
        h[:p, p:] += pt.n * cross
        h[p:, :p] += pt.n * cross.T
        h[p:, p:] += pt.n / 2 * (-_pair_trace(k, k, iu0, iu1) + _pair_trace(kwk, k, iu0, iu1)
                                 + _pair_trace(k, kwk, iu0, iu1))
    return h / mo.n


# Casewise scores and observed information of the saturated model, in row form ----------
#
# Per pattern r (answered items o, K_r = Sigma_oo^-1 embedded in p x p, zero elsewhere) the
# log-likelihood of a row is -(log|Sigma_oo| + e' K_r e) / 2 with e = x - mu (0 where
# unanswered). Both of its derivatives need only u = K_r e and K_r itself, and with the
# precision matrix P = Sigma^-1 (see the comment above ``sem._MissingBlock``):
#   u = ``fill @ P`` (``_Fill.v``), one row product for all rows, and
#   K_r = P - P_.m P_mm^-1 P_m.  (k unanswered items: a rank-k correction of P),
# so nothing per pattern is bigger than a k x k inverse and a p x p matrix. The scores are
# u (means) and (u_j u_k - K_r,jk) / 2 (vech Sigma, doubled off the diagonal). The
# observed information sums over patterns n_r K_r (means), cross terms bilinear in K_r and
# sum_{i in r} u_i, and pair traces tr(A E_a B E_b) of K_r with K_r W_r K_r, where
# n_r K_r W_r K_r = sum_{i in r} u_i u_i'. A pair trace is bilinear in (A, B), so the sum
# over patterns of pair traces is the pair trace read off one q x q matrix of sums of outer
# products, sum_r vech(A_r) vech(B_r)' (q = p(p+1)/2), built by matrix products over the
# patterns: one product of a q x R by an R x q matrix instead of R pair traces of q x q
# gathers each (``_pair_trace_sum``).

_CHUNK = 1 << 21  # entries of the per-pattern p x p arrays held at once (16 MB)


def _row_order(patterns: tuple[Pattern, ...], p: int) -> np.ndarray:
    """Position in ``sem._rows`` order (rows sorted by number of unanswered items, then
    pattern) of each row in pattern order (the order of the direct evaluation)."""
    n = np.array([pt.n for pt in patterns])
    order = np.argsort([p - pt.observed.size for pt in patterns], kind="stable")
    start_rows = np.empty(n.size, dtype=int)
    start_rows[order] = np.cumsum(n[order]) - n[order]
    return np.repeat(start_rows - (np.cumsum(n) - n), n) + np.arange(n.sum())


def _pattern_chunks(rows: _Rows, fl: _Fill) -> list[tuple[slice, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Runs of patterns with the same number of unanswered items, cut to bound the memory of
    their K_r (:func:`_pattern_precisions`): the rows' slice, each pattern's first row within
    it, its row count, its unanswered items (R x k) and P_mm^-1 (R x k x k)."""
    p = fl.prec.shape[0]
    step = max(1, _CHUNK // (p * p))
    out = []
    for bl, cmm in zip(rows.blocks, fl.cond):
        n_pat = bl.n.size
        for r0 in range(0, n_pat, step):
            r1 = min(n_pat, r0 + step)
            lo = bl.rows.start + bl.starts[r0]
            hi = bl.rows.start + bl.starts[r1] if r1 < n_pat else bl.rows.stop
            out.append((slice(lo, hi), bl.starts[r0:r1] - bl.starts[r0], bl.n[r0:r1], bl.miss[r0:r1],
                        cmm[r0:r1] if bl.miss.shape[1] else cmm))
    return out


def _pattern_precisions(prec: np.ndarray, miss: np.ndarray, cmm: np.ndarray) -> np.ndarray:
    """K_r = Sigma_oo^-1 embedded (R x p x p) of patterns with unanswered items ``miss`` (R x
    k) and P_mm^-1 ``cmm``: ``P - P_.m P_mm^-1 P_m.``."""
    p = prec.shape[0]
    if miss.shape[1] == 0:
        return np.broadcast_to(prec, (miss.shape[0], p, p))
    gain = np.matmul(prec[:, miss].transpose(1, 0, 2), cmm)  # P_.m P_mm^-1, R x p x k
    return prec - np.matmul(gain, prec[miss])


def _saturated_scores_rows(rows: _Rows, fl: _Fill, iu0: np.ndarray, iu1: np.ndarray) -> np.ndarray:
    """:func:`_saturated_scores` from the precision matrix, rows in ``sem._rows`` order."""
    v = fl.v
    p = v.shape[1]
    out = np.empty((rows.n, p + iu0.size))
    out[:, :p] = v
    cov = out[:, p:]
    np.multiply(v[:, iu0], v[:, iu1], out=cov)
    for sl, _, n, miss, cmm in _pattern_chunks(rows, fl):
        kr = _pattern_precisions(fl.prec, miss, cmm)
        cov[sl] -= np.repeat(kr[:, iu0, iu1], n.astype(int), axis=0)
    cov *= np.where(iu0 == iu1, 0.5, 1.0)
    return out


def _pair_trace_sum(m: np.ndarray, iu0: np.ndarray, iu1: np.ndarray) -> np.ndarray:
    """``sum_r _pair_trace(A_r, B_r)`` from ``m = sum_r vech(A_r) vech(B_r)'`` (A_r, B_r
    symmetric): the term ``A[x, y] B[z, w]`` of a pair trace summed over r is
    ``m[vech(x, y), vech(z, w)]``."""
    p = int(iu1.max()) + 1
    at = np.empty((p, p), dtype=int)
    at[iu0, iu1] = at[iu1, iu0] = np.arange(iu0.size)
    # a = (j, k), b = (i, h): the four terms of _pair_trace, A[h, j] B[k, i] + A[i, j] B[k, h] + ...
    j, k, i, h = iu0[:, None], iu1[:, None], iu0[None, :], iu1[None, :]
    t = m[at[h, j], at[k, i]] + m[at[i, j], at[k, h]] + m[at[h, k], at[j, i]] + m[at[i, k], at[j, h]]
    c = np.where(iu0 == iu1, 0.5, 1.0)
    return t * c[:, None] * c[None, :]


def _saturated_observed_information_rows(rows: _Rows, fl: _Fill, iu0: np.ndarray, iu1: np.ndarray) -> np.ndarray:
    """:func:`_saturated_observed_information` from the precision matrix (see the comment
    above :func:`_row_order`); the sums over patterns of the direct evaluation become:
    ``sum_r n_r K_r = n P - P (sum_r n_r P_mm^-1 embedded) P``; ``sum_r n_r K_r[:, l]
    (K_r d_r)_m = sum_r K_r[:, l] s_r,m`` with ``s_r`` the sum of the pattern's rows of u;
    ``sum_r n_r pair_trace(K_r W_r K_r, K_r)`` from ``sum_r vech(sum_{i in r} u_i u_i')
    vech(K_r)'``."""
    prec, v = fl.prec, fl.v
    p, q = prec.shape[0], iu0.size
    kk = np.zeros((q, q))  # sum_r n_r vech(K_r) vech(K_r)'
    uk = np.zeros((q, q))  # sum_r vech(n_r K_r W_r K_r) vech(K_r)'
    z = np.zeros((p * p, p))  # sum_r vec(K_r) s_r'
    for sl, starts, n, miss, cmm in _pattern_chunks(rows, fl):
        kr = _pattern_precisions(prec, miss, cmm)
        kv = kr[:, iu0, iu1]
        vr = v[sl]
        s = np.add.reduceat(vr, starts, axis=0)
        uu = np.add.reduceat(vr[:, iu0] * vr[:, iu1], starts, axis=0)
        kk += (kv * n[:, None]).T @ kv
        uk += uu.T @ kv
        z += kr.reshape(kr.shape[0], -1).T @ s
    z = z.reshape(p, p, p)
    c = np.where(iu0 == iu1, 0.5, 1.0)
    h = np.empty((p + q, p + q))
    h[:p, :p] = rows.n * prec - prec @ fl.cond_sum @ prec
    h[:p, p:] = (z[:, iu0, iu1] + z[:, iu1, iu0]) * c
    h[p:, :p] = h[:p, p:].T
    h[p:, p:] = 0.5 * (-_pair_trace_sum(kk, iu0, iu1) + _pair_trace_sum(uk, iu0, iu1) + _pair_trace_sum(uk.T, iu0, iu1))
    return h / rows.n


def _gamma(mo: GroupMoments, iu0: np.ndarray, iu1: np.ndarray) -> np.ndarray:
    """Browne's ADF matrix: covariance (divide by n) of [x_i, vech((x_i - xbar)(x_i - xbar)')]."""
    x = mo.patterns[0].rows
    c = x - x.mean(axis=0)
    z = np.hstack([x, c[:, iu0] * c[:, iu1]])
    z = z - z.mean(axis=0)
    return z.T @ z / x.shape[0]


def _baseline(mo: GroupMoments, iu0: np.ndarray, iu1: np.ndarray):
    """Independence model of one group: implied (Sigma, mu), its Jacobian in (mu, vech)
    coordinates, its casewise scores and its information per respondent."""
    p = mo.mean.size
    cnt, mean, var = _univariate_moments(mo)
    sigma = np.diag(var)
    d = np.zeros((p + iu0.size, 2 * p))
    d[:p, :p] = np.eye(p)
    diag_pos = np.flatnonzero(iu0 == iu1)
    d[p + diag_pos, p + np.arange(p)] = 1.0
    frac = cnt / mo.n
    info = np.diag(np.concatenate([frac / var, frac / (2 * var**2)]))  # observed = expected at the MLE
    return sigma, mean, d, info


def _h1_information(mo: GroupMoments, iu0: np.ndarray, iu1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The saturated model's observed information ``A1`` and first-order information ``B1``
    (mean outer product of its casewise scores) per respondent, at its ML (EM) estimates."""
    sat = _saturated_scores(mo, mo.cov, mo.mean, iu0, iu1)
    return _saturated_observed_information(mo, iu0, iu1), sat.T @ sat / mo.n


def _trace_ug(estimator: str, moments: list[GroupMoments], implied: list[tuple[np.ndarray, np.ndarray]],
              deltas: list[np.ndarray], e_inv: np.ndarray, w: np.ndarray, iu0: np.ndarray, iu1: np.ndarray,
              basis: np.ndarray, h1: list[tuple[np.ndarray, np.ndarray]] | None = None) -> tuple[float, np.ndarray]:
    """tr(U Gamma) summed over groups, and the 'meat' sum_g (n_g/N) B0_g of the sandwich;
    ``h1``: :func:`_h1_information` of each group when already computed (MLR)."""
    trace = 0.0
    meat = np.zeros_like(e_inv)
    for g, mo in enumerate(moments):
        sigma, mu = implied[g]
        if estimator == "mlm":
            wg = _weight(sigma, basis)
            gam = _gamma(mo, iu0, iu1)
            b0 = deltas[g].T @ wg @ gam @ wg @ deltas[g]
            trace += np.sum(wg * gam) - w[g] * np.sum(e_inv * b0)
        else:
            a1, b1 = h1[g] if h1 is not None else _h1_information(mo, iu0, iu1)
            scores = _saturated_scores(mo, sigma, mu, iu0, iu1) @ deltas[g]
            b0 = scores.T @ scores / mo.n
            trace += np.trace(np.linalg.solve(a1, b1)) - w[g] * np.sum(e_inv * b0)
        meat += w[g] * b0
    return float(trace), meat


def robust_test(est: CFAEstimate, estimator: str, *, fiml_indices: bool = True) -> RobustTest:
    """Scaled chi-square, scaling factor and robust covariance of a fitted CFA (see the
    module docstring); ``estimator`` is ``"mlm"`` or ``"mlr"``. With ``missing="fiml"`` and
    ``fiml_indices`` the FIML-corrected statistics of the robust indices are added
    (``fiml_indices=False`` skips them, for timing)."""
    from threadpoolctl import threadpool_limits

    if estimator not in ("mlm", "mlr"):
        raise ValueError(f"estimator must be 'mlm' or 'mlr' for a scaled test, not {estimator!r}")
    if estimator == "mlm" and est.missing != "listwise":
        raise ValueError("estimator='mlm' (Satorra-Bentler) needs complete data; use estimator='mlr' with "
                         "missing='fiml', or missing='listwise'")
    with threadpool_limits(1):
        return _robust_test(est, estimator, fiml_indices)


def _f_ml(s: np.ndarray, m: np.ndarray, sigma: np.ndarray, mu: np.ndarray) -> float:
    """Complete-data ML discrepancy of (sigma, mu) from sample moments (s, m)."""
    inv = np.linalg.inv(sigma)
    d = m - mu
    return float(np.linalg.slogdet(sigma)[1] - np.linalg.slogdet(s)[1] + np.sum(s * inv) - s.shape[0]
                 + d @ inv @ d)


def _fiml_corrected(est: CFAEstimate, implied: list[tuple[np.ndarray, np.ndarray]], deltas: list[np.ndarray],
                    h1: list[tuple[np.ndarray, np.ndarray]], iu0: np.ndarray, iu1: np.ndarray,
                    basis: np.ndarray) -> FimlCorrected:
    """Zhang & Savalei's FIML-C (V3) statistics of the model and of the independence model,
    as lavaan 0.6-14's ``lav_fit_fiml_corrected`` (module docstring). Written here because
    no Python SEM package computes them."""
    model = est._model
    moments, w, G = model.moments, model.w, model.G
    k = model.p + iu0.size

    def bdiag(blocks: list[np.ndarray]) -> np.ndarray:
        out = np.zeros((G * k, G * k))
        for g, b in enumerate(blocks):
            out[g * k : (g + 1) * k, g * k : (g + 1) * k] = b
        return out

    wm_inv = [np.linalg.inv(a1) for a1, _ in h1]
    wm = bdiag([w[g] * h1[g][0] for g in range(G)])
    # Wm^-1 Wc Wm^-1 with the group weights (w_g Wc_g between two (1/w_g) Wm_g^-1) and Gamma
    middle = bdiag([wm_inv[g] @ _weight(mo.cov, basis) @ wm_inv[g] / w[g] for g, mo in enumerate(moments)])
    gamma = bdiag([wm_inv[g] @ h1[g][1] @ wm_inv[g] / w[g] for g in range(G)])

    def trace(delta: np.ndarray) -> float:
        wd = wm @ delta
        u = wm - wd @ np.linalg.solve(delta.T @ wd, wd.T)
        return float(np.sum((u @ middle @ u) * gamma.T))

    chi2 = sum(mo.n * _f_ml(mo.cov, mo.mean, *implied[g]) for g, mo in enumerate(moments))
    c = trace(np.vstack(deltas)) / est.df if est.df > 0 else np.nan
    base = [_baseline(mo, iu0, iu1) for mo in moments]
    chi2_b = sum(mo.n * _f_ml(mo.cov, mo.mean, base[g][0], base[g][1]) for g, mo in enumerate(moments))
    delta_b = np.zeros((G * k, G * 2 * model.p))
    for g, b in enumerate(base):
        delta_b[g * k : (g + 1) * k, g * 2 * model.p : (g + 1) * 2 * model.p] = b[2]
    c_b = trace(delta_b) / est.baseline_df
    c, c_b = (v if np.isfinite(v) and v > 0 else np.nan for v in (c, c_b))
    return FimlCorrected(chi2=float(chi2), df=est.df, scaling=float(c), chi2_scaled=float(chi2 / c),
                         baseline_chi2=float(chi2_b), baseline_df=est.baseline_df, baseline_scaling=float(c_b))


def _robust_test(est: CFAEstimate, estimator: str, fiml_indices: bool = True) -> RobustTest:
    model = est._model
    p = model.p
    iu0, iu1, basis = _vech_basis(p)
    moments = model.moments
    w = model.w
    implied = [model.implied(est.x, g) for g in range(model.G)]
    deltas = [_delta(est, g, iu0, iu1) for g in range(model.G)]
    if estimator == "mlm":
        info = sum(w[g] * deltas[g].T @ _weight(implied[g][0], basis) @ deltas[g] for g in range(model.G))
    else:
        info = model.observed_hessian(est.x) / 2
    e_inv = np.linalg.inv(info)
    h1 = [_h1_information(mo, iu0, iu1) for mo in moments] if estimator == "mlr" else None
    trace, meat = _trace_ug(estimator, moments, implied, deltas, e_inv, w, iu0, iu1, basis, h1)
    c = trace / est.df if est.df > 0 else np.nan
    if not np.isfinite(c) or c <= 0:
        c = np.nan
    vcov = e_inv @ meat @ e_inv / model.N
    c_base = np.nan
    if est.missing == "listwise":
        base = [_baseline(mo, iu0, iu1) for mo in moments]
        k = 2 * p
        big_d = []
        info_b = np.zeros((model.G * k, model.G * k))
        for g, (_, _, d, inf) in enumerate(base):
            dg = np.zeros((d.shape[0], model.G * k))
            dg[:, g * k : (g + 1) * k] = d
            big_d.append(dg)
            info_b[g * k : (g + 1) * k, g * k : (g + 1) * k] = w[g] * inf
        tb, _ = _trace_ug(estimator, moments, [(b[0], b[1]) for b in base], big_d, np.linalg.inv(info_b), w,
                          iu0, iu1, basis)
        c_base = tb / est.baseline_df
    corrected = None
    if est.missing == "fiml" and fiml_indices and est.df > 0:
        try:
            corrected = _fiml_corrected(est, implied, deltas, h1, iu0, iu1, basis)
        except np.linalg.LinAlgError:  # lavaan: "computation of robust RMSEA failed", NA
            warnings.warn("the FIML-corrected robust CFI / TLI / RMSEA could not be computed (a singular "
                          "information matrix: some items are rarely answered together); they are left empty",
                          MeasurementWarning, stacklevel=3)
    chi2_scaled = est.chi2 / c if np.isfinite(c) else np.nan
    p_value = float(stats.chi2.sf(chi2_scaled, est.df)) if est.df > 0 and np.isfinite(c) else np.nan
    return RobustTest(estimator=estimator, chi2_scaled=float(chi2_scaled), df=est.df, scaling_factor=float(c),
                      p_value=p_value, vcov=vcov, baseline_scaling=float(c_base), fiml_corrected=corrected)


def scaled_difference(chi2_0: float, df_0: int, c_0: float, chi2_1: float, df_1: int, c_1: float) -> tuple[float, float]:
    """Satorra-Bentler (2001) scaled chi-square difference of nested models (0 = more
    restricted): returns ``(statistic, p_value)``; NaN when the difference scaling is not
    positive (then the test is undefined, Satorra & Bentler 2010).

    >>> [round(v, 3) for v in scaled_difference(124.044, 54, 1.0, 115.851, 48, 1.0)]
    [8.193, 0.224]
    """
    ddf = df_0 - df_1
    if ddf <= 0:
        return float("nan"), float("nan")
    cd = (df_0 * c_0 - df_1 * c_1) / ddf
    if not np.isfinite(cd) or cd <= 0:
        return float("nan"), float("nan")
    t = (chi2_0 - chi2_1) / cd
    return float(t), float(stats.chi2.sf(t, ddf))
