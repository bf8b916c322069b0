"""A Ray head on this machine for the distributed image pass's tests, and a folder with every kind
of file the pass must treat as the in-process stages do.

The head is started once per module with 2 CPUs (this machine's cores), through the image's
``ray-head`` role (``docker/entrypoint.sh``: ``ray start --head``), token authentication on. Its
workers import this repository (``tests.*`` sources included) through PYTHONPATH. Without Ray
installed (the ``distributed`` extra) every test here is skipped, loudly.
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
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
def ray_head(tmp_path_factory) -> Iterator[str]:
    """A Ray cluster of 2 CPUs on this machine, started as the image's ``ray-head`` role starts it
    (``ray start --head``, token authentication on), for the module's tests; its address, host:port.

    The token and PYTHONPATH (the workers import ``tests.*`` sources) are put in this process's
    environment too, which the runs' driver processes inherit."""
    ray_or_skip()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(16),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    previous = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    # As the image's ray-head role starts it (docker/entrypoint.sh), in the foreground.
    log = tmp_path_factory.mktemp("ray-head") / "ray-head.log"
    head = subprocess.Popen(
        ["sh", str(ROOT / "docker/entrypoint.sh"), "ray-head", "--num-cpus=2", "--num-gpus=0"],
        env={**os.environ, "WINNOW_RAY_PORT": str(port), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"},
        stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    try:
        wait_for_head(head, log)
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(Path(sys.executable).parent / "ray"), "stop", "--force"], capture_output=True, timeout=120)
        head.wait(timeout=60)
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def wait_for_head(head: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    """Until ``ray start --block`` (``head``, writing to ``log``) says the head's node is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "Ray runtime started" in log.read_text():
            return
        if head.poll() is not None:
            raise AssertionError(f"the Ray head exited ({head.returncode}): {log.read_text()}")
        time.sleep(0.5)
    raise AssertionError(f"the Ray head did not start in {timeout} s: {log.read_text()}")


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
