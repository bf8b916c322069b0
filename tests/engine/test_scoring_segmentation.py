"""Semantic segmentation: the classification uncertainties averaged over an image's segments."""

import math

import numpy as np
import pytest

from selection_engine.config.documents import ScorerConfig
from selection_engine.formats.predictions import TaskPredictions, TaskSchema
from selection_engine.scoring import compute_scores


def segmentation_task(n_images, segments, n_categories=2):
    """segments: (image, category_index, probabilities or None), sorted by image."""
    schema = TaskSchema("seg", "semantic-segmentation", list(range(n_categories)), [f"c{i}" for i in range(n_categories)])
    probabilities = [np.full(n_categories, np.nan) if s[2] is None else s[2] for s in segments]
    return TaskPredictions(
        schema=schema,
        n_images=n_images,
        has_file=np.ones(n_images, dtype=bool),
        image_index=np.array([s[0] for s in segments], dtype=np.int64),
        category_index=np.array([s[1] for s in segments], dtype=np.int64),
        score=np.full(len(segments), 0.9),
        probabilities=np.array(probabilities, dtype=np.float64).reshape(len(segments), n_categories),
    )


def test_scores_are_the_mean_over_segments():
    task = segmentation_task(
        3,
        [
            (0, 0, [0.5, 0.5]),
            (0, 1, None),  # one-hot: contributes 0 to the mean
            (1, 0, [0.8, 0.2]),
            (1, 0, [0.6, 0.4]),
        ],
    )
    scores = compute_scores(task, ScorerConfig())
    assert scores["uncertainty_least_confidence"].tolist() == pytest.approx([0.5, (0.4 + 0.8) / 2, 0.0])
    assert scores["uncertainty_margin"].tolist() == pytest.approx([0.5, (0.4 + 0.8) / 2, 0.0])
    h = lambda p: -(p * math.log(p) + (1 - p) * math.log(1 - p)) / math.log(2)  # noqa: E731
    assert scores["uncertainty_entropy"].tolist() == pytest.approx([0.5, (h(0.8) + h(0.6)) / 2, 0.0])


def test_mean_differs_from_max():
    task = segmentation_task(1, [(0, 0, [0.5, 0.5]), (0, 0, [1.0, 0.0]), (0, 0, [1.0, 0.0]), (0, 0, [1.0, 0.0])])
    assert compute_scores(task, ScorerConfig())["uncertainty_margin"].tolist() == pytest.approx([0.25])


def test_images_without_segments_score_zero():
    scores = compute_scores(segmentation_task(2, []), ScorerConfig())
    assert [v.tolist() for v in scores.values()] == [[0.0, 0.0]] * 3
