"""User metadata carried by the datasource (SPEC §2.3), parsed into one typed table.

``.lightly/metadata/schema.json`` lists the fields::

    [{"name": "temperature", "path": "weather.temperature",
      "defaultValue": 20.0, "valueDataType": "NUMERIC_FLOAT"}, ...]

and ``.lightly/metadata/<image path without extension>.json`` holds any JSON object per image;
``path`` is a dotted key into it. A missing file, a missing key or an explicit ``null`` takes the
field's ``defaultValue``. Every other mistake is an :class:`InputError` naming the file (and, for
the schema, the entry) so the user can fix it.
"""

from __future__ import annotations

import difflib
import itertools
import math
import posixpath
from collections.abc import Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..errors import InputError
from ..progress import Reporter
from ..sources import LocalSource, Source
from .jsondoc import read_json_file

METADATA_DIR = ".lightly/metadata"
SCHEMA_PATH = f"{METADATA_DIR}/schema.json"

#: valueDataType → dtype of its column in the table read_metadata returns.
VALUE_TYPES = {
    "NUMERIC_INT": "int64",
    "NUMERIC_FLOAT": "float64",
    "CATEGORICAL_INT": "int64",
    "CATEGORICAL_STRING": "object",
    "CATEGORICAL_BOOLEAN": "bool",
}
ENTRY_KEYS = ("name", "path", "defaultValue", "valueDataType")
#: Computed metadata lives under ``lightly.``; ``filenames`` is the table's key column.
RESERVED_PREFIX = "lightly."
RESERVED_NAMES = frozenset({"filenames"})

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
#: Files per task and threads for sources that are not on the local disk (see _fill_columns).
_CHUNK = 64
_REMOTE_WORKERS = 16


@dataclass
class MetadataField:
    """One schema entry: column ``name`` takes the value at dotted ``path`` of each image's JSON."""

    name: str
    path: str
    default: Any
    value_type: str

    @property
    def keys(self) -> list[str]:
        return self.path.split(".")


def type_problem(value: Any, value_type: str) -> str | None:
    """Why ``value`` (as parsed from JSON) cannot be a ``value_type``, or None when it can.

    bool is a subclass of int in Python, but ``true`` is never accepted as a number here: a
    boolean in a numeric field is almost always a mistake in the export.
    """
    shown = f"{value!r} ({_json_type(value)})"
    if value_type in ("NUMERIC_INT", "CATEGORICAL_INT"):
        if not isinstance(value, int) or isinstance(value, bool):
            return f"expected an integer, got {shown}"
        if not _INT64_MIN <= value <= _INT64_MAX:
            return f"integer {value} does not fit in 64 bits"
    elif value_type == "NUMERIC_FLOAT":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return f"expected a number, got {shown}"
        if not math.isfinite(value):
            return f"expected a finite number, got {value!r}"
    elif value_type == "CATEGORICAL_STRING":
        if not isinstance(value, str):
            return f"expected a string, got {shown}"
    elif value_type == "CATEGORICAL_BOOLEAN":
        if not isinstance(value, bool):
            return f"expected true or false, got {shown}"
    return None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "object"


def _load_json(source: Source, relpath: str) -> Any:
    """Parse one JSON file of the source; errors name the file (and line), see read_json_file."""
    return read_json_file(source, relpath)


def _parse_entry(entry: Any, where: str) -> MetadataField:
    if not isinstance(entry, dict):
        raise InputError(where, f"expected an object with keys {', '.join(ENTRY_KEYS)}, got {_json_type(entry)}")
    for key in entry:
        if key not in ENTRY_KEYS:
            close = difflib.get_close_matches(key, ENTRY_KEYS, n=1)
            hint = f" — did you mean {close[0]!r}?" if close else f" (allowed: {', '.join(ENTRY_KEYS)})"
            raise InputError(where, f"unknown key {key!r}{hint}")
    missing = [key for key in ENTRY_KEYS if key not in entry]
    if missing:
        raise InputError(where, f"missing key {missing[0]!r} (every entry needs {', '.join(ENTRY_KEYS)})")
    name, path, default, value_type = (entry[key] for key in ENTRY_KEYS)
    if not isinstance(name, str) or not name.strip():
        raise InputError(where, f"name must be a non-empty string, got {name!r}")
    if name.startswith(RESERVED_PREFIX) or name in RESERVED_NAMES:
        raise InputError(
            where,
            f"name {name!r} is reserved (names starting with {RESERVED_PREFIX!r} are computed by Winnow); rename it",
        )
    if not isinstance(path, str) or not path or any(not key for key in path.split(".")):
        raise InputError(where, f"path must be a dotted key such as 'weather.temperature', got {path!r}")
    if value_type not in VALUE_TYPES:
        raise InputError(where, f"unknown valueDataType {value_type!r}; valid types: {', '.join(VALUE_TYPES)}")
    problem = type_problem(default, value_type)
    if problem is not None:
        raise InputError(where, f"defaultValue of {name!r} does not match {value_type}: {problem}")
    return MetadataField(name=name, path=path, default=default, value_type=value_type)


def read_metadata_schema(source: Source) -> list[MetadataField]:
    """The fields of ``.lightly/metadata/schema.json`` in file order; [] when there is no schema."""
    if not source.exists(SCHEMA_PATH):
        return []
    entries = _load_json(source, SCHEMA_PATH)
    if not isinstance(entries, list):
        raise InputError(SCHEMA_PATH, f"expected a list of metadata fields, got {_json_type(entries)}")
    fields: list[MetadataField] = []
    first_entry_of: dict[str, int] = {}
    for index, entry in enumerate(entries):
        where = f"{SCHEMA_PATH}, entry {index}"
        parsed = _parse_entry(entry, where)
        if parsed.name in first_entry_of:
            first = first_entry_of[parsed.name]
            raise InputError(where, f"duplicate name {parsed.name!r} (already used by entry {first})")
        first_entry_of[parsed.name] = index
        fields.append(parsed)
    return fields


