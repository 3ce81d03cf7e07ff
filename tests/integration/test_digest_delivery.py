"""The weekly digest end to end (issue 6, "Done when"): a real Celery worker on Redis sends
through a real SMTP server on loopback; every job runs at an injected ``now``.

- 50 TPMs: each gets exactly one digest with the pilots of the teams they follow; running
  the job again, or twice at once, sends nothing more; nothing to report, nothing sent.
- SMTP refuses connections at first, then accepts: each digest arrives once, after retries;
  a recipient refused with 550 is recorded failed and the others arrive.
- Beat missed the Monday hour: the catch-up job sends the week's digests, once.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portfolio.celery import app as celery_app
from portfolio.models import DigestDelivery, DigestRun
from portfolio.notifications.services import notifications_muted
from portfolio.pilots.digest import delivery as delivery_module
from portfolio.pilots.digest.content import (
    digest_recipients,
    digests_build,
    period_of,
    scheduled_at,
)
from portfolio.pilots.digest.delivery import digest_run
from portfolio.pilots.services import stalls_detect
from portfolio.tasks import digest_catch_up_task, digest_run_task
from tests.factories import InitiativeFactory, TeamFactory, UserFactory
from tests.integration.conftest import (
    PERIOD,
    in_threads,
    make_healthy_pilot,
    make_stalled_pilot,
    make_tpm,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TPMS = 50


def run_at():
    """The week's scheduled run (Monday at DIGEST_HOUR in TIME_ZONE)."""
    return scheduled_at(PERIOD)


def claims_race(monkeypatch, parties: int) -> None:
    """Make concurrent runs race for real: each has built its digests (seeing nothing
    claimed yet) before any of them tries to claim."""
    built = threading.Barrier(parties, timeout=30)
    real_build = delivery_module.digests_build

    def build_then_wait(**kwargs):
        digests = real_build(**kwargs)
        built.wait()
        return digests

    monkeypatch.setattr(delivery_module, "digests_build", build_then_wait)


def portfolio(count: int = TPMS):
    """Three teams with a stalled pilot each, two without; ``count`` TPMs following some of
    them (a sixth follow every team), plus people who must get nothing.

    Returns ({username: set of expected pilot titles}, the stalled pilots by title, the
    titles nobody may see).
    """
    at = run_at()
    alpha, bravo, charlie, delta, echo = (TeamFactory(name=name) for name in
                                          ("Alpha", "Bravo", "Charlie", "Delta", "Echo"))
    stalled = {
        "Stalled pilot Alpha": make_stalled_pilot(team=alpha, title="Stalled pilot Alpha",
                                                  run_at=at),
        "Stalled pilot Bravo": make_stalled_pilot(team=bravo, title="Stalled pilot Bravo",
                                                  run_at=at, too_long=False),
        "Stalled pilot Charlie": make_stalled_pilot(team=charlie, title="Stalled pilot Charlie",
                                                    run_at=at),
    }
    make_healthy_pilot(team=delta, title="Healthy pilot Delta", run_at=at)
    InitiativeFactory(team=echo, title="Fresh idea Echo")  # not a pilot
    with notifications_muted():  # the owners' stall notifications are not digests
        assert stalls_detect(now=at - timedelta(days=1)).flagged == 3

    follows = [([alpha], {"Stalled pilot Alpha"}),
               ([bravo], {"Stalled pilot Bravo"}),
               ([charlie], {"Stalled pilot Charlie"}),
               ([delta], set()),  # nothing to report
               (None, set(stalled)),  # follows every team
               ([alpha, echo], {"Stalled pilot Alpha"})]
    expected = {}
    for number in range(count):
        teams, titles = follows[number % len(follows)]
        username = f"tpm{number:02d}"
        make_tpm(username, teams=teams, at=at - timedelta(days=30),
                 email=f"{username}@example.com")
        expected[username] = titles
    # Never recipients: opted out, no address, deactivated, not a TPM.
    make_tpm("optedout", opted_out=True, at=at, email="optedout@example.com")
    make_tpm("noaddress", email="")
    make_tpm("gone", is_active=False, email="gone@example.com")
    UserFactory(username="pm-only", roles=["pm"], email="pm-only@example.com")
    hidden = {"Healthy pilot Delta", "Fresh idea Echo"}
    return expected, stalled, hidden


