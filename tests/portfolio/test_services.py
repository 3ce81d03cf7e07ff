"""The write paths every interface shares: stage moves, updates, edits, dependencies."""

from datetime import timedelta

import pytest

from portfolio import services
from portfolio.exceptions import DomainError
from portfolio.models import Activity, Initiative, StageTransition, Stakeholder
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db
LATER = FIXED_NOW + timedelta(days=3)


def test_creator_owns_a_new_initiative_and_is_accountable(pm):
    initiative = services.initiative_create(actor=pm, now=FIXED_NOW, title="Contract copilot",
                                            team=TeamFactory())

    assert initiative.owner == pm
    assert Stakeholder.objects.filter(initiative=initiative, user=pm, role="A").exists()
    assert initiative.history.first().history_user == pm


def test_a_deactivated_user_cannot_be_named_owner(pm):
    departed = UserFactory(is_active=False)

    with pytest.raises(DomainError, match="active user"):
        services.initiative_create(actor=pm, now=FIXED_NOW, owner=departed, title="X",
                                   team=TeamFactory())

    assert not Initiative.objects.exists()


def test_moving_one_step_forward_records_a_transition(pm):
    initiative = InitiativeFactory(owner=pm, stage="idea")

    services.initiative_move_stage(initiative=initiative, to_stage="assessment", actor=pm,
                                   now=LATER)

    initiative.refresh_from_db()
    assert initiative.stage == "assessment"
    assert initiative.stage_changed_at == LATER
    assert initiative.version == 2
    transition = StageTransition.objects.get(initiative=initiative)
    assert (transition.from_stage, transition.to_stage, transition.actor) == (
        "idea", "assessment", pm)
    assert Activity.objects.filter(initiative=initiative, kind="stage_moved").exists()


def test_skipping_a_stage_is_refused_and_changes_nothing(pm):
    initiative = InitiativeFactory(owner=pm, stage="idea")

    with pytest.raises(DomainError, match="Cannot move from Idea to Pilot"):
        services.initiative_move_stage(initiative=initiative, to_stage="pilot", actor=pm,
                                       now=LATER)

    initiative.refresh_from_db()
    assert initiative.stage == "idea"
    assert not StageTransition.objects.exists()


def test_moving_back_needs_a_note(pm):
    initiative = InitiativeFactory(owner=pm, stage="pilot")

    with pytest.raises(DomainError, match="needs a note"):
        services.initiative_move_stage(initiative=initiative, to_stage="assessment", actor=pm,
                                       now=LATER)
    services.initiative_move_stage(initiative=initiative, to_stage="assessment", actor=pm,
                                   now=LATER, note="Evaluation data was biased")

    initiative.refresh_from_db()
    assert initiative.stage == "assessment"


def test_a_paused_initiative_resumes_where_it_was(pm):
    initiative = InitiativeFactory(owner=pm, stage="pilot", contracted=True)
    services.initiative_move_stage(initiative=initiative, to_stage="paused", actor=pm, now=LATER)

    with pytest.raises(DomainError, match=r"resumes in the stage it was paused from \(Pilot\)"):
        services.initiative_move_stage(initiative=initiative, to_stage="production", actor=pm,
                                       now=LATER + timedelta(days=1))
    services.initiative_move_stage(initiative=initiative, to_stage="pilot", actor=pm,
                                   now=LATER + timedelta(days=1))

    initiative.refresh_from_db()
    assert initiative.stage == "pilot"


def test_retiring_needs_a_reason_and_keeps_the_lessons(pm):
    initiative = InitiativeFactory(owner=pm, stage="pilot")

    with pytest.raises(DomainError, match="needs a reason"):
        services.initiative_move_stage(initiative=initiative, to_stage="retired", actor=pm,
                                       now=LATER)
    services.initiative_move_stage(initiative=initiative, to_stage="retired", actor=pm,
                                   now=LATER, retirement_reason="data_not_ready",
                                   retirement_lessons="Label the tickets first.")

    initiative.refresh_from_db()
    assert (initiative.stage, initiative.retirement_reason) == ("retired", "data_not_ready")
    assert initiative.retirement_lessons == "Label the tickets first."


def test_an_update_sets_health_and_activity(pm):
    initiative = InitiativeFactory(owner=pm, health="on_track")

    services.update_post(initiative=initiative, author=pm, body="Vendor contract stuck",
                         health="blocked", now=LATER)

    initiative.refresh_from_db()
    assert initiative.health == "blocked"
    assert initiative.last_activity_at == LATER


def test_an_edit_against_a_stale_version_is_refused_and_overwrites_nothing(pm, other_pm):
    initiative = InitiativeFactory(owner=pm, title="Original")
    services.initiative_update(initiative=initiative, actor=other_pm, now=LATER,
                               expected_version=1, changes={"title": "Their title"})

    with pytest.raises(DomainError, match="version 1, it is now at version 2"):
        services.initiative_update(initiative=initiative, actor=pm, now=LATER,
                                   expected_version=1, changes={"title": "My title"})

    initiative.refresh_from_db()
    assert initiative.title == "Their title"


def test_changing_the_owner_moves_accountability_and_is_logged(pm, other_pm, tpm):
    initiative = services.initiative_create(actor=pm, now=FIXED_NOW, title="Handover",
                                            team=TeamFactory())

    services.initiative_update(initiative=initiative, actor=tpm, now=LATER, expected_version=1,
                               changes={"owner": other_pm})

    assert list(initiative.stakeholders.filter(role="A").values_list("user", flat=True)) == [
        other_pm.pk]
    assert Activity.objects.filter(initiative=initiative, kind="owner_changed").exists()


def test_the_stage_cannot_be_edited_around_the_lifecycle(pm):
    initiative = InitiativeFactory(owner=pm, stage="idea")

    with pytest.raises(DomainError, match="stage cannot be edited"):
        services.initiative_update(initiative=initiative, actor=pm, now=LATER,
                                   expected_version=1, changes={"stage": "production"})


def test_dependency_cycles_are_refused(pm):
    a, b, c = InitiativeFactory.create_batch(3)
    services.dependency_add(initiative=a, depends_on=b, actor=pm, now=LATER)
    services.dependency_add(initiative=b, depends_on=c, actor=pm, now=LATER)

    with pytest.raises(DomainError, match="already depends on this initiative"):
        services.dependency_add(initiative=c, depends_on=a, actor=pm, now=LATER)


def test_a_prohibited_initiative_never_leaves_assessment(pm):
    initiative = InitiativeFactory(owner=pm, stage="assessment", risk_tier="prohibited")

    with pytest.raises(DomainError, match="prohibited"):
        services.initiative_move_stage(initiative=initiative, to_stage="pilot", actor=pm,
                                       now=LATER)


def test_history_is_dated_by_the_service_not_the_wall_clock(pm):
    initiative = services.initiative_create(actor=pm, now=FIXED_NOW, title="Dated",
                                            team=TeamFactory())

    assert initiative.history.first().history_date == FIXED_NOW


def test_an_update_that_changes_health_bumps_the_version(pm):
    initiative = InitiativeFactory(owner=pm, health="on_track")

    services.update_post(initiative=initiative, author=pm, body="Blocked on data access",
                         health="blocked", now=LATER)
    services.update_post(initiative=initiative, author=pm, body="Still blocked",
                         health="blocked", now=LATER)

    initiative.refresh_from_db()
    assert initiative.version == 2
