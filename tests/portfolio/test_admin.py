"""The admin shows the portfolio with each record's history, and honours the lifecycle."""

import pytest

from portfolio import services
from portfolio.models import Dependency, Initiative
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory

pytestmark = pytest.mark.django_db


def test_admin_history_shows_who_changed_what(client, superuser, pm):
    initiative = services.initiative_create(actor=pm, now=FIXED_NOW, title="Fraud triage",
                                            team=TeamFactory())
    services.initiative_update(initiative=initiative, actor=superuser, now=FIXED_NOW,
                               expected_version=1, changes={"title": "Fraud triage agent"})
    client.force_login(superuser)

    page = client.get(f"/admin/portfolio/initiative/{initiative.pk}/history/").content.decode()

    assert "root-admin" in page
    assert "owner-pm" in page
    assert "Fraud triage agent" in page


def test_admin_edit_goes_through_the_service_and_bumps_the_version(client, superuser):
    initiative = InitiativeFactory(title="Old title", summary="s")
    client.force_login(superuser)
    url = f"/admin/portfolio/initiative/{initiative.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update({
        "title": "New title", "team": initiative.team_id, "owner": initiative.owner_id,
        "loaded_version": 1,
        "stakeholders-TOTAL_FORMS": 0, "stakeholders-INITIAL_FORMS": 0,
        "dependency_links-TOTAL_FORMS": 0, "dependency_links-INITIAL_FORMS": 0,
        "transitions-TOTAL_FORMS": 0, "transitions-INITIAL_FORMS": 0,
    })
    data = {key: value for key, value in data.items() if key not in ("depends_on",)}

    response = client.post(url, data)

    initiative.refresh_from_db()
    assert response.status_code == 302
    assert initiative.title == "New title"
    assert initiative.version == 2


def test_admin_does_not_offer_the_stage_as_an_editable_field(client, superuser):
    initiative = InitiativeFactory()
    client.force_login(superuser)

    form = client.get(f"/admin/portfolio/initiative/{initiative.pk}/change/").context[
        "adminform"].form

    assert "stage" not in form.fields
    assert "version" not in form.fields


def test_admin_adds_an_initiative_through_the_service(client, superuser, pm):
    team = TeamFactory(name="Data Platform", slug="data-platform")
    client.force_login(superuser)

    response = client.post("/admin/portfolio/initiative/add/", {
        "title": "Feature store", "summary": "Shared features", "category": "ai_analytics",
        "team": team.pk, "owner": pm.pk, "health": "on_track", "autonomy_level": "assistive",
        "risk_tier": "minimal",
        "stakeholders-TOTAL_FORMS": 0, "stakeholders-INITIAL_FORMS": 0,
        "dependency_links-TOTAL_FORMS": 0, "dependency_links-INITIAL_FORMS": 0,
        "transitions-TOTAL_FORMS": 0, "transitions-INITIAL_FORMS": 0,
    })

    assert response.status_code == 302
    created = Initiative.objects.get(title="Feature store")
    assert (created.owner, created.stage, created.created_by) == (pm, "idea", superuser)
    assert created.stakeholders.filter(user=pm, role="A").exists()


def test_admin_refuses_a_dependency_that_closes_a_loop(client, superuser, pm):
    first, second = InitiativeFactory(title="First"), InitiativeFactory(title="Second")
    services.dependency_add(initiative=first, depends_on=second, actor=pm, now=FIXED_NOW)
    client.force_login(superuser)

    response = client.post("/admin/portfolio/dependency/add/",
                           {"initiative": second.pk, "depends_on": first.pk})

    assert response.status_code == 200
    assert "already depends on this initiative" in response.content.decode()
    assert Dependency.objects.count() == 1


# --- The AI profile is an explicit choice here too ----------------------------------------

ADD_URL = "/admin/portfolio/initiative/add/"
NO_INLINES = {"stakeholders-TOTAL_FORMS": 0, "stakeholders-INITIAL_FORMS": 0,
              "dependency_links-TOTAL_FORMS": 0, "dependency_links-INITIAL_FORMS": 0,
              "transitions-TOTAL_FORMS": 0, "transitions-INITIAL_FORMS": 0}


def admin_add(client, pm, **profile):
    data = {"title": "Feature store", "category": "ai_analytics", "team": TeamFactory().pk,
            "owner": pm.pk, "health": "on_track", **profile, **NO_INLINES}
    return client.post(ADD_URL, data)


def test_the_admin_add_form_preselects_no_risk_tier_or_autonomy(client, superuser):
    client.force_login(superuser)

    page = client.get(ADD_URL).content.decode()

    for name in ("risk_tier", "autonomy_level"):
        select = page.split(f'name="{name}"')[1].split("</select>")[0]
        assert '<option value="" selected>Choose…</option>' in select
        assert '<option value="not_sure">Not sure</option>' in select
        assert select.count("selected") == 1


def test_an_admin_who_skips_the_ai_profile_is_refused_on_its_fields(client, superuser, pm):
    client.force_login(superuser)

    response = admin_add(client, pm)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["risk_tier"] == ["Choose the EU AI Act risk tier, or “Not sure”."]
    assert errors["autonomy_level"] == ["Choose the autonomy level, or “Not sure”."]
    assert not Initiative.objects.exists()


def test_not_sure_in_the_admin_is_the_cautious_profile_flagged(client, superuser, pm):
    client.force_login(superuser)

    response = admin_add(client, pm, risk_tier="not_sure", autonomy_level="assistive")

    assert response.status_code == 302
    created = Initiative.objects.get()
    assert (created.risk_tier, created.risk_tier_assumed) == ("high", True)
    assert (created.autonomy_level, created.autonomy_assumed) == ("assistive", False)


def test_an_admin_edit_keeps_not_sure_until_someone_chooses(client, superuser):
    initiative = InitiativeFactory(title="Old title", risk_tier="high", risk_tier_assumed=True)
    client.force_login(superuser)
    url = f"/admin/portfolio/initiative/{initiative.pk}/change/"
    form = client.get(url).context["adminform"].form
    assert form.initial["risk_tier"] == "not_sure"   # not "high": saving keeps the flag
    data = {name: value for name, value in form.initial.items()
            if value is not None and name != "depends_on"}
    data.update({"title": "New title", "loaded_version": 1, **NO_INLINES})

    client.post(url, data)
    initiative.refresh_from_db()
    assert (initiative.title, initiative.risk_tier, initiative.risk_tier_assumed) == (
        "New title", "high", True)

    client.post(url, {**data, "risk_tier": "high", "loaded_version": 2})
    initiative.refresh_from_db()
    assert (initiative.risk_tier, initiative.risk_tier_assumed) == ("high", False)
