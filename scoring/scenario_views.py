"""Scenario pages (docs/architecture.md, "Scenarios"): the list and a new scenario, one
scenario beside the live plan, its edit page, delete and apply. Access is
``scenarios.scenario_for`` / ``scenario_rights``; writes are the services in
``scoring.scenarios``."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portfolio.exceptions import DomainError
from portfolio.models import Team
from scoring import capacity, scenarios
from scoring.models import ScenarioPin
from scoring.scenario_forms import (
    CapacityFormSet,
    PinFormSet,
    ScenarioForm,
    TeamsByName,
    capacity_initial,
    pin_initial,
)
from scoring.selectors import active_scoring_model

CREATED = "Saved “{name}”. Nothing live has changed; share this page's address to discuss it."
UPDATED = "Saved your changes to “{name}”."
DELETED = "Deleted the scenario “{name}”."
APPLIED = ("Applied “{name}”: its capacity and scoring model are now the live plan. The "
           "dashboard catches up in a moment.")
PIN_FIELD, CAPACITY_FIELD = "pins", "capacities"


def _forms(request, *, now, initial=None, capacities=None, pins=None):
    """The scenario form, its capacity rows and its pins, bound on POST. Queries: the teams
    (names only, for the rows' one list), the active model; a fixed few rows whatever the
    number of teams."""
    teams = TeamsByName(Team.objects.order_by("name", "pk").only("id", "name", "slug"))
    data = request.POST if request.method == "POST" else None
    form = ScenarioForm(data, initial=initial, now=now, active_model=active_scoring_model())
    capacity_forms = CapacityFormSet(data, initial=capacities, prefix="team", teams=teams)
    pin_forms = PinFormSet(data, initial=pins, prefix="pin")
    return form, capacity_forms, pin_forms


def _save(form, capacity_forms, pin_forms, write) -> object | None:
    """Run ``write(fields, pinned_in, pinned_out)`` when the forms are valid (``fields`` with
    the capacities); a refusal goes on its field (capacities and pins on their rows'
    formset)."""
    if not (form.is_valid() and capacity_forms.is_valid() and pin_forms.is_valid()):
        return None
    pinned_in, pinned_out = pin_forms.pins()
    try:
        return write({**form.scenario_fields(), "capacities": capacity_forms.capacities()},
                     pinned_in, pinned_out)
    except DomainError as error:
        rows = {PIN_FIELD: pin_forms, CAPACITY_FIELD: capacity_forms}.get(error.field)
        if rows is not None:
            rows._non_form_errors = rows.error_class([error.message])
        else:
            form.add_refusal(error)
        return None


def _status(form, capacity_forms, pin_forms) -> int:
    return 400 if (form.errors or capacity_forms.total_error_count()
                   or pin_forms.total_error_count()) else 200


@require_http_methods(["GET", "HEAD", "POST"])
def scenario_list(request):
    """Every scenario, newest change first; leadership and admins draft a new one here."""
    rights = scenarios.scenario_rights(request.user)
    rights.require("edit" if request.method == "POST" else "read")
    now = timezone.now()
    form = capacity_forms = pin_forms = None
    if rights.edit:
        form, capacity_forms, pin_forms = _forms(request, now=now)
    if request.method == "POST":
        scenario = _save(form, capacity_forms, pin_forms, lambda fields, pinned_in, pinned_out:
                         scenarios.scenario_create(actor=request.user, now=now,
                                                   pinned_in=pinned_in, pinned_out=pinned_out,
                                                   **fields))
        if scenario is not None:
            messages.success(request, CREATED.format(name=scenario.name))
            return redirect("scoring:scenario", key=scenario.key)
    page = Paginator(scenarios.scenario_list(), settings.PAGE_SIZE).get_page(
        request.GET.get("page"))
    status = _status(form, capacity_forms, pin_forms) if request.method == "POST" else 200
    return render(request, "scoring/scenarios/list.html", {
        "page": page, "rights": rights, "form": form, "capacity_forms": capacity_forms,
        "pin_forms": pin_forms,
        "quarters": [capacity.quarter_label(*q) for q in capacity.plan_quarters(now)],
    }, status=status)


@require_GET
def scenario_detail(request, key):
    """The scenario beside the live plan for its quarter; nothing live changes."""
    scenario, rights = scenarios.scenario_for(request.user, key)
    now = timezone.now()
    comparison = scenarios.scenario_comparison(scenario=scenario, now=now)
    # The per-team table lists the teams the scenario changes; every team (as many as the
    # portfolio has) only when asked for, so the page does not grow with the portfolio.
    every_team = request.GET.get("teams") == "all"
    return render(request, "scoring/scenarios/detail.html", {
        "scenario": scenario, "rights": rights, "comparison": comparison,
        "every_team": every_team,
        "team_rows": (comparison.teams if every_team else comparison.changed_teams)
        if comparison else [],
        "pinned_in": scenarios.pins_of(scenario, ScenarioPin.Direction.IN),
        "pinned_out": scenarios.pins_of(scenario, ScenarioPin.Direction.OUT),
        "weights": scenarios.weights_text(scenario.weights or {}),
        "capacities": [(c.team.name, scenarios.weeks_text(c.engineer_weeks))
                       for c in scenario.capacities.all()],
        "may_change_models": scenarios.may_change_models(request.user),
    })


@require_http_methods(["GET", "HEAD", "POST"])
def scenario_edit(request, key):
    scenario, rights = scenarios.scenario_for(request.user, key, need="edit")
    now = timezone.now()
    form, capacity_forms, pin_forms = _forms(
        request, now=now, initial=ScenarioForm.initial_from(scenario, now=now),
        capacities=capacity_initial(scenario), pins=pin_initial(scenario))
    if request.method == "POST":
        saved = _save(form, capacity_forms, pin_forms, lambda fields, pinned_in, pinned_out:
                      scenarios.scenario_update(scenario=scenario, actor=request.user, now=now,
                                                pinned_in=pinned_in, pinned_out=pinned_out,
                                                **fields))
        if saved is not None:
            messages.success(request, UPDATED.format(name=saved.name))
            return redirect("scoring:scenario", key=saved.key)
    return render(request, "scoring/scenarios/edit.html", {
        "scenario": scenario, "rights": rights, "form": form, "capacity_forms": capacity_forms,
        "pin_forms": pin_forms,
    }, status=_status(form, capacity_forms, pin_forms) if request.method == "POST" else 200)


@require_POST
def scenario_delete(request, key):
    scenario, _ = scenarios.scenario_for(request.user, key, need="edit")
    try:
        scenarios.scenario_delete(scenario=scenario, actor=request.user, now=timezone.now())
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("scoring:scenario", key=scenario.key)
    messages.success(request, DELETED.format(name=scenario.name))
    return redirect("scoring:scenarios")


@require_POST
def scenario_apply(request, key):
    """Admins make the scenario live through the services (audited); once only."""
    scenario, _ = scenarios.scenario_for(request.user, key, need="apply")
    try:
        scenarios.scenario_apply(scenario=scenario, actor=request.user, now=timezone.now())
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, APPLIED.format(name=scenario.name))
    return redirect("scoring:scenario", key=scenario.key)
