"""The standings refresh recomputes only what a change names (scoring/standings.py,
``_recompute_named``), and stores exactly what a full recompute would.

After every kind of write, the refresh the worker runs is compared, row by row, with a
full recompute at the same moment: every ``Standing``, every ``TeamStanding`` and the
Value page's stored rows. A change that names nothing (the catalogue, a scoring model,
an account) and a new day recompute everything.
"""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from conftest import require_postgresql
from governance import services as governance
from portfolio import services
from portfolio.models import Initiative, Stage, Update
from scoring import standings as standings_module
from scoring.capacity import capacity_plan_set, next_quarter, quarter_of
from scoring.defaults import load_default_models
from scoring.models import (
    ScoringModel,
    Standing,
    StandingsInvalidation,
    TeamStanding,
    ValueEntry,
    ValueTotal,
)
from scoring.standings import QUEUED_KEY, standings_refresh
from tests.factories import TeamFactory, UserFactory
from tests.scoring.test_dashboard import plan, sized
from tests.scoring.test_standings import WRITERS
from tests.threads import run_together

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_queued_refresh():
    cache.delete(QUEUED_KEY)
    yield
    cache.delete(QUEUED_KEY)


@pytest.fixture
def rich(leader, reviewer, superuser):
    """Three teams near their lines (one without a plan), committed, paused, retired and
    production work, an owner silent for weeks, checkpoints that block; the standings
    fully recomputed at ``base``."""
    base = timezone.now()
    weeks_ago = base - timedelta(days=60)
    support = TeamFactory(name="Support", slug="support")
    plan(support, 10)
    finance = TeamFactory(name="Finance", slug="finance")
    plan(finance, 6)
    ops = TeamFactory(name="Ops", slug="ops")  # drawing, without a plan
    owner = UserFactory(username="std-owner", roles=["pm"])
    silent = UserFactory(username="silent-owner", roles=["pm"])
    made = {
        "watched": sized(team=support, effort=1, reach=10, owner=owner, title="Watched"),
        "big": sized(team=support, effort=8, reach=8000, owner=owner, title="Big bet"),
        "second": sized(team=support, effort=5, reach=2500, title="Second",
                        production_owner=None),
        "fits": sized(team=support, effort=2, reach=100, title="Fits"),
        "running": sized(team=support, effort=3, reach=50, stage=Stage.PILOT,
                         title="Running"),
        "unsized": sized(team=support, effort=None, reach=10, title="Unsized"),
        "ledger": sized(team=finance, effort=4, reach=400, title="Ledger"),
        # Ideas of an owner nobody has heard from in weeks: ownership gaps.
        "invoices": sized(team=finance, effort=3, reach=200, stage=Stage.IDEA, owner=silent,
                          created_at=weeks_ago, title="Invoices"),
        "audit": sized(team=finance, effort=2, reach=100, stage=Stage.IDEA, owner=silent,
                       created_at=weeks_ago, title="Audit"),
        "live": sized(team=finance, effort=2, reach=90, stage=Stage.PRODUCTION, title="Live"),
        "ops_idea": sized(team=ops, effort=1, reach=30, stage=Stage.IDEA, title="Ops idea"),
        "paused": sized(team=ops, effort=1, reach=30, stage=Stage.PAUSED, title="Paused"),
        "gone": sized(team=ops, effort=1, reach=30, stage=Stage.RETIRED, title="Gone",
                      retirement_reason="superseded"),
    }
    governance.checkpoints_sync(initiatives=list(made.values()), actor=leader, now=base)
    standings_refresh(now=base, force=True)
    assert Standing.objects.get(pk=made["audit"].pk).ownership_gap
    assert Standing.objects.filter(blocked=True).exists()
    watched = made["watched"]
    return {"base": base, "team": support, "finance": finance, "ops": ops, "owner": owner,
            "silent": silent, "leader": leader, "reviewer": reviewer, "superuser": superuser,
            "initiative": watched, **made,
            "checkpoint": watched.checkpoints.order_by("pk").first()}


def _stored() -> dict:
    """Every stored standing, team standing and Value page row, as values."""
    def rows(model, key, *, leave_out=("id",)):
        found = {}
        for row in model.objects.values():
            for name in leave_out:
                row.pop(name, None)
            found[tuple(row[name] for name in key)] = row
        return found
    return {"standings": rows(Standing, ["initiative_id"]),
            "teams": rows(TeamStanding, ["team_id", "ahead"]),
            "value totals": rows(ValueTotal, ["dimension", "position"]),
            "value entries": rows(ValueEntry, ["initiative_id", "in_ledger"])}


