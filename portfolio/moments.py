"""The one way a job takes "now" from outside: ISO 8601, aware in TIME_ZONE, or the clock."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

NOT_A_MOMENT = "now must be an ISO 8601 date and time (e.g. 2026-11-30T07:00), got {value!r}"


def moment_or_now(value: str | None) -> datetime:
    """``value`` as an aware datetime (naive ones are in TIME_ZONE); the clock when empty.

    Raises ``ValueError`` for anything else.
    """
    if not value:
        return timezone.now()
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError(NOT_A_MOMENT.format(value=value))
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
