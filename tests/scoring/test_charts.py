"""The dashboard's server-rendered SVG charts (scoring/charts.py): valid, escaped, CSP-safe."""

import re
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string

from scoring.charts import (
    CAPACITY_TEAM_LIMIT,
    NO_DATA,
    SCATTER_LIMIT,
    Chart,
    capacity_vs_demand,
    governance_heat_map,
    heat_map_chart,
    pilot_age_distribution,
    stage_funnel,
    value_vs_effort,
)

SVG = "{http://www.w3.org/2000/svg}"
EVIL = "<script>alert('x')</script> & co"


def parse(chart: Chart) -> ET.Element:
    return ET.fromstring(str(chart.svg))


def texts(chart: Chart) -> str:
    """Every text node of the SVG, tooltips included, unescaped."""
    return " ".join(t for t in parse(chart).itertext())


def assert_well_formed(chart: Chart) -> None:
    svg = str(chart.svg)
    root = parse(chart)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("viewBox").startswith("0 0 720 ")
    assert root.get("width") == "100%"
    title_id, desc_id = root.get("aria-labelledby").split()
    assert root.find(f"{SVG}title").get("id") == title_id
    assert root.find(f"{SVG}desc").get("id") == desc_id
    assert root.find(f"{SVG}title").text == chart.title
    assert root.find(f"{SVG}desc").text == chart.summary
    # The page's CSP forbids inline styles and scripts.
    assert "style=" not in svg
    assert "<script" not in svg.lower()
    # Text stays legible: no font smaller than 11.5 units in a 720-unit drawing.
    sizes = [float(s) for s in re.findall(r'font-size="([\d.]+)"', svg)]
    assert sizes
    assert min(sizes) >= 11.5
    assert chart.summary.endswith(".")
    for row in chart.rows:
        assert len(row) == len(chart.headers)
        assert all(isinstance(cell, str) for cell in row)


# --- Stage funnel ---------------------------------------------------------------------------

def test_stage_funnel_orders_the_lifecycle_and_footnotes_paused_and_retired():
    chart = stage_funnel([("pilot", 7), ("idea", 14), ("scaled", 2), ("assessment", 9),
                          ("production", 4), ("retired", 5), ("paused", 3)])
    assert_well_formed(chart)
    assert chart.headers == ["Stage", "Initiatives"]
    assert chart.rows == [["Idea", "14"], ["Assessment", "9"], ["Pilot", "7"],
                          ["Production", "4"], ["Scaled", "2"], ["Paused", "3"],
                          ["Retired", "5"]]
    text = texts(chart)
    for label in ("Idea", "Assessment", "Pilot", "Production", "Scaled", "14 (39%)", "2 (6%)"):
        assert label in text
    assert "Beside the lifecycle: Paused 3 · Retired 5" in text
    assert chart.summary == ("36 initiatives on the lifecycle, the most in Idea (14); "
                             "3 paused and 5 retired.")
    bars = [r for r in parse(chart).iter(f"{SVG}rect") if r.get("fill") == "#24408e"]
    assert len(bars) == 5  # paused and retired are not bars


def test_stage_funnel_escapes_unknown_stage_labels():
    chart = stage_funnel([(EVIL, 3)])
    assert_well_formed(chart)
    assert EVIL in texts(chart)
    assert "&lt;script&gt;" in str(chart.svg)
    assert chart.rows == [[EVIL, "3"]]


@pytest.mark.parametrize("counts", [[], [("idea", 0), ("pilot", 0)]])
def test_stage_funnel_without_data_says_so(counts):
    chart = stage_funnel(counts)
    assert_well_formed(chart)
    assert NO_DATA in texts(chart)


# --- Capacity versus demand -----------------------------------------------------------------

def test_capacity_vs_demand_flags_over_commitment_and_missing_plans():
    chart = capacity_vs_demand([("Platform", 120, 150, 110), ("Support", 80, 60, 60),
                                ("Finance", None, 24, 0)])
    assert_well_formed(chart)
    assert chart.rows == [
        ["Platform", "120", "150", "110", "Over by 30"],
        ["Support", "80", "60", "60", "75% used"],
        ["Finance", "no plan", "24", "0", "No plan"],
    ]
    text = texts(chart)
    assert "150 demand · +30 over" in text
    assert "no plan" in text
    assert "120 capacity" in text
    assert "60 demand" in text
    assert "Engineer-weeks" in text
    assert chart.summary == ("3 teams; over-committed: Platform; "
                             "1 team without a capacity plan.")
    # The over-committed team's demand bar is red; the other's is brand blue.
    fills = {r.get("fill") for r in parse(chart).iter(f"{SVG}rect")}
    assert {"#b42318", "#24408e", "#1f7a4a"} <= fills


