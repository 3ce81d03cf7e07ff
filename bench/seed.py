"""A synthetic portfolio of N initiatives, written with COPY, shaped like ``seed_demo``'s.

The services are bypassed (they write one row at a time); what they would have written
is written directly, in the proportions of the demo portfolio, so that every page does
its real work:

- people: PMs (one per ~20 initiatives, 2% of them deactivated: ownership gaps),
  reviewers, leaders (the sponsors) and 1,000 TPMs, each following two teams (the
  weekly digest's recipients); teams grow as √N;
- each initiative walks idea → assessment → pilot → production → scaled (or pauses,
  or retires with a reason), with a ``StageTransition`` and a ``stage_moved`` activity
  per move, 0-5 updates, 1-3 stakeholders, its applicable checkpoints (the catalogue's
  own ``applies_to``: ~10 each) approved for the gates it passed, under review or
  rejected at its next gate; an audit-history row when created and one for its
  current version; 10% depend on an older initiative of their team;
- exactly ``STALLED_PILOTS`` (100) pilots are stalled (in pilot > PILOT_MAX_DAYS, or
  idle > PILOT_IDLE_DAYS, or both) with no flag yet: the daily detection finds them;
  every other pilot is healthy. Some pilots that moved on carry resolved stall flags;
- from pilot on, a structured exit contract and business case; 0-3 measurements during
  the pilot (the last before production meets the target, or ~10% were overridden);
  in production, the value reviews that came due (~80% recorded, some at risk, some of
  those decided). Outcomes draw from their own random stream, so the rest of the
  portfolio is the same as before they existed;
- capacity plans for every team for the previous, current and next three quarters,
  set at 50-110% of the team's demand (the effort of its committed work and its
  candidates) so that the funding line cuts through in every quarter;
- one saved scenario for next quarter, drafted by a leader through the service
  (``scoring.scenarios.scenario_create``): the first team's capacity raised by a quarter;
- the scoring models and the checkpoint catalogue are the migrations' own.
"""

from __future__ import annotations

import math
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import DatabaseError, connection, transaction

from bench.bulk import copy_rows, reset_sequences
from governance.models import Checkpoint, CheckpointStatus, CheckpointType
from portfolio.models import (
    STAGE_ORDER,
    Activity,
    AutonomyLevel,
    Category,
    ContractOverride,
    Dependency,
    DigestSubscription,
    Health,
    Initiative,
    Measurement,
    MetricDirection,
    RetirementReason,
    RiskTier,
    Stage,
    StageTransition,
    Stakeholder,
    StallFlag,
    Team,
    Update,
    ValueDecision,
    ValueReview,
)
from portfolio.roles import Role
from scoring.capacity import DRAWING_STAGES, plan_quarters, quarter_label, quarter_of
from scoring.models import CapacityPlan
from scoring.scenarios import scenario_create

STALLED_PILOTS = 100
TPMS = 1000
CHUNK = 5000  # initiatives written per COPY round

# Where the portfolio stands: the demo's mix, a pipeline that narrows towards production.
STAGE_MIX = (
    (Stage.IDEA, 24), (Stage.ASSESSMENT, 20), (Stage.PILOT, 18), (Stage.PRODUCTION, 12),
    (Stage.SCALED, 5), (Stage.PAUSED, 8), (Stage.RETIRED, 13),
)
# Days spent in the current stage, by stage (healthy pilots stay under PILOT_MAX_DAYS).
DAYS_IN_STAGE = {
    Stage.IDEA: (1, 400), Stage.ASSESSMENT: (1, 120), Stage.PRODUCTION: (10, 400),
    Stage.SCALED: (30, 500), Stage.PAUSED: (10, 300), Stage.RETIRED: (5, 700),
}
DAYS_IN_EARLIER_STAGE = (14, 120)
EFFORT_WEEKS = ("2", "3", "4", "6", "8", "10", "12", "16", "20", "26", "40")
REACH = (50, 120, 300, 800, 1500, 4000, 12000, 40000)
IMPACTS = (0.25, 0.5, 1.0, 2.0, 3.0)
UPDATE_BODIES = (
    "Evaluation run against the golden set; accuracy holding above the agreed threshold.",
    "Waiting on the vendor's data-processing terms before widening the pilot.",
    "Onboarded two more teams; feedback triaged and the top three issues fixed.",
    "Latency regressed after the model upgrade; rolling back while we investigate.",
    "Security review findings addressed; retest booked for next week.",
    "Usage steady; cost per request down 18% after prompt caching.",
)
TEAM_AREAS = ("Customer Operations", "Finance Automation", "Data Platform", "Sales Enablement",
              "People & HR", "Security Engineering", "Supply Chain", "Marketing", "Legal",
              "Procurement", "Field Service", "Risk")
