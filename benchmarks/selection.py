"""Selection speed on the path that ships: ``select()`` as the pipeline calls it, against the
memory-bandwidth bound and a per-step scikit-learn baseline.

    .venv/bin/python benchmarks/selection.py [--k 1000] [--baseline-k K] [--only 1M]

For each data set — 1,000,000 x 32 and 100,000 x 128 unit-length random embeddings, and the
embeddings of scikit-learn's 1,797 digits through the engine's default embedding (ResNet-18,
random weights, unit length) — it prints, per pick:

* the bound: one read of the N·D·4 bytes of embeddings at the copy bandwidth measured in this
  run (STREAM convention: bytes read + bytes written per second by a large ``np.copyto``);
* ``select()`` for coreset (DIVERSITY) and for coral (DIVERSITY + WEIGHTS of a score), built by
  ``build_objectives`` from the selection config the pipeline would use, and its ratio to the bound;
* the torch tracker on this machine's CPU (``backend="torch"``), and on a GPU when one is present;
* the baseline: per step, ``sklearn.metrics.pairwise_distances`` to the new center and
  ``np.minimum``, over the same k picks (``--baseline-k`` fewer, for a quicker look), against
  ``select()`` coreset over as many picks;
* whether half-precision storage (torch, float16 embeddings) changes the picks.

The first call of each compiled pass is made before timing (compilation is not a selection cost).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import pairwise_distances

from selection_engine.config import resolve
from selection_engine.selection import SelectionData, build_objectives, select

CORESET = [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}]
CORAL = CORESET + [{"input": {"type": "SCORES", "column": "score"}, "strategy": {"type": "WEIGHTS"}}]


def unit_rows(n: int, d: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, d), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def digits_embeddings() -> np.ndarray:
    """The digits through the engine's default embedding (benchmarks/active_learning.py's)."""
    from active_learning import embeddings  # this folder is on sys.path when the script runs

    return embeddings(64)[0]["random weights"]


def copy_bandwidth(x: np.ndarray, repeats: int = 10) -> float:
    """Bytes moved per second by a large array copy (read + write), best of ``repeats``."""
    target = np.empty_like(x)
    np.copyto(target, x)  # fault the pages in first
    best = min(_seconds(np.copyto, target, x) for _ in range(repeats))
    return 2 * x.nbytes / best


def _seconds(fn, *args, **kwargs) -> float:
    began = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - began


def run_select(x: np.ndarray, strategies: list[dict], k: int, **options) -> np.ndarray:
    """``select()`` exactly as the pipeline's pick stage calls it."""
    config = resolve(selection_config={"n_samples": k, "strategies": strategies}).selection
    scores = np.random.default_rng(1).random(len(x))
    data = SelectionData(n=len(x), scores={"score": scores})
    candidates = np.ones(len(x), dtype=bool)
    objectives = build_objectives(config, data, candidates, seed=0)
    return select(x, config, objectives, candidates, **options).indices


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


def prunable_share(x: np.ndarray, picks: np.ndarray) -> float:
    """The share of point visits exact triangle-inequality pruning could skip along ``picks``.

    Points are grouped by their nearest center; a new center c can only move points of a group
    whose center a lies closer than twice the group's radius (d(a, c) < 2 R_a). Pruning can win
    only if most groups fail that test in most picks; this counts the points of the groups that
    do, pick by pick (float64, exact).
    """
    x = x.astype(np.float64)
    nearest = np.zeros(len(x), dtype=np.int64)  # index into picks
    dist = np.sqrt(((x - x[picks[0]]) ** 2).sum(1))
    skipped = 0
    for t in range(1, len(picks)):
        centers = x[picks[:t]]
        radius = np.zeros(t)
        np.maximum.at(radius, nearest, dist)
        to_new = np.sqrt(((centers - x[picks[t]]) ** 2).sum(1))
        safe = to_new >= 2 * radius
        skipped += int(safe[nearest].sum())
        new = np.sqrt(((x - x[picks[t]]) ** 2).sum(1))
        closer = new < dist
        nearest[closer], dist[closer] = t, new[closer]
    return skipped / (len(x) * (len(picks) - 1))


