"""Who may change an initiative's owner, and who may be one — on every write path.

One rule, whatever the path (the edit form, the ownership page, the API, the admin, a
CSV import): only a TPM or an admin (a staff account with the admin's permission to change
initiatives) reassigns an owner, and an owner is an active PM. Every other persona — the
owner themselves, a PM Responsible for the initiative, a staff account without
permissions, a user with no role — is refused and nothing changes.
"""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from portfolio import csv_io, services
from portfolio.models import Activity, Initiative, Stakeholder
from tests.clients import client_for
from tests.factories import (
    FIXED_NOW,
    InitiativeFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# Who tries, and whether the rule lets them reassign the owner.
PERSONAS = {
    "owner": False, "responsible_pm": False, "other_pm": False, "reviewer": False,
    "leader": False, "no_role": False, "bare_staff": False, "tpm": True, "admin": True,
}


@pytest.fixture
def people(pm, other_pm, reviewer, leader, outsider, tpm, staff):
    team = TeamFactory(slug="claims", name="Claims")
    owner = pm
    responsible = UserFactory(username="responsible-pm", roles=["pm"])
    initiative = InitiativeFactory(owner=owner, team=team, title="Claims triage assistant")
    Stakeholder.objects.create(initiative=initiative, user=owner, role="A")
    Stakeholder.objects.create(initiative=initiative, user=responsible, role="R")
    # An admin who is also a PM Responsible for it, so the editors' paths (edit form, API)
    # are open to them and only the owner rule decides.
    admin = staff
    admin.groups.add(Group.objects.get_or_create(name="pm")[0])
    Stakeholder.objects.create(initiative=initiative, user=admin, role="R")
    return {
        "initiative": initiative,
        "newcomer": UserFactory(username="new-pm", roles=["pm"]),
        "owner": owner,
        "responsible_pm": responsible,
        "other_pm": other_pm,
        "reviewer": reviewer,
        "leader": leader,
        "no_role": outsider,
        "bare_staff": UserFactory(username="bare-staff", is_staff=True),
        "tpm": tpm,
        "admin": admin,
    }


def owner_of(initiative) -> str:
    return Initiative.objects.get(pk=initiative.pk).owner.username


def accountable(initiative) -> list[str]:
    return list(Stakeholder.objects.filter(initiative=initiative, role="A")
                .values_list("user__username", flat=True))


def assert_unchanged(initiative):
    assert owner_of(initiative) == "owner-pm"
    assert accountable(initiative) == ["owner-pm"]
    assert not Activity.objects.filter(initiative=initiative,
                                       kind=Activity.Kind.OWNER_CHANGED).exists()


def assert_reassigned(initiative):
    assert owner_of(initiative) == "new-pm"
    assert accountable(initiative) == ["new-pm"]
    assert Activity.objects.filter(initiative=initiative,
                                   kind=Activity.Kind.OWNER_CHANGED).count() == 1


def edit_form(initiative, owner_id):
    return {"title": initiative.title, "summary": initiative.summary,
            "category": initiative.category, "team": initiative.team_id, "owner": owner_id,
            "risk_tier": initiative.risk_tier, "autonomy_level": initiative.autonomy_level,
            "version": initiative.version}


@pytest.mark.parametrize(("persona", "allowed"), PERSONAS.items())
def test_the_edit_form_changes_the_owner_only_for_a_tpm_or_an_admin(people, persona, allowed):
    initiative, newcomer = people["initiative"], people["newcomer"]
    client = Client()
    client.force_login(people[persona])

    response = client.post(f"/initiatives/{initiative.pk}/edit/",
                           edit_form(initiative, newcomer.pk))

    if persona == "tpm":
        # TPMs do not edit initiatives (not a PM); they reassign on the ownership page.
        assert response.status_code == 403
        assert_unchanged(initiative)
    elif allowed:
        assert response.status_code == 302
        assert_reassigned(initiative)
    else:
        assert response.status_code in (403, 404)
        assert_unchanged(initiative)


@pytest.mark.parametrize(("persona", "allowed"), PERSONAS.items())
def test_the_api_changes_the_owner_only_for_a_tpm_or_an_admin(people, persona, allowed):
    initiative = people["initiative"]
    client = client_for(people[persona])

    response = client.patch(f"/api/v1/initiatives/{initiative.pk}/", {"owner": "new-pm"},
                            format="json", HTTP_IF_MATCH=f'"{initiative.pk}-1"')

    if persona == "tpm":
        assert response.status_code == 403  # the API's PATCH is for editors (PMs)
        assert_unchanged(initiative)
    elif allowed:
        assert response.status_code == 200, response.json()
        assert response.json()["owner"]["username"] == "new-pm"
        assert_reassigned(initiative)
    else:
        assert response.status_code in (403, 404)
        assert response.json()["code"] in ("permission_denied", "not_found")
        assert_unchanged(initiative)


@pytest.mark.parametrize(("persona", "allowed"), PERSONAS.items())
def test_the_ownership_page_reassigns_only_for_a_tpm_or_an_admin(people, persona, allowed):
    initiative, newcomer = people["initiative"], people["newcomer"]
    client = Client()
    client.force_login(people[persona])

    response = client.post(f"/initiatives/{initiative.pk}/reassign/",
                           {"owner": newcomer.pk, "version": initiative.version})

    if allowed:
        assert response.status_code == 302
        assert_reassigned(initiative)
    else:
        assert response.status_code in (403, 404)
        assert_unchanged(initiative)


@pytest.mark.parametrize("persona", ["bare_staff", "admin"])
def test_the_admin_reassigns_only_with_the_admins_permission(people, persona):
    initiative, newcomer = people["initiative"], people["newcomer"]
    client = Client()
    client.force_login(people[persona])
    url = f"/admin/portfolio/initiative/{initiative.pk}/change/"
    page = client.get(url)
    if persona == "bare_staff":
        assert page.status_code == 403
        assert client.post(url, {"owner": newcomer.pk}).status_code == 403
        assert_unchanged(initiative)
        return
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items()
            if value is not None and name in form.fields}
    data.update({"owner": newcomer.pk, "loaded_version": initiative.version,
                 "category": initiative.category, "health": initiative.health})
    for inline in page.context["inline_admin_formsets"]:  # the inlines, unchanged
        formset = inline.formset
        data.update({f"{formset.prefix}-{key}": value
                     for key, value in formset.management_form.initial.items()})
        for index, row in enumerate(formset.forms):
            data.update({f"{formset.prefix}-{index}-{key}": value
                         for key, value in row.initial.items() if value is not None})
    response = client.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    assert_reassigned(initiative)


