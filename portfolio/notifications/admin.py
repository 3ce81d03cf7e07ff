"""The Django admin of notifications: the hosts chat webhooks may post to, each team's chat
channels (whose webhook URL is written here and never shown back: only its hint), and the
outbox and daily summaries, read-only, with failed deliveries sent again by hand.

Registered by ``portfolio.admin`` (notifications are part of the portfolio app). Every
write goes through ``portfolio.notifications.services``.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone

from portfolio.admin import AdminRefusal, ReadOnlyAdminMixin, RefusalMessageMixin
from portfolio.exceptions import DomainError
from portfolio.models import ChatChannel, DailySummary, Notification, WebhookHost
from portfolio.notifications import services
from portfolio.notifications.forms import ChatChannelForm, WebhookHostForm

RESENT = "{count} notification(s) queued to be sent again."
RESEND_SKIPPED = "{count} skipped: only a failed notification is sent again by hand."


@admin.register(WebhookHost)
class WebhookHostAdmin(RefusalMessageMixin, admin.ModelAdmin):
    """The allowed-hosts list: a channel's URL must name one of these, over https."""

    form = WebhookHostForm
    list_display = ["host", "note"]
    search_fields = ["host", "note"]

    def save_model(self, request, obj, form, change):
        try:
            services.webhook_host_save(host=obj, actor=request.user, now=timezone.now())
        except DomainError as error:
            raise AdminRefusal(error.message) from error

    def delete_model(self, request, obj):
        services.webhook_host_delete(host=obj, actor=request.user, now=timezone.now())

    def delete_queryset(self, request, queryset):
        now = timezone.now()
        for host in queryset:
            services.webhook_host_delete(host=host, actor=request.user, now=now)


@admin.register(ChatChannel)
class ChatChannelAdmin(RefusalMessageMixin, admin.ModelAdmin):
    """A team's Slack or Teams channel. The URL field is write-only: empty on every form,
    absent from the list and the search; the saved URL is shown only as its hint."""

    form = ChatChannelForm
    fields = ["team", "kind", "name", "webhook_url", "active"]
    list_display = ["name", "team", "kind", "url_hint", "active", "created_at"]
    list_filter = ["kind", "active", "team"]
    list_select_related = ["team"]
    search_fields = ["name", "team__name"]

    def get_fields(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            return ["team", "kind", "name", "url_hint", "active", "created_at"]  # read only
        return super().get_fields(request, obj)

    def save_model(self, request, obj, form, change):
        try:
            services.chat_channel_save(channel=obj, url=form.cleaned_data.get("webhook_url")
                                       or None, actor=request.user, now=timezone.now())
        except DomainError as error:
            raise AdminRefusal(error.message) from error

    def delete_model(self, request, obj):
        services.chat_channel_delete(channel=obj, actor=request.user, now=timezone.now())

    def delete_queryset(self, request, queryset):
        now = timezone.now()
        for channel in queryset:
            services.chat_channel_delete(channel=channel, actor=request.user, now=now)


@admin.action(description="Send the selected failed notifications again",
              permissions=["resend"])
def send_again(modeladmin, request, queryset):
    now, resent, skipped = timezone.now(), 0, 0
    for notification in queryset.order_by("pk"):
        try:
            services.notification_resend(notification=notification, actor=request.user,
                                         now=now)
        except DomainError:
            skipped += 1
        else:
            resent += 1
    if resent:
        modeladmin.message_user(request, RESENT.format(count=resent), level=messages.SUCCESS)
    if skipped:
        modeladmin.message_user(request, RESEND_SKIPPED.format(count=skipped),
                                level=messages.WARNING)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The outbox: each event for each person or channel, its status, attempts and the last
    reply. Written by the fan-out and the worker; a failed one is sent again by hand."""

    list_display = ["created_at", "event", "initiative", "target", "mode", "status",
                    "attempts", "response_status", "last_error"]
    list_filter = ["status", "mode", "activity__kind"]
    list_select_related = ["activity__initiative", "recipient", "channel"]
    search_fields = ["activity__initiative__title", "recipient__username", "channel__name"]
    date_hierarchy = "created_at"
    actions = [send_again]
    fields = ["created_at", "event", "initiative", "target", "mode", "status", "attempts",
              "claimed_at", "next_attempt_at", "sent_at", "response_status", "response_body",
              "last_error", "summary"]
    readonly_fields = fields

    @admin.display(description="event", ordering="activity__kind")
    def event(self, notification):
        return notification.activity.get_kind_display()

    @admin.display(description="initiative", ordering="activity__initiative__title")
    def initiative(self, notification):
        return notification.activity.initiative

    @admin.display(description="recipient or channel")
    def target(self, notification):
        if notification.channel_id:
            channel = notification.channel
            return f"{channel.name} ({channel.get_kind_display()}, {channel.url_hint})"
        return notification.recipient

    def has_resend_permission(self, request):
        """Sending again changes the row: Django's change permission on notifications."""
        return request.user.has_perm("portfolio.change_notification")


@admin.register(DailySummary)
class DailySummaryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each person's daily summary, one per day: claimed, then sent once."""

    list_display = ["day", "recipient", "status", "attempts", "sent_at", "last_error"]
    list_filter = ["status", "day"]
    list_select_related = ["recipient"]
    search_fields = ["recipient__username"]
    date_hierarchy = "day"
