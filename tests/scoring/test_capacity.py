"""Capacity plans and the funding line, funded but blocked."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from governance.models import Checkpoint
from governance.services import checkpoints_sync, gate_blockers
from portfolio.exceptions import DomainError
from scoring import capacity
from scoring.capacity import (
    BELOW_LINE,
    FUNDED,
    NO_PLAN,
    UNSIZED,
    capacity_plan_set,
    demand_by_team,
    funding_line,
    next_quarter,
    quarter_of,
)
from scoring.models import CapacityPlan
from tests.factories import (
    FIXED_NOW,
    InitiativeFactory,
    TeamFactory,
    approve_all_checkpoints,
    measure,
    ready_for_production,
)

YEAR, QUARTER = 2026, 4  # FIXED_NOW is 2 November 2026


@pytest.fixture
def team(db):
    return TeamFactory(name="Customer Operations", slug="customer-operations")


def plan(team, weeks, *, year=YEAR, quarter=QUARTER):
    return CapacityPlan.objects.create(team=team, year=year, quarter=quarter,
                                       engineer_weeks=Decimal(weeks))


def initiative(team, effort, *, stage="assessment", days_old=0, **fields):
    """Contracted, so the exit contract blocks nothing unless a test says so."""
    at = FIXED_NOW - timedelta(days=days_old)
    return InitiativeFactory(team=team, stage=stage, contracted=True, created_at=at,
                             effort_weeks=None if effort is None else Decimal(effort), **fields)


def line_of(team, ranked, *, now=FIXED_NOW):
    result = funding_line(year=YEAR, quarter=QUARTER, ranked=ranked, now=now)
    return next(line for line in result.teams if line.team == team)


def statuses(line):
    return [(entry.initiative.effort_weeks, entry.status) for entry in line.entries]


# --- The greedy walk -------------------------------------------------------------------------

def test_greedy_walk_on_a_hand_computed_case(team):
    plan(team, 20)
    ranked = [initiative(team, effort) for effort in (8, 15, 5, 10, 2)]

    line = line_of(team, ranked)

    # Capacity 20, in rank order:
    #   8  fits (20 left)  -> funded, 12 left
    #   15 > 12            -> below the line, walk on
    #   5  fits (12 left)  -> funded, 7 left
    #   10 > 7             -> below the line, walk on
    #   2  fits (7 left)   -> funded, 5 left
    # funded = 8 + 5 + 2 = 15; utilisation = 15 / 20 = 75 %
    # demand = 8 + 15 + 5 + 10 + 2 = 40; over-commitment = 40 - 20 = 20
    assert statuses(line) == [(8, FUNDED), (15, BELOW_LINE), (5, FUNDED), (10, BELOW_LINE),
                              (2, FUNDED)]
    assert line.capacity == 20
    assert line.funded_effort == 15
    assert line.remaining == 5
    assert line.utilisation == Decimal("0.75")
    assert line.utilisation_percent == 75
    assert line.demand == 40
    assert line.over_commitment == 20
    assert line.over_committed
    assert line.entries[1].reason == "needs 15 engineer-weeks; 12 left when its turn came"
    assert line.entries[3].reason == "needs 10 engineer-weeks; 7 left when its turn came"


def test_the_walk_follows_the_order_given_not_the_effort(team):
    plan(team, 20)
    small, large = initiative(team, 5), initiative(team, 18)

    # 18 first: funded (2 left), then 5 > 2 is below the line.
    assert statuses(line_of(team, [large, small])) == [(18, FUNDED), (5, BELOW_LINE)]
    # 5 first: funded (15 left), then 18 > 15 is below the line.
    assert statuses(line_of(team, [small, large])) == [(5, FUNDED), (18, BELOW_LINE)]


def test_an_effort_equal_to_what_is_left_still_fits_and_the_walk_goes_on_after_a_miss(team):
    plan(team, "10.5")
    ranked = [initiative(team, effort) for effort in ("12", "6.5", "4", "0.5")]

    # 12 > 10.5 below; 6.5 funded (4 left); 4 = 4 funded (0 left); 0.5 > 0 below.
    assert statuses(line_of(team, ranked)) == [(12, BELOW_LINE), (Decimal("6.5"), FUNDED),
                                               (4, FUNDED), (Decimal("0.5"), BELOW_LINE)]


def test_demand_and_the_line_leave_out_stages_that_draw_no_capacity(team):
    plan(team, 10)
    drawing = [initiative(team, 4, stage=stage) for stage in ("assessment", "pilot",
                                                               "production")]
    idle = [initiative(team, 30, stage=stage) for stage in ("idea", "scaled", "paused")]
    retired = initiative(team, 30, stage="retired", retirement_reason="cost")

    line = line_of(team, [*idle, retired, *drawing])

    # Only the three at 4 weeks count: demand 12, funded 4 + 4 = 8, the third below.
    assert [entry.initiative for entry in line.entries] == drawing
    assert statuses(line) == [(4, FUNDED), (4, FUNDED), (4, BELOW_LINE)]
    assert line.demand == 12
    assert line.over_commitment == 2


def test_unsized_initiatives_are_listed_but_neither_count_nor_use_capacity(team):
    plan(team, 10)
    unsized, sized = initiative(team, None), initiative(team, 10)

    line = line_of(team, [unsized, sized])

    assert statuses(line) == [(None, UNSIZED), (10, FUNDED)]
    assert line.demand == 10
    assert line.over_commitment == 0
    assert line.utilisation_percent == 100


def test_a_team_without_a_plan_has_everything_below_the_line(team):
    plan(team, 50, quarter=3)  # another quarter's plan does not count
    ranked = [initiative(team, 3), initiative(team, None)]

    line = line_of(team, ranked)

    assert not line.has_plan
    assert statuses(line) == [(3, NO_PLAN), (None, UNSIZED)]
    assert line.entries[0].reason == "no capacity plan"
    assert line.entries[0].label == "no capacity plan"
    assert line.capacity is None
    assert line.utilisation is None
    assert line.funded_effort == 0
    assert line.over_commitment == 3


def test_zero_capacity_funds_nothing(team):
    plan(team, 0)
    line = line_of(team, [initiative(team, 2), initiative(team, 1)])

    assert statuses(line) == [(2, BELOW_LINE), (1, BELOW_LINE)]
    assert line.utilisation is None  # nothing to divide by
    assert line.over_commitment == 3


def test_teams_come_by_name_and_a_team_with_a_plan_but_no_initiatives_has_headroom(team):
    quiet = TeamFactory(name="A quiet team", slug="quiet")
    plan(quiet, 12)
    plan(team, 5)
    busy = initiative(team, 4)

    result = funding_line(year=YEAR, quarter=QUARTER, ranked=[busy], now=FIXED_NOW)

    assert [line.team for line in result.teams] == [quiet, team]
    assert result.teams[0].demand == 0
    assert result.teams[0].utilisation == 0
    assert result.entry_for(busy.pk).status == FUNDED
    assert result.label == "2026-Q4"


def test_each_team_walks_its_own_ranking(team):
    other = TeamFactory(name="Data Platform", slug="data-platform")
    plan(team, 10)
    plan(other, 10)
    ranked = [initiative(team, 8), initiative(other, 8), initiative(team, 8),
              initiative(other, 2)]

    result = funding_line(year=YEAR, quarter=QUARTER, ranked=ranked, now=FIXED_NOW)

    assert [statuses(line) for line in result.teams] == [
        [(8, FUNDED), (8, BELOW_LINE)],   # Customer Operations: 8, then 8 > 2
        [(8, FUNDED), (2, FUNDED)],       # Data Platform: 8 + 2 = 10
    ]


# --- Funded but blocked ---------------------------------------------------------------------

@pytest.fixture
def synced(reviewer):
    """An initiative with its checkpoints, all approved."""
    def make(team, effort, **fields):
        made = initiative(team, effort, **fields)
        checkpoints_sync(initiatives=[made], actor=reviewer, now=FIXED_NOW)
        approve_all_checkpoints(made, reviewer=reviewer)
        return made
    return make


def reopen(made, code, status="not_started"):
    Checkpoint.objects.filter(initiative=made, type__code=code).update(
        status=status, reviewer=None, decided_at=None)


def test_funded_initiatives_whose_next_gate_is_blocked_name_the_checkpoints(team, synced):
    plan(team, 10)
    blocked = synced(team, 4, stage="assessment")
    clear = synced(team, 4, stage="assessment")
    below = synced(team, 4, stage="assessment")
    reopen(blocked, "security-review")
    Checkpoint.objects.filter(initiative=blocked, type__code="evaluation-plan").update(
        status="rejected")
    reopen(blocked, "observability")  # gates production: not the next stage, not a blocker
    reopen(below, "security-review")  # below the line: not marked

    line = line_of(team, [blocked, clear, below])

    assert [entry.status for entry in line.entries] == [FUNDED, FUNDED, BELOW_LINE]
    assert line.entries[0].next_stage == "pilot"
    assert line.entries[0].blockers == ["Evaluation plan and quality metrics (rejected)",
                                        "Security review (not started)"]
    assert line.entries[0].funded_but_blocked
    assert not line.entries[1].funded_but_blocked
    assert line.entries[2].blockers == []
    assert line.funded_but_blocked == [line.entries[0]]


def test_funded_but_blocked_says_what_the_gate_says(team, synced):
    """The bulk rule and governance's one gate agree, phrase for phrase."""
    plan(team, 100)
    no_contract = synced(team, 1, stage="assessment", success_metric="", baseline_value=None)
    long_ago = FIXED_NOW - timedelta(days=61)  # past every tier's minimum pilot
    pilot_unmeasured = synced(team, 1, stage="pilot", uses_personal_data=True,
                              stage_changed_at=long_ago)
    reopen(pilot_unmeasured, "privacy-review", status="in_review")
    pilot_measured = ready_for_production(synced(team, 1, stage="pilot"))
    pilot_missed = synced(team, 1, stage="pilot", stage_changed_at=long_ago)
    measure(pilot_missed, 22, on=date(2026, 10, 20))
    pilot_young = synced(team, 1, stage="pilot", risk_tier="limited",
                         stage_changed_at=FIXED_NOW - timedelta(days=10))
    measure(pilot_young)
    production = synced(team, 1, stage="production", autonomy_level="autonomous")
    measure(production)
    reopen(production, "failure-recovery")
    lapsed = synced(team, 1, stage="assessment")
    Checkpoint.objects.filter(initiative=lapsed, type__code="ip-licensing").update(
        status="waived", waiver_justification="Vendor terms pending.",
        waiver_expires_on=date(2026, 10, 1))
    prohibited = synced(team, 1, stage="assessment", risk_tier="prohibited")
    ranked = [no_contract, pilot_unmeasured, pilot_measured, pilot_missed, pilot_young,
              production, lapsed, prohibited]

    line = line_of(team, ranked)

    assert all(entry.funded for entry in line.entries)
    for entry in line.entries:
        assert entry.blockers == gate_blockers(initiative=entry.initiative,
                                               to_stage=entry.next_stage, now=FIXED_NOW)
    blockers = {entry.initiative: entry.blockers for entry in line.entries}
    assert blockers[no_contract] == ["the exit contract (success metric, baseline missing)"]
    assert blockers[pilot_unmeasured] == [
        "Privacy and data-leakage review (in review)",
        "a measurement inside the measurement window (1 Sep 2026 – 31 Mar 2027)"]
    assert blockers[pilot_measured] == []
    assert blockers[pilot_missed] == [
        "the exit contract's target: 22% measured on 20 Oct 2026, target 35%, baseline 18%"]
    assert blockers[pilot_young] == [
        "the minimum pilot of 30 days for a limited-risk initiative (10 days so far, "
        "until 22 Nov 2026)"]
    assert blockers[production] == ["Failure recovery (not started)"]
    assert blockers[lapsed] == ["IP and licensing review (waiver expired 1 Oct 2026)"]
    assert blockers[prohibited][0] == "a prohibited-risk initiative never leaves assessment"


