"""Inserting many rows at once: ``COPY ... FROM STDIN`` on PostgreSQL, batched ``executemany``
elsewhere (SQLite). For the tables that take a whole run at a time (its samples for the gallery,
the selection's tag items), where a million model instances would cost minutes and gigabytes.

Each value is converted as ``bulk_create`` converts it (its field's ``get_db_prep_save``: a
JSONField's ``dumps``, a foreign key's primary key), so a row reads back the same either way.
Like ``bulk_create``, no ``save()``, no signals and no ``pre_save`` (no ``auto_now`` fields here).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, cast

from django.db import connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

#: Rows per ``executemany`` (SQLite); COPY streams without batches.
BATCH_SIZE = 10_000


def insert(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert ``rows`` into ``model``'s table; how many were inserted.

    ``fields``: the names of every concrete field but the automatic primary key, in the order of
    each row's values; a foreign key by its attname (``run_id``), its value the primary key.
    ``rows`` is consumed once, as it comes (a generator keeps memory flat). All or nothing: the
    rows go in under one savepoint (or transaction), so a row the database refuses leaves none.
    """
    using = router.db_for_write(model)
    connection = connections[using]
    columns = _columns(model, fields)
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(cast(str, field.column)) for field in columns)  # concrete: a column
    prepared = _prepared(columns, connection, rows)
    with transaction.atomic(using=using, savepoint=True), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # psycopg 3's copy() is not wrapped by Django's cursor: wrap its errors as execute()'s
            # are, so a refused row is an IntegrityError/DataError like the ORM's.
            with connection.wrap_database_errors, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                count = 0
                for values in prepared:
                    copy.write_row(values)
                    count += 1
            return count
        sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"
        count = 0
        while batch := list(islice(prepared, BATCH_SIZE)):
            cursor.executemany(sql, batch)
            count += len(batch)
        return count


def _columns(model: type[models.Model], fields: Sequence[str]) -> list[models.Field[Any, Any]]:
    """The fields named, checked against the model: every concrete column but the automatic
    primary key, each once (a ValueError naming them otherwise)."""
    meta = model._meta
    wanted = [f for f in meta.concrete_fields if not isinstance(f, models.AutoField)]
    by_name = {name: f for f in wanted for name in {f.name, f.attname}}
    columns = [by_name.get(name) for name in fields]
    if None in columns or sorted(f.attname for f in columns if f) != sorted(f.attname for f in wanted):
        raise ValueError(f"bulk insert into {meta.label}: fields must be {[f.attname for f in wanted]} in any order, "
                         f"got {list(fields)}")
    return [f for f in columns if f]


#: Field types whose ORM conversion (``get_db_prep_save``) hands a value of this exact Python type,
#: and None, to the driver as they are: such values skip the ORM's chain of calls (0.5 to 5 µs a
#: value, measured: most of the cost of a row); any other value takes it. (On PostgreSQL the ORM
#: wraps an int in psycopg's Int4 or Int8 to choose the bind type; COPY's text is the same digits.)
_AS_IS: dict[str, type] = {
    "CharField": str, "TextField": str, "FloatField": float, "BooleanField": bool,
    "IntegerField": int, "BigIntegerField": int, "AutoField": int, "BigAutoField": int,
}


def _converter(field: models.Field[Any, Any], connection: BaseDatabaseWrapper) -> Callable[[Any], Any]:
    """``field.get_db_prep_save(value, connection)``, for the common values without its overhead."""
    def orm(value: Any) -> Any:
        return field.get_db_prep_save(value, connection)

    if isinstance(field, models.JSONField):
        adapt, encoder = connection.ops.adapt_json_value, field.encoder

        def json_value(value: Any) -> Any:  # what JSONField.get_db_prep_save does with a dict or list
            return adapt(value, encoder) if type(value) in (dict, list) else orm(value)
        return json_value
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    kind = _AS_IS.get(target.get_internal_type())
    if kind is None:
        return orm
    if kind is bool and not field.null:  # the ORM refuses None here (a ValidationError): let it

        def boolean(value: Any) -> Any:
            return value if type(value) is bool else orm(value)
        return boolean

    def plain(value: Any) -> Any:
        return value if value is None or type(value) is kind else orm(value)
    return plain


def _prepared(
    columns: list[models.Field[Any, Any]], connection: BaseDatabaseWrapper, rows: Iterable[Sequence[Any]]
) -> Iterator[list[Any]]:
    convert = [_converter(field, connection) for field in columns]
    width = len(convert)
    for row in rows:
        if len(row) != width:
            raise ValueError(f"a row of {len(row)} values for {width} fields: {row!r:.200}")
        yield [to_db(value) for to_db, value in zip(convert, row)]
