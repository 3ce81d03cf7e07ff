"""Celery settings that keep the jobs' work safe on Redis, the beat schedule, enqueue after
commit, and a management command for each job (issue 6, "What to deliver" item 5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import transaction

from portfolio.celery import app as celery_app
from portfolio.models import DigestDelivery, StallFlag
from portfolio.notifications.services import notifications_muted
from portfolio.pilots.digest.content import scheduled_at
from portfolio.pilots.digest.delivery import digest_run
from tests.factories import TeamFactory
from tests.integration.conftest import PERIOD, make_stalled_pilot, make_tpm

pytestmark = pytest.mark.integration


def test_tasks_are_acknowledged_late_and_redelivered_from_a_killed_worker():
    conf = celery_app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1


def test_messages_are_json_only():
    conf = celery_app.conf
    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"
    assert list(conf.accept_content) == ["json"]


def test_tasks_have_time_limits_that_a_send_fits_in_and_the_lease_outlasts():
    conf = celery_app.conf
    assert conf.task_time_limit
    assert conf.task_soft_time_limit
    assert conf.task_soft_time_limit < conf.task_time_limit
    # An SMTP attempt gives up before the task is stopped...
    assert conf.task_soft_time_limit > django_settings.EMAIL_TIMEOUT
    assert conf.task_soft_time_limit > django_settings.EMAIL_DATA_TIMEOUT
    # ...and a delivery is taken for abandoned only once no live worker can still send it.
    assert conf.task_time_limit < django_settings.DIGEST_SEND_LEASE_SECONDS


def test_redis_redelivers_only_work_whose_worker_died(redis_url):
    conf = celery_app.conf
    assert conf.broker_url == redis_url
    visibility = conf.broker_transport_options["visibility_timeout"]
    # A retry waiting for its countdown is held unacknowledged: if the visibility timeout
    # ran out first, Redis would hand it to a second worker.
    assert visibility > django_settings.DIGEST_RETRY_MAX_SECONDS
    assert visibility > conf.task_time_limit
    assert visibility > django_settings.DIGEST_SEND_LEASE_SECONDS


def test_every_beat_entry_names_a_registered_task():
    celery_app.loader.import_default_modules()  # runs the autodiscovery of tasks modules
    schedule = celery_app.conf.beat_schedule
    assert {"stalls-detect", "digest-weekly", "digest-catch-up"} <= set(schedule)
    missing = {name: entry["task"] for name, entry in schedule.items()
               if entry["task"] not in celery_app.tasks}
    assert not missing, (
        f"beat entries naming a task no worker registers: {missing}; beat would send "
        "messages every worker rejects as an unregistered task")
    assert schedule["stalls-detect"]["task"] == "portfolio.tasks.stalls_detect_task"
    assert schedule["digest-weekly"]["task"] == "portfolio.tasks.digest_run_task"
    assert schedule["digest-catch-up"]["task"] == "portfolio.tasks.digest_catch_up_task"
    weekly = schedule["digest-weekly"]["schedule"]
    assert weekly.day_of_week == {1}  # Monday
    assert weekly.hour == {django_settings.DIGEST_HOUR}
    assert weekly.minute == {0}


@pytest.mark.django_db(transaction=True)
def test_sends_are_enqueued_only_after_the_claim_commits(queue, redis_url):
    import redis

    at = scheduled_at(PERIOD)
    make_stalled_pilot(team=TeamFactory(name="Alpha"), title="Stalled pilot Alpha", run_at=at)
    with notifications_muted():  # the owner's own notice is not what this test counts
        call_command("detect_stalls", now=(at - timedelta(days=1)).isoformat(), stdout=_Null())
    for number in range(3):
        make_tpm(f"tpm{number}", email=f"tpm{number}@example.com")
    client = redis.Redis.from_url(redis_url)
    try:
        # What the set-up's commits queued (the standings' refresh) is not under test.
        before = client.llen(queue)
        with transaction.atomic():
            result = digest_run(now=at)
            assert len(result.claimed) == 3
            assert client.llen(queue) == before, "a send was enqueued before its claim committed"
        assert client.llen(queue) == before + 3
    finally:
        client.close()


@pytest.mark.django_db
def test_each_job_has_a_management_command_that_takes_now(smtp, capsys):
    server = smtp()
    at = scheduled_at(PERIOD)
    make_stalled_pilot(team=TeamFactory(name="Alpha"), title="Stalled pilot Alpha", run_at=at)
    make_tpm("reader", email="reader@example.com")

    call_command("detect_stalls", "--now", (at - timedelta(days=1)).isoformat())
    call_command("send_digests", "--now", at.isoformat())
    call_command("send_digests", "--now", (at + timedelta(hours=1)).isoformat())
    call_command("digest_catch_up", "--now", (at + timedelta(days=1)).isoformat())

    out = capsys.readouterr().out
    assert "Flagged 1" in out
    assert "claimed 1 new digest(s)" in out
    assert "sent 1" in out
    assert "claimed 0 new digest(s)" in out, "the second run this week claims nothing"
    assert "re-enqueued 0" in out
    assert StallFlag.objects.count() == 1
    [message] = server.received
    assert message.recipients == ("reader@example.com",)
    assert "Stalled pilot Alpha" in message.text
    assert DigestDelivery.objects.get().message_id == message.message_id


class _Null:
    def write(self, _text):
        pass

    def flush(self):
        pass
