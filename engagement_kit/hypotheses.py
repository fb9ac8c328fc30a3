"""Hypotheses as data: specs -> estimates, adjusted p-values, verdicts; mediation; moderation.

A :class:`Hypothesis` names an outcome, focal predictor(s), covariates, a model and
the expected direction. :func:`test_hypotheses` fits every hypothesis and returns
one row per focal term (a categorical predictor such as ``touch_model`` gives one
term per non-reference level), adjusts the p-values across the whole family
(:func:`engagement_kit.stats.multitest.adjust`, Holm by default) and gives a verdict.

Models and scales of ``estimate``
---------------------------------
* ``ols``: coefficient; robust (HC3) SE. ``std_effect`` = b sd(x)/sd(y) for a numeric
  predictor, b/sd(y) for a dummy (an adjusted standardised mean difference).
* ``logit``: log-odds ratio; robust (HC0) SE. ``std_effect`` = b sd(x) (log-odds per SD)
  for a numeric predictor, b for a dummy.
* ``ordinal``: proportional-odds log-odds ratio (statsmodels ``OrderedModel``, logit
  link); robust (HC0) SE; ``std_effect`` as for logit.
* ``cox``: log hazard ratio (:func:`engagement_kit.stats.survival.cox`, model-based SE:
  statsmodels' PHReg wrapper has no sandwich option); ``outcome`` is the duration
  column and ``event`` the event flag; ``std_effect`` as for logit.

Rows with a missing value in any column a hypothesis uses are dropped for that
hypothesis (listwise); ``n`` says how many rows were used. ``vif`` is the variance
inflation factor of the focal term in the hypothesis' design (statsmodels).

Verdicts: ``supported`` (adjusted p < alpha and the sign matches ``expected``),
``opposite direction`` (adjusted p < alpha, sign against), ``not supported``
(adjusted p >= alpha). With ``expected="any"`` a significant effect is ``supported``.

Output columns
--------------
:func:`test_hypotheses`: ``id, statement, model, outcome, predictor, term, expected, n,
estimate, se, ci_low, ci_high, p_value, p_adjusted, std_effect, vif, verdict``.
:func:`mediation_table`: ``treatment, mediator, outcome, n, a, b, c, c_prime, indirect,
indirect_se, indirect_ci_low, indirect_ci_high, proportion_mediated, a_p_value,
b_p_value, c_p_value, c_prime_p_value, n_boot``.

Example
-------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> df = pd.DataFrame({"x": rng.normal(size=400)})
>>> df["y"] = 0.5 * df["x"] + rng.normal(size=400)
>>> res = test_hypotheses(df, hypotheses=[Hypothesis("H1", "x raises y", outcome="y", predictors=("x",))])
>>> res.loc[0, "verdict"]
'supported'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from .stats.multitest import adjust, check_method

__all__ = [
    "Hypothesis",
    "hypotheses_from_records",
    "test_hypotheses",
    "default_hypotheses",
    "MediationResult",
    "mediation",
    "mediation_table",
    "ModerationResult",
    "moderation",
    "HYPOTHESIS_COLUMNS",
    "MEDIATION_COLUMNS",
]

ModelKind = Literal["ols", "logit", "ordinal", "cox"]
HYPOTHESIS_COLUMNS = [
    "id", "statement", "model", "outcome", "predictor", "term", "expected", "n", "estimate", "se", "ci_low",
    "ci_high", "p_value", "p_adjusted", "std_effect", "vif", "verdict",
]
MEDIATION_COLUMNS = [
    "treatment", "mediator", "outcome", "n", "a", "b", "c", "c_prime", "indirect", "indirect_se",
    "indirect_ci_low", "indirect_ci_high", "proportion_mediated", "a_p_value", "b_p_value", "c_p_value",
    "c_prime_p_value", "n_boot",
]
CONTROL_LEVELS = ("no_touch", "control")


@dataclass(frozen=True)
class Hypothesis:
    """One testable claim.

    ``predictors`` are the focal columns; ``covariates`` are adjusted for but not
    tested. ``expected`` is ``"positive"``, ``"negative"`` or ``"any"``. For ``cox``
    give the event column in ``event`` (``outcome`` is the duration). ``reference``
    maps a categorical column to its reference level (default ``no_touch`` when
    present, else the first level in sorted order).
    """

    id: str
    statement: str
    outcome: str
    predictors: tuple[str, ...]
    covariates: tuple[str, ...] = ()
    model: ModelKind = "ols"
    expected: Literal["positive", "negative", "any"] = "positive"
    event: str | None = None
    reference: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.predictors, str):
            object.__setattr__(self, "predictors", (self.predictors,))
        if isinstance(self.covariates, str):
            object.__setattr__(self, "covariates", (self.covariates,))
        object.__setattr__(self, "predictors", tuple(self.predictors))
        object.__setattr__(self, "covariates", tuple(self.covariates))
        if self.model not in ("ols", "logit", "ordinal", "cox"):
            raise ValueError(f"hypothesis {self.id!r}: model must be ols, logit, ordinal or cox, not {self.model!r}")
        if self.expected not in ("positive", "negative", "any"):
            raise ValueError(f"hypothesis {self.id!r}: expected must be positive, negative or any")
        if self.model == "cox" and not self.event:
            raise ValueError(f"hypothesis {self.id!r}: a cox model needs event= (the event flag column)")
        if not self.predictors:
            raise ValueError(f"hypothesis {self.id!r} has no predictors")


def hypotheses_from_records(records: Iterable[Mapping | Hypothesis]) -> list[Hypothesis]:
    """Hypotheses from plain dicts (e.g. a notebook parameter or YAML)."""
    out = []
    for r in records:
        out.append(r if isinstance(r, Hypothesis) else Hypothesis(**dict(r)))
    ids = [h.id for h in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f"hypothesis ids must be unique; duplicated: {dup}")
    return out


# design matrices ---------------------------------------------------------------------
def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


def _reference(s: pd.Series, col: str, reference: Mapping[str, object]) -> tuple[object, list]:
    levels = sorted(pd.Series(s.dropna().unique()).tolist(), key=str)
    if col in reference:
        ref = reference[col]
    else:
        ref = next((c for c in CONTROL_LEVELS if c in levels), levels[0])
    if ref not in levels:
        raise ValueError(f"reference {ref!r} is not a level of {col!r}: {levels}")
    return ref, levels


def _design(data: pd.DataFrame, cols: Sequence[str], reference: Mapping[str, object]) -> tuple[pd.DataFrame, dict]:
    """Numeric columns as float, categorical columns as dummies; returns X and column -> terms."""
    parts, terms = [], {}
    for col in cols:
        s = data[col]
        if _is_numeric(s):
            parts.append(s.astype(float).rename(col))
            terms[col] = [col]
        else:
            ref, levels = _reference(s, col, reference)
            names = []
            for lev in levels:
                if lev == ref:
                    continue
                name = f"{col}[{lev}]"
                parts.append((s == lev).astype(float).rename(name))
                names.append(name)
            terms[col] = names
    X = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=data.index)
    const = X.columns[(X.std() == 0).to_numpy()]
    if len(const):
        raise ValueError(f"predictors {list(const)} are constant in the rows used; they cannot be estimated")
    return X, terms


def _check_columns(data: pd.DataFrame, cols: Iterable[str], what: str) -> None:
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise KeyError(f"{what}: columns {missing} are not in the data; columns are {list(data.columns)}")


def _vif(X: pd.DataFrame) -> dict[str, float]:
    from statsmodels.stats.outliers_influence import variance_inflation_factor

    Xc = np.column_stack([np.ones(len(X)), X.to_numpy()])
    if X.shape[1] == 1:
        return {X.columns[0]: 1.0}
    return {c: float(variance_inflation_factor(Xc, k + 1)) for k, c in enumerate(X.columns)}


def _fit_one(data: pd.DataFrame, h: Hypothesis, cov_type: str, alpha: float) -> list[dict]:
    import statsmodels.api as sm

    used = [h.outcome, *h.predictors, *h.covariates] + ([h.event] if h.event else [])
    _check_columns(data, used, f"hypothesis {h.id!r}")
    d = data[used].dropna()
    if len(d) < len(used) + 10:
        raise ValueError(f"hypothesis {h.id!r}: only {len(d)} complete rows for {used}")
    X, terms = _design(d, [*h.predictors, *h.covariates], h.reference)
    focal = [(p, t) for p in h.predictors for t in terms[p]]
    y = d[h.outcome]
    z = stats.norm.ppf(1 - alpha / 2)
    if h.model == "cox":
        from .stats.survival import cox

        tab = cox(d.assign(**{c: X[c] for c in X.columns}), duration=h.outcome, event=h.event,
                  predictors=list(X.columns), alpha=alpha).set_index("term")
        est, se, pv = tab["log_hr"], tab["se"], tab["p_value"]
    else:
        if h.model == "ols":
            res = sm.OLS(y.astype(float), sm.add_constant(X, has_constant="add")).fit(
                cov_type=cov_type if cov_type != "nonrobust" else "nonrobust")
        elif h.model == "logit":
            yy = y.astype(float)
            if not set(np.unique(yy)) <= {0.0, 1.0}:
                raise ValueError(f"hypothesis {h.id!r}: logit outcome {h.outcome!r} must be 0/1 or boolean")
            res = sm.Logit(yy, sm.add_constant(X, has_constant="add")).fit(
                disp=0, cov_type="HC0" if cov_type != "nonrobust" else "nonrobust")
        else:
            from statsmodels.miscmodels.ordinal_model import OrderedModel

            yy = pd.Series(pd.Categorical(y, categories=sorted(y.unique()), ordered=True), index=y.index)
            res = OrderedModel(yy, X, distr="logit").fit(
                method="bfgs", disp=False, maxiter=1000, cov_type="HC0" if cov_type != "nonrobust" else "nonrobust")
        est, se, pv = res.params, res.bse, res.pvalues
    vif = _vif(X)
    sd_y = float(y.astype(float).std()) if h.model == "ols" else 1.0
    rows = []
    for pred, term in focal:
        b, s = float(est[term]), float(se[term])
        numeric = _is_numeric(d[pred])
        std = b * (float(X[term].std()) if numeric else 1.0) / sd_y
        rows.append(
            {
                "id": h.id, "statement": h.statement, "model": h.model, "outcome": h.outcome,
                "predictor": pred, "term": term, "expected": h.expected, "n": len(d), "estimate": b, "se": s,
                "ci_low": b - z * s, "ci_high": b + z * s, "p_value": float(pv[term]), "std_effect": std,
                "vif": vif[term],
            }
        )
    return rows


def test_hypotheses(
    data: pd.DataFrame,
    *,
    hypotheses: Iterable[Hypothesis | Mapping],
    alpha: float = 0.05,
    correction: str = "holm",
    cov_type: str = "HC3",
) -> pd.DataFrame:
    """Fit each hypothesis; adjust p across the family; give verdicts (see module docstring)."""
    check_method(correction)
    hyps = hypotheses_from_records(hypotheses)
    if not hyps:
        raise ValueError("no hypotheses given")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # tall-thin designs: BLAS threads only add contention on a busy machine
        rows = [r for h in hyps for r in _fit_one(data, h, cov_type, alpha)]
    out = pd.DataFrame(rows)
    out["p_adjusted"] = adjust(out["p_value"].to_numpy(), correction)
    sig = out["p_adjusted"] < alpha
    sign_ok = np.where(out["expected"] == "negative", out["estimate"] < 0,
                       np.where(out["expected"] == "positive", out["estimate"] > 0, True))
    out["verdict"] = np.where(~sig, "not supported", np.where(sign_ok, "supported", "opposite direction"))
    return out[HYPOTHESIS_COLUMNS]


test_hypotheses.__test__ = False  # not a pytest test despite the name


def default_hypotheses(
    columns: Iterable[str],
    *,
    dimensions: Sequence[str] | None = None,
    types: Sequence[str] | None = None,
    arm_col: str | None = None,
    control: object | None = None,
    covariates: Sequence[str] = (),
) -> list[Hypothesis]:
    """The articles' claims (DOMAIN.md section 3) as hypotheses, for the ``columns`` present.

    Dimensions and types must be scale-score columns (see
    :func:`engagement_kit.measurement.score_scales`); ``promoter`` is NPS >= 9. With an
    ``arm_col`` (the touch-model arm; ``control`` its reference level, default ``no_touch``
    when present, else the first level), any scale passed in ``dimensions`` gets a
    touch-model hypothesis (``H5_<scale>``), so custom scales are covered too; the named
    claims (H1-H4) need the default dimension names. ``covariates`` present in ``columns``
    are adjusted for in every hypothesis.
    """
    from .frameworks import DIMENSION_NAMES, ENGAGEMENT_TYPE_NAMES

    cols = set(columns)
    dims = [d for d in (DIMENSION_NAMES if dimensions is None else dimensions) if d in cols]
    tps = [t for t in (ENGAGEMENT_TYPE_NAMES if types is None else types) if t in cols]
    cov = tuple(c for c in covariates if c in cols)
    H: list[Hypothesis] = []

    def add(cond: bool, **kw) -> None:
        if cond:
            H.append(Hypothesis(covariates=cov, **kw))

    add({"enthusiasm", "promoter"} <= cols, id="H1", statement="Enthusiastic customers advocate more (NPS promoter)",
        outcome="promoter", predictors=("enthusiasm",), model="logit")
    add({"attention", "retained"} <= cols, id="H2a", statement="Attention improves retention",
        outcome="retained", predictors=("attention",), model="logit")
    add({"attention", "churn_time", "churned"} <= cols, id="H2b", statement="Attention lowers the churn hazard",
        outcome="churn_time", event="churned", predictors=("attention",), model="cox", expected="negative")
    add({"interaction", "csat"} <= cols, id="H3", statement="Interaction raises satisfaction (CSAT)",
        outcome="csat", predictors=("interaction",), model="ordinal")
    add({"identification", "retained"} <= cols, id="H4a", statement="Identification raises loyalty (retention)",
        outcome="retained", predictors=("identification",), model="logit")
    add({"identification", "referrals"} <= cols, id="H4b", statement="Identification raises referrals",
        outcome="referrals", predictors=("identification",), model="ols")
    if arm_col is not None and arm_col in cols:
        ref = {} if control is None else {arm_col: control}
        for d in dims:
            add(True, id=f"H5_{d}", statement=f"More touch raises {d}", outcome=d, predictors=(arm_col,), model="ols",
                reference=ref)
        for t in tps:
            add(True, id=f"H6_{t}", statement=f"More touch raises {t} engagement", outcome=t, predictors=(arm_col,),
                model="ols", reference=ref)
    if "retained" in cols:
        for t in tps:
            add(True, id=f"H7_{t}", statement=f"{t.capitalize()} engagement raises retention", outcome="retained",
                predictors=(t,), model="logit")
    return H


# mediation ---------------------------------------------------------------------------
@dataclass(frozen=True)
class MediationResult:
    """Single-mediator model (Baron & Kenny paths, OLS; indirect effect a*b).

    ``a``: treatment -> mediator; ``b``: mediator -> outcome adjusting for treatment;
    ``c``: total effect; ``c_prime``: direct effect; ``indirect = a b = c - c_prime``
    (an identity for OLS). ``indirect_ci_*``: percentile bootstrap CI (seeded);
    ``indirect_se``: bootstrap SD. Path p-values use HC3 robust SEs.
    """

    treatment: str
    mediator: str
    outcome: str
    n: int
    a: float
    b: float
    c: float
    c_prime: float
    indirect: float
    indirect_se: float
    indirect_ci_low: float
    indirect_ci_high: float
    proportion_mediated: float
    a_p_value: float
    b_p_value: float
    c_p_value: float
    c_prime_p_value: float
    n_boot: int

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)])[MEDIATION_COLUMNS]


def _bootstrap_paths(Z: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """a and b for each bootstrap resample given as a row of ``counts`` (times each row is drawn).

    ``Z`` columns: ``[1, T, covariates..., M, Y]``. Each resample's cross-product matrix
    ``Z' W Z`` is one matrix product ``counts @ (Z_i Z_j)`` (sufficient statistics), then
    both normal-equation systems are solved in one batched call: no loop over resamples.
    """
    q = Z.shape[1]
    iu = np.triu_indices(q)
    prods = Z[:, iu[0]] * Z[:, iu[1]]  # n x q(q+1)/2
    flat = counts @ prods  # B x q(q+1)/2
    B = counts.shape[0]
    cp = np.empty((B, q, q))
    cp[:, iu[0], iu[1]] = flat
    cp[:, iu[1], iu[0]] = flat
    m, y = q - 2, q - 1
    xa = list(range(m))  # 1, T, covariates
    xb = list(range(m + 1))  # 1, T, covariates, M
    a = np.linalg.solve(cp[:, xa][:, :, xa], cp[:, xa, m][..., None])[:, 1, 0]
    b = np.linalg.solve(cp[:, xb][:, :, xb], cp[:, xb, y][..., None])[:, m, 0]
    return a, b


def mediation(
    data: pd.DataFrame,
    *,
    treatment: str,
    mediator: str,
    outcome: str,
    covariates: Sequence[str] = (),
    treatment_level: object | None = None,
    control: object | None = None,
    n_boot: int = 5000,
    alpha: float = 0.05,
    seed: int = 0,
    chunk: int = 250,
) -> MediationResult:
    """Mediation of ``treatment -> mediator -> outcome`` with a bootstrap CI for a*b.

    A numeric (or boolean) treatment is used as it is. A categorical treatment needs
    ``treatment_level`` (and ``control``, default ``no_touch``/first level): rows
    of other levels are dropped and T = 1 for ``treatment_level``. A binary outcome
    is analysed as a linear probability model (OLS), so paths are on the outcome's scale.
    """
    import statsmodels.api as sm

    _check_columns(data, [treatment, mediator, outcome, *covariates], "mediation")
    d = data[[treatment, mediator, outcome, *covariates]].dropna()
    label = treatment
    if _is_numeric(d[treatment]):
        t = d[treatment].astype(float)
    else:
        if treatment_level is None:
            raise ValueError(f"treatment {treatment!r} is categorical; give treatment_level (and control)")
        ref, levels = _reference(d[treatment], treatment, {treatment: control} if control is not None else {})
        if treatment_level not in levels:
            raise ValueError(f"treatment_level {treatment_level!r} is not a level of {treatment!r}: {levels}")
        d = d[d[treatment].isin([treatment_level, ref])]
        t = (d[treatment] == treatment_level).astype(float)
        label = f"{treatment}[{treatment_level}]"
    C, _ = _design(d, list(covariates), {})
    n = len(d)
    Z = np.column_stack([np.ones(n), t.to_numpy(), C.to_numpy(), d[mediator].to_numpy(float),
                         d[outcome].astype(float).to_numpy()])
    m_col, y_col = Z.shape[1] - 2, Z.shape[1] - 1
    XA = Z[:, :m_col]
    XB = Z[:, : m_col + 1]
    fa = sm.OLS(Z[:, m_col], XA).fit(cov_type="HC3")
    fb = sm.OLS(Z[:, y_col], XB).fit(cov_type="HC3")
    fc = sm.OLS(Z[:, y_col], XA).fit(cov_type="HC3")
    a, b, c, cp_ = fa.params[1], fb.params[m_col], fc.params[1], fb.params[1]
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    boots = []
    done = 0
    limiter = threadpool_limits(1)  # many small solves: threads only add contention
    while done < n_boot:
        k = min(chunk, n_boot - done)
        idx = rng.integers(0, n, size=(k, n))
        counts = np.bincount((idx + n * np.arange(k)[:, None]).ravel(), minlength=k * n).reshape(k, n)
        ab, bb = _bootstrap_paths(Z, counts.astype(float))
        boots.append(ab * bb)
        done += k
    limiter.restore_original_limits()
    ind = np.concatenate(boots)
    lo, hi = np.quantile(ind, [alpha / 2, 1 - alpha / 2])
    return MediationResult(
        treatment=label, mediator=mediator, outcome=outcome, n=n, a=float(a), b=float(b), c=float(c),
        c_prime=float(cp_), indirect=float(a * b), indirect_se=float(ind.std(ddof=1)), indirect_ci_low=float(lo),
        indirect_ci_high=float(hi), proportion_mediated=float(a * b / c) if c != 0 else np.nan,
        a_p_value=float(fa.pvalues[1]), b_p_value=float(fb.pvalues[m_col]), c_p_value=float(fc.pvalues[1]),
        c_prime_p_value=float(fb.pvalues[1]), n_boot=int(n_boot),
    )


def mediation_table(
    data: pd.DataFrame,
    *,
    specs: Iterable[Mapping[str, str]],
    covariates: Sequence[str] = (),
    n_boot: int = 5000,
    alpha: float = 0.05,
    seed: int = 0,
) -> pd.DataFrame:
    """Mediation for each ``{treatment, mediator, outcome}`` spec (columns :data:`MEDIATION_COLUMNS`).

    A categorical treatment is expanded to every non-reference level against the
    reference (the spec's ``control``; default ``no_touch`` when present, else the first
    level), e.g. high_touch vs no_touch and low_touch vs no_touch; a spec's
    ``treatment_level`` limits it to that level.
    """
    rows = []
    for k, spec in enumerate(specs):
        missing = {"treatment", "mediator", "outcome"} - set(spec)
        if missing:
            raise ValueError(f"mediation spec {dict(spec)} lacks {sorted(missing)}")
        tr = spec["treatment"]
        _check_columns(data, [tr], "mediation")
        if _is_numeric(data[tr]):
            levels = [None]
            ref = None
        else:
            ref, lv = _reference(data[tr], tr, {tr: spec["control"]} if spec.get("control") is not None else {})
            levels = [spec["treatment_level"]] if "treatment_level" in spec else [x for x in lv if x != ref]
        for lev in levels:
            rows.append(
                mediation(data, treatment=tr, mediator=spec["mediator"], outcome=spec["outcome"], covariates=covariates,
                          treatment_level=lev, control=ref, n_boot=n_boot, alpha=alpha, seed=seed + k).to_pandas()
            )
    return pd.concat(rows, ignore_index=True)


# moderation --------------------------------------------------------------------------
@dataclass
class ModerationResult:
    """Moderation by an interaction term. ``interaction``: one row per product term
    (``term, estimate, se, ci_low, ci_high, p_value``); ``simple_slopes``: the slope of the
    predictor at moderator values (mean - SD, mean, mean + SD, or each level):
    ``moderator_value, slope, se, ci_low, ci_high, p_value`` (HC3)."""

    interaction: pd.DataFrame
    simple_slopes: pd.DataFrame
    n: int


def moderation(
    data: pd.DataFrame,
    *,
    outcome: str,
    predictor: str,
    moderator: str,
    covariates: Sequence[str] = (),
    at: Sequence[float] | None = None,
    alpha: float = 0.05,
    cov_type: str = "HC3",
) -> ModerationResult:
    """OLS ``outcome ~ predictor * moderator + covariates`` with simple slopes.

    Example
    -------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> df = pd.DataFrame({"x": rng.normal(size=500), "w": rng.normal(size=500)})
    >>> df["y"] = df.x + 0.5 * df.x * df.w + rng.normal(size=500)
    >>> res = moderation(df, outcome="y", predictor="x", moderator="w")
    >>> round(float(res.interaction["estimate"].iloc[0]), 1)
    0.5
    """
    import statsmodels.api as sm

    _check_columns(data, [outcome, predictor, moderator, *covariates], "moderation")
    d = data[[outcome, predictor, moderator, *covariates]].dropna()
    if not _is_numeric(d[predictor]):
        raise TypeError(f"predictor {predictor!r} must be numeric for moderation; the moderator may be categorical")
    x = d[predictor].astype(float)
    W, wterms = _design(d, [moderator], {})
    C, _ = _design(d, list(covariates), {})
    inter = W.mul(x, axis=0).add_prefix(f"{predictor}:")
    X = sm.add_constant(pd.concat([x.rename(predictor), W, inter, C], axis=1), has_constant="add")
    res = sm.OLS(d[outcome].astype(float), X).fit(cov_type=cov_type)
    z = stats.norm.ppf(1 - alpha / 2)
    V = res.cov_params()
    irows = [{"term": t, "estimate": res.params[t], "se": res.bse[t], "ci_low": res.params[t] - z * res.bse[t],
              "ci_high": res.params[t] + z * res.bse[t], "p_value": res.pvalues[t]} for t in inter.columns]
    if _is_numeric(d[moderator]):
        w = d[moderator].astype(float)
        values = list(at) if at is not None else [w.mean() - w.std(), w.mean(), w.mean() + w.std()]
        vecs = [(v, {predictor: 1.0, f"{predictor}:{moderator}": v}) for v in values]
    else:
        ref, levels = _reference(d[moderator], moderator, {})
        vecs = [(lev, {predictor: 1.0} if lev == ref else {predictor: 1.0, f"{predictor}:{moderator}[{lev}]": 1.0})
                for lev in levels]
    srows = []
    for v, comb in vecs:
        g = pd.Series(0.0, index=res.params.index)
        for k, val in comb.items():
            g[k] = val
        slope = float(g @ res.params)
        se = float(np.sqrt(g @ V @ g))
        srows.append({"moderator_value": v, "slope": slope, "se": se, "ci_low": slope - z * se,
                      "ci_high": slope + z * se, "p_value": float(2 * stats.norm.sf(abs(slope / se)))})
    return ModerationResult(interaction=pd.DataFrame(irows), simple_slopes=pd.DataFrame(srows), n=len(d))
