"""Who should get which touch model: :func:`targeting_policy` -> :class:`TargetingResult`.

The question is not "does high-touch work on average" but "which customers are worth
high-touch, which low-touch, which none", with the cost to serve in the objective.

Method (cross-fitted T-learner, honest AIPW evaluation)
-------------------------------------------------------
The customers are split into ``folds`` folds, stratified by arm. For each fold *k* one
outcome model per arm, ``mu_a(x)``, of the **net value** ``value_metric - cost`` is fitted on
the other folds (scikit-learn ``HistGradientBoostingRegressor``, or linear regression with
``learner="linear"``). For every customer *i* of fold *k* these out-of-fold models give

- the estimated conditional effect of arm *a* against the control,
  ``cate_a(x_i) = mu_a(x_i) - mu_control(x_i)`` (net of the cost difference),
- the **policy**: the arm with the highest ``mu_a(x_i)`` (optionally under a ``budget``), and
- the doubly robust (AIPW) score of every arm (Robins, Rotnitzky & Zhao 1994; Athey & Wager
  2021, "Policy learning with observational data")::

      Gamma_ia = mu_a(x_i) + 1[A_i = a] (V_i - mu_a(x_i)) / e_a(x_i)

  with ``e_a`` the known propensity (``propensity_cols``) or, for randomised data, the arm's
  share in the customer's fold.

The value of a policy ``d`` is ``mean_i Gamma_{i, d(x_i)}``; because the policy of fold *k*
and the models in its scores were fitted without fold *k*, this is an honest estimate of the
average value of the fold policies, with the standard error
``sqrt(sum_k n_k var_k(Gamma) / n^2)``. Differences between policies use the per-customer
difference of scores (paired), so their intervals are narrow.

With an intercept-only model the value of a blanket policy "everyone gets *a*" is exactly
the fold-weighted arm mean; with any model it is that plus the chance-imbalance adjustment
``sum_k (n_k / n) (mean_k mu_a - mean_{k, A = a} mu_a)`` (the "known small-sample
adjustment"; the tests check both identities).

Tables (the CSV stems; interface columns first, in this order)
--------------------------------------------------------------
- ``policy_value``: ``policy, value, ci_low, ci_high, diff_vs_best_blanket, diff_ci_low,
  diff_ci_high, p_value`` + ``share_<arm>`` per arm + ``kind`` (learned, blanket,
  segment_rule, oracle), ``n``. Value per customer of the learned policy, of each blanket
  policy, of the best arm per segment (``segment_col``, learned on the training folds) and of
  the oracle (``oracle_cols``: each customer's true expected ``value_metric`` per arm, as a
  simulator knows it). ``p_value``: two-sided, difference to the best blanket policy (the
  blanket policy with the highest estimated value; choosing it on the same data makes the
  difference conservative).
- ``uplift_curve``: ``arm, control, fraction, n_targeted, gain, ci_low, ci_high, random_gain``:
  customers ranked by their estimated net effect of the arm; ``gain`` is the value per
  customer gained by giving the arm to the top ``fraction`` and the control to the rest
  (a Qini-type curve on the AIPW scores); ``random_gain`` the same share chosen at random.
- ``cate_by_feature``: ``feature, bin, arm, control, n, cate_model, estimate, ci_low,
  ci_high`` + ``share_<arm>``: per feature bin (quantile bins of a numeric feature, levels
  of a categorical one), the mean model effect, the honest AIPW effect with its interval, and
  the share of the bin the policy assigns to each arm (a partial-dependence style summary).
- ``policy_summary``: ``arm, n_assigned, share_assigned, mean_cate_assigned,
  cate_correlation``: who the policy assigns where; the correlation of estimated and true
  effects when ``oracle_cols`` is given.
- ``policy_tree``: ``leaf, rule, arm, n, share_of_customers, agreement``: a shallow decision
  tree fitted to the learned assignment, one row per leaf, a rule a manager can read
  (``agreement``: the share of the leaf's customers whose learned arm the leaf's arm matches;
  the overall rate is ``result.tree_agreement``).

Small cells: rows describing fewer than ``min_cell_size`` customers (``n``, ``n_targeted``,
``n_assigned``) keep their labels, lose their numbers and are marked ``suppressed``. No table
holds a customer id.

Example
-------
>>> from engagement_kit.simulate import simulate_targeting
>>> sim = simulate_targeting(3_000, seed=1)
>>> r = targeting_policy(sim.customers, arm_col="touch_model", control="no_touch", value_metric="revenue",
...                      costs=sim.truth["costs"], features=["segment", "prior_revenue", "prior_activity"],
...                      randomised=True, learner="linear", folds=2, seed=1)
>>> list(r.tables()["policy_value"]["policy"])
['learned', 'all no_touch', 'all high_touch', 'all low_touch']
>>> r.conclusions().splitlines()[0][:30]
'- Learned policy: value per cu'
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from .display import format_estimate, format_number
from .engines import MAX_ROWS_PULLED, as_table, is_in_memory, pull_rows
from .frameworks import value_label
from .i18n import check_language, translate
from .markdown import bullets, escape
from .privacy import MIN_CELL_SIZE, check_min_cell_size
from .progress import Steps
from .results import Result
from .summary import Summary

__all__ = ["TargetingResult", "aipw_scores", "assign", "policy_value", "targeting_policy"]

#: ``budget`` key of a cap on the mean cost to serve per customer.
COST_CAP = "cost_per_customer"
_MAX_LEVELS = 30  # categorical levels kept per feature (the rest pooled as "other")
_TREE_ROWS = 100_000  # customers the policy tree is fitted on (a random sample; agreement uses all)


# --------------------------------------------------------------------------------------
# pure building blocks
# --------------------------------------------------------------------------------------
def aipw_scores(value: np.ndarray, arm: np.ndarray, mu: np.ndarray, propensity: np.ndarray) -> np.ndarray:
    """Doubly robust (AIPW) scores, one column per arm:
    ``Gamma[i, a] = mu[i, a] + 1[arm_i = a] (value_i - mu[i, a]) / propensity[i, a]``.

    >>> aipw_scores(np.array([3.0, 1.0]), np.array([0, 1]), np.array([[2.0, 1.5], [1.0, 2.0]]),
    ...             np.full((2, 2), 0.5)).tolist()
    [[4.0, 1.5], [1.0, 0.0]]
    """
    value, arm = np.asarray(value, float), np.asarray(arm)
    mu, propensity = np.asarray(mu, float), np.asarray(propensity, float)
    got = arm[:, None] == np.arange(mu.shape[1])[None, :]
    return mu + got * (value[:, None] - mu) / propensity


def policy_value(scores: np.ndarray, fold: np.ndarray) -> tuple[float, float]:
    """Estimate and standard error of the mean of per-customer ``scores`` computed
    fold by fold: ``se^2 = sum_k n_k var_k / n^2`` (each fold's policy is fixed given the
    other folds, so the folds are independent given the training data)."""
    scores, fold = np.asarray(scores, float), np.asarray(fold)
    n = len(scores)
    counts = np.bincount(fold)
    sums = np.bincount(fold, scores)
    sq = np.bincount(fold, scores**2)
    ok = counts > 1
    var = np.zeros_like(sums)
    var[ok] = (sq[ok] - sums[ok] ** 2 / counts[ok]) / (counts[ok] - 1)
    return float(scores.mean()), float(np.sqrt(max((counts * var).sum(), 0.0)) / n)


def assign(expected: np.ndarray, *, arm_costs: np.ndarray | None = None, budget: dict | None = None,
           arms: list | None = None) -> np.ndarray:
    """For each row of ``expected`` (customers x arms: expected net value), the index of the
    arm with the highest value, under an optional ``budget``: ``{arm: max share}`` caps the
    share of customers an arm may get (those with the largest loss from another arm keep it),
    ``{"cost_per_customer": c}`` caps the mean cost (``arm_costs``) by maximising
    ``value - lambda cost`` with the smallest ``lambda >= 0`` that meets the cap.

    >>> assign(np.array([[1.0, 3.0], [0.0, 2.5], [0.0, 1.0]]), budget={"b": 1 / 3}, arms=["a", "b"]).tolist()
    [0, 1, 0]
    """
    expected = np.array(expected, float)
    n, _m = expected.shape
    budget = dict(budget or {})
    cap = budget.pop(COST_CAP, None)
    if cap is not None:
        if arm_costs is None:
            raise ValueError("a cost cap needs the arms' costs")
        cost = np.asarray(arm_costs, float)
        if cost.min() > cap:
            raise ValueError(f"budget {COST_CAP}={cap} is below the cheapest arm's cost {cost.min():g}")

        def mean_cost(lam: float) -> float:
            return float(cost[np.argmax(expected - lam * cost, axis=1)].mean())

        if mean_cost(0.0) > cap:
            lo, hi = 0.0, 1.0
            while mean_cost(hi) > cap and hi < 1e12:
                hi *= 4
            for _ in range(60):
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if mean_cost(mid) > cap else (lo, mid)
            expected = expected - hi * cost
    for label, share in budget.items():
        if arms is None or label not in arms:
            raise ValueError(f"budget key {label!r} is neither an arm ({arms}) nor {COST_CAP!r}")
        if not 0 <= share <= 1:
            raise ValueError(f"budget share for {label!r} must be in [0, 1]; got {share!r}")
        j = list(arms).index(label)
        best = np.argmax(expected, axis=1)
        mine = np.flatnonzero(best == j)
        keep = int(np.floor(share * n + 1e-9))
        if len(mine) > keep:
            others = np.delete(expected[mine], j, axis=1).max(axis=1)
            loss = expected[mine, j] - others
            drop = mine[np.argsort(-loss, kind="stable")[keep:]]
            expected[drop, j] = -np.inf
    return np.argmax(expected, axis=1)


# --------------------------------------------------------------------------------------
# features and models
# --------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Design:
    """How features become model inputs (fitted on the analysed data, applied to new data)."""

    numeric: tuple[str, ...]
    categorical: dict  # feature -> tuple of kept levels
    medians: dict

    @classmethod
    def fit(cls, data: pd.DataFrame, features: list[str]) -> _Design:
        numeric, categorical, medians = [], {}, {}
        for f in features:
            col = data[f]
            if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
                levels = col.astype(str).value_counts().index[:_MAX_LEVELS]
                categorical[f] = tuple(sorted(levels))
            else:
                numeric.append(f)
                med = col.median()
                medians[f] = float(med) if pd.notna(med) else 0.0
        return cls(tuple(numeric), categorical, medians)

    def codes(self, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Numeric columns as they are (NaN kept) and categorical ones as codes (unknown
        levels -> the "other" code); plus the boolean categorical mask (for gradient boosting)."""
        cols = [data[f].to_numpy(float) for f in self.numeric]
        for f, levels in self.categorical.items():
            cat = pd.Categorical(data[f].astype(str), categories=list(levels))
            codes = cat.codes.astype(float)
            codes[codes < 0] = len(levels)
            cols.append(codes)
        mask = np.array([False] * len(self.numeric) + [True] * len(self.categorical))
        return np.column_stack(cols) if cols else np.zeros((len(data), 0)), mask

    def onehot(self, data: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
        """Numeric columns (missing -> median) and one indicator per kept level (the first
        dropped), with readable names."""
        cols, names = [], []
        for f in self.numeric:
            cols.append(data[f].to_numpy(float))
            cols[-1] = np.where(np.isnan(cols[-1]), self.medians[f], cols[-1])
            names.append(f)
        for f, levels in self.categorical.items():
            s = data[f].astype(str).to_numpy()
            for lv in levels[1:]:
                cols.append((s == lv).astype(float))
                names.append(f"{f} = {lv}")
        return (np.column_stack(cols) if cols else np.zeros((len(data), 0))), names


def _model(learner: Any, mask: np.ndarray, seed: int):
    from sklearn.base import clone

    if learner == "hgb":
        from sklearn.ensemble import HistGradientBoostingRegressor

        # strongly regularised: effects are small against the noise of revenue (shallow trees, slow learning)
        return HistGradientBoostingRegressor(max_iter=100, learning_rate=0.06, max_depth=3, min_samples_leaf=500,
                                             l2_regularization=1.0, early_stopping=False,
                                             categorical_features=mask if mask.any() else None, random_state=seed)
    if learner == "linear":
        from sklearn.linear_model import LinearRegression

        return LinearRegression()
    if hasattr(learner, "fit") and hasattr(learner, "predict"):
        return clone(learner)
    raise ValueError(f"learner must be 'hgb', 'linear' or a scikit-learn regressor; got {learner!r}")


def _inputs(design: _Design, data: pd.DataFrame, learner: Any) -> tuple[np.ndarray, np.ndarray]:
    if learner == "hgb":
        return design.codes(data)
    x, _ = design.onehot(data)
    return x, np.zeros(x.shape[1], bool)


# --------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, eq=False)
class TargetingResult(Result):
    """The tables of one targeting analysis (see the module doc), the fitted fold models
    (for :meth:`policy` on new customers) and the run's settings."""

    policy_value: pd.DataFrame
    uplift_curve: pd.DataFrame
    cate_by_feature: pd.DataFrame
    policy_summary: pd.DataFrame
    policy_tree: pd.DataFrame | None = None
    arm_col: str = "arm"
    control: Any = None
    arms: tuple = ()
    value_metric: str = ""
    features: tuple = ()
    learner: str = "hgb"
    folds: int = 5
    budget: dict | None = None
    alpha: float = 0.05
    tree_agreement: float = float("nan")
    tree_text: str = ""
    cate_correlation: dict = dataclasses.field(default_factory=dict)
    fold_weights: tuple = ()
    models: tuple = dataclasses.field(default=(), repr=False)
    design: Any = dataclasses.field(default=None, repr=False)
    arm_costs: tuple = ()
    min_cell_size: int = MIN_CELL_SIZE
    skipped: tuple[str, ...] = ()

    COLUMNS = {
        "policy_value": ["policy", "value", "ci_low", "ci_high", "diff_vs_best_blanket", "diff_ci_low",
                         "diff_ci_high", "p_value"],
        "uplift_curve": ["arm", "control", "fraction", "n_targeted", "gain", "ci_low", "ci_high", "random_gain"],
        "cate_by_feature": ["feature", "bin", "arm", "control", "n", "cate_model", "estimate", "ci_low", "ci_high"],
        "policy_summary": ["arm", "n_assigned", "share_assigned", "mean_cate_assigned", "cate_correlation"],
        "policy_tree": ["leaf", "rule", "arm", "n", "share_of_customers", "agreement"],
    }
    CELLS = {
        "policy_value": (("n",), ("policy", "kind")),
        "uplift_curve": (("n_targeted",), ("arm", "control", "fraction")),
        "cate_by_feature": (("n",), ("feature", "bin", "arm", "control")),
        "policy_summary": (("n_assigned",), ("arm",)),
        "policy_tree": (("n",), ("leaf", "rule", "arm")),
    }

    def fold_expected(self, data: pd.DataFrame) -> np.ndarray:
        """Expected net value of every arm for new customers by each fold's models:
        an array folds x customers x arms."""
        x, _ = _inputs(self.design, data, self.learner)
        return np.stack([base.predict(x)[:, None] + np.column_stack([m.predict(x) for m in arm_models])
                         for base, *arm_models in self.models])

    def policy(self, data: pd.DataFrame, *, per_fold: bool = False) -> np.ndarray:
        """The arm for each new customer (same features as the analysed data): the arm with
        the highest expected net value averaged over the fold models, under the run's budget;
        ``per_fold=True``: one column per fold's policy (the policies the value estimates
        are about)."""
        exp = self.fold_expected(data)
        arms = np.array(self.arms, dtype=object)
        kw = {"arm_costs": np.array(self.arm_costs), "budget": self.budget, "arms": list(self.arms)}
        if per_fold:
            return np.column_stack([arms[assign(e, **kw)] for e in exp])
        return arms[assign(exp.mean(axis=0), **kw)]

    def display_options(self, name: str) -> dict:
        return {"kinds": "money"} if name in ("policy_value", "uplift_curve") else {}

    def summary(self, *, language: str = "en", currency: str = "") -> Summary:
        """The learned policy's value per customer against the best everyone-the-same policy,
        and whom it assigns to which arm."""
        t = self.tables()
        pv = t["policy_value"]
        pv = pv[~pv["suppressed"].astype(bool)] if "suppressed" in pv else pv
        level = round(100 * (1 - self.alpha))
        lines = []
        best = pv[pv["kind"].eq("blanket")].sort_values("value", ascending=False)
        learned = pv[pv["kind"].eq("learned")]
        if len(learned) and len(best):
            r, b = learned.iloc[0], best.iloc[0]
            key = ("better" if r["diff_ci_low"] > 0 else "worse" if r["diff_ci_high"] < 0 else "same")
            value, interval = format_estimate(r["value"], r["ci_low"], r["ci_high"], kind="money", column="value_per_customer",
                                              currency=currency, language=language)
            diff, diff_interval = format_estimate(r["diff_vs_best_blanket"], r["diff_ci_low"], r["diff_ci_high"],
                                                  kind="money", column="diff", currency=currency, language=language)
            lines.append(translate(f"summary.targeting.{key}", language, value=value, interval=interval,
                                   level=level, blanket=b["policy"], diff=diff, diff_interval=diff_interval))
        ps = t["policy_summary"]
        ps = ps[~ps["suppressed"].astype(bool)] if "suppressed" in ps else ps
        if len(ps):
            shares = ", ".join(f"{a} {format_number(100 * s, digits=2, language=language)} %"
                               for a, s in zip(ps["arm"], ps["share_assigned"]))
            lines.append(translate("summary.targeting.assigns", language, shares=shares))
        n = int(pd.to_numeric(ps["n_assigned"], errors="coerce").sum()) if len(ps) else 0
        data = translate("summary.targeting.data", language, n=format_number(n, language=language),
                         arms=", ".join(map(str, self.arms)), value_metric=self.value_metric, folds=self.folds)
        caveats = [translate("summary.targeting.caveat_folds", language)]
        if small := self.small_cell_caveat(language):
            caveats.append(small)
        return Summary(question=translate("summary.targeting.question", language), verdicts=tuple(lines), data=data,
                       caveats=tuple(caveats), language=language)

    def conclusions(self, language: str = "en") -> str:
        """The findings in plain language (labels escaped): the learned policy's value against
        the best blanket policy, who gets what, the readable rule and the small-cell note, in
        ``language`` (the rule itself is the tree's text, with the data's column names)."""
        lang = check_language(language)
        t = self.tables()
        pv = t["policy_value"]
        pv = pv[~pv["suppressed"].astype(bool)]
        lines = []
        level = f"{1 - self.alpha:.0%}"
        if len(pv):
            best = pv[pv["kind"].eq("blanket")].sort_values("value", ascending=False)
            learned = pv[pv["kind"].eq("learned")]
            if len(learned) and len(best):
                r, b = learned.iloc[0], best.iloc[0]
                verdict = ("better" if r["diff_ci_low"] > 0 else "worse" if r["diff_ci_high"] < 0 else "same")
                lines.append(translate(
                    f"targeting.learned_{verdict}", lang, value=f"{r['value']:.4g}", level=level,
                    low=f"{r['ci_low']:.4g}", high=f"{r['ci_high']:.4g}", blanket=_policy_name(b, lang),
                    blanket_value=f"{b['value']:.4g}", diff=f"{r['diff_vs_best_blanket']:+.3g}",
                    diff_low=f"{r['diff_ci_low']:.3g}", diff_high=f"{r['diff_ci_high']:.3g}", p=f"{r['p_value']:.2g}"))
            for _, r in pv[pv["kind"].isin(["segment_rule", "oracle"])].iterrows():
                lines.append(translate(
                    "targeting.other_policy", lang, policy=_policy_name(r, lang),
                    value=f"{r['value']:.4g}", low=f"{r['ci_low']:.4g}", high=f"{r['ci_high']:.4g}",
                    diff=f"{r['diff_vs_best_blanket']:+.3g}"))
        ps = t["policy_summary"]
        ps = ps[~ps["suppressed"].astype(bool)]
        if len(ps):
            shares = ", ".join(f"{escape(value_label(a, lang))} {s:.0%}" for a, s in zip(ps["arm"], ps["share_assigned"]))
            lines.append(translate("targeting.assigns", lang, shares=shares))
        if self.cate_correlation:
            cors = ", ".join(f"{escape(value_label(a, lang))} {c:.2f}" for a, c in self.cate_correlation.items())
            lines.append(translate("targeting.cate_correlation", lang, correlations=cors))
        if self.tree_text:
            lines.append(translate("targeting.rule", lang, agreement=f"{self.tree_agreement:.0%}", rule=self.tree_text))
        note = self.small_cell_note(lang)
        return bullets(lines) + (f"\n\n{note}" if note else "")


def _policy_name(row: pd.Series, language: str) -> str:
    """A policy's name for the conclusions (the ``policy`` column of policy_value.csv keeps the
    English name: it is the machine interface), escaped."""
    name, kind = str(row["policy"]), row["kind"]
    if language == "en":
        return escape(name)
    if kind == "blanket" and name.startswith("all "):
        return translate("targeting.policy_all", language, arm=escape(value_label(name[4:], language)))
    if kind == "segment_rule" and name.startswith("best arm per "):
        return translate("targeting.policy_segment_rule", language,
                         segment_col=escape(value_label(name[len("best arm per "):], language)))  # fmt: skip
    if kind == "oracle":
        return translate("targeting.policy_oracle", language)
    return escape(name)


# --------------------------------------------------------------------------------------
# the entry point
# --------------------------------------------------------------------------------------
def _require(data: pd.DataFrame, columns, what: str) -> None:
    """A ValueError naming each required column the data lacks and the closest names it has."""
    missing = [c for c in dict.fromkeys(columns) if c not in data.columns]
    if missing:
        have = [str(c) for c in data.columns]
        hints = [f"{c!r}" + (f" (closest: {', '.join(map(repr, close))})" if (close := difflib.get_close_matches(
            str(c), have, n=3, cutoff=0.4)) else "") for c in missing]
        raise ValueError(f"{what} {', '.join(hints)} not in the data; its columns are {have}")


def _stratified_folds(arm: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold of each customer: within each arm a random permutation dealt round-robin, so that
    every fold holds (almost) the same share of every arm."""
    fold = np.empty(len(arm), np.int64)
    start = 0
    for a in np.unique(arm):
        idx = np.flatnonzero(arm == a)
        fold[rng.permutation(idx)] = (np.arange(len(idx)) + start) % folds
        start += len(idx)
    return fold


def _row(name: str, kind: str, scores: np.ndarray, ref: np.ndarray, fold: np.ndarray, z: float,
         assigned: np.ndarray | None, m: int, is_ref: bool) -> dict:
    value, se = policy_value(scores, fold)
    diff, dse = policy_value(scores - ref, fold)
    if is_ref or dse == 0:
        p = float("nan") if is_ref else (1.0 if diff == 0 else 0.0)
    else:
        p = float(2 * stats.norm.sf(abs(diff / dse)))
    row = {"policy": name, "value": value, "ci_low": value - z * se, "ci_high": value + z * se,
           "diff_vs_best_blanket": diff, "diff_ci_low": diff - z * dse, "diff_ci_high": diff + z * dse,
           "p_value": p, "kind": kind, "n": len(scores), "se": se, "diff_se": dse}
    row["_shares"] = np.bincount(assigned, minlength=m) / len(assigned)
    return row


def _bins(col: pd.Series, n_bins: int) -> pd.Series:
    if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
        s = col.astype(str)
        top = s.value_counts().index[:20]
        return s.where(s.isin(top), "other")
    q = np.unique(np.nanquantile(col.to_numpy(float), np.linspace(0, 1, n_bins + 1)))
    if len(q) < 2:
        return col.astype(str)
    cut = pd.cut(col, q, include_lowest=True, duplicates="drop")
    labels = cut.cat.categories
    names = {iv: f"{iv.left:.4g} to {iv.right:.4g}" for iv in labels}
    return cut.map(names).astype(object).fillna("missing")


def _tree(design: _Design, data: pd.DataFrame, assigned: np.ndarray, arms: list, depth: int, min_leaf: int,
          seed: int):
    from sklearn.tree import DecisionTreeClassifier

    x, names = design.onehot(data)
    if x.shape[1] == 0 or len(np.unique(assigned)) < 2:
        return None, float("nan"), ""
    fit_rows = np.random.default_rng(seed).permutation(len(x))[:_TREE_ROWS]  # a readable rule needs no more
    tree = DecisionTreeClassifier(max_depth=depth, min_samples_leaf=min_leaf, random_state=seed)
    tree.fit(x[fit_rows], assigned[fit_rows])
    pred = tree.predict(x)
    leaf_of = tree.apply(x)
    t = tree.tree_
    rows = []

    def walk(node: int, conds: list[str]) -> None:
        if t.children_left[node] == -1:
            in_leaf = leaf_of == node
            arm_idx = int(tree.classes_[np.argmax(t.value[node][0])])
            rows.append({"leaf": len(rows) + 1, "rule": " and ".join(conds) or "everyone", "arm": arms[arm_idx],
                         "n": int(in_leaf.sum()), "share_of_customers": float(in_leaf.mean()),
                         "agreement": float((assigned[in_leaf] == arm_idx).mean())})
            return
        name, thr = names[t.feature[node]], t.threshold[node]
        if " = " in name:  # an indicator: <= 0.5 means "not this level"
            left, right = name.replace(" = ", " is not "), name.replace(" = ", " is ")
        else:
            left, right = f"{name} <= {thr:.4g}", f"{name} > {thr:.4g}"
        walk(t.children_left[node], conds + [left])
        walk(t.children_right[node], conds + [right])

    walk(0, [])
    table = pd.DataFrame(rows)
    text = "; ".join(f"{r['rule']} -> {r['arm']}" for _, r in table.iterrows())
    return table, float((pred == assigned).mean()), escape(text)


def targeting_policy(
    data: pd.DataFrame,
    *,
    arm_col: str,
    control: Any,
    value_metric: str,
    features: list[str],
    costs: dict | None = None,
    cost_col: str | None = None,
    randomised: bool = False,
    propensity_cols: dict | None = None,
    budget: dict | None = None,
    segment_col: str | None = None,
    oracle_cols: dict | None = None,
    learner: Any = "hgb",
    folds: int = 5,
    alpha: float = 0.05,
    seed: int = 0,
    curve_points: int = 20,
    n_bins: int = 5,
    tree_depth: int = 2,
    min_cell_size: int = MIN_CELL_SIZE,
    n_threads: int = 1,
    progress: bool | None = None,
    max_rows_pulled: int = MAX_ROWS_PULLED,
) -> TargetingResult:
    """Learn who should get which arm, and estimate honestly what that is worth.

    Parameters
    ----------
    data : one row per customer of an experiment: a pandas DataFrame, or a table held by an
        engine (Ibis table, DuckDB relation, PySpark DataFrame, path). Targeting needs the
        rows (models fitted per customer, a score per customer): from an engine it copies
        only the columns it reads, in the engine's row order (which fixes the folds), and
        is refused above ``max_rows_pulled`` rows (sample in the engine first).
    arm_col, control : the arm column and the control's label.
    value_metric : the value column (e.g. revenue); the objective is its mean minus the cost.
    features : pre-period customer features (numeric or categorical) the policy may use.
    costs, cost_col : cost to serve, ``{arm: cost per customer}`` or a per-customer column
        (its arm means are the arms' costs for a cost cap); neither: no cost.
    randomised : state that the arms were assigned at random (propensities: each fold's arm
        shares). Without it, ``propensity_cols`` (``{arm: column of P(arm | customer)}``) is
        required: observational data is refused.
    budget : ``{arm: max share}`` (e.g. ``{"high_touch": 0.2}``) and/or
        ``{"cost_per_customer": cap}`` on the mean cost (:func:`assign`).
    segment_col : also evaluate the best arm per segment (a rule learned on the training folds).
    oracle_cols : ``{arm: column of the true expected value_metric}`` (simulated data): adds the
        oracle policy and the correlation of estimated and true effects.
    learner : ``"hgb"`` (HistGradientBoostingRegressor), ``"linear"`` or a scikit-learn regressor.
    folds : cross-fitting folds (>= 2). alpha : CI level 1 - alpha. seed : folds and models.
    curve_points, n_bins, tree_depth : resolution of the uplift curves, feature bins, tree.
    min_cell_size : smallest number of customers a published row may describe.
    n_threads : threads of the model fits (1 is fastest on a shared machine).
    progress : a bar over the cross-fitting folds (None: only in an interactive Jupyter kernel;
        :mod:`engagement_kit.progress`).
    max_rows_pulled : on an engine table, the most rows copied out of the engine.
    """
    min_cell_size = check_min_cell_size(min_cell_size)
    if not is_in_memory(data):
        # no sufficient-statistic form: the models and AIPW scores are per customer
        table = as_table(data)
        cols = [arm_col, value_metric, *features]
        if costs is None and cost_col:
            cols.append(cost_col)
        cols += list((propensity_cols or {}).values()) + list((oracle_cols or {}).values())
        cols += [segment_col] if segment_col else []
        _require(table, cols, "column")
        data = pull_rows(table, cols, what="targeting_policy (cross-fitted outcome models and an AIPW score per "
                         "customer)", max_rows_pulled=max_rows_pulled)
    _require(data, [arm_col, value_metric, *features], "column")
    if not features:
        raise ValueError("features must name at least one pre-period column")
    if folds < 2:
        raise ValueError(f"folds must be at least 2 (cross-fitting); got {folds}")
    if propensity_cols is None and not randomised:
        raise ValueError("targeting needs randomised assignment or known propensities: set randomised=True if the "
                         "arms were assigned at random, or propensity_cols={arm: column of P(arm)} otherwise; "
                         "observational data without propensities is refused")
    data = data.reset_index(drop=True)
    arm_values = data[arm_col]
    if arm_values.isna().any():
        raise ValueError(f"arm_col {arm_col!r} has missing values")
    labels = sorted(arm_values.unique().tolist(), key=str)
    if control not in labels:
        raise ValueError(f"control {control!r} is not an arm of {arm_col!r}; arms: {labels}")
    arms = [control] + [a for a in labels if a != control]
    m, n = len(arms), len(data)
    arm = pd.Categorical(arm_values, categories=arms).codes.astype(np.int64)
    skipped: list[str] = []

    # net value and the arms' costs
    y = data[value_metric].to_numpy(float)
    if np.isnan(y).any():
        raise ValueError(f"value_metric {value_metric!r} has missing values")
    if costs is not None:
        missing = [a for a in arms if a not in costs]
        if missing:
            raise ValueError(f"costs lacks the arm(s) {missing}")
        arm_costs = np.array([float(costs[a]) for a in arms])
        cost = arm_costs[arm]
    elif cost_col:
        _require(data, [cost_col], "cost_col")
        cost = data[cost_col].to_numpy(float)
        arm_costs = np.array([cost[arm == j].mean() for j in range(m)])
    else:
        cost, arm_costs = np.zeros(n), np.zeros(m)
        skipped.append("cost to serve: none (set costs or cost_col to put it in the objective).")
    v = y - cost

    rng = np.random.default_rng(seed)
    fold = _stratified_folds(arm, folds, rng)
    if propensity_cols is not None:
        _require(data, [propensity_cols[a] for a in arms if a in propensity_cols], "propensity column")
        if set(propensity_cols) != set(arms):
            raise ValueError(f"propensity_cols must name one column per arm {arms}")
        e = np.column_stack([data[propensity_cols[a]].to_numpy(float) for a in arms])
        if not np.all((e > 0) & (e <= 1)):
            raise ValueError("propensities must lie in (0, 1]")
    else:
        counts = np.zeros((folds, m))
        np.add.at(counts, (fold, arm), 1)
        e = (counts / counts.sum(axis=1, keepdims=True))[fold]
    if (np.bincount(arm, minlength=m) < 2 * folds).any():
        raise ValueError(f"every arm needs at least {2 * folds} customers for {folds}-fold cross-fitting")

    # cross-fitted T-learner
    design = _Design.fit(data, list(features))
    x, mask = _inputs(design, data, learner)
    mu = np.empty((n, m))
    models = []
    import sklearn.ensemble  # noqa: F401  (load its OpenMP runtime, so that the limit below reaches it)

    steps = Steps([f"fold {k + 1}" for k in range(folds)], progress=progress, desc="cross-fitting")
    with threadpool_limits(limits=n_threads):
        for k in range(folds):
            steps.next(f"fold {k + 1} of {folds}")
            test, train = fold == k, fold != k
            base = _model(learner, mask, seed).fit(x[train], v[train])
            residual = np.zeros(n)
            residual[train] = v[train] - base.predict(x[train])
            base_test = base.predict(x[test])
            fold_models = [base]
            for j in range(m):
                rows = train & (arm == j)
                model = _model(learner, mask, seed).fit(x[rows], residual[rows])
                mu[test, j] = base_test + model.predict(x[test])
                fold_models.append(model)
            models.append(tuple(fold_models))
    steps.close()
    gamma = aipw_scores(v, arm, mu, e)
    chosen = np.empty(n, np.int64)
    for k in range(folds):
        test = fold == k
        chosen[test] = assign(mu[test], arm_costs=arm_costs, budget=budget, arms=arms)
    cate = mu[:, 1:] - mu[:, :1]

    # policy values
    z = float(stats.norm.ppf(1 - alpha / 2))
    blanket_values = gamma.mean(axis=0)
    best = int(np.argmax(blanket_values))
    ref = gamma[:, best]
    idx = np.arange(n)
    rows = [_row("learned", "learned", gamma[idx, chosen], ref, fold, z, chosen, m, False)]
    for j, a in enumerate(arms):
        rows.append(_row(f"all {a}", "blanket", gamma[:, j], ref, fold, z, np.full(n, j), m, j == best))
    if segment_col:
        if segment_col not in data.columns:
            skipped.append(f"per-segment rule: skipped, segment_col {segment_col!r} is not a column (set segment_col).")
        else:
            seg = pd.factorize(data[segment_col].astype(str))[0]
            s_n = seg.max() + 1
            rule = np.empty(n, np.int64)
            w = 1.0 / e[idx, arm]
            for k in range(folds):
                train = fold != k
                num = np.zeros((s_n, m))
                den = np.zeros((s_n, m))
                np.add.at(num, (seg[train], arm[train]), (w * v)[train])
                np.add.at(den, (seg[train], arm[train]), w[train])
                means = np.where(den > 0, num / np.where(den > 0, den, 1), -np.inf)
                test = fold == k
                rule[test] = np.argmax(means[seg[test]], axis=1)
            rows.append(_row(f"best arm per {segment_col}", "segment_rule", gamma[idx, rule], ref, fold, z, rule, m,
                             False))
    else:
        skipped.append("per-segment rule: skipped, no segment_col (set segment_col to compare with it).")
    correlation: dict = {}
    if oracle_cols:
        _require(data, [oracle_cols[a] for a in arms], "oracle column")
        truth = np.column_stack([data[oracle_cols[a]].to_numpy(float) for a in arms]) - arm_costs
        oracle = assign(truth, arm_costs=arm_costs, budget=budget, arms=arms)
        rows.append(_row("oracle", "oracle", gamma[idx, oracle], ref, fold, z, oracle, m, False))
        true_cate = truth[:, 1:] - truth[:, :1]
        for j, a in enumerate(arms[1:]):
            sd = true_cate[:, j].std() * cate[:, j].std()
            correlation[a] = float(np.corrcoef(cate[:, j], true_cate[:, j])[0, 1]) if sd > 0 else float("nan")
    shares = np.array([r.pop("_shares") for r in rows])
    pv = pd.DataFrame(rows)
    for j, a in enumerate(arms):
        pv[f"share_{a}"] = shares[:, j]
    pv = pv[[c for c in pv.columns if c not in ("kind", "n", "se", "diff_se")] + ["kind", "n", "se", "diff_se"]]

    # uplift curves (vectorised over the cut points)
    curves = []
    fractions = np.arange(1, curve_points + 1) / curve_points
    for j, a in enumerate(arms[1:], start=1):
        delta = gamma[:, j] - gamma[:, 0]
        order = np.argsort(-cate[:, j - 1], kind="stable")
        cs, cs2 = np.cumsum(delta[order]), np.cumsum(delta[order] ** 2)
        k = np.ceil(fractions * n).astype(int)
        gain = cs[k - 1] / n
        var = (cs2[k - 1] / n - gain**2) * n / (n - 1)
        se = np.sqrt(np.maximum(var, 0) / n)
        curves.append(pd.DataFrame({"arm": a, "control": control, "fraction": fractions, "n_targeted": k,
                                    "gain": gain, "ci_low": gain - z * se, "ci_high": gain + z * se,
                                    "random_gain": fractions * delta.mean()}))
    uplift = pd.concat(curves, ignore_index=True)

    # CATE by feature
    parts = []
    onehot_chosen = (chosen[:, None] == np.arange(m)[None, :]).astype(float)
    for f in features:
        b = _bins(data[f], n_bins)
        codes, uniques = pd.factorize(b, sort=True)
        nb = len(uniques)
        cnt = np.bincount(codes, minlength=nb)
        share = np.column_stack([np.bincount(codes, onehot_chosen[:, j], minlength=nb) for j in range(m)]) / cnt[:, None]
        for j, a in enumerate(arms[1:], start=1):
            delta = gamma[:, j] - gamma[:, 0]
            s1, s2 = np.bincount(codes, delta, minlength=nb), np.bincount(codes, delta**2, minlength=nb)
            est = s1 / cnt
            var = np.where(cnt > 1, (s2 - s1**2 / cnt) / np.maximum(cnt - 1, 1), np.nan)
            se = np.sqrt(var / cnt)
            part = pd.DataFrame({"feature": f, "bin": uniques.astype(str), "arm": a, "control": control, "n": cnt,
                                 "cate_model": np.bincount(codes, cate[:, j - 1], minlength=nb) / cnt,
                                 "estimate": est, "ci_low": est - z * se, "ci_high": est + z * se})
            for jj, aa in enumerate(arms):
                part[f"share_{aa}"] = share[:, jj]
            parts.append(part)
    by_feature = pd.concat(parts, ignore_index=True)

    # who gets what, and a readable rule
    counts = np.bincount(chosen, minlength=m)
    mean_cate = [float("nan")] + [float(cate[chosen == j, j - 1].mean()) if counts[j] else float("nan")
                                  for j in range(1, m)]
    summary = pd.DataFrame({"arm": arms, "n_assigned": counts, "share_assigned": counts / n,
                            "mean_cate_assigned": mean_cate,
                            "cate_correlation": [float("nan")] + [correlation.get(a, float("nan")) for a in arms[1:]]})
    tree, agreement, text = _tree(design, data, chosen, arms, tree_depth, max(min_cell_size, min(n, _TREE_ROWS) // 100), seed)
    if tree is None:
        skipped.append("policy tree: skipped, the learned policy gives everyone the same arm.")

    return TargetingResult(
        policy_value=pv, uplift_curve=uplift, cate_by_feature=by_feature, policy_summary=summary, policy_tree=tree,
        arm_col=arm_col, control=control, arms=tuple(arms), value_metric=value_metric, features=tuple(features),
        learner=learner if isinstance(learner, str) else type(learner).__name__, folds=folds,
        budget=dict(budget) if budget else None, alpha=alpha, tree_agreement=agreement, tree_text=text,
        cate_correlation=correlation, fold_weights=tuple(np.bincount(fold, minlength=folds) / n),
        models=tuple(models), design=design, arm_costs=tuple(arm_costs.tolist()), min_cell_size=min_cell_size,
        skipped=tuple(skipped),
    )
