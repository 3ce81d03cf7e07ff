"""Who reaches what: anonymous users only the login page and /healthz; each role its home;
each persona exactly the rights ``portfolio.access`` gives it on an initiative, on the
pages, in the API and in the admin alike."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from portfolio.access import NEEDS, InitiativeRights, initiative_for, initiative_rights
from portfolio.models import Initiative, Stakeholder
from portfolio.roles import roles_of
from tests.clients import client_for
from tests.factories import InitiativeFactory, UserFactory

# The admin has its own sign-in form (same lockout, same accounts). /favicon.ico only
# points at the public static icon, which the sign-in page names too.
# The single sign-on start, callback and end-session are where someone not yet (or no
# longer) signed in goes; with single sign-on off, as here, they are 404s or the login page.
PUBLIC = {"/login/", "/admin/login/", "/healthz", "/favicon.ico",
          "/sso/start/", "/sso/callback/", "/sso/logout/"}


def _concrete_paths(resolver=None, prefix=""):
    """Every URL of the project that takes no arguments, including the admin's."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _concrete_paths(pattern, route)
        elif isinstance(pattern, URLPattern) and "<" not in route and "(?P" not in route:
            yield "/" + route.replace("^", "").replace("$", "").replace("\\Z", "")


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_login_from_every_page(client):
    paths = sorted(set(_concrete_paths()) - PUBLIC - {"/logout/"})
    assert "/initiatives/" in paths
    assert "/admin/" in paths

    assert "/api/schema/" in paths
    for path in paths:
        response = client.get(path)
        if path.startswith("/api/"):  # API clients are told, not redirected
            assert response.status_code == 401, path
            continue
        assert response.status_code == 302, path
        assert "/login/" in response["Location"], path


@pytest.mark.django_db
def test_anonymous_user_sees_the_login_page(client):
    response = client.get("/login/")

    assert response.status_code == 200
    assert "Sign in" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("group", "destination"),
    [
        ("pm", "/initiatives/?mine=true"),
        ("reviewer", "/governance/queue/"),
        ("tpm", "/stalls/"),
        ("leadership", "/dashboard/"),
    ],
)
def test_each_role_lands_on_its_page_after_signing_in(client, group, destination):
    UserFactory(username=f"demo-{group}", roles=[group])

    response = client.post("/login/", {"username": f"demo-{group}",
                                       "password": "correct-horse-battery"}, follow=True)

    assert response.redirect_chain[-1][0] == destination
    assert response.status_code == 200


@pytest.mark.django_db
def test_user_without_a_role_is_told_so(client, outsider):
    client.force_login(outsider)

    response = client.get("/", follow=True)

    assert response.redirect_chain[-1][0] == "/no-role/"
    assert "no role yet" in response.content.decode()


@pytest.mark.django_db
def test_staff_without_a_role_lands_in_the_admin(client):
    client.force_login(UserFactory(username="ops", is_staff=True))

    response = client.get("/")

    assert response["Location"] == "/admin/"


@pytest.mark.django_db
def test_navigation_fits_the_role(client, pm, leader):
    client.force_login(pm)
    pm_page = client.get("/initiatives/").content.decode()
    client.force_login(leader)
    leader_page = client.get("/initiatives/").content.decode()

    assert "My initiatives" in pm_page
    assert "Product manager" in pm_page
    assert "My initiatives" not in leader_page
    assert "Leadership" in leader_page
    assert "Admin" not in leader_page


@pytest.mark.django_db
def test_role_groups_exist_after_migrating():
    names = set(Group.objects.values_list("name", flat=True))

    assert {"pm", "reviewer", "tpm", "leadership"} <= names


@pytest.mark.django_db
def test_logout_signs_the_user_out(client, pm):
    client.force_login(pm)

    client.post("/logout/")

    assert client.get("/initiatives/").status_code == 302


# --- What each persona may do with an initiative: one helper, every path -------------------

# Every right, in ``InitiativeRights``' order.
RIGHTS = ("read", "edit", "coordinate", "steward", "decide_stall", "override_contract",
          "admin_view", "admin_change")

# Persona -> the rights they hold on the initiative (the others they lack).
EXPECTED_RIGHTS = {
    "owner": {"read", "edit", "coordinate", "decide_stall"},
    "responsible_pm": {"read", "edit", "coordinate"},
    "sponsor": {"read", "override_contract"},
    "other_pm": {"read"},
    "reviewer": {"read"},
    "tpm": {"read", "coordinate", "steward", "decide_stall"},
    "leader": {"read", "override_contract"},
    "admin": {"read", "coordinate", "steward", "decide_stall", "admin_view", "admin_change"},
    "bare_staff": set(),
    "no_role": set(),
    "inactive": set(),
}


