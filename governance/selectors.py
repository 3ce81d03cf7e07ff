"""Governance reads: compliance flags, an initiative's progress, the heat map, reviewer
capacity and the queue-aware production forecast.

Everything takes ``today`` (or ``now``) from the caller; nothing reads the clock.
"""

from __future__ import annotations

import math
import operator
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from functools import reduce

from django.conf import settings
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from governance.models import (
    OPEN_STATUSES,
    QUEUE_LAPSED_LAST,
    QUEUE_STATUSES,
    ROUTE_EVERYONE,
    Checkpoint,
    CheckpointStatus,
    CheckpointType,
    QueueCount,
    QueueRow,
    ReviewerGroup,
    cleared_q,
    out_of_compliance_q,
    overdue_q,
    upcoming_q,
)
from governance.services import gate_blockers_given
from portfolio.access import require_reader
from portfolio.models import STAGE_ORDER, Activity, Initiative, Stage, Stakeholder
from portfolio.outcomes.contract import Evidence
from portfolio.outcomes.selectors import contract_evidence
from portfolio.roles import Role, roles_of

DECIDED_STATUSES = [CheckpointStatus.APPROVED, CheckpointStatus.REJECTED,
                    CheckpointStatus.WAIVED]


# --- Out of compliance ----------------------------------------------------------------------

def with_compliance(queryset: QuerySet[Initiative], *, today: date) -> QuerySet[Initiative]:
    """Annotate ``out_of_compliance``: in SQL, one ``EXISTS`` per row, no extra query.

    An initiative is out of compliance when one of its checkpoints puts it there
    (``governance.models.out_of_compliance_q``: applicable, not cleared as of ``today``,
    gating its current stage or an earlier one). Off the lifecycle (paused, retired)
    nothing gates, so the subquery is skipped there.
    """
    breaching = Checkpoint.objects.filter(out_of_compliance_q(today), initiative=OuterRef("pk"))
    return queryset.annotate(out_of_compliance=ExpressionWrapper(
        Q(stage__in=STAGE_ORDER) & Exists(breaching), output_field=BooleanField()))


def annotate_lists(queryset: QuerySet[Initiative], *, now: datetime) -> QuerySet[Initiative]:
    """Portfolio's list hook (``portfolio.hooks.LIST_ANNOTATIONS``)."""
    return with_compliance(queryset, today=timezone.localdate(now))


def _out_of_compliance(checkpoints: list[Checkpoint], today: date) -> list[Checkpoint]:
    """The checkpoints that put their initiative out of compliance, from rows already
    fetched (``Checkpoint.puts_out_of_compliance``)."""
    return [cp for cp in checkpoints if cp.puts_out_of_compliance(today)]


# --- One initiative's progress ------------------------------------------------------------------

@dataclass(frozen=True)
class CheckpointRow:
    checkpoint: Checkpoint
    status: str                  # a CheckpointStatus value, or "waiver_expired"
    label: str
    cleared: bool
    overdue: bool
    gating_now: bool             # gates the current stage or an earlier one
    upcoming: bool = False       # gates a later stage than the next: not requested yet
    out_of_compliance: bool = False  # it puts the initiative out of compliance


@dataclass(frozen=True)
class Progress:
    cleared: int                 # approved, or waived and unexpired
    total: int                   # applicable checkpoints
    next_stage: str | None       # the next forward stage, None past the last or off-lifecycle
    next_stage_label: str
    next_stage_blockers: list[str]
    out_of_compliance: list[Checkpoint]
    rows: list[CheckpointRow]    # every applicable checkpoint, by gated stage then name
    open_rows: list[CheckpointRow] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return round(100 * self.cleared / self.total) if self.total else 100


def _row(checkpoint: Checkpoint, today: date) -> CheckpointRow:
    """What a page shows of one checkpoint, its initiative and type already fetched."""
    cleared = checkpoint.is_cleared(today)
    expired = checkpoint.status == CheckpointStatus.WAIVED and not cleared
    return CheckpointRow(
        checkpoint=checkpoint,
        status="waiver_expired" if expired else checkpoint.status,
        label="Waiver expired" if expired else checkpoint.get_status_display(),
        cleared=cleared,
        overdue=checkpoint.is_overdue(today),
        gating_now=checkpoint.type.gates(checkpoint.initiative.stage),
        upcoming=checkpoint.is_upcoming(),
        out_of_compliance=checkpoint.puts_out_of_compliance(today),
    )


def _next_stage(stage: str) -> str | None:
    if stage not in STAGE_ORDER or stage == STAGE_ORDER[-1]:
        return None
    return STAGE_ORDER[STAGE_ORDER.index(stage) + 1]


def _applicable_checkpoints(initiative: Initiative) -> list[Checkpoint]:
    return list(Checkpoint.objects.applicable().filter(initiative=initiative)
                .select_related("type", "reviewer"))


def _by_gate(checkpoint: Checkpoint) -> tuple:
    return (STAGE_ORDER.index(checkpoint.type.required_for), checkpoint.type.name)


