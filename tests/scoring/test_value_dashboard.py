"""Value for leadership: predicted against realised value, estimate accuracy per team and
per scoring model, the dashboard's value KPIs and chart, the Value page and its API, with
query counts that do not grow with the portfolio."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portfolio.models import Category, Initiative, Stage, StageTransition, ValueReview
from scoring import charts, value
from scoring.api import ValueReportSerializer, _total
from scoring.models import ScoringModel
from scoring.services import scoring_model_activate
from scoring.standings import standings_refresh
from tests.clients import client_for
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory, measure

pytestmark = pytest.mark.django_db

VALUE_URL = "/dashboard/value/"
DASHBOARD_URL = "/dashboard/"
VALUE_API = "/api/v1/value/"
DASHBOARD_API = "/api/v1/dashboard/"


def in_production(*, team, predicted, realised=None, title=None, recorded_at=FIXED_NOW,
                  pilot_at=None, production_at=None, stage=Stage.PRODUCTION,
                  category=Category.OTHER, run_cost=Decimal(1000)):
    """An initiative that entered pilot and then production (its history says when), with a
    recorded value review of ``realised`` (none when None)."""
    production_at = production_at or FIXED_NOW - timedelta(days=100)
    pilot_at = pilot_at or production_at - timedelta(days=60)
    initiative = InitiativeFactory(team=team, stage=stage, contracted=True, category=category,
                                   predicted_annual_value=Decimal(predicted),
                                   **({"title": title} if title else {}))
    StageTransition.objects.create(initiative=initiative, from_stage=Stage.ASSESSMENT,
                                   to_stage=Stage.PILOT, at=pilot_at, actor=initiative.owner)
    StageTransition.objects.create(initiative=initiative, from_stage=Stage.PILOT,
                                   to_stage=Stage.PRODUCTION, at=production_at,
                                   actor=initiative.owner)
    if realised is not None:
        review(initiative, realised, recorded_at=recorded_at, run_cost=run_cost)
    return initiative


def review(initiative, realised, *, recorded_at, days=30, run_cost=Decimal(1000)):
    production_since = (StageTransition.objects.filter(initiative=initiative,
                                                       to_stage=Stage.PRODUCTION)
                        .order_by("-at").values_list("at", flat=True).first())
    return ValueReview.objects.create(
        initiative=initiative, production_since=production_since, days=days,
        due_on=recorded_at.date(), scheduled_at=recorded_at, scheduled_run="test",
        realised_value=Decimal(realised), run_cost=run_cost, recorded_at=recorded_at,
        recorded_by=initiative.owner)


@pytest.fixture
def team_a():
    return TeamFactory(name="Alpha", slug="alpha")


@pytest.fixture
def hand_computed(team_a):
    """Alpha: predicted 100k and 200k, realised 50k and 150k; a third initiative (500k
    predicted) has no review yet. Beta: predicted 100k, realised 110k."""
    in_production(team=team_a, predicted=100_000, realised=50_000, title="Alpha one")
    in_production(team=team_a, predicted=200_000, realised=150_000, title="Alpha two")
    in_production(team=team_a, predicted=500_000, title="Alpha unreviewed")
    beta = TeamFactory(name="Beta", slug="beta")
    in_production(team=beta, predicted=100_000, realised=110_000, title="Beta one")
    # The Value page and its API read what the standings refresh stored (value_store).
    standings_refresh(now=timezone.now(), force=True)


# --- Estimate accuracy ----------------------------------------------------------------------

def test_accuracy_is_realised_over_predicted_of_the_reviewed_only(hand_computed):
    report = value.value_report()
    alpha = next(total for total in report.by_team if total.key == "Alpha")

    # 200k realised ÷ 300k predicted for the same two; the unreviewed 500k is left out.
    assert alpha.total.accuracy == Decimal(200_000) / Decimal(300_000)
    assert alpha.accuracy_percent == 67
    assert alpha.words == "estimates held: 67% (over-predicts)"
    assert (alpha.total.initiatives, alpha.total.reviewed) == (3, 2)
    assert alpha.total.predicted_value == Decimal(800_000)
    assert alpha.total.predicted_reviewed == Decimal(300_000)
    beta = next(total for total in report.by_team if total.key == "Beta")
    assert beta.words == "estimates held: 110% (on target)"


def test_the_value_page_says_whose_estimates_held(client, leader, hand_computed):
    client.force_login(leader)
    html = client.get(VALUE_URL).content.decode()

    assert "estimates held: <strong>67%</strong>" in html
    assert "over-predicts" in html
    assert "estimates held: <strong>110%</strong>" in html
    assert "EUR 200,000" in html
    assert "EUR 300,000" in html
    assert "Alpha unreviewed" in html
    assert "Predicted versus realised value per team" in html


def test_accuracy_per_scoring_model_follows_the_model_active_when_each_entered_pilot(
        team_a, leader):
    # The default RICE v1 is active; WSJF v1 takes over later. Times are after the
    # defaults were created (the test database's migrations), as in real life.
    start = timezone.now() + timedelta(days=1)
    in_production(team=team_a, predicted=100_000, realised=80_000, title="Under RICE",
                  pilot_at=start, production_at=start + timedelta(days=40))
    scoring_model_activate(model=ScoringModel.objects.get(name="WSJF", version=1),
                           actor=leader, now=start + timedelta(days=2))
    in_production(team=team_a, predicted=100_000, realised=40_000, title="Under WSJF",
                  pilot_at=start + timedelta(days=3), production_at=start + timedelta(days=40))
    in_production(team=team_a, predicted=100_000, realised=20_000, title="Under WSJF too",
                  pilot_at=start + timedelta(days=5), production_at=start + timedelta(days=41))
    # Before any recorded activation: the first version active.
    in_production(team=team_a, predicted=50_000, realised=50_000, title="Long ago",
                  pilot_at=datetime(2020, 1, 6, tzinfo=UTC),
                  production_at=datetime(2020, 3, 2, tzinfo=UTC))

    report = value.value_report()
    by_model = {total.key: total for total in report.by_model}
    models = {row.ledger.title: row.model for row in report.rows}

    assert models == {"Under RICE": "RICE v1", "Under WSJF": "WSJF v1",
                      "Under WSJF too": "WSJF v1", "Long ago": "RICE v1"}
    assert by_model["RICE v1"].accuracy_percent == 87      # 130k ÷ 150k
    assert by_model["WSJF v1"].accuracy_percent == 30      # 60k ÷ 200k
    assert by_model["WSJF v1"].verdict == "over-predicts"
    assert set(by_model) == {"RICE v1", "WSJF v1"}


def test_totals_per_category_and_quarter_entered_production(team_a):
    in_production(team=team_a, predicted=100_000, realised=90_000,
                  category=Category.INTERNAL_COPILOT,
                  production_at=datetime(2026, 2, 10, 12, tzinfo=UTC))
    in_production(team=team_a, predicted=100_000, realised=30_000,
                  category=Category.AGENTIC_WORKFLOW,
                  production_at=datetime(2026, 5, 10, 12, tzinfo=UTC))

    report = value.value_report()

    assert [(t.key, t.accuracy_percent) for t in report.by_quarter] == [("2026-Q1", 90),
                                                                        ("2026-Q2", 30)]
    assert [(t.key, t.verdict) for t in report.by_category] == [
        ("Agentic workflow", "over-predicts"), ("Internal copilot", "on target")]


def test_the_chart_names_the_teams_that_realised_well_below_their_prediction():
    chart = charts.value_by_team([("Alpha <b>", 300_000.0, 200_000.0, 2, 3),
                                  ("Beta", 100_000.0, 90_000.0, 1, 1),
                                  ("Gamma", 0.0, 0.0, 0, 2)], currency="EUR")

    assert chart.summary == "3 teams; realised under 90% of predicted: Alpha <b>."
    assert "Alpha &lt;b&gt;" in chart.svg
    assert "EUR 200k realised · 67% held" in chart.svg
    assert "EUR 90k realised · 90% held" in chart.svg        # on target: 90% is within
    assert "no value review recorded yet (2 initiatives)" in chart.svg
    assert chart.rows[1] == ["Beta", "100,000", "90,000", "90%", "1 of 1"]
    assert charts.value_by_team([], currency="EUR").empty


# --- The dashboard's value KPIs ---------------------------------------------------------------

def _kpis(now):
    return value.value_kpis(now=now, initiatives=Initiative.objects.all())


def test_value_realised_this_year_counts_the_latest_review_recorded_this_year(team_a):
    last_year = in_production(team=team_a, predicted=100_000, realised=10_000,
                              recorded_at=datetime(2025, 12, 20, tzinfo=UTC))
    twice = in_production(team=team_a, predicted=100_000, realised=20_000,
                          recorded_at=datetime(2026, 3, 1, tzinfo=UTC))
    review(twice, 30_000, recorded_at=datetime(2026, 6, 1, tzinfo=UTC), days=90)
    assert last_year.value_reviews.count() == 1

    standings_refresh(now=FIXED_NOW, force=True)

    # Only the later 2026 review of the second initiative: the first's is from 2025.
    assert _kpis(FIXED_NOW).realised_this_year == Decimal(30_000)
    # In 2027, nothing has been recorded yet.
    assert _kpis(datetime(2027, 1, 2, tzinfo=UTC)).realised_this_year == Decimal(0)


def test_meeting_their_contract_agrees_with_the_rows_behind_it(client, leader, team_a):
    met = in_production(team=team_a, predicted=1, title="Meets it")
    measure(met, Decimal(36))
    missed = in_production(team=team_a, predicted=1, title="Misses it")
    measure(missed, Decimal(20))
    in_production(team=team_a, predicted=1, title="Never measured")
    scaled = in_production(team=team_a, predicted=1, title="Scaled and meets it",
                           stage=Stage.SCALED)
    measure(scaled, Decimal(40))
    measure(InitiativeFactory(team=team_a, stage=Stage.PILOT, contracted=True))  # not counted

    standings_refresh(now=FIXED_NOW, force=True)
    rows = value.production_contracts()
    kpis = _kpis(FIXED_NOW)  # what the dashboard reads, stored by the refresh

    assert {row.initiative.title: row.status for row in rows} == {
        "Meets it": "met", "Misses it": "missed", "Never measured": "unmeasured",
        "Scaled and meets it": "met"}
    assert (kpis.meeting_contract, kpis.in_production) == (
        sum(row.meets for row in rows), len(rows)) == (2, 4)
    assert kpis.meeting_percent == 50

    client.force_login(leader)
    dashboard = client.get(DASHBOARD_URL).content.decode()
    assert "Meeting their contract" in dashboard
    assert "2 of 4 initiatives in production or scaled" in dashboard
    page = client.get(VALUE_URL).content.decode()
    assert "2 of 4 meet it" in page
    assert "misses it" in page
    assert "35% or higher" in page


def test_the_dashboard_shows_the_value_section_and_its_chart(client, leader, hand_computed):
    standings_refresh(now=timezone.now(), force=True)
    client.force_login(leader)
    html = client.get(DASHBOARD_URL).content.decode()

    assert "Value after production" in html
    assert f"Value realised in {timezone.localdate().year}" in html
    # 50k + 150k + 110k, all recorded on 2 November 2026.
    assert "EUR 310,000" in html
    assert "Predicted versus realised value per team" in html
    assert 'href="/dashboard/value/"' in html
    body = client_for(leader).get(DASHBOARD_API).json()["value"]
    assert body["realised_this_year"] == "310000.00"
    assert body["in_production"] == 4
    assert body["currency"] == "EUR"
    assert set(body) >= {"meeting_contract", "meeting_contract_percent",
                         "overdue_value_reviews", "value_at_risk", "definitions"}


def test_overdue_reviews_and_value_at_risk_are_counted_on_the_dashboard(client, leader,
                                                                         team_a):
    late = in_production(team=team_a, predicted=100_000)
    ValueReview.objects.create(
        initiative=late, production_since=FIXED_NOW - timedelta(days=100), days=30,
        due_on=(timezone.now() - timedelta(days=60)).date(), scheduled_at=FIXED_NOW,
        scheduled_run="test")
    at_risk = review(in_production(team=team_a, predicted=100_000), 10_000,
                     recorded_at=FIXED_NOW)
    ValueReview.objects.filter(pk=at_risk.pk).update(at_risk=True, suggested_decision="fix")

    kpis = _kpis(timezone.now())

    assert (kpis.overdue_reviews, kpis.value_at_risk) == (1, 1)
    client.force_login(leader)
    body = client_for(leader).get(DASHBOARD_API).json()["value"]
    assert (body["overdue_value_reviews"], body["value_at_risk"]) == (1, 1)


# --- The API --------------------------------------------------------------------------------

def test_the_value_api_gives_totals_and_accuracy(leader, hand_computed):
    body = client_for(leader).get(VALUE_API).json()

    alpha = next(total for total in body["by_team"] if total["key"] == "Alpha")
    assert alpha["accuracy"] == "0.6667"
    assert alpha["accuracy_percent"] == 67
    assert alpha["verdict"] == "over-predicts"
    assert (alpha["predicted_reviewed"], alpha["realised_value"]) == ("300000.00", "200000.00")
    assert body["currency"] == "EUR"
    assert {"by_category", "by_quarter", "by_scoring_model", "overall"} <= set(body)


def test_the_value_api_is_its_serializers_json_field_for_field(leader, hand_computed):
    # Its lists (one row per team, per category…) are built plainly (``plain_data``).
    report = value.value_stored()
    body = client_for(leader).get(VALUE_API).json()

    expected = ValueReportSerializer({
        "currency": "EUR", "margin_percent": body["margin_percent"],
        "overall": _total(report.overall), "by_team": list(map(_total, report.by_team)),
        "by_category": list(map(_total, report.by_category)),
        "by_quarter": list(map(_total, report.by_quarter)),
        "by_scoring_model": list(map(_total, report.by_model)),
        "definitions": value.value_definitions(),
        "standings_as_of": body["standings_as_of"], "refreshing": False}).data
    assert len(body["by_team"]) == 2
    assert json.dumps(body) == json.dumps(expected)  # the same values, in the same order


def test_the_value_api_keeps_its_totals_for_the_snapshot_and_reads_the_next_ones(
        leader, hand_computed, team_a):
    client = client_for(leader)
    first = client.get(VALUE_API).json()
    in_production(team=team_a, predicted=100_000, realised=100_000, title="Alpha three")

    # Written behind the services' back, so nothing marks the standings stale: the
    # totals are those of the snapshot, kept, until the worker stores the next.
    assert client.get(VALUE_API).json() == first
    standings_refresh(now=timezone.now(), force=True)
    body = client.get(VALUE_API).json()

    alpha = next(total for total in body["by_team"] if total["key"] == "Alpha")
    assert (alpha["initiatives"], alpha["reviewed"]) == (4, 3)
    assert body["overall"]["initiatives"] == first["overall"]["initiatives"] + 1


# --- Access ---------------------------------------------------------------------------------

@pytest.mark.parametrize("persona", ["leader", "pm"])
def test_leaders_and_pms_read_the_value_page(client, request, persona, hand_computed):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(VALUE_URL).status_code == 200
    assert client_for(request.getfixturevalue(persona)).get(VALUE_API).status_code == 200


def test_the_value_page_is_in_the_navigation(client, pm):
    client.force_login(pm)

    assert 'href="/dashboard/value/"' in client.get("/initiatives/").content.decode()


def test_an_outsider_gets_not_found_and_a_visitor_signs_in(client, outsider):
    assert client.get(VALUE_URL).status_code == 302
    assert "/login/" in client.get(VALUE_URL)["Location"]
    client.force_login(outsider)

    assert client.get(VALUE_URL).status_code == 404
    assert client_for(outsider).get(VALUE_API).status_code == 404


def test_an_empty_portfolio_says_so(client, leader):
    client.force_login(leader)
    html = client.get(VALUE_URL).content.decode()

    assert "No initiative has entered production yet" in html
    assert "No initiative has reached production yet" in html


# --- Query counts ---------------------------------------------------------------------------

def _portfolio(size):
    teams = [TeamFactory() for _ in range(3)]
    for i in range(size):
        initiative = in_production(team=teams[i % 3], predicted=100_000 + i,
                                   realised=None if i % 4 == 0 else 50_000 + i,
                                   stage=Stage.SCALED if i % 5 == 0 else Stage.PRODUCTION)
        if i % 2:
            measure(initiative)


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


BUDGETS = {
    # Session, user with roles; the standings' snapshot and whether a change is pending (2);
    # the stored totals but the teams', the teams counted and a page of them (3); a page
    # of the initiatives; a page of those short of their contract (ids), their rows and
    # their contract evidence (4).
    VALUE_URL: 12,
    # The API client's reads of the user; the standings' snapshot and whether a change is
    # pending (2), the stored totals.
    VALUE_API: 5,
    # The dashboard's (tests/scoring/test_dashboard.py, PAGE_QUERIES; no rows to read for
    # this portfolio's empty groups; never refreshed, so everything is counted live and the
    # heat map's ids are read apart from its rows).
    DASHBOARD_URL: 27,
    # The dashboard API's, with the value KPIs from the stored standings (1) and the value
    # flags (2), and the first screen's (5: tests/scoring/test_api.py).
    DASHBOARD_API: 15,
}


@pytest.mark.parametrize("url", list(BUDGETS))
def test_the_query_count_does_not_grow_with_the_portfolio(client, leader, url,
                                                          django_assert_max_num_queries):
    client.force_login(leader)
    stored = url in (VALUE_URL, VALUE_API)  # read what the standings refresh stored
    _portfolio(4)
    if stored:
        standings_refresh(now=timezone.now(), force=True)
    client.get(url)  # warm the session and the standings
    small = _queries(client, url)
    _portfolio(40)
    if stored:
        standings_refresh(now=timezone.now(), force=True)
    client.get(url)

    with django_assert_max_num_queries(BUDGETS[url]):
        client.get(url)
    assert small == _queries(client, url) == BUDGETS[url]
