"""What the logs say about refused requests: a 403 is one line, with no traceback; a 500
keeps its traceback."""

import logging

import pytest
from django.test import Client

from portfolio.logs import OneLineClientErrors

pytestmark = pytest.mark.django_db


def request_log(caplog):
    return [record for record in caplog.records if record.name == "django.request"]


def test_a_403_from_a_page_logs_one_line_without_a_traceback(client, reviewer, caplog):
    client.force_login(reviewer)

    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/initiatives/new/").status_code == 403

    [record] = request_log(caplog)
    assert record.status_code == 403
    assert record.exc_info is None
    formatted = logging.Formatter().format(record)
    assert formatted == "Forbidden (Permission denied): /initiatives/new/"
    assert "Traceback" not in caplog.text


def test_a_403_from_the_api_logs_one_line_without_a_traceback(reviewer, caplog):
    client = Client()
    client.force_login(reviewer)

    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.post("/api/v1/initiatives/", {"title": "X"},
                               content_type="application/json")

    assert response.status_code == 403
    [record] = request_log(caplog)
    assert record.exc_info is None
    assert "\n" not in logging.Formatter().format(record)
    assert "Traceback" not in caplog.text


def test_a_server_error_keeps_its_traceback():
    try:
        raise RuntimeError("a bug")
    except RuntimeError as error:
        record = logging.LogRecord("django.request", logging.ERROR, __file__, 1,
                                   "Internal Server Error: %s", ("/x/",),
                                   (type(error), error, error.__traceback__))
    record.status_code = 500

    assert OneLineClientErrors().filter(record) is True
    assert record.exc_info is not None
    assert "Traceback" in logging.Formatter().format(record)


def test_a_404_is_left_to_the_servers_own_request_line(client, caplog):
    # runserver and gunicorn log every request with its status; Django adds nothing for a 4xx.
    with caplog.at_level(logging.DEBUG):
        assert client.get("/no-such-page/").status_code == 404

    assert request_log(caplog) == []


def test_each_record_reaches_the_console_once():
    # Only the root logger prints: Django's own "django" handler would print a second copy.
    assert logging.getLogger("django").handlers == []
    assert logging.getLogger("django").propagate
    assert len(logging.getLogger().handlers) >= 1
    assert logging.getLogger("django.request").getEffectiveLevel() == logging.ERROR
