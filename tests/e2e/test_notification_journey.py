"""Issue 20's journey in real Chromium: nobody waits without knowing.

A PM logs an idea; its risk classification is requested of the reviewer, who finds it under
"Waiting on me", takes it and rejects it with a reason. The PM is emailed the rejection (a
real Celery worker sends the outbox through a real SMTP server on loopback), sees it under
"Waiting on me" with the reason, answers with what changed and asks for another review. The
reviewer finds it back in the inbox (round 2) and approves it; the checkpoint's history keeps
both rounds, and everyone was emailed once per event.

The people are made here (not the demo) so that the mailbox holds only this journey's mail.
"""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from governance.catalogue import load_default_catalogue
from governance.models import Checkpoint, CheckpointType
from portfolio import services
from portfolio.models import Activity, Notification
from tests.e2e.test_sign_in import sign_in
from tests.factories import TeamFactory, UserFactory
from tests.integration.conftest import drain, queue, smtp, worker  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"
TITLE = "Supplier onboarding agent"
REASON = "No threat model for the tool calls"
CHANGED = "Added a threat model for every tool call the agent makes; see the security wiki."
PM_EMAIL = "priya.menon@example.com"
REVIEWER_EMAIL = "grace.liu@example.com"


@pytest.fixture(autouse=True)
def _patient_expect():
    """The live server, a worker and an SMTP server share the CI machine's two cores with
    the browser: each page a form posts to gets 15 s to appear, not 5."""
    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


def _signed_in(browser, live_server, username):
    page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    sign_in(page, live_server, username, password=PASSWORD)
    page.wait_for_url(lambda url: "/login/" not in url)
    return page


def _nav_link(page):
    return page.get_by_role("navigation", name="Main").get_by_role(
        "link", name=re.compile(r"^Waiting on me"))


def _inbox(page):
    _nav_link(page).click()
    expect(page.get_by_role("heading", level=1, name="Waiting on me")).to_be_visible()


def _section(page, heading):
    return page.get_by_role("region", name=re.compile(f"^{heading}"))


def _mail(server, address):
    return server.by_recipient().get(address, [])


def _subjects(server, address):
    # A long non-ASCII subject is folded into encoded words; the parsed header keeps the
    # fold's leading space, which no mail client shows.
    return [message.subject.strip() for message in _mail(server, address)]


