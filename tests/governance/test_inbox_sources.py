"""Governance's part of "Waiting on me" (issue 20, item 1): reviews waiting on a reviewer,
rejections a PM has to answer, and a PM's initiatives that reviews hold back — each listed
while it waits and gone once acted on."""

from datetime import timedelta

import pytest

from governance import inbox, services
from governance.models import Checkpoint, CheckpointType, ReviewerGroup
from portfolio.models import Stakeholder
from tests.factories import FIXED_NOW, InitiativeFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]
NOW = FIXED_NOW


def _type(code="pen-test-review", name="Pen test review", required_for="pilot", days=14):
    return CheckpointType.objects.get_or_create(code=code, defaults={
        "name": name, "description": "Threat model, pen test, secrets handling.",
        "nist_function": "manage", "required_for": required_for, "review_days": days})[0]


def _checkpoint(initiative=None, *, checkpoint_type=None, status="not_started", asked_days_ago=5,
                due_in=10, **fields):
    """A review requested ``asked_days_ago`` days before ``NOW``: in assessment, a
    checkpoint gating pilot is in the review queue."""
    return Checkpoint.objects.create(
        initiative=initiative or InitiativeFactory(stage="assessment"),
        type=checkpoint_type or _type(), status=status,
        requested_at=NOW - timedelta(days=asked_days_ago),
        due_date=NOW.date() + timedelta(days=due_in), **fields)


def _titles(items):
    return [(item.title, item.subject) for item in items]


# --- Reviews waiting on a reviewer ----------------------------------------------------------

def test_a_requested_review_waits_on_the_reviewer_until_it_is_decided(reviewer):
    checkpoint = _checkpoint(InitiativeFactory(stage="assessment", title="Claims triage"))

    [item] = inbox.reviews_waiting(reviewer, NOW)
    assert (item.title, item.subject) == ("Review Pen test review", "Claims triage")
    assert item.link == f"/governance/checkpoints/{checkpoint.pk}/"
    assert item.since == NOW - timedelta(days=5)
    assert inbox.reviews_waiting_count(reviewer, NOW) == 1

    services.checkpoint_decide(checkpoint=checkpoint, actor=reviewer, approve=True,
                               expected_version=checkpoint.version,
                               evidence_notes="Pen test report attached.", now=NOW)

    assert inbox.reviews_waiting(reviewer, NOW) == []
    assert inbox.reviews_waiting_count(reviewer, NOW) == 0


def test_a_reviewer_responsible_or_consulted_on_the_initiative_does_not_see_its_reviews(
        reviewer):
    responsible = _checkpoint(InitiativeFactory(stage="assessment", title="Responsible one"))
    consulted = _checkpoint(InitiativeFactory(stage="assessment", title="Consulted one"))
    informed = _checkpoint(InitiativeFactory(stage="assessment", title="Informed one"))
    Stakeholder.objects.create(initiative=responsible.initiative, user=reviewer, role="R")
    Stakeholder.objects.create(initiative=consulted.initiative, user=reviewer, role="C")
    Stakeholder.objects.create(initiative=informed.initiative, user=reviewer, role="I")

    assert [item.subject for item in inbox.reviews_waiting(reviewer, NOW)] == ["Informed one"]
    assert inbox.reviews_waiting_count(reviewer, NOW) == 1


def test_a_reviewer_who_owns_or_sponsors_the_initiative_does_not_see_its_reviews():
    reviewing_pm = UserFactory(username="reviewing-pm", roles=["pm", "reviewer"])
    _checkpoint(InitiativeFactory(stage="assessment", owner=reviewing_pm))
    _checkpoint(InitiativeFactory(stage="assessment", sponsor=reviewing_pm))

    assert inbox.reviews_waiting(reviewing_pm, NOW) == []
    assert inbox.reviews_waiting_count(reviewing_pm, NOW) == 0


def test_a_groups_review_waits_on_its_members_only(reviewer):
    member = UserFactory(username="security-reviewer", roles=["reviewer"])
    group = ReviewerGroup.objects.create(name="Security reviewers")
    group.members.add(member)
    _checkpoint(InitiativeFactory(stage="assessment", title="Routed"), reviewer_group=group)
    _checkpoint(InitiativeFactory(stage="assessment", title="Everyone's"),
                checkpoint_type=_type("privacy", "Privacy review"))

    assert [i.subject for i in inbox.reviews_waiting(reviewer, NOW)] == ["Everyone's"]
    assert sorted(i.subject for i in inbox.reviews_waiting(member, NOW)) == [
        "Everyone's", "Routed"]
    assert inbox.reviews_waiting_count(reviewer, NOW) == 1
    assert inbox.reviews_waiting_count(member, NOW) == 2


