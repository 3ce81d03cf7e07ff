"""A client generated from the OpenAPI schema (openapi-python-client) lists, creates and
moves an initiative against a running app (issue 7, "Done when")."""

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.utils import timezone

from portfolio.models import Initiative, Stage
from portfolio.tokens import api_token_create
from tests.factories import InitiativeFactory, TeamFactory, UserFactory, approve_all_checkpoints

pytestmark = pytest.mark.django_db(transaction=True)

PACKAGE = "ai_initiative_portfolio_tracker_api_client"


@pytest.fixture
def generated_client(tmp_path, monkeypatch):
    schema = tmp_path / "schema.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(schema))
    config = tmp_path / "config.yaml"
    config.write_text("post_hooks: []\n")
    generator = shutil.which("openapi-python-client",
                             path=str(Path(sys.executable).parent)) or "openapi-python-client"
    result = subprocess.run(
        [generator, "generate", "--path", str(schema), "--meta", "none",
         "--config", str(config)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, f"parts of the schema were skipped:\n{result.stdout}"
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module(PACKAGE)
    for name in [name for name in sys.modules if name.startswith(PACKAGE)]:
        del sys.modules[name]


def test_a_generated_client_lists_creates_and_moves_an_initiative(generated_client,
                                                                   live_server):
    from ai_initiative_portfolio_tracker_api_client.api.initiatives import (
        initiatives_create,
        initiatives_list,
        initiatives_move_create,
        initiatives_retrieve,
    )
    from ai_initiative_portfolio_tracker_api_client.models import (
        InitiativeWriteRequest,
        MoveRequest,
        StageEnum,
    )

    pm = UserFactory(username="client-pm", roles=["pm"])
    reviewer = UserFactory(username="client-reviewer", roles=["reviewer"])
    TeamFactory(slug="claims", name="Claims")
    _, key = api_token_create(user=pm, name="generated client", now=timezone.now())
    client = generated_client.AuthenticatedClient(base_url=live_server.url, token=key)

    created = initiatives_create.sync(client=client, body=InitiativeWriteRequest(
        title="Claims triage assistant", team="claims"))
    listed = initiatives_list.sync(client=client, team="claims")
    initiative = Initiative.objects.get(pk=created.id)
    approve_all_checkpoints(initiative, reviewer=reviewer)  # the gate to assessment opens
    detail = initiatives_retrieve.sync_detailed(id=created.id, client=client)
    moved = initiatives_move_create.sync_detailed(
        id=created.id, client=client, if_match=detail.headers["etag"],
        body=MoveRequest(to_stage=StageEnum.ASSESSMENT))

    assert created.owner.username == "client-pm"
    assert [row.title for row in listed.results] == ["Claims triage assistant"]
    assert moved.status_code == 201, moved.content
    assert json.loads(moved.content)["to_stage"] == "assessment"
    initiative.refresh_from_db()
    assert initiative.stage == Stage.ASSESSMENT


def test_a_generated_client_follows_next_through_every_page(generated_client, live_server):
    from ai_initiative_portfolio_tracker_api_client.api.initiatives import initiatives_list

    pm = UserFactory(username="client-pm", roles=["pm"])
    made = InitiativeFactory.create_batch(5, team=TeamFactory(slug="claims", name="Claims"))
    _, key = api_token_create(user=pm, name="generated client", now=timezone.now())
    client = generated_client.AuthenticatedClient(base_url=live_server.url, token=key)

    page = initiatives_list.sync(client=client, page_size=2)
    seen = [row.id for row in page.results]
    assert (page.count, page.count_exact) == (5, True)
    while page.next_:
        cursor = parse_qs(urlsplit(page.next_).query)["cursor"][0]
        page = initiatives_list.sync(client=client, page_size=2, cursor=cursor)
        seen += [row.id for row in page.results]

    assert seen == [initiative.pk for initiative in
                    sorted(made, key=lambda i: (i.last_activity_at, i.pk), reverse=True)]
    assert page.previous is not None
