"""A datasource plus a folder of uploaded ``.lightly`` files, seen as one source.

The web app never writes into a user's datasource (a local one is read-only to Winnow); it keeps
uploaded predictions and metadata in a folder of its own. The worker reads both through this
class: images come from the datasource, ``.lightly/...`` files from the upload folder where it
has them and from the datasource otherwise. The two lists of task names (``tasks.json``) and the
two metadata schemas are merged, uploads winning on equal names.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError
from ..formats.jsondoc import JSONFileError, read_json_file
from .base import Source, safe_relpath
from .local import LocalSource

LIGHTLY = ".lightly"
TASKS = ".lightly/predictions/tasks.json"
SCHEMA = ".lightly/metadata/schema.json"


class OverlaySource(Source):
    """``base`` for images; ``uploads`` (a folder holding ``.lightly/``) over base's ``.lightly``."""

    def __init__(self, base: Source, uploads: str | Path):
        self.base = base
        self.uploads = LocalSource(uploads) if Path(uploads).is_dir() else None
        self.io_threads = base.io_threads

    @property
    def rejected(self) -> list[tuple[str, str]]:
        return self.base.rejected

    @rejected.setter
    def rejected(self, value: list[tuple[str, str]]) -> None:
        self.base.rejected = value

    @property
    def label(self) -> str:
        return self.base.label

    def list_images(self) -> list[str]:
        return self.base.list_images()

    def _uploaded(self, relpath: str) -> bool:
        rel = safe_relpath(relpath)
        return self.uploads is not None and rel.startswith(LIGHTLY + "/") and self.uploads.exists(rel)

    def list_files(self, prefix: str) -> list[str]:
        found = set(self.base.list_files(prefix))
        if self.uploads is not None and safe_relpath(prefix).startswith(LIGHTLY):
            found.update(self.uploads.list_files(prefix))
        return sorted(found)

    def open(self, relpath: str) -> BinaryIO:
        rel = safe_relpath(relpath)
        if rel in (TASKS, SCHEMA) and self._uploaded(rel) and self.base.exists(rel):
            return io.BytesIO(self._merged(rel))
        if self.uploads is not None and self._uploaded(rel):
            return self.uploads.open(rel)
        return self.base.open(rel)

    def exists(self, relpath: str) -> bool:
        return self._uploaded(relpath) or self.base.exists(relpath)

    def size(self, relpath: str) -> int:
        if self.uploads is not None and self._uploaded(relpath):
            return self.uploads.size(relpath)
        return self.base.size(relpath)

    def _merged(self, rel: str) -> bytes:
        """tasks.json: the union of task names; schema.json: fields by name, uploads winning."""
        assert self.uploads is not None, "only uploaded files are merged"
        lists = []
        source: Source
        for source in (self.base, self.uploads):
            try:
                data = read_json_file(source, rel)
            except JSONFileError as exc:
                raise InputError(f"{source.label}/{exc.location}", exc.reason) from None
            if not isinstance(data, list):
                raise InputError(f"{source.label}/{rel}", "expected a JSON list")
            lists.append(data)
        if rel == TASKS:
            merged = list(dict.fromkeys([*lists[0], *lists[1]]))
        else:
            by_name = {}
            for field in [*lists[0], *lists[1]]:
                key = field.get("name") if isinstance(field, dict) else None
                by_name[key if key is not None else id(field)] = field
            merged = list(by_name.values())
        return json.dumps(merged).encode()
