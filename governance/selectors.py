"""Governance reads: compliance flags, an initiative's progress, the heat map, lead times.

Everything takes ``today`` (or ``now``) from the caller; nothing reads the clock.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.shortcuts import get_object_or_404
from django.utils import timezone

from governance.models import (
    Checkpoint,
    CheckpointStatus,
    CheckpointType,
    out_of_compliance_q,
    overdue_q,
)
from governance.services import gate_blockers
from portfolio.access import require_reader
from portfolio.models import STAGE_ORDER, Initiative, Stage

DECIDED_STATUSES = [CheckpointStatus.APPROVED, CheckpointStatus.REJECTED,
                    CheckpointStatus.WAIVED]


def _noon(today: date) -> datetime:
    """A moment on ``today`` in the current time zone, for the services that take ``now``."""
    return datetime.combine(today, time(12), tzinfo=timezone.get_current_timezone())


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
                        checkpoints: list[Checkpoint] | None = None) -> Progress:
    """Where the initiative stands with governance, as of ``today``.

    Cleared over applicable checkpoints; the next forward stage and everything that blocks
    it (``governance.services.gate_blockers``, the one gate); the checkpoints that put it
    out of compliance; every applicable checkpoint with its due date and overdue flag.
    Queries: the checkpoints (unless given), and the gate's one.
    """
    if checkpoints is None:
        checkpoints = _applicable_checkpoints(initiative)
    checkpoints = sorted(checkpoints, key=_by_gate)
    for checkpoint in checkpoints:
        checkpoint.initiative = initiative  # its own: the rules read the stage, no query
    rows = [_row(cp, today) for cp in checkpoints]
    next_stage = _next_stage(initiative.stage)
    blockers = (gate_blockers(initiative=initiative, to_stage=next_stage, now=_noon(today))
                if next_stage else [])
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


# --- Governance lead time -----------------------------------------------------------------------

@dataclass(frozen=True)
class LeadTime:
    days: float                  # median days from request to decision
    decided: int                 # decisions it is computed from; 0 means the type's review_days


# A type's review lead time is the median of its latest decisions, at most this many.
LEAD_TIME_SAMPLE = 500


def _lead_times() -> dict[int, LeadTime]:
    """Checkpoint type id -> the median days its reviews took, for the types decided before.

    Over each type's latest ``LEAD_TIME_SAMPLE`` decided checkpoints (approved, rejected or
    waived; the latest by ``decided_at``): the days from ``requested_at`` to
    ``decided_at``, fractional, and their median (the mean of the middle two for an even
    count). The latest decisions say how fast reviews go now, and reading only them keeps
    the initiative page's cost flat however large the portfolio grows. One query: on
    PostgreSQL a ``percentile_cont`` over a LATERAL join that reads each type's latest
    decisions from the ``checkpoint_type_decided`` index; on SQLite the (type, requested,
    decided) triples, newest first, median in Python.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"""
                SELECT kind.id, PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY latest.seconds),
                       COUNT(*)
                FROM {CheckpointType._meta.db_table} kind
                CROSS JOIN LATERAL (
                    SELECT EXTRACT(EPOCH FROM (c.decided_at - c.requested_at)) AS seconds
                    FROM {Checkpoint._meta.db_table} c
                    WHERE c.type_id = kind.id AND c.decided_at IS NOT NULL
                      AND c.status = ANY(%s)
                    ORDER BY c.decided_at DESC
                    LIMIT %s
                ) latest
                GROUP BY kind.id""", [[str(s) for s in DECIDED_STATUSES], LEAD_TIME_SAMPLE])
            return {type_id: LeadTime(days=median / 86400, decided=n)
                    for type_id, median, n in cursor.fetchall()}
    decided = Checkpoint.objects.filter(status__in=DECIDED_STATUSES, decided_at__isnull=False)
    spans: dict[int, list[float]] = defaultdict(list)
    for type_id, requested_at, decided_at in (decided.order_by("-decided_at")
                                              .values_list("type_id", "requested_at",
                                                           "decided_at")):
        if len(spans[type_id]) < LEAD_TIME_SAMPLE:
            spans[type_id].append((decided_at - requested_at).total_seconds() / 86400)
    return {type_id: LeadTime(days=statistics.median(days), decided=len(days))
            for type_id, days in spans.items()}


