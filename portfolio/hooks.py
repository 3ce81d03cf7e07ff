"""The one way other apps extend portfolio (docs/architecture.md, "Extension points").

Portfolio imports neither governance nor scoring. They extend it from their
``AppConfig.ready`` by registering, under a key, an entry in one of the extension points
below; portfolio's own code calls the functions at the end of this module. Every point is
an ``ExtensionPoint``: typed, ordered by registration, and refusing a second entry under
a key it already holds (``DuplicateRegistration``), so two apps cannot silently replace
each other's rule.

The points, what an entry is, and who calls it:

- ``STAGE_GATES``: ``gate(initiative=, to_stage=, now=) -> [str]``, what blocks the move
  (one plain phrase each); asked before every forward move or resume.
- ``PROFILE_LISTENERS``: ``listener(initiatives=[...], actor=, now=)``; runs in the same
  transaction after initiatives are created or their AI profile changes.
- ``STAGE_LISTENERS``: ``listener(initiative=, from_stage=, actor=, now=)``; after each move.
- ``LIST_ANNOTATIONS``: ``annotate(queryset, now=) -> queryset`` (SQL only, no query); the
  initiative list and page apply every one.
- ``CHANGE_LISTENERS``: ``listener(what=, initiatives=, teams=, owners=)``; inside every
  write to an input of the stored standings, with the ids of what the write can have moved
  (none named: anything).
- ``DETAIL_PANELS``: ``provider(initiative=, user=) -> Panel | None``; the initiative page.
- ``API_DETAIL_FIELDS``: ``factory() -> serializers.Field`` (read-only, ``source="*"``),
  keyed by the field's name; the API's initiative detail.
- ``ACTIVITY_KINDS``: an ``ActivityKind`` keyed by the kind: how its activities read on the
  timeline and in the digest's "what changed". Every kind has exactly one.
- ``PAGES``: a ``Page``: the navigation, and where each role lands after signing in.
- ``ADMIN_SECTIONS``: an ``AdminSection``: columns, filters and a read-only section the
  initiative's Django admin shows (its queryset carries ``LIST_ANNOTATIONS``).
- ``DEMO_STEPS``: a ``DemoSteps``: the app's part of ``manage.py seed_demo``.
- ``CAPACITY_WARNINGS``: ``warn(initiative, now=) -> str | None``, what the PM should know
  about the team's capacity after intake or a move (plain words with the numbers); the
  intake and move pages show each as a warning, the API's create and move return them.
- ``INBOX_SOURCES``: an ``InboxSource``: a kind of work waiting on a person, for their
  "Waiting on me" page and the navigation's count.

An ``ActivityKind`` with a ``notify`` (a ``Notify``) is a kind people are told about: the
app that records it says who hears of it and renders it; portfolio's outbox
(``portfolio.notifications``) delivers it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q

# The fields of the AI profile: a change to any of them re-evaluates governance.
PROFILE_FIELDS = ("risk_tier", "uses_personal_data", "customer_facing", "autonomy_level")

Entry = TypeVar("Entry")


class DuplicateRegistration(ImproperlyConfigured):
    """A second entry under a key an extension point already holds."""


class ExtensionPoint(Generic[Entry]):
    """Entries registered under unique keys, kept in the order they were registered."""

    def __init__(self, name: str):
        self.name = name
        self._entries: dict[str, Entry] = {}

    def register(self, key: str, entry: Entry) -> Entry:
        if key in self._entries:
            raise DuplicateRegistration(
                f"{self.name} already has an entry under {key!r}: "
                f"{self._entries[key]!r}; refusing {entry!r}.")
        self._entries[key] = entry
        return entry

    def unregister(self, key: str) -> None:
        """For tests that add an entry of their own."""
        self._entries.pop(key, None)

    def get(self, key: str) -> Entry | None:
        return self._entries.get(key)

    def items(self) -> list[tuple[str, Entry]]:
        return list(self._entries.items())

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._entries.values()))

    def __repr__(self) -> str:
        return f"<ExtensionPoint {self.name}: {', '.join(self._entries)}>"


# --- What an entry is ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Panel:
    """A panel on the initiative page."""

    title: str
    template: str                       # rendered with the panel's context
    context: dict = field(default_factory=dict)
    order: int = 100                    # lower comes first


@dataclass(frozen=True)
class Message:
    """A notification as its reader sees it: one line, a few lines of text, and the page
    (a path on this site) where they act on it."""

    subject: str
    text: str
    link: str


@dataclass(frozen=True)
class Notify:
    """Who hears of an activity of one kind, and in what words (docs/architecture.md,
    "Notifications"). ``recipients(batch)`` answers, for a batch of that kind's activities
    (``portfolio.notifications.audience.EventBatch``), each activity's user ids, in a fixed
    number of queries whatever the batch's size; ``render(activity)`` is its ``Message``
    (the activity comes with its initiative and actor). ``label`` names the kind on each
    person's preferences; ``default_mode`` is ``immediate``, ``daily`` or ``off``."""

    label: str
    recipients: Callable[..., dict[int, set[int]]]
    render: Callable[..., Message]
    default_mode: str = "immediate"


