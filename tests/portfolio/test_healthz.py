"""/healthz answers without signing in: 200 when the database and broker answer, 503 if not."""

import pytest
from django.db import connection

from portfolio.celery import app as celery_app

pytestmark = pytest.mark.django_db


def test_healthy_when_database_and_broker_answer(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True


@pytest.fixture
def dead_broker():
    original = celery_app.conf.broker_url
    # Nothing listens on port 1: a real refused connection.
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"
    yield
    celery_app.conf.broker_url = original


def test_unavailable_naming_the_broker_when_it_does_not_answer(client, dead_broker):
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["broker"]["ok"] is False
    assert body["database"]["ok"] is True


@pytest.fixture
def dead_database():
    original = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-folder/portfolio.sqlite3"
    else:
        connection.settings_dict["PORT"] = "1"  # nothing listens there
    yield
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(original)


@pytest.mark.django_db(transaction=True)
def test_unavailable_naming_the_database_when_it_does_not_answer(client, dead_database):
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["database"]["ok"] is False
    assert body["broker"]["ok"] is True
    assert "worker_last_seen" not in body


def test_reports_when_a_worker_last_ran_the_heartbeat(client):
    from portfolio.tasks import record_worker_heartbeat

    record_worker_heartbeat("worker-a")

    assert client.get("/healthz").json()["worker_last_seen"] is not None
