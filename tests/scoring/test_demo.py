"""`manage.py seed_demo` plans capacity so the funding line bites (issue 5, item 7), and
records the line a week ago and today, so the digest has crossings to report."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from portfolio.models import Activity, Team
from scoring.capacity import (
    BELOW_LINE,
    FUNDED,
    funding_line_for_quarter,
    next_quarter,
    quarter_of,
)
from scoring.demo import LINE_BASELINE_DAYS_AGO
from scoring.models import CapacityPlan, FundingStatus
from scoring.services import funding_line_record


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo, loaded once for this module's tests and rolled back after them."""
    with django_db_blocker.unblock(), transaction.atomic():
        before = timezone.now()
        call_command("seed_demo", stdout=io.StringIO())
        yield before
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_demo_capacity_leaves_some_teams_over_committed_and_others_with_headroom(demo):
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


@pytest.mark.django_db
def test_demo_records_a_baseline_a_week_ago_and_crossings_both_ways_today(demo):
    loaded_at = demo
    year, quarter = quarter_of(loaded_at)
    crossings = list(Activity.objects.filter(kind=Activity.Kind.FUNDING_CHANGED)
                     .select_related("initiative__team"))

    # Both directions, each recorded by today's run, after last week's digest.
    assert {crossing.details["funded"] for crossing in crossings} == {True, False}
    assert len({crossing.at for crossing in crossings}) == 1
    assert crossings[0].at >= loaded_at
    for crossing in crossings:
        assert crossing.details["quarter"] == f"{year}-Q{quarter}"
        assert crossing.details["team"] == crossing.initiative.team.name
        assert bool(crossing.details["reason"]) is not crossing.details["funded"]
        status = FundingStatus.objects.get(initiative=crossing.initiative, year=year,
                                           quarter=quarter)
        assert (status.funded, status.recorded_at) == (crossing.details["funded"],
                                                       crossing.at)
    # Everyone else kept the baseline: the week-old record (or the quarter's first day).
    baseline = FundingStatus.objects.exclude(initiative__in=[c.initiative for c in crossings])
    assert baseline.exists()
    recorded = set(baseline.values_list("recorded_at", flat=True))
    assert len(recorded) == 1
    assert (crossings[0].at - recorded.pop()) <= timedelta(days=LINE_BASELINE_DAYS_AGO)
    # The stored line is today's line: the next daily run finds nothing new.
    assert funding_line_record(now=timezone.now()) == 0
