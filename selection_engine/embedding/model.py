"""The embedding network: a torchvision ResNet trunk, a 1×1 projection to ``num_ftrs``, pooling.

Weights start random (no hub downloads are possible here); seeding makes them reproducible.
"""

from __future__ import annotations

import torch
import torchvision
from torch import nn

from ..config.documents import Model as ModelConfig
from ..errors import ConfigError

_RESNETS = {
    "resnet-18": torchvision.models.resnet18,
    "resnet-34": torchvision.models.resnet34,
    "resnet-50": torchvision.models.resnet50,
    "resnet-101": torchvision.models.resnet101,
    "resnet-152": torchvision.models.resnet152,
}


class EmbeddingModel(nn.Module):
    """images float (B, 3, H, W), ImageNet-normalised → embeddings float (B, num_ftrs)."""

    def __init__(self, trunk: nn.Module, trunk_channels: int, num_ftrs: int):
        super().__init__()
        self.trunk = trunk
        self.reduce = nn.Conv2d(trunk_channels, num_ftrs, kernel_size=1)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.pool(self.reduce(self.trunk(images))).flatten(1)


def build_model(config: ModelConfig, seed: int = 0) -> EmbeddingModel:
    """A randomly initialised (seeded) embedding model for ``config.name`` and ``num_ftrs``."""
    if config.width != 1:
        raise ConfigError("lightly.model.width", f"only width 1 is available for torchvision ResNets, got {config.width}")
    torch.manual_seed(seed)
    resnet = _RESNETS[config.name](weights=None)
    channels = resnet.fc.in_features
    trunk = nn.Sequential(*list(resnet.children())[:-2])  # drop avgpool and fc
    return EmbeddingModel(trunk, channels, config.num_ftrs)
