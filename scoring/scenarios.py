"""Scenarios: a leader's what-if for one quarter's funding line, beside the live plan
(docs/architecture.md, "Scenarios").

A scenario names one of the planned quarters (``capacity.plan_quarters``) and changes, for
that quarter only: engineer-weeks per team (replacing the team's plan), the scoring model
(any version) or a weighted model's weights, and initiatives pinned in (funded whatever
their rank) or out (left out, freeing their capacity).

- **Who**: every dashboard reader opens a scenario by its URL; leadership and admins who
  may change capacity plans draft and change any scenario (``scenario_rights``); only
  such an admin applies one, and one that changes the scoring model also needs the
  admin's permission to change scoring models.
- **Writes** (``scenario_create`` / ``scenario_update`` / ``scenario_delete`` /
  ``scenario_apply``) write only scenario rows, except applying, which writes the
  capacity plans and the scoring model through their own services
  (``capacity.capacity_plan_set``, ``services.scoring_model_activate`` /
  ``scoring_model_revise``), in one transaction. Pins stay a what-if: nothing live pins.
- **The comparison** (``scenario_comparison``) walks the live portfolio twice with the
  same function (``capacity.funding_lines``): as it is, and under the scenario. So an
  empty scenario shows no difference. It is cached under the scenario's inputs, the
  standings snapshot and the changes pending since (``_cache_key``), so a repeat view is
  cheap and a change anywhere computes it again.

Nothing here reads the clock: ``now`` comes from the caller.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone

from portfolio.exceptions import DomainError
from portfolio.models import Initiative, Stage, Team
from portfolio.roles import Role, acts_as_admin, can_read_portfolio, roles_of
from scoring import capacity, formulas
from scoring import services as scoring_services
from scoring.models import (
    PortfolioSnapshot,
    Scenario,
    ScenarioCapacity,
    ScenarioPin,
    ScoringMethod,
    ScoringModel,
    StandingsInvalidation,
)
from scoring.selectors import active_scoring_model, ranked_initiatives
from scoring.standings import RANKED_COLUMNS, SNAPSHOT_ID

# --- Refusals (module constants; pages and the API show them as they are) -----------------------

NAME_REQUIRED = "Give the scenario a name."
NAME_TOO_LONG = "A name of at most {limit} characters."
DESCRIPTION_TOO_LONG = "A description of at most {limit} characters."
TEAM_UNKNOWN = "No team has the id {team}."
WEEKS_TOO_MANY = "At most 9,999,999.9 engineer-weeks."
MODEL_UNKNOWN = "No scoring model has this id."
NO_ACTIVE_MODEL = "No scoring model is active: choose the weighted-criteria model to reweight."
WEIGHTS_NEED_WEIGHTED = ("{model} is not a weighted-criteria model: only weighted criteria "
                         "take weights. Choose a weighted-criteria model, or leave the weights "
                         "empty.")
INITIATIVE_UNKNOWN = "No initiative has the number {number}."
PIN_BOTH = "#{number} {title} is pinned both in and out: choose one."
PIN_NOT_DRAWING = ("#{number} {title} is {stage}: it draws no capacity, so pinning it changes "
                   "nothing.")
PIN_COMMITTED = ("#{number} {title} is already committed ({stage}): it is funded whatever the "
                 "scenario. Pin it out to see its capacity freed.")
APPLIED_IS_FIXED = ("This scenario was applied on {when}: it stays as it was applied. Draft a "
                    "new one to try something else.")
ALREADY_APPLIED = ("This scenario was already applied, on {when} by {who}: it cannot be "
                   "applied twice.")
QUARTER_PASSED = ("{quarter} has passed: the scenario can no longer be applied. Edit it to "
                  "choose this quarter or one of the next three.")
NOTHING_TO_APPLY = ("This scenario changes no capacity and no scoring model: there is nothing "
                    "live to change. Its pins stay a what-if for the owners to act on.")
NOT_A_DRAFTER = ("Only leadership, and admins who may change capacity plans, draft and change "
                 "scenarios; you can read them.")
NOT_AN_APPLIER = "Only an admin who may change capacity plans can apply a scenario."
NOT_A_MODEL_ADMIN = ("This scenario changes the scoring model: only an admin who may also "
                     "change scoring models can apply it.")

# The admin's permissions (``portfolio.roles.acts_as_admin``) for scenarios.
SCENARIO_ADMIN = "scoring.change_capacityplan"
MODEL_ADMIN = "scoring.change_scoringmodel"

NAME_LIMIT = Scenario._meta.get_field("name").max_length
DESCRIPTION_LIMIT = Scenario._meta.get_field("description").max_length
WEEKS_MAX = Decimal("9999999.9")
CACHE_SECONDS = 24 * 3600
# Part of every cache key: bump it when ``Comparison`` or its words change, so a deploy
# never serves what the previous code computed.
CACHE_VERSION = 1


# --- Who may do what ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ScenarioRights:
    """What one user may do with scenarios. Leadership may change any scenario, not only
    its own: a scenario is the leadership team's shared draft."""

    read: bool   # open the list and any scenario by its URL: whoever reads the dashboard
    edit: bool   # draft, change and delete: leadership; admins who may change capacity plans
    apply: bool  # apply one: admins who may change capacity plans

    def require(self, need: str) -> None:
        """404 unless they read scenarios; 403, saying who may, unless they may ``need``."""
        if not self.read:
            raise Http404
        if need == "edit" and not self.edit:
            raise PermissionDenied(NOT_A_DRAFTER)
        if need == "apply" and not self.apply:
            raise PermissionDenied(NOT_AN_APPLIER)


