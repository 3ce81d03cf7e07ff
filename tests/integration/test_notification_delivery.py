"""Event notifications end to end (issue 20, "Done when"): a real Celery worker, run as a
process of its own on the test database and this test's Redis queue, sends through a real
SMTP server (aiosmtpd) and posts to a real HTTP server standing in for Slack's and Teams'
incoming webhooks (``tests.integration.webhook_server``).

- Each event reaches each person and each chat channel exactly once, through a worker
  killed with SIGKILL while the SMTP server, or the webhook, holds a message open.
- A webhook answering 500 then 200 is retried after its back-off and delivered once; one
  answering 4xx is recorded failed with its reply, after one request, never retried.
- Daily summaries: one per person and day, whoever runs the job and how often.
- The webhook URL (its secret path) is never in the worker's output nor in what is
  recorded of a failure.

Events are produced by the real services (``checkpoint_decide``, ``activities_record``),
which write the outbox in their transaction and queue the sends after it commits. Time is
injected into every service the test calls; the worker stamps its claims with the wall
clock, so the SIGKILL test shortens the send lease instead of waiting for it.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import Checkpoint, CheckpointType
from governance.services import checkpoint_decide
from portfolio.models import (
    Activity,
    ChatChannel,
    DailySummary,
    Notification,
    Stakeholder,
    WebhookHost,
)
from portfolio.notifications.services import (
    chat_channel_save,
    daily_summaries_run,
    message_id_for,
    notification_preferences_set,
    notifications_catch_up,
    webhook_host_save,
)
from portfolio.services import activities_record
from portfolio.tasks import daily_summaries_run_task, notifications_send_task
from tests.factories import InitiativeFactory, TeamFactory, UserFactory
from tests.integration.conftest import wait_for
from tests.integration.webhook_server import RefusingPort, WebhookServer
from tests.threads import run_together

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SECRET = "secret-token-XYZ"
SLACK_PATH = f"/services/T000/B000/{SECRET}"
TEAMS_PATH = f"/webhookb2/alpha/IncomingWebhook/{SECRET}"
LEASE_SECONDS = 1


@pytest.fixture
def webhooks():
    """``webhooks(**knobs)`` starts a loopback webhook server (stopped at the end)."""
    servers: list[WebhookServer] = []

    def make(**knobs) -> WebhookServer:
        server = WebhookServer(**knobs).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def refusing_port():
    port = RefusingPort()
    yield port
    port.close()


def worker_env(smtp_server, **extra) -> dict:
    return {"EMAIL_URL": f"smtp://{smtp_server.host}:{smtp_server.port}", "EMAIL_TIMEOUT": 60,
            "WEBHOOK_ALLOW_LOOPBACK": "true", "WEBHOOK_TIMEOUT_SECONDS": 60,
            "NOTIFY_RETRY_BASE_SECONDS": 1, **extra}


def channels_for(team, settings, **urls) -> dict[str, ChatChannel]:
    """The team's chat channels (name -> (kind, url)), saved as an admin saves them, with
    loopback allowed as in tests and on a developer's machine."""
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    admin = UserFactory(username="ops-admin", is_staff=True)
    now = timezone.now()
    if not WebhookHost.objects.filter(host="127.0.0.1").exists():
        webhook_host_save(host=WebhookHost(host="127.0.0.1"), actor=admin, now=now)
    return {name: chat_channel_save(channel=ChatChannel(team=team, kind=kind, name=name),
                                    url=url, actor=admin, now=now)
            for name, (kind, url) in urls.items()}


def pm(username: str):
    return UserFactory(username=username, email=f"{username}@example.com", roles=["pm"])


def stalls_flagged(initiatives, now) -> list[Activity]:
    return activities_record(activities=[
        Activity(initiative=initiative, kind=Activity.Kind.STALL_FLAGGED, actor=None, at=now,
                 details={"reason": "too_long", "reason_label": "in pilot too long"})
        for initiative in initiatives], now=now)


def rows(**filters) -> list[Notification]:
    return list(Notification.objects.filter(**filters).select_related(
        "recipient", "channel", "activity__initiative").order_by("pk"))


def statuses() -> Counter:
    return Counter(Notification.objects.values_list("status", flat=True))


def all_sent(count: int):
    return lambda: Notification.objects.filter(status="sent").count() == count


