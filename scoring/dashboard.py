"""The leadership dashboard's reads (docs/architecture.md, "Stored standings").

One assembly for the page, its CSV export and the API's ranking and figures. The whole
live portfolio is ranked and this quarter's funding line drawn over it by
``scoring.standings`` (stored, recomputed when anything it reads changes); the filters
(team, category, stage) then narrow what is *shown* — the table, the KPIs and the
charts. Filtering never moves the line.

A fixed number of queries whatever the portfolio's size (pinned in
``tests/scoring/test_dashboard.py``); while the standings are current, what spans the
whole portfolio is counting (stages, the stored flags, pilots by age) and rows are read
only for what is shown:

- the standings: the snapshot (1) and whether a change is pending (1);
- the KPIs: counts per stage (1), the stored flags (1), pilot ages (1);
- the table: its count (1), its page's ids down the rank index (1) and their rows (1) —
  or, for the export, every row (1);
- the charts: the teams' capacity (1), the value-versus-effort points (1), the heat
  map's rows (1), the active checkpoint types (1) and their checkpoints (1);
- value (``scoring.value``): realised this year (1), the production initiatives and their
  contract evidence (3), the value flags (2), the value ledger for the chart (1).

While the standings are current, what counts over the whole filtered portfolio (the
positions, the stages and flags, the pilots' entry into pilot, the value KPIs and per-team
value, overdue value reviews, the heat map's choice, governance capacity) is computed
once per snapshot and kept (``Dashboard.per_snapshot``, one query for the snapshot's
version), so a steady read costs the same at 1,000 and at 100,000 initiatives. The
median pilot age needs only the middle pilots' entries (``PilotMiddle``), not every
pilot's: the API reads those; the page's chart of every age reads them all.

The rank shown is the initiative's place in the whole live portfolio (retired
initiatives are not ranked), so a filtered table keeps the numbers the leader knows. An
initiative created since the standings were computed is listed last, "not yet ranked".
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode

from governance.models import Checkpoint
from governance.selectors import (
    ReviewCapacityRow,
    heat_map,
    review_capacity,
    review_queue,
    review_queue_counts,
    with_compliance,
)
from portfolio.models import Initiative, Stage
from portfolio.outcomes.value_selectors import value_review_tab_counts
from portfolio.pilots.selectors import stall_state_counts
from portfolio.selectors import stage_counts, with_ownership_health
from scoring import charts, formulas, value
from scoring.capacity import (
    BLOCKER_KINDS,
    PLAN_QUARTERS,
    blocker_kind,
    next_quarter,
    quarter_label,
)
from scoring.models import (
    FUNDING_COLUMNS,
    FundingPosition,
    PortfolioSnapshot,
    ScoringModel,
    Standing,
    TeamStanding,
)
from scoring.selectors import rank_order, ranked_initiatives, score_expression
from scoring.standings import standings_current

# How many of the top-ranked initiatives shown the heat map draws.
HEAT_MAP_ROWS = 30
# The whole portfolio's counts, kept once per standings snapshot (``Dashboard.per_snapshot``):
# a new snapshot or a new day is a new key, so this only bounds what superseded snapshots
# leave in the cache (a busy portfolio refreshes every few minutes); a quiet one counts
# again this often.
COUNTS_CACHE_VERSION = 1
COUNTS_CACHE_SECONDS = 15 * 60

# The funding status of a row, in words: the stored positions, and one for an initiative
# the standings do not know yet.
FUNDED_BLOCKED = "funded_blocked"  # the charts' marker for a funded, blocked initiative
NOT_DRAWING = FundingPosition.NOT_DRAWING.value
NOT_RANKED = "not_ranked"
FUNDING_LABELS = {**{position.value: position.label for position in FundingPosition},
                  NOT_RANKED: "not yet ranked"}
NOT_RANKED_DETAIL = "Created or changed since the standings were last computed."

CONVERSION_FORMULA = ("pilot → production conversion = initiatives that reached production "
                      "÷ initiatives that ever entered pilot (a stage move into pilot), "
                      "whatever their stage now")
MEDIAN_AGE_FORMULA = "median of the days each initiative now in pilot has been in pilot"
# Page text names values, never a setting: the values come from settings at render time.
STALLED_FORMULA = ("pilots flagged by the daily stall detection (in pilot longer than "
                   "{max_days} days, or idle for more than {idle_days} days) and still open, "
                   "decided or not: not yet resolved by a move, new activity, an extension or "
                   "a kill")
OWNERSHIP_FORMULA = ("owner left, no word from the owner in more than {silent_days} days "
                     "(nothing they did anywhere in the product), or nobody Responsible past "
                     "the idea stage")
COMPLIANCE_FORMULA = ("a checkpoint that gates its current stage (or an earlier one) is "
                      "neither approved nor waived")


def kpi_definitions() -> dict[str, str]:
    """How each KPI is counted, in words: the page's hover texts and the API's definitions."""
    return {
        "conversion": CONVERSION_FORMULA,
        "median_pilot_age": MEDIAN_AGE_FORMULA,
        "stalled_pilots": STALLED_FORMULA.format(max_days=settings.PILOT_MAX_DAYS,
                                                 idle_days=settings.PILOT_IDLE_DAYS),
        "ownership_gaps": OWNERSHIP_FORMULA.format(silent_days=settings.OWNER_SILENT_DAYS),
        "out_of_compliance": COMPLIANCE_FORMULA,
    }

# The Initiative fields the table does not show.
_DEFERRED = ("summary",)


@dataclass(frozen=True)
class Funding:
    """Where a shown initiative stands against its team's line."""

    status: str
    blockers: list[str] = field(default_factory=list)  # funded and blocked: by what
    reason: str = ""

    @property
    def blocked(self) -> bool:
        return bool(self.blockers)

    @property
    def label(self) -> str:
        label = FUNDING_LABELS[self.status]
        return f"{label}, blocked" if self.blockers else label

    @property
    def detail(self) -> str:
        """The words behind the status: what blocks it, or why it is below the line."""
        if self.blockers:
            return "Blocked by " + "; ".join(self.blockers)
        return self.reason


