"""The catalogue, checkpoints that follow the AI profile, the gate, decisions and waivers."""

import re
from datetime import date, timedelta

import pytest

from governance import services
from governance.models import Checkpoint, CheckpointType
from portfolio import services as portfolio_services
from portfolio.exceptions import DomainError
from portfolio.models import Activity, StageTransition
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory, UserFactory, measure

pytestmark = pytest.mark.django_db
LATER = FIXED_NOW + timedelta(days=3)
ALWAYS = {"risk-classification", "security-review", "ip-licensing", "evaluation-plan",
          "observability", "prompt-model-versioning", "operational-runbook", "feedback-loop",
          "reliability-rollback"}
AGENTIC = {"human-oversight", "autonomy-boundaries", "failure-recovery"}


def codes(initiative, *, retired=False):
    return set(Checkpoint.objects.filter(initiative=initiative, retired_at__isnull=not retired)
               .values_list("type__code", flat=True))


def create(pm, **fields):
    return portfolio_services.initiative_create(actor=pm, now=FIXED_NOW, team=TeamFactory(),
                                                title=fields.pop("title", "Claims copilot"),
                                                **fields)


def approve(checkpoint, reviewer, now=LATER):
    checkpoint.refresh_from_db()
    return services.checkpoint_decide(checkpoint=checkpoint, actor=reviewer, approve=True,
                                      expected_version=checkpoint.version,
                                      evidence_url="https://wiki.example.com/evidence", now=now)


def approve_gating(initiative, stage, reviewer, now=LATER):
    for checkpoint in Checkpoint.objects.applicable().filter(initiative=initiative):
        if checkpoint.type.gates(stage) and not checkpoint.is_cleared(now.date()):
            approve(checkpoint, reviewer, now)


# --- The catalogue and the profile -------------------------------------------------------------

def test_the_default_catalogue_covers_what_design_asks_for():
    catalogue = {t.code: t for t in CheckpointType.objects.all()}

    assert ALWAYS | AGENTIC | {"privacy-review", "compliance-review", "bias-fairness"} == set(
        catalogue)
    assert all(t.description and t.nist_function for t in catalogue.values())
    assert catalogue["privacy-review"].applies_when == "personal data"
    assert catalogue["human-oversight"].applies_when == "autonomy Human on the loop or above"


def test_a_new_initiative_gets_the_checkpoints_its_profile_needs(pm):
    minimal = create(pm)
    sensitive = create(pm, title="Claims triage", risk_tier="high", uses_personal_data=True,
                       autonomy_level="autonomous")

    assert codes(minimal) == ALWAYS
    assert codes(sensitive) == ALWAYS | AGENTIC | {"privacy-review", "compliance-review",
                                                   "bias-fairness"}
    checkpoint = Checkpoint.objects.get(initiative=minimal, type__code="security-review")
    assert (checkpoint.status, checkpoint.requested_at) == ("not_started", FIXED_NOW)
    assert checkpoint.due_date == FIXED_NOW.date() + timedelta(days=10)
    assert checkpoint.history.get().history_user == pm


def test_lowering_the_profile_retires_checkpoints_and_keeps_them(pm):
    initiative = create(pm, uses_personal_data=True)

    portfolio_services.initiative_update(initiative=initiative, actor=pm, now=LATER,
                                         expected_version=1,
                                         changes={"uses_personal_data": False})

    assert "privacy-review" not in codes(initiative)
    assert codes(initiative, retired=True) == {"privacy-review"}


def test_a_checkpoint_that_applies_again_is_reopened_not_reused(pm, reviewer):
    initiative = create(pm, uses_personal_data=True)
    privacy = Checkpoint.objects.get(initiative=initiative, type__code="privacy-review")
    approve(privacy, reviewer)
    for version, value in ((1, False), (2, True)):
        portfolio_services.initiative_update(initiative=initiative, actor=pm, now=LATER,
                                             expected_version=version,
                                             changes={"uses_personal_data": value})

    privacy.refresh_from_db()
    assert (privacy.status, privacy.retired_at, privacy.reviewer) == ("not_started", None, None)


def test_raising_autonomy_in_production_puts_it_out_of_compliance(pm):
    initiative = InitiativeFactory(owner=pm, stage="production")
    services.checkpoints_sync(initiatives=[initiative], actor=pm, now=FIXED_NOW)
    Checkpoint.objects.filter(initiative=initiative).update(
        status="approved", reviewer=UserFactory(), decided_at=FIXED_NOW)

    portfolio_services.initiative_update(initiative=initiative, actor=pm, now=LATER,
                                         expected_version=1,
                                         changes={"autonomy_level": "autonomous"})

    event = Activity.objects.filter(initiative=initiative, kind="out_of_compliance",
                                    at=LATER).get()
    assert set(event.details["checkpoints"]) == {"Human oversight and escalation",
                                                 "Autonomy boundaries and decision validation",
                                                 "Failure recovery"}


