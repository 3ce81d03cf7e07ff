"""API v1: stalled pilots and the decision each demands.

The browser's rules: every role reads, outsiders get 404; the initiative's owner, a TPM
or an admin decides (others 403, nothing changes). Filters are the page's form; reads go
through the selectors, the decision through ``services.stall_decide``.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from portfolio.access import can_follow_teams, require_reader, require_stall_decider
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
from portfolio.api.serializers import PersonSerializer, TeamRefSerializer
from portfolio.models import (
    Initiative,
    RetirementReason,
    StageTransition,
    StallDecision,
    StallFlag,
    StallReason,
    StallResolution,
    text_limit,
)
from portfolio.pilots import selectors
from portfolio.pilots import services as stalls
from portfolio.pilots.forms import StallFilterForm

# --- Serializers -----------------------------------------------------------------------------


class StalledInitiativeSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)
    team = TeamRefSerializer(read_only=True)
    owner = PersonSerializer(read_only=True)
    sponsor = PersonSerializer(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()

    def get_url(self, initiative) -> str:
        return item_url("api:initiative-list", initiative.pk)


class StallFlagSerializer(serializers.Serializer):
    """One stall flag. Needs ``now`` in its context and a flag from the stall selectors
    (annotated with ``current_reason``)."""

    id = serializers.IntegerField(read_only=True)
    initiative = StalledInitiativeSerializer(read_only=True)
    reason = serializers.ChoiceField(
        source="current_reason", choices=StallReason.choices, read_only=True,
        help_text="Why the pilot is stalled now; the reason it was flagged with once it is "
                  "no longer stalled.")
    flagged_at = serializers.DateTimeField(read_only=True)
    days_in_pilot = serializers.SerializerMethodField()
    days_idle = serializers.SerializerMethodField()
    weeks_undecided = serializers.SerializerMethodField(
        help_text="Whole weeks flagged while nobody decided; null once decided or resolved.")
    escalated_at = serializers.DateTimeField(
        read_only=True, allow_null=True,
        help_text="When the sponsor was added to the weekly digest for it.")
    decision = serializers.ChoiceField(choices=StallDecision.choices, allow_blank=True,
                                       read_only=True, help_text="Empty until decided.")
    decision_note = serializers.CharField(
        read_only=True,
        help_text="The justification of an extension, or what blocks a scale-up.")
    decided_by = PersonSerializer(read_only=True, allow_null=True)
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    extended_until = serializers.DateField(read_only=True, allow_null=True)
    resolution = serializers.ChoiceField(choices=StallResolution.choices, allow_blank=True,
                                         read_only=True, help_text="Empty while open.")
    resolved_at = serializers.DateTimeField(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()

    def get_days_in_pilot(self, flag) -> int:
        return flag.initiative.days_in_stage(self.context["now"])

    def get_days_idle(self, flag) -> int:
        return flag.initiative.days_idle(self.context["now"])

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_weeks_undecided(self, flag):
        return flag.weeks_undecided(self.context["now"])

    def get_url(self, flag) -> str:
        return item_url("api:stall-list", flag.pk)


class StallDecisionSerializer(InputSerializer):
    """The browser's decision form: ``services.stall_decide`` has the rules."""

    decision = serializers.ChoiceField(choices=StallDecision.choices)
    note = serializers.CharField(
        required=False, allow_blank=True, default="",
        max_length=text_limit(StageTransition, "note"),
        help_text="Why. Required to extend; kept with the decision.")
    extend_until = serializers.DateField(
        required=False, allow_null=True, default=None,
        help_text="Extend: the new decision date, after today and at most "
                  f"{stalls.MAX_EXTENSION_DAYS} days ahead; the pilot is not flagged again "
                  "before it.")
    retirement_reason = serializers.ChoiceField(
        choices=RetirementReason.choices, required=False, allow_blank=True, default="",
        help_text="Kill: required, shown in the kill log.")
    retirement_lessons = serializers.CharField(
        required=False, allow_blank=True, default="",
        max_length=text_limit(Initiative, "retirement_lessons"),
        help_text="Kill: required, what the next team should know.")


