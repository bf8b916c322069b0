"""Active-learning scoring speed: Winnow's vectorised scorers vs per-sample Python loops.

    .venv/bin/python benchmarks/scoring.py [--n 1000000] [--boxes 1000000] [--images 100000]

Two workloads, each timed once for ``selection_engine.scoring.compute_scores`` and once for the
loop most of us would write first, with a check that both give the same scores:

1. classification: one 10-class Dirichlet probability vector per image; the baseline loops over
   the rows as Python lists (sorted() for the two largest, math.log for the entropy), which is
   about twice as fast as calling numpy on each 10-element row.
2. object detection: boxes spread uniformly over the images, random classes, box scores and
   10-class probabilities; all five detection scores. The baseline loops over images and, inside,
   over their boxes in pure Python, then rescales the object counts once (again faster than
   numpy on each image's handful of boxes).
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from selection_engine import synthetic
from selection_engine.config.documents import ScorerConfig
from selection_engine.formats.predictions import TaskPredictions, TaskSchema, load_predictions
from selection_engine.scoring import SCORE_NAMES, compute_scores
from selection_engine.sources import LocalSource

N_CLASSES = 10


def _uncertainties(row: list[float], c: int, log_c: float) -> tuple[float, float, float]:
    """(least confidence, margin, entropy) of one probability vector, clipped to [0, 1]."""
    p1, p2 = sorted(row, reverse=True)[:2]
    scores = ((1 - p1) * c / (c - 1), 1 - (p1 - p2), -sum(x * math.log(x) for x in row if x > 0) / log_c)
    return tuple(min(max(s, 0.0), 1.0) for s in scores)


def baseline_classification(probabilities: np.ndarray) -> dict[str, np.ndarray]:
    c = probabilities.shape[1]
    log_c = math.log(c)
    rows = [_uncertainties(row, c, log_c) for row in probabilities.tolist()]
    return dict(zip(SCORE_NAMES["classification"], np.array(rows).T))


def baseline_detection(task: TaskPredictions, config: ScorerConfig) -> dict[str, np.ndarray]:
    c = task.probabilities.shape[1]
    log_c = math.log(c)
    bounds = np.searchsorted(task.image_index, np.arange(task.n_images + 1)).tolist()
    rows, scores, categories = task.probabilities.tolist(), task.score.tolist(), task.category_index.tolist()
    out = []
    for i in range(task.n_images):
        lo, hi = bounds[i], bounds[i + 1]
        if lo == hi:
            out.append((0.0, 0.0, 0.0, 0.0, 0.0))
            continue
        box_scores = [1.0 if math.isnan(s) else s for s in scores[lo:hi]]
        distinct = len(set(categories[lo:hi]))
        count = distinct + config.frequency_penalty * (hi - lo - distinct)
        worst = [max(u) for u in zip(*(_uncertainties(row, c, log_c) for row in rows[lo:hi]))]
        out.append((1 - sum(box_scores) / len(box_scores), count, *worst))
    table = np.array(out)
    counts = table[:, 1]
    low, high = counts.min(), counts.max()
    table[:, 1] = 1.0 if high == low else config.min_score + (1 - config.min_score) * (counts - low) / (high - low)
    return dict(zip(SCORE_NAMES["object-detection"], table.T))


def make_task(task_type: str, image_index: np.ndarray, n_images: int, rng: np.random.Generator) -> TaskPredictions:
    p = len(image_index)
    schema = TaskSchema("bench", task_type, list(range(N_CLASSES)), [f"class{i}" for i in range(N_CLASSES)])
    return TaskPredictions(
        schema=schema,
        n_images=n_images,
        has_file=np.ones(n_images, dtype=bool),
        image_index=image_index,
        category_index=rng.integers(0, N_CLASSES, p),
        score=rng.random(p),
        probabilities=rng.dirichlet(np.ones(N_CLASSES), p),
        bbox=rng.random((p, 4)) * 100,
    )


def _timed(fn, *args):
    """(result, seconds)"""
    began = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - began


def _report(title: str, fast: dict, fast_s: float, base: dict, base_s: float) -> None:
    agree = all(np.allclose(fast[name], base[name]) for name in fast) and list(fast) == list(base)
    print(title)
    print(f"  winnow compute_scores: {fast_s:.3f} s")
    print(f"  per-sample Python loop: {base_s:.3f} s")
    print(f"  speed-up: {base_s / fast_s:.1f}x (target >= 20x); results agree (np.allclose): {agree}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="classification images (one prediction each)")
    parser.add_argument("--boxes", type=int, default=1_000_000)
    parser.add_argument("--images", type=int, default=100_000, help="object-detection images")
    parser.add_argument("--files", type=int, default=100_000, help="prediction files to load from disk")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    config = ScorerConfig()
    print(f"Scoring time, {N_CLASSES} classes, float64 probabilities; one timed run each.")

    task = make_task("classification", np.arange(args.n, dtype=np.int64), args.n, rng)
    fast, fast_s = _timed(compute_scores, task, config)
    base, base_s = _timed(baseline_classification, task.probabilities)
    _report(f"1) classification: {args.n:,} predictions, 3 scores", fast, fast_s, base, base_s)

    image_index = np.sort(rng.integers(0, args.images, args.boxes))
    task = make_task("object-detection", image_index, args.images, rng)
    fast, fast_s = _timed(compute_scores, task, config)
    base, base_s = _timed(baseline_detection, task, config)
    n_empty = args.images - len(np.unique(image_index))
    _report(
        f"2) object detection: {args.boxes:,} boxes over {args.images:,} images ({n_empty} without boxes), 5 scores",
        fast, fast_s, base, base_s,
    )
    loading(args.files)


def loading(n_files: int) -> None:
    """3) reading and validating ``n_files`` object-detection prediction files from disk."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        filenames = [f"images/{i // 1000:03d}/{i:06d}.jpg" for i in range(n_files)]
        synthetic.write_predictions(root, filenames, {"cars": "object-detection"}, seed=0)
        source = LocalSource(root)
        loaded, seconds = _timed(load_predictions, source, filenames)
        boxes = len(loaded.task("cars", filenames).category_index)
    assert not loaded.problems, loaded.problems[:3]
    print(f"3) loading {n_files:,} object-detection prediction files ({boxes:,} boxes), validated")
    print(f"  load_predictions: {seconds:.2f} s = {n_files / seconds:,.0f} files per second")


if __name__ == "__main__":
    main()