TITLE_WORDS = (("Invoice", "Ticket", "Contract", "Claims", "Forecast", "Onboarding", "Returns",
                "Audit", "Pricing", "Knowledge", "Incident", "Expense", "Supplier", "Call"),
               ("triage", "summarisation", "extraction", "copilot", "agent", "assistant",
                "matching", "routing", "search", "classifier", "drafting", "anomaly finder"))


@dataclass
class Portfolio:
    """What the measurements need to know about a seeded portfolio."""

    size: int
    now: datetime
    teams: int
    users: int
    personas: dict[str, int]          # role -> a user id signed in for the pages
    detail_initiative: int            # a production initiative its PM persona owns
    stalled: list[int]
    early_initiative: int = 0         # one before production (its page forecasts production)
    next_quarter: str = ""            # "2027-Q1": the dashboard's and ranking's ?quarter=
    scenario: str = ""                # the saved scenario's key (its page's address)
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows written
    seconds: float = 0.0


# --- People and teams ------------------------------------------------------------------------

def _people(size: int, now: datetime, rng: random.Random, rows: dict) -> dict:
    user_model = get_user_model()
    groups = {role: Group.objects.get_or_create(name=role)[0].pk for role in Role}
    counts = {Role.PM: max(20, size // 20), Role.REVIEWER: max(5, size // 1000),
              Role.LEADERSHIP: 5, Role.TPM: TPMS}
    users, memberships, by_role = [], [], defaultdict(list)
    next_id = 1
    for role, count in counts.items():
        for n in range(count):
            active = not (role == Role.PM and n > 0 and rng.random() < 0.02)
            username = f"{role}{n:05d}"
            users.append((next_id, "!", username, role.capitalize(), f"Number {n}",
                          f"{username}@example.com", active, now - timedelta(days=800)))
            memberships.append((next_id, next_id, groups[role]))
            by_role[role].append((next_id, active))
            next_id += 1
    columns = ["id", "password", "username", "first_name", "last_name", "email", "is_active",
               "date_joined"]
    rows[user_model._meta.db_table] = copy_rows(user_model, columns, users)
    copy_rows(user_model.groups.through, ["id", "user_id", "group_id"], memberships)
    return by_role


def _teams(count: int, now: datetime, rows: dict) -> list[int]:
    teams = []
    for n in range(count):
        area = TEAM_AREAS[n % len(TEAM_AREAS)]
        teams.append((n + 1, f"{area} {n + 1:03d}", f"team-{n + 1:03d}",
                      f"{area}: AI work of squad {n + 1}.", now - timedelta(days=900)))
    columns = ["id", "name", "slug", "description", "created_at"]
    rows[Team._meta.db_table] = copy_rows(Team, columns, teams)
    return [team[0] for team in teams]


# --- One initiative ----------------------------------------------------------------------------

class Tables:
    """Rows waiting for the next COPY round, per table."""

    COLUMNS = {
        Initiative: ["id", "title", "summary", "category", "team_id", "owner_id", "sponsor_id",
                     "stage", "stage_changed_at", "health", "last_activity_at",
                     "retirement_reason", "retirement_lessons", "effort_weeks", "reach",
                     "impact", "confidence", "business_value", "time_criticality",
                     "risk_reduction", "strategic_alignment", "target_production_date",
                     "uses_personal_data", "customer_facing", "autonomy_level", "risk_tier",
                     "model_vendor", "success_metric", "metric_unit", "metric_direction",
                     "baseline_value", "target_value", "window_start", "window_end",
                     "decision_date", "production_owner_id", "predicted_annual_value",
                     "predicted_annual_run_cost", "version", "created_by_id", "created_at",
                     "updated_at"],
        StageTransition: ["id", "initiative_id", "from_stage", "to_stage", "actor_id", "at",
                          "note"],
        Update: ["id", "initiative_id", "author_id", "body", "health", "created_at"],
        Activity: ["id", "initiative_id", "kind", "actor_id", "at", "details"],
        Stakeholder: ["id", "initiative_id", "user_id", "role"],
        Checkpoint: ["id", "initiative_id", "type_id", "status", "requested_at", "due_date",
                     "reviewer_id", "decided_at", "evidence_url", "waiver_justification",
                     "waiver_expires_on", "version"],
        Dependency: ["id", "initiative_id", "depends_on_id", "created_at"],
        StallFlag: ["id", "initiative_id", "reason", "flagged_at", "detection_run", "decision",
                    "decided_by_id", "decided_at", "resolved_at", "resolution"],
        Measurement: ["id", "initiative_id", "measured_on", "value", "source_url",
                      "source_note", "recorded_by_id", "recorded_at"],
        ContractOverride: ["id", "initiative_id", "kind", "stage_since", "overridden",
                           "reason", "decided_by_id", "decided_at"],
        ValueReview: ["id", "initiative_id", "production_since", "days", "due_on",
                      "scheduled_at", "scheduled_run", "realised_value", "run_cost", "note",
                      "recorded_by_id", "recorded_at", "at_risk", "suggested_decision",
                      "decision", "decision_note", "decided_by_id", "decided_at"],
    }

    def __init__(self):
        self.rows = {model: [] for model in self.COLUMNS}
        self.history = []
        self.ids = defaultdict(int)

    def add(self, model, *values) -> int:
        self.ids[model] += 1
        self.rows[model].append((self.ids[model], *values))
        return self.ids[model]

    def flush(self, written: dict) -> None:
        for model, rows in self.rows.items():
            if rows:
                name = model._meta.db_table
                written[name] = written.get(name, 0) + copy_rows(model, self.COLUMNS[model], rows)
                rows.clear()
        if self.history:
            history = Initiative.history.model
            name = history._meta.db_table
            written[name] = written.get(name, 0) + copy_rows(history, HISTORY_COLUMNS,
                                                             self.history)
            self.history.clear()

    def add_history(self, ident: int, row: tuple, *, version: int, at: datetime, kind: str,
                    user: int) -> None:
        """An audit-history record of the initiative's ``row`` (without its id)."""
        values = dict(zip(INITIATIVE_COLUMNS[1:], row, strict=True))
        values.update(id=ident, version=version, updated_at=at)
        self.ids["history"] += 1
        self.history.append((self.ids["history"], *(values[c] for c in AUDITED_COLUMNS),
                             at, kind, user))


INITIATIVE_COLUMNS = Tables.COLUMNS[Initiative]
AUDITED_COLUMNS = [c for c in INITIATIVE_COLUMNS if c != "last_activity_at"]  # as HistoricalRecords
HISTORY_COLUMNS = ["history_id", *AUDITED_COLUMNS, "history_date", "history_type",
                   "history_user_id"]


@dataclass
class Context:
    now: datetime
    rng: random.Random
    tables: Tables
    teams: list[int]
    team_pms: dict[int, list[int]]
    reviewers: list[int]
    leaders: list[int]
    tpms: list[int]
    types: list  # CheckpointType rows
    # Outcomes (measurements, value reviews) draw from their own stream, so the rest of
    # the portfolio is what it was before they existed.
    story: random.Random = field(default_factory=random.Random)
    demand: dict = field(default_factory=lambda: defaultdict(Decimal))
    recent_by_team: dict = field(default_factory=lambda: defaultdict(list))


def _days_ago(ctx: Context, days: float) -> datetime:
    return ctx.now - timedelta(days=days)


def _path(rng: random.Random, stage: str) -> list[str]:
    """The stages entered after idea, in order, ending in ``stage``."""
    if stage in STAGE_ORDER:
        return list(STAGE_ORDER[1:STAGE_ORDER.index(stage) + 1])
    if stage == Stage.PAUSED:
        reached = rng.choice((Stage.ASSESSMENT, Stage.PILOT))
    else:
        reached = rng.choice((Stage.IDEA, Stage.ASSESSMENT, Stage.PILOT, Stage.PILOT,
                              Stage.PRODUCTION))
    return [*STAGE_ORDER[1:STAGE_ORDER.index(reached) + 1], stage]


def _timeline(ctx: Context, stage: str, path: list[str], stall: str | None):
    """(created_at, [move times], last_activity_at), oldest first.

    A healthy pilot entered pilot less than PILOT_MAX_DAYS ago and was active less than
    PILOT_IDLE_DAYS ago; a stalled one breaks one rule (``too_long``, ``idle``) or both.
    """
    rng = ctx.rng
    max_days, idle_days = settings.PILOT_MAX_DAYS, settings.PILOT_IDLE_DAYS
    if stage != Stage.PILOT:
        in_stage = rng.uniform(*DAYS_IN_STAGE[stage])
    elif stall in ("too_long", "both"):
        in_stage = rng.uniform(max_days + 1, max_days + 110)
    elif stall == "idle":
        in_stage = rng.uniform(idle_days + 5, max_days - 2)
    else:
        in_stage = rng.uniform(1, max_days - 1)
    earlier = [rng.uniform(*DAYS_IN_EARLIER_STAGE) for _ in path]  # idea .. before last move
    age = in_stage + sum(earlier)
    moves, elapsed = [], age
    for spent in earlier:
        elapsed -= spent
        moves.append(_days_ago(ctx, elapsed))
    changed = moves[-1] if moves else _days_ago(ctx, age)
    if stall in ("idle", "both"):
        last = _days_ago(ctx, rng.uniform(idle_days + 1, min(in_stage, idle_days + 40)))
    elif stage == Stage.PILOT:
        last = max(changed, _days_ago(ctx, rng.uniform(0.1, idle_days - 1)))
    elif stage in STAGE_ORDER:  # live work: updates every few weeks
        last = max(changed, _days_ago(ctx, rng.uniform(0.1, 60)))
    else:  # paused or retired: quiet since
        last = min(ctx.now, changed + timedelta(days=rng.uniform(0, 30)))
    return _days_ago(ctx, age), moves, last


def _profile(rng: random.Random, stage: str, category: str) -> dict:
    agentic = category == Category.AGENTIC_WORKFLOW
    autonomy = (rng.choice((AutonomyLevel.HUMAN_ON_THE_LOOP, AutonomyLevel.AUTONOMOUS,
                            AutonomyLevel.HUMAN_IN_THE_LOOP)) if agentic
                else rng.choice((AutonomyLevel.ASSISTIVE, AutonomyLevel.ASSISTIVE,
                                 AutonomyLevel.HUMAN_IN_THE_LOOP)))
    risk = rng.choices((RiskTier.MINIMAL, RiskTier.LIMITED, RiskTier.HIGH), (40, 35, 24))[0]
    if stage in (Stage.IDEA, Stage.ASSESSMENT, Stage.RETIRED) and rng.random() < 0.02:
        risk = RiskTier.PROHIBITED
    return {"risk_tier": risk, "autonomy_level": autonomy,
            "uses_personal_data": rng.random() < 0.4, "customer_facing": rng.random() < 0.3}


def _checkpoints(ctx: Context, ident: int, profile: SimpleNamespace, reached: int, live: bool,
                 created: datetime, moves: list[datetime], changed: datetime,
                 last: datetime) -> None:
    """The applicable checkpoints: cleared for the gates passed, in play at the next one."""
    rng, tables = ctx.rng, ctx.tables
    for ctype in ctx.types:
        if not ctype.applies_to(profile):
            continue
        gate = STAGE_ORDER.index(ctype.required_for)
        reviewer = rng.choice(ctx.reviewers)
        status, decided, who, waiver, expires = CheckpointStatus.NOT_STARTED, None, None, "", None
        requested = created
        if gate <= reached:  # passed: cleared before the move into the gated stage
            entered = moves[gate - 1]
            requested = moves[gate - 2] if gate >= 2 else created
            decided = max(requested, entered - timedelta(days=rng.uniform(0.5, 10)))
            who, status = reviewer, CheckpointStatus.APPROVED
            roll = rng.random()
            if roll < 0.04:
                status, waiver = CheckpointStatus.WAIVED, "Accepted for the pilot's scope."
                expires = (ctx.now + timedelta(days=rng.uniform(-30, 180))).date()
            elif roll < 0.05 and live:  # fell out of compliance (newly applicable)
                status, decided, who = CheckpointStatus.IN_REVIEW, None, reviewer
        elif gate == reached + 1:  # the next gate: requested when the stage was entered
            requested = changed
            status = rng.choices((CheckpointStatus.NOT_STARTED, CheckpointStatus.IN_REVIEW,
                                  CheckpointStatus.APPROVED, CheckpointStatus.REJECTED),
                                 (45, 30, 15, 10))[0]
            if status != CheckpointStatus.NOT_STARTED:
                who = reviewer
            if status in (CheckpointStatus.APPROVED, CheckpointStatus.REJECTED):
                decided = requested + (last - requested) * rng.random()
        due = (requested + timedelta(days=ctype.review_days)).date()
        tables.add(Checkpoint, ident, ctype.pk, status, requested, due, who, decided,
                   "https://wiki.example.com/reviews/1" if decided else "", waiver, expires,
                   2 if decided else 1)
        if decided and status != CheckpointStatus.WAIVED:
            tables.add(Activity, ident, Activity.Kind.CHECKPOINT_DECIDED, who, decided,
                       {"checkpoint": ctype.name, "status": status})


def _between(rng: random.Random, start: datetime, end: datetime, count: int) -> list[datetime]:
    return sorted(start + (end - start) * rng.random() for _ in range(count))


def _outcomes(ctx: Context, ident: int, path: list[str], moves: list[datetime],
              last: datetime, owner: int, sponsor: int | None) -> tuple:
    """The exit contract of an initiative that reached pilot, its measurements during the
    pilot (the last one before production meets the target, or the sponsor overrode it)
    and, in production, its value reviews: recorded, due, overdue, some at risk. Returns
    the contract's columns of the initiative's row (all empty before pilot)."""
    if Stage.PILOT not in path:
        return ("",) * 3 + (None,) * 5 + (None, None)
    rng, tables, now = ctx.story, ctx.tables, ctx.now
    index = path.index(Stage.PILOT)
    pilot_at = moves[index]
    left = path[index + 1] if index + 1 < len(path) else None
    left_at = moves[index + 1] if left else None
    decision = (left_at if left == Stage.PRODUCTION else pilot_at + timedelta(days=75)).date()
    value = Decimal(rng.randrange(50, 1500, 5) * 1000)
    cost = (value * Decimal(rng.randint(10, 40)) / 100).quantize(Decimal(1000))
    production = left == Stage.PRODUCTION
    overridden = production and rng.random() < 0.1
    # Readings of minutes per case (baseline 14, target 9, lower is better).
    end = min(left_at or last, _end_of(decision, now))
    times = _between(rng, pilot_at, end, rng.randint(1, 3) if production else rng.randint(0, 3))
    for n, at in enumerate(times):
        final = n == len(times) - 1
        reading = (Decimal(rng.randint(60, 90)) / 10 if final and production and not overridden
                   else Decimal(rng.randint(95, 135)) / 10)
        tables.add(Measurement, ident, at.date(), reading, "",
                   "Case-handling report for the pilot group.", owner, at)
        tables.add(Activity, ident, Activity.Kind.MEASUREMENT_RECORDED, owner, at,
                   {"count": 1, "value": f"{reading.normalize():f} minutes",
                    "on": at.date().isoformat()})
    if overridden and times:
        at = times[-1] + (left_at - times[-1]) / 2
        text = f"the exit contract's target: {reading.normalize():f} minutes measured, target 9"
        tables.add(ContractOverride, ident, "target_missed", pilot_at, text,
                   "Agents want it now; the handling time will be measured again at the "
                   "90-day review.", sponsor or owner, at)
        tables.add(Activity, ident, Activity.Kind.CONTRACT_OVERRIDDEN, sponsor or owner, at,
                   {"kind": "target_missed", "overridden": text, "reason": "Agents want it."})
    if production and path[-1] in (Stage.PRODUCTION, Stage.SCALED):
        _value_reviews(ctx, ident, left_at, value, cost, owner)
    return ("Minutes per case", "minutes", MetricDirection.LOWER, Decimal(14), Decimal(9),
            pilot_at.date(), decision, decision, value, cost)


def _end_of(day, now: datetime) -> datetime:
    return min(now, datetime.combine(day, datetime.max.time(), tzinfo=now.tzinfo))


def _value_reviews(ctx: Context, ident: int, since: datetime, value: Decimal, cost: Decimal,
                   owner: int) -> None:
    """The value reviews that came due since ``since``: most recorded a few days later
    (realised 40-130% of the prediction), the rest pending; value at risk decided for some."""
    rng, tables, now = ctx.story, ctx.tables, ctx.now
    for days in settings.VALUE_REVIEW_DAYS:
        due_at = since + timedelta(days=days)
        if due_at > now:
            break
        tables.add(Activity, ident, Activity.Kind.VALUE_REVIEW_DUE, None, due_at,
                   {"days": days, "due": due_at.date().isoformat()})
        recorded_at = due_at + timedelta(days=rng.uniform(1, 20))
        if recorded_at > now or rng.random() < 0.15:
            tables.add(ValueReview, ident, since, days, due_at.date(), due_at, "seed", None,
                       None, "", None, None, False, "", "", "", None, None)
            continue
        realised = (value * Decimal(str(round(rng.uniform(0.4, 1.3), 2)))).quantize(Decimal(1))
        run_cost = (cost * Decimal(str(round(rng.uniform(0.8, 1.4), 2)))).quantize(Decimal(1))
        at_risk = realised * 100 < value * settings.VALUE_AT_RISK_PERCENT
        suggested = ValueDecision.FIX if at_risk else ""
        decided = at_risk and rng.random() < 0.4
        tables.add(ValueReview, ident, since, days, due_at.date(), due_at, "seed", realised,
                   run_cost, "From the finance ledger.", owner, recorded_at, at_risk,
                   suggested, suggested if decided else "",
                   "Fixing the routing before the next review." if decided else "",
                   owner if decided else None,
                   min(now, recorded_at + timedelta(days=2)) if decided else None)
        tables.add(Activity, ident, Activity.Kind.VALUE_REVIEW_RECORDED, owner, recorded_at,
                   {"days": days, "realised": str(realised), "run_cost": str(run_cost),
                    "at_risk": at_risk, "suggested": suggested})


def _initiative(ctx: Context, ident: int, stage: str, stall: str | None) -> None:
    rng, tables, now = ctx.rng, ctx.tables, ctx.now
    team = rng.choice(ctx.teams)
    pms = ctx.team_pms[team]
    owner = rng.choice(pms)
    helper = rng.choice(pms)
    category = rng.choice(Category.values)
    path = _path(rng, stage)
    created, moves, last = _timeline(ctx, stage, path, stall)
    changed = moves[-1] if moves else created
    profile = _profile(rng, stage, category)
    forward = [s for s in path if s in STAGE_ORDER]
    reached = STAGE_ORDER.index(forward[-1]) if forward else 0
    live = stage in STAGE_ORDER
    sized = stage != Stage.IDEA or rng.random() < 0.6
    piloted = reached >= STAGE_ORDER.index(Stage.PILOT)
    sponsor = rng.choice(ctx.leaders) if reached >= 2 or rng.random() < 0.3 else None

    # Updates, then the history of moves; the latest event is ``last``.
    update_times = sorted(created + (last - created) * rng.random()
                          for _ in range(rng.randint(0, 4)))
    if last > changed:
        update_times.append(last)
    health = Health.ON_TRACK
    for at in update_times:
        health = rng.choices(Health.values, (70, 22, 8))[0]
        author = owner if rng.random() < 0.75 else helper
        tables.add(Update, ident, author, rng.choice(UPDATE_BODIES), health, at)
        tables.add(Activity, ident, Activity.Kind.UPDATE_POSTED, author, at, {"health": health})
    tables.add(Activity, ident, Activity.Kind.CREATED, owner, created, {})
    previous = Stage.IDEA
    for to_stage, at in zip(path, moves, strict=True):
        note = "Moved on at the portfolio review."
        tables.add(StageTransition, ident, previous, to_stage, owner, at, note)
        tables.add(Activity, ident, Activity.Kind.STAGE_MOVED, owner, at,
                   {"from": previous, "to": to_stage, "note": note})
        previous = to_stage
    _checkpoints(ctx, ident, SimpleNamespace(**profile), reached, live, created, moves,
                 changed, last)
    terms = _outcomes(ctx, ident, path, moves, last, owner, sponsor)

    # People: Responsible past the idea stage, Consulted for risk, Informed from pilot.
    if stage != Stage.IDEA and rng.random() < 0.93:
        tables.add(Stakeholder, ident, helper, Stakeholder.Role.RESPONSIBLE)
    if profile["uses_personal_data"] or profile["risk_tier"] != RiskTier.MINIMAL:
        tables.add(Stakeholder, ident, rng.choice(ctx.reviewers), Stakeholder.Role.CONSULTED)
    if piloted:
        tables.add(Stakeholder, ident, rng.choice(ctx.tpms), Stakeholder.Role.INFORMED)

    # Older pilots that moved on: a stall flag, resolved by the move.
    entered_pilot = path.index(Stage.PILOT) if Stage.PILOT in path else None
    if (entered_pilot is not None and entered_pilot + 1 < len(moves)
            and rng.random() < 0.06):
        pilot_at, left_at = moves[entered_pilot], moves[entered_pilot + 1]
        flagged = pilot_at + (left_at - pilot_at) * 0.8
        tables.add(StallFlag, ident, "too_long", flagged, "seed", "scale", owner,
                   flagged + (left_at - flagged) / 2, left_at, "moved")
    recent = ctx.recent_by_team[team]
    if recent and rng.random() < 0.10:
        depends_on = rng.choice(recent)
        tables.add(Dependency, ident, depends_on, max(created, now - timedelta(days=30)))
    recent.append(ident)
    if len(recent) > 50:
        del recent[0]

    effort = Decimal(rng.choice(EFFORT_WEEKS)) if sized else None
    if effort is not None and stage in DRAWING_STAGES:  # committed work and candidates
        ctx.demand[team] += effort
    retired = stage == Stage.RETIRED
    version = 1 + len(moves) + len(update_times)
    row = (
        f"{rng.choice(TITLE_WORDS[0])} {rng.choice(TITLE_WORDS[1])} #{ident}",
        "Cut the manual effort of a repetitive task and measure the time saved per case.",
        category, team, owner, sponsor, stage, changed, health, last,
        rng.choice(RetirementReason.values) if retired else "",
        "Value was not proven in time; the data was not ready." if retired else "",
        effort,
        rng.choice(REACH) if sized else None, rng.choice(IMPACTS) if sized else None,
        rng.choice((50, 80, 100)) if sized else None,
        rng.randint(1, 10) if sized else None, rng.randint(1, 10) if sized else None,
        rng.randint(1, 10) if sized else None, rng.randint(1, 5) if sized else None,
        (created + timedelta(days=rng.randint(150, 330))).date() if sized else None,
        profile["uses_personal_data"], profile["customer_facing"], profile["autonomy_level"],
        profile["risk_tier"], rng.choice(("Azure OpenAI GPT-4.1", "Anthropic Claude",
                                          "Self-hosted Llama", "Google Gemini")),
        *terms[:8], helper if piloted else None, *terms[8:], version, owner, created, last,
    )
    tables.add(Initiative, *row)
    tables.add_history(ident, row, version=1, at=created, kind="+", user=owner)
    tables.add_history(ident, row, version=version, at=last, kind="~", user=owner)


# --- The whole portfolio -----------------------------------------------------------------------

def _stages(rng: random.Random, size: int) -> list[tuple[str, str | None]]:
    """Each initiative's stage (and stall kind), in a shuffled but seeded order."""
    stages, weights = zip(*STAGE_MIX, strict=True)
    picks = rng.choices(stages, weights, k=size)
    pilots = [i for i, stage in enumerate(picks) if stage == Stage.PILOT]
    while len(pilots) < STALLED_PILOTS:  # tiny sizes: make enough pilots
        index = rng.randrange(size)
        if picks[index] != Stage.PILOT:
            picks[index] = Stage.PILOT
            pilots.append(index)
    stalled = set(rng.sample(pilots, STALLED_PILOTS))
    kinds = ("too_long", "idle", "both")
    order = sorted(stalled)
    return [(stage, kinds[order.index(i) % 3] if i in stalled else None)
            for i, stage in enumerate(picks)]


def _capacity_and_subscriptions(ctx: Context, stalled_teams: list[int], rows: dict) -> None:
    rng, now = ctx.rng, ctx.now
    year, quarter = quarter_of(now.date())
    # The quarter before (history) and the four a plan looks at: this one, the next three.
    before = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    quarters = [before, *plan_quarters(now)]
    plans, ident = [], 0
    for team in ctx.teams:
        for y, q in quarters:
            ident += 1
            weeks = (ctx.demand[team] * Decimal(str(round(rng.uniform(0.5, 1.1), 2))))
            plans.append((ident, team, y, q, weeks.quantize(Decimal("0.1")), ""))
    rows[CapacityPlan._meta.db_table] = copy_rows(
        CapacityPlan, ["id", "team_id", "year", "quarter", "engineer_weeks", "notes"], plans)
    subscriptions, follows = [], []
    for n, tpm in enumerate(ctx.tpms):
        subscriptions.append((n + 1, tpm, False, now))
        teams = {ctx.teams[n % len(ctx.teams)], stalled_teams[n % len(stalled_teams)]}
        follows += [(len(follows) + 1 + k, n + 1, team) for k, team in enumerate(sorted(teams))]
    rows[DigestSubscription._meta.db_table] = copy_rows(
        DigestSubscription, ["id", "user_id", "opted_out", "updated_at"], subscriptions)
    copy_rows(DigestSubscription.teams.through, ["id", "digestsubscription_id", "team_id"],
              follows)


SCENARIO_SHARE = Decimal("1.25")  # the scenario's capacity: the team's plan and a quarter


def _scenario(ctx: Context):
    """A leader's saved what-if for next quarter, through the service: the first team's
    capacity raised by a quarter, so candidates enter (the scenario page's work)."""
    year, quarter = plan_quarters(ctx.now)[1]
    team = ctx.teams[0]
    planned = CapacityPlan.objects.get(team_id=team, year=year, quarter=quarter)
    return scenario_create(
        name="Raise the first team's capacity next quarter", year=year, quarter=quarter,
        capacities={team: (planned.engineer_weeks * SCENARIO_SHARE).quantize(Decimal("0.1"))},
        actor=get_user_model().objects.get(pk=ctx.leaders[0]), now=ctx.now)


def _settle() -> None:
    """Write the seed's dirty pages out now (``CHECKPOINT``), so that no checkpoint spread
    over the next minutes (``checkpoint_completion_target``) writes them back while the
    first figures are measured. Needs a superuser or ``pg_checkpoint``; without, the
    server's own checkpoints do it, later."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError:
        pass


def seed(size: int, *, now: datetime, progress=print) -> Portfolio:
    """Write a portfolio of ``size`` initiatives into an empty, migrated database."""
    started = time.monotonic()
    rng = random.Random(f"bench:{size}")
    rows: dict[str, int] = {}
    with transaction.atomic():
        by_role = _people(size, now, rng, rows)
        teams = _teams(max(10, round(math.sqrt(size))), now, rows)
    all_pms = [pk for pk, _ in by_role[Role.PM]]
    team_pms = {team: [all_pms[(i + k * len(teams)) % len(all_pms)]
                       for k in range(max(2, len(all_pms) // len(teams)))]
                for i, team in enumerate(teams)}
    ctx = Context(now=now, rng=rng, tables=Tables(), teams=teams, team_pms=team_pms,
                  reviewers=[pk for pk, _ in by_role[Role.REVIEWER]],
                  leaders=[pk for pk, _ in by_role[Role.LEADERSHIP]],
                  tpms=[pk for pk, _ in by_role[Role.TPM]],
                  types=list(CheckpointType.objects.filter(active=True).order_by("pk")),
                  story=random.Random(f"bench:{size}:outcomes"))
    plan = _stages(rng, size)
    stalled = []
    for start in range(0, size, CHUNK):
        with transaction.atomic():
            for offset, (stage, stall) in enumerate(plan[start:start + CHUNK]):
                ident = start + offset + 1
                _initiative(ctx, ident, stage, stall)
                if stall:
                    stalled.append(ident)
            ctx.tables.flush(rows)
        done = min(start + CHUNK, size)
        progress(f"  seeded {done:>7,} / {size:,} initiatives "
                 f"({time.monotonic() - started:5.1f} s)")
    # The detail page's initiative: the first in production whose owner (the PM persona)
    # is active.
    detail, owner = (Initiative.objects.filter(stage=Stage.PRODUCTION, owner__is_active=True)
                     .order_by("pk").values_list("pk", "owner_id").first())
    # And one before production, whose page also forecasts production from the review lead
    # times: the persona's own if they have one.
    early = Initiative.objects.filter(stage__in=[Stage.IDEA, Stage.ASSESSMENT, Stage.PILOT])
    early = (early.filter(owner_id=owner).order_by("pk").values_list("pk", flat=True).first()
             or early.order_by("pk").values_list("pk", flat=True).first())
    stalled_teams = list(Initiative.objects.filter(pk__in=stalled)
                         .values_list("team_id", flat=True))
    with transaction.atomic():
        _capacity_and_subscriptions(ctx, stalled_teams, rows)
        reset_sequences([get_user_model(), get_user_model().groups.through, Team, *Tables.COLUMNS,
                         Initiative.history.model, CapacityPlan, DigestSubscription,
                         DigestSubscription.teams.through])
    scenario = _scenario(ctx)
    progress("  VACUUM ANALYZE …")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    _settle()
    return Portfolio(
        size=size, now=now, teams=len(teams), users=rows[get_user_model()._meta.db_table],
        personas={"pm": owner, "reviewer": ctx.reviewers[0], "tpm": ctx.tpms[0],
                  "leadership": ctx.leaders[0]},
        detail_initiative=detail, early_initiative=early,
        next_quarter=quarter_label(*plan_quarters(now)[1]), scenario=str(scenario.key),
        stalled=stalled, rows=rows, seconds=time.monotonic() - started)
