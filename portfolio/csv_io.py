"""CSV import and export of initiatives (issue 3, item 10).

One column spec (``COLUMNS``) drives the export, the import, the import page's
column reference and the downloadable template.

Export writes the rows the initiative list shows — the same filters and sort,
every page — streamed in chunks with a constant number of queries. Text cells
that a spreadsheet would run as a formula (starting with ``= + - @``, a tab or
a carriage return) get a leading apostrophe.

Import only ever *creates* initiatives, and they start as ideas: a stage
moves through the lifecycle and its governance gates, never by upload. The
export-only columns (ID, Stage, Last activity, Retirement reason) are
recognised and ignored, so an exported file imports as is. Every row is
validated first, with one form per row that reuses the intake form's fields;
any error imports nothing. A leading apostrophe the export added before a
formula character is taken off again, so a round trip keeps the text.
"""

from __future__ import annotations

import copy
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from portfolio import similarity
from portfolio.forms import SUMMARY_MAX, InitiativeForm
from portfolio.models import (
    CONFIDENCE_CHOICES,
    IMPACT_CHOICES,
    Activity,
    AutonomyLevel,
    Category,
    Health,
    Initiative,
    RetirementReason,
    RiskTier,
    Stage,
    Stakeholder,
    Team,
)
from portfolio.services import OWNER_INACTIVE

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
# Rows per INSERT (SQLite lowers it further to stay under its 999 parameters).
BATCH_SIZE = 500
# Referenced usernames are loaded in chunks that fit any database's parameter limit.
LOOKUP_CHUNK = 900
EXPORT_CHUNK = 1000

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# --- The column spec -----------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    header: str                 # what the spreadsheet shows
    field: str                  # the Initiative attribute
    kind: str                   # id, text, choice, number, date, datetime, bool, user, team
    help: str = ""
    required: bool = False      # on import
    importable: bool = True     # False: export only, ignored on import
    choices: tuple = ()         # (value, label) for choice columns
    aliases: tuple = ()         # other header spellings accepted on import

    def accepted(self) -> str:
        """What an import cell may hold, for the column reference."""
        if self.kind == "choice":
            return ", ".join(str(label) for _, label in self.choices)
        return {
            "text": "Text", "number": "A number", "date": "A date as YYYY-MM-DD",
            "bool": "yes or no (empty: no)", "user": "A username of an active user",
            "team": "A team's slug (or name)",
        }.get(self.kind, "Ignored on import")


COLUMNS: tuple[Column, ...] = (
    Column("ID", "id", "id", importable=False),
    Column("Title", "title", "text", "At most 200 characters.", required=True),
    Column("Summary", "summary", "text",
           f"The problem and the expected outcome; at most {SUMMARY_MAX:,} characters."),
    Column("Category", "category", "choice", "Empty: Other.", choices=tuple(Category.choices)),
    Column("Team", "team", "team", "The owning team.", required=True),
    Column("Owner", "owner", "user", "The one accountable person. Empty: you."),
    Column("Sponsor", "sponsor", "user", "The executive backing it."),
    Column("Stage", "stage", "choice", importable=False, choices=tuple(Stage.choices)),
    Column("Health", "health", "choice", "Empty: On track.", choices=tuple(Health.choices)),
    Column("Effort (engineer-weeks)", "effort_weeks", "number",
           "At least 0.5, one decimal place.", aliases=("effort",)),
    Column("Reach (people per quarter)", "reach", "number", "A whole number."),
    Column("Impact", "impact", "choice", "RICE impact: 0.25, 0.5, 1, 2 or 3.",
           choices=tuple(IMPACT_CHOICES)),
    Column("Confidence (%)", "confidence", "choice", "50, 80 or 100.",
           choices=tuple(CONFIDENCE_CHOICES)),
    Column("Business value", "business_value", "number", "1–10."),
    Column("Time criticality", "time_criticality", "number", "1–10."),
    Column("Risk reduction", "risk_reduction", "number", "1–10."),
    Column("Strategic alignment", "strategic_alignment", "number", "1–5."),
    Column("Target production date", "target_production_date", "date"),
    Column("Uses personal data", "uses_personal_data", "bool"),
    Column("Customer facing", "customer_facing", "bool"),
    Column("Autonomy level", "autonomy_level", "choice", "Empty: Assistive.",
           choices=tuple(AutonomyLevel.choices)),
    Column("Risk tier", "risk_tier", "choice", "EU AI Act tier. Empty: Minimal.",
           choices=tuple(RiskTier.choices)),
    Column("Model / vendor", "model_vendor", "text", "At most 200 characters.",
           aliases=("model", "vendor")),
    Column("Success metric", "success_metric", "text", "At most 200 characters."),
    Column("Baseline", "baseline", "text", "At most 100 characters."),
    Column("Target", "target", "text", "At most 100 characters."),
    Column("Decision date", "decision_date", "date"),
    Column("Production owner", "production_owner", "user", "Who will run it in production."),
    Column("Last activity", "last_activity_at", "datetime", importable=False),
    Column("Retirement reason", "retirement_reason", "choice", importable=False,
           choices=tuple(RetirementReason.choices)),
)
IMPORT_COLUMNS = tuple(column for column in COLUMNS if column.importable)
IGNORED_ON_IMPORT = tuple(column for column in COLUMNS if not column.importable)


