"""Every outcomes write: measurements, contract overrides, value reviews and the decision
on value at risk.

Functions take keyword arguments, the acting user and ``now``; refusals raise
``DomainError`` with a module-constant message, or ``PermissionDenied`` naming who may.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portfolio.access import initiative_rights
from portfolio.exceptions import DomainError
from portfolio.models import (
    Activity,
    ContractOverride,
    Initiative,
    Measurement,
    OverrideKind,
    RetirementReason,
    Stage,
    ValueDecision,
    ValueReview,
)
from portfolio.outcomes import contract
from portfolio.outcomes.selectors import VALUE_STAGES, contract_evidence, production_since_q
from portfolio.services import (
    activity_record,
    initiative_move_stage,
    initiative_touch,
    portfolio_changed,
)

MEASURED_IN_FUTURE = "A measurement cannot be dated after today ({today:%-d %b %Y})."
NEEDS_SOURCE = "Say where the number comes from: a link or a note."
NO_METRIC = "Set the success metric in the exit contract before recording measurements."
OVERRIDE_NEEDS_REASON = "An override needs a reason: why it may go ahead anyway."
NOTHING_TO_OVERRIDE = ("Nothing to override: the gate does not hold it back for "
                       "“{kind}” now.")
ALREADY_OVERRIDDEN = "Already overridden in this stage, by {who} on {day:%-d %b %Y}."
REVIEW_ALREADY_DECIDED = "This review was already decided ({decision}); it cannot be changed."
REVIEW_NOT_DUE = "This value review is not due yet."
FIGURE_NEEDED = "Enter the {what}: zero or more, in {currency} a year."
NOT_AT_RISK = "This review did not put the initiative's value at risk; there is nothing to decide."
DECISION_NEEDS_NOTE = "Say why: a decision on value at risk needs a note."
NOT_IN_PRODUCTION = "The initiative is no longer in production; there is nothing to decide."


def _today(now: datetime) -> date:
    return timezone.localdate(now)


def _require(user, initiative: Initiative, need: str) -> None:
    initiative_rights(user, initiative).require(need)


# --- Measurements --------------------------------------------------------------------------------

@dataclass(frozen=True)
class MeasurementInput:
    measured_on: date
    value: Decimal
    source_url: str = ""
    source_note: str = ""


def measurement_errors(*, row: MeasurementInput, now: datetime) -> dict[str, str]:
    """field -> message for a measurement that cannot be recorded (form, API, CSV)."""
    errors = {}
    if row.measured_on > _today(now):
        errors["measured_on"] = MEASURED_IN_FUTURE.format(today=_today(now))
    if not row.source_url.strip() and not row.source_note.strip():
        errors["source_note"] = NEEDS_SOURCE
    return errors


@transaction.atomic
def measurements_record(*, initiative: Initiative, rows: list[MeasurementInput], actor,
                        now: datetime) -> list[Measurement]:
    """Record dated values of the initiative's success metric (the owner or a Responsible
    PM). All rows or none; one activity for the lot."""
    _require(actor, initiative, "edit")
    if not initiative.success_metric:
        raise DomainError(NO_METRIC, field="value")
    for row in rows:
        for field, message in measurement_errors(row=row, now=now).items():
            raise DomainError(message, field=field)
    measurements = [Measurement(initiative=initiative, measured_on=row.measured_on,
                                value=row.value, source_url=row.source_url.strip(),
                                source_note=row.source_note.strip(), recorded_by=actor,
                                recorded_at=now) for row in rows]
    for measurement in measurements:
        measurement.full_clean(validate_constraints=False)
    Measurement.objects.bulk_create(measurements)
    initiative_touch(initiative, now)
    latest = max(rows, key=lambda row: row.measured_on) if rows else None
    if latest is not None:
        activity_record(initiative=initiative, kind=Activity.Kind.MEASUREMENT_RECORDED,
                        actor=actor, now=now, details={
                            "count": len(rows),
                            "value": contract.format_value(latest.value,
                                                           initiative.metric_unit),
                            "on": latest.measured_on.isoformat()})
    return measurements


def measurement_record(*, initiative: Initiative, measured_on: date, value: Decimal, actor,
                       now: datetime, source_url: str = "", source_note: str = "") -> Measurement:
    [measurement] = measurements_record(
        initiative=initiative, actor=actor, now=now,
        rows=[MeasurementInput(measured_on, value, source_url, source_note)])
    return measurement


# --- Overrides -----------------------------------------------------------------------------------

@transaction.atomic
def contract_override(*, initiative: Initiative, kind: str, reason: str, actor,
                      now: datetime) -> ContractOverride:
    """Let the initiative's next move past one thing its exit contract holds it back for
    (a missed target, a short pilot): the sponsor or leadership, with a reason. Kept,
    shown on the page, in the history and in the digest."""
    initiative = Initiative.objects.select_for_update().get(pk=initiative.pk)
    _require(actor, initiative, "override_contract")
    reason = reason.strip()
    if not reason:
        raise DomainError(OVERRIDE_NEEDS_REASON, field="reason")
    if kind not in OverrideKind.values:
        raise DomainError(f"Choose one of: {', '.join(OverrideKind.labels)}.", field="kind")
    existing = (ContractOverride.objects.filter(initiative=initiative, kind=kind,
                                                stage_since=initiative.stage_changed_at)
                .select_related("decided_by").first())
    if existing is not None:
        raise DomainError(ALREADY_OVERRIDDEN.format(
            who=existing.decided_by.get_full_name() or existing.decided_by.get_username(),
            day=_today(existing.decided_at)), field="kind")
    blocker = next((blocker for blocker in overridable(initiative=initiative, now=now)
                    if blocker.kind == kind), None)
    if blocker is None:
        raise DomainError(NOTHING_TO_OVERRIDE.format(kind=OverrideKind(kind).label.lower()),
                          field="kind")
    override = ContractOverride(initiative=initiative, kind=kind,
                                stage_since=initiative.stage_changed_at,
                                overridden=blocker.text[:300], reason=reason,
                                decided_by=actor, decided_at=now)
    override.full_clean(validate_constraints=False)
    override.save()
    initiative_touch(initiative, now)
    activity_record(initiative=initiative, kind=Activity.Kind.CONTRACT_OVERRIDDEN, actor=actor,
                    now=now, details={"kind": kind, "overridden": override.overridden,
                                      "reason": reason})
    return override


def overridable(*, initiative: Initiative, now: datetime,
                evidence: contract.Evidence | None = None) -> list[contract.Blocker]:
    """What the contract holds the initiative's move to production back for that an
    override may lift (none for an initiative not in pilot or production). ``evidence``:
    the caller's, when it loaded it already."""
    if initiative.stage not in (Stage.PILOT, Stage.PRODUCTION):
        return []
    to_stage = Stage.PRODUCTION if initiative.stage == Stage.PILOT else Stage.SCALED
    return [blocker for blocker in contract.contract_blockers(
                initiative=initiative, to_stage=to_stage, today=_today(now),
                evidence=evidence if evidence is not None else contract_evidence(initiative))
            if blocker.kind is not None]


