"""Scoring's part of the demo portfolio (``manage.py seed_demo``): capacity plans for this
quarter and the next three, the funding line recorded over the last week, and a leader's
saved scenario.

What a leader reads with a few weeks left in the quarter:

- **This quarter**: each team's committed work (pilot, production, scaled) takes 75-90 %
  of its capacity (``PLANS``); what is left funds the best candidates (ideas and
  assessments) that fit — "fund next" — and the rest wait below the line. Plans are
  sized from the committed effort, so the story holds if the demo portfolio changes.
- **One team over capacity** (``OVER_CAPACITY_TEAM``), and why: its plan covered its
  committed work until its latest move into pilot, days ago, took it over. That move's
  "took its team over capacity" activity is recorded as it would have been.
- **The next three quarters** are planned too (``PLANS``' changes per quarter): next
  quarter some teams gain engineers and their best candidates enter, one loses some;
  the quarters after stay flatter. What this quarter funds is committed in the next.
- **The funding line moved this week**: the daily job recorded its baseline a week ago;
  since then one team lost an engineer (its last funded candidate falls below the line)
  and another filled its open roles (a candidate rises above it), and today's record
  turns both into "crossed the funding line" activities for the digest.
- **A saved scenario**: the demo leader's "Add 20 weeks to Sales Enablement" for next
  quarter, beside the live plan on the scenarios page.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from portfolio.management.demo_data import ADMIN
from portfolio.models import Stage, StageTransition, Team
from scoring.capacity import (
    COMMITTED_STAGES,
    FUNDED,
    FundingLine,
    TeamLine,
    capacity_plan_set,
    funding_line_for_quarter,
    funding_walk,
    over_capacity_record,
    plan_quarters,
    quarter_of,
)
from scoring.defaults import load_default_models
from scoring.models import CapacityPlan, Scenario, ScoringModel
from scoring.scenarios import scenario_create
from scoring.services import funding_line_record
from scoring.standings import standings_refresh

STEP = 5  # plans are round numbers of engineer-weeks

# team -> (this quarter: the share of its capacity its committed work takes, the change in
# engineer-weeks against this quarter's plan in each of the next three quarters, the
# planner's note this quarter, the note for the quarters after).
PLANS = {
    "customer-operations": (
        "0.8", (5, 5, 5),
        "Holiday peak: two engineers cover the contact-centre platform migration.",
        "One engineer back from the platform migration."),
    "data-platform": (
        "0.78", (0, 0, 5),
        "Fully staffed; room kept for platform requests from other teams.",
        "Stable; a graduate joins in the summer."),
    "finance-automation": (
        None, (5, 5, 5),  # sized from its latest move into pilot: OVER_CAPACITY_TEAM
        "Year-end close takes three engineers for most of the quarter.",
        "An engineer joins from the ERP team once the year-end close is done."),
    "people-hr": (
        "0.9", (0, 15, 15),
        "Contractor extended to the end of next quarter.",
        "Two hires start in the spring."),
    "sales-enablement": (
        "0.9", (15, 15, 15),
        "Hiring for two open roles; the CRM work is shared with the Salesforce team.",
        "Both new roles filled and onboarded."),
    "security-engineering": (
        "0.9", (5, 5, 5),
        "Stable team; capacity kept free for incidents.",
        "Incident rota shared with the platform team."),
    "supply-chain": (
        "0.75", (-10, -10, -5),
        "Peak season: the whole team is on the replenishment and pick-path work.",
        "Two engineers rotate to the warehouse system upgrade."),
}
# Over capacity this quarter because of its latest move into pilot.
OVER_CAPACITY_TEAM = "finance-automation"

# The funding line's story: the daily job's baseline this many days ago, then this
# quarter's capacity changed the day before today's record.
LINE_BASELINE_DAYS_AGO = 8
CUT, ADD = "cut", "add"
CAPACITY_CHANGES = {
    # Loses just enough that its last funded candidate no longer fits: it falls below.
    "customer-operations": (CUT, "An engineer is seconded to the platform migration for the "
                                 "rest of the quarter."),
    # Gains just enough for a candidate that did not fit: it rises above.
    "sales-enablement": (ADD, "Both open roles are filled: two engineers started this week."),
}

# The demo leader's saved what-if for next quarter.
SCENARIO_AUTHOR = "leader"
SCENARIO_TEAM = "sales-enablement"
SCENARIO_WEEKS = 20
SCENARIO_NAME = "Add {weeks} weeks to {team}"
SCENARIO_DESCRIPTION = ("Two contractors for Sales Enablement next quarter: does the outbound "
                        "email agent make the line, and does anything else move?")


def before_load() -> None:
    load_default_models(ScoringModel)


def after_load(*, loader) -> None:
    now = loader.now
    current = quarter_of(now)
    start = _quarter_start(*current)
    # The baseline falls in this quarter: a record in the last one would be its own line.
    baseline_at = max(now - timedelta(days=LINE_BASELINE_DAYS_AGO), start)
    moved = _plan_capacity(loader, planned_at=start)
    funding_line_record(now=baseline_at)
    _change_capacity(loader, at=max(now - timedelta(days=1), baseline_at))
    funding_line_record(now=now)
    if moved is not None and moved.at >= start:
        # What the move recorded when it took the team over (the plan already existed).
        over_capacity_record(initiative=moved.initiative, from_stage=moved.from_stage,
                             actor=moved.actor, now=moved.at)
    _save_scenario(loader, now=now)
    # The demo opens on a current dashboard rather than waiting for the worker to start.
    standings_refresh(now=now, force=True)


def _quarter_start(year: int, quarter: int) -> datetime:
    return timezone.make_aware(datetime.combine(date(year, 3 * quarter - 2, 1), time.min))


# --- The plans ----------------------------------------------------------------------------------

def _round(weeks: Decimal) -> Decimal:
    return Decimal(max(math.floor(weeks / STEP + Decimal("0.5")), 1) * STEP)


def _plan_capacity(loader, *, planned_at: datetime) -> StageTransition | None:
    """Every team's plans for this quarter and the next three, by the admin at the start
    of the quarter. Returns the move that took ``OVER_CAPACITY_TEAM`` over (None: none)."""
    actor, now = loader.users[ADMIN[0]], loader.now
    quarters = plan_quarters(now)
    line = funding_line_for_quarter(year=quarters[0][0], quarter=quarters[0][1], now=now)
    by_slug = {team_line.team.slug: team_line for team_line in line.teams}
    moved = None
    for slug, (share, changes, note, later_note) in PLANS.items():
        team_line = by_slug.get(slug)
        if team_line is None:
            continue
        committed = team_line.committed_effort
        if slug == OVER_CAPACITY_TEAM:
            moved = _latest_move_into_pilot(team_line.team)
            weeks = _just_under(committed, moved)
        else:
            weeks = _round(committed / Decimal(share))
            while weeks <= committed:  # only one team is over
                weeks += STEP
        for offset, (year, quarter) in enumerate(quarters):
            planned = weeks + (changes[offset - 1] if offset else 0)
            capacity_plan_set(team=team_line.team, year=year, quarter=quarter,
                              engineer_weeks=max(planned, Decimal(0)),
                              notes=later_note if offset else note, actor=actor,
                              now=planned_at)
    return moved


def _latest_move_into_pilot(team: Team) -> StageTransition | None:
    """The team's latest move into committed work, if it was into pilot and is still there."""
    move = (StageTransition.objects.filter(initiative__team=team, to_stage__in=COMMITTED_STAGES)
            .exclude(from_stage__in=COMMITTED_STAGES).select_related("initiative", "actor")
            .order_by("-at", "-pk").first())
    if move is None or move.to_stage != Stage.PILOT or move.initiative.stage != Stage.PILOT:
        return None
    return move


