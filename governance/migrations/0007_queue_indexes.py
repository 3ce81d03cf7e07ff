"""The review queue read by index and counted from stored counts (issue 22).

- ``checkpoint_queue_rows``: the queue page's rows in its order (expired waivers last, then
  by due date) for applicable, not approved checkpoints, so a page is a LIMIT read.
- ``QueueCount`` and the triggers that keep it: the applicable, not approved checkpoints
  counted by (initiative stage, gate, status, day) in the writing transaction, so the tab
  counts are summed from a few thousand rows (``governance.models.QueueCount``).

The triggers (PostgreSQL only; other databases count the queue directly):
- checkpoint INSERT / DELETE, per statement over its transition table (a bulk COPY costs
  one grouped upsert);
- checkpoint UPDATE of a counted field, per row, only when one changed;
- initiative UPDATE of ``stage``, per row, only when it changed: its checkpoints move
  between stages; initiative INSERT / DELETE, per statement: checkpoints written before
  their initiative (deferred foreign keys) are counted when it arrives, and those of an
  initiative deleted before them are subtracted when it goes (each exactly once);
- checkpoint type UPDATE of ``required_for``, per row, only when it changed.
"""

from django.db import migrations, models

# The key of one counted checkpoint ``c`` whose initiative is ``i`` and type ``t``.
KEY = ("{stage}, {gate}, c.status, "
       "CASE WHEN c.status = 'waived' THEN c.waiver_expires_on ELSE c.due_date END")
COUNTED = "c.retired_at IS NULL AND c.status <> 'approved'"
UPSERT = ("INSERT INTO governance_queuecount (stage, gate, status, day, checkpoints) "
          "SELECT {key}, {sign} count(*) FROM {source} WHERE " + COUNTED + "{where} "
          "GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4 "
          "ON CONFLICT (stage, gate, status, day) DO UPDATE "
          "SET checkpoints = governance_queuecount.checkpoints + EXCLUDED.checkpoints;")


def _upsert(*, sign: str, source: str, stage: str = "i.stage", gate: str = "t.required_for",
            where: str = "") -> str:
    return UPSERT.format(key=KEY.format(stage=stage, gate=gate), sign=sign, source=source,
                         where=where)


def _one(row: str, delta: str) -> str:
    """Count the trigger's ``OLD`` or ``NEW`` checkpoint row ``delta`` times, if counted."""
    return (f"IF {COUNTED.replace('c.', row + '.')} THEN "
            "INSERT INTO governance_queuecount (stage, gate, status, day, checkpoints) "
            f"SELECT i.stage, t.required_for, {row}.status, CASE WHEN {row}.status = 'waived' "
            f"THEN {row}.waiver_expires_on ELSE {row}.due_date END, {delta} "
            "FROM portfolio_initiative i, governance_checkpointtype t "
            f"WHERE i.id = {row}.initiative_id AND t.id = {row}.type_id "
            "ON CONFLICT (stage, gate, status, day) DO UPDATE "
            "SET checkpoints = governance_queuecount.checkpoints + EXCLUDED.checkpoints; "
            "END IF;")


def _joined(rows: str) -> str:
    return (f"{rows} c JOIN portfolio_initiative i ON i.id = c.initiative_id "
            "JOIN governance_checkpointtype t ON t.id = c.type_id")


