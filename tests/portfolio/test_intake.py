"""Intake that is quick and safe: an explicit AI profile ("not sure" goes to the risk
classification review), no planned date in the past, and similar initiatives while typing."""

from datetime import date, timedelta

import pytest

from governance.models import Checkpoint
from portfolio.models import Initiative
from portfolio.similarity import index_initiatives
from tests.clients import client_for
from tests.factories import InitiativeFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NEW_URL = "/initiatives/new/"
SIMILAR_URL = "/initiatives/similar/"
API_URL = "/api/v1/initiatives/"
TODAY = date(2026, 11, 2)  # FIXED_NOW's day
YESTERDAY = TODAY - timedelta(days=1)
NOT_CHOSEN = "tier not chosen by the owner; the classification review confirms it"


def intake(team, /, **overrides):
    """An intake post by the team's PM (``team.pm``, see the ``team`` fixture)."""
    data = {"title": "Warranty claim classifier", "summary": "Sort warranty claims by defect.",
            "category": "workflow_automation", "team": team.pk, "risk_tier": "minimal",
            "autonomy_level": "assistive", "owner": team.pm.pk}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def checkpoint_codes(initiative) -> set[str]:
    return set(Checkpoint.objects.filter(initiative=initiative, retired_at__isnull=True)
               .values_list("type__code", flat=True))


@pytest.fixture
def team(pm):
    team = TeamFactory(name="Customer Care")
    team.pm = pm  # who logs in the intake posts
    return team


# --- The AI profile is an explicit choice -------------------------------------------------

def test_the_intake_form_preselects_no_risk_tier_or_autonomy(client, pm):
    client.force_login(pm)

    page = client.get(NEW_URL).content.decode()

    for name in ("risk_tier", "autonomy_level"):
        select = page.split(f'name="{name}"')[1].split("</select>")[0]
        assert '<option value="" selected>Choose…</option>' in select
        assert '<option value="not_sure">Not sure</option>' in select
        assert select.count("selected") == 1


def test_skipping_the_ai_profile_is_refused_on_its_fields_and_logs_nothing(client, pm, team):
    client.force_login(pm)

    response = client.post(NEW_URL, intake(team, risk_tier=None, autonomy_level=None))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["risk_tier"] == ["Choose the EU AI Act risk tier, or “Not sure”."]
    assert errors["autonomy_level"] == ["Choose the autonomy level, or “Not sure”."]
    assert not Initiative.objects.exists()


def test_the_category_is_a_choice_too_with_nothing_preselected(client, pm, team):
    client.force_login(pm)

    select = client.get(NEW_URL).content.decode().split('name="category"')[1].split(
        "</select>")[0]
    response = client.post(NEW_URL, intake(team, category=None))

    assert '<option value="" selected>Choose…</option>' in select
    assert select.count("selected") == 1
    assert response.status_code == 200
    assert response.context["form"].errors["category"] == ["Choose a category."]
    assert not Initiative.objects.exists()


def test_an_explicit_lowest_profile_gets_the_nine_checkpoints_that_always_apply(
        client, pm, team):
    client.force_login(pm)

    client.post(NEW_URL, intake(team, uses_personal_data="on"))

    initiative = Initiative.objects.get()
    assert (initiative.risk_tier, initiative.autonomy_level) == ("minimal", "assistive")
    assert not initiative.risk_tier_assumed
    assert not initiative.autonomy_assumed
    assert len(checkpoint_codes(initiative)) == 10  # the nine that always apply, and privacy


def test_not_sure_assumes_the_cautious_profile_and_creates_every_checkpoint(client, pm, team):
    client.force_login(pm)

    response = client.post(NEW_URL, intake(team, risk_tier="not_sure",
                                           autonomy_level="not_sure", uses_personal_data="on"))

    initiative = Initiative.objects.get()
    assert response.status_code == 302
    assert (initiative.risk_tier, initiative.autonomy_level) == ("high", "autonomous")
    assert initiative.risk_tier_assumed
    assert initiative.autonomy_assumed
    codes = checkpoint_codes(initiative)
    assert len(codes) == 15
    assert {"risk-classification", "compliance-review", "bias-fairness", "human-oversight",
            "autonomy-boundaries", "failure-recovery"} <= codes