@dataclass(frozen=True)
class ActivityKind:
    """How an activity of one kind reads, told by the app that records it.

    ``describe(activity)`` is what the timeline shows after the kind's label ("" for
    nothing). An activity in the weekly digest's "what changed" names its ``digest_section``
    (``stage_moves``, ``new_blockers``, ``funding`` or ``over_capacity``); ``digest_when``
    narrows which of its activities count (SQL on ``Activity``); ``digest_text(activity)``
    is the digest's line. A kind people are told about has a ``notify``.
    """

    describe: Callable[..., str]
    digest_section: str = ""
    digest_when: Q = field(default_factory=Q)
    digest_text: Callable[..., str] | None = None
    notify: Notify | None = None


@dataclass(frozen=True)
class InboxItem:
    """One thing waiting on a person: what (``title``, e.g. "Review Security review"), on
    which initiative (``subject``), what it is about in a few words (``detail``), where they
    act on it (``link``), and since when it has waited (``since``, a datetime)."""

    kind: str
    title: str
    subject: str
    detail: str
    link: str
    since: object


@dataclass(frozen=True)
class InboxSource:
    """A kind of work that waits on people, told by the app that owns it. ``heading`` names
    the section of the inbox; ``items(user, now)`` lists what waits on ``user`` (oldest
    first, at most ``limit``), ``count(user, now)`` counts it (the navigation's number); each
    a fixed number of queries. ``more(user)``: the path of the full list, for a section
    that shows only its first items."""

    heading: str
    items: Callable[..., list[InboxItem]]
    count: Callable[..., int]
    order: int = 100
    more: Callable[..., str] | None = None


@dataclass(frozen=True)
class Page:
    """A page in the navigation. ``shown_to(user, roles)`` decides who sees it;
    ``home_of`` the roles that land on it after signing in (in ``HOME_PRECEDENCE``);
    ``order`` its place in the bar, where a reader's own home comes first."""

    label: str
    url_name: str
    order: int
    shown_to: Callable[..., bool]
    query: str = ""
    home_of: tuple[str, ...] = ()


@dataclass(frozen=True)
class AdminSection:
    """What another app adds to the initiative's Django admin. ``columns`` and ``fields`` are
    functions of the initiative (decorated with ``admin.display``) — columns in the list,
    fields read-only on the change page, in a section titled ``title`` after the
    ``after``-th of portfolio's sections; ``filters`` are list filters. Rows come through
    the list annotations, so a column may read an annotation (``out_of_compliance``)."""

    title: str
    description: str = ""
    columns: tuple[Callable[..., object], ...] = ()
    filters: tuple[object, ...] = ()
    fields: tuple[Callable[..., object], ...] = ()
    after: int = 3


@dataclass(frozen=True)
class DemoSteps:
    """An app's part of the demo portfolio. ``before_load()`` runs first (reference data a
    flushed test database lacks); ``before_move(initiative=, to_stage=, at=, users=)``
    runs before each stage move (governance decides the checkpoints the move needs, at
    realistic times before it); ``after_load(loader=)`` runs once the portfolio is built."""

    before_load: Callable[..., None] | None = None
    before_move: Callable[..., None] | None = None
    after_load: Callable[..., None] | None = None


