"""One way an initiative comes to exist: intake, the API, the admin and the CSV import all
log it through ``services.initiatives_create`` (issue 16, item 3)."""

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from governance.models import Checkpoint
from portfolio import services
from portfolio.access import NOT_AN_OWNER
from portfolio.exceptions import DomainError
from portfolio.models import Activity, Initiative, InitiativeTerm, Stakeholder
from tests.clients import client_for
from tests.factories import FIXED_NOW, TeamFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

TITLE = "Warranty claim classifier"
SUMMARY = "Sort warranty claims by defect and route them to the right repair partner."
# A profile that needs checkpoints, so that they are part of what is compared.
PROFILE = {"category": "workflow_automation", "risk_tier": "high",
           "autonomy_level": "human_in_the_loop"}


@pytest.fixture
def team(db):
    return TeamFactory(name="Claims Operations", slug="claims-ops")


def _log_at_intake(client, pm, team) -> Initiative:
    client.force_login(pm)
    data = {"title": TITLE, "summary": SUMMARY, "team": team.pk, "owner": pm.pk,
            "uses_personal_data": "on", "customer_facing": "on", **PROFILE}
    response = client.post("/initiatives/new/", data)
    if response.status_code == 200:   # the import's twin is suggested: confirm it is distinct
        checked = response.context["form"]["checked"].value()
        response = client.post("/initiatives/new/",
                               {**data, "checked": checked, "confirm_distinct": "on"})
    assert response.status_code == 302
    return Initiative.objects.get(pk=response["Location"].strip("/").split("/")[-1])


def _log_by_api(pm, team) -> Initiative:
    response = client_for(pm).post("/api/v1/initiatives/", {
        "title": TITLE, "summary": SUMMARY, "team": team.slug, "uses_personal_data": True,
        "customer_facing": True, **PROFILE}, format="json")
    assert response.status_code == 201, response.data
    return Initiative.objects.get(pk=response.json()["id"])


def _log_by_import(client, pm, team) -> Initiative:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Title", "Summary", "Category", "Team", "Uses personal data",
                     "Customer facing", "Autonomy level", "Risk tier"])
    writer.writerow([TITLE, SUMMARY, PROFILE["category"], team.slug, "yes", "yes",
                     PROFILE["autonomy_level"], PROFILE["risk_tier"]])
    client.force_login(pm)
    response = client.post("/initiatives/import/", {"file": SimpleUploadedFile(
        "initiatives.csv", out.getvalue().encode(), content_type="text/csv")})
    assert response.status_code == 302
    return Initiative.objects.latest("pk")


def _story(initiative: Initiative) -> dict:
    """What logging left behind, without the initiative's own id or where it came from."""
    fields = ["title", "summary", "team_id", "owner_id", "created_by_id", "stage", "version",
              "health", "created_at", "updated_at", "stage_changed_at", "last_activity_at",
              "uses_personal_data", "customer_facing", "autonomy_level", "risk_tier"]
    checkpoints = Checkpoint.objects.filter(initiative=initiative)
    return {
        "fields": {name: getattr(initiative, name) for name in fields},
        "history": [(h.history_type, h.history_user_id, h.history_date, h.stage, h.owner_id)
                    for h in initiative.history.all()],
        "stakeholders": sorted(Stakeholder.objects.filter(initiative=initiative)
                               .values_list("user_id", "role")),
        "stakeholder history": sorted(
            Stakeholder.history.filter(initiative_id=initiative.pk)
            .values_list("history_type", "history_user_id", "history_date", "user_id", "role")),
        "activity": [(a.kind, a.actor_id, a.at, _comparable(a.details))
                     for a in Activity.objects.filter(initiative=initiative)],
        "index terms": sorted(InitiativeTerm.objects.filter(initiative=initiative)
                              .values_list("term", "word", "in_title")),
        "checkpoints": sorted(checkpoints.values_list(
            "type__code", "status", "requested_at", "due_date", "retired_at")),
        "checkpoint history": sorted(
            Checkpoint.history.filter(initiative_id=initiative.pk)
            .values_list("history_type", "history_user_id", "history_date", "type_id")),
    }


