"""The portfolio domain: teams, initiatives and everything that hangs off them.

Rules the database can hold are ``Meta.constraints``; rules that need other
rows or the acting user live in ``portfolio.services``.
"""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from simple_history.models import HistoricalRecords


class Stage(models.TextChoices):
    IDEA = "idea", "Idea"
    ASSESSMENT = "assessment", "Assessment"
    PILOT = "pilot", "Pilot"
    PRODUCTION = "production", "Production"
    SCALED = "scaled", "Scaled"
    PAUSED = "paused", "Paused"
    RETIRED = "retired", "Retired"


# The forward path; paused and retired sit beside it.
STAGE_ORDER = [Stage.IDEA, Stage.ASSESSMENT, Stage.PILOT, Stage.PRODUCTION, Stage.SCALED]


class Health(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    BLOCKED = "blocked", "Blocked"


class Category(models.TextChoices):
    INTERNAL_COPILOT = "internal_copilot", "Internal copilot"
    WORKFLOW_AUTOMATION = "workflow_automation", "Workflow automation"
    CUSTOMER_SUPPORT_AI = "customer_support_ai", "Customer support AI"
    AI_ANALYTICS = "ai_analytics", "AI analytics"
    AGENTIC_WORKFLOW = "agentic_workflow", "Agentic workflow"
    PRODUCTIVITY_PLATFORM = "productivity_platform", "Productivity platform"
    RECOMMENDATION_SYSTEM = "recommendation_system", "Recommendation system"
    OTHER = "other", "Other"


class AutonomyLevel(models.TextChoices):
    ASSISTIVE = "assistive", "Assistive"
    HUMAN_IN_THE_LOOP = "human_in_the_loop", "Human in the loop"
    HUMAN_ON_THE_LOOP = "human_on_the_loop", "Human on the loop"
    AUTONOMOUS = "autonomous", "Autonomous"


AUTONOMY_ORDER = [a.value for a in AutonomyLevel]


class RiskTier(models.TextChoices):
    """The EU AI Act tiers."""

    MINIMAL = "minimal", "Minimal"
    LIMITED = "limited", "Limited"
    HIGH = "high", "High"
    PROHIBITED = "prohibited", "Prohibited"


RISK_ORDER = [r.value for r in RiskTier]

# The one definition of "a prohibited-risk initiative never goes beyond assessment": the
# stages it may be in. The database constraint is built from it and every check in Python
# asks ``tier_allows_stage`` (services refuse the move or edit, the gate names it).
PROHIBITED_MAY_BE_IN = (Stage.IDEA, Stage.ASSESSMENT, Stage.PAUSED, Stage.RETIRED)


def tier_allows_stage(risk_tier: str, stage: str) -> bool:
    """Whether an initiative of ``risk_tier`` may be in ``stage``."""
    return risk_tier != RiskTier.PROHIBITED or stage in PROHIBITED_MAY_BE_IN


# The AI profile is an explicit choice (docs/architecture.md, "Intake, duplicates and CSV").
# An owner who cannot tell answers "not sure": the initiative then carries the most cautious
# assumption that still lets it proceed (the highest tier short of prohibited, the highest
# autonomy), so every checkpoint that could apply is created, and a flag records that the
# owner did not choose, for the EU AI Act risk classification review to confirm.
NOT_SURE = "not_sure"
NOT_SURE_LABEL = "Not sure"
ASSUMED_RISK_TIER = RiskTier.HIGH
ASSUMED_AUTONOMY = AutonomyLevel.AUTONOMOUS
# The profile fields that take "not sure": (field, its flag, the value assumed).
UNSURE_PROFILE = (("risk_tier", "risk_tier_assumed", ASSUMED_RISK_TIER),
                  ("autonomy_level", "autonomy_assumed", ASSUMED_AUTONOMY))


def profile_as_chosen(fields: dict) -> dict:
    """Turn "not sure" into the assumed value and its flag; an explicit choice clears the
    flag. Fields not in ``fields`` are left alone (an edit that does not touch them)."""
    fields = dict(fields)
    for name, flag, assumed in UNSURE_PROFILE:
        if name in fields:
            unsure = fields[name] == NOT_SURE
            fields[name] = assumed if unsure else fields[name]
            fields[flag] = unsure
    return fields


# Dates a PM plans by: a new one must not be in the past (one rule for the intake and edit
# forms, the API and the admin; ``past_date_errors``).
PLANNED_DATES = {"decision_date": "The decision date",
                 "target_production_date": "The target production date"}
PAST_DATE = "{label} is in the past ({day:%-d %b %Y}): choose today or a later date."


def past_date_errors(*, values: dict, today: date, before=None) -> dict[str, str]:
    """field -> message for each planned date in ``values`` that is before ``today``.

    ``before`` is the initiative as it was (on an edit): a date it already had is kept,
    even if it has passed since, so an unrelated edit is never refused for it.
    """
    errors = {}
    for name, label in PLANNED_DATES.items():
        day = values.get(name)
        if day is None or day >= today:
            continue
        if before is not None and getattr(before, name) == day:
            continue
        errors[name] = PAST_DATE.format(label=label, day=day)
    return errors


class MetricDirection(models.TextChoices):
    HIGHER = "higher", "Higher is better"
    LOWER = "lower", "Lower is better"


class RetirementReason(models.TextChoices):
    DATA_NOT_READY = "data_not_ready", "Data not ready"
    NO_OWNER = "no_owner", "No owner"
    COST = "cost", "Cost"
    RISK = "risk", "Risk"
    DUPLICATE = "duplicate", "Duplicate"
    SUPERSEDED = "superseded", "Superseded"
    VALUE_NOT_PROVEN = "value_not_proven", "Value not proven"
    OTHER = "other", "Other"


IMPACT_CHOICES = [(0.25, "Minimal (0.25)"), (0.5, "Low (0.5)"), (1.0, "Medium (1)"),
                  (2.0, "High (2)"), (3.0, "Massive (3)")]
CONFIDENCE_CHOICES = [(50, "Low (50%)"), (80, "Medium (80%)"), (100, "High (100%)")]


def _choice_values(choices) -> list:
    return [value for value, _ in choices]


def text_limit(model: type[models.Model], name: str) -> int:
    """The most characters a field holds: the one limit its forms, the API and
    ``full_clean`` all read, so none of them restates it."""
    return model._meta.get_field(name).max_length


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="team_name_not_blank"),
        ]

    def __str__(self) -> str:
        return self.name


