"""The capacity page a page of teams at a time (issue 22): a large organisation's teams are
listed ``PAGE_SIZE`` at a time by name, each with the same figures as before (its plan, its
committed effort and unsized work, the plan of the quarter before); saving a page saves its
rows and returns to it; a page costs the same queries and reads only its own teams'
committed work (through the ``capacity_committed`` index), however large the portfolio."""

from decimal import Decimal

import pytest
from django.db import connection

from portfolio.models import Stage
from scoring.capacity import capacity_page, capacity_plan_set, capacity_rows, demand_by_team
from scoring.models import CapacityPlan
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

URL = "/dashboard/capacity/"
NEXT = "2027-Q1"  # FIXED_NOW is 2 November 2026: this quarter is 2026-Q4


def plan(team, weeks, *, year=2027, quarter=1):
    return capacity_plan_set(team=team, year=year, quarter=quarter, engineer_weeks=weeks,
                             actor=None, now=FIXED_NOW)


@pytest.fixture
def three_teams(settings):
    settings.PAGE_SIZE = 2
    teams = [TeamFactory(name=name, slug=name.lower()) for name in ("Claims", "Support",
                                                                     "Atlas")]
    for team, effort in zip(teams, (5, 7, 11), strict=True):
        InitiativeFactory(team=team, stage=Stage.PILOT, effort_weeks=Decimal(effort))
    return {team.name: team for team in teams}


def names(response):
    return [row.team.name for row, _field in response.context["rows"]]


def test_the_teams_come_a_page_at_a_time_by_name(client, leader, three_teams):
    client.force_login(leader)

    first = client.get(URL, {"quarter": NEXT})
    second = client.get(URL, {"quarter": NEXT, "page": 2})

    assert names(first) == ["Atlas", "Claims"]
    assert names(second) == ["Support"]
    assert "Page 1 of 2" in first.content.decode()
    assert "teams 3 to 3 of 3" in second.content.decode()
    assert [row.committed for row, _ in second.context["rows"]] == [Decimal(7)]


def test_saving_a_page_saves_its_rows_and_returns_to_it(client, leader, three_teams):
    support = three_teams["Support"]
    client.force_login(leader)

    response = client.post(f"{URL}?quarter={NEXT}&page=2", {f"team-{support.pk}": "9"})

    assert response.status_code == 302
    assert response.url == f"{URL}?quarter={NEXT}&page=2"
    assert {plan.team.name: plan.engineer_weeks
            for plan in CapacityPlan.objects.select_related("team")} == {"Support": 9}
    page = client.get(response.url).content.decode()
    assert f'action="?quarter={NEXT}&amp;page=2"' in page


def test_each_row_has_the_figures_of_demand_by_team(three_teams):
    claims, support, atlas = (three_teams[name] for name in ("Claims", "Support", "Atlas"))
    plan(claims, 40)
    plan(claims, 30, year=2026, quarter=4)
    plan(atlas, 0)
    for team, effort, stage in [(claims, None, Stage.PRODUCTION), (claims, 3, Stage.SCALED),
                                (claims, 99, Stage.IDEA), (claims, 99, Stage.ASSESSMENT),
                                (claims, 99, Stage.PAUSED),
                                (atlas, None, Stage.PILOT), (atlas, None, Stage.SCALED)]:
        InitiativeFactory(team=team, stage=stage,
                          effort_weeks=None if effort is None else Decimal(effort))
    TeamFactory(name="Quiet", slug="quiet")  # no initiative, no plan

    rows = capacity_rows(year=2027, quarter=1)

    assert [(row.team.name, row.capacity, row.committed, row.unsized) for row in rows] == [
        (row.team.name, row.capacity, row.demand, row.unsized)
        for row in demand_by_team(year=2027, quarter=1)]
    assert [(row.team.name, row.capacity, row.committed, row.unsized, row.previous)
            for row in rows] == [
        ("Atlas", Decimal(0), Decimal(11), 2, None),
        ("Claims", Decimal(40), Decimal(8), 1, Decimal(30)),
        ("Quiet", None, Decimal(0), 0, None),
        ("Support", None, Decimal(7), 0, None)]
    _page, second = capacity_page(year=2027, quarter=1, number=2)
    assert second == rows[2:]


def test_a_page_costs_two_queries_however_many_teams_and_initiatives(
        three_teams, django_assert_num_queries):
    # The teams counted (1); the page's teams with their plans and committed work (1).
    with django_assert_num_queries(2):
        capacity_page(year=2027, quarter=1, number=1)
    for n in range(10):
        team = TeamFactory(name=f"Team {n}", slug=f"team-{n}")
        plan(team, n)
        plan(team, n, year=2026, quarter=4)
        for stage in (Stage.PILOT, Stage.PRODUCTION, Stage.IDEA):
            InitiativeFactory(team=team, stage=stage, effort_weeks=Decimal(n + 1))

    with django_assert_num_queries(2):
        page, rows = capacity_page(year=2027, quarter=1, number=7)
    assert page.paginator.count == 13
    assert [row.team.name for row in rows] == ["Team 9"]


def test_the_committed_work_is_read_through_its_own_index():
    with connection.cursor() as cursor:
        names = connection.introspection.get_constraints(cursor, "portfolio_initiative")

    assert "capacity_committed" in names