def governance_progress(initiative: Initiative, *, today: date,
                        checkpoints: list[Checkpoint] | None = None,
                        evidence: Evidence | None = None) -> Progress:
    """Where the initiative stands with governance, as of ``today``.

    Cleared over applicable checkpoints; the next forward stage and everything that blocks
    it (``governance.services.gate_blockers_given``, the one gate, asked with the
    checkpoints read here); the checkpoints that put it out of compliance; every applicable
    checkpoint with its due date and overdue flag.
    Queries: the checkpoints (unless given), and the gate's evidence when the next stage is
    production or later (``contract_evidence``, two; none when ``evidence`` is given).
    """
    if checkpoints is None:
        checkpoints = _applicable_checkpoints(initiative)
    checkpoints = sorted(checkpoints, key=_by_gate)
    for checkpoint in checkpoints:
        checkpoint.initiative = initiative  # its own: the rules read the stage, no query
    rows = [_row(cp, today) for cp in checkpoints]
    next_stage = _next_stage(initiative.stage)
    blockers = []
    if next_stage:
        if evidence is None:
            evidence = (contract_evidence(initiative) if STAGE_ORDER.index(next_stage)
                        >= STAGE_ORDER.index(Stage.PRODUCTION) else Evidence())
        blockers = gate_blockers_given(
            initiative=initiative, to_stage=next_stage, today=today, evidence=evidence,
            open_checkpoints=[cp for cp, row in zip(checkpoints, rows, strict=True)
                              if not row.cleared])
    return Progress(
        cleared=sum(row.cleared for row in rows), total=len(rows),
        next_stage=next_stage, next_stage_label=Stage(next_stage).label if next_stage else "",
        next_stage_blockers=blockers,
        out_of_compliance=_out_of_compliance(checkpoints, today),
        rows=rows, open_rows=[row for row in rows if not row.cleared],
    )


# --- The heat map -------------------------------------------------------------------------------

NOT_APPLICABLE = "not_applicable"
WAIVER_EXPIRED = "waiver_expired"


@dataclass(frozen=True)
class HeatCell:
    status: str                  # a CheckpointStatus value, "waiver_expired" or "not_applicable"
    label: str
    checkpoint_id: int | None = None
    overdue: bool = False


@dataclass(frozen=True)
class HeatRow:
    initiative: Initiative
    cells: list[HeatCell]        # one per column, in ``HeatMap.types`` order
    out_of_compliance: bool


@dataclass(frozen=True)
class HeatMap:
    types: list[CheckpointType]
    rows: list[HeatRow]


_NOT_APPLICABLE_CELL = HeatCell(status=NOT_APPLICABLE, label="Not applicable")


def heat_map(initiatives, *, today: date) -> HeatMap:
    """Initiatives × checkpoint types -> status, for the dashboard.

    ``initiatives``: a queryset (evaluated here, one query) or a list already fetched.
    Columns: the active types, plus any retired type still applicable to one of the rows.
    A cell is the checkpoint's status; "waiver_expired" for a waiver past its expiry;
    "not_applicable" when the type does not (or no longer) apply to the initiative.
    Queries: the initiatives (none for a list), the active types, the checkpoints.
    """
    initiatives = list(initiatives)
    types = {t.pk: t for t in CheckpointType.objects.filter(active=True)}
    by_initiative: dict[int, dict[int, Checkpoint]] = defaultdict(dict)
    if initiatives:
        for checkpoint in (Checkpoint.objects.applicable()
                           .filter(initiative__in=[i.pk for i in initiatives])
                           .select_related("type")
                           .only("id", "initiative_id", "status", "due_date",
                                 "waiver_expires_on", "retired_at", "type")):
            by_initiative[checkpoint.initiative_id][checkpoint.type_id] = checkpoint
            types.setdefault(checkpoint.type_id, checkpoint.type)
    columns = sorted(types.values(), key=lambda t: (STAGE_ORDER.index(t.required_for), t.name))
    rows = []
    for initiative in initiatives:
        mine = by_initiative.get(initiative.pk, {})
        cells = []
        for column in columns:
            checkpoint = mine.get(column.pk)
            if checkpoint is None:
                cells.append(_NOT_APPLICABLE_CELL)
                continue
            checkpoint.initiative = initiative
            row = _row(checkpoint, today)
            cells.append(HeatCell(status=row.status, label=row.label,
                                  checkpoint_id=checkpoint.pk, overdue=row.overdue))
        rows.append(HeatRow(initiative=initiative, cells=cells, out_of_compliance=bool(
            _out_of_compliance(list(mine.values()), today))))
    return HeatMap(types=columns, rows=rows)


# --- Reviewer capacity and the queue-aware forecast (docs/architecture.md, "Governance") ------

# The measured pace counts the decisions of this many full weeks (Monday to Sunday) before
# the current one.
PACE_WEEKS = 4

# Where a type's throughput comes from, in the order they are tried, with the words pages use.
SET_BY_ADMINS = "configured"
MEASURED = "measured"
FROM_REVIEW_TIME = "review_time"
PACE_SOURCES = {
    SET_BY_ADMINS: "set by admins",
    MEASURED: f"measured over the last {PACE_WEEKS} weeks",
    FROM_REVIEW_TIME: "from the expected review time",
}


