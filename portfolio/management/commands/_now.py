"""``--now``: run a job as of a chosen moment (ISO 8601); the wall clock otherwise."""

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime


def add_now_argument(parser) -> None:
    parser.add_argument("--now", help="Run as of this moment (ISO 8601, e.g. 2026-11-30T07:00); "
                                      "default: now.")


def now_from(options):
    value = options.get("now")
    if not value:
        return timezone.now()
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError(f"--now must be an ISO 8601 date and time, got {value!r}")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
