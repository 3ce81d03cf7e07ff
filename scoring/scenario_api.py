"""API v1 reads of scenarios (docs/architecture.md, "Scenarios"): the list, and one scenario
with its comparison against the live plan. Same access as the pages
(``scoring.scenarios.scenario_rights``): every dashboard reader; outsiders get 404.
Scenarios are drafted and applied on the pages."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from portfolio.api.common import ERROR, READ_ERRORS
from portfolio.api.pagination import ApiPagination
from portfolio.api.serializers import PersonSerializer, TeamRefSerializer
from portfolio.models import Stage
from scoring import scenarios
from scoring.models import ScenarioPin, ScoringMethod


class ScenarioModelSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    version = serializers.IntegerField(read_only=True)
    method = serializers.ChoiceField(choices=ScoringMethod.choices, read_only=True)


class ScenarioCapacitySerializer(serializers.Serializer):
    team = TeamRefSerializer(read_only=True)
    engineer_weeks = serializers.DecimalField(max_digits=8, decimal_places=1, read_only=True)


class ScenarioPinSerializer(serializers.Serializer):
    initiative = serializers.IntegerField(source="initiative_id", read_only=True)
    title = serializers.CharField(source="initiative.title", read_only=True)
    direction = serializers.ChoiceField(choices=ScenarioPin.Direction.choices, read_only=True)


class ScenarioSerializer(serializers.Serializer):
    key = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    quarter = serializers.CharField(source="quarter_label", read_only=True,
                                    help_text="The quarter whose line it changes (2027-Q1).")
    scoring_model = ScenarioModelSerializer(
        source="model", read_only=True, allow_null=True,
        help_text="The version it ranks by; null: the active one.")
    weights = serializers.DictField(child=serializers.FloatField(), read_only=True,
                                    help_text="Weights replacing the model's; {}: its own.")
    created_by = PersonSerializer(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    applied_at = serializers.DateTimeField(read_only=True, allow_null=True)
    applied_by = PersonSerializer(read_only=True, allow_null=True)
    page = serializers.SerializerMethodField(help_text="The scenario's page: share it.")
    url = serializers.SerializerMethodField()

    def get_page(self, scenario) -> str:
        return reverse("scoring:scenario", kwargs={"key": scenario.key})

    def get_url(self, scenario) -> str:
        return reverse("scoring-api:scenario-detail", kwargs={"key": scenario.key})


class FiguresSerializer(serializers.Serializer):
    capacity = serializers.DecimalField(max_digits=10, decimal_places=1, allow_null=True,
                                        help_text="Engineer-weeks; null: no plan.")
    committed = serializers.DecimalField(max_digits=10, decimal_places=1)
    funded = serializers.DecimalField(max_digits=10, decimal_places=1)
    utilisation_percent = serializers.IntegerField(allow_null=True)
    over_commitment = serializers.DecimalField(max_digits=10, decimal_places=1)


class TeamChangeSerializer(serializers.Serializer):
    team = serializers.SerializerMethodField()
    live = FiguresSerializer()
    scenario = FiguresSerializer()
    changes = serializers.ListField(child=serializers.CharField(),
                                    help_text="The differences in words; [] when none.")

    @extend_schema_field(TeamRefSerializer)
    def get_team(self, change) -> dict:
        return {"slug": change.team_slug, "name": change.team}


class MovedSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    title = serializers.CharField()
    team = serializers.CharField()
    stage = serializers.ChoiceField(choices=Stage.choices)
    effort_weeks = serializers.DecimalField(source="effort", max_digits=10, decimal_places=1,
                                            allow_null=True)
    live = serializers.CharField(help_text="Where it stands in the live plan, in words.")
    scenario = serializers.CharField(help_text="Where it stands in the scenario, in words.")
    blockers = serializers.ListField(child=serializers.CharField(),
                                     help_text="What blocks its next stage, if it enters.")


class ComparisonSerializer(serializers.Serializer):
    quarter = serializers.CharField()
    summary = serializers.CharField(help_text="The difference in one sentence.")
    same = serializers.BooleanField(help_text="True: the scenario changes nothing.")
    live_model = serializers.CharField()
    scenario_model = serializers.CharField()
    entering = MovedSerializer(many=True, help_text="Funded in the scenario, not live.")
    dropping = MovedSerializer(many=True, help_text="Funded live, not in the scenario.")
    teams = TeamChangeSerializer(many=True)


class ScenarioDetailSerializer(ScenarioSerializer):
    capacities = ScenarioCapacitySerializer(many=True, read_only=True)
    pins = ScenarioPinSerializer(many=True, read_only=True)
    comparison = ComparisonSerializer(
        read_only=True, allow_null=True,
        help_text="Beside the live plan for its quarter; null once the quarter has passed.")


class ScenarioPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ScenarioSerializer(many=True)


class ScenarioListView(APIView):
    @extend_schema(operation_id="scenarios_list",
                   summary="Saved scenarios, the most recently changed first",
                   parameters=ApiPagination.schema_parameters(),
                   responses={200: ScenarioPageSerializer, 400: ERROR, 401: ERROR, 404: ERROR})
    def get(self, request):
        scenarios.scenario_rights(request.user).require("read")
        paginator = ApiPagination()
        page = paginator.paginate_queryset(scenarios.scenario_list(), request, view=self)
        return paginator.get_paginated_response(ScenarioSerializer(page, many=True).data)


class ScenarioDetailView(APIView):
    @extend_schema(operation_id="scenarios_retrieve",
                   summary="A scenario beside the live plan: what enters, what drops, per team",
                   description=("Both sides are the same funding-line walk over the live "
                                "portfolio; nothing live changes."),
                   responses={200: ScenarioDetailSerializer, **READ_ERRORS})
    def get(self, request, key):
        scenario, _ = scenarios.scenario_for(request.user, key)
        scenario.comparison = scenarios.scenario_comparison(scenario=scenario,
                                                            now=timezone.now())
        return Response(ScenarioDetailSerializer(scenario).data)
