"""Each person's notification settings (/settings/notifications/): one choice per kind of
event people are told about — immediately, in a daily summary, or off — saved all or
nothing; outsiders get 404."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from portfolio import hooks
from portfolio.models import NotificationPreference
from portfolio.notifications.services import UNKNOWN_MODE, notification_modes
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/settings/notifications/"


class _Radios(HTMLParser):
    """The page's radio buttons: {name: (every value, the checked one)}."""

    def __init__(self):
        super().__init__()
        self.groups: dict[str, list[str]] = {}
        self.checked: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "radio":
            self.groups.setdefault(attrs["name"], []).append(attrs["value"])
            if "checked" in attrs:
                self.checked[attrs["name"]] = attrs["value"]


def radios(html: str) -> _Radios:
    parser = _Radios()
    parser.feed(html)
    return parser


def all_modes(mode: str) -> dict[str, str]:
    return dict.fromkeys(hooks.notifying_kinds(), mode)


def test_the_page_has_its_url_and_a_place_in_the_navigation(client, pm):
    client.force_login(pm)

    page = client.get("/initiatives/").content.decode()

    assert reverse("portfolio:notification-settings") == URL
    assert f'href="{URL}"' in page


def test_every_kind_is_a_row_with_three_choices_and_the_current_one_checked(client, pm):
    client.force_login(pm)

    response = client.get(URL)
    html = response.content.decode()
    found = radios(html)

    assert response.status_code == 200
    kinds = hooks.notifying_kinds()
    assert set(found.groups) == set(kinds)
    for kind, notify in kinds.items():
        assert notify.label in html
        assert found.groups[kind] == ["immediate", "daily", "off"]
        assert found.checked[kind] == notify.default_mode
    assert "Immediately" in html
    assert "In a daily summary" in html
    assert "Off" in html
    # The overrides arrive daily unless someone says otherwise.
    assert found.checked["contract_overridden"] == "daily"


def test_the_page_says_when_the_summary_goes_and_where_emails_go_without_setting_names(
        client, pm, settings):
    settings.DAILY_SUMMARY_HOUR = 7
    client.force_login(pm)

    html = client.get(URL).content.decode()

    assert "around 07:00 (UTC)" in html
    assert "weekly digest is not affected" in html
    assert "owner-pm@example.com" in html
    assert "DAILY_SUMMARY_HOUR" not in html
    assert "TIME_ZONE" not in html


def test_someone_without_an_email_address_is_told_nothing_can_reach_them(client):
    nobody = UserFactory(username="no-mail", email="", roles=["reviewer"])
    client.force_login(nobody)

    html = client.get(URL).content.decode()

    assert "has no email address" in html
    assert "nothing can be emailed to you" in html


def test_saving_keeps_each_choice_and_comes_back_with_a_message(client, pm):
    client.force_login(pm)
    choices = all_modes("immediate") | {"checkpoint_decided": "daily",
                                        "stall_flagged": "off"}

    response = client.post(URL, choices)
    page = client.get(URL)

    assert response.status_code == 302
    assert response.url == URL
    assert notification_modes(pm) == choices
    assert "Your notification settings are saved." in page.content.decode()
    found = radios(page.content.decode())
    assert found.checked["checkpoint_decided"] == "daily"
    assert found.checked["stall_flagged"] == "off"


def test_a_bogus_choice_is_refused_on_its_row_and_nothing_is_saved(client, pm):
    client.force_login(pm)
    choices = all_modes("off") | {"review_requested": "hourly"}

    response = client.post(URL, choices)
    html = response.content.decode()

    assert response.status_code == 400
    assert UNKNOWN_MODE in html
    assert 'id="id_review_requested_error"' in html  # on the row, not above the form
    assert html.count(UNKNOWN_MODE) == 1
    assert not NotificationPreference.objects.filter(user=pm).exists()


def test_a_missing_choice_is_refused_too(client, pm):
    client.force_login(pm)
    choices = all_modes("off")
    del choices["stall_escalated"]

    response = client.post(URL, choices)

    assert response.status_code == 400
    assert UNKNOWN_MODE in response.content.decode()
    assert not NotificationPreference.objects.filter(user=pm).exists()


def test_each_person_changes_only_their_own_settings(client, pm, other_pm):
    client.force_login(pm)

    client.post(URL, all_modes("off"))

    assert set(notification_modes(pm).values()) == {"off"}
    assert notification_modes(other_pm)["checkpoint_decided"] == "immediate"


@pytest.mark.parametrize("method", ["get", "post"])
def test_outsiders_get_404(client, outsider, method):
    client.force_login(outsider)

    response = getattr(client, method)(URL, all_modes("off"))

    assert response.status_code == 404
    assert not NotificationPreference.objects.filter(user=outsider).exists()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert "login" in response.url