def timed_picks(label: str, bound_ms: float, k: int, fn, *args, **kwargs) -> tuple[np.ndarray, float]:
    began = time.perf_counter()
    picks = fn(*args, **kwargs)
    per_pick = (time.perf_counter() - began) / k * 1e3
    print(f"  {label:<34} {per_pick:8.3f} ms/pick  {per_pick / bound_ms:6.2f}x bound")
    return picks, per_pick


def bench(name: str, x: np.ndarray, k: int, baseline_k: int) -> None:
    import torch

    bound_ms = x.nbytes / copy_bandwidth(x) * 1e3
    print(f"\n{name}: {x.shape[0]:,} x {x.shape[1]} float32 ({x.nbytes / 1e6:.0f} MB), k = {k}")
    print(f"  {'bound (one read per pick)':<34} {bound_ms:8.3f} ms/pick")
    run_select(x[:2000], CORAL, 5)  # compile the passes outside the timings
    coreset, coreset_ms = timed_picks("select() coreset", bound_ms, k, run_select, x, CORESET, k)
    coral, _ = timed_picks("select() coral", bound_ms, k, run_select, x, CORAL, k)
    on_torch, _ = timed_picks("select() coreset, torch on CPU", bound_ms, k, run_select, x, CORESET, k, backend="torch")
    print(f"  torch tracker picks = compiled tracker picks: {np.array_equal(on_torch, coreset)}")
    if torch.cuda.is_available():
        run_select(x[:2000], CORESET, 5, device="cuda")
        gpu, _ = timed_picks(f"select() coreset, {torch.cuda.get_device_name()}", bound_ms, k, run_select, x, CORESET, k,
                             device="cuda")
        timed_picks("select() coral, GPU", bound_ms, k, run_select, x, CORAL, k, device="cuda")
        print(f"  GPU picks = CPU picks: {np.array_equal(gpu, coreset)}")
    base_k = min(baseline_k, k)
    base, base_ms = timed_picks(f"baseline ({base_k} picks)", bound_ms, base_k, baseline_k_center, x, base_k)
    ours_ms = coreset_ms
    if base_k < k:  # the same number of picks on both sides
        _, ours_ms = timed_picks(f"select() coreset ({base_k} picks)", bound_ms, base_k, run_select, x, CORESET, base_k)
    print(f"  speed-up vs baseline: {base_ms / ours_ms:.1f}x (same picks: {np.array_equal(base, coreset[:base_k])})")
    half = run_select(x.astype(np.float16).astype(np.float32), CORESET, min(k, 200))
    same = int(np.argmax(half != coreset[: len(half)])) if (half != coreset[: len(half)]).any() else len(half)
    print(f"  float16 storage: first {same} of {len(half)} picks as in float32")
    print(f"  coral differs from coreset in {int((coral != coreset).sum())} of {k} picks")
    sample = x if len(x) <= 100_000 else x[np.random.default_rng(2).choice(len(x), 100_000, replace=False)]
    picks = run_select(sample, CORESET, min(k, 200))
    share = prunable_share(sample, picks)
    print(f"  triangle-inequality pruning could skip {share:.1%} of point visits ({len(picks)} picks on {len(sample):,} points)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--baseline-k", type=int, default=None, help="picks of the baseline (default: k)")
    parser.add_argument("--only", choices=["1M", "100k", "digits"], default=None)
    args = parser.parse_args()
    sets = {
        "1M": lambda: ("unit random 1M x 32", unit_rows(1_000_000, 32), args.k),
        "100k": lambda: ("unit random 100k x 128", unit_rows(100_000, 128), args.k),
        "digits": lambda: ("digits, default embedding", digits_embeddings(), min(args.k, 180)),
    }
    for key, make in sets.items():
        if args.only in (None, key):
            name, x, k = make()
            bench(name, x, k, args.baseline_k or k)


if __name__ == "__main__":
    main()
