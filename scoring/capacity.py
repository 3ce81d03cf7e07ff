"""Capacity and the funding line (docs/architecture.md, "Scoring and capacity").

- ``capacity_plan_set``: the one write — engineer-weeks a team can build in a quarter.
- ``funding_walk`` / ``funding_lines``: this quarter and the next three, walked in turn.
  Per team, **committed** work (pilot, production, scaled, and what an earlier quarter
  of the walk funded) counts first, whatever the capacity; then the **candidates**
  (ideas and assessments) in rank order: **funded next** while the capacity left covers
  the effort, else **below the line**, and the walk goes on. Funded initiatives whose
  next stage governance blocks are marked **funded but blocked**, with what blocks them.
- ``demand_by_team``: the committed effort per team, against capacity.

Paused and retired initiatives draw nothing. Initiatives without an effort estimate
are listed, never counted.

Nothing here reads the clock: ``now`` comes from the caller.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from governance.models import Checkpoint
from governance.services import gate_blockers_given
from portfolio.access import require_reader
from portfolio.exceptions import DomainError
from portfolio.models import STAGE_ORDER, Activity, Initiative, Stage, Team
from portfolio.outcomes.contract import Evidence
from portfolio.outcomes.selectors import contract_evidence_bulk
from portfolio.roles import Role, acts_as_admin, roles_of
from portfolio.services import activity_record, portfolio_changed
from scoring.models import CapacityPlan
from scoring.selectors import active_scoring_model, ranked_initiatives

# Committed work: initiatives already being built or run draw capacity first.
COMMITTED_STAGES = (Stage.PILOT, Stage.PRODUCTION, Stage.SCALED)
# Candidates compete, in rank order, for what committed work leaves.
CANDIDATE_STAGES = (Stage.IDEA, Stage.ASSESSMENT)
# Every stage on the line; paused and retired work draws nothing.
DRAWING_STAGES = CANDIDATE_STAGES + COMMITTED_STAGES
# The quarters a plan looks at: this one and the next three.
PLAN_QUARTERS = 4

YEAR_MIN, YEAR_MAX = 2000, 2100
QUARTER_INVALID = "The quarter must be 1, 2, 3 or 4."
YEAR_INVALID = f"The year must be between {YEAR_MIN} and {YEAR_MAX}."
WEEKS_NEGATIVE = "Engineer-weeks cannot be negative."
PLAN_EXISTS = "This team already has a plan for that quarter; change that plan instead."
WEEKS_INVALID = "Engineer-weeks must be a number with at most one decimal place."
QUARTER_NOT_PLANNED = "Choose this quarter or one of the next three."
QUARTER_FORMAT = "Write the quarter as 2027-Q1."
# What a quarter looks like (or empty): the forms' and the API schema's pattern.
QUARTER_PATTERN = r"^([0-9]{4}-Q[1-4])?$"

# Where an initiative stands against the line.
COMMITTED = "committed"
FUNDED = "funded"
BELOW_LINE = "below_line"
UNSIZED = "unsized"
NO_PLAN = "no_plan"
STATUS_LABELS = {COMMITTED: "committed", FUNDED: "fund next", BELOW_LINE: "below the line",
                 UNSIZED: "unsized", NO_PLAN: "no capacity plan"}
BELOW_LINE_REASON = "needs {effort} engineer-weeks; {remaining} left when its turn came"
NO_ESTIMATE = "no effort estimate"
PIN_IN, PIN_OUT = "in", "out"
PINNED_IN_REASON = "pinned in by the scenario"
PINNED_OUT_REASON = "pinned out by the scenario"


# --- Quarters -----------------------------------------------------------------------------------

def quarter_of(day: date | datetime) -> tuple[int, int]:
    """(year, quarter) of a date; an aware datetime counts in the current time zone."""
    if isinstance(day, datetime):
        day = timezone.localdate(day) if timezone.is_aware(day) else day.date()
    return day.year, (day.month - 1) // 3 + 1


def next_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year + 1, 1) if quarter == 4 else (year, quarter + 1)


def quarter_label(year: int, quarter: int) -> str:
    return f"{year}-Q{quarter}"


def plan_quarters(now: date | datetime, *, count: int = PLAN_QUARTERS) -> list[tuple[int, int]]:
    """This quarter and the ones after it, ``count`` in all."""
    quarters = [quarter_of(now)]
    while len(quarters) < count:
        quarters.append(next_quarter(*quarters[-1]))
    return quarters


def parse_quarter(text: str, *, now: date | datetime) -> tuple[int, int]:
    """"2027-Q1" -> (2027, 1), one of the quarters a plan looks at; refusals name the
    field ``quarter``. An empty text is this quarter."""
    text = (text or "").strip().upper()
    if not text:
        return quarter_of(now)
    year, _, quarter = text.partition("-Q")
    if not (year.isdigit() and quarter.isdigit() and len(year) == 4 and len(quarter) == 1):
        raise DomainError(QUARTER_FORMAT, field="quarter")
    wanted = (int(year), int(quarter))
    if wanted not in plan_quarters(now):
        raise DomainError(QUARTER_NOT_PLANNED, field="quarter")
    return wanted


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
    portfolio_changed(what="capacity_plan", teams=[team.pk])
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


def demand_by_team(*, year: int, quarter: int,
                   team: Team | None = None) -> list[TeamDemand]:
    """Capacity versus committed work per team (every team, or ``team``), by name. One
    query, whatever the size.

    Demand sums the effort of the team's committed initiatives (pilot, production,
    scaled); those without an effort are counted as unsized.
    """
    drawing = Q(initiatives__stage__in=COMMITTED_STAGES)
    plan = CapacityPlan.objects.filter(team=OuterRef("pk"), year=year, quarter=quarter)
    teams = Team.objects.filter(pk=team.pk) if team is not None else Team.objects
    teams = (teams.order_by("name").annotate(
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
    """One initiative on the forward path against its team's line for one quarter."""

    initiative: Initiative
    status: str  # COMMITTED, FUNDED, BELOW_LINE, UNSIZED or NO_PLAN
    effort: Decimal | None
    reason: str = ""  # why it is where it is, in words ("" for plain committed work)
    blockers: list[str] = field(default_factory=list)  # what blocks its next stage
    # The earlier quarter of the walk that funded it (a candidate then, committed now).
    funded_in: str = ""
    pinned: str = ""  # a scenario's pin: PIN_IN, PIN_OUT or ""

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def committed(self) -> bool:
        return self.status == COMMITTED

    @property
    def funded(self) -> bool:
        """Committed, or a candidate that fits: the work the quarter pays for."""
        return self.status in (COMMITTED, FUNDED)

    @property
    def funded_but_blocked(self) -> bool:
        return self.funded and bool(self.blockers)

    @property
    def next_stage(self) -> str | None:
        return _next_stage(self.initiative.stage)


