"""API v1, scoring: the ranking with breakdowns and funding status, the dashboard's figures
and capacity plans — the browser's reads and the admin's writes, one error shape, and
query counts that do not grow with the portfolio."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance.services import checkpoints_sync
from portfolio.api.common import plain_data
from portfolio.models import Category, Initiative, Stage, StageTransition, StallFlag
from portfolio.roles import ADMIN_READS
from scoring import dashboard as board_reads
from scoring.api import TeamCapacitySerializer
from scoring.capacity import quarter_of
from scoring.models import CapacityPlan, ScoringModel
from scoring.selectors import active_scoring_model, ranked_initiatives
from scoring.standings import standings_refresh
from tests.clients import client_for
from tests.factories import InitiativeFactory, TeamFactory, UserFactory
from tests.scoring.test_dashboard import caught_up

pytestmark = pytest.mark.django_db

RANKING = "/api/v1/ranking/"
DASHBOARD = "/api/v1/dashboard/"
PLANS = "/api/v1/capacity-plans/"
READ_URLS = [RANKING, DASHBOARD, PLANS]


def this_quarter():
    return quarter_of(timezone.localdate())


def next_quarter_label():
    year, quarter = this_quarter()
    return f"{year + 1}-Q1" if quarter == 4 else f"{year}-Q{quarter + 1}"


def plan(team, weeks, *, year=None, quarter=None):
    this_year, this_q = this_quarter()
    return CapacityPlan.objects.create(team=team, year=year or this_year,
                                       quarter=quarter or this_q, engineer_weeks=Decimal(weeks))


def sized(*, team, owner, effort, reach, stage=Stage.ASSESSMENT, **fields):
    """RICE (the active model): reach × 1 × 100 % ÷ effort."""
    now = timezone.now()
    values = {"created_at": now, "updated_at": now, "stage_changed_at": now,
              "last_activity_at": now, "impact": 1.0, "confidence": 100}
    values.update(fields)
    return InitiativeFactory(team=team, stage=stage, reach=reach, owner=owner, contracted=True,
                             effort_weeks=None if effort is None else Decimal(effort), **values)


@pytest.fixture
def line(leader):
    """Support plans 10 weeks: a funded bet, one below the line, one unsized, one funded
    but blocked; Finance has no plan; an idea draws no capacity."""
    owner = UserFactory(username="line-owner", roles=["pm"])
    support = TeamFactory(name="Support", slug="support")
    finance = TeamFactory(name="Finance", slug="finance")
    plan(support, 10)
    made = {
        "big": sized(owner=owner, team=support, effort=6, reach=6000, title="Big bet",
                     category=Category.AGENTIC_WORKFLOW),                       # 1000
        "blocked": sized(owner=owner, team=support, effort=3, reach=1500, title="Needs a review",
                         stage=Stage.PILOT, uses_personal_data=True,
                         customer_facing=True),                                  # 500
        "below": sized(owner=owner, team=support, effort=5, reach=1000, title="Second in line",
                       category=Category.INTERNAL_COPILOT),                      # 200
        "unsized": sized(owner=owner, team=support, effort=None, reach=50, title="Not sized yet"),
        "no_plan": sized(owner=owner, team=finance, effort=1, reach=10, title="Elsewhere",
                         category=Category.INTERNAL_COPILOT),                    # 10
        "idea": sized(owner=owner, team=finance, effort=2, reach=2, title="Just an idea",
                      stage=Stage.IDEA),                                         # 1
    }
    checkpoints_sync(initiatives=[made["blocked"]], actor=leader, now=timezone.now())
    caught_up()
    return made


def rows_of(response):
    assert response.status_code == 200, response.json()
    return {row["initiative"]["title"]: row for row in response.json()["results"]}


# --- Access -----------------------------------------------------------------------------------

def test_anonymous_requests_get_401_in_the_error_shape():
    client = client_for()
    for url in READ_URLS:
        response = client.get(url)
        assert response.status_code == 401
        assert set(response.json()) >= {"message", "code"}
    assert client.post(PLANS, {}, format="json").status_code == 401


def test_outsiders_get_404_everywhere(outsider):
    team = TeamFactory(slug="claims")
    one = plan(team, 5)
    client = client_for(outsider)

    for url in [*READ_URLS, f"{PLANS}{one.pk}/"]:
        assert client.get(url).status_code == 404
    assert client.post(PLANS, {"team": "claims", "year": 2030, "quarter": 1,
                               "engineer_weeks": "3"}, format="json").status_code == 404
    assert client.patch(f"{PLANS}{one.pk}/", {"engineer_weeks": "1"},
                        format="json").status_code == 404
    assert CapacityPlan.objects.get().engineer_weeks == Decimal(5)


@pytest.mark.parametrize("persona", ["pm", "reviewer", "tpm", "leader", "staff"])
def test_every_role_reads_every_endpoint(request, persona):
    one = plan(TeamFactory(slug="claims"), 5)
    client = client_for(request.getfixturevalue(persona))

    for url in [*READ_URLS, f"{PLANS}{one.pk}/"]:
        assert client.get(url).status_code == 200, url


def test_the_reads_are_read_only(leader):
    client = client_for(leader)

    assert client.post(RANKING, {}, format="json").status_code == 405
    assert client.post(DASHBOARD, {}, format="json").status_code == 405


# --- The ranking ------------------------------------------------------------------------------

def test_the_ranking_is_the_selectors_ranking(leader, line):
    expected = list(ranked_initiatives(Initiative.objects.exclude(stage=Stage.RETIRED),
                                       model=active_scoring_model()))

    body = client_for(leader).get(RANKING).json()

    assert body["count"] == len(expected)
    assert [row["initiative"]["id"] for row in body["results"]] == [i.pk for i in expected]
    assert [row["rank"] for row in body["results"]] == [i.rank for i in expected]
    assert body["scoring_model"]["name"] == "RICE"
    assert body["scoring_model"]["is_active"] is True
    year, quarter = this_quarter()
    assert body["quarter"] == f"{year}-Q{quarter}"


def test_each_row_has_its_initiative_score_breakdown_and_funding(leader, line):
    rows = rows_of(client_for(leader).get(RANKING))

    big = rows["Big bet"]
    assert big["rank"] == 1
    assert big["initiative"]["team"]["slug"] == "support"
    assert big["initiative"]["owner"]["username"] == line["big"].owner.username
    assert big["initiative"]["stage"] == "assessment"
    assert big["score"] == pytest.approx(1000.0)
    assert big["breakdown"]["method"] == "rice"
    assert big["breakdown"]["scorable"] is True
    assert "1,000" in big["breakdown"]["expression"]
    assert {f["key"] for f in big["breakdown"]["factors"]} >= {"reach", "effort_weeks"}
    assert big["funding"]["funding_status"] == "funded", big["funding"]
    assert big["funding"]["blocked"] is False
    assert big["funding"]["blockers"] == []

    # In pilot: committed work, and governance blocks its next stage.
    blocked = rows["Needs a review"]["funding"]
    assert blocked["funding_status"] == "committed"
    assert blocked["blocked"] is True
    assert blocked["blockers"]
    assert blocked["detail"].startswith("Blocked by ")

    below = rows["Second in line"]["funding"]
    assert below["funding_status"] == "below_line"
    assert below["detail"] == "needs 5 engineer-weeks; 1 left when its turn came"

    unsized = rows["Not sized yet"]
    assert unsized["score"] is None
    assert unsized["score_text"] == "not scorable"
    assert unsized["breakdown"]["scorable"] is False
    assert unsized["funding"]["funding_status"] == "unsized"

    assert rows["Elsewhere"]["funding"]["funding_status"] == "no_plan"
    # An idea is a candidate too: its team (Finance) has no capacity plan.
    assert rows["Just an idea"]["funding"]["funding_status"] == "no_plan"


def test_filters_narrow_the_rows_never_the_line(leader, line):
    client = client_for(leader)

    filtered = rows_of(client.get(RANKING, {"category": Category.INTERNAL_COPILOT}))
    by_team = rows_of(client.get(RANKING, {"team": "finance", "stage": "assessment"}))

    assert set(filtered) == {"Second in line", "Elsewhere"}
    # Filtered out, the big bet still takes the capacity, and the rank is the portfolio's.
    assert filtered["Second in line"]["funding"]["funding_status"] == "below_line"
    assert filtered["Second in line"]["rank"] == 3
    assert set(by_team) == {"Elsewhere"}


def test_another_model_reorders_the_rows_not_the_line(leader, line):
    wsjf = ScoringModel.objects.get(name="WSJF")
    Initiative.objects.filter(pk=line["below"].pk).update(business_value=10,
                                                          time_criticality=10,
                                                          risk_reduction=10)
    expected = list(ranked_initiatives(Initiative.objects.exclude(stage=Stage.RETIRED),
                                       model=wsjf))

    body = client_for(leader).get(RANKING, {"model": wsjf.pk}).json()

    assert body["scoring_model"]["id"] == wsjf.pk
    assert [row["initiative"]["id"] for row in body["results"]] == [i.pk for i in expected]
    first = body["results"][0]
    assert first["initiative"]["title"] == "Second in line"
    assert first["rank"] == 1
    assert first["breakdown"]["method"] == "wsjf"
    assert first["funding"]["funding_status"] == "below_line"


@pytest.mark.parametrize(("params", "field", "status"), [
    ({"model": "x"}, "model", 400), ({"stage": "nonsense"}, "stage", 400),
    ({"model": "999999"}, "model", 404), ({"team": "nope"}, "team", 404),  # naming nothing
])
def test_a_bad_parameter_is_a_field_error(leader, params, field, status):
    response = client_for(leader).get(RANKING, params)

    assert response.status_code == status
    assert field in response.json()["fields"]


@pytest.mark.parametrize("url", [RANKING, DASHBOARD])
@pytest.mark.parametrize("quarter", ["2027-Q5", "next", "2027-q1", "2026-Q\x00"])
def test_a_quarter_not_written_as_one_is_a_field_error(leader, url, quarter):
    response = client_for(leader).get(url, {"quarter": quarter})

    assert response.status_code == 400
    assert response.json()["fields"]["quarter"]


@pytest.mark.parametrize("url", [RANKING, DASHBOARD])
@pytest.mark.parametrize("quarter", ["1999-Q1", "2031-Q1"])
def test_a_quarter_outside_the_plan_has_no_line_a_404_naming_the_field(leader, url, quarter):
    """Well-formed, as the schema's pattern says, but not this quarter or the next three:
    like a team's slug that names no team."""
    response = client_for(leader).get(url, {"quarter": quarter})

    assert response.status_code == 404
    assert response.json()["fields"]["quarter"] == ["Choose this quarter or one of the next "
                                                    "three."]


