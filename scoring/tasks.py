"""Celery tasks of the scoring app: thin wrappers around services."""

from celery import shared_task
from django.utils import timezone

from scoring import services, standings


@shared_task(name="scoring.tasks.funding_line_record_task", ignore_result=True)
def funding_line_record_task() -> int:
    """Beat sends this daily; each crossing of the funding line is recorded once however
    often it runs."""
    return services.funding_line_record(now=timezone.now())


@shared_task(name="scoring.tasks.standings_refresh_task", ignore_result=True)
def standings_refresh_task() -> None:
    """Recompute the dashboard's standings if anything they read changed: what the pending
    changes name, or everything on a new day. Every such change queues this once it
    commits (a stale read too, should that message be lost), and beat sends it every few
    minutes. It waits for a refresh already running, then does nothing unless a change
    committed meanwhile."""
    standings.standings_refresh(now=timezone.now())


@shared_task(name="scoring.tasks.standings_recompute_task", ignore_result=True)
def standings_recompute_task() -> None:
    """Beat sends this nightly: every standing recomputed, whatever the changes named (the
    catch-all behind the refreshes that recompute only what a change names)."""
    standings.standings_refresh(now=timezone.now(), force=True)