# What a blocker is about, read from the gate's words: (how it starts, its kind); a
# checkpoint's blocker is "<type name> (<status>)".
BLOCKER_KINDS = (
    ("the exit contract", "exit contract"),
    ("a measurement inside the measurement window", "exit contract"),
    ("the minimum pilot of", "minimum pilot length"),
    ("a prohibited-risk initiative", "prohibited risk tier"),
)


def blocker_kind(text: str) -> str:
    """What a blocker is about: a checkpoint type's name, or "exit contract", "minimum
    pilot length", "prohibited risk tier"."""
    for prefix, kind in BLOCKER_KINDS:
        if text.startswith(prefix):
            return kind
    return text.rsplit(" (", 1)[0] if " (" in text else text


@dataclass
class TeamLine:
    """One team's quarter: its capacity, what is committed and where the line falls."""

    team: Team
    capacity: Decimal | None  # None: the team has no plan for the quarter
    entries: list[LineEntry] = field(default_factory=list)  # committed first, then candidates

    @property
    def has_plan(self) -> bool:
        return self.capacity is not None

    def _effort(self, entries) -> Decimal:
        return sum((e.effort for e in entries if e.effort is not None), Decimal(0))

    @property
    def demand(self) -> Decimal:
        """Everything asked of the team: committed work and every sized candidate."""
        return self._effort(self.entries)

    @property
    def committed_effort(self) -> Decimal:
        return self._effort(e for e in self.entries if e.status == COMMITTED)

    @property
    def funded_effort(self) -> Decimal:
        """Committed work plus the candidates funded next."""
        return self._effort(e for e in self.entries if e.funded)

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
        """Funded work beyond capacity (0 with headroom; a candidate is funded only when
        it fits, so this is committed or pinned work); without a plan, all of it."""
        return max(self.funded_effort - (self.capacity or 0), Decimal(0))

    @property
    def over_committed(self) -> bool:
        return self.over_commitment > 0

    def with_status(self, status: str) -> list[LineEntry]:
        return [entry for entry in self.entries if entry.status == status]

    @property
    def funded_but_blocked(self) -> list[LineEntry]:
        return [entry for entry in self.entries if entry.funded_but_blocked]

    @property
    def blocked_by(self) -> dict[str, int]:
        """How many funded-but-blocked entries each kind of blocker holds back (one
        blocked by two checkpoint types counts under each)."""
        kinds: Counter = Counter()
        for entry in self.funded_but_blocked:
            kinds.update({blocker_kind(text) for text in entry.blockers})
        return dict(kinds)


