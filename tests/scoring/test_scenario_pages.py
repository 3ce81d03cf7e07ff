"""Scenario pages and API (scoring/scenario_views.py, scoring/scenario_api.py): who sees
and who changes them, the side by side as a reader sees it, bad input on its field, apply,
and a query count that does not grow with the portfolio."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from portfolio.models import Category, Initiative, Stage
from scoring import scenarios
from scoring.models import CapacityPlan, Scenario, ScoringModel
from scoring.standings import standings_refresh
from tests.clients import client_for
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

LIST = "/dashboard/scenarios/"
API = "/api/v1/scenarios/"


@pytest.fixture
def team(db):
    return TeamFactory(name="Customer Operations", slug="customer-operations")


@pytest.fixture
def admin_user(db):
    return UserFactory(username="plan-admin", is_staff=True, permissions=[
        "portfolio.view_initiative", "scoring.change_capacityplan",
        "scoring.change_scoringmodel"])


def plan(team, weeks, *, year=2027, quarter=1):
    return CapacityPlan.objects.create(team=team, year=year, quarter=quarter,
                                       engineer_weeks=Decimal(weeks))


def candidate(team, effort, *, reach, title, stage="assessment"):
    return InitiativeFactory(team=team, stage=stage, contracted=True, title=title,
                             effort_weeks=Decimal(effort), reach=reach, impact=1.0,
                             confidence=100)


@pytest.fixture
def line(team):
    """Next quarter, 20 weeks: Triage (8) funded, Claims (15) below the line, Replies (5)
    funded; 30 weeks would fund Claims too."""
    plan(team, 20)
    return [candidate(team, 8, reach=800, title="Triage assistant"),
            candidate(team, 15, reach=600, title="Claims summariser"),
            candidate(team, 5, reach=100, title="Reply drafts")]


def scenario_for(leader, **fields):
    values = {"name": "More for support", "year": 2027, "quarter": 1}
    values.update(fields)
    return scenarios.scenario_create(actor=leader, now=FIXED_NOW, **values)


def url(scenario, action=""):
    return f"{LIST}{scenario.key}/{action}"


def form_data(*, team=None, weeks="", rows=(), pins=(), **fields):
    """The new-scenario form as a browser posts it; ``rows``: (team text, weeks) capacity
    rows, ``team`` and ``weeks`` one more by the team's name; ``pins``: (text, direction)."""
    rows = [*rows, *([(team.name, weeks)] if team is not None else [])]
    data = {"name": "More for support", "description": "", "quarter": "2027-Q1", "model": "",
            "team-TOTAL_FORMS": str(max(len(rows), 3)), "team-INITIAL_FORMS": "0",
            "team-MIN_NUM_FORMS": "0", "team-MAX_NUM_FORMS": "1000",
            "pin-TOTAL_FORMS": str(max(len(pins), 3)), "pin-INITIAL_FORMS": "0",
            "pin-MIN_NUM_FORMS": "0", "pin-MAX_NUM_FORMS": "100"}
    for number, (text, row_weeks) in enumerate(rows):
        data[f"team-{number}-team"] = text
        data[f"team-{number}-weeks"] = row_weeks
    for number, (text, direction) in enumerate(pins):
        data[f"pin-{number}-initiative"] = text
        data[f"pin-{number}-direction"] = direction
    data.update(fields)
    return data


# --- Access ---------------------------------------------------------------------------------

@pytest.mark.parametrize("persona", ["pm", "reviewer", "tpm", "leader"])
def test_every_reader_opens_the_list_and_a_shared_scenario(client, request, leader, persona):
    scenario = scenario_for(leader)
    client.force_login(request.getfixturevalue(persona))

    listed = client.get(LIST)
    shared = client.get(url(scenario))

    assert listed.status_code == 200
    assert "More for support" in listed.content.decode()
    assert shared.status_code == 200
    assert "More for support" in shared.content.decode()


