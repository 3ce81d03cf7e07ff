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


def test_says_plainly_that_no_worker_has_reported_yet_and_stays_healthy(client, frozen_clock):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["worker"]["status"] == "not_reported"
    assert body["worker"]["last_seen"] is None
    assert body["worker"]["detail"].startswith("No worker has reported yet")


def test_a_worker_that_reported_a_minute_ago_is_ok_and_one_silent_for_ten_is_late(
        client, frozen_clock):
    from portfolio.tasks import record_worker_heartbeat

    record_worker_heartbeat("worker-a")
    frozen_clock.shift(60)
    recent = client.get("/healthz").json()["worker"]
    frozen_clock.shift(9 * 60)
    late = client.get("/healthz")

    assert recent["status"] == "ok"
    assert recent["detail"] == "A worker ran the heartbeat 60 seconds ago."
    assert late.status_code == 200  # the web process is fine; the page says what is not
    assert late.json()["worker"]["status"] == "late"
    assert late.json()["worker"]["detail"].startswith("No heartbeat for 10 minutes")


def test_favicon_ico_leads_to_the_icon_every_page_names(client):
    from django.contrib.staticfiles import finders

    response = client.get("/favicon.ico")
    sign_in_page = client.get("/login/").content.decode()

    assert response.status_code == 301
    assert response["Location"] == "/static/favicon.svg"
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in sign_in_page
    assert finders.find("favicon.svg")
