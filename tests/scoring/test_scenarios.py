"""Scenarios' rules (scoring/scenarios.py): drafting writes only scenario rows, the
comparison beside the live plan on hand-computed cases, bad input refused on its field,
who may draft and apply, applying through the services once, and the cache."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from portfolio.exceptions import DomainError
from scoring import scenarios
from scoring import services as scoring_services
from scoring.capacity import capacity_plan_set
from scoring.models import (
    CapacityPlan,
    Scenario,
    ScenarioCapacity,
    ScenarioPin,
    ScoringModel,
    StandingsInvalidation,
)
from scoring.selectors import active_scoring_model
from scoring.standings import standings_refresh
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = FIXED_NOW  # Monday 2 November 2026: the plan's quarters are 2026-Q4 to 2027-Q3
NEXT = (2027, 1)


@pytest.fixture
def team(db):
    return TeamFactory(name="Customer Operations", slug="customer-operations")


@pytest.fixture
def admin_user(db):
    """An admin who may change capacity plans and scoring models."""
    return UserFactory(username="plan-admin", is_staff=True, permissions=[
        "portfolio.view_initiative", "scoring.change_capacityplan",
        "scoring.add_capacityplan", "scoring.change_scoringmodel"])


def plan(team, weeks, *, quarter=NEXT):
    return CapacityPlan.objects.create(team=team, year=quarter[0], quarter=quarter[1],
                                       engineer_weeks=Decimal(weeks))


def candidate(team, effort, *, reach=100, days_old=0, stage="assessment", **fields):
    """RICE (the active model): reach × 1 × 100 % ÷ effort. Contracted, so the exit
    contract blocks nothing."""
    at = NOW - timedelta(days=days_old)
    values = {"impact": 1.0, "confidence": 100, "reach": reach, "created_at": at}
    values.update(fields)
    return InitiativeFactory(team=team, stage=stage, contracted=True,
                             effort_weeks=Decimal(effort), **values)


def draft(actor, *, quarter=NEXT, **fields):
    values = {"name": "More for support"}
    values.update(fields)
    return scenarios.scenario_create(year=quarter[0], quarter=quarter[1], actor=actor, now=NOW,
                                     **values)


def compare(scenario, *, now=NOW):
    scenario, _ = scenarios.scenario_for(scenario.created_by, scenario.key)
    return scenarios.scenario_comparison(scenario=scenario, now=now)


def titles(moved):
    return [row.title for row in moved]


# --- The comparison, by hand ----------------------------------------------------------------

def test_an_empty_scenario_shows_no_difference(leader, team):
    plan(team, 20)
    for effort, reach in ((8, 800), (15, 600), (5, 100)):
        candidate(team, effort, reach=reach)

    comparison = compare(draft(leader))

    assert comparison.same
    assert comparison.entering == []
    assert comparison.dropping == []
    assert [t.changes for t in comparison.teams] == [[]]
    assert comparison.teams[0].live == comparison.teams[0].scenario
    assert comparison.summary == "The scenario funds exactly what the live plan funds for 2027-Q1."


def test_added_capacity_funds_what_was_below_the_line_on_a_hand_computed_case(leader, team):
    plan(team, 20)
    # RICE scores: 800 ÷ 8 = 100, 600 ÷ 15 = 40, 100 ÷ 5 = 20: in that order.
    first = candidate(team, 8, reach=800, title="Triage assistant")
    second = candidate(team, 15, reach=600, title="Claims summariser")
    third = candidate(team, 5, reach=100, title="Reply drafts")

    comparison = compare(draft(leader, capacities={team: 30}))

    # Live, 20 weeks: 8 funded (12 left), 15 > 12 below, 5 funded (7 left): 13 funded, 65 %.
    # Scenario, 30 weeks: 8 (22 left), 15 (7 left), 5 (2 left): 28 funded, 28/30 = 93 %.
    assert titles(comparison.entering) == ["Claims summariser"]
    assert comparison.dropping == []
    entering = comparison.entering[0]
    assert entering.live == "below the line: needs 15 engineer-weeks; 12 left when its turn came"
    assert entering.scenario == "fund next"
    row = comparison.teams[0]
    assert (row.live.capacity, row.live.funded, row.live.utilisation_percent) == (20, 13, 65)
    assert (row.scenario.capacity, row.scenario.funded, row.scenario.utilisation_percent) == (
        30, 28, 93)
    assert row.changes == ["capacity 20 → 30 engineer-weeks (+10)",
                           "funded 13 → 28 engineer-weeks (+15)",
                           "utilisation 65 % → 93 % (+28 points)"]
    assert comparison.summary == ("Against the live plan for 2027-Q1, 1 initiative enters "
                                  "(15 engineer-weeks); 1 team changes.")
    assert {first.pk, third.pk}.isdisjoint({m.pk for m in comparison.entering})
    assert second.pk == entering.pk


def test_less_capacity_drops_what_no_longer_fits(leader, team):
    plan(team, 20)
    candidate(team, 8, reach=800, title="Triage assistant")
    candidate(team, 5, reach=100, title="Reply drafts")

    # Scenario, 10 weeks: 8 funded (2 left), 5 > 2 below the line.
    comparison = compare(draft(leader, capacities={team.pk: "10"}))

    assert titles(comparison.dropping) == ["Reply drafts"]
    assert comparison.dropping[0].scenario == ("below the line: needs 5 engineer-weeks; 2 left "
                                               "when its turn came")
    assert comparison.teams[0].changes[0] == ("capacity 20 → 10 engineer-weeks "
                                              "(−10)")


def test_pins_fund_one_whatever_its_rank_and_leave_another_out(leader, team):
    plan(team, 10)
    top = candidate(team, 8, reach=800, title="Triage assistant")
    low = candidate(team, 6, reach=60, title="Reply drafts")

    comparison = compare(draft(leader, pinned_in=[low], pinned_out=[top]))

    # Live: 8 funded (2 left), 6 below. Scenario: 6 pinned in (4 left), 8 pinned out.
    assert titles(comparison.entering) == ["Reply drafts"]
    assert comparison.entering[0].scenario == "fund next: pinned in by the scenario"
    assert titles(comparison.dropping) == ["Triage assistant"]
    assert comparison.dropping[0].scenario == "below the line: pinned out by the scenario"


def test_pinning_out_committed_work_frees_its_capacity(leader, team):
    plan(team, 10)
    pilot = candidate(team, 8, stage="pilot", title="Running pilot")
    candidate(team, 6, reach=600, title="Waiting idea", stage="idea")

    comparison = compare(draft(leader, pinned_out=[pilot]))

    assert titles(comparison.entering) == ["Waiting idea"]
    assert titles(comparison.dropping) == ["Running pilot"]
    row = comparison.teams[0]
    assert (row.live.committed, row.scenario.committed) == (8, 0)


def test_other_weights_reorder_the_line_without_changing_the_live_model(leader, team):
    model = scoring_services.scoring_model_create(
        name="Value only", method="weighted", weights={"business_value": 1}, actor=leader,
        now=NOW, activate=True)
    plan(team, 10)
    # Value only: big 9/10 = 0.9 beats small 2/10 = 0.2. Effort only: 1 - e/52, small first.
    candidate(team, 10, business_value=9, title="Big bet")
    candidate(team, 1, business_value=2, title="Quick win")

    scenario = draft(leader, weights={"business_value": 0, "effort": 1})

    assert scenario.model == model  # the weights name the version they replace
    assert scenario.weights == {"business_value": 0.0, "effort": 1.0}
    comparison = compare(scenario)
    # Live: big (10) funded, 0 left, quick (1) below. Scenario: quick (9 left), big 10 > 9.
    assert titles(comparison.entering) == ["Quick win"]
    assert titles(comparison.dropping) == ["Big bet"]
    assert comparison.scenario_model == "Value only v1 with the scenario's weights"
    assert comparison.live_model == "Value only v1"
    assert active_scoring_model() == model
    assert ScoringModel.objects.get(pk=model.pk).weights == {"business_value": 1.0}


def test_another_model_version_ranks_the_scenario(leader, team):
    plan(team, 10)
    # RICE: reach 900 ÷ 9 = 100 beats 50 ÷ 2 = 25. WSJF: (1+1+1) ÷ 9 = 0.33 < (9+9+9) ÷ 2.
    candidate(team, 9, reach=900, business_value=1, time_criticality=1, risk_reduction=1,
              title="Wide reach")
    candidate(team, 2, reach=50, business_value=9, time_criticality=9, risk_reduction=9,
              title="Urgent fix")
    candidate(team, 5, reach=100, business_value=5, time_criticality=5, risk_reduction=5,
              title="Middle")
    wsjf = ScoringModel.objects.get(name="WSJF")

    comparison = compare(draft(leader, model=wsjf))

    # RICE: 9 funded (1 left), 5 below, 2 below. WSJF: 2 (8 left), 5 (3 left), 9 below.
    assert titles(comparison.entering) == ["Urgent fix", "Middle"]
    assert titles(comparison.dropping) == ["Wide reach"]
    assert comparison.scenario_model == "WSJF v1"


def test_a_quarter_that_has_passed_has_no_comparison(leader, team):
    scenario = draft(leader, quarter=(2026, 4))

    assert compare(scenario, now=NOW + timedelta(days=70)) is None  # 11 January 2027


# --- Bad input: field errors, nothing saved ---------------------------------------------------

@pytest.mark.parametrize(("fields", "field"), [
    ({"capacities": {999_999: 10}}, "capacities"),
    ({"capacities": {"not a team": 10}}, "capacities"),
    ({"capacities": {"TEAM": -1}}, "capacities"),
    ({"capacities": {"TEAM": "lots"}}, "capacities"),
    ({"capacities": {"TEAM": "1.25"}}, "capacities"),
    ({"capacities": {"TEAM": "10000000"}}, "capacities"),
    ({"quarter": (2026, 3)}, "quarter"),
    ({"quarter": (2027, 4)}, "quarter"),
    ({"model": 999_999}, "model"),
    ({"model": "rice"}, "model"),
    ({"weights": {"reach": 2}}, "weights"),  # RICE takes no weights
    ({"name": "   "}, "name"),
    ({"name": "x" * 121}, "name"),
    ({"description": "x" * 2001}, "description"),
    ({"pinned_in": [999_999]}, "pins"),
])
def test_bad_input_is_refused_on_its_field_and_nothing_is_saved(leader, team, fields, field):
    if "capacities" in fields:
        fields["capacities"] = {team.pk if key == "TEAM" else key: weeks
                                for key, weeks in fields["capacities"].items()}

    with pytest.raises(DomainError) as refused:
        draft(leader, **fields)

    assert refused.value.field == field
    assert not Scenario.objects.exists()
    assert not ScenarioCapacity.objects.exists()


def test_one_initiative_pinned_in_and_out_is_refused(leader, team):
    idea = candidate(team, 3, stage="idea", title="Both ways")

    with pytest.raises(DomainError) as refused:
        draft(leader, pinned_in=[idea], pinned_out=[idea.pk])

    assert refused.value.field == "pins"
    assert refused.value.message == f"#{idea.pk} Both ways is pinned both in and out: choose one."
    assert not Scenario.objects.exists()


@pytest.mark.parametrize(("stage", "direction", "words"), [
    ("paused", "in", "draws no capacity"),
    ("retired", "out", "draws no capacity"),
    ("pilot", "in", "already committed"),
])
def test_pins_that_change_nothing_are_refused(leader, team, stage, direction, words):
    extra = {"retirement_reason": "cost"} if stage == "retired" else {}
    pinned = candidate(team, 3, stage=stage, **extra)

    with pytest.raises(DomainError) as refused:
        draft(leader, **{f"pinned_{direction}": [pinned]})

    assert refused.value.field == "pins"
    assert words in refused.value.message


def test_weights_need_a_weighted_model_and_the_same_weights_are_no_change(leader, team):
    balanced = ScoringModel.objects.get(name="Balanced criteria")
    with pytest.raises(DomainError) as refused:
        draft(leader, weights={"business_value": 1})  # the active model is RICE

    assert refused.value.field == "weights"
    assert "RICE v1 is not a weighted-criteria model" in refused.value.message
    same = draft(leader, model=balanced, weights={"business_value": 0.3})
    assert same.weights == {}
    with pytest.raises(DomainError) as negative:
        draft(leader, model=balanced, weights={"effort": -1})
    assert negative.value.field == "weights"


# --- Who drafts -----------------------------------------------------------------------------

@pytest.mark.parametrize("persona", ["pm", "reviewer", "tpm"])
def test_other_roles_read_scenarios_but_cannot_draft(request, leader, persona):
    user = request.getfixturevalue(persona)
    scenario = draft(leader)

    assert scenarios.scenario_for(user, scenario.key)[0] == scenario
    with pytest.raises(PermissionDenied):
        draft(user)
    with pytest.raises(PermissionDenied):
        scenarios.scenario_for(user, scenario.key, need="edit")
    assert Scenario.objects.count() == 1


def test_outsiders_and_unknown_keys_get_not_found(leader, outsider):
    scenario = draft(leader)

    with pytest.raises(Http404):
        scenarios.scenario_for(outsider, scenario.key)
    with pytest.raises(Http404):
        scenarios.scenario_for(leader, "6f1c1d9e-0000-4000-8000-000000000000")


def test_leadership_may_change_any_scenario_and_the_history_says_who(leader, admin_user, team):
    other_leader = UserFactory(username="other-leader", roles=["leadership"])
    scenario = draft(admin_user, capacities={team: 30})

    updated = scenarios.scenario_update(
        scenario=scenario, name="Even more", year=2027, quarter=2, actor=other_leader,
        now=NOW + timedelta(hours=1), capacities={team: 45})

    assert (updated.name, updated.quarter) == ("Even more", 2)
    assert [(c.team, c.engineer_weeks) for c in updated.capacities.all()] == [(team, 45)]
    assert updated.updated_at == NOW + timedelta(hours=1)
    history = list(scenario.history.order_by("history_date"))
    assert [(h.history_type, h.history_user) for h in history] == [
        ("+", admin_user), ("~", other_leader)]


def test_delete_removes_a_draft(leader, team):
    scenario = draft(leader, capacities={team: 30})

    scenarios.scenario_delete(scenario=scenario, actor=leader, now=NOW)

    assert not Scenario.objects.exists()
    assert not ScenarioCapacity.objects.exists()
    assert scenario.history.order_by("-history_id").first().history_type == "-"


# --- Applying -------------------------------------------------------------------------------

def test_apply_writes_capacity_through_the_service_and_marks_the_standings_stale(
        leader, admin_user, team):
    plan(team, 20)
    idea = candidate(team, 5, stage="idea")
    scenario = draft(leader, capacities={team: 30}, pinned_out=[idea])
    standings_refresh(now=NOW, force=True)

    scenarios.scenario_apply(scenario=scenario, actor=admin_user, now=NOW)

    live = CapacityPlan.objects.get(team=team, year=2027, quarter=1)
    assert live.engineer_weeks == 30
    assert live.history.order_by("-history_id").first().history_user == admin_user
    scenario.refresh_from_db()
    assert (scenario.applied_at, scenario.applied_by) == (NOW, admin_user)
    assert StandingsInvalidation.objects.exists()
    assert ScenarioPin.objects.filter(scenario=scenario).count() == 1  # still a what-if


def test_applying_twice_is_refused(leader, admin_user, team):
    scenario = draft(leader, capacities={team: 30})
    scenarios.scenario_apply(scenario=scenario, actor=admin_user, now=NOW)

    with pytest.raises(DomainError) as refused:
        scenarios.scenario_apply(scenario=scenario, actor=admin_user, now=NOW)

    assert refused.value.message.startswith("This scenario was already applied, on 2 Nov 2026")
    assert CapacityPlan.objects.get(team=team).history.count() == 1
    with pytest.raises(DomainError):
        scenarios.scenario_update(scenario=scenario, name="Later", year=2027, quarter=1,
                                  actor=leader, now=NOW)
    with pytest.raises(DomainError):
        scenarios.scenario_delete(scenario=scenario, actor=leader, now=NOW)


def test_apply_activates_the_scenarios_model(leader, admin_user):
    wsjf = ScoringModel.objects.get(name="WSJF")
    scenario = draft(leader, model=wsjf)

    scenarios.scenario_apply(scenario=scenario, actor=admin_user, now=NOW)

    assert active_scoring_model() == wsjf
    assert wsjf.history.order_by("-history_id").first().history_user == admin_user


def test_apply_makes_new_weights_a_new_active_version(leader, admin_user):
    balanced = ScoringModel.objects.get(name="Balanced criteria")
    scenario = draft(leader, model=balanced, weights={"effort": 0.5})

    scenarios.scenario_apply(scenario=scenario, actor=admin_user, now=NOW)

    active = active_scoring_model()
    assert (active.name, active.version) == ("Balanced criteria", 2)
    assert active.weights["effort"] == 0.5
    assert ScoringModel.objects.get(pk=balanced.pk).weights["effort"] == 0.1


def test_apply_is_all_or_nothing(leader, admin_user, team, monkeypatch):
    plan(team, 20)
    scenario = draft(leader, capacities={team: 30}, model=ScoringModel.objects.get(name="WSJF"))

    def refuse(**kwargs):
        raise DomainError("refused")

    monkeypatch.setattr(scoring_services, "scoring_model_activate", refuse)
    with pytest.raises(DomainError):
        scenarios.scenario_apply(scenario=scenario, actor=admin_user, now=NOW)

    assert CapacityPlan.objects.get(team=team).engineer_weeks == 20
    scenario.refresh_from_db()
    assert scenario.applied_at is None


def test_only_admins_who_may_change_plans_apply_and_a_model_change_needs_the_models_right(
        leader, team):
    plans_only = UserFactory(username="plans-only", is_staff=True, permissions=[
        "portfolio.view_initiative", "scoring.change_capacityplan"])
    capacity_only = draft(leader, capacities={team: 30})
    with_model = draft(leader, model=ScoringModel.objects.get(name="WSJF"))

    with pytest.raises(PermissionDenied):
        scenarios.scenario_apply(scenario=capacity_only, actor=leader, now=NOW)
    with pytest.raises(PermissionDenied):
        scenarios.scenario_apply(scenario=with_model, actor=plans_only, now=NOW)
    scenarios.scenario_apply(scenario=capacity_only, actor=plans_only, now=NOW)

    assert CapacityPlan.objects.get(team=team).engineer_weeks == 30
    assert active_scoring_model().name == "RICE"


def test_a_scenario_that_only_pins_has_nothing_to_apply(leader, admin_user, team):
    scenario = draft(leader, pinned_in=[candidate(team, 3)])

    with pytest.raises(DomainError) as refused:
        scenarios.scenario_apply(scenario=scenario, actor=admin_user, now=NOW)

    assert "nothing live to change" in refused.value.message
    scenario.refresh_from_db()
    assert scenario.applied_at is None


def test_a_passed_quarter_cannot_be_applied(leader, admin_user, team):
    scenario = draft(leader, quarter=(2026, 4), capacities={team: 30})

    with pytest.raises(DomainError) as refused:
        scenarios.scenario_apply(scenario=scenario, actor=admin_user,
                                 now=NOW + timedelta(days=70))

    assert refused.value.field == "quarter"
    assert not CapacityPlan.objects.exists()


# --- The cache ------------------------------------------------------------------------------

def _queries(scenario, *, now=NOW):
    with CaptureQueriesContext(connection) as captured:
        comparison = scenarios.scenario_comparison(scenario=scenario, now=now)
    return len(captured), comparison


def test_a_repeat_view_is_served_from_the_cache_until_an_input_changes(leader, admin_user,
                                                                         team):
    plan(team, 20)
    candidate(team, 8, reach=800)
    candidate(team, 15, reach=600, title="Claims summariser")
    scenario = draft(leader, capacities={team: 30})
    standings_refresh(now=NOW, force=True)
    loaded, _ = scenarios.scenario_for(leader, scenario.key)

    first, comparison = _queries(loaded)
    again, cached = _queries(loaded)

    assert again == 2 < first  # the cache key's two queries only
    assert cached == comparison
    # A live change (through a service: the standings are marked stale) computes it again:
    # the live plan now has the 30 weeks too, so nothing enters any more.
    capacity_plan_set(team=team, year=2027, quarter=1, engineer_weeks=30, actor=admin_user,
                      now=NOW)
    recomputed, changed = _queries(loaded)
    # Computed again; nothing enters now, so the gate is not asked (its three queries).
    assert recomputed == first - 3
    assert titles(comparison.entering) == ["Claims summariser"]
    assert changed.entering == []
    # The worker's refresh moves the snapshot: computed once more, then cached again.
    standings_refresh(now=NOW + timedelta(minutes=5), force=True)
    assert _queries(loaded)[0] == recomputed
    assert _queries(loaded)[0] == 2


def test_an_edit_of_the_scenario_is_never_served_from_the_cache(leader, team):
    plan(team, 20)
    candidate(team, 15, reach=600, title="Claims summariser")
    candidate(team, 8, reach=800)
    scenario = draft(leader, capacities={team: 30})
    assert titles(compare(scenario).entering) == ["Claims summariser"]

    scenarios.scenario_update(scenario=scenario, name=scenario.name, year=2027, quarter=1,
                              actor=leader, now=NOW, capacities={team: 20})

    assert compare(scenario).same


def test_a_new_day_computes_it_again(leader, team):
    scenario = draft(leader)
    loaded, _ = scenarios.scenario_for(leader, scenario.key)
    first, _ = _queries(loaded)

    assert _queries(loaded)[0] == 2
    assert _queries(loaded, now=NOW + timedelta(days=1))[0] == first
