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
from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from portfolio.models import Initiative, Stage, StageTransition, ValueReview, ValueReviewCount
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


def _status_rules(today: date) -> list[tuple[str, Q]]:
    """(status, condition) in the order they are tried: a review has the first status whose
    condition it meets, else "lapsed"."""
    return [
        ("overdue", overdue_review_q(today)),
        ("due", due_review_q(today)),
        ("at_risk", awaiting_decision_q()),
        ("decided", ~Q(decision="")),
        ("recorded", Q(recorded_at__isnull=False)),
        ("upcoming", Q(due_on__gt=today, initiative__stage__in=VALUE_STAGES)),
    ]


def review_status(today: date) -> Case:
    """Each review's status (a key of ``STATUSES``) as of ``today``, in SQL."""
    return Case(*[When(condition, then=Value(key)) for key, condition in _status_rules(today)],
                default=Value("lapsed"), output_field=CharField())


def status_q(today: date) -> dict[str, Q]:
    """The reviews of each status (every key of ``STATUSES``) as of ``today``: a status's
    condition, and none of those tried before it — the rows ``review_status`` gives it."""
    exact, before = {}, Q()
    for key, condition in _status_rules(today):
        exact[key] = condition & ~before if before else condition
        before |= condition
    exact["lapsed"] = ~before
    return exact


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

# The statuses under each tab, in ``STATUSES`` order ("" is every review).
TAB_STATUSES = {
    "": [key for key, _ in STATUSES],
    "overdue": ["overdue"],
    "due": ["due"],
    "at_risk": ["at_risk"],
    "recorded": ["at_risk", "decided", "recorded"],  # recorded at all
}


def _reviews(*, user, filters: dict) -> QuerySet[ValueReview]:
    """Every review matching the page's filters but the tab."""
    queryset = ValueReview.objects.all()
    if filters.get("team"):
        queryset = queryset.filter(initiative__team=filters["team"])
    if filters.get("mine"):  # the initiative list's "mine": owned, or Responsible for
        queryset = queryset.filter(
            initiative__in=Initiative.objects.filter(mine_q(user)).values("pk"))
    return queryset


def _with_rows(queryset: QuerySet[ValueReview], *, now: datetime) -> QuerySet[ValueReview]:
    return with_review_status(
        queryset.select_related("initiative__team", "initiative__owner", "decided_by"),
        now=now)


def value_review_list(*, user, filters: dict | None = None,
                      now: datetime) -> QuerySet[ValueReview]:
    """The value reviews page's rows, most urgent first (overdue, due, value at risk, …;
    then by due date), in one query: each review with its status, its initiative, team
    and owner. ``filters`` are a ``ValueReviewFilterForm``'s cleaned data: ``tab`` (a key
    of ``REVIEW_TABS``), ``team`` and ``mine`` (initiatives ``user`` owns or is
    Responsible for). It sorts every matching review; the page reads a page of it through
    ``ReviewsByUrgency``."""
    filters = filters or {}
    today = timezone.localdate(now)
    return (_with_rows(_reviews(user=user, filters=filters), now=now)
            .filter(tab_q(filters.get("tab") or "", today))
            .annotate(urgency=_urgency())
            .order_by("urgency", "due_on", "id"))


