"""API v1, stalled pilots and the kill log: the pages' filters and permissions, the decision
through the service, field errors, bounded queries.

Time is frozen at ``NOW`` (Monday 2 Nov 2026, 09:00 UTC).
"""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portfolio.models import Activity, Initiative, Stage, StageTransition, StallFlag
from portfolio.pilots.digest.subscriptions import digest_subscription_set
from portfolio.pilots.services import (
    EXTEND_DATE_IN_PAST,
    EXTEND_NEEDS_JUSTIFICATION,
    stall_decide,
)
from tests.clients import client_for
from tests.factories import (
    FIXED_NOW,
    InitiativeFactory,
    StallFlagFactory,
    TeamFactory,
    UserFactory,
    approve_all_checkpoints,
    measure,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = FIXED_NOW
LIST = "/api/v1/stalls/"
KILL_LOG = "/api/v1/kill-log/"
KILL = {"decision": "kill", "retirement_reason": "value_not_proven",
        "retirement_lessons": "The baseline was already good enough."}
EXTEND = {"decision": "extend", "note": "The data arrives in December.",
          "extend_until": "2026-12-15"}


@pytest.fixture(autouse=True)
def thresholds(settings):
    settings.PILOT_MAX_DAYS, settings.PILOT_IDLE_DAYS, settings.STALL_ESCALATE_WEEKS = 90, 21, 2


def detail(flag):
    return f"/api/v1/stalls/{flag.pk}/"


def decide(flag):
    return f"/api/v1/stalls/{flag.pk}/decide/"


def days_ago(days):
    return NOW - timedelta(days=days)


def stall(title="Claims triage copilot", *, owner, team=None, in_pilot=100, idle=1, flagged=14,
          reason="too_long", initiative_fields=None, **flag):
    initiative = InitiativeFactory(title=title, owner=owner, team=team or TeamFactory(),
                                   stage=Stage.PILOT, contracted=True,
                                   stage_changed_at=days_ago(in_pilot),
                                   last_activity_at=days_ago(idle), **(initiative_fields or {}))
    return StallFlagFactory(initiative=initiative, reason=reason, flagged_at=days_ago(flagged),
                            **flag)


@pytest.fixture
def teams(db):
    return {"claims": TeamFactory(name="Claims", slug="claims"),
            "finance": TeamFactory(name="Finance", slug="finance")}


@pytest.fixture
def flag(pm, teams):
    """An undecided stall on the PM's pilot: 120 days in pilot, idle 30, flagged 22 days ago."""
    sponsor = UserFactory(username="sponsor", first_name="Sam", last_name="Sponsor")
    return stall(owner=pm, team=teams["claims"], in_pilot=120, idle=30, flagged=22,
                 reason="too_long", initiative_fields={"sponsor": sponsor})


def unchanged(flag):
    """The flag and its pilot exactly as set up: nothing decided, nothing moved."""
    flag.refresh_from_db()
    flag.initiative.refresh_from_db()
    return (flag.decision == "" and flag.resolved_at is None
            and flag.initiative.stage == Stage.PILOT
            and not Activity.objects.filter(kind=Activity.Kind.STALL_DECIDED).exists())


# --- Who may read, who may decide ------------------------------------------------------------

def test_anonymous_requests_get_401(flag):
    client = client_for()

    assert client.get(LIST).status_code == 401
    assert client.get(detail(flag)).status_code == 401
    assert client.post(decide(flag), KILL, format="json").status_code == 401
    assert client.get(KILL_LOG).status_code == 401
    assert unchanged(flag)


def test_outsiders_get_404_on_everything(outsider, flag):
    client = client_for(outsider)

    assert client.get(LIST).status_code == 404
    assert client.get(detail(flag)).status_code == 404
    assert client.post(decide(flag), KILL, format="json").status_code == 404
    assert client.get(KILL_LOG).status_code == 404
    assert unchanged(flag)


@pytest.mark.parametrize("persona", ["pm", "other_pm", "reviewer", "tpm", "leader", "staff"])
def test_every_role_reads_the_stalls_and_the_kill_log(request, persona, flag):
    client = client_for(request.getfixturevalue(persona))

    assert client.get(LIST).status_code == 200
    assert client.get(detail(flag)).status_code == 200
    assert client.get(KILL_LOG).status_code == 200


def test_a_stall_shows_its_pilot_ages_and_decision_state(leader, flag):
    response = client_for(leader).get(LIST)

    assert response.status_code == 200
    assert response.json()["count"] == 1
    row = response.json()["results"][0]
    assert row["id"] == flag.pk
    assert row["initiative"]["title"] == "Claims triage copilot"
    assert row["initiative"]["team"]["slug"] == "claims"
    assert row["initiative"]["owner"]["username"] == "owner-pm"
    assert row["initiative"]["sponsor"]["username"] == "sponsor"
    # Idle 30 days now: the reason is today's, not the one it was flagged with.
    assert row["reason"] == "too_long_and_idle"
    assert (row["days_in_pilot"], row["days_idle"], row["weeks_undecided"]) == (120, 30, 3)
    assert row["decision"] == ""
    assert row["decided_by"] is None
    assert row["resolution"] == ""
    assert row["resolved_at"] is None
    assert row["escalated_at"] is None
    assert row["extended_until"] is None
    assert client_for(leader).get(detail(flag)).json() == row


def test_an_unknown_stall_is_404(leader, pm):
    assert client_for(leader).get("/api/v1/stalls/999999/").status_code == 404
    assert client_for(pm).post("/api/v1/stalls/999999/decide/", KILL,
                               format="json").status_code == 404


@pytest.mark.parametrize("persona", ["pm", "tpm", "staff"])
def test_the_owner_a_tpm_or_an_admin_decides(request, persona, flag):
    user = request.getfixturevalue(persona)

    response = client_for(user).post(decide(flag), EXTEND, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["decision"], body["resolution"]) == ("extend", "extended")
    assert body["decided_by"]["username"] == user.username
    assert body["extended_until"] == "2026-12-15"
    assert body["decision_note"] == "The data arrives in December."
    assert body["weeks_undecided"] is None


@pytest.mark.parametrize("persona", ["other_pm", "reviewer", "leader"])
def test_anyone_else_is_refused_with_403_and_nothing_changes(request, persona, flag):
    response = client_for(request.getfixturevalue(persona)).post(decide(flag), KILL,
                                                                 format="json")

    assert response.status_code == 403
    assert "owner, a TPM or an admin" in response.json()["message"]
    assert unchanged(flag)


# --- Each decision ---------------------------------------------------------------------------

def test_kill_retires_the_pilot_into_the_kill_log(pm, leader, flag):
    response = client_for(pm).post(decide(flag), {**KILL, "note": "Not worth it."},
                                   format="json")

    assert response.status_code == 200
    assert (response.json()["decision"], response.json()["resolution"]) == ("kill", "killed")
    initiative = Initiative.objects.get(pk=flag.initiative_id)
    assert initiative.stage == Stage.RETIRED
    assert initiative.retirement_reason == "value_not_proven"
    logged = client_for(leader).get(KILL_LOG).json()["results"]
    assert len(logged) == 1
    entry = logged[0]
    assert entry["id"] == initiative.pk
    assert entry["retirement_reason"] == "value_not_proven"
    assert entry["retirement_lessons"] == "The baseline was already good enough."
    assert entry["retired_by"] == {"username": "owner-pm", "name": "Olive Owner"}
    assert entry["retired_note"] == "Not worth it."
    assert entry["retired_at"] == "2026-11-02T09:00:00Z"
    assert entry["team"]["slug"] == "claims"


def test_extend_silences_the_pilot_until_the_new_date(tpm, flag):
    response = client_for(tpm).post(decide(flag), EXTEND, format="json")

    assert response.status_code == 200
    flag.refresh_from_db()
    flag.initiative.refresh_from_db()
    assert flag.resolution == "extended"
    assert flag.extended_until == date(2026, 12, 15)
    assert flag.initiative.decision_date == date(2026, 12, 15)
    assert client_for(tpm).get(LIST).json()["count"] == 0
    extended = client_for(tpm).get(LIST, {"state": "extended"}).json()["results"]
    assert [row["id"] for row in extended] == [flag.pk]


def test_scale_while_the_gate_is_blocked_records_the_request_and_what_blocks_it(pm, flag):
    response = client_for(pm).post(decide(flag), {"decision": "scale"}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["decision"] == "scale"
    assert body["resolution"] == ""
    assert body["resolved_at"] is None
    assert body["decision_note"].startswith("Waiting on: ")
    assert Initiative.objects.get(pk=flag.initiative_id).stage == Stage.PILOT
    waiting = client_for(pm).get(LIST, {"state": "waiting"}).json()["results"]
    assert [row["id"] for row in waiting] == [flag.pk]


def test_scale_with_the_gate_open_moves_the_pilot_to_production(pm, reviewer, teams):
    flag = stall(owner=pm, team=teams["claims"])
    measure(flag.initiative, 36, on=date(2026, 10, 26))  # meets the 35% target in the window
    approve_all_checkpoints(flag.initiative, reviewer=reviewer)

    response = client_for(pm).post(decide(flag), {"decision": "scale"}, format="json")

    assert response.status_code == 200
    assert (response.json()["decision"], response.json()["resolution"]) == ("scale", "moved")
    assert Initiative.objects.get(pk=flag.initiative_id).stage == Stage.PRODUCTION


# --- Bad input ---------------------------------------------------------------------------------

# 400: the body is not what the schema says; 409: a rule of ``stall_decide`` refused it.
@pytest.mark.parametrize(("body", "field", "message", "status"), [
    ({}, "decision", None, 400),
    ({"decision": "nuke"}, "decision", None, 400),
    ({"decision": "extend", "extend_until": "2026-12-15"}, "note", EXTEND_NEEDS_JUSTIFICATION,
     409),
    ({"decision": "extend", "note": "Late data."}, "extend_until", None, 409),
    ({"decision": "extend", "note": "Late data.", "extend_until": "2026-11-01"},
     "extend_until", EXTEND_DATE_IN_PAST, 409),
    ({"decision": "extend", "note": "Late data.", "extend_until": "2027-12-01"},
     "extend_until", None, 409),
    ({"decision": "extend", "note": "Late data.", "extend_until": "soon"}, "extend_until", None,
     400),
    ({"decision": "kill", "retirement_reason": "value_not_proven"}, "retirement_lessons", None,
     409),
    ({"decision": "kill", "retirement_reason": "bored", "retirement_lessons": "x"},
     "retirement_reason", None, 400),
    ({"decision": "extend", "note": "x" * 2001, "extend_until": "2026-12-15"}, "note", None,
     400),
])
def test_bad_input_is_a_field_error_and_changes_nothing(pm, flag, body, field, message, status):
    response = client_for(pm).post(decide(flag), body, format="json")

    assert response.status_code == status
    errors = response.json()["fields"]
    assert field in errors, errors
    if message:
        assert errors[field] == [message]
    assert unchanged(flag)


def test_a_stall_resolved_meanwhile_is_refused_on_decision(pm, tpm, flag):
    stall_decide(flag=flag, decision="extend", actor=tpm, now=NOW, note="Data late.",
                 extend_until=date(2026, 12, 1))

    response = client_for(pm).post(decide(flag), KILL, format="json")

    assert response.status_code == 409
    assert "already resolved" in response.json()["fields"]["decision"][0]
    flag.refresh_from_db()
    assert flag.decision == "extend"
    assert Initiative.objects.get(pk=flag.initiative_id).stage == Stage.PILOT


# --- Filters -----------------------------------------------------------------------------------

def test_the_list_filters_like_the_page(leader, pm, other_pm, teams, flag):
    idle = stall("Invoice matcher", owner=other_pm, team=teams["finance"], in_pilot=40,
                 idle=35, flagged=15, reason="idle", escalated_at=days_ago(1))
    client = client_for(leader)

    def ids(**params):
        response = client.get(LIST, params)
        assert response.status_code == 200
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [flag.pk, idle.pk]  # longest flagged first
    assert ids(team="finance") == [idle.pk]
    assert ids(reason="idle") == [idle.pk]
    assert ids(reason="too_long_and_idle") == [flag.pk]
    assert ids(state="escalated") == [idle.pk]
    assert ids(state="undecided") == [flag.pk, idle.pk]
    assert ids(state="waiting") == []


def test_a_tpm_sees_only_the_teams_they_follow(tpm, other_pm, teams, flag):
    finance = stall("Invoice matcher", owner=other_pm, team=teams["finance"])
    digest_subscription_set(user=tpm, teams=[teams["finance"]], opted_out=False, now=NOW)

    response = client_for(tpm).get(LIST, {"followed": "true"})

    assert [row["id"] for row in response.json()["results"]] == [finance.pk]


@pytest.mark.parametrize(("params", "field", "status"), [
    ({"state": "sleeping"}, "state", 400), ({"reason": "bored"}, "reason", 400),
    ({"team": "nowhere"}, "team", 404),  # well-formed, names no team
])
def test_a_bad_filter_is_a_field_error(leader, params, field, status):
    response = client_for(leader).get(LIST, params)

    assert response.status_code == status
    assert field in response.json()["fields"]


def test_the_kill_log_is_searchable_like_the_page(leader, teams):
    InitiativeFactory(title="Contract summariser", team=teams["claims"], stage=Stage.RETIRED,
                      retirement_reason="cost", retirement_lessons="GPU bills ate the savings.",
                      stage_changed_at=days_ago(3))
    InitiativeFactory(title="Invoice matcher", team=teams["finance"], stage=Stage.RETIRED,
                      retirement_reason="data_not_ready", retirement_lessons="No labels.",
                      stage_changed_at=days_ago(1))
    InitiativeFactory(title="Still running", team=teams["claims"], stage=Stage.PILOT)
    client = client_for(leader)

    def titles(**params):
        response = client.get(KILL_LOG, params)
        assert response.status_code == 200
        return [row["title"] for row in response.json()["results"]]

    assert titles() == ["Invoice matcher", "Contract summariser"]  # newest first
    assert titles(q="gpu") == ["Contract summariser"]
    assert titles(reason="data_not_ready") == ["Invoice matcher"]
    assert titles(team="claims") == ["Contract summariser"]
    imported = client.get(KILL_LOG, {"team": "claims"}).json()["results"][0]
    assert imported["retired_by"] is None  # retired without a recorded move


@pytest.mark.parametrize(("params", "field", "status"), [
    ({"reason": "bored"}, "reason", 400), ({"q": "x" * 201}, "q", 400),
    ({"team": "nowhere"}, "team", 404),
])
def test_a_bad_kill_log_filter_is_a_field_error(leader, params, field, status):
    response = client_for(leader).get(KILL_LOG, params)

    assert response.status_code == status
    assert field in response.json()["fields"]


# --- Bounded queries and the schema ------------------------------------------------------------

def test_stall_list_queries_do_not_grow_with_the_page(tpm):
    client = client_for(tpm)
    client.get(LIST)  # the viewer's roles are read once per request user, then cached
    decider = UserFactory(roles=["tpm"])

    def queries_for(count):
        for _ in range(count):
            flag = stall(owner=UserFactory(roles=["pm"]),
                         initiative_fields={"sponsor": UserFactory()})
            StallFlag.objects.filter(pk=flag.pk).update(
                decision="scale", decided_by=decider, decided_at=NOW,
                decision_note="Waiting on: a measured result")
        with CaptureQueriesContext(connection) as captured:
            response = client.get(LIST, {"page_size": 100, "followed": "true"})
            assert response.status_code == 200
            assert response.json()["count"] == count + before
        return len(captured)

    before = 0
    first = queries_for(3)
    before = 3
    assert first == queries_for(40)


def test_kill_log_queries_do_not_grow_with_the_page(leader):
    client = client_for(leader)
    client.get(KILL_LOG)
    actor = UserFactory(roles=["pm"])

    def queries_for(count):
        for initiative in InitiativeFactory.create_batch(
                count, stage=Stage.RETIRED, retirement_reason="cost",
                retirement_lessons="Too dear."):
            StageTransition.objects.create(initiative=initiative, from_stage=Stage.PILOT,
                                           to_stage=Stage.RETIRED, actor=actor, at=NOW)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(KILL_LOG, {"page_size": 100}).status_code == 200
        return len(captured)

    assert queries_for(3) == queries_for(40)


def test_the_schema_documents_the_endpoints_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file",
                 str(tmp_path / "schema.yaml"))

    schema = (tmp_path / "schema.yaml").read_text()
    for path in ("/api/v1/stalls/:", "/api/v1/stalls/{id}/:", "/api/v1/stalls/{id}/decide/:",
                 "/api/v1/kill-log/:"):
        assert path in schema
    assert "No `If-Match`" in schema


# --- What "admin" means: the admin's permissions, never is_staff alone ------------------------

def test_a_staff_account_without_permissions_cannot_decide_a_stall(flag):
    bare_staff = UserFactory(username="bare-staff", is_staff=True)

    response = client_for(bare_staff).post(decide(flag), KILL, format="json")

    assert response.status_code == 404  # it reads nothing of the portfolio either
    assert Initiative.objects.get(pk=flag.initiative_id).stage == Stage.PILOT
    assert StallFlag.objects.get(pk=flag.pk).decision == ""


def test_a_staff_account_that_may_only_read_cannot_decide_a_stall(flag):
    reader = UserFactory(username="reading-staff", is_staff=True,
                         permissions=["portfolio.view_initiative"])

    response = client_for(reader).post(decide(flag), KILL, format="json")

    assert response.status_code == 403
    assert Initiative.objects.get(pk=flag.initiative_id).stage == Stage.PILOT


def test_an_admin_with_the_stall_permission_decides(staff, flag):
    response = client_for(staff).post(decide(flag), KILL, format="json")

    assert response.status_code == 200
    assert Initiative.objects.get(pk=flag.initiative_id).stage == Stage.RETIRED
