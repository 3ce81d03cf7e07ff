"""Each checkpoint rule has one definition in ``governance.models``: a ``Q`` the pages'
SQL is built from (``cleared_q``, ``upcoming_q``, ``overdue_q``, ``out_of_compliance_q``)
beside the ``Checkpoint`` method that answers for rows already fetched. These tests build
every combination of the fields the rules read and prove the two forms agree, through
the paths readers see: the review queue, the list's flag, the panel, the heat map."""

import itertools
from datetime import timedelta

import pytest
from django.db.models import BooleanField, ExpressionWrapper

from governance import selectors
from governance.models import (
    GATED_STAGES,
    Checkpoint,
    CheckpointType,
    cleared_q,
    out_of_compliance_q,
    overdue_q,
    upcoming_q,
)
from portfolio.models import Initiative, Stage
from tests.clients import client_for
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory

pytestmark = pytest.mark.django_db
TODAY = FIXED_NOW.date()
DAY = timedelta(days=1)

# Where a checkpoint can stand as of TODAY: (status, waiver_expires_on).
STANDINGS = [("not_started", None), ("in_review", None), ("rejected", None),
             ("approved", None), ("waived", TODAY - DAY), ("waived", TODAY),
             ("waived", TODAY + DAY)]
DUE_DATES = [TODAY - DAY, TODAY, TODAY + DAY]
RETIRED_AT = [None, FIXED_NOW]       # still applies / stopped applying


@pytest.fixture
def grid(pm, reviewer):
    """One initiative per combination of its stage and its one checkpoint's gate, standing,
    due date and retirement: every value each rule reads, and every pairing of them."""
    types = {gate: CheckpointType.objects.create(
        code=f"rule-{gate}", name=f"Rule check for {gate}", description="Checked.",
        nist_function="map", required_for=gate) for gate in GATED_STAGES}
    team = TeamFactory()
    combinations = list(itertools.product(Stage.values, GATED_STAGES, STANDINGS, DUE_DATES,
                                          RETIRED_AT))
    initiatives = Initiative.objects.bulk_create([
        Initiative(title=f"Combination {n}", team=team, owner=pm, stage=stage,
                   retirement_reason="cost" if stage == Stage.RETIRED else "",
                   created_at=FIXED_NOW, updated_at=FIXED_NOW, stage_changed_at=FIXED_NOW,
                   last_activity_at=FIXED_NOW)
        for n, (stage, *_) in enumerate(combinations)])
    Checkpoint.objects.bulk_create([
        Checkpoint(initiative=initiative, type=types[gate], status=status,
                   waiver_expires_on=expires, waiver_justification="Interim control.",
                   reviewer=reviewer, decided_at=FIXED_NOW, requested_at=FIXED_NOW - 30 * DAY,
                   due_date=due, retired_at=retired)
        for initiative, (_, gate, (status, expires), due, retired)
        in zip(initiatives, combinations, strict=True)])
    rows = list(Checkpoint.objects.filter(type__in=types.values())
                .select_related("initiative", "type"))
    assert len(rows) == len(combinations) == 7 * 4 * 7 * 3 * 2
    return rows


def sql(condition, rows) -> dict[int, bool]:
    """checkpoint id -> whether ``condition`` holds, as the database answers it."""
    return dict(Checkpoint.objects.filter(pk__in=[cp.pk for cp in rows])
                .annotate(holds=ExpressionWrapper(condition, output_field=BooleanField()))
                .values_list("pk", "holds"))


def python(method, rows) -> dict[int, bool]:
    return {cp.pk: method(cp) for cp in rows}


# --- Cleared ------------------------------------------------------------------------------------

def test_cleared_is_approved_or_waived_until_today_or_later_in_sql_and_in_python(grid):
    in_python = python(lambda cp: cp.is_cleared(TODAY), grid)

    assert sql(cleared_q(TODAY), grid) == in_python
    mine = Checkpoint.objects.filter(pk__in=in_python)
    assert set(mine.cleared(TODAY).values_list("pk", flat=True)) == {
        pk for pk, cleared in in_python.items() if cleared}
    assert set(mine.uncleared(TODAY).values_list("pk", flat=True)) == {
        pk for pk, cleared in in_python.items() if not cleared}
    assert {(cp.status, cp.waiver_expires_on) for cp in grid if in_python[cp.pk]} == {
        ("approved", None), ("waived", TODAY), ("waived", TODAY + DAY)}


# --- Upcoming and overdue -----------------------------------------------------------------------

