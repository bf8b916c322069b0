"""The selection loop's tracker in torch, for a GPU: the embeddings stay on the device and each
pick is a handful of kernels there (``addmv``, ``minimum``, one ``max``) and one scalar read back.

Same contract and same picks as the CPU tracker (``kcenter.DistanceTracker``) on data without
ties; the tests run it on the CPU build of torch, which computes the same way.
"""

from __future__ import annotations

import numpy as np
import torch

from .kcenter import Tracker


class TorchTracker(Tracker):
    def __init__(self, embeddings: np.ndarray | torch.Tensor, candidates: np.ndarray | None, track_nearest: bool, device: str):
        self.device = torch.device(device)
        self.x = torch.as_tensor(embeddings, dtype=torch.float32, device=self.device).contiguous()
        if self.x.ndim != 2:
            raise ValueError(f"embeddings must be a 2-D array (N, D), got shape {tuple(self.x.shape)}")
        n = self.x.shape[0]
        self.sq_norms = (self.x * self.x).sum(dim=1)
        self.min_sq = torch.full((n,), float("inf"), dtype=torch.float32, device=self.device)
        self.nearest = torch.full((n,), -1, dtype=torch.int64, device=self.device) if track_nearest else None
        pickable = np.ones(n, dtype=bool) if candidates is None else np.asarray(candidates, dtype=bool)
        self.pickable = torch.as_tensor(pickable, device=self.device)
        self.selected = torch.zeros(n, dtype=torch.bool, device=self.device)
        self._d2 = torch.empty(n, dtype=torch.float32, device=self.device)
        self._closer = torch.empty(n, dtype=torch.bool, device=self.device)
        self._masked = torch.empty(n, dtype=torch.float32, device=self.device)
        self._far = torch.tensor(-1.0, device=self.device)
        # select() passes the same static terms and weight at every pick: uploaded at the first.
        self._static: torch.Tensor | None = None
        self._weight: torch.Tensor | float = 0.0
        self._start(pickable)

    def add_external(self, centers: np.ndarray) -> None:
        for center in torch.as_tensor(np.asarray(centers, dtype=np.float32), device=self.device).reshape(-1, self.x.shape[1]):
            self._update(center, -1)

    def _update(self, center: torch.Tensor, index: int) -> None:
        d2 = torch.addmv(self.sq_norms, self.x, center, alpha=-2.0, out=self._d2)
        d2.add_(torch.dot(center, center)).clamp_(min=0.0)
        if self.nearest is not None:
            torch.lt(d2, self.min_sq, out=self._closer)
            self.nearest.masked_fill_(self._closer, index)
        torch.minimum(self.min_sq, d2, out=self.min_sq)
        masked = torch.where(self.pickable, self.min_sq, self._far, out=self._masked)
        value, at = masked.max(dim=0)  # the first maximum: ties go to the lowest index
        far_sq, far_index = float(value), int(at)
        self.far_index, self.far_sq = (far_index, far_sq) if far_sq >= 0 else (-1, -1.0)

    def sq_at(self, index: int) -> float:
        return float(self.min_sq[index])

    def best_total(self, static: np.ndarray, weight: float | np.ndarray, extra: np.ndarray | None) -> int:
        """As ``DistanceTracker.best_total``; the static arrays move to the device once a run."""
        if self._static is None:
            self._static = torch.as_tensor(static, device=self.device)
            self._weight = torch.as_tensor(weight, device=self.device) if isinstance(weight, np.ndarray) else float(weight)
        inverse = self.inverse_far()
        term = torch.ones_like(self.min_sq) if inverse == 0.0 else self.min_sq.sqrt() * inverse
        total: torch.Tensor = self._static + self._weight * term
        if extra is not None:
            total += torch.as_tensor(extra, device=self.device)
        total.masked_fill_(~self.pickable, float("-inf"))
        return int(total.argmax())

    def results(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        nearest = self.nearest.cpu().numpy() if self.nearest is not None else None
        return self.min_sq.cpu().numpy(), nearest, self.selected.cpu().numpy()
