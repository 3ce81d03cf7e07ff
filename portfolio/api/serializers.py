"""Explicit input and output shapes of the API; writes go through ``portfolio.services``."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from portfolio.forms import INITIATIVE_FIELDS
from portfolio.models import (
    IMPACT_CHOICES,
    Health,
    Initiative,
    RetirementReason,
    Stage,
    StageTransition,
    Stakeholder,
    Team,
    Update,
)


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
        return f"/api/v1/initiatives/{initiative.pk}/"


class StakeholderSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Stakeholder.Role.choices, read_only=True)
    person = PersonSerializer(source="user", read_only=True)


class TransitionSerializer(serializers.Serializer):
    from_stage = serializers.ChoiceField(choices=Stage.choices, read_only=True)
    to_stage = serializers.ChoiceField(choices=Stage.choices, read_only=True)
    at = serializers.DateTimeField(read_only=True)
    note = serializers.CharField(read_only=True)
    actor = PersonSerializer(read_only=True, allow_null=True)


class UpdateSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    body = serializers.CharField(max_length=5000)
    health = serializers.ChoiceField(choices=Health.choices)
    created_at = serializers.DateTimeField(read_only=True)
    author = PersonSerializer(read_only=True)


# Every editable field of an initiative, as the browser's form has them.
_DETAIL_FIELDS = ["id", *INITIATIVE_FIELDS, "stage", "stage_changed_at", "last_activity_at",
                  "retirement_reason", "retirement_lessons", "version", "created_at",
                  "updated_at"]


IMPACT_VALUES = [value for value, _ in IMPACT_CHOICES]
IMPACT_HELP = "RICE impact: one of " + ", ".join(f"{value:g}" for value in IMPACT_VALUES) + "."


class InitiativeDetailSerializer(serializers.ModelSerializer):
    # A number, not an enum of floats: client generators handle numbers, not float enums.
    impact = serializers.FloatField(read_only=True, allow_null=True, help_text=IMPACT_HELP)
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


class _ActiveUsername(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="username",
                         queryset=get_user_model().objects.filter(is_active=True), **kwargs)


class InitiativeWriteSerializer(serializers.ModelSerializer):
    """Create (title and team required) or change (any subset) an initiative's fields.

    People are usernames of active users; the team is its slug. The stage moves only
    through ``POST .../move/``.
    """

    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())
    owner = _ActiveUsername(required=False,
                            help_text="The one accountable person; default: you.")
    sponsor = _ActiveUsername(required=False, allow_null=True)
    production_owner = _ActiveUsername(required=False, allow_null=True)
    impact = serializers.FloatField(required=False, allow_null=True, help_text=IMPACT_HELP)

    class Meta:
        model = Initiative
        fields = INITIATIVE_FIELDS

    def validate_impact(self, value):
        if value is not None and value not in IMPACT_VALUES:
            raise serializers.ValidationError(IMPACT_HELP)
        return value


class MoveSerializer(serializers.Serializer):
    to_stage = serializers.ChoiceField(choices=Stage.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    retirement_reason = serializers.ChoiceField(choices=RetirementReason.choices,
                                                required=False, allow_blank=True, default="")
    retirement_lessons = serializers.CharField(required=False, allow_blank=True,
                                               max_length=5000, default="")


class TransitionCreatedSerializer(TransitionSerializer):
    """The move just made, and the initiative's new version for the next If-Match."""

    version = serializers.IntegerField(source="initiative.version", read_only=True)


__all__ = ["InitiativeDetailSerializer", "InitiativeListSerializer", "InitiativeWriteSerializer",
           "MoveSerializer", "StageTransition", "TeamSerializer", "TransitionCreatedSerializer",
           "Update", "UpdateSerializer"]
