"""Scoring models: versions are never edited in place, and exactly one is active."""

from datetime import timedelta

import pytest

from portfolio.exceptions import DomainError
from scoring import services
from scoring.models import CapacityPlan, ScoringModel
from scoring.selectors import active_scoring_model
from tests.factories import FIXED_NOW, TeamFactory

pytestmark = pytest.mark.django_db

LATER = FIXED_NOW + timedelta(days=1)


@pytest.fixture
def balanced():
    return ScoringModel.objects.get(name="Balanced criteria", version=1)


# --- Services -------------------------------------------------------------------------------------

def test_revise_makes_the_next_version_and_leaves_the_old_one_unchanged(balanced, superuser):
    old_weights = dict(balanced.weights)

    revised = services.scoring_model_revise(
        model=balanced, weights={"business_value": 0.5, "effort": 0.5}, actor=superuser,
        now=LATER, description="Value and speed only")

    balanced.refresh_from_db()
    assert (revised.name, revised.version, revised.method) == ("Balanced criteria", 2,
                                                               "weighted")
    assert revised.weights == {"business_value": 0.5, "effort": 0.5}
    assert (revised.created_at, revised.created_by) == (LATER, superuser)
    assert balanced.weights == old_weights
    assert balanced.version == 1
    assert revised.history.first().history_user == superuser


def test_revising_an_old_version_numbers_after_the_latest(balanced, superuser):
    services.scoring_model_revise(model=balanced, weights={"effort": 1}, actor=superuser,
                                  now=LATER)

    third = services.scoring_model_revise(model=balanced, weights={"confidence": 1},
                                          actor=superuser, now=LATER)

    assert third.version == 3


def test_revising_the_active_model_hands_activation_to_the_new_version(superuser):
    rice = services.scoring_model_create(name="Scored", method="weighted",
                                         weights={"effort": 1}, actor=superuser, now=FIXED_NOW,
                                         activate=True)

    revised = services.scoring_model_revise(model=rice, weights={"effort": 0.5,
                                                                 "confidence": 0.5},
                                            actor=superuser, now=LATER)

    assert active_scoring_model() == revised
    assert ScoringModel.objects.filter(is_active=True).count() == 1


@pytest.mark.parametrize(("weights", "message"), [
    ({"charisma": 1}, "Unknown criteria: charisma"),
    ({"effort": -0.1}, "must not be negative"),
    ({"effort": 0, "confidence": 0}, "At least one weight must be positive"),
    ({}, "At least one weight must be positive"),
    ({"effort": "lots"}, "must be a number"),
    ({"effort": True}, "must be a number"),
    (["effort"], "must map each criterion"),
])
def test_revise_refuses_bad_weights_on_the_weights_field(balanced, superuser, weights, message):
    with pytest.raises(DomainError) as refusal:
        services.scoring_model_revise(model=balanced, weights=weights, actor=superuser,
                                      now=LATER)

    assert message in refusal.value.message
    assert refusal.value.field == "weights"
    assert ScoringModel.objects.filter(name="Balanced criteria").count() == 1


def test_revise_refuses_unchanged_weights(balanced, superuser):
    with pytest.raises(DomainError, match="unchanged"):
        services.scoring_model_revise(model=balanced, weights=dict(balanced.weights),
                                      actor=superuser, now=LATER)


def test_rice_takes_no_weights(superuser):
    rice = ScoringModel.objects.get(name="RICE", version=1)

    with pytest.raises(DomainError, match="takes no weights") as refusal:
        services.scoring_model_revise(model=rice, weights={"effort": 1}, actor=superuser,
                                      now=LATER)
    assert refusal.value.field == "weights"


def test_create_refuses_a_taken_name(superuser):
    with pytest.raises(DomainError) as refusal:
        services.scoring_model_create(name="WSJF", method="wsjf", actor=superuser, now=LATER)

    assert refusal.value.field == "name"


