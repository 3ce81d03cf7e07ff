"""Reads that feed pages: querysets with their joins done in SQL."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from portfolio.forms import SORTS
from portfolio.models import Initiative, Stage


def initiative_list(*, fetched_by, filters: dict | None = None) -> QuerySet[Initiative]:
    """Initiatives a signed-in user may see, filtered and sorted, with team and owner joined.

    Every signed-in role reads the whole portfolio (DESIGN.md §2); only the
    "mine" filter depends on who asks. ``filters`` are a filter form's
    cleaned data; empty values do not filter.
    """
    filters = filters or {}
    queryset = Initiative.objects.with_list_relations().only(
        "id", "title", "stage", "health", "last_activity_at",
        "team__name", "team__slug",
        "owner__username", "owner__first_name", "owner__last_name", "owner__is_active",
    )
    if filters.get("q"):
        queryset = queryset.filter(Q(title__icontains=filters["q"])
                                   | Q(summary__icontains=filters["q"]))
    for field in ("team", "category", "stage", "health"):
        if filters.get(field):
            queryset = queryset.filter(**{field: filters[field]})
    owner = filters.get("owner")
    if owner == "me":
        queryset = queryset.filter(owner=fetched_by)
    elif owner:
        queryset = queryset.filter(owner__username=owner)
    _, order = SORTS.get(filters.get("sort") or "recent", SORTS["recent"])
    return queryset.order_by(*order)


def stage_counts(queryset: QuerySet[Initiative]) -> list[tuple[str, str, int]]:
    """(stage, label, count) for every stage, in lifecycle order, from one query."""
    counts = dict(queryset.order_by().values_list("stage").annotate(n=Count("id")))
    return [(stage.value, stage.label, counts.get(stage.value, 0)) for stage in Stage]
