"""The admin never loses the story: people who leave are deactivated, not deleted; status
updates are append-only; roles and dependencies change through the services, on the
timeline; a past version is restored only by someone who may change the record.

Driven through the real admin as a staff user holding every model permission (not a
superuser), and as a superuser.
"""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model

from portfolio import services
from portfolio.accounts import CANNOT_DEACTIVATE_SELF
from portfolio.models import Activity, Dependency, Stakeholder, Update
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()

# The user page's inlines (single sign-on identity, pinned roles): none sent.
NO_ACCOUNT_INLINES = {"external_identity-TOTAL_FORMS": 0, "external_identity-INITIAL_FORMS": 0,
                      "role_pins-TOTAL_FORMS": 0, "role_pins-INITIAL_FORMS": 0}


@pytest.fixture
def responsible_pm(other_pm, pm):
    """``other-pm`` is Responsible for pm's initiative, and has done nothing else."""
    initiative = services.initiative_create(actor=pm, now=FIXED_NOW, title="Claims triage",
                                            team=TeamFactory())
    services.stakeholder_add(initiative=initiative, user=other_pm, role="R", actor=pm,
                             now=FIXED_NOW)
    return other_pm


def timeline(client, initiative):
    return client.get(f"/initiatives/{initiative.pk}/").content.decode()


# --- Users: deactivated, not deleted ----------------------------------------------------------

def test_deleting_someone_with_a_role_is_refused_and_the_page_says_deactivate(
        client, any_admin, responsible_pm):
    client.force_login(any_admin)
    url = f"/admin/auth/user/{responsible_pm.pk}/delete/"

    page = client.get(url).content.decode()
    response = client.post(url, {"post": "yes"})

    assert "Cannot delete" in page
    assert "deactivate the account instead" in page
    assert "1 stakeholder as user" in page
    assert response.status_code == 200  # the refusal again, not a redirect to the list
    assert User.objects.filter(pk=responsible_pm.pk).exists()
    assert Stakeholder.objects.filter(user=responsible_pm, role="R").count() == 1


def test_deleting_them_from_the_list_is_refused_too(client, any_admin, responsible_pm):
    client.force_login(any_admin)

    response = client.post("/admin/auth/user/", {
        "action": "delete_selected", "_selected_action": [responsible_pm.pk], "post": "yes"})

    assert response.status_code == 200
    assert "deactivate the account instead" in response.content.decode()
    assert User.objects.filter(pk=responsible_pm.pk).exists()
    assert Stakeholder.objects.filter(user=responsible_pm).exists()


def test_someone_the_record_never_names_can_still_be_deleted(client, full_staff):
    mistake = UserFactory(username="created-by-mistake")
    client.force_login(full_staff)

    response = client.post(f"/admin/auth/user/{mistake.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not User.objects.filter(username="created-by-mistake").exists()


def test_deactivating_an_owner_shows_them_as_an_owner_who_left(client, full_staff, pm, tpm):
    initiative = services.initiative_create(actor=pm, now=FIXED_NOW, title="Claims triage",
                                            team=TeamFactory())
    client.force_login(full_staff)

    response = client.post("/admin/auth/user/", {
        "action": "deactivate_users", "_selected_action": [pm.pk]})

    assert response.status_code == 302
    pm.refresh_from_db()
    assert not pm.is_active
    assert Stakeholder.objects.filter(user=pm, initiative=initiative, role="A").exists()
    client.force_login(tpm)
    ownership = client.get("/initiatives/ownership/").content.decode()
    assert "Claims triage" in ownership
    assert "owner left" in ownership.lower()
    assert "owner-pm left (Accountable)" in timeline(client, initiative)


def test_leaving_is_recorded_once_on_each_initiative_and_is_not_activity(full_staff, pm, other_pm):
    initiative = services.initiative_create(actor=pm, now=FIXED_NOW, title="Claims triage",
                                            team=TeamFactory())
    services.stakeholder_add(initiative=initiative, user=other_pm, role="R", actor=pm,
                             now=FIXED_NOW)
    later = FIXED_NOW + timedelta(days=30)
    from portfolio.accounts import user_deactivate

    assert user_deactivate(user=other_pm, actor=full_staff, now=later) is True
    assert user_deactivate(user=other_pm, actor=full_staff, now=later) is False

    left = Activity.objects.filter(initiative=initiative, details__left="other-pm")
    assert [(event.actor, event.at, event.details["role"]) for event in left] == [
        (full_staff, later, "R")]
    initiative.refresh_from_db()
    assert initiative.last_activity_at == FIXED_NOW  # the idle clock keeps running


def test_unticking_active_on_the_user_page_deactivates_through_the_service(
        client, full_staff, responsible_pm):
    client.force_login(full_staff)
    url = f"/admin/auth/user/{responsible_pm.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items()
            if value is not None and name not in ("password", "last_login", "date_joined")}
    data.update({"groups": [group.pk for group in responsible_pm.groups.all()],
                 "user_permissions": [], "date_joined_0": "2026-01-05",
                 "date_joined_1": "09:00:00", **NO_ACCOUNT_INLINES})
    data.pop("is_active")  # an unticked checkbox is not sent

    response = client.post(url, data)

    assert response.status_code == 302
    responsible_pm.refresh_from_db()
    assert not responsible_pm.is_active
    assert Activity.objects.filter(details__left="other-pm", actor=full_staff).count() == 1


