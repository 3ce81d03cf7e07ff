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
        """A reviewer who owns or sponsors the initiative: someone else must review it."""
        return self.refusal == services.OWN_INITIATIVE

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


def checkpoint_rights(user, checkpoint: Checkpoint) -> CheckpointRights:
    """What ``user`` may do with ``checkpoint``. No query: the checkpoint carries its
    initiative's owner and sponsor (``selectors.checkpoint_get_for_user`` loads them)."""
    read = can_read_portfolio(user)
    refusal = services.decide_refusal(user, checkpoint)
    independent = read and refusal is None
    return CheckpointRights(read=read, reviewer=read and refusal != services.NOT_A_REVIEWER,
                            review=independent, decide=independent, waive=independent,
                            refusal=refusal)


def checkpoint_for(user, pk, *, need: str = "read") -> tuple[Checkpoint, CheckpointRights]:
    """The checkpoint ``pk`` with its initiative and type, and what ``user`` may do with it:
    404 for outsiders and misses, 403 when they may not ``need``."""
    checkpoint = selectors.checkpoint_get_for_user(user=user, pk=pk)
    rights = checkpoint_rights(user, checkpoint)
    rights.require(need)
    return checkpoint, rights
