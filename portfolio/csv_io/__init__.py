"""CSV import and export of initiatives.

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

The AI profile is an explicit choice here too: an empty Risk tier or Autonomy level
cell means "not sure", as that answer does at intake — the creation service stores the
cautious assumption, flagged for the risk classification review. The export writes
"Not sure" where the owner was, so that survives a round trip.

Valid rows then go through intake's duplicate check (``portfolio.similarity``, in its
batch form), against the portfolio and against the file's earlier rows. Nothing is
saved until the importer has decided, for each suspected duplicate, to import it anyway
or to drop it; the decisions name the file they were made on (its fingerprint), so they
never apply to a changed file.
"""

from portfolio.csv_io.columns import (
    COLUMNS,
    IGNORED_ON_IMPORT,
    IMPORT_COLUMNS,
    MAX_BYTES,
    MAX_ROWS,
    export_filename,
    export_rows,
    template_csv,
)
from portfolio.csv_io.importer import (
    DROP,
    EMPTY,
    HEADER_FIRST,
    IMPORT_ANYWAY,
    INACTIVE_ACTOR,
    NO_ROWS,
    NOT_TEXT,
    NOT_UTF8,
    TOO_BIG,
    UNKNOWN_COLUMN,
    DuplicateMatch,
    ImportResult,
    RowError,
    SuspectedDuplicate,
    UploadForm,
    decisions_from,
    initiatives_import,
)

__all__ = [
    "COLUMNS", "DROP", "EMPTY", "HEADER_FIRST", "IGNORED_ON_IMPORT", "IMPORT_ANYWAY",
    "IMPORT_COLUMNS", "INACTIVE_ACTOR", "MAX_BYTES", "MAX_ROWS", "NO_ROWS", "NOT_TEXT",
    "NOT_UTF8", "TOO_BIG", "UNKNOWN_COLUMN", "DuplicateMatch", "ImportResult", "RowError",
    "SuspectedDuplicate", "UploadForm", "decisions_from", "export_filename", "export_rows",
    "initiatives_import", "template_csv",
]
