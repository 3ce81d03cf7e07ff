"""The admin edits the catalogue, shows compliance, and never decides a checkpoint."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance import services
from governance.models import Checkpoint, CheckpointType
from portfolio import services as portfolio_services
from tests.factories import InitiativeFactory, approve_all_checkpoints, measure

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/portfolio/initiative/"


@pytest.fixture
def agentic_in_production(pm, reviewer):
    now = timezone.now()
    initiative = InitiativeFactory(owner=pm, contracted=True, stage="production",
                                   title="Claims agent")
    measure(initiative)  # the target met inside the window
    services.checkpoints_sync(initiatives=[initiative], actor=pm, now=now - timedelta(days=9))
    approve_all_checkpoints(initiative, reviewer=reviewer, at=now - timedelta(days=9))
    return portfolio_services.initiative_update(
        initiative=initiative, actor=pm, now=now, expected_version=initiative.version,
        changes={"autonomy_level": "autonomous"})


def test_changelist_shows_an_initiative_out_of_compliance_at_once(
        client, superuser, agentic_in_production):
    compliant = InitiativeFactory(title="Spend analytics", stage="idea")
    client.force_login(superuser)

    response = client.get(CHANGELIST, {"compliance": "out"})

    assert response.status_code == 200
    listed = list(response.context["cl"].result_list)
    assert listed == [agentic_in_production]
    assert listed[0].out_of_compliance is True
    assert "out of compliance" in response.content.decode().lower()
    in_compliance = client.get(CHANGELIST, {"compliance": "in"}).context["cl"].result_list
    assert list(in_compliance) == [compliant]


def test_change_page_shows_the_flag_and_checkpoints_without_editable_stage_or_status(
        client, superuser, agentic_in_production):
    client.force_login(superuser)

    response = client.get(f"{CHANGELIST}{agentic_in_production.pk}/change/")

    body = response.content.decode()
    form = response.context["adminform"].form
    assert "stage" not in form.fields
    assert "status" not in form.fields
    assert all("status" not in inline.formset.form.base_fields
               for inline in response.context["inline_admin_formsets"])
    flag = body.split("<label>Out of compliance:</label>")[1][:300]
    assert 'alt="True"' in flag
    assert "Failure recovery" in body
    assert "Not started" in body
    assert "segregation of duties" in body


def test_checkpoints_are_read_only_in_the_admin(client, superuser, agentic_in_production):
    checkpoint = Checkpoint.objects.filter(initiative=agentic_in_production).first()
    client.force_login(superuser)

    changelist = client.get("/admin/governance/checkpoint/", {"q": "Claims agent"})
    change = client.get(f"/admin/governance/checkpoint/{checkpoint.pk}/change/")
    post = client.post(f"/admin/governance/checkpoint/{checkpoint.pk}/change/",
                       {"status": "approved"})

    assert changelist.status_code == 200
    assert len(changelist.context["cl"].result_list) == 12
    assert "segregation of duties" in changelist.content.decode()
    assert change.status_code == 200
    assert "status" not in change.context["adminform"].form.fields
    assert post.status_code == 403
    checkpoint.refresh_from_db()
    assert checkpoint.status == "not_started"
    assert client.get("/admin/governance/checkpoint/add/").status_code == 403


def test_checkpoint_types_are_editable_with_history(client, superuser):
    security = CheckpointType.objects.get(code="security-review")
    client.force_login(superuser)

    changelist = client.get("/admin/governance/checkpointtype/").content.decode()
    form = client.get(f"/admin/governance/checkpointtype/{security.pk}/change/").context[
        "adminform"].form

    assert "always" in changelist
    assert "EU AI Act risk classification" in changelist
    assert {"required_for", "min_risk_tier", "min_autonomy_level", "active"} <= set(form.fields)
    assert client.get(f"/admin/governance/checkpointtype/{security.pk}/history/"
                      ).status_code == 200


def test_the_initiative_admin_still_edits_through_the_service(client, superuser):
    initiative = InitiativeFactory(title="Old title", summary="s")
    client.force_login(superuser)
    url = f"{CHANGELIST}{initiative.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update({
        "title": "New title", "team": initiative.team_id, "owner": initiative.owner_id,
        "loaded_version": 1,
        "stakeholders-TOTAL_FORMS": 0, "stakeholders-INITIAL_FORMS": 0,
        "dependency_links-TOTAL_FORMS": 0, "dependency_links-INITIAL_FORMS": 0,
        "transitions-TOTAL_FORMS": 0, "transitions-INITIAL_FORMS": 0,
    })
    data.pop("depends_on", None)

    response = client.post(url, data)

    initiative.refresh_from_db()
    assert response.status_code == 302
    assert (initiative.title, initiative.version) == ("New title", 2)
