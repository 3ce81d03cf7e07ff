"""The review queue's tab counts are stored (issue 22): the database keeps
``governance.QueueCount`` in every writing transaction, and the whole queue's counts are
summed from it. These tests prove the stored sums equal the queue counted row by row on
every combination the rules read, on any day, and after each kind of write: a decision, a
retirement, a stage move, a re-gated checkpoint type, a deletion, a bulk insert. A
reviewer's "mine" is summed from them too: the same proofs on every route (taken, routed
to every reviewer or to a group) and every segregation case (owner, sponsor, Responsible,
Consulted), after takes, releases, re-routes and membership changes. The queue's rows
(``governance.QueueRow``), through which the queue is read in order and a reviewer's own
reviews are counted, are proved equal to the queue after the same writes."""

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.core.management.color import no_style
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance import inbox, selectors, services
from governance.models import (
    Checkpoint,
    CheckpointType,
    QueueCount,
    QueueRow,
    ReviewerGroup,
    cleared_q,
)
from portfolio.models import Initiative, Stakeholder
from portfolio.roles import roles_of
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


# A day after every waiver's expiry: every waiver is back in the queue.
LAST_DAY = date.max
ROW_COLUMNS = ("status", "due_date", "waiver_expires_on", "initiative_id", "reviewer_id",
               "reviewer_group_id")


def assert_rows_exact(*days):
    """The queue's rows are the queue on every day (``in_queue_q``), column for column."""
    for today in (TODAY, LAST_DAY, *days):
        assert set(QueueRow.objects.exclude(cleared_q(today))
                   .values_list("checkpoint_id", *ROW_COLUMNS)) == set(
            Checkpoint.objects.filter(selectors.in_queue_q(today))
            .values_list("pk", *ROW_COLUMNS)), today


@pytest.mark.usefixtures("grid")
@pytest.mark.parametrize("today", [TODAY - DAY, TODAY, TODAY + DAY, TODAY + 30 * DAY])
def test_stored_counts_equal_the_queue_counted_on_every_combination_on_any_day(today):
    assert stored(today) == counted(today)
    assert stored(today)["all"] > stored(today)["overdue"]
    assert_rows_exact(today)


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
    assert_rows_exact()
    # Stopping and starting to apply; a later due date after a re-review.
    Checkpoint.objects.filter(pk__in=by_status["not_started"][60:80]).update(
        retired_at=FIXED_NOW)
    Checkpoint.objects.filter(pk__in=by_status["not_started"][70:75]).update(retired_at=None)
    Checkpoint.objects.filter(pk__in=by_status["rejected"][30:40]).update(
        status="not_started", due_date=TODAY + 14 * DAY)
    assert stored() == counted()
    assert_rows_exact()
    # Initiatives move stage (paused, back on the lifecycle, forward); a type's gate moves.
    ids = sorted({cp.initiative_id for cp in grid})
    Initiative.objects.filter(pk__in=ids[:50]).update(stage="paused")
    Initiative.objects.filter(pk__in=ids[25:40]).update(stage="pilot")
    Initiative.objects.filter(pk__in=ids[100:160]).update(stage="assessment")
    CheckpointType.objects.filter(code="rule-pilot").update(required_for="production")
    assert stored() == counted()
    assert_rows_exact()
    # A checkpoint moves to another initiative; initiatives and checkpoints are deleted.
    Checkpoint.objects.filter(pk=by_status["in_review"][60]).update(
        initiative_id=InitiativeFactory(stage="idea").pk)
    Initiative.objects.filter(pk__in=ids[200:230]).delete()
    Checkpoint.objects.filter(pk__in=by_status["rejected"][50:60]).delete()
    assert stored() == counted()
    assert_rows_exact()
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
    assert_rows_exact()
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


# --- A reviewer's "mine" (the ?mine=1 tab and the inbox's count) --------------------------------

@pytest.fixture
def routed(grid, reviewer, pm):  # noqa: F811
    """The grid's checkpoints spread over every route and every segregation case: taken by
    ``reviewer`` or by another reviewer, untaken and routed to every reviewer, to a group of
    ``reviewer``'s or to another group; on initiatives ``reviewer`` owns, sponsors, is
    Responsible, Consulted or Informed on, or none of these."""
    other = UserFactory(username="other-reviewer", roles=["reviewer"])
    member = UserFactory(username="member-reviewer", roles=["reviewer"])
    mine, theirs = (ReviewerGroup.objects.create(name="Mine"),
                    ReviewerGroup.objects.create(name="Theirs"))
    mine.members.add(reviewer, member)
    theirs.members.add(other)
    ids = [cp.pk for cp in grid]
    untaken = Q(status__in=["not_started", "in_review"])
    Checkpoint.objects.filter(pk__in=ids[1::5]).update(reviewer=other)
    Checkpoint.objects.filter(untaken, pk__in=ids[2::5]).update(reviewer=None)
    Checkpoint.objects.filter(untaken, pk__in=ids[3::5]).update(reviewer=None,
                                                                reviewer_group=mine)
    Checkpoint.objects.filter(untaken, pk__in=ids[4::5]).update(reviewer=None,
                                                                reviewer_group=theirs)
    initiatives = sorted({cp.initiative_id for cp in grid})
    Initiative.objects.filter(pk__in=initiatives[0::7]).update(owner=reviewer)
    Initiative.objects.filter(pk__in=initiatives[1::7]).update(sponsor=reviewer)
    Stakeholder.objects.bulk_create([
        Stakeholder(initiative_id=initiative, user=reviewer, role=role)
        for role, start in (("R", 2), ("C", 3), ("I", 4))
        for initiative in initiatives[start::7]])
    return SimpleNamespace(reviewer=reviewer, other=other, member=member, mine=mine,
                           theirs=theirs, ids=ids, initiatives=initiatives)


