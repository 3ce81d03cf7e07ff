"""When each initiative's owner was last seen, stored (issue 22): ``OwnerSeen``.

The ownership page lists problems longest neglected first, by ``owner_seen_at`` (the later
of the owner's last word and the moment they became the owner). Computed per row, that
order made the page sort every problem row; stored and indexed, with whether the
initiative is live and has a problem whatever the date (``flagged``: its owner left or
nobody is Responsible), a page is two LIMIT reads in that order
(``selectors.OwnershipGaps``). One row per initiative, backfilled here and kept by
triggers in the writing transaction (PostgreSQL only; other databases compute the same
order directly: ``selectors.with_ownership_health``):
- initiative INSERT, per statement, and UPDATE of ``owner_id``, ``created_at`` or
  ``stage``, per row: its row is recomputed; DELETE, per statement: its row goes;
- activity INSERT and DELETE of ``owner_changed`` activities, per statement, and UPDATE of
  one, per row: the handed-over initiatives' rows are recomputed (``since``: one probe of
  ``activity_handovers``);
- ``NobodyResponsible`` INSERT and DELETE (kept by migration 0016's triggers), per
  statement: those initiatives' rows are recomputed; user UPDATE of ``is_active``, per
  row: the rows of the initiatives they own;
- ``LastWord`` INSERT, UPDATE and DELETE (migration 0016's too), per statement over its
  transition tables: the rows of the initiatives those people own move to their new last
  word (by ``owner_id``; an act costs an update per initiative the actor owns, a bulk load
  one grouped update).
"""

from django.db import migrations, models

# The one definition, in SQL, of initiative ``i``'s owner since (the Python one is
# ``selectors.with_ownership_health``; tests/portfolio/test_ownership_stored.py compares them).
SINCE = ("COALESCE((SELECT max(a.at) FROM portfolio_activity a WHERE a.initiative_id = i.id "
         "AND a.kind = 'owner_changed'), i.created_at)")

# Initiative ``i``'s row (owner ``u``, last word ``w``): GREATEST ignores a missing word;
# flagged is the owner left or nobody Responsible, of a live initiative (the Python one is
# ``with_ownership_health``'s ``owner_left`` and ``nobody_responsible``).
ROW = ("i.id, s.since, GREATEST(w.at, s.since), i.stage <> 'retired', "
       "i.stage <> 'retired' AND (u.is_active IS FALSE OR EXISTS (SELECT 1 FROM "
       "portfolio_nobodyresponsible n WHERE n.initiative_id = i.id))")
SOURCES = f"""CROSS JOIN LATERAL (SELECT {SINCE} AS since) s
    LEFT JOIN auth_user u ON u.id = i.owner_id
    LEFT JOIN portfolio_lastword w ON w.user_id = i.owner_id"""
COLUMNS = "initiative_id, since, at, live, flagged"


def _moved_words(people: str) -> str:
    """The rows of the initiatives owned by the ``user_id``s of ``people`` (a transition
    table of ``LastWord``), moved to their owner's current last word."""
    return f"""
        UPDATE portfolio_ownerseen o SET at = GREATEST(w.at, o.since)
        FROM portfolio_initiative i
        JOIN (SELECT DISTINCT user_id FROM {people}) p ON p.user_id = i.owner_id
        LEFT JOIN portfolio_lastword w ON w.user_id = i.owner_id
        WHERE o.initiative_id = i.id AND o.at IS DISTINCT FROM GREATEST(w.at, o.since);"""


def _refreshed_by(name: str, table: str, where: str = "") -> str:
    """Statement triggers recomputing the rows of the initiatives (``initiative_id``) of the
    rows of ``table`` inserted or deleted (those ``where`` selects)."""
    function = f"portfolio_owner_seen_{name}s"
    return f"""
CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM portfolio_owner_seen_refresh(
            ARRAY(SELECT initiative_id FROM new_rows {where}));
    ELSE
        PERFORM portfolio_owner_seen_refresh(
            ARRAY(SELECT initiative_id FROM old_rows {where}));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_owner_seen_{name}_insert
    AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER portfolio_owner_seen_{name}_delete
    AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
"""


