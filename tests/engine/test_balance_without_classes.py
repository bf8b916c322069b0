"""BALANCE and samples without any predicted class (an image without a prediction file, or with
no object found): adding one changes nothing in the selection's class mix, so it ranks below a
sample that moves the mix toward the target and above one that moves it away."""

import numpy as np
import pytest

from selection_engine.config import resolve
from selection_engine.selection import ClassCounts, SelectionData, build_objectives, select

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

