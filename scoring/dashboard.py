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

The rank shown is the initiative's place in the whole live portfolio (retired
initiatives are not ranked), so a filtered table keeps the numbers the leader knows. An
initiative created since the standings were computed is listed last, "not yet ranked".
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.db.models import (
    Count,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from governance.models import Checkpoint
from governance.selectors import heat_map, with_compliance
from portfolio.models import Initiative, Stage
from portfolio.selectors import stage_counts, with_ownership_health
from scoring import charts, formulas, value
from scoring.models import FundingPosition, PortfolioSnapshot, ScoringModel, Standing, TeamStanding
from scoring.selectors import rank_order, ranked_initiatives, score_expression
from scoring.standings import standings_current

# How many of the top-ranked initiatives shown the heat map draws.
HEAT_MAP_ROWS = 30

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
        return FUNDING_LABELS[self.status]

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

    @property
    def today(self) -> date:
        return timezone.localdate(self.now)

    @property
    def quarter_label(self) -> str:
        return f"{self.snapshot.year}-Q{self.snapshot.quarter}"

    @property
    def refreshing(self) -> bool:
        """Whether the standings shown are being recomputed (the worker is on it)."""
        return getattr(self.snapshot, "refreshing", False)

    def table(self) -> RankedIds | QuerySet:
        """The ids of the filtered table's rows, in rank order (a lean query to page)."""
        if self.ranks is None:
            return RankedIds(self.filters)
        return (_filtered(_live(self.filters), self.filters)
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
        ordered = table_queryset(filters=self.filters, model=self.model, now=self.now)
        if self.ranks is None:
            ordered = ordered.order_by(*RANK_ORDER)
        else:
            ordered = ordered.order_by(*rank_order())
        for initiative in ordered.iterator(chunk_size=2000):
            yield from self._rows([initiative])

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
                            funding=funding_of(standing)))
        return rows

    def teams(self) -> list[TeamStanding]:
        """Each team's capacity against demand this quarter (the team filter narrows
        which teams, never their figures), by name: one query."""
        teams = (TeamStanding.objects.filter(ahead=0).select_related("team")
                 .order_by("team__name", "team_id"))
        if self.filters.get("team"):
            teams = teams.filter(team=self.filters["team"])
        return list(teams)

    def top(self, limit: int) -> QuerySet[Initiative]:
        """The ``limit`` best-ranked initiatives shown (the not yet ranked are not among
        them): read down the rank index."""
        return _ranked_only(self.filters).defer(*_DEFERRED)[:limit]


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

