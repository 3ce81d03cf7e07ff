"""Who may read an initiative and what they may do with it (docs/architecture.md, "Access
and roles").

Pages, endpoints and the admin ask here, never decide themselves: ``initiative_for`` loads
an initiative with the caller's ``InitiativeRights``; outsiders get the answer a missing
page gets (404), a reader who lacks the right a request needs gets 403 saying who has it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from portfolio.models import Initiative, Stakeholder
from portfolio.roles import (
    ADMIN_DECIDES_STALLS,
    ADMIN_READS,
    ADMIN_RUNS_DIGESTS,
    ADMIN_STEWARDS,
    Role,
    acts_as_admin,
    can_read_portfolio,
    roles_of,
)

NOT_YOURS = ("Only the initiative's owner or a PM Responsible for it can change it; "
             "you can read it.")
NOT_STEWARD = "Only a TPM or an admin can reassign an initiative's owner."
NOT_A_COORDINATOR = ("Only the initiative's owner, a PM Responsible for it, a TPM or an admin "
                     "can change its people and dependencies.")
NOT_STALL_DECIDER = ("Only the initiative's owner, a TPM or an admin can decide what happens "
                     "to a stalled pilot.")
NOT_OVERRIDER = ("Only the initiative's sponsor or leadership can let it past its exit "
                 "contract.")


def require_reader(user) -> None:
    """Outsiders get the same answer as for a page that does not exist."""
    if not can_read_portfolio(user):
        raise Http404


@dataclass(frozen=True)
class InitiativeRights:
    """What one user may do with one initiative. Every right but the admin's implies
    ``read``: an outsider may do nothing, whatever else they hold."""

    read: bool          # see it, its people, history and updates: any role, or an admin
    edit: bool          # change its fields, post updates, move its stage: its owner or a
    #                     PM Responsible for it (a PM role is needed; nobody else edits)
    coordinate: bool    # change its people and dependencies: its editors, TPMs, admins
    steward: bool       # reassign its owner: TPMs and admins (``can_steward_ownership``)
    decide_stall: bool  # decide what happens to it when its pilot stalls: its owner, TPMs,
    #                     admins who may change stall flags
    override_contract: bool  # let it into production past a missed target or a short
    #                          pilot, with a reason: its sponsor, leadership
    admin_view: bool    # open it in the Django admin: staff who may view or change initiatives
    admin_change: bool  # change it there (through the services): staff who may change them

    def require(self, need: str) -> None:
        """404 unless they read it; 403, saying who may, unless they may ``need`` (a key
        of ``NEEDS``)."""
        if need not in NEEDS:
            raise ValueError(f"Unknown need {need!r}: one of {', '.join(NEEDS)}")
        if not self.read:
            raise Http404
        if need != "read" and not getattr(self, need):
            raise PermissionDenied(NEEDS[need])


# What a request may need (``initiative_for(need=...)``), and the refusal that names who may.
NEEDS = {"read": "", "edit": NOT_YOURS, "coordinate": NOT_A_COORDINATOR,
         "steward": NOT_STEWARD, "decide_stall": NOT_STALL_DECIDER,
         "override_contract": NOT_OVERRIDER}


def is_responsible(user, initiative: Initiative) -> bool:
    return Stakeholder.objects.filter(initiative=initiative, user=user,
                                      role=Stakeholder.Role.RESPONSIBLE).exists()


def responsible_in_sql(user, *, initiative: str = "pk") -> Exists:
    """``is_responsible`` as an annotation, so the query that loads initiatives says it too:
    ``queryset.annotate(viewer_is_responsible=responsible_in_sql(user))``, then pass
    ``responsible=row.viewer_is_responsible`` to ``initiative_rights``. ``initiative``
    names the initiative's id in the outer query (``"initiative_id"`` from a flag)."""
    return Exists(Stakeholder.objects.filter(initiative=OuterRef(initiative), user=user.pk,
                                             role=Stakeholder.Role.RESPONSIBLE))


