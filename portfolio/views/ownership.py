"""Ownership health: who has left, who has gone quiet, what nobody runs.

Every role reads the page; TPMs and admins reassign an owner from it.
"""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone

from portfolio import selectors, services
from portfolio.access import initiative_for, initiative_rights, require_reader
from portfolio.exceptions import DomainError
from portfolio.forms import OwnershipFilterForm, ReassignOwnerForm, add_refusal
from portfolio.models import Initiative

ALREADY_OWNER = "{name} already owns this initiative."
REASSIGNED = "{title} is now owned by {name}."


def ownership_health(request):
    require_reader(request.user)
    now = timezone.now()
    form = OwnershipFilterForm(request.GET)
    form.is_valid()  # a bad filter is shown on its field and ignored
    filters = form.cleaned_data
    counts, total = selectors.ownership_page_counts(now=now, filters=filters)
    paginator = Paginator(selectors.OwnershipGaps(now=now, filters=filters, count=total),
                          settings.PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "portfolio/ownership_health.html", {
        "page": page,
        "form": form,
        "problem_counts": counts,
        "silent_days": settings.OWNER_SILENT_DAYS,
        "can_reassign": initiative_rights(request.user).steward,
        "filtered": any(filters.get(name) for name in form.fields),
    })


def _owner_name(user) -> str:
    return user.get_full_name() or user.get_username()


def initiative_reassign(request, pk):
    """Name a new accountable owner; the service keeps the change in the history."""
    now = timezone.now()
    initiative, _ = initiative_for(
        request.user, pk, need="steward", queryset=selectors.with_ownership_health(
            Initiative.objects.select_related("team", "owner"), now=now))
    if request.method == "POST":
        form = ReassignOwnerForm(request.POST)
        if form.is_valid():
            new_owner = form.cleaned_data["owner"]
            if new_owner.pk == initiative.owner_id:
                form.add_error("owner", ALREADY_OWNER.format(name=_owner_name(new_owner)))
            else:
                try:
                    services.initiative_update(
                        initiative=initiative, actor=request.user, now=now,
                        expected_version=form.cleaned_data["version"],
                        changes={"owner": new_owner},
                    )
                except DomainError as error:
                    add_refusal(form, error)
                else:
                    messages.success(request, REASSIGNED.format(
                        title=initiative.title, name=_owner_name(new_owner)))
                    return redirect("portfolio:ownership-health")
    else:
        form = ReassignOwnerForm(initial={"version": initiative.version})
    return render(request, "portfolio/ownership_reassign.html", {
        "initiative": initiative,
        "form": form,
    }, status=400 if form.errors else 200)
