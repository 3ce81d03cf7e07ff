"""The API's personal-token authentication, and its OpenAPI security scheme.

Clients send ``Authorization: Bearer <key>`` (``Token <key>`` works too); the keys
are created and revoked on ``/account/tokens/`` (``portfolio.tokens``). A request
without such a header falls through to session authentication, which enforces
CSRF for browser sessions; a token request needs no CSRF token. Failed token
sign-ins are counted per client address (``TokenFailureThrottle``): past the rate,
the address gets 429 for every token it sends until the window moves on.

This module is named in ``REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]``, so
DRF imports it, and with it the drf-spectacular extension below.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from portfolio.api.throttling import TokenFailureThrottle
from portfolio.tokens import api_token_authenticate

SCHEMES = (b"bearer", b"token")
INVALID_TOKEN = "Invalid or revoked token."
MALFORMED_HEADER = "Malformed Authorization header: send “Bearer <token>”."


class ApiTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <key>`` -> (the token's user, the token)."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in SCHEMES:
            return None  # not ours: session authentication may still sign the request in
        failures = TokenFailureThrottle(request)
        failures.refuse_if_exceeded()
        token = None
        if len(parts) == 2:
            try:
                key = parts[1].decode("ascii")
            except UnicodeDecodeError:
                pass
            else:
                token = api_token_authenticate(key=key, now=timezone.now())
        if token is None:
            failures.record_failure()
            raise exceptions.AuthenticationFailed(
                MALFORMED_HEADER if len(parts) != 2 else INVALID_TOKEN)
        return token.user, token

    def authenticate_header(self, request):
        # Makes an unauthenticated API request a 401 with WWW-Authenticate, not a 403.
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the schema describes ``ApiTokenAuthentication`` (``tokenAuth``)."""

    target_class = "portfolio.api.auth.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token, created at /account/tokens/.",
        }