@dataclass(frozen=True)
class ExpectedDecision:
    checkpoint: Checkpoint
    lead_time: LeadTime
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
    """The earliest realistic production date, from how long reviews actually take.

    Method: take every applicable checkpoint that gates production or an earlier stage and
    is not cleared (approved, or waived and unexpired, as of ``today``). Each is expected
    to be decided its type's median lead time (``_lead_times``, rounded up to whole days;
    a type nobody decided yet takes its ``review_days``) after it was requested:
    ``requested_at`` (local date) + median — but not before ``today``, since an overdue
    review is still open. Reviews run in parallel, so the forecast is the latest of those
    dates, or ``today`` when nothing is open. ``warning`` is set when the forecast falls
    after ``initiative.target_production_date``.
    Other blockers (the exit contract, the measured result) are not dated, so not counted.
    Queries: the checkpoints (unless given) and the decided checkpoints' lead times.
    """
    if checkpoints is None:
        checkpoints = _applicable_checkpoints(initiative)
    lead_times = _lead_times()
    pending = []
    for checkpoint in checkpoints:
        if (checkpoint.retired_at is not None or checkpoint.is_cleared(today)
                or not checkpoint.type.gates(Stage.PRODUCTION)):
            continue
        lead = lead_times.get(checkpoint.type_id) or LeadTime(
            days=float(checkpoint.type.review_days), decided=0)
        requested_on = timezone.localdate(checkpoint.requested_at)
        expected = max(today, requested_on + timedelta(days=math.ceil(lead.days)))
        pending.append(ExpectedDecision(checkpoint=checkpoint, lead_time=lead,
                                        expected_on=expected))
    pending.sort(key=lambda p: (p.expected_on, p.checkpoint.type.name), reverse=True)
    earliest = pending[0].expected_on if pending else today
    target = initiative.target_production_date
    return Forecast(earliest_production=earliest, target=target,
                    warning=target is not None and earliest > target, pending=pending)


# --- The initiative page's panel ------------------------------------------------------------------

def governance_panel_context(*, initiative: Initiative, today: date) -> dict:
    """What the Governance panel shows. Queries: the checkpoints, the gate's, and — before
    production only — the lead times over decided checkpoints."""
    checkpoints = _applicable_checkpoints(initiative)
    progress = governance_progress(initiative, today=today, checkpoints=checkpoints)
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


def review_queue(*, today: date, filters: dict) -> QuerySet[Checkpoint]:
    """Checkpoints a reviewer has to clear now: applicable, not approved, no live waiver,
    gating the initiative's next stage or an earlier one (later gates are upcoming; paused
    and retired initiatives wait). ``filters``: type, team (the tab is applied by the
    caller, so the tab counts share this queryset)."""
    queue = Checkpoint.objects.applicable().uncleared(today).actionable()
    if filters.get("type"):
        queue = queue.filter(type=filters["type"])
    if filters.get("team"):
        queue = queue.filter(initiative__team=filters["team"])
    return queue


def review_queue_counts(queue: QuerySet[Checkpoint], *, today: date) -> dict[str, int]:
    """How many checkpoints each tab holds, in one query."""
    return queue.aggregate(all=Count("pk"), **{
        key: Count("pk", filter=rule(today)) for key, rule in QUEUE_FILTERS.items()})


def review_queue_rows(queue: QuerySet[Checkpoint], *, today: date) -> QuerySet[Checkpoint]:
    """One row per checkpoint with what the queue shows, overdue first (``overdue_first``
    is 0 exactly when ``overdue_q`` holds), then by due date."""
    return (queue.select_related("initiative__team", "type", "reviewer")
            .only("id", "status", "requested_at", "due_date", "waiver_expires_on",
                  "initiative__id", "initiative__title", "initiative__stage",
                  "initiative__owner_id", "initiative__sponsor_id",
                  "initiative__team__name", "type__name", "type__nist_function",
                  "type__required_for", "reviewer__username", "reviewer__first_name",
                  "reviewer__last_name")
            .annotate(overdue_first=Case(
                When(overdue_q(today), then=Value(0)),
                default=Value(1), output_field=IntegerField()))
            .order_by("overdue_first", "due_date", "initiative__title", "pk"))


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
