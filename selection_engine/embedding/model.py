"""The embedding network: a ResNet trunk, a 1×1 projection to ``num_ftrs``, pooling.

Weights start random (no hub downloads are possible here); seeding makes them reproducible.
"""

from __future__ import annotations

import torch
from torch import nn

from ..config.documents import Model as ModelConfig
from .backbones import build_trunk


class EmbeddingModel(nn.Module):
    """images float (B, 3, H, W), ImageNet-normalised → embeddings float (B, num_ftrs)."""

    def __init__(self, trunk: nn.Module, trunk_channels: int, num_ftrs: int):
        super().__init__()
        self.trunk = trunk
        self.reduce = nn.Conv2d(trunk_channels, num_ftrs, kernel_size=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        #: True once ``reduce`` holds weights to keep (loaded from a Winnow checkpoint, or fitted
        #: after training); otherwise it is fitted to the images before embedding (``projection.py``).
        self.projection_learned = False

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pooled: torch.Tensor = self.pool(self.reduce(self.trunk(images)))
        return pooled.flatten(1)


def build_model(config: ModelConfig, seed: int = 0) -> EmbeddingModel:
    """A randomly initialised (seeded) embedding model for ``config.name``, ``width`` and ``num_ftrs``."""
    torch.manual_seed(seed)
    trunk, channels = build_trunk(config.name, config.width)
    return EmbeddingModel(trunk, channels, config.num_ftrs)