def test_the_ranking_reads_any_quarter_of_the_plan(leader, line):
    """Next quarter: Support plans 4 weeks; the big bet funded this quarter is committed
    then (and takes them); Finance plans 3, so both its candidates are funded next."""
    year, quarter = quarter_of(timezone.localdate())
    following = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    plan(TeamFactory._meta.model.objects.get(slug="support"), 4, year=following[0],
         quarter=following[1])
    plan(TeamFactory._meta.model.objects.get(slug="finance"), 3, year=following[0],
         quarter=following[1])
    caught_up()
    label = next_quarter_label()
    client = client_for(leader)

    body = client.get(RANKING, {"quarter": label}).json()
    rows = {row["initiative"]["title"]: row["funding"] for row in body["results"]}
    funded = client.get(RANKING, {"quarter": label, "position": "funded"}).json()

    assert body["quarter"] == label
    assert rows["Big bet"]["funding_status"] == "committed"
    assert rows["Second in line"]["funding_status"] == "below_line"
    assert rows["Just an idea"]["funding_status"] == "funded"
    assert [row["initiative"]["title"] for row in funded["results"]] == ["Elsewhere",
                                                                          "Just an idea"]
    assert funded["count"] == 2
    # This quarter is unchanged.
    now = {row["initiative"]["title"]: row["funding"]
           for row in client.get(RANKING).json()["results"]}
    assert now["Big bet"]["funding_status"] == "funded"


