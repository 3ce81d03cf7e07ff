"""Figure 6: build and send 1,000 weekly digests through real Celery workers to a real
SMTP server on loopback, with one worker and with two.

The run is the app's own: ``digest_run`` builds every recipient's digest, claims a
``DigestDelivery`` for each and enqueues one ``digest_send_task`` per delivery (on
commit); each worker (``celery -A portfolio worker --pool=solo``, a process of its own
on the bench Redis queue) sends them to an aiosmtpd server in this process. The time
runs from the start of ``digest_run`` until the last delivery is recorded as sent.
"""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.controller import Controller
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.measure import BASE_DIR, VENV_BIN, free_port, peak_rss_mb, stop
from portfolio.celery import app as celery_app
from portfolio.models import DeliveryStatus, DigestDelivery, DigestRun
from portfolio.pilots.digest.content import digest_recipients, digests_build, period_of
from portfolio.pilots.digest.delivery import digest_run, digest_send

QUEUE = "bench-digest"


class CountingHandler:
    """Accepts every message and counts them (aiosmtpd handler)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.received = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        with self.lock:
            self.received += 1
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port: int):
        self.handler = CountingHandler()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=port)
        self.port = port

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


@dataclass
class BuildFigures:
    recipients: int
    digests: int
    median_ms: float
    queries: int


def measure_build(*, runs: int = 3) -> BuildFigures:
    """``digests_build`` for every recipient of this week, as the weekly run calls it."""
    now = timezone.now()
    period = period_of(now)
    times, queries, digests = [], 0, []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            digests = digests_build(now=now, period=period,
                                    recipients=digest_recipients(period=period))
            times.append((time.perf_counter() - started) * 1000)
        queries = len(captured.captured_queries)
    return BuildFigures(recipients=len(digests), digests=sum(not d.is_empty for d in digests),
                        median_ms=sorted(times)[len(times) // 2], queries=queries)


@dataclass
class SendFigures:
    workers: int
    digests: int
    received: int
    build_claim_s: float
    total_s: float
    run_queries: int
    worker_peak_rss_mb: float | None
    failed: int

    @property
    def per_second(self) -> float:
        return self.digests / self.total_s if self.total_s else 0.0


def _start_workers(count: int, env: dict, log_dir: Path) -> list[subprocess.Popen]:
    workers = []
    for number in range(1, count + 1):
        command = [str(VENV_BIN / "celery"), "-A", "portfolio", "worker", "--pool=solo",
                   "-Q", QUEUE, "-n", f"bench-{number}-{uuid.uuid4().hex[:6]}@%h",
                   "--without-gossip", "--without-mingle", "--without-heartbeat",
                   "--loglevel=WARNING"]
        with (log_dir / f"celery-{number}.log").open("ab") as out:
            workers.append(subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=out,
                                            stderr=subprocess.STDOUT))
    names_wanted = count
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(worker.poll() is not None for worker in workers):
            raise RuntimeError(f"a Celery worker exited; see {log_dir}/celery-*.log")
        replies = celery_app.control.ping(timeout=1.0) or []
        mine = [reply for reply in replies for name in reply if name.startswith("bench-")]
        if len(mine) >= names_wanted:
            return workers
    for worker in workers:
        stop(worker)
    raise RuntimeError("the Celery workers did not answer a ping within 60 s")


def _reset_week(period) -> None:
    DigestDelivery.objects.filter(period=period).delete()
    DigestRun.objects.filter(period=period).delete()


def measure_send(*, workers: int, env: dict, log_dir: Path, smtp: SmtpServer,
                 timeout_s: float = 900) -> SendFigures:
    now = timezone.now()
    period = period_of(now)
    _reset_week(period)
    started_received = smtp.handler.received
    processes = _start_workers(workers, {**env, "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}"},
                               log_dir)
    try:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            result = digest_run(now=now)  # builds, claims, enqueues on commit
            claimed_at = time.perf_counter()
        unsent = DigestDelivery.objects.filter(period=period).exclude(
            status__in=[DeliveryStatus.SENT, DeliveryStatus.FAILED])
        deadline = time.monotonic() + timeout_s
        while unsent.exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"digests still unsent after {timeout_s:.0f} s")
            time.sleep(0.1)
        finished = time.perf_counter()
        peaks = [peak_rss_mb(process.pid) for process in processes]
    finally:
        for process in processes:
            stop(process)
    peaks = [peak for peak in peaks if peak is not None]
    return SendFigures(
        workers=workers, digests=len(result.claimed),
        received=smtp.handler.received - started_received,
        build_claim_s=claimed_at - started, total_s=finished - started,
        run_queries=len(captured.captured_queries),
        worker_peak_rss_mb=max(peaks) if peaks else None,
        failed=DigestDelivery.objects.filter(period=period,
                                             status=DeliveryStatus.FAILED).count())


def send_queries(smtp: SmtpServer) -> int:
    """Queries of one ``digest_send`` (one delivery, one attempt), run in this process."""
    from django.test.utils import override_settings

    delivery = DigestDelivery.objects.order_by("pk").first()
    if delivery is None:
        return -1
    DigestDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, claimed_at=None, next_attempt_at=None)
    smtp_settings = override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=smtp.port, EMAIL_USE_TLS=False, EMAIL_USE_SSL=False, EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="")
    with smtp_settings, CaptureQueriesContext(connection) as captured:
        digest_send(delivery_id=delivery.pk, now=timezone.now())
    return len(captured.captured_queries)


def smtp_port() -> int:
    return free_port(8825)
