"""The production forecast's queue positions without counting the queue (issue 22).

``governance_queueday`` holds, per checkpoint type and UTC day of ``requested_at``, how many
checkpoints are in the review queue with an open status (not started, in review, rejected):
``selectors.in_queue_q`` without the waived ones, whose membership changes with the date
(a lapsed waiver rejoins the queue) and which are counted live. Triggers keep it exact on
every write — services, bulk updates, the bench's COPY, a test's ``.update()`` — so a
position is the sum of a few hundred day rows plus the live rows of one day, whatever the
size of the queue. tests/governance/test_queue_days.py proves it equals ``in_queue_q``.

Membership (``governance_queued``) is ``in_queue_q`` for those statuses: not retired, the
initiative on the lifecycle, and the type gating at most the stage after the initiative's
next (not upcoming: ``upcoming_q``). Bulk inserts and deletes are counted per statement
(a COPY costs one grouped upsert), a changed checkpoint, stage or gate per row. Emptying
the checkpoints or the initiatives (a test database's flush) empties it too.

PostgreSQL only; elsewhere ``selectors._queue_positions`` counts the queue directly.
"""

from django.db import migrations

LIFECYCLE = "ARRAY['idea', 'assessment', 'pilot', 'production', 'scaled']"

SQL = f"""
CREATE TABLE governance_queueday (
    type_id bigint NOT NULL,
    requested_on date NOT NULL,
    queued integer NOT NULL,
    PRIMARY KEY (type_id, requested_on)
);

CREATE FUNCTION governance_queued(status text, retired_at timestamptz, stage text,
                                  required_for text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT retired_at IS NULL
       AND status IN ('not_started', 'in_review', 'rejected')
       AND coalesce(array_position({LIFECYCLE}, stage) + 2
                    > array_position({LIFECYCLE}, required_for), false)
$$;

CREATE FUNCTION governance_queueday_add(kind bigint, requested_at timestamptz, delta integer)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO governance_queueday AS q (type_id, requested_on, queued)
    VALUES (kind, (requested_at AT TIME ZONE 'UTC')::date, delta)
    ON CONFLICT (type_id, requested_on) DO UPDATE SET queued = q.queued + EXCLUDED.queued
$$;

-- Checkpoints written in bulk (services, COPY): one grouped upsert per statement.
CREATE FUNCTION governance_queueday_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO governance_queueday AS q (type_id, requested_on, queued)
        SELECT c.type_id, (c.requested_at AT TIME ZONE 'UTC')::date, count(*)
          FROM new_rows c JOIN portfolio_initiative i ON i.id = c.initiative_id
          JOIN governance_checkpointtype t ON t.id = c.type_id
         WHERE governance_queued(c.status, c.retired_at, i.stage, t.required_for)
         GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (type_id, requested_on) DO UPDATE SET queued = q.queued + EXCLUDED.queued;
    ELSE
        INSERT INTO governance_queueday AS q (type_id, requested_on, queued)
        SELECT c.type_id, (c.requested_at AT TIME ZONE 'UTC')::date, -count(*)
          FROM old_rows c JOIN portfolio_initiative i ON i.id = c.initiative_id
          JOIN governance_checkpointtype t ON t.id = c.type_id
         WHERE governance_queued(c.status, c.retired_at, i.stage, t.required_for)
         GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (type_id, requested_on) DO UPDATE SET queued = q.queued + EXCLUDED.queued;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER governance_queueday_insert AFTER INSERT ON governance_checkpoint
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
EXECUTE FUNCTION governance_queueday_rows();

CREATE TRIGGER governance_queueday_delete AFTER DELETE ON governance_checkpoint
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
EXECUTE FUNCTION governance_queueday_rows();

-- One checkpoint changed: out of its old day, into its new one.
CREATE FUNCTION governance_queueday_checkpoint() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was boolean;
    now_in boolean;
BEGIN
    SELECT governance_queued(OLD.status, OLD.retired_at, i.stage, t.required_for) INTO was
      FROM portfolio_initiative i, governance_checkpointtype t
     WHERE i.id = OLD.initiative_id AND t.id = OLD.type_id;
    SELECT governance_queued(NEW.status, NEW.retired_at, i.stage, t.required_for) INTO now_in
      FROM portfolio_initiative i, governance_checkpointtype t
     WHERE i.id = NEW.initiative_id AND t.id = NEW.type_id;
    IF coalesce(was, false) THEN
        PERFORM governance_queueday_add(OLD.type_id, OLD.requested_at, -1);
    END IF;
    IF coalesce(now_in, false) THEN
        PERFORM governance_queueday_add(NEW.type_id, NEW.requested_at, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER governance_queueday_update AFTER UPDATE ON governance_checkpoint
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                   OR (OLD.retired_at IS NULL) <> (NEW.retired_at IS NULL)
                   OR OLD.requested_at IS DISTINCT FROM NEW.requested_at
                   OR OLD.type_id IS DISTINCT FROM NEW.type_id
                   OR OLD.initiative_id IS DISTINCT FROM NEW.initiative_id)
EXECUTE FUNCTION governance_queueday_checkpoint();

-- An initiative's stage changed: its checkpoints move in or out of the queue.
CREATE FUNCTION governance_queueday_initiative() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO governance_queueday AS q (type_id, requested_on, queued)
    SELECT c.type_id, (c.requested_at AT TIME ZONE 'UTC')::date,
           sum(governance_queued(c.status, c.retired_at, NEW.stage, t.required_for)::int
               - governance_queued(c.status, c.retired_at, OLD.stage, t.required_for)::int)
      FROM governance_checkpoint c JOIN governance_checkpointtype t ON t.id = c.type_id
     WHERE c.initiative_id = NEW.id
     GROUP BY 1, 2
     ORDER BY 1, 2
    ON CONFLICT (type_id, requested_on) DO UPDATE SET queued = q.queued + EXCLUDED.queued;
    RETURN NULL;
END
$$;

CREATE TRIGGER governance_queueday_initiative_stage
AFTER UPDATE OF stage ON portfolio_initiative
FOR EACH ROW WHEN (OLD.stage IS DISTINCT FROM NEW.stage)
EXECUTE FUNCTION governance_queueday_initiative();

-- Checkpoints written before their initiative (deferred foreign keys: the bench's COPY)
-- count when it arrives; those of an initiative deleted before them, when it goes.
CREATE FUNCTION governance_queueday_initiatives() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO governance_queueday AS q (type_id, requested_on, queued)
        SELECT c.type_id, (c.requested_at AT TIME ZONE 'UTC')::date, count(*)
          FROM governance_checkpoint c JOIN new_rows i ON i.id = c.initiative_id
          JOIN governance_checkpointtype t ON t.id = c.type_id
         WHERE governance_queued(c.status, c.retired_at, i.stage, t.required_for)
         GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (type_id, requested_on) DO UPDATE SET queued = q.queued + EXCLUDED.queued;
    ELSE
        INSERT INTO governance_queueday AS q (type_id, requested_on, queued)
        SELECT c.type_id, (c.requested_at AT TIME ZONE 'UTC')::date, -count(*)
          FROM governance_checkpoint c JOIN old_rows i ON i.id = c.initiative_id
          JOIN governance_checkpointtype t ON t.id = c.type_id
         WHERE governance_queued(c.status, c.retired_at, i.stage, t.required_for)
         GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (type_id, requested_on) DO UPDATE SET queued = q.queued + EXCLUDED.queued;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER governance_queueday_initiative_insert AFTER INSERT ON portfolio_initiative
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
EXECUTE FUNCTION governance_queueday_initiatives();

CREATE TRIGGER governance_queueday_initiative_delete AFTER DELETE ON portfolio_initiative
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
EXECUTE FUNCTION governance_queueday_initiatives();

-- A type now gates another stage: its checkpoints are counted again.
CREATE FUNCTION governance_queueday_type() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM governance_queueday WHERE type_id = NEW.id;
    INSERT INTO governance_queueday (type_id, requested_on, queued)
    SELECT c.type_id, (c.requested_at AT TIME ZONE 'UTC')::date, count(*)
      FROM governance_checkpoint c JOIN portfolio_initiative i ON i.id = c.initiative_id
     WHERE c.type_id = NEW.id
       AND governance_queued(c.status, c.retired_at, i.stage, NEW.required_for)
     GROUP BY 1, 2;
    RETURN NULL;
END
$$;

CREATE TRIGGER governance_queueday_type
AFTER UPDATE OF required_for ON governance_checkpointtype
FOR EACH ROW WHEN (OLD.required_for IS DISTINCT FROM NEW.required_for)
EXECUTE FUNCTION governance_queueday_type();

-- Emptied tables (a test database's flush): nothing queued.
CREATE FUNCTION governance_queueday_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE governance_queueday;
    RETURN NULL;
END
$$;

CREATE TRIGGER governance_queueday_truncate_checkpoints
AFTER TRUNCATE ON governance_checkpoint
FOR EACH STATEMENT EXECUTE FUNCTION governance_queueday_truncate();

CREATE TRIGGER governance_queueday_truncate_initiatives
AFTER TRUNCATE ON portfolio_initiative
FOR EACH STATEMENT EXECUTE FUNCTION governance_queueday_truncate();

INSERT INTO governance_queueday (type_id, requested_on, queued)
SELECT c.type_id, (c.requested_at AT TIME ZONE 'UTC')::date, count(*)
  FROM governance_checkpoint c
  JOIN portfolio_initiative i ON i.id = c.initiative_id
  JOIN governance_checkpointtype t ON t.id = c.type_id
 WHERE governance_queued(c.status, c.retired_at, i.stage, t.required_for)
 GROUP BY 1, 2;

-- The live parts of a position: the waived ones, and the queue of one day.
CREATE INDEX checkpoint_queue_waived ON governance_checkpoint (type_id, waiver_expires_on)
 INCLUDE (requested_at, initiative_id) WHERE status = 'waived' AND retired_at IS NULL;
CREATE INDEX checkpoint_queue_requested ON governance_checkpoint (type_id, requested_at, id)
 WHERE retired_at IS NULL AND status <> 'approved';
-- The pace (``decided_in_window_q``): each type's decisions of the last weeks, index only.
CREATE INDEX checkpoint_type_decided_status ON governance_checkpoint (type_id, decided_at)
 INCLUDE (status) WHERE status IN ('approved', 'rejected', 'waived');
"""