def test_an_admin_cannot_deactivate_themselves(client, full_staff):
    client.force_login(full_staff)

    response = client.post("/admin/auth/user/", {
        "action": "deactivate_users", "_selected_action": [full_staff.pk]}, follow=True)

    assert CANNOT_DEACTIVATE_SELF in response.content.decode()
    full_staff.refresh_from_db()
    assert full_staff.is_active


# --- Status updates: append-only ----------------------------------------------------------------

@pytest.fixture
def update(pm):
    initiative = services.initiative_create(actor=pm, now=FIXED_NOW, title="Claims triage",
                                            team=TeamFactory())
    return services.update_post(initiative=initiative, author=pm, body="Pilot users onboarded.",
                                health="on_track", now=FIXED_NOW)


def test_staff_can_neither_delete_nor_change_a_status_update(client, full_staff, update):
    client.force_login(full_staff)
    change_url = f"/admin/portfolio/update/{update.pk}/change/"

    delete = client.post(f"/admin/portfolio/update/{update.pk}/delete/", {"post": "yes"})
    bulk = client.post("/admin/portfolio/update/", {
        "action": "delete_selected", "_selected_action": [update.pk], "post": "yes"})
    change = client.post(change_url, {"initiative": update.initiative_id,
                                      "author": update.author_id, "body": "Rewritten.",
                                      "health": "off_track", "created_at_0": "2026-11-02",
                                      "created_at_1": "09:00:00"})
    add = client.get("/admin/portfolio/update/add/")

    assert (delete.status_code, change.status_code, add.status_code) == (403, 403, 403)
    assert bulk.status_code in (200, 302)
    update.refresh_from_db()
    assert update.body == "Pilot users onboarded."
    assert client.get(change_url).status_code == 200  # still readable


