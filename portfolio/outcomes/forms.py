"""The exit contract's forms on the initiative page: record a measurement, override the
gate, and upload measurements as CSV.

They only read input; the rules are the services' (``measurement_errors``,
``measurements_record``, ``contract_override``), asked here so that every error of a
form or a file shows at once, on its field or row.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from portfolio.csv_io import MAX_BYTES, MAX_ROWS, RowError
from portfolio.csv_io.columns import neutralise, normalise_header, restore_formula_text
from portfolio.csv_io.importer import _read, _Refused
from portfolio.forms import DATE_WIDGET
from portfolio.models import Measurement, OverrideKind
from portfolio.outcomes import services

VALUE_DIGITS = Measurement._meta.get_field("value").max_digits
VALUE_PLACES = Measurement._meta.get_field("value").decimal_places
SOURCE_MAX = Measurement._meta.get_field("source_note").max_length


def _value_field(unit: str) -> forms.DecimalField:
    return forms.DecimalField(
        label=f"Value ({unit})" if unit else "Value", max_digits=VALUE_DIGITS,
        decimal_places=VALUE_PLACES,
        help_text="The metric as measured, a number" + (f" in {unit}." if unit else "."),
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}))


class MeasurementForm(forms.Form):
    """One dated value of the initiative's success metric, with its source."""

    measured_on = forms.DateField(label="Date", widget=DATE_WIDGET,
                                  help_text="When it was measured: today or earlier.")
    source_url = forms.URLField(
        label="Source link", max_length=SOURCE_MAX, required=False, assume_scheme="https",
        help_text="A report or dashboard showing the number (a link or a note is needed).")
    source_note = forms.CharField(
        label="Source note", max_length=SOURCE_MAX, required=False,
        help_text="Where the number comes from, when there is no link.")

    def __init__(self, *args, unit: str = "", now: datetime, **kwargs):
        kwargs.setdefault("auto_id", "id_measurement_%s")
        super().__init__(*args, **kwargs)
        self.now = now
        self.fields["value"] = _value_field(unit)
        self.order_fields(["measured_on", "value", "source_url", "source_note"])

    def clean(self):
        data = super().clean()
        if data.get("measured_on") is None or data.get("value") is None:
            return data
        for field, message in services.measurement_errors(row=self.row(), now=self.now).items():
            self.add_error(field, message)
        return data

    def row(self) -> services.MeasurementInput:
        data = self.cleaned_data
        return services.MeasurementInput(data["measured_on"], data["value"],
                                         data.get("source_url", ""), data.get("source_note", ""))


class OverrideForm(forms.Form):
    """Let the initiative past one thing the contract holds it back for, with a reason."""

    kind = forms.ChoiceField(choices=OverrideKind.choices, widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Why it may go ahead anyway", max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept with the override, shown on this page, in the history and the digest.",
        error_messages={"required": services.OVERRIDE_NEEDS_REASON})

    def __init__(self, *args, kind: str = "", **kwargs):
        kind = kind or (args[0].get("kind", "") if args and args[0] else "")
        kwargs.setdefault("auto_id", f"id_override_{kind or 'any'}_%s")
        kwargs.setdefault("initial", {"kind": kind})
        super().__init__(*args, **kwargs)

    @property
    def kind_value(self) -> str:
        return self.data.get("kind", "") if self.is_bound else self.initial.get("kind", "")


# --- Measurements from a CSV file ----------------------------------------------------------------

@dataclass(frozen=True)
class MeasurementColumn:
    header: str
    field: str
    help: str
    required: bool = False
    aliases: tuple = ()


MEASUREMENT_COLUMNS = (
    MeasurementColumn("Date", "measured_on", "A date as YYYY-MM-DD, today or earlier.",
                      required=True, aliases=("measured on", "day", "measurement date")),
    MeasurementColumn("Value", "value", "A number in the metric's unit; a decimal comma "
                      "is read too, and the unit after the number is ignored.", required=True,
                      aliases=("measurement", "measured value")),
    MeasurementColumn("Source link", "source_url", "A link to where the number comes from.",
                      aliases=("source url", "link", "url")),
    MeasurementColumn("Source note", "source_note", "Where the number comes from, when there "
                      "is no link. Each row needs a link or a note.",
                      aliases=("note", "source")),
)
HEADERS = {normalise_header(name): column for column in MEASUREMENT_COLUMNS
           for name in (column.header, column.field, *column.aliases)}
BY_FIELD = {column.field: column for column in MEASUREMENT_COLUMNS}

UNKNOWN_COLUMN = ('Unknown column "{header}". The columns are: '
                  + ", ".join(column.header for column in MEASUREMENT_COLUMNS) + ".")
