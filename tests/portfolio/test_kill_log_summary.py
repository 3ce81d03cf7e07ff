"""The kill log's figures come from indexes, not from every retired row (issue 22): its
counts per reason and its totals (``kill_log_summary``) are the same as summing the rows
the log lists, for every filter; a page of the log is read in its order by index; the
page's queries do not grow with the log; the team filter lists every team quickly."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django import forms
from django.db import connection

from portfolio.forms import KillLogFilterForm
from portfolio.models import RetirementReason, Stage, ValueReview
from portfolio.selectors import (
    kill_log,
    kill_log_reason_counts,
    kill_log_summary,
    kill_log_totals,
)
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory

pytestmark = pytest.mark.django_db

URL = "/initiatives/kill-log/"


def retired(*, title, team, reason=RetirementReason.COST, effort=None, predicted=None,
            reviews=(), stage=Stage.RETIRED, days_ago=1):
    """``reviews``: (realised, run cost, days before FIXED_NOW it was recorded)."""
    initiative = InitiativeFactory(
        title=title, team=team, stage=stage, retirement_reason=reason,
        retirement_lessons="Ask the users first.",
        stage_changed_at=FIXED_NOW - timedelta(days=days_ago),
        effort_weeks=None if effort is None else Decimal(effort),
        predicted_annual_value=None if predicted is None else Decimal(predicted))
    for number, (realised, cost, ago) in enumerate(reviews):
        recorded = FIXED_NOW - timedelta(days=ago)
        ValueReview.objects.create(
            initiative=initiative, production_since=FIXED_NOW - timedelta(days=400),
            days=30 * (number + 1), due_on=recorded.date(), scheduled_at=recorded,
            scheduled_run="test", realised_value=Decimal(realised), run_cost=Decimal(cost),
            recorded_at=recorded, recorded_by=initiative.owner)
    ValueReview.objects.create(  # pending: says nothing about value
        initiative=initiative, production_since=FIXED_NOW - timedelta(days=400), days=365,
        due_on=FIXED_NOW.date(), scheduled_at=FIXED_NOW, scheduled_run="test")
    return initiative


@pytest.fixture
def log():
    claims, support = TeamFactory(name="Claims"), TeamFactory(name="Support")
    retired(title="Claims bot", team=claims, effort=12, predicted=240_000,
            reviews=[(50_000, 10_000, 60), (20_000, 30_000, 5)])
    # Two reviews recorded at the same moment: the later one (by id) is the latest.
    retired(title="Twin reviews", team=claims, reason=RetirementReason.RISK, effort="2.5",
            reviews=[(1_000, 100, 9), (7_000, 700, 9)])
    retired(title="Support triage", team=support, reason=RetirementReason.RISK,
            predicted=80_000)
    retired(title="Unsized", team=support, reason=RetirementReason.COST)
    # Not retired: its reviews and effort count nowhere in the log.
    retired(title="Still in production", team=claims, stage=Stage.PRODUCTION, effort=40,
            predicted=1_000_000, reviews=[(9_999, 9_999, 1)])
    return claims, support


def test_the_figures_are_the_sums_of_the_listed_rows_for_every_filter(log):
    claims, support = log
    for filters in ({}, {"reason": RetirementReason.RISK}, {"team": claims},
                    {"team": support, "reason": RetirementReason.COST}, {"q": "bot"},
                    {"q": "twin", "reason": RetirementReason.COST},
                    {"reason": RetirementReason.OTHER}):
        summary = kill_log_summary(filters=filters)

        assert summary.totals == kill_log_totals(kill_log(filters=filters)), filters
        assert summary.reason_counts == kill_log_reason_counts(
            kill_log(filters={**filters, "reason": ""})), filters


def test_the_totals_take_each_initiatives_latest_review_only(log):
    totals = kill_log_summary().totals

    assert (totals.initiatives, totals.effort_weeks, totals.predicted_value,
            totals.realised_value, totals.run_cost, totals.reviewed) == (
        4, Decimal("14.5"), Decimal(320_000), Decimal(27_000), Decimal(30_700), 2)
    counts = {reason: n for reason, _label, n in kill_log_summary().reason_counts}
    assert (counts["cost"], counts["risk"], counts["other"]) == (2, 2, 0)


def test_an_empty_log_has_no_totals():
    totals = kill_log_summary().totals

    assert (totals.initiatives, totals.effort_weeks, totals.predicted_value,
            totals.realised_value, totals.run_cost, totals.reviewed) == (
        0, None, None, None, None, 0)


def test_the_page_counts_every_match_and_lists_a_page_newest_first(client, pm, settings):
    settings.PAGE_SIZE = 2
    team = TeamFactory()
    for days_ago in (30, 10, 20):
        retired(title=f"Retired {days_ago} days ago", team=team, days_ago=days_ago)
    client.force_login(pm)

    first = client.get(URL).content.decode()
    second = client.get(URL, {"page": 2}).content.decode()

    assert "3 retired initiatives" in first
    assert first.index("Retired 10 days ago") < first.index("Retired 20 days ago")
    assert "Retired 30 days ago" not in first
    assert "Retired 30 days ago" in second
    assert "Page 2 of 2" in second


def test_the_page_costs_the_same_queries_however_long_the_log(client, pm,
                                                               django_assert_num_queries):
    team = TeamFactory()
    retired(title="First", team=team, effort=1, reviews=[(1, 1, 3)])
    client.force_login(pm)
    client.get(URL)  # warm the session and content-type caches
    # The session (1), the user with their roles (1), the figures per reason (1), the
    # latest reviews summed (1), the teams of the filter (1), the page's rows (1).
    with django_assert_num_queries(6):
        client.get(URL, {"q": "i"})
    for n in range(30):
        retired(title=f"Later {n}", team=TeamFactory(), effort=n + 1,
                reviews=[(n, 1, 3), (n, 2, 2)])

    with django_assert_num_queries(6):
        assert client.get(URL, {"q": "i"}).status_code == 200
    with django_assert_num_queries(6):
        assert client.get(URL, {"reason": RetirementReason.COST, "page": 2}).status_code == 200


def test_the_log_is_read_through_its_own_indexes():
    with connection.cursor() as cursor:
        names = connection.introspection.get_constraints(cursor, "portfolio_initiative")

    assert {"kill_log_order", "kill_log_sums"} <= set(names)


def test_the_team_filter_lists_every_team_as_a_plain_select_would(log):
    claims, _ = log
    for data in ({}, {"team": claims.slug}):
        form = KillLogFilterForm(data)
        form.is_valid()
        fast = str(form["team"])
        form.fields["team"].widget = forms.Select(choices=form.fields["team"].choices)
        plain = str(form["team"])

        assert fast == "".join(line.strip() for line in plain.splitlines())
        assert fast.count(" selected") == 1
