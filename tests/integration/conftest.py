"""Fixtures for the integration tests: a real SMTP server, a real Celery worker on its own
Redis queue, polling helpers, and a portfolio of stalled pilots with TPMs following teams.

Time is injected (``now=``) into every job; the tests only poll for the worker to finish.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection

from portfolio.celery import app as celery_app
from portfolio.config import EMAIL_BACKENDS
from portfolio.models import WorkerHeartbeat
from portfolio.tasks import record_worker_heartbeat
from tests.integration.smtp import SmtpServer
from tests.threads import in_threads  # noqa: F401 (the integration tests import it here)

BASE_DIR = Path(__file__).resolve().parents[2]
# The Monday of a fixed ISO week (2026-W49); runs happen at ``scheduled_at(PERIOD)``.
PERIOD = date(2026, 11, 30)


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


# --- SMTP ------------------------------------------------------------------------------------

@pytest.fixture
def smtp(settings):
    """``smtp(**knobs)`` starts a loopback SMTP server and points Django's SMTP backend at it."""
    servers: list[SmtpServer] = []

    def make(**knobs) -> SmtpServer:
        server = SmtpServer(**knobs).start()
        servers.append(server)
        settings.EMAIL_BACKEND = EMAIL_BACKENDS["smtp"]  # what EMAIL_URL=smtp://… selects
        settings.EMAIL_HOST = server.host
        settings.EMAIL_PORT = server.port
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 5
        return server

    yield make
    for server in servers:
        server.stop()


# --- Celery ----------------------------------------------------------------------------------

def _forget_queue(client, queue: str) -> None:
    """Remove the queue's Redis keys and any unacknowledged message bound for it."""
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    for tag, raw in client.hgetall("unacked").items():
        try:
            routing_key = json.loads(raw)[2]
        except (ValueError, IndexError, TypeError):
            continue
        if routing_key == queue:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


@pytest.fixture
def queue(redis_url):
    """A Redis queue of this test's own, made the default for tasks sent from this process
    (``.delay()`` and the on-commit enqueues of the services), so that no other worker on
    this Redis takes them."""
    import redis

    name = f"test-{uuid.uuid4().hex}"
    saved = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = name
    yield name
    celery_app.conf.task_default_queue = saved
    client = redis.Redis.from_url(redis_url)
    try:
        _forget_queue(client, name)
    finally:
        client.close()


@pytest.fixture
def worker(queue):
    """A real worker (solo pool, in a thread of this process) consuming ``queue``."""
    with start_worker(celery_app, pool="solo", perform_ping_check=False, queues=[queue],
                      shutdown_timeout=15, loglevel="WARNING"):
        yield queue


@pytest.fixture
def drain(queue):
    """Wait until the solo worker has run everything enqueued so far, including what those
    tasks enqueue in turn (each sentinel runs after all that was queued before it)."""
    def run(rounds: int = 2, timeout: float = 30.0) -> None:
        for _ in range(rounds):
            name = f"sentinel-{uuid.uuid4().hex[:12]}"
            record_worker_heartbeat.apply_async(args=[name], queue=queue)
            assert wait_for(lambda name=name: WorkerHeartbeat.objects.filter(name=name).exists(),
                            timeout), f"the worker did not drain its queue within {timeout} s"
    return run


# --- A worker as a separate process -----------------------------------------------------------

def database_url() -> str:
    """The URL of the database this test uses (the test database), for a child process."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    url = f"postgres://{auth}@{host}{port}/{quote(db['NAME'], safe='')}"
    options = {k: v for k, v in (db.get("OPTIONS") or {}).items() if isinstance(v, str)}
    if options:
        url += "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in options.items())
    return url


class WorkerProcess:
    def __init__(self, popen: subprocess.Popen, log: Path):
        self.popen = popen
        self.log = log

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, nothing acknowledged or restored."""
        os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)


@pytest.fixture
def worker_process(queue, redis_url, settings, tmp_path):
    """``worker_process(**env)`` starts ``celery -A portfolio worker --pool=solo -Q queue`` as
    a process of its own, on the test database, Redis and the given environment (the app of
    ``tests.integration.worker_app``: what the worker enqueues itself goes to ``queue``)."""
    started: list[WorkerProcess] = []

    def start(**extra_env) -> WorkerProcess:
        number = len(started) + 1
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", str(tmp_path)),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "portfolio.settings",
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_url,
            "SECRET_KEY": settings.SECRET_KEY,
            "DEBUG": "false",
            "HTTPS": "false",
            "VAR_DIR": str(tmp_path / "var"),
            "TIME_ZONE": settings.TIME_ZONE,
            "SITE_URL": settings.SITE_URL,
            "DIGEST_HOUR": str(settings.DIGEST_HOUR),
            "LOG_LEVEL": "INFO",
            "TEST_CELERY_QUEUE": queue,  # read by tests.integration.worker_app
            **{key: str(value) for key, value in extra_env.items()},
        }
        log = tmp_path / f"worker-{number}.log"
        command = [sys.executable, "-m", "celery", "-A", "tests.integration.worker_app",
                   "worker", "--pool=solo",
                   "-Q", queue, "-n", f"{queue}-{number}@%h", "--loglevel=INFO",
                   "--without-gossip", "--without-mingle", "--without-heartbeat"]
        with log.open("wb") as out:
            popen = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=out,
                                     stderr=subprocess.STDOUT)
        process = WorkerProcess(popen, log)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


# --- A portfolio with stalled pilots, and TPMs following teams --------------------------------

def make_stalled_pilot(*, team, title: str, run_at, too_long: bool = True):
    from portfolio.models import Stage
    from tests.factories import InitiativeFactory

    if too_long:  # in pilot for 120 days, active two days ago
        since, active = run_at - timedelta(days=120), run_at - timedelta(days=2)
    else:  # in pilot for 40 days, idle for 30
        since, active = run_at - timedelta(days=40), run_at - timedelta(days=30)
    return InitiativeFactory(team=team, title=title, stage=Stage.PILOT, contracted=True,
                             stage_changed_at=since, last_activity_at=active)


def make_healthy_pilot(*, team, title: str, run_at):
    from portfolio.models import Stage
    from tests.factories import InitiativeFactory

    return InitiativeFactory(team=team, title=title, stage=Stage.PILOT, contracted=True,
                             stage_changed_at=run_at - timedelta(days=30),
                             last_activity_at=run_at - timedelta(days=1))


def make_tpm(username: str, *, teams=None, opted_out: bool = False, at=None, **fields):
    """A TPM following ``teams`` (None: every team, no settings saved)."""
    from portfolio.models import DigestSubscription
    from tests.factories import UserFactory

    user = UserFactory(username=username, roles=["tpm"], **fields)
    if teams is not None or opted_out:
        subscription = DigestSubscription.objects.create(user=user, opted_out=opted_out,
                                                         updated_at=at)
        subscription.teams.set(teams or [])
    return user
