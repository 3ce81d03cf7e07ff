"""Value after production on the initiative page, and the value review pages."""

from __future__ import annotations

from datetime import datetime

from portfolio.access import InitiativeRights
from portfolio.models import Initiative
from portfolio.outcomes import selectors


def value_context(*, initiative: Initiative, rights: InitiativeRights, now: datetime) -> dict:
    """What ``_value.html`` shows."""
    return {"reviews": list(selectors.value_reviews_of(initiative))}