def test_a_review_taken_by_another_reviewer_waits_on_them_only(reviewer):
    other = UserFactory(username="other-reviewer", roles=["reviewer"])
    checkpoint = _checkpoint()
    services.checkpoint_start_review(checkpoint=checkpoint, actor=other,
                                     expected_version=checkpoint.version, now=NOW)

    assert inbox.reviews_waiting(reviewer, NOW) == []
    [item] = inbox.reviews_waiting(other, NOW)
    assert item.detail.startswith("In review")


def test_reviews_list_in_the_queues_order_overdue_first_then_the_soonest_due(reviewer):
    # The order of the reviewer's "mine" tab, which "see all" opens: a long review asked
    # long ago waits behind a short one due sooner; an expired waiver comes last.
    _checkpoint(InitiativeFactory(stage="assessment", title="Asked long ago"), asked_days_ago=20,
                due_in=10)
    _checkpoint(InitiativeFactory(stage="assessment", title="Late"), asked_days_ago=3,
                due_in=-1)
    _checkpoint(InitiativeFactory(stage="assessment", title="Later"), asked_days_ago=4,
                due_in=-2)
    _checkpoint(InitiativeFactory(stage="assessment", title="Asked lately"), asked_days_ago=1,
                due_in=2)
    _checkpoint(InitiativeFactory(stage="assessment", title="Lapsed waiver"), asked_days_ago=30,
                due_in=-20, status="waived", reviewer=reviewer, decided_at=NOW,
                waiver_justification="Interim control.",
                waiver_expires_on=NOW.date() - timedelta(days=1))

    items = inbox.reviews_waiting(reviewer, NOW)

    assert [item.subject for item in items] == [
        "Later", "Late", "Asked lately", "Asked long ago", "Lapsed waiver"]
    assert items[1].detail == "Not started · overdue, was due 1 Nov"
    assert [item.subject for item in inbox.reviews_waiting(reviewer, NOW, limit=2)] == [
        "Later", "Late"]


def test_no_review_waits_on_someone_who_is_not_an_active_reviewer(pm, leader):
    _checkpoint()
    retired = UserFactory(username="retired-reviewer", roles=["reviewer"], is_active=False)

    for user in (pm, leader, retired):
        assert inbox.reviews_waiting(user, NOW) == []
        assert inbox.reviews_waiting_count(user, NOW) == 0


@pytest.mark.parametrize("size", [1, 8])
def test_reviews_waiting_reads_in_one_query_whatever_their_number(
        reviewer, size, django_assert_num_queries):
    group = ReviewerGroup.objects.create(name="Security reviewers")
    group.members.add(reviewer)
    for n in range(size):
        _checkpoint(InitiativeFactory(stage="assessment"), reviewer_group=group if n % 2 else None)
    reviewer.groups.all()  # the roles are cached on the user, as a request does
    inbox.reviews_waiting_count(reviewer, NOW)

    with django_assert_num_queries(1):  # the checkpoints with initiative and type
        assert len(inbox.reviews_waiting(reviewer, NOW, limit=20)) == size
    with django_assert_num_queries(1):
        assert inbox.reviews_waiting_count(reviewer, NOW) == size


# --- Rejections to address -------------------------------------------------------------------

def _rejected(checkpoint, reviewer, reason="No pen test report for the new endpoint."):
    return services.checkpoint_decide(checkpoint=checkpoint, actor=reviewer, approve=False,
                                      expected_version=checkpoint.version,
                                      evidence_notes=reason, now=NOW - timedelta(days=2))


def test_a_rejection_waits_on_the_owner_with_its_reason_until_a_re_review_is_asked(pm,
                                                                                   reviewer):
    checkpoint = _rejected(_checkpoint(InitiativeFactory(stage="assessment", owner=pm,
                                                         title="Claims triage")), reviewer)
    assert inbox.reviews_waiting(reviewer, NOW) == []

    [item] = inbox.rejections_to_address(pm, NOW)
    assert (item.title, item.subject) == ("Answer the rejection of Pen test review",
                                          "Claims triage")
    assert "No pen test report for the new endpoint." in item.detail
    assert item.link == f"/governance/checkpoints/{checkpoint.pk}/"
    assert item.since == NOW - timedelta(days=2)
    assert inbox.rejections_to_address_count(pm, NOW) == 1

    services.checkpoint_request_re_review(checkpoint=checkpoint, actor=pm,
                                          changed="Pen test report attached.",
                                          expected_version=checkpoint.version, now=NOW)

    assert inbox.rejections_to_address(pm, NOW) == []
    assert inbox.rejections_to_address_count(pm, NOW) == 0
    [back] = inbox.reviews_waiting(reviewer, NOW)
    assert back.subject == "Claims triage"
    assert back.since == NOW
    assert "round 2" in back.detail


