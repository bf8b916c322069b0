"""Keypoint detection: mean_uncertainty = 1 − mean confidence over all of an image's keypoints."""

import numpy as np
import pytest

from selection_engine.config.documents import ScorerConfig
from selection_engine.formats.predictions import TaskPredictions, TaskSchema
from selection_engine.scoring import compute_scores


def keypoint_task(n_images, predictions):
    """predictions: (image, [confidence, ...]) per singleton, sorted by image."""
    schema = TaskSchema("kp", "keypoint-detection", [0], ["person"])
    confidences = [np.asarray(c, dtype=np.float64) for _, c in predictions]
    keypoints = [np.column_stack([np.zeros_like(c), np.zeros_like(c), c]) for c in confidences]
    offsets = np.zeros(len(predictions) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(c) for c in confidences])
    return TaskPredictions(
        schema=schema,
        n_images=n_images,
        has_file=np.ones(n_images, dtype=bool),
        image_index=np.array([i for i, _ in predictions], dtype=np.int64),
        category_index=np.zeros(len(predictions), dtype=np.int64),
        score=np.full(len(predictions), np.nan),
        probabilities=np.full((len(predictions), 1), np.nan),
        keypoints=np.concatenate(keypoints) if keypoints else np.zeros((0, 3)),
        keypoint_offsets=offsets,
    )


def test_mean_over_all_keypoints_of_all_predictions_of_an_image():
    task = keypoint_task(
        4,
        [
            (0, [1.0, 0.5]),
            (0, [0.0, 0.5, 0.5, 0.5]),  # image 0: 6 keypoints, mean 0.5 (not the mean of means)
            (2, [0.9]),
            (3, [1.0, 1.0, 1.0]),
        ],
    )
    scores = compute_scores(task, ScorerConfig())
    assert list(scores) == ["mean_uncertainty"]
    assert scores["mean_uncertainty"].tolist() == pytest.approx([0.5, 0.0, 0.1, 0.0])


def test_no_keypoints_scores_zero():
    assert compute_scores(keypoint_task(3, []), ScorerConfig())["mean_uncertainty"].tolist() == [0.0, 0.0, 0.0]
    assert compute_scores(keypoint_task(0, []), ScorerConfig())["mean_uncertainty"].shape == (0,)


def test_a_prediction_with_zero_keypoints_does_not_count():
    task = keypoint_task(1, [(0, []), (0, [0.2])])
    assert compute_scores(task, ScorerConfig())["mean_uncertainty"].tolist() == pytest.approx([0.8])
