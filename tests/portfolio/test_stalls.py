"""Stalled pilots: the daily detection and the decision a stall demands."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import require_postgresql
from portfolio.exceptions import DomainError
from portfolio.models import Activity, Stage, StallFlag
from portfolio.pilots.services import (
    EXTEND_DATE_IN_PAST,
    EXTEND_NEEDS_JUSTIFICATION,
    current_reason_sql,
    stall_decide,
    stall_reason,
    stalls_detect,
    stalls_due,
)
from portfolio.services import initiative_move_stage, update_post
from tests.factories import (
    FIXED_NOW,
    InitiativeFactory,
    UserFactory,
    approve_all_checkpoints,
    measure,
)

pytestmark = pytest.mark.django_db

NOW = FIXED_NOW


def pilot(*, days_in_pilot=10, days_idle=1, **fields):
    return InitiativeFactory(stage=Stage.PILOT, contracted=True,
                             stage_changed_at=NOW - timedelta(days=days_in_pilot),
                             last_activity_at=NOW - timedelta(days=days_idle), **fields)


def open_flag(initiative):
    return StallFlag.objects.open().get(initiative=initiative)


def test_a_pilot_too_long_in_pilot_or_idle_too_long_is_flagged_with_the_reason():
    too_long = pilot(days_in_pilot=91)
    idle = pilot(days_idle=22)
    both = pilot(days_in_pilot=120, days_idle=30)
    fresh = pilot(days_in_pilot=89, days_idle=20)
    not_a_pilot = InitiativeFactory(stage=Stage.ASSESSMENT,
                                    stage_changed_at=NOW - timedelta(days=200),
                                    last_activity_at=NOW - timedelta(days=200))

    result = stalls_detect(now=NOW)

    assert result.flagged == 3
    assert open_flag(too_long).reason == "too_long"
    assert open_flag(idle).reason == "idle"
    assert open_flag(both).reason == "too_long_and_idle"
    assert not StallFlag.objects.filter(initiative__in=[fresh, not_a_pilot]).exists()
    flagged = Activity.objects.filter(kind=Activity.Kind.STALL_FLAGGED)
    assert sorted(flagged.values_list("initiative_id", flat=True)) == sorted(
        [too_long.pk, idle.pk, both.pk])


def test_the_thresholds_come_from_settings(settings):
    settings.PILOT_MAX_DAYS, settings.PILOT_IDLE_DAYS = 30, 7
    stalled = pilot(days_in_pilot=31)

    stalls_detect(now=NOW)

    assert open_flag(stalled).reason == "too_long"


def test_running_detection_again_flags_nothing_more():
    stalled = pilot(days_in_pilot=100)
    stalls_detect(now=NOW)

    again = stalls_detect(now=NOW + timedelta(days=1))

    assert again.flagged == 0
    assert StallFlag.objects.filter(initiative=stalled).count() == 1
    assert Activity.objects.filter(kind=Activity.Kind.STALL_FLAGGED).count() == 1


def test_a_flag_resolves_itself_when_the_pilot_moves(reviewer):
    stalled = pilot(days_in_pilot=100)
    stalls_detect(now=NOW)
    approve_all_checkpoints(stalled, reviewer=reviewer)
    measure(stalled)  # meets the target inside the window

    initiative_move_stage(initiative=stalled, to_stage=Stage.PRODUCTION, actor=stalled.owner,
                          now=NOW + timedelta(hours=1))

    flag = StallFlag.objects.get(initiative=stalled)
    assert flag.resolution == "moved"
    assert flag.resolved_at == NOW + timedelta(hours=1)


def test_an_idle_pilot_that_shows_activity_is_no_longer_stalled():
    idle = pilot(days_idle=25)
    stalls_detect(now=NOW)
    update_post(initiative=idle, author=idle.owner, body="Back on it.", health="on_track",
                now=NOW + timedelta(days=1))

    result = stalls_detect(now=NOW + timedelta(days=1, hours=1))

    assert result.resolved == 1
    assert StallFlag.objects.get(initiative=idle).resolution == "active"


def test_activity_does_not_unstall_a_pilot_that_has_been_in_pilot_too_long():
    """Only moving or deciding ends a too-long stall: an update a week must not hide it."""
    old = pilot(days_in_pilot=100)
    stalls_detect(now=NOW)
    update_post(initiative=old, author=old.owner, body="Still going.", health="on_track",
                now=NOW + timedelta(days=1))

    result = stalls_detect(now=NOW + timedelta(days=2))

    assert result.resolved == 0
    assert open_flag(old).reason == "too_long"


def test_an_undecided_stall_escalates_to_the_sponsor_after_the_configured_weeks(settings):
    settings.STALL_ESCALATE_WEEKS = 2
    sponsor = UserFactory(username="the-sponsor")
    stalled = pilot(days_in_pilot=100, sponsor=sponsor)
    stalls_detect(now=NOW)

    assert stalls_detect(now=NOW + timedelta(days=13)).escalated == 0
    assert stalls_detect(now=NOW + timedelta(days=14)).escalated == 1
    assert stalls_detect(now=NOW + timedelta(days=21)).escalated == 0

    assert open_flag(stalled).escalated_at == NOW + timedelta(days=14)
    assert Activity.objects.filter(initiative=stalled,
                                   kind=Activity.Kind.STALL_ESCALATED).count() == 1


def test_a_decided_stall_does_not_escalate(settings, reviewer):
    sponsor = UserFactory(username="the-sponsor")
    stalled = pilot(days_in_pilot=100, sponsor=sponsor)
    stalls_detect(now=NOW)
    stall_decide(flag=open_flag(stalled), decision="scale", actor=stalled.owner,
                 now=NOW + timedelta(days=1))  # the gate blocks: decided, still open

    assert stalls_detect(now=NOW + timedelta(weeks=6)).escalated == 0


def test_extend_records_the_justification_and_silences_the_pilot_until_the_new_date():
    stalled = pilot(days_in_pilot=100)
    stalls_detect(now=NOW)
    until = date(2026, 12, 15)

    flag = stall_decide(flag=open_flag(stalled), decision="extend", actor=stalled.owner,
                        now=NOW, note="Waiting for the Q4 data refresh.", extend_until=until)

    assert (flag.resolution, flag.extended_until, flag.decided_by) == (
        "extended", until, stalled.owner)
    stalled.refresh_from_db()
    assert stalled.decision_date == until  # the exit contract's date moves with it
    assert stalls_detect(now=NOW + timedelta(days=20)).flagged == 0  # still before the date
    assert stalls_detect(now=NOW + timedelta(days=43)).flagged == 1  # 14 Dec: due again
    assert StallFlag.objects.open().get(initiative=stalled).flagged_at == NOW + timedelta(days=43)


@pytest.mark.parametrize(("note", "until", "field", "message"), [
    ("", date(2026, 12, 15), "note", EXTEND_NEEDS_JUSTIFICATION),
    ("Because.", date(2026, 11, 2), "extend_until", EXTEND_DATE_IN_PAST),
    ("Because.", date(2027, 12, 1), "extend_until", None),
])
def test_a_bad_extension_is_refused_on_its_field_and_changes_nothing(note, until, field,
                                                                     message):
    stalled = pilot(days_in_pilot=100)
    stalls_detect(now=NOW)

    with pytest.raises(DomainError) as refused:
        stall_decide(flag=open_flag(stalled), decision="extend", actor=stalled.owner, now=NOW,
                     note=note, extend_until=until)

    assert refused.value.field == field
    if message:
        assert refused.value.message == message
    assert open_flag(stalled).decision == ""
    stalled.refresh_from_db()
    assert stalled.decision_date == date(2027, 3, 31)


def test_kill_retires_the_pilot_with_its_kill_log_reason():
    stalled = pilot(days_in_pilot=100)
    stalls_detect(now=NOW)

    flag = stall_decide(flag=open_flag(stalled), decision="kill", actor=stalled.owner, now=NOW,
                        retirement_reason="value_not_proven",
                        retirement_lessons="The baseline was already good enough.")

    stalled.refresh_from_db()
    assert stalled.stage == Stage.RETIRED
    assert stalled.retirement_reason == "value_not_proven"
    assert (flag.resolution, flag.decision) == ("killed", "kill")


def test_kill_without_lessons_is_refused_and_the_pilot_stays():
    stalled = pilot(days_in_pilot=100)
    stalls_detect(now=NOW)

    with pytest.raises(DomainError) as refused:
        stall_decide(flag=open_flag(stalled), decision="kill", actor=stalled.owner, now=NOW,
                     retirement_reason="value_not_proven", retirement_lessons="")

    assert refused.value.field == "retirement_lessons"
    stalled.refresh_from_db()
    assert stalled.stage == Stage.PILOT
    assert open_flag(stalled).decision == ""


def test_scale_with_the_gate_open_moves_the_pilot_to_production(reviewer):
    stalled = pilot(days_in_pilot=100)
    measure(stalled)  # meets the target inside the window
    approve_all_checkpoints(stalled, reviewer=reviewer)
    stalls_detect(now=NOW)

    flag = stall_decide(flag=open_flag(stalled), decision="scale", actor=stalled.owner, now=NOW)

    stalled.refresh_from_db()
    assert stalled.stage == Stage.PRODUCTION
    assert (flag.decision, flag.resolution) == ("scale", "moved")


def test_scale_while_governance_blocks_the_gate_records_the_request_and_what_blocks_it():
    stalled = pilot(days_in_pilot=100)  # no measurement, checkpoints not approved
    stalls_detect(now=NOW)

    flag = stall_decide(flag=open_flag(stalled), decision="scale", actor=stalled.owner, now=NOW)

    stalled.refresh_from_db()
    assert stalled.stage == Stage.PILOT
    assert flag.is_open
    assert flag.decision == "scale"
    assert flag.decision_note.startswith("Waiting on: ")
    assert "a measurement inside the measurement window" in flag.decision_note


def test_a_resolved_stall_cannot_be_decided_again():
    stalled = pilot(days_in_pilot=100)
    stalls_detect(now=NOW)
    flag = open_flag(stalled)
    stall_decide(flag=flag, decision="extend", actor=stalled.owner, now=NOW, note="Data late.",
                 extend_until=date(2026, 12, 1))

    with pytest.raises(DomainError) as refused:
        stall_decide(flag=flag, decision="kill", actor=stalled.owner, now=NOW,
                     retirement_reason="value_not_proven", retirement_lessons="x")

    assert "already resolved" in refused.value.message


def test_detection_queries_do_not_grow_with_the_stalled_pilots():
    def queries_for(count: int, now):
        for _ in range(count):
            pilot(days_in_pilot=100)
        with CaptureQueriesContext(connection) as captured:
            stalls_detect(now=now)
        return len(captured)

    assert queries_for(2, NOW) == queries_for(20, NOW + timedelta(seconds=1))


def test_the_due_query_is_served_by_the_partial_pilot_indexes():
    """The benchmark measures the cost; here: with realistic statistics PostgreSQL reads only
    the pilots past a cutoff, through indexes, not the whole table."""
    require_postgresql("the plan checked is PostgreSQL's")
    model = pilot(days_in_pilot=100)
    stages = [Stage.IDEA, Stage.ASSESSMENT, Stage.PRODUCTION, Stage.PILOT]
    InitiativeFactory._meta.model.objects.bulk_create([
        InitiativeFactory.build(team=model.team, owner=model.owner, stage=stages[i % 4],
                                stage_changed_at=NOW - timedelta(days=i % 60),
                                last_activity_at=NOW - timedelta(days=i % 10))
        for i in range(4000)])
    sql, params = stalls_due(now=NOW).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE portfolio_initiative")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    # Each side of the UNION reads an index from its cutoff (the idle side may take either
    # index on last activity: here no pilot is idle, so both cost the same).
    assert "pilot_since" in plan, plan
    assert "Index Cond: (last_activity_at <=" in plan, plan
    assert "Seq Scan on portfolio_initiative" not in plan, plan


def test_the_reason_in_sql_and_in_python_agree():
    cases = [pilot(days_in_pilot=91), pilot(days_idle=22), pilot(days_in_pilot=95, days_idle=30),
             pilot(days_in_pilot=5, days_idle=1)]
    stalls_detect(now=NOW - timedelta(days=1))  # raise flags with yesterday's reasons
    flags = StallFlag.objects.annotate(
        now_reason=current_reason_sql(NOW, prefix="initiative__")).select_related("initiative")

    assert len(flags) == 3
    for flag in flags:
        assert flag.now_reason == stall_reason(flag.initiative, NOW)
    assert stall_reason(cases[3], NOW) is None
