"""API v1, checkpoints: the review queue for every role, and a reviewer's decisions with the
browser's rules (segregation of duties, evidence, waiver limits), optimistic locking with
ETag / If-Match, one error shape, bounded queries and a warning-free schema."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance.models import Checkpoint, CheckpointType
from governance.services import EVIDENCE_NEEDED, NOT_A_REVIEWER, OWN_INITIATIVE
from portfolio.models import Activity
from tests.clients import client_for
from tests.factories import InitiativeFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/checkpoints/"
TODAY = timezone.localdate


def detail(checkpoint):
    return f"/api/v1/checkpoints/{checkpoint.pk}/"


def etag(checkpoint):
    return f'"{checkpoint.pk}-{checkpoint.version}"'


def _type(code="pen-test-review", name="Pen test review", required_for="pilot"):
    return CheckpointType.objects.get_or_create(code=code, defaults={
        "name": name, "description": "Threat model, pen test, secrets handling.",
        "nist_function": "manage", "required_for": required_for})[0]


def _checkpoint(initiative=None, *, checkpoint_type=None, status="not_started", due_in=10,
                **fields):
    # In assessment, a checkpoint gating pilot is due for review now (in the queue).
    return Checkpoint.objects.create(
        initiative=initiative or InitiativeFactory(stage="assessment"),
        type=checkpoint_type or _type(), status=status,
        requested_at=timezone.now() - timedelta(days=5),
        due_date=TODAY() + timedelta(days=due_in), **fields)


@pytest.fixture
def owned(pm):
    """A checkpoint on the PM's initiative, in the claims team."""
    initiative = InitiativeFactory(owner=pm, stage="assessment", title="Claims triage assistant",
                                   team=TeamFactory(slug="claims", name="Claims"))
    return _checkpoint(initiative)


@pytest.fixture
def reviewing_owner(db):
    """A reviewer who is also a PM: independent on others' work, never on their own."""
    return UserFactory(username="reviewing-owner", roles=["reviewer", "pm"])


def snapshot(checkpoint):
    checkpoint = Checkpoint.objects.get(pk=checkpoint.pk)
    return (checkpoint.status, checkpoint.version, checkpoint.reviewer_id,
            checkpoint.decided_at, checkpoint.evidence_notes, checkpoint.waiver_expires_on,
            checkpoint.history.count(), Activity.objects.count())


# --- Reads ----------------------------------------------------------------------------------

def test_anonymous_requests_get_401_in_the_error_shape(owned):
    client = client_for()

    for response in (client.get(LIST), client.get(detail(owned)),
                     client.post(f"{detail(owned)}start-review/", HTTP_IF_MATCH=etag(owned))):
        assert response.status_code == 401
        assert set(response.json()) >= {"message", "code"}


def test_outsiders_get_404_for_the_queue_a_checkpoint_and_decisions(outsider, owned):
    client = client_for(outsider)
    before = snapshot(owned)

    assert client.get(LIST).status_code == 404
    assert client.get(detail(owned)).status_code == 404
    assert client.post(f"{detail(owned)}start-review/",
                       HTTP_IF_MATCH=etag(owned)).status_code == 404
    assert snapshot(owned) == before


def test_a_missing_checkpoint_is_404(reviewer):
    assert client_for(reviewer).get("/api/v1/checkpoints/999999/").status_code == 404


@pytest.mark.parametrize("persona", ["pm", "other_pm", "reviewer", "tpm", "leader", "superuser"])
def test_every_role_reads_the_queue_and_a_checkpoint_with_its_etag(request, persona, owned):
    client = client_for(request.getfixturevalue(persona))

    listed = client.get(LIST)
    one = client.get(detail(owned))

    assert listed.status_code == 200
    [row] = listed.json()["results"]
    assert row["id"] == owned.pk
    assert row["initiative"]["title"] == "Claims triage assistant"
    assert row["initiative"]["team"]["slug"] == "claims"
    assert row["initiative"]["stage"] == "assessment"
    assert row["type"] == {"code": "pen-test-review", "name": "Pen test review",
                           "required_for": "pilot"}
    assert (row["status"], row["reviewer"], row["version"]) == ("not_started", None, 1)
    assert one.status_code == 200
    assert one["ETag"] == etag(owned)
    assert one.json() == row


def test_an_unchanged_checkpoint_is_not_sent_again(leader, owned):
    response = client_for(leader).get(detail(owned), HTTP_IF_NONE_MATCH=etag(owned))

    assert response.status_code == 304
    assert response["ETag"] == etag(owned)


