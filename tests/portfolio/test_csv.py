"""CSV export of the initiative list and CSV import of new initiatives (issue 3, item 10)."""

import csv
import io
import json
import re
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection

from governance.models import Checkpoint
from portfolio import csv_io
from portfolio.csv_io.importer import ACTOR_CANNOT_OWN
from portfolio.models import Activity, Initiative, Stakeholder
from portfolio.similarity import index_initiatives, similar_initiatives, similar_initiatives_batch
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory, UserFactory
from tests.portfolio.similarity_corpus import OTHERS, PLANTED_PAIRS, UNRELATED_PROBES

pytestmark = pytest.mark.django_db

LIST_URL = "/initiatives/"
EXPORT_URL = "/initiatives/export.csv"
IMPORT_URL = "/initiatives/import/"
TEMPLATE_URL = "/initiatives/import/template.csv"
HEADERS = [column.header for column in csv_io.COLUMNS]


def exported(response) -> list[dict]:
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")  # so that Excel reads it as UTF-8
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def make_csv(header: list[str], *rows: list) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def upload(client, data: bytes, **headers):
    return client.post(IMPORT_URL, {"file": SimpleUploadedFile("initiatives.csv", data,
                                                               content_type="text/csv")},
                       headers=headers)


def run_import(data, actor, **kwargs):
    return csv_io.initiatives_import(file_or_rows=data, actor=actor, now=FIXED_NOW, **kwargs)


def triples(result) -> list[tuple]:
    return [(error.row, error.column, error.message) for error in result.errors]


def nothing_written():
    return (Initiative.objects.count(), Stakeholder.objects.count(), Activity.objects.count(),
            Initiative.history.count()) == (0, 0, 0, 0)


@pytest.fixture
def team(db):
    return TeamFactory(name="Claims Operations", slug="claims-ops")


# --- Export -----------------------------------------------------------------------------------

def test_export_holds_exactly_the_rows_the_filtered_list_shows_across_pages(client, pm, settings):
    settings.PAGE_SIZE = 2
    finance, claims = TeamFactory(slug="finance"), TeamFactory(slug="claims")
    for index in range(5):
        InitiativeFactory(title=f"Finance {index}", team=finance, stage="pilot")
    InitiativeFactory(title="Finance idea", team=finance, stage="idea")
    InitiativeFactory(title="Claims pilot", team=claims, stage="pilot")
    client.force_login(pm)
    query = {"team": "finance", "stage": "pilot", "sort": "title", "page": "2"}

    listed = []
    for page in (1, 2, 3):
        response = client.get(LIST_URL, {**query, "page": page})
        listed += [initiative.title for initiative in response.context["page"].object_list]
    rows = exported(client.get(EXPORT_URL, query))

    assert [row["Title"] for row in rows] == listed
    assert listed == [f"Finance {index}" for index in range(5)]


def test_export_writes_every_column_in_the_spec(client, pm, other_pm, team):
    sponsor = UserFactory(username="exec-sponsor")
    initiative = InitiativeFactory(
        title="Claims triage copilot", summary="Route claims, 30% faster.", team=team, owner=pm,
        sponsor=sponsor, production_owner=other_pm, stage="pilot", health="at_risk",
        category="internal_copilot", effort_weeks=Decimal("12.5"), reach=4000, impact=0.25,
        confidence=80, business_value=8, time_criticality=5, risk_reduction=3,
        strategic_alignment=4, target_production_date=date(2027, 3, 31), uses_personal_data=True,
        autonomy_level="human_in_the_loop", risk_tier="high", model_vendor="Azure OpenAI",
        success_metric="Minutes per claim", metric_unit="minutes", metric_direction="lower",
        baseline_value=Decimal("14.0000"), target_value=Decimal("9.5000"),
        window_start=date(2026, 12, 1), window_end=date(2027, 1, 10),
        decision_date=date(2027, 1, 15), predicted_annual_value=Decimal("120000.00"),
        predicted_annual_run_cost=Decimal("18500.50"),
    )
    client.force_login(pm)

    response = client.get(EXPORT_URL)
    [row] = exported(response)

    assert list(row) == HEADERS
    assert row == {
        "ID": str(initiative.pk), "Title": "Claims triage copilot",
        "Summary": "Route claims, 30% faster.", "Category": "Internal copilot",
        "Team": "claims-ops", "Owner": "owner-pm", "Sponsor": "exec-sponsor", "Stage": "Pilot",
        "Health": "At risk", "Effort (engineer-weeks)": "12.5",
        "Reach (people per quarter)": "4000", "Impact": "0.25", "Confidence (%)": "80",
        "Business value": "8", "Time criticality": "5", "Risk reduction": "3",
        "Strategic alignment": "4", "Target production date": "2027-03-31",
        "Uses personal data": "yes", "Customer facing": "no",
        "Autonomy level": "Human in the loop", "Risk tier": "High",
        "Model / vendor": "Azure OpenAI", "Success metric": "Minutes per claim",
        "Metric unit": "minutes", "Direction": "Lower is better",
        "Baseline": "14", "Target": "9.5", "Window from": "2026-12-01",
        "Window until": "2027-01-10", "Decision date": "2027-01-15",
        "Production owner": "other-pm", "Predicted annual value (EUR)": "120000",
        "Predicted annual run cost (EUR)": "18500.5",
        "Last activity": "2026-11-02T09:00:00+00:00",
        "Retirement reason": "",
    }
    assert response["Content-Disposition"].startswith('attachment; filename="initiatives-')


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://evil\")", "+1+2", "-2+3", "@SUM(A1)",
                                  "\tcmd", "\rcmd"])
def test_export_neutralises_spreadsheet_formulas(client, pm, text):
    InitiativeFactory(title=text, summary=text, success_metric=text)
    client.force_login(pm)

    [row] = exported(client.get(EXPORT_URL))

    assert (row["Title"], row["Summary"], row["Success metric"]) == (f"'{text}",) * 3


def test_export_leaves_ordinary_text_alone(client, pm):
    InitiativeFactory(title="Triage 2.0 — 'smart' routing", summary="a=b, c+d")
    client.force_login(pm)

    [row] = exported(client.get(EXPORT_URL))

    assert (row["Title"], row["Summary"]) == ("Triage 2.0 — 'smart' routing", "a=b, c+d")


