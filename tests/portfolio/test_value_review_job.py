"""The value review job (``value_reviews_schedule``, beat's daily task, the
``schedule_value_reviews`` command): each review comes due once, whoever runs the job and
however often — one after another, two runs at once on PostgreSQL, or a real Celery worker
handed the task twice."""

from __future__ import annotations

import io
import threading
from collections import Counter
from datetime import timedelta
from functools import partial

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command

from conftest import require_postgresql
from portfolio.celery import app as celery_app
from portfolio.models import Activity, Initiative, Stage, StageTransition, ValueReview
from portfolio.outcomes.services import value_reviews_schedule
from portfolio.tasks import value_reviews_schedule_task
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory
from tests.integration.conftest import drain, queue, wait_for  # noqa: F401 (fixtures)
from tests.threads import run_together

ENTERED = FIXED_NOW  # entered production on Monday 2 November 2026, 09:00 UTC


def in_production(title: str, *, entered=ENTERED, team=None) -> Initiative:
    initiative = InitiativeFactory(title=title, team=team or TeamFactory(), contracted=True,
                                   stage=Stage.PRODUCTION, stage_changed_at=entered)
    StageTransition.objects.create(initiative=initiative, from_stage=Stage.PILOT,
                                   to_stage=Stage.PRODUCTION, actor=initiative.owner,
                                   at=entered)
    return initiative


def reviews() -> Counter:
    """(initiative, days) -> how many reviews."""
    return Counter(ValueReview.objects.values_list("initiative_id", "days"))


def due_activities() -> Counter:
    return Counter((initiative_id, details["days"]) for initiative_id, details in
                   Activity.objects.filter(kind=Activity.Kind.VALUE_REVIEW_DUE)
                   .values_list("initiative_id", "details"))


def days_later(days: int, *, hours: int = 0):
    return ENTERED + timedelta(days=days, hours=hours)


@pytest.mark.django_db
def test_the_30_day_review_is_created_once_when_due_and_the_90_day_one_later():
    claims = in_production("Claims copilot")
    InitiativeFactory(title="Still a pilot", stage=Stage.PILOT, contracted=True)

    assert value_reviews_schedule(now=days_later(29, hours=14)) == 0
    assert value_reviews_schedule(now=days_later(30, hours=-9)) == 1  # 00:00 on day 30
    assert value_reviews_schedule(now=days_later(30, hours=5)) == 0
    assert value_reviews_schedule(now=days_later(89)) == 0  # the 30-day one is not redone
    assert reviews() == Counter({(claims.pk, 30): 1})

    assert value_reviews_schedule(now=days_later(90)) == 1
    assert value_reviews_schedule(now=days_later(91)) == 0

    assert reviews() == Counter({(claims.pk, 30): 1, (claims.pk, 90): 1})
    assert due_activities() == Counter({(claims.pk, 30): 1, (claims.pk, 90): 1})
    thirty = ValueReview.objects.get(initiative=claims, days=30)
    assert (thirty.due_on, thirty.production_since) == (days_later(30).date(), ENTERED)
    assert thirty.recorded_at is None


@pytest.mark.django_db
def test_an_initiative_that_left_production_gets_no_new_review():
    retired = in_production("Retired early")
    Initiative.objects.filter(pk=retired.pk).update(stage=Stage.RETIRED,
                                                    retirement_reason="value_not_proven")

    assert value_reviews_schedule(now=days_later(40)) == 0
    assert not ValueReview.objects.exists()


def test_the_command_schedules_what_is_due_and_is_safe_to_run_twice(db):
    first, second = in_production("Claims copilot"), in_production("Spend forecaster")
    out = io.StringIO()

    call_command("schedule_value_reviews", "--now", days_later(31).isoformat(), stdout=out)
    call_command("schedule_value_reviews", "--now", days_later(32).isoformat(), stdout=out)

    assert out.getvalue().splitlines() == ["Scheduled 2 value reviews.",
                                           "Scheduled 0 value reviews."]
    assert reviews() == Counter({(first.pk, 30): 1, (second.pk, 30): 1})


# --- At once, on PostgreSQL -------------------------------------------------------------------

RACED = 6


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_create_each_review_once_and_together_report_the_total(
        monkeypatch):
    require_postgresql("concurrent scheduling needs PostgreSQL (DATABASE_URL=postgres://...)")
    team = TeamFactory(name="Claims", slug="claims")
    made = [in_production(f"Copilot {n}", team=team) for n in range(RACED)]
    # Both runs read what is due before either inserts: the unique constraint decides.
    both_read = threading.Barrier(2, timeout=30)
    real_bulk_create = ValueReview.objects.bulk_create

    def insert_after_both_read(objs, **kwargs):
        both_read.wait()
        return real_bulk_create(objs, **kwargs)

    monkeypatch.setattr(ValueReview.objects, "bulk_create", insert_after_both_read)

    created = run_together(*[partial(value_reviews_schedule, now=days_later(31))] * 2)

    assert sum(created) == RACED
    assert reviews() == Counter({(initiative.pk, 30): 1 for initiative in made})
    assert due_activities() == Counter({(initiative.pk, 30): 1 for initiative in made})


# --- On a real Celery worker ------------------------------------------------------------------

@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_task_run_twice_on_a_real_worker_creates_each_review_once(queue, drain):  # noqa: F811
    first, second = in_production("Claims copilot"), in_production("Spend forecaster")

    with start_worker(celery_app, pool="solo", perform_ping_check=False, queues=[queue],
                      shutdown_timeout=15, loglevel="WARNING"):
        value_reviews_schedule_task.delay(days_later(31).isoformat())
        value_reviews_schedule_task.delay(days_later(31, hours=1).isoformat())
        assert wait_for(lambda: ValueReview.objects.count() >= 2)
        drain()  # both tasks have run
        assert reviews() == Counter({(first.pk, 30): 1, (second.pk, 30): 1})

        value_reviews_schedule_task.delay(days_later(95).isoformat())
        value_reviews_schedule_task.delay(days_later(96).isoformat())
        drain()

    assert reviews() == Counter({(first.pk, 30): 1, (second.pk, 30): 1,
                                 (first.pk, 90): 1, (second.pk, 90): 1})
    assert due_activities() == reviews()
