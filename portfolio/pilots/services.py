"""Stalled pilots: the daily detection and the decision it demands
(docs/architecture.md, "Stalled pilots").

Detection and notification are separate: ``stalls_detect`` writes ``StallFlag``
rows; the weekly digest reads them. Every function takes ``now``.

A pilot is stalled when it has been in pilot longer than ``PILOT_MAX_DAYS`` or
has had no activity for ``PILOT_IDLE_DAYS``. Its flag resolves itself when the
pilot leaves pilot or is stalled for no reason any more: activity clears
idleness, but a pilot past its time in pilot stays stalled until it moves or
someone decides (an update a week must not hide it). Deciding *extend* silences
it until the new decision date; *kill* retires it; *scale* moves it to
production, or, while governance blocks that gate, records the request and
leaves the flag open but decided.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, CharField, Exists, F, OuterRef, Q, Value, When
from django.utils import timezone

from portfolio import hooks
from portfolio.exceptions import DomainError
from portfolio.models import (
    Activity,
    Initiative,
    Stage,
    StallDecision,
    StallFlag,
    StallReason,
    StallResolution,
)
from portfolio.services import (
    activities_record,
    activity_record,
    initiative_move_stage,
    initiative_touch,
    initiative_update,
    portfolio_changed,
)

ALREADY_RESOLVED = ("This stall was already resolved ({resolution}) since you loaded the page; "
                    "nothing was recorded.")
NOT_A_PILOT = "Only a pilot can be scaled, extended or killed from its stall."
EXTEND_NEEDS_JUSTIFICATION = "Extending a stalled pilot needs a justification."
EXTEND_NEEDS_DATE = "Extending a stalled pilot needs a new decision date."
EXTEND_DATE_IN_PAST = "The new decision date must be after today."
EXTEND_TOO_FAR = "An extension runs for at most {days} days; pick a nearer decision date."
MAX_EXTENSION_DAYS = 180
SCALE_NOTE = "Scale-up decided on a stalled pilot."


# --- The rule ------------------------------------------------------------------------------
# One table says what stalls a pilot; the SQL (``stalled_q``, ``current_reason_sql``,
# ``stalls_due``) and the Python (``stall_reason``) forms are both built from it.

def _conditions(now: datetime) -> dict[str, tuple[str, datetime]]:
    """Each way a pilot stalls: (the field, the moment it must be at or before)."""
    return {
        "too_long": ("stage_changed_at", now - timedelta(days=settings.PILOT_MAX_DAYS)),
        "idle": ("last_activity_at", now - timedelta(days=settings.PILOT_IDLE_DAYS)),
    }


# Which reason each combination of conditions gives, the first that holds.
_REASONS = (
    ({"too_long", "idle"}, StallReason.TOO_LONG_AND_IDLE),
    ({"too_long"}, StallReason.TOO_LONG),
    ({"idle"}, StallReason.IDLE),
)


def _condition_qs(now: datetime, prefix: str = "") -> dict[str, Q]:
    return {name: Q(**{f"{prefix}{field}__lte": cutoff})
            for name, (field, cutoff) in _conditions(now).items()}


def _pilot_q(prefix: str = "") -> Q:
    return Q(**{f"{prefix}stage": Stage.PILOT})


def stalled_q(now: datetime, prefix: str = "") -> Q:
    """SQL: the initiative is a stalled pilot at ``now``. ``prefix`` reaches it via a relation."""
    too_long, idle = _condition_qs(now, prefix).values()
    return _pilot_q(prefix) & (too_long | idle)


def current_reason_sql(now: datetime, prefix: str = "", default: str = "reason") -> Case:
    """SQL: ``stall_reason`` of the initiative reached via ``prefix``; where it is not a
    stalled pilot now (moved meanwhile, or extended), the ``default`` field's value."""
    holds = _condition_qs(now, prefix)
    whens = []
    for names, reason in _REASONS:
        condition = _pilot_q(prefix)
        for name in names:
            condition &= holds[name]
        whens.append(When(condition, then=Value(reason.value)))
    return Case(*whens, default=F(default), output_field=CharField())


