"""Two reviewers acting on the same checkpoint at the same moment through the API, with the
same If-Match: exactly one wins, the other gets 412 (as when the stale ETag is seen before
the lock), every round. Needs real row-level concurrency, so PostgreSQL only."""

from datetime import timedelta
from functools import partial

import pytest
from django.utils import timezone

from conftest import require_postgresql
from governance.models import Checkpoint, CheckpointType
from portfolio.models import Activity
from tests.clients import client_for
from tests.factories import InitiativeFactory, UserFactory
from tests.threads import run_together

ROUNDS = 20

# Each pair of actions two reviewers may take on a checkpoint not started.
RACES = {
    "approve and reject": ({"status": "approved", "evidence_notes": "Clean."}, "decide",
                           {"status": "rejected", "evidence_notes": "Not yet."}, "decide"),
    "start and waive": (None, "start-review",
                        {"justification": "Attested.", "expires_on": "+30"}, "waive"),
}


def send(reviewer, path, body, etag):
    response = client_for(reviewer).post(path, body, format="json", HTTP_IF_MATCH=etag)
    return response.status_code, response.json().get("code")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("race", RACES)
def test_two_reviewers_with_the_same_if_match_one_wins_the_other_gets_412(race):
    require_postgresql("needs PostgreSQL: SQLite serialises writers, so nothing races")
    reviewers = [UserFactory(username=f"api-racer-{n}", roles=["reviewer"]) for n in (1, 2)]
    checkpoint_type = CheckpointType.objects.create(
        code="api-race", name="API race", description="Raced.", nist_function="manage",
        required_for="pilot")
    first_body, first_action, second_body, second_action = RACES[race]
    expires = (timezone.localdate() + timedelta(days=30)).isoformat()
    if second_body.get("expires_on"):
        second_body = {**second_body, "expires_on": expires}

    for round_ in range(ROUNDS):
        checkpoint = Checkpoint.objects.create(
            initiative=InitiativeFactory(title=f"Raced {round_}", stage="assessment"),
            type=checkpoint_type, requested_at=timezone.now(),
            due_date=timezone.localdate() + timedelta(days=5))
        url, etag = f"/api/v1/checkpoints/{checkpoint.pk}/", f'"{checkpoint.pk}-1"'

        results = run_together(
            partial(send, reviewers[0], f"{url}{first_action}/", first_body, etag),
            partial(send, reviewers[1], f"{url}{second_action}/", second_body, etag))
        statuses = dict(zip((reviewer.username for reviewer in reviewers), results,
                            strict=True))

        outcomes = sorted(statuses.values())
        assert outcomes == [(200, None), (412, "precondition_failed")], (round_, statuses)
        checkpoint.refresh_from_db()
        assert checkpoint.version == 2
        assert Activity.objects.filter(initiative=checkpoint.initiative,
                                       kind="checkpoint_decided").count() <= 1
