"""Every limit the browser's forms enforce, the API enforces too — both read it from the
model field (``text_limit``), so no path stores text a form could not save again."""

import pytest

from governance.api import CheckpointDecideSerializer, CheckpointWaiveSerializer
from governance.forms import DecideForm, WaiveForm
from portfolio.api.serializers import InitiativeWriteSerializer, MoveSerializer, UpdateSerializer
from portfolio.forms import InitiativeForm, StageMoveForm, UpdateForm
from portfolio.models import Initiative, Update
from portfolio.pilots.api import StallDecisionSerializer
from portfolio.pilots.forms import StallDecisionForm
from tests.clients import client_for
from tests.factories import InitiativeFactory, TeamFactory

# (browser form, its field, API serializer, its field): the same text, two doors.
PAIRS = [
    (InitiativeForm, "title", InitiativeWriteSerializer, "title"),
    (InitiativeForm, "summary", InitiativeWriteSerializer, "summary"),
    (InitiativeForm, "model_vendor", InitiativeWriteSerializer, "model_vendor"),
    (InitiativeForm, "success_metric", InitiativeWriteSerializer, "success_metric"),
    (InitiativeForm, "metric_unit", InitiativeWriteSerializer, "metric_unit"),
    (UpdateForm, "body", UpdateSerializer, "body"),
    (StageMoveForm, "note", MoveSerializer, "note"),
    (StageMoveForm, "retirement_lessons", MoveSerializer, "retirement_lessons"),
    (StallDecisionForm, "note", StallDecisionSerializer, "note"),
    (StallDecisionForm, "retirement_lessons", StallDecisionSerializer, "retirement_lessons"),
    (DecideForm, "evidence_url", CheckpointDecideSerializer, "evidence_url"),
    (DecideForm, "evidence_notes", CheckpointDecideSerializer, "evidence_notes"),
    (WaiveForm, "justification", CheckpointWaiveSerializer, "justification"),
]


@pytest.mark.parametrize(("form", "form_field", "serializer", "api_field"), PAIRS,
                         ids=[f"{form.__name__}.{name}" for form, name, _, _ in PAIRS])
def test_the_api_holds_text_to_the_browsers_limit(form, form_field, serializer, api_field):
    browser_limit = form.base_fields[form_field].max_length
    api_limit = serializer().fields[api_field].max_length

    assert browser_limit is not None
    assert api_limit == browser_limit


@pytest.mark.django_db
def test_a_summary_longer_than_the_form_allows_is_a_field_error_and_nothing_is_saved(pm):
    TeamFactory(slug="claims")
    client = client_for(pm)
    limit = InitiativeForm.base_fields["summary"].max_length

    too_long = client.post("/api/v1/initiatives/", {
        "title": "Huge", "team": "claims", "summary": "x" * 1_000_000}, format="json")
    at_limit = client.post("/api/v1/initiatives/", {
        "title": "Full", "team": "claims", "summary": "x" * limit}, format="json")

    assert too_long.status_code == 400
    assert list(too_long.json()["fields"]) == ["summary"]
    assert not Initiative.objects.filter(title="Huge").exists()
    assert at_limit.status_code == 201


@pytest.mark.django_db
def test_an_edit_cannot_grow_the_summary_past_the_limit_either(pm):
    initiative = InitiativeFactory(owner=pm, summary="Short.")
    client = client_for(pm)

    response = client.patch(f"/api/v1/initiatives/{initiative.pk}/",
                            {"summary": "x" * 5001}, format="json",
                            HTTP_IF_MATCH=f'"{initiative.pk}-1"')

    assert response.status_code == 400
    assert "summary" in response.json()["fields"]
    assert Initiative.objects.get(pk=initiative.pk).summary == "Short."


@pytest.mark.django_db
def test_an_update_longer_than_the_form_allows_is_refused(pm):
    initiative = InitiativeFactory(owner=pm)
    client = client_for(pm)

    response = client.post(f"/api/v1/initiatives/{initiative.pk}/updates/",
                           {"body": "x" * 5001, "health": "on_track"}, format="json")

    assert response.status_code == 400
    assert "body" in response.json()["fields"]
    assert not Update.objects.filter(initiative=initiative).exists()
