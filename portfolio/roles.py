"""The product's roles are Django groups (created by a data migration)."""

from enum import StrEnum

from django.urls import reverse


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
    with neither sees nothing."""
    return user.is_authenticated and (bool(roles_of(user)) or acts_as_admin(user, ADMIN_READS))


def home_url_for(user) -> str:
    """Where each role lands after signing in.

    PMs start from their own initiatives; reviewers from the review queue; leadership
    from the dashboard; TPMs from the stalled pilots that wait for a decision; the other
    roles from the whole portfolio; staff without a role from the admin; a user with no
    role from a page that says so. Pages of other apps are named by URL only: portfolio
    imports none.
    """
    roles = roles_of(user)
    initiatives = reverse("portfolio:initiative-list")
    if Role.PM in roles:
        return f"{initiatives}?owner=me"
    if Role.REVIEWER in roles:
        return reverse("governance:review-queue")
    if Role.LEADERSHIP in roles:
        return reverse("scoring:dashboard")
    if Role.TPM in roles:
        return reverse("portfolio:stall-list")
    if roles:
        return initiatives
    if user.is_staff:
        return reverse("admin:index")
    return reverse("no-role")
