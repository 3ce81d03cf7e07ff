"""Capacity plans and the funding line, funded but blocked."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from governance.models import Checkpoint
from governance.services import checkpoints_sync, gate_blockers
from portfolio.exceptions import DomainError
from portfolio.models import Initiative, Team
from scoring import capacity
from scoring.capacity import (
    BELOW_LINE,
    COMMITTED,
    FUNDED,
    NO_PLAN,
    UNSIZED,
    capacity_plan_set,
    demand_by_team,
    funding_line,
    funding_walk,
    next_quarter,
    parse_quarter,
    plan_quarters,
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
    # demand = 8 + 15 + 5 + 10 + 2 = 40; a candidate is funded only when it fits, so
    # nothing funded is beyond capacity: over-commitment 0
    assert statuses(line) == [(8, FUNDED), (15, BELOW_LINE), (5, FUNDED), (10, BELOW_LINE),
                              (2, FUNDED)]
    assert line.capacity == 20
    assert line.funded_effort == 15
    assert line.remaining == 5
    assert line.utilisation == Decimal("0.75")
    assert line.utilisation_percent == 75
    assert line.demand == 40
    assert line.over_commitment == 0
    assert not line.over_committed
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


def test_demand_and_the_line_leave_out_paused_and_retired_work(team):
    plan(team, 14)
    candidates = [initiative(team, effort, stage=stage)
                  for effort, stage in ((2, "idea"), (4, "assessment"))]
    committed = [initiative(team, 4, stage=stage) for stage in ("pilot", "production",
                                                                 "scaled")]
    paused = initiative(team, 30, stage="paused")
    retired = initiative(team, 30, stage="retired", retirement_reason="cost")

    line = line_of(team, [paused, retired, *candidates, *committed])

    # Committed first (3 x 4 = 12 of 14, 2 left), then the candidates in rank order: the
    # idea's 2 fits (0 left), the assessment's 4 does not. Paused and retired: not listed.
    assert [entry.initiative for entry in line.entries] == [*committed, *candidates]
    assert statuses(line) == [(4, COMMITTED), (4, COMMITTED), (4, COMMITTED), (2, FUNDED),
                              (4, BELOW_LINE)]
    assert line.demand == 18
    assert line.funded_effort == 14
    assert line.over_commitment == 0


def test_unsized_initiatives_are_listed_but_neither_count_nor_use_capacity(team):
    plan(team, 10)
    unsized, sized = initiative(team, None), initiative(team, 10)

    line = line_of(team, [unsized, sized])

    assert statuses(line) == [(None, UNSIZED), (10, FUNDED)]
    assert line.demand == 10
    assert line.over_commitment == 0
    assert line.utilisation_percent == 100


def test_a_team_without_a_plan_funds_no_candidate_and_its_committed_work_is_all_over(team):
    plan(team, 50, quarter=3)  # another quarter's plan does not count
    ranked = [initiative(team, 3), initiative(team, None), initiative(team, 5, stage="pilot")]

    line = line_of(team, ranked)

    assert not line.has_plan
    assert statuses(line) == [(5, COMMITTED), (3, NO_PLAN), (None, UNSIZED)]
    assert line.entries[1].reason == "no capacity plan"
    assert line.entries[1].label == "no capacity plan"
    assert line.capacity is None
    assert line.utilisation is None
    assert line.funded_effort == 5
    assert line.over_commitment == 5  # committed, with nothing planned to build it


def test_zero_capacity_funds_nothing(team):
    plan(team, 0)
    line = line_of(team, [initiative(team, 2), initiative(team, 1)])

    assert statuses(line) == [(2, BELOW_LINE), (1, BELOW_LINE)]
    assert line.utilisation is None  # nothing to divide by
    assert line.over_commitment == 0  # nothing funded


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


# --- The multi-quarter walk, pure (``funding_walk``: no database) ---------------------------

Q4, Q1, Q2, Q3 = (2026, 4), (2027, 1), (2027, 2), (2027, 3)
PLANNED = [Q4, Q1, Q2, Q3]  # plan_quarters(FIXED_NOW)


class Walk:
    """Unsaved teams and initiatives, ranked in the order they are made."""

    def __init__(self):
        self.ranked: list[Initiative] = []
        self.teams: list[Team] = []

    def team(self, name: str) -> Team:
        made = Team(pk=len(self.teams) + 1, name=name, slug=name.lower())
        self.teams.append(made)
        return made

    def add(self, team: Team, effort, stage: str = "assessment") -> Initiative:
        made = Initiative(pk=len(self.ranked) + 1, team_id=team.pk, stage=stage,
                          title=f"#{len(self.ranked) + 1}",
                          effort_weeks=None if effort is None else Decimal(effort))
        self.ranked.append(made)
        return made

    def run(self, capacities: dict, *, quarters=PLANNED, **pins) -> list:
        plans = {quarter: {team.pk: Decimal(weeks) for team, weeks in by_team.items()}
                 for quarter, by_team in capacities.items()}
        return funding_walk(ranked=self.ranked, teams=self.teams, quarters=quarters,
                            capacities=plans, **pins)


def walked(line) -> list[tuple]:
    """(initiative, status) of a team line, in the order the walk listed them."""
    return [(entry.initiative.title, entry.status) for entry in line.entries]


def test_committed_work_counts_first_whatever_the_capacity_and_the_excess_is_over_commitment():
    w = Walk()
    ops = w.team("Ops")
    w.add(ops, 5)                              # #1 the best-ranked: a candidate
    w.add(ops, 12, "pilot")                    # #2
    w.add(ops, 10, "production")               # #3
    w.add(ops, 4, "scaled")                    # #4
    w.add(ops, 3, "idea")                      # #5

    line = w.run({Q4: {ops: 20}}, quarters=[Q4])[0].teams[0]

    # Committed, in rank order: 12 + 10 + 4 = 26 against 20 -> 6 over, nothing left;
    # then the candidates: 5 > 0 below, 3 > 0 below.
    assert walked(line) == [("#2", COMMITTED), ("#3", COMMITTED), ("#4", COMMITTED),
                            ("#1", BELOW_LINE), ("#5", BELOW_LINE)]
    assert line.committed_effort == 26
    assert line.funded_effort == 26
    assert line.remaining == -6
    assert line.over_commitment == 6
    assert line.over_committed
    assert line.utilisation_percent == 130
    assert line.demand == 34
    assert line.entries[3].reason == "needs 5 engineer-weeks; 0 left when its turn came"
    assert [entry.label for entry in line.entries[2:4]] == ["committed", "below the line"]


def test_candidates_take_what_committed_work_leaves_in_rank_order_skipping_what_does_not_fit():
    w = Walk()
    ops = w.team("Ops")
    w.add(ops, 8)                              # #1
    w.add(ops, 15, "idea")                     # #2
    w.add(ops, 10, "pilot")                    # #3
    w.add(ops, 5)                              # #4
    w.add(ops, 10)                             # #5
    w.add(ops, 2, "idea")                      # #6

    line = w.run({Q4: {ops: 30}}, quarters=[Q4])[0].teams[0]

    # 30 - 10 committed = 20; 8 fits (12 left); 15 > 12 below; 5 fits (7 left);
    # 10 > 7 below; 2 fits (5 left). Funded 10 + 8 + 5 + 2 = 25 of 30: 83 %.
    assert walked(line) == [("#3", COMMITTED), ("#1", FUNDED), ("#2", BELOW_LINE),
                            ("#4", FUNDED), ("#5", BELOW_LINE), ("#6", FUNDED)]
    assert (line.committed_effort, line.funded_effort, line.remaining) == (10, 25, 5)
    assert line.utilisation_percent == 83
    assert line.over_commitment == 0
    assert line.entries[2].reason == "needs 15 engineer-weeks; 12 left when its turn came"
    assert line.entries[4].reason == "needs 10 engineer-weeks; 7 left when its turn came"
    assert [entry.label for entry in line.entries[:2]] == ["committed", "fund next"]


def test_without_an_estimate_a_candidate_is_unsized_and_committed_work_counts_nothing():
    w = Walk()
    ops = w.team("Ops")
    w.add(ops, None)                           # #1 candidate, unsized
    w.add(ops, None, "production")             # #2 committed, unsized
    w.add(ops, 4)                              # #3

    line = w.run({Q4: {ops: 4}}, quarters=[Q4])[0].teams[0]

    assert walked(line) == [("#2", COMMITTED), ("#1", UNSIZED), ("#3", FUNDED)]
    assert [entry.reason for entry in line.entries] == ["no effort estimate",
                                                        "no effort estimate", ""]
    assert (line.funded_effort, line.remaining, line.demand) == (4, 0, 4)


def test_a_quarter_without_a_plan_leaves_every_candidate_unfunded_and_committed_work_over():
    w = Walk()
    ops, quiet, idle = w.team("Ops"), w.team("Quiet"), w.team("Idle")
    w.add(ops, 6, "pilot")                     # #1
    w.add(ops, 3)                              # #2
    w.add(ops, None, "idea")                   # #3

    q4, q1 = w.run({Q4: {ops: 10, quiet: 5}}, quarters=[Q4, Q1])

    # Q4: 6 committed, 3 fits. Q1 has no plan: #2 (funded in Q4) is committed now, and
    # everything committed is beyond the nothing planned.
    assert walked(q4.team(ops.pk)) == [("#1", COMMITTED), ("#2", FUNDED), ("#3", UNSIZED)]
    line = q1.team(ops.pk)
    assert walked(line) == [("#1", COMMITTED), ("#2", COMMITTED), ("#3", UNSIZED)]
    assert (line.capacity, line.remaining, line.utilisation) == (None, None, None)
    assert line.over_commitment == 9
    # A team with a plan and no work shows its headroom; one with neither is not listed.
    assert [t.team for t in q4.teams] == [ops, quiet]
    assert (q4.team(quiet.pk).utilisation_percent, q4.team(quiet.pk).remaining) == (0, 5)
    assert q1.team(quiet.pk) is None
    assert q4.team(idle.pk) is None


def test_a_candidate_with_no_plan_for_the_quarter_says_so():
    w = Walk()
    ops = w.team("Ops")
    w.add(ops, 3)

    (line,) = w.run({Q4: {}}, quarters=[Q4])[0].teams

    assert walked(line) == [("#1", NO_PLAN)]
    assert (line.entries[0].reason, line.entries[0].label) == ("no capacity plan",
                                                               "no capacity plan")
    assert line.over_commitment == 0


def test_a_candidate_funded_in_one_quarter_is_committed_in_the_next_and_leaves_less_room():
    w = Walk()
    ops = w.team("Ops")
    w.add(ops, 5)                              # #1 candidate
    w.add(ops, 4, "pilot")                     # #2 committed
    w.add(ops, 6, "idea")                      # #3 candidate

    lines = w.run({Q4: {ops: 10}, Q1: {ops: 10}, Q2: {ops: 20}, Q3: {ops: 12}})

    assert [line.label for line in lines] == ["2026-Q4", "2027-Q1", "2027-Q2", "2027-Q3"]
    q4, q1, q2, q3 = (line.teams[0] for line in lines)
    # Q4: 4 committed (6 left); #1's 5 fits (1 left); #3's 6 does not.
    assert walked(q4) == [("#2", COMMITTED), ("#1", FUNDED), ("#3", BELOW_LINE)]
    assert q4.remaining == 1
    # Q1, the same 10: #1 is committed now (funded in Q4), in rank order with the pilot:
    # 5 + 4 = 9 committed, 1 left, so #3 stays below.
    assert walked(q1) == [("#1", COMMITTED), ("#2", COMMITTED), ("#3", BELOW_LINE)]
    assert [entry.funded_in for entry in q1.entries] == ["2026-Q4", "", ""]
    assert (q1.committed_effort, q1.remaining) == (9, 1)
    assert q1.entries[2].reason == "needs 6 engineer-weeks; 1 left when its turn came"
    # Q2 has 20: 9 committed, #3 fits (5 left).
    assert walked(q2) == [("#1", COMMITTED), ("#2", COMMITTED), ("#3", FUNDED)]
    assert q2.remaining == 5
    # Q3 has 12: everything funded before is committed, 15 > 12: 3 over.
    assert walked(q3) == [("#1", COMMITTED), ("#2", COMMITTED), ("#3", COMMITTED)]
    assert [entry.funded_in for entry in q3.entries] == ["2026-Q4", "", "2027-Q2"]
    assert (q3.committed_effort, q3.over_commitment) == (15, 3)


def test_each_team_walks_its_own_capacity_in_each_quarter():
    w = Walk()
    ops, data = w.team("Ops"), w.team("Data")
    w.add(ops, 8)                              # #1
    w.add(data, 8)                             # #2
    w.add(ops, 8)                              # #3

    q4, q1 = w.run({Q4: {ops: 10, data: 5}, Q1: {ops: 20, data: 10}}, quarters=[Q4, Q1])

    assert walked(q4.team(ops.pk)) == [("#1", FUNDED), ("#3", BELOW_LINE)]
    assert walked(q4.team(data.pk)) == [("#2", BELOW_LINE)]
    assert walked(q1.team(ops.pk)) == [("#1", COMMITTED), ("#3", FUNDED)]
    assert walked(q1.team(data.pk)) == [("#2", FUNDED)]


def test_paused_and_retired_initiatives_draw_nothing_in_any_quarter():
    w = Walk()
    ops = w.team("Ops")
    paused = w.add(ops, 30, "paused")
    retired = w.add(ops, 30, "retired")
    w.add(ops, 2)

    lines = w.run({quarter: {ops: 2} for quarter in PLANNED})

    for line in lines:
        assert walked(line.teams[0]) == [("#3", COMMITTED if line.label != "2026-Q4"
                                          else FUNDED)]
        assert line.entry_for(paused.pk) is None
        assert line.entry_for(retired.pk) is None
        assert line.teams[0].demand == 2


def test_pinned_out_initiatives_free_their_capacity_in_every_quarter():
    w = Walk()
    ops = w.team("Ops")
    out = w.add(ops, 8)                        # #1
    w.add(ops, 6)                              # #2
    w.add(ops, 3)                              # #3

    plain = w.run({Q4: {ops: 10}}, quarters=[Q4])[0].teams[0]
    q4, q1 = (line.teams[0] for line in w.run({Q4: {ops: 10}, Q1: {ops: 10}},
                                                quarters=[Q4, Q1], pinned_out=[out.pk]))

    # As ranked: 8 fits (2 left), 6 and 3 do not.
    assert walked(plain) == [("#1", FUNDED), ("#2", BELOW_LINE), ("#3", BELOW_LINE)]
    # #1 out: 6 fits (4 left), 3 fits (1 left); #1 listed last, below the line, in Q1 too.
    assert walked(q4) == [("#2", FUNDED), ("#3", FUNDED), ("#1", BELOW_LINE)]
    assert (q4.entries[2].reason, q4.entries[2].pinned) == ("pinned out by the scenario",
                                                            "out")
    assert walked(q1) == [("#2", COMMITTED), ("#3", COMMITTED), ("#1", BELOW_LINE)]
    assert q1.entries[2].pinned == "out"


def test_pinned_in_candidates_are_funded_ahead_of_the_others_even_beyond_capacity():
    w = Walk()
    ops = w.team("Ops")
    w.add(ops, 8)                              # #1
    w.add(ops, 6)                              # #2
    pinned = w.add(ops, 3)                     # #3
    w.add(ops, 4, "pilot")                     # #4

    q4, q1 = (line.teams[0] for line in w.run({Q4: {ops: 12}, Q1: {ops: 5}},
                                                quarters=[Q4, Q1], pinned_in=[pinned.pk]))

    # Q4: 4 committed (8 left), then #3 pinned in (5 left): 8 > 5 below, 6 > 5 below.
    assert walked(q4) == [("#4", COMMITTED), ("#3", FUNDED), ("#1", BELOW_LINE),
                          ("#2", BELOW_LINE)]
    assert (q4.entries[1].reason, q4.entries[1].pinned) == ("pinned in by the scenario", "in")
    assert q4.entries[2].reason == "needs 8 engineer-weeks; 5 left when its turn came"
    # Q1: #3 was funded in Q4, so it is committed: 3 + 4 = 7 against 5, 2 over.
    assert walked(q1) == [("#3", COMMITTED), ("#4", COMMITTED), ("#1", BELOW_LINE),
                          ("#2", BELOW_LINE)]
    assert q1.entries[0].funded_in == "2026-Q4"
    assert q1.over_commitment == 2


def test_a_candidate_pinned_in_is_funded_even_when_it_does_not_fit():
    w = Walk()
    ops = w.team("Ops")
    w.add(ops, 4, "pilot")
    pinned = w.add(ops, 3)

    line = w.run({Q4: {ops: 5}}, quarters=[Q4], pinned_in=[pinned.pk])[0].teams[0]

    assert walked(line) == [("#1", COMMITTED), ("#2", FUNDED)]
    assert (line.funded_effort, line.remaining, line.over_commitment) == (7, -2, 2)


@pytest.mark.django_db
def test_the_walk_itself_makes_no_query(django_assert_num_queries):
    w = Walk()
    ops = w.team("Ops")
    for effort in (3, 4, 5):
        w.add(ops, effort)

    with django_assert_num_queries(0):
        w.run({quarter: {ops: 6} for quarter in PLANNED})


# --- Which quarters a plan looks at -----------------------------------------------------------

@pytest.mark.parametrize(("now", "expected"), [
    (FIXED_NOW, [(2026, 4), (2027, 1), (2027, 2), (2027, 3)]),   # Q4 rolls into next year
    (date(2026, 1, 1), [(2026, 1), (2026, 2), (2026, 3), (2026, 4)]),
    (date(2026, 9, 30), [(2026, 3), (2026, 4), (2027, 1), (2027, 2)]),
])
def test_plan_quarters_are_this_one_and_the_next_three(now, expected):
    assert plan_quarters(now) == expected


def test_plan_quarters_can_look_further():
    assert plan_quarters(FIXED_NOW, count=1) == [(2026, 4)]
    assert plan_quarters(FIXED_NOW, count=6)[-2:] == [(2027, 4), (2028, 1)]


@pytest.mark.parametrize(("text", "expected"), [
    ("2027-Q1", (2027, 1)), (" 2027-q3 ", (2027, 3)), ("2026-Q4", (2026, 4)),
    ("", (2026, 4)), (None, (2026, 4)),  # nothing chosen: this quarter
])
def test_parse_quarter_reads_a_planned_quarter(text, expected):
    assert parse_quarter(text, now=FIXED_NOW) == expected


@pytest.mark.parametrize("text", ["2027Q1", "Q1-2027", "27-Q1", "2027-Q10", "2027-Q",
                                  "next", "2027-Q1; drop table"])
def test_parse_quarter_refuses_text_that_is_not_a_quarter_naming_the_field(text):
    with pytest.raises(DomainError) as refused:
        parse_quarter(text, now=FIXED_NOW)
    assert refused.value.field == "quarter"
    assert refused.value.message == "Write the quarter as 2027-Q1."


@pytest.mark.parametrize("text", ["2026-Q3", "2027-Q4", "2027-Q5", "2027-Q0", "1999-Q1"])
def test_parse_quarter_refuses_a_quarter_outside_the_plan_naming_the_field(text):
    with pytest.raises(DomainError) as refused:
        parse_quarter(text, now=FIXED_NOW)
    assert refused.value.field == "quarter"
    assert refused.value.message == "Choose this quarter or one of the next three."


def test_funding_line_refuses_a_quarter_gone_by(team):
    with pytest.raises(DomainError) as refused:
        funding_line(year=2026, quarter=3, ranked=[], now=FIXED_NOW)
    assert refused.value.field == "quarter"


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
def test_the_funding_line_costs_five_queries_whatever_the_size(team, reviewer, size,
                                                                django_assert_num_queries):
    other = TeamFactory(name="Data Platform", slug="data-platform")
    plan(team, 40)
    ranked = [initiative(team if n % 2 else other, 1 + n % 4, stage="pilot")
              for n in range(size)]
    checkpoints_sync(initiatives=ranked, actor=reviewer, now=FIXED_NOW)
    ranked = list(type(ranked[0]).objects.filter(pk__in=[i.pk for i in ranked]).order_by("pk"))

    # 1. the capacity plans of the quarters walked
    # 2. the teams
    # 3. the funded initiatives' open checkpoints
    # 4. the contract evidence: the latest measurement in each pilot's window
    # 5. the contract overrides of the current stay in pilot or production
    with django_assert_num_queries(5):
        result = funding_line(year=YEAR, quarter=QUARTER, ranked=ranked, now=FIXED_NOW)
        blocked = [entry.blockers for line in result.teams for entry in line.entries]
    assert any(blocked)


def test_demand_by_team_is_one_query(team, django_assert_num_queries):
    quiet = TeamFactory(name="A quiet team", slug="quiet")
    plan(team, 10)
    for effort, stage in ((4, "pilot"), (6, "production"), (None, "scaled"),
                          (None, "assessment"), (50, "idea"), (9, "paused")):
        initiative(team, effort, stage=stage)

    with django_assert_num_queries(1):
        rows = demand_by_team(year=YEAR, quarter=QUARTER)

    # Committed work only (pilot 4 + production 6; the scaled one is unsized): the
    # assessment and the idea are candidates, the paused one draws nothing.
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
