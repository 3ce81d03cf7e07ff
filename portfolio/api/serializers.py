"""Explicit input and output shapes of the API; writes go through ``portfolio.services``."""

from __future__ import annotations

import copy
import re
from functools import cache

from django.conf import settings
from django.contrib.auth import get_user_model
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portfolio import hooks
from portfolio.api.common import (
    InputSerializer,
    RefuseUnknownFields,
    collection_path,
    item_url,
)
from portfolio.forms import EFFORT_PATTERN, INITIATIVE_FIELDS, InitiativeForm
from portfolio.models import (
    IMPACT_CHOICES,
    NOT_SURE,
    NOT_SURE_LABEL,
    AutonomyLevel,
    Health,
    Initiative,
    MetricDirection,
    RetirementReason,
    RiskTier,
    Stage,
    StageTransition,
    Stakeholder,
    Team,
    Update,
    text_limit,
)
from portfolio.outcomes import contract
from portfolio.outcomes.selectors import contract_evidence

IMPACT_VALUES = [value for value, _ in IMPACT_CHOICES]
IMPACT_TEXTS = [f"{value:g}" for value in IMPACT_VALUES]
IMPACT_HELP = ("RICE impact, as text: one of "
               + ", ".join(f'"{text}"' for text in IMPACT_TEXTS) + ".")


class DecimalTextFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "portfolio.api.serializers.DecimalTextField"

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "pattern": self.target.pattern.pattern}


class ImpactField(serializers.ChoiceField):
    """RICE impact as text, one of ``IMPACT_TEXTS`` ("0.25" … "3"), read and written alike:
    a string enum, which every client generator handles (a number enum is not)."""

    def __init__(self, **kwargs):
        super().__init__(choices=[(text, text) for text in IMPACT_TEXTS], **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or data not in IMPACT_TEXTS:
            raise serializers.ValidationError(IMPACT_HELP)
        return float(data)

    def to_representation(self, value):
        return None if value is None else f"{value:g}"


class DecimalTextField(serializers.DecimalField):
    """A decimal written as text ("12.5"), as responses show it, matching ``pattern``:
    the one regex both validates the input and is the schema's (with its bounds)."""

    def __init__(self, *, pattern: str, **kwargs):
        super().__init__(**kwargs)
        if self.help_text:
            self.error_messages = {**self.error_messages, "invalid": self.help_text}
        self.pattern = re.compile(pattern)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not self.pattern.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class PersonSerializer(serializers.Serializer):
    username = serializers.CharField(read_only=True)
    name = serializers.SerializerMethodField()
    is_active = serializers.BooleanField(read_only=True)

    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "slug", "name", "description"]
        read_only_fields = fields


class TeamRefSerializer(serializers.Serializer):
    slug = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


class InitiativeRefSerializer(serializers.Serializer):
    """An initiative named inside another resource: enough to show it and follow it."""

    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)
    stage = serializers.ChoiceField(choices=Stage.choices, read_only=True)
    team = TeamRefSerializer(read_only=True)
    owner = PersonSerializer(read_only=True)
    url = serializers.SerializerMethodField()

    def get_url(self, initiative) -> str:
        return item_url("api:initiative-list", initiative.pk)


class InitiativeListSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)
    stage = serializers.ChoiceField(choices=Stage.choices, read_only=True)
    health = serializers.ChoiceField(choices=Health.choices, read_only=True)
    team = TeamRefSerializer(read_only=True)
    owner = PersonSerializer(read_only=True)
    last_activity_at = serializers.DateTimeField(read_only=True)
    url = serializers.SerializerMethodField()

    def get_url(self, initiative) -> str:
        return item_url("api:initiative-list", initiative.pk)


# The columns ``initiative_list_rows`` reads (``.values()``): what a list row shows.
INITIATIVE_ROW_COLUMNS = ("id", "title", "stage", "health", "last_activity_at", "team__slug",
                          "team__name", "owner__username", "owner__first_name",
                          "owner__last_name", "owner__is_active")


