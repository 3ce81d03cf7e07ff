"""People who leave: their accounts are deactivated, never deleted, once they are part of
the record.

A user who owns an initiative, holds a RACI role, posted an update, moved a stage, decided
a checkpoint or appears in any change history is part of the portfolio's story. Deleting
the account would cascade away their roles (the timeline would still say they were added,
with no removal) or blank out who did what. Deactivating keeps every row: the person
cannot sign in or use their API tokens, pages mark them "(left)", the ownership page lists
the initiatives whose owner left, and each initiative they had a role on records on its
timeline that they left.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction

from portfolio.exceptions import DomainError
from portfolio.identity.models import AccountEventKind, SignInMethod
from portfolio.identity.services import account_event_record
from portfolio.models import Activity, Stakeholder
from portfolio.services import activity_record, portfolio_changed

CANNOT_DEACTIVATE_SELF = "You cannot deactivate your own account; ask another admin."
KEEP_AS_DEACTIVATED = ("{name} is part of the portfolio's history ({history}); deactivate the "
                       "account instead of deleting it, so the record keeps who did what.")

# The account's own groups and permissions are the account, not its history.
_ACCOUNT_APPS = {"auth"}


@dataclass(frozen=True)
class HistoryEntry:
    """How many rows of one kind name the user, e.g. 2 initiatives as owner."""

    what: str
    field: str
    count: int

    def __str__(self) -> str:
        return f"{self.count} {self.what} as {self.field}"


def _relations_to_users():
    """Every (model, field name) outside the account itself that points at a user.

    Read from the models' metadata, so a table added later by any app (its change history
    included: django-simple-history's ``history_user``) is covered without listing it here.
    """
    user_model = get_user_model()
    for relation in user_model._meta.get_fields(include_hidden=True):
        if not (relation.is_relation and relation.auto_created and not relation.concrete):
            continue  # only reverse relations: fields of other models pointing here
        model = relation.related_model
        if model._meta.app_label in _ACCOUNT_APPS or model._meta.auto_created:
            continue
        yield model, relation.field


def user_history(*, user) -> list[HistoryEntry]:
    """What in the record names ``user`` (one count query per relation; admin use only)."""
    entries = []
    for model, field in _relations_to_users():
        count = model._default_manager.filter(**{field.name: user}).count()
        if count:
            what = (model._meta.verbose_name if count == 1
                    else model._meta.verbose_name_plural)
            entries.append(HistoryEntry(what=str(what), field=str(field.verbose_name),
                                        count=count))
    return entries


def user_deletion_refusal(*, user) -> str | None:
    """Why ``user`` must be deactivated rather than deleted, or None if nothing names them."""
    history = user_history(user=user)
    if not history:
        return None
    return KEEP_AS_DEACTIVATED.format(name=user.get_username(),
                                      history=", ".join(str(entry) for entry in history))


@transaction.atomic
def user_deactivate(*, user, actor, now: datetime, method: str = SignInMethod.ADMIN,
                    reason: str = "") -> bool:
    """Mark someone as having left. Returns whether anything changed (False if they had
    already left, so running it twice records nothing twice).

    ``actor`` is the admin who did it, or None when the identity provider said so at
    sign-in. From the next request on, their sessions are anonymous (every authentication
    backend's ``get_user`` refuses an inactive account) and their API tokens authenticate
    nothing (``tokens.api_token_authenticate``).

    Their roles stay where they were, marked as left; each initiative they held a role on
    gets a "left" entry on its timeline (who deactivated them, when). Leaving is not
    activity on the initiative: its idle clock is not reset. The account record gets a
    "deactivated" event.
    """
    if actor is not None and user.pk == actor.pk:
        raise DomainError(CANNOT_DEACTIVATE_SELF)
    user_model = get_user_model()
    changed = user_model.objects.filter(pk=user.pk, is_active=True).update(is_active=False)
    user.is_active = False
    if not changed:
        return False
    portfolio_changed(what="account")  # an owner who left is an ownership gap
    account_event_record(kind=AccountEventKind.DEACTIVATED, now=now, user=user, actor=actor,
                         method=method, reason=reason)
    stakes = (Stakeholder.objects.filter(user_id=user.pk).select_related("initiative")
              .order_by("initiative_id", "role"))
    for stake in stakes:
        activity_record(initiative=stake.initiative, kind=Activity.Kind.PEOPLE_CHANGED,
                        actor=actor, now=now,
                        details={"left": user.get_username(), "role": stake.role})
    return True


@transaction.atomic
def user_save(*, user, changed_fields: Iterable[str], actor, now: datetime) -> None:
    """Save an account added or edited in the admin, its fields already set by the form.

    Unticking "active" is leaving: the other changes are saved and the person leaves through
    ``user_deactivate`` (refused for one's own account). Ticking it again brings them back;
    either way the initiatives they own change their ownership gaps on the dashboard.
    """
    changed_fields = set(changed_fields)
    leaving = user.pk is not None and "is_active" in changed_fields and not user.is_active
    if leaving:
        user.is_active = True  # saved with the other fields; leaving is recorded below
    user.save()
    if leaving:
        user_deactivate(user=user, actor=actor, now=now)
    elif "is_active" in changed_fields:
        portfolio_changed(what="account")  # back again: no longer an ownership gap
        if user.is_active:
            account_event_record(kind=AccountEventKind.REACTIVATED, now=now, user=user,
                                 actor=actor, method=SignInMethod.ADMIN)


@transaction.atomic
def user_delete(*, user) -> None:
    """Delete an account the record never names (a mistake, a test login); anyone it names
    is deactivated instead (``user_deletion_refusal`` says why)."""
    refusal = user_deletion_refusal(user=user)
    if refusal:
        raise DomainError(refusal)
    user.delete()