def assert_each_delivered_exactly_once(smtp_server, webhook_server) -> None:
    """Each (event, person) notification arrived in one email, and each (event, channel)
    one in exactly one POST the webhook answered 2xx, carrying that event."""
    by_message_id = Counter((m.message_id, address.lower()) for m in smtp_server.received
                            for address in m.recipients)
    emails = rows(recipient__isnull=False)
    assert emails, "the events were meant to notify people"
    for row in emails:
        key = (message_id_for("notification", row.pk), row.recipient.email)
        assert by_message_id[key] == 1, f"{row}: {by_message_id[key]} emails"
    assert len(smtp_server.received) == len(emails)
    messages = {m.message_id: m for m in smtp_server.received}
    for row in emails:
        assert row.activity.initiative.title in messages[message_id_for(
            "notification", row.pk)].text

    posts = rows(channel__isnull=False)
    assert posts, "the team's channels were meant to hear of the events"
    delivered = Counter((r.path, r.idempotency_key) for r in webhook_server.delivered())
    for row in posts:
        path = SLACK_PATH if row.channel.kind == "slack" else TEAMS_PATH
        key = (path, message_id_for("notification", row.pk))
        assert delivered[key] == 1, f"{row}: {delivered[key]} deliveries"
    assert len(webhook_server.delivered()) == len(posts)
    for request in webhook_server.delivered():
        [row] = [r for r in posts
                 if message_id_for("notification", r.pk) == request.idempotency_key]
        title = row.activity.initiative.title
        if request.path == TEAMS_PATH:
            assert request.body["@type"] == "MessageCard"
            assert title in request.body["title"]
        else:
            assert title in request.body["text"]


# --- Exactly once, through a worker killed mid-send -------------------------------------------

def rejected_checkpoints(team, count: int, now) -> tuple[list, object]:
    """``count`` initiatives, each owned by a PM of its own, one Responsible PM on all; an
    independent reviewer rejects a checkpoint on each. Each rejection notifies the owner,
    the Responsible PM and the team's channels."""
    checkpoint_type = CheckpointType.objects.create(
        code="pen-test-review-it", name="Pen-test review", description="Pen test.",
        nist_function="manage", required_for="production")
    reviewer = UserFactory(username="the-reviewer", roles=["reviewer"])
    responsible = pm("resp-pm")
    initiatives = []
    for number in range(count):
        initiative = InitiativeFactory(team=team, owner=pm(f"owner-{number}"),
                                       title=f"Claims assistant {number}")
        Stakeholder.objects.create(initiative=initiative, user=responsible, role="R")
        checkpoint = Checkpoint.objects.create(
            initiative=initiative, type=checkpoint_type, requested_at=now - timedelta(days=3),
            due_date=timezone.localdate(now) + timedelta(days=5))
        checkpoint_decide(checkpoint=checkpoint, actor=reviewer, approve=False,
                          expected_version=checkpoint.version,
                          evidence_notes=f"No DPIA on file ({number}).", now=now)
        initiatives.append(initiative)
    return initiatives, responsible


