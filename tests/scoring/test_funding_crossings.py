"""The daily funding-line job records who crossed the line, for the digest:
the first record of a quarter is a baseline, each change after it is one activity, and
runs at once or again record nothing twice."""

import io
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command

from conftest import require_postgresql
from portfolio.models import Activity
from portfolio.pilots.digest.content import digest_recipients, digests_build, period_of
from scoring import services
from scoring.capacity import capacity_plan_set
from scoring.models import FundingStatus
from scoring.tasks import funding_line_record_task
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory, UserFactory
from tests.threads import in_threads

pytestmark = pytest.mark.django_db

YEAR, QUARTER = 2026, 4  # FIXED_NOW is 2 November 2026
LATER = FIXED_NOW + timedelta(days=1)
QUEUED = FIXED_NOW + timedelta(days=2)


@pytest.fixture
def planner(db):
    return UserFactory(username="capacity-planner", is_staff=True)


@pytest.fixture
def team(db):
    return TeamFactory(name="Customer Operations", slug="customer-operations")


def sized(team, title, *, effort, reach, stage="assessment"):
    """RICE (the active model): reach × 1 × 100 % ÷ effort."""
    return InitiativeFactory(team=team, title=title, stage=stage, contracted=True,
                             effort_weeks=None if effort is None else Decimal(effort),
                             reach=reach, impact=1.0, confidence=100)


@pytest.fixture
def ranked(team, planner):
    """Three in rank order; with 20 engineer-weeks the first two are funded:
    10 fits (10 left), 8 fits (2 left), 6 > 2 is below the line."""
    capacity_plan_set(team=team, year=YEAR, quarter=QUARTER, engineer_weeks=20, actor=planner,
                      now=FIXED_NOW)
    return (sized(team, "Claims triage", effort=10, reach=1000),    # RICE 100
            sized(team, "Refund assistant", effort=8, reach=400),   # RICE 50
            sized(team, "Tone checker", effort=6, reach=120))       # RICE 20


def set_capacity(team, planner, weeks, *, at=LATER):
    capacity_plan_set(team=team, year=YEAR, quarter=QUARTER, engineer_weeks=weeks,
                      actor=planner, now=at)


def crossings():
    return list(Activity.objects.filter(kind=Activity.Kind.FUNDING_CHANGED)
                .order_by("at", "pk"))


def stored():
    return {status.initiative.title: status.funded for status in
            FundingStatus.objects.filter(year=YEAR, quarter=QUARTER).select_related("initiative")}


# --- Baseline and crossings -------------------------------------------------------------------

def test_the_first_record_of_a_quarter_is_a_baseline_and_reports_nothing(ranked):
    assert services.funding_line_record(now=FIXED_NOW) == 0

    assert crossings() == []
    assert stored() == {"Claims triage": True, "Refund assistant": True, "Tone checker": False}
    assert set(FundingStatus.objects.values_list("recorded_at", flat=True)) == {FIXED_NOW}


def test_falling_below_the_line_after_a_capacity_cut_is_one_crossing(ranked, team, planner):
    services.funding_line_record(now=FIXED_NOW)
    # 12 weeks: 10 fits (2 left); 8 > 2 falls below; 6 > 2 stays below.
    set_capacity(team, planner, 12)

    assert services.funding_line_record(now=LATER) == 1

    [crossing] = crossings()
    assert crossing.initiative == ranked[1]
    assert (crossing.actor, crossing.at) == (None, LATER)
    assert crossing.details == {"quarter": "2026-Q4", "funded": False,
                                "team": "Customer Operations",
                                "reason": "needs 8 engineer-weeks; 2 left when its turn came"}
    assert stored() == {"Claims triage": True, "Refund assistant": False, "Tone checker": False}
    assert FundingStatus.objects.get(initiative=ranked[1]).recorded_at == LATER
    assert FundingStatus.objects.get(initiative=ranked[0]).recorded_at == FIXED_NOW


def test_rising_above_the_line_after_more_capacity_is_one_crossing(ranked, team, planner):
    services.funding_line_record(now=FIXED_NOW)
    set_capacity(team, planner, 24)  # 10 + 8 + 6 = 24: everything fits

    assert services.funding_line_record(now=LATER) == 1

    [crossing] = crossings()
    assert crossing.initiative == ranked[2]
    assert crossing.details == {"quarter": "2026-Q4", "funded": True,
                                "team": "Customer Operations", "reason": ""}
    assert stored() == {"Claims triage": True, "Refund assistant": True, "Tone checker": True}


