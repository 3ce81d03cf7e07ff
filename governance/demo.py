"""Governance's part of the demo portfolio (``manage.py seed_demo``).

Before each move the demo history makes, the checkpoints the move needs are decided by a
reviewer at a realistic time before it, so the gate holds for the demo as for everyone.
Once the portfolio is built: reviewer capacity set for most of the catalogue, the demo
PM's pilot cleared for production (only its exit contract holds it back), a realistic
review backlog (reviewers kept up: what is open was mostly requested lately and is on
time; two reliability reviews wait for rollback drills that keep slipping and hold the
demo PM's two stalled pilots, one of which the TPM asked to scale; one rejection waits
for a better test set), a live and an expired waiver, and a production
initiative made autonomous that is out of compliance until its new agentic checkpoints
are decided. Two reviewer groups (security and privacy; model risk) with routes for their
checkpoint types, set up two months ago: open reviews go to them, every other type to any
reviewer. Every decision respects segregation of duties: nobody decides on an initiative
they own, sponsor, or are Responsible or Consulted on (``_reviewer_for``).
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.utils.text import slugify

from governance import services
from governance.catalogue import load_default_catalogue
from governance.models import Checkpoint, CheckpointType, ReviewerGroup, ReviewRoute
from portfolio import services as portfolio_services
from portfolio.management.demo_data import DEMO_PM_PILOT, consulted_reviewer
from portfolio.models import STAGE_ORDER, Initiative, Stage

SEED = 2026
REVIEWERS = ("reviewer", "hannah.schmidt", "ines.moreau")
# Reviewer groups the admins set up two months ago: name -> (members, the checkpoint types
# routed to it). Every other type goes to any reviewer.
REVIEWER_GROUPS = {
    "Security & privacy reviewers": (("reviewer", "hannah.schmidt"),
                                     ("security-review", "privacy-review")),
    "Model risk reviewers": (("ines.moreau", "hannah.schmidt"),
                             ("bias-fairness", "evaluation-plan")),
}
ROUTED_DAYS_AGO = 60
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
# Reviewer capacity the admins set (reviews a week). Feedback loops and autonomy
# boundaries are left empty: the first's pace is measured from its recent decisions, the
# second (nothing decided lately) is taken from its expected review time.
REVIEWS_PER_WEEK = {
    "risk-classification": "3", "security-review": "2", "privacy-review": "1.5",
    "compliance-review": "1", "ip-licensing": "2", "evaluation-plan": "2",
    "bias-fairness": "1", "observability": "2", "prompt-model-versioning": "3",
    "operational-runbook": "2", "reliability-rollback": "2", "human-oversight": "1",
    "failure-recovery": "1",
}
# A review takes between these multiples of its type's review_days: most are decided in
# time, some run up to half as long again (and are a few days late while they do).
LEAD_RANGE = (0.4, 1.5)
# Reviews that stay open on purpose, long overdue: the reviewer is waiting for each team's
# rollback drill, which keeps slipping. They hold the demo PM's two pilots: one idle (a
# stalled pilot), and one stalled that the TPM asked to scale (demo_digest's scale-up
# "while governance still blocks production").
KEPT_OPEN = {
    ("Call summarisation and wrap-up notes", "reliability-rollback"),
    ("Refund approval agent", "reliability-rollback"),
}
# Of the reviews still inside their time, this share is already in review.
IN_REVIEW_SHARE = 0.5
# In production, it starts acting on its own: the agentic checkpoints now apply.
MADE_AUTONOMOUS = ("Expense policy checker",
                   "From next month it approves in-policy expenses on its own; the agentic "
                   "reviews are booked.")


def before_load() -> None:
    load_default_catalogue(CheckpointType)


def _set_capacity(users: dict, now) -> None:
    for code, per_week in REVIEWS_PER_WEEK.items():
        checkpoint_type = CheckpointType.objects.get(code=code)
        checkpoint_type.reviews_per_week = Decimal(per_week)
        services.checkpoint_type_save(checkpoint_type=checkpoint_type, actor=users["admin"],
                                      now=now - timedelta(days=60))


def _lead(checkpoint: Checkpoint, rng: random.Random) -> timedelta:
    """How long a review took (or will take): a realistic share of its review time."""
    return timedelta(days=checkpoint.type.review_days * rng.uniform(*LEAD_RANGE),
                     hours=rng.randint(1, 8))


def _reviewer_for(initiative: Initiative, users: dict, group_id: int | None = None):
    """The first reviewer segregation of duties lets decide ``initiative``'s checkpoints:
    not its owner or sponsor, not Consulted on it (nor holding another role
    ``SEGREGATED_ROLES`` names); the members of ``group_id`` (the checkpoint's reviewer
    group) first. The demo's Consulted reviewer is named before the history is written
    (``consulted_reviewer``), so decisions made then already respect it."""
    members = (sorted(ReviewerGroup.objects.get(pk=group_id).members
                      .values_list("username", flat=True)) if group_id else [])
    consulted = consulted_reviewer(initiative)
    for name in [*members, *(name for name in REVIEWERS if name not in members)]:
        user = users[name]
        if (user.pk in (initiative.owner_id, initiative.sponsor_id) or name == consulted
                or services.segregated_stakes(user, [initiative.pk])):
            continue
        return user
    raise LookupError(f"No independent reviewer for {initiative}")


def _route_reviews(users: dict, now) -> None:
    """The reviewer groups and their routes; open checkpoints follow the routes."""
    at = now - timedelta(days=ROUTED_DAYS_AGO)
    for name, (members, codes) in REVIEWER_GROUPS.items():
        group = services.reviewer_group_save(group=ReviewerGroup(name=name),
                                             actor=users["admin"], now=at)
        group.members.set([users[member] for member in members])
        for code in codes:
            services.review_route_save(
                route=ReviewRoute(checkpoint_type=CheckpointType.objects.get(code=code),
                                  group=group), actor=users["admin"], now=at)


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
        lead = _lead(checkpoint, rng)
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
    """Reviewers kept up: each review waiting to start is decided a realistic time after it
    was requested (``LEAD_RANGE``), if that time has passed. The rest are open: mostly on
    time (about half of them in review), a few late because their review runs long.
    ``KEPT_OPEN`` stays open, in review, on purpose."""
    due = (Checkpoint.objects.applicable().actionable()
           .filter(status="not_started").select_related("initiative", "type")
           .order_by("initiative__title", "type__code"))
    for checkpoint in due:
        title, code = checkpoint.initiative.title, checkpoint.type.code
        rng = random.Random(f"{SEED}:backlog:{title}:{code}")
        lead = _lead(checkpoint, rng)
        reviewer = _reviewer_for(checkpoint.initiative, users, checkpoint.reviewer_group_id)
        started = checkpoint.requested_at + lead / 3
        if (title, code) in KEPT_OPEN or checkpoint.requested_at + lead >= now:
            if (title, code) in KEPT_OPEN or (rng.random() < IN_REVIEW_SHARE and started < now):
                services.checkpoint_start_review(checkpoint=checkpoint, actor=reviewer,
                                                 expected_version=checkpoint.version,
                                                 now=min(started, now - timedelta(hours=1)))
            continue
        services.checkpoint_decide(
            checkpoint=checkpoint, actor=reviewer, approve=True,
            expected_version=checkpoint.version,
            evidence_url=f"https://wiki.example.com/ai-governance/{slugify(title)}/{code}",
            evidence_notes=f"{checkpoint.type.name}: evidence reviewed, no open findings.",
            now=checkpoint.requested_at + lead)


def _clear_for_production(initiative: Initiative, users: dict, now) -> None:
    """Every checkpoint the move to production needs, approved over the last week: only
    the exit contract holds the initiative back."""
    needed = (Checkpoint.objects.applicable().uncleared(now.date())
              .filter(initiative=initiative,
                      type__required_for__in=STAGE_ORDER[:STAGE_ORDER.index(Stage.PRODUCTION)
                                                         + 1])
              .select_related("type").order_by("type__code"))
    for days_ago, checkpoint in enumerate(needed, start=2):
        services.checkpoint_decide(
            checkpoint=checkpoint, approve=True,
            actor=_reviewer_for(initiative, users, checkpoint.reviewer_group_id),
            expected_version=checkpoint.version,
            evidence_url=f"https://wiki.example.com/ai-governance/{slugify(initiative.title)}/"
                         f"{checkpoint.type.code}",
            evidence_notes=f"{checkpoint.type.name}: evidence reviewed, no open findings.",
            now=max(now - timedelta(days=days_ago), checkpoint.requested_at
                    + timedelta(hours=2)))


def after_load(*, loader) -> None:
    users, now = loader.users, loader.now
    _set_capacity(users, now)
    _route_reviews(users, now)
    _clear_for_production(Initiative.objects.get(title=DEMO_PM_PILOT), users, now)
    for (title, code), notes in REJECTED.items():
        checkpoint = Checkpoint.objects.select_related("initiative").get(
            initiative__title=title, type__code=code)
        services.checkpoint_decide(
            checkpoint=checkpoint, approve=False,
            actor=_reviewer_for(checkpoint.initiative, users, checkpoint.reviewer_group_id),
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