INSTALL = f"""
INSERT INTO governance_queuecount (stage, gate, status, day, checkpoints)
SELECT {KEY.format(stage="i.stage", gate="t.required_for")}, count(*)
FROM {_joined("governance_checkpoint")} WHERE {COUNTED} GROUP BY 1, 2, 3, 4;

CREATE FUNCTION governance_queue_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_upsert(sign="", source=_joined("new_rows"))}
    ELSE
        {_upsert(sign="-", source=_joined("old_rows"))}
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER governance_queue_count_insert AFTER INSERT ON governance_checkpoint
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION governance_queue_count_rows();
CREATE TRIGGER governance_queue_count_delete AFTER DELETE ON governance_checkpoint
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION governance_queue_count_rows();

CREATE FUNCTION governance_queue_count_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_one("OLD", "-1")}
    {_one("NEW", "1")}
    RETURN NULL;
END $$;
CREATE TRIGGER governance_queue_count_update AFTER UPDATE ON governance_checkpoint
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                       OR OLD.due_date IS DISTINCT FROM NEW.due_date
                       OR OLD.waiver_expires_on IS DISTINCT FROM NEW.waiver_expires_on
                       OR (OLD.retired_at IS NULL) <> (NEW.retired_at IS NULL)
                       OR OLD.initiative_id IS DISTINCT FROM NEW.initiative_id
                       OR OLD.type_id IS DISTINCT FROM NEW.type_id)
    EXECUTE FUNCTION governance_queue_count_row();

CREATE FUNCTION governance_queue_count_initiatives() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER governance_queue_count_initiative_insert AFTER INSERT ON portfolio_initiative
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION governance_queue_count_initiatives();
CREATE TRIGGER governance_queue_count_initiative_delete AFTER DELETE ON portfolio_initiative
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION governance_queue_count_initiatives();

CREATE FUNCTION governance_queue_count_stage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_upsert(sign="-", source=_joined("governance_checkpoint"), stage="OLD.stage",
             where=" AND c.initiative_id = OLD.id")}
    {_upsert(sign="", source=_joined("governance_checkpoint"), stage="NEW.stage",
             where=" AND c.initiative_id = NEW.id")}
    RETURN NULL;
END $$;
CREATE TRIGGER governance_queue_count_stage AFTER UPDATE ON portfolio_initiative
    FOR EACH ROW WHEN (OLD.stage IS DISTINCT FROM NEW.stage)
    EXECUTE FUNCTION governance_queue_count_stage();

CREATE FUNCTION governance_queue_count_gate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_upsert(sign="-", source=_joined("governance_checkpoint"), gate="OLD.required_for",
             where=" AND c.type_id = OLD.id")}
    {_upsert(sign="", source=_joined("governance_checkpoint"), gate="NEW.required_for",
             where=" AND c.type_id = NEW.id")}
    RETURN NULL;
END $$;
CREATE TRIGGER governance_queue_count_gate AFTER UPDATE ON governance_checkpointtype
    FOR EACH ROW WHEN (OLD.required_for IS DISTINCT FROM NEW.required_for)
    EXECUTE FUNCTION governance_queue_count_gate();
"""

REMOVE = """
DROP TRIGGER IF EXISTS governance_queue_count_gate ON governance_checkpointtype;
DROP TRIGGER IF EXISTS governance_queue_count_stage ON portfolio_initiative;
DROP TRIGGER IF EXISTS governance_queue_count_initiative_delete ON portfolio_initiative;
DROP TRIGGER IF EXISTS governance_queue_count_initiative_insert ON portfolio_initiative;
DROP TRIGGER IF EXISTS governance_queue_count_update ON governance_checkpoint;
DROP TRIGGER IF EXISTS governance_queue_count_delete ON governance_checkpoint;
DROP TRIGGER IF EXISTS governance_queue_count_insert ON governance_checkpoint;
DROP FUNCTION IF EXISTS governance_queue_count_gate();
DROP FUNCTION IF EXISTS governance_queue_count_stage();
DROP FUNCTION IF EXISTS governance_queue_count_initiatives();
DROP FUNCTION IF EXISTS governance_queue_count_row();
DROP FUNCTION IF EXISTS governance_queue_count_rows();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REMOVE)


class Migration(migrations.Migration):

    dependencies = [
        ("governance", "0006_review_routing"),
    ]

    operations = [
        migrations.CreateModel(
            name="QueueCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("stage", models.CharField(max_length=16)),
                ("gate", models.CharField(max_length=16)),
                ("status", models.CharField(max_length=16)),
                ("day", models.DateField()),
                ("checkpoints", models.IntegerField(default=0)),
            ],
        ),
        migrations.AddConstraint(
            model_name="queuecount",
            constraint=models.UniqueConstraint(fields=("stage", "gate", "status", "day"),
                                               name="queue_count_once"),
        ),
        migrations.AddIndex(
            model_name="checkpoint",
            index=models.Index(
                models.ExpressionWrapper(models.Q(("status", "waived")),
                                         output_field=models.BooleanField()),
                models.F("due_date"),
                condition=models.Q(("retired_at__isnull", True),
                                   ("status__in", ["not_started", "in_review", "rejected",
                                                   "waived"])),
                name="checkpoint_queue_rows"),
        ),
        migrations.RunPython(install, remove, elidable=False),
    ]
