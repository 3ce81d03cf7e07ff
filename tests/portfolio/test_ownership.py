"""Ownership health: owners who left, silent owners, nobody Responsible.

Time is frozen at ``NOW`` for the pages; the selector takes ``now`` directly.
"""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse

from portfolio import selectors, services
from portfolio.forms import OwnershipFilterForm
from portfolio.models import Activity, Initiative, Stakeholder, Update
from tests.factories import FIXED_NOW, TeamFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = FIXED_NOW
PAGE_URL = "/initiatives/ownership/"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def silent_after_21_days(settings):
    settings.OWNER_SILENT_DAYS = 21


def days_ago(days, **extra):
    return NOW - timedelta(days=days, **extra)


def make(title="Claims triage copilot", *, owner, created=60, stage="pilot", team=None,
         responsible=None, **fields):
    """An initiative created ``created`` days ago by its owner (the creation is their act)."""
    reason = fields.pop("retirement_reason", "")   # a new initiative is an idea
    initiative = services.initiative_create(
        actor=owner, owner=owner, now=days_ago(created), title=title,
        team=team or TeamFactory(), **fields)
    if stage != "idea":
        Initiative.objects.filter(pk=initiative.pk).update(stage=stage, retirement_reason=reason)
        initiative.refresh_from_db()
    for user in responsible or []:
        Stakeholder.objects.create(initiative=initiative, user=user, role="R")
    return initiative


def act(initiative, actor, days, **extra):
    services.activity_record(initiative=initiative, kind=Activity.Kind.UPDATE_POSTED,
                             actor=actor, now=days_ago(days, **extra))


def health(initiative, *, silent_days=21):
    return selectors.with_ownership_health(Initiative.objects.filter(pk=initiative.pk),
                                           now=NOW, silent_days=silent_days).get()


@pytest.fixture
def helper(db):
    return UserFactory(username="helper-pm", first_name="Hana", last_name="Helper", roles=["pm"])


# --- The definitions ------------------------------------------------------------------------

def test_a_deactivated_owner_is_an_owner_who_left_not_a_silent_one(pm, helper):
    initiative = make(owner=pm, created=200, responsible=[helper])
    pm.is_active = False
    pm.save()

    flags = health(initiative)

    assert (flags.owner_left, flags.owner_silent, flags.nobody_responsible) == (True, False, False)


def test_an_owner_whose_last_act_is_older_than_the_limit_is_silent(pm, helper):
    initiative = make(owner=pm, created=90, responsible=[helper])
    act(initiative, pm, 30)
    act(initiative, helper, 1)  # someone else's activity does not speak for the owner

    flags = health(initiative)

    assert flags.owner_silent
    assert flags.owner_silent_for.days == 30
    assert flags.owner_last_activity_at == days_ago(30)
    assert not flags.owner_left
    assert not flags.nobody_responsible


def test_exactly_the_limit_is_not_yet_silent_a_minute_more_is(pm, other_pm, helper):
    on_the_day = make("On the day", owner=pm, created=90, responsible=[helper])
    act(on_the_day, pm, 21)
    a_minute_over = make("A minute over", owner=other_pm, created=90, responsible=[helper])
    act(a_minute_over, other_pm, 21, minutes=1)

    assert not health(on_the_day).owner_silent
    assert health(a_minute_over).owner_silent


def test_creating_the_initiative_counts_as_the_owners_activity(pm, other_pm, helper):
    fresh = make("Fresh", owner=pm, created=5, responsible=[helper])
    old = make("Old", owner=other_pm, created=40, responsible=[helper])

    assert not health(fresh).owner_silent
    assert health(fresh).owner_last_activity_at == days_ago(5)
    assert health(old).owner_silent
    assert health(old).owner_silent_for.days == 40


