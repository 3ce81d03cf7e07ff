"""The dashboard's first screen (issue 19, item 5): Fund, Blocked and Stuck for the chosen
quarter, each number a link to the list that counts the same rows; the ranked table in
the line's three groups; the quarter picker; the heat map agreeing with the compliance
KPI."""

import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.utils import timezone

from governance.models import Checkpoint
from governance.services import checkpoints_sync
from portfolio.models import Stage
from portfolio.outcomes.models import ValueReview
from scoring.capacity import next_quarter, quarter_label
from scoring.models import CapacityPlan
from tests.factories import FIXED_NOW, InitiativeFactory, StallFlagFactory, TeamFactory
from tests.scoring.test_dashboard import caught_up, plan, sized, this_quarter

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

URL = "/dashboard/"


def this_label():
    return quarter_label(*this_quarter())


def next_label():
    return quarter_label(*next_quarter(*this_quarter()))


def page(client, **params):
    caught_up()
    response = client.get(URL, params)
    assert response.status_code == 200
    return response.content.decode()


def first_screen(html):
    return html[html.index('<div class="first-screen">'):html.index('id="glance-heading"')]


def figures(html):
    """Every number of the first screen: (words after it, count, link)."""
    screen = first_screen(html)
    return [(unescape(re.sub(r"<[^>]+>", "", words)).strip().removesuffix("s"),
             int(count.replace(",", "")),
             unescape(href))
            for href, count, words in re.findall(
                r'<a href="([^"]+)"><strong>([\d,]+)</strong>(.*?)</a>', screen)]


def listed_rows(html):
    """Rows of the tables of a list page (on the dashboard, of its ranked table)."""
    if 'id="ranking"' in html:
        html = html[html.index('id="ranking"'):]
    return sum(body.count("<tr") for body in re.findall(r"<tbody>(.*?)</tbody>", html, re.S))


@pytest.fixture
def portfolio(leader, reviewer):
    """Support plans 10 weeks this quarter and 6 next: a pilot (committed, 4 weeks) that
    governance blocks, a production initiative ranked first, candidates that fit and that
    do not, one unsized, a paused one; Finance has no plan. A stalled pilot, overdue
    governance reviews (and some not due yet) and an overdue value review."""
    support = TeamFactory(name="Support", slug="support")
    finance = TeamFactory(name="Finance", slug="finance")
    plan(support, 10)
    year, quarter = next_quarter(*this_quarter())
    CapacityPlan.objects.create(team=support, year=year, quarter=quarter,
                                engineer_weeks=Decimal(6))
    made = {
        "running": sized(team=support, effort=2, reach=90000, title="Already running",
                         stage=Stage.PRODUCTION),
        "pilot": sized(team=support, effort=4, reach=400, title="Pilot under review",
                       stage=Stage.PILOT, uses_personal_data=True, customer_facing=True),
        "fits": sized(team=support, effort=3, reach=3000, title="Fits next"),
        "fits2": sized(team=support, effort=1, reach=500, title="Also fits", stage=Stage.IDEA),
        "too_big": sized(team=support, effort=8, reach=4000, title="Too big"),
        "unsized": sized(team=support, effort=None, reach=10, title="Not sized"),
        "paused": sized(team=support, effort=2, reach=50000, title="On hold",
                        stage=Stage.PAUSED),
        "elsewhere": sized(team=finance, effort=1, reach=100, title="No plan here"),
    }
    checkpoints_sync(initiatives=[made["pilot"], made["fits"]], actor=leader,
                     now=timezone.now())
    # The pilot's reviews are overdue; the candidate's are not due yet.
    Checkpoint.objects.filter(initiative=made["pilot"]).update(
        due_date=FIXED_NOW.date() - timedelta(days=3))
    Checkpoint.objects.filter(initiative=made["fits"]).update(
        due_date=FIXED_NOW.date() + timedelta(days=10))
    StallFlagFactory(initiative=made["pilot"], flagged_at=FIXED_NOW - timedelta(days=2))
    ValueReview.objects.create(
        initiative=made["running"], production_since=FIXED_NOW - timedelta(days=120),
        days=90, due_on=FIXED_NOW.date() - timedelta(days=30), scheduled_at=FIXED_NOW,
        scheduled_run="test")
    return made


