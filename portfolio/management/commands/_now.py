"""``--now``: run a job as of a chosen moment (ISO 8601); the wall clock otherwise."""

from django.core.management.base import CommandError

from portfolio.moments import moment_or_now


def add_now_argument(parser) -> None:
    parser.add_argument("--now", help="Run as of this moment (ISO 8601, e.g. 2026-11-30T07:00); "
                                      "default: now.")


def now_from(options):
    try:
        return moment_or_now(options.get("now"))
    except ValueError as error:
        raise CommandError(f"--{error}") from None
