"""Reads that feed pages: querysets with their joins done in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from portfolio import hooks
from portfolio.access import InitiativeRights, initiative_for
from portfolio.models import (
    Activity,
    Initiative,
    LastWord,
    NobodyResponsible,
    OwnerSeen,
    RetirementReason,
    Stage,
    StageTransition,
    Stakeholder,
    Update,
    ValueReview,
)
from portfolio.outcomes.selectors import with_latest_review, with_value_flags

# The columns a list row shows (the API list's serializer and the list page).
_LIST_COLUMNS = ("id", "title", "stage", "health", "last_activity_at", "team__name", "team__slug",
                 "owner__username", "owner__first_name", "owner__last_name", "owner__is_active")

# The initiative list's orders: (label, ORDER BY); the forms offer them by key.
SORTS = {
    "recent": ("Most recent activity", ["-last_activity_at", "-id"]),
    "title": ("Title", ["title", "id"]),
    "team": ("Team", ["team__name", "title", "id"]),
    "owner": ("Owner", ["owner__last_name", "owner__first_name", "title", "id"]),
    "stage": ("Stage", ["stage", "title", "id"]),
    "health": ("Health", ["health", "title", "id"]),
}


# "My initiatives": the ones I own, or hold the Responsible (R) role on. ``my_role``
# (``with_my_role``) says which: "owner" before "responsible".

def _responsible(user) -> QuerySet[Stakeholder]:
    return Stakeholder.objects.filter(initiative=OuterRef("pk"), user=user,
                                      role=Stakeholder.Role.RESPONSIBLE)


def mine_ids(user) -> QuerySet:
    """The ids of ``user``'s initiatives, as a subquery: those they own (the owner index)
    UNION those they hold the Responsible role on (the stakeholder user index). Two small
    index reads whatever the portfolio's size; an ``owner = me OR EXISTS (R stake)`` filter
    instead makes PostgreSQL test every initiative."""
    owned = Initiative.objects.filter(owner=user.pk).order_by().values("pk")
    responsible = (Stakeholder.objects.filter(user=user.pk, role=Stakeholder.Role.RESPONSIBLE)
                   .order_by().values("initiative_id"))
    return owned.union(responsible)


def mine_q(user, prefix: str = "") -> Q:
    """The initiatives that are ``user``'s: owned by them, or with them Responsible.
    ``prefix`` reaches the initiative from another model (``"initiative__"``)."""
    return Q(**{f"{prefix}pk__in": mine_ids(user)})


def with_my_role(queryset: QuerySet[Initiative], *, user) -> QuerySet[Initiative]:
    """Annotate ``my_role``: "owner" or "responsible" on ``user``'s initiatives, else ""."""
    return queryset.annotate(my_role=Case(
        When(owner=user, then=Value("owner")),
        When(Exists(_responsible(user)), then=Value("responsible")),
        default=Value(""), output_field=CharField()))


def _filtered(*, fetched_by, filters: dict) -> QuerySet[Initiative]:
    """The initiatives ``filters`` select (a filter form's cleaned data; empty values do
    not filter), in the order they ask for, and nothing else: no join a filter or the
    order does not need, no computed column. Counting it stays cheap at any size."""
    queryset = Initiative.objects.all()
    if filters.get("q"):
        queryset = queryset.filter(Q(title__icontains=filters["q"])
                                   | Q(summary__icontains=filters["q"]))
    for field in ("team", "category", "stage", "health"):
        if filters.get(field):
            queryset = queryset.filter(**{field: filters[field]})
    if filters.get("mine"):
        queryset = queryset.filter(mine_q(fetched_by))
    owner = filters.get("owner")
    if owner == "me":
        queryset = queryset.filter(owner=fetched_by)
    elif owner:
        queryset = queryset.filter(owner__username=owner)
    return queryset.order_by(*_order(filters))


def _order(filters: dict) -> list[str]:
    """The list's order: the ``sort`` filter's, most recent activity first by default."""
    _, order = SORTS.get(filters.get("sort") or "recent", SORTS["recent"])
    return order


def initiative_list(*, fetched_by, filters: dict | None = None) -> QuerySet[Initiative]:
    """Initiatives a signed-in user may see, filtered and sorted, with team and owner joined.

    Every signed-in role reads the whole portfolio; only the
    "mine" filter depends on who asks. ``filters`` are a filter form's
    cleaned data; empty values do not filter. The rows carry no computed column,
    so counting, slicing and serializing them (the API list) costs the same at any
    size; the list page adds its computed columns to one page
    (``initiative_list_page``).
    """
    return (_filtered(fetched_by=fetched_by, filters=filters or {})
            .with_list_relations().only(*_LIST_COLUMNS))


