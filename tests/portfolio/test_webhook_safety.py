"""A chat webhook's URL is an admin's setting, so it must not let anyone make the server
request whatever it can reach (``portfolio.notifications.webhooks``): only https, only on
the allowed hosts, never with credentials, never to an address that is not public
(loopback only when tests or a developer allow it), never following a redirect; and the
URL, a secret, never lands in what is recorded of a failure nor in the logs.

DNS is stubbed where a name must resolve to a private address (outside the machine);
replies come from a real HTTP server on loopback.
"""

import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from portfolio import services
from portfolio.models import Activity, ChatChannel, Notification, WebhookHost
from portfolio.notifications import webhooks
from portfolio.notifications.services import (
    chat_channel_save,
    notification_send,
    notifications_muted,
    webhook_host_save,
)
from portfolio.notifications.webhooks import (
    HAS_CREDENTIALS,
    NO_HOST,
    NOT_HTTPS,
    WebhookRefused,
    url_errors,
)
from tests.factories import FIXED_NOW, TeamFactory

SLACK = {"hooks.slack.com"}
SECRET = "T0001/B0001/never-show-this-secret"


# --- What a URL may be ----------------------------------------------------------------------------

def test_an_https_url_on_an_allowed_host_is_accepted():
    assert url_errors(f"https://hooks.slack.com/services/{SECRET}", allowed_hosts=SLACK,
                      allow_loopback=False) == []
    assert url_errors(f"https://HOOKS.slack.com/services/{SECRET}", allowed_hosts=SLACK,
                      allow_loopback=False) == []


def test_plain_http_is_refused_even_on_an_allowed_host():
    assert url_errors(f"http://hooks.slack.com/services/{SECRET}", allowed_hosts=SLACK,
                      allow_loopback=True) == [NOT_HTTPS]


def test_http_to_loopback_only_when_loopback_is_allowed():
    url = f"http://127.0.0.1:8080/{SECRET}"
    allowed = {"127.0.0.1"}

    assert url_errors(url, allowed_hosts=allowed, allow_loopback=True) == []
    assert url_errors(url, allowed_hosts=allowed, allow_loopback=False) == [NOT_HTTPS]


def test_a_host_not_on_the_list_is_refused_and_named():
    for url in ("https://evil.example.com/hook", "https://hooks.slack.com.evil.example/x",
                "https://169.254.169.254/latest/meta-data/", "https://10.0.0.5/x",
                "https://localhost/x"):
        [error] = url_errors(url, allowed_hosts=SLACK, allow_loopback=False)
        assert "is not an allowed webhook host" in error


def test_a_url_carrying_a_user_name_or_password_is_refused():
    for url in (f"https://user:pw@hooks.slack.com/{SECRET}", "https://user@hooks.slack.com/x",
                "https://hooks.slack.com:pw@evil.example.com/x"):
        assert url_errors(url, allowed_hosts=SLACK | {"evil.example.com"},
                          allow_loopback=False) == [HAS_CREDENTIALS]


@pytest.mark.parametrize("garbage", ["", "   ", "hooks.slack.com/services/x", "https://",
                                     "not a url at all", "https://hooks.slack.com:abc/x",
                                     "https://[::1/x", "file:///etc/passwd"])
def test_garbage_is_refused(garbage):
    assert url_errors(garbage, allowed_hosts=SLACK, allow_loopback=True) in (
        [NO_HOST], [NOT_HTTPS])


def test_the_hint_shows_the_host_and_the_last_four_characters_only():
    hint = webhooks.url_hint(f"https://hooks.slack.com/services/{SECRET}")

    assert hint == "https://hooks.slack.com/…cret"
    assert "never-show" not in hint


# --- Where a post may go --------------------------------------------------------------------------

@pytest.fixture
def resolves_to(monkeypatch):
    """Every name resolves to the address given (DNS lies outside the machine); any
    connection attempt fails the test."""

    def stub(address):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: [
            (family, socket.SOCK_STREAM, 6, "", (address, port))])

    def no_connection(*args, **kwargs):
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket, "create_connection", no_connection)
    return stub


def post(url, *, allow_loopback=False, hosts=SLACK):
    return webhooks.post(url, {"text": "hello"}, allowed_hosts=hosts,
                         allow_loopback=allow_loopback, timeout=2, idempotency_key="<k@x>")


@pytest.mark.parametrize("address", ["10.0.0.5", "169.254.169.254", "192.168.1.20",
                                     "172.16.0.1", "100.64.0.1", "fd00::1", "fe80::1",
                                     "0.0.0.0"])
def test_a_host_that_resolves_to_an_address_that_is_not_public_is_refused(
        resolves_to, address):
    resolves_to(address)

    with pytest.raises(WebhookRefused, match="resolves to an address that is not public"):
        post(f"https://hooks.slack.com/services/{SECRET}")


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_loopback_is_refused_unless_allowed(resolves_to, address):
    resolves_to(address)

    with pytest.raises(WebhookRefused, match="not public"):
        post(f"https://hooks.slack.com/services/{SECRET}", allow_loopback=False)


def test_a_host_off_the_list_is_refused_before_any_lookup(monkeypatch):
    looked_up = []
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: looked_up.append(a) or [])

    with pytest.raises(WebhookRefused, match="not an allowed webhook host"):
        post("https://evil.example.com/hook")
    assert looked_up == []


