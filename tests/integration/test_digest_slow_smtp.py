"""A server that stores a digest but confirms it late, against a real SMTP server on loopback.

Connecting and commands wait ``EMAIL_TIMEOUT``; the message and the server's reply to it wait
the much longer ``EMAIL_DATA_TIMEOUT``. A ``250`` that comes after ``EMAIL_TIMEOUT`` but within
the data timeout is heard: one attempt, one stored message. One that comes even later is
taken for a failure and the digest goes again, with the same ``Message-ID`` so that the
receiving side can tell the copies apart from new mail.

The delays leave seconds of margin on each side: the outcome does not depend on how fast
this machine is.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from portfolio.models import DigestDelivery
from portfolio.notifications.services import notifications_muted
from portfolio.pilots.digest.content import scheduled_at
from portfolio.pilots.digest.delivery import digest_run, digest_send
from portfolio.pilots.services import stalls_detect
from tests.factories import TeamFactory
from tests.integration.conftest import PERIOD, make_stalled_pilot, make_tpm, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def one_digest_due():
    """One TPM following a team with a stalled pilot: one digest claimed, not yet sent."""
    at = scheduled_at(PERIOD)
    team = TeamFactory(name="Alpha")
    make_stalled_pilot(team=team, title="Stalled pilot Alpha", run_at=at)
    with notifications_muted():  # the owner's stall notification is not a digest
        stalls_detect(now=at - timedelta(days=1))
    make_tpm("slow-mail-tpm", teams=[team], at=at - timedelta(days=30),
             email="slow-mail-tpm@example.com")
    [delivery_id] = digest_run(now=at, enqueue=False).claimed
    return delivery_id, at


def test_a_250_later_than_the_command_timeout_is_heard_and_the_digest_goes_once(
        smtp, settings, one_digest_due):
    delivery_id, at = one_digest_due
    # Stores at once, confirms 8 s later: 5 s past the command timeout, 52 s before the
    # data timeout; a loopback command answers well within 3 s on a busy machine too.
    server = smtp(reply_delay=8.0)
    settings.EMAIL_TIMEOUT = 3
    settings.EMAIL_DATA_TIMEOUT = 60

    first = digest_send(delivery_id=delivery_id, now=at)
    # Whatever back-off a failure would have set has passed: nothing is sent again.
    again = digest_send(delivery_id=delivery_id,
                        now=at + timedelta(seconds=settings.DIGEST_RETRY_MAX_SECONDS + 1))

    assert (first.status, first.error) == ("sent", "")
    assert again.status == "skipped"
    delivery = DigestDelivery.objects.get(pk=delivery_id)
    assert delivery.status == DigestDelivery.Status.SENT
    assert delivery.attempts == 1
    assert [message.message_id for message in server.received] == [delivery.message_id]
    assert server.handler.unanswered == 0


def test_a_250_later_than_the_data_timeout_sends_again_with_the_same_message_id(
        smtp, settings, one_digest_due):
    delivery_id, at = one_digest_due
    # Only the first DATA is confirmed late: 7 s after the client stopped waiting.
    server = smtp(reply_delay=10.0, delay_on=1)
    settings.EMAIL_TIMEOUT = 3
    settings.EMAIL_DATA_TIMEOUT = 3

    first = digest_send(delivery_id=delivery_id, now=at)
    assert first.status == "retry"
    assert wait_for(lambda: server.handler.unanswered == 1, timeout=60), (
        "the server stored the first copy and the client left before its reply")
    second = digest_send(delivery_id=delivery_id, now=at + timedelta(seconds=first.retry_in))

    assert second.status == "sent"
    delivery = DigestDelivery.objects.get(pk=delivery_id)
    assert delivery.attempts == 2
    # The limit of SMTP: two copies, but one Message-ID, the one claimed with the delivery.
    assert [message.message_id for message in server.received] == [delivery.message_id] * 2
