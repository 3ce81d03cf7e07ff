"""Celery tasks of the portfolio app: thin wrappers around services."""

import socket

from celery import shared_task
from django.utils import timezone

from portfolio import services


@shared_task(name="portfolio.tasks.record_worker_heartbeat", ignore_result=True)
def record_worker_heartbeat(worker_name: str | None = None) -> None:
    """Beat sends this every minute; /healthz reports how long ago a worker ran it."""
    services.worker_heartbeat_record(name=worker_name or socket.gethostname(),
                                     now=timezone.now())