# --- Query budget ---------------------------------------------------------------------------

@pytest.mark.parametrize("size", [5, 100])
def test_the_funding_line_costs_four_queries_whatever_the_size(team, reviewer, size,
                                                                django_assert_num_queries):
    other = TeamFactory(name="Data Platform", slug="data-platform")
    plan(team, 40)
    ranked = [initiative(team if n % 2 else other, 1 + n % 4, stage="pilot")
              for n in range(size)]
    checkpoints_sync(initiatives=ranked, actor=reviewer, now=FIXED_NOW)
    ranked = list(type(ranked[0]).objects.filter(pk__in=[i.pk for i in ranked]).order_by("pk"))

    # 1. the teams with their capacity for the quarter
    # 2. the funded initiatives' open checkpoints
    # 3. the contract evidence: the latest measurement in each pilot's window
    # 4. the contract overrides of the current stay in pilot or production
    with django_assert_num_queries(4):
        result = funding_line(year=YEAR, quarter=QUARTER, ranked=ranked, now=FIXED_NOW)
        blocked = [entry.blockers for line in result.teams for entry in line.entries]
    assert any(blocked)


def test_demand_by_team_is_one_query(team, django_assert_num_queries):
    quiet = TeamFactory(name="A quiet team", slug="quiet")
    plan(team, 10)
    for effort, stage in ((4, "pilot"), (6, "production"), (None, "assessment"), (50, "idea")):
        initiative(team, effort, stage=stage)

    with django_assert_num_queries(1):
        rows = demand_by_team(year=YEAR, quarter=QUARTER)

    assert [(r.team, r.capacity, r.demand, r.sized, r.unsized) for r in rows] == [
        (quiet, None, 0, 0, 0), (team, 10, 10, 2, 1)]
    assert rows[1].over_commitment == 0