class InitiativeQuerySet(models.QuerySet):
    def in_stage(self, *stages: str) -> InitiativeQuerySet:
        return self.filter(stage__in=stages)

    def with_list_relations(self) -> InitiativeQuerySet:
        return self.select_related("team", "owner")


class Initiative(models.Model):
    # Identity
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True, max_length=5000,
                               help_text="The problem and the expected outcome.")
    category = models.CharField(max_length=32, choices=Category.choices, default=Category.OTHER)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="initiatives")

    # Ownership
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_initiatives",
        help_text="The one accountable person.",
    )
    sponsor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="sponsored_initiatives",
    )

    # Lifecycle and status
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.IDEA)
    stage_changed_at = models.DateTimeField()
    health = models.CharField(max_length=16, choices=Health.choices, default=Health.ON_TRACK)
    last_activity_at = models.DateTimeField()
    retirement_reason = models.CharField(max_length=32, choices=RetirementReason.choices,
                                         blank=True)
    retirement_lessons = models.TextField(blank=True, max_length=5000)

    # Sizing and value (optional until the initiative is assessed)
    effort_weeks = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True,
                                       help_text="Engineer-weeks to build.")
    reach = models.PositiveIntegerField(null=True, blank=True, help_text="People per quarter.")
    impact = models.FloatField(choices=IMPACT_CHOICES, null=True, blank=True)
    confidence = models.PositiveSmallIntegerField(choices=CONFIDENCE_CHOICES, null=True,
                                                  blank=True, help_text="Percent.")
    business_value = models.PositiveSmallIntegerField(null=True, blank=True)
    time_criticality = models.PositiveSmallIntegerField(null=True, blank=True)
    risk_reduction = models.PositiveSmallIntegerField(null=True, blank=True)
    strategic_alignment = models.PositiveSmallIntegerField(null=True, blank=True)
    target_production_date = models.DateField(null=True, blank=True)

    # AI profile (drives governance)
    uses_personal_data = models.BooleanField(default=False)
    customer_facing = models.BooleanField(default=False)
    autonomy_level = models.CharField(max_length=24, choices=AutonomyLevel.choices,
                                      default=AutonomyLevel.ASSISTIVE)
    risk_tier = models.CharField(max_length=16, choices=RiskTier.choices,
                                 default=RiskTier.MINIMAL)
    # The owner answered "not sure": the value above is the cautious assumption
    # (``profile_as_chosen``), for the risk classification review to confirm.
    risk_tier_assumed = models.BooleanField(
        default=False, help_text="The owner was not sure; the tier is the cautious assumption.")
    autonomy_assumed = models.BooleanField(
        default=False, help_text="The owner was not sure; the autonomy level is the cautious "
                                 "assumption.")
    model_vendor = models.CharField("model / vendor", max_length=200, blank=True)

    # Exit contract: agreed before pilot, measured before production (the rules on it are
    # ``portfolio.outcomes.contract``).
    success_metric = models.CharField(max_length=200, blank=True,
                                      help_text="What the pilot must move, e.g. “Tickets "
                                                "resolved without an agent”.")
    metric_unit = models.CharField(max_length=24, blank=True,
                                   help_text="How it is counted: %, minutes, € per claim…")
    metric_direction = models.CharField(max_length=8, choices=MetricDirection.choices,
                                        blank=True)
    baseline_value = models.DecimalField(max_digits=16, decimal_places=4, null=True,
                                         blank=True, help_text="The metric before the pilot.")
    target_value = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True,
                                       help_text="What the pilot must reach to go to "
                                                 "production.")
    window_start = models.DateField("measurement window from", null=True, blank=True)
    window_end = models.DateField("measurement window until", null=True, blank=True,
                                  help_text="A measurement in the window is what the "
                                            "production gate reads.")
    decision_date = models.DateField(null=True, blank=True)
    production_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="production_initiatives",
        help_text="Who will run it in production.",
    )
    # The business case, in settings.VALUE_CURRENCY a year.
    predicted_annual_value = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True,
        help_text="Savings or revenue a year once in production.")
    predicted_annual_run_cost = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True,
        help_text="Tokens, licences and people a year once in production.")
    # What the old free-text contract said that could not be read as numbers (migration
    # 0011); shown to the owner until a complete contract replaces it.
    contract_to_review = models.TextField(blank=True, max_length=2000)

    depends_on = models.ManyToManyField(
        "self", through="Dependency", symmetrical=False, related_name="dependents", blank=True,
    )

    # Optimistic locking: every write bumps it; a write carrying an older value is refused.
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    history = HistoricalRecords(excluded_fields=["last_activity_at"])
    objects = InitiativeQuerySet.as_manager()

    class Meta:
        ordering = ["-last_activity_at", "-id"]
        indexes = [
            models.Index(fields=["stage", "team"], name="initiative_stage_team"),
            # The initiative list's default order.
            models.Index(fields=["-last_activity_at", "-id"], name="initiative_recent"),
            # Stall detection's "what is due": pilots in pilot since a cutoff, or idle
            # since one; partial, so the scan is over pilots past the cutoff only.
            models.Index(fields=["stage_changed_at"], condition=Q(stage="pilot"),
                         name="pilot_since"),
            models.Index(fields=["last_activity_at"], condition=Q(stage="pilot"),
                         name="pilot_last_activity"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="initiative_title_not_blank"),
            models.CheckConstraint(condition=Q(stage__in=Stage.values),
                                   name="initiative_stage_valid"),
            models.CheckConstraint(condition=Q(health__in=Health.values),
                                   name="initiative_health_valid"),
            models.CheckConstraint(condition=Q(category__in=Category.values),
                                   name="initiative_category_valid"),
            models.CheckConstraint(condition=Q(autonomy_level__in=AutonomyLevel.values),
                                   name="initiative_autonomy_valid"),
            models.CheckConstraint(condition=Q(risk_tier__in=RiskTier.values),
                                   name="initiative_risk_tier_valid"),
            models.CheckConstraint(
                condition=Q(retirement_reason="")
                | Q(retirement_reason__in=RetirementReason.values),
                name="initiative_retirement_reason_valid",
            ),
            models.CheckConstraint(condition=~Q(stage=Stage.RETIRED) | ~Q(retirement_reason=""),
                                   name="initiative_retired_needs_reason"),
            models.CheckConstraint(  # tier_allows_stage, as SQL
                condition=~Q(risk_tier=RiskTier.PROHIBITED) | Q(stage__in=PROHIBITED_MAY_BE_IN),
                name="initiative_prohibited_stays_in_assessment",
            ),
            models.CheckConstraint(condition=Q(effort_weeks__isnull=True) | Q(effort_weeks__gt=0),
                                   name="initiative_effort_positive"),
            models.CheckConstraint(
                condition=Q(impact__isnull=True) | Q(impact__in=_choice_values(IMPACT_CHOICES)),
                name="initiative_impact_valid",
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True)
                | Q(confidence__in=_choice_values(CONFIDENCE_CHOICES)),
                name="initiative_confidence_valid",
            ),
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{field}__isnull": True})
                    | Q(**{f"{field}__gte": 1, f"{field}__lte": 10}),
                    name=f"initiative_{field}_1_10",
                )
                for field in ("business_value", "time_criticality", "risk_reduction")
            ],
            models.CheckConstraint(
                condition=Q(strategic_alignment__isnull=True)
                | Q(strategic_alignment__gte=1, strategic_alignment__lte=5),
                name="initiative_strategic_alignment_1_5",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="initiative_version_positive"),
            models.CheckConstraint(
                condition=Q(metric_direction="") | Q(metric_direction__in=MetricDirection.values),
                name="initiative_metric_direction_valid"),
            models.CheckConstraint(
                condition=Q(window_start__isnull=True) | Q(window_end__isnull=True)
                | Q(window_end__gte=F("window_start")),
                name="initiative_window_ordered"),
            *[
                models.CheckConstraint(condition=Q(**{f"{field}__isnull": True})
                                       | Q(**{f"{field}__gte": 0}),
                                       name=f"initiative_{field}_not_negative")
                for field in ("predicted_annual_value", "predicted_annual_run_cost")
            ],
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("portfolio:initiative-detail", args=[self.pk])

    @property
    def profile_assumed(self) -> bool:
        """Part of the AI profile is an assumption the owner did not choose."""
        return self.risk_tier_assumed or self.autonomy_assumed

    def profile_as_entered(self) -> dict:
        """The AI profile as its owner gave it: "not sure" where they were not."""
        return {name: NOT_SURE if getattr(self, flag) else getattr(self, name)
                for name, flag, _ in UNSURE_PROFILE}

    def days_in_stage(self, now: datetime) -> int:
        """Whole days since it entered its stage at ``now`` (for a pilot: days in pilot)."""
        return max((now - self.stage_changed_at).days, 0)

    def days_idle(self, now: datetime) -> int:
        """Whole days since its last activity at ``now``."""
        return max((now - self.last_activity_at).days, 0)


