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

    # session, user, the user's groups (roles), COUNT(*) for the paginator,
    # one page of initiatives joined with team and owner.
    with django_assert_max_num_queries(5):
        response = client.get(LIST_URL)

    assert response.status_code == 200


def test_list_url_name_is_namespaced():
    assert reverse("portfolio:initiative-list") == LIST_URL
