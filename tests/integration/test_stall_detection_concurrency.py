"""Detection run four times at once flags each stalled pilot once (issue 6, "Done when").

Four runs on four database connections, forced to race: each has read what is due (no
flag yet) before any of them inserts, so the one-open-flag-per-initiative constraint is
what decides. Then four ``stalls_detect_task`` messages on a real worker with four threads.
PostgreSQL only: SQLite serialises writers, so it cannot show the race.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from conftest import require_postgresql
from portfolio.celery import app as celery_app
from portfolio.models import Activity, StallFlag
from portfolio.pilots import services as stalls_module
from portfolio.pilots.services import stalls_detect
from portfolio.tasks import stalls_detect_task
from tests.factories import InitiativeFactory, TeamFactory
from tests.integration.conftest import (
    in_threads,
    make_healthy_pilot,
    make_stalled_pilot,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RUNS = 4


@pytest.fixture(autouse=True)
def _postgresql_only():
    require_postgresql("concurrent stall detection needs PostgreSQL (DATABASE_URL=postgres://...)")


def portfolio(now):
    teams = [TeamFactory(name=f"Team {letter}") for letter in "ABC"]
    stalled = [make_stalled_pilot(team=teams[number % 3], title=f"Stalled {number}",
                                  run_at=now, too_long=number % 2 == 0)
               for number in range(9)]
    make_healthy_pilot(team=teams[0], title="Healthy pilot", run_at=now)
    InitiativeFactory(team=teams[1], title="An idea")
    return stalled


def detection_race(monkeypatch, parties: int) -> None:
    """Each run reads what is due, then waits for the others before flagging."""
    read = threading.Barrier(parties, timeout=30)
    real_due = stalls_module.stalls_due

    def due_then_wait(**kwargs):
        due = list(real_due(**kwargs))
        read.wait()
        return due

    monkeypatch.setattr(stalls_module, "stalls_due", due_then_wait)


def assert_flagged_once(stalled):
    flags = Counter(StallFlag.objects.values_list("initiative_id", flat=True))
    assert flags == Counter({initiative.pk: 1 for initiative in stalled}), (
        "each stalled pilot flagged exactly once, nothing else flagged")
    activities = Counter(Activity.objects.filter(kind=Activity.Kind.STALL_FLAGGED)
                         .values_list("initiative_id", flat=True))
    assert activities == Counter({initiative.pk: 1 for initiative in stalled}), (
        "one 'stall flagged' activity per stalled pilot")


def test_four_detection_runs_at_once_flag_each_stalled_pilot_once(monkeypatch):
    now = timezone.now().replace(microsecond=0)
    stalled = portfolio(now)
    detection_race(monkeypatch, RUNS)

    results = in_threads(stalls_detect, RUNS, now=now)

    assert sum(result.flagged for result in results) == len(stalled)
    assert_flagged_once(stalled)


def test_four_detection_tasks_on_a_worker_with_four_threads_flag_each_pilot_once(
        queue, monkeypatch):
    now = timezone.now().replace(microsecond=0)
    stalled = portfolio(now)
    detection_race(monkeypatch, RUNS)

    with start_worker(celery_app, pool="threads", concurrency=RUNS, perform_ping_check=False,
                      queues=[queue], shutdown_timeout=15, loglevel="WARNING"):
        for _ in range(RUNS):
            stalls_detect_task.delay((now + timedelta(seconds=1)).isoformat())
        assert wait_for(lambda: Activity.objects.filter(
            kind=Activity.Kind.STALL_FLAGGED).count() >= len(stalled), 30)
        # All four runs got past the race (the barrier let them through together).
        assert wait_for(lambda: StallFlag.objects.count() == len(stalled), 10)

    assert_flagged_once(stalled)
