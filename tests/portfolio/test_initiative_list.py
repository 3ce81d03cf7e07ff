import factory
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance.services import checkpoints_sync
from portfolio import selectors
from portfolio.models import Initiative, Stakeholder
from portfolio.selectors import SORTS
from tests.clients import client_for
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory

LIST_URL = "/initiatives/"


@pytest.mark.django_db
def test_signed_in_pm_sees_title_team_owner_stage_and_health(client, pm):
    team = TeamFactory(name="Claims Operations", slug="claims-ops")
    InitiativeFactory(title="Claims triage copilot", team=team, owner=pm, stage="pilot",
                      health="at_risk")
    client.force_login(pm)

    response = client.get(LIST_URL)

    assert response.status_code == 200
    row = response.content.decode()
    for text in ("Claims triage copilot", "Claims Operations", "Olive Owner", "Pilot", "At risk"):
        assert text in row


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["reviewer", "tpm", "leader", "other_pm"])
def test_every_role_reads_the_whole_portfolio(client, request, persona):
    InitiativeFactory(title="Agentic invoice matching")
    client.force_login(request.getfixturevalue(persona))

    response = client.get(LIST_URL)

    assert response.status_code == 200
    assert "Agentic invoice matching" in response.content.decode()


@pytest.mark.django_db
def test_user_without_a_role_gets_not_found(client, outsider):
    InitiativeFactory(title="Secret roadmap item")
    client.force_login(outsider)

    response = client.get(LIST_URL)

    assert response.status_code == 404
    assert "Secret roadmap item" not in response.content.decode()


@pytest.mark.django_db
def test_mine_shows_only_the_pms_own_initiatives(client, pm, other_pm):
    InitiativeFactory(title="Mine", owner=pm)
    InitiativeFactory(title="Theirs", owner=other_pm)
    client.force_login(pm)

    body = client.get(LIST_URL, {"owner": "me"}).content.decode()

    assert "Mine" in body
    assert "Theirs" not in body


def mine_rows(response) -> dict[str, str]:
    return {row.title: row.my_role for row in response.context["page"].object_list}


@pytest.mark.django_db
def test_my_initiatives_include_those_i_am_responsible_for_and_say_which(client, pm, other_pm):
    InitiativeFactory(title="Owned copilot", owner=pm)
    helping = InitiativeFactory(title="Helping agent", owner=other_pm)
    Stakeholder.objects.create(initiative=helping, user=pm, role=Stakeholder.Role.RESPONSIBLE)
    consulted = InitiativeFactory(title="Consulted bot", owner=other_pm)
    Stakeholder.objects.create(initiative=consulted, user=pm, role=Stakeholder.Role.CONSULTED)
    InitiativeFactory(title="Someone else's", owner=other_pm)
    client.force_login(pm)

    response = client.get(LIST_URL, {"mine": "true"})

    assert mine_rows(response) == {"Owned copilot": "owner", "Helping agent": "responsible"}
    body = response.content.decode()
    assert "<h1>My initiatives</h1>" in body
    assert "you own it</span>" in body
    assert "you're Responsible</span>" in body
    assert "No initiative matches" not in body


@pytest.mark.django_db
def test_a_pm_only_responsible_sees_their_initiative_not_an_empty_list(client, pm, other_pm):
    helping = InitiativeFactory(title="Helping agent", owner=other_pm)
    Stakeholder.objects.create(initiative=helping, user=pm, role=Stakeholder.Role.RESPONSIBLE)
    client.force_login(pm)

    landing = client.get("/")
    response = client.get(landing["Location"])

    assert mine_rows(response) == {"Helping agent": "responsible"}


