"""Heads that sit on top of the embedding model during self-supervised training only."""

from __future__ import annotations

import torch
from torch import nn


class ProjectionHead(nn.Module):
    """SimCLR's projection MLP: embeddings float (B, num_ftrs) → projections float (B, out_dim).

    Linear(num_ftrs → num_ftrs) → BatchNorm → ReLU → Linear(num_ftrs → out_dim). The contrastive
    loss is computed on its output, so the embeddings before it keep information the augmentations
    would otherwise teach the network to discard; it is thrown away after training.
    In training mode BatchNorm needs B ≥ 2.
    """

    def __init__(self, num_ftrs: int, out_dim: int):
        super().__init__()
        self.layers = nn.Sequential(
            # No bias: the BatchNorm right after it subtracts the mean and has its own shift.
            nn.Linear(num_ftrs, num_ftrs, bias=False),
            nn.BatchNorm1d(num_ftrs),
            nn.ReLU(inplace=True),
            nn.Linear(num_ftrs, out_dim),
        )

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        projected: torch.Tensor = self.layers(embeddings)
        return projected