def in_queue_q(today: date) -> Q:
    """In the review queue: applicable (not retired), not cleared, requested (not upcoming)
    and its initiative on the lifecycle — ``review_queue``'s rows as one ``Q``, so the
    queue page, the backlog and the queue positions count the same checkpoints. In Python:
    ``_in_queue``. (The status list adds nothing to ``~cleared_q``; it lets PostgreSQL read
    the few open rows through the ``checkpoint_queue`` index instead of every decided one,
    and matches the predicate of ``checkpoint_queue_rows``, the page's index elsewhere than
    on PostgreSQL, where ``QueueRow`` holds the queue's rows: ``queue_ordered``.)"""
    return (Q(retired_at__isnull=True) & Q(status__in=QUEUE_STATUSES)
            & ~cleared_q(today) & Q(initiative__stage__in=STAGE_ORDER) & ~upcoming_q())


def _in_queue(checkpoint: Checkpoint, today: date) -> bool:
    return (checkpoint.retired_at is None and not checkpoint.is_cleared(today)
            and checkpoint.initiative.stage in STAGE_ORDER and not checkpoint.is_upcoming())


def pace_window(today: date) -> tuple[datetime, datetime]:
    """The last ``PACE_WEEKS`` full weeks before ``today``'s: from a Monday at midnight to
    the Monday of ``today``'s week (excluded), in the current time zone."""
    end = today - timedelta(days=today.weekday())
    start = end - timedelta(weeks=PACE_WEEKS)
    zone = timezone.get_current_timezone()
    return (datetime.combine(start, time(0), tzinfo=zone),
            datetime.combine(end, time(0), tzinfo=zone))


def decided_in_window_q(today: date) -> Q:
    """Decided (approved, rejected or waived) inside ``pace_window(today)``."""
    start, end = pace_window(today)
    return Q(status__in=DECIDED_STATUSES, decided_at__gte=start, decided_at__lt=end)


@dataclass(frozen=True)
class Throughput:
    """How many reviews of a type the reviewers decide in a week, and where that comes from."""

    per_week: Fraction
    source: str                  # a key of PACE_SOURCES
    decided: int = 0             # decisions in the measuring window

    @property
    def source_label(self) -> str:
        return PACE_SOURCES[self.source]

    @property
    def per_week_rounded(self) -> float:
        """For pages: one decimal place."""
        return round(float(self.per_week), 1)

    def wait_days(self, position: int) -> int:
        """Days until the review at ``position`` in the queue is decided: ``position`` ÷
        reviews per week, in days, rounded up."""
        return math.ceil(position * 7 / self.per_week)


def throughput(checkpoint_type: CheckpointType, *, decided: int) -> Throughput:
    """A type's reviews per week: the admins' ``reviews_per_week`` if set; else the pace
    measured over the last ``PACE_WEEKS`` full weeks (``decided`` decisions ÷
    ``PACE_WEEKS``); else — nothing decided in that time — one review per ``review_days``
    days (the catalogue's expected review time), as a last resort."""
    if checkpoint_type.reviews_per_week is not None:
        return Throughput(per_week=Fraction(checkpoint_type.reviews_per_week),
                          source=SET_BY_ADMINS, decided=decided)
    if decided:
        return Throughput(per_week=Fraction(decided, PACE_WEEKS), source=MEASURED,
                          decided=decided)
    return Throughput(per_week=Fraction(7, max(checkpoint_type.review_days, 1)),
                      source=FROM_REVIEW_TIME)


@dataclass(frozen=True)
class ExpectedDecision:
    checkpoint: Checkpoint
    requested: bool              # in the queue now; False: not requested yet
    position: int                # its place in its type's queue, 1 = decided next
    throughput: Throughput
    wait_days: int
    expected_on: date


@dataclass(frozen=True)
class Forecast:
    earliest_production: date
    target: date | None
    warning: bool                # the forecast is after the target production date
    pending: list[ExpectedDecision]   # the open checkpoints it waits on, latest first

    @property
    def days_late(self) -> int:
        return (self.earliest_production - self.target).days if self.warning else 0


