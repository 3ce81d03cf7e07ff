"""The exit contract on the initiative page: its status, the metric over time, the
measurements, and the forms to record one and to override the gate; measurements from a
CSV file."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portfolio import csv_io
from portfolio import selectors as portfolio_selectors
from portfolio.access import InitiativeRights
from portfolio.exceptions import DomainError
from portfolio.forms import add_refusal
from portfolio.models import Initiative, MetricDirection, OverrideKind, Stage
from portfolio.outcomes import chart, contract, forms, selectors, services
from portfolio.views.csv import CappedUpload

ERRORS_SHOWN = 200   # like the initiative import: the rest are counted

STATUS_WORDS = {
    "incomplete": "Incomplete",
    "unmeasured": "Not measured yet",
    "met": "Target met",
    "missed": "Target missed",
}


def _day(day) -> str:
    return f"{day:%-d %b %Y}" if day else "—"


def _money(amount: Decimal | None) -> str:
    if amount is None:
        return "—"
    figure = f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
    return f"{settings.VALUE_CURRENCY} {figure} a year"


def _status_text(initiative: Initiative, status: str, evidence: contract.Evidence,
                 missing: list[str]) -> str:
    unit = initiative.metric_unit
    if status == "incomplete":
        return f"{', '.join(missing).capitalize()} missing."
    if status == "unmeasured":
        return (f"No measurement inside the window ({_day(initiative.window_start)} – "
                f"{_day(initiative.window_end)}) yet.")
    reading = evidence.latest_in_window
    text = (f"{contract.format_value(reading.value, unit)} measured on "
            f"{_day(reading.measured_on)}, target "
            f"{contract.format_value(initiative.target_value, unit)}, baseline "
            f"{contract.format_value(initiative.baseline_value, unit)}.")
    if status == "missed" and OverrideKind.TARGET_MISSED in evidence.overridden:
        text += " Overridden for this stage: it may go ahead."
    return text


def contract_context(*, initiative: Initiative, rights: InitiativeRights, now: datetime) -> dict:
    """What ``_contract.html`` shows. Its queries do not grow with the measurements: the
    gate's evidence (2), the measurements (1), the overrides (1) and, for a pilot or a
    production initiative, what an override may lift (2)."""
    evidence = selectors.contract_evidence(initiative)
    status = contract.status(initiative, evidence)
    missing = contract.missing_fields(initiative)
    unit = initiative.metric_unit
    measurements = list(selectors.measurements_of(initiative))
    in_window = (initiative.window_start, initiative.window_end)
    rows = [{
        "measurement": measurement,
        "value": contract.format_value(measurement.value, unit),
        "in_window": (None not in in_window
                      and in_window[0] <= measurement.measured_on <= in_window[1]),
    } for measurement in measurements]
    overrides = list(selectors.overrides_of(initiative))
    blockers = services.overridable(initiative=initiative, now=now, evidence=evidence)
    return {
        "status": status,
        "status_label": STATUS_WORDS[status],
        "status_text": _status_text(initiative, status, evidence, missing),
        "evidence": evidence,
        "measurements": measurements,
        "rows": rows,
        "overrides": [{
            "override": override,
            "in_force": override.stage_since == initiative.stage_changed_at,
        } for override in overrides],
        "missing": missing,
        "direction": (MetricDirection(initiative.metric_direction).label.lower()
                      if initiative.metric_direction in MetricDirection.values else ""),
        "baseline": contract.format_value(initiative.baseline_value, unit),
        "target": contract.format_value(initiative.target_value, unit),
        "window": (f"{_day(initiative.window_start)} – {_day(initiative.window_end)}"
                   if initiative.window_start and initiative.window_end else "—"),
        "predicted_value": _money(initiative.predicted_annual_value),
        "predicted_run_cost": _money(initiative.predicted_annual_run_cost),
        "currency": settings.VALUE_CURRENCY,
        "chart": chart.metric_chart(
            metric=initiative.success_metric, unit=unit,
            direction=initiative.metric_direction, baseline=initiative.baseline_value,
            target=initiative.target_value, window_start=initiative.window_start,
            window_end=initiative.window_end,
            points=[chart.Point(m.measured_on, m.value) for m in measurements]),
        "next_stage": (Stage.PRODUCTION if initiative.stage == Stage.PILOT
                       else Stage.SCALED).label.lower(),
        "blockers": [{
            "blocker": blocker,
            "label": OverrideKind(blocker.kind).label,
            "form": forms.OverrideForm(kind=blocker.kind) if rights.override_contract else None,
        } for blocker in blockers],
        "can_record": rights.edit and bool(initiative.success_metric),
        "measurement_form": (forms.MeasurementForm(unit=unit, now=now)
                             if rights.edit else None),
    }


def _render_detail(request, initiative, rights, **kwargs):
    # The page's view lives with the initiative pages, which read this module's
    # contract_context: imported here, when a request needs it, to keep that one way.
    from portfolio.views.initiatives import render_detail

    return render_detail(request, initiative, rights, **kwargs)


def _to_contract(initiative: Initiative) -> str:
    return f"{initiative.get_absolute_url()}#contract-h"


@require_POST
def measurement_create(request, pk: int):
    """Record one measurement (the owner or a Responsible PM)."""
    initiative, rights = portfolio_selectors.initiative_get_for_user(
        user=request.user, pk=pk, need="edit")
    now = timezone.now()
    form = forms.MeasurementForm(request.POST, unit=initiative.metric_unit, now=now)
    if form.is_valid():
        row = form.row()
        try:
            services.measurement_record(
                initiative=initiative, measured_on=row.measured_on, value=row.value,
                source_url=row.source_url, source_note=row.source_note, actor=request.user,
                now=now)
        except DomainError as error:
            add_refusal(form, error)
        else:
            value = contract.format_value(row.value, initiative.metric_unit)
            messages.success(request, f"Recorded {value} on {_day(row.measured_on)}.")
            return redirect(_to_contract(initiative))
    return _render_detail(request, initiative, rights, measurement_form=form, status=400)


@require_POST
def contract_override(request, pk: int):
    """The sponsor or leadership lets the initiative past what its contract holds it back
    for, with a reason."""
    initiative, rights = portfolio_selectors.initiative_get_for_user(
        user=request.user, pk=pk, need="override_contract")
    form = forms.OverrideForm(request.POST)
    if form.is_valid():
        try:
            override = services.contract_override(
                initiative=initiative, kind=form.cleaned_data["kind"],
                reason=form.cleaned_data["reason"], actor=request.user, now=timezone.now())
        except DomainError as error:
            add_refusal(form, error)
        else:
            messages.success(request, f"Overridden: {override.get_kind_display().lower()}. "
                                      "It may now move on.")
            return redirect(_to_contract(initiative))
    return _render_detail(request, initiative, rights, override_form=form, status=400)


@require_GET
def measurement_import_template(request, pk: int):
    initiative, _ = portfolio_selectors.initiative_get_for_user(user=request.user, pk=pk,
                                                                need="edit")
    response = HttpResponse(forms.template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (f'attachment; filename="measurements-{initiative.pk}'
                                       '-template.csv"')
    return response


@csrf_exempt   # the CSRF check reads the body: it runs in _import_page, after the cap is in
@require_http_methods(["GET", "POST"])
def measurement_import(request, pk: int):
    """GET: the upload form and the column reference. POST: read every row, then record all
    of them or none (every problem listed by row and column)."""
    initiative, _ = portfolio_selectors.initiative_get_for_user(user=request.user, pk=pk,
                                                                need="edit")
    cap = CappedUpload(request)
    request.upload_handlers.insert(0, cap)
    return _import_page(request, initiative, cap)


@csrf_protect
def _import_page(request, initiative: Initiative, cap: CappedUpload):
    if request.method != "POST":
        return _import_render(request, initiative, forms.MeasurementUploadForm())
    form = forms.MeasurementUploadForm(request.POST, request.FILES)
    if cap.stopped:
        return _import_render(request, initiative, form, errors=[csv_io.RowError(
            None, "", csv_io.TOO_BIG.format(limit=csv_io.MAX_BYTES // 2**20))])
    if not form.is_valid():
        return _import_render(request, initiative, form, status=400)
    now = timezone.now()
    rows, errors = forms.measurements_from_csv(form.cleaned_data["file"],
                                               unit=initiative.metric_unit, now=now)
    if not errors:
        try:
            services.measurements_record(initiative=initiative, rows=rows, actor=request.user,
                                         now=now)
        except DomainError as error:
            errors = [csv_io.RowError(None, "", error.message)]
    if errors:
        return _import_render(request, initiative, forms.MeasurementUploadForm(),
                              errors=errors)
    messages.success(request, f"Recorded {len(rows):,} measurement{'s' if len(rows) != 1 else ''}"
                              " from the file.")
    return redirect(_to_contract(initiative))


def _import_render(request, initiative: Initiative, form, errors=(), status=None):
    errors = list(errors)
    return render(request, "portfolio/outcomes/measurement_import.html", {
        "initiative": initiative,
        "form": form,
        "errors": errors[:ERRORS_SHOWN],
        "error_count": len(errors),
        "errors_hidden": max(0, len(errors) - ERRORS_SHOWN),
        "error_rows": len({error.row for error in errors if error.row is not None}),
        "columns": forms.MEASUREMENT_COLUMNS,
        "unit": initiative.metric_unit,
        "max_rows": csv_io.MAX_ROWS,
        "max_mb": csv_io.MAX_BYTES // 2**20,
    }, status=status or (400 if errors else 200))
