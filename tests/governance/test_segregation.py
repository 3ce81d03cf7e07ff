"""Segregation of duties, widened (issue 20, item 6): nobody decides a checkpoint on an
initiative they own, sponsor, or are Responsible or Consulted on (``SEGREGATED_ROLES``);
the refusal says why, in the services, on the pages, in the API and in the queue."""

import itertools

import pytest

from governance import services
from governance.access import checkpoint_rights
from governance.models import Checkpoint
from governance.selectors import decidable_by_q
from portfolio.exceptions import DomainError
from tests.clients import client_for
from tests.factories import FIXED_NOW, InitiativeFactory, UserFactory
from tests.governance.checkpoints import QUEUE, open_checkpoint, stake

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

RESPONSIBLE = ("You are Responsible on this initiative, so someone else must review it "
               "(segregation of duties).")
CONSULTED = ("You are Consulted on this initiative, so someone else must review it "
             "(segregation of duties).")


@pytest.fixture
def checkpoint(pm):
    return open_checkpoint(InitiativeFactory(stage="assessment", owner=pm,
                                             title="Claims triage assistant"))


def _holding(checkpoint, role: str, username: str = "staked-reviewer"):
    user = UserFactory(username=username, roles=["reviewer"])
    stake(checkpoint.initiative, user, role)
    return user


def _approve(checkpoint, user):
    return services.checkpoint_decide(checkpoint=checkpoint, actor=user, approve=True,
                                      expected_version=checkpoint.version,
                                      evidence_notes="Pen test report read.", now=FIXED_NOW)


# --- The rule, in the services -------------------------------------------------------------

@pytest.mark.parametrize(("role", "refusal"), [("R", RESPONSIBLE), ("C", CONSULTED)])
def test_a_responsible_or_consulted_reviewer_is_refused_and_told_why(checkpoint, role, refusal):
    user = _holding(checkpoint, role)

    with pytest.raises(DomainError) as refused:
        _approve(checkpoint, user)

    assert refused.value.message == refusal
    checkpoint.refresh_from_db()
    assert (checkpoint.status, checkpoint.version) == ("not_started", 1)


def test_a_reviewer_both_responsible_and_consulted_hears_both(checkpoint):
    user = _holding(checkpoint, "R")
    stake(checkpoint.initiative, user, "C")

    assert services.decide_refusal(user, checkpoint) == (
        "You are Responsible and Consulted on this initiative, so someone else must review "
        "it (segregation of duties).")


@pytest.mark.parametrize("role", ["I", "A"])
def test_an_informed_or_accountable_reviewer_decides(checkpoint, role):
    user = _holding(checkpoint, role)

    decided = _approve(checkpoint, user)

    assert (decided.status, decided.reviewer) == ("approved", user)


def test_the_segregated_roles_are_configurable(checkpoint, settings):
    settings.SEGREGATED_ROLES = ["R"]
    consulted = _holding(checkpoint, "C", "consulted-reviewer")
    responsible = _holding(checkpoint, "R", "responsible-reviewer")

    with pytest.raises(DomainError, match="You are Responsible"):
        _approve(checkpoint, responsible)
    decided = _approve(checkpoint, consulted)

    assert (decided.status, decided.reviewer) == ("approved", consulted)


def test_a_stake_on_another_initiative_does_not_count(checkpoint):
    user = _holding(open_checkpoint(InitiativeFactory(stage="assessment")), "R")

    assert _approve(checkpoint, user).status == "approved"


# --- The rights the pages and the API read ------------------------------------------------

@pytest.mark.parametrize(("role", "own"), [("R", True), ("C", True), ("I", False)])
def test_rights_mark_a_segregated_reviewer_as_someone_else_reviews(checkpoint, role, own):
    rights = checkpoint_rights(_holding(checkpoint, role), checkpoint)

    assert rights.own is own
    assert rights.decide is not own


def test_rights_given_the_stakes_ask_no_query(checkpoint, django_assert_num_queries):
    user = _holding(checkpoint, "C")
    user.groups.all()  # noqa: B018 (the roles are cached on the user below)
    checkpoint_rights(user, checkpoint)  # caches the user's roles

    with django_assert_num_queries(0):
        rights = checkpoint_rights(user, checkpoint, stakes={"C"})

    assert rights.refusal == CONSULTED


