"""Over-commitment is visible when it happens (issue 19, item 3): intake and a stage move
that take a team over its capacity for the quarter warn the PM with the numbers, the move
still happens, and the crossing is recorded once — for the timeline and the TPM digest."""

from decimal import Decimal

import pytest

from portfolio import hooks
from portfolio.models import Activity, Initiative, Stage
from portfolio.pilots.digest.content import (
    digest_recipients,
    digest_render,
    digests_build,
    period_of,
)
from portfolio.services import initiative_move_stage
from scoring.capacity import capacity_plan_set, capacity_warning, over_capacity_record
from tests.clients import client_for
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

YEAR, QUARTER = 2026, 4  # FIXED_NOW is Monday 2 November 2026
TEAM = "Customer Operations"


@pytest.fixture
def team(db):
    return TeamFactory(name=TEAM, slug="customer-operations")


def plan(team, weeks, *, quarter=QUARTER):
    capacity_plan_set(team=team, year=YEAR, quarter=quarter, engineer_weeks=weeks,
                      actor=None, now=FIXED_NOW)


def work(team, effort, *, stage=Stage.PILOT, owner=None, **fields):
    """An initiative of ``team`` in ``stage`` needing ``effort`` engineer-weeks, with the
    exit contract the gate into pilot asks for."""
    if owner is not None:
        fields["owner"] = owner
    return InitiativeFactory(team=team, stage=stage, contracted=True,
                             effort_weeks=None if effort is None else Decimal(effort), **fields)


def crossings():
    return list(Activity.objects.filter(kind=Activity.Kind.OVER_CAPACITY)
                .values_list("initiative__title", "details"))


# --- The warning's words and numbers -----------------------------------------------------------

def test_committed_work_exactly_at_capacity_is_no_warning(team):
    plan(team, 40)
    work(team, 30)
    last = work(team, 10)

    assert capacity_warning(last, now=FIXED_NOW) is None


def test_one_engineer_week_over_capacity_is_a_warning_with_the_numbers(team):
    plan(team, 40)
    work(team, 30)
    last = work(team, 11)

    assert capacity_warning(last, now=FIXED_NOW) == (
        "Customer Operations is now committed to 41 engineer-weeks in 2026-Q4 against a "
        "capacity of 40 (1 over).")


def test_the_warning_counts_every_committed_stage_and_half_weeks(team):
    plan(team, "40.5")
    work(team, 30, stage=Stage.PRODUCTION)
    work(team, 10, stage=Stage.SCALED)
    work(team, 99, stage=Stage.PAUSED)  # draws nothing
    work(team, 99, stage=Stage.ASSESSMENT)  # a candidate: not committed
    last = work(team, 12)

    assert capacity_warning(last, now=FIXED_NOW) == (
        "Customer Operations is now committed to 52 engineer-weeks in 2026-Q4 against a "
        "capacity of 40.5 (11.5 over).")


def test_a_candidate_that_does_not_fit_in_the_uncommitted_capacity_is_warned(team):
    plan(team, 40)
    work(team, 36)
    idea = work(team, 12, stage=Stage.IDEA)

    assert capacity_warning(idea, now=FIXED_NOW) == (
        "Customer Operations has 4 of 40 engineer-weeks uncommitted in 2026-Q4; this "
        "initiative needs 12, so it would take the team over its capacity if it were "
        "committed.")


def test_a_candidate_that_exactly_fits_is_no_warning(team):
    plan(team, 40)
    work(team, 28)

    assert capacity_warning(work(team, 12, stage=Stage.ASSESSMENT), now=FIXED_NOW) is None
    assert capacity_warning(work(team, 13, stage=Stage.ASSESSMENT), now=FIXED_NOW) is not None


def test_a_candidate_of_a_team_already_over_says_how_far_over(team):
    plan(team, 40)
    work(team, 45)

    assert capacity_warning(work(team, 1, stage=Stage.IDEA), now=FIXED_NOW) == (
        "Customer Operations is already committed to 45 engineer-weeks in 2026-Q4 against a "
        "capacity of 40 (5 over); this initiative needs 1 more.")


def test_without_a_plan_for_the_quarter_the_warning_says_no_capacity_is_planned(team):
    plan(team, 100, quarter=3)  # last quarter's plan does not count

    assert capacity_warning(work(team, 12, stage=Stage.IDEA), now=FIXED_NOW) == (
        "Customer Operations has no capacity planned for 2026-Q4; this initiative needs 12 "
        "engineer-weeks.")


