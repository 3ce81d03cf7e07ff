"""The leadership dashboard: access, KPIs, the ranked table, the funding
line drawn before the filters, the CSV export, and a query count that does not grow
with the portfolio."""

import csv
import io
import random
import re
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance.services import checkpoints_sync
from portfolio.models import Category, Initiative, Stage, StageTransition, StallFlag
from portfolio.roles import ADMIN_READS
from scoring import dashboard as board_reads
from scoring.capacity import quarter_of
from scoring.models import CapacityPlan
from scoring.standings import standings_invalidate, standings_refresh
from tests.clients import client_for
from tests.factories import InitiativeFactory, StallFlagFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/dashboard/"
EXPORT = "/dashboard/export.csv"
STAGES = [Stage.IDEA, Stage.ASSESSMENT, Stage.PILOT, Stage.PRODUCTION, Stage.SCALED,
          Stage.PAUSED]


def this_quarter():
    return quarter_of(timezone.localdate())


def plan(team, weeks):
    year, quarter = this_quarter()
    return CapacityPlan.objects.create(team=team, year=year, quarter=quarter,
                                       engineer_weeks=Decimal(weeks))


def sized(*, team, effort, reach, stage=Stage.ASSESSMENT, **fields):
    """RICE (the active model): reach × 1 × 100 % ÷ effort."""
    now = timezone.now()
    values = {"created_at": now, "updated_at": now, "stage_changed_at": now,
              "last_activity_at": now, "impact": 1.0, "confidence": 100}
    values.update(fields)
    return InitiativeFactory(team=team, stage=stage, reach=reach, contracted=True,
                             effort_weeks=None if effort is None else Decimal(effort), **values)


def caught_up():
    """What the worker does after a change: recompute the stored standings. Factories write
    rows behind the services' back, leaving no mark that the standings are stale, so this
    recomputes them regardless."""
    standings_refresh(force=True)


def page_text(client, url=URL, *, worker=True, **params):
    """The page as a reader sees it once the worker has caught up (``worker=False``:
    before it has)."""
    if worker:
        caught_up()
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def export_rows(client, *, worker=True, **params):
    if worker:
        caught_up()
    response = client.get(EXPORT, params)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


# --- Access -----------------------------------------------------------------------------------

@pytest.mark.parametrize("persona", ["pm", "reviewer", "tpm", "leader"])
def test_every_portfolio_role_reads_the_dashboard(client, request, persona):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(URL).status_code == 200
    assert client.get(EXPORT).status_code == 200


def test_an_admin_without_a_role_reads_it_too(client):
    client.force_login(UserFactory(username="ops", is_staff=True, permissions=[ADMIN_READS]))

    assert client.get(URL).status_code == 200


def test_a_staff_account_without_permissions_reads_nothing(client):
    client.force_login(UserFactory(username="ops", is_staff=True))

    assert client.get(URL).status_code == 404


def test_an_outsider_gets_not_found(client, outsider):
    client.force_login(outsider)

    assert client.get(URL).status_code == 404
    assert client.get(EXPORT).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_dashboard_is_read_only(client, leader):
    client.force_login(leader)

    assert client.post(URL).status_code == 405
    assert client.post(EXPORT).status_code == 405


def test_leadership_lands_on_the_dashboard(client):
    UserFactory(username="boss", roles=["leadership"])

    response = client.post("/login/", {"username": "boss",
                                       "password": "correct-horse-battery"}, follow=True)

    assert response.redirect_chain[-1][0] == URL
    assert "Portfolio dashboard" in response.content.decode()


def test_every_role_finds_the_dashboard_in_the_navigation(client, pm, leader):
    client.force_login(pm)
    assert f'href="{URL}"' in page_text(client, "/initiatives/")
    client.force_login(leader)
    assert f'href="{URL}"' in page_text(client, "/initiatives/")


# --- The funding line is drawn before the filters --------------------------------------------

