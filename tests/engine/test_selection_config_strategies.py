"""THRESHOLD, WEIGHTS, BALANCE and SIMILARITY from a selection config, alone and combined."""

import numpy as np
import pandas as pd
import pytest

from selection_engine.config import resolve
from selection_engine.errors import ConfigError
from selection_engine.selection import ClassCounts, SelectionData, build_objectives, select


def choose(x, selection, data):
    config = resolve(selection_config=selection).selection
    candidates = np.ones(len(x), dtype=bool)
    objectives = build_objectives(config, data, candidates, seed=0)
    return select(x, config, objectives, candidates=candidates)


def strategy(input_, **kwargs):
    return {"input": input_, "strategy": kwargs}


DIVERSITY = strategy({"type": "EMBEDDINGS"}, type="DIVERSITY")


@pytest.fixture
def world():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((300, 8)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    scores = rng.random(300)
    classes = rng.choice(3, size=300, p=[0.8, 0.15, 0.05])  # a skewed class mix
    counts = np.eye(3)[classes]
    metadata = pd.DataFrame({"weather": np.array(["sun", "rain", "fog"])[classes], "lightly.width": rng.integers(10, 100, 300)})
    data = SelectionData(
        n=300,
        scores={"task/uncertainty_entropy": scores},
        metadata=metadata,
        metadata_kinds={"weather": "categorical", "lightly.width": "numeric"},
        class_counts={"task": ClassCounts(counts, ["car", "person", "bike"])},
    )
    return x, data, scores, classes


SCORES = {"type": "SCORES", "task": "task", "score": "uncertainty_entropy"}


def test_threshold_never_selects_an_excluded_sample(world):
    x, data, scores, _ = world
    result = choose(x, {"n_samples": 40, "strategies": [DIVERSITY, strategy(SCORES, type="THRESHOLD", threshold=0.6, operation="BIGGER_EQUAL")]}, data)
    assert len(result.indices) == 40
    assert (scores[result.indices] >= 0.6).all()
    assert (result.contributions["THRESHOLD:task/uncertainty_entropy"] == scores[result.indices]).all()


def test_threshold_on_numeric_metadata(world):
    x, data, _, _ = world
    result = choose(x, {"n_samples": 20, "strategies": [DIVERSITY, strategy({"type": "METADATA", "key": "lightly.width"}, type="THRESHOLD", threshold=50, operation="SMALLER")]}, data)
    assert (data.metadata["lightly.width"].to_numpy()[result.indices] < 50).all()


def test_weights_alone_picks_the_top_scores(world):
    x, data, scores, _ = world
    result = choose(x, {"n_samples": 25, "strategies": [strategy(SCORES, type="WEIGHTS")]}, data)
    assert result.indices.tolist() == np.argsort(-scores, kind="stable")[:25].tolist()


def test_balance_moves_the_class_mix_toward_the_target(world):
    x, data, _, classes = world
    target = {"car": 1 / 3, "person": 1 / 3, "bike": 1 / 3}
    balanced = choose(x, {"n_samples": 45, "strategies": [DIVERSITY, strategy({"type": "PREDICTIONS", "task": "task", "name": "CLASS_DISTRIBUTION"}, type="BALANCE", target=target)]}, data)
    diverse = choose(x, {"n_samples": 45, "strategies": [DIVERSITY]}, data)

    def gap(indices):
        mix = np.bincount(classes[indices], minlength=3) / len(indices)
        return np.abs(mix - 1 / 3).sum()

    assert gap(balanced.indices) < gap(diverse.indices) / 2, (gap(balanced.indices), gap(diverse.indices))


def test_balance_gives_the_rest_to_unnamed_classes(world):
    x, data, _, classes = world
    result = choose(x, {"n_samples": 30, "strategies": [strategy({"type": "PREDICTIONS", "task": "task", "name": "CLASS_DISTRIBUTION"}, type="BALANCE", target={"car": 0.2})]}, data)
    mix = np.bincount(classes[result.indices], minlength=3) / 30
    assert mix[0] <= 0.3 and mix[1] >= 0.3  # cars held near 0.2; persons take up the rest


def test_balance_on_categorical_metadata(world):
    x, data, _, classes = world
    result = choose(x, {"n_samples": 30, "strategies": [strategy({"type": "METADATA", "key": "weather"}, type="BALANCE", target={"fog": 0.5})]}, data)
    assert (classes[result.indices] == 2).sum() >= 10  # fog is 5% of the data, 15 images


def test_similarity_picks_the_nearest_neighbours_of_the_query(world):
    x, data, _, _ = world
    query = [3]
    data.queries = {0: (x[query], np.array(query))}
    result = choose(x, {"n_samples": 10, "strategies": [strategy({"type": "EMBEDDINGS", "filenames": ["q"]}, type="SIMILARITY")]}, data)
    d = np.linalg.norm(x - x[3], axis=1)
    d[3] = np.inf  # the query itself is not a candidate
    assert sorted(result.indices.tolist()) == sorted(np.argsort(d)[:10].tolist())


def test_coral_beats_coreset_on_scores_and_weights_on_spread(world):
    x, data, scores, _ = world

    def min_pairwise(indices):
        p = x[indices]
        d = np.linalg.norm(p[:, None] - p[None], axis=2)
        return d[np.triu_indices(len(p), 1)].min()

    coral = choose(x, {"n_samples": 30, "strategies": [DIVERSITY, strategy(SCORES, type="WEIGHTS")]}, data)
    coreset = choose(x, {"n_samples": 30, "strategies": [DIVERSITY]}, data)
    weights = choose(x, {"n_samples": 30, "strategies": [strategy(SCORES, type="WEIGHTS")]}, data)
    assert scores[coral.indices].mean() > scores[coreset.indices].mean()
    assert min_pairwise(coral.indices) > min_pairwise(weights.indices)


@pytest.mark.parametrize(
    "strategies, message",
    [
        ([strategy({"type": "METADATA", "key": "lightly.width"}, type="BALANCE", target={"1": 0.5})], "BALANCE needs classes, but metadata 'lightly.width' is numeric"),
        ([strategy({"type": "METADATA", "key": "weather"}, type="WEIGHTS")], "WEIGHTS needs a numeric input, but metadata 'weather' is categorical"),
        ([strategy({"type": "METADATA", "key": "nope"}, type="WEIGHTS")], "no metadata field 'nope'; available: lightly.width, weather"),
        ([strategy({"type": "PREDICTIONS", "task": "task", "name": "CLASS_DISTRIBUTION"}, type="BALANCE", target={"truck": 0.5})], "unknown class 'truck'; classes: car, person, bike"),
        ([strategy({"type": "PREDICTIONS", "task": "task", "name": "CLASS_DISTRIBUTION"}, type="BALANCE", target={"car": 0.5, "person": 0.2, "bike": 0.2})], "must sum to 1"),
        ([strategy({"type": "SCORES", "task": "other", "score": "x"}, type="WEIGHTS")], "no scores named 'other/x'"),
    ],
)
def test_invalid_combinations_found_at_run_time_say_why(world, strategies, message):
    x, data, _, _ = world
    with pytest.raises(ConfigError) as err:
        choose(x, {"n_samples": 5, "strategies": strategies}, data)
    assert message in str(err.value)


@pytest.mark.parametrize(
    "strategies, message",
    [
        ([strategy(SCORES, type="DIVERSITY")], "DIVERSITY cannot use SCORES input"),
        ([strategy({"type": "PREDICTIONS", "task": "t", "name": "CLASS_DISTRIBUTION"}, type="WEIGHTS")], "WEIGHTS cannot use PREDICTIONS input"),
        ([strategy(SCORES, type="THRESHOLD", threshold=0.5)], "operation: must be one of SMALLER"),
        ([strategy(SCORES, type="THRESHOLD", operation="BIGGER")], "THRESHOLD needs a threshold value"),
        ([strategy({"type": "PREDICTIONS", "task": "t", "name": "CLASS_DISTRIBUTION"}, type="BALANCE")], "BALANCE needs a target"),
        ([strategy({"type": "PREDICTIONS", "task": "t", "name": "CLASS_DISTRIBUTION"}, type="BALANCE", target={"a": 0.8, "b": 0.5})], "sum to at most 1"),
        ([strategy({"type": "EMBEDDINGS"}, type="SIMILARITY")], "SIMILARITY needs query samples"),
        ([strategy({"type": "PREDICTIONS", "task": "t", "name": "HISTOGRAM"}, type="BALANCE", target={"a": 1})], "must be CLASS_DISTRIBUTION"),
        ([strategy(SCORES, type="WEIGHTS", threshold=0.3)], "threshold/operation apply to THRESHOLD only"),
    ],
)
def test_invalid_combinations_are_config_errors(strategies, message):
    with pytest.raises(ConfigError) as err:
        resolve(selection_config={"n_samples": 5, "strategies": strategies})
    assert message in str(err.value)
