"""Embedding and training throughput: Winnow's input pipeline vs the model's ceiling and a baseline.

    .venv/bin/python benchmarks/embedding.py [--images 2000] [--size 256] [--input-size 64] [--repeats 5]

Generates JPEG images (``--size`` px, smooth shapes, quality 90) in a temporary folder, then in
one process measures images per second of:

1. the model alone on pre-made tensors (the ceiling: no decoding at all), run the way the
   pipeline runs it (on the CPU two lanes of half the intra-op threads each, channels-last,
   inference mode); for reference also one call at a time on every thread;
2. Winnow's pipeline (``selection_engine.embedding.embed_images``: files read ahead, each lane
   decoding its batch's JPEGs at reduced scale with simplejpeg and then running the model);
3. a plain baseline: torchvision ``ImageFolder`` + PIL ``Resize``/``ToTensor``/``Normalize`` +
   ``DataLoader`` with the same workers and batch size, model in ``no_grad``;

and for one training epoch, Winnow's ``train_simclr`` against the model's forward + backward
ceiling on pre-made views (two views per image, projection head and NT-Xent included).

Shared machines change speed by tens of percent from one second to the next, so the pipeline is
compared with the ceiling measured just before and just after it, ``--repeats`` times, and the
figures are medians with their range. Each line also gives the CPU other processes used meanwhile
(in cores, from /proc/stat).
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image, ImageDraw
from torch.utils.data import DataLoader
from torchvision import transforms as T

from selection_engine.config import resolve
from selection_engine.embedding import build_model, embed_images
from selection_engine.embedding.heads import ProjectionHead
from selection_engine.embedding.inference import INFERENCE_BATCH, in_lanes, lane_count, resolve_workers, threads_per_lane
from selection_engine.embedding.loss import NTXentLoss
from selection_engine.embedding.training import train_simclr
from selection_engine.progress import Reporter
from selection_engine.sources import LocalSource


def write_jpegs(root: Path, n: int, size: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(n):
        base = Image.fromarray((rng.random((8, 8, 3)) * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC)
        draw = ImageDraw.Draw(base)
        for _ in range(5):
            x, y = rng.integers(0, size - 60, 2)
            w, h = rng.integers(10, 60, 2)
            draw.ellipse([x, y, x + w, y + h], fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
        path = root / f"class{i % 10}" / f"{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        base.save(path, quality=90)


def _foreign_cpu_seconds() -> float:
    """CPU seconds the whole machine has been busy minus those of this process and its children."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(v) for v in stat.readline().split()[1:9]]
    except OSError:
        return 0.0
    busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    own = sum(getattr(resource.getrusage(who), field) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for field in ("ru_utime", "ru_stime"))
    return busy - own


def timed(run):
    """run()'s result, its wall seconds, and the cores other processes kept busy on average meanwhile."""
    foreign, began = _foreign_cpu_seconds(), time.perf_counter()
    result = run()
    wall = time.perf_counter() - began
    return result, wall, max(0.0, (_foreign_cpu_seconds() - foreign) / wall)


def spread(values: list[float]) -> str:
    return f"{np.median(values):8.1f} images/s  (range {min(values):.1f}-{max(values):.1f})"


def model_ceiling(model, batch: int, input_size: int, lanes: int, seconds: float = 4.0) -> float:
    """Images/s of ``model`` on one pre-made batch, called in ``lanes`` lanes as the pipeline does."""
    model = model.to(memory_format=torch.channels_last).eval()
    x = torch.randn(batch, 3, input_size, input_size).contiguous(memory_format=torch.channels_last)

    def call(_):
        with torch.inference_mode():
            return model(x)

    with threads_per_lane(lanes):
        for _ in in_lanes(call, range(2 * lanes), lanes):  # warm-up
            pass
        began = time.perf_counter()
        deadline = began + seconds
        until_deadline = itertools.takewhile(lambda _: time.perf_counter() < deadline, itertools.count())
        calls = sum(1 for _ in in_lanes(call, until_deadline, lanes))
    return calls * batch / (time.perf_counter() - began)


def baseline(model, root: Path, batch: int, input_size: int, workers: int) -> float:
    transform = T.Compose(
        [T.Resize((input_size, input_size)), T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])]
    )
    loader = DataLoader(torchvision.datasets.ImageFolder(str(root), transform), batch_size=batch, num_workers=workers)
    model = model.to(memory_format=torch.contiguous_format).eval()
    began = time.perf_counter()
    with torch.no_grad():
        n = sum(len(model(images)) for images, _ in loader)
    return n / (time.perf_counter() - began)


