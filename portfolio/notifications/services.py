"""Notifications: the fan-out into the outbox, the senders, the daily summary, and the
settings people and admins change (docs/architecture.md, "Notifications").

1. ``events_fan_out`` runs inside the transaction that records the events
   (``portfolio.services.activity_record``): for each activity of a kind that notifies
   (``hooks.notifying_kinds``), the app that owns the kind names who hears of it; each
   person's preference picks *immediately*, *daily* or *off*; the initiative's team's chat
   channels hear of everything. One ``Notification`` row per (event, person) and
   (event, channel), unique, in a fixed number of queries per batch. Immediate ones are
   queued after the commit.
2. ``notification_send`` claims one row for one attempt (a conditional UPDATE: pending and
   due, or sending past its lease), renders it with the owning app's ``render``, sends it by
   email or posts it to the channel, and records the outcome: sent; failed for good (an SMTP
   5xx, a webhook's 4xx or redirect, a refused URL) with the reply; or pending again after a
   capped, doubling back-off, until ``NOTIFY_MAX_ATTEMPTS``.
3. ``notifications_catch_up`` (every minute) queues again what a lost message or a killed
   worker left behind; the claim lets one attempt through.
4. ``daily_summaries_run`` (daily) claims one ``DailySummary`` per person and day (unique),
   gathers that person's waiting daily notifications into it and queues it;
   ``daily_summary_send`` sends it like one notification.
"""

from __future__ import annotations

import contextvars
import smtplib
import uuid
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from portfolio import hooks
from portfolio.exceptions import DomainError
from portfolio.mail import classify_failure
from portfolio.models import (
    Activity,
    ChatChannel,
    DailySummary,
    Notification,
    NotificationMode,
    NotificationPreference,
    NotificationStatus,
    WebhookHost,
)
from portfolio.notifications import webhooks
from portfolio.notifications.audience import EventBatch

UNKNOWN_KIND = "There is no notification of the kind {kind!r}."
UNKNOWN_MODE = "Choose immediately, in a daily summary, or off."
NOT_FAILED = "Only a failed notification is sent again by hand."
HOST_INVALID = "Give a host name only, such as hooks.slack.com (no scheme, port or path)."

# A pending notification older than this with nothing sending it was lost: queue it again.
CATCH_UP_GRACE = timedelta(minutes=1)
SEND_CHUNK = 50
DISPATCH_CHUNK = 200  # events per dispatch task

_muted = contextvars.ContextVar("notifications_muted", default=False)


@contextmanager
def notifications_muted():
    """Record events without telling anyone: ``seed_demo`` builds a history nobody should
    be emailed about."""
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


# --- Preferences -------------------------------------------------------------------------------

def notification_modes(user) -> dict[str, str]:
    """Each notifying kind's mode for ``user``: their choice, else the kind's default."""
    kinds = hooks.notifying_kinds()
    chosen = dict(NotificationPreference.objects.filter(user=user, kind__in=kinds)
                  .values_list("kind", "mode"))
    return {kind: chosen.get(kind, notify.default_mode) for kind, notify in kinds.items()}


@transaction.atomic
def notification_preferences_set(*, user, modes: dict[str, str]) -> None:
    """Save ``user``'s choice per kind; all or nothing, each refusal on its kind."""
    kinds = hooks.notifying_kinds()
    for kind, mode in modes.items():
        if kind not in kinds:
            raise DomainError(UNKNOWN_KIND.format(kind=kind), field=kind)
        if mode not in NotificationMode.values:
            raise DomainError(UNKNOWN_MODE, field=kind)
    for kind, mode in modes.items():
        NotificationPreference.objects.update_or_create(user=user, kind=kind,
                                                        defaults={"mode": mode})


# --- The fan-out -------------------------------------------------------------------------------