def with_list_columns(queryset: QuerySet[Initiative], *, now: datetime) -> QuerySet[Initiative]:
    """The computed columns of a list row, in SQL: its ownership problems as of ``now``
    (``with_ownership_health``) and what other apps annotate (``hooks.annotate_for_lists``:
    governance's ``out_of_compliance``). Each is a subquery per row: apply it to the rows
    shown, not to a whole portfolio."""
    return hooks.annotate_for_lists(with_ownership_health(queryset, now=now), now=now)


def initiative_list_page(*, fetched_by, filters: dict | None = None, number=None,
                         per_page: int, now: datetime | None = None) -> Page:
    """One page of ``initiative_list`` (``number`` as ``Paginator.get_page`` reads it), its
    rows with the computed columns (``with_list_columns``) as of ``now``.

    The filters and the order pick the page's rows in a subquery (``LIMIT``/``OFFSET``
    over the plain rows); only those rows get the computed columns, in the same query, so
    a page costs the same at any size. The count is the plain filtered rows'.
    """
    filters = filters or {}
    now = now or timezone.now()
    page = Paginator(_filtered(fetched_by=fetched_by, filters=filters),
                     per_page).get_page(number)
    # The slice is a subquery of ids (no query of its own); the outer query re-applies the
    # order, which ends with the id, so the rows come back exactly as sliced.
    rows = with_list_columns(
        Initiative.objects.filter(pk__in=page.object_list)
        .with_list_relations().only(*_LIST_COLUMNS), now=now,
    )
    # The value flags (an overdue value review, value at risk): two EXISTS, same query.
    rows = with_value_flags(rows, now=now)
    if filters.get("mine"):  # each row says whether it is mine as owner or as Responsible
        rows = with_my_role(rows, user=fetched_by)
    page.object_list = rows.order_by(*_order(filters))
    return page


def initiative_export_list(*, fetched_by, filters: dict | None = None,
                           now: datetime | None = None) -> QuerySet[Initiative]:
    """The list's rows — same filters, same order, every page — with every exported column.

    The CSV export (``portfolio.csv_io``) reads this: ``initiative_list`` with the
    people it names joined too and the list's computed columns as of ``now``
    (``with_list_columns``), so the whole file is one query.
    """
    return with_list_columns(
        initiative_list(fetched_by=fetched_by, filters=filters)
        .select_related("sponsor", "production_owner")
        .only(*[f.name for f in Initiative._meta.concrete_fields], "team__slug",
              "owner__username", "sponsor__username", "production_owner__username"),
        now=now or timezone.now(),
    )


def stage_counts(queryset: QuerySet[Initiative]) -> list[tuple[str, str, int]]:
    """(stage, label, count) for every stage, in lifecycle order, from one query."""
    # COUNT(*), not COUNT(id): PostgreSQL can then answer from the (stage, team) index alone.
    counts = dict(queryset.order_by().values_list("stage").annotate(n=Count("*")))
    return [(stage.value, stage.label, counts.get(stage.value, 0)) for stage in Stage]


# --- One initiative ------------------------------------------------------------------------

def initiative_get_for_user(*, user, pk: int, need: str = "read",
                            ) -> tuple[Initiative, InitiativeRights]:
    """One initiative with the people and team its page shows, and what ``user`` may do with
    it (``access.initiative_for``): 404 for outsiders and misses, 403 unless they may ``need``.

    It carries the list's computed columns as of now (``with_list_columns``: its ownership
    problems and ``out_of_compliance``), for the badges, in the same query.
    """
    return initiative_for(user, pk, need=need, queryset=with_list_columns(
        Initiative.objects.select_related("team", "owner", "sponsor", "production_owner",
                                          "created_by"),
        now=timezone.now()))


@dataclass(frozen=True)
class InitiativeRelations:
    """What hangs off an initiative, each read with one query."""

    stakeholders: dict[str, list]     # RACI letter -> Stakeholder rows (user joined)
    depends_on: list[Initiative]
    dependents: list[Initiative]
    transitions: list[StageTransition]
    updates: list[Update]
    update_count: int
    activities: list[Activity]


RECENT_UPDATES = 20
RECENT_ACTIVITY = 30


