"""Governance reads: out of compliance, progress and the heat map."""

from datetime import timedelta

import pytest

from governance import selectors, services
from governance.models import Checkpoint, CheckpointType
from portfolio import services as portfolio_services
from portfolio.models import Initiative
from tests.factories import FIXED_NOW, InitiativeFactory, approve_all_checkpoints, measure

pytestmark = pytest.mark.django_db
TODAY = FIXED_NOW.date()
LATER = FIXED_NOW + timedelta(days=3)
AGENTIC = {"human-oversight", "autonomy-boundaries", "failure-recovery"}


def in_production(pm, reviewer, **fields):
    """An initiative already in production with every checkpoint of its profile approved."""
    initiative = InitiativeFactory(owner=pm, contracted=True, stage="production", **fields)
    measure(initiative)  # the target met inside the window
    services.checkpoints_sync(initiatives=[initiative], actor=pm, now=FIXED_NOW)
    approve_all_checkpoints(initiative, reviewer=reviewer)
    return initiative


def make_autonomous(initiative, pm, now=LATER):
    return portfolio_services.initiative_update(
        initiative=initiative, actor=pm, now=now, expected_version=initiative.version,
        changes={"autonomy_level": "autonomous"})


def flag(initiative, today=TODAY) -> bool:
    return selectors.with_compliance(Initiative.objects.filter(pk=initiative.pk),
                                     today=today).get().out_of_compliance


def decide(checkpoint, reviewer, *, approve=True, now=LATER):
    checkpoint.refresh_from_db()
    return services.checkpoint_decide(checkpoint=checkpoint, actor=reviewer, approve=approve,
                                      expected_version=checkpoint.version,
                                      evidence_notes="Checked.", now=now)


# --- with_compliance ----------------------------------------------------------------------------

def test_raising_autonomy_in_production_is_out_of_compliance_until_the_new_checkpoints_clear(
        pm, reviewer):
    initiative = in_production(pm, reviewer)
    assert flag(initiative) is False

    make_autonomous(initiative, pm)

    assert flag(initiative) is True
    new = Checkpoint.objects.filter(initiative=initiative, type__code__in=AGENTIC)
    assert new.count() == 3
    for checkpoint in new:
        decide(checkpoint, reviewer)
    assert flag(initiative) is False


def test_a_rejected_gating_checkpoint_keeps_it_out_of_compliance(pm, reviewer):
    initiative = in_production(pm, reviewer)
    make_autonomous(initiative, pm)
    for checkpoint in Checkpoint.objects.filter(initiative=initiative, type__code__in=AGENTIC):
        decide(checkpoint, reviewer, approve=checkpoint.type.code != "failure-recovery")

    assert flag(initiative) is True


def test_an_expired_waiver_on_a_production_initiative_is_out_of_compliance(pm, reviewer):
    initiative = in_production(pm, reviewer)
    checkpoint = Checkpoint.objects.get(initiative=initiative, type__code="observability")
    services.checkpoint_waive(checkpoint=checkpoint, actor=reviewer, justification="Dashboards "
                              "land next sprint.", expires_on=TODAY + timedelta(days=10),
                              expected_version=checkpoint.version, now=FIXED_NOW)

    assert flag(initiative, today=TODAY + timedelta(days=10)) is False   # expires that day
    assert flag(initiative, today=TODAY + timedelta(days=11)) is True


def test_open_checkpoints_of_later_gates_do_not_make_it_out_of_compliance(pm):
    # In assessment: the pilot and production checkpoints are open, risk classification
    # (gating assessment) is the only one that counts.
    initiative = portfolio_services.initiative_create(actor=pm, now=FIXED_NOW, title="Triage",
                                                      team=InitiativeFactory().team)
    Initiative.objects.filter(pk=initiative.pk).update(stage="assessment")
    assert flag(initiative) is True
    Checkpoint.objects.filter(initiative=initiative, type__code="risk-classification").update(
        status="approved", reviewer=pm, decided_at=FIXED_NOW)
    assert flag(initiative) is False


@pytest.mark.parametrize("stage", ["idea", "paused", "retired"])
def test_ideas_paused_and_retired_initiatives_are_never_out_of_compliance(pm, stage):
    initiative = portfolio_services.initiative_create(actor=pm, now=FIXED_NOW, title="Triage",
                                                      team=InitiativeFactory().team)
    Initiative.objects.filter(pk=initiative.pk).update(
        stage=stage, retirement_reason="cost" if stage == "retired" else "")
    assert flag(initiative) is False


def test_a_retired_checkpoint_does_not_count(pm, reviewer):
    initiative = in_production(pm, reviewer)
    make_autonomous(initiative, pm)
    initiative.refresh_from_db()
    # Back to assistive: the agentic checkpoints stop applying, so compliance is restored.
    portfolio_services.initiative_update(initiative=initiative, actor=pm, now=LATER,
                                         expected_version=initiative.version,
                                         changes={"autonomy_level": "assistive"})
    assert flag(initiative) is False


