import pytest
from django.urls import reverse

from tests.factories import InitiativeFactory, TeamFactory

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
    client, pm, django_assert_max_num_queries, count, settings
):
    settings.PAGE_SIZE = 50
    teams = TeamFactory.create_batch(4)
    for index in range(count):
        InitiativeFactory(team=teams[index % 4])
    client.force_login(pm)

    # session, user, the user's groups (roles), counts per stage, COUNT(*) for
    # the paginator, one page of initiatives joined with team and owner, the
    # team filter's choices.
    with django_assert_max_num_queries(7):
        response = client.get(LIST_URL)

    assert response.status_code == 200


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