@pytest.mark.django_db
def test_the_api_filters_mine_the_same_way(pm, other_pm):
    InitiativeFactory(title="Owned copilot", owner=pm)
    helping = InitiativeFactory(title="Helping agent", owner=other_pm)
    Stakeholder.objects.create(initiative=helping, user=pm, role=Stakeholder.Role.RESPONSIBLE)
    InitiativeFactory(title="Someone else's", owner=other_pm)

    body = client_for(pm).get("/api/v1/initiatives/", {"mine": "true"}).json()

    assert sorted(row["title"] for row in body["results"]) == ["Helping agent", "Owned copilot"]


@pytest.mark.django_db
def test_nothing_of_mine_says_what_to_do_next(client, pm, other_pm):
    InitiativeFactory(title="Someone else's", owner=other_pm)
    client.force_login(pm)

    body = client.get(LIST_URL, {"mine": "true"}).content.decode()

    assert "You own no initiative and are Responsible for none yet." in body
    assert f'href="{reverse("portfolio:initiative-create")}"' in body
    assert "No initiative matches" not in body


@pytest.mark.django_db
@pytest.mark.parametrize("count", [3, 60])
def test_my_initiatives_query_count_does_not_grow_with_the_portfolio(
    client, pm, django_assert_num_queries, count, settings
):
    settings.PAGE_SIZE = 50
    team = TeamFactory()
    for index in range(count):
        initiative = InitiativeFactory(team=team, **({"owner": pm} if index % 2 else {}))
        if not index % 2:
            Stakeholder.objects.create(initiative=initiative, user=pm,
                                       role=Stakeholder.Role.RESPONSIBLE)
    client.force_login(pm)

    # As the whole list (test_list_query_count_does_not_grow_with_the_portfolio): "mine"
    # and each row's role are subqueries of the queries it already makes.
    with django_assert_num_queries(6):
        response = client.get(LIST_URL, {"mine": "true"})

    assert len(response.context["page"].object_list) == min(count, 50)
    assert set(mine_rows(response).values()) == {"owner", "responsible"}


@pytest.mark.django_db
def test_deactivated_owner_is_shown_as_an_ownership_gap(client, pm, other_pm):
    other_pm.is_active = False
    other_pm.save()
    InitiativeFactory(title="Orphaned pilot", owner=other_pm)
    client.force_login(pm)

    body = client.get(LIST_URL).content.decode()

    assert "ownership gap" in body


@pytest.mark.django_db
def test_list_is_paginated_by_page_size(client, pm, settings):
    settings.PAGE_SIZE = 5
    team = TeamFactory()
    InitiativeFactory.create_batch(12, team=team, owner=pm)
    client.force_login(pm)

    first = client.get(LIST_URL)
    last = client.get(LIST_URL, {"page": 3})

    assert len(first.context["page"].object_list) == 5
    assert "Page 1 of 3" in first.content.decode()
    assert len(last.context["page"].object_list) == 2


@pytest.mark.django_db
def test_out_of_range_page_shows_the_last_page(client, pm, settings):
    settings.PAGE_SIZE = 5
    InitiativeFactory.create_batch(6, owner=pm)
    client.force_login(pm)

    response = client.get(LIST_URL, {"page": "999"})

    assert response.status_code == 200
    assert response.context["page"].number == 2


@pytest.mark.django_db
@pytest.mark.parametrize("count", [3, 60])
def test_list_query_count_does_not_grow_with_the_portfolio(
    client, pm, django_assert_num_queries, count, settings
):
    settings.PAGE_SIZE = 50
    teams = TeamFactory.create_batch(4)
    for index in range(count):
        InitiativeFactory(team=teams[index % 4])
    client.force_login(pm)

    # session, user with groups (roles), counts per stage, COUNT(*) for
    # the paginator, one page of initiatives joined with team and owner (the page's
    # ids a subquery, its computed columns for those rows only), the team filter's
    # choices.
    with django_assert_num_queries(6):
        response = client.get(LIST_URL)

    assert response.status_code == 200
    assert len(response.context["page"].object_list) == min(count, 50)