def test_filters_narrow_the_table_but_not_the_funding_line(client, leader):
    team = TeamFactory(name="Support", slug="support")
    other = TeamFactory(name="Finance", slug="finance")
    plan(team, 10)
    sized(team=team, effort=8, reach=8000, title="Big bet",            # 1000: funded, 8 of 10
          category=Category.AGENTIC_WORKFLOW)
    sized(team=team, effort=5, reach=2500, title="Second in line",     # 500: 5 > 2 left
          category=Category.INTERNAL_COPILOT)
    sized(team=other, effort=1, reach=10, title="Elsewhere", category=Category.INTERNAL_COPILOT)
    client.force_login(leader)

    whole = page_text(client)
    filtered = page_text(client, category=Category.INTERNAL_COPILOT)
    by_team = page_text(client, team="support")

    assert "Big bet" in whole
    assert "Big bet" not in filtered
    assert "Second in line" in filtered
    assert "Elsewhere" in filtered
    assert "Elsewhere" not in by_team
    # Filtered out, the big bet still takes the capacity: the second stays below the line,
    # and keeps its place in the whole portfolio (2nd), not in the filtered table (1st).
    rows = export_rows(client, category=Category.INTERNAL_COPILOT)
    second = next(r for r in rows[1:] if r[1] == "Second in line")
    assert second[0] == "2"
    assert second[9] == "below the line"
    assert "needs 5 engineer-weeks; 2 left when its turn came" in filtered


def test_funded_but_blocked_names_what_blocks_it(client, leader):
    team = TeamFactory(name="Support", slug="support")
    plan(team, 10)
    blocked = sized(team=team, effort=3, reach=300, title="Needs a review",
                    stage=Stage.PILOT, uses_personal_data=True, customer_facing=True)
    checkpoints_sync(initiatives=[blocked], actor=leader, now=timezone.now())
    client.force_login(leader)

    html = page_text(client)
    rows = export_rows(client)

    row = next(r for r in rows[1:] if r[1] == "Needs a review")
    # In pilot: committed work, and governance blocks its next stage.
    assert row[9] == "committed, blocked"
    assert row[10]
    assert "committed, blocked" in html
    assert row[10].split(";")[0] in html


# --- The table --------------------------------------------------------------------------------

def test_the_table_ranks_and_shows_each_score_breakdown(client, leader):
    team = TeamFactory()
    sized(team=team, effort=10, reach=100, title="Low")   # 100 × 1 × 100 % ÷ 10 = 10
    sized(team=team, effort=10, reach=4000, title="High")  # 400
    sized(team=team, effort=None, reach=50, title="Unsized")
    client.force_login(leader)

    html = page_text(client)

    assert html.index("High") < html.index("Low") < html.index("Unsized")
    assert '<details class="dash-breakdown">' in html
    assert "score </span>400</summary>" in html
    assert "4,000 × 1 × (100 ÷ 100) ÷ 10 = 400" in html or "= 400" in html
    assert "Not scorable: needs effort" in html


def test_governance_progress_counts_cleared_over_applicable(client, leader, reviewer):
    team = TeamFactory()
    initiative = sized(team=team, effort=2, reach=10, title="Watched",
                       uses_personal_data=True, customer_facing=True)
    checkpoints_sync(initiatives=[initiative], actor=leader, now=timezone.now())
    total = initiative.checkpoints.filter(retired_at__isnull=True).count()
    initiative.checkpoints.filter(pk=initiative.checkpoints.first().pk).update(
        status="approved", reviewer=reviewer, decided_at=timezone.now())
    client.force_login(leader)

    row = next(r for r in export_rows(client)[1:] if r[1] == "Watched")

    assert total > 1
    assert row[8] == f"1/{total}"


