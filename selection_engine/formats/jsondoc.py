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
import os
from typing import Any, NoReturn

from ..errors import InputError

MAX_DEPTH = 64  # no Winnow document nests deeper than ~8; 64 leaves room and keeps walkers safe


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def _no_constant(name: str) -> NoReturn:
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


#: Environment variable (megabytes) and default of :func:`max_file_bytes`.
MAX_FILE_MB_VARIABLE = "WINNOW_MAX_PREDICTION_FILE_MB"
DEFAULT_MAX_FILE_MB = 16


def max_file_bytes() -> int:
    """The size limit of one prediction, metadata or schema JSON file, in bytes.

    ``WINNOW_MAX_PREDICTION_FILE_MB`` (default 16): one image's predictions are kilobytes, a
    segmentation's run lengths a few megabytes; parsing takes ~5-10x the file's size in memory,
    so the limit bounds what one file can cost the server or the CLI.
    """
    raw = os.environ.get(MAX_FILE_MB_VARIABLE, "").strip()
    try:
        megabytes = float(raw) if raw else DEFAULT_MAX_FILE_MB
    except ValueError:
        raise InputError(MAX_FILE_MB_VARIABLE, f"must be a number of megabytes, got {raw!r}") from None
    if not megabytes > 0:
        raise InputError(MAX_FILE_MB_VARIABLE, f"must be a positive number of megabytes, got {raw!r}")
    return int(megabytes * 2**20)


class JSONFileError(InputError):
    """A JSON file that is itself the problem (too large, not UTF-8, not JSON, too deep), as
    opposed to a source that cannot be read; ``location`` is the file (and line)."""


def _amount(size: int) -> str:
    return f"{size:,} bytes" if size < 2**20 else f"{size / 2**20:.1f} MB"


def too_large(limit: int, size: int | None = None) -> str:
    """Why a file of ``size`` bytes (None: not known, only that it is larger) is refused."""
    what = f"is {_amount(size)};" if size is not None else "is too large:"
    return f"{what} a prediction or metadata JSON file may be at most {_amount(limit)} ({MAX_FILE_MB_VARIABLE})"


def read_json_file(source: Any, relpath: str, max_bytes: int | None = None) -> Any:
    """The JSON value of the file ``relpath`` of ``source`` (a :class:`~selection_engine.sources.Source`),
    parsed by :func:`parse_json`. A :class:`JSONFileError` naming the file when it is over
    ``max_bytes`` (default :func:`max_file_bytes`) — checked on the listed size, then on what is
    read, so a file over the limit is never held in memory whole — or is not valid JSON. The
    source's own errors (missing file, network) pass through as they are.
    """
    limit = max_file_bytes() if max_bytes is None else max_bytes
    size = source.size(relpath)
    if size > limit:
        raise JSONFileError(relpath, too_large(limit, size))
    with source.open(relpath) as handle:
        data = handle.read(limit + 1)  # the file may have grown since it was listed
    if len(data) > limit:
        raise JSONFileError(relpath, too_large(limit))
    try:
        return parse_json(data, relpath, max_bytes=limit)
    except InputError as exc:
        raise JSONFileError(exc.location, exc.reason) from None
