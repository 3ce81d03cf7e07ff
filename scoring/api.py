"""API v1 endpoints of scoring: the ranking, the dashboard's figures and capacity plans.

The ranking and the dashboard are the browser dashboard's own reads
(``scoring.dashboard``): the whole live portfolio is ranked, this quarter's funding line
is drawn over it, and only then the filters (team, category, stage) narrow the rows shown
— never the line. Every portfolio role reads; outsiders get 404.

Capacity plans are changed where the admin changes them: by staff with the admin's
add/change permission on capacity plans, through ``scoring.capacity.capacity_plan_set``.
A plan has no version, so its writes carry no ETag / If-Match (last write wins, and the
plan's history records who wrote what).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.api import ReviewCapacitySerializer
from portfolio.access import require_reader
from portfolio.api.common import (
    ERROR,
    READ_ERRORS,
    WRITE_ERRORS,
    InputSerializer,
    filter_parameters,
    item_url,
    plain_data,
    valid_query,
)
from portfolio.api.errors import UnknownReference
from portfolio.api.pagination import ApiPagination, KeysetPagination
from portfolio.api.serializers import (
    DecimalTextField,
    InitiativeRefSerializer,
    SlugReference,
    TeamRefSerializer,
)
from portfolio.models import Stage, Team
from portfolio.roles import acts_as_admin
from scoring import dashboard as board_reads
from scoring import formulas
from scoring import value as value_reads
from scoring.capacity import (
    QUARTER_INVALID,
    YEAR_INVALID,
    YEAR_MAX,
    YEAR_MIN,
    capacity_plan_set,
)
from scoring.forms import CapacityPlanFilterForm, DashboardFilterForm
from scoring.models import CapacityPlan, ScoringMethod, ScoringModel
from scoring.selectors import active_scoring_model

# --- Shared -------------------------------------------------------------------------------------

DASHBOARD_FILTERS = filter_parameters(
    DashboardFilterForm, team="A team's slug.",
    quarter="The quarter whose funding line is shown: this quarter or one of the next three, "
            "written 2027-Q1 (empty: this quarter); another is a 400 on `quarter`.",
    position="Only the initiatives at this position in the quarter: committed, funded (fund "
             "next), below_line (also unsized and no plan), blocked (committed or funded, "
             "and governance blocks them), not_drawing (paused), not_ranked.",
    blocker="With position=blocked: only those blocked by this (a checkpoint type's name, "
            "\"exit contract\", \"minimum pilot length\", \"prohibited risk tier\").")

NOT_CAPACITY_EDITOR = "Only an admin who may edit capacity plans in the admin can change them."
NO_SUCH_MODEL = "No scoring model has this id."
MODEL_INVALID = "A scoring model's id: a whole number."


def _filters(request, *, now) -> dict:
    """The dashboard's quarter and filters; a bad one is a field error (400)."""
    return valid_query(DashboardFilterForm(request.query_params, now=now))


class ScoringModelRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    version = serializers.IntegerField(read_only=True)
    method = serializers.ChoiceField(choices=ScoringMethod.choices, read_only=True)
    is_active = serializers.BooleanField(read_only=True)


# --- The ranking --------------------------------------------------------------------------------

FUNDING_STATUSES = list(board_reads.FUNDING_LABELS.items())


class FactorSerializer(serializers.Serializer):
    key = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)
    value = serializers.FloatField(read_only=True, allow_null=True)
    explanation = serializers.CharField(read_only=True)
    contribution = serializers.FloatField(
        read_only=True, allow_null=True,
        help_text="What the factor adds to the score (sums); null where the method multiplies.")


class BreakdownSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=ScoringMethod.choices, read_only=True)
    score = serializers.FloatField(read_only=True, allow_null=True)
    scorable = serializers.BooleanField(read_only=True)
    expression = serializers.CharField(
        read_only=True, help_text="The arithmetic in words, or what is missing to score it.")
    missing = serializers.ListField(child=serializers.CharField(), read_only=True)
    factors = FactorSerializer(many=True, read_only=True)