@dataclass
class FundingLine:
    year: int
    quarter: int
    teams: list[TeamLine]  # by team name

    def entry_for(self, initiative_id: int) -> LineEntry | None:
        """Where an initiative stands; None when it draws no capacity (paused, retired)."""
        if not hasattr(self, "_by_id"):
            self._by_id = {e.initiative.pk: e for line in self.teams for e in line.entries}
        return self._by_id.get(initiative_id)

    @property
    def label(self) -> str:
        return quarter_label(self.year, self.quarter)

    def team(self, team_id: int) -> TeamLine | None:
        return next((line for line in self.teams if line.team.pk == team_id), None)


def capacities_for(quarters: list[tuple[int, int]]) -> dict[tuple[int, int], dict[int, Decimal]]:
    """(year, quarter) -> {team id: engineer-weeks} for the plans of ``quarters``: one query."""
    plans: dict[tuple[int, int], dict[int, Decimal]] = {q: {} for q in quarters}
    years = {year for year, _ in quarters}
    for team_id, year, quarter, weeks in (
            CapacityPlan.objects.filter(year__in=years)
            .values_list("team_id", "year", "quarter", "engineer_weeks")):
        if (year, quarter) in plans:
            plans[(year, quarter)][team_id] = _decimal(weeks)
    return plans


def funding_walk(*, ranked: Iterable, teams: list[Team],
                 quarters: list[tuple[int, int]],
                 capacities: dict[tuple[int, int], dict[int, Decimal]],
                 pinned_in: Iterable[int] = (), pinned_out: Iterable[int] = (),
                 pin_quarter: tuple[int, int] | None = None) -> list[FundingLine]:
    """The funding line of each of ``quarters`` (consecutive, the first one now), walked
    in turn over ``ranked`` (best first). No query.

    Per quarter and team: **committed** work first — initiatives in pilot, production or
    scaled, and the candidates an earlier quarter of the walk funded — in rank order,
    counted whatever the capacity (committed work beyond it is over-commitment); then
    the **candidates** (ideas and assessments) not funded yet, in rank order: one is
    **funded next** when the capacity left covers its effort, else it is **below the
    line** and the walk goes on. A candidate without an effort estimate is *unsized*
    (listed, never funded); with no plan for the quarter, every candidate is below the
    line ("no capacity plan"). Committed work without an estimate counts nothing.

    A scenario's pins: ``pinned_out`` initiatives are left out of every quarter (listed
    below the line, "pinned out"); ``pinned_in`` candidates are funded in ``pin_quarter``
    (default: the first) ahead of every other candidate, whether or not they fit.
    """
    pinned_in, pinned_out = set(pinned_in), set(pinned_out)
    pin_quarter = pin_quarter or quarters[0]
    by_team: dict[int, list] = defaultdict(list)
    for initiative in ranked:
        if initiative.stage in DRAWING_STAGES:
            by_team[initiative.team_id].append(initiative)
    funded_in: dict[int, str] = {}  # candidate pk -> the quarter that funded it
    lines = []
    for year, quarter in quarters:
        label = quarter_label(year, quarter)
        plans = capacities.get((year, quarter), {})
        shown = [team for team in teams if team.pk in by_team or team.pk in plans]
        team_lines = [_walk(team, plans.get(team.pk), by_team.get(team.pk, []),
                            funded_in=funded_in, pinned_out=pinned_out,
                            pinned_in=pinned_in if (year, quarter) == pin_quarter else set())
                      for team in shown]
        for team_line in team_lines:
            for entry in team_line.entries:
                if entry.status == FUNDED:
                    funded_in[entry.initiative.pk] = label
        lines.append(FundingLine(year=year, quarter=quarter, teams=team_lines))
    return lines