def initiative_rights(user, initiative: Initiative | None = None, *,
                      responsible: bool | None = None) -> InitiativeRights:
    """What ``user`` may do with ``initiative``: the one definition of every right.

    ``responsible`` says whether they are Responsible for it, when the caller knows (a page
    that loaded the RACI, ``initiative_for``); otherwise one query asks, and only for a PM
    who does not own it. Without an initiative: what they may do with any initiative they
    neither own nor are Responsible for (the admin's permissions are model-wide).
    Queries: none but that one; the roles and permissions are cached on the user.
    """
    read = can_read_portfolio(user)
    roles = roles_of(user)
    owner = read and initiative is not None and initiative.owner_id == user.pk
    edit = False
    if read and initiative is not None and Role.PM in roles:
        if not owner and responsible is None:
            responsible = is_responsible(user, initiative)
        edit = owner or bool(responsible)
    steward = read and can_steward_ownership(user)
    admin_change = acts_as_admin(user, ADMIN_STEWARDS)
    return InitiativeRights(
        read=read, edit=edit, coordinate=edit or steward, steward=steward,
        decide_stall=read and (owner or Role.TPM in roles
                               or acts_as_admin(user, ADMIN_DECIDES_STALLS)),
        override_contract=read and (Role.LEADERSHIP in roles or (
            initiative is not None and initiative.sponsor_id == user.pk)),
        admin_view=admin_change or acts_as_admin(user, ADMIN_READS),
        admin_change=admin_change,
    )


def initiative_for(user, pk, *, need: str = "read",
                   queryset: QuerySet[Initiative] | None = None,
                   ) -> tuple[Initiative, InitiativeRights]:
    """The initiative ``pk`` (from ``queryset``, default all) and what ``user`` may do with
    it: 404 for outsiders and misses, 403 when they may not ``need`` (a key of ``NEEDS``).

    One query: whether the user is Responsible for it is read in the same statement.
    """
    require_reader(user)
    queryset = Initiative.objects.all() if queryset is None else queryset
    initiative = get_object_or_404(
        queryset.annotate(viewer_is_responsible=responsible_in_sql(user)), pk=pk)
    rights = initiative_rights(user, initiative, responsible=initiative.viewer_is_responsible)
    rights.require(need)
    return initiative, rights


def can_steward_ownership(user) -> bool:
    """TPMs and admins repair ownership gaps: they alone reassign owners, whatever
    the path (ownership page, edit form, API, admin). The services ask it of the actor;
    pages ask ``InitiativeRights.steward``, which also needs ``read``."""
    return user.is_authenticated and user.is_active and (
        Role.TPM in roles_of(user) or acts_as_admin(user, ADMIN_STEWARDS))


NOT_AN_OWNER = ("{name} cannot own an initiative: an owner is an active product manager "
                "(someone in the PM group), so that they can keep it current.")


def eligible_owners():
    """Who may be an initiative's accountable owner: active PMs.

    The one definition of the rule: pickers list this queryset and services check a
    candidate against it, so the two never disagree.
    """
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(is_active=True, groups__name=Role.PM)


def can_own(user) -> bool:
    return user is not None and eligible_owners().filter(pk=user.pk).exists()


NOT_A_PM = "Only product managers log initiatives, by hand or from a CSV file."


def can_log_initiatives(user) -> bool:
    """PMs log initiatives (intake and CSV import); they own each one that names no other owner."""
    return user.is_authenticated and user.is_active and Role.PM in roles_of(user)


def require_pm(user) -> None:
    require_reader(user)
    if not can_log_initiatives(user):
        raise PermissionDenied(NOT_A_PM)


def can_decide_stall(user, initiative: Initiative) -> bool:
    """``InitiativeRights.decide_stall``, for a stall list that holds the flag's initiative.

    Deciding a stall does not depend on the RACI, so no query asks whether they are
    Responsible (``responsible=False``); read only ``decide_stall`` from these rights.
    """
    return initiative_rights(user, initiative, responsible=False).decide_stall


def require_stall_decider(user, initiative: Initiative) -> None:
    initiative_rights(user, initiative, responsible=False).require("decide_stall")


def can_follow_teams(user) -> bool:
    """TPMs (and admins) receive the weekly digest and choose the teams it covers."""
    return user.is_authenticated and user.is_active and (
        Role.TPM in roles_of(user) or can_run_digests(user))


def can_run_digests(user) -> bool:
    """Admins set up and preview any TPM's digest."""
    return acts_as_admin(user, ADMIN_RUNS_DIGESTS)


NOT_A_DIGEST_READER = "The weekly digest goes to TPMs; only a TPM or an admin has one to set up."


def require_digest_reader(user) -> None:
    require_reader(user)
    if not can_follow_teams(user):
        raise PermissionDenied(NOT_A_DIGEST_READER)
