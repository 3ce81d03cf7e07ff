"""What governance registers in portfolio's extension points (``portfolio.hooks``) besides
its rules: how its activities read on the timeline and in the digest, and its page."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse

from governance.models import ReviewerGroup
from portfolio.hooks import ActivityKind, Message, Notify, Page
from portfolio.models import Activity, Stakeholder
from portfolio.notifications.audience import EventBatch, owner_and_responsible
from portfolio.roles import Role


def _checkpoint_decided(activity: Activity) -> str:
    details = activity.details or {}
    return f"{details.get('checkpoint', '')} {details.get('status', '')}".strip()


def _checkpoint_rejected_in_digest(activity: Activity) -> str:
    return f"{(activity.details or {}).get('checkpoint', 'A checkpoint')} was rejected"


def _checkpoints(activity: Activity) -> str:
    return ", ".join((activity.details or {}).get("checkpoints", []))


def _out_of_compliance(activity: Activity) -> str:
    expired = " (waiver expired)" if (activity.details or {}).get("waiver_expired") else ""
    return _checkpoints(activity) + expired


def _out_of_compliance_in_digest(activity: Activity) -> str:
    checkpoints = _checkpoints(activity) or "a checkpoint"
    if (activity.details or {}).get("waiver_expired"):
        return f"out of compliance: the waiver of {checkpoints} expired"
    return f"out of compliance: {checkpoints} not approved"


# --- Who hears of a review, and in what words (docs/architecture.md, "Notifications") -------

def _name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else "Someone"


def _groups_of(activity: Activity) -> set[int | None]:
    details = activity.details or {}
    if "checkpoints" in details:
        return {(c or {}).get("group") for c in details["checkpoints"] if isinstance(c, dict)}
    return {details.get("group")}


def _reviewers(batch: EventBatch, *, also=None) -> dict[int, set[int]]:
    """The reviewers each event's checkpoints are routed to (a group's members who are
    reviewers; every active reviewer where no route names a group), without those the
    segregation rule keeps from deciding them: the owner, the sponsor and people in
    ``SEGREGATED_ROLES``. ``also(activity)``: people to add. Three queries for the batch."""
    if not batch.activities:
        return {}
    groups = set().union(*(_groups_of(a) for a in batch.activities))
    reviewers = set(get_user_model().objects.filter(groups__name=Role.REVIEWER, is_active=True)
                    .values_list("pk", flat=True))
    members: dict[int, set[int]] = {}
    for group_id, user_id in (ReviewerGroup.members.through.objects
                              .filter(reviewergroup_id__in=groups - {None})
                              .values_list("reviewergroup_id", "user_id")):
        members.setdefault(group_id, set()).add(user_id)
    barred: dict[int, set[int]] = {}
    for initiative_id, user_id in (Stakeholder.objects
                                   .filter(initiative__in=batch.initiatives,
                                           role__in=list(settings.SEGREGATED_ROLES))
                                   .values_list("initiative_id", "user_id")):
        barred.setdefault(initiative_id, set()).add(user_id)
    answer = {}
    for activity in batch.activities:
        facts = batch.initiative(activity)
        people = set()
        for group in _groups_of(activity):
            people |= reviewers if group is None else members.get(group, set()) & reviewers
        people -= {facts.owner_id, facts.sponsor_id} | barred.get(facts.pk, set())
        answer[activity.pk] = people | (also(activity) if also else set())
    return answer


def _review_requested_to(batch: EventBatch) -> dict[int, set[int]]:
    return _reviewers(batch)


def _re_review_to(batch: EventBatch) -> dict[int, set[int]]:
    return _reviewers(batch, also=lambda a: {pk for pk in [(a.details or {}).get("rejected_by")]
                                             if pk})


def _checkpoint_link(checkpoint_id) -> str:
    return reverse("governance:checkpoint-decide", args=[checkpoint_id])


def _review_requested_message(activity: Activity) -> Message:
    checkpoints = [c for c in (activity.details or {}).get("checkpoints", [])
                   if isinstance(c, dict)]
    title = activity.initiative.title
    names = ", ".join(c.get("name", "") for c in checkpoints)
    if len(checkpoints) == 1:
        subject = f"Review requested: {names} on “{title}”"
        link = _checkpoint_link(checkpoints[0]["id"])
    else:
        subject = f"{len(checkpoints)} reviews requested on “{title}”"
        link = activity.initiative.get_absolute_url()
    stage = activity.initiative.get_stage_display()
    text = (f"“{title}” ({stage}) needs {names} before it can move on. "
            "It is in your review queue.")
    return Message(subject=subject, text=text, link=link)


def _re_review_message(activity: Activity) -> Message:
    details = activity.details or {}
    title = activity.initiative.title
    subject = (f"Another review requested: {details.get('checkpoint', '')} on “{title}” "
               f"(round {details.get('round', 2)})")
    text = (f"{_name(activity.actor)} answered the rejection and asks for another review.\n"
            f"What changed: {details.get('changed', '')}")
    return Message(subject=subject, text=text, link=_checkpoint_link(details.get("checkpoint_id")))


def _decided_message(activity: Activity) -> Message:
    details = activity.details or {}
    title = activity.initiative.title
    status = details.get("status", "")
    checkpoint = details.get("checkpoint", "A checkpoint")
    who = _name(activity.actor)
    subject = f"{checkpoint} {status} on “{title}”"
    if status == "waived":
        text = (f"{who} waived it until {details.get('waiver_expires_on', '?')}.\n"
                f"Justification: {details.get('waiver_justification', '')}")
    else:
        lines = [f"{who} {status} it."]
        label = "Reason" if status == "rejected" else "Evidence"
        if details.get("evidence_notes"):
            lines.append(f"{label}: {details['evidence_notes']}")
        if details.get("evidence_url"):
            lines.append(f"Link: {details['evidence_url']}")
        if status == "rejected":
            lines.append("Answer with what changed and ask for another review on the "
                         "checkpoint's page.")
        text = "\n".join(lines)
    link = (_checkpoint_link(details["checkpoint_id"]) if details.get("checkpoint_id")
            else activity.initiative.get_absolute_url())
    return Message(subject=subject, text=text, link=link)


def _review_requested(activity: Activity) -> str:
    return ", ".join(c.get("name", "") for c in (activity.details or {}).get("checkpoints", [])
                     if isinstance(c, dict))


def _re_review(activity: Activity) -> str:
    details = activity.details or {}
    return (f"{details.get('checkpoint', '')}, round {details.get('round', '?')}: "
            f"{details.get('changed', '')}")


ACTIVITY_KINDS = {
    Activity.Kind.REVIEW_REQUESTED: ActivityKind(
        describe=_review_requested,
        notify=Notify(label="A review is requested of you or your reviewer group",
                      recipients=_review_requested_to, render=_review_requested_message)),
    Activity.Kind.RE_REVIEW_REQUESTED: ActivityKind(
        describe=_re_review,
        notify=Notify(label="Another review is requested after a rejection",
                      recipients=_re_review_to, render=_re_review_message)),
    Activity.Kind.CHECKPOINT_DECIDED: ActivityKind(
        describe=_checkpoint_decided, digest_section="new_blockers",
        # Only a rejection is a new blocker.
        digest_when=Q(details__status="rejected"), digest_text=_checkpoint_rejected_in_digest,
        notify=Notify(label="A checkpoint on your initiative is decided",
                      recipients=owner_and_responsible, render=_decided_message)),
    Activity.Kind.OUT_OF_COMPLIANCE: ActivityKind(
        describe=_out_of_compliance, digest_section="new_blockers",
        digest_text=_out_of_compliance_in_digest),
}


def _reviewer(user, roles) -> bool:
    return Role.REVIEWER in roles


REVIEW_QUEUE = Page("Review queue", "governance:review-queue", order=20, shown_to=_reviewer,
                    home_of=(Role.REVIEWER,))
