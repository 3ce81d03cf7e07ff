"""Reads for outcomes: the gate's evidence, an initiative's measurements and reviews, the
flags lists and the dashboard show (overdue value review, value at risk), and the value
ledger leadership reads.

Flags are SQL (``Exists``), so a list's query count does not grow with the portfolio.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from portfolio.models import (
    ContractOverride,
    Initiative,
    Measurement,
    Stage,
    StageTransition,
    ValueReview,
)
from portfolio.outcomes.contract import Evidence, Reading

# Where value is reviewed: in production, and after it.
VALUE_STAGES = (Stage.PRODUCTION, Stage.SCALED)


def _in_window(prefix: str = "initiative__") -> Q:
    return Q(**{"measured_on__gte": F(f"{prefix}window_start"),
                "measured_on__lte": F(f"{prefix}window_end")})


def contract_evidence(initiative: Initiative) -> Evidence:
    """The gate's evidence for one initiative: two queries."""
    latest = (Measurement.objects.filter(initiative=initiative)
              .filter(_in_window()).order_by("-measured_on", "-id")
              .values_list("value", "measured_on").first())
    overridden = set(ContractOverride.objects.filter(
        initiative=initiative, stage_since=initiative.stage_changed_at)
        .values_list("kind", flat=True))
    return Evidence(latest_in_window=Reading(*latest) if latest else None,
                    overridden=overridden)


def contract_evidence_bulk(*, stages, ids=None) -> dict[int, Evidence]:
    """The gate's evidence for every initiative in ``stages`` (``ids``: of those, these
    only): two queries, whatever their number (the funding line asks it for the funded)."""
    latest = Subquery(Measurement.objects.filter(initiative=OuterRef("pk"))
                      .filter(_in_window()).order_by("-measured_on", "-id")
                      .values("pk")[:1])
    initiatives = Initiative.objects.filter(stage__in=stages)
    overrides = ContractOverride.objects.filter(initiative__stage__in=stages,
                                                stage_since=F("initiative__stage_changed_at"))
    if ids is not None:
        initiatives = initiatives.filter(pk__in=ids)
        overrides = overrides.filter(initiative_id__in=ids)
    evidence: dict[int, Evidence] = {}
    for value, measured_on, initiative_id in (
            Measurement.objects.filter(pk__in=initiatives.annotate(latest=latest)
                                       .exclude(latest=None).values("latest"))
            .values_list("value", "measured_on", "initiative_id")):
        evidence[initiative_id] = Evidence(latest_in_window=Reading(value, measured_on))
    for initiative_id, kind in overrides.values_list("initiative_id", "kind"):
        evidence.setdefault(initiative_id, Evidence()).overridden.add(kind)
    return evidence


def measurements_of(initiative: Initiative) -> QuerySet[Measurement]:
    return (Measurement.objects.filter(initiative=initiative)
            .select_related("recorded_by").order_by("measured_on", "id"))


def overrides_of(initiative: Initiative) -> QuerySet[ContractOverride]:
    return (ContractOverride.objects.filter(initiative=initiative)
            .select_related("decided_by").order_by("-decided_at", "-id"))


def value_reviews_of(initiative: Initiative) -> QuerySet[ValueReview]:
    return (ValueReview.objects.filter(initiative=initiative)
            .select_related("recorded_by", "decided_by").order_by("-due_on", "-id"))


# --- Flags ---------------------------------------------------------------------------------------

def overdue_cutoff(today: date) -> date:
    """A pending review due before this day is overdue."""
    return today - timedelta(days=settings.VALUE_REVIEW_GRACE_DAYS)


def overdue_review_q(today: date, prefix: str = "") -> Q:
    """Pending value reviews past their grace period, of initiatives still in production."""
    return Q(**{f"{prefix}recorded_at__isnull": True,
                f"{prefix}due_on__lt": overdue_cutoff(today),
                f"{prefix}initiative__stage__in": VALUE_STAGES})


def is_overdue(review: ValueReview, today: date) -> bool:
    """``overdue_review_q`` in Python, for a review whose initiative is loaded."""
    return (review.recorded_at is None and review.due_on < overdue_cutoff(today)
            and review.initiative.stage in VALUE_STAGES)


def awaiting_decision_q(prefix: str = "") -> Q:
    """Value at risk: a recorded review below the share of the prediction, not decided,
    of an initiative still in production."""
    return Q(**{f"{prefix}at_risk": True, f"{prefix}decision": "",
                f"{prefix}initiative__stage__in": VALUE_STAGES})


def with_value_flags(queryset: QuerySet[Initiative], *, now: datetime) -> QuerySet[Initiative]:
    """``value_review_overdue`` and ``value_at_risk`` on each row (SQL, no query)."""
    today = timezone.localdate(now)
    reviews = ValueReview.objects.filter(initiative=OuterRef("pk"))
    return queryset.annotate(
        value_review_overdue=Exists(reviews.filter(overdue_review_q(today))),
        value_at_risk=Exists(reviews.filter(awaiting_decision_q())),
    )


