"""API v1, initiatives and teams: the browser's rules and permissions, one error shape,
optimistic locking with ETag / If-Match, capped pages and bounded queries."""

import decimal
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers

from portfolio.api.common import NUL_REFUSED, filter_values, plain_data, valid_query
from portfolio.api.serializers import InitiativeListSerializer, TeamRefSerializer
from portfolio.forms import InitiativeFilterForm
from portfolio.models import Initiative, Stage, Update
from tests.clients import client_for
from tests.factories import InitiativeFactory, TeamFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/initiatives/"


def detail(initiative):
    return f"/api/v1/initiatives/{initiative.pk}/"


@pytest.fixture
def owned(pm):
    return InitiativeFactory(owner=pm, title="Claims triage assistant",
                             team=TeamFactory(slug="claims", name="Claims"))


def test_anonymous_requests_get_401_in_the_error_shape():
    response = client_for().get(LIST)

    assert response.status_code == 401
    assert set(response.json()) >= {"message", "code"}


def test_outsiders_get_404_for_lists_and_objects(outsider, owned):
    client = client_for(outsider)

    assert client.get(LIST).status_code == 404
    assert client.get(detail(owned)).status_code == 404
    assert client.get("/api/v1/teams/").status_code == 404


def test_every_role_reads_the_list_and_an_initiative_with_its_etag(leader, owned):
    client = client_for(leader)
    listed = client.get(LIST, {"team": "claims"})
    one = client.get(detail(owned))

    assert listed.status_code == 200
    assert [row["title"] for row in listed.json()["results"]] == ["Claims triage assistant"]
    assert one.status_code == 200
    assert one["ETag"] == f'"{owned.pk}-{owned.version}"'
    body = one.json()
    assert body["owner"]["username"] == "owner-pm"
    assert body["team"]["slug"] == "claims"
    assert body["stage_history"] == []


def test_a_bad_filter_is_a_field_error(leader):
    response = client_for(leader).get(LIST, {"stage": "nonsense"})

    assert response.status_code == 400
    assert "stage" in response.json()["fields"]


def test_a_pm_logs_an_initiative_and_owns_it(pm):
    team = TeamFactory(slug="payments")

    response = client_for(pm).post(LIST, {"title": "Fraud triage", "team": "payments",
                                          "risk_tier": "limited"}, format="json")

    assert response.status_code == 201
    created = Initiative.objects.get(title="Fraud triage")
    assert (created.owner, created.team, created.stage) == (pm, team, Stage.IDEA)
    assert response["Location"] == detail(created)
    assert response["ETag"] == f'"{created.pk}-1"'


def test_an_initiative_shows_its_checkpoints_and_its_score(pm, leader):
    TeamFactory(slug="payments")
    created = client_for(pm).post(LIST, {
        "title": "Fraud triage", "team": "payments", "risk_tier": "high",
        "uses_personal_data": True, "reach": 400, "impact": "2", "confidence": 50,
        "effort_weeks": "8"}, format="json")

    body = client_for(leader).get(created["Location"]).json()

    governance = body["governance"]
    assert governance["total"] == len(governance["checkpoints"]) > 0
    assert governance["cleared"] == 0
    assert governance["next_stage"] == "assessment"
    assessment = [c for c in governance["checkpoints"] if c["type"]["required_for"] == "assessment"]
    assert assessment
    assert {c["status"] for c in assessment} == {"not_started"}
    assert governance["next_stage_blockers"]  # the gate names what blocks the next move
    score = body["score"]
    assert score["scoring_model"]["method"] == "rice"
    assert score["score"] == pytest.approx(400 * 2 * 0.5 / 8)
    assert {f["key"] for f in score["breakdown"]["factors"]} >= {"reach", "effort_weeks"}


def test_an_unscorable_initiative_says_what_is_missing(leader, owned):
    score = client_for(leader).get(detail(owned)).json()["score"]

    assert score["score"] is None
    assert score["breakdown"]["scorable"] is False
    assert score["breakdown"]["missing"]


