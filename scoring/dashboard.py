"""The leadership dashboard's reads (DESIGN.md §4 "Leadership dashboard").

One assembly for the page and its CSV export: the ranking of the whole portfolio, the
funding line for the current quarter drawn over it, and only then the filters (team,
category, stage) narrow what is *shown* — the table, the KPIs and the charts. Filtering
never moves the line.

A fixed number of queries whatever the portfolio's size (pinned in
``tests/scoring/test_dashboard.py``):

- the active scoring model (1) and the whole ranking, the fields the line needs (1);
- the funding line: the teams and their capacity (1), the open checkpoints of the
  initiatives drawing capacity (1, none when nothing is funded);
- the KPIs: counts per stage (1), one aggregate for the flags — open stall flags
  included — (1), pilot ages (1);
- the table: its count (1) and its page (1) — or, for the export, every row (1);
- the heat map: its rows (1), the active checkpoint types (1) and their checkpoints (1).

The rank shown is the initiative's place in the whole live portfolio (retired
initiatives are not ranked), so a filtered table keeps the numbers the leader knows.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from governance.models import Checkpoint
from governance.selectors import heat_map, with_compliance
from portfolio.models import Initiative, Stage, StageTransition, StallFlag
from portfolio.selectors import stage_counts, with_ownership_health
from scoring import charts, formulas
from scoring.capacity import (
    BELOW_LINE,
    FUNDED,
    NO_PLAN,
    UNSIZED,
    FundingLine,
    LineEntry,
    funding_line,
    quarter_of,
)
from scoring.models import ScoringModel
from scoring.selectors import (
    active_scoring_model,
    rank_order,
    ranked_initiatives,
    score_expression,
)

# How many of the top-ranked initiatives shown the heat map draws.
HEAT_MAP_ROWS = 30

# The funding status of a row, in words (the line's own labels, plus two of ours).
FUNDED_BLOCKED = "funded_blocked"
NOT_DRAWING = "not_drawing"
FUNDING_LABELS = {
    FUNDED: "funded",
    FUNDED_BLOCKED: "funded but blocked",
    BELOW_LINE: "below the line",
    UNSIZED: "unsized",
    NO_PLAN: "no plan",
    NOT_DRAWING: "—",
}

CONVERSION_FORMULA = ("pilot → production conversion = initiatives that reached production "
                      "÷ initiatives that ever entered pilot (a stage move into pilot), "
                      "whatever their stage now")
MEDIAN_AGE_FORMULA = "median of the days each initiative now in pilot has been in pilot"
STALLED_FORMULA = ("pilots flagged by the daily stall detection (in pilot longer than "
                   "{max_days} days, or idle for more than {idle_days} days: PILOT_MAX_DAYS, "
                   "PILOT_IDLE_DAYS) and still open, decided or not: not yet resolved by a "
                   "move, new activity, an extension or a kill")
OWNERSHIP_FORMULA = ("owner left, owner silent longer than OWNER_SILENT_DAYS, or nobody "
                     "Responsible past the idea stage")
COMPLIANCE_FORMULA = ("a checkpoint that gates its current stage (or an earlier one) is "
                      "neither approved nor waived")


def kpi_definitions() -> dict[str, str]:
    """How each KPI is counted, in words: the page's hover texts and the API's definitions."""
    return {
        "conversion": CONVERSION_FORMULA,
        "median_pilot_age": MEDIAN_AGE_FORMULA,
        "stalled_pilots": STALLED_FORMULA.format(max_days=settings.PILOT_MAX_DAYS,
                                                 idle_days=settings.PILOT_IDLE_DAYS),
        "ownership_gaps": OWNERSHIP_FORMULA,
        "out_of_compliance": COMPLIANCE_FORMULA,
    }

# The Initiative fields the funding line and the breakdown read (the rest stay in the table).
_DEFERRED = ("summary",)
# What the whole-portfolio ranking reads per initiative, as a row of plain values (a
# named tuple with these attributes): what the funding line walks (stage, team, effort),
# what the gate asks (risk tier, the exit contract, the measured result), the filters
# (category) and the charts (title, score). Model instances for every live initiative
# cost five times PostgreSQL's read of them.
RANKING_COLUMNS = (
    "pk", "title", "team_id", "stage", "category", "effort_weeks", "risk_tier",
    "measured_result", "success_metric", "baseline", "target", "decision_date",
    "production_owner_id", "score", "rank",
)


@dataclass(frozen=True)
class Funding:
    """Where a shown initiative stands against its team's line."""

    status: str
    blockers: list[str] = field(default_factory=list)
    reason: str = ""

    @property
    def label(self) -> str:
        return FUNDING_LABELS[self.status]

    @property
    def detail(self) -> str:
        """The words behind the status: what blocks it, or why it is below the line."""
        if self.blockers:
            return "Blocked by " + "; ".join(self.blockers)
        return self.reason


