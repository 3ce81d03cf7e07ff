"""Value after production in the weekly digest: value reviews overdue (to the TPMs who follow
the team, and to the initiative's owner), value at risk awaiting a decision, and the exit
contract overrides recorded since the last digest, with what was overridden and why.

Time is frozen at ``NOW`` (Monday 2 Nov 2026, 09:00 UTC, after the digest hour): the
digest of ISO week 2026-W45. Reviews are overdue 14 days after they came due; a realised
value below 50% of the prediction (EUR 240,000 a year) puts it at risk.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portfolio.models import DigestSubscription, Stage
from portfolio.outcomes.services import (
    contract_override,
    value_review_record,
    value_reviews_schedule,
)
from portfolio.pilots.digest.content import (
    digest_recipients,
    digest_render,
    digests_build,
    period_of,
)
from portfolio.pilots.digest.delivery import digest_run, digest_send
from tests.factories import (
    FIXED_NOW,
    InitiativeFactory,
    TeamFactory,
    UserFactory,
    in_production,
    measure,
)
from tests.integration.conftest import smtp  # noqa: F401 (the real SMTP server fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = FIXED_NOW
PERIOD = date(2026, 11, 2)
REASON = "The board accepts 22% for the first quarter; agents handle the rest."


@pytest.fixture(autouse=True)
def value_settings(settings):
    settings.VALUE_CURRENCY = "EUR"
    settings.VALUE_REVIEW_DAYS = [30, 90, 180]
    settings.VALUE_REVIEW_GRACE_DAYS = 14
    settings.VALUE_AT_RISK_PERCENT = 50
    settings.DIGEST_HOUR = 7


def days_ago(days):
    return NOW - timedelta(days=days)


def tpm_following(username, *teams):
    user = UserFactory(username=username, roles=["tpm"])
    subscription = DigestSubscription.objects.create(user=user, updated_at=NOW)
    subscription.teams.set(teams)
    return user


@pytest.fixture
def portfolio(pm, other_pm):
    """In the followed team Claims: an overdue review (the pm's), value at risk (the other
    pm's) and an override two days ago; in Finance, nobody's followed team: an overdue
    review of the other pm's."""
    claims = TeamFactory(name="Claims", slug="claims")
    finance = TeamFactory(name="Finance", slug="finance")
    sponsor = UserFactory(username="sponsor", first_name="Sam", last_name="Sponsor",
                          roles=["leadership"])
    overdue = in_production(entered=days_ago(50), title="Claims triage copilot", owner=pm,
                            team=claims)
    at_risk = in_production(entered=days_ago(40), title="Fraud signals", owner=other_pm,
                            team=claims)
    elsewhere = in_production(entered=days_ago(60), title="Invoice matcher", owner=other_pm,
                              team=finance)
    value_reviews_schedule(now=days_ago(1))
    value_review_record(review=at_risk.value_reviews.get(), realised_value=Decimal(60000),
                        run_cost=Decimal(70000), actor=other_pm, now=days_ago(1))
    # A pilot that missed its target (20% against 35%), let through by its sponsor.
    missed = InitiativeFactory(title="Agent assist", team=claims, stage=Stage.PILOT,
                               contracted=True, sponsor=sponsor,
                               stage_changed_at=days_ago(61))
    measure(missed, Decimal(20), on=days_ago(3).date())
    override = contract_override(initiative=missed, kind="target_missed", reason=REASON,
                                 actor=sponsor, now=days_ago(2))
    return {"claims": claims, "finance": finance, "overdue": overdue, "at_risk": at_risk,
            "elsewhere": elsewhere, "missed": missed, "override": override}


def build(*users, now=NOW):
    recipients = digest_recipients(period=period_of(now), now=now)
    if users:
        recipients = recipients.filter(pk__in=[user.pk for user in users])
    return {digest.recipient.username: digest
            for digest in digests_build(now=now, period=period_of(now), recipients=recipients)}


def titles(items):
    return [item.initiative.title for item in items]


def test_a_tpm_reads_the_overdue_reviews_value_at_risk_and_overrides_of_their_teams(
        portfolio):
    tpm_following("claims-tpm", portfolio["claims"])

    digest = build()["claims-tpm"]

    assert titles(digest.value_overdue) == ["Claims triage copilot"]
    [overdue] = digest.value_overdue
    assert overdue.days_since_due == 20  # came due 30 days after entering, 50 days ago
    assert overdue.initiative.owner.get_full_name() == "Olive Owner"
    assert titles(digest.value_at_risk) == ["Fraud signals"]
    [at_risk] = digest.value_at_risk
    assert (at_risk.review.suggested_decision, at_risk.share) == ("retire", 25)
    assert titles(digest.overrides) == ["Agent assist"]
    assert digest.overrides[0].override.reason == REASON
    assert "Invoice matcher" not in titles(digest.value_overdue)  # Finance is not followed
    assert digest.own_value_overdue == []
    assert "1 value review overdue, 1 value at risk, 1 override" in digest.summary

    _, text, html = digest_render(digest)
    for body in (text, html):
        assert "Claims triage copilot" in body
        assert "overdue, 20 days since it came due" in body
        assert "owner Olive Owner" in body
        assert "Fraud signals" in body
        assert "Suggested decision:" in body
        assert "Retire" in body
        assert "25% of the EUR 240,000 predicted" in body
        assert "Agent assist" in body
        body = body.replace("&#x27;", "'")
        assert ("Held back by the exit contract's target: 20% measured on 30 Oct 2026, "
                "target 35%, baseline 18%") in body
        assert f"Reason: {REASON}" in body
    assert "VALUE REVIEWS OVERDUE (1)" in text
    assert "VALUE AT RISK (1)" in text
    assert "EXIT CONTRACT OVERRIDES (1)" in text
    assert "<h2>Value reviews overdue (1)</h2>" in html
    assert "<h2>Exit contract overrides (1)</h2>" in html
    assert "<table" not in html  # one block per item: a phone never scrolls sideways


def test_the_owner_of_an_overdue_review_gets_a_digest_with_their_reviews(portfolio, pm,
                                                                        other_pm):
    digests = build()

    mine = digests["owner-pm"]
    assert not mine.follows_portfolio
    assert titles(mine.own_value_overdue) == ["Claims triage copilot"]
    assert mine.value_overdue == mine.value_at_risk == mine.overrides == []
    assert mine.stage_moves == mine.newly_stalled == []
    _, text, html = digest_render(mine)
    assert "YOUR VALUE REVIEWS OVERDUE (1)" in text
    assert "Your value reviews overdue (1)" in html
    assert "Choose your teams or opt out" not in text
    # The other pm owns an overdue review in Finance, and value at risk in Claims.
    assert titles(digests["other-pm"].own_value_overdue) == ["Invoice matcher"]


def test_an_owner_with_nothing_overdue_gets_no_digest(portfolio, pm, other_pm):
    value_review_record(review=portfolio["overdue"].value_reviews.get(),
                        realised_value=Decimal(200000), run_cost=Decimal(30000), actor=pm,
                        now=NOW)
    value_review_record(review=portfolio["elsewhere"].value_reviews.get(),
                        realised_value=Decimal(200000), run_cost=Decimal(30000),
                        actor=other_pm, now=NOW)

    assert {"owner-pm", "other-pm"}.isdisjoint(build())


def test_an_override_from_before_the_last_digest_is_not_reported_again(portfolio):
    tpm_following("claims-tpm", portfolio["claims"])
    next_week = build(now=NOW + timedelta(weeks=1, hours=1))["claims-tpm"]
    # No digest was sent in between: "since" is a week back, after the override.
    assert next_week.overrides == []


def test_building_takes_the_same_queries_however_many_recipients_and_reviews(portfolio):
    def queries_with(count):
        for number in range(count):
            tpm_following(f"tpm-{count}-{number}", portfolio["claims"])
            in_production(entered=days_ago(45 + number), team=portfolio["claims"])
        value_reviews_schedule(now=NOW)
        recipients = digest_recipients(period=PERIOD, now=NOW)
        with CaptureQueriesContext(connection) as captured:
            digests_build(now=NOW, period=PERIOD, recipients=recipients)
        return len(captured)

    few = queries_with(3)
    # recipients, their teams, open stall flags, value reviews overdue or at risk,
    # overrides since, activity since
    assert few == 6
    assert queries_with(20) == few


def test_one_send_through_a_real_smtp_server_reaches_the_tpm_and_the_owner(portfolio,
                                                                          smtp):  # noqa: F811
    server = smtp()
    reader = tpm_following("claims-tpm", portfolio["claims"])

    claimed = digest_run(now=NOW, enqueue=False).claimed
    outcomes = [digest_send(delivery_id=pk, now=NOW).status for pk in claimed]

    assert set(outcomes) == {"sent"}
    mailbox = server.by_recipient()
    [to_tpm] = mailbox[reader.email]
    assert "value review overdue" in to_tpm.subject
    assert "Claims triage copilot" in to_tpm.text
    assert "overdue, 20 days since it came due" in to_tpm.text
    assert f"Reason: {REASON}" in to_tpm.text
    assert "Suggested decision: Retire" in to_tpm.text
    assert "Exit contract overrides (1)" in to_tpm.html
    [to_owner] = mailbox["owner-pm@example.com"]
    assert "YOUR VALUE REVIEWS OVERDUE (1)" in to_owner.text
    assert "Claims triage copilot" in to_owner.text
    # Once per recipient per week: running again sends nothing more.
    assert digest_run(now=NOW + timedelta(hours=2), enqueue=False).claimed == []