def events_fan_out(*, activities: list[Activity], now: datetime) -> int:
    """Write the outbox rows for these new activities (inside the caller's transaction) and
    queue their sending after it commits; returns how many rows were written. Queries: none
    when no activity notifies; otherwise the initiatives and their Responsible people (2),
    each notifying kind's recipients (a fixed number per kind), the people (1), their
    preferences (1), the teams' channels (1) and one insert (on PostgreSQL, whatever the
    number of rows: ``_insert``) — whatever the number of activities or recipients."""
    kinds = hooks.notifying_kinds()
    notifying = [a for a in activities if a.kind in kinds]
    if not notifying or _muted.get():
        return 0
    batch = EventBatch.load(notifying)
    wanted: dict[int, set[int]] = {}
    for kind in sorted({a.kind for a in notifying}):
        wanted.update(kinds[kind].recipients(batch.of_kind(kind)))
    by_id = {a.pk: a for a in notifying}
    for activity_id, people in wanted.items():
        actor = by_id[activity_id].actor_id
        people.discard(actor)  # nobody is told of what they did themselves
    everyone = set().union(*wanted.values()) if wanted else set()
    reachable = set(get_user_model().objects.filter(pk__in=everyone, is_active=True)
                    .exclude(email="").values_list("pk", flat=True)) if everyone else set()
    chosen = {(user_id, kind): mode for user_id, kind, mode in NotificationPreference.objects
              .filter(user__in=reachable, kind__in={a.kind for a in notifying})
              .values_list("user_id", "kind", "mode")} if reachable else {}
    teams = {facts.team_id for facts in batch.initiatives.values()}
    channels = defaultdict(list)
    for channel_id, team_id in (ChatChannel.objects.filter(team__in=teams, active=True)
                                .values_list("pk", "team_id")):
        channels[team_id].append(channel_id)
    rows: list[tuple[int, int | None, int | None, str]] = []
    for activity in notifying:
        default = kinds[activity.kind].default_mode
        for user_id in sorted(wanted.get(activity.pk, set()) & reachable):
            mode = chosen.get((user_id, activity.kind), default)
            if mode != NotificationMode.OFF:
                rows.append((activity.pk, user_id, None, mode))
        for channel_id in channels[batch.initiative(activity).team_id]:
            rows.append((activity.pk, None, channel_id, NotificationMode.IMMEDIATE.value))
    if not rows:
        return 0
    _insert(rows, now=now)
    immediate = sorted({activity_id for activity_id, _, _, mode in rows
                        if mode == NotificationMode.IMMEDIATE})
    if immediate:
        from portfolio.tasks import notifications_dispatch_task

        for start in range(0, len(immediate), DISPATCH_CHUNK):
            chunk = immediate[start:start + DISPATCH_CHUNK]
            transaction.on_commit(lambda chunk=chunk: notifications_dispatch_task.delay(chunk))
    return len(rows)


def _insert(rows: list[tuple], *, now: datetime) -> None:
    """The outbox rows in one statement (PostgreSQL: ``unnest`` over four arrays, so a
    million rows cost one query and no model instances; SQLite: one ``executemany``)."""
    insert = (f"INSERT INTO {Notification._meta.db_table} (activity_id, recipient_id, "
              "channel_id, mode, status, created_at, attempts, last_error, response_body) ")
    pending = NotificationStatus.PENDING.value
    if connection.vendor != "postgresql":
        at = Notification._meta.get_field("created_at").get_db_prep_save(now, connection)
        with connection.cursor() as cursor:
            cursor.executemany(insert + "VALUES (%s, %s, %s, %s, %s, %s, 0, '', '')",
                               [(a, r, c, m, pending, at) for a, r, c, m in rows])
        return
    columns = list(zip(*rows, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            insert + "SELECT a, r, c, m, %s, %s, 0, '', '' "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::text[]) AS t(a, r, c, m)",
            [pending, now, list(columns[0]), list(columns[1]),
             list(columns[2]), list(columns[3])])


def _enqueue(notification_ids: list[int]) -> None:
    from portfolio.tasks import notifications_send_task  # the task module imports this one

    for start in range(0, len(notification_ids), SEND_CHUNK):
        chunk = notification_ids[start:start + SEND_CHUNK]
        transaction.on_commit(lambda chunk=chunk: notifications_send_task.delay(chunk))


def notifications_dispatch(*, activity_ids: list[int]) -> int:
    """Queue, in chunks, the immediate notifications of these events still to send (the
    worker runs this after the fan-out's commit). Returns how many were queued."""
    pending = list(Notification.objects
                   .filter(activity__in=activity_ids, mode=NotificationMode.IMMEDIATE,
                           status=NotificationStatus.PENDING)
                   .order_by("pk").values_list("pk", flat=True))
    with transaction.atomic():
        _enqueue(pending)
    return len(pending)


