"""Modification indices and expected parameter changes: where does a factor model misfit?

For every parameter the fitted model fixes (a cross-loading ``scale =~ item``, a residual
covariance ``item ~~ item``) and, with ``constraints=True``, every equality constraint
across groups (a loading or intercept of group g held equal to group 1's), the
univariate score (Lagrange multiplier) test of freeing it, with lavaan's ``modindices``
conventions:

* ``mi = N s^2 / V`` with ``s`` the score (per respondent) of the freed parameter at the
  fitted estimates and ``V = I_22 - I_21 I_11^-1 I_12`` its information given the free
  parameters (expected information, lavaan's ``modindices`` default; with FIML the
  expected information of the incomplete data, pattern by pattern, as lavaan computes it
  with ``missing = "ml"``. Until issue #15 the complete-data information stood in for it,
  which made the indices about 25 % too small with 20 % missing answers);
  chi-square with 1 df under the null, ``p_value`` from it;
* ``epc = s / V``: the expected change of the parameter if freed (Saris, Satorra &
  Sorbom 1987); ``sepc_all`` standardised like lavaan's ``sepc.all`` (loadings by the factor
  and item SDs, residual covariances by the residual SDs, intercepts by the item SD).

An equality constraint's index is lavaan's ``lavTestScore`` univariate test: a large one
names the loading or intercept that differs across groups, the one to free with
``measurement_invariance(..., free=[...])``. Rows are sorted by ``mi``.

Checked against lavaan's tutorial (``modindices(fit, sort = TRUE)`` on the
Holzinger-Swineford model) in ``tests/test_measurement_robust.py``, and under FIML against
lavaan 0.6-14 in ``tests/test_measurement_lavaan.py``.

Example
-------
>>> from semopy.examples import holzinger39
>>> from .factors import cfa
>>> scales = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
>>> res = cfa(holzinger39.get_data(), scales=scales, likert_min=None, likert_max=None)
>>> mi = modification_indices(res.estimate)
>>> mi[["lhs", "op", "rhs"]].iloc[0].tolist(), round(float(mi["mi"].iloc[0]), 3)
(['visual', '=~', 'x9'], 36.411)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .sem import CFAEstimate, _Model

__all__ = ["MODINDEX_COLUMNS", "modification_indices"]

MODINDEX_COLUMNS = ["lhs", "op", "rhs", "group", "kind", "mi", "epc", "sepc_all", "p_value"]


def modification_indices(est: CFAEstimate, *, top: int | None = None, constraints: bool = True,
                         fixed: bool = True) -> pd.DataFrame:
    """Modification indices of a fitted CFA (columns :data:`MODINDEX_COLUMNS`), largest
    first; ``top`` keeps the first rows; ``constraints`` adds the equality constraints of a
    multi-group model; ``fixed=False`` leaves out the cross-loadings and residual
    covariances (only the constraints: the diagnosis of partial invariance)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _modification_indices(est, top, constraints, fixed)


def _modification_indices(est: CFAEstimate, top: int | None, constraints: bool, fixed: bool) -> pd.DataFrame:
    base = est._model
    p, m, G = base.p, base.m, base.G
    pairs = tuple((j, k) for j in range(p) for k in range(j + 1, p)) if fixed else ()
    shared = set()
    if constraints and G > 1:
        for g in range(1, G):
            for j in range(p):
                for f in range(m):
                    if base.L_idx[g][j, f] >= 0 and base.L_idx[g][j, f] == base.L_idx[0][j, f]:
                        shared.add(("loading", j, f))
                if base.N_idx[g][j] == base.N_idx[0][j]:
                    shared.add(("intercept", j))
    extra = ~base.pattern if fixed else np.zeros_like(base.pattern)
    ext = _Model(base.pattern, base.moments, base.equal, base.free, extra_loadings=extra, residual_pairs=pairs,
                 deviations=frozenset(shared), markers=base.markers)
    index = {lab: i for i, lab in enumerate(ext.labels)}
    x = np.zeros(ext.n_par)
    old = np.zeros(base.n_par, dtype=int)
    for i, lab in enumerate(base.labels):
        old[i] = index[lab]
        x[index[lab]] = est.x[i]
    cand = np.setdiff1d(np.arange(ext.n_par), old)
    # the score is exact (FIML: of the incomplete-data likelihood); the information is the
    # expected one (lavaan's modindices default), with missing answers pattern by pattern
    grad, hess = ext.gradient_information(x)
    if any(len(mo.patterns) > 1 for mo in ext.moments):
        hess = ext.fiml_expected_information(x)
    info = hess / 2
    score = -grad / 2
    i11 = info[np.ix_(old, old)]
    i12 = info[np.ix_(old, cand)]
    v = np.diag(info)[cand] - np.einsum("ij,ij->j", i12, np.linalg.solve(i11, i12))
    s = score[cand]
    mi = base.N * s**2 / v
    epc = s / v
    rows = []
    for k, c in enumerate(cand):
        lab = ext.labels[c]
        g = lab[1]
        sigma, _ = ext.implied(x, g)
        _, P, T, _, _ = ext.matrices(x, g)
        sd = np.sqrt(np.diag(sigma))
        if lab[0] in ("loading", "loading_dev"):
            j, f = lab[2], lab[3]
            lhs, op, rhs = est.factors[f], "=~", est.items[j]
            sepc = epc[k] * np.sqrt(P[f, f]) / sd[j]
        elif lab[0] == "residual_cov":
            j, f = lab[2], lab[3]
            lhs, op, rhs = est.items[j], "~~", est.items[f]
            sepc = epc[k] / np.sqrt(T[j] * T[f])
        else:  # intercept_dev
            j = lab[2]
            lhs, op, rhs = est.items[j], "~1", ""
            sepc = epc[k] / sd[j]
        kind = {"loading": "cross-loading", "residual_cov": "residual covariance"}.get(lab[0], "equality constraint")
        rows.append({"lhs": lhs, "op": op, "rhs": rhs, "group": est.groups[g], "kind": kind, "mi": mi[k],
                     "epc": epc[k], "sepc_all": sepc, "p_value": float(stats.chi2.sf(max(mi[k], 0.0), 1))})
    out = pd.DataFrame(rows, columns=MODINDEX_COLUMNS).sort_values("mi", ascending=False, kind="stable")
    out = out.reset_index(drop=True)
    return out.head(top) if top is not None else out
