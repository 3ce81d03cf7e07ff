"""Accounts from the identity provider: who signs in as whom, with which roles.

- **Just in time.** The first sign-in through the provider creates the account, named and
  addressed from the claims; later ones refresh name and email. A person is found by the
  provider's (issuer, subject), never by a name they could change; an existing account is
  linked by email once, only when the provider says the address is verified.
- **Roles.** At every sign-in the account's roles become exactly those the provider's
  groups grant (``OIDC_ROLE_MAP``) plus those an admin pinned (``RolePin``). A role the
  groups stop granting is gone at the next sign-in unless pinned; a pin never takes away
  a role the groups grant. Superusers keep the admin whatever the provider says: they are
  the break-glass accounts.
- **Leaving.** Membership of an ``OIDC_DEACTIVATE_GROUPS`` group deactivates the account
  at sign-in (through ``accounts.user_deactivate``: sessions and API tokens stop on their
  next request) and refuses the sign-in; an account an admin deactivated stays so.
- **The record.** Sign-ins, failures, sign-outs, timeouts, account creation, role changes
  and (de)activations are ``AccountEvent`` rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction

from portfolio.identity.admins import ADMINS_GROUP
from portfolio.identity.models import (
    AccountEvent,
    AccountEventKind,
    ExternalIdentity,
    RolePin,
    SignInMethod,
)
from portfolio.identity.rolemap import MAPPABLE_ROLES, STAFF, roles_for_groups

DEACTIVATED_BY_PROVIDER = ("Your organisation's sign-in says your account has been switched "
                           "off, so it is deactivated here too. Ask your administrator if "
                           "this is a mistake.")
ACCOUNT_DEACTIVATED = ("This account is deactivated here. Ask an administrator of the "
                       "portfolio tracker to reactivate it.")
NO_SUBJECT = "The provider's answer names nobody (no “sub” claim)."
SUBJECT_MISMATCH = "The provider's user information is for someone else than its ID token."
PASSWORD_SIGN_IN_OFF = ("Password sign-in is switched off here: use “Sign in with {provider}”."
                        " Only break-glass administrators sign in with a password.")

GROUP_ROLES = tuple(role for role in MAPPABLE_ROLES if role != STAFF)


class SignInRefused(Exception):
    """The provider vouched for someone we will not sign in; ``reason`` says why, in words
    the person can act on."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# --- The record -------------------------------------------------------------------------------

def account_event_record(*, kind: str, now: datetime, user=None, username: str = "",
                         method: str = "", actor=None, ip: str | None = None,
                         reason: str = "", details: dict | None = None) -> AccountEvent:
    return AccountEvent.objects.create(
        kind=kind, at=now, user=user,
        username=(username or (user.get_username() if user is not None else ""))[:150],
        method=method, actor=actor, ip_address=ip or None, reason=reason[:300],
        details=details or {},
    )


# --- Roles ------------------------------------------------------------------------------------

def roles_held(user) -> set[str]:
    """The mappable roles the account holds now: its role groups, and "staff"."""
    names = set(user.groups.filter(name__in=GROUP_ROLES).values_list("name", flat=True))
    return names | ({STAFF} if user.is_staff else set())


def roles_pinned(user) -> set[str]:
    return set(RolePin.objects.filter(user=user).values_list("role", flat=True))


@transaction.atomic
def roles_set(*, user, roles: Iterable[str], now: datetime, method: str, actor=None,
              reason: str = "", ip: str | None = None) -> tuple[set[str], set[str]]:
    """Make the account's mappable roles exactly ``roles``; returns (added, removed) and
    records the change, if any, as one "roles changed" event.

    Groups other than the role groups (an admin's permission groups) are left alone, and a
    superuser keeps "staff": the provider cannot lock the break-glass accounts out.
    """
    wanted = set(roles) & set(MAPPABLE_ROLES)
    if user.is_superuser:
        wanted.add(STAFF)
    held = roles_held(user)
    added, removed = wanted - held, held - wanted
    if not (added or removed):
        return set(), set()
    groups = {group.name: group for group in Group.objects.filter(name__in=GROUP_ROLES)}
    for name in added - set(groups) - {STAFF}:
        # The role groups come with the migrations; one lost since is made again rather
        # than the role silently not given.
        groups[name], _ = Group.objects.get_or_create(name=name)
    to_add = [groups[name] for name in added if name in groups]
    to_remove = [groups[name] for name in removed if name in groups]
    if to_add:
        user.groups.add(*to_add)
    if to_remove:
        user.groups.remove(*to_remove)
    if (STAFF in wanted) != user.is_staff:
        user.is_staff = STAFF in wanted
        get_user_model().objects.filter(pk=user.pk).update(is_staff=user.is_staff)
        admins = Group.objects.filter(name=ADMINS_GROUP).first()
        if admins is not None and not user.is_superuser:
            # Staff join the admins' permission group and leave it with the role.
            (user.groups.add if user.is_staff else user.groups.remove)(admins)
    user._portfolio_roles = None  # portfolio.roles caches them per request
    for attribute in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(attribute, None)
    account_event_record(kind=AccountEventKind.ROLES_CHANGED, now=now, user=user,
                         method=method, actor=actor, reason=reason, ip=ip,
                         details={"added": sorted(added), "removed": sorted(removed)})
    return added, removed


