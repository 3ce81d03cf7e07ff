"""Anonymous users reach only the login page and /healthz."""

import pytest
from django.contrib.auth.models import Group
from django.urls import URLPattern, URLResolver, get_resolver

from tests.factories import UserFactory

# The admin has its own sign-in form (same lockout, same accounts).
PUBLIC = {"/login/", "/admin/login/", "/healthz"}


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
        ("pm", "/initiatives/?owner=me"),
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