def test_the_csv_holds_the_filtered_table_in_the_same_order(client, leader, settings):
    settings.PAGE_SIZE = 500
    teams = [TeamFactory(), TeamFactory()]
    for n in range(12):
        sized(team=teams[n % 2], effort=n + 1, reach=100 * (n % 5 + 1), title=f"Item {n}",
              stage=STAGES[n % len(STAGES)])
    client.force_login(leader)

    year, quarter = this_quarter()
    for params in ({}, {"team": teams[0].slug}, {"stage": Stage.PILOT}):
        everything = export_rows(client, **params)
        assert everything[0] == ["rank", "title", "team", "owner", "stage", "health", "score",
                                 "scoring model", "governance progress", "funding status",
                                 "blockers", "quarter"]
        assert {r[11] for r in everything[1:]} == {f"{year}-Q{quarter}"}
        listed = []
        # Each group of the line on the page, and its CSV: the same rows in the same order.
        for position in ("committed", "funded", "below_line", "not_drawing"):
            html = page_text(client, position=position, **params)
            table = html[html.index('id="ranking"'):]
            titles = [r[1] for r in export_rows(client, position=position, **params)[1:]]
            places = [table.index(f">{title}</a>") for title in titles]
            assert places == sorted(places)
            assert table.count('<details class="dash-breakdown">') == len(titles)
            listed += titles
        # The whole CSV: the groups in the page's order, each in rank order.
        assert [r[1] for r in everything[1:]] == listed, params


def test_retired_initiatives_leave_the_table_unless_asked_for(client, leader):
    team = TeamFactory()
    sized(team=team, effort=1, reach=10, title="Gone", stage=Stage.RETIRED,
          retirement_reason="cost")
    sized(team=team, effort=1, reach=10, title="Here")
    client.force_login(leader)

    assert [r[1] for r in export_rows(client)[1:]] == ["Here"]
    assert [r[1] for r in export_rows(client, stage=Stage.RETIRED)[1:]] == ["Gone"]
    assert "Gone" not in page_text(client)
    assert "Gone" in page_text(client, stage=Stage.RETIRED)
    retired = client.get("/api/v1/ranking/", {"stage": Stage.RETIRED}).json()["results"]
    assert [(r["rank"], r["initiative"]["title"]) for r in retired] == [(None, "Gone")]


def test_titles_are_escaped_in_the_page_and_neutralised_in_the_csv(client, leader):
    team = TeamFactory(name="<b>Team</b>", slug="bold")
    plan(team, 50)
    sized(team=team, effort=2, reach=10, title="<script>alert(1)</script>", stage=Stage.PILOT)
    sized(team=team, effort=3, reach=5, title='=HYPERLINK("http://x","y")')
    client.force_login(leader)

    html = page_text(client)
    rows = export_rows(client)

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>Team</b>" not in html
    assert "'=HYPERLINK(\"http://x\",\"y\")" in [r[1] for r in rows]


# --- KPIs -------------------------------------------------------------------------------------

def stalled_figure(html):
    """The stalled pilots figure of the first screen's Stuck answer."""
    return re.search(r"<strong>([\d,]+)</strong> stalled pilot", html).group(1)


def test_kpis_follow_their_definitions(client, leader, settings):
    settings.PILOT_MAX_DAYS, settings.PILOT_IDLE_DAYS = 90, 21
    now = timezone.now()
    team = TeamFactory()
    fresh = sized(team=team, effort=1, reach=1, stage=Stage.PILOT,
                  stage_changed_at=now - timedelta(days=10))
    old = sized(team=team, effort=1, reach=1, stage=Stage.PILOT,
                stage_changed_at=now - timedelta(days=120))
    idle = sized(team=team, effort=1, reach=1, stage=Stage.PILOT,
                 stage_changed_at=now - timedelta(days=30),
                 last_activity_at=now - timedelta(days=40))
    shipped = sized(team=team, effort=1, reach=1, stage=Stage.PRODUCTION)
    for initiative, moves in ((fresh, [Stage.PILOT]), (shipped, [Stage.PILOT, Stage.PRODUCTION])):
        previous = Stage.ASSESSMENT
        for stage in moves:
            StageTransition.objects.create(initiative=initiative, from_stage=previous,
                                           to_stage=stage, actor=leader, at=now)
            previous = stage
    # Stall detection flagged the old and the idle pilot; the idle one's scale-up waits on
    # governance (decided, still open). The fresh pilot's flag resolved when it was active.
    StallFlagFactory(initiative=old, reason="too_long", flagged_at=now - timedelta(days=30))
    StallFlagFactory(initiative=idle, reason="idle", flagged_at=now - timedelta(days=19),
                     decision="scale", decided_by=leader, decided_at=now)
    StallFlagFactory(initiative=fresh, reason="idle", flagged_at=now - timedelta(days=60),
                     resolved_at=now - timedelta(days=12), resolution="active")
    client.force_login(leader)

    html = page_text(client)

    # Conversion: 1 reached production of 2 that ever entered pilot.
    assert "50 %" in html
    assert "1 reached production ÷ 2 ever entered pilot" in html
    # Median pilot age of 10, 120 and 30 days.
    assert "30 days" in html
    # Two open flags (one decided, one not); the resolved one does not count.
    assert stalled_figure(html) == "2"
    assert "flagged by the daily stall detection (in pilot longer than 90 days" in html


