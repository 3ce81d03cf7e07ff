"""The baseline of figure 3: the smallest Django view that returns the same 50 rows as
``GET /api/v1/initiatives/`` (its first page, default order), as JSON.

One query (``.values()`` with the team and owner joined), no serializer, no pagination
count. It sits behind the same middleware as the app (sessions, authentication, the
login requirement), so the ratio measures what the API adds on top of Django.
"""

from django.conf import settings
from django.http import JsonResponse

from portfolio.models import Initiative

FIELDS = ("id", "title", "stage", "health", "last_activity_at", "team__slug", "team__name",
          "owner__username", "owner__first_name", "owner__last_name", "owner__is_active")


def minimal(request):
    rows = list(Initiative.objects.order_by("-last_activity_at", "-id")
                .values(*FIELDS)[:settings.API_PAGE_SIZE])
    return JsonResponse({"results": rows})
