"""The capacity page (issue 19, item 1): every team's engineer-weeks for this quarter or one
of the next three beside the effort committed to it; leadership and admins who may change
plans edit every row at once (all or none, errors on each row), every other reader sees
it read-only, outsiders get 404; the query count does not grow with the teams."""

from decimal import Decimal

import pytest

from portfolio.models import Stage
from portfolio.roles import ADMIN_READS
from scoring.capacity import capacity_plan_set
from scoring.models import CapacityPlan
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

URL = "/dashboard/capacity/"
NEXT = "2027-Q1"  # FIXED_NOW is 2 November 2026: this quarter is 2026-Q4


@pytest.fixture
def teams(db):
    """Claims (40 this quarter, 30 committed; 35 planned for 2027-Q1) and Support (no plans,
    12 committed); Claims' idea and paused work draw nothing."""
    claims = TeamFactory(name="Claims", slug="claims")
    support = TeamFactory(name="Support", slug="support")
    plan(claims, 40, year=2026, quarter=4)
    plan(claims, 35, year=2027, quarter=1)
    for team, effort, stage in [(claims, 30, Stage.PILOT), (claims, 99, Stage.IDEA),
                                (claims, 99, Stage.PAUSED), (support, 12, Stage.PRODUCTION)]:
        InitiativeFactory(team=team, stage=stage, effort_weeks=Decimal(effort))
    return claims, support


def plan(team, weeks, *, year, quarter, actor=None):
    return capacity_plan_set(team=team, year=year, quarter=quarter, engineer_weeks=weeks,
                             actor=actor, now=FIXED_NOW)


def weeks_of(team, *, year=2027, quarter=1):
    found = CapacityPlan.objects.filter(team=team, year=year, quarter=quarter).first()
    return None if found is None else found.engineer_weeks


def post(client, teams, quarter=NEXT, **values):
    claims, support = teams
    data = {f"team-{claims.pk}": values.get("claims", "35"),
            f"team-{support.pk}": values.get("support", "")}
    return client.post(f"{URL}?quarter={quarter}", data)


# --- Who sees what ----------------------------------------------------------------------------

def test_a_leader_sees_every_team_against_its_committed_effort_and_may_edit(client, leader,
                                                                             teams):
    claims, support = teams
    client.force_login(leader)

    response = client.get(URL, {"quarter": NEXT})

    body = response.content.decode()
    assert response.status_code == 200
    form = response.context["form"]
    assert [(row.team.name, row.capacity, row.committed, row.previous)
            for row, _ in response.context["rows"]] == [
        ("Claims", Decimal(35), Decimal(30), Decimal(40)),
        ("Support", None, Decimal(12), None)]
    assert form[f"team-{claims.pk}"].value() == "35"
    assert form[f"team-{support.pk}"].value() is None
    assert "Save plans for 2027-Q1" in body
    assert 'aria-current="page">2027-Q1' in body


def test_this_quarter_is_the_default_and_shows_by_how_much_a_team_is_over(client, leader,
                                                                          teams):
    claims, _ = teams
    plan(claims, 25, year=2026, quarter=4)
    client.force_login(leader)

    body = client.get(URL).content.decode()

    assert "<h2 id=\"plans-heading\">2026-Q4</h2>" in body
    assert "5 over" in body  # 30 committed against 25


@pytest.mark.parametrize("persona", ["pm", "reviewer", "tpm"])
def test_other_readers_see_the_plans_read_only_and_cannot_post(client, request, persona,
                                                               teams):
    claims, _ = teams
    client.force_login(request.getfixturevalue(persona))

    shown = client.get(URL, {"quarter": NEXT})
    refused = post(client, teams, claims="1")

    assert shown.status_code == 200
    assert "Save plans for" not in shown.content.decode()
    assert "Leadership and admins change these plans" in shown.content.decode()
    assert refused.status_code == 403
    assert weeks_of(claims) == 35


def test_outsiders_get_404_and_change_nothing(client, outsider, teams):
    claims, _ = teams
    client.force_login(outsider)

    assert client.get(URL).status_code == 404
    assert post(client, teams, claims="1").status_code == 404
    assert weeks_of(claims) == 35


def test_signed_out_visitors_are_sent_to_sign_in(client, teams):
    assert client.get(URL).status_code in (302, 404)
    assert weeks_of(teams[0]) == 35


def test_admins_with_the_admins_permission_edit_and_staff_without_it_only_read(
        client, any_admin, teams):
    claims, _ = teams
    reader = UserFactory(username="plain-staff", is_staff=True, permissions=[ADMIN_READS])

    client.force_login(reader)
    assert "Save plans for" not in client.get(URL).content.decode()
    assert post(client, teams, claims="1").status_code == 403
    client.force_login(any_admin)
    assert post(client, teams, claims="36").status_code == 302

    assert weeks_of(claims) == 36