def initiative_relations(*, initiative: Initiative) -> InitiativeRelations:
    stakeholders = {role.value: [] for role in Stakeholder.Role}
    for stake in (Stakeholder.objects.filter(initiative=initiative).select_related("user")
                  .order_by("role", "user__last_name", "user__first_name")):
        stakeholders[stake.role].append(stake)
    linked = Initiative.objects.select_related("owner").only(
        "id", "title", "stage", "health", "owner__username", "owner__first_name",
        "owner__last_name", "owner__is_active")
    updates = list(Update.objects.filter(initiative=initiative).select_related("author")
                   .order_by("-created_at", "-id")[:RECENT_UPDATES])
    return InitiativeRelations(
        stakeholders=stakeholders,
        depends_on=list(linked.filter(dependent_links__initiative=initiative).order_by("title")),
        dependents=list(linked.filter(dependency_links__depends_on=initiative).order_by("title")),
        transitions=list(StageTransition.objects.filter(initiative=initiative)
                         .select_related("actor").order_by("at", "id")),
        updates=updates,
        update_count=(len(updates) if len(updates) < RECENT_UPDATES
                      else Update.objects.filter(initiative=initiative).count()),
        activities=list(Activity.objects.filter(initiative=initiative).select_related("actor")
                        .order_by("-at", "-id")[:RECENT_ACTIVITY]),
    )


# --- Audit history -------------------------------------------------------------------------

# Bookkeeping every write touches; the audit trail shows what a person changed.
_UNAUDITED = {"id", "version", "updated_at", "stage_changed_at", "created_at", "created_by"}


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    at: object
    actor: object
    version: int
    kind: str            # "created" or "changed"
    changes: list[FieldChange]


def _audited_fields() -> list:
    return [field for field in Initiative._meta.concrete_fields
            if field.name not in _UNAUDITED and field.name != "last_activity_at"]


def _display(field, value, users: dict) -> str:
    if value in (None, ""):
        return "—"
    if field.is_relation:
        return users.get(value, f"#{value}")
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _user_names(user_ids: set) -> dict:
    users = get_user_model().objects.filter(pk__in=user_ids).only(
        "id", "username", "first_name", "last_name")
    return {user.pk: user.get_full_name() or user.get_username() for user in users}


def field_changes(old: dict, new: dict, users: dict | None = None) -> list[FieldChange]:
    """What differs between two snapshots of an initiative (attribute name -> value)."""
    changes = []
    for field in _audited_fields():
        before, after = old.get(field.attname), new.get(field.attname)
        if before != after:
            changes.append(FieldChange(field.name, str(field.verbose_name).capitalize(),
                                       _display(field, before, users or {}),
                                       _display(field, after, users or {})))
    return changes


def _snapshot(record) -> dict:
    return {field.attname: getattr(record, field.attname) for field in _audited_fields()}


def initiative_history(*, initiative: Initiative, limit: int = 25) -> list[HistoryEntry]:
    """The record's audit trail, newest first: who changed which fields, from what to what."""
    records = list(initiative.history.select_related("history_user")
                   .order_by("-history_date", "-history_id")[:limit + 1])
    user_fields = [f.attname for f in _audited_fields() if f.is_relation]
    users = _user_names({getattr(record, name) for record in records for name in user_fields}
                        - {None})
    entries = []
    for newer, older in zip(records, [*records[1:], None], strict=True):
        if len(entries) == limit:
            break
        if older is None and newer.history_type != "+":
            break  # the trail continues beyond the limit
        changes = field_changes(_snapshot(older), _snapshot(newer), users) if older else []
        if older is not None and not changes:
            continue
        entries.append(HistoryEntry(at=newer.history_date, actor=newer.history_user,
                                    version=newer.version,
                                    kind="created" if older is None else "changed",
                                    changes=changes))
    return entries


def initiative_version_changes(*, initiative: Initiative, since_version: int) -> list[FieldChange]:
    """What others changed since the version a stale form was loaded from."""
    loaded = (initiative.history.filter(version=since_version)
              .order_by("-history_date", "-history_id").first())
    if loaded is None:
        return []
    current = _snapshot(initiative)
    user_fields = [f.attname for f in _audited_fields() if f.is_relation]
    users = _user_names({value for name in user_fields
                         for value in (getattr(loaded, name), current[name])} - {None})
    return field_changes(_snapshot(loaded), current, users)


# --- The kill log --------------------------------------------------------------------------

