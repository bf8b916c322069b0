"""Classification uncertainty: least confidence, margin and entropy against hand-computed values."""

import math

import numpy as np
import pytest

from selection_engine.config.documents import ScorerConfig
from selection_engine.formats.predictions import TaskPredictions, TaskSchema
from selection_engine.scoring import compute_scores, uncertainty_scores

NAMES = ("uncertainty_least_confidence", "uncertainty_margin", "uncertainty_entropy")


def classification_task(n_images, predictions, n_categories):
    """predictions: (image, category_index, probabilities or None), sorted by image."""
    schema = TaskSchema("cls", "classification", list(range(n_categories)), [f"c{i}" for i in range(n_categories)])
    probabilities = [np.full(n_categories, np.nan) if p is None else p for _, _, p in predictions]
    has_file = np.zeros(n_images, dtype=bool)
    has_file[[i for i, _, _ in predictions]] = True
    return TaskPredictions(
        schema=schema,
        n_images=n_images,
        has_file=has_file,
        image_index=np.array([i for i, _, _ in predictions], dtype=np.int64),
        category_index=np.array([c for _, c, _ in predictions], dtype=np.int64),
        score=np.full(len(predictions), np.nan),
        probabilities=np.array(probabilities, dtype=np.float64).reshape(len(predictions), n_categories),
    )


def scores_of(vectors):
    return {k: v.tolist() for k, v in uncertainty_scores(np.array(vectors, dtype=np.float64)).items()}


def test_one_hot_scores_zero_and_uniform_scores_one():
    scores = scores_of([[0, 1, 0, 0], [0.25, 0.25, 0.25, 0.25]])
    for name in NAMES:
        assert scores[name] == pytest.approx([0.0, 1.0], abs=1e-12), name


def test_least_confidence_is_rescaled_to_the_number_of_classes():
    # (1 - 0.7) * 3 / 2
    assert scores_of([[0.7, 0.2, 0.1]])["uncertainty_least_confidence"] == pytest.approx([0.45])


def test_margin_is_one_minus_the_gap_between_the_two_largest():
    assert scores_of([[0.2, 0.5, 0.3]])["uncertainty_margin"] == pytest.approx([0.8])
    assert scores_of([[0.4, 0.4, 0.2]])["uncertainty_margin"] == pytest.approx([1.0])


def test_entropy_treats_zero_probabilities_as_contributing_nothing():
    scores = scores_of([[0.5, 0.5, 0.0, 0.0]])
    assert scores["uncertainty_entropy"] == pytest.approx([math.log(2) / math.log(4)])
    assert scores["uncertainty_entropy"] == pytest.approx([0.5])
    assert not np.isnan(scores["uncertainty_entropy"]).any()


def test_single_column_is_a_binary_problem():
    scores = scores_of([[0.8], [0.5], [1.0]])
    entropy_08 = -(0.8 * math.log(0.8) + 0.2 * math.log(0.2)) / math.log(2)
    assert scores["uncertainty_least_confidence"] == pytest.approx([0.4, 1.0, 0.0])
    assert scores["uncertainty_margin"] == pytest.approx([0.4, 1.0, 0.0])
    assert scores["uncertainty_entropy"] == pytest.approx([entropy_08, 1.0, 0.0])


def test_rounding_outside_the_unit_interval_is_clipped():
    scores = scores_of([[1.0005, 0.0, 0.0], [0.3337, 0.3337, 0.3336]])
    for name in NAMES:
        assert ((np.array(scores[name]) >= 0) & (np.array(scores[name]) <= 1)).all(), name


def test_compute_scores_per_image_with_missing_images_and_missing_probabilities():
    task = classification_task(
        5,
        [
            (0, 0, [0.7, 0.2, 0.1]),
            (2, 1, None),  # no probabilities: the one-hot of its category, fully confident
            (4, 2, [1 / 3, 1 / 3, 1 / 3]),
        ],
        n_categories=3,
    )
    scores = compute_scores(task, ScorerConfig())
    assert list(scores) == list(NAMES)
    assert scores["uncertainty_least_confidence"].tolist() == pytest.approx([0.45, 0, 0, 0, 1])
    assert scores["uncertainty_margin"].tolist() == pytest.approx([0.5, 0, 0, 0, 1])
    for values in scores.values():
        assert values.dtype == np.float64 and values.shape == (5,)


def test_several_predictions_of_one_image_take_the_most_uncertain():
    task = classification_task(2, [(0, 0, [0.9, 0.1]), (0, 1, [0.4, 0.6]), (1, 0, [1.0, 0.0])], n_categories=2)
    scores = compute_scores(task, ScorerConfig())
    assert scores["uncertainty_margin"].tolist() == pytest.approx([0.8, 0.0])
    assert scores["uncertainty_least_confidence"].tolist() == pytest.approx([0.8, 0.0])


def test_no_predictions_and_no_images():
    for n in (0, 3):
        scores = compute_scores(classification_task(n, [], n_categories=4), ScorerConfig())
        assert [v.tolist() for v in scores.values()] == [[0.0] * n] * 3


def test_large_inputs_match_a_row_by_row_reference():
    # More rows than one internal block, with missing rows and zeros, against the plain formulas.
    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.full(6, 0.2), 70_000)
    p[rng.random(len(p)) < 0.01] = np.nan
    category = rng.integers(0, 6, len(p))
    scores = uncertainty_scores(p, category)
    rows = np.where(np.isnan(p).any(1, keepdims=True), np.eye(6)[category], p)
    top = np.sort(rows, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.nansum(rows * np.log(rows), axis=1) / np.log(6)
    assert np.allclose(scores["uncertainty_least_confidence"], np.clip((1 - top[:, -1]) * 6 / 5, 0, 1))
    assert np.allclose(scores["uncertainty_margin"], np.clip(1 - (top[:, -1] - top[:, -2]), 0, 1))
    assert np.allclose(scores["uncertainty_entropy"], np.clip(entropy, 0, 1))
