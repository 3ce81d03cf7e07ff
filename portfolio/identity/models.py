"""Accounts' links to the identity provider, roles pinned by hand, and the account record."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class ExternalIdentity(models.Model):
    """The provider's person behind an account: (issuer, subject) is stable where an email
    or a user name may change, so a returning person always finds the same account."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="external_identity")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    # The groups the provider sent at the last sign-in, as it sent them (for admins asking
    # "why does she have this role?").
    groups = models.JSONField(default=list, blank=True)
    first_signed_in_at = models.DateTimeField()
    last_signed_in_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="external_identity_one"),
        ]
        verbose_name = "single sign-on identity"
        verbose_name_plural = "single sign-on identities"

    def __str__(self) -> str:
        return f"{self.user} ← {self.subject} at {self.issuer}"


class RolePin(models.Model):
    """A role an admin grants by hand where the provider's groups are silent: it holds at
    every sign-in whatever the provider sends (docs/architecture.md, "Roles and pins")."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="role_pins")
    role = models.CharField(max_length=16, choices=[
        ("pm", "Product manager"), ("reviewer", "Governance reviewer"),
        ("tpm", "Technical programme manager"), ("leadership", "Leadership"),
        ("staff", "Staff (the admin)"),
    ])
    note = models.CharField(max_length=200, blank=True,
                            help_text="Why the provider's groups do not grant it, e.g. "
                                      "“interim reviewer until the group exists”.")
    pinned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                  null=True, blank=True, related_name="+")
    pinned_at = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="role_pin_one"),
        ]
        ordering = ["user_id", "role"]

    def __str__(self) -> str:
        return f"{self.user}: {self.get_role_display()} (pinned)"


class AccountEventKind(models.TextChoices):
    SIGNED_IN = "signed_in", "Signed in"
    SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
    SIGNED_OUT = "signed_out", "Signed out"
    SESSION_EXPIRED = "session_expired", "Session ended (timeout)"
    ROLES_CHANGED = "roles_changed", "Roles changed"
    ACCOUNT_CREATED = "account_created", "Account created at first sign-in"
    DEACTIVATED = "deactivated", "Deactivated"
    REACTIVATED = "reactivated", "Reactivated"


class SignInMethod(models.TextChoices):
    PASSWORD = "password", "Password"
    SSO = "sso", "Single sign-on"
    ADMIN = "admin", "Admin"
    SYSTEM = "system", "System"


class AccountEvent(models.Model):
    """One line of the account record: who signed in, how, what failed and why, whose roles
    changed and by whom. Append-only; admins read it in the admin."""

    kind = models.CharField(max_length=24, choices=AccountEventKind.choices)
    at = models.DateTimeField(db_index=True)
    # The account, when there is one; a failure may name only what was typed.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                             blank=True, related_name="account_events")
    username = models.CharField(max_length=150, blank=True)
    method = models.CharField(max_length=16, choices=SignInMethod.choices, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "account record entry"
        verbose_name_plural = "account record"
        indexes = [models.Index(fields=["user", "-at"], name="account_event_user_at")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=AccountEventKind.values),
                                   name="account_event_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()}: {self.username}"
