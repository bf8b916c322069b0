"""Object detection scores: objectness, object frequency with penalties, per-image max uncertainty."""

import numpy as np
import pytest

from selection_engine.config.documents import ScorerConfig
from selection_engine.formats.predictions import TaskPredictions, TaskSchema
from selection_engine.scoring import SCORE_NAMES, ImageGroups, compute_scores, object_counts

CAR, PERSON, BIKE = 0, 1, 2


def detection_task(n_images, boxes, n_categories=3):
    """boxes: (image, category_index, score, probabilities or None), sorted by image."""
    schema = TaskSchema("det", "object-detection", list(range(n_categories)), [f"c{i}" for i in range(n_categories)])
    probabilities = [np.full(n_categories, np.nan) if b[3] is None else b[3] for b in boxes]
    return TaskPredictions(
        schema=schema,
        n_images=n_images,
        has_file=np.ones(n_images, dtype=bool),
        image_index=np.array([b[0] for b in boxes], dtype=np.int64),
        category_index=np.array([b[1] for b in boxes], dtype=np.int64),
        score=np.array([b[2] for b in boxes], dtype=np.float64),
        probabilities=np.array(probabilities, dtype=np.float64).reshape(len(boxes), n_categories),
        bbox=np.tile([0.0, 0.0, 10.0, 10.0], (len(boxes), 1)),
    )


def street_scene():
    # image 0: 3 cars + 1 person; image 1: 1 car; image 2: no boxes
    boxes = [(0, CAR, 0.9, None)] * 3 + [(0, PERSON, 0.9, None), (1, CAR, 0.9, None)]
    return detection_task(3, boxes)


def test_object_frequency_penalises_repeated_classes_and_rescales_onto_min_score():
    scores = compute_scores(street_scene(), ScorerConfig(frequency_penalty=0.25, min_score=0.9))
    # counts 2.5, 1, 0 mapped from [0, 2.5] onto [0.9, 1]
    assert scores["object_frequency"].tolist() == pytest.approx([1.0, 0.9 + 0.1 * (1 / 2.5), 0.9])


def test_object_frequency_with_another_penalty_and_min_score():
    scores = compute_scores(street_scene(), ScorerConfig(frequency_penalty=1.0, min_score=0.5))
    # counts 4, 1, 0 mapped from [0, 4] onto [0.5, 1]
    assert scores["object_frequency"].tolist() == pytest.approx([1.0, 0.5 + 0.5 / 4, 0.5])


def test_object_frequency_is_one_everywhere_when_all_counts_are_equal():
    task = detection_task(2, [(0, CAR, 0.5, None), (1, BIKE, 0.5, None)])
    assert compute_scores(task, ScorerConfig()).pop("object_frequency").tolist() == [1.0, 1.0]


def test_objectness_is_one_minus_the_mean_box_score():
    task = detection_task(3, [(0, CAR, 0.9, None), (0, CAR, 0.5, None), (2, PERSON, 0.2, None), (2, BIKE, np.nan, None)])
    scores = compute_scores(task, ScorerConfig())
    # image 2: a missing score counts as confident (1.0), so 1 - (0.2 + 1.0) / 2
    assert scores["objectness_least_confidence"].tolist() == pytest.approx([0.3, 0.0, 0.4])


def test_class_uncertainty_takes_the_most_uncertain_box_of_each_image():
    task = detection_task(
        3,
        [
            (0, CAR, 0.9, [0.7, 0.2, 0.1]),
            (0, PERSON, 0.9, [0.1, 0.8, 0.1]),
            (1, BIKE, 0.9, None),  # no probabilities: one-hot, fully confident
            (2, CAR, 0.9, [1 / 3, 1 / 3, 1 / 3]),
            (2, CAR, 0.9, [1.0, 0.0, 0.0]),
        ],
    )
    scores = compute_scores(task, ScorerConfig())
    assert scores["uncertainty_least_confidence"].tolist() == pytest.approx([0.45, 0.0, 1.0])
    assert scores["uncertainty_margin"].tolist() == pytest.approx([0.5, 0.0, 1.0])
    assert scores["uncertainty_entropy"][2] == pytest.approx(1.0)


def test_images_without_boxes_score_zero_on_every_detection_score():
    scores = compute_scores(detection_task(4, []), ScorerConfig())
    assert list(scores) == list(SCORE_NAMES["object-detection"])
    for name, values in scores.items():
        expected = 1.0 if name == "object_frequency" else 0.0  # all counts equal (0)
        assert values.tolist() == [expected] * 4, name
    mixed = compute_scores(street_scene(), ScorerConfig())
    for name in ("objectness_least_confidence", "uncertainty_least_confidence", "uncertainty_margin", "uncertainty_entropy"):
        assert mixed[name][2] == 0.0, name


def test_no_images_at_all():
    scores = compute_scores(detection_task(0, []), ScorerConfig())
    assert all(v.shape == (0,) for v in scores.values())


def test_object_counts_match_a_loop_over_images():
    rng = np.random.default_rng(2)
    image_index = np.sort(rng.integers(0, 300, 2000))
    category = rng.integers(0, 7, 2000)
    counts = object_counts(category, ImageGroups(image_index, 320), frequency_penalty=0.1)
    expected = []
    for i in range(320):
        classes = category[image_index == i]
        distinct = len(set(classes.tolist()))
        expected.append(distinct + 0.1 * (len(classes) - distinct))
    assert counts.tolist() == pytest.approx(expected)
