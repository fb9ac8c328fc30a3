"""Who is in each touch model: the assignment overview (the ``hello_report`` notebook).

If touch models were assigned at random, every segment holds about the same share of each
arm; a confounded assignment (enterprise customers mostly high-touch) shows up here first,
before any effect is estimated. :func:`overview` counts customers per segment x arm, gives
each arm's share of its segment with a Wilson interval, and tests independence of arm and
segment (Pearson's chi-square on the segment x arm table).

Output table (the CSV is an interface)
---------------------------------------
- ``customers_by_segment.csv``: ``segment, touch_model, customers, share, share_ci_low,
  share_ci_high, suppressed`` -- one row per segment x arm (``segment`` is ``all`` without a
  segment column); ``share`` = customers / the segment's customers; Wilson interval at level
  1 - alpha. Rows describing fewer than ``min_cell_size`` customers are kept, blanked and
  marked ``suppressed`` (before this release they were left out).

Example
-------
>>> import pandas as pd
>>> d = pd.DataFrame({"touch_model": ["a", "b"] * 30, "segment": ["x"] * 40 + ["y"] * 20})
>>> r = overview(d, arm_col="touch_model", segment_col="segment")
>>> r.tables()["customers_by_segment"][["segment", "touch_model", "customers"]].values.tolist()
[['x', 'a', 20], ['x', 'b', 20], ['y', 'a', 10], ['y', 'b', 10]]
"""

from __future__ import annotations

import dataclasses

import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency

from .display import format_estimate, format_number, format_p
from .engines import as_table, is_in_memory
from .frameworks import value_label
from .i18n import check_language, translate
from .markdown import bullets, escape
from .privacy import MIN_CELL_SIZE, check_min_cell_size
from .results import Result
from .stats.proportions import wilson_ci
from .summary import Summary

__all__ = ["OverviewResult", "overview"]


def _counts_in_engine(t: ir.Table, arm_col: str, segment_col: str | None,
                      segment: str | None) -> tuple[pd.DataFrame, int]:
    """The segment x arm crosstab of an engine table and its customers: one ``GROUP BY`` arm
    (x segment) in the engine; the labels are spelled as the pandas path spells them
    (``astype(str)``) on the small result, so a boolean or numeric arm and a missing label
    read the same."""
    keys = [arm_col] + ([segment_col] if segment_col else [])
    res = t.group_by(keys).aggregate(_ek_n=t.count()).execute()
    frame = pd.DataFrame({"seg": res[segment_col].astype(str) if segment_col else "all",
                          "arm": res[arm_col].astype(str), "n": pd.to_numeric(res["_ek_n"]).astype(np.int64)})
    if segment is not None:
        frame = frame[frame["seg"] == str(segment)]
    if frame.empty:
        raise ValueError(f"no customers for segment={segment!r}; check the segment name")
    counts = frame.pivot_table(index="seg", columns="arm", values="n", aggfunc="sum", fill_value=0)
    counts.index.name, counts.columns.name = None, None
    return counts.astype(np.int64), int(frame["n"].sum())


