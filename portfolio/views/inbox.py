"""The "Waiting on me" page: what waits on the signed-in person, one section per source
(``portfolio.inbox``). Every role reads it; outsiders get 404."""

from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from portfolio.access import require_reader
from portfolio.inbox import SECTION_LIMIT, inbox_count, inbox_sections


@require_GET
def inbox(request):
    require_reader(request.user)
    sections = inbox_sections(user=request.user, now=timezone.now(), limit=SECTION_LIMIT)
    total = sum(section.count for section in sections)
    return render(request, "portfolio/inbox.html", {
        "sections": sections,
        "total": total,
        # The navigation's number, counted once: the page has it already.
        "inbox_count": total,
    })


@require_GET
def inbox_count_json(request):
    """``{"count": n}``: the navigation's number, asked by ``static/js/nav.js`` once a page
    has loaded, so no page waits for it (each inbox source's count: a fixed number of
    queries)."""
    require_reader(request.user)
    response = JsonResponse({"count": inbox_count(user=request.user, now=timezone.now())})
    response["Cache-Control"] = "private, no-store"
    return response
