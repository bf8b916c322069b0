"""Test data made on the fly: image folders, embeddings CSVs (no downloads, nothing committed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image


def write_image(path: Path, seed: int, size=(48, 64), fmt: str | None = None) -> Path:
    """A random-noise RGB image; different seeds give different bytes."""
    rng = np.random.default_rng(seed)
    pixels = (rng.random((size[0], size[1], 3)) * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, format=fmt)
    return path


def image_folder(root: Path, n: int = 12, folders=("cats", "dogs"), ext: str = "png") -> list[str]:
    """``n`` images spread over sub-folders; returns their relative names, sorted."""
    names = []
    for i in range(n):
        name = f"{folders[i % len(folders)]}/{i:04d}.{ext}"
        write_image(root / name, seed=i)
        names.append(name)
    return sorted(names)


def clustered_embeddings(n_clusters: int, per_cluster: int, dim: int = 8, spread: float = 0.01, seed: int = 0):
    """float32 (n_clusters*per_cluster, dim) points around far-apart centers; and cluster ids."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n_clusters, dim)) * 10
    labels = np.repeat(np.arange(n_clusters), per_cluster)
    points = centers[labels] + rng.standard_normal((len(labels), dim)) * spread
    return points.astype(np.float32), labels


def write_embeddings_csv(path: Path, filenames, embeddings, labels=None, **extra_columns) -> Path:
    frame = pd.DataFrame(embeddings, columns=[f"embedding_{d}" for d in range(embeddings.shape[1])])
    frame.insert(0, "filenames", list(filenames))
    frame["labels"] = labels if labels is not None else 0
    for name, values in extra_columns.items():
        frame[name] = values
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path