def kill_log(*, filters: dict | None = None) -> QuerySet[Initiative]:
    """Retired initiatives with the reason, the lessons and who retired them, newest first;
    what each cost and delivered: its effort, its predicted annual value and its latest
    recorded value review's realised value and run cost (``with_latest_review``). One
    query for the rows, however many; a page of the unsearched log is a LIMIT read of the
    ``kill_log_order`` index (portfolio migration 0018)."""
    filters = filters or {}
    retiring = (StageTransition.objects.filter(initiative=OuterRef("pk"), to_stage=Stage.RETIRED)
                .order_by("-at", "-id"))
    queryset = with_latest_review(
        _kill_log_matching(filters)
        .select_related("team", "owner")
        .annotate(retired_by_first=Subquery(retiring.values("actor__first_name")[:1]),
                  retired_by_last=Subquery(retiring.values("actor__last_name")[:1]),
                  retired_by_username=Subquery(retiring.values("actor__username")[:1]),
                  retired_note=Subquery(retiring.values("note")[:1]))
        .only("id", "title", "summary", "stage", "stage_changed_at", "retirement_reason",
              "retirement_lessons", "effort_weeks", "predicted_annual_value", "team__name",
              "team__slug", "owner__username", "owner__first_name", "owner__last_name",
              "owner__is_active")
    )
    return queryset.order_by("-stage_changed_at", "-id")


def _kill_log_matching(filters: dict) -> QuerySet[Initiative]:
    """The retired initiatives the kill log's filters (``q``, ``reason``, ``team``) keep."""
    queryset = Initiative.objects.in_stage(Stage.RETIRED)
    if filters.get("q"):
        term = filters["q"]
        queryset = queryset.filter(Q(title__icontains=term) | Q(summary__icontains=term)
                                   | Q(retirement_lessons__icontains=term))
    if filters.get("reason"):
        queryset = queryset.filter(retirement_reason=filters["reason"])
    if filters.get("team"):
        queryset = queryset.filter(team=filters["team"])
    return queryset


@dataclass(frozen=True)
class KillLogTotals:
    """What the retired initiatives listed cost and delivered, summed (``None``: nothing
    recorded). Effort in engineer-weeks; money a year in settings.VALUE_CURRENCY."""

    initiatives: int
    effort_weeks: Decimal | None
    predicted_value: Decimal | None
    realised_value: Decimal | None
    run_cost: Decimal | None
    reviewed: int


def kill_log_totals(queryset: QuerySet[Initiative]) -> KillLogTotals:
    """``kill_log``'s rows summed: one query."""
    totals = queryset.order_by().aggregate(
        n=Count("id"), effort=Sum("effort_weeks"), predicted=Sum("predicted_annual_value"),
        realised=Sum("realised_value"), cost=Sum("run_cost"),
        reviewed=Count("id", filter=Q(reviewed_at__isnull=False)))
    return KillLogTotals(initiatives=totals["n"], effort_weeks=totals["effort"],
                         predicted_value=totals["predicted"],
                         realised_value=totals["realised"], run_cost=totals["cost"],
                         reviewed=totals["reviewed"])


def kill_log_reason_counts(queryset: QuerySet[Initiative]) -> list[tuple[str, str, int]]:
    counts = dict(queryset.order_by().values_list("retirement_reason").annotate(n=Count("id")))
    return [(reason.value, reason.label, counts.get(reason.value, 0))
            for reason in RetirementReason]


@dataclass(frozen=True)
class KillLogSummary:
    """The kill log's figures for its filters: the totals of what is listed
    (``KillLogTotals``) and, ignoring the reason filter, how many per reason
    (``kill_log_reason_counts``'s (reason, label, count) triples)."""

    totals: KillLogTotals
    reason_counts: list[tuple[str, str, int]]


def _sum(values) -> Decimal | None:
    """SQL's SUM over the groups' sums: ``None`` when no group had a value."""
    present = [value for value in values if value is not None]
    # str(): SQLite may hand a sum back as a float.
    return sum((Decimal(str(value)) for value in present), Decimal(0)) if present else None


