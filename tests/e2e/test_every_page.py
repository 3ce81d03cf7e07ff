"""Every page of the tracker, as each persona who uses it, on a phone, a tablet and a desktop.

Real Chromium against the live server and the demo portfolio that `make run` loads. For each
page and persona: a full-page screenshot at 390, 768 and 1440 px into
``var/screenshots/pages/`` (for a person to look at), the page no wider than the screen at
every width, and axe-core (WCAG 2.1 A and AA rules) finding no serious or critical
violation.

The page list is checked against the URL resolver: a page added later fails
``test_the_sweep_visits_every_page_of_the_site`` until it is added to ``VISITS`` (or to
``NOT_PAGES`` with the reason it is not a page). The demo is seeded once and each persona
signs in once: CI time is a budget.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from governance import services as governance
from governance.models import Checkpoint, CheckpointStatus, ReviewerGroup, ReviewRoute
from portfolio.identity.models import AccountEvent
from portfolio.identity.services import role_pin_add, sign_in_failed, sso_sign_in
from portfolio.management.demo_data import DEMO_PASSWORD
from portfolio.models import (
    Activity,
    ChatChannel,
    DailySummary,
    Initiative,
    Notification,
    Stage,
    ValueReview,
    WebhookHost,
)
from portfolio.notifications import services as notifications
from portfolio.pilots.digest.content import (
    digest_recipients,
    digest_render,
    digests_build,
    period_of,
)
from scoring.capacity import next_quarter, quarter_label, quarter_of
from scoring.models import Scenario
from scoring.scenarios import scenario_create
from tests.factories import InitiativeFactory, UserFactory
from tests.test_reads_never_write import routes

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WIDTHS = (390, 768, 1440)
NO_SIDEWAYS_SCROLL_AT = WIDTHS  # a wide table scrolls in its own box, never the page
AXE_AT = 390  # with the folded menu and filters opened, so that they are checked as well
FOLDS_OPEN = ("open => document.querySelectorAll("
              "'details.nav-menu, details.fold-narrow, details.break-glass')"
              ".forEach(fold => { fold.open = open; })")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = {"serious", "critical"}
# A 200-character title without a space: it must wrap, not widen the page.
LONG_TITLE = "Unbroken" + "x" * 192


@dataclass(frozen=True)
class Visit:
    """One page as some personas use it; ``path`` builds its URL from the demo's rows."""

    slug: str
    url_name: str
    personas: tuple[str, ...]
    path: Callable[[dict], str]
    status: int = 200
    axe_exclude: tuple[str, ...] = ()  # a third-party widget we do not render ourselves
    settings: tuple[tuple[str, object], ...] = ()  # the site's settings while it is read


def _url(name: str, query: str = "", **kwargs) -> Callable[[dict], str]:
    def build(rows: dict) -> str:
        values = {key: rows[value] for key, value in kwargs.items()}
        return reverse(name, kwargs=values) + (f"?{query}" if query else "")
    return build


READERS = ("pm", "reviewer", "tpm", "leader", "admin")
# Single sign-on switched on (the login page never asks the provider anything).
SSO_ON = (("OIDC_ISSUER", "http://127.0.0.1:9"), ("SSO_ENABLED", True),
          ("OIDC_RP_CLIENT_ID", "x"), ("OIDC_RP_CLIENT_SECRET", "y"),
          ("OIDC_PROVIDER_NAME", "Okta"))
