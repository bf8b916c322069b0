"""Writing a run's embeddings and selection to its run directory (SPEC §4.1).

:func:`store_embeddings` follows the embed stage; :func:`write_selection` and :func:`dump_images`
are the outputs stage.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass

import numpy as np
import pandas as pd
from PIL import Image

from ..config.documents import WorkerConfig
from ..errors import ConfigError
from ..fileio import atomic_write, write_lines
from ..formats.embeddings import EmbeddingTable, normalize, write_embeddings
from ..images import open_image
from ..progress import Reporter
from ..selection import Objective, SelectionResult
from ..sources import Source
from .rundir import RunDirectory
from .samples import PLAIN_REASON


@dataclass
class Written:
    """What :func:`write_selection` wrote: the picked filenames in pick order, and how many rows
    ``removed_samples.csv`` has."""

    selected: list[str]
    removed: int


def store_embeddings(
    run_dir: RunDirectory, table: EmbeddingTable, normalize_embeddings: bool, reporter: Reporter
) -> EmbeddingTable:
    """Write ``data/embeddings.csv`` (``table`` as embedded) and ``data/normalized_embeddings.csv``;
    returns the table selection uses: ``table`` with rows scaled to unit length when
    ``normalize_embeddings``, else ``table`` itself."""
    write_embeddings(run_dir / "data/embeddings.csv", table)
    reporter.log(f"Unique embeddings are stored in {run_dir / 'data/embeddings.csv'}")
    if normalize_embeddings:
        reporter.log("Normalizing embeddings to unit length (disable with normalize_embeddings=False).")
        table = EmbeddingTable(table.filenames, normalize(table.embeddings), table.labels, table.extra)
    write_embeddings(run_dir / "data/normalized_embeddings.csv", table)
    reporter.log(f"Normalized embeddings are stored in {run_dir / 'data/normalized_embeddings.csv'}")
    return table


def _reasons(result: SelectionResult, objectives: list[Objective]) -> list[str]:
    """Per pick, e.g. ``diversity 0.912 + WEIGHTS:al_score 0.870 (THRESHOLD:lightly.width 64)``."""
    if result.skipped:
        return ["every candidate selected (fewer candidates than requested)"] * len(result.indices)
    reasons = []
    for rank in range(len(result.indices)):
        terms = [
            f"{o.label} {result.contributions[o.label][rank]:.3f}{_factor(o, result, rank)}" for o in objectives if o.is_term
        ]
        text = " + ".join(terms)
        passed = [f"{o.label} {result.contributions[o.label][rank]:.6g}" for o in objectives if not o.is_term]
        if passed:
            text += f" (passed {', '.join(passed)})"
        if rank == 0 and any(o.kind == "diversity" for o in objectives) and np.isinf(result.distance_at_pick[0]):
            text = "first pick: " + text
        reasons.append(text)
    return reasons


def _factor(objective: Objective, result: SelectionResult, rank: int) -> str:
    if objective.factor is None or result.typicality_factor is None:
        return ""
    return f" (x typicality {objective.factor[result.indices[rank]]:.3f})"


def _to_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    with atomic_write(path) as handle:
        frame.to_csv(handle, index=False, float_format="%.6g")


def write_selection(
    run_dir: RunDirectory,
    table: EmbeddingTable,
    result: SelectionResult,
    scores: dict[str, np.ndarray],
    objectives: list[Objective],
    dropped: dict[str, str],
    not_candidates: dict[str, str],
) -> Written:
    """Write selected/removed CSVs, embeddings of the picks and the filename lists.

    ``dropped``: samples removed before selection (corrupt, duplicates) with the reason;
    ``not_candidates``: why other samples could not be picked (datapool, THRESHOLD, ...).
    """
    picks = result.indices
    selected = [table.filenames[i] for i in picks]
    write_embeddings(run_dir / "data/selected_embeddings.csv", table.subset(picks))

    frame = pd.DataFrame({"filenames": selected, "rank": np.arange(1, len(picks) + 1)})
    for name, values in scores.items():
        frame[name] = values[picks]
    for objective in objectives:
        frame[f"contribution/{objective.label}"] = result.contributions[objective.label]
    if result.typicality_factor is not None:
        frame["typicality_factor"] = result.typicality_factor
    frame["distance_to_nearest_earlier_pick"] = np.where(np.isinf(result.distance_at_pick), np.nan, result.distance_at_pick)
    frame["reason"] = _reasons(result, objectives)
    _to_csv(frame, run_dir / "data/selected_samples.csv")

    chosen = np.zeros(len(table), dtype=bool)
    chosen[picks] = True
    rows = []
    for i in np.flatnonzero(~chosen):
        name = table.filenames[i]
        nearest = int(result.nearest[i])
        distance = result.nearest_distance[i]
        if nearest >= 0:
            nearest_name = table.filenames[nearest]
        elif np.isfinite(distance):
            nearest_name = "(an earlier datapool pick not in this input)"
        else:
            nearest_name = ""
        rows.append((name, not_candidates.get(name, PLAIN_REASON), nearest_name, distance))
    rows.extend((name, reason, "", np.nan) for name, reason in dropped.items())
    rows.sort(key=lambda row: row[0])
    removed = pd.DataFrame(rows, columns=["filenames", "reason", "nearest_selected", "distance"])
    _to_csv(removed, run_dir / "removed_samples.csv")

    corrupt = sorted(n for n, r in dropped.items() if r.startswith("corrupt"))
    duplicates = sorted(n for n, r in dropped.items() if r.startswith("exact duplicate"))
    write_lines(run_dir / "filenames/corrupt_filenames.txt", corrupt)
    write_lines(run_dir / "filenames/duplicate_filenames.txt", duplicates)
    write_lines(run_dir / "filenames/removed_filenames.txt", removed["filenames"])
    write_lines(run_dir / "filenames/sampled_filenames.txt", selected)
    return Written(selected=selected, removed=len(removed))


_PIL_FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "bmp": "BMP", "webp": "WEBP", "tiff": "TIFF"}


def _target_size(width: int, height: int, size: int | list[int]) -> tuple[int, int] | None:
    """(width, height) after ``output_image_size``: -1 keeps, an int is the short edge, [h, w] exact."""
    if isinstance(size, list):
        return size[1], size[0]
    if size == -1:
        return None
    scale = size / min(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def dump_images(
    run_dir: RunDirectory, source: Source | None, selected: list[str], worker: WorkerConfig, reporter: Reporter
) -> None:
    """Copy the selected images to ``data/sampled/`` (resized/converted as configured); a
    ConfigError without a datasource to copy them from."""
    if source is None:
        raise ConfigError("dump_dataset", "needs input_dir: the images to copy are read from there")
    fmt = worker.output_image_format.lower()
    size = worker.output_image_size
    reporter.log("Output images will not be resized." if size == -1 else f"Output images are resized to {size}.")
    target = run_dir / "data/sampled"
    reporter.set_stage("dump", f"Writing {len(selected)} selected images to {target}.")
    for name in reporter.track(selected, len(selected), "Dumping images"):
        stem, ext = posixpath.splitext(name)
        same_format = _PIL_FORMATS.get(ext.lower().lstrip(".")) == _PIL_FORMATS[fmt]
        if size == -1 and same_format:
            with atomic_write(target / name, "wb") as handle:
                handle.write(source.read_bytes(name))
            continue
        with open_image(source, name) as image:
            image.load()
            picture = image
            new_size = _target_size(image.width, image.height, size)
            if new_size is not None and new_size != image.size:
                picture = picture.resize(new_size, Image.Resampling.BICUBIC)
            if _PIL_FORMATS[fmt] == "JPEG" and picture.mode not in ("RGB", "L"):
                picture = picture.convert("RGB")
            if picture is image:
                picture = image.copy()  # the opened image is closed with the block
        out_name = name if same_format else f"{stem}.{fmt}"
        with atomic_write(target / out_name, "wb") as out:  # outside it: a full disk is not the image's fault
            picture.save(out, format=_PIL_FORMATS[fmt])
