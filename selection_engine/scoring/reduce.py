"""Per-image reductions of per-prediction values, without a Python loop per image.

Predictions arrive sorted by image (``TaskPredictions.image_index`` is ascending), so each
image's values form one contiguous run: a maximum is one ``np.maximum.reduceat`` over the run
starts and a mean one weighted ``np.bincount``, where ``np.maximum.at`` would be an order of
magnitude slower.
"""

from __future__ import annotations

import numpy as np


class ImageGroups:
    """P predictions grouped into N images.

    image_index: int64 (P,) sorted ascending, each in [0, n_images). Build once per task and
    reuse it for every score, so the checks and run boundaries are computed once.
    """

    def __init__(self, image_index: np.ndarray, n_images: int):
        index = np.asarray(image_index, dtype=np.int64)
        if index.ndim != 1:
            raise ValueError(f"image_index must be 1-D (P,), got shape {index.shape}")
        if index.size:
            # An unsorted index would silently mix the runs of different images.
            if (index[1:] < index[:-1]).any():
                raise ValueError("image_index must be sorted ascending")
            if index[0] < 0 or index[-1] >= n_images:
                raise ValueError(f"image_index must lie in [0, {n_images}), got {index[0]}..{index[-1]}")
        self.index = index
        self.n_images = n_images
        #: int64 (N,) predictions per image
        self.counts = np.bincount(index, minlength=n_images)
        #: int64 (R,) start of each image's run, for the R images that own predictions
        self.starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]]) if index.size else index[:0]

    def max(self, values: np.ndarray, empty: float = 0.0) -> np.ndarray:
        """float64 (N,): the largest of each image's values (P,), ``empty`` without any."""
        values = np.asarray(values, dtype=np.float64)
        out = np.full(self.n_images, empty, dtype=np.float64)
        if len(self.starts) == len(values):
            out[self.index] = values  # one value per image (the usual classification case)
        elif values.size:
            out[self.index[self.starts]] = np.maximum.reduceat(values, self.starts)
        return out

    def mean(self, values: np.ndarray, empty: float = 0.0) -> np.ndarray:
        """float64 (N,): the mean of each image's values (P,), ``empty`` without any."""
        sums = np.bincount(self.index, weights=np.asarray(values, dtype=np.float64), minlength=self.n_images)
        out = np.full(self.n_images, empty, dtype=np.float64)
        owned = self.counts > 0
        out[owned] = sums[owned] / self.counts[owned]
        return out
