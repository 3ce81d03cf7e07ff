"""Authentication backends: passwords (with the break-glass switch) and the OpenID Connect
provider, through mozilla-django-oidc.

The provider's flow (authorization code with PKCE, state and nonce kept in the session,
the code exchanged at the token endpoint, the signing key taken from the provider's JWKS)
is mozilla-django-oidc's. What this module adds:

- endpoints from the discovery document (``discovery.provider_metadata``) instead of one
  setting per endpoint;
- a full check of the ID token with PyJWT: signature with an asymmetric algorithm the
  provider announces, ``iss`` equal to the configured issuer, ``aud`` naming our client
  (and ``azp`` when there are several audiences), ``exp``/``iat`` present and valid, the
  nonce of this sign-in; the library checks signature and nonce only;
- accounts through ``services.sso_sign_in`` (found by issuer and subject, roles from groups);
- ``get_user`` refusing an inactive account, so a deactivated person's session is anonymous
  on its next request (the library's ``get_user`` would return them).
"""

from __future__ import annotations

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from portfolio.identity import services
from portfolio.identity.discovery import (
    ProviderUnavailable,
    provider_metadata,
    signing_algorithms,
)
from portfolio.identity.request_info import client_ip
from portfolio.roles import user_with_roles

# Clock skew tolerated between the provider and us when checking exp and iat.
LEEWAY_SECONDS = 60

OIDC_BACKEND = "portfolio.identity.backends.OidcBackend"
PASSWORD_BACKEND = "portfolio.identity.backends.PasswordBackend"


class PasswordBackend(ModelBackend):
    """Django's password check, refused outright for anyone but the break-glass accounts
    while PASSWORD_SIGN_IN is off (the sign-in form says so before it gets here)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is not None and not services.password_sign_in_allowed(username):
            return None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and not settings.PASSWORD_SIGN_IN and not user.is_staff:
            return None
        return user

    def get_user(self, user_id):
        """Each request's user, with their roles (``roles.user_with_roles``); an inactive
        account is refused (``user_can_authenticate``), as Django's own backend does."""
        user = user_with_roles(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class OidcBackend(OIDCAuthenticationBackend):
    """Signs in whoever the provider vouches for, through ``services.sso_sign_in``.

    Only the callback view calls ``authenticate`` (with the sign-in's nonce); a failure's
    reason is left on ``request.sso_failure`` for the page to show.
    """

    def __init__(self, *args, **kwargs):
        # The library reads every endpoint from settings here; ours come from discovery,
        # when first needed (properties below), so loading a session never asks the provider.
        self.UserModel = get_user_model()
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.OIDC_RP_SIGN_ALGO = "RS256"

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self):  # noqa: N802 (the library's attribute name)
        return provider_metadata()["token_endpoint"]

    @property
    def OIDC_OP_USER_ENDPOINT(self):  # noqa: N802
        return provider_metadata().get("userinfo_endpoint")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self):  # noqa: N802
        return provider_metadata()["jwks_uri"]

    def authenticate(self, request, **kwargs):
        if request is None or "nonce" not in kwargs or not settings.SSO_ENABLED:
            return None  # a password sign-in, or single sign-on is off
        try:
            return super().authenticate(request, **kwargs)
        except services.SignInRefused as refusal:
            request.sso_failure, request.sso_failure_recorded = refusal.reason, True
        except ProviderUnavailable as error:
            request.sso_failure = f"The sign-in provider could not be reached: {error}."
        except requests.RequestException as error:
            status = getattr(error.response, "status_code", None)
            request.sso_failure = ("The sign-in provider did not accept this sign-in"
                                   + (f" (HTTP {status})." if status else "."))
        except (SuspiciousOperation, jwt.PyJWTError, KeyError, ValueError) as error:
            request.sso_failure = f"The provider's ID token was refused: {error}"
        return None

    def verify_token(self, token, **kwargs):
        """The ID token's claims, once every check has passed (raises otherwise)."""
        if not token:
            raise SuspiciousOperation("the provider sent no ID token.")
        metadata = provider_metadata()
        algorithms = signing_algorithms(metadata)
        algorithm = jwt.get_unverified_header(token).get("alg")
        if algorithm not in algorithms:
            raise SuspiciousOperation(f"it is signed with {algorithm!r}, which is not allowed.")
        self.OIDC_RP_SIGN_ALGO = algorithm
        key = self.retrieve_matching_jwk(token)
        try:
            claims = jwt.decode(
                token, key, algorithms=[algorithm], audience=settings.OIDC_RP_CLIENT_ID,
                issuer=metadata["issuer"], leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except jwt.InvalidSignatureError as error:
            raise SuspiciousOperation("its signature does not match its content.") from error
        except jwt.ExpiredSignatureError as error:
            raise SuspiciousOperation("it has expired.") from error
        except jwt.InvalidAudienceError as error:
            raise SuspiciousOperation("it was issued for another application.") from error
        except jwt.InvalidIssuerError as error:
            raise SuspiciousOperation("it was issued by another provider.") from error
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != settings.OIDC_RP_CLIENT_ID:
            raise SuspiciousOperation("it was issued for another application.")
        if kwargs.get("nonce") != claims.get("nonce"):
            raise SuspiciousOperation("it belongs to another sign-in (nonce).")
        return claims

    def get_or_create_user(self, access_token, id_token, payload):
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT:
            userinfo = self.get_userinfo(access_token, id_token, payload)
            if str(userinfo.get("sub")) != str(payload.get("sub")):
                raise services.SignInRefused(services.SUBJECT_MISMATCH)
            claims.update({name: value for name, value in userinfo.items()
                           if name not in ("iss", "aud", "exp", "iat", "nonce", "azp")})
        return services.sso_sign_in(issuer=settings.OIDC_ISSUER, claims=claims,
                                    now=timezone.now(), ip=client_ip(self.request))

    def get_user(self, user_id):
        user = user_with_roles(user_id)
        return user if user is not None and user.is_active else None