def test_the_dashboard_api_answers_the_first_screens_questions(leader, line):
    body = client_for(leader).get(DASHBOARD).json()

    fund, blocked, stuck = body["fund"], body["blocked"], body["stuck"]
    assert fund["quarter"] == body["quarter"]
    # Committed: the blocked pilot; fund next: the big bet; below: the rest of the candidates.
    assert (fund["committed"]["count"], fund["funded"]["count"],
            fund["below_line"]["count"]) == (1, 1, 4)
    assert (fund["over_capacity"], fund["unsized"], fund["no_plan"]) == (1, 1, 2)
    assert fund["capacity"] == 10
    assert fund["committed_effort"] == 3
    assert fund["funded_effort"] == 9
    assert fund["over"] == []
    assert [item["title"] for item in fund["entering"]] == ["Big bet"]
    assert fund["funded"]["url"].startswith("/dashboard/?quarter=")
    assert "position=funded" in fund["funded"]["url"]
    assert blocked["total"]["count"] == 1
    assert "position=blocked" in blocked["total"]["url"]
    assert sum(item["count"] for item in blocked["by_blocker"]) >= 1
    assert all("blocker=" in item["url"] for item in blocked["by_blocker"])
    assert stuck["stalled_pilots"] == {"count": 0, "url": "/stalls/"}
    assert stuck["overdue_reviews"]["url"] == "/governance/queue/?status=overdue"
    assert stuck["overdue_value_reviews"]["url"] == "/value-reviews/?tab=overdue"


