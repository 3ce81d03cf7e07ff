"""Set-up shared by the review-queue, segregation, re-review and routing tests (issue 20)."""

from datetime import timedelta

from django.utils import timezone

from governance.models import Checkpoint, CheckpointType, ReviewerGroup
from portfolio.models import Stakeholder
from tests.factories import InitiativeFactory

QUEUE = "/governance/queue/"

# The queries the navigation adds to every page of a signed-in reviewer (none: its inbox
# count is fetched after the page loads, ``portfolio.context_processors``); the queue's own
# are counted beside it.
QUEUE_NAV_QUERIES = 0


def pen_test_type(code="pen-test-review", name="Pen test review", required_for="pilot"):
    return CheckpointType.objects.get_or_create(code=code, defaults={
        "name": name, "description": "Threat model, pen test, secrets handling.",
        "nist_function": "manage", "required_for": required_for})[0]


def open_checkpoint(initiative=None, *, checkpoint_type=None, status="not_started", due_in=10,
                    **fields) -> Checkpoint:
    """A checkpoint in the review queue: its initiative in assessment, it gates pilot."""
    return Checkpoint.objects.create(
        initiative=initiative or InitiativeFactory(stage="assessment"),
        type=checkpoint_type or pen_test_type(), status=status,
        requested_at=timezone.now() - timedelta(days=5),
        due_date=timezone.localdate() + timedelta(days=due_in), **fields)


def group_of(name: str, *members) -> ReviewerGroup:
    group = ReviewerGroup.objects.create(name=name)
    group.members.set(members)
    return group


def stake(initiative, user, role: str) -> Stakeholder:
    return Stakeholder.objects.create(initiative=initiative, user=user, role=role)
