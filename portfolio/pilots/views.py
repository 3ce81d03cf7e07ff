"""The stalled-pilots page and the weekly digest's pages.

Every role reads the stalled-pilots page; TPMs land on it. The initiative's owner, a
TPM or an admin decides in place — scale, extend or kill — from a form in the stall's
row. Only TPMs and admins have a digest to set up and preview; other roles get 403,
outsiders 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_http_methods

from portfolio.access import (
    can_decide_stall,
    can_follow_teams,
    can_run_digests,
    require_digest_reader,
    require_reader,
    require_stall_decider,
)
from portfolio.exceptions import DomainError
from portfolio.forms import add_refusal
from portfolio.models import Initiative, Stage, StallDecision, StallFlag, StallReason
from portfolio.pilots import selectors
from portfolio.pilots import services as stalls
from portfolio.pilots.digest.subscriptions import digest_subscription_set
from portfolio.pilots.forms import DigestSettingsForm, StallDecisionForm, StallFilterForm
from portfolio.roles import Role, roles_of

SCALED = "“{title}” moves to production."
SCALE_WAITING = "Scale-up of “{title}” recorded; it moves once the gate opens. {note}"
EXTENDED = "“{title}” is extended until {until}; it is not flagged again before then."
KILLED = "“{title}” is retired and in the kill log."


@dataclass
class StallRow:
    """One row of the page: a flag with what it shows and, for a decider, its form."""

    flag: StallFlag
    initiative: Initiative
    reason: str
    in_pilot: bool
    days_in_pilot: int
    days_idle: int
    weeks_flagged: int
    weeks_undecided: int | None
    form: StallDecisionForm | None  # None: this viewer cannot decide it, or it is resolved

    @property
    def refused(self) -> bool:
        return self.form is not None and self.form.is_bound


def _form_id(flag_id: int) -> str:
    """Each row's form fields get their own ids, so each label names its own field."""
    return f"stall-{flag_id}-%s"


def _row(flag: StallFlag, *, user, now: datetime, refused: tuple | None) -> StallRow:
    initiative = flag.initiative
    form = None
    if flag.is_open and can_decide_stall(user, initiative):
        if refused is not None and refused[0].pk == flag.pk:
            form = refused[1]
        else:
            form = StallDecisionForm(auto_id=_form_id(flag.pk))
    return StallRow(
        flag=flag, initiative=initiative, reason=StallReason(flag.current_reason).label,
        in_pilot=initiative.stage == Stage.PILOT,
        days_in_pilot=initiative.days_in_stage(now),
        days_idle=initiative.days_idle(now),
        weeks_flagged=max((now - flag.flagged_at).days // 7, 0),
        weeks_undecided=flag.weeks_undecided(now),
        form=form,
    )


def _render_list(request, *, refused: tuple | None = None, status: int = 200):
    """The page; ``refused`` is (flag, bound form) of a decision that was not recorded."""
    require_reader(request.user)
    now = timezone.now()
    can_follow = can_follow_teams(request.user)
    form = StallFilterForm(request.GET, can_follow=can_follow)
    form.is_valid()  # a bad filter is shown on its field and ignored
    filters = form.cleaned_data
    flags = selectors.stall_flag_list(user=request.user, filters=filters, now=now)
    page = Paginator(flags, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [_row(flag, user=request.user, now=now, refused=refused)
            for flag in page.object_list]
    return render(request, "portfolio/stall_list.html", {
        "page": page,
        "rows": rows,
        "form": form,
        "state_counts": selectors.stall_state_counts(user=request.user, filters=filters,
                                                     now=now),
        "state": filters.get("state") or "",
        "filtered": any(filters.get(name) for name in form.fields if name != "state"),
        "any_decidable": any(row.form is not None for row in rows),
        # A refusal on a stall this page does not show (resolved meanwhile, filtered out).
        "refused_elsewhere": (refused if refused is not None
                              and not any(row.refused for row in rows) else None),
        "max_days": settings.PILOT_MAX_DAYS,
        "idle_days": settings.PILOT_IDLE_DAYS,
        "escalate_weeks": settings.STALL_ESCALATE_WEEKS,
        "list_query": request.GET.urlencode(),
    }, status=status)


def stall_list(request):
    return _render_list(request)


def _back_to_list(request):
    """The list as the decider left it: same filters, same page."""
    query = request.GET.urlencode()
    return redirect(reverse("portfolio:stall-list") + (f"?{query}" if query else ""))


@require_http_methods(["GET", "POST"])
def stall_decide(request, flag_id: int):
    """Record scale, extend or kill on one stall; refused, the list shows why on its row.

    The form posts here with the list's query string, so both the redirect and a
    re-rendered list keep the decider's filters and page. A GET goes to the list.
    """
    require_reader(request.user)
    if request.method != "POST":
        return _back_to_list(request)
    flag = get_object_or_404(StallFlag.objects.select_related("initiative"), pk=flag_id)
    require_stall_decider(request.user, flag.initiative)
    form = StallDecisionForm(request.POST, auto_id=_form_id(flag.pk))
    if form.is_valid():
        try:
            decided = stalls.stall_decide(flag=flag, actor=request.user, now=timezone.now(),
                                          **form.cleaned_data)
        except DomainError as error:
            add_refusal(form, error)
        else:
            messages.success(request, _decided_message(decided))
            return _back_to_list(request)
    return _render_list(request, refused=(flag, form), status=400)


def _decided_message(flag: StallFlag) -> str:
    title = flag.initiative.title
    if flag.decision == StallDecision.SCALE:
        if flag.is_open:
            return SCALE_WAITING.format(title=title, note=flag.decision_note)
        return SCALED.format(title=title)
    if flag.decision == StallDecision.EXTEND:
        return EXTENDED.format(title=title, until=date_format(flag.extended_until, "j M Y"))
    return KILLED.format(title=title)


# --- The digest's pages ---------------------------------------------------------------------

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