def _walk(team: Team, capacity: Decimal | None, ranking: list, *, funded_in: dict[int, str],
          pinned_in: set[int], pinned_out: set[int]) -> TeamLine:
    line = TeamLine(team=team, capacity=capacity)
    committed, pinned, candidates, out = [], [], [], []
    for initiative in ranking:
        if initiative.pk in pinned_out:
            out.append(initiative)
        elif initiative.stage in COMMITTED_STAGES or initiative.pk in funded_in:
            committed.append(initiative)
        elif initiative.pk in pinned_in:
            pinned.append(initiative)
        else:
            candidates.append(initiative)
    remaining = capacity
    for initiative in committed:
        effort = initiative.effort_weeks
        line.entries.append(LineEntry(
            initiative=initiative, status=COMMITTED, effort=effort,
            reason=NO_ESTIMATE if effort is None else "",
            funded_in=funded_in.get(initiative.pk, "")))
        if remaining is not None and effort is not None:
            remaining -= effort
    for initiative in pinned:
        effort = initiative.effort_weeks
        line.entries.append(LineEntry(initiative=initiative, status=FUNDED, effort=effort,
                                      reason=PINNED_IN_REASON, pinned=PIN_IN))
        if remaining is not None and effort is not None:
            remaining -= effort
    for initiative in candidates:
        effort = initiative.effort_weeks
        if effort is None:
            status, reason = UNSIZED, NO_ESTIMATE
        elif remaining is None:
            status, reason = NO_PLAN, STATUS_LABELS[NO_PLAN]
        elif effort <= remaining:
            status, reason = FUNDED, ""
            remaining -= effort
        else:
            status = BELOW_LINE
            reason = BELOW_LINE_REASON.format(effort=_weeks_text(effort),
                                              remaining=_weeks_text(max(remaining, Decimal(0))))
        line.entries.append(LineEntry(initiative=initiative, status=status, effort=effort,
                                      reason=reason))
    for initiative in out:
        line.entries.append(LineEntry(initiative=initiative, status=BELOW_LINE,
                                      effort=initiative.effort_weeks, reason=PINNED_OUT_REASON,
                                      pinned=PIN_OUT))
    return line


def _weeks_text(weeks: Decimal) -> str:
    return f"{weeks.normalize():f}"


def funding_lines(*, ranked: Iterable, now: datetime, ahead: int = PLAN_QUARTERS - 1,
                  capacity_changes: dict[int, Decimal] | None = None,
                  change_quarter: tuple[int, int] | None = None,
                  pinned_in: Iterable[int] = (), pinned_out: Iterable[int] = (),
                  gate: bool = True) -> list[FundingLine]:
    """This quarter's line and the next ``ahead`` quarters' (``funding_walk``), with
    funded-but-blocked marked. ``capacity_changes`` ({team id: engineer-weeks}) replace
    the plans of ``change_quarter`` (a scenario's what-if; nothing is written).
    ``gate=False`` leaves the blockers out (and their three queries): a caller that needs
    them for a few entries asks ``mark_blocked`` for those.

    Queries: the plans (1), the teams (1), and the gate's (3: the open checkpoints, the
    contract evidence) — whatever the size.
    """
    quarters = plan_quarters(now, count=ahead + 1)
    capacities = capacities_for(quarters)
    if capacity_changes:
        target = capacities.setdefault(change_quarter or quarters[0], {})
        target.update({team_id: _decimal(weeks) for team_id, weeks in capacity_changes.items()})
    ranked = list(ranked)
    lines = funding_walk(ranked=ranked, teams=_teams(), quarters=quarters,
                         capacities=capacities, pinned_in=pinned_in, pinned_out=pinned_out,
                         pin_quarter=change_quarter)
    if gate:
        mark_blocked([entry for line in lines for team in line.teams for entry in team.entries],
                     now=now)
    return lines


def mark_blocked(entries: list[LineEntry], *, now: datetime) -> None:
    """Fill in what blocks each funded entry's next stage (the others stay unblocked).
    Queries: three, whatever the number of entries."""
    funded = {entry.initiative.pk: entry.initiative for entry in entries if entry.funded}
    blockers = _blockers(list(funded.values()), today=timezone.localdate(now))
    for entry in entries:
        if entry.funded:
            entry.blockers = blockers.get(entry.initiative.pk, [])