def test_upcoming_and_overdue_are_the_same_in_sql_and_in_python(grid):
    assert sql(upcoming_q(), grid) == python(Checkpoint.is_upcoming, grid)
    assert sql(overdue_q(TODAY), grid) == python(lambda cp: cp.is_overdue(TODAY), grid)
    # Both hold for some rows and not for others: the grid exercises them.
    assert {True, False} == set(python(Checkpoint.is_upcoming, grid).values()) == set(
        python(lambda cp: cp.is_overdue(TODAY), grid).values())


def test_the_review_queue_counts_orders_and_the_api_flags_the_same_rows_overdue(grid):
    queue = selectors.review_queue(today=TODAY, filters={})

    counts = selectors.review_queue_counts(queue, today=TODAY)
    rows = list(selectors.review_queue_rows(queue, today=TODAY))
    overdue = [cp for cp in rows if cp.is_overdue(TODAY)]       # what the API says of each

    assert counts["overdue"] == len(overdue) > 0
    assert [cp.overdue_first == 0 for cp in rows] == [cp.is_overdue(TODAY) for cp in rows]
    assert rows[:len(overdue)] == overdue                      # overdue first
    tab = queue.filter(selectors.QUEUE_FILTERS["overdue"](TODAY))
    assert set(tab.values_list("pk", flat=True)) == {cp.pk for cp in overdue}


# --- Out of compliance --------------------------------------------------------------------------

def test_out_of_compliance_is_the_same_in_sql_and_in_python(grid):
    in_python = python(lambda cp: cp.puts_out_of_compliance(TODAY), grid)

    assert sql(out_of_compliance_q(TODAY), grid) == in_python
    assert {True, False} == set(in_python.values())


def test_the_list_flag_the_panel_and_the_heat_map_agree_on_every_initiative(grid):
    breaches = {cp.initiative_id: cp.puts_out_of_compliance(TODAY) for cp in grid}
    initiatives = Initiative.objects.filter(pk__in=breaches)

    flagged = dict(selectors.with_compliance(initiatives, today=TODAY)
                   .values_list("pk", "out_of_compliance"))
    heat = selectors.heat_map(initiatives.order_by("pk"), today=TODAY)

    assert flagged == breaches
    assert {row.initiative.pk: row.out_of_compliance for row in heat.rows} == breaches
    # Off the lifecycle nothing gates: never out of compliance.
    assert not any(flagged[cp.initiative_id] for cp in grid
                   if cp.initiative.stage in (Stage.PAUSED, Stage.RETIRED))


def test_the_panel_marks_the_checkpoints_that_put_it_out_of_compliance(grid):
    sample = [cp for cp in grid if cp.initiative.stage == Stage.PILOT and cp.due_date == TODAY
              and cp.retired_at is None]
    for checkpoint in sample:
        progress = selectors.governance_progress(checkpoint.initiative, today=TODAY)
        (row,) = progress.rows
        assert row.out_of_compliance == checkpoint.puts_out_of_compliance(TODAY)
        assert bool(progress.out_of_compliance) == row.out_of_compliance


# --- An upcoming review is nowhere overdue ------------------------------------------------------

@pytest.mark.usefixtures("frozen_clock")
def test_an_upcoming_review_past_its_first_due_date_is_overdue_nowhere(client, pm, reviewer):
    # An idea's production review: due 14 days after it started to apply, long ago, but
    # not requested until the initiative reaches pilot.
    initiative = InitiativeFactory(owner=pm, stage=Stage.IDEA, title="Claims triage")
    production = CheckpointType.objects.create(
        code="rule-production", name="Go-live review", description="Checked.",
        nist_function="manage", required_for=Stage.PRODUCTION)
    checkpoint = Checkpoint.objects.create(
        initiative=initiative, type=production, requested_at=FIXED_NOW - 60 * DAY,
        due_date=TODAY - 46 * DAY)

    api = client_for(reviewer)
    assert api.get(f"/api/v1/checkpoints/{checkpoint.pk}/").json()["overdue"] is False
    (row,) = [row for row in api.get(f"/api/v1/initiatives/{initiative.pk}/")
              .json()["governance"]["checkpoints"] if row["id"] == checkpoint.pk]
    assert row["overdue"] is False
    client.force_login(reviewer)
    page = client.get(f"/governance/checkpoints/{checkpoint.pk}/").content.decode()
    assert "Overdue since" not in page
    queue = client.get("/governance/queue/").context["page"].object_list
    assert checkpoint.pk not in [cp.pk for cp in queue]