def test_outsiders_get_not_found_everywhere(client, leader, outsider):
    scenario = scenario_for(leader)
    client.force_login(outsider)

    for path in (LIST, url(scenario), url(scenario, "edit/")):
        assert client.get(path).status_code == 404
    for path in (LIST, url(scenario, "edit/"), url(scenario, "apply/"), url(scenario, "delete/")):
        assert client.post(path, form_data()).status_code == 404
    assert client_for(outsider).get(API).status_code == 404
    assert client_for(outsider).get(f"{API}{scenario.key}/").status_code == 404
    assert Scenario.objects.get().applied_at is None


def test_an_unknown_key_is_not_found(client, leader):
    client.force_login(leader)

    assert client.get(f"{LIST}6f1c1d9e-0000-4000-8000-000000000000/").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, leader):
    response = client.get(url(scenario_for(leader)))

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_a_pm_reads_but_cannot_draft_edit_or_apply(client, pm, leader, team):
    scenario = scenario_for(leader)
    client.force_login(pm)

    page = client.get(LIST).content.decode()
    detail = client.get(url(scenario)).content.decode()

    assert "New scenario" not in page
    assert "Edit the scenario" not in detail
    assert "Apply to the live plan" not in detail
    assert client.post(LIST, form_data(team=team, weeks="30")).status_code == 403
    assert client.get(url(scenario, "edit/")).status_code == 403
    assert client.post(url(scenario, "delete/")).status_code == 403
    assert client.post(url(scenario, "apply/")).status_code == 403
    assert Scenario.objects.count() == 1


def test_leadership_drafts_but_only_an_admin_applies(client, leader, team):
    scenario = scenario_for(leader, capacities={team: 30})
    client.force_login(leader)

    assert "Apply to the live plan" not in client.get(url(scenario)).content.decode()
    assert client.post(url(scenario, "apply/")).status_code == 403
    assert not CapacityPlan.objects.exists()


# --- Drafting on the page -------------------------------------------------------------------

def test_a_leader_drafts_a_scenario_and_sees_it_beside_the_live_plan(client, leader, team,
                                                                       line):
    client.force_login(leader)
    reply = line[2]

    response = client.post(LIST, form_data(team=team, weeks="30",
                                           pins=[(f"#{reply.pk}", "out")]))

    scenario = Scenario.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url(scenario)
    assert [(c.team, c.engineer_weeks) for c in scenario.capacities.all()] == [(team, 30)]
    assert [(p.initiative, p.direction) for p in scenario.pins.all()] == [(reply, "out")]
    page = client.get(url(scenario)).content.decode()
    # 30 weeks, Replies pinned out: Triage 8 (22 left), Claims 15 (7 left): 23 funded, 77 %.
    assert "Nothing live has changed" in page
    assert ("Against the live plan for 2027-Q1, 1 initiative enters (15 engineer-weeks) and "
            "1 initiative drops (5 engineer-weeks); 1 team changes.") in page
    assert "capacity 20 → 30 engineer-weeks (+10)" in page
    assert "funded 13 → 23 engineer-weeks (+10)" in page
    assert "utilisation 65 % → 77 % (+12 points)" in page
    assert "Claims summariser" in page
    assert "Reply drafts" in page
    assert "Pins stay a what-if" in page
    assert not CapacityPlan.objects.filter(engineer_weeks=30).exists()  # nothing live


def test_the_team_table_lists_the_teams_that_change_and_every_team_on_request(
        client, leader, team, line):
    quiet = TeamFactory(name="Quiet Finance", slug="quiet-finance")
    plan(quiet, 40)
    candidate(quiet, 4, reach=50, title="Invoice matcher")
    client.force_login(leader)
    scenario = scenario_for(leader, capacities={team: 30})

    changed = client.get(url(scenario)).content.decode()
    every = client.get(url(scenario), {"teams": "all"}).content.decode()

    # The team the scenario changes, with its figures; the other one only on request.
    assert "Customer Operations" in changed
    assert "capacity 20 → 30 engineer-weeks (+10)" in changed
    assert "Quiet Finance" not in changed
    assert "1 other team unchanged" in changed
    assert "?teams=all#teams-heading" in changed
    assert "Customer Operations" in every
    assert "capacity 20 → 30 engineer-weeks (+10)" in every
    assert "Quiet Finance" in every
    assert "Only the teams whose figures change" in every