def test_funding_line_for_quarter_uses_the_ranking(team):
    plan(team, 10)
    initiative(team, 8, reach=100, impact=1.0, confidence=100)   # RICE 12.5
    initiative(team, 5, reach=100, impact=1.0, confidence=100)   # RICE 20: first

    result = capacity.funding_line_for_quarter(year=YEAR, quarter=QUARTER, now=FIXED_NOW)

    line = result.teams[0]
    assert [(e.effort, e.status) for e in line.entries] in (
        [(5, FUNDED), (8, BELOW_LINE)],  # ranked by a RICE model
        [(8, FUNDED), (5, BELOW_LINE)],  # no active model: everything ties, oldest first
    )


# --- Quarters and the write -----------------------------------------------------------------

@pytest.mark.parametrize(("day", "expected"), [
    (date(2026, 1, 1), (2026, 1)), (date(2026, 3, 31), (2026, 1)),
    (date(2026, 4, 1), (2026, 2)), (date(2026, 12, 31), (2026, 4)),
    (FIXED_NOW, (2026, 4)),
])
def test_quarter_of(day, expected):
    assert quarter_of(day) == expected


def test_next_quarter_rolls_over_the_year():
    assert next_quarter(2026, 3) == (2026, 4)
    assert next_quarter(2026, 4) == (2027, 1)


