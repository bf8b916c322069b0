"""What every name and query parameter a user sends must satisfy, checked before the database
sees it, so that SQLite and PostgreSQL answer alike.

The two databases disagree on bad text: PostgreSQL refuses a NUL character in any string and a
name longer than its column (both a 500 from deep inside the ORM), where SQLite stores either.
So names are held to their model field's ``max_length`` here, and no name or query parameter may
carry a control character (NUL, newline, escape, ...): none belongs in a name a person types, and
a newline in a tag name used to end up in a download's header.

Query parameters raise :class:`QueryError` (the API answers 400 with the parameter as the key;
the pages show the message); names raise Django's ``ValidationError`` keyed by the field, like
every service.
"""

from __future__ import annotations

import math
import re

from django.core.exceptions import ValidationError
from django.db.models import Field, Model

#: The largest id a database row can have (SQLite's INTEGER, PostgreSQL's bigint).
MAX_ID = 2**63 - 1
#: The longest free-text query parameter (a class, a metadata key or value, a sort key).
MAX_PARAM_LENGTH = 1000

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # Unicode's "Cc": C0, DEL and C1
_ID = re.compile(r"[0-9]{1,19}")  # ASCII digits only: "²".isdigit() is True, int("²") fails


class QueryError(ValueError):
    """A query parameter is invalid; the message starts with its name (``tag: must be a tag id``)."""


def control_character(text: str) -> str:
    """A description of the first control character in ``text`` ("a newline at position 4"), or ""."""
    found = _CONTROL.search(text)
    if found is None:
        return ""
    char = found.group()
    names = {"\x00": "a NUL character", "\n": "a newline", "\r": "a carriage return", "\t": "a tab"}
    label = names.get(char) or f"the control character U+{ord(char):04X}"
    return f"{label} at position {found.start() + 1}"


def check_text(value: str, name: str, max_length: int = MAX_PARAM_LENGTH) -> str:
    """``value`` if it is at most ``max_length`` characters without control characters."""
    if len(value) > max_length:
        raise QueryError(f"{name}: at most {max_length:,} characters (this one has {len(value):,})")
    problem = control_character(value)
    if problem:
        raise QueryError(f"{name}: holds {problem}; control characters are not allowed")
    return value


def text_param(params, name: str, max_length: int = MAX_PARAM_LENGTH) -> str:
    """The text of query parameter ``name`` without surrounding white space ("" when absent)."""
    return check_text(str(params.get(name) or "").strip(), name, max_length)


def number_param(params, name: str) -> float | None:
    """Query parameter ``name`` as a finite number; None when absent."""
    text = text_param(params, name, max_length=100)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise QueryError(f"{name}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise QueryError(f"{name}: {text!r} is not a finite number")
    return value


def id_param(params, name: str, what: str = "an id") -> int | None:
    """Query parameter ``name`` as a positive whole number that fits an id column (1 to 2**63 - 1):
    a row id, a size; None when absent."""
    text = text_param(params, name, max_length=100)
    if not text:
        return None
    if not _ID.fullmatch(text) or not 0 < int(text) <= MAX_ID:
        raise QueryError(f"{name}: {text!r} is not {what}")
    return int(text)


def column_max_length(model: type[Model], field: str) -> int:
    """The ``max_length`` of ``model``'s text column ``field``."""
    column = model._meta.get_field(field)
    if not isinstance(column, Field) or column.max_length is None:
        raise TypeError(f"{model.__name__}.{field} is not a column with a max_length")
    return column.max_length


def clean_name(model: type[Model], value, *, key: str = "name") -> str:
    """The stripped ``value`` as the name of a ``model`` row, or a ValidationError under ``key``.

    A name is required, fits the model's ``name`` column and holds no control characters.
    """
    limit = column_max_length(model, "name")
    name = str(value or "").strip()
    if not name:
        raise ValidationError({key: f"Give the {model._meta.verbose_name} a name."})
    if len(name) > limit:
        raise ValidationError({key: f"A name has at most {limit} characters (this one has {len(name)})."})
    problem = control_character(name)
    if problem:
        raise ValidationError({key: f"A name cannot hold control characters (this one holds {problem})."})
    return name
