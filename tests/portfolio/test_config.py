"""Settings come from the environment; a malformed value stops start-up with one line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from portfolio.config import ConfigError, Env

ROOT = Path(__file__).resolve().parents[2]


def env(**values):
    return Env(values)


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("1", True), ("ON", True),
                                               ("false", False), ("0", False), ("no", False)])
def test_booleans_accept_the_usual_words(raw, expected):
    assert env(DEBUG=raw).bool("DEBUG", default=False) is expected


def test_a_word_that_is_not_a_boolean_is_refused_naming_the_variable():
    with pytest.raises(ConfigError, match="DEBUG must be true or false.*'maybe'"):
        env(DEBUG="maybe").bool("DEBUG", default=False)


def test_an_empty_variable_means_unset():
    assert env(DATABASE_URL="").database("DATABASE_URL", Path("/tmp/x.db"))["NAME"] == "/tmp/x.db"
    assert env(DEBUG="  ").bool("DEBUG", default=True) is True


def test_postgres_url_becomes_a_database_config():
    config = env(DATABASE_URL="postgres://app:s%40cret@db.internal:6432/portfolio").database(
        "DATABASE_URL", Path("/unused"))

    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.internal", "6432", "portfolio")
    assert (config["USER"], config["PASSWORD"]) == ("app", "s@cret")


@pytest.mark.parametrize("bad", ["postgres//x", "mysql://h/db", "postgres://host", "postgres:///db",
                                 "postgres://u@h:abc/db"])
def test_malformed_database_urls_are_refused(bad):
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        env(DATABASE_URL=bad).database("DATABASE_URL", Path("/unused"))


def test_sqlite_url_keeps_absolute_paths():
    config = env(DATABASE_URL="sqlite:////srv/data/db.sqlite3").database("DATABASE_URL", Path("/x"))

    assert config["NAME"] == "/srv/data/db.sqlite3"


@pytest.mark.parametrize("bad", ["localhost:6379", "http://redis:6379/0", "redis://:x"])
def test_malformed_redis_urls_are_refused(bad):
    with pytest.raises(ConfigError, match="REDIS_URL"):
        env(REDIS_URL=bad).redis_url("REDIS_URL")


def test_smtp_email_url_sets_host_port_and_tls():
    config = env(EMAIL_URL="smtp+tls://bot:pw@mail.example.com:587").email("EMAIL_URL", Path("/m"))

    assert config["EMAIL_HOST"] == "mail.example.com"
    assert config["EMAIL_PORT"] == 587
    assert config["EMAIL_USE_TLS"] is True


def test_without_email_url_mail_is_written_to_files():
    config = env().email("EMAIL_URL", Path("/var/mail-out"))

    assert config["EMAIL_BACKEND"].endswith("filebased.EmailBackend")
    assert config["EMAIL_FILE_PATH"] == "/var/mail-out"


def test_unknown_email_scheme_is_refused():
    with pytest.raises(ConfigError, match="EMAIL_URL"):
        env(EMAIL_URL="pigeon://loft").email("EMAIL_URL", Path("/m"))


@pytest.mark.parametrize(("raw", "message"), [("ninety", "whole number"), ("0", "at least 1")])
def test_day_thresholds_must_be_positive_whole_numbers(raw, message):
    with pytest.raises(ConfigError, match=f"PILOT_MAX_DAYS must be .*{message}"):
        env(PILOT_MAX_DAYS=raw).int("PILOT_MAX_DAYS", default=90, minimum=1)


def test_unknown_time_zone_is_refused():
    with pytest.raises(ConfigError, match="TIME_ZONE must be an IANA time zone"):
        env(TIME_ZONE="Mars/Olympus").time_zone("TIME_ZONE", default="UTC")


def _manage(*args, **overrides):
    environment = {key: value for key, value in os.environ.items()
                   if key not in {"DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY", "HTTPS",
                                  "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    environment.update(overrides)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DEBUG": "true", "DATABASE_URL": "postgres//nowhere"}, "DATABASE_URL"),
        ({"DEBUG": "false"}, "SECRET_KEY"),
        ({"DEBUG": "true", "PILOT_IDLE_DAYS": "-3"}, "PILOT_IDLE_DAYS"),
    ],
)
def test_bad_configuration_stops_start_up_with_one_line_naming_the_variable(overrides, variable):
    result = _manage("check", **overrides)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Configuration error: {variable}")
    assert "Traceback" not in result.stderr


def test_production_settings_pass_the_deployment_checklist():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", DEBUG="false",
                     SECRET_KEY="a-long-random-production-secret-" + "x7Gq" * 10,
                     ALLOWED_HOSTS="portfolio.example.com")

    assert result.returncode == 0, result.stdout + result.stderr