def test_activate_leaves_exactly_one_active(balanced, superuser):
    assert active_scoring_model().name == "RICE"

    services.scoring_model_activate(model=balanced, actor=superuser, now=LATER)

    assert list(ScoringModel.objects.filter(is_active=True)) == [balanced]
    balanced.refresh_from_db()
    assert balanced.weights  # activation changes nothing else
    assert balanced.version == 1


def test_activating_the_active_model_is_a_no_op(superuser):
    rice = active_scoring_model()

    again = services.scoring_model_activate(model=rice, actor=superuser, now=LATER)

    assert again == rice
    assert ScoringModel.objects.filter(is_active=True).count() == 1


# --- Admin ----------------------------------------------------------------------------------------

def _change_data(client, url, **changes):
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {key: value for key, value in data.items() if value is not None}
    data.update(changes)
    return data


def test_admin_weight_edit_creates_a_new_version_through_the_service(client, superuser,
                                                                     balanced):
    client.force_login(superuser)
    url = f"/admin/scoring/scoringmodel/{balanced.pk}/change/"
    old_weights = dict(balanced.weights)

    response = client.post(url, _change_data(
        client, url, weights='{"business_value": 0.6, "effort": 0.4}'), follow=True)

    balanced.refresh_from_db()
    assert response.status_code == 200
    assert balanced.weights == old_weights
    new = ScoringModel.objects.get(name="Balanced criteria", version=2)
    assert new.weights == {"business_value": 0.6, "effort": 0.4}
    assert new.created_by == superuser
    assert "Balanced criteria v2" in response.content.decode()


def test_admin_refuses_bad_weights_and_writes_nothing(client, superuser, balanced):
    client.force_login(superuser)
    url = f"/admin/scoring/scoringmodel/{balanced.pk}/change/"

    response = client.post(url, _change_data(client, url, weights='{"effort": -1}'),
                           follow=True)

    assert "must not be negative" in response.content.decode()
    assert ScoringModel.objects.filter(name="Balanced criteria").count() == 1


def test_admin_adds_a_model_through_the_service(client, superuser):
    client.force_login(superuser)

    response = client.post("/admin/scoring/scoringmodel/add/", {
        "name": "Speed", "method": "weighted", "weights": '{"effort": 1}', "description": ""})

    assert response.status_code == 302
    created = ScoringModel.objects.get(name="Speed")
    assert (created.version, created.is_active, created.created_by) == (1, False, superuser)


def test_admin_activate_action_goes_through_the_service(client, superuser, balanced):
    client.force_login(superuser)

    client.post("/admin/scoring/scoringmodel/", {
        "action": "activate", "_selected_action": [balanced.pk]})

    assert active_scoring_model() == balanced
    assert ScoringModel.objects.filter(is_active=True).count() == 1


def test_admin_lists_versions_and_history(client, superuser, balanced):
    services.scoring_model_revise(model=balanced, weights={"effort": 1}, actor=superuser,
                                  now=LATER)
    client.force_login(superuser)

    page = client.get("/admin/scoring/scoringmodel/").content.decode()
    history = client.get(f"/admin/scoring/scoringmodel/{balanced.pk}/history/")

    assert "Balanced criteria" in page
    assert "WSJF" in page
    assert history.status_code == 200


def test_admin_capacity_plan_edit_goes_through_the_service(client, superuser):
    team = TeamFactory(name="Search", slug="search")
    client.force_login(superuser)

    added = client.post("/admin/scoring/capacityplan/add/", {
        "team": team.pk, "year": 2027, "quarter": 1, "engineer_weeks": "40.0", "notes": ""})
    plan = CapacityPlan.objects.get(team=team)
    url = f"/admin/scoring/capacityplan/{plan.pk}/change/"
    changed = client.post(url, {"engineer_weeks": "55.5", "notes": "Two hires"})

    plan.refresh_from_db()
    assert (added.status_code, changed.status_code) == (302, 302)
    assert (plan.engineer_weeks, plan.notes) == (55.5, "Two hires")
    assert plan.history.first().history_user == superuser
    assert client.get("/admin/scoring/capacityplan/?year=2027&quarter=1").status_code == 200
