"""Sending the weekly digest exactly once per recipient per ISO week.

1. ``digest_run`` builds every recipient's digest and *claims* a ``DigestDelivery``
   for each non-empty one, under a unique (recipient, period), before anything is
   sent; content and ``Message-ID`` are fixed then. Only the run whose insert landed
   enqueues the send, after its transaction commits.
2. ``digest_send`` claims the delivery for one attempt with a conditional UPDATE
   (pending, or sending but abandoned past its lease), sends it, and records the
   outcome: sent; failed for good (a 5xx for the recipient or the message); or back
   to pending with a growing back-off for anything transient (4xx, timeouts,
   refused connections), until ``DIGEST_MAX_ATTEMPTS``.
3. ``digest_catch_up`` (every 15 minutes) runs a week whose run beat missed, and
   re-enqueues deliveries left pending by a lost message or abandoned by a killed
   worker. Re-enqueueing is harmless: the claim lets one attempt through.
"""

from __future__ import annotations

import smtplib
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce

from portfolio.mail import classify_failure
from portfolio.models import DeliveryStatus, DigestDelivery, DigestRun
from portfolio.pilots.digest.content import (
    digest_recipients,
    digest_render,
    digests_build,
    period_of,
    scheduled_at,
    week_label,
)

# A pending delivery older than this with nothing sending it was lost: enqueue it again.
CATCH_UP_GRACE = timedelta(minutes=5)


def _enqueue(delivery_ids: list[int]) -> None:
    from portfolio.tasks import digest_send_task  # the task module imports this one

    for pk in delivery_ids:
        transaction.on_commit(lambda pk=pk: digest_send_task.delay(pk))


def message_id_for(*, period: date, recipient_id: int) -> str:
    """Stable for the delivery: set once when it is claimed, resent unchanged on retries."""
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<digest.{week_label(period)}.{recipient_id}.{uuid.uuid4().hex[:12]}@{domain}>"


@dataclass(frozen=True)
class RunResult:
    period: date
    claimed: list[int]  # deliveries this run claimed (and enqueued, unless told not to)
    empty: int  # recipients with nothing to report: nothing sent


def digest_run(*, now: datetime, enqueue: bool = True, recipient_ids=None) -> RunResult:
    """Build and claim this ISO week's digests; safe to run again or twice at once."""
    period = period_of(now)
    recipients = digest_recipients(period=period, now=now).exclude(
        digest_deliveries__period=period)  # claimed earlier this week: never again
    if recipient_ids is not None:
        recipients = recipients.filter(pk__in=recipient_ids)
    digests = digests_build(now=now, period=period, recipients=recipients)
    rows, empty = [], 0
    for digest in digests:
        if digest.is_empty:
            empty += 1
            continue
        subject, text, html = digest_render(digest)
        rows.append(DigestDelivery(
            recipient=digest.recipient, period=period, to_address=digest.recipient.email,
            message_id=message_id_for(period=period, recipient_id=digest.recipient.pk),
            subject=subject[:200], body_text=text, body_html=html, contents=digest.contents(),
            created_at=now))
    with transaction.atomic():
        # A concurrent run's claim wins; ours is dropped and not enqueued.
        DigestDelivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
        claimed = list(DigestDelivery.objects
                       .filter(message_id__in=[row.message_id for row in rows])
                       .values_list("pk", flat=True)) if rows else []
        if recipient_ids is None:
            DigestRun.objects.update_or_create(
                period=period, defaults={"finished_at": now},
                create_defaults={"finished_at": now, "deliveries": len(claimed)})
        if enqueue:
            _enqueue(claimed)
    return RunResult(period=period, claimed=claimed, empty=empty)


# --- Sending -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SendOutcome:
    status: str  # "sent", "failed", "retry", or "skipped" (not ours to send now)
    retry_in: float | None = None
    error: str = ""


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: doubling, capped."""
    base = settings.DIGEST_RETRY_BASE_SECONDS
    return float(min(base * 2 ** max(attempts - 1, 0), settings.DIGEST_RETRY_MAX_SECONDS))


def digest_send(*, delivery_id: int, now: datetime) -> SendOutcome:
    """One attempt at one delivery. Never sends a delivery that is sent, failed, being
    sent by a live worker, or waiting for its back-off."""
    lease = now - timedelta(seconds=settings.DIGEST_SEND_LEASE_SECONDS)
    claimable = (Q(status=DeliveryStatus.PENDING)
                 & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
                 | Q(status=DeliveryStatus.SENDING, claimed_at__lte=lease))
    claimed = DigestDelivery.objects.filter(claimable, pk=delivery_id).update(
        status=DeliveryStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return SendOutcome("skipped")
    delivery = DigestDelivery.objects.get(pk=delivery_id)
    mine = DigestDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING,
                                         claimed_at=now)
    try:
        _deliver(delivery)
    except (smtplib.SMTPException, OSError) as error:
        permanent, text = classify_failure(error)
        if permanent or delivery.attempts >= settings.DIGEST_MAX_ATTEMPTS:
            if not permanent:
                text = f"Gave up after {delivery.attempts} attempts: {text}"
            mine.update(status=DeliveryStatus.FAILED, last_error=text[:2000])
            return SendOutcome("failed", error=text)
        delay = retry_delay(delivery.attempts)
        mine.update(status=DeliveryStatus.PENDING, claimed_at=None, last_error=text[:2000],
                    next_attempt_at=now + timedelta(seconds=delay))
        return SendOutcome("retry", retry_in=delay, error=text)
    mine.update(status=DeliveryStatus.SENT, sent_at=now, last_error="", next_attempt_at=None)
    return SendOutcome("sent")


def _deliver(delivery: DigestDelivery) -> None:
    message = EmailMultiAlternatives(
        subject=delivery.subject, body=delivery.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL, to=[delivery.to_address],
        headers={"Message-ID": delivery.message_id,
                 "X-Portfolio-Digest": week_label(delivery.period)},
        connection=get_connection(fail_silently=False),
    )
    message.attach_alternative(delivery.body_html, "text/html")
    message.send()


# --- Catching up ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CatchUpResult:
    ran_week: bool  # the week's run had not happened: it ran now
    requeued: int


def digest_catch_up(*, now: datetime) -> CatchUpResult:
    """Run a week beat missed; re-enqueue deliveries lost or abandoned (still once each)."""
    period = period_of(now)
    ran = False
    if now >= scheduled_at(period) and not DigestRun.objects.filter(period=period).exists():
        digest_run(now=now)
        ran = True
    lease = now - timedelta(seconds=settings.DIGEST_SEND_LEASE_SECONDS)
    due = list(DigestDelivery.objects
               .filter(Q(status=DeliveryStatus.PENDING)
                       | Q(status=DeliveryStatus.SENDING, claimed_at__lte=lease))
               .annotate(due_at=Coalesce("next_attempt_at", "created_at"))
               .filter(Q(status=DeliveryStatus.SENDING) | Q(due_at__lte=now - CATCH_UP_GRACE))
               .values_list("pk", flat=True))
    with transaction.atomic():
        _enqueue(due)
    return CatchUpResult(ran_week=ran, requeued=len(due))
