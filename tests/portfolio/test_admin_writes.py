"""What the admin writes for teams, status updates and digest settings goes through the
portfolio's services: the history says who and when, and the dashboard's standings hear of
the changes they are computed from."""

import pytest

from portfolio import services
from portfolio.models import DigestSubscription, Team
from scoring.models import PortfolioSnapshot
from scoring.standings import is_current, standings_refresh
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


def standings_are_stale() -> bool:
    return not is_current(PortfolioSnapshot.objects.get(), now=FIXED_NOW)


def test_a_team_added_and_renamed_in_the_admin_keeps_who_and_when(client, superuser):
    client.force_login(superuser)

    client.post("/admin/portfolio/team/add/", {"name": "Claims", "slug": "claims"})
    team = Team.objects.get(slug="claims")
    standings_refresh(now=FIXED_NOW)
    response = client.post(f"/admin/portfolio/team/{team.pk}/change/",
                           {"name": "Claims Operations", "slug": "claims"})

    assert response.status_code == 302
    assert [(h.history_type, h.name, h.history_user, h.history_date)
            for h in team.history.all()] == [
        ("~", "Claims Operations", superuser, FIXED_NOW), ("+", "Claims", superuser, FIXED_NOW)]
    assert standings_are_stale()   # the dashboard names teams


def test_deleting_a_team_in_the_admin_keeps_who_and_when(client, superuser):
    team = TeamFactory(slug="spare")
    standings_refresh(now=FIXED_NOW)
    client.force_login(superuser)

    response = client.post("/admin/portfolio/team/", {
        "action": "delete_selected", "post": "yes", "_selected_action": [team.pk]})

    assert response.status_code == 302
    assert not Team.objects.filter(slug="spare").exists()
    removed = Team.history.get(slug="spare", history_type="-")
    assert (removed.history_user, removed.history_date) == (superuser, FIXED_NOW)
    assert standings_are_stale()


def test_a_superusers_correction_of_an_update_keeps_who_and_when(client, superuser):
    initiative = InitiativeFactory(title="Claims triage")
    update = services.update_post(initiative=initiative, author=initiative.owner,
                                  body="Pilot users onboarded.", health="on_track",
                                  now=FIXED_NOW)
    client.force_login(superuser)

    response = client.post(f"/admin/portfolio/update/{update.pk}/change/", {
        "initiative": initiative.pk, "author": update.author_id, "body": "Pilot users: 40.",
        "health": "on_track", "created_at_0": "2026-11-02", "created_at_1": "09:00:00"})

    assert response.status_code == 302
    latest = update.history.first()
    assert (latest.body, latest.history_user, latest.history_date) == (
        "Pilot users: 40.", superuser, FIXED_NOW)


def test_digest_settings_saved_in_the_admin_are_the_tpms_settings(client, superuser, tpm):
    claims, payments = TeamFactory(slug="claims"), TeamFactory(slug="payments")
    client.force_login(superuser)

    response = client.post("/admin/portfolio/digestsubscription/add/", {
        "user": tpm.pk, "teams": [claims.pk, payments.pk]})

    assert response.status_code == 302
    [settings] = DigestSubscription.objects.all()
    assert (settings.user, settings.opted_out, settings.updated_at) == (tpm, False, FIXED_NOW)
    assert set(settings.teams.all()) == {claims, payments}