@pytest.mark.django_db
def test_list_page_and_api_list_read_as_many_queries_for_3_as_for_60_initiatives(
    client, pm, settings
):
    settings.PAGE_SIZE = 50
    api = client_for(pm)
    api.get("/api/v1/initiatives/")  # the API viewer's roles are read once, then cached
    client.force_login(pm)
    teams = TeamFactory.create_batch(4)

    def queries_for(count):
        InitiativeFactory.create_batch(count - Initiative.objects.count(),
                                       team=factory.Iterator(teams))
        with CaptureQueriesContext(connection) as page:
            assert client.get(LIST_URL, {"page": 2 if count > 50 else 1}).status_code == 200
        with CaptureQueriesContext(connection) as api_list:
            assert api.get("/api/v1/initiatives/").status_code == 200
        return len(page), len(api_list), page.captured_queries, api_list.captured_queries

    few, many = queries_for(3), queries_for(60)

    assert few[:2] == many[:2]
    # The page: session, user with groups, counts per stage, the paginator's COUNT, the
    # page, the team filter's choices. The API (forced auth, roles cached): the page, which
    # carries its count (KeysetPagination).
    assert many[:2] == (6, 1)
    # The paginator counts the filtered rows alone: no join, no computed column.
    page_count = next(query["sql"] for query in many[2]
                      if "COUNT(*)" in query["sql"] and "GROUP BY" not in query["sql"])
    assert "JOIN" not in page_count
    # The API list serializes no computed column, so it computes none.
    api_sql = " ".join(query["sql"] for query in many[3])
    assert "governance_checkpoint" not in api_sql
    assert "portfolio_activity" not in api_sql


@pytest.fixture
def compliance_and_ownership_rows(pm, other_pm):
    """Four ideas and pilots by title; only the third is out of compliance and only the
    fourth has lost its owner. Two per page, they are both on page 2."""
    other_pm.is_active = False
    other_pm.save()
    team = TeamFactory(name="Claims", slug="claims")
    InitiativeFactory(title="Alpha intake bot", team=team, owner=pm, stage="idea")
    InitiativeFactory(title="Bravo summariser", team=team, owner=pm, stage="idea")
    pilot = InitiativeFactory(title="Charlie claims pilot", team=team, owner=pm,
                              stage="pilot", contracted=True)
    checkpoints_sync(initiatives=[pilot], actor=pm, now=FIXED_NOW)  # none approved
    Stakeholder.objects.create(initiative=pilot, user=pm, role="R")
    InitiativeFactory(title="Delta orphan", team=team, owner=other_pm, stage="idea")


def shown(response) -> list[tuple]:
    return [(row.title, row.out_of_compliance, row.owner_left, row.nobody_responsible)
            for row in response.context["page"].object_list]


@pytest.mark.django_db
def test_each_page_shows_the_badges_of_its_own_rows(client, leader, settings,
                                                    compliance_and_ownership_rows):
    settings.PAGE_SIZE = 2
    client.force_login(leader)

    first = client.get(LIST_URL, {"sort": "title"})
    second = client.get(LIST_URL, {"sort": "title", "page": 2})

    assert shown(first) == [("Alpha intake bot", False, False, False),
                            ("Bravo summariser", False, False, False)]
    assert shown(second) == [("Charlie claims pilot", True, False, False),
                             ("Delta orphan", False, True, False)]
    assert ">out of compliance</span>" not in first.content.decode()
    assert ">owner left</span>" not in first.content.decode()
    assert second.content.decode().count(">out of compliance</span>") == 1
    assert second.content.decode().count(">owner left</span>") == 1


@pytest.mark.django_db
def test_each_row_shows_what_its_own_page_shows(client, leader, settings,
                                                compliance_and_ownership_rows):
    settings.PAGE_SIZE = 2
    client.force_login(leader)

    rows = [row for number in (1, 2) for row in
            client.get(LIST_URL, {"sort": "owner", "page": number}).context["page"].object_list]

    for row in rows:
        alone, _ = selectors.initiative_get_for_user(user=leader, pk=row.pk)
        assert ((row.out_of_compliance, row.owner_left, row.owner_silent,
                 row.nobody_responsible) == (alone.out_of_compliance, alone.owner_left,
                                             alone.owner_silent, alone.nobody_responsible))