def test_the_owners_activity_on_another_initiative_is_word_from_them(pm, other_pm, helper):
    quiet_here = make("Quiet here", owner=pm, created=128, responsible=[helper])
    busy_there = make("Busy there", owner=other_pm, created=60, responsible=[helper])
    act(busy_there, pm, 3)  # pm acts on an initiative someone else owns

    flags = health(quiet_here)

    assert not flags.owner_silent
    assert flags.owner_last_activity_at == days_ago(3)


def test_an_update_the_owner_posted_anywhere_is_word_from_them(pm, other_pm, helper):
    quiet_here = make("Quiet here", owner=pm, created=128, responsible=[helper])
    elsewhere = make("Elsewhere", owner=other_pm, created=60, responsible=[helper])
    # An update row alone (an import of old updates records no activity) still counts.
    Update.objects.create(initiative=elsewhere, author=pm, body="Still on it", health="on_track",
                          created_at=days_ago(4))

    flags = health(quiet_here)

    assert not flags.owner_silent
    assert flags.owner_last_activity_at == days_ago(4)


def test_signing_in_is_not_word_from_the_owner(pm, helper):
    quiet = make("Quiet", owner=pm, created=128, responsible=[helper])
    pm.last_login = days_ago(1)
    pm.save()

    flags = health(quiet)

    assert flags.owner_silent
    assert flags.owner_silent_for.days == 128


def test_the_owners_latest_act_anywhere_decides_how_long_they_are_silent(pm, other_pm, helper):
    quiet = make("Quiet", owner=pm, created=128, responsible=[helper])
    elsewhere = make("Elsewhere", owner=other_pm, created=100, responsible=[helper])
    act(elsewhere, pm, 50)
    act(elsewhere, other_pm, 2)  # someone else's act, even where pm acted, is not pm's word

    flags = health(quiet)

    assert flags.owner_silent
    assert flags.owner_silent_for.days == 50
    assert flags.owner_seen_at == days_ago(50)


def test_an_owner_named_by_someone_else_is_silent_from_the_day_they_were_named(pm, other_pm):
    named_lately = services.initiative_create(actor=other_pm, owner=pm, now=days_ago(10),
                                              title="Named lately", team=TeamFactory())
    named_long_ago = services.initiative_create(actor=other_pm, owner=pm, now=days_ago(30),
                                                title="Named long ago", team=TeamFactory())

    assert health(named_lately).owner_last_activity_at is None
    assert not health(named_lately).owner_silent
    assert health(named_long_ago).owner_silent
    assert health(named_long_ago).owner_silent_for.days == 30


def test_a_new_owner_is_not_silent_on_the_day_they_take_over(pm, other_pm, tpm, helper):
    initiative = make(owner=pm, created=90, responsible=[helper])
    assert health(initiative).owner_silent

    services.initiative_update(initiative=initiative, actor=tpm, now=days_ago(2),
                               expected_version=initiative.version, changes={"owner": other_pm})

    flags = health(initiative)
    assert not flags.owner_silent
    assert flags.owner_last_activity_at is None
    assert flags.owner_seen_at == days_ago(2)


def test_the_limit_comes_from_the_setting(pm, helper, settings):
    initiative = make(owner=pm, created=30, responsible=[helper])

    settings.OWNER_SILENT_DAYS = 45
    assert not selectors.with_ownership_health(Initiative.objects.all(), now=NOW).get().owner_silent
    settings.OWNER_SILENT_DAYS = 21
    assert selectors.with_ownership_health(Initiative.objects.all(), now=NOW).get().owner_silent
    assert health(initiative, silent_days=29).owner_silent


@pytest.mark.parametrize(
    ("stakes", "nobody"),
    [
        ([], True),
        ([("helper", "R")], False),
        ([("helper", "C"), ("helper", "I")], True),
        ([("leaver", "R")], True),       # a Responsible person who left is nobody
        ([("leaver", "R"), ("helper", "R")], False),
    ],
)
def test_nobody_responsible_means_no_active_user_holds_the_r_role(pm, helper, stakes, nobody):
    leaver = UserFactory(username="leaver", is_active=False)
    people = {"helper": helper, "leaver": leaver}
    initiative = make(owner=pm, created=1)
    for name, role in stakes:
        Stakeholder.objects.create(initiative=initiative, user=people[name], role=role)

    assert health(initiative).nobody_responsible is nobody


