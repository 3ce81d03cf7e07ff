"""Value for leadership: predicted against realised value, estimate accuracy, and the
dashboard's value KPIs (issue 18, "For leadership").

Built on portfolio's value ledger (``portfolio.outcomes.selectors.value_ledger``): one row
per initiative that has entered production, with its business case and its latest
recorded value review. Totals per team, category, quarter and scoring model come from
``ledger_totals``; estimate accuracy is realised ÷ predicted over the *reviewed*
initiatives only (an initiative with no recorded review says nothing about its estimate).

**The scoring model of an initiative** is the version that was active when it last entered
pilot before production: the ranking that funded its pilot. Scoring models are versioned
and their history (``HistoricalScoringModel``, written by every create, revise and
activate, dated with the service's ``now``; migration 0006 gave the default versions a
creation record) says which version was active at any moment. An initiative that entered
pilot before the first recorded activation counts under the first version ever active
(the portfolio's first ranking); one with no recorded pilot entry under "no pilot on
record".

Queries: the ledger (1), the models' history (1): the same whatever the portfolio's size.
The dashboard's KPIs add: value realised this year (1), the production initiatives
against their contract (1 + 2 for their evidence) and the value flags (2).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from portfolio.models import Category, Initiative, MetricDirection
from portfolio.outcomes import contract
from portfolio.outcomes.selectors import (
    VALUE_STAGES,
    LedgerRow,
    LedgerTotal,
    accuracy,
    contract_evidence_bulk,
    ledger_totals,
    value_flag_counts,
    value_ledger,
)
from scoring.models import ScoringModel, ValueEntry, ValueTotal

# An estimate "held" within this much of 100% (either way); beyond it, the team or model
# over- or under-predicts.
ACCURACY_MARGIN = Decimal("0.10")

NO_PILOT = "no pilot on record"
MODEL_DEFINITION = ("the scoring model version that was active when the initiative "
                    "entered pilot (the ranking that funded its pilot)")
ACCURACY_DEFINITION = ("realised ÷ predicted annual value, over the initiatives with a "
                       "recorded value review (the latest one each)")
REALISED_THIS_YEAR_DEFINITION = ("the realised annual value of each initiative's latest "
                                 "value review, for reviews recorded since 1 January")
MEETING_CONTRACT_DEFINITION = ("initiatives in production or scaled whose latest measurement "
                               "inside the contract's window meets its target")


# --- Words for an accuracy -----------------------------------------------------------------------

def accuracy_percent(value: Decimal | None) -> int | None:
    return None if value is None else round(value * 100)


def accuracy_verdict(value: Decimal | None) -> str:
    """"over-predicts", "under-predicts", "on target", or "" with nothing reviewed. Judged
    on the whole percent shown, so "90%" never reads "over-predicts" beside it."""
    if value is None:
        return ""
    percent, margin = accuracy_percent(value), round(100 * ACCURACY_MARGIN)
    if percent < 100 - margin:
        return "over-predicts"
    if percent > 100 + margin:
        return "under-predicts"
    return "on target"


def accuracy_words(value: Decimal | None) -> str:
    """"estimates held: 82% (over-predicts)"; "no review recorded yet" without one."""
    if value is None:
        return "no review recorded yet"
    return f"estimates held: {accuracy_percent(value)}% ({accuracy_verdict(value)})"


def money(value: Decimal | None) -> str:
    """240000 -> "EUR 240,000" (whole units of settings.VALUE_CURRENCY); None -> "—"."""
    if value is None:
        return "—"
    return f"{settings.VALUE_CURRENCY} {round(value):,}"


# --- Which scoring model ranked it ---------------------------------------------------------------

@dataclass(frozen=True)
class ModelTimeline:
    """Which scoring model version was active from when: ``moments`` ascending, ``labels``
    the version active from each (None: none active)."""

    moments: list[datetime]
    labels: list[str | None]

    def at(self, moment: datetime | None) -> str:
        if moment is None:
            return NO_PILOT
        index = bisect_right(self.moments, moment) - 1
        if index < 0:  # before the first recorded activation: the first version active
            first = next((label for label in self.labels if label), None)
            return first or "no scoring model"
        return self.labels[index] or "no scoring model"


def model_timeline() -> ModelTimeline:
    """The active version over time, from the versions' history: one query (the table
    holds a few dozen versions and their changes)."""
    history = ScoringModel.history.model.objects.order_by("history_date", "history_id")
    state: dict[int, tuple[bool, str]] = {}
    moments: list[datetime] = []
    labels: list[str | None] = []
    for model_id, name, version, active, kind, at in history.values_list(
            "id", "name", "version", "is_active", "history_type", "history_date"):
        state.pop(model_id, None)  # re-inserted: the dict runs in order of last save
        state[model_id] = (active and kind != "-", f"{name} v{version}")
        # The latest-saved active version wins a tie (a swap saves the old one first).
        label = next((text for _, (on, text) in reversed(list(state.items())) if on), None)
        if moments and moments[-1] == at:
            labels[-1] = label
        else:
            moments.append(at)
            labels.append(label)
    return ModelTimeline(moments, labels)


# --- The Value page ------------------------------------------------------------------------------

def quarter_of(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    day = timezone.localdate(moment)
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


_CATEGORY_LABELS = dict(Category.choices)


def category_label(code: str) -> str:
    return _CATEGORY_LABELS.get(code, code)


@dataclass(frozen=True)
class ValueRow:
    """One initiative on the Value page."""

    ledger: LedgerRow
    model: str        # the scoring model that ranked it when it entered pilot
    quarter: str      # the quarter it entered production

    @property
    def category(self) -> str:
        return category_label(self.ledger.category)

    @property
    def predicted_text(self) -> str:
        return money(self.ledger.predicted_value)

    @property
    def realised_text(self) -> str:
        return money(self.ledger.realised_value)

    @property
    def run_cost_text(self) -> str:
        return money(self.ledger.run_cost)

    @property
    def accuracy_percent(self) -> int | None:
        return accuracy_percent(self.ledger.accuracy)

    @property
    def verdict(self) -> str:
        return accuracy_verdict(self.ledger.accuracy)


@dataclass(frozen=True)
class Total:
    """A group's totals (``LedgerTotal``) with its accuracy in words."""

    total: LedgerTotal

    @property
    def key(self) -> str:
        return self.total.key

    @property
    def predicted_text(self) -> str:
        return money(self.total.predicted_value)

    # Over the reviewed: "—" when none is (not a misleading zero).
    @property
    def predicted_reviewed_text(self) -> str:
        return money(self.total.predicted_reviewed) if self.total.reviewed else "—"

    @property
    def realised_text(self) -> str:
        return money(self.total.realised_value) if self.total.reviewed else "—"

    @property
    def run_cost_text(self) -> str:
        return money(self.total.run_cost) if self.total.reviewed else "—"

    @property
    def accuracy_percent(self) -> int | None:
        return accuracy_percent(self.total.accuracy)

    @property
    def verdict(self) -> str:
        return accuracy_verdict(self.total.accuracy)

    @property
    def words(self) -> str:
        return accuracy_words(self.total.accuracy)


