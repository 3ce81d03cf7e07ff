"""A GET never writes: every page and API endpoint of the project, the Django admin's
included, read after writes that leave the stored standings stale, issues no INSERT, UPDATE
or DELETE.

The URLs come from the resolver, so a URL added later is covered without touching this
file — unless it takes arguments: then ``test_every_url_has_sample_arguments`` fails until
``SAMPLES`` says which ones to use. Each URL is read by the persona who may see it (its
expected status checked, so the view really ran), by leadership, by an admin and by a
superuser.
Everyone is signed in with ``force_login`` before anything is recorded: the session and
``last_login`` written at sign-in are not a GET of a page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from governance import services as governance
from governance.models import Checkpoint, ReviewerGroup, ReviewRoute
from portfolio import services
from portfolio.identity.services import role_pin_add, sign_in_failed, sso_sign_in
from portfolio.models import (
    ChatChannel,
    Dependency,
    Initiative,
    Stage,
    StallFlag,
    ValueReview,
    WebhookHost,
)
from portfolio.notifications import services as notifications
from portfolio.outcomes.services import contract_override, value_reviews_schedule
from portfolio.pilots.digest.delivery import digest_run
from portfolio.pilots.digest.subscriptions import digest_subscription_set
from portfolio.pilots.services import stalls_detect
from portfolio.tokens import api_token_create
from scoring import services as scoring
from scoring.capacity import capacity_plan_set, next_quarter, quarter_label, quarter_of
from scoring.models import CapacityPlan, StandingsInvalidation
from scoring.scenarios import scenario_create
from scoring.standings import standings_refresh
from tests.factories import (
    FIXED_NOW,
    InitiativeFactory,
    TeamFactory,
    approve_all_checkpoints,
    in_production,
    measure,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

# A statement that changes a row, wherever it stands (a CTE may end in one).
WRITE_SQL = re.compile(r"\b(INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM)\b", re.IGNORECASE)
# A parameter in a route (``<int:pk>``) or in a regular expression, named
# (``(?P<pk>[0-9]+)``) or not (``([^/]+)``, which django-simple-history's admin uses).
PARAMETER = re.compile(
    r"<(?:\w+:)?(?P<route>\w+)>|\(\?P<(?P<regex>\w+)>[^)]*\)|(?P<positional>\((?!\?)[^)]*\))")
# The Django admin's URLs for one model: /admin/<app>/<model>/...
ADMIN_MODEL = re.compile(r"^admin/(?P<app>\w+)/(?P<model>\w+)/")


@dataclass(frozen=True)
class Route:
    """One URL pattern of the project, its prefixes and namespaces included."""

    text: str  # "initiatives/<int:pk>/edit/", "api/v1/^stalls/(?P<pk>[0-9]+)/$"
    name: str  # "portfolio:initiative-edit"; "" for the few patterns without a name
    callback: object

    @property
    def parameters(self) -> list[str]:
        """Their names; an unnamed group is called by its place: ``#0``, ``#1``."""
        names, unnamed = [], 0
        for match in PARAMETER.finditer(self.text):
            if match["positional"]:
                names.append(f"#{unnamed}")
                unnamed += 1
            else:
                names.append(match["route"] or match["regex"])
        return names

    @property
    def admin_model(self):
        match = ADMIN_MODEL.match(self.text)
        if match is None:
            return None
        try:
            return apps.get_model(match["app"], match["model"])
        except LookupError:
            return None

    def path(self, values: dict) -> str:
        names = iter(self.parameters)
        filled = PARAMETER.sub(lambda _: str(values[next(names)]), self.text)
        for token, text in (("^", ""), ("$", ""), ("\\Z", ""), ("\\.", "."), ("/?", "")):
            filled = filled.replace(token, text)
        return "/" + filled


def routes(resolver: URLResolver | None = None, prefix: str = "", namespace: str = ""):
    for pattern in (resolver or get_resolver()).url_patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = ":".join(part for part in (namespace, pattern.namespace) if part)
            yield from routes(pattern, text, inner)
        elif isinstance(pattern, URLPattern):
            name = ":".join(part for part in (namespace, pattern.name) if part) \
                if pattern.name else ""
            yield Route(text, name, pattern.callback)


# --- What each URL is read with, by whom, and what it answers ---------------------------------

def _initiative(w):
    return {"pk": w["initiative"].pk}