def test_the_first_screen_answers_fund_blocked_and_stuck_before_anything_else(
        client, leader, portfolio):
    client.force_login(leader)

    html = page(client)
    found = {words: count for words, count, _ in figures(html)}

    assert html.index('id="fund-heading"') < html.index('id="blocked-heading"') \
        < html.index('id="stuck-heading"') < html.index('id="charts-heading"') \
        < html.index('id="ranked-heading"')
    # Committed: the production initiative and the pilot; fund next: the two that fit in
    # the 4 weeks left; below: too big, unsized and Finance's (no plan). Paused: apart.
    assert found["committed"] == 2
    assert found["fund next"] == 2
    assert found["below the line"] == 3
    assert found["funded but blocked"] >= 1  # the pilot, at least: its checkpoints are open
    assert found["stalled pilot"] == 1
    assert found["overdue governance review"] >= 1
    assert found["overdue value review"] == 1
    screen = first_screen(html)
    assert "First to enter" in screen
    assert screen.index("Fits next") < screen.index("Also fits")
    assert "Already running" not in screen
    assert "engineer-weeks of capacity" in screen


def test_every_number_links_to_a_list_that_counts_the_same_rows(client, leader, portfolio,
                                                                settings):
    settings.PAGE_SIZE = 500
    client.force_login(leader)

    for quarter in (this_label(), next_label()):
        numbers = figures(page(client, quarter=quarter))
        assert len(numbers) >= 7
        for words, count, url in numbers:
            response = client.get(url)
            assert response.status_code == 200, url
            listed = listed_rows(response.content.decode())
            assert listed == count, (quarter, words, url)


def test_fund_next_starts_with_a_candidate_never_work_already_running(client, leader,
                                                                       portfolio):
    client.force_login(leader)

    html = page(client)
    fund_next = html[html.index('id="group-funded"'):html.index('id="group-below_line"')]
    committed = html[html.index('id="group-committed"'):html.index('id="group-funded"')]

    assert "Already running" in committed
    assert "Already running" not in fund_next
    first = re.search(r'data-label="Stage"><span class="badge stage-(\w+)"', fund_next)
    assert first.group(1) in (Stage.IDEA, Stage.ASSESSMENT)
    assert "On hold" not in committed + fund_next
    assert "1 paused, drawing no capacity" in html


def test_the_quarter_picker_shows_next_quarters_line(client, leader, portfolio):
    client.force_login(leader)

    html = page(client, quarter=next_label())
    found = {words: count for words, count, _ in figures(html)}

    # Next quarter: 6 weeks; the two funded this quarter are committed then (4 + 4 + 2 of
    # running work is over the 6): nothing more fits.
    assert f"Funding line {next_label()}" in html
    assert found["committed"] == 4
    assert found["fund next"] == 0
    assert "over capacity" in first_screen(html)
    assert "Support 10 of 6 weeks (+4)" in re.sub(r"<[^>]+>", "", first_screen(html))
    assert f'<option value="{next_label()}" selected>' in html


@pytest.mark.parametrize("quarter", ["2031-Q1", "Q1-2027", "2026-Q9"])
def test_a_quarter_outside_the_plan_is_shown_on_its_field(client, leader, portfolio, quarter):
    client.force_login(leader)

    html = page(client, quarter=quarter)

    assert 'id="id_quarter_error"' in html
    assert f"Funding line {this_label()}" in html


def test_filters_keep_working_within_the_groups(client, leader, portfolio, settings):
    settings.PAGE_SIZE = 500
    client.force_login(leader)

    html = page(client, team="finance")
    found = {words: count for words, count, _ in figures(html)}
    by_stage = page(client, stage=Stage.PILOT, position="committed")

    assert (found["committed"], found["fund next"], found["below the line"]) == (0, 0, 1)
    assert "No plan here" in html[html.index('id="group-below_line"'):]
    table = by_stage[by_stage.index('id="ranking"'):]
    assert "Pilot under review" in table
    assert "Already running" not in table