_NOT_RANKED = Funding(status=NOT_RANKED, reason=NOT_RANKED_DETAIL)


FUNDED_POSITIONS = (FundingPosition.COMMITTED.value, FundingPosition.FUNDED.value)


def funding_of(standing: Standing | None, *, ahead: int = 0) -> Funding:
    """Where a shown initiative stands in the quarter ``ahead`` of this one."""
    if standing is None:
        return _NOT_RANKED
    status, reason = standing.position(ahead)
    blocked = standing.blocked and status in FUNDED_POSITIONS
    return Funding(status=status, blockers=list(standing.blockers) if blocked else [],
                   reason=reason)


# --- Positions: the table's groups and the first screen's counts -------------------------------

COMMITTED = FundingPosition.COMMITTED.value
FUNDED = FundingPosition.FUNDED.value
BELOW_LINE = FundingPosition.BELOW_LINE.value
BLOCKED = "blocked"
# What each position of the ``position`` filter lists, as stored positions of the quarter.
POSITION_STATUSES = {
    COMMITTED: (COMMITTED,),
    FUNDED: (FUNDED,),
    # Candidates that do not fit, are not sized, or whose team has no plan for the quarter.
    BELOW_LINE: (BELOW_LINE, FundingPosition.UNSIZED.value, FundingPosition.NO_PLAN.value),
}


@dataclass(frozen=True)
class Group:
    """One of the ranked table's three groups for the chosen quarter."""

    key: str
    title: str
    caption: str


GROUPS = (
    Group(COMMITTED, "Committed",
          "Work in pilot, production or scaled, and ideas or assessments funded in an "
          "earlier quarter: it draws its team's capacity first."),
    Group(FUNDED, "Fund next",
          "Ideas and assessments that fit in what committed work leaves, in rank order."),
    Group(BELOW_LINE, "Below the line",
          "Ideas and assessments that do not fit, have no effort estimate, or whose team "
          "has no capacity plan for the quarter."),
)
# Rows each group shows on the dashboard before "see all".
GROUP_PREVIEW = 10
# How many of the candidates funded next the first screen names.
ENTERING = 3


# What blocks a funded initiative, grouped: the gate's words start with a checkpoint
# type's name ("DPIA (not started)") or one of these phrases (``governance.services``,
# ``portfolio.outcomes.contract``).
def _blocker_q(kind: str) -> Q:
    """The standings whose blockers include one of ``kind`` (``blocker_kind``), as stored:
    a blocker is a JSON string, so a checkpoint type's starts with a quote and its name."""
    prefixes = [prefix for prefix, named in BLOCKER_KINDS if named == kind]
    if not prefixes:
        prefixes = [f"{kind} ("]
    condition = Q()
    for prefix in prefixes:
        condition |= Q(standing__blockers__icontains=f'"{prefix}')
    return condition


def position_q(position: str, *, column: str, blocker: str = "") -> Q:
    """Initiatives at ``position`` (a ``POSITION_CHOICES`` key) in the quarter whose
    standings column is ``column``; ``Q()`` for every position."""
    if position in POSITION_STATUSES:
        return Q(**{f"standing__{column}__in": POSITION_STATUSES[position]},
                 standing__rank__isnull=False)
    if position == BLOCKED:
        condition = Q(standing__blocked=True, **{f"standing__{column}__in": FUNDED_POSITIONS})
        return condition & _blocker_q(blocker) if blocker else condition
    if position == NOT_DRAWING:
        return Q(**{f"standing__{column}": NOT_DRAWING})
    if position == NOT_RANKED:
        return Q(standing__isnull=True)
    return Q()


@dataclass(frozen=True)
class PositionCounts:
    """How many shown initiatives stand where in the chosen quarter."""

    committed: int
    funded: int
    below_line: int   # all three below the line: over capacity, unsized, no plan
    over_capacity: int
    unsized: int
    no_plan: int
    blocked: int
    not_drawing: int
    not_ranked: int
    total: int

    def of(self, position: str) -> int:
        return getattr(self, position)


def position_counts(board: Dashboard) -> PositionCounts:
    """The shown initiatives per position in ``board``'s quarter: one query."""
    column = board.funding_column
    stored = f"standing__{column}"
    ranked = Q(standing__rank__isnull=False)
    counts = _filtered(_live(board.filters), board.filters).order_by().aggregate(
        total=Count("pk"),
        committed=Count("pk", filter=position_q(COMMITTED, column=column)),
        funded=Count("pk", filter=position_q(FUNDED, column=column)),
        below_line=Count("pk", filter=position_q(BELOW_LINE, column=column)),
        over_capacity=Count("pk", filter=ranked & Q(**{stored: BELOW_LINE})),
        unsized=Count("pk", filter=ranked & Q(**{stored: FundingPosition.UNSIZED})),
        no_plan=Count("pk", filter=ranked & Q(**{stored: FundingPosition.NO_PLAN})),
        blocked=Count("pk", filter=position_q(BLOCKED, column=column)),
        not_drawing=Count("pk", filter=position_q(NOT_DRAWING, column=column)),
        not_ranked=Count("pk", filter=position_q(NOT_RANKED, column=column)),
    )
    return PositionCounts(**counts)


@dataclass(frozen=True)
class Kpis:
    stage_counts: list[tuple[str, str, int]]  # (stage, label, count), lifecycle order
    total: int
    entered_pilot: int
    reached_production: int
    median_pilot_age: float | None       # days; None with no pilot
    pilots: int
    stalled_pilots: int
    ownership_gaps: int
    out_of_compliance: int

    @property
    def conversion_percent(self) -> int | None:
        if not self.entered_pilot:
            return None
        return round(100 * self.reached_production / self.entered_pilot)