def training_ceiling(model, config, seconds: float = 4.0) -> float:
    """Forward + backward images/s of model + head + loss on pre-made views (one step = batch images)."""
    batch, size = config.loader.batch_size, config.collate.input_size
    head = ProjectionHead(config.model.num_ftrs, config.model.out_dim)
    criterion = NTXentLoss(config.criterion.temperature)
    optimizer = torch.optim.SGD(list(model.parameters()) + list(head.parameters()), lr=0.01, momentum=0.9)
    model.train()
    head.train()
    views = [torch.randn(batch, 3, size, size) for _ in range(2)]

    def step():
        loss = criterion(head(model(views[0])), head(model(views[1])))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for _ in range(2):
        step()
    began, steps = time.perf_counter(), 0
    while time.perf_counter() - began < seconds:
        step()
        steps += 1
    return steps * batch / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--input-size", type=int, default=64)
    parser.add_argument("--train-images", type=int, default=512, help="images in the timed training epoch")
    parser.add_argument("--train-repeats", type=int, default=3, help="repeats of the timed training epoch")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats of the embedding measurements")
    args = parser.parse_args()
    config = resolve(overrides=["stopping_condition.n_samples=1", f"lightly.collate.input_size={args.input_size}"]).lightly
    workers = resolve_workers(config.loader.num_workers)
    quiet = Reporter(show_bars=False, stream=io.StringIO())
    print(f"{args.images} JPEG images of {args.size} px, input size {args.input_size}, {config.model.name}, "
          f"{torch.get_num_threads()} torch threads, {workers} loader workers (baseline, training), "
          f"inference batch {INFERENCE_BATCH}")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_jpegs(root, args.images, args.size)
        source = LocalSource(root)
        names = source.list_images()
        model = build_model(config.model)

        lanes = lane_count(torch.device("cpu"))
        ceiling_now = lambda: timed(lambda: model_ceiling(model, INFERENCE_BATCH, args.input_size, lanes))  # noqa: E731
        ceilings, one_call, pipelines, baselines, efficiencies, ratios = [], [], [], [], [], []
        (before, _, busy_before) = ceiling_now()
        for repeat in range(args.repeats):
            (_, efficiency), wall, busy_ours = timed(lambda: embed_images(
                model, source, names, args.input_size, config.loader.batch_size, config.loader.num_workers,
                torch.device("cpu"), quiet))
            after, _, busy_after = ceiling_now()
            base, _, busy_base = timed(lambda: baseline(model, root, INFERENCE_BATCH, args.input_size, workers))
            single = model_ceiling(model, INFERENCE_BATCH, args.input_size, lanes=1, seconds=3.0)
            ceiling = (before + after) / 2
            ceilings.append(ceiling)
            one_call.append(single)
            pipelines.append(len(names) / wall)
            baselines.append(base)
            efficiencies.append(efficiency)
            ratios.append(pipelines[-1] / ceiling)
            print(f"  repeat {repeat + 1}: ceiling {before:.1f} before, {after:.1f} after; pipeline {pipelines[-1]:.1f} "
                  f"({ratios[-1]:.2f} of the ceiling); baseline {base:.1f}; one call on all threads {single:.1f} images/s; "
                  f"other processes' CPU meanwhile {busy_before:.2f} / {busy_ours:.2f} / {busy_base:.2f} cores", flush=True)
            before, busy_before = after, busy_after
        print("embedding (median of the repeats)")
        print(f"  model alone (ceiling, {lanes} lane{'s' if lanes > 1 else ''}): {spread(ceilings)}")
        print(f"  model alone, one call on all threads: {spread(one_call)}")
        print(f"  winnow pipeline:        {spread(pipelines)}  "
              f"(compute efficiency shown in its bar: {np.median(efficiencies):.2f})")
        print(f"  ImageFolder baseline:   {spread(baselines)}")
        ours, base = np.median(pipelines), np.median(baselines)
        print(f"  pipeline / ceiling: {np.median(ratios):.2f} (per repeat {min(ratios):.2f}-{max(ratios):.2f}; target >= 0.9); "
              f"pipeline / baseline: {ours / base:.2f}x (target > 1)")

        train_config = resolve(overrides=["stopping_condition.n_samples=1", f"lightly.collate.input_size={args.input_size}",
                                          "lightly.trainer.max_epochs=1"]).lightly
        subset = names[: args.train_images]
        trained_images = len(subset) // train_config.loader.batch_size * train_config.loader.batch_size
        ceiling_model = build_model(train_config.model)
        train_ceiling = lambda: training_ceiling(ceiling_model, train_config)  # noqa: E731
        print(f"training (one epoch of {len(subset)} images, batch {train_config.loader.batch_size}, two views each, "
              f"{workers} loader workers)")
        trainings, train_ceilings, train_ratios = [], [], []
        before = train_ceiling()
        for repeat in range(args.train_repeats):
            (_, wall, busy) = timed(lambda: train_simclr(build_model(train_config.model), source, subset, train_config,
                                                         torch.device("cpu"), quiet))
            after = train_ceiling()
            trainings.append(trained_images / wall)
            train_ceilings.append((before + after) / 2)
            train_ratios.append(trainings[-1] / train_ceilings[-1])
            print(f"  repeat {repeat + 1}: ceiling {before:.1f} before, {after:.1f} after; train_simclr {trainings[-1]:.1f} "
                  f"({train_ratios[-1]:.2f} of the ceiling) images/s; other processes' CPU meanwhile {busy:.2f} cores",
                  flush=True)
            before = after
        print(f"  forward+backward ceiling: {spread(train_ceilings)}")
        print(f"  winnow train_simclr:      {spread(trainings)}")
        print(f"  training / ceiling: {np.median(train_ratios):.2f} (per repeat {min(train_ratios):.2f}-{max(train_ratios):.2f})")


if __name__ == "__main__":
    main()
