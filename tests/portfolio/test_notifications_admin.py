"""The admin of notifications: allowed webhook hosts and each team's chat channels, written
through the services; a channel's webhook URL is written and never shown back (only its
hint) on any admin page, nor in the admin's change log; the outbox and the daily
summaries are read-only, and a failed notification is sent again by hand."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission

from portfolio import services
from portfolio.models import ChatChannel, DailySummary, Notification, WebhookHost
from portfolio.notifications.forms import URL_REQUIRED
from portfolio.notifications.services import (
    HOST_INVALID,
    chat_channel_save,
    daily_summaries_run,
    notification_preferences_set,
    notifications_muted,
    webhook_host_save,
)
from portfolio.notifications.webhooks import NOT_HTTPS
from tests.factories import FIXED_NOW, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

SECRET = "T0001/B0001/XyZsecretPathValue9876"
URL = f"https://hooks.slack.com/services/{SECRET}"
HINT = "https://hooks.slack.com/…9876"
NEW_URL = "https://hooks.slack.com/services/T0001/B0002/AnotherSecretValue4321"
CHANNELS = "/admin/portfolio/chatchannel/"
HOSTS = "/admin/portfolio/webhookhost/"
OUTBOX = "/admin/portfolio/notification/"


@pytest.fixture
def slack_allowed(db):
    return webhook_host_save(host=WebhookHost(host="hooks.slack.com"), actor=None,
                             now=FIXED_NOW)


@pytest.fixture
def team(db):
    return TeamFactory(name="Claims", slug="claims")


def staff_with(*codenames):
    user = UserFactory(username=f"staff-{'-'.join(codenames)}"[:150], is_staff=True)
    user.user_permissions.set(Permission.objects.filter(
        content_type__app_label="portfolio", codename__in=codenames))
    return user


def channel_form(team, **fields):
    return {"team": team.pk, "kind": "slack", "name": "#ai-claims", "webhook_url": URL,
            "active": "on", **fields}


def saved_channel(team):
    return chat_channel_save(channel=ChatChannel(team=team, kind="slack", name="#ai-claims"),
                             url=URL, actor=None, now=FIXED_NOW)


# --- Allowed webhook hosts ----------------------------------------------------------------------

def test_an_admin_adds_a_host_kept_in_lower_case(client, any_admin):
    client.force_login(any_admin)

    response = client.post(f"{HOSTS}add/", {"host": " Hooks.Slack.COM. ", "note": "Slack"})

    assert response.status_code == 302
    assert list(WebhookHost.objects.values_list("host", "note")) == [
        ("hooks.slack.com", "Slack")]


@pytest.mark.parametrize("bad", ["https://hooks.slack.com", "hooks.slack.com/services",
                                 "hooks.slack.com:443", "user@hooks.slack.com", "intranet"])
def test_a_host_that_is_not_a_bare_host_name_is_refused_on_its_field(client, any_admin, bad):
    client.force_login(any_admin)

    response = client.post(f"{HOSTS}add/", {"host": bad, "note": ""})

    page = response.content.decode()
    assert response.status_code == 200
    assert HOST_INVALID in page
    assert 'class="errorlist' in page
    assert "id_host_error" in page
    assert not WebhookHost.objects.exists()


def test_an_admin_edits_and_deletes_a_host_through_the_services(client, any_admin,
                                                                 slack_allowed):
    client.force_login(any_admin)

    client.post(f"{HOSTS}{slack_allowed.pk}/change/", {"host": "HOOKS.slack.com",
                                                       "note": "Our Slack"})
    slack_allowed.refresh_from_db()
    deleted = client.post(f"{HOSTS}{slack_allowed.pk}/delete/", {"post": "yes"})

    assert slack_allowed.note == "Our Slack"
    assert deleted.status_code == 302
    assert not WebhookHost.objects.exists()


# --- Chat channels: the URL is write-only ---------------------------------------------------------

def test_an_admin_adds_a_channel_and_no_admin_page_shows_its_url(client, any_admin,
                                                                  slack_allowed, team):
    client.force_login(any_admin)

    response = client.post(f"{CHANNELS}add/", channel_form(team))
    channel = ChatChannel.objects.get()
    pages = {name: client.get(url) for name, url in {
        "list": CHANNELS, "change": f"{CHANNELS}{channel.pk}/change/",
        "history": f"{CHANNELS}{channel.pk}/history/",
        "delete": f"{CHANNELS}{channel.pk}/delete/",
        "search": f"{CHANNELS}?q=ai-claims"}.items()}

    assert response.status_code == 302
    assert (channel.url, channel.url_hint, channel.team, channel.active) == (URL, HINT, team,
                                                                             True)
    for name, page in pages.items():
        html = page.content.decode()
        assert page.status_code == 200, name
        assert "XyZsecretPathValue9876" not in html, name
        assert "T0001/B0001" not in html, name
    for name in ("list", "change", "delete", "search"):
        assert HINT in pages[name].content.decode(), name
    change = pages["change"].content.decode()
    assert f"Saved: {HINT}. Leave empty to keep it." in change
    assert 'name="webhook_url"' in change
    assert 'name="url"' not in change
    assert not LogEntry.objects.filter(change_message__contains="secret").exists()
    assert all(SECRET not in (entry.object_repr + entry.change_message)
               for entry in LogEntry.objects.all())


def test_the_url_cannot_be_searched_for(client, any_admin, slack_allowed, team):
    saved_channel(team)
    client.force_login(any_admin)

    found = client.get(CHANNELS, {"q": "XyZsecretPathValue9876"}).content.decode()

    assert "0 chat channels" in found or "0 results" in found


def test_an_edit_that_leaves_the_url_empty_keeps_it(client, any_admin, slack_allowed, team):
    channel = saved_channel(team)
    client.force_login(any_admin)

    response = client.post(f"{CHANNELS}{channel.pk}/change/",
                           channel_form(team, webhook_url="", name="#claims-ai", active=""))
    history = client.get(f"{CHANNELS}{channel.pk}/history/").content.decode()

    channel.refresh_from_db()
    assert response.status_code == 302
    assert (channel.name, channel.active, channel.url, channel.url_hint) == (
        "#claims-ai", False, URL, HINT)
    assert "Changed Name and Active." in history
    assert "XyZsecretPathValue9876" not in history


def test_an_edit_with_a_new_url_replaces_it_and_the_log_names_only_the_field(
        client, any_admin, slack_allowed, team):
    channel = saved_channel(team)
    client.force_login(any_admin)

    client.post(f"{CHANNELS}{channel.pk}/change/", channel_form(team, webhook_url=NEW_URL))
    history = client.get(f"{CHANNELS}{channel.pk}/history/").content.decode()

    channel.refresh_from_db()
    assert (channel.url, channel.url_hint) == (NEW_URL, "https://hooks.slack.com/…4321")
    assert "Changed Webhook URL." in history
    assert "AnotherSecretValue4321" not in history
    entry = LogEntry.objects.get(object_id=str(channel.pk))
    assert "AnotherSecretValue" not in entry.change_message + entry.object_repr


@pytest.mark.parametrize(("url", "error"), [
    ("http://hooks.slack.com/services/T/B/plainHttpSecret", NOT_HTTPS),
    ("https://evil.example.com/hook/evilHostSecret", "evil.example.com is not an allowed "
                                                     "webhook host"),
])
def test_a_refused_url_is_an_error_on_its_field_and_is_not_echoed(client, any_admin,
                                                                   slack_allowed, team,
                                                                   url, error):
    client.force_login(any_admin)

    response = client.post(f"{CHANNELS}add/", channel_form(team, webhook_url=url))

    html = response.content.decode()
    assert response.status_code == 200
    assert error in html
    assert "id_webhook_url_error" in html
    assert url.rsplit("/", 1)[1] not in html  # what was typed is not put back in the page
    assert not ChatChannel.objects.exists()


def test_a_new_channel_needs_its_url(client, any_admin, slack_allowed, team):
    client.force_login(any_admin)

    response = client.post(f"{CHANNELS}add/", channel_form(team, webhook_url=""))

    assert URL_REQUIRED in response.content.decode()
    assert not ChatChannel.objects.exists()


def test_deleting_a_channel_goes_through_the_service(client, any_admin, slack_allowed, team):
    channel = saved_channel(team)
    client.force_login(any_admin)

    page = client.get(f"{CHANNELS}{channel.pk}/delete/").content.decode()
    client.post(f"{CHANNELS}{channel.pk}/delete/", {"post": "yes"})

    assert HINT in page
    assert "XyZsecretPathValue9876" not in page
    assert not ChatChannel.objects.exists()


def test_staff_without_the_permissions_cannot_open_channels_or_hosts(client, slack_allowed,
                                                                      team):
    client.force_login(UserFactory(username="bare-staff", is_staff=True))

    for url in (CHANNELS, f"{CHANNELS}add/", HOSTS, f"{HOSTS}add/", OUTBOX):
        assert client.get(url).status_code == 403, url


def test_staff_who_may_only_view_channels_see_the_hint_and_no_url_field(client,
                                                                        slack_allowed, team):
    channel = saved_channel(team)
    client.force_login(staff_with("view_chatchannel"))

    page = client.get(f"{CHANNELS}{channel.pk}/change/").content.decode()

    assert "XyZsecretPathValue9876" not in page
    assert HINT in page
    assert 'name="webhook_url"' not in page
    assert client.post(f"{CHANNELS}add/", channel_form(team)).status_code == 403


# --- The outbox -------------------------------------------------------------------------------

@pytest.fixture
def outbox(pm, other_pm, slack_allowed, team):
    """A stall on pm's "Claims triage" told to pm (failed), to other-pm (sent) and to the
    team's channel (pending)."""
    channel = saved_channel(team)
    with notifications_muted():
        initiative = services.initiative_create(actor=pm, now=FIXED_NOW, title="Claims triage",
                                                team=team)
        services.stakeholder_add(initiative=initiative, user=other_pm, role="R", actor=pm,
                                 now=FIXED_NOW)
    activity = services.activity_record(initiative=initiative, kind="stall_flagged",
                                        actor=None, now=FIXED_NOW, details={"reason": "idle"})
    rows = {n.recipient.username if n.recipient else "channel": n
            for n in Notification.objects.filter(activity=activity)
            .select_related("recipient")}
    Notification.objects.filter(pk=rows["owner-pm"].pk).update(
        status="failed", attempts=1, last_error="554 5.7.1 Message rejected")
    Notification.objects.filter(pk=rows["other-pm"].pk).update(status="sent",
                                                               sent_at=FIXED_NOW)
    assert rows["channel"].channel == channel
    return rows


