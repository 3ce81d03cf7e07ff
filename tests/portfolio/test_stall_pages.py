"""The stalled-pilots page: every role reads it, the owner, a TPM or
an admin decides in place.

Time is frozen at ``NOW`` (Monday 2 Nov 2026, 09:00 UTC); flags are made by the factory
at chosen moments before it, so each test states the ages it asserts.
"""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from portfolio.models import Activity, Stage, StallFlag
from portfolio.pilots.digest.subscriptions import digest_subscription_set
from portfolio.pilots.services import (
    ALREADY_RESOLVED,
    EXTEND_DATE_IN_PAST,
    EXTEND_NEEDS_JUSTIFICATION,
    stall_decide,
)
from tests.factories import (
    FIXED_NOW,
    InitiativeFactory,
    StallFlagFactory,
    TeamFactory,
    UserFactory,
    approve_all_checkpoints,
    measure,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = FIXED_NOW
PAGE_URL = "/stalls/"


@pytest.fixture(autouse=True)
def thresholds(settings):
    settings.PILOT_MAX_DAYS, settings.PILOT_IDLE_DAYS, settings.STALL_ESCALATE_WEEKS = 90, 21, 2


def days_ago(days, **extra):
    return NOW - timedelta(days=days, **extra)


def stall(title, *, owner, team, in_pilot=100, idle=1, flagged=14, reason="too_long", **flag):
    """A pilot ``in_pilot`` days in pilot, idle ``idle`` days, flagged ``flagged`` days ago."""
    initiative = InitiativeFactory(title=title, owner=owner, team=team, stage=Stage.PILOT,
                                   contracted=True, stage_changed_at=days_ago(in_pilot),
                                   last_activity_at=days_ago(idle))
    return StallFlagFactory(initiative=initiative, reason=reason, flagged_at=days_ago(flagged),
                            **flag)


@pytest.fixture
def teams(db):
    return {"claims": TeamFactory(name="Claims", slug="claims"),
            "finance": TeamFactory(name="Finance", slug="finance")}


@pytest.fixture
def stalls(pm, other_pm, teams):
    """Four open stalls in two teams, one per state, and a running extension."""
    sponsor = UserFactory(username="sponsor", first_name="Sam", last_name="Sponsor")
    undecided = stall("Claims triage copilot", owner=pm, team=teams["claims"], in_pilot=120,
                      idle=30, flagged=22, reason="too_long_and_idle")
    escalated = stall("Invoice matcher", owner=other_pm, team=teams["finance"], in_pilot=40,
                      idle=35, flagged=15, reason="idle", escalated_at=days_ago(1))
    escalated.initiative.sponsor = sponsor
    escalated.initiative.save()
    waiting = stall("Fraud signals", owner=other_pm, team=teams["finance"], flagged=8)
    stall_decide(flag=waiting, decision="scale", actor=other_pm, now=days_ago(2))
    extended = stall("Contract summariser", owner=pm, team=teams["claims"], flagged=30)
    stall_decide(flag=extended, decision="extend", actor=pm, now=days_ago(3),
                 note="Waiting for the Q1 data refresh.", extend_until=date(2026, 12, 15))
    fresh = stall("Spend forecaster", owner=other_pm, team=teams["claims"], in_pilot=95,
                  flagged=1)
    # Resolved long ago: never listed.
    stall("Old extension", owner=pm, team=teams["claims"], flagged=200,
          resolved_at=days_ago(150), resolution="extended", decision="extend",
          decided_by=pm, decided_at=days_ago(150), extended_until=date(2026, 6, 1))
    for flag in (undecided, escalated, waiting, extended, fresh):
        flag.refresh_from_db()
    return {"undecided": undecided, "escalated": escalated, "waiting": waiting,
            "extended": extended, "fresh": fresh}


def rows(response) -> list[str]:
    return [row.initiative.title for row in response.context["rows"]]


def row_of(response, flag):
    return next(row for row in response.context["rows"] if row.flag.pk == flag.pk)


def decide_url(flag, query="") -> str:
    return reverse("portfolio:stall-decide", args=[flag.pk]) + (f"?{query}" if query else "")


def snapshot(flag):
    flag.refresh_from_db()
    initiative = flag.initiative
    initiative.refresh_from_db()
    return (flag.decision, flag.decision_note, flag.resolved_at, flag.resolution,
            flag.extended_until, initiative.stage, initiative.version, initiative.decision_date,
            initiative.retirement_reason, Activity.objects.filter(initiative=initiative).count())


# --- Reading the page ----------------------------------------------------------------------

@pytest.mark.parametrize("persona", ["pm", "reviewer", "tpm", "leader", "staff"])
def test_every_role_reads_the_open_stalls_longest_flagged_first(client, request, persona,
                                                                stalls):
    client.force_login(request.getfixturevalue(persona))

    response = client.get(PAGE_URL)

    assert response.status_code == 200
    assert rows(response) == ["Claims triage copilot", "Invoice matcher", "Fraud signals",
                              "Spend forecaster"]
    body = response.content.decode()
    assert "Contract summariser" not in body  # extended: resolved until its new date
    assert "Old extension" not in body


def test_outsiders_get_not_found(client, outsider, stalls):
    client.force_login(outsider)

    response = client.get(PAGE_URL)

    assert response.status_code == 404
    assert "Claims triage copilot" not in response.content.decode()


def test_each_row_shows_ages_reason_escalation_and_decision(client, leader, stalls):
    client.force_login(leader)

    response = client.get(PAGE_URL)

    undecided = row_of(response, stalls["undecided"])
    assert (undecided.days_in_pilot, undecided.days_idle, undecided.weeks_flagged,
            undecided.weeks_undecided, undecided.reason) == (
        120, 30, 3, 3, "In pilot too long, and idle")
    waiting = row_of(response, stalls["waiting"])
    assert waiting.weeks_undecided is None
    body = response.content.decode()
    flagged = days_ago(22)
    assert f'<time datetime="{flagged.isoformat()}">11 Oct 2026</time>' in body
    assert "3 weeks ago" in body
    assert "Escalated</span><span class=\"meta\">to Sam Sponsor, 1 Nov" in body
    assert "Scale to production" in body
    assert "Waiting on: " in body  # the gate blocks the scale-up: shown with what blocks it
    assert f'<a href="/initiatives/{stalls["undecided"].initiative.pk}/">' in body


def test_the_reason_shown_is_the_current_one(client, leader, stalls):
    """Flagged idle, but it has since been in pilot too long as well."""
    flag = stalls["escalated"]
    flag.initiative.stage_changed_at = days_ago(91)
    flag.initiative.save()
    client.force_login(leader)

    response = client.get(PAGE_URL)

    assert row_of(response, flag).reason == "In pilot too long, and idle"


def test_only_deciders_get_a_decision_form_on_a_row(client, pm, tpm, leader, staff, stalls):
    client.force_login(pm)
    as_owner = client.get(PAGE_URL)
    client.force_login(tpm)
    as_tpm = client.get(PAGE_URL)
    client.force_login(staff)
    as_admin = client.get(PAGE_URL)
    client.force_login(leader)
    as_leader = client.get(PAGE_URL)

    # The PM owns one of the open stalls.
    assert [row.initiative.title for row in as_owner.context["rows"] if row.form] == [
        "Claims triage copilot"]
    assert all(row.form for row in as_tpm.context["rows"])
    assert all(row.form for row in as_admin.context["rows"])
    assert not any(row.form for row in as_leader.context["rows"])
    assert "Record decision" not in as_leader.content.decode()
    assert as_tpm.content.decode().count("<details class=\"decide\">") == 4
    assert "{#" not in as_tpm.content.decode()


def test_each_rows_form_has_its_own_field_ids(client, tpm, stalls):
    client.force_login(tpm)

    body = client.get(PAGE_URL).content.decode()

    flag = stalls["undecided"]
    assert f'id="stall-{flag.pk}-note"' in body
    assert f'<label for="stall-{flag.pk}-note">Justification</label>' in body
    assert f'action="/stalls/{flag.pk}/decide/#stall-{flag.pk}"' in body


# --- Filters -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"state": "undecided"}, ["Claims triage copilot", "Invoice matcher",
                                  "Spend forecaster"]),
        ({"state": "waiting"}, ["Fraud signals"]),
        ({"state": "escalated"}, ["Invoice matcher"]),
        ({"state": "extended"}, ["Contract summariser"]),
        ({"team": "finance"}, ["Invoice matcher", "Fraud signals"]),
        ({"reason": "idle"}, ["Invoice matcher"]),
        ({"reason": "too_long"}, ["Fraud signals", "Spend forecaster"]),
        ({"reason": "too_long", "team": "claims"}, ["Spend forecaster"]),
    ],
)
def test_filters_narrow_the_page(client, leader, stalls, query, expected):
    client.force_login(leader)

    assert rows(client.get(PAGE_URL, query)) == expected


