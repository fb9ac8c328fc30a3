"""The DSCE assessment helper: questionnaire template, filled answers -> the wide dsce table.

:data:`QUESTIONS` turns the essay's questions into a questionnaire;
:func:`questionnaire_template` writes one row per account x question for an analyst to
fill in, :func:`validate_answers` checks a filled sheet (the :func:`answers_contract`
through :func:`engagement_kit.validation.validate`, plus the checks only the question
bank can make) and :func:`answers_to_dsce` turns it into the wide dsce table (the
component rating is the mean of its answered questions).

>>> sheet = questionnaire_template(["A1"]).assign(rating=3)
>>> answers_to_dsce(sheet)[["customer_id", "journey"]].to_dict("records")
[{'customer_id': 'A1', 'journey': 3.0}]
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ..frameworks import DSCE_COMPONENT_NAMES, DSCE_COMPONENTS
from ..schema import DSCE_MAX, DSCE_MIN, Column, Contract
from ..validation import Problem, ValidationError, validate
from .scores import _check_scale

__all__ = ["QUESTIONS", "TEMPLATE_COLUMNS", "answers_contract", "questionnaire_template", "validate_answers",
           "answers_to_dsce"]  # fmt: skip


#: The essay's assessment questions, per component: (component, question_id, question).
QUESTIONS: tuple[tuple[str, str, str], ...] = (
    ("customer_intent", "customer_intent_1", "Do we know why this customer came to us (the goal they bought for)?"),
    ("customer_intent", "customer_intent_2", "Is that intent recorded and shared with everyone who serves the customer?"),
    ("anticipation", "anticipation_1", "Are content and guidance ready before the customer needs them?"),
    ("anticipation", "anticipation_2", "Do we anticipate the customer's next needs and behaviours from their data?"),
    ("product_adoption", "product_adoption_1", "How deep is the customer's usage of what they bought?"),
    ("product_adoption", "product_adoption_2", "How broad is usage across the customer's users and teams?"),
    ("product_adoption", "product_adoption_3", "Is the customer free of blocking bugs and issues?"),
    ("outcomes_at_scale", "outcomes_at_scale_1", "Is the customer reaching the goals they came for?"),
    ("outcomes_at_scale", "outcomes_at_scale_2", "Is the customer's health score good?"),
    ("relationships", "relationships_1", "Is there an ongoing relationship both before and after the sale?"),
    ("relationships", "relationships_2", "Does the customer advocate for us (references, referrals, reviews)?"),
    ("communication", "communication_1", "Is our communication two-way engagement rather than one-way messages?"),
    ("communication", "communication_2", "Is the customer's engagement positive (not neutral or negative)?"),
    ("education", "education_1", "Is education content available with clear learning objectives?"),
    ("education", "education_2", "Is education delivered at scale to all of the customer's users?"),
    ("journey", "journey_1", "Is the journey prescriptive: is the next best step always clear?"),
    ("journey", "journey_2", "Is it predictive and proactive: do we act before the customer has to ask?"),
    ("journey", "journey_3", "Is the journey tailored to the customer's segment or tier?"),
)

TEMPLATE_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "component",
    "component_label",
    "question_id",
    "question",
    "scale",
    "rating",
    "comment",
)


def questionnaire_template(
    accounts: Iterable[str],
    *,
    scale_min: int = DSCE_MIN,
    scale_max: int = DSCE_MAX,
    questions: Iterable[tuple[str, str, str]] = QUESTIONS,
    path: str | Path | None = None,
) -> pd.DataFrame:
    """One row per account x question with empty ``rating`` and ``comment`` to fill in.

    Optionally written to ``path`` (CSV). The ``scale`` column reminds the
    analyst of the declared scale.

    >>> t = questionnaire_template(["A1"])
    >>> len(t), list(t.columns)[:4]
    (18, ['customer_id', 'component', 'component_label', 'question_id'])
    """
    _check_scale(scale_min, scale_max)
    accounts = list(dict.fromkeys(accounts))
    if not accounts:
        raise ValueError("questionnaire_template needs at least one account id")
    q = pd.DataFrame(list(questions), columns=["component", "question_id", "question"])
    q["component_label"] = q["component"].map(lambda c: DSCE_COMPONENTS[c].label if c in DSCE_COMPONENTS else c)
    q["scale"] = f"{scale_min:g} (not at all) .. {scale_max:g} (fully, the desired state)"
    acc = pd.DataFrame({"customer_id": accounts})
    out = acc.merge(q, how="cross")
    out["rating"] = np.nan
    out["comment"] = ""
    out = out[list(TEMPLATE_COLUMNS)]
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        out.to_csv(path, index=False)
    return out

def answers_contract(
    *,
    scale_min: float = DSCE_MIN,
    scale_max: float = DSCE_MAX,
    components: Iterable[str] = DSCE_COMPONENT_NAMES,
) -> Contract:
    """The data contract of a filled questionnaire (long: one row per account x question)."""
    return Contract(
        kind="answers",
        description="One row per account x question of the DSCE questionnaire (questionnaire_template()).",
        columns=(
            Column("customer_id", "id", "Account identifier."),
            Column("component", "category", "The DSCE component asked about.", allowed=tuple(components)),
            Column("question_id", "id", "Question id of the template."),
            Column(
                "rating",
                "float",
                "Answer on the declared scale; blank = not answered.",
                nullable=True,
                min=scale_min,
                max=scale_max,
            ),
        ),
    )


def validate_answers(
    answers: pd.DataFrame,
    *,
    scale_min: float = DSCE_MIN,
    scale_max: float = DSCE_MAX,
    accounts: Iterable[str] | None = None,
    components: Iterable[str] = DSCE_COMPONENT_NAMES,
    questions: Iterable[tuple[str, str, str]] | None = QUESTIONS,
) -> None:
    """Check a filled-in questionnaire; raise :class:`~engagement_kit.validation.ValidationError`
    listing every problem (table ``answers``, column, rows, fix).

    The :func:`answers_contract` checks the columns, the ids, the components and the
    ratings (numbers on the declared scale; a blank rating of a single question is
    allowed: the component rating averages the answered ones). On top, from the question
    bank: unknown question ids (``questions=None`` accepts any), a question answered twice
    for one account, accounts not in ``accounts`` (when given) and an account with no
    answered question for some component.
    """
    _check_scale(scale_min, scale_max)
    components = list(components)
    contract = answers_contract(scale_min=scale_min, scale_max=scale_max, components=components)
    problems = validate(answers, contract, table="answers")
    if any(p.code in ("missing_column", "not_a_table") for p in problems):
        raise ValidationError(problems, source="answers")
    a = answers.reset_index(drop=True)
    known_c = a["component"].isin(components).to_numpy()

    def add(column, message, fix, code, mask=None):
        problems.append(Problem.from_mask("answers", column, message, fix, code, mask))

    if questions is not None:
        bank = {(c, q) for c, q, _ in questions}
        unknown_q = ~pd.Series(list(zip(a["component"], a["question_id"]))).isin(bank).to_numpy() & known_c
        if unknown_q.any():
            add("question_id", f"unknown question id(s) {list(a.loc[unknown_q, 'question_id'].unique()[:5])} "
                "for their component", "use the ids of the template (or pass questions=None)", "unknown_label", unknown_q)  # fmt: skip
    dup = a.duplicated(["customer_id", "question_id"], keep=False).to_numpy()
    if dup.any():
        add("question_id", "question answered more than once for one account",
            "keep one answer per account and question", "duplicate_id", dup)  # fmt: skip
    if accounts is not None:
        unk = (a["customer_id"].notna() & ~a["customer_id"].isin(set(accounts))).to_numpy()
        if unk.any():
            add("customer_id", f"{a.loc[unk, 'customer_id'].nunique()} unknown account(s) (not in the customer list): "
                f"{list(a.loc[unk, 'customer_id'].unique()[:5])}", "correct the ids or add the accounts", "unmatched_id", unk)  # fmt: skip
    r = pd.to_numeric(a["rating"], errors="coerce")
    answered = a.loc[r.notna().to_numpy() & known_c, ["customer_id", "component"]].drop_duplicates()
    have = set(zip(answered["customer_id"], answered["component"]))
    lacking = [(acc, c) for acc in a["customer_id"].dropna().unique() for c in components if (acc, c) not in have]
    if lacking:
        add("rating", f"{len(lacking)} account x component pair(s) have no answered question, e.g. {lacking[:5]}",
            "answer at least one question per component", "missing_values")  # fmt: skip
    if problems:
        raise ValidationError(problems, source="answers")


def answers_to_dsce(
    answers: pd.DataFrame,
    *,
    scale_min: float = DSCE_MIN,
    scale_max: float = DSCE_MAX,
    accounts: Iterable[str] | None = None,
    components: Iterable[str] = DSCE_COMPONENT_NAMES,
    questions: Iterable[tuple[str, str, str]] | None = QUESTIONS,
) -> pd.DataFrame:
    """Validated answers -> the wide dsce table (component rating = mean of its answered questions).

    >>> t = questionnaire_template(["A1"])
    >>> t["rating"] = 4
    >>> answers_to_dsce(t).iloc[0].to_dict()["journey"]
    4.0
    """
    components = list(components)
    validate_answers(answers, scale_min=scale_min, scale_max=scale_max, accounts=accounts,
                     components=components, questions=questions)  # fmt: skip
    a = answers.assign(rating=pd.to_numeric(answers["rating"], errors="coerce")).dropna(subset=["rating"])
    wide = a.pivot_table(index="customer_id", columns="component", values="rating", aggfunc="mean")
    wide = wide.reindex(columns=components).reset_index()
    wide.columns.name = None
    return wide
