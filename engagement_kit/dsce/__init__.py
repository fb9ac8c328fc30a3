"""The desired state of customer engagement (DSCE) scorecard (being split into modules)."""

from .scores import *  # noqa: F401,F403
from .scores import QUESTIONS, TEMPLATE_COLUMNS, __all__  # noqa: F401