def kill_log_summary(*, filters: dict | None = None) -> KillLogSummary:
    """``kill_log_totals`` and ``kill_log_reason_counts`` of ``kill_log(filters=...)`` in two
    queries that read no row of the log itself unless it is searched: per reason, the count,
    effort and predicted value summed from the ``kill_log_sums`` index alone (portfolio
    migration 0018); then each listed initiative's latest recorded value review, found from
    the reviews' side (a review with no later recorded one of its initiative)."""
    filters = filters or {}
    groups = {row["retirement_reason"]: row for row in (
        _kill_log_matching({**filters, "reason": ""}).order_by()
        .values("retirement_reason")
        .annotate(n=Count("*"), effort=Sum("effort_weeks"),
                  predicted=Sum("predicted_annual_value")))}
    reason = filters.get("reason")
    listed = ([groups[reason]] if reason in groups else []) if reason else list(groups.values())
    later = ValueReview.objects.recorded().filter(initiative=OuterRef("initiative")).filter(
        Q(recorded_at__gt=OuterRef("recorded_at"))
        | Q(recorded_at=OuterRef("recorded_at"), pk__gt=OuterRef("pk")))
    reviews = (ValueReview.objects.recorded()
               .filter(initiative__in=_kill_log_matching(filters).values("pk"))
               .filter(~Exists(later))
               .aggregate(reviewed=Count("*"), realised=Sum("realised_value"),
                          cost=Sum("run_cost")))
    totals = KillLogTotals(
        initiatives=sum(group["n"] for group in listed),
        effort_weeks=_sum(group["effort"] for group in listed),
        predicted_value=_sum(group["predicted"] for group in listed),
        realised_value=reviews["realised"], run_cost=reviews["cost"],
        reviewed=reviews["reviewed"])
    return KillLogSummary(totals=totals, reason_counts=[
        (choice.value, choice.label, groups[choice.value]["n"] if choice.value in groups else 0)
        for choice in RetirementReason])


# --- Ownership health (docs/architecture.md, "Ownership health") -------------------------

# The ownership problems: the flag ``with_ownership_health`` annotates, and its label
# (the ownership page's counts and its filter read these), in the order pages show them.
OWNERSHIP_PROBLEMS = (
    ("owner_left", "Owner left"),
    ("owner_silent", "No word from the owner"),
    ("nobody_responsible", "Nobody Responsible"),
)


def owner_last_word(owner_ref) -> tuple[QuerySet, QuerySet, Greatest]:
    """The owner's acts anywhere in the product, for ``with_ownership_health``: their
    activities (as actor, on any initiative), their updates (on any initiative), and the
    latest moment of either (``None`` when they never acted). Signing in is not an act.
    ``owner_ref`` names the owner's id in the outer query (``OuterRef("owner")``)."""
    acts = Activity.objects.filter(actor=owner_ref)
    updates = Update.objects.filter(author=owner_ref)
    latest = {"output_field": DateTimeField()}
    last_act = Subquery(acts.order_by("-at").values("at")[:1], **latest)
    last_update = Subquery(updates.order_by("-created_at").values("created_at")[:1], **latest)
    # Greatest of the two whichever is missing: SQLite's MAX() is NULL if either is.
    return acts, updates, Greatest(Coalesce(last_act, last_update),
                                   Coalesce(last_update, last_act))


def ownership_stored() -> bool:
    """Whether the database keeps ``LastWord``, ``NobodyResponsible`` and ``OwnerSeen``
    (PostgreSQL's triggers, migrations 0016, 0020 and 0021); elsewhere ownership health
    computes them directly."""
    return connection.vendor == "postgresql"