def test_a_retired_initiative_has_no_ownership_problems(pm):
    initiative = make(owner=pm, created=300, stage="retired", retirement_reason="cost")
    pm.is_active = False
    pm.save()

    flags = health(initiative)

    assert (flags.owner_left, flags.owner_silent, flags.nobody_responsible) == (False, False, False)
    assert initiative not in selectors.ownership_gaps(now=NOW)


def test_the_problem_filter_offers_exactly_the_selectors_problems_and_labels():
    offered = [choice for choice in OwnershipFilterForm().fields["problem"].choices if choice[0]]

    assert offered == list(selectors.OWNERSHIP_PROBLEMS)


def test_a_negative_silent_limit_stops_start_up_naming_it():
    environment = {key: value for key, value in os.environ.items()
                   if key not in {"DJANGO_SETTINGS_MODULE", "SECRET_KEY", "HTTPS"}}
    environment.update(DEBUG="true", OWNER_SILENT_DAYS="-1")

    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 2
    assert result.stderr.strip() == ("Configuration error: OWNER_SILENT_DAYS must be at least 0,"
                                     " got -1")


# --- The page -------------------------------------------------------------------------------

@pytest.fixture
def portfolio_with_problems(pm, other_pm, helper):
    claims = TeamFactory(name="Claims", slug="claims")
    finance = TeamFactory(name="Finance", slug="finance")
    leaver = UserFactory(username="leaver", first_name="Lee", last_name="Leaver", roles=["pm"])
    gone = make("Orphaned pilot", owner=leaver, created=10, team=claims, responsible=[helper])
    quiet = make("Quiet copilot", owner=pm, created=90, team=finance, responsible=[helper])
    act(quiet, pm, 30)
    make("Unstaffed agent", owner=other_pm, created=3, team=finance)
    # Owned by someone else: anything pm does anywhere is word from pm.
    make("Healthy pilot", owner=other_pm, created=3, team=claims, responsible=[helper])
    make("Retired orphan", owner=leaver, created=100, team=claims, stage="retired",
         retirement_reason="cost")
    leaver.is_active = False
    leaver.save()
    return {"gone": gone, "quiet": quiet}


def rows(response) -> list[str]:
    return [initiative.title for initiative in response.context["page"].object_list]


@pytest.mark.parametrize("persona", ["pm", "reviewer", "tpm", "leader", "staff"])
def test_every_role_reads_the_ownership_page(client, request, persona, portfolio_with_problems):
    client.force_login(request.getfixturevalue(persona))

    response = client.get(PAGE_URL)

    assert response.status_code == 200
    # Longest neglected first; the healthy and the retired are not listed.
    assert rows(response) == ["Quiet copilot", "Orphaned pilot", "Unstaffed agent"]
    body = response.content.decode()
    for text in ("owner left", "no word from the owner in 30 days", "nobody Responsible", "Claims",
                 "Lee Leaver", "Pilot"):
        assert text in body
    assert "Healthy pilot" not in body
    assert "Retired orphan" not in body
    assert ('<a href="/initiatives/{}/">Quiet copilot</a>'.format(
        portfolio_with_problems["quiet"].pk)) in body


def test_the_page_shows_the_owners_last_activity(client, leader, portfolio_with_problems):
    client.force_login(leader)

    body = client.get(PAGE_URL).content.decode()

    assert f'<time datetime="{days_ago(30).isoformat()}">3 Oct 2026</time>' in body


def test_outsiders_get_not_found(client, outsider, portfolio_with_problems):
    client.force_login(outsider)

    response = client.get(PAGE_URL)

    assert response.status_code == 404
    assert "Orphaned pilot" not in response.content.decode()


