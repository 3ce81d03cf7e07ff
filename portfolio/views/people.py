"""Who works on an initiative and what it needs: RACI roles and dependencies, and the
search the pickers ask as the user types (docs/architecture.md, "People pickers")."""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from portfolio import selectors, services
from portfolio.access import require_reader
from portfolio.exceptions import DomainError
from portfolio.forms import DependencyForm, StakeholderForm, add_refusal
from portfolio.models import Dependency, Stakeholder
from portfolio.selectors import pickers
from portfolio.views.initiatives import render_detail

UNKNOWN_ROLE = "Unknown role: one of {roles}."


@require_GET
def people_search(request):
    """``?role=owner|sponsor|stakeholder|production_owner&q=…``: at most
    ``pickers.PICKER_LIMIT`` people who fit the role and match the typed words."""
    require_reader(request.user)
    role = request.GET.get("role", "")
    if role not in pickers.PERSON_ROLES:
        return JsonResponse({"error": UNKNOWN_ROLE.format(roles=", ".join(pickers.PERSON_ROLES))},
                            status=400)
    people = pickers.people_search(text=request.GET.get("q", ""), role=role)
    return JsonResponse({"results": [
        {"value": pickers.person_label(user), "label": user.get_full_name() or user.get_username(),
         "detail": user.get_username()} for user in people]})


@require_GET
def initiative_search(request):
    """``?q=…&exclude=<id>``: at most ``pickers.PICKER_LIMIT`` initiatives by title."""
    require_reader(request.user)
    exclude = request.GET.get("exclude", "")
    found = pickers.initiatives_search(
        text=request.GET.get("q", ""),
        exclude=int(exclude) if exclude.isdigit() and len(exclude) <= 18 else None)
    return JsonResponse({"results": [
        {"value": pickers.initiative_label(initiative), "label": initiative.title,
         "detail": f"#{initiative.pk} · {initiative.get_stage_display()}"}
        for initiative in found]})


@require_POST
def stakeholder_create(request, pk: int):
    initiative, rights = selectors.initiative_get_for_user(user=request.user, pk=pk,
                                                           need="coordinate")
    form = StakeholderForm(request.POST)
    if form.is_valid():
        try:
            stake = services.stakeholder_add(initiative=initiative, actor=request.user,
                                             now=timezone.now(), **form.cleaned_data)
        except DomainError as error:
            add_refusal(form, error)
        else:
            messages.success(request, f"{stake.user.get_full_name() or stake.user} is now "
                                      f"{stake.get_role_display()}.")
            return redirect(initiative)
    return render_detail(request, initiative, rights, people_form=form, status=400)


@require_POST
def stakeholder_delete(request, pk: int, stakeholder_id: int):
    initiative, _ = selectors.initiative_get_for_user(user=request.user, pk=pk,
                                                      need="coordinate")
    stake = get_object_or_404(Stakeholder.objects.select_related("user"), pk=stakeholder_id,
                              initiative=initiative)
    try:
        services.stakeholder_remove(stakeholder=stake, actor=request.user, now=timezone.now())
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{stake.user.get_full_name() or stake.user} is no longer "
                                  f"{stake.get_role_display()}.")
    return redirect(initiative)


@require_POST
def dependency_create(request, pk: int):
    initiative, rights = selectors.initiative_get_for_user(user=request.user, pk=pk,
                                                           need="coordinate")
    form = DependencyForm(request.POST, initiative=initiative)
    if form.is_valid():
        try:
            services.dependency_add(initiative=initiative, actor=request.user,
                                    now=timezone.now(), **form.cleaned_data)
        except DomainError as error:
            add_refusal(form, error)
        else:
            messages.success(request, f"Now depends on “{form.cleaned_data['depends_on']}”.")
            return redirect(initiative)
    return render_detail(request, initiative, rights, dependency_form=form, status=400)


@require_POST
def dependency_delete(request, pk: int, depends_on_id: int):
    initiative, _ = selectors.initiative_get_for_user(user=request.user, pk=pk,
                                                      need="coordinate")
    dependency = get_object_or_404(Dependency.objects.select_related("depends_on"),
                                   initiative=initiative, depends_on_id=depends_on_id)
    services.dependency_remove(dependency=dependency, actor=request.user, now=timezone.now())
    messages.success(request, f"No longer depends on “{dependency.depends_on}”.")
    return redirect(initiative)
