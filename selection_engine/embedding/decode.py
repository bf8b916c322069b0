"""Decoding images for the embedding model: uint8 RGB tensors, no larger than the model needs.

The model reads small inputs (``lightly.collate.input_size``, 64 px by default), so decoding
every pixel of a photo and then shrinking it wastes most of the work. JPEG can be decoded at a
reduced scale directly (the DCT is evaluated at 1/2, 1/4, 1/8 … of the size); for JPEGs
simplejpeg (libjpeg-turbo, called without Python in the loop) does that in about a third of the
CPU time Pillow needs for the same pixels. Everything else, and the JPEGs libjpeg-turbo cannot
turn into RGB faithfully (CMYK, YCCK), goes through Pillow with its own reduced-scale ``draft``.
"""

from __future__ import annotations

import numpy as np
import simplejpeg
import torch
from PIL import Image
from torchvision.transforms.v2 import functional as F

from ..images import UnreadableImage, decoded, pixel_problem

_JPEG_MAGIC = b"\xff\xd8"
#: JPEG colour spaces libjpeg-turbo converts to RGB exactly as Pillow does.
_DIRECT_COLORSPACES = frozenset({"YCbCr", "Gray"})


def _decode_jpeg(data: bytes, min_size: int, name: str) -> np.ndarray | None:
    """RGB (H, W, 3) at the smallest cheap scale with both sides >= ``min_size``, or None when
    simplejpeg should not or cannot decode ``data`` (Pillow then decides, with its own errors).
    Too many pixels is refused from the header, as Pillow's path refuses it (``images.py``)."""
    try:
        height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        return None
    problem = pixel_problem(width, height)
    if problem is not None:
        raise UnreadableImage(name, problem)
    if colorspace not in _DIRECT_COLORSPACES:
        return None
    try:
        # min_factor=2: scales between 1/2 and 1 (5/8, 7/8 …) cost more than decoding in full.
        # strict (the default) refuses truncated or damaged data instead of filling it in grey.
        pixels: np.ndarray = simplejpeg.decode_jpeg(data, colorspace="RGB", min_height=min_size, min_width=min_size, min_factor=2)
        return pixels
    except ValueError:
        return None


def decode_rgb(data: bytes, min_size: int, name: str = "image") -> torch.Tensor:
    """The image in ``data`` as uint8 (3, H, W), reduced while decoding where the format allows
    (JPEG) but never below ``min_size`` on either side. Other formats come back at full size.

    Raises :class:`UnreadableImage` naming ``name`` for data that is not a readable image or
    has too many pixels.
    """
    pixels = _decode_jpeg(data, min_size, name) if is_jpeg(data) else None
    if pixels is None:
        with decoded(data, name) as image:
            image.draft("RGB", (min_size, min_size))
            return rgb_tensor(image)
    return _as_tensor(pixels)


def is_jpeg(data: bytes) -> bool:
    """Whether ``data`` starts like a JPEG file: the one format decoded at reduced scale here."""
    return data[:2] == _JPEG_MAGIC


def rgb_tensor(image: Image.Image) -> torch.Tensor:
    """uint8 (3, H, W) of an opened (or already decoded) Pillow image, as RGB."""
    return _as_tensor(np.asarray(image.convert("RGB")))


def _as_tensor(pixels: np.ndarray) -> torch.Tensor:
    if not pixels.flags.writeable:
        pixels = pixels.copy()  # torch tensors over read-only memory are undefined behaviour
    return torch.from_numpy(pixels).permute(2, 0, 1)


def decode_file(name: str, data: bytes, min_size: int) -> torch.Tensor:
    """:func:`decode_rgb` of the contents ``data`` of the image file ``name``; data that is not a
    readable image is an :class:`UnreadableImage` naming the file."""
    return decode_rgb(data, min_size, name)


def resize_exact(pixels: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (3, H, W) → (3, size, size), squashed like torchvision's ``Resize((size, size))``.

    Antialiased bilinear on the uint8 tensor: torchvision's native kernel, several times faster
    than a round trip through Pillow.
    """
    if pixels.shape[-2:] == (size, size):
        return pixels
    resized: torch.Tensor = F.resize(pixels, [size, size], antialias=True)
    return resized


def resize_within(pixels: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (3, H, W) shrunk, keeping its aspect ratio, until neither side exceeds ``size``
    (like Pillow's ``thumbnail``); smaller images are returned as they are."""
    height, width = pixels.shape[-2:]
    longest = max(height, width)
    if longest <= size:
        return pixels
    scale = size / longest
    resized: torch.Tensor = F.resize(pixels, [max(1, round(height * scale)), max(1, round(width * scale))], antialias=True)
    return resized
