"""The exit contract on the initiative page: its terms and status, the metric chart, the
measurements recorded in the browser, and the sponsor's override of the production gate."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portfolio import services
from portfolio.access import initiative_rights
from portfolio.models import Activity, ContractOverride, Initiative, Measurement, Stage
from portfolio.outcomes.views import contract_context
from tests.factories import (
    FIXED_NOW,
    InitiativeFactory,
    UserFactory,
    measure,
    ready_for_production,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


def page(initiative):
    return f"/initiatives/{initiative.pk}/"


def record(client, initiative, **data):
    values = {"measured_on": "2026-10-30", "value": "31.5",
              "source_url": "https://dash.example.com/deflection", "source_note": ""}
    values.update(data)
    return client.post(f"{page(initiative)}measurements/", values)


@pytest.fixture
def pilot(pm):
    """A pilot whose contract says 12% → 40% (higher is better), long enough in pilot."""
    return InitiativeFactory(owner=pm, stage="pilot", risk_tier="minimal", contracted=True,
                             success_metric="Chats resolved without an agent",
                             baseline_value=Decimal(12), target_value=Decimal(40),
                             stage_changed_at=FIXED_NOW - timedelta(days=61))


@pytest.fixture
def sponsor(db):
    return UserFactory(username="sam-sponsor", first_name="Sam", last_name="Sponsor",
                       roles=["pm"])


def test_the_card_shows_the_contract_with_its_unit_and_business_case(client, pm, pilot):
    client.force_login(pm)

    body = client.get(page(pilot)).content.decode()

    assert "Exit contract" in body
    assert "Chats resolved without an agent" in body
    assert "higher is better" in body
    assert "<dd>12%</dd>" in body
    assert "<dd>40%</dd>" in body
    assert "1 Sep 2026 – 31 Mar 2027" in body
    assert "EUR 240,000 a year" in body
    assert "EUR 40,000 a year" in body
    assert "Not measured yet" in body


def test_an_incomplete_contract_names_what_is_missing(client, pm):
    initiative = InitiativeFactory(owner=pm, stage="assessment",
                                   success_metric="Handling time", metric_unit="minutes")
    client.force_login(pm)

    body = client.get(page(initiative)).content.decode()

    assert "Incomplete" in body
    assert "Direction, baseline, target, measurement window, decision date" in body


def test_the_owner_records_a_measurement_and_sees_it_in_the_table_and_chart(client, pm, pilot):
    client.force_login(pm)

    response = record(client, pilot)

    assert response.status_code == 302
    [measurement] = Measurement.objects.filter(initiative=pilot)
    assert measurement.value == Decimal("31.5")
    assert measurement.recorded_by == pm
    body = client.get(response.url).content.decode()
    assert "Recorded 31.5% on 30 Oct 2026." in body
    table = body.split('class="data stack measurements"')[1].split("</table>")[0]
    assert "30 Oct 2026" in table
    assert "31.5%" in table
    assert "Olive Owner" in table
    assert 'href="https://dash.example.com/deflection"' in table
    chart = body.split('<svg')[1].split("</svg>")[0]
    assert 'role="img"' in chart
    assert "30 Oct 2026: 31.5% (short of the target)" in chart
    assert "Target 40%" in chart
    assert "Baseline 12%" in chart
    assert "style=" not in chart
    assert "Target missed" in body


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"measured_on": "2026-11-03"}, "measured_on",
     "A measurement cannot be dated after today (2 Nov 2026)."),
    ({"source_url": "", "source_note": "  "}, "source_note",
     "Say where the number comes from: a link or a note."),
    ({"value": "lots"}, "value", "Enter a number."),
])
def test_a_bad_measurement_is_a_field_error_and_nothing_is_saved(client, pm, pilot, data,
                                                                 field, message):
    client.force_login(pm)

    response = record(client, pilot, **data)

    assert response.status_code == 400
    body = response.content.decode()
    assert f'id="id_measurement_{field}_error"' in body
    assert message in body
    assert not Measurement.objects.exists()
    assert not Activity.objects.filter(kind=Activity.Kind.MEASUREMENT_RECORDED).exists()


def test_a_reader_without_edit_sees_no_form_and_cannot_record(client, pilot, other_pm, leader):
    for reader in (other_pm, leader):
        client.force_login(reader)
        body = client.get(page(pilot)).content.decode()
        assert "Record a measurement" not in body
        assert "measurements/import/" not in body

        assert record(client, pilot).status_code == 403
    assert not Measurement.objects.exists()


def test_an_outsider_gets_not_found(client, pilot, outsider):
    client.force_login(outsider)

    assert record(client, pilot).status_code == 404


def test_a_responsible_pm_records_measurements_too(client, pilot, other_pm):
    services.stakeholder_add(initiative=pilot, user=other_pm, role="R", actor=pilot.owner,
                             now=FIXED_NOW)
    client.force_login(other_pm)

    assert record(client, pilot).status_code == 302
    assert Measurement.objects.get().recorded_by == other_pm


def test_the_old_free_text_contract_is_shown_to_everyone_and_editors_get_a_link(
        client, pm, leader):
    initiative = InitiativeFactory(owner=pm, contract_to_review="Deflect more chats, soon.")
    edit = f"/initiatives/{initiative.pk}/edit/#id_success_metric"

    client.force_login(leader)
    body = client.get(page(initiative)).content.decode()
    assert "The old free-text contract could not be read" in body
    assert "Deflect more chats, soon." in body
    assert edit not in body

    client.force_login(pm)
    assert edit in client.get(page(initiative)).content.decode()


# --- The override -------------------------------------------------------------------------------

def override(client, initiative, reason="The queue halved; the metric lags.",
             kind="target_missed"):
    return client.post(f"{page(initiative)}overrides/", {"kind": kind, "reason": reason})


def test_the_sponsor_sees_the_gate_numbers_overrides_and_the_pilot_enters_production(
        client, pm, pilot, sponsor):
    Initiative.objects.filter(pk=pilot.pk).update(sponsor=sponsor)
    measure(pilot, Decimal(22), on=date(2026, 10, 20))
    client.force_login(sponsor)

    body = client.get(page(pilot)).content.decode()
    assert "22% measured on 20 Oct 2026, target 40%, baseline 12%" in body
    assert "Let it into production anyway" in body

    response = override(client, pilot)

    assert response.status_code == 302
    given = ContractOverride.objects.get(initiative=pilot)
    assert given.decided_by == sponsor
    assert given.kind == "target_missed"
    body = client.get(page(pilot)).content.decode()
    overrides = body.split('class="overrides"')[1].split("</ul>")[0]
    assert "Target missed" in overrides
    assert "Sam Sponsor" in overrides
    assert "The queue halved; the metric lags." in overrides
    assert "22% measured on 20 Oct 2026, target 40%, baseline 12%" in overrides
    assert "Let it into production anyway" not in body

    pilot.refresh_from_db()
    services.initiative_move_stage(initiative=pilot, to_stage=Stage.PRODUCTION, actor=pm,
                                   now=FIXED_NOW)
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PRODUCTION


def test_without_the_right_a_reader_sees_the_blocker_and_who_may_override(client, pm, pilot,
                                                                          sponsor):
    Initiative.objects.filter(pk=pilot.pk).update(sponsor=sponsor)
    measure(pilot, Decimal(22), on=date(2026, 10, 20))
    client.force_login(pm)

    body = client.get(page(pilot)).content.decode()

    assert "22% measured on 20 Oct 2026, target 40%, baseline 12%" in body
    assert "The sponsor (Sam Sponsor) or leadership may override it" in body
    assert "Let it into production anyway" not in body


def test_leadership_may_override_too(client, pilot, leader):
    measure(pilot, Decimal(22))
    client.force_login(leader)

    assert override(client, pilot).status_code == 302
    assert ContractOverride.objects.get().decided_by == leader


@pytest.mark.parametrize("persona", ["pm", "other_pm"])
def test_a_pm_who_is_not_the_sponsor_cannot_override(client, request, pilot, persona):
    measure(pilot, Decimal(22))
    client.force_login(request.getfixturevalue(persona))

    assert override(client, pilot).status_code == 403
    assert not ContractOverride.objects.exists()


def test_an_override_needs_a_reason(client, pilot, leader):
    measure(pilot, Decimal(22))
    client.force_login(leader)

    response = override(client, pilot, reason="   ")

    assert response.status_code == 400
    assert "An override needs a reason" in response.content.decode()
    assert not ContractOverride.objects.exists()


def test_nothing_to_override_is_said_on_the_page(client, pilot, leader):
    ready_for_production(pilot, value=Decimal(41))   # the target is met: nothing holds it back
    client.force_login(leader)

    response = override(client, pilot)

    assert response.status_code == 400
    assert "Nothing to override" in response.content.decode()


# --- Queries ------------------------------------------------------------------------------------

def _page_queries(client, initiative) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page(initiative)).status_code == 200
    return len(queries)


def _several_measurements(pilot):
    for day in range(11, 30):
        measure(pilot, Decimal(20 + day % 7), on=date(2026, 9, day), by=UserFactory())
    ContractOverride.objects.create(initiative=pilot, kind="pilot_too_short",
                                    stage_since=pilot.stage_changed_at, overridden="x",
                                    reason="y", decided_by=UserFactory(), decided_at=FIXED_NOW)


def test_the_page_query_count_does_not_grow_with_the_measurements(
        client, pm, pilot, django_assert_max_num_queries):
    measure(pilot, Decimal(20), on=date(2026, 9, 10))
    client.force_login(pm)
    one = _page_queries(client, pilot)
    _several_measurements(pilot)

    with django_assert_max_num_queries(one):
        body = client.get(page(pilot)).content.decode()
    wide = body.split("metric-chart-wide")[1].split("</svg>")[0]
    assert wide.count("(short of the target)</title></circle>") == 20
    assert body.count("<tr>") >= 20


def test_the_contract_card_costs_six_queries(pm, pilot, django_assert_max_num_queries):
    measure(pilot, Decimal(20), on=date(2026, 9, 10))
    _several_measurements(pilot)
    rights = initiative_rights(pm, pilot, responsible=False)

    # The gate's evidence (2), the measurements with who recorded them, the overrides with
    # who gave them, what an override may lift (the gate's evidence again, 2).
    with django_assert_max_num_queries(6):
        card = contract_context(initiative=pilot, rights=rights, now=FIXED_NOW)
    assert len(card["rows"]) == 20
    assert len(card["overrides"]) == 1
