"""Session timeouts: a session ends ``SESSION_IDLE_MINUTES`` after its last request and
``SESSION_MAX_HOURS`` after sign-in, whichever comes first.

Both moments are stored in the session when it starts (``session_started``); each request
compares them with now. The last-seen moment is written back at most once a minute
(``SEEN_RESOLUTION``), so a busy session is not rewritten on every request.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

SIGNED_IN_AT = "identity_signed_in_at"
SEEN_AT = "identity_seen_at"
METHOD = "identity_method"
SEEN_RESOLUTION = 60  # seconds

IDLE = "idle"
TOO_OLD = "absolute"
ENDED_IDLE = ("You were signed out after {minutes} minutes without activity. Sign in again "
              "to go on.")
ENDED_TOO_OLD = "Your session reached its {hours}-hour limit. Sign in again to go on."


def session_started(session, *, now: datetime, method: str) -> None:
    session[SIGNED_IN_AT] = now.timestamp()
    session[SEEN_AT] = now.timestamp()
    session[METHOD] = method


def session_timeout(session, *, now: datetime) -> str | None:
    """Why this signed-in session has ended (``IDLE`` or ``TOO_OLD``), or None; marks it
    seen. A session from before timeouts existed starts counting now."""
    moment = now.timestamp()
    signed_in_at, seen_at = session.get(SIGNED_IN_AT), session.get(SEEN_AT)
    if signed_in_at is None or seen_at is None:
        session[SIGNED_IN_AT] = signed_in_at or moment
        session[SEEN_AT] = moment
        return None
    if moment - seen_at > settings.SESSION_IDLE_MINUTES * 60:
        return IDLE
    if moment - signed_in_at > settings.SESSION_MAX_HOURS * 3600:
        return TOO_OLD
    if moment - seen_at >= SEEN_RESOLUTION:
        session[SEEN_AT] = moment
    return None


def timeout_message(reason: str) -> str:
    if reason == IDLE:
        return ENDED_IDLE.format(minutes=settings.SESSION_IDLE_MINUTES)
    return ENDED_TOO_OLD.format(hours=settings.SESSION_MAX_HOURS)
