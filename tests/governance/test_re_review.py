"""Re-review after a rejection (issue 20, item 5): the owner or a Responsible PM says what
changed and asks for another review; the history keeps both rounds and the lead time counts
from the new request. The service, the checkpoint page and ``POST
/api/v1/checkpoints/{id}/re-review/``."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.html import escape

from governance import services
from governance.models import Checkpoint, ReviewRoute
from portfolio.exceptions import DomainError
from portfolio.models import Activity
from portfolio.notifications.models import Notification
from tests.clients import client_for
from tests.factories import FIXED_NOW, InitiativeFactory, UserFactory
from tests.governance.checkpoints import group_of, open_checkpoint, stake

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

REJECTED_AT = FIXED_NOW - timedelta(days=3)
CHANGED = "Ran the pen test again after fixing the token leak; report attached to the wiki."
REASON = "No pen test report for the new agent tools."


@pytest.fixture
def rejecting_reviewer(db):
    return UserFactory(username="rejecting-reviewer", first_name="Rita", last_name="Reject",
                       roles=["reviewer"])


@pytest.fixture
def rejected(pm, rejecting_reviewer):
    """``pm``'s checkpoint, rejected three days ago by ``rejecting_reviewer`` (round 1)."""
    checkpoint = open_checkpoint(InitiativeFactory(stage="assessment", owner=pm,
                                                   title="Claims triage assistant"))
    Checkpoint.objects.filter(pk=checkpoint.pk).update(requested_at=REJECTED_AT
                                                       - timedelta(days=7))
    checkpoint.refresh_from_db()
    return services.checkpoint_decide(checkpoint=checkpoint, actor=rejecting_reviewer,
                                      approve=False, expected_version=1,
                                      evidence_notes=REASON, now=REJECTED_AT)


def _ask(checkpoint, actor, changed=CHANGED, *, version=None):
    return services.checkpoint_request_re_review(
        checkpoint=checkpoint, actor=actor, changed=changed,
        expected_version=checkpoint.version if version is None else version, now=FIXED_NOW)


# --- The service -------------------------------------------------------------------------------

def test_asking_again_opens_round_two_requested_now_and_due_from_now(rejected, pm):
    requested = _ask(rejected, pm)

    assert (requested.round, requested.status, requested.reviewer, requested.decided_at) == (
        2, "not_started", None, None)
    # Lead time counts from the new request, not the first one.
    assert requested.requested_at == FIXED_NOW
    assert requested.due_date == (timezone.localdate(FIXED_NOW)
                                  + timedelta(days=requested.type.review_days))
    assert requested.version == rejected.version + 1


def test_the_history_keeps_both_rounds(rejected, pm, rejecting_reviewer):
    _ask(rejected, pm)

    states = list(rejected.history.order_by("history_date", "history_id")
                  .values_list("round", "status", "history_user", "evidence_notes"))
    assert (1, "rejected", rejecting_reviewer.pk, REASON) in states
    assert states[-1][:3] == (2, "not_started", pm.pk)
    event = Activity.objects.get(kind=Activity.Kind.RE_REVIEW_REQUESTED)
    assert (event.actor, event.details["changed"], event.details["round"]) == (
        pm, CHANGED, 2)


def test_the_reviewers_and_the_rejecting_reviewer_are_told(rejected, pm, reviewer,
                                                            rejecting_reviewer):
    UserFactory(username="left-reviewer", roles=["reviewer"], is_active=False)
    consulted = UserFactory(username="consulted-reviewer", roles=["reviewer"])
    stake(rejected.initiative, consulted, "C")

    _ask(rejected, pm)

    told = set(Notification.objects.filter(
        activity__kind=Activity.Kind.RE_REVIEW_REQUESTED).values_list(
        "recipient__username", flat=True))
    assert told == {reviewer.username, rejecting_reviewer.username}


def test_routed_to_a_group_only_its_reviewers_and_the_rejecting_one_are_told(
        rejected, pm, reviewer, rejecting_reviewer):
    security = UserFactory(username="security-reviewer", roles=["reviewer"])
    group = group_of("Security reviewers", security)
    services.review_route_save(route=ReviewRoute(checkpoint_type=rejected.type, group=group),
                               actor=None, now=FIXED_NOW)
    rejected.refresh_from_db()

    requested = _ask(rejected, pm)

    assert requested.reviewer_group == group
    told = set(Notification.objects.filter(
        activity__kind=Activity.Kind.RE_REVIEW_REQUESTED).values_list(
        "recipient__username", flat=True))
    assert told == {security.username, rejecting_reviewer.username}


