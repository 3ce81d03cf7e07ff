"""API v1 endpoints of governance: the review queue's checkpoints and a reviewer's decisions.

Access is the browser's (``governance.access.checkpoint_for``): every role reads
(outsiders 404); only an independent reviewer (``services.decide_refusal``: a reviewer,
never on an initiative they own or sponsor) starts a review, decides or waives, else 403
with nothing changed; after a rejection the initiative's owner or a Responsible PM asks
for another review (``re-review``; 403 for anyone else). A checkpoint's responses carry
an ``ETag`` of its version; a decision needs ``If-Match`` with it (428 without, 412 when
stale), so two reviewers never overwrite each other. Reads go through
``governance.selectors``, writes through ``governance.services``, like the pages.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from governance import selectors, services
from governance.access import checkpoint_for, require_re_review
from governance.forms import CHANGED_MAX_LENGTH, QUEUE_TABS, QueueFilterForm
from governance.models import GATED_STAGES, Checkpoint, CheckpointStatus
from portfolio.access import require_reader
from portfolio.api.common import (
    ERROR,
    IF_MATCH,
    LOCKED_WRITE_ERRORS,
    READ_ERRORS,
    InputSerializer,
    collection_path,
    etag_for,
    expected_version,
    filter_parameters,
    item_url,
    unless_unchanged,
    valid_query,
)
from portfolio.api.errors import PreconditionFailed
from portfolio.api.pagination import KeysetPagination
from portfolio.api.serializers import PersonSerializer, TeamRefSerializer, person_row
from portfolio.models import Stage, text_limit

STALE = ("The checkpoint changed since you read it (your If-Match does not match its ETag); "
         "nothing was changed. GET it again and retry.")


# --- Serializers ------------------------------------------------------------------------------

class CheckpointInitiativeSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)
    stage = serializers.ChoiceField(choices=Stage.choices, read_only=True)
    team = TeamRefSerializer(read_only=True)
    url = serializers.SerializerMethodField()

    def get_url(self, initiative) -> str:
        return item_url("api:initiative-list", initiative.pk)


class CheckpointTypeRefSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True, help_text="The type's slug; ?type= filters by it.")
    name = serializers.CharField(read_only=True)
    required_for = serializers.ChoiceField(
        choices=[(s.value, s.label) for s in GATED_STAGES], read_only=True,
        help_text="The stage this checkpoint gates.")


class CheckpointSerializer(serializers.Serializer):
    """One checkpoint: what is reviewed, for which initiative, where it stands.

    The same shape for the list and one checkpoint (one schema component per field
    shape keeps the schema's enum names stable).
    """

    id = serializers.IntegerField(read_only=True)
    initiative = CheckpointInitiativeSerializer(read_only=True)
    type = CheckpointTypeRefSerializer(read_only=True)
    status = serializers.ChoiceField(choices=CheckpointStatus.choices, read_only=True)
    round = serializers.IntegerField(
        read_only=True, help_text="1 for the first review; each re-review after a rejection "
                                  "adds one.")
    due_date = serializers.DateField(read_only=True)
    overdue = serializers.SerializerMethodField()
    requested_at = serializers.DateTimeField(read_only=True)
    reviewer = PersonSerializer(read_only=True, allow_null=True)
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    evidence_url = serializers.CharField(read_only=True)
    evidence_notes = serializers.CharField(read_only=True)
    waiver_justification = serializers.CharField(read_only=True)
    waiver_expires_on = serializers.DateField(read_only=True, allow_null=True)
    retired_at = serializers.DateTimeField(
        read_only=True, allow_null=True,
        help_text="Set when it stopped applying to the initiative; it cannot be decided then.")
    version = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField()

    def get_overdue(self, checkpoint) -> bool:
        today = self.context.get("today") or timezone.localdate()
        return checkpoint.is_overdue(today)

    def get_url(self, checkpoint) -> str:
        return item_url("governance-api:checkpoint-list", checkpoint.pk)


# The columns ``checkpoint_list_rows`` reads from ``selectors.review_queue_rows``.
CHECKPOINT_ROW_COLUMNS = (
    "id", "initiative_id", "initiative__title", "initiative__stage", "initiative__team__slug",
    "initiative__team__name", "type__code", "type__name", "type__required_for", "status",
    "round", "due_date", "overdue_first", "requested_at", "reviewer__username",
    "reviewer__first_name", "reviewer__last_name", "reviewer__is_active", "decided_at",
    "evidence_url", "evidence_notes", "waiver_justification", "waiver_expires_on",
    "retired_at", "version")


def checkpoint_list_rows(rows) -> list[dict]:
    """``CheckpointSerializer``'s JSON, field for field, from plain rows
    (``.values(*CHECKPOINT_ROW_COLUMNS)`` of ``selectors.review_queue_rows``, whose
    ``overdue_first`` is 0 exactly when ``overdue_q``, the SQL of ``is_overdue``, holds):
    the queue list's hot path (issue 22). tests/governance/test_api.py compares the two."""
    fields = CheckpointSerializer().fields
    when = fields["requested_at"].to_representation
    initiatives = collection_path("api:initiative-list")
    checkpoints = collection_path("governance-api:checkpoint-list")

    def day(value):
        return None if value is None else value.isoformat()

    def moment(value):
        return None if value is None else when(value)

    return [{
        "id": row["id"],
        "initiative": {
            "id": row["initiative_id"], "title": row["initiative__title"],
            "stage": row["initiative__stage"],
            "team": {"slug": row["initiative__team__slug"],
                     "name": row["initiative__team__name"]},
            "url": f"{initiatives}{row['initiative_id']}/"},
        "type": {"code": row["type__code"], "name": row["type__name"],
                 "required_for": row["type__required_for"]},
        "status": row["status"], "round": row["round"], "due_date": day(row["due_date"]),
        "overdue": row["overdue_first"] == 0,
        "requested_at": moment(row["requested_at"]),
        "reviewer": person_row(row["reviewer__username"], row["reviewer__first_name"],
                               row["reviewer__last_name"], row["reviewer__is_active"]),
        "decided_at": moment(row["decided_at"]),
        "evidence_url": row["evidence_url"], "evidence_notes": row["evidence_notes"],
        "waiver_justification": row["waiver_justification"],
        "waiver_expires_on": day(row["waiver_expires_on"]),
        "retired_at": moment(row["retired_at"]), "version": row["version"],
        "url": f"{checkpoints}{row['id']}/",
    } for row in rows]


class CheckpointDecideSerializer(InputSerializer):
    status = serializers.ChoiceField(
        choices=[(CheckpointStatus.APPROVED.value, "Approved"),
                 (CheckpointStatus.REJECTED.value, "Rejected")])
    evidence_url = serializers.URLField(required=False, allow_blank=True, default="",
                                        max_length=text_limit(Checkpoint, "evidence_url"),
                                        help_text="Where the evidence lives.")
    evidence_notes = serializers.CharField(
        required=False, allow_blank=True, default="",
        max_length=text_limit(Checkpoint, "evidence_notes"),
        help_text="What you checked and what you found. A link or notes is required.")


class CheckpointWaiveSerializer(InputSerializer):
    justification = serializers.CharField(
        max_length=text_limit(Checkpoint, "waiver_justification"), allow_blank=True,
        help_text="Why the gate may open without approval, and the compensating control.")
    expires_on = serializers.DateField(
        help_text=f"After today, at most {services.MAX_WAIVER_DAYS} days ahead; the gate "
                  "blocks again after it.")


class CheckpointReReviewSerializer(InputSerializer):
    changed = serializers.CharField(
        max_length=CHANGED_MAX_LENGTH,
        error_messages={"blank": services.RE_REVIEW_NEEDS_CHANGE,
                        "required": services.RE_REVIEW_NEEDS_CHANGE},
        help_text="What changed since the rejection: the reviewers read it with the "
                  "rejection's reason.")


# --- On an initiative's detail (``portfolio.hooks.API_DETAIL_FIELDS``) -----------------------

class InitiativeCheckpointSerializer(serializers.Serializer):
    """One applicable checkpoint of the initiative, as its Governance panel shows it."""

    id = serializers.IntegerField(source="checkpoint.id", read_only=True)
    type = CheckpointTypeRefSerializer(source="checkpoint.type", read_only=True)
    status = serializers.ChoiceField(
        choices=[*CheckpointStatus.choices, (selectors.WAIVER_EXPIRED, "Waiver expired")],
        read_only=True)
    label = serializers.CharField(read_only=True)
    cleared = serializers.BooleanField(
        read_only=True, help_text="Approved, or waived with the waiver still running.")
    overdue = serializers.BooleanField(read_only=True)
    gating_now = serializers.BooleanField(
        read_only=True, help_text="It gates the current stage or an earlier one.")
    due_date = serializers.DateField(source="checkpoint.due_date", read_only=True)
    reviewer = PersonSerializer(source="checkpoint.reviewer", read_only=True, allow_null=True)
    decided_at = serializers.DateTimeField(source="checkpoint.decided_at", read_only=True,
                                           allow_null=True)
    waiver_expires_on = serializers.DateField(source="checkpoint.waiver_expires_on",
                                              read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()

    def get_url(self, row) -> str:
        return item_url("governance-api:checkpoint-list", row.checkpoint.pk)


class InitiativeGovernanceSerializer(serializers.Serializer):
    cleared = serializers.IntegerField(read_only=True)
    total = serializers.IntegerField(read_only=True, help_text="Applicable checkpoints.")
    next_stage = serializers.ChoiceField(choices=Stage.choices, read_only=True,
                                         allow_null=True)
    next_stage_blockers = serializers.ListField(
        child=serializers.CharField(), read_only=True,
        help_text="What the gate names as blocking the next forward move; empty when none.")
    out_of_compliance = serializers.SerializerMethodField(
        help_text="It sits in a stage whose checkpoint is not cleared.")
    checkpoints = InitiativeCheckpointSerializer(source="rows", many=True, read_only=True)

    def get_out_of_compliance(self, progress) -> bool:
        return bool(progress.out_of_compliance)


@extend_schema_field(InitiativeGovernanceSerializer)
class InitiativeGovernanceField(serializers.Field):
    """An initiative's governance progress and its checkpoints (two queries)."""

    def __init__(self):
        super().__init__(source="*", read_only=True)

    def to_representation(self, initiative):
        progress = selectors.governance_progress(initiative, today=timezone.localdate())
        return InitiativeGovernanceSerializer(progress).data


# --- Reviewer capacity ---------------------------------------------------------------------------

class ReviewCapacitySerializer(serializers.Serializer):
    """One checkpoint type's review queue, how fast reviewers get through it and how long a
    review requested today waits (``governance.selectors.review_capacity``). Served by
    scoring (``scoring.api.ReviewCapacityView``), which reads it once per standings
    snapshot, as the dashboard does."""

    type = CheckpointTypeRefSerializer(read_only=True)
    backlog = serializers.IntegerField(
        read_only=True, help_text="Reviews of this type in the review queue: requested, not "
                                  "approved and no live waiver.")
    overdue = serializers.IntegerField(read_only=True,
                                       help_text="Of those, how many are past their due date.")
    reviews_per_week = serializers.FloatField(
        source="throughput.per_week_rounded", read_only=True,
        help_text="How many reviews of this type reviewers decide in a week (one decimal).")
    pace_source = serializers.ChoiceField(
        source="throughput.source", choices=list(selectors.PACE_SOURCES.items()),
        read_only=True, help_text="Where the pace comes from: set by admins, measured over "
                                  "the last weeks' decisions, or from the expected review time.")
    pace_source_label = serializers.CharField(source="throughput.source_label", read_only=True)
    wait_days = serializers.IntegerField(
        read_only=True, help_text="Days a review requested today waits: (backlog + 1) ÷ reviews "
                                  "per week, rounded up.")


# --- Endpoints --------------------------------------------------------------------------------

FILTERS = filter_parameters(
    QueueFilterForm,
    status="The queue's tab: " + ", ".join(f"{key} ({label})" for key, label in QUEUE_TABS.items())
    + ". Default: all of them.",
    type="A checkpoint type's code.", team="A team's slug.")


@extend_schema_view(
    list=extend_schema(
        summary="The review queue: checkpoints to clear now, overdue first",
        parameters=FILTERS,
        responses={200: CheckpointSerializer(many=True), 400: ERROR, 401: ERROR, 404: ERROR}),
    retrieve=extend_schema(summary="One checkpoint, with its ETag",
                           responses={200: CheckpointSerializer, **READ_ERRORS}),
)
class CheckpointViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    pagination_class = KeysetPagination
    lookup_value_regex = r"[0-9]+"  # anything else is a 404, never a bad query
    serializer_class = CheckpointSerializer
    http_method_names = ["get", "post", "head", "options"]
    queryset = Checkpoint.objects.none()  # for the schema; reads go through the selectors

    def _checkpoint(self, *, need: str = "read") -> Checkpoint:
        return checkpoint_for(self.request.user, self.kwargs["pk"], need=need)[0]

    def _decider(self, need: str) -> tuple[Checkpoint, int]:
        """The checkpoint, if this user may ``need`` it (review, decide, waive), and the
        version they read."""
        checkpoint = self._checkpoint(need=need)
        return checkpoint, self._version(checkpoint)

    def _version(self, checkpoint: Checkpoint) -> int:
        """The version the caller read (``If-Match``): 428 without it, 412 when stale."""
        try:
            return expected_version(self.request, checkpoint)
        except PreconditionFailed:
            raise PreconditionFailed(STALE) from None

    def _detail(self, checkpoint: Checkpoint) -> Response:
        checkpoint = selectors.checkpoint_get_for_user(user=self.request.user, pk=checkpoint.pk)
        return Response(CheckpointSerializer(checkpoint).data, status=status.HTTP_200_OK,
                        headers={"ETag": etag_for(checkpoint)})

    def list(self, request, *args, **kwargs):
        require_reader(request.user)
        today = timezone.localdate()
        filters = valid_query(QueueFilterForm(request.query_params))
        queue = selectors.review_queue(today=today, filters=filters)
        tab = filters.get("status") or ""
        # The pagination's count: the whole queue's tab count is stored (one small query,
        # however large the portfolio); a queue narrowed by type or team is counted.
        count = None
        if not any(filters.get(name) for name in selectors.QUEUE_NARROWING):
            count = selectors.review_queue_counts(queue, today=today, filters=filters)[
                tab or "all"]
        # The queue page's rows and order, as plain rows of every column the API shows.
        rows = selectors.review_queue_rows(queue, today=today, tab=tab)
        page = self.paginator.paginate_queryset(rows, request, view=self, count=count,
                                                values=CHECKPOINT_ROW_COLUMNS)
        return self.get_paginated_response(checkpoint_list_rows(page))

    def retrieve(self, request, *args, **kwargs):
        return unless_unchanged(request, self._detail(self._checkpoint()))

    @extend_schema(summary="Start reviewing (independent reviewers), with If-Match",
                   parameters=[IF_MATCH], request=None,
                   responses={200: CheckpointSerializer, **LOCKED_WRITE_ERRORS})
    @action(detail=True, methods=["post"], url_path="start-review")
    def start_review(self, request, pk=None, format=None):
        checkpoint, version = self._decider("review")
        InputSerializer(data=request.data).is_valid(raise_exception=True)  # no fields at all
        updated = services.checkpoint_start_review(checkpoint=checkpoint, actor=request.user,
                                                   expected_version=version, now=timezone.now())
        return self._detail(updated)

    @extend_schema(summary="Approve or reject with evidence (independent reviewers), "
                           "with If-Match",
                   parameters=[IF_MATCH], request=CheckpointDecideSerializer,
                   responses={200: CheckpointSerializer, **LOCKED_WRITE_ERRORS})
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None, format=None):
        checkpoint, version = self._decider("decide")
        serializer = CheckpointDecideSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        updated = services.checkpoint_decide(
            checkpoint=checkpoint, actor=request.user,
            approve=data["status"] == CheckpointStatus.APPROVED, expected_version=version,
            evidence_url=data["evidence_url"], evidence_notes=data["evidence_notes"],
            now=timezone.now())
        return self._detail(updated)

    @extend_schema(summary="Waive until a date, with a justification (independent "
                           "reviewers), with If-Match",
                   parameters=[IF_MATCH], request=CheckpointWaiveSerializer,
                   responses={200: CheckpointSerializer, **LOCKED_WRITE_ERRORS})
    @action(detail=True, methods=["post"])
    def waive(self, request, pk=None, format=None):
        checkpoint, version = self._decider("waive")
        serializer = CheckpointWaiveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        updated = services.checkpoint_waive(checkpoint=checkpoint, actor=request.user,
                                            expected_version=version, now=timezone.now(),
                                            **serializer.validated_data)
        return self._detail(updated)

    @extend_schema(summary="Ask for another review after a rejection, saying what changed "
                           "(the initiative's owner or a Responsible PM), with If-Match",
                   description="The checkpoint goes back to not started in the next review "
                               "round, due from now; its reviewers and whoever rejected it "
                               "are told. 409 unless it is rejected.",
                   parameters=[IF_MATCH], request=CheckpointReReviewSerializer,
                   responses={200: CheckpointSerializer, **LOCKED_WRITE_ERRORS})
    @action(detail=True, methods=["post"], url_path="re-review")
    def re_review(self, request, pk=None, format=None):
        checkpoint = self._checkpoint()
        require_re_review(request.user, checkpoint)
        version = self._version(checkpoint)
        serializer = CheckpointReReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        updated = services.checkpoint_request_re_review(
            checkpoint=checkpoint, actor=request.user, changed=serializer.validated_data[
                "changed"], expected_version=version, now=timezone.now())
        return self._detail(updated)