class FundingSerializer(serializers.Serializer):
    funding_status = serializers.ChoiceField(
        source="status", choices=FUNDING_STATUSES, read_only=True,
        help_text="Against the line of the response's quarter: committed (pilot, "
                  "production, scaled, or funded in an earlier quarter), funded (a candidate "
                  "funded next), below_line, unsized, no_plan (its team has no capacity "
                  "plan), not_drawing (paused or retired), not_ranked (new since the "
                  "standings were computed).")
    blocked = serializers.BooleanField(
        read_only=True, help_text="Committed or funded, and governance blocks its next "
                                  "stage (blockers says by what).")
    label = serializers.CharField(read_only=True)
    detail = serializers.CharField(read_only=True,
                                   help_text="What blocks it, or why it is below the line.")
    blockers = serializers.ListField(child=serializers.CharField(), read_only=True)


class InitiativeScoreSerializer(serializers.Serializer):
    scoring_model = ScoringModelRefSerializer(source="model", read_only=True)
    score = serializers.FloatField(source="breakdown.score", read_only=True, allow_null=True,
                                   help_text="Null when it is not scorable.")
    breakdown = BreakdownSerializer(read_only=True)


@extend_schema_field(InitiativeScoreSerializer(allow_null=True))
class InitiativeScoreField(serializers.Field):
    """An initiative's score under the active scoring model, with its breakdown; null when
    no model is active. One query (the active model); the arithmetic is the ranking's
    (``scoring.formulas``). Its rank is on ``/api/v1/ranking/``."""

    def __init__(self):
        super().__init__(source="*", read_only=True)

    def to_representation(self, initiative):
        model = active_scoring_model()
        if model is None:
            return None
        return InitiativeScoreSerializer(
            {"model": model, "breakdown": formulas.breakdown(initiative, model=model)}).data


class RankedInitiativeSerializer(InitiativeRefSerializer):
    """A ranked initiative (its own name in the schema)."""


class RankingRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField(
        read_only=True, allow_null=True,
        help_text="Its place in the whole live portfolio (filters keep it); null if retired.")
    initiative = RankedInitiativeSerializer(read_only=True)
    score = serializers.FloatField(read_only=True, allow_null=True,
                                   help_text="Null when it is not scorable.")
    score_text = serializers.CharField(read_only=True)
    breakdown = BreakdownSerializer(read_only=True, allow_null=True)
    funding = FundingSerializer(read_only=True)


class RankingPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    scoring_model = ScoringModelRefSerializer(allow_null=True)
    quarter = serializers.CharField(help_text="The quarter whose funding line is shown.")
    standings_as_of = serializers.DateTimeField(
        allow_null=True, help_text="When the ranks, the funding line and the KPI flags were "
                                   "computed; null until the worker first computes them.")
    refreshing = serializers.BooleanField(
        help_text="True: something changed since; they are being recomputed.")
    results = RankingRowSerializer(many=True)


def _board(request, *, filters: dict, now):
    """The dashboard's assembly, ranked by ``?model=`` when one is asked for.

    The funding line stays the quarter's line (drawn over the active model's ranking):
    another model reorders the rows, it does not move the line.
    """
    board = board_reads.dashboard(filters=filters, now=now)
    raw = request.query_params.get("model")
    if raw in (None, ""):
        return board
    if not raw.isdigit() or len(raw) > 9:
        raise ValidationError({"model": [MODEL_INVALID]})
    model = ScoringModel.objects.filter(pk=int(raw)).first()
    if model is None:
        raise UnknownReference({"model": [NO_SUCH_MODEL]})
    return board_reads.rank_by(board, model)