def test_a_csv_import_creates_checkpoints_with_history(pm):
    from portfolio.csv_io import initiatives_import

    team = TeamFactory(slug="claims")
    result = initiatives_import(file_or_rows=b"Title,Team,Uses personal data,Risk tier,"
                                             b"Autonomy level\nA,claims,yes,minimal,assistive\n"
                                             b"B,claims,no,minimal,assistive\n",
                                actor=pm, now=FIXED_NOW)

    assert not result.errors
    a, b = sorted(result.created, key=lambda i: i.title)
    assert codes(a) == ALWAYS | {"privacy-review"}
    assert codes(b) == ALWAYS
    assert Checkpoint.history.filter(initiative_id=a.pk, history_user=pm).count() == 10
    assert team.initiatives.count() == 2


# --- The gate ---------------------------------------------------------------------------------

def test_a_move_is_refused_naming_every_blocking_checkpoint(pm):
    initiative = create(pm)
    portfolio_services.initiative_update(initiative=initiative, actor=pm, now=LATER,
                                         expected_version=1, changes={})
    Checkpoint.objects.filter(initiative=initiative, type__code="risk-classification").update(
        status="approved", reviewer=UserFactory(), decided_at=FIXED_NOW)
    initiative.refresh_from_db()
    portfolio_services.initiative_move_stage(initiative=initiative, to_stage="assessment",
                                             actor=pm, now=LATER)

    with pytest.raises(DomainError) as refused:
        portfolio_services.initiative_move_stage(initiative=initiative, to_stage="pilot",
                                                 actor=pm, now=LATER)

    message = refused.value.message
    for name in ("Security review (not started)", "IP and licensing review (not started)",
                 "Evaluation plan and quality metrics (not started)", "the exit contract"):
        assert name in message
    assert "Observability" not in message  # gates production, not pilot
    initiative.refresh_from_db()
    assert initiative.stage == "assessment"


def test_pilot_opens_once_its_checkpoints_and_exit_contract_are_in_place(pm, reviewer):
    initiative = InitiativeFactory(owner=pm, stage="assessment", contracted=True)
    services.checkpoints_sync(initiatives=[initiative], actor=pm, now=FIXED_NOW)
    approve_gating(initiative, "pilot", reviewer)

    portfolio_services.initiative_move_stage(initiative=initiative, to_stage="pilot", actor=pm,
                                             now=LATER)

    initiative.refresh_from_db()
    assert initiative.stage == "pilot"


def test_production_needs_a_measurement_inside_the_window(pm, reviewer):
    # A pilot past its minimum duration, so only the measurement can hold it back.
    initiative = InitiativeFactory(owner=pm, stage="pilot", contracted=True,
                                   stage_changed_at=FIXED_NOW - timedelta(days=61))
    services.checkpoints_sync(initiatives=[initiative], actor=pm, now=FIXED_NOW)
    approve_gating(initiative, "production", reviewer)
    no_measurement = re.escape(
        "a measurement inside the measurement window (1 Sep 2026 – 31 Mar 2027)")

    with pytest.raises(DomainError, match=no_measurement):
        portfolio_services.initiative_move_stage(initiative=initiative, to_stage="production",
                                                 actor=pm, now=LATER)
    measure(initiative, 36, on=date(2026, 8, 31))  # the day before the window opens
    with pytest.raises(DomainError, match=no_measurement):
        portfolio_services.initiative_move_stage(initiative=initiative, to_stage="production",
                                                 actor=pm, now=LATER)

    measure(initiative, 36, on=date(2026, 10, 26))
    portfolio_services.initiative_move_stage(initiative=initiative, to_stage="production",
                                             actor=pm, now=LATER)
    initiative.refresh_from_db()
    assert initiative.stage == "production"


def test_resuming_a_paused_initiative_goes_through_the_gate(pm):
    initiative = InitiativeFactory(owner=pm, stage="pilot", contracted=True)
    portfolio_services.initiative_move_stage(initiative=initiative, to_stage="paused",
                                             actor=pm, now=FIXED_NOW)
    services.checkpoints_sync(initiatives=[initiative], actor=pm, now=FIXED_NOW)

    with pytest.raises(DomainError, match="Cannot enter Pilot yet: .*Security review"):
        portfolio_services.initiative_move_stage(initiative=initiative, to_stage="pilot",
                                                 actor=pm, now=LATER)