def test_an_empty_scenario_says_it_changes_nothing(client, leader, line):
    client.force_login(leader)

    page = client.get(url(scenario_for(leader))).content.decode()

    assert "The scenario funds exactly what the live plan funds for 2027-Q1." in page
    assert "Nothing enters." in page
    assert "Nothing drops." in page


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"weeks": "-5"}, "team", "greater than or equal to 0"),
    ({"weeks": "lots"}, "team", "Enter a number."),
    ({"quarter": "2026-Q3"}, "quarter", "Select a valid choice."),
    ({"model": "999999"}, "model", "Select a valid choice."),
    ({"name": ""}, "name", "This field is required."),
    ({"weight_business_value": "2"}, "weight_business_value", "not a weighted-criteria model"),
])
def test_bad_input_shows_on_its_field_and_saves_nothing(client, leader, team, fields, field,
                                                        message):
    client.force_login(leader)
    weeks = fields.pop("weeks", "30")

    response = client.post(LIST, form_data(team=team, weeks=weeks, **fields))

    assert response.status_code == 400
    form = response.context["form"]
    if field == "team":  # the weeks of the team's row
        form = response.context["capacity_forms"].forms[0]
        field = "weeks"
    errors = form.errors.get(field) or form.errors.get("weights") or []
    assert any(message in error for error in errors), form.errors
    assert not Scenario.objects.exists()


def test_capacity_rows_name_their_team_in_any_case_or_by_its_slug(client, leader, team):
    other = TeamFactory(name="Quiet Finance", slug="quiet-finance")
    client.force_login(leader)

    response = client.post(LIST, form_data(rows=[("customer operations", "30"),
                                                 ("  quiet-finance ", "12.5"),
                                                 ("", "")]))

    assert response.status_code == 302
    assert {c.team: c.engineer_weeks for c in Scenario.objects.get().capacities.all()} == {
        team: Decimal(30), other: Decimal("12.5")}


@pytest.mark.parametrize(("rows", "message"), [
    ([("Nobody's team", "30")], "No team is called “Nobody&#x27;s team”."),
    ([("Customer Operations", "30"), ("customer-operations", "40")],
     "This team is already given above."),
    ([("", "30")], "Name the team these engineer-weeks are for."),
])
def test_a_capacity_row_the_form_cannot_place_is_an_error_on_it(client, leader, team, rows,
                                                                 message):
    client.force_login(leader)

    response = client.post(LIST, form_data(rows=rows))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Scenario.objects.exists()


def test_a_team_with_no_weeks_keeps_its_plan(client, leader, team):
    client.force_login(leader)

    response = client.post(LIST, form_data(team=team, weeks=""))

    assert response.status_code == 302
    assert not Scenario.objects.get().capacities.exists()


def test_one_initiative_pinned_in_and_out_is_an_error_on_its_row(client, leader, team):
    idea = candidate(team, 3, reach=10, title="Both ways", stage="idea")
    client.force_login(leader)

    response = client.post(LIST, form_data(pins=[(f"#{idea.pk}", "in"),
                                                  (f"#{idea.pk}", "out")]))

    assert response.status_code == 400
    assert "pinned both in and out" in response.content.decode()
    assert not Scenario.objects.exists()


def test_a_pin_the_service_refuses_is_shown_with_the_pins(client, leader, team):
    paused = candidate(team, 3, reach=10, title="Resting", stage="paused")
    client.force_login(leader)

    response = client.post(LIST, form_data(pins=[(f"#{paused.pk}", "in")]))

    assert response.status_code == 400
    assert "it draws no capacity, so pinning it changes nothing" in response.content.decode()
    assert not Scenario.objects.exists()


