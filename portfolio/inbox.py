"""The "Waiting on me" inbox: what waits on a person, from every app's sources
(``portfolio.hooks.INBOX_SOURCES``), and portfolio's own sources:

- stalled pilots they may decide (``stalls_to_decide``);
- value reviews to record, and value at risk to decide (``value_reviews_waiting``);
- pilots they sponsor that only an override of the exit contract holds back from
  production (``overrides_to_confirm``).

Reads only. Each source's ``items`` and ``count`` is one query, whatever the portfolio's
size; the page (``inbox_sections``) and the navigation's number (``inbox_count``) add
nothing but those.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import reduce

from django.db.models import (
    Case,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone

from portfolio import hooks
from portfolio.hooks import InboxItem, InboxSource
from portfolio.models import (
    ContractOverride,
    DigestSubscription,
    Initiative,
    Measurement,
    OverrideKind,
    Stage,
    StallFlag,
    StallReason,
    ValueDecision,
    ValueReview,
)
from portfolio.outcomes import contract
from portfolio.outcomes.selectors import (
    _in_window,
    awaiting_decision_q,
    is_overdue,
    overdue_review_q,
)
from portfolio.outcomes.value_selectors import due_review_q
from portfolio.roles import Role, roles_of
from portfolio.selectors import mine_q

# A section of the page shows at most this many items, then "and N more".
SECTION_LIMIT = 20


# --- The page and the navigation --------------------------------------------------------------

@dataclass(frozen=True)
class InboxRow:
    item: InboxItem
    waited_days: int              # whole days since ``item.since``, in the local calendar


@dataclass(frozen=True)
class InboxSection:
    heading: str
    rows: list[InboxRow]
    count: int                    # everything that waits, shown or not
    more_link: str                # the full list ("" when there is none)

    @property
    def more(self) -> int:
        return max(self.count - len(self.rows), 0)


def _waited(since, today: date) -> int:
    if since is None:
        return 0
    day = timezone.localdate(since) if isinstance(since, datetime) else since
    return max((today - day).days, 0)


def inbox_sections(*, user, now: datetime, limit: int = SECTION_LIMIT) -> list[InboxSection]:
    """Every source's section for ``user``, in the sources' order, each with its first
    ``limit`` items and its count. Queries: each source's items and count."""
    today = timezone.localdate(now)
    sections = []
    for source in hooks.inbox_sources():
        items = source.items(user, now, limit=limit)
        count = source.count(user, now)
        sections.append(InboxSection(
            heading=source.heading,
            rows=[InboxRow(item=item, waited_days=_waited(item.since, today))
                  for item in items],
            count=count,
            more_link=source.more(user) if source.more else ""))
    return sections


def inbox_count(*, user, now: datetime) -> int:
    """How many things wait on ``user``: the navigation's number. Queries: each source's
    count."""
    return sum(source.count(user, now) for source in hooks.inbox_sources())


# --- Who decides a stalled pilot or value at risk -----------------------------------------------

def followed_teams_q(user, prefix: str = "initiative__") -> Q:
    """SQL: on a team ``user`` follows in their digest settings, or any team when they
    follow none — the stalled-pilots page's "only the teams I follow"."""
    followed = (DigestSubscription.teams.through.objects
                .filter(digestsubscription__user=user.pk).values("team_id"))
    return ~Exists(followed) | Q(**{f"{prefix}team__in": followed})


def deciders_q(user, prefix: str = "initiative__") -> Q | None:
    """SQL: the initiatives whose stalls and value at risk wait on ``user``: those they
    own (``InitiativeRights.decide_stall``) and, for a TPM, those of the teams they follow
    (all when they follow none). Admins may decide too, but nothing waits on them. None:
    nothing waits on ``user``."""
    if not user.is_active:
        return None
    decides = Q(**{f"{prefix}owner": user.pk})
    if Role.TPM in roles_of(user):
        decides |= followed_teams_q(user, prefix)
    return decides


# --- Stalled pilots to decide -------------------------------------------------------------------

def _stalls(user) -> QuerySet[StallFlag] | None:
    decides = deciders_q(user)
    if decides is None:
        return None
    return StallFlag.objects.open().filter(decision="").filter(decides)


