"""The facts of a run's report: ``report.json`` (:func:`run_report`) and its distance, score and
class statistics (all vs selected).

Everything here is a pure function of arrays and values; ``report.json`` and ``report.pdf`` both
print what these return, so the two always agree.
"""

from __future__ import annotations

import platform
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..formats.predictions import LoadedPredictions
    from ..selection import Objective
    from ..selection.objectives import ClassCounts
    from ..sources import Source

WEIGHING = (
    "Each pick maximises the sum over strategies of strength x term, each term in [0, 1]: DIVERSITY, "
    "the distance to the nearest selected sample divided by the largest such distance among the "
    "candidates; WEIGHTS, the input rescaled to [0, 1] over the candidates; SIMILARITY, closeness to "
    "the nearest query sample, rescaled likewise; BALANCE, how much the sample moves the selection's "
    "class mix toward the target (L1), rescaled over the candidates. THRESHOLD removes candidates. "
    "A DIVERSITY weighed by typicality multiplies its term by t^w, t the typicality (inverse mean "
    "distance to the 20 nearest neighbours) rescaled to [0, 1]; coral's COLD_START uses w = 0.5 with "
    "no labels, falling linearly to 0 at 30 labeled samples per class."
)

#: Memory the nearest-neighbour search may use for one block of distances, in bytes.
DISTANCE_MEMORY_BYTES = 256 * 1024**2
#: Above this many points, nearest-neighbour distances are measured for a random sample of
#: query points (each still searched against all points): the histogram needs no more.
MAX_QUERY_POINTS = 20_000


