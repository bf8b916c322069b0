"""The two per-pick passes of the selection loop, compiled (numba) and run on every CPU core.

numpy would spend one call, and one trip through memory, per operation of the update
(``x @ c``, ``+ |x|²``, ``max(·, 0)``, ``minimum``, the nearest-pick mask, ``argmax``): each
re-reads N-sized arrays the matrix-vector product has just left. These kernels do the whole
update in the one pass over the embeddings, row block by row block, in float32:

* :func:`update` lowers every point's squared distance to the selection with a new center,
  records which pick is nearest, and finds the farthest pickable point (lowest index on ties).
* :func:`best_total` finds the pickable point with the largest ``static + weight · distance /
  farthest (+ extra)``: coral's and every strategy mix's choice, one more pass over N floats.

Each block reports its best (value, index); the caller takes the first block with the largest
value, so ties go to the lowest index as ``np.argmax`` would. Compiled on first use (about a
second) and cached on disk next to this file when it is writable.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

Array = np.ndarray

#: Let LLVM reorder the D-long dot product into SIMD lanes; no "no infinities" assumption
#: (distances start at +inf before anything is selected).
_FAST = {"reassoc", "contract"}


@njit(parallel=True, fastmath=_FAST, cache=True, nogil=True)
def update(  # pragma: no cover - compiled
    x: Array, sq: Array, center: Array, center_sq: np.float32, min_sq: Array, nearest: Array, index: int, pickable: Array,
    best_value: Array, best_index: Array,
) -> None:
    n, d = x.shape
    blocks = best_value.shape[0]
    size = (n + blocks - 1) // blocks
    track = nearest.shape[0] == n
    for b in prange(blocks):
        lo = b * size
        hi = min(n, lo + size)
        top = np.float32(-1.0)
        top_index = -1
        for i in range(lo, hi):
            dot = np.float32(0.0)
            for j in range(d):
                dot += x[i, j] * center[j]
            d2 = sq[i] - np.float32(2.0) * dot + center_sq
            if d2 < 0:  # rounding can make |x-c|² of near-duplicates negative
                d2 = np.float32(0.0)
            current = min_sq[i]
            if d2 < current:
                current = d2
                min_sq[i] = d2
                if track:
                    nearest[i] = index
            if pickable[i] and current > top:
                top = current
                top_index = i
        best_value[b] = top
        best_index[b] = top_index


@njit(parallel=True, fastmath=_FAST, cache=True, nogil=True)
def best_total(  # pragma: no cover - compiled
    min_sq: Array, pickable: Array, static: Array, weight: Array, extra: Array, inverse_far: np.float32,
    best_value: Array, best_index: Array,
) -> None:
    n = min_sq.shape[0]
    blocks = best_value.shape[0]
    size = (n + blocks - 1) // blocks
    per_sample = weight.shape[0] == n
    has_extra = extra.shape[0] == n
    first = inverse_far == 0.0  # nothing selected yet: every candidate is infinitely far, a tie at 1
    for b in prange(blocks):
        lo = b * size
        hi = min(n, lo + size)
        top = -np.inf
        top_index = -1
        for i in range(lo, hi):
            if not pickable[i]:
                continue
            w = weight[i] if per_sample else weight[0]
            term = np.float32(1.0) if first else np.sqrt(min_sq[i]) * inverse_far
            total = static[i] + w * term
            if has_extra:
                total += extra[i]
            if total > top:
                top = total
                top_index = i
        best_value[b] = top
        best_index[b] = top_index


def blocks() -> int:
    """Row blocks per pass: several per thread, so a slow thread does not hold the others up."""
    return 8 * numba.get_num_threads()


def first_best(best_value: np.ndarray, best_index: np.ndarray) -> int:
    """The index of the best block's best row (the lowest index on ties); -1 when no block has one."""
    block = int(np.argmax(best_value))
    return int(best_index[block])
