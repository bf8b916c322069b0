"""The run directory (SPEC §4.1): where every output of one run lands."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..fileio import write_text
from ..sources import safe_relpath

FAILED_MARKER = "FAILED.txt"


class RunDirectory:
    """``<output_dir>/<YYYY-MM-DD>/<HH:MM:SS>/`` or ``<output_dir>/<run_directory>/``."""

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def create(cls, output_dir: str, run_directory: str = "", now: datetime | None = None) -> RunDirectory:
        base = Path(output_dir)
        if run_directory:
            path = base / safe_relpath(run_directory, "run_directory")
            if path.exists() and any(path.iterdir()):
                raise InputError(str(path), "run_directory already exists and is not empty; choose another name")
        else:
            now = now or datetime.now()
            path = base / f"{now:%Y-%m-%d}" / f"{now:%H:%M:%S}"
            suffix = 1
            while path.exists():  # two runs started in the same second
                suffix += 1
                path = base / f"{now:%Y-%m-%d}" / f"{now:%H:%M:%S}_{suffix}"
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(str(path), f"cannot create the run directory: {exc.strerror}") from None
        return cls(path)

    def __truediv__(self, relative: str) -> Path:
        return self.path / relative

    def write_json(self, relative: str, data: Any) -> Path:
        target = self.path / relative
        write_text(target, json.dumps(data, indent=2, default=_json_default) + "\n")
        return target

    def mark_failed(self, reason: str) -> None:
        write_text(self.path / FAILED_MARKER, reason.rstrip() + "\n")


def _json_default(value: object) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