def funding_line(*, year: int, quarter: int, ranked: Iterable[Initiative],
                 now: datetime) -> FundingLine:
    """The line of one quarter of the plan (the walk runs up to it)."""
    quarters = plan_quarters(now)
    if (year, quarter) not in quarters:
        raise DomainError(QUARTER_NOT_PLANNED, field="quarter")
    return funding_lines(ranked=ranked, now=now, ahead=quarters.index((year, quarter)))[-1]


def _teams() -> list[Team]:
    return list(Team.objects.order_by("name", "pk"))


# --- Funded but blocked -------------------------------------------------------------------------

def _next_stage(stage: str) -> str | None:
    if stage not in STAGE_ORDER or stage == STAGE_ORDER[-1]:
        return None
    return STAGE_ORDER[STAGE_ORDER.index(stage) + 1]


# Up to this many initiatives, the gate reads their checkpoints by id (one short list);
# more, every open checkpoint on the forward path (an id list that long is slower to send).
FEW = 500


def _blockers(initiatives: list, *, today: date) -> dict[int, list[str]]:
    """What blocks each funded initiative's next stage: the gate
    (``governance.services.gate_blockers_given``) asked in bulk — one query for the
    uncleared applicable checkpoints of every initiative on the forward path (a list of
    the funded ids would have to be cut in chunks, a query per chunk), only the columns
    the gate reads, one for the contract evidence, then the same rules with no query."""
    if not initiatives:
        return {}
    wanted = {initiative.pk for initiative in initiatives}
    checkpoints = Checkpoint.objects.applicable().uncleared(today)
    if len(wanted) <= FEW:
        checkpoints = checkpoints.filter(initiative__in=wanted)
    else:
        checkpoints = checkpoints.filter(initiative__stage__in=DRAWING_STAGES)
    open_checkpoints: dict[int, list[Checkpoint]] = defaultdict(list)
    for checkpoint in (checkpoints
                       .select_related("type")
                       .only("pk", "initiative_id", "status", "waiver_expires_on",
                             "type__name", "type__required_for")
                       .iterator(chunk_size=10_000)):
        if checkpoint.initiative_id in wanted:
            open_checkpoints[checkpoint.initiative_id].append(checkpoint)
    # The few funded: their own evidence only (the gate looks up no other).
    evidence = contract_evidence_bulk(stages=(Stage.PILOT, Stage.PRODUCTION),
                                      ids=wanted if len(wanted) <= FEW else None)
    found = {}
    for initiative in initiatives:
        to_stage = _next_stage(initiative.stage)
        if to_stage is not None:
            found[initiative.pk] = gate_blockers_given(
                initiative=initiative, to_stage=to_stage, today=today,
                open_checkpoints=open_checkpoints[initiative.pk],
                evidence=evidence.get(initiative.pk) or Evidence())
    return found


def funding_line_for_quarter(*, year: int, quarter: int, now: datetime) -> FundingLine:
    """The funding line over the whole portfolio, ranked by the active scoring model.

    Queries: the ranking (1) plus ``funding_lines``'."""
    ranked = ranked_initiatives(Initiative.objects.filter(stage__in=DRAWING_STAGES),
                                model=active_scoring_model())
    return funding_line(year=year, quarter=quarter, ranked=ranked, now=now)


# --- Who plans capacity -------------------------------------------------------------------------

# The admin's own permission on plans: an admin who may change them in the Django admin
# changes them on the capacity page too (``acts_as_admin``, as the API's writes ask).
CAPACITY_ADMIN_PERMISSION = "scoring.change_capacityplan"
NOT_CAPACITY_PLANNER = ("Only leadership, or an admin who may change capacity plans, can "
                        "change them.")


def may_plan_capacity(user) -> bool:
    """Who changes capacity plans outside the Django admin: leadership, and admins with
    the admin's permission on plans."""
    return (user.is_authenticated and user.is_active and Role.LEADERSHIP in roles_of(user)
            ) or acts_as_admin(user, CAPACITY_ADMIN_PERMISSION)


def capacity_plans_access(user) -> bool:
    """The capacity page's access: every portfolio reader sees the plans (404 for anyone
    else, as ``require_reader``); returns whether ``user`` may change them
    (``may_plan_capacity``)."""
    require_reader(user)
    return may_plan_capacity(user)


# --- The capacity page --------------------------------------------------------------------------