def test_counts_per_problem_follow_the_team_filter(client, tpm, portfolio_with_problems):
    client.force_login(tpm)

    everything = client.get(PAGE_URL).context["problem_counts"]
    finance = client.get(PAGE_URL, {"team": "finance", "problem": "owner_silent"})

    assert everything == [("owner_left", "Owner left", 1),
                          ("owner_silent", "No word from the owner", 1),
                          ("nobody_responsible", "Nobody Responsible", 1)]
    assert [count for _, _, count in finance.context["problem_counts"]] == [0, 1, 1]
    assert rows(finance) == ["Quiet copilot"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"problem": "owner_left"}, ["Orphaned pilot"]),
        ({"problem": "owner_silent"}, ["Quiet copilot"]),
        ({"problem": "nobody_responsible"}, ["Unstaffed agent"]),
        ({"team": "claims"}, ["Orphaned pilot"]),
    ],
)
def test_filters_narrow_the_page(client, leader, portfolio_with_problems, query, expected):
    client.force_login(leader)

    assert rows(client.get(PAGE_URL, query)) == expected


def test_a_bad_filter_is_shown_on_its_field_and_ignored(client, leader, portfolio_with_problems):
    client.force_login(leader)

    response = client.get(PAGE_URL, {"problem": "too_busy", "team": "nowhere"})

    assert response.status_code == 200
    assert "Select a valid choice" in response.context["form"].errors["problem"][0]
    assert "Select a valid choice" in response.context["form"].errors["team"][0]
    assert len(rows(response)) == 3


def test_the_page_is_paginated(client, leader, settings):
    settings.PAGE_SIZE = 5
    team = TeamFactory()
    owner = UserFactory(roles=["pm"])
    for index in range(7):
        make(f"Unstaffed {index}", owner=owner, created=1, team=team)
    client.force_login(leader)

    first = client.get(PAGE_URL)
    last = client.get(PAGE_URL, {"page": 2})

    assert len(rows(first)) == 5
    assert "Page 1 of 2" in first.content.decode()
    assert len(rows(last)) == 2


def test_only_stewards_see_the_reassign_links(client, tpm, leader, portfolio_with_problems):
    reassign = reverse("portfolio:initiative-reassign", args=[portfolio_with_problems["gone"].pk])

    client.force_login(tpm)
    assert reassign in client.get(PAGE_URL).content.decode()
    client.force_login(leader)
    assert reassign not in client.get(PAGE_URL).content.decode()


def test_html_in_names_is_shown_escaped(client, tpm, helper):
    owner = UserFactory(username="mallory", first_name="<b>Mal</b>", last_name="<i>Lory</i>",
                        roles=["pm"])
    initiative = make("<script>alert('x')</script>", owner=owner, created=1,
                      team=TeamFactory(name="<em>Team</em>", slug="em"))
    client.force_login(tpm)

    page = client.get(PAGE_URL).content.decode()
    form = client.get(reverse("portfolio:initiative-reassign", args=[initiative.pk])
                      ).content.decode()

    for body in (page, form):
        assert "<script>alert" not in body
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body
        assert "<b>Mal</b>" not in body
        assert "&lt;b&gt;Mal&lt;/b&gt;" in body
    assert "<em>Team</em>" not in page
    assert "&lt;em&gt;Team&lt;/em&gt;" in page


