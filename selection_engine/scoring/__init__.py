"""Active-learning scores (SPEC §2.2): parsed predictions in, one [0, 1] array per score out.

Higher scores mean more worth labeling. Each task type has its own module of pure functions on
arrays; :func:`compute_scores` picks the right one for a :class:`TaskPredictions`.
"""

from __future__ import annotations

import numpy as np

from ..config.documents import ScorerConfig
from ..formats.predictions import TaskPredictions
from .classification import (
    CLASSIFICATION_SCORE_NAMES,
    classification_scores,
    fill_missing_probabilities,
    uncertainty_scores,
)
from .keypoints import mean_uncertainty
from .object_detection import detection_scores, object_counts, object_frequency, objectness_least_confidence
from .reduce import ImageGroups
from .segmentation import segmentation_scores

#: task_type → the score names it produces, in the order compute_scores returns them.
SCORE_NAMES: dict[str, tuple[str, ...]] = {
    "classification": CLASSIFICATION_SCORE_NAMES,
    "object-detection": ("objectness_least_confidence", "object_frequency", *CLASSIFICATION_SCORE_NAMES),
    "semantic-segmentation": CLASSIFICATION_SCORE_NAMES,
    "keypoint-detection": ("mean_uncertainty",),
}


def compute_scores(task: TaskPredictions, scorer_config: ScorerConfig) -> dict[str, np.ndarray]:
    """Every score of the task's type: {name: float64 (task.n_images,) in [0, 1]}, keys in the
    order of ``SCORE_NAMES[task.task_type]``. Images without predictions score 0 (except
    object_frequency, where they take part in the rescaling as a count of 0).
    """
    if task.task_type == "classification":
        scores = classification_scores(task.probabilities, task.category_index, _groups(task))
    elif task.task_type == "object-detection":
        scores = detection_scores(
            task.score, task.probabilities, task.category_index, _groups(task),
            frequency_penalty=scorer_config.frequency_penalty, min_score=scorer_config.min_score,
        )
    elif task.task_type == "semantic-segmentation":
        scores = segmentation_scores(task.probabilities, task.category_index, _groups(task))
    elif task.task_type == "keypoint-detection":
        scores = {
            "mean_uncertainty": mean_uncertainty(task.keypoints, task.keypoint_offsets, task.image_index, task.n_images)
        }
    else:
        raise ValueError(
            f"task {task.schema.name!r}: no scores for task_type {task.task_type!r} "
            f"(known: {', '.join(SCORE_NAMES)})"
        )
    return {name: scores[name] for name in SCORE_NAMES[task.task_type]}


def _groups(task: TaskPredictions) -> ImageGroups:
    try:
        return ImageGroups(task.image_index, task.n_images)
    except ValueError as exc:
        raise ValueError(f"task {task.schema.name!r}: {exc}") from None


__all__ = [
    "SCORE_NAMES",
    "ImageGroups",
    "classification_scores",
    "compute_scores",
    "detection_scores",
    "fill_missing_probabilities",
    "mean_uncertainty",
    "object_counts",
    "object_frequency",
    "objectness_least_confidence",
    "segmentation_scores",
    "uncertainty_scores",
]