@pytest.mark.parametrize("count", [5, 100])
def test_export_query_count_does_not_grow_with_the_rows(client, pm, django_assert_num_queries,
                                                        count):
    teams = TeamFactory.create_batch(3)
    sponsor = UserFactory()
    for index in range(count):
        InitiativeFactory(team=teams[index % 3], sponsor=sponsor, production_owner=sponsor)
    client.force_login(pm)

    # session, the user with their groups (roles), the team filter's slug, the one SELECT of
    # initiatives joined with team, owner, sponsor and production owner.
    with django_assert_num_queries(4):
        rows = exported(client.get(EXPORT_URL, {"team": teams[0].slug}))

    assert len(rows) == len(range(0, count, 3))


@pytest.mark.parametrize("persona", ["pm", "reviewer", "tpm", "leader"])
def test_every_role_exports(client, request, persona):
    InitiativeFactory(title="Agentic invoice matching")
    client.force_login(request.getfixturevalue(persona))

    rows = exported(client.get(EXPORT_URL))

    assert [row["Title"] for row in rows] == ["Agentic invoice matching"]


def test_outsider_cannot_export(client, outsider):
    InitiativeFactory(title="Secret roadmap item")
    client.force_login(outsider)

    response = client.get(EXPORT_URL)

    assert response.status_code == 404
    assert b"Secret roadmap item" not in response.content


def test_anonymous_export_goes_to_sign_in(client):
    assert client.get(EXPORT_URL).status_code == 302


def test_export_mine_follows_who_asks(client, pm, other_pm):
    InitiativeFactory(title="Mine", owner=pm)
    InitiativeFactory(title="Theirs", owner=other_pm)
    client.force_login(pm)

    assert [row["Title"] for row in exported(client.get(EXPORT_URL, {"owner": "me"}))] == ["Mine"]


def test_list_links_to_export_with_its_filters_and_pms_to_import(client, pm, reviewer, team):
    client.force_login(pm)
    body = client.get(LIST_URL, {"team": team.slug, "page": "1"}).content.decode()
    assert f'href="{EXPORT_URL}?team={team.slug}"' in body
    assert f'href="{IMPORT_URL}"' in body

    client.force_login(reviewer)
    body = client.get(LIST_URL).content.decode()
    assert f'href="{EXPORT_URL}"' in body
    assert IMPORT_URL not in body


# --- Import: the happy path ------------------------------------------------------------------

IMPORT_HEADER = ["Title", "Summary", "Category", "Team", "Owner", "Impact", "Confidence (%)",
                 "Effort (engineer-weeks)", "Target production date", "Uses personal data"]


def test_pm_imports_initiatives_that_start_as_owned_ideas(client, pm, other_pm, team):
    data = make_csv(IMPORT_HEADER,
                    ["Claims triage copilot", "Route claims", "Internal copilot", "claims-ops",
                     "", "2", "80", "6", "2027-03-31", "yes"],
                    ["Invoice matching agent", "", "agentic_workflow", "claims-ops",
                     "other-pm", "", "", "", "", ""])
    client.force_login(pm)

    response = upload(client, data)

    assert response.status_code == 302
    assert response["Location"] == LIST_URL   # one row is someone else's: the whole list
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Imported 2 initiatives."]
    mine, theirs = Initiative.objects.order_by("title")
    assert (mine.title, mine.owner, mine.created_by, mine.stage, mine.version) == (
        "Claims triage copilot", pm, pm, "idea", 1)
    assert (mine.category, mine.impact, mine.confidence, mine.effort_weeks) == (
        "internal_copilot", 2.0, 80, Decimal("6"))
    assert (mine.target_production_date, mine.uses_personal_data) == (date(2027, 3, 31), True)
    assert (theirs.owner, theirs.category, theirs.created_by) == (other_pm, "agentic_workflow", pm)
    for initiative in (mine, theirs):
        assert Stakeholder.objects.filter(initiative=initiative, user=initiative.owner,
                                          role=Stakeholder.Role.ACCOUNTABLE).count() == 1
        # Created, and the reviews its first gate needs requested of the reviewers.
        activity = Activity.objects.get(initiative=initiative, kind="created")
        assert (activity.actor, activity.details) == (pm, {"source": "csv"})
        assert set(Activity.objects.filter(initiative=initiative)
                   .values_list("kind", flat=True)) == {"created", "review_requested"}
        [record] = initiative.history.all()
        assert (record.history_type, record.history_user) == ("+", pm)


def test_import_records_history_at_the_services_now(pm, team):
    result = run_import(make_csv(["Title", "Team"], ["Spend analytics", "claims-ops"]), pm)

    [initiative] = result.created
    [record] = initiative.history.all()
    assert result.ok
    assert (record.history_date, record.history_user, record.history_change_reason) == (
        FIXED_NOW, pm, "Imported from CSV")
    assert (initiative.created_at, initiative.last_activity_at, initiative.stage_changed_at) == (
        FIXED_NOW,) * 3
    assert Stakeholder.history.filter(user=pm, history_type="+").count() == 1


def test_when_all_rows_are_mine_the_import_lands_on_my_initiatives(client, pm, team):
    client.force_login(pm)

    response = upload(client, make_csv(["Title", "Team"], ["Spend analytics", "claims-ops"]))

    assert response["Location"] == f"{LIST_URL}?owner=me"


def test_choices_take_the_value_or_the_label_in_any_case(pm, team):
    header = ["title", "TEAM", "category", "health", "impact", "confidence", "autonomy level",
              "Risk Tier", "customer_facing"]
    result = run_import(make_csv(
        header,
        ["A", "Claims Operations", "internal COPILOT", "at risk", "High (2)", "80%",
         "human in the loop", "high", "Y"],
        ["B", "CLAIMS-OPS", "agentic_workflow", "Blocked", "0.5", "Low (50%)",
         "HUMAN_ON_THE_LOOP", "Limited", "no"],
        ["C", "claims-ops", "", "", "massive", "100", "", "", ""],
    ), pm)

    assert result.ok, triples(result)
    a, b, c = sorted(result.created, key=lambda i: i.title)
    assert (a.team, a.category, a.health, a.impact, a.confidence, a.autonomy_level,
            a.risk_tier, a.customer_facing) == (team, "internal_copilot", "at_risk", 2.0, 80,
                                                "human_in_the_loop", "high", True)
    assert (b.category, b.health, b.impact, b.confidence, b.autonomy_level, b.risk_tier,
            b.customer_facing) == ("agentic_workflow", "blocked", 0.5, 50, "human_on_the_loop",
                                   "limited", False)
    assert (c.category, c.health, c.impact) == ("other", "on_track", 3.0)
    assert c.profile_as_entered() == {"risk_tier": "not_sure", "autonomy_level": "not_sure"}


