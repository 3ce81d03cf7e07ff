"""The capacity page: each team's engineer-weeks for this quarter or one of the next three,
against the effort already committed, a page of teams (by name) at a time. Every portfolio
reader sees it; leadership and admins who may change capacity plans change them here
(``capacity_plans_access``), all rows of the page at once or none (``capacity_plans_set``)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from portfolio.exceptions import DomainError
from scoring.capacity import (
    NOT_CAPACITY_PLANNER,
    capacity_page,
    capacity_plans_access,
    capacity_plans_set,
    parse_quarter,
    plan_quarters,
    previous_quarter,
    quarter_label,
)
from scoring.capacity_forms import CapacityPlansForm

SAVED = "Capacity plans for {quarter} saved ({count} changed)."
NOTHING_CHANGED = "Nothing changed: every plan for {quarter} already had these engineer-weeks."


@require_http_methods(["GET", "HEAD", "POST"])
def capacity(request):
    """``?quarter=2027-Q1`` (default: this quarter); ``&page=2``: the next
    ``settings.PAGE_SIZE`` teams by name; ``&copy=previous`` fills the form with the
    quarter before's plans. Queries, whatever the size: the teams counted (1), the page's
    teams with their plans and committed effort (1, ``capacity_page``), besides the
    session and the user's roles."""
    can_edit = capacity_plans_access(request.user)
    now = timezone.now()
    quarter_error = ""
    try:
        year, quarter = parse_quarter(request.GET.get("quarter", ""), now=now)
    except DomainError as error:
        quarter_error = error.message
        year, quarter = plan_quarters(now)[0]
    label = quarter_label(year, quarter)
    if request.method == "POST" and not can_edit:
        raise PermissionDenied(NOT_CAPACITY_PLANNER)
    page, rows = capacity_page(year=year, quarter=quarter, number=request.GET.get("page"))
    # Where the form posts and a save returns: this quarter, this page of teams.
    here = f"?quarter={label}" + (f"&page={page.number}" if page.number > 1 else "")
    status = 200
    if request.method == "POST":
        form = CapacityPlansForm(request.POST, rows=rows)
        if form.is_valid() and not quarter_error:
            try:
                changed = capacity_plans_set(year=year, quarter=quarter, weeks=form.weeks(),
                                             actor=request.user, now=now)
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None,
                               error.message)
            else:
                messages.success(request, (SAVED.format(quarter=label, count=changed)
                                           if changed else NOTHING_CHANGED.format(quarter=label)))
                return redirect(f"{reverse('scoring:capacity')}{here}")
        status = 400
    else:
        form = CapacityPlansForm(rows=rows, copy_previous=request.GET.get("copy") == "previous")
    return render(request, "scoring/capacity.html", {
        "form": form,
        "rows": form.bound_rows(),
        "page": page,
        "here": here,
        "can_edit": can_edit,
        "label": label,
        "previous_label": quarter_label(*previous_quarter(year, quarter)),
        "copying": request.GET.get("copy") == "previous" and request.method != "POST",
        "any_previous": any(row.previous is not None for row in rows),
        "quarters": [(quarter_label(*q), q == (year, quarter)) for q in plan_quarters(now)],
        "quarter_error": quarter_error,
        "this_quarter": quarter_label(*plan_quarters(now)[0]),
    }, status=status)
