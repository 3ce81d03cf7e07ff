"""The stored standings (scoring/standings.py): what the dashboard and the ranking read,
recomputed when anything they read changes — at once while that is quick, by the worker
(with the last standings shown, marked) when it is not."""

import threading
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from conftest import require
from portfolio.models import Stage
from portfolio.services import initiative_update
from scoring import dashboard as board_reads
from scoring.capacity import capacity_plan_set, funding_line_for_quarter, quarter_of
from scoring.models import FundingPosition, PortfolioSnapshot, Standing, TeamStanding
from scoring.standings import (
    QUEUED_KEY,
    STANDINGS_MAX_AGE,
    audit_heads,
    is_current,
    standings_current,
    standings_refresh,
)
from scoring.tasks import standings_refresh_task
from tests.factories import TeamFactory
from tests.scoring.test_dashboard import export_rows, page_text, plan, sized

pytestmark = pytest.mark.django_db

URL = "/dashboard/"


@pytest.fixture(autouse=True)
def _no_queued_refresh():
    cache.delete(QUEUED_KEY)
    yield
    cache.delete(QUEUED_KEY)


def _support_team(weeks=10):
    team = TeamFactory(name="Support", slug="support")
    plan(team, weeks)
    return team


def _rank_and_funding(client, title):
    row = next(r for r in export_rows(client)[1:] if r[1] == title)
    return row[0], row[9]


# --- What is stored -----------------------------------------------------------------------------

def test_the_standings_store_the_funding_line_exactly(leader):
    team = _support_team(weeks=10)
    other = TeamFactory(name="Finance", slug="finance")  # drawing, without a plan
    first = sized(team=team, effort=8, reach=8000)
    below = sized(team=team, effort=5, reach=2500)
    fits = sized(team=team, effort=2, reach=100)
    unsized = sized(team=team, effort=None, reach=100)
    unplanned = sized(team=other, effort=1, reach=10)
    idea = sized(team=team, effort=1, reach=10, stage=Stage.IDEA)
    now = timezone.now()

    standings_refresh(now=now)

    year, quarter = quarter_of(now)
    line = funding_line_for_quarter(year=year, quarter=quarter, now=now)
    stored = {s.initiative_id: s for s in Standing.objects.all()}
    # In assessment without a pilot run owner, the funded ones are blocked at the pilot gate.
    assert {pk: stored[pk].funding for pk in stored} == {
        first.pk: FundingPosition.FUNDED_BLOCKED, below.pk: FundingPosition.BELOW_LINE,
        fits.pk: FundingPosition.FUNDED_BLOCKED, unsized.pk: FundingPosition.UNSIZED,
        unplanned.pk: FundingPosition.NO_PLAN, idea.pk: FundingPosition.NOT_DRAWING}
    assert stored[below.pk].funding_reason == line.entry_for(below.pk).reason
    assert stored[first.pk].blockers == line.entry_for(first.pk).blockers != []
    assert [stored[pk].rank for pk in (first.pk, below.pk)] == [1, 2]
    teams = {t.team_id: t for t in TeamStanding.objects.all()}
    support = next(t for t in line.teams if t.team.pk == team.pk)
    assert (teams[team.pk].capacity, teams[team.pk].demand, teams[team.pk].funded_effort,
            teams[team.pk].remaining, teams[team.pk].funded, teams[team.pk].below_line,
            teams[team.pk].unsized) == (support.capacity, support.demand,
                                        support.funded_effort, support.remaining, 2, 1, 1)
    assert teams[other.pk].capacity is None
    assert teams[other.pk].no_plan == 1


def test_a_refresh_that_finds_them_current_changes_nothing(leader):
    sized(team=_support_team(), effort=1, reach=10)
    first = standings_refresh()
    again = standings_refresh()

    assert again.taken_at == first.taken_at
    assert standings_refresh(force=True).taken_at > first.taken_at


# --- When they are stale ------------------------------------------------------------------------

def test_a_change_in_the_audit_trail_makes_them_stale(leader):
    team = _support_team()
    initiative = sized(team=team, effort=1, reach=10)
    now = timezone.now()
    snapshot = standings_refresh(now=now)
    assert is_current(snapshot, heads=audit_heads(), now=now)

    capacity_plan_set(team=team, year=now.year, quarter=quarter_of(now)[1],
                      engineer_weeks="12", actor=leader, now=now)
    assert not is_current(snapshot, heads=audit_heads(), now=now)

    snapshot = standings_refresh(now=now)
    initiative_update(initiative=initiative, actor=leader, now=now,
                      expected_version=initiative.version, changes={"reach": 20})
    assert not is_current(snapshot, heads=audit_heads(), now=now)


def test_they_are_stale_on_a_new_day_and_when_old(leader):
    sized(team=_support_team(), effort=1, reach=10)
    now = timezone.now()
    snapshot = standings_refresh(now=now)
    heads = audit_heads()

    assert is_current(snapshot, heads=heads, now=now + timedelta(minutes=1))
    assert not is_current(snapshot, heads=heads, now=now + timedelta(days=1))
    assert not is_current(snapshot, heads=heads, now=now + STANDINGS_MAX_AGE)
    assert not is_current(snapshot, heads=heads, now=now - timedelta(minutes=1))


