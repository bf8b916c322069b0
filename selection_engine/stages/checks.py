"""Checks on the raw files: corruptness and exact duplicates.

:func:`remove_corrupt` and :func:`remove_duplicates` are the run's corruptness and duplicates
stages: they drop what they find from the samples, each with its reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO, NamedTuple

import numpy as np
from PIL import Image

from ..errors import InputError
from ..formats.embeddings import EmbeddingTable
from ..images import UnreadableImage, decoded
from ..progress import Reporter
from ..sources import Source
from .image_metadata import Measures, decode_workers, measure_decoded
from .samples import Samples, drop


def inspect_image(source: Source, name: str) -> tuple[str | None, Measures | None]:
    """(why ``name`` cannot be fully decoded or None, its computed metadata or None).

    The check decodes every pixel anyway, so the computed metadata (sharpness, snr, size,
    width, height) is measured on the same decode instead of decoding the image again.
    """
    try:
        size = source.size(name)
        with source.open(name) as handle:
            inspected = inspect_data(handle, name, size)
        return inspected.problem, inspected.measured
    except InputError:
        raise  # the source could not be read (network, permissions): not the image's fault
    except OSError as exc:  # a local file that vanished or cannot be read
        return unreadable_file(exc), None


def unreadable_file(exc: OSError) -> str:
    """The reason listed for a file the source has but the system cannot read."""
    return f"cannot be read: {exc.strerror or exc}"


class Inspected(NamedTuple):
    """One file's check: why it cannot be fully decoded (None when it can), its computed
    metadata (None when it cannot), and what ``keep`` took from the decoded image."""

    problem: str | None
    measured: Measures | None
    kept: Any = None


def inspect_data(
    data: BinaryIO | bytes, name: str, size: int | None = None, keep: Callable[[Image.Image], Any] | None = None
) -> Inspected:
    """The check of :func:`inspect_image` on the contents ``data`` (bytes, or an open file of
    ``size`` bytes). Given ``keep``, ``kept`` is ``keep(image)`` of the decoded image: the
    distributed image pass takes the model's input from the same decode."""
    size = len(data) if isinstance(data, bytes) else size
    assert size is not None, "an open file comes with its size"
    if size == 0:
        return Inspected("empty file (0 bytes)", None)
    try:
        with decoded(data, name) as image:
            image.load()  # decodes every byte: truncated data raises here, not at open
            if image.width == 0 or image.height == 0:
                return Inspected("image has no pixels", None)
            return Inspected(None, measure_decoded(image, size), keep(image) if keep is not None else None)
    except UnreadableImage as exc:
        return Inspected(exc.reason, None)


def find_corrupt(source: Source, filenames: list[str], reporter: Reporter) -> dict[str, str]:
    """``{filename: reason}`` for every file that cannot be fully decoded."""
    return inspect_images(source, filenames, reporter)[0]


def inspect_images(source: Source, filenames: list[str], reporter: Reporter) -> tuple[dict[str, str], dict[str, Measures]]:
    """(``{filename: reason}`` of corrupt files, ``{filename: computed metadata}`` of the others)."""
    corrupt: dict[str, str] = {}
    measures: dict[str, Measures] = {}
    with ThreadPoolExecutor(decode_workers()) as pool:
        results = pool.map(lambda name: (name, *inspect_image(source, name)), filenames)
        for name, problem, measured in reporter.track(
            results, len(filenames), "Corrupt images found: 0", lambda: f"Corrupt images found: {len(corrupt)}"
        ):
            if problem is not None:
                corrupt[name] = problem
            else:
                assert measured is not None, "inspect_image measures every image it finds no problem with"
                measures[name] = measured
    return corrupt, measures


def content_hash(source: Source, name: str) -> str:
    """The digest exact duplicates are found by, of the file ``name``, read in 1 MiB pieces."""
    digest = _new_digest()
    with source.open(name) as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def data_hash(data: bytes) -> str:
    """:func:`content_hash` of contents already read."""
    digest = _new_digest()
    digest.update(data)
    return digest.hexdigest()


