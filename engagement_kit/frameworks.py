"""The domain as data: one source of truth for names, order and labels.

Every module, notebook and plot takes names, order and labels from here, so a
stage or a touch model is spelled one way everywhere. Labels are in English here;
:func:`label` gives them in the languages the source articles exist in (it, es, zh, ru)
from the translation files ``engagement_kit/i18n/<language>.yaml`` (keys ``label.<name>``).

Example
-------
>>> from engagement_kit import frameworks as fw
>>> fw.FRAMEWORKS["aarrr"].stage_names
('acquisition', 'activation', 'retention', 'referral', 'revenue')
>>> fw.label("high_touch")
'High-touch'
>>> fw.label("high_touch", "zh")
'高接觸'
>>> fw.TOUCH_MODEL_NAMES
('high_touch', 'low_touch', 'no_touch')
"""

from __future__ import annotations

from dataclasses import dataclass

from .i18n import messages

__all__ = [
    "Concept",
    "TouchModel",
    "Stage",
    "Framework",
    "TOUCH_MODELS",
    "TOUCH_MODEL_NAMES",
    "FRAMEWORKS",
    "FRAMEWORK_NAMES",
    "DIMENSIONS",
    "DIMENSION_NAMES",
    "ENGAGEMENT_TYPES",
    "ENGAGEMENT_TYPE_NAMES",
    "FIVE_CS",
    "DSCE_COMPONENTS",
    "DSCE_COMPONENT_NAMES",
    "SEGMENTS",
    "SEGMENT_NAMES",
    "SERVICE_MODELS",
    "label",
    "value_label",
    "get_framework",
]


@dataclass(frozen=True)
class Concept:
    """A named domain concept: machine name, English label and a description."""

    name: str
    label: str
    description: str


@dataclass(frozen=True)
class TouchModel(Concept):
    """A touch model (engagement model) with the benefits the articles claim for it."""

    claimed_benefits: tuple[str, ...] = ()
    typical_cost: str = ""


@dataclass(frozen=True)
class Stage(Concept):
    """One stage of a journey framework; ``order`` starts at 1."""

    order: int = 0


@dataclass(frozen=True)
class Framework(Concept):
    """An ordered stage framework (a funnel or lifecycle model).

    ``linear`` is False where customers may enter and leave at any stage (the
    McKinsey decision journey with its loyalty loop); ``loop_to`` names the
    stage a loop returns to, if any.
    """

    stages: tuple[Stage, ...] = ()
    linear: bool = True
    loop_to: str | None = None

    @property
    def stage_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages)

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(
            f"framework {self.name!r} has no stage {name!r}; stages are {list(self.stage_names)}"
        )


def _stages(*items: tuple[str, str, str]) -> tuple[Stage, ...]:
    return tuple(
        Stage(name=n, label=lab, description=d, order=i + 1) for i, (n, lab, d) in enumerate(items)
    )


TOUCH_MODELS: dict[str, TouchModel] = {
    "high_touch": TouchModel(
        name="high_touch",
        label="High-touch",
        description=(
            "Personal, hands-on relationship; much staff time on a small number of "
            "high-value customers; complex or expensive products."
        ),
        claimed_benefits=("higher satisfaction", "higher loyalty", "upsell and cross-sell"),
        typical_cost="highest cost to serve",
    ),
    "low_touch": TouchModel(
        name="low_touch",
        label="Low-touch",
        description=(
            "Automation combined with human interaction for a wider base; moderate-to-high "
            "volumes, less complex offers."
        ),
        claimed_benefits=("scalability", "cost-effectiveness", "better retention"),
        typical_cost="medium",
    ),
    "no_touch": TouchModel(
        name="no_touch",
        label="No-touch",
        description=(
            "Automation and self-service only (chatbots, portals, automated e-mail); "
            "engagement at scale without humans."
        ),
        claimed_benefits=("cost efficiency", "24/7 availability", "fast response times"),
        typical_cost="lowest",
    ),
}
TOUCH_MODEL_NAMES: tuple[str, ...] = tuple(TOUCH_MODELS)

