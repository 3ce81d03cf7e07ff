"""Reviewer capacity and the queue-aware production forecast: each open review waits for its
place in its type's queue at the reviewers' pace (set by admins, measured over the last four
full weeks, or from the expected review time), on hand-computed cases."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext

from governance import selectors, services
from governance.models import Checkpoint, CheckpointType
from scoring.standings import standings_refresh
from tests.clients import client_for
from tests.factories import FIXED_NOW, InitiativeFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]
TODAY = FIXED_NOW.date()            # Monday 2 Nov 2026: the pace window is 5 Oct – 1 Nov
LONG_AGO = FIXED_NOW - timedelta(days=200)   # set-up decisions, outside the pace window
TYPES_URL = "/admin/governance/checkpointtype/"


def set_up_reviewer():
    return UserFactory(username="set-up-reviewer", roles=["reviewer"])


def waiting(*codes, requested_at, stage="pilot", **fields):
    """An initiative (in pilot: its production reviews are requested) whose ``codes``
    reviews are open, requested at ``requested_at``; every other checkpoint approved long
    ago."""
    initiative = InitiativeFactory(stage=stage, contracted=True, **fields)
    services.checkpoints_sync(initiatives=[initiative], actor=initiative.owner, now=requested_at)
    Checkpoint.objects.filter(initiative=initiative).exclude(type__code__in=codes).update(
        status="approved", reviewer=set_up_reviewer(), decided_at=LONG_AGO)
    return initiative


def decided(code, *moments, status="approved"):
    """One initiative per moment, whose ``code`` review was decided then."""
    for at in moments:
        initiative = waiting(code, requested_at=at - timedelta(days=3))
        Checkpoint.objects.filter(initiative=initiative, type__code=code).update(
            status=status, reviewer=set_up_reviewer(), decided_at=at)


def set_capacity(code, per_week):
    CheckpointType.objects.filter(code=code).update(
        reviews_per_week=None if per_week is None else Decimal(per_week))


def in_the_window(days):
    """A moment ``days`` days before the pace window ends (midnight starting 2 Nov)."""
    return datetime(2026, 11, 2, tzinfo=UTC) - timedelta(days=days)


# --- The forecast --------------------------------------------------------------------------

def test_seventh_in_the_queue_at_three_reviews_a_week_is_expected_in_17_days(pm):
    set_capacity("observability", "3")
    for days in (30, 20, 15, 10, 5):
        waiting("observability", requested_at=FIXED_NOW - timedelta(days=days))
    same_moment = FIXED_NOW - timedelta(days=2)
    waiting("observability", requested_at=same_moment)        # same moment, earlier id: ahead
    mine = waiting("observability", requested_at=same_moment, owner=pm)
    waiting("observability", requested_at=same_moment)        # same moment, later id: behind
    waiting("observability", requested_at=FIXED_NOW - timedelta(days=1))   # later: behind

    forecast = selectors.production_forecast(mine, today=TODAY)

    [expected] = forecast.pending
    assert expected.checkpoint.type.code == "observability"
    assert expected.requested is True
    assert expected.position == 7                       # six requested before it
    assert expected.throughput.source == selectors.SET_BY_ADMINS
    assert expected.wait_days == 17                     # 7 ÷ 3 weeks = 16.33 days, rounded up
    assert forecast.earliest_production == TODAY + timedelta(days=17)


def test_the_queue_holds_only_requested_open_reviews_of_live_initiatives(pm, reviewer):
    set_capacity("observability", "3")
    earlier = FIXED_NOW - timedelta(days=20)
    waiting("observability", requested_at=earlier, stage="paused")       # waits, not queued
    waiting("observability", requested_at=earlier, stage="assessment")   # upcoming
    approved = waiting("observability", requested_at=earlier)
    Checkpoint.objects.filter(initiative=approved).update(
        status="approved", reviewer=reviewer, decided_at=FIXED_NOW)
    retired = waiting("observability", requested_at=earlier)
    Checkpoint.objects.filter(initiative=retired).update(retired_at=FIXED_NOW)
    mine = waiting("observability", requested_at=FIXED_NOW - timedelta(days=1), owner=pm)

    [expected] = selectors.production_forecast(mine, today=TODAY).pending

    assert expected.position == 1
    assert expected.wait_days == 3                      # 1 ÷ 3 weeks = 2.33 days


def test_without_capacity_set_the_pace_is_measured_over_the_last_four_full_weeks(pm):
    decided("observability", *(in_the_window(days) for days in (1, 5, 9, 14, 27)))
    # A rejection is a decision too; the rejected review is back in the queue, ahead.
    decided("observability", in_the_window(20), status="rejected")
    decided("observability", FIXED_NOW - timedelta(hours=1),        # this week: not full
            in_the_window(28) - timedelta(hours=1))                  # before the window
    waiting("observability", requested_at=FIXED_NOW - timedelta(days=9))
    mine = waiting("observability", requested_at=FIXED_NOW - timedelta(days=3), owner=pm)

    [expected] = selectors.production_forecast(mine, today=TODAY).pending

    assert expected.throughput.source == selectors.MEASURED
    assert expected.throughput.decided == 6
    assert expected.throughput.per_week == Decimal("1.5")      # 6 decisions ÷ 4 weeks
    assert (expected.position, expected.wait_days) == (3, 14)  # 3 ÷ 1.5 weeks


def test_nothing_decided_lately_falls_back_to_one_review_per_expected_review_time(pm):
    CheckpointType.objects.filter(code="observability").update(review_days=10)
    decided("observability", in_the_window(40))                # long before the window
    waiting("observability", requested_at=FIXED_NOW - timedelta(days=9))
    mine = waiting("observability", requested_at=FIXED_NOW - timedelta(days=3), owner=pm)

    [expected] = selectors.production_forecast(mine, today=TODAY).pending

    assert expected.throughput.source == selectors.FROM_REVIEW_TIME
    assert expected.throughput.per_week == Decimal("0.7")      # one review per 10 days
    assert (expected.position, expected.wait_days) == (2, 20)  # 2 ÷ 0.7 weeks


def test_reviews_of_different_types_run_in_parallel_and_the_latest_is_the_forecast(pm):
    set_capacity("observability", "3")
    set_capacity("feedback-loop", "1")
    for days in (30, 20, 15, 10, 5, 4):
        waiting("observability", requested_at=FIXED_NOW - timedelta(days=days))
    mine = waiting("observability", "feedback-loop", requested_at=FIXED_NOW - timedelta(days=2),
                   owner=pm, target_production_date=TODAY + timedelta(days=10))

    forecast = selectors.production_forecast(mine, today=TODAY)

    assert [(p.checkpoint.type.code, p.position, p.wait_days) for p in forecast.pending] == [
        ("observability", 7, 17), ("feedback-loop", 1, 7)]    # latest first
    assert forecast.earliest_production == TODAY + timedelta(days=17)
    assert forecast.warning is True
    assert forecast.days_late == 7


def test_a_review_not_requested_yet_joins_the_back_of_the_queue_today(pm):
    set_capacity("observability", "2")
    for days in (9, 6, 3):
        waiting("observability", requested_at=FIXED_NOW - timedelta(days=days))
    # In assessment: its production reviews are upcoming, requested when it enters pilot.
    mine = waiting("observability", requested_at=FIXED_NOW - timedelta(days=30),
                   stage="assessment", owner=pm)

    [expected] = selectors.production_forecast(mine, today=TODAY).pending

    assert expected.requested is False
    assert (expected.position, expected.wait_days) == (4, 14)   # behind 3: 4 ÷ 2 weeks
    assert render_to_string("governance/_queue_wait.html", {"expected": expected}) == (
        "not requested yet, it would be 4th in the queue; reviewers decide about 2 a week "
        "(set by admins): about 14 days")


def test_nothing_open_is_production_today_without_counting_the_queue(
        pm, django_assert_num_queries):
    mine = waiting(requested_at=FIXED_NOW - timedelta(days=3), owner=pm)

    with django_assert_num_queries(1):                  # its checkpoints
        forecast = selectors.production_forecast(mine, today=TODAY)

    assert (forecast.earliest_production, forecast.pending, forecast.warning) == (
        TODAY, [], False)


@pytest.mark.parametrize("queued", [1, 12])
def test_the_forecast_takes_two_queries_however_long_the_queues(
        pm, queued, django_assert_num_queries):
    for days in range(queued):
        waiting("observability", "feedback-loop", requested_at=FIXED_NOW - timedelta(days=days))
    decided("observability", in_the_window(3), in_the_window(4))
    mine = waiting("observability", "feedback-loop", "operational-runbook",
                   requested_at=FIXED_NOW, owner=pm)

    # Its checkpoints; every pending one's position, backlog and recent decisions.
    with django_assert_num_queries(2):
        forecast = selectors.production_forecast(mine, today=TODAY)

    assert {p.checkpoint.type.code: p.position for p in forecast.pending} == {
        "observability": queued + 1, "feedback-loop": queued + 1, "operational-runbook": 1}


def test_the_initiative_page_says_the_queue_position_the_pace_and_the_date(client, pm):
    set_capacity("observability", "3")
    for days in (30, 20, 15, 10, 5, 4):
        waiting("observability", requested_at=FIXED_NOW - timedelta(days=days))
    mine = waiting("observability", requested_at=FIXED_NOW - timedelta(days=2), owner=pm)
    client.force_login(pm)

    body = client.get(mine.get_absolute_url()).content.decode()

    assert ("when Observability and monitoring is expected to be decided: 7th in the queue; "
            "reviewers decide about 3 a week (set by admins): about 17 days.") in body
    assert f'datetime="{TODAY + timedelta(days=17):%Y-%m-%d}"' in body


# --- Review capacity per type --------------------------------------------------------------

def test_review_capacity_counts_the_backlog_the_overdue_and_the_wait_per_type(reviewer):
    set_capacity("observability", "2")
    for days in (20, 6, 4, 1):                           # due 7 days after: the first overdue
        waiting("observability", requested_at=FIXED_NOW - timedelta(days=days))
    # Paused: past their due date, but waiting outside the queue; the rejection still
    # counts as a decision (the pace is set by admins here, so only the counts show it).
    for status in ("not_started", "rejected"):
        paused = waiting("observability", requested_at=FIXED_NOW - timedelta(days=20),
                         stage="paused")
        Checkpoint.objects.filter(initiative=paused, type__code="observability").update(
            status=status, reviewer=reviewer, decided_at=in_the_window(3))
    decided("feedback-loop", in_the_window(2), in_the_window(16))
    CheckpointType.objects.filter(code="failure-recovery").update(active=False)

    rows = {row.type.code: row for row in selectors.review_capacity(today=TODAY)}

    observability = rows["observability"]
    assert (observability.backlog, observability.overdue) == (4, 1)
    assert observability.throughput.source_label == "set by admins"
    assert observability.wait_days == 18                 # (4 + 1) ÷ 2 weeks = 17.5 days
    feedback = rows["feedback-loop"]
    assert (feedback.backlog, feedback.overdue) == (0, 0)
    assert feedback.throughput.source_label == "measured over the last 4 weeks"
    assert feedback.wait_days == 14                      # 1 ÷ (2 ÷ 4) weeks
    runbook = rows["operational-runbook"]
    assert runbook.throughput.source_label == "from the expected review time"
    assert runbook.wait_days == 7                        # 1 ÷ (7 ÷ 7 days) weeks
    assert "failure-recovery" not in rows                # retired from the catalogue
    # One definition: the review queue page counts the same checkpoints.
    queue = selectors.review_queue(today=TODAY, filters={
        "type": CheckpointType.objects.get(code="observability")})
    counts = selectors.review_queue_counts(queue, today=TODAY)
    assert (counts["all"], counts["overdue"]) == (4, 1)


@pytest.mark.parametrize("queued", [1, 15])
def test_review_capacity_takes_two_queries_whatever_the_portfolio_size(
        queued, django_assert_num_queries):
    for days in range(queued):
        waiting("observability", "bias-fairness", requested_at=FIXED_NOW - timedelta(days=days),
                risk_tier="high")
    decided("feedback-loop", in_the_window(2))

    with django_assert_num_queries(2):   # the active types; every type's counts at once
        rows = selectors.review_capacity(today=TODAY)

    assert {row.type.code: row.backlog for row in rows}["observability"] == queued


def test_the_partial_shows_each_type_in_a_stacking_table_in_plain_words():
    set_capacity("observability", "2")
    waiting("observability", requested_at=FIXED_NOW - timedelta(days=20))

    html = render_to_string("governance/_review_capacity.html", {
        "review_capacity": selectors.review_capacity(today=TODAY)})

    assert '<table class="data review-capacity-table stack">' in html
    assert "<caption>Reviews waiting per checkpoint" in html
    row = html.split("Observability and monitoring")[1].split("</tr>")[0]
    assert '<td class="dash-num" data-label="Waiting"><a href="/governance/queue/?type=' \
           'observability">1</a></td>' in row
    assert 'status=overdue">1</a>' in row
    assert "about 2 <span class=\"muted\">(set by admins)</span>" in row
    assert "about 7 days" in row                          # (1 + 1) ÷ 2 weeks
    assert "reviews_per_week" not in html


# --- The API ---------------------------------------------------------------------------------

def test_the_api_lists_review_capacity_per_type_for_readers_only(leader, outsider):
    set_capacity("observability", "2")
    waiting("observability", requested_at=FIXED_NOW - timedelta(days=20))

    response = client_for(leader).get("/api/v1/review-capacity/")

    assert response.status_code == 200
    row = next(r for r in response.json() if r["type"]["code"] == "observability")
    assert row == {"type": {"code": "observability", "name": "Observability and monitoring",
                            "required_for": "production"},
                   "backlog": 1, "overdue": 1, "reviews_per_week": 2.0,
                   "pace_source": "configured", "pace_source_label": "set by admins",
                   "wait_days": 7}
    assert client_for(outsider).get("/api/v1/review-capacity/").status_code == 404
    assert client_for().get("/api/v1/review-capacity/").status_code == 401


def test_the_api_counts_once_per_standings_snapshot_and_a_decision_moves_it(leader, reviewer):
    initiative = waiting("observability", requested_at=FIXED_NOW - timedelta(days=20))
    standings_refresh(force=True)  # what the worker does after a change
    api = client_for(leader)

    def observability():
        with CaptureQueriesContext(connection) as queries:
            rows = api.get("/api/v1/review-capacity/").json()
        counted = any("governance_checkpoint" in q["sql"] for q in queries.captured_queries)
        return next(r["backlog"] for r in rows if r["type"]["code"] == "observability"), counted

    assert observability() == (1, True)      # counted, and kept for the snapshot
    assert observability() == (1, False)     # read back: no checkpoint is counted
    checkpoint = Checkpoint.objects.get(initiative=initiative, type__code="observability")
    services.checkpoint_decide(checkpoint=checkpoint, actor=reviewer, approve=True,
                               expected_version=checkpoint.version, evidence_notes="Dashboards.",
                               now=FIXED_NOW)
    assert observability() == (0, True)      # a pending change is counted live
    standings_refresh()
    assert observability() == (0, True)      # the new snapshot's count
    assert observability() == (0, False)


# --- Reviewer capacity in the admin ----------------------------------------------------------

@pytest.fixture
def entry(db):
    return CheckpointType.objects.create(
        code="vendor-review", name="Vendor review", description="Contract checked.",
        nist_function="govern", required_for="pilot")


def edit(client, entry, reviews_per_week):
    return client.post(f"{TYPES_URL}{entry.pk}/change/", {
        "code": entry.code, "name": entry.name, "description": entry.description,
        "nist_function": entry.nist_function, "required_for": entry.required_for,
        "review_days": 10, "active": "on", "reviews_per_week": reviews_per_week})


def test_admins_set_reviewer_capacity_on_the_checkpoint_type_page(client, superuser, entry):
    client.force_login(superuser)

    page = client.get(f"{TYPES_URL}{entry.pk}/change/").content.decode()
    assert "Reviewer capacity (reviews per week)" in page
    assert "7th in the queue at 3 a week is about 17 days" in page   # the help, in words

    assert edit(client, entry, "2.5").status_code == 302
    entry.refresh_from_db()
    assert entry.reviews_per_week == Decimal("2.5")
    assert entry.history.first().history_user == superuser
    assert edit(client, entry, "").status_code == 302    # empty: the measured pace
    entry.refresh_from_db()
    assert entry.reviews_per_week is None


@pytest.mark.parametrize("value", ["0", "-1"])
def test_capacity_of_zero_or_less_is_a_field_error_and_changes_nothing(
        client, superuser, entry, value):
    client.force_login(superuser)

    response = edit(client, entry, value)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["reviews_per_week"] == [services.CAPACITY_NOT_POSITIVE]
    assert not form.non_field_errors()
    entry.refresh_from_db()
    assert entry.reviews_per_week is None
    assert entry.history.count() == 1


def test_the_service_refuses_capacity_of_zero_on_the_field(pm, entry):
    entry.reviews_per_week = Decimal("0")

    with pytest.raises(ValidationError) as refused:
        services.checkpoint_type_save(checkpoint_type=entry, actor=pm, now=FIXED_NOW)

    assert refused.value.message_dict == {"reviews_per_week": [services.CAPACITY_NOT_POSITIVE]}
    assert CheckpointType.objects.get(pk=entry.pk).reviews_per_week is None
