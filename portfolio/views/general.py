"""Pages every signed-in user reaches: home, the no-role page, and /healthz."""

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portfolio import health
from portfolio.api.errors import PayloadTooLarge
from portfolio.celery import app as celery_app
from portfolio.roles import can_read_portfolio, home_url_for


def home(request):
    """Send each role to its place."""
    return redirect(home_url_for(request.user))


def no_role(request):
    """A signed-in user whose account has no role yet sees only this."""
    if can_read_portfolio(request.user):
        return redirect("home")
    return render(request, "portfolio/no_role.html")


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """200 when the database and the broker answer; 503 naming the one that does not.

    ``worker`` says whether a Celery worker has reported (``health.worker_state``); its
    absence is stated, not a 503: the web process itself is healthy without one."""
    db_ok, db_detail = health.check_database()
    broker_ok, broker_detail = health.check_broker(celery_app)
    body = {
        "status": "ok" if db_ok and broker_ok else "unavailable",
        "database": {"ok": db_ok, "detail": db_detail},
        "broker": {"ok": broker_ok, "detail": broker_detail},
    }
    if db_ok:
        worker = health.worker_state(now=timezone.now())
        body["worker"] = worker
        body["worker_last_seen"] = worker["last_seen"]  # kept for existing monitors
    return JsonResponse(body, status=200 if db_ok and broker_ok else 503)


@login_not_required
@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico on pages that name no icon (the Django admin, the API's
    JSON): send them to the one icon, so nothing answers 404."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


@login_not_required
def bad_request(request, exception=None):
    """Django's 400 (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, a bad host...): JSON in the
    API's one error shape under /api/, with 413 for a body that is too large; the usual
    page elsewhere."""
    if not request.path.startswith("/api/"):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse({"message": PayloadTooLarge.default_detail,
                             "code": PayloadTooLarge.default_code},
                            status=PayloadTooLarge.status_code)
    return JsonResponse({"message": "The request could not be read.", "code": "bad_request"},
                        status=400)


@login_not_required
def page_not_found(request, exception=None):
    """No such address: the API's error shape under /api/, the usual page elsewhere."""
    if not request.path.startswith("/api/"):
        return defaults.page_not_found(request, exception)
    return JsonResponse({"message": "Not found.", "code": "not_found"}, status=404)