def test_capacity_vs_demand_escapes_team_names_and_handles_fractions():
    chart = capacity_vs_demand([(EVIL, 40, 72.5, 38.25)])
    assert_well_formed(chart)
    assert chart.rows == [[EVIL, "40", "72.5", "38.2", "Over by 32.5"]]
    assert "+32.5 over" in texts(chart)
    assert "&lt;script&gt;" in str(chart.svg)


def test_capacity_vs_demand_within_capacity_and_zero_capacity():
    chart = capacity_vs_demand([("A", 10, 10, 10), ("B", 0, 0, 0)])
    assert_well_formed(chart)
    assert [row[-1] for row in chart.rows] == ["100% used", "Within"]
    assert "none is over-committed" in chart.summary


def test_capacity_vs_demand_draws_the_most_over_committed_when_there_are_many_teams():
    calm = [(f"Calm {n:02}", 100, 50, 50) for n in range(CAPACITY_TEAM_LIMIT)]
    stretched = [("Stretched", 10, 25, 10), ("Unplanned", None, 8, 0), ("Worst", 5, 40, 5)]
    chart = capacity_vs_demand(calm + stretched)

    assert_well_formed(chart)
    assert len(chart.rows) == CAPACITY_TEAM_LIMIT
    # Most over-committed first (35, 15, then 8 of unplanned demand), then the rest.
    assert [row[0] for row in chart.rows[:3]] == ["Worst", "Stretched", "Unplanned"]
    assert chart.summary.startswith(
        f"The {CAPACITY_TEAM_LIMIT} most over-committed of {CAPACITY_TEAM_LIMIT + 3} teams")


def test_capacity_vs_demand_empty():
    chart = capacity_vs_demand([])
    assert_well_formed(chart)
    assert NO_DATA in texts(chart)
    assert chart.rows == []


# --- Value versus effort --------------------------------------------------------------------

POINTS = [
    ("Contract clause extraction", 8, 61.5, "funded"),
    ("Ticket triage", 4, 88, "funded_blocked"),
    ("Invoice matching", 12, 30, "below_line"),
    ("Churn warning", 20, 72, "something_else"),
    ("Notes to actions", 2, 12, "funded"),
    ("Forecast writer", 16, 45, "funded"),
    ("A very long initiative title that will not fit beside its point", 10, 99, "funded"),
    ("Unscored moonshot", 30, None, "below_line"),
]


def test_value_vs_effort_plots_scorable_points_and_tables_them_all():
    chart = value_vs_effort(POINTS)
    assert_well_formed(chart)
    assert chart.headers == ["Initiative", "Effort (eng-weeks)", "Value (score)", "Status"]
    assert chart.rows[0] == ["A very long initiative title that will not fit beside its point",
                             "10", "99", "Fund next"]
    assert chart.rows[1] == ["Ticket triage", "4", "88", "Funded but blocked"]
    assert ["Invoice matching", "12", "30", "Below the line"] in chart.rows
    assert ["Churn warning", "20", "72", "something_else"] in chart.rows
    assert chart.rows[-1] == ["Unscored moonshot", "30", "not scorable", "Below the line"]
    root = parse(chart)
    markers = [el for el in root.iter() if el.tag in (f"{SVG}circle", f"{SVG}polygon",
                                                       f"{SVG}rect")
               and el.find(f"{SVG}title") is not None]
    assert len(markers) == 7  # the unscorable one is only in the table
    text = texts(chart)
    assert "Unscored moonshot" not in text
    # The top five by value are labelled, long titles truncated (the tooltip keeps it whole).
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("font-weight") == "600"]
    assert labels == ["A very long initiative ti…", "Ticket triage", "Churn warning",
                      "Contract clause extraction", "Forecast writer"]
    for legend in ("Fund next", "Funded but blocked", "Below the line", "Other"):
        assert legend in text
    assert "Effort (engineer-weeks)" in text
    assert "Value (score)" in text
    assert "1 not scorable" in chart.summary


