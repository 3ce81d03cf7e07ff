"""The Django admin for the portfolio domain, with every record's history.

Initiative writes go through the same services as the browser: the stage and
the lifecycle bookkeeping are read-only here, and an edit made against a
stale version is refused.
"""

import copy

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from portfolio import accounts, hooks, services
from portfolio.access import initiative_rights
from portfolio.exceptions import DomainError
from portfolio.forms import InitiativeForm
from portfolio.identity import services as identity_services
from portfolio.identity.models import RolePin
from portfolio.identity.rolemap import STAFF
from portfolio.identity.views import admin_sign_in
from portfolio.models import (
    NOT_SURE,
    Activity,
    ApiToken,
    ContractOverride,
    Dependency,
    DigestDelivery,
    DigestRun,
    DigestSubscription,
    Initiative,
    InitiativeTerm,
    Measurement,
    StageTransition,
    Stakeholder,
    StallFlag,
    Team,
    Update,
    ValueReview,
    WorkerHeartbeat,
)
from portfolio.outcomes.contract import contract_errors
from portfolio.pilots.digest.subscriptions import digest_subscription_set


class AdminRefusal(Exception):
    """A service refused an admin save before anything was written."""


class HistoryAdmin(SimpleHistoryAdmin):
    """Every record's change history, where reverting to a past version is a change like
    any other: it needs the change permission. (django-simple-history saves a revert posted
    by anyone who may merely view the record, even where nobody may change it, such as a
    checkpoint decision.)"""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            obj = self.get_object(request, unquote(object_id))
            if obj is None or not self.has_change_permission(request, obj):
                raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class RefusalMessageMixin:
    """Admins whose saves go through services: a refusal becomes an error message and
    the form is shown again, with nothing saved."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except AdminRefusal as refusal:
            self.message_user(request, str(refusal), level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class RefusalMessageAdmin(RefusalMessageMixin, HistoryAdmin):
    """A history-keeping admin whose saves go through services."""


@admin.register(Team)
class TeamAdmin(HistoryAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request, obj, form, change):
        services.team_save(team=obj, actor=request.user, now=timezone.now())

    def delete_model(self, request, obj):
        services.team_delete(team=obj, actor=request.user, now=timezone.now())

    def delete_queryset(self, request, queryset):
        now = timezone.now()
        for team in queryset:
            services.team_delete(team=team, actor=request.user, now=now)


class LabelledDeleteFormSet(forms.BaseInlineFormSet):
    """A tabular row's "Delete?" box has no label of its own: name it, for screen readers."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            what = form.instance if form.instance.pk else self.model._meta.verbose_name
            form.fields["DELETE"].widget.attrs["aria-label"] = f"Delete {what}"


class ThroughServicesInline(admin.TabularInline):
    """Rows added and removed through the services, which record each change on the
    initiative's timeline (``InitiativeAdmin.save_formset``); a row is never edited in
    place: remove it and add the new one."""

    extra = 0
    formset = LabelledDeleteFormSet

    def has_change_permission(self, request, obj=None):
        return False


class StakeholderInline(ThroughServicesInline):
    model = Stakeholder
    autocomplete_fields = ["user"]


class DependencyForm(forms.ModelForm):
    class Meta:
        model = Dependency
        fields = ["initiative", "depends_on"]

    def clean(self):
        cleaned = super().clean()
        initiative = cleaned.get("initiative") or getattr(self.instance, "initiative", None)
        depends_on = cleaned.get("depends_on")
        if (initiative is not None and initiative.pk and depends_on is not None
                and services.dependency_would_cycle(initiative=initiative,
                                                    depends_on=depends_on)):
            self.add_error("depends_on", services.DEPENDENCY_CYCLE.format(title=depends_on.title))
        return cleaned


class DependencyInline(ThroughServicesInline):
    model = Dependency
    form = DependencyForm
    fk_name = "initiative"
    autocomplete_fields = ["depends_on"]
    verbose_name = "depends on"
    verbose_name_plural = "depends on"