def _normalise_header(text: str) -> str:
    return " ".join(text.replace("_", " ").split()).lower()


def _header_index() -> dict[str, Column]:
    index = {}
    for column in COLUMNS:
        for name in (column.header, column.field, *column.aliases):
            index[_normalise_header(name)] = column
    return index


HEADERS = _header_index()


def template_csv() -> str:
    """The header row of an importable file."""
    out = io.StringIO()
    csv.writer(out).writerow(column.header for column in IMPORT_COLUMNS)
    return "\ufeff" + out.getvalue()


# --- Export --------------------------------------------------------------------------------

def neutralise(text: str) -> str:
    """A spreadsheet must show a cell as text, never run it as a formula."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _restore(text: str) -> str:
    """Undo ``neutralise``: only an apostrophe directly before a formula character."""
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_STARTS:
        return text[1:]
    return text


def _number(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def export_cell(initiative: Initiative, column: Column) -> str:
    value = getattr(initiative, column.field)
    if column.kind == "id":
        return str(value)
    if value is None or value == "":
        return ""
    if column.kind == "text":
        return neutralise(value)
    if column.kind == "user":
        return neutralise(value.get_username())
    if column.kind == "team":
        return neutralise(value.slug)
    if column.kind == "bool":
        return "yes" if value else "no"
    if column.kind == "date":
        return value.isoformat()
    if column.kind == "datetime":
        return timezone.localtime(value).isoformat(timespec="seconds")
    if column.kind == "choice" and isinstance(value, str):
        return str(dict(column.choices).get(value, value))
    return _number(value)


class _Line:
    """A write-only buffer: ``csv.writer`` writes one line, we hand it on."""

    def write(self, text: str) -> str:
        return text


def export_rows(queryset) -> Iterator[str]:
    """CSV text in chunks: a byte-order mark and the header, then EXPORT_CHUNK rows at a time.

    ``queryset`` should come from ``selectors.initiative_export_list`` (team and
    people joined), so the whole file costs one query however many rows it has.
    """
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow(column.header for column in COLUMNS)
    chunk = []
    for initiative in queryset.iterator(chunk_size=EXPORT_CHUNK):
        chunk.append(writer.writerow(export_cell(initiative, column) for column in COLUMNS))
        if len(chunk) == EXPORT_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def export_filename(now: datetime) -> str:
    return f"initiatives-{timezone.localtime(now):%Y-%m-%d}.csv"


# --- Import: reading the file --------------------------------------------------------------

@dataclass(frozen=True)
class RowError:
    row: int | None    # as a spreadsheet numbers it: the header is row 1; None: the whole file
    column: str        # the column's header, or "" when the error is not about one column
    message: str


@dataclass
class ImportResult:
    created: list[Initiative] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class _Refused(Exception):
    def __init__(self, *errors: RowError):
        super().__init__(errors[0].message)
        self.errors = list(errors)


NOT_UTF8 = ("The file is not UTF-8 text (this is the first line that is not). "
            "Save it as \"CSV UTF-8\" and upload it again.")
NOT_TEXT = "This is not a CSV file: it contains binary data."
EMPTY = "The file is empty: it needs a header row and at least one initiative."
HEADER_FIRST = "The first row must be the header: the column names."
NO_ROWS = "The file has a header row but no initiatives."
TOO_BIG = "The file is larger than {limit} MB; split it into smaller files."
TOO_MANY_ROWS = "The file has more than {limit:,} initiatives; split it into smaller files."
BAD_CSV = "The file cannot be read as CSV: {reason}."
UNKNOWN_COLUMN = 'Unknown column "{header}". See the column reference for the columns accepted.'
DUPLICATE_COLUMN = 'The column "{header}" appears twice.'
MISSING_COLUMN = 'The required column "{header}" is missing.'
INACTIVE_ACTOR = "Only an active user can import initiatives."
EXTRA_CELLS = "This row has {cells} cells but the header has {columns} columns."


def _decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise _Refused(RowError(None, "", TOO_BIG.format(limit=MAX_BYTES // 2**20)))
    if b"\x00" in data:
        raise _Refused(RowError(None, "", NOT_TEXT))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _Refused(RowError(line, "", NOT_UTF8)) from exc


def _delimiter(text: str) -> str:
    """Spreadsheets in many locales separate with semicolons; the header tells which."""
    first = text.split("\n", 1)[0]
    return max((",", ";", "\t"), key=first.count) if first else ","


def _read(file_or_rows) -> list[list[str]]:
    """Every record as a list of cells, the header first."""
    if hasattr(file_or_rows, "read"):
        file_or_rows = file_or_rows.read(MAX_BYTES + 1)
    if isinstance(file_or_rows, bytes | bytearray):
        file_or_rows = _decode(bytes(file_or_rows))
    if isinstance(file_or_rows, str):
        if len(file_or_rows) > MAX_BYTES:
            raise _Refused(RowError(None, "", TOO_BIG.format(limit=MAX_BYTES // 2**20)))
        if "\x00" in file_or_rows:
            raise _Refused(RowError(None, "", NOT_TEXT))
        text = file_or_rows.removeprefix("\ufeff")
        records = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    else:
        records = iter(file_or_rows)
    rows = []
    try:
        for record in records:
            if len(rows) > MAX_ROWS:
                raise _Refused(RowError(None, "", TOO_MANY_ROWS.format(limit=MAX_ROWS)))
            rows.append([str(cell) for cell in record])
    except csv.Error as exc:
        raise _Refused(RowError(len(rows) + 1, "", BAD_CSV.format(reason=exc))) from exc
    if not any(cell.strip() for row in rows for cell in row):
        raise _Refused(RowError(None, "", EMPTY))
    if not any(cell.strip() for cell in rows[0]):
        raise _Refused(RowError(1, "", HEADER_FIRST))
    return rows


def _columns(header: list[str]) -> tuple[list[Column | None], list[str]]:
    """The column of each header cell (None: ignored) and the ignored headers' names."""
    columns: list[Column | None] = []
    errors, seen, ignored = [], set(), []
    for cell in header:
        name = cell.strip()
        if not name:
            columns.append(None)   # an unnamed, empty column some spreadsheets add
            continue
        column = HEADERS.get(_normalise_header(name))
        if column is None:
            errors.append(RowError(1, name, UNKNOWN_COLUMN.format(header=name)))
        elif column in seen:
            errors.append(RowError(1, column.header, DUPLICATE_COLUMN.format(header=name)))
        elif not column.importable:
            ignored.append(column.header)
        seen.add(column)
        columns.append(column if column and column.importable else None)
    errors += [RowError(1, column.header, MISSING_COLUMN.format(header=column.header))
               for column in IMPORT_COLUMNS if column.required and column not in seen]
    if errors:
        raise _Refused(*errors)
    return columns, ignored


