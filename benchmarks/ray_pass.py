"""The image pass: in process vs on a Ray cluster with 1 and 2 model actors, in images per second.

    .venv/bin/python benchmarks/ray_pass.py [--images 3000] [--size 256] [--repeats 2]

Generates JPEG photos (``--size`` px, quality 90, the shapes of ``benchmarks/embedding.py``) in a
temporary folder, starts a Ray head on this machine as the image's ``ray-head`` role does (all
its CPUs, token authentication on), then runs the default coreset run over the folder, each run
in this process:

- **in process**: the corruptness check, the duplicates check and the embeddings, each its own
  stage reading every file (``report.json``'s stage durations, summed);
- **Ray, 1 actor / 2 actors**: the one ``image_pass`` stage (``ray_address`` = the head), the
  driver process's start and connection included, the cluster's start not (an operator's
  cluster is up before runs come).

Every figure is images per second of those stages alone (the rest of a run is the same either
way), the median of ``--repeats`` runs, with the ratio to in process. The in-process run goes
first and last, so a machine that slows down meanwhile shows as a spread in its figure. On one
machine Ray can only lose: the same cores do the same decoding and model work, plus Ray's
scheduling, the object store and the driver's start; what it buys is more machines.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.embedding import write_jpegs  # noqa: E402
from selection_engine import pipeline  # noqa: E402
from selection_engine.config import resolve  # noqa: E402
from selection_engine.distributed import image_pass  # noqa: E402

PER_IMAGE_STAGES = ("corruptness", "duplicates", "embeddings")


def start_head(port: int, log: Path) -> subprocess.Popen:
    head = subprocess.Popen(["sh", str(ROOT / "docker/entrypoint.sh"), "ray-head"],
                            env={**os.environ, "WINNOW_RAY_PORT": str(port),
                                 "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"},
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while "Ray runtime started" not in log.read_text():
        if head.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the Ray head did not start: {log.read_text()}")
        time.sleep(0.5)
    return head


def seconds_of(folder: Path, out: Path, *keys: str) -> tuple[float, list[str]]:
    """Seconds the run's per-image stages took, and its selection."""
    config = resolve(overrides=[f"input_dir={folder}", f"output_dir={out}", "stopping_condition.n_samples=50", *keys])
    result = pipeline.run(config, show_bars=False, stream=io.StringIO())
    durations = json.loads((result.run_dir / "report.json").read_text())["job"]["stage_durations_s"]
    return sum(durations.get(stage, 0.0) for stage in (*PER_IMAGE_STAGES, "image_pass")), result.selected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(16))
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        folder = work / "images"
        write_jpegs(folder, args.images, args.size)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        head = start_head(port, work / "head.log")
        address = f"127.0.0.1:{port}"
        original = image_pass.image_pass
        times: dict[str, list[float]] = {"in process": [], "Ray, 1 actor": [], "Ray, 2 actors": []}
        picks: dict[str, list[str]] = {}
        try:
            for repeat in range(args.repeats):
                for label, actors in (("in process", 0), ("Ray, 1 actor", 1), ("Ray, 2 actors", 2)):
                    keys = [] if actors == 0 else [f"ray_address={address}"]
                    image_pass.image_pass = (  # type: ignore[assignment]
                        lambda *a, actors=actors, **k: original(*a, **k, actors=actors))
                    seconds, picks[label] = seconds_of(folder, work / f"out-{repeat}-{actors}", *keys)
                    times[label].append(seconds)
                    print(f"  {label:14s} run {repeat + 1}: {args.images / seconds:6.1f} images/s ({seconds:.1f} s)",
                          flush=True)
            image_pass.image_pass = original  # type: ignore[assignment]
            seconds, _ = seconds_of(folder, work / "out-last")
            times["in process"].append(seconds)
            # What a pass costs whatever its size: the driver process's start, connecting, the
            # actor's start and the first batch's way through, on a folder of 64 images.
            small = work / "small"
            write_jpegs(small, 64, args.size)
            fixed = [seconds_of(small, work / f"out-small-{i}", f"ray_address={address}")[0] for i in range(2)]
        finally:
            subprocess.run([str(Path(sys.executable).parent / "ray"), "stop", "--force"], capture_output=True)
            head.wait(timeout=60)
    cores = os.cpu_count()
    print(f"\nImage pass over {args.images:,} JPEGs of {args.size} px on {cores} cores "
          f"(checks + hashes + metadata + default embedding), median of {len(times['Ray, 1 actor'])} runs:")
    base = statistics.median(times["in process"])
    for label, values in times.items():
        rate = args.images / statistics.median(values)
        spread = f"{args.images / max(values):.0f}-{args.images / min(values):.0f}"
        print(f"  {label:14s} {rate:7.1f} images/s (range {spread})  {base / statistics.median(values):.2f}x in process")
    same = picks["in process"] == picks["Ray, 1 actor"] == picks["Ray, 2 actors"]
    print(f"  same selection in all three: {same}")
    print(f"  fixed cost of a pass on Ray (64 images, 1 actor): {statistics.median(fixed):.1f} s; without it, Ray with "
          f"1 actor reads {args.images / (statistics.median(times['Ray, 1 actor']) - statistics.median(fixed)):.0f} "
          "images/s")


if __name__ == "__main__":
    main()
