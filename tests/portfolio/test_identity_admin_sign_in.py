"""The admin's own sign-in page knows only passwords: with single sign-on on it sends
people to the login page, which offers the provider, and back to the admin afterwards."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def single_sign_on(settings):
    settings.OIDC_ISSUER = "https://id.example.com"
    settings.SSO_ENABLED = True
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = "portfolio", "s3cret"
    settings.OIDC_PROVIDER_NAME = "Example ID"


def test_with_single_sign_on_the_admin_sign_in_sends_to_the_login_page(client, single_sign_on):
    response = client.get("/admin/login/?next=/admin/portfolio/team/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fadmin%2Fportfolio%2Fteam%2F"
    login = client.get(response["Location"]).content.decode()
    assert "Sign in with Example ID" in login
    assert 'href="/sso/start/?next=/admin/portfolio/team/"' in login


def test_without_single_sign_on_the_admin_keeps_its_own_password_form(client):
    response = client.get("/admin/login/?next=/admin/")

    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()


def test_a_signed_in_admin_is_not_sent_away_from_the_admin(client, single_sign_on, superuser):
    client.force_login(superuser)

    response = client.get("/admin/login/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