def _refreshed_like_a_full_recompute(now: datetime) -> bool:
    """Refresh as the worker does; then whether a full recompute at the moment the
    refresh's clock reads stores the same rows (asserted), and whether the refresh
    recomputed only what was named."""
    snapshot = standings_refresh(now=now)
    partial = snapshot.recomputed_at < now
    refreshed = _stored()
    standings_refresh(now=snapshot.recomputed_at, force=True)
    assert _stored() == refreshed
    return partial


# --- The writes ---------------------------------------------------------------------------------

def _score_change(w, now):
    # The big bet shrinks: it and the candidates after it all fit the line now.
    services.initiative_update(initiative=w["big"], actor=w["owner"], now=now,
                               expected_version=1, changes={"effort_weeks": Decimal("2")})


def _score_falls(w, now):
    # The candidate that fitted last falls to the bottom of the portfolio.
    services.initiative_update(initiative=w["fits"], actor=w["leader"], now=now,
                               expected_version=1, changes={"reach": 1})


def _stage_change(w, now):
    services.initiative_move_stage(initiative=w["big"], to_stage=Stage.PAUSED,
                                   actor=w["owner"], now=now)


def _retirement(w, now):
    services.initiative_move_stage(initiative=w["second"], to_stage=Stage.RETIRED,
                                   actor=w["leader"], now=now, retirement_reason="superseded",
                                   retirement_lessons="Ask first.")


def _team_change(w, now):
    services.initiative_update(initiative=w["big"], actor=w["owner"], now=now,
                               expected_version=1, changes={"team": w["finance"]})


def _team_renamed(w, now):
    team = w["finance"]
    team.name = "Accounts"
    services.team_save(team=team, actor=w["leader"], now=now)


def _capacity_cut(w, now):
    year, quarter = quarter_of(now)
    capacity_plan_set(team=w["team"], year=year, quarter=quarter, engineer_weeks="4",
                      actor=w["leader"], now=now)


def _capacity_next_quarter(w, now):
    year, quarter = next_quarter(*quarter_of(now))
    capacity_plan_set(team=w["ops"], year=year, quarter=quarter, engineer_weeks="1",
                      actor=w["leader"], now=now)


def _silent_owner_speaks(w, now):
    # A word on one of their initiatives: every one they own has heard from them.
    services.update_post(initiative=w["invoices"], author=w["silent"], body="Still on it.",
                         health="on_track", now=now)


def _update_deleted(w, now):
    update = services.update_post(initiative=w["audit"], author=w["silent"], body="Here.",
                                  health="on_track", now=now)
    standings_refresh(now=now)
    services.update_delete(update=Update.objects.get(pk=update.pk), actor=w["superuser"],
                           now=now)


# Names nothing: every standing is recomputed.
EVERYTHING = {"scoring_model", "account_deactivated", "account_reactivated", "catalogue",
              "update_deleted"}
CASES = [*WRITERS, _score_change, _score_falls, _stage_change, _retirement, _team_change,
         _team_renamed, _capacity_cut, _capacity_next_quarter, _silent_owner_speaks,
         _update_deleted]


@pytest.mark.parametrize("write", CASES, ids=[w.__name__.strip("_") for w in CASES])
def test_after_each_kind_of_write_the_refresh_stores_what_a_full_recompute_would(rich, write):
    now = rich["base"] + timedelta(minutes=1)

    write(rich, now)

    partial = _refreshed_like_a_full_recompute(now + timedelta(minutes=1))
    assert partial is (write.__name__.strip("_") not in EVERYTHING)


def test_an_edit_moves_other_initiatives_ranks_and_lines_without_a_full_recompute(rich):
    def place(key):
        standing = Standing.objects.get(pk=rich[key].pk)
        return standing.rank, standing.funding
    # The pilot's 3 weeks come first; the big bet needs 8 of the 7 left.
    assert [place(key) for key in ("big", "second")] == [(1, "below_line"), (2, "funded")]
    assert place("fits") == (6, "funded")
    now = rich["base"] + timedelta(minutes=1)

    _score_change(rich, now)  # the big bet shrinks to 2 weeks: it fits, "Fits" does not
    _score_falls(rich, now)  # and "Fits" falls to the bottom of the portfolio
    snapshot = standings_refresh(now=now)

    assert snapshot.recomputed_at == rich["base"]  # not recomputed in full
    live = Initiative.objects.exclude(stage=Stage.RETIRED).count()
    assert [place(key) for key in ("big", "second", "fits")] == [
        (1, "funded"), (2, "funded"), (live - 1, "below_line")]  # above the unsized only
    assert not StandingsInvalidation.objects.exists()