def nearest_neighbour_distances(points: np.ndarray, seed: int = 0, max_queries: int = MAX_QUERY_POINTS) -> np.ndarray:
    """Distance from each (sampled) point to its nearest other point. points: float32 (N, D).

    Returns float64 (min(N, max_queries),); empty when N < 2. Blocks of queries are sized so a
    block of distances stays under DISTANCE_MEMORY_BYTES.
    """
    n = len(points)
    if n < 2:
        return np.zeros(0)
    queries = np.arange(n)
    if n > max_queries:
        queries = np.sort(np.random.default_rng(seed).choice(n, max_queries, replace=False))
    x = np.ascontiguousarray(points, dtype=np.float32)
    sq = np.einsum("ij,ij->i", x, x)
    block = max(1, DISTANCE_MEMORY_BYTES // (4 * n))
    out = np.empty(len(queries))
    for start in range(0, len(queries), block):
        rows = queries[start : start + block]
        d2 = sq[rows, None] - 2.0 * (x[rows] @ x.T) + sq[None, :]
        d2[np.arange(len(rows)), rows] = np.inf  # a point is not its own neighbour
        out[start : start + block] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out


def summary(values: np.ndarray) -> dict[str, Any]:
    """count, mean, std, min, quartiles and max of a 1-D array (None entries when empty)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {"count": 0, "mean": None, "std": None, "min": None, "p25": None, "median": None, "p75": None, "max": None}
    q = np.percentile(values, [0, 25, 50, 75, 100])
    return {
        "count": int(values.size),
        "mean": round(float(values.mean()), 6),
        "std": round(float(values.std()), 6),
        "min": round(float(q[0]), 6),
        "p25": round(float(q[1]), 6),
        "median": round(float(q[2]), 6),
        "p75": round(float(q[3]), 6),
        "max": round(float(q[4]), 6),
    }


def distance_facts(embeddings: np.ndarray, selected: np.ndarray, seed: int = 0) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Nearest-neighbour distance statistics before (all samples) and after (the selection).

    Returns (facts for report.json, the raw distance arrays for the histograms).
    """
    before = nearest_neighbour_distances(embeddings, seed)
    after = nearest_neighbour_distances(embeddings[selected], seed)
    facts = {
        "before": summary(before),
        "after": summary(after),
        "sampled": len(embeddings) > MAX_QUERY_POINTS,
    }
    return facts, {"before": before, "after": after}


def score_facts(scores: dict[str, np.ndarray], selected: np.ndarray) -> dict[str, Any]:
    """Per score: statistics over all samples and over the selected ones."""
    return {name: {"all": summary(values), "selected": summary(values[selected])} for name, values in scores.items()}


def class_facts(class_counts: dict[str, ClassCounts], selected: np.ndarray) -> dict[str, Any]:
    """Per task: objects per class over all samples and over the selected ones, and the shares."""
    facts: dict[str, Any] = {}
    for task, classes in class_counts.items():
        before = classes.counts.sum(axis=0)
        after = classes.counts[selected].sum(axis=0)
        facts[task] = {
            "classes": list(classes.names),
            "before": [int(v) for v in before],
            "after": [int(v) for v in after],
            "share_before": [round(float(v), 6) for v in before / max(before.sum(), 1)],
            "share_after": [round(float(v), 6) for v in after / max(after.sum(), 1)],
        }
    return facts


def job_end(started: datetime, finished: datetime) -> dict[str, Any]:
    """``finished_at`` and ``duration_s`` of a job that ran from ``started`` to ``finished``."""
    return {"finished_at": finished.isoformat(timespec="seconds"), "duration_s": round((finished - started).total_seconds(), 3)}


def run_report(
    *,
    run_directory: str,
    started: datetime,
    finished: datetime,
    stage_durations: dict[str, float],
    files_seen: int,
    source: Source | None,
    corrupt: int,
    duplicates: int,
    candidates: int,
    predictions: LoadedPredictions | None,
    selected: int,
    removed: int,
    stop_reason: str,
    embedding_dimension: int,
    device: str,
    compute_efficiency: float | None,
    training: dict[str, Any] | None,
    objectives: list[Objective],
    labeled: int,
    datapool: str | None,
    config: dict[str, Any],
    statistics: dict[str, Any],
) -> dict[str, Any]:
    """``report.json`` of a completed run, less ``plots`` (added once the figures are drawn).

    ``source``: the datasource (its rejected paths and label), None when an embeddings file gave
    the samples; ``corrupt``, ``duplicates``, ``candidates``, ``selected``, ``removed``, ``labeled``:
    counts of samples; ``training``: ``Embedded.training_facts()``; ``config``: ``RunConfig.to_dict()``;
    ``statistics``: the sections ``report_facts`` computes.
    """
    return {
        "status": "completed",
        "run_directory": run_directory,
        "job": {
            "started_at": started.isoformat(timespec="seconds"),
            **job_end(started, finished),
            "stage_durations_s": stage_durations,
            "files_seen": files_seen,
            "rejected_paths": [{"filename": n, "reason": r} for n, r in (source.rejected if source else [])],
            "corrupt": corrupt,
            "duplicates": duplicates,
            "candidates": candidates,
            "predictions": _predictions_facts(predictions),
            "selected": selected,
            "removed": removed,
            "stop_reason": stop_reason,
            "embedding_dimension": embedding_dimension,
            "device": device,
            "compute_efficiency": compute_efficiency,
            "training": training,
            "host": platform.node(),
            "datasource": source.label if source is not None else None,
        },
        "selection": {
            "objectives": [_objective_facts(o) for o in objectives],
            "labeled": labeled,
            "weighing": WEIGHING,
            "datapool": datapool,
        },
        "config": config,
        "statistics": statistics,
    }


def _predictions_facts(predictions: LoadedPredictions | None) -> dict[str, Any]:
    if predictions is None:
        return {"tasks": {}, "problems": []}
    return {
        "tasks": {
            task: {"task_type": schema.task_type, "categories": schema.category_names,
                   "files": predictions.n_files.get(task, 0), "images_with_predictions": predictions.coverage(task)}
            for task, schema in predictions.schemas.items()
        },
        "problems": [{"file": p.file, "task": p.task, "message": p.message} for p in predictions.problems],
    }


def _objective_facts(objective: Objective) -> dict[str, Any]:
    facts: dict[str, Any] = {"label": objective.label, "strength": objective.strength}
    if objective.exponent is not None:
        facts["typicality_exponent"] = round(objective.exponent, 4)
    return facts