def test_the_initiative_and_its_classification_review_say_the_tier_was_not_chosen(
        client, pm, team, reviewer):
    client.force_login(pm)
    client.post(NEW_URL, intake(team, risk_tier="not_sure"))
    initiative = Initiative.objects.get()

    page = client.get(initiative.get_absolute_url()).content.decode()
    assert "High" in page
    assert NOT_CHOSEN in page
    assert "autonomy not chosen" not in page  # the PM chose Assistive

    classification = Checkpoint.objects.get(initiative=initiative,
                                            type__code="risk-classification")
    client.force_login(reviewer)
    review = client.get(f"/governance/checkpoints/{classification.pk}/").content.decode()
    assert NOT_CHOSEN in review


def test_an_explicit_tier_is_not_flagged(client, pm, team):
    client.force_login(pm)
    client.post(NEW_URL, intake(team, risk_tier="high"))
    initiative = Initiative.objects.get()

    page = client.get(initiative.get_absolute_url()).content.decode()

    assert not initiative.risk_tier_assumed
    assert NOT_CHOSEN not in page


def test_editing_keeps_not_sure_until_the_owner_chooses(client, pm, team):
    client.force_login(pm)
    client.post(NEW_URL, intake(team, risk_tier="not_sure"))
    initiative = Initiative.objects.get()
    edit_url = f"/initiatives/{initiative.pk}/edit/"

    form = client.get(edit_url).context["form"]
    assert form["risk_tier"].value() == "not_sure"  # not "high": saving keeps the flag

    data = {**intake(team, risk_tier="not_sure", title="Renamed"),
            "owner": form["owner"].value(), "version": initiative.version}
    client.post(edit_url, data)
    initiative.refresh_from_db()
    assert initiative.title == "Renamed"
    assert initiative.risk_tier_assumed

    client.post(edit_url, {**data, "risk_tier": "limited", "version": initiative.version})
    initiative.refresh_from_db()
    assert initiative.risk_tier == "limited"
    assert not initiative.risk_tier_assumed
    assert "compliance-review" in checkpoint_codes(initiative)
    assert "bias-fairness" in checkpoint_codes(initiative)


def test_the_api_takes_not_sure_and_assumes_it_when_the_profile_is_left_out(pm, team):
    client = client_for(pm)

    explicit = client.post(API_URL, {"title": "Ticket triage", "team": team.slug,
                                     "risk_tier": "minimal", "autonomy_level": "assistive"},
                           format="json")
    left_out = client.post(API_URL, {"title": "Ticket summaries", "team": team.slug},
                           format="json")

    assert explicit.status_code == left_out.status_code == 201
    assert (explicit.data["risk_tier"], explicit.data["risk_tier_assumed"]) == ("minimal", False)
    assert (left_out.data["risk_tier"], left_out.data["risk_tier_assumed"]) == ("high", True)
    assert (left_out.data["autonomy_level"], left_out.data["autonomy_assumed"]) == (
        "autonomous", True)


# --- Planned dates are not in the past ----------------------------------------------------

@pytest.mark.parametrize("field", ["decision_date", "target_production_date"])
def test_intake_refuses_a_planned_date_in_the_past_on_its_field(client, pm, team, field):
    client.force_login(pm)

    response = client.post(NEW_URL, intake(team, **{field: YESTERDAY.isoformat()}))

    assert response.status_code == 200
    [error] = response.context["form"].errors[field]
    assert "is in the past (1 Nov 2026): choose today or a later date." in error
    assert not Initiative.objects.exists()


def test_intake_takes_today(client, pm, team):
    client.force_login(pm)

    client.post(NEW_URL, intake(team, decision_date=TODAY.isoformat()))

    assert Initiative.objects.get().decision_date == TODAY