VISITS = (
    Visit("login", "login", ("anonymous",), _url("login")),
    Visit("login-sso", "login", ("anonymous",), _url("login"), settings=SSO_ON),
    # Password sign-in off: the break-glass form folded under its disclosure (opened for axe).
    Visit("login-sso-password-off", "login", ("anonymous",), _url("login"),
          settings=(*SSO_ON, ("PASSWORD_SIGN_IN", False))),
    Visit("no-role", "no-role", ("outsider",), _url("no-role")),
    Visit("not-found", "", ("pm",), lambda rows: "/no-such-page/", status=404),
    Visit("forbidden", "portfolio:initiative-create", ("leader",),
          _url("portfolio:initiative-create"), status=403),
    Visit("my-initiatives", "portfolio:initiative-list", ("pm",),
          _url("portfolio:initiative-list", "mine=true")),
    Visit("initiatives", "portfolio:initiative-list", READERS, _url("portfolio:initiative-list")),
    Visit("initiatives-filtered", "portfolio:initiative-list", ("leader",),
          _url("portfolio:initiative-list", "q=assistant&stage=pilot&sort=recent")),
    Visit("initiatives-no-match", "portfolio:initiative-list", ("pm",),
          _url("portfolio:initiative-list", "q=zzzz-nothing-matches")),
    Visit("initiative", "portfolio:initiative-detail", READERS,
          _url("portfolio:initiative-detail", pk="initiative")),
    # In production, its value at risk awaiting a decision: the value card's forms.
    Visit("initiative-value", "portfolio:initiative-detail", ("pm", "tpm"),
          _url("portfolio:initiative-detail", pk="at_risk")),
    Visit("measurement-import", "portfolio:measurement-import", ("pm",),
          _url("portfolio:measurement-import", pk="initiative")),
    Visit("value-reviews", "portfolio:value-review-list", READERS,
          _url("portfolio:value-review-list")),
    Visit("value-reviews-overdue", "portfolio:value-review-list", ("tpm",),
          _url("portfolio:value-review-list", "status=overdue")),
    Visit("initiative-long-title", "portfolio:initiative-detail", ("pm",),
          _url("portfolio:initiative-detail", pk="long_title")),
    Visit("initiative-edit", "portfolio:initiative-edit", ("pm",),
          _url("portfolio:initiative-edit", pk="initiative")),
    Visit("initiative-new", "portfolio:initiative-create", ("pm",),
          _url("portfolio:initiative-create")),
    Visit("initiative-import", "portfolio:initiative-import", ("pm",),
          _url("portfolio:initiative-import")),
    Visit("kill-log", "portfolio:kill-log", ("pm", "leader"), _url("portfolio:kill-log")),
    Visit("ownership", "portfolio:ownership-health", ("tpm", "leader", "admin"),
          _url("portfolio:ownership-health")),
    Visit("reassign", "portfolio:initiative-reassign", ("tpm", "admin"),
          _url("portfolio:initiative-reassign", pk="initiative")),
    Visit("stalls", "portfolio:stall-list", ("tpm", "leader", "admin"),
          _url("portfolio:stall-list")),
    Visit("digest-settings", "portfolio:digest-settings", ("tpm", "admin"),
          _url("portfolio:digest-settings")),
    Visit("digest-preview", "portfolio:digest-preview", ("tpm", "admin"),
          _url("portfolio:digest-preview")),
    Visit("api-tokens", "portfolio:api-tokens", ("pm", "tpm"), _url("portfolio:api-tokens")),
    # Swagger UI (drf-spectacular-sidecar's bundle) nests buttons and uses low-contrast
    # method badges; its markup is not ours to fix, the page around it is checked.
    Visit("api-docs", "api-docs", ("pm",), _url("api-docs"), axe_exclude=("#swagger-ui",)),
    Visit("review-queue", "governance:review-queue", ("reviewer", "admin"),
          _url("governance:review-queue")),
    # Its search, "mine" with the rows grouped under each initiative, and a reviewer group.
    Visit("review-queue-search", "governance:review-queue", ("reviewer",),
          _url("governance:review-queue", "q=assistant")),
    Visit("review-queue-mine-grouped", "governance:review-queue", ("reviewer",),
          _url("governance:review-queue", "mine=1&by=initiative")),
    Visit("review-queue-group", "governance:review-queue", ("reviewer", "admin"),
          lambda rows: reverse("governance:review-queue") + f"?group={rows['group']}"),
    Visit("checkpoint-decide", "governance:checkpoint-decide", ("reviewer",),
          _url("governance:checkpoint-decide", pk="checkpoint")),
    # Rejected: its owner answers with what changed and asks for another review.
    Visit("checkpoint-rejected", "governance:checkpoint-decide", ("pm", "reviewer"),
          _url("governance:checkpoint-decide", pk="rejected")),
    Visit("inbox", "portfolio:inbox", READERS, _url("portfolio:inbox")),
    Visit("inbox-outsider", "portfolio:inbox", ("outsider",), _url("portfolio:inbox"),
          status=404),
    Visit("notification-settings", "portfolio:notification-settings", ("pm", "reviewer"),
          _url("portfolio:notification-settings")),
    Visit("dashboard", "scoring:dashboard", ("leader", "pm", "tpm", "admin"),
          _url("scoring:dashboard")),
    # Next quarter's funding line, and the list behind the first screen's "fund next".
    Visit("dashboard-next-quarter", "scoring:dashboard", ("leader",),
          lambda rows: reverse("scoring:dashboard") + f"?quarter={rows['next_quarter']}"),
    Visit("dashboard-fund-next", "scoring:dashboard", ("leader",),
          lambda rows: reverse("scoring:dashboard")
          + f"?quarter={rows['next_quarter']}&position=funded"),
    Visit("value", "scoring:value", ("leader", "pm"), _url("scoring:value")),
    # Leadership and admins change the plans; a PM reads them.
    Visit("capacity", "scoring:capacity", ("leader", "pm", "admin"), _url("scoring:capacity")),
    Visit("capacity-next-quarter", "scoring:capacity", ("leader",),
          lambda rows: reverse("scoring:capacity") + f"?quarter={rows['next_quarter']}"),
    # Leadership drafts (the form), an admin may apply, a PM reads one by its address.
    Visit("scenarios", "scoring:scenarios", ("leader", "pm", "admin"),
          _url("scoring:scenarios")),
    Visit("scenario", "scoring:scenario", ("leader", "pm", "admin"),
          _url("scoring:scenario", key="scenario")),
    Visit("scenario-edit", "scoring:scenario-edit", ("leader",),
          _url("scoring:scenario-edit", key="scenario")),
    Visit("admin-index", "admin:index", ("admin",), _url("admin:index")),
    Visit("admin-initiatives", "admin:portfolio_initiative_changelist", ("admin",),
          _url("admin:portfolio_initiative_changelist")),
    Visit("admin-initiative", "admin:portfolio_initiative_change", ("admin",),
          _url("admin:portfolio_initiative_change", object_id="initiative")),
    # Notifications and review routing, as admins keep them.
    Visit("admin-webhook-hosts", "admin:portfolio_webhookhost_changelist", ("admin",),
          _url("admin:portfolio_webhookhost_changelist")),
    Visit("admin-chat-channels", "admin:portfolio_chatchannel_changelist", ("admin",),
          _url("admin:portfolio_chatchannel_changelist")),
    Visit("admin-chat-channel", "admin:portfolio_chatchannel_change", ("admin",),
          _url("admin:portfolio_chatchannel_change", object_id="channel")),
    Visit("admin-chat-channel-new", "admin:portfolio_chatchannel_add", ("admin",),
          _url("admin:portfolio_chatchannel_add")),
    Visit("admin-notifications", "admin:portfolio_notification_changelist", ("admin",),
          _url("admin:portfolio_notification_changelist")),
    Visit("admin-notification", "admin:portfolio_notification_change", ("admin",),
          _url("admin:portfolio_notification_change", object_id="notification")),
    Visit("admin-daily-summaries", "admin:portfolio_dailysummary_changelist", ("admin",),
          _url("admin:portfolio_dailysummary_changelist")),
    Visit("admin-reviewer-groups", "admin:governance_reviewergroup_changelist", ("admin",),
          _url("admin:governance_reviewergroup_changelist")),
    Visit("admin-reviewer-group", "admin:governance_reviewergroup_change", ("admin",),
          _url("admin:governance_reviewergroup_change", object_id="group")),
    Visit("admin-review-routes", "admin:governance_reviewroute_changelist", ("admin",),
          _url("admin:governance_reviewroute_changelist")),
    # Sign-in: the account record, pinned roles, and the page of an account that signs in by
    # single sign-on (its identity, pins and last events).
    Visit("admin-account-record", "admin:portfolio_accountevent_changelist", ("admin",),
          _url("admin:portfolio_accountevent_changelist")),
    Visit("admin-account-event", "admin:portfolio_accountevent_change", ("admin",),
          _url("admin:portfolio_accountevent_change", object_id="account_event")),
    Visit("admin-role-pins", "admin:portfolio_rolepin_changelist", ("admin",),
          _url("admin:portfolio_rolepin_changelist")),
    # Django's two-list picker (groups, permissions) labels its search icon with an ARIA
    # attribute a <span> may not carry: its markup, not ours.
    Visit("admin-user-sso", "admin:auth_user_change", ("admin",),
          _url("admin:auth_user_change", object_id="signed_on"),
          axe_exclude=(".selector .search-label-icon",)),
)

