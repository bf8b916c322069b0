"""Datapools: selections that accumulate over runs (``datapool.name``).

A pool remembers every sample it has seen and the embeddings of every sample it selected. A
later run treats earlier picks as already selected and offers only unseen samples as candidates,
so each run adds what is new and different. Stored as one ``datapool.npz`` (written atomically)
plus a readable ``history.json`` under ``<shared_dir or output_dir>/datapools/<name>/``.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from ..errors import ConfigError, InputError
from ..fileio import atomic_write, write_text

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


@dataclass
class Datapool:
    name: str
    folder: Path
    seen: set[str] = field(default_factory=set)
    selected: list[str] = field(default_factory=list)
    #: float32 (len(selected), D), the embeddings the picks had when they were selected.
    embeddings: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    history: list[dict] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.folder / "datapool.npz"

    def record(self, seen: list[str], picked: list[str], picked_embeddings: np.ndarray, run_dir: str, keep_history: bool) -> None:
        """Add a run's samples and picks to the pool."""
        new = [name for name in seen if name not in self.seen]
        self.seen.update(seen)
        self.selected.extend(picked)
        if self.embeddings.size == 0:
            self.embeddings = picked_embeddings.astype(np.float32)
        elif len(picked):
            self.embeddings = np.concatenate([self.embeddings, picked_embeddings.astype(np.float32)])
        entry = {
            "run_directory": run_dir,
            "finished_at": datetime.now().isoformat(timespec="seconds"),
            "new_samples": len(new),
            "selected": picked,
        }
        self.history = [*self.history, entry] if keep_history else [entry]

    def save(self) -> None:
        buffer = io.BytesIO()
        np.savez(
            buffer,
            seen=np.array(sorted(self.seen), dtype=str),
            selected=np.array(self.selected, dtype=str),
            embeddings=self.embeddings,
            history=np.array(json.dumps(self.history)),
        )
        with atomic_write(self.path, "wb") as handle:
            handle.write(buffer.getvalue())
        write_text(self.folder / "history.json", json.dumps(self.history, indent=2) + "\n")


def datapool_folder(base: str, name: str) -> Path:
    if not _NAME.fullmatch(name):
        raise ConfigError("datapool.name", f"{name!r} is not a valid name: use letters, digits, '.', '_' and '-'")
    return Path(base) / "datapools" / name


def load_datapool(base: str, name: str) -> Datapool:
    """The pool called ``name`` under ``base`` (shared_dir or output_dir); empty when new."""
    folder = datapool_folder(base, name)
    pool = Datapool(name=name, folder=folder)
    if not pool.path.exists():
        return pool
    try:
        with np.load(pool.path, allow_pickle=False) as data:
            pool.seen = set(data["seen"].tolist())
            pool.selected = data["selected"].tolist()
            pool.embeddings = data["embeddings"].astype(np.float32)
            pool.history = json.loads(str(data["history"]))
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(str(pool.path), f"datapool file cannot be read: {exc}") from None
    return pool