# --- Views -----------------------------------------------------------------------------------


STALL_FILTERS = filter_parameters(
    StallFilterForm,
    state=("Empty (default): every open stall. undecided, waiting (scale-up waiting on the "
           "gate), escalated, or extended (resolved by an extension that still runs today)."),
    team="A team's slug.", reason="Why the pilot is stalled now.",
    followed=("TPMs and admins: only the teams they follow in their digest settings (every "
              "team when they follow none). Ignored for other roles."))

DECIDE_DESCRIPTION = (
    "The initiative's owner, a TPM or an admin records **scale**, **extend** or **kill** on "
    "an open stall; anyone else gets 403 and nothing changes.\n\n"
    "* **scale** moves the pilot to production; while governance blocks that gate the "
    "request is recorded, the flag stays open and decided, and `decision_note` says what "
    "blocks it.\n"
    "* **extend** needs a `note` and an `extend_until` after today; the pilot is not "
    "flagged again before it.\n"
    "* **kill** retires the initiative; it needs `retirement_reason` and "
    "`retirement_lessons`, and it joins the kill log.\n\n"
    "No `If-Match`: a stall flag has no version. A decision on a flag that was resolved "
    "meanwhile (decided by someone else, or resolved by detection) is refused with 409 on "
    "`decision`, and nothing is recorded. Refusals name their field.")


def _flags(now):
    return selectors.with_current_stall_reason(
        StallFlag.objects.select_related("initiative__team", "initiative__owner",
                                         "initiative__sponsor", "decided_by"),
        now=now)


@extend_schema_view(
    list=extend_schema(summary="Stalled pilots: open stall flags by default, longest first",
                       parameters=STALL_FILTERS,
                       responses={200: StallFlagSerializer(many=True),
                                  400: ERROR, 401: ERROR, 404: ERROR}),
    retrieve=extend_schema(summary="One stall flag, open or resolved",
                           responses={200: StallFlagSerializer, **READ_ERRORS}),
)
class StallFlagViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                       viewsets.GenericViewSet):
    pagination_class = KeysetPagination
    lookup_value_regex = r"[0-9]+"
    http_method_names = ["get", "post", "head", "options"]
    queryset = StallFlag.objects.none()  # for the schema; reads go through the selectors

    def get_serializer_class(self):
        return StallDecisionSerializer if self.action == "decide" else StallFlagSerializer

    def _serialized(self, flag, now):
        return StallFlagSerializer(flag, context={"now": now}).data

    def list(self, request, *args, **kwargs):
        require_reader(request.user)
        filters = valid_query(StallFilterForm(request.query_params,
                                              can_follow=can_follow_teams(request.user)))
        now = timezone.now()
        flags = selectors.stall_flag_list(user=request.user, filters=filters, now=now)
        page = self.paginate_queryset(flags)
        return self.get_paginated_response(
            StallFlagSerializer(page, many=True, context={"now": now}).data)

    def retrieve(self, request, *args, **kwargs):
        require_reader(request.user)
        now = timezone.now()
        return Response(self._serialized(get_object_or_404(_flags(now), pk=kwargs["pk"]), now))

    @extend_schema(summary="Decide a stalled pilot: scale, extend or kill (owner, TPM, admin)",
                   description=DECIDE_DESCRIPTION, request=StallDecisionSerializer,
                   responses={200: StallFlagSerializer, **WRITE_ERRORS})
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None, format=None):
        require_reader(request.user)
        flag = get_object_or_404(StallFlag.objects.select_related("initiative"), pk=pk)
        require_stall_decider(request.user, flag.initiative)
        serializer = StallDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        now = timezone.now()
        stalls.stall_decide(flag=flag, actor=request.user, now=now, **serializer.validated_data)
        return Response(self._serialized(get_object_or_404(_flags(now), pk=flag.pk), now))