def mine_stored(user, today=TODAY) -> dict[str, int]:
    return selectors.review_queue_mine_counts(user, today=today)


def mine_counted(user, today=TODAY) -> dict[str, int]:
    """The same counts, by counting the reviews themselves."""
    return selectors.review_queue_counts(
        selectors.review_queue(today=today, filters={"mine": True}, user=user), today=today)


def assert_mine_exact(*users, today=TODAY):
    for user in users:
        assert mine_stored(user, today) == mine_counted(user, today), user
    assert_rows_exact(today)


@pytest.mark.parametrize("today", [TODAY - DAY, TODAY, TODAY + 30 * DAY])
def test_a_reviewers_stored_counts_equal_their_reviews_counted_on_every_route(routed, today):
    assert_mine_exact(routed.reviewer, routed.other, routed.member, today=today)
    counts = mine_stored(routed.reviewer, today)
    assert counts["all"] > counts["overdue"]
    assert counts["rejected"] > 0
    assert counts["in_review"] > 0
    assert mine_stored(routed.member, today) != mine_stored(routed.reviewer, today)
    # In no group, nothing taken: the reviews routed to every reviewer.
    assert_mine_exact(UserFactory(roles=["reviewer"]), today=today)


def test_a_reviewers_counts_are_summed_from_the_stored_counts_in_one_query(routed):
    roles_of(routed.reviewer)  # cached on the user, as a request does
    with CaptureQueriesContext(connection) as queries:
        counts = mine_stored(routed.reviewer)

    assert counts == mine_counted(routed.reviewer)
    assert len(queries) == 1
    assert "governance_queuecount" in queries[0]["sql"]


def test_a_reviewers_stored_counts_stay_exact_after_every_kind_of_write(routed, pm):
    reviewer, other, member, ids = routed.reviewer, routed.other, routed.member, routed.ids
    everyone = lambda: assert_mine_exact(reviewer, other, member)  # noqa: E731
    # Reviews are taken, handed to another reviewer, released, decided.
    Checkpoint.objects.filter(pk__in=ids[2:60:5], status="not_started").update(
        reviewer=reviewer, status="in_review")
    Checkpoint.objects.filter(pk__in=ids[3:60:5], status="in_review").update(reviewer=other)
    Checkpoint.objects.filter(pk__in=ids[0:60:5], status="in_review").update(reviewer=None)
    Checkpoint.objects.filter(pk__in=ids[60:90:5], status="in_review").update(
        status="rejected", decided_at=FIXED_NOW)
    everyone()
    # Routes change: a review moves to another group, to every reviewer, to a group.
    Checkpoint.objects.filter(pk__in=ids[3:200:5]).update(reviewer_group=routed.theirs)
    Checkpoint.objects.filter(pk__in=ids[4:100:5]).update(reviewer_group=None)
    Checkpoint.objects.filter(pk__in=ids[2:100:5]).update(reviewer_group=routed.mine)
    everyone()
    # Membership changes (nothing stored moves) and a group is deleted (its reviews go to
    # every reviewer).
    routed.theirs.members.add(member)
    routed.mine.members.remove(member)
    everyone()
    routed.theirs.delete()
    everyone()
    # Segregation changes: the reviewer becomes Responsible, owner, sponsor; stops.
    initiatives = routed.initiatives
    Stakeholder.objects.create(initiative_id=initiatives[5], user=reviewer, role="R")
    Stakeholder.objects.filter(initiative_id=initiatives[3], user=reviewer).delete()
    Initiative.objects.filter(pk=initiatives[6]).update(owner=reviewer)
    Initiative.objects.filter(pk=initiatives[13]).update(sponsor=reviewer)
    Initiative.objects.filter(pk=initiatives[0]).update(owner=pm)
    everyone()
    # Stages move, checkpoints retire and come back, are deleted and inserted in bulk.
    Initiative.objects.filter(pk__in=initiatives[:40]).update(stage="paused")
    Initiative.objects.filter(pk__in=initiatives[100:140]).update(stage="assessment")
    Checkpoint.objects.filter(pk__in=ids[200:260]).update(retired_at=FIXED_NOW)
    Checkpoint.objects.filter(pk__in=ids[200:210]).update(retired_at=None)
    Checkpoint.objects.filter(pk__in=ids[300:320]).delete()
    fresh = InitiativeFactory.create_batch(6, stage="assessment", owner=reviewer)
    Checkpoint.objects.bulk_create([
        Checkpoint(initiative=initiative, type=kind, requested_at=FIXED_NOW,
                   due_date=TODAY - DAY, reviewer_group=routed.mine)
        for initiative in fresh[:3] + InitiativeFactory.create_batch(3, stage="assessment")
        for kind in CheckpointType.objects.filter(code__startswith="rule-")])
    everyone()
    assert stored() == counted()
    assert QueueCount.objects.filter(checkpoints__lt=0).count() == 0


