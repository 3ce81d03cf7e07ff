"""Governance: the checkpoint catalogue and each initiative's checkpoints.

A ``CheckpointType`` says what must be reviewed, which stage it gates and when
it applies; a ``Checkpoint`` is that review for one initiative. Rules that
need other rows or the acting user live in ``governance.services``.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import ExpressionWrapper, Q
from simple_history.models import HistoricalRecords

from portfolio.models import (
    AUTONOMY_ORDER,
    RISK_ORDER,
    STAGE_ORDER,
    AutonomyLevel,
    Initiative,
    RiskTier,
    Stage,
)


class NistFunction(models.TextChoices):
    """The four functions of the NIST AI Risk Management Framework."""

    GOVERN = "govern", "Govern"
    MAP = "map", "Map"
    MEASURE = "measure", "Measure"
    MANAGE = "manage", "Manage"


# The stages a checkpoint can gate: entering them needs it.
GATED_STAGES = [Stage.ASSESSMENT, Stage.PILOT, Stage.PRODUCTION, Stage.SCALED]


class CheckpointType(models.Model):
    """One entry of the catalogue. It applies when every condition set on it holds;
    with no condition set it applies to every initiative."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(help_text="What the reviewer checks and what evidence "
                                             "settles it.")
    nist_function = models.CharField("NIST AI RMF function", max_length=16,
                                     choices=NistFunction.choices)
    required_for = models.CharField(
        max_length=16, choices=[(s.value, s.label) for s in GATED_STAGES],
        help_text="Entering this stage needs the checkpoint approved or waived.")
    min_risk_tier = models.CharField(
        "minimum risk tier", max_length=16, choices=RiskTier.choices, blank=True,
        help_text="Applies only at this EU AI Act tier or above. Empty: any tier.")
    requires_personal_data = models.BooleanField(
        default=False, help_text="Applies only to initiatives that use personal data.")
    requires_customer_facing = models.BooleanField(
        default=False, help_text="Applies only to customer-facing initiatives.")
    min_autonomy_level = models.CharField(
        "minimum autonomy level", max_length=24, choices=AutonomyLevel.choices, blank=True,
        help_text="Applies only at this autonomy level or above. Empty: any level.")
    review_days = models.PositiveSmallIntegerField(
        default=14, help_text="Days a review is expected to take; sets the due date.")
    reviews_per_week = models.DecimalField(
        "reviewer capacity (reviews per week)", max_digits=5, decimal_places=1, null=True,
        blank=True, help_text="How many reviews of this type the reviewers can decide in a "
                              "week. Empty: the pace of the last weeks' decisions is used.")
    active = models.BooleanField(default=True, help_text="Retired types apply to nothing.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(required_for__in=[s.value for s in GATED_STAGES]),
                                   name="checkpoint_type_gated_stage"),
            models.CheckConstraint(condition=Q(reviews_per_week__isnull=True)
                                   | Q(reviews_per_week__gt=0),
                                   name="checkpoint_type_capacity_positive"),
            models.CheckConstraint(condition=Q(min_risk_tier="")
                                   | Q(min_risk_tier__in=RiskTier.values),
                                   name="checkpoint_type_risk_valid"),
            models.CheckConstraint(condition=Q(min_autonomy_level="")
                                   | Q(min_autonomy_level__in=AutonomyLevel.values),
                                   name="checkpoint_type_autonomy_valid"),
            models.CheckConstraint(condition=Q(nist_function__in=NistFunction.values),
                                   name="checkpoint_type_nist_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    def applies_to(self, initiative: Initiative) -> bool:
        """Whether this type applies to an initiative with that AI profile."""
        if not self.active:
            return False
        if self.min_risk_tier and (RISK_ORDER.index(initiative.risk_tier)
                                   < RISK_ORDER.index(self.min_risk_tier)):
            return False
        if self.requires_personal_data and not initiative.uses_personal_data:
            return False
        if self.requires_customer_facing and not initiative.customer_facing:
            return False
        return not (self.min_autonomy_level and (
            AUTONOMY_ORDER.index(initiative.autonomy_level)
            < AUTONOMY_ORDER.index(self.min_autonomy_level)))

    def gates(self, stage: str) -> bool:
        """Whether ``stage`` needs this checkpoint: it gates that stage or an earlier one."""
        return (stage in STAGE_ORDER
                and STAGE_ORDER.index(self.required_for) <= STAGE_ORDER.index(stage))

    @property
    def applies_when(self) -> str:
        parts = []
        if self.min_risk_tier:
            parts.append(f"risk tier {RiskTier(self.min_risk_tier).label} or above")
        if self.requires_personal_data:
            parts.append("personal data")
        if self.requires_customer_facing:
            parts.append("customer-facing")
        if self.min_autonomy_level:
            parts.append(f"autonomy {AutonomyLevel(self.min_autonomy_level).label} or above")
        return " and ".join(parts) or "always"


class ReviewerGroup(models.Model):
    """A named set of reviewers, e.g. "Security reviewers". Reviews are routed to a group
    (``ReviewRoute``); its members see them as theirs and are told when one is requested."""

    name = models.CharField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                     related_name="reviewer_groups")

    history = HistoricalRecords(m2m_fields=[members])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReviewRoute(models.Model):
    """Which reviewer group reviews a checkpoint type, a team's checkpoints, or a type for
    one team. The most specific route wins: type and team, then type, then team; a
    checkpoint no route covers goes to every reviewer (``governance.services.route_for``)."""

    checkpoint_type = models.ForeignKey(CheckpointType, on_delete=models.CASCADE, null=True,
                                        blank=True, related_name="routes",
                                        help_text="Empty: every type (for the team).")
    team = models.ForeignKey("portfolio.Team", on_delete=models.CASCADE, null=True,
                             blank=True, related_name="review_routes",
                             help_text="Empty: every team (for the type).")
    group = models.ForeignKey(ReviewerGroup, on_delete=models.CASCADE, related_name="routes")

    history = HistoricalRecords()

    class Meta:
        ordering = ["checkpoint_type__name", "team__name"]
        constraints = [
            models.CheckConstraint(condition=Q(checkpoint_type__isnull=False)
                                   | Q(team__isnull=False),
                                   name="review_route_names_something"),
            models.UniqueConstraint(fields=["checkpoint_type", "team"],
                                    name="review_route_type_team_once"),
            models.UniqueConstraint(fields=["checkpoint_type"],
                                    condition=Q(team__isnull=True),
                                    name="review_route_type_once"),
            models.UniqueConstraint(fields=["team"], condition=Q(checkpoint_type__isnull=True),
                                    name="review_route_team_once"),
        ]

    def __str__(self) -> str:
        what = " for ".join(str(x) for x in (self.checkpoint_type, self.team) if x)
        return f"{what} → {self.group}"


class CheckpointStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WAIVED = "waived", "Waived"


OPEN_STATUSES = [CheckpointStatus.NOT_STARTED, CheckpointStatus.IN_REVIEW,
                 CheckpointStatus.REJECTED]
# Every status a checkpoint in the review queue can have (an expired waiver is back in it).
QUEUE_STATUSES = [*OPEN_STATUSES, CheckpointStatus.WAIVED]
# The review queue's first sort key: true for an (expired) waiver, which comes after every
# open review; the same expression as the ``checkpoint_queue_rows`` index, so PostgreSQL
# reads the page's rows in that index's order.
QUEUE_LAPSED_LAST = ExpressionWrapper(Q(status=CheckpointStatus.WAIVED),
                                      output_field=models.BooleanField())


# --- The checkpoint rules (docs/architecture.md, "Governance") ------------------------------
#
# Each rule is needed in SQL (to filter, count and flag whole lists in one query) and in
# Python (for rows already fetched). Each is written once as a ``Q`` over a checkpoint
# here and once as a ``Checkpoint`` method, from the same constants;
# tests/governance/test_rule_agreement.py proves the two agree on every combination of
# the fields they read.

def cleared_q(today: date) -> Q:
    """Cleared: approved, or waived with a waiver that runs to ``today`` or later.
    In Python: ``Checkpoint.is_cleared``."""
    return (Q(status=CheckpointStatus.APPROVED)
            | Q(status=CheckpointStatus.WAIVED, waiver_expires_on__gte=today))


