"""What governance registers in portfolio's extension points (``portfolio.hooks``) besides
its rules: how its activities read on the timeline and in the digest, and its page."""

from __future__ import annotations

from django.db.models import Q

from portfolio.hooks import ActivityKind, Page
from portfolio.models import Activity
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


ACTIVITY_KINDS = {
    Activity.Kind.CHECKPOINT_DECIDED: ActivityKind(
        describe=_checkpoint_decided, digest_section="new_blockers",
        # Only a rejection is a new blocker.
        digest_when=Q(details__status="rejected"), digest_text=_checkpoint_rejected_in_digest),
    Activity.Kind.OUT_OF_COMPLIANCE: ActivityKind(
        describe=_out_of_compliance, digest_section="new_blockers",
        digest_text=_out_of_compliance_in_digest),
}


def _reviewer(user, roles) -> bool:
    return Role.REVIEWER in roles


REVIEW_QUEUE = Page("Review queue", "governance:review-queue", order=20, shown_to=_reviewer,
                    home_of=(Role.REVIEWER,))