@dataclass(frozen=True)
class CapacityRow:
    """One team's quarter on the capacity page."""

    team: Team
    capacity: Decimal | None  # None: no plan for the quarter
    committed: Decimal  # committed effort (pilot, production, scaled)
    unsized: int  # committed initiatives without an effort estimate
    previous: Decimal | None  # the plan of the quarter before, if any

    @property
    def remaining(self) -> Decimal | None:
        return None if self.capacity is None else self.capacity - self.committed

    @property
    def over(self) -> Decimal:
        """Committed effort beyond capacity (0 with headroom or without a plan)."""
        if self.capacity is None:
            return Decimal(0)
        return max(self.committed - self.capacity, Decimal(0))


def previous_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year - 1, 4) if quarter == 1 else (year, quarter - 1)


def _capacity_teams(*, year: int, quarter: int) -> QuerySet[Team]:
    """Every team by name with, for the quarter, ``capacity`` (its plan), ``previous`` (the
    plan of the quarter before) and its committed work: ``demand`` (effort summed),
    ``sized`` and ``unsized``. Each team's figures are read per team (correlated
    subqueries), so a slice of teams reads only its own committed initiatives, from the
    ``capacity_committed`` index alone (scoring migration 0012)."""
    before = previous_quarter(year, quarter)
    plans = CapacityPlan.objects.filter(team=OuterRef("pk"))
    committed = (Initiative.objects.filter(team=OuterRef("pk"), stage__in=COMMITTED_STAGES)
                 .order_by().values("team"))
    return Team.objects.order_by("name").annotate(
        capacity=Subquery(plans.filter(year=year, quarter=quarter).values("engineer_weeks")[:1]),
        previous=Subquery(plans.filter(year=before[0], quarter=before[1])
                          .values("engineer_weeks")[:1]),
        demand=Subquery(committed.annotate(total=Sum("effort_weeks")).values("total")),
        unsized=Subquery(committed.filter(effort_weeks__isnull=True)
                         .annotate(n=Count("*")).values("n")))


def _capacity_row(team: Team) -> CapacityRow:
    return CapacityRow(team=team, capacity=_decimal(team.capacity),
                       committed=_decimal(team.demand) or Decimal(0),
                       unsized=team.unsized or 0, previous=_decimal(team.previous))


def capacity_rows(*, year: int, quarter: int) -> list[CapacityRow]:
    """Every team (by name) with its plan for the quarter, its committed effort and the
    plan of the quarter before. One query."""
    return [_capacity_row(team) for team in _capacity_teams(year=year, quarter=quarter)]


def capacity_page(*, year: int, quarter: int,
                  number: object = 1) -> tuple[Page, list[CapacityRow]]:
    """One page of ``capacity_rows`` (``settings.PAGE_SIZE`` teams by name; an invalid or
    out-of-range ``number`` gives the nearest page, as ``Paginator.get_page``) and its rows.
    Two queries, whatever the size: the teams counted, the page's teams with their figures
    (which read only those teams' committed initiatives)."""
    page = Paginator(_capacity_teams(year=year, quarter=quarter),
                     settings.PAGE_SIZE).get_page(number)
    return page, [_capacity_row(team) for team in page.object_list]


PLAN_CANNOT_BE_REMOVED = ("This team already has a plan for the quarter; enter 0 for no "
                          "capacity rather than leaving it empty.")


@transaction.atomic
def capacity_plans_set(*, year: int, quarter: int, weeks: dict[int, object], actor,
                       now: datetime) -> int:
    """Set several teams' plans for one quarter at once ({team id: engineer-weeks}; a
    ``None`` leaves a team without a plan as it is): all of them or none. Each change goes
    through ``capacity_plan_set`` (the history records the actor). A refusal is raised as
    ``DomainError`` whose ``field`` is ``team-<id>``. Returns how many plans changed."""
    teams = {team.pk: team for team in Team.objects.filter(pk__in=list(weeks))}
    plans = {plan.team_id: plan for plan in CapacityPlan.objects.select_for_update()
             .filter(year=year, quarter=quarter, team_id__in=list(teams))}
    changed = 0
    for team_id, value in weeks.items():
        team = teams.get(team_id)
        if team is None:
            continue
        plan = plans.get(team_id)
        if value is None or value == "":
            if plan is not None:
                raise DomainError(PLAN_CANNOT_BE_REMOVED, field=f"team-{team_id}")
            continue
        try:
            new_weeks = _weeks(value)
            if plan is not None and plan.engineer_weeks == new_weeks:
                continue
            capacity_plan_set(team=team, year=year, quarter=quarter, engineer_weeks=new_weeks,
                              actor=actor, now=now)
        except DomainError as error:
            raise DomainError(error.message, field=f"team-{team_id}") from None
        changed += 1
    return changed