@pytest.mark.parametrize(("body", "field", "status"), [
    ({"team": "payments"}, "title", 400),
    ({"title": "X", "team": "payments", "risk_tier": "extreme"}, "risk_tier", 400),
    ({"title": "X" * 201, "team": "payments"}, "title", 400),
    ({"title": "X", "team": "payments", "effort_weeks": "0.25"}, "effort_weeks", 400),
    ({"title": "X", "team": "payments", "effort_weeks": 8}, "effort_weeks", 400),  # text only
    ({"title": "X", "team": "payments", "business_value": 11}, "business_value", 400),
    ({"title": "X", "team": "payments", "impact": "0.3"}, "impact", 400),
    ({"title": "X", "team": "payments", "impact": 2}, "impact", 400),  # text, as it reads
    # Well-formed, but naming nothing: 404, as for an unknown id.
    ({"title": "X", "team": "nowhere"}, "team", 404),
    ({"title": "X", "team": "payments", "owner": "nobody-here"}, "owner", 404),
])
def test_bad_input_is_a_field_error_and_creates_nothing(pm, body, field, status):
    TeamFactory(slug="payments")

    response = client_for(pm).post(LIST, body, format="json")

    assert response.status_code == status
    assert field in response.json()["fields"]
    assert not Initiative.objects.exists()


@pytest.mark.parametrize("slug", [r"pay\u0000ments", r"pay\udc00ments"])  # JSON escapes
def test_a_slug_no_row_can_hold_names_nothing(pm, slug):
    TeamFactory(slug="payments")

    body = '{"title": "X", "team": "' + slug + '"}'
    response = client_for(pm).post(LIST, body, content_type="application/json")

    assert (response.status_code, list(response.json()["fields"])) == (404, ["team"])
    assert not Initiative.objects.exists()


def test_a_filter_naming_nobody_is_a_404_and_a_nul_is_a_400(leader):
    client = client_for(leader)

    unknown = client.get(LIST, {"owner": "nobody-here"})
    nul = client.get(LIST, {"q": "a\x00b"})

    assert (unknown.status_code, list(unknown.json()["fields"])) == (404, ["owner"])
    assert (nul.status_code, list(nul.json()["fields"])) == (400, ["q"])


def test_a_nul_in_any_parameter_is_a_400_naming_it(leader):
    # Not only in a filter: the list's first check refuses it before the cursor is read.
    response = client_for(leader).get(LIST, {"cursor": "a\x00b"})

    assert (response.status_code, response.json()["fields"]) == (
        400, {"cursor": [NUL_REFUSED]})


@pytest.mark.parametrize("query", ["", "cursor=abc&page_size=3", "page=2", "unknown=1"])
def test_a_query_naming_no_filter_has_the_empty_forms_filters(query):
    expected = valid_query(InitiativeFilterForm(QueryDict(query)))

    first = filter_values(InitiativeFilterForm, QueryDict(query))
    first["stage"] = "pilot"  # each caller gets its own copy

    assert first != expected
    assert filter_values(InitiativeFilterForm, QueryDict(query)) == expected


class _PlainRow(serializers.Serializer):
    title = serializers.CharField()
    weeks = serializers.DecimalField(max_digits=6, decimal_places=1, allow_null=True)
    team = TeamRefSerializer(allow_null=True)
    stage = serializers.ChoiceField(choices=Stage.choices)


def test_plain_data_is_the_serializers_json_field_for_field(owned):
    rows = [{"title": "A", "weeks": Decimal("2.25"), "team": owned.team, "stage": "pilot"},
            {"title": 7, "weeks": None, "team": None, "stage": Stage.IDEA}]

    plain = plain_data(_PlainRow, rows)

    assert json.dumps(plain) == json.dumps(_PlainRow(rows, many=True).data)
    assert plain[0] == {"title": "A", "weeks": "2.2", "stage": "pilot",
                        "team": {"slug": "claims", "name": "Claims"}}


@pytest.mark.parametrize("weeks", [
    Decimal("2.5"), Decimal("2.50"), Decimal("2"), Decimal("-0.0"), Decimal("0.0"),
    Decimal("12345.6"), Decimal("1E+1"), 3, 2.35, "4.45", Decimal("2.25"),
])
def test_plain_data_writes_each_decimal_as_the_serializer_does(weeks):
    rows = [{"title": "A", "weeks": weeks, "team": None, "stage": "pilot"}]

    assert plain_data(_PlainRow, rows) == _PlainRow(rows, many=True).data


def test_plain_data_refuses_a_decimal_too_long_for_its_field_as_the_serializer_does():
    rows = [{"title": "A", "weeks": Decimal("1234567.8"), "team": None, "stage": "pilot"}]

    with pytest.raises(decimal.InvalidOperation):
        _PlainRow(rows, many=True).data  # noqa: B018 (the serializer's own refusal)
    with pytest.raises(decimal.InvalidOperation):
        plain_data(_PlainRow, rows)


def test_plain_data_refuses_a_method_field():
    with pytest.raises(ImproperlyConfigured, match="not a plain field"):
        plain_data(InitiativeListSerializer, [])


