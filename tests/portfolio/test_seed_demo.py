"""`manage.py seed_demo`: a demo portfolio for every role, with a year of consistent history.

The demo is loaded once for ``TestDemoPortfolio`` inside a transaction that is rolled
back afterwards; each test runs in a savepoint within it.
"""

import io
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance.inbox import rejections_to_address, reviews_waiting
from governance.models import Checkpoint, ReviewRoute
from governance.services import decide_refusal, gate_blockers
from portfolio import hooks
from portfolio.management.demo_data import DEMO_PM_PILOT, demo_logins
from portfolio.models import (
    Activity,
    Category,
    ChatChannel,
    ContractOverride,
    Dependency,
    DigestDelivery,
    DigestRun,
    DigestSubscription,
    Initiative,
    Measurement,
    Notification,
    Stage,
    StageTransition,
    Stakeholder,
    StallFlag,
    Team,
    Update,
    ValueReview,
)
from portfolio.notifications.services import allowed_webhook_hosts
from portfolio.outcomes import contract
from portfolio.outcomes.selectors import (
    is_overdue,
    ledger_totals,
    reviews_overdue,
    value_flag_counts,
    value_ledger,
)
from portfolio.outcomes.services import overridable
from portfolio.pilots.digest.content import period_of
from portfolio.selectors import ownership_gaps, ownership_problem_counts
from tests.factories import InitiativeFactory, UserFactory

DEMO_PASSWORD = "demo-portfolio-2026"  # printed by bin/run-local; keep them in step
DEMO_LOGINS = [("pm", "pm"), ("pm2", "pm"), ("reviewer", "reviewer"), ("tpm", "tpm"),
               ("leader", "leadership")]
User = get_user_model()


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    """Rows of every portfolio model (history tables included), users and role memberships."""
    models = [*apps.get_app_config("portfolio").get_models(), User, Group,
              User.groups.through]
    return {model._meta.label: model.objects.count() for model in models}


def signs_in(username: str, password: str) -> bool:
    client = Client()
    client.post(reverse("login"), {"username": username, "password": password})
    return "_auth_user_id" in client.session


README = Path(__file__).resolve().parents[2] / "README.md"


def printed_logins(output: str) -> list[list[str]]:
    """The "Demo logins" block seed_demo prints last (and bin/run-local repeats)."""
    block = output[output.index("Demo logins (password:"):].splitlines()[1:]
    rows = [line.split(" -> ") for line in block if line.strip()]
    return [[*re.split(r"\s{2,}", who.strip()), lands_on.strip()] for who, lands_on in rows]


def readme_logins() -> list[list[str]]:
    """The README's demo-login table: username, role, lands on."""
    text = README.read_text()
    table = text[text.index("| username "):].split("\n\n")[0].splitlines()[2:]
    return [[cell.strip().strip("`") for cell in row.strip("|").split("|")] for row in table]


def landing_page_of(username: str) -> str:
    client = Client()
    client.force_login(User.objects.get(username=username))
    landing = client.get("/")["Location"]
    response = client.get(landing, follow=True)
    return response.content.decode()