def person_row(username, first_name: str, last_name: str, is_active: bool) -> dict | None:
    """``PersonSerializer``'s shape from a user's columns (None: no one)."""
    if username is None:
        return None
    # ``User.get_full_name``, from the columns.
    name = f"{first_name} {last_name}".strip()
    return {"username": username, "name": name or username, "is_active": is_active}


@cache
def _list_fields():
    """``InitiativeListSerializer``'s fields, built once per process."""
    return InitiativeListSerializer().fields


def initiative_list_rows(rows) -> list[dict]:
    """``InitiativeListSerializer``'s JSON, field for field, from plain rows
    (``.values(*INITIATIVE_ROW_COLUMNS)``) instead of model instances: the API list's hot
    path (issue 22). tests/portfolio/test_api_initiatives.py compares the two."""
    # The serializer's own field, told the request's time zone once rather than per row.
    when = copy.copy(_list_fields()["last_activity_at"])
    if not hasattr(when, "timezone"):
        when.timezone = when.default_timezone()
    path = collection_path("api:initiative-list")
    return [{
        "id": row["id"], "title": row["title"], "stage": row["stage"], "health": row["health"],
        "team": (None if row["team__slug"] is None
                 else {"slug": row["team__slug"], "name": row["team__name"]}),
        "owner": person_row(row["owner__username"], row["owner__first_name"],
                            row["owner__last_name"], row["owner__is_active"]),
        "last_activity_at": when.to_representation(row["last_activity_at"]),
        "url": f"{path}{row['id']}/",
    } for row in rows]


class StakeholderSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Stakeholder.Role.choices, read_only=True)
    person = PersonSerializer(source="user", read_only=True)


class TransitionSerializer(serializers.Serializer):
    from_stage = serializers.ChoiceField(choices=Stage.choices, read_only=True)
    to_stage = serializers.ChoiceField(choices=Stage.choices, read_only=True)
    at = serializers.DateTimeField(read_only=True)
    note = serializers.CharField(read_only=True)
    actor = PersonSerializer(read_only=True, allow_null=True)


class UpdateSerializer(InputSerializer):
    id = serializers.IntegerField(read_only=True)
    body = serializers.CharField(max_length=text_limit(Update, "body"))
    health = serializers.ChoiceField(choices=Health.choices)
    created_at = serializers.DateTimeField(read_only=True)
    author = PersonSerializer(read_only=True)


# Every editable field of an initiative, as the browser's form has them.
_DETAIL_FIELDS = ["id", *INITIATIVE_FIELDS, "contract_to_review", "contract_status",
                  "value_currency", "risk_tier_assumed", "autonomy_assumed",
                  "stage", "stage_changed_at", "last_activity_at",
                  "retirement_reason", "retirement_lessons", "version", "created_at",
                  "updated_at"]

# The exit contract's numbers as text, as responses show them (``DecimalTextField``):
# a metric with at most four decimals, money (never negative) with at most two.
METRIC_PATTERN = r"^-?[0-9]{1,12}(\.[0-9]{1,4})?$"
MONEY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
CONTRACT_STATUSES = [
    ("incomplete", "The exit contract is missing fields"),
    ("unmeasured", "No measurement inside the window yet"),
    ("met", "The latest measurement inside the window meets the target"),
    ("missed", "The latest measurement inside the window misses the target"),
]


def metric_field(help_text: str, **kwargs) -> DecimalTextField:
    return DecimalTextField(pattern=METRIC_PATTERN, max_digits=16, decimal_places=4,
                            help_text=f"{help_text} As text, at most four decimals, e.g. "
                                      '"12.5".', **kwargs)


def money_field(help_text: str, **kwargs) -> DecimalTextField:
    return DecimalTextField(pattern=MONEY_PATTERN, max_digits=14, decimal_places=2,
                            help_text=f"{help_text} In {settings.VALUE_CURRENCY} a year, as "
                                      'text: zero or more, at most two decimals, e.g. '
                                      '"120000".', **kwargs)


