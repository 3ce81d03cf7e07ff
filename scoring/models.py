"""Scoring and capacity: how initiatives are ranked and how much each team can build.

Rules that need other rows or the acting user live in ``scoring.services``; the
formulas and the ranking live in ``scoring.formulas`` and ``scoring.selectors``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from portfolio.models import Initiative, Team


class ScoringMethod(models.TextChoices):
    RICE = "rice", "RICE (reach × impact × confidence ÷ effort)"
    WSJF = "wsjf", "WSJF ((business value + time criticality + risk reduction) ÷ effort)"
    WEIGHTED = "weighted", "Weighted criteria"


class ScoringModel(models.Model):
    """A named, versioned way to score initiatives; exactly one version is active.

    A change of weights never edits a version in place: it creates the next version
    (``scoring.services.scoring_model_revise``), so a past ranking stays explainable.
    ``weights`` is used by weighted criteria: criterion name -> weight (>= 0).
    """

    name = models.CharField(max_length=100)
    version = models.PositiveIntegerField(default=1)
    method = models.CharField(max_length=16, choices=ScoringMethod.choices)
    weights = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")

    history = HistoricalRecords()

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"],
                                    name="scoring_model_name_version_unique"),
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True),
                                    name="scoring_model_one_active"),
            models.CheckConstraint(condition=Q(method__in=ScoringMethod.values),
                                   name="scoring_model_method_valid"),
            models.CheckConstraint(condition=Q(version__gte=1),
                                   name="scoring_model_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class CapacityPlan(models.Model):
    """Engineer-weeks a team can spend building in one quarter."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="capacity_plans")
    year = models.PositiveSmallIntegerField()
    quarter = models.PositiveSmallIntegerField(choices=[(q, f"Q{q}") for q in range(1, 5)])
    engineer_weeks = models.DecimalField(max_digits=8, decimal_places=1)
    notes = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-year", "-quarter", "team__name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "year", "quarter"],
                                    name="capacity_plan_one_per_team_quarter"),
            models.CheckConstraint(condition=Q(quarter__gte=1, quarter__lte=4),
                                   name="capacity_plan_quarter_1_4"),
            models.CheckConstraint(condition=Q(engineer_weeks__gte=0),
                                   name="capacity_plan_weeks_not_negative"),
            models.CheckConstraint(condition=Q(year__gte=2000, year__lte=2100),
                                   name="capacity_plan_year_sane"),
        ]

    def __str__(self) -> str:
        return f"{self.team} {self.year}-Q{self.quarter}: {self.engineer_weeks} engineer-weeks"


class FundingStatus(models.Model):
    """Whether an initiative was above its team's funding line when the line was last
    recorded for a quarter (``scoring.services.funding_line_record``, a daily job).

    The first record of an initiative in a quarter is its baseline; a later record that
    differs is a crossing of the line, written to the initiative's activity for the
    digest.
    """

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE,
                                   related_name="funding_statuses")
    year = models.PositiveSmallIntegerField()
    quarter = models.PositiveSmallIntegerField(choices=[(q, f"Q{q}") for q in range(1, 5)])
    funded = models.BooleanField()
    recorded_at = models.DateTimeField(help_text="When this status was first seen, or last "
                                                 "changed.")

    class Meta:
        verbose_name_plural = "funding statuses"
        ordering = ["-year", "-quarter", "initiative_id"]
        constraints = [
            # Quarter first: the daily funding-line job reads one quarter's rows through it,
            # and runs at once insert each baseline once (ignore_conflicts).
            models.UniqueConstraint(fields=["year", "quarter", "initiative"],
                                    name="funding_status_one_per_initiative_quarter"),
            models.CheckConstraint(condition=Q(quarter__gte=1, quarter__lte=4),
                                   name="funding_status_quarter_1_4"),
        ]

    def __str__(self) -> str:
        where = "funded" if self.funded else "not funded"
        return f"{self.initiative_id} {where} in {self.year}-Q{self.quarter}"


# --- Standings: the dashboard's stored view of the portfolio -------------------------------------