DUPLICATE_COLUMN = 'The column "{header}" appears twice.'
MISSING_COLUMN = 'The required column "{header}" is missing.'
NO_ROWS = "The file has a header row but no measurements."
EXTRA_CELLS = "This row has {cells} cells but the header has {columns} columns."
BAD_DATE = 'Enter a date as YYYY-MM-DD, e.g. 2026-11-02, not "{text}".'
BAD_NUMBER = 'Enter a number, e.g. 22.5, not "{text}".'
REQUIRED = "Enter the {what}."
TOO_LONG = "At most {limit} characters."
BAD_URL = 'Enter a link that starts with https:// or http://, not "{text}".'


def template_csv() -> str:
    """The header row of a measurements file (a byte-order mark, so Excel reads UTF-8)."""
    out = io.StringIO()
    csv.writer(out).writerow(neutralise(column.header) for column in MEASUREMENT_COLUMNS)
    return "\ufeff" + out.getvalue()


class MeasurementUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=f"UTF-8 CSV with a header row, up to {MAX_ROWS:,} measurements and "
                  f"{MAX_BYTES // 2**20} MB.",
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}))


_DATE = forms.DateField(input_formats=["%Y-%m-%d"])
_URL = forms.URLField(max_length=SOURCE_MAX, assume_scheme="https")


def _number(text: str, unit: str) -> Decimal:
    text = text.strip()
    if unit and text.lower().endswith(unit.lower()):
        text = text[: -len(unit)].strip()
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    text = text.replace(" ", "").replace("\u00a0", "")
    field = forms.DecimalField(max_digits=VALUE_DIGITS, decimal_places=VALUE_PLACES)
    return field.clean(text)


def _cell(record: list[str], index: int | None) -> str:
    if index is None or index >= len(record):
        return ""
    return restore_formula_text(record[index].strip())


def measurements_from_csv(file_or_text, *, unit: str, now: datetime,
                          ) -> tuple[list[services.MeasurementInput], list[RowError]]:
    """Every row of an uploaded file as a measurement, or every error found (row numbers as
    a spreadsheet counts them, the header being row 1). Empty rows are skipped."""
    try:
        records = _read(file_or_text)
    except _Refused as refused:
        return [], refused.errors
    header, errors, where = records[0], [], {}
    for index, cell in enumerate(header):
        name = cell.strip()
        if not name:
            continue
        column = HEADERS.get(normalise_header(name))
        if column is None:
            errors.append(RowError(1, name, UNKNOWN_COLUMN.format(header=name)))
        elif column.field in where:
            errors.append(RowError(1, column.header, DUPLICATE_COLUMN.format(header=name)))
        else:
            where[column.field] = index
    errors += [RowError(1, column.header, MISSING_COLUMN.format(header=column.header))
               for column in MEASUREMENT_COLUMNS if column.required and column.field not in where]
    if errors:
        return [], errors

    rows = []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        row_errors = []
        if len(record) > len(header) and any(cell.strip() for cell in record[len(header):]):
            row_errors.append(RowError(number, "", EXTRA_CELLS.format(
                cells=len(record), columns=len(header))))
        cells = {field: _cell(record, where.get(field)) for field in BY_FIELD}
        values: dict = {}
        for field, what in (("measured_on", "date"), ("value", "value")):
            text = cells[field]
            if not text:
                row_errors.append(RowError(number, BY_FIELD[field].header,
                                           REQUIRED.format(what=what)))
                continue
            try:
                values[field] = _DATE.clean(text) if field == "measured_on" \
                    else _number(text, unit)
            except ValidationError as error:
                message = BAD_DATE.format(text=text) if field == "measured_on" else (
                    " ".join(error.messages) if error.code != "invalid"
                    else BAD_NUMBER.format(text=text))
                row_errors.append(RowError(number, BY_FIELD[field].header, message))
        for field in ("source_url", "source_note"):
            if len(cells[field]) > SOURCE_MAX:
                row_errors.append(RowError(number, BY_FIELD[field].header,
                                           TOO_LONG.format(limit=SOURCE_MAX)))
        if cells["source_url"] and not any(e.column == "Source link" for e in row_errors):
            try:
                cells["source_url"] = _URL.clean(cells["source_url"])
            except ValidationError:
                row_errors.append(RowError(number, BY_FIELD["source_url"].header,
                                           BAD_URL.format(text=cells["source_url"])))
        # The service's rules, for what could be read (a date that could not stands in as
        # today, so the source is checked all the same).
        row = services.MeasurementInput(
            values.get("measured_on", timezone.localdate(now)), values.get("value", Decimal(0)),
            cells["source_url"], cells["source_note"])
        for field, message in services.measurement_errors(row=row, now=now).items():
            header_name = ("Source link or Source note" if field == "source_note"
                           else BY_FIELD[field].header)
            row_errors.append(RowError(number, header_name, message))
        if not row_errors:
            rows.append(row)
        errors += row_errors
    if not rows and not errors:
        errors.append(RowError(None, "", NO_ROWS))
    return ([] if errors else rows), errors
