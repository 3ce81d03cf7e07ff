"""The leadership dashboard: read-only, for every signed-in portfolio role."""

from collections.abc import Iterator

from django.conf import settings
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from portfolio.access import can_log_initiatives, require_reader
from portfolio.csv_io.columns import csv_lines, neutralise
from scoring import dashboard as board_reads
from scoring import value as value_reads
from scoring.forms import DashboardFilterForm
from scoring.standings import standings_current


def _filters(request, *, now) -> tuple[DashboardFilterForm, dict]:
    form = DashboardFilterForm(request.GET, now=now)
    form.is_valid()  # a bad filter is shown on its field and ignored; the valid ones apply
    return form, form.cleaned_data


@require_GET
def dashboard(request):
    require_reader(request.user)
    now = timezone.now()
    form, filters = _filters(request, now=now)
    board = board_reads.dashboard(filters=filters, now=now)
    kpis, pilot_ages = board_reads.kpis(board)
    groups = board_reads.table_groups(board, page=request.GET.get("page"),
                                      page_size=settings.PAGE_SIZE)
    return render(request, "scoring/dashboard.html", {
        "form": form,
        "filtered": any(filters.get(name) for name in ("team", "category", "stage")),
        "board": board,
        "kpis": kpis,
        "first": board_reads.first_screen(board),
        "groups": groups,
        "page": groups.page,
        # Governance capacity per checkpoint type, below the first screen.
        "review_capacity": board_reads.review_capacity_rows(board),
        "charts": board_reads.dashboard_charts(board, kpis=kpis, pilot_ages=pilot_ages),
        "value": board_reads.value_section(board),
        "value_formulas": value_reads.value_definitions(),
        "currency": settings.VALUE_CURRENCY,
        "formulas": board_reads.kpi_definitions(),
        "can_log": can_log_initiatives(request.user),
    })


@require_GET
def value(request):
    """Predicted against realised value, and whose estimates held: for every reader. Read
    from what the standings refresh stored (``scoring.standings.value_store``), as of its
    snapshot: the totals, a page of the initiatives and a page of those short of their
    contract (``?contracts=``), whatever the portfolio's size."""
    require_reader(request.user)
    snapshot = standings_current(now=timezone.now())
    stored = value_reads.value_stored(teams=False)
    teams = Paginator(value_reads.team_totals(),
                      settings.PAGE_SIZE).get_page(request.GET.get("teams"))
    page = Paginator(value_reads.ledger_rows(stored),
                     settings.PAGE_SIZE).get_page(request.GET.get("page"))
    short = Paginator(value_reads.short_of_contract_ids(stored),
                      settings.PAGE_SIZE).get_page(request.GET.get("contracts"))
    return render(request, "scoring/value.html", {
        "report": stored,
        "snapshot": snapshot,
        "page": page,
        "short_page": short,
        "teams": teams,
        "in_production": stored.in_production,
        "meeting": stored.contracts_met,
        "short_of_contract": value_reads.production_contracts(ids=list(short.object_list)),
        # The teams of the table's page.
        "chart": board_reads.value_chart(list(teams.object_list)),
        "currency": settings.VALUE_CURRENCY,
        "formulas": value_reads.value_definitions(),
        "margin_percent": round(100 * value_reads.ACCURACY_MARGIN),
    })


def _export_lines(board) -> Iterator[str]:
    return csv_lines(board_reads.EXPORT_HEADERS,
                     ([neutralise(cell)
                       for cell in board_reads.export_record(row, model=board.model,
                                                             quarter=board.quarter_label)]
                      for row in board.iter_rows()))


@require_GET
def dashboard_export(request):
    """The dashboard's table as filtered — every page — as CSV."""
    require_reader(request.user)
    now = timezone.now()
    _, filters = _filters(request, now=now)
    board = board_reads.dashboard(filters=filters, now=now)
    response = StreamingHttpResponse(_export_lines(board), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="dashboard-{timezone.localtime(now):%Y-%m-%d}.csv"')
    response["Cache-Control"] = "no-store"
    return response
