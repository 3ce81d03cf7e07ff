"""The database itself refuses rows that break the domain's rules."""

import pytest
from django.db import IntegrityError, transaction

from portfolio.models import Dependency, Initiative, StageTransition, Stakeholder, Team
from tests.factories import InitiativeFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def refused(**changes) -> bool:
    initiative = InitiativeFactory()
    try:
        with transaction.atomic():
            Initiative.objects.filter(pk=initiative.pk).update(**changes)
    except IntegrityError:
        return True
    return False


@pytest.mark.parametrize(
    "changes",
    [
        {"title": ""},
        {"effort_weeks": 0},
        {"effort_weeks": -2},
        {"impact": 1.5},
        {"confidence": 70},
        {"business_value": 11},
        {"time_criticality": 0},
        {"risk_reduction": 42},
        {"strategic_alignment": 6},
        {"stage": "launched"},
        {"health": "green"},
        {"category": "blockchain"},
        {"risk_tier": "spicy"},
        {"autonomy_level": "rogue"},
        {"stage": "retired", "retirement_reason": ""},
        {"risk_tier": "prohibited", "stage": "pilot"},
        {"version": 0},
        {"owner": None},
    ],
    ids=lambda changes: ",".join(f"{k}={v}" for k, v in changes.items()),
)
def test_database_refuses_values_outside_the_domain(changes):
    assert refused(**changes)


@pytest.mark.parametrize(
    "changes",
    [
        {"effort_weeks": 0.5, "impact": 0.25, "confidence": 50, "business_value": 1,
         "time_criticality": 10, "risk_reduction": 5, "strategic_alignment": 5},
        {"stage": "retired", "retirement_reason": "duplicate"},
        {"risk_tier": "prohibited", "stage": "assessment"},
        {"effort_weeks": None, "impact": None},
    ],
)
def test_database_accepts_values_inside_the_domain(changes):
    assert not refused(**changes)


def test_team_names_are_unique():
    TeamFactory(name="Data Platform", slug="data-platform")

    with pytest.raises(IntegrityError):
        Team.objects.create(name="Data Platform", slug="data-platform-2")


def test_an_initiative_cannot_depend_on_itself():
    initiative = InitiativeFactory()

    with pytest.raises(IntegrityError):
        Dependency.objects.create(initiative=initiative, depends_on=initiative)


def test_a_dependency_is_recorded_once():
    first, second = InitiativeFactory(), InitiativeFactory()
    Dependency.objects.create(initiative=first, depends_on=second)

    with pytest.raises(IntegrityError):
        Dependency.objects.create(initiative=first, depends_on=second)


def test_a_person_holds_a_raci_role_once_per_initiative():
    initiative, person = InitiativeFactory(), UserFactory()
    Stakeholder.objects.create(initiative=initiative, user=person, role="R")

    with pytest.raises(IntegrityError):
        Stakeholder.objects.create(initiative=initiative, user=person, role="R")


def test_a_stage_transition_must_change_the_stage():
    initiative = InitiativeFactory()

    with pytest.raises(IntegrityError):
        StageTransition.objects.create(initiative=initiative, from_stage="pilot",
                                       to_stage="pilot", actor=initiative.owner,
                                       at=initiative.created_at)