class RankingView(APIView):
    @extend_schema(
        summary="The portfolio ranked, with each score's breakdown and its funding status",
        description=("Ranked by the active scoring model, or by `?model=<id>`. The funding "
                     "line is the quarter's (`?quarter=2027-Q1`: this quarter or one of the "
                     "next three), drawn over the whole portfolio: the filters narrow the "
                     "rows, never the line; `?position=` keeps one group of the line. "
                     "Retired initiatives appear only with `?stage=retired`."),
        parameters=[*DASHBOARD_FILTERS,
                    OpenApiParameter("model", {"type": "integer", "minimum": 1,
                                               "maximum": 999_999_999},
                                     description="A scoring model's id; an unknown one is a 404."),
                    *ApiPagination.schema_parameters()],
        responses={200: RankingPageSerializer, 400: ERROR, 401: ERROR, 404: ERROR})
    def get(self, request):
        require_reader(request.user)
        now = timezone.now()
        filters = _filters(request, now=now)
        board = _board(request, filters=filters, now=now)
        paginator = ApiPagination()
        page = paginator.paginate_queryset(board.table(), request, view=self)
        return Response({
            "count": paginator.page.paginator.count,
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            "scoring_model": (ScoringModelRefSerializer(board.model).data
                              if board.model else None),
            "quarter": board.quarter_label,
            "standings_as_of": board.snapshot.taken_at,
            "refreshing": board.refreshing,
            "results": RankingRowSerializer(board.rows(page), many=True).data,
        })


# --- The dashboard ------------------------------------------------------------------------------

class StageCountSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    label = serializers.CharField()
    count = serializers.IntegerField()


class KpisSerializer(serializers.Serializer):
    initiatives_by_stage = serializers.SerializerMethodField()
    total = serializers.IntegerField()
    entered_pilot = serializers.IntegerField()
    reached_production = serializers.IntegerField()
    conversion_percent = serializers.IntegerField(allow_null=True)
    median_pilot_age_days = serializers.FloatField(source="median_pilot_age", allow_null=True)
    pilots = serializers.IntegerField()
    stalled_pilots = serializers.IntegerField()
    ownership_gaps = serializers.IntegerField()
    out_of_compliance = serializers.IntegerField()

    @extend_schema_field(StageCountSerializer(many=True))
    def get_initiatives_by_stage(self, kpis) -> list[dict]:
        return [{"stage": stage, "label": label, "count": count}
                for stage, label, count in kpis.stage_counts]


class TeamCapacitySerializer(serializers.Serializer):
    team = TeamRefSerializer()
    capacity = serializers.DecimalField(max_digits=10, decimal_places=1, allow_null=True,
                                        help_text="Engineer-weeks planned; null: no plan.")
    demand = serializers.DecimalField(max_digits=10, decimal_places=1)
    funded_effort = serializers.DecimalField(max_digits=10, decimal_places=1)
    remaining = serializers.DecimalField(max_digits=10, decimal_places=1, allow_null=True)
    utilisation_percent = serializers.IntegerField(allow_null=True)
    over_commitment = serializers.DecimalField(max_digits=10, decimal_places=1)
    over_committed = serializers.BooleanField()
    funded = serializers.IntegerField(help_text="Funded, blocked or not.")
    funded_but_blocked = serializers.IntegerField()
    below_line = serializers.IntegerField()
    unsized = serializers.IntegerField()
    no_plan = serializers.IntegerField()


class DefinitionsSerializer(serializers.Serializer):
    conversion = serializers.CharField()
    median_pilot_age = serializers.CharField()
    stalled_pilots = serializers.CharField()
    ownership_gaps = serializers.CharField()
    out_of_compliance = serializers.CharField()


class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    url = serializers.CharField(help_text="The page listing the same rows (a path and query).")


class EnteringSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    title = serializers.CharField()
    team = serializers.CharField()
    effort_weeks = serializers.FloatField(source="effort", allow_null=True)
    rank = serializers.IntegerField(allow_null=True)


class OverCapacitySerializer(serializers.Serializer):
    team = TeamRefSerializer()
    capacity = serializers.DecimalField(max_digits=10, decimal_places=1, allow_null=True)
    funded_effort = serializers.DecimalField(max_digits=10, decimal_places=1)
    over_commitment = serializers.DecimalField(max_digits=10, decimal_places=1)