def test_crossing_back_is_another_crossing(ranked, team, planner):
    services.funding_line_record(now=FIXED_NOW)
    set_capacity(team, planner, 12)
    services.funding_line_record(now=LATER)
    set_capacity(team, planner, 20, at=QUEUED)

    assert services.funding_line_record(now=QUEUED) == 1

    assert [(c.initiative, c.details["funded"], c.at) for c in crossings()] == [
        (ranked[1], False, LATER), (ranked[1], True, QUEUED)]


def test_the_weekly_digest_reports_the_crossing_with_its_reason(ranked, team, planner):
    UserFactory(username="a-tpm", roles=["tpm"])  # follows every team
    services.funding_line_record(now=FIXED_NOW)
    set_capacity(team, planner, 12)
    services.funding_line_record(now=LATER)
    monday = FIXED_NOW + timedelta(weeks=1)
    period = period_of(monday)

    [digest] = digests_build(now=monday, period=period,
                             recipients=digest_recipients(period=period))

    assert [(c.initiative, c.text) for c in digest.funding] == [
        (ranked[1], "now below the funding line for 2026-Q4 (needs 8 engineer-weeks; 2 left "
                    "when its turn came)")]


def test_losing_the_effort_estimate_is_a_crossing_that_says_unsized(ranked):
    services.funding_line_record(now=FIXED_NOW)
    type(ranked[0]).objects.filter(pk=ranked[0].pk).update(effort_weeks=None)

    # Unsized, the Claims triage takes no capacity: 8 fits (12 left), then 6 fits too.
    # Its crossing says why in the walk's words: it has no effort estimate.
    assert services.funding_line_record(now=LATER) == 2

    assert sorted((c.initiative.title, c.details["funded"], c.details["reason"])
                  for c in crossings()) == [("Claims triage", False, "no effort estimate"),
                                      ("Tone checker", True, "")]


# --- Idempotent ---------------------------------------------------------------------------------

def test_running_again_records_nothing_more(ranked, team, planner):
    services.funding_line_record(now=FIXED_NOW)
    set_capacity(team, planner, 12)
    services.funding_line_record(now=LATER)

    assert services.funding_line_record(now=LATER) == 0
    assert services.funding_line_record(now=QUEUED) == 0

    assert len(crossings()) == 1
    assert FundingStatus.objects.count() == 3


def test_an_initiative_first_seen_later_is_a_baseline_not_a_crossing(ranked, team):
    services.funding_line_record(now=FIXED_NOW)
    newcomer = sized(team, "Late arrival", effort=3, reach=6000)  # RICE 2000: first

    # 3 fits (17 left), 10 fits (7 left), 8 > 7 falls below, 6 fits (1 left).
    assert services.funding_line_record(now=LATER) == 2

    assert [(c.initiative, c.details["funded"]) for c in crossings()] == [
        (ranked[1], False), (ranked[2], True)]
    assert FundingStatus.objects.get(initiative=newcomer).funded is True


def test_leaving_the_line_is_not_a_crossing(ranked, team, planner):
    services.funding_line_record(now=FIXED_NOW)
    type(ranked[1]).objects.filter(pk=ranked[1].pk).update(stage="paused")  # draws no capacity

    # With the Refund assistant gone, the Tone checker fits (10 + 6 <= 20): one crossing.
    assert services.funding_line_record(now=LATER) == 1

    assert [(c.initiative, c.details["funded"]) for c in crossings()] == [(ranked[2], True)]
    assert FundingStatus.objects.get(initiative=ranked[1]).funded is True  # as last seen


def test_a_new_quarter_starts_from_new_baselines(ranked, team, planner):
    services.funding_line_record(now=FIXED_NOW)
    capacity_plan_set(team=team, year=2027, quarter=1, engineer_weeks=10, actor=planner,
                      now=FIXED_NOW)
    january = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)

    assert services.funding_line_record(now=january) == 0

    assert crossings() == []
    assert dict(FundingStatus.objects.filter(year=2027, quarter=1)
                .values_list("initiative__title", "funded")) == {
        "Claims triage": True, "Refund assistant": False, "Tone checker": False}


# --- A fixed number of queries ------------------------------------------------------------------

def _portfolio(size, planner):
    teams = [TeamFactory(name=f"Team {n}", slug=f"team-{n}") for n in range(3)]
    for team in teams:
        capacity_plan_set(team=team, year=YEAR, quarter=QUARTER, engineer_weeks=size,
                          actor=planner, now=FIXED_NOW)
    return [sized(teams[n % 3], f"Initiative {n}", effort=1 + n % 5, reach=100 + n)
            for n in range(size)]