@pytest.mark.parametrize("field", ["decision_date", "target_production_date"])
def test_the_api_refuses_a_planned_date_in_the_past_on_its_field(pm, team, field):
    response = client_for(pm).post(API_URL, {"title": "Ticket triage", "team": team.slug,
                                             field: YESTERDAY.isoformat()}, format="json")

    assert response.status_code == 409
    assert field in response.data["fields"]
    assert not Initiative.objects.exists()


def test_an_edit_keeps_a_date_that_has_passed_but_refuses_a_new_past_one(client, pm, team):
    initiative = InitiativeFactory(owner=pm, team=team, decision_date=date(2026, 10, 1))
    client.force_login(pm)
    edit_url = f"/initiatives/{initiative.pk}/edit/"
    data = {**intake(team, title="Renamed", decision_date="2026-10-01"),
            "owner": client.get(edit_url).context["form"]["owner"].value(),
            "version": initiative.version}

    kept = client.post(edit_url, data)
    initiative.refresh_from_db()
    assert kept.status_code == 302
    assert (initiative.title, initiative.decision_date) == ("Renamed", date(2026, 10, 1))

    refused = client.post(edit_url, {**data, "decision_date": "2026-10-15",
                                     "version": initiative.version})
    assert "decision_date" in refused.context["form"].errors
    initiative.refresh_from_db()
    assert initiative.decision_date == date(2026, 10, 1)


def test_an_api_edit_refuses_a_new_past_date(pm, team):
    initiative = InitiativeFactory(owner=pm, team=team)

    response = client_for(pm).patch(
        f"{API_URL}{initiative.pk}/", {"target_production_date": YESTERDAY.isoformat()},
        format="json", HTTP_IF_MATCH=f'"{initiative.pk}-{initiative.version}"')

    assert response.status_code == 409
    assert "target_production_date" in response.data["fields"]


# --- Similar initiatives while typing -----------------------------------------------------

@pytest.fixture
def twin(team):
    initiative = InitiativeFactory(
        team=team, title="Support ticket triage and routing",
        summary="Classify incoming support tickets by intent and urgency and route them to "
                "the right queue.")
    index_initiatives([initiative])
    return initiative


def test_similar_initiatives_come_with_their_tier_and_why(client, pm, twin):
    client.force_login(pm)

    response = client.get(SIMILAR_URL, {"title": "Support ticket triage and routing",
                                        "summary": "Route incoming tickets by urgency."})

    page = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert twin.title in page
    assert "Probably the same idea" in page
    assert "Why:</strong> Both titles mention &quot;" in page
    assert "&quot;triage&quot;" in page


def test_a_weaker_match_is_related_work(client, pm, twin):
    client.force_login(pm)

    page = client.get(SIMILAR_URL, {"title": "Ticket summaries for agents",
                                    "summary": "Summarise long support ticket threads."}
                      ).content.decode()

    assert twin.title in page
    assert "Related work" in page
    assert "Probably the same idea" not in page


@pytest.mark.parametrize("query", [{}, {"title": "ab"}, {"title": "Wind turbine blades"}])
def test_nothing_typed_or_nothing_alike_answers_an_empty_fragment(client, pm, twin, query):
    client.force_login(pm)

    response = client.get(SIMILAR_URL, query)

    assert response.status_code == 200
    assert response.content.decode().strip() == ""


def test_only_signed_in_pms_get_suggestions(client, twin, reviewer):
    query = {"title": twin.title}

    assert client.get(SIMILAR_URL, query).status_code == 302  # to sign in
    client.force_login(reviewer)
    assert client.get(SIMILAR_URL, query).status_code == 403
    client.force_login(UserFactory(username="outsider"))
    assert client.get(SIMILAR_URL, query).status_code == 404


def test_suggestions_are_read_only(client, pm, twin):
    client.force_login(pm)

    assert client.post(SIMILAR_URL, {"title": twin.title}).status_code == 405


def test_the_intake_page_has_the_live_region_and_loads_its_script(client, pm):
    client.force_login(pm)

    page = client.get(NEW_URL).content.decode()

    assert 'id="live-matches"' in page
    assert 'aria-live="polite"' in page
    assert 'data-url="/initiatives/similar/"' in page
    assert "js/intake" in page
    assert "<script>" not in page