_NOT_DRAWING = Funding(status=NOT_DRAWING)


def funding_of(entry: LineEntry | None) -> Funding:
    if entry is None:
        return _NOT_DRAWING
    if entry.funded_but_blocked:
        return Funding(status=FUNDED_BLOCKED, blockers=list(entry.blockers))
    return Funding(status=entry.status,
                   reason=entry.reason if entry.status == BELOW_LINE else "")


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


@dataclass
class Dashboard:
    today: date
    model: ScoringModel | None
    line: FundingLine
    filters: dict
    ranks: dict[int, int]
    ranking: list                 # the whole live portfolio, best first (RANKING_COLUMNS)
    shown: list                   # the ranking, filtered: what the charts draw

    def table(self) -> QuerySet[Initiative]:
        """The filtered table's rows, in rank order, with everything a row shows (SQL)."""
        return table_queryset(filters=self.filters, model=self.model, today=self.today)

    def rows(self, initiatives) -> list[Row]:
        """Table rows for ``initiatives`` from ``table()`` (no query)."""
        return [Row(rank=self.ranks.get(i.pk), initiative=i,
                    breakdown=formulas.breakdown(i, model=self.model) if self.model else None,
                    funding=funding_of(self.line.entry_for(i.pk)))
                for i in initiatives]

    def iter_rows(self) -> Iterator[Row]:
        """Every filtered row, for the export: one query, streamed."""
        for initiative in self.table().iterator(chunk_size=2000):
            yield from self.rows([initiative])


# --- Filters ------------------------------------------------------------------------------------

def _filtered(queryset: QuerySet[Initiative], filters: dict) -> QuerySet[Initiative]:
    for name in ("team", "category", "stage"):
        if filters.get(name):
            queryset = queryset.filter(**{name: filters[name]})
    return queryset


def _matches(initiative: Initiative, filters: dict) -> bool:
    team = filters.get("team")
    return ((not team or initiative.team_id == team.pk)
            and (not filters.get("category") or initiative.category == filters["category"])
            and (not filters.get("stage") or initiative.stage == filters["stage"]))


def _live(filters: dict) -> QuerySet[Initiative]:
    """The table's population: retired initiatives only when the retired stage is asked for."""
    if filters.get("stage") == Stage.RETIRED:
        return Initiative.objects.all()
    return Initiative.objects.exclude(stage=Stage.RETIRED)


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
                   today: date) -> QuerySet[Initiative]:
    now = timezone.now()
    queryset = (_filtered(_live(filters), filters).select_related("team", "owner")
                .defer(*_DEFERRED))
    queryset = with_governance_progress(
        with_compliance(with_ownership_health(queryset, now=now), today=today), today=today)
    return queryset.annotate(score=score_expression(model)).order_by(*rank_order())


# --- KPIs ---------------------------------------------------------------------------------------