def test_without_an_active_model_nothing_is_scored(leader, line):
    ScoringModel.objects.update(is_active=False)
    caught_up()

    body = client_for(leader).get(RANKING).json()

    assert body["scoring_model"] is None
    assert {row["score"] for row in body["results"]} == {None}
    assert {row["breakdown"] is None for row in body["results"]} == {True}


def test_the_ranking_is_paginated(leader, line):
    body = client_for(leader).get(RANKING, {"page_size": 2, "page": 2}).json()

    assert body["count"] == 6
    assert [row["rank"] for row in body["results"]] == [3, 4]
    assert body["next"]
    assert body["previous"]


# --- The dashboard ----------------------------------------------------------------------------

def test_the_dashboard_has_the_pages_kpis_and_capacity(leader, line):
    now = timezone.now()
    StageTransition.objects.create(initiative=line["blocked"], from_stage=Stage.ASSESSMENT,
                                   to_stage=Stage.PILOT, actor=leader, at=now)
    StallFlag.objects.create(initiative=line["blocked"], reason="too_long", flagged_at=now,
                             detection_run="test")
    caught_up()
    expected, _ = board_reads.kpis(board_reads.dashboard(now=now))

    body = client_for(leader).get(DASHBOARD).json()

    kpis = body["kpis"]
    assert kpis["total"] == expected.total == 6
    assert {s["stage"]: s["count"] for s in kpis["initiatives_by_stage"]} == {
        stage: count for stage, _, count in expected.stage_counts}
    assert kpis["entered_pilot"] == 1
    assert kpis["conversion_percent"] == 0
    assert kpis["pilots"] == 1
    assert kpis["median_pilot_age_days"] == 0
    assert kpis["stalled_pilots"] == 1
    assert kpis["out_of_compliance"] == expected.out_of_compliance
    assert kpis["ownership_gaps"] == expected.ownership_gaps
    capacity = {line_["team"]["slug"]: line_ for line_ in body["capacity"]}
    support = capacity["support"]
    assert Decimal(support["capacity"]) == 10
    assert Decimal(support["demand"]) == 14
    assert Decimal(support["funded_effort"]) == 9
    # Funded work (9 weeks) fits in 10: demand beyond capacity is below the line, not over.
    assert Decimal(support["over_commitment"]) == 0
    assert (support["funded"], support["funded_but_blocked"], support["below_line"],
            support["unsized"]) == (1, 1, 1, 1)
    assert capacity["finance"]["capacity"] is None
    assert capacity["finance"]["no_plan"] == 2  # an idea is a candidate too
    assert body["definitions"]["conversion"] == board_reads.CONVERSION_FORMULA


def test_the_capacity_rows_are_the_serializer_json_field_for_field(leader, line):
    caught_up()
    teams = board_reads.dashboard(now=timezone.now()).teams()

    rows = plain_data(TeamCapacitySerializer, teams)

    assert {row["team"]["slug"] for row in rows} == {"support", "finance"}
    assert any(row["capacity"] is None for row in rows)  # a team without a plan
    expected = TeamCapacitySerializer(teams, many=True).data
    assert rows == expected
    assert [list(row) for row in rows] == [list(row) for row in expected]  # in its order
    assert client_for(leader).get(DASHBOARD).json()["capacity"] == rows


