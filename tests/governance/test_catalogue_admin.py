"""The admin edits the checkpoint catalogue through governance's services: each change is in
the entry's history (who, when) and makes the portfolio's stored standings stale, whichever
admin page made it."""

import pytest

from governance import services
from governance.models import CheckpointType
from scoring.models import PortfolioSnapshot
from scoring.standings import is_current, standings_refresh
from tests.factories import FIXED_NOW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock", "current")]
LIST = "/admin/governance/checkpointtype/"


@pytest.fixture
def unused_entry(db):
    return CheckpointType.objects.create(
        code="vendor-review", name="Vendor review", description="Contract checked.",
        nist_function="govern", required_for="pilot")


@pytest.fixture
def current(db):
    standings_refresh(now=FIXED_NOW)
    assert not standings_are_stale()


def standings_are_stale() -> bool:
    return not is_current(PortfolioSnapshot.objects.get(), now=FIXED_NOW)


def test_each_catalogue_change_in_the_admin_is_in_its_history_and_makes_the_standings_stale(
        client, superuser):
    entry = {"code": "vendor-review", "name": "Vendor review", "nist_function": "govern",
             "description": "Contract checked.", "required_for": "pilot", "review_days": 10}
    client.force_login(superuser)

    def edit():
        pk = CheckpointType.objects.get(code="vendor-review").pk
        return client.post(f"{LIST}{pk}/change/", {**entry, "review_days": 21})

    def delete_selected():
        pk = CheckpointType.objects.get(code="vendor-review").pk
        return client.post(LIST, {"action": "delete_selected", "post": "yes",
                                  "_selected_action": [pk]})

    for change in (lambda: client.post(f"{LIST}add/", entry), edit, delete_selected):
        standings_refresh(now=FIXED_NOW)
        assert change().status_code == 302
        assert standings_are_stale()

    assert not CheckpointType.objects.filter(code="vendor-review").exists()
    assert [(h.history_type, h.review_days, h.history_user, h.history_date)
            for h in CheckpointType.history.filter(code="vendor-review")] == [
        ("-", 21, superuser, FIXED_NOW), ("~", 21, superuser, FIXED_NOW),
        ("+", 10, superuser, FIXED_NOW)]


def test_the_services_record_who_changed_the_catalogue_and_when(pm, unused_entry):
    unused_entry.active = False

    services.checkpoint_type_save(checkpoint_type=unused_entry, actor=pm, now=FIXED_NOW)
    services.checkpoint_type_delete(checkpoint_type=unused_entry, actor=pm, now=FIXED_NOW)

    assert [(h.history_type, h.active, h.history_user, h.history_date)
            for h in CheckpointType.history.filter(code="vendor-review")] == [
        ("-", False, pm, FIXED_NOW), ("~", False, pm, FIXED_NOW), ("+", True, None, FIXED_NOW)]
    assert standings_are_stale()
