"""The stored standings (scoring/standings.py): what the dashboard and the ranking read.

Their freshness contract: every write to something they are computed from marks them
stale in its own transaction and queues the worker; a read never writes and never waits —
it shows the last standings, marked *refreshing*, until the worker has recomputed them.
Nothing depends on how long anything took.
"""

import threading
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.utils import timezone

from conftest import require_postgresql
from governance import services as governance
from governance.models import Checkpoint, CheckpointType
from portfolio import csv_io, services
from portfolio.accounts import user_deactivate
from portfolio.models import Initiative, Stage, StallFlag
from portfolio.pilots import services as stalls
from scoring import dashboard as board_reads
from scoring import services as scoring
from scoring import standings as standings_module
from scoring.capacity import capacity_plan_set, funding_line_for_quarter, quarter_of
from scoring.models import (
    FundingPosition,
    PortfolioSnapshot,
    Standing,
    StandingsInvalidation,
    TeamStanding,
)
from scoring.standings import QUEUED_KEY, is_current, standings_current, standings_refresh
from scoring.tasks import standings_refresh_task
from tests.factories import (
    StallFlagFactory,
    TeamFactory,
    UserFactory,
)
from tests.scoring.test_dashboard import export_rows, page_text, plan, sized
from tests.threads import run_together

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


def _rank_and_funding(client, title, *, worker=True):
    row = next(r for r in export_rows(client, worker=worker)[1:] if r[1] == title)
    return row[0], row[9]


# --- What is stored -----------------------------------------------------------------------------

def test_the_standings_store_the_funding_line_exactly(leader):
    team = _support_team(weeks=10)
    other = TeamFactory(name="Finance", slug="finance")  # drawing, without a plan
    no_runner = {"production_owner": None}  # the exit contract lacks who runs it
    first = sized(team=team, effort=8, reach=8000, **no_runner)
    below = sized(team=team, effort=5, reach=2500, **no_runner)
    fits = sized(team=team, effort=2, reach=100, **no_runner)
    unsized = sized(team=team, effort=None, reach=100)
    unplanned = sized(team=other, effort=1, reach=10)
    idea = sized(team=team, effort=1, reach=10, stage=Stage.IDEA)
    now = timezone.now()

    standings_refresh(now=now)

    year, quarter = quarter_of(now)
    line = funding_line_for_quarter(year=year, quarter=quarter, now=now)
    stored = {s.initiative_id: s for s in Standing.objects.all()}
    # Candidates all (an idea is one too): 8 fits (2 left), 5 does not, 2 fits (0 left),
    # the idea's 1 does not. In assessment without a pilot run owner, the funded ones are
    # blocked at the pilot gate: funded ("fund next"), marked blocked.
    assert {pk: stored[pk].funding for pk in stored} == {
        first.pk: FundingPosition.FUNDED, below.pk: FundingPosition.BELOW_LINE,
        fits.pk: FundingPosition.FUNDED, unsized.pk: FundingPosition.UNSIZED,
        unplanned.pk: FundingPosition.NO_PLAN, idea.pk: FundingPosition.BELOW_LINE}
    assert {pk for pk in stored if stored[pk].blocked} == {first.pk, fits.pk}
    assert stored[below.pk].funding_reason == line.entry_for(below.pk).reason
    assert stored[first.pk].blockers == line.entry_for(first.pk).blockers != []
    assert [stored[pk].rank for pk in (first.pk, below.pk)] == [1, 2]
    # Next quarter (no plan yet): what this quarter funds is committed, the rest waits.
    assert {pk: stored[pk].position(1)[0] for pk in stored} == {
        first.pk: FundingPosition.COMMITTED, below.pk: FundingPosition.NO_PLAN,
        fits.pk: FundingPosition.COMMITTED, unsized.pk: FundingPosition.UNSIZED,
        unplanned.pk: FundingPosition.NO_PLAN, idea.pk: FundingPosition.NO_PLAN}
    teams = {t.team_id: t for t in TeamStanding.objects.filter(ahead=0)}
    support = next(t for t in line.teams if t.team.pk == team.pk)
    assert (teams[team.pk].capacity, teams[team.pk].demand, teams[team.pk].funded_effort,
            teams[team.pk].remaining, teams[team.pk].funded, teams[team.pk].below_line,
            teams[team.pk].unsized) == (support.capacity, support.demand,
                                        support.funded_effort, support.remaining, 2, 2, 1)
    assert teams[other.pk].capacity is None
    assert teams[other.pk].no_plan == 1
    assert sorted(TeamStanding.objects.filter(team=team).values_list("ahead", flat=True)) == [
        0, 1, 2, 3]
    ahead1 = TeamStanding.objects.get(team=team, ahead=1)
    assert (ahead1.capacity, ahead1.committed, ahead1.committed_effort, ahead1.funded) == (
        None, 2, 10, 0)