@pytest.mark.parametrize("count", [3, 40])
def test_page_query_count_does_not_grow_with_the_portfolio(
    client, tpm, helper, django_assert_num_queries, count, settings
):
    settings.PAGE_SIZE = 50
    teams = TeamFactory.create_batch(4)
    owners = [UserFactory(roles=["pm"]) for _ in range(3)]
    for index in range(count):
        initiative = make(f"Initiative {index}", owner=owners[index % 3], created=40,
                          team=teams[index % 4],
                          responsible=[helper] if index % 2 else [])
        act(initiative, owners[index % 3], 25)
    owners[0].is_active = False
    owners[0].save()
    client.force_login(tpm)

    # session, the user with their groups (roles), counts per problem with the number of
    # rows (the paginator's count), the page's ids in the stored order, their rows with
    # team, owner and the problems, the team filter's choices.
    with django_assert_num_queries(6):
        response = client.get(PAGE_URL)

    assert response.status_code == 200
    assert len(rows(response)) == count


# --- Reassigning the owner ------------------------------------------------------------------

def reassign_url(initiative) -> str:
    return reverse("portfolio:initiative-reassign", args=[initiative.pk])


@pytest.fixture
def orphan(pm, helper):
    """A pilot whose owner has left."""
    leaver = UserFactory(username="leaver", first_name="Lee", last_name="Leaver", roles=["pm"])
    initiative = make("Orphaned pilot", owner=leaver, created=50, responsible=[helper])
    leaver.is_active = False
    leaver.save()
    return initiative


def snapshot(initiative):
    initiative.refresh_from_db()
    return (initiative.owner_id, initiative.version, initiative.history.count(),
            Activity.objects.filter(initiative=initiative).count(),
            sorted(Stakeholder.objects.filter(initiative=initiative)
                   .values_list("user_id", "role")))


@pytest.mark.parametrize("persona", ["tpm", "staff"])
def test_stewards_open_the_reassign_form_with_active_pms_by_name(client, request, persona,
                                                                 orphan, pm):
    UserFactory(username="zed", first_name="Aaron", last_name="Zed", roles=["pm"])
    UserFactory(username="gone-pm", first_name="Gone", is_active=False, roles=["pm"])
    UserFactory(username="a-reviewer-2", first_name="Rita", roles=["reviewer"])
    client.force_login(request.getfixturevalue(persona))

    response = client.get(reassign_url(orphan))

    assert response.status_code == 200
    body = response.content.decode()
    # The form lists nobody: its picker searches active PMs as the steward types.
    assert "Aaron Zed" not in body
    assert 'data-picker="/people/search/?role=owner"' in body

    def offered(text):
        return [row["value"] for row in client.get("/people/search/", {
            "role": "owner", "q": text}).json()["results"]]

    assert offered("zed") == ["Aaron Zed (zed)"]
    assert offered("olive") == ["Olive Owner (owner-pm)"]
    assert offered("gone") == offered("rita") == offered("lee") == []
    assert response.context["form"]["version"].value() == orphan.version
    assert "owner left" in response.content.decode()


@pytest.mark.parametrize("persona", ["pm", "reviewer", "leader"])
def test_read_only_roles_cannot_reassign(client, request, persona, orphan, pm):
    before = snapshot(orphan)
    client.force_login(request.getfixturevalue(persona))

    shown = client.get(reassign_url(orphan))
    posted = client.post(reassign_url(orphan), {"owner": pm.pk, "version": orphan.version})

    assert shown.status_code == 403
    assert posted.status_code == 403
    assert snapshot(orphan) == before


def test_outsiders_get_not_found_on_reassign(client, outsider, orphan, pm):
    before = snapshot(orphan)
    client.force_login(outsider)

    response = client.post(reassign_url(orphan), {"owner": pm.pk, "version": orphan.version})

    assert response.status_code == 404
    assert snapshot(orphan) == before


def test_reassigning_a_missing_initiative_is_not_found(client, tpm):
    client.force_login(tpm)

    assert client.get("/initiatives/999999/reassign/").status_code == 404


