"""The API's permission matrix (issue 7): the endpoints and methods of every app × every
persona × their own and someone else's initiative.

Each cell states the status code; a refused request changes nothing. Governance's
checkpoint actions, which turn on the reviewer's role and independence, have their own
matrix in tests/governance/test_api.py."""

from datetime import timedelta

import pytest
from django.utils import timezone

from portfolio.models import ContractOverride, Initiative, Measurement, StallFlag, Update
from scoring.models import CapacityPlan
from tests.clients import client_for
from tests.factories import InitiativeFactory, StallFlagFactory, TeamFactory

pytestmark = pytest.mark.django_db

IN_A_MONTH = (timezone.localdate() + timedelta(days=30)).isoformat()
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
    ("read measurements", "get", "/api/v1/initiatives/{id}/measurements/", None, False,
     lambda p, w: expect_read(p)),
    ("record measurement", "post", "/api/v1/initiatives/{id}/measurements/",
     {"measured_on": (timezone.localdate() - timedelta(days=1)).isoformat(), "value": "31",
      "source_note": "BI export"}, False,
     lambda p, w: expect_write_own(p, owner=w, ok=201)),
    ("read overrides", "get", "/api/v1/initiatives/{id}/overrides/", None, False,
     lambda p, w: expect_read(p)),
    # Only the sponsor or leadership may override; an idea has nothing to override (409).
    ("override contract", "post", "/api/v1/initiatives/{id}/overrides/",
     {"kind": "target_missed", "reason": "Deadline."}, False,
     lambda p, w: expect_read(p) if p not in READERS else (409 if p == "leader" else 403)),
    ("value reviews", "get", "/api/v1/value-reviews/", None, False,
     lambda p, w: expect_read(p)),
    ("teams", "get", "/api/v1/teams/", None, False, lambda p, w: expect_read(p)),
    ("stalls", "get", "/api/v1/stalls/", None, False, lambda p, w: expect_read(p)),
    ("stall", "get", "/api/v1/stalls/{flag}/", None, False, lambda p, w: expect_read(p)),
    ("decide stall", "post", "/api/v1/stalls/{flag}/decide/",
     {"decision": "extend", "note": "Data late.", "extend_until": IN_A_MONTH}, False,
     lambda p, w: expect_stall_decision(p, owner=w)),
    ("kill log", "get", "/api/v1/kill-log/", None, False, lambda p, w: expect_read(p)),
    ("checkpoints", "get", "/api/v1/checkpoints/", None, False, lambda p, w: expect_read(p)),
    ("ranking", "get", "/api/v1/ranking/", None, False, lambda p, w: expect_read(p)),
    ("dashboard", "get", "/api/v1/dashboard/", None, False, lambda p, w: expect_read(p)),
    ("capacity plans", "get", "/api/v1/capacity-plans/", None, False,
     lambda p, w: expect_read(p)),
    ("plan capacity", "post", "/api/v1/capacity-plans/",
     {"team": "matrix", "year": 2027, "quarter": 1, "engineer_weeks": "40"}, False,
     lambda p, w: expect_read(p) if p not in READERS else (201 if p == "admin" else 403)),
]


def expect_stall_decision(persona, *, owner):
    """The pilot's owner, TPMs and admins decide a stall; other readers 403."""
    if persona not in READERS:
        return expect_read(persona)
    return 200 if persona in {owner, "tpm", "admin"} else 403


@pytest.fixture
def people(pm, other_pm, reviewer, tpm, leader, outsider, superuser):
    return {"pm": pm, "other_pm": other_pm, "reviewer": reviewer, "tpm": tpm,
            "leader": leader, "outsider": outsider, "admin": superuser, "anonymous": None}


def snapshot():
    return (sorted(Initiative.objects.values_list("id", "title", "stage", "version",
                                                  "decision_date")),
            Update.objects.count(),
            sorted(StallFlag.objects.values_list("id", "decision", "resolution")),
            CapacityPlan.objects.count(), Measurement.objects.count(),
            ContractOverride.objects.count())


@pytest.mark.parametrize("whose", ["pm", "other_pm"], ids=["own", "someone_elses"])
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(("name", "method", "path", "body", "locked", "expected"), ENDPOINTS,
                         ids=[endpoint[0] for endpoint in ENDPOINTS])
def test_permission_matrix(people, persona, whose, name, method, path, body, locked,
                           expected):
    team = TeamFactory(slug="matrix")
    initiatives = {"pm": InitiativeFactory(owner=people["pm"], team=team, title="Mine",
                                           success_metric="Claims handled"),
                   "other_pm": InitiativeFactory(owner=people["other_pm"], team=team,
                                                 title="Theirs", success_metric="Claims handled")}
    target = initiatives[whose]
    flag = StallFlagFactory(initiative=InitiativeFactory(
        owner=people[whose], team=team, stage="pilot", contracted=True, title="Stalled"))
    client = client_for(people[persona])
    headers = {"HTTP_IF_MATCH": f'"{target.pk}-{target.version}"'} if locked else {}
    before = snapshot()

    response = getattr(client, method)(path.format(id=target.pk, flag=flag.pk), body,
                                       format="json", **headers)

    assert response.status_code == expected(persona, whose), response.content
    if response.status_code >= 400:
        assert "message" in response.json()
        assert snapshot() == before, "a refused request changed something"