STAGE_GATES: ExtensionPoint[Callable[..., list[str]]] = ExtensionPoint("stage gates")
PROFILE_LISTENERS: ExtensionPoint[Callable[..., None]] = ExtensionPoint("profile listeners")
STAGE_LISTENERS: ExtensionPoint[Callable[..., None]] = ExtensionPoint("stage listeners")
LIST_ANNOTATIONS: ExtensionPoint[Callable[..., object]] = ExtensionPoint("list annotations")
CHANGE_LISTENERS: ExtensionPoint[Callable[..., None]] = ExtensionPoint("change listeners")
DETAIL_PANELS: ExtensionPoint[Callable[..., Panel | None]] = ExtensionPoint("detail panels")
API_DETAIL_FIELDS: ExtensionPoint[Callable[[], object]] = ExtensionPoint("API detail fields")
ACTIVITY_KINDS: ExtensionPoint[ActivityKind] = ExtensionPoint("activity kinds")
PAGES: ExtensionPoint[Page] = ExtensionPoint("pages")
ADMIN_SECTIONS: ExtensionPoint[AdminSection] = ExtensionPoint("initiative admin sections")
DEMO_STEPS: ExtensionPoint[DemoSteps] = ExtensionPoint("demo steps")
CAPACITY_WARNINGS: ExtensionPoint[Callable[..., str | None]] = ExtensionPoint(
    "capacity warnings")
INBOX_SOURCES: ExtensionPoint[InboxSource] = ExtensionPoint("inbox sources")


# --- Portfolio calls these ----------------------------------------------------------------------

def stage_gate_blockers(*, initiative, to_stage: str, now) -> list[str]:
    return [blocker for gate in STAGE_GATES
            for blocker in gate(initiative=initiative, to_stage=to_stage, now=now)]


def profile_changed(*, initiatives: Iterable, actor, now) -> None:
    initiatives = list(initiatives)
    for listener in PROFILE_LISTENERS:
        listener(initiatives=initiatives, actor=actor, now=now)


def stage_moved(*, initiative, from_stage: str, actor, now) -> None:
    for listener in STAGE_LISTENERS:
        listener(initiative=initiative, from_stage=from_stage, actor=actor, now=now)


def capacity_warnings(initiative, now) -> list[str]:
    """Every registered warning about the team's capacity after ``initiative`` was logged
    or moved (none when it fits)."""
    return [warning for warn in CAPACITY_WARNINGS
            if (warning := warn(initiative, now=now))]


def annotate_for_lists(queryset, *, now):
    """The queryset with every registered annotation applied (SQL only, no query)."""
    for annotate in LIST_ANNOTATIONS:
        queryset = annotate(queryset, now=now)
    return queryset


def changed(*, what: str, initiatives: Iterable = (), teams: Iterable = (),
            owners: Iterable = ()) -> None:
    initiatives, teams, owners = list(initiatives), list(teams), list(owners)
    for listener in CHANGE_LISTENERS:
        listener(what=what, initiatives=initiatives, teams=teams, owners=owners)


def detail_panels(*, initiative, user) -> list[Panel]:
    panels = [provider(initiative=initiative, user=user) for provider in DETAIL_PANELS]
    return sorted((panel for panel in panels if panel is not None), key=lambda p: p.order)


def api_detail_fields() -> dict[str, object]:
    return {name: factory() for name, factory in API_DETAIL_FIELDS.items()}


def activity_kind(kind: str) -> ActivityKind | None:
    return ACTIVITY_KINDS.get(kind)


def notifying_kinds() -> dict[str, Notify]:
    """Every kind people are told about, and how."""
    return {kind: spec.notify for kind, spec in ACTIVITY_KINDS.items() if spec.notify}


def inbox_sources() -> list[InboxSource]:
    return sorted(INBOX_SOURCES, key=lambda source: source.order)


def digest_activity_q() -> Q:
    """SQL: the activities the weekly digest reports as "what changed"."""
    reported = Q(pk__in=[])
    for kind, spec in ACTIVITY_KINDS.items():
        if spec.digest_section:
            reported |= Q(kind=kind) & spec.digest_when
    return reported


def demo_before_load(**kwargs) -> None:
    for steps in DEMO_STEPS:
        if steps.before_load:
            steps.before_load(**kwargs)


def demo_before_move(**kwargs) -> None:
    for steps in DEMO_STEPS:
        if steps.before_move:
            steps.before_move(**kwargs)


def demo_after_load(**kwargs) -> None:
    for steps in DEMO_STEPS:
        if steps.after_load:
            steps.after_load(**kwargs)
