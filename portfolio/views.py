"""Server-rendered pages of the portfolio app."""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portfolio import health, selectors
from portfolio.celery import app as celery_app
from portfolio.forms import InitiativeFilterForm
from portfolio.roles import can_read_portfolio, home_url_for


def home(request):
    """Send each role to its place."""
    return redirect(home_url_for(request.user))


def no_role(request):
    """A signed-in user whose account has no role yet sees only this."""
    if can_read_portfolio(request.user):
        return redirect("home")
    return render(request, "portfolio/no_role.html")


def _require_reader(user) -> None:
    # Outsiders get the same answer as for a page that does not exist.
    if not can_read_portfolio(user):
        raise Http404


def initiative_list(request):
    _require_reader(request.user)
    form = InitiativeFilterForm(request.GET)
    # A bad filter is shown on its field and ignored (Django drops it from
    # cleaned_data); the valid ones still apply.
    form.is_valid()
    filters = form.cleaned_data
    initiatives = selectors.initiative_list(fetched_by=request.user, filters=filters)
    counts = selectors.stage_counts(selectors.initiative_list(
        fetched_by=request.user, filters={**filters, "stage": ""}))
    page = Paginator(initiatives, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portfolio/initiative_list.html", {
        "page": page,
        "form": form,
        "stage_counts": counts,
        "owner_is_me": filters.get("owner") == "me",
        "filtered": any(filters.get(name) for name in form.fields if name != "sort"),
    })


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """200 when the database and the broker answer; 503 naming the one that does not."""
    db_ok, db_detail = health.check_database()
    broker_ok, broker_detail = health.check_broker(celery_app)
    body = {
        "status": "ok" if db_ok and broker_ok else "unavailable",
        "database": {"ok": db_ok, "detail": db_detail},
        "broker": {"ok": broker_ok, "detail": broker_detail},
    }
    if db_ok:
        beat = health.last_worker_heartbeat()
        body["worker_last_seen"] = beat.isoformat() if beat else None
    return JsonResponse(body, status=200 if db_ok and broker_ok else 503)
