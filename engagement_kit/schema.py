"""Data contracts: the columns of every table the toolkit reads.

This module is data only (what a valid table looks like); the checks live in
:mod:`engagement_kit.validation`. Table kinds: ``customers``, ``survey``,
``events``, ``outcomes``, ``dsce``. ``data/README.md`` is the human-readable
data dictionary generated from the same facts.

Example
-------
>>> from engagement_kit.schema import CONTRACTS
>>> [c.name for c in CONTRACTS["outcomes"].columns][:3]
['customer_id', 'retained', 'churn_time']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .frameworks import (
    DIMENSION_NAMES,
    DSCE_COMPONENT_NAMES,
    ENGAGEMENT_TYPE_NAMES,
    FRAMEWORK_NAMES,
    TOUCH_MODEL_NAMES,
)

ColumnKind = Literal["id", "category", "date", "datetime", "float", "int", "bool"]

#: Default answer scales. Survey items are Likert 1..7 (as in So, King & Sparks 2014);
#: DSCE component ratings are 1..5.
LIKERT_MIN, LIKERT_MAX = 1, 7
NPS_MIN, NPS_MAX = 0, 10
CSAT_MIN, CSAT_MAX = 1, 5
DSCE_MIN, DSCE_MAX = 1, 5
ITEMS_PER_DIMENSION = 4
ITEMS_PER_TYPE = 3


@dataclass(frozen=True)
class Column:
    """One column of a contract.

    ``min``/``max`` bound numeric values (inclusive); ``allowed`` lists the valid
    labels of a category (None: any label); ``unique`` says the column is a key.
    """

    name: str
    kind: ColumnKind
    description: str
    required: bool = True
    unique: bool = False
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] | None = None
    unit: str = ""


@dataclass(frozen=True)
class Contract:
    """The columns of one table kind. ``item_pattern`` matches survey item columns."""

    kind: str
    description: str
    columns: tuple[Column, ...]
    item_pattern: str | None = None
    item_min: float | None = None
    item_max: float | None = None

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


def item_columns(construct: str, n_items: int) -> list[str]:
    """Item column names of a construct: ``enthusiasm_1 .. enthusiasm_n``."""
    return [f"{construct}_{k}" for k in range(1, n_items + 1)]


#: Items that are reverse-keyed in the default questionnaire (and in the simulator).
REVERSE_KEYED_ITEMS: tuple[str, ...] = tuple(f"{d}_{ITEMS_PER_DIMENSION}" for d in DIMENSION_NAMES)

#: The default questionnaire: scale -> item columns.
DEFAULT_SCALES: dict[str, list[str]] = {d: item_columns(d, ITEMS_PER_DIMENSION) for d in DIMENSION_NAMES}
TYPE_SCALES: dict[str, list[str]] = {t: item_columns(t, ITEMS_PER_TYPE) for t in ENGAGEMENT_TYPE_NAMES}

_ID = Column("customer_id", "id", "Customer (account) identifier, a string such as 'C0000001'.", unique=True)

CONTRACTS: dict[str, Contract] = {
    "customers": Contract(
        kind="customers",
        description="One row per customer: segment, assigned touch model, pre-period covariates.",
        columns=(
            _ID,
            Column("segment", "category", "Customer segment (demo: smb, mid_market, enterprise)."),
            Column(
                "touch_model",
                "category",
                "Assigned engagement model (the experiment arm).",
                allowed=TOUCH_MODEL_NAMES,
            ),
            Column("signup_date", "date", "Date the customer signed up; not in the future."),
            Column(
                "assigned_at",
                "datetime",
                "When the customer entered the experiment (assignment time; monitoring looks cut on it).",
                required=False,
            ),
            Column(
                "prior_revenue",
                "float",
                "Revenue in the 12 months before the experiment (pre-period covariate).",
                required=False,
                min=0,
                unit="currency",
            ),
            Column(
                "prior_activity",
                "float",
                "Activity count (sessions, logins) in the pre-period (covariate).",
                required=False,
                min=0,
            ),
            Column(
                "cost_to_serve",
                "float",
                "Cost to serve the customer over the observation window.",
                required=False,
                min=0,
                unit="currency",
            ),
        ),
    ),
    "survey": Contract(
        kind="survey",
        description=(
            "One row per respondent: Likert items for the five dimensions "
            "(`<dimension>_<k>`, optionally the four types `<type>_<k>`), NPS 0-10, CSAT 1-5."
        ),
        columns=(
            _ID,
            Column("nps", "int", "Likelihood to recommend, 0-10.", nullable=True, min=NPS_MIN, max=NPS_MAX),
            Column("csat", "int", "Satisfaction, 1-5.", nullable=True, min=CSAT_MIN, max=CSAT_MAX),
            Column("survey_date", "date", "Date of the answer; not in the future."),
        ),
        item_pattern=r"^(" + "|".join(DIMENSION_NAMES + ENGAGEMENT_TYPE_NAMES) + r")_\d+$",
        item_min=LIKERT_MIN,
        item_max=LIKERT_MAX,
    ),
    "events": Contract(
        kind="events",
        description="One row per lifecycle event: a customer reaching a stage of a framework.",
        columns=(
            Column("customer_id", "id", "Customer identifier (must exist in customers)."),
            Column("timestamp", "datetime", "When the stage was reached; not in the future."),
            Column("framework", "category", "Framework name.", allowed=FRAMEWORK_NAMES),
            Column("stage", "category", "Stage name within the framework."),
            Column(
                "value",
                "float",
                "Monetary value of the event where it has one (revenue, expansion), else 0.",
                required=False,
                nullable=True,
            ),
        ),
    ),
    "outcomes": Contract(
        kind="outcomes",
        description="One row per customer: retention, churn time with censoring, revenue, referrals.",
        columns=(
            _ID,
            Column("retained", "bool", "Still a customer at the end of the observation window."),
            Column(
                "churn_time",
                "float",
                "Days from start to churn, or to the end of observation if censored.",
                min=0,
                unit="days",
            ),
            Column("churned", "bool", "Event flag: True = churned at churn_time, False = censored."),
            Column("revenue", "float", "Revenue in the window (many zeros, heavy tail).", min=0, unit="currency"),
            Column(
                "expansion_revenue",
                "float",
                "Upsell / cross-sell revenue in the window.",
                min=0,
                unit="currency",
            ),
            Column("referrals", "int", "Number of referred new customers.", min=0),
        ),
    ),
    "dsce": Contract(
        kind="dsce",
        description=(
            "One row per account (an account is a customer): ratings of the DSCE "
            "components on a declared scale (default 1-5), at least one component column and "
            "at least one rating per account; optional `target_<component>` columns hold the "
            "desired state. A blank rating is a component not rated (the scorecard's "
            "`missing=` decides: an error, or the index averages the rated components)."
        ),
        columns=(_ID,)
        + tuple(
            Column(
                c,
                "float",
                f"Rating of component '{c}'.",
                required=False,
                nullable=True,
                min=DSCE_MIN,
                max=DSCE_MAX,
            )
            for c in DSCE_COMPONENT_NAMES
        )
        + tuple(
            Column(
                f"target_{c}",
                "float",
                f"Desired-state target for '{c}'.",
                required=False,
                min=DSCE_MIN,
                max=DSCE_MAX,
            )
            for c in DSCE_COMPONENT_NAMES
        ),
    ),
}

TABLE_KINDS: tuple[str, ...] = tuple(CONTRACTS)


def _values_text(col: Column) -> str:
    """The 'values' cell of the data dictionary for one column."""
    if col.allowed is not None:
        text = ", ".join(f"`{a}`" for a in col.allowed)
    elif col.name == "stage":
        text = "a stage of the row's `framework` (table below)"
    elif col.kind == "bool":
        text = "True/False (TRUE/FALSE, yes/no, Y/N, 1/0 accepted)"
    elif col.kind == "date":
        text = "YYYY-MM-DD, not in the future"
    elif col.kind == "datetime":
        text = "YYYY-MM-DD HH:MM:SS, not in the future"
    elif col.min is not None and col.max is not None:
        text = f"{col.min:g} to {col.max:g}"
    elif col.min is not None:
        text = f">= {col.min:g}"
    elif col.kind == "id":
        text = "text"
    else:
        text = "any"
    if col.unit:
        text += f" ({col.unit})"
    if col.nullable:
        text += "; may be blank"
    return text


def _required_text(col: Column) -> str:
    text = "yes" if col.required else "no"
    return text + (", unique" if col.unique else "")


def data_dictionary_markdown() -> str:
    """The data dictionary of the five contract tables as Markdown (``data/README.md``
    embeds it; a test keeps the two identical).

    Example
    -------
    >>> print(data_dictionary_markdown().splitlines()[0])
    ### `customers`
    """
    from .frameworks import FRAMEWORKS

    out: list[str] = []
    for contract in CONTRACTS.values():
        out += [f"### `{contract.kind}`", "", contract.description, ""]
        out += ["| column | kind | required | values | description |", "|---|---|---|---|---|"]
        for col in contract.columns:
            out.append(
                f"| `{col.name}` | {col.kind} | {_required_text(col)} | {_values_text(col)} | {col.description} |"
            )
        if contract.kind == "survey":
            scale = f"{contract.item_min:g} to {contract.item_max:g}; may be blank"
            for dim, items in DEFAULT_SCALES.items():
                reverse = [i for i in items if i in REVERSE_KEYED_ITEMS]
                out.append(
                    f"| `{items[0]}` .. `{items[-1]}` | Likert item | at least one item column | {scale} | "
                    f"Items of the {dim} dimension; reverse-keyed: {', '.join(f'`{r}`' for r in reverse)}. |"
                )
            for typ, items in TYPE_SCALES.items():
                out.append(
                    f"| `{typ}_1` .. `{typ}_{len(items)}` | Likert item | no | {scale} | "
                    f"Optional items of the {typ} engagement type. |"
                )
            out += [
                "",
                f"Item columns are recognised by the pattern `{contract.item_pattern}`; "
                "a different answer scale is declared with `likert_range=(min, max)`.",
            ]
        if contract.kind == "events":
            out += ["", "Stages of each framework, in order (`stage` must be one of its framework's):", ""]
            out += ["| framework | stages |", "|---|---|"]
            for name, fw in FRAMEWORKS.items():
                loop = f" (non-linear; loops back to `{fw.loop_to}`)" if fw.loop_to else ""
                out.append(f"| `{name}` | {' → '.join(f'`{s}`' for s in fw.stage_names)}{loop} |")
        if contract.kind == "dsce":
            out += ["", "A different rating scale is declared with `dsce_range=(min, max)`."]
        out.append("")
    return "\n".join(out).rstrip() + "\n"
