"""The weekly digest's pages: a TPM's settings and a preview.

Only TPMs and admins have a digest to set up; other roles get 403, outsiders 404.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from portfolio import selectors
from portfolio.access import can_run_digests, require_digest_reader
from portfolio.digest.subscriptions import digest_subscription_set
from portfolio.forms import DigestSettingsForm
from portfolio.roles import Role, roles_of

SAVED = "Digest settings saved."
ONLY_ADMINS_PREVIEW_OTHERS = "Only an admin can preview someone else's digest."


def digest_settings(request):
    """The teams the digest covers (none: every team) and the opt-out; recent deliveries."""
    require_digest_reader(request.user)
    subscription = selectors.digest_subscription_get(user=request.user)
    if request.method == "POST":
        form = DigestSettingsForm(request.POST)
        if form.is_valid():
            digest_subscription_set(user=request.user, teams=form.cleaned_data["teams"],
                                    opted_out=form.cleaned_data["opted_out"],
                                    now=timezone.now())
            messages.success(request, SAVED)
            return redirect("portfolio:digest-settings")
    elif subscription is not None:
        form = DigestSettingsForm(initial={
            "teams": [team.pk for team in subscription.teams.all()],
            "opted_out": subscription.opted_out,
        })
    else:
        form = DigestSettingsForm()
    return render(request, "portfolio/digest_settings.html", {
        "form": form,
        "subscription": subscription,
        "is_tpm": Role.TPM in roles_of(request.user),
        "deliveries": selectors.digest_delivery_list(user=request.user),
        "digest_hour": settings.DIGEST_HOUR,
        "time_zone": settings.TIME_ZONE,
    }, status=400 if form.errors else 200)


def digest_preview(request):
    """What the next digest would say to the signed-in user (an admin: to ``?user=``)."""
    require_digest_reader(request.user)
    reader = request.user
    username = request.GET.get("user", "").strip()
    if username and username != request.user.get_username():
        if not can_run_digests(request.user):
            raise PermissionDenied(ONLY_ADMINS_PREVIEW_OTHERS)
        reader = get_object_or_404(get_user_model(), username=username)
    preview = selectors.digest_preview(user=reader, now=timezone.now())
    return render(request, "portfolio/digest_preview.html", {
        "preview": preview,
        "digest": preview.digest,
        "is_self": reader.pk == request.user.pk,
        "tpms": selectors.digest_tpm_choices() if can_run_digests(request.user) else None,
    })