def scenario_rights(user) -> ScenarioRights:
    """The one definition of who may read, draft and apply scenarios. No query beyond the
    user's roles and permissions (cached on the user)."""
    read = can_read_portfolio(user)
    admin = read and acts_as_admin(user, SCENARIO_ADMIN)
    return ScenarioRights(read=read, edit=read and (Role.LEADERSHIP in roles_of(user) or admin),
                          apply=admin)


def may_change_models(user) -> bool:
    return acts_as_admin(user, MODEL_ADMIN)


# --- Reads of the rows --------------------------------------------------------------------------

def _scenarios():
    return Scenario.objects.select_related("created_by", "applied_by", "model")


def scenario_list():
    """Every scenario, the most recently changed first (paginate it). The creator, the
    applier and the model come in the same query."""
    return _scenarios().order_by("-updated_at", "-id")


def scenario_for(user, key, *, need: str = "read") -> tuple[Scenario, ScenarioRights]:
    """The scenario ``key`` with its capacities (and teams) and pins (and initiatives), and
    what ``user`` may do: 404 for outsiders and misses, 403 when they may not ``need``
    ("read", "edit", "apply"). Three queries."""
    rights = scenario_rights(user)
    if not rights.read:
        raise Http404
    scenario = (_scenarios().prefetch_related(
        Prefetch("capacities", ScenarioCapacity.objects.select_related("team")
                 .order_by("team__name", "team_id")),
        Prefetch("pins", ScenarioPin.objects.select_related("initiative")
                 .only("id", "scenario_id", "direction", "initiative__id",
                       "initiative__title", "initiative__stage", "initiative__team_id")
                 .order_by("id")))
        .filter(key=key).first())
    if scenario is None:
        raise Http404
    rights.require(need)
    return scenario, rights


def pins_of(scenario: Scenario, direction: str) -> list[ScenarioPin]:
    return [pin for pin in scenario.pins.all() if pin.direction == direction]


# --- Writes -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Cleaned:
    name: str
    description: str
    year: int
    quarter: int
    model: ScoringModel | None
    weights: dict
    capacities: dict[int, Decimal]
    pins: dict[int, str]  # initiative id -> ScenarioPin.Direction


def _id(value) -> int | None:
    """A row or its id as an int; None when it is neither."""
    raw = getattr(value, "pk", value)
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().isdigit() and len(raw.strip()) <= 18:
        return int(raw.strip())
    return None


def _clean_weeks(value) -> Decimal:
    try:
        weeks = capacity._weeks(value)
    except DomainError as error:
        raise DomainError(error.message, field="capacities") from None
    if weeks > WEEKS_MAX:
        raise DomainError(WEEKS_TOO_MANY, field="capacities")
    if weeks != weeks.quantize(Decimal("0.1")):
        raise DomainError(capacity.WEEKS_INVALID, field="capacities")
    return weeks.quantize(Decimal("0.1"))


