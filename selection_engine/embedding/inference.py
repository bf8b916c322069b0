"""Embedding a list of images with a model, with the Lightly worker's "compute efficiency" figure."""

from __future__ import annotations

import os
import time

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from ..progress import Reporter
from ..sources import Source
from .transforms import IMAGENET_MEAN, IMAGENET_STD

#: Inference batches hold at least this many images: lightly.loader.batch_size sizes training
#: batches, and small batches leave the model's matrix kernels underused (~1.4x slower at 16).
INFERENCE_BATCH = 64

# ImageNet statistics on the 0-255 scale, so uint8 batches are normalised in one pass.
_MEAN = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255
_STD = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255


class _ImageFiles(Dataset):
    """Decodes and resizes in the loader's workers; yields uint8 tensors (3, size, size)."""

    def __init__(self, source: Source, filenames: list[str], size: int):
        self.source, self.filenames, self.size = source, filenames, size

    def __len__(self) -> int:
        return len(self.filenames)

    def __getitem__(self, index: int) -> torch.Tensor:
        with self.source.open(self.filenames[index]) as handle, Image.open(handle) as image:
            image.draft("RGB", (self.size, self.size))  # JPEG: decode at reduced scale directly
            image = image.convert("RGB").resize((self.size, self.size), Image.BILINEAR)
        return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)


def resolve_workers(num_workers: int) -> int:
    """``-1`` means every core."""
    return (os.cpu_count() or 1) if num_workers == -1 else num_workers


def device_for(gpus: int) -> torch.device:
    return torch.device("cuda") if gpus > 0 and torch.cuda.is_available() else torch.device("cpu")


def embed_images(
    model: torch.nn.Module,
    source: Source,
    filenames: list[str],
    input_size: int,
    batch_size: int,
    num_workers: int,
    device: torch.device,
    reporter: Reporter,
) -> tuple[np.ndarray, float]:
    """Embeddings float32 (N, num_ftrs) in the order of ``filenames``, and the compute efficiency
    (share of wall time spent in the model)."""
    # channels-last lets the CPU convolution kernels skip layout conversions (~1.4x here).
    # Converted outside inference mode: parameters made inside it could never train again.
    model = model.to(device, memory_format=torch.channels_last).eval()
    loader = DataLoader(
        _ImageFiles(source, filenames, input_size),
        batch_size=max(batch_size, INFERENCE_BATCH),
        shuffle=False,
        num_workers=resolve_workers(num_workers),
        pin_memory=device.type == "cuda",
    )
    mean, std = _MEAN.to(device), _STD.to(device)
    chunks = []
    compute = 0.0
    start = time.perf_counter()
    efficiency = lambda: compute / max(time.perf_counter() - start, 1e-9)  # noqa: E731
    batches = reporter.track(loader, len(loader), "Compute efficiency: 0.00", lambda: f"Compute efficiency: {efficiency():.2f}")
    for batch in batches:
        began = time.perf_counter()
        with torch.inference_mode():
            images = batch.to(device, non_blocking=True).float().sub_(mean).div_(std)
            images = images.contiguous(memory_format=torch.channels_last)
            chunks.append(model(images).float().cpu().numpy())
        if device.type == "cuda":
            torch.cuda.synchronize()
        compute += time.perf_counter() - began
    embeddings = np.concatenate(chunks) if chunks else np.zeros((0, 0), dtype=np.float32)
    return embeddings.astype(np.float32), efficiency()