class PortfolioSnapshot(models.Model):
    """When the standings were last computed, and from what (``scoring.standings``).

    One row. Ranking every initiative, drawing each team's funding line and asking the
    gate for every funded initiative costs seconds on a large portfolio; the dashboard
    and ``/api/v1/ranking/`` read the stored outcome instead, recomputed by the worker
    after every change (``StandingsInvalidation``) and on a new day.
    """

    taken_at = models.DateTimeField()
    as_of = models.DateField(help_text="The local date the standings were computed for "
                                       "(the quarter and the waivers' expiry follow it).")
    year = models.PositiveSmallIntegerField()
    quarter = models.PositiveSmallIntegerField()
    model = models.ForeignKey(ScoringModel, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+", help_text="The active model they were "
                                                          "ranked by.")
    seconds = models.FloatField(help_text="How long computing them took (for the record; "
                                          "nothing depends on it).")
    initiatives = models.PositiveIntegerField()
    recomputed_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When every standing was last recomputed. The day's later refreshes "
                  "recompute only what changes named, with the rules that read the clock "
                  "(an owner's silence) at this moment, so they store what a full "
                  "recompute at it would.")

    def __str__(self) -> str:
        return f"standings as of {self.taken_at:%Y-%m-%d %H:%M}"


class StandingsInvalidation(models.Model):
    """A change the stored standings do not reflect yet.

    Every write to something they are computed from inserts one, in its own transaction
    (``portfolio.services.portfolio_changed``); the refresh deletes the ones it sees
    before it recomputes. A change that commits while a refresh runs stays behind, so
    the standings are stale again at once: ids need not follow commit order, and
    nothing depends on how long anything took.
    """

    what = models.CharField(max_length=40, help_text="What changed, for the logs.")
    # What the change can have moved (``standings_invalidate``); a row naming nothing
    # asks for everything to be recomputed. Plain ids, not foreign keys: a mark outlives
    # the row it names (a deleted team still has standings to drop).
    initiative = models.BigIntegerField(null=True, blank=True,
                                        help_text="An initiative whose own row changed.")
    team = models.BigIntegerField(null=True, blank=True,
                                  help_text="A team whose funding lines may have moved.")
    owner = models.BigIntegerField(null=True, blank=True,
                                   help_text="A person who gave a sign of life: the "
                                             "ownership gaps of what they own may close.")

    def __str__(self) -> str:
        return f"{self.what} (#{self.pk})"


class FundingPosition(models.TextChoices):
    """Where an initiative stands against its team's line for a quarter
    (``scoring.capacity``); whether governance blocks a funded one is ``Standing.blocked``."""

    COMMITTED = "committed", "committed"
    FUNDED = "funded", "fund next"
    BELOW_LINE = "below_line", "below the line"
    UNSIZED = "unsized", "unsized"
    NO_PLAN = "no_plan", "no capacity plan"
    NOT_DRAWING = "not_drawing", "—"


# Standing's columns for each quarter of the plan: this one, then one, two, three ahead.
FUNDING_COLUMNS = ("funding", "funding_ahead1", "funding_ahead2", "funding_ahead3")
REASON_COLUMNS = ("funding_reason", "reason_ahead1", "reason_ahead2", "reason_ahead3")


class Standing(models.Model):
    """An initiative's place in the portfolio as of the snapshot: its rank under the
    active model, where it stands against this quarter's funding line (and what blocks
    it), and the dashboard's KPI flags. Written only by ``standings_refresh``."""

    initiative = models.OneToOneField(Initiative, on_delete=models.CASCADE, primary_key=True,
                                      related_name="standing")
    rank = models.PositiveIntegerField(null=True, blank=True,
                                       help_text="1 = best of the live portfolio; retired: "
                                                 "none.")
    score = models.FloatField(null=True, blank=True)
    # Where it stands against its team's line this quarter and in each of the next three
    # (``FUNDING_COLUMNS``, ``REASON_COLUMNS``: one walk, ``capacity.funding_lines``).
    funding = models.CharField(max_length=16, choices=FundingPosition.choices)
    funding_reason = models.CharField(max_length=200, blank=True)
    funding_ahead1 = models.CharField(max_length=16, choices=FundingPosition.choices,
                                      default=FundingPosition.NOT_DRAWING)
    reason_ahead1 = models.CharField(max_length=200, blank=True)
    funding_ahead2 = models.CharField(max_length=16, choices=FundingPosition.choices,
                                      default=FundingPosition.NOT_DRAWING)
    reason_ahead2 = models.CharField(max_length=200, blank=True)
    funding_ahead3 = models.CharField(max_length=16, choices=FundingPosition.choices,
                                      default=FundingPosition.NOT_DRAWING)
    reason_ahead3 = models.CharField(max_length=200, blank=True)
    # Funded (committed or funded next in some quarter) and governance blocks its next
    # stage: what blocks it, in the gate's words. The gate does not depend on the quarter.
    blocked = models.BooleanField(default=False)
    blockers = models.JSONField(default=list, blank=True)
    entered_pilot = models.BooleanField(default=False)
    reached_production = models.BooleanField(default=False)
    stalled = models.BooleanField(default=False)
    ownership_gap = models.BooleanField(default=False)
    out_of_compliance = models.BooleanField(default=False)
    # Outcomes, for the dashboard's value section: whether an initiative in production or
    # scaled meets its exit contract (None: not there), and its latest value review.
    meets_contract = models.BooleanField(null=True, blank=True)
    realised_value = models.DecimalField(max_digits=14, decimal_places=2, null=True,
                                         blank=True)
    realised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["rank"], name="standing_rank")]

    def __str__(self) -> str:
        return f"{self.initiative_id}: #{self.rank} {self.funding}"

    def position(self, ahead: int = 0) -> tuple[str, str]:
        """(funding position, reason) in the quarter ``ahead`` of this one (0: this)."""
        return getattr(self, FUNDING_COLUMNS[ahead]), getattr(self, REASON_COLUMNS[ahead])