def test_moving_back_pausing_and_retiring_are_never_gated(pm):
    initiative = InitiativeFactory(owner=pm, stage="pilot")
    services.checkpoints_sync(initiatives=[initiative], actor=pm, now=FIXED_NOW)

    portfolio_services.initiative_move_stage(initiative=initiative, to_stage="assessment",
                                             actor=pm, now=LATER, note="Scope changed.")
    portfolio_services.initiative_move_stage(initiative=initiative, to_stage="paused",
                                             actor=pm, now=LATER)
    portfolio_services.initiative_move_stage(initiative=initiative, to_stage="retired",
                                             actor=pm, now=LATER, retirement_reason="cost",
                                             retirement_lessons="Too expensive.")

    assert StageTransition.objects.filter(initiative=initiative).count() == 3


def test_a_prohibited_initiative_is_blocked_by_the_gate_too(pm):
    initiative = InitiativeFactory(owner=pm, stage="assessment", risk_tier="prohibited")

    assert services.PROHIBITED in services.gate_blockers(initiative=initiative,
                                                         to_stage="pilot", now=LATER)


# --- Decisions --------------------------------------------------------------------------------

def test_only_reviewers_decide(pm, tpm, leader):
    initiative = create(pm)
    checkpoint = Checkpoint.objects.filter(initiative=initiative).first()

    for someone in (pm, tpm, leader):
        with pytest.raises(DomainError, match="Only governance reviewers"):
            approve(checkpoint, someone)

    checkpoint.refresh_from_db()
    assert (checkpoint.status, checkpoint.version) == ("not_started", 1)


def test_a_reviewer_never_decides_on_an_initiative_they_own_or_sponsor(reviewer):
    owner_reviewer = UserFactory(roles=["pm", "reviewer"])
    owned = create(owner_reviewer, title="Mine")
    sponsored = create(UserFactory(roles=["pm"]), title="Sponsored", sponsor=reviewer)

    for initiative, who in ((owned, owner_reviewer), (sponsored, reviewer)):
        checkpoint = Checkpoint.objects.filter(initiative=initiative).first()
        with pytest.raises(DomainError, match="segregation of duties"):
            approve(checkpoint, who)


def test_a_decision_needs_evidence_and_records_who_when_and_what(pm, reviewer):
    checkpoint = Checkpoint.objects.filter(initiative=create(pm)).first()

    with pytest.raises(DomainError, match="needs evidence"):
        services.checkpoint_decide(checkpoint=checkpoint, actor=reviewer, approve=True,
                                   expected_version=1, now=LATER)
    decided = approve(checkpoint, reviewer)

    assert (decided.status, decided.reviewer, decided.decided_at, decided.version) == (
        "approved", reviewer, LATER, 2)
    latest = decided.history.first()
    assert (latest.history_user, latest.status) == (reviewer, "approved")
    assert Activity.objects.get(kind="checkpoint_decided").details["status"] == "approved"


def test_a_decision_on_a_stale_version_is_refused(pm, reviewer):
    checkpoint = Checkpoint.objects.filter(initiative=create(pm)).first()
    approve(checkpoint, reviewer)

    with pytest.raises(DomainError, match="Someone else decided this checkpoint"):
        services.checkpoint_decide(checkpoint=checkpoint, actor=reviewer, approve=False,
                                   expected_version=1, evidence_notes="No.", now=LATER)

    checkpoint.refresh_from_db()
    assert checkpoint.status == "approved"


def _waive(checkpoint, reviewer, now):
    return services.checkpoint_waive(checkpoint=checkpoint, actor=reviewer,
                                     justification="Compensating control.",
                                     expires_on=(now + timedelta(days=30)).date(),
                                     expected_version=checkpoint.version, now=now)


@pytest.mark.parametrize("decide", [approve, _waive], ids=["approved", "waived"])
def test_a_decision_moves_the_last_activity_forward_never_back(pm, reviewer, decide):
    initiative = create(pm)
    first, second = Checkpoint.objects.filter(initiative=initiative).order_by("pk")[:2]
    portfolio_services.update_post(initiative=initiative, author=pm, body="On track.",
                                   health="on_track", now=LATER)

    decide(first, reviewer, now=LATER - timedelta(hours=2))   # recorded late, dated before
    initiative.refresh_from_db()
    unchanged = initiative.last_activity_at
    decide(second, reviewer, now=LATER + timedelta(hours=1))
    initiative.refresh_from_db()

    assert (unchanged, initiative.last_activity_at) == (LATER, LATER + timedelta(hours=1))


