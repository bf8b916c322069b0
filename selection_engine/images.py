"""Opening image files: the one place that decides whether a file is an image Winnow can read.

Every reader opens images through here — the corruptness check, the embedding's decoder, computed
metadata, segmentation sizes, the report's tiles, the dumped images, the web app's thumbnails and
sample page — so a file is unreadable for the same reason everywhere, and that reason is an
:class:`UnreadableImage` naming the file, never a traceback.

Decompression bombs: a 30000×30000 PNG fits in under 1 MB and decodes to 2.7 GB. Pillow warns
above ``Image.MAX_IMAGE_PIXELS`` (89,478,485 by default) and raises only above twice that; here
every image above it is refused from its header, before a pixel is decoded.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, BinaryIO

from PIL import Image

from .errors import InputError

if TYPE_CHECKING:
    from .sources import Source


class UnreadableImage(InputError):
    """An image file that cannot be decoded; ``reason`` says why, for the list of corrupt files."""


def max_pixels() -> int:
    """Pixels (width × height) an image may have: Pillow's ``Image.MAX_IMAGE_PIXELS``."""
    return Image.MAX_IMAGE_PIXELS or 2**63


def pixel_problem(width: int, height: int) -> str | None:
    """Why an image of ``width`` × ``height`` pixels is refused, or None when it is not."""
    limit = max_pixels()
    if width * height > limit:
        return f"too many pixels ({width}×{height}; the limit is {limit:,})"
    return None


def _declared_size(file: BinaryIO) -> tuple[int, int] | None:
    """The size the file's header declares, read as ``Image.open`` reads it but without Pillow's
    bomb check, which raises before it tells the size."""
    Image.init()
    file.seek(0)
    prefix = file.read(16)
    for format_id in Image.ID:
        factory, accept = Image.OPEN[format_id]
        if accept and not accept(prefix):
            continue
        try:
            file.seek(0)
            return factory(file, "").size
        except Exception:  # not this format: Image.open tries the next one the same way
            continue
    return None


@contextmanager
def decoded(file: BinaryIO | bytes, name: str) -> Iterator[Image.Image]:
    """The image in ``file`` (an open binary file or its bytes) as Pillow opens it: header read,
    pixels decoded on first use.

    Raises :class:`UnreadableImage` naming ``name`` when it has too many pixels or is not an
    image, and turns Pillow's errors inside the ``with`` block (``load``, ``convert``, a
    truncated file) into one too. The source's own errors (:class:`InputError`) pass through.
    """
    handle = io.BytesIO(file) if isinstance(file, bytes) else file
    try:
        with Image.open(handle) as image:
            problem = pixel_problem(*image.size)
            if problem is not None:
                raise UnreadableImage(name, problem)
            yield image
    except InputError:
        raise
    except Image.DecompressionBombError:
        size = _declared_size(handle)
        declared = pixel_problem(*size) if size else None
        raise UnreadableImage(name, declared or "too many pixels") from None
    except Exception as exc:  # Pillow raises many types for broken files; the reason is what matters
        raise UnreadableImage(name, f"cannot be decoded: {_pillow_reason(exc)}") from None


def _pillow_reason(exc: Exception) -> str:
    """Pillow's words for a file it cannot read, without the file object it names ("cannot
    identify image file <_io.BufferedReader name='/srv/...'>"): a server path is not the user's
    to read, and the same bytes read from memory or disk then give the same reason."""
    message = str(exc) or type(exc).__name__
    if message.startswith("cannot identify image file"):
        return "cannot identify image file (not an image, or a format Pillow cannot read)"
    return message


@contextmanager
def open_image(source: Source, name: str) -> Iterator[Image.Image]:
    """:func:`decoded` of the image ``name`` of ``source``."""
    with source.open(name) as handle, decoded(handle, name) as image:
        yield image


def image_size(source: Source, name: str) -> tuple[int, int]:
    """(width, height) of the image ``name`` from its header; UnreadableImage when refused."""
    with open_image(source, name) as image:
        return image.size
