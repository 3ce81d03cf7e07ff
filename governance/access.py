"""Who may read a checkpoint and who may decide it (docs/architecture.md, "Access and
roles").

The review pages and the API ask here. The rule itself, segregation of duties, is
``services.decide_refusal``, which every decision service enforces; the rights read it,
so the pages, the API and the services give one answer in the same words.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import Http404

from governance import selectors, services
from governance.models import Checkpoint
from portfolio.access import initiative_rights
from portfolio.roles import can_read_portfolio


@dataclass(frozen=True)
class CheckpointRights:
    """What one user may do with one checkpoint: who, not when. A checkpoint that no longer
    applies, or one already decided, is refused by the services (409), not here (403)."""

    read: bool              # every role reads it; outsiders get 404
    reviewer: bool          # an active governance reviewer: the queue offers them its actions
    review: bool            # take it into review  } an independent reviewer: a reviewer who
    decide: bool            # approve or reject it } neither owns nor sponsors the initiative
    waive: bool             # waive it             }
    refusal: str | None     # why they may not review, decide or waive it; None when they may

    @property
    def own(self) -> bool:
        """A reviewer the segregation of duties keeps off this checkpoint (they own or
        sponsor the initiative, or hold a role on it that ``SEGREGATED_ROLES`` names):
        someone else must review it; ``refusal`` says why."""
        return self.refusal not in (None, services.NOT_A_REVIEWER)

    def require(self, need: str) -> None:
        """404 unless they read it; 403 with the refusal unless they may ``need`` (a key of
        ``NEEDS``)."""
        if need not in NEEDS:
            raise ValueError(f"Unknown need {need!r}: one of {', '.join(NEEDS)}")
        if not self.read:
            raise Http404
        if need != "read" and not getattr(self, need):
            raise PermissionDenied(self.refusal)


NEEDS = ("read", "review", "decide", "waive")


def checkpoint_rights(user, checkpoint: Checkpoint, *,
                      stakes: set[str] | None = None) -> CheckpointRights:
    """What ``user`` may do with ``checkpoint``. The checkpoint carries its initiative's
    owner and sponsor (``selectors.checkpoint_get_for_user`` loads them); the user's
    segregated roles on the initiative are one query, none when ``stakes`` gives them (a
    list loads them for all its rows at once: ``services.segregated_stakes``)."""
    read = can_read_portfolio(user)
    refusal = services.decide_refusal(user, checkpoint, stakes=stakes)
    independent = read and refusal is None
    return CheckpointRights(read=read, reviewer=read and refusal != services.NOT_A_REVIEWER,
                            review=independent, decide=independent, waive=independent,
                            refusal=refusal)


def may_ask_re_review(user, checkpoint: Checkpoint) -> bool:
    """Whether ``user`` may answer a rejection and ask for another review: the initiative's
    owner or a Responsible PM (``portfolio.access.initiative_rights``: its edit right; one
    query for a PM who does not own it). Who, not when: a checkpoint that is not rejected is
    refused by the service (409)."""
    return initiative_rights(user, checkpoint.initiative).edit


def require_re_review(user, checkpoint: Checkpoint) -> None:
    """403 with the service's refusal unless ``user`` may ask for another review."""
    if not may_ask_re_review(user, checkpoint):
        raise PermissionDenied(services.RE_REVIEW_NOT_YOURS)


def checkpoint_for(user, pk, *, need: str = "read") -> tuple[Checkpoint, CheckpointRights]:
    """The checkpoint ``pk`` with its initiative and type, and what ``user`` may do with it:
    404 for outsiders and misses, 403 when they may not ``need``."""
    checkpoint = selectors.checkpoint_get_for_user(user=user, pk=pk)
    rights = checkpoint_rights(user, checkpoint)
    rights.require(need)
    return checkpoint, rights