def test_a_name_that_does_not_resolve_is_refused(monkeypatch):
    def fails(*args, **kwargs):
        raise socket.gaierror("Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fails)

    with pytest.raises(WebhookRefused, match="does not resolve"):
        post(f"https://hooks.slack.com/services/{SECRET}")


# --- Through the outbox, against a real server on loopback ----------------------------------------

class _Recorder(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        self.server.requests.append(self.path)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, location = self.server.reply
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    """Start loopback servers: ``http_server(status, location=None)`` -> the server, whose
    ``requests`` lists the paths posted to it."""
    servers = []

    def start(status=200, location=None):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
        server.requests, server.reply = [], (status, location)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def loopback_channel(db, pm, settings):
    """``channel(url)``: a Slack channel on loopback (allowed, as in tests) on the team of
    pm's initiative; ``event()`` records a stall on it: its notification to the channel."""
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    webhook_host_save(host=WebhookHost(host="127.0.0.1"), actor=None, now=FIXED_NOW)
    team = TeamFactory(name="Claims", slug="claims")
    with notifications_muted():
        initiative = services.initiative_create(actor=pm, now=FIXED_NOW, title="Claims triage",
                                                team=team)

    class Channel:
        def __init__(self, url):
            chat_channel_save(channel=ChatChannel(team=team, kind="slack", name="ai-claims"),
                              url=url, actor=None, now=FIXED_NOW)

        def event(self):
            activity = services.activity_record(initiative=initiative, kind="stall_flagged",
                                                actor=None, now=FIXED_NOW,
                                                details={"reason": "idle"})
            return Notification.objects.get(activity=activity, channel__isnull=False)

    return Channel


@pytest.mark.django_db
def test_a_post_is_delivered_to_the_channel(loopback_channel, http_server):
    server = http_server(200)
    notification = loopback_channel(
        f"http://127.0.0.1:{server.server_port}/services/{SECRET}").event()

    outcome = notification_send(notification_id=notification.pk, now=FIXED_NOW)

    assert outcome.status == "sent"
    assert server.requests == [f"/services/{SECRET}"]


@pytest.mark.django_db
def test_a_redirect_is_recorded_failed_and_never_followed(loopback_channel, http_server):
    elsewhere = http_server(200)
    redirecting = http_server(302, location=f"http://127.0.0.1:{elsewhere.server_port}/x")
    notification = loopback_channel(
        f"http://127.0.0.1:{redirecting.server_port}/services/{SECRET}").event()

    outcome = notification_send(notification_id=notification.pk, now=FIXED_NOW)
    again = notification_send(notification_id=notification.pk, now=FIXED_NOW)

    notification.refresh_from_db()
    assert (outcome.status, again.status) == ("failed", "skipped")
    assert (notification.status, notification.response_status) == ("failed", 302)
    assert "a redirect, which is never followed" in notification.last_error
    assert len(redirecting.requests) == 1
    assert elsewhere.requests == []


@pytest.mark.django_db
def test_a_4xx_is_recorded_failed_with_the_reply(loopback_channel, http_server):
    server = http_server(404)
    notification = loopback_channel(
        f"http://127.0.0.1:{server.server_port}/services/{SECRET}").event()

    outcome = notification_send(notification_id=notification.pk, now=FIXED_NOW)

    notification.refresh_from_db()
    assert outcome.status == "failed"
    assert (notification.status, notification.response_status) == ("failed", 404)
    assert notification.last_error == "404 from Slack"


@pytest.mark.django_db
def test_a_refused_connection_is_retried_and_the_url_is_never_recorded_or_logged(
        loopback_channel, caplog):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    url = f"http://127.0.0.1:{port}/services/{SECRET}"
    notification = loopback_channel(url).event()
    caplog.set_level(logging.DEBUG)

    outcome = notification_send(notification_id=notification.pk, now=FIXED_NOW)

    notification.refresh_from_db()
    assert outcome.status == "retry"
    assert notification.status == "pending"
    assert notification.last_error.startswith("webhook request failed")
    recorded = " ".join([notification.last_error, notification.response_body, outcome.error,
                         *(record.getMessage() for record in caplog.records)])
    assert SECRET not in recorded
    assert "never-show-this-secret" not in recorded


@pytest.mark.django_db
def test_a_delivered_post_logs_nothing_of_the_url(loopback_channel, http_server, caplog):
    server = http_server(200)
    notification = loopback_channel(
        f"http://127.0.0.1:{server.server_port}/services/{SECRET}").event()
    caplog.set_level(logging.DEBUG)

    outcome = notification_send(notification_id=notification.pk, now=FIXED_NOW)

    assert outcome.status == "sent"
    assert len(server.requests) == 1
    assert not [record.getMessage() for record in caplog.records
                if "never-show-this-secret" in record.getMessage()]


@pytest.mark.django_db
def test_loopback_is_refused_through_the_outbox_when_not_allowed(loopback_channel,
                                                                 http_server, settings):
    server = http_server(200)
    notification = loopback_channel(
        f"http://127.0.0.1:{server.server_port}/services/{SECRET}").event()
    settings.WEBHOOK_ALLOW_LOOPBACK = False  # a production server, where it is off

    outcome = notification_send(notification_id=notification.pk, now=FIXED_NOW)

    notification.refresh_from_db()
    assert outcome.status == "failed"
    assert notification.last_error == NOT_HTTPS
    assert server.requests == []
    assert Activity.objects.filter(kind="stall_flagged").count() == 1
