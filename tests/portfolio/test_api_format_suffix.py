"""The router answers every action at its ``.json`` form too: each one takes the suffix,
so a request there gets the same answer as without it, never a server error."""

import pytest

from governance.models import Checkpoint
from portfolio.services import initiative_create
from tests.clients import client_for
from tests.factories import FIXED_NOW, StallFlagFactory, TeamFactory

pytestmark = pytest.mark.django_db


def test_every_action_answers_at_its_json_form_as_it_does_without(pm, reviewer, tpm):
    initiative = initiative_create(actor=pm, now=FIXED_NOW, team=TeamFactory(),
                                   title="Claims copilot", uses_personal_data=True)
    checkpoint = Checkpoint.objects.filter(initiative=initiative).first()
    flag = StallFlagFactory()
    # Requests the rules refuse, so that asking twice changes nothing between the two.
    requests = {
        "updates": (pm, "get", f"/api/v1/initiatives/{initiative.pk}/updates", None),
        "move": (pm, "post", f"/api/v1/initiatives/{initiative.pk}/move", {"to_stage": "x"}),
        "start-review": (pm, "post", f"/api/v1/checkpoints/{checkpoint.pk}/start-review", {}),
        "decide": (reviewer, "post", f"/api/v1/checkpoints/{checkpoint.pk}/decide", {}),
        "waive": (reviewer, "post", f"/api/v1/checkpoints/{checkpoint.pk}/waive", {}),
        "stall decide": (tpm, "post", f"/api/v1/stalls/{flag.pk}/decide", {"decision": "x"}),
        "measurements": (pm, "post", f"/api/v1/initiatives/{initiative.pk}/measurements",
                         {"value": 1}),
        "overrides": (pm, "get", f"/api/v1/initiatives/{initiative.pk}/overrides", None),
        "value reviews": (pm, "get", "/api/v1/value-reviews", None),
    }

    answers = {}
    for name, (user, method, path, body) in requests.items():
        client = client_for(user)
        answers[name] = tuple(
            getattr(client, method)(url, body, format="json").status_code if body is not None
            else getattr(client, method)(url).status_code
            for url in (path + "/", path + ".json"))

    assert {name: plain for name, (plain, _) in answers.items()} == {
        "updates": 200, "move": 428, "start-review": 403, "decide": 428, "waive": 428,
        "stall decide": 400, "measurements": 400, "overrides": 200, "value reviews": 200}
    assert all(plain == suffixed for plain, suffixed in answers.values()), answers