@dataclass
class Row:
    """One row of the ranked table (and of the CSV)."""

    rank: int | None
    initiative: Initiative
    breakdown: formulas.ScoreBreakdown | None
    funding: Funding

    @property
    def score(self) -> float | None:
        return self.initiative.score

    @property
    def score_text(self) -> str:
        return "not scorable" if self.score is None else formulas.fmt(self.score)

    @property
    def progress_text(self) -> str:
        total = self.initiative.checkpoints_total
        return f"{self.initiative.checkpoints_cleared}/{total}" if total else "—"


def _standing(initiative: Initiative) -> Standing | None:
    try:
        return initiative.standing
    except Standing.DoesNotExist:
        return None


@dataclass
class Dashboard:
    now: datetime
    snapshot: PortfolioSnapshot   # the standings shown: ranks, the funding line, KPI flags
    model: ScoringModel | None    # what the table is ranked by: the standings' model
    filters: dict
    # Ranked by another model than the standings' (the API's ``?model=``): every live
    # initiative's rank under it. None: the standings' ranks.
    ranks: dict[int, int] | None = None
    # The quarter whose funding line is shown: this many quarters after the standings'.
    ahead: int = 0

    @property
    def today(self) -> date:
        return timezone.localdate(self.now)

    @property
    def year_quarter(self) -> tuple[int, int]:
        year, quarter = self.snapshot.year, self.snapshot.quarter
        for _ in range(self.ahead):
            year, quarter = next_quarter(year, quarter)
        return year, quarter

    @property
    def quarter_label(self) -> str:
        return quarter_label(*self.year_quarter)

    @property
    def is_this_quarter(self) -> bool:
        return self.ahead == 0

    @property
    def funding_column(self) -> str:
        """The standings' column holding the shown quarter's positions."""
        return FUNDING_COLUMNS[self.ahead]

    @property
    def position(self) -> str:
        return self.filters.get("position") or ""

    def position_q(self, position: str | None = None, *, blocker: str | None = None) -> Q:
        """The shown initiatives at ``position`` (``POSITIONS``; default: the filter's) in
        the shown quarter, as a filter on initiatives (``Q()`` for every position)."""
        position = self.position if position is None else position
        blocker = self.filters.get("blocker") or "" if blocker is None else blocker
        return position_q(position, column=self.funding_column, blocker=blocker)

    @property
    def refreshing(self) -> bool:
        """Whether the standings shown are being recomputed (the worker is on it)."""
        return getattr(self.snapshot, "refreshing", False)

    def table(self) -> RankedIds | QuerySet:
        """The ids of the filtered table's rows, in rank order (a lean query to page)."""
        if self.ranks is None:
            if self.position:
                return GroupIds(self, self.position)
            return RankedIds(self.filters)
        return (_filtered(_live(self.filters), self.filters).filter(self.position_q())
                .annotate(score=score_expression(self.model)).order_by(*rank_order())
                .values_list("pk", flat=True))

    def rows(self, ids) -> list[Row]:
        """Table rows for the initiatives ``ids`` (a page of ``table()``), in that order,
        with everything a row shows: one query."""
        ids = list(ids)
        by_id = {initiative.pk: initiative for initiative in
                 with_row_columns(Initiative.objects.filter(pk__in=ids), model=self.model,
                                  now=self.now).order_by()}
        return self._rows(by_id[pk] for pk in ids if pk in by_id)

    def iter_rows(self) -> Iterator[Row]:
        """Every filtered row, for the export: one query, streamed."""
        ordered = table_queryset(filters=self.filters, model=self.model,
                                 now=self.now).filter(self.position_q())
        if self.ranks is None and not self.position:
            # As the page shows them: committed, fund next, below the line, then paused
            # work and the not yet ranked, each in rank order.
            ordered = ordered.order_by(self._group_order(), *RANK_ORDER)
        elif self.ranks is None:
            ordered = ordered.order_by(*RANK_ORDER)
        else:
            ordered = ordered.order_by(*rank_order())
        for initiative in ordered.iterator(chunk_size=2000):
            yield from self._rows([initiative])

    def _group_order(self) -> Case:
        column = f"standing__{self.funding_column}"
        return Case(*[When(Q(**{f"{column}__in": POSITION_STATUSES[group.key]}),
                           then=Value(place)) for place, group in enumerate(GROUPS)],
                    When(**{column: NOT_DRAWING}, then=Value(len(GROUPS))),
                    default=Value(len(GROUPS) + 1), output_field=IntegerField())

    def _rows(self, initiatives) -> list[Row]:
        rows = []
        for initiative in initiatives:
            standing = _standing(initiative)
            if self.ranks is not None:
                rank = self.ranks.get(initiative.pk)
            else:
                rank = standing.rank if standing else None
            rows.append(Row(rank=rank, initiative=initiative,
                            breakdown=(formulas.breakdown(initiative, model=self.model)
                                       if self.model else None),
                            funding=funding_of(standing, ahead=self.ahead)))
        return rows

    def teams(self) -> list[TeamStanding]:
        """Each team's capacity against demand in the shown quarter (the team filter
        narrows which teams, never their figures), by name: one query, read once."""
        if self._teams is None:
            teams = (TeamStanding.objects.filter(ahead=self.ahead).select_related("team")
                     .order_by("team__name", "team_id"))
            if self.filters.get("team"):
                teams = teams.filter(team=self.filters["team"])
            self._teams = list(teams)
        return self._teams

    _teams: list[TeamStanding] | None = field(default=None, init=False, repr=False)

    def counts(self) -> PositionCounts:
        """How many shown initiatives stand where in the shown quarter: one query, read
        once (the first screen, the table's groups and their links count the same), and
        once per snapshot while the standings are current (``per_snapshot``)."""
        if self._counts is None:
            self._counts = self.per_snapshot("positions", lambda: position_counts(self))
        return self._counts

    def per_snapshot(self, name: str, compute):
        """``compute()``, a count over the whole filtered portfolio, computed once per
        standings snapshot: while the standings are current nothing they are computed from
        has changed since ``taken_at`` (every such write marks them stale first), so the
        answer is the same until the next refresh moves ``taken_at``. Kept in Django's
        cache under the snapshot, the day, the filters and the quarter; while a change is
        pending (``refreshing``) it is computed live, as before. Reads no SQL on a hit."""
        snapshot = self.snapshot
        if self.refreshing or snapshot.taken_at is None:
            return compute()
        if self._version is None:
            self._version = snapshot_version(snapshot)
        if not self._version:
            return compute()
        team = self.filters.get("team")
        parts = [name, self._version, snapshot.taken_at.isoformat(), self.today.isoformat(),
                 self.ahead,
                 team.pk if team else None, self.filters.get("category") or "",
                 self.filters.get("stage") or ""]
        digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
        key = f"scoring:dashboard:v{COUNTS_CACHE_VERSION}:{digest}"
        found = cache.get(key)
        if found is None:
            found = compute()
            cache.set(key, found, COUNTS_CACHE_SECONDS)
        return found

    _counts: PositionCounts | None = field(default=None, init=False, repr=False)
    _version: str | None = field(default=None, init=False, repr=False)

    def group_ids(self, position: str, limit: int) -> list[int]:
        """The first ``limit`` ids at ``position`` in the shown quarter, best first."""
        return list(GroupIds(self, position)[0:limit])

    def top(self, limit: int) -> QuerySet[Initiative]:
        """The ``limit`` best-ranked initiatives shown (the not yet ranked are not among
        them): read down the rank index."""
        return _ranked_only(self.filters).defer(*_DEFERRED)[:limit]

    def heat_map_rows(self, limit: int) -> list[Initiative]:
        """The heat map's initiatives: every shown one out of compliance first (what the
        compliance KPI counts, best-ranked first), then the best-ranked others, ``limit``
        in all. Choosing them sorts every shown initiative: their ids are chosen once per
        snapshot (``per_snapshot``), then their rows read by id: two queries, one while
        the ids are kept."""
        ids = self.per_snapshot(f"heat-map:{limit}", lambda: list(
            _filtered(_live(self.filters), self.filters)
            .order_by(F("standing__out_of_compliance").desc(nulls_last=True), *RANK_ORDER)
            .values_list("pk", flat=True)[:limit]))
        by_id = Initiative.objects.defer(*_DEFERRED).in_bulk(ids)
        return [by_id[pk] for pk in ids if pk in by_id]


