"""`manage.py seed_demo` plans capacity so the funding line bites (issue 5, item 7)."""

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from portfolio.models import Team
from scoring.capacity import (
    BELOW_LINE,
    FUNDED,
    funding_line_for_quarter,
    next_quarter,
    quarter_of,
)
from scoring.models import CapacityPlan


@pytest.mark.django_db
def test_demo_capacity_leaves_some_teams_over_committed_and_others_with_headroom():
    call_command("seed_demo", stdout=io.StringIO())
    now = timezone.now()
    this_quarter = quarter_of(now)

    teams = Team.objects.count()
    for year, quarter in (this_quarter, next_quarter(*this_quarter)):
        assert CapacityPlan.objects.filter(year=year, quarter=quarter).count() == teams
    assert all(plan.history.first().history_user.username == "admin"
               for plan in CapacityPlan.objects.all())

    line = funding_line_for_quarter(year=this_quarter[0], quarter=this_quarter[1], now=now)
    over = [team_line for team_line in line.teams if team_line.over_committed]
    headroom = [team_line for team_line in line.teams if not team_line.over_committed]
    assert over
    assert headroom
    statuses = {entry.status for team_line in line.teams for entry in team_line.entries}
    assert {FUNDED, BELOW_LINE} <= statuses
    for team_line in over:
        assert team_line.with_status(BELOW_LINE)  # the line bites where demand > capacity
    for team_line in headroom:
        assert not team_line.with_status(BELOW_LINE)
        assert team_line.utilisation_percent <= 100
