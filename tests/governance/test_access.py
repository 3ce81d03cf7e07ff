"""What each persona may do with a checkpoint (``governance.access``): the rights read the
segregation rule (``services.decide_refusal``), and the decision page, the API and the
services give the same answer."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import Client
from django.utils import timezone

from governance import services
from governance.access import NEEDS, CheckpointRights, checkpoint_for, checkpoint_rights
from governance.models import Checkpoint, CheckpointType
from portfolio.exceptions import DomainError
from tests.clients import client_for
from tests.factories import InitiativeFactory, UserFactory

pytestmark = pytest.mark.django_db

ACTS = ("review", "decide", "waive")

# Persona -> (reads it, an active reviewer, why they may not act or None when they may).
EXPECTED = {
    "reviewer": (True, True, None),
    "sponsoring_reviewer": (True, True, services.OWN_INITIATIVE),
    "owner": (True, False, services.NOT_A_REVIEWER),
    "tpm": (True, False, services.NOT_A_REVIEWER),
    "leader": (True, False, services.NOT_A_REVIEWER),
    "admin": (True, False, services.NOT_A_REVIEWER),
    "no_role": (False, False, services.NOT_A_REVIEWER),
    "inactive_reviewer": (False, False, services.NOT_A_REVIEWER),
}


@pytest.fixture
def cast(pm, reviewer, tpm, leader, outsider, staff):
    """A checkpoint due for review on ``pm``'s initiative, which a reviewer sponsors."""
    sponsor = UserFactory(username="sponsoring-reviewer", roles=["reviewer"])
    checkpoint_type = CheckpointType.objects.get_or_create(code="pen-test-review", defaults={
        "name": "Pen test review", "description": "Threat model, pen test.",
        "nist_function": "manage", "required_for": "pilot"})[0]
    checkpoint = Checkpoint.objects.create(
        initiative=InitiativeFactory(owner=pm, sponsor=sponsor, stage="assessment"),
        type=checkpoint_type, requested_at=timezone.now() - timedelta(days=5),
        due_date=timezone.localdate() + timedelta(days=10))
    return checkpoint, {
        "reviewer": reviewer, "sponsoring_reviewer": sponsor, "owner": pm, "tpm": tpm,
        "leader": leader, "admin": staff, "no_role": outsider,
        "inactive_reviewer": UserFactory(username="left-reviewer", roles=["reviewer"],
                                         is_active=False),
    }


@pytest.mark.parametrize(("persona", "expected"), EXPECTED.items())
def test_each_persona_holds_exactly_its_rights_on_a_checkpoint(cast, persona, expected):
    checkpoint, people = cast
    read, reviewer, refusal = expected
    acts = read and refusal is None

    rights = checkpoint_rights(people[persona], checkpoint)

    assert rights == CheckpointRights(read=read, reviewer=reviewer, review=acts, decide=acts,
                                      waive=acts, refusal=refusal)
    assert rights.own == (refusal == services.OWN_INITIATIVE)


@pytest.mark.parametrize(("persona", "expected"), EXPECTED.items())
def test_loading_a_checkpoint_answers_as_its_rights_say(cast, persona, expected):
    checkpoint, people = cast
    read, _, refusal = expected

    for need in NEEDS:
        if not read:
            with pytest.raises(Http404):
                checkpoint_for(people[persona], checkpoint.pk, need=need)
        elif need == "read" or refusal is None:
            assert checkpoint_for(people[persona], checkpoint.pk, need=need)[0] == checkpoint
        else:
            with pytest.raises(PermissionDenied, match=refusal[:40]):
                checkpoint_for(people[persona], checkpoint.pk, need=need)


def _page_answers(checkpoint, user) -> dict[str, bool]:
    client = Client()
    client.force_login(user)
    page = client.get(f"/governance/checkpoints/{checkpoint.pk}/")
    # No action chosen: 400 "Choose an action" for a decider, before anything is changed.
    post = client.post(f"/governance/checkpoints/{checkpoint.pk}/",
                       {"version": checkpoint.version})
    return {"read": page.status_code == 200,
            "decide": post.status_code == 400 and "Approve" in page.content.decode()}


def _api_answers(checkpoint, user) -> dict[str, bool]:
    client = client_for(user)
    answers = {"read": client.get(f"/api/v1/checkpoints/{checkpoint.pk}/").status_code == 200}
    for act, path in (("review", "start-review"), ("decide", "decide"), ("waive", "waive")):
        # Without If-Match: 428 for a decider, before anything is changed; 403/404 otherwise.
        response = client.post(f"/api/v1/checkpoints/{checkpoint.pk}/{path}/", {},
                               format="json")
        answers[act] = response.status_code == 428
    return answers


def _service_answers(checkpoint, user) -> dict[str, bool]:
    """Whether the service lets ``user`` act: it refuses a stale version only after the
    segregation rule, so a stale version tells the two apart without changing anything."""
    try:
        services.checkpoint_start_review(checkpoint=checkpoint, actor=user,
                                         expected_version=checkpoint.version + 1,
                                         now=timezone.now())
    except DomainError as error:
        return {"review": error.field == "version"}
    raise AssertionError("a stale version was accepted")


@pytest.mark.parametrize("persona", EXPECTED)
def test_page_api_and_services_give_each_persona_the_answer_its_rights_give(cast, persona):
    checkpoint, people = cast
    user = people[persona]
    rights = checkpoint_rights(user, checkpoint)

    answers = [_page_answers(checkpoint, user), _api_answers(checkpoint, user)]
    if user.is_active:  # the services are asked for someone signed in
        answers.append(_service_answers(checkpoint, user))

    for answer in answers:
        assert answer == {name: getattr(rights, name) for name in answer}
    checkpoint.refresh_from_db()
    assert (checkpoint.status, checkpoint.version) == ("not_started", 1)
