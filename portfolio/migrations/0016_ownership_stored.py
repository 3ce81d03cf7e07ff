"""Ownership health read from stored facts, not from every initiative's history (issue 22).

- ``LastWord``: each person's latest act anywhere (latest activity as actor, latest update
  as author), so "who has gone silent since" is a range read on one small table;
- ``NobodyResponsible``: the initiatives past the idea stage, not retired, on which no
  active user holds the Responsible role, so that problem is a read of its own rows;
- ``activity_handovers``: each initiative's ``owner_changed`` activities, so "owner since"
  is one probe of a small index.

Both are backfilled here and kept by triggers in the writing transaction (PostgreSQL only;
other databases compute the same facts directly: ``selectors.with_ownership_health``):
- activity / update INSERT, per statement over its transition table: the writers' latest
  act moves forward (a bulk load costs one grouped upsert); DELETE, per statement, and an
  UPDATE of the person or the time, per row: their latest act is recomputed (two index
  probes each: ``activity_actor_recent``, ``update_author_recent``);
- stakeholder INSERT / DELETE of Responsibles, per statement, and an UPDATE of its role,
  person or initiative, per row; initiative INSERT, per statement, and UPDATE of ``stage``,
  per row; user UPDATE of ``is_active``, per row: the affected initiatives are recomputed;
  initiative DELETE, per statement: their rows go.
"""

from django.conf import settings
from django.db import migrations, models

# The one definition, in SQL, of "nobody Responsible" for initiative ``i`` (the Python one is
# ``selectors.with_ownership_health``; tests/portfolio/test_ownership_stored.py compares them).
UNSTAFFED = ("i.stage NOT IN ('idea', 'retired') AND NOT EXISTS (SELECT 1 "
             "FROM portfolio_stakeholder s JOIN auth_user u ON u.id = s.user_id "
             "WHERE s.initiative_id = i.id AND s.role = 'R' AND u.is_active)")

# The latest act of person ``p.id``: GREATEST ignores a missing side.
LATEST = ("GREATEST((SELECT max(a.at) FROM portfolio_activity a WHERE a.actor_id = p.id), "
          "(SELECT max(w.created_at) FROM portfolio_update w WHERE w.author_id = p.id))")


def _word_triggers(table: str, person: str, at: str) -> str:
    """The triggers that keep ``LastWord`` as ``table`` (acts by ``person`` at ``at``) changes."""
    name = f"portfolio_last_word_{table.removeprefix('portfolio_')}"
    return f"""
CREATE FUNCTION {name}_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO portfolio_lastword (user_id, at)
        SELECT {person}, max({at}) FROM new_rows WHERE {person} IS NOT NULL
        GROUP BY 1 ORDER BY 1
        ON CONFLICT (user_id) DO UPDATE SET at = GREATEST(portfolio_lastword.at, EXCLUDED.at);
    ELSE
        PERFORM portfolio_last_word_refresh(ARRAY(SELECT {person} FROM old_rows));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER {name}_insert AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {name}_rows();
CREATE TRIGGER {name}_delete AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {name}_rows();

CREATE FUNCTION {name}_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portfolio_last_word_refresh(ARRAY[OLD.{person}, NEW.{person}]::bigint[]);
    RETURN NULL;
END $$;
CREATE TRIGGER {name}_update AFTER UPDATE ON {table}
    FOR EACH ROW WHEN (OLD.{person} IS DISTINCT FROM NEW.{person}
                       OR OLD.{at} IS DISTINCT FROM NEW.{at})
    EXECUTE FUNCTION {name}_row();
"""


INSTALL = f"""
INSERT INTO portfolio_lastword (user_id, at)
SELECT p.id, {LATEST} FROM auth_user p WHERE {LATEST} IS NOT NULL;

INSERT INTO portfolio_nobodyresponsible (initiative_id)
SELECT i.id FROM portfolio_initiative i WHERE {UNSTAFFED};

CREATE FUNCTION portfolio_last_word_refresh(people bigint[]) RETURNS void LANGUAGE sql AS $$
    WITH word AS (
        SELECT p.id AS user_id, {LATEST} AS at
        FROM (SELECT DISTINCT person AS id FROM unnest(people) AS person) p
        WHERE p.id IS NOT NULL
    ), silent AS (
        DELETE FROM portfolio_lastword l USING word
        WHERE l.user_id = word.user_id AND word.at IS NULL
    )
    INSERT INTO portfolio_lastword (user_id, at)
    SELECT user_id, at FROM word WHERE at IS NOT NULL ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET at = EXCLUDED.at;
$$;
{_word_triggers("portfolio_activity", "actor_id", "at")}
{_word_triggers("portfolio_update", "author_id", "created_at")}

CREATE FUNCTION portfolio_nobody_responsible_refresh(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM portfolio_nobodyresponsible n USING unnest(ids) AS x(id)
    WHERE n.initiative_id = x.id;
    INSERT INTO portfolio_nobodyresponsible (initiative_id)
    SELECT i.id FROM portfolio_initiative i
    JOIN (SELECT DISTINCT id FROM unnest(ids) AS id) x ON x.id = i.id
    WHERE {UNSTAFFED} ORDER BY i.id ON CONFLICT DO NOTHING;
$$;

CREATE FUNCTION portfolio_nobody_responsible_stakeholders() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM portfolio_nobody_responsible_refresh(
            ARRAY(SELECT initiative_id FROM new_rows WHERE role = 'R'));
    ELSE
        PERFORM portfolio_nobody_responsible_refresh(
            ARRAY(SELECT initiative_id FROM old_rows WHERE role = 'R'));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_nobody_responsible_stakeholder_insert
    AFTER INSERT ON portfolio_stakeholder REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION portfolio_nobody_responsible_stakeholders();
CREATE TRIGGER portfolio_nobody_responsible_stakeholder_delete
    AFTER DELETE ON portfolio_stakeholder REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION portfolio_nobody_responsible_stakeholders();

CREATE FUNCTION portfolio_nobody_responsible_stakeholder() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portfolio_nobody_responsible_refresh(ARRAY[OLD.initiative_id, NEW.initiative_id]);
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_nobody_responsible_stakeholder_update
    AFTER UPDATE ON portfolio_stakeholder
    FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role
                       OR OLD.user_id IS DISTINCT FROM NEW.user_id
                       OR OLD.initiative_id IS DISTINCT FROM NEW.initiative_id)
    EXECUTE FUNCTION portfolio_nobody_responsible_stakeholder();

CREATE FUNCTION portfolio_nobody_responsible_initiatives() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM portfolio_nobody_responsible_refresh(ARRAY(SELECT id FROM new_rows));
    ELSE
        DELETE FROM portfolio_nobodyresponsible n USING old_rows o WHERE n.initiative_id = o.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_nobody_responsible_initiative_insert
    AFTER INSERT ON portfolio_initiative REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION portfolio_nobody_responsible_initiatives();
CREATE TRIGGER portfolio_nobody_responsible_initiative_delete
    AFTER DELETE ON portfolio_initiative REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION portfolio_nobody_responsible_initiatives();

CREATE FUNCTION portfolio_nobody_responsible_stage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portfolio_nobody_responsible_refresh(ARRAY[NEW.id]);
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_nobody_responsible_stage AFTER UPDATE ON portfolio_initiative
    FOR EACH ROW WHEN (OLD.stage IS DISTINCT FROM NEW.stage)
    EXECUTE FUNCTION portfolio_nobody_responsible_stage();

CREATE FUNCTION portfolio_nobody_responsible_person() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portfolio_nobody_responsible_refresh(ARRAY(
        SELECT initiative_id FROM portfolio_stakeholder WHERE user_id = NEW.id AND role = 'R'));
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_nobody_responsible_person AFTER UPDATE ON auth_user
    FOR EACH ROW WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active)
    EXECUTE FUNCTION portfolio_nobody_responsible_person();
"""

