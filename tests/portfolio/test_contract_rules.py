"""The exit contract's rules (portfolio.outcomes): the production gate reads the latest
measurement inside the window against the target by its direction, and the risk tier's
minimum pilot; an override lifts one of those for the current stay in pilot only; a
contract that contradicts itself is refused; the funding line says what the gate says;
value reviews compare what was realised with the business case."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from governance.models import Checkpoint
from governance.services import checkpoints_sync, gate_blockers
from portfolio import services
from portfolio.exceptions import DomainError
from portfolio.models import Initiative, RetirementReason, Stage, StageTransition, ValueReview
from portfolio.outcomes import services as outcomes
from portfolio.outcomes.selectors import ledger_totals, value_ledger
from scoring.capacity import funding_line
from scoring.models import CapacityPlan
from tests.factories import (
    FIXED_NOW,
    InitiativeFactory,
    TeamFactory,
    UserFactory,
    approve_all_checkpoints,
    measure,
)

pytestmark = pytest.mark.django_db
TODAY = FIXED_NOW.date()  # Monday 2 November 2026
LONG_AGO = FIXED_NOW - timedelta(days=61)  # past every tier's minimum pilot
LOWER = {"success_metric": "Average handling time", "metric_unit": "min",
         "metric_direction": "lower", "baseline_value": Decimal("11.4"),
         "target_value": Decimal("8.0")}


def pilot(*, since=LONG_AGO, **fields) -> Initiative:
    """A contracted pilot ("higher is better": baseline 18%, target 35%, window 1 Sep 2026
    to 31 Mar 2027), without checkpoints, so only the contract can hold it back."""
    return InitiativeFactory(stage=Stage.PILOT, contracted=True, stage_changed_at=since,
                             **fields)


def blockers(initiative, *, now=FIXED_NOW) -> list[str]:
    initiative.refresh_from_db()
    return gate_blockers(initiative=initiative, to_stage=Stage.PRODUCTION, now=now)


def to_production(initiative, *, now=FIXED_NOW):
    initiative.refresh_from_db()
    return services.initiative_move_stage(initiative=initiative, to_stage=Stage.PRODUCTION,
                                          actor=initiative.owner, now=now)


def missed(text: str) -> str:
    return f"the exit contract's target: {text}"


# --- The target, by direction --------------------------------------------------------------------

@pytest.mark.parametrize(("value", "passes"), [
    (Decimal("35"), True), (Decimal("34.99"), False), (Decimal("60"), True)])
def test_higher_is_better_passes_at_the_target_and_not_just_below(value, passes):
    initiative = pilot()
    measure(initiative, value, on=date(2026, 10, 20))

    expected = [] if passes else [
        missed(f"{value}% measured on 20 Oct 2026, target 35%, baseline 18%")]
    assert blockers(initiative) == expected


@pytest.mark.parametrize(("value", "passes"), [
    (Decimal("8"), True), (Decimal("8.01"), False), (Decimal("5.5"), True)])
def test_lower_is_better_passes_at_the_target_and_not_just_above(value, passes):
    initiative = pilot(**LOWER)
    measure(initiative, value, on=date(2026, 10, 20))

    expected = [] if passes else [
        missed(f"{value} min measured on 20 Oct 2026, target 8 min, baseline 11.4 min")]
    assert blockers(initiative) == expected


def test_the_refusal_names_the_measurement_the_target_and_the_baseline(pm):
    initiative = pilot(owner=pm, baseline_value=Decimal(12), target_value=Decimal(40))
    measure(initiative, 22, on=date(2026, 10, 20))

    with pytest.raises(DomainError) as refused:
        to_production(initiative)

    assert "22% measured on 20 Oct 2026, target 40%, baseline 12%" in refused.value.message
    assert refused.value.message.startswith("Cannot enter Production yet: ")
    initiative.refresh_from_db()
    assert initiative.stage == Stage.PILOT


# --- The window ----------------------------------------------------------------------------------

WINDOW = {"window_start": date(2026, 9, 1), "window_end": date(2026, 10, 31)}
NO_MEASUREMENT = "a measurement inside the measurement window (1 Sep 2026 – 31 Oct 2026)"


@pytest.mark.parametrize("day", [date(2026, 8, 31), date(2026, 11, 1)])
def test_a_measurement_outside_the_window_does_not_count(day):
    initiative = pilot(**WINDOW)
    measure(initiative, 50, on=day)

    assert blockers(initiative) == [NO_MEASUREMENT]


@pytest.mark.parametrize("day", [date(2026, 9, 1), date(2026, 10, 31)])
def test_a_measurement_on_the_first_or_last_day_of_the_window_counts(day):
    initiative = pilot(**WINDOW)
    measure(initiative, 36, on=day)

    assert blockers(initiative) == []


def test_the_latest_measurement_in_the_window_is_read_an_earlier_good_one_does_not_rescue_it():
    initiative = pilot(**WINDOW)
    measure(initiative, 40, on=date(2026, 9, 15))   # met
    measure(initiative, 22, on=date(2026, 10, 20))  # the latest in the window: missed
    measure(initiative, 50, on=date(2026, 11, 1))   # after the window: does not count

    assert blockers(initiative) == [
        missed("22% measured on 20 Oct 2026, target 35%, baseline 18%")]
    with pytest.raises(DomainError):
        to_production(initiative)


# --- The minimum pilot ---------------------------------------------------------------------------

@pytest.mark.parametrize(("tier", "days"), [("minimal", 14), ("limited", 30), ("high", 60)])
def test_the_minimum_pilot_per_risk_tier_at_the_boundary(tier, days):
    short = pilot(risk_tier=tier, since=FIXED_NOW - timedelta(days=days - 1))
    enough = pilot(risk_tier=tier, since=FIXED_NOW - timedelta(days=days))
    for initiative in (short, enough):
        measure(initiative)
    until = TODAY + timedelta(days=1)

    assert blockers(short) == [
        f"the minimum pilot of {days} days for a {tier}-risk initiative "
        f"({days - 1} days so far, until {until:%-d %b %Y})"]
    with pytest.raises(DomainError, match="the minimum pilot"):
        to_production(short)
    to_production(enough)
    enough.refresh_from_db()
    assert enough.stage == Stage.PRODUCTION


def test_the_minimum_pilot_follows_the_settings(settings):
    settings.MIN_PILOT_DAYS = {"minimal": 7, "limited": 21, "high": 45}
    short = pilot(risk_tier="limited", since=FIXED_NOW - timedelta(days=20))
    enough = pilot(risk_tier="limited", since=FIXED_NOW - timedelta(days=21))
    for initiative in (short, enough):
        measure(initiative)

    assert blockers(short) == [
        "the minimum pilot of 21 days for a limited-risk initiative (20 days so far, "
        "until 3 Nov 2026)"]
    assert blockers(enough) == []


def test_a_pilot_that_started_yesterday_says_one_day():
    initiative = pilot(since=FIXED_NOW - timedelta(days=1))
    measure(initiative)

    assert "(1 day so far, until 15 Nov 2026)" in blockers(initiative)[0]


# --- Overrides -----------------------------------------------------------------------------------

@pytest.fixture
def sponsor(db):
    return UserFactory(username="the-sponsor", roles=["pm"])


def short_and_missed(sponsor) -> Initiative:
    initiative = pilot(since=FIXED_NOW - timedelta(days=5), sponsor=sponsor)
    measure(initiative, 22, on=date(2026, 10, 20))
    return initiative


def test_a_target_override_lifts_only_the_target(sponsor):
    initiative = short_and_missed(sponsor)

    outcomes.contract_override(initiative=initiative, kind="target_missed", actor=sponsor,
                               reason="The board accepts 22% for the first release.",
                               now=FIXED_NOW)

    assert [text.split(" (")[0] for text in blockers(initiative)] == [
        "the minimum pilot of 14 days for a minimal-risk initiative"]


def test_a_minimum_duration_override_lifts_only_the_duration(sponsor, leader):
    initiative = short_and_missed(sponsor)

    outcomes.contract_override(initiative=initiative, kind="pilot_too_short", actor=leader,
                               reason="The season starts next week.", now=FIXED_NOW)

    assert blockers(initiative) == [
        missed("22% measured on 20 Oct 2026, target 35%, baseline 18%")]
    outcomes.contract_override(initiative=initiative, kind="target_missed", actor=sponsor,
                               reason="Accepted.", now=FIXED_NOW)
    assert blockers(initiative) == []
    to_production(initiative)
    initiative.refresh_from_db()
    assert initiative.stage == Stage.PRODUCTION


def test_an_override_from_an_earlier_stay_in_pilot_does_not_count_after_re_entering(sponsor):
    initiative = pilot(sponsor=sponsor)
    measure(initiative, 22, on=date(2026, 10, 20))
    outcomes.contract_override(initiative=initiative, kind="target_missed", actor=sponsor,
                               reason="Accepted for now.", now=FIXED_NOW)
    assert blockers(initiative) == []

    services.initiative_move_stage(initiative=initiative, to_stage=Stage.ASSESSMENT,
                                   actor=initiative.owner, now=FIXED_NOW + timedelta(hours=1),
                                   note="Rework the retrieval.")
    initiative.refresh_from_db()
    services.initiative_move_stage(initiative=initiative, to_stage=Stage.PILOT,
                                   actor=initiative.owner, now=FIXED_NOW + timedelta(days=70))

    later = FIXED_NOW + timedelta(days=140)  # past the minimum of the new stay too
    assert blockers(initiative, now=later) == [
        missed("22% measured on 20 Oct 2026, target 35%, baseline 18%")]
    assert [b.kind for b in outcomes.overridable(initiative=initiative, now=later)] == [
        "target_missed"]


def test_the_gate_names_a_checkpoint_and_the_contract_in_one_message(sponsor, reviewer):
    initiative = short_and_missed(sponsor)
    checkpoints_sync(initiatives=[initiative], actor=initiative.owner, now=FIXED_NOW)
    approve_all_checkpoints(initiative, reviewer=reviewer)
    Checkpoint.objects.filter(initiative=initiative, type__code="observability").update(
        status="not_started", reviewer=None, decided_at=None)

    with pytest.raises(DomainError) as refused:
        to_production(initiative)

    message = refused.value.message
    assert message == (
        "Cannot enter Production yet: Observability and monitoring (not started); "
        + missed("22% measured on 20 Oct 2026, target 35%, baseline 18%; ")
        + "the minimum pilot of 14 days for a minimal-risk initiative (5 days so far, "
        "until 11 Nov 2026).")

    outcomes.contract_override(initiative=initiative, kind="target_missed", actor=sponsor,
                               reason="Accepted.", now=FIXED_NOW)
    with pytest.raises(DomainError) as refused:
        to_production(initiative)
    assert "Observability and monitoring (not started)" in refused.value.message
    assert "the minimum pilot of 14 days" in refused.value.message
    assert "target" not in refused.value.message


# --- A contract that contradicts itself ----------------------------------------------------------

CONTRADICTIONS = [
    ({"metric_direction": "higher", "baseline_value": Decimal(18),
      "target_value": Decimal(18)}, "target_value",
     "With “higher is better” the target must be above the baseline (18%)."),
    ({"metric_direction": "higher", "baseline_value": Decimal(18),
      "target_value": Decimal(10)}, "target_value",
     "With “higher is better” the target must be above the baseline (18%)."),
    ({"metric_direction": "lower", "baseline_value": Decimal("11.4"),
      "target_value": Decimal("11.4")}, "target_value",
     "With “lower is better” the target must be below the baseline (11.4%)."),
    ({"metric_direction": "lower", "baseline_value": Decimal("11.4"),
      "target_value": Decimal(12)}, "target_value",
     "With “lower is better” the target must be below the baseline (11.4%)."),
    ({"window_start": date(2026, 10, 1), "window_end": date(2026, 9, 30)}, "window_end",
     "The window must end on or after it starts (1 Oct 2026)."),
    ({"predicted_annual_value": Decimal(-1)}, "predicted_annual_value", "Enter zero or more."),
    ({"predicted_annual_run_cost": Decimal("-0.01")}, "predicted_annual_run_cost",
     "Enter zero or more."),
]


@pytest.mark.parametrize(("changes", "field", "message"), CONTRADICTIONS)
def test_an_edit_that_contradicts_the_contract_is_refused_and_changes_nothing(
        pm, changes, field, message):
    initiative = InitiativeFactory(owner=pm, contracted=True, stage=Stage.ASSESSMENT)
    before = Initiative.objects.values().get(pk=initiative.pk)

    with pytest.raises(DomainError) as refused:
        services.initiative_update(initiative=initiative, actor=pm, now=FIXED_NOW,
                                   expected_version=initiative.version, changes=changes)

    assert (refused.value.field, refused.value.message) == (field, message)
    assert Initiative.objects.values().get(pk=initiative.pk) == before


@pytest.mark.parametrize(("changes", "field", "message"), CONTRADICTIONS)
def test_a_new_initiative_whose_contract_contradicts_itself_is_refused(
        pm, changes, field, message):
    with pytest.raises(DomainError) as refused:
        services.initiative_create(actor=pm, now=FIXED_NOW, team=TeamFactory(),
                                   title="Claims copilot", metric_unit="%", **changes)

    assert (refused.value.field, refused.value.message) == (field, message)
    assert not Initiative.objects.filter(title="Claims copilot").exists()


# --- The funding line says what the gate says ----------------------------------------------------

def test_the_funding_line_marks_a_pilot_with_a_missed_target_funded_but_blocked_as_the_gate_does():
    team = TeamFactory(name="Claims", slug="claims")
    CapacityPlan.objects.create(team=team, year=2026, quarter=4, engineer_weeks=Decimal(20))
    short_of_target = pilot(team=team, effort_weeks=Decimal(4))
    measure(short_of_target, 22, on=date(2026, 10, 20))
    met = pilot(team=team, effort_weeks=Decimal(4))
    measure(met, 36, on=date(2026, 10, 20))

    line = funding_line(year=2026, quarter=4, ranked=[short_of_target, met], now=FIXED_NOW)

    [entry_missed, entry_met] = line.teams[0].entries
    assert entry_missed.funded_but_blocked
    assert entry_missed.blockers == blockers(short_of_target) == [
        missed("22% measured on 20 Oct 2026, target 35%, baseline 18%")]
    assert entry_met.funded
    assert not entry_met.funded_but_blocked


# --- Value: estimate accuracy, value at risk, the decision ---------------------------------------

def in_production(team, *, predicted, title, since=FIXED_NOW - timedelta(days=40)):
    initiative = InitiativeFactory(team=team, title=title, stage=Stage.PRODUCTION,
                                   contracted=True, stage_changed_at=since,
                                   predicted_annual_value=Decimal(predicted))
    StageTransition.objects.create(initiative=initiative, from_stage=Stage.PILOT,
                                   to_stage=Stage.PRODUCTION, actor=initiative.owner, at=since)
    return initiative


def review(initiative, *, realised=None, run_cost=None, days=30):
    since = initiative.stage_changed_at
    recorded = {} if realised is None else {
        "realised_value": Decimal(realised), "run_cost": Decimal(run_cost or 0),
        "recorded_by": initiative.owner, "recorded_at": FIXED_NOW}
    return ValueReview.objects.create(initiative=initiative, production_since=since, days=days,
                                      due_on=since.date() + timedelta(days=days),
                                      scheduled_at=since, scheduled_run="test", **recorded)


def test_estimate_accuracy_compares_the_reviewed_with_their_own_predictions():
    a, b = TeamFactory(name="Team A", slug="team-a"), TeamFactory(name="Team B", slug="team-b")
    review(in_production(a, predicted=100_000, title="A1"), realised=50_000, run_cost=10_000)
    review(in_production(a, predicted=200_000, title="A2"), realised=150_000, run_cost=20_000)
    review(in_production(a, predicted=300_000, title="A3 not yet reviewed"))  # pending
    review(in_production(b, predicted=80_000, title="B1"), realised=100_000, run_cost=5_000)
    InitiativeFactory(team=a, title="Never in production", predicted_annual_value=Decimal(1))

    rows = value_ledger()
    totals = {total.key: total for total in ledger_totals(rows, key=lambda row: row.team)}

    assert sorted(row.title for row in rows) == ["A1", "A2", "A3 not yet reviewed", "B1"]
    team_a = totals["Team A"]
    assert (team_a.initiatives, team_a.reviewed) == (3, 2)
    assert team_a.predicted_value == Decimal(600_000)  # the unreviewed one counts here
    assert team_a.realised_value == Decimal(200_000)
    assert team_a.run_cost == Decimal(30_000)
    assert team_a.accuracy == Decimal(200_000) / Decimal(300_000)  # not / 600,000
    assert totals["Team B"].accuracy == Decimal("1.25")
    by_title = {row.title: row for row in rows}
    assert by_title["A1"].accuracy == Decimal("0.5")
    assert by_title["A3 not yet reviewed"].accuracy is None


@pytest.mark.parametrize(("realised", "run_cost", "at_risk", "suggested"), [
    ("120000", "10000", False, ""),              # exactly 50% of 240,000: not at risk
    ("119999.99", "10000", True, "fix"),         # just below; costs less than predicted
    ("100000", "50000", True, "scale_back"),     # costs more to run than the 40,000 predicted
    ("50000", "50000", True, "retire"),          # costs what it returns
    ("30000", "60000", True, "retire"),          # costs more than it returns
])
def test_a_recorded_value_review_is_at_risk_below_the_share_of_the_prediction(
        realised, run_cost, at_risk, suggested):
    initiative = in_production(TeamFactory(), predicted=240_000, title="Claims copilot")
    pending = review(initiative)

    recorded = outcomes.value_review_record(
        review=pending, realised_value=Decimal(realised), run_cost=Decimal(run_cost),
        actor=initiative.owner, now=FIXED_NOW)

    assert (recorded.at_risk, recorded.suggested_decision) == (at_risk, suggested)


def test_value_at_risk_follows_the_percentage_setting(settings):
    settings.VALUE_AT_RISK_PERCENT = 80
    initiative = in_production(TeamFactory(), predicted=100_000, title="Claims copilot")

    recorded = outcomes.value_review_record(
        review=review(initiative), realised_value=Decimal("79999"), run_cost=Decimal(1000),
        actor=initiative.owner, now=FIXED_NOW)
    assert recorded.at_risk

    initiative = in_production(TeamFactory(), predicted=100_000, title="Spend forecaster")
    recorded = outcomes.value_review_record(
        review=review(initiative), realised_value=Decimal("80000"), run_cost=Decimal(1000),
        actor=initiative.owner, now=FIXED_NOW)
    assert not recorded.at_risk


def test_deciding_to_retire_retires_it_as_value_not_proven():
    initiative = in_production(TeamFactory(), predicted=240_000, title="Claims copilot")
    recorded = outcomes.value_review_record(
        review=review(initiative), realised_value=Decimal(30_000), run_cost=Decimal(60_000),
        actor=initiative.owner, now=FIXED_NOW)

    decided = outcomes.value_decide(
        review=recorded, decision="retire", actor=initiative.owner,
        now=FIXED_NOW + timedelta(hours=1), note="It costs more than it returns.",
        retirement_lessons="Agree the volume with operations before building.")

    initiative.refresh_from_db()
    assert (initiative.stage, initiative.retirement_reason) == (
        Stage.RETIRED, RetirementReason.VALUE_NOT_PROVEN)
    assert decided.decision == "retire"
    assert StageTransition.objects.filter(initiative=initiative,
                                          to_stage=Stage.RETIRED).count() == 1