@pytest.mark.parametrize(("justification", "days", "message"), [
    ("", 30, "needs a justification"),
    ("Compensating control.", 0, "must be after today"),
    ("Compensating control.", -3, "must be after today"),
    ("Compensating control.", 400, "at most 366 days"),
])
def test_a_waiver_needs_a_justification_and_a_sensible_expiry(pm, reviewer, justification,
                                                              days, message):
    checkpoint = Checkpoint.objects.filter(initiative=create(pm)).first()

    with pytest.raises(DomainError, match=message):
        services.checkpoint_waive(checkpoint=checkpoint, actor=reviewer,
                                  justification=justification,
                                  expires_on=LATER.date() + timedelta(days=days),
                                  expected_version=1, now=LATER)

    checkpoint.refresh_from_db()
    assert checkpoint.status == "not_started"


def test_a_waiver_opens_the_gate_until_it_expires(pm, reviewer):
    initiative = InitiativeFactory(owner=pm, stage="idea")
    services.checkpoints_sync(initiatives=[initiative], actor=pm, now=FIXED_NOW)
    checkpoint = Checkpoint.objects.get(initiative=initiative, type__code="risk-classification")
    services.checkpoint_waive(checkpoint=checkpoint, actor=reviewer, justification="Interim.",
                              expires_on=LATER.date() + timedelta(days=10), expected_version=1,
                              now=LATER)

    assert services.gate_blockers(initiative=initiative, to_stage="assessment",
                                  now=LATER + timedelta(days=10)) == []
    assert services.gate_blockers(initiative=initiative, to_stage="assessment",
                                  now=LATER + timedelta(days=11)) == [
        f"EU AI Act risk classification (waiver expired "
        f"{(LATER + timedelta(days=10)):%-d %b %Y})"]


def test_a_lapsed_waiver_is_reported_once_and_flags_an_initiative_past_its_gate(pm, reviewer):
    initiative = InitiativeFactory(owner=pm, stage="production")
    services.checkpoints_sync(initiatives=[initiative], actor=pm, now=FIXED_NOW)
    checkpoint = Checkpoint.objects.get(initiative=initiative, type__code="feedback-loop")
    services.checkpoint_waive(checkpoint=checkpoint, actor=reviewer, justification="Interim.",
                              expires_on=LATER.date() + timedelta(days=5), expected_version=1,
                              now=LATER)
    much_later = LATER + timedelta(days=6)

    assert services.waivers_lapse(now=LATER) == 0
    assert services.waivers_lapse(now=much_later) == 1
    assert services.waivers_lapse(now=much_later) == 0
    event = Activity.objects.filter(initiative=initiative, kind="out_of_compliance",
                                    at=much_later).get()
    assert event.details["checkpoints"] == ["Feedback loop"]


def test_reviews_for_the_next_gate_are_requested_when_the_initiative_gets_there(pm, reviewer):
    initiative = InitiativeFactory(owner=pm, stage="assessment", contracted=True)
    services.checkpoints_sync(initiatives=[initiative], actor=pm, now=FIXED_NOW)
    approve_gating(initiative, "pilot", reviewer)
    observability = Checkpoint.objects.get(initiative=initiative, type__code="observability")
    assert observability.is_upcoming()  # gates production; the initiative is assessing

    portfolio_services.initiative_move_stage(initiative=initiative, to_stage="pilot", actor=pm,
                                             now=LATER + timedelta(days=30))

    observability.refresh_from_db()
    assert observability.requested_at == LATER + timedelta(days=30)
    assert observability.due_date == (LATER + timedelta(days=37)).date()
    assert not observability.is_upcoming()
    assert Checkpoint.objects.filter(pk=observability.pk).actionable().exists()


def test_rejecting_a_checkpoint_an_initiative_already_passed_flags_it(pm, reviewer):
    initiative = InitiativeFactory(owner=pm, stage="pilot")
    services.checkpoints_sync(initiatives=[initiative], actor=pm, now=FIXED_NOW)
    security = Checkpoint.objects.get(initiative=initiative, type__code="security-review")
    approve(security, reviewer)
    security.refresh_from_db()

    services.checkpoint_decide(checkpoint=security, actor=reviewer, approve=False,
                               expected_version=security.version,
                               evidence_notes="Pen test found an injection path.", now=LATER)

    event = Activity.objects.filter(initiative=initiative, kind="out_of_compliance",
                                    at=LATER).get()
    assert event.details == {"checkpoints": ["Security review"], "stage": "pilot",
                             "rejected": True}
