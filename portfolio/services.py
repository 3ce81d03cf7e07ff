"""Every write to the portfolio domain goes through a function here.

Functions take keyword arguments, the acting user and ``now`` (never the wall
clock), validate with ``full_clean()`` and record an ``Activity``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from portfolio import hooks
from portfolio.access import NOT_AN_OWNER, NOT_STEWARD, can_steward_ownership, eligible_owners
from portfolio.exceptions import DomainError
from portfolio.models import (
    STAGE_ORDER,
    Activity,
    Dependency,
    Initiative,
    Stage,
    StageTransition,
    Stakeholder,
    StallFlag,
    StallResolution,
    Team,
    Update,
    WorkerHeartbeat,
    past_date_errors,
    profile_as_chosen,
    tier_allows_stage,
)
from portfolio.notifications.services import events_fan_out
from portfolio.outcomes import contract
from portfolio.similarity import index_initiatives

OWNER_INACTIVE = "The owner must be an active user."


def owner_check(user) -> None:
    """The one accountable owner must be able to act as owner (``access.eligible_owners``)."""
    owners_check([user])


def owners_check(users: Iterable) -> None:
    """``owner_check`` for many owners at once, in one query."""
    users = list({user.pk: user for user in users}.values())
    for user in users:
        if not user.is_active:
            raise DomainError(OWNER_INACTIVE, field="owner")
    may_own = set(eligible_owners().filter(pk__in=[user.pk for user in users])
                  .values_list("pk", flat=True))
    for user in users:
        if user.pk not in may_own:
            raise DomainError(NOT_AN_OWNER.format(name=user.get_full_name()
                                                  or user.get_username()), field="owner")


PROHIBITED_STAYS = "A prohibited-risk initiative cannot go beyond assessment."
MOVE_NOT_ALLOWED = "Cannot move from {from_stage} to {to_stage}."
BACK_NEEDS_NOTE = "Moving back a stage needs a note saying why."
RETIRE_NEEDS_REASON = "Retiring needs a reason."
RETIRE_NEEDS_LESSONS = "Retiring needs the lessons learned, for the kill log."
STAGE_CHANGED_MEANWHILE = ("The stage changed to {stage} since you loaded the page; "
                           "nothing was moved. Check the timeline and try again.")
RESUMES_AT = "A paused initiative resumes in the stage it was paused from ({stage})."
SAME_STAGE = "The initiative is already in {stage}."
GATE_BLOCKED = "Cannot enter {stage} yet: {blockers}."
DEPENDENCY_CYCLE = "{title} already depends on this initiative, directly or indirectly."


def portfolio_changed(*, what: str, initiatives: Iterable[int] = (), teams: Iterable[int] = (),
                      owners: Iterable[int | None] = ()) -> None:
    """Say, inside the writing transaction, that something the portfolio's derived views
    read has changed (``what``: a word for the logs), naming what it can have moved: the
    ``initiatives`` whose own rows changed (their team is read from them), the ``teams``
    whose funding lines may move otherwise (a capacity plan, the team an initiative left),
    the ``owners`` who gave a sign of life (it can close the ownership gaps of what they
    own). Naming nothing says that anything may have moved (the catalogue, a scoring model,
    an account). Every event on an initiative says it through ``activity_record``; writers
    that record no activity call this themselves. The stored standings listen
    (``hooks.CHANGE_LISTENERS``) and recompute only what is named."""
    hooks.changed(what=what, initiatives=initiatives, teams=teams,
                  owners=[owner for owner in owners if owner is not None])


def activity_record(*, initiative: Initiative, kind: str, actor, now: datetime,
                    details: dict | None = None) -> Activity:
    """Append one event to an initiative's timeline (used by every app). A kind people are
    told about writes its notifications in the same transaction
    (``portfolio.notifications.services.events_fan_out``)."""
    portfolio_changed(what=kind, initiatives=[initiative.pk],
                      owners=[getattr(actor, "pk", None)])
    activity = Activity.objects.create(initiative=initiative, kind=kind, actor=actor, at=now,
                                       details=details or {})
    events_fan_out(activities=[activity], now=now)
    return activity


def activities_record(*, activities: list[Activity], now: datetime) -> list[Activity]:
    """``activity_record`` for many events at once (bulk jobs): one insert, one fan-out."""
    if not activities:
        return []
    for kind in sorted({activity.kind for activity in activities}):
        of_kind = [activity for activity in activities if activity.kind == kind]
        portfolio_changed(what=kind, initiatives={a.initiative_id for a in of_kind},
                          owners={a.actor_id for a in of_kind})
    created = Activity.objects.bulk_create(activities, batch_size=2000)
    events_fan_out(activities=created, now=now)
    return created


def _save(instance, actor, now: datetime | None = None) -> None:
    # simple-history records who made the change, and when (the service's `now`).
    instance._history_user = actor
    if now is not None:
        instance._history_date = now
    # Field and uniqueness validation here; the CHECK constraints are enforced by
    # the database on save (validating them in Python costs a query each).
    instance.full_clean(validate_constraints=False)
    instance.save()


@transaction.atomic
def team_create(*, name: str, slug: str, description: str = "") -> Team:
    team = Team(name=name, slug=slug, description=description)
    team.full_clean()
    team.save()
    return team


@transaction.atomic
def team_save(*, team: Team, actor, now: datetime) -> Team:
    """Add a team or save the edit of one, its fields already set (the admin's form). The
    history says who and when; the dashboard shows teams, so its standings are told."""
    _save(team, actor, now)
    portfolio_changed(what="team", teams=[team.pk])
    return team


@transaction.atomic
def team_delete(*, team: Team, actor, now: datetime) -> None:
    """Remove a team that owns no initiative (the database refuses one that does); its
    capacity plans and its row on the dashboard go with it."""
    team_id = team.pk
    team._history_user = actor
    team._history_date = now
    team.delete()
    portfolio_changed(what="team", teams=[team_id])


def planned_dates_check(*, values: Mapping, now: datetime, before=None) -> None:
    """Refuse a decision or target date in the past (``models.past_date_errors``); on an
    edit, ``before`` is the initiative as it was, whose own dates are kept."""
    errors = past_date_errors(values=values, today=timezone.localdate(now), before=before)
    for name, message in errors.items():
        raise DomainError(message, field=name)


def contract_check(*, values: Mapping, before=None) -> None:
    """Refuse an exit contract that contradicts itself (``outcomes.contract.contract_errors``:
    a target on the wrong side of the baseline, a window ending before it starts)."""
    for name, message in contract.contract_errors(values, before=before).items():
        raise DomainError(message, field=name)


def initiative_create(*, actor, now: datetime, owner=None, **fields) -> Initiative:
    """Log a new initiative (``initiatives_create`` with one row). The creator owns it
    unless another active PM is named. Intake, the API and the admin come here, so a
    planned date in the past is refused here; the CSV import, which loads existing
    portfolios with their history, calls ``initiatives_create`` directly."""
    planned_dates_check(values=fields, now=now)
    [initiative] = initiatives_create(rows=[{**fields, "owner": owner}], actor=actor, now=now)
    return initiative


NEW_IS_AN_IDEA = "A new initiative starts as an idea; {fields} cannot be set when logging it."
CREATE_BATCH = 500  # rows per INSERT (fewer on SQLite: Django keeps to its parameter limit)
# The change reason of the history rows, by ``source``.
CREATED_FROM = {"": None, "csv": "Imported from CSV"}
# Each reference costs full_clean a query; rows name instances their caller loaded, and the
# database's foreign keys hold them, so a create checks only that each required one is set.
_REFERENCES = [field for field in Initiative._meta.concrete_fields if field.is_relation]


def _clean_new(initiative: Initiative) -> None:
    errors = {field.name: [field.error_messages["null"]] for field in _REFERENCES
              if not field.null and getattr(initiative, field.attname) is None}
    try:
        initiative.full_clean(exclude=[field.name for field in _REFERENCES],
                              validate_constraints=False)
    except ValidationError as error:
        errors |= error.message_dict
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def initiatives_create(*, rows: Iterable[Mapping], actor, now: datetime,
                       source: str = "") -> list[Initiative]:
    """Log new initiatives, all or none: the one way an initiative comes to exist (intake,
    the API, the admin and the CSV import).

    Each row maps ``Initiative`` fields to values; with no ``owner`` (or None) the actor
    owns it, and every owner must be an active PM. Each initiative starts as an idea with a
    history row, its owner as the one Accountable stakeholder, a "created" activity, its
    terms in the duplicate finder's index and, through the profile listeners, the
    checkpoints its AI profile needs. A constant number of queries for any number of rows
    up to ``CREATE_BATCH`` (then a few more per batch). ``source`` ("csv") is recorded on
    the activity and as the history rows' change reason.
    """
    rows = [profile_as_chosen(row) for row in rows]  # "not sure": the cautious assumption
    preset = LIFECYCLE_FIELDS & {name for row in rows for name in row}
    if preset:
        raise DomainError(NEW_IS_AN_IDEA.format(fields=", ".join(sorted(preset))))
    initiatives = [
        Initiative(**{**row, "owner": row.get("owner") or actor}, stage=Stage.IDEA, version=1,
                   created_by=actor, created_at=now, updated_at=now, stage_changed_at=now,
                   last_activity_at=now)
        for row in rows
    ]
    if not initiatives:
        return []
    owners_check(initiative.owner for initiative in initiatives)
    for row in rows:
        contract_check(values=row)
    for initiative in initiatives:
        _clean_new(initiative)
    history = {"default_user": actor, "default_date": now,
               "default_change_reason": CREATED_FROM[source]}
    created = bulk_create_with_history(initiatives, Initiative, batch_size=CREATE_BATCH,
                                       **history)
    bulk_create_with_history(
        [Stakeholder(initiative=initiative, user_id=initiative.owner_id,
                     role=Stakeholder.Role.ACCOUNTABLE) for initiative in created],
        Stakeholder, batch_size=CREATE_BATCH, **history)
    details = {"source": source} if source else {}
    Activity.objects.bulk_create(
        [Activity(initiative=initiative, kind=Activity.Kind.CREATED, actor=actor, at=now,
                  details=dict(details)) for initiative in created],
        batch_size=CREATE_BATCH)
    # as activity_record says for each
    portfolio_changed(what=Activity.Kind.CREATED, initiatives=[i.pk for i in created],
                      owners=[getattr(actor, "pk", None)])
    index_initiatives(created)  # the duplicate finder sees them from now on
    hooks.profile_changed(initiatives=created, actor=actor, now=now)
    return created


def allowed_move(*, from_stage: str, to_stage: str, resume_stage: str | None) -> bool:
    """The lifecycle's shape: one step forward, any step back, pause/resume, retire."""
    if to_stage == Stage.RETIRED:
        return from_stage != Stage.RETIRED
    if to_stage == Stage.PAUSED:
        return from_stage not in (Stage.PAUSED, Stage.RETIRED)
    if from_stage == Stage.PAUSED:
        return to_stage == resume_stage
    if from_stage == Stage.RETIRED:
        return False
    step = STAGE_ORDER.index(to_stage) - STAGE_ORDER.index(from_stage)
    return step == 1 or step < 0


def _stage_before_pause(initiative: Initiative) -> str | None:
    last = (StageTransition.objects.filter(initiative=initiative, to_stage=Stage.PAUSED)
            .order_by("-at", "-id").first())
    return last.from_stage if last else None


def available_moves(initiative: Initiative) -> list[tuple[str, str]]:
    """(stage, what the move is called) for every stage this initiative may move to now."""
    from_stage = initiative.stage
    resume_stage = _stage_before_pause(initiative) if from_stage == Stage.PAUSED else None
    moves = []
    for stage in Stage:
        if stage == from_stage or not allowed_move(from_stage=from_stage, to_stage=stage,
                                                   resume_stage=resume_stage):
            continue
        if stage == Stage.RETIRED:
            label = "Retire (kill)"
        elif stage == Stage.PAUSED:
            label = "Pause"
        elif from_stage == Stage.PAUSED:
            label = f"Resume in {stage.label}"
        elif STAGE_ORDER.index(stage) > STAGE_ORDER.index(from_stage):
            label = f"Forward to {stage.label}"
        else:
            label = f"Back to {stage.label}"
        moves.append((stage.value, label))
    return moves


@transaction.atomic
def initiative_move_stage(*, initiative: Initiative, to_stage: str, actor, now: datetime,
                          note: str = "", retirement_reason: str = "",
                          retirement_lessons: str = "",
                          expected_stage: str | None = None,
                          expected_version: int | None = None) -> StageTransition:
    """Move along the lifecycle; ``expected_stage`` refuses a move made from a stale page and
    ``expected_version`` one made from a stale read (the API's If-Match), both checked under
    the row lock so a concurrent edit and move cannot both win."""
    initiative = Initiative.objects.select_for_update().get(pk=initiative.pk)
    _require_version(initiative, expected_version)
    from_stage = initiative.stage
    if expected_stage is not None and expected_stage != from_stage:
        raise DomainError(STAGE_CHANGED_MEANWHILE.format(stage=initiative.get_stage_display()),
                          field="to_stage")
    if from_stage == to_stage:
        raise DomainError(SAME_STAGE.format(stage=initiative.get_stage_display()),
                          field="to_stage")
    resume_stage = _stage_before_pause(initiative) if from_stage == Stage.PAUSED else None
    if not allowed_move(from_stage=from_stage, to_stage=to_stage, resume_stage=resume_stage):
        if from_stage == Stage.PAUSED and resume_stage:
            raise DomainError(RESUMES_AT.format(stage=Stage(resume_stage).label),
                              field="to_stage")
        raise DomainError(MOVE_NOT_ALLOWED.format(from_stage=Stage(from_stage).label,
                                                  to_stage=Stage(to_stage).label),
                          field="to_stage")
    is_back = (from_stage in STAGE_ORDER and to_stage in STAGE_ORDER
               and STAGE_ORDER.index(to_stage) < STAGE_ORDER.index(from_stage))
    if not tier_allows_stage(initiative.risk_tier, to_stage):
        raise DomainError(PROHIBITED_STAYS, field="to_stage")
    if is_back and not note.strip():
        raise DomainError(BACK_NEEDS_NOTE, field="note")
    entering = to_stage in STAGE_ORDER and not is_back
    if entering:
        blockers = hooks.stage_gate_blockers(initiative=initiative, to_stage=to_stage, now=now)
        if blockers:
            raise DomainError(GATE_BLOCKED.format(stage=Stage(to_stage).label,
                                                  blockers="; ".join(blockers)),
                              field="to_stage")
    if to_stage == Stage.RETIRED:
        if not retirement_reason:
            raise DomainError(RETIRE_NEEDS_REASON, field="retirement_reason")
        if not retirement_lessons.strip():
            raise DomainError(RETIRE_NEEDS_LESSONS, field="retirement_lessons")
        initiative.retirement_reason = retirement_reason
        initiative.retirement_lessons = retirement_lessons
    initiative.stage = to_stage
    initiative.stage_changed_at = now
    initiative.last_activity_at = now
    initiative.updated_at = now
    initiative.version += 1
    _save(initiative, actor, now)
    transition = StageTransition.objects.create(
        initiative=initiative, from_stage=from_stage, to_stage=to_stage, actor=actor, at=now,
        note=note,
    )
    activity_record(initiative=initiative, kind=Activity.Kind.STAGE_MOVED, actor=actor, now=now,
                    details={"from": from_stage, "to": to_stage, "note": note})
    if from_stage == Stage.PILOT:
        # A stall flag resolves itself when its pilot moves (detection also catches this).
        StallFlag.objects.filter(initiative=initiative).resolve(
            resolution=StallResolution.MOVED, now=now)
    hooks.stage_moved(initiative=initiative, from_stage=from_stage, actor=actor, now=now)
    return transition


@transaction.atomic
def update_post(*, initiative: Initiative, author, body: str, health: str,
                now: datetime) -> Update:
    """A status update also sets the initiative's health and counts as activity."""
    update = Update(initiative=initiative, author=author, body=body, health=health,
                    created_at=now)
    _save(update, author, now)
    locked = Initiative.objects.select_for_update().get(pk=initiative.pk)
    if locked.health != health:
        # A change of health is an edit: versioned, in the record's history.
        locked.health = health
        locked.version += 1
        locked.updated_at = now
    locked.last_activity_at = now
    _save(locked, author, now)
    activity_record(initiative=initiative, kind=Activity.Kind.UPDATE_POSTED, actor=author,
                    now=now, details={"health": health})
    return update


@transaction.atomic
def update_correct(*, update: Update, actor, now: datetime) -> Update:
    """Save the correction of a posted status update, its fields already set (the admin
    lets only a superuser). It is not news: no activity, and the initiative keeps its
    health; the history keeps what the update said before."""
    _save(update, actor, now)
    return update


@transaction.atomic
def update_delete(*, update: Update, actor, now: datetime) -> None:
    """Remove a status update (the admin lets only a superuser); its history keeps it."""
    update._history_user = actor
    update._history_date = now
    update.delete()
    # The author's word is gone: what they own may fall silent (anything, for the standings).
    portfolio_changed(what="update_deleted")


ACCOUNTABLE_IS_OWNER = ("The owner is the one Accountable person; change the owner to "
                        "change who is accountable.")
PERSON_INACTIVE = "{name} has left; only active people can take a role."
ALREADY_IN_ROLE = "{name} is already {role} on this initiative."
SELF_DEPENDENCY = "An initiative cannot depend on itself."
ALREADY_DEPENDS = "This initiative already depends on {title}."


def initiative_touch(initiative: Initiative, now: datetime) -> None:
    """Count a change around the initiative as activity (it is not an edit of the record)."""
    Initiative.objects.filter(pk=initiative.pk).update(
        last_activity_at=Greatest(F("last_activity_at"), Value(now)))


@transaction.atomic
def stakeholder_add(*, initiative: Initiative, user, role: str, actor,
                    now: datetime) -> Stakeholder:
    """Give someone a Responsible, Consulted or Informed role on an initiative."""
    if role == Stakeholder.Role.ACCOUNTABLE:
        raise DomainError(ACCOUNTABLE_IS_OWNER, field="role")
    name = user.get_full_name() or user.get_username()
    if not user.is_active:
        raise DomainError(PERSON_INACTIVE.format(name=name), field="user")
    # People changes to one initiative take turns on its row, so two requests adding the
    # same person at once meet the check below in order: the second is told, not a 500.
    Initiative.objects.select_for_update().filter(pk=initiative.pk).first()
    stakeholder = Stakeholder(initiative=initiative, user=user, role=role)
    if Stakeholder.objects.filter(initiative=initiative, user=user, role=role).exists():
        raise DomainError(ALREADY_IN_ROLE.format(name=name,
                                                 role=stakeholder.get_role_display()),
                          field="user")
    _save(stakeholder, actor, now)
    initiative_touch(initiative, now)
    activity_record(initiative=initiative, kind=Activity.Kind.PEOPLE_CHANGED, actor=actor,
                    now=now, details={"added": user.get_username(), "role": role})
    return stakeholder


@transaction.atomic
def stakeholder_remove(*, stakeholder: Stakeholder, actor, now: datetime) -> None:
    if stakeholder.role == Stakeholder.Role.ACCOUNTABLE:
        raise DomainError(ACCOUNTABLE_IS_OWNER, field="role")
    initiative = stakeholder.initiative
    details = {"removed": stakeholder.user.get_username(), "role": stakeholder.role}
    stakeholder._history_user = actor
    stakeholder._history_date = now
    stakeholder.delete()
    initiative_touch(initiative, now)
    activity_record(initiative=initiative, kind=Activity.Kind.PEOPLE_CHANGED, actor=actor,
                    now=now, details=details)


def dependency_would_cycle(*, initiative: Initiative, depends_on: Initiative) -> bool:
    """Whether making ``initiative`` depend on ``depends_on`` would close a loop."""
    return _depends_transitively(start_id=depends_on.pk, target_id=initiative.pk)


def _depends_transitively(*, start_id: int, target_id: int) -> bool:
    """Whether ``start`` already depends on ``target`` through any chain."""
    seen, frontier = set(), {start_id}
    while frontier:
        if target_id in frontier:
            return True
        seen |= frontier
        frontier = set(
            Dependency.objects.filter(initiative_id__in=frontier)
            .values_list("depends_on_id", flat=True)
        ) - seen
    return False


# Held for the rest of the transaction by every dependency_add (any constant of ours).
DEPENDENCY_LOCK = 0x64657073  # "deps"


def _serialise_dependency_changes() -> None:
    """Make dependency additions take turns, portfolio-wide.

    The loop check reads chains of other initiatives' dependencies; two additions that
    close a loop together (A→B and B→A, or A→B and C→D beside B→C and D→A) touch no common
    row, so row locks cannot order them. A transaction-level advisory lock does, and
    additions are rare. After it is granted the check's queries see every addition
    committed before. SQLite lets one writer in at a time, so it needs no lock.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [DEPENDENCY_LOCK])


@transaction.atomic
def dependency_add(*, initiative: Initiative, depends_on: Initiative, actor,
                   now: datetime) -> Dependency:
    """Record that ``initiative`` needs ``depends_on``; a loop is refused, even when the
    other half of it is being added at the same moment."""
    if initiative.pk == depends_on.pk:
        raise DomainError(SELF_DEPENDENCY, field="depends_on")
    _serialise_dependency_changes()
    if Dependency.objects.filter(initiative=initiative, depends_on=depends_on).exists():
        raise DomainError(ALREADY_DEPENDS.format(title=depends_on.title), field="depends_on")
    if dependency_would_cycle(initiative=initiative, depends_on=depends_on):
        raise DomainError(DEPENDENCY_CYCLE.format(title=depends_on.title), field="depends_on")
    dependency = Dependency(initiative=initiative, depends_on=depends_on)
    _save(dependency, actor, now)
    initiative_touch(initiative, now)
    activity_record(initiative=initiative, kind=Activity.Kind.DEPENDENCY_CHANGED, actor=actor,
                    now=now, details={"added": depends_on.pk, "title": depends_on.title})
    return dependency


@transaction.atomic
def dependency_remove(*, dependency: Dependency, actor, now: datetime) -> None:
    initiative, depends_on = dependency.initiative, dependency.depends_on
    dependency._history_user = actor
    dependency._history_date = now
    dependency.delete()
    initiative_touch(initiative, now)
    activity_record(initiative=initiative, kind=Activity.Kind.DEPENDENCY_CHANGED, actor=actor,
                    now=now, details={"removed": depends_on.pk, "title": depends_on.title})


def worker_heartbeat_record(*, name: str, now: datetime) -> None:
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"beat_at": now})


STALE_VERSION = (
    "Someone else changed this initiative while you were editing it "
    "(you loaded version {expected}, it is now at version {current}). "
    "Reload to see their changes; nothing was saved."
)

def _require_version(locked: Initiative, expected_version: int | None) -> None:
    """Refuse a write made from a stale read; call it on the row held under its lock."""
    if expected_version is not None and locked.version != expected_version:
        raise DomainError(STALE_VERSION.format(expected=expected_version, current=locked.version),
                          field="version")


# Fields that only services change, never an edit form.
LIFECYCLE_FIELDS = {"stage", "stage_changed_at", "retirement_reason", "version", "created_at",
                    "created_by", "updated_at", "last_activity_at"}


@transaction.atomic
def initiative_update(*, initiative: Initiative, actor, now: datetime, expected_version: int,
                      changes: dict) -> Initiative:
    """Edit an initiative's fields, refusing a stale ``expected_version``."""
    locked = Initiative.objects.select_for_update().get(pk=initiative.pk)
    _require_version(locked, expected_version)
    forbidden = LIFECYCLE_FIELDS & set(changes)
    if forbidden:
        raise DomainError(f"{', '.join(sorted(forbidden))} cannot be edited directly.")
    changes = profile_as_chosen(changes)  # "not sure": the cautious assumption, flagged
    planned_dates_check(values=changes, now=now, before=locked)
    contract_check(values=changes, before=locked)
    if "owner" in changes and changes["owner"].pk != locked.owner_id:
        # The one rule for every path that changes an owner (ownership page, edit form,
        # API, CSV, admin): only a TPM or an admin reassigns, and only to an active PM.
        if not can_steward_ownership(actor):
            raise PermissionDenied(NOT_STEWARD)
        owner_check(changes["owner"])
    if not tier_allows_stage(changes.get("risk_tier", locked.risk_tier), locked.stage):
        raise DomainError(PROHIBITED_STAYS, field="risk_tier")
    changed = {name: value for name, value in changes.items()
               if getattr(locked, name) != value}
    if not changed:
        return locked
    old_owner, old_team = locked.owner, locked.team_id
    for name, value in changed.items():
        setattr(locked, name, value)
    if locked.contract_to_review and contract.is_complete(locked):
        # The owner re-entered the contract the migration could not read.
        locked.contract_to_review = ""
    locked.version += 1
    locked.updated_at = now
    locked.last_activity_at = now
    _save(locked, actor, now)
    if {"title", "summary"} & set(changed):
        index_initiatives([locked])
    activity_record(initiative=locked, kind=Activity.Kind.EDITED, actor=actor, now=now,
                    details={"fields": sorted(changed)})
    if locked.team_id != old_team:  # the line it left moves too
        portfolio_changed(what="team_moved", teams=[old_team])
    if set(hooks.PROFILE_FIELDS) & set(changed):
        hooks.profile_changed(initiatives=[locked], actor=actor, now=now)
    if "owner" in changed:
        Stakeholder.objects.filter(initiative=locked, user=old_owner,
                                   role=Stakeholder.Role.ACCOUNTABLE).delete()
        Stakeholder.objects.get_or_create(initiative=locked, user=locked.owner,
                                          role=Stakeholder.Role.ACCOUNTABLE)
        activity_record(initiative=locked, kind=Activity.Kind.OWNER_CHANGED, actor=actor,
                        now=now, details={"from": old_owner.get_username(),
                                          "to": locked.owner.get_username(),
                                          "from_id": old_owner.pk, "to_id": locked.owner_id})
    return locked