def test_the_stalled_kpi_counts_open_flags_not_the_thresholds(client, leader, settings):
    settings.PILOT_MAX_DAYS, settings.PILOT_IDLE_DAYS = 90, 21
    now = timezone.now()
    support = TeamFactory(name="Support", slug="support")
    finance = TeamFactory(name="Finance", slug="finance")
    # Past both thresholds, but detection has not flagged it yet: not counted.
    sized(team=support, effort=1, reach=1, stage=Stage.PILOT,
          stage_changed_at=now - timedelta(days=200), last_activity_at=now - timedelta(days=60))
    # Extended: its flag resolved until the new decision date, so not counted either.
    extended = sized(team=support, effort=1, reach=1, stage=Stage.PILOT,
                     stage_changed_at=now - timedelta(days=150))
    StallFlagFactory(initiative=extended, flagged_at=now - timedelta(days=20),
                     decision="extend", decided_by=leader, decided_at=now,
                     extended_until=now.date() + timedelta(days=30), resolved_at=now,
                     resolution="extended")
    # Open flags: one per team.
    for team in (support, finance):
        StallFlagFactory(initiative=sized(team=team, effort=1, reach=1, stage=Stage.PILOT,
                                          stage_changed_at=now - timedelta(days=100)),
                         flagged_at=now - timedelta(days=9))
    client.force_login(leader)

    assert stalled_figure(page_text(client)) == "2"
    assert stalled_figure(page_text(client, team="support")) == "1"
    # As the stalled-pilots page counts them: the team filter applies, not the stage.
    assert stalled_figure(page_text(client, stage=Stage.ASSESSMENT)) == "2"


# --- A fixed number of queries ----------------------------------------------------------------

