"""Sending what the fan-out wrote, without a worker: the services the tasks call, with
Django's in-memory mailbox (and an SMTP server's refusal stood in for where it matters).

An immediate notification is sent once, in words that say what happened, where and why;
an SMTP 5xx is recorded failed, a 4xx retried after a back-off; an admin sends a failed
one again. A daily summary is claimed once per person and day, gathers what waited, and
goes out as one email."""

import smtplib
from datetime import timedelta

import pytest
from django.core.mail.backends.locmem import EmailBackend
from django.urls import reverse

from governance.models import Checkpoint
from governance.services import checkpoint_decide
from portfolio import services
from portfolio.exceptions import DomainError
from portfolio.models import Activity, DailySummary, Notification
from portfolio.notifications.services import (
    NOT_FAILED,
    daily_summaries_run,
    daily_summary_send,
    notification_preferences_set,
    notification_resend,
    notification_send,
    notifications_muted,
)
from tests.factories import FIXED_NOW, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

LATER = FIXED_NOW + timedelta(days=2)
REASON = "No threat model yet."


@pytest.fixture
def rejected(pm, reviewer):
    """pm's "Claims triage", whose Security review the reviewer rejected: the
    notification to pm (immediate, the default)."""
    with notifications_muted():
        initiative = services.initiative_create(actor=pm, now=FIXED_NOW, title="Claims triage",
                                                team=TeamFactory())
    checkpoint = Checkpoint.objects.get(initiative=initiative, type__code="security-review")
    checkpoint_decide(checkpoint=checkpoint, actor=reviewer, approve=False,
                      expected_version=checkpoint.version, evidence_notes=REASON, now=LATER)
    return Notification.objects.get(recipient=pm, activity__kind="checkpoint_decided")


@pytest.fixture
def smtp_refuses(monkeypatch):
    """The SMTP server answers the message with ``code`` (set ``smtp_refuses.code``)."""

    class Refusal:
        code = 554

        def send_messages(self, backend, messages):
            raise smtplib.SMTPDataError(self.code, b"5.7.1 Message rejected as spam")

    refusal = Refusal()
    monkeypatch.setattr(EmailBackend, "send_messages",
                        lambda backend, messages: refusal.send_messages(backend, messages))
    return refusal


# --- Immediately --------------------------------------------------------------------------------

def test_an_immediate_notification_is_sent_once_and_says_what_where_and_why(
        rejected, reviewer, mailoutbox, settings):
    first = notification_send(notification_id=rejected.pk, now=LATER)
    second = notification_send(notification_id=rejected.pk, now=LATER + timedelta(minutes=5))

    assert (first.status, second.status) == ("sent", "skipped")
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    checkpoint = Checkpoint.objects.get(type__code="security-review")
    assert mail.to == ["owner-pm@example.com"]
    assert mail.subject == "Security review rejected on “Claims triage”"
    assert f"{reviewer.get_full_name()} rejected it." in mail.body
    assert f"Reason: {REASON}" in mail.body
    link = reverse("governance:checkpoint-decide", args=[checkpoint.pk])
    assert f"Open it: {settings.SITE_URL}{link}" in mail.body
    assert "/settings/notifications/" in mail.body
    assert mail.extra_headers["X-Portfolio-Event"] == "checkpoint_decided"
    rejected.refresh_from_db()
    assert (rejected.status, rejected.attempts, rejected.sent_at) == ("sent", 1, LATER)


def test_an_smtp_5xx_is_recorded_failed_with_the_reply_and_not_retried(
        rejected, smtp_refuses, mailoutbox):
    outcome = notification_send(notification_id=rejected.pk, now=LATER)
    again = notification_send(notification_id=rejected.pk, now=LATER + timedelta(hours=1))

    rejected.refresh_from_db()
    assert (outcome.status, again.status) == ("failed", "skipped")
    assert (rejected.status, rejected.attempts) == ("failed", 1)
    assert rejected.last_error == "554 5.7.1 Message rejected as spam"
    assert mailoutbox == []


def test_an_smtp_4xx_is_tried_again_after_a_back_off_then_given_up(
        rejected, smtp_refuses, settings):
    smtp_refuses.code = 451
    settings.NOTIFY_RETRY_BASE_SECONDS, settings.NOTIFY_MAX_ATTEMPTS = 60, 2

    first = notification_send(notification_id=rejected.pk, now=LATER)
    early = notification_send(notification_id=rejected.pk, now=LATER + timedelta(seconds=30))
    last = notification_send(notification_id=rejected.pk, now=LATER + timedelta(seconds=60))

    rejected.refresh_from_db()
    assert (first.status, first.retry_in) == ("retry", 60.0)
    assert early.status == "skipped"  # still waiting for its back-off
    assert last.status == "failed"
    assert (rejected.status, rejected.attempts) == ("failed", 2)
    assert rejected.last_error.startswith("Gave up after 2 attempts: 451")


def test_an_admin_sends_a_failed_one_again(rejected, smtp_refuses, staff, monkeypatch,
                                           django_capture_on_commit_callbacks, mailoutbox):
    from portfolio import tasks

    queued = []
    monkeypatch.setattr(tasks.notifications_send_task, "delay", queued.append)
    notification_send(notification_id=rejected.pk, now=LATER)
    monkeypatch.undo()  # the SMTP server takes mail again
    monkeypatch.setattr(tasks.notifications_send_task, "delay", queued.append)

    with django_capture_on_commit_callbacks(execute=True):
        notification_resend(notification=rejected, actor=staff, now=LATER + timedelta(hours=1))
    rejected.refresh_from_db()
    resent = notification_send(notification_id=rejected.pk, now=LATER + timedelta(hours=1))

    assert queued == [[rejected.pk]]
    assert (rejected.status, rejected.attempts, rejected.last_error) == ("pending", 0, "")
    assert resent.status == "sent"
    assert len(mailoutbox) == 1


