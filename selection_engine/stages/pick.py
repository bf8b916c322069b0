"""The selection stage: what counts as selected already, the objectives, and the picks.

:func:`earlier_picks` gathers the samples that count as selected before this run picks (a
datapool's earlier picks, the labeled files) and the candidates left; :func:`pick` builds the
objectives and runs the combined greedy selection; :func:`not_candidate_reasons` says, for
``removed_samples.csv``, why the samples that could never be picked were left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import SelectionConfig
from ..errors import InputError
from ..formats.embeddings import EmbeddingTable
from ..progress import Reporter
from ..selection import Objective, SelectionData, SelectionResult, build_objectives, select, target_count, typicality
from .datapool import Datapool, earlier_in
from .samples import read_filename_list


@dataclass
class Earlier:
    """What counts as selected before this run picks, over the N samples of the run."""

    #: the datapool named by ``datapool.name``; None without one
    pool: Datapool | None
    #: bool (N,): samples this run may pick (not seen by the datapool, not labeled)
    candidates: np.ndarray
    #: int64 (P,), sorted: in-run indices of the datapool's picks and of the labeled samples
    preselected: np.ndarray
    #: float32 (M, D): the datapool's picks that are not in this input; None when there are none
    external: np.ndarray | None
    #: int64 (L,), sorted: in-run indices of the samples in ``labeled_filenames_file``
    labeled: np.ndarray

    @property
    def n_labeled(self) -> int:
        """How many samples count as labeled: in this input or the datapool's absent picks."""
        return len(self.preselected) + (len(self.external) if self.external is not None else 0)


@dataclass
class Picked:
    """The selection stage's outcome."""

    result: SelectionResult
    #: one per strategy, in the selection config's order
    objectives: list[Objective]
    #: bool (N,): the samples that could be picked, after THRESHOLD and SIMILARITY removed theirs
    candidates: np.ndarray


def earlier_picks(
    table: EmbeddingTable, pool: Datapool | None, labeled_file: str, shared_dir: str, reporter: Reporter
) -> Earlier:
    """The samples of ``table`` that count as selected already: ``pool``'s picks (its other seen
    samples are no candidates either) and those listed in ``labeled_file`` (relative to
    ``shared_dir``; "" for none)."""
    n = len(table)
    if pool is None:
        candidates, preselected, external = np.ones(n, dtype=bool), np.zeros(0, dtype=np.int64), None
    else:
        candidates, preselected, external = earlier_in(pool, table, reporter)
    labeled = _labeled(table.filenames, labeled_file, shared_dir, reporter)
    candidates[labeled] = False
    preselected = np.union1d(preselected, labeled).astype(np.int64)
    return Earlier(pool, candidates, preselected, external, labeled)


def selection_device(embedding_device: str) -> str:
    """Where the selection loop runs: on the GPU the run embedded on, else on the CPU (an
    embeddings file's run, a CPU run)."""
    return embedding_device if embedding_device.startswith("cuda") else "cpu"


def pick(
    table: EmbeddingTable,
    data: SelectionData,
    selection: SelectionConfig,
    earlier: Earlier,
    seed: int,
    reporter: Reporter,
    device: str = "cpu",
) -> Picked:
    """Select from the candidates of ``earlier`` with the strategies of ``selection``;
    ``table.embeddings`` (N, D) as used for selection, on ``device``. Sets ``data.n_labeled``
    and, when a strategy reads it, ``data.typicality`` before the objectives are built."""
    data.n_labeled = earlier.n_labeled
    if selection.uses_typicality:
        data.typicality = typicality(table.embeddings, seed=seed)
    candidates = earlier.candidates.copy()
    objectives = build_objectives(selection, data, candidates, seed)
    reporter.log(f"Sampling dataset with stopping condition: {_describe_stop(selection, int(candidates.sum()))}")
    result = select(table.embeddings, selection, objectives, candidates, earlier.preselected, earlier.external, device=device)
    if result.skipped:
        reporter.log(
            "Skipped sampling because the number of remaining images is smaller than the number of "
            f"requested samples: all {len(result.indices)} are selected."
        )
    else:
        reporter.log(f"Sampled {len(result.indices)} images ({result.stop_reason}).")
    return Picked(result, objectives, candidates)


def not_candidate_reasons(filenames: list[str], earlier: Earlier, objectives: list[Objective]) -> dict[str, str]:
    """Why samples that were never candidates were left out (labeled, datapool, THRESHOLD, SIMILARITY)."""
    reasons = {filenames[i]: "labeled already (labeled_filenames_file)" for i in earlier.labeled}
    for objective in objectives:
        if objective.excluded is None:
            continue
        for i in np.flatnonzero(objective.excluded):
            if objective.kind == "threshold":
                assert objective.values is not None, "a THRESHOLD objective keeps the values it compared"
                reasons[filenames[i]] = f"excluded by {objective.label} (value {objective.values[i]:.6g})"
            else:
                reasons[filenames[i]] = "query sample of SIMILARITY"
    pool = earlier.pool
    if pool is not None:
        before = set(pool.selected)
        for i in np.flatnonzero(~earlier.candidates):
            name = filenames[i]
            reasons.setdefault(name, (
                f"selected in an earlier run of datapool {pool.name}"
                if name in before
                else f"processed in an earlier run of datapool {pool.name}"
            ))
    return reasons


def _labeled(filenames: list[str], labeled_file: str, shared_dir: str, reporter: Reporter) -> np.ndarray:
    """Sorted indices into ``filenames`` of the samples listed in ``labeled_file`` (empty without one)."""
    if not labeled_file:
        return np.zeros(0, dtype=np.int64)
    listed = read_filename_list(shared_dir, labeled_file, "labeled_filenames_file")
    index = {f: i for i, f in enumerate(filenames)}
    labeled = np.array(sorted({index[f] for f in listed if f in index}), dtype=np.int64)
    absent = [f for f in listed if f not in index]
    if listed and not len(labeled):
        raise InputError(labeled_file, f"none of its {len(listed)} files is a sample of this run, e.g. {absent[0]!r}")
    if absent:
        reporter.log(
            f"Warning: {len(absent)} of the {len(listed)} labeled files are not samples of this run (e.g. {absent[0]!r}); "
            "ignoring them."
        )
    reporter.log(f"{len(labeled)} samples are labeled already: they count as selected and are not picked again.")
    return labeled


def _describe_stop(selection: SelectionConfig, n_candidates: int) -> str:
    parts = []
    k = target_count(selection, n_candidates)
    if k is not None:
        parts.append(f"n_samples={k}")
    if selection.min_distance is not None:
        parts.append(f"min_distance={selection.min_distance}")
    return ", ".join(parts)