def test_an_extended_row_shows_until_when_and_why(client, leader, stalls):
    client.force_login(leader)

    response = client.get(PAGE_URL, {"state": "extended"})

    body = response.content.decode()
    assert "Extended until 15 Dec 2026" in body
    assert "Waiting for the Q1 data refresh." in body
    assert row_of(response, stalls["extended"]).form is None  # resolved: nothing to decide


def test_counts_per_state_follow_the_other_filters(client, leader, stalls):
    client.force_login(leader)

    everything = client.get(PAGE_URL).context["state_counts"]
    finance = client.get(PAGE_URL, {"team": "finance", "state": "waiting"})

    assert everything == [("", "All open", 4), ("undecided", "Undecided", 3),
                          ("waiting", "Scale-up waiting on the gate", 1),
                          ("escalated", "Escalated", 1), ("extended", "Extended", 1)]
    assert [count for _, _, count in finance.context["state_counts"]] == [2, 1, 1, 1, 0]


def test_a_tpm_sees_only_the_teams_they_follow_on_request(client, tpm, teams, stalls):
    client.force_login(tpm)
    follow_all = rows(client.get(PAGE_URL, {"followed": "on"}))
    digest_subscription_set(user=tpm, teams=[teams["finance"]], opted_out=False, now=NOW)

    followed = rows(client.get(PAGE_URL, {"followed": "on"}))
    unfiltered = rows(client.get(PAGE_URL))

    assert len(follow_all) == 4  # following no team is following every team
    assert followed == ["Invoice matcher", "Fraud signals"]
    assert len(unfiltered) == 4


