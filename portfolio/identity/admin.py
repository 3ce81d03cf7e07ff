"""The admin of sign-in: the account record (sign-ins, failures, sign-outs, role changes),
read-only; and, on the user page, the account's single sign-on identity, its pinned roles
and its last events.

Registered by ``portfolio.admin`` (identity is part of the portfolio app), whose
``AccountAdmin`` uses the inlines and fields below. Every write goes through
``portfolio.identity.services``.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from portfolio.admin import LabelledDeleteFormSet, ReadOnlyAdminMixin
from portfolio.identity.models import AccountEvent, ExternalIdentity, RolePin

RECENT_EVENTS = 20

ROLES_PRECEDENCE = (
    "With single sign-on, an account's roles come from the provider's groups at every "
    "sign-in, plus the roles pinned below. Role groups (and “Staff status”) ticked here by "
    "hand on an account that signs in through the provider are replaced at its next "
    "sign-in: to give such an account a role its groups do not, pin the role instead. An "
    "account without single sign-on keeps the role groups ticked here."
)


def _details_inline(details: dict) -> str:
    """An event's details on one line: "added: reviewer; removed: pm"."""
    return "; ".join(
        f"{key.replace('_', ' ')}: "
        f"{', '.join(map(str, value)) if isinstance(value, list | tuple) else value}"
        for key, value in sorted(details.items()) if value not in ([], "", None))


def _details(details: dict) -> str:
    """An event's details as "key: value" lines (lists joined), not as raw JSON."""
    if not details:
        return "—"
    return format_html(
        '<dl class="account-event-details">{}</dl>',
        format_html_join("", "<dt>{}</dt><dd>{}</dd>", (
            (key.replace("_", " "),
             (", ".join(map(str, value)) or "none") if isinstance(value, list | tuple)
             else value)
            for key, value in sorted(details.items()))))


@admin.register(AccountEvent)
class AccountEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The account record: who signed in and how, what failed and why, whose roles changed
    and by whom. Written by the sign-in machinery and the services; read here."""

    list_display = ["at", "kind", "who", "method", "actor", "ip_address", "reason"]
    list_title = "Account record: sign-ins, failures, sign-outs and role changes"
    list_filter = ["kind", "method"]
    search_fields = ["username"]
    list_select_related = ["user", "actor"]
    date_hierarchy = "at"
    fields = ["at", "kind", "user", "username", "method", "actor", "ip_address", "reason",
              "details_shown"]
    readonly_fields = fields

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": self.list_title,
                                                 **(extra_context or {})})

    @admin.display(description="user", ordering="username")
    def who(self, event: AccountEvent) -> str:
        if event.user is not None:
            return str(event.user)
        return event.username or "—"

    @admin.display(description="details")
    def details_shown(self, event: AccountEvent) -> str:
        return _details(event.details)


@admin.register(RolePin)
class RolePinAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every pinned role, to see at a glance who holds a role the provider's groups do not
    grant. Pins are added and removed on each user's page."""

    list_display = ["user", "role", "note", "pinned_by", "pinned_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "note"]
    list_select_related = ["user", "pinned_by"]


class ExternalIdentityInline(ReadOnlyAdminMixin, admin.StackedInline):
    """Who the provider says this account is, and the groups it sent at the last sign-in."""

    model = ExternalIdentity
    extra = 0
    can_delete = False
    fields = ["issuer", "subject", "groups_sent", "first_signed_in_at", "last_signed_in_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="groups sent at the last sign-in")
    def groups_sent(self, identity: ExternalIdentity) -> str:
        return ", ".join(map(str, identity.groups)) or "none"


class RolePinInline(admin.TabularInline):
    """Roles an admin pins: added and removed through ``identity.services`` (which give or
    take the role at once, on the account record), never edited in place."""

    model = RolePin
    fk_name = "user"
    extra = 0
    formset = LabelledDeleteFormSet
    fields = ["role", "note", "pinned_by", "pinned_at"]
    readonly_fields = ["pinned_by", "pinned_at"]
    verbose_name = "pinned role"
    verbose_name_plural = "pinned roles (kept at every sign-in, whatever the provider's groups)"

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("pinned_by")


def recent_account_events(user) -> str:
    """The account's last events as a small table, with a link to all of them."""
    events = list(AccountEvent.objects.filter(user=user).select_related("actor")
                  .order_by("-at", "-id")[:RECENT_EVENTS])
    link = format_html(
        '<a href="{}?{}">All of this account\'s record</a>',
        reverse("admin:portfolio_accountevent_changelist"), urlencode({"user__id__exact":
                                                                        user.pk}))
    if not events:
        return format_html("<p>Nothing recorded yet.</p><p>{}</p>", link)
    rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                                "<td>{}</td><td>{}</td></tr>", (
        (f"{timezone.localtime(event.at):%Y-%m-%d %H:%M}", event.get_kind_display(),
         event.get_method_display() or "—", event.actor or "—", event.reason or "—",
         _details_inline(event.details) or "—")
        for event in events))
    return format_html(
        '<div class="account-record"><table><thead><tr><th scope="col">When</th>'
        '<th scope="col">What</th><th scope="col">How</th><th scope="col">By</th>'
        '<th scope="col">Reason</th><th scope="col">Details</th></tr></thead>'
        "<tbody>{}</tbody></table>"
        "<p>{}{}</p></div>", rows,
        f"The last {RECENT_EVENTS} shown. " if len(events) == RECENT_EVENTS else "", link)
