"""What /healthz reports: can we reach the database and the broker?"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection

from portfolio.models import WorkerHeartbeat


def check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any driver error means "down"
        return False, f"{type(error).__name__}: {error}".strip()
    return True, connection.vendor


def check_broker(app) -> tuple[bool, str]:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
            transport = conn.transport_cls
    except Exception as error:
        return False, f"{type(error).__name__}: {error}".strip()
    return True, str(transport)


def last_worker_heartbeat() -> datetime | None:
    return WorkerHeartbeat.objects.order_by("-beat_at").values_list("beat_at", flat=True).first()


# Beat sends the heartbeat every minute (CELERY_BEAT_SCHEDULE); three missed beats is late.
WORKER_LATE_AFTER = timedelta(minutes=3)
WORKER_NOT_REPORTED = ("No worker has reported yet: background jobs (stall detection, "
                       "digests, the dashboard's standings) wait until a Celery worker and "
                       "beat run.")
WORKER_LATE = ("No heartbeat for {minutes} minutes: the worker or beat may have stopped, so "
               "background jobs are not running.")
WORKER_OK = "A worker ran the heartbeat {seconds} seconds ago."


def worker_state(*, now: datetime) -> dict:
    """The worker, in words, for /healthz: ``status`` is ``ok``, ``late`` (no heartbeat for
    ``WORKER_LATE_AFTER``) or ``not_reported`` (never). A worker's absence never makes the
    web process unhealthy: /healthz answers for the web process, and says this beside it."""
    beat = last_worker_heartbeat()
    if beat is None:
        return {"status": "not_reported", "last_seen": None, "detail": WORKER_NOT_REPORTED}
    age = now - beat
    if age > WORKER_LATE_AFTER:
        return {"status": "late", "last_seen": beat.isoformat(),
                "detail": WORKER_LATE.format(minutes=int(age.total_seconds() // 60))}
    return {"status": "ok", "last_seen": beat.isoformat(),
            "detail": WORKER_OK.format(seconds=max(0, int(age.total_seconds())))}