def test_a_superuser_may_delete_one_explicitly_and_the_history_keeps_it(client, superuser,
                                                                         update):
    client.force_login(superuser)

    response = client.post(f"/admin/portfolio/update/{update.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Update.objects.filter(pk=update.pk).exists()
    removed = Update.history.filter(id=update.pk).latest("history_date")
    assert (removed.history_type, removed.body, removed.history_user) == (
        "-", "Pilot users onboarded.", superuser)


def test_a_past_version_of_an_update_cannot_be_restored_by_staff(client, full_staff, superuser,
                                                                 update):
    original = update.history.earliest("history_date")
    client.force_login(superuser)
    client.post(f"/admin/portfolio/update/{update.pk}/change/", {
        "initiative": update.initiative_id, "author": update.author_id, "body": "Corrected.",
        "health": "on_track", "created_at_0": "2026-11-02", "created_at_1": "09:00:00"})
    client.force_login(full_staff)

    response = client.post(
        f"/admin/portfolio/update/{update.pk}/history/{original.history_id}/", {
            "initiative": update.initiative_id, "author": update.author_id,
            "body": "Pilot users onboarded.", "health": "on_track",
            "created_at_0": "2026-11-02", "created_at_1": "09:00:00"})

    assert response.status_code == 403
    update.refresh_from_db()
    assert update.body == "Corrected."


# --- Roles and dependencies: through the services, on the timeline ----------------------------

def test_removing_a_role_in_the_admin_is_on_the_timeline(client, full_staff, responsible_pm):
    stake = Stakeholder.objects.get(user=responsible_pm, role="R")
    client.force_login(full_staff)

    response = client.post(f"/admin/portfolio/stakeholder/{stake.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Stakeholder.objects.filter(pk=stake.pk).exists()
    event = Activity.objects.get(kind="people_changed", details__removed="other-pm")
    assert (event.actor, event.details["role"]) == (full_staff, "R")
    assert "removed other-pm (Responsible)" in timeline(client, stake.initiative)


def test_the_accountable_role_is_not_deleted_apart_from_the_owner(client, full_staff, pm):
    initiative = services.initiative_create(actor=pm, now=FIXED_NOW, title="Claims triage",
                                            team=TeamFactory())
    accountable = Stakeholder.objects.get(initiative=initiative, role="A")
    client.force_login(full_staff)

    response = client.post(f"/admin/portfolio/stakeholder/{accountable.pk}/delete/",
                           {"post": "yes"})

    assert response.status_code == 403
    assert Stakeholder.objects.filter(pk=accountable.pk).exists()


def test_adding_a_role_in_the_admin_is_on_the_timeline_and_follows_the_rules(
        client, full_staff, pm, other_pm):
    initiative = services.initiative_create(actor=pm, now=FIXED_NOW, title="Claims triage",
                                            team=TeamFactory())
    client.force_login(full_staff)

    added = client.post("/admin/portfolio/stakeholder/add/", {
        "initiative": initiative.pk, "user": other_pm.pk, "role": "C"})
    second_accountable = client.post("/admin/portfolio/stakeholder/add/", {
        "initiative": initiative.pk, "user": other_pm.pk, "role": "A"}, follow=True)

    assert added.status_code == 302
    assert Activity.objects.filter(kind="people_changed", details__added="other-pm",
                                   details__role="C", actor=full_staff).count() == 1
    assert "one Accountable person" in second_accountable.content.decode()
    assert list(initiative.stakeholders.filter(role="A").values_list("user", flat=True)) == [
        pm.pk]


def test_removing_a_role_on_the_initiative_page_of_the_admin_is_on_the_timeline(
        client, superuser, responsible_pm):
    stake = Stakeholder.objects.get(user=responsible_pm, role="R")
    initiative = stake.initiative
    client.force_login(superuser)
    url = f"/admin/portfolio/initiative/{initiative.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data = {key: value for key, value in data.items() if key != "depends_on"}
    stakes = list(initiative.stakeholders.order_by("role", "user"))
    data.update({
        "team": initiative.team_id, "owner": initiative.owner_id, "loaded_version": 1,
        "stakeholders-TOTAL_FORMS": len(stakes), "stakeholders-INITIAL_FORMS": len(stakes),
        "dependency_links-TOTAL_FORMS": 0, "dependency_links-INITIAL_FORMS": 0,
        "transitions-TOTAL_FORMS": 0, "transitions-INITIAL_FORMS": 0,
    })
    for index, row in enumerate(stakes):
        data[f"stakeholders-{index}-id"] = row.pk
        data[f"stakeholders-{index}-initiative"] = initiative.pk
        data[f"stakeholders-{index}-user"] = row.user_id
        data[f"stakeholders-{index}-role"] = row.role
        if row.pk == stake.pk:
            data[f"stakeholders-{index}-DELETE"] = "on"

    response = client.post(url, data)

    assert response.status_code == 302
    assert not Stakeholder.objects.filter(pk=stake.pk).exists()
    assert Activity.objects.filter(kind="people_changed", details__removed="other-pm",
                                   actor=superuser).count() == 1


def test_removing_a_dependency_in_the_admin_is_on_the_timeline(client, full_staff, pm):
    first, second = InitiativeFactory(title="First"), InitiativeFactory(title="Second")
    link = services.dependency_add(initiative=first, depends_on=second, actor=pm,
                                   now=FIXED_NOW)
    client.force_login(full_staff)

    response = client.post(f"/admin/portfolio/dependency/{link.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Dependency.objects.exists()
    event = Activity.objects.get(initiative=first, kind="dependency_changed",
                                 details__removed=second.pk)
    assert event.actor == full_staff
