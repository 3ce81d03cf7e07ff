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


def _over_capacity(activity: Activity) -> str:
    """Recorded by ``scoring.capacity.over_capacity_record`` when a move takes the team
    beyond its capacity for the quarter."""
    details = activity.details or {}
    return (f"{details.get('team', 'its team')} is committed to {details.get('committed', '?')} "
            f"engineer-weeks in {details.get('quarter', 'the quarter')} against a capacity of "
            f"{details.get('capacity', '?')} ({details.get('over', '?')} over)")


ACTIVITY_KINDS = {
    Activity.Kind.FUNDING_CHANGED: ActivityKind(
        describe=_funding_changed, digest_section="funding", digest_text=_funding_changed),
    # The digest's "Teams over capacity".
    Activity.Kind.OVER_CAPACITY: ActivityKind(
        describe=_over_capacity, digest_section="over_capacity", digest_text=_over_capacity),
}


def _reads(user, roles) -> bool:
    return True


DASHBOARD = Page("Dashboard", "scoring:dashboard", order=90, shown_to=_reads,
                 home_of=(Role.LEADERSHIP,))
# Predicted against realised value and estimate accuracy, for leadership and every reader.
VALUE = Page("Value", "scoring:value", order=95, shown_to=_reads)


def _drafts_scenarios(user, roles) -> bool:
    from scoring.scenarios import scenario_rights

    return scenario_rights(user).edit


# What-ifs beside the live plan: in the bar of those who draft them (leadership, admins);
# every reader opens a scenario by its address.
SCENARIOS = Page("Scenarios", "scoring:scenarios", order=93, shown_to=_drafts_scenarios)