class InitiativeDetailSerializer(serializers.ModelSerializer):
    contract_status = serializers.SerializerMethodField(
        help_text="Where the exit contract stands: incomplete, unmeasured, met or missed "
                  "(by the latest measurement inside the window).")
    value_currency = serializers.SerializerMethodField(
        help_text="The currency of predicted_annual_value and predicted_annual_run_cost.")
    metric_direction = serializers.ChoiceField(choices=MetricDirection.choices,
                                               allow_blank=True, read_only=True,
                                               help_text="Empty until agreed.")
    contract_to_review = serializers.CharField(
        read_only=True, help_text="What the old free-text exit contract said that could not "
                                  "be read as numbers; emptied once the contract is complete.")
    impact = ImpactField(read_only=True, allow_null=True, help_text=IMPACT_HELP)
    retirement_reason = serializers.ChoiceField(choices=RetirementReason.choices,
                                                allow_blank=True, read_only=True,
                                                help_text="Empty unless retired.")
    team = TeamRefSerializer(read_only=True)
    owner = PersonSerializer(read_only=True)
    sponsor = PersonSerializer(read_only=True, allow_null=True)
    production_owner = PersonSerializer(read_only=True, allow_null=True)
    stakeholders = StakeholderSerializer(many=True, read_only=True)
    stage_history = TransitionSerializer(source="transitions", many=True, read_only=True)

    class Meta:
        model = Initiative
        fields = [*_DETAIL_FIELDS, "stakeholders", "stage_history"]
        read_only_fields = fields

    def get_fields(self):
        fields = super().get_fields()
        # Fields other apps add (governance's checkpoints, scoring's score).
        fields.update(hooks.api_detail_fields())
        return fields

    @extend_schema_field(serializers.ChoiceField(choices=CONTRACT_STATUSES))
    def get_contract_status(self, initiative) -> str:
        return contract.status(initiative, contract_evidence(initiative))

    def get_value_currency(self, initiative) -> str:
        return settings.VALUE_CURRENCY


def _bounded_integer(name: str) -> serializers.IntegerField:
    """An optional whole number with the bounds the browser's form gives it."""
    field = InitiativeForm.base_fields[name]
    return serializers.IntegerField(required=False, allow_null=True, min_value=field.min_value,
                                    max_value=field.max_value)


def _storable(text: str) -> bool:
    return "\x00" not in text and not any(0xD800 <= ord(char) <= 0xDFFF for char in text)


class SlugReference(serializers.SlugRelatedField):
    """An object named by its slug (a team's, a username). Text no row can hold (a NUL, an
    unpaired surrogate) names nothing, like any unknown slug, and is never sent to the
    database, which could not compare it."""

    def to_internal_value(self, data):
        if isinstance(data, str) and not _storable(data):
            self.fail("does_not_exist", slug_name=self.slug_field, value=repr(data))
        return super().to_internal_value(data)


class _ActiveUsername(SlugReference):
    def __init__(self, **kwargs):
        super().__init__(slug_field="username",
                         queryset=get_user_model().objects.filter(is_active=True), **kwargs)