def _clean_capacities(capacities) -> dict[int, Decimal]:
    """{team or team id: engineer-weeks} -> {team id: weeks}; unknown teams refused. One
    query."""
    cleaned: dict[int, Decimal] = {}
    for team, weeks in (capacities or {}).items():
        team_id = _id(team)
        if team_id is None:
            raise DomainError(TEAM_UNKNOWN.format(team=team), field="capacities")
        cleaned[team_id] = _clean_weeks(weeks)
    if cleaned:
        known = set(Team.objects.filter(pk__in=cleaned).values_list("pk", flat=True))
        missing = sorted(set(cleaned) - known)
        if missing:
            raise DomainError(TEAM_UNKNOWN.format(team=missing[0]), field="capacities")
    return cleaned


def _clean_pins(pinned_in, pinned_out) -> dict[int, str]:
    """Initiatives (or ids) pinned in and out -> {id: direction}; one query."""
    wanted: dict[int, str] = {}
    ids_in = [(_id(item), item) for item in pinned_in or ()]
    ids_out = [(_id(item), item) for item in pinned_out or ()]
    for number, item in ids_in + ids_out:
        if number is None:
            raise DomainError(INITIATIVE_UNKNOWN.format(number=item), field="pins")
    found = {row.pk: row for row in Initiative.objects.filter(
        pk__in={number for number, _ in ids_in + ids_out}).only("id", "title", "stage")}
    for direction, ids in ((ScenarioPin.Direction.IN, ids_in),
                           (ScenarioPin.Direction.OUT, ids_out)):
        for number, _ in ids:
            initiative = found.get(number)
            if initiative is None:
                raise DomainError(INITIATIVE_UNKNOWN.format(number=number), field="pins")
            words = {"number": number, "title": initiative.title,
                     "stage": initiative.get_stage_display().lower()}
            if wanted.get(number, direction) != direction:
                raise DomainError(PIN_BOTH.format(**words), field="pins")
            if initiative.stage not in capacity.DRAWING_STAGES:
                raise DomainError(PIN_NOT_DRAWING.format(**words), field="pins")
            if (direction == ScenarioPin.Direction.IN
                    and initiative.stage in capacity.COMMITTED_STAGES):
                raise DomainError(PIN_COMMITTED.format(**words), field="pins")
            wanted[number] = direction
    return wanted


def _clean_model(model, weights) -> tuple[ScoringModel | None, dict]:
    """The version to rank by (None: the active one) and the weights replacing its own
    ({}: its own). Weights are merged over the model's, so a criterion left out keeps its
    weight; weights equal to the model's are no change. Weights name the version they
    replace: without a chosen model, the active one."""
    chosen = None
    if model not in (None, ""):
        model_id = _id(model)
        chosen = ScoringModel.objects.filter(pk=model_id).first() if model_id else None
        if chosen is None:
            raise DomainError(MODEL_UNKNOWN, field="model")
    given = {key: value for key, value in (weights or {}).items() if value is not None}
    if not given:
        return chosen, {}
    base = chosen or active_scoring_model()
    if base is None:
        raise DomainError(NO_ACTIVE_MODEL, field="weights")
    if base.method != ScoringMethod.WEIGHTED:
        raise DomainError(WEIGHTS_NEED_WEIGHTED.format(model=base), field="weights")
    own = {key: float(value) for key, value in (base.weights or {}).items()}
    try:
        given = {key: float(value) if isinstance(value, Decimal) else value
                 for key, value in given.items()}
    except (TypeError, ValueError):
        raise DomainError(scoring_services.WEIGHTS_NOT_A_MAPPING, field="weights") from None
    merged = scoring_services.validate_weights(method=ScoringMethod.WEIGHTED,
                                               weights={**own, **given})
    return base, ({} if merged == own else merged)