def test_the_flag_is_computed_in_the_same_query(pm, reviewer, django_assert_num_queries):
    for _ in range(3):
        make_autonomous(in_production(pm, reviewer), pm)
    with django_assert_num_queries(1):
        rows = list(selectors.with_compliance(Initiative.objects.all(), today=TODAY))
    assert [row.out_of_compliance for row in rows] == [True, True, True]


# --- governance_progress ------------------------------------------------------------------------

def test_progress_counts_cleared_checkpoints_and_names_what_blocks_the_next_stage(pm, reviewer):
    initiative = portfolio_services.initiative_create(
        actor=pm, now=FIXED_NOW, title="Claims copilot", team=InitiativeFactory().team)
    risk = Checkpoint.objects.get(initiative=initiative, type__code="risk-classification")
    decide(risk, reviewer)
    Initiative.objects.filter(pk=initiative.pk).update(stage="assessment")
    initiative.refresh_from_db()

    progress = selectors.governance_progress(initiative, today=TODAY + timedelta(days=8))

    assert (progress.cleared, progress.total) == (1, 9)
    assert progress.next_stage == "pilot"
    assert progress.out_of_compliance == []
    assert "Security review (not started)" in progress.next_stage_blockers
    assert any(b.startswith("the exit contract") for b in progress.next_stage_blockers)
    assert not any("Observability" in b for b in progress.next_stage_blockers)  # production's
    overdue = {row.checkpoint.type.code for row in progress.open_rows if row.overdue}
    # Due after 5 or 7 review days; security review's 10 days are not over yet; the
    # production reviews are upcoming (requested once the initiative reaches pilot).
    assert overdue == {"ip-licensing", "evaluation-plan"}
    upcoming = {row.checkpoint.type.code for row in progress.open_rows if row.upcoming}
    assert upcoming == {"observability", "prompt-model-versioning", "operational-runbook",
                        "feedback-loop", "reliability-rollback"}
    assert progress.rows[0].checkpoint.type.code == "risk-classification"  # by gated stage


def test_progress_of_an_out_of_compliance_initiative_names_the_checkpoints(pm, reviewer):
    initiative = make_autonomous(in_production(pm, reviewer), pm)

    progress = selectors.governance_progress(initiative, today=TODAY)

    assert {cp.type.code for cp in progress.out_of_compliance} == AGENTIC
    assert (progress.cleared, progress.total) == (9, 12)
    assert progress.next_stage == "scaled"
    assert len(progress.next_stage_blockers) == 3


# --- heat_map -----------------------------------------------------------------------------------

def test_heat_map_statuses_from_one_query_over_checkpoints(pm, reviewer,
                                                          django_assert_num_queries):
    agentic = make_autonomous(in_production(pm, reviewer, title="Agent"), pm)
    waived = in_production(pm, reviewer, title="Waived")
    observability = Checkpoint.objects.get(initiative=waived, type__code="observability")
    Checkpoint.objects.filter(pk=observability.pk).update(
        status="waived", waiver_justification="Later.", waiver_expires_on=TODAY - timedelta(1))
    plain = in_production(pm, reviewer, title="Plain")
    rows = list(Initiative.objects.filter(pk__in=[agentic.pk, waived.pk, plain.pk])
                .order_by("title"))

    # The active types; the checkpoints of these initiatives.
    with django_assert_num_queries(2):
        heat = selectors.heat_map(rows, today=TODAY)

    codes = [t.code for t in heat.types]
    assert len(codes) == CheckpointType.objects.filter(active=True).count()
    cells = {row.initiative.title: dict(zip(codes, row.cells, strict=True)) for row in heat.rows}
    assert cells["Agent"]["failure-recovery"].status == "not_started"
    assert cells["Agent"]["security-review"].status == "approved"
    assert cells["Waived"]["observability"].status == "waiver_expired"
    assert cells["Waived"]["observability"].label == "Waiver expired"
    assert cells["Plain"]["failure-recovery"].status == "not_applicable"
    assert cells["Plain"]["privacy-review"].status == "not_applicable"
    assert [row.out_of_compliance for row in heat.rows] == [True, False, True]


def test_heat_map_takes_a_queryset_too(pm, reviewer, django_assert_num_queries):
    in_production(pm, reviewer)
    # The initiatives; the active types; their checkpoints.
    with django_assert_num_queries(3):
        heat = selectors.heat_map(Initiative.objects.all(), today=TODAY)
    assert len(heat.rows) == 1


# The queue-aware production forecast and reviewer capacity: test_review_capacity.py.
