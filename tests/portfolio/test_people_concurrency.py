"""Dependencies and people added at the same moment keep their invariants: no loop, no
duplicate, and every loser gets the same clear refusal a sequential request gets (never a
500). Needs real row-level concurrency, so PostgreSQL only; each race runs many rounds
behind a barrier so both requests are in flight together."""

from functools import partial

import pytest
from django.test import Client
from django.utils import timezone

from conftest import require_postgresql
from portfolio import services
from portfolio.exceptions import DomainError
from portfolio.models import Dependency, Stakeholder
from tests.factories import InitiativeFactory, TeamFactory, UserFactory
from tests.threads import run_together

ROUNDS = 30

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgresql_only():
    require_postgresql("needs PostgreSQL: SQLite serialises writers, so nothing races")


def race(*calls) -> list[str]:
    """Run ``calls`` at once; each one's outcome: its result, or the refusal's message."""
    def outcome(call):
        try:
            return call()
        except DomainError as error:
            return error.message
        except Exception as error:  # a 500 in waiting: recorded, so the test names it
            return f"crashed: {error!r}"
    return run_together(*[partial(outcome, call) for call in calls])


def add_dependency(initiative, depends_on, actor):
    def call():
        services.dependency_add(initiative=initiative, depends_on=depends_on, actor=actor,
                                now=timezone.now())
        return "ok"
    return call


def test_opposite_dependencies_added_at_once_never_make_a_loop():
    owner = UserFactory(username="loop-owner", roles=["pm"])
    team = TeamFactory(slug="loops")
    for round_ in range(ROUNDS):
        a = InitiativeFactory(owner=owner, team=team, title=f"A {round_}")
        b = InitiativeFactory(owner=owner, team=team, title=f"B {round_}")

        outcomes = race(add_dependency(a, b, owner), add_dependency(b, a, owner))

        assert sorted(outcomes) == sorted(
            ["ok", services.DEPENDENCY_CYCLE.format(
                title=(a if Dependency.objects.filter(initiative=a).exists() else b).title)]
        ), outcomes
        assert Dependency.objects.filter(initiative__in=[a, b]).count() == 1


def test_two_halves_of_a_longer_loop_added_at_once_are_refused_one():
    """B→C and D→A exist; A→B and C→D together would close A→B→C→D→A, though the two
    additions share no initiative."""
    owner = UserFactory(username="loop-owner", roles=["pm"])
    team = TeamFactory(slug="loops")
    for round_ in range(ROUNDS // 2):
        a, b, c, d = (InitiativeFactory(owner=owner, team=team, title=f"{name} {round_}")
                      for name in "ABCD")
        Dependency.objects.create(initiative=b, depends_on=c)
        Dependency.objects.create(initiative=d, depends_on=a)

        outcomes = race(add_dependency(a, b, owner), add_dependency(c, d, owner))

        assert outcomes.count("ok") == 1, outcomes
        assert Dependency.objects.filter(initiative__in=[a, b, c, d]).count() == 3


def test_the_same_dependency_added_twice_at_once_is_kept_once_and_the_second_is_told():
    owner = UserFactory(username="dup-owner", roles=["pm"])
    team = TeamFactory(slug="dups")
    for round_ in range(ROUNDS):
        a = InitiativeFactory(owner=owner, team=team, title=f"A {round_}")
        b = InitiativeFactory(owner=owner, team=team, title=f"B {round_}")

        outcomes = race(add_dependency(a, b, owner), add_dependency(a, b, owner))

        assert sorted(outcomes) == sorted(
            ["ok", services.ALREADY_DEPENDS.format(title=b.title)]), outcomes
        assert Dependency.objects.filter(initiative=a).count() == 1


def test_the_same_person_added_twice_at_once_is_kept_once_and_the_second_is_told():
    owner = UserFactory(username="dup-owner", roles=["pm"])
    person = UserFactory(username="dup-person", first_name="", last_name="", roles=["pm"])
    team = TeamFactory(slug="dups")
    for round_ in range(ROUNDS):
        initiative = InitiativeFactory(owner=owner, team=team, title=f"Staffed {round_}")

        def add(initiative=initiative):
            services.stakeholder_add(initiative=initiative, user=person, role="R", actor=owner,
                                     now=timezone.now())
            return "ok"

        outcomes = race(add, add)

        assert sorted(outcomes) == sorted(
            ["ok", services.ALREADY_IN_ROLE.format(name="dup-person", role="Responsible")]
        ), outcomes
        assert Stakeholder.objects.filter(initiative=initiative, user=person).count() == 1


def test_the_browser_answers_a_duplicate_person_posted_twice_at_once_with_a_form_error():
    owner = UserFactory(username="dup-owner", roles=["pm"])
    person = UserFactory(username="dup-person", roles=["pm"])
    team = TeamFactory(slug="dups")
    for round_ in range(ROUNDS // 3):
        initiative = InitiativeFactory(owner=owner, team=team, title=f"Posted {round_}")

        def post(initiative=initiative):
            client = Client()
            client.force_login(owner)
            response = client.post(f"/initiatives/{initiative.pk}/people/",
                                   {"user": person.pk, "role": "R"})
            return str(response.status_code)

        statuses = race(post, post)

        assert sorted(statuses) == ["302", "400"], statuses
        assert Stakeholder.objects.filter(initiative=initiative, user=person).count() == 1