def test_the_capacity_rows_are_kept_for_the_snapshot_and_read_anew_after_a_refresh(
        leader, line):
    caught_up()
    client = client_for(leader)
    first = client.get(DASHBOARD).json()["capacity"]
    CapacityPlan.objects.filter(team__slug="support").update(engineer_weeks=Decimal(20))

    # Written behind the services' back, so nothing marks the standings stale: the rows
    # are the snapshot's, kept, until the worker stores the next.
    assert client.get(DASHBOARD).json()["capacity"] == first
    caught_up()
    rows = client.get(DASHBOARD).json()["capacity"]

    support = next(row for row in rows if row["team"]["slug"] == "support")
    assert Decimal(support["capacity"]) == 20
    assert rows == plain_data(TeamCapacitySerializer,
                              board_reads.dashboard(now=timezone.now()).teams())


def test_dashboard_filters_narrow_the_kpis_and_the_teams_shown(leader, line):
    body = client_for(leader).get(DASHBOARD, {"team": "support"}).json()

    assert body["kpis"]["total"] == 4
    assert [line_["team"]["slug"] for line_ in body["capacity"]] == ["support"]
    assert client_for(leader).get(DASHBOARD, {"category": "x"}).status_code == 400


# --- Capacity plans ---------------------------------------------------------------------------

def test_plans_are_listed_and_filtered(leader):
    support = TeamFactory(name="Support", slug="support")
    finance = TeamFactory(name="Finance", slug="finance")
    plan(support, 10, year=2026, quarter=4)
    plan(finance, 7, year=2026, quarter=4)
    plan(support, 12, year=2027, quarter=1)
    client = client_for(leader)

    every = client.get(PLANS).json()["results"]
    q4 = client.get(PLANS, {"year": 2026, "quarter": 4}).json()["results"]
    one_team = client.get(PLANS, {"team": "support"}).json()["results"]

    assert [(p["team"]["slug"], p["year"], p["quarter"]) for p in every] == [
        ("support", 2027, 1), ("finance", 2026, 4), ("support", 2026, 4)]
    assert [p["team"]["slug"] for p in q4] == ["finance", "support"]
    assert [Decimal(p["engineer_weeks"]) for p in one_team] == [12, 10]
    assert client.get(PLANS, {"quarter": 5}).status_code == 400
    assert client.get(PLANS, {"team": "nope"}).status_code == 404  # names no team


@pytest.mark.parametrize("persona", ["pm", "reviewer", "tpm", "leader"])
def test_roles_without_the_admin_cannot_write_plans(request, persona):
    one = plan(TeamFactory(slug="claims"), 5)
    client = client_for(request.getfixturevalue(persona))

    created = client.post(PLANS, {"team": "claims", "year": 2030, "quarter": 1,
                                  "engineer_weeks": "3"}, format="json")
    changed = client.patch(f"{PLANS}{one.pk}/", {"engineer_weeks": "1"}, format="json")

    assert created.status_code == 403
    assert changed.status_code == 403
    assert set(changed.json()) >= {"message", "code"}
    assert CapacityPlan.objects.count() == 1
    assert CapacityPlan.objects.get().engineer_weeks == Decimal(5)


def test_staff_without_the_admins_permission_cannot_write_either():
    one = plan(TeamFactory(slug="claims"), 5)
    client = client_for(UserFactory(username="plain-staff", is_staff=True,
                                    permissions=[ADMIN_READS]))

    assert client.get(PLANS).status_code == 200
    assert client.patch(f"{PLANS}{one.pk}/", {"engineer_weeks": "1"},
                        format="json").status_code == 403
    assert CapacityPlan.objects.get().engineer_weeks == Decimal(5)


