"""The demo TPM's journey in real Chromium: land on the stalled pilots, extend one in place
(refused first without a justification), choose the digest's teams, preview the digest."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portfolio.models import StallFlag
from tests.e2e.test_sign_in import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_tpm_extends_a_stall_in_place_and_sets_up_the_digest(page, live_server, demo_portfolio,
                                                             screenshots):
    sign_in(page, live_server, "tpm")

    expect(page).to_have_url(re.compile(r"/stalls/$"))
    expect(page.get_by_role("heading", name="Stalled pilots")).to_be_visible()
    expect(page.get_by_role("link", name="Stalled pilots")).to_have_attribute(
        "aria-current", "page")
    page.screenshot(path=screenshots / "stalls-tpm.png", full_page=True)

    # The longest-waiting undecided stall, narrowed to the undecided ones.
    flag = (StallFlag.objects.open().filter(decision="").select_related("initiative")
            .order_by("flagged_at", "id").first())
    assert flag is not None, "the demo portfolio has undecided stalls"
    title = flag.initiative.title
    page.get_by_role("link", name=re.compile(r"^Undecided \d+")).click()
    expect(page).to_have_url(re.compile(r"state=undecided"))
    row = page.locator(f"#stall-{flag.pk}")
    expect(row).to_contain_text(title)

    row.locator("summary").click()
    form = row.get_by_role("form", name=f"Decide on {title}")
    # Each decision shows only its own fields (CSS, no script).
    form.get_by_label("Kill (retire)").check()
    expect(form.get_by_label("Lessons learned")).to_be_visible()
    expect(form.get_by_label("New decision date")).to_be_hidden()
    form.get_by_label("Extend the pilot").check()
    expect(form.get_by_label("Lessons learned")).to_be_hidden()
    until = timezone.localdate() + timedelta(days=30)
    form.get_by_label("New decision date").fill(until.isoformat())
    form.get_by_role("button", name="Record decision").click()

    # Refused: the row's form is open again, the error on the justification, nothing saved.
    expect(page).to_have_url(
        re.compile(rf"/stalls/{flag.pk}/decide/\?state=undecided#stall-{flag.pk}$"))
    row = page.locator(f"#stall-{flag.pk}")
    form = row.get_by_role("form", name=f"Decide on {title}")
    expect(form.get_by_role("alert")).to_contain_text("needs a justification")
    expect(form.get_by_label("Extend the pilot")).to_be_checked()
    expect(form.get_by_label("New decision date")).to_have_value(until.isoformat())
    page.screenshot(path=screenshots / "stalls-refused.png", full_page=True)

    form.get_by_label("Justification").fill("The Q1 data refresh lands next month.")
    form.get_by_role("button", name="Record decision").click()

    expect(page).to_have_url(re.compile(r"/stalls/\?state=undecided(#stall-\d+)?$"))
    expect(page.locator(".message.success")).to_contain_text(
        f"“{title}” is extended until {until.day} {until:%b %Y}")
    expect(page.locator(f"#stall-{flag.pk}")).to_have_count(0)
    flag.refresh_from_db()
    assert (flag.decision, flag.resolution, flag.extended_until) == ("extend", "extended", until)
    page.screenshot(path=screenshots / "stalls-extended.png", full_page=True)

    page.get_by_role("navigation", name="Stalls per state").get_by_role(
        "link", name=re.compile(r"^Extended \d+")).click()
    expect(page.locator(f"#stall-{flag.pk}")).to_contain_text(
        "The Q1 data refresh lands next month.")

    page.get_by_role("link", name="Digest", exact=True).click()
    expect(page.get_by_role("heading", name="Digest settings")).to_be_visible()
    teams = page.get_by_role("group", name="Teams I follow")
    for box in teams.get_by_role("checkbox").all():
        box.uncheck()
    teams.get_by_label("Customer Operations").check()
    teams.get_by_label("Data Platform").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Digest settings saved.")).to_be_visible()
    expect(page.get_by_text("Your digest covers: Customer Operations, Data Platform.")
           ).to_be_visible()
    page.screenshot(path=screenshots / "digest-settings.png", full_page=True)

    page.get_by_role("link", name="Preview your next digest").click()
    expect(page.get_by_role("heading", name="Digest preview")).to_be_visible()
    preview = page.get_by_role("region", name="The digest")
    expect(preview).to_contain_text("the teams you follow: Customer Operations, Data Platform")
    stalled = (StallFlag.objects.open().filter(initiative__stage="pilot")
               .select_related("initiative__team").order_by("flagged_at", "id"))
    followed = {"Customer Operations", "Data Platform"}
    shown = next(f for f in stalled if f.initiative.team.name in followed)
    hidden = next(f for f in stalled if f.initiative.team.name not in followed)
    expect(preview).to_contain_text(shown.initiative.title)
    expect(preview).not_to_contain_text(hidden.initiative.title)
    expect(page.get_by_text("Portfolio digest 20")).to_be_visible()
    page.screenshot(path=screenshots / "digest-preview.png", full_page=True)
