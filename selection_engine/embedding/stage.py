"""The embedding stage of a run: load or build the model, train when asked, embed the samples.

After training, the model's projection is refitted by PCA of the trained trunk's features, as
for random weights (``projection.py``): the learned projection serves the contrastive head, and
on every training measured (``benchmarks/training_quality.py --projections``) the refitted one gave better
5-NN accuracy (+0.01 to +0.13 on digits). A run that trains then checks, without labels, whether
training helped (``quality.py``): it embeds the images with the starting weights too, and when
the trained embeddings are worse by that check it warns and selects with the starting weights'
embeddings instead. The checkpoint always holds the trained weights, with the refitted projection
(so a run that reuses it embeds exactly as this one did; the head saved with it was trained on the
learned projection and adapts when training continues from it).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..config import RunConfig
from ..config.paths import resolve_in
from ..errors import InputError
from ..formats.embeddings import EmbeddingTable
from ..progress import Reporter, StageTimer
from ..sources import Source
from ..stages.plan import planned_stages
from ..stages.rundir import RunDirectory
from ..stages.samples import Samples, drop
from .checkpoints import load_checkpoint, save_checkpoint
from .inference import device_for, embed_images
from .model import EmbeddingModel, build_model
from .projection import PooledTrunk, Projection, fit_projection, fit_sample, set_projection
from .quality import TrainingQuality, training_quality
from .training import train_simclr


@dataclass
class Embedded:
    device: str
    compute_efficiency: float | None = None
    losses: list[float] = field(default_factory=list)
    checkpoint: str | None = None
    #: the training's quality check (``TrainingQuality.facts``); None without training
    quality: dict[str, Any] | None = None

    def training_facts(self) -> dict[str, Any] | None:
        """report.json's ``job.training``; None when the run did not train."""
        if not self.losses:
            return None
        return {"losses": self.losses, "checkpoint": self.checkpoint, "quality": self.quality}


def embed_stage(
    config: RunConfig, source: Source | None, samples: Samples, run_dir: RunDirectory, reporter: Reporter, timer: StageTimer
) -> Embedded:
    """Train if asked, then embed every sample (unless an embeddings file gave them)."""
    worker, lightly = config.worker, config.lightly
    if "embeddings" not in planned_stages(worker, reads_images=source is not None):
        assert samples.table is not None, "without an embeddings stage the embeddings file gave the samples' table"
        if worker.checkpoint:
            reporter.log("Warning: checkpoint is ignored because embeddings are given by the embeddings file.")
        return Embedded(device="none (embeddings file)")
    assert source is not None, "the pipeline has a datasource whenever images are trained on or embedded"
    device = device_for(lightly.trainer.gpus)
    model, head, starting_weights = starting_model(config, reporter)
    outcome = Embedded(device=str(device))
    # Files that cannot be decoded (when the corruptness check is off, or a file changed since):
    # left out of training and embedding, then dropped from the samples with the reason.
    unreadable: dict[str, str] = {}
    if not worker.enable_training:
        reporter.set_stage("embeddings")
        with timer.stage("embeddings"):
            reporter.log(f"Embedding images with {lightly.model.name} ({starting_weights}) on {device}.")
            embeddings, efficiency = compute_embeddings(model, config, source, samples.filenames, device, reporter,
                                                        unreadable=unreadable)
        return keep_embeddings(samples, embeddings, efficiency, outcome, reporter, unreadable)

    starting = copy.deepcopy(model)
    reporter.set_stage("training")
    with timer.stage("training"):
        trained = train_simclr(model, source, samples.filenames, lightly, device, reporter, worker.seed, head, unreadable)
    outcome.losses = trained.losses
    model.projection_learned = False  # refitted to the trained trunk below
    target = run_dir / "checkpoints/last.ckpt"
    reporter.set_stage("embeddings")
    with timer.stage("embeddings"):
        # With an embeddings file this run only trains: the check then looks at the fit sample alone.
        if samples.table is None:
            names = samples.filenames
        else:
            names = [samples.filenames[i] for i in fit_sample(len(samples.filenames), worker.seed)]
        reporter.log(f"Embedding images with {lightly.model.name} (trained weights) on {device}.")
        embeddings, efficiency = compute_embeddings(model, config, source, names, device, reporter, trained=True,
                                                    unreadable=unreadable)
        model.projection_learned = True
        check, before = _check_quality(starting, embeddings, config, source, names, device, reporter, starting_weights,
                                       unreadable)
        fallback = samples.table is None and check.worse
        if fallback:
            reporter.log(
                f"Selecting with the embeddings of the starting weights ({starting_weights}), not the trained ones; "
                f"to select with the trained weights all the same, run again with checkpoint={target}."
            )
            embeddings, efficiency = before if before is not None else compute_embeddings(
                starting, config, source, names, device, reporter, unreadable=unreadable)
        used = "embeddings file" if samples.table is not None else "starting weights" if fallback else "trained weights"
        outcome.quality = {**check.facts(), "embedded_with": used}
    save_checkpoint(target, model, lightly, trained.head, trained.losses)
    outcome.checkpoint = str(target)
    reporter.log(f"Checkpoint of the trained weights saved to {target} (reuse it with checkpoint={target}).")
    if samples.table is not None:  # trained for a later run; the embeddings file still gives this run's embeddings
        if unreadable:
            reporter.log(f"Warning: {len(unreadable)} images cannot be decoded and were left out of training: "
                         + "; ".join(f"{name}: {reason}" for name, reason in sorted(unreadable.items())[:5]))
        return outcome
    return keep_embeddings(samples, embeddings, efficiency, outcome, reporter, unreadable)


