"""Fitting the embedding model's projection to the images when its weights are not learned.

The model is ResNet trunk → 1×1 projection to ``num_ftrs`` → average pooling. With random
weights (no checkpoint, no training) the random projection throws away most of what the trunk
sees: the trunk's pooled features are all positive (they come out of a ReLU) and share one large
common direction, so after a random projection and normalisation to unit length every image lies
in a narrow cone and distances mostly measure noise. Measured on scikit-learn's 1,797 digits at
the default input size: 5-NN accuracy 0.86 and logistic regression on 150 labels 0.60 with the
random projection; 0.93 and 0.90 with the projection fitted here.

The fit is a PCA of the trunk's pooled features: centre them, keep the ``num_ftrs`` directions of
largest variance. Because a 1×1 convolution commutes with average pooling, the fitted projection
*is* the model's ``reduce`` layer (weight = components, bias = −components·mean), so the model
saved or reused later computes exactly these embeddings. Nothing about labels is used.

After training the projection is refitted the same way, to the trained trunk (``stage.py``): the
learned one serves the contrastive head, and the refitted one gave better 5-NN accuracy on every
training measured (``benchmarks/training_quality.py --projections``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .model import EmbeddingModel

#: The PCA is fitted on at most this many images (a seeded random sample of larger datasets):
#: 20,000 × 512 features are 40 MB, and the top 32 directions are stable long before that.
FIT_SAMPLE = 20_000


class PooledTrunk(nn.Module):
    """images float (B, 3, H, W) → the trunk's average-pooled features float (B, channels)."""

    def __init__(self, model: EmbeddingModel):
        super().__init__()
        self.trunk, self.pool = model.trunk, model.pool

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pooled: torch.Tensor = self.pool(self.trunk(images))
        return pooled.flatten(1)


@dataclass
class Projection:
    """mean float64 (C,), components float64 (num_ftrs, C) with orthonormal rows."""

    mean: np.ndarray
    components: np.ndarray
    explained: float  # share of the features' variance the components keep, in [0, 1]

    def apply(self, features: np.ndarray) -> np.ndarray:
        """features (N, C) → embeddings float32 (N, num_ftrs)."""
        projected: np.ndarray = (features - self.mean) @ self.components.T
        return projected.astype(np.float32)


def fit_projection(features: np.ndarray, num_ftrs: int) -> Projection | None:
    """PCA of ``features`` (N, C) to ``num_ftrs`` directions; None when N ≤ num_ftrs (too few
    images to find that many directions: the model keeps its random projection)."""
    n, channels = features.shape
    if n <= num_ftrs or num_ftrs > channels:
        return None
    mean = features.mean(axis=0, dtype=np.float64)
    centred = features.astype(np.float64) - mean
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    # SVD's signs are arbitrary; fix each direction's sign so the same data gives the same embedding.
    signs = np.sign(vt[:num_ftrs, np.argmax(np.abs(vt[:num_ftrs]), axis=1)].diagonal())
    components = vt[:num_ftrs] * signs[:, None]
    variance = singular**2
    explained = float(variance[:num_ftrs].sum() / variance.sum()) if variance.sum() > 0 else 1.0
    return Projection(mean, components, explained)


def set_projection(model: EmbeddingModel, projection: Projection) -> None:
    """Make ``model.reduce`` compute ``projection`` (before pooling, which it commutes with)."""
    weight = torch.as_tensor(projection.components, dtype=model.reduce.weight.dtype)
    assert model.reduce.bias is not None, "EmbeddingModel.reduce is built with a bias"
    with torch.no_grad():
        model.reduce.weight.copy_(weight[:, :, None, None])
        model.reduce.bias.copy_(-(weight @ torch.as_tensor(projection.mean, dtype=weight.dtype)))


def fit_sample(n: int, seed: int) -> np.ndarray:
    """Indices (sorted) of the images the projection is fitted on: all of them up to FIT_SAMPLE."""
    if n <= FIT_SAMPLE:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, FIT_SAMPLE, replace=False))


def reduce_features(model: EmbeddingModel, features: np.ndarray) -> np.ndarray:
    """``model``'s embeddings float32 (N, num_ftrs) from its trunk's pooled features (N, C): its
    projection applied after pooling (which it commutes with), as ``model(images)`` computes them
    up to float rounding."""
    weight = model.reduce.weight.detach().double().numpy()[:, :, 0, 0]
    assert model.reduce.bias is not None, "EmbeddingModel.reduce is built with a bias"
    reduced: np.ndarray = features.astype(np.float64) @ weight.T + model.reduce.bias.detach().double().numpy()
    return reduced.astype(np.float32)
