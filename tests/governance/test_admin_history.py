"""Decisions and stage history are never rewritten or deleted in the admin, by staff with
every model permission or by a superuser."""

from datetime import timedelta

import pytest

from governance import services as governance
from governance.models import Checkpoint, CheckpointStatus, CheckpointType
from portfolio import services
from tests.factories import FIXED_NOW, InitiativeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def decided_checkpoint(reviewer):
    checkpoint_type = CheckpointType.objects.create(
        code="bias-review", name="Bias review", description="Checked.", nist_function="measure",
        required_for="pilot")
    checkpoint = Checkpoint.objects.create(
        initiative=InitiativeFactory(title="Claims triage"), type=checkpoint_type,
        requested_at=FIXED_NOW, due_date=FIXED_NOW.date() + timedelta(days=5))
    return governance.checkpoint_decide(checkpoint=checkpoint, actor=reviewer, approve=False,
                                        expected_version=1, evidence_notes="Skewed on age.",
                                        now=FIXED_NOW)


def test_a_checkpoint_decision_cannot_be_reverted_from_its_history(client, any_admin,
                                                                   decided_checkpoint):
    before = decided_checkpoint.history.get(history_type="+")  # not started, undecided
    client.force_login(any_admin)
    url = f"/admin/governance/checkpoint/{decided_checkpoint.pk}/history/{before.history_id}/"

    response = client.post(url, {  # "Revert" to the version before the decision
        "initiative": before.initiative_id, "type": before.type_id, "status": "not_started",
        "requested_at_0": "2026-11-02", "requested_at_1": "09:00:00",
        "due_date": before.due_date.isoformat(), "version": 1})

    assert response.status_code == 403
    decided_checkpoint.refresh_from_db()
    assert decided_checkpoint.status == CheckpointStatus.REJECTED


@pytest.mark.parametrize("url", [
    "/admin/portfolio/stagetransition/{transition}/delete/",
    "/admin/portfolio/activity/{activity}/delete/",
    "/admin/governance/checkpoint/{checkpoint}/delete/",
])
def test_stage_history_activity_and_decisions_are_not_deleted(client, any_admin, pm,
                                                              decided_checkpoint, url):
    initiative = decided_checkpoint.initiative
    transition = initiative.transitions.create(from_stage="idea", to_stage="assessment",
                                               actor=pm, at=FIXED_NOW)
    activity = services.activity_record(initiative=initiative, kind="edited", actor=pm,
                                        now=FIXED_NOW)
    client.force_login(any_admin)

    response = client.post(url.format(transition=transition.pk, activity=activity.pk,
                                      checkpoint=decided_checkpoint.pk), {"post": "yes"})

    assert response.status_code == 403
    assert initiative.transitions.count() == 1
    assert initiative.activities.filter(pk=activity.pk).exists()
    assert Checkpoint.objects.filter(pk=decided_checkpoint.pk).exists()
