"""Realistic synthetic datasources: images plus a ``.lightly/predictions`` folder for every task type.

Used by the tests, the benchmarks and the demo; nothing here is needed to run a selection.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .formats.predictions import PREDICTIONS_DIR, rle_encode


def write_images(
    root: Path,
    n: int,
    size: tuple[int, int] = (48, 64),
    folders: Sequence[str] = ("cats", "dogs"),
    ext: str = "png",
    seed: int = 0,
) -> list[str]:
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


def _dirichlet(rng: np.random.Generator, c: int, sharpness: float) -> list[float]:
    p = rng.dirichlet(np.full(c, sharpness))
    p = np.round(p, 6)
    p[np.argmax(p)] += 1 - p.sum()  # keep the sum at 1 after rounding
    return [float(v) for v in p]


def _singletons(rng: np.random.Generator, task_type: str, c: int, width: int, height: int) -> list[dict[str, Any]]:
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
    categories: Sequence[str] = ("car", "person", "bicycle"),
    image_size: tuple[int, int] = (48, 64),
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


def write_digits(root: Path, size: int = 32) -> tuple[list[str], np.ndarray]:
    """scikit-learn's bundled handwritten digits (1,797 real 8x8 scans) as ``size`` px grey PNGs.

    Returns (file names, labels 0-9) in the same order. Real images without a download.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    root.mkdir(parents=True, exist_ok=True)
    names = []
    for index, pixels in enumerate(digits.images):  # float 0-16
        name = f"{index:04d}.png"
        image = Image.fromarray((pixels * 255 / 16).astype(np.uint8))
        image.resize((size, size), Image.Resampling.BILINEAR).save(root / name)
        names.append(name)
    return names, digits.target


def write_digit_predictions(
    root: Path, names: list[str], task: str = "digits-classifier", n_train: int = 50, seed: int = 0
) -> float:
    """Classification predictions of a small model trained on ``n_train`` labelled digits.

    A logistic regression on the raw pixels of a few images: good enough to be right most of the
    time, unsure on the hard digits, which is what active learning should pick. Writes
    ``root/.lightly/predictions`` for ``names`` (as written by :func:`write_digits`) and returns
    the model's accuracy on the images it did not see.
    """
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    digits = load_digits()
    rng = np.random.default_rng(seed)
    train = rng.choice(len(digits.target), size=n_train, replace=False)
    model = LogisticRegression(max_iter=2000).fit(digits.data[train], digits.target[train])
    probabilities = np.zeros((len(digits.target), 10))
    probabilities[:, model.classes_] = model.predict_proba(digits.data)
    rest = np.setdiff1d(np.arange(len(digits.target)), train)
    accuracy = float((probabilities[rest].argmax(1) == digits.target[rest]).mean())
    folder = root / PREDICTIONS_DIR / task
    folder.mkdir(parents=True, exist_ok=True)
    (root / PREDICTIONS_DIR / "tasks.json").write_text(json.dumps([task]))
    schema = {"task_type": "classification", "categories": [{"id": i, "name": str(i)} for i in range(10)]}
    (folder / "schema.json").write_text(json.dumps(schema))
    for name, p in zip(names, probabilities[: len(names)]):
        prediction = {"category_id": int(p.argmax()), "probabilities": [round(float(v), 5) for v in p]}
        document = {"file_name": name, "predictions": [prediction]}
        (folder / (posixpath.splitext(name)[0] + ".json")).write_text(json.dumps(document))
    return accuracy