def _values_of(document: Any, fields: list[MetadataField], relpath: str) -> list[Any]:
    """The value of every field in one image's JSON, the default where it is absent or null."""
    if not isinstance(document, dict):
        raise InputError(relpath, f"expected a JSON object, got {_json_type(document)}")
    values = []
    for field in fields:
        node: Any = document
        for depth, key in enumerate(field.keys):
            if not isinstance(node, dict):
                parent = ".".join(field.keys[:depth])
                raise InputError(
                    relpath,
                    f"field {field.name!r}: {parent!r} is a {_json_type(node)}, so path {field.path!r} cannot be read",
                )
            node = node.get(key)
            if node is None:
                break
        if node is None:
            values.append(field.default)
            continue
        problem = type_problem(node, field.value_type)
        if problem is not None:
            raise InputError(relpath, f"field {field.name!r} (path {field.path!r}, {field.value_type}): {problem}")
        values.append(node)
    return values


def _image_stem(name: str) -> str:
    return posixpath.splitext(name)[0]


def read_metadata(
    source: Source,
    filenames: list[str],
    reporter: Reporter | None = None,
    known_images: Collection[str] | None = None,
) -> tuple[list[MetadataField], pd.DataFrame]:
    """Read the schema and every image's metadata file into one table.

    Returns the fields and a DataFrame of N = len(filenames) rows in the order of ``filenames``:
    a ``filenames`` column and one column per field, named by the field, of dtype int64
    (NUMERIC_INT, CATEGORICAL_INT), float64 (NUMERIC_FLOAT), object holding str
    (CATEGORICAL_STRING) or bool (CATEGORICAL_BOOLEAN).

    A metadata file must belong to an image of the datasource: ``known_images`` (default:
    ``filenames``) are all images that exist; files of known images outside ``filenames`` (e.g.
    left out by relevant_filenames_file) are skipped unread, a file of no known image is an error.
    ``cats/1.jpg`` and ``cats/1.png`` would share ``cats/1.json``; both get its values.
    Files under ``.lightly/metadata/`` not ending in ``.json`` are ignored; metadata files without
    a schema.json are an error (their values would silently go unused).
    """
    fields = read_metadata_schema(source)
    wanted: dict[str, list[int]] = {}
    for index, name in enumerate(filenames):
        wanted.setdefault(_image_stem(name), []).append(index)
    known_stems = set(wanted) if known_images is None else {_image_stem(name) for name in known_images} | set(wanted)

    to_read: list[tuple[str, list[int]]] = []
    for relpath in source.list_files(METADATA_DIR):
        if relpath == SCHEMA_PATH or not relpath.endswith(".json"):
            continue
        stem = relpath[len(METADATA_DIR) + 1 : -len(".json")]
        if stem not in known_stems:
            raise InputError(
                relpath,
                f"metadata file for an image that does not exist (no {stem}.<ext> among the input images); "
                "remove the file or fix its path",
            )
        if stem in wanted:
            to_read.append((relpath, wanted[stem]))

    if to_read and not fields:
        raise InputError(
            SCHEMA_PATH,
            f"missing, but {len(to_read)} metadata files (e.g. {to_read[0][0]}) need it to say which fields "
            "to read; add schema.json or remove the files",
        )
    columns = {field.name: [field.default] * len(filenames) for field in fields}
    if to_read:
        _fill_columns(source, fields, to_read, columns, reporter)

    frame = pd.DataFrame({"filenames": pd.Series(list(filenames), dtype=object)})
    for field in fields:
        frame[field.name] = pd.Series(columns[field.name], dtype=VALUE_TYPES[field.value_type])
    return fields, frame


def _fill_columns(
    source: Source,
    fields: list[MetadataField],
    to_read: list[tuple[str, list[int]]],
    columns: dict[str, list[Any]],
    reporter: Reporter | None,
) -> None:
    """Read and parse the files, writing their values into ``columns`` in place.

    A local file is read in microseconds and parsing holds the GIL, so threads only contend
    (measured: 2-3x slower on 2 cores); a remote source (S3) waits on the network per file, so
    there a thread pool reads many at once. Files go in chunks so 100k files are not 100k futures.
    """

    def read_chunk(chunk: list[tuple[str, list[int]]]) -> list[tuple[list[int], list[Any]]]:
        return [(indices, _values_of(_load_json(source, relpath), fields, relpath)) for relpath, indices in chunk]

    chunks = [to_read[start : start + _CHUNK] for start in range(0, len(to_read), _CHUNK)]
    pool = None if isinstance(source, LocalSource) else ThreadPoolExecutor(_REMOTE_WORKERS)
    try:
        per_chunk = map(read_chunk, chunks) if pool is None else pool.map(read_chunk, chunks)
        results: Iterable[tuple[list[int], list[Any]]] = itertools.chain.from_iterable(per_chunk)
        if reporter is not None:
            results = reporter.track(results, len(to_read), "Metadata files read")
        for indices, values in results:
            for field, value in zip(fields, values):
                column = columns[field.name]
                for index in indices:
                    column[index] = value
    finally:
        if pool is not None:
            # On the first bad file, drop the queued reads instead of fetching the rest for nothing.
            pool.shutdown(wait=True, cancel_futures=True)