def test_the_queue_has_the_pages_rows_order_and_filters(leader, reviewer):
    claims = TeamFactory(slug="claims")
    dpia = _type(code="dpia", name="DPIA")
    later = _checkpoint(InitiativeFactory(stage="assessment", team=claims), due_in=20)
    overdue = _checkpoint(InitiativeFactory(stage="assessment"), due_in=-3)
    rejected = _checkpoint(InitiativeFactory(stage="assessment", team=claims), due_in=2,
                           checkpoint_type=dpia, status="rejected", reviewer=reviewer,
                           decided_at=timezone.now())
    _checkpoint(InitiativeFactory(stage="assessment"), status="approved", reviewer=reviewer,
                decided_at=timezone.now())
    _checkpoint(InitiativeFactory(stage="assessment"), retired_at=timezone.now())
    _checkpoint(InitiativeFactory(stage="idea"))  # gates a later stage: upcoming, not due
    client = client_for(leader)

    def ids(**params):
        response = client.get(LIST, params)
        assert response.status_code == 200
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [overdue.pk, rejected.pk, later.pk]
    assert ids(status="overdue") == [overdue.pk]
    assert ids(status="rejected") == [rejected.pk]
    assert ids(team="claims") == [rejected.pk, later.pk]
    assert ids(type="dpia") == [rejected.pk]
    rows = client.get(LIST).json()["results"]
    assert [row["overdue"] for row in rows] == [True, False, False]
    assert rows[1]["reviewer"]["username"] == "a-reviewer"


def test_the_queue_rows_are_the_serializer_json_field_for_field(leader, reviewer):
    """The list builds its JSON from ``.values()`` rows; CheckpointSerializer over the same
    checkpoints as model instances gives the same JSON (overdue or not, with and without
    a reviewer, an expired waiver with its dates and justification)."""
    from governance.api import CheckpointSerializer

    _checkpoint(due_in=-3)
    _checkpoint(status="rejected", reviewer=reviewer, decided_at=timezone.now(),
                evidence_url="https://wiki/pen-test", evidence_notes="Two findings open.")
    _checkpoint(status="waived", reviewer=reviewer, decided_at=timezone.now(),
                waiver_justification="Vendor attested.",
                waiver_expires_on=TODAY() - timedelta(days=1))
    _checkpoint(status="in_review", reviewer=UserFactory(username="rev", first_name="Rae",
                                                         last_name="Vance", is_active=False))

    rows = client_for(leader).get(LIST).json()["results"]

    checkpoints = Checkpoint.objects.in_bulk([row["id"] for row in rows])
    assert rows == CheckpointSerializer([checkpoints[row["id"]] for row in rows], many=True,
                                        context={"today": TODAY()}).data
    assert len(rows) == 4


def test_the_queue_pages_by_cursor_with_its_stored_count(leader):
    checkpoint_type = _type()
    made = [_checkpoint(InitiativeFactory(stage="assessment", title=f"Initiative {n % 3}"),
                        checkpoint_type=checkpoint_type, due_in=n % 4 - 1) for n in range(11)]
    client = client_for(leader)

    body = client.get(LIST, {"page_size": 4}).json()
    walked = [row["id"] for row in body["results"]]
    while body["next"]:
        body = client.get(body["next"]).json()
        walked += [row["id"] for row in body["results"]]

    assert sorted(walked) == sorted(checkpoint.pk for checkpoint in made)
    assert len(set(walked)) == len(walked)
    first = client.get(LIST, {"page_size": 4}).json()
    assert (first["count"], first["count_exact"]) == (11, True)


def test_a_bad_filter_is_a_field_error(leader):
    response = client_for(leader).get(LIST, {"status": "nonsense"})

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"status"}


@pytest.mark.parametrize("params", [{"team": "nowhere"}, {"type": "no-such-type"}])
def test_a_filter_naming_nothing_is_a_404_naming_the_field(leader, params):
    response = client_for(leader).get(LIST, params)

    assert response.status_code == 404
    assert set(response.json()["fields"]) == set(params)


def test_list_queries_do_not_grow_with_the_page(leader, reviewer):
    client = client_for(leader)
    client.get(LIST)  # the viewer's roles are read once per request user, then cached
    checkpoint_type = _type()

    def queries_for(count):
        for _ in range(count):
            _checkpoint(InitiativeFactory(stage="assessment"), checkpoint_type=checkpoint_type,
                        status="in_review", reviewer=reviewer)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(LIST, {"page_size": 100})
        assert response.status_code == 200
        return len(captured)

    assert queries_for(3) == queries_for(40)


# --- Who decides ---------------------------------------------------------------------------

ACTIONS = {
    "start-review": None,
    "decide": {"status": "approved", "evidence_notes": "Pen test report clean."},
    "waive": {"justification": "Vendor attested; internal test booked.",
              "expires_on": "+30"},
}


