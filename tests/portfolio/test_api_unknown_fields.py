"""Every write of the API refuses a body field it does not accept — unknown (``stage`` on a
PATCH: the stage moves only through ``move/``) or read-only (``id``, ``version``) — with a
400 naming each such field, and changes nothing; the schema says so
(``additionalProperties: false`` on every request body)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from governance.models import Checkpoint, CheckpointType
from portfolio.api.common import NOT_ACCEPTED
from portfolio.models import Activity, Initiative, StallFlag, Update
from scoring.models import CapacityPlan
from tests.clients import client_for
from tests.factories import InitiativeFactory, StallFlagFactory, TeamFactory

pytestmark = pytest.mark.django_db


def _in(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


@pytest.fixture
def world(pm, reviewer, tpm, superuser):
    team = TeamFactory(slug="claims", name="Claims")
    initiative = InitiativeFactory(owner=pm, team=team, title="Claims triage assistant")
    checkpoint = Checkpoint.objects.create(
        initiative=InitiativeFactory(stage="assessment", team=team),
        type=CheckpointType.objects.create(code="pen-test", name="Pen test",
                                           description="Pen test.", nist_function="manage",
                                           required_for="pilot"),
        requested_at=timezone.now() - timedelta(days=5), due_date=_in(10))
    flag = StallFlagFactory(initiative__team=team, flagged_at=timezone.now())
    plan = CapacityPlan.objects.create(team=team, year=2026, quarter=1, engineer_weeks=10)
    return {"pm": pm, "reviewer": reviewer, "tpm": tpm,
            "admin": superuser,
            "initiative": initiative, "checkpoint": checkpoint, "flag": flag, "plan": plan}


def _etag(obj) -> str:
    return f'"{obj.pk}-{obj.version}"'


# Every write endpoint: who may make it, where, and a body it accepts.
WRITES = {
    "create an initiative": ("pm", "post", lambda w: "/api/v1/initiatives/", None,
                             lambda: {"title": "Invoice matching", "team": "claims"}),
    "edit an initiative": ("pm", "patch", lambda w: f"/api/v1/initiatives/{w['initiative'].pk}/",
                           "initiative", lambda: {"title": "Renamed"}),
    "move an initiative": ("pm", "post",
                           lambda w: f"/api/v1/initiatives/{w['initiative'].pk}/move/",
                           "initiative",
                           lambda: {"to_stage": "retired", "retirement_reason": "cost",
                                    "retirement_lessons": "Too dear for now."}),
    "post an update": ("pm", "post",
                       lambda w: f"/api/v1/initiatives/{w['initiative'].pk}/updates/", None,
                       lambda: {"body": "Vendor signed.", "health": "on_track"}),
    "start a review": ("reviewer", "post",
                       lambda w: f"/api/v1/checkpoints/{w['checkpoint'].pk}/start-review/",
                       "checkpoint", lambda: {}),
    "decide a checkpoint": ("reviewer", "post",
                            lambda w: f"/api/v1/checkpoints/{w['checkpoint'].pk}/decide/",
                            "checkpoint",
                            lambda: {"status": "approved", "evidence_notes": "Clean."}),
    "waive a checkpoint": ("reviewer", "post",
                           lambda w: f"/api/v1/checkpoints/{w['checkpoint'].pk}/waive/",
                           "checkpoint",
                           lambda: {"justification": "Attested.", "expires_on": _in(30)}),
    "decide a stall": ("tpm", "post", lambda w: f"/api/v1/stalls/{w['flag'].pk}/decide/", None,
                       lambda: {"decision": "extend", "note": "One more month.",
                                "extend_until": _in(30)}),
    "plan capacity": ("admin", "post", lambda w: "/api/v1/capacity-plans/", None,
                      lambda: {"team": "claims", "year": 2026, "quarter": 2,
                               "engineer_weeks": "12.5"}),
    "change a plan": ("admin", "patch", lambda w: f"/api/v1/capacity-plans/{w['plan'].pk}/",
                      None, lambda: {"notes": "Two joiners."}),
}

EXTRAS = {
    "an unknown field": {"stage": "production"},
    "read-only fields": {"id": 999, "version": 7, "created_at": "2026-01-01T00:00:00Z"},
    "a field of another model": {"is_staff": True},
}


def _send(world, write, body):
    persona, method, url, locked, _ = WRITES[write]
    client = client_for(world[persona])
    headers = {"HTTP_IF_MATCH": _etag(world[locked])} if locked else {}
    return getattr(client, method)(url(world), body, format="json", **headers)


def _state(world):
    return (list(Initiative.objects.order_by("pk").values()),
            list(Checkpoint.objects.order_by("pk").values()),
            list(StallFlag.objects.order_by("pk").values()),
            list(CapacityPlan.objects.order_by("pk").values()),
            Update.objects.count(), Activity.objects.count())


@pytest.mark.parametrize("extra", EXTRAS.values(), ids=EXTRAS.keys())
@pytest.mark.parametrize("write", WRITES)
def test_a_field_the_write_does_not_accept_is_a_400_naming_it(world, write, extra):
    before = _state(world)

    response = _send(world, write, {**WRITES[write][4](), **extra})

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid"
    assert response.json()["fields"] == {name: [NOT_ACCEPTED] for name in extra}
    assert _state(world) == before


@pytest.mark.parametrize("write", WRITES)
def test_the_same_body_without_them_is_accepted(world, write):
    response = _send(world, write, WRITES[write][4]())

    assert response.status_code in (200, 201), response.json()


def test_a_refused_field_is_named_beside_the_other_field_errors(world):
    response = _send(world, "edit an initiative", {"title": "", "stage": "production"})

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"title", "stage"}
    assert response.json()["fields"]["stage"] == [NOT_ACCEPTED]


def test_the_schema_says_every_request_body_takes_no_other_field():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    bodies = [operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
              for path in schema["paths"].values() for operation in path.values()
              if "requestBody" in operation]

    assert len(bodies) >= 9
    for ref in bodies:
        name = ref.rsplit("/", 1)[-1]
        assert components[name]["additionalProperties"] is False, name
