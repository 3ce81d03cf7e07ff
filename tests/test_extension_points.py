"""Other apps extend portfolio through one module of typed extension points
(``portfolio.hooks``): a second entry under a key is refused, every activity kind is
described by exactly one app, and the navigation and each role's landing page are built
from the pages the apps registered."""

import pytest

from governance.models import Checkpoint
from governance.services import checkpoint_decide
from portfolio import hooks
from portfolio.models import Activity
from portfolio.services import initiative_create
from tests.factories import FIXED_NOW, TeamFactory, UserFactory


def test_a_second_entry_under_a_key_is_refused_and_the_first_stays():
    gate = hooks.STAGE_GATES.get("governance")

    with pytest.raises(hooks.DuplicateRegistration, match="governance"):
        hooks.STAGE_GATES.register("governance", lambda **kwargs: ["replaced"])

    assert hooks.STAGE_GATES.get("governance") is gate


def test_a_second_api_field_under_a_name_is_refused():
    with pytest.raises(hooks.DuplicateRegistration, match="score"):
        hooks.API_DETAIL_FIELDS.register("score", lambda: None)


def test_every_kind_of_activity_is_described_by_exactly_one_app():
    assert {kind for kind, _ in hooks.ACTIVITY_KINDS.items()} == set(Activity.Kind.values)


def test_each_app_registers_its_own_entries():
    assert [key for key, _ in hooks.CHANGE_LISTENERS.items()] == ["scoring.standings"]
    assert [key for key, _ in hooks.DETAIL_PANELS.items()] == ["governance"]
    assert [key for key, _ in hooks.API_DETAIL_FIELDS.items()] == ["governance", "score"]
    assert [key for key, _ in hooks.DEMO_STEPS.items()] == ["governance", "scoring"]
    assert [key for key, _ in hooks.ADMIN_SECTIONS.items()] == ["governance"]


@pytest.mark.django_db
def test_the_timeline_shows_each_apps_own_words_for_its_activities(client, pm, reviewer):
    initiative = initiative_create(actor=pm, now=FIXED_NOW, team=TeamFactory(),
                                   title="Claims copilot", uses_personal_data=True)
    checkpoint = Checkpoint.objects.filter(initiative=initiative).select_related("type").first()
    checkpoint_decide(checkpoint=checkpoint, actor=reviewer, approve=False,
                      expected_version=checkpoint.version, evidence_notes="No DPIA on file.",
                      now=FIXED_NOW)

    client.force_login(pm)
    body = client.get(initiative.get_absolute_url()).content.decode()

    assert f"Checkpoint decided: {checkpoint.type.name} rejected" in body


@pytest.mark.django_db
@pytest.mark.parametrize(("roles", "lands_on", "first_in_the_bar"), [
    (["pm"], "/initiatives/?mine=true", "My initiatives"),
    (["reviewer"], "/governance/queue/", "Review queue"),
    (["leadership"], "/dashboard/", "Dashboard"),
    (["tpm"], "/stalls/", "Stalled pilots"),
    (["tpm", "leadership"], "/dashboard/", "Dashboard"),
])
def test_each_role_lands_on_its_home_and_finds_it_first_in_the_navigation(
        client, roles, lands_on, first_in_the_bar):
    client.force_login(UserFactory(roles=roles))

    landing = client.get("/")
    items = client.get(landing["Location"]).context["nav_items"]

    assert landing["Location"] == lands_on
    assert items[0][0] == first_in_the_bar
    assert len(items) == len(set(items))
