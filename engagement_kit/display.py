"""Tables for people: every published table as a reader sees it in a notebook or report.

The CSVs are the machine interface and keep full precision; what a person reads goes
through :func:`format_table` (a DataFrame of text) or :func:`show` (a :class:`Table` that
Jupyter and the HTML reports display as one static, escaped ``<table class="ek-table">``):

- no index column; headers are readable labels (``translate("columns.<name>")``);
- shares in %, differences of shares in percentage points, NPS in points, money as a
  currency (the metric's kind decides, row by row: ``kinds`` maps metric -> kind, and a
  ``kind`` column or ``money`` metrics do too), counts with thousands separators, other
  numbers to 3 significant digits, never in ``e-`` notation;
- p-values as ``< 0.001`` / ``0.012``; intervals merged into one column, "3.4 to 6.4";
- a survival median that is never reached reads "not reached", other gaps "–";
  suppressed rows (small cells) read "suppressed" in every hidden cell;
- the columns that tell rows apart (``segment``, ``method``, ``kind`` ...) come first.

Long tables get the class ``ek-long``: in a report, one trusted script shipped with the
project (``engagement_kit/reports/tables.js``, inlined by the renderer, never taken from an
output) makes them sortable and searchable. itables is not used for that: its offline mode
embeds the DataTables bundle as a ``<script>`` in each output, which the report sanitiser
must drop (scripts in outputs are what it exists to stop), and letting output scripts through
would let a hostile label run too.

>>> import pandas as pd
>>> t = pd.DataFrame({"metric": ["retained"], "arm": ["high_touch"], "diff": [0.0491],
...                   "ci_low": [0.0342], "ci_high": [0.0640], "p_value": [1.6e-10]})
>>> format_table(t, kinds={"retained": "binary"}).iloc[0].tolist()
['retained', 'high_touch', '+4.91 pp', '+3.42 to +6.40 pp', '< 0.001']
>>> list(format_table(t, kinds={"retained": "binary"}).columns)
['Metric', 'Arm', 'Difference', 'CI', 'p-value']
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from babel.numbers import format_decimal

from .i18n import check_language, messages, translate

__all__ = ["LABEL_COLUMNS", "LONG_TABLE_ROWS", "Table", "column_label", "format_estimate", "format_number", "format_p", "format_table", "show"]

#: Tables with more rows than this are marked ``ek-long`` (sortable and searchable in reports).
LONG_TABLE_ROWS = 15

#: Columns that tell rows apart: shown first, in this order, when present.
_LABELS = ("id", "segment", "group_col", "group", "feature", "bin", "metric", "scale", "component", "stage", "kind", "method",
           "target_rel_mde", "arm", "touch_model", "control", "policy", "covariate", "item", "outcome")
#: Values in the unit of the row's metric (a share, NPS points, money or a plain number).
_LEVELS = {"mean_arm", "mean_control", "baseline", "revenue_per_customer", "cost_per_customer",
           "value_per_customer", "value", "mean_cate_assigned"}
#: Differences in the unit of the row's metric: signed; shares become percentage points.
_DIFFS = {"diff", "ci_low", "ci_high", "posterior_mean_diff", "cred_low", "cred_high", "mde_current", "target_mde",
          "incremental_revenue", "incremental_cost", "incremental_value", "estimate", "diff_vs_best_blanket",
          "gain", "random_gain", "cate_model"}
#: Tables whose ``estimate`` is a level (a KPI, a survival share), not a difference.
_LEVEL_TABLES = {"kpi", "source", "score"}
_SHARE = re.compile(r"(^|_)(share|rate|prob|power|reduction|rel)(_|$)|^rel_|_rel$|share_of|^agreement$|^retention$|"
                    r"^probability$|^start_ci$")
_COUNT = re.compile(r"^(n|n_.*|.*_n|events_.*|customers|count|n_per_arm.*|respondents|accounts)$")
_P = re.compile(r"^(p|p_value|p_adjusted|.*_p_value|.*_p)$")
_PAIR = re.compile(r"^(.*?)(ci_low|cred_low|_low)$")


def column_label(name: str, language: str = "en") -> str:
    """The readable header of column ``name`` (``columns.<name>`` in the language file; a
    column without a key reads as its name with spaces).

    >>> column_label("p_adjusted")
    'adjusted p'
    >>> column_label("some_new_column")
    'some new column'
    """
    key = f"columns.{name}"
    if key in messages(language) or key in messages("en"):
        return translate(key, language)
    return str(name).replace("_", " ")


def format_number(value: float, *, digits: int = 3, sign: bool = False, language: str = "en") -> str:
    """``value`` to ``digits`` significant digits (integers kept whole; at most 8 decimals), grouped thousands,
    the language's decimal mark, never in ``e`` notation.

    >>> format_number(12345.6), format_number(0.012345), format_number(-4.9, sign=True)
    ('12,346', '0.0123', '-4.90')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return translate("display.missing", language)
    v = float(value)
    if math.isinf(v):
        return ("-" if v < 0 else "") + "∞"
    if v == 0:
        decimals = 0
    else:
        decimals = min(8, max(0, digits - 1 - math.floor(math.log10(abs(v)))))
    text = format_decimal(round(v, decimals), format="#,##0" + ("." + "0" * decimals if decimals else ""),
                          locale=language)
    return ("+" + text) if sign and v > 0 else text