def with_ownership_health(queryset: QuerySet[Initiative], *, now: datetime,
                          silent_days: int | None = None) -> QuerySet[Initiative]:
    """Annotate each initiative with its ownership problems, in SQL (no query per row).

    Only initiatives that are not retired have problems; on a retired one
    every flag is false.

    ``owner_left``
        The owner's account is deactivated (``owner.is_active`` is false).
    ``owner_silent`` (pages say "no word from the owner in N days")
        The owner is active and nobody has heard from them for more than
        ``silent_days`` (``settings.OWNER_SILENT_DAYS``) days before ``now``:
        their latest sign of life, ``owner_seen_at``, is strictly older than
        ``now - silent_days``. Exactly ``silent_days`` days is not yet silent.
        A sign of life is anything the owner did anywhere in the product
        (``owner_last_word``): an ``Activity`` on any initiative with them as
        actor (creating one counts) or an ``Update`` they posted on any
        initiative; or the moment they became this initiative's owner (the
        latest ``owner_changed`` activity on it, else ``created_at``), so an
        owner just appointed is not silent on day one. Signing in is not a
        sign of life. A departed owner is ``owner_left`` instead, never also
        silent.
    ``nobody_responsible``
        It is past the idea stage and no active user holds the Responsible (R)
        role on it. An idea is not staffed yet; from assessment on someone
        must be doing the work.

    Also annotated: ``owner_last_activity_at`` (the owner's latest act
    anywhere, ``None`` if never), ``owner_seen_at`` (see above),
    ``owner_silent_for`` (a timedelta, ``now - owner_seen_at``).

    On PostgreSQL the owner's last word, when they were last seen and "nobody
    Responsible" are read from what its triggers keep (``LastWord``, ``OwnerSeen``,
    ``NobodyResponsible``: ``ownership_stored``); elsewhere
    they are computed here from the same rows. Both give the same answer
    (tests/portfolio/test_ownership_stored.py).
    """
    cutoff = _silent_cutoff(now, silent_days)
    handovers = Activity.objects.filter(initiative=OuterRef("pk"),
                                        kind=Activity.Kind.OWNER_CHANGED)
    live = ~Q(stage=Stage.RETIRED)
    latest = {"output_field": DateTimeField()}
    if ownership_stored():
        # The same facts as below, read where the triggers keep them: three outer joins.
        last_word = F("owner__last_word__at")
        owner_since, seen = F("owner_seen__since"), F("owner_seen__at")
        # Seen before the cutoff <=> no act, no update, no handover since (created before).
        quiet = Q(owner_seen__at__lt=cutoff)
        unstaffed = Q(unstaffed__isnull=False)
    else:
        acts, updates, last_word = owner_last_word(OuterRef("owner"))
        owner_since = Coalesce(Subquery(handovers.order_by("-at").values("at")[:1], **latest),
                               F("created_at"))
        seen = Greatest(Coalesce("owner_last_activity_at", "owner_since"), "owner_since")
        # Index probes on activity (actor, -at) and update (author, -created_at).
        quiet = (~Exists(acts.filter(at__gte=cutoff))
                 & ~Exists(updates.filter(created_at__gte=cutoff))
                 & ~Exists(handovers.filter(at__gte=cutoff)))
        unstaffed = ~Exists(Stakeholder.objects.filter(initiative=OuterRef("pk"),
                                                       role=Stakeholder.Role.RESPONSIBLE,
                                                       user__is_active=True))
    # Silent <=> no sign of life since the cutoff: no act, no update, no handover since.
    silent = live & Q(owner__is_active=True, created_at__lt=cutoff) & quiet
    return (
        queryset
        .annotate(owner_last_activity_at=last_word, owner_since=owner_since)
        .annotate(owner_seen_at=seen)
        .annotate(
            owner_left=ExpressionWrapper(live & Q(owner__is_active=False),
                                         output_field=BooleanField()),
            owner_silent=ExpressionWrapper(silent, output_field=BooleanField()),
            nobody_responsible=ExpressionWrapper(live & ~Q(stage=Stage.IDEA) & unstaffed,
                                                 output_field=BooleanField()),
            owner_silent_for=ExpressionWrapper(Value(now) - F("owner_seen_at"),
                                               output_field=DurationField()),
        )
    )


def _silent_cutoff(now: datetime, silent_days: int | None) -> datetime:
    """The moment before which an owner's last word is silence (``with_ownership_health``)."""
    return now - timedelta(days=settings.OWNER_SILENT_DAYS if silent_days is None
                           else silent_days)


def _ownership_candidate_sets(*, now: datetime, silent_days: int | None = None,
                              ) -> dict[str, Q]:
    """For each ownership problem, a filter on initiatives selecting a superset of those that
    have it, read by index: owned by someone who left (a few people, then ``owner_id``);
    owned by someone who said nothing since the cutoff (idem), and created before it; a
    stored nobody Responsible row (PostgreSQL only: ``ownership_stored``)."""
    cutoff = _silent_cutoff(now, silent_days)
    left, quiet = _owners_to_check(cutoff)
    # Each an array (``_AnyOf``), read by index; ``IN`` may hash-join a scan of every row.
    return {
        "owner_left": Q(_AnyOf(F("owner"), left)),
        "owner_silent": Q(_AnyOf(F("owner"), quiet), created_at__lt=cutoff),
        "nobody_responsible": Q(_AnyOf(F("pk"), _unstaffed_ids())),
    }


def _owners_to_check(cutoff: datetime) -> tuple[QuerySet, QuerySet]:
    """The ids of the people who left, and of those who said nothing since ``cutoff``."""
    people = get_user_model().objects.order_by()
    quiet = people.exclude(Exists(LastWord.objects.filter(user=OuterRef("pk"), at__gte=cutoff)))
    return people.filter(is_active=False).values("pk"), quiet.values("pk")


def _unstaffed_ids() -> QuerySet:
    """The ids of the initiatives stored as nobody Responsible (``NobodyResponsible``)."""
    return NobodyResponsible.objects.order_by().values("initiative")