def production_forecast(initiative: Initiative, *, today: date,
                        checkpoints: list[Checkpoint] | None = None) -> Forecast:
    """The earliest realistic production date, from the queue in front of each review and
    how fast reviewers get through it.

    Method: take every applicable checkpoint that gates production or an earlier stage and
    is not cleared (approved, or waived and unexpired, as of ``today``). Each waits for its
    place in its type's queue (``in_queue_q``: first requested, first decided — by
    ``requested_at``, then id): a requested one is at position 1 + the queued checkpoints
    of its type requested before it; one not requested yet (upcoming) is assumed to join
    the back of the queue today, at position 1 + the type's backlog. It is expected
    ``position`` ÷ ``throughput`` weeks from ``today`` (in days, rounded up): "7th in the
    queue; reviewers decide about 3 a week: about 17 days".

    No floor from past lead times: the queue and the current pace already say how long the
    wait is, and a median of past lead times holds past queues, so it would count the
    wait twice. Reviews of different types run in parallel, so the forecast is the
    latest of the dates, or ``today`` when nothing is open; ``warning`` is set when it
    falls after ``initiative.target_production_date``. Other blockers (the exit contract,
    the measured result) are not dated, so not counted.
    Queries: the checkpoints (unless given), and one for every pending checkpoint's queue
    position, its type's backlog and its type's decisions in the pace window
    (``_queue_positions``; none when nothing is pending) — however large the portfolio,
    and at a cost that does not grow with the queues.
    """
    if checkpoints is None:
        checkpoints = _applicable_checkpoints(initiative)
    open_ones = [cp for cp in checkpoints
                 if cp.retired_at is None and not cp.is_cleared(today)
                 and cp.type.gates(Stage.PRODUCTION)]
    counts = _queue_positions(today, open_ones) if open_ones else {}
    pending = []
    for checkpoint in open_ones:
        checkpoint.initiative = initiative  # its own: the rules read the stage, no query
        mine = counts.get(checkpoint.type_id, NO_COUNTS)
        requested = _in_queue(checkpoint, today)
        position = 1 + (mine["ahead"] if requested else mine["backlog"])
        pace = throughput(checkpoint.type, decided=mine["decided"])
        wait = pace.wait_days(position)
        pending.append(ExpectedDecision(
            checkpoint=checkpoint, requested=requested, position=position, throughput=pace,
            wait_days=wait, expected_on=today + timedelta(days=wait)))
    pending.sort(key=lambda p: (p.expected_on, p.checkpoint.type.name), reverse=True)
    earliest = pending[0].expected_on if pending else today
    target = initiative.target_production_date
    return Forecast(earliest_production=earliest, target=target,
                    warning=target is not None and earliest > target, pending=pending)


def _counts_by_type(today: date, *, type_ids=None,
                    ahead_of: list[Checkpoint] = ()) -> dict[int, dict[str, int]]:
    """Type id -> its ``backlog`` (``in_queue_q``), how many of those are ``overdue``, its
    ``decided`` in the pace window and, for the one checkpoint of ``ahead_of`` of that type,
    the queued ones requested before it (``ahead``: by ``requested_at``, then id). One
    query: a single pass over the open and recently decided checkpoints of those types."""
    queued, decided = in_queue_q(today), decided_in_window_q(today)
    before = reduce(operator.or_, (
        Q(type_id=cp.type_id) & (Q(requested_at__lt=cp.requested_at)
                                 | Q(requested_at=cp.requested_at, pk__lt=cp.pk))
        for cp in ahead_of), Q(pk=None))    # no checkpoint: nothing is ahead
    rows = Checkpoint.objects.filter(queued | decided)
    if type_ids is not None:
        rows = rows.filter(type__in=type_ids)
    return {row.pop("type"): row for row in (
        rows.values("type").order_by()
        .annotate(backlog=Count("pk", filter=queued),
                  overdue=Count("pk", filter=queued & overdue_q(today)),
                  decided=Count("pk", filter=decided),
                  ahead=Count("pk", filter=queued & before)))}


NO_COUNTS = {"backlog": 0, "overdue": 0, "decided": 0, "ahead": 0}


# The forecast's day rows (migration governance 0008): a type's open, requested checkpoints
# counted per UTC day of ``requested_at``, kept by triggers.
_QUEUED_DAYS = ('SELECT coalesce(sum(q.queued), 0) FROM governance_queueday q '
                'WHERE q.type_id = "governance_checkpoint"."type_id"')
_BEFORE_ITS_DAY = (' AND q.requested_on < ("governance_checkpoint"."requested_at" '
                   "AT TIME ZONE 'UTC')::date")


def _number(queryset: QuerySet) -> Coalesce:
    """How many rows ``queryset`` (filtered on an ``OuterRef``) holds, as a subquery."""
    return Coalesce(Subquery(queryset.order_by().values("type")
                             .annotate(n=Count("*")).values("n")[:1]), 0)