class StageTransitionInline(admin.TabularInline):
    model = StageTransition
    extra = 0
    can_delete = False
    fields = ["at", "from_stage", "to_stage", "actor", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class InitiativeAdminForm(forms.ModelForm):
    # The version the editor loaded; a save against an older one is refused.
    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    # The AI profile as intake asks it: nothing preselected, "Not sure" allowed (the
    # services turn it into the cautious assumption, flagged for the review).
    risk_tier = copy.deepcopy(InitiativeForm.base_fields["risk_tier"])
    autonomy_level = copy.deepcopy(InitiativeForm.base_fields["autonomy_level"])

    class Meta:
        model = Initiative
        # Everything but the lifecycle bookkeeping, which only services change.
        fields = [
            "title", "summary", "category", "team", "owner", "sponsor", "health",
            "retirement_lessons", "uses_personal_data", "customer_facing", "autonomy_level",
            "risk_tier", "model_vendor", "effort_weeks", "reach", "impact", "confidence",
            "business_value", "time_criticality", "risk_reduction", "strategic_alignment",
            "target_production_date", "success_metric", "metric_unit", "metric_direction",
            "baseline_value", "target_value", "window_start", "window_end", "decision_date",
            "production_owner", "predicted_annual_value", "predicted_annual_run_cost",
            "contract_to_review",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("predicted_annual_value", "predicted_annual_run_cost"):
            if name in self.fields:  # money in the site's currency, named
                self.fields[name].label = (f"{self.fields[name].label} "
                                           f"({settings.VALUE_CURRENCY})")
        if self.instance.pk:
            self.fields["loaded_version"].initial = self.instance.version
            self.initial.update(self.instance.profile_as_entered())  # "not sure" stays so

    def _get_validation_exclusions(self):
        # "Not sure" is an answer, not a stored value: the model's choices are not asked.
        excluded = super()._get_validation_exclusions()
        excluded.update(name for name in ("risk_tier", "autonomy_level")
                        if self.cleaned_data.get(name) == NOT_SURE)
        return excluded

    def clean(self):
        # The services enforce these too; checking here keeps the admin's
        # field-level errors and the editor's input.
        cleaned = super().clean()
        owner = cleaned.get("owner")
        if owner is not None and owner.pk != self.instance.owner_id:
            try:
                services.owner_check(owner)
            except DomainError as refusal:
                self.add_error("owner", refusal.message)
        # The exit contract as the intake form holds it: each contradiction on its field.
        for name, message in contract_errors(
                {name: value for name, value in cleaned.items() if name not in self.errors},
                before=self.instance if self.instance.pk else None).items():
            if name not in self.errors:
                self.add_error(name, message)
        loaded = cleaned.get("loaded_version")
        if self.instance.pk and loaded and loaded != self.instance.version:
            raise ValidationError(services.STALE_VERSION.format(
                expected=loaded, current=self.instance.version))
        return cleaned


@admin.register(Initiative)
class InitiativeAdmin(RefusalMessageAdmin):
    form = InitiativeAdminForm
    list_display = ["title", "team", "owner", "stage", "health", "risk_tier", "last_activity_at"]
    list_filter = ["stage", "health", "category", "risk_tier", "team"]
    search_fields = ["title", "summary"]
    list_select_related = ["team", "owner"]
    autocomplete_fields = ["owner", "sponsor", "production_owner", "team"]
    readonly_fields = ["stage", "stage_changed_at", "retirement_reason", "version", "created_by",
                       "created_at", "updated_at", "last_activity_at"]
    inlines = [StakeholderInline, DependencyInline, StageTransitionInline]
    history_list_display = ["stage", "health", "owner"]
    fieldsets = [
        ("What and why", {"fields": ["title", "summary", "category", "team"]}),
        ("Who", {"fields": ["owner", "sponsor"]}),
        ("Lifecycle (changed only through stage moves)", {
            "fields": ["stage", "stage_changed_at", "health", "retirement_reason",
                       "retirement_lessons", "last_activity_at", "version", "loaded_version"],
        }),
        ("AI profile", {"fields": ["uses_personal_data", "customer_facing", "autonomy_level",
                                   "risk_tier", "model_vendor"]}),
        ("Sizing and value", {"fields": ["effort_weeks", "reach", "impact", "confidence",
                                         "business_value", "time_criticality", "risk_reduction",
                                         "strategic_alignment", "target_production_date"]}),
        ("Exit contract", {"fields": ["success_metric", "metric_unit", "metric_direction",
                                      "baseline_value", "target_value", "window_start",
                                      "window_end", "decision_date", "production_owner",
                                      "contract_to_review"]}),
        ("Business case", {"fields": ["predicted_annual_value", "predicted_annual_run_cost"]}),
        ("Record", {"fields": ["created_by", "created_at", "updated_at"]}),
    ]

    # Other apps add columns, filters and read-only sections (``hooks.ADMIN_SECTIONS``);
    # rows carry their list annotations, as on the initiative list.
    def get_queryset(self, request):
        return hooks.annotate_for_lists(super().get_queryset(request), now=timezone.now())

    def get_list_display(self, request):
        return [*super().get_list_display(request),
                *(column for section in hooks.ADMIN_SECTIONS for column in section.columns)]

    def get_list_filter(self, request):
        return [*(each for section in hooks.ADMIN_SECTIONS for each in section.filters),
                *super().get_list_filter(request)]

    def get_readonly_fields(self, request, obj=None):
        added = {each: None for section in hooks.ADMIN_SECTIONS
                 for each in (*section.columns, *section.fields)}
        return [*super().get_readonly_fields(request, obj), *added]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:  # nothing to show about a lifecycle that has not started
            return [fs for fs in fieldsets if fs[0] not in ("Record",)]
        combined = []
        for position, fieldset in enumerate(fieldsets, start=1):
            combined.append(fieldset)
            combined.extend((section.title, {"fields": list(section.fields),
                                             "description": section.description})
                            for section in hooks.ADMIN_SECTIONS if section.after == position)
        return combined

    # Who opens and changes initiatives here: ``access.initiative_rights``, like the pages
    # and the API. The admin's rights are model-wide (the same for every initiative).
    def has_view_permission(self, request, obj=None):
        return initiative_rights(request.user).admin_view

    def has_change_permission(self, request, obj=None):
        return initiative_rights(request.user).admin_change

    def save_model(self, request, obj, form, change):
        now = timezone.now()
        fields = {name: form.cleaned_data[name] for name in form.changed_data
                  if name in form.cleaned_data and name != "loaded_version"
                  and name not in self.readonly_fields}
        try:
            if change:
                expected = form.cleaned_data.get("loaded_version") or obj.version
                saved = services.initiative_update(
                    initiative=obj, actor=request.user, now=now, expected_version=expected,
                    changes=fields,
                )
            else:
                editable = {name: form.cleaned_data[name] for name in form.cleaned_data
                            if name not in ("loaded_version", "owner", "depends_on")
                            and name not in self.readonly_fields}
                saved = services.initiative_create(
                    actor=request.user, now=now, owner=form.cleaned_data["owner"], **editable,
                )
        except (DomainError, ValidationError) as error:
            # Raised before anything was written; the admin shows it and saves nothing.
            raise AdminRefusal(str(getattr(error, "message", error))) from error
        obj.pk, obj.version = saved.pk, saved.version
        obj._state.adding = False

    def save_formset(self, request, form, formset, change):
        if formset.model not in _WRITERS:
            return super().save_formset(request, form, formset, change)
        add, remove = _WRITERS[formset.model]
        formset.save(commit=False)  # sorts the rows into new and deleted; writes nothing
        now = timezone.now()
        try:
            for row in formset.deleted_objects:
                remove(row, actor=request.user, now=now)
            for row in formset.new_objects:
                add(row, actor=request.user, now=now)
        except DomainError as error:
            # The admin's transaction rolls back the whole save; the editor sees why.
            raise AdminRefusal(error.message) from error



def _stakeholder_add(row: Stakeholder, *, actor, now) -> Stakeholder:
    return services.stakeholder_add(initiative=row.initiative, user=row.user, role=row.role,
                                    actor=actor, now=now)


def _stakeholder_remove(row: Stakeholder, *, actor, now) -> None:
    services.stakeholder_remove(stakeholder=row, actor=actor, now=now)


def _dependency_add(row: Dependency, *, actor, now) -> Dependency:
    return services.dependency_add(initiative=row.initiative, depends_on=row.depends_on,
                                   actor=actor, now=now)


def _dependency_remove(row: Dependency, *, actor, now) -> None:
    services.dependency_remove(dependency=row, actor=actor, now=now)


# How the admin adds and removes rows whose every change belongs on the timeline.
_WRITERS = {
    Stakeholder: (_stakeholder_add, _stakeholder_remove),
    Dependency: (_dependency_add, _dependency_remove),
}


class ThroughServicesAdmin(RefusalMessageAdmin):
    """Roles and dependencies: added and removed through the services (each change is on
    the initiative's timeline, as on the initiative page), never edited in place."""

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        add, _ = _WRITERS[self.model]
        try:
            saved = add(obj, actor=request.user, now=timezone.now())
        except DomainError as error:
            raise AdminRefusal(error.message) from error
        obj.pk = saved.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        _, remove = _WRITERS[self.model]
        remove(obj, actor=request.user, now=timezone.now())

    def delete_queryset(self, request, queryset):
        _, remove = _WRITERS[self.model]
        now = timezone.now()
        for row in queryset:
            remove(row, actor=request.user, now=now)


@admin.register(Stakeholder)
class StakeholderAdmin(ThroughServicesAdmin):
    list_display = ["initiative", "user", "role"]
    list_filter = ["role"]
    autocomplete_fields = ["initiative", "user"]
    list_select_related = ["initiative", "user"]

    def has_delete_permission(self, request, obj=None):
        # The Accountable row follows the owner: it changes only when the owner does.
        if obj is not None and obj.role == Stakeholder.Role.ACCOUNTABLE:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Update)
class UpdateAdmin(HistoryAdmin):
    """Status updates are what someone said, and when: append-only. They are posted on the
    initiative page (which records the activity and the health); here they are read. Only a
    superuser may correct or remove one, explicitly, and the change history keeps what it
    said before."""

    list_display = ["initiative", "author", "health", "created_at"]
    list_filter = ["health"]
    search_fields = ["body", "initiative__title"]
    autocomplete_fields = ["initiative", "author"]
    list_select_related = ["initiative", "author"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def save_model(self, request, obj, form, change):
        services.update_correct(update=obj, actor=request.user, now=timezone.now())

    def delete_model(self, request, obj):
        services.update_delete(update=obj, actor=request.user, now=timezone.now())

    def delete_queryset(self, request, queryset):
        now = timezone.now()
        for update in queryset:
            services.update_delete(update=update, actor=request.user, now=now)


@admin.register(Dependency)
class DependencyAdmin(ThroughServicesAdmin):
    form = DependencyForm
    list_display = ["initiative", "depends_on", "created_at"]
    autocomplete_fields = ["initiative", "depends_on"]
    list_select_related = ["initiative", "depends_on"]


class ReadOnlyAdminMixin:
    """Readable in the admin, written only by services (the rules live there)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AppendOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Event logs."""


@admin.register(StageTransition)
class StageTransitionAdmin(AppendOnlyAdmin):
    list_display = ["initiative", "from_stage", "to_stage", "actor", "at"]
    list_filter = ["to_stage"]
    search_fields = ["initiative__title", "note"]
    list_select_related = ["initiative", "actor"]


@admin.register(Activity)
class ActivityAdmin(AppendOnlyAdmin):
    list_display = ["initiative", "kind", "actor", "at"]
    list_filter = ["kind"]
    search_fields = ["initiative__title"]
    list_select_related = ["initiative", "actor"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(AppendOnlyAdmin):
    list_display = ["name", "beat_at"]


@admin.register(InitiativeTerm)
class InitiativeTermAdmin(AppendOnlyAdmin):
    """The duplicate finder's index, derived from titles and summaries: read it here to see
    why two initiatives match; rebuild it with ``manage.py similarity_reindex``."""

    list_display = ["initiative", "term", "word", "in_title"]
    list_filter = ["in_title"]
    search_fields = ["term", "word", "initiative__title"]
    list_select_related = ["initiative"]


@admin.register(StallFlag)
class StallFlagAdmin(AppendOnlyAdmin):
    """Stall flags come from the daily detection; decisions are made on /stalls/."""

    list_display = ["initiative", "reason", "flagged_at", "decision", "decided_by",
                    "escalated_at", "resolution", "resolved_at"]
    list_filter = ["reason", "decision", "resolution"]
    list_select_related = ["initiative", "decided_by"]
    search_fields = ["initiative__title"]
    date_hierarchy = "flagged_at"


@admin.register(Measurement)
class MeasurementAdmin(AppendOnlyAdmin):
    """Measurements of each initiative's success metric: recorded by its owner or a
    Responsible PM on the initiative page, through the API or by CSV; read here."""

    list_display = ["initiative", "measured_on", "value", "source", "recorded_by", "recorded_at"]
    list_filter = ["measured_on", "initiative__team"]
    search_fields = ["initiative__title", "source_note", "source_url"]
    list_select_related = ["initiative", "recorded_by"]
    date_hierarchy = "measured_on"


@admin.register(ContractOverride)
class ContractOverrideAdmin(AppendOnlyAdmin):
    """Overrides of the exit contract, with who let the initiative past what and why: given
    by its sponsor or leadership on the initiative page or through the API."""

    list_display = ["initiative", "kind", "overridden", "decided_by", "decided_at"]
    list_filter = ["kind", "initiative__team"]
    search_fields = ["initiative__title", "reason", "overridden"]
    list_select_related = ["initiative", "decided_by"]
    date_hierarchy = "decided_at"


class ValueReviewStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("pending", "Waiting for figures"), ("recorded", "Recorded"),
                ("awaiting", "Value at risk, undecided"), ("decided", "Decided")]

    def queryset(self, request, queryset):
        return {
            "pending": lambda: queryset.pending(),
            "recorded": lambda: queryset.recorded(),
            "awaiting": lambda: queryset.filter(at_risk=True, decision=""),
            "decided": lambda: queryset.exclude(decision=""),
        }.get(self.value(), lambda: queryset)()


@admin.register(ValueReview)
class ValueReviewAdmin(AppendOnlyAdmin):
    """Value reviews after production: scheduled by the daily job, recorded by the owner
    and decided on the initiative's value page or through the API; read here."""

    list_display = ["initiative", "days", "due_on", "realised_value", "run_cost", "at_risk",
                    "decision", "recorded_at"]
    list_filter = [ValueReviewStateFilter, "days", "at_risk", "decision", "initiative__team"]
    search_fields = ["initiative__title", "note", "decision_note"]
    list_select_related = ["initiative", "recorded_by", "decided_by"]
    date_hierarchy = "due_on"


@admin.register(DigestDelivery)
class DigestDeliveryAdmin(AppendOnlyAdmin):
    """Every digest claimed, with its status, attempts and the SMTP server's last reply."""

    list_display = ["recipient", "period", "status", "attempts", "sent_at", "last_error"]
    list_filter = ["status", "period"]
    list_select_related = ["recipient"]
    search_fields = ["recipient__username", "to_address", "message_id"]


@admin.register(DigestRun)
class DigestRunAdmin(AppendOnlyAdmin):
    list_display = ["period", "finished_at", "deliveries"]


@admin.register(DigestSubscription)
class DigestSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["user", "opted_out", "updated_at"]
    list_select_related = ["user"]
    filter_horizontal = ["teams"]
    readonly_fields = ["updated_at"]

    def save_model(self, request, obj, form, change):
        saved = digest_subscription_set(user=form.cleaned_data["user"],
                                        teams=form.cleaned_data["teams"],
                                        opted_out=form.cleaned_data["opted_out"],
                                        now=timezone.now())
        obj.pk, obj.updated_at = saved.pk, saved.updated_at
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        pass  # the service set the teams; the form's own save would set them again


@admin.register(ApiToken)
class ApiTokenAdmin(AppendOnlyAdmin):
    """Who holds which API tokens, and whether they are used. Users create and revoke their
    own on /account/tokens/; deactivating a user stops all of theirs. The key's hash is
    never shown."""

    list_display = ["name", "user", "key_prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["name", "key_prefix", "user__username"]
    fields = ["user", "name", "key_prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    date_hierarchy = "created_at"


User = get_user_model()


@admin.action(description="Deactivate the selected users (they leave; their history stays)",
              permissions=["change"])
def deactivate_users(modeladmin, request, queryset):
    now, left = timezone.now(), 0
    for user in queryset.order_by("pk"):
        try:
            left += accounts.user_deactivate(user=user, actor=request.user, now=now)
        except DomainError as refusal:
            modeladmin.message_user(request, refusal.message, level=messages.ERROR)
    modeladmin.message_user(request, f"{left} user(s) deactivated.", level=messages.SUCCESS)


# Sign-in's admin (the account record, pinned roles) builds on the classes above, and the
# user page below shows its inlines.
from portfolio.identity import admin as identity_admin  # noqa: E402


class AccountAdmin(RefusalMessageMixin, DjangoUserAdmin):
    """Users. Someone who is part of the record (owns or sponsors an initiative, holds a
    role, posted an update, decided something, appears in a change history) is deactivated
    when they leave, never deleted: the delete page refuses and says so. Unticking
    "Active", or the "Deactivate" action, deactivates through ``accounts.user_deactivate``.

    Their single sign-on identity, pinned roles and last account events are on their page;
    pins and role changes go through ``identity.services`` and are on the account record.
    """

    list_display = [*DjangoUserAdmin.list_display, "is_active", "single_sign_on",
                    "last_login"]
    list_select_related = ["external_identity"]
    actions = [deactivate_users]
    inlines = [identity_admin.ExternalIdentityInline, identity_admin.RolePinInline]

    @admin.display(description="single sign-on", boolean=True)
    def single_sign_on(self, user) -> bool:
        return hasattr(user, "external_identity")

    @admin.display(description="account record (last events)")
    def account_record(self, user) -> str:
        return identity_admin.recent_account_events(user)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_readonly_fields(self, request, obj=None):
        # When someone last signed in and joined is recorded, never typed in.
        return [*super().get_readonly_fields(request, obj), "last_login", "date_joined",
                "account_record"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        explained = [(name, {**options, "description": identity_admin.ROLES_PRECEDENCE})
                     if "groups" in options["fields"] else (name, options)
                     for name, options in fieldsets]
        return [*explained, ("Account record", {"fields": ["account_record"]})]

    def save_related(self, request, form, formsets, change):
        # Django's default (the form's groups, then each inline), with the roles an admin
        # ticked recorded on the account record and pins made through the services.
        user, now = form.instance, timezone.now()
        before = None
        if change and "groups" in form.fields:
            staff_before = form.initial.get("is_staff", user.is_staff)
            before = identity_services.roles_held(user) - {STAFF}
            before |= {STAFF} if staff_before else set()
        form.save_m2m()
        if before is not None:
            identity_services.roles_edited_in_admin(user=user, roles_before=before,
                                                    actor=request.user, now=now)
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request, form, formset, change):
        if formset.model is not RolePin:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)  # sorts the rows into new and deleted; writes nothing
        now = timezone.now()
        try:
            for pin in formset.deleted_objects:
                identity_services.role_pin_remove(pin=pin, actor=request.user, now=now)
            for pin in formset.new_objects:
                identity_services.role_pin_add(user=form.instance, role=pin.role,
                                               note=pin.note, actor=request.user, now=now)
        except ValidationError as error:
            raise AdminRefusal(" ".join(error.messages)) from error

    def get_deleted_objects(self, objs, request):
        to_delete, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        refusals = [reason for reason in (accounts.user_deletion_refusal(user=user)
                                          for user in objs) if reason]
        return to_delete, counts, perms_needed, [*refusals, *protected]

    def delete_model(self, request, obj):
        accounts.user_delete(user=obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            accounts.user_delete(user=user)

    def save_model(self, request, obj, form, change):
        try:
            accounts.user_save(user=obj, changed_fields=form.changed_data, actor=request.user,
                               now=timezone.now())
        except DomainError as error:
            raise AdminRefusal(error.message) from error


admin.site.unregister(User)
admin.site.register(User, AccountAdmin)

# Notifications' admins (webhook hosts, chat channels, the outbox) build on the classes
# above, so they are registered last.
from portfolio.notifications import admin as notifications_admin  # noqa: E402,F401

# With single sign-on on, the admin's password-only sign-in page sends people to ours.
admin.site.login = admin_sign_in