# --- Sending -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SendOutcome:
    status: str  # "sent", "failed", "retry", or "skipped" (not ours to send now)
    retry_in: float | None = None
    error: str = ""


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: doubling, capped."""
    base = settings.NOTIFY_RETRY_BASE_SECONDS
    return float(min(base * 2 ** max(attempts - 1, 0), settings.NOTIFY_RETRY_MAX_SECONDS))


def _claimable(now: datetime) -> Q:
    lease = now - timedelta(seconds=settings.NOTIFY_SEND_LEASE_SECONDS)
    return (Q(status=NotificationStatus.PENDING)
            & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            | Q(status=NotificationStatus.SENDING, claimed_at__lte=lease))


def absolute(link: str) -> str:
    return f"{settings.SITE_URL}{link}"


class _Permanent(Exception):
    def __init__(self, text: str, status: int | None = None, body: str = ""):
        super().__init__(text)
        self.status, self.body = status, body


class _Transient(Exception):
    def __init__(self, text: str, status: int | None = None, body: str = ""):
        super().__init__(text)
        self.status, self.body = status, body


def _claim(rows, *, now: datetime) -> bool:
    """Take one row (a notification or a summary) for one attempt: pending and due, or
    sending past its lease. A conditional UPDATE, so of two workers one wins."""
    return bool(rows.filter(_claimable(now)).update(
        status=NotificationStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1))


def _failed(mine, error: _Permanent | _Transient, *, attempts: int, now: datetime,
            **reply) -> SendOutcome:
    """Record a failed attempt on the claimed row ``mine``: failed for good when permanent
    or out of attempts (``NOTIFY_MAX_ATTEMPTS``), else pending after its back-off."""
    text = str(error)
    if isinstance(error, _Transient) and attempts < settings.NOTIFY_MAX_ATTEMPTS:
        delay = retry_delay(attempts)
        mine.update(status=NotificationStatus.PENDING, claimed_at=None, last_error=text[:2000],
                    next_attempt_at=now + timedelta(seconds=delay), **reply)
        return SendOutcome("retry", retry_in=delay, error=text)
    if isinstance(error, _Transient):
        text = f"Gave up after {attempts} attempts: {text}"
    mine.update(status=NotificationStatus.FAILED, last_error=text[:2000], **reply)
    return SendOutcome("failed", error=text)


def notification_send(*, notification_id: int, now: datetime) -> SendOutcome:
    """One attempt at one immediate notification. Never sends one that is sent, failed,
    being sent by a live worker, waiting for its back-off, or left for a daily summary."""
    if not _claim(Notification.objects.filter(pk=notification_id,
                                              mode=NotificationMode.IMMEDIATE), now=now):
        return SendOutcome("skipped")
    notification = (Notification.objects
                    .select_related("activity__initiative", "activity__actor", "recipient",
                                    "channel")
                    .get(pk=notification_id))
    mine = Notification.objects.filter(pk=notification_id, status=NotificationStatus.SENDING,
                                       claimed_at=now)
    try:
        if notification.channel_id:
            _post(notification)
        else:
            _email(notification)
    except (_Permanent, _Transient) as error:
        return _failed(mine, error, attempts=notification.attempts, now=now,
                       response_status=error.status, response_body=error.body[:2000])
    # An earlier attempt's failed reply is no longer what happened (the admin list shows it).
    mine.update(status=NotificationStatus.SENT, sent_at=now, last_error="",
                next_attempt_at=None, response_status=None, response_body="")
    return SendOutcome("sent")


def render(activity: Activity) -> hooks.Message:
    """The activity in the words of the app that records its kind."""
    return hooks.notifying_kinds()[activity.kind].render(activity)


def message_id_for(kind: str, pk: int) -> str:
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<{kind}.{pk}@{domain}>"


def _send_mail(*, to: str, subject: str, text: str, html: str, message_id: str,
               headers: dict) -> None:
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to],
        headers={"Message-ID": message_id, **headers},
        connection=get_connection(fail_silently=False))
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as error:
        permanent, text = classify_failure(error)
        raise (_Permanent if permanent else _Transient)(text) from None


def _email(notification: Notification) -> None:
    message = render(notification.activity)
    context = {"message": message, "link": absolute(message.link),
               "recipient": notification.recipient,
               "preferences": absolute(reverse("portfolio:notification-settings"))}
    _send_mail(to=notification.recipient.email, subject=message.subject[:200],
               text=render_to_string("emails/notification.txt", context),
               html=render_to_string("emails/notification.html", context),
               message_id=message_id_for("notification", notification.pk),
               headers={"X-Portfolio-Event": notification.activity.kind})


def _post(notification: Notification) -> None:
    channel = notification.channel
    if not channel.active:
        raise _Permanent("The channel was switched off before this was sent.")
    message = render(notification.activity)
    body = webhooks.payload(channel.kind, message, absolute(message.link))
    try:
        reply = webhooks.post(channel.url, body, allowed_hosts=allowed_webhook_hosts(),
                              allow_loopback=settings.WEBHOOK_ALLOW_LOOPBACK,
                              timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
                              idempotency_key=message_id_for("notification", notification.pk))
    except webhooks.WebhookRefused as error:
        raise _Permanent(str(error)) from None
    except OSError as error:
        raise _Transient(str(error)) from None
    if 200 <= reply.status < 300:
        return
    text = f"{reply.status} from {channel.get_kind_display()}"
    if reply.status in (408, 425, 429) or reply.status >= 500:
        raise _Transient(text, status=reply.status, body=reply.body)
    if 300 <= reply.status < 400:
        text += " (a redirect, which is never followed)"
    raise _Permanent(text, status=reply.status, body=reply.body)


def allowed_webhook_hosts() -> set[str]:
    return set(WebhookHost.objects.values_list("host", flat=True))


# --- Catching up -------------------------------------------------------------------------------

def notifications_catch_up(*, now: datetime) -> int:
    """Queue again immediate notifications left pending (a lost message, a back-off that is
    over) or abandoned by a killed worker, and daily summaries the same; each still sent
    once (the claim). Returns how many were queued."""
    lease = now - timedelta(seconds=settings.NOTIFY_SEND_LEASE_SECONDS)
    lost = (Q(status=NotificationStatus.PENDING)
            & (Q(next_attempt_at__lte=now)
               | Q(next_attempt_at__isnull=True, created_at__lte=now - CATCH_UP_GRACE))
            | Q(status=NotificationStatus.SENDING, claimed_at__lte=lease))
    due = list(Notification.objects.filter(lost, mode=NotificationMode.IMMEDIATE)
               .values_list("pk", flat=True))
    summaries = list(DailySummary.objects.filter(
        Q(status=NotificationStatus.PENDING)
        & (Q(next_attempt_at__lte=now)
           | Q(next_attempt_at__isnull=True, created_at__lte=now - CATCH_UP_GRACE))
        | Q(status=NotificationStatus.SENDING, claimed_at__lte=lease))
        .values_list("pk", flat=True))
    with transaction.atomic():
        _enqueue(due)
        _enqueue_summaries(summaries)
    return len(due) + len(summaries)


@transaction.atomic
def notification_resend(*, notification: Notification, actor, now: datetime) -> Notification:
    """An admin sends a failed notification again: pending, attempts from zero, queued."""
    changed = (Notification.objects.filter(pk=notification.pk, status=NotificationStatus.FAILED)
               .update(status=NotificationStatus.PENDING, attempts=0, claimed_at=None,
                       next_attempt_at=None, last_error=""))
    if not changed:
        raise DomainError(NOT_FAILED)
    _enqueue([notification.pk])
    notification.refresh_from_db()
    return notification


# --- The daily summary ---------------------------------------------------------------------------

def _enqueue_summaries(summary_ids: list[int]) -> None:
    from portfolio.tasks import daily_summary_send_task

    for pk in summary_ids:
        transaction.on_commit(lambda pk=pk: daily_summary_send_task.delay(pk))


def daily_summaries_run(*, now: datetime, enqueue: bool = True) -> list[int]:
    """Claim today's summary for each person with daily notifications waiting, and gather
    them into it. Safe to run again or twice at once: the summary is unique per person and
    day, and only the run whose insert landed gathers and queues it. Notifications that
    arrive after today's summary wait for tomorrow's. Returns the summaries claimed."""
    day = timezone.localdate(now)
    waiting = Notification.objects.filter(mode=NotificationMode.DAILY, summary__isnull=True,
                                          status=NotificationStatus.PENDING,
                                          created_at__lte=now)
    people = sorted(set(waiting.values_list("recipient_id", flat=True)))
    run = uuid.uuid4().hex[:12]
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    rows = [DailySummary(recipient_id=pk, day=day, created_at=now,
                         message_id=f"<summary.{day:%Y%m%d}.{pk}.{run}@{domain}>")
            for pk in people]
    with transaction.atomic():
        DailySummary.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        claimed = dict(DailySummary.objects.filter(message_id__in=[r.message_id for r in rows])
                       .values_list("recipient_id", "pk")) if rows else {}
        if claimed:
            waiting.filter(recipient__in=claimed).update(summary=Subquery(
                DailySummary.objects.filter(recipient=OuterRef("recipient"), day=day,
                                            pk__in=claimed.values()).values("pk")[:1]))
        if enqueue:
            _enqueue_summaries(sorted(claimed.values()))
    return sorted(claimed.values())


def daily_summary_send(*, summary_id: int, now: datetime) -> SendOutcome:
    """One attempt at one daily summary (the same claim and back-off as a notification)."""
    if not _claim(DailySummary.objects.filter(pk=summary_id), now=now):
        return SendOutcome("skipped")
    summary = DailySummary.objects.select_related("recipient").get(pk=summary_id)
    mine = DailySummary.objects.filter(pk=summary_id, status=NotificationStatus.SENDING,
                                       claimed_at=now)
    items = [(n, render(n.activity)) for n in summary.notifications
             .select_related("activity__initiative", "activity__actor")
             .order_by("activity__at", "pk")]
    context = {"recipient": summary.recipient, "day": summary.day,
               "items": [{"message": m, "link": absolute(m.link), "at": n.activity.at}
                         for n, m in items],
               "preferences": absolute(reverse("portfolio:notification-settings"))}
    subject = (f"Your daily summary: {len(items)} "
               f"{'thing' if len(items) == 1 else 'things'} that happened, "
               f"{summary.day:%-d %b %Y}")
    try:
        _send_mail(to=summary.recipient.email, subject=subject,
                   text=render_to_string("emails/daily-summary.txt", context),
                   html=render_to_string("emails/daily-summary.html", context),
                   message_id=summary.message_id, headers={"X-Portfolio-Summary":
                                                           f"{summary.day:%Y-%m-%d}"})
    except (_Permanent, _Transient) as error:
        return _failed(mine, error, attempts=summary.attempts, now=now)
    with transaction.atomic():
        mine.update(status=NotificationStatus.SENT, sent_at=now, last_error="",
                    next_attempt_at=None)
        summary.notifications.update(status=NotificationStatus.SENT, sent_at=now)
    return SendOutcome("sent")


# --- Admins: chat channels and the hosts they may post to ----------------------------------------

def webhook_host_clean(name: str) -> str:
    """``name`` as an allowed host is kept (a bare host name, lower case); refused with
    ``HOST_INVALID`` on ``host`` otherwise. Writes nothing: forms ask it too."""
    name = (name or "").strip().lower().rstrip(".")
    if not name or any(c in name for c in "/:@ ?#") or "." not in name and not \
            webhooks._is_loopback_name(name):
        raise DomainError(HOST_INVALID, field="host")
    return name


def chat_channel_url_errors(url: str) -> list[str]:
    """What is wrong with ``url`` as a channel's webhook today (no DNS asked; writes
    nothing: forms ask it too)."""
    return webhooks.url_errors(url, allowed_hosts=allowed_webhook_hosts(),
                               allow_loopback=settings.WEBHOOK_ALLOW_LOOPBACK)


@transaction.atomic
def webhook_host_save(*, host: WebhookHost, actor, now: datetime) -> WebhookHost:
    """Add or edit an allowed host: a bare host name, kept in lower case."""
    host.host = webhook_host_clean(host.host)
    host.full_clean()
    host.save()
    return host


@transaction.atomic
def webhook_host_delete(*, host: WebhookHost, actor, now: datetime) -> None:
    host.delete()


@transaction.atomic
def chat_channel_save(*, channel: ChatChannel, url: str | None, actor,
                      now: datetime) -> ChatChannel:
    """Add a channel or save an edit. ``url`` is the new webhook URL, or None to keep the
    saved one (it is never shown back, so an edit that leaves it blank keeps it). A URL
    must pass ``webhooks.url_errors`` against today's allowed hosts."""
    if url is not None and url.strip():
        errors = chat_channel_url_errors(url)
        if errors:
            raise DomainError(errors[0], field="url")
        channel.url = url.strip()
        channel.url_hint = webhooks.url_hint(channel.url)
    elif not channel.url:
        raise DomainError("A channel needs its webhook URL.", field="url")
    if channel.created_at is None:
        channel.created_at = now
    channel.full_clean()
    channel.save()
    return channel


@transaction.atomic
def chat_channel_delete(*, channel: ChatChannel, actor, now: datetime) -> None:
    channel.delete()