REVERSE = """
DROP INDEX checkpoint_type_decided_status;
DROP INDEX checkpoint_queue_requested;
DROP INDEX checkpoint_queue_waived;
DROP TRIGGER governance_queueday_truncate_initiatives ON portfolio_initiative;
DROP TRIGGER governance_queueday_truncate_checkpoints ON governance_checkpoint;
DROP TRIGGER governance_queueday_type ON governance_checkpointtype;
DROP TRIGGER governance_queueday_initiative_delete ON portfolio_initiative;
DROP TRIGGER governance_queueday_initiative_insert ON portfolio_initiative;
DROP TRIGGER governance_queueday_initiative_stage ON portfolio_initiative;
DROP TRIGGER governance_queueday_update ON governance_checkpoint;
DROP TRIGGER governance_queueday_delete ON governance_checkpoint;
DROP TRIGGER governance_queueday_insert ON governance_checkpoint;
DROP FUNCTION governance_queueday_truncate();
DROP FUNCTION governance_queueday_type();
DROP FUNCTION governance_queueday_initiatives();
DROP FUNCTION governance_queueday_initiative();
DROP FUNCTION governance_queueday_checkpoint();
DROP FUNCTION governance_queueday_rows();
DROP FUNCTION governance_queueday_add(bigint, timestamptz, integer);
DROP FUNCTION governance_queued(text, timestamptz, text, text);
DROP TABLE governance_queueday;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SQL)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE)


class Migration(migrations.Migration):

    dependencies = [
        ("governance", "0007_queue_indexes"),
    ]

    operations = [migrations.RunPython(install, remove, elidable=False)]