FRAMEWORKS: dict[str, Framework] = {
    "aidae": Framework(
        name="aidae",
        label="AIDAE",
        description="Attention, Interest, Desire, Action, Engagement.",
        stages=_stages(
            ("attention", "Attention", "The customer notices the offer."),
            ("interest", "Interest", "The customer wants to know more."),
            ("desire", "Desire", "The customer wants the product."),
            ("action", "Action", "The customer buys or signs up."),
            ("engagement", "Engagement", "The customer keeps engaging after the action."),
        ),
    ),
    "mckinsey_cdj": Framework(
        name="mckinsey_cdj",
        label="McKinsey customer decision journey",
        description=(
            "Initial consideration, active evaluation, closure, post-purchase experience; "
            "non-linear, with a loyalty loop back to closure."
        ),
        stages=_stages(
            ("initial_consideration", "Initial consideration", "Brands first considered."),
            ("active_evaluation", "Active evaluation", "Information gathering and shopping."),
            ("closure", "Closure", "The moment of purchase."),
            ("post_purchase", "Post-purchase experience", "Use, experience and bonding."),
        ),
        linear=False,
        loop_to="closure",
    ),
    "aarrr": Framework(
        name="aarrr",
        label="AARRR (pirate metrics)",
        description="Acquisition, Activation, Retention, Referral, Revenue; a key metric per stage.",
        stages=_stages(
            ("acquisition", "Acquisition", "The customer arrives."),
            ("activation", "Activation", "A first good experience."),
            ("retention", "Retention", "The customer comes back."),
            ("referral", "Referral", "The customer tells others."),
            ("revenue", "Revenue", "The customer pays."),
        ),
    ),
    "laer": Framework(
        name="laer",
        label="LAER",
        description="Land, Adopt, Expand, Renew: the subscription lifecycle aimed at lifetime value.",
        stages=_stages(
            ("land", "Land", "The first contract."),
            ("adopt", "Adopt", "The product is used as intended."),
            ("expand", "Expand", "More seats, modules or usage."),
            ("renew", "Renew", "The subscription is renewed."),
        ),
    ),
    "five_levels": Framework(
        name="five_levels",
        label="Five levels of engagement",
        description="Exploration, awareness, anticipation, persistence, initiation.",
        stages=_stages(
            ("exploration", "Exploration", "The customer looks around."),
            ("awareness", "Awareness", "The customer knows what the product offers."),
            ("anticipation", "Anticipation", "The customer looks forward to the next interaction."),
            ("persistence", "Persistence", "The customer keeps coming back."),
            (
                "initiation",
                "Initiation",
                "The customer starts conversations, gives feedback, advocates.",
            ),
        ),
    ),
}
FRAMEWORK_NAMES: tuple[str, ...] = tuple(FRAMEWORKS)

DIMENSIONS: dict[str, Concept] = {
    c.name: c
    for c in (
        Concept("enthusiasm", "Enthusiasm", "Emotional connection with the brand."),
        Concept("attention", "Attention", "Focus captured and held."),
        Concept("absorption", "Absorption", "Immersion during interaction."),
        Concept("interaction", "Interaction", "Frequent, meaningful two-way exchanges, community."),
        Concept("identification", "Identification", "Identifies with the brand's values and mission."),
    )
}
DIMENSION_NAMES: tuple[str, ...] = tuple(DIMENSIONS)

ENGAGEMENT_TYPES: dict[str, Concept] = {
    c.name: c
    for c in (
        Concept("cognitive", "Cognitive", "Engagement through content and information."),
        Concept("emotional", "Emotional", "Engagement through personalised experiences."),
        Concept("behavioural", "Behavioural", "Engagement through specific actions."),
        Concept("transactional", "Transactional", "Engagement through purchases and bookings."),
    )
}
ENGAGEMENT_TYPE_NAMES: tuple[str, ...] = tuple(ENGAGEMENT_TYPES)

FIVE_CS: dict[str, Concept] = {
    c.name: c
    for c in (
        Concept("care", "Care", "Show the customer they matter."),
        Concept("connect", "Connect", "Connect customers with people and each other."),
        Concept("coach", "Coach", "Teach customers to succeed with the product."),
        Concept("contribute", "Contribute", "Invite customers to contribute ideas and content."),
        Concept("congratulate", "Congratulate", "Celebrate customers' milestones."),
    )
}

