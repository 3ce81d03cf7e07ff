"""Every governance write, and the one gate every stage move goes through.

Functions take keyword arguments, the acting user and ``now``; refusals raise
``DomainError`` with a module-constant message.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from governance.models import (
    Checkpoint,
    CheckpointStatus,
    CheckpointType,
    ReviewerGroup,
    ReviewRoute,
)
from portfolio.access import initiative_rights
from portfolio.exceptions import DomainError
from portfolio.models import (
    STAGE_ORDER,
    Activity,
    Initiative,
    Stage,
    Stakeholder,
    tier_allows_stage,
)
from portfolio.outcomes.contract import Evidence, contract_blockers
from portfolio.outcomes.selectors import contract_evidence
from portfolio.roles import Role, roles_of
from portfolio.services import (
    activities_record,
    activity_record,
    initiative_touch,
    portfolio_changed,
)

PROHIBITED = "a prohibited-risk initiative never leaves assessment"
NOT_A_REVIEWER = "Only governance reviewers decide checkpoints."
OWN_INITIATIVE = ("You own or sponsor this initiative, so someone else must review it "
                  "(segregation of duties).")
STAKEHOLDER = ("You are {roles} on this initiative, so someone else must review it "
               "(segregation of duties).")
RE_REVIEW_NOT_REJECTED = "Only a rejected checkpoint can be sent back for another review."
RE_REVIEW_NEEDS_CHANGE = ("Say what changed since the rejection, so the reviewer knows what "
                          "to look at.")
RE_REVIEW_NOT_YOURS = ("Only the initiative's owner or a Responsible PM asks for another "
                       "review.")
DECIDED_MEANWHILE = ("Someone else decided this checkpoint while you were reviewing it "
                     "(it is now {status}); your decision was not saved.")
RETIRED_CHECKPOINT = "This checkpoint no longer applies to the initiative."
ALREADY_DECIDED = "This checkpoint is already {status}."
WAIVER_NEEDS_JUSTIFICATION = "A waiver needs a justification."
WAIVER_NEEDS_FUTURE_EXPIRY = "A waiver's expiry date must be after today."
WAIVER_TOO_LONG = "A waiver can last at most {days} days."
EVIDENCE_NEEDED = "Approving or rejecting needs evidence: a link or notes."
CAPACITY_NOT_POSITIVE = ("Reviews per week must be more than 0. Leave it empty to use the "
                         "pace of recent decisions.")
MAX_WAIVER_DAYS = 366

def _today(now: datetime) -> date:
    return timezone.localdate(now)


def _stage_index(stage: str) -> int:
    return STAGE_ORDER.index(stage) if stage in STAGE_ORDER else -1


# --- Checkpoints follow the AI profile --------------------------------------------------------

@transaction.atomic
def checkpoints_sync(*, initiatives: list[Initiative], actor, now: datetime) -> None:
    """Create the checkpoints that now apply and retire those that no longer do.

    A checkpoint that starts to apply to an initiative already past its gate puts the
    initiative out of compliance (recorded on its timeline) until it is approved or waived.
    Queries: the catalogue, the existing checkpoints, then bulk writes.
    """
    if not initiatives:
        return
    types = list(CheckpointType.objects.filter(active=True))
    existing = {(cp.initiative_id, cp.type_id): cp for cp in Checkpoint.objects.filter(
        initiative__in=[i.pk for i in initiatives]).select_related("type")}
    to_create, to_retire, to_reopen, newly_gating = [], [], [], {}
    for initiative in initiatives:
        applying = {t.pk for t in types if t.applies_to(initiative)}
        for checkpoint_type in types:
            checkpoint = existing.get((initiative.pk, checkpoint_type.pk))
            applies = checkpoint_type.pk in applying
            if applies and checkpoint is None:
                to_create.append(Checkpoint(
                    initiative=initiative, type=checkpoint_type, requested_at=now,
                    due_date=_today(now) + timedelta(days=checkpoint_type.review_days)))
            elif applies and checkpoint.retired_at is not None:
                to_reopen.append(checkpoint)
            if applies and (checkpoint is None or checkpoint.retired_at is not None) \
                    and checkpoint_type.gates(initiative.stage):
                newly_gating.setdefault(initiative, []).append(checkpoint_type.name)
        to_retire += [cp for (initiative_id, _), cp in existing.items()
                      if initiative_id == initiative.pk and cp.retired_at is None
                      and cp.type_id not in applying]
    routes = routes_load()
    for checkpoint in to_create:
        checkpoint.reviewer_group_id = route_for(routes, checkpoint.type_id,
                                                 checkpoint.initiative.team_id)
    if to_create:
        _insert_with_history(to_create, actor=actor, now=now)
        portfolio_changed(what="checkpoints",
                          initiatives={checkpoint.initiative_id for checkpoint in to_create})
    for checkpoint in to_retire:
        checkpoint.retired_at = now
        _save(checkpoint, actor, now)
    for checkpoint in to_reopen:
        # It applies again: what was decided for the old profile is not evidence for this one.
        checkpoint.retired_at = None
        checkpoint.status = CheckpointStatus.NOT_STARTED
        checkpoint.requested_at = now
        checkpoint.due_date = _today(now) + timedelta(days=checkpoint.type.review_days)
        checkpoint.reviewer, checkpoint.decided_at = None, None
        checkpoint.waiver_justification, checkpoint.waiver_expires_on = "", None
        checkpoint.reviewer_group_id = route_for(routes, checkpoint.type_id,
                                                 checkpoint.initiative.team_id)
        checkpoint.version += 1
        _save(checkpoint, actor, now)
    _reviews_requested(
        [cp for cp in to_create + to_reopen if _requested_now(cp, cp.initiative)],
        actor=actor, now=now)
    for initiative, names in newly_gating.items():
        activity_record(initiative=initiative, kind=Activity.Kind.OUT_OF_COMPLIANCE, actor=actor,
                        now=now, details={"checkpoints": sorted(names),
                                          "stage": initiative.stage})


INSERT_BATCH = 2000


def _insert_with_history(checkpoints: list[Checkpoint], *, actor, now: datetime) -> None:
    """Insert new checkpoints and their "created" history rows in a few statements.

    A CSV import of 10,000 initiatives creates ~90,000 checkpoints; the ORM's bulk_create
    spends most of its time preparing values, so this streams the rows (COPY on
    PostgreSQL, executemany on SQLite) and copies the history rows with one
    INSERT ... SELECT per batch.
    """
    table = Checkpoint._meta.db_table
    fields = [f for f in Checkpoint._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    history = Checkpoint.history.model
    history_table = history._meta.db_table
    copied = [f.column for f in Checkpoint._meta.concrete_fields]
    quoted = ", ".join(connection.ops.quote_name(c) for c in copied)
    prepared = {}

    def prepare(field, value):
        # New checkpoints share most values; convert each distinct one once.
        key = (field.attname, value)
        if key not in prepared:
            prepared[key] = field.get_db_prep_save(value, connection)
        return prepared[key]

    at = Checkpoint._meta.get_field("requested_at").get_db_prep_save(now, connection)
    history_at = history._meta.get_field("history_date").get_db_prep_save(now, connection)
    with connection.cursor() as cursor:
        for start in range(0, len(checkpoints), INSERT_BATCH):
            batch = checkpoints[start:start + INSERT_BATCH]
            if connection.vendor == "postgresql":
                # COPY streams the rows without parsing a statement per row.
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for cp in batch:
                        copy.write_row([getattr(cp, f.attname) for f in fields])
            else:
                rows = [[prepare(f, getattr(cp, f.attname)) for f in fields] for cp in batch]
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",
                                   rows)
            initiative_ids = sorted({cp.initiative_id for cp in batch})
            marks = ", ".join(["%s"] * len(initiative_ids))
            cursor.execute(
                f"INSERT INTO {history_table} ({quoted}, history_date, history_change_reason, "
                f"history_type, history_user_id) "
                f"SELECT {quoted}, %s, NULL, '+', %s FROM {table} c "
                f"WHERE c.initiative_id IN ({marks}) AND c.requested_at = %s "
                f"AND NOT EXISTS (SELECT 1 FROM {history_table} h WHERE h.id = c.id)",
                [history_at, actor.pk if actor else None, *initiative_ids, at])


def _save(checkpoint: Checkpoint, actor, now: datetime) -> None:
    checkpoint._history_user = actor
    checkpoint._history_date = now
    checkpoint.full_clean(validate_constraints=False)
    checkpoint.save()
    portfolio_changed(what="checkpoint", initiatives=[checkpoint.initiative_id])


@transaction.atomic
def checkpoints_request(*, initiative: Initiative, from_stage: str, actor, now: datetime) -> None:
    """After a forward move, the reviews for the next gate are requested now: their lead
    time and due date count from the moment the initiative could use them."""
    if initiative.stage not in STAGE_ORDER:
        return
    index = STAGE_ORDER.index(initiative.stage)
    if index + 1 >= len(STAGE_ORDER) or (from_stage in STAGE_ORDER
                                         and STAGE_ORDER.index(from_stage) >= index):
        return
    upcoming = (Checkpoint.objects.applicable().uncleared(_today(now))
                .filter(initiative=initiative, type__required_for=STAGE_ORDER[index + 1],
                        requested_at__lt=now)
                .select_related("type"))
    routes = routes_load()
    requested = list(upcoming)
    for checkpoint in requested:
        checkpoint.requested_at = now
        checkpoint.due_date = _today(now) + timedelta(days=checkpoint.type.review_days)
        checkpoint.reviewer_group_id = route_for(routes, checkpoint.type_id, initiative.team_id)
        _save(checkpoint, actor, now)
    for checkpoint in requested:
        checkpoint.initiative = initiative
    _reviews_requested(requested, actor=actor, now=now)


def _requested_now(checkpoint: Checkpoint, initiative: Initiative) -> bool:
    """Its review is due now: the initiative is on the lifecycle and the checkpoint gates
    its next stage or an earlier one (not upcoming: ``models.upcoming_q``)."""
    return (initiative.stage in STAGE_ORDER
            and checkpoint.type.required_for not in
            [s.value for s in STAGE_ORDER[STAGE_ORDER.index(initiative.stage) + 2:]])


def _reviews_requested(checkpoints: list[Checkpoint], *, actor, now: datetime) -> None:
    """One "review requested" event per initiative, naming its checkpoints (the reviewers
    they are routed to are told: ``governance.extensions``)."""
    if not checkpoints:
        return
    if any(checkpoint.pk is None for checkpoint in checkpoints):
        # Inserted in bulk (``_insert_with_history``), so without their ids: one query.
        ids = {(initiative_id, type_id): pk for initiative_id, type_id, pk in Checkpoint.objects
               .filter(initiative__in={cp.initiative_id for cp in checkpoints})
               .values_list("initiative_id", "type_id", "pk")}
        for checkpoint in checkpoints:
            checkpoint.pk = checkpoint.pk or ids.get((checkpoint.initiative_id,
                                                      checkpoint.type_id))
    by_initiative: dict[int, list[Checkpoint]] = {}
    for checkpoint in checkpoints:
        by_initiative.setdefault(checkpoint.initiative_id, []).append(checkpoint)
    activities_record(activities=[
        Activity(initiative_id=initiative_id, kind=Activity.Kind.REVIEW_REQUESTED, actor=actor,
                 at=now, details={"checkpoints": [
                     {"id": cp.pk, "name": cp.type.name,
                      "group": cp.reviewer_group_id} for cp in sorted(
                         group, key=lambda cp: cp.type.name)]})
        for initiative_id, group in sorted(by_initiative.items())], now=now)


# --- Routing reviews to reviewer groups -----------------------------------------------------------

def routes_load() -> dict[tuple[int | None, int | None], int]:
    """Every route, as (type id or None, team id or None) -> group id (one query)."""
    return {(type_id, team_id): group_id for type_id, team_id, group_id
            in ReviewRoute.objects.values_list("checkpoint_type_id", "team_id", "group_id")}


def route_for(routes: dict, type_id: int, team_id: int | None) -> int | None:
    """The group that reviews a checkpoint of this type for this team: the route for the
    type and the team, else for the type, else for the team; None (every reviewer)."""
    for key in ((type_id, team_id), (type_id, None), (None, team_id)):
        if key in routes:
            return routes[key]
    return None


@transaction.atomic
def review_routes_apply(*, actor, now: datetime) -> int:
    """After a route changed: every open checkpoint goes to the group its route names now
    (decided ones keep the group that reviewed them). Returns how many moved."""
    routes = routes_load()
    moved = 0
    wanted: dict[int | None, list[int]] = {}
    for pk, type_id, team_id, group_id in (Checkpoint.objects.applicable()
                                           .filter(status__in=[CheckpointStatus.NOT_STARTED,
                                                               CheckpointStatus.IN_REVIEW,
                                                               CheckpointStatus.REJECTED])
                                           .values_list("pk", "type_id", "initiative__team_id",
                                                        "reviewer_group_id")):
        route = route_for(routes, type_id, team_id)
        if route != group_id:
            wanted.setdefault(route, []).append(pk)
    for group_id, pks in wanted.items():
        for start in range(0, len(pks), INSERT_BATCH):
            moved += Checkpoint.objects.filter(pk__in=pks[start:start + INSERT_BATCH]).update(
                reviewer_group_id=group_id)
    return moved


@transaction.atomic
def review_route_save(*, route: ReviewRoute, actor, now: datetime) -> ReviewRoute:
    """Add or edit a route (admins); open checkpoints follow it at once."""
    route._history_user = actor
    route._history_date = now
    route.full_clean()
    route.save()
    review_routes_apply(actor=actor, now=now)
    return route


@transaction.atomic
def review_route_delete(*, route: ReviewRoute, actor, now: datetime) -> None:
    route._history_user = actor
    route._history_date = now
    route.delete()
    review_routes_apply(actor=actor, now=now)


@transaction.atomic
def reviewer_group_save(*, group: ReviewerGroup, actor, now: datetime) -> ReviewerGroup:
    group._history_user = actor
    group._history_date = now
    group.full_clean()
    group.save()
    return group


@transaction.atomic
def reviewer_group_delete(*, group: ReviewerGroup, actor, now: datetime) -> None:
    group._history_user = actor
    group._history_date = now
    group.delete()  # its routes go with it; its checkpoints fall back to every reviewer
    review_routes_apply(actor=actor, now=now)


# --- The catalogue ----------------------------------------------------------------------------

@transaction.atomic
def checkpoint_type_save(*, checkpoint_type: CheckpointType, actor,
                         now: datetime) -> CheckpointType:
    """Add a catalogue entry, or save the edit of one (its fields already set, e.g. by the
    admin's form, or back to a past version from its history). The change history says who
    and when; which checkpoints apply, and so what blocks whom, follows the catalogue, so
    the portfolio's derived views are told (``portfolio_changed``)."""
    try:
        validate_reviews_per_week(checkpoint_type.reviews_per_week)
    except ValidationError as error:
        raise ValidationError({"reviews_per_week": error.messages}) from None
    checkpoint_type._history_user = actor
    checkpoint_type._history_date = now
    checkpoint_type.full_clean()
    checkpoint_type.save()
    portfolio_changed(what="catalogue")
    return checkpoint_type


def validate_reviews_per_week(value) -> None:
    """Reviewer capacity is empty (use the measured pace) or more than 0 — the
    ``checkpoint_type_capacity_positive`` constraint, as a field's error (the admin's form
    asks it too, so the error sits on the field there as well)."""
    if value is not None and value <= 0:
        raise ValidationError(CAPACITY_NOT_POSITIVE, code="capacity_not_positive")


@transaction.atomic
def checkpoint_type_delete(*, checkpoint_type: CheckpointType, actor, now: datetime) -> None:
    """Remove a catalogue entry no checkpoint uses (one in use is retired instead: the
    database refuses to delete it)."""
    checkpoint_type._history_user = actor
    checkpoint_type._history_date = now
    checkpoint_type.delete()
    portfolio_changed(what="catalogue")


# --- The gate ---------------------------------------------------------------------------------

def gate_blockers(*, initiative: Initiative, to_stage: str, now: datetime) -> list[str]:
    """Everything that stops ``initiative`` entering ``to_stage``; empty when it may.

    The one gate: every checkpoint that applies and gates ``to_stage`` or an earlier stage
    must be approved or waived and unexpired; pilot needs the exit contract, production
    the measured result; a prohibited tier never leaves assessment.
    """
    if to_stage not in STAGE_ORDER:
        return []
    today = _today(now)
    open_checkpoints = (Checkpoint.objects.applicable().uncleared(today)
                        .filter(initiative=initiative,
                                type__required_for__in=STAGE_ORDER[:_stage_index(to_stage) + 1])
                        .select_related("type"))
    evidence = (contract_evidence(initiative)
                if _stage_index(to_stage) >= _stage_index(Stage.PRODUCTION) else Evidence())
    return gate_blockers_given(initiative=initiative, to_stage=to_stage, today=today,
                               open_checkpoints=open_checkpoints, evidence=evidence)


def gate_blockers_given(*, initiative: Initiative, to_stage: str, today: date,
                        open_checkpoints, evidence: Evidence) -> list[str]:
    """``gate_blockers`` for a caller that loaded the initiative's uncleared applicable
    checkpoints and its contract evidence itself (in bulk, for many initiatives); the same
    rules, no query."""
    if to_stage not in STAGE_ORDER:
        return []
    blockers = []
    target = _stage_index(to_stage)
    if not tier_allows_stage(initiative.risk_tier, to_stage):
        blockers.append(PROHIBITED)
    gating = sorted((cp for cp in open_checkpoints
                     if _stage_index(cp.type.required_for) <= target),
                    key=lambda cp: (cp.type.name, cp.pk))
    blockers += [f"{cp.type.name} ({_status_phrase(cp, today)})" for cp in gating]
    # The exit contract's rules are portfolio's (``portfolio.outcomes.contract``); the gate
    # names them with the rest.
    blockers += [blocker.text for blocker in contract_blockers(
        initiative=initiative, to_stage=to_stage, today=today, evidence=evidence)]
    return blockers


def _status_phrase(checkpoint: Checkpoint, today: date) -> str:
    if checkpoint.status == CheckpointStatus.WAIVED:
        return f"waiver expired {checkpoint.waiver_expires_on:%-d %b %Y}"
    return checkpoint.get_status_display().lower()


# --- Decisions ----------------------------------------------------------------------------------

def decide_refusal(user, checkpoint: Checkpoint, *, stakes: set[str] | None = None
                   ) -> str | None:
    """Why ``user`` may not decide this checkpoint, or None when they may: only active
    reviewers, never on an initiative they own or sponsor, nor one they hold a role on that
    ``SEGREGATED_ROLES`` names (Responsible and Consulted by default). ``stakes``: the
    user's RACI roles on the initiative when the caller loaded them for many rows
    (``segregated_stakes``); otherwise one query. Pages ask it to show the reason; every
    decision service enforces it."""
    if not user.is_active or Role.REVIEWER not in roles_of(user):
        return NOT_A_REVIEWER
    if user.pk in (checkpoint.initiative.owner_id, checkpoint.initiative.sponsor_id):
        return OWN_INITIATIVE
    if stakes is None:
        stakes = segregated_stakes(user, [checkpoint.initiative_id]).get(
            checkpoint.initiative_id, set())
    held = [role for role in Stakeholder.Role if role.value in stakes]
    if held:
        return STAKEHOLDER.format(roles=" and ".join(role.label for role in held))
    return None


def segregated_stakes(user, initiative_ids) -> dict[int, set[str]]:
    """The roles ``user`` holds on these initiatives that keep them from deciding their
    checkpoints (``SEGREGATED_ROLES``), in one query."""
    roles = list(settings.SEGREGATED_ROLES)
    if not roles or not getattr(user, "pk", None):
        return {}
    stakes: dict[int, set[str]] = {}
    for initiative_id, role in (Stakeholder.objects
                                .filter(user=user, initiative__in=list(initiative_ids),
                                        role__in=roles)
                                .values_list("initiative_id", "role")):
        stakes.setdefault(initiative_id, set()).add(role)
    return stakes


def _require_independent_reviewer(*, checkpoint: Checkpoint, actor) -> None:
    refusal = decide_refusal(actor, checkpoint)
    if refusal:
        raise DomainError(refusal)


def _claim(*, checkpoint: Checkpoint, expected_version: int, changes: dict) -> Checkpoint:
    """Write a decision only if nobody else decided since ``expected_version`` was read.

    A conditional UPDATE compares the version under the row's lock: of two reviewers
    deciding at once exactly one row changes; the other is refused on ``version`` (a stale
    write, which the API answers with 412).
    """
    changed = (Checkpoint.objects
               .filter(pk=checkpoint.pk, version=expected_version, retired_at__isnull=True)
               .update(version=F("version") + 1, **changes))
    current = Checkpoint.objects.select_related("initiative", "type").get(pk=checkpoint.pk)
    if not changed:
        if current.retired_at is not None:
            raise DomainError(RETIRED_CHECKPOINT)
        raise DomainError(DECIDED_MEANWHILE.format(status=current.get_status_display().lower()),
                          field="version")
    return current


def _record_history(checkpoint: Checkpoint, actor, now: datetime) -> None:
    """simple-history does not see a queryset UPDATE; saving the won row records who and when."""
    checkpoint._history_user = actor
    checkpoint._history_date = now
    checkpoint.save()
    portfolio_changed(what="checkpoint", initiatives=[checkpoint.initiative_id])


def _record_decision(checkpoint: Checkpoint, actor, now: datetime) -> None:
    # simple-history does not see a queryset UPDATE: record the new state explicitly.
    _record_history(checkpoint, actor, now)
    initiative_touch(checkpoint.initiative, now)  # a decision is activity; never backwards
    activity_record(initiative=checkpoint.initiative, kind=Activity.Kind.CHECKPOINT_DECIDED,
                    actor=actor, now=now,
                    details={"checkpoint": checkpoint.type.name, "status": checkpoint.status,
                             "checkpoint_id": checkpoint.pk, "round": checkpoint.round,
                             "evidence_url": checkpoint.evidence_url,
                             "evidence_notes": checkpoint.evidence_notes[:1000],
                             "waiver_justification": checkpoint.waiver_justification[:1000],
                             "waiver_expires_on": (checkpoint.waiver_expires_on.isoformat()
                                                   if checkpoint.waiver_expires_on else "")})
    if (checkpoint.status == CheckpointStatus.REJECTED
            and checkpoint.type.gates(checkpoint.initiative.stage)):
        # Rejected after the initiative passed its gate: it is out of compliance now.
        activity_record(initiative=checkpoint.initiative, kind=Activity.Kind.OUT_OF_COMPLIANCE,
                        actor=actor, now=now,
                        details={"checkpoints": [checkpoint.type.name],
                                 "stage": checkpoint.initiative.stage, "rejected": True})


@transaction.atomic
def checkpoint_start_review(*, checkpoint: Checkpoint, actor, expected_version: int,
                            now: datetime) -> Checkpoint:
    """A reviewer takes the checkpoint: it is in review, and theirs."""
    _require_independent_reviewer(checkpoint=checkpoint, actor=actor)
    if checkpoint.status not in (CheckpointStatus.NOT_STARTED, CheckpointStatus.REJECTED):
        raise DomainError(ALREADY_DECIDED.format(status=checkpoint.get_status_display().lower()))
    current = _claim(checkpoint=checkpoint, expected_version=expected_version,
                     changes={"status": CheckpointStatus.IN_REVIEW, "reviewer": actor})
    _record_history(current, actor, now)
    return current


@transaction.atomic
def checkpoint_decide(*, checkpoint: Checkpoint, actor, approve: bool, expected_version: int,
                      evidence_url: str = "", evidence_notes: str = "",
                      now: datetime) -> Checkpoint:
    """Approve or reject with evidence. Only an independent reviewer; only one decision stands."""
    _require_independent_reviewer(checkpoint=checkpoint, actor=actor)
    if not (evidence_url.strip() or evidence_notes.strip()):
        raise DomainError(EVIDENCE_NEEDED, field="evidence_notes")
    status = CheckpointStatus.APPROVED if approve else CheckpointStatus.REJECTED
    current = _claim(checkpoint=checkpoint, expected_version=expected_version, changes={
        "status": status, "reviewer": actor, "decided_at": now,
        "evidence_url": evidence_url.strip(), "evidence_notes": evidence_notes.strip(),
        "waiver_justification": "", "waiver_expires_on": None, "waiver_lapse_reported_at": None,
    })
    _record_decision(current, actor, now)
    return current


@transaction.atomic
def checkpoint_waive(*, checkpoint: Checkpoint, actor, justification: str, expires_on: date,
                     expected_version: int, now: datetime) -> Checkpoint:
    """Let the gate open without approval until ``expires_on``; the expiry re-blocks it."""
    _require_independent_reviewer(checkpoint=checkpoint, actor=actor)
    if not justification.strip():
        raise DomainError(WAIVER_NEEDS_JUSTIFICATION, field="justification")
    today = _today(now)
    if expires_on <= today:
        raise DomainError(WAIVER_NEEDS_FUTURE_EXPIRY, field="expires_on")
    if expires_on > today + timedelta(days=MAX_WAIVER_DAYS):
        raise DomainError(WAIVER_TOO_LONG.format(days=MAX_WAIVER_DAYS), field="expires_on")
    current = _claim(checkpoint=checkpoint, expected_version=expected_version, changes={
        "status": CheckpointStatus.WAIVED, "reviewer": actor, "decided_at": now,
        "waiver_justification": justification.strip(), "waiver_expires_on": expires_on,
        "waiver_lapse_reported_at": None,
    })
    _record_decision(current, actor, now)
    return current


@transaction.atomic
def checkpoint_request_re_review(*, checkpoint: Checkpoint, actor, changed: str,
                                 expected_version: int, now: datetime) -> Checkpoint:
    """After a rejection, the owner or a Responsible PM says what changed and asks for
    another review: the checkpoint is requested again (round + 1, not started, due
    ``review_days`` from now, lead time counting from now), routed as it is today, and the
    reviewers — and whoever rejected it — are told. The first round stays in the history."""
    if not initiative_rights(actor, checkpoint.initiative).edit:
        raise DomainError(RE_REVIEW_NOT_YOURS)
    if checkpoint.status != CheckpointStatus.REJECTED:
        raise DomainError(RE_REVIEW_NOT_REJECTED)
    changed = changed.strip()
    if not changed:
        raise DomainError(RE_REVIEW_NEEDS_CHANGE, field="changed")
    rejected_by = checkpoint.reviewer_id
    current = _claim(checkpoint=checkpoint, expected_version=expected_version, changes={
        "status": CheckpointStatus.NOT_STARTED, "reviewer": None, "decided_at": None,
        "round": F("round") + 1, "requested_at": now,
        "due_date": _today(now) + timedelta(days=checkpoint.type.review_days),
        "reviewer_group_id": route_for(routes_load(), checkpoint.type_id,
                                       checkpoint.initiative.team_id),
    })
    _record_history(current, actor, now)
    initiative_touch(current.initiative, now)
    activity_record(initiative=current.initiative, kind=Activity.Kind.RE_REVIEW_REQUESTED,
                    actor=actor, now=now,
                    details={"checkpoint": current.type.name, "checkpoint_id": current.pk,
                             "round": current.round, "changed": changed[:2000],
                             "rejected_by": rejected_by, "group": current.reviewer_group_id})
    return current


# --- The daily waiver job ---------------------------------------------------------------------

def waivers_lapse(*, now: datetime) -> int:
    """Report each waiver that expired: its gate is blocked again, and an initiative already
    past that gate is out of compliance. Safe to run twice at once: each lapse is claimed
    with a conditional UPDATE and reported once. Returns how many were reported."""
    today = _today(now)
    due = (Checkpoint.objects.applicable()
           .filter(status=CheckpointStatus.WAIVED, waiver_expires_on__lt=today,
                   waiver_lapse_reported_at__isnull=True)
           .select_related("initiative", "type"))
    reported = 0
    for checkpoint in due.iterator(chunk_size=500):
        with transaction.atomic():
            claimed = Checkpoint.objects.filter(
                pk=checkpoint.pk, waiver_lapse_reported_at__isnull=True,
                status=CheckpointStatus.WAIVED,
            ).update(waiver_lapse_reported_at=now)
            if not claimed:
                continue
            reported += 1
            if checkpoint.type.gates(checkpoint.initiative.stage):
                activity_record(initiative=checkpoint.initiative,
                                kind=Activity.Kind.OUT_OF_COMPLIANCE, actor=None, now=now,
                                details={"checkpoints": [checkpoint.type.name],
                                         "stage": checkpoint.initiative.stage,
                                         "waiver_expired": checkpoint.waiver_expires_on
                                         .isoformat()})
    return reported