def snapshot_version(snapshot: PortfolioSnapshot) -> str:
    """Which write of the snapshot row this is, on PostgreSQL: its ``xmin``, a new one with
    every refresh (even two refreshes at one frozen ``taken_at``, even in one test's
    transaction), never reused by the server. "" elsewhere or before the first refresh:
    then nothing is kept per snapshot. One query."""
    if connection.vendor != "postgresql" or snapshot.pk is None:
        return ""
    return (PortfolioSnapshot.objects.filter(pk=snapshot.pk)
            .annotate(version=RawSQL("xmin::text", ())).values_list("version", flat=True)
            .first()) or ""


# --- Filters ------------------------------------------------------------------------------------

def _filtered(queryset: QuerySet, filters: dict, *, prefix: str = "") -> QuerySet:
    for name in ("team", "category", "stage"):
        if filters.get(name):
            queryset = queryset.filter(**{prefix + name: filters[name]})
    return queryset


def _live(filters: dict) -> QuerySet[Initiative]:
    """The table's population: retired initiatives only when the retired stage is asked for."""
    if filters.get("stage") == Stage.RETIRED:
        return Initiative.objects.all()
    return Initiative.objects.exclude(stage=Stage.RETIRED)


# The standings' order: best first, the not yet ranked (and the retired) last.
RANK_ORDER = (F("standing__rank").asc(nulls_last=True), "created_at", "id")


def _ranked_only(filters: dict) -> QuerySet[Initiative]:
    """What the filters show that the standings rank, best first: joined to them, so
    PostgreSQL reads down the rank index and stops at the limit."""
    return (_filtered(_live(filters), filters).filter(standing__rank__isnull=False)
            .order_by("standing__rank"))


class RankedIds:
    """The ids of what the filters show, in the standings' order, for a paginator: the
    ranked read down the rank index (a page of them reads a page of rows), then the not
    yet ranked, oldest first. Only a page past the last ranked one counts them."""

    def __init__(self, filters: dict):
        shown = _filtered(_live(filters), filters)
        self._shown = shown
        self._ranked = _ranked_only(filters).values_list("pk", flat=True)
        self._unranked = (shown.filter(Q(standing__isnull=True) | Q(standing__rank__isnull=True))
                          .order_by("created_at", "id").values_list("pk", flat=True))

    def count(self) -> int:
        return self._shown.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, page: slice) -> list[int]:
        start, stop = page.start or 0, page.stop
        ids = list(self._ranked[start:stop])
        wanted = stop - start
        if len(ids) == wanted:
            return ids
        ranked = start + len(ids) if ids else self._ranked.count()
        skip = max(start - ranked, 0)
        return ids + list(self._unranked[skip:skip + wanted - len(ids)])


class GroupIds:
    """The ids at one position of the shown quarter, best first, for a paginator: read
    down the rank index (the not yet ranked: oldest first). Its count is the board's
    ``counts()``, the number the first screen links from."""

    def __init__(self, board: Dashboard, position: str):
        self._board, self._position = board, position
        shown = _filtered(_live(board.filters), board.filters).filter(
            board.position_q(position))
        order = (("created_at", "id") if position == NOT_RANKED
                 else ("standing__rank", "created_at", "id"))
        self._ids = shown.order_by(*order).values_list("pk", flat=True)

    def count(self) -> int:
        if self._position == BLOCKED and self._board.filters.get("blocker"):
            return self._ids.count()
        return self._board.counts().of(self._position)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, page: slice) -> list[int]:
        return list(self._ids[page])


