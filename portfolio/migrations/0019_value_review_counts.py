"""Stored counts of the value reviews page's tabs (issue 22): ``ValueReviewCount``.

The reviews are counted per (initiative in production or scaled, pending, at risk,
decided, due date), backfilled here and kept by triggers in the writing transaction
(PostgreSQL only; other databases count the tabs directly:
``value_selectors.value_review_tab_counts``):
- value review INSERT, DELETE and UPDATE, per statement over its transition tables: the
  rows' groups, read with their initiative's current stage, are added or subtracted (a bulk
  load costs one grouped upsert);
- initiative UPDATE that moves it into or out of production and scaled, per row: its
  reviews move from one group to the other.
An initiative's reviews are deleted before it (Django's cascade), so they are subtracted
while its stage can still be read.
"""

from django.db import migrations, models

# A review ``r`` of initiative ``i``: its group's columns, in ValueReviewCount's order.
IN_PRODUCTION = "i.stage IN ('production', 'scaled')"
REVIEW = "r.recorded_at IS NULL, r.at_risk, r.decision <> '', r.due_on"
COLUMNS = "in_production, pending, at_risk, decided, due_on"
UPSERT = f"""
    GROUP BY 1, 2, 3, 4, 5 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT ({COLUMNS})
    DO UPDATE SET reviews = portfolio_valuereviewcount.reviews + EXCLUDED.reviews"""


def _changed(*tables: tuple[str, int]) -> str:
    """The grouped rows of ``tables`` (transition table, +1 or -1), upserted."""
    rows = " UNION ALL ".join(f"SELECT r.*, {delta} AS delta FROM {table} r"
                              for table, delta in tables)
    return f"""
        INSERT INTO portfolio_valuereviewcount ({COLUMNS}, reviews)
        SELECT {IN_PRODUCTION}, {REVIEW}, sum(delta)
        FROM ({rows}) r JOIN portfolio_initiative i ON i.id = r.initiative_id {UPSERT};"""


INSTALL = f"""
INSERT INTO portfolio_valuereviewcount ({COLUMNS}, reviews)
SELECT {IN_PRODUCTION}, {REVIEW}, count(*)
FROM portfolio_valuereview r JOIN portfolio_initiative i ON i.id = r.initiative_id
GROUP BY 1, 2, 3, 4, 5;

CREATE FUNCTION portfolio_value_review_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN {_changed(("new_rows", 1))}
    ELSIF TG_OP = 'DELETE' THEN {_changed(("old_rows", -1))}
    ELSE {_changed(("old_rows", -1), ("new_rows", 1))}
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_value_review_count_insert AFTER INSERT ON portfolio_valuereview
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION portfolio_value_review_counts();
CREATE TRIGGER portfolio_value_review_count_delete AFTER DELETE ON portfolio_valuereview
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION portfolio_value_review_counts();
CREATE TRIGGER portfolio_value_review_count_update AFTER UPDATE ON portfolio_valuereview
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION portfolio_value_review_counts();

CREATE FUNCTION portfolio_value_review_count_stage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO portfolio_valuereviewcount ({COLUMNS}, reviews)
    SELECT x.in_production, {REVIEW}, sum(x.delta)
    FROM portfolio_valuereview r
    CROSS JOIN (VALUES (OLD.stage IN ('production', 'scaled'), -1),
                       (NEW.stage IN ('production', 'scaled'), 1)) AS x(in_production, delta)
    WHERE r.initiative_id = NEW.id {UPSERT.replace("sum(delta)", "sum(x.delta)")};
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_value_review_count_stage AFTER UPDATE ON portfolio_initiative
    FOR EACH ROW WHEN ((OLD.stage IN ('production', 'scaled'))
                       IS DISTINCT FROM (NEW.stage IN ('production', 'scaled')))
    EXECUTE FUNCTION portfolio_value_review_count_stage();
"""

REMOVE = """
DROP TRIGGER IF EXISTS portfolio_value_review_count_stage ON portfolio_initiative;
DROP TRIGGER IF EXISTS portfolio_value_review_count_update ON portfolio_valuereview;
DROP TRIGGER IF EXISTS portfolio_value_review_count_delete ON portfolio_valuereview;
DROP TRIGGER IF EXISTS portfolio_value_review_count_insert ON portfolio_valuereview;
DROP FUNCTION IF EXISTS portfolio_value_review_count_stage();
DROP FUNCTION IF EXISTS portfolio_value_review_counts();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REMOVE)


class Migration(migrations.Migration):

    dependencies = [
        ("portfolio", "0018_value_review_order"),
    ]

    operations = [
        migrations.CreateModel(
            name="ValueReviewCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                           serialize=False, verbose_name="ID")),
                ("in_production", models.BooleanField()),
                ("pending", models.BooleanField()),
                ("at_risk", models.BooleanField()),
                ("decided", models.BooleanField()),
                ("due_on", models.DateField()),
                ("reviews", models.IntegerField(default=0)),
            ],
            options={
                "constraints": [models.UniqueConstraint(
                    fields=("in_production", "pending", "at_risk", "decided", "due_on"),
                    name="value_review_count_once")],
            },
        ),
        migrations.RunPython(install, remove, elidable=False),
    ]