def test_admins_read_the_outbox_with_the_channel_named_never_its_url(client, any_admin,
                                                                     outbox):
    client.force_login(any_admin)

    html = client.get(OUTBOX).content.decode()
    channel_page = client.get(f"{OUTBOX}{outbox['channel'].pk}/change/").content.decode()

    for text in ("Claims triage", "Stall flagged", "owner-pm", "other-pm",
                 f"#ai-claims (Slack, {HINT})", "554 5.7.1 Message rejected", "Failed",
                 "Sent", "Pending", "Immediately"):
        assert text in html, text
    for page in (html, channel_page):
        assert "XyZsecretPathValue9876" not in page
    assert HINT in channel_page


def test_the_outbox_filters_by_status_mode_and_kind(client, any_admin, outbox):
    client.force_login(any_admin)

    failed = client.get(OUTBOX, {"status__exact": "failed"}).content.decode()
    daily = client.get(OUTBOX, {"mode__exact": "daily"}).content.decode()
    stalls = client.get(OUTBOX, {"activity__kind__exact": "stall_flagged"}).content.decode()

    assert "554 5.7.1 Message rejected" in failed
    assert "other-pm" not in failed
    assert "0 notifications" in daily
    assert "3 notifications" in stalls


def test_the_outbox_cannot_be_added_to_changed_or_deleted(client, any_admin, outbox):
    client.force_login(any_admin)
    failed = outbox["owner-pm"]

    add = client.get(f"{OUTBOX}add/")
    change = client.post(f"{OUTBOX}{failed.pk}/change/", {"status": "sent"})
    delete = client.post(f"{OUTBOX}{failed.pk}/delete/", {"post": "yes"})

    assert add.status_code == 403
    assert delete.status_code == 403
    assert change.status_code == 403
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_send_again_puts_back_the_failed_ones_and_skips_the_others(client, any_admin,
                                                                   outbox):
    client.force_login(any_admin)
    selected = [outbox[name].pk for name in ("owner-pm", "other-pm", "channel")]

    response = client.post(OUTBOX, {"action": "send_again", "_selected_action": selected},
                           follow=True)

    html = response.content.decode()
    assert "1 notification(s) queued to be sent again." in html
    assert "2 skipped: only a failed notification is sent again by hand." in html
    statuses = dict(Notification.objects.filter(pk__in=selected)
                    .values_list("pk", "status"))
    assert statuses == {outbox["owner-pm"].pk: "pending", outbox["other-pm"].pk: "sent",
                        outbox["channel"].pk: "pending"}
    outbox["owner-pm"].refresh_from_db()
    assert (outbox["owner-pm"].attempts, outbox["owner-pm"].last_error) == (0, "")


