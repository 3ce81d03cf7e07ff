"""What waits on people in governance, for their "Waiting on me" page and the navigation's
count (``portfolio.hooks.INBOX_SOURCES``, registered in ``GovernanceConfig.ready``):

- reviews a reviewer may act on now (``reviews_waiting``);
- rejections of their initiatives the owner or a Responsible PM has to answer with a
  re-review (``rejections_to_address``);
- their initiatives the reviews in the queue hold back from the next stage
  (``initiatives_blocked``).

Reads only. Each ``items`` and ``count`` is one query, whatever the portfolio's size (none
for a user the section cannot concern: a non-reviewer has no reviews, a non-PM no
initiatives of their own); the reviews' count is summed from the stored queue counts
(``selectors.review_queue_mine_counts``).
"""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import (
    Case,
    IntegerField,
    Min,
    QuerySet,
    Value,
    When,
)
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from governance.models import Checkpoint, CheckpointStatus, overdue_q
from governance.selectors import (
    decidable_by_q,
    in_queue_q,
    queue_ordered,
    review_queue_mine_counts,
    routed_to_q,
)
from portfolio.hooks import InboxItem, InboxSource
from portfolio.models import STAGE_ORDER, Stage
from portfolio.roles import Role, roles_of
from portfolio.selectors import mine_q

# How much of a rejection's reason an inbox item shows.
REASON_CHARS = 160


def _today(now: datetime) -> date:
    return timezone.localdate(now)


def _day(day: date) -> str:
    return f"{day:%-d %b}"


def _name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else "a reviewer"


# --- Reviews waiting on a reviewer ------------------------------------------------------------

def _is_reviewer(user) -> bool:
    return bool(user.is_active and Role.REVIEWER in roles_of(user))


def _reviews_waiting(user, now: datetime) -> QuerySet[Checkpoint]:
    """In the review queue (``selectors.in_queue_q``) and not rejected (a rejection waits
    on the initiative's people), taken by ``user`` or routed to them and not taken
    (``selectors.routed_to_q``), and theirs to decide under the segregation of duties
    (``selectors.decidable_by_q``): the review queue's "mine"."""
    return (Checkpoint.objects.filter(in_queue_q(_today(now)))
            .exclude(status=CheckpointStatus.REJECTED)
            .filter(routed_to_q(user))
            .filter(decidable_by_q(user)))


def _review_detail(checkpoint: Checkpoint, today: date) -> str:
    if checkpoint.status == CheckpointStatus.WAIVED:
        parts = [f"Waiver expired {_day(checkpoint.waiver_expires_on)}"]
    else:
        parts = [checkpoint.get_status_display()]
    if checkpoint.overdue_first == 0:
        parts.append(f"overdue, was due {_day(checkpoint.due_date)}")
    else:
        parts.append(f"due {_day(checkpoint.due_date)}")
    if checkpoint.round > 1:
        parts.append(f"round {checkpoint.round}")
    return " · ".join(parts)


def reviews_waiting(user, now: datetime, limit: int | None = None) -> list[InboxItem]:
    """The reviews ``user`` may act on in the review queue's order (``QUEUE_ORDER``, as on
    their "mine" tab, which "see all" opens): overdue first, the longest overdue first,
    then the soonest due; expired waivers last. One query, read in the queue's order
    through its rows (``selectors.queue_ordered``), so the first ``limit`` cost the same
    however many reviews wait and however many open reviews are not in the queue."""
    if not _is_reviewer(user):
        return []
    today = _today(now)
    rows = queue_ordered(
        _reviews_waiting(user, now).select_related("initiative", "type")
        .only("id", "status", "requested_at", "due_date", "round", "waiver_expires_on",
              "initiative__id", "initiative__title", "type__name")
        .annotate(overdue_first=Case(When(overdue_q(today), then=Value(0)),
                                     default=Value(1), output_field=IntegerField())))
    if limit is not None:
        rows = rows[:limit]
    return [InboxItem(kind="review", title=f"Review {cp.type.name}",
                      subject=cp.initiative.title, detail=_review_detail(cp, today),
                      link=reverse("governance:checkpoint-decide", args=[cp.pk]),
                      since=cp.requested_at)
            for cp in rows]


def reviews_waiting_count(user, now: datetime) -> int:
    """Their "mine" tab's count without its rejections, from
    ``selectors.review_queue_mine_counts``: one query."""
    if not _is_reviewer(user):
        return 0
    counts = review_queue_mine_counts(user, today=_today(now))
    return counts["all"] - counts["rejected"]


def _my_queue(user) -> str:
    return reverse("governance:review-queue") + "?mine=1"


# --- Rejections to address ----------------------------------------------------------------------

def _has_own_initiatives(user) -> bool:
    """Only PMs edit, so only they answer a rejection or move an initiative on."""
    return bool(user.is_active and Role.PM in roles_of(user))


