"""The exit contract's rules, with no query: what a complete contract is, whether a
measurement meets its target, how long a pilot must run, and what the production gate
says. Governance's gate (``governance.services.gate_blockers_given``) asks
``contract_blockers``; the services, forms, API and CSV ask ``contract_errors``.

The gate reads *evidence* (``Evidence``): the latest measurement inside the contract's
window and the overrides given in the initiative's current stage. One initiative's comes
from ``portfolio.outcomes.selectors.contract_evidence``, many at once from
``contract_evidence_bulk``; the rules here are the same for both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from portfolio.models import STAGE_ORDER, MetricDirection, OverrideKind, RiskTier, Stage

# (field, label) in the order the gate names what is missing.
CONTRACT_FIELDS = (
    ("success_metric", "success metric"), ("metric_direction", "direction"),
    ("baseline_value", "baseline"), ("target_value", "target"),
    ("window_start", "measurement window"), ("window_end", "measurement window"),
    ("decision_date", "decision date"), ("production_owner_id", "production owner"),
    ("predicted_annual_value", "predicted annual value"),
    ("predicted_annual_run_cost", "predicted annual run cost"),
)

CONTRACT_MISSING = "the exit contract ({fields} missing)"
NO_MEASUREMENT = "a measurement inside the measurement window ({start} – {end})"
TARGET_MISSED = "the exit contract's target: {measured} measured on {day}, target {target}, " \
                "baseline {baseline}"
PILOT_TOO_SHORT = ("the minimum pilot of {days} days for a {tier}-risk initiative "
                   "({so_far} so far, until {until})")

TARGET_NOT_ABOVE = "With “higher is better” the target must be above the baseline ({baseline})."
TARGET_NOT_BELOW = "With “lower is better” the target must be below the baseline ({baseline})."
WINDOW_BACKWARDS = "The window must end on or after it starts ({start})."
NOT_NEGATIVE = "Enter zero or more."


@dataclass(frozen=True)
class Reading:
    """A measurement as the gate reads it."""

    value: Decimal
    measured_on: date


@dataclass
class Evidence:
    latest_in_window: Reading | None = None
    overridden: set[str] = field(default_factory=set)  # OverrideKind values


@dataclass(frozen=True)
class Blocker:
    """One reason the contract holds an initiative back; ``kind`` is the override that
    lifts it, or None when only the owner can (a missing contract or measurement)."""

    text: str
    kind: str | None = None


def format_value(value: Decimal | None, unit: str = "") -> str:
    """12.5000 and "%" -> "12.5%"; 4 and "minutes" -> "4 minutes"; 2500000 -> "2,500,000"."""
    if value is None:
        return "—"
    text = f"{value.normalize():,f}" if isinstance(value, Decimal) else f"{value:,g}"
    if not unit:
        return text
    return f"{text}{unit}" if unit in ("%", "‰") else f"{text} {unit}"


def meets(direction: str, value: Decimal, target: Decimal) -> bool:
    """Whether ``value`` reaches ``target``, by the contract's direction."""
    if direction == MetricDirection.LOWER:
        return value <= target
    return value >= target


def missing_fields(initiative) -> list[str]:
    labels = []
    for name, label in CONTRACT_FIELDS:
        value = getattr(initiative, name)
        if (value is None or value == "") and label not in labels:
            labels.append(label)
    return labels


def is_complete(initiative) -> bool:
    return not missing_fields(initiative)


def min_pilot_days(risk_tier: str) -> int:
    return settings.MIN_PILOT_DAYS.get(risk_tier, max(settings.MIN_PILOT_DAYS.values()))


