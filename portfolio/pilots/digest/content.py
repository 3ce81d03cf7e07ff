"""What each recipient's weekly digest says: built for every recipient in six queries.

The digest goes to each TPM for the teams they follow (all teams if none), to an
initiative's sponsor once its stall has gone undecided for ``STALL_ESCALATE_WEEKS``, and
to the owner of an initiative whose value review is overdue. It lists newly stalled pilots
(flagged since the recipient's last digest), still-stalled ones (with weeks undecided),
value reviews overdue and value at risk (awaiting a decision), exit contract overrides
recorded since the last digest, and what changed since then: stage moves, new blockers
and out-of-compliance, crossings of the funding line, and moves that took a team over
its capacity.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from portfolio import hooks
from portfolio.models import (
    Activity,
    ContractOverride,
    DeliveryStatus,
    DigestDelivery,
    Initiative,
    Stage,
    StallFlag,
    StallReason,
    ValueReview,
)
from portfolio.outcomes.selectors import awaiting_decision_q, is_overdue, overdue_review_q
from portfolio.pilots.services import stall_reason
from portfolio.roles import Role

# "What changed" never reaches back further than this, whatever the last digest was.
MAX_LOOKBACK = timedelta(weeks=5)
FIRST_LOOKBACK = timedelta(weeks=1)


# --- The week ------------------------------------------------------------------------------

def period_of(now: datetime) -> date:
    """The ISO week ``now`` falls in, in TIME_ZONE, named by its Monday."""
    today = timezone.localdate(now)
    return today - timedelta(days=today.weekday())


def scheduled_at(period: date) -> datetime:
    """When the week's digest is due: Monday at ``DIGEST_HOUR`` in TIME_ZONE."""
    return timezone.make_aware(datetime.combine(period, time(settings.DIGEST_HOUR)))


def next_period(now: datetime) -> date:
    """The week of the next digest to go out: this one until its hour, then the next."""
    period = period_of(now)
    return period if now < scheduled_at(period) else period + timedelta(weeks=1)


def week_label(period: date) -> str:
    year, week, _ = period.isocalendar()
    return f"{year}-W{week:02d}"


# --- The content ---------------------------------------------------------------------------

@dataclass
class StallItem:
    flag: StallFlag
    initiative: Initiative
    reason: str
    days_in_pilot: int
    days_idle: int
    weeks_undecided: int | None  # None once someone decided
    url: str

    @property
    def escalated(self) -> bool:
        return self.flag.escalated_at is not None


@dataclass
class ChangeItem:
    initiative: Initiative
    at: datetime
    text: str
    url: str


@dataclass
class ValueItem:
    """A value review: overdue (not recorded in time) or at risk (awaiting a decision)."""

    review: ValueReview
    initiative: Initiative
    days_since_due: int
    share: int | None  # realised ÷ predicted, in whole percent (value at risk)
    url: str


@dataclass
class OverrideItem:
    """An exit contract override: what the gate said, and why it went ahead anyway."""

    override: ContractOverride
    initiative: Initiative
    url: str


