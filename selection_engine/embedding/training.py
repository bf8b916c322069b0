"""Self-supervised training (SimCLR): two augmented views per image, NT-Xent between them.

The embedding model learns from the user's unlabeled images: each image is augmented twice
(``lightly.collate``), both views go through the model and the projection head, and the loss
pulls the two views of an image together while pushing the other images of the batch away.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from ..config.documents import LightlyConfig
from ..errors import InputError
from ..images import UnreadableImage
from ..progress import Reporter
from ..sources import Source
from .decode import decode_file, resize_within
from .heads import ProjectionHead
from .inference import resolve_workers
from .loss import NTXentLoss
from .model import EmbeddingModel
from .transforms import SimCLRViewTransform

#: Images are decoded at up to this multiple of ``input_size`` before the random crop: enough
#: detail for crops down to ``min_scale`` without decoding full-size photos every epoch.
DECODE_SCALE = 2


def _yield_to_the_model(_worker_id: int) -> None:
    """Loader workers run at the lowest priority (nice 19).

    On the CPU the training step keeps every core busy, and each step waits at barriers for its
    slowest thread: a worker preempting one of them stalls the others too. At low priority the
    augmentation runs mostly where the step leaves a core idle (2 cores: 0.86 of the
    forward+backward ceiling instead of 0.80-0.83); if it falls behind, the step waits for the
    batch, the cores go idle and the workers catch up.
    """
    os.nice(19)


class _TwoViews(Dataset[tuple[torch.Tensor, torch.Tensor, int, str]]):
    """Yields two augmented float views (3, S, S) of each image, its index and "" — or, for a file
    that cannot be decoded, two black views, its index and the reason (the loop leaves it out)."""

    def __init__(self, source: Source, filenames: list[str], transform: SimCLRViewTransform, input_size: int):
        self.source, self.filenames, self.transform = source, filenames, transform
        self.input_size, self.decode_size = input_size, DECODE_SCALE * input_size

    def __len__(self) -> int:
        return len(self.filenames)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int, str]:
        name = self.filenames[index]
        try:
            pixels = decode_file(name, self.source.read_bytes(name), self.decode_size)
        except UnreadableImage as exc:
            size = self.input_size
            return torch.zeros(3, size, size), torch.zeros(3, size, size), index, exc.reason
        return *self.transform(resize_within(pixels, self.decode_size)), index, ""


@dataclass
class TrainingResult:
    #: mean NT-Xent loss of each epoch
    losses: list[float]
    head: ProjectionHead


def _autocast(
    device: torch.device, precision: int, reporter: Reporter
) -> tuple[contextlib.AbstractContextManager[Any], torch.amp.GradScaler | None]:
    """(context manager, scaler) for ``trainer.precision``; 16 uses float16 on a GPU only."""
    if precision == 16 and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16), torch.amp.GradScaler("cuda")
    if precision == 16:
        reporter.log("Mixed precision (precision=16) needs a GPU; training in 32-bit on the CPU.")
    return contextlib.nullcontext(), None


def train_simclr(
    model: EmbeddingModel,
    source: Source,
    filenames: list[str],
    config: LightlyConfig,
    device: torch.device,
    reporter: Reporter,
    seed: int = 0,
    head: ProjectionHead | None = None,
    unreadable: dict[str, str] | None = None,
) -> TrainingResult:
    """Train ``model`` in place for ``trainer.max_epochs`` epochs; returns the loss per epoch.

    Files that cannot be decoded are left out of every step and recorded in ``unreadable``
    (name → reason) when it is given.

    Optimiser: SGD with momentum 0.9, learning rate ``optimizer.lr × batch_size / 256`` (SimCLR's
    linear scaling) on a cosine schedule, weight decay ``optimizer.weight_decay``.
    """
    if len(filenames) < 2:
        raise InputError("enable_training", f"training needs at least 2 images, got {len(filenames)}")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    batch_size = min(config.loader.batch_size, len(filenames))
    # Batch norm needs two samples per batch; a lone last sample would crash the step.
    drop_last = config.loader.drop_last or len(filenames) % batch_size == 1
    views = SimCLRViewTransform(config.collate)
    loader = DataLoader(
        _TwoViews(source, filenames, views, config.collate.input_size),
        batch_size=batch_size,
        shuffle=config.loader.shuffle,
        num_workers=resolve_workers(config.loader.num_workers),
        drop_last=drop_last,
        generator=generator,
        persistent_workers=resolve_workers(config.loader.num_workers) > 0,
        worker_init_fn=_yield_to_the_model,
        pin_memory=device.type == "cuda",
    )
    head = head if head is not None else ProjectionHead(config.model.num_ftrs, config.model.out_dim)
    model.to(device).train()
    head.to(device).train()
    criterion = NTXentLoss(config.criterion.temperature)
    parameters = list(model.parameters()) + list(head.parameters())
    optimizer = torch.optim.SGD(
        parameters, lr=config.optimizer.lr * batch_size / 256, momentum=0.9, weight_decay=config.optimizer.weight_decay
    )
    steps = max(1, config.trainer.max_epochs * len(loader))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / steps)))
    autocast, scaler = _autocast(device, config.trainer.precision, reporter)
    reporter.log(
        f"Training self-supervised model: {config.model.name}, {len(filenames)} images, batch size {batch_size}, "
        f"{config.trainer.max_epochs} epochs, on {device}. Augmentations: {views.describe()}."
    )
    losses: list[float] = []
    for epoch in range(config.trainer.max_epochs):
        total, batches = 0.0, 0
        # The postfix reads this epoch's running total and batches while the epoch runs: late binding is the point.
        postfix = lambda: f"Training epoch {epoch + 1} of {config.trainer.max_epochs} (loss {total / max(batches, 1):.3f})"  # noqa: B023, E731
        bar = reporter.track(loader, len(loader), f"Training epoch {epoch + 1} of {config.trainer.max_epochs}", postfix)
        for view0, view1, indices, reasons in bar:
            readable = [i for i, reason in enumerate(reasons) if not reason]
            if len(readable) < len(reasons):
                if unreadable is not None:
                    unreadable.update((filenames[int(indices[i])], r) for i, r in enumerate(reasons) if r)
                if len(readable) < 2:  # batch norm needs two samples
                    continue
                view0, view1 = view0[readable], view1[readable]
            view0 = view0.to(device, non_blocking=True)
            view1 = view1.to(device, non_blocking=True)
            with autocast:
                loss = criterion(head(model(view0)), head(model(view1)))
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                optimizer.step()
            schedule.step()
            total += float(loss.detach())
            batches += 1
        losses.append(total / max(batches, 1))
        reporter.log(f"Epoch {epoch + 1}/{config.trainer.max_epochs}: loss {losses[-1]:.4f}")
    model.eval()
    head.eval()
    return TrainingResult(losses=losses, head=head)
