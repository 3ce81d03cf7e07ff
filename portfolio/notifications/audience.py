"""Who an event on an initiative concerns, read for a whole batch of events at once.

Each app's ``Notify.recipients`` gets an ``EventBatch``: the activities, and their
initiatives' owner, sponsor, team and Responsible people already loaded (two queries for
the batch), so answering "the owner and the Responsible PMs" costs nothing more.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from portfolio.models import Activity, Initiative, Stakeholder


@dataclass(frozen=True)
class InitiativeFacts:
    pk: int
    title: str
    owner_id: int | None
    sponsor_id: int | None
    team_id: int
    responsible: frozenset[int] = field(default_factory=frozenset)


@dataclass
class EventBatch:
    activities: list[Activity]
    initiatives: dict[int, InitiativeFacts]

    @classmethod
    def load(cls, activities: list[Activity]) -> EventBatch:
        ids = {activity.initiative_id for activity in activities}
        responsible = defaultdict(set)
        for initiative_id, user_id in (Stakeholder.objects
                                       .filter(initiative__in=ids,
                                               role=Stakeholder.Role.RESPONSIBLE)
                                       .values_list("initiative_id", "user_id")):
            responsible[initiative_id].add(user_id)
        initiatives = {
            pk: InitiativeFacts(pk=pk, title=title, owner_id=owner_id, sponsor_id=sponsor_id,
                                team_id=team_id, responsible=frozenset(responsible[pk]))
            for pk, title, owner_id, sponsor_id, team_id in Initiative.objects
            .filter(pk__in=ids).values_list("pk", "title", "owner_id", "sponsor_id", "team_id")}
        return cls(activities=activities, initiatives=initiatives)

    def of_kind(self, kind: str) -> EventBatch:
        return EventBatch(activities=[a for a in self.activities if a.kind == kind],
                          initiatives=self.initiatives)

    def initiative(self, activity: Activity) -> InitiativeFacts:
        return self.initiatives[activity.initiative_id]

    def owner_and_responsible(self, activity: Activity) -> set[int]:
        facts = self.initiative(activity)
        return {pk for pk in (facts.owner_id, *facts.responsible) if pk}

    def with_sponsor(self, activity: Activity) -> set[int]:
        facts = self.initiative(activity)
        return self.owner_and_responsible(activity) | ({facts.sponsor_id}
                                                       if facts.sponsor_id else set())


def owner_and_responsible(batch: EventBatch) -> dict[int, set[int]]:
    """The usual audience of an event on an initiative: its owner and Responsible people."""
    return {a.pk: batch.owner_and_responsible(a) for a in batch.activities}


def owner_responsible_and_sponsor(batch: EventBatch) -> dict[int, set[int]]:
    return {a.pk: batch.with_sponsor(a) for a in batch.activities}
