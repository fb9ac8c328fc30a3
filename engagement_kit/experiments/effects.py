"""The effects table: every metric x arm vs control (x segment), one row per method.

Columns (the interface written to ``effects.csv``):

``metric, arm, control`` (the comparison), ``n_arm, n_control`` (rows with a value),
``mean_arm, mean_control`` (per-customer means; NPS in points; ratio metrics the
ratio of sums; CUPED/ANCOVA rows the covariate-adjusted means; time_to_event the
Kaplan-Meier survival at the common horizon), ``diff`` (mean_arm - mean_control; for
time_to_event the Cox hazard ratio arm/control), ``ci_low, ci_high`` (CI of diff /
of the HR), ``rel_diff, rel_ci_low, rel_ci_high`` (mean_arm/mean_control - 1 and its CI;
time_to_event HR - 1; NaN for NPS, whose baseline can be zero or negative and whose effect
is read in points, and NaN for any control mean <= 0, with a warning when it is 0), ``p_value`` (two-sided), ``p_adjusted`` (multiplicity
correction within each method over all metrics x comparisons [x segments]),
``method`` (welch, z_wald, z_nps, delta, cuped, ancova_hc1, mann_whitney, bootstrap,
cox), ``se`` (standard error of diff; log-HR for cox), ``variance_reduction``
(1 - Var_adjusted/Var_unadjusted of the difference for cuped/ancova rows; 0 for
unadjusted rows), and ``segment`` when a segment column is given.

Methods: binary -> ``z_wald``; continuous and count -> ``welch``; nps -> ``z_nps``;
ratio -> ``delta``; time_to_event -> ``cox`` (hazard ratio from statsmodels PHReg on
the two arms; the p-value is Cox's Wald test; log-rank in :func:`survival_tests`).
Optional rows: ``cuped`` (default when covariates are given) or ``ancova_hc1``
(OLS ``y ~ arms + covariates`` with HC1 errors, statsmodels' ``cov_type="HC1"``),
``mann_whitney`` (scipy ``mannwhitneyu``; the p-value tests stochastic equality,
diff and CI stay the Welch ones) and ``bootstrap`` (percentile CI of the mean
difference, p = 2 x the smaller tail share of bootstrap differences beyond 0).
"""

from __future__ import annotations

import warnings
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from ..stats.means import mean_diff, ratio_moments
from ..stats.multitest import adjust
from ..validation import check_finite
from .aggregate import Aggregates, MetricSpec, covariate_matrix, factorize, metric_values, parse_metrics
from ..engines import is_in_memory
from .sufficient import MAX_ROWS_PULLED, pull_rows, sufficient_statistics
from .tests import bootstrap_diff, cuped_moments, mann_whitney_p, ols_hc1

__all__ = ["EFFECT_COLUMNS", "analyze", "comparisons", "adjust_pvalues"]

EFFECT_COLUMNS = [
    "metric",
    "arm",
    "control",
    "n_arm",
    "n_control",
    "mean_arm",
    "mean_control",
    "diff",
    "ci_low",
    "ci_high",
    "rel_diff",
    "rel_ci_low",
    "rel_ci_high",
    "p_value",
    "p_adjusted",
    "method",
    "se",
    "variance_reduction",
]

DEFAULT_METHOD = {"binary": "z_wald", "continuous": "welch", "count": "welch", "nps": "z_nps", "ratio": "delta"}


def comparisons(arms: list, control, all_pairs: bool = False) -> list[tuple[int, int]]:
    """(arm index, baseline index) pairs: every arm vs the control, plus all other pairs on request."""
    if control not in arms:
        raise ValueError(
            f"control label {control!r} is not an arm; the arms in the data are {arms}. "
            f"Pass control= one of them (labels are compared exactly, including type and spaces)"
        )
    if len(arms) < 2:
        raise ValueError(f"an experiment needs at least two arms; the data has only {arms}")
    c = arms.index(control)
    pairs = [(k, c) for k in range(len(arms)) if k != c]
    if all_pairs:
        others = [k for k in range(len(arms)) if k != c]
        pairs += [(j, i) for i, j in combinations(others, 2)]
    return pairs


