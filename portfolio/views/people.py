"""Who works on an initiative and what it needs: RACI roles and dependencies."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from portfolio import selectors, services
from portfolio.exceptions import DomainError
from portfolio.forms import DependencyForm, StakeholderForm, add_refusal
from portfolio.models import Dependency, Stakeholder
from portfolio.views.initiatives import render_detail


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
    form = DependencyForm(request.POST)
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