def roles_from_provider(user) -> set[str] | None:
    """What the provider's groups at the account's last sign-in grant; None for an account
    that never signed in through the provider (its roles are set by hand)."""
    identity = ExternalIdentity.objects.filter(user=user).only("groups").first()
    if identity is None:
        return None
    return roles_for_groups(settings.OIDC_ROLE_MAP, identity.groups)


@transaction.atomic
def role_pins_changed(*, user, now: datetime, actor) -> None:
    """After an admin pins or unpins a role: an account that signs in through the provider
    gets its roles recomputed at once (groups at the last sign-in, plus pins). An account
    that never did keeps its hand-set roles, and a pin also grants its role."""
    from_provider = roles_from_provider(user)
    pinned = roles_pinned(user)
    wanted = (from_provider | pinned) if from_provider is not None else (roles_held(user)
                                                                         | pinned)
    roles_set(user=user, roles=wanted, now=now, method=SignInMethod.ADMIN, actor=actor,
              reason="role pins changed")


# --- Signing in through the provider ------------------------------------------------------

def _claim_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]


def _unique_username(wanted: str) -> str:
    user_model = get_user_model()
    limit = user_model._meta.get_field(user_model.USERNAME_FIELD).max_length
    base = "".join(ch for ch in wanted if ch.isalnum() or ch in "@.+-_")[:limit - 4] or "user"
    candidate, suffix = base, 1
    while user_model.objects.filter(**{f"{user_model.USERNAME_FIELD}__iexact": candidate}
                                    ).exists():
        suffix += 1
        candidate = f"{base}-{suffix}"
    return candidate


def _account_for(*, issuer: str, subject: str, claims: dict, now: datetime, ip):
    """The account (issuer, subject) is linked to; else the one a verified email names;
    else a new one. Returns (user, identity, created)."""
    identity = (ExternalIdentity.objects.select_for_update().select_related("user")
                .filter(issuer=issuer, subject=subject).first())
    if identity is not None:
        return identity.user, identity, False
    user_model = get_user_model()
    email = (claims.get("email") or "").strip()
    user = None
    if email and claims.get("email_verified") is True:
        matches = list(user_model.objects.filter(email__iexact=email,
                                                 external_identity__isnull=True)[:2])
        if len(matches) == 1:
            user = matches[0]
    created = user is None
    if created:
        wanted = (claims.get(settings.OIDC_USERNAME_CLAIM) or email.split("@")[0] or subject)
        user = user_model(username=_unique_username(str(wanted)), email=email)
        user.set_unusable_password()
        user.save()
    identity = ExternalIdentity.objects.create(user=user, issuer=issuer, subject=subject,
                                               first_signed_in_at=now, last_signed_in_at=now)
    if created:
        account_event_record(kind=AccountEventKind.ACCOUNT_CREATED, now=now, user=user,
                             method=SignInMethod.SSO, ip=ip,
                             details={"issuer": issuer, "subject": subject})
    return user, identity, created


def _refresh_profile(user, claims: dict) -> None:
    names = {
        "first_name": claims.get("given_name"),
        "last_name": claims.get("family_name"),
        "email": claims.get("email"),
    }
    if not names["first_name"] and not names["last_name"] and claims.get("name"):
        first, _, last = str(claims["name"]).partition(" ")
        names["first_name"], names["last_name"] = first, last
    changed = []
    for field, value in names.items():
        if value is None:
            continue
        value = str(value)[:user._meta.get_field(field).max_length]
        if getattr(user, field) != value:
            setattr(user, field, value)
            changed.append(field)
    if changed:
        user.save(update_fields=changed)