def test_the_service_refuses_an_owner_change_from_a_responsible_pm(people):
    from django.core.exceptions import PermissionDenied

    initiative = people["initiative"]
    with pytest.raises(PermissionDenied):
        services.initiative_update(initiative=initiative, actor=people["responsible_pm"],
                                   now=FIXED_NOW, expected_version=initiative.version,
                                   changes={"owner": people["responsible_pm"]})
    assert_unchanged(initiative)


def test_an_editor_keeps_editing_with_the_owner_field_greyed_out(people):
    initiative = people["initiative"]
    client = Client()
    client.force_login(people["responsible_pm"])
    page = client.get(f"/initiatives/{initiative.pk}/edit/").content.decode()
    data = edit_form(initiative, None)
    del data["owner"]  # a disabled field is not sent
    data["title"] = "Claims triage copilot"

    response = client.post(f"/initiatives/{initiative.pk}/edit/", data)

    assert 'name="owner"' in page
    assert "disabled" in page.split('name="owner"')[1][:200]
    assert response.status_code == 302
    assert Initiative.objects.get(pk=initiative.pk).title == "Claims triage copilot"
    assert_unchanged(initiative)


# --- Who may be an owner: active PMs, on every path that names one --------------------------

@pytest.mark.parametrize("who", ["reviewer", "no_role", "tpm", "leader"])
def test_the_api_refuses_an_owner_who_is_not_a_pm(people, who):
    client = client_for(people["other_pm"])

    response = client.post("/api/v1/initiatives/", {
        "title": "Invoice matching assistant", "team": "claims",
        "owner": people[who].username}, format="json")

    assert response.status_code in (400, 409)
    assert "owner" in response.json()["fields"]
    assert "product manager" in response.json()["fields"]["owner"][0]
    assert not Initiative.objects.filter(title="Invoice matching assistant").exists()


def test_the_api_accepts_another_pm_as_owner(people):
    client = client_for(people["other_pm"])

    response = client.post("/api/v1/initiatives/", {
        "title": "Invoice matching assistant", "team": "claims", "owner": "new-pm"},
        format="json")

    assert response.status_code == 201
    assert response.json()["owner"]["username"] == "new-pm"


@pytest.mark.parametrize("who", ["reviewer", "no_role"])
def test_a_csv_import_refuses_an_owner_who_is_not_a_pm(people, who):
    data = f"Title,Team,Owner\nInvoice matching assistant,claims,{people[who].username}\n"

    result = csv_io.initiatives_import(file_or_rows=data.encode(), actor=people["other_pm"],
                                       now=FIXED_NOW)

    assert not result.created
    assert [(error.row, error.column) for error in result.errors] == [(2, "Owner")]
    assert "product manager" in result.errors[0].message
    assert not Initiative.objects.filter(title="Invoice matching assistant").exists()


def test_intake_offers_and_accepts_only_pms_as_owner(people):
    client = Client()
    client.force_login(people["other_pm"])
    page = client.get("/initiatives/new/").content.decode()

    response = client.post("/initiatives/new/", {
        "title": "Invoice matching assistant", "team": people["initiative"].team_id,
        "owner": people["reviewer"].pk, "category": "other", "risk_tier": "minimal",
        "autonomy_level": "assistive"})

    # The owner picker searches among PMs as the PM types; the page lists nobody.
    owner_picker = page.split('name="owner"')[1].split(">")[0]
    assert 'data-picker="/people/search/?role=owner"' in owner_picker
    assert "new-pm" not in page

    def offered(text):
        return [row["detail"] for row in client.get("/people/search/", {
            "role": "owner", "q": text}).json()["results"]]

    assert offered("new-pm") == ["new-pm"]
    assert offered(people["reviewer"].username) == []
    assert response.status_code == 200
    assert "owner" in response.context["form"].errors
    assert not Initiative.objects.filter(title="Invoice matching assistant").exists()


def test_the_admin_refuses_an_owner_who_is_not_a_pm(people, superuser):
    client = Client()
    client.force_login(superuser)

    response = client.post("/admin/portfolio/initiative/add/", {
        "title": "Invoice matching assistant", "team": people["initiative"].team_id,
        "owner": people["reviewer"].pk, "category": "other", "health": "on_track",
        "risk_tier": "minimal", "autonomy_level": "assistive", "confidence": "",
        "stakeholders-TOTAL_FORMS": 0, "stakeholders-INITIAL_FORMS": 0,
        "dependencies-TOTAL_FORMS": 0, "dependencies-INITIAL_FORMS": 0,
        "transitions-TOTAL_FORMS": 0, "transitions-INITIAL_FORMS": 0})

    assert response.status_code == 200
    assert "product manager" in response.content.decode()
    assert not Initiative.objects.filter(title="Invoice matching assistant").exists()
