"""The kill log says what each retired initiative cost and delivered: its effort, its
predicted annual value and its latest value review's realised value and run cost, with
totals at the top; the page and the API read it in one query however many rows."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portfolio.models import Stage, ValueReview
from portfolio.selectors import kill_log, kill_log_totals
from tests.clients import client_for
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory

pytestmark = pytest.mark.django_db

URL = "/initiatives/kill-log/"
API = "/api/v1/kill-log/"


def retired(*, title, effort=None, predicted=None, reviews=(), team=None):
    """A retired initiative; ``reviews``: (days, realised, run cost, days before FIXED_NOW
    it was recorded)."""
    initiative = InitiativeFactory(
        title=title, stage=Stage.RETIRED, retirement_reason="value_not_proven",
        retirement_lessons="Measure first.", team=team or TeamFactory(),
        effort_weeks=None if effort is None else Decimal(effort),
        predicted_annual_value=None if predicted is None else Decimal(predicted))
    for days, realised, cost, ago in reviews:
        recorded = FIXED_NOW - timedelta(days=ago)
        ValueReview.objects.create(
            initiative=initiative, production_since=FIXED_NOW - timedelta(days=200), days=days,
            due_on=recorded.date(), scheduled_at=recorded, scheduled_run="test",
            realised_value=Decimal(realised), run_cost=Decimal(cost), recorded_at=recorded,
            recorded_by=initiative.owner)
    # A pending review (not recorded) says nothing about value.
    ValueReview.objects.create(
        initiative=initiative, production_since=FIXED_NOW - timedelta(days=200), days=180,
        due_on=FIXED_NOW.date(), scheduled_at=FIXED_NOW, scheduled_run="test")
    return initiative


@pytest.fixture
def two_retired():
    retired(title="Claims triage bot", effort=12, predicted=240_000,
            reviews=[(30, 50_000, 10_000, 60), (90, 20_000, 30_000, 5)])
    retired(title="Never reviewed", effort="3.5", predicted=80_000)


def test_each_entry_shows_its_cost_and_what_it_delivered(client, pm, two_retired):
    client.force_login(pm)
    html = client.get(URL).content.decode()

    assert "12 engineer-weeks" in html
    assert "EUR 240,000 a year" in html
    # The latest review (90 days), not the first.
    assert "Realised <strong>EUR 20,000 a year</strong>" in html
    assert "Run cost <strong>EUR 30,000 a year</strong>" in html
    assert "EUR 50,000" not in html
    assert "3.5 engineer-weeks" in html
    assert "No value review recorded" in html


def test_totals_at_the_top_sum_what_is_listed(client, leader, two_retired):
    client.force_login(leader)
    html = client.get(URL).content.decode()
    totals = kill_log_totals(kill_log())

    assert (totals.initiatives, totals.effort_weeks, totals.predicted_value,
            totals.realised_value, totals.run_cost, totals.reviewed) == (
        2, Decimal("15.5"), Decimal(320_000), Decimal(20_000), Decimal(30_000), 1)
    top = html[:html.index("Claims triage bot")]
    assert "15.5" in top
    assert "EUR 320,000" in top
    assert "EUR 20,000" in top
    assert "of the 1 reviewed" in top
    # The search narrows the totals too.
    narrowed = client.get(URL, {"q": "Never"}).content.decode()
    assert "EUR 80,000" in narrowed[:narrowed.index("Never reviewed")]


def test_the_api_gives_cost_and_delivered_value(leader, two_retired):
    rows = {row["title"]: row for row in client_for(leader).get(API).json()["results"]}

    claims = rows["Claims triage bot"]
    assert (claims["effort_weeks"], claims["predicted_annual_value"], claims["realised_value"],
            claims["run_cost"], claims["currency"]) == ("12.0", "240000.00", "20000.00",
                                                        "30000.00", "EUR")
    assert rows["Never reviewed"]["realised_value"] is None
    assert rows["Never reviewed"]["reviewed_at"] is None


def _count(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", [URL, API])
def test_one_query_for_the_rows_however_many(client, leader, url,
                                             django_assert_max_num_queries):
    client.force_login(leader)
    team = TeamFactory()
    for i in range(2):
        retired(title=f"Small {i}", effort=2, predicted=1000, team=team,
                reviews=[(30, 500, 100, 10)])
    client.get(url)
    small = _count(client, url)
    for i in range(30):
        retired(title=f"Large {i}", effort=2, predicted=1000, team=team,
                reviews=[(30, 500, 100, 10), (90, 600, 100, 5)])

    with django_assert_max_num_queries(small):
        assert client.get(url).status_code == 200
    assert _count(client, url) == small