@dataclass
class Digest:
    recipient: object
    period: date
    since: datetime
    teams: list | None  # None: every team
    # A TPM (not opted out); False: a sponsor with escalations or an owner with overdue
    # value reviews only.
    follows_portfolio: bool
    newly_stalled: list[StallItem] = field(default_factory=list)
    still_stalled: list[StallItem] = field(default_factory=list)
    escalated: list[StallItem] = field(default_factory=list)  # theirs as sponsor
    own_value_overdue: list[ValueItem] = field(default_factory=list)  # theirs as owner
    value_overdue: list[ValueItem] = field(default_factory=list)
    value_at_risk: list[ValueItem] = field(default_factory=list)
    overrides: list[OverrideItem] = field(default_factory=list)
    stage_moves: list[ChangeItem] = field(default_factory=list)
    new_blockers: list[ChangeItem] = field(default_factory=list)
    funding: list[ChangeItem] = field(default_factory=list)
    over_capacity: list[ChangeItem] = field(default_factory=list)  # moves that took a team over

    @property
    def is_empty(self) -> bool:
        return not (self.newly_stalled or self.still_stalled or self.escalated
                    or self.own_value_overdue or self.value_overdue or self.value_at_risk
                    or self.overrides
                    or self.stage_moves or self.new_blockers or self.funding
                    or self.over_capacity)

    @property
    def week(self) -> str:
        return week_label(self.period)

    @property
    def currency(self) -> str:
        return settings.VALUE_CURRENCY

    @property
    def at_risk_percent(self) -> int:
        return settings.VALUE_AT_RISK_PERCENT

    @property
    def grace_days(self) -> int:
        return settings.VALUE_REVIEW_GRACE_DAYS

    @property
    def team_names(self) -> str:
        return ", ".join(team.name for team in self.teams or [])

    @property
    def summary(self) -> str:
        """The subject line's count of what is inside, e.g. "2 newly stalled, 3 changes"."""
        changes = (len(self.stage_moves) + len(self.new_blockers) + len(self.funding)
                   + len(self.over_capacity))
        overdue = len(self.own_value_overdue) + len(self.value_overdue)
        parts = [(len(self.escalated), "escalated to you"),
                 (len(self.newly_stalled), "newly stalled"),
                 (len(self.still_stalled), "still stalled"),
                 (overdue, "value review overdue" if overdue == 1 else "value reviews overdue"),
                 (len(self.value_at_risk), "value at risk"),
                 (len(self.overrides), "override" if len(self.overrides) == 1 else "overrides"),
                 (changes, "change" if changes == 1 else "changes")]
        return ", ".join(f"{count} {label}" for count, label in parts if count) or "nothing new"

    def contents(self) -> dict:
        """What it reported, kept with the delivery (ids only)."""
        def ids(items):
            return [item.initiative.pk for item in items]
        return {"newly_stalled": ids(self.newly_stalled),
                "still_stalled": ids(self.still_stalled), "escalated": ids(self.escalated),
                "own_value_overdue": [item.review.pk for item in self.own_value_overdue],
                "value_overdue": [item.review.pk for item in self.value_overdue],
                "value_at_risk": [item.review.pk for item in self.value_at_risk],
                "overrides": [item.override.pk for item in self.overrides],
                "stage_moves": ids(self.stage_moves), "new_blockers": ids(self.new_blockers),
                "funding": ids(self.funding), "over_capacity": ids(self.over_capacity),
                "since": self.since.isoformat()}


def digest_recipients(*, period: date, now: datetime | None = None) -> QuerySet:
    """Everyone who gets a digest for ``period``, with what building it needs.

    Active users with an email address who are TPMs not opted out, sponsors of an
    escalated open stall, or owners of an initiative with a value review overdue at
    ``now`` (default: the week's scheduled moment). Annotated with ``follows_portfolio``
    and ``last_digest_at`` (when the content of their last sent digest before this week
    was built). Queries when evaluated: 2 (the users, their followed teams).
    """
    user_model = get_user_model()
    tpm = Q(groups__name=Role.TPM) & ~Q(digest_subscription__opted_out=True)
    escalated_sponsors = (StallFlag.objects.open().filter(escalated_at__isnull=False)
                          .values("initiative__sponsor_id"))
    today = timezone.localdate(now or scheduled_at(period))
    overdue_owners = (ValueReview.objects.filter(overdue_review_q(today))
                      .values("initiative__owner_id"))
    last_sent = (DigestDelivery.objects
                 .filter(recipient=OuterRef("pk"), period__lt=period,
                         status=DeliveryStatus.SENT)
                 .order_by("-period").values("created_at")[:1])
    follows = user_model.objects.filter(tpm, pk=OuterRef("pk"))
    return (user_model.objects.filter(is_active=True).exclude(email="")
            .filter(Q(Exists(follows)) | Q(pk__in=escalated_sponsors)
                    | Q(pk__in=overdue_owners))
            .annotate(follows_portfolio=Exists(follows), last_digest_at=Subquery(last_sent))
            .select_related("digest_subscription")
            .prefetch_related("digest_subscription__teams")
            .order_by("pk"))


