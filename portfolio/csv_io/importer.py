"""CSV import: read, validate every row, then create all of them or none."""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from portfolio.access import NOT_AN_OWNER, eligible_owners
from portfolio.csv_io.columns import (
    HEADERS,
    IMPORT_COLUMNS,
    LOOKUP_CHUNK,
    MAX_BYTES,
    MAX_ROWS,
    Column,
    cell_number,
    normalise_header,
    restore_formula_text,
)
from portfolio.forms import InitiativeForm
from portfolio.models import Initiative, Team
from portfolio.outcomes.contract import contract_errors
from portfolio.services import OWNER_INACTIVE, initiatives_create
from portfolio.similarity import Tiered, similar_initiatives_batch


@dataclass(frozen=True)
class RowError:
    row: int | None    # as a spreadsheet numbers it: the header is row 1; None: the whole file
    column: str        # the column's header, or "" when the error is not about one column
    message: str


IMPORT_ANYWAY = "import"
DROP = "drop"


@dataclass(frozen=True)
class DuplicateMatch(Tiered):
    """What a row looks like: an initiative in the portfolio, or an earlier row of the file."""

    reason: str                            # the "Why" sentence intake shows
    score: float
    initiative: Initiative | None = None   # with team and owner loaded
    row: int | None = None                 # or the earlier row's number
    row_title: str = ""


@dataclass(frozen=True)
class SuspectedDuplicate:
    row: int                      # as a spreadsheet numbers it
    title: str
    matches: list[DuplicateMatch]
    decision: str = ""            # IMPORT_ANYWAY, DROP, or "" while undecided


@dataclass
class ImportResult:
    created: list[Initiative] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    # Rows that look like an initiative or an earlier row, with the importer's decisions.
    duplicates: list[SuspectedDuplicate] = field(default_factory=list)
    fingerprint: str = ""         # identifies the rows checked; decisions are made on it
    file_changed: bool = False    # decisions came for other rows than these: not applied

    @property
    def undecided(self) -> list[SuspectedDuplicate]:
        return [suspect for suspect in self.duplicates if not suspect.decision]

    @property
    def dropped(self) -> list[SuspectedDuplicate]:
        return [suspect for suspect in self.duplicates if suspect.decision == DROP]

    @property
    def ok(self) -> bool:
        """Imported: no errors, and a decision on every suspected duplicate."""
        return not self.errors and not self.undecided


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
ACTOR_CANNOT_OWN = ("Rows that name no owner are owned by the importing user, and {name} cannot "
                    "own an initiative (an owner is an active product manager): name an "
                    "owner in each of them.")
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
        column = HEADERS.get(normalise_header(name))
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
    gives ``default`` (the column's ``empty``, or the model field's default)."""

    def __init__(self, *, choices, default=None, **kwargs):
        super().__init__(required=False, **kwargs)
        self.default = default
        self.labels = ", ".join(str(label) for _, label in choices)
        self.lookup, self.numbers = {}, {}
        for value, label in choices:
            label = str(label)
            for key in (str(value), cell_number(value), label, label.split(" (")[0]):
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
        default = column.empty
        if default is None:
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


def _error(row: int | None, name: str, message: str) -> RowError:
    column = next((c.header for c in IMPORT_COLUMNS if c.field == name), "")
    return RowError(row, column, message)


def _validate(rows: list[list[str]], columns: list[Column | None], *, actor
              ) -> tuple[list[tuple[int, dict]], list[RowError]]:
    """Each valid row's number and fields (``initiatives_create``'s rows), and every row's
    errors."""
    width = len(columns)
    records = []   # (spreadsheet row number, {field: cell} or None, cells when too many)
    for number, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue   # blank lines, or the empty rows spreadsheets leave at the end
        if len(cells) > width and any(cell.strip() for cell in cells[width:]):
            records.append((number, None, len(cells)))
            continue
        data = {column.field: restore_formula_text(cell)
                for column, cell in zip(columns, cells, strict=False) if column is not None}
        records.append((number, data, 0))
    if not records:
        raise _Refused(RowError(None, "", NO_ROWS))

    teams = _load_teams()
    users = _load_users({data[name].strip() for _, data, _ in records if data
                         for name in ("owner", "sponsor", "production_owner")
                         if data.get(name, "").strip()})

    fields = row_fields(teams=teams, users=users)
    # The owner rule (active PMs), asked once for every user the file names and the actor.
    can_own = set(eligible_owners().filter(pk__in=[actor.pk, *(u.pk for u in users.values())])
                  .values_list("pk", flat=True))
    valid, errors, unowned = [], [], False
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
        # The exit contract as the intake form holds it: a contradiction is this row's error
        # on its column, like any other cell.
        contradictions = contract_errors(values)
        if contradictions:
            errors += [_error(number, name, message) for name, message in contradictions.items()]
            continue
        owner = values["owner"]
        if owner is not None and owner.is_active and owner.pk not in can_own:
            errors.append(_error(number, "owner", NOT_AN_OWNER.format(name=owner.get_username())))
            continue
        unowned = unowned or owner is None
        valid.append((number, values))   # no owner: the actor, as at intake
    if unowned and actor.pk not in can_own:
        errors.insert(0, _error(None, "owner", ACTOR_CANNOT_OWN.format(
            name=actor.get_username())))
    return valid, errors


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=f"UTF-8 CSV, up to {MAX_ROWS:,} initiatives and {MAX_BYTES // 2**20} MB.",
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
    )


# --- Import: the service -------------------------------------------------------------------

def fingerprint_of(rows: list[list[str]]) -> str:
    """Identifies the file's content, so decisions made on one file never apply to another."""
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()


