"""Capacity and the funding line (docs/architecture.md, "Scoring and capacity").

- ``capacity_plan_set``: the one write — engineer-weeks a team can build in a quarter.
- ``funding_line``: for one quarter, walk each team's ranking and fund while the
  remaining capacity covers the effort; what does not fit is skipped and the walk goes
  on. Funded initiatives whose next stage is blocked by governance are marked
  **funded but blocked**, with the blocking checkpoints.
- ``demand_by_team``: capacity versus demand per team, for the chart.

Demand is the effort of a team's initiatives that draw build capacity: those in
assessment, pilot or production. Ideas, scaled, paused and retired ones draw none.
Initiatives without an effort estimate are *unsized*: listed, never counted.

Nothing here reads the clock: ``now`` comes from the caller.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from governance.models import Checkpoint
from governance.services import gate_blockers_given
from portfolio.exceptions import DomainError
from portfolio.models import STAGE_ORDER, Initiative, Stage, Team
from portfolio.outcomes.contract import Evidence
from portfolio.outcomes.selectors import contract_evidence_bulk
from portfolio.services import portfolio_changed
from scoring.models import CapacityPlan
from scoring.selectors import active_scoring_model, ranked_initiatives

# The stages whose initiatives draw build capacity.
DRAWING_STAGES = (Stage.ASSESSMENT, Stage.PILOT, Stage.PRODUCTION)

YEAR_MIN, YEAR_MAX = 2000, 2100
QUARTER_INVALID = "The quarter must be 1, 2, 3 or 4."
YEAR_INVALID = f"The year must be between {YEAR_MIN} and {YEAR_MAX}."
WEEKS_NEGATIVE = "Engineer-weeks cannot be negative."
PLAN_EXISTS = "This team already has a plan for that quarter; change that plan instead."
WEEKS_INVALID = "Engineer-weeks must be a number with at most one decimal place."

# Where an initiative stands against the line.
FUNDED = "funded"
BELOW_LINE = "below_line"
UNSIZED = "unsized"
NO_PLAN = "no_plan"
STATUS_LABELS = {FUNDED: "funded", BELOW_LINE: "below the line", UNSIZED: "unsized",
                 NO_PLAN: "no capacity plan"}
BELOW_LINE_REASON = "needs {effort} engineer-weeks; {remaining} left when its turn came"


# --- Quarters -----------------------------------------------------------------------------------

def quarter_of(day: date | datetime) -> tuple[int, int]:
    """(year, quarter) of a date; an aware datetime counts in the current time zone."""
    if isinstance(day, datetime):
        day = timezone.localdate(day) if timezone.is_aware(day) else day.date()
    return day.year, (day.month - 1) // 3 + 1


def next_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year + 1, 1) if quarter == 4 else (year, quarter + 1)


# --- The write ----------------------------------------------------------------------------------

def _weeks(value) -> Decimal:
    try:
        weeks = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise DomainError(WEEKS_INVALID, field="engineer_weeks") from None
    if not weeks.is_finite():
        raise DomainError(WEEKS_INVALID, field="engineer_weeks")
    if weeks < 0:
        raise DomainError(WEEKS_NEGATIVE, field="engineer_weeks")
    return weeks


@transaction.atomic
def capacity_plan_set(*, team: Team, year: int, quarter: int, engineer_weeks, actor,
                      now: datetime, notes: str | None = None,
                      create_only: bool = False) -> CapacityPlan:
    """Create or update the team's plan for the quarter; the history records who and when.

    ``notes=None`` keeps the notes already there. Setting the same values again writes
    nothing. ``create_only`` (the API's create) refuses a quarter already planned, even
    one planned by a concurrent request. Refusals name their field: ``quarter``, ``year``,
    ``engineer_weeks``.
    """
    if quarter not in (1, 2, 3, 4):
        raise DomainError(QUARTER_INVALID, field="quarter")
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise DomainError(YEAR_INVALID, field="year")
    weeks = _weeks(engineer_weeks)
    plan = (CapacityPlan.objects.select_for_update()
            .filter(team=team, year=year, quarter=quarter).first())
    if plan is not None and create_only:
        raise DomainError(PLAN_EXISTS, field="quarter")
    if plan is None:
        plan = CapacityPlan(team=team, year=year, quarter=quarter, engineer_weeks=weeks,
                            notes=(notes or "").strip())
    elif plan.engineer_weeks == weeks and (notes is None or plan.notes == notes.strip()):
        return plan
    else:
        plan.engineer_weeks = weeks
        if notes is not None:
            plan.notes = notes.strip()
    try:
        plan.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        name, messages = next(iter(error.message_dict.items()))
        if name == "engineer_weeks":
            raise DomainError(WEEKS_INVALID, field=name) from None
        raise DomainError(messages[0], field=name) from None
    plan._history_user = actor
    plan._history_date = now
    portfolio_changed(what="capacity_plan")
    if plan.pk:
        plan.save()
        return plan
    try:
        with transaction.atomic():  # a savepoint: someone may create the same plan at once
            plan.save()
    except IntegrityError:
        # They won the insert; ours becomes an update of their row, or a refusal.
        if create_only:
            raise DomainError(PLAN_EXISTS, field="quarter") from None
        existing = CapacityPlan.objects.select_for_update().get(team=team, year=year,
                                                                quarter=quarter)
        return capacity_plan_set(team=team, year=year, quarter=quarter, engineer_weeks=weeks,
                                 actor=actor, now=now,
                                 notes=notes if notes is not None else existing.notes)
    return plan


# --- Reads --------------------------------------------------------------------------------------

def capacity_plans_for_quarter(*, year: int, quarter: int) -> list[CapacityPlan]:
    """Every team's plan for the quarter, by team name. One query."""
    return list(CapacityPlan.objects.filter(year=year, quarter=quarter)
                .select_related("team").order_by("team__name"))


@dataclass(frozen=True)
class TeamDemand:
    team: Team
    capacity: Decimal | None  # None: no plan for the quarter
    demand: Decimal
    sized: int
    unsized: int

    @property
    def over_commitment(self) -> Decimal:
        return max(self.demand - (self.capacity or 0), Decimal(0))


def demand_by_team(*, year: int, quarter: int) -> list[TeamDemand]:
    """Capacity versus demand per team (every team), by name. One query, whatever the size.

    Demand sums the effort of the team's initiatives in assessment, pilot or production;
    those without an effort are counted as unsized.
    """
    drawing = Q(initiatives__stage__in=DRAWING_STAGES)
    plan = CapacityPlan.objects.filter(team=OuterRef("pk"), year=year, quarter=quarter)
    teams = (Team.objects.order_by("name").annotate(
        capacity=Subquery(plan.values("engineer_weeks")[:1]),
        demand=Sum("initiatives__effort_weeks", filter=drawing),
        sized=Count("initiatives", filter=drawing & Q(initiatives__effort_weeks__isnull=False)),
        unsized=Count("initiatives", filter=drawing & Q(initiatives__effort_weeks__isnull=True)),
    ))
    return [TeamDemand(team=team, capacity=_decimal(team.capacity),
                       demand=_decimal(team.demand) or Decimal(0), sized=team.sized,
                       unsized=team.unsized) for team in teams]


def _decimal(value) -> Decimal | None:
    # SQLite hands back sums of decimals as floats or ints; one decimal place is the unit.
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.1"))


# --- The funding line ---------------------------------------------------------------------------

@dataclass
class LineEntry:
    """One capacity-drawing initiative against its team's line."""

    initiative: Initiative
    status: str  # FUNDED, BELOW_LINE, UNSIZED or NO_PLAN
    effort: Decimal | None
    reason: str = ""  # why it is below the line, in words
    blockers: list[str] = field(default_factory=list)  # funded but blocked: what blocks it

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def funded(self) -> bool:
        return self.status == FUNDED

    @property
    def funded_but_blocked(self) -> bool:
        return self.status == FUNDED and bool(self.blockers)

    @property
    def next_stage(self) -> str | None:
        return _next_stage(self.initiative.stage)


@dataclass
class TeamLine:
    """One team's quarter: its capacity, its demand and where the line falls."""

    team: Team
    capacity: Decimal | None  # None: the team has no plan for the quarter
    entries: list[LineEntry] = field(default_factory=list)  # in rank order

    @property
    def has_plan(self) -> bool:
        return self.capacity is not None

    @property
    def demand(self) -> Decimal:
        return sum((e.effort for e in self.entries if e.effort is not None), Decimal(0))

    @property
    def funded_effort(self) -> Decimal:
        return sum((e.effort for e in self.entries if e.status == FUNDED), Decimal(0))

    @property
    def remaining(self) -> Decimal | None:
        return None if self.capacity is None else self.capacity - self.funded_effort

    @property
    def utilisation(self) -> Decimal | None:
        """Funded effort over capacity (0.75 is 75 %); None without a plan or capacity."""
        if not self.capacity:
            return None
        return self.funded_effort / self.capacity

    @property
    def utilisation_percent(self) -> int | None:
        return None if self.utilisation is None else round(self.utilisation * 100)

    @property
    def over_commitment(self) -> Decimal:
        """Demand beyond capacity (0 with headroom); without a plan, all of the demand."""
        return max(self.demand - (self.capacity or 0), Decimal(0))

    @property
    def over_committed(self) -> bool:
        return self.over_commitment > 0

    def with_status(self, status: str) -> list[LineEntry]:
        return [entry for entry in self.entries if entry.status == status]

    @property
    def funded_but_blocked(self) -> list[LineEntry]:
        return [entry for entry in self.entries if entry.funded_but_blocked]


@dataclass
class FundingLine:
    year: int
    quarter: int
    teams: list[TeamLine]  # by team name

    def entry_for(self, initiative_id: int) -> LineEntry | None:
        """Where an initiative stands; None when it draws no capacity (idea, scaled...)."""
        if not hasattr(self, "_by_id"):
            self._by_id = {e.initiative.pk: e for line in self.teams for e in line.entries}
        return self._by_id.get(initiative_id)

    @property
    def label(self) -> str:
        return f"{self.year}-Q{self.quarter}"


def funding_line(*, year: int, quarter: int, ranked: Iterable[Initiative],
                 now: datetime) -> FundingLine:
    """Walk each team's ranking for the quarter and draw the line.

    ``ranked``: initiatives of the whole portfolio, best first (the ranking selector's
    order; any order the caller chooses is taken as the ranking). Those not in
    assessment, pilot or production are left out. Per team, in rank order: unsized ones
    are listed and skipped; with no plan for the quarter the rest are below the line
    ("no capacity plan"); otherwise each is funded if the remaining capacity covers its
    effort, else it is below the line and the walk continues with the next.

    Filter what is *shown* afterwards: demand and the line depend on the whole ranking.
    Needs the initiatives' own fields (stage, team_id, effort, exit contract, risk tier).
    Queries: 1 (the teams and their capacity for the quarter) + 1 for the open
    checkpoints of the initiatives drawing capacity, whatever the size.
    """
    by_team: dict[int, list[Initiative]] = defaultdict(list)
    for initiative in ranked:
        if initiative.stage in DRAWING_STAGES:
            by_team[initiative.team_id].append(initiative)
    plan = CapacityPlan.objects.filter(team=OuterRef("pk"), year=year, quarter=quarter)
    teams = (Team.objects
             .filter(Q(pk__in=list(by_team))
                     | Q(pk__in=CapacityPlan.objects.filter(year=year, quarter=quarter)
                         .values("team_id")))
             .annotate(capacity=Subquery(plan.values("engineer_weeks")[:1]))
             .order_by("name", "pk"))
    lines = [_walk(team, _decimal(team.capacity), by_team.get(team.pk, [])) for team in teams]
    funded = [entry for line in lines for entry in line.entries if entry.status == FUNDED]
    _mark_blocked(funded, today=timezone.localdate(now))
    return FundingLine(year=year, quarter=quarter, teams=lines)


def _walk(team: Team, capacity: Decimal | None, ranking: list[Initiative]) -> TeamLine:
    line = TeamLine(team=team, capacity=capacity)
    remaining = capacity
    for initiative in ranking:
        effort = initiative.effort_weeks
        if effort is None:
            status, reason = UNSIZED, ""
        elif remaining is None:
            status, reason = NO_PLAN, STATUS_LABELS[NO_PLAN]
        elif effort <= remaining:
            status, reason = FUNDED, ""
            remaining -= effort
        else:
            status = BELOW_LINE
            reason = BELOW_LINE_REASON.format(effort=_weeks_text(effort),
                                              remaining=_weeks_text(remaining))
        line.entries.append(LineEntry(initiative=initiative, status=status, effort=effort,
                                      reason=reason))
    return line


def _weeks_text(weeks: Decimal) -> str:
    return f"{weeks.normalize():f}"


# --- Funded but blocked -------------------------------------------------------------------------

def _next_stage(stage: str) -> str | None:
    if stage not in STAGE_ORDER or stage == STAGE_ORDER[-1]:
        return None
    return STAGE_ORDER[STAGE_ORDER.index(stage) + 1]


def _mark_blocked(entries: list[LineEntry], *, today: date) -> None:
    """Fill ``blockers`` of funded entries with what blocks each one's next stage.

    The gate (``governance.services.gate_blockers_given``) asked in bulk: one query for
    the uncleared applicable checkpoints of every initiative drawing capacity (the funded
    are among them; a list of their ids would have to be cut in chunks, a query per chunk),
    only the columns the gate reads, then the same rules with no further query.
    """
    if not entries:
        return
    funded = {entry.initiative.pk for entry in entries}
    open_checkpoints: dict[int, list[Checkpoint]] = defaultdict(list)
    for checkpoint in (Checkpoint.objects.applicable().uncleared(today)
                       .filter(initiative__stage__in=DRAWING_STAGES)
                       .select_related("type")
                       .only("pk", "initiative_id", "status", "waiver_expires_on",
                             "type__name", "type__required_for")
                       .iterator(chunk_size=10_000)):
        if checkpoint.initiative_id in funded:
            open_checkpoints[checkpoint.initiative_id].append(checkpoint)
    evidence = contract_evidence_bulk(stages=(Stage.PILOT, Stage.PRODUCTION))
    for entry in entries:
        if entry.next_stage is not None:
            entry.blockers = gate_blockers_given(
                initiative=entry.initiative, to_stage=entry.next_stage, today=today,
                open_checkpoints=open_checkpoints[entry.initiative.pk],
                evidence=evidence.get(entry.initiative.pk) or Evidence())


def funding_line_for_quarter(*, year: int, quarter: int, now: datetime) -> FundingLine:
    """The funding line over the whole portfolio, ranked by the active scoring model.

    Queries: the ranking (1) plus ``funding_line``'s (2)."""
    ranked = ranked_initiatives(Initiative.objects.filter(stage__in=DRAWING_STAGES),
                                model=active_scoring_model())
    return funding_line(year=year, quarter=quarter, ranked=ranked, now=now)