@pytest.mark.parametrize("held", ["email", "webhook"])
def test_each_event_reaches_each_person_and_channel_exactly_once_through_a_worker_killed_mid_send(
        held, smtp, webhooks, queue, worker_process, drain, settings):
    settings.NOTIFY_SEND_LEASE_SECONDS = LEASE_SECONDS
    # Each rejection is one send task of four: owner, Responsible PM, Slack, Teams. The held
    # message is the second task's first email, or its last post.
    smtp_server = smtp(block_on=3 if held == "email" else None)
    webhook_server = webhooks(hold_on=4 if held == "webhook" else None)
    team = TeamFactory(name="Alpha")
    channels_for(team, settings, **{"#ai-alpha": ("slack", webhook_server.url(SLACK_PATH)),
                                    "AI Alpha": ("teams", webhook_server.url(TEAMS_PATH))})
    now = timezone.now()
    initiatives, responsible = rejected_checkpoints(team, 5, now)
    total = Notification.objects.count()
    assert total == 5 * 4
    env = worker_env(smtp_server, NOTIFY_SEND_LEASE_SECONDS=LEASE_SECONDS)

    first = worker_process(**env)
    holding = smtp_server.blocked if held == "email" else webhook_server.held
    assert holding.wait(60), f"the worker never reached the held message:\n{first.output()}"
    [abandoned] = rows(status="sending")
    first.kill()
    # The server sees the connection drop: the half-sent message was never delivered.
    if held == "email":
        assert wait_for(lambda: smtp_server.handler.abandoned == 1, 10)
        smtp_server.release()
    else:
        assert wait_for(lambda: len(webhook_server.abandoned) == 1, 10)
        webhook_server.release()

    second = worker_process(**env)
    drain()
    abandoned.refresh_from_db()
    assert abandoned.status == "sending", "only the catch-up job may pick up the abandoned one"
    left = total - Notification.objects.filter(status="sent").count()
    assert left >= 1, statuses()

    # The catch-up job, past the lease of the killed worker's claim (judged by the worker's
    # wall clock: let the lease run out), and past the grace of rows never attempted.
    lease_over = abandoned.claimed_at + timedelta(seconds=LEASE_SECONDS)
    assert wait_for(lambda: timezone.now() > lease_over, LEASE_SECONDS + 5)
    assert notifications_catch_up(now=timezone.now() + timedelta(minutes=2)) == left
    assert wait_for(all_sent(total), 60), f"{statuses()}\n{second.output()}"
    # Redis hands the killed worker's message out again after its visibility timeout, and
    # the catch-up job runs every minute: every send asked for again sends nothing more.
    notifications_send_task.apply_async(
        args=[list(Notification.objects.values_list("pk", flat=True))], queue=queue)
    assert notifications_catch_up(now=timezone.now() + timedelta(minutes=5)) == 0
    drain()

    assert_each_delivered_exactly_once(smtp_server, webhook_server)
    abandoned.refresh_from_db()
    assert (abandoned.status, abandoned.attempts) == ("sent", 2)
    mailbox = smtp_server.by_recipient()
    assert len(mailbox[responsible.email]) == 5
    for initiative in initiatives:
        [email] = mailbox[initiative.owner.email]
        # (A long encoded subject is folded onto the next line: the parser keeps the space.)
        assert email.subject.strip() == f"Pen-test review rejected on “{initiative.title}”"
        assert "Reason: No DPIA on file" in email.text
    assert SECRET not in first.output() + second.output()


# --- A webhook's transient and permanent failures -----------------------------------------------

def test_a_webhook_answering_500_then_200_is_retried_after_its_back_off_and_delivered_once(
        smtp, webhooks, queue, worker_process, drain, settings):
    smtp_server = smtp()
    webhook_server = webhooks()
    webhook_server.script(SLACK_PATH, (500, "internal_error"), (200, "ok"))
    team = TeamFactory(name="Alpha")
    channels = channels_for(team, settings,
                            **{"#ai-alpha": ("slack", webhook_server.url(SLACK_PATH)),
                               "AI Alpha": ("teams", webhook_server.url(TEAMS_PATH))})
    owner = pm("owner-pm")
    initiative = InitiativeFactory(team=team, owner=owner, title="Invoice triage")
    stalls_flagged([initiative], timezone.now())

    process = worker_process(**worker_env(smtp_server))
    assert wait_for(all_sent(3), 60), f"{statuses()}\n{process.output()}"
    drain()

    slack = Notification.objects.get(channel=channels["#ai-alpha"])
    assert (slack.status, slack.attempts, slack.last_error, slack.response_status,
            slack.response_body) == ("sent", 2, "", None, ""), "no failure shown on it"
    first, second = webhook_server.to(SLACK_PATH)
    assert (first.status, second.status) == (500, 200)
    assert first.raw == second.raw, "the retry posts the same message"
    assert first.idempotency_key == second.idempotency_key == message_id_for(
        "notification", slack.pk)
    assert "Stalled pilot: “Invoice triage”" in second.body["text"]
    [teams] = webhook_server.to(TEAMS_PATH)
    assert teams.delivered
    assert_each_delivered_exactly_once(smtp_server, webhook_server)
    assert SECRET not in process.output()