@pytest.fixture
def cast(pm, other_pm, reviewer, tpm, leader, outsider, staff):
    """The initiative ``pm`` owns, and every persona: its Responsible PM, its sponsor, a PM
    who left (still Responsible for it), staff without the admin's permissions."""
    sponsor = UserFactory(username="sponsor-pm", roles=["pm"])
    initiative = InitiativeFactory(owner=pm, sponsor=sponsor, title="Claims triage assistant")
    responsible = UserFactory(username="responsible-pm", roles=["pm"])
    inactive = UserFactory(username="left-pm", roles=["pm"], is_active=False)
    for user in (responsible, inactive):
        Stakeholder.objects.create(initiative=initiative, user=user, role="R")
    return initiative, {
        "owner": pm, "responsible_pm": responsible, "sponsor": sponsor, "other_pm": other_pm,
        "reviewer": reviewer, "tpm": tpm, "leader": leader, "admin": staff,
        "bare_staff": UserFactory(username="bare-staff", is_staff=True),
        "no_role": outsider, "inactive": inactive,
    }


def rights_of(held: set[str]) -> InitiativeRights:
    return InitiativeRights(**{name: name in held for name in RIGHTS})


@pytest.mark.django_db
@pytest.mark.parametrize(("persona", "held"), EXPECTED_RIGHTS.items())
def test_each_persona_holds_exactly_its_rights_on_an_initiative(cast, persona, held):
    initiative, people = cast

    assert initiative_rights(people[persona], initiative) == rights_of(held)


@pytest.mark.django_db
@pytest.mark.parametrize(("persona", "held"), EXPECTED_RIGHTS.items())
def test_loading_an_initiative_answers_as_its_rights_say(cast, persona, held):
    initiative, people = cast
    user = people[persona]

    for need in NEEDS:
        if "read" not in held:
            with pytest.raises(Http404):
                initiative_for(user, initiative.pk, need=need)
        elif need in held or need == "read":
            loaded, rights = initiative_for(user, initiative.pk, need=need)
            assert (loaded, rights) == (initiative, rights_of(held))
        else:
            with pytest.raises(PermissionDenied, match=NEEDS[need]):
                initiative_for(user, initiative.pk, need=need)


@pytest.mark.django_db
def test_a_pm_responsible_for_an_initiative_is_known_from_the_query_that_loads_it(
        cast, django_assert_num_queries):
    initiative, people = cast
    user = people["responsible_pm"]
    roles_of(user)  # the roles are read once per request, before any initiative

    with django_assert_num_queries(1):  # the initiative, with "is Responsible" in it
        _, rights = initiative_for(user, initiative.pk, need="edit")

    assert rights.edit


def _page_answers(initiative, user) -> dict[str, bool]:
    """What the pages let ``user`` do, read off what they answer (nothing is changed)."""
    client = Client()
    client.force_login(user)
    detail = client.get(f"/initiatives/{initiative.pk}/")
    page = detail.content.decode() if detail.status_code == 200 else ""
    people = client.post(f"/initiatives/{initiative.pk}/people/", {})  # an empty form: 400
    answers = {
        "read": detail.status_code == 200,
        "edit": client.get(f"/initiatives/{initiative.pk}/edit/").status_code == 200,
        "coordinate": people.status_code == 400,
        "steward": client.get(f"/initiatives/{initiative.pk}/reassign/").status_code == 200,
    }
    # The initiative page offers what its reader may do, and nothing else.
    if answers["read"]:
        assert (f'href="/initiatives/{initiative.pk}/edit/"' in page) == answers["edit"]
        assert (f'action="/initiatives/{initiative.pk}/people/"' in page) == (
            answers["coordinate"])
        assert ("Reassign owner" in page) == answers["steward"]
    return answers


def _api_answers(initiative, user) -> dict[str, bool]:
    client = client_for(user)
    detail = client.get(f"/api/v1/initiatives/{initiative.pk}/")
    # Without If-Match: 428 for an editor, before anything is changed; 403/404 otherwise.
    patch = client.patch(f"/api/v1/initiatives/{initiative.pk}/", {"title": "Renamed"},
                         format="json")
    return {"read": detail.status_code == 200, "edit": patch.status_code == 428}


def _admin_answers(initiative, user) -> dict[str, bool]:
    client = Client()
    client.force_login(user)
    page = client.get(f"/admin/portfolio/initiative/{initiative.pk}/change/")
    return {"admin_view": page.status_code == 200,
            "admin_change": page.status_code == 200 and 'name="_save"' in page.content.decode()}


@pytest.mark.django_db
@pytest.mark.parametrize("persona", EXPECTED_RIGHTS)
def test_pages_api_and_admin_give_each_persona_the_answer_its_rights_give(cast, persona):
    initiative, people = cast
    user = people[persona]
    rights = initiative_rights(user, initiative)

    pages, api, admin = (_page_answers(initiative, user), _api_answers(initiative, user),
                         _admin_answers(initiative, user))

    assert pages == {name: getattr(rights, name) for name in pages}
    assert api == {name: getattr(rights, name) for name in api}
    assert admin == {name: getattr(rights, name) for name in admin}
    assert Initiative.objects.get(pk=initiative.pk).title == "Claims triage assistant"
