"""CSV export of the initiative list, and CSV import of new initiatives."""

from django.contrib import messages
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from portfolio import csv_io, selectors
from portfolio.access import require_pm, require_reader
from portfolio.forms import InitiativeFilterForm

# A page listing every error of a 20,000-row file would be unreadable; the rest are counted.
ERRORS_SHOWN = 200
DROPPED_NAMED = 10   # the message names up to this many dropped rows, then counts them


@require_GET
def initiative_export(request):
    """The rows the list shows for the same query string — all pages — as CSV."""
    require_reader(request.user)
    form = InitiativeFilterForm(request.GET)
    form.is_valid()   # like the list: a bad filter is ignored, the valid ones apply
    now = timezone.now()
    queryset = selectors.initiative_export_list(fetched_by=request.user,
                                                filters=form.cleaned_data, now=now)
    response = StreamingHttpResponse(csv_io.export_rows(queryset),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{csv_io.export_filename(now)}"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def initiative_import_template(request):
    require_reader(request.user)
    response = HttpResponse(csv_io.template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="initiatives-template.csv"'
    return response


class CappedUpload(FileUploadHandler):
    """Stops reading an uploaded file past the import's size limit, so a huge upload
    fills neither memory nor disk; the rest of the request body is read and dropped."""

    def __init__(self, request=None):
        super().__init__(request)
        self.received = 0
        self.stopped = False

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > csv_io.MAX_BYTES:
            self.stopped = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


@csrf_exempt   # the CSRF check reads the body: it runs in _import_page, after the handler is in
@require_http_methods(["GET", "POST"])
def initiative_import(request):
    """GET: the upload form and the column reference. POST: validate every row, check it
    for duplicates, then import all of them or none. Rows that look like existing work
    come back as a review: the same file is posted again with ``reviewed`` (the file's
    fingerprint) and a ``row-<n>`` choice per row, or ``decide_all``. Answers a script's
    upload (X-Requested-With) with JSON naming where to go on success, and with the page
    itself when there are errors or rows to decide on."""
    require_pm(request.user)
    cap = CappedUpload(request)
    request.upload_handlers.insert(0, cap)
    return _import_page(request, cap)


@csrf_protect
def _import_page(request, cap: CappedUpload):
    if request.method != "POST":
        return _render(request, csv_io.UploadForm())
    form = csv_io.UploadForm(request.POST, request.FILES)
    if cap.stopped:
        return _render(request, form, errors=[csv_io.RowError(
            None, "", csv_io.TOO_BIG.format(limit=csv_io.MAX_BYTES // 2**20))])
    if not form.is_valid():
        return _render(request, form)
    decisions, decide_all = csv_io.decisions_from(request.POST)
    result = csv_io.initiatives_import(file_or_rows=form.cleaned_data["file"],
                                       actor=request.user, now=timezone.now(),
                                       decisions=decisions, decide_all=decide_all,
                                       reviewed=request.POST.get("reviewed", ""))
    if result.errors:
        return _render(request, csv_io.UploadForm(), errors=result.errors)
    if result.undecided:
        return _render(request, None, review=result,
                       confirming="reviewed" in request.POST and not result.file_changed)
    count = len(result.created)
    messages.success(request, f"Imported {count:,} initiative{'s' if count != 1 else ''}."
                     + _dropped(result.dropped))
    if result.ignored_columns:
        messages.info(request, f"Ignored the column{'s' if len(result.ignored_columns) > 1 else ''}"
                               f" {', '.join(result.ignored_columns)}: imported initiatives "
                               "start as ideas and move through the lifecycle's gates.")
    url = reverse("portfolio:initiative-list")
    if all(initiative.owner_id == request.user.pk for initiative in result.created):
        url += "?owner=me"
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return JsonResponse({"redirect": url})
    return redirect(url)


def _dropped(suspects) -> str:
    rows = [str(suspect.row) for suspect in suspects]
    if not rows:
        return ""
    if len(rows) == 1:
        return f" Dropped row {rows[0]} (a possible duplicate)."
    if len(rows) <= DROPPED_NAMED:
        return f" Dropped rows {', '.join(rows)} (possible duplicates)."
    return f" Dropped {len(rows):,} rows (possible duplicates)."


def _render(request, form, errors=(), review=None, confirming=False):
    """The import page: the upload form with any errors, or (``review``) the suspected
    duplicates to decide on."""
    errors = list(errors)
    suspects = review.duplicates if review else []
    return render(request, "portfolio/initiative_import.html", {
        "form": form,
        "review": review,
        "suspects": suspects[:ERRORS_SHOWN],
        "suspects_hidden": max(0, len(suspects) - ERRORS_SHOWN),
        "confirming": confirming,
        "decisions": {"import": csv_io.IMPORT_ANYWAY, "drop": csv_io.DROP},
        "errors": errors[:ERRORS_SHOWN],
        "error_count": len(errors),
        "errors_hidden": max(0, len(errors) - ERRORS_SHOWN),
        "error_rows": len({error.row for error in errors if error.row is not None}),
        "columns": csv_io.IMPORT_COLUMNS,
        "ignored_columns": csv_io.IGNORED_ON_IMPORT,
        "max_rows": csv_io.MAX_ROWS,
        "max_bytes": csv_io.MAX_BYTES,
        "max_mb": csv_io.MAX_BYTES // 2**20,
    })
