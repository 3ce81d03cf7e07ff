"""Reads of the stalled-pilots page."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Exists, Q, QuerySet
from django.utils import timezone

from portfolio.models import DigestSubscription, StallDecision, StallFlag, StallResolution
from portfolio.stalls import current_reason_sql

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

    The rule of ``portfolio.stalls.stall_reason``, in SQL so that the page filters on
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


