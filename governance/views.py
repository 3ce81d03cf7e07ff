"""Governance pages: the review queue and a checkpoint's decision page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone

from governance import selectors, services
from governance.access import (
    CheckpointRights,
    checkpoint_for,
    checkpoint_rights,
    may_ask_re_review,
    require_re_review,
)
from governance.forms import (
    QUEUE_TABS,
    DecideForm,
    ReReviewForm,
    ReviewQueueForm,
    StartReviewForm,
    WaiveForm,
)
from governance.models import Checkpoint, CheckpointStatus
from portfolio.access import require_reader
from portfolio.exceptions import DomainError
from portfolio.forms import add_refusal

# --- Pages --------------------------------------------------------------------------------

def review_queue(request):
    """The review queue. Queries: the tab counts (which give the page's count too), the
    page's rows, the viewer's segregated roles on the page's initiatives
    (``services.segregated_stakes``, once for every row), and the filter form's choices —
    however many rows."""
    require_reader(request.user)
    today = timezone.localdate()
    form = ReviewQueueForm(request.GET)
    # A bad filter is shown on its field and ignored; the valid ones still apply.
    form.is_valid()
    filters = form.cleaned_data
    queue = selectors.review_queue(today=today, filters=filters, user=request.user)
    counts = selectors.review_queue_counts(queue, today=today, filters=filters,
                                           user=request.user)
    tab = filters.get("status") or ""
    rows = selectors.Counted(selectors.review_queue_rows(queue, today=today, tab=tab),
                             counts[tab or "all"])
    page = Paginator(rows, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    stakes = services.segregated_stakes(request.user, {cp.initiative_id for cp in rows})
    for checkpoint in rows:
        checkpoint.is_overdue_now = checkpoint.overdue_first == 0
        checkpoint.days_waiting = (today - timezone.localdate(checkpoint.requested_at)).days
        checkpoint.rights = checkpoint_rights(request.user, checkpoint,
                                              stakes=stakes.get(checkpoint.initiative_id, set()))
    # The actions column, when there are rows: a reviewer's rights are alike on every row.
    is_reviewer = any(checkpoint.rights.reviewer for checkpoint in rows)
    grouped = filters.get("by") == "initiative"
    return render(request, "governance/review_queue.html", {
        "page": page,
        # (initiative or None, its rows): one list, or the page's rows under each initiative
        # in the order of its most urgent row.
        "groups": _by_initiative(rows) if grouped else [(None, rows)],
        "grouped": grouped,
        "form": form,
        "tab": tab,
        "tabs": [(key, label, counts[key]) for key, label in QUEUE_TABS.items()],
        "total": counts["all"],
        "is_reviewer": is_reviewer,
        "today": today,
        "filtered": any(filters.get(name) for name in selectors.QUEUE_NARROWING),
    })


def _by_initiative(rows: list[Checkpoint]) -> list[tuple]:
    groups: dict[int, tuple] = {}
    for checkpoint in rows:
        groups.setdefault(checkpoint.initiative_id, (checkpoint.initiative, []))[1].append(
            checkpoint)
    return list(groups.values())


ACTIONS = {"start": StartReviewForm, "decide": DecideForm, "waive": WaiveForm,
           "re_review": ReReviewForm}


def checkpoint_decide(request, pk: int):
    """What to check, the initiative, the history; an independent reviewer decides here, and
    after a rejection the owner or a Responsible PM asks for another review."""
    action = request.POST.get("action") if request.method == "POST" else None
    # A review, a decision or a waiver: the same independent reviewers may act. Another
    # review: those who may edit the initiative.
    checkpoint, rights = checkpoint_for(
        request.user, pk, need="read" if action == "re_review" or request.method != "POST"
        else "decide")
    if action == "re_review":
        require_re_review(request.user, checkpoint)
    forms, status = {}, 200
    if request.method == "POST":
        if action not in ACTIONS:
            return render_decide(request, checkpoint, rights, status=400,
                                 action_error="Choose an action.")
        form = ACTIONS[action](request.POST)
        if form.is_valid():
            try:
                done = _act(action, checkpoint=checkpoint, actor=request.user,
                            data=form.cleaned_data)
            except DomainError as error:
                add_refusal(form, error)
                # Show what is true now (another reviewer may have decided meanwhile).
                checkpoint, rights = checkpoint_for(request.user, pk)
            else:
                messages.success(request, done)
                if action in ("start", "re_review"):
                    return redirect("governance:checkpoint-decide", pk=checkpoint.pk)
                return redirect("governance:review-queue")
        forms[f"{action}_form"] = form
        status = 400
    return render_decide(request, checkpoint, rights, status=status, **forms)


def _act(action: str, *, checkpoint: Checkpoint, actor, data: dict) -> str:
    """Call the service for ``action``; the message to show when it succeeds."""
    now, version = timezone.now(), data["version"]
    what = f"“{checkpoint.type.name}” for “{checkpoint.initiative.title}”"
    if action == "start":
        services.checkpoint_start_review(checkpoint=checkpoint, actor=actor,
                                         expected_version=version, now=now)
        return f"You are reviewing {what}."
    if action == "decide":
        approve = data["decision"] == "approve"
        services.checkpoint_decide(checkpoint=checkpoint, actor=actor, approve=approve,
                                   expected_version=version, evidence_url=data["evidence_url"],
                                   evidence_notes=data["evidence_notes"], now=now)
        return f"{'Approved' if approve else 'Rejected'} {what}."
    if action == "re_review":
        requested = services.checkpoint_request_re_review(
            checkpoint=checkpoint, actor=actor, changed=data["changed"],
            expected_version=version, now=now)
        return (f"Asked for another review of {what} (round {requested.round}); "
                "its reviewers are told.")
    decided = services.checkpoint_waive(checkpoint=checkpoint, actor=actor,
                                        justification=data["justification"],
                                        expires_on=data["expires_on"],
                                        expected_version=version, now=now)
    return f"Waived {what} until {decided.waiver_expires_on:%-d %b %Y}."


def _top_errors(form) -> list[str]:
    """A decision form's errors that belong to no visible field: a concurrent decision,
    a stale or tampered page, no button pressed."""
    if not form.is_bound:
        return []
    errors = list(form.non_field_errors())
    errors += [f"This page is out of date ({error}); reload it."
               for error in form.errors.get("version", [])]
    errors += form.errors.get("action", []) + form.errors.get("decision", [])
    return errors


def render_decide(request, checkpoint: Checkpoint, rights: CheckpointRights, *, status=200,
                  action_error=None, **forms):
    today = timezone.localdate()
    # The forms, for an independent reviewer, while the checkpoint applies.
    can_decide = rights.decide and checkpoint.retired_at is None
    if can_decide:
        initial = {"version": checkpoint.version}
        if checkpoint.status in (CheckpointStatus.NOT_STARTED, CheckpointStatus.REJECTED):
            forms.setdefault("start_form", StartReviewForm(initial={**initial,
                                                                    "action": "start"}))
        forms.setdefault("decide_form", DecideForm(initial={
            **initial, "action": "decide", "evidence_url": checkpoint.evidence_url,
            "evidence_notes": checkpoint.evidence_notes}))
        forms.setdefault("waive_form", WaiveForm(initial={**initial, "action": "waive"}))
    # After a rejection, the owner or a Responsible PM answers it and asks again.
    if (checkpoint.status == CheckpointStatus.REJECTED and checkpoint.retired_at is None
            and may_ask_re_review(request.user, checkpoint)):
        forms.setdefault("re_review_form", ReReviewForm(initial={
            "version": checkpoint.version, "action": "re_review"}))
    for form in forms.values():
        form.top_errors = _top_errors(form)
    initiative = checkpoint.initiative
    return render(request, "governance/checkpoint_decide.html", {
        "checkpoint": checkpoint,
        "initiative": initiative,
        "rounds": selectors.checkpoint_rounds(checkpoint=checkpoint),
        "can_decide": can_decide,
        # A reviewer segregation keeps off it (owner, sponsor, Responsible or Consulted)
        # is told why they cannot decide.
        "rights": rights,
        "cleared": checkpoint.is_cleared(today),
        "overdue": checkpoint.is_overdue(today),
        "out_of_compliance": checkpoint.puts_out_of_compliance(today),
        "action_error": action_error,
        "today": today,
        **forms,
    }, status=status)
