"""Celery settings that keep work safe, and the one place the beat schedule lives."""

from portfolio.celery import app as celery_app


def test_tasks_are_acknowledged_late_one_at_a_time_and_json_only():
    conf = celery_app.conf

    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.accept_content == ["json"]
    assert conf.task_serializer == "json"
    assert conf.task_time_limit > conf.task_soft_time_limit


def test_redis_visibility_timeout_outlasts_any_task(settings):
    if settings.REDIS_URL:
        timeout = celery_app.conf.broker_transport_options["visibility_timeout"]
        assert timeout > celery_app.conf.task_time_limit
    else:
        assert celery_app.conf.broker_url == "filesystem://"


def test_beat_sends_the_worker_heartbeat_every_minute():
    entry = celery_app.conf.beat_schedule["worker-heartbeat"]
    celery_app.loader.import_default_modules()  # what a worker does at start: autodiscovery

    assert entry["task"] == "portfolio.tasks.record_worker_heartbeat"
    assert entry["schedule"] == 60.0
    assert entry["task"] in celery_app.tasks


def test_jobs_take_now_as_iso_8601_and_refuse_anything_else(settings):
    from datetime import UTC, datetime

    import pytest
    from django.core.management import CommandError, call_command

    from portfolio.moments import moment_or_now

    settings.TIME_ZONE = "UTC"
    assert moment_or_now("2026-11-30T07:00") == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    assert moment_or_now("2026-11-30T07:00+01:00") == datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="ISO 8601"):
        moment_or_now("next monday")
    with pytest.raises(CommandError, match="--now must be an ISO 8601"):
        call_command("detect_stalls", "--now", "next monday")