REMOVE = """
DROP TRIGGER IF EXISTS portfolio_nobody_responsible_person ON auth_user;
DROP TRIGGER IF EXISTS portfolio_nobody_responsible_stage ON portfolio_initiative;
DROP TRIGGER IF EXISTS portfolio_nobody_responsible_initiative_delete ON portfolio_initiative;
DROP TRIGGER IF EXISTS portfolio_nobody_responsible_initiative_insert ON portfolio_initiative;
DROP TRIGGER IF EXISTS portfolio_nobody_responsible_stakeholder_update ON portfolio_stakeholder;
DROP TRIGGER IF EXISTS portfolio_nobody_responsible_stakeholder_delete ON portfolio_stakeholder;
DROP TRIGGER IF EXISTS portfolio_nobody_responsible_stakeholder_insert ON portfolio_stakeholder;
DROP TRIGGER IF EXISTS portfolio_last_word_update_update ON portfolio_update;
DROP TRIGGER IF EXISTS portfolio_last_word_update_delete ON portfolio_update;
DROP TRIGGER IF EXISTS portfolio_last_word_update_insert ON portfolio_update;
DROP TRIGGER IF EXISTS portfolio_last_word_activity_update ON portfolio_activity;
DROP TRIGGER IF EXISTS portfolio_last_word_activity_delete ON portfolio_activity;
DROP TRIGGER IF EXISTS portfolio_last_word_activity_insert ON portfolio_activity;
DROP FUNCTION IF EXISTS portfolio_nobody_responsible_person();
DROP FUNCTION IF EXISTS portfolio_nobody_responsible_stage();
DROP FUNCTION IF EXISTS portfolio_nobody_responsible_initiatives();
DROP FUNCTION IF EXISTS portfolio_nobody_responsible_stakeholder();
DROP FUNCTION IF EXISTS portfolio_nobody_responsible_stakeholders();
DROP FUNCTION IF EXISTS portfolio_nobody_responsible_refresh(bigint[]);
DROP FUNCTION IF EXISTS portfolio_last_word_update_row();
DROP FUNCTION IF EXISTS portfolio_last_word_update_rows();
DROP FUNCTION IF EXISTS portfolio_last_word_activity_row();
DROP FUNCTION IF EXISTS portfolio_last_word_activity_rows();
DROP FUNCTION IF EXISTS portfolio_last_word_refresh(bigint[]);
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REMOVE)


class Migration(migrations.Migration):

    dependencies = [
        ("portfolio", "0015_identity"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="LastWord",
            fields=[
                ("user", models.OneToOneField(db_constraint=False,
                                              on_delete=models.deletion.DO_NOTHING,
                                              primary_key=True, related_name="last_word",
                                              serialize=False, to=settings.AUTH_USER_MODEL)),
                ("at", models.DateTimeField()),
            ],
            options={"indexes": [models.Index(fields=["at"], name="lastword_at")]},
        ),
        migrations.CreateModel(
            name="NobodyResponsible",
            fields=[
                ("initiative", models.OneToOneField(db_constraint=False,
                                                    on_delete=models.deletion.DO_NOTHING,
                                                    primary_key=True,
                                                    related_name="unstaffed",
                                                    serialize=False,
                                                    to="portfolio.initiative")),
            ],
            options={"verbose_name_plural": "nobody responsible"},
        ),
        migrations.AddIndex(
            model_name="activity",
            index=models.Index(fields=["initiative", "-at"],
                               condition=models.Q(("kind", "owner_changed")),
                               name="activity_handovers"),
        ),
        migrations.RunPython(install, remove, elidable=False),
    ]
