"""Bulk loading with PostgreSQL's COPY: rows go in as tuples, ids are chosen by the caller.

Seeding 100,000 initiatives writes a few million rows; ``COPY ... FROM STDIN`` through
psycopg 3 takes them at a few hundred thousand rows a second, where ``bulk_create``
would spend most of its time building model instances. The caller names the columns
it fills; every other concrete column gets its model field's default, so a row is
always complete and the table's constraints still check every value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import JSONField, Model


def _prepared_default(field):
    value = field.get_default()
    return json.dumps(value) if isinstance(field, JSONField) else value


def copy_rows(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY ``rows`` (tuples in ``columns`` order, attnames) into ``model``'s table.

    JSON columns take ``dict`` / ``list`` values (encoded here). Returns the row count.
    """
    fields = {field.attname: field for field in model._meta.concrete_fields}
    unknown = set(columns) - set(fields)
    if unknown:
        raise ValueError(f"{model.__name__} has no column(s) {sorted(unknown)}")
    rest = [field for name, field in fields.items() if name not in columns]
    tail = tuple(_prepared_default(field) for field in rest)
    json_at = [index for index, name in enumerate(columns) if isinstance(fields[name], JSONField)]
    names = ", ".join(connection.ops.quote_name(fields[name].column) for name in columns)
    if rest:
        names += ", " + ", ".join(connection.ops.quote_name(field.column) for field in rest)
    table = connection.ops.quote_name(model._meta.db_table)
    count = 0
    connection.ensure_connection()
    with (connection.connection.cursor() as cursor,
          cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy):
        for row in rows:
            if json_at:
                row = list(row)
                for index in json_at:
                    row[index] = json.dumps(row[index])
            copy.write_row((*row, *tail))
            count += 1
    return count


def reset_sequences(models: Iterable[type[Model]]) -> None:
    """Move each table's id sequence past the ids the seed chose."""
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            pk = model._meta.pk.column
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, %s), "
                f"COALESCE((SELECT MAX({connection.ops.quote_name(pk)}) "
                f"FROM {connection.ops.quote_name(table)}), 0) + 1, false)",
                [table, pk])
