"""``If-Match: *`` names no version: a write sent with it would overwrite whatever changed
since the client read the initiative, so it is refused like a missing If-Match (428)."""

import pytest

from portfolio.models import Initiative
from tests.clients import client_for
from tests.factories import InitiativeFactory, TeamFactory

pytestmark = pytest.mark.django_db

WRITES = {
    "edit": ("patch", "", {"title": "Overwritten"}),
    "move": ("post", "move/", {"to_stage": "assessment"}),
}


@pytest.mark.parametrize("if_match", ["*", ' "1-1", * ', 'W/"1-1", *'])
@pytest.mark.parametrize("write", WRITES)
def test_if_match_any_is_refused_with_428_and_changes_nothing(pm, write, if_match):
    initiative = InitiativeFactory(owner=pm, team=TeamFactory(), title="Claims triage")
    before = Initiative.objects.values().get(pk=initiative.pk)
    method, path, body = WRITES[write]
    client = client_for(pm)

    response = getattr(client, method)(f"/api/v1/initiatives/{initiative.pk}/{path}", body,
                                       format="json", HTTP_IF_MATCH=if_match)

    assert response.status_code == 428
    assert response.json()["code"] == "precondition_required"
    assert "send the version you read" in response.json()["message"]
    assert Initiative.objects.values().get(pk=initiative.pk) == before
