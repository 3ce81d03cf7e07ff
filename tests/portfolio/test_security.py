"""Security baseline: lockout after repeated failures, CSP and hardened headers, CSRF."""

import pytest
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def attempt(client, username, password):
    return client.post("/login/", {"username": username, "password": password})


def test_repeated_failed_logins_lock_the_account_out(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    UserFactory(username="victim", roles=["pm"])

    for _ in range(2):
        assert attempt(client, "victim", "wrong").status_code == 200
    locked = attempt(client, "victim", "wrong")
    after = attempt(client, "victim", "correct-horse-battery")

    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert after.status_code == 429  # even the right password waits out the lockout


def test_a_failed_login_says_so_without_revealing_which_part_was_wrong(client):
    UserFactory(username="someone", roles=["pm"])

    response = attempt(client, "someone", "nope")

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_pages_carry_a_content_security_policy_and_hardened_headers(client):
    response = client.get("/login/")

    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "object-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_login_without_a_csrf_token_is_refused():
    UserFactory(username="csrf-user", roles=["pm"])
    client = Client(enforce_csrf_checks=True)

    response = attempt(client, "csrf-user", "correct-horse-battery")

    assert response.status_code == 403


def test_every_form_carries_a_csrf_token(client, pm):
    assert 'name="csrfmiddlewaretoken"' in client.get("/login/").content.decode()
    client.force_login(pm)
    assert 'name="csrfmiddlewaretoken"' in client.get("/initiatives/").content.decode()


def test_production_cookies_are_secure_and_http_only():
    from django.conf import settings

    assert settings.SESSION_COOKIE_HTTPONLY
    assert settings.CSRF_COOKIE_HTTPONLY
