"""A backup restores into a fresh database and holds the same portfolio.

PostgreSQL: ``manage.py backup`` (pg_dump, custom format) of a seeded database, restored
with ``pg_restore`` into a database created (and dropped) by the test. SQLite: a database
migrated and seeded by the real commands, backed up online, and the copy reopened. Both
compare what a user would: initiatives with their owners, teams and stages, the stage
histories, the RACI roles and the people.
"""

import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from conftest import require, require_postgresql
from portfolio import services
from tests.factories import FIXED_NOW, TeamFactory, UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]

# What a user would call "the same portfolio", as rows; the same queries read the live
# database and the restored one.
PORTFOLIO_QUERIES = {
    "initiatives": """
        SELECT i.title, i.stage, i.health, o.username, t.slug, i.version
        FROM portfolio_initiative i JOIN auth_user o ON o.id = i.owner_id
        JOIN portfolio_team t ON t.id = i.team_id ORDER BY i.title""",
    "stage histories": """
        SELECT i.title, s.from_stage, s.to_stage, a.username, s.note
        FROM portfolio_stagetransition s JOIN portfolio_initiative i ON i.id = s.initiative_id
        JOIN auth_user a ON a.id = s.actor_id ORDER BY i.title, s.at, s.id""",
    "roles": """
        SELECT i.title, u.username, s.role FROM portfolio_stakeholder s
        JOIN portfolio_initiative i ON i.id = s.initiative_id
        JOIN auth_user u ON u.id = s.user_id ORDER BY 1, 2, 3""",
    "people": "SELECT username, is_active, password FROM auth_user ORDER BY username",
    "activity": "SELECT COUNT(*) FROM portfolio_activity",
}


def portfolio_in(cursor) -> dict:
    result = {}
    for name, sql in PORTFOLIO_QUERIES.items():
        cursor.execute(sql)
        result[name] = [tuple(row) for row in cursor.fetchall()]
    return result


def seed_portfolio():
    """Three initiatives, one with a stage history and a Responsible colleague."""
    pm = UserFactory(username="olive", roles=["pm"])
    colleague = UserFactory(username="raj", roles=["pm"])
    team = TeamFactory(name="Claims", slug="claims")
    for title in ("Claims triage copilot", "Fraud signals", "Underwriting summaries"):
        services.initiative_create(actor=pm, now=FIXED_NOW, title=title, team=team)
    moved = services.initiative_create(actor=pm, now=FIXED_NOW, title="Broker email agent",
                                       team=team)
    services.stakeholder_add(initiative=moved, user=colleague, role="R", actor=pm,
                             now=FIXED_NOW)
    moved.transitions.create(from_stage="idea", to_stage="assessment", actor=pm,
                             at=FIXED_NOW + timedelta(days=1), note="Sized.")
    moved.transitions.create(from_stage="assessment", to_stage="idea", actor=colleague,
                             at=FIXED_NOW + timedelta(days=2), note="Back: no data yet.")


def pg_environment() -> dict:
    database = connection.settings_dict
    env = {**os.environ}
    for variable, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER"),
                          ("PGPASSWORD", "PASSWORD")):
        if database.get(key):
            env[variable] = str(database[key])
    return env


def test_a_postgresql_backup_restores_into_a_fresh_database_with_the_same_portfolio(tmp_path):
    require_postgresql("needs PostgreSQL (set DATABASE_URL)")
    require(bool(shutil.which("pg_dump") and shutil.which("pg_restore")),
            "pg_dump/pg_restore not found (Debian: postgresql-client)")
    seed_portfolio()
    dump = tmp_path / "portfolio.dump"

    call_command("backup", output=dump)

    restored = f"restored_{uuid.uuid4().hex[:12]}"
    params = {key: value for key, value in connection.get_connection_params().items()
              if key in ("host", "port", "user", "password")}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(f'CREATE DATABASE "{restored}"')
    try:
        done = subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", restored, str(dump)],
            env=pg_environment(), capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        with psycopg.connect(dbname=restored, **params) as copy, connection.cursor() as live:
            expected, found = portfolio_in(live), portfolio_in(copy.cursor())
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')

    assert found == expected
    assert [row[0] for row in found["initiatives"]] == [
        "Broker email agent", "Claims triage copilot", "Fraud signals",
        "Underwriting summaries"]
    assert {row[3] for row in found["initiatives"]} == {"olive"}
    assert found["stage histories"] == [
        ("Broker email agent", "idea", "assessment", "olive", "Sized."),
        ("Broker email agent", "assessment", "idea", "raj", "Back: no data yet.")]


SQLITE_SEED = """
from portfolio import services
from portfolio.models import Team
from django.contrib.auth.models import Group, User
from datetime import UTC, datetime, timedelta
now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
pm = User.objects.create_user("olive", password="correct-horse-battery")
pm.groups.add(Group.objects.get(name="pm"))
raj = User.objects.create_user("raj", password="correct-horse-battery")
raj.groups.add(Group.objects.get(name="pm"))
team = Team.objects.create(name="Claims", slug="claims")
for title in ("Claims triage copilot", "Fraud signals"):
    services.initiative_create(actor=pm, now=now, title=title, team=team)
moved = services.initiative_create(actor=pm, now=now, title="Broker email agent", team=team)
services.stakeholder_add(initiative=moved, user=raj, role="R", actor=pm, now=now)
moved.transitions.create(from_stage="idea", to_stage="assessment", actor=pm,
                         at=now + timedelta(days=1), note="Sized.")
"""


def test_an_sqlite_backup_taken_while_running_reopens_with_the_same_portfolio(tmp_path):
    live_path, copy_path = tmp_path / "db.sqlite3", tmp_path / "backups" / "copy.sqlite3"
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "REDIS_URL", "EMAIL_URL")}
    env.update({"DATABASE_URL": f"sqlite:///{live_path}", "VAR_DIR": str(tmp_path),
                "DEBUG": "true", "EMAIL_URL": "memory://"})

    def manage(*args):
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=False, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    manage("migrate", "--no-input")
    # While the application runs it keeps a connection open, so recent commits sit in the
    # write-ahead log, not yet in the main file: the copy must include them.
    with sqlite3.connect(live_path) as running:
        running.execute("SELECT 1 FROM portfolio_initiative").fetchall()
        manage("shell", "-c", SQLITE_SEED)
        assert Path(f"{live_path}-wal").stat().st_size > 0
        said = manage("backup", "--output", str(copy_path))
        expected = portfolio_in(running.cursor())
        shutil.copy(live_path, tmp_path / "plain-cp.sqlite3")

    assert f"Backed up the database to {copy_path}" in said
    assert not copy_path.with_name("copy.sqlite3.partial").exists()
    with sqlite3.connect(copy_path) as copy:
        found = portfolio_in(copy.cursor())
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert found == expected
    assert [row[0] for row in found["initiatives"]] == [
        "Broker email agent", "Claims triage copilot", "Fraud signals"]
    assert found["stage histories"] == [
        ("Broker email agent", "idea", "assessment", "olive", "Sized.")]
    assert ("Broker email agent", "raj", "R") in found["roles"]
    # Copying the main file alone (cp var/db.sqlite3) would have lost the recent commits.
    with sqlite3.connect(tmp_path / "plain-cp.sqlite3") as plain:
        assert plain.execute("SELECT COUNT(*) FROM portfolio_initiative").fetchone() == (0,)
