"""The digest's pages: a TPM's settings and the preview of their next
digest. Only TPMs and admins have them: other roles get 403, outsiders 404.

Time is frozen at ``NOW`` (Monday 2 Nov 2026, 09:00 UTC, after the digest hour), so the
preview shows the digest of the week of 9 Nov.
"""

from datetime import timedelta

import pytest

from portfolio.models import DigestDelivery, DigestSubscription, Stage
from portfolio.pilots.digest.subscriptions import digest_subscription_set
from tests.factories import (
    FIXED_NOW,
    InitiativeFactory,
    StallFlagFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = FIXED_NOW
SETTINGS_URL = "/digest/settings/"
PREVIEW_URL = "/digest/preview/"


@pytest.fixture(autouse=True)
def digest_at_seven_utc(settings):
    settings.TIME_ZONE, settings.DIGEST_HOUR = "UTC", 7


@pytest.fixture
def teams(db):
    return {"claims": TeamFactory(name="Claims", slug="claims"),
            "finance": TeamFactory(name="Finance", slug="finance"),
            "sales": TeamFactory(name="Sales", slug="sales")}


def stalled_pilot(title, team):
    initiative = InitiativeFactory(title=title, team=team, stage=Stage.PILOT, contracted=True,
                                   stage_changed_at=NOW - timedelta(days=120),
                                   last_activity_at=NOW - timedelta(days=2))
    return StallFlagFactory(initiative=initiative, flagged_at=NOW - timedelta(days=10))


def saved(user):
    subscription = DigestSubscription.objects.filter(user=user).first()
    if subscription is None:
        return None
    return (sorted(team.slug for team in subscription.teams.all()), subscription.opted_out,
            subscription.updated_at)


# --- Who may open them ---------------------------------------------------------------------

@pytest.mark.parametrize("url", [SETTINGS_URL, PREVIEW_URL])
@pytest.mark.parametrize("persona", ["pm", "reviewer", "leader"])
def test_other_roles_are_refused_with_the_reason(client, request, persona, url, teams):
    user = request.getfixturevalue(persona)
    client.force_login(user)

    shown = client.get(url)
    posted = client.post(url, {"teams": [teams["claims"].pk]})

    assert shown.status_code == 403
    assert "The weekly digest goes to TPMs" in shown.content.decode()
    assert posted.status_code == 403
    assert saved(user) is None


@pytest.mark.parametrize("url", [SETTINGS_URL, PREVIEW_URL])
def test_outsiders_get_not_found(client, outsider, url, teams):
    client.force_login(outsider)

    assert client.get(url).status_code == 404
    assert client.post(url, {"teams": [teams["claims"].pk]}).status_code == 404
    assert saved(outsider) is None


# --- Settings ------------------------------------------------------------------------------

def test_a_tpm_without_settings_follows_every_team(client, tpm, teams):
    client.force_login(tpm)

    response = client.get(SETTINGS_URL)

    assert response.status_code == 200
    body = response.content.decode()
    assert "Your digest covers every team." in body
    assert "Follow none to cover every team." in body
    for name in ("Claims", "Finance", "Sales"):
        assert name in body
    assert "checked" not in body
    assert "Only TPMs receive" not in body


def test_settings_are_saved_and_shown_again(client, tpm, teams):
    client.force_login(tpm)

    response = client.post(SETTINGS_URL, {"teams": [teams["claims"].pk, teams["sales"].pk]},
                           follow=True)

    assert response.redirect_chain == [(SETTINGS_URL, 302)]
    assert "Digest settings saved." in response.content.decode()
    assert saved(tpm) == (["claims", "sales"], False, NOW)
    form = response.context["form"]
    assert sorted(form["teams"].value()) == sorted([teams["claims"].pk, teams["sales"].pk])
    body = response.content.decode()
    assert "Your digest covers: Claims, Sales." in body
    assert f'value="{teams["claims"].pk}" id="id_teams_0" checked' in body


def test_following_no_team_again_follows_every_team_and_opting_out_stops_the_digest(
        client, tpm, teams):
    digest_subscription_set(user=tpm, teams=[teams["finance"]], opted_out=False,
                            now=NOW - timedelta(days=30))
    client.force_login(tpm)

    client.post(SETTINGS_URL, {})
    every_team = saved(tpm)
    response = client.post(SETTINGS_URL, {"opted_out": "on"}, follow=True)

    assert every_team == ([], False, NOW)
    assert saved(tpm) == ([], True, NOW)
    assert "You have opted out: no digest is sent to you." in response.content.decode()
    assert response.context["form"]["opted_out"].value() is True


def test_an_unknown_team_is_refused_on_its_field_and_changes_nothing(client, tpm, teams):
    digest_subscription_set(user=tpm, teams=[teams["finance"]], opted_out=False,
                            now=NOW - timedelta(days=30))
    before = saved(tpm)
    client.force_login(tpm)

    response = client.post(SETTINGS_URL, {"teams": [teams["claims"].pk, 999999]})

    assert response.status_code == 400
    assert "Select a valid choice" in response.context["form"].errors["teams"][0]
    assert saved(tpm) == before


def test_an_admin_without_the_tpm_role_is_told_no_digest_goes_to_them(client, staff, teams):
    client.force_login(staff)

    response = client.get(SETTINGS_URL)

    assert response.status_code == 200
    assert "Only TPMs receive the weekly digest" in response.content.decode()


def test_the_settings_page_lists_the_users_own_recent_digests(client, tpm, teams):
    def delivery(user, weeks_ago, **fields):
        period = NOW.date() - timedelta(weeks=weeks_ago)
        fields.setdefault("subject", f"Portfolio digest {period}")
        return DigestDelivery.objects.create(
            recipient=user, period=period, message_id=f"<{user.pk}-{period}@test>",
            to_address=user.email, body_text="-", body_html="-",
            created_at=NOW - timedelta(weeks=weeks_ago), **fields)

    delivery(tpm, 1, status="sent", attempts=1, sent_at=NOW - timedelta(weeks=1))
    delivery(tpm, 2, status="failed", attempts=3, last_error="550 mailbox unavailable")
    delivery(UserFactory(username="someone-else", roles=["tpm"]), 1, status="sent",
             sent_at=NOW, subject="Not yours")
    client.force_login(tpm)

    response = client.get(SETTINGS_URL)

    assert [d.week for d in response.context["deliveries"]] == ["2026-W44", "2026-W43"]
    body = response.content.decode()
    assert "550 mailbox unavailable" in body
    assert "26 Oct 2026, 09:00" in body
    assert ">Failed</span>" in body
    assert "Not yours" not in body


# --- Preview -------------------------------------------------------------------------------

def test_the_preview_shows_stalls_of_the_followed_teams_only(client, tpm, teams):
    stalled_pilot("Claims triage copilot", teams["claims"])
    stalled_pilot("Invoice matcher", teams["finance"])
    digest_subscription_set(user=tpm, teams=[teams["claims"]], opted_out=False,
                            now=NOW - timedelta(days=30))
    client.force_login(tpm)

    response = client.get(PREVIEW_URL)

    assert response.status_code == 200
    preview = response.context["preview"]
    assert preview.would_send
    assert preview.week == "2026-W46"
    body = response.content.decode()
    assert "Claims triage copilot" in body
    assert "Invoice matcher" not in body
    assert "the teams you follow: Claims" in body
    assert preview.subject.startswith("Portfolio digest 2026-W46")
    assert preview.subject in body
    assert tpm.email in body
    assert "Monday 9 Nov 2026, 07:00" in body


def test_following_every_team_previews_every_stall(client, tpm, teams):
    stalled_pilot("Claims triage copilot", teams["claims"])
    stalled_pilot("Invoice matcher", teams["finance"])
    client.force_login(tpm)

    body = client.get(PREVIEW_URL).content.decode()

    assert "Claims triage copilot" in body
    assert "Invoice matcher" in body
    assert "every team" in body


def test_an_opted_out_tpm_is_told_nothing_would_be_sent(client, tpm, teams):
    stalled_pilot("Claims triage copilot", teams["claims"])
    digest_subscription_set(user=tpm, teams=[], opted_out=True, now=NOW)
    client.force_login(tpm)

    response = client.get(PREVIEW_URL)

    body = response.content.decode()
    assert response.context["preview"].not_sent == "opted_out"
    assert "Nothing would be sent to you: you have opted out of the weekly digest." in " ".join(
        body.split())
    assert "Claims triage copilot" not in body


def test_a_tpm_without_an_email_address_is_told_nothing_would_be_sent(client, teams):
    tpm = UserFactory(username="no-mail", email="", roles=["tpm"])
    stalled_pilot("Claims triage copilot", teams["claims"])
    client.force_login(tpm)

    body = " ".join(client.get(PREVIEW_URL).content.decode().split())

    assert "Nothing would be sent to you: your account has no email address." in body


def test_an_empty_digest_says_nothing_would_be_sent(client, tpm, teams):
    client.force_login(tpm)

    response = client.get(PREVIEW_URL)

    assert response.context["preview"].not_sent == "empty"
    body = response.content.decode()
    assert "Nothing would be sent this week: there is nothing to report." in body
    assert "Subject" not in body


def test_an_admin_previews_a_tpms_digest(client, staff, tpm, teams):
    stalled_pilot("Claims triage copilot", teams["claims"])
    stalled_pilot("Invoice matcher", teams["finance"])
    digest_subscription_set(user=tpm, teams=[teams["finance"]], opted_out=False, now=NOW)
    client.force_login(staff)

    response = client.get(PREVIEW_URL, {"user": tpm.username})
    own = client.get(PREVIEW_URL)

    assert response.context["preview"].user == tpm
    body = response.content.decode()
    assert "Invoice matcher" in body
    assert "Claims triage copilot" not in body
    assert f"({tpm.username})" in body
    assert f'<option value="{tpm.username}" selected>' in body
    # The admin holds no TPM role: no digest goes to them.
    assert own.context["preview"].not_sent == "not_tpm"


def test_previewing_an_unknown_user_is_not_found(client, staff):
    client.force_login(staff)

    assert client.get(PREVIEW_URL, {"user": "nobody-here"}).status_code == 404


def test_a_tpm_cannot_preview_someone_elses_digest(client, tpm):
    other = UserFactory(username="other-tpm", roles=["tpm"])
    client.force_login(tpm)

    response = client.get(PREVIEW_URL, {"user": other.username})
    own = client.get(PREVIEW_URL, {"user": tpm.username})

    assert response.status_code == 403
    assert "Only an admin can preview someone else" in response.content.decode().replace(
        "&#x27;", "'")
    assert own.status_code == 200