def test_a_webhook_answering_4xx_is_recorded_failed_with_its_reply_and_never_retried(
        smtp, webhooks, queue, worker_process, drain, settings):
    smtp_server = smtp()
    webhook_server = webhooks()
    webhook_server.script(SLACK_PATH, (404, "no_service"))
    webhook_server.script(TEAMS_PATH, (400, "Bad payload received by generic incoming webhook."))
    team = TeamFactory(name="Alpha")
    channels = channels_for(team, settings,
                            **{"#ai-alpha": ("slack", webhook_server.url(SLACK_PATH)),
                               "AI Alpha": ("teams", webhook_server.url(TEAMS_PATH))})
    owner = pm("owner-pm")
    stalls_flagged([InitiativeFactory(team=team, owner=owner, title="Invoice triage")],
                   timezone.now())

    process = worker_process(**worker_env(smtp_server))
    assert wait_for(lambda: Notification.objects.filter(status="failed").count() == 2, 60), (
        f"{statuses()}\n{process.output()}")
    # The catch-up job, however late, queues nothing failed again.
    assert notifications_catch_up(now=timezone.now() + timedelta(days=1)) == 0
    drain()

    slack = Notification.objects.get(channel=channels["#ai-alpha"])
    assert (slack.status, slack.attempts, slack.response_status, slack.response_body,
            slack.last_error) == ("failed", 1, 404, "no_service", "404 from Slack")
    teams = Notification.objects.get(channel=channels["AI Alpha"])
    assert (teams.status, teams.attempts, teams.response_status, teams.response_body,
            teams.last_error) == ("failed", 1, 400,
                                  "Bad payload received by generic incoming webhook.",
                                  "400 from Microsoft Teams")
    assert [r.status for r in webhook_server.to(SLACK_PATH)] == [404]
    assert [r.status for r in webhook_server.to(TEAMS_PATH)] == [400]
    # The person still heard of it, once.
    [email] = smtp_server.by_recipient()[owner.email]
    assert email.subject.strip() == "Stalled pilot: “Invoice triage”"
    assert Notification.objects.get(recipient=owner).status == "sent"
    assert SECRET not in process.output()


def test_the_webhook_url_is_never_in_the_workers_output_nor_in_what_a_failure_records(
        smtp, webhooks, refusing_port, queue, worker_process, drain, settings):
    smtp_server = smtp()
    webhook_server = webhooks(default=(500, "internal_error"))
    webhook_server.script(f"/services/T000/B404/{SECRET}", (404, "no_service"))
    team = TeamFactory(name="Alpha")
    channels_for(team, settings,
                 **{"#refused": ("slack", refusing_port.url(SLACK_PATH)),
                    "#gone": ("slack", webhook_server.url(f"/services/T000/B404/{SECRET}")),
                    "AI Alpha": ("teams", webhook_server.url(TEAMS_PATH))})
    stalls_flagged([InitiativeFactory(team=team, owner=pm("owner-pm"), title="Invoice triage")],
                   timezone.now())

    # Everything the worker logs, down to its HTTP client's debug lines.
    process = worker_process(**worker_env(smtp_server, NOTIFY_MAX_ATTEMPTS=2,
                                          TEST_CELERY_LOGLEVEL="DEBUG"))
    assert wait_for(lambda: Notification.objects.filter(status="failed").count() == 3, 60), (
        f"{statuses()}\n{process.output()}")
    drain()

    errors = dict(Notification.objects.filter(channel__isnull=False)
                  .values_list("channel__name", "last_error"))
    assert errors == {
        "#refused": "Gave up after 2 attempts: webhook request failed: NewConnectionError",
        "#gone": "404 from Slack",
        "AI Alpha": "Gave up after 2 attempts: 500 from Microsoft Teams",
    }
    for row in Notification.objects.all():
        assert SECRET not in row.last_error + row.response_body
    output = process.output()
    assert "notifications_send_task" in output, "the worker's log was captured"
    assert "DEBUG/MainProcess" in output, "at its most detailed"
    assert SECRET not in output
    assert f"{refusing_port.port}" not in output


# --- Daily summaries ----------------------------------------------------------------------------