# --- Value reviews -------------------------------------------------------------------------------

def value_reviews_schedule(*, now: datetime) -> int:
    """Create the value review that came due for each initiative in production: the
    latest of ``VALUE_REVIEW_DAYS`` it has reached (an earlier one that was never created
    is superseded by it). Each review exists once (unique per initiative, production
    entry and days); a concurrent run's insert is dropped, and each run reports only its
    own. Returns how many this run created."""
    today = _today(now)
    run = uuid.uuid4().hex
    reviews = []
    for initiative_id, since in (Initiative.objects.filter(stage__in=VALUE_STAGES)
                                 .annotate(since=production_since_q())
                                 .exclude(since=None).values_list("pk", "since")):
        entered = _today(since)
        reached = [days for days in settings.VALUE_REVIEW_DAYS
                   if entered + timedelta(days=days) <= today]
        if reached:
            days = reached[-1]
            reviews.append(ValueReview(initiative_id=initiative_id, production_since=since,
                                       days=days, due_on=entered + timedelta(days=days),
                                       scheduled_at=now, scheduled_run=run))
    if not reviews:
        return 0
    with transaction.atomic():
        ValueReview.objects.bulk_create(reviews, ignore_conflicts=True)
        mine = list(ValueReview.objects.filter(scheduled_run=run)
                    .values_list("initiative_id", "days", "due_on"))
        if mine:
            portfolio_changed(what="value_review_due",
                              initiatives={initiative_id for initiative_id, _, _ in mine})
            Activity.objects.bulk_create([
                Activity(initiative_id=initiative_id, kind=Activity.Kind.VALUE_REVIEW_DUE,
                         actor=None, at=now, details={"days": days, "due": due.isoformat()})
                for initiative_id, days, due in mine])
    return len(mine)


def at_risk(*, realised_value: Decimal, predicted_value: Decimal | None) -> bool:
    """Below ``VALUE_AT_RISK_PERCENT`` of the prediction (nothing predicted: never)."""
    if predicted_value is None:
        return False
    return realised_value * 100 < predicted_value * settings.VALUE_AT_RISK_PERCENT


