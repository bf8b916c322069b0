"""Thumbnails of dataset images, made once and cached under WINNOW_DATA_DIR/thumbnails/."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from PIL import Image, ImageOps

from selection_engine.images import open_image
from selection_engine.sources import safe_relpath

from .. import datadir
from .models import Dataset
from .services import engine_source

#: Pixels of the longer edge: twice the gallery's 96-px cells, sharp on high-density screens.
SIZE = 192


def thumbnail_file(dataset: Dataset, filename: str, size: int = SIZE) -> Path:
    """The cached JPEG thumbnail of ``filename``; made on first use.

    Raises UnsafePathError for a name leaving the datasource, UnreadableImage for a file that is
    not an image or has too many pixels (a decompression bomb), and the source's errors when it
    is missing.
    """
    name = safe_relpath(filename, "name")
    key = hashlib.sha1(f"{name}\0{size}".encode()).hexdigest()
    path = datadir.thumbnails_dir(dataset.pk) / key[:2] / f"{key}.jpg"
    if path.exists():
        return path
    with open_image(engine_source(dataset), name) as image:
        image.draft("RGB", (size, size))  # JPEG: decode at reduced scale
        picture = ImageOps.exif_transpose(image).convert("RGB")
        picture.thumbnail((size, size), Image.Resampling.BILINEAR)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    picture.save(partial, "JPEG", quality=85)
    partial.replace(path)  # atomic: a concurrent request never serves half a file
    return path
