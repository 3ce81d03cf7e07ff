"""The demo leader's dashboard in real Chromium: lands on it, filters by a team, opens a
score breakdown and exports the table as CSV. The screenshots are for a person to read."""

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.test_sign_in import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHARTS = ["Stage funnel", "Capacity versus demand", "Value versus effort",
          "Pilot age distribution", "Governance heat map"]


def test_leader_filters_the_dashboard_reads_a_breakdown_and_exports_csv(
        page, live_server, demo_portfolio, screenshots):
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, live_server, "leader")

    # The first render ranks the whole demo portfolio: give a loaded machine time.
    expect(page).to_have_url(re.compile(r"/dashboard/$"), timeout=15_000)
    expect(page.get_by_role("heading", level=1, name="Portfolio dashboard")).to_be_visible()
    for title in CHARTS:
        chart = page.locator("figure.chart", has=page.locator(".chart-title", has_text=title))
        expect(chart).to_be_visible()
        expect(chart.locator("svg")).to_be_visible()
    expect(page.locator("table.dash-table tbody tr").first).to_be_visible()
    page.screenshot(path=screenshots / "dashboard.png", full_page=True)

    page.get_by_label("Team", exact=True).select_option(label="Customer Operations")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"team=customer-operations"), timeout=15_000)
    expect(page.get_by_text(re.compile(r"\d+ initiatives? match"))).to_be_visible()
    page.wait_for_load_state()
    rows = page.locator("table.dash-table tbody tr")
    expect(rows.first).to_be_visible()
    for team in rows.locator("td:nth-child(6)").all_inner_texts():
        assert team == "Customer Operations"

    breakdown = rows.first.locator("details.dash-breakdown")
    breakdown.locator("summary").click()
    expect(breakdown.locator(".dash-expression")).to_be_visible()
    expect(breakdown.locator(".dash-expression")).to_contain_text("=")
    page.screenshot(path=screenshots / "dashboard-filtered.png", full_page=True)

    shown = rows.locator("td:nth-child(2) a").all_inner_texts()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    records = list(csv.reader(io.StringIO(text)))
    assert records[0][:3] == ["rank", "title", "team"]
    assert {record[2] for record in records[1:]} == {"Customer Operations"}
    assert [record[1] for record in records[1:len(shown) + 1]] == shown
