"""The review queue's tab counts are stored (issue 22): the database keeps
``governance.QueueCount`` in every writing transaction, and the whole queue's counts are
summed from it. These tests prove the stored sums equal the queue counted row by row on
every combination the rules read, on any day, and after each kind of write: a decision, a
retirement, a stage move, a re-gated checkpoint type, a deletion, a bulk insert."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance import selectors
from governance.models import Checkpoint, CheckpointType, QueueCount
from portfolio.models import Initiative
from tests.factories import FIXED_NOW, InitiativeFactory, UserFactory
from tests.governance.test_rule_agreement import grid  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db
TODAY = FIXED_NOW.date()
DAY = timedelta(days=1)
QUEUE = "/governance/queue/"


def stored(today=TODAY) -> dict[str, int]:
    return selectors.review_queue_counts(selectors.review_queue(today=today, filters={}),
                                         today=today, filters={})


def counted(today=TODAY) -> dict[str, int]:
    """The same counts, by counting the queue's checkpoints themselves."""
    return selectors.review_queue_counts(selectors.review_queue(today=today, filters={}),
                                         today=today)


@pytest.mark.usefixtures("grid")
@pytest.mark.parametrize("today", [TODAY - DAY, TODAY, TODAY + DAY, TODAY + 30 * DAY])
def test_stored_counts_equal_the_queue_counted_on_every_combination_on_any_day(today):
    assert stored(today) == counted(today)
    assert stored(today)["all"] > stored(today)["overdue"]


def test_the_whole_queue_is_summed_from_the_stored_counts_not_counted(grid):  # noqa: F811
    with CaptureQueriesContext(connection) as queries:
        counts = stored()

    assert counts == counted()
    assert len(queries) == 1
    assert "governance_queuecount" in queries[0]["sql"]
    assert "governance_checkpoint" not in queries[0]["sql"]


def test_stored_counts_stay_exact_after_every_kind_of_write(grid, reviewer):  # noqa: F811
    by_status = {status: [cp.pk for cp in grid if cp.status == status]
                 for status in ("not_started", "in_review", "rejected", "waived")}
    # Decisions: reviews start, are approved and rejected, waivers are given and renewed.
    Checkpoint.objects.filter(pk__in=by_status["not_started"][:40]).update(status="in_review")
    Checkpoint.objects.filter(pk__in=by_status["in_review"][:30]).update(status="approved")
    Checkpoint.objects.filter(pk__in=by_status["in_review"][30:50]).update(status="rejected")
    Checkpoint.objects.filter(pk__in=by_status["rejected"][:20]).update(
        status="waived", waiver_expires_on=TODAY + 9 * DAY)
    Checkpoint.objects.filter(pk__in=by_status["waived"][:20]).update(
        waiver_expires_on=TODAY - 2 * DAY)
    one = Checkpoint.objects.get(pk=by_status["not_started"][50])
    one.due_date, one.status = TODAY - 5 * DAY, "rejected"
    one.reviewer, one.decided_at = reviewer, FIXED_NOW
    one.save()
    assert stored() == counted()
    # Stopping and starting to apply; a later due date after a re-review.
    Checkpoint.objects.filter(pk__in=by_status["not_started"][60:80]).update(
        retired_at=FIXED_NOW)
    Checkpoint.objects.filter(pk__in=by_status["not_started"][70:75]).update(retired_at=None)
    Checkpoint.objects.filter(pk__in=by_status["rejected"][30:40]).update(
        status="not_started", due_date=TODAY + 14 * DAY)
    assert stored() == counted()
    # Initiatives move stage (paused, back on the lifecycle, forward); a type's gate moves.
    ids = sorted({cp.initiative_id for cp in grid})
    Initiative.objects.filter(pk__in=ids[:50]).update(stage="paused")
    Initiative.objects.filter(pk__in=ids[25:40]).update(stage="pilot")
    Initiative.objects.filter(pk__in=ids[100:160]).update(stage="assessment")
    CheckpointType.objects.filter(code="rule-pilot").update(required_for="production")
    assert stored() == counted()
    # A checkpoint moves to another initiative; initiatives and checkpoints are deleted.
    Checkpoint.objects.filter(pk=by_status["in_review"][60]).update(
        initiative_id=InitiativeFactory(stage="idea").pk)
    Initiative.objects.filter(pk__in=ids[200:230]).delete()
    Checkpoint.objects.filter(pk__in=by_status["rejected"][50:60]).delete()
    assert stored() == counted()
    # New checkpoints in bulk, for ten new initiatives.
    fresh = InitiativeFactory.create_batch(10, stage="assessment")
    Checkpoint.objects.bulk_create([
        Checkpoint(initiative=initiative, type=kind, requested_at=FIXED_NOW,
                   due_date=TODAY + offset * DAY, status=status, reviewer=reviewer,
                   decided_at=FIXED_NOW)
        for initiative in fresh
        for offset, (kind, status) in enumerate(zip(
            CheckpointType.objects.filter(code__startswith="rule-"),
            ["not_started", "in_review", "rejected", "not_started"], strict=False), -2)])
    assert stored() == counted()
    assert QueueCount.objects.filter(checkpoints__lt=0).count() == 0