class ReviewsByUrgency:
    """``value_review_list``'s rows for a ``Paginator``, without sorting every review.

    The order is by status (``STATUSES``), then due date and id. Each status's reviews are
    read from an index in (due_on, id) order (migration 0018_value_review_order), so rows
    ``start`` to ``stop`` are among the first ``stop`` of each status: one query reads
    those ids (a ``UNION ALL`` of one ``LIMIT`` per status, ordered), a second the page's
    rows. "lapsed" (pending, of an initiative that left production) is rare and has no
    index of its own: it is read only when a page reaches past the other statuses.
    ``counts`` are ``value_review_tab_counts``'s (tab: count): the page's count is its
    tab's, and the statuses after "overdue" and "due" (whose counts are their tabs') are
    not read when those alone reach ``stop``. Where a database cannot limit each part of a
    ``UNION`` (SQLite), the page is a slice of ``value_review_list``."""

    def __init__(self, *, user, filters: dict, now: datetime, counts: dict[str, int]):
        self.user, self.filters, self.now, self.counts = user, filters, now, counts
        self._count = counts[filters.get("tab") or ""]

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, page: slice) -> list[ValueReview]:
        if not connection.features.supports_slicing_ordering_in_compound:
            return list(value_review_list(user=self.user, filters=self.filters,
                                          now=self.now)[page])
        start, stop = page.start or 0, page.stop
        today = timezone.localdate(self.now)
        tab = self.filters.get("tab") or ""
        reviews = _reviews(user=self.user, filters=self.filters).filter(tab_q(tab, today))
        exact = status_q(today)
        rank = {key: n for n, (key, _) in enumerate(STATUSES)}
        statuses, counted = [], 0  # the rows of the statuses so far, while their tabs count them
        for key in TAB_STATUSES.get(tab, TAB_STATUSES[""]):
            statuses.append(key)
            counted = counted + self.counts[key] if counted is not None and key in (
                "overdue", "due") else None
            if counted is not None and counted >= stop:
                break
        ids: list[int] = []
        for batch in ([key for key in statuses if key != "lapsed"],
                      [key for key in statuses if key == "lapsed"]):
            wanted = stop - len(ids)
            if not batch or wanted <= 0:
                continue
            parts = [reviews.filter(exact[key]).annotate(urgency=Value(rank[key]))
                     .order_by("due_on", "id").values_list("urgency", "due_on", "id")[:wanted]
                     for key in batch]
            if len(parts) > 1:  # one part is in order already
                parts = [parts[0].union(*parts[1:], all=True)
                         .order_by("urgency", "due_on", "id")[:wanted]]
            ids += [pk for *_, pk in parts[0]]
        ids = ids[start:stop]
        rows = _with_rows(ValueReview.objects.filter(pk__in=ids), now=self.now).in_bulk()
        return [rows[pk] for pk in ids if pk in rows]


def value_review_counts_stored() -> bool:
    """Whether the database keeps ``ValueReviewCount`` (PostgreSQL's triggers, migration
    0019); elsewhere the tabs are counted directly."""
    return connection.vendor == "postgresql"


def _stored_tab_q(tab: str, today: date) -> Q:
    """``tab_q`` on ``ValueReviewCount``'s columns (tests/portfolio/test_value_counts.py
    proves the sums equal counting)."""
    cutoff = overdue_cutoff(today)
    return {
        "overdue": Q(in_production=True, pending=True, due_on__lt=cutoff),
        "due": Q(in_production=True, pending=True, due_on__gte=cutoff, due_on__lte=today),
        "at_risk": Q(in_production=True, at_risk=True, decided=False),
        "recorded": Q(pending=False),
    }.get(tab, Q())


def value_review_tab_counts(*, user, filters: dict | None = None,
                            now: datetime) -> list[tuple[str, str, int]]:
    """(tab, label, count) for every tab of ``REVIEW_TABS``, in one query; the page's other
    filters apply. Unfiltered, on PostgreSQL, summed from the stored ``ValueReviewCount``
    (a few hundred rows at any size); filtered (a team's, a PM's own: a few reviews) or on
    SQLite, counted."""
    filters = filters or {}
    today = timezone.localdate(now)
    if value_review_counts_stored() and not filters.get("team") and not filters.get("mine"):
        counts = ValueReviewCount.objects.aggregate(**{
            key or "all": Coalesce(Sum("reviews", filter=_stored_tab_q(key, today)), 0)
            for key, _ in REVIEW_TABS})
    else:
        counts = _reviews(user=user, filters=filters).order_by().aggregate(**{
            key or "all": Count("pk", filter=tab_q(key, today)) for key, _ in REVIEW_TABS})
    return [(key, label, counts[key or "all"]) for key, label in REVIEW_TABS]


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