def test_only_digest_readers_get_the_followed_teams_filter(client, tpm, leader, stalls):
    client.force_login(leader)
    as_leader = client.get(PAGE_URL, {"followed": "on"})
    client.force_login(tpm)
    as_tpm = client.get(PAGE_URL)

    assert "followed" not in as_leader.context["form"].fields
    assert len(rows(as_leader)) == 4
    assert "Only the teams I follow" in as_tpm.content.decode()


def test_a_bad_filter_is_shown_on_its_field_and_ignored(client, leader, stalls):
    client.force_login(leader)

    response = client.get(PAGE_URL, {"state": "asleep", "reason": "bored", "team": "nowhere"})

    assert response.status_code == 200
    for field in ("state", "reason", "team"):
        assert "Select a valid choice" in response.context["form"].errors[field][0]
    assert len(rows(response)) == 4


def test_no_stalls_says_so(client, tpm):
    client.force_login(tpm)

    assert "No stalled pilots: every pilot is moving." in client.get(PAGE_URL).content.decode()


def test_the_page_is_paginated(client, leader, settings, teams):
    settings.PAGE_SIZE = 5
    owner = UserFactory(roles=["pm"])
    for index in range(7):
        stall(f"Pilot {index}", owner=owner, team=teams["claims"], flagged=20 - index)
    client.force_login(leader)

    first = client.get(PAGE_URL)
    last = client.get(PAGE_URL, {"page": 2})

    assert rows(first) == [f"Pilot {index}" for index in range(5)]
    assert "Page 1 of 2" in first.content.decode()
    assert rows(last) == ["Pilot 5", "Pilot 6"]


@pytest.mark.parametrize("count", [3, 40])
def test_page_query_count_does_not_grow_with_the_stalls(client, tpm, teams, settings, count,
                                                        django_assert_num_queries):
    settings.PAGE_SIZE = 50
    sponsor = UserFactory(username="sponsor")
    owners = [UserFactory(roles=["pm"]) for _ in range(3)]
    for index in range(count):
        flag = stall(f"Pilot {index}", owner=owners[index % 3],
                     team=teams["claims" if index % 2 else "finance"], flagged=30 - index % 20,
                     escalated_at=days_ago(1) if index % 4 == 0 else None)
        if index % 4 == 0:
            flag.initiative.sponsor = sponsor
            flag.initiative.save()
        if index % 3 == 0:
            stall_decide(flag=flag, decision="scale", actor=tpm, now=days_ago(1))
    digest_subscription_set(user=tpm, teams=[teams["claims"], teams["finance"]],
                            opted_out=False, now=NOW)
    client.force_login(tpm)

    # session, the user with their groups (roles), the counts per state, COUNT(*) for the
    # paginator, one page of flags with initiative, team, owner, sponsor and decider
    # joined, the team filter's choices.
    with django_assert_num_queries(6):
        response = client.get(PAGE_URL, {"followed": "on"})

    assert response.status_code == 200
    assert len(rows(response)) == count
    assert all(row.form for row in response.context["rows"])


# --- Deciding in place ---------------------------------------------------------------------