def test_read_only_roles_cannot_log_initiatives(leader, reviewer, tpm):
    TeamFactory(slug="payments")
    for user in (leader, reviewer, tpm):
        response = client_for(user).post(LIST, {"title": "X", "team": "payments"},
                                         format="json")
        assert response.status_code == 403
    assert not Initiative.objects.exists()


def test_an_update_needs_if_match_and_a_stale_one_overwrites_nothing(pm, owned):
    client = client_for(pm)
    etag = client.get(detail(owned))["ETag"]

    missing = client.patch(detail(owned), {"title": "Renamed"}, format="json")
    ok = client.patch(detail(owned), {"title": "Renamed"}, format="json", HTTP_IF_MATCH=etag)
    stale = client.patch(detail(owned), {"title": "Overwritten"}, format="json",
                         HTTP_IF_MATCH=etag)

    assert missing.status_code == 428
    assert ok.status_code == 200
    assert ok["ETag"] == f'"{owned.pk}-2"'
    assert stale.status_code == 412
    assert stale.json()["code"] == "precondition_failed"
    owned.refresh_from_db()
    assert (owned.title, owned.version) == ("Renamed", 2)


def test_only_the_initiatives_editors_change_it(other_pm, leader, owned):
    etag = f'"{owned.pk}-{owned.version}"'
    for user in (other_pm, leader):
        response = client_for(user).patch(detail(owned), {"title": "Hijacked"}, format="json",
                                          HTTP_IF_MATCH=etag)
        assert response.status_code == 403
    owned.refresh_from_db()
    assert owned.title == "Claims triage assistant"


def test_a_move_blocked_by_the_gate_says_what_blocks_it_and_moves_nothing(pm, owned):
    client = client_for(pm)
    etag = client.get(detail(owned))["ETag"]
    assert client.post(f"{detail(owned)}move/", {"to_stage": "assessment"}, format="json",
                       HTTP_IF_MATCH=etag).status_code == 201
    etag = client.get(detail(owned))["ETag"]

    blocked = client.post(f"{detail(owned)}move/", {"to_stage": "pilot"}, format="json",
                          HTTP_IF_MATCH=etag)

    assert blocked.status_code == 409
    body = blocked.json()
    assert body["code"] == "refused"
    assert body["message"].startswith("Cannot enter Pilot yet")
    assert "to_stage" in body["fields"]
    owned.refresh_from_db()
    assert owned.stage == Stage.ASSESSMENT


def test_a_move_needs_if_match_too(pm, owned):
    response = client_for(pm).post(f"{detail(owned)}move/", {"to_stage": "assessment"},
                                   format="json")

    assert response.status_code == 428
    owned.refresh_from_db()
    assert owned.stage == Stage.IDEA


def test_the_owner_posts_updates_and_everyone_reads_them(pm, leader, owned):
    posted = client_for(pm).post(f"{detail(owned)}updates/",
                                 {"body": "Vendor contract signed.", "health": "at_risk"},
                                 format="json")
    refused = client_for(leader).post(f"{detail(owned)}updates/",
                                      {"body": "Not mine.", "health": "on_track"},
                                      format="json")
    read = client_for(leader).get(f"{detail(owned)}updates/")

    assert posted.status_code == 201
    assert refused.status_code == 403
    assert [u["body"] for u in read.json()["results"]] == ["Vendor contract signed."]
    assert Update.objects.count() == 1


@pytest.mark.parametrize(("content_type", "body", "status"), [
    ("application/json", b"{not json", 400),
    ("text/plain", b"title=X", 415),
    ("application/json", json.dumps({"title": "X" * 3_000_000}).encode(), 413),
])
def test_malformed_unsupported_or_oversized_bodies_are_refused_cleanly(pm, content_type, body,
                                                                       status):
    response = client_for(pm).generic("POST", LIST, body, content_type=content_type)

    assert response.status_code == status
    assert "message" in response.json()
    assert not Initiative.objects.exists()


def test_page_size_is_capped(leader, monkeypatch):
    from portfolio.api.pagination import KeysetPagination

    monkeypatch.setattr(KeysetPagination, "max_page_size", 3)  # API_MAX_PAGE_SIZE, made small
    InitiativeFactory.create_batch(5, team=TeamFactory())

    response = client_for(leader).get(LIST, {"page_size": 100000})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 3
    assert response.json()["count"] == 5


def test_list_queries_do_not_grow_with_the_page(leader):
    team = TeamFactory()

    client = client_for(leader)
    client.get(LIST)  # the viewer's roles are read once per request user, then cached

    def queries_for(count):
        InitiativeFactory.create_batch(count, team=team)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST, {"page_size": 100}).status_code == 200
        return len(captured)

    # PostgreSQL: one, the page with its count (at most 1,001 rows counted, the table's
    # size as the planner reckons it: KeysetPagination); elsewhere the count and the page.
    assert queries_for(3) == queries_for(40) == (1 if connection.vendor == "postgresql" else 2)


