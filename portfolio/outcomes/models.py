"""Outcomes: what a pilot measured against its exit contract, the overrides that let one
through anyway, and the value reviews after production. Their tables.

**Measurements** are dated values of the initiative's success metric, each with its
source (a link or a note). The production gate reads the latest one inside the contract's
measurement window (``portfolio.outcomes.contract``).

**Overrides** let an initiative into production although its pilot missed the target or
was shorter than its risk tier's minimum. The sponsor or leadership records one, with a
reason; it holds for the stage it was given in (``stage_since``): once the initiative
moves, it is history.

**Value reviews** come due 30, 90 and 180 days (``VALUE_REVIEW_DAYS``) after the
initiative entered production. A daily job creates each one once, under a unique
(initiative, production_since, days). The owner records realised value and run cost; a
review whose realised value is below ``VALUE_AT_RISK_SHARE`` of the prediction puts the
initiative's value at risk until someone decides: scale back, fix or retire.

The rules live in ``portfolio.outcomes.contract`` (pure) and
``portfolio.outcomes.services`` (writes). The tables belong to the ``portfolio`` app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from portfolio.models.core import Initiative


class Measurement(models.Model):
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE,
                                   related_name="measurements")
    measured_on = models.DateField()
    value = models.DecimalField(max_digits=16, decimal_places=4)
    source_url = models.URLField("source link", max_length=500, blank=True)
    source_note = models.CharField(max_length=500, blank=True,
                                   help_text="Where the number comes from.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-measured_on", "-id"]
        indexes = [models.Index(fields=["initiative", "-measured_on", "-id"],
                                name="measurement_latest")]
        constraints = [
            models.CheckConstraint(condition=~Q(source_url="") | ~Q(source_note=""),
                                   name="measurement_has_source"),
        ]

    def __str__(self) -> str:
        return f"{self.value} on {self.measured_on:%Y-%m-%d} ({self.initiative_id})"

    @property
    def source(self) -> str:
        return self.source_url or self.source_note


class OverrideKind(models.TextChoices):
    TARGET_MISSED = "target_missed", "Target missed"
    PILOT_TOO_SHORT = "pilot_too_short", "Pilot shorter than the minimum"


class ContractOverride(models.Model):
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE,
                                   related_name="contract_overrides")
    kind = models.CharField(max_length=16, choices=OverrideKind.choices)
    # The stage it was given in (the initiative's stage_changed_at when it was recorded): it
    # lets the next move out of that stage through, and lapses once the initiative moves.
    stage_since = models.DateTimeField()
    # What the gate said when it was overridden, e.g. "22% measured, target 40%, baseline 12%".
    overridden = models.CharField(max_length=300)
    reason = models.TextField(max_length=2000)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["initiative", "kind", "stage_since"],
                                    name="override_once_per_stage"),
            models.CheckConstraint(condition=Q(kind__in=OverrideKind.values),
                                   name="override_kind_valid"),
            models.CheckConstraint(condition=~Q(reason=""), name="override_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.initiative_id}"


class ValueDecision(models.TextChoices):
    SCALE_BACK = "scale_back", "Scale back"
    FIX = "fix", "Fix"
    RETIRE = "retire", "Retire"


class ValueReviewQuerySet(models.QuerySet):
    def recorded(self) -> ValueReviewQuerySet:
        return self.filter(recorded_at__isnull=False)

    def pending(self) -> ValueReviewQuerySet:
        return self.filter(recorded_at__isnull=True)


class ValueReview(models.Model):
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE,
                                   related_name="value_reviews")
    production_since = models.DateTimeField()
    days = models.PositiveSmallIntegerField(help_text="Days after entering production.")
    due_on = models.DateField()
    scheduled_at = models.DateTimeField()
    # The scheduling run that created it: a concurrent run's insert is dropped by the unique
    # constraint, and each run reports only the rows it created.
    scheduled_run = models.CharField(max_length=32, editable=False)
    # Recorded by the owner (or a Responsible PM); annual figures in VALUE_CURRENCY.
    realised_value = models.DecimalField(max_digits=14, decimal_places=2, null=True,
                                         blank=True)
    run_cost = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    note = models.TextField(blank=True, max_length=2000)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    recorded_at = models.DateTimeField(null=True, blank=True)
    # Value at risk: set when recorded below the share of the prediction.
    at_risk = models.BooleanField(default=False)
    suggested_decision = models.CharField(max_length=16, choices=ValueDecision.choices,
                                          blank=True)
    decision = models.CharField(max_length=16, choices=ValueDecision.choices, blank=True)
    decision_note = models.TextField(blank=True, max_length=2000)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = ValueReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-due_on", "-id"]
        # The value reviews list reads each status in (due_on, id) order from one of these
        # (``value_selectors.ReviewsByUrgency``); the API lists every review in that order.
        indexes = [
            models.Index(fields=["due_on", "id"], name="value_review_due_order"),
            models.Index(fields=["due_on", "id"], condition=Q(recorded_at__isnull=True),
                         name="value_review_pending_order"),
            models.Index(fields=["due_on", "id"], condition=Q(at_risk=True, decision=""),
                         name="value_review_at_risk_order"),
            models.Index(fields=["due_on", "id"], condition=~Q(decision=""),
                         name="value_review_decided_order"),
            models.Index(fields=["initiative", "-recorded_at"],
                         condition=Q(recorded_at__isnull=False), name="value_review_latest"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["initiative", "production_since", "days"],
                                    name="value_review_once"),
            models.CheckConstraint(
                condition=Q(recorded_at__isnull=True)
                | Q(realised_value__isnull=False, run_cost__isnull=False),
                name="value_review_recorded_has_figures"),
            models.CheckConstraint(
                condition=Q(realised_value__isnull=True) | Q(realised_value__gte=0),
                name="value_review_value_not_negative"),
            models.CheckConstraint(condition=Q(run_cost__isnull=True) | Q(run_cost__gte=0),
                                   name="value_review_cost_not_negative"),
            models.CheckConstraint(condition=Q(decision="")
                                   | Q(decision__in=ValueDecision.values),
                                   name="value_review_decision_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.days}-day value review of {self.initiative_id}"

    @property
    def is_recorded(self) -> bool:
        return self.recorded_at is not None

    @property
    def awaits_decision(self) -> bool:
        return self.at_risk and not self.decision


class ValueReviewCount(models.Model):
    """How many value reviews share a (production, pending, at risk, decided, due date): the
    value reviews page's tab counts are summed from these few hundred rows instead of
    counted over every review (``value_selectors.value_review_tab_counts``). ``due_on`` is
    what the date rules compare with today, so the sums stay exact as days pass, with no
    job. ``in_production`` is the initiative's stage being one of ``VALUE_STAGES``.

    Kept by the database, not by Python: triggers on the value review and initiative tables
    (migration 0019_value_review_counts) add and subtract in the writing transaction, so
    every write — a service, the admin, a bulk COPY, a test's factory — keeps it exact.
    PostgreSQL only; elsewhere the tabs are counted directly. Nothing in Python writes it."""

    in_production = models.BooleanField()
    pending = models.BooleanField()          # recorded_at is null
    at_risk = models.BooleanField()
    decided = models.BooleanField()          # decision is not ""
    due_on = models.DateField()
    reviews = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["in_production", "pending", "at_risk", "decided", "due_on"],
            name="value_review_count_once")]

    def __str__(self) -> str:
        return f"{self.reviews} value reviews due {self.due_on:%Y-%m-%d}"
