"""What every app's API shares: documented error responses, filters and optimistic locking."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import cache

from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.http import QueryDict
from django.urls import reverse
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers, status
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings

from portfolio.api.errors import PreconditionFailed, PreconditionRequired, UnknownReference

ERROR = OpenApiResponse(description="The one error shape: message, code, fields.")
READ_ERRORS = {401: ERROR, 403: ERROR, 404: ERROR}
# 409: a business rule refused a well-formed request (a blocked gate, a decided stall…).
WRITE_ERRORS = {400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR, 409: ERROR, 413: ERROR,
                415: ERROR}
LOCKED_WRITE_ERRORS = {**WRITE_ERRORS, 412: ERROR, 428: ERROR}
IF_MATCH = OpenApiParameter(
    "If-Match", {"type": "string", "pattern": r"\S"}, OpenApiParameter.HEADER, required=True,
    description='The ETag of the version you read, e.g. "12-3".')


NOT_ACCEPTED = "This field cannot be set here: it is unknown or read-only."


class RefuseUnknownFields:
    """Mixed into every input serializer: a body naming a field the request does not accept
    (unknown, like ``stage`` on a PATCH, or read-only, like ``id`` or ``version``) is a 400
    naming each such field, with the other fields' errors, and nothing changes. DRF would
    drop them silently, so a client would believe a change was made. The schema says so
    (``additionalProperties: false``, ``RefuseUnknownFieldsSchema``)."""

    def to_internal_value(self, data):
        refused = {}
        if isinstance(data, Mapping):
            accepted = {name for name, field in self.fields.items() if not field.read_only}
            refused = {str(name): [ErrorDetail(NOT_ACCEPTED, code="not_accepted")]
                       for name in data if name not in accepted}
        try:
            value = super().to_internal_value(data)
        except ValidationError as error:
            if refused and isinstance(error.detail, dict):
                raise ValidationError({**error.detail, **refused}) from None
            raise
        if refused:
            raise ValidationError(refused)
        return value


class InputSerializer(RefuseUnknownFields, serializers.Serializer):
    """A request body's shape: the fields it accepts, and no others."""


class RefuseUnknownFieldsSchema(OpenApiSerializerExtension):
    """A request body of a ``RefuseUnknownFields`` serializer: ``additionalProperties: false``."""

    target_class = RefuseUnknownFields
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


def etag_for(obj) -> str:
    """A versioned row's ETag: its id and version."""
    return f'"{obj.pk}-{obj.version}"'


ANY_VERSION = ("If-Match: * would overwrite whatever changed since you read it: send the "
               'version you read (its ETag, e.g. "12-3"; GET it first).')


