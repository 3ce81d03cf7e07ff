"""The value reviews page reads its tab counts from ``ValueReviewCount`` (kept by
PostgreSQL triggers, migration 0019) and its rows a status at a time
(``ReviewsByUrgency``): the counts equal counting after every kind of write and as days
pass, and every page holds the same rows, in the same order, as sorting every review."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from portfolio.models import Initiative, Stage, Team, ValueReview
from portfolio.outcomes.value_selectors import (
    REVIEW_TABS,
    STATUSES,
    ReviewsByUrgency,
    tab_q,
    value_review_counts_stored,
    value_review_list,
    value_review_tab_counts,
)
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = FIXED_NOW
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def value_settings(settings):
    settings.VALUE_REVIEW_GRACE_DAYS = 14


def review(initiative, *, due_days_ago, days=30, **fields) -> ValueReview:
    return ValueReview.objects.create(
        initiative=initiative, production_since=NOW - timedelta(days=days + due_days_ago),
        days=days, due_on=TODAY - timedelta(days=due_days_ago), scheduled_at=NOW,
        scheduled_run="test", **fields)


def recorded(**fields) -> dict:
    return {"recorded_at": NOW, "realised_value": Decimal("100"), "run_cost": Decimal("10"),
            **fields}


def counted(today: date) -> list[tuple[str, str, int]]:
    """The tabs counted row by row."""
    return [(key, label, ValueReview.objects.filter(tab_q(key, today)).count())
            for key, label in REVIEW_TABS]


def assert_counts_exact():
    for days_later in (0, 10, 15, 60):  # the date rules move as days pass, with no write
        now = NOW + timedelta(days=days_later)
        assert (value_review_tab_counts(user=None, now=now)
                == counted(now.date())), f"{days_later} days later"


@pytest.fixture
def portfolio_of_every_status():
    """Reviews of every status (``STATUSES``), several of each, due on different days."""
    team = TeamFactory(name="Claims", slug="claims")
    other = TeamFactory(name="Fraud", slug="fraud")
    made = []
    for n in range(3):
        live = InitiativeFactory(stage=Stage.PRODUCTION, team=team if n % 2 else other)
        scaled = InitiativeFactory(stage=Stage.SCALED, team=team)
        retired = InitiativeFactory(stage=Stage.RETIRED, retirement_reason="cost", team=other)
        made += [
            review(live, due_days_ago=20 + n),                                # overdue
            review(live, due_days_ago=3 + n, days=90),                        # due
            review(scaled, due_days_ago=30 + n, **recorded(at_risk=True)),    # at risk
            review(scaled, due_days_ago=-5 - n, days=90),                     # upcoming
            review(scaled, due_days_ago=40 + n, days=180,
                   **recorded(at_risk=True, decision="fix")),                 # decided
            review(live, due_days_ago=50 + n, days=180, **recorded()),        # recorded
            review(retired, due_days_ago=25 + n),                             # lapsed
        ]
    return made


@pytest.mark.skipif(not value_review_counts_stored(), reason="PostgreSQL keeps the counts")
def test_the_stored_tab_counts_equal_counting_after_every_kind_of_write(
        portfolio_of_every_status):
    reviews = portfolio_of_every_status
    assert_counts_exact()

    # Recorded, put at risk, decided: one review moves through every recorded status.
    pending = reviews[0]
    ValueReview.objects.filter(pk=pending.pk).update(**recorded())
    assert_counts_exact()
    ValueReview.objects.filter(pk=pending.pk).update(at_risk=True)
    assert_counts_exact()
    pending.refresh_from_db()
    pending.decision = "retire"
    pending.save()
    assert_counts_exact()

    # Its due date moves; a review moves to another initiative.
    ValueReview.objects.filter(pk=reviews[1].pk).update(due_on=TODAY - timedelta(days=100))
    assert_counts_exact()
    ValueReview.objects.filter(pk=reviews[2].pk).update(initiative=reviews[6].initiative)
    assert_counts_exact()

    # Initiatives leave production and come back, one by one and in bulk; a move within
    # production changes nothing.
    live = reviews[0].initiative
    live.stage, live.retirement_reason = Stage.RETIRED, "cost"
    live.save()
    assert_counts_exact()
    Initiative.objects.filter(stage=Stage.RETIRED).update(stage=Stage.PRODUCTION,
                                                         retirement_reason="")
    assert_counts_exact()
    Initiative.objects.filter(stage=Stage.PRODUCTION).update(stage=Stage.SCALED)
    assert_counts_exact()
    Initiative.objects.filter(pk=live.pk).update(stage=Stage.PILOT)
    assert_counts_exact()

    # Bulk inserts, deletes, and an initiative deleted with its reviews.
    ValueReview.objects.bulk_create([
        ValueReview(initiative=live, production_since=NOW, days=days, scheduled_at=NOW,
                    due_on=TODAY - timedelta(days=days), scheduled_run="bulk")
        for days in (1, 2, 16, 17)])
    assert_counts_exact()
    ValueReview.objects.filter(scheduled_run="bulk", days__gt=10).delete()
    assert_counts_exact()
    reviews[3].initiative.delete()
    assert_counts_exact()
    ValueReview.objects.all().delete()
    assert_counts_exact()
    assert value_review_tab_counts(user=None, now=NOW) == [(key, label, 0)
                                                           for key, label in REVIEW_TABS]


def test_the_tab_counts_count_each_tab_with_a_filter_too(portfolio_of_every_status):
    counts = {key: n for key, _, n in value_review_tab_counts(user=None, now=NOW)}
    assert counts == {"": 21, "overdue": 3, "due": 3, "at_risk": 3, "recorded": 9}

    claims = {key: n for key, _, n in value_review_tab_counts(
        user=None, filters={"team": Team.objects.get(slug="claims")},
        now=NOW)}
    assert claims == {"": 12, "overdue": 1, "due": 1, "at_risk": 3, "recorded": 7}


@pytest.mark.parametrize("tab", [key for key, _ in REVIEW_TABS])
@pytest.mark.parametrize("per_page", [1, 2, 4, 7, 50])
def test_every_page_holds_the_rows_of_sorting_every_review(portfolio_of_every_status, tab,
                                                          per_page):
    filters = {"tab": tab}
    everything = list(value_review_list(user=None, filters=filters, now=NOW))
    counts = {key: n for key, _, n in value_review_tab_counts(user=None, filters=filters,
                                                              now=NOW)}
    pages = ReviewsByUrgency(user=None, filters=filters, now=NOW, counts=counts)

    assert len(pages) == len(everything)
    for start in range(0, len(everything) + per_page, per_page):
        page = pages[start:start + per_page]
        assert ([(row.pk, row.status) for row in page]
                == [(row.pk, row.status) for row in everything[start:start + per_page]])


def test_the_pages_run_through_every_status_most_urgent_first(portfolio_of_every_status):
    counts = {key: n for key, _, n in value_review_tab_counts(user=None, now=NOW)}
    rows = ReviewsByUrgency(user=None, filters={}, now=NOW, counts=counts)[0:50]

    statuses = [row.status for row in rows]
    assert statuses == [key for key, _ in STATUSES for _ in range(3)]
    overdue = [row.due_on for row in rows[:3]]
    assert overdue == sorted(overdue)


def test_a_pm_pages_through_only_their_own_reviews(portfolio_of_every_status, pm):
    mine = InitiativeFactory(stage=Stage.PRODUCTION, owner=pm)
    review(mine, due_days_ago=30)
    review(mine, due_days_ago=-10, days=90)
    filters = {"mine": True}
    counts = {key: n for key, _, n in value_review_tab_counts(user=pm, filters=filters,
                                                              now=NOW)}

    rows = ReviewsByUrgency(user=pm, filters=filters, now=NOW, counts=counts)[0:50]

    assert counts[""] == 2
    assert [(row.initiative_id, row.status) for row in rows] == [(mine.pk, "overdue"),
                                                                  (mine.pk, "upcoming")]