def test_a_word_from_a_silent_owner_closes_the_gaps_of_all_they_own(rich):
    now = rich["base"] + timedelta(minutes=1)

    _silent_owner_speaks(rich, now)
    snapshot = standings_refresh(now=now)

    assert snapshot.recomputed_at == rich["base"]
    assert not Standing.objects.get(pk=rich["audit"].pk).ownership_gap


def test_the_clock_of_the_day_s_full_recompute_is_the_one_later_refreshes_read(rich):
    """A refresh later in the day recomputes what changed as of the morning's full
    recompute, so an owner does not fall silent in the rows one change touched and stay
    heard in the others."""
    base = rich["base"]
    later = base + timedelta(hours=1)
    _silent_owner_speaks(rich, later)

    snapshot = standings_refresh(now=later)

    assert snapshot.taken_at == later
    assert snapshot.recomputed_at == base


def test_a_new_day_and_a_new_quarter_recompute_everything(rich):
    year, quarter = next_quarter(*quarter_of(rich["base"]))
    first_day = timezone.make_aware(datetime(year, 3 * quarter - 2, 1, 12, 0))

    assert not _refreshed_like_a_full_recompute(first_day)
    snapshot = standings_refresh(now=first_day)
    assert (snapshot.year, snapshot.quarter) == (year, quarter)

    _score_change(rich, first_day + timedelta(minutes=1))
    assert _refreshed_like_a_full_recompute(first_day + timedelta(minutes=2))


def test_the_nightly_recompute_is_a_full_one(rich):
    from scoring.tasks import standings_recompute_task

    _score_change(rich, rich["base"] + timedelta(minutes=1))
    standings_recompute_task()

    snapshot = standings_refresh(now=timezone.now())
    assert snapshot.recomputed_at > rich["base"]
    assert not StandingsInvalidation.objects.exists()


def test_a_change_naming_more_than_a_refresh_should_take_row_by_row_recomputes_everything(
        rich, monkeypatch):
    from scoring import standings

    monkeypatch.setattr(standings, "NAMED_AT_MOST", 1)
    now = rich["base"] + timedelta(minutes=1)
    _score_change(rich, now)

    assert not _refreshed_like_a_full_recompute(now + timedelta(minutes=1))


@pytest.mark.django_db(transaction=True)
def test_a_refresh_during_another_and_a_write_between_them_store_what_a_full_recompute_would(
        leader):
    """Two refreshes at once take turns (the snapshot's row lock); an edit that commits
    while the first runs is seen by part of it and left pending for the second, which
    recomputes what it names: the result is a full recompute's."""
    require_postgresql("needs PostgreSQL: SQLite serialises writers")
    cache.delete(QUEUED_KEY)
    load_default_models(ScoringModel)
    support, finance = (TeamFactory(name="Support", slug="support"),
                        TeamFactory(name="Finance", slug="finance"))
    plan(support, 10)
    plan(finance, 4)
    big = sized(team=support, effort=8, reach=8000, title="Big bet")
    sized(team=support, effort=5, reach=2500, title="Second in line")
    ledger = sized(team=finance, effort=3, reach=300, title="Ledger")
    sized(team=finance, effort=2, reach=100, title="Audit")
    standings_refresh(force=True)
    original = standings_module._store_ranks

    def ranks_with_a_concurrent_edit(model):
        if not ledger_edited:
            ledger_edited.append(True)
            run_together(lambda: services.initiative_update(
                initiative=ledger, actor=leader, now=timezone.now(),
                expected_version=ledger.version, changes={"reach": 1, "effort_weeks": 1}))
        return original(model)

    ledger_edited: list = []
    services.initiative_update(initiative=big, actor=leader, now=timezone.now(),
                               expected_version=big.version, changes={"effort_weeks": 2})
    standings_module._store_ranks = ranks_with_a_concurrent_edit
    try:
        first, second = run_together(standings_refresh, standings_refresh)
    finally:
        standings_module._store_ranks = original

    assert ledger_edited
    snapshot = standings_refresh()
    assert snapshot.recomputed_at == first.recomputed_at == second.recomputed_at
    assert not StandingsInvalidation.objects.exists()
    stored = _stored()
    standings_refresh(now=snapshot.recomputed_at, force=True)
    assert _stored() == stored
