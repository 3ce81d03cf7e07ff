"""An edit and a stage move sent at the same moment with the same If-Match: exactly one
wins, the other gets 412 (the README's contract), every round. The version is compared
under the row lock, so a write landing between a request's read and its lock loses too.
Needs real row-level concurrency, so PostgreSQL only."""

from functools import partial

import pytest

from conftest import require_postgresql
from portfolio.models import Initiative, Stage
from tests.clients import client_for
from tests.factories import InitiativeFactory, TeamFactory
from tests.threads import run_together

ROUNDS = 20
EDIT = {"title": "Edited meanwhile"}
MOVE = {"to_stage": "assessment"}


def send(user, method, path, body, etag):
    response = getattr(client_for(user), method)(path, body, format="json",
                                                 HTTP_IF_MATCH=etag)
    return response.status_code, response.json().get("code")


@pytest.mark.django_db(transaction=True)
def test_an_edit_and_a_move_with_the_same_if_match_one_wins_the_other_gets_412(pm):
    require_postgresql("needs PostgreSQL: SQLite serialises writers, so nothing races")
    team = TeamFactory(slug="claims")

    for round_ in range(ROUNDS):
        initiative = InitiativeFactory(owner=pm, team=team, title=f"Raced {round_}")
        url = f"/api/v1/initiatives/{initiative.pk}/"
        etag = f'"{initiative.pk}-{initiative.version}"'

        edit, move = run_together(partial(send, pm, "patch", url, EDIT, etag),
                                  partial(send, pm, "post", f"{url}move/", MOVE, etag))
        statuses = {"edit": edit, "move": move}

        won = {name for name, (code, _) in statuses.items() if code in (200, 201)}
        assert len(won) == 1, (round_, statuses)
        lost = next(outcome for name, outcome in statuses.items() if name not in won)
        assert lost == (412, "precondition_failed"), (round_, statuses)
        initiative = Initiative.objects.get(pk=initiative.pk)
        assert initiative.version == 2
        if won == {"edit"}:
            assert (initiative.title, initiative.stage) == (EDIT["title"], Stage.IDEA)
        else:
            assert (initiative.title, initiative.stage) == (f"Raced {round_}", Stage.ASSESSMENT)