def _body(action):
    body = ACTIONS[action]
    if body and body.get("expires_on") == "+30":
        body = {**body, "expires_on": (TODAY() + timedelta(days=30)).isoformat()}
    return body


def _post(user, checkpoint, action, body=None, *, if_match=True):
    headers = {"HTTP_IF_MATCH": etag(checkpoint)} if if_match is True else (
        {"HTTP_IF_MATCH": if_match} if if_match else {})
    return client_for(user).post(f"{detail(checkpoint)}{action}/",
                                 body if body is not None else _body(action), format="json",
                                 **headers)


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize(("persona", "expected"), [
    ("anonymous", 401), ("outsider", 404), ("pm", 403), ("other_pm", 403), ("tpm", 403),
    ("leader", 403), ("superuser", 403), ("reviewing_owner", 403), ("reviewing_sponsor", 403),
    ("reviewer", 200),
])
def test_only_an_independent_reviewer_acts_and_a_refusal_changes_nothing(
        request, pm, action, persona, expected):
    reviewing_owner = request.getfixturevalue("reviewing_owner")
    initiative = InitiativeFactory(
        stage="assessment", sponsor=reviewing_owner if persona == "reviewing_sponsor" else None,
        owner=reviewing_owner if persona == "reviewing_owner" else pm)
    checkpoint = _checkpoint(initiative)
    user = (None if persona == "anonymous" else reviewing_owner
            if persona == "reviewing_sponsor" else request.getfixturevalue(persona))
    before = snapshot(checkpoint)

    response = _post(user, checkpoint, action)

    assert response.status_code == expected
    if expected == 200:
        assert response.json()["version"] == 2
        assert response["ETag"] == f'"{checkpoint.pk}-2"'
        assert response.json()["reviewer"]["username"] == "a-reviewer"
    else:
        assert snapshot(checkpoint) == before
        if expected == 403:
            assert response.json()["message"] == (
                OWN_INITIATIVE if persona.startswith("reviewing_") else NOT_A_REVIEWER)


def test_a_reviewer_takes_a_checkpoint_then_approves_it(reviewer, owned):
    started = _post(reviewer, owned, "start-review")
    owned.refresh_from_db()
    decided = client_for(reviewer).post(
        f"{detail(owned)}decide/", {"status": "approved", "evidence_url":
                                    "https://wiki.example.com/pentest"},
        format="json", HTTP_IF_MATCH=started["ETag"])

    assert started.status_code == 200
    assert started.json()["status"] == "in_review"
    assert decided.status_code == 200
    body = decided.json()
    assert (body["status"], body["version"], body["evidence_url"]) == (
        "approved", 3, "https://wiki.example.com/pentest")
    assert body["decided_at"] is not None
    assert decided["ETag"] == f'"{owned.pk}-3"'
    assert Activity.objects.filter(kind=Activity.Kind.CHECKPOINT_DECIDED).count() == 1
    assert not client_for(reviewer).get(LIST).json()["results"]  # cleared: off the queue


def test_a_reviewer_rejects_and_waives(reviewer, owned):
    rejected = _post(reviewer, owned, "decide", {"status": "rejected",
                                                 "evidence_notes": "Secrets in the repo."})
    owned.refresh_from_db()
    expires = TODAY() + timedelta(days=60)
    waived = _post(reviewer, owned, "waive", {"justification": "Rotated; re-test booked.",
                                              "expires_on": expires.isoformat()})

    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert waived.status_code == 200
    assert (waived.json()["status"], waived.json()["waiver_expires_on"],
            waived.json()["waiver_justification"]) == ("waived", expires.isoformat(),
                                                        "Rotated; re-test booked.")


# --- Optimistic locking ---------------------------------------------------------------------

@pytest.mark.parametrize("action", list(ACTIONS))
def test_a_decision_needs_if_match_and_a_stale_one_overwrites_nothing(reviewer, owned, action):
    read = etag(owned)
    Checkpoint.objects.filter(pk=owned.pk).update(version=2)  # someone else acted meanwhile
    owned.refresh_from_db()
    before = snapshot(owned)

    missing = _post(reviewer, owned, action, if_match=False)
    stale = _post(reviewer, owned, action, if_match=read)
    any_version = _post(reviewer, owned, action, if_match="*")

    assert missing.status_code == 428
    assert missing.json()["code"] == "precondition_required"
    assert stale.status_code == 412
    assert stale.json()["code"] == "precondition_failed"
    assert "checkpoint changed" in stale.json()["message"]
    # "*" names no version: it would overwrite whatever changed meanwhile.
    assert any_version.status_code == 428
    assert "send the version you read" in any_version.json()["message"]
    assert snapshot(owned) == before