class FundSerializer(serializers.Serializer):
    quarter = serializers.CharField()
    committed = CountSerializer(help_text="Pilot, production and scaled work, and candidates "
                                          "funded in an earlier quarter.")
    funded = CountSerializer(help_text="Candidates (ideas, assessments) funded next.")
    below_line = CountSerializer(help_text="Candidates below the line, unsized, or whose team "
                                           "has no plan.")
    over_capacity = serializers.IntegerField(help_text="Of below_line: did not fit.")
    unsized = serializers.IntegerField(help_text="Of below_line: no effort estimate.")
    no_plan = serializers.IntegerField(help_text="Of below_line: the team has no plan.")
    capacity = serializers.FloatField(help_text="Engineer-weeks planned by the teams shown.")
    committed_effort = serializers.FloatField()
    funded_effort = serializers.FloatField(help_text="Committed and funded next.")
    teams_without_plan = serializers.IntegerField()
    over = OverCapacitySerializer(many=True, help_text="Teams over capacity, most over first.")
    entering = EnteringSerializer(many=True, help_text="The first candidates funded next.")


class BlockerCountSerializer(CountSerializer):
    blocker = serializers.CharField(help_text="A checkpoint type's name, \"exit contract\", "
                                              "\"minimum pilot length\" or \"prohibited risk "
                                              "tier\".")


class BlockedSerializer(serializers.Serializer):
    total = CountSerializer(help_text="Committed or funded in the quarter, and blocked.")
    by_blocker = BlockerCountSerializer(
        many=True, help_text="By what blocks them, most common first; an initiative blocked "
                             "by two counts under each.")


class StuckSerializer(serializers.Serializer):
    stalled_pilots = CountSerializer(help_text="Open stalled-pilot flags (the team filter "
                                               "applies).")
    overdue_reviews = CountSerializer(help_text="Governance reviews open past their due date.")
    overdue_value_reviews = CountSerializer(help_text="Value reviews past their due date and "
                                                      "grace period.")


def _first_screen(first: board_reads.FirstScreen) -> dict:
    return {
        "fund": {**vars(first.fund), "over": first.fund.over},
        "blocked": {"total": first.blocked.total,
                    "by_blocker": [{"blocker": kind, "count": number.count, "url": number.url}
                                   for kind, number in first.blocked.by_kind]},
        "stuck": vars(first.stuck),
    }


def _money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=16, decimal_places=2, read_only=True, **kwargs)


class ValueDefinitionsSerializer(serializers.Serializer):
    realised_this_year = serializers.CharField()
    meeting_contract = serializers.CharField()
    accuracy = serializers.CharField()
    scoring_model = serializers.CharField()


class ValueKpisSerializer(serializers.Serializer):
    currency = serializers.CharField(help_text="The currency of every amount (ISO 4217).")
    year = serializers.IntegerField(help_text="The calendar year of realised_this_year.")
    realised_this_year = _money(
        help_text="Sum of each initiative's latest realised annual value, over value reviews "
                  "recorded since 1 January.")
    in_production = serializers.IntegerField(help_text="Initiatives in production or scaled.")
    meeting_contract = serializers.IntegerField(
        help_text="Of those, how many have a latest in-window measurement that meets the "
                  "target.")
    meeting_contract_percent = serializers.IntegerField(source="meeting_percent",
                                                        allow_null=True)
    overdue_value_reviews = serializers.IntegerField(
        source="overdue_reviews", help_text="Initiatives with an overdue value review "
                                            "(whole portfolio).")
    value_at_risk = serializers.IntegerField(
        help_text="Initiatives whose value is at risk, awaiting a decision (whole portfolio).")
    definitions = ValueDefinitionsSerializer(help_text="How each value figure is counted.")