def _queue_positions(today: date, pending: list[Checkpoint]) -> dict[int, dict[str, int]]:
    """For each of ``pending`` (one initiative's checkpoints, one per type): its type's
    ``backlog``, the queued ones requested before it (``ahead``) and its type's ``decided``
    in the pace window — what ``_counts_by_type`` counts, in one query whose cost does not
    grow with the queues. The open statuses are summed from ``governance_queueday`` (one
    row per type and day, kept by triggers: migration governance 0008), before its day for
    ``ahead``; what the day rows leave out is counted live, on indexes: the waived ones
    (a lapsed waiver rejoins the queue with the date) and the queue of its own day. The
    decisions are read from an index alone. Elsewhere than PostgreSQL: ``_counts_by_type``.
    """
    if connection.vendor != "postgresql":
        return _counts_by_type(today, type_ids={cp.type_id for cp in pending},
                               ahead_of=pending)
    queued = Checkpoint.objects.filter(in_queue_q(today), type=OuterRef("type"))
    # Lapsed: ``in_queue_q`` says it, the expiry (said again) reads the index by date.
    waived = queued.filter(status=CheckpointStatus.WAIVED, waiver_expires_on__lt=today)
    its_day = Func(OuterRef("requested_at"), output_field=DateTimeField(),  # its UTC midnight
                   template="date_trunc('day', %(expressions)s AT TIME ZONE 'UTC') "
                            "AT TIME ZONE 'UTC'")
    before_it = (Q(requested_at__lt=OuterRef("requested_at"))
                 | Q(requested_at=OuterRef("requested_at"), pk__lt=OuterRef("pk")))
    rows = (Checkpoint.objects.filter(pk__in=[cp.pk for cp in pending]).order_by()
            .annotate(days=RawSQL(_QUEUED_DAYS, ()),
                      days_before=RawSQL(_QUEUED_DAYS + _BEFORE_ITS_DAY, ()),
                      waived_all=_number(waived),
                      waived_before=_number(waived.filter(requested_at__lt=its_day)),
                      same_day=_number(queued.filter(before_it, requested_at__gte=its_day)),
                      decided_now=_number(Checkpoint.objects.filter(
                          decided_in_window_q(today), type=OuterRef("type"))))
            .values_list("type", "days", "days_before", "waived_all", "waived_before",
                         "same_day", "decided_now"))
    return {kind: {"backlog": days + waived_all, "decided": decided,
                   "ahead": days_before + waived_before + same_day}
            for kind, days, days_before, waived_all, waived_before, same_day, decided in rows}


# --- Review capacity per checkpoint type (the dashboard) ------------------------------------

@dataclass(frozen=True)
class ReviewCapacityRow:
    type: CheckpointType
    backlog: int                 # in the review queue (``in_queue_q``)
    overdue: int                 # of those, past their due date (``overdue_q``)
    throughput: Throughput
    wait_days: int               # for a review requested today: (backlog + 1) ÷ throughput


def review_capacity(*, today: date) -> list[ReviewCapacityRow]:
    """Per active checkpoint type, by the stage it gates then name: its backlog (the review
    queue's checkpoints of that type, as the queue page counts them), how many of them are
    overdue, its throughput (``throughput``: set by admins, measured, or from the expected
    review time) and the wait of a review requested today, at the back of the queue:
    (backlog + 1) ÷ throughput, in days rounded up.
    Queries: the types; the counts of all types at once — two, however large the portfolio.
    """
    types = sorted(CheckpointType.objects.filter(active=True),
                   key=lambda t: (STAGE_ORDER.index(t.required_for), t.name))
    counts = _counts_by_type(today)
    rows = []
    for kind in types:
        row = counts.get(kind.pk, NO_COUNTS)
        pace = throughput(kind, decided=row["decided"])
        rows.append(ReviewCapacityRow(type=kind, backlog=row["backlog"], overdue=row["overdue"],
                                      throughput=pace,
                                      wait_days=pace.wait_days(row["backlog"] + 1)))
    return rows


# --- The initiative page's panel ------------------------------------------------------------------

def governance_panel_context(*, initiative: Initiative, today: date) -> dict:
    """What the Governance panel shows. Queries: the checkpoints; the gate's evidence unless
    the page read it already (``initiative.gate_evidence``: the initiative page sets it from
    its contract card, so the panel costs the same queries at every stage); and — before
    production only, with a review pending — the queue facts of the forecast."""
    checkpoints = _applicable_checkpoints(initiative)
    progress = governance_progress(initiative, today=today, checkpoints=checkpoints,
                                   evidence=getattr(initiative, "gate_evidence", None))
    forecast = None
    if initiative.stage in STAGE_ORDER and (STAGE_ORDER.index(initiative.stage)
                                            < STAGE_ORDER.index(Stage.PRODUCTION)):
        forecast = production_forecast(initiative, today=today, checkpoints=checkpoints)
    return {"initiative": initiative, "progress": progress, "forecast": forecast,
            "today": today}


# --- The review queue and the decision page --------------------------------------------------

# What each queue tab selects among applicable, uncleared checkpoints.
QUEUE_FILTERS = {
    "pending": lambda today: Q(status=CheckpointStatus.NOT_STARTED),
    "in_review": lambda today: Q(status=CheckpointStatus.IN_REVIEW),
    "overdue": overdue_q,
    "rejected": lambda today: Q(status=CheckpointStatus.REJECTED),
    "lapsed": lambda today: Q(status=CheckpointStatus.WAIVED),  # uncleared: its waiver expired
}


def decidable_by_q(user) -> Q:
    """The checkpoints ``user`` may decide, as a ``Q``: ``services.decide_refusal`` in SQL
    (an active reviewer, on an initiative they neither own nor sponsor nor hold a role on
    that ``SEGREGATED_ROLES`` names). tests/governance/test_segregation.py proves the two
    agree."""
    if not user.is_active or Role.REVIEWER not in roles_of(user):
        return Q(pk__in=[])
    rule = ~Q(initiative__owner=user) & ~Q(initiative__sponsor=user)
    roles = list(settings.SEGREGATED_ROLES)
    if roles:
        rule &= ~Exists(Stakeholder.objects.filter(initiative=OuterRef("initiative_id"),
                                                   user=user, role__in=roles))
    return rule