def assert_exactly_one_each(server, expected, stalled, hidden, settings):
    mailbox = server.by_recipient()
    due = {name for name, titles in expected.items() if titles}
    assert set(mailbox) == {f"{name}@example.com" for name in due}, (
        "only TPMs with something to report got a digest (none to the opted out, the "
        "inactive, the address-less, non-TPMs or those with nothing to report)")
    deliveries = {d.recipient.username: d for d in
                  DigestDelivery.objects.filter(period=PERIOD).select_related("recipient")}
    assert set(deliveries) == due
    for name in sorted(due):
        messages = mailbox[f"{name}@example.com"]
        assert len(messages) == 1, f"{name} received {len(messages)} digests"
        [message] = messages
        record = deliveries[name]
        assert record.status == DigestDelivery.Status.SENT, (name, record.last_error)
        assert message.message_id == record.message_id
        assert message.recipients == (f"{name}@example.com",)
        assert message.headers.get("X-Portfolio-Digest") == "2026-W49"
        assert "2026-W49" in message.subject
        assert message.text, "a plain-text part"
        assert message.html, "an HTML part"
        for title, initiative in stalled.items():
            url = f"{settings.SITE_URL}{initiative.get_absolute_url()}"
            if title in expected[name]:
                assert title in message.text
                assert title in message.html
                assert url in message.text, f"{name}: no link back to {title} in the text"
                assert f'href="{url}"' in message.html, f"{name}: no link to {title} in HTML"
            else:
                assert title not in message.text, f"{name} does not follow {title}'s team"
                assert title not in message.html, f"{name} does not follow {title}'s team"
                assert url not in message.text
        for title in hidden:
            assert title not in message.text
            assert title not in message.html
    # One Message-ID per digest: a resend would reuse it, two digests would not.
    assert len({m.message_id for m in server.received}) == len(server.received) == len(due)


def test_50_tpms_each_get_exactly_one_digest_with_their_pilots_and_reruns_send_nothing(
        smtp, worker, drain, settings):
    server = smtp()
    expected, stalled, hidden = portfolio()
    due = sum(1 for titles in expected.values() if titles)
    assert period_of(run_at()) == PERIOD

    digest_run_task.delay(run_at().isoformat())

    assert wait_for(lambda: len(server.received) >= due
                    and DigestDelivery.objects.filter(status="sent").count() == due, 60), (
        f"{len(server.received)} of {due} digests arrived")
    drain()
    assert_exactly_one_each(server, expected, stalled, hidden, settings)
    assert DigestRun.objects.get(period=PERIOD).deliveries == due

    # The job again, later the same week: through the worker, then twice at once here.
    digest_run_task.delay((run_at() + timedelta(hours=1)).isoformat())
    drain()
    again = in_threads(digest_run, 2, now=run_at() + timedelta(hours=2))
    drain()

    assert [result.claimed for result in again] == [[], []]
    assert_exactly_one_each(server, expected, stalled, hidden, settings)
    assert DigestDelivery.objects.count() == due
    assert DigestRun.objects.count() == 1


def test_two_runs_at_once_claim_each_digest_once_and_send_it_once(
        smtp, queue, drain, settings, monkeypatch):
    """Two digest_run_task messages taken at once by a worker with two threads, forced to
    race: both build everything before either claims."""
    server = smtp()
    expected, stalled, hidden = portfolio(count=24)
    due = sum(1 for titles in expected.values() if titles)
    claims_race(monkeypatch, parties=2)

    with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False,
                      queues=[queue], shutdown_timeout=15, loglevel="WARNING"):
        digest_run_task.delay(run_at().isoformat())
        digest_run_task.delay(run_at().isoformat())
        assert wait_for(lambda: DigestDelivery.objects.filter(status="sent").count() == due
                        and len(server.received) >= due, 60), (
            f"{len(server.received)} of {due} digests arrived")
        drain(rounds=3)

    assert_exactly_one_each(server, expected, stalled, hidden, settings)
    assert DigestDelivery.objects.count() == due


def test_two_runs_at_once_in_this_process_claim_disjoint_sets(smtp, worker, drain, settings,
                                                             monkeypatch):
    server = smtp()
    expected, stalled, hidden = portfolio(count=12)
    due = sum(1 for titles in expected.values() if titles)
    claims_race(monkeypatch, parties=2)

    first, second = in_threads(digest_run, 2, now=run_at())

    assert not set(first.claimed) & set(second.claimed), "a digest was claimed twice"
    assert len(first.claimed) + len(second.claimed) == due
    assert wait_for(lambda: DigestDelivery.objects.filter(status="sent").count() == due, 60)
    drain()
    assert_exactly_one_each(server, expected, stalled, hidden, settings)


