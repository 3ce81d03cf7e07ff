"""One JSON shape for every API error.

``{"message": "...", "code": "...", "fields": {"field": ["...", ...]}}``: ``fields`` is
present for validation errors (400), for a filter or a body naming something that does
not exist (404) and for domain refusals that belong to a field. A domain refusal (409: a blocked
gate, a decided stall) carries the service's own message, which names what blocks it.

A refusal on ``version`` is the service finding, under the row lock, that someone wrote
since the caller's ``If-Match`` was read: the loser of that race gets 412, as when the
stale ETag is seen before the lock.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portfolio.exceptions import DomainError

# The field a service names when it refuses a write made from a stale version.
STALE_FIELD = "version"


class PreconditionRequired(exceptions.APIException):
    status_code = 428
    default_detail = ("This change needs an If-Match header with the ETag of the version you "
                      "read (GET it first).")
    default_code = "precondition_required"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = ("It changed since you read it (your If-Match does not match its ETag); "
                      "nothing was changed. GET it again and retry.")
    default_code = "precondition_failed"


class PayloadTooLarge(exceptions.APIException):
    """A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``: Django refuses to read it
    (``RequestDataTooBig``) when DRF first reads the body."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class UnknownReference(exceptions.NotFound):
    """A well-formed filter or body naming something that does not exist
    (``?team=nowhere``; in a body, DRF's ``does_not_exist``: ``_names_nothing``)."""

    def __init__(self, fields: dict[str, list[str]]):
        super().__init__(" ".join(message for messages in fields.values()
                                  for message in messages))
        self.fields = fields


def _flatten(detail) -> list[str]:
    if isinstance(detail, dict):
        return [message for value in detail.values() for message in _flatten(value)]
    if isinstance(detail, list):
        return [message for value in detail for message in _flatten(value)]
    return [str(detail)]


def _codes(detail) -> list[str]:
    if isinstance(detail, dict):
        return [code for value in detail.values() for code in _codes(value)]
    if isinstance(detail, list):
        return [code for value in detail for code in _codes(value)]
    return [getattr(detail, "code", "")]


def _names_nothing(detail) -> bool:
    """Every error is a related field's "does not exist" (DRF's code for an unknown slug)."""
    codes = _codes(detail) if isinstance(detail, dict) else []
    return bool(codes) and set(codes) == {"does_not_exist"}


def _fields(detail: dict) -> dict[str, list[str]]:
    return {str(name): _flatten(value) for name, value in detail.items()}


def exception_handler(exc, context):
    """DRF's handler, with domain refusals, Django's errors and one body shape."""
    if isinstance(exc, DomainError):
        fields = {exc.field: [exc.message]} if exc.field else {}
        if exc.field == STALE_FIELD:
            return Response({"message": exc.message, "code": PreconditionFailed.default_code,
                             "fields": fields}, status=status.HTTP_412_PRECONDITION_FAILED)
        return Response({"message": exc.message, "code": "refused", "fields": fields},
                        status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})
    if isinstance(exc, exceptions.ValidationError) and _names_nothing(exc.detail):
        # A well-formed body naming something that does not exist (a team's slug, a
        # username): 404, naming the field, like a filter that does (``valid_query``).
        exc = UnknownReference(_fields(exc.detail))
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
    if isinstance(exc, exceptions.ValidationError):
        fields = _fields(detail) if isinstance(detail, dict) else {
            "non_field_errors": _flatten(detail)}
        body = {"message": "Some fields are not valid; nothing was changed.",
                "code": "invalid", "fields": fields}
    else:
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        body = {"message": " ".join(_flatten(detail)), "code": str(code)}
        if isinstance(exc, UnknownReference):
            body["fields"] = exc.fields
    response.data = body
    return response
