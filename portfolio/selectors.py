"""Reads that feed pages: querysets with their joins done in SQL."""

from __future__ import annotations

from django.db.models import QuerySet

from portfolio.models import Initiative


def initiative_list(*, fetched_by, owner_is_me: bool = False) -> QuerySet[Initiative]:
    """Initiatives a signed-in user may see, with team and owner joined.

    Every signed-in role reads the whole portfolio (DESIGN.md §2); only the
    optional "mine" narrowing depends on who asks.
    """
    queryset = Initiative.objects.with_list_relations().only(
        "id", "title", "stage", "health", "last_activity_at",
        "team__name", "team__slug",
        "owner__username", "owner__first_name", "owner__last_name", "owner__is_active",
    )
    if owner_is_me:
        queryset = queryset.filter(owner=fetched_by)
    return queryset