# --- Import: one form per row --------------------------------------------------------------

class LabelChoiceField(forms.Field):
    """A choice by its value or its label, in any case ("0.5", "Low (0.5)", "low"); empty
    gives the model field's default."""

    def __init__(self, *, choices, default=None, **kwargs):
        super().__init__(required=False, **kwargs)
        self.default = default
        self.labels = ", ".join(str(label) for _, label in choices)
        self.lookup, self.numbers = {}, {}
        for value, label in choices:
            label = str(label)
            for key in (str(value), _number(value), label, label.split(" (")[0]):
                self.lookup.setdefault(key.strip().lower(), value)
            if not isinstance(value, str):
                self.numbers[float(value)] = value

    def to_python(self, value):
        text = (value or "").strip()
        if not text:
            return self.default
        key = text.lower().removesuffix("%").strip()
        found = self.lookup.get(key)
        if found is None and self.numbers:
            try:
                found = self.numbers.get(float(key))
            except ValueError:
                found = None
        if found is None:
            raise ValidationError(f'"{text}" is not one of: {self.labels}.',
                                  code="invalid_choice")
        return found


class YesNoField(forms.Field):
    YES = {"yes", "y", "true", "1", "x"}
    NO = {"no", "n", "false", "0", ""}

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def to_python(self, value):
        text = (value or "").strip().lower()
        if text in self.YES:
            return True
        if text in self.NO:
            return False
        raise ValidationError(f'Enter yes or no, not "{value.strip()}".', code="invalid")


