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
  invalidations it sees and, in one transaction, recomputes what they name (each names
  the initiatives, teams and owners a write can have moved; one naming nothing, a new
  day and beat's nightly run recompute everything: see "Recomputing what a change
  names" below); one that commits meanwhile stays behind, so the next refresh runs too;
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
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from governance.selectors import with_compliance
from portfolio.models import Initiative, Stage, StageTransition, StallFlag, Team
from portfolio.outcomes import contract
from portfolio.outcomes.selectors import VALUE_STAGES, contract_evidence_bulk, with_latest_review
from portfolio.selectors import with_ownership_health
from scoring.capacity import (
    DRAWING_STAGES,
    PLAN_QUARTERS,
    FundingLine,
    capacities_for,
    funding_lines,
    funding_walk,
    mark_blocked,
    plan_quarters,
    quarter_of,
)
from scoring.models import (
    FUNDING_COLUMNS,
    REASON_COLUMNS,
    FundingPosition,
    PortfolioSnapshot,
    ScoringModel,
    Standing,
    StandingsInvalidation,
    TeamStanding,
    ValueEntry,
    ValueTotal,
)
from scoring.selectors import active_scoring_model, ranked_initiatives, score_expression
from scoring.value import value_to_store

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


def standings_invalidate(*, what: str, initiatives: Iterable[int] = (),
                         teams: Iterable[int] = (), owners: Iterable[int] = ()) -> None:
    """Mark the standings stale, in the caller's transaction, and have the worker
    recompute them once it commits (``portfolio.hooks.CHANGE_LISTENERS``): one mark per
    initiative, team and owner named (``portfolio.services.portfolio_changed``), or one
    naming nothing (everything is recomputed). One query."""
    what = what[:40]
    marks = ([StandingsInvalidation(what=what, initiative=pk) for pk in sorted(set(initiatives))]
             + [StandingsInvalidation(what=what, team=pk) for pk in sorted(set(teams))]
             + [StandingsInvalidation(what=what, owner=pk) for pk in sorted(set(owners))])
    StandingsInvalidation.objects.bulk_create(marks or [StandingsInvalidation(what=what)],
                                              batch_size=WRITE_BATCH)
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


def _kpi_flags(*, now: datetime, ids: list[int] | None = None) -> Iterator[tuple]:
    """(pk, entered_pilot, reached_production, stalled, ownership_gap, out_of_compliance,
    realised_value, realised_at) of every initiative (``ids``: these), by the rules the
    KPIs count (``scoring.dashboard``), with its latest recorded value review: one query."""
    today = timezone.localdate(now)
    transitions = StageTransition.objects.filter(initiative=OuterRef("pk"))
    initiatives = Initiative.objects.all() if ids is None else Initiative.objects.filter(
        pk__in=ids)
    flagged = with_compliance(with_ownership_health(
        with_latest_review(initiatives), now=now), today=today).annotate(
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


def value_store(*, batch_size: int = 5000) -> None:
    """Recompute the Value page's totals and rows (``scoring.value.value_to_store``) and
    store them (``ValueTotal``, ``ValueEntry``) in place of the previous ones, inside the
    refresh's transaction."""
    totals, entries = value_to_store()
    ValueTotal.objects.all().delete()
    ValueTotal.objects.bulk_create(totals)
    ValueEntry.objects.all().delete()
    ValueEntry.objects.bulk_create(entries, batch_size=batch_size)


def standings_refresh(*, now: datetime | None = None, force: bool = False,
                      wait: bool = True) -> PortfolioSnapshot | None:
    """Store the standings, unless they are current (``force``: recompute them anyway).

    The first refresh of a day (and ``force``, and a change that names nothing) recomputes
    every standing (``_recompute_all``); the others recompute only what the pending
    changes name (``_recompute_named``), with the clock of the day's full recompute, so
    both store the same rows. ``wait=False`` returns None at once, instead of waiting,
    when another refresh is running. Readers keep seeing the previous standings until
    this transaction commits.
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
        started = time.perf_counter()
        named = _take_marks()
        model = active_scoring_model()
        partial = (not force and named is not None and snapshot.recomputed_at is not None
                   and snapshot.as_of == timezone.localdate(now)
                   and snapshot.model_id == (model.pk if model else None))
        if partial and _recompute_named(named, now=snapshot.recomputed_at, model=model,
                                        stored_rows=snapshot.initiatives):
            snapshot.initiatives = Standing.objects.count()
        else:
            _recompute_all(snapshot, now=now, model=model)
        snapshot.taken_at = now
        snapshot.seconds = time.perf_counter() - started
        snapshot.save()
    return snapshot


def _recompute_all(snapshot: PortfolioSnapshot, *, now: datetime,
                   model: ScoringModel | None) -> None:
    """Every standing and team standing, recomputed at ``now`` and stored anew."""
    today = timezone.localdate(now)
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
    # The Value page's totals and rows (issue 22), from the standings just written.
    value_store()
    snapshot.as_of, snapshot.recomputed_at = today, now
    snapshot.year, snapshot.quarter, snapshot.model = year, quarter, model
    snapshot.initiatives = written


# --- Recomputing what a change names ------------------------------------------------------------
#
# What one change can move, and so what ``_recompute_named`` recomputes (every other row
# would come out of a full recompute as it is stored):
#
# - the initiatives it names, and any without a standing yet: every column of their rows
#   (rank and score aside);
# - their teams' funding lines, and the teams it names (a capacity plan, the team an
#   initiative left): a team's line walks only its own initiatives, in rank order, against
#   its own plans, so the funding columns of every initiative of those teams and their
#   ``TeamStanding`` rows. What blocks a funded one is the gate's answer for that
#   initiative alone: it is asked again for the named ones and for those funded now and
#   not before; the others keep the answer stored;
# - the owners it names: a sign of life can only close an ownership gap, so the rows of
#   what they own stored with a gap;
# - the ranks: a score that moves shifts everything between its old and new place, so
#   the ranking is read in SQL (a window) and only rows whose rank or score differ are
#   written, in the same statement (``_store_ranks``).
#
# Whatever reads the clock (an owner's silence, waivers, the quarter) reads the moment of
# the day's full recompute (``PortfolioSnapshot.recomputed_at``); a new day recomputes
# everything.

# Above this many initiatives named, recomputing everything costs less than row by row.
NAMED_AT_MOST = 20_000
# Funding positions that draw on the line: the gate was asked for an initiative in one.
DRAWN = (FundingPosition.COMMITTED, FundingPosition.FUNDED)
# A standing's own columns, compared and written row by row (``_store_ranks`` writes the
# rank and the score).
ROW_FIELDS = tuple(field.attname for field in Standing._meta.concrete_fields
                   if field.attname not in ("initiative_id", "rank", "score"))
# What the gate and the exit contract read of a named initiative (the ranking's columns
# without its two annotations).
ROW_COLUMNS = tuple(column for column in RANKED_COLUMNS if column not in ("score", "rank"))


@dataclass
class Named:
    """What the pending changes name (``StandingsInvalidation``)."""

    initiatives: set[int] = field(default_factory=set)
    teams: set[int] = field(default_factory=set)
    owners: set[int] = field(default_factory=set)


def _take_marks() -> Named | None:
    """What the pending changes name, their marks deleted (one committed after the read
    stays, for the next refresh); None when one names nothing (recompute everything)."""
    marks = list(StandingsInvalidation.objects.values_list("pk", "initiative", "team", "owner"))
    for start in range(0, len(marks), WRITE_BATCH):
        StandingsInvalidation.objects.filter(
            pk__in=[mark[0] for mark in marks[start:start + WRITE_BATCH]]).delete()
    named = Named()
    for _, initiative, team, owner in marks:
        if initiative is None and team is None and owner is None:
            return None
        for ids, pk in ((named.initiatives, initiative), (named.teams, team),
                        (named.owners, owner)):
            if pk is not None:
                ids.add(pk)
    return named


def _recompute_named(named: Named, *, now: datetime, model: ScoringModel | None,
                     stored_rows: int) -> bool:
    """Recompute and store what ``named`` can have moved (see above), as of ``now``.
    False, having written nothing, when it names so many initiatives that recomputing
    everything is cheaper. A fixed number of queries, whatever the portfolio's size."""
    own = set(named.initiatives)
    if Initiative.objects.count() != stored_rows:
        # And any initiative without a standing yet, whoever created it (an anti-join);
        # as many initiatives as standings means none (a standing goes with its initiative).
        own |= set(Initiative.objects.filter(standing__isnull=True)
                   .values_list("pk", flat=True))
    ids = set(own)
    if named.owners:
        ids |= set(Standing.objects.filter(initiative__owner__in=named.owners,
                                           ownership_gap=True)
                   .values_list("initiative_id", flat=True))
    if len(ids) > NAMED_AT_MOST:
        return False
    rows = {row.pk: row for row in Initiative.objects.filter(pk__in=ids)
            .annotate(score=score_expression(model)).values_list(*ROW_COLUMNS, "score",
                                                                 named=True)}
    teams = named.teams | {row.team_id for row in rows.values()}
    quarters = plan_quarters(now, count=PLAN_QUARTERS)
    lines = funding_walk(
        ranked=ranked_initiatives(Initiative.objects.filter(team__in=teams,
                                                            stage__in=DRAWING_STAGES),
                                  model=model).values_list(*RANKED_COLUMNS, named=True),
        teams=list(Team.objects.filter(pk__in=teams).order_by("name", "pk")),
        quarters=quarters, capacities=capacities_for(quarters))
    entries: dict[int, list] = defaultdict(list)
    for line in lines:
        for team in line.teams:
            for entry in team.entries:
                entries[entry.initiative.pk].append(entry)
    stored = {row["initiative_id"]: row for row in Standing.objects.filter(
        initiative_id__in=ids | set(entries)).values("initiative_id", "rank", "score",
                                                     *ROW_FIELDS)}
    ranks_moved = _ranks_moved(own, rows=rows, stored=stored)
    # The Value page reads none of what an owner's word changes: only ``own`` can move it.
    value_touched = any(stored[pk]["meets_contract"] is not None for pk in own if pk in stored)
    _mark_blocked(entries, ids=ids, stored=stored, now=now)
    recomputed = _named_rows(rows, now=now)
    created, changed = [], []
    for pk in set(rows) | set(entries):
        before = stored.get(pk)
        if before is None and pk not in recomputed:
            continue  # created since the marks were read: its own mark is pending
        values = _positions(lines, pk)
        values.update(recomputed[pk] if pk in recomputed
                      else {name: before[name] for name in ROW_FIELDS if name not in values})
        if before is None:
            created.append(Standing(initiative_id=pk, **values))
        elif any(before[name] != values[name] for name in ROW_FIELDS):
            changed.append(Standing(initiative_id=pk, **values))
    Standing.objects.bulk_create(created, batch_size=WRITE_BATCH)
    Standing.objects.bulk_update(changed, ROW_FIELDS, batch_size=500)
    retired = [pk for pk, row in rows.items() if row.stage == Stage.RETIRED]
    if retired:
        (Standing.objects.filter(initiative_id__in=retired)
         .filter(Q(rank__isnull=False) | Q(score__isnull=False)).update(rank=None, score=None))
    if ranks_moved:
        _store_ranks(model)
    TeamStanding.objects.filter(team_id__in=teams).delete()
    TeamStanding.objects.bulk_create(_team_standings(lines))
    if (value_touched or any(rows[pk].stage in VALUE_STAGES for pk in own if pk in rows)
            or _in_value_report(own, teams=named.teams)):
        value_store()  # what it reads of these initiatives or teams may have changed
    return True


def _in_value_report(ids: set[int], *, teams: set[int]) -> bool:
    """Whether the Value page (``scoring.standings.value_store``) lists one of these
    initiatives or an initiative of these teams (it shows the team's name): one that
    entered production, or one in production now (``Standing.meets_contract``). Two
    queries at most."""
    named = Q(initiative_id__in=ids) | Q(initiative__team_id__in=teams)
    return (StageTransition.objects.filter(named, to_stage=Stage.PRODUCTION).exists()
            or Standing.objects.filter(named, meets_contract__isnull=False).exists())


def _mark_blocked(entries: dict[int, list], *, ids: set[int], stored: dict,
                  now: datetime) -> None:
    """What blocks each funded entry: the gate asked (``capacity.mark_blocked``) for the
    named initiatives and for those drawing on no line before; the others' answer is the
    one stored (the gate reads only the initiative, the catalogue and the day)."""
    asked = []
    for pk, its_entries in entries.items():
        before = stored.get(pk)
        if (pk in ids or before is None
                or not any(before[column] in DRAWN for column in FUNDING_COLUMNS)):
            asked += its_entries
            continue
        for entry in its_entries:
            if entry.funded:
                entry.blockers = list(before["blockers"])
    mark_blocked(asked, now=now)


def _named_rows(rows: dict, *, now: datetime) -> dict[int, dict]:
    """The KPI flags, the exit contract and the latest value review of the initiatives
    ``rows`` (their columns, by id): three queries at most."""
    live = [row for row in rows.values() if row.stage in VALUE_STAGES]
    evidence = (contract_evidence_bulk(stages=VALUE_STAGES, ids=[row.pk for row in live])
                if live else {})
    met = {row.pk: contract.status(row, evidence.get(row.pk, contract.Evidence())) == "met"
           for row in live}
    return {pk: {"entered_pilot": pilot, "reached_production": production,
                 "stalled": stalled, "ownership_gap": gap, "out_of_compliance": noncompliant,
                 "meets_contract": met.get(pk), "realised_value": realised,
                 "realised_at": reviewed_at}
            for (pk, pilot, production, stalled, gap, noncompliant, realised, reviewed_at)
            in (_kpi_flags(now=now, ids=list(rows)) if rows else ())}


def _ranks_moved(own: set[int], *, rows: dict, stored: dict) -> bool:
    """Whether the ranking differs from the stored ranks: a named initiative whose score
    (read with its row) differs from the one stored, one retired or gone, one not stored
    yet. The stored scores are written with the ranks (``_store_ranks``), in one
    statement, so equal scores mean equal ranks; an edit committed since is named again
    by its own mark."""
    for pk in own:
        row, before = rows.get(pk), stored.get(pk)
        if row is None or before is None:
            return True  # gone, or new
        live = row.stage != Stage.RETIRED
        if (before["rank"] is not None) != live or (live and before["score"] != row.score):
            return True
    return False


def _store_ranks(model: ScoringModel | None) -> int:
    """Write the rank and score of each live initiative whose stored ones differ from the
    ranking's: one UPDATE over the ranking's own SQL (a window over the live portfolio),
    so an edit writes only the rows it moved. Returns how many it wrote."""
    ranked = (ranked_initiatives(Initiative.objects.exclude(stage=Stage.RETIRED), model=model)
              .order_by().values_list("pk", "score", "rank"))
    sql, params = ranked.query.sql_with_params()
    table = connection.ops.quote_name(Standing._meta.db_table)
    rank, score = connection.ops.quote_name("rank"), connection.ops.quote_name("score")
    # PostgreSQL's null-safe comparison; SQLite's IS NOT is the same test.
    differs = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {rank} = ranked.{rank}, {score} = ranked.{score} "
            f"FROM ({sql}) AS ranked WHERE {table}.initiative_id = ranked.pk "
            f"AND ({table}.{rank} {differs} ranked.{rank} "
            f"OR {table}.{score} {differs} ranked.{score})", params)
        return cursor.rowcount


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
