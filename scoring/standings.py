"""The portfolio's standings, stored: what the dashboard and the ranking read.

Ranking the whole live portfolio, walking every team's funding line and asking the gate
what blocks each funded initiative is work in proportion to the portfolio: seconds at
100,000 initiatives, far too slow for every page view (bench/RESULTS.md). So
``standings_refresh`` does that work once and stores its outcome — per initiative its
rank, score, funding position this quarter and in each of the next three, blockers and
KPI flags (``Standing``), per team and quarter its capacity against demand
(``TeamStanding``) — and the reads (``scoring.dashboard``) join
the stored standings to the live rows they show.

The rules stay where they are (``scoring.capacity.funding_line``, the gate, the
ownership and compliance annotations); this module only stores their answers.

**When they are recomputed (the freshness contract).** Writers mark them stale, reads
never write:

- every write to something they are computed from — an initiative, its people and stage
  history, its checkpoints, the catalogue, a capacity plan, a scoring model, a stall flag,
  an account switched on or off — calls ``portfolio.services.portfolio_changed`` in its own
  transaction, which inserts a ``StandingsInvalidation`` (``standings_invalidate``) and,
  once that transaction commits, queues ``scoring.tasks.standings_refresh_task``;
- the standings are *current* while no invalidation is pending and they were computed
  for today (waivers expire and quarters turn with the date); beat also runs the task
  every few minutes, so a queued message that was lost costs minutes, not correctness;
- ``standings_refresh`` (the task, ``manage.py refresh_standings``) deletes the
  invalidations it sees and recomputes everything in one transaction; one that commits
  meanwhile stays behind, so the next refresh runs too;
- a read (``standings_current``) never writes: it shows the stored standings, marked
  *refreshing* while an invalidation is pending, and queues the task if the writer's
  message was lost.

Nothing here depends on how long anything took. Refreshes are serialised by a row lock
on the snapshot: one waits for another that is running, then does nothing unless a change
committed meanwhile.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import date, datetime

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from governance.selectors import with_compliance
from portfolio.models import Initiative, Stage, StageTransition, StallFlag
from portfolio.outcomes import contract
from portfolio.outcomes.selectors import VALUE_STAGES, contract_evidence_bulk, with_latest_review
from portfolio.selectors import with_ownership_health
from scoring.capacity import PLAN_QUARTERS, FundingLine, funding_lines, quarter_of
from scoring.models import (
    FUNDING_COLUMNS,
    REASON_COLUMNS,
    FundingPosition,
    PortfolioSnapshot,
    ScoringModel,
    Standing,
    StandingsInvalidation,
    TeamStanding,
)
from scoring.selectors import active_scoring_model, ranked_initiatives

logger = logging.getLogger(__name__)

SNAPSHOT_ID = 1
NEVER = date(2000, 1, 1)  # the as-of date of a snapshot row not yet filled in
# How long a queued refresh keeps later stale reads from queueing another.
QUEUED_KEY = "scoring:standings-refresh-queued"
QUEUED_SECONDS = 600
WRITE_BATCH = 5000


# What the ranking reads per live initiative: what the funding line walks (stage, team,
# effort) and what the gate asks (risk tier, the exit contract, the measured result).
# Rows of plain values: model instances for every live initiative cost five times
# PostgreSQL's read of them.
RANKED_COLUMNS = (
    "pk", "team_id", "stage", "stage_changed_at", "effort_weeks", "risk_tier",
    "success_metric", "metric_unit", "metric_direction", "baseline_value", "target_value",
    "window_start", "window_end", "decision_date", "production_owner_id",
    "predicted_annual_value", "predicted_annual_run_cost", "score", "rank",
)


def portfolio_ranking(model: ScoringModel | None) -> list:
    """The whole live portfolio, best first under ``model``, as rows of
    ``RANKED_COLUMNS`` (attributes as an initiative's): one query."""
    return list(ranked_initiatives(Initiative.objects.exclude(stage=Stage.RETIRED), model=model)
                .values_list(*RANKED_COLUMNS, named=True))


def standings_invalidate(*, what: str) -> None:
    """Mark the standings stale, in the caller's transaction, and have the worker
    recompute them once it commits (``portfolio.hooks.CHANGE_LISTENERS``)."""
    StandingsInvalidation.objects.create(what=what[:40])
    # robust: the write has committed; a broker that cannot take the message must not
    # turn it into an error (the mark stays, and beat or the next read queues the job).
    transaction.on_commit(_queue_refresh, robust=True)


def is_current(snapshot: PortfolioSnapshot | None, *, now: datetime) -> bool:
    """Whether ``snapshot``'s standings still describe the portfolio at ``now``: no change
    is pending and they were computed for today. One query."""
    return (snapshot is not None
            and snapshot.as_of == timezone.localdate(now)
            and not StandingsInvalidation.objects.exists())


# --- The refresh --------------------------------------------------------------------------------

def _locked_snapshot(*, skip_locked: bool) -> PortfolioSnapshot | None:
    """The snapshot row, locked for this transaction. The first refresh creates it and
    fills it in before it commits, so no reader sees it empty.

    ``skip_locked``: None when another refresh holds it (instead of waiting for it)."""
    rows = PortfolioSnapshot.objects.select_for_update(skip_locked=skip_locked)
    snapshot = rows.filter(pk=SNAPSHOT_ID).first()
    if snapshot is not None:
        return snapshot
    try:
        with transaction.atomic():
            PortfolioSnapshot.objects.create(
                pk=SNAPSHOT_ID, taken_at=timezone.now(), as_of=NEVER,
                year=2000, quarter=1, seconds=0.0, initiatives=0)
    except IntegrityError:
        pass  # created by a concurrent refresh
    return rows.filter(pk=SNAPSHOT_ID).first()


def _kpi_flags(*, now: datetime) -> Iterator[tuple]:
    """(pk, entered_pilot, reached_production, stalled, ownership_gap, out_of_compliance,
    realised_value, realised_at) of every initiative, by the rules the KPIs count
    (``scoring.dashboard``), with its latest recorded value review: one query."""
    today = timezone.localdate(now)
    transitions = StageTransition.objects.filter(initiative=OuterRef("pk"))
    flagged = with_compliance(with_ownership_health(
        with_latest_review(Initiative.objects.all()), now=now), today=today).annotate(
        entered_pilot=Exists(transitions.filter(to_stage=Stage.PILOT)),
        entered_production=Exists(transitions.filter(to_stage=Stage.PRODUCTION)),
        # Stall detection (daily) decides what is stalled; the KPI counts its open flags.
        stalled=Exists(StallFlag.objects.open().filter(initiative=OuterRef("pk"))),
    )
    for (pk, pilot, production, stalled, left, silent, nobody, noncompliant, realised,
         reviewed_at) in (
            flagged.order_by().values_list(
                "pk", "entered_pilot", "entered_production", "stalled", "owner_left",
                "owner_silent", "nobody_responsible", "out_of_compliance", "realised_value",
                "reviewed_at")
            .iterator(chunk_size=WRITE_BATCH)):
        yield (pk, pilot, pilot and production, stalled, bool(left or silent or nobody),
               bool(noncompliant), realised, reviewed_at)


def _contracts_met(ranking: list) -> dict[int, bool]:
    """Whether each initiative in production or scaled meets its exit contract, by the
    gate's own rule (``contract.status`` over ``contract_evidence_bulk``): two queries."""
    evidence = contract_evidence_bulk(stages=VALUE_STAGES)
    return {row.pk: contract.status(row, evidence.get(row.pk, contract.Evidence())) == "met"
            for row in ranking if row.stage in VALUE_STAGES}


def _positions(lines: list[FundingLine], pk: int) -> dict:
    """An initiative's funding columns for every quarter of the plan, and whether a
    funded one is blocked (and by what)."""
    columns: dict = {"blocked": False, "blockers": []}
    for ahead, line in enumerate(lines):
        entry = line.entry_for(pk)
        if entry is None:
            position, reason = FundingPosition.NOT_DRAWING, ""
        else:
            position, reason = entry.status, entry.reason
            if entry.funded_but_blocked and not columns["blocked"]:
                columns["blocked"], columns["blockers"] = True, list(entry.blockers)
        columns[FUNDING_COLUMNS[ahead]] = position
        columns[REASON_COLUMNS[ahead]] = reason[:200]
    return columns


def _standings(*, ranking: list, lines: list[FundingLine], now: datetime) -> Iterator[Standing]:
    places = {row.pk: (row.rank, row.score) for row in ranking}
    met = _contracts_met(ranking)
    for (pk, pilot, production, stalled, gap, noncompliant, realised,
         reviewed_at) in _kpi_flags(now=now):
        rank, score = places.get(pk, (None, None))
        yield Standing(initiative_id=pk, rank=rank, score=score, **_positions(lines, pk),
                       entered_pilot=pilot, reached_production=production, stalled=stalled,
                       ownership_gap=gap, out_of_compliance=noncompliant,
                       meets_contract=met.get(pk), realised_value=realised,
                       realised_at=reviewed_at)


def _team_standings(lines: list[FundingLine]) -> list[TeamStanding]:
    return [TeamStanding(
        team=team.team, ahead=ahead, capacity=team.capacity, demand=team.demand,
        committed_effort=team.committed_effort,
        committed=len(team.with_status(FundingPosition.COMMITTED)),
        funded_effort=team.funded_effort, remaining=team.remaining,
        utilisation_percent=team.utilisation_percent, over_commitment=team.over_commitment,
        funded=len(team.with_status(FundingPosition.FUNDED)),
        funded_but_blocked=len(team.funded_but_blocked),
        below_line=len(team.with_status(FundingPosition.BELOW_LINE)),
        unsized=len(team.with_status(FundingPosition.UNSIZED)),
        no_plan=len(team.with_status(FundingPosition.NO_PLAN)),
        blocked_by=team.blocked_by,
    ) for ahead, line in enumerate(lines) for team in line.teams]


def _batches(rows: Iterator[Standing]) -> Iterator[list[Standing]]:
    batch: list[Standing] = []
    for row in rows:
        batch.append(row)
        if len(batch) == WRITE_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def standings_refresh(*, now: datetime | None = None, force: bool = False,
                      wait: bool = True) -> PortfolioSnapshot | None:
    """Recompute and store the standings, unless they are current (``force``: anyway).

    ``wait=False`` returns None at once, instead of waiting, when another refresh is
    running. Readers keep seeing the previous standings until this transaction commits.
    """
    now = now or timezone.now()
    with transaction.atomic():
        snapshot = _locked_snapshot(skip_locked=not wait)
        if snapshot is None:
            return None
        if not force and is_current(snapshot, now=now):
            return snapshot
        # A change committed from here on queues the next refresh, which waits for this one.
        cache.delete(QUEUED_KEY)
        # The changes this refresh covers; one committed after this statement stays.
        StandingsInvalidation.objects.all().delete()
        started = time.perf_counter()
        today = timezone.localdate(now)
        model = active_scoring_model()
        ranking = portfolio_ranking(model)
        year, quarter = quarter_of(today)
        lines = funding_lines(ranked=ranking, now=now, ahead=PLAN_QUARTERS - 1)
        Standing.objects.all().delete()
        written = 0
        for batch in _batches(_standings(ranking=ranking, lines=lines, now=now)):
            Standing.objects.bulk_create(batch)
            written += len(batch)
        TeamStanding.objects.all().delete()
        TeamStanding.objects.bulk_create(_team_standings(lines))
        snapshot.taken_at, snapshot.as_of = now, today
        snapshot.year, snapshot.quarter, snapshot.model = year, quarter, model
        snapshot.initiatives = written
        snapshot.seconds = time.perf_counter() - started
        snapshot.save()
    return snapshot


# --- The read -----------------------------------------------------------------------------------

def standings_current(*, now: datetime) -> PortfolioSnapshot:
    """The stored standings to show at ``now``; ``snapshot.refreshing`` is True while a
    change is pending (the worker is recomputing them). Never writes: a stale read only
    makes sure a refresh is queued. Two queries."""
    snapshot = PortfolioSnapshot.objects.select_related("model").filter(pk=SNAPSHOT_ID).first()
    if snapshot is None:  # never computed (a new database): nothing ranked yet
        year, quarter = quarter_of(timezone.localdate(now))
        snapshot = PortfolioSnapshot(taken_at=None, as_of=None, year=year, quarter=quarter,
                                     initiatives=0)
        current = False
    else:
        current = is_current(snapshot, now=now)
    snapshot.refreshing = not current
    if not current:
        _queue_refresh()
    return snapshot


def _queue_refresh() -> None:
    """Send the refresh job once, however many writes and reads ask before it runs."""
    if not cache.add(QUEUED_KEY, True, timeout=QUEUED_SECONDS):
        return
    from scoring.tasks import standings_refresh_task

    try:
        standings_refresh_task.delay()
    except Exception:
        cache.delete(QUEUED_KEY)  # not sent: the next write or read tries again
        logger.warning("Could not queue the standings refresh; beat will run it.",
                       exc_info=True)