def _checkpoint(w):
    return {"pk": w["checkpoint"].pk}


def _flag(w):
    return {"pk": w["flag"].pk}


def _scenario(w):
    return {"key": w["scenario"].key}


# The arguments of every URL that takes some, by URL name. The admin's per-model URLs, a
# DRF format suffix and the admin's catch-all are filled in by ``sample_arguments``.
SAMPLES = {
    "portfolio:initiative-detail": _initiative,
    "portfolio:initiative-edit": _initiative,
    "portfolio:initiative-reassign": _initiative,
    "portfolio:update-create": _initiative,
    "portfolio:initiative-move": _initiative,
    "portfolio:stakeholder-create": _initiative,
    "portfolio:stakeholder-delete": lambda w: {"pk": w["initiative"].pk,
                                               "stakeholder_id": w["stakeholder"].pk},
    "portfolio:dependency-create": _initiative,
    "portfolio:dependency-delete": lambda w: {"pk": w["initiative"].pk,
                                              "depends_on_id": w["dependency"].depends_on_id},
    "portfolio:stall-decide": lambda w: {"flag_id": w["flag"].pk},
    "portfolio:measurement-create": _initiative,
    "portfolio:measurement-import": _initiative,
    "portfolio:measurement-import-template": _initiative,
    "portfolio:contract-override": _initiative,
    "portfolio:value-review-record": lambda w: {"review_id": w["review"].pk},
    "portfolio:value-review-decide": lambda w: {"review_id": w["review"].pk},
    "portfolio:api-token-revoke": lambda w: {"pk": w["token"].pk},
    "governance:checkpoint-decide": _checkpoint,
    "api:initiative-detail": _initiative,
    "api:initiative-move": _initiative,
    "api:initiative-updates": _initiative,
    "api:initiative-measurements": _initiative,
    "api:initiative-overrides": _initiative,
    "api:value-review-detail": lambda w: {"pk": w["review"].pk},
    "api:value-review-record": lambda w: {"pk": w["review"].pk},
    "api:value-review-decision": lambda w: {"pk": w["review"].pk},
    "api:team-detail": lambda w: {"pk": w["team"].pk},
    "api:stall-detail": _flag,
    "api:stall-decide": _flag,
    "governance-api:checkpoint-detail": _checkpoint,
    "governance-api:checkpoint-decide": _checkpoint,
    "governance-api:checkpoint-start-review": _checkpoint,
    "governance-api:checkpoint-waive": _checkpoint,
    "governance-api:checkpoint-re-review": _checkpoint,
    "scoring-api:capacity-plan-detail": lambda w: {"pk": w["plan"].pk},
    "scoring:scenario": _scenario,
    "scoring:scenario-edit": _scenario,
    "scoring:scenario-delete": _scenario,
    "scoring:scenario-apply": _scenario,
    "scoring-api:scenario-detail": _scenario,
    "admin:app_list": lambda w: {"app_label": "portfolio"},
    "admin:auth_user_password_change": lambda w: {"id": w["initiative"].owner_id},
    "admin:view_on_site": lambda w: {
        "content_type_id": ContentType.objects.get_for_model(Initiative).pk,
        "object_id": w["initiative"].pk},
}
# Arguments every URL that has them takes the same way.
GENERIC = {"format": "json", "url": "no-such-page/"}

