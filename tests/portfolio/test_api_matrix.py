"""The API's permission matrix (issue 7): every endpoint and method of the portfolio's
initiatives and teams × every persona × their own and someone else's initiative.

Each cell states the status code; a refused request changes nothing."""

import pytest
from rest_framework.test import APIClient

from portfolio.models import Initiative, Update
from tests.factories import InitiativeFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

PERSONAS = ["anonymous", "outsider", "pm", "other_pm", "reviewer", "tpm", "leader", "admin"]
READERS = {"pm", "other_pm", "reviewer", "tpm", "leader", "admin"}


def expect_read(persona):
    if persona == "anonymous":
        return 401
    return 200 if persona in READERS else 404


def expect_write_own(persona, *, owner, ok):
    """An initiative's editors (its owner PM) succeed; other readers 403; the rest as reads."""
    if persona not in READERS:
        return expect_read(persona)
    return ok if persona == owner else 403


def expect_create(persona):
    if persona not in READERS:
        return expect_read(persona)
    return 201 if persona in {"pm", "other_pm"} else 403


# (name, method, path template, body, needs If-Match, expected(persona, whose))
ENDPOINTS = [
    ("list", "get", "/api/v1/initiatives/", None, False, lambda p, w: expect_read(p)),
    ("detail", "get", "/api/v1/initiatives/{id}/", None, False, lambda p, w: expect_read(p)),
    ("create", "post", "/api/v1/initiatives/", {"title": "New one", "team": "matrix"}, False,
     lambda p, w: expect_create(p)),
    ("edit", "patch", "/api/v1/initiatives/{id}/", {"title": "Changed"}, True,
     lambda p, w: expect_write_own(p, owner=w, ok=200)),
    ("move", "post", "/api/v1/initiatives/{id}/move/", {"to_stage": "paused",
                                                         "note": "Budget freeze"}, True,
     lambda p, w: expect_write_own(p, owner=w, ok=201)),
    ("read updates", "get", "/api/v1/initiatives/{id}/updates/", None, False,
     lambda p, w: expect_read(p)),
    ("post update", "post", "/api/v1/initiatives/{id}/updates/",
     {"body": "On track.", "health": "on_track"}, False,
     lambda p, w: expect_write_own(p, owner=w, ok=201)),
    ("teams", "get", "/api/v1/teams/", None, False, lambda p, w: expect_read(p)),
]


@pytest.fixture
def people(pm, other_pm, reviewer, tpm, leader, outsider):
    admin = UserFactory(username="matrix-admin", is_staff=True, is_superuser=True)
    return {"pm": pm, "other_pm": other_pm, "reviewer": reviewer, "tpm": tpm,
            "leader": leader, "outsider": outsider, "admin": admin, "anonymous": None}


def snapshot():
    return (sorted(Initiative.objects.values_list("id", "title", "stage", "version")),
            Update.objects.count())


@pytest.mark.parametrize("whose", ["pm", "other_pm"], ids=["own", "someone_elses"])
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(("name", "method", "path", "body", "locked", "expected"), ENDPOINTS,
                         ids=[endpoint[0] for endpoint in ENDPOINTS])
def test_permission_matrix(people, persona, whose, name, method, path, body, locked,
                           expected):
    team = TeamFactory(slug="matrix")
    initiatives = {"pm": InitiativeFactory(owner=people["pm"], team=team, title="Mine"),
                   "other_pm": InitiativeFactory(owner=people["other_pm"], team=team,
                                                 title="Theirs")}
    target = initiatives[whose]
    client = APIClient()
    if people[persona] is not None:
        client.force_authenticate(people[persona])
    headers = {"HTTP_IF_MATCH": f'"{target.pk}-{target.version}"'} if locked else {}
    before = snapshot()

    response = getattr(client, method)(path.format(id=target.pk), body, format="json",
                                       **headers)

    assert response.status_code == expected(persona, whose), response.content
    if response.status_code >= 400:
        assert "message" in response.json()
        assert snapshot() == before, "a refused request changed something"
