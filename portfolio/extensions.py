"""What portfolio itself registers in its extension points (``portfolio.hooks``): how its
own activities read, and its pages in the navigation. Other apps register theirs the same
way, so the timeline, the digest and the navigation treat every app alike."""

from __future__ import annotations

from django.urls import reverse

from portfolio.hooks import ActivityKind, Message, Notify, Page
from portfolio.models import Activity, Stage, Stakeholder, ValueDecision
from portfolio.notifications.audience import (
    EventBatch,
    owner_and_responsible,
    owner_responsible_and_sponsor,
)
from portfolio.roles import Role


def stage_label(value: str | None) -> str:
    """The label of a stage value stored in an event's details."""
    return Stage(value).label if value in Stage.values else (value or "?")


def _stage_moved(activity: Activity) -> str:
    details = activity.details or {}
    return f"{stage_label(details.get('from'))} → {stage_label(details.get('to'))}"


def _stage_moved_in_digest(activity: Activity) -> str:
    text = _stage_moved(activity)
    if activity.actor:
        text += f" by {activity.actor.get_full_name() or activity.actor.get_username()}"
    return text


def _people_changed(activity: Activity) -> str:
    details = activity.details or {}
    if details.get("added"):
        what = f"added {details['added']}"
    elif details.get("left"):
        what = f"{details['left']} left"
    else:
        what = f"removed {details.get('removed', '')}"
    role = details.get("role", "")
    return f"{what} ({dict(Stakeholder.Role.choices).get(role, role)})"


def _dependency_changed(activity: Activity) -> str:
    details = activity.details or {}
    how = "now depends on" if details.get("added") else "no longer depends on"
    return f"{how} “{details.get('title', '')}”"


def _owner_changed(activity: Activity) -> str:
    details = activity.details or {}
    return f"{details.get('from', '')} → {details.get('to', '')}"


def _nothing(activity: Activity) -> str:
    return ""


def _measurement_recorded(activity: Activity) -> str:
    details = activity.details or {}
    count = details.get("count", 1)
    latest = f"{details.get('value', '')} on {details.get('on', '')}"
    return latest if count == 1 else f"{count} values, the latest {latest}"


def _contract_overridden(activity: Activity) -> str:
    details = activity.details or {}
    return f"{details.get('overridden', '')}. Reason: {details.get('reason', '')}"


def _value_review_due(activity: Activity) -> str:
    return f"{(activity.details or {}).get('days', '?')} days after entering production"


def _value_review_recorded(activity: Activity) -> str:
    details = activity.details or {}
    text = (f"{details.get('realised', '?')} realised, {details.get('run_cost', '?')} run "
            "cost a year")
    return text + (" (value at risk)" if details.get("at_risk") else "")


def _value_decided(activity: Activity) -> str:
    details = activity.details or {}
    decision = dict(ValueDecision.choices).get(details.get("decision"), "?")
    return f"{decision}: {details.get('note', '')}"


# --- Notifications: who hears of portfolio's events, in what words ------------------------------

def _who(activity: Activity) -> str:
    actor = activity.actor
    return (actor.get_full_name() or actor.get_username()) if actor else "Someone"


def _stall_flagged_message(activity: Activity) -> Message:
    details = activity.details or {}
    title = activity.initiative.title
    return Message(
        subject=f"Stalled pilot: “{title}”",
        text=(f"“{title}” is flagged as stalled ({details.get('reason_label', 'stalled')}). "
              "It needs a decision: scale, extend with a justification, or kill."),
        link=reverse("portfolio:stall-list"))


def _stall_escalated_message(activity: Activity) -> Message:
    title = activity.initiative.title
    weeks = (activity.details or {}).get("weeks", "?")
    return Message(
        subject=f"Stall escalated: “{title}”",
        text=(f"The stall of “{title}” has waited {weeks} weeks for a decision; its sponsor "
              "is now told too."),
        link=reverse("portfolio:stall-list"))


def _override_message(activity: Activity) -> Message:
    details = activity.details or {}
    title = activity.initiative.title
    return Message(
        subject=f"Exit contract overridden on “{title}”",
        text=(f"{_who(activity)} overrode: {details.get('overridden', '')}.\n"
              f"Reason: {details.get('reason', '')}"),
        link=activity.initiative.get_absolute_url())


def _owner_changed_to(batch: EventBatch) -> dict[int, set[int]]:
    """The new owner, the one before, and the Responsible people."""
    answer = {}
    for activity in batch.activities:
        details = activity.details or {}
        people = batch.owner_and_responsible(activity)
        people |= {pk for pk in (details.get("from_id"), details.get("to_id")) if pk}
        answer[activity.pk] = people
    return answer