# --- The table ----------------------------------------------------------------------------------

def with_governance_progress(queryset: QuerySet[Initiative], *,
                             today: date) -> QuerySet[Initiative]:
    """Annotate ``checkpoints_cleared`` and ``checkpoints_total`` (applicable checkpoints)
    in the same query: two correlated counts, no GROUP BY over the row."""
    applicable = Checkpoint.objects.applicable().filter(initiative=OuterRef("pk"))

    def count(checkpoints):
        return Coalesce(Subquery(checkpoints.order_by().values("initiative")
                                 .annotate(n=Count("pk")).values("n")[:1],
                                 output_field=IntegerField()), 0)

    return queryset.annotate(checkpoints_total=count(applicable),
                             checkpoints_cleared=count(applicable.cleared(today)))


def table_queryset(*, filters: dict, model: ScoringModel | None,
                   now: datetime) -> QuerySet[Initiative]:
    """The shown initiatives with what a row shows (unordered); ``score`` is ``model``'s."""
    return with_row_columns(_filtered(_live(filters), filters), model=model, now=now)


def with_row_columns(queryset: QuerySet[Initiative], *, model: ScoringModel | None,
                     now: datetime) -> QuerySet[Initiative]:
    """``queryset`` with everything a table row shows at ``now``, in the same query."""
    today = timezone.localdate(now)
    queryset = queryset.select_related("team", "owner", "standing").defer(*_DEFERRED)
    queryset = with_governance_progress(
        with_compliance(with_ownership_health(queryset, now=now), today=today), today=today)
    return queryset.annotate(score=score_expression(model))


# --- KPIs ---------------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY = timedelta(days=1)


def _pilots_since(base: QuerySet[Initiative]) -> Counter:
    """When each pilot of ``base`` entered pilot, as whole microseconds since 1970 (a
    compact key to keep per snapshot), with how many share it: one query."""
    return Counter({(since - _EPOCH) // timedelta(microseconds=1): n for since, n in
                    base.filter(stage=Stage.PILOT).order_by().values_list("stage_changed_at")
                    .annotate(n=Count("pk"))})


