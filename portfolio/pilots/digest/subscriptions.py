"""A TPM's digest settings: the teams they follow (none: every team), or opted out.

Callers check who may have settings (``portfolio.access.require_digest_reader``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction

from portfolio.models import DigestSubscription, Team


@transaction.atomic
def digest_subscription_set(*, user, teams: Iterable[Team], opted_out: bool,
                            now: datetime) -> DigestSubscription:
    """Record the teams ``user`` follows and whether they opted out; returns the settings.

    Setting them again replaces the teams: an empty list follows every team.
    ``update_or_create`` locks an existing row, so two saves at once end as one of them.
    """
    subscription, _ = DigestSubscription.objects.update_or_create(
        user=user, defaults={"opted_out": opted_out, "updated_at": now})
    subscription.teams.set(list(teams))
    return subscription
