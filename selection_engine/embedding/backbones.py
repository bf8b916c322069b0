"""ResNet trunks from torchvision, with the Lightly worker's channel-width multiplier.

Weights start random (no hub downloads are possible here); the caller seeds the RNG.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

from ..errors import ConfigError

#: model name → (residual block, blocks per stage), as in torchvision's resnet18 … resnet152.
ARCHITECTURES: dict[str, tuple[type[BasicBlock | Bottleneck], list[int]]] = {
    "resnet-18": (BasicBlock, [2, 2, 2, 2]),
    "resnet-34": (BasicBlock, [3, 4, 6, 3]),
    "resnet-50": (Bottleneck, [3, 4, 6, 3]),
    "resnet-101": (Bottleneck, [3, 4, 23, 3]),
    "resnet-152": (Bottleneck, [3, 8, 36, 3]),
}


def scale_channels(channels: int, width: float) -> int:
    return max(1, round(channels * width))


class ResNetTrunk(ResNet):  # type: ignore[misc]  # torchvision ships no type information: ResNet is Any
    """torchvision's ResNet with every layer's channel count multiplied by ``width``, ending at
    the last residual stage (no pooling, no classifier).

    images float (B, 3, H, W) → feature map float (B, out_channels, ⌈H/32⌉, ⌈W/32⌉).

    Width 1 is torchvision's architecture module for module (same parameter names, and the same
    weights for the same seed). Other widths scale the stem's 64 channels and each stage's
    ``planes``; Bottleneck blocks keep their 4× expansion on top of the scaled planes.
    """

    # Set by ResNet.__init__ (and replaced here); declared for the type checker.
    conv1: nn.Conv2d
    inplanes: int

    def __init__(self, block: type[BasicBlock | Bottleneck], layers: list[int], width: float = 1.0):
        # Read by _make_layer, which ResNet.__init__ calls; nn.Module allows plain attributes
        # before its __init__ has run.
        self.width = width
        super().__init__(block, layers)
        stem = self.layer1[0].conv1.in_channels
        if stem != self.conv1.out_channels:
            # ResNet.__init__ builds its stem with 64 channels before any stage; layer1 was made
            # for the scaled stem, so replace it, initialised as ResNet initialises convolutions.
            self.conv1 = nn.Conv2d(3, stem, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = self._norm_layer(stem)
            nn.init.kaiming_normal_(self.conv1.weight, mode="fan_out", nonlinearity="relu")
        self.out_channels: int = self.inplanes  # the last stage's planes × expansion
        del self.avgpool, self.fc

    def _make_layer(
        self, block: type[BasicBlock | Bottleneck], planes: int, blocks: int, stride: int = 1, dilate: bool = False
    ) -> nn.Sequential:
        if "layer1" not in self._modules:
            # The first stage takes the stem's output, whose width scales like everything else.
            self.inplanes = scale_channels(self.inplanes, self.width)
        stage: nn.Sequential = super()._make_layer(block, scale_channels(planes, self.width), blocks, stride, dilate)
        return stage

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(images))))
        features: torch.Tensor = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return features


def build_trunk(name: str, width: float = 1.0) -> tuple[ResNetTrunk, int]:
    """A randomly initialised ResNet trunk for the lightly config's ``model.name`` and
    ``model.width``, and the channel count of the feature map it outputs."""
    if name not in ARCHITECTURES:
        raise ConfigError("lightly.model.name", f"must be one of {', '.join(ARCHITECTURES)}, got {name!r}")
    if not width > 0:
        raise ConfigError("lightly.model.width", f"must be positive, got {width}")
    block, layers = ARCHITECTURES[name]
    trunk = ResNetTrunk(block, layers, width)
    return trunk, trunk.out_channels
