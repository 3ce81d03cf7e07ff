"""What the whole suite shares: the personas (one per role, an outsider, the admins) and
the frozen clock. API clients are ``tests.clients.client_for``; work run at the same
moment is ``tests.threads.run_together``."""

import pytest
import time_machine
from django.contrib.auth.models import Permission

from tests.demo import load_demo
from tests.factories import ADMIN_PERMISSIONS, FIXED_NOW, UserFactory


def _database_group(item) -> int:
    """pytest-django's order: tests on the database in a transaction rolled back (0), then
    those that commit and empty it after (1: their emptying must not precede the others),
    then those without it (2)."""
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", ())
    if (marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences"))
            or "transactional_db" in fixtures or "live_server" in fixtures):
        return 1
    return 0 if marker or "db" in fixtures else 2


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Within pytest-django's groups (``_database_group``, kept in its order), the ``slow``
    tests first: pytest-xdist hands tests out in this order, so the long ones start early
    rather than lengthening the run's tail. (After pytest's own ordering, which keeps the
    browser tests together only to share fixtures.)"""
    items.sort(key=lambda item: (_database_group(item), item.get_closest_marker("slow") is None))


@pytest.fixture
def frozen_clock():
    """Time stands still at ``FIXED_NOW`` (Monday 2 Nov 2026, 09:00 UTC) for the test; it
    yields time-machine's traveller, whose ``shift()`` and ``move_to()`` move the clock.
    A module freezes every test with ``pytest.mark.usefixtures("frozen_clock")``."""
    with time_machine.travel(FIXED_NOW, tick=False) as clock:
        yield clock


@pytest.fixture
def demo_portfolio(transactional_db):
    """The demo portfolio exactly as `make run` loads it, on a database emptied after the
    test (seeded once per process, then copied back: tests/demo.py)."""
    load_demo()


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


@pytest.fixture
def superuser(db):
    """Django's superuser: every permission there is, no role."""
    return UserFactory(username="root-admin", is_staff=True, is_superuser=True)


@pytest.fixture
def full_staff(db):
    """A staff account holding every model permission there is, but not a superuser."""
    user = UserFactory(username="every-permission-staff", is_staff=True)
    user.user_permissions.set(Permission.objects.all())
    return user


@pytest.fixture(params=["full_staff", "superuser"])
def any_admin(request):
    """Each kind of account the Django admin lets in with every permission, in turn."""
    return request.getfixturevalue(request.param)