class DashboardSerializer(serializers.Serializer):
    scoring_model = ScoringModelRefSerializer(allow_null=True)
    quarter = serializers.CharField(help_text="The quarter whose capacity and line are shown.")
    standings_as_of = serializers.DateTimeField(
        allow_null=True, help_text="When the funding line and the KPI flags were computed; "
                                   "null until the worker first computes them.")
    refreshing = serializers.BooleanField(
        help_text="True: something changed since; they are being recomputed.")
    kpis = KpisSerializer()
    capacity = TeamCapacitySerializer(
        many=True, help_text="Per team: capacity against demand for the quarter (by name).")
    definitions = DefinitionsSerializer(help_text="How each KPI is counted.")
    value = ValueKpisSerializer(help_text="Value after production: the filtered portfolio's "
                                          "realised value and contracts, the whole "
                                          "portfolio's value flags.")
    fund = FundSerializer(help_text="The quarter's line: the page's Fund answer.")
    blocked = BlockedSerializer(help_text="Funded but blocked, by blocker: the page's "
                                          "Blocked answer.")
    stuck = StuckSerializer(help_text="Stalled pilots and overdue reviews: the page's Stuck "
                                      "answer.")


def _value_kpis(kpis: value_reads.ValueKpis) -> dict:
    return {**vars(kpis), "meeting_percent": kpis.meeting_percent,
            "currency": settings.VALUE_CURRENCY, "definitions": value_reads.value_definitions()}


class DashboardView(APIView):
    @extend_schema(
        summary="The dashboard's first screen (fund, blocked, stuck), KPIs and each team's "
                "capacity against demand in the quarter",
        description=("`?quarter=2027-Q1`: this quarter or one of the next three. The KPIs "
                     "count the filtered portfolio; the team filter narrows the teams shown, "
                     "whose capacity, demand and line are the whole portfolio's. `fund`, "
                     "`blocked` and `stuck` are the page's numbers, each with the page "
                     "listing the same rows."),
        parameters=DASHBOARD_FILTERS,
        responses={200: DashboardSerializer, 400: ERROR, 401: ERROR, 404: ERROR})
    def get(self, request):
        require_reader(request.user)
        now = timezone.now()
        filters = _filters(request, now=now)
        board = board_reads.dashboard(filters=filters, now=now)
        kpis = board_reads.kpi_figures(board)
        data = DashboardSerializer({
            "scoring_model": board.model,
            "quarter": board.quarter_label,
            "standings_as_of": board.snapshot.taken_at,
            "refreshing": board.refreshing,
            "kpis": kpis,
            "capacity": [],  # one row per team: built plainly, in its place, below
            "definitions": board_reads.kpi_definitions(),
            "value": _value_kpis(board_reads.value_kpis(board)),
            **_first_screen(board_reads.first_screen(board)),
        }).data
        # One row per team: built once per snapshot (the stored team standings change only
        # with it), so the teams' number does not weigh on each read.
        data["capacity"] = board.per_snapshot(
            "api-capacity", lambda: plain_data(TeamCapacitySerializer, board.teams()))
        return Response(data)


class ReviewCapacityView(APIView):
    @extend_schema(
        summary="Review backlog, throughput and the expected wait per checkpoint type",
        description="One row per active checkpoint type, by the stage it gates then name.",
        responses={200: ReviewCapacitySerializer(many=True), 401: ERROR, 404: ERROR})
    def get(self, request):
        require_reader(request.user)
        board = board_reads.dashboard(filters={}, now=timezone.now())
        return Response(ReviewCapacitySerializer(board_reads.review_capacity_rows(board),
                                                 many=True).data)


# --- Value --------------------------------------------------------------------------------------

class ValueTotalSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The team, category, quarter (2026-Q3) or scoring "
                                          "model (\"RICE v2\").")
    initiatives = serializers.IntegerField(help_text="Initiatives that entered production.")
    reviewed = serializers.IntegerField(help_text="Of those, with a recorded value review.")
    predicted_value = _money(help_text="Predicted annual value of all of them.")
    predicted_reviewed = _money(help_text="Predicted annual value of the reviewed ones.")
    realised_value = _money(help_text="Realised annual value of the reviewed ones (their "
                                      "latest review).")
    run_cost = _money(help_text="Annual run cost of the reviewed ones (their latest review).")
    accuracy = serializers.DecimalField(
        max_digits=12, decimal_places=4, allow_null=True,
        help_text="Estimate accuracy: realised ÷ predicted over the reviewed; null: none.")
    accuracy_percent = serializers.IntegerField(allow_null=True)
    verdict = serializers.ChoiceField(
        choices=["over-predicts", "on target", "under-predicts", ""],
        help_text="Within the margin of 100% either way: on target; \"\": nothing reviewed.")


