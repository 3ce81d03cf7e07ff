"""Scoring's part of the demo portfolio (``manage.py seed_demo``): capacity plans.

Every demo team gets a plan for the current quarter and the next, sized against what its
initiatives in assessment, pilot and production ask for: four teams have asked for more
than they can build (the funding line bites: something is below it), three have headroom.
Sizing from the demand keeps that story true if the demo portfolio changes.
"""

from __future__ import annotations

import math
from decimal import Decimal

from portfolio.management.demo_data import ADMIN
from scoring.capacity import capacity_plan_set, demand_by_team, next_quarter, quarter_of
from scoring.defaults import load_default_models
from scoring.models import ScoringModel

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
    demand = {row.team.slug: row.demand for row in demand_by_team(year=current[0],
                                                                  quarter=current[1])}
    for offset, (year, quarter) in enumerate((current, next_quarter(*current))):
        for slug, shares in CAPACITY.items():
            team = loader.teams[slug]
            capacity_plan_set(team=team, year=year, quarter=quarter,
                              engineer_weeks=_capacity(demand[slug], shares[offset]),
                              notes=shares[2], actor=actor, now=now)
