"""Celery tasks of the portfolio app: thin wrappers around services.

Each takes JSON arguments only. Jobs accept an optional ``now`` (ISO 8601) so
tests and operators can run them for a chosen moment; beat sends none.
"""

import socket

from celery import shared_task
from django.utils import timezone

from portfolio import services
from portfolio.moments import moment_or_now
from portfolio.notifications import services as notifications
from portfolio.outcomes import services as outcomes
from portfolio.pilots import services as stalls
from portfolio.pilots.digest import delivery


@shared_task(name="portfolio.tasks.record_worker_heartbeat", ignore_result=True)
def record_worker_heartbeat(worker_name: str | None = None) -> None:
    """Beat sends this every minute; /healthz reports how long ago a worker ran it."""
    services.worker_heartbeat_record(name=worker_name or socket.gethostname(),
                                     now=timezone.now())


@shared_task(name="portfolio.tasks.stalls_detect_task", ignore_result=True)
def stalls_detect_task(now: str | None = None) -> None:
    stalls.stalls_detect(now=moment_or_now(now))


@shared_task(name="portfolio.tasks.value_reviews_schedule_task", ignore_result=True)
def value_reviews_schedule_task(now: str | None = None) -> None:
    outcomes.value_reviews_schedule(now=moment_or_now(now))


@shared_task(name="portfolio.tasks.digest_run_task", ignore_result=True)
def digest_run_task(now: str | None = None) -> None:
    delivery.digest_run(now=moment_or_now(now))


@shared_task(name="portfolio.tasks.digest_catch_up_task", ignore_result=True)
def digest_catch_up_task(now: str | None = None) -> None:
    delivery.digest_catch_up(now=moment_or_now(now))


@shared_task(bind=True, name="portfolio.tasks.digest_send_task", ignore_result=True,
             max_retries=None)
def digest_send_task(self, delivery_id: int) -> None:
    """One attempt; a transient failure comes back after the back-off the service chose
    (the service fails the delivery for good after DIGEST_MAX_ATTEMPTS)."""
    outcome = delivery.digest_send(delivery_id=delivery_id, now=timezone.now())
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)


@shared_task(name="portfolio.tasks.notifications_dispatch_task", ignore_result=True)
def notifications_dispatch_task(activity_ids: list[int]) -> None:
    """After a fan-out's commit: queue the sending of those events' immediate notifications."""
    notifications.notifications_dispatch(activity_ids=activity_ids)


@shared_task(name="portfolio.tasks.notifications_send_task", ignore_result=True)
def notifications_send_task(notification_ids: list[int]) -> None:
    """One attempt at each; a transient failure is queued again after its back-off (the
    service fails it for good after NOTIFY_MAX_ATTEMPTS)."""
    for pk in notification_ids:
        outcome = notifications.notification_send(notification_id=pk, now=timezone.now())
        if outcome.retry_in is not None:
            notifications_send_task.apply_async(args=[[pk]], countdown=outcome.retry_in)


@shared_task(name="portfolio.tasks.notifications_catch_up_task", ignore_result=True)
def notifications_catch_up_task(now: str | None = None) -> None:
    notifications.notifications_catch_up(now=moment_or_now(now))


@shared_task(name="portfolio.tasks.daily_summaries_run_task", ignore_result=True)
def daily_summaries_run_task(now: str | None = None) -> None:
    notifications.daily_summaries_run(now=moment_or_now(now))


@shared_task(bind=True, name="portfolio.tasks.daily_summary_send_task", ignore_result=True,
             max_retries=None)
def daily_summary_send_task(self, summary_id: int) -> None:
    outcome = notifications.daily_summary_send(summary_id=summary_id, now=timezone.now())
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