def test_a_rejection_is_answered_and_approved_on_a_second_round_with_everyone_told(
        browser, live_server, smtp, worker, drain, screenshots):  # noqa: F811
    server = smtp()
    load_default_catalogue(CheckpointType)  # a transactional test's flush removes it
    pm = UserFactory(username="priya", first_name="Priya", last_name="Menon", email=PM_EMAIL,
                     roles=["pm"], password=PASSWORD)
    UserFactory(username="grace", first_name="Grace", last_name="Liu", email=REVIEWER_EMAIL,
                roles=["reviewer"], password=PASSWORD)
    team = TeamFactory(name="Procurement", slug="procurement")

    # The PM logs an idea: its risk classification is requested of the reviewers.
    idea = services.initiative_create(
        actor=pm, now=timezone.now(), title=TITLE, team=team,
        summary="Collect supplier documents and open the vendor record in the ERP.")
    [requested] = Activity.objects.filter(initiative=idea, kind=Activity.Kind.REVIEW_REQUESTED)
    [asked] = requested.details["checkpoints"]
    checkpoint = Checkpoint.objects.select_related("type").get(pk=asked["id"])
    name = checkpoint.type.name
    link = f"/governance/checkpoints/{checkpoint.pk}/"
    drain()
    [request_mail] = _mail(server, REVIEWER_EMAIL)
    assert _subjects(server, REVIEWER_EMAIL) == [f"Review requested: {name} on “{TITLE}”"]
    assert link in request_mail.text

    # The reviewer finds the request under "Waiting on me", takes it and rejects it.
    reviewer = _signed_in(browser, live_server, "grace")
    expect(_nav_link(reviewer)).to_have_text("Waiting on me 1 item")
    _inbox(reviewer)
    item = _section(reviewer, "Reviews waiting on you").get_by_role("listitem").filter(
        has_text=TITLE)
    expect(item).to_contain_text(f"Review {name}")
    expect(item).to_contain_text(re.compile(r"since today|waiting \d+ day"))
    reviewer.screenshot(path=screenshots / "inbox-reviewer.png", full_page=True)
    item.get_by_role("link", name=f"Review {name}").click()
    expect(reviewer.get_by_role("heading", level=1)).to_have_text(name)
    reviewer.get_by_role("button", name="Start review").click()
    expect(reviewer.get_by_text(f"You are reviewing “{name}” for “{TITLE}”.")).to_be_visible()
    reviewer.get_by_label("Notes").fill(REASON)
    reviewer.get_by_role("button", name="Reject").click()
    expect(reviewer.get_by_text(f"Rejected “{name}” for “{TITLE}”.")).to_be_visible()
    _inbox(reviewer)
    expect(reviewer.get_by_role("main").get_by_text(TITLE)).to_have_count(0)
    expect(_nav_link(reviewer)).to_have_text("Waiting on me")  # nothing left to count

    # The worker emails the PM the rejection: what, on which initiative, why, and where.
    drain()
    [rejected_mail] = _mail(server, PM_EMAIL)
    assert _subjects(server, PM_EMAIL) == [f"{name} rejected on “{TITLE}”"]
    assert f"Reason: {REASON}" in rejected_mail.text
    assert link in rejected_mail.text
    assert REASON in rejected_mail.html
    assert link in rejected_mail.html

    # The PM sees the rejection with its reason, answers it and asks for another review.
    owner = _signed_in(browser, live_server, "priya")
    _inbox(owner)
    rejection = _section(owner, "Rejections to address").get_by_role("listitem").filter(
        has_text=TITLE)
    expect(rejection).to_contain_text(f"Rejected by Grace Liu: {REASON}")
    owner.screenshot(path=screenshots / "inbox-pm.png", full_page=True)
    owner.set_viewport_size({"width": 390, "height": 844})
    owner.screenshot(path=screenshots / "inbox-pm-390.png", full_page=True)
    owner.set_viewport_size({"width": 1440, "height": 1000})
    rejection.get_by_role("link", name=f"Answer the rejection of {name}").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text(name)
    owner.get_by_label("What changed since the rejection").fill(CHANGED)
    owner.screenshot(path=screenshots / "re-review.png", full_page=True)
    owner.get_by_role("button", name="Ask for another review").click()
    expect(owner.get_by_text(re.compile(
        f"Asked for another review of “{name}” for “{TITLE}” \\(round 2\\)"))).to_be_visible()
    expect(owner.get_by_role("button", name="Ask for another review")).to_have_count(0)
    _inbox(owner)
    expect(_section(owner, "Rejections to address")).to_have_count(0)

    # The reviewer who rejected it is told what changed.
    drain()
    [_, again_mail] = _mail(server, REVIEWER_EMAIL)
    assert _subjects(server, REVIEWER_EMAIL)[1] == (
        f"Another review requested: {name} on “{TITLE}” (round 2)")
    assert CHANGED in again_mail.text
    assert link in again_mail.text

    # Round 2: back in the reviewer's inbox; approved with evidence, it leaves it.
    _inbox(reviewer)
    item = _section(reviewer, "Reviews waiting on you").get_by_role("listitem").filter(
        has_text=TITLE)
    expect(item).to_contain_text("round 2")
    item.get_by_role("link", name=f"Review {name}").click()
    reviewer.get_by_role("button", name="Start review").click()
    reviewer.get_by_label("Evidence link").fill(
        "https://wiki.example.com/security/supplier-onboarding/threat-model")
    reviewer.get_by_label("Notes").fill("Threat model covers every tool call; minimal risk.")
    reviewer.get_by_role("button", name="Approve").click()
    expect(reviewer.get_by_text(f"Approved “{name}” for “{TITLE}”.")).to_be_visible()
    _inbox(reviewer)
    expect(reviewer.get_by_role("main").get_by_text(TITLE)).to_have_count(0)

    # The checkpoint's history keeps both rounds.
    reviewer.goto(f"{live_server.url}{link}")
    history = reviewer.get_by_role("region", name="Decision history")
    expect(history.get_by_role("heading", name="Round 1")).to_be_visible()
    expect(history.get_by_role("heading", name="Round 2")).to_be_visible()
    expect(history).to_contain_text(REASON)
    expect(history).to_contain_text(CHANGED)
    expect(history).to_contain_text("Threat model covers every tool call")
    reviewer.screenshot(path=screenshots / "checkpoint-two-rounds.png", full_page=True)

    # Each event reached each person once, by the worker.
    drain()
    assert _subjects(server, PM_EMAIL) == [f"{name} rejected on “{TITLE}”",
                                           f"{name} approved on “{TITLE}”"]
    assert len(_mail(server, REVIEWER_EMAIL)) == 2
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