def kpis(*, filters: dict, now: datetime) -> tuple[Kpis, list[int]]:
    """The KPIs over the filtered portfolio, and the ages (days) of its pilots.

    Three queries: counts per stage, one aggregate for every flag, the pilots' ages.
    """
    today = timezone.localdate(now)
    base = _filtered(Initiative.objects.all(), filters)
    counts = stage_counts(base)
    transitions = StageTransition.objects.filter(initiative=OuterRef("pk"))
    flagged = with_compliance(with_ownership_health(base, now=now), today=today).annotate(
        entered_pilot=Exists(transitions.filter(to_stage=Stage.PILOT)),
        entered_production=Exists(transitions.filter(to_stage=Stage.PRODUCTION)),
        # Stall detection (daily) decides what is stalled; the dashboard counts its open flags.
        stalled=Exists(StallFlag.objects.open().filter(initiative=OuterRef("pk"))),
    )
    totals = flagged.order_by().aggregate(
        n_total=Count("pk"),
        n_entered_pilot=Count("pk", filter=Q(entered_pilot=True)),
        n_reached_production=Count("pk", filter=Q(entered_pilot=True, entered_production=True)),
        n_stalled=Count("pk", filter=Q(stalled=True)),
        n_gaps=Count("pk", filter=Q(owner_left=True) | Q(owner_silent=True)
                     | Q(nobody_responsible=True)),
        n_noncompliant=Count("pk", filter=Q(out_of_compliance=True)),
    )
    ages = [max((now - changed).days, 0) for changed in
            base.filter(stage=Stage.PILOT).order_by().values_list("stage_changed_at", flat=True)]
    return Kpis(
        stage_counts=counts, total=totals["n_total"],
        entered_pilot=totals["n_entered_pilot"],
        reached_production=totals["n_reached_production"],
        median_pilot_age=statistics.median(ages) if ages else None, pilots=len(ages),
        stalled_pilots=totals["n_stalled"], ownership_gaps=totals["n_gaps"],
        out_of_compliance=totals["n_noncompliant"],
    ), ages


# --- Assembly -----------------------------------------------------------------------------------

def portfolio_ranking(model: ScoringModel | None) -> list:
    """The whole live portfolio, best first under ``model``, as rows of
    ``RANKING_COLUMNS`` (attributes as an initiative's): one query."""
    return list(ranked_initiatives(Initiative.objects.exclude(stage=Stage.RETIRED), model=model)
                .values_list(*RANKING_COLUMNS, named=True))


def dashboard(*, filters: dict | None = None, now: datetime | None = None) -> Dashboard:
    """Rank the whole live portfolio, draw this quarter's line over it, then filter."""
    filters = filters or {}
    now = now or timezone.now()
    today = timezone.localdate(now)
    model = active_scoring_model()
    ranking = portfolio_ranking(model)
    year, quarter = quarter_of(today)
    line = funding_line(year=year, quarter=quarter, ranked=ranking, now=now)
    return Dashboard(today=today, model=model, line=line, filters=filters,
                     ranks={i.pk: i.rank for i in ranking}, ranking=ranking,
                     shown=[i for i in ranking if _matches(i, filters)])


def _chart_status(initiative: Initiative, line: FundingLine) -> str:
    funding = funding_of(line.entry_for(initiative.pk))
    return funding.status


def dashboard_charts(board: Dashboard, *, kpis: Kpis, pilot_ages: list[int]) -> list:
    """The five charts, as ``(chart, wide)``: each over what the filters show."""
    team = board.filters.get("team")
    lines = [line for line in board.line.teams if not team or line.team.pk == team.pk]
    capacity = [(line.team.name,
                 None if line.capacity is None else float(line.capacity),
                 float(line.demand), float(line.funded_effort)) for line in lines]
    points = [(i.title, float(i.effort_weeks), i.score, _chart_status(i, board.line))
              for i in board.shown if i.effort_weeks is not None]
    # The heat map reads its rows' checkpoints through the initiatives: fetch its few.
    top_ids = [i.pk for i in board.shown[:HEAT_MAP_ROWS]]
    by_id = Initiative.objects.in_bulk(top_ids)
    top = [by_id[pk] for pk in top_ids]
    return [
        (charts.stage_funnel([(stage, n) for stage, _, n in kpis.stage_counts]), False),
        (charts.capacity_vs_demand(capacity), False),
        (charts.value_vs_effort(points), False),
        (charts.pilot_age_distribution(pilot_ages, max_days=settings.PILOT_MAX_DAYS), False),
        (charts.heat_map_chart(heat_map(top, today=board.today), limit=HEAT_MAP_ROWS), True),
    ]


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
