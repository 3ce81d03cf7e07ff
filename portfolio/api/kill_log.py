"""API v1: the kill log — retired initiatives, newest first, searchable, with what each
cost and delivered (effort, predicted value, its latest value review's realised value and
run cost).

Every role reads it, outsiders get 404. The filters are the kill log page's form; the
read goes through ``portfolio.selectors.kill_log``.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from portfolio import selectors
from portfolio.access import require_reader
from portfolio.api.common import ERROR, filter_parameters, item_url, valid_query
from portfolio.api.pagination import KeysetPagination
from portfolio.api.serializers import PersonSerializer, TeamRefSerializer
from portfolio.forms import KillLogFilterForm
from portfolio.models import Initiative, RetirementReason


class RetiredBySerializer(serializers.Serializer):
    username = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


class KillLogEntrySerializer(serializers.Serializer):
    """A retired initiative from ``selectors.kill_log`` (with its ``retired_*`` annotations)."""

    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)
    summary = serializers.CharField(read_only=True)
    team = TeamRefSerializer(read_only=True)
    owner = PersonSerializer(read_only=True)
    retirement_reason = serializers.ChoiceField(choices=RetirementReason.choices,
                                                read_only=True)
    retirement_lessons = serializers.CharField(read_only=True)
    retired_at = serializers.DateTimeField(source="stage_changed_at", read_only=True)
    retired_by = serializers.SerializerMethodField(
        help_text="Who retired it; null when no one is recorded (e.g. imported retired).")
    retired_note = serializers.CharField(read_only=True, allow_null=True,
                                         help_text="The note of the move to retired.")
    effort_weeks = serializers.DecimalField(max_digits=7, decimal_places=1, read_only=True,
                                            allow_null=True,
                                            help_text="Estimated effort, engineer-weeks.")
    predicted_annual_value = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, allow_null=True,
        help_text="Predicted annual value by its business case, in `currency`.")
    realised_value = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, allow_null=True,
        help_text="Realised annual value by its latest recorded value review; null: none.")
    run_cost = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, allow_null=True,
        help_text="Annual run cost by its latest recorded value review; null: none.")
    reviewed_at = serializers.DateTimeField(
        read_only=True, allow_null=True,
        help_text="When that value review was recorded; null: never reviewed.")
    currency = serializers.SerializerMethodField(help_text="The currency of the amounts.")
    url = serializers.SerializerMethodField()

    def get_currency(self, initiative) -> str:
        return settings.VALUE_CURRENCY

    @extend_schema_field(RetiredBySerializer(allow_null=True))
    def get_retired_by(self, initiative):
        username = initiative.retired_by_username
        if not username:
            return None
        name = " ".join(part for part in (initiative.retired_by_first,
                                          initiative.retired_by_last) if part)
        return {"username": username, "name": name or username}

    def get_url(self, initiative) -> str:
        return item_url("api:initiative-list", initiative.pk)


KILL_LOG_FILTERS = filter_parameters(
    KillLogFilterForm, q="Search titles, summaries and lessons.",
    reason="The reason for retiring.", team="A team's slug.")


@extend_schema_view(
    list=extend_schema(summary="The kill log: retired initiatives, newest first, searchable",
                       parameters=KILL_LOG_FILTERS,
                       responses={200: KillLogEntrySerializer(many=True),
                                  400: ERROR, 401: ERROR, 404: ERROR}),
)
class KillLogViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    pagination_class = KeysetPagination
    serializer_class = KillLogEntrySerializer
    queryset = Initiative.objects.none()  # for the schema; reads go through the selector

    def list(self, request, *args, **kwargs):
        require_reader(request.user)
        filters = valid_query(KillLogFilterForm(request.query_params))
        page = self.paginate_queryset(selectors.kill_log(filters=filters))
        return self.get_paginated_response(KillLogEntrySerializer(page, many=True).data)