@pytest.mark.django_db
@pytest.mark.parametrize("sort", ["recent", "title", "team", "owner", "stage", "health"])
def test_paging_through_a_sort_shows_every_row_once_in_order(client, pm, portfolio_rows,
                                                             settings, sort):
    settings.PAGE_SIZE = 2
    client.force_login(pm)
    _, order = SORTS[sort]
    expected = list(Initiative.objects.order_by(*order).values_list("title", flat=True))

    paged = [*titles(client.get(LIST_URL, {"sort": sort})),
             *titles(client.get(LIST_URL, {"sort": sort, "page": 2}))]

    assert paged == expected


def test_list_url_name_is_namespaced():
    assert reverse("portfolio:initiative-list") == LIST_URL


@pytest.fixture
def portfolio_rows(pm, other_pm):
    claims = TeamFactory(name="Claims", slug="claims")
    finance = TeamFactory(name="Finance", slug="finance")
    InitiativeFactory(title="Claims triage copilot", summary="Route claims", team=claims,
                      owner=pm, stage="pilot", health="at_risk", category="internal_copilot")
    InitiativeFactory(title="Invoice matching agent", summary="Match invoices to POs",
                      team=finance, owner=other_pm, stage="pilot", health="on_track",
                      category="agentic_workflow")
    InitiativeFactory(title="Spend analytics", summary="Explain claims spend", team=finance,
                      owner=other_pm, stage="idea", health="blocked",
                      category="ai_analytics")


def titles(response) -> list[str]:
    return [initiative.title for initiative in response.context["page"].object_list]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "claims"}, ["Claims triage copilot", "Spend analytics"]),
        ({"team": "finance"}, ["Invoice matching agent", "Spend analytics"]),
        ({"category": "agentic_workflow"}, ["Invoice matching agent"]),
        ({"stage": "pilot", "health": "at_risk"}, ["Claims triage copilot"]),
        ({"owner": "other-pm"}, ["Invoice matching agent", "Spend analytics"]),
        ({"owner": "me"}, ["Claims triage copilot"]),
    ],
)
def test_search_and_filters_narrow_the_list(client, pm, portfolio_rows, query, expected):
    client.force_login(pm)

    response = client.get(LIST_URL, {**query, "sort": "title"})

    assert titles(response) == expected


@pytest.mark.django_db
def test_sorting_by_a_column(client, pm, portfolio_rows):
    client.force_login(pm)

    by_team = titles(client.get(LIST_URL, {"sort": "team"}))
    by_health = titles(client.get(LIST_URL, {"sort": "health"}))

    assert by_team[0] == "Claims triage copilot"
    assert by_health == ["Claims triage copilot", "Spend analytics", "Invoice matching agent"]


@pytest.mark.django_db
def test_counts_per_stage_follow_the_other_filters(client, pm, portfolio_rows):
    client.force_login(pm)

    response = client.get(LIST_URL, {"team": "finance", "stage": "pilot"})

    counts = {stage: count for stage, _, count in response.context["stage_counts"]}
    assert counts["pilot"] == 1
    assert counts["idea"] == 1
    assert counts["production"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"owner": "nobody-here"}, "owner", 'No user is called "nobody-here".'),
        ({"stage": "launched"}, "stage", "Select a valid choice."),
        ({"team": "no-such-team"}, "team", "Select a valid choice."),
        ({"sort": "budget"}, "sort", "Select a valid choice."),
    ],
)
def test_a_bad_filter_is_shown_on_its_field_and_ignored(client, pm, portfolio_rows, query,
                                                        field, message):
    client.force_login(pm)

    response = client.get(LIST_URL, query)

    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    assert len(titles(response)) == 3