# --- Import: the AI profile is an explicit choice -------------------------------------------

PROFILE_HEADER = ["Title", "Team", "Risk tier", "Autonomy level", "Uses personal data"]


def checkpoint_codes(initiative) -> set[str]:
    return set(Checkpoint.objects.filter(initiative=initiative, retired_at__isnull=True)
               .values_list("type__code", flat=True))


def profile(initiative) -> tuple:
    return (initiative.risk_tier, initiative.risk_tier_assumed, initiative.autonomy_level,
            initiative.autonomy_assumed)


def test_an_empty_ai_profile_cell_is_not_sure_the_cautious_profile_with_every_checkpoint(
        pm, team):
    result = run_import(make_csv(PROFILE_HEADER,
                                 ["Claims triage copilot", "claims-ops", "", "", "yes"],
                                 ["Spend analytics", "claims-ops", "", "Assistive", "yes"]),
                        pm)

    assert result.ok, triples(result)
    empty, half = sorted(result.created, key=lambda i: i.title)
    assert profile(empty) == ("high", True, "autonomous", True)
    assert profile(half) == ("high", True, "assistive", False)
    codes = checkpoint_codes(empty)
    assert len(codes) == 15   # as "Not sure" at intake: every checkpoint that could apply
    assert {"risk-classification", "compliance-review", "bias-fairness", "human-oversight",
            "autonomy-boundaries", "failure-recovery"} <= codes


def test_a_file_without_the_ai_profile_columns_is_not_sure_too(pm, team):
    result = run_import(make_csv(["Title", "Team"], ["Spend analytics", "claims-ops"]), pm)

    [initiative] = result.created
    assert profile(initiative) == ("high", True, "autonomous", True)


def test_an_explicit_ai_profile_is_kept_and_not_flagged(pm, team):
    result = run_import(make_csv(PROFILE_HEADER,
                                 ["Spend analytics", "claims-ops", "Minimal", "assistive", "yes"]),
                        pm)

    [initiative] = result.created
    assert profile(initiative) == ("minimal", False, "assistive", False)
    assert len(checkpoint_codes(initiative)) == 10  # the nine that always apply, and privacy


@pytest.mark.parametrize("answer", ["not sure", "Not sure", "not_sure", "NOT_SURE"])
def test_not_sure_is_accepted_as_a_value(pm, team, answer):
    result = run_import(make_csv(PROFILE_HEADER,
                                 ["Spend analytics", "claims-ops", answer, answer, "no"]), pm)

    assert result.ok, triples(result)
    [initiative] = result.created
    assert profile(initiative) == ("high", True, "autonomous", True)


def test_an_unknown_ai_profile_value_is_reported_on_its_cell(pm, team):
    result = run_import(make_csv(PROFILE_HEADER,
                                 ["Spend analytics", "claims-ops", "medium", "maybe", "no"]), pm)

    assert sorted(triples(result)) == [
        (2, "Autonomy level", '"maybe" is not one of: Assistive, Human in the loop, '
                              "Human on the loop, Autonomous, Not sure."),
        (2, "Risk tier", '"medium" is not one of: Minimal, Limited, High, Prohibited, Not sure.'),
    ]
    assert nothing_written()


def test_the_column_reference_says_an_empty_ai_profile_cell_is_not_sure(client, pm):
    client.force_login(pm)

    body = client.get(IMPORT_URL).content.decode()

    for header, assumed in (("Risk tier", "High"), ("Autonomy level", "Autonomous")):
        row = body.split(f'<th scope="row">{header}</th>')[1].split("</tr>")[0]
        assert ", Not sure</td>" in row
        assert (f"Empty or Not sure: treated as {assumed} until the risk classification "
                "review confirms it.") in row
    assert "Empty: Minimal." not in body   # no silent lowest-risk default named
    assert "Empty: Assistive." not in body


def test_an_assumed_profile_exports_as_not_sure_and_imports_back_assumed(client, pm, team):
    InitiativeFactory(title="Unsure", team=team, owner=pm, risk_tier="high",
                      risk_tier_assumed=True, autonomy_level="human_in_the_loop")
    client.force_login(pm)
    data = b"".join(client.get(EXPORT_URL).streaming_content)
    [row] = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    assert (row["Risk tier"], row["Autonomy level"]) == ("Not sure", "Human in the loop")

    result = run_import(data, pm, decide_all=csv_io.IMPORT_ANYWAY)

    [copy] = result.created
    assert profile(copy) == ("high", True, "human_in_the_loop", False)


def test_semicolons_a_byte_order_mark_and_trailing_blank_rows_are_fine(pm, team):
    data = "\ufeffTitle;Team;Summary\r\nSpend analytics;claims-ops;Explain spend\r\n;;\r\n\r\n"

    result = run_import(data.encode("utf-8"), pm)

    assert result.ok, triples(result)
    assert [i.title for i in result.created] == ["Spend analytics"]


def test_a_team_is_found_by_slug_before_name(pm, team):
    # A team named like another team's slug: the slug decides.
    decoy = TeamFactory(name="claims-ops-old", slug="claims-ops-legacy")
    renamed = TeamFactory(name="Claims-Ops", slug="claims-2")

    result = run_import([["Title", "Team"], ["A", "claims-ops"], ["B", "CLAIMS-OPS-LEGACY"],
                         ["C", "claims-ops-old"]], pm)

    assert result.ok, triples(result)
    assert [i.team for i in sorted(result.created, key=lambda i: i.title)] == [
        team, decoy, decoy]
    assert renamed not in {i.team for i in result.created}


def test_html_in_a_title_is_stored_as_text_and_shown_escaped(client, pm, team):
    title = '<script>alert("x")</script> <b>bold</b> bot'
    client.force_login(pm)

    upload(client, make_csv(["Title", "Team"], [title, "claims-ops"]))
    body = client.get(LIST_URL).content.decode()

    assert Initiative.objects.get().title == title
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert "<script>alert(" not in body