def starting_model(config: RunConfig, reporter: Reporter) -> tuple[EmbeddingModel, Any, str]:
    """(the model a run starts from, the checkpoint's contrastive head or None, its weights in
    words for the log): the ``checkpoint`` key's, else random weights seeded by ``seed``."""
    worker, lightly = config.worker, config.lightly
    if worker.checkpoint:
        path = resolve_in(config.shared_dir, worker.checkpoint, "checkpoint")
        model, head = load_checkpoint(path, lightly, seed=worker.seed)
        reporter.log(f"Loaded checkpoint {path}.")
        return model, head, "the checkpoint's weights"
    return build_model(lightly.model, seed=worker.seed), None, f"random weights, seed {worker.seed}"


def fit_to_images(
    model: EmbeddingModel, features: np.ndarray, n_images: int, trained: bool, reporter: Reporter
) -> Projection | None:
    """Fit ``model``'s projection to the images (``projection.py``) from ``features`` (the trunk's
    pooled features of the fit sample of the ``n_images`` images), set it and log it; None, with
    the reason logged, when there are too few images and the model keeps its projection."""
    projection = fit_projection(features, model.reduce.out_channels)
    if projection is None:
        kept = "learned" if trained else "random"
        reporter.log(f"Only {n_images} images: keeping the {kept} projection to {model.reduce.out_channels} dimensions.")
        return None
    set_projection(model, projection)
    why = "after training, in place of the learned one" if trained else "the weights are not learned"
    reporter.log(
        f"Projection to {model.reduce.out_channels} dimensions fitted to the images (PCA of the trunk's features of "
        f"{len(features)} images, {projection.explained:.0%} of their variance kept): {why}."
    )
    return projection


def compute_embeddings(
    model: EmbeddingModel, config: RunConfig, source: Source, filenames: list[str], device: torch.device, reporter: Reporter,
    trained: bool = False, unreadable: dict[str, str] | None = None,
) -> tuple[np.ndarray, float]:
    """Embeddings float32 (N, num_ftrs) of ``filenames`` and the compute efficiency. A model whose
    projection is not learned (random weights, or just ``trained`` by this run) gets it fitted to
    these images first (``projection.py``): in one pass when the fit sample is every image, else
    the sample and then every image. Files that cannot be decoded raise UnreadableImage, or, given
    ``unreadable``, are recorded there (their rows are for the caller to drop; see embed_images)
    and left out of the fit."""
    lightly = config.lightly

    def embed(net: torch.nn.Module, names: list[str]) -> tuple[np.ndarray, float]:
        return embed_images(net, source, names, input_size=lightly.collate.input_size, batch_size=lightly.loader.batch_size,
                            num_workers=lightly.loader.num_workers, device=device, reporter=reporter, unreadable=unreadable)

    if model.projection_learned:
        return embed(model, filenames)
    sample = fit_sample(len(filenames), config.worker.seed)
    features, efficiency = embed(PooledTrunk(model), [filenames[i] for i in sample])
    readable = np.array([filenames[i] not in unreadable for i in sample]) if unreadable else slice(None)
    projection = fit_to_images(model, features[readable], len(filenames), trained, reporter)
    if projection is None:
        return embed(model, filenames)
    if len(sample) == len(filenames):
        return projection.apply(features), efficiency
    return embed(model, filenames)


def _check_quality(
    starting: EmbeddingModel, trained: np.ndarray, config: RunConfig, source: Source, names: list[str],
    device: torch.device, reporter: Reporter, starting_weights: str, unreadable: dict[str, str] | None = None,
) -> tuple[TrainingQuality, tuple[np.ndarray, float] | None]:
    """Compare ``trained`` (N, D), the trained weights' embeddings of ``names``, with the starting
    weights' on the fit sample of the same images; log the outcome, and a warning when training made
    them worse. Returns (the check, the starting weights' embeddings of every name and the compute
    efficiency when the sample is every name, else None)."""
    sample = fit_sample(len(names), config.worker.seed)
    reporter.log(f"Embedding {len(sample)} images with the starting weights ({starting_weights}) to check what training changed.")
    before, efficiency = compute_embeddings(starting, config, source, [names[i] for i in sample], device, reporter,
                                            unreadable=unreadable)
    check = training_quality(before, trained[sample])
    reporter.log(check.summary())
    if check.worse:
        reporter.log("Warning: " + check.warning())
    return check, ((before, efficiency) if len(sample) == len(names) else None)


def keep_embeddings(
    samples: Samples,
    embeddings: np.ndarray,
    efficiency: float,
    outcome: Embedded,
    reporter: Reporter,
    unreadable: dict[str, str],
) -> Embedded:
    """Make ``embeddings`` (N, D), one row per sample, the samples' table; drop the unreadable
    samples, listed as corrupt with the reason. ``outcome``, with the compute efficiency set."""
    samples.table = EmbeddingTable(
        filenames=list(samples.filenames),
        embeddings=embeddings,
        labels=np.zeros(len(samples.filenames), dtype=np.int64),
    )
    if unreadable:
        shown = "; ".join(f"{name}: {reason}" for name, reason in sorted(unreadable.items())[:5])
        reporter.log(f"Found {len(unreadable)} images that cannot be decoded; they are left out and listed as corrupt ({shown}).")
        samples.corrupt.update(unreadable)
        drop(samples, {name: f"corrupt: {reason}" for name, reason in unreadable.items()})
        if not samples.filenames:
            raise InputError("input_dir", f"none of the images can be decoded, e.g. {shown}")
    reporter.log(f"Compute efficiency: {efficiency:.2f}")
    outcome.compute_efficiency = round(efficiency, 3)
    return outcome