def test_paused_retired_and_unsized_initiatives_are_never_warned_about(team):
    plan(team, 1)
    work(team, 30)

    assert capacity_warning(work(team, 12, stage=Stage.PAUSED), now=FIXED_NOW) is None
    assert capacity_warning(work(team, 12, stage=Stage.RETIRED, retirement_reason="cost"),
                            now=FIXED_NOW) is None
    assert capacity_warning(work(team, None), now=FIXED_NOW) is None


def test_the_warning_costs_one_query_whatever_the_team_holds(team, django_assert_num_queries):
    plan(team, 40)
    for _ in range(5):
        work(team, 10)
    last = Initiative.objects.get(pk=work(team, 1).pk)

    with django_assert_num_queries(1):  # the team, its plan and its committed effort
        assert capacity_warning(last, now=FIXED_NOW)


def test_portfolio_asks_scoring_through_its_extension_point(team):
    plan(team, 40)
    last = work(team, 41)

    assert hooks.CAPACITY_WARNINGS.get("scoring") is capacity_warning
    assert hooks.capacity_warnings(last, FIXED_NOW) == [capacity_warning(last, now=FIXED_NOW)]


# --- The crossing ------------------------------------------------------------------------------

def test_the_move_that_takes_the_team_over_is_recorded_once_and_still_happens(team):
    plan(team, 40)
    work(team, 30)
    to_forty = work(team, 10, stage=Stage.ASSESSMENT, title="Fills it")
    over = work(team, 5, stage=Stage.ASSESSMENT, title="Tips it over")
    more = work(team, 3, stage=Stage.ASSESSMENT, title="Already over")

    initiative_move_stage(initiative=to_forty, to_stage=Stage.PILOT, actor=to_forty.owner,
                          now=FIXED_NOW)
    assert crossings() == []  # 40 of 40: at capacity, not over

    initiative_move_stage(initiative=over, to_stage=Stage.PILOT, actor=over.owner,
                          now=FIXED_NOW)
    initiative_move_stage(initiative=more, to_stage=Stage.PILOT, actor=more.owner,
                          now=FIXED_NOW)

    assert crossings() == [("Tips it over", {
        "quarter": "2026-Q4", "team": TEAM, "committed": "45", "capacity": "40",
        "over": "5"})]
    assert set(Initiative.objects.filter(pk__in=[over.pk, more.pk])
               .values_list("stage", flat=True)) == {Stage.PILOT}


def test_dropping_back_under_and_crossing_again_is_a_second_crossing(team):
    plan(team, 40)
    first = work(team, 35)
    again = work(team, 10, stage=Stage.ASSESSMENT, title="Again")

    initiative_move_stage(initiative=first, to_stage=Stage.PAUSED, actor=first.owner,
                          now=FIXED_NOW)  # 0 of 40
    initiative_move_stage(initiative=first, to_stage=Stage.PILOT, actor=first.owner,
                          now=FIXED_NOW)  # 35 of 40: under
    initiative_move_stage(initiative=again, to_stage=Stage.PILOT, actor=again.owner,
                          now=FIXED_NOW)  # 45 of 40: over

    assert [title for title, _ in crossings()] == ["Again"]


def test_moves_between_committed_stages_and_teams_without_a_plan_record_nothing(team):
    plan(team, 10)
    pilot = work(team, 30)
    unplanned = work(TeamFactory(name="Finance"), 30, stage=Stage.ASSESSMENT)

    pilot.stage = Stage.PRODUCTION  # as the move into production leaves it
    pilot.save()
    over_capacity_record(initiative=pilot, from_stage=Stage.PILOT, actor=pilot.owner,
                         now=FIXED_NOW)
    initiative_move_stage(initiative=unplanned, to_stage=Stage.PILOT, actor=unplanned.owner,
                          now=FIXED_NOW)

    assert crossings() == []


def test_the_crossing_reads_on_the_timeline(client, team, pm):
    plan(team, 40)
    work(team, 38)
    over = work(team, 5, stage=Stage.ASSESSMENT, owner=pm)
    initiative_move_stage(initiative=over, to_stage=Stage.PILOT, actor=pm, now=FIXED_NOW)
    client.force_login(pm)

    body = client.get(over.get_absolute_url()).content.decode()

    assert ("Took its team over capacity: Customer Operations is committed to 43 "
            "engineer-weeks in 2026-Q4 against a capacity of 40 (3 over)") in body