def test_a_formula_is_imported_as_the_text_it_is(pm, team):
    result = run_import(make_csv(["Title", "Team", "Summary"],
                                 ["=1+1", "claims-ops", "'=2+2"],
                                 ["It's fine", "claims-ops", "'quoted'"]), pm)

    by_title = {i.title: i.summary for i in result.created}
    # The apostrophe our export puts before a formula character comes off; others stay.
    assert by_title == {"=1+1": "=2+2", "It's fine": "'quoted'"}


# --- Import: nothing or everything -------------------------------------------------------------

def test_every_bad_row_is_reported_by_number_and_column_and_nothing_is_imported(pm, team):
    rows = [[f"Initiative {n}", "claims-ops", "1", "2"] for n in range(2, 52)]
    rows[7 - 2][3] = "7"              # row 7: impact out of range
    rows[12 - 2][2] = "0"             # row 12: no effort
    rows[31 - 2][1] = "no-such-team"  # row 31: unknown team
    rows[40 - 2][0] = ""              # row 40: no title
    rows[40 - 2][2] = "lots"          # ... and effort not a number

    result = run_import(make_csv(["Title", "Team", "Effort (engineer-weeks)", "Impact"], *rows),
                        pm)

    assert not result.ok
    assert [(row, column) for row, column, _ in triples(result)] == [
        (7, "Impact"), (12, "Effort (engineer-weeks)"), (31, "Team"), (40, "Title"),
        (40, "Effort (engineer-weeks)")]
    assert result.created == []
    assert nothing_written()


def test_the_page_lists_each_problem_and_saves_nothing(client, pm, team):
    client.force_login(pm)

    response = upload(client, make_csv(["Title", "Team", "Impact"],
                                       ["Good one", "claims-ops", "1"],
                                       ["Bad one", "claims-ops", "7"]))

    body = re.sub(r"<td [^>]*>", "<td>", response.content.decode())   # cells, attributes aside
    assert response.status_code == 200
    assert "Nothing was imported: 1 problem in 1 row" in body
    assert "<td>3</td><td>Impact</td><td>&quot;7&quot; is not one of: Minimal (0.25)" in body
    assert nothing_written()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", (None, "", csv_io.EMPTY)),
        (b"\r\n,,\r\n", (None, "", csv_io.EMPTY)),
        (b"\r\nTitle,Team\r\nA,claims-ops\r\n", (1, "", csv_io.HEADER_FIRST)),
        (b"Title,Team\r\n", (None, "", csv_io.NO_ROWS)),
        (b"Title,Team\r\nCaf\xe9 copilot,claims-ops\r\n",
         (2, "", csv_io.NOT_UTF8)),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00xl/workbook.xml",
         (None, "", csv_io.NOT_TEXT)),
        (bytes(range(256)) * 4, (None, "", csv_io.NOT_TEXT)),
        (b"Title\r\nSpend analytics\r\n",
         (1, "Team", 'The required column "Team" is missing.')),
        (b"Title,Team,Budget\r\nSpend analytics,claims-ops,10\r\n",
         (1, "Budget", csv_io.UNKNOWN_COLUMN.format(header="Budget"))),
        (b"Title,Team,title\r\nA,claims-ops,B\r\n",
         (1, "Title", 'The column "title" appears twice.')),
        (b"Title,Team\r\nA,claims-ops,surprise\r\n",
         (2, "", "This row has 3 cells but the header has 2 columns.")),
        (b"Title,Team\r\n" + b"x" * 200_000 + b",claims-ops\r\n",
         (2, "", "The file cannot be read as CSV: field larger than field limit (131072).")),
    ],
    ids=["empty", "blank-lines", "header-not-first", "header-only", "latin-1", "xlsx", "binary",
         "missing-column", "unknown-column", "duplicate-column", "extra-cells", "huge-cell"],
)
def test_a_bad_file_is_refused_with_one_clear_error(pm, team, data, expected):
    result = run_import(data, pm)

    assert triples(result) == [expected]
    assert nothing_written()


ROW_HEADER = ["Title", "Team", "Owner", "Sponsor", "Effort (engineer-weeks)", "Impact",
              "Business value", "Target production date", "Uses personal data"]
GOOD_ROW = ["Spend analytics", "claims-ops", "", "", "4", "1", "5", "2027-01-31", "no"]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("Title", "x" * 201, "Ensure this value has at most 200 characters (it has 201)."),
        ("Title", "   ", "This field is required."),
        ("Team", "no-such-team", 'No team is called "no-such-team".'),
        ("Team", "", "Name the owning team (its slug)."),
        ("Owner", "nobody-here", 'No user is called "nobody-here".'),
        ("Owner", "gone-pm", 'The owner must be an active user. "gone-pm" is deactivated.'),
        ("Sponsor", "gone-pm", '"gone-pm" is deactivated; name an active user.'),
        ("Effort (engineer-weeks)", "0", "Ensure this value is greater than or equal to 0.5."),
        ("Effort (engineer-weeks)", "-3", "Ensure this value is greater than or equal to 0.5."),
        ("Effort (engineer-weeks)", "2.25", "Ensure that there are no more than 1 decimal place."),
        ("Impact", "7", '"7" is not one of: Minimal (0.25), Low (0.5), Medium (1), High (2), '
                        "Massive (3)."),
        ("Business value", "11", "Ensure this value is less than or equal to 10."),
        ("Business value", "ten", "Enter a whole number."),
        ("Target production date", "next spring", "Enter a date as YYYY-MM-DD, e.g. 2026-11-02."),
        ("Target production date", "2027-02-30", "Enter a date as YYYY-MM-DD, e.g. 2026-11-02."),
        ("Uses personal data", "maybe", 'Enter yes or no, not "maybe".'),
    ],
)
def test_a_bad_cell_is_reported_by_row_and_column(pm, team, column, value, message):
    UserFactory(username="gone-pm", is_active=False)
    bad = list(GOOD_ROW)
    bad[ROW_HEADER.index(column)] = value

    result = run_import(make_csv(ROW_HEADER, GOOD_ROW, bad), pm)

    assert triples(result) == [(3, column, message)]
    assert nothing_written()