def test_a_rejection_waits_on_a_responsible_pm_too_but_not_on_other_pms(pm, other_pm,
                                                                        reviewer):
    responsible = UserFactory(username="responsible-pm", roles=["pm"])
    initiative = InitiativeFactory(stage="assessment", owner=pm)
    Stakeholder.objects.create(initiative=initiative, user=responsible, role="R")
    _rejected(_checkpoint(initiative), reviewer)

    assert len(inbox.rejections_to_address(responsible, NOW)) == 1
    assert inbox.rejections_to_address(other_pm, NOW) == []
    assert inbox.rejections_to_address_count(other_pm, NOW) == 0


@pytest.mark.parametrize("size", [1, 8])
def test_rejections_read_in_one_query_whatever_their_number(pm, reviewer, size,
                                                            django_assert_num_queries):
    for _ in range(size):
        _rejected(_checkpoint(InitiativeFactory(stage="assessment", owner=pm)), reviewer)
    inbox.rejections_to_address_count(pm, NOW)  # the roles, cached on the user

    with django_assert_num_queries(1):  # the checkpoints with initiative, type and reviewer
        assert len(inbox.rejections_to_address(pm, NOW, limit=20)) == size
    with django_assert_num_queries(1):
        assert inbox.rejections_to_address_count(pm, NOW) == size


# --- Initiatives blocked by reviews ----------------------------------------------------------

def test_a_blocked_initiative_is_one_item_naming_what_blocks_it_until_cleared(pm, reviewer):
    initiative = InitiativeFactory(stage="assessment", owner=pm, title="Claims triage")
    security = _checkpoint(initiative, checkpoint_type=_type("security-review", "Security review"),
                           asked_days_ago=4)
    privacy = _checkpoint(initiative, checkpoint_type=_type("privacy", "Privacy review"),
                          asked_days_ago=9)
    services.checkpoint_start_review(checkpoint=security, actor=reviewer,
                                     expected_version=security.version, now=NOW)
    # Gating production: upcoming, not requested yet, so not a blocker of the next move.
    _checkpoint(initiative, checkpoint_type=_type("dpia", "DPIA", required_for="production"))

    [item] = inbox.initiatives_blocked(pm, NOW)
    assert item.subject == "Claims triage"
    assert item.title == "Blocked from moving to Pilot"
    assert item.detail == "Privacy review (not started), Security review (in review)"
    assert item.link == initiative.get_absolute_url()
    assert item.since == NOW - timedelta(days=9)
    assert inbox.initiatives_blocked_count(pm, NOW) == 1

    for checkpoint in (security, privacy):
        checkpoint.refresh_from_db()
        services.checkpoint_decide(checkpoint=checkpoint, actor=reviewer, approve=True,
                                   expected_version=checkpoint.version,
                                   evidence_notes="Fine.", now=NOW)

    assert inbox.initiatives_blocked(pm, NOW) == []
    assert inbox.initiatives_blocked_count(pm, NOW) == 0


def test_blocked_initiatives_are_limited_by_initiative_the_longest_waiting_first(pm):
    for days, title in ((3, "Recent"), (12, "Oldest"), (7, "Middle")):
        initiative = InitiativeFactory(stage="assessment", owner=pm, title=title)
        _checkpoint(initiative, asked_days_ago=days)
        _checkpoint(initiative, checkpoint_type=_type("privacy", "Privacy review"),
                    asked_days_ago=1)

    assert [i.subject for i in inbox.initiatives_blocked(pm, NOW)] == ["Oldest", "Middle",
                                                                      "Recent"]
    assert [i.subject for i in inbox.initiatives_blocked(pm, NOW, limit=2)] == ["Oldest",
                                                                               "Middle"]
    assert inbox.initiatives_blocked_count(pm, NOW) == 3


@pytest.mark.parametrize("size", [1, 8])
def test_blocked_initiatives_read_in_one_query_whatever_their_number(
        pm, size, django_assert_num_queries):
    for _ in range(size):
        initiative = InitiativeFactory(stage="assessment", owner=pm)
        _checkpoint(initiative)
        _checkpoint(initiative, checkpoint_type=_type("privacy", "Privacy review"))
    inbox.initiatives_blocked_count(pm, NOW)  # the roles, cached on the user

    with django_assert_num_queries(1):  # the blocking checkpoints of the chosen initiatives
        assert len(inbox.initiatives_blocked(pm, NOW, limit=20)) == size
    with django_assert_num_queries(1):
        assert inbox.initiatives_blocked_count(pm, NOW) == size
