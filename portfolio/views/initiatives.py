"""The initiative pages: list, intake, detail and keeping an initiative current."""

import hashlib

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.forms.models import model_to_dict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from portfolio import hooks, selectors, services
from portfolio.access import InitiativeRights, can_log_initiatives, require_pm, require_reader
from portfolio.exceptions import DomainError
from portfolio.forms import (
    INITIATIVE_FIELDS,
    DependencyForm,
    InitiativeEditForm,
    InitiativeFilterForm,
    IntakeForm,
    KillLogFilterForm,
    StageMoveForm,
    StakeholderForm,
    UpdateForm,
    add_refusal,
)
from portfolio.models import Initiative, Stakeholder, text_limit
from portfolio.outcomes.value_views import value_context
from portfolio.outcomes.views import contract_context
from portfolio.similarity import similar_initiatives


def initiative_list(request):
    require_reader(request.user)
    form = InitiativeFilterForm(request.GET)
    # A bad filter is shown on its field and ignored (Django drops it from
    # cleaned_data); the valid ones still apply.
    form.is_valid()
    filters = form.cleaned_data
    page = selectors.initiative_list_page(fetched_by=request.user, filters=filters,
                                          number=request.GET.get("page"),
                                          per_page=settings.PAGE_SIZE)
    counts = selectors.stage_counts(selectors.initiative_list(
        fetched_by=request.user, filters={**filters, "stage": ""}))
    return render(request, "portfolio/initiative_list.html", {
        "page": page,
        "form": form,
        "stage_counts": counts,
        "mine": bool(filters.get("mine")),
        "owner_is_me": filters.get("owner") == "me",
        # "Only mine" is the page (My initiatives), not a filter to clear.
        "filtered": any(filters.get(name) for name in form.fields if name not in ("sort", "mine")),
        "can_log": can_log_initiatives(request.user),
    })




def _fields_of(form) -> dict:
    return {name: form.cleaned_data[name] for name in INITIATIVE_FIELDS}


def _fingerprint(title: str, summary: str) -> str:
    """Identifies the text that was checked for duplicates, so a changed text is checked again."""
    text = f"{' '.join(title.split()).lower()}\n{' '.join(summary.split()).lower()}"
    return hashlib.sha256(text.encode()).hexdigest()


def initiative_create(request):
    """Intake: the form, then the similar initiatives before anything is saved."""
    require_pm(request.user)
    today = timezone.localdate()
    form = IntakeForm(request.POST or None, initial={"owner": request.user.pk}, today=today)
    matches = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fingerprint = _fingerprint(data["title"], data["summary"])
        confirmed = data["confirm_distinct"] and data["checked"] == fingerprint
        if not confirmed:
            matches = similar_initiatives(title=data["title"], summary=data["summary"])
        if not matches:
            fields = _fields_of(form)
            now = timezone.now()
            try:
                initiative = services.initiative_create(actor=request.user, now=now, **fields)
            except DomainError as error:
                add_refusal(form, error)
            else:
                messages.success(request, f"“{initiative.title}” is logged. You own it"
                                 if initiative.owner_id == request.user.pk
                                 else f"“{initiative.title}” is logged.")
                for warning in hooks.capacity_warnings(initiative, now):
                    messages.warning(request, warning)
                return redirect(initiative)
        else:
            # Show what looks alike; confirming re-posts the same text with its fingerprint.
            form = IntakeForm({**request.POST.dict(), "checked": fingerprint}, today=today)
            form.is_valid()
    return render(request, "portfolio/initiative_form.html", {
        "form": form, "matches": matches, "creating": True,
    })


SUGGEST_MIN_CHARS = 3  # fewer typed characters ask nothing


@require_GET
def initiative_similar(request):
    """``?title=…&summary=…``: the similar initiatives while a PM types, as the HTML
    fragment intake.js puts in the page's live region. Read-only, PMs only; the same
    matches, tiers and "Why" sentences as the submit-time check, which stays the guarantee.
    """
    require_pm(request.user)
    title = request.GET.get("title", "")[:text_limit(Initiative, "title")]
    summary = request.GET.get("summary", "")[:text_limit(Initiative, "summary")]
    typed = len(title.strip()) + len(summary.strip()) >= SUGGEST_MIN_CHARS
    matches = similar_initiatives(title=title, summary=summary) if typed else []
    response = render(request, "portfolio/_similar_matches.html",
                      {"matches": matches, "live": True})
    response["Cache-Control"] = "private, no-store"
    return response


def initiative_detail(request, pk: int):
    initiative, rights = selectors.initiative_get_for_user(user=request.user, pk=pk)
    return render_detail(request, initiative, rights)