def test_staff_plan_a_quarter_and_change_it(staff):
    TeamFactory(slug="claims", name="Claims")
    client = client_for(staff)

    created = client.post(PLANS, {"team": "claims", "year": 2030, "quarter": 2,
                                  "engineer_weeks": "12.5", "notes": " hiring "},
                          format="json")
    assert created.status_code == 201, created.json()
    plan_id = created.json()["id"]
    assert created["Location"] == f"{PLANS}{plan_id}/"
    assert created.json()["team"]["slug"] == "claims"
    assert created.json()["notes"] == "hiring"

    changed = client.patch(f"{PLANS}{plan_id}/", {"engineer_weeks": "20"}, format="json")

    assert changed.status_code == 200
    saved = CapacityPlan.objects.get(pk=plan_id)
    assert saved.engineer_weeks == Decimal(20)
    assert saved.notes == "hiring"
    assert saved.history.latest().history_user == staff
    assert "ETag" not in changed  # a plan has no version: no optimistic locking


def test_superusers_write_plans_too(superuser):
    TeamFactory(slug="claims")

    response = client_for(superuser).post(PLANS, {"team": "claims", "year": 2030, "quarter": 1,
                                               "engineer_weeks": "4"}, format="json")

    assert response.status_code == 201


@pytest.mark.parametrize(("payload", "field"), [
    ({"engineer_weeks": "-1"}, "engineer_weeks"),
    ({"engineer_weeks": "1.25"}, "engineer_weeks"),
    ({"engineer_weeks": "lots"}, "engineer_weeks"),
    ({"quarter": 5}, "quarter"),
    ({"year": 1999}, "year"),
    ({"engineer_weeks": 3}, "engineer_weeks"),  # text, as responses show it
])
def test_invalid_plans_are_400_and_nothing_is_saved(staff, payload, field):
    TeamFactory(slug="claims")
    body = {"team": "claims", "year": 2030, "quarter": 1, "engineer_weeks": "3", **payload}

    response = client_for(staff).post(PLANS, body, format="json")

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not CapacityPlan.objects.exists()


def test_a_second_plan_for_the_same_quarter_is_refused(staff):
    one = plan(TeamFactory(slug="claims"), 5, year=2030, quarter=1)

    response = client_for(staff).post(PLANS, {"team": "claims", "year": 2030, "quarter": 1,
                                              "engineer_weeks": "9"}, format="json")

    assert response.status_code == 409
    assert "quarter" in response.json()["fields"]
    one.refresh_from_db()
    assert one.engineer_weeks == Decimal(5)


def test_a_plan_for_a_team_that_does_not_exist_is_a_404(staff):
    response = client_for(staff).post(PLANS, {"team": "nope", "year": 2030, "quarter": 1,
                                              "engineer_weeks": "3"}, format="json")

    assert (response.status_code, list(response.json()["fields"])) == (404, ["team"])
    assert not CapacityPlan.objects.exists()


def test_a_negative_change_is_a_field_error(staff):
    one = plan(TeamFactory(slug="claims"), 5)

    response = client_for(staff).patch(f"{PLANS}{one.pk}/", {"engineer_weeks": "-2"},
                                       format="json")

    assert response.status_code == 400
    assert "at least 0" in response.json()["fields"]["engineer_weeks"][0]
    one.refresh_from_db()
    assert one.engineer_weeks == Decimal(5)


def test_a_missing_plan_is_404(leader):
    assert client_for(leader).get(f"{PLANS}999999/").status_code == 404


# --- A fixed number of queries ----------------------------------------------------------------

STAGES = [Stage.IDEA, Stage.ASSESSMENT, Stage.PILOT, Stage.PRODUCTION, Stage.SCALED,
          Stage.PAUSED]


