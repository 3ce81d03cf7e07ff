"""Scoring writes: create, revise (a new version) and activate scoring models; record
who crossed the funding line.

A version is never edited: new weights make the next version of the same name, so a
past ranking stays explainable. Exactly one version is active; activation swaps it in
one transaction (the partial unique constraint ``scoring_model_one_active`` holds it).

``funding_line_record`` is the daily funding-line job: it stores where
each initiative stands against this quarter's line and turns each change into a
"crossed the funding line" activity, which the weekly digest reports.
"""

from __future__ import annotations

from datetime import datetime
from math import isfinite

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from portfolio.exceptions import DomainError
from portfolio.models import Activity
from portfolio.services import activity_record, portfolio_changed
from scoring import capacity, formulas
from scoring.models import FundingStatus, ScoringMethod, ScoringModel

WEIGHTS_NOT_A_MAPPING = "Weights must map each criterion to a number."
WEIGHTS_UNKNOWN = "Unknown criteria: {unknown}. Known: {known}."
WEIGHTS_NOT_NUMBER = "The weight of {criterion} must be a number."
WEIGHTS_NEGATIVE = "The weight of {criterion} must not be negative."
WEIGHTS_ALL_ZERO = "At least one weight must be positive."
WEIGHTS_NOT_USED = "{method} takes no weights; only weighted criteria do."
WEIGHTS_UNCHANGED = "The weights are unchanged: there is nothing to make a new version of."
NAME_TAKEN = "A scoring model named {name} exists; revise it to make a new version."
METHOD_UNKNOWN = "Unknown scoring method {method}."


def validate_weights(*, method: str, weights) -> dict:
    """The weights as ``{criterion: float}``, or ``DomainError(field="weights")``."""
    if method not in ScoringMethod.values:
        raise DomainError(METHOD_UNKNOWN.format(method=method), field="method")
    if method != ScoringMethod.WEIGHTED:
        if weights:
            raise DomainError(WEIGHTS_NOT_USED.format(method=ScoringMethod(method).label),
                              field="weights")
        return {}
    if not isinstance(weights, dict):
        raise DomainError(WEIGHTS_NOT_A_MAPPING, field="weights")
    unknown = sorted(set(weights) - set(formulas.CRITERION_KEYS))
    if unknown:
        raise DomainError(WEIGHTS_UNKNOWN.format(unknown=", ".join(map(str, unknown)),
                                                 known=", ".join(formulas.CRITERION_KEYS)),
                          field="weights")
    cleaned = {}
    for criterion in formulas.CRITERION_KEYS:
        if criterion not in weights:
            continue
        value = weights[criterion]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DomainError(WEIGHTS_NOT_NUMBER.format(criterion=criterion), field="weights")
        if not isfinite(value):
            raise DomainError(WEIGHTS_NOT_NUMBER.format(criterion=criterion), field="weights")
        if value < 0:
            raise DomainError(WEIGHTS_NEGATIVE.format(criterion=criterion), field="weights")
        cleaned[criterion] = float(value)
    if not any(value > 0 for value in cleaned.values()):
        raise DomainError(WEIGHTS_ALL_ZERO, field="weights")
    return cleaned


def _save(model: ScoringModel, *, actor, now: datetime | None) -> None:
    # simple-history records who made the change, and when (the service's `now`).
    model._history_user = actor
    if now is not None:
        model._history_date = now
    model.full_clean(validate_constraints=False)
    model.save()
    portfolio_changed(what="scoring_model")


def _lock_all() -> None:
    # The table holds a few dozen versions: locking every row serialises activations and
    # revisions, so the "who is active" read below sees the last committed swap.
    list(ScoringModel.objects.select_for_update().order_by("pk").values_list("pk", flat=True))


def _deactivate_others(*, keep: ScoringModel | None, actor, now: datetime) -> None:
    others = ScoringModel.objects.filter(is_active=True)
    if keep is not None and keep.pk:
        others = others.exclude(pk=keep.pk)
    for other in others:
        other.is_active = False
        _save(other, actor=actor, now=now)


@transaction.atomic
def scoring_model_create(*, name: str, method: str, actor, now: datetime, weights=None,
                         description: str = "", activate: bool = False) -> ScoringModel:
    """Version 1 of a new model; ``activate`` makes it the one active model."""
    cleaned = validate_weights(method=method, weights=weights or {})
    _lock_all()
    if ScoringModel.objects.filter(name=name).exists():
        raise DomainError(NAME_TAKEN.format(name=name), field="name")
    if activate:
        _deactivate_others(keep=None, actor=actor, now=now)
    model = ScoringModel(name=name, version=1, method=method, weights=cleaned,
                         description=description, is_active=activate, created_at=now,
                         created_by=actor)
    _save(model, actor=actor, now=now)
    return model