def stall_reason(initiative: Initiative, now: datetime) -> str | None:
    """Why the initiative is a stalled pilot at ``now``; None when it is not one."""
    if initiative.stage != Stage.PILOT:
        return None
    holding = {name for name, (field, cutoff) in _conditions(now).items()
               if getattr(initiative, field) <= cutoff}
    return next((reason for names, reason in _REASONS if names <= holding), None)


# --- Detection -----------------------------------------------------------------------------

@dataclass(frozen=True)
class DetectionResult:
    flagged: int
    resolved: int
    escalated: int


def stalls_due(*, now: datetime):
    """Pilots stalled at ``now`` with no open flag and no extension running past today.

    Two scans, one per partial index — ``pilot_since`` (in pilot too long) and
    ``pilot_last_activity`` (idle) — joined by UNION, so the work grows with the stalled
    pilots, not the portfolio. (One scan with ``OR`` lets PostgreSQL misjudge how many
    pilots match and read them all.)
    """
    today = timezone.localdate(now)
    too_long, idle = _condition_qs(now).values()
    open_flag = StallFlag.objects.open().filter(initiative=OuterRef("pk"))
    extended = StallFlag.objects.filter(initiative=OuterRef("pk"), extended_until__gt=today)
    undecided = (Initiative.objects.filter(stage=Stage.PILOT)
                 .filter(~Exists(open_flag), ~Exists(extended))
                 .only("pk", "stage", "stage_changed_at", "last_activity_at")
                 .order_by())  # each side unordered: SQLite refuses ORDER BY inside UNION
    return (undecided.filter(too_long)
            .union(undecided.filter(idle))
            .order_by("pk"))  # concurrent runs insert in one order: no deadlock


def stalls_detect(*, now: datetime) -> DetectionResult:
    """The daily job: resolve flags that no longer hold, flag new stalls, escalate.

    Safe to run several times at once: a pilot is claimed by inserting its flag under
    the one-open-flag-per-initiative constraint, and only the run whose insert landed
    records the activity.
    """
    resolved = _resolve_lapsed(now=now)
    flagged = _flag_new(now=now)
    escalated = _escalate_undecided(now=now)
    return DetectionResult(flagged=flagged, resolved=resolved, escalated=escalated)


@transaction.atomic  # the resolutions and the mark that the standings are stale, together
def _resolve_lapsed(*, now: datetime) -> int:
    open_flags = StallFlag.objects.open()
    moved = open_flags.exclude(initiative__stage=Stage.PILOT).resolve(
        resolution=StallResolution.MOVED, now=now)
    # The open flags are few: test each one's pilot rather than listing every stalled one.
    active = (open_flags.filter(initiative__stage=Stage.PILOT)
              .exclude(stalled_q(now, prefix="initiative__"))
              .resolve(resolution=StallResolution.ACTIVE, now=now))
    if moved + active:
        portfolio_changed(what="stall_resolved", initiatives=StallFlag.objects.filter(
            resolved_at=now, resolution__in=(StallResolution.MOVED, StallResolution.ACTIVE))
            .values_list("initiative_id", flat=True))
    return moved + active


@transaction.atomic
def _flag_new(*, now: datetime) -> int:
    run = uuid.uuid4().hex
    flags = [StallFlag(initiative_id=initiative.pk, reason=stall_reason(initiative, now),
                       flagged_at=now, detection_run=run)
             for initiative in stalls_due(now=now)]
    if not flags:
        return 0
    # Another run may have flagged some of these meanwhile: its insert wins, ours is dropped.
    StallFlag.objects.bulk_create(flags, ignore_conflicts=True)
    mine = list(StallFlag.objects.filter(detection_run=run).values_list("initiative_id", "reason"))
    activities_record(activities=[
        Activity(initiative_id=initiative_id, kind=Activity.Kind.STALL_FLAGGED, actor=None,
                 at=now, details={"reason": reason,
                                  "reason_label": StallReason(reason).label})
        for initiative_id, reason in mine
    ], now=now)
    return len(mine)


