"""API v1, outcomes (issue 18): the exit contract's fields with the browser's validation,
measurements, contract overrides and value reviews, with the browser's permissions."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from portfolio.models import (
    Activity,
    ContractOverride,
    Initiative,
    Measurement,
    Stakeholder,
    ValueReview,
)
from tests.clients import client_for
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory, UserFactory, measure

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

LIST = "/api/v1/initiatives/"


def detail(initiative):
    return f"{LIST}{initiative.pk}/"


def if_match(initiative):
    return {"HTTP_IF_MATCH": f'"{initiative.pk}-{initiative.version}"'}


CONTRACT = {
    "success_metric": "Claims settled without a call", "metric_unit": "%",
    "metric_direction": "higher", "baseline_value": "12", "target_value": "40.5",
    "window_start": "2026-12-01", "window_end": "2027-02-28",
    "predicted_annual_value": "250000", "predicted_annual_run_cost": "40000.50",
}


@pytest.fixture
def contracted(pm):
    return InitiativeFactory(owner=pm, stage="pilot", contracted=True,
                             team=TeamFactory(slug="claims"))


# --- The contract's fields ----------------------------------------------------------------------

def test_an_initiative_is_logged_with_its_contract_and_reads_it_back_as_text(pm):
    TeamFactory(slug="claims")

    response = client_for(pm).post(LIST, {"title": "Claims bot", "team": "claims", **CONTRACT},
                                   format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["metric_direction"], body["baseline_value"], body["target_value"]) == (
        "higher", "12.0000", "40.5000")
    assert (body["predicted_annual_value"], body["predicted_annual_run_cost"]) == (
        "250000.00", "40000.50")
    assert (body["window_start"], body["window_end"]) == ("2026-12-01", "2027-02-28")
    assert body["value_currency"] == "EUR"
    assert body["contract_status"] == "incomplete"  # no decision date, no production owner
    assert body["contract_to_review"] == ""


@pytest.mark.parametrize(("change", "field"), [
    ({"baseline_value": "50"}, "target_value"),            # target below a higher-is-better
    ({"metric_direction": "lower"}, "target_value"),       # target above a lower-is-better
    ({"window_end": "2026-11-30"}, "window_end"),          # the window ends before it starts
], ids=["target_below_baseline", "direction_flipped", "window_backwards"])
def test_a_contradictory_contract_is_refused_on_its_field_and_nothing_is_logged(pm, change,
                                                                               field):
    """Well-formed, so not a 400: the form's rule refuses it, a 409 naming the field (the
    API's contract, as for a decision date in the past)."""
    TeamFactory(slug="claims")

    response = client_for(pm).post(LIST, {"title": "Claims bot", "team": "claims",
                                          **CONTRACT, **change}, format="json")

    assert response.status_code == 409, response.content
    assert list(response.json()["fields"]) == [field]
    assert not Initiative.objects.exists()


def test_a_change_contradicting_the_saved_contract_is_refused_and_changes_nothing(pm,
                                                                                  contracted):
    before = Initiative.objects.filter(pk=contracted.pk).values().get()

    response = client_for(pm).patch(detail(contracted), {"target_value": "10"}, format="json",
                                    **if_match(contracted))

    assert response.status_code == 409
    assert "must be above the baseline (18%)" in response.json()["fields"]["target_value"][0]
    assert Initiative.objects.filter(pk=contracted.pk).values().get() == before


def test_a_consistent_change_is_saved_with_if_match(pm, contracted):
    response = client_for(pm).patch(
        detail(contracted), {"metric_direction": "lower", "target_value": "9.25"},
        format="json", **if_match(contracted))

    assert response.status_code == 200, response.content
    contracted.refresh_from_db()
    assert (contracted.metric_direction, contracted.target_value) == ("lower", Decimal("9.25"))


def test_contract_fields_still_need_if_match(pm, contracted):
    response = client_for(pm).patch(detail(contracted), {"target_value": "50"}, format="json")

    assert response.status_code == 428
    assert Initiative.objects.get(pk=contracted.pk).target_value == Decimal(35)


