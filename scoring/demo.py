"""Scoring's part of the demo portfolio (``manage.py seed_demo``): capacity plans, and the
funding line recorded over the last week.

Every demo team gets a plan for the current quarter and the next, sized against what its
initiatives in assessment, pilot and production ask for: four teams have asked for more
than they can build (the funding line bites: something is below it), three have headroom.
Sizing from the demand keeps that story true if the demo portfolio changes.

The daily funding-line job recorded its baseline a week ago; since then two planners
changed this quarter's capacity — one team lost an engineer, another filled its open
roles — and today's record turns what moved into "crossed the funding line" activities,
in both directions, for this week's digest.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from portfolio.management.demo_data import ADMIN
from scoring.capacity import (
    BELOW_LINE,
    TeamLine,
    capacity_plan_set,
    demand_by_team,
    funding_line_for_quarter,
    next_quarter,
    quarter_of,
)
from scoring.defaults import load_default_models
from scoring.models import ScoringModel
from scoring.services import funding_line_record
from scoring.standings import standings_refresh

# team -> (capacity as a share of demand this quarter, next quarter, the planner's note)
CAPACITY = {
    "customer-operations": (0.75, 0.8, "Two engineers move to the contact-centre platform "
                                        "migration; one returns next quarter."),
    "finance-automation": (0.8, 0.7, "Year-end close takes three engineers for most of "
                                     "next quarter."),
    "sales-enablement": (0.6, 0.65, "Hiring for two open roles; the CRM work is shared with "
                                    "the Salesforce team."),
    "supply-chain": (0.85, 0.9, "Peak season freeze for the last six weeks of the quarter."),
    "data-platform": (1.3, 1.25, "Fully staffed; has room to take on platform requests."),
    "security-engineering": (1.2, 1.2, "Stable team; capacity kept free for incidents."),
    "people-hr": (1.15, 1.1, "Contractor extended to the end of next quarter."),
}
STEP = 5  # plans are round numbers of engineer-weeks

# The funding line's story: the daily job's baseline this many days ago, then this
# quarter's capacity changed the day before today's record.
LINE_BASELINE_DAYS_AGO = 8
CUT, ADD = "cut", "add"
CAPACITY_CHANGES = {
    # Loses just enough that its last funded initiative no longer fits: it falls below.
    "security-engineering": (CUT, "An engineer is seconded to incident response for the rest "
                                  "of the quarter."),
    # Gains enough for the first initiative that did not fit: it rises above.
    "sales-enablement": (ADD, "Both open roles are filled: two engineers started this week."),
}


def _capacity(demand: Decimal, share: float) -> Decimal:
    """``share`` of ``demand`` rounded to ``STEP``: down when the team is short (so it stays
    below demand), up when it has headroom."""
    weeks = float(demand) * share / STEP
    steps = math.floor(weeks) if share < 1 else math.ceil(weeks)
    return Decimal(max(steps, 1) * STEP)


def before_load() -> None:
    load_default_models(ScoringModel)


def after_load(*, loader) -> None:
    actor, now = loader.users[ADMIN[0]], loader.now
    current = quarter_of(now)
    # The baseline falls in this quarter: a record in the last one would be its own line.
    baseline_at = max(now - timedelta(days=LINE_BASELINE_DAYS_AGO), _quarter_start(*current))
    demand = {row.team.slug: row.demand for row in demand_by_team(year=current[0],
                                                                  quarter=current[1])}
    for offset, (year, quarter) in enumerate((current, next_quarter(*current))):
        for slug, shares in CAPACITY.items():
            team = loader.teams[slug]
            capacity_plan_set(team=team, year=year, quarter=quarter,
                              engineer_weeks=_capacity(demand[slug], shares[offset]),
                              notes=shares[2], actor=actor, now=baseline_at)
    funding_line_record(now=baseline_at)
    _change_capacity(loader, at=max(now - timedelta(days=1), baseline_at))
    funding_line_record(now=now)
    # The demo opens on a current dashboard rather than waiting for the worker to start.
    standings_refresh(now=now, force=True)


def _quarter_start(year: int, quarter: int) -> datetime:
    return timezone.make_aware(datetime.combine(date(year, 3 * quarter - 2, 1), time.min))


def _change_capacity(loader, *, at: datetime) -> None:
    """This quarter's plans of ``CAPACITY_CHANGES``, changed so the line moves."""
    actor = loader.users[ADMIN[0]]
    year, quarter = quarter_of(at)
    line = funding_line_for_quarter(year=year, quarter=quarter, now=at)
    by_slug = {team_line.team.slug: team_line for team_line in line.teams}
    for slug, (change, note) in CAPACITY_CHANGES.items():
        team_line = by_slug.get(slug)
        weeks = None if team_line is None else _changed(team_line, change)
        if weeks is not None:
            capacity_plan_set(team=team_line.team, year=year, quarter=quarter,
                              engineer_weeks=weeks, notes=note, actor=actor, now=at)


def _changed(team_line: TeamLine, change: str) -> Decimal | None:
    """The new capacity, in ``STEP``s; None when the change would move nothing."""
    if team_line.capacity is None:
        return None
    if change == CUT:
        funded = team_line.funded_effort
        # The largest round number below what is funded: something no longer fits.
        return Decimal(max(math.ceil(funded / STEP) - 1, 0) * STEP) if funded else None
    below = team_line.with_status(BELOW_LINE)
    if not below:
        return None
    # Room for the first one that did not fit, whatever was left when its turn came.
    return Decimal(math.ceil((team_line.capacity + below[0].effort) / STEP) * STEP)