@dataclass(frozen=True)
class ValueReport:
    rows: list[ValueRow]
    overall: Total | None
    by_team: list[Total]
    by_category: list[Total]
    by_quarter: list[Total]
    by_model: list[Total]


def _totals(rows: list[ValueRow], key: Callable[[ValueRow], str]) -> list[Total]:
    by_id = {row.ledger.initiative_id: row for row in rows}
    return [Total(total) for total in ledger_totals(
        [row.ledger for row in rows], key=lambda ledger: key(by_id[ledger.initiative_id]))]


def value_report(queryset: QuerySet[Initiative] | None = None) -> ValueReport:
    """Predicted against realised value of every initiative that has entered production
    (``queryset`` narrows them), per initiative, team, category, quarter entered
    production and scoring model, computed from the live ledger: two queries, and work in
    proportion to the portfolio. The pages read what ``value_store`` kept of it
    (``value_stored``)."""
    timeline = model_timeline()
    rows = [ValueRow(ledger=row, model=timeline.at(row.pilot_since),
                     quarter=quarter_of(row.production_since))
            for row in value_ledger(queryset)]
    overall = _totals(rows, key=lambda row: "All")
    return ValueReport(
        rows=rows, overall=overall[0] if overall else None,
        by_team=_totals(rows, key=lambda row: row.ledger.team),
        by_category=_totals(rows, key=lambda row: row.category),
        by_quarter=_totals(rows, key=lambda row: row.quarter),
        by_model=_totals(rows, key=lambda row: row.model),
    )


