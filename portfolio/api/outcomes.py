"""API v1: outcomes — an initiative's measurements and contract overrides, and the value
reviews after production (issue 18). The browser's rules, through the same services.

- ``GET/POST /initiatives/{id}/measurements/``: every role reads (oldest first); the owner or
  a Responsible PM records one (``outcomes.services.measurement_record``), others 403.
- ``GET/POST /initiatives/{id}/overrides/``: every role reads (newest first); the sponsor or
  leadership lets the initiative past its exit contract with a reason
  (``outcomes.services.contract_override``), others 403; nothing to override is a 409.
- ``GET /value-reviews/`` (filters), ``GET /value-reviews/{id}/``: every role reads;
  ``POST .../record/`` the owner or a Responsible PM; ``POST .../decision/`` the owner, a
  TPM or an admin (as for a stalled pilot).

Outsiders get 404 (``access.initiative_for``). The API's error contract holds: a body that
is not what the schema says (a number that is not text, a negative amount, an unknown
kind or field) is a 400 naming its fields; a well-formed request a rule refuses — a
measurement dated after today or without a source (``measurement_errors``), no success
metric yet, nothing to override, a review not due or already decided — is a 409 with the
service's message on its field (``fields``), as for a decision date in the past. Nothing
changes either way. (The fuzzer holds the schema to this: schema-valid data is never a
400.)

**If-Match.** The initiative's ETag guards edits of the initiative itself (PATCH, move).
None of these writes edits it: a measurement and an override are appended (an override
once per kind and stage: a second is a 409 under the row lock), so, like posting a status
update, they need no If-Match and leave the initiative's version as it is. A value review
has no version, like a stall flag: its figures may be corrected until someone decides, each
recording is kept in the initiative's history, and the decision is taken once: the loser
of two concurrent decisions gets 409 on ``decision`` and nothing changes.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from portfolio.access import initiative_for, require_reader
from portfolio.api.common import (
    ERROR,
    READ_ERRORS,
    WRITE_ERRORS,
    InputSerializer,
    filter_parameters,
    item_url,
    valid_query,
)
from portfolio.api.pagination import KeysetPagination
from portfolio.api.serializers import (
    InitiativeRefSerializer,
    PersonSerializer,
    metric_field,
    money_field,
)
from portfolio.models import (
    ContractOverride,
    Initiative,
    Measurement,
    OverrideKind,
    Team,
    ValueDecision,
    ValueReview,
    text_limit,
)
from portfolio.outcomes import selectors
from portfolio.outcomes import services as outcomes
from portfolio.outcomes.value_selectors import tab_q

# --- Serializers ---------------------------------------------------------------------------------


class MeasurementSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    measured_on = serializers.DateField(read_only=True)
    value = serializers.DecimalField(max_digits=16, decimal_places=4, read_only=True)
    source_url = serializers.CharField(read_only=True)
    source_note = serializers.CharField(read_only=True)
    recorded_by = PersonSerializer(read_only=True, allow_null=True)
    recorded_at = serializers.DateTimeField(read_only=True)


class MeasurementInputSerializer(InputSerializer):
    """One measurement's shape. The rules the schema cannot state (none after today, a
    source: a link or a note) are ``outcomes.services.measurement_errors``, which the
    service asks: a 409 naming the field."""

    measured_on = serializers.DateField(help_text="The day it was measured: today or before.")
    value = metric_field("The success metric's value, in its unit.")
    source_url = serializers.URLField(
        required=False, allow_blank=True, default="",
        max_length=text_limit(Measurement, "source_url"),
        help_text="Where the number comes from: a link, or a note, or both.")
    source_note = serializers.CharField(
        required=False, allow_blank=True, default="",
        max_length=text_limit(Measurement, "source_note"),
        help_text="Where the number comes from: a note, or a link, or both.")


class OverrideSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=OverrideKind.choices, read_only=True)
    stage_since = serializers.DateTimeField(
        read_only=True, help_text="The stage it was given in began then; it lapses once the "
                                  "initiative moves.")
    overridden = serializers.CharField(read_only=True,
                                       help_text="What the gate said when it was overridden.")
    reason = serializers.CharField(read_only=True)
    decided_by = PersonSerializer(read_only=True)
    decided_at = serializers.DateTimeField(read_only=True)


class OverrideInputSerializer(InputSerializer):
    kind = serializers.ChoiceField(
        choices=OverrideKind.choices,
        help_text="What the exit contract holds it back for: a missed target, or a pilot "
                  "shorter than its risk tier's minimum.")
    reason = serializers.CharField(max_length=text_limit(ContractOverride, "reason"),
                                   help_text="Why it may go ahead anyway; kept and shown.")


def _money(help_text: str, **kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True,
                                    allow_null=True, help_text=help_text, **kwargs)


class ValueReviewSerializer(serializers.Serializer):
    """One value review. Needs ``today`` in its context and its initiative loaded."""

    id = serializers.IntegerField(read_only=True)
    initiative = InitiativeRefSerializer(read_only=True)
    days = serializers.IntegerField(read_only=True, help_text="Days after entering production.")
    production_since = serializers.DateTimeField(read_only=True)
    due_on = serializers.DateField(read_only=True)
    overdue = serializers.SerializerMethodField(
        help_text="Not recorded past its grace period while the initiative is in production.")
    currency = serializers.SerializerMethodField(
        help_text="The currency of the figures and the initiative's prediction.")
    predicted_annual_value = _money("The initiative's business case, for comparison.",
                                    source="initiative.predicted_annual_value")
    realised_value = _money("Recorded: what it delivers a year; null until recorded.")
    run_cost = _money("Recorded: what it costs to run a year; null until recorded.")
    note = serializers.CharField(read_only=True)
    recorded_by = PersonSerializer(read_only=True, allow_null=True)
    recorded_at = serializers.DateTimeField(read_only=True, allow_null=True)
    at_risk = serializers.BooleanField(
        read_only=True, help_text="Recorded below the share of the prediction that puts the "
                                  "initiative's value at risk.")
    suggested_decision = serializers.ChoiceField(choices=ValueDecision.choices,
                                                 allow_blank=True, read_only=True)
    decision = serializers.ChoiceField(choices=ValueDecision.choices, allow_blank=True,
                                       read_only=True, help_text="Empty until decided.")
    decision_note = serializers.CharField(read_only=True)
    decided_by = PersonSerializer(read_only=True, allow_null=True)
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()

    def get_overdue(self, review) -> bool:
        return selectors.is_overdue(review, self.context["today"])

    def get_currency(self, review) -> str:
        return settings.VALUE_CURRENCY

    def get_url(self, review) -> str:
        return item_url("api:value-review-list", review.pk)


class ValueRecordSerializer(InputSerializer):
    realised_value = money_field("What it delivers.")
    run_cost = money_field("What it costs to run: tokens, licences and people.")
    note = serializers.CharField(required=False, allow_blank=True, default="",
                                 max_length=text_limit(ValueReview, "note"))


class ValueDecisionSerializer(InputSerializer):
    decision = serializers.ChoiceField(
        choices=ValueDecision.choices,
        help_text="scale_back, fix, or retire (retires it: value not proven).")
    note = serializers.CharField(max_length=text_limit(ValueReview, "decision_note"),
                                 help_text="Why; kept with the decision.")
    retirement_lessons = serializers.CharField(
        required=False, allow_blank=True, default="",
        max_length=text_limit(Initiative, "retirement_lessons"),
        help_text="Retire: what the next team should know, shown in the kill log.")


# --- An initiative's measurements and overrides (actions of ``InitiativeViewSet``) --------------


class InitiativeOutcomesActions:
    """``/initiatives/{id}/measurements/`` and ``/initiatives/{id}/overrides/``: mixed into
    ``views.InitiativeViewSet`` (its ``_initiative`` and pagination)."""

    @extend_schema(methods=["GET"], summary="The initiative's measurements, oldest first",
                   responses={200: MeasurementSerializer(many=True), 400: ERROR,
                              **READ_ERRORS})
    @extend_schema(methods=["POST"],
                   summary="Record a measurement of the success metric (its editors)",
                   request=MeasurementInputSerializer,
                   responses={201: MeasurementSerializer, **WRITE_ERRORS})
    @action(detail=True, methods=["get", "post"], pagination_class=KeysetPagination)
    def measurements(self, request, pk=None, format=None):
        initiative = self._initiative(need="read" if request.method == "GET" else "edit")
        if request.method == "GET":
            page = self.paginate_queryset(selectors.measurements_of(initiative))
            return self.get_paginated_response(MeasurementSerializer(page, many=True).data)
        serializer = MeasurementInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        measurement = outcomes.measurement_record(initiative=initiative, actor=request.user,
                                                  now=timezone.now(),
                                                  **serializer.validated_data)
        return Response(MeasurementSerializer(measurement).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], summary="The initiative's contract overrides, newest first",
                   responses={200: OverrideSerializer(many=True), 400: ERROR, **READ_ERRORS})
    @extend_schema(methods=["POST"],
                   summary="Let it past its exit contract with a reason (sponsor, leadership)",
                   request=OverrideInputSerializer,
                   responses={201: OverrideSerializer, **WRITE_ERRORS})
    @action(detail=True, methods=["get", "post"], pagination_class=KeysetPagination)
    def overrides(self, request, pk=None, format=None):
        initiative = self._initiative(
            need="read" if request.method == "GET" else "override_contract")
        if request.method == "GET":
            page = self.paginate_queryset(selectors.overrides_of(initiative))
            return self.get_paginated_response(OverrideSerializer(page, many=True).data)
        serializer = OverrideInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        override = outcomes.contract_override(initiative=initiative, actor=request.user,
                                              now=timezone.now(), **serializer.validated_data)
        return Response(OverrideSerializer(override).data, status=status.HTTP_201_CREATED)


# --- Value reviews -------------------------------------------------------------------------------

REVIEW_STATUSES = [
    ("overdue", "Overdue: not recorded past the grace period"),
    ("due", "Due: waiting for figures, within the grace period"),
    ("at_risk", "Value at risk: recorded below the prediction's share, undecided"),
    ("recorded", "Recorded"),
]


class ValueReviewFilterForm(forms.Form):
    initiative = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1,
                                    help_text="An initiative's id.")
    team = forms.ModelChoiceField(queryset=Team.objects.all(), to_field_name="slug",
                                  required=False)
    status = forms.ChoiceField(choices=[("", "Any"), *REVIEW_STATUSES], required=False)


VALUE_REVIEW_FILTERS = filter_parameters(
    ValueReviewFilterForm, team="A team's slug.",
    status="overdue, due (waiting, within the grace period), at_risk (value at risk, "
           "undecided) or recorded. Empty: every review.")


def _reviews():
    return ValueReview.objects.select_related("initiative__team", "initiative__owner",
                                              "recorded_by", "decided_by")


@extend_schema_view(
    list=extend_schema(summary="Value reviews after production, the earliest due first",
                       parameters=VALUE_REVIEW_FILTERS,
                       responses={200: ValueReviewSerializer(many=True),
                                  400: ERROR, 401: ERROR, 404: ERROR}),
    retrieve=extend_schema(summary="One value review",
                           responses={200: ValueReviewSerializer, **READ_ERRORS}),
)
class ValueReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                         viewsets.GenericViewSet):
    pagination_class = KeysetPagination
    lookup_value_regex = r"[0-9]+"
    http_method_names = ["get", "post", "head", "options"]
    serializer_class = ValueReviewSerializer
    queryset = ValueReview.objects.none()  # for the schema

    def get_serializer_class(self):
        return {"record": ValueRecordSerializer,
                "decision": ValueDecisionSerializer}.get(self.action, ValueReviewSerializer)

    def _review(self, *, need: str = "read") -> ValueReview:
        """The review, if the caller may ``need`` its initiative (404 for outsiders and
        misses, 403 when they may not)."""
        require_reader(self.request.user)
        review = get_object_or_404(_reviews(), pk=self.kwargs["pk"])
        if need != "read":
            initiative_for(self.request.user, review.initiative_id, need=need)
        return review

    def _detail(self, pk: int) -> Response:
        review = get_object_or_404(_reviews(), pk=pk)
        return Response(ValueReviewSerializer(
            review, context={"today": timezone.localdate()}).data)

    def list(self, request, *args, **kwargs):
        require_reader(request.user)
        filters = valid_query(ValueReviewFilterForm(request.query_params))
        today = timezone.localdate()
        reviews = _reviews().order_by("due_on", "id")
        if filters.get("initiative"):
            reviews = reviews.filter(initiative_id=filters["initiative"])
        if filters.get("team"):
            reviews = reviews.filter(initiative__team=filters["team"])
        if filters.get("status"):
            reviews = reviews.filter(tab_q(filters["status"], today))
        page = self.paginate_queryset(reviews)
        return self.get_paginated_response(
            ValueReviewSerializer(page, many=True, context={"today": today}).data)

    def retrieve(self, request, *args, **kwargs):
        return self._detail(self._review().pk)

    @extend_schema(summary="Record realised value and run cost (its editors)",
                   request=ValueRecordSerializer,
                   responses={200: ValueReviewSerializer, **WRITE_ERRORS})
    @action(detail=True, methods=["post"])
    def record(self, request, pk=None, format=None):
        review = self._review(need="edit")
        serializer = ValueRecordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcomes.value_review_record(review=review, actor=request.user, now=timezone.now(),
                                     **serializer.validated_data)
        return self._detail(review.pk)

    @extend_schema(summary="Decide on value at risk: scale back, fix or retire (owner, TPM, "
                           "admin)",
                   request=ValueDecisionSerializer,
                   responses={200: ValueReviewSerializer, **WRITE_ERRORS})
    @action(detail=True, methods=["post"])
    def decision(self, request, pk=None, format=None):
        review = self._review(need="decide_stall")
        serializer = ValueDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcomes.value_decide(review=review, actor=request.user, now=timezone.now(),
                              **serializer.validated_data)
        return self._detail(review.pk)