def test_too_many_rows_are_refused(pm, team, monkeypatch):
    monkeypatch.setattr(csv_io.importer, "MAX_ROWS", 3)

    result = run_import(make_csv(["Title", "Team"], *[[f"I{n}", "claims-ops"] for n in range(4)]),
                        pm)

    assert triples(result) == [(None, "", "The file has more than 3 initiatives; split it into "
                                          "smaller files.")]


def test_a_file_over_the_size_limit_is_refused_by_the_page(client, pm, team, monkeypatch):
    monkeypatch.setattr(csv_io, "MAX_BYTES", 2 * 1024 * 1024)
    data = make_csv(["Title", "Team"], *[[f"Initiative {n:08}", "claims-ops"]
                                         for n in range(120_000)])
    assert len(data) > csv_io.MAX_BYTES
    client.force_login(pm)

    response = upload(client, data)

    assert response.status_code == 200
    assert "The file is larger than 2 MB; split it into smaller files." in response.content.decode()
    assert nothing_written()


def test_a_post_without_a_file_says_so(client, pm):
    client.force_login(pm)

    response = client.post(IMPORT_URL, {})

    assert response.status_code == 200
    assert response.context["form"].errors["file"] == ["This field is required."]


# --- Import: who may -----------------------------------------------------------------------

def test_pm_sees_the_import_page_with_the_column_reference(client, pm):
    client.force_login(pm)

    body = client.get(IMPORT_URL).content.decode()

    assert f'href="{TEMPLATE_URL}"' in body
    assert 'enctype="multipart/form-data"' in body
    assert "/static/js/import.js" in body
    assert "<progress" in body
    for column in csv_io.IMPORT_COLUMNS:
        assert f"<th scope=\"row\">{column.header}</th>" in body


def test_template_csv_is_the_importable_header(client, pm):
    client.force_login(pm)

    text = client.get(TEMPLATE_URL).content.decode("utf-8-sig")

    assert next(csv.reader(io.StringIO(text))) == [c.header for c in csv_io.IMPORT_COLUMNS]


@pytest.mark.parametrize("persona", ["reviewer", "tpm", "leader"])
def test_read_only_roles_cannot_import(client, request, persona, team):
    client.force_login(request.getfixturevalue(persona))

    page = client.get(IMPORT_URL)
    response = upload(client, make_csv(["Title", "Team"], ["Sneaky", "claims-ops"]))

    assert (page.status_code, response.status_code) == (403, 403)
    assert nothing_written()


def test_outsider_gets_not_found_for_import(client, outsider, team):
    client.force_login(outsider)

    page = client.get(IMPORT_URL)
    response = upload(client, make_csv(["Title", "Team"], ["Sneaky", "claims-ops"]))

    assert (page.status_code, response.status_code) == (404, 404)
    assert client.get(TEMPLATE_URL).status_code == 404
    assert nothing_written()


def test_anonymous_import_goes_to_sign_in(client, team):
    response = upload(client, make_csv(["Title", "Team"], ["Sneaky", "claims-ops"]))

    assert response.status_code == 302
    assert nothing_written()


def test_import_needs_the_csrf_token(pm, team):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(pm)

    response = upload(client, make_csv(["Title", "Team"], ["Forged", "claims-ops"]))

    assert response.status_code == 403
    assert nothing_written()


def test_script_upload_gets_where_to_go_or_the_page_with_the_errors(client, pm, team):
    client.force_login(pm)
    xhr = {"X-Requested-With": "XMLHttpRequest"}

    bad = upload(client, make_csv(["Title", "Team"], ["Bad", "nowhere"]), **xhr)
    good = upload(client, make_csv(["Title", "Team"], ["Good", "claims-ops"]), **xhr)

    assert bad["Content-Type"].startswith("text/html")
    assert 'No team is called &quot;nowhere&quot;.' in bad.content.decode()
    assert good["Content-Type"] == "application/json"
    assert json.loads(good.content) == {"redirect": f"{LIST_URL}?owner=me"}
    assert list(Initiative.objects.values_list("title", flat=True)) == ["Good"]


def test_an_inactive_actor_imports_nothing(pm, team):
    pm.is_active = False
    pm.save()

    result = run_import(make_csv(["Title", "Team"], ["A", "claims-ops"]), pm)

    assert triples(result) == [(None, "", csv_io.INACTIVE_ACTOR)]
    assert nothing_written()


def test_rows_naming_no_owner_need_an_importer_who_may_own_them(leader, pm, team):
    result = run_import(make_csv(["Title", "Team", "Owner"], ["Unowned", "claims-ops", ""],
                                 ["Owned", "claims-ops", "owner-pm"]), leader)

    assert triples(result) == [(None, "Owner", ACTOR_CANNOT_OWN.format(name="a-leader"))]
    assert nothing_written()


def test_someone_who_may_not_own_imports_rows_that_name_their_owners(leader, pm, team):
    result = run_import(make_csv(["Title", "Team", "Owner"], ["Owned", "claims-ops",
                                                              "owner-pm"]), leader)

    [created] = result.created
    assert (created.owner, created.created_by) == (pm, leader)


# --- Import: possible duplicates (issue 17, item 4) ---------------------------------------

TRIAGE = ("Support ticket triage and routing",
          "Classify incoming support tickets by intent and urgency and route them to the right "
          "queue, so first responses are faster.")
TWIN = ("Helpdesk request categorisation",
        "Categorise requests raised with the service desk by urgency and assign each one to "
        "the right resolver queue.")
UNRELATED = ("Warehouse pick-path optimisation",
             "Shorter walking routes for pickers in the Leeds depot.")


def indexed(**fields) -> Initiative:
    """An initiative made by the factory (which bypasses the services), then indexed."""
    initiative = InitiativeFactory(**fields)
    index_initiatives([initiative])
    return initiative


def rows_csv(*texts: tuple[str, str]) -> bytes:
    return make_csv(["Title", "Summary", "Team"], *[[title, summary, "claims-ops"]
                                                    for title, summary in texts])


def flagged(result) -> list[tuple]:
    """(row, title, what it looks like) for each possible duplicate."""
    return [(suspect.row, suspect.title,
             [match.initiative.title if match.initiative else f"row {match.row}"
              for match in suspect.matches]) for suspect in result.duplicates]


@pytest.fixture
def triage(team, other_pm):
    return indexed(title=TRIAGE[0], summary=TRIAGE[1], owner=other_pm)


