"""Notification fan-out: events written in one batch and fanned out to the outbox (issue 20).

``portfolio.services.activities_record`` inserts a batch of activities and, in the same
transaction, ``portfolio.notifications.services.events_fan_out`` writes one
``Notification`` row per (event, person) and (event, channel). The events here are
*review requested* on seeded initiatives, each routed to a reviewer group the case
creates: N bench reviewers (active, with an email, in the reviewer role, not stakeholders
of anything), so every event is for exactly those N people, all *immediately* (the
kind's default; nobody has a preference).

Each shape (events × recipients) runs in a savepoint that is rolled back, inside a
transaction that is rolled back too: no outbox row, activity, reviewer or group is left
behind, and the ``on_commit`` callbacks that would queue the sends on Celery are
discarded with it (no broker involved). Queries are counted with
``connection.execute_wrapper`` (the bench middleware's hook) rather than
``CaptureQueriesContext``, which would keep the text of every 2,000-row INSERT.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import Max

from bench.bulk import copy_rows
from portfolio.roles import Role

SHAPES = ((1, 1), (1, 1000), (1000, 1), (1000, 1000))  # (events, recipients)
GROUP_NAME = "Bench fan-out reviewers ({n})"


@dataclass
class Shape:
    events: int
    recipients: int
    median_ms: float
    runs_ms: list[float]
    queries: int                 # every statement of activities_record
    reads: int                   # SELECTs: building the notifications
    inserts: int                 # INSERT statements (activities, then outbox rows)
    outbox_insert_ms: float      # time inside the outbox INSERTs
    outbox_rows: int             # Notification rows written (counted before the rollback)
    peak_rss_mb: float | None = None
    statements: dict = field(default_factory=dict)


class _Undo(Exception):
    pass


class _Counter:
    """Counts statements by their first word; times the outbox INSERTs."""

    def __init__(self, outbox_table: str):
        self.by_verb: dict[str, int] = {}
        self.outbox_ms = 0.0
        self.outbox_table = outbox_table

    def __call__(self, execute, sql, params, many, context):
        verb = sql.lstrip().split(None, 1)[0].upper()
        self.by_verb[verb] = self.by_verb.get(verb, 0) + 1
        if verb == "INSERT" and self.outbox_table in sql[:200]:
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                self.outbox_ms += (time.perf_counter() - started) * 1000
        return execute(sql, params, many, context)


def _reset_peak_rss() -> bool:
    """Reset this process's VmHWM (Linux: "5" to clear_refs), so the case's own peak shows."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _reviewers(count: int, now) -> list[int]:
    """``count`` active reviewers with an email, who own and hold a stake in nothing."""
    user_model = get_user_model()
    first = (user_model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
    role = Group.objects.get(name=Role.REVIEWER).pk
    through = user_model.groups.through
    first_link = (through.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
    ids = list(range(first, first + count))
    copy_rows(user_model, ["id", "password", "username", "first_name", "last_name", "email",
                           "is_active", "date_joined"],
              ((pk, "!", f"fanout{pk}", "Fan-out", f"Reviewer {pk}", f"fanout{pk}@example.com",
                True, now) for pk in ids))
    copy_rows(through, ["id", "user_id", "group_id"],
              ((first_link + n, pk, role) for n, pk in enumerate(ids)))
    return ids


def _group(members: list[int], actor, now) -> int:
    from governance.models import ReviewerGroup
    from governance.services import reviewer_group_save

    group = reviewer_group_save(group=ReviewerGroup(name=GROUP_NAME.format(n=len(members))),
                                actor=actor, now=now)
    through = ReviewerGroup.members.through
    first = (through.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
    copy_rows(through, ["id", "reviewergroup_id", "user_id"],
              ((first + n, group.pk, pk) for n, pk in enumerate(members)))
    return group.pk


def _targets(count: int) -> list[tuple[int, int, int, str]]:
    """(initiative, owner, checkpoint, checkpoint type name) for ``count`` events: one open
    checkpoint each on as many different initiatives as there are (then round again)."""
    from governance.models import OPEN_STATUSES, Checkpoint

    rows = list(Checkpoint.objects.filter(status__in=OPEN_STATUSES,
                                          initiative__owner__isnull=False)
                .order_by("initiative_id", "pk").distinct("initiative_id")
                .values_list("initiative_id", "initiative__owner_id", "pk", "type__name")
                [:count])
    if not rows:
        raise RuntimeError("The bench portfolio has no open checkpoint to request a review of.")
    return [rows[n % len(rows)] for n in range(count)]


def _activities(targets, group_id: int, now):
    from portfolio.models import Activity

    return [Activity(initiative_id=initiative, kind=Activity.Kind.REVIEW_REQUESTED,
                     actor_id=owner, at=now,
                     details={"checkpoints": [{"id": checkpoint, "name": name,
                                               "group": group_id}]})
            for initiative, owner, checkpoint, name in targets]


def _shape(events: int, recipients: int, *, group_id: int, targets, now, runs: int) -> Shape:
    from portfolio.models import Notification
    from portfolio.services import activities_record

    times, counter, written, peak = [], None, 0, None
    for _ in range(runs):
        counter = _Counter(Notification._meta.db_table)
        activities = _activities(targets[:events], group_id, now)
        reset = _reset_peak_rss()
        try:
            with transaction.atomic():
                with connection.execute_wrapper(counter):
                    started = time.perf_counter()
                    created = activities_record(activities=activities, now=now)
                    times.append((time.perf_counter() - started) * 1000)
                written = Notification.objects.filter(activity__in=[a.pk for a in created]
                                                      ).count()
                del created, activities
                raise _Undo
        except _Undo:
            pass
        if reset:
            from bench.measure import peak_rss_mb

            peak = peak_rss_mb(os.getpid())
    by_verb = counter.by_verb
    return Shape(events=events, recipients=recipients, median_ms=statistics.median(times),
                 runs_ms=times, queries=sum(by_verb.values()),
                 reads=by_verb.get("SELECT", 0), inserts=by_verb.get("INSERT", 0),
                 outbox_insert_ms=counter.outbox_ms, outbox_rows=written, peak_rss_mb=peak,
                 statements=dict(by_verb))


def measure(*, n: int = 1000, runs: int = 3, progress=print) -> dict:
    """Every shape of ``SHAPES`` (scaled to ``n``), rolled back. The largest shape runs once;
    the others ``runs`` times (median)."""
    from django.utils import timezone

    now = timezone.now()
    shapes = sorted({(min(e, n), min(r, n)) for e, r in SHAPES})
    results = []
    try:
        with transaction.atomic():
            people = _reviewers(n, now)
            actor = get_user_model().objects.get(pk=people[0])
            groups = {count: _group(people[:count], actor, now)
                      for count in sorted({r for _, r in shapes})}
            targets = _targets(n)
            for events, recipients in shapes:
                big = events * recipients >= n * n and n > 1
                shape = _shape(events, recipients, group_id=groups[recipients],
                               targets=targets, now=now, runs=1 if big else runs)
                results.append(shape)
                progress(f"  fan-out {events:,} event(s) × {recipients:,} recipient(s): "
                         f"{shape.median_ms:,.0f} ms, {shape.queries} queries "
                         f"({shape.reads} reads, {shape.inserts} inserts, outbox inserts "
                         f"{shape.outbox_insert_ms:,.0f} ms), {shape.outbox_rows:,} outbox rows"
                         + (f", peak RSS {shape.peak_rss_mb:,.0f} MiB"
                            if shape.peak_rss_mb else ""))
            raise _Undo
    except _Undo:
        pass
    return {"n": n, "shapes": [asdict(shape) for shape in results]}