def test_a_refresh_with_nothing_pending_changes_nothing(leader):
    sized(team=_support_team(), effort=1, reach=10)
    first = standings_refresh()
    again = standings_refresh()

    assert again.taken_at == first.taken_at
    assert standings_refresh(force=True).taken_at > first.taken_at


# --- Every input marks them stale, in the writer's own transaction ------------------------------

@pytest.fixture
def world(leader, reviewer, superuser):
    """A small portfolio with the standings just computed, and what the writers below need."""
    team = _support_team()
    owner = UserFactory(username="std-owner", roles=["pm"])
    initiative = sized(team=team, effort=1, reach=10, owner=owner, title="Watched")
    governance.checkpoints_sync(initiatives=[initiative], actor=leader, now=timezone.now())
    standings_refresh()
    assert is_current(PortfolioSnapshot.objects.get(), now=timezone.now())
    return {"team": team, "initiative": initiative, "owner": owner, "leader": leader,
            "reviewer": reviewer, "superuser": superuser, "checkpoint": Checkpoint.objects.filter(
                initiative=initiative).order_by("pk").first()}


def _edit(w, now):
    services.initiative_update(initiative=w["initiative"], actor=w["owner"], now=now,
                               expected_version=1, changes={"reach": 20})


def _profile(w, now):
    services.initiative_update(initiative=w["initiative"], actor=w["owner"], now=now,
                               expected_version=1, changes={"risk_tier": "high"})


def _move(w, now):
    services.initiative_move_stage(initiative=w["initiative"], to_stage=Stage.PAUSED,
                                   actor=w["owner"], now=now)


def _update(w, now):
    services.update_post(initiative=w["initiative"], author=w["owner"], body="Blocked.",
                         health="blocked", now=now)


def _person(w, now):
    services.stakeholder_add(initiative=w["initiative"], user=UserFactory(roles=["pm"]),
                             role="R", actor=w["owner"], now=now)


def _owner(w, now):
    services.initiative_update(initiative=w["initiative"], actor=UserFactory(roles=["tpm"]),
                               now=now, expected_version=1,
                               changes={"owner": UserFactory(roles=["pm"])})


def _review(w, now):
    governance.checkpoint_start_review(checkpoint=w["checkpoint"], actor=w["reviewer"],
                                       expected_version=1, now=now)


def _decision(w, now):
    governance.checkpoint_decide(checkpoint=w["checkpoint"], actor=w["reviewer"], approve=True,
                                 expected_version=1, evidence_notes="Checked.", now=now)


def _waiver(w, now):
    governance.checkpoint_waive(checkpoint=w["checkpoint"], actor=w["reviewer"],
                                justification="Compensating control.", now=now,
                                expires_on=timezone.localdate(now) + timedelta(days=30),
                                expected_version=1)


def _capacity(w, now):
    capacity_plan_set(team=w["team"], year=now.year, quarter=quarter_of(now)[1],
                      engineer_weeks="12", actor=w["leader"], now=now)