# --- Reads: recomputed at once while quick ------------------------------------------------------

def test_a_quick_portfolio_is_always_shown_current(client, leader):
    team = _support_team(weeks=10)
    big = sized(team=team, effort=8, reach=8000, title="Big bet")
    sized(team=team, effort=5, reach=2500, title="Second in line")
    client.force_login(leader)
    assert _rank_and_funding(client, "Second in line") == ("2", "below the line")

    # The big bet shrinks: both fit now, and the page says so on the next read.
    initiative_update(initiative=big, actor=leader, now=timezone.now(),
                      expected_version=big.version, changes={"effort_weeks": Decimal("2")})

    assert _rank_and_funding(client, "Second in line") == ("2", "funded but blocked")
    assert "refreshing" not in page_text(client)
    assert cache.get(QUEUED_KEY) is None


def test_the_first_read_computes_them(client, leader):
    sized(team=_support_team(), effort=1, reach=10, title="Only one")
    assert not PortfolioSnapshot.objects.exists()
    client.force_login(leader)

    html = page_text(client)

    assert "Only one" in html
    assert "refreshing" not in html
    assert Standing.objects.count() == 1


# --- Reads: large portfolios show the last standings while the worker recomputes ---------------

def test_a_slow_portfolio_shows_the_last_standings_and_queues_one_refresh(client, leader,
                                                                          settings):
    settings.STANDINGS_INLINE_MS = 0  # as if the last computation had taken too long
    team = _support_team(weeks=10)
    sized(team=team, effort=8, reach=8000, title="Big bet")
    sized(team=team, effort=5, reach=2500, title="Second in line")
    standings_refresh()
    client.force_login(leader)
    plan(TeamFactory(name="Unused", slug="unused"), 1)  # any change: they are stale now
    newcomer = sized(team=team, effort=1, reach=1, title="Newcomer")

    first = page_text(client)
    second = page_text(client)

    assert "refreshing" in first
    assert "refreshing" in second
    assert cache.get(QUEUED_KEY) is True  # queued once, not once per read
    # Shown as last computed; what is new since is listed last, not yet ranked.
    rows = export_rows(client)
    assert [r[1] for r in rows[1:]] == ["Big bet", "Second in line", "Newcomer"]
    assert rows[3][0] == ""
    assert rows[3][9] == "not yet ranked"

    standings_refresh_task()  # what the worker runs

    rows = export_rows(client)
    assert [r[1] for r in rows[1:]] == ["Big bet", "Second in line", "Newcomer"]
    assert rows[3][0] == "3"
    assert rows[3][9].startswith("funded")  # 1 of the 2 weeks left
    assert "refreshing" not in page_text(client)
    assert cache.get(QUEUED_KEY) is None
    assert Standing.objects.get(pk=newcomer.pk).rank == 3


def test_the_api_says_when_the_standings_were_computed(client, leader, settings):
    sized(team=_support_team(), effort=1, reach=10)
    client.force_login(leader)

    ranking = client.get("/api/v1/ranking/").json()
    figures = client.get("/api/v1/dashboard/").json()

    taken_at = PortfolioSnapshot.objects.get().taken_at
    assert ranking["refreshing"] is False
    assert figures["refreshing"] is False
    assert datetime.fromisoformat(ranking["standings_as_of"]) == taken_at
    assert datetime.fromisoformat(figures["standings_as_of"]) == taken_at


def test_pages_past_the_ranked_ones_list_the_not_yet_ranked(leader, settings):
    settings.STANDINGS_INLINE_MS = 0
    team = _support_team()
    ranked = [sized(team=team, effort=1, reach=100 - n) for n in range(3)]
    standings_refresh()
    newer = [sized(team=team, effort=1, reach=1000) for _ in range(2)]
    ids = board_reads.dashboard(now=timezone.now()).table()

    assert ids.count() == 5
    assert ids[0:2] == [ranked[0].pk, ranked[1].pk]
    assert ids[2:4] == [ranked[2].pk, newer[0].pk]
    assert ids[4:6] == [newer[1].pk]
    assert ids[6:8] == []


# --- Refreshes run one at a time ----------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_the_task_skips_while_another_refresh_runs(leader):
    require(connection.vendor == "postgresql", "needs PostgreSQL: SQLite has no row locks")
    sized(team=_support_team(), effort=1, reach=10)
    before = standings_refresh()
    locked, release = threading.Event(), threading.Event()

    def hold_the_lock():
        try:
            with transaction.atomic():
                PortfolioSnapshot.objects.select_for_update().get(pk=before.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert locked.wait(10)
        assert standings_refresh(force=True, wait=False) is None
    finally:
        release.set()
        holder.join()
    assert PortfolioSnapshot.objects.get().taken_at == before.taken_at
    assert standings_current(now=timezone.now()).taken_at == before.taken_at
