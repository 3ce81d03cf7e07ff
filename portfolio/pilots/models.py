"""Stalled pilots and the weekly digest that reports them: their tables.

**Stalls.** Detection writes a flag; a person decides. A flag is open from
``flagged_at`` until ``resolved_at``. It resolves itself when the pilot leaves pilot
or is no longer stalled for any reason; *extend* resolves it until a new decision
date; *kill* retires the initiative. *Scale* tries the move to production and, while
the gate blocks it, leaves the flag open but decided.

**The digest.** Exactly one digest per recipient per ISO week: a ``DigestDelivery`` is
claimed under a unique (recipient, period) before anything is sent, its content is
built once and kept, and its ``message_id`` is stable across retries.

The rules live in ``portfolio.pilots.services`` and ``portfolio.pilots.digest``. The
tables belong to the ``portfolio`` app (``portfolio.models`` re-exports them).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from portfolio.models.core import Initiative, Team


class StallReason(models.TextChoices):
    TOO_LONG = "too_long", "In pilot too long"
    IDLE = "idle", "No recent activity"
    TOO_LONG_AND_IDLE = "too_long_and_idle", "In pilot too long, and idle"


class StallDecision(models.TextChoices):
    SCALE = "scale", "Scale to production"
    EXTEND = "extend", "Extend the pilot"
    KILL = "kill", "Kill (retire)"


class StallResolution(models.TextChoices):
    MOVED = "moved", "Left pilot"
    ACTIVE = "active", "No longer stalled"
    EXTENDED = "extended", "Extended"
    KILLED = "killed", "Killed"


class StallFlagQuerySet(models.QuerySet):
    def open(self) -> StallFlagQuerySet:
        return self.filter(resolved_at__isnull=True)

    def resolve(self, *, resolution: str, now: datetime) -> int:
        """Close the open flags among these; returns how many closed (safe to race)."""
        return self.open().update(resolved_at=now, resolution=resolution)


class StallFlag(models.Model):
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE,
                                   related_name="stall_flags")
    reason = models.CharField(max_length=24, choices=StallReason.choices)
    flagged_at = models.DateTimeField()
    detection_run = models.CharField(
        max_length=32, help_text="The detection run that raised the flag (its claim token).")

    decision = models.CharField(max_length=8, choices=StallDecision.choices, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(
        blank=True, help_text="The justification of an extension, or what blocks a scale-up.")
    extended_until = models.DateField(
        null=True, blank=True, help_text="Extended pilots are not flagged again before this date.")

    escalated_at = models.DateTimeField(
        null=True, blank=True, help_text="When the sponsor was added to the digest for it.")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=8, choices=StallResolution.choices, blank=True)

    objects = StallFlagQuerySet.as_manager()

    class Meta:
        ordering = ["flagged_at", "id"]
        constraints = [
            # Detection claims a pilot by inserting under this: runs at once flag it once.
            models.UniqueConstraint(fields=["initiative"], condition=Q(resolved_at__isnull=True),
                                    name="stall_flag_one_open_per_initiative"),
            models.CheckConstraint(condition=Q(reason__in=StallReason.values),
                                   name="stall_flag_reason_valid"),
            models.CheckConstraint(condition=Q(decision="") | Q(decision__in=StallDecision.values),
                                   name="stall_flag_decision_valid"),
            models.CheckConstraint(
                condition=Q(resolution="") | Q(resolution__in=StallResolution.values),
                name="stall_flag_resolution_valid"),
            models.CheckConstraint(
                condition=(Q(resolved_at__isnull=True, resolution="")
                           | Q(resolved_at__isnull=False) & ~Q(resolution="")),
                name="stall_flag_resolved_with_resolution"),
            models.CheckConstraint(
                condition=Q(decision="") | Q(decided_at__isnull=False, decided_by__isnull=False),
                name="stall_flag_decision_has_who_and_when"),
            models.CheckConstraint(
                condition=~Q(decision=StallDecision.EXTEND) | Q(extended_until__isnull=False),
                name="stall_flag_extension_has_date"),
        ]
        indexes = [
            # Detection's resolve step, escalation and the digest read open flags only.
            models.Index(fields=["flagged_at"], condition=Q(resolved_at__isnull=True),
                         name="stall_flag_open"),
            # Detection skips pilots whose extension runs until a later date.
            models.Index(fields=["initiative", "extended_until"],
                         condition=Q(extended_until__isnull=False),
                         name="stall_flag_extensions"),
        ]

    def __str__(self) -> str:
        return (f"{self.initiative_id} stalled ({self.get_reason_display()}) "
                f"at {self.flagged_at:%Y-%m-%d}")

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    def weeks_undecided(self, now: datetime) -> int | None:
        """Whole weeks since the flag was raised while nobody decided; None once decided."""
        if self.decision or not self.is_open:
            return None
        return max((now - self.flagged_at).days // 7, 0)


class DigestSubscription(models.Model):
    """A TPM's digest settings: the teams they follow (none: all teams), or opted out."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="digest_subscription")
    teams = models.ManyToManyField(Team, blank=True, related_name="+",
                                   help_text="Leave empty to follow every team.")
    opted_out = models.BooleanField(default=False, help_text="Receive no weekly digest.")
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Digest settings of {self.user}"


class DigestRun(models.Model):
    """One week's digest run finished: the catch-up job runs a week that has none."""

    period = models.DateField(unique=True, help_text="The Monday of the ISO week.")
    finished_at = models.DateTimeField()
    deliveries = models.PositiveIntegerField(help_text="Digests claimed by this run.")

    class Meta:
        ordering = ["-period"]

    def __str__(self) -> str:
        return f"Digest run for the week of {self.period}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class DigestDelivery(models.Model):
    Status = DeliveryStatus

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="digest_deliveries")
    period = models.DateField(help_text="The Monday of the ISO week.")
    status = models.CharField(max_length=8, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    message_id = models.CharField(max_length=200, unique=True)
    to_address = models.EmailField()
    subject = models.CharField(max_length=200)
    body_text = models.TextField()
    body_html = models.TextField()
    contents = models.JSONField(
        default=dict, help_text="What it reported, by section (stall flag and initiative ids).")
    created_at = models.DateTimeField(help_text="When its content was built.")
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True,
                                      help_text="When a worker took it to send.")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "digest deliveries"
        ordering = ["-period", "recipient_id"]
        constraints = [
            # Claimed before sending: one digest per recipient per ISO week.
            models.UniqueConstraint(fields=["recipient", "period"],
                                    name="digest_delivery_once_per_week"),
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values),
                                   name="digest_delivery_status_valid"),
            models.CheckConstraint(condition=~Q(status=DeliveryStatus.SENT)
                                   | Q(sent_at__isnull=False),
                                   name="digest_delivery_sent_has_time"),
        ]
        indexes = [
            # The catch-up job's "what is due": deliveries not yet sent or failed.
            models.Index(fields=["status", "claimed_at"],
                         condition=Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
                         name="digest_delivery_unsent"),
            # "What changed since the last digest" reads each recipient's latest one.
            models.Index(fields=["recipient", "-period"], name="digest_delivery_latest"),
        ]

    def __str__(self) -> str:
        return f"Digest for {self.recipient} (week of {self.period}): {self.get_status_display()}"
