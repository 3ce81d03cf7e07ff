""""Waiting on me" (issue 20, item 1): portfolio's sources — stalled pilots to decide, value
reviews to record or decide, overrides for the sponsor — and the page and the navigation's
count over every app's sources."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from governance import services as governance
from governance.models import Checkpoint, CheckpointType
from portfolio import inbox
from portfolio.models import Stakeholder, ValueReview
from portfolio.outcomes.services import (
    contract_override,
    value_decide,
    value_review_record,
    value_reviews_schedule,
)
from portfolio.pilots.digest.subscriptions import digest_subscription_set
from portfolio.pilots.services import stall_decide
from tests.factories import (
    FIXED_NOW,
    InitiativeFactory,
    StallFlagFactory,
    TeamFactory,
    UserFactory,
    in_production,
    measure,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]
NOW = FIXED_NOW
URL = "/inbox/"


@pytest.fixture(autouse=True)
def value_settings(settings):
    settings.VALUE_REVIEW_DAYS = [30, 90, 180]
    settings.VALUE_REVIEW_GRACE_DAYS = 14
    settings.VALUE_AT_RISK_PERCENT = 50


def _stall(owner, *, title="Claims triage", team=None, days_ago=0):
    return StallFlagFactory(initiative=InitiativeFactory(
        stage="pilot", contracted=True, owner=owner, title=title,
        team=team or TeamFactory()), flagged_at=NOW - timedelta(days=days_ago))


def _producing(owner, *, title="Claims triage", entered_days_ago=40):
    """In production for ``entered_days_ago`` days, its due value review scheduled."""
    initiative = in_production(entered=NOW - timedelta(days=entered_days_ago), title=title,
                               owner=owner)
    value_reviews_schedule(now=NOW)
    return initiative


def _missed_pilot(*, sponsor, title="Claims triage", days_in_pilot=61, value=Decimal(22)):
    """A pilot of ``sponsor``'s with a complete contract (12% → 40%) whose latest
    measurement misses the target: only an override lets it into production."""
    pilot = InitiativeFactory(stage="pilot", risk_tier="minimal", contracted=True,
                              title=title, sponsor=sponsor, baseline_value=Decimal(12),
                              target_value=Decimal(40),
                              stage_changed_at=NOW - timedelta(days=days_in_pilot))
    if value is not None:
        measure(pilot, value, on=date(2026, 10, 20))
    return pilot


# --- Stalled pilots ---------------------------------------------------------------------------

def test_a_stall_waits_on_its_owner_until_decided(pm, other_pm):
    flag = _stall(pm, days_ago=3)

    [item] = inbox.stalls_to_decide(pm, NOW)
    assert (item.title, item.subject) == ("Decide on the stalled pilot", "Claims triage")
    assert item.detail == "In pilot too long"
    assert item.link == f"/stalls/?state=undecided#stall-{flag.pk}"
    assert item.since == NOW - timedelta(days=3)
    assert inbox.stalls_to_decide(other_pm, NOW) == []

    stall_decide(flag=flag, decision="extend", actor=pm, now=NOW,
                 note="Waiting for the data team.", extend_until=date(2026, 12, 1))

    assert inbox.stalls_to_decide(pm, NOW) == []
    assert inbox.stalls_to_decide_count(pm, NOW) == 0


def test_a_scale_up_waiting_on_the_gate_no_longer_waits_on_the_owner(pm):
    flag = _stall(pm)

    # Unmeasured, the gate holds it: the flag stays open, decided.
    decided = stall_decide(flag=flag, decision="scale", actor=pm, now=NOW)

    assert decided.resolved_at is None
    assert inbox.stalls_to_decide(pm, NOW) == []
    assert inbox.stalls_to_decide_count(pm, NOW) == 0


def test_a_stall_waits_on_the_tpms_following_its_team_or_following_none(pm, tpm):
    claims, search = TeamFactory(name="Claims", slug="claims"), TeamFactory(name="Search",
                                                                            slug="search")
    _stall(pm, title="Claims pilot", team=claims)
    _stall(pm, title="Search pilot", team=search, days_ago=1)
    everyone = UserFactory(username="tpm-following-all", roles=["tpm"])

    digest_subscription_set(user=tpm, teams=[claims], opted_out=False, now=NOW)

    assert [i.subject for i in inbox.stalls_to_decide(tpm, NOW)] == ["Claims pilot"]
    assert [i.subject for i in inbox.stalls_to_decide(everyone, NOW)] == ["Search pilot",
                                                                          "Claims pilot"]
    assert inbox.stalls_to_decide_count(everyone, NOW) == 2


# --- Value reviews ----------------------------------------------------------------------------

def test_a_due_value_review_waits_on_the_owner_until_recorded(pm):
    initiative = _producing(pm)
    review = ValueReview.objects.get(initiative=initiative)

    [item] = inbox.value_reviews_waiting(pm, NOW)
    assert item.title == "Record the 30-day value review"
    assert item.detail == f"Due {review.due_on:%-d %b %Y}"
    assert item.link == f"{initiative.get_absolute_url()}#value-review-{review.pk}"

    value_review_record(review=review, realised_value=Decimal(200000),
                        run_cost=Decimal(30000), actor=pm, now=NOW)

    assert inbox.value_reviews_waiting(pm, NOW) == []
    assert inbox.value_reviews_waiting_count(pm, NOW) == 0


def test_value_at_risk_waits_on_the_owner_until_decided(pm, other_pm):
    initiative = _producing(pm)
    review = ValueReview.objects.get(initiative=initiative)
    value_review_record(review=review, realised_value=Decimal(50000),
                        run_cost=Decimal(30000), actor=pm, now=NOW - timedelta(days=2))

    [item] = inbox.value_reviews_waiting(pm, NOW)
    assert item.title == "Decide on value at risk"
    assert item.detail == "50,000 a year realised of 240,000 predicted · suggested: fix"
    assert item.since == NOW - timedelta(days=2)
    assert inbox.value_reviews_waiting(other_pm, NOW) == []

    value_decide(review=review, decision="fix", note="Retrain on Q3 claims.", actor=pm, now=NOW)

    assert inbox.value_reviews_waiting(pm, NOW) == []


def test_a_responsible_pm_records_but_does_not_decide(pm):
    responsible = UserFactory(username="responsible-pm", roles=["pm"])
    initiative = _producing(pm)
    Stakeholder.objects.create(initiative=initiative, user=responsible, role="R")

    assert len(inbox.value_reviews_waiting(responsible, NOW)) == 1
    value_review_record(review=ValueReview.objects.get(initiative=initiative),
                        realised_value=Decimal(50000), run_cost=Decimal(30000),
                        actor=responsible, now=NOW)

    assert inbox.value_reviews_waiting(responsible, NOW) == []
    assert [i.title for i in inbox.value_reviews_waiting(pm, NOW)] == ["Decide on value at risk"]


def test_value_at_risk_waits_on_the_tpms_following_its_team_though_they_do_not_own_it(pm, tpm):
    initiative = _producing(pm)
    value_review_record(review=ValueReview.objects.get(initiative=initiative),
                        realised_value=Decimal(50000), run_cost=Decimal(30000), actor=pm,
                        now=NOW - timedelta(days=2))
    elsewhere = UserFactory(username="tpm-elsewhere", roles=["tpm"])
    digest_subscription_set(user=tpm, teams=[initiative.team], opted_out=False, now=NOW)
    digest_subscription_set(user=elsewhere, teams=[TeamFactory()], opted_out=False, now=NOW)

    assert [(i.title, i.subject) for i in inbox.value_reviews_waiting(tpm, NOW)] == [
        ("Decide on value at risk", "Claims triage")]
    assert inbox.value_reviews_waiting_count(tpm, NOW) == 1
    assert inbox.value_reviews_waiting(elsewhere, NOW) == []


# --- Overrides ---------------------------------------------------------------------------------

def test_a_pilot_held_back_by_its_missed_target_waits_on_its_sponsor_until_overridden(leader):
    pilot = _missed_pilot(sponsor=leader)

    [item] = inbox.overrides_to_confirm(leader, NOW)
    assert item.subject == "Claims triage"
    assert "22% measured on 20 Oct 2026, target 40%, baseline 12%" in item.detail
    assert item.link == f"{pilot.get_absolute_url()}#contract-h"

    contract_override(initiative=pilot, kind="target_missed", reason="The queue halved.",
                      actor=leader, now=NOW)

    assert inbox.overrides_to_confirm(leader, NOW) == []
    assert inbox.overrides_to_confirm_count(leader, NOW) == 0


def test_a_short_pilot_waits_on_its_sponsor_too(leader):
    _missed_pilot(sponsor=leader, days_in_pilot=3, value=Decimal(45))

    [item] = inbox.overrides_to_confirm(leader, NOW)
    assert "the minimum pilot of" in item.detail


def test_nothing_waits_on_the_sponsor_while_the_owner_has_to_act(leader, pm):
    # No measurement inside the window: only the owner can give one.
    _missed_pilot(sponsor=leader, title="Unmeasured", value=None)
    # Met: nothing to override.
    _missed_pilot(sponsor=leader, title="Met", value=Decimal(41))
    # Someone else's.
    _missed_pilot(sponsor=pm, title="Not sponsored")

    assert inbox.overrides_to_confirm(leader, NOW) == []
    assert inbox.overrides_to_confirm_count(leader, NOW) == 0


# --- The page and the navigation --------------------------------------------------------------

def test_an_outsider_gets_404(client, outsider):
    client.force_login(outsider)

    assert client.get(URL).status_code == 404


def test_with_nothing_waiting_the_page_says_so(client, leader):
    client.force_login(leader)

    response = client.get(URL)

    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1>Waiting on me</h1>" in body
    assert "Nothing waits on you." in body
    assert '<span class="nav-count" data-inbox-count="/inbox/count.json" hidden></span>' in body


def test_the_page_shows_each_section_with_how_long_each_item_waited(client, pm):
    _stall(pm, title="Stalled three days", days_ago=3)
    _stall(pm, title="Stalled today")
    client.force_login(pm)

    body = client.get(URL).content.decode()

    assert "Stalled pilots to decide" in body
    assert "waiting 3 days" in body
    assert "since today" in body
    assert "Nothing waits on you." not in body
    assert 'href="/stalls/?state=undecided#stall-' in body


def _nav_count(body: str) -> int:
    match = re.search(r'Waiting on me <span class="nav-count"[^>]*>(\d+)<', body)
    return int(match.group(1)) if match else 0


def _page_items(body: str) -> int:
    return body.count('class="inbox-item ')


def _reviewer_pm(username="pat-reviewing-pm"):
    """Someone every source concerns: a PM who also reviews and is a TPM."""
    return UserFactory(username=username, roles=["pm", "reviewer", "tpm"])


def _everything_waits_on(user, n: int):
    """``n`` of each kind of thing waiting on ``user`` (a ``_reviewer_pm``)."""
    checkpoint_type = CheckpointType.objects.get(code="security-review")
    rejecter = UserFactory(username="rejecting-reviewer", roles=["reviewer"])
    for i in range(n):
        _stall(user, title=f"Stalled {i}", days_ago=i)
        _producing(user, title=f"Producing {i}")
        _missed_pilot(sponsor=user, title=f"Missed {i}")
        theirs = InitiativeFactory(stage="assessment", title=f"To review {i}")
        Checkpoint.objects.create(initiative=theirs, type=checkpoint_type,
                                  requested_at=NOW - timedelta(days=i), due_date=NOW.date())
        mine = InitiativeFactory(stage="assessment", owner=user, title=f"Mine {i}")
        rejected = Checkpoint.objects.create(initiative=mine, type=checkpoint_type,
                                             requested_at=NOW - timedelta(days=9),
                                             due_date=NOW.date())
        governance.checkpoint_decide(checkpoint=rejected, actor=rejecter, approve=False,
                                     expected_version=rejected.version,
                                     evidence_notes="No threat model.", now=NOW)


def test_the_navigation_counts_what_the_page_lists(client):
    user = _reviewer_pm()
    _everything_waits_on(user, 2)
    client.force_login(user)

    body = client.get(URL).content.decode()
    elsewhere = client.get("/initiatives/").content.decode()
    asked = client.get("/inbox/count.json")

    # Per kind: 2 reviews, 2 rejections, 2 initiatives blocked (by those rejections), 2
    # stalls, 2 value reviews, 2 overrides.
    assert _page_items(body) == 12
    assert _nav_count(body) == 12
    # Other pages do not count: their navigation asks once loaded (static/js/nav.js).
    assert 'data-inbox-count="/inbox/count.json" hidden' in elsewhere
    assert asked.json() == {"count": 12}
    assert asked["Cache-Control"] == "private, no-store"


def test_the_count_is_for_readers_only(client, outsider):
    client.force_login(outsider)

    assert client.get("/inbox/count.json").status_code == 404


@pytest.mark.parametrize("n", [1, 5])
def test_the_count_reads_a_fixed_number_of_queries(client, n, django_assert_num_queries):
    user = _reviewer_pm()
    _everything_waits_on(user, n)
    client.force_login(user)

    # Session, the user with their roles; then each source's count.
    with django_assert_num_queries(2 + 6):
        assert client.get("/inbox/count.json").json() == {"count": 6 * n}


def test_the_nav_links_every_role_to_the_inbox(client, pm, reviewer, tpm, leader):
    for user in (pm, reviewer, tpm, leader):
        client.force_login(user)
        body = client.get("/initiatives/").content.decode()
        assert ('<a href="/inbox/">Waiting on me <span class="nav-count" '
                'data-inbox-count="/inbox/count.json" hidden></span></a>') in body, user


def test_a_section_shows_twenty_items_and_links_to_the_rest(client, pm):
    for i in range(23):
        _stall(pm, title=f"Stalled {i}", days_ago=i)
    client.force_login(pm)

    body = client.get(URL).content.decode()

    assert _page_items(body) == 20
    assert '<a href="/stalls/?state=undecided">and 3 more</a>' in body
    assert _nav_count(body) == 23


@pytest.mark.parametrize("n", [1, 5])
def test_the_page_reads_in_a_fixed_number_of_queries(client, n, django_assert_num_queries):
    user = _reviewer_pm()
    _everything_waits_on(user, n)
    client.force_login(user)

    # Session, the user with their roles; then per source its items and its count: reviews,
    # rejections, blocked initiatives, stalls, value reviews, overrides. The navigation's
    # number is the page's own.
    with django_assert_num_queries(2 + 2 * 6):
        response = client.get(URL)

    assert response.status_code == 200
    assert _page_items(response.content.decode()) == 6 * n


@pytest.mark.parametrize("n", [1, 5])
def test_the_navigation_count_costs_one_query_per_source(n, django_assert_num_queries):
    user = _reviewer_pm()
    _everything_waits_on(user, n)
    inbox.inbox_count(user=user, now=NOW)  # the roles, cached on the user

    # reviews, rejections, blocked initiatives, stalls, value reviews, overrides
    with django_assert_num_queries(6):
        assert inbox.inbox_count(user=user, now=NOW) == 6 * n