class TeamStanding(models.Model):
    """A team's quarter against its capacity as of the snapshot (``capacity.TeamLine``'s
    figures, stored): one row per team and quarter of the plan (``ahead`` 0 is this one)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="standings")
    ahead = models.PositiveSmallIntegerField(default=0, help_text="Quarters after the "
                                                                  "snapshot's.")
    committed_effort = models.DecimalField(max_digits=10, decimal_places=1, default=0)
    committed = models.PositiveIntegerField(default=0)
    capacity = models.DecimalField(max_digits=10, decimal_places=1, null=True, blank=True)
    demand = models.DecimalField(max_digits=10, decimal_places=1)
    funded_effort = models.DecimalField(max_digits=10, decimal_places=1)
    remaining = models.DecimalField(max_digits=10, decimal_places=1, null=True, blank=True)
    utilisation_percent = models.IntegerField(null=True, blank=True)
    over_commitment = models.DecimalField(max_digits=10, decimal_places=1)
    funded = models.PositiveIntegerField(default=0)
    funded_but_blocked = models.PositiveIntegerField(default=0)
    below_line = models.PositiveIntegerField(default=0)
    unsized = models.PositiveIntegerField(default=0)
    no_plan = models.PositiveIntegerField(default=0)
    # Of the funded but blocked: how many each kind of blocker holds back
    # (``capacity.TeamLine.blocked_by``), so the dashboard need not read every blocker.
    blocked_by = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ahead", "team"],
                                               name="team_standing_one_per_quarter")]

    def __str__(self) -> str:
        return f"{self.team_id} +{self.ahead}: {self.funded_effort}/{self.capacity}"

    @property
    def over_committed(self) -> bool:
        return self.over_commitment > 0


# --- Scenarios: a leader's what-if beside the live plan -----------------------------------------

class Scenario(models.Model):
    """A named what-if for one quarter's funding line: capacity changed per team, another
    scoring model or other weights, initiatives pinned in or out
    (``scoring.scenarios``). Drafting one changes nothing live; applying it (an admin)
    writes its capacity and its model through the services, and is recorded here.

    ``key`` is the shareable address (``/dashboard/scenarios/<key>/``): not guessable from
    another scenario's, readable only by those who may read the dashboard."""

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, max_length=2000)
    year = models.PositiveSmallIntegerField()
    quarter = models.PositiveSmallIntegerField(choices=[(q, f"Q{q}") for q in range(1, 5)])
    model = models.ForeignKey(ScoringModel, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+", help_text="Rank by this version instead of "
                                                          "the active one (empty: the active).")
    # Weighted criteria: criterion -> weight, replacing the model's (empty: its own).
    weights = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")

    history = HistoricalRecords()

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quarter__gte=1, quarter__lte=4),
                                   name="scenario_quarter_1_4"),
            models.CheckConstraint(condition=Q(applied_at__isnull=True, applied_by__isnull=True)
                                   | Q(applied_at__isnull=False, applied_by__isnull=False),
                                   name="scenario_applied_by_whom"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.year}-Q{self.quarter})"

    @property
    def quarter_label(self) -> str:
        return f"{self.year}-Q{self.quarter}"