def _later_gates(stage: str) -> list[str]:
    """The stages after the one that follows ``stage`` (on the lifecycle)."""
    return [s.value for s in STAGE_ORDER[STAGE_ORDER.index(stage) + 2:]]


def upcoming_q(*, stage: str = "initiative__stage", gate: str = "type__required_for") -> Q:
    """Upcoming: it gates a stage later than the initiative's next, so its review is not
    requested yet (``governance.services.checkpoints_request`` requests it when the
    initiative reaches the stage before its gate). Paused and retired initiatives have
    none upcoming. In Python: ``Checkpoint.is_upcoming``. ``stage`` and ``gate`` name the
    fields read (``QueueCount`` holds both as its own columns)."""
    condition = Q()
    for current in STAGE_ORDER:
        if _later_gates(current):
            condition |= Q(**{stage: current, f"{gate}__in": _later_gates(current)})
    return condition


def overdue_q(today: date) -> Q:
    """Overdue: requested (not upcoming), still open (not started, in review or
    rejected) and its due date is before ``today``. In Python: ``Checkpoint.is_overdue``."""
    return Q(status__in=OPEN_STATUSES, due_date__lt=today) & ~upcoming_q()


def gates_current_stage_q() -> Q:
    """Its type gates the initiative's current stage or an earlier one (off the
    lifecycle, none does). In Python: ``CheckpointType.gates(initiative.stage)``."""
    condition = Q()
    for gated in GATED_STAGES:
        condition |= Q(type__required_for=gated,
                       initiative__stage__in=STAGE_ORDER[STAGE_ORDER.index(gated):])
    return condition


def out_of_compliance_q(today: date) -> Q:
    """The checkpoint puts its initiative out of compliance: it applies (not retired), it
    is not cleared, and it gates the stage the initiative is in or an earlier one — the
    gate, asked of the stage it already reached. In Python:
    ``Checkpoint.puts_out_of_compliance``."""
    return Q(retired_at__isnull=True) & ~cleared_q(today) & gates_current_stage_q()


class CheckpointQuerySet(models.QuerySet):
    def applicable(self) -> CheckpointQuerySet:
        """Checkpoints that apply now (not retired because the profile changed)."""
        return self.filter(retired_at__isnull=True)

    def cleared(self, today: date) -> CheckpointQuerySet:
        return self.filter(cleared_q(today))

    def uncleared(self, today: date) -> CheckpointQuerySet:
        return self.exclude(cleared_q(today))

    def actionable(self) -> CheckpointQuerySet:
        """Reviews due now: the initiative is on the lifecycle and the checkpoint is not
        upcoming (it gates the next stage or an earlier one). Paused and retired work
        waits."""
        return self.filter(initiative__stage__in=STAGE_ORDER).exclude(upcoming_q())