class IsoDateField(forms.DateField):
    input_formats = ["%Y-%m-%d", "%Y-%m-%d %H:%M:%S"]
    default_error_messages = {"invalid": "Enter a date as YYYY-MM-DD, e.g. 2026-11-02."}

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)


class LookupField(forms.Field):
    """A team or a user named in the cell, found in what the import loaded up front."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.lookup: dict = {}

    def to_python(self, value):
        return (value or "").strip()


class TeamField(LookupField):
    def clean(self, value):
        name = self.to_python(value)
        if not name:
            raise ValidationError("Name the owning team (its slug).", code="required")
        team = self.lookup.get(name.lower())
        if team is None:
            raise ValidationError(f'No team is called "{name}".', code="invalid_choice")
        return team


class UserField(LookupField):
    def __init__(self, *, inactive_message: str, **kwargs):
        super().__init__(required=False, **kwargs)
        self.inactive_message = inactive_message

    def clean(self, value):
        name = self.to_python(value)
        if not name:
            return None
        user = self.lookup.get(name)
        if user is None:
            raise ValidationError(f'No user is called "{name}".', code="invalid_choice")
        if not user.is_active:
            raise ValidationError(self.inactive_message.format(name=name), code="inactive")
        return user


def _intake_field(name: str) -> forms.Field:
    """The intake form's own field, so a cell is held to the same rules as the form."""
    return copy.deepcopy(InitiativeForm.base_fields[name])


def _row_field(column: Column) -> forms.Field:
    field = _cell_field(column)
    field.label = column.header
    return field


def _cell_field(column: Column) -> forms.Field:
    if column.kind == "choice":
        default = Initiative._meta.get_field(column.field).default  # NOT_PROVIDED: None
        return LabelChoiceField(choices=column.choices,
                                default=default if isinstance(default, str) else None)
    if column.kind == "bool":
        return YesNoField()
    if column.kind == "date":
        return IsoDateField()
    if column.kind == "team":
        return TeamField()
    if column.kind == "user":
        message = (OWNER_INACTIVE + ' "{name}" is deactivated.' if column.field == "owner"
                   else '"{name}" is deactivated; name an active user.')
        return UserField(inactive_message=message)
    return _intake_field(column.field)


class InitiativeRowForm(forms.Form):
    """One CSV row, held to the intake form's rules.

    Its fields come from ``row_fields``, built once per file with the teams and
    users the file names already loaded: the forms of a 10,000-row file share
    them rather than deep-copying 26 fields per row. No field keeps state
    between rows.
    """

    def __init__(self, data, *, fields: dict[str, forms.Field]):
        super().__init__(data)
        self.fields = fields


def row_fields(*, teams: dict, users: dict) -> dict[str, forms.Field]:
    fields = {column.field: _row_field(column) for column in IMPORT_COLUMNS}
    fields["team"].lookup = teams
    for name in ("owner", "sponsor", "production_owner"):
        fields[name].lookup = users
    return fields


def _load_teams() -> dict:
    """Every team by slug, then by name (teams are few: one query, all of them)."""
    teams = list(Team.objects.only("id", "slug", "name"))
    by_name = {team.name.lower(): team for team in teams}
    return by_name | {team.slug.lower(): team for team in teams}  # a slug wins over a name