def ownership_candidates(*, now: datetime, silent_days: int | None = None,
                         problem: str | None = None) -> Q:
    """A superset of the initiatives with an ownership problem (with ``problem``, a key of
    ``OWNERSHIP_PROBLEMS``: with that one), read by index: ``_ownership_candidate_sets``.
    The flags (``with_ownership_health``) decide; this only spares them every other row.
    Where nothing is stored, every row is a candidate."""
    if not ownership_stored():
        return Q()
    sets = _ownership_candidate_sets(now=now, silent_days=silent_days)
    if problem in sets:
        return sets[problem]
    # One UNION of index reads and the stored rows (an OR would test every initiative, or
    # each against every array), as a semi-join: PostgreSQL cannot tell how many ids it
    # gives (it assumes 200), so it probes initiatives by id and hash-joins their owners,
    # last words and stored rows, where an array of "10" ids makes it probe each of those.
    owned_by = Initiative.objects.order_by().values("pk")
    return Q(pk__in=owned_by.filter(sets["owner_left"]).union(
        owned_by.filter(sets["owner_silent"]), _unstaffed_ids(), all=True))


class _AnyOf(Func):
    """``column = ANY(ARRAY(subquery))`` (PostgreSQL): the subquery runs first and the rows
    are fetched by index, where ``IN (subquery)`` may scan a whole table to hash-join it."""

    arg_joiner = " = ANY(ARRAY"
    template = "%(expressions)s)"
    output_field = BooleanField()

    def __init__(self, column, queryset):
        super().__init__(column, Subquery(queryset))


def ownership_gaps(*, now: datetime, filters: dict | None = None) -> QuerySet[Initiative]:
    """Initiatives (not retired) with at least one ownership problem, longest neglected first.

    ``filters``: ``team`` (a Team) and ``problem`` (a key of ``OWNERSHIP_PROBLEMS``).
    The flags are ``with_ownership_health``'s, computed only on ``ownership_candidates``.
    A page of it is ``OwnershipGaps``'s, which spares the sort where it can.
    """
    filters = filters or {}
    problem = filters.get("problem")
    queryset = _gap_rows(Initiative.objects.exclude(stage=Stage.RETIRED).filter(
        ownership_candidates(now=now, problem=problem)), now=now,
    ).filter(Q(*[(key, True) for key, _ in OWNERSHIP_PROBLEMS], _connector=Q.OR))
    if filters.get("team"):
        queryset = queryset.filter(team=filters["team"])
    if problem in dict(OWNERSHIP_PROBLEMS):
        queryset = queryset.filter(**{problem: True})
    return queryset.order_by("owner_seen_at", "id")


def _gap_rows(queryset: QuerySet[Initiative], *, now: datetime) -> QuerySet[Initiative]:
    """What a row of the ownership page shows: the initiative and its flags."""
    return with_ownership_health(queryset.with_list_relations().only(
        "id", "title", "stage", "health", "team__name", "team__slug",
        "owner__username", "owner__first_name", "owner__last_name", "owner__is_active"),
        now=now)


class OwnershipGaps:
    """``ownership_gaps``'s rows for a ``Paginator``, without sorting every problem.

    Where ``OwnerSeen`` is stored (``ownership_stored``) and the page names no filter, the
    problems in the page's order are, exactly, the live initiatives whose owner was last
    seen before the silence cutoff (each has a problem: the owner left, is silent, or
    nobody is Responsible; but one created since the cutoff, whose ``quiet_since`` is
    not before it, only if flagged), then the flagged ones (owner left, nobody
    Responsible) seen since. Rows ``start`` to ``stop`` are among the first ``stop`` of
    each: one query reads those ids from the indexes ``ownerseen_live`` and
    ``ownerseen_flagged`` (a ``UNION ALL`` of two ``LIMIT``s, ordered), a second the
    page's rows with their flags. Elsewhere (a filter, SQLite) a page is a slice of
    ``ownership_gaps``. ``count`` is the page's total (``ownership_page_counts``)."""

    def __init__(self, *, now: datetime, filters: dict, count: int):
        self.now, self.filters, self._count = now, filters, count

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, page: slice) -> list[Initiative]:
        if (not ownership_stored() or self.filters.get("team")
                or self.filters.get("problem")):
            return list(ownership_gaps(now=self.now, filters=self.filters)[page])
        start, stop = page.start or 0, page.stop
        if stop <= start:
            return []
        cutoff = _silent_cutoff(self.now, None)
        seen = OwnerSeen.objects.order_by("at", "initiative").values_list("at", "initiative")
        # Seen before the cutoff, the owner quiet since before it too (created before it).
        before = seen.filter(Q(flagged=True) | Q(quiet_since__lt=cutoff),
                             live=True, at__lt=cutoff)
        since = seen.filter(flagged=True, at__gte=cutoff)
        ids = [pk for _, pk in before[:stop].union(since[:stop], all=True)
               .order_by("at", "initiative")[start:stop]]
        rows = _gap_rows(Initiative.objects.filter(pk__in=ids), now=self.now).in_bulk()
        return [rows[pk] for pk in ids if pk in rows]