def digests_build(*, now: datetime, period: date, recipients: QuerySet) -> list[Digest]:
    """One ``Digest`` per recipient (``digest_recipients``, possibly narrowed).

    Queries: 2 (recipients and their teams) + 1 (open stall flags with their
    initiatives) + 1 (value reviews overdue or at risk, with their initiatives) + 1 (exit
    contract overrides since the earliest recipient's last digest) + 1 (the activity
    since then), however many recipients and initiatives there are.
    """
    people = list(recipients)
    if not people:
        return []
    sinces = {person.pk: _since(person.last_digest_at, now) for person in people}
    earliest = min(sinces.values())
    flags = list(StallFlag.objects.open().filter(initiative__stage=Stage.PILOT,
                                                 flagged_at__lte=now)
                 .select_related("initiative__team", "initiative__owner",
                                 "initiative__sponsor", "decided_by")
                 .order_by("flagged_at", "pk"))
    stall_items = [_stall_item(flag, now) for flag in flags]
    overdue, at_risk = _value_items(now)
    overrides = [OverrideItem(override=override, initiative=override.initiative,
                              url=_url(override.initiative))
                 for override in ContractOverride.objects
                 .filter(decided_at__gt=earliest, decided_at__lte=now)
                 .select_related("initiative__team", "initiative__owner", "decided_by")
                 .order_by("decided_at", "pk")]
    changes = _changes_by_team(_changes(since=earliest, now=now))
    return [_digest_for(person, period=period, since=sinces[person.pk], stall_items=stall_items,
                        value_overdue=overdue, value_at_risk=at_risk, overrides=overrides,
                        changes=changes)
            for person in people]


def _value_items(now: datetime) -> tuple[list[ValueItem], list[ValueItem]]:
    """(overdue, at risk): value reviews of initiatives in production that were not
    recorded in time (``overdue_review_q``), longest overdue first, and those recorded
    below the share of the prediction that await a decision (``awaiting_decision_q``).
    One query."""
    today = timezone.localdate(now)
    overdue, at_risk = [], []
    for review in (ValueReview.objects.filter(overdue_review_q(today) | awaiting_decision_q())
                   .select_related("initiative__team", "initiative__owner")
                   .order_by("due_on", "pk")):
        initiative = review.initiative
        predicted = initiative.predicted_annual_value
        share = (round(review.realised_value * 100 / predicted)
                 if review.realised_value is not None and predicted else None)
        item = ValueItem(review=review, initiative=initiative,
                         days_since_due=(today - review.due_on).days, share=share,
                         url=_url(initiative))
        (overdue if is_overdue(review, today) else at_risk).append(item)
    return overdue, at_risk


def _since(last_digest_at: datetime | None, now: datetime) -> datetime:
    since = last_digest_at or now - FIRST_LOOKBACK
    return max(since, now - MAX_LOOKBACK)


def _url(initiative: Initiative) -> str:
    return f"{settings.SITE_URL}{initiative.get_absolute_url()}"


def _stall_item(flag: StallFlag, now: datetime) -> StallItem:
    initiative = flag.initiative
    reason = stall_reason(initiative, now) or flag.reason
    return StallItem(flag=flag, initiative=initiative,
                     reason=StallReason(reason).label,
                     days_in_pilot=initiative.days_in_stage(now),
                     days_idle=initiative.days_idle(now),
                     weeks_undecided=flag.weeks_undecided(now), url=_url(initiative))


def _changes(*, since: datetime, now: datetime) -> list[Activity]:
    """The activities every app says belong in "what changed" (``hooks.ACTIVITY_KINDS``)."""
    return list(Activity.objects.filter(hooks.digest_activity_q(), at__gt=since, at__lte=now)
                .select_related("initiative__team", "actor").order_by("at", "pk"))


