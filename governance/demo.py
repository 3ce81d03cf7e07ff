"""Governance's part of the demo portfolio (``manage.py seed_demo``).

Before each move the demo history makes, the checkpoints the move needs are decided by a
reviewer at a realistic time before it, so the gate holds for the demo as for everyone.
Once the portfolio is built: the demo PM's pilot cleared for production (only its exit
contract holds it back), a review backlog (in review, overdue, one rejected), a live
and an expired waiver, and a production initiative made autonomous that is out of
compliance until its new agentic checkpoints are decided.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils.text import slugify

from governance import services
from governance.catalogue import load_default_catalogue
from governance.models import Checkpoint, CheckpointType
from portfolio import services as portfolio_services
from portfolio.management.demo_data import DEMO_PM_PILOT
from portfolio.models import STAGE_ORDER, Initiative, Stage

SEED = 2026
REVIEWERS = ("reviewer", "hannah.schmidt")
# (initiative, checkpoint) -> days from today the waiver expires; waived when the move
# that needs it happens, instead of approved.
WAIVED_AT_ENTRY = {
    ("Self-service returns chatbot", "security-review"): 40,
    ("Voice of the customer theme mining", "feedback-loop"): -12,
}
REJECTED = {("Knowledge base gap finder", "evaluation-plan"):
            "The test set holds 40 tickets, all from one queue; sample every queue and "
            "re-submit."}
# Ideas whose EU AI Act classification is already done: they may enter assessment.
CLASSIFIED_IDEAS = ("Proactive outage notification agent", "Field service visit summariser")
IN_REVIEW = ("Knowledge base gap finder", "Customer churn early warning",
             "Credit limit recommendation", "Interview scheduling agent")
# In production, it starts acting on its own: the agentic checkpoints now apply.
MADE_AUTONOMOUS = ("Expense policy checker",
                   "From next month it approves in-policy expenses on its own; the agentic "
                   "reviews are booked.")


def before_load() -> None:
    load_default_catalogue(CheckpointType)


def _reviewer_for(initiative: Initiative, users: dict):
    for name in REVIEWERS:
        user = users[name]
        if user.pk not in (initiative.owner_id, initiative.sponsor_id):
            return user
    raise LookupError(f"No independent reviewer for {initiative}")


def before_move(*, initiative: Initiative, to_stage: str, at, users: dict, now) -> None:
    """Decide what the move needs, each a realistic number of days after it was requested."""
    if to_stage not in STAGE_ORDER:
        return
    needed = (Checkpoint.objects.applicable().uncleared(at.date())
              .filter(initiative=initiative,
                      type__required_for__in=STAGE_ORDER[:STAGE_ORDER.index(to_stage) + 1])
              .select_related("type", "initiative"))
    reviewer = _reviewer_for(initiative, users)
    for checkpoint in needed:
        rng = random.Random(f"{SEED}:{initiative.title}:{checkpoint.type.code}")
        window = at - checkpoint.requested_at
        lead = timedelta(days=checkpoint.type.review_days * rng.uniform(0.5, 1.8),
                         hours=rng.randint(1, 8))
        decided = max(min(checkpoint.requested_at + lead, at - timedelta(hours=2)),
                      checkpoint.requested_at + window / 2)
        waiver_days = WAIVED_AT_ENTRY.get((initiative.title, checkpoint.type.code))
        if waiver_days is not None:
            # A live waiver runs to a date after today; a lapsed one ran out after the move.
            expires = (now + timedelta(days=waiver_days) if waiver_days > 0
                       else min(at + timedelta(days=30), now + timedelta(days=waiver_days)))
            services.checkpoint_waive(
                checkpoint=checkpoint, actor=reviewer, expected_version=checkpoint.version,
                justification="Compensating control agreed with the owner while the full "
                              "review is scheduled.",
                expires_on=expires.date(), now=decided)
            continue
        services.checkpoint_decide(
            checkpoint=checkpoint, actor=reviewer, approve=True,
            expected_version=checkpoint.version,
            evidence_url=f"https://wiki.example.com/ai-governance/{slugify(initiative.title)}/"
                         f"{checkpoint.type.code}",
            evidence_notes=f"{checkpoint.type.name}: evidence reviewed, no open findings.",
            now=decided)


def _work_the_backlog(users: dict, now) -> None:
    """Reviewers got through part of what is due: about half decided at a realistic lead
    time, a fifth in review, the rest waiting (some of it overdue)."""
    due = (Checkpoint.objects.applicable().actionable()
           .filter(status="not_started").select_related("initiative", "type")
           .order_by("initiative__title", "type__code"))
    for checkpoint in due:
        rng = random.Random(f"{SEED}:backlog:{checkpoint.initiative.title}:{checkpoint.type.code}")
        lead = timedelta(days=checkpoint.type.review_days * rng.uniform(0.5, 1.8),
                         hours=rng.randint(1, 8))
        decided = checkpoint.requested_at + lead
        roll = rng.random()
        if decided >= now - timedelta(days=1) or roll > 0.75:
            continue
        reviewer = _reviewer_for(checkpoint.initiative, users)
        if roll < 0.55:
            services.checkpoint_decide(
                checkpoint=checkpoint, actor=reviewer, approve=True,
                expected_version=checkpoint.version,
                evidence_notes=f"{checkpoint.type.name}: evidence reviewed, no open findings.",
                now=decided)
        else:
            services.checkpoint_start_review(checkpoint=checkpoint, actor=reviewer,
                                             expected_version=checkpoint.version,
                                             now=checkpoint.requested_at + lead / 3)


def _clear_for_production(initiative: Initiative, users: dict, now) -> None:
    """Every checkpoint the move to production needs, approved over the last week: only
    the exit contract holds the initiative back."""
    needed = (Checkpoint.objects.applicable().uncleared(now.date())
              .filter(initiative=initiative,
                      type__required_for__in=STAGE_ORDER[:STAGE_ORDER.index(Stage.PRODUCTION)
                                                         + 1])
              .select_related("type").order_by("type__code"))
    reviewer = _reviewer_for(initiative, users)
    for days_ago, checkpoint in enumerate(needed, start=2):
        services.checkpoint_decide(
            checkpoint=checkpoint, actor=reviewer, approve=True,
            expected_version=checkpoint.version,
            evidence_url=f"https://wiki.example.com/ai-governance/{slugify(initiative.title)}/"
                         f"{checkpoint.type.code}",
            evidence_notes=f"{checkpoint.type.name}: evidence reviewed, no open findings.",
            now=max(now - timedelta(days=days_ago), checkpoint.requested_at
                    + timedelta(hours=2)))


def after_load(*, loader) -> None:
    users, now = loader.users, loader.now
    _clear_for_production(Initiative.objects.get(title=DEMO_PM_PILOT), users, now)
    for (title, code), notes in REJECTED.items():
        checkpoint = Checkpoint.objects.get(initiative__title=title, type__code=code)
        services.checkpoint_decide(checkpoint=checkpoint, actor=users["reviewer"], approve=False,
                                   expected_version=checkpoint.version, evidence_notes=notes,
                                   now=now - timedelta(days=6))
    for title in CLASSIFIED_IDEAS:
        checkpoint = Checkpoint.objects.select_related("initiative").get(
            initiative__title=title, type__code="risk-classification")
        services.checkpoint_decide(
            checkpoint=checkpoint, actor=_reviewer_for(checkpoint.initiative, users),
            approve=True, expected_version=checkpoint.version,
            evidence_notes="Classified minimal risk: no Annex III use, no prohibited practice.",
            now=now - timedelta(days=4))
    for index, title in enumerate(IN_REVIEW):
        initiative = Initiative.objects.get(title=title)
        reviewer = _reviewer_for(initiative, users)
        for checkpoint in (Checkpoint.objects.applicable()
                           .filter(initiative=initiative, status="not_started")
                           .select_related("initiative")[:2]):
            services.checkpoint_start_review(checkpoint=checkpoint, actor=reviewer,
                                             expected_version=checkpoint.version,
                                             now=now - timedelta(days=3 + index))
    _work_the_backlog(users, now)
    title, why = MADE_AUTONOMOUS
    initiative = Initiative.objects.get(title=title)
    if initiative.stage in (Stage.PRODUCTION, Stage.SCALED):
        portfolio_services.initiative_update(
            initiative=initiative, actor=initiative.owner, now=now - timedelta(days=2),
            expected_version=initiative.version, changes={"autonomy_level": "autonomous"})
        portfolio_services.update_post(initiative=initiative, author=initiative.owner,
                                       body=why, health="at_risk",
                                       now=now - timedelta(days=2, hours=-1))
    services.waivers_lapse(now=now)
