"""A real Celery worker, started by the test, consumes a task from Redis."""

import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker

from portfolio.celery import app as celery_app
from portfolio.models import WorkerHeartbeat
from portfolio.tasks import record_worker_heartbeat

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_a_real_worker_consumes_a_task_from_redis_and_writes_its_result(redis_url):
    assert celery_app.conf.broker_url == redis_url
    # A queue of this test's own, so no other worker on this Redis can take the task.
    queue = f"test-{uuid.uuid4().hex}"
    name = f"worker-{uuid.uuid4().hex[:8]}"

    with start_worker(celery_app, pool="solo", perform_ping_check=False, queues=[queue],
                      shutdown_timeout=10):
        record_worker_heartbeat.apply_async(args=[name], queue=queue)

        assert wait_for(lambda: WorkerHeartbeat.objects.filter(name=name).exists()), (
            "the worker did not run the task within 20 s")
