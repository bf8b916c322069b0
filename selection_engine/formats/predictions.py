"""Model predictions in the datasource format (SPEC §2.1), parsed into flat arrays.

One :class:`TaskPredictions` holds every prediction "singleton" of one task as flat numpy arrays,
so scorers can work without a Python loop per prediction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TASK_TYPES = ("classification", "object-detection", "semantic-segmentation", "keypoint-detection")


@dataclass
class TaskSchema:
    name: str
    task_type: str
    #: category ids and names in schema order; probability vectors follow this order.
    category_ids: list[int]
    category_names: list[str]

    @property
    def n_categories(self) -> int:
        return len(self.category_ids)


@dataclass
class TaskPredictions:
    """All predictions of one task over N images (the run's samples, in run order).

    P singletons in total. ``image_index`` (P,) int64 says which image each belongs to, sorted
    ascending. Fields a task type does not use are empty arrays.
    """

    schema: TaskSchema
    n_images: int
    #: (N,) bool: the image has a prediction file (possibly with an empty list).
    has_file: np.ndarray
    image_index: np.ndarray  # (P,) int64
    category_index: np.ndarray  # (P,) int64: position of category_id in the schema
    #: (P,) float64 detection/segmentation/keypoint score; nan where not given.
    score: np.ndarray
    #: (P, C) float64 probability vectors; rows of nan where not given (C = schema categories).
    probabilities: np.ndarray
    #: (P, 4) float64 [x, y, w, h] for object detection.
    bbox: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    #: (K, 3) float64 keypoints [x, y, confidence] of all singletons, with ``keypoint_offsets``
    #: (P + 1,) int64 so singleton p owns rows offsets[p]:offsets[p + 1].
    keypoints: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    keypoint_offsets: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))

    @property
    def task_type(self) -> str:
        return self.schema.task_type
