"""The Django admin for governance: the catalogue is edited here (its saves and deletions go
through ``services.checkpoint_type_save`` and ``checkpoint_type_delete``), decisions are not.

Checkpoints are read-only in the admin: they are decided on the review pages, where only
a reviewer who neither owns nor sponsors the initiative may decide (segregation of
duties), with evidence, and one decision stands. Portfolio's initiative admin is
extended with the out-of-compliance flag and the initiative's checkpoints.
"""

from django.contrib import admin
from django.db import models
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from governance import services
from governance.models import Checkpoint, CheckpointStatus, CheckpointType
from governance.selectors import with_compliance
from portfolio.admin import HistoryAdmin, InitiativeAdmin, ReadOnlyAdminMixin
from portfolio.models import Initiative

READ_ONLY_NOTE = ("Checkpoints are decided on the review pages, not here: only a governance "
                  "reviewer who neither owns nor sponsors the initiative may approve, reject "
                  "or waive one (segregation of duties).")


@admin.register(CheckpointType)
class CheckpointTypeAdmin(HistoryAdmin):
    list_display = ["code", "name", "nist_function", "required_for", "applies_when",
                    "review_days", "active"]
    list_filter = ["active", "nist_function", "required_for"]
    search_fields = ["code", "name", "description"]
    history_list_display = ["required_for", "active"]
    fieldsets = [
        (None, {"fields": ["code", "name", "description", "nist_function", "required_for",
                           "review_days", "active"]}),
        ("Applies when (every condition set must hold; none set: always)", {
            "fields": ["min_risk_tier", "requires_personal_data", "requires_customer_facing",
                       "min_autonomy_level"]}),
    ]

    @admin.display(description="applies when")
    def applies_when(self, obj):
        return obj.applies_when

    def save_model(self, request, obj, form, change):
        services.checkpoint_type_save(checkpoint_type=obj, actor=request.user,
                                      now=timezone.now())

    def delete_model(self, request, obj):
        services.checkpoint_type_delete(checkpoint_type=obj, actor=request.user,
                                        now=timezone.now())

    def delete_queryset(self, request, queryset):
        now = timezone.now()
        for checkpoint_type in queryset:
            services.checkpoint_type_delete(checkpoint_type=checkpoint_type,
                                            actor=request.user, now=now)


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    """Read-only: see ``READ_ONLY_NOTE``."""

    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    list_display = ["initiative", "type", "status", "due_date", "reviewer", "decided_at",
                    "waiver_expires_on", "retired_at"]
    list_filter = ["status", "type", "type__nist_function", "type__required_for"]
    search_fields = ["initiative__title"]
    list_select_related = ["initiative", "type", "reviewer"]
    date_hierarchy = "due_date"

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}),
                                                 "title": "Checkpoints (read-only)",
                                                 "subtitle": READ_ONLY_NOTE})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return super().change_view(request, object_id, form_url, {
            **(extra_context or {}), "subtitle": READ_ONLY_NOTE})



class OutOfComplianceFilter(admin.SimpleListFilter):
    title = "compliance"
    parameter_name = "compliance"

    def lookups(self, request, model_admin):
        return [("out", "Out of compliance"), ("in", "In compliance")]

    def queryset(self, request, queryset):
        if self.value() in ("out", "in"):
            return queryset.filter(out_of_compliance=self.value() == "out")
        return queryset


class GovernedInitiativeAdmin(InitiativeAdmin):
    """Portfolio's initiative admin (writes through its services, stage read-only), plus
    the out-of-compliance flag in the list and the checkpoints on the change page."""

    list_display = [*InitiativeAdmin.list_display, "out_of_compliance"]
    list_filter = [OutOfComplianceFilter, *InitiativeAdmin.list_filter]
    readonly_fields = [*InitiativeAdmin.readonly_fields, "out_of_compliance",
                       "governance_checkpoints"]
    fieldsets = [
        *InitiativeAdmin.fieldsets[:3],
        ("Governance (decided on the review pages)", {
            "fields": ["out_of_compliance", "governance_checkpoints"],
            "description": READ_ONLY_NOTE,
        }),
        *InitiativeAdmin.fieldsets[3:],
    ]

    def get_queryset(self, request):
        return with_compliance(super().get_queryset(request),
                               today=timezone.localdate())

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:  # no checkpoints before the initiative exists
            return [fs for fs in fieldsets if not fs[0] or not fs[0].startswith("Governance")]
        return fieldsets

    @admin.display(description="out of compliance", boolean=True,
                   ordering="out_of_compliance")
    def out_of_compliance(self, obj):
        # Annotated by get_queryset, which both the list and the change page read through.
        return bool(getattr(obj, "out_of_compliance", False))

    @admin.display(description="checkpoints")
    def governance_checkpoints(self, obj):
        today = timezone.localdate()
        checkpoints = (Checkpoint.objects.applicable().filter(initiative=obj)
                       .select_related("type", "reviewer")
                       .order_by("type__required_for", "type__name"))
        if not checkpoints:
            return "No checkpoint applies."
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                                "<td>{}</td></tr>", (
            (cp.type.name, cp.type.get_required_for_display(), _status_text(cp, today),
             cp.due_date, cp.reviewer or "—") for cp in checkpoints))
        return format_html(
            "<table><thead><tr><th>Checkpoint</th><th>Gates</th><th>Status</th><th>Due</th>"
            "<th>Reviewer</th></tr></thead><tbody>{}</tbody></table>", rows)


def _status_text(checkpoint: Checkpoint, today) -> str:
    if checkpoint.status == CheckpointStatus.WAIVED and not checkpoint.is_cleared(today):
        return f"Waiver expired {checkpoint.waiver_expires_on:%Y-%m-%d}"
    return checkpoint.get_status_display()


admin.site.unregister(Initiative)
admin.site.register(Initiative, GovernedInitiativeAdmin)
