"""RACI roles and dependencies, changed on the initiative page by its editors, TPMs and admins."""

import pytest

from portfolio import services
from portfolio.exceptions import DomainError
from portfolio.models import Activity, Dependency, Initiative, Stakeholder
from tests.factories import FIXED_NOW, InitiativeFactory, UserFactory

pytestmark = pytest.mark.django_db


def people_url(initiative):
    return f"/initiatives/{initiative.pk}/people/"


def deps_url(initiative):
    return f"/initiatives/{initiative.pk}/dependencies/"


# --- Services ------------------------------------------------------------------------------

def test_naming_someone_responsible_is_recorded_and_counts_as_activity(pm, other_pm):
    initiative = InitiativeFactory(owner=pm)
    later = FIXED_NOW.replace(day=20)

    services.stakeholder_add(initiative=initiative, user=other_pm, role="R", actor=pm, now=later)

    initiative.refresh_from_db()
    assert Stakeholder.objects.filter(initiative=initiative, user=other_pm, role="R").exists()
    assert initiative.last_activity_at == later
    event = Activity.objects.get(initiative=initiative, kind="people_changed")
    assert (event.actor, event.details) == (pm, {"added": "other-pm", "role": "R"})


def test_activity_never_moves_backwards_when_people_are_named_late(pm, other_pm):
    initiative = InitiativeFactory(owner=pm)
    earlier = FIXED_NOW.replace(day=1)

    services.stakeholder_add(initiative=initiative, user=other_pm, role="C", actor=pm,
                             now=earlier)

    initiative.refresh_from_db()
    assert initiative.last_activity_at == FIXED_NOW


@pytest.mark.parametrize(("role", "active", "message"), [
    ("A", True, "one Accountable person"),
    ("R", False, "has left"),
])
def test_accountable_and_departed_people_are_refused(pm, role, active, message):
    initiative = InitiativeFactory(owner=pm)
    person = UserFactory(is_active=active)

    with pytest.raises(DomainError, match=message):
        services.stakeholder_add(initiative=initiative, user=person, role=role, actor=pm,
                                 now=FIXED_NOW)

    assert not Stakeholder.objects.filter(user=person).exists()


def test_the_same_role_twice_is_refused(pm, other_pm):
    initiative = InitiativeFactory(owner=pm)
    services.stakeholder_add(initiative=initiative, user=other_pm, role="I", actor=pm,
                             now=FIXED_NOW)

    with pytest.raises(DomainError, match="already Informed"):
        services.stakeholder_add(initiative=initiative, user=other_pm, role="I", actor=pm,
                                 now=FIXED_NOW)


def test_the_accountable_owner_cannot_be_removed(pm):
    initiative = services.initiative_create(actor=pm, now=FIXED_NOW, title="Claims bot",
                                            team=InitiativeFactory().team)
    accountable = Stakeholder.objects.get(initiative=initiative, role="A")

    with pytest.raises(DomainError, match="one Accountable person"):
        services.stakeholder_remove(stakeholder=accountable, actor=pm, now=FIXED_NOW)

    assert Stakeholder.objects.filter(pk=accountable.pk).exists()


@pytest.mark.parametrize("case", ["self", "twice", "cycle"])
def test_bad_dependencies_are_refused(pm, case):
    a, b = InitiativeFactory(owner=pm), InitiativeFactory(owner=pm)
    services.dependency_add(initiative=a, depends_on=b, actor=pm, now=FIXED_NOW)
    initiative, depends_on, message = {
        "self": (a, a, "cannot depend on itself"),
        "twice": (a, b, "already depends on"),
        "cycle": (b, a, "already depends on this initiative"),
    }[case]

    with pytest.raises(DomainError, match=message):
        services.dependency_add(initiative=initiative, depends_on=depends_on, actor=pm,
                                now=FIXED_NOW)

    assert Dependency.objects.count() == 1


# --- Pages ---------------------------------------------------------------------------------

@pytest.mark.parametrize("persona", ["pm", "tpm"])
def test_owner_and_tpm_name_a_responsible_person(client, request, pm, other_pm, persona):
    initiative = InitiativeFactory(owner=pm)
    client.force_login(request.getfixturevalue(persona))

    response = client.post(people_url(initiative), {"user": other_pm.pk, "role": "R"})

    assert response.status_code == 302
    assert Stakeholder.objects.filter(initiative=initiative, user=other_pm, role="R").exists()


def test_a_newly_responsible_pm_may_then_edit(client, pm, other_pm):
    initiative = InitiativeFactory(owner=pm)
    client.force_login(pm)
    client.post(people_url(initiative), {"user": other_pm.pk, "role": "R"})
    client.force_login(other_pm)

    body = client.get(f"/initiatives/{initiative.pk}/").content.decode()

    assert "Post an update" in body


@pytest.mark.parametrize(("data", "field"), [
    ({"user": "999999", "role": "R"}, "user"),
    ({"role": "R"}, "user"),
    ({"user": "", "role": "A"}, "role"),
    ({"user": "", "role": "Z"}, "role"),
])
def test_bad_people_input_gets_a_field_error(client, pm, other_pm, data, field):
    initiative = InitiativeFactory(owner=pm)
    client.force_login(pm)
    data = {**data, "user": data.get("user") or other_pm.pk} if field == "role" else data

    response = client.post(people_url(initiative), data)

    assert response.status_code == 400
    assert field in response.context["people_form"].errors
    assert not Stakeholder.objects.filter(initiative=initiative).exists()