def test_a_responsible_pm_may_ask_again(rejected, other_pm):
    stake(rejected.initiative, other_pm, "R")

    assert _ask(rejected, other_pm).round == 2


@pytest.mark.parametrize("persona", ["other_pm", "reviewer", "tpm", "leader"])
def test_nobody_else_asks_again(request, rejected, persona):
    with pytest.raises(DomainError) as refused:
        _ask(rejected, request.getfixturevalue(persona))

    assert refused.value.message == services.RE_REVIEW_NOT_YOURS
    rejected.refresh_from_db()
    assert (rejected.status, rejected.round) == ("rejected", 1)


def test_a_consulted_pm_does_not_ask_again(rejected, other_pm):
    stake(rejected.initiative, other_pm, "C")

    with pytest.raises(DomainError, match="owner or a Responsible PM"):
        _ask(rejected, other_pm)


@pytest.mark.parametrize("status", ["not_started", "in_review", "approved"])
def test_only_a_rejected_checkpoint_is_sent_back(pm, reviewer, status):
    checkpoint = open_checkpoint(InitiativeFactory(stage="assessment", owner=pm),
                                 status=status,
                                 **({"reviewer": reviewer} if status != "not_started" else {}),
                                 **({"decided_at": FIXED_NOW} if status == "approved" else {}))

    with pytest.raises(DomainError) as refused:
        _ask(checkpoint, pm)

    assert refused.value.message == services.RE_REVIEW_NOT_REJECTED


@pytest.mark.parametrize("changed", ["", "   \n "])
def test_asking_again_needs_what_changed(rejected, pm, changed):
    with pytest.raises(DomainError) as refused:
        _ask(rejected, pm, changed)

    assert (refused.value.field, refused.value.message) == (
        "changed", services.RE_REVIEW_NEEDS_CHANGE)
    assert not Activity.objects.filter(kind=Activity.Kind.RE_REVIEW_REQUESTED).exists()


def test_round_two_is_decided_like_the_first(rejected, pm, reviewer):
    requested = _ask(rejected, pm)

    approved = services.checkpoint_decide(checkpoint=requested, actor=reviewer, approve=True,
                                          expected_version=requested.version,
                                          evidence_notes="Report read; fixed.",
                                          now=FIXED_NOW + timedelta(hours=2))

    assert (approved.status, approved.round, approved.reviewer) == ("approved", 2, reviewer)


# --- The checkpoint page -----------------------------------------------------------------------

def _url(checkpoint) -> str:
    return f"/governance/checkpoints/{checkpoint.pk}/"


def _post(client, user, checkpoint, **data):
    client.force_login(user)
    return client.post(_url(checkpoint), {"action": "re_review",
                                          "version": checkpoint.version, **data})


def test_the_owner_is_offered_another_review_of_a_rejected_checkpoint(client, rejected, pm):
    client.force_login(pm)

    html = client.get(_url(rejected)).content.decode()

    assert "Ask for another review" in html
    assert "What changed since the rejection" in html
    assert 'name="action" value="re_review"' in html


@pytest.mark.parametrize("persona", ["reviewer", "other_pm", "tpm"])
def test_others_are_not_offered_it_and_a_post_is_refused(client, request, rejected, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)

    html = client.get(_url(rejected)).content.decode()
    response = _post(client, user, rejected, changed=CHANGED)

    assert "What changed since the rejection" not in html
    assert response.status_code == 403
    assert escape(services.RE_REVIEW_NOT_YOURS) in response.content.decode()
    rejected.refresh_from_db()
    assert (rejected.status, rejected.round) == ("rejected", 1)


def test_an_outsider_gets_404(client, rejected, outsider):
    assert _post(client, outsider, rejected, changed=CHANGED).status_code == 404


def test_a_blank_answer_is_an_error_on_its_field(client, rejected, pm):
    response = _post(client, pm, rejected, changed="  ")

    assert response.status_code == 400
    assert response.context["re_review_form"].errors["changed"] == [
        services.RE_REVIEW_NEEDS_CHANGE]
    assert 'id="id_changed_error"' in response.content.decode()
    rejected.refresh_from_db()
    assert rejected.status == "rejected"