def test_a_row_that_copies_an_initiative_is_flagged_and_nothing_is_saved(pm, team, triage):
    result = run_import(rows_csv(UNRELATED, TRIAGE), pm)

    assert flagged(result) == [(3, TRIAGE[0], [TRIAGE[0]])]
    [match] = result.duplicates[0].matches
    assert match.score == 1.0
    assert match.reason.startswith(
        'Both titles mention "support", "routing", "ticket" and "triage"; summaries share')
    assert (result.ok, result.created, result.errors) == (False, [], [])
    assert list(Initiative.objects.values_list("title", flat=True)) == [TRIAGE[0]]
    assert Activity.objects.count() == 0


def test_a_reworded_twin_is_flagged_with_why(pm, team, triage):
    InitiativeFactory(title="Invoice data capture", summary="Read supplier invoices.")

    result = run_import(rows_csv(TWIN), pm)

    assert flagged(result) == [(2, TWIN[0], [TRIAGE[0]])]
    [match] = result.duplicates[0].matches
    assert "request ≈ ticket" in match.reason
    assert Initiative.objects.count() == 2


def test_two_copies_of_a_row_in_one_file_flag_the_second(pm, team):
    result = run_import(rows_csv(UNRELATED, TRIAGE, TRIAGE), pm)

    assert flagged(result) == [(4, TRIAGE[0], ["row 3"])]
    [match] = result.duplicates[0].matches
    assert (match.row_title, match.initiative) == (TRIAGE[0], None)
    assert match.reason.startswith("Both titles mention")
    assert nothing_written()


def test_an_unrelated_row_is_not_flagged_and_imports_as_before(pm, team, triage):
    result = run_import(rows_csv(UNRELATED), pm)

    assert (result.ok, result.duplicates) == (True, [])
    assert [initiative.title for initiative in result.created] == [UNRELATED[0]]


def test_dropping_a_flagged_row_imports_the_rest(pm, team, triage):
    data = rows_csv(UNRELATED, TRIAGE, ("Spend analytics", "Where the money goes."))
    first = run_import(data, pm)

    result = run_import(data, pm, decisions={3: csv_io.DROP}, reviewed=first.fingerprint)

    assert result.ok
    assert [suspect.row for suspect in result.dropped] == [3]
    assert [i.title for i in result.created] == [UNRELATED[0], "Spend analytics"]
    assert Initiative.objects.filter(title=TRIAGE[0]).count() == 1


def test_importing_a_flagged_row_anyway_imports_it(pm, team, triage):
    data = rows_csv(UNRELATED, TRIAGE)
    first = run_import(data, pm)

    result = run_import(data, pm, decisions={3: csv_io.IMPORT_ANYWAY}, reviewed=first.fingerprint)

    assert (result.ok, result.dropped) == (True, [])
    assert [i.title for i in result.created] == [UNRELATED[0], TRIAGE[0]]
    assert Initiative.objects.filter(title=TRIAGE[0]).count() == 2


def test_every_flagged_row_needs_a_decision_before_anything_is_saved(pm, team, triage):
    data = rows_csv(TRIAGE, UNRELATED, TWIN)
    first = run_import(data, pm)
    assert [suspect.row for suspect in first.duplicates] == [2, 4]

    result = run_import(data, pm, decisions={2: csv_io.DROP, 99: csv_io.DROP},
                        reviewed=first.fingerprint)

    assert [(suspect.row, suspect.decision) for suspect in result.duplicates] == [
        (2, csv_io.DROP), (4, "")]
    assert [suspect.row for suspect in result.undecided] == [4]
    assert (result.ok, result.created) == (False, [])
    assert Initiative.objects.count() == 1


def test_decisions_made_on_another_file_are_not_applied(pm, team, triage):
    reviewed = run_import(rows_csv(TRIAGE), pm)
    changed = rows_csv(UNRELATED, TRIAGE)   # a row inserted: row 2 is another row now

    result = run_import(changed, pm, decisions={2: csv_io.IMPORT_ANYWAY},
                        reviewed=reviewed.fingerprint)
    also = run_import(changed, pm, decide_all=csv_io.IMPORT_ANYWAY, reviewed=reviewed.fingerprint)

    assert result.file_changed
    assert also.file_changed
    assert flagged(result) == flagged(also) == [(3, TRIAGE[0], [TRIAGE[0]])]
    assert [suspect.decision for suspect in result.duplicates + also.duplicates] == ["", ""]
    assert Initiative.objects.count() == 1


def test_the_checks_intake_runs_are_the_ones_the_import_runs(db):
    """One rule: the batch form finds, for each text, what intake's check finds."""
    owner = UserFactory(username="corpus-owner")
    team = TeamFactory(slug="corpus")
    portfolio = [first for first, _ in PLANTED_PAIRS] + OTHERS
    index_initiatives([InitiativeFactory(team=team, owner=owner, title=title, summary=summary)
                       for _, title, summary in portfolio])
    texts = [(title, summary) for _, (_, title, summary) in PLANTED_PAIRS]
    texts += [(title, summary) for title, summary in UNRELATED_PROBES]

    batch = similar_initiatives_batch(texts)

    for (title, summary), found in zip(texts, batch, strict=True):
        single = similar_initiatives(title=title, summary=summary)
        assert [(m.initiative.pk, m.score, m.reason) for m in found if m.earlier is None] == [
            (m.initiative.pk, m.score, m.reason) for m in single], title
    assert sum(1 for found in batch if found) >= len(PLANTED_PAIRS) * 0.9


@pytest.mark.parametrize(("portfolio", "rows"), [(10, 5), (200, 60)])
def test_the_duplicate_check_takes_six_queries_whatever_the_sizes(db, portfolio, rows,
                                                                   django_assert_num_queries):
    team = TeamFactory(slug="sizes")
    topics = ["invoice capture", "ticket triage", "churn forecast", "contract review",
              "meeting minutes", "fraud alerts", "resume screening", "freight audit"]
    existing = [(f"{topics[n % 8]} {1000 + n}", f"The {topics[(n * 3) % 8]} for site {2000 + n}.")
                for n in range(portfolio)]
    index_initiatives([InitiativeFactory(team=team, title=title, summary=summary)
                       for title, summary in existing])
    texts = [(f"{topics[n % 8]} {5000 + n}", f"About {topics[(n * 5) % 8]}.") for n in range(rows)]
    # Every fifth row copies an initiative, every fifth but one an earlier row.
    texts = [existing[n % portfolio] if n % 5 == 0 else texts[n - 3] if n % 5 == 4 else text
             for n, text in enumerate(texts)]

    # the portfolio's size; the rows' term frequencies; the postings of their telling terms;
    # the candidates' terms; those terms' frequencies; the matched initiatives with team and
    # owner.
    with django_assert_num_queries(6):
        found = similar_initiatives_batch(texts)

    assert any(match.initiative for matches in found for match in matches)
    assert any(match.earlier is not None for matches in found for match in matches)