def contract_errors(values: Mapping, before=None) -> dict[str, str]:
    """field -> message for a contract that contradicts itself: a target on the wrong side
    of the baseline for its direction, a window that ends before it starts, a negative
    amount. ``values`` are the fields being set; ``before`` (an edit) supplies the rest."""
    def value(name):
        if name in values:
            return values[name]
        return getattr(before, name) if before is not None else None

    errors = {}
    direction, baseline, target = (value("metric_direction"), value("baseline_value"),
                                   value("target_value"))
    if direction and baseline is not None and target is not None:
        unit = value("metric_unit") or ""
        if direction == MetricDirection.HIGHER and not target > baseline:
            errors["target_value"] = TARGET_NOT_ABOVE.format(
                baseline=format_value(baseline, unit))
        if direction == MetricDirection.LOWER and not target < baseline:
            errors["target_value"] = TARGET_NOT_BELOW.format(
                baseline=format_value(baseline, unit))
    start, end = value("window_start"), value("window_end")
    if start is not None and end is not None and end < start:
        errors["window_end"] = WINDOW_BACKWARDS.format(start=f"{start:%-d %b %Y}")
    for name in ("predicted_annual_value", "predicted_annual_run_cost"):
        amount = values.get(name)
        if amount is not None and amount < 0:
            errors[name] = NOT_NEGATIVE
    return errors


def _index(stage: str) -> int:
    return STAGE_ORDER.index(stage) if stage in STAGE_ORDER else -1


def contract_blockers(*, initiative, to_stage: str, today: date,
                      evidence: Evidence) -> list[Blocker]:
    """What the exit contract says about moving ``initiative`` to ``to_stage``.

    - Into pilot or beyond: the contract is complete.
    - Into production or beyond, from pilot or production (not a resume from a pause):
      the latest measurement inside the window meets the target by its direction
      (override: ``TARGET_MISSED``).
    - From pilot into production: the pilot has run its risk tier's minimum
      (``MIN_PILOT_DAYS``; override: ``PILOT_TOO_SHORT``).
    """
    target_index = _index(to_stage)
    if target_index < _index(Stage.PILOT):
        return []
    missing = missing_fields(initiative)
    if missing:
        return [Blocker(CONTRACT_MISSING.format(fields=", ".join(missing)))]
    if target_index < _index(Stage.PRODUCTION) or initiative.stage not in (Stage.PILOT,
                                                                           Stage.PRODUCTION):
        # A resume from a pause returns to a stage the initiative already earned.
        return []
    blockers = []
    unit = initiative.metric_unit
    reading = evidence.latest_in_window
    if reading is None:
        blockers.append(Blocker(NO_MEASUREMENT.format(
            start=f"{initiative.window_start:%-d %b %Y}",
            end=f"{initiative.window_end:%-d %b %Y}")))
    elif (not meets(initiative.metric_direction, reading.value, initiative.target_value)
          and OverrideKind.TARGET_MISSED not in evidence.overridden):
        blockers.append(Blocker(TARGET_MISSED.format(
            measured=format_value(reading.value, unit), day=f"{reading.measured_on:%-d %b %Y}",
            target=format_value(initiative.target_value, unit),
            baseline=format_value(initiative.baseline_value, unit)),
            kind=OverrideKind.TARGET_MISSED))
    if initiative.stage == Stage.PILOT:
        days = min_pilot_days(initiative.risk_tier)
        so_far = (today - timezone.localdate(initiative.stage_changed_at)).days
        if so_far < days and OverrideKind.PILOT_TOO_SHORT not in evidence.overridden:
            until = timezone.localdate(initiative.stage_changed_at) + timedelta(days=days)
            blockers.append(Blocker(PILOT_TOO_SHORT.format(
                days=days, tier=RiskTier(initiative.risk_tier).label.lower(),
                so_far=_day_count(so_far), until=f"{until:%-d %b %Y}"),
                kind=OverrideKind.PILOT_TOO_SHORT))
    return blockers


def _day_count(days: int) -> str:
    return "1 day" if days == 1 else f"{days} days"


def status(initiative, evidence: Evidence) -> str:
    """Where the contract stands, for pages and the dashboard: "incomplete", "unmeasured",
    "met" or "missed" (by the latest measurement in the window)."""
    if not is_complete(initiative):
        return "incomplete"
    reading = evidence.latest_in_window
    if reading is None:
        return "unmeasured"
    return "met" if meets(initiative.metric_direction, reading.value,
                          initiative.target_value) else "missed"
