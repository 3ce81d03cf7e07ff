"""The Value page's stored figures (issue 22): the standings refresh stores what
``scoring.value.value_report`` computes, and the page and ``/api/v1/value/`` read a page of
it, so their cost does not grow with the portfolio. Stored equals computed after every kind
of write, once the worker has run."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from portfolio.models import Stage, ValueReview
from portfolio.outcomes.services import value_decide, value_review_record
from portfolio.services import (
    initiative_move_stage,
    initiative_update,
    portfolio_changed,
    team_save,
)
from scoring import value
from scoring.models import ScoringModel, StandingsInvalidation, ValueEntry
from scoring.services import scoring_model_activate
from scoring.standings import standings_refresh
from tests.clients import client_for
from tests.factories import (
    FIXED_NOW,
    InitiativeFactory,
    TeamFactory,
    measure,
    ready_for_production,
)
from tests.scoring.test_value_dashboard import in_production, review

pytestmark = pytest.mark.django_db

VALUE_URL = "/dashboard/value/"
VALUE_API = "/api/v1/value/"


def _figures(totals):
    return [(total.key, vars(total.total)) for total in totals]


def assert_stored_equals_computed():
    """Once the worker has run: every total, every row of the per-initiative table and the
    contract table as the live computation gives them."""
    assert StandingsInvalidation.objects.exists()  # the write told the worker
    standings_refresh(now=timezone.now())
    computed, stored = value.value_report(), value.value_stored()

    assert _figures([stored.overall] if stored.overall else []) == _figures(
        [computed.overall] if computed.overall else [])
    for name in ("by_team", "by_category", "by_quarter", "by_model"):
        assert _figures(getattr(stored, name)) == _figures(getattr(computed, name)), name
    rows = value.ledger_rows(stored)
    assert [(row.ledger, row.model, row.quarter) for row in rows[0:len(rows)]] == [
        (row.ledger, row.model, row.quarter) for row in computed.rows]
    contracts = value.production_contracts()
    assert (stored.contracts_met, stored.in_production) == (
        sum(row.meets for row in contracts), len(contracts))
    short = value.short_of_contract_ids(stored)
    assert list(short[0:len(short)]) == [row.initiative.pk for row in contracts
                                         if not row.meets]


@pytest.fixture
def portfolio(leader):
    alpha, beta = TeamFactory(name="Alpha", slug="alpha"), TeamFactory(name="Beta", slug="beta")
    one = in_production(team=alpha, predicted=100_000, realised=50_000, title="Alpha one")
    measure(one)
    in_production(team=alpha, predicted=200_000, title="Alpha pending")
    in_production(team=beta, predicted=100_000, realised=110_000, title="Beta one",
                  stage=Stage.SCALED)
    standings_refresh(now=timezone.now(), force=True)
    return alpha, beta


def _pending(initiative, *, days=30):
    return ValueReview.objects.create(
        initiative=initiative, production_since=FIXED_NOW - timedelta(days=100), days=days,
        due_on=timezone.localdate() - timedelta(days=1), scheduled_at=FIXED_NOW,
        scheduled_run="test")


def test_recording_a_value_review_reaches_the_stored_totals(portfolio):
    pending = in_production(team=portfolio[0], predicted=100_000, title="Alpha new")
    standings_refresh(now=timezone.now(), force=True)
    due = _pending(pending)

    value_review_record(review=due, realised_value=Decimal(90_000), run_cost=Decimal(500),
                        actor=pending.owner, now=timezone.now())

    assert_stored_equals_computed()
    alpha = next(total for total in value.value_stored().by_team if total.key == "Alpha")
    assert (alpha.total.reviewed, alpha.total.realised_value) == (2, Decimal(140_000))


def test_retiring_on_value_at_risk_reaches_the_stored_totals(portfolio):
    risky = in_production(team=portfolio[1], predicted=100_000, title="Beta risky")
    at_risk = review(risky, 10_000, recorded_at=FIXED_NOW)
    ValueReview.objects.filter(pk=at_risk.pk).update(at_risk=True, suggested_decision="retire")
    standings_refresh(now=timezone.now(), force=True)

    value_decide(review=ValueReview.objects.get(pk=at_risk.pk), decision="retire",
                 note="It does not pay.", actor=risky.owner, now=timezone.now(),
                 retirement_lessons="Measure earlier.")

    assert_stored_equals_computed()
    entry = ValueEntry.objects.get(initiative=risky)
    assert (entry.stage, entry.short_of_contract) == (Stage.RETIRED, False)


def test_entering_production_reaches_the_stored_rows(portfolio, reviewer):
    pilot = InitiativeFactory(team=portfolio[1], stage=Stage.PILOT, contracted=True,
                              title="Beta pilot", predicted_annual_value=Decimal(70_000))
    ready_for_production(pilot, reviewer=reviewer)

    initiative_move_stage(initiative=pilot, to_stage=Stage.PRODUCTION, actor=pilot.owner,
                          now=timezone.now(), expected_stage=Stage.PILOT)

    assert_stored_equals_computed()
    assert ValueEntry.objects.get(initiative=pilot).in_ledger


def test_editing_the_business_case_and_renaming_a_team_reach_the_stored_totals(
        portfolio, leader):
    one = ValueEntry.objects.get(title="Alpha one").initiative
    initiative_update(initiative=one, actor=one.owner, now=timezone.now(),
                      expected_version=one.version,
                      changes={"predicted_annual_value": Decimal(80_000)})
    assert_stored_equals_computed()

    alpha = portfolio[0]
    alpha.name = "Alpha renamed"
    team_save(team=alpha, actor=leader, now=timezone.now())
    assert_stored_equals_computed()
    assert "Alpha renamed" in {total.key for total in value.value_stored().by_team}


def test_activating_a_scoring_model_reaches_the_stored_totals(portfolio, leader):
    start = timezone.now() + timedelta(days=1)
    scoring_model_activate(model=ScoringModel.objects.get(name="WSJF", version=1),
                           actor=leader, now=start)
    in_production(team=portfolio[0], predicted=100_000, realised=40_000, title="Under WSJF",
                  pilot_at=start + timedelta(days=1), production_at=start + timedelta(days=30))

    assert_stored_equals_computed()
    assert {"RICE v1", "WSJF v1"} <= {total.key for total in value.value_stored().by_model}


# --- The page and the API read the store ----------------------------------------------------

def test_the_value_page_shows_the_figures_as_of_the_standings(client, leader, portfolio):
    client.force_login(leader)
    in_production(team=portfolio[0], predicted=1_000_000, title="Not refreshed yet")
    portfolio_changed(what="test")  # as its writer would

    html = client.get(VALUE_URL).content.decode()

    assert "Not refreshed yet" not in html
    assert "refreshing" in html
    assert "Alpha pending" in html

    standings_refresh(now=timezone.now())
    html = client.get(VALUE_URL).content.decode()
    assert "Not refreshed yet" in html
    assert "as of" in html


@override_settings(PAGE_SIZE=2)
def test_the_value_page_shows_a_page_of_each_table(client, leader, portfolio):
    for number in range(3):
        in_production(team=portfolio[1], predicted=100, title=f"Beta short {number}")
    standings_refresh(now=timezone.now(), force=True)
    client.force_login(leader)

    first = client.get(VALUE_URL).content.decode()
    later = client.get(VALUE_URL, {"page": 3, "contracts": 2}).content.decode()

    # Per initiative (team, title): Alpha one, Alpha pending | Beta one, Beta short 0 | …
    assert "Alpha one" in first
    assert "Beta short 1" not in first
    assert "Beta short 1" in later
    assert "Alpha one" not in later
    assert "Page 1 of 3" in first
    assert "Page 3 of 3" in later
    # Short of the contract, unmeasured: Alpha pending, Beta one | Beta short 0, 1 | 2.
    assert "1 of 6 meet it" in first
    assert "?contracts=2" in first
    assert "Beta short 0" in later
    assert "Beta short 0" not in first


def test_the_value_api_reads_the_store(leader, portfolio):
    in_production(team=portfolio[0], predicted=1_000_000, title="Not refreshed yet")
    portfolio_changed(what="test")  # as its writer would

    body = client_for(leader).get(VALUE_API).json()

    assert body["overall"]["initiatives"] == 3
    assert body["refreshing"] is True
    assert body["standings_as_of"] is not None
    standings_refresh(now=timezone.now())
    body = client_for(leader).get(VALUE_API).json()
    assert (body["overall"]["initiatives"], body["refreshing"]) == (4, False)
