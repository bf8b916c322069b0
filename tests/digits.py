"""Real labeled images for evaluation tests: the first scikit-learn digits, one folder per class."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_digit_folders(root: Path, n: int = 200, size: int = 32) -> dict[str, str]:
    """``n`` of scikit-learn's bundled handwritten digits as ``size`` px grey PNGs in
    ``root/digit-<label>/<index>.png``; returns {relative name: label} (label "digit-<d>")."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    labels = {}
    for index in range(n):
        label = f"digit-{digits.target[index]}"
        path = root / label / f"{index:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        image = Image.fromarray((digits.images[index] * 255 / 16).astype(np.uint8))
        image.resize((size, size), Image.BILINEAR).save(path)
        labels[path.relative_to(root).as_posix()] = label
    return labels
