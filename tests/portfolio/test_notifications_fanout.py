"""Who hears of an event (docs/architecture.md, "Notifications"): the fan-out writes one
outbox row per (event, person) and (event, channel), in the transaction that records the
event, as each person chose; nobody hears of what they did themselves, nor people who
left or have no address; and it costs the same number of queries for one event to one
person as for fifty events to forty people."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model

from governance.models import Checkpoint
from governance.services import checkpoint_decide
from portfolio import accounts, services
from portfolio.models import Activity, ChatChannel, Notification, WebhookHost
from portfolio.notifications.services import (
    chat_channel_save,
    events_fan_out,
    notification_preferences_set,
    notifications_dispatch,
    notifications_muted,
    webhook_host_save,
)
from tests.factories import FIXED_NOW, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

LATER = FIXED_NOW + timedelta(days=2)
SLACK_URL = "https://hooks.slack.com/services/T0001/B0001/fanout-secret"


def person(username, **fields):
    return UserFactory(username=username, roles=["pm"], **fields)


def initiative_with_people(pm, *, team=None, title="Claims triage"):
    """pm's initiative, with ``r-active`` Responsible for it (created muted: the
    initiative's own review requests are not what these tests look at)."""
    with notifications_muted():
        initiative = services.initiative_create(actor=pm, now=FIXED_NOW, title=title,
                                                team=team or TeamFactory())
        services.stakeholder_add(initiative=initiative, user=person("r-active"), role="R",
                                 actor=pm, now=FIXED_NOW)
    return initiative


def reject(initiative, reviewer, now=LATER):
    checkpoint = Checkpoint.objects.filter(initiative=initiative).order_by("pk").first()
    checkpoint_decide(checkpoint=checkpoint, actor=reviewer, approve=False,
                      expected_version=checkpoint.version,
                      evidence_notes="No threat model yet.", now=now)
    return Activity.objects.get(initiative=initiative, kind="checkpoint_decided")


def people_told(activity):
    return sorted(Notification.objects.filter(activity=activity, recipient__isnull=False)
                  .values_list("recipient__username", flat=True))


def channel(team, name, *, active=True):
    if not WebhookHost.objects.filter(host="hooks.slack.com").exists():
        webhook_host_save(host=WebhookHost(host="hooks.slack.com"), actor=None, now=FIXED_NOW)
    return chat_channel_save(channel=ChatChannel(team=team, kind="slack", name=name,
                                                 active=active),
                             url=f"{SLACK_URL}-{name}", actor=None, now=FIXED_NOW)


# --- Who hears of it ------------------------------------------------------------------------------

def test_a_rejection_reaches_the_owner_and_each_responsible_pm_once(pm, reviewer):
    initiative = initiative_with_people(pm)
    with notifications_muted():
        for name in ("r-second", "r-left", "r-no-address"):
            services.stakeholder_add(
                initiative=initiative, user=person(name, **({"email": ""} if name ==
                                                             "r-no-address" else {})),
                role="R", actor=pm, now=FIXED_NOW)
        accounts.user_deactivate(user=get_user_model().objects.get(username="r-left"),
                                 actor=pm, now=FIXED_NOW)

    decided = reject(initiative, reviewer)

    # Not the reviewer who decided, not someone who left, not someone with no address.
    assert people_told(decided) == ["owner-pm", "r-active", "r-second"]
    rows = Notification.objects.filter(activity=decided)
    assert {(row.mode, row.status, row.created_at) for row in rows} == {
        ("immediate", "pending", LATER)}


def test_nobody_is_told_of_what_they_did_themselves(pm):
    initiative = initiative_with_people(pm)
    responsible = get_user_model().objects.get(username="r-active")

    # An event the Responsible PM caused reaches the owner, not them.
    activity = services.activity_record(initiative=initiative, kind="checkpoint_decided",
                                        actor=responsible, now=LATER,
                                        details={"checkpoint": "Security review",
                                                 "status": "rejected"})

    assert people_told(activity) == ["owner-pm"]


def test_off_writes_nothing_and_daily_waits_for_the_summary(pm, reviewer):
    initiative = initiative_with_people(pm)
    notification_preferences_set(user=pm, modes={"checkpoint_decided": "off"})
    notification_preferences_set(user=get_user_model().objects.get(username="r-active"),
                                 modes={"checkpoint_decided": "daily"})

    decided = reject(initiative, reviewer)

    rows = list(Notification.objects.filter(activity=decided).values_list(
        "recipient__username", "mode", "summary"))
    assert rows == [("r-active", "daily", None)]


def test_a_choice_for_one_kind_leaves_the_others_alone(pm, reviewer):
    initiative = initiative_with_people(pm)
    notification_preferences_set(user=pm, modes={"stall_flagged": "off"})

    decided = reject(initiative, reviewer)

    assert people_told(decided) == ["owner-pm", "r-active"]