def _new_digest() -> hashlib.blake2b:
    return hashlib.blake2b(digest_size=20)


def find_exact_duplicates(source: Source, filenames: list[str], reporter: Reporter) -> dict[str, str]:
    """``{duplicate: kept}``: files with identical bytes; the first in sorted order is kept."""
    ordered = sorted(filenames)
    duplicates: dict[str, str] = {}
    with ThreadPoolExecutor(decode_workers()) as pool:
        hashes = pool.map(lambda name: (name, content_hash(source, name)), ordered)
        tracked = reporter.track(
            hashes, len(ordered), "Exact duplicates found: 0", lambda: f"Exact duplicates found: {len(duplicates)}"
        )
        first_copies(tracked, found=duplicates)  # fills duplicates as it goes: the bar's count stays live
    return duplicates


def first_copies(digests: Iterable[tuple[str, str]], found: dict[str, str] | None = None) -> dict[str, str]:
    """``{duplicate: kept}`` from (filename, digest) pairs given in sorted filename order: of
    each set of files with one digest, the first is kept. Fills ``found`` as it goes, when given."""
    first_with: dict[str, str] = {}
    duplicates = found if found is not None else {}
    for name, digest in digests:
        kept = first_with.setdefault(digest, name)
        if kept != name:
            duplicates[name] = kept
    return duplicates


def duplicate_rows(table: EmbeddingTable) -> dict[str, str]:
    """Without the image files, exact duplicates are identical embedding rows."""
    order = np.argsort(np.asarray(table.filenames, dtype=object), kind="stable")
    _, first, inverse = np.unique(table.embeddings[order], axis=0, return_index=True, return_inverse=True)
    kept = order[first][inverse.ravel()]
    return {table.filenames[order[j]]: table.filenames[kept[j]] for j in range(len(order)) if kept[j] != order[j]}


def remove_corrupt(source: Source, samples: Samples, reporter: Reporter) -> dict[str, Measures]:
    """The corruptness stage: drop the samples whose files cannot be fully decoded
    (``samples.corrupt``: filename → reason). Returns the computed metadata of the others,
    ``{filename: (sharpness, snr, size in bytes, width px, height px)}``, measured on the same decode."""
    corrupt, measured = inspect_images(source, samples.filenames, reporter)
    drop_corrupt(samples, corrupt, reporter)
    return measured


def drop_corrupt(samples: Samples, corrupt: dict[str, str], reporter: Reporter) -> None:
    """Drop the ``corrupt`` samples (filename → reason) found by a check, listed in ``samples.corrupt``."""
    samples.corrupt = corrupt
    reporter.log(f"Found {len(corrupt)} corrupt images.")
    drop(samples, {name: f"corrupt: {reason}" for name, reason in corrupt.items()})


def remove_duplicates(source: Source | None, samples: Samples, reporter: Reporter) -> None:
    """The duplicates stage: drop exact duplicates (``samples.duplicates``: duplicate → kept),
    files with identical bytes, or identical embedding rows when there is no datasource."""
    if source is not None:
        duplicates = find_exact_duplicates(source, samples.filenames, reporter)
    else:
        assert samples.table is not None, "without a datasource an embeddings file gives the samples"
        duplicates = duplicate_rows(samples.table)
    drop_duplicates(samples, duplicates, reporter)


def drop_duplicates(samples: Samples, duplicates: dict[str, str], reporter: Reporter) -> None:
    """Drop the exact ``duplicates`` (duplicate → kept), listed in ``samples.duplicates``."""
    samples.duplicates = duplicates
    reporter.log(f"Found {len(duplicates)} exact duplicates.")
    drop(samples, {dup: f"exact duplicate of {kept}" for dup, kept in duplicates.items()})
