"""The API's pages: cursors over a list's order (``KeysetPagination``, every list of rows in
the database) and page numbers (``ApiPagination``, for the ranking and scenarios)."""

import hashlib
import json
import operator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import reduce
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import BigIntegerField, F, OrderBy, Q, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.db.models.expressions import RawSQL
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

PAGE_INVALID = "A page number: a whole number from 1."
PAGE_SIZE_INVALID = "A whole number of at least 1 (larger ones are capped at {cap})."
PAGE_PAST_END = "There is no such page: follow the next link instead."


class _PageSize:
    """``?page_size=``: a whole number of at least 1, capped at ``max_page_size``."""

    page_size = settings.API_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError({self.page_size_query_param: [
                PAGE_SIZE_INVALID.format(cap=self.max_page_size)]})
        return min(size, self.max_page_size)


class ApiPagination(_PageSize, PageNumberPagination):
    """``?page=`` and ``?page_size=`` (capped at ``API_MAX_PAGE_SIZE``), for the lists that
    are not a queryset in a keyset order (the ranking, scenarios); the others use
    ``KeysetPagination``.

    A page number or size that is not a whole number (empty included) is a field error,
    not quietly the default; a page of 0 or past the end is a 404.
    """

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw is not None and not raw.isdigit():
            raise ValidationError({self.page_query_param: [PAGE_INVALID]})
        return super().get_page_number(request, paginator)

    def get_schema_operation_parameters(self, view):
        return self.schema_parameters(raw=True)

    @classmethod
    def schema_parameters(cls, *, raw: bool = False) -> list:
        """``page`` and ``page_size``: whole numbers of at least 1 (the size is capped)."""
        parameters = [
            ("page", "A page number, from 1; past the last page is a 404."),
            (cls.page_size_query_param,
             f"Rows per page (default {cls.page_size}; larger than {cls.max_page_size} is "
             f"capped at {cls.max_page_size})."),
        ]
        if raw:
            return [{"name": name, "required": False, "in": "query", "description": text,
                     "schema": {"type": "integer", "minimum": 1}} for name, text in parameters]
        return [OpenApiParameter(name, {"type": "integer", "minimum": 1}, description=text)
                for name, text in parameters]


# --- Keyset (cursor) pagination -------------------------------------------------------------

CURSOR_INVALID = ("Not a cursor of this list in this order: follow the next or previous link "
                  "as the API gave it, or start again without a cursor.")
PAGE_WITH_CURSOR = "Give a cursor or a page number, not both: follow the next link."
# ``?page=`` on a cursor-paginated list: accepted until this date, then refused.
PAGE_SUNSET = "Sat, 01 May 2027 00:00:00 GMT"
PAGE_DEPRECATION = "@1796083200"  # RFC 9745: 2026-12-01, when cursors replaced page numbers
# A count up to this many rows is exact; past it, the planner's estimate, labelled.
EXACT_COUNT_UP_TO = 1000
# The largest ``?page=`` looked up (past it, a 404 without a query): its OFFSET stays far
# inside PostgreSQL's bigint.
MAX_PAGE_NUMBER = 10**9


@dataclass(frozen=True)
class _Key:
    """One term of a list's order: an expression, its direction and whether it can be
    NULL. NULLs sort as the largest value on every database (PostgreSQL's default: last
    when ascending, first when descending), so the order, and so the keyset, is the same
    on SQLite."""

    expression: Any
    descending: bool
    nullable: bool

    def order_by(self, *, backwards: bool) -> OrderBy:
        descending = self.descending != backwards
        if not self.nullable:
            return OrderBy(self.expression, descending=descending)
        return OrderBy(self.expression, descending=descending,
                       nulls_first=True if descending else None,
                       nulls_last=None if descending else True)

    def after(self, alias: str, value, *, backwards: bool) -> Q | None:
        """The rows strictly after ``value`` in this term's direction; None: no row is."""
        descending = self.descending != backwards
        if value is None:  # NULL is the largest value
            return Q(**{f"{alias}__isnull": False}) if descending else None
        if descending:
            return Q(**{f"{alias}__lt": value})
        later = Q(**{f"{alias}__gt": value})
        return later | Q(**{f"{alias}__isnull": True}) if self.nullable else later

    @staticmethod
    def equal(alias: str, value) -> Q:
        return Q(**{f"{alias}__isnull": True}) if value is None else Q(**{alias: value})


def _nullable(model, path: str) -> bool:
    """Whether ``path`` ("team__name") can read NULL: a nullable field on the way."""
    for part in path.split(LOOKUP_SEP):
        field = model._meta.pk if part == "pk" else model._meta.get_field(part)
        if getattr(field, "null", False):
            return True
        model = field.related_model or model
    return False


