"""Who may read and who may change an initiative (docs/architecture.md, "Access and roles").

Pages and endpoints ask here, never decide themselves: outsiders get the
answer a missing page gets (404), read-only roles get 403 on writes.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from portfolio.models import Initiative, Stakeholder
from portfolio.roles import (
    ADMIN_DECIDES_STALLS,
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


def require_reader(user) -> None:
    """Outsiders get the same answer as for a page that does not exist."""
    if not can_read_portfolio(user):
        raise Http404


def is_responsible(user, initiative: Initiative) -> bool:
    return Stakeholder.objects.filter(initiative=initiative, user=user,
                                      role=Stakeholder.Role.RESPONSIBLE).exists()


def can_edit_initiative(user, initiative: Initiative, *, responsible: bool | None = None) -> bool:
    """A PM edits the initiatives they own or are Responsible for; every other role reads.

    ``responsible`` lets a page that already loaded the RACI skip the query.
    """
    if not user.is_authenticated or not user.is_active or Role.PM not in roles_of(user):
        return False
    if initiative.owner_id == user.pk:
        return True
    if responsible is None:
        responsible = is_responsible(user, initiative)
    return responsible


def require_editor(user, initiative: Initiative, *, responsible: bool | None = None) -> None:
    require_reader(user)
    if not can_edit_initiative(user, initiative, responsible=responsible):
        raise PermissionDenied(NOT_YOURS)


def can_steward_ownership(user) -> bool:
    """TPMs and admins repair ownership gaps: they alone reassign owners, whatever
    the path (ownership page, edit form, API, admin)."""
    return user.is_authenticated and user.is_active and (
        Role.TPM in roles_of(user) or acts_as_admin(user, ADMIN_STEWARDS))


def require_steward(user) -> None:
    require_reader(user)
    if not can_steward_ownership(user):
        raise PermissionDenied(NOT_STEWARD)


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


NOT_A_COORDINATOR = ("Only the initiative's owner, a PM Responsible for it, a TPM or an admin "
                     "can change its people and dependencies.")


def can_coordinate(user, initiative: Initiative, *, responsible: bool | None = None) -> bool:
    """Who changes an initiative's people and dependencies: its editors, TPMs and admins.

    TPMs manage dependencies and repair ownership gaps such as "nobody Responsible"
    (docs/architecture.md, "Ownership health").
    """
    return (can_edit_initiative(user, initiative, responsible=responsible)
            or can_steward_ownership(user))


def require_coordinator(user, initiative: Initiative) -> None:
    require_reader(user)
    if not can_coordinate(user, initiative):
        raise PermissionDenied(NOT_A_COORDINATOR)


NOT_STALL_DECIDER = ("Only the initiative's owner, a TPM or an admin can decide what happens "
                     "to a stalled pilot.")


def can_decide_stall(user, initiative: Initiative) -> bool:
    """A stall demands a decision from the owner or a TPM; admins too."""
    if not user.is_authenticated or not user.is_active:
        return False
    return (initiative.owner_id == user.pk or Role.TPM in roles_of(user)
            or acts_as_admin(user, ADMIN_DECIDES_STALLS))


def require_stall_decider(user, initiative: Initiative) -> None:
    require_reader(user)
    if not can_decide_stall(user, initiative):
        raise PermissionDenied(NOT_STALL_DECIDER)


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