class ElapsedDays(Func):
    """Whole days from ``field`` to the moment ``now`` (``timedelta.days``), in SQL: the
    pilots' ages are counted per day by the database instead of read one by one."""

    output_field = IntegerField()

    def __init__(self, now: datetime, field: str):
        super().__init__(Value(now), F(field))

    def as_sql(self, compiler, connection, **extra):  # PostgreSQL
        return super().as_sql(compiler, connection, template=(
            "FLOOR(EXTRACT(EPOCH FROM (%(expressions)s)) / 86400)::integer"),
            arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # julianday() is a float of days: to whole milliseconds first, then whole days.
        return super().as_sql(compiler, connection, template=(
            "(CAST(ROUND((julianday(%(expressions)s)) * 86400000) AS INTEGER) / 86400000)"),
            arg_joiner=") - julianday(", **extra)


def kpis(board: Dashboard) -> tuple[Kpis, list[int]]:
    """The KPIs over ``board``'s filtered portfolio, and the ages (days) of its pilots.

    Counts per stage and pilot ages are read live; the flags (conversion, stalled,
    ownership, compliance) are the board's standings'. Three queries.
    """
    filters, now = board.filters, board.now
    base = _filtered(Initiative.objects.all(), filters)
    counts = stage_counts(base)
    totals = _filtered(Standing.objects.all(), filters, prefix="initiative__").aggregate(
        n_entered_pilot=Count("pk", filter=Q(entered_pilot=True)),
        n_reached_production=Count("pk", filter=Q(reached_production=True)),
        n_stalled=Count("pk", filter=Q(stalled=True)),
        n_gaps=Count("pk", filter=Q(ownership_gap=True)),
        n_noncompliant=Count("pk", filter=Q(out_of_compliance=True)),
    )
    ages = sorted(Counter(dict(
        base.filter(stage=Stage.PILOT).order_by()
        .annotate(age=Greatest(ElapsedDays(now, "stage_changed_at"), Value(0)))
        .values_list("age").annotate(n=Count("pk")))).elements())
    return Kpis(
        stage_counts=counts, total=sum(n for _, _, n in counts),
        entered_pilot=totals["n_entered_pilot"],
        reached_production=totals["n_reached_production"],
        median_pilot_age=statistics.median(ages) if ages else None, pilots=len(ages),
        stalled_pilots=totals["n_stalled"], ownership_gaps=totals["n_gaps"],
        out_of_compliance=totals["n_noncompliant"],
    ), ages


# --- Assembly -----------------------------------------------------------------------------------

def dashboard(*, filters: dict | None = None, now: datetime | None = None) -> Dashboard:
    """The standings at ``now`` (recomputed first if stale and quick), to be filtered."""
    now = now or timezone.now()
    snapshot = standings_current(now=now)
    return Dashboard(now=now, snapshot=snapshot, model=snapshot.model, filters=filters or {})


def rank_by(board: Dashboard, model: ScoringModel) -> Dashboard:
    """``board`` with its table ranked by ``model`` instead, computed now (every live
    initiative: a question about another model, not the dashboard's steady read). The
    funding line stays the standings': another model reorders, it does not move the line."""
    if board.model is not None and model.pk == board.model.pk:
        return board
    ranks = dict(ranked_initiatives(Initiative.objects.exclude(stage=Stage.RETIRED), model=model)
                 .values_list("pk", "rank"))
    return Dashboard(now=board.now, snapshot=board.snapshot, model=model,
                     filters=board.filters, ranks=ranks)


def dashboard_charts(board: Dashboard, *, kpis: Kpis, pilot_ages: list[int]) -> list:
    """The five charts, as ``(chart, wide)``: each over what the filters show."""
    capacity = [(team.team.name, None if team.capacity is None else float(team.capacity),
                 float(team.demand), float(team.funded_effort)) for team in board.teams()]
    points = [(title, float(effort), score,
               FUNDED_BLOCKED if blocked and funding in FUNDED_POSITIONS else funding)
              for title, effort, score, funding, blocked in
              _ranked_only(board.filters).filter(effort_weeks__isnull=False)
              .values_list("title", "effort_weeks", "standing__score", "standing__funding",
                           "standing__blocked")
              [:charts.SCATTER_LIMIT]]
    return [
        (charts.stage_funnel([(stage, n) for stage, _, n in kpis.stage_counts]), False),
        (charts.capacity_vs_demand(capacity), False),
        (charts.value_vs_effort(points), False),
        (charts.pilot_age_distribution(pilot_ages, max_days=settings.PILOT_MAX_DAYS), False),
        (charts.heat_map_chart(heat_map(list(board.top(HEAT_MAP_ROWS)), today=board.today),
                               limit=HEAT_MAP_ROWS), True),
    ]


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
    three queries."""
    return value.value_kpis(now=board.now,
                            initiatives=_filtered(Initiative.objects.all(), board.filters))


def value_section(board: Dashboard) -> ValueSection:
    """The value KPIs and predicted against realised per team (stored standings): four
    queries."""
    rows = value.team_value(_filtered(Initiative.objects.all(), board.filters))
    return ValueSection(kpis=value_kpis(board), chart=charts.value_by_team(
        rows, currency=settings.VALUE_CURRENCY, held_below=float(1 - value.ACCURACY_MARGIN)))


# --- The export ---------------------------------------------------------------------------------

EXPORT_HEADERS = ["rank", "title", "team", "owner", "stage", "health", "score",
                  "scoring model", "governance progress", "funding status", "blockers"]


def export_record(row: Row, *, model: ScoringModel | None) -> list[str]:
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
    ]