def test_the_page_lists_possible_duplicates_and_saves_nothing(client, pm, team, triage):
    client.force_login(pm)

    response = upload(client, rows_csv(UNRELATED, TRIAGE, TRIAGE))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Nothing is imported yet: 2 rows may duplicate existing work" in body
    assert f'href="{triage.get_absolute_url()}"' in body
    assert "Row 3: Support ticket triage and routing" in body
    assert "Row 4: Support ticket triage and routing" in body
    assert "Row 3 of this file: Support ticket triage and routing" in body
    assert body.count("<strong>Why:</strong> Both titles mention") == 3
    assert 'name="row-3" value="import"' in body
    assert 'name="row-4" value="drop"' in body
    assert f'name="reviewed" value="{response.context["review"].fingerprint}"' in body
    assert Initiative.objects.count() == 1


def test_the_page_imports_with_the_choices_made_on_the_same_file(client, pm, team, triage):
    client.force_login(pm)
    data = rows_csv(UNRELATED, TRIAGE, TRIAGE)
    fingerprint = upload(client, data).context["review"].fingerprint

    response = client.post(IMPORT_URL, {
        "file": SimpleUploadedFile("initiatives.csv", data, content_type="text/csv"),
        "reviewed": fingerprint, "row-3": "drop", "row-4": "import"})

    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Imported 2 initiatives. Dropped row 3 (a possible duplicate)."]
    assert Initiative.objects.filter(title=TRIAGE[0]).count() == 2
    assert Initiative.objects.filter(title=UNRELATED[0]).count() == 1


def test_the_page_asks_again_for_an_undecided_row_or_a_changed_file(client, pm, team, triage):
    client.force_login(pm)
    data = rows_csv(UNRELATED, TRIAGE)
    fingerprint = upload(client, data).context["review"].fingerprint

    undecided = client.post(IMPORT_URL, {
        "file": SimpleUploadedFile("a.csv", data, content_type="text/csv"),
        "reviewed": fingerprint, "row-3": "maybe"})
    changed = client.post(IMPORT_URL, {
        "file": SimpleUploadedFile("a.csv", rows_csv(TRIAGE), content_type="text/csv"),
        "reviewed": fingerprint, "decide_all": "import"})

    assert "Choose to import this row anyway or to drop it." in undecided.content.decode()
    assert "This is not the file you reviewed" in changed.content.decode()
    assert "Choose to import this row anyway" not in changed.content.decode()
    assert Initiative.objects.count() == 1


def test_the_page_can_decide_every_possible_duplicate_at_once(client, pm, team, triage):
    client.force_login(pm)
    data = rows_csv(TRIAGE, TWIN, UNRELATED)
    fingerprint = upload(client, data).context["review"].fingerprint

    response = upload_with(client, data, reviewed=fingerprint, decide_all="drop",
                           headers={"X-Requested-With": "XMLHttpRequest"})

    assert json.loads(response.content) == {"redirect": f"{LIST_URL}?owner=me"}
    assert sorted(Initiative.objects.values_list("title", flat=True)) == [
        TRIAGE[0], UNRELATED[0]]


def upload_with(client, data: bytes, *, headers=None, **fields):
    return client.post(IMPORT_URL, {"file": SimpleUploadedFile("initiatives.csv", data,
                                                               content_type="text/csv"),
                                    **fields}, headers=headers or {})


def test_import_command_lists_possible_duplicates_and_imports_nothing(tmp_path, pm, team,
                                                                     triage):
    path = tmp_path / "initiatives.csv"
    path.write_bytes(rows_csv(UNRELATED, TRIAGE))
    err = io.StringIO()

    with pytest.raises(CommandError, match="1 possible duplicate") as raised:
        call_command("import_initiatives", str(path), "--as", "owner-pm", stderr=err)

    assert raised.value.returncode == 1
    assert err.getvalue().startswith(
        f'row 3 "{TRIAGE[0]}" looks like initiative {triage.pk} "{TRIAGE[0]}". '
        "Why: Both titles mention")
    assert Initiative.objects.count() == 1


def test_import_command_drops_or_imports_possible_duplicates_when_told(tmp_path, pm, team,
                                                                      triage):
    path = tmp_path / "initiatives.csv"
    path.write_bytes(rows_csv(UNRELATED, TRIAGE))
    out = io.StringIO()

    call_command("import_initiatives", str(path), "--as", "owner-pm", "--duplicates", "drop",
                 stdout=out)

    assert "Dropped 1 possible duplicate row(s): 3." in out.getvalue()
    assert "Imported 1 initiatives." in out.getvalue()
    assert Initiative.objects.filter(title=TRIAGE[0]).count() == 1


# --- Scale and round trip ------------------------------------------------------------------