DSCE_COMPONENTS: dict[str, Concept] = {
    c.name: c
    for c in (
        Concept("customer_intent", "Customer intent", "Do we know why the customer came?"),
        Concept(
            "anticipation",
            "Anticipation of needs and behaviours",
            "Are content and guidance ready before they are needed?",
        ),
        Concept(
            "product_adoption",
            "Successful product adoption",
            "Depth and breadth of usage; blocking bugs.",
        ),
        Concept(
            "outcomes_at_scale",
            "Outcomes at scale",
            "Customers reaching their goals; health scores.",
        ),
        Concept(
            "relationships",
            "Relationships",
            "Ongoing pre- and post-sale relationship; advocacy.",
        ),
        Concept(
            "communication",
            "Communication and engagement",
            "One-way communication versus two-way engagement (positive, negative or neutral).",
        ),
        Concept(
            "education",
            "Customer education",
            "Education content with learning objectives, delivered at scale.",
        ),
        Concept(
            "journey",
            "Optimal customer journey",
            "Prescriptive, predictive and proactive; tailored per segment or tier.",
        ),
    )
}
DSCE_COMPONENT_NAMES: tuple[str, ...] = tuple(DSCE_COMPONENTS)

SEGMENTS: dict[str, Concept] = {
    c.name: c
    for c in (
        Concept("smb", "SMB", "Small and medium businesses: many customers, low value each."),
        Concept("mid_market", "Mid-market", "Medium volume, medium value."),
        Concept("enterprise", "Enterprise", "Few customers, high value each."),
    )
}
SEGMENT_NAMES: tuple[str, ...] = tuple(SEGMENTS)

# Contract forms in the service-delivery sense; a segment attribute at most.
SERVICE_MODELS: dict[str, Concept] = {
    c.name: c
    for c in (
        Concept("time_and_materials", "Time and materials", "Billed by effort."),
        Concept("fixed_price", "Fixed price", "One price for a defined scope."),
        Concept("dedicated_team", "Dedicated team", "A team reserved for the client."),
        Concept("hybrid", "Hybrid", "A mix of the above."),
    )
}

def _all_concepts() -> dict[str, Concept]:
    out: dict[str, Concept] = {}
    for table in (
        TOUCH_MODELS,
        FRAMEWORKS,
        DIMENSIONS,
        ENGAGEMENT_TYPES,
        FIVE_CS,
        DSCE_COMPONENTS,
        SEGMENTS,
        SERVICE_MODELS,
    ):
        out.update(table)
    for fwk in FRAMEWORKS.values():
        for s in fwk.stages:
            out.setdefault(s.name, s)
    return out


_CONCEPTS = _all_concepts()


def label(name: str, language: str = "en") -> str:
    """Human label for any concept name (touch models, stages, frameworks, dimensions, DSCE
    components, KPIs) in ``language``; unknown names are capitalised, not rejected, and a name
    without a translation keeps its English label.

    >>> label("product_adoption")
    'Successful product adoption'
    >>> label("retention_rate", "it")
    'Tasso di fidelizzazione'
    >>> label("some_column", "ru")
    'Some column'
    """
    key = f"label.{name}"
    text = messages(language).get(key) or messages("en").get(key)
    if text:
        return text
    concept = _CONCEPTS.get(name)
    if concept is not None:
        return concept.label
    return str(name).replace("_", " ").capitalize()


def value_label(value: object, language: str = "en") -> str:
    """A label from the data as a reader of ``language`` should see it: in English the data's own
    value; in another language the translated label where the value is a known name of the
    domain (a touch model, stage, segment, component, KPI), else the value unchanged. Escape the
    result before it goes into Markdown.

    >>> value_label("high_touch", "zh"), value_label("Mens E-Mail", "zh"), value_label("high_touch")
    ('高接觸', 'Mens E-Mail', 'high_touch')
    """
    text = str(value)
    if language == "en" or not (f"label.{text}" in messages("en") or text in _CONCEPTS):
        return text
    return label(text, language)


def get_framework(name: str) -> Framework:
    """Look a framework up by name, with a helpful error for a misspelling.

    >>> get_framework("LAER").stage_names
    ('land', 'adopt', 'expand', 'renew')
    """
    key = str(name).strip().lower()
    if key in FRAMEWORKS:
        return FRAMEWORKS[key]
    import difflib

    close = difflib.get_close_matches(key, FRAMEWORK_NAMES, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise KeyError(f"unknown framework {name!r}; known: {list(FRAMEWORK_NAMES)}.{hint}")
