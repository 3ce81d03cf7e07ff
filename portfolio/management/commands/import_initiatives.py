"""Import initiatives from a CSV file: every row, or none.

    manage.py import_initiatives initiatives.csv --as USERNAME [--duplicates import|drop]

Rows are checked exactly as the import page checks them (``portfolio.csv_io``);
each imported initiative starts as an idea, owned by its Owner column's user
or by the acting user. With any bad row, every problem is printed as
``row N, Column: message`` and the command exits with status 1, having
written nothing. Rows that look like an existing initiative or an earlier row
are printed with the reason, and nothing is written unless ``--duplicates``
says what to do with all of them.
"""

import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from portfolio import csv_io


class Command(BaseCommand):
    help = "Import initiatives from a CSV file (all rows or none); they start as ideas."

    def add_arguments(self, parser):
        parser.add_argument("path", help="The CSV file (UTF-8); '-' reads standard input.")
        parser.add_argument("--as", dest="username", required=True, metavar="USERNAME",
                            help="The acting user: recorded as creator, and the owner of "
                                 "rows that name none.")
        parser.add_argument("--duplicates", choices=[csv_io.IMPORT_ANYWAY, csv_io.DROP],
                            default="", help="What to do with rows that look like an existing "
                            "initiative or an earlier row: import them anyway or drop them. "
                            "Without it, such rows are listed and nothing is imported.")

    def handle(self, *args, path, username, duplicates="", **options):
        try:
            actor = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f'No user is called "{username}".') from exc
        try:
            if path == "-":
                data = sys.stdin.buffer.read(csv_io.MAX_BYTES + 1)
            else:
                with open(path, "rb") as file:
                    data = file.read(csv_io.MAX_BYTES + 1)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
        result = csv_io.initiatives_import(file_or_rows=data, actor=actor, now=timezone.now(),
                                           decide_all=duplicates)
        if result.undecided and not result.errors:
            for suspect in result.undecided:
                for match in suspect.matches:
                    like = (f'initiative {match.initiative.pk} "{match.initiative.title}"'
                            if match.initiative else f'row {match.row} "{match.row_title}"')
                    self.stderr.write(f'row {suspect.row} "{suspect.title}" looks like {like}. '
                                      f"Why: {match.reason}")
            raise CommandError(f"Nothing was imported: {len(result.undecided)} possible "
                               "duplicate(s). Run again with --duplicates import or "
                               "--duplicates drop.", returncode=1)
        if not result.ok:
            for error in result.errors:
                where = "file" if error.row is None else f"row {error.row}"
                if error.column:
                    where += f", {error.column}"
                self.stderr.write(f"{where}: {error.message}")
            raise CommandError(f"Nothing was imported: {len(result.errors)} problem(s).",
                               returncode=1)
        if result.ignored_columns:
            self.stdout.write(f"Ignored the column(s) {', '.join(result.ignored_columns)}: "
                              "imported initiatives start as ideas.")
        if result.dropped:
            self.stdout.write(f"Dropped {len(result.dropped)} possible duplicate row(s): "
                              + ", ".join(str(suspect.row) for suspect in result.dropped) + ".")
        self.stdout.write(self.style.SUCCESS(f"Imported {len(result.created)} initiatives."))