def _rejections(user) -> QuerySet[Checkpoint]:
    """Rejected checkpoints that still apply, on initiatives ``user`` owns or is
    Responsible for that are not retired: each waits for what changed and a re-review
    (``services.checkpoint_request_re_review``)."""
    return (Checkpoint.objects.applicable()
            .filter(mine_q(user, "initiative__"), status=CheckpointStatus.REJECTED)
            .exclude(initiative__stage=Stage.RETIRED))


def rejections_to_address(user, now: datetime, limit: int | None = None) -> list[InboxItem]:
    """The rejections of ``user``'s initiatives, the oldest first, each with its reason.
    One query."""
    if not _has_own_initiatives(user):
        return []
    rows = (_rejections(user).select_related("initiative", "type", "reviewer")
            .only("id", "decided_at", "evidence_notes", "round", "initiative__id",
                  "initiative__title", "type__name", "reviewer__username",
                  "reviewer__first_name", "reviewer__last_name")
            .order_by("decided_at", "pk"))
    if limit is not None:
        rows = rows[:limit]
    items = []
    for cp in rows:
        reason = Truncator(" ".join(cp.evidence_notes.split())).chars(REASON_CHARS)
        detail = f"Rejected by {_name(cp.reviewer)}" + (f": {reason}" if reason else "")
        items.append(InboxItem(
            kind="rejection", title=f"Answer the rejection of {cp.type.name}",
            subject=cp.initiative.title, detail=detail,
            link=reverse("governance:checkpoint-decide", args=[cp.pk]), since=cp.decided_at))
    return items


def rejections_to_address_count(user, now: datetime) -> int:
    if not _has_own_initiatives(user):
        return 0
    return _rejections(user).count()


def _rejected_queue(user) -> str:
    return reverse("governance:review-queue") + "?status=rejected"


# --- Initiatives blocked by reviews -----------------------------------------------------------

def _blocking(user, now: datetime) -> QuerySet[Checkpoint]:
    """The reviews in the queue on ``user``'s initiatives: each gates the initiative's next
    stage or an earlier one (the queue holds no upcoming review), so each blocks the next
    move."""
    return Checkpoint.objects.filter(in_queue_q(_today(now)), mine_q(user, "initiative__"))


def _next_stage_label(stage: str) -> str:
    if stage not in STAGE_ORDER or stage == STAGE_ORDER[-1]:
        return ""
    return Stage(STAGE_ORDER[STAGE_ORDER.index(stage) + 1]).label


def _blocking_phrase(checkpoint: Checkpoint) -> str:
    if checkpoint.status == CheckpointStatus.WAIVED:
        return f"{checkpoint.type.name} (waiver expired)"
    return f"{checkpoint.type.name} ({checkpoint.get_status_display().lower()})"


def initiatives_blocked(user, now: datetime, limit: int | None = None) -> list[InboxItem]:
    """One item per initiative of ``user``'s that reviews hold back, naming them; the
    initiative waiting longest first (by its oldest request). One query: the initiatives
    are chosen (and limited) in a subquery, their blocking reviews read at once."""
    if not _has_own_initiatives(user):
        return []
    blocking = _blocking(user, now)
    chosen = (blocking.values("initiative").order_by()
              .annotate(oldest=Min("requested_at")).order_by("oldest", "initiative")
              .values("initiative"))
    if limit is not None:
        chosen = chosen[:limit]
    rows = (blocking.filter(initiative__in=chosen)
            .select_related("initiative", "type")
            .only("id", "status", "requested_at", "initiative__id", "initiative__title",
                  "initiative__stage", "type__name")
            .order_by())  # ordered below, by initiative
    by_initiative: dict[int, list[Checkpoint]] = {}
    for cp in rows:
        by_initiative.setdefault(cp.initiative_id, []).append(cp)
    items = []
    for _, checkpoints in sorted(by_initiative.items(), key=lambda entry: (
            min(cp.requested_at for cp in entry[1]), entry[0])):
        checkpoints.sort(key=lambda cp: (cp.type.name, cp.pk))
        initiative = checkpoints[0].initiative
        stage = _next_stage_label(initiative.stage)
        items.append(InboxItem(
            kind="blocked", title=f"Blocked from moving to {stage}" if stage
            else "Blocked by reviews",
            subject=initiative.title,
            detail=", ".join(_blocking_phrase(cp) for cp in checkpoints),
            link=initiative.get_absolute_url(),
            since=min(cp.requested_at for cp in checkpoints)))
    return items


def initiatives_blocked_count(user, now: datetime) -> int:
    if not _has_own_initiatives(user):
        return 0
    return _blocking(user, now).values("initiative").distinct().count()


def _my_initiatives(user) -> str:
    return reverse("portfolio:initiative-list") + "?mine=true"


SOURCES = {
    "governance:reviews": InboxSource(
        heading="Reviews waiting on you", items=reviews_waiting, count=reviews_waiting_count,
        order=10, more=_my_queue),
    "governance:rejections": InboxSource(
        heading="Rejections to address", items=rejections_to_address,
        count=rejections_to_address_count, order=20, more=_rejected_queue),
    "governance:blocked": InboxSource(
        heading="Your initiatives blocked by reviews", items=initiatives_blocked,
        count=initiatives_blocked_count, order=30, more=_my_initiatives),
}
