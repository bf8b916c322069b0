"""Report generation at scale: a 100,000-sample run from precomputed embeddings.

    .venv/bin/python benchmarks/report.py [--n 100000] [--dim 32] [--k 1000]

Runs the whole pipeline on an embeddings CSV with an ``al_score`` column (coral, k picks) and
prints the time of each stage, the report's share (statistics, figures, PDF) and the process's
peak memory. As a baseline for the costliest part it times exact nearest-neighbour distances for
all N points with scikit-learn's ``NearestNeighbors`` (brute force), against the report's
block-wise search over a sample of query points.
"""

from __future__ import annotations

import argparse
import io
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from selection_engine import pipeline
from selection_engine.config import resolve
from selection_engine.report.facts import nearest_neighbour_distances


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--k", type=int, default=1000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((50, args.dim))
    x = (centers[rng.integers(0, 50, args.n)] + 0.3 * rng.standard_normal((args.n, args.dim))).astype(np.float32)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        frame = pd.DataFrame(x, columns=[f"embedding_{d}" for d in range(args.dim)])
        frame.insert(0, "filenames", [f"img/{i:07d}.jpg" for i in range(args.n)])
        frame["labels"] = 0
        frame["al_score"] = rng.random(args.n)
        frame.to_csv(root / "embeddings.csv", index=False)
        config = resolve(overrides=[
            f"shared_dir={root}", f"output_dir={root / 'out'}", "embeddings=embeddings.csv", "method=coral",
            "active_learning_score_column_name=al_score", f"stopping_condition.n_samples={args.k}",
        ])
        print(f"{args.n:,} samples x {args.dim} dims, coral selecting {args.k}; peak memory before: {peak_mb():.0f} MB")
        began = time.perf_counter()
        result = pipeline.run(config, show_bars=False, stream=io.StringIO())
        total = time.perf_counter() - began
        stages = result.report["job"]["stage_durations_s"]
        # Everything but the selection stages: statistics, figures, PDF, report.json.
        report_seconds = total - sum(v for k, v in stages.items() if k != "report")
        print("stage durations (s):", ", ".join(f"{k} {v}" for k, v in stages.items()))
        print(f"whole run: {total:.1f} s; "
              f"report (statistics + figures + PDF + report.json): {report_seconds:.1f} s (target < 60 s)")
        print(f"report.pdf: {(result.run_dir / 'report.pdf').stat().st_size / 1e6:.1f} MB, "
              f"{len(result.report['plots'])} figures; peak memory: {peak_mb():.0f} MB")

    normalized = x / np.linalg.norm(x, axis=1, keepdims=True)
    began = time.perf_counter()
    nearest_neighbour_distances(normalized)
    ours = time.perf_counter() - began
    sample = min(args.n, 20_000)
    began = time.perf_counter()
    NearestNeighbors(n_neighbors=2, algorithm="brute").fit(normalized).kneighbors(normalized[:sample])
    base = (time.perf_counter() - began) * args.n / sample  # extrapolated to all N queries
    print(f"nearest-neighbour distances: report's sampled block search {ours:.2f} s; "
          f"exact sklearn brute force for all {args.n:,} points ~{base:.1f} s (measured on {sample:,}, scaled); "
          f"ratio {base / ours:.1f}x")


if __name__ == "__main__":
    main()