def test_the_inbox_counts_the_reviews_it_lists(routed):
    for user in (routed.reviewer, routed.other, routed.member):
        listed = inbox.reviews_waiting(user, FIXED_NOW)
        assert inbox.reviews_waiting_count(user, FIXED_NOW) == len(listed) > 0
        assert len(listed) == mine_counted(user)["all"] - mine_counted(user)["rejected"]


def test_other_databases_count_a_reviewers_reviews_with_the_same_answer(routed, monkeypatch):
    expected = mine_stored(routed.reviewer)
    monkeypatch.setattr(connection, "vendor", "sqlite")

    with CaptureQueriesContext(connection) as queries:
        assert mine_stored(routed.reviewer) == expected
    assert "governance_queuecount" not in queries[0]["sql"]


def test_the_queue_read_through_its_rows_is_in_the_queues_order_on_every_tab(
        routed, monkeypatch):
    Checkpoint.objects.filter(pk__in=routed.ids[::4], status="rejected").update(
        status="waived", waiver_justification="Interim control.",
        waiver_expires_on=TODAY - DAY)
    queues = [selectors.review_queue(today=TODAY, filters={}),
              selectors.review_queue(today=TODAY, filters={"mine": True},
                                     user=routed.reviewer)]
    tabs = ["", *selectors.QUEUE_FILTERS]

    def read():
        return [[list(selectors.review_queue_rows(queue, today=TODAY, tab=tab)
                      .values_list("pk", flat=True)) for tab in tabs] for queue in queues]

    through_rows = read()
    listed = [item.link for item in inbox.reviews_waiting(routed.reviewer, FIXED_NOW)]
    assert "governance_queuerow" in str(selectors.review_queue_rows(
        queues[0], today=TODAY, tab="overdue").query)
    monkeypatch.setattr(connection, "vendor", "sqlite")   # the checkpoints' own order

    assert through_rows == read()
    assert listed == [item.link for item in inbox.reviews_waiting(routed.reviewer,
                                                                  FIXED_NOW)]
    whole, mine = through_rows
    assert all(whole)
    assert len(whole[0]) > len(mine[0]) > 0
    assert Checkpoint.objects.get(pk=whole[0][-1]).status == "waived"


def test_checkpoints_written_before_their_initiative_join_the_queue_rows_when_it_arrives(
        pm):
    initiative = InitiativeFactory(stage="pilot", owner=pm, contracted=True)
    services.checkpoints_sync(initiatives=[initiative], actor=pm, now=FIXED_NOW)
    queued = set(QueueRow.objects.values_list("checkpoint_id", flat=True))
    rows = list(Checkpoint.objects.filter(initiative=initiative).values())
    Initiative.objects.filter(pk=initiative.pk).delete()
    assert queued
    assert not QueueRow.objects.exists()

    with connection.cursor() as cursor:    # a COPY's order: checkpoints, then the initiative
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    Checkpoint.objects.bulk_create([Checkpoint(**row) for row in rows])
    assert not QueueRow.objects.exists()
    initiative.save(force_insert=True)

    assert set(QueueRow.objects.values_list("checkpoint_id", flat=True)) == queued
    assert_rows_exact()


def test_a_flush_of_the_tables_empties_the_queue_rows(pm):
    initiative = InitiativeFactory(stage="pilot", owner=pm, contracted=True)
    services.checkpoints_sync(initiatives=[initiative], actor=pm, now=FIXED_NOW)
    assert QueueRow.objects.exists()

    with connection.cursor() as cursor:   # what a transactional test's flush runs
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for statement in connection.ops.sql_flush(
                no_style(), [Checkpoint._meta.db_table, Initiative._meta.db_table],
                allow_cascade=True):
            cursor.execute(statement)

    assert not QueueRow.objects.exists()


def test_the_mine_tab_shows_the_stored_counts(client, routed, settings):
    client.force_login(routed.reviewer)

    page = client.get(QUEUE, {"mine": 1})

    counts = mine_counted(routed.reviewer, today=timezone.localdate())
    assert counts["overdue"] > 0
    assert page.context["total"] == counts["all"]
    assert {key: count for key, _, count in page.context["tabs"]} == {
        key: counts[key] for key in ("pending", "in_review", "overdue", "rejected", "lapsed")}
    assert len(page.context["page"].object_list) == min(counts["all"], settings.PAGE_SIZE)