# A change, described once for every digest: (when, its id, the section, the item).
Change = tuple[datetime, int, str, ChangeItem]


def _changes_by_team(changes: list[Activity]) -> dict[int, list[Change]]:
    """Each change described once and filed under its initiative's team, so a digest
    reads only its teams' changes, not the whole portfolio's once per recipient."""
    by_team: dict[int, list[Change]] = defaultdict(list)
    for activity in changes:
        section, text = _describe(activity)
        initiative = activity.initiative
        by_team[initiative.team_id].append(
            (activity.at, activity.pk, section,
             ChangeItem(initiative=initiative, at=activity.at, text=text, url=_url(initiative))))
    return by_team


def _digest_for(person, *, period: date, since: datetime, stall_items: list[StallItem],
                value_overdue: list[ValueItem], value_at_risk: list[ValueItem],
                overrides: list[OverrideItem], changes: dict[int, list[Change]]) -> Digest:
    follows = bool(person.follows_portfolio)
    subscription = getattr(person, "digest_subscription", None)
    teams = list(subscription.teams.all()) if subscription is not None else []
    team_ids = {team.pk for team in teams}
    digest = Digest(recipient=person, period=period, since=since, teams=teams or None,
                    follows_portfolio=follows)

    def followed(initiative: Initiative) -> bool:
        return follows and (not team_ids or initiative.team_id in team_ids)

    for item in stall_items:
        if item.escalated and item.initiative.sponsor_id == person.pk:
            digest.escalated.append(item)
        elif followed(item.initiative):
            (digest.newly_stalled if item.flag.flagged_at > since
             else digest.still_stalled).append(item)
    for item in value_overdue:
        if item.initiative.owner_id == person.pk:
            digest.own_value_overdue.append(item)
        elif followed(item.initiative):
            digest.value_overdue.append(item)
    digest.value_at_risk = [item for item in value_at_risk if followed(item.initiative)]
    digest.overrides = [item for item in overrides
                        if item.override.decided_at > since and followed(item.initiative)]
    sections = defaultdict(list)
    if follows:
        mine = [change for team in (team_ids or changes) for change in changes.get(team, [])]
        for at, _pk, section, item in sorted(mine, key=lambda change: change[:2]):
            if at > since:
                sections[section].append(item)
    digest.stage_moves = sections["stage_moves"]
    digest.new_blockers = sections["new_blockers"]
    digest.funding = sections["funding"]
    digest.over_capacity = sections["over_capacity"]
    return digest


def _describe(activity: Activity) -> tuple[str, str]:
    """(section, line): asked of the app that records the activity's kind."""
    spec = hooks.activity_kind(activity.kind)
    return spec.digest_section, (spec.digest_text or spec.describe)(activity)


# --- Rendering -----------------------------------------------------------------------------

def render_email(name: str, context: dict) -> tuple[str, str, str]:
    """(subject, plain text, HTML) from ``emails/<name>-subject.txt``, ``-body.txt`` and
    ``-body.html``: the one way the app builds an email."""
    subject = " ".join(render_to_string(f"emails/{name}-subject.txt", context).split())
    text = render_to_string(f"emails/{name}-body.txt", context)
    html = render_to_string(f"emails/{name}-body.html", context)
    return subject, text, html


def digest_render(digest: Digest) -> tuple[str, str, str]:
    return render_email("digest", {
        "digest": digest, "site_url": settings.SITE_URL,
        "settings_url": settings.SITE_URL + reverse("portfolio:digest-settings"),
        "stalls_url": settings.SITE_URL + reverse("portfolio:stall-list"),
        "value_reviews_url": settings.SITE_URL + reverse("portfolio:value-review-list"),
        "max_days": settings.PILOT_MAX_DAYS, "idle_days": settings.PILOT_IDLE_DAYS,
    })
