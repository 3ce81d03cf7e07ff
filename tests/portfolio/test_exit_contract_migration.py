"""Migrations 0011 and 0012 read the free-text exit contract into the structured one and
drop the text; reversing them writes the numbers back as text. Run on a real schema with
Django's migration executor: the database goes back to 0010, gets initiatives with a
free-text contract, and goes forward again. The schema is left at the latest migration."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BEFORE = [("portfolio", "0010_exit_contract_outcomes")]
AFTER = [("portfolio", "0012_remove_free_text_contract")]
ENTERED_PILOT = datetime(2026, 8, 3, 9, 0, tzinfo=UTC)
EDITED = datetime(2026, 10, 15, 14, 30, tzinfo=UTC)  # when the measured result was typed
DECIDE_BY = date(2026, 12, 31)


def migrate(targets):
    """Migrate to ``targets``; the app registry of the state reached."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


@pytest.fixture
def at_0010():
    """The schema at 0010 (the free text and the new fields side by side); back at the
    latest migrations afterwards, whatever happens."""
    try:
        yield migrate(BEFORE)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def make(apps, title, *, baseline, target, measured_result=""):
    User = apps.get_model("auth", "User")
    Team = apps.get_model("portfolio", "Team")
    Initiative = apps.get_model("portfolio", "Initiative")
    StageTransition = apps.get_model("portfolio", "StageTransition")
    owner, _ = User.objects.get_or_create(username="migrated-owner")
    team, _ = Team.objects.get_or_create(slug="claims", defaults={"name": "Claims"})
    initiative = Initiative.objects.create(
        title=title, team=team, owner=owner, stage="pilot", stage_changed_at=ENTERED_PILOT,
        last_activity_at=EDITED, created_at=ENTERED_PILOT, updated_at=EDITED,
        success_metric="What the pilot moves", baseline=baseline, target=target,
        measured_result=measured_result, decision_date=DECIDE_BY, production_owner=owner)
    StageTransition.objects.create(initiative=initiative, from_stage="assessment",
                                   to_stage="pilot", actor=owner, at=ENTERED_PILOT)
    return initiative.pk


def test_the_free_text_contract_becomes_numbers_and_comes_back_as_text(at_0010):
    apps = at_0010
    ids = {
        "share": make(apps, "Deflection", baseline="18%", target="35%",
                      measured_result="31% over 8 weeks"),
        "minutes": make(apps, "Handling time", baseline="11.4 min", target="8.0 min",
                        measured_result="7.6 min, 6 weeks"),
        "money": make(apps, "Claims leakage", baseline="EUR 420k", target="EUR 250k"),
        "unreadable": make(apps, "Vague", baseline="about a third", target="most"),
    }

    apps = migrate(AFTER)
    Initiative = apps.get_model("portfolio", "Initiative")
    Measurement = apps.get_model("portfolio", "Measurement")
    got = {key: Initiative.objects.get(pk=pk) for key, pk in ids.items()}
    contract = {key: (i.baseline_value, i.target_value, i.metric_unit, i.metric_direction)
                for key, i in got.items()}
    assert contract == {
        "share": (Decimal(18), Decimal(35), "%", "higher"),
        "minutes": (Decimal("11.4"), Decimal(8), "min", "lower"),
        "money": (Decimal(420_000), Decimal(250_000), "EUR", "lower"),
        "unreadable": (None, None, "", ""),
    }
    for key in ("share", "minutes", "money"):
        assert (got[key].window_start, got[key].window_end) == (ENTERED_PILOT.date(), DECIDE_BY)
        assert got[key].contract_to_review == ""
    measured = {m.initiative_id: (m.value, m.measured_on, m.source_note, m.recorded_at)
                for m in Measurement.objects.all()}
    assert measured == {
        ids["share"]: (Decimal(31), EDITED.date(),
                       "From the free-text measured result: “31% over 8 weeks”", EDITED),
        ids["minutes"]: (Decimal("7.6"), EDITED.date(),
                         "From the free-text measured result: “7.6 min, 6 weeks”", EDITED),
    }
    vague = got["unreadable"].contract_to_review
    assert "Baseline: about a third" in vague
    assert "Target: most" in vague
    assert not hasattr(got["share"], "measured_result")  # the text columns are gone

    apps = migrate(BEFORE)
    Initiative = apps.get_model("portfolio", "Initiative")
    back = {key: Initiative.objects.get(pk=pk) for key, pk in ids.items()}
    assert {key: (i.baseline, i.target, i.measured_result) for key, i in back.items()} == {
        "share": ("18%", "35%", "31% on 2026-10-15"),
        "minutes": ("11.4 min", "8 min", "7.6 min on 2026-10-15"),
        "money": ("420000 EUR", "250000 EUR", ""),
        # What could not be read goes back word for word.
        "unreadable": ("about a third", "most", ""),
    }