def test_someone_who_does_not_review_is_not_told_someone_else_reviews(checkpoint, pm):
    assert checkpoint_rights(pm, checkpoint).own is False


# --- Pages -----------------------------------------------------------------------------------

def test_the_checkpoint_page_tells_a_responsible_reviewer_why_they_cannot_decide(
        client, checkpoint):
    user = _holding(checkpoint, "R")
    client.force_login(user)

    page = client.get(f"/governance/checkpoints/{checkpoint.pk}/")
    post = client.post(f"/governance/checkpoints/{checkpoint.pk}/", {
        "action": "decide", "decision": "approve", "version": 1,
        "evidence_notes": "Looks fine."})

    html = page.content.decode()
    assert RESPONSIBLE in html
    assert ">Approve<" not in html
    assert post.status_code == 403
    assert RESPONSIBLE in post.content.decode()
    checkpoint.refresh_from_db()
    assert checkpoint.status == "not_started"


def test_the_queue_offers_a_consulted_reviewer_no_decide_button(client, checkpoint, reviewer):
    user = _holding(checkpoint, "C")
    other = open_checkpoint(InitiativeFactory(stage="assessment", title="Spend analytics"))
    client.force_login(user)

    html = client.get(QUEUE).content.decode()

    assert CONSULTED in html
    assert f'/governance/checkpoints/{checkpoint.pk}/" aria-label="Decide' not in html
    assert f'/governance/checkpoints/{other.pk}/" aria-label="Decide' in html


# --- API -------------------------------------------------------------------------------------

@pytest.mark.parametrize("action", ["start-review", "decide", "waive"])
def test_the_api_refuses_a_responsible_reviewer_with_the_reason(checkpoint, action):
    user = _holding(checkpoint, "R")

    response = client_for(user).post(
        f"/api/v1/checkpoints/{checkpoint.pk}/{action}/",
        {"status": "approved", "evidence_notes": "Fine."} if action == "decide" else {},
        format="json", HTTP_IF_MATCH=f'"{checkpoint.pk}-1"')

    assert response.status_code == 403
    assert response.json()["message"] == RESPONSIBLE
    checkpoint.refresh_from_db()
    assert (checkpoint.status, checkpoint.version) == ("not_started", 1)


def test_the_service_refuses_a_reviewer_made_consulted_after_the_page_loaded(checkpoint):
    """The page and the API check first (403); the service checks again under the write, so
    a stake recorded meanwhile is a refusal (409 through the API's handler)."""
    user = UserFactory(username="late-stake", roles=["reviewer"])
    assert checkpoint_rights(user, checkpoint).decide
    stake(checkpoint.initiative, user, "C")

    with pytest.raises(DomainError, match="You are Consulted"):
        _approve(checkpoint, user)


# --- One rule: the queue's SQL and the services' Python agree -------------------------------

def test_the_queue_rule_in_sql_agrees_with_the_refusal_on_every_combination(settings):
    """``selectors.decidable_by_q`` (the queue's "mine") and ``services.decide_refusal``
    (every decision) give the same answer for every owner/sponsor/RACI combination."""
    reviewer = UserFactory(username="the-reviewer", roles=["pm", "reviewer"])
    colleague = UserFactory(username="colleague", roles=["reviewer"])
    someone = UserFactory(username="a-pm", roles=["pm"])
    for owner, sponsor, roles in itertools.product(
            [someone, reviewer], [None, reviewer, colleague],
            [(), ("R",), ("C",), ("I",), ("A",), ("R", "C")]):
        initiative = InitiativeFactory(stage="assessment", owner=owner, sponsor=sponsor)
        for role in roles:
            stake(initiative, reviewer, role)
        open_checkpoint(initiative)
    left = UserFactory(username="left", roles=["reviewer"], is_active=False)
    for segregated in (["R", "C"], ["R"], ["A", "I"], []):
        settings.SEGREGATED_ROLES = segregated
        for user in (reviewer, colleague, someone, left):
            in_sql = set(Checkpoint.objects.filter(decidable_by_q(user))
                         .values_list("pk", flat=True))
            in_python = {cp.pk for cp in Checkpoint.objects.select_related("initiative")
                         if services.decide_refusal(user, cp) is None}
            assert in_sql == in_python, (segregated, user.username)
