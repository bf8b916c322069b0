"""The embedding stage of a run: load or build the model, train when asked, embed the samples."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..config import RunConfig
from ..formats.embeddings import EmbeddingTable
from ..progress import Reporter, StageTimer
from ..rundir import RunDirectory
from ..samples import Samples, resolve_in
from ..sources import Source
from .checkpoints import load_checkpoint, save_checkpoint
from .inference import device_for, embed_images
from .model import EmbeddingModel, build_model
from .projection import PooledTrunk, fit_projection, fit_sample, set_projection
from .training import train_simclr


@dataclass
class Embedded:
    device: str
    compute_efficiency: float | None = None
    losses: list[float] = field(default_factory=list)
    checkpoint: str | None = None


def embed_stage(config: RunConfig, source: Source | None, samples: Samples, run_dir: RunDirectory, reporter: Reporter, timer: StageTimer) -> Embedded:
    """Train if asked, then embed every sample (unless an embeddings file gave them)."""
    worker, lightly = config.worker, config.lightly
    if not worker.enable_training and samples.table is not None:
        if worker.checkpoint:
            reporter.log("Warning: checkpoint is ignored because embeddings are given by the embeddings file.")
        return Embedded(device="none (embeddings file)")
    device = device_for(lightly.trainer.gpus)
    head = None
    if worker.checkpoint:
        path = resolve_in(config.shared_dir, worker.checkpoint, "checkpoint")
        model, head = load_checkpoint(path, lightly, seed=worker.seed)
        reporter.log(f"Loaded checkpoint {path}.")
    else:
        model = build_model(lightly.model, seed=worker.seed)
    outcome = Embedded(device=str(device))
    if worker.enable_training:
        reporter.set_stage("training")
        with timer.stage("training"):
            trained = train_simclr(model, source, samples.filenames, lightly, device, reporter, worker.seed, head)
        outcome.losses = trained.losses
        model.projection_learned = True
        target = run_dir / "checkpoints/last.ckpt"
        save_checkpoint(target, model, lightly, trained.head, trained.losses)
        outcome.checkpoint = str(target)
        reporter.log(f"Checkpoint saved to {target} (reuse it with checkpoint={target}).")
    if samples.table is not None:
        return outcome  # trained for a later run; the embeddings file still gives this run's embeddings
    reporter.set_stage("embeddings")
    with timer.stage("embeddings"):
        weights = "trained weights" if worker.enable_training or worker.checkpoint else f"random weights, seed {worker.seed}"
        reporter.log(f"Embedding images with {lightly.model.name} ({weights}) on {device}.")
        embeddings, efficiency = compute_embeddings(model, config, source, samples.filenames, device, reporter)
    samples.table = EmbeddingTable(
        filenames=list(samples.filenames),
        embeddings=embeddings,
        labels=np.zeros(len(samples.filenames), dtype=np.int64),
    )
    reporter.log(f"Compute efficiency: {efficiency:.2f}")
    outcome.compute_efficiency = round(efficiency, 3)
    return outcome


def compute_embeddings(
    model: EmbeddingModel, config: RunConfig, source: Source, filenames: list[str], device: torch.device, reporter: Reporter
) -> tuple[np.ndarray, float]:
    """Embeddings float32 (N, num_ftrs) of ``filenames`` and the compute efficiency. A model whose
    projection is not learned gets it fitted to these images first (``projection.py``): in one
    pass when the fit sample is every image, else the sample and then every image."""
    lightly = config.lightly

    def embed(net: torch.nn.Module, names: list[str]) -> tuple[np.ndarray, float]:
        return embed_images(net, source, names, input_size=lightly.collate.input_size, batch_size=lightly.loader.batch_size,
                            num_workers=lightly.loader.num_workers, device=device, reporter=reporter)

    if model.projection_learned:
        return embed(model, filenames)
    sample = fit_sample(len(filenames), config.worker.seed)
    features, efficiency = embed(PooledTrunk(model), [filenames[i] for i in sample])
    projection = fit_projection(features, model.reduce.out_channels)
    if projection is None:
        reporter.log(f"Only {len(filenames)} images: keeping the random projection to {model.reduce.out_channels} dimensions.")
        return embed(model, filenames)
    set_projection(model, projection)
    reporter.log(
        f"Projection to {model.reduce.out_channels} dimensions fitted to the images (PCA of the trunk's features of "
        f"{len(sample)} images, {projection.explained:.0%} of their variance kept): the weights are not learned."
    )
    if len(sample) == len(filenames):
        return projection.apply(features), efficiency
    return embed(model, filenames)
