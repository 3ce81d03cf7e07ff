"""Value after production on the initiative page, and the value reviews pages.

The initiative page's card (``value_context``, read by ``portfolio.views.initiatives.
render_detail``) shows the business case and each value review. Its owner (or a Responsible
PM) records a due review there; the owner, a TPM or an admin decides on value at risk (scale
back, fix or retire) — the rights of ``portfolio.access``; the rules are the services'
(``portfolio.outcomes.services``). Every reader sees the portfolio-wide "Value reviews"
page; outsiders get 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from portfolio import selectors as portfolio_selectors
from portfolio.access import InitiativeRights, can_log_initiatives, require_reader
from portfolio.exceptions import DomainError
from portfolio.forms import add_refusal
from portfolio.models import Initiative, ValueDecision, ValueReview
from portfolio.outcomes import services, value_selectors
from portfolio.outcomes.value_forms import (
    ValueDecisionForm,
    ValueReviewFilterForm,
    ValueReviewForm,
)

RECORDED = "{days}-day value review of “{title}” recorded."
RECORDED_AT_RISK = ("{days}-day value review of “{title}” recorded: its value is at risk "
                    "(below {percent}% of the prediction). Suggested decision: {suggested}.")
DECIDED = "Decision on “{title}” recorded: {decision}."
RETIRED = "“{title}” is retired (value not proven) and in the kill log."


@dataclass
class ReviewRow:
    """One review as the card and the list show it, with the forms this viewer may use."""

    review: object             # a ValueReview (with ``status``) or an UpcomingReview
    status: str
    label: str
    share: Decimal | None      # realised ÷ predicted, in percent
    days_since_due: int        # negative: due in that many days
    record_form: ValueReviewForm | None = None
    decide_form: ValueDecisionForm | None = None

    @property
    def days_until_due(self) -> int:
        return -self.days_since_due

    @property
    def refused(self) -> bool:
        return any(form is not None and form.is_bound
                   for form in (self.record_form, self.decide_form))


def _form_id(review_id: int, what: str) -> str:
    """Each review's forms get their own ids, so each label names its own field."""
    return f"value-{review_id}-{what}-%s"


def _row(review, *, today: date, rights: InitiativeRights | None = None,
         refused: tuple | None = None) -> ReviewRow:
    """``refused`` is (review id, "record" or "decide", bound form) of a refused post."""
    status = review.status
    row = ReviewRow(review=review, status=status, label=value_selectors.STATUS_LABELS[status],
                    share=(value_selectors.realised_share(review)
                           if isinstance(review, ValueReview) else None),
                    days_since_due=(today - review.due_on).days)
    if rights is None or not isinstance(review, ValueReview):
        return row
    mine = refused if refused is not None and refused[0] == review.pk else (None, None, None)
    if rights.edit and status in ("due", "overdue"):
        row.record_form = (mine[2] if mine[1] == "record"
                           else ValueReviewForm(auto_id=_form_id(review.pk, "record")))
    if rights.decide_stall and status == "at_risk":
        row.decide_form = (mine[2] if mine[1] == "decide" else ValueDecisionForm(
            auto_id=_form_id(review.pk, "decide"),
            initial={"decision": review.suggested_decision}))
    return row


def value_context(*, initiative: Initiative, rights: InitiativeRights, now: datetime,
                  refused: tuple | None = None) -> dict:
    """What ``_value.html`` shows; ``refused`` brings a refused form back bound."""
    card = value_selectors.value_card(initiative=initiative, now=now)
    rows = [_row(review, today=timezone.localdate(now), rights=rights, refused=refused)
            for review in card.reviews]
    return {
        "card": card,
        "rows": rows,
        # A refusal on a review that shows no form now (recorded or decided meanwhile).
        "refused_elsewhere": (refused[2] if refused is not None
                              and not any(row.refused for row in rows) else None),
        **_rules(),
    }


def _rules() -> dict:
    """The settings the pages explain: currency, when reviews come due, grace, the share."""
    days = [str(days) for days in settings.VALUE_REVIEW_DAYS]
    return {
        "currency": settings.VALUE_CURRENCY,
        "at_risk_percent": settings.VALUE_AT_RISK_PERCENT,
        "grace_days": settings.VALUE_REVIEW_GRACE_DAYS,
        # "30, 90 and 180"
        "review_days": " and ".join([", ".join(days[:-1]), days[-1]] if len(days) > 1
                                    else days),
    }


