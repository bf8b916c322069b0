"""Checks on the raw files: corruptness and exact duplicates.

:func:`remove_corrupt` and :func:`remove_duplicates` are the run's corruptness and duplicates
stages: they drop what they find from the samples, each with its reason.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import InputError
from ..formats.embeddings import EmbeddingTable
from ..images import UnreadableImage, open_image
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
        if size == 0:
            return "empty file (0 bytes)", None
        with open_image(source, name) as image:
            image.load()  # decodes every byte: truncated data raises here, not at open
            if image.width == 0 or image.height == 0:
                return "image has no pixels", None
            return None, measure_decoded(image, size)
    except UnreadableImage as exc:
        return exc.reason, None
    except InputError:
        raise  # the source could not be read (network, permissions): not the image's fault
    except OSError as exc:  # a local file that vanished or cannot be read
        return f"cannot be read: {exc.strerror or exc}", None


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
    digest = hashlib.blake2b(digest_size=20)
    with source.open(name) as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def find_exact_duplicates(source: Source, filenames: list[str], reporter: Reporter) -> dict[str, str]:
    """``{duplicate: kept}``: files with identical bytes; the first in sorted order is kept."""
    ordered = sorted(filenames)
    first_with: dict[str, str] = {}
    duplicates: dict[str, str] = {}
    with ThreadPoolExecutor(decode_workers()) as pool:
        hashes = pool.map(lambda name: (name, content_hash(source, name)), ordered)
        for name, digest in reporter.track(
            hashes, len(ordered), "Exact duplicates found: 0", lambda: f"Exact duplicates found: {len(duplicates)}"
        ):
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
    samples.corrupt, measured = inspect_images(source, samples.filenames, reporter)
    reporter.log(f"Found {len(samples.corrupt)} corrupt images.")
    drop(samples, {name: f"corrupt: {reason}" for name, reason in samples.corrupt.items()})
    return measured


def remove_duplicates(source: Source | None, samples: Samples, reporter: Reporter) -> None:
    """The duplicates stage: drop exact duplicates (``samples.duplicates``: duplicate → kept),
    files with identical bytes, or identical embedding rows when there is no datasource."""
    if source is not None:
        samples.duplicates = find_exact_duplicates(source, samples.filenames, reporter)
    else:
        assert samples.table is not None, "without a datasource an embeddings file gives the samples"
        samples.duplicates = duplicate_rows(samples.table)
    reporter.log(f"Found {len(samples.duplicates)} exact duplicates.")
    drop(samples, {dup: f"exact duplicate of {kept}" for dup, kept in samples.duplicates.items()})