# Who may see each URL (leadership reads everything not listed here).
VIEWERS = {
    "login": "anonymous", "healthz": "anonymous",
    "sso-start": "anonymous", "sso-callback": "anonymous", "sso-logout": "anonymous",
    "no-role": "outsider",
    "portfolio:initiative-create": "pm", "portfolio:initiative-edit": "pm",
    "portfolio:initiative-similar": "pm",
    "portfolio:update-create": "pm", "portfolio:initiative-move": "pm",
    "portfolio:stakeholder-create": "pm", "portfolio:stakeholder-delete": "pm",
    "portfolio:dependency-create": "pm", "portfolio:dependency-delete": "pm",
    "portfolio:initiative-import": "pm", "portfolio:initiative-import-template": "pm",
    "portfolio:api-tokens": "pm", "portfolio:api-token-revoke": "pm",
    "portfolio:ownership-health": "tpm", "portfolio:initiative-reassign": "tpm",
    "portfolio:stall-decide": "tpm",
    "portfolio:measurement-create": "pm", "portfolio:measurement-import": "pm",
    "portfolio:measurement-import-template": "pm", "portfolio:value-review-record": "pm",
    "portfolio:digest-settings": "tpm", "portfolio:digest-preview": "tpm",
    "governance:review-queue": "reviewer", "governance:checkpoint-decide": "reviewer",
}
# What the viewer gets, where it is not 200 OK.
EXPECTED = {
    "home": 302,  # each role lands on its own page
    "favicon": 301,  # to the static icon
    "logout": 405,  # signing out is a POST
    "sso-start": 404,  # single sign-on is off here (tests/e2e/test_sso.py turns it on)
    "sso-callback": 404,
    "sso-logout": 302,  # nothing to sign out of at the provider: back to the login page
    "portfolio:update-create": 405,  # forms posted from the detail page
    "portfolio:initiative-move": 405,
    "portfolio:stakeholder-create": 405,
    "portfolio:stakeholder-delete": 405,
    "portfolio:dependency-create": 405,
    "portfolio:dependency-delete": 405,
    "portfolio:stall-decide": 302,  # back to the list, where the decision is made
    "portfolio:api-token-revoke": 405,
    "portfolio:measurement-create": 405,
    "portfolio:contract-override": 405,
    "portfolio:value-review-record": 405,
    "portfolio:value-review-decide": 405,
    "api:initiative-move": 405,  # API actions are POSTs
    "api:stall-decide": 405,
    "api:value-review-record": 405,
    "api:value-review-decision": 405,
    "governance-api:checkpoint-decide": 405,
    "governance-api:checkpoint-start-review": 405,
    "governance-api:checkpoint-waive": 405,
    "governance-api:checkpoint-re-review": 405,
    "scoring:scenario-delete": 405,  # forms posted from the scenario's pages
    "scoring:scenario-apply": 405,
    "admin:login": 302,  # signed in already: to the admin's index
    "admin:logout": 405,
    "admin:autocomplete": 403,  # a widget's request, without its parameters
    "portfolio:people-search": 400,  # a picker's request, without the role it searches for
    "admin:view_on_site": 302,  # to the initiative's own page
}


def sample_arguments(route: Route, world) -> dict | None:
    """The values for ``route``'s parameters; None if nobody has said what they are, or if
    the world has no row to read (an admin model without one)."""
    values = dict(SAMPLES[route.name](world)) if route.name in SAMPLES else {}
    model = route.admin_model
    for name in route.parameters:
        if name in values:
            continue
        if name in GENERIC:
            values[name] = GENERIC[name]
        elif model is not None and name == "object_id":  # the model's first row
            values[name] = model._default_manager.order_by("pk").values_list(
                "pk", flat=True).first()
        elif model is not None and name == "#0":  # a past version (django-simple-history)
            version = model.history.order_by("history_id").values_list(
                model._meta.pk.attname, "history_id").first()
            values["#0"], values["#1"] = version or (None, None)
        elif name != "#1":
            return None
    return None if None in values.values() else values


def viewer_of(route: Route) -> str:
    if route.name.startswith("admin:") or route.text.startswith("admin/"):
        return "superuser"
    return VIEWERS.get(route.name, "leader")


def expected_status(route: Route, values: dict, user) -> int:
    if not route.name and route.text.startswith("admin/"):
        # The admin's unnamed patterns: the catch-all (no such page), and the old change
        # URL (/admin/<app>/<model>/<id>/), which sends to .../change/.
        return 404 if "(?P<url>" in route.text else 302
    if route.admin_model is not None and route.name.endswith(("_add", "_delete")):
        # A record the admin keeps read-only (a log, a decision, derived data): 403.
        request = RequestFactory().get("/")
        request.user = user
        model_admin = admin.site.get_model_admin(route.admin_model)
        allowed = (model_admin.has_add_permission(request) if route.name.endswith("_add")
                   else model_admin.has_delete_permission(
                       request, route.admin_model._default_manager.get(pk=values["object_id"])))
        return 200 if allowed else 403
    return EXPECTED.get(route.name, 200)


# --- A portfolio with a row of everything, and standings left stale ---------------------------

