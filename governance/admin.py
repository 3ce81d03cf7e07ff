"""The Django admin for governance: the catalogue is edited here (its saves and deletions go
through ``services.checkpoint_type_save`` and ``checkpoint_type_delete``), and so are the
reviewer groups and the routes that send reviews to them (``services.reviewer_group_save``,
``review_route_save`` and their deletes); decisions are not.

Checkpoints are read-only in the admin: they are decided on the review pages, where only
a reviewer who neither owns nor sponsors the initiative may decide (segregation of
duties), with evidence, and one decision stands. Portfolio's initiative admin shows
the out-of-compliance flag and the initiative's checkpoints (``INITIATIVE_ADMIN_SECTION``).
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from governance import services
from governance.models import (
    Checkpoint,
    CheckpointStatus,
    CheckpointType,
    ReviewerGroup,
    ReviewRoute,
)
from portfolio.admin import HistoryAdmin, ReadOnlyAdminMixin
from portfolio.hooks import AdminSection
from portfolio.roles import Role

READ_ONLY_NOTE = ("Checkpoints are decided on the review pages, not here: only a governance "
                  "reviewer who neither owns nor sponsors the initiative, nor is Responsible "
                  "or Consulted on it, may approve, reject or waive one (segregation of "
                  "duties).")


# The admin's words for reviewer capacity (the model's help text is shorter).
CAPACITY_HELP = ("How many reviews of this type the reviewers can decide in a week. Forecasts "
                 "divide a review's place in the queue by it: 7th in the queue at 3 a week "
                 "is about 17 days. Leave it empty to use the pace of the last 4 weeks' "
                 "decisions (with none, one review per expected review time).")


class CheckpointTypeForm(forms.ModelForm):
    class Meta:
        model = CheckpointType
        fields = ["code", "name", "description", "nist_function", "required_for", "active",
                  "review_days", "reviews_per_week", "min_risk_tier", "requires_personal_data",
                  "requires_customer_facing", "min_autonomy_level"]
        help_texts = {"reviews_per_week": CAPACITY_HELP}

    def clean_reviews_per_week(self):
        value = self.cleaned_data["reviews_per_week"]
        services.validate_reviews_per_week(value)  # on the field, not above the form
        return value


@admin.register(CheckpointType)
class CheckpointTypeAdmin(HistoryAdmin):
    form = CheckpointTypeForm
    list_display = ["code", "name", "nist_function", "required_for", "applies_when",
                    "review_days", "reviews_per_week", "active"]
    list_filter = ["active", "nist_function", "required_for"]
    search_fields = ["code", "name", "description"]
    history_list_display = ["required_for", "reviews_per_week", "active"]
    fieldsets = [
        (None, {"fields": ["code", "name", "description", "nist_function", "required_for",
                           "active"]}),
        ("Review time and reviewer capacity", {
            "fields": ["review_days", "reviews_per_week"]}),
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


# --- Routing reviews: reviewer groups and routes (``services.route_for``) --------------------

class ReviewerGroupForm(forms.ModelForm):
    class Meta:
        model = ReviewerGroup
        fields = ["name", "members"]
        help_texts = {"members": "Governance reviewers only: the reviews routed to the group "
                                 "are theirs, and they are told when one is requested."}
        # A list of labelled checkboxes: reviewers are few, and Django's two-box picker
        # labels its search icons in a way screen readers miss.
        widgets = {"members": forms.CheckboxSelectMultiple}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Active reviewers, and anyone already in the group (so a save never drops them).
        reviewers = Q(groups__name=Role.REVIEWER, is_active=True)
        if self.instance.pk:
            reviewers |= Q(reviewer_groups=self.instance)
        self.fields["members"].queryset = (get_user_model().objects.filter(reviewers)
                                           .distinct().order_by("username"))


@admin.register(ReviewerGroup)
class ReviewerGroupAdmin(HistoryAdmin):
    """Saved and deleted through ``services.reviewer_group_save`` / ``_delete``; the
    members are set after the save (``save_related``): reviews are routed by group, so
    nothing else follows a change of members."""

    form = ReviewerGroupForm
    list_display = ["name", "member_count", "routes_list"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            member_total=Count("members", distinct=True)).prefetch_related(
            "routes__checkpoint_type", "routes__team")

    @admin.display(description="members", ordering="member_total")
    def member_count(self, obj):
        return obj.member_total

    @admin.display(description="reviews routed here")
    def routes_list(self, obj):
        return "; ".join(" for ".join(str(x) for x in (route.checkpoint_type, route.team) if x)
                         for route in obj.routes.all()) or "—"

    def save_model(self, request, obj, form, change):
        services.reviewer_group_save(group=obj, actor=request.user, now=timezone.now())

    def delete_model(self, request, obj):
        services.reviewer_group_delete(group=obj, actor=request.user, now=timezone.now())

    def delete_queryset(self, request, queryset):
        now = timezone.now()
        for group in queryset:
            services.reviewer_group_delete(group=group, actor=request.user, now=now)


ROUTE_NAMES_NOTHING = ("Name a checkpoint type, a team or both: a route for neither would "
                       "send every review to one group.")


class ReviewRouteForm(forms.ModelForm):
    class Meta:
        model = ReviewRoute
        fields = ["checkpoint_type", "team", "group"]

    def clean(self):
        cleaned = super().clean()
        # The ``review_route_names_something`` constraint, said on a field.
        if not cleaned.get("checkpoint_type") and not cleaned.get("team") \
                and "checkpoint_type" not in self.errors and "team" not in self.errors:
            self.add_error("checkpoint_type", ROUTE_NAMES_NOTHING)
        return cleaned


@admin.register(ReviewRoute)
class ReviewRouteAdmin(HistoryAdmin):
    """Which group reviews a type, a team's checkpoints, or a type for one team (the most
    specific wins). Saved and deleted through ``services.review_route_save`` / ``_delete``:
    open checkpoints move to the group their route names now; decided ones keep theirs."""

    form = ReviewRouteForm
    list_display = ["checkpoint_type", "team", "group"]
    list_filter = ["group", "checkpoint_type"]
    list_select_related = ["checkpoint_type", "team", "group"]
    autocomplete_fields = ["team"]
    search_fields = ["checkpoint_type__name", "team__name", "group__name"]

    def save_model(self, request, obj, form, change):
        services.review_route_save(route=obj, actor=request.user, now=timezone.now())

    def delete_model(self, request, obj):
        services.review_route_delete(route=obj, actor=request.user, now=timezone.now())

    def delete_queryset(self, request, queryset):
        now = timezone.now()
        for route in queryset:
            services.review_route_delete(route=route, actor=request.user, now=now)


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


@admin.display(description="out of compliance", boolean=True, ordering="out_of_compliance")
def out_of_compliance(initiative):
    # Annotated by governance's list annotation, which the initiative admin's rows carry.
    return bool(getattr(initiative, "out_of_compliance", False))


@admin.display(description="checkpoints")
def checkpoints(initiative):
    today = timezone.localdate()
    rows = (Checkpoint.objects.applicable().filter(initiative=initiative)
            .select_related("type", "reviewer")
            .order_by("type__required_for", "type__name"))
    if not rows:
        return "No checkpoint applies."
    cells = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                             "<td>{}</td></tr>", (
        (cp.type.name, cp.type.get_required_for_display(), _status_text(cp, today),
         cp.due_date, cp.reviewer or "—") for cp in rows))
    return format_html(
        "<table><thead><tr><th>Checkpoint</th><th>Gates</th><th>Status</th><th>Due</th>"
        "<th>Reviewer</th></tr></thead><tbody>{}</tbody></table>", cells)


# Portfolio's initiative admin (writes through its services, stage read-only) shows these
# through ``hooks.ADMIN_SECTIONS``: registered in ``GovernanceConfig.ready``.
INITIATIVE_ADMIN_SECTION = AdminSection(
    title="Governance (decided on the review pages)", description=READ_ONLY_NOTE,
    columns=(out_of_compliance,), filters=(OutOfComplianceFilter,),
    fields=(out_of_compliance, checkpoints), after=3)


def _status_text(checkpoint: Checkpoint, today) -> str:
    if checkpoint.status == CheckpointStatus.WAIVED and not checkpoint.is_cleared(today):
        return f"Waiver expired {checkpoint.waiver_expires_on:%Y-%m-%d}"
    return checkpoint.get_status_display()

