"""Notifications: who hears of an event, how, and the outbox that delivers it.

The event is an ``Activity`` (portfolio's table, which every app writes through
``activity_record``). For an activity of a kind that notifies, ``events_fan_out`` writes,
in the same transaction, one ``Notification`` per person who should hear of it and one per
chat channel of the initiative's team; a worker sends them (docs/architecture.md,
"Notifications").
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class NotificationMode(models.TextChoices):
    IMMEDIATE = "immediate", "Immediately"
    DAILY = "daily", "In a daily summary"
    OFF = "off", "Off"


class NotificationPreference(models.Model):
    """A person's choice for one kind of event; without a row the kind's default holds."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notification_preferences")
    kind = models.CharField(max_length=32)
    mode = models.CharField(max_length=16, choices=NotificationMode.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_pref_one"),
            models.CheckConstraint(condition=Q(mode__in=NotificationMode.values),
                                   name="notification_pref_mode_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.kind}: {self.mode}"


class ChannelKind(models.TextChoices):
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"


class WebhookHost(models.Model):
    """A host chat webhooks may post to. Admins keep the list; a channel's URL must name one
    of these hosts, over https, and nothing else is ever requested."""

    host = models.CharField(max_length=253, unique=True,
                            help_text="A host name such as hooks.slack.com, nothing else "
                                      "(no scheme, port or path).")
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["host"]
        verbose_name = "allowed webhook host"

    def __str__(self) -> str:
        return self.host


class ChatChannel(models.Model):
    """A Slack or Microsoft Teams incoming webhook for one team: it carries every event on
    the team's initiatives. The URL is a secret: stored, used by the worker, never shown
    back in full (``url_hint``) and never logged."""

    team = models.ForeignKey("portfolio.Team", on_delete=models.CASCADE,
                             related_name="chat_channels")
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    name = models.CharField(max_length=100, help_text="How people know it, e.g. #ai-sales.")
    url = models.CharField(max_length=1000)
    url_hint = models.CharField(max_length=200, editable=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["team__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="chat_channel_name_unique"),
            models.CheckConstraint(condition=Q(kind__in=ChannelKind.values),
                                   name="chat_channel_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()}, {self.url_hint})"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Notification(models.Model):
    """The outbox: one event for one person (by email) or one chat channel. Unique per
    (event, person) and (event, channel), so nothing is written or sent twice."""

    Status = NotificationStatus

    activity = models.ForeignKey("portfolio.Activity", on_delete=models.CASCADE,
                                 related_name="notifications")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  null=True, blank=True, related_name="notifications")
    channel = models.ForeignKey(ChatChannel, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="notifications")
    mode = models.CharField(max_length=16, choices=NotificationMode.choices,
                            default=NotificationMode.IMMEDIATE)
    status = models.CharField(max_length=16, choices=NotificationStatus.choices,
                              default=NotificationStatus.PENDING)
    created_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    summary = models.ForeignKey("portfolio.DailySummary", on_delete=models.SET_NULL,
                                null=True, blank=True, related_name="notifications")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The worker's catch-up: immediate deliveries still to send.
            models.Index(fields=["created_at"], name="notification_due",
                         condition=Q(status__in=["pending", "sending"], mode="immediate")),
            # The daily summary: each person's waiting daily notifications.
            models.Index(fields=["recipient", "created_at"], name="notification_daily",
                         condition=Q(mode="daily", summary__isnull=True)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["activity", "recipient"],
                                    condition=Q(recipient__isnull=False),
                                    name="notification_once_per_person"),
            models.UniqueConstraint(fields=["activity", "channel"],
                                    condition=Q(channel__isnull=False),
                                    name="notification_once_per_channel"),
            models.CheckConstraint(
                condition=(Q(recipient__isnull=False, channel__isnull=True)
                           | Q(recipient__isnull=True, channel__isnull=False)),
                name="notification_one_target"),
            models.CheckConstraint(condition=Q(mode__in=["immediate", "daily"]),
                                   name="notification_mode_valid"),
            models.CheckConstraint(condition=Q(channel__isnull=True) | Q(mode="immediate"),
                                   name="notification_channel_immediate"),
            models.CheckConstraint(condition=Q(status__in=NotificationStatus.values),
                                   name="notification_status_valid"),
        ]

    def __str__(self) -> str:
        target = self.channel or self.recipient
        return f"{self.activity.get_kind_display()} → {target} ({self.status})"


class DailySummary(models.Model):
    """One email a day per person, gathering the notifications they asked to receive daily.
    Unique per (recipient, day): claimed before it is sent, so sent at most once a day."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="daily_summaries")
    day = models.DateField()
    status = models.CharField(max_length=16, choices=NotificationStatus.choices,
                              default=NotificationStatus.PENDING)
    message_id = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-day", "recipient"]
        verbose_name_plural = "daily summaries"
        constraints = [
            models.UniqueConstraint(fields=["recipient", "day"], name="daily_summary_once"),
            models.CheckConstraint(condition=Q(status__in=NotificationStatus.values),
                                   name="daily_summary_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient} · {self.day:%Y-%m-%d} ({self.status})"