def sso_sign_in(*, issuer: str, claims: dict, now: datetime, ip: str | None = None):
    """The account the provider's verified ``claims`` sign in as, its roles brought up to
    date; raises ``SignInRefused`` (recorded) for someone who may not sign in.

    ``claims`` are the ID token's, completed by the user-info endpoint's; the caller has
    checked signature, issuer, audience, expiry and nonce.
    """
    subject = str(claims.get("sub") or "")
    if not subject:
        raise SignInRefused(NO_SUBJECT)
    groups = _claim_list(claims.get(settings.OIDC_GROUPS_CLAIM))
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: the transaction outlives a lost race
                user, identity, _created = _account_for(issuer=issuer, subject=subject,
                                                        claims=claims, now=now, ip=ip)
        except IntegrityError:
            # Two first sign-ins at once: the other created it; this one finds it.
            user, identity, _created = _account_for(issuer=issuer, subject=subject,
                                                    claims=claims, now=now, ip=ip)
        _refresh_profile(user, claims)
        identity.groups = groups
        identity.last_signed_in_at = now
        identity.save(update_fields=["groups", "last_signed_in_at"])
        leaving = set(groups) & set(settings.OIDC_DEACTIVATE_GROUPS)
        if leaving and user.is_active:
            from portfolio import accounts  # accounts imports this module
            accounts.user_deactivate(user=user, actor=None, now=now,
                                     method=SignInMethod.SSO,
                                     reason=f"the provider's group {sorted(leaving)[0]}")
        if not user.is_active:
            refusal = DEACTIVATED_BY_PROVIDER if leaving else ACCOUNT_DEACTIVATED
        else:
            refusal = None
            granted = roles_for_groups(settings.OIDC_ROLE_MAP, groups) | roles_pinned(user)
            roles_set(user=user, roles=granted, now=now, method=SignInMethod.SSO,
                      reason="groups at sign-in", ip=ip)
    if refusal:
        sign_in_failed(method=SignInMethod.SSO, user=user, reason=refusal, ip=ip, now=now)
        raise SignInRefused(refusal)
    return user


# --- Password sign-in -------------------------------------------------------------------------

def password_sign_in_allowed(username: str) -> bool:
    """Whether ``username`` may sign in with a password: everyone while PASSWORD_SIGN_IN is
    on; only the break-glass accounts (PASSWORD_SIGN_IN_USERS, staff) while it is off."""
    if settings.PASSWORD_SIGN_IN:
        return True
    return username in settings.PASSWORD_SIGN_IN_USERS


def password_sign_in_refusal() -> str:
    return PASSWORD_SIGN_IN_OFF.format(provider=settings.OIDC_PROVIDER_NAME)


# --- Events from the sign-in machinery --------------------------------------------------------

def signed_in(*, user, method: str, ip: str | None, now: datetime) -> None:
    account_event_record(kind=AccountEventKind.SIGNED_IN, now=now, user=user, method=method,
                         ip=ip)


def sign_in_failed(*, method: str, reason: str, now: datetime, ip: str | None = None,
                   user=None, username: str = "") -> None:
    account_event_record(kind=AccountEventKind.SIGN_IN_FAILED, now=now, user=user,
                         username=username, method=method, ip=ip, reason=reason)


def signed_out(*, user, now: datetime, ip: str | None, expired: str = "") -> None:
    account_event_record(
        kind=AccountEventKind.SESSION_EXPIRED if expired else AccountEventKind.SIGNED_OUT,
        now=now, user=user, ip=ip, reason=expired)


# --- Pins and roles in the admin --------------------------------------------------------------

@transaction.atomic
def role_pin_add(*, user, role: str, note: str, actor, now: datetime) -> RolePin:
    """Pin ``role`` on ``user``: it holds at every sign-in whatever the provider's groups say,
    and at once (``role_pins_changed``)."""
    pin = RolePin(user=user, role=role, note=note, pinned_by=actor, pinned_at=now)
    pin.full_clean()
    pin.save()
    role_pins_changed(user=user, now=now, actor=actor)
    return pin


@transaction.atomic
def role_pin_remove(*, pin: RolePin, actor, now: datetime) -> None:
    """Unpin: on an account that signs in through the provider, the role goes at once
    unless the provider's groups at its last sign-in grant it. An account that never did
    keeps its role groups as they are (they are set by hand on the user form)."""
    user = pin.user
    RolePin.objects.filter(pk=pin.pk).delete()
    role_pins_changed(user=user, now=now, actor=actor)


def roles_edited_in_admin(*, user, roles_before: Iterable[str], actor,
                          now: datetime) -> None:
    """Record an admin's ticking of role groups or the staff flag on the user form as one
    "roles changed" event (the form itself saved them)."""
    before, after = set(roles_before), roles_held(user)
    added, removed = after - before, before - after
    if not (added or removed):
        return
    account_event_record(kind=AccountEventKind.ROLES_CHANGED, now=now, user=user,
                         method=SignInMethod.ADMIN, actor=actor, reason="edited in the admin",
                         details={"added": sorted(added), "removed": sorted(removed)})