@transaction.atomic
def scoring_model_revise(*, model: ScoringModel, weights, actor, now: datetime,
                         description: str = "") -> ScoringModel:
    """The next version of ``model``'s name with new weights; ``model`` is not changed.

    The new version is numbered after the latest of the name (revising an old version
    is allowed). If ``model`` was the active one, the new version takes over: the ranking
    follows the edit, and the old version stays as it was for past rankings.
    """
    _lock_all()
    model = ScoringModel.objects.get(pk=model.pk)
    cleaned = validate_weights(method=model.method, weights=weights)
    if cleaned == {key: float(value) for key, value in (model.weights or {}).items()}:
        raise DomainError(WEIGHTS_UNCHANGED, field="weights")
    latest = ScoringModel.objects.filter(name=model.name).aggregate(v=Max("version"))["v"]
    takes_over = model.is_active
    if takes_over:
        _deactivate_others(keep=None, actor=actor, now=now)
    revised = ScoringModel(name=model.name, version=latest + 1, method=model.method,
                           weights=cleaned, description=description or model.description,
                           is_active=takes_over, created_at=now, created_by=actor)
    _save(revised, actor=actor, now=now)
    return revised


@transaction.atomic
def scoring_model_activate(*, model: ScoringModel, actor, now: datetime) -> ScoringModel:
    """Make ``model`` the one active version; every other version is deactivated."""
    _lock_all()
    model = ScoringModel.objects.get(pk=model.pk)
    if model.is_active:
        return model
    _deactivate_others(keep=model, actor=actor, now=now)
    model.is_active = True
    _save(model, actor=actor, now=now)
    return model


# --- The daily funding-line job -----------------------------------------------------------------

def funding_line_record(*, now: datetime) -> int:
    """Record where every capacity-drawing initiative stands against this quarter's line.

    The first record of an initiative in the quarter is its baseline and reports nothing.
    A change since the last record (funded -> below the line, or back) is a crossing: one
    ``FUNDING_CHANGED`` activity with ``details = {"quarter": "2026-Q4", "funded": bool,
    "team": team name, "reason": why it is below the line ("" when funded)}``. A new
    quarter starts from new baselines.

    Safe to run twice at once: baselines are inserted under the unique constraint
    (``ignore_conflicts``), and each crossing is claimed with a conditional UPDATE; only
    the run whose UPDATE changed the row writes the activity. Queries: the line (the
    active model, the ranking, the plans, the teams, the gate's three: 7), the
    quarter's stored statuses (1), the baselines (1 per 1,000 new) and, per crossing, its
    claim and its activity. Returns how many crossings were recorded.
    """
    year, quarter = capacity.quarter_of(timezone.localdate(now))
    line = capacity.funding_line_for_quarter(year=year, quarter=quarter, now=now)
    stored = {initiative_id: (pk, funded) for pk, initiative_id, funded in
              FundingStatus.objects.filter(year=year, quarter=quarter)
              .values_list("pk", "initiative_id", "funded")}
    baselines, crossings = [], []
    for team_line in line.teams:
        for entry in team_line.entries:
            seen = stored.get(entry.initiative.pk)
            if seen is None:
                baselines.append(FundingStatus(initiative=entry.initiative, year=year,
                                               quarter=quarter, funded=entry.funded,
                                               recorded_at=now))
            elif seen[1] != entry.funded:
                crossings.append((seen[0], team_line.team, entry))
    FundingStatus.objects.bulk_create(baselines, batch_size=1000, ignore_conflicts=True)
    recorded = 0
    for pk, team, entry in crossings:
        recorded += _crossing_record(pk=pk, team=team, entry=entry, label=line.label, now=now)
    return recorded


def _reason(entry: capacity.LineEntry) -> str:
    """Why it is below the line, in words ("" when funded); an unsized one says so."""
    if entry.funded:
        return ""
    return entry.reason or entry.label


@transaction.atomic
def _crossing_record(*, pk: int, team, entry: capacity.LineEntry, label: str,
                     now: datetime) -> int:
    """Claim one crossing (1) and report it, or leave it to the run that claimed it (0)."""
    claimed = (FundingStatus.objects.filter(pk=pk, funded=not entry.funded)
               .update(funded=entry.funded, recorded_at=now))
    if claimed != 1:
        return 0
    activity_record(initiative=entry.initiative, kind=Activity.Kind.FUNDING_CHANGED, actor=None,
                    now=now, details={"quarter": label, "funded": entry.funded,
                                      "team": team.name, "reason": _reason(entry)})
    return 1