@pytest.mark.parametrize(("field", "value"), [
    ("predicted_annual_value", "-1"), ("predicted_annual_run_cost", "12.345"),
    ("predicted_annual_value", 1000), ("baseline_value", "1e3"), ("target_value", "abc"),
    ("metric_direction", "sideways"),
])
def test_a_bad_number_or_direction_is_a_400_on_its_field(pm, contracted, field, value):
    response = client_for(pm).patch(detail(contracted), {field: value}, format="json",
                                    **if_match(contracted))

    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]
    assert Initiative.objects.get(pk=contracted.pk).version == contracted.version


def test_the_detail_says_where_the_contract_stands(leader, contracted):
    bare = InitiativeFactory()
    client = client_for(leader)

    assert client.get(detail(bare)).json()["contract_status"] == "incomplete"
    assert client.get(detail(contracted)).json()["contract_status"] == "unmeasured"
    measure(contracted, Decimal(20), on=FIXED_NOW.date() - timedelta(days=3))
    assert client.get(detail(contracted)).json()["contract_status"] == "missed"
    measure(contracted, Decimal(36))  # the latest in the window counts
    assert client.get(detail(contracted)).json()["contract_status"] == "met"


# --- Measurements --------------------------------------------------------------------------------

def measurements(initiative):
    return f"{detail(initiative)}measurements/"


def test_the_owner_records_measurements_and_everyone_reads_them_oldest_first(pm, leader,
                                                                             contracted):
    client = client_for(pm)

    later = client.post(measurements(contracted), {
        "measured_on": "2026-10-30", "value": "31.5", "source_url": "https://bi.example/q"},
        format="json")
    earlier = client.post(measurements(contracted), {
        "measured_on": "2026-10-01", "value": "22", "source_note": "Weekly export"},
        format="json")
    listed = client_for(leader).get(measurements(contracted))

    assert (later.status_code, earlier.status_code) == (201, 201), later.content
    assert later.json()["value"] == "31.5000"
    assert later.json()["recorded_by"]["username"] == "owner-pm"
    assert [row["value"] for row in listed.json()["results"]] == ["22.0000", "31.5000"]
    assert Activity.objects.filter(initiative=contracted,
                                   kind=Activity.Kind.MEASUREMENT_RECORDED).count() == 2


def test_a_responsible_pm_records_a_measurement(other_pm, contracted):
    Stakeholder.objects.create(initiative=contracted, user=other_pm,
                               role=Stakeholder.Role.RESPONSIBLE)

    response = client_for(other_pm).post(measurements(contracted), {
        "measured_on": "2026-11-02", "value": "30", "source_note": "Dashboard"}, format="json")

    assert response.status_code == 201


@pytest.mark.parametrize(("persona", "status"), [("leader", 403), ("other_pm", 403),
                                                 ("outsider", 404)])
def test_only_its_editors_record_a_measurement(request, contracted, persona, status):
    response = client_for(request.getfixturevalue(persona)).post(measurements(contracted), {
        "measured_on": "2026-11-01", "value": "30", "source_note": "Dashboard"}, format="json")

    assert response.status_code == status
    assert not Measurement.objects.exists()


def test_an_outsider_cannot_read_the_measurements(outsider, contracted):
    measure(contracted)

    assert client_for(outsider).get(measurements(contracted)).status_code == 404


@pytest.mark.parametrize(("body", "field", "status"), [
    ({"measured_on": "2026-11-03", "value": "30", "source_note": "Tomorrow"}, "measured_on",
     409),
    ({"measured_on": "2026-11-01", "value": "30", "source_note": "  "}, "source_note", 409),
    ({"measured_on": "2026-11-01", "value": 30, "source_note": "A number"}, "value", 400),
    ({"measured_on": "2026-11-01", "value": "30", "source_note": "x", "id": 4}, "id", 400),
    ({"measured_on": "2026-11-01", "value": "30", "source_url": "not a link"}, "source_url",
     400),
], ids=["after_today", "no_source", "number_not_text", "unknown_field", "bad_link"])
def test_a_bad_measurement_is_refused_on_its_field_and_nothing_is_recorded(pm, contracted, body,
                                                                          field, status):
    """Not what the schema says: 400. Well-formed but against the rules: 409."""
    response = client_for(pm).post(measurements(contracted), body, format="json")

    assert response.status_code == status
    assert list(response.json()["fields"]) == [field]
    assert not Measurement.objects.exists()