def test_staff_who_may_only_read_the_outbox_have_no_send_again(client, outbox):
    client.force_login(staff_with("view_notification"))

    html = client.get(OUTBOX).content.decode()
    response = client.post(OUTBOX, {"action": "send_again",
                                    "_selected_action": [outbox["owner-pm"].pk]})

    assert "Claims triage" in html
    assert "send_again" not in html
    assert response.status_code in (200, 302)
    assert Notification.objects.get(pk=outbox["owner-pm"].pk).status == "failed"


def test_daily_summaries_are_listed_read_only(client, any_admin, pm, team):
    with notifications_muted():
        initiative = services.initiative_create(actor=pm, now=FIXED_NOW, title="Claims triage",
                                                team=team)
    notification_preferences_set(user=pm, modes={"stall_flagged": "daily"})
    services.activity_record(initiative=initiative, kind="stall_flagged", actor=None,
                             now=FIXED_NOW, details={"reason": "idle"})
    daily_summaries_run(now=FIXED_NOW, enqueue=False)
    summary = DailySummary.objects.get()
    client.force_login(any_admin)

    html = client.get("/admin/portfolio/dailysummary/").content.decode()

    assert "owner-pm" in html
    assert "Pending" in html
    assert client.get("/admin/portfolio/dailysummary/add/").status_code == 403
    assert client.post(f"/admin/portfolio/dailysummary/{summary.pk}/delete/",
                       {"post": "yes"}).status_code == 403
