""""A pilot is stalled when it has been in pilot too long or idle too long" has one
definition (``portfolio.pilots.services``): the SQL the page, the API and detection
filter on and the Python the digest describes with agree on every stage and on each side
of both thresholds, the thresholds themselves included."""

import itertools
from datetime import timedelta

import pytest

from portfolio.models import Initiative, Stage, StallFlag
from portfolio.pilots.services import current_reason_sql, stall_reason, stalled_q, stalls_due
from tests.factories import FIXED_NOW, InitiativeFactory

pytestmark = pytest.mark.django_db

NOW = FIXED_NOW
NOT_STALLED = "(not stalled)"


def _around(days: int) -> list[timedelta]:
    """Just inside, exactly at and just past a threshold of ``days``."""
    return [timedelta(days=days) - timedelta(seconds=1), timedelta(days=days),
            timedelta(days=days, seconds=1)]


@pytest.fixture
def portfolio(settings):
    settings.PILOT_MAX_DAYS, settings.PILOT_IDLE_DAYS = 30, 7
    initiatives = []
    for stage, in_stage, idle in itertools.product(
            [Stage.IDEA, Stage.PILOT, Stage.PRODUCTION], _around(30), _around(7)):
        initiatives.append(InitiativeFactory(
            stage=stage, contracted=True, title=NOT_STALLED,
            stage_changed_at=NOW - in_stage, last_activity_at=NOW - idle))
    return initiatives


def test_sql_and_python_give_the_same_reason_for_every_case(portfolio):
    in_sql = dict(Initiative.objects.filter(pk__in=[i.pk for i in portfolio])
                  .annotate(reason=current_reason_sql(NOW, default="title"))
                  .values_list("pk", "reason"))

    in_python = {i.pk: stall_reason(i, NOW) or NOT_STALLED for i in portfolio}

    assert in_sql == in_python
    assert set(in_python.values()) == {NOT_STALLED, "too_long", "idle", "too_long_and_idle"}


def test_the_stalled_filter_and_detection_pick_exactly_the_pilots_python_calls_stalled(
        portfolio):
    stalled = {i.pk for i in portfolio if stall_reason(i, NOW)}

    filtered = set(Initiative.objects.filter(stalled_q(NOW)).values_list("pk", flat=True))
    due = {initiative.pk for initiative in stalls_due(now=NOW)}

    assert filtered == stalled
    assert due == stalled
    # A threshold reached is a threshold passed: of the nine pilots only the one just
    # inside both is not stalled.
    assert len(stalled) == 8


def test_an_open_flag_is_found_through_its_pilot_by_the_same_rule(portfolio):
    for initiative in portfolio:
        StallFlag.objects.create(initiative=initiative, reason="idle", flagged_at=NOW,
                                 detection_run=str(initiative.pk))

    through_flags = set(StallFlag.objects.filter(stalled_q(NOW, prefix="initiative__"))
                        .values_list("initiative_id", flat=True))

    assert through_flags == {i.pk for i in portfolio if stall_reason(i, NOW)}
