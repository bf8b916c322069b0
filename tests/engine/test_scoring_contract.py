"""What every caller of compute_scores relies on: the names and order of the scores, one float64
value in [0, 1] per image on arbitrary inputs, and a clear error for a malformed index.
"""

import numpy as np
import pytest

from selection_engine.config.documents import ScorerConfig
from selection_engine.formats.predictions import TaskPredictions, TaskSchema
from selection_engine.scoring import SCORE_NAMES, ImageGroups, compute_scores


def random_task(task_type, rng, n_images=200, n_categories=5, n_predictions=700):
    """Random predictions: Dirichlet probabilities (some missing, some single-hot), scores in
    [0, 1] (some missing), 0-4 keypoints per prediction, and images without predictions."""
    schema = TaskSchema("t", task_type, list(range(n_categories)), [f"c{i}" for i in range(n_categories)])
    image_index = np.sort(rng.integers(0, n_images, n_predictions))
    probabilities = rng.dirichlet(np.full(n_categories, 0.3), n_predictions)
    probabilities[rng.random(n_predictions) < 0.2] = np.nan
    score = rng.random(n_predictions)
    score[rng.random(n_predictions) < 0.1] = np.nan
    n_points = rng.integers(0, 5, n_predictions)
    offsets = np.r_[0, np.cumsum(n_points)].astype(np.int64)
    return TaskPredictions(
        schema=schema,
        n_images=n_images,
        has_file=np.isin(np.arange(n_images), image_index),
        image_index=image_index,
        category_index=rng.integers(0, n_categories, n_predictions),
        score=score,
        probabilities=probabilities,
        bbox=rng.random((n_predictions, 4)) * 100,
        keypoints=rng.random((offsets[-1], 3)),
        keypoint_offsets=offsets,
    )


EXPECTED_NAMES = {
    "classification": ("uncertainty_least_confidence", "uncertainty_margin", "uncertainty_entropy"),
    "object-detection": (
        "objectness_least_confidence",
        "object_frequency",
        "uncertainty_least_confidence",
        "uncertainty_margin",
        "uncertainty_entropy",
    ),
    "semantic-segmentation": ("uncertainty_least_confidence", "uncertainty_margin", "uncertainty_entropy"),
    "keypoint-detection": ("mean_uncertainty",),
}


def test_score_names_per_task_type():
    assert SCORE_NAMES == EXPECTED_NAMES
    assert list(SCORE_NAMES) == list(EXPECTED_NAMES)


@pytest.mark.parametrize("task_type", list(EXPECTED_NAMES))
def test_every_score_is_a_float_in_the_unit_interval_per_image(task_type):
    rng = np.random.default_rng(7)
    for config in (ScorerConfig(), ScorerConfig(frequency_penalty=0.0, min_score=0.0)):
        task = random_task(task_type, rng)
        scores = compute_scores(task, config)
        assert tuple(scores) == EXPECTED_NAMES[task_type]
        for name, values in scores.items():
            assert values.dtype == np.float64 and values.shape == (task.n_images,), name
            assert ((values >= 0) & (values <= 1)).all(), name
        if task_type != "object-detection":
            # images without predictions score 0
            for values in scores.values():
                assert (values[~task.has_file] == 0).all()


def test_reductions_match_a_loop_over_images():
    rng = np.random.default_rng(1)
    index = np.sort(rng.integers(0, 50, 400))
    values = rng.random(400)
    expected_max = [values[index == i].max() if (index == i).any() else 0.0 for i in range(60)]
    expected_mean = [values[index == i].mean() if (index == i).any() else 0.0 for i in range(60)]
    groups = ImageGroups(index, 60)
    assert groups.max(values).tolist() == pytest.approx(expected_max)
    assert groups.mean(values).tolist() == pytest.approx(expected_mean)
    assert groups.counts.tolist() == [(index == i).sum() for i in range(60)]


def test_unsorted_or_out_of_range_image_index_is_refused():
    with pytest.raises(ValueError, match="sorted ascending"):
        ImageGroups(np.array([0, 2, 1]), 3)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        ImageGroups(np.array([0, 3]), 3)
    task = random_task("object-detection", np.random.default_rng(0))
    task.image_index = task.image_index[::-1].copy()
    with pytest.raises(ValueError, match="task 't': image_index must be sorted"):
        compute_scores(task, ScorerConfig())


def test_unknown_task_type_names_the_task():
    task = random_task("classification", np.random.default_rng(0))
    task.schema.task_type = "instance-segmentation"
    with pytest.raises(ValueError, match=r"task 't'.*instance-segmentation"):
        compute_scores(task, ScorerConfig())
