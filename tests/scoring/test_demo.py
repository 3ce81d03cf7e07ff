"""`manage.py seed_demo`'s scoring story (scoring/demo.py): capacity plans for this quarter
and the next three that read like a real portfolio — committed work first, candidates
funded next or below the line, exactly one team over capacity because of a recent move
into pilot — the funding line recorded a week ago and today, and a leader's scenario."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from portfolio.models import Activity, Stage, StageTransition, Team
from scoring.capacity import (
    BELOW_LINE,
    COMMITTED,
    FUNDED,
    funding_lines,
    plan_quarters,
    quarter_label,
    quarter_of,
)
from scoring.demo import (
    LINE_BASELINE_DAYS_AGO,
    OVER_CAPACITY_TEAM,
    SCENARIO_TEAM,
    SCENARIO_WEEKS,
)
from scoring.models import CapacityPlan, FundingStatus, Scenario, TeamStanding
from scoring.scenarios import scenario_comparison
from scoring.selectors import active_scoring_model, ranked_initiatives
from scoring.services import funding_line_record


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo, loaded once for this module's tests and rolled back after them."""
    with django_db_blocker.unblock(), transaction.atomic():
        before = timezone.now()
        call_command("seed_demo", stdout=io.StringIO())
        yield before
        transaction.set_rollback(True)


def _lines(now):
    """The live funding lines of this quarter and the next three, as the dashboard's."""
    from portfolio.models import Initiative

    ranked = ranked_initiatives(Initiative.objects.all(), model=active_scoring_model())
    return funding_lines(ranked=ranked, now=now)


def _counts(team_line):
    return (len(team_line.with_status(COMMITTED)), len(team_line.with_status(FUNDED)),
            len(team_line.with_status(BELOW_LINE)))


@pytest.mark.django_db
def test_demo_plans_every_team_for_this_quarter_and_the_next_three(demo):
    teams = Team.objects.count()
    for year, quarter in plan_quarters(timezone.now()):
        assert CapacityPlan.objects.filter(year=year, quarter=quarter).count() == teams
    assert all(plan.history.first().history_user.username == "admin"
               for plan in CapacityPlan.objects.all())
    assert all(plan.notes for plan in CapacityPlan.objects.all())


@pytest.mark.django_db
def test_demo_this_quarter_committed_work_fills_most_teams_and_candidates_meet_the_line(demo):
    this_quarter = _lines(timezone.now())[0]
    by_slug = {line.team.slug: line for line in this_quarter.teams}

    over = [slug for slug, line in by_slug.items() if line.over_committed]
    assert over == [OVER_CAPACITY_TEAM]
    for slug, line in by_slug.items():
        if slug != OVER_CAPACITY_TEAM:
            # Committed work takes 70-95 % of the capacity; what is left funds candidates.
            assert 70 <= round(100 * line.committed_effort / line.capacity) <= 95, slug
            assert line.remaining >= 0
    counts = {slug: _counts(line) for slug, line in by_slug.items()}
    assert sum(1 for _, funded, _ in counts.values() if funded) >= 3
    assert sum(1 for _, _, below in counts.values() if below) >= 5
    assert sum(1 for _, funded, below in counts.values() if funded and below) >= 2
    assert all(committed >= 3 for committed, _, _ in counts.values())
    # The stored standings say the same, team by team.
    stored = {row.team.slug: row for row in TeamStanding.objects.filter(ahead=0)
              .select_related("team")}
    assert {slug: (row.committed, row.funded, row.below_line)
            for slug, row in stored.items()} == counts
    assert [slug for slug, row in stored.items() if row.over_commitment > 0] == over


@pytest.mark.django_db
def test_demo_the_team_over_capacity_went_over_with_a_recent_move_into_pilot(demo):
    now = timezone.now()
    line = next(line for line in _lines(now)[0].teams if line.team.slug == OVER_CAPACITY_TEAM)
    move = (StageTransition.objects.filter(initiative__team=line.team, to_stage=Stage.PILOT)
            .select_related("initiative").order_by("-at").first())

    # The plan covered the committed work until that move: it alone takes the team over,
    # and no candidate is funded.
    assert move.initiative.stage == Stage.PILOT
    assert now - move.at < timedelta(days=30)
    assert 0 < line.over_commitment <= move.initiative.effort_weeks
    assert line.committed_effort - move.initiative.effort_weeks <= line.capacity
    assert not line.with_status(FUNDED)
    assert line.with_status(BELOW_LINE)
    year, quarter = quarter_of(now)
    if quarter_of(move.at) == (year, quarter):
        warned = Activity.objects.get(kind=Activity.Kind.OVER_CAPACITY)
        assert (warned.initiative, warned.at) == (move.initiative, move.at)
        assert warned.details == {
            "quarter": quarter_label(year, quarter), "team": line.team.name,
            "committed": f"{line.committed_effort.normalize():f}",
            "capacity": f"{line.capacity.normalize():f}",
            "over": f"{line.over_commitment.normalize():f}"}


