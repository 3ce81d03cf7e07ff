"""What the people and initiative pickers offer, and how typed text names one
(docs/architecture.md, "People pickers").

A picker never lists everyone: it searches as the user types (``people_search``,
``initiatives_search``: at most ``PICKER_LIMIT`` rows) and a submitted text is resolved
here (``person_resolve``, ``initiative_resolve``). Who may actually hold a role is still
decided by the services (``services.owner_check``, ``stakeholder_add``): a picker only
offers the people who fit it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from portfolio.access import eligible_owners
from portfolio.models import Initiative

PICKER_LIMIT = 20
# Typed text beyond this is ignored: no name, username or email is longer.
MAX_QUERY = 200
MAX_WORDS = 5

# Who each person picker offers. The owner's pool is the one definition of who may own
# (``access.eligible_owners``); sponsors, people on the RACI and whoever runs an
# initiative in production are any active user (the domain names no narrower rule).
PERSON_ROLES = ("owner", "sponsor", "stakeholder", "production_owner")

# "Jane Doe (jdoe)": the label a picker shows and submits; the username in brackets wins.
_LABELLED = re.compile(r"\((?P<username>[^()\s]+)\)\s*$")
# "#42" or "#42 Vendor master data": an initiative by its number.
_NUMBERED = re.compile(r"^#(?P<pk>\d{1,18})(?:\s|$)")


def clean_query(text) -> str:
    """Typed text as the pickers read it: no NUL (PostgreSQL refuses it), trimmed, bounded."""
    return str(text or "").replace("\x00", "").strip()[:MAX_QUERY]


def person_label(user) -> str:
    """How a picker shows and submits a person: "Jane Doe (jdoe)", or the username."""
    name = user.get_full_name()
    username = user.get_username()
    return f"{name} ({username})" if name else username


def people_pool(role: str) -> QuerySet:
    """The people a picker for ``role`` (one of ``PERSON_ROLES``) offers."""
    if role not in PERSON_ROLES:
        raise ValueError(f"Unknown role {role!r}: one of {', '.join(PERSON_ROLES)}")
    if role == "owner":
        return eligible_owners()
    return get_user_model().objects.filter(is_active=True)


def _words_q(words: list[str]) -> Q:
    """Each word starts the first name, last name, username or email."""
    query = Q()
    for word in words:
        query &= (Q(first_name__istartswith=word) | Q(last_name__istartswith=word)
                  | Q(username__istartswith=word) | Q(email__istartswith=word))
    return query


def people_search(*, text: str, role: str, limit: int = PICKER_LIMIT) -> list:
    """At most ``limit`` people who fit ``role`` and match every typed word. One query."""
    text = clean_query(text)
    words = text.split()[:MAX_WORDS]
    if not words:
        return []
    match = _LABELLED.search(text)
    query = _words_q(words)
    if match:  # a label picked earlier: that person, or the words still match
        query |= Q(username__iexact=match["username"])
    return list(people_pool(role).filter(query)
                .only("id", "username", "first_name", "last_name")
                .order_by("first_name", "last_name", "username")[:limit])


@dataclass(frozen=True)
class Resolved:
    """What a typed text names: ``one`` person, or the ``matches`` that made it ambiguous
    (empty when nobody matched)."""

    one: object | None
    matches: list
    number: int | None = None  # the text named an initiative by this number


def person_resolve(*, text: str, role: str) -> Resolved:
    """The person a submitted text names. Exact names first, among everyone (an id, a
    username, "Name (username)", an email address), so that the service says why someone
    cannot hold the role; otherwise the typed words among the people who fit ``role``.
    At most two queries."""
    text = clean_query(text)
    users = get_user_model().objects.only("id", "username", "first_name", "last_name",
                                          "email", "is_active")
    match = _LABELLED.search(text)
    if text.isdigit() and len(text) <= 18:
        exact = Q(pk=int(text))
    elif match:
        exact = Q(username__iexact=match["username"])
    else:
        exact = Q(username__iexact=text) | Q(email__iexact=text)
    found = list(users.filter(exact).order_by("pk")[:2]) if text else []
    if len(found) == 1:
        return Resolved(one=found[0], matches=[])
    if not found:
        found = people_search(text=text, role=role, limit=6)
    return Resolved(one=found[0] if len(found) == 1 else None, matches=found)


def initiatives_search(*, text: str, exclude: int | None = None,
                       limit: int = PICKER_LIMIT) -> list[Initiative]:
    """At most ``limit`` initiatives whose title holds every typed word (or the one whose
    number is typed), titles starting with the text first. One query."""
    text = clean_query(text)
    words = text.lstrip("#").split()[:MAX_WORDS]
    if not words:
        return []
    query = Q()
    for word in words:
        query &= Q(title__icontains=word)
    if text.lstrip("#").isdigit() and len(text) <= 19:
        query |= Q(pk=int(text.lstrip("#")))
    found = Initiative.objects.filter(query).only("id", "title", "stage")
    if exclude is not None:
        found = found.exclude(pk=exclude)
    return list(found.order_by("title", "id")[:limit])


def initiative_label(initiative: Initiative) -> str:
    return f"#{initiative.pk} {initiative.title}"


def initiative_resolve(*, text: str) -> Resolved:
    """The initiative a submitted text names: "#42", "42" or "#42 Title" by number, else
    the one title equal to it, else the one title holding it."""
    text = clean_query(text)
    numbered = _NUMBERED.match(text) or _NUMBERED.match(f"#{text}" if text.isdigit() else "")
    initiatives = Initiative.objects.only("id", "title")
    if numbered:
        number = int(numbered["pk"])
        return Resolved(one=initiatives.filter(pk=number).first(), matches=[], number=number)
    exact = list(initiatives.filter(title__iexact=text)[:2])
    if len(exact) == 1:
        return Resolved(one=exact[0], matches=[])
    matches = list(initiatives.filter(title__icontains=text).order_by("title", "id")[:6])
    return Resolved(one=matches[0] if len(matches) == 1 else None, matches=matches)