# --- Saving -----------------------------------------------------------------------------------

def test_saving_changes_every_row_through_the_service_and_records_who(client, leader, teams):
    claims, support = teams
    client.force_login(leader)

    response = post(client, teams, claims="37.5", support="20")
    page = client.get(response["Location"]).content.decode()

    assert response.status_code == 302
    assert response["Location"] == f"{URL}?quarter={NEXT}"
    assert "Capacity plans for 2027-Q1 saved (2 changed)." in page
    assert (weeks_of(claims), weeks_of(support)) == (Decimal("37.5"), Decimal(20))
    latest = CapacityPlan.objects.get(team=support, year=2027, quarter=1).history.latest()
    assert (latest.history_user, latest.history_date) == (leader, FIXED_NOW)
    assert weeks_of(claims, year=2026, quarter=4) == 40  # another quarter is untouched


def test_saving_the_same_numbers_changes_nothing(client, leader, teams):
    claims, _ = teams
    client.force_login(leader)

    response = post(client, teams)

    assert "Nothing changed" in client.get(response["Location"]).content.decode()
    assert CapacityPlan.objects.get(team=claims, year=2027, quarter=1).history.count() == 1


@pytest.mark.parametrize(("value", "error"), [
    ("-1", "Engineer-weeks cannot be negative."),
    ("forty", "Engineer-weeks must be a number with at most one decimal place."),
    ("12.25", "Engineer-weeks must be a number with at most one decimal place."),
])
def test_a_bad_row_is_refused_on_its_field_and_nothing_is_saved(client, leader, teams, value,
                                                                 error):
    claims, support = teams
    client.force_login(leader)

    response = post(client, teams, claims="50", support=value)

    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors == {f"team-{support.pk}": [error]}
    assert error in response.content.decode()
    assert "Nothing was saved" in response.content.decode()
    assert (weeks_of(claims), weeks_of(support)) == (35, None)  # the good row neither


def test_every_bad_row_says_what_is_wrong_with_it(client, leader, teams):
    claims, support = teams
    client.force_login(leader)

    response = post(client, teams, claims="-3", support="1,5")

    assert set(response.context["form"].errors) == {f"team-{claims.pk}", f"team-{support.pk}"}


def test_a_planned_team_cannot_be_left_empty_and_the_rows_before_it_are_not_saved(
        client, leader, teams):
    claims, support = teams
    plan(support, 10, year=2027, quarter=1)
    client.force_login(leader)

    response = post(client, teams, claims="36", support="")

    assert response.status_code == 400
    assert "enter 0 for no capacity" in response.context["form"].errors[f"team-{support.pk}"][0]
    assert (weeks_of(claims), weeks_of(support)) == (35, 10)


@pytest.mark.parametrize("quarter", ["2026-Q3", "2027-Q4", "next", "2027-Q9"])
def test_a_quarter_outside_the_plan_is_named_and_this_quarter_shown(client, leader, teams,
                                                                    quarter):
    client.force_login(leader)

    shown = client.get(URL, {"quarter": quarter})
    refused = post(client, teams, quarter=quarter, claims="1")

    assert shown.status_code == 200
    assert shown.context["label"] == "2026-Q4"
    assert shown.context["quarter_error"]
    assert refused.status_code == 400
    assert weeks_of(teams[0], year=2026, quarter=4) == 40


def test_copying_the_quarter_before_fills_the_form_and_saves_nothing(client, leader, teams):
    claims, support = teams
    plan(support, 18, year=2026, quarter=4)
    client.force_login(leader)

    response = client.get(URL, {"quarter": NEXT, "copy": "previous"})

    form = response.context["form"]
    assert (form[f"team-{claims.pk}"].value(), form[f"team-{support.pk}"].value()) == (
        "40", "18")
    assert "nothing is saved until you save" in response.content.decode()
    assert (weeks_of(claims), weeks_of(support)) == (35, None)


# --- Cost -------------------------------------------------------------------------------------


def test_the_page_costs_the_same_queries_whatever_the_number_of_teams(
        client, leader, teams, django_assert_num_queries):
    client.force_login(leader)
    client.get(URL)  # warm the session and content-type caches
    # The session (1), the user with their roles (1), the teams counted (1), the page's
    # teams with their plans, the quarter before's and their committed effort (1).
    with django_assert_num_queries(4):
        client.get(URL, {"quarter": NEXT})
    for n in range(10):
        team = TeamFactory(name=f"Team {n}", slug=f"team-{n}")
        plan(team, n, year=2027, quarter=1)
        InitiativeFactory(team=team, stage=Stage.PILOT, effort_weeks=Decimal(n + 1))

    with django_assert_num_queries(4):
        client.get(URL, {"quarter": NEXT})