def test_capacity_plan_set_creates_then_updates_and_records_who(team, pm, leader):
    created = capacity_plan_set(team=team, year=2026, quarter=4, engineer_weeks=40,
                                notes="Two contractors.", actor=pm, now=FIXED_NOW)
    later = FIXED_NOW + timedelta(days=3)
    updated = capacity_plan_set(team=team, year=2026, quarter=4, engineer_weeks="32.5",
                                actor=leader, now=later)

    assert updated.pk == created.pk
    updated.refresh_from_db()
    assert updated.engineer_weeks == Decimal("32.5")
    assert updated.notes == "Two contractors."  # kept when not given
    history = list(updated.history.order_by("history_date"))
    assert [(h.history_type, h.history_user, h.history_date, h.engineer_weeks)
            for h in history] == [("+", pm, FIXED_NOW, 40), ("~", leader, later,
                                                            Decimal("32.5"))]


def test_setting_the_same_plan_again_writes_nothing(team, pm):
    for _ in range(2):
        plan_ = capacity_plan_set(team=team, year=2026, quarter=4, engineer_weeks=40,
                                  actor=pm, now=FIXED_NOW)
    assert plan_.history.count() == 1


def test_create_only_refuses_a_quarter_already_planned_and_changes_nothing(team, pm):
    capacity_plan_set(team=team, year=2026, quarter=4, engineer_weeks=40, actor=pm,
                      now=FIXED_NOW)

    with pytest.raises(DomainError) as refused:
        capacity_plan_set(team=team, year=2026, quarter=4, engineer_weeks=9, actor=pm,
                          now=FIXED_NOW, create_only=True)

    assert refused.value.field == "quarter"
    assert CapacityPlan.objects.get().engineer_weeks == 40


@pytest.mark.parametrize(("changes", "field"), [
    ({"quarter": 0}, "quarter"), ({"quarter": 5}, "quarter"),
    ({"year": 1999}, "year"),
    ({"engineer_weeks": -1}, "engineer_weeks"), ({"engineer_weeks": "lots"}, "engineer_weeks"),
    ({"engineer_weeks": "1.25"}, "engineer_weeks"), ({"engineer_weeks": "NaN"}, "engineer_weeks"),
])
def test_capacity_plan_set_refuses_bad_values_naming_the_field(team, pm, changes, field):
    values = {"year": 2026, "quarter": 4, "engineer_weeks": 10, **changes}
    with pytest.raises(DomainError) as refused:
        capacity_plan_set(team=team, actor=pm, now=FIXED_NOW, **values)
    assert refused.value.field == field
    assert not CapacityPlan.objects.exists()


def test_quarter_of_an_aware_datetime_counts_in_the_current_time_zone(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    # 23:30 UTC on 31 March is already 1 April in Berlin: the second quarter.
    assert quarter_of(datetime(2026, 3, 31, 23, 30, tzinfo=UTC)) == (2026, 2)
