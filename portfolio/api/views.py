"""API v1 endpoints of the portfolio: parse input, one service or selector, serialize.

Access is the browser's (``portfolio.access``): outsiders get 404, read-only roles 403
on writes. An initiative's responses carry an ``ETag`` of its version; a change needs
``If-Match`` with it (428 without, 412 when stale), and nothing is overwritten.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from portfolio import hooks, selectors, services
from portfolio.access import initiative_for, require_pm, require_reader
from portfolio.api.common import (
    ERROR,
    IF_MATCH,
    LOCKED_WRITE_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    etag_for,
    expected_version,
    filter_parameters,
    filter_values,
    item_url,
    unless_unchanged,
)
from portfolio.api.outcomes import (
    InitiativeOutcomesActions,
    MeasurementInputSerializer,
    OverrideInputSerializer,
)
from portfolio.api.pagination import KeysetPagination
from portfolio.api.serializers import (
    INITIATIVE_ROW_COLUMNS,
    InitiativeCreatedSerializer,
    InitiativeDetailSerializer,
    InitiativeListSerializer,
    InitiativeWriteSerializer,
    MoveSerializer,
    TeamSerializer,
    TransitionCreatedSerializer,
    UpdateSerializer,
    initiative_list_rows,
)
from portfolio.forms import InitiativeFilterForm
from portfolio.models import Initiative, StageTransition, Stakeholder, Team, Update


def _detail_queryset():
    return (Initiative.objects.select_related("team", "owner", "sponsor", "production_owner")
            .prefetch_related(
                Prefetch("stakeholders", queryset=Stakeholder.objects.select_related("user")
                         .order_by("role", "user__username")),
                Prefetch("transitions", queryset=StageTransition.objects
                         .select_related("actor").order_by("at", "id"))))


def _detail_response(initiative: Initiative, status_code=status.HTTP_200_OK, *,
                     serializer_class=InitiativeDetailSerializer) -> Response:
    return Response(serializer_class(initiative).data, status=status_code,
                    headers={"ETag": etag_for(initiative)})


FILTERS = filter_parameters(
    InitiativeFilterForm, q="Search titles and summaries.", team="A team's slug.",
    owner='A username, or "me"; an unknown one is a 404.', sort="The order; default: recent.")


@extend_schema_view(
    list=extend_schema(summary="Initiatives, filtered, sorted and paginated",
                       parameters=FILTERS, responses={200: InitiativeListSerializer(many=True),
                                                      400: ERROR, 401: ERROR, 404: ERROR}),
    retrieve=extend_schema(summary="One initiative, with its people and stage history",
                           responses={200: InitiativeDetailSerializer, **READ_ERRORS}),
    create=extend_schema(summary="Log an initiative (PMs)", request=InitiativeWriteSerializer,
                         responses={201: InitiativeCreatedSerializer, **WRITE_ERRORS}),
    partial_update=extend_schema(
        summary="Change fields of an initiative (its editors), with If-Match",
        parameters=[IF_MATCH], request=InitiativeWriteSerializer,
        responses={200: InitiativeDetailSerializer, **LOCKED_WRITE_ERRORS}),
)
class InitiativeViewSet(InitiativeOutcomesActions, mixins.ListModelMixin,
                        mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    pagination_class = KeysetPagination
    lookup_value_regex = r"[0-9]+"  # anything else is a 404, never a bad query
    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset = Initiative.objects.none()  # for the schema; reads go through the selectors

    def get_serializer_class(self):
        return {"list": InitiativeListSerializer, "create": InitiativeWriteSerializer,
                "partial_update": InitiativeWriteSerializer, "move": MoveSerializer,
                "updates": UpdateSerializer, "measurements": MeasurementInputSerializer,
                "overrides": OverrideInputSerializer}.get(self.action,
                                                          InitiativeDetailSerializer)

    def _initiative(self, *, need: str) -> Initiative:
        """The initiative alone (one query), if the caller may ``need`` it
        (``access.initiative_for``), for the rules of a write or a nested list."""
        return initiative_for(self.request.user, self.kwargs["pk"], need=need)[0]

    def _detail(self, pk: int, *, status_code=status.HTTP_200_OK) -> Response:
        return _detail_response(get_object_or_404(_detail_queryset(), pk=pk), status_code)

    def list(self, request, *args, **kwargs):
        require_reader(request.user)
        filters = filter_values(InitiativeFilterForm, request.query_params)
        queryset = selectors.initiative_list(fetched_by=request.user, filters=filters)
        # Plain rows, not model instances: the list's JSON is built from the columns.
        page = self.paginator.paginate_queryset(queryset, request, view=self,
                                                values=INITIATIVE_ROW_COLUMNS)
        return self.get_paginated_response(initiative_list_rows(page))

    def retrieve(self, request, *args, **kwargs):
        initiative, _ = initiative_for(request.user, self.kwargs["pk"],
                                       queryset=_detail_queryset())
        return unless_unchanged(request, _detail_response(initiative))

    def create(self, request, *args, **kwargs):
        require_pm(request.user)
        serializer = InitiativeWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        now = timezone.now()
        initiative = services.initiative_create(actor=request.user, now=now,
                                                **serializer.validated_data)
        initiative = get_object_or_404(_detail_queryset(), pk=initiative.pk)
        initiative.warnings = hooks.capacity_warnings(initiative, now)
        response = _detail_response(initiative, status.HTTP_201_CREATED,
                                    serializer_class=InitiativeCreatedSerializer)
        response["Location"] = item_url("api:initiative-list", initiative.pk)
        return response

    def partial_update(self, request, *args, **kwargs):
        initiative = self._initiative(need="edit")
        version = expected_version(request, initiative)
        serializer = InitiativeWriteSerializer(initiative, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        updated = services.initiative_update(initiative=initiative, actor=request.user,
                                             now=timezone.now(), expected_version=version,
                                             changes=dict(serializer.validated_data))
        return self._detail(updated.pk)

    @extend_schema(summary="Move the stage (its editors), with If-Match: the gate applies",
                   parameters=[IF_MATCH], request=MoveSerializer,
                   responses={201: TransitionCreatedSerializer, **LOCKED_WRITE_ERRORS})
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None, format=None):
        initiative = self._initiative(need="edit")
        version = expected_version(request, initiative)
        serializer = MoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        now = timezone.now()
        transition = services.initiative_move_stage(
            initiative=initiative, actor=request.user, now=now,
            expected_stage=initiative.stage, expected_version=version,
            **serializer.validated_data)
        initiative.refresh_from_db(fields=["version", "stage"])
        transition.initiative = initiative
        # The move stands; over-commitment comes back as words, not a refusal.
        transition.warnings = hooks.capacity_warnings(initiative, now)
        return Response(TransitionCreatedSerializer(transition).data,
                        status=status.HTTP_201_CREATED, headers={"ETag": etag_for(initiative)})

    @extend_schema(methods=["GET"], summary="The initiative's status updates, newest first",
                   responses={200: UpdateSerializer(many=True), 400: ERROR, **READ_ERRORS})
    @extend_schema(methods=["POST"], summary="Post a status update (its editors)",
                   request=UpdateSerializer, responses={201: UpdateSerializer, **WRITE_ERRORS})
    @action(detail=True, methods=["get", "post"], pagination_class=KeysetPagination)
    def updates(self, request, pk=None, format=None):
        initiative = self._initiative(need="read" if request.method == "GET" else "edit")
        if request.method == "GET":
            updates = (Update.objects.filter(initiative=initiative).select_related("author")
                       .order_by("-created_at", "-id"))
            page = self.paginate_queryset(updates)
            return self.get_paginated_response(UpdateSerializer(page, many=True).data)
        serializer = UpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        update = services.update_post(initiative=initiative, author=request.user,
                                      now=timezone.now(), **serializer.validated_data)
        return Response(UpdateSerializer(update).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="Teams", responses={200: TeamSerializer(many=True),
                                                   400: ERROR, 401: ERROR, 404: ERROR}),
    retrieve=extend_schema(summary="One team", responses={200: TeamSerializer, **READ_ERRORS}),
)
class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TeamSerializer
    pagination_class = KeysetPagination
    lookup_value_regex = r"[0-9]+"
    queryset = Team.objects.order_by("name", "id")

    def get_queryset(self):
        require_reader(self.request.user)
        return super().get_queryset()
