"""Two reviewers deciding the same checkpoint at the same moment: exactly one decision
stands (issue 4, "Done when"). Needs real row-level concurrency, so PostgreSQL only."""

from datetime import timedelta
from functools import partial

import pytest
from django.utils import timezone

from conftest import require_postgresql
from governance import services
from governance.models import Checkpoint, CheckpointType
from portfolio.exceptions import DomainError
from portfolio.models import Activity
from tests.factories import InitiativeFactory, UserFactory
from tests.threads import run_together

ROUNDS = 50


def decide(checkpoint, reviewer, approve):
    """``"won"``, or the refusal's message."""
    try:
        services.checkpoint_decide(checkpoint=checkpoint, actor=reviewer, approve=approve,
                                   expected_version=1, evidence_notes="Raced.",
                                   now=timezone.now())
    except DomainError as error:
        return error.message
    return "won"


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_deciding_at_once_one_wins_the_other_is_told():
    require_postgresql("needs PostgreSQL: SQLite serialises writers, so nothing races")
    reviewers = [UserFactory(username=f"racer-{n}", roles=["reviewer"]) for n in (1, 2)]
    checkpoint_type = CheckpointType.objects.create(
        code="race-review", name="Race review", description="Raced.", nist_function="manage",
        required_for="pilot")
    now = timezone.now()

    for round_ in range(ROUNDS):
        checkpoint = Checkpoint.objects.create(
            initiative=InitiativeFactory(title=f"Raced {round_}"), type=checkpoint_type,
            requested_at=now, due_date=timezone.localdate() + timedelta(days=5))

        outcomes = run_together(*[partial(decide, checkpoint, reviewer, approve)
                                  for reviewer, approve
                                  in zip(reviewers, (True, False), strict=True)])

        assert sorted(outcomes, key=lambda o: o != "won")[0] == "won", outcomes
        assert outcomes.count("won") == 1, outcomes
        lost = next(o for o in outcomes if o != "won")
        checkpoint.refresh_from_db()
        assert lost == services.DECIDED_MEANWHILE.format(
            status=checkpoint.get_status_display().lower())
        assert checkpoint.version == 2
        assert Activity.objects.filter(initiative=checkpoint.initiative,
                                       kind="checkpoint_decided").count() == 1
