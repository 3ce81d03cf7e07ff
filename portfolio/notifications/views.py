"""A person's notification preferences: for each kind of event, immediately, in a daily
summary, or off. Every reader of the portfolio has them; outsiders get 404."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render

from portfolio import hooks
from portfolio.access import require_reader
from portfolio.exceptions import DomainError
from portfolio.forms import add_refusal
from portfolio.notifications import services
from portfolio.notifications.forms import NotificationSettingsForm

SAVED = "Your notification settings are saved."


def notification_settings(request):
    require_reader(request.user)
    kinds = hooks.notifying_kinds()
    if request.method == "POST":
        form = NotificationSettingsForm(request.POST, kinds=kinds)
        if form.is_valid():
            try:
                services.notification_preferences_set(user=request.user,
                                                      modes=dict(form.cleaned_data))
            except DomainError as error:
                add_refusal(form, error)
            else:
                messages.success(request, SAVED)
                return redirect("portfolio:notification-settings")
    else:
        form = NotificationSettingsForm(initial=services.notification_modes(request.user),
                                        kinds=kinds)
    return render(request, "portfolio/notifications/settings.html", {
        "form": form,
        "email": request.user.email,
        "summary_hour": f"{settings.DAILY_SUMMARY_HOUR:02d}:00",
        "time_zone": settings.TIME_ZONE,
    }, status=400 if form.errors else 200)
