"""A write queues one refresh of the stored standings on Redis once it commits; a real
Celery worker recomputes them, and the next read shows them current. Until then the
dashboard shows the last standings, marked *refreshing*."""

import pytest
from django.core.cache import cache
from django.utils import timezone

from portfolio.services import initiative_update
from scoring.defaults import load_default_models
from scoring.models import (
    PortfolioSnapshot,
    ScoringModel,
    Standing,
    StandingsInvalidation,
    TeamStanding,
)
from scoring.standings import QUEUED_KEY, standings_refresh
from tests.factories import TeamFactory
from tests.scoring.test_dashboard import export_rows, page_text, plan, sized

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_write_queues_one_refresh_that_the_worker_runs(client, leader, worker, drain):
    cache.delete(QUEUED_KEY)
    load_default_models(ScoringModel)  # RICE active: an earlier test's flush removed it
    team = TeamFactory(name="Support", slug="support")
    plan(team, 10)
    big = sized(team=team, effort=8, reach=8000, title="Big bet")
    sized(team=team, effort=5, reach=2500, title="Second in line")
    before = standings_refresh()
    client.force_login(leader)

    initiative_update(initiative=big, actor=leader, now=timezone.now(),
                      expected_version=big.version, changes={"reach": 1})  # now ranks last
    drain()  # the refresh the write sent on commit, nothing else asked for it

    after = PortfolioSnapshot.objects.get()
    assert after.taken_at > before.taken_at
    assert not StandingsInvalidation.objects.exists()
    assert "refreshing" not in page_text(client, worker=False)
    assert [r[1] for r in export_rows(client, worker=False)[1:]] == ["Second in line",
                                                                      "Big bet"]
    assert Standing.objects.get(pk=big.pk).rank == 2
    assert cache.get(QUEUED_KEY) is None


def _stored() -> dict:
    """Every stored standing and team standing, as values."""
    return {"standings": {row["initiative_id"]: row for row in Standing.objects.values()},
            "teams": {(row.pop("team_id"), row.pop("ahead")): row
                      for row in TeamStanding.objects.values() if row.pop("id")}}


def _a_full_recompute_stores_the_same(snapshot) -> None:
    stored = _stored()
    standings_refresh(now=snapshot.recomputed_at, force=True)
    assert _stored() == stored


def test_the_worker_recomputes_only_what_an_edit_names_as_a_full_recompute_would(
        leader, worker, drain):
    cache.delete(QUEUED_KEY)
    load_default_models(ScoringModel)
    support, finance = (TeamFactory(name="Support", slug="support"),
                        TeamFactory(name="Finance", slug="finance"))
    plan(support, 10)
    plan(finance, 4)
    big = sized(team=support, effort=8, reach=8000, title="Big bet")
    sized(team=support, effort=5, reach=2500, title="Second in line")
    sized(team=finance, effort=3, reach=300, title="Ledger")
    before = standings_refresh(force=True)
    assert Standing.objects.get(initiative__title="Second in line").funding == "below_line"

    initiative_update(initiative=big, actor=leader, now=timezone.now(),
                      expected_version=big.version, changes={"effort_weeks": 2})
    drain()

    after = PortfolioSnapshot.objects.get()
    assert after.taken_at > before.taken_at
    assert after.recomputed_at == before.recomputed_at  # only what the edit named
    assert Standing.objects.get(initiative__title="Second in line").funding == "funded"
    _a_full_recompute_stores_the_same(after)

