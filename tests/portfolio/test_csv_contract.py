"""The exit contract in the initiative CSV (issue 18): the import holds each row's contract to
the intake form's rules, the export writes plain numbers, the template and the column
reference name the currency, and an export imports back with the same contract."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from portfolio import csv_io
from portfolio.models import Initiative
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory

pytestmark = pytest.mark.django_db

EXPORT_URL = "/initiatives/export.csv"
IMPORT_URL = "/initiatives/import/"
TEMPLATE_URL = "/initiatives/import/template.csv"
CONTRACT_FIELDS = ["success_metric", "metric_unit", "metric_direction", "baseline_value",
                   "target_value", "window_start", "window_end", "decision_date",
                   "production_owner", "predicted_annual_value", "predicted_annual_run_cost"]
HEADER = ["Title", "Team", "Success metric", "Metric unit", "Direction", "Baseline", "Target",
          "Window from", "Window until", "Predicted annual value (EUR)",
          "Predicted annual run cost (EUR)"]


@pytest.fixture
def team(db):
    return TeamFactory(slug="claims-ops", name="Claims operations")


def make_csv(header, *rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def run_import(data, actor):
    return csv_io.initiatives_import(file_or_rows=data, actor=actor, now=FIXED_NOW)


def exported_rows(client) -> list[dict]:
    text = b"".join(client.get(EXPORT_URL).streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_a_row_whose_target_contradicts_its_direction_is_that_rows_error_and_nothing_is_saved(
        pm, team):
    data = make_csv(HEADER,
                    ["Good one", "claims-ops", "Handled by the bot", "%", "Higher is better",
                     "12", "40", "2027-01-01", "2027-02-28", "100000", "20000"],
                    ["Backwards", "claims-ops", "Minutes per claim", "minutes",
                     "Lower is better", "9", "14", "2027-01-01", "2027-02-28", "1", "0"])

    result = run_import(data, pm)

    assert [(error.row, error.column) for error in result.errors] == [(3, "Target")]
    assert "must be below the baseline (9 minutes)" in result.errors[0].message
    assert not Initiative.objects.exists()


@pytest.mark.parametrize(("cells", "column"), [
    ({"Direction": "sideways"}, "Direction"),
    ({"Window until": "2026-12-31"}, "Window until"),
    ({"Predicted annual value (EUR)": "-5"}, "Predicted annual value (EUR)"),
    ({"Baseline": "twelve"}, "Baseline"),
])
def test_a_bad_contract_cell_names_its_row_and_column(pm, team, cells, column):
    row = dict(zip(HEADER, ["Bot", "claims-ops", "Handled", "%", "Higher is better", "12", "40",
                            "2027-01-01", "2027-02-28", "100000", "20000"], strict=True))
    row.update(cells)

    result = run_import(make_csv(HEADER, list(row.values())), pm)

    assert [(error.row, error.column) for error in result.errors] == [(2, column)]
    assert not Initiative.objects.exists()


def test_the_currency_header_without_the_currency_imports_too(pm, team):
    data = make_csv(["Title", "Team", "Predicted annual value", "Predicted run cost"],
                    ["Bot", "claims-ops", "1500.5", "200"])

    result = run_import(data, pm)

    assert result.ok, result.errors
    [initiative] = result.created
    assert (initiative.predicted_annual_value, initiative.predicted_annual_run_cost) == (
        Decimal("1500.50"), Decimal("200"))


def test_the_export_writes_numbers_plainly(client, pm, team):
    InitiativeFactory(team=team, owner=pm, metric_unit="%", metric_direction="higher",
                      baseline_value=Decimal("0.0000"), target_value=Decimal("1E+6"),
                      predicted_annual_value=Decimal("12000000.00"),
                      predicted_annual_run_cost=Decimal("0.50"))
    client.force_login(pm)

    [row] = exported_rows(client)

    assert (row["Baseline"], row["Target"]) == ("0", "1000000")
    assert (row["Predicted annual value (EUR)"], row["Predicted annual run cost (EUR)"]) == (
        "12000000", "0.5")


def test_the_template_and_the_column_reference_show_the_contract_with_the_currency(client,
                                                                                   pm):
    client.force_login(pm)

    template = next(csv.reader(io.StringIO(
        client.get(TEMPLATE_URL).content.decode("utf-8-sig"))))
    reference = client.get(IMPORT_URL).content.decode()

    assert template[template.index("Success metric"):] == [
        "Success metric", "Metric unit", "Direction", "Baseline", "Target", "Window from",
        "Window until", "Decision date", "Production owner", "Predicted annual value (EUR)",
        "Predicted annual run cost (EUR)"]
    assert '<th scope="row">Predicted annual run cost (EUR)</th>' in reference
    assert "Higher is better, Lower is better" in reference
    assert "in EUR: zero or more" in reference


def test_an_export_imports_back_with_the_same_contract(client, pm, other_pm, team):
    originals = [
        InitiativeFactory(team=team, owner=pm, title="Claims triage copilot", contracted=True),
        InitiativeFactory(team=team, owner=pm, title="Invoice matching agent",
                          success_metric="Minutes per invoice", metric_unit="minutes",
                          metric_direction="lower", baseline_value=Decimal("14.2500"),
                          target_value=Decimal("-0.0001"), window_start=date(2027, 1, 4),
                          window_end=date(2027, 1, 4), decision_date=date(2027, 2, 1),
                          production_owner=other_pm,
                          predicted_annual_value=Decimal("99999999.99"),
                          predicted_annual_run_cost=Decimal("0.01")),
        InitiativeFactory(team=team, owner=pm, title="An idea with no contract yet"),
    ]
    client.force_login(pm)
    text = b"".join(client.get(EXPORT_URL).streaming_content)

    result = run_import(text, pm)

    assert result.ok, result.errors
    copies = {copy.title: copy for copy in result.created}
    assert len(copies) == 3
    for original in originals:
        copy = copies[original.title]
        assert ({name: getattr(copy, name) for name in CONTRACT_FIELDS}
                == {name: getattr(original, name) for name in CONTRACT_FIELDS})