def stalls_to_decide(user, now: datetime, limit: int | None = None) -> list[InboxItem]:
    """Open, undecided stall flags ``user`` decides, the longest flagged first. One query."""
    flags = _stalls(user)
    if flags is None:
        return []
    flags = (flags.select_related("initiative")
             .only("id", "reason", "flagged_at", "escalated_at", "initiative__id",
                   "initiative__title").order_by("flagged_at", "pk"))
    if limit is not None:
        flags = flags[:limit]
    items = []
    for flag in flags:
        detail = StallReason(flag.reason).label
        if flag.escalated_at is not None:
            detail += " · escalated to the sponsor"
        items.append(InboxItem(
            kind="stall", title="Decide on the stalled pilot", subject=flag.initiative.title,
            detail=detail,
            link=reverse("portfolio:stall-list") + f"?state=undecided#stall-{flag.pk}",
            since=flag.flagged_at))
    return items


def stalls_to_decide_count(user, now: datetime) -> int:
    flags = _stalls(user)
    return 0 if flags is None else flags.count()


def _stall_list(user) -> str:
    return reverse("portfolio:stall-list") + "?state=undecided"


# --- Value reviews ------------------------------------------------------------------------------

def _value_reviews(user, now: datetime) -> QuerySet[ValueReview] | None:
    """Due and overdue reviews of initiatives ``user`` records them for (the owner or a
    Responsible PM: ``InitiativeRights.edit``), and value at risk they decide
    (``deciders_q``)."""
    today = timezone.localdate(now)
    waiting = []
    if user.is_active and Role.PM in roles_of(user):
        waiting.append((overdue_review_q(today) | due_review_q(today))
                       & mine_q(user, "initiative__"))
    decides = deciders_q(user)
    if decides is not None:
        waiting.append(awaiting_decision_q() & decides)
    if not waiting:
        return None
    reviews = ValueReview.objects.filter(reduce(operator.or_, waiting))
    if Role.TPM not in roles_of(user):
        # Then all of them are on ``user``'s initiatives (they decide on the ones they own):
        # saying so lets PostgreSQL start from those, whatever the portfolio's size.
        reviews = reviews.filter(mine_q(user, "initiative__"))
    return reviews


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.get_current_timezone())


def value_reviews_waiting(user, now: datetime, limit: int | None = None) -> list[InboxItem]:
    """The value reviews waiting on ``user``, the longest waiting first: one to record
    waits from its due date, value at risk from when it was recorded. One query."""
    reviews = _value_reviews(user, now)
    if reviews is None:
        return []
    reviews = (reviews.select_related("initiative")
               .only("id", "days", "due_on", "recorded_at", "realised_value", "at_risk",
                     "suggested_decision", "initiative__id", "initiative__title",
                     "initiative__stage", "initiative__predicted_annual_value")
               .annotate(waiting_since=Case(
                   When(recorded_at__isnull=False, then=F("recorded_at")),
                   default=Cast("due_on", DateTimeField())))
               .order_by("waiting_since", "pk"))
    if limit is not None:
        reviews = reviews[:limit]
    today = timezone.localdate(now)
    items = []
    for review in reviews:
        link = review.initiative.get_absolute_url() + f"#value-review-{review.pk}"
        if review.recorded_at is None:
            due = f"{review.due_on:%-d %b %Y}"
            items.append(InboxItem(
                kind="value_review", title=f"Record the {review.days}-day value review",
                subject=review.initiative.title,
                detail=f"Overdue, was due {due}" if is_overdue(review, today) else f"Due {due}",
                link=link, since=_midnight(review.due_on)))
        else:
            detail = (f"{contract.format_value(review.realised_value)} a year realised of "
                      f"{contract.format_value(review.initiative.predicted_annual_value)} "
                      "predicted")
            if review.suggested_decision:
                detail += (" · suggested: "
                           + ValueDecision(review.suggested_decision).label.lower())
            items.append(InboxItem(
                kind="value_at_risk", title="Decide on value at risk",
                subject=review.initiative.title, detail=detail, link=link,
                since=review.recorded_at))
    return items


