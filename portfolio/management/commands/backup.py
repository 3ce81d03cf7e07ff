"""`manage.py backup`: a consistent copy of the database while everything runs.

PostgreSQL: a ``pg_dump`` custom-format archive (restore with ``pg_restore``); SQLite:
SQLite's online backup. See README, Backup and restore, for what else holds state and the
order of a restore.
"""

from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from portfolio.backup import BackupError, database_backup, default_suffix


class Command(BaseCommand):
    help = "Back up the database (pg_dump for PostgreSQL, an online copy for SQLite)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", type=Path,
            help="Where to write it (default: VAR_DIR/backups/db-<date>-<time>.dump for "
                 "PostgreSQL, .sqlite3 for SQLite).")

    def handle(self, *args, **options):
        database = connection.settings_dict
        output = options["output"] or (
            Path(settings.VAR_DIR) / "backups"
            / f"db-{datetime.now():%Y%m%d-%H%M%S}{default_suffix(database)}")
        try:
            written = database_backup(database=database, output=output)
        except BackupError as error:
            raise CommandError(str(error)) from None
        size = written.stat().st_size
        self.stdout.write(f"Backed up the database to {written} ({size:,} bytes).")
