"""The review queue's rows, kept by the database (issue 22).

``governance_queuerow`` (``governance.models.QueueRow``) holds one row per checkpoint in the
review queue but for the date — ``selectors.in_queue_q`` without the waiver expiry: not
retired, not approved, its initiative on the lifecycle and its gate not upcoming — with the
checkpoint's status, due date, waiver expiry, initiative, reviewer and reviewer group. The
queue is read in order through it (``selectors.queue_ordered``) and a reviewer's "mine" is
counted from it (``selectors.review_queue_mine_counts``), without reading the open
checkpoints of paused and retired initiatives or the upcoming ones, which crowd the front of
the queue on a large portfolio.

Membership (``governance_queue_row_in``) is the rule of 0008's ``governance_queued`` with
expired waivers included. The triggers mirror 0007's and 0008's: checkpoint INSERT / DELETE
per statement over its transition table (a COPY costs one INSERT ... SELECT); a checkpoint
UPDATE of a column the row holds or its membership reads, per row; an initiative's stage
change, per row; initiative INSERT / DELETE per statement (checkpoints written before their
initiative — deferred foreign keys, the bench's COPY — join when it arrives); a type's gate
change, per row; emptied tables (a test database's flush) empty it.
tests/governance/test_queue_counts.py proves the rows equal the queue after every kind of
write.

PostgreSQL only; elsewhere the queue is read from the checkpoints.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

LIFECYCLE = "ARRAY['idea', 'assessment', 'pilot', 'production', 'scaled']"

# The row of checkpoint ``c`` whose initiative is ``i`` and type ``t``, if it is queued.
COLUMNS = ("checkpoint_id, status, due_date, waiver_expires_on, initiative_id, reviewer_id, "
           "reviewer_group_id")
ROW = ("{c}.id, {c}.status, {c}.due_date, {c}.waiver_expires_on, {c}.initiative_id, "
       "{c}.reviewer_id, {c}.reviewer_group_id")
QUEUED = "governance_queue_row_in({c}.status, {c}.retired_at, {stage}, {gate})"


def _insert(source: str, *, c: str = "c", stage: str = "i.stage", gate: str = "t.required_for",
            where: str = "") -> str:
    return (f"INSERT INTO governance_queuerow ({COLUMNS}) SELECT {ROW.format(c=c)} "
            f"FROM {source} WHERE {QUEUED.format(c=c, stage=stage, gate=gate)}{where} "
            "ON CONFLICT (checkpoint_id) DO NOTHING;")


def _joined(checkpoints: str = "governance_checkpoint",
            initiatives: str = "portfolio_initiative") -> str:
    return (f"{checkpoints} c JOIN {initiatives} i ON i.id = c.initiative_id "
            "JOIN governance_checkpointtype t ON t.id = c.type_id")


SQL = f"""
CREATE FUNCTION governance_queue_row_in(status text, retired_at timestamptz, stage text,
                                        required_for text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT retired_at IS NULL
       AND status IN ('not_started', 'in_review', 'rejected', 'waived')
       AND coalesce(array_position({LIFECYCLE}, stage) + 2
                    > array_position({LIFECYCLE}, required_for), false)
$$;

-- Checkpoints written in bulk (services, COPY): one statement each way.
CREATE FUNCTION governance_queue_row_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_insert(_joined("new_rows"))}
    ELSE
        DELETE FROM governance_queuerow q USING old_rows o WHERE q.checkpoint_id = o.id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER governance_queue_row_insert AFTER INSERT ON governance_checkpoint
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
EXECUTE FUNCTION governance_queue_row_rows();

CREATE TRIGGER governance_queue_row_delete AFTER DELETE ON governance_checkpoint
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
EXECUTE FUNCTION governance_queue_row_rows();

-- One checkpoint changed: its row goes, and comes back as it is now if it is queued.
CREATE FUNCTION governance_queue_row_checkpoint() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM governance_queuerow WHERE checkpoint_id = OLD.id;
    {_insert("portfolio_initiative i, governance_checkpointtype t", c="NEW",
             where=" AND i.id = NEW.initiative_id AND t.id = NEW.type_id")}
    RETURN NULL;
END
$$;

CREATE TRIGGER governance_queue_row_update AFTER UPDATE ON governance_checkpoint
FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id
                   OR OLD.status IS DISTINCT FROM NEW.status
                   OR OLD.due_date IS DISTINCT FROM NEW.due_date
                   OR OLD.waiver_expires_on IS DISTINCT FROM NEW.waiver_expires_on
                   OR (OLD.retired_at IS NULL) <> (NEW.retired_at IS NULL)
                   OR OLD.initiative_id IS DISTINCT FROM NEW.initiative_id
                   OR OLD.type_id IS DISTINCT FROM NEW.type_id
                   OR OLD.reviewer_id IS DISTINCT FROM NEW.reviewer_id
                   OR OLD.reviewer_group_id IS DISTINCT FROM NEW.reviewer_group_id)
EXECUTE FUNCTION governance_queue_row_checkpoint();

-- An initiative's stage changed: its checkpoints' rows are written again.
CREATE FUNCTION governance_queue_row_stage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM governance_queuerow WHERE checkpoint_id IN (
        SELECT c.id FROM governance_checkpoint c WHERE c.initiative_id = NEW.id);
    {_insert("governance_checkpoint c JOIN governance_checkpointtype t ON t.id = c.type_id",
             stage="NEW.stage", where=" AND c.initiative_id = NEW.id")}
    RETURN NULL;
END
$$;