@dataclasses.dataclass(frozen=True, eq=False)
class OverviewResult(Result):
    """Customers per segment x arm with shares (see the module docstring)."""

    customers_by_segment: pd.DataFrame
    n_customers: int
    chi2: float
    df: int
    p_value: float
    alpha: float = 0.05
    min_cell_size: int = MIN_CELL_SIZE
    skipped: tuple[str, ...] = ()

    COLUMNS = {
        "customers_by_segment": ["segment", "touch_model", "customers", "share", "share_ci_low", "share_ci_high"]
    }
    CELLS = {"customers_by_segment": (("customers",), ("segment", "touch_model"))}

    def display_options(self, name: str) -> dict:
        return {"kinds": "share"}

    def summary(self, *, language: str = "en") -> Summary:
        """Whether the touch-model shares differ between segments, and the largest share."""
        t = self.tables()["customers_by_segment"]
        shown = t[~t["suppressed"].astype(bool)]
        lines = []
        if np.isfinite(self.p_value):
            key = "summary.overview.shares_same" if self.p_value >= self.alpha else "summary.overview.shares_differ"
            lines.append(translate(key, language, p=format_p(self.p_value, language)))
        if len(shown):
            top = shown.loc[shown["share"].idxmax()]
            share, interval = format_estimate(top["share"], top["share_ci_low"], top["share_ci_high"], column="share",
                                              language=language)
            lines.append(translate("summary.overview.largest", language, arm=top["touch_model"],
                                   segment=top["segment"], share=share, interval=interval,
                                   level=round(100 * (1 - self.alpha))))
        data = translate("summary.overview.data", language, n=format_number(self.n_customers, language=language),
                         segments=t["segment"].nunique(), arms=t["touch_model"].nunique())
        caveats = [c for c in (self.small_cell_caveat(language),) if c]
        return Summary(question=translate("summary.overview.question", language), verdicts=tuple(lines), data=data,
                       caveats=tuple(caveats), language=language)

    def conclusions(self, language: str = "en") -> str:
        """Who is where, and whether the shares differ between segments more than chance
        (in ``language``)."""
        lang = check_language(language)
        t = self.tables()["customers_by_segment"]
        shown = t[~t["suppressed"]]
        lines = [translate("overview.customers", lang, n=f"{self.n_customers:,}", segments=t["segment"].nunique(),
                           arms=t["touch_model"].nunique())]  # fmt: skip
        if np.isfinite(self.p_value):
            same = self.p_value >= self.alpha
            p = "< 0.001" if self.p_value < 0.001 else f"= {self.p_value:.3f}"
            lines.append(translate("overview.shares_same" if same else "overview.shares_differ", lang,
                                   chi2=f"{self.chi2:.1f}", df=self.df, p=p))  # fmt: skip
        if len(shown):
            top = shown.loc[shown["share"].idxmax()]
            lines.append(translate(
                "overview.largest_share", lang, arm=escape(value_label(top["touch_model"], lang)),
                segment=escape(value_label(top["segment"], lang)), share=f"{100 * top['share']:.1f}",
                low=f"{100 * top['share_ci_low']:.1f}", high=f"{100 * top['share_ci_high']:.1f}"))
        note = self.small_cell_note(lang)
        return bullets(lines + ([note] if note else []))


def overview(
    data: pd.DataFrame,
    *,
    arm_col: str,
    segment_col: str | None = None,
    segment: str | None = None,
    alpha: float = 0.05,
    min_cell_size: int = MIN_CELL_SIZE,
) -> OverviewResult:
    """Customers per segment x arm, each arm's share of its segment, and the chi-square test.

    ``data``: one row per customer, a pandas DataFrame or a table held by an engine (Ibis
    table, DuckDB relation, PySpark DataFrame, path): there the counts are one ``GROUP BY``
    arm x segment in the engine and no row leaves it.
    ``segment`` restricts the table to one segment. Raises ValueError when no customer is left.
    """
    check_min_cell_size(min_cell_size)
    if not is_in_memory(data):
        data = as_table(data)
    for col in [arm_col] + ([segment_col] if segment_col else []):
        if col not in data.columns:
            raise KeyError(f"column {col!r} is not in the data (columns: {', '.join(map(str, data.columns))})")
    if is_in_memory(data):
        seg = data[segment_col].astype(str) if segment_col else pd.Series("all", index=data.index)
        arm = data[arm_col].astype(str)
        if segment is not None:
            keep = seg == str(segment)
            seg, arm = seg[keep], arm[keep]
        if seg.empty:
            raise ValueError(f"no customers for segment={segment!r}; check the segment name")
        counts = pd.crosstab(seg, arm)
        n_customers = len(seg)
    else:
        counts, n_customers = _counts_in_engine(data, arm_col, segment_col, segment)
    table = counts.stack().rename("customers").reset_index()
    table.columns = ["segment", "touch_model", "customers"]
    table = table[table["customers"] > 0].reset_index(drop=True)
    totals = table.groupby("segment")["customers"].transform("sum")
    table["share"] = table["customers"] / totals
    table["share_ci_low"], table["share_ci_high"] = wilson_ci(table["customers"], totals, alpha=alpha)
    if counts.shape[0] > 1 and counts.shape[1] > 1:
        chi2, p, df, _ = chi2_contingency(counts.to_numpy(), correction=False)
    else:
        chi2, p, df = float("nan"), float("nan"), 0
    return OverviewResult(
        customers_by_segment=table, n_customers=n_customers, chi2=float(chi2), df=int(df), p_value=float(p),
        alpha=alpha, min_cell_size=min_cell_size,
    )  # fmt: skip