@pytest.mark.django_db
def test_demo_next_quarter_adds_capacity_in_some_teams_so_candidates_enter(demo):
    now_line, next_line, *later = _lines(timezone.now())
    now_teams = {line.team.slug: line for line in now_line.teams}
    next_teams = {line.team.slug: line for line in next_line.teams}

    more = [slug for slug in next_teams if next_teams[slug].capacity > now_teams[slug].capacity]
    less = [slug for slug in next_teams if next_teams[slug].capacity < now_teams[slug].capacity]
    assert len(more) >= 3
    assert len(less) == 1
    entering = [entry for slug in more for entry in next_teams[slug].with_status(FUNDED)
                if now_line.entry_for(entry.initiative.pk).status == BELOW_LINE]
    assert entering
    # What this quarter funds is committed next quarter, funded in this one.
    funded_now = [entry.initiative.pk for line in now_line.teams
                  for entry in line.with_status(FUNDED)]
    assert funded_now
    assert all(next_line.entry_for(pk).status == COMMITTED
               and next_line.entry_for(pk).funded_in == now_line.label for pk in funded_now)
    # The quarters after are planned too, and nobody is over in them.
    assert all(line.capacity is not None and not line.over_committed
               for quarter in later for line in quarter.teams)


@pytest.mark.django_db
def test_demo_leader_saved_a_scenario_that_adds_capacity_for_next_quarter(demo):
    now = timezone.now()
    year, quarter = plan_quarters(now)[1]
    scenario = Scenario.objects.get()
    team = Team.objects.get(slug=SCENARIO_TEAM)
    planned = CapacityPlan.objects.get(team=team, year=year, quarter=quarter).engineer_weeks

    assert (scenario.name, scenario.created_by.username, scenario.year, scenario.quarter) == (
        f"Add {SCENARIO_WEEKS} weeks to {team.name}", "leader", year, quarter)
    assert scenario.applied_at is None
    assert [(row.team, row.engineer_weeks) for row in scenario.capacities.all()] == [
        (team, planned + SCENARIO_WEEKS)]
    # Beside the live plan, a candidate below the line enters and nothing drops.
    comparison = scenario_comparison(scenario=scenario, now=now)
    assert [moved.team for moved in comparison.entering] == [team.name]
    assert comparison.dropping == []
    assert [change.team for change in comparison.teams if change.changed] == [team.name]


@pytest.mark.django_db
def test_demo_records_a_baseline_a_week_ago_and_crossings_both_ways_today(demo):
    loaded_at = demo
    year, quarter = quarter_of(loaded_at)
    crossings = list(Activity.objects.filter(kind=Activity.Kind.FUNDING_CHANGED)
                     .select_related("initiative__team"))

    # Both directions, each recorded by today's run, after last week's digest: candidates
    # crossing the line as two teams' capacity changed.
    assert {crossing.details["funded"] for crossing in crossings} == {True, False}
    assert len({crossing.at for crossing in crossings}) == 1
    assert crossings[0].at >= loaded_at
    for crossing in crossings:
        assert crossing.initiative.stage in (Stage.IDEA, Stage.ASSESSMENT)
        assert crossing.details["quarter"] == f"{year}-Q{quarter}"
        assert crossing.details["team"] == crossing.initiative.team.name
        assert bool(crossing.details["reason"]) is not crossing.details["funded"]
        status = FundingStatus.objects.get(initiative=crossing.initiative, year=year,
                                           quarter=quarter)
        assert (status.funded, status.recorded_at) == (crossing.details["funded"],
                                                       crossing.at)
    # The capacity changes behind them: recorded by the admin, a day before.
    changed = {crossing.initiative.team for crossing in crossings}
    for team in changed:
        history = CapacityPlan.objects.get(team=team, year=year, quarter=quarter).history
        assert history.count() == 2
    # Everyone else kept the baseline: the week-old record (or the quarter's first day).
    baseline = FundingStatus.objects.exclude(initiative__in=[c.initiative for c in crossings])
    assert baseline.exists()
    recorded = set(baseline.values_list("recorded_at", flat=True))
    assert len(recorded) == 1
    assert (crossings[0].at - recorded.pop()) <= timedelta(days=LINE_BASELINE_DAYS_AGO)
    # The stored line is today's line: the next daily run finds nothing new.
    assert funding_line_record(now=timezone.now()) == 0


def test_the_over_capacity_plan_is_just_under_the_committed_work():
    from types import SimpleNamespace

    from scoring.demo import _just_under

    def move(effort):
        return SimpleNamespace(initiative=SimpleNamespace(effort_weeks=Decimal(effort)))

    # Committed 52 of which the move brought 6: 46 before, the round 50 covered it.
    assert _just_under(Decimal(52), move(6)) == 50
    # Committed 52, the move brought 2: no round number fits in [50, 52): exactly 50.
    assert _just_under(Decimal(52), move(2)) == 50
    # Committed 51, the move brought 1: 50 is round, covered 50 and not 51.
    assert _just_under(Decimal(51), move(1)) == 50
    # Committed 50, the move brought 3: 47 before, 50 would cover all; 47 exactly.
    assert _just_under(Decimal(50), move(3)) == 47
