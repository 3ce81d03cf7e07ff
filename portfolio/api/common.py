"""What every app's API shares: documented error responses, filters and optimistic locking."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from portfolio.api.errors import PreconditionFailed, PreconditionRequired

ERROR = OpenApiResponse(description="The one error shape: message, code, fields.")
READ_ERRORS = {401: ERROR, 403: ERROR, 404: ERROR}
WRITE_ERRORS = {400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR, 413: ERROR, 415: ERROR}
LOCKED_WRITE_ERRORS = {**WRITE_ERRORS, 412: ERROR, 428: ERROR}
IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
    description='The ETag of the version you read, e.g. "12-3".')


def etag_for(obj) -> str:
    """A versioned row's ETag: its id and version."""
    return f'"{obj.pk}-{obj.version}"'


def expected_version(request, obj) -> int:
    """The version the caller read, from ``If-Match``: 428 without it, 412 when stale."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        raise PreconditionRequired()
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    if etag_for(obj) not in tags and "*" not in tags:
        raise PreconditionFailed()
    return obj.version


def valid_query(form) -> dict:
    """A filter form's cleaned data; a bad filter is a field error (400), never ignored."""
    if not form.is_valid():
        raise ValidationError({name: list(errors) for name, errors in form.errors.items()})
    return form.cleaned_data


def unless_unchanged(request, response: Response) -> Response:
    """304 when the caller already holds this version (``If-None-Match`` is its ETag)."""
    if request.headers.get("If-None-Match") == response["ETag"]:
        return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": response["ETag"]})
    return response