def _age_days(stamp: int, *, now: datetime) -> int:
    """The age at ``now`` in whole days (``timedelta.days``; never below 0) of a pilot
    that entered pilot at ``stamp`` (``_pilots_since``'s microseconds since 1970)."""
    at = (now - _EPOCH) // timedelta(microseconds=1)
    return max((at - stamp) // (_DAY // timedelta(microseconds=1)), 0)


def pilot_ages(since: Counter, *, now: datetime) -> list[int]:
    """The pilots' ages at ``now`` in whole days (``_age_days``), ascending, from
    ``_pilots_since``: no query."""
    return sorted(age for stamp, n in since.items()
                  for age in [_age_days(stamp, now=now)] * n)


@dataclass(frozen=True)
class PilotMiddle:
    """What the pilots' median age needs, whatever the clock: how many pilots there are,
    and when the one or two in the middle of their ages entered pilot. An age only falls
    as the entry is later, so the middle pilots by entry are the middle ones by age, at
    any ``now`` (``tests/scoring/test_dashboard.py`` compares it with every age's median).
    """

    pilots: int
    entered: tuple[int, ...]  # ``_pilots_since`` stamps: one (odd count) or two; none

    @classmethod
    def of(cls, since: Counter) -> PilotMiddle:
        total = sum(since.values())
        # Latest entry first: ages ascending; the middle positions of that order.
        wanted = sorted({(total - 1) // 2, total // 2}) if total else []
        entered, seen = [], 0
        for stamp in sorted(since, reverse=True):
            seen += since[stamp]
            while wanted and wanted[0] < seen:
                entered.append(stamp)
                wanted.pop(0)
            if not wanted:
                break
        return cls(pilots=total, entered=tuple(entered))

    def median_age(self, *, now: datetime) -> float | None:
        """``statistics.median`` of ``pilot_ages`` at ``now``; None with no pilot."""
        if not self.entered:
            return None
        ages = [_age_days(stamp, now=now) for stamp in self.entered]
        return ages[0] if len(ages) == 1 else (ages[0] + ages[1]) / 2


def kpis(board: Dashboard) -> tuple[Kpis, list[int]]:
    """``kpi_figures(board)``, and the ages (days) of its pilots (the page's chart of
    them): when each entered pilot is kept per snapshot (``per_snapshot``), their ages at
    ``now`` worked out here, one per pilot. At most one query of its own."""
    since = board.per_snapshot("pilots-since", lambda: _pilots_since(_pilot_base(board)))
    return kpi_figures(board, since=since), pilot_ages(since, now=board.now)


def _pilot_base(board: Dashboard) -> QuerySet[Initiative]:
    return _filtered(Initiative.objects.all(), board.filters)


def kpi_figures(board: Dashboard, *, since: Counter | None = None) -> Kpis:
    """The KPIs over ``board``'s filtered portfolio (``since``: its ``_pilots_since``,
    when the caller has read it).

    Counts per stage and pilot ages are read live; the flags (conversion, stalled,
    ownership, compliance) are the board's standings'. Three queries; while the standings
    are current the counts, the flags and the middle pilots (``PilotMiddle``) are read
    once per snapshot (``per_snapshot``), and only the median age, which grows with the
    clock, is worked out each time: from one or two entries, however many pilots.
    """
    filters, now = board.filters, board.now
    base = _pilot_base(board)
    counts, totals = board.per_snapshot("kpis", lambda: (
        stage_counts(base),
        _filtered(Standing.objects.all(), filters, prefix="initiative__").aggregate(
            n_entered_pilot=Count("pk", filter=Q(entered_pilot=True)),
            n_reached_production=Count("pk", filter=Q(reached_production=True)),
            n_stalled=Count("pk", filter=Q(stalled=True)),
            n_gaps=Count("pk", filter=Q(ownership_gap=True)),
            n_noncompliant=Count("pk", filter=Q(out_of_compliance=True)),
        )))
    # The middle pilots are kept per snapshot; their age, which grows with the clock, is
    # worked out at ``now``.
    middle = board.per_snapshot("pilot-middle", lambda: PilotMiddle.of(
        since if since is not None
        else board.per_snapshot("pilots-since", lambda: _pilots_since(base))))
    return Kpis(
        stage_counts=counts, total=sum(n for _, _, n in counts),
        entered_pilot=totals["n_entered_pilot"],
        reached_production=totals["n_reached_production"],
        median_pilot_age=middle.median_age(now=now), pilots=middle.pilots,
        stalled_pilots=totals["n_stalled"], ownership_gaps=totals["n_gaps"],
        out_of_compliance=totals["n_noncompliant"],
    )


# --- Assembly -----------------------------------------------------------------------------------

def dashboard(*, filters: dict | None = None, now: datetime | None = None) -> Dashboard:
    """The standings at ``now`` (recomputed first if stale and quick), to be filtered."""
    now = now or timezone.now()
    filters = filters or {}
    snapshot = standings_current(now=now)
    return Dashboard(now=now, snapshot=snapshot, model=snapshot.model, filters=filters,
                     ahead=_ahead(snapshot, filters.get("quarter")))


def _ahead(snapshot: PortfolioSnapshot, wanted: tuple[int, int] | None) -> int:
    """How many quarters after the standings' ``wanted`` is (0 to 3; None: this one). The
    form allows only this quarter and the next three; standings computed before the
    quarter turned hold the new one a place further on."""
    if not wanted:
        return 0
    year, quarter = wanted
    ahead = (year * 4 + quarter) - (snapshot.year * 4 + snapshot.quarter)
    return min(max(ahead, 0), PLAN_QUARTERS - 1)


def rank_by(board: Dashboard, model: ScoringModel) -> Dashboard:
    """``board`` with its table ranked by ``model`` instead, computed now (every live
    initiative: a question about another model, not the dashboard's steady read). The
    funding line stays the standings': another model reorders, it does not move the line."""
    if board.model is not None and model.pk == board.model.pk:
        return board
    ranks = dict(ranked_initiatives(Initiative.objects.exclude(stage=Stage.RETIRED), model=model)
                 .values_list("pk", "rank"))
    return Dashboard(now=board.now, snapshot=board.snapshot, model=model,
                     filters=board.filters, ranks=ranks, ahead=board.ahead)


def dashboard_charts(board: Dashboard, *, kpis: Kpis, pilot_ages: list[int]) -> list:
    """The five charts, as ``(chart, wide)``: each over what the filters show."""
    capacity = [(team.team.name, None if team.capacity is None else float(team.capacity),
                 float(team.demand), float(team.funded_effort)) for team in board.teams()]
    points = [(title, float(effort), score,
               FUNDED_BLOCKED if blocked and funding in FUNDED_POSITIONS else funding)
              for title, effort, score, funding, blocked in
              _ranked_only(board.filters).filter(effort_weeks__isnull=False)
              .values_list("title", "effort_weeks", "standing__score",
                           f"standing__{board.funding_column}", "standing__blocked")
              [:charts.SCATTER_LIMIT]]
    return [
        (charts.stage_funnel([(stage, n) for stage, _, n in kpis.stage_counts]), False),
        (charts.capacity_vs_demand(capacity), False),
        (charts.value_vs_effort(points), False),
        (charts.pilot_age_distribution(pilot_ages, max_days=settings.PILOT_MAX_DAYS), False),
        (charts.heat_map_chart(heat_map(board.heat_map_rows(HEAT_MAP_ROWS),
                                        today=board.today),
                               limit=HEAT_MAP_ROWS, out_of_compliance=kpis.out_of_compliance),
         True),
    ]


# --- The table's groups ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TableGroup:
    group: Group
    count: int
    rows: list[Row]
    url: str  # the whole group, paginated

    @property
    def more(self) -> int:
        return self.count - len(self.rows)


@dataclass(frozen=True)
class TableGroups:
    """The ranked table for the chosen quarter: with no position asked for, the first
    rows of committed, fund next and below the line; else that position's rows, paged."""

    position: str
    groups: list[TableGroup]
    page: Page | None
    rows: list[Row]
    # Listed apart: paused work (draws no capacity) and the not yet ranked.
    others: list[tuple[str, Figure]]
    total: int  # every initiative the filters show

    @property
    def title(self) -> str:
        return dict(POSITION_TITLES).get(self.position, "")


POSITION_TITLES = (
    (COMMITTED, "Committed"), (FUNDED, "Fund next"), (BELOW_LINE, "Below the line"),
    (BLOCKED, "Funded but blocked"), (NOT_DRAWING, "Paused: draws no capacity"),
    (NOT_RANKED, "Not yet ranked"),
)


def table_groups(board: Dashboard, *, page=None, page_size: int) -> TableGroups:
    """The table's rows: a page of the asked position (its count, ids and rows: two
    queries, the count is ``board.counts()``), or each group's first ``GROUP_PREVIEW``
    (three id queries and one of rows)."""
    counts = board.counts()
    others = [(label, Figure(counts.of(key), list_url(board, key)))
              for key, label in ((NOT_DRAWING, "paused, drawing no capacity"),
                                 (NOT_RANKED, "not yet ranked")) if counts.of(key)]
    if board.position:
        paged = Paginator(board.table(), page_size).get_page(page)
        return TableGroups(position=board.position, groups=[], page=paged,
                           rows=board.rows(paged.object_list), others=others,
                           total=counts.total)
    ids = {group.key: board.group_ids(group.key, GROUP_PREVIEW) for group in GROUPS}
    rows = {row.initiative.pk: row for row in board.rows(
        [pk for group in GROUPS for pk in ids[group.key]])}
    return TableGroups(position="", page=None, rows=[], others=others, total=counts.total,
                       groups=[
        TableGroup(group=group, count=counts.of(group.key),
                   rows=[rows[pk] for pk in ids[group.key] if pk in rows],
                   url=list_url(board, group.key)) for group in GROUPS])


# --- The first screen: fund, blocked, stuck ------------------------------------------------------

@dataclass(frozen=True)
class Figure:
    """A number on the first screen and the list behind it (the same rows)."""

    count: int
    url: str


@dataclass(frozen=True)
class Entering:
    """A candidate funded next in the chosen quarter."""

    pk: int
    title: str
    team: str
    effort: float | None
    rank: int | None
    url: str


@dataclass(frozen=True)
class FundAnswer:
    """The chosen quarter's line over what the filters show."""

    quarter: str
    committed: Figure
    funded: Figure
    below_line: Figure
    over_capacity: int   # of below the line: did not fit
    unsized: int
    no_plan: int
    capacity: float      # engineer-weeks planned by the teams shown
    committed_effort: float
    funded_effort: float  # committed work and the candidates funded next
    teams_without_plan: int
    over: list[TeamStanding]  # teams over capacity, most over first
    entering: list[Entering]
    capacity_url: str     # the capacity plans page for the quarter ("" before it exists)
    scenarios_url: str
    quarters: list[tuple[str, str, bool]]  # the plan's quarters: (label, URL, shown)


@dataclass(frozen=True)
class BlockedAnswer:
    """Funded (committed or fund next) in the chosen quarter, and governance blocks them."""

    total: Figure
    by_kind: list[tuple[str, Figure]]  # what blocks them, most common first


@dataclass(frozen=True)
class StuckAnswer:
    """What waits on someone: open stalled-pilot flags, overdue governance reviews and
    overdue value reviews — as their own pages count them (the team filter applies)."""

    stalled_pilots: Figure
    overdue_reviews: Figure
    overdue_value_reviews: Figure
    scope: str  # "Support" or "the portfolio"


@dataclass(frozen=True)
class FirstScreen:
    fund: FundAnswer
    blocked: BlockedAnswer
    stuck: StuckAnswer


def _url(name: str, **query) -> str:
    """``name``'s path with ``query`` (empty values left out); "" while the page does
    not exist."""
    try:
        path = reverse(name)
    except NoReverseMatch:
        return ""
    query = {key: value for key, value in query.items() if value not in (None, "")}
    return path + ("?" + urlencode(query) if query else "")


def dashboard_query(board: Dashboard, **changes) -> dict:
    """The dashboard's query string for ``board``'s quarter and filters, changed."""
    team = board.filters.get("team")
    query = {"quarter": board.quarter_label, "team": team.slug if team else "",
             "category": board.filters.get("category") or "",
             "stage": board.filters.get("stage") or ""}
    query.update(changes)
    return query


def list_url(board: Dashboard, position: str, **changes) -> str:
    """The dashboard's table at ``position`` in ``board``'s quarter, the filters kept."""
    return (_url("scoring:dashboard", **dashboard_query(board, position=position, **changes))
            + "#ranking")


def fund_answer(board: Dashboard) -> FundAnswer:
    """The quarter's line: the counts per group (``board.counts()``), the teams' weeks
    (``board.teams()``, summed once per snapshot) and the first candidates that enter:
    one query of its own."""
    counts = board.counts()
    teams = board.per_snapshot("team-sums", lambda: _team_sums(board.teams()))
    entering = [
        Entering(pk=pk, title=title, team=team, rank=rank,
                 effort=None if effort is None else float(effort),
                 url=reverse("portfolio:initiative-detail", args=[pk]))
        for pk, title, team, effort, rank in
        _ranked_only(board.filters).filter(board.position_q(FUNDED))
        .values_list("pk", "title", "team__name", "effort_weeks", "standing__rank")[:ENTERING]]
    return FundAnswer(
        quarter=board.quarter_label,
        committed=Figure(counts.committed, list_url(board, COMMITTED)),
        funded=Figure(counts.funded, list_url(board, FUNDED)),
        below_line=Figure(counts.below_line, list_url(board, BELOW_LINE)),
        over_capacity=counts.over_capacity, unsized=counts.unsized, no_plan=counts.no_plan,
        **teams,
        entering=entering,
        capacity_url=_url("scoring:capacity", quarter=board.quarter_label),
        scenarios_url=_url("scoring:scenarios"),
        quarters=_quarter_links(board),
    )


def _team_sums(teams: list[TeamStanding]) -> dict:
    """``FundAnswer``'s figures over the shown teams: a few numbers and the teams over
    capacity, kept per snapshot (``fund_answer``) so a steady read does not load every
    team."""
    planned = [team for team in teams if team.capacity is not None]
    return {
        "capacity": float(sum(team.capacity for team in planned)),
        "committed_effort": float(sum(team.committed_effort for team in teams)),
        "funded_effort": float(sum(team.funded_effort for team in teams)),
        "teams_without_plan": len(teams) - len(planned),
        # A team without a plan is not over capacity: it has none planned (counted apart).
        "over": sorted((team for team in planned if team.over_committed),
                       key=lambda team: (-team.over_commitment, team.team.name)),
    }


def _quarter_links(board: Dashboard) -> list[tuple[str, str, bool]]:
    year, quarter = board.snapshot.year, board.snapshot.quarter
    links = []
    for ahead in range(PLAN_QUARTERS):
        label = quarter_label(year, quarter)
        links.append((label, _url("scoring:dashboard", **dashboard_query(board, quarter=label)),
                      ahead == board.ahead))
        year, quarter = next_quarter(year, quarter)
    return links


def blocked_answer(board: Dashboard) -> BlockedAnswer:
    """The funded but blocked in the quarter, counted by what blocks them (an initiative
    blocked by two checkpoint types counts under each). Over every team, or one, the
    standings stored the counts per team and quarter (``TeamStanding.blocked_by``),
    summed once per snapshot: no query of its own. A category or stage filter reads the
    blocked initiatives' blockers (one query, of the blocked only)."""
    kinds: Counter = Counter()
    if board.filters.get("category") or board.filters.get("stage"):
        for blockers in (_filtered(_live(board.filters), board.filters)
                         .filter(board.position_q(BLOCKED, blocker=""))
                         .values_list("standing__blockers", flat=True)):
            kinds.update({blocker_kind(text) for text in blockers or []})
    else:
        kinds.update(board.per_snapshot("team-blockers", lambda: sum(
            (Counter(team.blocked_by) for team in board.teams()), Counter())))
    return BlockedAnswer(
        total=Figure(board.counts().blocked, list_url(board, BLOCKED)),
        by_kind=[(kind, Figure(n, list_url(board, BLOCKED, blocker=kind)))
                 for kind, n in sorted(kinds.items(), key=lambda item: (-item[1], item[0]))])


def stuck_answer(board: Dashboard) -> StuckAnswer:
    """Three counts, each by the selector of the page it links to (the queue's overdue
    tab, as ``review_queue_counts`` counts it), with the dashboard's team filter: three
    queries."""
    team = board.filters.get("team")
    slug = team.slug if team else ""
    only_team = {"team": team} if team else {}
    open_flags = {key: n for key, _, n in
                  stall_state_counts(user=None, filters=only_team, now=board.now)}[""]
    # The queue page's own overdue tab count: on PostgreSQL the whole queue's is summed
    # from the stored ``QueueCount`` (a team's is counted over that team's queue).
    overdue = review_queue_counts(review_queue(today=board.today, filters=only_team),
                                  today=board.today, filters=only_team)["overdue"]
    # Value reviews are written with an activity, which marks the standings stale: their
    # count is kept per snapshot and day.
    value_overdue = {key: n for key, _, n in board.per_snapshot(
        "value-review-tabs", lambda: value_review_tab_counts(
            user=None, filters=only_team, now=board.now))}["overdue"]
    return StuckAnswer(
        stalled_pilots=Figure(open_flags, _url("portfolio:stall-list", team=slug)),
        overdue_reviews=Figure(overdue, _url("governance:review-queue", status="overdue",
                                             team=slug)),
        overdue_value_reviews=Figure(value_overdue, _url("portfolio:value-review-list",
                                                         tab="overdue", team=slug)),
        scope=team.name if team else "the portfolio")


def first_screen(board: Dashboard) -> FirstScreen:
    """The three answers, for the page and ``/api/v1/dashboard/`` alike."""
    return FirstScreen(fund=fund_answer(board), blocked=blocked_answer(board),
                       stuck=stuck_answer(board))


def review_capacity_rows(board: Dashboard) -> list[ReviewCapacityRow]:
    """Review capacity per checkpoint type (``governance.selectors.review_capacity``), for
    the dashboard and ``/api/v1/review-capacity/``: it counts every open and recently
    decided checkpoint, so once per snapshot (``per_snapshot``: every checkpoint and
    catalogue write marks the standings stale; the key holds the day the pace window and
    the due dates are reckoned from)."""
    return board.per_snapshot("review-capacity",
                              lambda: review_capacity(today=board.today))


# --- Value ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ValueSection:
    """The dashboard's value KPIs and its predicted-versus-realised chart, over what the
    filters show (the value flags are the whole portfolio's, as on their list)."""

    kpis: value.ValueKpis
    chart: charts.Chart


def value_chart(by_team: list[value.Total]) -> charts.Chart:
    """Predicted against realised value per team (``value_report``'s ``by_team``)."""
    return charts.value_by_team(
        [(total.key, float(total.total.predicted_reviewed), float(total.total.realised_value),
          total.total.reviewed, total.total.initiatives) for total in by_team],
        currency=settings.VALUE_CURRENCY, held_below=float(1 - value.ACCURACY_MARGIN))


def value_kpis(board: Dashboard) -> value.ValueKpis:
    """Value realised this year, production initiatives meeting their contract (over what
    the filters show, from the stored standings), overdue reviews and value at risk:
    three queries, once per snapshot and day (``per_snapshot``: a value review is written
    with an activity, which marks the standings stale)."""
    return board.per_snapshot("value-kpis", lambda: value.value_kpis(
        now=board.now, initiatives=_filtered(Initiative.objects.all(), board.filters)))


def value_section(board: Dashboard) -> ValueSection:
    """The value KPIs and predicted against realised per team (stored standings): four
    queries."""
    rows = board.per_snapshot("team-value", lambda: value.team_value(
        _filtered(Initiative.objects.all(), board.filters)))
    return ValueSection(kpis=value_kpis(board), chart=charts.value_by_team(
        rows, currency=settings.VALUE_CURRENCY, held_below=float(1 - value.ACCURACY_MARGIN)))


# --- The export ---------------------------------------------------------------------------------

EXPORT_HEADERS = ["rank", "title", "team", "owner", "stage", "health", "score",
                  "scoring model", "governance progress", "funding status", "blockers",
                  "quarter"]


def export_record(row: Row, *, model: ScoringModel | None, quarter: str) -> list[str]:
    """A CSV row; the funding status is ``quarter``'s (the ``quarter`` column)."""
    initiative = row.initiative
    owner = initiative.owner
    return [
        "" if row.rank is None else str(row.rank),
        initiative.title,
        initiative.team.name,
        owner.get_full_name() or owner.get_username(),
        initiative.get_stage_display(),
        initiative.get_health_display(),
        "" if row.score is None else formulas.fmt(row.score).replace(",", ""),
        str(model) if model else "",
        row.progress_text if initiative.checkpoints_total else "",
        row.funding.label if row.funding.status != NOT_DRAWING else "",
        "; ".join(row.funding.blockers),
        quarter,
    ]
