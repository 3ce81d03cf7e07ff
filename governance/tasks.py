"""Celery tasks of the governance app: thin wrappers around services."""

from celery import shared_task
from django.utils import timezone

from governance import services


@shared_task(name="governance.tasks.waivers_lapse_task", ignore_result=True)
def waivers_lapse_task() -> int:
    """Beat sends this daily; each expired waiver is reported once however often it runs."""
    return services.waivers_lapse(now=timezone.now())