def routed_to_q(user) -> Q:
    """Taken by ``user``, or not taken and routed to a reviewer group they are a member of
    or to no group (every reviewer). Their groups are read once (a hashed subquery), not
    once per checkpoint."""
    groups = (ReviewerGroup.members.through.objects.filter(user_id=user.pk)
              .values("reviewergroup_id"))
    return Q(reviewer=user) | (Q(reviewer__isnull=True)
                               & (Q(reviewer_group__isnull=True)
                                  | Q(reviewer_group__in=groups)))


def _initiative_search_q(text: str) -> Q:
    """``#123`` is initiative 123; ``123`` is that initiative or a title holding "123";
    anything else: a title holding every word."""
    text = text.strip()
    if re.fullmatch(r"#\d{1,18}", text):
        return Q(initiative_id=int(text[1:]))
    words = text.split()
    title = reduce(operator.and_, (Q(initiative__title__icontains=w) for w in words), Q())
    if re.fullmatch(r"\d{1,18}", text):
        return Q(initiative_id=int(text)) | title
    return title


def review_queue(*, today: date, filters: dict, user=None) -> QuerySet[Checkpoint]:
    """Checkpoints a reviewer has to clear now: applicable, not approved, no live waiver,
    gating the initiative's next stage or an earlier one (later gates are upcoming; paused
    and retired initiatives wait). ``filters``: type, team, ``q`` (the initiative: words of
    its title, or ``#id``), ``group`` (a reviewer group: the ones routed to it) and
    ``mine`` (what ``user`` may act on: ``routed_to_q`` and ``decidable_by_q``). The tab
    is applied after (``review_queue_rows``), so the tab counts share this queryset.
    (``in_queue_q``: its status list matches the ``checkpoint_queue_rows`` index; on
    PostgreSQL a page is read through ``QueueRow``: ``queue_ordered``.)"""
    queue = Checkpoint.objects.filter(in_queue_q(today))
    if filters.get("type"):
        queue = queue.filter(type=filters["type"])
    if filters.get("team"):
        queue = queue.filter(initiative__team=filters["team"])
    if filters.get("q", "").strip():
        queue = queue.filter(_initiative_search_q(filters["q"]))
    if filters.get("group"):
        queue = queue.filter(reviewer_group=filters["group"])
    if filters.get("mine") and user is not None:
        queue = queue.filter(routed_to_q(user) & decidable_by_q(user))
    return queue


# The filters that narrow the queue (the tab and the grouping do not).
QUEUE_NARROWING = ("q", "type", "team", "group", "mine")

# ``QUEUE_FILTERS`` over ``QueueCount``'s columns: ``day`` is the due date of an open
# review and the expiry of a waiver. tests/governance/test_queue_counts.py proves the
# stored sums equal the queue counted row by row.
_STORED_TABS = {
    "pending": lambda today: Q(status=CheckpointStatus.NOT_STARTED),
    "in_review": lambda today: Q(status=CheckpointStatus.IN_REVIEW),
    "overdue": lambda today: Q(status__in=OPEN_STATUSES, day__lt=today),
    "rejected": lambda today: Q(status=CheckpointStatus.REJECTED),
    "lapsed": lambda today: Q(status=CheckpointStatus.WAIVED),
}


def review_queue_counts(queue: QuerySet[Checkpoint], *, today: date,
                        filters: dict | None = None, user=None) -> dict[str, int]:
    """How many checkpoints each tab holds, in one query.

    The whole queue (``filters`` given and none of ``QUEUE_NARROWING`` set) is summed from
    ``QueueCount`` on PostgreSQL: exact — the database keeps those counts in every writing
    transaction — and a few thousand rows to add up however large the portfolio, where
    counting the queue itself joins every open checkpoint to its initiative on each
    request (issue 22). So is ``user``'s "mine" when it is the only narrowing filter
    (``review_queue_mine_counts``). A narrowed queue, and other databases, count
    ``queue``."""
    if filters is not None and connection.vendor == "postgresql":
        narrowing = {name for name in QUEUE_NARROWING if filters.get(name)}
        if not narrowing:
            return _stored_counts(today)
        if narrowing == {"mine"} and user is not None:
            return review_queue_mine_counts(user, today=today)
    return _counted(queue, today)


def _counted(queue: QuerySet[Checkpoint], today: date) -> dict[str, int]:
    return queue.aggregate(all=Count("pk"), **{
        key: Count("pk", filter=rule(today)) for key, rule in QUEUE_FILTERS.items()})


def _stored_queue(today: date) -> QuerySet[QueueCount]:
    """The stored counts of the queue's checkpoints: ``in_queue_q`` over ``QueueCount``'s
    columns (on the lifecycle, not upcoming, not cleared; approved ones are never
    stored)."""
    return (QueueCount.objects.filter(stage__in=STAGE_ORDER)
            .exclude(upcoming_q(stage="stage", gate="gate"))
            .exclude(status=CheckpointStatus.WAIVED, day__gte=today))


def _stored_counts(today: date) -> dict[str, int]:
    """``review_queue_counts`` of the whole queue from ``QueueCount``."""
    sums = _stored_queue(today).aggregate(all=Sum("checkpoints"), **{
        key: Sum("checkpoints", filter=rule(today)) for key, rule in _STORED_TABS.items()})
    return {key: total or 0 for key, total in sums.items()}