def _scoring_model(w, now):
    scoring.scoring_model_create(name="Bets", method="wsjf", actor=w["leader"], now=now,
                                 activate=True)


def _stall_flagged(w, now):
    # Time passes (a queryset update marks nothing): detection finds the pilot stalled.
    Initiative.objects.filter(pk=w["initiative"].pk).update(
        stage=Stage.PILOT, stage_changed_at=now - timedelta(days=200))
    stalls.stalls_detect(now=now)


def _stall_resolved(w, now):
    StallFlagFactory(initiative=w["initiative"])  # open, on an initiative no longer in pilot
    stalls.stalls_detect(now=now)


def _account_deactivated(w, now):
    user_deactivate(user=w["owner"], actor=w["leader"], now=now)


def _account_reactivated(w, now):
    w["owner"].is_active = False
    w["owner"].save()
    client = Client()
    client.force_login(w["superuser"])
    page = client.get(f"/admin/auth/user/{w['owner'].pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update({"is_active": "on", "date_joined_0": "2026-01-01", "date_joined_1": "09:00:00",
                 "groups": [group.pk for group in Group.objects.filter(name="pm")],
                 # The user page's inlines (single sign-on identity, pinned roles): none sent.
                 "external_identity-TOTAL_FORMS": 0, "external_identity-INITIAL_FORMS": 0,
                 "role_pins-TOTAL_FORMS": 0, "role_pins-INITIAL_FORMS": 0})
    data.pop("last_login", None)
    data.pop("password", None)
    data.pop("user_permissions", None)
    response = client.post(f"/admin/auth/user/{w['owner'].pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors


def _catalogue(w, now):
    client = Client()
    client.force_login(w["superuser"])
    kind = CheckpointType.objects.order_by("pk").first()
    page = client.get(f"/admin/governance/checkpointtype/{kind.pk}/change/")
    data = {name: value for name, value in page.context["adminform"].form.initial.items()
            if value is not None}
    data["active"] = ""  # the catalogue drops it: what blocks whom changes
    response = client.post(f"/admin/governance/checkpointtype/{kind.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors


def _csv_import(w, now):
    result = csv_io.initiatives_import(
        file_or_rows=b"Title,Team\nImported bet,support\n", actor=w["owner"], now=now)
    assert result.created


WRITERS = [_edit, _profile, _move, _update, _person, _owner, _review, _decision, _waiver,
           _capacity, _scoring_model, _stall_flagged, _stall_resolved, _account_deactivated,
           _account_reactivated, _catalogue, _csv_import]


@pytest.mark.parametrize("write", WRITERS, ids=[w.__name__.strip("_") for w in WRITERS])
def test_every_write_to_an_input_marks_the_standings_stale_until_the_worker_runs(world, write):
    now = timezone.now()

    write(world, now)

    assert not is_current(PortfolioSnapshot.objects.get(), now=now)
    standings_refresh_task()  # what the worker runs once the write commits
    assert is_current(PortfolioSnapshot.objects.get(), now=now)


def test_they_are_stale_on_a_new_day(leader):
    sized(team=_support_team(), effort=1, reach=10)
    now = timezone.now()
    snapshot = standings_refresh(now=now)

    assert is_current(snapshot, now=now + timedelta(minutes=1))
    assert not is_current(snapshot, now=now + timedelta(days=1))


def test_a_write_queues_the_refresh_for_when_it_commits(leader, django_capture_on_commit_callbacks):
    """The task is sent after the commit, so the worker sees the change; a write that rolls
    back leaves neither a mark nor a message."""
    initiative = sized(team=_support_team(), effort=1, reach=10)
    standings_refresh()

    with django_capture_on_commit_callbacks() as callbacks:
        services.update_post(initiative=initiative, author=leader, body="One.",
                             health="on_track", now=timezone.now())
    with django_capture_on_commit_callbacks() as undone, pytest.raises(RuntimeError):
        _post_then_fail(initiative, leader)

    assert callbacks == [standings_module._queue_refresh]
    # The first write's marks (the initiative, its author's word), not the undone one's.
    assert set(StandingsInvalidation.objects.values_list("what", "initiative", "owner")) == {
        ("update_posted", initiative.pk, None), ("update_posted", None, leader.pk)}
    assert undone == []


@transaction.atomic
def _post_then_fail(initiative, actor):
    services.update_post(initiative=initiative, author=actor, body="Undone.",
                         health="on_track", now=timezone.now())
    raise RuntimeError


# --- Reads never write and never wait -----------------------------------------------------------
# (That no GET of any page or endpoint writes: tests/test_reads_never_write.py.)

def test_a_stale_read_shows_the_last_standings_marked_and_queues_one_refresh(client, leader):
    team = _support_team(weeks=10)
    big = sized(team=team, effort=8, reach=8000, title="Big bet")
    # Without who runs it in production, its exit contract blocks the pilot gate.
    sized(team=team, effort=5, reach=2500, title="Second in line", production_owner=None)
    client.force_login(leader)
    assert _rank_and_funding(client, "Second in line") == ("2", "below the line")

    # The big bet shrinks: both fit now.
    services.initiative_update(initiative=big, actor=leader, now=timezone.now(),
                               expected_version=big.version,
                               changes={"effort_weeks": Decimal("2")})
    newcomer = sized(team=team, effort=1, reach=1, title="Newcomer")

    first = page_text(client, worker=False)
    second = page_text(client, worker=False)
    rows = export_rows(client, worker=False)

    assert "refreshing" in first
    assert "refreshing" in second
    assert cache.get(QUEUED_KEY) is True  # queued once, not once per read
    assert _rank_and_funding(client, "Second in line", worker=False) == ("2", "below the line")
    # What is new since is listed last, not yet ranked.
    assert [r[1] for r in rows[1:]] == ["Big bet", "Second in line", "Newcomer"]
    assert (rows[3][0], rows[3][9]) == ("", "not yet ranked")

    standings_refresh_task()  # what the worker runs

    assert "refreshing" not in page_text(client, worker=False)
    # Funded next now, and blocked at the pilot gate (the blockers column names why).
    rank, funding = _rank_and_funding(client, "Second in line", worker=False)
    assert (rank, funding.split(",")[0]) == ("2", "fund next")
    assert "blocked" in funding
    row = next(r for r in export_rows(client, worker=False)[1:] if r[1] == "Second in line")
    assert row[10]
    assert Standing.objects.get(pk=newcomer.pk).rank == 3
    assert cache.get(QUEUED_KEY) is None


def test_a_new_database_shows_an_empty_board_until_the_first_refresh(client, leader):
    sized(team=_support_team(), effort=1, reach=10, title="Only one")
    client.force_login(leader)

    before = page_text(client, worker=False)
    api = client.get("/api/v1/ranking/").json()
    standings_refresh_task()
    after = page_text(client, worker=False)

    assert "refreshing" in before
    assert (api["standings_as_of"], api["refreshing"]) == (None, True)
    assert [row["rank"] for row in api["results"]] == [None]
    assert not PortfolioSnapshot.objects.filter(as_of=date(2000, 1, 1)).exists()
    assert "refreshing" not in after
    assert "Only one" in after


def test_the_dashboard_and_the_list_agree_on_every_flag_after_the_refresh(client, leader):
    team = _support_team()
    owner = UserFactory(username="leaving-owner", roles=["pm"])
    gap = sized(team=team, effort=1, reach=10, owner=owner, title="Owner leaves")
    pilot = sized(team=team, effort=2, reach=10, stage=Stage.PILOT, title="Old pilot",
                  stage_changed_at=timezone.now() - timedelta(days=200))
    standings_refresh()

    user_deactivate(user=owner, actor=leader, now=timezone.now())
    stalls.stalls_detect(now=timezone.now())
    standings_refresh_task()

    board = board_reads.dashboard(now=timezone.now())
    kpis, _ = board_reads.kpis(board)
    stored = {s.initiative_id: s for s in Standing.objects.all()}
    assert stored[gap.pk].ownership_gap is True  # its owner left
    assert stored[pilot.pk].ownership_gap is True  # a pilot nobody is Responsible for
    assert stored[pilot.pk].stalled is True
    assert kpis.ownership_gaps == 2
    assert kpis.stalled_pilots == StallFlag.objects.open().count() == 1
    client.force_login(leader)
    listed = client.get("/initiatives/ownership/").content.decode()
    assert "Owner leaves" in listed
    assert "Old pilot" in listed


def test_the_api_says_when_the_standings_were_computed(client, leader):
    sized(team=_support_team(), effort=1, reach=10)
    standings_refresh_task()
    client.force_login(leader)

    ranking = client.get("/api/v1/ranking/").json()
    figures = client.get("/api/v1/dashboard/").json()

    taken_at = PortfolioSnapshot.objects.get().taken_at
    assert ranking["refreshing"] is False
    assert figures["refreshing"] is False
    assert datetime.fromisoformat(ranking["standings_as_of"]) == taken_at
    assert datetime.fromisoformat(figures["standings_as_of"]) == taken_at


def test_pages_past_the_ranked_ones_list_the_not_yet_ranked(leader):
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
def test_a_refresh_that_may_not_wait_skips_while_another_runs(leader):
    require_postgresql("needs PostgreSQL: SQLite has no row locks")
    sized(team=_support_team(), effort=1, reach=10)
    before = standings_refresh()
    locked, release = threading.Event(), threading.Event()

    def hold_the_lock():
        with transaction.atomic():
            PortfolioSnapshot.objects.select_for_update().get(pk=before.pk)
            locked.set()
            release.wait(10)

    def refresh_while_it_is_held():
        try:
            assert locked.wait(10)
            return standings_refresh(force=True, wait=False)
        finally:
            release.set()

    _, refreshed = run_together(hold_the_lock, refresh_while_it_is_held)

    assert refreshed is None
    assert PortfolioSnapshot.objects.get().taken_at == before.taken_at
    assert standings_current(now=timezone.now()).taken_at == before.taken_at


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_while_a_refresh_runs_stays_pending(leader):
    """The refresh deletes the changes it sees, then computes; a change that commits
    meanwhile keeps its mark, so the standings are stale again at once."""
    require_postgresql("needs PostgreSQL: SQLite serialises writers")
    team = _support_team()
    initiative = sized(team=team, effort=1, reach=10)
    standings_refresh()
    original = standings_module.portfolio_ranking

    def ranking_with_a_concurrent_write(model):
        run_together(partial(_write_elsewhere, initiative, leader))  # on a connection of its own
        return original(model)

    standings_module.portfolio_ranking = ranking_with_a_concurrent_write
    try:
        services.portfolio_changed(what="test")
        standings_refresh()
    finally:
        standings_module.portfolio_ranking = original

    assert not is_current(PortfolioSnapshot.objects.get(), now=timezone.now())
    assert set(StandingsInvalidation.objects.values_list("what", flat=True)) == {
        "update_posted"}


def _write_elsewhere(initiative, actor):
    services.update_post(initiative=initiative, author=actor, body="Meanwhile.",
                         health="at_risk", now=timezone.now())


def test_refresh_standings_by_hand_runs_the_same_refresh(leader):
    from django.core.management import call_command

    sized(team=_support_team(), effort=1, reach=10)
    call_command("refresh_standings")

    assert is_current(PortfolioSnapshot.objects.get(), now=timezone.now())