def expected_version(request, obj) -> int:
    """The version the caller read, from ``If-Match``: 428 without it (or with ``*``, which
    names no version), 412 when it is not ``obj``'s. The service compares it again under
    the row lock: a write that lands between this read and the lock is a 412 too."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        raise PreconditionRequired()
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    if "*" in tags:
        raise PreconditionRequired(ANY_VERSION)
    if etag_for(obj) not in tags:
        raise PreconditionFailed()
    return obj.version


NUL_REFUSED = "A filter cannot contain a NUL character."
NO_NUL = "^[^\\u0000]*$"  # the schema's pattern for text filters
BOOLEAN_VALUES = ("", "true", "false")
BOOLEAN_INVALID = "true or false."

# A filter's error that names something that does not exist (a team's slug, a
# username): the caller asked for a resource that is not there, so 404, like an id.
UNKNOWN = "unknown"


def _is_reference(field: forms.Field, error: forms.ValidationError) -> bool:
    return error.code == UNKNOWN or (isinstance(field, forms.ModelChoiceField)
                                     and error.code == "invalid_choice")


def valid_query(form) -> dict:
    """A filter form's cleaned data; a bad filter is a field error, never ignored.

    A value the schema refuses (not one of a choice's values, not a number, a boolean
    other than true or false, a NUL character) is a 400; a well-formed reference to
    nothing (``?team=no-such-team``) is a 404 naming the field, as for an unknown id.
    """
    refused = {name: [NUL_REFUSED] for name, values in form.data.lists()
               if any("\x00" in value for value in values)}
    # Every boolean the schema declares, including one this caller's form leaves out.
    refused.update({name: [BOOLEAN_INVALID] for name, field in type(form).base_fields.items()
                    if isinstance(field, forms.BooleanField)
                    and form.data.get(name, "") not in BOOLEAN_VALUES})
    if refused:
        raise ValidationError(refused)
    if form.is_valid():
        return form.cleaned_data
    errors = form.errors.as_data()
    fields = {name: [message for error in found for message in error.messages]
              for name, found in errors.items()}
    if all(name in form.fields and all(_is_reference(form.fields[name], error) for error in found)
           for name, found in errors.items()):
        raise UnknownReference(fields)
    raise ValidationError(fields)


def filter_values(form_class: type[forms.Form], query) -> dict:
    """``valid_query(form_class(query))`` for a filter form built from the query alone.

    A query that names none of the form's fields (a list's first page, or a page
    reached by its cursor) and holds no NUL character has the empty form's cleaned data,
    the same on every request: that is computed once per process, and such a request
    builds no form."""
    fields = form_class.base_fields
    if any(name in fields or any("\x00" in value for value in values)
           for name, values in query.lists()):
        return valid_query(form_class(query))
    return dict(_empty_filters(form_class))


@cache
def _empty_filters(form_class: type[forms.Form]) -> dict:
    return valid_query(form_class(QueryDict()))


def filter_parameters(form_class: type[forms.Form], **descriptions: str
                      ) -> list[OpenApiParameter]:
    """The schema of a filter form's query parameters, read off its fields, so the
    schema and the validation cannot disagree: choices are enums, numbers carry their
    bounds, text its maximum length; references (a team's slug) are strings."""
    parameters = []
    for name, field in form_class.base_fields.items():
        description = descriptions.get(name) or str(field.help_text or "")
        if isinstance(field, forms.ModelChoiceField):
            schema, description = {"type": "string", "pattern": NO_NUL}, (
                description or f"A {field.label or name}'s {field.to_field_name}.")
        elif isinstance(field, forms.ChoiceField):
            # Empty means any, as the browser's form sends it.
            schema = {"type": "string", "enum": [str(value) for value, _ in field.choices]}
            if "" not in schema["enum"]:
                schema["enum"].append("")
        elif isinstance(field, forms.BooleanField):
            schema = {"type": "boolean"}
        elif isinstance(field, forms.IntegerField):
            schema = {"type": "integer"}
            if field.min_value is not None:
                schema["minimum"] = field.min_value
            if field.max_value is not None:
                schema["maximum"] = field.max_value
        elif isinstance(field, forms.RegexField):
            schema = {"type": "string", "pattern": field.regex.pattern}
        else:
            schema = {"type": "string", "pattern": NO_NUL}
            if getattr(field, "max_length", None):
                schema["maxLength"] = field.max_length
        parameters.append(OpenApiParameter(name, schema, description=description or None))
    return parameters


def unless_unchanged(request, response: Response) -> Response:
    """304 when the caller already holds this version (``If-None-Match`` is its ETag)."""
    if request.headers.get("If-None-Match") == response["ETag"]:
        return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": response["ETag"]})
    return response


def plain_data(serializer_class: type[serializers.Serializer], instances) -> list[dict]:
    """``serializer_class(instances, many=True).data``, field for field and in its order,
    without DRF's per-field machinery: for the lists a response holds one row of per team
    (or per anything that grows with the portfolio). Every field reads one attribute (or
    key) of its ``source`` — a value, never a method — and is turned into JSON by the
    serializer's own field (``to_representation``), None staying None; a nested
    serializer's fields the same way. A serializer outside those rules is refused when
    first used; tests compare the two on each serializer used so."""
    plan = _plain_plan(serializer_class)
    return [_plain_row(plan, instance) for instance in instances]


def _plain_row(plan, instance) -> dict:
    read = instance.get if isinstance(instance, Mapping) else instance.__getattribute__
    row = {}
    for name, attribute, text, nested in plan:
        value = read(attribute)
        if value is None:
            row[name] = None
        elif nested is not None:
            row[name] = _plain_row(nested, value)
        else:
            row[name] = text(value)
    return row


@cache
def _plain_plan(serializer_class: type[serializers.Serializer]) -> tuple:
    plan = []
    for name, field in serializer_class().fields.items():
        if len(field.source_attrs) != 1 or isinstance(
                field, serializers.SerializerMethodField | serializers.ListSerializer):
            raise ImproperlyConfigured(f"{serializer_class.__name__}.{name}: not a plain field")
        nested = (_plain_plan(type(field)) if isinstance(field, serializers.Serializer)
                  else None)
        plan.append((name, field.source_attrs[0], _plain_text(field), nested))
    return tuple(plan)


def _plain_text(field: serializers.Field):
    """``field.to_representation``; for a decimal written as text, a value that already has
    the field's places and fits its digits (every figure read from a column of the same
    precision) is written as it is: quantizing it would change nothing."""
    if not isinstance(field, serializers.DecimalField) or field.decimal_places is None or (
            field.localize or field.normalize_output
            or not getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)):
        return field.to_representation
    exponent, digits, full = -field.decimal_places, field.max_digits, field.to_representation

    def text(value):
        if isinstance(value, Decimal) and value.is_finite():
            shape = value.as_tuple()
            if shape.exponent == exponent and (digits is None or len(shape.digits) <= digits):
                return f"{value:f}"
        return full(value)
    return text


@cache
def _collection_path(name: str) -> str:
    return reverse(name)


def collection_path(name: str) -> str:
    """A router collection's path (``/api/v1/initiatives/``), reversed once per process:
    ``f"{collection_path(name)}{pk}/"`` is ``item_url(name, pk)`` for many rows."""
    return _collection_path(name)


def item_url(collection: str, pk) -> str:
    """The path of one item of a router's collection, by the collection's URL name:
    ``item_url("api:initiative-list", 7)`` is ``/api/v1/initiatives/7/``. A router's detail
    route is its list route plus the id, so the list's path is reversed once per process,
    not once per serialized row."""
    return f"{_collection_path(collection)}{pk}/"
