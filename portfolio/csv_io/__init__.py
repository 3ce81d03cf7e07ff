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
    EMPTY,
    HEADER_FIRST,
    INACTIVE_ACTOR,
    NO_ROWS,
    NOT_TEXT,
    NOT_UTF8,
    TOO_BIG,
    UNKNOWN_COLUMN,
    ImportResult,
    RowError,
    UploadForm,
    initiatives_import,
)

__all__ = [
    "COLUMNS", "EMPTY", "HEADER_FIRST", "IGNORED_ON_IMPORT", "IMPORT_COLUMNS", "INACTIVE_ACTOR",
    "MAX_BYTES", "MAX_ROWS", "NO_ROWS", "NOT_TEXT", "NOT_UTF8", "TOO_BIG", "UNKNOWN_COLUMN",
    "ImportResult", "RowError", "UploadForm", "export_filename", "export_rows",
    "initiatives_import", "template_csv",
]