def adjust_pvalues(effects: pd.DataFrame, correction: str = "holm", by: list[str] | None = None) -> pd.Series:
    """Multiplicity-adjusted p-values within each ``by`` family (:func:`engagement_kit.stats.multitest.adjust`).

    Default family: each method separately (the unadjusted and the covariate-adjusted
    analyses are alternative analyses of the same hypotheses).

    >>> eff = pd.DataFrame({"method": ["welch", "welch", "cuped"], "p_value": [0.01, 0.04, 0.04]})
    >>> adjust_pvalues(eff, "bonferroni").tolist()
    [0.02, 0.08, 0.04]
    """
    codes = effects.groupby(by or ["method"], sort=False).ngroup().to_numpy()
    return pd.Series(adjust(effects["p_value"].to_numpy(dtype=float), correction, codes), index=effects.index, dtype=float)


def _warn_degenerate(metric: str, arms, pairs, groups, se: np.ndarray, m0: np.ndarray) -> None:
    if np.any(se == 0):
        g, j = np.argwhere(se == 0)[0]
        warnings.warn(
            f"metric {metric!r} is constant within arm {arms[pairs[j][0]]!r} and {arms[pairs[j][1]]!r}"
            f"{'' if len(groups) == 1 else f' in segment {groups[g]!r}'}: the standard error is 0, "
            f"so p is 1 (equal means) or 0 and the CI is the point",
            stacklevel=4,
        )
    if np.any(m0 == 0):
        warnings.warn(
            f"metric {metric!r}: the baseline mean is 0 in some comparison, so the relative "
            f"difference (rel_diff, rel_ci_*) is undefined there and left empty; read diff",
            stacklevel=4,
        )


def _frame(spec: MetricSpec, arms, groups, pairs, n1, n0, m1, m0, r: dict, method: str, vr=0.0) -> pd.DataFrame:
    G, P = len(groups), len(pairs)
    scale = 100.0 if spec.kind == "nps" else 1.0
    # A relative difference needs a baseline that is a positive amount: NPS (and any metric
    # whose control mean is <= 0) gets none ("+260 %" on an NPS of -8 is noise, not news);
    # its effect is read in points (diff).
    no_rel = np.full(G * P, spec.kind == "nps") | ~(np.asarray(m0, dtype=float).ravel() > 0)
    r = {**r, **{k: np.where(no_rel, np.nan, np.asarray(r[k], dtype=float).ravel())
                 for k in ("rel_diff", "rel_ci_low", "rel_ci_high")}}
    df = pd.DataFrame(
        {
            "segment": np.repeat(np.array(groups, dtype=object), P),
            "metric": spec.name,
            "arm": np.tile(np.array([arms[k] for k, _ in pairs], dtype=object), G),
            "control": np.tile(np.array([arms[c] for _, c in pairs], dtype=object), G),
            "n_arm": np.asarray(n1).ravel().astype(np.int64),
            "n_control": np.asarray(n0).ravel().astype(np.int64),
            "mean_arm": scale * np.asarray(m1).ravel(),
            "mean_control": scale * np.asarray(m0).ravel(),
            "diff": scale * r["diff"].ravel(),
            "ci_low": scale * r["ci_low"].ravel(),
            "ci_high": scale * r["ci_high"].ravel(),
            "rel_diff": r["rel_diff"].ravel(),
            "rel_ci_low": r["rel_ci_low"].ravel(),
            "rel_ci_high": r["rel_ci_high"].ravel(),
            "p_value": r["p_value"].ravel(),
            "p_adjusted": np.nan,
            "method": method,
            "se": scale * r["se"].ravel(),
            "variance_reduction": np.broadcast_to(vr, (G, P)).ravel() if np.ndim(vr) else vr,
        }
    )
    return df


def _check_arms_have_rows(metric: str, arms, groups, pairs, n: np.ndarray) -> None:
    used = sorted({k for pair in pairs for k in pair})
    for k in used:
        empty = n[:, k] == 0
        if empty.all():
            raise ValueError(
                f"arm {arms[k]!r} has no rows with a value of metric {metric!r}; drop the arm "
                f"(or its label) or check the metric column"
            )