class InitiativeWriteSerializer(RefuseUnknownFields, serializers.ModelSerializer):
    """Create (title and team required) or change (any subset) an initiative's fields.

    People are usernames of active users; the team is its slug. The stage moves only
    through ``POST .../move/``.
    """

    team = SlugReference(slug_field="slug", queryset=Team.objects.all())
    owner = _ActiveUsername(required=False,
                            help_text="The one accountable person; default: you.")
    sponsor = _ActiveUsername(required=False, allow_null=True)
    production_owner = _ActiveUsername(required=False, allow_null=True)
    impact = ImpactField(required=False, allow_null=True, help_text=IMPACT_HELP)
    # The browser form's bounds (``InitiativeForm``), so both refuse the same values.
    effort_weeks = DecimalTextField(
        pattern=EFFORT_PATTERN, max_digits=7, decimal_places=1, required=False, allow_null=True,
        help_text="Engineer-weeks to build, 0.5 to 99999.9, as text with at most one decimal.")
    reach = _bounded_integer("reach")
    business_value = _bounded_integer("business_value")
    time_criticality = _bounded_integer("time_criticality")
    risk_reduction = _bounded_integer("risk_reduction")
    strategic_alignment = _bounded_integer("strategic_alignment")
    # The AI profile is never silently the lowest risk: left out of a create it is
    # "not_sure", the cautious assumption flagged for the risk classification review
    # (``risk_tier_assumed`` / ``autonomy_assumed`` in the detail).
    risk_tier = serializers.ChoiceField(
        choices=[*RiskTier.choices, (NOT_SURE, NOT_SURE_LABEL)], default=NOT_SURE,
        help_text='EU AI Act tier, or "not_sure" (stored as "high", flagged as assumed). '
                  'Default on create: "not_sure".')
    autonomy_level = serializers.ChoiceField(
        choices=[*AutonomyLevel.choices, (NOT_SURE, NOT_SURE_LABEL)], default=NOT_SURE,
        help_text='Autonomy level, or "not_sure" (stored as "autonomous", flagged as assumed). '
                  'Default on create: "not_sure".')
    # The exit contract and the business case: numbers as text, like effort_weeks.
    metric_direction = serializers.ChoiceField(
        choices=MetricDirection.choices, required=False, allow_blank=True,
        help_text="Which way the metric should move; empty until agreed.")
    baseline_value = metric_field("The metric before the pilot.", required=False,
                                  allow_null=True)
    target_value = metric_field(
        "What the pilot must reach: above the baseline when higher is better, below it when "
        "lower is.", required=False, allow_null=True)
    predicted_annual_value = money_field("Savings or revenue once in production.",
                                         required=False, allow_null=True)
    predicted_annual_run_cost = money_field("Tokens, licences and people once in production.",
                                            required=False, allow_null=True)

    # A contract that contradicts itself (a target on the wrong side of the baseline, a
    # window ending before it starts) is well-formed: the service refuses it with the
    # form's rule (``services.contract_check``), a 409 naming the field, as for a decision
    # date in the past (``planned_dates_check``); nothing changes.

    class Meta:
        model = Initiative
        fields = INITIATIVE_FIELDS


class MoveSerializer(InputSerializer):
    to_stage = serializers.ChoiceField(choices=Stage.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="",
                                 max_length=text_limit(StageTransition, "note"))
    retirement_reason = serializers.ChoiceField(choices=RetirementReason.choices,
                                                required=False, allow_blank=True, default="")
    retirement_lessons = serializers.CharField(
        required=False, allow_blank=True, default="",
        max_length=text_limit(Initiative, "retirement_lessons"))


# The over-commitment warnings (``hooks.capacity_warnings``) a create or a move returns.
CAPACITY_WARNINGS_HELP = (
    "What the team's capacity this quarter looks like after this write, in plain words with "
    "the numbers (e.g. the team is now committed beyond its capacity, or this initiative "
    "needs more than the capacity left uncommitted); empty when it fits. The write stands.")


class TransitionCreatedSerializer(TransitionSerializer):
    """The move just made, the initiative's new version for the next If-Match, and what its
    team's capacity looks like."""

    version = serializers.IntegerField(source="initiative.version", read_only=True)
    warnings = serializers.ListField(child=serializers.CharField(), read_only=True,
                                     help_text=CAPACITY_WARNINGS_HELP)


class InitiativeCreatedSerializer(InitiativeDetailSerializer):
    """The initiative just logged, and what its team's capacity looks like."""

    warnings = serializers.ListField(child=serializers.CharField(), read_only=True,
                                     help_text=CAPACITY_WARNINGS_HELP)

    class Meta(InitiativeDetailSerializer.Meta):
        fields = [*InitiativeDetailSerializer.Meta.fields, "warnings"]
        read_only_fields = fields


__all__ = ["InitiativeCreatedSerializer", "InitiativeDetailSerializer",
           "InitiativeListSerializer", "InitiativeWriteSerializer",
           "MoveSerializer", "StageTransition", "TeamSerializer", "TransitionCreatedSerializer",
           "Update", "UpdateSerializer"]
