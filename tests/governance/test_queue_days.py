"""The forecast's day rows (``governance_queueday``, kept by triggers: migration governance
0008) always equal the review queue as ``in_queue_q`` counts it, whatever writes them —
services, bulk updates, stage moves, retirements, deletions, a type gating another stage —
and the positions read from them equal the positions counted over the whole queue."""

import random
from collections import Counter
from datetime import UTC, timedelta

import pytest
from django.core.management.color import no_style
from django.db import connection

from governance import selectors, services
from governance.models import OPEN_STATUSES, Checkpoint, CheckpointType
from portfolio.models import Initiative
from tests.factories import FIXED_NOW, InitiativeFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]
TODAY = FIXED_NOW.date()
STAGES = ["idea", "assessment", "pilot", "production", "scaled", "paused", "retired"]
STATUSES = ["not_started", "in_review", "rejected", "approved", "waived"]


def day_rows() -> Counter:
    with connection.cursor() as cursor:
        cursor.execute("SELECT type_id, requested_on, queued FROM governance_queueday")
        return Counter({(kind, day): n for kind, day, n in cursor.fetchall() if n})


def queue_by_day() -> Counter:
    """The same, counted over the queue: ``in_queue_q`` with an open status."""
    return Counter((kind, at.astimezone(UTC).date()) for kind, at in (
        Checkpoint.objects.filter(selectors.in_queue_q(TODAY), status__in=OPEN_STATUSES)
        .values_list("type", "requested_at")))


def positions_agree(initiatives) -> int:
    """Every initiative's forecast positions, from the day rows and counted over the queue;
    returns how many checkpoints were compared."""
    compared = 0
    for initiative in initiatives:
        pending = [cp for cp in selectors._applicable_checkpoints(initiative)
                   if not cp.is_cleared(TODAY)]
        if not pending:
            continue
        read = selectors._queue_positions(TODAY, pending)
        counted = selectors._counts_by_type(TODAY, type_ids={cp.type_id for cp in pending},
                                            ahead_of=pending)
        for checkpoint in pending:
            mine = counted.get(checkpoint.type_id, selectors.NO_COUNTS)
            assert read[checkpoint.type_id] == {key: mine[key]
                                                for key in ("backlog", "ahead", "decided")}
            compared += 1
    return compared


def portfolio(rng, size=12):
    reviewer = UserFactory(roles=["reviewer"])
    initiatives = []
    for index in range(size):
        initiative = InitiativeFactory(stage=rng.choice(STAGES[:5]), contracted=True,
                                       risk_tier=rng.choice(["minimal", "limited", "high"]))
        services.checkpoints_sync(
            initiatives=[initiative], actor=initiative.owner,
            now=FIXED_NOW - timedelta(days=rng.randrange(40), hours=rng.randrange(24)))
        initiatives.append(initiative)
        if index % 3 == 0:   # same requested moment as others: ties by id
            Checkpoint.objects.filter(initiative=initiative).update(
                requested_at=FIXED_NOW - timedelta(days=2))
    return initiatives, reviewer


def shuffle_statuses(rng, reviewer):
    for checkpoint in Checkpoint.objects.order_by("pk"):
        status = rng.choice(STATUSES)
        decided = status in ("approved", "rejected", "waived")
        Checkpoint.objects.filter(pk=checkpoint.pk).update(
            status=status, reviewer=reviewer if decided else None,
            decided_at=FIXED_NOW - timedelta(days=rng.randrange(1, 30)) if decided else None,
            waiver_justification="Later." if status == "waived" else "",
            waiver_expires_on=(TODAY + timedelta(days=rng.choice([-3, 0, 5])))
            if status == "waived" else None)


def test_the_day_rows_follow_every_kind_of_write():
    rng = random.Random(22)
    initiatives, reviewer = portfolio(rng)
    assert day_rows() == queue_by_day() != Counter()

    shuffle_statuses(rng, reviewer)                            # decisions, waivers
    assert day_rows() == queue_by_day()

    for initiative in rng.sample(initiatives, 6):              # stage moves, pauses
        Initiative.objects.filter(pk=initiative.pk).update(stage=rng.choice(STAGES),
                                                           retirement_reason="cost")
    assert day_rows() == queue_by_day()

    some = list(Checkpoint.objects.order_by("?")[:10])
    Checkpoint.objects.filter(pk__in=[cp.pk for cp in some[:5]]).update(retired_at=FIXED_NOW)
    Checkpoint.objects.filter(pk__in=[cp.pk for cp in some[5:]]).update(
        requested_at=FIXED_NOW - timedelta(days=11, hours=5))  # moved to another day
    assert day_rows() == queue_by_day()

    CheckpointType.objects.filter(code="observability").update(required_for="scaled")
    assert day_rows() == queue_by_day()

    initiatives[0].delete()                                    # its checkpoints go with it
    Checkpoint.objects.filter(initiative=initiatives[1]).delete()
    assert day_rows() == queue_by_day()


def test_checkpoints_written_before_their_initiative_count_when_it_arrives(pm):
    initiative = InitiativeFactory(stage="pilot", owner=pm, contracted=True)
    services.checkpoints_sync(initiatives=[initiative], actor=pm, now=FIXED_NOW)
    queued = queue_by_day()
    rows = list(Checkpoint.objects.filter(initiative=initiative).values())
    Initiative.objects.filter(pk=initiative.pk).delete()
    assert day_rows() == queue_by_day() == Counter()

    with connection.cursor() as cursor:    # a COPY's order: checkpoints, then the initiative
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    Checkpoint.objects.bulk_create([Checkpoint(**row) for row in rows])
    assert day_rows() == Counter()
    initiative.save(force_insert=True)

    assert day_rows() == queue_by_day() == queued


def test_a_flush_of_the_tables_empties_the_day_rows(pm):
    initiative = InitiativeFactory(stage="pilot", owner=pm, contracted=True)
    services.checkpoints_sync(initiatives=[initiative], actor=pm, now=FIXED_NOW)
    assert day_rows() != Counter()

    # What a transactional test's flush runs (Django's own statements).
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")   # the test's writes are checked
        for statement in connection.ops.sql_flush(
                no_style(), [Checkpoint._meta.db_table, Initiative._meta.db_table],
                allow_cascade=True):
            cursor.execute(statement)

    assert day_rows() == Counter()


def test_positions_read_from_the_day_rows_equal_the_positions_counted_over_the_queue():
    rng = random.Random(8)
    initiatives, reviewer = portfolio(rng, size=16)
    shuffle_statuses(rng, reviewer)
    for initiative in rng.sample(initiatives, 5):
        Initiative.objects.filter(pk=initiative.pk).update(stage=rng.choice(STAGES[:5]))

    assert positions_agree(Initiative.objects.order_by("pk")) > 20