def test_tpm_reassigns_the_owner_and_it_is_in_the_history_and_the_timeline(client, tpm, orphan,
                                                                          pm):
    leaver = orphan.owner
    version = orphan.version
    client.force_login(tpm)

    response = client.post(reassign_url(orphan), {"owner": pm.pk, "version": version},
                           follow=True)

    assert response.redirect_chain == [(PAGE_URL, 302)]
    assert "Orphaned pilot is now owned by Olive Owner." in response.content.decode()
    orphan.refresh_from_db()
    assert orphan.owner == pm
    assert orphan.version == version + 1
    newest, previous = orphan.history.order_by("-history_date", "-history_id")[:2]
    assert (newest.owner_id, newest.history_user, newest.history_date) == (pm.pk, tpm, NOW)
    assert previous.owner_id == leaver.pk
    changed = Activity.objects.get(initiative=orphan, kind=Activity.Kind.OWNER_CHANGED)
    assert (changed.actor, changed.at) == (tpm, NOW)
    assert changed.details == {"from": "leaver", "to": "owner-pm", "from_id": leaver.pk,
                               "to_id": pm.pk}
    accountable = Stakeholder.objects.filter(initiative=orphan, role="A")
    assert list(accountable.values_list("user", flat=True)) == [pm.pk]
    # Repaired: the new owner neither left nor is silent yet.
    assert "Orphaned pilot" not in rows(client.get(PAGE_URL))


@pytest.mark.parametrize(
    ("owner", "message"),
    [
        # The picker names the person; the service says why they cannot own it.
        ("inactive", "The owner must be an active user."),
        ("reviewer", "cannot own an initiative: an owner is an active product manager"),
        ("unknown", "No active product manager matches “999999”."),
        ("", "This field is required."),
        ("current", "Lee Leaver already owns this initiative."),
    ],
)
def test_a_bad_new_owner_is_refused_on_its_field_and_changes_nothing(client, tpm, orphan,
                                                                     reviewer, owner, message):
    people = {"inactive": UserFactory(username="gone", is_active=False, roles=["pm"]).pk,
              "reviewer": reviewer.pk, "unknown": 999999, "": "",
              "current": orphan.owner_id}
    if owner == "current":
        # Even an active current owner is refused: there is nothing to change.
        orphan.owner.is_active = True
        orphan.owner.save()
    before = snapshot(orphan)
    client.force_login(tpm)

    response = client.post(reassign_url(orphan), {"owner": people[owner],
                                                  "version": orphan.version})

    assert response.status_code == 400
    assert message in response.context["form"].errors["owner"][0]
    assert snapshot(orphan) == before


def test_a_stale_version_is_refused_and_changes_nothing(client, tpm, orphan, pm, other_pm):
    loaded = orphan.version
    services.initiative_update(initiative=orphan, actor=tpm, now=NOW,
                               expected_version=loaded, changes={"owner": other_pm})
    before = snapshot(orphan)
    client.force_login(tpm)

    response = client.post(reassign_url(orphan), {"owner": pm.pk, "version": loaded})

    assert response.status_code == 400
    error = response.context["form"].errors["version"][0]
    assert error == services.STALE_VERSION.format(expected=loaded, current=loaded + 1)
    assert error.replace("'", "&#x27;") in response.content.decode()
    assert snapshot(orphan) == before


# --- The initiative list's badges and the navigation ----------------------------------------

def test_the_initiative_list_shows_each_problem_as_a_badge(client, leader,
                                                           portfolio_with_problems):
    client.force_login(leader)

    body = client.get("/initiatives/").content.decode()

    assert body.count(">owner left</span>") == 1     # not on the retired orphan
    assert body.count(">no word from the owner in 30 days</span>") == 1
    assert body.count(">nobody Responsible</span>") == 1
    assert "ownership gap" in body                    # the owner-left badge explains itself


@pytest.mark.parametrize("persona", ["pm", "reviewer", "tpm", "leader", "staff"])
def test_every_portfolio_role_has_the_ownership_page_in_its_navigation(client, request, persona):
    client.force_login(request.getfixturevalue(persona))

    response = client.get("/initiatives/")

    assert ("Ownership", PAGE_URL) in response.context["nav_items"]