# GET URLs of the site (outside the API and the Django admin) that are no page to look at.
NOT_PAGES = {
    "home": "redirects to the persona's own page",
    "healthz": "JSON for a monitor",
    "favicon": "the site's icon",
    "logout": "signing out is a POST",
    "sso-start": "redirects to the identity provider (the login page's button)",
    "sso-callback": "the identity provider's answer: signs in and redirects",
    "sso-logout": "redirects to the identity provider's sign-out",
    "portfolio:initiative-export": "a CSV download",
    "portfolio:initiative-import-template": "a CSV download",
    "scoring:dashboard-export": "a CSV download",
    "portfolio:initiative-similar": "a fragment the intake form's script asks for",
    "portfolio:initiative-search": "search results a picker's script asks for",
    "portfolio:people-search": "search results a picker's script asks for",
    "portfolio:update-create": "a form posted from the initiative's page",
    "portfolio:initiative-move": "a form posted from the initiative's page",
    "portfolio:stakeholder-create": "a form posted from the initiative's page",
    "portfolio:stakeholder-delete": "a form posted from the initiative's page",
    "portfolio:dependency-create": "a form posted from the initiative's page",
    "portfolio:dependency-delete": "a form posted from the initiative's page",
    "portfolio:stall-decide": "a form posted from the stalls page (a GET goes back there)",
    "portfolio:api-token-revoke": "a form posted from the API tokens page",
    "portfolio:measurement-create": "a form posted from the initiative's page",
    "portfolio:measurement-import-template": "a CSV download",
    "portfolio:contract-override": "a form posted from the initiative's page",
    "portfolio:value-review-record": "a form posted from the initiative's page",
    "portfolio:value-review-decide": "a form posted from the initiative's page",
    "scoring:scenario-delete": "a form posted from the scenario's edit page",
    "scoring:scenario-apply": "a form posted from the scenario's page (admins)",
    "api-schema": "the OpenAPI document (YAML)",
    "portfolio:inbox-count": "JSON the navigation's script asks for (the inbox's count)",
}


