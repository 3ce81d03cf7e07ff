"""Governance in real Chromium: the gate refuses a move and names what blocks it, the
demo reviewer clears it from the review queue, and segregation of duties holds."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from governance.models import Checkpoint
from portfolio.models import STAGE_ORDER, Initiative
from tests.e2e.test_sign_in import sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PILOT = "Refund approval agent"


def _blocking(initiative, stage="production"):
    return list(Checkpoint.objects.applicable().uncleared(timezone.localdate())
                .filter(initiative=initiative,
                        type__required_for__in=STAGE_ORDER[:STAGE_ORDER.index(stage) + 1])
                .select_related("type").order_by("type__name"))


def _move_to_production(page):
    page.get_by_label("Move", exact=True).select_option(label="Forward to Production")
    page.get_by_role("button", name="Move", exact=True).click()


def test_reviewer_clears_the_checkpoints_that_block_a_pms_move_to_production(
        page, live_server, demo_portfolio, browser, screenshots):
    initiative = Initiative.objects.get(title=PILOT)
    blocking = _blocking(initiative)
    assert blocking, "the demo pilot should be blocked by open checkpoints"

    # (a) The PM's move is refused, naming each blocking checkpoint.
    sign_in(page, live_server, "pm")
    page.get_by_role("link", name=PILOT).click()
    _move_to_production(page)
    refusal = page.get_by_role("alert").first
    expect(refusal).to_contain_text("Cannot enter")
    for checkpoint in blocking:
        expect(refusal).to_contain_text(checkpoint.type.name)
    page.screenshot(path=screenshots / "gate-refusal.png", full_page=True)

    # (b) The reviewer lands on the queue, opens each blocking checkpoint and approves it.
    reviewer = browser.new_page()
    sign_in(reviewer, live_server, "reviewer")
    expect(reviewer).to_have_url(re.compile(r"/governance/queue/$"))
    expect(reviewer.get_by_role("heading", level=1, name="Review queue")).to_be_visible()
    expect(reviewer.locator("table.queue tr.overdue").first).to_be_visible()
    reviewer.screenshot(path=screenshots / "review-queue.png", full_page=True)
    for number, checkpoint in enumerate(blocking):
        reviewer.goto(f"{live_server.url}/governance/queue/?type={checkpoint.type.code}")
        reviewer.get_by_role("link", name=f"Decide {checkpoint.type.name} for {PILOT}").click()
        expect(reviewer.get_by_role("heading", level=1)).to_have_text(checkpoint.type.name)
        expect(reviewer.get_by_role("region", name="What to check")).to_contain_text(
            checkpoint.type.description[:40])
        reviewer.get_by_label("Evidence link").fill(
            f"https://wiki.example.com/ai-governance/refunds/{checkpoint.type.code}")
        reviewer.get_by_label("Notes").fill("Reviewed with the team; no open findings.")
        if number == 0:
            reviewer.screenshot(path=screenshots / "checkpoint-decide.png", full_page=True)
        reviewer.get_by_role("button", name="Approve").click()
        expect(reviewer.get_by_text(f"Approved “{checkpoint.type.name}” for “{PILOT}”."))\
            .to_be_visible()

    # (c) Its pilot already met the exit contract's target, so with the checkpoints cleared
    # the PM's move succeeds.
    page.goto(f"{live_server.url}{initiative.get_absolute_url()}")
    _move_to_production(page)
    expect(page.get_by_text("Moved to Production.")).to_be_visible()


def test_an_owner_who_is_also_a_reviewer_cannot_decide_on_their_own_initiative(
        page, live_server, demo_portfolio, screenshots):
    both = UserFactory(username="pat", first_name="Pat", last_name="Both",
                       roles=["pm", "reviewer"], password="demo-portfolio-2026")
    Initiative.objects.filter(title=PILOT).update(owner=both)  # test set-up
    checkpoint = _blocking(Initiative.objects.get(title=PILOT))[0]

    sign_in(page, live_server, "pat")
    page.get_by_role("link", name="Review queue").click()
    page.goto(f"{live_server.url}/governance/queue/?type={checkpoint.type.code}")
    row = page.locator("table.queue tr", has_text=PILOT)
    expect(row).to_contain_text("someone else reviews")
    expect(row.get_by_role("link", name=re.compile("^Decide"))).to_have_count(0)

    row.get_by_role("link", name=checkpoint.type.name).click()
    expect(page.get_by_role("note")).to_contain_text("segregation of duties")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    page.screenshot(path=screenshots / "checkpoint-own-initiative.png", full_page=True)


def test_a_waiver_opens_the_gate_until_it_expires(page, live_server, demo_portfolio, browser,
                                                  screenshots):
    from datetime import timedelta

    from portfolio import services
    from portfolio.models import Team

    pm = Initiative.objects.get(title=PILOT).owner
    idea = services.initiative_create(actor=pm, now=timezone.now(), title="Returns fraud radar",
                                      team=Team.objects.first(),
                                      summary="Flag suspicious return patterns for review.")
    classification = Checkpoint.objects.get(initiative=idea, type__code="risk-classification")

    # The reviewer waives the classification for a week.
    reviewer = browser.new_page()
    sign_in(reviewer, live_server, "reviewer")
    reviewer.goto(f"{live_server.url}/governance/checkpoints/{classification.pk}/")
    reviewer.get_by_label("Justification").fill(
        "Interim: treated as limited risk until legal confirms the tier.")
    reviewer.get_by_label("Waiver expires on").fill(
        (timezone.localdate() + timedelta(days=7)).isoformat())
    reviewer.get_by_role("button", name="Waive").click()
    expect(reviewer.get_by_text("Waived")).to_be_visible()

    # The PM's move into assessment now passes.
    sign_in(page, live_server, "pm")
    page.goto(f"{live_server.url}{idea.get_absolute_url()}")
    page.get_by_label("Move", exact=True).select_option(label="Forward to Assessment")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.get_by_text("Moved to Assessment.")).to_be_visible()

    # Time passes: the waiver has expired; the gate blocks again and the initiative,
    # already in assessment, is out of compliance.
    Checkpoint.objects.filter(pk=classification.pk).update(
        waiver_expires_on=timezone.localdate() - timedelta(days=1))
    page.reload()
    expect(page.locator(".badges").get_by_text("out of compliance")).to_be_visible()
    page.get_by_label("Move", exact=True).select_option(label="Forward to Pilot")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.get_by_role("region", name="Move the stage")).to_contain_text(
        "EU AI Act risk classification (waiver expired")
    page.screenshot(path=screenshots / "waiver-expired.png", full_page=True)