def _sufficient_effects(
    spec: MetricSpec, agg: Aggregates, pairs, alpha: float, adjustment: str | None
) -> list[pd.DataFrame]:
    ms = agg.stats[spec.name]
    arms, groups = agg.arms, agg.groups
    i1 = np.array([k for k, _ in pairs])
    i0 = np.array([c for _, c in pairs])
    _check_arms_have_rows(spec.name, arms, groups, pairs, ms.n)
    if len(groups) > 1 and np.any(ms.n[:, np.unique(np.r_[i1, i0])] < 2):
        g, k = np.argwhere(ms.n[:, np.unique(np.r_[i1, i0])] < 2)[0]
        raise ValueError(
            f"metric {spec.name!r}: segment {groups[g]!r} has fewer than 2 customers with a value in "
            f"an arm; merge small segments or drop it"
        )
    n1, n0 = ms.n[:, i1], ms.n[:, i0]
    if spec.kind == "ratio":
        r_all, vr_all = ratio_moments(ms.n, ms.s1, ms.s2, ms.d1, ms.d2, ms.nd)
        m1, m0 = r_all[:, i1], r_all[:, i0]
        res = mean_diff(n1, m1, np.nan, n0, m0, np.nan, alpha, use_t=False, vm1=vr_all[:, i1], vm0=vr_all[:, i0])
    else:
        use_t = spec.kind in ("continuous", "count")
        v = ms.var(ddof=1 if use_t else 0)
        m = ms.mean
        m1, m0 = m[:, i1], m[:, i0]
        res = mean_diff(n1, m1, v[:, i1], n0, m0, v[:, i0], alpha, use_t=use_t)
    _warn_degenerate(spec.name, arms, pairs, groups, res["se"], m0)
    frames = [_frame(spec, arms, groups, pairs, n1, n0, m1, m0, res, DEFAULT_METHOD[spec.kind])]
    if adjustment in ("cuped", "both") and ms.sx is not None:
        parts = [
            tuple(a[:, idx] for a in (ms.n, ms.s1, ms.s2, ms.sx, ms.sxx, ms.sxy)) for idx in (i1, i0)
        ]
        (ma, va), (mc, vc) = cuped_moments(parts)[0]
        use_t = True
        rc = mean_diff(n1, ma, va, n0, mc, vc, alpha, use_t=use_t)
        with np.errstate(invalid="ignore", divide="ignore"):
            vr = np.where(res["se"] > 0, 1 - rc["se"] ** 2 / res["se"] ** 2, 0.0)
        frames.append(_frame(spec, arms, groups, pairs, n1, n0, ma, mc, rc, "cuped", vr))
    return frames


def _codes_by_arm(codes: np.ndarray, K: int) -> list[np.ndarray]:
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(K + 1))
    return [order[bounds[k] : bounds[k + 1]] for k in range(K)]


