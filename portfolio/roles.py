"""The product's roles are Django groups (created by a data migration)."""

from enum import StrEnum

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import CharField
from django.db.models.expressions import RawSQL
from django.urls import reverse

from portfolio import hooks


class Role(StrEnum):
    PM = "pm"
    REVIEWER = "reviewer"
    TPM = "tpm"
    LEADERSHIP = "leadership"


ROLE_LABELS = {
    Role.PM: "Product manager",
    Role.REVIEWER: "Governance reviewer",
    Role.TPM: "Technical programme manager",
    Role.LEADERSHIP: "Leadership",
}


def roles_of(user) -> set[Role]:
    """The roles a signed-in user holds; cached on the user for the request (read with the
    user when the sign-in backend loaded it through ``user_with_roles``)."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_portfolio_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = {role for role in Role if role.value in names}
        user._portfolio_roles = cached
    return cached


def user_with_roles(user_id):
    """The user ``user_id`` (or None), on PostgreSQL with the names of their groups read in
    the same query (an ``ARRAY`` subquery: planned in a tenth of the time of a query of its
    own) and cached as ``roles_of`` caches them: the sign-in backends load each request's
    user so, which saves every page and API call a query. A change of roles clears the
    cache (``identity.services``), so ``roles_of`` reads them again."""
    users = get_user_model()._default_manager.filter(pk=user_id)
    if connection.vendor != "postgresql":
        return users.first()
    memberships = get_user_model().groups.through._meta.db_table
    user = users.annotate(group_names=RawSQL(
        f'ARRAY(SELECT g.name FROM "{memberships}" m JOIN "{Group._meta.db_table}" g '
        f'ON g.id = m.group_id WHERE m.user_id = "{get_user_model()._meta.db_table}".id)',
        (), output_field=ArrayField(CharField()))).first()
    if user is not None:
        user._portfolio_roles = {role for role in Role if role.value in user.group_names}
    return user


def acts_as_admin(user, permission: str) -> bool:
    """What "admin" means everywhere outside the Django admin: an active staff account holding
    the admin's own permission for the thing it does (``"portfolio.change_initiative"``).

    ``is_staff`` alone only opens the Django admin's door; a superuser holds every permission.
    """
    return (user.is_authenticated and user.is_active and user.is_staff
            and user.has_perm(permission))


# The Django admin permission that lets a staff account act as an admin on the portfolio's
# pages and API: reading it, reassigning owners, deciding stalls, running the digest.
ADMIN_READS = "portfolio.view_initiative"
ADMIN_STEWARDS = "portfolio.change_initiative"
ADMIN_DECIDES_STALLS = "portfolio.change_stallflag"
ADMIN_RUNS_DIGESTS = "portfolio.change_digestsubscription"


def can_read_portfolio(user) -> bool:
    """Any role (or an admin who may view initiatives) reads the portfolio; a signed-in user
    with neither, or an account that was deactivated, sees nothing."""
    return user.is_authenticated and user.is_active and (
        bool(roles_of(user)) or acts_as_admin(user, ADMIN_READS))


# When a user holds several roles, the first of these that has a home page decides.
HOME_PRECEDENCE = (Role.PM, Role.REVIEWER, Role.LEADERSHIP, Role.TPM)


def page_url(page: hooks.Page) -> str:
    url = reverse(page.url_name)
    return f"{url}?{page.query}" if page.query else url


def home_page_for(roles) -> hooks.Page | None:
    """The registered page (``hooks.PAGES``) the first of ``roles`` lands on, if any."""
    for role in HOME_PRECEDENCE:
        if role in roles:
            for page in hooks.PAGES:
                if role in page.home_of:
                    return page
    return None


def home_url_for(user) -> str:
    """Where each role lands after signing in.

    PMs start from their own initiatives; reviewers from the review queue; leadership
    from the dashboard; TPMs from the stalled pilots that wait for a decision; the other
    roles from the whole portfolio; staff without a role from the admin; a user with no
    role from a page that says so. Pages of other apps are named by URL only: portfolio
    imports none.
    """
    roles = roles_of(user)
    home = home_page_for(roles)
    if home is not None:
        return page_url(home)
    if roles:
        return reverse("portfolio:initiative-list")
    if user.is_staff:
        return reverse("admin:index")
    return reverse("no-role")