def format_p(p: float, language: str = "en") -> str:
    """A p-value for people: ``< 0.001`` below one in a thousand, else 2 significant digits
    (at most 3 decimals).

    >>> format_p(1.6415e-10), format_p(0.01234), format_p(0.4567), format_p(1.0)
    ('< 0.001', '0.012', '0.46', '1')
    """
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return translate("display.missing", language)
    if p < 0.001:
        return translate("display.p_below", language, bound=format_decimal(0.001, format="0.000", locale=language))
    if p >= 0.995:
        return format_decimal(1, locale=language)
    decimals = 3 if p < 0.1 else 2
    return format_decimal(round(p, decimals), format="0." + "0" * decimals, locale=language)


def _unit(kind: str | None, column: str) -> str:
    """The display unit of a metric-valued cell: share, pp, points, money or number."""
    if kind == "binary":
        return "share" if column in _LEVELS else "pp"
    if kind == "nps":
        return "points"
    if kind == "money":
        return "money"
    return "number"


def _row_kinds(table: pd.DataFrame, kinds: Mapping[str, str] | str | None, money: Iterable[str]) -> list[str | None]:
    money = set(money)
    out: list[str | None] = []
    for _, r in table.iterrows():
        metric = r.get("metric")
        if isinstance(kinds, str):
            kind = kinds
        elif "kind" in table.columns and isinstance(r["kind"], str):
            kind = r["kind"]
        else:
            kind = (kinds or {}).get(metric) if isinstance(metric, str) else None
        if isinstance(kind, (list, tuple)):
            kind = kind[0]
        if metric in money:
            kind = "money"
        if r.get("method") == "cox":
            kind = "hazard_ratio"
        out.append(kind)
    return out


#: The columns that tell rows apart, in the order they are shown.
LABEL_COLUMNS = _LABELS


#: Columns left out of a display when every row holds the same value (the report says it once:
#: the control arm, the journey framework); the CSV keeps them.
_CONTEXT = ("control", "framework")


def _constant_context(t: pd.DataFrame, c: str) -> bool:
    return c in _CONTEXT and len(t) > 1 and t[c].nunique(dropna=False) == 1


def _order(columns: list[str]) -> list[str]:
    first = [c for c in _LABELS if c in columns]
    return first + [c for c in columns if c not in first]


def format_table(
    table: pd.DataFrame,
    *,
    kinds: Mapping[str, str] | str | None = None,
    money: Iterable[str] = (),
    currency: str = "",
    language: str = "en",
) -> pd.DataFrame:
    """``table`` as text for people (see the module doc); the CSV's columns become readable
    headers, ``_low``/``_high`` pairs one interval column. ``kinds``: metric -> kind
    (``binary``, ``continuous``, ``count``, ``nps``, ...) or one kind for every row;
    ``money``: metrics shown as ``currency``."""
    check_language(language)
    t = table.reset_index(drop=True)
    suppressed = t["suppressed"].fillna(False).astype(bool).to_numpy() if "suppressed" in t else np.zeros(len(t), bool)
    row_kinds = _row_kinds(t, kinds, money)
    cols = _order([c for c in t.columns if c != "suppressed" and not _constant_context(t, c)])
    pairs: dict[str, str] = {}
    for c in cols:
        m = _PAIR.match(c)
        if m and m.group(1) + m.group(2).replace("low", "high") in t.columns:
            pairs[c] = m.group(1) + m.group(2).replace("low", "high")
    whole = frozenset(c for c in cols if _whole_numbers(t[c]))
    out: dict[str, list[str]] = {}
    for c in cols:
        if c in pairs.values():
            continue
        values = [_cell(t, i, c, v, pairs.get(c), row_kinds[i], bool(suppressed[i]), language, currency, whole)
                  for i, v in enumerate(t[c].tolist())]
        header = column_label(c.removesuffix("_low") if c in pairs else c, language)
        out[header] = values
    return pd.DataFrame(out)