@pytest.fixture
def world(pm, other_pm, reviewer, tpm, leader, superuser):
    now = FIXED_NOW
    team = TeamFactory(name="Claims", slug="claims")
    initiative = services.initiative_create(
        actor=pm, now=now - timedelta(days=60), title="Claims triage assistant", team=team,
        reach=1000, impact=1.0, confidence=100, effort_weeks=Decimal(4))
    other = services.initiative_create(actor=other_pm, now=now - timedelta(days=60),
                                       title="Refund assistant", team=team)
    stakeholder = services.stakeholder_add(initiative=initiative, user=other_pm, role="R",
                                           actor=pm, now=now - timedelta(days=50))
    services.dependency_add(initiative=initiative, depends_on=other, actor=pm,
                            now=now - timedelta(days=50))
    services.update_post(initiative=initiative, author=pm, body="Vendor signed.",
                         health="on_track", now=now - timedelta(days=40))
    governance.checkpoints_sync(initiatives=[initiative, other], actor=pm,
                                now=now - timedelta(days=40))
    approve_all_checkpoints(other, reviewer=reviewer, at=now - timedelta(days=35))
    services.initiative_move_stage(initiative=other, to_stage=Stage.ASSESSMENT, actor=other_pm,
                                   now=now - timedelta(days=30))
    checkpoint = Checkpoint.objects.filter(initiative=initiative).order_by("pk").first()
    InitiativeFactory(title="Stalled pilot", owner=pm, team=team, stage=Stage.PILOT,
                      contracted=True, stage_changed_at=now - timedelta(days=120),
                      last_activity_at=now - timedelta(days=2))
    stalls_detect(now=now - timedelta(days=1))
    live = in_production(entered=now - timedelta(days=40), owner=pm, team=team,
                         title="Claims chatbot")
    measure(live, on=(now - timedelta(days=45)).date())
    value_reviews_schedule(now=now - timedelta(days=5))
    # Reviews of one type routed to a group; the team's Slack channel, which hears of the
    # override below (an outbox row), and the PM's daily summary of it.
    group = governance.reviewer_group_save(group=ReviewerGroup(name="Claims reviewers"),
                                           actor=superuser, now=now - timedelta(days=3))
    group.members.add(reviewer)
    governance.review_route_save(route=ReviewRoute(checkpoint_type=checkpoint.type, group=group),
                                 actor=superuser, now=now - timedelta(days=3))
    notifications.webhook_host_save(host=WebhookHost(host="hooks.slack.com"), actor=superuser,
                                    now=now - timedelta(days=3))
    notifications.chat_channel_save(
        channel=ChatChannel(team=team, kind="slack", name="#ai-claims"),
        url="https://hooks.slack.com/services/T000/B000/secret", actor=superuser,
        now=now - timedelta(days=3))
    held = InitiativeFactory(title="Claims letters pilot", owner=pm, team=team,
                             stage=Stage.PILOT, contracted=True,
                             stage_changed_at=now - timedelta(days=70),
                             last_activity_at=now - timedelta(days=2))
    measure(held, 20, on=(now - timedelta(days=3)).date())
    contract_override(initiative=held, kind="target_missed", reason="Learn in production.",
                      actor=leader, now=now - timedelta(days=2))
    notifications.daily_summaries_run(now=now - timedelta(days=1), enqueue=False)
    digest_subscription_set(user=tpm, teams=[team], opted_out=False, now=now)
    digest_run(now=now, enqueue=False)
    token, _ = api_token_create(user=pm, name="CLI", now=now)
    year, quarter = quarter_of(now)
    capacity_plan_set(team=team, year=year, quarter=quarter, engineer_weeks=Decimal(10),
                      actor=superuser, now=now)
    ahead = next_quarter(year, quarter)
    capacity_plan_set(team=team, year=ahead[0], quarter=ahead[1], engineer_weeks=Decimal(12),
                      actor=superuser, now=now)
    scenario = scenario_create(name="Two more engineers", year=ahead[0], quarter=ahead[1],
                               capacities={team: Decimal(20)}, pinned_in=[other],
                               actor=leader, now=now)
    scoring.funding_line_record(now=now)
    services.worker_heartbeat_record(name="worker@test", now=now)
    for log in (AccessAttempt, AccessFailureLog, AccessLog):  # what django-axes records
        extra = {"get_data": "", "post_data": "", "failures_since_start": 1} \
            if log is AccessAttempt else {}
        log.objects.create(username="someone", ip_address="203.0.113.9", user_agent="test",
                           http_accept="text/html", path_info="/login/", **extra)
    # Sign-in's record: an account created by single sign-on, a role pinned on it by an
    # admin, and a failed password sign-in.
    signed_on = sso_sign_in(issuer="https://id.example.com", now=now - timedelta(days=2),
                            claims={"sub": "sub-sam", "preferred_username": "sam-sso",
                                    "email": "sam@example.com", "groups": ["everyone"]})
    role_pin_add(user=signed_on, role="reviewer", note="interim reviewer", actor=superuser,
                 now=now - timedelta(days=1))
    sign_in_failed(method="password", username="mallory", reason="wrong password",
                   ip="203.0.113.9", now=now - timedelta(hours=1))
    standings_refresh(now=now, force=True)
    # Writes after the refresh: the standings are stale when the pages are read.
    services.initiative_update(initiative=initiative, actor=pm, now=now,
                               expected_version=Initiative.objects.get(pk=initiative.pk).version,
                               changes={"reach": 2000})
    services.update_post(initiative=other, author=other_pm, body="Blocked on data.",
                         health="blocked", now=now)
    governance.checkpoint_type_save(checkpoint_type=checkpoint.type, actor=superuser, now=now)
    scoring.scoring_model_create(name="Bets", method="wsjf", actor=superuser, now=now)
    assert StandingsInvalidation.objects.exists()
    return {"team": team, "initiative": initiative, "stakeholder": stakeholder,
            "dependency": Dependency.objects.get(initiative=initiative),
            "checkpoint": checkpoint, "flag": StallFlag.objects.get(), "token": token,
            "plan": CapacityPlan.objects.get(team=team, year=year, quarter=quarter),
            "scenario": scenario, "next_quarter": quarter_label(*ahead),
            "review": ValueReview.objects.get(initiative=live), "group": group,
            "signed_on": signed_on}