def test_the_page_and_the_api_show_the_stored_counts_and_page_through_the_whole_queue(
        client, reviewer, settings):
    settings.PAGE_SIZE = 2
    kind = CheckpointType.objects.create(code="counted", name="Counted check",
                                         description="Checked.", nist_function="map",
                                         required_for="pilot")
    today = timezone.localdate()
    for days, status in [(-3, "in_review"), (-1, "not_started"), (2, "rejected"),
                         (5, "not_started"), (9, "not_started")]:
        Checkpoint.objects.create(initiative=InitiativeFactory(stage="assessment"), type=kind,
                                  status=status, requested_at=timezone.now(),
                                  due_date=today + days * DAY, reviewer=reviewer,
                                  decided_at=timezone.now())
    client.force_login(reviewer)

    page = client.get(QUEUE, {"page": 3})
    api = client.get("/api/v1/checkpoints/", {"status": "pending", "page_size": 2})

    assert page.context["total"] == 5
    assert {key: count for key, _, count in page.context["tabs"]} == {
        "pending": 3, "in_review": 1, "overdue": 2, "rejected": 1, "lapsed": 0}
    assert page.context["page"].paginator.num_pages == 3
    assert [cp.due_date for cp in page.context["page"].object_list] == [today + 9 * DAY]
    assert api.json()["count"] == 3
    assert [row["due_date"] for row in api.json()["results"]] == [
        (today - DAY).isoformat(), (today + 5 * DAY).isoformat()]


def test_expired_waivers_come_after_every_open_review_overdue_ones_first(client, reviewer):
    kind = CheckpointType.objects.create(code="ordered", name="Ordered check",
                                         description="Checked.", nist_function="map",
                                         required_for="pilot")
    today, now = timezone.localdate(), timezone.now()
    decider = UserFactory(roles=["reviewer"])

    def waiting(title, days, **fields):
        return Checkpoint.objects.create(
            initiative=InitiativeFactory(stage="assessment", title=title), type=kind,
            requested_at=now, due_date=today + days * DAY, **fields)

    lapsed = waiting("Lapsed long ago", -30, status="waived", reviewer=decider, decided_at=now,
                     waiver_justification="Interim control.",
                     waiver_expires_on=today - DAY)
    late = waiting("Late", -2)
    later = waiting("Later", 4, status="in_review", reviewer=decider)
    client.force_login(reviewer)

    rows = client.get(QUEUE).context["page"].object_list

    assert [cp.pk for cp in rows] == [late.pk, later.pk, lapsed.pk]
    assert [cp.is_overdue_now for cp in rows] == [True, False, False]
