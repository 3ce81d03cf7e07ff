"""The CSV column spec and the export: one ``COLUMNS`` list drives export, import,
the import page's column reference and the downloadable template."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from portfolio.models import (
    CONFIDENCE_CHOICES,
    IMPACT_CHOICES,
    NOT_SURE,
    NOT_SURE_LABEL,
    AutonomyLevel,
    Category,
    Health,
    Initiative,
    MetricDirection,
    RetirementReason,
    RiskTier,
    Stage,
    text_limit,
)
from portfolio.models.core import ASSUMED_AUTONOMY, ASSUMED_RISK_TIER

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
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
    empty: str | None = None    # what an empty cell imports as; None: the model's default

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
    Column("Title", "title", "text",
           f"At most {text_limit(Initiative, 'title'):,} characters.", required=True),
    Column("Summary", "summary", "text", "The problem and the expected outcome; at most "
           f"{text_limit(Initiative, 'summary'):,} characters."),
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
    # The AI profile is an explicit choice, as at intake: an empty cell is "not sure", which
    # the creation service turns into the cautious assumption, flagged for the review.
    Column("Autonomy level", "autonomy_level", "choice",
           f"Empty or Not sure: treated as {ASSUMED_AUTONOMY.label} until the risk "
           "classification review confirms it.",
           choices=(*AutonomyLevel.choices, (NOT_SURE, NOT_SURE_LABEL)), empty=NOT_SURE),
    Column("Risk tier", "risk_tier", "choice",
           f"EU AI Act tier. Empty or Not sure: treated as {ASSUMED_RISK_TIER.label} until "
           "the risk classification review confirms it.",
           choices=(*RiskTier.choices, (NOT_SURE, NOT_SURE_LABEL)), empty=NOT_SURE),
    Column("Model / vendor", "model_vendor", "text", "At most 200 characters.",
           aliases=("model", "vendor")),
    Column("Success metric", "success_metric", "text", "At most 200 characters."),
    Column("Metric unit", "metric_unit", "text", "How it is counted: %, minutes… At most "
           "24 characters.", aliases=("unit",)),
    Column("Direction", "metric_direction", "choice", "Which way the metric should move.",
           choices=tuple(MetricDirection.choices), empty=""),
    Column("Baseline", "baseline_value", "number", "The metric before the pilot."),
    Column("Target", "target_value", "number", "What the pilot must reach: above the "
           "baseline when higher is better, below it when lower is."),
    Column("Window from", "window_start", "date", "The measurement window's first day.",
           aliases=("measurement window from",)),
    Column("Window until", "window_end", "date", "The measurement window's last day.",
           aliases=("measurement window until",)),
    Column("Decision date", "decision_date", "date"),
    Column("Production owner", "production_owner", "user", "Who will run it in production."),
    # Money in the site's currency, named in the header (the header without it imports too).
    Column(f"Predicted annual value ({settings.VALUE_CURRENCY})", "predicted_annual_value",
           "number", f"Savings or revenue a year, in {settings.VALUE_CURRENCY}: zero or more, "
           "at most two decimals.", aliases=("predicted annual value", "predicted value")),
    Column(f"Predicted annual run cost ({settings.VALUE_CURRENCY})",
           "predicted_annual_run_cost", "number",
           f"Tokens, licences and people a year, in {settings.VALUE_CURRENCY}: zero or more, "
           "at most two decimals.", aliases=("predicted annual run cost", "predicted run cost")),
    Column("Last activity", "last_activity_at", "datetime", importable=False),
    Column("Retirement reason", "retirement_reason", "choice", importable=False,
           choices=tuple(RetirementReason.choices)),
)
IMPORT_COLUMNS = tuple(column for column in COLUMNS if column.importable)
IGNORED_ON_IMPORT = tuple(column for column in COLUMNS if not column.importable)


def normalise_header(text: str) -> str:
    return " ".join(text.replace("_", " ").split()).lower()


def _header_index() -> dict[str, Column]:
    index = {}
    for column in COLUMNS:
        for name in (column.header, column.field, *column.aliases):
            index[normalise_header(name)] = column
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


def restore_formula_text(text: str) -> str:
    """Undo ``neutralise``: only an apostrophe directly before a formula character."""
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_STARTS:
        return text[1:]
    return text


def cell_number(value) -> str:
    """A number as a spreadsheet reads it back: plain digits, never scientific notation,
    no trailing zeros (a decimal 12.5000 is "12.5", 1E+3 is "1000")."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def export_cell(initiative: Initiative, column: Column) -> str:
    if column.empty == NOT_SURE:   # the AI profile as its owner gave it: it imports back so
        value = initiative.profile_as_entered()[column.field]
    else:
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
    return cell_number(value)


class _Line:
    """A write-only buffer: ``csv.writer`` writes one line, we hand it on."""

    def write(self, text: str) -> str:
        return text


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[str]]) -> Iterator[str]:
    """Streamed CSV text: a byte-order mark (so Excel reads UTF-8) and the header, then
    the rows, ``EXPORT_CHUNK`` at a time. Cells are written as given: neutralise text first."""
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow(header)
    chunk = []
    for row in rows:
        chunk.append(writer.writerow(row))
        if len(chunk) == EXPORT_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def export_rows(queryset) -> Iterator[str]:
    """The initiative export as streamed CSV text.

    ``queryset`` should come from ``selectors.initiative_export_list`` (team and
    people joined), so the whole file costs one query however many rows it has.
    """
    return csv_lines((column.header for column in COLUMNS),
                     ([export_cell(initiative, column) for column in COLUMNS]
                      for initiative in queryset.iterator(chunk_size=EXPORT_CHUNK)))


def export_filename(now: datetime) -> str:
    return f"initiatives-{timezone.localtime(now):%Y-%m-%d}.csv"


# --- Import: reading the file --------------------------------------------------------------