def test_a_teams_active_channel_hears_each_event_once_and_an_inactive_one_nothing(
        pm, reviewer):
    team = TeamFactory(name="Claims", slug="claims")
    live = channel(team, "ai-claims")
    channel(team, "old-claims", active=False)
    channel(TeamFactory(name="Sales", slug="sales"), "ai-sales")
    initiative = initiative_with_people(pm, team=team)

    decided = reject(initiative, reviewer)
    again = services.activity_record(initiative=initiative, kind="stall_flagged", actor=None,
                                     now=LATER, details={"reason": "idle"})

    for activity in (decided, again):
        assert list(Notification.objects.filter(activity=activity, channel__isnull=False)
                    .values_list("channel", "mode")) == [(live.pk, "immediate")]


def test_events_recorded_muted_tell_nobody(pm, reviewer):
    team = TeamFactory(name="Claims", slug="claims")
    channel(team, "ai-claims")
    initiative = initiative_with_people(pm, team=team)

    with notifications_muted():
        decided = reject(initiative, reviewer)

    assert decided.kind == "checkpoint_decided"
    assert not Notification.objects.exists()


def test_events_nobody_is_told_about_write_nothing(pm):
    initiative = initiative_with_people(pm)

    services.update_post(initiative=initiative, author=pm, body="Vendor signed.",
                         health="on_track", now=LATER)

    assert not Notification.objects.exists()


def test_immediate_deliveries_are_queued_after_the_commit_daily_ones_are_not(
        pm, reviewer, monkeypatch, django_capture_on_commit_callbacks):
    from portfolio import tasks

    dispatched, queued = [], []
    monkeypatch.setattr(tasks.notifications_dispatch_task, "delay", dispatched.append)
    monkeypatch.setattr(tasks.notifications_send_task, "delay", queued.append)
    initiative = initiative_with_people(pm)
    notification_preferences_set(user=pm, modes={"checkpoint_decided": "daily"})

    with django_capture_on_commit_callbacks(execute=True):
        decided = reject(initiative, reviewer)
    assert dispatched == [[decided.pk]]  # the event, once it committed
    with django_capture_on_commit_callbacks(execute=True):
        notifications_dispatch(activity_ids=dispatched[0])

    immediate = Notification.objects.get(activity=decided, mode="immediate")
    assert queued == [[immediate.pk]]


# --- A fixed number of queries per batch ------------------------------------------------------

def review_requests(count: int, *, initiatives: list) -> list[Activity]:
    """``count`` review requests (no reviewer group: every reviewer hears of them), recorded
    muted so the fan-out can be measured on its own."""
    with notifications_muted():
        return services.activities_record(activities=[
            Activity(initiative=initiatives[n % len(initiatives)],
                     kind=Activity.Kind.REVIEW_REQUESTED, at=FIXED_NOW,
                     details={"checkpoints": [{"id": n + 1, "name": "Security review",
                                               "group": None}]})
            for n in range(count)], now=FIXED_NOW)


def batch_world(pm, *, events: int, reviewers: int, teams: int):
    team_list = [TeamFactory(name=f"Team {n}", slug=f"team-{n}") for n in range(teams)]
    for team in team_list:
        channel(team, f"chat-{team.slug}")
    with notifications_muted():
        initiatives = [services.initiative_create(actor=pm, now=FIXED_NOW, team=team,
                                                  title=f"Assistant for {team.name}")
                       for team in team_list]
    people = [UserFactory(username=f"reviewer-{n}", roles=["reviewer"])
              for n in range(reviewers)]
    # A few chose: daily, off; the rest keep the default.
    notification_preferences_set(user=people[0], modes={"review_requested": "daily"})
    if reviewers > 2:
        notification_preferences_set(user=people[1], modes={"review_requested": "off"})
    return review_requests(events, initiatives=initiatives), people


# The initiatives and their Responsible people (2), the reviewers and the people barred
# from deciding (2: no reviewer group, so no members are read), the people (1), their
# preferences (1), the channels (1), the insert (1).
FAN_OUT_QUERIES = 8


def test_one_event_to_one_person_costs_the_pinned_queries(pm, django_assert_num_queries):
    activities, _ = batch_world(pm, events=1, reviewers=1, teams=1)

    with django_assert_num_queries(FAN_OUT_QUERIES):
        written = events_fan_out(activities=activities, now=FIXED_NOW)

    assert written == 2  # the reviewer (daily) and the team's channel


def test_fifty_events_to_forty_people_cost_the_same(pm, django_assert_num_queries):
    activities, people = batch_world(pm, events=50, reviewers=40, teams=5)

    with django_assert_num_queries(FAN_OUT_QUERIES):
        written = events_fan_out(activities=activities, now=FIXED_NOW)

    # 39 people (one chose off) and one channel for each of the 50 events.
    assert written == 50 * 39 + 50
    assert Notification.objects.filter(recipient=people[0], mode="daily").count() == 50
    assert not Notification.objects.filter(recipient=people[1]).exists()
    assert Notification.objects.filter(channel__isnull=False).count() == 50