def _just_under(committed: Decimal, moved: StageTransition | None) -> Decimal:
    """A plan that covered the committed work before ``moved`` and not after it: the
    round number under the committed effort, or exactly what was committed before."""
    effort = moved.initiative.effort_weeks if moved else None
    if not effort:
        return _round(committed * Decimal("0.95"))
    before = committed - effort
    weeks = Decimal(math.ceil(before / STEP) * STEP)
    return weeks if weeks < committed else before


# --- The line moved this week -------------------------------------------------------------------

def _change_capacity(loader, *, at: datetime) -> None:
    """This quarter's plans of ``CAPACITY_CHANGES``, changed so the line moves."""
    actor = loader.users[ADMIN[0]]
    year, quarter = quarter_of(at)
    line = funding_line_for_quarter(year=year, quarter=quarter, now=at)
    by_slug = {team_line.team.slug: team_line for team_line in line.teams}
    for slug, (change, note) in CAPACITY_CHANGES.items():
        team_line = by_slug.get(slug)
        weeks = None if team_line is None else _changed(team_line, change, line)
        if weeks is not None:
            capacity_plan_set(team=team_line.team, year=year, quarter=quarter,
                              engineer_weeks=weeks, notes=note, actor=actor, now=at)


def _funded(team_line: TeamLine, line: FundingLine, weeks: Decimal) -> set[int]:
    """The candidates the team's line funds with ``weeks`` of capacity (the walk, no query)."""
    quarter = (line.year, line.quarter)
    walked = funding_walk(ranked=[entry.initiative for entry in team_line.entries],
                          teams=[team_line.team], quarters=[quarter],
                          capacities={quarter: {team_line.team.pk: weeks}})
    return {entry.initiative.pk for entry in walked[0].teams[0].with_status(FUNDED)}


def _changed(team_line: TeamLine, change: str, line: FundingLine) -> Decimal | None:
    """The nearest round capacity (in ``STEP``s) at which a candidate crosses the line:
    below the plan for a cut, above it for an addition; None when none would."""
    if team_line.capacity is None:
        return None
    now_funded = _funded(team_line, line, team_line.capacity)
    sign = -1 if change == CUT else 1
    for steps in range(1, 21):
        weeks = team_line.capacity + sign * steps * STEP
        if weeks < 0:
            return None
        if _funded(team_line, line, weeks) != now_funded:
            return weeks
    return None


# --- A leader's scenario ------------------------------------------------------------------------

def _save_scenario(loader, *, now: datetime) -> Scenario | None:
    """The demo leader's draft for next quarter: ``SCENARIO_WEEKS`` more for one team."""
    team = loader.teams.get(SCENARIO_TEAM)
    if team is None:
        return None
    year, quarter = plan_quarters(now)[1]
    planned = CapacityPlan.objects.filter(team=team, year=year, quarter=quarter).first()
    weeks = (planned.engineer_weeks if planned else Decimal(0)) + SCENARIO_WEEKS
    return scenario_create(
        name=SCENARIO_NAME.format(weeks=SCENARIO_WEEKS, team=team.name), year=year,
        quarter=quarter, description=SCENARIO_DESCRIPTION, capacities={team: weeks},
        actor=loader.users[SCENARIO_AUTHOR], now=now - timedelta(hours=2))
