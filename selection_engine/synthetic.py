"""Realistic synthetic datasources: images plus a ``.lightly/predictions`` folder for every task type.

Used by the tests, the benchmarks and the demo; nothing here is needed to run a selection.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path

import numpy as np
from PIL import Image

from .formats.predictions import PREDICTIONS_DIR, rle_encode


def write_images(root: Path, n: int, size=(48, 64), folders=("cats", "dogs"), ext="png", seed=0) -> list[str]:
    """``n`` noise images of ``size`` (h, w) spread over sub-folders; relative names, sorted."""
    rng = np.random.default_rng(seed)
    names = []
    for i in range(n):
        name = f"{folders[i % len(folders)]}/{i:05d}.{ext}"
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray((rng.random((size[0], size[1], 3)) * 255).astype(np.uint8)).save(path)
        names.append(name)
    return sorted(names)


def _dirichlet(rng, c: int, sharpness: float) -> list[float]:
    p = rng.dirichlet(np.full(c, sharpness))
    p = np.round(p, 6)
    p[np.argmax(p)] += 1 - p.sum()  # keep the sum at 1 after rounding
    return [float(v) for v in p]


def _singletons(rng, task_type: str, c: int, width: int, height: int) -> list[dict]:
    if task_type == "classification":
        p = _dirichlet(rng, c, rng.choice([0.3, 1.0, 5.0]))
        return [{"category_id": int(np.argmax(p)), "probabilities": p}]
    n = int(rng.integers(0, 5))
    items = []
    for _ in range(n):
        p = _dirichlet(rng, c, 1.0)
        category = int(np.argmax(p))
        if task_type == "object-detection":
            w, h = rng.uniform(4, width / 2), rng.uniform(4, height / 2)
            x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
            items.append({"category_id": category, "bbox": [round(x, 2), round(y, 2), round(w, 2), round(h, 2)],
                          "score": round(float(rng.uniform(0.2, 1)), 4), "probabilities": p})
        elif task_type == "semantic-segmentation":
            mask = np.zeros((height, width), dtype=bool)
            x0, y0 = int(rng.integers(0, width - 2)), int(rng.integers(0, height - 2))
            mask[y0 : y0 + int(rng.integers(2, height)), x0 : x0 + int(rng.integers(2, width))] = True
            items.append({"category_id": category, "segmentation": rle_encode(mask),
                          "score": round(float(rng.uniform(0.2, 1)), 4), "probabilities": p})
        else:
            points = []
            for _ in range(4):
                points += [round(float(rng.uniform(0, width)), 2), round(float(rng.uniform(0, height)), 2),
                           round(float(rng.uniform(0, 1)), 4)]
            items.append({"category_id": category, "keypoints": points, "score": round(float(rng.uniform(0, 1)), 4)})
    return items


def write_predictions(
    root: Path,
    filenames: list[str],
    tasks: dict[str, str],
    categories=("car", "person", "bicycle"),
    image_size=(48, 64),
    coverage: float = 1.0,
    seed: int = 0,
) -> None:
    """Write ``.lightly/predictions`` for ``tasks`` ({name: task_type}) over ``filenames``.

    Images are assumed to be ``image_size`` (h, w) (segmentation masks must match it); a share
    ``1 - coverage`` of the images gets no prediction file.
    """
    rng = np.random.default_rng(seed)
    base = root / PREDICTIONS_DIR
    base.mkdir(parents=True, exist_ok=True)
    (base / "tasks.json").write_text(json.dumps(list(tasks)))
    height, width = image_size
    for task, task_type in tasks.items():
        folder = base / task
        folder.mkdir(parents=True, exist_ok=True)
        schema = {"task_type": task_type, "categories": [{"id": i, "name": n} for i, n in enumerate(categories)]}
        (folder / "schema.json").write_text(json.dumps(schema))
        for name in filenames:
            if rng.random() >= coverage:
                continue
            target = folder / (posixpath.splitext(name)[0] + ".json")
            target.parent.mkdir(parents=True, exist_ok=True)
            predictions = _singletons(rng, task_type, len(categories), width, height)
            target.write_text(json.dumps({"file_name": name, "predictions": predictions}))
