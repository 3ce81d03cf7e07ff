"""The product's roles are Django groups (created by a data migration)."""

from enum import StrEnum

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
    """The roles a signed-in user holds; cached on the user for the request."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_portfolio_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = {role for role in Role if role.value in names}
        user._portfolio_roles = cached
    return cached


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
