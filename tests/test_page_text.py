"""What pages say to people (issue 17, item 5): no internal setting names, and empty lists
that say what to do next.

Setting names are the variables `.env.example` lists; pages say the values in words
("in pilot longer than 90 days, or idle for more than 21 days").
"""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from portfolio.models import Stakeholder
from tests.factories import InitiativeFactory, StallFlagFactory, TeamFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

ROOT = Path(__file__).resolve().parents[1]
SETTING_NAMES = sorted(set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=",
                                      (ROOT / ".env.example").read_text(), re.MULTILINE)))

# (persona, path): every page a person reads, as the role that uses it.
PAGES = [
    ("pm", "/initiatives/"),
    ("pm", "/initiatives/?mine=true"),
    ("pm", "/initiatives/new/"),
    ("pm", "/initiatives/import/"),
    ("leader", "/initiatives/kill-log/"),
    ("tpm", "/initiatives/ownership/"),
    ("leader", "/dashboard/"),
    ("reviewer", "/governance/queue/"),
    ("tpm", "/stalls/"),
    ("tpm", "/digest/settings/"),
    ("tpm", "/digest/preview/"),
    ("pm", "/account/tokens/"),
    ("pm", "/api/schema/?format=json"),
]


def visible_text(html: str) -> str:
    """The page as read: text and the attributes people see (titles, labels), no markup."""
    shown = re.sub(r'\b(?:href|src|class|id|name|for|action|data-[\w-]+)="[^"]*"', "", html)
    return shown


def test_the_env_example_lists_the_settings_this_test_looks_for():
    assert {"PILOT_MAX_DAYS", "PILOT_IDLE_DAYS", "OWNER_SILENT_DAYS",
            "API_USER_RATE"} <= set(SETTING_NAMES)


@pytest.mark.parametrize(("persona", "path"), PAGES)
def test_no_page_names_an_internal_setting(client, request, persona, path):
    owner = request.getfixturevalue("pm")
    pilot = InitiativeFactory(title="Claims triage copilot", owner=owner, stage="pilot")
    StallFlagFactory(initiative=pilot, reason="too_long")
    client.force_login(request.getfixturevalue(persona))

    response = client.get(path)

    assert response.status_code == 200
    text = visible_text(response.content.decode())
    assert [name for name in SETTING_NAMES if name in text] == []


def test_the_dashboard_states_the_thresholds_in_words(client, leader, settings):
    settings.PILOT_MAX_DAYS, settings.PILOT_IDLE_DAYS, settings.OWNER_SILENT_DAYS = 90, 30, 21
    client.force_login(leader)

    body = client.get("/dashboard/").content.decode()

    assert "in pilot longer than 90 days, or idle for more than 30 days" in body
    assert "no word from the owner in more than 21 days" in body


def test_the_api_schema_states_the_rate_limits_in_words(client, pm):
    client.force_login(pm)

    schema = client.get("/api/schema/", {"format": "json"}).json()

    described = schema["paths"]["/api/v1/initiatives/"]["get"]["responses"]["429"]["description"]
    assert described.startswith("Too many requests: more than 100000 requests per minute "
                                "from this user, or more than 100000 per minute failed token")


# --- Empty states -------------------------------------------------------------------------

# (persona, path, what it says, where it leads) on an empty portfolio.
EMPTY = [
    ("pm", "/initiatives/", "No initiatives have been logged yet.", "portfolio:initiative-create"),
    ("leader", "/initiatives/", "Product managers log them", None),
    ("pm", "/initiatives/?mine=true", "You own no initiative and are Responsible for none yet.",
     "portfolio:initiative-create"),
    ("leader", "/initiatives/kill-log/", "No initiative has been retired yet.",
     "portfolio:initiative-list"),
    ("tpm", "/initiatives/ownership/", "nothing to repair", "portfolio:initiative-list"),
    ("pm", "/dashboard/", "No initiatives have been logged yet.", "portfolio:initiative-create"),
    ("reviewer", "/governance/queue/", "Nothing is waiting for review.",
     "portfolio:initiative-list"),
    ("tpm", "/stalls/", "No stalled pilots", "portfolio:initiative-list"),
    ("tpm", "/digest/settings/", "No digest has been sent to you yet.",
     "portfolio:digest-preview"),
    ("pm", "/account/tokens/", "You have no API tokens yet.", "api-docs"),
]


@pytest.mark.parametrize(("persona", "path", "says", "leads_to"), EMPTY)
def test_an_empty_list_says_what_to_do_next(client, request, persona, path, says, leads_to):
    client.force_login(request.getfixturevalue(persona))

    body = client.get(path).content.decode()
    empty = re.search(r'<p class="empty">(.*?)</p>', body, re.DOTALL)

    assert empty, body
    assert says in empty[1]
    assert "No initiative matches" not in body
    if leads_to:
        assert f'href="{reverse(leads_to)}' in empty[1]


def test_a_role_that_cannot_log_is_not_offered_a_link_to_log(client, leader):
    client.force_login(leader)

    body = client.get("/initiatives/").content.decode()

    assert reverse("portfolio:initiative-create") not in body


def test_my_initiatives_with_a_filter_that_matches_nothing_offers_to_clear_it(client, pm):
    initiative = InitiativeFactory(title="Claims triage copilot", team=TeamFactory())
    Stakeholder.objects.create(initiative=initiative, user=pm, role=Stakeholder.Role.RESPONSIBLE)
    client.force_login(pm)

    body = client.get("/initiatives/", {"mine": "true", "q": "nothing like it"}).content.decode()

    assert "No initiative matches these filters." in body
    assert 'href="/initiatives/?mine=true">Clear them</a>' in body