def test_the_digest_builder_uses_as_many_queries_for_50_recipients_as_for_5():
    expected, _, _ = portfolio()
    now, period = run_at(), PERIOD
    everyone = digest_recipients(period=period)
    few = list(everyone.values_list("pk", flat=True)[:5])

    with CaptureQueriesContext(connection) as five:
        small = digests_build(now=now, period=period,
                              recipients=digest_recipients(period=period).filter(pk__in=few))
    with CaptureQueriesContext(connection) as fifty:
        large = digests_build(now=now, period=period, recipients=digest_recipients(period=period))

    assert (len(small), len(large)) == (5, TPMS)
    assert len(fifty.captured_queries) == len(five.captured_queries), (
        "building digests must take a fixed number of queries:\n"
        + "\n".join(query["sql"] for query in fifty.captured_queries))
    assert sum(1 for d in large if not d.is_empty) == sum(1 for t in expected.values() if t)


def test_smtp_refusing_connections_then_accepting_delivers_each_digest_once_after_retries(
        smtp, worker, drain, settings):
    settings.DIGEST_RETRY_BASE_SECONDS = 1
    settings.DIGEST_RETRY_MAX_SECONDS = 1
    settings.DIGEST_MAX_ATTEMPTS = 8
    server = smtp(refuse=True, reject=["tpm03@example.com"],
                  tempfail={"tpm05@example.com": 1})
    at = run_at()
    team = TeamFactory(name="Alpha")
    pilot = make_stalled_pilot(team=team, title="Stalled pilot Alpha", run_at=at)
    with notifications_muted():  # the owner's stall notification is not a digest
        stalls_detect(now=at - timedelta(days=1))
    names = [f"tpm{number:02d}" for number in range(8)]
    for name in names:
        make_tpm(name, email=f"{name}@example.com")

    result = digest_run(now=at)  # enqueued on commit to this test's worker
    assert len(result.claimed) == len(names)

    # Every attempt so far met a refused connection: pending, with the error recorded.
    assert wait_for(lambda: not DigestDelivery.objects.filter(attempts__lt=2).exists(), 30), (
        "the worker did not retry the refused deliveries")
    refused = DigestDelivery.objects.exclude(status="sent").values_list("last_error", flat=True)
    assert refused
    assert all("refused" in error.lower() for error in refused), list(refused)
    assert not server.received
    server.accept()

    assert wait_for(lambda: not DigestDelivery.objects.filter(
        status__in=["pending", "sending"]).exists(), 60), list(
        DigestDelivery.objects.values_list("recipient__username", "status", "attempts"))
    drain()

    deliveries = {d.recipient.username: d for d in
                  DigestDelivery.objects.select_related("recipient")}
    rejected = deliveries.pop("tpm03")
    assert rejected.status == DigestDelivery.Status.FAILED
    assert "550" in rejected.last_error
    assert rejected.sent_at is None
    mailbox = server.by_recipient()
    assert "tpm03@example.com" not in mailbox
    for name, record in deliveries.items():
        assert record.status == DigestDelivery.Status.SENT, (name, record.last_error)
        assert record.attempts > 1, f"{name} was sent without a retry"
        assert len(mailbox[f"{name}@example.com"]) == 1, f"{name}: not exactly one digest"
        [message] = mailbox[f"{name}@example.com"]
        assert message.message_id == record.message_id
        assert "Stalled pilot Alpha" in message.text
        assert f"{settings.SITE_URL}{pilot.get_absolute_url()}" in message.text
    # The 451 was transient: one more attempt than the others that connected once.
    assert ("tpm05@example.com", 451) in server.handler.refused_rcpt
    assert deliveries["tpm05"].attempts >= 3
    assert len(server.received) == len(names) - 1


def test_beat_missed_the_monday_hour_and_the_catch_up_sends_the_week_once(
        smtp, worker, drain, settings):
    server = smtp()
    expected, stalled, hidden = portfolio(count=12)
    due = sum(1 for titles in expected.values() if titles)
    monday = scheduled_at(PERIOD)
    tuesday = monday + timedelta(days=1, hours=5)
    assert not DigestRun.objects.exists()

    # Before the hour there is nothing to catch up.
    digest_catch_up_task.delay((monday - timedelta(minutes=1)).isoformat())
    drain()
    assert not DigestDelivery.objects.exists()
    assert not server.received

    digest_catch_up_task.delay(tuesday.isoformat())
    assert wait_for(lambda: DigestDelivery.objects.filter(status="sent").count() == due, 60)
    drain()
    assert_exactly_one_each(server, expected, stalled, hidden, settings)
    assert DigestRun.objects.get(period=PERIOD).finished_at == tuesday

    # Its next runs (every 15 minutes) find the week done: nothing more.
    digest_catch_up_task.delay((tuesday + timedelta(minutes=15)).isoformat())
    digest_catch_up_task.delay((tuesday + timedelta(minutes=30)).isoformat())
    drain()
    assert_exactly_one_each(server, expected, stalled, hidden, settings)
    assert DigestDelivery.objects.count() == due
