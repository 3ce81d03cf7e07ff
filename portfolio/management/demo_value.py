"""The demo's value reviews: what production initiatives delivered against their business
case (``manage.py seed_demo``, once every initiative's history is written).

The daily job (``outcomes.services.value_reviews_schedule``) runs on each day a review
came due, so each review exists from its due date; owners record most of them a few days
later. Sales Enablement consistently over-predicts; one initiative's value at risk was
decided, another's waits for a decision; some reviews were left unrecorded (overdue), and
those that came due in the last days wait for their owner.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from portfolio.management.demo_data import (
    DEFAULT_REALISED_SHARE,
    REALISED_SHARE,
    REVIEW_DELAY_DAYS,
    REVIEW_NOT_RECORDED,
    RUN_COST_SHARE,
    SEED,
    VALUE_AT_RISK,
    VALUE_NOTES,
)
from portfolio.models import Initiative, ValueReview
from portfolio.outcomes import services as outcomes
from portfolio.outcomes.selectors import VALUE_STAGES, production_since_q

JOB_HOUR = 6  # the daily job runs early in the morning


def _money(amount: Decimal, share: float) -> Decimal:
    """``share`` of ``amount``, rounded to the thousand."""
    return (amount * Decimal(str(share)) / 1000).quantize(Decimal(1)) * 1000


def load_value_reviews(loader) -> None:
    now = loader.now
    today = timezone.localdate(now)
    steps = []  # (moment, order, step, arguments)
    for initiative in (Initiative.objects.filter(stage__in=VALUE_STAGES)
                       .annotate(since=production_since_q()).select_related("team", "owner")
                       .order_by("title")):
        rng = random.Random(f"{SEED}:{initiative.title}:value")
        entered = timezone.localdate(initiative.since)
        due_days = [days for days in settings.VALUE_REVIEW_DAYS
                    if entered + timedelta(days=days) <= today]
        for days in due_days:
            due = entered + timedelta(days=days)
            job_at = min(now, timezone.make_aware(datetime.combine(due, time(JOB_HOUR))))
            steps.append((job_at, 0, "schedule", None))
            recorded_at = job_at + timedelta(days=rng.randint(*REVIEW_DELAY_DAYS),
                                             hours=rng.randint(1, 9))
            latest = days == due_days[-1]
            if recorded_at > now - timedelta(hours=1) or (
                    latest and initiative.title in REVIEW_NOT_RECORDED):
                continue  # still to record: due, or overdue once the grace period passes
            share = rng.uniform(*REALISED_SHARE.get(initiative.team.slug,
                                                    DEFAULT_REALISED_SHARE))
            at_risk = VALUE_AT_RISK.get(initiative.title) if latest else None
            if at_risk is not None:
                share = at_risk[0]
            steps.append((recorded_at, 1, "record", (initiative, days, share, rng)))
            if at_risk is not None and at_risk[1]:
                steps.append((min(recorded_at + timedelta(days=2), now - timedelta(minutes=5)),
                              2, "decide", (initiative, days, at_risk)))
    scheduled = set()
    for at, _, step, arguments in sorted(steps, key=lambda step: step[:2]):
        if step == "schedule":
            if at not in scheduled:
                scheduled.add(at)
                outcomes.value_reviews_schedule(now=at)
        elif step == "record":
            initiative, days, share, rng = arguments
            outcomes.value_review_record(
                review=_review(initiative, days), actor=initiative.owner, now=at,
                realised_value=_money(initiative.predicted_annual_value, share),
                run_cost=_money(initiative.predicted_annual_run_cost,
                                rng.uniform(*RUN_COST_SHARE)),
                note=rng.choice(VALUE_NOTES))
        else:
            initiative, days, (_, decision, note) = arguments
            outcomes.value_decide(review=_review(initiative, days), decision=decision,
                                  note=note, actor=initiative.owner, now=at)


def _review(initiative: Initiative, days: int) -> ValueReview:
    return ValueReview.objects.get(initiative=initiative, production_since=initiative.since,
                                   days=days)