def ownership_problem_counts(queryset: QuerySet[Initiative]) -> list[tuple[str, str, int]]:
    """(problem, label, count) for each kind of problem, from one query."""
    return _ownership_counts(queryset)[0]


def _ownership_counts(queryset) -> tuple[list[tuple[str, str, int]], int]:
    # Named apart from the annotations they sum: an aggregate may not shadow its source.
    counts = queryset.order_by().aggregate(n=Count("pk"), **{
        f"n_{key}": Count("pk", filter=Q(**{key: True})) for key, _ in OWNERSHIP_PROBLEMS})
    return [(key, label, counts[f"n_{key}"]) for key, label in OWNERSHIP_PROBLEMS], counts["n"]


def ownership_page_counts(*, now: datetime, filters: dict | None = None,
                          ) -> tuple[list[tuple[str, str, int]], int]:
    """The ownership page's counts, from one query: (problem, label, count) for each kind
    of problem among ``ownership_gaps`` with the team filter alone, and how many rows
    ``ownership_gaps(filters=filters)`` has (all of them, or one problem's count)."""
    filters = filters or {}
    if ownership_stored():
        counts, total = _ownership_counts_stored(now=now, team=filters.get("team"))
    else:
        counts, total = _ownership_counts(
            ownership_gaps(now=now, filters={**filters, "problem": ""}))
    problem = filters.get("problem")
    if problem in dict(OWNERSHIP_PROBLEMS):
        total = next(count for key, _, count in counts if key == problem)
    return counts, total


def _ownership_counts_stored(*, now: datetime, team=None) -> tuple[list[tuple[str, str, int]], int]:
    """``ownership_page_counts`` where the facts are stored: read from the problems kept on
    ``OwnerSeen`` alone, never an initiative (but for the team filter) nor a row without a
    problem. The flagged rows give who left and nobody Responsible (index
    ``ownerseen_problems``), the live rows of active owners quiet since before the cutoff
    give the silent (a range of ``ownerseen_quiet``); the total is their sum less the rows
    counted twice: nobody Responsible and an owner who left or is silent (an owner cannot be
    both). One query: a UNION ALL of the two counts, each an index-only read."""
    cutoff = _silent_cutoff(now, None)
    rows = OwnerSeen.objects.order_by()
    if team:
        rows = rows.filter(initiative__team=team)
    # Named apart from the flags they count: an aggregate may not shadow its source. No
    # GROUP BY (the key is a constant): one row each, zeros when nothing matches. Each
    # counts a column of its index, so neither reads the table.
    columns = ("n_owner_left", "n_owner_silent", "n_nobody_responsible", "n_twice")
    none = Value(0)
    flagged = rows.filter(flagged=True).annotate(key=Value("flagged")).values("key").annotate(
        n_owner_left=Count("owner_left", filter=Q(owner_left=True)),
        n_owner_silent=none,
        n_nobody_responsible=Count("unstaffed", filter=Q(unstaffed=True)),
        n_twice=Count("owner_left", filter=Q(owner_left=True, unstaffed=True)))
    silent = (rows.filter(live=True, owner_left=False, quiet_since__lt=cutoff)
              .annotate(key=Value("silent")).values("key").annotate(
                  n_owner_left=none, n_owner_silent=Count("quiet_since"),
                  n_nobody_responsible=none,
                  n_twice=Count("unstaffed", filter=Q(unstaffed=True))))
    counted = flagged.values_list(*columns).union(silent.values_list(*columns), all=True)
    counts = dict(zip(columns, map(sum, zip(*counted, strict=True)), strict=True))
    return ([(key, label, counts[f"n_{key}"]) for key, label in OWNERSHIP_PROBLEMS],
            sum(counts[f"n_{key}"] for key, _ in OWNERSHIP_PROBLEMS) - counts["n_twice"])
