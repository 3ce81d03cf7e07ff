"""The PM's journeys in the browser: intake, the initiative page, edits, updates, moves."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from portfolio import hooks, services
from portfolio.hooks import Panel
from portfolio.models import Activity, Initiative, StageTransition, Stakeholder, Update
from tests.factories import (
    InitiativeFactory,
    TeamFactory,
    UserFactory,
    approve_all_checkpoints,
)

pytestmark = pytest.mark.django_db

NEW_URL = "/initiatives/new/"


def detail_url(initiative):
    return f"/initiatives/{initiative.pk}/"


def intake(team, /, **overrides):
    data = {"title": "Warranty claim classifier", "summary": "Sort warranty claims by defect.",
            "category": "workflow_automation", "team": team.pk, "risk_tier": "minimal",
            "autonomy_level": "assistive"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def edit_data(initiative, **overrides):
    data = {"title": initiative.title, "summary": initiative.summary,
            "category": initiative.category, "team": initiative.team_id,
            "owner": initiative.owner_id, "risk_tier": initiative.risk_tier,
            "autonomy_level": initiative.autonomy_level, "version": initiative.version}
    data.update(overrides)
    return data


# --- Intake ---------------------------------------------------------------------------------

def test_pm_logs_an_initiative_and_owns_it(client, pm):
    team = TeamFactory(name="Aftersales")
    client.force_login(pm)

    response = client.post(NEW_URL, intake(team, owner=pm.pk))

    initiative = Initiative.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(initiative)
    assert (initiative.title, initiative.owner, initiative.created_by) == (
        "Warranty claim classifier", pm, pm)
    assert Stakeholder.objects.filter(initiative=initiative, user=pm, role="A").exists()


def test_intake_form_groups_fields_the_way_a_pm_thinks(client, pm):
    client.force_login(pm)

    body = client.get(NEW_URL).content.decode()

    for section in ("What and why", "Who", "AI profile", "Sizing and value", "Exit contract"):
        assert f"<legend>{section}</legend>" in body
    for field in ("title", "summary", "owner", "sponsor", "risk_tier", "uses_personal_data",
                  "effort_weeks", "reach", "impact", "confidence", "business_value",
                  "strategic_alignment", "success_metric", "decision_date", "production_owner"):
        assert f'name="{field}"' in body


def test_pm_can_name_another_active_user_as_owner(client, pm, other_pm):
    client.force_login(pm)

    client.post(NEW_URL, intake(TeamFactory(), owner=other_pm.pk))

    initiative = Initiative.objects.get()
    assert (initiative.owner, initiative.created_by) == (other_pm, pm)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("title", "", "This field is required."),
    ("title", "   ", "This field is required."),
    ("title", "x" * 201, "at most 200 characters"),
    ("summary", "y" * 5001, "at most 5000 characters"),
    ("effort_weeks", "0", "greater than or equal to 0.5"),
    ("effort_weeks", "-3", "greater than or equal to 0.5"),
    ("business_value", "11", "less than or equal to 10"),
    ("strategic_alignment", "0", "greater than or equal to 1"),
    ("impact", "7", "Select a valid choice"),
    ("confidence", "90", "Select a valid choice"),
    ("risk_tier", "extreme", "Select a valid choice"),
    ("target_production_date", "next spring", "Enter a valid date"),
    ("team", "999999", "Select a valid choice"),
    ("owner", "999999", "No active product manager matches"),
    ("reach", "many", "Enter a whole number"),
])
def test_bad_intake_input_gets_a_field_error_and_saves_nothing(client, pm, field, value,
                                                               message):
    client.force_login(pm)

    response = client.post(NEW_URL, {**intake(TeamFactory(), owner=pm.pk), field: value})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert field in response.context["form"].errors
    assert not Initiative.objects.exists()


def test_a_deactivated_user_cannot_be_named_owner_at_intake(client, pm):
    departed = UserFactory(is_active=False)
    client.force_login(pm)

    response = client.post(NEW_URL, intake(TeamFactory(), owner=departed.pk))

    assert "owner" in response.context["form"].errors
    assert not Initiative.objects.exists()


def test_html_in_a_title_is_stored_as_text_and_shown_escaped(client, pm):
    client.force_login(pm)

    client.post(NEW_URL, intake(TeamFactory(), owner=pm.pk,
                                title="<script>alert(1)</script> bot"))

    initiative = Initiative.objects.get()
    body = client.get(detail_url(initiative)).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; bot" in body


@pytest.mark.parametrize("persona", ["reviewer", "tpm", "leader"])
def test_read_only_roles_cannot_log_initiatives(client, request, persona):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(NEW_URL).status_code == 403
    assert client.post(NEW_URL, intake(TeamFactory())).status_code == 403
    assert not Initiative.objects.exists()


def test_outsider_gets_not_found_at_intake(client, outsider):
    client.force_login(outsider)

    assert client.post(NEW_URL, intake(TeamFactory())).status_code == 404
    assert not Initiative.objects.exists()


# --- Duplicates at intake -------------------------------------------------------------------

def _existing_twin(other_pm):
    twin = services.initiative_create(
        actor=other_pm, now=timezone.now(), team=TeamFactory(name="Service Desk"),
        title="Helpdesk ticket triage and routing",
        summary="Classify incoming helpdesk tickets by urgency and route them to the right queue.")
    return twin


def test_intake_shows_similar_initiatives_before_saving(client, pm, other_pm):
    twin = _existing_twin(other_pm)
    client.force_login(pm)

    response = client.post(NEW_URL, intake(
        TeamFactory(name="Customer Care"), owner=pm.pk, title="Support ticket triage",
        summary="Route incoming support tickets to the right queue by urgency."))

    body = response.content.decode()
    assert response.status_code == 200
    assert [match.initiative for match in response.context["matches"]][0] == twin
    assert "Helpdesk ticket triage and routing" in body
    assert "Why:" in body
    assert "Service Desk" in body
    assert Initiative.objects.count() == 1


def test_confirming_the_new_initiative_is_different_saves_it(client, pm, other_pm):
    _existing_twin(other_pm)
    client.force_login(pm)
    data = intake(TeamFactory(), owner=pm.pk, title="Support ticket triage",
                  summary="Route incoming support tickets to the right queue by urgency.")
    checked = client.post(NEW_URL, data).context["form"]["checked"].value()

    response = client.post(NEW_URL, {**data, "checked": checked, "confirm_distinct": "on"})

    assert response.status_code == 302
    assert Initiative.objects.filter(title="Support ticket triage").exists()


def test_changing_the_text_after_the_check_checks_again(client, pm, other_pm):
    _existing_twin(other_pm)
    client.force_login(pm)
    data = intake(TeamFactory(), owner=pm.pk, title="Support ticket triage",
                  summary="Route incoming support tickets to the right queue by urgency.")
    checked = client.post(NEW_URL, data).context["form"]["checked"].value()

    response = client.post(NEW_URL, {**data, "title": "Helpdesk ticket routing",
                                      "checked": checked, "confirm_distinct": "on"})

    assert response.status_code == 200
    assert response.context["matches"]
    assert not Initiative.objects.filter(title="Helpdesk ticket routing").exists()


def test_a_retired_lookalike_shows_its_kill_reason_and_lessons(client, pm, other_pm):
    twin = _existing_twin(other_pm)
    services.initiative_move_stage(initiative=twin, to_stage="retired", actor=other_pm,
                                   now=timezone.now(), retirement_reason="data_not_ready",
                                   retirement_lessons="Tickets had no reliable labels.")
    client.force_login(pm)

    body = client.post(NEW_URL, intake(
        TeamFactory(), owner=pm.pk, title="Support ticket triage",
        summary="Route incoming support tickets to the right queue by urgency.",
    )).content.decode()

    assert "Retired — Data not ready." in body
    assert "Tickets had no reliable labels." in body


# --- The initiative page --------------------------------------------------------------------

@pytest.mark.parametrize("persona", ["pm", "other_pm", "reviewer", "tpm", "leader"])
def test_every_role_reads_an_initiative(client, request, persona):
    initiative = InitiativeFactory(title="Contract clause extraction")
    client.force_login(request.getfixturevalue(persona))

    response = client.get(detail_url(initiative))

    assert response.status_code == 200
    assert "Contract clause extraction" in response.content.decode()


def test_outsider_and_missing_initiatives_get_not_found(client, outsider, pm):
    initiative = InitiativeFactory()
    client.force_login(outsider)
    assert client.get(detail_url(initiative)).status_code == 404
    client.force_login(pm)
    assert client.get("/initiatives/999999/").status_code == 404


def test_page_shows_raci_dependencies_timeline_updates_and_history(client, pm, other_pm, tpm):
    now = timezone.now()
    initiative = services.initiative_create(
        actor=pm, now=now - timedelta(days=30), title="Invoice matching agent",
        team=TeamFactory(name="Finance"), summary="Match invoices to purchase orders.",
        success_metric="Touchless match rate", metric_unit="%", metric_direction="higher",
        baseline_value=Decimal(41), target_value=Decimal(75), decision_date=date(2027, 3, 31))
    services.stakeholder_add(initiative=initiative, user=other_pm, role="R", actor=pm,
                             now=now)
    upstream = InitiativeFactory(title="Vendor master data cleanup")
    downstream = InitiativeFactory(title="Payment run optimiser")
    services.dependency_add(initiative=initiative, depends_on=upstream, actor=pm, now=now)
    services.dependency_add(initiative=downstream, depends_on=initiative, actor=pm, now=now)
    approve_all_checkpoints(initiative, reviewer=UserFactory(roles=["reviewer"]))
    services.initiative_move_stage(initiative=initiative, to_stage="assessment", actor=pm,
                                   now=now - timedelta(days=20))
    services.update_post(initiative=initiative, author=pm, now=now - timedelta(days=2),
                         body="Vendor data is messier than we thought.", health="at_risk")
    client.force_login(tpm)

    body = client.get(detail_url(initiative)).content.decode()

    for text in ("Olive Owner", other_pm.get_full_name(), "Vendor master data cleanup",
                 "Payment run optimiser", "Touchless match rate", "75%",
                 "Vendor data is messier than we thought.", "Assessment",
                 "<strong>Health</strong>: On track → At risk", "Logged the initiative."):
        assert text in body


def test_page_query_count_does_not_grow_with_its_history(client, pm,
                                                         django_assert_num_queries):
    now = timezone.now()
    initiative = services.initiative_create(actor=pm, now=now - timedelta(days=90),
                                            title="Knowledge search", team=TeamFactory())
    for day in range(40):
        services.update_post(initiative=initiative, author=pm, body=f"Week {day}",
                             health="at_risk" if day % 2 else "on_track",
                             now=now - timedelta(days=80 - day))
    for person in UserFactory.create_batch(5):
        services.stakeholder_add(initiative=initiative, user=person, role="C", actor=pm,
                                 now=now)
    client.force_login(pm)

    # session, user with roles; the initiative with its people; RACI; depends on; needed by;
    # transitions; updates; update count; activity; history; names in the history;
    # governance's panel: the checkpoints (the gate to the next stage asks them and the
    # contract card's evidence, no query of its own), the forecast's queues;
    # the exit contract's panel: the gate's evidence (latest measurement in the window,
    # overrides of this stay), the measurements, the overrides, the value reviews.
    # (The moves open to the owner read the last pause only on a paused initiative; the
    # update form reads nothing, and the people pickers list nobody until asked.)
    with django_assert_num_queries(19):
        response = client.get(detail_url(initiative))

    assert response.status_code == 200


def test_edit_and_keep_current_forms_show_only_to_editors(client, pm, leader):
    initiative = InitiativeFactory(owner=pm)
    client.force_login(leader)
    body = client.get(detail_url(initiative)).content.decode()
    assert "Post an update" not in body
    assert "/edit/" not in body
    client.force_login(pm)
    body = client.get(detail_url(initiative)).content.decode()
    assert "Post an update" in body
    assert "Move the stage" in body


def test_other_apps_add_panels_to_the_page(client, pm):
    initiative = InitiativeFactory(owner=pm)

    def checkpoints(*, initiative, user):
        return Panel(title="Governance checkpoints", template="portfolio/_panel_text.html",
                     context={"text": f"3 of 5 approved for {initiative.title}"})

    hooks.DETAIL_PANELS.register("test", checkpoints)
    try:
        client.force_login(pm)
        body = client.get(detail_url(initiative)).content.decode()
    finally:
        hooks.DETAIL_PANELS.unregister("test")

    assert "Governance checkpoints" in body
    assert f"3 of 5 approved for {initiative.title}" in body


# --- Editing --------------------------------------------------------------------------------

def test_owner_edits_the_initiative(client, pm):
    initiative = InitiativeFactory(owner=pm, title="Old title")
    client.force_login(pm)

    response = client.post(f"{detail_url(initiative)}edit/",
                           edit_data(initiative, title="New title", success_metric="NPS"))

    initiative.refresh_from_db()
    assert response.status_code == 302
    assert (initiative.title, initiative.success_metric, initiative.version) == (
        "New title", "NPS", 2)


def test_a_pm_responsible_for_an_initiative_may_edit_it(client, pm, other_pm):
    initiative = InitiativeFactory(owner=pm)
    Stakeholder.objects.create(initiative=initiative, user=other_pm, role="R")
    client.force_login(other_pm)

    client.post(f"{detail_url(initiative)}edit/", edit_data(initiative, title="Renamed"))

    initiative.refresh_from_db()
    assert initiative.title == "Renamed"


@pytest.mark.parametrize("persona", ["other_pm", "reviewer", "tpm", "leader"])
def test_others_cannot_edit_someone_elses_initiative(client, request, pm, persona):
    initiative = InitiativeFactory(owner=pm, title="Untouched")
    client.force_login(request.getfixturevalue(persona))

    assert client.get(f"{detail_url(initiative)}edit/").status_code == 403
    response = client.post(f"{detail_url(initiative)}edit/", edit_data(initiative, title="Hit"))

    assert response.status_code == 403
    initiative.refresh_from_db()
    assert (initiative.title, initiative.version) == ("Untouched", 1)


def test_outsider_cannot_edit(client, pm, outsider):
    initiative = InitiativeFactory(owner=pm, title="Untouched")
    client.force_login(outsider)

    response = client.post(f"{detail_url(initiative)}edit/", edit_data(initiative, title="Hit"))

    assert response.status_code == 404
    initiative.refresh_from_db()
    assert initiative.title == "Untouched"


def test_a_stale_edit_is_refused_showing_what_changed(client, pm):
    initiative = services.initiative_create(actor=pm, now=timezone.now(), title="Pricing bot",
                                            team=TeamFactory(), summary="v1")
    loaded = edit_data(initiative)            # the first tab loads version 1
    services.initiative_update(initiative=initiative, actor=pm, now=timezone.now(),
                               expected_version=1, changes={"summary": "Second tab's summary",
                                                            "risk_tier": "high"})
    client.force_login(pm)

    response = client.post(f"{detail_url(initiative)}edit/", {**loaded, "title": "First tab"})

    body = response.content.decode()
    assert response.status_code == 200
    assert "Someone else changed this initiative" in body
    assert "What changed since you opened this form" in body
    assert "Second tab&#x27;s summary" in body
    assert "High" in body
    initiative.refresh_from_db()
    assert (initiative.title, initiative.summary, initiative.version) == (
        "Pricing bot", "Second tab's summary", 2)


def test_bad_edit_input_changes_nothing(client, pm):
    initiative = InitiativeFactory(owner=pm, title="Keep me")
    client.force_login(pm)

    response = client.post(f"{detail_url(initiative)}edit/",
                           edit_data(initiative, title="", time_criticality="99"))

    errors = response.context["form"].errors
    assert {"title", "time_criticality"} <= set(errors)
    initiative.refresh_from_db()
    assert (initiative.title, initiative.version) == ("Keep me", 1)


def test_making_a_piloting_initiative_prohibited_is_refused(client, pm):
    initiative = InitiativeFactory(owner=pm, stage="pilot")
    client.force_login(pm)

    response = client.post(f"{detail_url(initiative)}edit/",
                           edit_data(initiative, risk_tier="prohibited"))

    assert "risk_tier" in response.context["form"].errors
    initiative.refresh_from_db()
    assert initiative.risk_tier == "minimal"


# --- Updates ----------------------------------------------------------------------------------

def test_owner_posts_an_update_that_sets_health(client, pm):
    initiative = InitiativeFactory(owner=pm, health="on_track")
    client.force_login(pm)

    response = client.post(f"{detail_url(initiative)}updates/",
                           {"body": "Legal review slipped a week.", "health": "at_risk"})

    assert response.status_code == 302
    initiative.refresh_from_db()
    assert initiative.health == "at_risk"
    assert Update.objects.get().body == "Legal review slipped a week."
    assert "Legal review slipped a week." in client.get(detail_url(initiative)).content.decode()


@pytest.mark.parametrize(("data", "field"), [
    ({"body": "", "health": "at_risk"}, "body"),
    ({"body": "   ", "health": "at_risk"}, "body"),
    ({"body": "z" * 5001, "health": "at_risk"}, "body"),
    ({"body": "Fine", "health": "great"}, "health"),
])
def test_bad_update_gets_a_field_error_and_posts_nothing(client, pm, data, field):
    initiative = InitiativeFactory(owner=pm)
    client.force_login(pm)

    response = client.post(f"{detail_url(initiative)}updates/", data)

    assert response.status_code == 400
    assert field in response.context["update_form"].errors
    assert not Update.objects.exists()


@pytest.mark.parametrize("persona", ["other_pm", "reviewer", "tpm", "leader"])
def test_only_editors_post_updates(client, request, pm, persona):
    initiative = InitiativeFactory(owner=pm)
    client.force_login(request.getfixturevalue(persona))

    response = client.post(f"{detail_url(initiative)}updates/",
                           {"body": "Hi", "health": "blocked"})

    assert response.status_code == 403
    assert not Update.objects.exists()


# --- Stage moves ------------------------------------------------------------------------------

def move(client, initiative, **data):
    return client.post(f"{detail_url(initiative)}move/",
                       {"expected_stage": initiative.stage, **data})


def test_owner_moves_forward_and_back_with_a_note(client, pm):
    initiative = InitiativeFactory(owner=pm, stage="idea")
    client.force_login(pm)

    assert move(client, initiative, to_stage="assessment").status_code == 302
    initiative.refresh_from_db()
    response = move(client, initiative, to_stage="idea", note="Scope was wrong.")

    assert response.status_code == 302
    initiative.refresh_from_db()
    assert initiative.stage == "idea"
    assert list(StageTransition.objects.values_list("from_stage", "to_stage", "note")) == [
        ("idea", "assessment", ""), ("assessment", "idea", "Scope was wrong.")]
    body = client.get(detail_url(initiative)).content.decode()
    assert "Scope was wrong." in body


def test_moving_back_without_a_note_is_refused(client, pm):
    initiative = InitiativeFactory(owner=pm, stage="pilot")
    client.force_login(pm)

    response = move(client, initiative, to_stage="assessment")

    assert response.status_code == 400
    assert "note" in response.context["move_form"].errors
    initiative.refresh_from_db()
    assert initiative.stage == "pilot"


def test_skipping_a_stage_is_not_offered_and_is_refused(client, pm):
    initiative = InitiativeFactory(owner=pm, stage="idea")
    client.force_login(pm)

    response = move(client, initiative, to_stage="production")

    assert "to_stage" in response.context["move_form"].errors
    assert not StageTransition.objects.exists()


def test_pause_then_resume_in_the_same_stage(client, pm):
    initiative = InitiativeFactory(owner=pm, stage="pilot", contracted=True)
    client.force_login(pm)
    move(client, initiative, to_stage="paused")
    initiative.refresh_from_db()

    form = client.get(detail_url(initiative)).context["move_form"]
    moves = form.fields["to_stage"].widget.choices
    assert ("pilot", "Resume in Pilot") in moves
    move(client, initiative, to_stage="pilot")

    initiative.refresh_from_db()
    assert initiative.stage == "pilot"


def test_a_move_from_a_stale_page_is_refused(client, pm):
    initiative = InitiativeFactory(owner=pm, stage="idea")
    client.force_login(pm)

    response = client.post(f"{detail_url(initiative)}move/",
                           {"expected_stage": "assessment", "to_stage": "pilot"})

    assert "since you loaded the page" in response.content.decode()
    initiative.refresh_from_db()
    assert initiative.stage == "idea"


@pytest.mark.parametrize(("data", "field"), [
    ({}, "retirement_reason"),
    ({"retirement_reason": "cost"}, "retirement_lessons"),
    ({"retirement_reason": "bored", "retirement_lessons": "x"}, "retirement_reason"),
])
def test_retiring_needs_a_reason_and_lessons(client, pm, data, field):
    initiative = InitiativeFactory(owner=pm, stage="pilot")
    client.force_login(pm)

    response = move(client, initiative, to_stage="retired", **data)

    assert field in response.context["move_form"].errors
    initiative.refresh_from_db()
    assert initiative.stage == "pilot"


def test_retired_initiative_is_in_the_kill_log_and_searchable(client, pm, leader):
    initiative = InitiativeFactory(owner=pm, stage="pilot", title="Churn predictor")
    InitiativeFactory(owner=pm, stage="pilot", title="Still running")
    client.force_login(pm)
    move(client, initiative, to_stage="retired", retirement_reason="value_not_proven",
         retirement_lessons="Agree the baseline with finance before the pilot starts.")
    client.force_login(leader)

    body = client.get("/initiatives/kill-log/").content.decode()
    found = client.get("/initiatives/kill-log/", {"q": "baseline with finance"})
    missed = client.get("/initiatives/kill-log/", {"q": "blockchain"})

    assert "Churn predictor" in body
    assert "Value not proven" in body
    assert "Still running" not in body
    assert [i.title for i in found.context["page"].object_list] == ["Churn predictor"]
    assert list(missed.context["page"].object_list) == []
    assert Activity.objects.filter(initiative=initiative, kind="stage_moved").exists()


def test_kill_log_filters_by_reason_and_counts_each(client, pm):
    for reason in ("cost", "cost", "risk"):
        InitiativeFactory(owner=pm, stage="retired", retirement_reason=reason,
                          retirement_lessons="L")
    client.force_login(pm)

    response = client.get("/initiatives/kill-log/", {"reason": "cost"})

    assert len(response.context["page"].object_list) == 2
    counts = {reason: n for reason, _, n in response.context["reason_counts"]}
    assert (counts["cost"], counts["risk"], counts["other"]) == (2, 1, 0)


@pytest.mark.parametrize("count", [2, 40])
def test_kill_log_query_count_is_constant(client, pm, count, django_assert_num_queries):
    for _ in range(count):
        InitiativeFactory(stage="retired", retirement_reason="cost", retirement_lessons="L")
    client.force_login(pm)

    # session, user with roles; reason counts with the effort and value summed (also the
    # paginator's count); the latest reviews summed; the page; the team choices.
    with django_assert_num_queries(6):
        assert client.get("/initiatives/kill-log/").status_code == 200


def test_outsider_cannot_read_the_kill_log(client, outsider):
    client.force_login(outsider)
    assert client.get("/initiatives/kill-log/").status_code == 404


@pytest.mark.parametrize("persona", ["other_pm", "reviewer", "tpm", "leader"])
def test_only_editors_move_the_stage(client, request, pm, persona):
    initiative = InitiativeFactory(owner=pm, stage="idea")
    client.force_login(request.getfixturevalue(persona))

    response = move(client, initiative, to_stage="assessment")

    assert response.status_code == 403
    assert not StageTransition.objects.exists()


def test_markup_in_updates_and_lessons_is_shown_as_text(client, pm):
    initiative = InitiativeFactory(owner=pm, stage="pilot")
    client.force_login(pm)
    client.post(f"{detail_url(initiative)}updates/",
                {"body": '<img src=x onerror="alert(1)">', "health": "on_track"})
    move(client, initiative, to_stage="retired", retirement_reason="other",
         retirement_lessons="<b>bold</b> claims")

    page = client.get(detail_url(initiative)).content.decode()
    log = client.get("/initiatives/kill-log/").content.decode()

    assert '<img src=x onerror="alert(1)">' not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert "<b>bold</b>" not in log
    assert "&lt;b&gt;bold&lt;/b&gt; claims" in log


def test_a_bad_kill_log_filter_is_shown_on_its_field_and_ignored(client, pm):
    InitiativeFactory(stage="retired", retirement_reason="cost", retirement_lessons="L",
                      title="Counted anyway")
    client.force_login(pm)

    response = client.get("/initiatives/kill-log/", {"reason": "boredom", "team": "nope"})

    assert response.status_code == 200
    assert {"reason", "team"} <= set(response.context["form"].errors)
    assert "Counted anyway" in response.content.decode()