def _whole_numbers(column: pd.Series) -> bool:
    """A numeric column whose every value is a whole number (look, df, rank ...)."""
    if column.dtype == bool or not pd.api.types.is_numeric_dtype(column):
        return False
    v = column.dropna().to_numpy(dtype=float)
    return len(v) > 0 and bool(np.all(np.isfinite(v) & (v == np.round(v))))


def _cell(t: pd.DataFrame, i: int, c: str, v: Any, high: str | None, kind: str | None, suppressed: bool,
          language: str, currency: str, whole: frozenset = frozenset()) -> str:
    missing = v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA
    if missing:
        if suppressed:
            return translate("display.suppressed", language)
        if c.startswith("median"):
            return translate("display.not_reached", language)
        return translate("display.missing", language)
    if isinstance(v, (bool, np.bool_)):
        return translate("display.flag_yes" if v else "display.flag_no", language)
    if not isinstance(v, (int, float, np.integer, np.floating)):
        return str(v)
    if _P.match(c) or c == "bartlett_p":
        return format_p(float(v), language)
    if high is not None:
        w = t[high].iloc[i]
        unit, sign = _role(c, kind, frozenset(t.columns))
        if pd.isna(w):
            return translate("display.missing", language)
        interval = translate("display.interval", language, low=_bare(float(v), unit, sign, language),
                             high=_bare(float(w), unit, sign, language))
        return _wrap(interval, unit, language, currency)
    unit, sign = _role(c, kind, frozenset(t.columns))
    if unit == "number" and (_COUNT.match(c) or c in whole) and float(v).is_integer():
        return format_decimal(int(v), format="#,##0", locale=language)
    return _wrap(_bare(float(v), unit, sign, language), unit, language, currency)


#: Metric-valued columns that carry no sign (spreads and losses are never negative).
_UNSIGNED = {"sd", "se", "expected_loss", "sd_arm", "sd_control"}


def _role(c: str, kind: str | None, columns: frozenset = frozenset({"diff"})) -> tuple[str, bool]:
    """(unit, signed) of column ``c`` in a row whose metric is of ``kind``, in a table with
    ``columns`` (an interval is signed when the table's estimate is a difference)."""
    base = c.removesuffix("_low").removesuffix("_high")
    if c.startswith("rel_") or _SHARE.search(base):
        return "share", c.startswith("rel_")
    level_table = bool(columns & _LEVEL_TABLES)
    if base in ("ci", "cred", "cs"):
        differences = {"diff", "incremental_value", "posterior_mean_diff", "estimate"} & columns
        return _unit(kind, "diff" if differences else "mean_arm"), bool(differences) and not level_table \
            and kind != "hazard_ratio"
    if base == "diff_ci":
        return _unit(kind, "diff"), kind != "hazard_ratio"
    if c in _LEVELS or c in _DIFFS or c in _UNSIGNED:
        signed = c not in _UNSIGNED and c not in _LEVELS and kind != "hazard_ratio"
        if c == "estimate" and level_table:
            return _unit(kind, "mean_arm"), False
        return _unit(kind, c), signed
    return "number", False


def _bare(v: float, unit: str, sign: bool, language: str) -> str:
    if math.isnan(v):
        return translate("display.missing", language)
    return format_number(100 * v if unit in ("share", "pp") else v, sign=sign, language=language)


def _wrap(text: str, unit: str, language: str, currency: str) -> str:
    if unit == "share":
        return translate("units.percent", language, value=text)
    if unit == "pp":
        return translate("units.pp", language, value=text)
    if unit == "points":
        return translate("units.points", language, value=text)
    if unit == "money" and currency:
        return translate("units.money", language, value=text, currency=currency)
    return text