def _escalate_undecided(*, now: datetime) -> int:
    """Undecided past ``STALL_ESCALATE_WEEKS``: the sponsor joins the digest for it."""
    cutoff = now - timedelta(weeks=settings.STALL_ESCALATE_WEEKS)
    due = list(StallFlag.objects.open()
               .filter(decision="", escalated_at__isnull=True, flagged_at__lte=cutoff,
                       initiative__sponsor__isnull=False)
               .values_list("pk", "initiative_id"))
    escalated = 0
    for pk, initiative_id in due:
        with transaction.atomic():
            if not StallFlag.objects.filter(pk=pk, escalated_at__isnull=True).update(
                    escalated_at=now):
                continue  # another run escalated it
            escalated += 1
            activities_record(activities=[Activity(
                initiative_id=initiative_id, kind=Activity.Kind.STALL_ESCALATED, actor=None,
                at=now, details={"weeks": settings.STALL_ESCALATE_WEEKS})], now=now)
    return escalated


# --- The decision --------------------------------------------------------------------------

@transaction.atomic
def stall_decide(*, flag: StallFlag, decision: str, actor, now: datetime, note: str = "",
                 extend_until: date | None = None, retirement_reason: str = "",
                 retirement_lessons: str = "") -> StallFlag:
    """Record *scale*, *extend* or *kill* on an open stall (callers check who may decide)."""
    flag = StallFlag.objects.select_for_update().select_related("initiative").get(pk=flag.pk)
    if not flag.is_open:
        raise DomainError(ALREADY_RESOLVED.format(resolution=flag.get_resolution_display()),
                          field="decision")
    initiative = flag.initiative
    if initiative.stage != Stage.PILOT:
        raise DomainError(NOT_A_PILOT, field="decision")
    note = note.strip()
    details = {"decision": decision, "note": note}
    if decision == StallDecision.SCALE:
        blockers = hooks.stage_gate_blockers(initiative=initiative, to_stage=Stage.PRODUCTION,
                                             now=now)
        if blockers:
            # The request stands; the flag stays open, decided, until the gate opens.
            flag.decision_note = "Waiting on: " + "; ".join(blockers)
            details["blockers"] = blockers
            initiative_touch(initiative, now)
        else:
            initiative_move_stage(initiative=initiative, to_stage=Stage.PRODUCTION, actor=actor,
                                  now=now, note=note or SCALE_NOTE, expected_stage=Stage.PILOT)
            flag.decision_note = note
            flag.resolved_at, flag.resolution = now, StallResolution.MOVED
    elif decision == StallDecision.EXTEND:
        _check_extension(note=note, extend_until=extend_until, now=now)
        initiative_update(initiative=initiative, actor=actor, now=now,
                          expected_version=initiative.version,
                          changes={"decision_date": extend_until})
        flag.decision_note = note
        flag.extended_until = extend_until
        flag.resolved_at, flag.resolution = now, StallResolution.EXTENDED
        details["until"] = extend_until.isoformat()
    elif decision == StallDecision.KILL:
        initiative_move_stage(initiative=initiative, to_stage=Stage.RETIRED, actor=actor, now=now,
                              note=note, retirement_reason=retirement_reason,
                              retirement_lessons=retirement_lessons,
                              expected_stage=Stage.PILOT)
        flag.decision_note = note
        flag.resolved_at, flag.resolution = now, StallResolution.KILLED
        details["reason"] = retirement_reason
    else:
        raise DomainError(f"Choose one of: {', '.join(StallDecision.labels)}.", field="decision")
    flag.decision, flag.decided_by, flag.decided_at = decision, actor, now
    flag.full_clean(validate_constraints=False)
    flag.save()
    activity_record(initiative=initiative, kind=Activity.Kind.STALL_DECIDED, actor=actor,
                    now=now, details=details)
    return flag


def _check_extension(*, note: str, extend_until: date | None, now: datetime) -> None:
    if not note:
        raise DomainError(EXTEND_NEEDS_JUSTIFICATION, field="note")
    if extend_until is None:
        raise DomainError(EXTEND_NEEDS_DATE, field="extend_until")
    today = timezone.localdate(now)
    if extend_until <= today:
        raise DomainError(EXTEND_DATE_IN_PAST, field="extend_until")
    if extend_until > today + timedelta(days=MAX_EXTENSION_DAYS):
        raise DomainError(EXTEND_TOO_FAR.format(days=MAX_EXTENSION_DAYS), field="extend_until")
