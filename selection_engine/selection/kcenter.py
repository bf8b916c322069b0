"""Greedy k-center (farthest point first): the one core of every selection.

Each pick lowers every point's distance-to-selection with the new center and finds the
farthest candidate. That update is one pass over the N·D floats of the embeddings, fused with
everything else a pick needs (``kernels.update``), so the loop runs at memory bandwidth. On a
GPU the same update runs in torch (``torch_tracker.TorchTracker``) on the device.

``select.select`` drives a tracker for every strategy mix; :func:`greedy_k_center` is that loop
with DIVERSITY alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


class Tracker:
    """A distance tracker, on any device: what the selection loop asks of it, and what every
    tracker does the same way whatever holds its arrays.

    Every point has a squared distance to its nearest selected point (+inf before anything is
    selected) and, when tracked, the index of that point (-1: none, or a pick outside the data).
    Pickable points are the candidates not yet selected; :attr:`far_index` is the pickable point
    farthest from the selection (lowest index on ties; -1 when none is left) and :attr:`far_sq`
    its squared distance. Subclasses hold the arrays and implement ``_update`` and the rest.
    """

    pickable: Any
    selected: Any
    x: Any
    far_index: int
    far_sq: float

    def _start(self, pickable: np.ndarray) -> None:
        """Before anything is selected every candidate is infinitely far: the first one is the farthest."""
        self.far_index = int(np.argmax(pickable)) if pickable.any() else -1
        self.far_sq = float("inf") if self.far_index >= 0 else -1.0

    def add(self, index: int) -> None:
        """Select point ``index``: lower every distance with it; find the new farthest candidate."""
        self.pickable[index] = False
        self.selected[index] = True
        self._update(self.x[index], index)

    def inverse_far(self) -> float:
        """1 / the farthest candidate's distance: DIVERSITY's term is distance × this. 0 before
        anything is selected, when every candidate is infinitely far and the term is 1 for all."""
        return 0.0 if np.isinf(self.far_sq) else 1.0 / max(float(np.sqrt(self.far_sq)), 1e-12)

    def distance_term(self, index: int) -> float:
        """DIVERSITY's term for ``index`` at this pick, in [0, 1]."""
        inverse = self.inverse_far()
        return 1.0 if inverse == 0.0 else float(np.sqrt(max(self.sq_at(index), 0.0))) * inverse

    def _update(self, center: Any, index: int) -> None:
        raise NotImplementedError

    def add_external(self, centers: np.ndarray) -> None:
        """Count points outside the data (e.g. a datapool's earlier picks) as selected."""
        raise NotImplementedError

    def sq_at(self, index: int) -> float:
        raise NotImplementedError

    def best_total(self, static: np.ndarray, weight: float | np.ndarray, extra: np.ndarray | None) -> int:
        """The pickable point with the largest ``static + weight · distance term (+ extra)``;
        float32 (N,) arrays; ``weight`` a number or float32 (N,)."""
        raise NotImplementedError

    def results(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """(min_sq float32 (N,), nearest int64 (N,) or None, selected bool (N,)) as numpy arrays."""
        raise NotImplementedError


class DistanceTracker(Tracker):
    """The CPU tracker: float32 embeddings (N, D) in memory, the per-pick passes compiled.

    candidates: bool (N,), the points that may be picked (default all); the others still get
    their distances (the removed-samples report reads them).
    """

    def __init__(self, embeddings: np.ndarray, candidates: np.ndarray | None = None, track_nearest: bool = False):
        self.x = np.ascontiguousarray(embeddings, dtype=np.float32)
        if self.x.ndim != 2:
            raise ValueError(f"embeddings must be a 2-D array (N, D), got shape {self.x.shape}")
        n = self.x.shape[0]
        self.sq_norms = np.einsum("ij,ij->i", self.x, self.x)
        self.min_sq = np.full(n, np.inf, dtype=np.float32)
        self.nearest = np.full(n, -1, dtype=np.int64) if track_nearest else None
        self.pickable = np.ones(n, dtype=bool) if candidates is None else np.array(candidates, dtype=bool)
        self.selected = np.zeros(n, dtype=bool)
        from . import kernels  # numba loads (about half a second) only when something is selected

        self._kernels = kernels
        blocks = kernels.blocks()
        self._best_value = np.empty(blocks, dtype=np.float32)
        self._best_index = np.empty(blocks, dtype=np.int64)
        self._no_nearest = np.empty(0, dtype=np.int64)
        self._none = np.empty(0, dtype=np.float32)
        self._weight = np.empty(1, dtype=np.float32)
        self._start(self.pickable)

    def add_external(self, centers: np.ndarray) -> None:
        for center in np.asarray(centers, dtype=np.float32).reshape(-1, self.x.shape[1]):
            self._update(np.ascontiguousarray(center), -1)

    def _update(self, center: np.ndarray, index: int) -> None:
        center_sq = np.float32(np.dot(center, center))
        nearest = self.nearest if self.nearest is not None else self._no_nearest
        kernels = self._kernels
        kernels.update(self.x, self.sq_norms, center, center_sq, self.min_sq, nearest, index, self.pickable,
                       self._best_value, self._best_index)
        self.far_index = kernels.first_best(self._best_value, self._best_index)
        self.far_sq = float(self.min_sq[self.far_index]) if self.far_index >= 0 else -1.0

    def sq_at(self, index: int) -> float:
        return float(self.min_sq[index])

    def best_total(self, static: np.ndarray, weight: float | np.ndarray, extra: np.ndarray | None) -> int:
        if not isinstance(weight, np.ndarray):
            self._weight[0] = weight
        weights = weight if isinstance(weight, np.ndarray) else self._weight
        kernels = self._kernels
        kernels.best_total(self.min_sq, self.pickable, static, weights, self._none if extra is None else extra,
                           np.float32(self.inverse_far()), self._best_value, self._best_index)
        return int(kernels.first_best(self._best_value, self._best_index))

    def results(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        return self.min_sq, self.nearest, self.selected


def tracker_for(
    embeddings: np.ndarray,
    candidates: np.ndarray | None = None,
    track_nearest: bool = False,
    device: str = "cpu",
    backend: str | None = None,
) -> Tracker:
    """The tracker for ``device``: the compiled CPU one, or torch's on a GPU ("cuda", "cuda:1").
    ``backend`` ("numba" or "torch") overrides the choice (torch on "cpu" runs its CPU build)."""
    if (backend or ("numba" if device == "cpu" else "torch")) == "torch":
        from .torch_tracker import TorchTracker  # torch loads only for GPU selection

        return TorchTracker(embeddings, candidates, track_nearest, device)
    return DistanceTracker(embeddings, candidates, track_nearest)


def greedy_k_center(
    embeddings: np.ndarray,
    k: int,
    already_selected: npt.ArrayLike | None = None,
    device: str = "cpu",
    backend: str | None = None,
) -> np.ndarray:
    """Pick ``k`` points by greedy k-center; returns their indices (int64) in pick order.

    embeddings: float32 (N, D). ``already_selected``: indices counted as selected before the
    first pick (never returned again). With nothing selected the first pick is index 0 (all
    distances are infinite; ties go to the lowest index). When ``k`` covers every candidate,
    returns them all in index order. Exactly what ``select`` picks for DIVERSITY alone.
    """
    from ..config.selection import SelectionConfig, SelectionStrategy, StrategySpec
    from .objectives import Objective
    from .select import select

    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    config = SelectionConfig(n_samples=k, strategies=[StrategySpec(strategy=SelectionStrategy(type="DIVERSITY"))])
    preselected = np.asarray(already_selected if already_selected is not None else [], dtype=np.int64)
    return select(embeddings, config, [Objective("DIVERSITY", "diversity")], preselected=preselected, device=device,
                  backend=backend).indices
