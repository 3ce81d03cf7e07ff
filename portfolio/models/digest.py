"""The weekly digest: who follows what, and each delivery.

Exactly one digest per recipient per ISO week: a ``DigestDelivery`` is claimed
under a unique (recipient, period) before anything is sent, its content is
built once and kept, and its ``message_id`` is stable across retries. Rules live
in ``portfolio.digest``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from portfolio.models.core import Team


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
