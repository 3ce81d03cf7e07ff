"""The gate holds whatever anyone does, in any order (a Hypothesis state machine).

Random sequences of profile changes, exit-contract edits, measurements, contract overrides,
reviews, waivers, days passing, the daily waiver job and stage moves by users of every
role, through the services only.
After every step:

- an initiative on the lifecycle path sits in its stage with every gating checkpoint
  cleared, unless what un-cleared it happened after it last passed the gate (a profile
  change that opened the checkpoint, a rejection, a waiver that ran out). A move never
  carries an initiative past a checkpoint that was already open;
- a prohibited initiative never gets beyond assessment;
- every checkpoint's status, reviewer, decision time and waiver fit together, and nobody
  reviewed their own initiative.

Each example runs in its own savepoint, rolled back when the example ends.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from governance import services as governance
from governance.models import Checkpoint, CheckpointStatus
from portfolio import services as portfolio
from portfolio.exceptions import DomainError
from portfolio.models import (
    STAGE_ORDER,
    Activity,
    AutonomyLevel,
    ContractOverride,
    Initiative,
    RetirementReason,
    RiskTier,
    Stage,
    StageTransition,
)
from portfolio.outcomes import services as outcomes
from portfolio.roles import Role
from tests.factories import TeamFactory, UserFactory

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
INITIATIVES = 3
PERSONAS = {
    "pm": [Role.PM],  # owns initiatives 0 and 1
    "other_pm": [Role.PM],
    "reviewer": [Role.REVIEWER],
    "reviewer_owner": [Role.REVIEWER, Role.PM],  # owns initiative 2, sponsors initiative 1
    "tpm": [Role.TPM],
    "leader": [Role.LEADERSHIP],
}
EXIT_CONTRACT = {"success_metric": "Tickets resolved without an agent", "metric_unit": "%",
                 "metric_direction": "higher", "baseline_value": Decimal(18),
                 "target_value": Decimal(35), "window_start": START.date() - timedelta(days=30),
                 "window_end": START.date() + timedelta(days=365),
                 "decision_date": START.date() + timedelta(days=120),
                 "predicted_annual_value": Decimal(240000),
                 "predicted_annual_run_cost": Decimal(40000)}
NO_CONTRACT = {**dict.fromkeys(EXIT_CONTRACT, None), "success_metric": "", "metric_unit": "",
               "metric_direction": ""}
CLEARED_STATUSES = (CheckpointStatus.APPROVED, CheckpointStatus.WAIVED)

initiative_index = st.integers(0, INITIATIVES - 1)
persona = st.sampled_from(sorted(PERSONAS))
profile = st.fixed_dictionaries({
    "risk_tier": st.sampled_from(RiskTier.values),
    "uses_personal_data": st.booleans(),
    "customer_facing": st.booleans(),
    "autonomy_level": st.sampled_from(AutonomyLevel.values),
})

# Mostly one step forward, so that runs get somewhere; a stage's name tries that stage,
# legal or not.
MOVE_KINDS = ["forward", "forward", "forward", "back", "pause", "resume", "retire",
              *Stage.values]


def _target(initiative: Initiative, kind: str) -> str:
    stage = initiative.stage
    on_path = stage in STAGE_ORDER
    if kind == "forward" and on_path and stage != Stage.SCALED:
        return STAGE_ORDER[STAGE_ORDER.index(stage) + 1]
    if kind == "back" and on_path and stage != Stage.IDEA:
        return STAGE_ORDER[STAGE_ORDER.index(stage) - 1]
    if kind == "pause":
        return Stage.PAUSED
    if kind == "retire":
        return Stage.RETIRED
    if kind == "resume" and stage == Stage.PAUSED:
        moves = [s for s, _ in portfolio.available_moves(initiative) if s in STAGE_ORDER]
        return moves[0] if moves else Stage.IDEA
    return kind if kind in Stage.values else stage  # nothing to do: the same stage, refused


def _last_gated_entry(initiative: Initiative) -> datetime:
    """When the initiative last passed the gate into a lifecycle stage: a forward move or a
    resume (moves back are not gated, and do not reset this); its creation before any."""
    gated = [t for t in StageTransition.objects.filter(initiative=initiative).order_by("at", "id")
             if t.to_stage in STAGE_ORDER
             and (t.from_stage not in STAGE_ORDER
                  or STAGE_ORDER.index(t.to_stage) > STAGE_ORDER.index(t.from_stage))]
    return gated[-1].at if gated else initiative.created_at


class GateMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # Everything this example writes is rolled back in teardown().
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.now = START
        self.users = {name: UserFactory(username=f"hyp-{name}", roles=[r.value for r in roles])
                      for name, roles in PERSONAS.items()}
        self.reviewer_ids = {self.users[name].pk for name, roles in PERSONAS.items()
                             if Role.REVIEWER in roles}
        self.ids: list[int] = []

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- helpers ---------------------------------------------------------------------------

    def _tick(self) -> datetime:
        # Every step happens strictly after the one before, so "after" is never a tie.
        self.now += timedelta(seconds=1)
        return self.now

    def _today(self):
        return timezone.localdate(self.now)

    def _initiative(self, index: int) -> Initiative:
        return Initiative.objects.get(pk=self.ids[index])

    def _checkpoint(self, index: int, pick: int) -> Checkpoint | None:
        # Retired ones too: deciding them must be refused.
        checkpoints = list(Checkpoint.objects.filter(initiative_id=self.ids[index])
                           .select_related("initiative", "type").order_by("type__code"))
        return checkpoints[pick % len(checkpoints)] if checkpoints else None

    def _update(self, index: int, changes: dict) -> None:
        initiative = self._initiative(index)
        try:
            portfolio.initiative_update(initiative=initiative, actor=initiative.owner,
                                        now=self._tick(), expected_version=initiative.version,
                                        changes=changes)
        except DomainError:
            after = self._initiative(index)
            assert (after.version, after.risk_tier) == (initiative.version, initiative.risk_tier)

    def _refused_unchanged(self, checkpoint: Checkpoint) -> None:
        after = Checkpoint.objects.get(pk=checkpoint.pk)
        assert (after.version, after.status, after.reviewer_id, after.decided_at) == (
            checkpoint.version, checkpoint.status, checkpoint.reviewer_id, checkpoint.decided_at)

    # --- set-up ----------------------------------------------------------------------------

    @initialize(profiles=st.lists(profile, min_size=INITIATIVES, max_size=INITIATIVES),
                contracted=st.lists(st.booleans(), min_size=INITIATIVES, max_size=INITIATIVES))
    def create_initiatives(self, profiles, contracted):
        team = TeamFactory(slug="hyp-team", name="Hypothesis team")
        owners = [self.users["pm"], self.users["pm"], self.users["reviewer_owner"]]
        sponsors = [None, self.users["reviewer_owner"], None]
        for n in range(INITIATIVES):
            extra = ({**EXIT_CONTRACT, "production_owner": owners[n]} if contracted[n] else {})
            initiative = portfolio.initiative_create(
                actor=owners[n], now=self._tick(), owner=owners[n], sponsor=sponsors[n],
                title=f"Assistant {n}", team=team, **profiles[n], **extra)
            self.ids.append(initiative.pk)

    # --- rules -----------------------------------------------------------------------------

    @rule(index=initiative_index, changes=profile)
    def change_profile(self, index, changes):
        self._update(index, changes)

    @rule(index=initiative_index, contract=st.booleans(),
          result=st.sampled_from([None, Decimal(22), Decimal(36)]))
    def edit_exit_contract(self, index, contract, result):
        """The owner sets or clears the contract, perhaps records a measurement (one that
        misses or meets the target)."""
        owner = self._initiative(index).owner
        self._update(index, {**(EXIT_CONTRACT if contract else NO_CONTRACT),
                             "production_owner": owner if contract else None})
        if result is not None:
            self._measure(index, result)

    @rule(index=initiative_index, who=persona,
          kind=st.sampled_from(["target_missed", "pilot_too_short", "unknown"]),
          reason=st.sampled_from(["", "The board accepted the risk."]))
    def override_contract(self, index, who, kind, reason):
        """Anyone tries to override what the contract holds an initiative back for; only
        the sponsor or leadership, with a reason, for something that holds it back."""
        initiative = self._initiative(index)
        overrides = ContractOverride.objects.filter(initiative=initiative).count()
        try:
            outcomes.contract_override(initiative=initiative, kind=kind, reason=reason,
                                       actor=self.users[who], now=self._tick())
        except (DomainError, PermissionDenied):
            assert ContractOverride.objects.filter(initiative=initiative).count() == overrides
        else:
            assert reason
            assert kind != "unknown"
            assert who == "leader" or initiative.sponsor_id == self.users[who].pk

    def _measure(self, index: int, value: Decimal) -> None:
        initiative = self._initiative(index)
        try:
            outcomes.measurement_record(initiative=initiative, measured_on=self._today(),
                                        value=value, actor=initiative.owner, now=self._tick(),
                                        source_note="Weekly report")
        except DomainError:
            assert not initiative.success_metric  # no metric yet: nothing to measure

    @rule(index=initiative_index, pick=st.integers(0, 20), who=persona,
          action=st.sampled_from(["start", "approve", "reject", "waive"]),
          evidence=st.sampled_from(["", "Threat model v2"]), days=st.integers(-1, 6),
          stale=st.sampled_from([0, 0, 0, 1]))
    def review(self, index, pick, who, action, evidence, days, stale):
        """Anyone tries to review any checkpoint, retired or not, perhaps from a stale page."""
        checkpoint = self._checkpoint(index, pick)
        if checkpoint is None:
            return
        common = {"checkpoint": checkpoint, "actor": self.users[who], "now": self._tick(),
                  "expected_version": checkpoint.version - stale}
        try:
            if action == "start":
                governance.checkpoint_start_review(**common)
            elif action == "waive":
                governance.checkpoint_waive(**common, justification=evidence,
                                            expires_on=self._today() + timedelta(days=days))
            else:
                governance.checkpoint_decide(**common, approve=action == "approve",
                                             evidence_notes=evidence)
        except DomainError:
            self._refused_unchanged(checkpoint)

    @rule(index=initiative_index, waive=st.booleans(), contract=st.booleans(), who=persona)
    def clear_next_gate_and_move(self, index, waive, contract, who):
        """An independent reviewer clears the checkpoints the next stage needs (the owner
        perhaps completes the exit contract), then someone moves on: runs reach pilot and
        production often enough to test what happens there."""
        initiative = self._initiative(index)
        if initiative.stage not in STAGE_ORDER or initiative.stage == Stage.SCALED:
            return
        if contract:
            self._update(index, {**EXIT_CONTRACT, "production_owner": initiative.owner})
            self._measure(index, Decimal(36))  # meets the target
        reviewer = self.users["reviewer"]  # owns and sponsors nothing
        target = STAGE_ORDER[STAGE_ORDER.index(initiative.stage) + 1]
        now = self._tick()
        for checkpoint in (Checkpoint.objects.applicable().uncleared(self._today())
                           .filter(initiative=initiative).select_related("initiative", "type")):
            if not checkpoint.type.gates(target):
                continue
            if waive:
                governance.checkpoint_waive(
                    checkpoint=checkpoint, actor=reviewer, justification="Trial scope only",
                    expires_on=self._today() + timedelta(days=5),
                    expected_version=checkpoint.version, now=now)
            else:
                governance.checkpoint_decide(checkpoint=checkpoint, actor=reviewer, approve=True,
                                             evidence_notes="Reviewed",
                                             expected_version=checkpoint.version, now=now)
        self._move(self._initiative(index), target, who)

    @rule(days=st.integers(0, 20), lapse=st.booleans())
    def advance_time(self, days, lapse):
        """Days pass (waivers run out); perhaps the daily waiver job runs."""
        self.now += timedelta(days=days)
        if not lapse:
            return
        now = self._tick()
        governance.waivers_lapse(now=now)
        assert governance.waivers_lapse(now=now) == 0  # safe to run twice
        assert not (Checkpoint.objects.applicable()
                    .filter(status=CheckpointStatus.WAIVED, waiver_expires_on__lt=self._today(),
                            waiver_lapse_reported_at__isnull=True).exists())

    @rule(index=initiative_index, kind=st.sampled_from(MOVE_KINDS), who=persona,
          note=st.sampled_from(["", "Back to rework the evaluation"]),
          retirement=st.sampled_from(["", *RetirementReason.values]),
          lessons=st.sampled_from(["", "The data was not ready."]))
    def move(self, index, kind, who, note, retirement, lessons):
        # The service does not check who acts (the views do): any role tests the gate.
        initiative = self._initiative(index)
        self._move(initiative, _target(initiative, kind), who, note=note,
                   retirement=retirement, lessons=lessons)

    def _move(self, initiative, to_stage, who, *, note="", retirement="", lessons=""):
        try:
            portfolio.initiative_move_stage(
                initiative=initiative, to_stage=to_stage, actor=self.users[who],
                now=self._tick(), note=note, retirement_reason=retirement,
                retirement_lessons=lessons)
        except DomainError:
            after = Initiative.objects.get(pk=initiative.pk)
            assert (after.stage, after.version) == (initiative.stage, initiative.version)

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def gated_stages_are_cleared(self):
        today = self._today()
        for initiative in Initiative.objects.filter(pk__in=self.ids):
            if initiative.stage not in STAGE_ORDER:
                continue
            entered = _last_gated_entry(initiative)
            # Spelled out here rather than with the code under test (uncleared(), is_cleared()).
            for checkpoint in (Checkpoint.objects.filter(initiative=initiative,
                                                         retired_at__isnull=True)
                               .select_related("type")):
                cleared = (checkpoint.status == CheckpointStatus.APPROVED
                           or (checkpoint.status == CheckpointStatus.WAIVED
                               and checkpoint.waiver_expires_on >= today))
                if cleared or not checkpoint.type.gates(initiative.stage):
                    continue
                opened_after = checkpoint.requested_at > entered
                rejected_after = (checkpoint.status in (CheckpointStatus.REJECTED,
                                                        CheckpointStatus.IN_REVIEW)
                                  and checkpoint.decided_at is not None
                                  and checkpoint.decided_at > entered)
                waiver_ran_out_after = (checkpoint.status == CheckpointStatus.WAIVED
                                        and checkpoint.waiver_expires_on
                                        >= timezone.localdate(entered))
                assert opened_after or rejected_after or waiver_ran_out_after, (
                    f"{initiative.title} is in {initiative.stage} (entered {entered}) but "
                    f"{checkpoint.type.code} is {checkpoint.status} "
                    f"(requested {checkpoint.requested_at}, decided {checkpoint.decided_at}, "
                    f"waiver to {checkpoint.waiver_expires_on}, today {today})")
                if opened_after:
                    # A checkpoint that opens behind the gate is on the timeline at once.
                    assert any(checkpoint.type.name in a.details.get("checkpoints", [])
                               for a in Activity.objects.filter(
                                   initiative=initiative, at=checkpoint.requested_at,
                                   kind=Activity.Kind.OUT_OF_COMPLIANCE)), checkpoint

    @invariant()
    def prohibited_never_beyond_assessment(self):
        for initiative in Initiative.objects.filter(pk__in=self.ids,
                                                    risk_tier=RiskTier.PROHIBITED):
            assert initiative.stage not in STAGE_ORDER[STAGE_ORDER.index(Stage.ASSESSMENT) + 1:]

    @invariant()
    def checkpoints_are_consistent(self):
        for checkpoint in (Checkpoint.objects.filter(initiative_id__in=self.ids)
                           .select_related("initiative")):
            assert checkpoint.status in CheckpointStatus.values
            assert checkpoint.version >= 1
            if checkpoint.status in (*CLEARED_STATUSES, CheckpointStatus.REJECTED):
                assert checkpoint.reviewer_id is not None
                assert checkpoint.decided_at is not None
            if checkpoint.status == CheckpointStatus.NOT_STARTED:
                assert checkpoint.reviewer_id is None
                assert checkpoint.decided_at is None
            if checkpoint.status == CheckpointStatus.WAIVED:
                assert checkpoint.waiver_expires_on is not None
                assert checkpoint.waiver_justification
            else:
                assert checkpoint.waiver_expires_on is None
            if checkpoint.reviewer_id is not None:
                assert checkpoint.reviewer_id in self.reviewer_ids
                assert checkpoint.reviewer_id not in (checkpoint.initiative.owner_id,
                                                      checkpoint.initiative.sponsor_id)


@pytest.mark.slow
@pytest.mark.django_db
def test_the_gate_holds_under_any_sequence_of_actions():
    run_state_machine_as_test(GateMachine, settings=settings(
        max_examples=200, stateful_step_count=20, deadline=None,
        database=DirectoryBasedExampleDatabase(django_settings.VAR_DIR / "hypothesis"),
    ))