@pytest.fixture(scope="class")
def demo_output(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        output = seed()
        yield output
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.usefixtures("demo_output")
class TestDemoPortfolio:
    def test_covers_every_category_and_stage_across_teams(self):
        assert Team.objects.count() >= 6
        assert Initiative.objects.count() >= 60
        assert set(Initiative.objects.values_list("category", flat=True)) == set(Category.values)
        assert set(Initiative.objects.values_list("stage", flat=True)) == set(Stage.values)

    @pytest.mark.parametrize(("username", "group"), DEMO_LOGINS)
    def test_each_role_has_a_demo_login(self, username, group):
        user = User.objects.get(username=username)

        assert list(user.groups.values_list("name", flat=True)) == [group]
        assert signs_in(username, DEMO_PASSWORD)

    def test_admin_is_staff_without_a_role(self):
        admin = User.objects.get(username="admin")

        assert admin.is_staff
        assert admin.is_superuser
        assert not admin.groups.exists()
        assert signs_in("admin", DEMO_PASSWORD)

    def test_a_deactivated_owner_still_owns_initiatives(self):
        gaps = Initiative.objects.filter(owner__is_active=False)

        assert gaps.values("owner").distinct().count() >= 1
        assert gaps.count() >= 2
        assert not signs_in(gaps.first().owner.username, DEMO_PASSWORD)

    def test_some_pilots_are_stalled_and_others_fresh(self):
        now = timezone.now()
        pilots = Initiative.objects.in_stage(Stage.PILOT)
        long_in_pilot = pilots.filter(stage_changed_at__lt=now - timedelta(days=90))
        idle = pilots.filter(last_activity_at__lt=now - timedelta(days=21))
        fresh = pilots.filter(stage_changed_at__gt=now - timedelta(days=90),
                              last_activity_at__gt=now - timedelta(days=21))

        assert long_in_pilot.exists()
        assert idle.exists()
        assert fresh.exists()

    def test_tpms_follow_their_teams_and_stalls_are_decided_and_undecided(self):
        followed = {sub.user.username: {team.slug for team in sub.teams.all()}
                    for sub in DigestSubscription.objects.select_related("user")}
        flags = StallFlag.objects.all()

        assert set(followed) == {"tpm", "noah.kim"}
        assert followed["tpm"].isdisjoint(followed["noah.kim"])
        assert flags.filter(decision="extend", resolution="extended").exists()
        assert flags.open().filter(decision="scale").exists()
        undecided = flags.open().filter(decision="")
        assert undecided.filter(escalated_at__isnull=False).exists()
        assert undecided.filter(escalated_at__isnull=True).exists()

    def test_last_weeks_digests_were_sent_and_this_weeks_are_still_to_go(self):
        this_week = period_of(timezone.now())
        sent = DigestDelivery.objects.filter(status="sent")

        assert set(sent.values_list("period", flat=True)) == {this_week - timedelta(weeks=1)}
        assert {"tpm", "noah.kim"} <= set(sent.values_list("recipient__username", flat=True))
        assert not DigestRun.objects.filter(period=this_week).exists()

    def test_says_it_sent_last_weeks_digests_while_mail_stays_on_this_machine(self,
                                                                             demo_output):
        sent = DigestDelivery.objects.filter(status="sent").count()

        assert f"Last week's digests: {sent} sent (mail stays on this machine)." in demo_output

    def test_the_ownership_page_has_each_kind_of_problem_to_show(self):
        gaps = ownership_gaps(now=timezone.now())
        by_title = {initiative.title: initiative for initiative in gaps}

        counts = {problem: count for problem, _, count in ownership_problem_counts(gaps)}
        assert all(counts.values()), counts
        assert by_title["CV screening assistant"].owner_left
        # Silent: its owner has done nothing anywhere since pausing it; busier owners with
        # idle initiatives (the refund agent's) are not.
        assert by_title["Vendor master data deduplication"].owner_silent
        assert "Refund approval agent" not in by_title
        assert by_title["Call summarisation and wrap-up notes"].nobody_responsible

    def test_stage_history_leads_to_each_current_stage(self):
        transitions = {}
        for transition in StageTransition.objects.order_by("at", "id"):
            transitions.setdefault(transition.initiative_id, []).append(transition)

        for initiative in Initiative.objects.all():
            history = transitions.get(initiative.pk, [])
            if initiative.stage == Stage.IDEA:
                assert history == [], initiative.title
                continue
            assert history, initiative.title
            assert history[0].from_stage == Stage.IDEA
            assert [t.from_stage for t in history[1:]] == [t.to_stage for t in history[:-1]]
            assert history[-1].to_stage == initiative.stage, initiative.title
            assert history[-1].at == initiative.stage_changed_at
            assert initiative.created_at < history[0].at

    def test_nothing_happens_in_the_future_or_more_than_a_year_ago(self):
        now = timezone.now()
        stamps = [
            *Initiative.objects.values_list("created_at", "updated_at", "stage_changed_at",
                                            "last_activity_at"),
            *StageTransition.objects.values_list("at"),
            *Update.objects.values_list("created_at"),
            *Activity.objects.values_list("at"),
            *Measurement.objects.values_list("recorded_at"),
            *ContractOverride.objects.values_list("decided_at"),
            *ValueReview.objects.values_list("scheduled_at"),
            *ValueReview.objects.recorded().values_list("recorded_at"),
        ]
        moments = [moment for row in stamps for moment in row]

        assert max(moments) <= now
        assert min(moments) >= now - timedelta(days=366)
        for initiative in Initiative.objects.all():
            assert initiative.created_at <= initiative.stage_changed_at
            assert initiative.stage_changed_at <= initiative.last_activity_at

    def test_pilots_and_beyond_have_a_complete_exit_contract_and_business_case(self):
        beyond_pilot = Initiative.objects.in_stage(Stage.PILOT, Stage.PRODUCTION, Stage.SCALED)

        assert beyond_pilot.count() >= 30
        for initiative in beyond_pilot:
            assert contract.missing_fields(initiative) == [], initiative.title
            assert contract.contract_errors({}, before=initiative) == {}, initiative.title
            # The window runs to the decision date (a stall's extension moves the latter).
            assert initiative.window_start <= initiative.window_end <= initiative.decision_date
            assert initiative.predicted_annual_value > initiative.predicted_annual_run_cost > 0

    def test_production_followed_a_measured_pilot_that_met_its_target_or_was_overridden(self):
        entered = {transition.initiative_id: transition.at for transition in
                   StageTransition.objects.filter(to_stage=Stage.PRODUCTION)}
        overridden = set(ContractOverride.objects.filter(kind="target_missed")
                         .values_list("initiative_id", flat=True))
        met, missed = [], []

        for initiative in Initiative.objects.in_stage(Stage.PRODUCTION, Stage.SCALED):
            before_the_move = list(initiative.measurements.filter(
                recorded_at__lt=entered[initiative.pk],
                measured_on__gte=initiative.window_start, measured_on__lte=initiative.window_end))
            assert before_the_move, initiative.title
            latest = max(before_the_move, key=lambda m: (m.measured_on, m.pk))
            if contract.meets(initiative.metric_direction, latest.value,
                              initiative.target_value):
                met.append(initiative.title)
            else:
                assert initiative.pk in overridden, initiative.title
                missed.append(initiative.title)
        assert len(met) >= 10
        assert len(missed) >= 2

    def test_pilots_ran_their_risk_tiers_minimum_before_production_or_were_overridden(self):
        for transition in StageTransition.objects.filter(
                from_stage=Stage.PILOT, to_stage=Stage.PRODUCTION).select_related("initiative"):
            initiative = transition.initiative
            entered_pilot = (StageTransition.objects.filter(
                initiative=initiative, to_stage=Stage.PILOT, at__lt=transition.at)
                .latest("at").at)
            days = (timezone.localdate(transition.at) - timezone.localdate(entered_pilot)).days
            assert (days >= contract.min_pilot_days(initiative.risk_tier)
                    or initiative.contract_overrides.filter(kind="pilot_too_short").exists()), \
                initiative.title

    def test_measurements_are_the_owners_with_a_source_inside_the_window(self):
        measurements = Measurement.objects.select_related("initiative")

        assert measurements.count() >= 60
        for measurement in measurements:
            initiative = measurement.initiative
            assert measurement.recorded_by_id == initiative.owner_id
            assert measurement.source
            assert initiative.window_start <= measurement.measured_on <= initiative.window_end
            assert measurement.measured_on <= timezone.localdate(measurement.recorded_at)

    def test_sponsors_overrode_missed_targets_with_a_reason_and_missed_pilots_were_killed(self):
        overrides = ContractOverride.objects.select_related("initiative")
        killed = Initiative.objects.in_stage(Stage.RETIRED).filter(
            retirement_reason="value_not_proven", measurements__isnull=False).distinct()

        assert overrides.count() >= 2
        for override in overrides:
            assert override.reason
            assert override.decided_by_id == override.initiative.sponsor_id
            assert "measured" in override.overridden
            assert "target" in override.overridden
        assert killed.exists()
        for initiative in killed:
            latest = initiative.measurements.first()  # newest first
            assert not contract.meets(initiative.metric_direction, latest.value,
                                      initiative.target_value)

    def test_value_reviews_are_recorded_due_and_overdue(self):
        today = timezone.localdate()
        reviews = ValueReview.objects.select_related("initiative")
        recorded = [review for review in reviews if review.is_recorded]
        pending = [review for review in reviews if not review.is_recorded]

        assert len(recorded) >= 15
        for review in recorded:
            assert review.recorded_by_id == review.initiative.owner_id
            assert review.due_on <= timezone.localdate(review.recorded_at)
            assert review.realised_value is not None
            assert review.run_cost is not None
        assert any(not is_overdue(review, today) for review in pending)  # due
        assert reviews_overdue(now=timezone.now()).count() >= 1
        first = min(settings.VALUE_REVIEW_DAYS)
        reviewed = set(reviews.values_list("initiative_id", flat=True))
        for row in value_ledger(Initiative.objects.in_stage(Stage.PRODUCTION, Stage.SCALED)):
            due = timezone.localdate(row.production_since) + timedelta(days=first) <= today
            assert (row.initiative_id in reviewed) == due, row.title

    def test_value_at_risk_is_decided_once_and_awaits_a_decision_once(self):
        at_risk = ValueReview.objects.filter(at_risk=True)

        assert at_risk.exclude(decision="").count() == 1
        assert value_flag_counts(now=timezone.now())["at_risk"] == 1
        for review in at_risk:
            assert (review.realised_value * 100
                    < review.initiative.predicted_annual_value * settings.VALUE_AT_RISK_PERCENT)

    def test_one_team_consistently_over_predicts_its_value(self):
        rows = [row for row in value_ledger() if row.realised_value is not None]
        by_team = {total.key: total.accuracy for total in ledger_totals(rows, lambda r: r.team)}
        worst = min(by_team, key=by_team.get)

        assert len(by_team) >= 6
        assert Decimal("0.4") <= by_team[worst] <= Decimal("0.6")
        assert all(accuracy >= Decimal("0.8") for team, accuracy in by_team.items()
                   if team != worst)
        for row in rows:  # across its initiatives, not one bad estimate
            if row.team == worst:
                assert Decimal("0.4") <= row.accuracy <= Decimal("0.6"), row.title

    def test_the_demo_pms_pilot_is_held_back_only_by_its_contracts_target(self):
        pilot = Initiative.objects.get(title=DEMO_PM_PILOT)
        now = timezone.now()

        blockers = gate_blockers(initiative=pilot, to_stage=Stage.PRODUCTION, now=now)

        assert (pilot.stage, pilot.owner.username) == (Stage.PILOT, "pm")
        assert pilot.sponsor.username in [username for username, _, _ in demo_logins()]
        assert pilot.success_metric == "Contacts resolved without an agent"
        assert blockers == ["the exit contract's target: 29% measured on "
                            f"{pilot.measurements.first().measured_on:%-d %b %Y}, target 35%, "
                            "baseline 18%"]
        assert [blocker.kind for blocker in overridable(initiative=pilot, now=now)] == [
            "target_missed"]
        assert pilot.window_end > timezone.localdate(now)  # what the PM records today counts
        assert pilot.measurements.count() >= 3
        assert not StallFlag.objects.filter(initiative=pilot).exists()

    def test_building_the_demo_notified_nobody(self):
        assert Activity.objects.filter(kind__in=list(hooks.notifying_kinds())).count() > 100
        assert Notification.objects.count() == 0

    def test_no_review_was_decided_by_someone_segregation_of_duties_keeps_out(self):
        stakes = set(Stakeholder.objects.filter(role__in=list(settings.SEGREGATED_ROLES))
                     .values_list("initiative_id", "user_id"))
        decided = (Checkpoint.objects.exclude(reviewer=None)
                   .values_list("initiative_id", "reviewer_id", "initiative__owner_id",
                                "initiative__sponsor_id"))
        assert len(decided) > 100
        for initiative_id, reviewer_id, owner_id, sponsor_id in decided:
            assert (initiative_id, reviewer_id) not in stakes
            assert reviewer_id not in (owner_id, sponsor_id)

    def test_reviews_are_routed_to_groups_and_some_wait_on_the_demo_reviewer(self):
        routes = {route.checkpoint_type.code: route.group.name
                  for route in ReviewRoute.objects.select_related("checkpoint_type", "group")}
        reviewer = User.objects.get(username="reviewer")
        now = timezone.now()

        assert routes == {"security-review": "Security & privacy reviewers",
                          "privacy-review": "Security & privacy reviewers",
                          "bias-fairness": "Model risk reviewers",
                          "evaluation-plan": "Model risk reviewers"}
        assert reviewer.reviewer_groups.filter(name="Security & privacy reviewers").exists()
        assert len(reviews_waiting(reviewer, now)) >= 2
        routed = (Checkpoint.objects.applicable().actionable().exclude(reviewer_group=None)
                  .filter(status__in=["not_started", "in_review"])
                  .select_related("initiative", "reviewer_group"))
        assert routed.exists()
        for checkpoint in routed:  # someone in the group may decide it
            assert any(decide_refusal(member, checkpoint) is None
                       for member in checkpoint.reviewer_group.members.all()), checkpoint

    def test_the_demo_pm_has_a_rejection_to_answer(self):
        pm = User.objects.get(username="pm")

        rejections = rejections_to_address(pm, timezone.now())

        assert len(rejections) == 1
        assert "Evaluation plan" in rejections[0].title

    def test_admins_see_a_switched_off_slack_channel_on_an_allowed_host(self):
        channel = ChatChannel.objects.get()

        assert (channel.kind, channel.active) == ("slack", False)
        assert channel.url.startswith("https://hooks.slack.com/services/")
        assert channel.url_hint != channel.url
        assert allowed_webhook_hosts() == {"hooks.slack.com"}

    def test_retired_initiatives_record_why_and_what_was_learnt(self):
        retired = Initiative.objects.in_stage(Stage.RETIRED)

        assert retired.exists()
        assert not retired.filter(retirement_reason="").exists()
        assert not retired.filter(retirement_lessons="").exists()

    def test_ai_profiles_include_high_risk_and_a_prohibited_one_kept_in_assessment(self):
        assert Initiative.objects.filter(risk_tier="high").exists()
        prohibited = Initiative.objects.filter(risk_tier="prohibited")
        assert prohibited.count() == 1
        assert prohibited.get().stage == Stage.ASSESSMENT

    def test_owners_sponsors_raci_and_dependencies_vary(self):
        assert Initiative.objects.values("owner").distinct().count() >= 8
        assert Initiative.objects.filter(sponsor__isnull=False).exists()
        assert Dependency.objects.exists()
        for initiative in Initiative.objects.all():
            assert initiative.stakeholders.filter(
                user=initiative.owner, role=Stakeholder.Role.ACCOUNTABLE).exists()
        assert Stakeholder.objects.filter(role=Stakeholder.Role.RESPONSIBLE).exists()

    def test_summary_names_the_demo_logins(self, demo_output):
        assert f"{Initiative.objects.count()} initiatives" in demo_output
        assert DEMO_PASSWORD in demo_output
        for username, _ in [*DEMO_LOGINS, ("admin", None)]:
            assert f"  {username} " in demo_output

    def test_the_printed_logins_the_readme_and_who_can_sign_in_are_one_list(self, demo_output):
        printed = printed_logins(demo_output)
        readme = readme_logins()
        opens = sorted(user.username for user in User.objects.filter(is_active=True)
                       if user.check_password(DEMO_PASSWORD))

        assert printed == readme == [list(login) for login in demo_logins()]
        assert sorted(username for username, _, _ in printed) == opens
        for username, _, lands_on in printed:
            assert signs_in(username, DEMO_PASSWORD)
            assert lands_on in landing_page_of(username)

    def test_loading_again_prints_the_same_logins(self, demo_output):
        assert printed_logins(seed()) == printed_logins(demo_output)

    def test_loading_twice_changes_nothing(self):
        before = row_counts()
        versions = list(Initiative.objects.values_list("pk", "version", "last_activity_at"))

        output = seed()

        assert "already loaded" in output
        assert row_counts() == before
        assert list(Initiative.objects.values_list("pk", "version", "last_activity_at")) == versions
        assert any(label.startswith("portfolio.Historical") for label in before)


@pytest.mark.django_db
def test_refuses_to_load_over_users_with_demo_names():
    UserFactory(username="admin")

    with pytest.raises(CommandError, match="admin"):
        seed()

    assert not Team.objects.exists()
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_leaves_an_existing_portfolio_alone():
    InitiativeFactory()
    before = row_counts()

    output = seed()

    assert "not loaded" in output
    assert row_counts() == before
