"""What /healthz reports: can we reach the database and the broker?"""

from __future__ import annotations

from datetime import datetime

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
