"""Strict readers for settings that come from the environment.

Every reader takes the variable's name so that a malformed value stops
start-up with one line naming it (``ConfigError``), instead of a silent
fallback or a traceback deep inside Django.

These readers are the project's only ones; no environment library stands beside them.
django-environ was declared and dropped: each of its readers is more lenient than ours
(``maybe`` reads as false, an empty variable is not "unset", ``mysql://`` or a URL without
host or database name is accepted, a bad port is a bare ``ValueError``, and it knows other
mail schemes than ours), so a strict wrapper would have been needed around every one of
them — more code than these readers, for the same behaviour.
"""

from __future__ import annotations

import contextlib
import sys
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

RATE_PERIODS = ("second", "minute", "hour", "day")
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}

DATABASE_ENGINES = {
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
    "pgsql": "django.db.backends.postgresql",
    "sqlite": "django.db.backends.sqlite3",
}

EMAIL_BACKENDS = {
    # Django's SMTP backend with a longer wait for the reply to DATA (portfolio/mail.py).
    "smtp": "portfolio.mail.SMTPBackend",
    "smtp+tls": "portfolio.mail.SMTPBackend",
    "smtp+ssl": "portfolio.mail.SMTPBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "memory": "django.core.mail.backends.locmem.EmailBackend",
}


class ConfigError(ImproperlyConfigured):
    """A setting read from the environment is malformed."""


class Env:
    """Reads typed values out of an environment mapping (``os.environ``)."""

    def __init__(self, environ: Mapping[str, str]):
        self.environ = environ

    def _raw(self, name: str) -> str | None:
        value = self.environ.get(name)
        if value is None or value.strip() == "":
            # An empty variable (``DATABASE_URL=``) means "not set": the
            # default applies, exactly as if the line were absent.
            return None
        return value.strip()

    def str(self, name: str, default: str | None = None) -> str | None:
        value = self._raw(name)
        return default if value is None else value

    def bool(self, name: str, default: bool) -> bool:
        value = self._raw(name)
        if value is None:
            return default
        word = value.lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ConfigError(f"{name} must be true or false (or 1/0, yes/no, on/off), got {value!r}")

    def int(self, name: str, default: int, *, minimum: int | None = None) -> int:
        value = self._raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
        if minimum is not None and number < minimum:
            raise ConfigError(f"{name} must be at least {minimum}, got {number}")
        return number

    def list(self, name: str, default: list[str]) -> list[str]:
        value = self._raw(name)
        if value is None:
            return list(default)
        items = [item.strip() for item in value.split(",") if item.strip()]
        if not items:
            raise ConfigError(f"{name} must be a comma-separated list, got {value!r}")
        return items

    def rate(self, name: str, default: str) -> str:
        """A request rate as DRF's throttles read it: ``<count>/<period>``, a whole count of
        at least 1 per second, minute, hour or day (``100/minute``)."""
        value = self._raw(name)
        if value is None:
            return default
        count, _, period = value.replace(" ", "").partition("/")
        if not (count.isascii() and count.isdigit() and int(count) >= 1
                and period in RATE_PERIODS):
            raise ConfigError(f"{name} must be a count per second, minute, hour or day "
                              f"(e.g. 100/minute), got {value!r}")
        return f"{int(count)}/{period}"

    def time_zone(self, name: str, default: str) -> str:
        value = self.str(name, default)
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"{name} must be an IANA time zone such as Europe/London, got {value!r}"
            ) from None
        return value

    def database(self, name: str, default_sqlite_path: Path) -> dict:
        value = self._raw(name)
        if value is None:
            return {"ENGINE": DATABASE_ENGINES["sqlite"], "NAME": str(default_sqlite_path)}
        return parse_database_url(name, value)

    def redis_url(self, name: str) -> str | None:
        value = self._raw(name)
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"redis", "rediss"} or not parts.hostname:
            raise ConfigError(
                f"{name} must look like redis://host:6379/0, got {value!r}"
            )
        _port(name, value, parts)
        return value

    def email(self, name: str, default_folder: Path) -> dict:
        value = self._raw(name)
        if value is None:
            return {"EMAIL_BACKEND": EMAIL_BACKENDS["file"], "EMAIL_FILE_PATH": str(default_folder)}
        return parse_email_url(name, value, default_folder)


def _port(name: str, value: str, parts) -> int | None:
    try:
        return parts.port
    except ValueError:
        raise ConfigError(f"{name} has a port that is not a number: {value!r}") from None


def parse_database_url(name: str, value: str) -> dict:
    parts = urlsplit(value)
    engine = DATABASE_ENGINES.get(parts.scheme)
    if engine is None:
        raise ConfigError(
            f"{name} must start with postgres:// or sqlite:///, got {value!r}"
        )
    if engine == DATABASE_ENGINES["sqlite"]:
        path = unquote(parts.path)
        if not path or path == "/":
            raise ConfigError(f"{name} must name a file, e.g. sqlite:////abs/path/db.sqlite3")
        # sqlite:///relative.db -> "relative.db"; sqlite:////abs.db -> "/abs.db"
        return {"ENGINE": engine, "NAME": path[1:] if path.startswith("/") else path}
    db_name = unquote(parts.path.lstrip("/"))
    if not parts.hostname or not db_name:
        raise ConfigError(
            f"{name} must look like postgres://user:password@host:5432/dbname, got {value!r}"
        )
    config = {
        "ENGINE": engine,
        "NAME": db_name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname,
        "PORT": str(_port(name, value, parts) or ""),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if options:
        config["OPTIONS"] = options
    return config


def parse_email_url(name: str, value: str, default_folder: Path) -> dict:
    parts = urlsplit(value)
    backend = EMAIL_BACKENDS.get(parts.scheme)
    if backend is None:
        raise ConfigError(
            f"{name} must start with one of {', '.join(s + '://' for s in EMAIL_BACKENDS)};"
            f" got {value!r}"
        )
    config: dict = {"EMAIL_BACKEND": backend}
    if parts.scheme == "file":
        config["EMAIL_FILE_PATH"] = unquote(parts.path) or str(default_folder)
    elif parts.scheme.startswith("smtp"):
        if not parts.hostname:
            raise ConfigError(f"{name} must look like smtp://user:password@host:25, got {value!r}")
        config.update(
            EMAIL_HOST=parts.hostname,
            EMAIL_PORT=_port(name, value, parts) or 25,
            EMAIL_HOST_USER=unquote(parts.username or ""),
            EMAIL_HOST_PASSWORD=unquote(parts.password or ""),
            EMAIL_USE_TLS=parts.scheme == "smtp+tls",
            EMAIL_USE_SSL=parts.scheme == "smtp+ssl",
        )
    return config


@contextlib.contextmanager
def exit_on_config_error():
    """Turn a malformed setting into one line on stderr and exit status 2.

    Loads the settings eagerly, so the error surfaces before any command runs.
    """
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 (forces the settings module to load)
    except ConfigError as error:
        sys.stderr.write(f"Configuration error: {error}\n")
        raise SystemExit(2) from None
    yield
