"""What scoring registers in portfolio's extension points (``portfolio.hooks``) besides its
rules: how a crossing of the funding line reads, and the dashboard in the navigation."""

from __future__ import annotations

from portfolio.hooks import ActivityKind, Page
from portfolio.models import Activity
from portfolio.roles import Role


def _funding_changed(activity: Activity) -> str:
    details = activity.details or {}
    where = "above" if details.get("funded") else "below"
    text = f"now {where} the funding line for {details.get('quarter', 'the quarter')}"
    if details.get("reason"):
        text += f" ({details['reason']})"
    return text


ACTIVITY_KINDS = {
    Activity.Kind.FUNDING_CHANGED: ActivityKind(
        describe=_funding_changed, digest_section="funding", digest_text=_funding_changed),
}


def _reads(user, roles) -> bool:
    return True


DASHBOARD = Page("Dashboard", "scoring:dashboard", order=90, shown_to=_reads,
                 home_of=(Role.LEADERSHIP,))
# Predicted against realised value and estimate accuracy, for leadership and every reader.
VALUE = Page("Value", "scoring:value", order=95, shown_to=_reads)