def test_the_sweep_visits_every_page_of_the_site():
    visited = {visit.url_name for visit in VISITS} - {""}
    every_name = {route.name for route in routes()}
    pages = {route.name for route in routes()
             if not route.text.startswith(("api/v1/", "admin/"))}

    unknown = sorted(pages - visited - NOT_PAGES.keys())
    stale = sorted((visited | NOT_PAGES.keys()) - every_name)

    assert unknown == [], "add these pages to VISITS (or, with the reason, to NOT_PAGES)"
    assert stale == [], "these names no longer resolve: update VISITS / NOT_PAGES"


# --- The sweep ----------------------------------------------------------------------------------

@pytest.fixture
def rows(demo_portfolio):
    """The demo rows the pages are read with, and the stress cases: a 200-character title
    without a space, and a signed-in user without a role."""
    pm = get_user_model().objects.get(username="pm")
    initiative = (Initiative.objects.filter(owner=pm, stage=Stage.PILOT).order_by("pk").first()
                  or Initiative.objects.filter(owner=pm).order_by("pk").first())
    long_title = InitiativeFactory(title=LONG_TITLE, owner=pm, team=initiative.team)
    reviewer = get_user_model().objects.get(username="reviewer")
    checkpoint = (Checkpoint.objects.filter(status=CheckpointStatus.IN_REVIEW)
                  .exclude(initiative__owner=reviewer).order_by("due_date", "pk").first())
    UserFactory(username="outsider", password=DEMO_PASSWORD)
    at_risk = (ValueReview.objects.filter(at_risk=True, decision="")
               .order_by("pk").values_list("initiative_id", flat=True).first())
    scenario = _scenario(get_user_model().objects.get(username="leader"))
    rejected = (Checkpoint.objects.filter(status=CheckpointStatus.REJECTED, initiative__owner=pm)
                .order_by("pk").first()
                or Checkpoint.objects.filter(status=CheckpointStatus.REJECTED)
                .order_by("pk").first())
    return {"initiative": initiative.pk, "long_title": long_title.pk,
            "checkpoint": checkpoint.pk, "at_risk": at_risk, "scenario": scenario.key,
            "next_quarter": quarter_label(*next_quarter(*quarter_of(timezone.now()))),
            "rejected": rejected.pk, **_notification_rows(initiative, checkpoint, pm, reviewer),
            **_sign_in_rows()}