def _clean(*, name, description, year, quarter, model, weights, capacities, pinned_in,
           pinned_out, now: datetime) -> _Cleaned:
    name = (name or "").strip()
    if not name:
        raise DomainError(NAME_REQUIRED, field="name")
    if len(name) > NAME_LIMIT:
        raise DomainError(NAME_TOO_LONG.format(limit=NAME_LIMIT), field="name")
    description = (description or "").strip()
    if len(description) > DESCRIPTION_LIMIT:
        raise DomainError(DESCRIPTION_TOO_LONG.format(limit=DESCRIPTION_LIMIT),
                          field="description")
    if (_id(year), _id(quarter)) not in capacity.plan_quarters(now):
        raise DomainError(capacity.QUARTER_NOT_PLANNED, field="quarter")
    chosen, cleaned_weights = _clean_model(model, weights)
    return _Cleaned(name=name, description=description, year=_id(year), quarter=_id(quarter),
                    model=chosen, weights=cleaned_weights,
                    capacities=_clean_capacities(capacities),
                    pins=_clean_pins(pinned_in, pinned_out))


def _save(scenario: Scenario, *, actor, now: datetime) -> None:
    # simple-history records who made the change, and when (the service's `now`).
    scenario._history_user = actor
    scenario._history_date = now
    try:
        scenario.full_clean(validate_constraints=False)
    except ValidationError as error:
        name, messages = next(iter(error.message_dict.items()))
        raise DomainError(messages[0], field=name) from None
    scenario.save()


def _write_rows(scenario: Scenario, cleaned: _Cleaned) -> None:
    ScenarioCapacity.objects.filter(scenario=scenario).delete()
    ScenarioPin.objects.filter(scenario=scenario).delete()
    ScenarioCapacity.objects.bulk_create(
        ScenarioCapacity(scenario=scenario, team_id=team_id, engineer_weeks=weeks)
        for team_id, weeks in cleaned.capacities.items())
    ScenarioPin.objects.bulk_create(
        ScenarioPin(scenario=scenario, initiative_id=initiative_id, direction=direction)
        for initiative_id, direction in cleaned.pins.items())


def _require_drafter(actor) -> None:
    scenario_rights(actor).require("edit")


@transaction.atomic
def scenario_create(*, name: str, year: int, quarter: int, actor, now: datetime,
                    description: str = "", model=None, weights: dict | None = None,
                    capacities: dict | None = None, pinned_in=(), pinned_out=()) -> Scenario:
    """Draft a scenario for one of the planned quarters. Writes only scenario rows.

    ``model``: a ScoringModel (or its id) to rank by instead of the active one; ``weights``:
    {criterion: weight} replacing some of a weighted model's; ``capacities``: {team (or id):
    engineer-weeks} replacing the teams' plans for the quarter; ``pinned_in`` /
    ``pinned_out``: initiatives (or ids). Refusals name their field: ``name``,
    ``description``, ``quarter``, ``model``, ``weights``, ``capacities``, ``pins``.
    """
    _require_drafter(actor)
    cleaned = _clean(name=name, description=description, year=year, quarter=quarter,
                     model=model, weights=weights, capacities=capacities,
                     pinned_in=pinned_in, pinned_out=pinned_out, now=now)
    scenario = Scenario(name=cleaned.name, description=cleaned.description, year=cleaned.year,
                        quarter=cleaned.quarter, model=cleaned.model, weights=cleaned.weights,
                        created_by=actor, created_at=now, updated_at=now)
    _save(scenario, actor=actor, now=now)
    _write_rows(scenario, cleaned)
    return scenario


def _locked(scenario: Scenario) -> Scenario:
    return Scenario.objects.select_for_update().get(pk=scenario.pk)


def _when(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local.day} {local:%b %Y}"