def test_daily_summaries_are_sent_once_per_person_and_day_however_often_the_job_runs(
        smtp, webhooks, queue, worker_process, drain, settings):
    smtp_server = smtp()
    webhook_server = webhooks()
    team = TeamFactory(name="Alpha")
    channels_for(team, settings, **{"#ai-alpha": ("slack", webhook_server.url(SLACK_PATH)),
                                    "AI Alpha": ("teams", webhook_server.url(TEAMS_PATH))})
    ada, bo, cy = pm("ada"), pm("bo"), pm("cy")  # cy keeps the default: immediately
    for person in (ada, bo):
        notification_preferences_set(user=person, modes={"stall_flagged": "daily"})
    claims = InitiativeFactory(team=team, owner=ada, title="Claims assistant")
    Stakeholder.objects.create(initiative=claims, user=bo, role="R")
    invoices = InitiativeFactory(team=team, owner=bo, title="Invoice triage")
    routing = InitiativeFactory(team=team, owner=cy, title="Ticket routing")
    Stakeholder.objects.create(initiative=routing, user=ada, role="R")
    day_one = timezone.now()
    stalls_flagged([claims, invoices, routing], day_one)

    process = worker_process(**worker_env(smtp_server))
    # Two runs at once, and the scheduled task on the worker: one summary a person.
    claimed = sum(run_together(lambda: daily_summaries_run(now=day_one),
                               lambda: daily_summaries_run(now=day_one)), [])
    daily_summaries_run_task.apply_async(args=[day_one.isoformat()], queue=queue)
    assert sorted(claimed) == sorted(DailySummary.objects.values_list("pk", flat=True))
    assert len(claimed) == 2
    assert wait_for(lambda: DailySummary.objects.filter(status="sent").count() == 2, 60), (
        process.output())
    # People: ada and bo twice, cy once; channels: two per event.
    assert wait_for(all_sent(5 + 3 * 2), 60), f"{statuses()}\n{process.output()}"
    drain()

    def summaries() -> dict[str, list]:
        return {address: [m for m in messages if "X-Portfolio-Summary" in m.headers]
                for address, messages in smtp_server.by_recipient().items()}

    [ada_summary] = summaries()[ada.email]
    assert ada_summary.headers["X-Portfolio-Summary"] == f"{timezone.localdate(day_one)}"
    assert ada_summary.subject.strip().startswith("Your daily summary: 2 things that happened")
    assert "“Claims assistant”" in ada_summary.text
    assert "“Ticket routing”" in ada_summary.text
    assert "“Invoice triage”" not in ada_summary.text
    [bo_summary] = summaries()[bo.email]
    assert "“Claims assistant”" in bo_summary.text
    assert "“Invoice triage”" in bo_summary.text
    [cy_email] = smtp_server.by_recipient()[cy.email]
    assert cy_email.subject.strip() == "Stalled pilot: “Ticket routing”"
    assert "X-Portfolio-Summary" not in cy_email.headers
    assert len(smtp_server.received) == 3
    assert_each_delivered_exactly_once_to_channels(webhook_server, 3)

    # The next day: a new event for bo only. Runs for either day again send nothing twice.
    day_two = day_one + timedelta(days=1)
    errands = InitiativeFactory(team=team, owner=bo, title="Errand bot")
    stalls_flagged([errands], day_two)
    assert daily_summaries_run(now=day_one) == []  # today's is claimed; the new one waits
    run_together(lambda: daily_summaries_run(now=day_two),
                 lambda: daily_summaries_run(now=day_two))
    daily_summaries_run_task.apply_async(args=[day_two.isoformat()], queue=queue)
    assert wait_for(lambda: DailySummary.objects.filter(status="sent").count() == 3, 60), (
        process.output())
    drain()

    assert len(summaries()[ada.email]) == 1
    first, second = summaries()[bo.email]
    assert second.headers["X-Portfolio-Summary"] == f"{timezone.localdate(day_two)}"
    assert second.subject.strip().startswith("Your daily summary: 1 thing that happened")
    assert "“Errand bot”" in second.text
    assert "“Invoice triage”" not in second.text
    assert len(smtp_server.received) == 4
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    assert_each_delivered_exactly_once_to_channels(webhook_server, 4)
    assert SECRET not in process.output()


def assert_each_delivered_exactly_once_to_channels(webhook_server, events: int) -> None:
    posts = rows(channel__isnull=False)
    assert len(posts) == 2 * events
    delivered = Counter(r.idempotency_key for r in webhook_server.delivered())
    assert delivered == Counter(message_id_for("notification", row.pk) for row in posts)
