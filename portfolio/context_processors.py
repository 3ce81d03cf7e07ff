"""Navigation fitted to the signed-in user's roles."""

from django.urls import reverse

from portfolio.access import can_follow_teams
from portfolio.roles import ROLE_LABELS, Role, can_read_portfolio, roles_of


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    roles = roles_of(user)
    items = []
    if not can_read_portfolio(user):
        return {"nav_items": items, "nav_roles": []}
    if Role.PM in roles:
        items.append(("My initiatives", f"{reverse('portfolio:initiative-list')}?owner=me"))
    if Role.REVIEWER in roles:
        # Governance's page, named by URL only (portfolio imports no other app).
        items.append(("Review queue", reverse("governance:review-queue")))
    # Scoring's page, named by URL only; leadership's home, so first for them.
    dashboard = ("Dashboard", reverse("scoring:dashboard"))
    if Role.LEADERSHIP in roles:
        items.insert(0, dashboard)
    items.append(("All initiatives", reverse("portfolio:initiative-list")))
    items.append(("Kill log", reverse("portfolio:kill-log")))
    items.append(("Ownership", reverse("portfolio:ownership-health")))
    # TPMs land on the stalled pilots (their home), so first for them.
    stalls = ("Stalled pilots", reverse("portfolio:stall-list"))
    if Role.TPM in roles:
        items.insert(0, stalls)
    else:
        items.append(stalls)
    if can_follow_teams(user):
        items.append(("Digest", reverse("portfolio:digest-settings")))
    if Role.LEADERSHIP not in roles:
        items.append(dashboard)
    # Every reader may hold personal tokens for the REST API.
    items.append(("API tokens", reverse("portfolio:api-tokens")))
    if user.is_staff:
        items.append(("Admin", reverse("admin:index")))
    return {
        "nav_items": items,
        "nav_roles": [ROLE_LABELS[role] for role in Role if role in roles],
    }