class ValueReportSerializer(serializers.Serializer):
    currency = serializers.CharField(help_text="The currency of every amount (ISO 4217).")
    margin_percent = serializers.IntegerField(
        help_text="How far from 100% an accuracy may be and still be on target.")
    overall = ValueTotalSerializer(allow_null=True)
    by_team = ValueTotalSerializer(many=True)
    by_category = ValueTotalSerializer(many=True)
    by_quarter = ValueTotalSerializer(many=True, help_text="By the quarter the initiatives "
                                                           "entered production.")
    by_scoring_model = ValueTotalSerializer(
        many=True, help_text="By the scoring model version active when each entered pilot.")
    definitions = ValueDefinitionsSerializer()
    standings_as_of = serializers.DateTimeField(
        allow_null=True, help_text="When these figures were computed (with the standings); "
                                   "null until the worker first computes them.")
    refreshing = serializers.BooleanField(
        help_text="True: something changed since; they are being recomputed.")


def _total(total: value_reads.Total) -> dict:
    return {**vars(total.total), "accuracy_percent": total.accuracy_percent,
            "verdict": total.verdict}


class ValueView(APIView):
    @extend_schema(
        summary="Predicted versus realised value and estimate accuracy per team, category, "
                "quarter and scoring model",
        description=("Every initiative that has entered production, its predicted annual "
                     "value against its latest recorded value review. Estimate accuracy is "
                     "realised ÷ predicted over the initiatives with a recorded review."),
        responses={200: ValueReportSerializer, 401: ERROR, 404: ERROR})
    def get(self, request):
        require_reader(request.user)
        board = board_reads.dashboard(filters={}, now=timezone.now())
        snapshot = board.snapshot
        data = ValueReportSerializer({
            "currency": settings.VALUE_CURRENCY,
            "margin_percent": round(100 * value_reads.ACCURACY_MARGIN),
            "overall": None,
            **dict.fromkeys(_VALUE_LISTS, []),  # with "overall": the stored totals, below
            "definitions": value_reads.value_definitions(),
            "standings_as_of": snapshot.taken_at,
            "refreshing": snapshot.refreshing,
        }).data
        # As of the standings (``value_store``): the stored totals, one query, built once
        # per snapshot (a row per team, …: their number does not weigh on each read).
        data.update(board.per_snapshot("api-value", _value_totals))
        return Response(data)


# The report's lists: the stored totals' attribute for each.
_VALUE_LISTS = {"by_team": "by_team", "by_category": "by_category",
                "by_quarter": "by_quarter", "by_scoring_model": "by_model"}


def _value_totals() -> dict:
    """The value report's stored totals, as the API writes them: ``overall`` and the lists."""
    report = value_reads.value_stored()
    overall = report.overall and plain_data(ValueTotalSerializer, [_total(report.overall)])[0]
    return {"overall": overall, **{
        name: plain_data(ValueTotalSerializer, [_total(total)
                                                for total in getattr(report, attribute)])
        for name, attribute in _VALUE_LISTS.items()}}


# --- Capacity plans -----------------------------------------------------------------------------

class CapacityPlanSerializer(serializers.ModelSerializer):
    team = TeamRefSerializer(read_only=True)

    class Meta:
        model = CapacityPlan
        fields = ["id", "team", "year", "quarter", "engineer_weeks", "notes"]
        read_only_fields = fields


def _weeks(**kwargs) -> serializers.DecimalField:
    # ``capacity_plan_set``'s bounds (at least 0, one decimal), declared for the schema.
    return DecimalTextField(pattern=r"^(0|[1-9][0-9]{0,6})(\.[0-9])?$", max_digits=8,
                            decimal_places=1, help_text="Engineer-weeks, as text: at least 0, "
                            "at most one decimal.", **kwargs)


