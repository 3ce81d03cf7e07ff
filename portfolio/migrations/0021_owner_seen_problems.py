"""Each initiative's ownership problems, stored beside when its owner was last seen
(issue 22): ``OwnerSeen.owner_left``, ``unstaffed`` and ``quiet_since``.

The ownership page's counts flagged every initiative of the people who left or went
quiet, joining initiatives, owners and stored rows: some 2,000 initiatives read at
100,000, growing with the portfolio. With the problems on the stored row itself, the
counts (``selectors.ownership_page_counts``) are two index-only reads of the rows that
have one: the flagged rows (owner left, nobody Responsible), and the live rows of active
owners quiet since before the cutoff (``quiet_since``: the later of when the owner was last seen and
the creation; an owner is silent exactly when it is before the cutoff).

The same triggers as migration 0020 keep the new columns: the row function recomputes
them with the others, and an owner's new last word moves ``quiet_since`` with ``at``.
Backfilled here (PostgreSQL only; other databases compute the same facts directly).
"""

from importlib import import_module

from django.db import migrations, models

OWNER_SEEN = import_module("portfolio.migrations.0020_owner_seen")

# Initiative ``i``'s row (owner ``u``, last word ``w``, since ``s``): the Python
# definitions are ``selectors.with_ownership_health``'s ``owner_left``,
# ``nobody_responsible`` and ``owner_silent``; tests/portfolio/test_ownership_stored.py
# compares them.
ROW = """i.id, s.since, GREATEST(w.at, s.since), i.stage <> 'retired',
    i.stage <> 'retired' AND (u.is_active IS FALSE OR n.initiative_id IS NOT NULL),
    i.stage <> 'retired' AND u.is_active IS FALSE,
    i.stage <> 'retired' AND n.initiative_id IS NOT NULL,
    GREATEST(w.at, s.since, i.created_at)"""
SOURCES = (OWNER_SEEN.SOURCES
           + "\n    LEFT JOIN portfolio_nobodyresponsible n ON n.initiative_id = i.id")
COLUMNS = "initiative_id, since, at, live, flagged, owner_left, unstaffed, quiet_since"
KEPT = ("since", "at", "live", "flagged", "owner_left", "unstaffed", "quiet_since")


def _moved_words(people: str) -> str:
    """The rows of the initiatives owned by the ``user_id``s of ``people`` (a transition
    table of ``LastWord``), moved to their owner's current last word."""
    return f"""
        UPDATE portfolio_ownerseen o SET at = GREATEST(w.at, o.since),
            quiet_since = GREATEST(w.at, o.since, i.created_at)
        FROM portfolio_initiative i
        JOIN (SELECT DISTINCT user_id FROM {people}) p ON p.user_id = i.owner_id
        LEFT JOIN portfolio_lastword w ON w.user_id = i.owner_id
        WHERE o.initiative_id = i.id AND o.at IS DISTINCT FROM GREATEST(w.at, o.since);"""


def _functions(row: str, sources: str, columns: str, kept: tuple[str, ...], moved) -> str:
    """The row function and the last-word function, as ``CREATE OR REPLACE``."""
    current = ", ".join(f"portfolio_ownerseen.{name}" for name in kept)
    excluded = ", ".join(f"EXCLUDED.{name}" for name in kept)
    return f"""
CREATE OR REPLACE FUNCTION portfolio_owner_seen_refresh(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO portfolio_ownerseen ({columns})
    SELECT {row}
    FROM portfolio_initiative i
    JOIN (SELECT DISTINCT id FROM unnest(ids) AS id) x ON x.id = i.id
    {sources}
    ORDER BY i.id
    ON CONFLICT (initiative_id) DO UPDATE
    SET {", ".join(f"{name} = EXCLUDED.{name}" for name in kept)}
    WHERE ({current}) IS DISTINCT FROM ({excluded});
$$;

CREATE OR REPLACE FUNCTION portfolio_owner_seen_words() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN {moved("old_rows")}
    ELSE {moved("new_rows")}
    END IF;
    RETURN NULL;
END $$;
"""


INSTALL = f"""
DELETE FROM portfolio_ownerseen;
INSERT INTO portfolio_ownerseen ({COLUMNS})
SELECT {ROW} FROM portfolio_initiative i {SOURCES};
{_functions(ROW, SOURCES, COLUMNS, KEPT, _moved_words)}"""

REMOVE = _functions(OWNER_SEEN.ROW, OWNER_SEEN.SOURCES, OWNER_SEEN.COLUMNS,
                    ("since", "at", "live", "flagged"), OWNER_SEEN._moved_words)


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REMOVE)


class Migration(migrations.Migration):

    dependencies = [
        ("portfolio", "0020_owner_seen"),
    ]

    operations = [
        migrations.AddField("ownerseen", "owner_left", models.BooleanField(default=False),
                            preserve_default=False),
        migrations.AddField("ownerseen", "unstaffed", models.BooleanField(default=False),
                            preserve_default=False),
        migrations.AddField("ownerseen", "quiet_since", models.DateTimeField(null=True)),
        migrations.RunPython(install, remove, elidable=False),
        migrations.AlterField("ownerseen", "quiet_since", models.DateTimeField()),
        migrations.AddIndex("ownerseen", models.Index(
            fields=["quiet_since"], include=["unstaffed"],
            condition=models.Q(live=True, owner_left=False), name="ownerseen_quiet")),
        migrations.AddIndex("ownerseen", models.Index(
            fields=["owner_left", "unstaffed"], condition=models.Q(flagged=True),
            name="ownerseen_problems")),
    ]