def value_reviews_waiting_count(user, now: datetime) -> int:
    reviews = _value_reviews(user, now)
    return 0 if reviews is None else reviews.count()


def _value_review_list(user) -> str:
    return reverse("portfolio:value-review-list")


# --- Overrides of the exit contract ---------------------------------------------------------

def _sponsored_pilots(user) -> QuerySet[Initiative]:
    """The pilots ``user`` sponsors, each with its gate's evidence read in the same query
    (as ``outcomes.selectors.contract_evidence_bulk`` reads it): the latest measurement
    inside the window, and whether each override was given in the current stage."""
    latest = (Measurement.objects.filter(initiative=OuterRef("pk")).filter(_in_window())
              .order_by("-measured_on", "-id"))
    overridden = {f"overridden_{kind}": Exists(ContractOverride.objects.filter(
        initiative=OuterRef("pk"), kind=kind, stage_since=OuterRef("stage_changed_at")))
        for kind in OverrideKind.values}
    return (Initiative.objects.filter(stage=Stage.PILOT, sponsor=user.pk)
            .annotate(latest_value=Subquery(latest.values("value")[:1]),
                      latest_on=Subquery(latest.values("measured_on")[:1]),
                      latest_recorded_at=Subquery(latest.values("recorded_at")[:1]),
                      **overridden)
            .order_by("stage_changed_at", "pk"))


@dataclass(frozen=True)
class _Held:
    initiative: Initiative
    blockers: list[contract.Blocker]
    since: datetime


def _held_by_overridable(user, now: datetime) -> list[_Held]:
    """The pilots ``user`` sponsors whose move to production the exit contract holds back
    only for what an override lifts (a missed target, a short pilot: ``contract.Blocker``
    with a ``kind``), the longest waiting first. Governance's reviews are not asked: the
    sponsor's override is theirs to give whatever else still blocks. One query."""
    if not user.is_active:
        return []
    today = timezone.localdate(now)
    held = []
    for initiative in _sponsored_pilots(user):
        reading = (contract.Reading(initiative.latest_value, initiative.latest_on)
                   if initiative.latest_value is not None else None)
        evidence = contract.Evidence(latest_in_window=reading, overridden={
            kind for kind in OverrideKind.values
            if getattr(initiative, f"overridden_{kind}")})
        blockers = contract.contract_blockers(initiative=initiative, to_stage=Stage.PRODUCTION,
                                              today=today, evidence=evidence)
        if not blockers or any(blocker.kind is None for blocker in blockers):
            continue
        since = initiative.stage_changed_at
        if (any(blocker.kind == OverrideKind.TARGET_MISSED for blocker in blockers)
                and initiative.latest_recorded_at is not None):
            since = max(since, initiative.latest_recorded_at)
        held.append(_Held(initiative=initiative, blockers=blockers, since=since))
    held.sort(key=lambda h: (h.since, h.initiative.pk))
    return held


def overrides_to_confirm(user, now: datetime, limit: int | None = None) -> list[InboxItem]:
    held = _held_by_overridable(user, now)
    if limit is not None:
        held = held[:limit]
    return [InboxItem(
        kind="override", title="Decide whether it may go to production anyway",
        subject=h.initiative.title,
        detail="Held back by " + "; and ".join(blocker.text for blocker in h.blockers),
        link=h.initiative.get_absolute_url() + "#contract-h", since=h.since)
        for h in held]


def overrides_to_confirm_count(user, now: datetime) -> int:
    return len(_held_by_overridable(user, now))


def _pilots(user) -> str:
    return reverse("portfolio:initiative-list") + "?stage=pilot"


SOURCES = {
    "portfolio:stalls": InboxSource(
        heading="Stalled pilots to decide", items=stalls_to_decide,
        count=stalls_to_decide_count, order=40, more=_stall_list),
    "portfolio:value-reviews": InboxSource(
        heading="Value reviews to record or decide", items=value_reviews_waiting,
        count=value_reviews_waiting_count, order=50, more=_value_review_list),
    "portfolio:overrides": InboxSource(
        heading="Overrides to confirm", items=overrides_to_confirm,
        count=overrides_to_confirm_count, order=60, more=_pilots),
}
