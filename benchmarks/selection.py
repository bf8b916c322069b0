"""Greedy k-center speed: Winnow's core vs a straightforward baseline, and the memory bound.

    .venv/bin/python benchmarks/selection.py [--n 1000000] [--dim 32] [--k 1000]

Prints the time of ``selection_engine.selection.greedy_k_center``, of a baseline that per step
calls ``sklearn.metrics.pairwise_distances`` to the new center and ``np.minimum`` (the code most
of us would write first), their ratio, and the memory-bandwidth lower bound: k passes over the
N·D·4 bytes of embeddings at the machine's measured copy bandwidth (STREAM convention: bytes
read + bytes written per second).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import pairwise_distances

from selection_engine.selection import greedy_k_center


def baseline_k_center(x: np.ndarray, k: int) -> np.ndarray:
    min_dist = np.full(len(x), np.inf, dtype=np.float64)
    picks = []
    index = 0
    for _ in range(k):
        picks.append(index)
        min_dist = np.minimum(min_dist, pairwise_distances(x, x[index : index + 1]).ravel())
        min_dist[picks] = -1
        index = int(np.argmax(min_dist))
    return np.asarray(picks)


def copy_bandwidth(x: np.ndarray, repeats: int = 10) -> float:
    """Bytes moved per second by a large array copy (read + write), best of ``repeats``."""
    target = np.empty_like(x)
    np.copyto(target, x)  # fault the pages in first
    best = min(_timed(np.copyto, target, x)[1] for _ in range(repeats))
    return 2 * x.nbytes / best


def _timed(fn, *args):
    """(result, seconds)"""
    began = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--k", type=int, default=1000)
    args = parser.parse_args()

    x = np.random.default_rng(0).standard_normal((args.n, args.dim), dtype=np.float32)
    bandwidth = copy_bandwidth(x)
    bound = args.k * x.nbytes / bandwidth
    print(f"embeddings: {args.n:,} x {args.dim} float32 ({x.nbytes / 1e6:.0f} MB), k = {args.k}")
    print(f"copy bandwidth: {bandwidth / 1e9:.1f} GB/s -> memory bound for k passes: {bound:.2f} s")

    picks, winnow_s = _timed(greedy_k_center, x, args.k)
    print(f"winnow greedy_k_center: {winnow_s:.2f} s ({winnow_s / args.k * 1e3:.2f} ms per pick)")

    base, baseline_s = _timed(baseline_k_center, x, args.k)
    print(f"baseline (pairwise_distances + np.minimum per step): {baseline_s:.2f} s")

    agree = int(np.argmax(picks != base)) if (picks != base).any() else len(picks)
    print(f"identical picks: first {agree} of {args.k}")
    print(f"speed-up vs baseline: {baseline_s / winnow_s:.1f}x (target >= 8x)")
    print(f"time / memory bound: {winnow_s / bound:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