class Checkpoint(models.Model):
    """One applicable review for one initiative. Retired, not deleted, when it stops applying."""

    Status = CheckpointStatus

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE,
                                   related_name="checkpoints")
    type = models.ForeignKey(CheckpointType, on_delete=models.PROTECT,
                             related_name="checkpoints")
    status = models.CharField(max_length=16, choices=CheckpointStatus.choices,
                              default=CheckpointStatus.NOT_STARTED)
    requested_at = models.DateTimeField(
        help_text="When the review was requested: when the initiative reached the stage "
                  "before the one this checkpoint gates (or when it started to apply, if "
                  "later). Lead times count from here.")
    due_date = models.DateField()
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 null=True, blank=True, related_name="reviewed_checkpoints")
    reviewer_group = models.ForeignKey(
        ReviewerGroup, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="checkpoints",
        help_text="The group its review is routed to (empty: every reviewer); set by "
                  "``governance.services`` when the review is requested and when routes "
                  "change.")
    round = models.PositiveSmallIntegerField(
        default=1, help_text="1 for the first review; each re-review after a rejection adds one.")
    decided_at = models.DateTimeField(null=True, blank=True)
    evidence_url = models.URLField(max_length=500, blank=True)
    evidence_notes = models.TextField(blank=True, max_length=5000)
    waiver_justification = models.TextField(blank=True, max_length=5000)
    waiver_expires_on = models.DateField(null=True, blank=True)
    waiver_lapse_reported_at = models.DateTimeField(
        null=True, blank=True, help_text="When the daily job reported the waiver's expiry.")
    retired_at = models.DateTimeField(
        null=True, blank=True,
        help_text="Set when a change of AI profile made it stop applying.")
    # Every decision bumps it; a decision made against an older one is refused.
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords()
    objects = CheckpointQuerySet.as_manager()

    class Meta:
        ordering = ["initiative", "type__code"]
        indexes = [
            # The review queue: open checkpoints by due date.
            models.Index(fields=["status", "due_date"], name="checkpoint_queue"),
            # The review queue's rows (selectors.review_queue_rows): applicable, not approved
            # checkpoints in the page's order — expired waivers last, else by due date — so
            # a page is an index-ordered LIMIT read, not a sort of the whole queue.
            models.Index(QUEUE_LAPSED_LAST, "due_date", name="checkpoint_queue_rows",
                         condition=Q(retired_at__isnull=True, status__in=QUEUE_STATUSES)),
            # The daily waiver job (waivers_lapse): unreported waivers by expiry.
            models.Index(fields=["waiver_expires_on"], name="checkpoint_waiver_lapse_due",
                         condition=Q(status="waived", waiver_lapse_reported_at__isnull=True)),
            # A reviewer's own reviews in the queue (selectors.routed_to_q): taken or
            # decided by them and still open, without their approved ones.
            models.Index(fields=["reviewer"], name="checkpoint_queue_reviewer",
                         condition=Q(retired_at__isnull=True, status__in=QUEUE_STATUSES)),
            # The untaken reviews in the queue on a few initiatives, without the decided
            # ones. (On PostgreSQL a reviewer's "mine" counts read QueueRow's instead.)
            models.Index(fields=["initiative"], name="checkpoint_queue_untaken",
                         condition=Q(retired_at__isnull=True, status__in=QUEUE_STATUSES,
                                     reviewer__isnull=True)),
            # Reviewer pace (selectors.decided_in_window_q): each type's recent decisions.
            models.Index(fields=["type", "-decided_at"], name="checkpoint_type_decided",
                         condition=Q(decided_at__isnull=False)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["initiative", "type"],
                                    name="checkpoint_one_per_type"),
            models.CheckConstraint(condition=Q(status__in=CheckpointStatus.values),
                                   name="checkpoint_status_valid"),
            models.CheckConstraint(
                condition=~Q(status="waived")
                | (Q(waiver_expires_on__isnull=False) & ~Q(waiver_justification="")),
                name="checkpoint_waiver_needs_justification_and_expiry",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "rejected", "waived"])
                | (Q(reviewer__isnull=False) & Q(decided_at__isnull=False)),
                name="checkpoint_decision_has_reviewer",
            ),
            models.CheckConstraint(condition=Q(version__gte=1),
                                   name="checkpoint_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.type} on {self.initiative}"

    # The rules above, in Python, for rows already fetched (with their initiative and type).

    def is_cleared(self, today: date) -> bool:
        return self.status == CheckpointStatus.APPROVED or (
            self.status == CheckpointStatus.WAIVED and self.waiver_expires_on is not None
            and self.waiver_expires_on >= today)

    def is_upcoming(self) -> bool:
        stage = self.initiative.stage
        return stage in STAGE_ORDER and self.type.required_for in _later_gates(stage)

    def is_overdue(self, today: date) -> bool:
        return (self.status in OPEN_STATUSES and self.due_date < today
                and not self.is_upcoming())

    def puts_out_of_compliance(self, today: date) -> bool:
        return (self.retired_at is None and not self.is_cleared(today)
                and self.type.gates(self.initiative.stage))


# ``QueueCount.route``: not taken and routed to every reviewer; taken (it has a reviewer).
# Any other value is the id of the reviewer group an untaken review is routed to.
ROUTE_EVERYONE = 0
ROUTE_TAKEN = -1


class QueueCount(models.Model):
    """How many applicable, not approved checkpoints share an (initiative stage, gate,
    status, day, route): the review queue's tab counts are summed from these few thousand
    rows instead of counted over every open checkpoint (``selectors.review_queue_counts``).
    ``day`` is what the date rules compare with today — the due date of an open review
    (``overdue_q``), the expiry of a waiver (``cleared_q``) — so the sums stay exact as days
    pass, with no job. ``route`` is whom the review waits on (``selectors.routed_to_q``):
    ``ROUTE_TAKEN`` when a reviewer holds it, else ``ROUTE_EVERYONE`` or its reviewer
    group's id — so a reviewer's "mine" is summed too, from the routes open to them
    (``selectors.review_queue_mine_counts``, migration 0009_queue_routing).

    Kept by the database, not by Python: triggers on the checkpoint, initiative and
    checkpoint type tables (migrations 0007_queue_indexes, 0009_queue_routing) add and
    subtract in the writing transaction, so every write — a service, the admin, a bulk
    COPY, a test's factory — keeps it exact, and a reader sums the counts of its own
    snapshot. PostgreSQL only; elsewhere the queue is counted directly. Nothing in Python
    writes it."""

    stage = models.CharField(max_length=16)      # the initiative's
    gate = models.CharField(max_length=16)       # the checkpoint type's ``required_for``
    status = models.CharField(max_length=16)
    day = models.DateField()
    route = models.IntegerField(default=ROUTE_EVERYONE)
    checkpoints = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["stage", "gate", "status", "day",
                                                       "route"],
                                               name="queue_count_once")]

    def __str__(self) -> str:
        return f"{self.checkpoints} {self.status} ({self.stage} → {self.gate}, {self.day})"