@pytest.mark.parametrize("persona", ["other_pm", "reviewer", "leader"])
def test_read_only_roles_cannot_decide(client, request, persona, stalls):
    flag = stalls["undecided"]  # owned by the pm, not other_pm
    before = snapshot(flag)
    client.force_login(request.getfixturevalue(persona))

    response = client.post(decide_url(flag), {"decision": "kill",
                                              "retirement_reason": "cost",
                                              "retirement_lessons": "Too dear."})

    assert response.status_code == 403
    assert "Only the initiative’s owner, a TPM or an admin" in response.content.decode().replace(
        "&#x27;", "’").replace("'", "’")
    assert snapshot(flag) == before


def test_outsiders_get_not_found_when_deciding(client, outsider, stalls):
    flag = stalls["undecided"]
    before = snapshot(flag)
    client.force_login(outsider)

    posted = client.post(decide_url(flag), {"decision": "scale"})
    shown = client.get(decide_url(flag))

    assert posted.status_code == 404
    assert shown.status_code == 404
    assert snapshot(flag) == before


def test_deciding_a_missing_stall_is_not_found(client, tpm):
    client.force_login(tpm)

    assert client.post("/stalls/999999/decide/", {"decision": "scale"}).status_code == 404


def test_opening_the_decide_address_goes_back_to_the_list(client, tpm, stalls):
    client.force_login(tpm)

    response = client.get(decide_url(stalls["undecided"], "team=claims&page=1"))

    assert response.status_code == 302
    assert response["Location"] == "/stalls/?team=claims&page=1"


def test_the_owner_extends_their_stall_and_returns_to_the_same_list(client, pm, stalls):
    flag = stalls["undecided"]
    client.force_login(pm)

    response = client.post(decide_url(flag, "team=claims&state=undecided"), {
        "decision": "extend", "note": "Waiting for the Q1 data refresh.",
        "extend_until": "2026-12-15"}, follow=True)

    assert response.redirect_chain == [("/stalls/?team=claims&state=undecided", 302)]
    assert ("“Claims triage copilot” is extended until 15 Dec 2026; it is not flagged again "
            "before then.") in response.content.decode()
    flag.refresh_from_db()
    assert (flag.decision, flag.resolution, flag.resolved_at, flag.extended_until,
            flag.decided_by, flag.decision_note) == (
        "extend", "extended", NOW, date(2026, 12, 15), pm, "Waiting for the Q1 data refresh.")
    flag.initiative.refresh_from_db()
    assert flag.initiative.decision_date == date(2026, 12, 15)
    assert "Claims triage copilot" not in rows(response)
    decided = Activity.objects.get(initiative=flag.initiative, kind=Activity.Kind.STALL_DECIDED)
    assert (decided.actor, decided.at) == (pm, NOW)


def test_a_tpm_kills_a_stall_into_the_kill_log(client, tpm, stalls):
    flag = stalls["escalated"]
    client.force_login(tpm)

    response = client.post(decide_url(flag), {
        "decision": "kill", "retirement_reason": "value_not_proven",
        "retirement_lessons": "Manual matching was already fast enough."}, follow=True)

    assert response.redirect_chain == [(PAGE_URL, 302)]
    assert "“Invoice matcher” is retired and in the kill log." in response.content.decode()
    flag.refresh_from_db()
    assert (flag.decision, flag.resolution, flag.decided_by) == ("kill", "killed", tpm)
    initiative = flag.initiative
    initiative.refresh_from_db()
    assert (initiative.stage, initiative.retirement_reason) == (
        Stage.RETIRED, "value_not_proven")
    assert "Invoice matcher" in client.get("/initiatives/kill-log/").content.decode()


def test_scale_with_the_gate_open_moves_the_pilot_to_production(client, tpm, reviewer, stalls):
    flag = stalls["fresh"]
    initiative = flag.initiative
    measure(initiative)  # meets the target inside the window
    approve_all_checkpoints(initiative, reviewer=reviewer)
    client.force_login(tpm)

    response = client.post(decide_url(flag), {"decision": "scale"}, follow=True)

    assert "“Spend forecaster” moves to production." in response.content.decode()
    flag.refresh_from_db()
    initiative.refresh_from_db()
    assert initiative.stage == Stage.PRODUCTION
    assert (flag.decision, flag.resolution) == ("scale", "moved")
    assert "Spend forecaster" not in rows(response)


