"""Metadata Winnow computes for every image (SPEC §2.3), addressed as ``lightly.<name>``.

All measures are taken on the grey image: PIL's "L" conversion (ITU-R 601-2 luma) as float64
values in [0, 255], of the first frame, in stored pixel order (EXIF orientation is not applied).

:func:`metadata_table` is the run's metadata stage: the user's metadata beside the computed.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from PIL import Image

from ..fileio import atomic_write
from ..formats.metadata import MetadataField
from ..images import open_image
from ..progress import Reporter
from ..sources import Source
from .rundir import RunDirectory

COMPUTED_FIELDS = ("lightly.sharpness", "lightly.snr", "lightly.sizeInBytes", "lightly.width", "lightly.height")
#: One image's computed metadata, in the order of COMPUTED_FIELDS: (sharpness, snr, size in
#: bytes, width px, height px).
Measures = tuple[float, float, int, int, int]

_NUMERIC_TYPES = ("NUMERIC_INT", "NUMERIC_FLOAT")


def decode_workers() -> int:
    """Threads for decoding images (checks and computed metadata): one per core, at most 8."""
    return max(1, min(8, os.cpu_count() or 1))


def sharpness(grey: np.ndarray) -> float:
    """Variance (ddof=0) of the 4-neighbour Laplacian of ``grey``: float64 (H, W), values 0–255.

    Kernel [[0, 1, 0], [1, -4, 1], [0, 1, 0]] over the valid region (H-2, W-2) only, so borders
    are not invented; an image under 3 pixels in either direction has no valid region and gives 0.0.
    Unit: grey levels squared. Higher means more fine detail (or noise).
    """
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    centre = grey[1:-1, 1:-1]
    laplacian = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4.0 * centre
    return float(laplacian.var())


def snr(grey: np.ndarray) -> float:
    """Mean over standard deviation (ddof=0) of ``grey``: float64 (H, W), values 0–255; unitless.

    A constant image has std 0 and no meaningful ratio; it gets 0.0 rather than inf or nan so the
    column stays finite for thresholds, histograms and the report.
    """
    std = float(grey.std())
    return float(grey.mean()) / std if std > 0 else 0.0


def measure_decoded(image: Image.Image, size: int) -> Measures:
    """(sharpness, snr, size in bytes, width px, height px) of an opened image of ``size`` bytes."""
    width, height = image.size
    grey = np.asarray(image.convert("L"), dtype=np.float64)
    return sharpness(grey), snr(grey), size, width, height


def measure_image(source: Source, name: str) -> Measures:
    """(sharpness, snr, size in bytes, width px, height px) of one image of the source; an
    UnreadableImage naming it when it cannot be decoded (corrupt files are normally dropped before)."""
    size = source.size(name)
    with open_image(source, name) as image:
        return measure_decoded(image, size)


def compute_image_metadata(source: Source, filenames: list[str], reporter: Reporter) -> pd.DataFrame:
    """The computed metadata of every image: N = len(filenames) rows in the order given.

    Columns: ``filenames`` (object), ``lightly.sharpness`` and ``lightly.snr`` (float64, see
    :func:`sharpness` and :func:`snr`), ``lightly.sizeInBytes`` (int64, bytes on the source),
    ``lightly.width`` and ``lightly.height`` (int64, pixels).
    """
    pool = ThreadPoolExecutor(decode_workers())
    try:
        results = pool.map(lambda name: measure_image(source, name), filenames)
        rows = list(reporter.track(results, len(filenames), "Computing image metadata"))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # an undecodable file stops the rest at once
    return metadata_frame(filenames, rows)


def metadata_frame(filenames: list[str], rows: list[Measures]) -> pd.DataFrame:
    """The computed-metadata table from one :func:`measure_decoded` tuple per filename."""
    columns = list(zip(*rows)) if rows else [()] * len(COMPUTED_FIELDS)
    frame = pd.DataFrame({"filenames": pd.Series(list(filenames), dtype=object)})
    for name, values in zip(COMPUTED_FIELDS, columns):
        dtype = np.float64 if name in ("lightly.sharpness", "lightly.snr") else np.int64
        frame[name] = np.asarray(values, dtype=dtype)
    return frame


def metadata_kinds(fields: list[MetadataField]) -> dict[str, str]:
    """``{column name: "numeric" | "categorical"}`` for the user's fields and the computed ones.

    Strategies use it to refuse e.g. BALANCE on a numeric key or THRESHOLD on a categorical one.
    """
    kinds = {field.name: "numeric" if field.value_type in _NUMERIC_TYPES else "categorical" for field in fields}
    kinds.update(dict.fromkeys(COMPUTED_FIELDS, "numeric"))
    return kinds


def metadata_table(
    source: Source,
    filenames: list[str],
    measured: dict[str, Measures],
    user_metadata: pd.DataFrame,
    fields: list[MetadataField],
    run_dir: RunDirectory,
    reporter: Reporter,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The metadata stage: (the metadata of the N ``filenames``, each column's kind), the table
    also written to ``data/metadata.csv``.

    The table has N rows in the order of ``filenames``: ``filenames``, the user's ``fields`` (as
    ``user_metadata`` holds them, see ``formats.metadata.read_metadata``), then the computed
    :data:`COMPUTED_FIELDS`, taken from ``measured`` (the corruptness check's
    ``{filename: measure_decoded tuple}``) when given, else by decoding every image again.
    """
    if measured:
        computed = metadata_frame(filenames, [measured[name] for name in filenames])
    else:
        computed = compute_image_metadata(source, filenames, reporter)
    order = pd.DataFrame({"filenames": filenames})
    metadata = order.merge(user_metadata, on="filenames", how="left").merge(computed, on="filenames", how="left")
    with atomic_write(run_dir / "data/metadata.csv") as handle:
        metadata.to_csv(handle, index=False)
    return metadata, metadata_kinds(fields)