def test_naming_someone_who_left_shows_the_refusal_on_the_field(client, pm):
    initiative = InitiativeFactory(owner=pm)
    departed = UserFactory(is_active=False)
    client.force_login(pm)

    response = client.post(people_url(initiative), {"user": departed.pk, "role": "R"})

    assert "user" in response.context["people_form"].errors
    assert not Stakeholder.objects.filter(user=departed).exists()


@pytest.mark.parametrize("persona", ["other_pm", "reviewer", "leader"])
def test_read_only_roles_cannot_change_people_or_dependencies(client, request, pm, other_pm,
                                                              persona):
    initiative = InitiativeFactory(owner=pm)
    upstream = InitiativeFactory()
    stake = Stakeholder.objects.create(initiative=initiative, user=other_pm, role="C")
    services.dependency_add(initiative=initiative, depends_on=upstream, actor=pm,
                            now=FIXED_NOW)
    client.force_login(request.getfixturevalue(persona))

    responses = [
        client.post(people_url(initiative), {"user": other_pm.pk, "role": "R"}),
        client.post(f"{people_url(initiative)}{stake.pk}/remove/"),
        client.post(deps_url(initiative), {"depends_on": str(InitiativeFactory().pk)}),
        client.post(f"{deps_url(initiative)}{upstream.pk}/remove/"),
    ]

    assert [r.status_code for r in responses] == [403] * 4
    assert list(Stakeholder.objects.values_list("role", flat=True)) == ["C"]
    assert Dependency.objects.count() == 1


def test_outsider_gets_not_found(client, pm, outsider, other_pm):
    initiative = InitiativeFactory(owner=pm)
    client.force_login(outsider)

    response = client.post(people_url(initiative), {"user": other_pm.pk, "role": "R"})

    assert response.status_code == 404
    assert not Stakeholder.objects.exists()


def test_removing_a_person_keeps_it_in_the_history(client, pm, other_pm):
    initiative = InitiativeFactory(owner=pm)
    stake = Stakeholder.objects.create(initiative=initiative, user=other_pm, role="R")
    client.force_login(pm)

    client.post(f"{people_url(initiative)}{stake.pk}/remove/")

    assert not Stakeholder.objects.filter(pk=stake.pk).exists()
    deleted = Stakeholder.history.filter(id=stake.pk, history_type="-").get()
    assert deleted.history_user == pm
    assert Activity.objects.get(kind="people_changed").details == {"removed": "other-pm",
                                                                   "role": "R"}


@pytest.mark.parametrize("named_by", ["number", "#number", "title", "part of the title"])
def test_tpm_adds_a_dependency_by_number_or_title(client, pm, tpm, named_by):
    initiative = InitiativeFactory(owner=pm)
    upstream = InitiativeFactory(title="Vendor master data cleanup")
    text = {"number": str(upstream.pk), "#number": f"#{upstream.pk}",
            "title": "vendor master data cleanup", "part of the title": "master data"}[named_by]
    client.force_login(tpm)

    response = client.post(deps_url(initiative), {"depends_on": text})

    assert response.status_code == 302
    assert Dependency.objects.filter(initiative=initiative, depends_on=upstream).exists()
    body = client.get(f"/initiatives/{initiative.pk}/").content.decode()
    assert "now depends on “Vendor master data cleanup”" in body


@pytest.mark.parametrize(("text", "message"), [
    ("", "This field is required."),
    ("999999", "No initiative has the number 999999."),
    ("quantum", "No initiative is called"),
    ("bot", "More than one initiative matches"),
])
def test_an_unclear_dependency_gets_a_field_error(client, pm, text, message):
    initiative = InitiativeFactory(owner=pm)
    InitiativeFactory(title="Returns bot")
    InitiativeFactory(title="FAQ bot")
    client.force_login(pm)

    response = client.post(deps_url(initiative), {"depends_on": text})

    assert response.status_code == 400
    assert message in str(response.context["dependency_form"].errors["depends_on"])
    assert not Dependency.objects.exists()


def test_a_dependency_loop_is_refused_on_the_field(client, pm):
    a = InitiativeFactory(owner=pm, title="Alpha")
    b = InitiativeFactory(owner=pm, title="Beta")
    services.dependency_add(initiative=a, depends_on=b, actor=pm, now=FIXED_NOW)
    client.force_login(pm)

    response = client.post(deps_url(b), {"depends_on": str(a.pk)})

    assert "already depends on this initiative" in str(
        response.context["dependency_form"].errors["depends_on"])
    assert Dependency.objects.count() == 1


def test_removing_a_dependency(client, pm):
    a, b = InitiativeFactory(owner=pm), InitiativeFactory(owner=pm)
    services.dependency_add(initiative=a, depends_on=b, actor=pm, now=FIXED_NOW)
    client.force_login(pm)

    response = client.post(f"{deps_url(a)}{b.pk}/remove/")

    assert response.status_code == 302
    assert not Dependency.objects.exists()
    assert Initiative.objects.count() == 2


def test_tpm_finds_reassign_on_the_initiative_page_and_a_pm_does_not(client, pm, tpm):
    initiative = InitiativeFactory(owner=pm)
    reassign = f"/initiatives/{initiative.pk}/reassign/"

    client.force_login(tpm)
    assert reassign in client.get(f"/initiatives/{initiative.pk}/").content.decode()
    client.force_login(pm)
    assert reassign not in client.get(f"/initiatives/{initiative.pk}/").content.decode()