def test_value_vs_effort_shows_the_most_valuable_when_the_portfolio_is_large():
    points = [(f"Initiative {n}", 1 + n % 20, float(n), "funded") for n in range(1, 1001)]

    chart = value_vs_effort(points)

    assert_well_formed(chart)
    assert len(chart.rows) == SCATTER_LIMIT
    assert chart.rows[0][0] == "Initiative 1000"  # the most valuable first
    assert f"the {SCATTER_LIMIT} most valuable of 1,000" in chart.summary
    markers = [el for el in parse(chart).iter() if el.find(f"{SVG}title") is not None
               and el.tag in (f"{SVG}circle", f"{SVG}polygon", f"{SVG}rect")]
    assert len(markers) == SCATTER_LIMIT


def test_value_vs_effort_escapes_titles():
    chart = value_vs_effort([(EVIL, 3, 50, "funded")])
    assert_well_formed(chart)
    assert "&lt;script&gt;" in str(chart.svg)
    assert chart.rows == [[EVIL, "3", "50", "Fund next"]]


@pytest.mark.parametrize("points", [[], [("Unscored", 4, None, "funded")]])
def test_value_vs_effort_with_nothing_scorable(points):
    chart = value_vs_effort(points)
    assert_well_formed(chart)
    assert len(chart.rows) == len(points)
    assert "yet" in texts(chart)


# --- Pilot age distribution -----------------------------------------------------------------

def test_pilot_age_buckets_and_stalled_line():
    chart = pilot_age_distribution([0, 30, 31, 60, 61, 89, 91, 150, 400], max_days=90)
    assert_well_formed(chart)
    assert chart.rows[:5] == [["0–30", "2"], ["31–60", "2"], ["61–90", "2"],
                              ["91–120", "1"], ["121–150", "1"]]
    assert chart.rows[-1] == ["> 360", "1"]  # twelve buckets at most, then the rest
    assert sum(int(n) for _, n in chart.rows) == 9
    text = texts(chart)
    assert "longest pilot: 90 days" in text
    assert "Days in pilot" in text
    dashed = [line for line in parse(chart).iter(f"{SVG}line") if line.get("stroke-dasharray")]
    assert len(dashed) == 1
    assert chart.summary == ("9 pilots, median age 61 days; "
                             "3 in pilot longer than 90 days, the longest a pilot should run.")


def test_pilot_age_has_a_bucket_past_the_threshold():
    chart = pilot_age_distribution([10, 20], max_days=60)
    assert [label for label, _ in chart.rows] == ["0–30", "31–60", "61–90", "> 90"]
    assert chart.rows[0] == ["0–30", "2"]


def test_pilot_age_empty():
    chart = pilot_age_distribution([], max_days=90)
    assert_well_formed(chart)
    assert NO_DATA in texts(chart)


# --- Governance heat map --------------------------------------------------------------------

COLUMNS = ["Data protection impact assessment", "Security review", EVIL]
STATUSES = ["approved", "waived", "in_review", "not_started", "rejected", "waiver_expired",
            "not_applicable"]


def test_heat_map_cells_legend_and_table():
    rows = [
        ("Contract extraction", [("approved", "Approved"), ("rejected", "Rejected"),
                                 ("not_applicable", "Not applicable")], True),
        (EVIL, [("waived", "Waived"), ("waiver_expired", "Waiver expired"),
                ("in_review", "In review")]),
    ]
    chart = governance_heat_map(COLUMNS, rows)
    assert_well_formed(chart)
    assert chart.headers == ["Initiative", *COLUMNS, "Out of compliance"]
    assert chart.rows == [
        ["Contract extraction", "Approved", "Rejected", "Not applicable", "yes"],
        [EVIL, "Waived", "Waiver expired", "In review", "no"],
    ]
    root = parse(chart)
    tips = [t.text for t in root.iter(f"{SVG}title")]
    assert "Contract extraction · Security review: Rejected" in tips
    assert f"{EVIL} · {EVIL}: In review" in tips
    assert "Data protection impact assessment" in tips  # the full column name
    fills = {r.get("fill") for r in root.iter(f"{SVG}rect")}
    assert {"#1f7a4a", "#b42318", "#e07b00", "#9fd8b5", "#9db3e8"} <= fills
    text = texts(chart)
    for legend in ("Approved", "Rejected", "Waived", "Waiver expired", "In review",
                   "Not applicable", "Out of compliance"):
        assert legend in text
    assert "&lt;script&gt;" in str(chart.svg)
    assert "1 out of compliance" in chart.summary