@transaction.atomic
def scenario_update(*, scenario: Scenario, name: str, year: int, quarter: int, actor,
                    now: datetime, description: str = "", model=None,
                    weights: dict | None = None, capacities: dict | None = None,
                    pinned_in=(), pinned_out=()) -> Scenario:
    """Replace everything the scenario says (the edit form sends it all). An applied
    scenario stays as it was applied. Same refusals as ``scenario_create``."""
    _require_drafter(actor)
    scenario = _locked(scenario)
    if scenario.applied_at is not None:
        raise DomainError(APPLIED_IS_FIXED.format(when=_when(scenario.applied_at)))
    cleaned = _clean(name=name, description=description, year=year, quarter=quarter,
                     model=model, weights=weights, capacities=capacities,
                     pinned_in=pinned_in, pinned_out=pinned_out, now=now)
    scenario.name, scenario.description = cleaned.name, cleaned.description
    scenario.year, scenario.quarter = cleaned.year, cleaned.quarter
    scenario.model, scenario.weights = cleaned.model, cleaned.weights
    # Never backwards, so the comparison's cache key changes with every edit.
    scenario.updated_at = max(now, scenario.updated_at + timedelta(microseconds=1))
    _save(scenario, actor=actor, now=now)
    _write_rows(scenario, cleaned)
    return scenario


@transaction.atomic
def scenario_delete(*, scenario: Scenario, actor, now: datetime) -> None:
    """Delete a draft (its history keeps who deleted it). An applied scenario is the record
    of what was applied: it stays."""
    _require_drafter(actor)
    scenario = _locked(scenario)
    if scenario.applied_at is not None:
        raise DomainError(APPLIED_IS_FIXED.format(when=_when(scenario.applied_at)))
    scenario._history_user = actor
    scenario._history_date = now
    scenario.delete()


def _model_change(scenario: Scenario) -> tuple[ScoringModel | None, dict]:
    """(the version the scenario ranks by, its new weights or {}); (None, {}) when the
    scenario ranks as the live plan does."""
    if scenario.model_id is None and not scenario.weights:
        return None, {}
    active = active_scoring_model()
    base = scenario.model or active
    if base is None:
        return None, {}
    if not scenario.weights and active is not None and base.pk == active.pk:
        return None, {}
    return base, dict(scenario.weights or {})


@transaction.atomic
def scenario_apply(*, scenario: Scenario, actor, now: datetime) -> Scenario:
    """Make the scenario live: each capacity change through ``capacity_plan_set`` (the
    plan's history records the actor), the model through ``scoring_model_activate`` (or
    ``scoring_model_revise`` and then activate, for new weights) — all in one transaction,
    so either all of it is live or none. The services mark the standings stale. Pins are
    not live data: they stay a what-if. Applying twice is refused."""
    rights = scenario_rights(actor)
    rights.require("apply")
    scenario = _locked(scenario)
    if scenario.applied_at is not None:
        who = scenario.applied_by
        raise DomainError(ALREADY_APPLIED.format(
            when=_when(scenario.applied_at), who=who.get_full_name() or who.get_username()))
    if (scenario.year, scenario.quarter) not in capacity.plan_quarters(now):
        raise DomainError(QUARTER_PASSED.format(quarter=scenario.quarter_label),
                          field="quarter")
    changes = list(ScenarioCapacity.objects.filter(scenario=scenario).select_related("team")
                   .order_by("team__name"))
    base, weights = _model_change(scenario)
    if not changes and base is None:
        raise DomainError(NOTHING_TO_APPLY)
    if base is not None and not may_change_models(actor):
        raise PermissionDenied(NOT_A_MODEL_ADMIN)
    for change in changes:
        capacity.capacity_plan_set(team=change.team, year=scenario.year,
                                   quarter=scenario.quarter,
                                   engineer_weeks=change.engineer_weeks, actor=actor, now=now)
    if base is not None:
        if weights and weights != {k: float(v) for k, v in (base.weights or {}).items()}:
            base = scoring_services.scoring_model_revise(
                model=base, weights=weights, actor=actor, now=now,
                description=f"Weights from the scenario “{scenario.name}”.")
        scoring_services.scoring_model_activate(model=base, actor=actor, now=now)
    scenario.applied_at, scenario.applied_by = now, actor
    scenario.updated_at = max(now, scenario.updated_at)
    _save(scenario, actor=actor, now=now)
    return scenario


# --- The comparison -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Figures:
    """One team's quarter on one side: ``capacity.TeamLine``'s figures."""

    capacity: Decimal | None
    committed: Decimal
    funded: Decimal
    utilisation_percent: int | None
    over_commitment: Decimal