@pytest.fixture
def clients(request):
    """A browser per persona, signed in before anything is recorded. A server error is a
    500 to look at, not an exception that stops the round."""
    signed_in = {"anonymous": Client(raise_request_exception=False)}
    for persona in ("pm", "reviewer", "tpm", "leader", "outsider", "staff", "superuser"):
        client = Client(raise_request_exception=False)
        client.force_login(request.getfixturevalue(persona))
        signed_in[persona] = client
    return signed_in


# --- The tests ----------------------------------------------------------------------------------

def test_every_url_has_sample_arguments(world):
    missing = [route.text for route in routes() if sample_arguments(route, world) is None]

    assert missing == [], "add their arguments to SAMPLES (or a row of their model to world)"


def test_every_url_builds_a_path_that_resolves_to_it(world):
    wrong = []
    for route in routes():
        path = route.path(sample_arguments(route, world))
        if resolve(path).func is not route.callback:
            wrong.append((route.text, path))

    assert wrong == []


def test_no_get_of_a_page_or_an_endpoint_writes(world, clients, superuser):
    assert len(list(routes())) > 200  # pages, API, the admin's pages for every model
    writes, statuses = [], []
    for route in routes():
        values = sample_arguments(route, world)
        path = route.path(values)
        viewer = viewer_of(route)
        expected = expected_status(route, values, superuser)
        for persona in dict.fromkeys((viewer, "leader", "staff", "superuser")):
            with CaptureQueriesContext(connection) as captured:
                response = clients[persona].get(path)
                if response.streaming:
                    b"".join(response.streaming_content)
            writes += [(path, persona, query["sql"]) for query in captured
                       if WRITE_SQL.search(query["sql"])]
            if response.status_code >= 500 or (
                    persona == viewer and response.status_code != expected):
                statuses.append((path, persona, response.status_code))

    assert writes == []
    assert statuses == []
    assert StandingsInvalidation.objects.exists()  # still stale: only the worker refreshes