def test_without_a_success_metric_a_measurement_is_refused(pm):
    initiative = InitiativeFactory(owner=pm)

    response = client_for(pm).post(measurements(initiative), {
        "measured_on": "2026-11-01", "value": "30", "source_note": "x"}, format="json")

    assert response.status_code == 409
    assert "success metric" in response.json()["message"]
    assert not Measurement.objects.exists()


# --- Overrides -----------------------------------------------------------------------------------

def overrides(initiative):
    return f"{detail(initiative)}overrides/"


@pytest.fixture
def missed(contracted):
    """A pilot whose latest measurement (22%) misses its 35% target."""
    sponsor = UserFactory(username="the-sponsor", roles=["tpm"])
    Initiative.objects.filter(pk=contracted.pk).update(sponsor=sponsor)
    contracted.refresh_from_db()
    measure(contracted, Decimal(22))
    return contracted


def test_the_sponsor_overrides_a_missed_target_with_a_reason(missed, leader):
    response = client_for(missed.sponsor).post(overrides(missed), {
        "kind": "target_missed", "reason": "Regulator deadline; retrain in production."},
        format="json")
    listed = client_for(leader).get(overrides(missed))

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["decided_by"]["username"] == "the-sponsor"
    assert body["overridden"].startswith("the exit contract's target: 22% measured on 2 Nov 2026, "
                                         "target 35%")
    assert [row["reason"] for row in listed.json()["results"]] == [
        "Regulator deadline; retrain in production."]


def test_leadership_overrides_too(missed, leader):
    response = client_for(leader).post(overrides(missed), {
        "kind": "target_missed", "reason": "Strategic."}, format="json")

    assert response.status_code == 201


@pytest.mark.parametrize(("persona", "status"), [("pm", 403), ("tpm", 403), ("outsider", 404)])
def test_no_one_else_overrides(request, missed, persona, status):
    response = client_for(request.getfixturevalue(persona)).post(overrides(missed), {
        "kind": "target_missed", "reason": "Let me."}, format="json")

    assert response.status_code == status
    assert not ContractOverride.objects.exists()


def test_an_override_needs_a_reason_and_a_kind(missed):
    client = client_for(missed.sponsor)

    blank = client.post(overrides(missed), {"kind": "target_missed", "reason": "  "},
                        format="json")
    unknown = client.post(overrides(missed), {"kind": "vibes", "reason": "x"}, format="json")

    assert (blank.status_code, list(blank.json()["fields"])) == (400, ["reason"])
    assert (unknown.status_code, list(unknown.json()["fields"])) == (400, ["kind"])
    assert not ContractOverride.objects.exists()


def test_nothing_to_override_is_a_409(contracted, leader):
    measure(contracted, Decimal(36))  # meets the target

    response = client_for(leader).post(overrides(contracted), {
        "kind": "target_missed", "reason": "Just in case."}, format="json")

    assert response.status_code == 409
    assert "Nothing to override" in response.json()["message"]
    assert not ContractOverride.objects.exists()


# --- Value reviews -------------------------------------------------------------------------------

REVIEWS = "/api/v1/value-reviews/"


@pytest.fixture
def review(pm):
    initiative = InitiativeFactory(owner=pm, stage="production", contracted=True,
                                   title="Claims in production", team=TeamFactory(slug="claims"))
    return ValueReview.objects.create(
        initiative=initiative, production_since=FIXED_NOW - timedelta(days=31), days=30,
        due_on=FIXED_NOW.date() - timedelta(days=1), scheduled_at=FIXED_NOW,
        scheduled_run="test")


def test_every_role_lists_value_reviews_by_status_team_and_initiative(leader, review):
    client = client_for(leader)

    def ids(**filters):
        response = client.get(REVIEWS, filters)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids() == ids(status="due") == ids(team="claims") == [review.pk]
    assert ids(initiative=review.initiative_id) == [review.pk]
    assert ids(status="overdue") == ids(status="recorded") == ids(status="at_risk") == []
    assert client.get(REVIEWS, {"status": "late"}).status_code == 400
    assert client.get(REVIEWS, {"team": "nowhere"}).status_code == 404
    one = client.get(f"{REVIEWS}{review.pk}/").json()
    assert (one["days"], one["currency"], one["overdue"]) == (30, "EUR", False)
    assert one["predicted_annual_value"] == "240000.00"


