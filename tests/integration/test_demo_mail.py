"""The demo never mails its data to a real server: with ``EMAIL_URL`` at an SMTP server (a
real one on loopback here) ``seed_demo`` loads everything but last week's digests, sends
nothing, and says so. With mail kept on the machine it sends them (``test_seed_demo``)."""

import io

import pytest
from django.core.management import call_command

from portfolio.models import DigestDelivery, DigestRun, StallFlag

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_seeding_the_demo_with_an_smtp_server_configured_mails_nothing_to_it(smtp):
    server = smtp()
    out = io.StringIO()

    call_command("seed_demo", stdout=out)

    assert server.received == []
    assert server.handler.data_commands == 0
    assert not DigestDelivery.objects.exists()
    assert not DigestRun.objects.exists()
    assert StallFlag.objects.exists(), "the rest of the demo's stalls are loaded"
    assert "Last week's digests were not seeded: EMAIL_URL points at a mail server" in (
        out.getvalue())