class Stakeholder(models.Model):
    """A person's RACI role on an initiative."""

    class Role(models.TextChoices):
        RESPONSIBLE = "R", "Responsible"
        ACCOUNTABLE = "A", "Accountable"
        CONSULTED = "C", "Consulted"
        INFORMED = "I", "Informed"

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE,
                                   related_name="stakeholders")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="stakes")
    role = models.CharField(max_length=1, choices=Role.choices)

    history = HistoricalRecords()

    class Meta:
        ordering = ["initiative", "role", "user"]
        constraints = [
            models.UniqueConstraint(fields=["initiative", "user", "role"],
                                    name="stakeholder_unique_role"),
            models.CheckConstraint(condition=Q(role__in=["R", "A", "C", "I"]),
                                   name="stakeholder_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) on {self.initiative}"


class StageTransition(models.Model):
    """One row per change of stage: the initiative's stage history."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE,
                                   related_name="transitions")
    from_stage = models.CharField(max_length=16, choices=Stage.choices)
    to_stage = models.CharField(max_length=16, choices=Stage.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="+")
    at = models.DateTimeField()
    note = models.TextField(blank=True, max_length=2000)

    class Meta:
        ordering = ["initiative", "at", "id"]
        indexes = [models.Index(fields=["initiative", "at"], name="transition_initiative_at")]
        constraints = [
            models.CheckConstraint(condition=~Q(from_stage=F("to_stage")),
                                   name="transition_changes_stage"),
            models.CheckConstraint(
                condition=Q(from_stage__in=Stage.values) & Q(to_stage__in=Stage.values),
                name="transition_stages_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.initiative}: {self.from_stage} → {self.to_stage}"


class Update(models.Model):
    """A dated status update with the author's view of health."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="updates")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="+")
    body = models.TextField(max_length=5000)
    health = models.CharField(max_length=16, choices=Health.choices)
    created_at = models.DateTimeField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["initiative", "-created_at", "-id"]
        indexes = [models.Index(fields=["initiative", "-created_at"],
                                name="update_initiative_recent"),
                   # Ownership health: the owner's latest update anywhere.
                   models.Index(fields=["author", "-created_at"], name="update_author_recent")]
        constraints = [
            models.CheckConstraint(condition=~Q(body=""), name="update_body_not_blank"),
            models.CheckConstraint(condition=Q(health__in=Health.values),
                                   name="update_health_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.initiative} update {self.created_at:%Y-%m-%d}"


class Dependency(models.Model):
    """``initiative`` depends on ``depends_on``. Cycles are refused by the service."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE,
                                   related_name="dependency_links")
    depends_on = models.ForeignKey(Initiative, on_delete=models.CASCADE,
                                   related_name="dependent_links")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "dependencies"
        constraints = [
            models.UniqueConstraint(fields=["initiative", "depends_on"],
                                    name="dependency_unique"),
            models.CheckConstraint(condition=~Q(initiative=F("depends_on")),
                                   name="dependency_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.initiative_id} depends on {self.depends_on_id}"


class ActivityKind(models.TextChoices):
    CREATED = "created", "Created"
    EDITED = "edited", "Edited"
    STAGE_MOVED = "stage_moved", "Stage moved"
    UPDATE_POSTED = "update_posted", "Update posted"
    OWNER_CHANGED = "owner_changed", "Owner changed"
    CHECKPOINT_DECIDED = "checkpoint_decided", "Checkpoint decided"
    OUT_OF_COMPLIANCE = "out_of_compliance", "Out of compliance"
    FUNDING_CHANGED = "funding_changed", "Crossed the funding line"
    STALL_FLAGGED = "stall_flagged", "Stall flagged"
    STALL_DECIDED = "stall_decided", "Stall decided"
    STALL_ESCALATED = "stall_escalated", "Stall escalated"
    PEOPLE_CHANGED = "people_changed", "People changed"
    DEPENDENCY_CHANGED = "dependency_changed", "Dependencies changed"
    MEASUREMENT_RECORDED = "measurement_recorded", "Measurement recorded"
    CONTRACT_OVERRIDDEN = "contract_overridden", "Exit contract overridden"
    VALUE_REVIEW_DUE = "value_review_due", "Value review due"
    VALUE_REVIEW_RECORDED = "value_review_recorded", "Value review recorded"
    VALUE_DECIDED = "value_decided", "Value decision"
    OVER_CAPACITY = "over_capacity", "Took its team over capacity"
    REVIEW_REQUESTED = "review_requested", "Review requested"
    RE_REVIEW_REQUESTED = "re_review_requested", "Re-review requested"


class Activity(models.Model):
    """Every event on an initiative, for its timeline and the digest's "what changed".

    Portfolio owns the table; governance and scoring write to it through
    ``portfolio.services.activity_record``.
    """

    Kind = ActivityKind

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE,
                                   related_name="activities")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    at = models.DateTimeField()
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name_plural = "activities"
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["initiative", "-at"], name="activity_initiative_recent"),
            # Ownership health: the owner's latest act anywhere (selectors.owner_last_word).
            models.Index(fields=["actor", "-at"], name="activity_actor_recent"),
            # The digest's "what changed since" reads the whole portfolio by time.
            models.Index(fields=["at"], name="activity_at"),
            # Ownership health: when the owner took over (selectors.with_ownership_health).
            models.Index(fields=["initiative", "-at"], condition=Q(kind="owner_changed"),
                         name="activity_handovers"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ActivityKind.values),
                                   name="activity_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.initiative_id} at {self.at:%Y-%m-%d %H:%M}"


class WorkerHeartbeat(models.Model):
    """When a Celery worker last ran the heartbeat task; read by /healthz."""

    name = models.CharField(max_length=100, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"


class InitiativeTerm(models.Model):
    """The duplicate finder's inverted index: one row per normalised term of an initiative.

    Written only by ``portfolio.similarity.index_initiatives`` (see that module for the
    normalisation); a change of title or summary rewrites the initiative's rows.
    """

    # No index of its own: the unique constraint's index starts with the initiative.
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE,
                                   related_name="similarity_terms", db_index=False)
    term = models.CharField(max_length=40, help_text="Normalised: stemmed, synonyms merged.")
    in_title = models.BooleanField(default=False)
    word = models.CharField(max_length=60, help_text="The word as written, shown to people.")

    class Meta:
        indexes = [
            # similar_initiatives: postings per term and document frequencies.
            models.Index(fields=["term", "initiative"], name="initiative_term_postings"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["initiative", "term"],
                                    name="initiative_term_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.term} in {self.initiative_id}"