class Table:
    """A formatted table that Jupyter and the reports show as one escaped HTML table.

    >>> import pandas as pd
    >>> print(Table(pd.DataFrame({"A": ["<b>"]})).to_html())  # doctest: +NORMALIZE_WHITESPACE
    <div class="ek-table-wrap"><table class="ek-table"><thead><tr><th>A</th></tr></thead>
    <tbody><tr><td>&lt;b&gt;</td></tr></tbody></table></div>
    """

    def __init__(self, formatted: pd.DataFrame, *, caption: str = "", sort_keys: pd.DataFrame | None = None):
        self.data = formatted
        self.caption = caption
        self.sort_keys = sort_keys

    def to_html(self) -> str:
        """Static HTML, every header and cell escaped; long tables carry the class ``ek-long``."""
        e = html.escape
        cls = "ek-table ek-long" if len(self.data) > LONG_TABLE_ROWS else "ek-table"
        head = "".join(f"<th>{e(str(c))}</th>" for c in self.data.columns)
        rows = []
        for i, row in enumerate(self.data.itertuples(index=False)):
            cells = []
            for j, v in enumerate(row):
                key = None if self.sort_keys is None else self.sort_keys.iat[i, j]
                attr = f' data-sort="{e(str(key))}"' if key is not None and not pd.isna(key) else ""
                cells.append(f"<td{attr}>{e(str(v))}</td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
        caption = f"<caption>{e(self.caption)}</caption>" if self.caption else ""
        return (f'<div class="ek-table-wrap"><table class="{cls}">{caption}<thead><tr>{head}</tr></thead>\n'
                f'<tbody>{"".join(rows)}</tbody></table></div>')

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return self.data.to_string(index=False)


def _sort_keys(table: pd.DataFrame, formatted: pd.DataFrame, language: str) -> pd.DataFrame:
    """The raw number behind each formatted cell (for sorting by value, not by text)."""
    t = table.reset_index(drop=True)
    cols = _order([c for c in t.columns if c != "suppressed" and not _constant_context(t, c)])
    keep = [c for c in cols if not any(c == h for h in _pair_highs(t, cols))]
    keys = pd.DataFrame({j: pd.to_numeric(t[c], errors="coerce") if t[c].dtype != bool else np.nan
                         for j, c in enumerate(keep)})
    return keys.astype(object).where(keys.notna(), None).set_axis(list(formatted.columns), axis=1)


def _pair_highs(t: pd.DataFrame, cols: list[str]) -> list[str]:
    out = []
    for c in cols:
        m = _PAIR.match(c)
        if m and m.group(1) + m.group(2).replace("low", "high") in t.columns:
            out.append(m.group(1) + m.group(2).replace("low", "high"))
    return out


def show(
    table: pd.DataFrame,
    *,
    kinds: Mapping[str, str] | str | None = None,
    money: Iterable[str] = (),
    currency: str = "",
    caption: str = "",
    language: str = "en",
) -> Table:
    """``table`` formatted for people (:func:`format_table`), to display in a notebook: the
    last expression of a cell, or ``display(show(...))``."""
    formatted = format_table(table, kinds=kinds, money=money, currency=currency, language=language)
    return Table(formatted, caption=caption, sort_keys=_sort_keys(table, formatted, language))


def format_estimate(
    estimate: float,
    low: float,
    high: float,
    *,
    kind: str | None = None,
    column: str = "diff",
    signed: bool | None = None,
    currency: str = "",
    language: str = "en",
) -> tuple[str, str]:
    """``(estimate, interval)`` as words for a sentence, in the unit a table would use for
    ``column`` in a row of metric ``kind``.

    >>> format_estimate(0.0494, 0.0347, 0.0641, kind="binary")
    ('+4.94 pp', '+3.47 to +6.41 pp')
    >>> format_estimate(20.2, 17.5, 22.9, kind="nps", signed=False)
    ('20.2 points', '17.5 to 22.9 points')
    """
    unit, sign = _role(column, kind)
    sign = sign if signed is None else signed
    est = _wrap(_bare(float(estimate), unit, sign, language), unit, language, currency)
    interval = translate("display.interval", language, low=_bare(float(low), unit, sign, language),
                         high=_bare(float(high), unit, sign, language))
    return est, _wrap(interval, unit, language, currency)