def suggested_decision(*, realised_value: Decimal, run_cost: Decimal,
                       predicted_run_cost: Decimal | None) -> str:
    """What the numbers suggest for value at risk: *retire* when it costs at least what it
    returns, *scale back* when it costs more to run than predicted, else *fix*."""
    if realised_value <= run_cost:
        return ValueDecision.RETIRE
    if predicted_run_cost is not None and run_cost > predicted_run_cost:
        return ValueDecision.SCALE_BACK
    return ValueDecision.FIX


def _undecided(review: ValueReview, *, actor, need: str, field: str) -> ValueReview:
    """The review, locked, if ``actor`` has ``need`` on its initiative and no decision has
    been taken on it (a decision is final)."""
    review = (ValueReview.objects.select_for_update().select_related("initiative")
              .get(pk=review.pk))
    _require(actor, review.initiative, need)
    if review.decision:
        raise DomainError(REVIEW_ALREADY_DECIDED.format(
            decision=review.get_decision_display().lower()), field=field)
    return review


@transaction.atomic
def value_review_record(*, review: ValueReview, realised_value: Decimal | None,
                        run_cost: Decimal | None, actor, now: datetime,
                        note: str = "") -> ValueReview:
    """The owner (or a Responsible PM) records what a production initiative delivers and
    costs a year. It may be corrected until a decision on value at risk is taken."""
    review = _undecided(review, actor=actor, need="edit", field="realised_value")
    initiative = review.initiative
    if review.due_on > _today(now):
        raise DomainError(REVIEW_NOT_DUE, field="realised_value")
    for name, what, figure in (("realised_value", "realised value", realised_value),
                               ("run_cost", "run cost", run_cost)):
        if figure is None or figure < 0:
            raise DomainError(FIGURE_NEEDED.format(what=what, currency=settings.VALUE_CURRENCY),
                              field=name)
    review.realised_value, review.run_cost, review.note = realised_value, run_cost, note.strip()
    review.recorded_by, review.recorded_at = actor, now
    review.at_risk = at_risk(realised_value=realised_value,
                             predicted_value=initiative.predicted_annual_value)
    review.suggested_decision = (suggested_decision(
        realised_value=realised_value, run_cost=run_cost,
        predicted_run_cost=initiative.predicted_annual_run_cost) if review.at_risk else "")
    review.full_clean(validate_constraints=False)
    review.save()
    initiative_touch(initiative, now)
    activity_record(initiative=initiative, kind=Activity.Kind.VALUE_REVIEW_RECORDED,
                    actor=actor, now=now, details={
                        "days": review.days, "realised": str(realised_value),
                        "run_cost": str(run_cost), "at_risk": review.at_risk,
                        "suggested": review.suggested_decision})
    return review


@transaction.atomic
def value_decide(*, review: ValueReview, decision: str, note: str, actor, now: datetime,
                 retirement_lessons: str = "") -> ValueReview:
    """Decide what happens to an initiative whose value is at risk: scale back, fix or
    retire (as a stall is decided: the owner, a TPM or an admin). *Retire* retires it
    with "value not proven"."""
    review = _undecided(review, actor=actor, need="decide_stall", field="decision")
    initiative = review.initiative
    if not review.at_risk:
        raise DomainError(NOT_AT_RISK, field="decision")
    if initiative.stage not in VALUE_STAGES:
        raise DomainError(NOT_IN_PRODUCTION, field="decision")
    if decision not in ValueDecision.values:
        raise DomainError(f"Choose one of: {', '.join(ValueDecision.labels)}.", field="decision")
    note = note.strip()
    if not note:
        raise DomainError(DECISION_NEEDS_NOTE, field="note")
    if decision == ValueDecision.RETIRE:
        initiative_move_stage(initiative=initiative, to_stage=Stage.RETIRED, actor=actor,
                              now=now, note=note,
                              retirement_reason=RetirementReason.VALUE_NOT_PROVEN,
                              retirement_lessons=retirement_lessons,
                              expected_stage=initiative.stage)
    else:
        initiative_touch(initiative, now)
    review.decision, review.decision_note = decision, note
    review.decided_by, review.decided_at = actor, now
    review.full_clean(validate_constraints=False)
    review.save()
    activity_record(initiative=initiative, kind=Activity.Kind.VALUE_DECIDED, actor=actor,
                    now=now, details={"decision": decision, "note": note,
                                      "suggested": review.suggested_decision})
    return review