def _owner_changed_message(activity: Activity) -> Message:
    details = activity.details or {}
    title = activity.initiative.title
    return Message(
        subject=f"New owner of “{title}”: {details.get('to', '')}",
        text=(f"{_who(activity)} reassigned “{title}” from {details.get('from', '')} to "
              f"{details.get('to', '')}, who is now accountable for it."),
        link=activity.initiative.get_absolute_url())


ACTIVITY_KINDS = {
    Activity.Kind.CREATED: ActivityKind(describe=_nothing),
    Activity.Kind.EDITED: ActivityKind(describe=_nothing),
    Activity.Kind.STAGE_MOVED: ActivityKind(describe=_stage_moved, digest_section="stage_moves",
                                            digest_text=_stage_moved_in_digest),
    Activity.Kind.UPDATE_POSTED: ActivityKind(describe=_nothing),
    Activity.Kind.OWNER_CHANGED: ActivityKind(
        describe=_owner_changed,
        notify=Notify(label="An initiative you own or work on changes owner",
                      recipients=_owner_changed_to, render=_owner_changed_message)),
    Activity.Kind.STALL_FLAGGED: ActivityKind(
        describe=_nothing,
        notify=Notify(label="A pilot you own or work on is flagged as stalled",
                      recipients=owner_and_responsible, render=_stall_flagged_message)),
    Activity.Kind.STALL_DECIDED: ActivityKind(describe=_nothing),
    Activity.Kind.STALL_ESCALATED: ActivityKind(
        describe=_nothing,
        notify=Notify(label="A stall is escalated to the sponsor",
                      recipients=owner_responsible_and_sponsor,
                      render=_stall_escalated_message)),
    Activity.Kind.PEOPLE_CHANGED: ActivityKind(describe=_people_changed),
    Activity.Kind.DEPENDENCY_CHANGED: ActivityKind(describe=_dependency_changed),
    Activity.Kind.MEASUREMENT_RECORDED: ActivityKind(describe=_measurement_recorded),
    Activity.Kind.CONTRACT_OVERRIDDEN: ActivityKind(
        describe=_contract_overridden,
        notify=Notify(label="An exit contract is overridden", default_mode="daily",
                      recipients=owner_responsible_and_sponsor, render=_override_message)),
    Activity.Kind.VALUE_REVIEW_DUE: ActivityKind(describe=_value_review_due),
    Activity.Kind.VALUE_REVIEW_RECORDED: ActivityKind(describe=_value_review_recorded),
    Activity.Kind.VALUE_DECIDED: ActivityKind(describe=_value_decided),
}


def _reads(user, roles) -> bool:
    return True  # the navigation is only built for readers of the portfolio


def _pm(user, roles) -> bool:
    return Role.PM in roles


def _follows_teams(user, roles) -> bool:
    from portfolio.access import can_follow_teams

    return can_follow_teams(user)


def _staff(user, roles) -> bool:
    return user.is_staff


PAGES = {
    "portfolio:inbox": Page("Waiting on me", "portfolio:inbox", order=5, shown_to=_reads),
    "my-initiatives": Page("My initiatives", "portfolio:initiative-list", order=10,
                           shown_to=_pm, query="mine=true", home_of=(Role.PM,)),
    "portfolio:initiative-list": Page("All initiatives", "portfolio:initiative-list",
                                      order=40, shown_to=_reads),
    "portfolio:kill-log": Page("Kill log", "portfolio:kill-log", order=50, shown_to=_reads),
    "portfolio:ownership-health": Page("Ownership", "portfolio:ownership-health", order=60,
                                       shown_to=_reads),
    "portfolio:stall-list": Page("Stalled pilots", "portfolio:stall-list", order=70,
                                 shown_to=_reads, home_of=(Role.TPM,)),
    "portfolio:value-review-list": Page("Value reviews", "portfolio:value-review-list",
                                        order=75, shown_to=_reads),
    "portfolio:digest-settings": Page("Digest", "portfolio:digest-settings", order=80,
                                      shown_to=_follows_teams),
    "portfolio:notification-settings": Page("Notifications", "portfolio:notification-settings",
                                            order=90, shown_to=_reads),
    "portfolio:api-tokens": Page("API tokens", "portfolio:api-tokens", order=100,
                                 shown_to=_reads),
    "admin:index": Page("Admin", "admin:index", order=110, shown_to=_staff),
}