def test_edit_replaces_what_the_scenario_says(client, leader, team, line):
    scenario = scenario_for(leader, capacities={team: 30})
    client.force_login(UserFactory(username="other-leader", roles=["leadership"]))
    form = client.get(url(scenario, "edit/"))
    assert form.status_code == 200
    # The scenario's team is its first capacity row, with its weeks.
    assert 'name="team-0-team" value="Customer Operations"' in form.content.decode()
    assert re.search(r'name="team-0-weeks" value="30(\.0)?"', form.content.decode())

    response = client.post(url(scenario, "edit/"), form_data(
        team=team, weeks="", name="Nothing more", quarter="2027-Q2"))

    assert response.status_code == 302
    scenario.refresh_from_db()
    assert (scenario.name, scenario.quarter_label) == ("Nothing more", "2027-Q2")
    assert not scenario.capacities.exists()


def test_delete_removes_a_draft(client, leader):
    scenario = scenario_for(leader)
    client.force_login(leader)

    response = client.post(url(scenario, "delete/"))

    assert response.status_code == 302
    assert response["Location"] == LIST
    assert not Scenario.objects.exists()


# --- Applying -------------------------------------------------------------------------------

def test_an_admin_applies_once_and_a_second_time_is_refused_with_a_message(
        client, leader, admin_user, team, line):
    scenario = scenario_for(leader, capacities={team: 30})
    client.force_login(admin_user)
    assert "Apply to the live plan" in client.get(url(scenario)).content.decode()
    assert client.get(url(scenario, "apply/")).status_code == 405

    first = client.post(url(scenario, "apply/"), follow=True)
    second = client.post(url(scenario, "apply/"), follow=True)

    assert "Applied “More for support”" in first.content.decode()
    assert CapacityPlan.objects.get(team=team).engineer_weeks == 30
    assert "already applied, on 2 Nov 2026 by" in second.content.decode()
    assert "Apply to the live plan" not in second.content.decode()
    assert CapacityPlan.objects.get(team=team).history.count() == 2  # created, then applied


# --- The API --------------------------------------------------------------------------------

def test_the_api_lists_scenarios_and_returns_the_comparison(leader, pm, team, line):
    scenario = scenario_for(leader, capacities={team: 30})
    api = client_for(pm)

    listed = api.get(API)
    detail = api.get(f"{API}{scenario.key}/")

    assert listed.status_code == 200
    assert [row["name"] for row in listed.json()["results"]] == ["More for support"]
    assert listed.json()["results"][0]["page"] == url(scenario)
    body = detail.json()
    assert detail.status_code == 200
    assert body["quarter"] == "2027-Q1"
    assert body["capacities"] == [{"team": {"slug": "customer-operations",
                                            "name": "Customer Operations"},
                                   "engineer_weeks": "30.0"}]
    comparison = body["comparison"]
    assert [row["title"] for row in comparison["entering"]] == ["Claims summariser"]
    assert comparison["dropping"] == []
    assert comparison["teams"][0]["live"]["utilisation_percent"] == 65
    assert comparison["teams"][0]["scenario"]["utilisation_percent"] == 93
    assert comparison["same"] is False


def test_the_api_refuses_writes_and_bad_pages(leader):
    api = client_for(leader)

    assert api.post(API, {"name": "x"}, format="json").status_code == 405
    assert api.get(API, {"page": "x"}).status_code == 400


# --- A fixed number of queries --------------------------------------------------------------

