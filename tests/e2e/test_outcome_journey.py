"""Issue 18's journey in real Chromium, on the demo portfolio: the demo PM records a
measurement and is refused production with the numbers, the sponsor (the demo leader)
overrides with a reason, the initiative enters production, its 30-day value review appears
when the clock has moved on and the owner records it, and the leader sees predicted
against realised value on the dashboard."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from portfolio.models import ContractOverride, Initiative, Stage, ValueReview
from portfolio.outcomes.services import value_reviews_schedule
from scoring.standings import standings_refresh
from tests.e2e.test_sign_in import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PILOT = "Self-service returns chatbot"  # the demo PM's, sponsored by the demo leader


def _signed_in(browser, live_server, username):
    page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    sign_in(page, live_server, username)
    return page


def _move_to_production(page):
    page.get_by_label("Move", exact=True).select_option(label="Forward to Production")
    page.get_by_role("button", name="Move", exact=True).click()


def test_a_pilot_enters_production_on_its_contract_and_its_value_is_reviewed(
        browser, live_server, demo_portfolio, screenshots):
    initiative = Initiative.objects.get(title=PILOT)
    assert initiative.stage == Stage.PILOT
    assert initiative.owner.username == "pm"
    assert initiative.sponsor.username == "leader"
    today = timezone.localdate()

    # The PM records this week's figure, still short of the 35% target.
    pm = _signed_in(browser, live_server, "pm")
    pm.goto(f"{live_server.url}{initiative.get_absolute_url()}")
    record = pm.get_by_role("form", name="Record a measurement")
    record.get_by_label("Date").fill(today.isoformat())
    record.get_by_label("Value (%)").fill("31")
    record.get_by_label("Source note").fill("Weekly returns chat export")
    record.get_by_role("button", name="Record measurement").click()
    expect(pm.locator(".message.success")).to_be_visible()
    contract = pm.get_by_role("region", name="Exit contract")
    expect(contract).to_contain_text("Weekly returns chat export")
    expect(contract.get_by_role("img")).to_be_visible()  # the metric over time
    contract.screenshot(path=screenshots / "outcome-contract-chart.png")

    # Production is refused with the numbers.
    _move_to_production(pm)
    refusal = pm.get_by_role("region", name="Move the stage").get_by_role("alert")
    expect(refusal).to_contain_text(
        f"31% measured on {today.day} {today:%b %Y}, target 35%, baseline 18%")
    pm.screenshot(path=screenshots / "outcome-refused.png", full_page=True)
    assert Initiative.objects.get(pk=initiative.pk).stage == Stage.PILOT

    # The sponsor lets it through with a reason, which the page keeps.
    leader = _signed_in(browser, live_server, "leader")
    leader.goto(f"{live_server.url}{initiative.get_absolute_url()}")
    contract = leader.get_by_role("region", name="Exit contract")
    expect(contract).to_contain_text("31% measured")
    reason = ("31% against 35% after seven weeks and still climbing; returns volume peaks "
              "in January and we would rather learn in production.")
    contract.get_by_label("Why it may go ahead anyway").fill(reason)
    contract.get_by_role("button", name="Let it into production anyway").click()
    expect(leader.locator(".message.success")).to_be_visible()
    expect(leader.get_by_role("region", name="Exit contract")).to_contain_text(reason)
    override = ContractOverride.objects.get(initiative=initiative)
    assert (override.kind, override.decided_by.username) == ("target_missed", "leader")

    # Now the PM's move succeeds.
    pm.goto(f"{live_server.url}{initiative.get_absolute_url()}")
    _move_to_production(pm)
    expect(pm.get_by_text("Moved to Production.")).to_be_visible()
    assert Initiative.objects.get(pk=initiative.pk).stage == Stage.PRODUCTION

    # A month on: the daily job schedules the 30-day review, and the owner records it.
    with time_machine.travel(timezone.now() + timedelta(days=31), tick=True):
        assert value_reviews_schedule(now=timezone.now()) >= 1
        review = ValueReview.objects.get(initiative=initiative, days=30)
        pm = _signed_in(browser, live_server, "pm")  # a month on, the old session has lapsed
        pm.goto(f"{live_server.url}{initiative.get_absolute_url()}")
        value = pm.get_by_role("region", name="Value after production")
        expect(value).to_contain_text("30-day review")
        value.get_by_label(re.compile(r"^Realised value")).fill("980000")
        value.get_by_label(re.compile(r"^Run cost")).fill("265000")
        value.get_by_role("button", name="Record review").click()
        expect(pm.locator(".message.success")).to_be_visible()
        review.refresh_from_db()
        assert (review.realised_value, review.run_cost) == (980000, 265000)
        expect(pm.get_by_role("region", name="Value after production")).to_contain_text(
            "EUR 980,000")
        pm.get_by_role("region", name="Value after production").screenshot(
            path=screenshots / "outcome-value-review.png")

        # The leader sees predicted against realised value, once the worker has refreshed
        # the standings the dashboard and the Value page read (as it does after a change).
        standings_refresh(now=timezone.now())
        leader = _signed_in(browser, live_server, "leader")
        leader.goto(f"{live_server.url}/dashboard/")
        section = leader.get_by_role("region", name="Value after production")
        expect(section).to_contain_text("Predicted versus realised value per team")
        expect(section).to_contain_text(initiative.team.name)
        section.screenshot(path=screenshots / "outcome-dashboard-value.png")
        leader.get_by_role("link", name=re.compile("See value per initiative")).click()
        rows = leader.get_by_role("row", name=re.compile(re.escape(PILOT)))
        expect(rows.first).to_contain_text("980,000")  # predicted against realised
        expect(rows.last).to_contain_text("31%")  # in production, short of its contract
        leader.screenshot(path=screenshots / "outcome-value-page.png", full_page=True)