@pytest.mark.parametrize("size", [6, 60])
def test_the_query_count_does_not_grow_with_the_portfolio(planner, size,
                                                          django_assert_num_queries):
    _portfolio(size, planner)

    # 1. the active scoring model   2. the ranking   3. the capacity plans   4. the teams
    # 5. the funded initiatives' open checkpoints   6.-7. the contract evidence (the latest
    # measurement in each window, the overrides)   8. the quarter's stored statuses
    # 9. the baselines, inserted at once
    with django_assert_num_queries(9):
        services.funding_line_record(now=FIXED_NOW)
    # The same eight reads, and nothing to insert or claim.
    with django_assert_num_queries(8):
        services.funding_line_record(now=LATER)

    assert FundingStatus.objects.count() == size


# --- Runs at once -------------------------------------------------------------------------------

RUNS = 4


def _race_after_reading(monkeypatch):
    """Each run reads the stored statuses, then waits for the others before writing."""
    read = threading.Barrier(RUNS, timeout=30)
    real = FundingStatus.objects.bulk_create

    def read_then_wait(*args, **kwargs):
        read.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(FundingStatus.objects, "bulk_create", read_then_wait)


@pytest.mark.django_db(transaction=True)
def test_runs_at_once_record_each_baseline_and_each_crossing_once(monkeypatch):
    require_postgresql("needs PostgreSQL: SQLite serialises writers, so nothing races")
    planner = UserFactory(username="racing-planner", is_staff=True)
    team = TeamFactory(name="Customer Operations", slug="customer-operations")
    set_capacity(team, planner, 20, at=FIXED_NOW)
    refund = [sized(team, title, effort=effort, reach=reach)
              for title, effort, reach in (("Claims triage", 10, 1000),
                                           ("Refund assistant", 8, 400),
                                           ("Tone checker", 6, 120))][1]
    _race_after_reading(monkeypatch)

    assert in_threads(services.funding_line_record, RUNS, now=FIXED_NOW) == [0] * RUNS
    assert FundingStatus.objects.count() == 3

    set_capacity(team, planner, 12)
    results = in_threads(services.funding_line_record, RUNS, now=LATER)

    assert sorted(results) == [0] * (RUNS - 1) + [1]
    assert [(c.initiative_id, c.details["funded"]) for c in crossings()] == [(refund.pk, False)]


# --- The job's interfaces -----------------------------------------------------------------------

def test_beat_runs_the_task_daily():
    entry = settings.CELERY_BEAT_SCHEDULE["funding-line-record"]

    assert entry["task"] == funding_line_record_task.name == (
        "scoring.tasks.funding_line_record_task")


def test_the_task_records_as_of_now(ranked, team, planner, frozen_clock):
    funding_line_record_task()
    set_capacity(team, planner, 12)
    frozen_clock.move_to(LATER)
    funding_line_record_task.apply()

    assert [(c.initiative, c.at) for c in crossings()] == [(ranked[1], LATER)]


def test_the_command_records_and_says_how_many_crossed(ranked, team, planner, frozen_clock):
    out = io.StringIO()
    call_command("record_funding_line", stdout=out)
    set_capacity(team, planner, 12)
    call_command("record_funding_line", "--now", LATER.isoformat(), stdout=out)

    assert out.getvalue().splitlines() == ["Recorded 0 crossings of the funding line.",
                                           "Recorded 1 crossing of the funding line."]
    assert [(c.initiative, c.at) for c in crossings()] == [(ranked[1], LATER)]


def test_the_admin_shows_funding_statuses_read_only(client, ranked, superuser):
    services.funding_line_record(now=FIXED_NOW)
    client.force_login(superuser)

    listing = client.get("/admin/scoring/fundingstatus/")
    status = FundingStatus.objects.get(initiative=ranked[0])

    assert listing.status_code == 200
    assert "Claims triage" in listing.content.decode()
    assert client.get("/admin/scoring/fundingstatus/add/").status_code == 403
    assert client.post(f"/admin/scoring/fundingstatus/{status.pk}/change/",
                       {"funded": ""}).status_code == 403
    assert client.post(f"/admin/scoring/fundingstatus/{status.pk}/delete/",
                       {"post": "yes"}).status_code == 403
    status.refresh_from_db()
    assert status.funded is True
