"""Reads of the stalled-pilots page and the digest's pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, Q, QuerySet
from django.utils import timezone

from portfolio.models import (
    DigestDelivery,
    DigestSubscription,
    StallDecision,
    StallFlag,
    StallResolution,
)
from portfolio.pilots.digest.content import (
    digest_recipients,
    digest_render,
    digests_build,
    next_period,
    scheduled_at,
    week_label,
)
from portfolio.pilots.services import current_reason_sql
from portfolio.roles import Role

# The stalled-pilots page's states (``selectors.stall_flag_list``); none: every open stall.
STALL_STATES = (
    ("undecided", "Undecided"),
    ("waiting", "Scale-up waiting on the gate"),
    ("escalated", "Escalated"),
    ("extended", "Extended"),
)


def with_current_stall_reason(queryset: QuerySet[StallFlag], *,
                              now: datetime) -> QuerySet[StallFlag]:
    """Annotate each stall flag with ``current_reason``: why its pilot is stalled at ``now``.

    The rule of ``services.stall_reason``, in SQL so that the page filters on
    it; the reason the flag was raised with when the pilot is not stalled any more (an
    extension, or a change detection has not caught up with yet).
    """
    return queryset.annotate(current_reason=current_reason_sql(now, prefix="initiative__"))


def _stall_state_q(state: str, *, today) -> Q:
    """The flags in ``state`` (a key of ``STALL_STATES``; anything else: every open flag)."""
    open_ = Q(resolved_at__isnull=True)
    return {
        "undecided": open_ & Q(decision=""),
        "waiting": open_ & Q(decision=StallDecision.SCALE),
        "escalated": open_ & Q(escalated_at__isnull=False),
        # Resolved by an extension that still runs: detection will look again after it.
        "extended": Q(resolution=StallResolution.EXTENDED, extended_until__gte=today),
    }.get(state, open_)


def _stall_flags(*, user, filters: dict, now: datetime) -> QuerySet[StallFlag]:
    """Every stall flag matching the page's filters but the state."""
    queryset = with_current_stall_reason(
        StallFlag.objects.select_related("initiative__team", "initiative__owner",
                                         "initiative__sponsor", "decided_by"),
        now=now)
    if filters.get("team"):
        queryset = queryset.filter(initiative__team=filters["team"])
    if filters.get("reason"):
        queryset = queryset.filter(current_reason=filters["reason"])
    if filters.get("followed"):
        followed = (DigestSubscription.teams.through.objects
                    .filter(digestsubscription__user=user).values("team_id"))
        queryset = queryset.filter(~Exists(followed) | Q(initiative__team__in=followed))
    return queryset


def stall_flag_list(*, user, filters: dict | None = None,
                    now: datetime | None = None) -> QuerySet[StallFlag]:
    """The stalled-pilots page's flags, longest flagged first, read in one query.

    Open flags unless ``filters`` say otherwise. ``filters`` are a
    ``StallFilterForm``'s cleaned data: ``state`` (a key of ``STALL_STATES``;
    "extended" lists flags resolved by an extension that still runs today),
    ``team`` (a Team), ``reason`` (the reason at ``now``: ``current_reason``) and
    ``followed`` (only the teams ``user`` follows in their digest settings, every
    team when they follow none). Each flag carries its initiative with team, owner
    and sponsor, and who decided.
    """
    filters = filters or {}
    now = now or timezone.now()
    state = _stall_state_q(filters.get("state") or "", today=timezone.localdate(now))
    return _stall_flags(user=user, filters=filters, now=now).filter(state).order_by(
        "flagged_at", "id")


def stall_state_counts(*, user, filters: dict | None = None,
                       now: datetime | None = None) -> list[tuple[str, str, int]]:
    """(state, label, count) for all open flags (state "") and each state, in one query.

    The page's other filters apply; its state filter does not.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    states = (("", "All open"), *STALL_STATES)
    conditions = {key: _stall_state_q(key, today=today) for key, _ in states}
    # Named apart from the annotations: an aggregate may not shadow its source.
    counts = (_stall_flags(user=user, filters=filters or {}, now=now)
              .filter(conditions[""] | conditions["extended"]).order_by()
              .aggregate(**{f"n_{key or 'open'}": Count("pk", filter=condition)
                            for key, condition in conditions.items()}))
    return [(key, label, counts[f"n_{key or 'open'}"]) for key, label in states]


# --- The digest's pages ---------------------------------------------------------------------

RECENT_DELIVERIES = 5


def digest_subscription_get(*, user) -> DigestSubscription | None:
    """The user's digest settings with the teams they follow; None before they saved any."""
    return (DigestSubscription.objects.filter(user=user).prefetch_related("teams").first())


def digest_delivery_list(*, user, limit: int = RECENT_DELIVERIES) -> list[DigestDelivery]:
    """The user's latest digests, newest week first, each with its ``week`` ("2026-W45")."""
    deliveries = list(DigestDelivery.objects.filter(recipient=user)
                      .only("id", "recipient_id", "period", "status", "subject", "attempts",
                            "sent_at", "last_error")
                      .order_by("-period")[:limit])
    for delivery in deliveries:
        delivery.week = week_label(delivery.period)
    return deliveries


@dataclass(frozen=True)
class DigestPreview:
    """What the next digest would hold for ``user``, and why none would be sent."""

    user: object
    period: object            # the Monday of its ISO week
    due_at: datetime          # when the weekly job sends it
    digest: object | None     # a ``digest.content.Digest``; None: not a recipient
    subject: str
    not_sent: str             # "", or why nothing would be sent: inactive, no_email,
    #                           opted_out, not_tpm or empty

    @property
    def would_send(self) -> bool:
        return not self.not_sent

    @property
    def week(self) -> str:
        return week_label(self.period)


def digest_preview(*, user, now: datetime) -> DigestPreview:
    """Build ``user``'s next digest exactly as the weekly job would, without sending it."""
    period = next_period(now)
    recipients = digest_recipients(period=period).filter(pk=user.pk)
    digests = digests_build(now=now, period=period, recipients=recipients)
    digest = digests[0] if digests else None
    subject, not_sent = "", ""
    if digest is None:
        subscription = getattr(user, "digest_subscription", None)
        if not user.is_active:
            not_sent = "inactive"
        elif not user.email:
            not_sent = "no_email"
        elif subscription is not None and subscription.opted_out:
            not_sent = "opted_out"
        else:
            not_sent = "not_tpm"
    elif digest.is_empty:
        not_sent = "empty"
    else:
        subject, _, _ = digest_render(digest)
    return DigestPreview(user=user, period=period, due_at=scheduled_at(period), digest=digest,
                         subject=subject, not_sent=not_sent)


def digest_tpm_choices() -> list:
    """Active TPMs by name, for an admin choosing whose digest to preview."""
    return list(get_user_model().objects.filter(is_active=True, groups__name=Role.TPM)
                .only("id", "username", "first_name", "last_name")
                .order_by("first_name", "last_name", "username"))
