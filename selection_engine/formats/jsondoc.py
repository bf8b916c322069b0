"""One parser for every JSON document a user sends: configs, predictions, metadata, API bodies.

``json.loads`` alone accepts what a server must not: nesting deep enough to exhaust the stack
(a RecursionError deep in whoever walks the result), ``NaN``/``Infinity`` (not JSON, refused by
PostgreSQL's JSON columns), ``1e999`` (parsed as infinity) and documents of any size. ``parse_json``
refuses each of them with an :class:`InputError` that names the document, and the line where
there is one, so every caller reports them the same way.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..errors import InputError

MAX_DEPTH = 64  # no Winnow document nests deeper than ~8; 64 leaves room and keeps walkers safe


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def check_value(value: Any, where: str, max_depth: int = MAX_DEPTH) -> Any:
    """``value`` (already parsed, e.g. by DRF) if it nests at most ``max_depth`` deep."""
    if depth(value) > max_depth:
        raise InputError(where, f"nests deeper than {max_depth} levels")
    return value


def parse_json(data: str | bytes, where: str, *, max_bytes: int | None = None, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value in ``data``, or an InputError naming ``where`` (and the line) and the reason.

    ``bytes`` are decoded as UTF-8 (a leading BOM is allowed, as Windows editors write one).
    """
    if max_bytes is not None and len(data) > max_bytes:
        raise InputError(where, f"is {len(data):,} bytes; the limit is {max_bytes:,}")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(where, f"is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        value = json.loads(data, parse_float=_finite, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}, line {exc.lineno}", f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise InputError(where, f"nests deeper than {max_depth} levels") from None
    except ValueError as exc:  # NaN/Infinity, 1e999, an integer of more than 4300 digits
        raise InputError(where, f"invalid JSON: {exc}") from None
    return check_value(value, where, max_depth)