def test_only_a_failed_one_is_sent_again(rejected, staff):
    with pytest.raises(DomainError, match=NOT_FAILED):
        notification_resend(notification=rejected, actor=staff, now=LATER)

    rejected.refresh_from_db()
    assert (rejected.status, rejected.attempts) == ("pending", 0)


def test_a_daily_notification_is_never_sent_on_its_own(pm, reviewer, mailoutbox):
    notification_preferences_set(user=pm, modes={"checkpoint_decided": "daily"})
    with notifications_muted():
        initiative = services.initiative_create(actor=pm, now=FIXED_NOW, title="Claims triage",
                                                team=TeamFactory())
    checkpoint = Checkpoint.objects.filter(initiative=initiative).first()
    checkpoint_decide(checkpoint=checkpoint, actor=reviewer, approve=False,
                      expected_version=checkpoint.version, evidence_notes=REASON, now=LATER)
    daily = Notification.objects.get(recipient=pm)

    assert notification_send(notification_id=daily.pk, now=LATER).status == "skipped"
    assert mailoutbox == []


# --- The daily summary --------------------------------------------------------------------------

def stalls(initiative, *, count: int, at):
    """``count`` "flagged as stalled" events on ``initiative`` at ``at``."""
    return services.activities_record(activities=[
        Activity(initiative=initiative, kind=Activity.Kind.STALL_FLAGGED, at=at,
                 details={"reason": "idle", "days": 30 + n}) for n in range(count)], now=at)


@pytest.fixture
def daily_people(pm, other_pm):
    """pm and other-pm (Responsible) on "Claims triage" each asked for stalls daily."""
    with notifications_muted():
        initiative = services.initiative_create(actor=pm, now=FIXED_NOW, title="Claims triage",
                                                team=TeamFactory())
        services.stakeholder_add(initiative=initiative, user=other_pm, role="R", actor=pm,
                                 now=FIXED_NOW)
    for user in (pm, other_pm):
        notification_preferences_set(user=user, modes={"stall_flagged": "daily"})
    return initiative


def test_running_the_summaries_twice_on_a_day_claims_once_per_person(daily_people, pm,
                                                                     other_pm):
    stalls(daily_people, count=2, at=FIXED_NOW)

    first = daily_summaries_run(now=FIXED_NOW + timedelta(hours=1), enqueue=False)
    second = daily_summaries_run(now=FIXED_NOW + timedelta(hours=2), enqueue=False)

    assert len(first) == 2
    assert second == []
    summaries = DailySummary.objects.order_by("recipient__username")
    assert [(s.recipient.username, s.day.isoformat()) for s in summaries] == [
        ("other-pm", "2026-11-02"), ("owner-pm", "2026-11-02")]
    assert all(s.notifications.count() == 2 for s in summaries)


def test_what_arrives_after_todays_summary_waits_for_tomorrows(daily_people, pm):
    stalls(daily_people, count=1, at=FIXED_NOW)
    [today, _] = daily_summaries_run(now=FIXED_NOW + timedelta(hours=1), enqueue=False)
    stalls(daily_people, count=1, at=FIXED_NOW + timedelta(hours=3))

    same_day = daily_summaries_run(now=FIXED_NOW + timedelta(hours=4), enqueue=False)
    tomorrow = daily_summaries_run(now=FIXED_NOW + timedelta(days=1), enqueue=False)

    assert same_day == []
    assert len(tomorrow) == 2
    late = Notification.objects.filter(recipient=pm).order_by("created_at")
    assert [n.summary.day.isoformat() for n in late] == ["2026-11-02", "2026-11-03"]


def test_a_summary_is_one_email_listing_everything_and_marks_it_sent(
        daily_people, pm, mailoutbox):
    stalls(daily_people, count=3, at=FIXED_NOW)
    daily_summaries_run(now=FIXED_NOW + timedelta(hours=1), enqueue=False)
    summary = DailySummary.objects.get(recipient=pm)

    outcome = daily_summary_send(summary_id=summary.pk, now=FIXED_NOW + timedelta(hours=1))
    again = daily_summary_send(summary_id=summary.pk, now=FIXED_NOW + timedelta(hours=2))

    assert (outcome.status, again.status) == ("sent", "skipped")
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["owner-pm@example.com"]
    assert mail.subject == "Your daily summary: 3 things that happened, 2 Nov 2026"
    assert mail.body.count("“Claims triage”") >= 3
    assert mail.body.count("Stalled pilot: “Claims triage”") == 3
    assert mail.body.count("/stalls/") >= 3
    assert "/settings/notifications/" in mail.body
    summary.refresh_from_db()
    assert summary.status == "sent"
    assert set(summary.notifications.values_list("status", "sent_at")) == {
        ("sent", FIXED_NOW + timedelta(hours=1))}


def test_nobody_without_daily_notifications_gets_a_summary(pm, mailoutbox):
    UserFactory(username="quiet-pm", roles=["pm"])

    assert daily_summaries_run(now=FIXED_NOW, enqueue=False) == []
    assert not DailySummary.objects.exists()
