"""Reads of the value-after-production pages: the initiative page's card and the
portfolio-wide value reviews list.

A review's status is one SQL expression (``review_status``) built from the rules in
``portfolio.outcomes.selectors`` (``overdue_review_q``, ``awaiting_decision_q``); the list's
tabs filter by the same conditions, so a row always sits under the tab its status names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Case, CharField, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from portfolio.models import Initiative, Stage, StageTransition, ValueReview
from portfolio.outcomes.selectors import (
    VALUE_STAGES,
    accuracy,
    awaiting_decision_q,
    overdue_cutoff,
    overdue_review_q,
)
from portfolio.selectors import mine_q

# A review's statuses, most urgent first: (key, label). "upcoming" is also what the card
# calls a review not created yet (its day after production is still ahead).
STATUSES = (
    ("overdue", "Overdue"),
    ("due", "Due"),
    ("at_risk", "Value at risk"),
    ("upcoming", "Upcoming"),
    ("decided", "Decided"),
    ("recorded", "Recorded"),
    ("lapsed", "Not recorded"),  # pending, but the initiative left production
)
STATUS_LABELS = dict(STATUSES)

# The value reviews page's tabs: (key, label); "" is every review.
REVIEW_TABS = (
    ("", "All"),
    ("overdue", "Overdue"),
    ("due", "Due"),
    ("at_risk", "Value at risk"),
    ("recorded", "Recorded"),
)


def due_review_q(today: date, prefix: str = "") -> Q:
    """Pending reviews that came due and are still inside their grace period, of
    initiatives in production (past it they are overdue: ``overdue_review_q``)."""
    return Q(**{f"{prefix}recorded_at__isnull": True,
                f"{prefix}due_on__lte": today,
                f"{prefix}due_on__gte": overdue_cutoff(today),
                f"{prefix}initiative__stage__in": VALUE_STAGES})


def tab_q(tab: str, today: date) -> Q:
    """The reviews under ``tab`` (a key of ``REVIEW_TABS``; anything else: all)."""
    return {
        "overdue": overdue_review_q(today),
        "due": due_review_q(today),
        "at_risk": awaiting_decision_q(),
        # Recorded at all: at risk, decided, or fine.
        "recorded": Q(recorded_at__isnull=False),
    }.get(tab, Q())


def review_status(today: date) -> Case:
    """Each review's status (a key of ``STATUSES``) as of ``today``, in SQL."""
    return Case(
        When(overdue_review_q(today), then=Value("overdue")),
        When(due_review_q(today), then=Value("due")),
        When(awaiting_decision_q(), then=Value("at_risk")),
        When(~Q(decision=""), then=Value("decided")),
        When(recorded_at__isnull=False, then=Value("recorded")),
        When(due_on__gt=today, initiative__stage__in=VALUE_STAGES, then=Value("upcoming")),
        default=Value("lapsed"), output_field=CharField())


def _urgency() -> Case:
    """The list's order: the statuses in ``STATUSES`` order."""
    return Case(*[When(status=Value(key), then=Value(rank))
                  for rank, (key, _) in enumerate(STATUSES)],
                default=Value(len(STATUSES)), output_field=IntegerField())


def with_review_status(queryset: QuerySet[ValueReview], *,
                       now: datetime) -> QuerySet[ValueReview]:
    """Annotate ``status`` (``review_status``) as of ``now``; read the initiative's stage
    from the same query."""
    return queryset.annotate(status=review_status(timezone.localdate(now)))


# --- The value reviews page ------------------------------------------------------------------

def _reviews(*, user, filters: dict) -> QuerySet[ValueReview]:
    """Every review matching the page's filters but the tab."""
    queryset = ValueReview.objects.select_related("initiative__team", "initiative__owner",
                                                  "decided_by")
    if filters.get("team"):
        queryset = queryset.filter(initiative__team=filters["team"])
    if filters.get("mine"):  # the initiative list's "mine": owned, or Responsible for
        queryset = queryset.filter(
            initiative__in=Initiative.objects.filter(mine_q(user)).values("pk"))
    return queryset


def value_review_list(*, user, filters: dict | None = None,
                      now: datetime) -> QuerySet[ValueReview]:
    """The value reviews page's rows, most urgent first (overdue, due, value at risk, …;
    then by due date), in one query: each review with its status, its initiative, team
    and owner. ``filters`` are a ``ValueReviewFilterForm``'s cleaned data: ``tab`` (a key
    of ``REVIEW_TABS``), ``team`` and ``mine`` (initiatives ``user`` owns or is
    Responsible for)."""
    filters = filters or {}
    today = timezone.localdate(now)
    return (with_review_status(_reviews(user=user, filters=filters), now=now)
            .filter(tab_q(filters.get("tab") or "", today))
            .annotate(urgency=_urgency())
            .order_by("urgency", "due_on", "id"))


def value_review_tab_counts(*, user, filters: dict | None = None,
                            now: datetime) -> list[tuple[str, str, int]]:
    """(tab, label, count) for every tab of ``REVIEW_TABS``, in one query; the page's other
    filters apply."""
    today = timezone.localdate(now)
    counts = (_reviews(user=user, filters=filters or {}).order_by()
              .aggregate(**{f"n_{key or 'all'}": Count("pk", filter=tab_q(key, today))
                            for key, _ in REVIEW_TABS}))
    return [(key, label, counts[f"n_{key or 'all'}"]) for key, label in REVIEW_TABS]


# --- The initiative page's card ------------------------------------------------------------

@dataclass(frozen=True)
class UpcomingReview:
    """A review the daily job will create: its day after production is still ahead."""

    days: int
    due_on: date
    status: str = "upcoming"


def realised_share(review: ValueReview) -> Decimal | None:
    """Realised ÷ predicted value of a recorded review, as a percentage (None without a
    prediction or a figure)."""
    ratio = accuracy(review.realised_value, review.initiative.predicted_annual_value)
    return None if ratio is None else ratio * 100


@dataclass(frozen=True)
class ValueCard:
    """What the initiative page shows of its value after production."""

    shown: bool                 # it has been in production (or has reviews)
    in_production: bool
    production_since: datetime | None
    reviews: list               # ValueReview rows (with ``status``), then UpcomingReview
    currency: str


def value_card(*, initiative: Initiative, now: datetime) -> ValueCard:
    """The card's reviews in the order they come due, the ones still ahead of an initiative
    in production last. One query for an initiative that is not in production; two for
    one that is (when it last entered production: the reviews still ahead count from it,
    as the daily job does)."""
    reviews = list(with_review_status(
        ValueReview.objects.filter(initiative=initiative)
        .select_related("initiative", "recorded_by", "decided_by"), now=now)
        .order_by("due_on", "id"))
    in_production = initiative.stage in VALUE_STAGES
    since = max((review.production_since for review in reviews), default=None)
    upcoming = []
    if in_production:
        since = (StageTransition.objects
                 .filter(initiative=initiative, to_stage=Stage.PRODUCTION)
                 .order_by("-at", "-id").values_list("at", flat=True).first()) or since
    if in_production and since is not None:
        entered_on = timezone.localdate(since)
        today = timezone.localdate(now)
        have = {review.days for review in reviews if review.production_since == since}
        upcoming = [UpcomingReview(days=days, due_on=entered_on + timedelta(days=days))
                    for days in settings.VALUE_REVIEW_DAYS
                    if days not in have and entered_on + timedelta(days=days) > today]
    return ValueCard(shown=bool(reviews) or in_production, in_production=in_production,
                     production_since=since, reviews=[*reviews, *upcoming],
                     currency=settings.VALUE_CURRENCY)