def _keys(queryset: QuerySet) -> list[_Key]:
    """The queryset's order as keyset terms. The order must end with a unique column (the
    id): ``_Key``s of a partial order would skip or repeat rows."""
    keys = []
    query = queryset.query
    terms = query.order_by or (query.get_meta().ordering if query.default_ordering else ())
    for term in terms:
        if isinstance(term, str):
            name = term.removeprefix("-")
            keys.append(_Key(F(name), term.startswith("-"), _nullable(queryset.model, name)))
        elif isinstance(term, OrderBy):
            keys.append(_Key(term.expression, term.descending, True))
        else:
            keys.append(_Key(term, False, True))
    if not keys or not isinstance(keys[-1].expression, F) or keys[-1].expression.name not in (
            "pk", "id", queryset.model._meta.pk.name):
        raise ImproperlyConfigured(f"A keyset needs an order that ends with the id: {keys}")
    return keys


def _encode(value):
    if value is None or isinstance(value, int | str) and not isinstance(value, bool):
        return value
    if isinstance(value, bool):
        return ["b", value]
    if isinstance(value, datetime):
        return ["t", value.isoformat()]
    if isinstance(value, date):
        return ["d", value.isoformat()]
    if isinstance(value, Decimal):
        return ["n", str(value)]
    if isinstance(value, float):
        return ["f", value]
    return ["s", str(value)]  # a UUID, an enum: compared as text


_DECODERS = {"b": bool, "t": datetime.fromisoformat, "d": date.fromisoformat,
             "n": Decimal, "f": float, "s": str}


def _decode(value):
    if isinstance(value, list):
        tag, raw = value
        return _DECODERS[tag](raw)
    return value


def _signature(keys: list[_Key]) -> str:
    """Which order a cursor belongs to: a cursor of ?sort=title is refused by ?sort=team."""
    text = repr([(str(key.expression), key.descending) for key in keys])
    return hashlib.blake2s(text.encode(), digest_size=6).hexdigest()