# --- The Value page, stored ----------------------------------------------------------------------
#
# Computing the report reads every initiative that entered production: seconds at 100,000
# initiatives. The standings refresh (``scoring.standings.standings_refresh``, after every
# change and on a new day) stores its answer — the totals (``ValueTotal``) and the rows of
# the page's two tables (``ValueEntry``) — in its transaction, and the Value page and
# ``/api/v1/value/`` read them as of the standings' snapshot, as the dashboard reads its
# value KPIs. ``value_report`` stays the one definition: the store is its answer.

_DIMENSIONS = (
    (ValueTotal.Dimension.OVERALL, "overall"),
    (ValueTotal.Dimension.TEAM, "by_team"),
    (ValueTotal.Dimension.CATEGORY, "by_category"),
    (ValueTotal.Dimension.QUARTER, "by_quarter"),
    (ValueTotal.Dimension.MODEL, "by_model"),
)
CONTRACT_MET, CONTRACT_SHORT = "met", "short"


def _entry(row: ValueRow, *, short: bool) -> ValueEntry:
    ledger = row.ledger
    return ValueEntry(
        initiative_id=ledger.initiative_id, team=ledger.team, title=ledger.title,
        category=ledger.category, stage=ledger.stage, predicted_value=ledger.predicted_value,
        predicted_run_cost=ledger.predicted_run_cost, realised_value=ledger.realised_value,
        run_cost=ledger.run_cost, reviewed_on=ledger.reviewed_on,
        production_since=ledger.production_since, pilot_since=ledger.pilot_since,
        quarter=row.quarter, model=row.model, in_ledger=True, short_of_contract=short)


def value_to_store() -> tuple[list[ValueTotal], list[ValueEntry]]:
    """The Value page's totals and rows, unsaved, for the standings refresh to store
    (``scoring.standings.value_store``), after it has written the standings: whether an
    initiative meets its exit contract is ``Standing.meets_contract`` (the gate's rule, as
    of the refresh)."""
    report = value_report()
    totals = [ValueTotal(dimension=dimension, position=position, key=total.key,
                         **{name: getattr(total.total, name) for name in _TOTAL_FIELDS})
              for dimension, attribute in _DIMENSIONS
              for position, total in enumerate(
                  [report.overall] if attribute == "overall" and report.overall
                  else [] if attribute == "overall" else getattr(report, attribute))]
    met = dict(Initiative.objects.filter(standing__meets_contract__isnull=False).order_by()
               .values_list("pk", "standing__meets_contract"))
    totals += [
        ValueTotal(dimension=ValueTotal.Dimension.CONTRACT, position=0, key=CONTRACT_MET,
                   initiatives=sum(1 for meets in met.values() if meets)),
        ValueTotal(dimension=ValueTotal.Dimension.CONTRACT, position=1, key=CONTRACT_SHORT,
                   initiatives=sum(1 for meets in met.values() if not meets)),
    ]
    short = {pk for pk, meets in met.items() if not meets}
    entries = [_entry(row, short=row.ledger.initiative_id in short) for row in report.rows]
    # In production without a recorded entry into it (imported so): short rows of their own.
    listed = {entry.initiative_id for entry in entries}
    for pk, title, team, category, stage in (
            Initiative.objects.filter(pk__in=short - listed)
            .values_list("pk", "title", "team__name", "category", "stage")):
        entries.append(ValueEntry(initiative_id=pk, title=title, team=team, category=category,
                                  stage=stage, quarter="—", model=NO_PILOT, in_ledger=False,
                                  short_of_contract=True))
    return totals, entries


_TOTAL_FIELDS = ("initiatives", "reviewed", "predicted_value", "predicted_reviewed",
                 "realised_value", "run_cost")


def _stored_total(row: ValueTotal | dict) -> Total:
    """A stored group (a ``ValueTotal``, or its columns) as ``ledger_totals`` computes it
    (accuracy over the reviewed)."""
    columns = row if isinstance(row, dict) else vars(row)
    figures = {name: columns[name] for name in _TOTAL_FIELDS}
    return Total(LedgerTotal(
        key=columns["key"], accuracy=(accuracy(figures["realised_value"],
                                               figures["predicted_reviewed"])
                                      if figures["reviewed"] else None), **figures))


