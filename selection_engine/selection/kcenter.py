"""Greedy k-center (farthest point first), the core of every diversity selection.

Each step adds the candidate farthest from everything selected so far, then lowers every
point's distance-to-selection with the new center. The update is one matrix-vector product
over the embeddings (``|x|² - 2 x·c + |c|²``), so a step costs one pass over N·D floats: the
loop runs at memory bandwidth instead of allocating N×1 distance matrices per step.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


class DistanceTracker:
    """Squared distance of every point to its nearest selected point, kept up to date.

    embeddings: float32 (N, D). ``min_sq[i]`` is +inf before anything is selected and -1 for
    selected points, so ``argmax`` over it is the farthest candidate (lowest index on ties).
    ``nearest[i]`` is the index of the selected point closest to i (-1 before any selection).
    """

    SELECTED = -1.0

    def __init__(self, embeddings: np.ndarray, track_nearest: bool = False):
        self.x = np.ascontiguousarray(embeddings, dtype=np.float32)
        if self.x.ndim != 2:
            raise ValueError(f"embeddings must be a 2-D array (N, D), got shape {self.x.shape}")
        n = self.x.shape[0]
        self.sq_norms = np.einsum("ij,ij->i", self.x, self.x)
        self.min_sq = np.full(n, np.inf, dtype=np.float32)
        self.nearest = np.full(n, -1, dtype=np.int64) if track_nearest else None
        self._d2 = np.empty(n, dtype=np.float32)
        self._mask = np.empty(n, dtype=bool) if track_nearest else None

    def add(self, index: int, count_as_candidate: bool = False) -> None:
        """Select point ``index``: lower every distance with it; mark it selected."""
        d2 = self._d2
        # -2 x·c is the one pass over N·D; scaling the vector instead of the result saves a pass.
        np.matmul(self.x, -2.0 * self.x[index], out=d2)
        d2 += self.sq_norms
        d2 += self.sq_norms[index]
        np.maximum(d2, 0.0, out=d2)  # rounding can make |x-c|² of near-duplicates negative
        if self.nearest is not None:
            np.less(d2, self.min_sq, out=self._mask)
            self.nearest[self._mask] = index
        np.minimum(self.min_sq, d2, out=self.min_sq)
        if not count_as_candidate:
            self.min_sq[index] = self.SELECTED

    def add_external(self, centers: np.ndarray) -> None:
        """Count points outside the candidate set (e.g. a datapool's earlier picks) as selected."""
        for center in np.asarray(centers, dtype=np.float32).reshape(-1, self.x.shape[1]):
            d2 = np.maximum(self.sq_norms - 2.0 * (self.x @ center) + float(center @ center), 0.0)
            if self.nearest is not None:
                self.nearest[d2 < self.min_sq] = -1  # nearest pick lies outside this data
            np.minimum(self.min_sq, d2, out=self.min_sq)

    def farthest(self) -> int:
        """Index of the candidate farthest from the selection, or -1 when none is left."""
        if self.min_sq.size == 0:
            return -1
        index = int(np.argmax(self.min_sq))
        return index if self.min_sq[index] != self.SELECTED else -1

    def distances(self) -> np.ndarray:
        """Euclidean distance to the selection (float32, N); -1 for selected points."""
        return np.sqrt(self.min_sq, where=self.min_sq >= 0, out=np.full_like(self.min_sq, -1.0))


def greedy_k_center(embeddings: np.ndarray, k: int, already_selected: npt.ArrayLike | None = None) -> np.ndarray:
    """Pick ``k`` points by greedy k-center; returns their indices (int64) in pick order.

    embeddings: float32 (N, D). ``already_selected``: indices counted as selected before the
    first pick (never returned again). With nothing selected the first pick is index 0 (all
    distances are infinite; ties go to the lowest index). Returns fewer than ``k`` indices
    when the candidates run out.
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    tracker = DistanceTracker(embeddings)
    for index in np.asarray(already_selected if already_selected is not None else [], dtype=np.int64):
        tracker.add(int(index))
    picks: list[int] = []
    while len(picks) < k:
        index = tracker.farthest()
        if index < 0:
            break
        picks.append(index)
        tracker.add(index)
    return np.asarray(picks, dtype=np.int64)