# The initiatives whose reviews a reviewer may not decide (``decidable_by_q``): theirs, the
# ones they sponsor and the ones they hold a ``SEGREGATED_ROLES`` role on — as an array
# read once, so PostgreSQL looks their queued reviews up by index.
_BARRED_INITIATIVES = (
    '"governance_queuerow"."initiative_id" = ANY(ARRAY('
    'SELECT id FROM portfolio_initiative WHERE owner_id = %s OR sponsor_id = %s '
    'UNION ALL SELECT initiative_id FROM portfolio_stakeholder '
    'WHERE user_id = %s AND role = ANY(%s)))')

# ``QUEUE_FILTERS`` over ``QueueRow``'s columns: nothing there is upcoming, so an open
# review is overdue exactly when its due date has passed.
_ROW_TABS = {**QUEUE_FILTERS,
             "overdue": lambda today: Q(status__in=OPEN_STATUSES, due_date__lt=today)}


def review_queue_mine_counts(user, *, today: date) -> dict[str, int]:
    """The tab counts of ``user``'s "mine" (``review_queue`` with ``mine``: in the queue,
    ``routed_to_q`` and ``decidable_by_q``), in one query, without counting every review
    routed to them.

    On PostgreSQL, whatever the portfolio's size: the stored counts (``QueueCount``) of the
    reviews nobody has taken that are routed to every reviewer or to one of ``user``'s
    groups; plus the reviews they have taken (or decided) and may decide, minus the untaken
    reviews routed to them on initiatives they may not decide (their own, sponsored, or held
    in a segregated role) — both read from the queue's rows (``QueueRow``: in the queue but
    for the waiver expiry, nothing upcoming, no initiative or type to join) through indexes
    that hold every column read — the three read as one ``UNION ALL`` and summed.
    tests/governance/test_queue_counts.py proves it equals counting the reviews. Elsewhere,
    and for a non-reviewer: counting them."""
    if (connection.vendor != "postgresql" or not user.is_active
            or Role.REVIEWER not in roles_of(user)):
        return _counted(review_queue(today=today, filters={"mine": True}, user=user), today)
    tabs = {"all": None, **{key: rule(today) for key, rule in _STORED_TABS.items()}}
    groups = (ReviewerGroup.members.through.objects.filter(user_id=user.pk)
              .values("reviewergroup_id"))
    stored = (_stored_queue(today).filter(Q(route=ROUTE_EVERYONE) | Q(route__in=groups))
              .order_by().values(**{
                  key: F("checkpoints") if tab is None else Case(
                      When(tab, then="checkpoints"), default=Value(0),
                      output_field=IntegerField()) for key, tab in tabs.items()}))
    # ``decidable_by_q`` for a reviewer is "not on one of ``own``".
    own = Q(RawSQL(_BARRED_INITIATIVES, (user.pk, user.pk, user.pk,
                                         list(settings.SEGREGATED_ROLES)),
                   output_field=BooleanField()))

    def counted_as(sign: int) -> dict:  # the same columns in the same order: a UNION's
        return {key: Value(sign) if key == "all" else Case(
            When(_ROW_TABS[key](today), then=Value(sign)), default=Value(0),
            output_field=IntegerField()) for key in tabs}

    queued = QueueRow.objects.exclude(cleared_q(today)).order_by()
    taken = queued.filter(reviewer=user).exclude(own).values(**counted_as(1))
    barred = (queued.filter(own, reviewer__isnull=True).filter(routed_to_q(user))
              .values(**counted_as(-1)))
    sums = stored.union(taken, barred, all=True).aggregate(**{key: Sum(key) for key in tabs})
    return {key: total or 0 for key, total in sums.items()}


class Counted:
    """A queryset whose count is known already (a tab count), for ``Paginator``: it slices
    the queryset and never counts it again."""

    ordered = True

    def __init__(self, queryset: QuerySet, count: int):
        self.queryset, self._count = queryset, count

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, key):
        return self.queryset[key]


def review_queue_rows(queue: QuerySet[Checkpoint], *, today: date,
                      tab: str = "") -> QuerySet[Checkpoint]:
    """One row per checkpoint with what the queue shows, overdue first (``overdue_first``
    is 0 exactly when ``overdue_q`` holds), then by due date; expired waivers (never
    overdue) after every open review; only ``tab``'s when one is given (``queue_ordered``).

    In the queue an open review is overdue exactly when its due date is before today
    (``overdue_q``; nothing in it is upcoming), so ordering the open ones by due date puts
    the overdue ones first: the order is (expired waiver?, due date), which the
    ``queue_row_order`` index holds (``queue_ordered``) — a page reads its rows in index
    order (an incremental sort only breaks ties by title) instead of sorting the whole
    queue."""
    return queue_ordered(
        queue.select_related("initiative__team", "type", "reviewer", "reviewer_group")
        .only("id", "status", "requested_at", "due_date", "waiver_expires_on",
              "initiative__id", "initiative__title", "initiative__stage",
              "initiative__owner_id", "initiative__sponsor_id",
              "initiative__team__name", "type__name", "type__nist_function",
              "type__required_for", "reviewer__username", "reviewer__first_name",
              "reviewer__last_name", "reviewer_group__name")
        .annotate(overdue_first=Case(
            When(overdue_q(today), then=Value(0)),
            default=Value(1), output_field=IntegerField())), today=today, tab=tab)


