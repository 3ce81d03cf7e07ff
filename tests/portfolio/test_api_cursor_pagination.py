"""API v1 lists page by cursor (``portfolio.api.pagination.KeysetPagination``): every row
exactly once in every order, stable while rows are inserted, opaque and tamper-proof
cursors, counts that say whether they are exact, ``?page=`` as a deprecated alias, and
rows built from plain columns with the serializer's JSON."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from portfolio.api import pagination
from portfolio.api.pagination import KeysetPagination
from portfolio.api.serializers import InitiativeListSerializer
from portfolio.models import Initiative
from portfolio.selectors import SORTS
from tests.clients import client_for
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/initiatives/"


@pytest.fixture
def portfolio():
    """Initiatives with ties in every sort key (same team, owner name, stage, health, time,
    title), so only the id tells some of them apart."""
    teams = [TeamFactory(name="Claims", slug="claims"), TeamFactory(name="Billing",
                                                                      slug="billing")]
    owners = [UserFactory(username="zed", first_name="Zoe", last_name="Adams", roles=["pm"]),
              UserFactory(username="amy", first_name="Amy", last_name="Adams", roles=["pm"]),
              UserFactory(username="bob", first_name="", last_name="", roles=["pm"],
                          is_active=False)]
    rows = []
    for n in range(23):
        rows.append(InitiativeFactory(
            title=f"Initiative {n % 5}", team=teams[n % 2], owner=owners[n % 3],
            stage=["idea", "assessment", "pilot"][n % 3],
            health=["on_track", "at_risk"][n % 2],
            last_activity_at=FIXED_NOW - timedelta(days=n % 4)))
    return rows


def walk(client, url, params=None):
    """Every page from ``url`` by following ``next``; the pages' ids, and the last body."""
    pages, body = [], client.get(url, params or {}).json()
    pages.append([row["id"] for row in body["results"]])
    while body["next"]:
        body = client.get(body["next"]).json()
        pages.append([row["id"] for row in body["results"]])
    return pages, body


@pytest.mark.parametrize("sort", list(SORTS))
def test_every_sort_walks_every_initiative_exactly_once_in_its_order(leader, portfolio, sort):
    client = client_for(leader)

    pages, _ = walk(client, LIST, {"sort": sort, "page_size": 4})

    walked = [pk for page in pages for pk in page]
    expected = list(Initiative.objects.order_by(*SORTS[sort][1]).values_list("id", flat=True))
    assert walked == expected
    assert all(len(page) == 4 for page in pages[:-1])


def test_a_cursor_column_the_rows_hold_is_selected_once(leader, portfolio):
    # The default order is (last activity, id): both among the row's columns.
    with CaptureQueriesContext(connection) as queries:
        pages, _ = walk(client_for(leader), LIST, {"page_size": 10})

    listed = [query["sql"] for query in queries.captured_queries
              if 'FROM "portfolio_initiative"' in query["sql"] and "LIMIT" in query["sql"]]
    assert len(pages) == 3
    assert listed
    for sql in listed:
        columns = sql.split(" FROM ")[0]  # what the page selects, before its count
        assert columns.count('"portfolio_initiative"."last_activity_at"') == 1
        assert "cursor_key" not in sql


@pytest.mark.parametrize("sort", list(SORTS))
def test_previous_walks_back_through_the_same_pages(leader, portfolio, sort):
    client = client_for(leader)
    forward, last = walk(client, LIST, {"sort": sort, "page_size": 5})

    backward, body = [], last
    while body["previous"]:
        body = client.get(body["previous"]).json()
        backward.append([row["id"] for row in body["results"]])

    assert backward == forward[-2::-1]
    assert body["previous"] is None  # back on the first page


def test_a_row_inserted_before_the_cursor_is_neither_repeated_nor_skipping_one(leader,
                                                                                portfolio):
    client = client_for(leader)
    first = client.get(LIST, {"page_size": 10}).json()
    seen = [row["id"] for row in first["results"]]

    newest = InitiativeFactory(last_activity_at=FIXED_NOW + timedelta(days=1))  # sorts first
    oldest = InitiativeFactory(last_activity_at=FIXED_NOW - timedelta(days=30))  # sorts last
    rest, _ = walk(client, first["next"])

    walked = seen + [pk for page in rest for pk in page]
    assert newest.pk not in walked
    assert sorted(walked) == sorted([row.pk for row in portfolio] + [oldest.pk])


def _request(query):
    return Request(APIRequestFactory().get(LIST, query))


def _query(url, name):
    if url is None:
        return None
    return parse_qs(urlsplit(url).query).get(name, [None])[0]


def _pages(queryset, *, link: str, cursor=None):
    """Follow ``link`` ("next" or "previous") from ``cursor``: each page's ids."""
    pages = []
    while True:
        paginator = KeysetPagination()
        query = {"page_size": 3} if cursor is None else {"page_size": 3, "cursor": cursor}
        pages.append([row.pk for row in paginator.paginate_queryset(queryset, _request(query))])
        cursor = _query(getattr(paginator, link), "cursor")
        if cursor is None:
            return pages, paginator


