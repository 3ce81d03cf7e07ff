"""The Django admin for scoring models and capacity plans, writing through the services.

A scoring model's weights are never changed in place: saving new weights on a version
makes the next version (``scoring_model_revise``) and leaves the edited one as it was.
Activation is an action that goes through ``scoring_model_activate``. Funding statuses
are written only by the daily funding-line job, the standings only by their refresh:
read-only here.
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone

from portfolio.admin import AdminRefusal, HistoryAdmin, ReadOnlyAdminMixin, RefusalMessageAdmin
from portfolio.exceptions import DomainError
from scoring import services
from scoring.capacity import capacity_plan_set
from scoring.models import (
    CapacityPlan,
    FundingStatus,
    PortfolioSnapshot,
    Scenario,
    ScoringModel,
    Standing,
    TeamStanding,
)

ACTIVATE_ONE = "Select exactly one version to activate."
REVISED = "Saved the new weights as {new}; {old} is unchanged, so past rankings stay explained."
DESCRIPTION_FIXED = ("A version's description is kept as it was: change the weights to make a "
                     "new version (the description you entered goes with it).")


class _RefusingAdmin(RefusalMessageAdmin):
    """Writes go through the scoring services; their refusals become error messages."""

    def has_delete_permission(self, request, obj=None):
        return False  # versions and plans are history: past rankings refer to them


def _refusal(error: Exception) -> AdminRefusal:
    return AdminRefusal(str(getattr(error, "message", error)))


def _copy_into(obj, saved) -> None:
    # The admin logs and redirects to ``obj``: make it the row the service wrote.
    for field in saved._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False


@admin.register(ScoringModel)
class ScoringModelAdmin(_RefusingAdmin):
    list_display = ["name", "version", "method", "is_active", "created_at", "created_by"]
    list_filter = ["method", "is_active"]
    search_fields = ["name", "description"]
    list_select_related = ["created_by"]
    ordering = ["name", "-version"]
    actions = ["activate"]
    history_list_display = ["version", "is_active"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["is_active", "created_at", "created_by"]
        return ["name", "version", "method", "is_active", "created_at", "created_by"]

    def get_fields(self, request, obj=None):
        fields = ["name", "method", "weights", "description"]
        if obj is not None:
            fields = ["name", "version", "method", "is_active", "weights", "description",
                      "created_at", "created_by"]
        return fields

    def save_model(self, request, obj, form, change):
        now = timezone.now()
        try:
            if not change:
                saved = services.scoring_model_create(
                    name=form.cleaned_data["name"], method=form.cleaned_data["method"],
                    weights=form.cleaned_data.get("weights") or {},
                    description=form.cleaned_data.get("description", ""),
                    actor=request.user, now=now)
            elif "weights" in form.changed_data:
                old = ScoringModel.objects.get(pk=obj.pk)
                saved = services.scoring_model_revise(
                    model=old, weights=form.cleaned_data.get("weights") or {},
                    description=form.cleaned_data.get("description", ""),
                    actor=request.user, now=now)
                self.message_user(request, REVISED.format(new=saved, old=old),
                                  level=messages.SUCCESS)
            else:
                if "description" in form.changed_data:
                    self.message_user(request, DESCRIPTION_FIXED, level=messages.WARNING)
                saved = ScoringModel.objects.get(pk=obj.pk)
        except (DomainError, ValidationError) as error:
            raise _refusal(error) from error
        _copy_into(obj, saved)

    @admin.action(description="Activate the selected version (ranks by it from now on)")
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, ACTIVATE_ONE, level=messages.ERROR)
            return
        model = services.scoring_model_activate(model=queryset.get(), actor=request.user,
                                                now=timezone.now())
        self.message_user(request, f"{model} is now the active scoring model.",
                          level=messages.SUCCESS)


@admin.register(CapacityPlan)
class CapacityPlanAdmin(_RefusingAdmin):
    list_display = ["team", "year", "quarter", "engineer_weeks"]
    list_filter = ["year", "quarter", "team"]
    search_fields = ["team__name", "notes"]
    list_select_related = ["team"]
    fields = ["team", "year", "quarter", "engineer_weeks", "notes"]

    def get_readonly_fields(self, request, obj=None):
        # A plan is the team's for that quarter: another team or quarter is another plan.
        return ["team", "year", "quarter"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        try:
            saved = capacity_plan_set(
                team=obj.team, year=obj.year, quarter=obj.quarter,
                engineer_weeks=form.cleaned_data["engineer_weeks"],
                notes=form.cleaned_data.get("notes", ""), actor=request.user,
                now=timezone.now())
        except (DomainError, ValidationError) as error:
            raise _refusal(error) from error
        _copy_into(obj, saved)


@admin.register(FundingStatus)
class FundingStatusAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Where each initiative stood at the last funding-line record (the daily job)."""

    list_display = ["initiative", "year", "quarter", "funded", "recorded_at"]
    list_filter = ["year", "quarter", "funded"]
    search_fields = ["initiative__title"]
    list_select_related = ["initiative"]
    ordering = ["-year", "-quarter", "initiative__title"]


@admin.register(PortfolioSnapshot)
class PortfolioSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """When the dashboard's standings were last computed (``scoring.standings``)."""

    list_display = ["taken_at", "as_of", "year", "quarter", "model", "initiatives", "seconds"]


@admin.register(Standing)
class StandingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each initiative's stored rank and funding position (recomputed, never edited)."""

    list_display = ["initiative", "rank", "score", "funding", "stalled", "ownership_gap",
                    "out_of_compliance"]
    list_filter = ["funding", "stalled", "ownership_gap", "out_of_compliance"]
    search_fields = ["initiative__title"]
    list_select_related = ["initiative"]
    ordering = [F("rank").asc(nulls_last=True)]


@admin.register(TeamStanding)
class TeamStandingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each team's stored capacity against demand this quarter."""

    list_display = ["team", "capacity", "demand", "funded_effort", "over_commitment",
                    "funded", "funded_but_blocked", "below_line"]
    search_fields = ["team__name"]
    list_select_related = ["team"]
    ordering = ["team__name"]


@admin.register(Scenario)
class ScenarioAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    """Leadership's what-ifs (``scoring.scenarios``): drafted, changed and applied on their
    pages (``/dashboard/scenarios/``), read here with their history."""

    list_display = ["name", "year", "quarter", "created_by", "updated_at", "applied_at",
                    "applied_by"]
    list_filter = ["year", "quarter"]
    search_fields = ["name", "description"]
    list_select_related = ["created_by", "applied_by"]
    ordering = ["-updated_at"]