def test_the_tpm_digest_lists_teams_taken_over_capacity(team):
    plan(team, 40)
    work(team, 38)
    over = work(team, 5, stage=Stage.ASSESSMENT, title="Claims copilot")
    initiative_move_stage(initiative=over, to_stage=Stage.PILOT, actor=over.owner,
                          now=FIXED_NOW)
    UserFactory(username="the-tpm", roles=["tpm"])
    monday = FIXED_NOW.replace(day=9, hour=7)  # the next digest

    recipients = digest_recipients(period=period_of(monday))
    digest = next(d for d in digests_build(now=monday, period=period_of(monday),
                                           recipients=recipients)
                  if d.recipient.username == "the-tpm")
    _, text, html = digest_render(digest)

    assert [(c.initiative.title, c.text) for c in digest.over_capacity] == [
        ("Claims copilot", "Customer Operations is committed to 43 engineer-weeks in 2026-Q4 "
                           "against a capacity of 40 (3 over)")]
    assert "Teams over capacity (1)" in html
    assert "TEAMS OVER CAPACITY (1)" in text
    assert "Claims copilot: Customer Operations is committed to 43" in text
    assert digest.summary == "2 changes"  # the move and the crossing


# --- Where the PM sees it ----------------------------------------------------------------------

def test_intake_warns_the_pm_when_the_new_initiative_does_not_fit(client, team, pm):
    plan(team, 40)
    work(team, 36)
    client.force_login(pm)

    response = client.post("/initiatives/new/", {
        "title": "Warranty claim classifier", "summary": "Sort warranty claims by defect.",
        "category": "workflow_automation", "team": team.pk, "risk_tier": "minimal",
        "autonomy_level": "assistive", "owner": pm.pk, "effort_weeks": "12"}, follow=True)

    body = response.content.decode()
    assert response.status_code == 200
    assert "is logged" in body
    assert ("Customer Operations has 4 of 40 engineer-weeks uncommitted in 2026-Q4; this "
            "initiative needs 12") in body
    assert 'class="message warning"' in body


def test_intake_that_fits_shows_no_warning(client, team, pm):
    plan(team, 40)
    client.force_login(pm)

    response = client.post("/initiatives/new/", {
        "title": "Warranty claim classifier", "summary": "Sort warranty claims by defect.",
        "category": "workflow_automation", "team": team.pk, "risk_tier": "minimal",
        "autonomy_level": "assistive", "owner": pm.pk, "effort_weeks": "12"}, follow=True)

    assert "is logged" in response.content.decode()
    assert "message warning" not in response.content.decode()


def test_a_move_over_capacity_is_made_and_the_page_says_by_how_much(client, team, pm):
    plan(team, 40)
    work(team, 30)
    moving = work(team, 22, stage=Stage.ASSESSMENT, owner=pm)
    client.force_login(pm)

    response = client.post(f"{moving.get_absolute_url()}move/",
                           {"expected_stage": Stage.ASSESSMENT, "to_stage": Stage.PILOT},
                           follow=True)

    body = response.content.decode()
    assert "Moved to Pilot." in body
    assert ("Customer Operations is now committed to 52 engineer-weeks in 2026-Q4 against a "
            "capacity of 40 (12 over).") in body
    moving.refresh_from_db()
    assert moving.stage == Stage.PILOT


def test_the_api_move_and_create_return_the_warnings(team, pm):
    plan(team, 40)
    work(team, 30)
    moving = work(team, 22, stage=Stage.ASSESSMENT, owner=pm)
    api = client_for(pm)

    moved = api.post(f"/api/v1/initiatives/{moving.pk}/move/", {"to_stage": "pilot"},
                     format="json", HTTP_IF_MATCH=f'"{moving.pk}-{moving.version}"')
    created = api.post("/api/v1/initiatives/", {
        "title": "Ticket triage", "team": team.slug, "risk_tier": "minimal",
        "autonomy_level": "assistive", "effort_weeks": "3"}, format="json")
    fits = api.post("/api/v1/initiatives/", {
        "title": "Ticket summaries", "team": TeamFactory(slug="roomy").slug,
        "risk_tier": "minimal", "autonomy_level": "assistive"}, format="json")

    assert moved.status_code == 201
    assert moved.json()["warnings"] == [
        "Customer Operations is now committed to 52 engineer-weeks in 2026-Q4 against a "
        "capacity of 40 (12 over)."]
    assert created.status_code == 201
    assert created.json()["warnings"] == [
        "Customer Operations is already committed to 52 engineer-weeks in 2026-Q4 against a "
        "capacity of 40 (12 over); this initiative needs 3 more."]
    assert created.json()["title"] == "Ticket triage"
    assert fits.json()["warnings"] == []
