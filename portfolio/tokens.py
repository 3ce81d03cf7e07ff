"""Personal API tokens: create, revoke, and authenticate a request's key.

A key is ``pt_`` followed by 43 random URL-safe characters (256 bits). Only its
SHA-256 hash is stored, with its first ``PREFIX_LENGTH`` characters so that the
owner can tell tokens apart; the key itself is returned once, by
``api_token_create``, and cannot be recovered. A revoked token stays listed,
as revoked, and never authenticates again.

Callers check who may have tokens (``portfolio.access.require_reader``).
Every function takes ``now``.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from portfolio.exceptions import DomainError
from portfolio.models import ApiToken

KEY_PREFIX = "pt_"
PREFIX_LENGTH = 8
NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length
MAX_ACTIVE_TOKENS = 20
# ``last_used_at`` is a hint for the owner, not an audit log: one write a minute at most.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Longer than any key we issue; anything longer is refused without a query.
MAX_KEY_LENGTH = 100

NAME_REQUIRED = "Give the token a name, so you can tell it apart later."
NAME_TOO_LONG = "A token's name is at most {limit} characters."
TOO_MANY_TOKENS = ("You already have {limit} active tokens, the most one person may hold. "
                   "Revoke one you no longer use, then create a new one.")
NOT_YOUR_TOKEN = "Only the token's owner can revoke it."


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# --- Reads -------------------------------------------------------------------------------------

def api_token_list(*, user) -> QuerySet[ApiToken]:
    """The user's own tokens, active and revoked, newest first."""
    return ApiToken.objects.filter(user=user).only(
        "id", "user_id", "name", "key_prefix", "created_at", "last_used_at", "revoked_at",
    ).order_by("-created_at", "-id")


def api_token_get_for_user(*, user, pk: int) -> ApiToken:
    """One of the user's own tokens; someone else's is "not found" (404), like a missing one."""
    return get_object_or_404(ApiToken, pk=pk, user=user)


# --- Writes ------------------------------------------------------------------------------------

@transaction.atomic
def api_token_create(*, user, name: str, now: datetime) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns it and its key, which is not stored and not shown again.

    The user's row is locked while their active tokens are counted, so two requests at
    once cannot both take the last place under ``MAX_ACTIVE_TOKENS``.
    """
    name = (name or "").strip()
    if not name:
        raise DomainError(NAME_REQUIRED, field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise DomainError(NAME_TOO_LONG.format(limit=NAME_MAX_LENGTH), field="name")
    get_user_model().objects.select_for_update().only("pk").get(pk=user.pk)
    if ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_ACTIVE_TOKENS:
        raise DomainError(TOO_MANY_TOKENS.format(limit=MAX_ACTIVE_TOKENS), field="name")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, key_prefix=key[:PREFIX_LENGTH],
                     key_hash=key_hash(key), created_at=now)
    token.full_clean()
    token.save()
    return token, key


def api_token_revoke(*, token: ApiToken, actor, now: datetime) -> ApiToken:
    """Revoke ``token`` for good; it stays listed, as revoked. Revoking it again changes nothing.

    A conditional UPDATE, so two revocations at once keep the first one's time.
    """
    if token.user_id != actor.pk:
        raise DomainError(NOT_YOUR_TOKEN)
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    token.refresh_from_db(fields=["revoked_at"])
    return token


def api_token_authenticate(*, key: str, now: datetime) -> ApiToken | None:
    """The active token whose key this is, with its user; None for an unknown or revoked key,
    or a deactivated user.

    Records when it was last used, at most once per ``LAST_USED_RESOLUTION``: a conditional
    UPDATE, so neither every request nor concurrent ones write the row each time.
    """
    if not key or len(key) > MAX_KEY_LENGTH or not key.startswith(KEY_PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=key_hash(key)).first()
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    stale = now - LAST_USED_RESOLUTION
    if token.last_used_at is None or token.last_used_at <= stale:
        updated = ApiToken.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale),
            pk=token.pk, revoked_at__isnull=True,
        ).update(last_used_at=now)
        if updated:
            token.last_used_at = now
    return token
