"""Governance on the portfolio's pages: the badge in the list, the panel on the initiative."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from governance import services
from governance.models import Checkpoint
from portfolio import services as portfolio_services
from tests.factories import InitiativeFactory, approve_all_checkpoints, measure

pytestmark = pytest.mark.django_db
AGENTIC = {"human-oversight", "autonomy-boundaries", "failure-recovery"}
BADGE = ">out of compliance</span>"
LIST_URL = "/initiatives/"


def in_production(pm, reviewer, now, **fields):
    initiative = InitiativeFactory(owner=pm, contracted=True, stage="production",
                                   title=fields.pop("title", "Claims agent"), **fields)
    measure(initiative)  # the target met inside the window
    services.checkpoints_sync(initiatives=[initiative], actor=pm, now=now)
    approve_all_checkpoints(initiative, reviewer=reviewer, at=now)
    return initiative


def page(client, initiative) -> str:
    response = client.get(initiative.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def list_page(client) -> str:
    response = client.get(LIST_URL)
    assert response.status_code == 200
    return response.content.decode()


def test_raising_autonomy_in_production_shows_out_of_compliance_at_once_until_approved(
        client, pm, reviewer):
    now = timezone.now()
    initiative = in_production(pm, reviewer, now - timedelta(days=30))
    client.force_login(pm)
    assert BADGE not in page(client, initiative)
    assert BADGE not in list_page(client)

    portfolio_services.initiative_update(initiative=initiative, actor=pm, now=now,
                                         expected_version=initiative.version,
                                         changes={"autonomy_level": "autonomous"})

    body = page(client, initiative)
    assert BADGE in body
    assert "Out of compliance." in body
    assert "Failure recovery" in body.split("Out of compliance.")[1].split("</div>")[0]
    assert "9 of 12</strong> checkpoints approved or waived" in body
    assert BADGE in list_page(client)

    for checkpoint in Checkpoint.objects.filter(initiative=initiative, type__code__in=AGENTIC):
        services.checkpoint_decide(checkpoint=checkpoint, actor=reviewer, approve=True,
                                   expected_version=checkpoint.version,
                                   evidence_notes="Oversight design reviewed.", now=now)

    body = page(client, initiative)
    assert BADGE not in body
    assert "Out of compliance." not in body
    assert "12 of 12</strong>" in body
    assert BADGE not in list_page(client)


def test_an_expired_waiver_shows_out_of_compliance(client, pm, reviewer, leader):
    now = timezone.now()
    initiative = in_production(pm, reviewer, now - timedelta(days=60))
    checkpoint = Checkpoint.objects.get(initiative=initiative, type__code="observability")
    services.checkpoint_waive(checkpoint=checkpoint, actor=reviewer,
                              justification="Dashboards land next sprint.",
                              expires_on=timezone.localdate(now) - timedelta(days=2),
                              expected_version=checkpoint.version, now=now - timedelta(days=30))
    client.force_login(leader)   # a read-only role sees it too

    body = page(client, initiative)

    assert BADGE in body
    assert "Waiver expired" in body
    assert BADGE in list_page(client)


def test_the_panel_names_what_blocks_the_next_stage_and_the_checkpoints(client, pm, reviewer):
    initiative = portfolio_services.initiative_create(
        actor=pm, now=timezone.now(), title="Claims copilot", team=InitiativeFactory().team,
        uses_personal_data=True)
    client.force_login(reviewer)

    body = page(client, initiative)

    assert "Entering <strong>assessment</strong> needs:" in body
    assert "EU AI Act risk classification (not started)" in body
    assert "Privacy and data-leakage review" in body
    assert "Map" in body                                      # its NIST function
    assert "0 of 10</strong> checkpoints" in body
    assert BADGE not in body                                  # an idea is never out
    risk = Checkpoint.objects.get(initiative=initiative, type__code="risk-classification")
    assert f'href="{reverse("governance:checkpoint-decide", args=[risk.pk])}"' in body


def test_the_panel_warns_when_the_forecast_is_after_the_target_date(client, pm, reviewer):
    now = timezone.now()
    initiative = portfolio_services.initiative_create(
        actor=pm, now=now, title="Claims copilot", team=InitiativeFactory().team,
        target_production_date=timezone.localdate(now) + timedelta(days=3))
    client.force_login(pm)

    body = page(client, initiative)

    # Security review's 10 catalogue days (no history yet) are the longest wait.
    expected = timezone.localdate(now) + timedelta(days=10)
    assert f'datetime="{expected:%Y-%m-%d}"' in body
    assert "7 days after the target production date" in body


def test_no_forecast_once_in_production(client, pm, reviewer):
    initiative = in_production(pm, reviewer, timezone.now() - timedelta(days=5),
                               target_production_date=timezone.localdate())
    client.force_login(pm)
    assert "Earliest realistic production date" not in page(client, initiative)


def test_outsiders_see_no_governance_panel(client, pm, reviewer, outsider):
    initiative = in_production(pm, reviewer, timezone.now())
    client.force_login(outsider)
    assert client.get(initiative.get_absolute_url()).status_code == 404


def test_list_query_count_is_unchanged_by_the_compliance_flag(
        client, pm, reviewer, django_assert_num_queries, settings):
    settings.PAGE_SIZE = 50
    now = timezone.now()
    for index in range(8):
        initiative = in_production(pm, reviewer, now, title=f"Agent {index}")
        portfolio_services.initiative_update(initiative=initiative, actor=pm, now=now,
                                             expected_version=initiative.version,
                                             changes={"autonomy_level": "autonomous"})
    client.force_login(pm)

    # session, the user with their roles; counts per stage; paginator COUNT(*); the page (with the
    # out_of_compliance EXISTS); the team filter's choices.
    with django_assert_num_queries(6):
        body = list_page(client)

    assert body.count(BADGE) == 8