def test_team_and_update_lists_read_a_fixed_number_of_queries(leader, pm, owned):
    client = client_for(leader)
    updates = f"{detail(owned)}updates/"
    client.get(LIST)  # the viewer's roles are read once per request user, then cached

    def queries_for(count):
        TeamFactory.create_batch(count)
        Update.objects.bulk_create([Update(initiative=owned, author=pm, body=f"Week {n}",
                                           health="on_track", created_at=owned.created_at)
                                    for n in range(count)])
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/teams/", {"page_size": 100}).status_code == 200
            assert client.get(updates, {"page_size": 100}).status_code == 200
        return len(captured)

    # On PostgreSQL, teams: the page, its count in the same query (at most 1,001 rows
    # counted, the table's size as the planner reckons it); updates: the initiative, the
    # page with its count, the planner's estimate of the filtered list. Elsewhere, teams:
    # the count and the page; updates: the initiative, the count and the page.
    assert queries_for(3) == queries_for(40) == (4 if connection.vendor == "postgresql" else 5)


def test_teams_are_listed_for_every_role(leader):
    TeamFactory(slug="claims", name="Claims")

    response = client_for(leader).get("/api/v1/teams/")

    assert response.status_code == 200
    assert [team["slug"] for team in response.json()["results"]] == ["claims"]


def test_the_schema_and_swagger_ui_are_served_without_a_cdn(leader):
    client = client_for()
    client.force_login(leader)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    assert "/api/v1/initiatives/{id}/move/" in paths
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


def test_a_personal_token_authenticates_until_it_is_revoked(leader):
    from django.utils import timezone

    from portfolio.tokens import api_token_create, api_token_revoke

    token, key = api_token_create(user=leader, name="laptop", now=timezone.now())
    client = client_for()

    assert client.get(LIST, HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    api_token_revoke(token=token, actor=leader, now=timezone.now())
    refused = client.get(LIST, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"].startswith("Bearer")


def test_a_session_write_without_its_csrf_token_is_refused(pm):
    TeamFactory(slug="payments")
    client = client_for(enforce_csrf_checks=True)
    client.force_login(pm)

    response = client.post(LIST, {"title": "X", "team": "payments"}, format="json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]
    assert not Initiative.objects.exists()


def test_the_schema_generates_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file",
                 str(tmp_path / "schema.yaml"))

    assert "/api/v1/initiatives/{id}/updates/" in (tmp_path / "schema.yaml").read_text()


def test_the_schema_says_what_the_server_refuses(tmp_path):
    import re

    from django.core.management import call_command

    call_command("spectacular", "--format", "openapi-json", "--file", str(tmp_path / "s.json"))
    schema = json.loads((tmp_path / "s.json").read_text())
    write = schema["components"]["schemas"]["InitiativeWriteRequest"]["properties"]
    filters = {p["name"]: p["schema"] for p in schema["paths"][LIST]["get"]["parameters"]}

    def allows(field_schema, text):
        return re.search(field_schema["pattern"], text) is not None

    assert not allows(write["title"], "   ")  # required text is not blank
    assert not allows(write["summary"], "a\x00b")  # no text holds a NUL
    assert allows(write["summary"], "")
    assert not allows(write["effort_weeks"], "0.25")  # the form's bounds
    assert allows(write["effort_weeks"], "99999.9")
    assert "" in filters["stage"]["enum"]  # empty means any
    assert filters["page"] == {"type": "integer", "minimum": 1}


@pytest.mark.parametrize("pk", ["abc", "-1", "99999999999999999999999", "1.5"])
def test_an_id_that_is_not_one_is_a_404_not_a_server_error(leader, pk):
    response = client_for(leader).get(f"/api/v1/initiatives/{pk}/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(("param", "value"), [
    ("page_size", "abc"), ("page_size", "0"), ("page_size", "-5"), ("page_size", "1.5"),
    ("page_size", ""), ("page", ""), ("page", "two"), ("page", "-1"),
])
def test_a_page_or_size_that_is_not_a_whole_number_is_a_field_error(leader, param, value):
    response = client_for(leader).get(LIST, {param: value})

    assert response.status_code == 400
    assert param in response.json()["fields"]


def test_empty_filters_mean_any_as_the_schema_says(leader, owned):
    response = client_for(leader).get(LIST, {"stage": "", "category": "", "team": ""})

    assert [row["id"] for row in response.json()["results"]] == [owned.pk]