def _load_users(names: set[str]) -> dict:
    users, names = {}, sorted(names)
    for start in range(0, len(names), LOOKUP_CHUNK):
        for user in get_user_model().objects.filter(
                username__in=names[start:start + LOOKUP_CHUNK]).only("id", "username",
                                                                       "is_active"):
            users[user.get_username()] = user
    return users


def _error(row: int, name: str, message: str) -> RowError:
    column = next((c.header for c in IMPORT_COLUMNS if c.field == name), "")
    return RowError(row, column, message)


def _validate(rows: list[list[str]], columns: list[Column | None], *, actor,
              now: datetime) -> tuple[list[Initiative], list[RowError]]:
    width = len(columns)
    records = []   # (spreadsheet row number, {field: cell} or None, cells when too many)
    for number, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue   # blank lines, or the empty rows spreadsheets leave at the end
        if len(cells) > width and any(cell.strip() for cell in cells[width:]):
            records.append((number, None, len(cells)))
            continue
        data = {column.field: _restore(cell) for column, cell in zip(columns, cells, strict=False)
                if column is not None}
        records.append((number, data, 0))
    if not records:
        raise _Refused(RowError(None, "", NO_ROWS))

    teams = _load_teams()
    users = _load_users({data[name].strip() for _, data, _ in records if data
                         for name in ("owner", "sponsor", "production_owner")
                         if data.get(name, "").strip()})

    fields = row_fields(teams=teams, users=users)
    initiatives, errors = [], []
    for number, data, cells in records:
        if data is None:
            errors.append(RowError(number, "", EXTRA_CELLS.format(cells=cells, columns=width)))
            continue
        form = InitiativeRowForm(data, fields=fields)
        if not form.is_valid():
            errors += [_error(number, name, message)
                       for name, messages in form.errors.items() for message in messages]
            continue
        values = form.cleaned_data
        initiative = Initiative(
            **values | {"owner": values["owner"] or actor},
            stage=Stage.IDEA, version=1, created_by=actor, created_at=now, updated_at=now,
            stage_changed_at=now, last_activity_at=now,
        )
        initiatives.append(initiative)
    return initiatives, errors


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=f"UTF-8 CSV, up to {MAX_ROWS:,} initiatives and {MAX_BYTES // 2**20} MB.",
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
    )


# --- Import: the service -------------------------------------------------------------------

def initiatives_import(*, file_or_rows, actor, now: datetime) -> ImportResult:
    """Create one idea per row, or nothing at all.

    ``file_or_rows`` is the file's bytes or text, a file object, or an iterable
    of rows (the header first). Every row is validated before anything is
    written; with any error the result carries every error (row as a
    spreadsheet numbers it, column, message) and the database is unchanged.
    The actor owns each row that names no owner.
    """
    if not actor.is_active:
        return ImportResult(errors=[RowError(None, "", INACTIVE_ACTOR)])
    try:
        rows = _read(file_or_rows)
        columns, ignored = _columns(rows[0])
        initiatives, errors = _validate(rows, columns, actor=actor, now=now)
    except _Refused as refused:
        return ImportResult(errors=refused.errors)
    if errors:
        return ImportResult(errors=errors, ignored_columns=ignored)
    with transaction.atomic():
        created = _create(initiatives, actor=actor, now=now)
    return ImportResult(created=created, ignored_columns=ignored)


def _create(initiatives: list[Initiative], *, actor, now: datetime) -> list[Initiative]:
    created = bulk_create_with_history(initiatives, Initiative, batch_size=BATCH_SIZE,
                                       default_user=actor, default_date=now,
                                       default_change_reason="Imported from CSV")
    bulk_create_with_history(
        [Stakeholder(initiative=initiative, user_id=initiative.owner_id,
                     role=Stakeholder.Role.ACCOUNTABLE) for initiative in created],
        Stakeholder, batch_size=BATCH_SIZE, default_user=actor, default_date=now,
        default_change_reason="Imported from CSV",
    )
    Activity.objects.bulk_create(
        [Activity(initiative=initiative, kind=Activity.Kind.CREATED, actor=actor, at=now,
                  details={"source": "csv"}) for initiative in created],
        batch_size=BATCH_SIZE,
    )
    similarity.index_initiatives(created)
    return created