def test_blocked_is_counted_by_what_blocks_it(client, leader, portfolio, settings):
    settings.PAGE_SIZE = 500
    client.force_login(leader)

    html = page(client)
    kinds = [(words, count, url) for words, count, url in figures(html)
             if "blocker=" in url]

    assert kinds
    for words, count, url in kinds:
        assert words.startswith("blocked by ")
        listed = client.get(url).content.decode()
        assert listed_rows(listed) == count
        assert "Pilot under review" in listed


def test_the_heat_map_lists_every_initiative_the_compliance_kpi_counts(client, leader):
    team = TeamFactory()
    plan(team, 500)
    # Thirty-two better-ranked initiatives, compliant; two out of compliance ranked last.
    for n in range(32):
        sized(team=team, effort=1, reach=10000 - n, title=f"Fine {n}")
    late = [sized(team=team, effort=1, reach=1 + n, title=f"Late {n}", stage=Stage.PILOT,
                  uses_personal_data=True, customer_facing=True) for n in range(2)]
    checkpoints_sync(initiatives=late, actor=leader, now=timezone.now())
    client.force_login(leader)

    html = page(client)
    kpi = int(re.search(r'<h3>Out of compliance</h3>\s*<p class="dash-figure"><a[^>]*>(\d+)',
                        html).group(1))
    heat = html[html.index('id="heat-map"'):]
    flagged_rows = heat[:heat.index("</table>")].count("<td>yes</td>")

    assert kpi == 2
    assert flagged_rows == kpi
    assert "all 2 out of compliance shown first" in heat


def test_the_api_and_the_page_count_the_same(client, leader, portfolio):
    client.force_login(leader)

    html = page(client, quarter=next_label())
    body = client.get("/api/v1/dashboard/", {"quarter": next_label()}).json()
    found = {words: (count, url) for words, count, url in figures(html)}

    assert body["quarter"] == next_label()
    assert found["committed"] == (body["fund"]["committed"]["count"],
                                  body["fund"]["committed"]["url"])
    assert found["fund next"][0] == body["fund"]["funded"]["count"]
    assert found["below the line"][0] == body["fund"]["below_line"]["count"]
    assert found["funded but blocked"][0] == body["blocked"]["total"]["count"]
    assert found["stalled pilot"][0] == body["stuck"]["stalled_pilots"]["count"]
    assert found["overdue value review"][0] == body["stuck"]["overdue_value_reviews"]["count"]


def test_an_empty_portfolio_still_answers(client, leader):
    client.force_login(leader)

    html = page(client)

    assert "No team is over capacity" in html
    assert {count for _, count, _ in figures(html)} == {0}


def test_initiatives_not_yet_ranked_are_listed_apart(client, leader, portfolio):
    client.force_login(leader)
    caught_up()
    InitiativeFactory(team=portfolio["fits"].team, title="Brand new", stage=Stage.IDEA)

    response = client.get(URL)
    html = response.content.decode()

    assert "1 not yet ranked" in html


@pytest.mark.parametrize("position", ["", "committed", "funded", "below_line", "blocked",
                                      "not_drawing", "not_ranked", "nonsense"])
@pytest.mark.parametrize("extra", [{}, {"stage": Stage.RETIRED}, {"page": "x"},
                                   {"blocker": "exit contract"}, {"quarter": "2027-Q9"}])
def test_every_position_reads_without_error(client, leader, portfolio, position, extra):
    client.force_login(leader)
    caught_up()

    page_response = client.get(URL, {"position": position, **extra})
    export = client.get("/dashboard/export.csv", {"position": position, **extra})

    assert page_response.status_code == 200
    assert export.status_code == 200


def test_a_team_without_a_plan_is_counted_apart_never_over_capacity(client, leader):
    """Committed work in a quarter the team has not planned is not "over capacity": there
    is no capacity to be over. The screen names the team as planning nothing instead."""
    planned = TeamFactory(name="Support", slug="support")
    unplanned = TeamFactory(name="Finance", slug="finance")
    plan(planned, 2)
    sized(team=planned, effort=5, reach=100, title="Over the plan", stage=Stage.PILOT)
    sized(team=unplanned, effort=7, reach=100, title="Nobody planned", stage=Stage.PILOT)
    client.force_login(leader)

    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", first_screen(page(client))))

    assert "1 team over capacity: Support 5 of 2 weeks (+3)" in text
    assert "Finance" not in text
    assert "1 team without a plan" in text
