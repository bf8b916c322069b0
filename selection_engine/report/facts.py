"""The numbers of a run's report: distance, score and class statistics (all vs selected).

Everything here is a pure function of arrays; ``report.json`` and ``report.pdf`` both print
what these return, so the two always agree.
"""

from __future__ import annotations

import numpy as np

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


def summary(values: np.ndarray) -> dict:
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


def distance_facts(embeddings: np.ndarray, selected: np.ndarray, seed: int = 0) -> tuple[dict, dict[str, np.ndarray]]:
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


def score_facts(scores: dict[str, np.ndarray], selected: np.ndarray) -> dict:
    """Per score: statistics over all samples and over the selected ones."""
    return {name: {"all": summary(values), "selected": summary(values[selected])} for name, values in scores.items()}


def class_facts(class_counts: dict, selected: np.ndarray) -> dict:
    """Per task: objects per class over all samples and over the selected ones, and the shares."""
    facts = {}
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
