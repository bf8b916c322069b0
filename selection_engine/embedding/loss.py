"""The NT-Xent (normalised temperature-scaled cross entropy) loss of SimCLR."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class NTXentLoss(nn.Module):
    """Contrastive loss over a batch of view pairs (Chen et al., 2020, eq. 1).

    The 2B projections are compared by cosine similarity divided by ``temperature``. For each of
    them the positive is the other view of the same image, and the other 2B − 2 projections of the
    batch are its negatives; the loss is the cross entropy of picking the positive, averaged over
    all 2B projections (so both views play the anchor). A batch of one pair has no negatives and
    gives a loss of 0.

    ``temperature`` is the lightly config's ``criterion.temperature`` (default 0.5): lower values
    sharpen the softmax and weigh the hardest negatives more.
    """

    def __init__(self, temperature: float = 0.5):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.temperature = temperature

    def forward(self, z0: torch.Tensor, z1: torch.Tensor) -> torch.Tensor:
        """z0, z1: float (B, D), projections of the first and second views (row i of each from
        the same image; they need not be unit length) → the mean loss, a float scalar tensor."""
        if z0.shape != z1.shape or z0.dim() != 2:
            raise ValueError(f"z0 and z1 must both be (B, D), got {tuple(z0.shape)} and {tuple(z1.shape)}")
        batch = z0.shape[0]
        z = F.normalize(torch.cat([z0, z1]), dim=1)  # (2B, D), unit rows: dot product = cosine
        # float32 even under mixed precision: fp16 keeps ~3 digits, and at a low temperature the
        # logits reach 1 / t, where that rounding visibly shifts the softmax.
        logits = (z @ z.T).float() / self.temperature  # (2B, 2B)
        # A sample is not its own negative; -inf drops it from the softmax's denominator exactly,
        # and cross_entropy's log-sum-exp keeps the rest stable for any temperature.
        self_mask = torch.eye(2 * batch, dtype=torch.bool, device=z.device)
        logits = logits.masked_fill(self_mask, float("-inf"))
        # Row i < B is view 0 of image i, whose positive is row i + B, and the reverse.
        index = torch.arange(batch, device=z.device)
        positives = torch.cat([index + batch, index])
        return F.cross_entropy(logits, positives)
