"""Label-free quality of embeddings: did training make them better or worse for selection?

Nobody has labels when a model is trained for selection, so every training run compares the
embeddings of the trained model with those of the starting weights (random weights with their
fitted projection, or the checkpoint the run started from) on the same images, by a property
that needs no labels: the *effective rank* (Roy & Vetterli 2007; used for self-supervised models
as RankMe, Garrido et al. 2023). It is exp of the entropy of the normalised singular values of
the unit-length embeddings, as the selection sees them: 1 when every image maps to one direction
(collapse), up to the embedding dimension when the images spread evenly over all directions.
Selection measures distances between embeddings, so embeddings squeezed into a few directions
tell the images apart worse than embeddings that use them all.

Training trades spread for meaning, so the effective rank drops even when training helps: the
projection fitted to random weights keeps the trunk's directions of largest variance and spreads
the images almost evenly over them. What tells a harmful training apart is how far it drops.
Measured on scikit-learn's digits (``benchmarks/training_quality.py``, projections refitted after
training as runs do): eleven trainings, ratio trained / starting weights' effective rank vs the
change of 5-NN accuracy: the nine that lowered the accuracy (by 0.01 to 0.44) had ratios 0.45 to
0.81, the two that raised it (by 0.07 and 0.10) 0.87 and 0.89. The threshold :data:`WORSE_BELOW`
lies between; the margin is thin, so the check is a guard against trainings that clearly went
wrong, not a proof that one helped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..formats.embeddings import normalize

#: Trained embeddings whose effective rank is below this share of the starting weights' are
#: judged worse.
WORSE_BELOW = 0.85


def effective_rank(embeddings: np.ndarray) -> float:
    """embeddings float (N, D) → exp(entropy of σ / Σσ) of the L2-normalised rows, in [1, min(N, D)].

    σ are the singular values of the (N, D) matrix of unit rows, not centred: a common direction
    shared by every image is as useless to the selection's distances as a collapsed one.
    """
    x = normalize(np.asarray(embeddings, dtype=np.float32)).astype(np.float64)
    if x.size == 0:
        return 1.0
    singular = np.linalg.svd(x, compute_uv=False)
    total = singular.sum()
    if total <= 0:
        return 1.0
    p = singular[singular > 0] / total
    return float(np.exp(-(p * np.log(p)).sum()))


@dataclass
class TrainingQuality:
    """Effective ranks of the starting and the trained weights' embeddings of the same images."""

    starting: float
    trained: float
    images: int
    dimension: int

    @property
    def ratio(self) -> float:
        return self.trained / self.starting if self.starting > 0 else 1.0

    @property
    def worse(self) -> bool:
        return self.ratio < WORSE_BELOW

    @property
    def verdict(self) -> str:
        return "worse" if self.worse else "not worse"

    def summary(self) -> str:
        """One sentence for the log (the report prints the same from its facts)."""
        return describe(self.facts())

    def warning(self) -> str:
        """What went wrong and what to do, for the log, report.json and report.pdf."""
        return (
            "training made the embeddings worse by the label-free check. To get embeddings that help, train longer "
            "(lightly.trainer.max_epochs) with larger batches (lightly.loader.batch_size) and augmentations that keep "
            "what tells your images apart (lightly.collate: hf_prob=0 where a mirror image means something else, a "
            "larger min_scale for small images), use the starting weights (enable_training=False), or bring a "
            "checkpoint trained on similar images (checkpoint=...)."
        )

    def facts(self) -> dict[str, Any]:
        """For report.json's ``job.training.quality``."""
        return {
            "signal": "effective_rank",
            "starting_weights": round(self.starting, 3),
            "trained": round(self.trained, 3),
            "ratio": round(self.ratio, 3),
            "worse_below": WORSE_BELOW,
            "verdict": self.verdict,
            "warning": self.warning() if self.worse else None,
            "images": self.images,
            "dimension": self.dimension,
        }


def training_quality(starting: np.ndarray, trained: np.ndarray) -> TrainingQuality:
    """Compare embeddings float (N, D) of the same N images, with the starting and the trained weights."""
    if starting.shape != trained.shape:
        raise ValueError(f"embeddings of the same images expected, got shapes {starting.shape} and {trained.shape}")
    return TrainingQuality(effective_rank(starting), effective_rank(trained), len(starting), starting.shape[1])


def describe(facts: dict[str, Any]) -> str:
    """The sentence that states a check (``TrainingQuality.facts``), for the log and report.pdf."""
    return (
        f"Embedding quality, label-free (effective rank: how many of their {facts['dimension']} directions the "
        f"embeddings of {facts['images']} images use): {facts['starting_weights']:.1f} with the starting weights, "
        f"{facts['trained']:.1f} after training, a ratio of {facts['ratio']:.3f}; below {facts['worse_below']} "
        f"counts as worse, so: {facts['verdict']}."
    )