@pytest.mark.slow
def test_ten_thousand_rows_import_in_one_request(client, pm, team, django_assert_max_num_queries):
    sponsor = UserFactory(username="exec-sponsor")
    header = [c.header for c in csv_io.IMPORT_COLUMNS]
    row = ["", "Summary of the problem", "Internal copilot", "claims-ops", "", "exec-sponsor",
           "At risk", "4.5", "1000", "2", "80", "5", "6", "7", "3", "2027-01-01", "yes", "no",
           "Human in the loop", "High", "Azure OpenAI", "CSAT", "points", "Higher is better",
           "3.1", "4.0", "2027-01-01", "2027-02-28", "2027-03-01", "", "250000", "30000.50"]
    assert len(row) == len(header)
    # Distinct titles ("Initiative 7" and "Initiative 8" would be the same idea: a number
    # under 100 is no term), so that no row is a possible duplicate of another.
    data = make_csv(header, *[[f"Initiative {n:05d}", *row[1:]] for n in range(10_000)])
    client.force_login(pm)

    # session, user, groups, the teams, the named users and which of them may own; the
    # duplicate check (the portfolio's size, its term frequencies, the postings of the
    # rows' telling terms: one query each on PostgreSQL, an IN list of at most 989 terms
    # each on SQLite, ~11 each for these 10,000 distinct titles); then
    # batched writes: initiatives, their history, stakeholders, their history, activities,
    # the duplicate-detection index, and the marks that the stored standings are stale,
    # naming each imported initiative (the import's and those of the checkpoints it
    # creates, a few batched INSERTs), the "review requested" events
    # (2,000 per INSERT) and their fan-out (a fixed number). PostgreSQL takes 500 rows per
    # INSERT (~20 per table); SQLite allows 999 parameters per statement, so ~50 columns
    # make ~20 rows per INSERT (~500 INSERTs for the initiatives and as many for their
    # history). A query per row would be 10,000+. An upper bound, not an exact count: the
    # number of INSERTs follows the rows and each backend's batch size.
    budget = 1_480 if connection.vendor == "sqlite" else 230
    with django_assert_max_num_queries(budget):
        response = upload(client, data)

    assert response.status_code == 302
    assert Initiative.objects.count() == 10_000
    assert Initiative.objects.filter(sponsor=sponsor, owner=pm, stage="idea").count() == 10_000
    assert Activity.objects.filter(kind="created").count() == Stakeholder.objects.count() == 10_000
    assert Initiative.history.count() == 10_000


def test_an_export_imports_back_as_the_same_initiatives(client, pm, other_pm, tpm, team):
    fields = [c.field for c in csv_io.IMPORT_COLUMNS]
    InitiativeFactory(
        title="=1+1 formula-looking title", summary="Multi-line\nsummary, with \"quotes\"",
        team=team, owner=other_pm, sponsor=tpm, production_owner=pm, stage="pilot",
        health="blocked", category="recommendation_system", effort_weeks=Decimal("0.5"),
        reach=0, impact=0.25, confidence=50, business_value=1, time_criticality=10,
        risk_reduction=2, strategic_alignment=5, target_production_date=date(2027, 6, 1),
        uses_personal_data=True, customer_facing=True, autonomy_level="autonomous",
        risk_tier="limited", model_vendor="-in-house-", success_metric="@mentions handled",
        metric_unit="=per day", metric_direction="higher", baseline_value=Decimal("-3.25"),
        target_value=Decimal("9"), window_start=date(2027, 1, 1),
        window_end=date(2027, 1, 31), decision_date=date(2027, 2, 1),
        predicted_annual_value=Decimal("1000000"), predicted_annual_run_cost=Decimal("0"))
    InitiativeFactory(title="Plain idea", team=team, owner=pm)
    retired = InitiativeFactory(title="Killed", team=team, owner=pm, stage="retired",
                                retirement_reason="cost")
    originals = {i.title: i for i in Initiative.objects.all()}
    client.force_login(pm)
    response = client.get(EXPORT_URL)
    data = b"".join(response.streaming_content)

    result = run_import(data, pm)

    assert result.ok, triples(result)
    assert result.ignored_columns == ["ID", "Stage", "Last activity", "Retirement reason"]
    assert len(result.created) == 3
    for copy in result.created:
        original = originals[copy.title]
        assert {f: getattr(copy, f) for f in fields} == {f: getattr(original, f) for f in fields}
        assert (copy.stage, copy.retirement_reason, copy.created_by) == ("idea", "", pm)
    assert retired.pk not in {copy.pk for copy in result.created}


# --- Commands ------------------------------------------------------------------------------

def test_import_command_imports_and_counts(tmp_path, pm, team):
    path = tmp_path / "initiatives.csv"
    path.write_bytes(make_csv(["Title", "Team"], ["A", "claims-ops"], ["B", "claims-ops"]))
    out = io.StringIO()

    call_command("import_initiatives", str(path), "--as", "owner-pm", stdout=out)

    assert "Imported 2 initiatives." in out.getvalue()
    assert set(Initiative.objects.values_list("owner__username", flat=True)) == {"owner-pm"}


def test_import_command_prints_each_bad_row_and_imports_nothing(tmp_path, pm, team):
    path = tmp_path / "initiatives.csv"
    path.write_bytes(make_csv(["Title", "Team", "Impact"], ["A", "claims-ops", "9"],
                              ["B", "claims-ops", "1"], ["C", "nowhere", "1"]))
    err = io.StringIO()

    with pytest.raises(CommandError, match="Nothing was imported: 2 problem") as raised:
        call_command("import_initiatives", str(path), "--as", "owner-pm", stderr=err)

    assert raised.value.returncode == 1
    assert err.getvalue().splitlines() == [
        'row 2, Impact: "9" is not one of: Minimal (0.25), Low (0.5), Medium (1), High (2), '
        "Massive (3).",
        'row 4, Team: No team is called "nowhere".',
    ]
    assert nothing_written()


@pytest.mark.parametrize(("args", "message"), [
    (["missing.csv", "--as", "owner-pm"], "Cannot read missing.csv"),
    (["x.csv", "--as", "nobody"], 'No user is called "nobody".'),
])
def test_import_command_refuses_a_missing_file_or_user(tmp_path, monkeypatch, pm, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.csv").write_text("Title,Team\n")

    with pytest.raises(CommandError, match=message):
        call_command("import_initiatives", *args)


def test_export_command_writes_the_filtered_portfolio(tmp_path, pm, other_pm, team):
    InitiativeFactory(title="Claims pilot", team=team, owner=pm, stage="pilot")
    InitiativeFactory(title="Claims idea", team=team, owner=other_pm, stage="idea")
    InitiativeFactory(title="Elsewhere", stage="pilot")
    path = tmp_path / "out.csv"

    call_command("export_initiatives", "--output", str(path), "--team", "claims-ops")
    out = io.StringIO()
    call_command("export_initiatives", "--stage", "pilot", "--owner", "owner-pm", stdout=out)

    from_file = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    from_stdout = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert sorted(row["Title"] for row in from_file) == ["Claims idea", "Claims pilot"]
    assert [row["Title"] for row in from_stdout] == ["Claims pilot"]
    assert list(from_stdout[0]) == HEADERS


def test_export_command_refuses_a_bad_filter(db):
    with pytest.raises(CommandError, match="--stage: Select a valid choice"):
        call_command("export_initiatives", "--stage", "launched")