@dataclass(frozen=True)
class StoredValue:
    """The Value page's totals as of the standings' snapshot (``value_store``)."""

    overall: Total | None
    by_team: list[Total]
    by_category: list[Total]
    by_quarter: list[Total]
    by_model: list[Total]
    contracts_met: int
    contracts_short: int

    @property
    def in_production(self) -> int:
        return self.contracts_met + self.contracts_short

    @property
    def initiatives(self) -> int:
        """How many initiatives entered production (the per-initiative table's length)."""
        return self.overall.total.initiatives if self.overall else 0


def value_stored(*, teams: bool = True) -> StoredValue:
    """The stored totals: one query. Teams grow with the portfolio (as its square root in
    the bench's), so the page reads them a page at a time instead (``teams=False``:
    ``by_team`` empty; ``team_totals``)."""
    groups: dict[str, list] = {dimension: [] for dimension in ValueTotal.Dimension.values}
    rows = ValueTotal.objects.order_by("dimension", "position")
    if not teams:
        rows = rows.exclude(dimension=ValueTotal.Dimension.TEAM)
    for row in rows.values("dimension", "key", *_TOTAL_FIELDS):  # columns: no model per row
        groups[row["dimension"]].append(row)
    contract = {row["key"]: row["initiatives"]
                for row in groups[ValueTotal.Dimension.CONTRACT]}
    totals = {attribute: [_stored_total(row) for row in groups[dimension]]
              for dimension, attribute in _DIMENSIONS}
    overall = totals.pop("overall")
    return StoredValue(
        overall=overall[0] if overall else None, **totals,
        contracts_met=contract.get(CONTRACT_MET, 0),
        contracts_short=contract.get(CONTRACT_SHORT, 0))


class StoredRows:
    """One of the page's stored tables for ``Paginator``: its length is known (the stored
    totals), a page is a LIMIT read through the table's partial index."""

    def __init__(self, queryset: QuerySet[ValueEntry], count: int, wrap: Callable):
        self.queryset, self._count, self.wrap = queryset, count, wrap

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        return [self.wrap(entry) for entry in self.queryset[index]]


def _stored_row(entry: ValueEntry) -> ValueRow:
    return ValueRow(ledger=LedgerRow(
        entry.initiative_id, entry.title, entry.team, entry.category, entry.stage,
        entry.predicted_value, entry.predicted_run_cost, entry.realised_value, entry.run_cost,
        entry.reviewed_on, entry.production_since, entry.pilot_since),
        model=entry.model, quarter=entry.quarter)


def team_totals() -> StoredRows:
    """The per-team totals (``Total``) in the table's order, for a paginator: counting
    them is one query (an index-only count of a few hundred rows), a page one more."""
    teams = ValueTotal.objects.filter(dimension=ValueTotal.Dimension.TEAM)
    return StoredRows(teams.order_by("position"), teams.count(), _stored_total)


def ledger_rows(stored: StoredValue) -> StoredRows:
    """The per-initiative table (``ValueRow``), by team, title and id, for a paginator."""
    return StoredRows(ValueEntry.objects.filter(in_ledger=True).order_by(
        "team", "title", "initiative_id"), stored.initiatives, _stored_row)


def short_of_contract_ids(stored: StoredValue) -> StoredRows:
    """The initiatives in production short of their contract (ids), by team, title and id,
    for a paginator; ``production_contracts`` reads a page of them live."""
    return StoredRows(ValueEntry.objects.filter(short_of_contract=True)
                      .order_by("team", "title", "initiative_id")
                      .values_list("initiative_id", flat=True),
                      stored.contracts_short, lambda pk: pk)


# --- The dashboard's value KPIs ------------------------------------------------------------------

@dataclass(frozen=True)
class ContractRow:
    """A production initiative against its exit contract."""

    initiative: Initiative
    status: str                 # contract.status: "met", "missed", "unmeasured", "incomplete"
    measured: Decimal | None    # the latest measurement inside the window

    @property
    def meets(self) -> bool:
        return self.status == "met"

    @property
    def measured_text(self) -> str:
        return contract.format_value(self.measured, self.initiative.metric_unit)

    @property
    def target_text(self) -> str:
        """"12% or lower" / "35% or higher": the target with its direction."""
        initiative = self.initiative
        target = contract.format_value(initiative.target_value, initiative.metric_unit)
        if initiative.target_value is None or not initiative.metric_direction:
            return target
        lower = initiative.metric_direction == MetricDirection.LOWER
        return f"{target} or {'lower' if lower else 'higher'}"