@dataclass(frozen=True)
class TeamChange:
    team: str
    team_slug: str
    live: Figures
    scenario: Figures
    changes: list[str]  # the differences in words and numbers; [] when there are none

    @property
    def changed(self) -> bool:
        return bool(self.changes)


@dataclass(frozen=True)
class Moved:
    """An initiative that enters (funded in the scenario, not live) or drops (the reverse)."""

    pk: int
    title: str
    team: str
    stage: str
    effort: Decimal | None
    live: str  # where it stands live, in words ("below the line: needs …")
    scenario: str  # and in the scenario
    blockers: list[str] = field(default_factory=list)  # what blocks its next stage, if funded

    @property
    def stage_label(self) -> str:
        return Stage(self.stage).label


@dataclass(frozen=True)
class Comparison:
    quarter: str
    live_model: str
    scenario_model: str
    entering: list[Moved]
    dropping: list[Moved]
    teams: list[TeamChange]

    @property
    def entering_weeks(self) -> Decimal:
        return sum((m.effort for m in self.entering if m.effort is not None), Decimal(0))

    @property
    def dropping_weeks(self) -> Decimal:
        return sum((m.effort for m in self.dropping if m.effort is not None), Decimal(0))

    @property
    def same(self) -> bool:
        return not (self.entering or self.dropping or any(t.changed for t in self.teams))

    @property
    def changed_teams(self) -> list[TeamChange]:
        """The teams whose figures differ between the two sides."""
        return [team for team in self.teams if team.changed]

    @property
    def unchanged_teams(self) -> int:
        return len(self.teams) - len(self.changed_teams)

    @property
    def summary(self) -> str:
        """The difference in one sentence."""
        if self.same:
            return f"The scenario funds exactly what the live plan funds for {self.quarter}."
        parts = []
        if self.entering:
            parts.append(f"{_count(len(self.entering))} "
                         f"enter{'s' if len(self.entering) == 1 else ''} "
                         f"({weeks_text(self.entering_weeks)} engineer-weeks)")
        if self.dropping:
            parts.append(f"{_count(len(self.dropping))} "
                         f"drop{'s' if len(self.dropping) == 1 else ''} "
                         f"({weeks_text(self.dropping_weeks)} engineer-weeks)")
        if not parts:
            return (f"The same initiatives are funded for {self.quarter}; the teams' figures "
                    "change as listed below.")
        teams = sum(1 for t in self.teams if t.changed)
        return (f"Against the live plan for {self.quarter}, {' and '.join(parts)}; "
                f"{teams} team{'s' if teams != 1 else ''} change{'s' if teams == 1 else ''}.")


def _count(number: int) -> str:
    return f"{number} initiative{'s' if number != 1 else ''}"


def weeks_text(weeks: Decimal | None) -> str:
    if weeks is None:
        return "—"
    text = f"{Decimal(weeks).quantize(Decimal('0.1')):,f}"
    return text.removesuffix(".0")


def _signed(delta: Decimal) -> str:
    return f"+{weeks_text(delta)}" if delta > 0 else f"−{weeks_text(-delta)}"


def scenario_scoring_model(scenario: Scenario, active: ScoringModel | None
                           ) -> ScoringModel | None:
    """The version the scenario ranks by; new weights make an unsaved copy with them (the
    ranking reads only ``method`` and ``weights``: ``selectors.score_expression``)."""
    base = scenario.model if scenario.model_id else active
    if base is None or not scenario.weights or base.method != ScoringMethod.WEIGHTED:
        return base
    return ScoringModel(name=base.name, version=base.version, method=base.method,
                        weights=dict(scenario.weights), description=base.description)


def model_label(model: ScoringModel | None, *, reweighted: bool = False) -> str:
    if model is None:
        return "no scoring model"
    return f"{model} with the scenario's weights" if reweighted else str(model)


def weights_text(weights: dict) -> str:
    """"business value 2, confidence 1, …" in the criteria's order."""
    return ", ".join(f"{criterion.label} {weights[criterion.key]:g}"
                     for criterion in formulas.CRITERIA if criterion.key in weights)


