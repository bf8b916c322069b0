"""The zip a predictions/metadata upload travels in: ``.lightly/...`` (or a part of it) under its own name."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import IO


def zip_folder(folder: Path, archive: IO[bytes]) -> None:
    """Zip ``folder`` under its own name (``.lightly/...``, ``predictions/...``, ``<task>/...``);
    a datasource root is reduced to its ``.lightly`` folder."""
    if (folder / ".lightly").is_dir():
        folder = folder / ".lightly"
    base = folder.resolve().name
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for file in sorted(folder.rglob("*")):
            if file.is_file() and not file.is_symlink():
                zipped.write(file, f"{base}/{file.relative_to(folder).as_posix()}")
