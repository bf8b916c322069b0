"""BALANCE and samples without any predicted class (an image without a prediction file, or with
no object found): adding one changes nothing in the selection's class mix, so it ranks below a
sample that moves the mix toward the target and above one that moves it away."""

import numpy as np
import pytest

from selection_engine import synthetic
from selection_engine.config import resolve
from selection_engine.config.documents import ScorerConfig
from selection_engine.formats.predictions import load_predictions
from selection_engine.selection import ClassCounts, SelectionData, build_objectives, select
from selection_engine.sources import LocalSource
from selection_engine.stages.inputs import prediction_scores

BALANCE = {"input": {"type": "PREDICTIONS", "task": "t", "name": "CLASS_DISTRIBUTION"},
           "strategy": {"type": "BALANCE", "target": {"a": 0.5, "b": 0.5}}}


def balanced_pick(counts, n_samples):
    counts = np.asarray(counts, dtype=np.float64)
    n = len(counts)
    x = np.zeros((n, 2), dtype=np.float32)  # BALANCE alone: the embeddings do not matter
    config = resolve(selection_config={"n_samples": n_samples, "strategies": [BALANCE]}).selection
    candidates = np.ones(n, dtype=bool)
    data = SelectionData(n=n, class_counts={"t": ClassCounts(counts, ["a", "b"])})
    objectives = build_objectives(config, data, candidates, seed=0)
    return select(x, config, objectives, candidates=candidates)


A, B, NONE = [1, 0], [0, 1], [0, 0]


def test_a_sample_without_classes_is_not_taken_for_one_that_moves_the_mix():
    # three of each class, then three without classes (last, so index ties never favour them)
    counts = [A, A, A, B, B, B, NONE, NONE, NONE]
    result = balanced_pick(counts, 2)
    # nothing selected: no sample can move the mix, the lowest index wins; then a "b" evens it out
    assert result.indices.tolist() == [0, 3]
    assert result.contributions["BALANCE:t/CLASS_DISTRIBUTION"].tolist() == pytest.approx([0.0, 1.0])


def test_a_sample_without_classes_is_preferred_to_one_that_spoils_the_mix():
    counts = [A, A, A, B, B, B, NONE, NONE, NONE]
    result = balanced_pick(counts, 5)
    # a, b: the mix is on target; every further "a" or "b" moves it away, a classless one does not
    assert result.indices.tolist() == [0, 3, 6, 7, 8]


def test_only_classless_samples_left_still_fill_the_selection():
    counts = [NONE] * 5
    result = balanced_pick(counts, 3)
    assert result.indices.tolist() == [0, 1, 2]
    assert np.isfinite(result.contributions["BALANCE:t/CLASS_DISTRIBUTION"]).all()



def test_a_sample_without_classes_does_not_move_an_empty_selection_toward_the_target():
    # An uneven target: with nothing selected, an "a" moves the mix toward it and a "b" away; a
    # classless sample (first, so an index tie would favour it) changes nothing and is not picked.
    config = resolve(selection_config={"n_samples": 1, "strategies": [
        {**BALANCE, "strategy": {"type": "BALANCE", "target": {"a": 0.9, "b": 0.1}}}]}).selection
    counts = np.asarray([NONE, B, A], dtype=np.float64)
    candidates = np.ones(3, dtype=bool)
    data = SelectionData(n=3, class_counts={"t": ClassCounts(counts, ["a", "b"])})
    result = select(np.zeros((3, 2), dtype=np.float32), config, build_objectives(config, data, candidates, seed=0),
                    candidates=candidates)
    assert result.indices.tolist() == [2]
    assert result.contributions["BALANCE:t/CLASS_DISTRIBUTION"].tolist() == pytest.approx([1.0])


def test_images_without_predictions_have_no_classes(tmp_path):
    # what BALANCE reads in a run: an image without a prediction file counts no class at all
    names = synthetic.write_images(tmp_path, 12)
    synthetic.write_predictions(tmp_path, names, {"t": "classification"}, categories=("a", "b"), coverage=0.5, seed=3)
    predictions = load_predictions(LocalSource(tmp_path), names)
    has_file = predictions.task("t", names).has_file
    assert 0 < has_file.sum() < len(names)
    _, classes = prediction_scores(predictions, names, ScorerConfig())
    per_image = classes["t"].counts.sum(axis=1)
    assert (per_image[~has_file] == 0).all()
    assert (per_image[has_file] > 0).all()
