"""Claiming and sending digests, once per recipient per ISO week (the SMTP-level faults are
in tests/integration, against a real worker and a real SMTP server)."""

import smtplib
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from portfolio.celery import app as celery_app
from portfolio.models import DigestDelivery, DigestRun, Stage
from portfolio.pilots.digest.delivery import (
    classify_failure,
    digest_catch_up,
    digest_run,
    digest_send,
    retry_delay,
)
from portfolio.pilots.services import stalls_detect
from tests.factories import InitiativeFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


@pytest.fixture
def stalled():
    initiative = InitiativeFactory(team=TeamFactory(name="Payments"), stage=Stage.PILOT,
                                   title="Fraud triage", contracted=True,
                                   stage_changed_at=MONDAY - timedelta(days=120),
                                   last_activity_at=MONDAY - timedelta(days=2))
    stalls_detect(now=MONDAY - timedelta(days=1))
    return initiative


@pytest.fixture
def catch_up(django_capture_on_commit_callbacks):
    """The catch-up job, with the tasks it enqueues (after commit) run in this process; the
    real worker is exercised in tests/integration."""
    def run(now):
        celery_app.conf.task_always_eager = True
        try:
            with django_capture_on_commit_callbacks(execute=True):
                return digest_catch_up(now=now)
        finally:
            celery_app.conf.task_always_eager = False
    return run


def test_a_run_claims_one_digest_per_recipient_and_sends_it_with_html_and_text(stalled,
                                                                              settings):
    reader = UserFactory(username="reader", roles=["tpm"], email="reader@example.com")

    result = digest_run(now=MONDAY, enqueue=False)
    delivery = DigestDelivery.objects.get(recipient=reader)
    outcome = digest_send(delivery_id=delivery.pk, now=MONDAY)

    assert result.claimed == [delivery.pk]
    assert outcome.status == "sent"
    [message] = mail.outbox
    assert message.to == ["reader@example.com"]
    assert message.extra_headers["Message-ID"] == delivery.message_id
    assert "Fraud triage" in message.body
    assert stalled.get_absolute_url() in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="{settings.SITE_URL}{stalled.get_absolute_url()}"' in html
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.sent_at) == ("sent", 1, MONDAY)


def test_running_again_in_the_same_week_claims_and_sends_nothing_more(stalled):
    UserFactory(username="reader", roles=["tpm"])
    first = digest_run(now=MONDAY, enqueue=False)
    for pk in first.claimed:
        digest_send(delivery_id=pk, now=MONDAY)

    again = digest_run(now=MONDAY + timedelta(days=2), enqueue=False)
    resend = digest_send(delivery_id=first.claimed[0], now=MONDAY + timedelta(days=2))

    assert again.claimed == []
    assert resend.status == "skipped"
    assert len(mail.outbox) == 1
    assert DigestDelivery.objects.count() == 1


def test_next_week_is_a_new_digest_with_its_own_message_id(stalled):
    UserFactory(username="reader", roles=["tpm"])
    this_week = digest_run(now=MONDAY, enqueue=False).claimed
    next_week = digest_run(now=MONDAY + timedelta(weeks=1), enqueue=False).claimed

    ids = set(DigestDelivery.objects.filter(pk__in=this_week + next_week)
              .values_list("message_id", flat=True))
    assert len(ids) == 2


def test_nothing_is_sent_when_there_is_nothing_to_report():
    UserFactory(username="reader", roles=["tpm"])

    result = digest_run(now=MONDAY, enqueue=False)

    assert (result.claimed, result.empty) == ([], 1)
    assert not DigestDelivery.objects.exists()
    assert DigestRun.objects.get().period == MONDAY.date()


def test_a_delivery_waiting_for_its_back_off_is_not_sent_early(stalled):
    UserFactory(username="reader", roles=["tpm"])
    [pk] = digest_run(now=MONDAY, enqueue=False).claimed
    DigestDelivery.objects.filter(pk=pk).update(next_attempt_at=MONDAY + timedelta(minutes=4))

    assert digest_send(delivery_id=pk, now=MONDAY + timedelta(minutes=1)).status == "skipped"
    assert digest_send(delivery_id=pk, now=MONDAY + timedelta(minutes=4)).status == "sent"


def test_a_delivery_abandoned_by_a_dead_worker_is_taken_over_after_its_lease(stalled, settings):
    UserFactory(username="reader", roles=["tpm"])
    [pk] = digest_run(now=MONDAY, enqueue=False).claimed
    DigestDelivery.objects.filter(pk=pk).update(status="sending", claimed_at=MONDAY)
    lease = timedelta(seconds=settings.DIGEST_SEND_LEASE_SECONDS)

    assert digest_send(delivery_id=pk, now=MONDAY + lease / 2).status == "skipped"
    assert digest_send(delivery_id=pk, now=MONDAY + lease).status == "sent"
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(("error", "permanent", "recorded"), [
    (smtplib.SMTPRecipientsRefused({"a@x": (550, b"5.1.1 No such user")}), True,
     "550 5.1.1 No such user"),
    (smtplib.SMTPRecipientsRefused({"a@x": (452, b"Mailbox full, try later")}), False, "452"),
    (smtplib.SMTPDataError(554, b"Message rejected"), True, "554 Message rejected"),
    (smtplib.SMTPDataError(451, b"Try again later"), False, "451"),
    (smtplib.SMTPConnectError(421, b"Too busy"), False, "421"),
    (ConnectionRefusedError(111, "Connection refused"), False, "ConnectionRefusedError"),
    (TimeoutError("timed out"), False, "TimeoutError"),
    (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), False,
     "SMTPServerDisconnected"),
])
def test_failures_are_permanent_only_for_a_5xx_on_the_recipient_or_message(error, permanent,
                                                                            recorded):
    is_permanent, text = classify_failure(error)

    assert is_permanent is permanent
    assert recorded in text


def test_back_off_doubles_up_to_its_cap(settings):
    settings.DIGEST_RETRY_BASE_SECONDS, settings.DIGEST_RETRY_MAX_SECONDS = 60, 600

    assert [retry_delay(n) for n in range(1, 6)] == [60, 120, 240, 480, 600]


def test_catch_up_runs_a_week_whose_monday_run_never_happened_once(stalled, catch_up):
    UserFactory(username="reader", roles=["tpm"])
    tuesday = MONDAY + timedelta(days=1)

    first = catch_up(tuesday)
    second = catch_up(tuesday + timedelta(minutes=15))

    assert first.ran_week
    assert not second.ran_week
    assert len(mail.outbox) == 1
    assert DigestDelivery.objects.get().status == "sent"


def test_catch_up_waits_for_the_monday_hour(stalled, catch_up):
    UserFactory(username="reader", roles=["tpm"])

    result = catch_up(MONDAY - timedelta(minutes=1))

    assert not result.ran_week
    assert mail.outbox == []


def test_catch_up_re_enqueues_a_delivery_whose_message_was_lost(stalled, catch_up):
    UserFactory(username="reader", roles=["tpm"])
    [pk] = digest_run(now=MONDAY, enqueue=False).claimed  # claimed, never enqueued

    soon = catch_up(MONDAY + timedelta(minutes=1))
    later = catch_up(MONDAY + timedelta(minutes=10))

    assert soon.requeued == 0  # a fresh one may still be on its way
    assert later.requeued == 1
    assert DigestDelivery.objects.get(pk=pk).status == "sent"
    assert len(mail.outbox) == 1
