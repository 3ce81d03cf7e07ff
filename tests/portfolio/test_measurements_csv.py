"""Measurements from a CSV file on the initiative's upload page: every row checked, all
recorded or none, each problem named by row and column; the template to start from."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portfolio.csv_io import MAX_BYTES
from portfolio.models import Activity, Measurement
from tests.factories import FIXED_NOW, InitiativeFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


@pytest.fixture
def pilot(pm):
    return InitiativeFactory(owner=pm, stage="pilot", contracted=True,
                             stage_changed_at=FIXED_NOW - timedelta(days=20))


def url(initiative, rest="import/"):
    return f"/initiatives/{initiative.pk}/measurements/{rest}"


def upload(client, initiative, text: str | bytes, name="measurements.csv"):
    data = text.encode() if isinstance(text, str) else text
    return client.post(url(initiative),
                       {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


def error_rows(response) -> list[tuple[str, str, str]]:
    """(row, column, problem) of each problem the page lists."""
    body = response.content.decode()
    table = body.split('id="import-errors-title"')[1].split("</table>")[0]
    rows = []
    for row in table.split("<tr>")[2:]:
        cells = [cell.split("</td>")[0] for cell in row.split('">')[1:4]]
        rows.append(tuple(cells))
    return rows


def test_the_page_lists_the_columns_and_offers_the_template(client, pm, pilot):
    client.force_login(pm)

    body = client.get(url(pilot)).content.decode()

    for header in ("Date", "Value", "Source link", "Source note"):
        assert f'<th scope="row">{header}</th>' in body
    assert url(pilot, "template.csv") in body


def test_the_template_is_the_header_row(client, pm, pilot):
    client.force_login(pm)

    response = client.get(url(pilot, "template.csv"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert response.content.decode("utf-8-sig").strip() == "Date,Value,Source link,Source note"


def test_every_valid_row_is_recorded_at_once(client, pm, pilot):
    client.force_login(pm)

    response = upload(client, pilot, (
        "date;value;source link;note\n"
        "2026-09-15;19,5;https://dash.example.com/w37;\n"
        "\n"
        "2026-10-15;27%;;Weekly export from the chat tool\n"
        "2026-11-02;'-3;;A drop after the outage\n"))

    assert response.status_code == 302
    assert response.url.endswith(f"/initiatives/{pilot.pk}/#contract-h")
    assert sorted(Measurement.objects.values_list("measured_on", "value", "source_note")) == [
        (date(2026, 9, 15), Decimal("19.5"), ""),
        (date(2026, 10, 15), Decimal(27), "Weekly export from the chat tool"),
        (date(2026, 11, 2), Decimal(-3), "A drop after the outage"),
    ]
    assert Activity.objects.get(kind=Activity.Kind.MEASUREMENT_RECORDED).details["count"] == 3
    assert "Recorded 3 measurements from the file." in client.get(response.url).content.decode()


def test_any_bad_row_records_nothing_and_each_problem_is_named(client, pm, pilot):
    client.force_login(pm)

    response = upload(client, pilot, (
        "Date,Value,Source link,Source note\n"
        "2026-10-01,25,,Weekly export\n"
        "2026-11-03,26,,Tomorrow's number\n"
        "01/10/2026,many,,\n"
        "2026-10-08,27,not a link,\n"))

    assert response.status_code == 400
    assert not Measurement.objects.exists()
    assert error_rows(response) == [
        ("3", "Date", "A measurement cannot be dated after today (2 Nov 2026)."),
        ("4", "Date", "Enter a date as YYYY-MM-DD, e.g. 2026-11-02, not &quot;01/10/2026&quot;."),
        ("4", "Value", "Enter a number, e.g. 22.5, not &quot;many&quot;."),
        ("4", "Source link or Source note", "Say where the number comes from: a link or a note."),
        ("5", "Source link",
         "Enter a link that starts with https:// or http://, not &quot;not a link&quot;."),
    ]
    assert "Nothing was recorded: 5 problems in 3 rows" in response.content.decode()


def test_headers_are_matched_tolerantly_and_unknown_ones_are_named(client, pm, pilot):
    client.force_login(pm)

    response = upload(client, pilot, "DATE,Measured value,Comment\n2026-10-01,25,x\n")

    assert response.status_code == 400
    assert error_rows(response) == [
        ("1", "Comment", 'Unknown column &quot;Comment&quot;. The columns are: Date, Value, '
                         "Source link, Source note."),
    ]


def test_a_missing_required_column_is_named(client, pm, pilot):
    client.force_login(pm)

    response = upload(client, pilot, "Date,Source note\n2026-10-01,x\n")

    assert error_rows(response) == [
        ("1", "Value", "The required column &quot;Value&quot; is missing.")]


def test_a_file_over_the_size_limit_is_refused(client, pm, pilot):
    client.force_login(pm)

    response = upload(client, pilot, b"Date,Value,Source note\n" + b"x" * (MAX_BYTES + 10))

    assert response.status_code == 400
    assert "larger than 10 MB" in response.content.decode()
    assert not Measurement.objects.exists()


def test_a_header_without_rows_is_an_error(client, pm, pilot):
    client.force_login(pm)

    response = upload(client, pilot, "Date,Value,Source note\n")

    assert response.status_code == 400
    assert "no measurements" in response.content.decode()


@pytest.mark.parametrize("method", ["get", "post"])
def test_only_editors_upload(client, pilot, other_pm, leader, method):
    for reader in (other_pm, leader):
        client.force_login(reader)
        if method == "get":
            assert client.get(url(pilot)).status_code == 403
            assert client.get(url(pilot, "template.csv")).status_code == 403
        else:
            response = upload(client, pilot, "Date,Value,Source note\n2026-10-01,25,x\n")
            assert response.status_code == 403
    assert not Measurement.objects.exists()
