"""The admin shows outcomes read-only (measurements, contract overrides, value reviews: the
services write them), and holds the initiative's exit contract to the intake form's rules."""

from datetime import timedelta
from decimal import Decimal

import pytest

from portfolio.models import ContractOverride, Initiative, ValueReview
from tests.factories import FIXED_NOW, InitiativeFactory, UserFactory, measure

pytestmark = pytest.mark.django_db

PAGES = ["measurement", "contractoverride", "valuereview"]


@pytest.fixture
def outcomes(pm):
    initiative = InitiativeFactory(owner=pm, stage="production", contracted=True,
                                   title="Claims triage copilot")
    measurement = measure(initiative, Decimal("22.5"))
    override = ContractOverride.objects.create(
        initiative=initiative, kind="target_missed", stage_since=FIXED_NOW,
        overridden="22.5% measured on 2 Nov 2026, target 35%, baseline 18%",
        reason="Regulator deadline.", decided_by=UserFactory(username="the-sponsor"),
        decided_at=FIXED_NOW)
    review = ValueReview.objects.create(
        initiative=initiative, production_since=FIXED_NOW - timedelta(days=31), days=30,
        due_on=FIXED_NOW.date(), scheduled_at=FIXED_NOW, scheduled_run="test")
    return {"measurement": measurement, "contractoverride": override, "valuereview": review}


@pytest.mark.parametrize("model", PAGES)
def test_a_superuser_reads_each_outcome_page_without_an_add_button(client, superuser, outcomes,
                                                                    model):
    client.force_login(superuser)

    listing = client.get(f"/admin/portfolio/{model}/")
    one = client.get(f"/admin/portfolio/{model}/{outcomes[model].pk}/change/")

    assert listing.status_code == one.status_code == 200
    body = listing.content.decode()
    assert "Claims triage copilot" in body
    assert f'href="/admin/portfolio/{model}/add/"' not in body
    assert client.get(f"/admin/portfolio/{model}/add/").status_code == 403
    assert 'name="_save"' not in one.content.decode()  # nothing to save: read-only


@pytest.mark.parametrize("model", PAGES)
def test_no_one_changes_or_deletes_an_outcome_in_the_admin(client, superuser, outcomes, model):
    client.force_login(superuser)
    row = outcomes[model]

    delete = client.post(f"/admin/portfolio/{model}/{row.pk}/delete/", {"post": "yes"})

    assert delete.status_code == 403
    assert type(row).objects.filter(pk=row.pk).exists()


def test_the_value_review_list_filters_by_state(client, superuser, outcomes):
    client.force_login(superuser)

    waiting = client.get("/admin/portfolio/valuereview/", {"state": "pending"})
    recorded = client.get("/admin/portfolio/valuereview/", {"state": "recorded"})

    assert waiting.context["cl"].result_count == 1
    assert recorded.context["cl"].result_count == 0


def _change_data(client, initiative):
    url = f"/admin/portfolio/initiative/{initiative.pk}/change/"
    response = client.get(url)
    form = response.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    for formset in response.context["inline_admin_formsets"]:
        prefix = formset.formset.prefix
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    data.pop("depends_on", None)
    return url, data


def test_the_admin_saves_a_contract_through_the_service(client, superuser, pm):
    initiative = InitiativeFactory(owner=pm, contracted=True)
    client.force_login(superuser)
    url, data = _change_data(client, initiative)
    data.update({"team": initiative.team_id, "owner": pm.pk,
                 "production_owner": pm.pk, "loaded_version": 1,
                 "metric_direction": "lower", "target_value": "9.5"})

    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    initiative.refresh_from_db()
    assert (initiative.metric_direction, initiative.target_value, initiative.version) == (
        "lower", Decimal("9.5"), 2)


@pytest.mark.parametrize(("change", "field"), [
    ({"target_value": "10"}, "target_value"),
    ({"window_end": "2026-08-01"}, "window_end"),
    ({"predicted_annual_run_cost": "-1"}, "predicted_annual_run_cost"),
])
def test_a_contradictory_contract_is_a_field_error_in_the_admin(client, superuser, pm, change,
                                                                field):
    initiative = InitiativeFactory(owner=pm, contracted=True)
    client.force_login(superuser)
    url, data = _change_data(client, initiative)
    data.update({"team": initiative.team_id, "owner": pm.pk, "production_owner": pm.pk,
                 "loaded_version": 1, **change})

    response = client.post(url, data)

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == [field]
    assert Initiative.objects.get(pk=initiative.pk).version == 1


def test_the_admin_form_shows_the_contract_and_the_currency(client, superuser):
    initiative = InitiativeFactory(contracted=True)
    client.force_login(superuser)

    body = client.get(f"/admin/portfolio/initiative/{initiative.pk}/change/").content.decode()

    for shown in ("Exit contract", "Business case", "Predicted annual value (EUR)",
                  'name="window_start"', 'name="metric_direction"'):
        assert shown in body