class CapacityPlanCreateSerializer(InputSerializer):
    team = SlugReference(slug_field="slug", queryset=Team.objects.all())
    year = serializers.IntegerField(min_value=YEAR_MIN, max_value=YEAR_MAX, error_messages={
        "min_value": YEAR_INVALID, "max_value": YEAR_INVALID})
    quarter = serializers.IntegerField(min_value=1, max_value=4, error_messages={
        "min_value": QUARTER_INVALID, "max_value": QUARTER_INVALID})
    engineer_weeks = _weeks()
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class CapacityPlanChangeSerializer(InputSerializer):
    engineer_weeks = _weeks(required=False)
    notes = serializers.CharField(required=False, allow_blank=True)


def _require_capacity_editor(user, permission: str) -> None:
    """As the admin: active staff with the admin's permission on capacity plans."""
    require_reader(user)
    if not acts_as_admin(user, f"scoring.{permission}"):
        raise PermissionDenied(NOT_CAPACITY_EDITOR)


def _plans():
    return CapacityPlan.objects.select_related("team").order_by("-year", "-quarter", "team__name",
                                                                "pk")


@extend_schema_view(
    list=extend_schema(
        summary="Capacity plans: engineer-weeks per team and quarter",
        parameters=filter_parameters(CapacityPlanFilterForm, team="A team's slug."),
        responses={200: CapacityPlanSerializer(many=True), 400: ERROR, 401: ERROR, 404: ERROR}),
    retrieve=extend_schema(summary="One capacity plan",
                           responses={200: CapacityPlanSerializer, **READ_ERRORS}),
    create=extend_schema(
        summary="Plan a team's quarter (admins with the admin's permission)",
        request=CapacityPlanCreateSerializer,
        responses={201: CapacityPlanSerializer, **WRITE_ERRORS}),
    partial_update=extend_schema(
        summary="Change a plan's engineer-weeks or notes (admins with the admin's permission)",
        description="A plan has no version: no If-Match; the plan's history records each change.",
        request=CapacityPlanChangeSerializer,
        responses={200: CapacityPlanSerializer, **WRITE_ERRORS}),
)
class CapacityPlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          viewsets.GenericViewSet):
    pagination_class = KeysetPagination
    lookup_value_regex = r"[0-9]+"
    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset = CapacityPlan.objects.none()  # for the schema; reads go through _plans()
    serializer_class = CapacityPlanSerializer

    def get_serializer_class(self):
        return {"create": CapacityPlanCreateSerializer,
                "partial_update": CapacityPlanChangeSerializer}.get(self.action,
                                                                     CapacityPlanSerializer)

    def _plan(self) -> CapacityPlan:
        require_reader(self.request.user)
        return get_object_or_404(_plans(), pk=self.kwargs["pk"])

    def list(self, request, *args, **kwargs):
        require_reader(request.user)
        filters = valid_query(CapacityPlanFilterForm(request.query_params))
        plans = _plans()
        for name, value in filters.items():
            if value not in (None, ""):
                plans = plans.filter(**{name: value})
        page = self.paginate_queryset(plans)
        return self.get_paginated_response(CapacityPlanSerializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        return Response(CapacityPlanSerializer(self._plan()).data)

    def create(self, request, *args, **kwargs):
        _require_capacity_editor(request.user, "add_capacityplan")
        serializer = CapacityPlanCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        plan = capacity_plan_set(actor=request.user, now=timezone.now(), create_only=True,
                                 **data)
        plan = get_object_or_404(_plans(), pk=plan.pk)
        location = item_url("scoring-api:capacity-plan-list", plan.pk)
        return Response(CapacityPlanSerializer(plan).data, status=status.HTTP_201_CREATED,
                        headers={"Location": location})

    def partial_update(self, request, *args, **kwargs):
        plan = self._plan()
        _require_capacity_editor(request.user, "change_capacityplan")
        serializer = CapacityPlanChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        updated = capacity_plan_set(
            team=plan.team, year=plan.year, quarter=plan.quarter, actor=request.user,
            now=timezone.now(), engineer_weeks=data.get("engineer_weeks", plan.engineer_weeks),
            notes=data.get("notes"))
        return Response(CapacityPlanSerializer(get_object_or_404(_plans(), pk=updated.pk)).data)

