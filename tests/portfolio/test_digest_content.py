"""What each recipient's weekly digest says, built in a fixed number of queries."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portfolio.models import Activity, DigestDelivery, DigestSubscription, Stage
from portfolio.pilots.digest.content import (
    digest_recipients,
    digests_build,
    next_period,
    period_of,
    scheduled_at,
)
from portfolio.pilots.services import stall_decide, stalls_detect
from portfolio.services import activity_record, initiative_move_stage
from tests.factories import InitiativeFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # ISO week 2026-W49
PERIOD = date(2026, 11, 30)


def stalled_pilot(team, *, flagged_at, **fields):
    initiative = InitiativeFactory(team=team, stage=Stage.PILOT, contracted=True,
                                   stage_changed_at=flagged_at - timedelta(days=100),
                                   last_activity_at=flagged_at - timedelta(days=1), **fields)
    stalls_detect(now=flagged_at)
    return initiative


def tpm(username, *, teams=(), opted_out=False, **fields):
    user = UserFactory(username=username, roles=["tpm"], **fields)
    if teams or opted_out:
        subscription = DigestSubscription.objects.create(user=user, opted_out=opted_out,
                                                         updated_at=MONDAY)
        subscription.teams.set(teams)
    return user


def build(*users, now=MONDAY):
    recipients = digest_recipients(period=period_of(now))
    if users:
        recipients = recipients.filter(pk__in=[u.pk for u in users])
    return {d.recipient.username: d for d in digests_build(now=now, period=period_of(now),
                                                             recipients=recipients)}


def titles(items):
    return [item.initiative.title for item in items]


def test_the_week_is_named_by_its_monday_in_the_configured_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"
    # Monday 03:00 UTC is still Sunday evening in New York: the previous week.
    assert period_of(datetime(2026, 11, 30, 3, 0, tzinfo=UTC)) == date(2026, 11, 23)
    assert period_of(datetime(2026, 11, 30, 12, 0, tzinfo=UTC)) == PERIOD
    due = scheduled_at(PERIOD)
    assert (due.astimezone(UTC).hour, due.date()) == (12, PERIOD)  # 07:00 EST
    assert next_period(datetime(2026, 11, 30, 11, 59, tzinfo=UTC)) == PERIOD
    assert next_period(datetime(2026, 11, 30, 12, 0, tzinfo=UTC)) == date(2026, 12, 7)


def test_a_tpm_gets_the_stalled_pilots_of_the_teams_they_follow_and_all_teams_if_none():
    payments, claims = TeamFactory(name="Payments"), TeamFactory(name="Claims")
    stalled_pilot(payments, flagged_at=MONDAY - timedelta(days=2), title="Fraud triage")
    stalled_pilot(claims, flagged_at=MONDAY - timedelta(days=2), title="Claims summariser")
    tpm("follower", teams=[payments])
    tpm("everyone")

    digests = build()

    assert titles(digests["follower"].newly_stalled) == ["Fraud triage"]
    assert sorted(titles(digests["everyone"].newly_stalled)) == ["Claims summariser",
                                                                 "Fraud triage"]
    assert digests["follower"].teams == [payments]
    assert digests["everyone"].teams is None


def test_newly_stalled_means_since_the_last_digest_and_still_stalled_carries_weeks_undecided():
    team = TeamFactory()
    old = stalled_pilot(team, flagged_at=MONDAY - timedelta(weeks=3), title="Old stall")
    stalled_pilot(team, flagged_at=MONDAY - timedelta(days=3), title="New stall")
    reader = tpm("reader")
    DigestDelivery.objects.create(
        recipient=reader, period=PERIOD - timedelta(weeks=1), status="sent",
        message_id="<last@test>", to_address=reader.email, subject="s", body_text="t",
        body_html="h", created_at=MONDAY - timedelta(weeks=1), sent_at=MONDAY - timedelta(weeks=1))

    digest = build()["reader"]

    assert titles(digest.newly_stalled) == ["New stall"]
    assert titles(digest.still_stalled) == ["Old stall"]
    item = digest.still_stalled[0]
    assert item.weeks_undecided == 3
    assert item.days_in_pilot == 121
    assert item.url.endswith(old.get_absolute_url())
    assert item.url.startswith("http")


def test_a_decided_stall_shows_its_decision_instead_of_weeks_undecided():
    team = TeamFactory()
    waiting = stalled_pilot(team, flagged_at=MONDAY - timedelta(weeks=2))
    stall_decide(flag=waiting.stall_flags.get(), decision="scale", actor=waiting.owner,
                 now=MONDAY - timedelta(days=1))
    tpm("reader")

    item = build()["reader"].still_stalled[0]

    assert item.weeks_undecided is None
    assert item.flag.decision == "scale"
    assert item.flag.decision_note.startswith("Waiting on:")


def test_an_escalated_stall_reaches_its_sponsor_who_is_not_a_tpm(settings):
    settings.STALL_ESCALATE_WEEKS = 2
    sponsor = UserFactory(username="sponsor", roles=["leadership"])
    team = TeamFactory()
    stalled_pilot(team, flagged_at=MONDAY - timedelta(weeks=3), sponsor=sponsor,
                  title="Escalated pilot")
    stalled_pilot(team, flagged_at=MONDAY - timedelta(weeks=3), title="Someone else's")
    stalls_detect(now=MONDAY - timedelta(hours=1))  # escalates the undecided ones
    tpm("reader")

    digests = build()

    assert titles(digests["sponsor"].escalated) == ["Escalated pilot"]
    assert digests["sponsor"].newly_stalled == digests["sponsor"].still_stalled == []
    assert not digests["sponsor"].follows_portfolio
    assert "Escalated pilot" in titles(digests["reader"].still_stalled)


def test_what_changed_since_the_last_digest_stage_moves_blockers_and_funding(reviewer):
    team, other = TeamFactory(name="Followed"), TeamFactory(name="Not followed")
    moved = InitiativeFactory(team=team, stage=Stage.IDEA, title="Moved one")
    initiative_move_stage(initiative=moved, to_stage=Stage.ASSESSMENT, actor=moved.owner,
                          now=MONDAY - timedelta(days=2))
    blocked = InitiativeFactory(team=team, title="Blocked one")
    activity_record(initiative=blocked, kind=Activity.Kind.OUT_OF_COMPLIANCE, actor=None,
                    now=MONDAY - timedelta(days=1),
                    details={"checkpoints": ["Bias evaluation"], "stage": "production"})
    funded = InitiativeFactory(team=team, title="Funded one")
    activity_record(initiative=funded, kind=Activity.Kind.FUNDING_CHANGED, actor=None,
                    now=MONDAY - timedelta(days=1),
                    details={"quarter": "2026-Q4", "funded": False, "team": team.name,
                             "reason": "needs 8 engineer-weeks; 2 left"})
    elsewhere = InitiativeFactory(team=other, stage=Stage.IDEA)
    initiative_move_stage(initiative=elsewhere, to_stage=Stage.ASSESSMENT,
                          actor=elsewhere.owner, now=MONDAY - timedelta(days=1))
    long_ago = InitiativeFactory(team=team, stage=Stage.IDEA)
    initiative_move_stage(initiative=long_ago, to_stage=Stage.ASSESSMENT,
                          actor=long_ago.owner, now=MONDAY - timedelta(days=9))
    tpm("reader", teams=[team])

    digest = build()["reader"]

    assert [(c.initiative.title, c.text.split(" by ")[0]) for c in digest.stage_moves] == [
        ("Moved one", "Idea → Assessment")]
    assert [c.text for c in digest.new_blockers] == [
        "out of compliance: Bias evaluation not approved"]
    assert [c.text for c in digest.funding] == [
        "now below the funding line for 2026-Q4 (needs 8 engineer-weeks; 2 left)"]


def test_nothing_to_report_is_an_empty_digest_and_opted_out_tpms_get_none():
    team = TeamFactory()
    quiet = TeamFactory(name="Quiet")
    stalled_pilot(team, flagged_at=MONDAY - timedelta(days=1))
    tpm("quiet-follower", teams=[quiet])
    tpm("opted-out", opted_out=True)
    UserFactory(username="no-address", roles=["tpm"], email="")

    digests = build()

    assert digests["quiet-follower"].is_empty
    assert "opted-out" not in digests
    assert "no-address" not in digests


def test_building_takes_the_same_queries_for_5_or_50_recipients():
    team = TeamFactory()
    for i in range(5):
        stalled_pilot(team, flagged_at=MONDAY - timedelta(days=i + 1))

    def queries_with(count):
        for i in range(count):
            tpm(f"tpm-{count}-{i}", teams=[team] if i % 2 else [])
        recipients = digest_recipients(period=PERIOD)
        with CaptureQueriesContext(connection) as captured:
            digests_build(now=MONDAY, period=PERIOD, recipients=recipients)
        return len(captured)

    few = queries_with(5)
    # recipients, their teams, open flags, value reviews overdue or at risk, overrides
    # since, activity since
    assert few == 6
    assert queries_with(45) == few
