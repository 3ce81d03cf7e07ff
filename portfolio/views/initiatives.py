"""The initiative pages: list, intake, detail and keeping an initiative current."""

from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import render

from portfolio import selectors
from portfolio.access import require_reader
from portfolio.forms import InitiativeFilterForm


def initiative_list(request):
    require_reader(request.user)
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


