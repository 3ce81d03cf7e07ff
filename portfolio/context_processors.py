"""Navigation fitted to the signed-in user's roles."""

from django.urls import reverse

from portfolio import hooks
from portfolio.roles import ROLE_LABELS, Role, can_read_portfolio, home_page_for, page_url, roles_of


def navigation(request):
    """The pages every app registered (``hooks.PAGES``) this user may see, in their order,
    with the user's own home page first."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    roles = roles_of(user)
    if not can_read_portfolio(user):
        return {"nav_items": [], "nav_roles": []}
    home = home_page_for(roles)
    pages = sorted((page for page in hooks.PAGES if page.shown_to(user, roles)),
                   key=lambda page: (page is not home, page.order))
    return {
        "nav_items": [(page.label, page_url(page)) for page in pages],
        "nav_roles": [ROLE_LABELS[role] for role in Role if role in roles],
        # "Waiting on me"'s number is not counted here: every page would pay for it.
        # static/js/nav.js asks ``portfolio:inbox-count`` after the page has loaded.
        "inbox_url": reverse("portfolio:inbox"),
        "inbox_count_url": reverse("portfolio:inbox-count"),
    }
