"""Reads of the digest's pages: a TPM's settings, past deliveries and the next digest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model

from portfolio.digest.content import (
    digest_recipients,
    digest_render,
    digests_build,
    next_period,
    scheduled_at,
    week_label,
)
from portfolio.models import DigestDelivery, DigestSubscription
from portfolio.roles import Role

RECENT_DELIVERIES = 5


def digest_subscription_get(*, user) -> DigestSubscription | None:
    """The user's digest settings with the teams they follow; None before they saved any."""
    return (DigestSubscription.objects.filter(user=user).prefetch_related("teams").first())


def digest_delivery_list(*, user, limit: int = RECENT_DELIVERIES) -> list[DigestDelivery]:
    """The user's latest digests, newest week first, each with its ``week`` ("2026-W45")."""
    deliveries = list(DigestDelivery.objects.filter(recipient=user)
                      .only("id", "recipient_id", "period", "status", "subject", "attempts",
                            "sent_at", "last_error")
                      .order_by("-period")[:limit])
    for delivery in deliveries:
        delivery.week = week_label(delivery.period)
    return deliveries


@dataclass(frozen=True)
class DigestPreview:
    """What the next digest would hold for ``user``, and why none would be sent."""

    user: object
    period: object            # the Monday of its ISO week
    due_at: datetime          # when the weekly job sends it
    digest: object | None     # a ``portfolio.digest.content.Digest``; None: not a recipient
    subject: str
    not_sent: str             # "", or why nothing would be sent: inactive, no_email,
    #                           opted_out, not_tpm or empty

    @property
    def would_send(self) -> bool:
        return not self.not_sent

    @property
    def week(self) -> str:
        return week_label(self.period)


def digest_preview(*, user, now: datetime) -> DigestPreview:
    """Build ``user``'s next digest exactly as the weekly job would, without sending it."""
    period = next_period(now)
    recipients = digest_recipients(period=period).filter(pk=user.pk)
    digests = digests_build(now=now, period=period, recipients=recipients)
    digest = digests[0] if digests else None
    subject, not_sent = "", ""
    if digest is None:
        subscription = getattr(user, "digest_subscription", None)
        if not user.is_active:
            not_sent = "inactive"
        elif not user.email:
            not_sent = "no_email"
        elif subscription is not None and subscription.opted_out:
            not_sent = "opted_out"
        else:
            not_sent = "not_tpm"
    elif digest.is_empty:
        not_sent = "empty"
    else:
        subject, _, _ = digest_render(digest)
    return DigestPreview(user=user, period=period, due_at=scheduled_at(period), digest=digest,
                         subject=subject, not_sent=not_sent)


def digest_tpm_choices() -> list:
    """Active TPMs by name, for an admin choosing whose digest to preview."""
    return list(get_user_model().objects.filter(is_active=True, groups__name=Role.TPM)
                .only("id", "username", "first_name", "last_name")
                .order_by("first_name", "last_name", "username"))