class ScenarioCapacity(models.Model):
    """A team's engineer-weeks in the scenario's quarter, instead of its plan."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="capacities")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    engineer_weeks = models.DecimalField(max_digits=8, decimal_places=1)

    class Meta:
        ordering = ["team__name"]
        constraints = [
            models.UniqueConstraint(fields=["scenario", "team"],
                                    name="scenario_capacity_one_per_team"),
            models.CheckConstraint(condition=Q(engineer_weeks__gte=0),
                                   name="scenario_capacity_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.team}: {self.engineer_weeks}"


class ScenarioPin(models.Model):
    """An initiative the scenario funds whatever its rank (in) or leaves out (out)."""

    class Direction(models.TextChoices):
        IN = "in", "pinned in"
        OUT = "out", "pinned out"

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="pins")
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="+")
    direction = models.CharField(max_length=3, choices=Direction.choices)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["scenario", "initiative"],
                                    name="scenario_pin_once"),
            models.CheckConstraint(condition=Q(direction__in=["in", "out"]),
                                   name="scenario_pin_direction"),
        ]

    def __str__(self) -> str:
        return f"{self.initiative_id} {self.direction}"


# --- Value, stored (issue 22) ---------------------------------------------------------------------

class ValueTotal(models.Model):
    """One group's predicted against realised value as of the standings' snapshot: the
    Value page's and ``/api/v1/value/``'s totals per team, category, quarter entered
    production and scoring model, and overall (``scoring.value.value_totals_compute``'s
    answer, which reads the live ledger). Written only by ``scoring.standings.value_store``,
    which the standings refresh calls in its transaction; ``contract`` rows count the
    initiatives in production or scaled that meet their contract (key "met") or not
    ("short")."""

    class Dimension(models.TextChoices):
        OVERALL = "all", "overall"
        TEAM = "team", "team"
        CATEGORY = "category", "category"
        QUARTER = "quarter", "quarter entered production"
        MODEL = "model", "scoring model"
        CONTRACT = "contract", "contract"

    dimension = models.CharField(max_length=10, choices=Dimension.choices)
    position = models.PositiveIntegerField(help_text="The group's place in its table "
                                                     "(``ledger_totals``' order).")
    key = models.CharField(max_length=200)
    initiatives = models.PositiveIntegerField()
    reviewed = models.PositiveIntegerField(default=0)
    predicted_value = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    predicted_reviewed = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    realised_value = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    run_cost = models.DecimalField(max_digits=20, decimal_places=2, default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dimension", "position"],
                                               name="value_total_once")]

    def __str__(self) -> str:
        return f"{self.dimension} {self.key}: {self.initiatives}"


class ValueEntry(models.Model):
    """An initiative on the Value page as of the standings' snapshot: one that has entered
    production (``in_ledger``: the per-initiative table) or is in production or scaled
    short of its exit contract (``short_of_contract``: the contract table). Written only by
    ``scoring.standings.value_store``; the page reads one page of either list through its
    partial index, in the page's order (team, title, id)."""

    initiative = models.OneToOneField(Initiative, on_delete=models.CASCADE, primary_key=True,
                                      related_name="+")
    team = models.CharField(max_length=100)
    title = models.CharField(max_length=200)
    category = models.CharField(max_length=32)
    stage = models.CharField(max_length=16)
    predicted_value = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    predicted_run_cost = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    realised_value = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    run_cost = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    reviewed_on = models.DateField(null=True)
    production_since = models.DateTimeField(null=True)
    pilot_since = models.DateTimeField(null=True)
    quarter = models.CharField(max_length=10)
    model = models.CharField(max_length=200)
    in_ledger = models.BooleanField()
    short_of_contract = models.BooleanField()

    class Meta:
        indexes = [
            # The Value page's per-initiative table, a page at a time.
            models.Index(fields=["team", "title", "initiative"], name="value_entry_ledger",
                         condition=Q(in_ledger=True)),
            # Its "short of the contract" table, a page at a time.
            models.Index(fields=["team", "title", "initiative"], name="value_entry_short",
                         condition=Q(short_of_contract=True)),
        ]

    def __str__(self) -> str:
        return f"{self.initiative_id}: {self.title}"