CREATE TRIGGER governance_queue_row_stage AFTER UPDATE OF stage ON portfolio_initiative
FOR EACH ROW WHEN (OLD.stage IS DISTINCT FROM NEW.stage)
EXECUTE FUNCTION governance_queue_row_stage();

-- Checkpoints written before their initiative (deferred foreign keys: the bench's COPY)
-- join when it arrives; those of an initiative deleted before them leave when it goes.
CREATE FUNCTION governance_queue_row_initiatives() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_insert(_joined(initiatives="new_rows"))}
    ELSE
        DELETE FROM governance_queuerow WHERE checkpoint_id IN (
            SELECT c.id FROM governance_checkpoint c JOIN old_rows i ON i.id = c.initiative_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER governance_queue_row_initiative_insert AFTER INSERT ON portfolio_initiative
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
EXECUTE FUNCTION governance_queue_row_initiatives();

CREATE TRIGGER governance_queue_row_initiative_delete AFTER DELETE ON portfolio_initiative
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
EXECUTE FUNCTION governance_queue_row_initiatives();

-- A type now gates another stage: its checkpoints' rows are written again.
CREATE FUNCTION governance_queue_row_gate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM governance_queuerow WHERE checkpoint_id IN (
        SELECT c.id FROM governance_checkpoint c WHERE c.type_id = NEW.id);
    {_insert("governance_checkpoint c JOIN portfolio_initiative i ON i.id = c.initiative_id",
             gate="NEW.required_for", where=" AND c.type_id = NEW.id")}
    RETURN NULL;
END
$$;

CREATE TRIGGER governance_queue_row_gate
AFTER UPDATE OF required_for ON governance_checkpointtype
FOR EACH ROW WHEN (OLD.required_for IS DISTINCT FROM NEW.required_for)
EXECUTE FUNCTION governance_queue_row_gate();

-- Emptied tables (a test database's flush): nothing queued.
CREATE FUNCTION governance_queue_row_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM governance_queuerow;
    RETURN NULL;
END
$$;

CREATE TRIGGER governance_queue_row_truncate_checkpoints AFTER TRUNCATE ON governance_checkpoint
FOR EACH STATEMENT EXECUTE FUNCTION governance_queue_row_truncate();

CREATE TRIGGER governance_queue_row_truncate_initiatives AFTER TRUNCATE ON portfolio_initiative
FOR EACH STATEMENT EXECUTE FUNCTION governance_queue_row_truncate();

{_insert(_joined())}
"""

REVERSE = """
DROP TRIGGER governance_queue_row_truncate_initiatives ON portfolio_initiative;
DROP TRIGGER governance_queue_row_truncate_checkpoints ON governance_checkpoint;
DROP TRIGGER governance_queue_row_gate ON governance_checkpointtype;
DROP TRIGGER governance_queue_row_initiative_delete ON portfolio_initiative;
DROP TRIGGER governance_queue_row_initiative_insert ON portfolio_initiative;
DROP TRIGGER governance_queue_row_stage ON portfolio_initiative;
DROP TRIGGER governance_queue_row_update ON governance_checkpoint;
DROP TRIGGER governance_queue_row_delete ON governance_checkpoint;
DROP TRIGGER governance_queue_row_insert ON governance_checkpoint;
DROP FUNCTION governance_queue_row_truncate();
DROP FUNCTION governance_queue_row_gate();
DROP FUNCTION governance_queue_row_initiatives();
DROP FUNCTION governance_queue_row_stage();
DROP FUNCTION governance_queue_row_checkpoint();
DROP FUNCTION governance_queue_row_rows();
DROP FUNCTION governance_queue_row_in(text, timestamptz, text, text);
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SQL)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE)


class Migration(migrations.Migration):

    dependencies = [
        ("governance", "0009_queue_routing"),
        ("portfolio", "0014_notifications"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="QueueRow",
            fields=[
                ("checkpoint", models.OneToOneField(
                    db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING,
                    primary_key=True, related_name="queue_row", serialize=False,
                    to="governance.checkpoint")),
                ("status", models.CharField(max_length=16)),
                ("due_date", models.DateField()),
                ("waiver_expires_on", models.DateField(null=True)),
                ("initiative", models.ForeignKey(
                    db_constraint=False, db_index=False,
                    on_delete=django.db.models.deletion.DO_NOTHING, related_name="+",
                    to="portfolio.initiative")),
                ("reviewer", models.ForeignKey(
                    db_constraint=False, db_index=False, null=True,
                    on_delete=django.db.models.deletion.DO_NOTHING, related_name="+",
                    to=settings.AUTH_USER_MODEL)),
                ("reviewer_group", models.ForeignKey(
                    db_constraint=False, db_index=False, null=True,
                    on_delete=django.db.models.deletion.DO_NOTHING, related_name="+",
                    to="governance.reviewergroup")),
            ],
            options={
                "indexes": [
                    models.Index(models.ExpressionWrapper(
                        models.Q(("status", "waived")), output_field=models.BooleanField()),
                        models.F("due_date"), name="queue_row_order"),
                    models.Index(fields=["status", "due_date"], name="queue_row_status"),
                    models.Index(condition=models.Q(("reviewer__isnull", False)),
                                 fields=["reviewer"],
                                 include=("status", "due_date", "waiver_expires_on",
                                          "initiative"),
                                 name="queue_row_taken"),
                    models.Index(condition=models.Q(("reviewer__isnull", True)),
                                 fields=["initiative"],
                                 include=("status", "due_date", "waiver_expires_on",
                                          "reviewer_group"),
                                 name="queue_row_untaken"),
                ],
            },
        ),
        # Backwards, the table is dropped after its triggers.
        migrations.RunPython(install, remove, elidable=False),
    ]