def _portfolio(size, actor):
    """``size`` initiatives over four teams and every stage, plans, moves, checkpoints and
    open stall flags."""
    now = timezone.now()
    teams = [TeamFactory(name=f"Team {n}", slug=f"team-{n}") for n in range(4)]
    for team in teams[:3]:
        plan(team, 40)
    owner = UserFactory(username="bulk-owner", roles=["pm"])
    Initiative.objects.bulk_create([
        Initiative(title=f"Initiative {n}", summary="", team=teams[n % 4], owner=owner,
                   stage=STAGES[n % len(STAGES)], category=Category.values[n % 8],
                   effort_weeks=Decimal(n % 13 + 1) if n % 9 else None,
                   reach=100 + n, impact=1.0, confidence=80,
                   created_at=now, updated_at=now, last_activity_at=now,
                   stage_changed_at=now - timedelta(days=n % 200))
        for n in range(size)], batch_size=1000)
    pilots = list(Initiative.objects.filter(stage=Stage.PILOT))
    StageTransition.objects.bulk_create([
        StageTransition(initiative=i, from_stage=Stage.ASSESSMENT, to_stage=Stage.PILOT,
                        actor=actor, at=now) for i in pilots], batch_size=1000)
    StallFlag.objects.bulk_create([
        StallFlag(initiative=i, reason="too_long", flagged_at=now, detection_run="bulk")
        for i in pilots[::3]], batch_size=1000)
    # Personal data and customer-facing: checkpoints apply; some open, so some are blocked.
    some = list(Initiative.objects.filter(stage__in=[Stage.ASSESSMENT, Stage.PILOT])[:size // 5])
    Initiative.objects.filter(pk__in=[i.pk for i in some]).update(uses_personal_data=True,
                                                                 customer_facing=True)
    checkpoints_sync(initiatives=list(Initiative.objects.filter(pk__in=[i.pk for i in some])),
                     actor=actor, now=now)


def _count(client, url, params):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
        body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200
    return len(captured), body


# Session, user, roles; the standings (the snapshot, whether a change is pending); stage
# counts, the KPI flags, pilot ages; the first screen: the counts per position (shared with
# the table's groups and their links), the teams' quarter (shared with the capacity chart),
# the first candidates to enter, the blocked ones' blockers, open stall flags, overdue
# governance reviews, overdue value reviews; governance capacity (the types, their counts);
# the table: each group's first ids (3) and their rows; the value-versus-effort points, the
# heat map's rows, types and checkpoints; the team filter's choices; value, from the stored
# standings: the KPIs, the value flags (2), the per-team figures for the chart. A team
# filter adds its lookup; one position instead of the three groups reads one id query less.
# (The worker has computed the standings.) The first view of a snapshot also reads the
# snapshot's version and the heat map's ids apart from its rows, and counts what it keeps.
PAGE_QUERIES = 32
# Every later view of the same snapshot: what counts over the whole portfolio is kept
# (the counts per position, per stage and of the flags, the pilots' entry, the value KPIs,
# flags and per-team value, overdue value reviews, the heat map's ids, governance capacity).
STEADY_QUERIES = 20
# Session, user, roles; the standings (2); every filtered row.
EXPORT_QUERIES = 6
# GET /api/v1/dashboard/ once its counts are kept for the snapshot.
API_QUERIES = 12


def _without_tokens(html: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", html)


def quarter_ahead(ahead):
    year, quarter = this_quarter()
    for _ in range(ahead):
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return f"{year}-Q{quarter}"


@pytest.mark.parametrize("size", [100, 5000])
@pytest.mark.parametrize(("ahead", "params", "extra"), [
    (0, {}, 0),
    (0, {"team": "team-1", "stage": "assessment"}, 1),
    (1, {}, 0),
    (3, {"team": "team-1"}, 1),
    (1, {"position": "funded"}, -1),
    (2, {"position": "blocked", "blocker": "exit contract"}, 0),
])
def test_the_query_count_does_not_grow_with_the_portfolio(client, leader, size, ahead, params,
                                                          extra,
                                                          django_assert_max_num_queries):
    _portfolio(size, leader)
    client.force_login(leader)
    caught_up()
    client.get(URL)  # warm the session
    params = {**params, "quarter": quarter_ahead(ahead)}

    # The same budget with 100 and with 5,000 initiatives, whichever quarter is shown.
    with django_assert_max_num_queries(PAGE_QUERIES + extra):
        _, html = _count(client, URL, params)
    with django_assert_max_num_queries(STEADY_QUERIES + extra):
        _, again = _count(client, URL, params)
    with django_assert_max_num_queries(EXPORT_QUERIES + (1 if "team" in params else 0)):
        _, body = _count(client, EXPORT, params)

    assert quarter_ahead(ahead).encode() in html
    assert _without_tokens(again) == _without_tokens(html)
    if "position" not in params:
        assert b"Initiative " in html
        assert body.count(b"\n") > 1


# --- Counts kept once per snapshot --------------------------------------------------------------

def _direct(board):
    """What the board counts without keeping anything (every count read now)."""
    plain = board_reads.Dashboard(now=board.now, snapshot=board.snapshot, model=board.model,
                                  filters=board.filters, ahead=board.ahead)
    plain.per_snapshot = lambda name, compute: compute()
    kpis, ages = board_reads.kpis(plain)
    return (plain.counts(), kpis, ages, board_reads.value_kpis(plain),
            [i.pk for i in plain.heat_map_rows(board_reads.HEAT_MAP_ROWS)],
            board_reads.fund_answer(plain), board_reads.blocked_answer(plain))


def _kept(board):
    kpis, ages = board_reads.kpis(board)
    return (board.counts(), kpis, ages, board_reads.value_kpis(board),
            [i.pk for i in board.heat_map_rows(board_reads.HEAT_MAP_ROWS)],
            board_reads.fund_answer(board), board_reads.blocked_answer(board))


def test_what_is_kept_per_snapshot_is_what_a_direct_count_says_after_every_refresh(
        client, leader, frozen_clock):
    team = TeamFactory(name="Support", slug="support")
    plan(team, 10)
    sized(team=team, effort=1, reach=5, stage=Stage.PILOT)
    client.force_login(leader)

    first = page_text(client)
    before = board_reads.fund_answer(board_reads.dashboard())
    # More work, and a refresh at the very same (frozen) moment: a new snapshot all the same.
    sized(team=team, effort=2, reach=9, stage=Stage.PILOT)
    sized(team=team, effort=3, reach=1, stage=Stage.ASSESSMENT)
    second = page_text(client)
    frozen_clock.shift(timedelta(days=3))  # a later day: the pilots are older
    client.force_login(leader)  # the session timed out meanwhile
    third = page_text(client)

    assert "over 1 pilot now in pilot" in first
    assert "over 2 pilots now in pilot" in second
    assert '<p class="dash-figure">0 days</p>' in second
    assert '<p class="dash-figure">3 days</p>' in third
    for filters in ({}, {"team": team}, {"stage": Stage.PILOT}):
        board = board_reads.dashboard(filters=filters)
        assert not board.refreshing
        assert _kept(board) == _kept(board) == _direct(board)  # computed, then read back
    # The teams' weeks, summed once per snapshot, moved with the second refresh.
    assert before.funded_effort == 1
    assert board_reads.fund_answer(board_reads.dashboard()).funded_effort == 6


def test_a_pending_change_is_counted_live_until_the_worker_catches_up(client, leader):
    team = TeamFactory(name="Support", slug="support")
    sized(team=team, effort=1, reach=5, stage=Stage.PILOT)
    client.force_login(leader)
    assert "over 1 pilot now in pilot" in page_text(client)

    sized(team=team, effort=2, reach=9, stage=Stage.PILOT)
    standings_invalidate(what="test")  # what every service's write does
    html = page_text(client, worker=False)

    assert "refreshing" in html
    assert "over 2 pilots now in pilot" in html


def test_pilot_ages_are_whole_days_as_timedelta_counts_them():
    now = timezone.now()
    entered = [now - timedelta(days=1) + timedelta(microseconds=1), now - timedelta(days=1),
               now - timedelta(days=40, hours=23), now + timedelta(hours=2),
               now - timedelta(days=40, hours=23)]
    since = Counter()
    for moment in entered:
        since[(moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)] += 1

    assert board_reads.pilot_ages(since, now=now) == [0, 0, 1, 40, 40]
    assert board_reads.pilot_ages(Counter(), now=now) == []


@pytest.mark.parametrize("seed", range(20))
def test_the_median_pilot_age_from_the_middle_pilots_is_every_ages_median(seed):
    rng = random.Random(seed)
    now = timezone.now()
    day = 86_400_000_000
    at = (now - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    since = Counter()
    for _ in range(rng.randrange(0, 12)):  # ties, a future entry, entries a day apart
        since[at - rng.choice([0, 1, day - 1, day, day + 1, 5 * day, -day])
              - rng.randrange(0, 3) * day] += rng.randrange(1, 4)
    middle = board_reads.PilotMiddle.of(since)

    for later in (timedelta(0), timedelta(hours=rng.randrange(1, 30)), timedelta(days=9)):
        ages = board_reads.pilot_ages(since, now=now + later)
        assert middle.pilots == len(ages)
        assert middle.median_age(now=now + later) == (statistics.median(ages) if ages
                                                      else None)


@pytest.mark.parametrize("size", [100, 3000])
def test_the_dashboard_api_costs_the_same_queries_whatever_the_portfolio(
        leader, size, django_assert_max_num_queries):
    _portfolio(size, leader)
    caught_up()
    api = client_for(leader)
    api.get("/api/v1/dashboard/")  # the first read after a refresh counts and keeps

    # Auth, roles; the standings (2) and their version; the teams' quarter; the first
    # candidates; stall flags; the queue's overdue tab — the counts are kept per snapshot.
    with django_assert_max_num_queries(API_QUERIES):
        response = api.get("/api/v1/dashboard/")
    assert response.status_code == 200
    assert response.json()["kpis"]["total"] == size