def test_a_stale_page_is_told_to_reload(client, rejected, pm):
    response = _post(client, pm, rejected, changed=CHANGED, version=rejected.version - 1)

    assert response.status_code == 400
    assert "This page is out of date" in response.content.decode()


def test_the_owner_asks_again_and_the_page_shows_both_rounds(client, rejected, pm):
    response = _post(client, pm, rejected, changed=CHANGED)

    assert response.status_code == 302
    assert response["Location"] == _url(rejected)
    page = client.get(_url(rejected))
    html = page.content.decode()
    assert "Asked for another review of “Pen test review” for “Claims triage assistant” " \
           "(round 2)" in html
    assert "Round 1" in html
    assert "Round 2" in html
    round_two, round_one = html.split("Round 2", 1)[1].split("Round 1", 1)
    assert CHANGED in round_two
    assert "Another review requested after the rejection." in round_two
    assert REASON in round_one
    assert "Rita Reject" in round_one
    # Not rejected any more: nothing more to ask.
    assert "What changed since the rejection" not in html


def test_a_responsible_pm_asks_again_from_the_page(client, rejected, other_pm):
    stake(rejected.initiative, other_pm, "R")

    response = _post(client, other_pm, rejected, changed=CHANGED)

    assert response.status_code == 302
    rejected.refresh_from_db()
    assert (rejected.status, rejected.round) == ("not_started", 2)


def test_asking_again_about_a_checkpoint_not_rejected_is_refused_on_the_page(client, pm):
    checkpoint = open_checkpoint(InitiativeFactory(stage="assessment", owner=pm))

    response = _post(client, pm, checkpoint, changed=CHANGED)

    assert response.status_code == 400
    assert services.RE_REVIEW_NOT_REJECTED in response.content.decode()


# --- API ---------------------------------------------------------------------------------------

def _api(user, checkpoint, body=None, *, if_match=True):
    headers = {"HTTP_IF_MATCH": f'"{checkpoint.pk}-{checkpoint.version}"'} if if_match else {}
    return client_for(user).post(f"/api/v1/checkpoints/{checkpoint.pk}/re-review/",
                                 {"changed": CHANGED} if body is None else body,
                                 format="json", **headers)


def test_the_api_asks_again_with_if_match(rejected, pm):
    response = _api(pm, rejected)

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["round"], body["reviewer"]) == ("not_started", 2, None)
    assert response["ETag"] == f'"{rejected.pk}-{rejected.version + 1}"'


def test_the_api_needs_if_match_and_refuses_a_stale_one(rejected, pm):
    missing = _api(pm, rejected, if_match=False)
    stale = client_for(pm).post(f"/api/v1/checkpoints/{rejected.pk}/re-review/",
                                {"changed": CHANGED}, format="json",
                                HTTP_IF_MATCH=f'"{rejected.pk}-1"')

    assert (missing.status_code, stale.status_code) == (428, 412)
    rejected.refresh_from_db()
    assert rejected.round == 1


@pytest.mark.parametrize(("persona", "expected"), [
    ("reviewer", 403), ("other_pm", 403), ("leader", 403), ("outsider", 404)])
def test_the_api_refuses_anyone_but_the_owner_or_a_responsible_pm(request, rejected, persona,
                                                                  expected):
    response = _api(request.getfixturevalue(persona), rejected)

    assert response.status_code == expected
    if expected == 403:
        assert response.json()["message"] == services.RE_REVIEW_NOT_YOURS
    rejected.refresh_from_db()
    assert rejected.round == 1


def test_the_api_answers_409_when_the_checkpoint_is_not_rejected(pm):
    checkpoint = open_checkpoint(InitiativeFactory(stage="assessment", owner=pm))

    response = _api(pm, checkpoint)

    assert response.status_code == 409
    assert response.json()["message"] == services.RE_REVIEW_NOT_REJECTED


@pytest.mark.parametrize("body", [{"changed": "  "}, {}])
def test_the_api_answers_400_on_the_field_without_what_changed(rejected, pm, body):
    response = _api(pm, rejected, body)

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"changed"}