CONTRACT_FIELDS = ("id", "title", "team__name", "stage", "metric_unit", "metric_direction",
                   *(name.removesuffix("_id") for name, _ in contract.CONTRACT_FIELDS))


def production_contracts(initiatives: QuerySet[Initiative] | None = None, *,
                         ids: list[int] | None = None) -> list[ContractRow]:
    """Every initiative in production or scaled (``initiatives`` narrows them; ``ids``: of
    those, these only — a page of them) with where its contract stands, by the gate's own
    rule (``contract.status`` over ``contract_evidence_bulk``): three queries."""
    initiatives = Initiative.objects.all() if initiatives is None else initiatives
    if ids is not None:
        initiatives = initiatives.filter(pk__in=ids)
    evidence = contract_evidence_bulk(stages=VALUE_STAGES, ids=ids)
    rows = []
    for initiative in (initiatives.filter(stage__in=VALUE_STAGES).select_related("team")
                       .only(*CONTRACT_FIELDS).order_by("team__name", "title", "pk")):
        found = evidence.get(initiative.pk, contract.Evidence())
        reading = found.latest_in_window
        rows.append(ContractRow(initiative=initiative,
                                status=contract.status(initiative, found),
                                measured=reading.value if reading else None))
    return rows


@dataclass(frozen=True)
class ValueKpis:
    realised_this_year: Decimal
    in_production: int
    meeting_contract: int
    overdue_reviews: int
    value_at_risk: int
    year: int

    @property
    def meeting_percent(self) -> int | None:
        if not self.in_production:
            return None
        return round(100 * self.meeting_contract / self.in_production)

    @property
    def realised_text(self) -> str:
        return money(self.realised_this_year)


def value_kpis(*, now: datetime, initiatives: QuerySet[Initiative]) -> ValueKpis:
    """Value realised this year (the latest review of each initiative, if recorded since 1
    January), production initiatives meeting their contract, overdue reviews and value at
    risk, read from the stored standings (``scoring.standings``: contract met and
    latest review, as of the snapshot), for the dashboard and its API, whose cost must not
    grow with the portfolio: one query, plus the value flags' two."""
    year_start = timezone.make_aware(datetime(timezone.localdate(now).year, 1, 1))
    figures = initiatives.order_by().aggregate(
        in_production=Count("pk", filter=Q(standing__meets_contract__isnull=False)),
        meeting=Count("pk", filter=Q(standing__meets_contract=True)),
        realised=Sum("standing__realised_value",
                     filter=Q(standing__realised_at__gte=year_start,
                              standing__realised_at__lte=now)))
    flags = value_flag_counts(now=now)
    return ValueKpis(
        realised_this_year=figures["realised"] or Decimal(0),
        in_production=figures["in_production"], meeting_contract=figures["meeting"],
        overdue_reviews=flags["overdue"], value_at_risk=flags["at_risk"],
        year=timezone.localdate(now).year,
    )


def team_value(initiatives: QuerySet[Initiative]) -> list[tuple]:
    """Per team, from the stored standings: (team, predicted of the reviewed, realised,
    reviewed, initiatives that reached production), the dashboard chart's rows: one query."""
    reviewed = Q(standing__realised_value__isnull=False)
    rows = (initiatives.filter(standing__reached_production=True).order_by()
            .values("team__name")
            .annotate(initiatives=Count("pk"), reviewed=Count("pk", filter=reviewed),
                      predicted=Sum("predicted_annual_value", filter=reviewed),
                      realised=Sum("standing__realised_value"))
            .order_by("team__name"))
    return [(row["team__name"], float(row["predicted"] or 0), float(row["realised"] or 0),
             row["reviewed"], row["initiatives"]) for row in rows]


def value_definitions() -> dict[str, str]:
    return {
        "realised_this_year": REALISED_THIS_YEAR_DEFINITION,
        "meeting_contract": MEETING_CONTRACT_DEFINITION,
        "accuracy": ACCURACY_DEFINITION,
        "scoring_model": MODEL_DEFINITION,
    }