def _raw_effects(
    spec: MetricSpec,
    data: pd.DataFrame,
    arm_codes: np.ndarray,
    arms: list,
    pairs,
    alpha: float,
    method: str,
    n_boot: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    y_all = metric_values(data, spec)["y"]
    rows_by_arm = _codes_by_arm(arm_codes, len(arms))
    ys = [y_all[idx][~np.isnan(y_all[idx])] for idx in rows_by_arm]
    use_t = spec.kind in ("continuous", "count")
    frames = []
    for k, c in pairs:
        y1, y0 = ys[k], ys[c]
        if len(y1) == 0 or len(y0) == 0:
            raise ValueError(f"arm {arms[k if len(y1) == 0 else c]!r} has no rows with a value of {spec.name!r}")
        ddof = 1 if use_t else 0
        r = mean_diff(
            len(y1), y1.mean(), y1.var(ddof=ddof), len(y0), y0.mean(), y0.var(ddof=ddof), alpha, use_t=use_t
        )
        r = {key: np.atleast_1d(val).reshape(1, 1) for key, val in r.items()}
        if method == "mann_whitney":
            r["p_value"] = np.atleast_1d(mann_whitney_p(y1, y0)).reshape(1, 1)
        else:  # bootstrap: resample each arm, percentile CI
            bs = bootstrap_diff(y1, y0, n_boot, alpha, rng)
            if np.all(bs["means0"] != 0):
                rlo, rhi = np.quantile(bs["means1"] / bs["means0"] - 1, [alpha / 2, 1 - alpha / 2])
            else:
                rlo = rhi = np.nan
            r.update(
                ci_low=np.array([[bs["ci_low"]]]), ci_high=np.array([[bs["ci_high"]]]),
                p_value=np.array([[bs["p_value"]]]), se=np.array([[bs["se"]]]),
                rel_ci_low=np.array([[rlo]]), rel_ci_high=np.array([[rhi]]),
            )
        frames.append(
            _frame(spec, arms, ["all"], [(k, c)], [[len(y1)]], [[len(y0)]], [[y1.mean()]], [[y0.mean()]], r, method)
        )
    return pd.concat(frames, ignore_index=True)


def _ancova_effects(
    spec: MetricSpec, data: pd.DataFrame, arm_codes: np.ndarray, arms: list, pairs, covariates, alpha: float,
    se_unadj: dict,
) -> pd.DataFrame:
    """OLS ``y ~ 1 + arm dummies (vs control) + covariates`` with HC1 errors (raw rows)."""
    y = metric_values(data, spec)["y"]
    X_cov = covariate_matrix(data, covariates)
    ok = ~np.isnan(y)
    c = pairs[0][1]
    others = [k for k in range(len(arms)) if k != c]
    codes = arm_codes[ok]
    Xc = X_cov[ok]
    mean_x = Xc.mean(axis=0)
    X = np.column_stack([np.ones(ok.sum())] + [(codes == k).astype(float) for k in others] + [Xc - mean_x])
    yy = y[ok]
    q = X.shape[1]
    beta, V = ols_hc1(yy, X)
    zq = stats.norm.ppf(1 - alpha / 2)
    frames = []
    counts = np.bincount(codes, minlength=len(arms))
    for k, b in pairs:
        # contrast vectors for the adjusted means at the mean covariates (covariates are centred)
        def mvec(arm):
            v = np.zeros(q)
            v[0] = 1.0
            if arm != c:
                v[1 + others.index(arm)] = 1.0
            return v

        a1, a0 = mvec(k), mvec(b)
        L = a1 - a0
        diff = L @ beta
        se = float(np.sqrt(L @ V @ L))
        m1, m0 = a1 @ beta, a0 @ beta
        var0 = a0 @ V @ a0
        cov_d0 = L @ V @ a0
        z = diff / se
        rel = m1 / m0 - 1 if m0 != 0 else np.nan
        # delta method for d/m0: gradient (1/m0, -d/m0^2)
        rel_se = np.sqrt(se**2 / m0**2 + diff**2 * var0 / m0**4 - 2 * diff * cov_d0 / m0**3) if m0 != 0 else np.nan
        s_un = se_unadj.get((k, b), np.nan)
        r = {
            "diff": diff, "se": se, "ci_low": diff - zq * se, "ci_high": diff + zq * se,
            "p_value": 2 * stats.norm.sf(abs(z)), "rel_diff": rel,
            "rel_ci_low": rel - zq * rel_se, "rel_ci_high": rel + zq * rel_se,
        }
        r = {key: np.array([[val]], dtype=float) for key, val in r.items()}
        vr = 1 - se**2 / s_un**2 if s_un and np.isfinite(s_un) else 0.0
        frames.append(
            _frame(spec, arms, ["all"], [(k, b)], [[counts[k]]], [[counts[b]]], [[m1]], [[m0]], r, "ancova_hc1", vr)
        )
    return pd.concat(frames, ignore_index=True)


def _survival_effects(
    spec: MetricSpec, data: pd.DataFrame, arm_col: str, arms: list, pairs, alpha: float, segment_col: str | None
) -> pd.DataFrame:
    from ..stats.survival import cox, duration_event_arrays, survival_at

    groups = [("all", data)] if segment_col is None else list(data.groupby(segment_col, sort=True, observed=True))
    rows = []
    for g, d in groups:
        for k, c in pairs:
            sub = d[d[arm_col].isin([arms[k], arms[c]])]
            t, e = duration_event_arrays(sub, spec.duration, spec.event)
            is_arm = (sub[arm_col] == arms[k]).to_numpy()
            if is_arm.sum() == 0 or (~is_arm).sum() == 0:
                raise ValueError(f"metric {spec.name!r}: arm {arms[k] if is_arm.sum() == 0 else arms[c]!r} has no rows")
            if e[is_arm].sum() + e[~is_arm].sum() == 0:
                raise ValueError(f"metric {spec.name!r}: no events in arms {arms[k]!r}/{arms[c]!r}; a hazard ratio needs events")
            frame = pd.DataFrame({"t": t, "e": e, "treated": is_arm.astype(float)})
            res = cox(frame, "t", "e", ["treated"], alpha=alpha).iloc[0]
            horizon = min(t[is_arm].max(), t[~is_arm].max())
            surv = [survival_at(t[mask], e[mask], horizon) for mask in (is_arm, ~is_arm)]
            rows.append(
                {
                    "segment": g, "metric": spec.name, "arm": arms[k], "control": arms[c],
                    "n_arm": int(is_arm.sum()), "n_control": int((~is_arm).sum()),
                    "mean_arm": surv[0], "mean_control": surv[1],
                    "diff": res["hazard_ratio"], "ci_low": res["ci_low"], "ci_high": res["ci_high"],
                    "rel_diff": res["hazard_ratio"] - 1, "rel_ci_low": res["ci_low"] - 1,
                    "rel_ci_high": res["ci_high"] - 1, "p_value": res["p_value"], "p_adjusted": np.nan,
                    "method": "cox", "se": res["se"], "variance_reduction": 0.0,
                }
            )
    return pd.DataFrame(rows)


#: Columns of the effects table that must be finite in every row. ``rel_*`` may be NaN:
#: the relative difference is undefined when the control mean is 0 (documented, warned).
ESTIMATE_COLUMNS = ("mean_arm", "mean_control", "diff", "se", "ci_low", "ci_high", "p_value")


def _rows_text(positions: np.ndarray, k: int = 5) -> str:
    """'rows 3, 8, ...' from 0-based positions (1-based data rows, as in validation)."""
    shown = ", ".join(str(int(i) + 1) for i in positions[:k])
    return f"row{'s' if len(positions) != 1 else ''} {shown}{', ...' if len(positions) > k else ''}"


def _diagnose(
    spec: MetricSpec, method: str, data: pd.DataFrame, arm_codes: np.ndarray, arms: list, in_group: np.ndarray,
    labels: tuple,
) -> tuple[str, str]:
    """Why a comparison's estimate is not finite, and what to do: (cause, fix)."""
    cols = list(spec.columns)
    has = in_group.copy()
    for col in cols:
        has &= data[col].notna().to_numpy()
    members = {lab: has & (arm_codes == arms.index(lab)) for lab in labels}
    for lab, mask in members.items():
        pos = np.flatnonzero(mask)
        if len(pos) < 2:
            where = f" ({_rows_text(pos)})" if len(pos) else ""
            return (
                f"arm {lab!r} has {len(pos)} customer{'s' if len(pos) != 1 else ''} with a value of "
                f"{', '.join(map(repr, cols))}{where}, and a standard error needs at least 2",
                "collect more data for that arm, merge it with another arm, or drop the metric",
            )
    if spec.kind == "time_to_event":
        from ..stats.survival import event_flag

        events = event_flag(data[spec.event], spec.event)
        for lab, mask in members.items():
            if events[mask].sum() == 0:
                return (
                    f"arm {lab!r} has no events in {spec.event!r} (all {int(mask.sum())} customers censored), "
                    "so the hazard ratio is 0 or infinite",
                    "observe longer until events occur in every arm, or report Kaplan-Meier survival "
                    "(survival_tests) instead of the hazard ratio",
                )
    if spec.kind == "ratio":
        den = pd.to_numeric(data[spec.denominator]).to_numpy(dtype=float)
        for lab, mask in members.items():
            if den[mask].sum() == 0:
                return (
                    f"the denominator column {spec.denominator!r} sums to 0 in arm {lab!r}, so the "
                    f"ratio {spec.numerator}/{spec.denominator} is undefined there",
                    "use a denominator that is positive in every arm (e.g. sessions), or drop the metric",
                )
    col = spec.column or spec.numerator or spec.duration
    x = pd.to_numeric(data[col], errors="coerce").to_numpy(dtype=float)
    both = np.flatnonzero(members[labels[0]] | members[labels[1]])
    order = both[np.argsort(-np.abs(np.nan_to_num(x[both])), kind="stable")][:3]
    extremes = ", ".join(f"{x[i]:g}" for i in order)
    return (
        f"the {method} model is degenerate or overflowed on column {col!r} (largest values "
        f"{extremes} in {_rows_text(order)})",
        f"check {col!r} for unit or export errors and extreme outliers; if an arm has no variation "
        "(e.g. no events), drop the metric or the arm",
    )


def _check_estimates(
    effects: pd.DataFrame,
    specs: list[MetricSpec],
    data: pd.DataFrame,
    arm_codes: np.ndarray,
    arms: list,
    group_codes: tuple[np.ndarray, list] | None,
) -> None:
    """Raise ValueError if an estimate, SE, CI or p of any row is NaN or infinite.

    Why: a NaN estimate is not a result. Written as is, it becomes a blank cell in
    effects.csv and a missing interval in the forest plot, which reads as "no effect
    measured" instead of "this comparison cannot be estimated". The error names the
    metric column, the arm (and segment), the cause and the fix. Legitimately
    degenerate cases stay results: a metric constant within both arms has SE 0 (p 1
    or 0, warned), and ``rel_*`` is NaN when the control mean is 0 (warned).
    """
    vals = effects[list(ESTIMATE_COLUMNS)].to_numpy(dtype=float)
    bad = ~np.isfinite(vals)
    if not bad.any():
        return
    i = int(np.flatnonzero(bad.any(axis=1))[0])
    row = effects.iloc[i]
    fields = [c for c, b in zip(ESTIMATE_COLUMNS, bad[i]) if b]
    spec = next(s for s in specs if s.name == row["metric"])
    in_group = np.ones(len(data), dtype=bool)
    segment = ""
    if group_codes is not None and "segment" in effects.columns:
        in_group = group_codes[0] == list(group_codes[1]).index(row["segment"])
        segment = f" in segment {row['segment']!r}"
    cause, fix = _diagnose(spec, row["method"], data, arm_codes, arms, in_group, (row["arm"], row["control"]))
    n_bad = int(bad.any(axis=1).sum())
    raise ValueError(
        f"metric {spec.name!r} (column{'s' if len(spec.columns) > 1 else ''} "
        f"{', '.join(map(repr, spec.columns))}), arm {row['arm']!r} vs {row['control']!r}{segment}: "
        f"the {row['method']} estimate has no finite {', '.join(fields)} ({n_bad} row{'s' if n_bad != 1 else ''} "
        f"of the effects table affected). Cause: {cause}. Fix: {fix}"
    )


def analyze(
    data: pd.DataFrame,
    *,
    arm_col: str,
    control,
    metrics: dict,
    covariates: list[str] | None = None,
    segment_col: str | None = None,
    alpha: float = 0.05,
    correction: str = "holm",
    adjustment: str | None = "cuped",
    methods: tuple[str, ...] = (),
    all_pairs: bool = False,
    n_boot: int = 2000,
    seed: int = 0,
    max_rows_pulled: int = MAX_ROWS_PULLED,
) -> pd.DataFrame:
    """Effects of every arm vs the control on every metric: the effects table.

    Parameters
    ----------
    data : one row per customer: a pandas DataFrame (numpy path), or a table held by an
        engine -- an Ibis table, a DuckDB relation, a PySpark DataFrame, a path to
        Parquet/CSV files -- whose sufficient statistics are computed inside the engine
        in one pass (:mod:`.sufficient`); the numbers are the same.
    arm_col, control : the arm column and the control's label (any labels, >= 2 arms).
    metrics : ``{name: kind}`` (see :func:`.aggregate.parse_metrics`): binary, continuous,
        count, nps, ("ratio", num, den), ("time_to_event", duration, event).
    covariates : pre-period numeric covariates; adds ``cuped`` rows (or ``ancova_hc1``
        with ``adjustment="ancova"``, both with ``"both"``, none with ``None``) for
        binary/continuous/count/nps metrics, with the variance reduction.
    segment_col : if given, effects per segment (a ``segment`` column), computed from
        the same sufficient statistics (raw-row methods are not run per segment).
    alpha, correction : CI level 1-alpha; ``holm`` (default), ``fdr_bh``, ``bonferroni``
        or ``none`` across metrics x comparisons (x segments), within each method.
    methods : extra raw-row methods: ``"mann_whitney"``, ``"bootstrap"`` (``n_boot``
        resamples, ``seed``).
    all_pairs : also compare every pair of non-control arms.
    max_rows_pulled : on an engine table, the most rows that the methods needing rows
        (``methods``, ``ancova``, time_to_event metrics) may copy out of the engine; above
        it they are refused with a ValueError saying how to proceed (sample in the engine).

    Returns the tidy effects table (columns :data:`EFFECT_COLUMNS`, see the module doc).

    Raises :class:`~engagement_kit.validation.ValidationError` when a metric, duration or
    covariate column holds inf or a magnitude above 1e100 (they overflow the sums of
    squares), and ValueError when an estimate, SE, CI or p comes out NaN/inf (e.g. an arm
    with one value of a metric, a ratio whose denominator sums to 0 in an arm, no events
    in an arm): a blank interval is not a result. SE 0 (no variation within the arms) and
    NaN ``rel_*`` (control mean 0) are results, with a warning.

    Example
    -------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"arm": rng.choice(["no", "yes"], 400), "y": rng.normal(size=400)})
    >>> analyze(df, arm_col="arm", control="no", metrics={"y": "continuous"})[["metric", "arm", "method"]].values.tolist()
    [['y', 'yes', 'welch']]
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1); got {alpha}")
    if adjustment not in (None, "cuped", "ancova", "both"):
        raise ValueError(f"adjustment must be None, 'cuped', 'ancova' or 'both'; got {adjustment!r}")
    bad = set(methods) - {"mann_whitney", "bootstrap"}
    if bad:
        raise ValueError(f"unknown extra methods {sorted(bad)}; choose from 'mann_whitney', 'bootstrap'")
    in_memory = is_in_memory(data)
    if in_memory and len(data) == 0:
        raise ValueError("the data has no rows")
    specs = parse_metrics(metrics)
    if segment_col is not None and (methods or adjustment in ("ancova", "both")):
        warnings.warn(
            "per-segment effects come from sufficient statistics only: the raw-row methods "
            f"{sorted(set(methods) | ({'ancova_hc1'} if adjustment in ('ancova', 'both') else set()))} are not "
            "run per segment (run analyze on each segment's rows for them)",
            stacklevel=2,
        )
    needs_rows = bool(methods) or (adjustment in ("ancova", "both") and bool(covariates))
    if not in_memory and needs_rows:
        # bootstrap, Mann-Whitney and ANCOVA-HC1 need the rows: the columns they
        # read, copied out of the engine when there are at most max_rows_pulled of them
        cols = [arm_col] + ([segment_col] if segment_col else []) + [c for s in specs for c in s.columns]
        data = pull_rows(data, cols + list(covariates or []), what=_rows_what(methods, specs, adjustment),
                         max_rows_pulled=max_rows_pulled)
        in_memory = True
    if not in_memory:
        return _analyze_in_engine(data, specs, arm_col=arm_col, control=control, covariates=covariates,
                                  segment_col=segment_col, alpha=alpha, correction=correction,
                                  adjustment=adjustment, all_pairs=all_pairs, max_rows_pulled=max_rows_pulled)
    if arm_col not in data.columns:
        raise KeyError(f"arm column {arm_col!r} is not in the data; columns are {list(data.columns)}")
    # metric and covariate columns are checked where they are read (aggregate); durations here
    check_finite(data, [s.duration for s in specs if s.kind == "time_to_event"])
    arm_codes, arms = factorize(data[arm_col], arm_col)
    pairs = comparisons(arms, control, all_pairs)
    group_codes = None if segment_col is None else factorize(data[segment_col], segment_col)
    sufficient = [s for s in specs if s.kind != "time_to_event"]
    agg = sufficient_statistics(
        data, arm_col, sufficient, covariates, segment_col, arm_codes=(arm_codes, arms), group_codes=group_codes
    )
    frames = []
    for spec in specs:
        if spec.kind == "time_to_event":
            frames.append(_survival_effects(spec, data, arm_col, arms, pairs, alpha, segment_col))
            continue
        ms = agg.stats[spec.name]
        tot_n, tot_s1, tot_s2 = ms.n.sum(), ms.s1.sum(), ms.s2.sum()
        if spec.kind != "ratio" and tot_n > 1 and tot_s2 - tot_s1**2 / tot_n <= 1e-12 * max(tot_s2, 1.0):
            raise ValueError(
                f"metric {spec.name!r} is constant ({tot_s1 / tot_n:g}) in every row with a value: "
                f"there is nothing to compare; drop it from metrics"
            )
        sub = _sufficient_effects(spec, agg, pairs, alpha, adjustment)
        frames += sub
        if segment_col is None and spec.kind != "ratio":
            if adjustment in ("ancova", "both") and covariates:
                se_un = {pair: float(sub[0]["se"].iloc[j]) / (100.0 if spec.kind == "nps" else 1.0)
                         for j, pair in enumerate(pairs)}
                frames.append(_ancova_effects(spec, data, arm_codes, arms, pairs, covariates, alpha, se_un))
            rng = np.random.default_rng(seed)
            for method in methods:
                frames.append(_raw_effects(spec, data, arm_codes, arms, pairs, alpha, method, n_boot, rng))
    out = pd.concat(frames, ignore_index=True)
    _check_estimates(out, specs, data, arm_codes, arms, group_codes)
    out["p_adjusted"] = adjust_pvalues(out, correction)
    cols = (["segment"] if segment_col is not None else []) + EFFECT_COLUMNS
    return out[cols]


def _rows_what(methods, specs: list[MetricSpec], adjustment) -> str:
    parts = list(methods) + (["ancova"] if adjustment in ("ancova", "both") else [])
    parts += [f"time_to_event metric {s.name!r}" for s in specs if s.kind == "time_to_event"]
    return ", ".join(parts)


def _analyze_in_engine(
    data, specs: list[MetricSpec], *, arm_col: str, control, covariates, segment_col, alpha: float,
    correction: str, adjustment, all_pairs: bool, max_rows_pulled: int,
) -> pd.DataFrame:
    """:func:`analyze` of a table held by an engine: one aggregation pass there, the same
    numpy statistics here (only sufficient-statistic methods; the caller pulled rows for the rest)."""
    agg = sufficient_statistics(data, arm_col, specs, covariates, segment_col)
    pairs = comparisons(agg.arms, control, all_pairs)
    frames = []
    for spec in specs:
        if spec.kind == "time_to_event":  # Cox needs the rows: its three columns, if few enough
            cols = [arm_col] + ([segment_col] if segment_col else []) + list(spec.columns)
            rows = pull_rows(data, cols, what=f"the hazard ratio of time_to_event metric {spec.name!r}",
                             max_rows_pulled=max_rows_pulled, n_rows=int(agg.rows.sum()))
            frames.append(_survival_effects(spec, rows, arm_col, agg.arms, pairs, alpha, segment_col))
            continue
        ms = agg.stats[spec.name]
        tot_n, tot_s1, tot_s2 = ms.n.sum(), ms.s1.sum(), ms.s2.sum()
        if spec.kind != "ratio" and tot_n > 1 and tot_s2 - tot_s1**2 / tot_n <= 1e-12 * max(tot_s2, 1.0):
            raise ValueError(
                f"metric {spec.name!r} is constant ({tot_s1 / tot_n:g}) in every row with a value: "
                f"there is nothing to compare; drop it from metrics"
            )
        frames += _sufficient_effects(spec, agg, pairs, alpha, adjustment)
    out = pd.concat(frames, ignore_index=True)
    if not np.isfinite(out[list(ESTIMATE_COLUMNS)].to_numpy(dtype=float)).all():
        # the diagnosis (which rows, which cause) reads the rows: pulled if few enough
        cols = [arm_col] + ([segment_col] if segment_col else []) + [c for s in specs for c in s.columns]
        rows = pull_rows(data, cols + list(covariates or []), what="diagnosing a non-finite estimate",
                         max_rows_pulled=max_rows_pulled, n_rows=int(agg.rows.sum()))
        arm_codes, arms = factorize(rows[arm_col], arm_col)
        group_codes = None if segment_col is None else factorize(rows[segment_col], segment_col)
        _check_estimates(out, specs, rows, arm_codes, arms, group_codes)
    out["p_adjusted"] = adjust_pvalues(out, correction)
    cols = (["segment"] if segment_col is not None else []) + EFFECT_COLUMNS
    return out[cols]