def value_flag_counts(*, now: datetime) -> dict[str, int]:
    """How many initiatives have an overdue value review, and how many are at risk."""
    today = timezone.localdate(now)
    return {
        "overdue": ValueReview.objects.filter(overdue_review_q(today))
        .values("initiative_id").distinct().count(),
        "at_risk": ValueReview.objects.filter(awaiting_decision_q())
        .values("initiative_id").distinct().count(),
    }


def reviews_overdue(*, now: datetime) -> QuerySet[ValueReview]:
    """Every overdue value review, oldest first, with its initiative, team and owner."""
    return (ValueReview.objects.filter(overdue_review_q(timezone.localdate(now)))
            .select_related("initiative__team", "initiative__owner")
            .order_by("due_on", "id"))


# --- When each production initiative entered production -----------------------------------------

def production_since_q():
    """The moment the initiative last entered production (a Subquery on its history)."""
    return Subquery(StageTransition.objects.filter(initiative=OuterRef("pk"),
                                                   to_stage=Stage.PRODUCTION)
                    .order_by("-at", "-id").values("at")[:1])


# --- The value ledger ----------------------------------------------------------------------------

def with_latest_review(queryset: QuerySet[Initiative]) -> QuerySet[Initiative]:
    """``realised_value``, ``run_cost`` and ``reviewed_at`` of each row's latest recorded value
    review (None without one), in the same query."""
    latest = ValueReview.objects.recorded().filter(initiative=OuterRef("pk")).order_by(
        "-recorded_at", "-id")
    return queryset.annotate(
        realised_value=Subquery(latest.values("realised_value")[:1]),
        run_cost=Subquery(latest.values("run_cost")[:1]),
        reviewed_at=Subquery(latest.values("recorded_at")[:1]))


@dataclass(frozen=True)
class LedgerRow:
    """One initiative's business case against its latest recorded value review."""

    initiative_id: int
    title: str
    team: str
    category: str
    stage: str
    predicted_value: Decimal | None
    predicted_run_cost: Decimal | None
    realised_value: Decimal | None
    run_cost: Decimal | None
    reviewed_on: date | None
    production_since: datetime | None
    # When it last entered pilot before production (the moment it was funded to pilot).
    pilot_since: datetime | None = None

    @property
    def accuracy(self) -> Decimal | None:
        return accuracy(self.realised_value, self.predicted_value)


def accuracy(realised: Decimal | None, predicted: Decimal | None) -> Decimal | None:
    """Realised ÷ predicted (1 = the estimate held); None without both or with nothing
    predicted."""
    if realised is None or not predicted:
        return None
    return realised / predicted


def value_ledger(queryset: QuerySet[Initiative] | None = None) -> list[LedgerRow]:
    """Every initiative that has been in production (or is retired after it) with its
    prediction and its latest recorded review: one query."""
    queryset = Initiative.objects.all() if queryset is None else queryset
    pilot = (StageTransition.objects.filter(initiative=OuterRef("pk"), to_stage=Stage.PILOT,
                                            at__lte=OuterRef("production_since"))
             .order_by("-at", "-id").values("at")[:1])
    rows = (with_latest_review(queryset.annotate(production_since=production_since_q()))
            .filter(production_since__isnull=False)
            .annotate(pilot_since=Subquery(pilot))
            .order_by("team__name", "title", "pk")
            .values_list("pk", "title", "team__name", "category", "stage",
                         "predicted_annual_value", "predicted_annual_run_cost",
                         "realised_value", "run_cost", "reviewed_at", "production_since",
                         "pilot_since"))
    return [LedgerRow(pk, title, team, category, stage, predicted, predicted_cost, realised,
                      cost, timezone.localdate(reviewed) if reviewed else None, since,
                      pilot_since)
            for (pk, title, team, category, stage, predicted, predicted_cost, realised, cost,
                 reviewed, since, pilot_since) in rows]


@dataclass(frozen=True)
class LedgerTotal:
    key: str
    initiatives: int
    reviewed: int
    predicted_value: Decimal
    realised_value: Decimal
    run_cost: Decimal
    # Over the reviewed only: realised ÷ predicted of the same initiatives.
    accuracy: Decimal | None
    # What was predicted for the reviewed ones: the like-for-like partner of realised_value.
    predicted_reviewed: Decimal = Decimal(0)


def ledger_totals(rows: list[LedgerRow], key) -> list[LedgerTotal]:
    """``rows`` summed by ``key(row)``; estimate accuracy compares like with like: the
    realised and predicted value of the initiatives that have a recorded review."""
    groups: dict[str, list[LedgerRow]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    totals = []
    for name, members in sorted(groups.items()):
        reviewed = [row for row in members if row.realised_value is not None]
        predicted_reviewed = sum((row.predicted_value or Decimal(0) for row in reviewed),
                                 Decimal(0))
        realised = sum((row.realised_value for row in reviewed), Decimal(0))
        totals.append(LedgerTotal(
            key=name, initiatives=len(members), reviewed=len(reviewed),
            predicted_value=sum((row.predicted_value or Decimal(0) for row in members),
                                Decimal(0)),
            realised_value=realised,
            run_cost=sum((row.run_cost or Decimal(0) for row in reviewed), Decimal(0)),
            accuracy=accuracy(realised, predicted_reviewed) if reviewed else None,
            predicted_reviewed=predicted_reviewed,
        ))
    return totals
