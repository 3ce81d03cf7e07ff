"""`manage.py seed_demo`: a demo portfolio for every role, with a year of consistent history.

The demo is loaded once for ``TestDemoPortfolio`` inside a transaction that is rolled
back afterwards; each test runs in a savepoint within it.
"""

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Q
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portfolio.management.demo_data import demo_logins
from portfolio.models import (
    Activity,
    Category,
    Dependency,
    DigestDelivery,
    DigestRun,
    DigestSubscription,
    Initiative,
    Stage,
    StageTransition,
    Stakeholder,
    StallFlag,
    Team,
    Update,
)
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
        ]
        moments = [moment for row in stamps for moment in row]

        assert max(moments) <= now
        assert min(moments) >= now - timedelta(days=366)
        for initiative in Initiative.objects.all():
            assert initiative.created_at <= initiative.stage_changed_at
            assert initiative.stage_changed_at <= initiative.last_activity_at

    def test_pilots_and_beyond_have_an_exit_contract(self):
        beyond_pilot = Initiative.objects.in_stage(Stage.PILOT, Stage.PRODUCTION, Stage.SCALED)

        no_contract = (Q(success_metric="") | Q(baseline="") | Q(target="")
                       | Q(decision_date__isnull=True) | Q(production_owner__isnull=True))

        assert beyond_pilot.exists()
        assert not beyond_pilot.filter(no_contract).exists()
        assert not beyond_pilot.exclude(stage=Stage.PILOT).filter(measured_result="").exists()

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