def planner_estimate(queryset: QuerySet) -> int:
    """How many rows PostgreSQL's planner expects ``queryset`` to return (``EXPLAIN``:
    planned, not run)."""
    plan = json.loads(queryset.explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def count_rows(queryset: QuerySet) -> tuple[int, bool]:
    """``(count, exact)`` for a list whose count no counter keeps, in queries of their own
    (``KeysetPagination`` reads the same figures in the page's query, ``count_columns``):
    on PostgreSQL, a count that stops after ``EXACT_COUNT_UP_TO`` + 1 rows and the
    planner's estimate (``EXPLAIN``, never run) past that; other databases (SQLite, for
    ``make run``) count."""
    ids = queryset.order_by().values("pk")
    if connection.vendor != "postgresql":
        return ids.count(), True
    counted = ids[:EXACT_COUNT_UP_TO + 1].count()
    estimate = planner_estimate(ids)
    if counted <= EXACT_COUNT_UP_TO:
        return counted, True
    return max(estimate, counted), False


# A whole table's size as the planner reckons it (``estimate_rel_size``): the rows per
# page its last ANALYZE saw, times the pages it has now; -1 before any ANALYZE.
_TABLE_ESTIMATE = (
    "SELECT (CASE WHEN c.relpages > 0 AND c.reltuples >= 0 THEN c.reltuples / c.relpages"
    " * (pg_relation_size(c.oid) / current_setting('block_size')::int) ELSE -1 END)::bigint"
    " FROM pg_class c WHERE c.oid = %s::regclass")
COUNTED, ESTIMATE = "cursor_counted", "cursor_estimate"


def count_columns(queryset: QuerySet) -> dict:
    """On PostgreSQL, the count as columns of the page's own query (scalar subqueries,
    run once): the rows counted up to ``EXACT_COUNT_UP_TO`` + 1 and, when the list is the
    whole table (no condition), the table's size as the planner reckons it. A filtered
    list past the limit asks the planner in a query of its own (``planner_estimate``)."""
    ids = queryset.order_by().values("pk")[:EXACT_COUNT_UP_TO + 1]
    sql, params = ids.query.sql_with_params()
    columns = {COUNTED: RawSQL(f"SELECT COUNT(*) FROM ({sql}) capped", params,
                               output_field=BigIntegerField())}
    if not queryset.query.where:
        columns[ESTIMATE] = RawSQL(_TABLE_ESTIMATE, [queryset.model._meta.db_table],
                                   output_field=BigIntegerField())
    return columns


def _aliases(keys: list[_Key], values: tuple[str, ...] | None) -> list[str]:
    """Each term's name in a page's rows: a column of the list's own table that the rows
    already hold (``values``) under its own name, anything else as an annotation
    ``cursor_key_<n>`` (a column read twice would be converted twice per row)."""
    return [key.expression.name
            if values and isinstance(key.expression, F) and key.expression.name in values
            and LOOKUP_SEP not in key.expression.name
            else f"cursor_key_{n}" for n, key in enumerate(keys)]


def _column(row, name: str):
    return row.get(name) if isinstance(row, dict) else getattr(row, name, None)


class KeysetPagination(_PageSize, BasePagination):
    """Cursor pagination over a list's whole order (``?cursor=``, ``?page_size=`` capped at
    ``API_MAX_PAGE_SIZE``), docs/architecture.md "Cursor pagination".

    The queryset's ``order_by`` is the keyset: every term, ascending or descending, NULLs
    largest, ending with the id. A cursor is the signed values of the page's last row
    (``next``) or first row (``previous``): the next page is the rows after those values in
    that order — read from the order's index at that position, however deep — so a row
    inserted or deleted before the cursor neither repeats nor skips one. A cursor that was
    not made here for this order is a 400 on ``cursor``.

    ``count`` is exact (``count_exact: true``) when a stored counter gives it (``count=`` to
    ``paginate_queryset``) or at most ``EXACT_COUNT_UP_TO`` rows match; otherwise it is
    the planner's estimate, read with the page's rows (``count_columns``).

    ``?page=N`` (the page numbers of before) still answers, as a deprecated alias: the
    rows at that offset, with cursor links onwards, a ``Deprecation`` and a ``Sunset``
    header; past the last page is a 404 as before.
    """

    cursor_query_param = "cursor"
    page_query_param = "page"
    salt = "portfolio.api.cursor"

    def paginate_queryset(self, queryset, request, view=None, *, count: int | None = None,
                          values: tuple[str, ...] | None = None):
        """The page's rows of ``queryset`` (in its order): model instances, or with
        ``values`` plain dicts of those columns (the joins they need are not counted)."""
        self.request = request
        size = self.get_page_size(request)
        keys = _keys(queryset)
        aliases = _aliases(keys, values)
        self.signature = _signature(keys)
        self.keys, self.aliases = keys, aliases
        # The count: given (a stored counter); on PostgreSQL read with the page's rows
        # (``count_columns``); elsewhere counted.
        counting = count is None and connection.vendor == "postgresql"
        if count is not None:
            self.count, self.count_exact = count, True
        elif not counting:
            self.count, self.count_exact = count_rows(queryset)
        counted = queryset
        if values is not None:
            queryset = queryset.values(*values)
        rows = queryset.annotate(**{alias: key.expression
                                    for alias, key in zip(aliases, keys, strict=True)
                                    if alias not in (values or ())})
        if counting:
            rows = rows.annotate(**count_columns(counted))
        cursor = request.query_params.get(self.cursor_query_param)
        page = request.query_params.get(self.page_query_param)
        self.deprecated_page = False
        if cursor is not None:
            if page is not None:
                raise ValidationError({self.page_query_param: [PAGE_WITH_CURSOR]})
            backwards, values = self._decode(cursor)
            rows = rows.filter(self._after(values, backwards=backwards))
        else:
            backwards, values = False, None
        rows = rows.order_by(*[key.order_by(backwards=backwards) for key in keys])
        if page is not None:
            number = self._page_number(page)
            self.deprecated_page = True
            found = list(rows[(number - 1) * size:number * size + 1])
            if number > 1 and not found:
                raise NotFound(PAGE_PAST_END)
            if counting:
                self._count_from(found, counted)
            more, found = len(found) > size, found[:size]
            self.next = self._cursor(found[-1], backwards=False) if more else None
            self.previous = self._cursor(found[0], backwards=True) if number > 1 else None
            return found
        found = list(rows[:size + 1])
        if counting:
            self._count_from(found, counted)
        more, found = len(found) > size, found[:size]
        if backwards:
            found.reverse()
        first, last = (found[0], found[-1]) if found else (None, None)
        if backwards:
            self.previous = self._cursor(first, backwards=True) if more else None
            self.next = self._cursor(last, backwards=False, values=values)
        else:
            self.next = self._cursor(last, backwards=False) if more else None
            self.previous = (None if values is None
                             else self._cursor(first, backwards=True, values=values))
        return found

    def _count_from(self, found: list, queryset: QuerySet) -> None:
        """``count`` and ``count_exact`` from the page's ``count_columns``; a page with no
        row (an empty list, or past the end) counts in queries of its own."""
        if not found:
            self.count, self.count_exact = count_rows(queryset)
            return
        counted = _column(found[0], COUNTED)
        estimate = _column(found[0], ESTIMATE)
        if estimate is None:  # a filtered list: the planner's estimate of its conditions
            estimate = planner_estimate(queryset.order_by().values("pk"))
        if counted <= EXACT_COUNT_UP_TO:
            self.count, self.count_exact = counted, True
        else:
            self.count, self.count_exact = max(estimate, counted), False

    def _page_number(self, raw: str) -> int:
        if not raw.isdigit():
            raise ValidationError({self.page_query_param: [PAGE_INVALID]})
        if not 1 <= int(raw) <= MAX_PAGE_NUMBER:  # an OFFSET beyond any table: a 404
            raise NotFound(PAGE_PAST_END)
        return int(raw)

    def _after(self, values: list, *, backwards: bool) -> Q:
        """The rows after ``values`` in the order (before them, ``backwards``): equal on the
        first terms and after on the next one, for each term; with the first term's bound
        on its own too, so PostgreSQL starts its index read there."""
        pairs = list(zip(self.keys, self.aliases, values, strict=True))
        branches, equal = [], Q()
        for key, alias, value in pairs:
            after = key.after(alias, value, backwards=backwards)
            if after is not None:
                branches.append(equal & after)
            equal &= key.equal(alias, value)
        if not branches:
            return Q(pk__in=[])
        condition = reduce(operator.or_, branches)
        key, alias, value = pairs[0]
        first = key.after(alias, value, backwards=backwards)
        bound = key.equal(alias, value) if first is None else first | key.equal(alias, value)
        return bound & condition

    def _cursor(self, row, *, backwards: bool, values: list | None = None) -> str | None:
        """The link to the rows after ``row`` (before it, ``backwards``); ``values``: the
        position when there is no row to take it from (an empty page)."""
        if row is not None:
            values = [row[alias] if isinstance(row, dict) else getattr(row, alias)
                      for alias in self.aliases]
        if values is None:
            return None
        token = signing.dumps({"o": self.signature, "b": backwards,
                               "v": [_encode(value) for value in values]},
                              salt=self.salt, compress=True)
        url = self.request.build_absolute_uri()
        url = remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, token)

    def _decode(self, token: str) -> tuple[bool, list]:
        try:
            data = signing.loads(token, salt=self.salt)
            if data["o"] != self.signature or len(data["v"]) != len(self.keys):
                raise ValueError
            return bool(data["b"]), [_decode(value) for value in data["v"]]
        except (signing.BadSignature, ValueError, KeyError, TypeError, IndexError):
            raise ValidationError({self.cursor_query_param: [CURSOR_INVALID]}) from None

    def get_paginated_response(self, data):
        response = Response({"count": self.count, "count_exact": self.count_exact,
                             "next": self.next, "previous": self.previous, "results": data})
        if self.deprecated_page:
            response["Deprecation"] = PAGE_DEPRECATION
            response["Sunset"] = PAGE_SUNSET
        return response

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "count_exact", "next", "previous", "results"],
            "properties": {
                "count": {"type": "integer", "minimum": 0, "description": (
                    "How many rows match: exact when count_exact is true, otherwise the "
                    "database planner's estimate (more than "
                    f"{EXACT_COUNT_UP_TO} rows).")},
                "count_exact": {"type": "boolean", "description": (
                    "Whether count is exact (a stored counter, or at most "
                    f"{EXACT_COUNT_UP_TO} rows) or an estimate.")},
                "next": {"type": "string", "format": "uri", "nullable": True,
                         "description": "The next page (a cursor link); null on the last."},
                "previous": {"type": "string", "format": "uri", "nullable": True,
                             "description": "The page before; null on the first."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        size = ApiPagination.schema_parameters(raw=True)[1]
        return [
            {"name": self.cursor_query_param, "required": False, "in": "query",
             "schema": {"type": "string"},
             "description": "Where the page starts: take it from a response's next or "
                            "previous link, never build it. An unknown one is a 400."},
            size,
            {"name": self.page_query_param, "required": False, "in": "query",
             "deprecated": True, "schema": {"type": "integer", "minimum": 1},
             "description": f"Deprecated (refused after {PAGE_SUNSET}): a page number, "
                            "from 1; follow next instead. Past the last page is a 404."},
        ]
