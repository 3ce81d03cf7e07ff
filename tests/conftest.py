"""Personas used across the suite: one per role, plus an outsider."""

import pytest

from tests.factories import ADMIN_PERMISSIONS, UserFactory


@pytest.fixture
def pm(db):
    return UserFactory(username="owner-pm", first_name="Olive", last_name="Owner", roles=["pm"])


@pytest.fixture
def other_pm(db):
    return UserFactory(username="other-pm", roles=["pm"])


@pytest.fixture
def reviewer(db):
    return UserFactory(username="a-reviewer", roles=["reviewer"])


@pytest.fixture
def tpm(db):
    return UserFactory(username="a-tpm", roles=["tpm"])


@pytest.fixture
def leader(db):
    return UserFactory(username="a-leader", roles=["leadership"])


@pytest.fixture
def outsider(db):
    """Signed in, but holds no role."""
    return UserFactory(username="outsider")


@pytest.fixture
def staff(db):
    """An admin: a staff account with the admin's permissions on the portfolio, no role."""
    return UserFactory(username="ops-admin", is_staff=True, permissions=ADMIN_PERMISSIONS)