INSTALL = f"""
INSERT INTO portfolio_ownerseen ({COLUMNS})
SELECT {ROW} FROM portfolio_initiative i {SOURCES};

CREATE FUNCTION portfolio_owner_seen_refresh(ids bigint[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO portfolio_ownerseen ({COLUMNS})
    SELECT {ROW}
    FROM portfolio_initiative i
    JOIN (SELECT DISTINCT id FROM unnest(ids) AS id) x ON x.id = i.id
    {SOURCES}
    ORDER BY i.id
    ON CONFLICT (initiative_id) DO UPDATE
    SET since = EXCLUDED.since, at = EXCLUDED.at, live = EXCLUDED.live,
        flagged = EXCLUDED.flagged
    WHERE (portfolio_ownerseen.since, portfolio_ownerseen.at, portfolio_ownerseen.live,
           portfolio_ownerseen.flagged)
          IS DISTINCT FROM (EXCLUDED.since, EXCLUDED.at, EXCLUDED.live, EXCLUDED.flagged);
$$;

CREATE FUNCTION portfolio_owner_seen_initiatives() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM portfolio_owner_seen_refresh(ARRAY(SELECT id FROM new_rows));
    ELSE
        DELETE FROM portfolio_ownerseen o USING old_rows d WHERE o.initiative_id = d.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_owner_seen_initiative_insert
    AFTER INSERT ON portfolio_initiative REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION portfolio_owner_seen_initiatives();
CREATE TRIGGER portfolio_owner_seen_initiative_delete
    AFTER DELETE ON portfolio_initiative REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION portfolio_owner_seen_initiatives();

CREATE FUNCTION portfolio_owner_seen_initiative() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portfolio_owner_seen_refresh(ARRAY[NEW.id]);
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_owner_seen_initiative_update AFTER UPDATE ON portfolio_initiative
    FOR EACH ROW WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id
                       OR OLD.created_at IS DISTINCT FROM NEW.created_at
                       OR OLD.stage IS DISTINCT FROM NEW.stage)
    EXECUTE FUNCTION portfolio_owner_seen_initiative();

{_refreshed_by("unstaffed", "portfolio_nobodyresponsible")}
CREATE FUNCTION portfolio_owner_seen_person() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portfolio_owner_seen_refresh(ARRAY(
        SELECT id FROM portfolio_initiative WHERE owner_id = NEW.id));
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_owner_seen_person AFTER UPDATE ON auth_user
    FOR EACH ROW WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active)
    EXECUTE FUNCTION portfolio_owner_seen_person();

{_refreshed_by("handover", "portfolio_activity", "WHERE kind = 'owner_changed'")}
CREATE FUNCTION portfolio_owner_seen_handover() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portfolio_owner_seen_refresh(ARRAY[OLD.initiative_id, NEW.initiative_id]);
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_owner_seen_handover_update AFTER UPDATE ON portfolio_activity
    FOR EACH ROW WHEN ((OLD.kind = 'owner_changed' OR NEW.kind = 'owner_changed')
                       AND (OLD.kind IS DISTINCT FROM NEW.kind
                            OR OLD.at IS DISTINCT FROM NEW.at
                            OR OLD.initiative_id IS DISTINCT FROM NEW.initiative_id))
    EXECUTE FUNCTION portfolio_owner_seen_handover();

CREATE FUNCTION portfolio_owner_seen_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN {_moved_words("old_rows")}
    ELSE {_moved_words("new_rows")}
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_owner_seen_word_insert
    AFTER INSERT ON portfolio_lastword REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION portfolio_owner_seen_words();
CREATE TRIGGER portfolio_owner_seen_word_update
    AFTER UPDATE ON portfolio_lastword REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION portfolio_owner_seen_words();
CREATE TRIGGER portfolio_owner_seen_word_delete
    AFTER DELETE ON portfolio_lastword REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION portfolio_owner_seen_words();
"""

REMOVE = """
DROP TRIGGER IF EXISTS portfolio_owner_seen_word_delete ON portfolio_lastword;
DROP TRIGGER IF EXISTS portfolio_owner_seen_word_update ON portfolio_lastword;
DROP TRIGGER IF EXISTS portfolio_owner_seen_word_insert ON portfolio_lastword;
DROP TRIGGER IF EXISTS portfolio_owner_seen_person ON auth_user;
DROP TRIGGER IF EXISTS portfolio_owner_seen_unstaffed_delete ON portfolio_nobodyresponsible;
DROP TRIGGER IF EXISTS portfolio_owner_seen_unstaffed_insert ON portfolio_nobodyresponsible;
DROP TRIGGER IF EXISTS portfolio_owner_seen_handover_update ON portfolio_activity;
DROP TRIGGER IF EXISTS portfolio_owner_seen_handover_delete ON portfolio_activity;
DROP TRIGGER IF EXISTS portfolio_owner_seen_handover_insert ON portfolio_activity;
DROP TRIGGER IF EXISTS portfolio_owner_seen_initiative_update ON portfolio_initiative;
DROP TRIGGER IF EXISTS portfolio_owner_seen_initiative_delete ON portfolio_initiative;
DROP TRIGGER IF EXISTS portfolio_owner_seen_initiative_insert ON portfolio_initiative;
DROP FUNCTION IF EXISTS portfolio_owner_seen_words();
DROP FUNCTION IF EXISTS portfolio_owner_seen_person();
DROP FUNCTION IF EXISTS portfolio_owner_seen_unstaffeds();
DROP FUNCTION IF EXISTS portfolio_owner_seen_handover();
DROP FUNCTION IF EXISTS portfolio_owner_seen_handovers();
DROP FUNCTION IF EXISTS portfolio_owner_seen_initiative();
DROP FUNCTION IF EXISTS portfolio_owner_seen_initiatives();
DROP FUNCTION IF EXISTS portfolio_owner_seen_refresh(bigint[]);
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REMOVE)


class Migration(migrations.Migration):

    dependencies = [
        ("portfolio", "0019_value_review_counts"),
    ]

    operations = [
        migrations.CreateModel(
            name="OwnerSeen",
            fields=[
                ("initiative", models.OneToOneField(db_constraint=False,
                                                    on_delete=models.deletion.DO_NOTHING,
                                                    primary_key=True,
                                                    related_name="owner_seen",
                                                    serialize=False,
                                                    to="portfolio.initiative")),
                ("since", models.DateTimeField()),
                ("at", models.DateTimeField()),
                ("live", models.BooleanField()),
                ("flagged", models.BooleanField()),
            ],
            options={
                "verbose_name_plural": "owners seen",
                "indexes": [
                    models.Index(fields=["at", "initiative"], condition=models.Q(live=True),
                                 name="ownerseen_live"),
                    models.Index(fields=["at", "initiative"], condition=models.Q(flagged=True),
                                 name="ownerseen_flagged"),
                ],
            },
        ),
        migrations.RunPython(install, remove, elidable=False),
    ]
