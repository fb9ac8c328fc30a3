"""The engagement-dimensions analysis in one call: :func:`dimensions` -> :class:`DimensionsResult`.

Given a survey (one row per respondent, the item answers plus any outcome, group and arm
columns), :func:`dimensions` checks the scales, then runs reliability, the CFA with
validity, an exploratory factor analysis, measurement invariance across ``group_col``,
scale means, the hypotheses and the mediation models, and returns one frozen result.
Optional parts whose columns are absent are skipped with one line in ``result.skipped``
naming the parameter that turns them on.

Tables (``result.tables()``; the CSV stems; published columns first, in this order)
-----------------------------------------------------------------------------------
* ``reliability``: ``scale, n_items, n, alpha, alpha_ci_low, alpha_ci_high, omega``, then
  ``ordinal_alpha`` (scales whose items are all in ``ordinal_items``; NaN otherwise).
* ``item_statistics``: ``scale, item, mean, sd, item_total_r, alpha_if_deleted``.
* ``cfa_fit``: ``n, chi2, df, p_value, cfi, tli, rmsea, rmsea_ci_low, rmsea_ci_high, srmr``
  (a published interface: unchanged), then ``chi2_scaled, df_scaled, scaling_factor,
  cfi_robust, tli_robust, rmsea_robust, rmsea_robust_ci_low, rmsea_robust_ci_high,
  estimator, missing`` (the robust part is NaN for ``estimator="ml"``; for ``"wlsmv"`` it is
  the scaled-shifted test and lavaan's ``*.scaled`` indices, :mod:`.ordinal`; with
  ``missing="fiml"`` and ``"mlr"`` the robust CFI / TLI / RMSEA are Zhang & Savalei's
  FIML-corrected ones, as lavaan >= 0.6-13, while ``chi2_scaled`` / ``scaling_factor`` stay
  the Yuan-Bentler test, :mod:`.robust`).
* ``omega``: ``n, n_items, n_factors, omega_h, omega_h_asymptotic, omega_total, alpha`` (one
  row: the whole instrument as ``psych::omega``, one group factor per scale, polychoric
  correlations when every item is ordinal; header-only with fewer than three scales).
* ``thresholds``: ``item, threshold, estimate, se, n``, plus ``suppressed`` (``n``: the
  respondents on the smaller side of the threshold); header-only unless ``estimator="wlsmv"``.
* ``loadings``: ``scale, item, loading, std_loading, std_se, ci_low, ci_high, residual_var``.
* ``validity``: ``scale, composite_reliability, ave, sqrt_ave, max_factor_correlation,
  fornell_larcker_ok, max_htmt, htmt_ok``.
* ``invariance``: :data:`~engagement_kit.measurement.invariance.INVARIANCE_COLUMNS`, then
  :data:`~engagement_kit.measurement.invariance.INVARIANCE_ROBUST_COLUMNS` (the scaled / robust
  columns, ``chi2_diff_scaled, p_value_scaled`` and ``freed``), plus ``suppressed``; header-only
  without ``group_col``.
* ``modification_indices``: ``lhs, op, rhs, group, kind, mi, epc, sepc_all, p_value``, the 20
  largest of the CFA (:mod:`.modification`), then with ``group_col`` the 20 largest score tests
  of the scalar model's equality constraints (``kind = "equality constraint"``; the item to
  free for partial invariance, :func:`.invariance.constraint_indices`).
* ``missing_patterns``: ``pattern, n_missing_items, n, share`` of the scale items, rare
  patterns pooled (:mod:`.missing`), plus ``suppressed``.
* ``scale_means``: ``group, scale, n, mean, sd``, plus ``suppressed`` (a group of fewer than
  ``min_cell_size`` respondents keeps its labels only); one group ``all`` without ``group_col``.
* ``hypotheses``: :data:`~engagement_kit.hypotheses.HYPOTHESIS_COLUMNS`, plus ``suppressed``.
* ``mediation``: :data:`~engagement_kit.hypotheses.MEDIATION_COLUMNS`, plus ``suppressed``.
* ``efa``: ``kmo, bartlett_chi2, bartlett_p, n_factors`` (one row).
* ``efa_loadings``: ``item, kmo, factor_1 .. factor_k`` (oblimin-rotated ML loadings).

Figures: :mod:`engagement_kit.plots.measurement` draws them from the result
(``item_distributions``, ``correlation_heatmap``, ``loadings_plot``, ``hypothesis_forest``,
``mediation_diagram``) and ``save_figures(result, folder)`` writes ``item_distributions.png,
loadings.png, hypotheses.png, mediation.png`` for the parts that ran.

Example
-------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> f = rng.normal(size=(300, 2))
>>> survey = pd.DataFrame({f"{s}_{j}": np.clip(np.round(3 + f[:, k] + rng.normal(size=300)), 1, 5)
...                        for k, s in enumerate(["sat", "loy"]) for j in "abc"})
>>> result = dimensions(survey, scales={"sat": ["sat_a", "sat_b", "sat_c"], "loy": ["loy_a", "loy_b", "loy_c"]},
...                     likert_min=1, likert_max=5)
>>> result.tables()["reliability"]["scale"].tolist()
['sat', 'loy']
>>> print(*result.skipped, sep="\\n")  # doctest: +ELLIPSIS
omega hierarchical: skipped, it needs at least three scales (one group factor each; scales)
invariance and scale means by group: skipped, no group column (group_col); ...
hypotheses: skipped, no default hypothesis applies: ...
mediation: skipped, it needs an arm column (arm_col) and an outcome column (outcomes) ...
>>> print(result.conclusions().splitlines()[0])  # doctest: +ELLIPSIS
- **Reliability:** all 2 scale(s) reach Cronbach's alpha >= .70 (sat ..., loy ...).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from ..display import format_estimate, format_number, format_p
from ..hypotheses import (
    HYPOTHESIS_COLUMNS,
    MEDIATION_COLUMNS,
    Hypothesis,
    default_hypotheses,
    hypotheses_from_records,
    mediation_table,
    test_hypotheses,
)
from ..frameworks import value_label
from ..i18n import check_language, translate
from ..markdown import bullets, escape
from ..privacy import MIN_CELL_SIZE, check_min_cell_size
from ..progress import Steps
from ..results import Result
from ..schema import DEFAULT_SCALES, REVERSE_KEYED_ITEMS, TYPE_SCALES
from ..stats.multitest import check_method
from ..summary import Summary
from .factors import (
    FIT_COLUMNS,
    ROBUST_FIT_COLUMNS,
    cfa,
    check_estimation,
    efa,
    estimation_problems,
    htmt,
    validity,
)
from .invariance import (
    INVARIANCE_COLUMNS,
    INVARIANCE_ROBUST_COLUMNS,
    constraint_indices,
    measurement_invariance,
)
from .missing import MISSING_PATTERN_COLUMNS, missing_patterns, missing_summary
from .modification import MODINDEX_COLUMNS, modification_indices
from .ordinal import cfa_ordinal, ordinal_columns
from .reliability import omega_hierarchical, reliability
from .scales import Scales, answer_shares, prepare_items, scale_means, score_scales

__all__ = ["ESTIMATOR_CHOICES", "DimensionsResult", "default_scales", "dimensions", "dimensions_option_problems"]

#: The CFA and invariance estimators of :func:`dimensions` (None picks one from ``ordinal_items``).
ESTIMATOR_CHOICES = ("ml", "mlm", "mlr", "wlsmv")

_HYP_LABELS = ("id", "statement", "model", "outcome", "predictor", "term", "expected")
_CORRECTION_NAMES = {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni", "none": "no"}


@dataclasses.dataclass(frozen=True, eq=False)
class DimensionsResult(Result):
    """The engagement-dimensions analysis (tables and columns: see the module docstring).

    Besides the tables: ``item_shares`` (items x answer levels, the share of each answer as
    given; None without a Likert range) and ``item_correlations`` (item x item, reverse-keyed
    items rescored) for the figures; ``scales`` (scale -> items), ``group_col``, ``alpha``,
    ``correction``, ``min_cell_size`` and ``skipped``.
    """

    reliability: pd.DataFrame
    item_statistics: pd.DataFrame
    cfa_fit: pd.DataFrame
    loadings: pd.DataFrame
    validity: pd.DataFrame
    invariance: pd.DataFrame | None
    scale_means: pd.DataFrame
    hypotheses: pd.DataFrame | None
    mediation: pd.DataFrame | None
    efa: pd.DataFrame
    efa_loadings: pd.DataFrame
    thresholds: pd.DataFrame | None = None
    omega: pd.DataFrame | None = None
    item_shares: pd.DataFrame | None = None
    item_correlations: pd.DataFrame | None = None
    modification_indices: pd.DataFrame | None = None
    missing_patterns: pd.DataFrame | None = None
    estimator: str = "ml"
    missing: str = "listwise"
    scales: Mapping[str, list[str]] = dataclasses.field(default_factory=dict)
    group_col: str | None = None
    alpha: float = 0.05
    correction: str = "holm"
    min_cell_size: int = MIN_CELL_SIZE
    skipped: tuple[str, ...] = ()

    COLUMNS = {
        "reliability": ["scale", "n_items", "n", "alpha", "alpha_ci_low", "alpha_ci_high", "omega", "ordinal_alpha"],
        "item_statistics": ["scale", "item", "mean", "sd", "item_total_r", "alpha_if_deleted"],
        "cfa_fit": FIT_COLUMNS + ROBUST_FIT_COLUMNS,
        "loadings": ["scale", "item", "loading", "std_loading", "std_se", "ci_low", "ci_high", "residual_var"],
        "validity": ["scale", "composite_reliability", "ave", "sqrt_ave", "max_factor_correlation",
                     "fornell_larcker_ok", "max_htmt", "htmt_ok"],
        "invariance": INVARIANCE_COLUMNS + INVARIANCE_ROBUST_COLUMNS,
        "scale_means": ["group", "scale", "n", "mean", "sd"],
        "hypotheses": HYPOTHESIS_COLUMNS,
        "mediation": MEDIATION_COLUMNS,
        "efa": ["kmo", "bartlett_chi2", "bartlett_p", "n_factors"],
        "efa_loadings": ["item", "kmo"],
        "thresholds": ["item", "threshold", "estimate", "se", "n"],
        "omega": ["n", "n_items", "n_factors", "omega_h", "omega_h_asymptotic", "omega_total", "alpha"],
        "modification_indices": MODINDEX_COLUMNS,
        "missing_patterns": MISSING_PATTERN_COLUMNS,
    }
    CELLS = {
        "invariance": (("n",), ("model",)),
        "scale_means": (("n",), ("group", "scale")),
        "hypotheses": (("n",), _HYP_LABELS),
        "mediation": (("n",), ("treatment", "mediator", "outcome")),
        "thresholds": (("n",), ("item", "threshold")),
        "missing_patterns": (("n",), ("pattern",)),
    }

    def summary(self, *, language: str = "en") -> Summary:
        """Reliability, CFA fit, and one line per hypothesis (its verdict, estimate and CI
        after correction); non-invariance and discriminant-validity failures as caveats."""
        t = self.tables()
        rel = t["reliability"]
        lines = []
        if len(rel):
            ok = int((rel["alpha"] >= 0.70).sum())
            lines.append(translate("summary.dimensions.reliability", language, ok=ok, n=len(rel)))
        if len(t["cfa_fit"]):
            r = t["cfa_fit"].iloc[0]
            good = r["cfi"] >= 0.95 and r["tli"] >= 0.95 and r["rmsea"] <= 0.06 and r["srmr"] <= 0.08
            fair = r["cfi"] >= 0.90 and r["tli"] >= 0.90 and r["rmsea"] <= 0.08 and r["srmr"] <= 0.08
            fit = translate("summary.dimensions." + ("good" if good else "acceptable" if fair else "poor"), language)
            lines.append(translate("summary.dimensions.fit", language, fit=fit,
                                   cfi=format_number(r["cfi"], language=language),
                                   rmsea=format_number(r["rmsea"], language=language)))
        level = round(100 * (1 - self.alpha))
        for _, h in t["hypotheses"].iterrows():
            if h.get("suppressed") is True or pd.isna(h["estimate"]):
                continue
            est, interval = format_estimate(h["estimate"], h["ci_low"], h["ci_high"], column="estimate",
                                            language=language)
            lines.append(translate("summary.dimensions.hypothesis", language, id=h["id"], verdict=h["verdict"],
                                   term=h["term"], outcome=h["outcome"], estimate=est, interval=interval,
                                   level=level, p=format_p(h["p_adjusted"], language)))
        n = int(rel["n"].max()) if len(rel) and rel["n"].notna().any() else 0
        data = translate("summary.dimensions.data", language, n=format_number(n, language=language), k=len(rel))
        caveats = []
        inv = t["invariance"]
        if len(inv) and inv["holds"].notna().any():
            held = inv[inv["holds"].fillna(False).astype(bool)]
            if held.empty or "scalar" not in set(held["model"]):
                caveats.append(translate("summary.dimensions.caveat_invariance", language, group=self.group_col or "",
                                         level="none" if held.empty else held.iloc[-1]["model"]))
        val = t["validity"]
        if len(val):
            bad = val[~(val["fornell_larcker_ok"].fillna(True).astype(bool) & val["htmt_ok"].fillna(True).astype(bool))]
            if len(bad):
                caveats.append(translate("summary.dimensions.caveat_validity", language,
                                         scales=", ".join(map(str, bad["scale"]))))
        if small := self.small_cell_caveat(language):
            caveats.append(small)
        return Summary(question=translate("summary.dimensions.question", language), verdicts=tuple(lines),
                       data=data, caveats=tuple(caveats), language=language)

    def conclusions(self, language: str = "en") -> str:
        """Reliability against .70, CFA fit against Hu & Bentler's cut-offs, discriminant
        validity failures, the invariance level reached and the supported hypotheses after
        correction, in Markdown with every label escaped; then what did not run and the
        small-cell note, in ``language``."""
        lang = check_language(language)
        t = self.tables()
        lines = [_reliability_line(t["reliability"], lang), _fit_line(t["cfa_fit"], lang),
                 _validity_line(t["validity"], lang)]  # fmt: skip
        if len(t["missing_patterns"]):
            lines.append(_missing_line(t["missing_patterns"], self.missing))
        if len(t["modification_indices"]):
            lines.append(_modification_line(t["modification_indices"]))
        if len(t["invariance"]):
            lines.append(_invariance_line(t["invariance"], self.group_col, lang))
        if len(t["hypotheses"]):
            lines.append(_hypotheses_line(t["hypotheses"], self.alpha, self.correction, lang))
        if len(t["mediation"]):
            lines.append(_mediation_line(t["mediation"], lang))
        lines += [translate("measurement.not_run", lang, line=escape(s)) for s in self.skipped]
        text = bullets(lines)
        note = self.small_cell_note(lang)
        return text + (f"\n\n{note}" if note else "")


# conclusions, one line per part --------------------------------------------------------
def _num(x: float, digits: int = 2) -> str:
    """``x`` as in APA style: no leading zero (.82, -.05); ``n/a`` for NaN."""
    if pd.isna(x):
        return "n/a"
    s = f"{x:.{digits}f}"
    return s.replace("0.", ".", 1) if s.startswith(("0.", "-0.")) else s


def _scale(name: object, lang: str) -> str:
    return escape(value_label(name, lang))


def _reliability_line(rel: pd.DataFrame, lang: str = "en") -> str:
    low = rel[rel["alpha"] < 0.70]
    each = ", ".join(f"{_scale(s, lang)} {_num(a)}" for s, a in zip(rel["scale"], rel["alpha"]))
    if low.empty:
        return translate("measurement.reliable", lang, n=len(rel), alphas=each)
    return translate("measurement.unreliable", lang, low=len(low), n=len(rel), alphas=each,
                     scales=", ".join(_scale(s, lang) for s in low["scale"]))  # fmt: skip


def _fit_line(fit: pd.DataFrame, lang: str = "en") -> str:
    r = fit.iloc[0]
    if r.get("estimator") == "wlsmv":  # ordinal items: judge the robust (scaled) indices
        r = r.copy()
        r[["cfi", "tli", "rmsea"]] = r[["cfi_robust", "tli_robust", "rmsea_robust"]].to_numpy()
    good = {"cfi": r["cfi"] >= 0.95, "tli": r["tli"] >= 0.95, "rmsea": r["rmsea"] <= 0.06, "srmr": r["srmr"] <= 0.08}
    ok = {"cfi": r["cfi"] >= 0.90, "tli": r["tli"] >= 0.90, "rmsea": r["rmsea"] <= 0.08, "srmr": r["srmr"] <= 0.08}
    verdict = "good" if all(good.values()) else "acceptable" if all(ok.values()) else "poor"
    text = translate(f"measurement.fit_{verdict}", lang, cfi=_num(r["cfi"], 3), tli=_num(r["tli"], 3),
                     rmsea=_num(r["rmsea"], 3), srmr=_num(r["srmr"], 3), n=int(r["n"]))  # fmt: skip
    if r.get("estimator") == "wlsmv":
        text += " " + translate("measurement.fit_wlsmv", lang)
    if r.get("estimator") in ("mlm", "mlr") and pd.notna(r.get("chi2_scaled")):
        how = {"mlm": "Satorra-Bentler", "mlr": "Yuan-Bentler"}.get(str(r["estimator"]), str(r["estimator"]))
        text += (f" {how} scaled chi-square {r['chi2_scaled']:.1f} on {int(r['df'])} df (scaling factor "
                 f"{r['scaling_factor']:.3f}); robust CFI {_num(r['cfi_robust'], 3)}, robust RMSEA "
                 f"{_num(r['rmsea_robust'], 3)}; standard errors and loading CIs are robust.")
    if "missing" in fit.columns and r.get("missing") == "fiml":
        text += " Incomplete rows enter by full-information ML."
    return text


def _missing_line(pat: pd.DataFrame, missing: str) -> str:
    complete = pat.loc[pat["pattern"] == "(complete)", "n"]
    total = pd.to_numeric(pat["n"], errors="coerce").sum()
    share = float(complete.iloc[0]) / total if len(complete) and total else 0.0
    how = ("the CFA and invariance models use every row with an answer (FIML)" if missing == "fiml" else
           "the CFA and invariance models use complete rows only (listwise; missing='fiml' uses all rows)")
    return (f"**Missing answers:** {_num(share * 100, 1)} % of rows answered every item ({len(pat)} pattern row(s) in "
            f"missing_patterns.csv); {how}; Cronbach's alpha and omega use each scale's complete rows (their n).")


def _modification_line(mi: pd.DataFrame) -> str:
    r = mi.iloc[0]
    name = f"{escape(r['lhs'])} {escape(r['op'])} {escape(r['rhs'])}".strip()
    text = (f"**Largest modification index:** {name} ({escape(r['kind'])}, MI {r['mi']:.1f}, expected change "
            f"{r['epc']:.3f}); free a parameter only when it makes substantive sense.")
    eq = mi[mi["kind"] == "equality constraint"]
    if len(eq):
        e = eq.iloc[0]
        what = f"{escape(e['lhs'])} {escape(e['op'])} {escape(e['rhs'])}".strip()
        text += (f" The least invariant parameter is {what} in group {escape(e['group'])} (MI {e['mi']:.1f}); "
                 "if scalar invariance fails, free it with measurement_invariance(..., free=[...]).")
    return text


def _validity_line(val: pd.DataFrame, lang: str = "en") -> str:
    fails = []
    for _, r in val.iterrows():
        why = []
        if not bool(r["fornell_larcker_ok"]):
            why.append(f"Fornell-Larcker: sqrt(AVE) {_num(r['sqrt_ave'])} <= r {_num(r['max_factor_correlation'])}")
        if not bool(r["htmt_ok"]):
            why.append(f"HTMT {_num(r['max_htmt'])} >= .85")
        if why:
            fails.append(f"{_scale(r['scale'], lang)} ({'; '.join(why)})")
    if not fails:
        return translate("measurement.valid", lang)
    return translate("measurement.invalid", lang, scales=", ".join(fails))


def _invariance_line(inv: pd.DataFrame, group_col: str | None, lang: str = "en") -> str:
    if inv["holds"].isna().all():
        return translate("measurement.invariance_small_cells", lang)
    held = inv[inv["holds"].fillna(False).astype(bool)]
    where = (translate("measurement.across_groups_of", lang, group_col=escape(value_label(group_col, lang)))
             if group_col else translate("measurement.across_groups", lang))  # fmt: skip
    if held.empty:
        return translate("measurement.no_invariance", lang, where=where)
    model = str(held.iloc[-1]["model"])
    if model in ("configural", "metric", "scalar"):
        return translate("measurement.invariance", lang, where=where, model=translate(f"measurement.model_{model}", lang),
                         verdict=translate(f"measurement.verdict_{model}", lang))  # fmt: skip
    return translate("measurement.invariance", lang, where=where, model=escape(model),
                     verdict=escape(held.iloc[-1]["verdict"]))  # fmt: skip


def _hypotheses_line(hyp: pd.DataFrame, alpha: float, correction: str, lang: str = "en") -> str:
    how = translate("measurement.adjusted_p", lang, correction=_CORRECTION_NAMES.get(correction, correction),
                    alpha=f"{alpha:g}")  # fmt: skip

    def label(r: pd.Series) -> str:
        return translate("measurement.hypothesis", lang, id=escape(r["id"]), term=_scale(r["term"], lang),
                         outcome=_scale(r["outcome"], lang))  # fmt: skip

    sup = hyp[hyp["verdict"] == "supported"]
    opp = hyp[hyp["verdict"] == "opposite direction"]
    shown = ", ".join(label(r) for _, r in sup.head(6).iterrows())
    if len(sup) > 6:
        shown += translate("measurement.and_more", lang, n=len(sup) - 6)
    text = translate("measurement.hypotheses", lang, supported=len(sup), n=len(hyp), how=how)
    if shown:
        text += translate("measurement.which", lang, items=shown)
    if len(opp):
        text += translate("measurement.opposite", lang, items=", ".join(label(r) for _, r in opp.iterrows()))
    return text + translate("measurement.end", lang)


def _mediation_line(med: pd.DataFrame, lang: str = "en") -> str:
    sig = med[(med["indirect_ci_low"] > 0) | (med["indirect_ci_high"] < 0)]
    paths = ", ".join(f"{_scale(r['treatment'], lang)} -> {_scale(r['mediator'], lang)} -> {_scale(r['outcome'], lang)}"
                      for _, r in sig.head(4).iterrows())  # fmt: skip
    if len(sig) > 4:
        paths += translate("measurement.and_more", lang, n=len(sig) - 4)
    key = "measurement.mediation_paths" if paths else "measurement.mediation"
    return translate(key, lang, significant=len(sig), n=len(med), paths=paths)


# the entry point -----------------------------------------------------------------------
def default_scales(columns: Iterable[str]) -> dict[str, list[str]]:
    """The default questionnaire's dimension and type scales whose items are all among
    ``columns`` (what :func:`dimensions` fits when ``scales`` is None).

    >>> list(default_scales(["customer_id"]))
    Traceback (most recent call last):
    ...
    ValueError: scales was not given and the data holds none of the default questionnaire's scales ...
    """
    columns = set(columns)
    found = {s: list(its) for s, its in {**DEFAULT_SCALES, **TYPE_SCALES}.items() if set(its) <= columns}
    if not found:
        raise ValueError(
            "scales was not given and the data holds none of the default questionnaire's scales "
            f"({', '.join(DEFAULT_SCALES)}); pass scales={{scale: [item column, ...]}}"
        )
    return found


def _is_item_list(value: object) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)


def dimensions_option_problems(
    *, estimator: object = None, missing: object = "listwise", ordinal_items: object = None,
    items: Sequence[str] | None = None,
) -> list[tuple[str, str]]:
    """Why :func:`dimensions` would refuse ``estimator``, ``missing`` and ``ordinal_items``, as
    ``(parameter, problem and fix)`` pairs (empty: it accepts them). ``items``: the scale
    items when known (None: the checks that need them are left out). :func:`dimensions`
    raises these before any fit; the report batch shows them before any kernel starts.

    >>> dimensions_option_problems(estimator="wlsmv", missing="fiml")  # doctest: +ELLIPSIS
    [('missing', "estimator='wlsmv' reads complete rows only (missing='listwise'); ...")]
    >>> dimensions_option_problems(ordinal_items=["q9"], items=["q1", "q2"])  # doctest: +ELLIPSIS
    [('ordinal_items', "ordinal_items ['q9'] are not items of any scale; ...")]
    """
    problems: list[tuple[str, str]] = []
    if estimator is not None and (not isinstance(estimator, str) or estimator.lower() not in ESTIMATOR_CHOICES):
        problems.append(("estimator", (f"estimator must be one of {', '.join(ESTIMATOR_CHOICES)} (or None: wlsmv "
                                       f"when every item is ordinal, else ml), not {estimator!r}")))
        estimator = "ml"  # judge missing on its own
    declared: list[str] | None = None
    if not (ordinal_items is None or isinstance(ordinal_items, (bool, str)) or _is_item_list(ordinal_items)):
        problems.append(("ordinal_items", (f"ordinal_items must be True (all items), None or a list of item "
                                           f"columns, not {ordinal_items!r}")))
    elif items is not None:
        try:
            declared = ordinal_columns(items, ordinal_items)
        except ValueError as exc:
            problems.append(("ordinal_items", str(exc)))
    every_item = ordinal_items is True or ordinal_items == "all" or (
        declared is not None and bool(declared) and len(declared) == len(items or ()))
    chosen = (estimator or ("wlsmv" if every_item else "ml")).lower()
    if chosen != "wlsmv":
        problems += estimation_problems(chosen, missing)
    elif missing != "listwise":
        problems.append(("missing", ("estimator='wlsmv' reads complete rows only (missing='listwise'); for skipped "
                                     "answers use estimator='mlr' with missing='fiml'")))
    if chosen == "wlsmv" and ordinal_items is not None and declared is not None and items is not None:
        continuous = [i for i in items if i not in declared]
        if continuous:
            problems.append(("estimator", (f"estimator='wlsmv' needs every CFA item ordinal; {continuous} are not in "
                                           "ordinal_items (add them, or set ordinal_items=True, or use estimator='ml')")))
    return problems


def _present(names: Iterable[str] | None, data: pd.DataFrame, param: str, skipped: list[str]) -> list[str]:
    names = [] if names is None else ([names] if isinstance(names, str) else list(names))
    absent = [c for c in names if c not in data.columns]
    if absent:
        skipped.append(f"{param}: {absent} not in the data, left out ({param})")
    return [c for c in names if c in data.columns]


def _invariance(data: pd.DataFrame, group_col: str | None, skipped: list[str], min_cell_size: int,
                **spec: object) -> pd.DataFrame | None:
    if group_col is None or group_col not in data.columns:
        why = "no group column (group_col)" if group_col is None else f"group column {group_col!r} (group_col) not in the data"
        skipped.append(f"invariance and scale means by group: skipped, {why}; scale_means describes all respondents")
        return None
    sizes = data[group_col].value_counts()
    big = list(sizes.index[sizes >= min_cell_size])
    if len(big) < 2:
        skipped.append(f"invariance: skipped, {group_col!r} (group_col) has fewer than two groups of at least "
                       f"{min_cell_size} respondents (min_cell_size)")
        return None
    if len(big) < len(sizes):
        skipped.append(f"invariance: {len(sizes) - len(big)} group(s) of {group_col!r} with fewer than "
                       f"{min_cell_size} respondents left out (min_cell_size)")
    return measurement_invariance(data[data[group_col].isin(big)], group_col=group_col, **spec)


def _hypotheses(scores: pd.DataFrame, hypotheses: Iterable[Hypothesis | Mapping] | None, *, scales: Scales,
                outcomes: list[str], arm: str | None, control: object, covariates: list[str], alpha: float,
                correction: str, skipped: list[str]) -> pd.DataFrame | None:
    if hypotheses is None:
        specs = default_hypotheses(scores.columns, dimensions=[s for s in scales if s not in TYPE_SCALES],
                                   types=[s for s in scales if s in TYPE_SCALES], arm_col=arm, control=control,
                                   covariates=covariates)
        # a default claim runs when its outcome is a chosen outcome or a scale (the touch effects);
        # the Cox claim names its own duration and event columns
        specs = [h for h in specs if h.outcome in outcomes or h.outcome in scales or h.model == "cox"]
        if not specs:
            skipped.append("hypotheses: skipped, no default hypothesis applies: none of the outcome columns "
                           "(outcomes) or the arm column (arm_col) is in the data; set them, or pass hypotheses")
            return None
    else:
        specs = hypotheses_from_records(hypotheses)
        if not specs:
            skipped.append("hypotheses: skipped, the list is empty (hypotheses)")
            return None
    return test_hypotheses(scores, hypotheses=specs, alpha=alpha, correction=correction)


def _mediation(scores: pd.DataFrame, mediation: Iterable[Mapping] | None, *, scales: Scales, outcomes: list[str],
               arm: str | None, control: object, covariates: list[str], n_boot: int, alpha: float, seed: int,
               skipped: list[str]) -> pd.DataFrame | None:
    if mediation is None:
        if arm is None or not outcomes:
            skipped.append("mediation: skipped, it needs an arm column (arm_col) and an outcome column (outcomes) "
                           "in the data; set them, or pass mediation specs")
            return None
        extra = {} if control is None else {"control": control}
        mediation = [{"treatment": arm, "mediator": s, "outcome": outcomes[0], **extra}
                     for s in scales if s not in TYPE_SCALES]
    specs = list(mediation)
    if not specs:
        skipped.append("mediation: skipped, no specs (mediation)")
        return None
    return mediation_table(scores, specs=specs, covariates=covariates, n_boot=n_boot, alpha=alpha, seed=seed)


def _cfa_part(data: pd.DataFrame, prepared: pd.DataFrame, spec: dict, *, ordinal: list[str], estimator: str,
              missing: str, alpha: float) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame | None, object]:
    """(fit, loadings, validity, thresholds, ML estimate) of the CFA by ML / MLM / MLR (listwise or
    FIML) or, for ordinal items, by WLSMV (no ML estimate then: modification indices are ML's)."""
    scales = spec["scales"]
    if estimator == "wlsmv":  # dimensions_option_problems checked missing and ordinal_items
        fit = cfa_ordinal(prepared, scales=scales, estimator="wlsmv", alpha=alpha)
        val = validity(fit.loadings, factor_correlations=fit.factor_correlations,
                       htmt_table=htmt(prepared.dropna(), scales=scales))
        return fit.fit, fit.loadings, val, fit.thresholds, None
    check_estimation(estimator, missing)
    fit = cfa(data, **spec, alpha=alpha, estimator=estimator, missing=missing)
    return fit.fit, fit.loadings, fit.validity, None, fit.estimate


def _omega(prepared: pd.DataFrame, scales: Scales, ordinal: bool, skipped: list[str]) -> pd.DataFrame | None:
    if len(scales) < 3:
        skipped.append("omega hierarchical: skipped, it needs at least three scales (one group factor each; scales)")
        return None
    if prepared.shape[1] < 3 * len(scales):
        skipped.append(f"omega hierarchical: skipped, {len(scales)} group factors need at least {3 * len(scales)} "
                       f"items; the scales have {prepared.shape[1]} (scales)")
        return None
    complete = prepared.dropna()
    om = omega_hierarchical(complete, n_factors=len(scales), ordinal=ordinal)
    return pd.DataFrame([{"n": len(complete), "n_items": om.n_items, "n_factors": om.n_factors, "omega_h": om.omega_h,
                          "omega_h_asymptotic": om.omega_h_asymptotic, "omega_total": om.omega_total,
                          "alpha": om.alpha}])


def dimensions(
    data: pd.DataFrame,
    *,
    scales: Mapping[str, Sequence[str]] | None = None,
    reverse_items: Iterable[str] | None = None,
    likert_min: float | None = 1,
    likert_max: float | None = 7,
    outcomes: Sequence[str] | None = None,
    group_col: str | None = None,
    arm_col: str | None = None,
    control: object | None = None,
    covariates: Sequence[str] | None = None,
    hypotheses: Iterable[Hypothesis | Mapping] | None = None,
    mediation: Iterable[Mapping[str, str]] | None = None,
    n_boot: int = 5000,
    progress: bool | None = None,
    alpha: float = 0.05,
    correction: str = "holm",
    seed: int = 0,
    min_cell_size: int = MIN_CELL_SIZE,
    ordinal_items: Iterable[str] | str | bool | None = None,
    estimator: str | None = None,
    missing: str = "listwise",
) -> DimensionsResult:
    """Are the engagement dimensions measured well, and do they do what the articles claim?

    ``data``: one row per respondent (e.g. ``load_analysis_table(path, base="survey")``).
    ``scales``: scale -> item columns (None: the default questionnaire's dimension and type
    scales whose items are all present); ``reverse_items``: reverse-keyed items (None: the
    default questionnaire's, where they belong to a scale); ``likert_min``/``likert_max``:
    the answer range (None for unbounded items). ``outcomes``: outcome columns related to the
    scale scores (absent ones left out). ``group_col``: the grouping for measurement
    invariance and scale means (groups below ``min_cell_size`` are left out of the
    invariance models). ``arm_col`` and ``control``: the touch-model arm and its reference
    level, the predictor of the default touch hypotheses and the treatment of the default
    mediation models (arm -> each dimension -> the first outcome). ``covariates``: adjusted
    for in hypotheses and mediation (absent ones left out). ``progress``: a bar over the steps
    (None: only in an interactive Jupyter kernel; :mod:`engagement_kit.progress`). ``hypotheses``: Hypothesis specs
    (None: :func:`~engagement_kit.hypotheses.default_hypotheses` for the columns present);
    ``mediation``: ``{treatment, mediator, outcome[, control, treatment_level]}`` specs.
    ``correction``: ``holm``, ``fdr_bh``, ``bonferroni`` or ``none`` across the hypothesis
    family. ``seed`` drives the parallel analysis and the bootstrap. ``ordinal_items``: items
    answered on an ordered scale (``True``: all items): their scales get ordinal alpha, and
    the CFA is fitted by ``estimator``, which defaults to ``"wlsmv"`` when every item is
    declared ordinal (DWLS on polychoric correlations) and to ``"ml"`` otherwise;
    ``estimator="wlsmv"`` without ``ordinal_items`` reads every item as ordinal.
    ``estimator`` ``mlm`` (Satorra-Bentler) or ``mlr`` (Yuan-Bentler) scales the CFA and invariance
    tests and makes their standard errors robust; ``missing``: ``listwise`` or ``fiml``
    (full-information ML) for the CFA and invariance models (ML-family estimators).
    """
    check_method(correction)
    scales = default_scales(data.columns) if scales is None else {s: list(its) for s, its in scales.items()}
    items = [i for its in scales.values() for i in its]
    problems = dimensions_option_problems(estimator=estimator, missing=missing, ordinal_items=ordinal_items,
                                          items=items)
    if problems:
        raise ValueError("; ".join(problem for _, problem in problems))
    min_cell_size = check_min_cell_size(min_cell_size)
    skipped: list[str] = []
    reverse = [i for i in REVERSE_KEYED_ITEMS if i in items] if reverse_items is None else list(reverse_items)
    spec = {"scales": scales, "reverse_items": reverse, "likert_min": likert_min, "likert_max": likert_max}
    steps = Steps(["reliability, CFA, EFA", "invariance", "hypotheses", "mediation bootstrap"], progress=progress,
                  desc="dimensions")
    steps.next("reliability, CFA, EFA")
    prepared = prepare_items(data, **spec)  # checks the scales against the data first
    ordinal = ordinal_columns(items, ordinal_items)
    chosen = (estimator or ("wlsmv" if ordinal and len(ordinal) == len(items) else "ml")).lower()
    if estimator is None and ordinal and chosen == "ml":
        skipped.append("CFA by WLSMV: skipped, only some items are ordinal (ordinal_items); the CFA is ML. "
                       "Declare every item ordinal to fit it by WLSMV")
    if chosen == "wlsmv" and ordinal_items is None:
        ordinal = items  # the WLSMV estimator reads every item as ordinal
    rel, item_stats = reliability(data, **spec, ordinal_items=ordinal)
    fit_table, loadings, validity_table, thresholds, estimate = _cfa_part(
        data, prepared, spec, ordinal=ordinal, estimator=chosen, missing=missing, alpha=alpha)
    omega = _omega(prepared[items], scales, ordinal=len(ordinal) == len(items), skipped=skipped)
    mod = (modification_indices(estimate, top=20) if estimate is not None
           else pd.DataFrame(columns=MODINDEX_COLUMNS))
    patterns = missing_patterns(data, items=items, min_cell_size=min_cell_size)
    if missing == "listwise" and missing_summary(data, items=items)["complete_rows"] < len(data):
        skipped.append("full-information ML: not used, incomplete rows are left out of the CFA and invariance "
                       "models (missing='fiml' uses them)")
    ef = efa(data, items=items, reverse_items=reverse, likert_min=likert_min, likert_max=likert_max, seed=seed)
    efa_loadings = pd.concat([ef.kmo_items, ef.loadings], axis=1).rename_axis("item").reset_index()
    shares = None
    if likert_min is not None and likert_max is not None:
        shares = answer_shares(data, items=items, likert_min=likert_min, likert_max=likert_max)
    else:
        skipped.append("item distributions: skipped, the items have no Likert range (likert_min, likert_max)")
    steps.next("invariance")
    ml_family = chosen != "wlsmv"
    inv = _invariance(data, group_col, skipped, min_cell_size, estimator=chosen if ml_family else "ml",
                      missing=missing if ml_family else "listwise", **spec)
    if inv is not None:
        big = data[group_col].map(data[group_col].value_counts()) >= min_cell_size
        mod = pd.concat([mod, constraint_indices(data[big], group_col=group_col, missing=missing, **spec)],
                        ignore_index=True)
    group = group_col if group_col is not None and group_col in data.columns else None
    outs = _present(outcomes, data, "outcomes", skipped)
    covs = _present(covariates, data, "covariates", skipped)
    arm = arm_col if arm_col is not None and arm_col in data.columns else None
    if arm_col is not None and arm is None:
        skipped.append(f"arm_col: {arm_col!r} not in the data; the touch hypotheses and default mediation need it")
    scores = score_scales(data, **spec, keep=[c for c in data.columns if c not in items])
    means = scale_means(scores, scales=list(scales), group_col=group)
    context = {"scales": scales, "outcomes": outs, "arm": arm, "control": control, "covariates": covs,
               "alpha": alpha, "skipped": skipped}
    steps.next("hypotheses")
    hyp = _hypotheses(scores, hypotheses, correction=correction, **context)
    steps.next("mediation bootstrap")
    med = _mediation(scores, mediation, n_boot=n_boot, seed=seed, **context)
    steps.close()
    return DimensionsResult(
        reliability=rel, item_statistics=item_stats, cfa_fit=fit_table, loadings=loadings, validity=validity_table,
        invariance=inv, scale_means=means, hypotheses=hyp, mediation=med, efa=ef.to_pandas(),
        efa_loadings=efa_loadings, thresholds=thresholds, omega=omega, item_shares=shares,
        item_correlations=prepared.corr(), modification_indices=mod, missing_patterns=patterns, estimator=chosen,
        missing=missing, scales=scales,
        group_col=group, alpha=alpha, correction=correction, min_cell_size=min_cell_size, skipped=tuple(skipped),
    )

