"""Value after production in the browser: the initiative page's card (record a due review,
decide on value at risk), the portfolio-wide "Value reviews" page and the initiative list's
value flags.

Time is frozen at ``NOW`` (Monday 2 Nov 2026, 09:00 UTC). Initiatives are ``contracted``:
EUR 240,000 value and EUR 40,000 run cost a year predicted. Reviews come due 30, 90 and 180
days after production, are overdue 14 days after, and a realised value below 50% of the
prediction puts the value at risk.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from portfolio.models import Activity, RetirementReason, Stage, ValueReview
from portfolio.outcomes import selectors as outcome_selectors
from portfolio.outcomes.services import (
    DECISION_NEEDS_NOTE,
    FIGURE_NEEDED,
    value_review_record,
    value_reviews_schedule,
)
from portfolio.outcomes.value_selectors import value_review_list
from portfolio.services import RETIRE_NEEDS_LESSONS
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory, in_production

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = FIXED_NOW
LIST_URL = "/value-reviews/"


@pytest.fixture(autouse=True)
def value_settings(settings):
    settings.VALUE_CURRENCY = "EUR"
    settings.VALUE_REVIEW_DAYS = [30, 90, 180]
    settings.VALUE_REVIEW_GRACE_DAYS = 14
    settings.VALUE_AT_RISK_PERCENT = 50


def days_ago(days):
    return NOW - timedelta(days=days)


def producing(title, *, owner, entered_days_ago=40, team=None, **fields):
    """In production for ``entered_days_ago`` days, its due value review scheduled."""
    initiative = in_production(entered=days_ago(entered_days_ago), title=title, owner=owner,
                               team=team or TeamFactory(name="Claims", slug="claims"),
                               **fields)
    value_reviews_schedule(now=NOW)
    return initiative


def review_of(initiative) -> ValueReview:
    return ValueReview.objects.get(initiative=initiative)


def record(initiative, realised, cost, *, by=None):
    return value_review_record(review=review_of(initiative), realised_value=Decimal(realised),
                               run_cost=Decimal(cost), actor=by or initiative.owner, now=NOW,
                               note="From the finance dashboard.")


def detail(client, initiative):
    return client.get(initiative.get_absolute_url())


def record_url(review):
    return reverse("portfolio:value-review-record", args=[review.pk])


def decide_url(review):
    return reverse("portfolio:value-review-decide", args=[review.pk])


# --- The card ------------------------------------------------------------------------------

def test_an_initiative_that_never_reached_production_has_no_value_card(client, pm):
    initiative = InitiativeFactory(owner=pm, stage=Stage.PILOT, contracted=True)
    client.force_login(pm)
    assert "Value after production" not in detail(client, initiative).content.decode()


def test_the_card_shows_the_business_case_and_the_reviews_still_ahead(client, pm, reviewer):
    initiative = producing("Claims triage copilot", owner=pm, entered_days_ago=40)
    client.force_login(reviewer)

    body = detail(client, initiative).content.decode()

    assert "Value after production" in body
    assert "EUR 240,000" in body
    assert "EUR 40,000" in body
    assert "(it entered on 23 Sep 2026)" in body
    assert "30-day review" in body
    assert "Due 23 Oct 2026, 10 days ago" in body  # 30 days after 23 Sep
    assert "90-day review" in body
    assert "Due 22 Dec 2026, in 50 days" in body
    assert "180-day review" in body
    assert "Record review" not in body  # a reviewer reads, does not record


def test_the_owner_records_a_due_review_and_sees_the_figures(client, pm):
    initiative = producing("Claims triage copilot", owner=pm)
    review = review_of(initiative)
    client.force_login(pm)
    assert "Record review" in detail(client, initiative).content.decode()

    response = client.post(record_url(review), {"realised_value": "180000",
                                                "run_cost": "30000.50",
                                                "note": "Finance dashboard, October."})

    assert response.status_code == 302
    assert response["Location"] == f"{initiative.get_absolute_url()}#value-review-{review.pk}"
    body = client.get(response["Location"]).content.decode()
    assert "30-day value review of “Claims triage copilot” recorded." in body
    assert "EUR 180,000" in body
    assert "EUR 30,000.50" in body
    assert "75%" in body  # 180,000 of 240,000 predicted
    assert "Finance dashboard, October." in body
    assert "Recorded by Olive Owner" in body
    assert "Record review" not in body
    review.refresh_from_db()
    assert (review.realised_value, review.run_cost, review.at_risk) == (
        Decimal(180000), Decimal("30000.50"), False)


@pytest.mark.parametrize(("posted", "field", "what"), [
    ({"realised_value": "-5", "run_cost": "100"}, "realised_value", "realised value"),
    ({"realised_value": "", "run_cost": "100"}, "realised_value", "realised value"),
    ({"realised_value": "100", "run_cost": "-1"}, "run_cost", "run cost"),
    ({"realised_value": "100"}, "run_cost", "run cost"),
])
def test_a_negative_or_missing_figure_is_a_field_error_and_changes_nothing(
        client, pm, posted, field, what):
    initiative = producing("Claims triage copilot", owner=pm)
    review = review_of(initiative)
    client.force_login(pm)

    response = client.post(record_url(review), posted)

    assert response.status_code == 400
    body = response.content.decode()
    message = FIGURE_NEEDED.format(what=what, currency="EUR")
    assert f'id="value-{review.pk}-record-{field}_error"><p class="field-error" role="alert">' \
           f"{message}</p>" in body
    review.refresh_from_db()
    assert review.recorded_at is None
    assert review.realised_value is None
    assert not Activity.objects.filter(kind=Activity.Kind.VALUE_REVIEW_RECORDED).exists()


def test_a_review_below_the_share_of_the_prediction_shows_value_at_risk_and_a_decision(
        client, pm, tpm):
    initiative = producing("Claims triage copilot", owner=pm)
    review = review_of(initiative)
    client.force_login(pm)

    # 60,000 is 25% of the 240,000 predicted, and costs more to run than it returns.
    response = client.post(record_url(review), {"realised_value": "60000",
                                                "run_cost": "70000"}, follow=True)

    body = response.content.decode()
    assert "its value is at risk (below 50% of the prediction). Suggested decision: retire." \
        in body
    assert "Value at risk" in body
    assert "25%" in body
    assert "Suggested decision: <strong>Retire</strong>" in body
    assert "Record decision" in body  # the owner decides too
    client.force_login(tpm)
    assert "Record decision" in detail(client, initiative).content.decode()


def test_value_at_risk_suggests_scaling_back_when_it_costs_more_to_run_than_predicted(
        client, pm):
    initiative = producing("Claims triage copilot", owner=pm)
    record(initiative, 100000, 50000)  # 42% of the value; 50,000 run cost > 40,000 predicted
    client.force_login(pm)

    body = detail(client, initiative).content.decode()

    assert "Suggested decision: <strong>Scale back</strong>" in body
    assert "42%" in body


def test_a_tpm_decides_retire_and_the_initiative_is_retired_as_value_not_proven(client, pm,
                                                                               tpm):
    initiative = producing("Claims triage copilot", owner=pm)
    review = record(initiative, 60000, 70000)
    client.force_login(tpm)

    response = client.post(decide_url(review), {
        "decision": "retire", "note": "Costs more than it returns.",
        "retirement_lessons": "Agents already resolved the easy tickets."}, follow=True)

    body = response.content.decode()
    assert "“Claims triage copilot” is retired (value not proven) and in the kill log." in body
    assert "Retired: Value not proven" in body
    assert "Decided: <span class=\"badge value-decision-retire\">Retire</span>" in body
    assert "Costs more than it returns." in body
    initiative.refresh_from_db()
    assert initiative.stage == Stage.RETIRED
    assert initiative.retirement_reason == RetirementReason.VALUE_NOT_PROVEN
    review.refresh_from_db()
    assert (review.decision, review.decided_by) == ("retire", tpm)


@pytest.mark.parametrize(("posted", "field", "message"), [
    ({"decision": "retire", "note": "Costs more than it returns."}, "retirement_lessons",
     RETIRE_NEEDS_LESSONS),
    ({"decision": "fix", "note": ""}, "note", DECISION_NEEDS_NOTE),
])
def test_a_decision_without_its_note_or_lessons_is_refused_on_the_field(
        client, pm, tpm, posted, field, message):
    initiative = producing("Claims triage copilot", owner=pm)
    review = record(initiative, 60000, 70000)
    client.force_login(tpm)

    response = client.post(decide_url(review), posted)

    assert response.status_code == 400
    assert f'id="value-{review.pk}-decide-{field}_error"><p class="field-error" ' \
           f'role="alert">{message}</p>' in response.content.decode()
    initiative.refresh_from_db()
    review.refresh_from_db()
    assert initiative.stage == Stage.PRODUCTION
    assert review.decision == ""


def test_a_review_decided_meanwhile_says_why_nothing_was_recorded(client, pm, tpm):
    initiative = producing("Claims triage copilot", owner=pm)
    review = record(initiative, 60000, 70000)
    client.force_login(tpm)
    client.post(decide_url(review), {"decision": "fix", "note": "Retrain on Q3 tickets."})
    client.force_login(pm)

    # The owner's page was open on the old figures; their correction arrives too late.
    response = client.post(record_url(review), {"realised_value": "90000", "run_cost": "1"})

    assert response.status_code == 400
    assert "This review was already decided (fix); it cannot be changed." in \
        response.content.decode()
    review.refresh_from_db()
    assert review.realised_value == Decimal(60000)


def test_a_reader_without_the_right_gets_403_and_sees_no_form(client, pm, other_pm,
                                                              reviewer):
    initiative = producing("Claims triage copilot", owner=pm)
    review = review_of(initiative)

    for reader in (other_pm, reviewer):
        client.force_login(reader)
        assert "Record review" not in detail(client, initiative).content.decode()
        response = client.post(record_url(review), {"realised_value": "1", "run_cost": "1"})
        assert response.status_code == 403

    at_risk = record(initiative, 60000, 70000)
    client.force_login(other_pm)  # a PM who does not own it decides nothing
    assert "Record decision" not in detail(client, initiative).content.decode()
    assert client.post(decide_url(at_risk), {"decision": "fix", "note": "x"}).status_code == 403
    at_risk.refresh_from_db()
    assert at_risk.decision == ""
    review.refresh_from_db()
    assert review.realised_value == Decimal(60000)  # the owner's figures, not the readers'


def test_outsiders_get_404_and_a_get_records_nothing(client, pm, outsider):
    initiative = producing("Claims triage copilot", owner=pm)
    review = review_of(initiative)
    client.force_login(outsider)
    assert client.post(record_url(review), {"realised_value": "1",
                                            "run_cost": "1"}).status_code == 404
    assert client.get(LIST_URL).status_code == 404
    client.force_login(pm)
    assert client.get(record_url(review)).status_code == 405
    assert client.post(reverse("portfolio:value-review-record", args=[review.pk + 999]),
                       {}).status_code == 404


# --- The value reviews page -------------------------------------------------------------------

@pytest.fixture
def reviews(pm, other_pm):
    """One review in each state, two teams; the pm owns two of them."""
    claims, finance = (TeamFactory(name="Claims", slug="claims"),
                       TeamFactory(name="Finance", slug="finance"))
    made = {
        "overdue": producing("Overdue one", owner=pm, entered_days_ago=50, team=claims),
        "due": producing("Due one", owner=other_pm, entered_days_ago=35, team=finance),
        "at_risk": producing("At risk one", owner=other_pm, entered_days_ago=40, team=claims),
        "recorded": producing("Recorded one", owner=pm, entered_days_ago=40, team=finance),
    }
    record(made["at_risk"], 60000, 10000)
    record(made["recorded"], 200000, 30000)
    return made


def titles(response) -> list[str]:
    return [row.review.initiative.title for row in response.context["rows"]]


def test_the_value_reviews_page_lists_every_review_most_urgent_first(client, reviewer,
                                                                     reviews):
    client.force_login(reviewer)

    response = client.get(LIST_URL)

    assert response.status_code == 200
    assert titles(response) == ["Overdue one", "Due one", "At risk one", "Recorded one"]
    body = response.content.decode()
    assert "20 days ago" in body  # the overdue one came due 20 days ago
    assert "suggested: fix" in body
    assert "EUR 200,000 of 240,000" in body
    assert "83%" in body
    assert [(label, count) for _, label, count in response.context["tab_counts"]] == [
        ("All", 4), ("Overdue", 1), ("Due", 1), ("Value at risk", 1), ("Recorded", 2)]


@pytest.mark.parametrize(("tab", "expected"), [
    ("overdue", ["Overdue one"]),
    ("due", ["Due one"]),
    ("at_risk", ["At risk one"]),
    ("recorded", ["At risk one", "Recorded one"]),
])
def test_each_tab_lists_its_reviews(client, reviewer, reviews, tab, expected):
    client.force_login(reviewer)
    assert titles(client.get(LIST_URL, {"tab": tab})) == expected


def test_mine_is_a_filter_for_pms(client, pm, reviewer, reviews):
    client.force_login(pm)
    response = client.get(LIST_URL, {"mine": "on"})
    assert titles(response) == ["Overdue one", "Recorded one"]
    assert "Only mine" in response.content.decode()

    client.force_login(reviewer)
    response = client.get(LIST_URL, {"mine": "on"})
    assert "Only mine" not in response.content.decode()
    assert len(titles(response)) == 4  # not a PM: nothing of theirs to narrow to


def test_the_page_is_in_the_navigation_of_every_reader(client, reviewer, leader):
    for reader in (reviewer, leader):
        client.force_login(reader)
        body = client.get("/initiatives/").content.decode()
        assert f'<a href="{LIST_URL}">Value reviews</a>' in body


@pytest.mark.parametrize("count", [2, 12])
def test_the_page_query_count_does_not_grow_with_the_rows(client, pm, count, settings,
                                                          django_assert_max_num_queries):
    settings.PAGE_SIZE = 50
    team = TeamFactory(name="Claims", slug="claims")
    for number in range(count):
        initiative = producing(f"Initiative {number}", owner=pm, team=team,
                               entered_days_ago=35 + number * 3)
        if number % 3 == 0:
            record(initiative, 60000, 70000)
    client.force_login(pm)

    # session, user, roles; the count; the page's rows with initiative, team and owner;
    # the tab counts; the team filter's choices.
    with django_assert_max_num_queries(7):
        response = client.get(LIST_URL, {"mine": "on"})

    assert len(response.context["rows"]) == count


# --- One rule: the status in SQL agrees with is_overdue in Python --------------------------

@pytest.mark.parametrize("came_due_days_ago", [0, 13, 14, 15, 40])
def test_the_overdue_status_agrees_with_is_overdue(pm, came_due_days_ago):
    initiative = producing("Edge", owner=pm, entered_days_ago=30 + came_due_days_ago)
    [row] = value_review_list(user=pm, now=NOW)
    assert (row.status == "overdue") == outcome_selectors.is_overdue(row, NOW.date())
    assert row.due_on == date(2026, 11, 2) - timedelta(days=came_due_days_ago)
    assert row.initiative == initiative


# --- The initiative list's flags ----------------------------------------------------------

def test_the_initiative_list_flags_overdue_reviews_and_value_at_risk(client, reviewer,
                                                                      reviews):
    client.force_login(reviewer)

    body = client.get("/initiatives/").content.decode()

    rows = {title: body.split(title)[1].split("</tr>")[0]
            for title in ("Overdue one", "Due one", "At risk one", "Recorded one")}
    assert "value review overdue" in rows["Overdue one"]
    assert "value at risk" in rows["At risk one"]
    for title in ("Due one", "Recorded one"):
        assert "value review overdue" not in rows[title]
        assert "value at risk" not in rows[title]
