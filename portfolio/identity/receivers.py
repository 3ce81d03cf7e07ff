"""Django's sign-in signals, turned into the account record (``services``); connected in
``PortfolioConfig.ready``. Nothing is decided here."""

from __future__ import annotations

from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.utils import timezone

from portfolio.identity import services
from portfolio.identity.backends import OIDC_BACKEND
from portfolio.identity.models import SignInMethod
from portfolio.identity.request_info import client_ip
from portfolio.identity.sessions import session_started


def _on_logged_in(sender, request, user, **kwargs):
    now = timezone.now()
    session = getattr(request, "session", None)
    backend = session.get(BACKEND_SESSION_KEY) if session is not None else None
    method = SignInMethod.SSO if backend == OIDC_BACKEND else SignInMethod.PASSWORD
    if session is not None:
        session_started(session, now=now, method=method)
    services.signed_in(user=user, method=method, ip=client_ip(request), now=now)


def _on_login_failed(sender, credentials, request=None, **kwargs):
    username = credentials.get("username")
    if username is None:
        return  # not a password sign-in; the single sign-on view records its own
    services.sign_in_failed(method=SignInMethod.PASSWORD, username=str(username)[:150],
                            reason="wrong user name or password, or a locked account",
                            ip=client_ip(request), now=timezone.now())


def _on_logged_out(sender, request, user, **kwargs):
    if user is None:
        return
    services.signed_out(user=user, now=timezone.now(), ip=client_ip(request),
                        expired=getattr(request, "session_expired", ""))


def connect() -> None:
    user_logged_in.connect(_on_logged_in, dispatch_uid="identity-logged-in")
    user_login_failed.connect(_on_login_failed, dispatch_uid="identity-login-failed")
    user_logged_out.connect(_on_logged_out, dispatch_uid="identity-logged-out")