def _portfolio(size, owner):
    now = timezone.now()
    teams = [TeamFactory(name=f"Team {n}", slug=f"team-{n}") for n in range(4)]
    for team in teams[:3]:
        plan(team, 40)
    stages = [Stage.IDEA, Stage.ASSESSMENT, Stage.PILOT, Stage.PRODUCTION, Stage.PAUSED]
    Initiative.objects.bulk_create([
        Initiative(title=f"Initiative {n}", summary="", team=teams[n % 4], owner=owner,
                   stage=stages[n % len(stages)], category=Category.values[n % 8],
                   effort_weeks=Decimal(n % 13 + 1) if n % 9 else None,
                   reach=100 + n, impact=1.0, confidence=80, business_value=n % 10 + 1,
                   time_criticality=3, risk_reduction=2,
                   created_at=now, updated_at=now, last_activity_at=now,
                   stage_changed_at=now - timedelta(days=n % 200))
        for n in range(size)], batch_size=1000)
    return teams


# Session, user with roles; the scenario, its capacities, its pins; the cache key (the snapshot,
# the pending changes); on a miss: the active model, the ranking (two with another model),
# per side the plans and the teams, and the gate's three for what enters (open checkpoints,
# measurements, overrides). A cached view stops after the key.
DETAIL_QUERIES = 16
CACHED_QUERIES = 7


@pytest.mark.parametrize("size", [60, 2000])
@pytest.mark.parametrize("other_model", [False, True])
def test_the_scenario_page_costs_the_same_whatever_the_portfolio(
        client, leader, size, other_model, django_assert_num_queries):
    owner = UserFactory(username="bulk-owner", roles=["pm"])
    teams = _portfolio(size, owner)
    pinned = Initiative.objects.filter(stage=Stage.IDEA).order_by("pk")[:2]
    scenario = scenario_for(
        leader, capacities={teams[0]: 80, teams[3]: 10}, pinned_in=[pinned[0]],
        pinned_out=[pinned[1]],
        model=ScoringModel.objects.get(name="WSJF") if other_model else None)
    standings_refresh(force=True)
    client.force_login(leader)
    client.get(LIST)  # warm the session

    # Exactly the budget with 60 and with 2,000 initiatives, with or without another model.
    with django_assert_num_queries(DETAIL_QUERIES + other_model):
        first = client.get(url(scenario))
    with django_assert_num_queries(CACHED_QUERIES):
        again = client.get(url(scenario))

    assert first.status_code == again.status_code == 200
    assert "Team 0" in first.content.decode()
    assert _without_tokens(first.content) == _without_tokens(again.content)


def _without_tokens(html: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", html)


@pytest.mark.parametrize("teams", [2, 40])
def test_the_list_costs_the_same_however_many_scenarios_and_teams(
        client, leader, teams, django_assert_num_queries):
    for n in range(teams):
        TeamFactory(name=f"Team {n:02d}", slug=f"team-{n:02d}")
    for n in range(30):
        scenario_for(leader, name=f"Scenario {n}")
    client.force_login(leader)
    client.get(LIST)

    # Session, user with roles; the page's count and rows; the form's teams
    # (names, for the rows' one list), active model and the model choices.
    with django_assert_num_queries(7):
        response = client.get(LIST)
    page = response.content.decode()
    assert page.count("Scenario ") >= 30
    # The new-scenario form has the same few capacity rows whatever the number of teams;
    # each team is offered once, by name, in the list the rows share.
    assert page.count('list="scenario-teams"') == 3
    assert page.count('<datalist id="scenario-teams">') == 1
    for n in range(teams):
        assert page.count(f'<option value="Team {n:02d}">') == 1


def test_an_applied_scenario_is_kept_as_it_was_applied(client, leader, admin_user, team):
    scenario = scenario_for(leader, capacities={team: 30})
    scenarios.scenario_apply(scenario=scenario, actor=admin_user, now=FIXED_NOW)
    client.force_login(leader)

    page = client.get(url(scenario, "edit/")).content.decode()
    response = client.post(url(scenario, "edit/"), form_data(team=team, weeks="50",
                                                             name="Changed later"))

    assert "it stays as it was applied" in page
    assert "Save the changes" not in page
    assert response.status_code == 400
    scenario.refresh_from_db()
    assert scenario.name == "More for support"
    assert "applied 2 Nov 2026 by" in client.get(url(scenario)).content.decode()