def _grow(size, actor, offset):
    """``size`` more initiatives over four teams and every stage, with pilots' moves, stall
    flags and open checkpoints (so some funded ones are blocked); and more plans."""
    now = timezone.now()
    teams = [TeamFactory(name=f"Team {n}", slug=f"team-{n}") for n in range(4)]
    year, quarter = this_quarter()
    for team in teams[:3]:
        CapacityPlan.objects.get_or_create(team=team, year=year, quarter=quarter,
                                           defaults={"engineer_weeks": Decimal(40)})
    for n in range(offset, offset + size // 10):
        CapacityPlan.objects.create(team=teams[n % 4], year=2000 + n // 4 + 1,
                                    quarter=n % 4 + 1, engineer_weeks=Decimal(n))
    owner = UserFactory(username="bulk-owner", roles=["pm"])
    made = Initiative.objects.bulk_create([
        Initiative(title=f"Initiative {n}", summary="", team=teams[n % 4], owner=owner,
                   stage=STAGES[n % len(STAGES)], category=Category.values[n % 8],
                   effort_weeks=Decimal(n % 13 + 1) if n % 9 else None,
                   reach=100 + n, impact=1.0, confidence=80,
                   created_at=now, updated_at=now, last_activity_at=now,
                   stage_changed_at=now - timedelta(days=n % 200))
        for n in range(offset, offset + size)])
    pilots = [i for i in made if i.stage == Stage.PILOT]
    StageTransition.objects.bulk_create([
        StageTransition(initiative=i, from_stage=Stage.ASSESSMENT, to_stage=Stage.PILOT,
                        actor=actor, at=now) for i in pilots])
    StallFlag.objects.bulk_create([
        StallFlag(initiative=i, reason="too_long", flagged_at=now, detection_run="bulk")
        for i in pilots[::3]])
    some = [i.pk for i in made if i.stage in (Stage.ASSESSMENT, Stage.PILOT)][::2]
    Initiative.objects.filter(pk__in=some).update(uses_personal_data=True, customer_facing=True)
    checkpoints_sync(initiatives=list(Initiative.objects.filter(pk__in=some)), actor=actor,
                     now=now)


def _queries(client, url, params):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, {"page_size": 200, **params})
    assert response.status_code == 200, response.json()
    return len(captured)


# The viewer's roles are cached on the request user (force_authenticate keeps one).
# Ranking: the standings (the snapshot, the audit heads), the page's count, ids and rows. A
# team filter adds its lookup; ?model= its lookup and its ranking.
# Dashboard: the standings (2), stage counts, the KPI flags, pilot ages, the teams'
# capacity; value: the KPIs from the stored standings (1), the value flags (2); the first
# screen: the counts per position, the first to enter, open stall flags, overdue
# governance reviews, overdue value reviews (what blocks the funded is stored per team).
# Capacity plans: the page, its count in the same query (KeysetPagination); filtered, the
# team's lookup and the planner's estimate of the filter.
# Any quarter of the plan reads the same (its own stored columns). The first read after a
# refresh also reads the snapshot's version, the key under which the whole portfolio's counts
# are kept for the next reads (``Dashboard.per_snapshot``): a position filter's counts and
# the dashboard's.
@pytest.mark.parametrize(("url", "params", "budget"), [
    (RANKING, {}, 5),
    (RANKING, {"team": "team-1", "stage": "assessment"}, 6),
    (RANKING, {"model": "__wsjf__"}, 7),
    (RANKING, {"quarter": "__next__"}, 5),
    (RANKING, {"quarter": "__next__", "position": "committed"}, 6),
    (DASHBOARD, {}, 15),
    (DASHBOARD, {"team": "team-1"}, 16),
    (DASHBOARD, {"quarter": "__next__"}, 15),
    (DASHBOARD, {"category": "other"}, 16),  # blockers read: stored per team, not category
    (PLANS, {}, 1),
    (PLANS, {"team": "team-1", "year": 2026}, 3),
])
def test_queries_do_not_grow_with_the_portfolio(leader, url, params, budget):
    if params.get("model") == "__wsjf__":
        params = {"model": ScoringModel.objects.get(name="WSJF").pk}
    if params.get("quarter") == "__next__":
        params = {**params, "quarter": next_quarter_label()}
    client = client_for(leader)
    client.get(url)  # the viewer's roles are read once per request user, then cached

    # The standings are recomputed when the portfolio changes (tests/scoring/
    # test_standings.py); what must not grow is the read of current ones.
    _grow(20, leader, offset=0)
    standings_refresh()
    small = _queries(client, url, params)
    _grow(300, leader, offset=20)
    standings_refresh()
    large = _queries(client, url, params)

    assert small == large == budget


def test_the_schema_generates_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file",
                 str(tmp_path / "schema.yaml"))

    text = (tmp_path / "schema.yaml").read_text()
    for path in ("/api/v1/ranking/", "/api/v1/dashboard/", "/api/v1/capacity-plans/{id}/"):
        assert path in text