def _ranking(model: ScoringModel | None) -> list:
    """The live portfolio, best first under ``model``, as rows of the standings' columns
    and the title: one query."""
    return list(ranked_initiatives(Initiative.objects.exclude(stage=Stage.RETIRED), model=model)
                .values_list(*RANKED_COLUMNS, "title", named=True))


NOTHING = Figures(capacity=None, committed=Decimal(0), funded=Decimal(0),
                  utilisation_percent=None, over_commitment=Decimal(0))


def _figures(line: capacity.TeamLine | None) -> Figures:
    """A team's figures on one side; not on that side's line: no plan, nothing funded."""
    if line is None:
        return NOTHING
    return Figures(capacity=line.capacity, committed=line.committed_effort,
                   funded=line.funded_effort, utilisation_percent=line.utilisation_percent,
                   over_commitment=line.over_commitment)


def _capacity_text(weeks: Decimal | None) -> str:
    return "no plan" if weeks is None else f"{weeks_text(weeks)} engineer-weeks"


def _differences(live: Figures, scenario: Figures) -> list[str]:
    """What changes for one team, in words and numbers."""
    words = []
    if live.capacity != scenario.capacity:
        if live.capacity is not None and scenario.capacity is not None:
            words.append(f"capacity {weeks_text(live.capacity)} → "
                         f"{_capacity_text(scenario.capacity)} "
                         f"({_signed(scenario.capacity - live.capacity)})")
        else:
            words.append(f"capacity {_capacity_text(live.capacity)} → "
                         f"{_capacity_text(scenario.capacity)}")
    for label, before, after in (("committed", live.committed, scenario.committed),
                                 ("funded", live.funded, scenario.funded)):
        if before != after:
            words.append(f"{label} {weeks_text(before)} → {weeks_text(after)} engineer-weeks "
                         f"({_signed(after - before)})")
    if live.utilisation_percent != scenario.utilisation_percent:
        before, after = live.utilisation_percent, scenario.utilisation_percent
        text = (f"utilisation {'—' if before is None else f'{before} %'} → "
                f"{'—' if after is None else f'{after} %'}")
        if before is not None and after is not None:
            points = after - before
            text += f" ({'+' if points > 0 else '−'}{abs(points)} points)"
        words.append(text)
    if live.over_commitment != scenario.over_commitment:
        words.append(f"over capacity by {weeks_text(live.over_commitment)} → "
                     f"{weeks_text(scenario.over_commitment)} engineer-weeks")
    return words


def _where(entry: capacity.LineEntry | None) -> str:
    if entry is None:
        return "draws no capacity"
    return f"{entry.label}: {entry.reason}" if entry.reason else entry.label


def _moved(entry: capacity.LineEntry, other: capacity.LineEntry | None, team: Team, *,
           entering: bool) -> Moved:
    row = entry.initiative
    live, scenario = (other, entry) if entering else (entry, other)
    return Moved(pk=row.pk, title=row.title, team=team.name,
                 stage=row.stage, effort=row.effort_weeks,
                 live=_where(live), scenario=_where(scenario),
                 blockers=list(entry.blockers) if entering else [])


def entering_entries(*, live: capacity.FundingLine,
                     scenario: capacity.FundingLine) -> list[capacity.LineEntry]:
    """The scenario's funded entries that the live line does not fund: no query."""
    entering = []
    for team_line in scenario.teams:
        for entry in team_line.entries:
            other = live.entry_for(entry.initiative.pk)
            if entry.funded and not (other and other.funded):
                entering.append(entry)
    return entering


def compare_lines(*, live: capacity.FundingLine, scenario: capacity.FundingLine,
                  live_model: str, scenario_model: str) -> Comparison:
    """The difference between two funding lines of the same quarter: no query."""
    dropping = []
    teams_by_id = {line.team.pk: line.team for line in scenario.teams}
    entering = [_moved(entry, live.entry_for(entry.initiative.pk),
                       teams_by_id[entry.initiative.team_id], entering=True)
                for entry in entering_entries(live=live, scenario=scenario)]
    for team_line in live.teams:
        for entry in team_line.entries:
            other = scenario.entry_for(entry.initiative.pk)
            if entry.funded and not (other and other.funded):
                dropping.append(_moved(entry, other, team_line.team, entering=False))
    teams = {line.team.pk: line.team for line in [*live.teams, *scenario.teams]}
    changes = []
    for team in sorted(teams.values(), key=lambda t: (t.name, t.pk)):
        before, after = _figures(live.team(team.pk)), _figures(scenario.team(team.pk))
        changes.append(TeamChange(team=team.name, team_slug=team.slug, live=before,
                                  scenario=after, changes=_differences(before, after)))
    return Comparison(quarter=live.label, live_model=live_model, scenario_model=scenario_model,
                      entering=entering, dropping=dropping, teams=changes)