def test_scale_while_the_gate_is_blocked_stays_listed_waiting_on_what_blocks_it(client, tpm,
                                                                                stalls):
    flag = stalls["fresh"]  # no measurement, checkpoints not approved
    client.force_login(tpm)

    response = client.post(decide_url(flag), {"decision": "scale"}, follow=True)

    flag.refresh_from_db()
    assert flag.is_open
    assert flag.decision == "scale"
    assert flag.decision_note.startswith("Waiting on: ")
    body = response.content.decode()
    assert "Scale-up of “Spend forecaster” recorded; it moves once the gate opens." in body
    row = row_of(response, flag)
    assert row.weeks_undecided is None
    assert row.form is not None  # still open: it can be decided again
    assert flag.decision_note.replace("'", "&#x27;") in body
    assert flag.initiative.stage == Stage.PILOT


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"decision": "extend", "note": "", "extend_until": "2026-12-15"}, "note",
         EXTEND_NEEDS_JUSTIFICATION),
        ({"decision": "extend", "note": "Data late.", "extend_until": "2026-10-01"},
         "extend_until", EXTEND_DATE_IN_PAST),
        ({"decision": "extend", "note": "Data late.", "extend_until": "next month"},
         "extend_until", "Enter a valid date."),
        ({"decision": "", "note": "Hmm."}, "decision", "Choose scale, extend or kill."),
        ({"decision": "pause"}, "decision", "Select a valid choice."),
        ({"decision": "kill", "retirement_reason": "cost", "retirement_lessons": ""},
         "retirement_lessons", None),
    ],
)
def test_bad_input_is_shown_on_the_rows_form_and_changes_nothing(client, pm, stalls, data,
                                                                 field, message):
    flag = stalls["undecided"]
    before = snapshot(flag)
    client.force_login(pm)

    response = client.post(decide_url(flag, "state=undecided"), data)

    assert response.status_code == 400
    row = row_of(response, flag)
    assert row.refused
    errors = row.form.errors[field]
    if message:
        assert message in errors[0]
    body = response.content.decode()
    assert '<details class="decide" open>' in body
    assert body.count('<details class="decide" open>') == 1
    # The refused form still posts back to the same list, and comes back into view.
    assert f'action="/stalls/{flag.pk}/decide/?state=undecided#stall-{flag.pk}"' in body
    assert rows(response) == ["Claims triage copilot", "Invoice matcher", "Spend forecaster"]
    assert snapshot(flag) == before


def test_a_decision_on_a_stall_resolved_meanwhile_is_refused_and_changes_nothing(client, pm,
                                                                                 tpm, stalls):
    flag = stalls["undecided"]
    stall_decide(flag=flag, decision="extend", actor=tpm, now=NOW,
                 note="The TPM got there first.", extend_until=date(2026, 12, 1))
    before = snapshot(flag)
    client.force_login(pm)

    response = client.post(decide_url(flag), {"decision": "kill", "retirement_reason": "cost",
                                              "retirement_lessons": "Too dear."})

    assert response.status_code == 400
    refused_flag, form = response.context["refused_elsewhere"]
    assert refused_flag.pk == flag.pk
    message = ALREADY_RESOLVED.format(resolution="Extended")
    assert form.errors["decision"] == [message]
    assert "Nothing was recorded for “Claims triage copilot”" in response.content.decode()
    assert snapshot(flag) == before


def test_a_flag_left_open_on_a_pilot_that_moved_is_refused(client, tpm, stalls):
    """Detection has not resolved it yet; the page shows its stage, deciding is refused."""
    flag = stalls["fresh"]
    flag.initiative.stage = Stage.PAUSED
    flag.initiative.save()
    client.force_login(tpm)

    response = client.post(decide_url(flag), {"decision": "scale"})

    assert response.status_code == 400
    assert "Only a pilot can be scaled" in row_of(response, flag).form.errors["decision"][0]
    assert StallFlag.objects.get(pk=flag.pk).decision == ""


# --- Landing and navigation ----------------------------------------------------------------

def test_a_tpm_lands_on_the_stalled_pilots(client, tpm):
    client.force_login(tpm)

    response = client.get("/")

    assert response["Location"] == PAGE_URL


@pytest.mark.parametrize(("persona", "has_digest"), [
    ("pm", False), ("reviewer", False), ("leader", False), ("tpm", True), ("staff", True)])
def test_every_role_has_the_stalled_pilots_in_its_navigation(client, request, persona,
                                                             has_digest):
    client.force_login(request.getfixturevalue(persona))

    items = client.get("/initiatives/").context["nav_items"]

    assert ("Stalled pilots", PAGE_URL) in items
    assert (("Digest", "/digest/settings/") in items) is has_digest