def test_nulls_and_descending_terms_page_like_the_full_order():
    """An order over a nullable column (the sponsor's name: NULL without one), ascending
    and descending, with ties: NULLs sort as the largest value on every database, and the
    pages forward and back are the full order's."""
    sponsors = [UserFactory(username=name) for name in ("ann", "ben")]
    for n in range(13):
        InitiativeFactory(sponsor=None if n % 3 == 0 else sponsors[n % 2],
                          last_activity_at=FIXED_NOW - timedelta(days=n % 2))
    orders = {
        ("sponsor__username", "id"): [F("sponsor__username").asc(nulls_last=True), "id"],
        ("-sponsor__username", "-id"): [F("sponsor__username").desc(nulls_first=True), "-id"],
        ("sponsor__username", "-last_activity_at", "id"): [
            F("sponsor__username").asc(nulls_last=True), "-last_activity_at", "id"],
        ("-sponsor__username", "last_activity_at", "-id"): [
            F("sponsor__username").desc(nulls_first=True), "last_activity_at", "-id"],
    }
    for order, full_order in orders.items():
        queryset = Initiative.objects.order_by(*order)
        expected = list(Initiative.objects.order_by(*full_order).values_list("id", flat=True))

        forward, last = _pages(queryset, link="next")
        backward, _ = _pages(queryset, link="previous",
                             cursor=_query(last.previous, "cursor"))

        assert [pk for page in forward for pk in page] == expected, order
        assert backward[::-1] == forward[:-1], order


@pytest.mark.parametrize("cursor", ["", "garbage", "eyJvIjoiMTIzIn0:1abc:def", "%00"])
def test_a_malformed_cursor_is_a_field_error(leader, portfolio, cursor):
    response = client_for(leader).get(LIST, {"cursor": cursor})

    assert response.status_code == 400
    assert set(response.json()) >= {"message", "code", "fields"}
    assert list(response.json()["fields"]) == ["cursor"]


def test_a_tampered_cursor_or_one_of_another_order_is_refused(leader, portfolio):
    client = client_for(leader)
    link = client.get(LIST, {"page_size": 4}).json()["next"]
    cursor = _query(link, "cursor")
    tampered = cursor[:-3] + ("aaa" if not cursor.endswith("aaa") else "bbb")

    assert client.get(LIST, {"cursor": tampered}).status_code == 400
    other_order = client.get(LIST, {"cursor": cursor, "sort": "title"})
    assert other_order.status_code == 400
    assert "cursor" in other_order.json()["fields"]
    assert client.get(LIST, {"cursor": cursor}).status_code == 200


def test_links_are_absolute_and_keep_the_filters(leader, portfolio):
    body = client_for(leader).get(LIST, {"team": "claims", "page_size": 2}).json()

    assert body["next"].startswith("http://testserver/api/v1/initiatives/?")
    assert "team=claims" in body["next"]
    assert body["previous"] is None


def test_a_small_list_has_an_exact_count(leader, portfolio):
    body = client_for(leader).get(LIST, {"page_size": 4}).json()

    assert body["count"] == 23
    assert body["count_exact"] is True


@pytest.mark.parametrize(("query", "matching"), [({}, 23), ({"team": "claims"}, 12)])
def test_past_the_exact_limit_the_count_is_an_estimate_and_says_so(leader, portfolio,
                                                                     monkeypatch, query,
                                                                     matching):
    """The whole list (the table's size as the planner reckons it) and a filtered one
    (the planner's estimate of its conditions)."""
    from django.db import connection

    monkeypatch.setattr(pagination, "EXACT_COUNT_UP_TO", 10)

    body = client_for(leader).get(LIST, query).json()

    if connection.vendor == "postgresql":
        assert body["count_exact"] is False
        assert body["count"] > 10  # the planner's estimate, never below what was counted
    else:  # SQLite (make run) counts
        assert (body["count"], body["count_exact"]) == (matching, True)
    assert len(body["results"]) == matching


def test_page_numbers_still_answer_as_a_deprecated_alias(leader, portfolio):
    client = client_for(leader)
    by_cursor, _ = walk(client, LIST, {"page_size": 5})

    second = client.get(LIST, {"page": 2, "page_size": 5})

    assert second.status_code == 200
    assert [row["id"] for row in second.json()["results"]] == by_cursor[1]
    assert second["Deprecation"].startswith("@")
    assert second["Sunset"]
    assert "cursor=" in second.json()["next"]
    assert "page=" not in second.json()["next"]
    following = client.get(second.json()["next"]).json()
    assert [row["id"] for row in following["results"]] == by_cursor[2]
    assert "Deprecation" not in client.get(LIST).headers


@pytest.mark.parametrize(("query", "status"), [
    ({"page": 99}, 404), ({"page": 0}, 404), ({"page": "two"}, 400),
    ({"page": "152187433086864559439872"}, 404),  # schemathesis: an OFFSET past bigint
    ({"page": 1, "cursor": "x"}, 400),
])
def test_a_page_past_the_end_or_beside_a_cursor_is_refused(leader, portfolio, query, status):
    response = client_for(leader).get(LIST, query)

    assert response.status_code == status
    assert "message" in response.json()


def test_the_plain_rows_are_the_serializer_json_field_for_field(leader, portfolio):
    """The list builds its JSON from ``.values()`` rows; InitiativeListSerializer over the
    same initiatives as model instances gives the same JSON (the inactive owner without a
    name, the owner with one, every stage and health)."""
    body = client_for(leader).get(LIST, {"page_size": 100}).json()

    instances = Initiative.objects.with_list_relations().order_by("-last_activity_at", "-id")
    assert body["results"] == InitiativeListSerializer(instances, many=True).data
    assert {row["owner"]["name"] for row in body["results"]} == {"Zoe Adams", "Amy Adams",
                                                                  "bob"}