def test_no_get_of_another_quarter_or_a_funding_position_writes(world, clients):
    """The query strings the URL walk does not try: the dashboard, its export and its API
    for next quarter and at each funding position, the capacity plans of next quarter."""
    ahead = world["next_quarter"]
    reads = [
        ("scoring:dashboard", f"quarter={ahead}"),
        ("scoring:dashboard", f"quarter={ahead}&position=funded"),
        ("scoring:dashboard", f"quarter={ahead}&position=blocked&blocker=exit+contract"),
        ("scoring:dashboard", "position=below_line&team=claims"),
        ("scoring:dashboard", "quarter=1999-Q1"),  # not planned: a field error, this quarter
        ("scoring:dashboard-export", f"quarter={ahead}&position=committed"),
        ("scoring:capacity", f"quarter={ahead}"),
        ("scoring:capacity", f"quarter={ahead}&copy=previous"),
        ("scoring-api:ranking", f"quarter={ahead}&position=funded"),
        ("scoring-api:dashboard", f"quarter={ahead}"),
    ]
    writes, statuses = [], []
    for name, params in reads:
        path = f"{reverse(name)}?{params}"
        for persona in ("leader", "superuser"):
            with CaptureQueriesContext(connection) as captured:
                response = clients[persona].get(path)
                if response.streaming:
                    b"".join(response.streaming_content)
            writes += [(path, persona, query["sql"]) for query in captured
                       if WRITE_SQL.search(query["sql"])]
            if response.status_code >= 500:
                statuses.append((path, persona, response.status_code))

    assert writes == []
    assert statuses == []
    assert StandingsInvalidation.objects.exists()


def test_no_get_of_the_review_queue_filters_or_of_waiting_on_me_writes(world, clients):
    """The review queue's search, "mine", reviewer group and grouping (the URL walk reads it
    unfiltered), and "Waiting on me" and the notification settings as the people whose
    sections hold something."""
    group = world["group"].pk
    reads = [
        ("governance:review-queue", "q=claims", ("reviewer", "superuser")),
        ("governance:review-queue", f"q=%23{world['initiative'].pk}", ("reviewer",)),
        ("governance:review-queue", "mine=1", ("reviewer", "superuser")),
        ("governance:review-queue", f"group={group}", ("reviewer", "superuser")),
        ("governance:review-queue", "by=initiative", ("reviewer", "superuser")),
        ("governance:review-queue", f"q=claims&mine=1&group={group}&by=initiative&status=pending",
         ("reviewer", "superuser")),
        ("governance:review-queue", "group=999999&by=nonsense", ("reviewer",)),
        ("portfolio:inbox", "", ("pm", "reviewer", "tpm", "leader", "staff", "superuser")),
        ("portfolio:notification-settings", "", ("pm", "reviewer", "tpm", "superuser")),
    ]
    writes, statuses = [], []
    for name, params, personas in reads:
        path = reverse(name) + (f"?{params}" if params else "")
        for persona in personas:
            with CaptureQueriesContext(connection) as captured:
                response = clients[persona].get(path)
            writes += [(path, persona, query["sql"]) for query in captured
                       if WRITE_SQL.search(query["sql"])]
            if response.status_code != 200:
                statuses.append((path, persona, response.status_code))

    assert writes == []
    assert statuses == []


SSO_ON = {"OIDC_ISSUER": "http://127.0.0.1:9", "SSO_ENABLED": True, "OIDC_RP_CLIENT_ID": "x",
          "OIDC_RP_CLIENT_SECRET": "y", "OIDC_PROVIDER_NAME": "Okta"}


def test_no_get_of_the_sign_in_pages_or_an_accounts_record_writes(world, clients, settings):
    """What the URL walk does not reach: the page of an account that signs in by single
    sign-on (its identity, pins and last events), its record filtered, and the login page
    with single sign-on on, and with password sign-in off as well."""
    signed_on = world["signed_on"]
    record = reverse("admin:portfolio_accountevent_changelist")
    reads = [
        (reverse("admin:auth_user_change", args=[signed_on.pk]), ("superuser", "staff")),
        (f"{record}?user__id__exact={signed_on.pk}", ("superuser", "staff")),
        (f"{record}?kind__exact=sign_in_failed&method__exact=password", ("superuser",)),
        (reverse("admin:portfolio_rolepin_changelist"), ("superuser", "staff")),
    ]
    writes, statuses = [], []

    def read(path, personas):
        for persona in personas:
            with CaptureQueriesContext(connection) as captured:
                response = clients[persona].get(path)
            writes.extend((path, persona, query["sql"]) for query in captured
                          if WRITE_SQL.search(query["sql"]))
            # A staff account without the admin's view permissions is refused (403).
            if response.status_code != 200 and persona != "staff":
                statuses.append((path, persona, response.status_code))

    for path, personas in reads:
        read(path, personas)
    for overrides in (SSO_ON, {**SSO_ON, "PASSWORD_SIGN_IN": False}):
        for name, value in overrides.items():
            setattr(settings, name, value)
        read(reverse("login"), ("anonymous",))

    assert writes == []
    assert statuses == []