def test_two_reviewers_with_the_same_etag_one_wins(reviewer, owned):
    second = UserFactory(username="second-reviewer", roles=["reviewer"])
    read = etag(owned)

    first = _post(reviewer, owned, "decide", if_match=read)
    late = _post(second, owned, "decide", {"status": "rejected", "evidence_notes": "No."},
                 if_match=read)

    assert (first.status_code, late.status_code) == (200, 412)
    owned.refresh_from_db()
    assert (owned.status, owned.reviewer, owned.version) == ("approved", reviewer, 2)


# --- Validation -------------------------------------------------------------------------------

@pytest.mark.parametrize(("action", "body", "field", "code"), [
    ("decide", {"evidence_notes": "x"}, "status", "invalid"),
    ("decide", {"status": "waived", "evidence_notes": "x"}, "status", "invalid"),
    ("decide", {"status": "approved", "evidence_url": "not a url"}, "evidence_url", "invalid"),
    ("decide", {"status": "approved", "evidence_notes": "x" * 5001}, "evidence_notes",
     "invalid"),
    ("decide", {"status": "approved", "evidence_notes": "nul\x00byte"}, "evidence_notes",
     "invalid"),
    ("decide", {"status": "approved", "evidence_notes": "  "}, "evidence_notes", "refused"),
    ("waive", {"justification": "Ok."}, "expires_on", "invalid"),
    ("waive", {"justification": "Ok.", "expires_on": "31/12/2026"}, "expires_on", "invalid"),
    ("waive", {"expires_on": "+30"}, "justification", "invalid"),
    ("waive", {"justification": " ", "expires_on": "+30"}, "justification", "refused"),
    ("waive", {"justification": "Ok.", "expires_on": "today"}, "expires_on", "refused"),
    ("waive", {"justification": "Ok.", "expires_on": "+400"}, "expires_on", "refused"),
])
def test_bad_input_is_a_field_error_and_changes_nothing(reviewer, owned, action, body, field,
                                                        code):
    if body.get("expires_on") in ("+30", "+400", "today"):
        days = {"+30": 30, "+400": 400, "today": 0}[body["expires_on"]]
        body = {**body, "expires_on": (TODAY() + timedelta(days=days)).isoformat()}
    before = snapshot(owned)

    response = _post(reviewer, owned, action, body)

    # 400: the body is not what the schema says; 409: a rule of the service refused it.
    assert response.status_code == {"invalid": 400, "refused": 409}[code]
    assert response.json()["code"] == code
    assert field in response.json()["fields"]
    assert snapshot(owned) == before


def test_no_evidence_is_refused_with_the_services_message(reviewer, owned):
    response = _post(reviewer, owned, "decide", {"status": "approved"})

    assert response.status_code == 409
    assert response.json()["message"] == EVIDENCE_NEEDED


def test_a_decided_or_retired_checkpoint_is_refused_without_a_change(reviewer):
    approved = _checkpoint(status="approved", reviewer=reviewer, decided_at=timezone.now(),
                           evidence_notes="Done.")
    retired = _checkpoint(retired_at=timezone.now())
    before = snapshot(approved), snapshot(retired)

    again = _post(reviewer, approved, "start-review")
    gone = _post(reviewer, retired, "decide")

    assert (again.status_code, again.json()["code"]) == (409, "refused")
    assert "already approved" in again.json()["message"]
    assert (gone.status_code, gone.json()["code"]) == (409, "refused")
    assert (snapshot(approved), snapshot(retired)) == before


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_checkpoints_are_changed_only_by_their_actions(reviewer, owned, method):
    response = getattr(client_for(reviewer), method)(detail(owned), {}, format="json",
                                                     HTTP_IF_MATCH=etag(owned))

    assert response.status_code == 405


# --- The schema -------------------------------------------------------------------------------

def test_the_schema_generates_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file",
                 str(tmp_path / "schema.yaml"))

    schema = (tmp_path / "schema.yaml").read_text()
    for path in ("/api/v1/checkpoints/:", "/api/v1/checkpoints/{id}/:",
                 "/api/v1/checkpoints/{id}/start-review/:", "/api/v1/checkpoints/{id}/decide/:",
                 "/api/v1/checkpoints/{id}/waive/:", "/api/v1/review-capacity/:"):
        assert path in schema


@pytest.mark.parametrize("pk", ["null", "false", "1,2", "-3"])
def test_a_checkpoint_id_that_is_not_one_is_a_404_not_a_server_error(reviewer, pk):
    client = client_for(reviewer)

    assert client.get(f"/api/v1/checkpoints/{pk}/").status_code == 404
    assert client.post(f"/api/v1/checkpoints/{pk}/decide/", {}, format="json").status_code == 404
