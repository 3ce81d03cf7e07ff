"""A reviewer's "mine" counted from stored counts too (issue 22).

``QueueCount`` gains ``route``: whom a counted checkpoint waits on (``selectors.routed_to_q``)
— ``-1`` when a reviewer holds it (``reviewer_id`` set), else ``0`` (routed to every
reviewer) or the id of the reviewer group it is routed to. A reviewer's tab counts are then
the stored sums of the routes open to them, plus their own taken reviews and minus the
reviews they may not decide, both read from their own few rows
(``selectors.review_queue_mine_counts``).

The triggers of 0007_queue_indexes are kept; their functions are replaced to count by the
new key, and the checkpoint UPDATE trigger also fires when the reviewer or the reviewer
group changes. The table is counted again from the checkpoints. ``checkpoint_queue_reviewer``
reads a reviewer's reviews in the queue without their approved ones, and
``checkpoint_queue_untaken`` the untaken ones of a few initiatives without the decided ones.

PostgreSQL only; elsewhere the queue is counted directly.
"""

import importlib

from django.db import migrations, models

QUEUE_INDEXES = importlib.import_module("governance.migrations.0007_queue_indexes")

# The key of one counted checkpoint ``c`` whose initiative is ``i`` and type ``t``.
ROUTE = ("CASE WHEN {row}.reviewer_id IS NOT NULL THEN -1 "
         "ELSE coalesce({row}.reviewer_group_id, 0) END")
DAY = "CASE WHEN {row}.status = 'waived' THEN {row}.waiver_expires_on ELSE {row}.due_date END"
KEY = "{stage}, {gate}, c.status, " + DAY.format(row="c") + ", " + ROUTE.format(row="c")
COUNTED = "{row}.retired_at IS NULL AND {row}.status <> 'approved'"
CONFLICT = ("ON CONFLICT (stage, gate, status, day, route) DO UPDATE "
            "SET checkpoints = governance_queuecount.checkpoints + EXCLUDED.checkpoints;")
UPSERT = ("INSERT INTO governance_queuecount (stage, gate, status, day, route, checkpoints) "
          "SELECT {key}, {sign} count(*) FROM {source} WHERE " + COUNTED.format(row="c")
          + "{where} GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5 " + CONFLICT)


def _upsert(*, sign: str, source: str, stage: str = "i.stage", gate: str = "t.required_for",
            where: str = "") -> str:
    return UPSERT.format(key=KEY.format(stage=stage, gate=gate), sign=sign, source=source,
                         where=where)


def _one(row: str, delta: str) -> str:
    """Count the trigger's ``OLD`` or ``NEW`` checkpoint row ``delta`` times, if counted."""
    return (f"IF {COUNTED.format(row=row)} THEN "
            "INSERT INTO governance_queuecount (stage, gate, status, day, route, checkpoints) "
            f"SELECT i.stage, t.required_for, {row}.status, {DAY.format(row=row)}, "
            f"{ROUTE.format(row=row)}, {delta} "
            "FROM portfolio_initiative i, governance_checkpointtype t "
            f"WHERE i.id = {row}.initiative_id AND t.id = {row}.type_id " + CONFLICT
            + " END IF;")


def _joined(rows: str) -> str:
    return (f"{rows} c JOIN portfolio_initiative i ON i.id = c.initiative_id "
            "JOIN governance_checkpointtype t ON t.id = c.type_id")


INSTALL = f"""
CREATE OR REPLACE FUNCTION governance_queue_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_upsert(sign="", source=_joined("new_rows"))}
    ELSE
        {_upsert(sign="-", source=_joined("old_rows"))}
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION governance_queue_count_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_one("OLD", "-1")}
    {_one("NEW", "1")}
    RETURN NULL;
END $$;
DROP TRIGGER governance_queue_count_update ON governance_checkpoint;
CREATE TRIGGER governance_queue_count_update AFTER UPDATE ON governance_checkpoint
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                       OR OLD.due_date IS DISTINCT FROM NEW.due_date
                       OR OLD.waiver_expires_on IS DISTINCT FROM NEW.waiver_expires_on
                       OR (OLD.retired_at IS NULL) <> (NEW.retired_at IS NULL)
                       OR OLD.initiative_id IS DISTINCT FROM NEW.initiative_id
                       OR OLD.type_id IS DISTINCT FROM NEW.type_id
                       OR OLD.reviewer_id IS DISTINCT FROM NEW.reviewer_id
                       OR OLD.reviewer_group_id IS DISTINCT FROM NEW.reviewer_group_id)
    EXECUTE FUNCTION governance_queue_count_row();

CREATE OR REPLACE FUNCTION governance_queue_count_initiatives() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_upsert(sign="", source=_joined("governance_checkpoint").replace(
            "portfolio_initiative i", "new_rows i"))}
    ELSE
        {_upsert(sign="-", source=_joined("governance_checkpoint").replace(
            "portfolio_initiative i", "old_rows i"))}
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION governance_queue_count_stage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_upsert(sign="-", source=_joined("governance_checkpoint"), stage="OLD.stage",
             where=" AND c.initiative_id = OLD.id")}
    {_upsert(sign="", source=_joined("governance_checkpoint"), stage="NEW.stage",
             where=" AND c.initiative_id = NEW.id")}
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION governance_queue_count_gate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_upsert(sign="-", source=_joined("governance_checkpoint"), gate="OLD.required_for",
             where=" AND c.type_id = OLD.id")}
    {_upsert(sign="", source=_joined("governance_checkpoint"), gate="NEW.required_for",
             where=" AND c.type_id = NEW.id")}
    RETURN NULL;
END $$;

DELETE FROM governance_queuecount;
INSERT INTO governance_queuecount (stage, gate, status, day, route, checkpoints)
SELECT {KEY.format(stage="i.stage", gate="t.required_for")}, count(*)
FROM {_joined("governance_checkpoint")} WHERE {COUNTED.format(row="c")}
GROUP BY 1, 2, 3, 4, 5;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL)


def remove(apps, schema_editor):
    """Back to 0007's triggers (re-installed, and the table counted again, once ``route``
    is gone: ``reinstall_0007``)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(QUEUE_INDEXES.REMOVE + "DELETE FROM governance_queuecount;")


def reinstall_0007(apps, schema_editor):
    QUEUE_INDEXES.install(apps, schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ("governance", "0008_forecast_queue_days"),
    ]

    operations = [
        # Backwards only, last: 0007's triggers and counts, by (stage, gate, status, day).
        migrations.RunPython(migrations.RunPython.noop, reinstall_0007, elidable=False),
        migrations.RemoveConstraint(model_name="queuecount", name="queue_count_once"),
        migrations.AddField(model_name="queuecount", name="route",
                            field=models.IntegerField(default=0)),
        migrations.AddConstraint(
            model_name="queuecount",
            constraint=models.UniqueConstraint(
                fields=("stage", "gate", "status", "day", "route"), name="queue_count_once"),
        ),
        migrations.AddIndex(
            model_name="checkpoint",
            index=models.Index(
                fields=["reviewer"], name="checkpoint_queue_reviewer",
                condition=models.Q(("retired_at__isnull", True),
                                   ("status__in", ["not_started", "in_review", "rejected",
                                                   "waived"]))),
        ),
        migrations.AddIndex(
            model_name="checkpoint",
            index=models.Index(
                fields=["initiative"], name="checkpoint_queue_untaken",
                condition=models.Q(("retired_at__isnull", True), ("reviewer__isnull", True),
                                   ("status__in", ["not_started", "in_review", "rejected",
                                                   "waived"]))),
        ),
        migrations.RunPython(install, remove, elidable=False),
    ]