def test_heat_map_caps_rows_and_says_so():
    rows = [(f"Initiative {i}", [(STATUSES[i % 7], "x")] * 3) for i in range(45)]
    chart = governance_heat_map(COLUMNS, rows, limit=40)
    assert_well_formed(chart)
    assert len(chart.rows) == 40
    assert "the first 40 of 45 initiatives" in chart.summary
    assert "Showing the first 40 of 45 initiatives." in texts(chart)
    assert "Initiative 44" not in texts(chart)


def test_heat_map_says_how_many_of_the_kpis_out_of_compliance_it_shows():
    flagged = [(f"Late {i}", [("rejected", "Rejected")] * 3, True) for i in range(3)]
    fine = [(f"Fine {i}", [("approved", "Approved")] * 3, False) for i in range(2)]

    every = governance_heat_map(COLUMNS, flagged + fine, out_of_compliance=3)
    some = governance_heat_map(COLUMNS, flagged[:2], limit=2, out_of_compliance=3)
    none = governance_heat_map(COLUMNS, fine, out_of_compliance=0)

    assert "all 3 out of compliance shown first" in every.summary
    assert "2 of the 3 out of compliance shown" in some.summary
    assert "none out of compliance" in none.summary


def test_committed_work_has_its_own_marker_in_value_versus_effort():
    chart = value_vs_effort([("Running", 5, 40, "committed"), ("Next", 3, 30, "funded")])

    assert chart.rows == [["Running", "5", "40", "Committed"], ["Next", "3", "30", "Fund next"]]
    assert "Committed" in texts(chart)


@pytest.mark.parametrize(("columns", "rows"), [([], []), (["Security"], []),
                                               ([], [("A", [])])])
def test_heat_map_empty(columns, rows):
    chart = governance_heat_map(columns, rows)
    assert_well_formed(chart)
    assert NO_DATA in texts(chart)


def test_heat_map_chart_adapts_the_governance_heat_map():
    heat_map = SimpleNamespace(
        types=[SimpleNamespace(name="Security review"), SimpleNamespace(name="Legal")],
        rows=[SimpleNamespace(
            initiative=SimpleNamespace(title="Triage bot"),
            cells=[SimpleNamespace(status="in_review", label="In review", overdue=True),
                   SimpleNamespace(status="not_applicable", label="Not applicable",
                                   overdue=False)],
            out_of_compliance=False)])
    chart = heat_map_chart(heat_map)
    assert_well_formed(chart)
    assert chart.rows == [["Triage bot", "In review (overdue)", "Not applicable", "no"]]


# --- The partial ----------------------------------------------------------------------------

def test_chart_partial_renders_figure_caption_and_data_table():
    chart = capacity_vs_demand([(EVIL, 10, 12, 8)])
    html = render_to_string("scoring/_chart.html", {"chart": chart})
    assert html.count('<figure class="chart">') == 1
    assert "<figcaption>" in html
    assert chart.title in html
    assert "<summary>Data table</summary>" in html
    assert '<table class="data compact">' in html
    assert "<script>" not in html  # the label is escaped in the SVG and in the table
    assert html.count("&lt;script&gt;") >= 2
    assert "style=" not in html


def test_chart_partial_without_rows_has_no_table():
    html = render_to_string("scoring/_chart.html", {"chart": stage_funnel([])})
    assert NO_DATA in html
    assert "<table" not in html


def test_long_team_names_are_truncated_with_the_full_name_as_tooltip():
    name = "Data Science & Analytics Platform"
    chart = capacity_vs_demand([(name, 10, 5, 5)])
    assert_well_formed(chart)
    root = parse(chart)
    assert [t.tag for t in root if t.tag == f"{SVG}title"] == [f"{SVG}title"]  # only the chart's
    label = next(t for t in root.iter(f"{SVG}text") if t.text and t.text.startswith("Data"))
    assert label.text == "Data Science & An…"
    assert label.find(f"{SVG}title").text == name