def decisions_from(data: Mapping[str, str]) -> tuple[dict[int, str], str]:
    """The importer's choices as posted: ``row-<number>`` = ``import`` or ``drop`` for one
    row, ``decide_all`` for every suspect; anything else is no choice."""
    decisions = {}
    for key, value in data.items():
        number = key.removeprefix("row-")
        if number != key and number.isdigit() and value in (IMPORT_ANYWAY, DROP):
            decisions[int(number)] = value
    every = data.get("decide_all", "")
    return decisions, every if every in (IMPORT_ANYWAY, DROP) else ""


def _suspects(valid: list[tuple[int, dict]]) -> list[SuspectedDuplicate]:
    """Each row that looks like an initiative or an earlier row: the intake's check, in bulk."""
    found = similar_initiatives_batch([(values["title"], values.get("summary") or "")
                                       for _, values in valid])
    suspects = []
    for (number, values), matches in zip(valid, found, strict=True):
        if matches:
            suspects.append(SuspectedDuplicate(row=number, title=values["title"], matches=[
                DuplicateMatch(reason=match.reason, score=match.score,
                               initiative=match.initiative,
                               row=None if match.earlier is None else valid[match.earlier][0],
                               row_title="" if match.earlier is None
                               else valid[match.earlier][1]["title"])
                for match in matches]))
    return suspects


def initiatives_import(*, file_or_rows, actor, now: datetime,
                       decisions: Mapping[int, str] | None = None, reviewed: str | None = None,
                       decide_all: str = "") -> ImportResult:
    """Create one idea per row, or nothing at all.

    ``file_or_rows`` is the file's bytes or text, a file object, or an iterable
    of rows (the header first). Every row is validated before anything is
    written; with any error the result carries every error (row as a
    spreadsheet numbers it, column, message) and the database is unchanged.
    The actor owns each row that names no owner (so must be one who may own).

    Then every row goes through intake's duplicate check, against the portfolio and
    against the file's earlier rows. A row that looks like one of them (a *suspected
    duplicate*) needs the importer's decision: ``decisions`` maps its row number to
    ``IMPORT_ANYWAY`` or ``DROP``; ``decide_all`` decides every suspect at once. When
    ``reviewed`` is given (the page: the fingerprint of the file the importer looked
    at), decisions count only if it is this file's ``fingerprint``; None (the command's
    flag) decides without a review. While any suspect is undecided nothing is written
    and the result lists them; once all are decided, the dropped rows are left out and
    the rest are created.
    """
    if not actor.is_active:
        return ImportResult(errors=[RowError(None, "", INACTIVE_ACTOR)])
    try:
        rows = _read(file_or_rows)
        columns, ignored = _columns(rows[0])
        valid, errors = _validate(rows, columns, actor=actor)
    except _Refused as refused:
        return ImportResult(errors=refused.errors)
    if errors:
        return ImportResult(errors=errors, ignored_columns=ignored)
    fingerprint = fingerprint_of(rows)
    if decide_all not in ("", IMPORT_ANYWAY, DROP):
        raise ValueError(f"decide_all: {decide_all!r}")
    file_changed = (reviewed is not None and bool(decisions or decide_all)
                    and reviewed != fingerprint)
    chosen = {} if file_changed else dict(decisions or {})
    every = "" if file_changed else decide_all
    suspects = [replace(suspect, decision=every or chosen.get(suspect.row, ""))
                for suspect in _suspects(valid)]
    result = ImportResult(ignored_columns=ignored, duplicates=suspects,
                          fingerprint=fingerprint, file_changed=file_changed)
    if result.undecided:
        return result
    dropped = {suspect.row for suspect in result.dropped}
    # The same creation as intake's, all rows or none.
    result.created = initiatives_create(rows=[values for number, values in valid
                                              if number not in dropped],
                                        actor=actor, now=now, source="csv")
    return result
