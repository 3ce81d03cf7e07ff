"""Ends timed-out sessions before anything reads the signed-in user (``sessions``)."""

from __future__ import annotations

from django.contrib import auth, messages
from django.contrib.auth import SESSION_KEY
from django.utils import timezone

from portfolio.identity.sessions import session_timeout, timeout_message


class SessionTimeoutMiddleware:
    """The check runs in ``process_view``: after every middleware's request phase (so the
    message middleware, listed after this one, has set up the message the login page shows)
    and before the views' own checks of later middleware (``LoginRequiredMiddleware``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        session = getattr(request, "session", None)
        if session is not None and SESSION_KEY in session:
            reason = session_timeout(session, now=timezone.now())
            if reason:
                request.session_expired = reason  # the sign-out record says why
                auth.logout(request)
                messages.info(request, timeout_message(reason))
        return None
