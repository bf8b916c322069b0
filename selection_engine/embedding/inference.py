"""Embedding a list of images with a model, with the Lightly worker's "compute efficiency" figure.

On the CPU the work runs in two *lanes*: two batches at once, each on its own thread with half
of torch's intra-op threads, each lane decoding its batch (at reduced JPEG scale, ``decode.py``,
with the GIL released) and then running the model on it. One model call spread over every core
waits at a barrier after each layer for its slowest thread, and a core busy decoding makes that
thread the slowest; two half-width lanes side by side fill each other's gaps instead. On 2 cores
two single-threaded lanes run the model alone ~1.1-1.2x faster than one call on both, and the
decoding costs only its own CPU time. The main thread reads the files ahead
(``source.io_threads`` at a time, for network stores). ``lightly.loader.num_workers`` therefore
only applies on a GPU, where batches are decoded in the loader's worker processes and go to the
model one at a time.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from ..images import UnreadableImage
from ..progress import Reporter
from ..sources import Source
from .decode import decode_file, is_jpeg, resize_exact, rgb_tensor
from .transforms import IMAGENET_MEAN, IMAGENET_STD

#: Inference batches hold at least this many images: lightly.loader.batch_size sizes training
#: batches, and small batches leave the model's matrix kernels underused (~1.4x slower at 16).
INFERENCE_BATCH = 64

# ImageNet normalisation of 0-255 pixels as one multiply-add, (x / 255 - mean) / std =
# x * _SCALE + _SHIFT: a single pass from the uint8 batch to the model's float input.
_SCALE = 1 / (torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255)
_SHIFT = -torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)


def decode_for_model(name: str, data: bytes, size: int) -> torch.Tensor:
    """uint8 (3, size, size) of the image file ``name`` whose contents are ``data``."""
    return resize_exact(decode_file(name, data, size), size)


def model_input_of_decoded(image: Image.Image, name: str, data: bytes, size: int) -> torch.Tensor:
    """:func:`decode_for_model` of ``data`` when ``image`` is its content already decoded in full
    (the distributed image pass's one decode): the same pixels, taken from ``image`` for every
    format but JPEG. A JPEG is decoded again at reduced scale, as the in-process path does it
    (``decode.py``): at 1/8 scale that costs a small share of the full decode and gives the very
    embedding the in-process path gives, where resizing the full decode would not."""
    if is_jpeg(data):
        return decode_for_model(name, data, size)
    return resize_exact(rgb_tensor(image), size)


class _ImageFiles(Dataset[torch.Tensor | tuple[torch.Tensor, str]]):
    """For the GPU's loader workers: yields uint8 tensors (3, size, size); with ``tolerant``,
    pairs (tensor, reason) where a file that cannot be decoded is a black image and the reason
    why (else "")."""

    def __init__(self, source: Source, filenames: list[str], size: int, tolerant: bool = False):
        self.source, self.filenames, self.size, self.tolerant = source, filenames, size, tolerant

    def __len__(self) -> int:
        return len(self.filenames)

    def __getitem__(self, index: int) -> torch.Tensor | tuple[torch.Tensor, str]:
        name = self.filenames[index]
        if not self.tolerant:
            return decode_for_model(name, self.source.read_bytes(name), self.size)
        try:
            return decode_for_model(name, self.source.read_bytes(name), self.size), ""
        except UnreadableImage as exc:
            return torch.zeros(3, self.size, self.size, dtype=torch.uint8), exc.reason


def decode_batch(files: list[tuple[str, bytes]], size: int, unreadable: dict[str, str] | None = None) -> torch.Tensor:
    """uint8 (B, 3, size, size) of the (name, contents) pairs, in channels-last memory: each
    image is copied once, into its slot of one (B, size, size, 3) buffer. A file that cannot be
    decoded raises UnreadableImage, or, given ``unreadable``, is recorded there (name → reason)
    and left black."""
    batch = torch.empty(len(files), size, size, 3, dtype=torch.uint8)
    for slot, (name, data) in zip(batch, files):
        try:
            slot.copy_(decode_for_model(name, data, size).permute(1, 2, 0))
        except UnreadableImage as exc:
            if unreadable is None:
                raise
            unreadable[name] = exc.reason
            slot.zero_()
    return batch.permute(0, 3, 1, 2)


def _noting_unreadable(
    batches: Iterable[tuple[torch.Tensor, list[str]]], filenames: list[str], batch_size: int, unreadable: dict[str, str]
) -> Iterator[torch.Tensor]:
    """The images of a tolerant :class:`_ImageFiles` loader's (images, reasons) batches, in
    order, recording each file's reason in ``unreadable``."""
    for start, (images, reasons) in zip(range(0, len(filenames), batch_size), batches):
        unreadable.update((filenames[start + i], reason) for i, reason in enumerate(reasons) if reason)
        yield images


def _read_batches(source: Source, filenames: list[str], batch_size: int) -> Iterator[list[tuple[str, bytes]]]:
    """(name, contents) of each batch's files, ``source.io_threads`` files read at a time
    (a local disk reads one by one, on the calling thread)."""
    with ThreadPoolExecutor(source.io_threads) as pool:
        read = pool.map if source.io_threads > 1 else map
        for start in range(0, len(filenames), batch_size):
            names = filenames[start : start + batch_size]
            yield list(zip(names, read(source.read_bytes, names)))


T = TypeVar("T")
R = TypeVar("R")


def lane_count(device: torch.device) -> int:
    """Model calls in flight at once: 2 on a CPU with at least 2 intra-op threads, else 1."""
    return 2 if device.type == "cpu" and torch.get_num_threads() >= 2 else 1


@contextmanager
def threads_per_lane(lanes: int) -> Iterator[None]:
    """Share torch's intra-op threads among ``lanes`` (process-wide, restored on exit)."""
    total = torch.get_num_threads()
    torch.set_num_threads(max(1, total // lanes))
    try:
        yield
    finally:
        torch.set_num_threads(total)


def in_lanes(run: Callable[[T], R], items: Iterable[T], lanes: int) -> Iterator[R]:
    """``run(item)`` for each item, in order, computing up to ``lanes`` at once on threads.

    Takes at most one item more than ``lanes`` ahead, so a lane that finishes finds its next
    batch waiting and memory holds ``lanes + 1`` batches at most. Use inside
    :func:`threads_per_lane` so the lanes share the cores instead of each claiming all of them.
    """
    if lanes <= 1:
        yield from map(run, items)
        return
    with ThreadPoolExecutor(lanes, thread_name_prefix="winnow-lane") as pool:
        pending: deque[Future[R]] = deque()
        for item in items:
            pending.append(pool.submit(run, item))
            if len(pending) > lanes:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def prepare_model(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``model`` on ``device`` in channels-last memory, in eval mode, for :func:`run_model`.

    channels-last lets the CPU convolution kernels skip layout conversions (~1.4x here).
    Converted outside inference mode: parameters made inside it could never train again.
    """
    # torch's stubs lack the (device, memory_format=...) overload Module.to accepts.
    return model.to(device, memory_format=torch.channels_last).eval()  # type: ignore[call-overload, no-any-return]


def run_model(
    model: torch.nn.Module, images: torch.Tensor, device: torch.device,
    scale: torch.Tensor | None = None, shift: torch.Tensor | None = None,
) -> npt.NDArray[np.float32]:
    """The outputs float32 (B, ...) of a :func:`prepare_model` model on uint8 images (B, 3, S, S),
    ImageNet-normalised on the device. ``scale`` and ``shift``: the normalisation already on
    ``device`` (else moved there per call)."""
    scale = _SCALE.to(device) if scale is None else scale
    shift = _SHIFT.to(device) if shift is None else shift
    with torch.inference_mode():
        images = torch.addcmul(shift, images.to(device, non_blocking=True), scale)  # keeps channels-last
        outputs: npt.NDArray[np.float32] = model(images.contiguous(memory_format=torch.channels_last)).float().cpu().numpy()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return outputs


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
    unreadable: dict[str, str] | None = None,
) -> tuple[npt.NDArray[np.float32], float]:
    """Embeddings float32 (N, num_ftrs) in the order of ``filenames``, and the compute efficiency
    (share of wall time the model lanes spent in the model).

    A file that cannot be decoded raises UnreadableImage; given ``unreadable``, it is recorded
    there (name → reason) instead and its row is the embedding of a black image, for the caller
    to drop.
    """
    model = prepare_model(model, device)
    batch_size = max(batch_size, INFERENCE_BATCH)
    scale, shift = _SCALE.to(device), _SHIFT.to(device)
    model_seconds: list[float] = []  # one entry per batch; list.append is atomic across lanes

    def embed(images: torch.Tensor) -> npt.NDArray[np.float32]:
        """uint8 (B, 3, S, S) → embeddings (B, num_ftrs)."""
        began = time.perf_counter()
        embedded = run_model(model, images, device, scale, shift)
        model_seconds.append(time.perf_counter() - began)
        return embedded

    # Both are generators: nothing is read or embedded before the loop below pulls them.
    results: Iterator[npt.NDArray[np.float32]]
    if device.type == "cpu":
        lanes = lane_count(device)

        def work(files: list[tuple[str, bytes]]) -> npt.NDArray[np.float32]:
            return embed(decode_batch(files, input_size, unreadable))

        results = in_lanes(work, _read_batches(source, filenames, batch_size), lanes)
    else:
        lanes = 1
        tolerant = unreadable is not None
        loader = DataLoader(_ImageFiles(source, filenames, input_size, tolerant), batch_size=batch_size,
                            num_workers=resolve_workers(num_workers), pin_memory=True)
        if unreadable is None:
            results = in_lanes(embed, loader, lanes)
        else:  # tolerant: the loader yields (images, reasons) batches
            results = in_lanes(embed, _noting_unreadable(loader, filenames, batch_size, unreadable), lanes)
    start = time.perf_counter()

    def efficiency() -> float:
        return sum(model_seconds) / lanes / max(time.perf_counter() - start, 1e-9)

    with threads_per_lane(lanes):
        chunks = list(reporter.track(results, math.ceil(len(filenames) / batch_size),
                                     "Embedding images", lambda: f"Embedding images (model busy {efficiency():.0%} of the time)"))
    embeddings = np.concatenate(chunks) if chunks else np.zeros((0, 0), dtype=np.float32)
    return embeddings.astype(np.float32), efficiency()