class QueueRow(models.Model):
    """One row per checkpoint in the review queue but for the date: applicable (not
    retired), not approved, its initiative on the lifecycle and not upcoming — ``in_queue_q``
    without ``cleared_q``'s waiver expiry, which the reader applies to ``waiver_expires_on``
    — with the checkpoint's own columns that the queue's order and a reviewer's "mine" read.

    Why: on a large portfolio most open checkpoints are not in the queue (their initiative
    is paused or retired, or their gate is still upcoming) and crowd its front; reading the
    queue in order through these rows skips them, so a page of the queue, a reviewer's inbox
    and their "mine" counts cost the same whatever the portfolio's size (issue 22:
    ``selectors.queue_ordered``, ``selectors.review_queue_mine_counts``).

    Kept by the database, like ``QueueCount``: triggers on the checkpoint, initiative and
    checkpoint type tables (migration 0010_queue_rows) delete and insert a checkpoint's row
    in the writing transaction. PostgreSQL only; elsewhere the queue is read from the
    checkpoints. tests/governance/test_queue_counts.py proves the rows equal the queue
    after every kind of write. Nothing in Python writes it."""

    checkpoint = models.OneToOneField(Checkpoint, on_delete=models.DO_NOTHING,
                                      primary_key=True, db_constraint=False,
                                      related_name="queue_row")
    status = models.CharField(max_length=16)
    due_date = models.DateField()
    waiver_expires_on = models.DateField(null=True)
    initiative = models.ForeignKey(Initiative, on_delete=models.DO_NOTHING,
                                   db_constraint=False, db_index=False, related_name="+")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING,
                                 null=True, db_constraint=False, db_index=False,
                                 related_name="+")
    reviewer_group = models.ForeignKey(ReviewerGroup, on_delete=models.DO_NOTHING, null=True,
                                       db_constraint=False, db_index=False, related_name="+")

    class Meta:
        indexes = [
            # The queue in its order (``selectors.queue_ordered``): expired waivers last.
            models.Index(QUEUE_LAPSED_LAST, "due_date", name="queue_row_order"),
            # A tab of one status (not started, in review, rejected, lapsed) by due date.
            models.Index(fields=["status", "due_date"], name="queue_row_status"),
            # A reviewer's taken reviews and the untaken ones on a few initiatives
            # (``selectors.review_queue_mine_counts``), read from the index alone.
            models.Index(fields=["reviewer"], name="queue_row_taken",
                         include=["status", "due_date", "waiver_expires_on", "initiative"],
                         condition=Q(reviewer__isnull=False)),
            models.Index(fields=["initiative"], name="queue_row_untaken",
                         include=["status", "due_date", "waiver_expires_on",
                                  "reviewer_group"],
                         condition=Q(reviewer__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.status} review {self.checkpoint_id} (due {self.due_date})"
