"""A consistent copy of the database while the application runs.

PostgreSQL: ``pg_dump --format=custom`` (restore it with ``pg_restore``), run with the
connection settings in the environment rather than on the command line, so the password
never shows in a process list. SQLite: SQLite's online backup, which copies a consistent
snapshot while the web server and the worker keep writing; copying the file (and its
write-ahead log) with ``cp`` meanwhile can capture half a transaction.

The copy is written beside its destination and renamed into place only when complete, so
a failed backup never leaves a truncated file under the name of a good one.
"""

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

PG_DUMP_MISSING = ("pg_dump was not found: install PostgreSQL's client tools (Debian: "
                   "postgresql-client, of the server's major version or newer), or run "
                   "pg_dump in the database's own container (see README, Backup and restore).")
PG_DUMP_FAILED = "pg_dump failed (exit {code}): {error}"
SQLITE_COPY_DAMAGED = "The SQLite copy failed its integrity check: {result}"
ENGINE_UNSUPPORTED = "No backup for the database engine {engine}."


class BackupError(Exception):
    """The backup could not be made; nothing was written under the output's name."""


def default_suffix(database: dict) -> str:
    return ".sqlite3" if database["ENGINE"].endswith("sqlite3") else ".dump"


def database_backup(*, database: dict, output: Path) -> Path:
    """Write a backup of ``database`` (a ``DATABASES`` entry) to ``output``."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    engine = database["ENGINE"]
    try:
        if engine.endswith("sqlite3"):
            _sqlite_backup(source=database["NAME"], target=partial)
        elif engine.endswith("postgresql"):
            _pg_dump(database=database, target=partial)
        else:
            raise BackupError(ENGINE_UNSUPPORTED.format(engine=engine))
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    return output


def _sqlite_backup(*, source, target: Path) -> None:
    target.unlink(missing_ok=True)
    # Read-only: the backup never creates or changes the live database.
    with (sqlite3.connect(f"{Path(source).resolve().as_uri()}?mode=ro", uri=True) as live,
          sqlite3.connect(target) as copy):
        live.backup(copy)
        result = copy.execute("PRAGMA integrity_check").fetchone()[0]
    live.close()
    copy.close()
    if result != "ok":
        raise BackupError(SQLITE_COPY_DAMAGED.format(result=result))


def _pg_dump(*, database: dict, target: Path) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError(PG_DUMP_MISSING)
    env = {**os.environ}
    for variable, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER"),
                          ("PGPASSWORD", "PASSWORD")):
        if database.get(key):
            env[variable] = str(database[key])
    if database.get("OPTIONS", {}).get("sslmode"):
        env["PGSSLMODE"] = database["OPTIONS"]["sslmode"]
    done = subprocess.run(
        [pg_dump, "--format=custom", "--no-owner", "--file", str(target), database["NAME"]],
        env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(PG_DUMP_FAILED.format(code=done.returncode,
                                                error=done.stderr.strip()))
