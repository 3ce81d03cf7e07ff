"""A dashboard read that finds the standings stale on a large portfolio queues one refresh
on Redis; a real Celery worker recomputes them, and the next read shows them current."""

import pytest
from django.core.cache import cache
from django.utils import timezone

from portfolio.services import initiative_update
from scoring.defaults import load_default_models
from scoring.models import PortfolioSnapshot, ScoringModel, Standing
from scoring.standings import QUEUED_KEY, standings_refresh
from tests.factories import TeamFactory
from tests.scoring.test_dashboard import export_rows, page_text, plan, sized

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_stale_read_queues_one_refresh_that_the_worker_runs(client, leader, settings,
                                                              worker, drain):
    settings.STANDINGS_INLINE_MS = 0  # as if computing them took too long to wait for
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

    stale = page_text(client)  # shows the last standings and queues the refresh
    page_text(client)          # queues nothing more
    drain()

    assert "refreshing" in stale
    after = PortfolioSnapshot.objects.get()
    assert after.taken_at > before.taken_at
    assert "refreshing" not in page_text(client)
    assert [r[1] for r in export_rows(client)[1:]] == ["Second in line", "Big bet"]
    assert Standing.objects.get(pk=big.pk).rank == 2
    assert cache.get(QUEUED_KEY) is None
