"""factory_boy factories for the portfolio domain."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from portfolio.models import Initiative, StallFlag, Team
from portfolio.roles import ADMIN_DECIDES_STALLS, ADMIN_READS, ADMIN_RUNS_DIGESTS, ADMIN_STEWARDS

FIXED_NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for name in extracted or []:
            # get_or_create: a transactional test's flush removes the migrated groups.
            self.groups.add(Group.objects.get_or_create(name=name)[0])

    @factory.post_generation
    def permissions(self, create, extracted, **kwargs):
        """Django admin permissions, as ``"app_label.codename"``."""
        for dotted in extracted or []:
            app_label, codename = dotted.split(".")
            self.user_permissions.add(Permission.objects.get(
                content_type__app_label=app_label, codename=codename))


# What the portfolio's pages and API let an admin (a staff account) do, permission by
# permission (capacity plans included); a staff account without them is no admin there.
ADMIN_PERMISSIONS = [ADMIN_READS, ADMIN_STEWARDS, ADMIN_DECIDES_STALLS, ADMIN_RUNS_DIGESTS,
                     "scoring.add_capacityplan", "scoring.change_capacityplan",
                     "scoring.view_capacityplan"]


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class InitiativeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Initiative

    title = factory.Sequence(lambda n: f"Initiative {n}")
    summary = "Reduce handling time with an assistant."
    team = factory.SubFactory(TeamFactory)
    owner = factory.SubFactory(UserFactory, roles=["pm"])
    created_at = FIXED_NOW
    updated_at = FIXED_NOW
    stage_changed_at = FIXED_NOW
    last_activity_at = FIXED_NOW

    class Params:
        # The exit contract a pilot needs (the gate asks for it).
        contracted = factory.Trait(
            success_metric="Tickets resolved without an agent", metric_unit="%",
            metric_direction="higher", baseline_value=Decimal(18), target_value=Decimal(35),
            window_start=date(2026, 9, 1), window_end=date(2027, 3, 31),
            decision_date=date(2027, 3, 31),
            production_owner=factory.SelfAttribute("owner"),
            predicted_annual_value=Decimal(240000), predicted_annual_run_cost=Decimal(40000),
        )


class StallFlagFactory(factory.django.DjangoModelFactory):
    """An open stall flag on a pilot (undecided, not escalated)."""

    class Meta:
        model = StallFlag

    initiative = factory.SubFactory(InitiativeFactory, stage="pilot", contracted=True)
    reason = "too_long"
    flagged_at = FIXED_NOW
    detection_run = "test"


def measure(initiative, value=Decimal(36), *, on: date | None = None, by=None):
    """A measurement of ``initiative``'s metric inside its window (by default one that meets
    the ``contracted`` target of 35%)."""
    from portfolio.models import Measurement

    return Measurement.objects.create(
        initiative=initiative, value=Decimal(value), measured_on=on or FIXED_NOW.date(),
        source_note="Set up by a test.", recorded_by=by or initiative.owner,
        recorded_at=FIXED_NOW)


def ready_for_production(initiative, *, reviewer=None, value=Decimal(36)):
    """Test set-up for a pilot the gate lets into production: a measurement that meets the
    target, and a pilot older than any tier's minimum (its checkpoints approved when a
    ``reviewer`` is given)."""
    type(initiative).objects.filter(pk=initiative.pk).update(
        stage_changed_at=FIXED_NOW - timedelta(days=61))
    initiative.refresh_from_db()
    measure(initiative, value)
    if reviewer is not None:
        approve_all_checkpoints(initiative, reviewer=reviewer)
    return initiative


def approve_all_checkpoints(initiative, *, reviewer, at=FIXED_NOW) -> int:
    """Test set-up: every checkpoint of ``initiative`` approved, so only the rule under test
    can block a move."""
    from governance.models import Checkpoint

    return Checkpoint.objects.filter(initiative=initiative).update(
        status="approved", reviewer=reviewer, decided_at=at, evidence_notes="Set up by a test.")


def in_production(*, entered: datetime, stage: str = "production", **fields):
    """Test set-up: a ``contracted`` initiative (EUR 240,000 value and 40,000 run cost a year
    predicted) that entered production at ``entered``, with that move in its history, as
    the value review job reads it (``fields`` go to the factory)."""
    from portfolio.models import StageTransition

    initiative = InitiativeFactory(stage=stage, contracted=True, stage_changed_at=entered,
                                   **fields)
    StageTransition.objects.create(initiative=initiative, from_stage="pilot",
                                   to_stage="production", actor=initiative.owner, at=entered)
    return initiative
