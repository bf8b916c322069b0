"""A local Ray for the distributed image pass's tests, and a folder with every kind of file the
pass must treat as the in-process stages do.

The Ray is started once per module with 2 CPUs (this machine's cores). Its workers import this
repository (``tests.*`` sources included) through PYTHONPATH. Without Ray installed (the
``distributed`` extra) every test here is skipped, loudly.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from selection_engine import pipeline
from selection_engine.config import resolve
from tests.digits import write_digit_folders

ROOT = Path(__file__).resolve().parents[2]


def ray_or_skip():
    try:
        import ray
        import ray.data
    except ImportError:
        pytest.skip("SKIPPED LOUDLY: Ray is not installed; `pip install -e '.[distributed]'` (make install does) runs "
                    "the distributed image pass's tests")
    return ray


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A Ray of 2 CPUs on this machine for the module's tests (runs with ray_address=local use it)."""
    ray = ray_or_skip()
    if ray.is_initialized():
        ray.shutdown()
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), previous]))
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        yield
    finally:
        ray.shutdown()
        if previous is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = previous


def mixed_folder(root: Path, n: int = 120) -> Path:
    """``n`` digits as 32 px PNGs, 16 more as 160 px JPEGs (decoded at reduced scale for the
    model), 4 corrupt files (truncated PNG and JPEG, empty, text) and 2 exact duplicates."""
    write_digit_folders(root, n=n)
    from sklearn.datasets import load_digits

    digits = load_digits()
    photos = root / "photos"
    photos.mkdir()
    for index in range(16):
        pixels = (digits.images[n + index] * 255 / 16).astype(np.uint8)
        Image.fromarray(pixels).resize((160, 160), Image.BILINEAR).convert("RGB").save(photos / f"{index:03d}.jpg", quality=90)
    png = (root / "digit-0/0000.png").read_bytes()
    jpeg = (root / "photos/000.jpg").read_bytes()
    (root / "broken/truncated.png").parent.mkdir()
    (root / "broken/truncated.png").write_bytes(png[: len(png) // 2])
    (root / "broken/truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (root / "broken/empty.png").write_bytes(b"")
    (root / "broken/notes.jpg").write_bytes(b"not an image at all\n")
    shutil.copy(root / "digit-0/0000.png", root / "zz-copy-of-0000.png")
    shutil.copy(root / "photos/003.jpg", root / "zz-copy-of-003.jpg")
    return root


def run(out: Path, *args: str, **kwargs):
    """A whole run; (its result, its log)."""
    log = io.StringIO()
    config = resolve(overrides=[f"output_dir={out}", *args])
    result = pipeline.run(config, show_bars=False, stream=log, **kwargs)
    return result, log.getvalue()