def _cache_key(scenario: Scenario, *, now: datetime) -> str:
    """Everything the comparison is computed from: the scenario's own rows (as loaded; its
    random key, not its id, so a database restored or recreated under the same cache never
    meets an old entry), the
    standings snapshot and the changes pending since (within one snapshot the pending
    changes only grow: the refresh deletes them and moves ``taken_at`` in one transaction),
    and the day (quarters turn, waivers expire). Two queries."""
    taken_at = (PortfolioSnapshot.objects.filter(pk=SNAPSHOT_ID)
                .values_list("taken_at", flat=True).first())
    pending = StandingsInvalidation.objects.count()
    parts = [
        str(scenario.key), scenario.updated_at.isoformat(), scenario.year, scenario.quarter,
        scenario.model_id, sorted((scenario.weights or {}).items()),
        sorted((c.team_id, str(c.engineer_weeks)) for c in scenario.capacities.all()),
        sorted((p.initiative_id, p.direction) for p in scenario.pins.all()),
        taken_at.isoformat() if taken_at else "never", pending,
        timezone.localdate(now).isoformat(),
    ]
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return f"scoring:scenario:v{CACHE_VERSION}:{scenario.key}:{digest}"


def scenario_comparison(*, scenario: Scenario, now: datetime) -> Comparison | None:
    """The scenario beside the live plan for its quarter; None once the quarter has passed.

    ``scenario`` comes from ``scenario_for`` (capacities and pins loaded). Both sides are
    the same walk (``capacity.funding_lines``) over the live portfolio: live as it is, the
    scenario with its ranking, capacities and pins. Nothing is written (but the cache).

    Queries: the cache key (2); on a miss the active model (1), the ranking (1, or 2 when
    the scenario ranks by another model), per side the plans and the teams (2), and the
    gate's for what enters (3) — whatever the size of the portfolio.
    """
    quarters = capacity.plan_quarters(now)
    target = (scenario.year, scenario.quarter)
    if target not in quarters:
        return None
    key = _cache_key(scenario, now=now)
    found = cache.get(key)
    if found is not None:
        return found
    ahead = quarters.index(target)
    active = active_scoring_model()
    model = scenario_scoring_model(scenario, active)
    live_ranking = _ranking(active)
    same_model = (model is active or (model is not None and active is not None
                                      and model.pk == active.pk and not model._state.adding))
    scenario_ranking = live_ranking if same_model else _ranking(model)
    # The gate is asked only for what enters (the page shows what blocks it): asking it of
    # every funded initiative on both sides would be most of the work on a large portfolio.
    live = capacity.funding_lines(ranked=live_ranking, now=now, ahead=ahead, gate=False)[ahead]
    pins = scenario.pins.all()
    what_if = capacity.funding_lines(
        ranked=scenario_ranking, now=now, ahead=ahead, gate=False,
        capacity_changes={c.team_id: c.engineer_weeks for c in scenario.capacities.all()},
        change_quarter=target,
        pinned_in=[p.initiative_id for p in pins if p.direction == ScenarioPin.Direction.IN],
        pinned_out=[p.initiative_id for p in pins if p.direction == ScenarioPin.Direction.OUT],
    )[ahead]
    capacity.mark_blocked(entering_entries(live=live, scenario=what_if), now=now)
    comparison = compare_lines(
        live=live, scenario=what_if, live_model=model_label(active),
        scenario_model=model_label(model, reweighted=bool(scenario.weights)
                                   and model is not None and model._state.adding))
    cache.set(key, comparison, CACHE_SECONDS)
    return comparison