def _review_and_initiative(request, review_id: int, *, need: str):
    """The review and its initiative for a post: 404 for outsiders and misses, 403 unless
    the user may ``need`` (``portfolio.access``)."""
    require_reader(request.user)
    review = get_object_or_404(ValueReview.objects.only("id", "initiative_id"), pk=review_id)
    initiative, rights = portfolio_selectors.initiative_get_for_user(
        user=request.user, pk=review.initiative_id, need=need)
    return review, initiative, rights


def _refused(request, initiative, rights, *, review_id: int, what: str, form):
    """The initiative page again, the refused form bound on its review, status 400."""
    # Imported here: the initiative views import this module for ``value_context``.
    from portfolio.views.initiatives import render_detail

    value = value_context(initiative=initiative, rights=rights, now=timezone.now(),
                          refused=(review_id, what, form))
    return render_detail(request, initiative, rights, status=400, value=value)


def _back_to_card(initiative, review_id: int):
    return redirect(f"{initiative.get_absolute_url()}#value-review-{review_id}")


@require_POST
def value_review_record(request, review_id: int):
    """The owner (or a Responsible PM) records a due review's realised value and run cost."""
    review, initiative, rights = _review_and_initiative(request, review_id, need="edit")
    form = ValueReviewForm(request.POST, auto_id=_form_id(review.pk, "record"))
    if form.is_valid():
        try:
            recorded = services.value_review_record(review=review, actor=request.user,
                                                    now=timezone.now(), **form.cleaned_data)
        except DomainError as error:
            add_refusal(form, error)
        else:
            if recorded.at_risk:
                messages.warning(request, RECORDED_AT_RISK.format(
                    days=recorded.days, title=initiative.title,
                    percent=settings.VALUE_AT_RISK_PERCENT,
                    suggested=recorded.get_suggested_decision_display().lower()))
            else:
                messages.success(request, RECORDED.format(days=recorded.days,
                                                          title=initiative.title))
            return _back_to_card(initiative, review.pk)
    return _refused(request, initiative, rights, review_id=review.pk, what="record", form=form)


@require_POST
def value_review_decide(request, review_id: int):
    """The owner, a TPM or an admin decides on value at risk: scale back, fix or retire."""
    review, initiative, rights = _review_and_initiative(request, review_id,
                                                        need="decide_stall")
    form = ValueDecisionForm(request.POST, auto_id=_form_id(review.pk, "decide"))
    if form.is_valid():
        try:
            decided = services.value_decide(review=review, actor=request.user,
                                            now=timezone.now(), **form.cleaned_data)
        except DomainError as error:
            add_refusal(form, error)
        else:
            if decided.decision == ValueDecision.RETIRE:
                messages.success(request, RETIRED.format(title=initiative.title))
            else:
                messages.success(request, DECIDED.format(
                    title=initiative.title, decision=decided.get_decision_display().lower()))
            return _back_to_card(initiative, review.pk)
    return _refused(request, initiative, rights, review_id=review.pk, what="decide", form=form)


def value_review_list(request):
    """Every value review in the portfolio, most urgent first, by tab and filter."""
    require_reader(request.user)
    now = timezone.now()
    form = ValueReviewFilterForm(request.GET, is_pm=can_log_initiatives(request.user))
    form.is_valid()  # a bad filter is shown on its field and ignored
    filters = form.cleaned_data
    tab = filters.get("tab") or ""
    tab_counts = value_selectors.value_review_tab_counts(user=request.user, filters=filters,
                                                        now=now)
    reviews = value_selectors.ReviewsByUrgency(
        user=request.user, filters=filters, now=now,
        counts={key: count for key, _, count in tab_counts})
    page = Paginator(reviews, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portfolio/outcomes/value_review_list.html", {
        "page": page,
        "rows": [_row(review, today=timezone.localdate(now)) for review in page.object_list],
        "form": form,
        "tab": tab,
        "tab_counts": tab_counts,
        "filtered": any(filters.get(name) for name in form.fields if name != "tab"),
        **_rules(),
    })
