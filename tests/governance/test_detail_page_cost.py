"""The initiative page costs the same queries at every stage before production, and the
governance panel's gate names the same blockers it did when it read them itself (issue 22:
the page's query count is the same at every portfolio size, whichever initiative it shows)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from governance import selectors, services
from governance.models import Checkpoint
from tests.factories import FIXED_NOW, InitiativeFactory, UserFactory, measure

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]
TODAY = FIXED_NOW.date()

# Session, user with roles; the initiative with its people; RACI; depends on; needed by;
# transitions; updates; activity; history; names in the history; the exit contract's
# panel: the gate's evidence (2), the measurements, the overrides, the value reviews;
# governance's panel: the checkpoints (its gate asks them and the contract card's
# evidence: no query of its own), the forecast's queues.
EARLY_PAGE_QUERIES = 18


def with_reviews(stage, *, owner, requested_at=FIXED_NOW - timedelta(days=3), **fields):
    """An initiative in ``stage`` with its checkpoints, none decided (its production
    reviews wait: requested from pilot on, upcoming before)."""
    initiative = InitiativeFactory(stage=stage, contracted=True, owner=owner,
                                   stage_changed_at=FIXED_NOW - timedelta(days=40), **fields)
    services.checkpoints_sync(initiatives=[initiative], actor=owner, now=requested_at)
    return initiative


@pytest.mark.parametrize("stage", ["idea", "assessment", "pilot"])
def test_the_page_before_production_costs_the_same_queries_at_every_stage(
        client, pm, stage, django_assert_num_queries):
    for days in (9, 6):                                  # others in the queues
        with_reviews("pilot", owner=UserFactory(roles=["pm"]),
                     requested_at=FIXED_NOW - timedelta(days=days))
    mine = with_reviews(stage, owner=pm)
    client.force_login(pm)
    client.get(mine.get_absolute_url())                  # the session's first request

    with django_assert_num_queries(EARLY_PAGE_QUERIES):
        response = client.get(mine.get_absolute_url())

    assert response.status_code == 200
    assert "Earliest realistic production date" in response.content.decode()


def test_the_gate_in_the_panel_names_the_contract_blockers_from_the_cards_evidence(
        client, pm):
    mine = with_reviews("pilot", owner=pm)
    Checkpoint.objects.filter(initiative=mine).exclude(type__code="observability").update(
        status="approved", reviewer=UserFactory(roles=["reviewer"]), decided_at=FIXED_NOW)
    measure(mine, Decimal(20), on=date(2026, 10, 20))    # short of the 35% target
    client.force_login(pm)

    body = client.get(mine.get_absolute_url()).content.decode()

    gate = body.split('<div class="next-gate">')[1].split("</div>")[0]
    assert "Entering <strong>production</strong> needs:" in gate
    assert "Observability and monitoring (not started)" in gate
    assert ("the exit contract&#x27;s target: 20% measured on 20 Oct 2026, target 35%, "
            "baseline 18%") in gate
    # The same blockers as the gate asked on its own (governance.services.gate_blockers).
    own = selectors.governance_progress(mine, today=TODAY).next_stage_blockers
    assert own == services.gate_blockers(initiative=mine, to_stage="production",
                                         now=FIXED_NOW)
    assert len(own) == gate.count("<li>")