def _sign_in_rows() -> dict:
    """An account created by single sign-on, a role an admin pinned on it, and a failed
    sign-in: what the demo, whose people sign in with passwords, has none of."""
    now = timezone.now()
    admin = get_user_model().objects.get(username="admin")
    signed_on = sso_sign_in(issuer="https://id.example.com", now=now - timedelta(days=2),
                            claims={"sub": "sub-sam", "preferred_username": "sam-sso",
                                    "email": "sam.sso@example.com", "given_name": "Sam",
                                    "family_name": "Rivera", "groups": ["everyone"]})
    role_pin_add(user=signed_on, role="reviewer", note="interim reviewer until the group exists",
                 actor=admin, now=now - timedelta(days=1))
    sign_in_failed(method="sso", reason="The provider's ID token has expired.",
                   username="mallory", ip="203.0.113.9", now=now - timedelta(hours=1))
    changed = (AccountEvent.objects.filter(user=signed_on, kind="roles_changed")
               .order_by("-at").first())
    return {"signed_on": signed_on.pk, "account_event": changed.pk}


def _notification_rows(initiative, checkpoint, pm, reviewer) -> dict:
    """A reviewer group its reviews of one type are routed to and a team's Slack channel
    (the demo's, or made here), and what the demo, which notifies nobody of its history, has
    none of: a delivered and a failed notification, a daily summary."""
    now = timezone.now()
    admin = get_user_model().objects.get(username="admin")
    group = ReviewerGroup.objects.filter(members=reviewer).order_by("pk").first()
    if group is None:
        group = governance.reviewer_group_save(group=ReviewerGroup(name="Security reviewers"),
                                               actor=admin, now=now)
        group.members.add(reviewer)
        governance.review_route_save(route=ReviewRoute(checkpoint_type_id=checkpoint.type_id,
                                                       group=group), actor=admin, now=now)
    channel = ChatChannel.objects.order_by("pk").first()
    if channel is None:
        if not WebhookHost.objects.filter(host="hooks.slack.com").exists():
            notifications.webhook_host_save(host=WebhookHost(host="hooks.slack.com"),
                                            actor=admin, now=now)
        channel = notifications.chat_channel_save(
            channel=ChatChannel(team=initiative.team, kind="slack", name="#ai-customer-ops"),
            url="https://hooks.slack.com/services/T000/B000/not-a-real-secret", actor=admin,
            now=now)
    activity = (Activity.objects.filter(initiative=initiative, notifications__isnull=True)
                .order_by("-at", "-pk").first())
    Notification.objects.create(activity=activity, recipient=pm, created_at=now,
                                status="sent", attempts=1, sent_at=now)
    failed = Notification.objects.create(
        activity=activity, channel=channel, created_at=now, status="failed", attempts=1,
        response_status=404, response_body="no_service", last_error="404 from Slack")
    if not DailySummary.objects.filter(recipient=pm, day=timezone.localdate(now)).exists():
        DailySummary.objects.create(recipient=pm, day=timezone.localdate(now), created_at=now,
                                    message_id="<summary.sweep@localhost>", status="sent",
                                    sent_at=now)
    return {"group": group.pk, "channel": channel.pk, "notification": failed.pk}


def _scenario(leader) -> Scenario:
    """The demo's saved scenario (the leader's); one drafted like it if the demo has none."""
    scenario = Scenario.objects.order_by("pk").first()
    if scenario is None:
        year, quarter = next_quarter(*quarter_of(timezone.now()))
        scenario = scenario_create(name="One more engineer", year=year, quarter=quarter,
                                   actor=leader, now=timezone.now())
    return scenario


def _sign_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def _blocking_violations(page, exclude: tuple[str, ...] = ()) -> list[str]:
    context = {"exclude": [[selector] for selector in exclude]} if exclude else None
    results = Axe().run(page, context=context,
                        options={"runOnly": {"type": "tag", "values": AXE_TAGS},
                                 "resultTypes": ["violations"]})
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] not in BLOCKING_IMPACTS:
            continue
        targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        found.append(f'{violation["id"]} ({violation["impact"]}): {violation["help"]} '
                     f"— {len(violation['nodes'])} element(s): {targets}")
    return found