def _comparable(details: dict) -> dict:
    """An activity's details without what differs by path or by row: the source, and the
    ids of the checkpoints a review request names (their names stay)."""
    details = {k: v for k, v in details.items() if k != "source"}
    if "checkpoints" in details:
        details["checkpoints"] = [c["name"] if isinstance(c, dict) else c
                                  for c in details["checkpoints"]]
    return details


def test_an_imported_initiative_ends_as_one_logged_at_intake_or_by_the_api(client, pm, team):
    imported = _log_by_import(client, pm, team)
    at_intake = _log_at_intake(client, pm, team)
    by_api = _log_by_api(pm, team)
    # As the demo and scripts log one, outside any request.
    by_call = services.initiative_create(actor=pm, now=FIXED_NOW, title=TITLE, summary=SUMMARY,
                                         team=team, uses_personal_data=True,
                                         customer_facing=True, **PROFILE)

    story = _story(at_intake)
    assert story["checkpoints"]   # something to compare
    assert story["index terms"]
    assert story["stakeholders"] == [(pm.pk, "A")]
    assert story["stakeholder history"] == [("+", pm.pk, FIXED_NOW, pm.pk, "A")]
    assert _story(imported) == story
    assert _story(by_api) == story
    assert _story(by_call) == story
    # Only where it came from differs: the import says so on the timeline and in history.
    assert [a.details for a in imported.activities.filter(kind="created")] == [
        {"source": "csv"}]
    assert [a.details for a in at_intake.activities.filter(kind="created")] == [{}]
    assert ({h.history_change_reason for h in imported.history.all()}
            | {h.history_change_reason for h in
               Stakeholder.history.filter(initiative_id=imported.pk)}) == {"Imported from CSV"}


def test_logging_many_initiatives_takes_as_many_queries_as_logging_one(
        pm, team, django_assert_num_queries):
    def rows(count):
        return [{"title": f"Claims copilot {n}", "summary": "Drafts replies to claimants.",
                 "team": team, "uses_personal_data": True} for n in range(count)]

    # A savepoint (the test's transaction is around it); the owners' eligibility; the
    # initiatives and their history rows; the Accountable stakeholders and their history
    # rows; the activities; the standings' stale mark; the index (a savepoint, clearing old
    # terms, the new terms, its release); the checkpoints (a savepoint, the catalogue, the
    # existing ones, the new ones — a COPY on PostgreSQL, which Django's cursor does not
    # count — and their history rows, the stale mark, the reviewer routes, the new
    # checkpoints' ids, then one "review requested" event per initiative: its stale mark,
    # its insert, and its fan-out to the reviewers (the initiatives, their Responsible
    # people, the reviewers, those barred from deciding, the teams' channels: no reviewer
    # here, so nobody to write to), its release); the release.
    queries = 28 if connection.vendor == "postgresql" else 29
    for count in (1, 20):
        with django_assert_num_queries(queries):
            created = services.initiatives_create(rows=rows(count), actor=pm, now=FIXED_NOW)
        assert len(created) == count

    assert Initiative.objects.count() == Stakeholder.objects.count() == 21
    assert Activity.objects.filter(kind="created").count() == 21


def test_every_owner_named_must_be_able_to_own_and_then_nothing_is_logged(pm, reviewer, team):
    with pytest.raises(DomainError) as refused:
        services.initiatives_create(rows=[{"title": "Mine", "team": team},
                                          {"title": "Theirs", "team": team, "owner": reviewer}],
                                    actor=pm, now=FIXED_NOW)

    assert refused.value.message == NOT_AN_OWNER.format(name=reviewer.get_full_name())
    assert not Initiative.objects.exists()


@pytest.mark.parametrize("field", ["stage", "version", "created_at", "last_activity_at"])
def test_a_new_initiative_starts_as_an_idea_whatever_a_row_says(pm, team, field):
    with pytest.raises(DomainError, match=field):
        services.initiatives_create(rows=[{"title": "Pilot already", "team": team,
                                           field: None}], actor=pm, now=FIXED_NOW)

    assert not Initiative.objects.exists()


def test_a_row_without_a_team_or_title_is_refused(pm, team):
    with pytest.raises(ValidationError) as refused:
        services.initiatives_create(rows=[{"title": "Fine", "team": team}, {"title": ""}],
                                    actor=pm, now=FIXED_NOW)

    assert set(refused.value.message_dict) == {"title", "team"}
    assert not Initiative.objects.exists()