def render_detail(request, initiative, rights: InitiativeRights, *, status=200, **forms):
    """The initiative page, with what ``rights`` allow; a refused form is passed back bound,
    to show its errors."""
    relations = selectors.initiative_relations(initiative=initiative)
    if rights.edit:
        forms.setdefault("update_form", UpdateForm(initial={"health": initiative.health}))
        forms.setdefault("move_form", StageMoveForm(moves=services.available_moves(initiative),
                                                    initial={"expected_stage": initiative.stage}))
    if rights.coordinate:
        forms.setdefault("people_form", StakeholderForm(initial={"role": "R"}))
        forms.setdefault("dependency_form", DependencyForm(initiative=initiative))
    now = timezone.now()
    contract = contract_context(initiative=initiative, rights=rights, now=now)
    # The gate's evidence, read once for the page: the panels that name the gate's blockers
    # (governance's) use it instead of reading it again.
    initiative.gate_evidence = contract["evidence"]
    return render(request, "portfolio/initiative_detail.html", {
        "initiative": initiative,
        "contract": contract,
        "value": value_context(initiative=initiative, rights=rights, now=now),
        "rel": relations,
        "raci": [(role.label, relations.stakeholders[role.value])
                 for role in Stakeholder.Role],
        "history": selectors.initiative_history(initiative=initiative),
        "panels": hooks.detail_panels(initiative=initiative, user=request.user),
        "rights": rights,
        "now": now,
        **forms,
    }, status=status)


def initiative_edit(request, pk: int):
    initiative, rights = selectors.initiative_get_for_user(user=request.user, pk=pk,
                                                           need="edit")
    changed_meanwhile = None
    form_options = {"owner": initiative.owner, "can_reassign": rights.steward,
                    "today": timezone.localdate(), "before": initiative}
    if request.method == "POST":
        form = InitiativeEditForm(request.POST, **form_options)
        if form.is_valid():
            try:
                services.initiative_update(
                    initiative=initiative, actor=request.user, now=timezone.now(),
                    expected_version=form.cleaned_data["version"], changes=form.changes(),
                )
            except DomainError as error:
                if error.field == "version":
                    initiative.refresh_from_db()
                    changed_meanwhile = selectors.initiative_version_changes(
                        initiative=initiative, since_version=form.cleaned_data["version"])
                    form.add_error(None, error.message)
                else:
                    add_refusal(form, error)
            else:
                messages.success(request, "Saved.")
                return redirect(initiative)
    else:
        form = InitiativeEditForm(initial={**model_to_dict(initiative, fields=INITIATIVE_FIELDS),
                                           **initiative.profile_as_entered(),
                                           "version": initiative.version}, **form_options)
    return render(request, "portfolio/initiative_form.html", {
        "form": form, "initiative": initiative, "changed_meanwhile": changed_meanwhile,
    })


@require_POST
def update_create(request, pk: int):
    initiative, rights = selectors.initiative_get_for_user(user=request.user, pk=pk,
                                                           need="edit")
    form = UpdateForm(request.POST)
    if form.is_valid():
        services.update_post(initiative=initiative, author=request.user, now=timezone.now(),
                             **form.cleaned_data)
        messages.success(request, "Update posted.")
        return redirect(initiative)
    return render_detail(request, initiative, rights, update_form=form, status=400)


@require_POST
def initiative_move(request, pk: int):
    initiative, rights = selectors.initiative_get_for_user(user=request.user, pk=pk,
                                                           need="edit")
    form = StageMoveForm(request.POST, moves=services.available_moves(initiative))
    if form.is_valid():
        now = timezone.now()
        try:
            services.initiative_move_stage(initiative=initiative, actor=request.user,
                                           now=now, **form.cleaned_data)
        except DomainError as error:
            add_refusal(form, error)
        else:
            initiative.refresh_from_db()
            messages.success(request, f"Moved to {initiative.get_stage_display()}.")
            # The move stands; over-commitment is the PM's to know, not a refusal.
            for warning in hooks.capacity_warnings(initiative, now):
                messages.warning(request, warning)
            return redirect(initiative)
    return render_detail(request, initiative, rights, move_form=form, status=400)


def kill_log(request):
    """Every retired initiative with its reason and lessons, searchable. Queries, whatever
    the size: the teams of the filter, the figures (``kill_log_summary``: 2, whose count
    is the paginator's) and the page's rows, besides the session and the user's roles."""
    require_reader(request.user)
    form = KillLogFilterForm(request.GET)
    form.is_valid()
    summary = selectors.kill_log_summary(filters=form.cleaned_data)
    paginator = Paginator(selectors.kill_log(filters=form.cleaned_data), settings.PAGE_SIZE)
    paginator.count = summary.totals.initiatives  # counted already: no second COUNT(*)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "portfolio/kill_log.html", {
        "page": page, "form": form, "reason_counts": summary.reason_counts,
        "totals": summary.totals, "currency": settings.VALUE_CURRENCY,
        "filtered": any(form.cleaned_data.get(name) for name in form.fields),
    })