def _check_page(page, visit: Visit, persona: str, url: str, folder: Path) -> list[str]:
    """Every width of one page as one persona: what is wrong with it, as sentences."""
    with override_settings(**dict(visit.settings)):
        return _check_page_as_set(page, visit, persona, url, folder)


def _check_page_as_set(page, visit: Visit, persona: str, url: str, folder: Path) -> list[str]:
    problems = []
    where = f"{visit.slug} as {persona}"
    page.set_viewport_size({"width": WIDTHS[0], "height": 844})
    response = page.goto(url)
    if response is None or response.status != visit.status:
        return [f"{where}: {url} answered {response and response.status}, "
                f"expected {visit.status}"]
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844 if width < 1000 else 900})
        # JPEG: half the time of a PNG on these long pages, and as readable.
        page.screenshot(path=folder / f"{visit.slug}--{persona}--{width}.jpg", full_page=True,
                        type="jpeg", quality=80)
        if width in NO_SIDEWAYS_SCROLL_AT:
            scroll, inner = page.evaluate(
                "[document.documentElement.scrollWidth, window.innerWidth]")
            if scroll > inner:
                problems.append(f"{where} at {width}px: the page is {scroll}px wide")
        if width == AXE_AT:
            # Once per page, with the phone's folds opened: what they hold is checked too.
            page.evaluate(FOLDS_OPEN, True)
            problems += [f"{where} at {width}px: {v}"
                         for v in _blocking_violations(page, visit.axe_exclude)]
            page.evaluate(FOLDS_OPEN, False)
    return problems


def test_every_page_fits_every_width_and_passes_axe_as_each_persona(browser, live_server, rows,
                                                                    screenshots):
    folder = screenshots / "pages"
    folder.mkdir(exist_ok=True)
    # SWEEP_ONLY=inbox,admin-chat: only the pages whose slug starts so (a developer's look at
    # the pages they changed; CI sweeps them all).
    only = tuple(filter(None, os.environ.get("SWEEP_ONLY", "").split(",")))
    visits = [visit for visit in VISITS if not only or visit.slug.startswith(only)]
    personas = dict.fromkeys(persona for visit in visits for persona in visit.personas)
    problems = []
    for persona in personas:
        # The CSP blocks injected scripts; axe-core is one, so it runs with the CSP bypassed.
        context = browser.new_context(bypass_csp=True)
        page = context.new_page()
        if persona != "anonymous":
            _sign_in(page, live_server.url, persona)
        if persona == "pm" and not only:
            problems += _check_phone_menu(page, live_server.url)
        if persona == "tpm" and not only:
            problems += _check_digest_email(page, folder)
        for visit in visits:
            if persona in visit.personas:
                url = live_server.url + visit.path(rows)
                problems += _check_page(page, visit, persona, url, folder)
        context.close()

    assert problems == [], "\n".join(problems)


def _check_digest_email(page, folder: Path) -> list[str]:
    """The weekly digest email, as the demo TPM would get it this week, read on a phone."""
    now = timezone.now()
    period = period_of(now)
    [digest] = digests_build(now=now, period=period, recipients=digest_recipients(
        period=period).filter(username="tpm"))
    _subject, _text, html = digest_render(digest)
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_content(html)
    page.screenshot(path=folder / "digest-email--tpm--390.jpg", full_page=True, type="jpeg",
                    quality=80)
    scroll = page.evaluate("document.documentElement.scrollWidth")
    if scroll > 390 or not digest.still_stalled + digest.newly_stalled + digest.escalated:
        return [f"the digest email is {scroll}px wide on a 390px phone (or lists no stall)"]
    return []


def _check_phone_menu(page, base_url: str) -> list[str]:
    """On a phone the navigation is folded into "Menu"; opening it shows every link."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base_url}/initiatives/?owner=me")
    sign_out = page.get_by_role("button", name="Sign out")
    problems = []
    if sign_out.is_visible():
        problems.append("on a phone the navigation is not folded into its menu")
    page.locator("summary", has_text="Menu").click()
    for control in (page.get_by_role("link", name="Dashboard"), sign_out):
        if not control.is_visible():
            problems.append(f"the opened phone menu does not show {control}")
    title = page.get_by_role("link", name=re.compile("^Unbroken"))
    if title.bounding_box()["width"] > 390:
        problems.append("a 200-character title without a space is wider than the phone")
    return problems
