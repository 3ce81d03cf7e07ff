"""The worker is killed (SIGKILL) mid-run and restarted: every TPM ends with exactly one
digest, none is lost (issue 6, "Done when").

The worker runs as a process of its own (``celery -A portfolio worker``) on the test
database, this test's Redis queue and a loopback SMTP server that holds the fifth message
open until the worker is killed; the dropped connection cancels that message, so it was
never delivered. A fresh worker sends what was still queued; the killed worker's message
stays unacknowledged in Redis (re-delivered only after the visibility timeout), and the
catch-up job, run at a ``now`` past the send lease, re-enqueues the abandoned delivery.

The send task stamps its claim with the wall clock, so this test keeps ``now`` on the wall
clock and shortens the lease (``DIGEST_SEND_LEASE_SECONDS=1``) instead of waiting for it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portfolio.models import DigestDelivery, DigestRun
from portfolio.notifications.services import notifications_muted
from portfolio.pilots.digest.content import period_of
from portfolio.pilots.digest.delivery import digest_catch_up, digest_run
from portfolio.pilots.services import stalls_detect
from portfolio.tasks import digest_send_task
from tests.factories import TeamFactory
from tests.integration.conftest import make_stalled_pilot, make_tpm, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TPMS = 10
BLOCK_ON = 5
LEASE_SECONDS = 1


def statuses():
    return dict(DigestDelivery.objects.values_list("recipient__username", "status"))


def test_a_worker_killed_mid_send_and_restarted_leaves_every_tpm_with_exactly_one_digest(
        smtp, queue, worker_process, drain, settings):
    settings.DIGEST_SEND_LEASE_SECONDS = LEASE_SECONDS
    server = smtp(block_on=BLOCK_ON)
    env = {"EMAIL_URL": f"smtp://{server.host}:{server.port}", "EMAIL_TIMEOUT": 10,
           "DIGEST_SEND_LEASE_SECONDS": LEASE_SECONDS}
    now = timezone.now()
    pilot = make_stalled_pilot(team=TeamFactory(name="Alpha"), title="Stalled pilot Alpha",
                               run_at=now)
    with notifications_muted():  # the owner's stall notification is not a digest
        stalls_detect(now=now - timedelta(minutes=5))
    names = [f"tpm{number:02d}" for number in range(TPMS)]
    for name in names:
        make_tpm(name, email=f"{name}@example.com")

    result = digest_run(now=now, enqueue=False)
    assert len(result.claimed) == TPMS
    for pk in result.claimed:
        digest_send_task.apply_async(args=[pk], queue=queue)

    first = worker_process(**env)
    assert server.blocked.wait(60), f"the worker never reached message {BLOCK_ON}:\n" + (
        first.output())
    abandoned = DigestDelivery.objects.get(status="sending")
    first.kill()
    # The server sees the connection drop and cancels the half-received message.
    assert wait_for(lambda: server.handler.abandoned == 1, 10)
    server.release()
    assert len(server.received) == BLOCK_ON - 1
    assert DigestDelivery.objects.filter(status="sent").count() == BLOCK_ON - 1

    second = worker_process(**env)
    assert wait_for(lambda: DigestDelivery.objects.filter(status="sent").count() == TPMS - 1,
                    60), f"{statuses()}\n{second.output()}"
    drain(rounds=1)
    abandoned.refresh_from_db()
    assert abandoned.status == "sending", "only the catch-up job may pick up the abandoned one"

    # The catch-up job, past the lease of the killed worker's claim. The send task judges
    # the lease by the worker's wall clock (it takes no ``now``): let one second pass.
    lease_over = abandoned.claimed_at + timedelta(seconds=LEASE_SECONDS)
    assert wait_for(lambda: timezone.now() > lease_over, LEASE_SECONDS + 5)
    later = timezone.now() + timedelta(seconds=LEASE_SECONDS, minutes=1)
    if period_of(later) != period_of(now):
        # The week turned during this test: next week's run is not what is under test.
        DigestRun.objects.create(period=period_of(later), finished_at=later, deliveries=0)
    caught = digest_catch_up(now=later)
    assert not caught.ran_week
    assert caught.requeued == 1
    assert wait_for(lambda: DigestDelivery.objects.filter(status="sent").count() == TPMS, 60), (
        f"{statuses()}\n{second.output()}")
    drain()

    mailbox = server.by_recipient()
    assert set(mailbox) == {f"{name}@example.com" for name in names}
    for name in names:
        assert len(mailbox[f"{name}@example.com"]) == 1, f"{name}: not exactly one digest"
    assert len(server.received) == TPMS
    abandoned.refresh_from_db()
    assert (abandoned.status, abandoned.attempts) == ("sent", 2)
    [rescued] = mailbox[abandoned.to_address]
    assert rescued.message_id == abandoned.message_id, "the resend keeps its Message-ID"
    assert "Stalled pilot Alpha" in rescued.text
    assert f"{settings.SITE_URL}{pilot.get_absolute_url()}" in rescued.text
    assert set(DigestDelivery.objects.values_list("status", flat=True)) == {"sent"}
