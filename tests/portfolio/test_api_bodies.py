"""API bodies a client can send that no endpoint accepts: nested too deeply, or too large.
Each is refused in the one error shape (never a 500, never Django's HTML page), in
production and with DEBUG on, and nothing changes."""

import json

import pytest

from portfolio.api.parsers import MAX_DEPTH
from portfolio.models import Initiative
from tests.clients import client_for
from tests.factories import InitiativeFactory, TeamFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/initiatives/"

NESTED = {
    "arrays past the decoder's stack": b"[" * 2000 + b"]" * 2000,
    "objects past the decoder's stack": b'{"a":' * 2000 + b"1" + b"}" * 2000,
    "a field's value past the limit": json.dumps(
        {"title": "Deep", "team": "claims", "summary": json.loads("[" * 100 + "]" * 100)}
    ).encode(),
    "one level past the limit": ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)).encode(),
}


@pytest.fixture
def owned(pm):
    return InitiativeFactory(owner=pm, title="Claims triage assistant",
                             team=TeamFactory(slug="claims", name="Claims"))


def _send(client, method, url, body, **headers):
    return client.generic(method, url, body, content_type="application/json", **headers)


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
@pytest.mark.parametrize("body", NESTED.values(), ids=NESTED.keys())
def test_a_body_nested_too_deeply_is_a_400_in_the_error_shape(settings, pm, owned, debug, body):
    settings.DEBUG = debug
    before = Initiative.objects.values().get(pk=owned.pk)
    client = client_for(pm)

    created = _send(client, "POST", LIST, body)
    patched = _send(client, "PATCH", f"{LIST}{owned.pk}/", body,
                    HTTP_IF_MATCH=f'"{owned.pk}-{owned.version}"')

    for response in (created, patched):
        assert response.status_code == 400
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"message": f"The JSON body is nested too deeply: at most "
                                              f"{MAX_DEPTH} levels.", "code": "parse_error"}
    assert Initiative.objects.count() == 1
    assert Initiative.objects.values().get(pk=owned.pk) == before


def test_a_body_as_deep_as_the_limit_is_parsed(pm):
    nested = json.loads("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))
    body = json.dumps({"title": "Deep", "team": "claims", "summary": nested}).encode()
    TeamFactory(slug="claims")

    response = _send(client_for(pm), "POST", LIST, body)

    # Parsed, then refused by the field: a summary is text.
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["summary"]


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_a_body_over_the_size_limit_is_a_413_in_the_error_shape(settings, pm, owned, debug):
    settings.DEBUG = debug
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    before = Initiative.objects.values().get(pk=owned.pk)
    body = json.dumps({"title": "X" * 1000, "team": "claims"}).encode()
    client = client_for(pm)

    created = _send(client, "POST", LIST, body)
    patched = _send(client, "PATCH", f"{LIST}{owned.pk}/", body,
                    HTTP_IF_MATCH=f'"{owned.pk}-{owned.version}"')
    update = _send(client, "POST", f"{LIST}{owned.pk}/updates/", body)

    for response in (created, patched, update):
        assert response.status_code == 413
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"message": "The request body is too large.",
                                   "code": "too_large"}
    assert Initiative.objects.count() == 1
    assert Initiative.objects.values().get(pk=owned.pk) == before
