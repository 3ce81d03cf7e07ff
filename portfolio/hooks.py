"""Rules other apps add to portfolio's write paths, without portfolio importing them.

Governance registers, from its ``AppConfig.ready``:

- a **stage gate**: ``gate(initiative=..., to_stage=..., now=...)`` returns what blocks
  the initiative from entering ``to_stage`` (one plain phrase each, empty when
  nothing does). ``initiative_move_stage`` asks every gate before a forward move or a
  resume, so the browser, the API, the admin and imports share one gate.
- a **profile listener**: ``listener(initiatives=[...], actor=..., now=...)`` runs in the
  same transaction after initiatives are created or their AI profile changes (the
  checkpoints that apply follow the profile).
- a **list annotation**: ``annotate(queryset, now=...)`` returns the initiatives queryset
  with more SQL annotations (``out_of_compliance``), adding no query; the initiative
  list and the initiative page apply every one (``annotate_for_lists``).

Scoring registers a **change listener**: ``listener(what=...)`` runs inside the
transaction of every write that changes something the portfolio's stored standings are
computed from (``services.portfolio_changed``), so it can mark them stale there and then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

# The fields of the AI profile: a change to any of them re-evaluates governance.
PROFILE_FIELDS = ("risk_tier", "uses_personal_data", "customer_facing", "autonomy_level")

StageGate = Callable[..., list[str]]
ProfileListener = Callable[..., None]
StageListener = Callable[..., None]
_gates: list[StageGate] = []
_listeners: list[ProfileListener] = []
_stage_listeners: list[StageListener] = []
ListAnnotation = Callable[..., object]
_list_annotations: list[ListAnnotation] = []
ChangeListener = Callable[..., None]
_change_listeners: list[ChangeListener] = []


def register_change_listener(listener: ChangeListener) -> ChangeListener:
    if listener not in _change_listeners:
        _change_listeners.append(listener)
    return listener


def changed(*, what: str) -> None:
    for listener in _change_listeners:
        listener(what=what)


def register_stage_gate(gate: StageGate) -> StageGate:
    if gate not in _gates:
        _gates.append(gate)
    return gate


def register_profile_listener(listener: ProfileListener) -> ProfileListener:
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def register_list_annotation(annotate: ListAnnotation) -> ListAnnotation:
    if annotate not in _list_annotations:
        _list_annotations.append(annotate)
    return annotate


def annotate_for_lists(queryset, *, now):
    """The queryset with every registered annotation applied (SQL only, no query)."""
    for annotate in _list_annotations:
        queryset = annotate(queryset, now=now)
    return queryset


def register_stage_listener(listener: StageListener) -> StageListener:
    """``listener(initiative=..., from_stage=..., actor=..., now=...)`` runs after each move."""
    if listener not in _stage_listeners:
        _stage_listeners.append(listener)
    return listener


def stage_moved(*, initiative, from_stage: str, actor, now) -> None:
    for listener in _stage_listeners:
        listener(initiative=initiative, from_stage=from_stage, actor=actor, now=now)


def stage_gate_blockers(*, initiative, to_stage: str, now) -> list[str]:
    return [blocker for gate in _gates
            for blocker in gate(initiative=initiative, to_stage=to_stage, now=now)]


def profile_changed(*, initiatives: Iterable, actor, now) -> None:
    initiatives = list(initiatives)
    for listener in _listeners:
        listener(initiatives=initiatives, actor=actor, now=now)


# --- The demo portfolio -------------------------------------------------------------------------
# ``seed_demo`` builds its history through the services, so the gates hold for it too.
# Other apps add their part of the story: ``before_load()`` runs first (reference data a
# flushed test database lacks); ``before_move(initiative=, to_stage=, at=, users=)``
# runs before each stage move (governance decides the checkpoints the move needs, at
# realistic times before it); ``after_load(loader=)`` runs once the portfolio is built.
_demo_before_load: list[Callable[..., None]] = []
_demo_before_move: list[Callable[..., None]] = []
_demo_after_load: list[Callable[..., None]] = []


def register_demo_steps(*, before_load: Callable[..., None] | None = None,
                        before_move: Callable[..., None] | None = None,
                        after_load: Callable[..., None] | None = None) -> None:
    for registry, step in ((_demo_before_load, before_load), (_demo_before_move, before_move),
                           (_demo_after_load, after_load)):
        if step is not None and step not in registry:
            registry.append(step)


def demo_before_load(**kwargs) -> None:
    for step in _demo_before_load:
        step(**kwargs)


def demo_before_move(**kwargs) -> None:
    for step in _demo_before_move:
        step(**kwargs)


def demo_after_load(**kwargs) -> None:
    for step in _demo_after_load:
        step(**kwargs)