# --- Over-commitment ----------------------------------------------------------------------------

OVER_CAPACITY_WARNING = ("{team} is now committed to {committed} engineer-weeks in {quarter} "
                         "against a capacity of {capacity} ({over} over).")
DOES_NOT_FIT_WARNING = ("{team} has {uncommitted} of {capacity} engineer-weeks uncommitted in "
                        "{quarter}; this initiative needs {effort}, so it would take the team "
                        "over its capacity if it were committed.")
ALREADY_OVER_WARNING = ("{team} is already committed to {committed} engineer-weeks in {quarter} "
                        "against a capacity of {capacity} ({over} over); this initiative needs "
                        "{effort} more.")
NO_CAPACITY_WARNING = ("{team} has no capacity planned for {quarter}; this initiative needs "
                       "{effort} engineer-weeks.")


def _team_quarter(initiative, *, now) -> tuple[tuple[int, int], TeamDemand | None]:
    """The quarter of ``now`` and the team's capacity and committed effort in it (one
    query)."""
    year, quarter = quarter_of(now)
    rows = demand_by_team(year=year, quarter=quarter, team=Team(pk=initiative.team_id))
    return (year, quarter), (rows[0] if rows else None)


def capacity_warning(initiative, *, now) -> str | None:
    """What a PM should know about the team's capacity this quarter after logging or
    moving ``initiative`` (None: nothing). One query.

    Committed work (pilot, production, scaled) beyond the team's capacity: how far over.
    A candidate (idea, assessment) whose effort is more than the capacity committed work
    leaves: how much is left against what it needs (with the team already over, how far
    over). No plan for the quarter: that no capacity is planned. Paused, retired and
    unsized initiatives draw nothing: None. Exactly at capacity is not over.
    """
    effort = initiative.effort_weeks
    if initiative.stage not in DRAWING_STAGES or effort is None:
        return None
    effort = _decimal(effort)
    (year, quarter), row = _team_quarter(initiative, now=now)
    if row is None:
        return None
    words = {"team": row.team.name, "quarter": quarter_label(year, quarter),
             "effort": _weeks_text(effort)}
    if row.capacity is None:
        return NO_CAPACITY_WARNING.format(**words)
    if initiative.stage in COMMITTED_STAGES:
        if row.demand <= row.capacity:
            return None
        return OVER_CAPACITY_WARNING.format(
            **words, committed=_weeks_text(row.demand), capacity=_weeks_text(row.capacity),
            over=_weeks_text(row.demand - row.capacity))
    if row.demand > row.capacity:
        return ALREADY_OVER_WARNING.format(
            **words, committed=_weeks_text(row.demand), capacity=_weeks_text(row.capacity),
            over=_weeks_text(row.demand - row.capacity))
    uncommitted = row.capacity - row.demand
    if effort <= uncommitted:
        return None
    return DOES_NOT_FIT_WARNING.format(**words, uncommitted=_weeks_text(uncommitted),
                                       capacity=_weeks_text(row.capacity))


def over_capacity_record(*, initiative, from_stage: str, actor, now) -> None:
    """After a move (``hooks.STAGE_LISTENERS``): when it takes the team's committed effort
    this quarter from at most its capacity to beyond it, record one ``OVER_CAPACITY``
    activity on the initiative (for the timeline and the TPM digest). A move between
    committed stages, or while the team is already over, records nothing. One query, and
    only for a move into committed work."""
    effort = initiative.effort_weeks
    if (initiative.stage not in COMMITTED_STAGES or from_stage in COMMITTED_STAGES
            or not effort):
        return
    (year, quarter), row = _team_quarter(initiative, now=now)
    if row is None or row.capacity is None:
        return
    after = row.demand
    before = after - _decimal(effort)
    if not before <= row.capacity < after:
        return
    activity_record(initiative=initiative, kind=Activity.Kind.OVER_CAPACITY, actor=actor,
                    now=now, details={
                        "quarter": quarter_label(year, quarter), "team": row.team.name,
                        "committed": _weeks_text(after), "capacity": _weeks_text(row.capacity),
                        "over": _weeks_text(after - row.capacity)})