# The queue's order (``review_queue_rows``), which the ``checkpoint_queue_rows`` index holds
# but for the ties; a reviewer's inbox lists their reviews in it too.
QUEUE_ORDER = (QUEUE_LAPSED_LAST.asc(), "due_date", "initiative__title", "pk")
# The same order read from the queue's rows (``QueueRow``: the same status and due date).
# On a tab of one status its first key is the same on every row.
_ONE_STATUS_TABS = ("pending", "in_review", "rejected", "lapsed")
_QUEUE_ROW_ORDER = (ExpressionWrapper(Q(queue_row__status=CheckpointStatus.WAIVED),
                                      output_field=BooleanField()).asc(),
                    "queue_row__due_date", "initiative__title", "pk")


def _on(relation: str, rule: Q) -> Q:
    """``rule`` stated on the fields of ``relation``."""
    restated = Q()
    restated.connector, restated.negated = rule.connector, rule.negated
    restated.children = [_on(relation, child) if isinstance(child, Q)
                         else (f"{relation}__{child[0]}", child[1]) for child in rule.children]
    return restated


def queue_ordered(queue: QuerySet[Checkpoint], *, today: date | None = None,
                  tab: str = "") -> QuerySet[Checkpoint]:
    """``queue`` (checkpoints in the queue), only ``tab``'s when one is given
    (``QUEUE_FILTERS``), in ``QUEUE_ORDER``.

    On PostgreSQL it is read through the queue's rows (``QueueRow``): on a large portfolio
    the open checkpoints of paused and retired initiatives and the upcoming ones crowd the
    front of the ``checkpoint_queue_rows`` index, and a page would read past all of them;
    ``QueueRow`` holds none. The tab is applied to the row's copy of the status and due
    date (the same values: tests/governance/test_queue_counts.py), so a page reads
    ``queue_row_order``, or for a tab of one status ``queue_row_status`` by due date,
    from the start. Elsewhere, from the checkpoints."""
    if connection.vendor != "postgresql":
        if tab:
            queue = queue.filter(QUEUE_FILTERS[tab](today))
        return queue.order_by(*QUEUE_ORDER)
    queue = queue.filter(queue_row__isnull=False)
    if tab:  # (not cleared, as ``queue`` holds: an unexpired waiver is skipped unread)
        queue = queue.filter(_on("queue_row", ~cleared_q(today) & _ROW_TABS[tab](today)))
    if tab in _ONE_STATUS_TABS:  # the first key is the same on every row
        return queue.order_by(*_QUEUE_ROW_ORDER[1:])
    return queue.order_by(*_QUEUE_ROW_ORDER)


def checkpoint_get_for_user(*, user, pk: int) -> Checkpoint:
    """One checkpoint with its initiative and type; 404 for outsiders and misses."""
    require_reader(user)
    return get_object_or_404(
        Checkpoint.objects.select_related("initiative__team", "initiative__owner",
                                          "initiative__sponsor", "type", "reviewer"), pk=pk)


def checkpoint_history(*, checkpoint: Checkpoint) -> QuerySet:
    """Every recorded state of the checkpoint, newest first, with who made it."""
    return checkpoint.history.select_related("history_user").order_by("-history_date",
                                                                       "-history_id")


@dataclass(frozen=True)
class ReviewRound:
    number: int
    entries: list                # recorded states of this round, newest first
    changed: str = ""            # round 2 on: what the owner said changed since the rejection


def checkpoint_rounds(*, checkpoint: Checkpoint) -> list[ReviewRound]:
    """The checkpoint's history by review round, newest round first: each round's recorded
    states (``checkpoint_history``) and, from round 2 on, what changed since the rejection
    (the re-review request's event). The request's own state is the round's oldest entry:
    it carries ``changed`` for the page. Two queries."""
    requests = {}
    for details in (Activity.objects
                    .filter(initiative_id=checkpoint.initiative_id,
                            kind=Activity.Kind.RE_REVIEW_REQUESTED,
                            details__checkpoint_id=checkpoint.pk)
                    .order_by("at", "pk").values_list("details", flat=True)):
        requests[(details or {}).get("round")] = (details or {}).get("changed", "")
    rounds: dict[int, list] = {}
    for entry in checkpoint_history(checkpoint=checkpoint):
        rounds.setdefault(entry.round or 1, []).append(entry)
    for number, entries in rounds.items():
        for entry in entries:
            entry.changed, entry.asked_again = "", False
        if number > 1:
            entries[-1].changed = requests.get(number, "")
            entries[-1].asked_again = True
    return [ReviewRound(number=number, entries=entries, changed=requests.get(number, ""))
            for number, entries in sorted(rounds.items(), reverse=True)]
