"""Celery tasks of the scoring app: thin wrappers around services."""

from celery import shared_task
from django.utils import timezone

from scoring import services


@shared_task(name="scoring.tasks.funding_line_record_task", ignore_result=True)
def funding_line_record_task() -> int:
    """Beat sends this daily; each crossing of the funding line is recorded once however
    often it runs."""
    return services.funding_line_record(now=timezone.now())