def test_outsiders_get_404_for_value_reviews(outsider, review):
    client = client_for(outsider)

    assert client.get(REVIEWS).status_code == 404
    assert client.get(f"{REVIEWS}{review.pk}/").status_code == 404


def test_the_owner_records_a_review_and_a_tpm_decides_on_value_at_risk(pm, tpm, review):
    recorded = client_for(pm).post(f"{REVIEWS}{review.pk}/record/", {
        "realised_value": "50000", "run_cost": "60000", "note": "Few claims qualify."},
        format="json")

    assert recorded.status_code == 200, recorded.content
    assert (recorded.json()["at_risk"], recorded.json()["suggested_decision"]) == (True, "retire")
    assert [row["id"] for row in client_for(tpm).get(
        REVIEWS, {"status": "at_risk"}).json()["results"]] == [review.pk]

    decided = client_for(tpm).post(f"{REVIEWS}{review.pk}/decision/", {
        "decision": "fix", "note": "Widen the eligible claims first."}, format="json")
    again = client_for(tpm).post(f"{REVIEWS}{review.pk}/decision/", {
        "decision": "retire", "note": "Changed my mind."}, format="json")

    assert decided.status_code == 200, decided.content
    assert (decided.json()["decision"], decided.json()["decided_by"]["username"]) == (
        "fix", "a-tpm")
    assert again.status_code == 409
    assert "decision" in again.json()["fields"]
    assert ValueReview.objects.get(pk=review.pk).decision == "fix"


@pytest.mark.parametrize(("persona", "status"), [("leader", 403), ("other_pm", 403),
                                                 ("outsider", 404)])
def test_only_its_editors_record_a_review(request, review, persona, status):
    response = client_for(request.getfixturevalue(persona)).post(
        f"{REVIEWS}{review.pk}/record/", {"realised_value": "1", "run_cost": "1"},
        format="json")

    assert response.status_code == status
    assert ValueReview.objects.get(pk=review.pk).recorded_at is None


def test_a_negative_figure_is_a_400_and_nothing_is_recorded(pm, review):
    response = client_for(pm).post(f"{REVIEWS}{review.pk}/record/", {
        "realised_value": "-5", "run_cost": "10"}, format="json")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["realised_value"]
    assert ValueReview.objects.get(pk=review.pk).recorded_at is None


def test_a_reader_cannot_decide(leader, pm, review):
    client_for(pm).post(f"{REVIEWS}{review.pk}/record/", {
        "realised_value": "0", "run_cost": "10"}, format="json")

    response = client_for(leader).post(f"{REVIEWS}{review.pk}/decision/", {
        "decision": "fix", "note": "x"}, format="json")

    assert response.status_code == 403
    assert ValueReview.objects.get(pk=review.pk).decision == ""


# --- The schema ----------------------------------------------------------------------------------

def test_the_schema_lists_the_outcome_endpoints_and_fields(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--format", "openapi-json", "--file", str(tmp_path / "s.json"))
    schema = json.loads((tmp_path / "s.json").read_text())
    paths = schema["paths"]
    components = schema["components"]["schemas"]

    assert set(paths["/api/v1/initiatives/{id}/measurements/"]) >= {"get", "post"}
    assert set(paths["/api/v1/initiatives/{id}/overrides/"]) >= {"get", "post"}
    assert set(paths["/api/v1/value-reviews/"]) >= {"get"}
    assert "post" in paths["/api/v1/value-reviews/{id}/record/"]
    assert "post" in paths["/api/v1/value-reviews/{id}/decision/"]
    write = components["InitiativeWriteRequest"]["properties"]
    assert write["predicted_annual_value"]["pattern"] == r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
    assert {"contract_status", "contract_to_review", "value_currency"} <= set(
        components["InitiativeDetail"]["properties"])
    assert components["MeasurementInputRequest"]["additionalProperties"] is False
