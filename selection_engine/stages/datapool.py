"""Datapools: selections that accumulate over runs (``datapool.name``).

A pool remembers every sample it has seen and the embeddings of every sample it selected. A
later run treats earlier picks as already selected and offers only unseen samples as candidates,
so each run adds what is new and different. Stored as one ``datapool.npz`` (written atomically)
plus a readable ``history.json`` under ``<shared_dir or output_dir>/datapools/<name>/``.

:func:`earlier_in` tells the selection stage what the pool holds for this run's samples;
:func:`save_run` adds the run's picks once everything else is written.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..fileio import atomic_write, write_text
from ..formats.embeddings import EmbeddingTable
from ..progress import Reporter


@dataclass
class Datapool:
    name: str
    folder: Path
    seen: set[str] = field(default_factory=set)
    selected: list[str] = field(default_factory=list)
    #: float32 (len(selected), D), the embeddings the picks had when they were selected.
    embeddings: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    history: list[dict[str, Any]] = field(default_factory=list)

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


def load_datapool(folder: Path, name: str) -> Datapool:
    """The pool called ``name`` stored in ``folder`` (see config.paths.datapool_folder); empty when new."""
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


def earlier_in(pool: Datapool, table: EmbeddingTable, reporter: Reporter) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """What ``pool`` holds for the N samples of ``table`` (embeddings (N, D)): (candidates bool
    (N,), the samples the pool has not seen; preselected int64 (P,), the in-run indices of its
    picks; external float32 (M, D) or None, the stored embeddings of its picks that are not in
    this input, None when there are none or their dimension is not D)."""
    n = len(table)
    index = {f: i for i, f in enumerate(table.filenames)}
    seen = np.array([f in pool.seen for f in table.filenames], dtype=bool)
    candidates = ~seen
    preselected = np.array([index[f] for f in pool.selected if f in index], dtype=np.int64)
    absent = [i for i, f in enumerate(pool.selected) if f not in index]
    external = None
    if absent:
        if pool.embeddings.shape[1] == table.embeddings.shape[1]:
            external = pool.embeddings[absent]
        else:
            reporter.log(
                f"Warning: {len(absent)} earlier picks of datapool {pool.name} are not in this input and their stored "
                f"embeddings have dimension {pool.embeddings.shape[1]}, not {table.embeddings.shape[1]}; ignoring them."
            )
    reporter.log(
        f"Datapool {pool.name}: {len(pool.selected)} samples selected earlier, {int(seen.sum())} of the {n} "
        f"samples seen before, {int(candidates.sum())} new candidates."
    )
    return candidates, preselected, external


def save_run(
    pool: Datapool, table: EmbeddingTable, picks: np.ndarray, run_dir: str, keep_history: bool, reporter: Reporter
) -> None:
    """Record that the run in ``run_dir`` saw every sample of ``table`` and picked ``picks``
    (int64 (k,) row indices), and save the pool."""
    picked = [table.filenames[i] for i in picks]
    pool.record(table.filenames, picked, table.embeddings[picks], run_dir, keep_history)
    pool.save()
    reporter.log(f"Datapool {pool.name} now holds {len(pool.selected)} selected of {len(pool.seen)} seen samples.")
