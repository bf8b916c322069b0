"""Stopping conditions and how coral, coreset and random choose."""

import numpy as np
import pytest

from selection_engine.config import resolve
from selection_engine.selection import SelectionData, build_objectives, select, typicality


def run_selection(x, args, scores=None, candidates=None, preselected=None):
    config = resolve(overrides=args).selection
    mask = np.ones(len(x), dtype=bool) if candidates is None else candidates.copy()
    data = SelectionData(n=len(x), scores=scores or {}, n_labeled=0 if preselected is None else len(preselected))
    if config.uses_typicality:
        data.typicality = typicality(x)
    objectives = build_objectives(config, data, mask, seed=0)
    return select(x, config, objectives, candidates=mask, preselected=preselected)


def ring(n=12):
    """Points on the unit circle, equally spaced: every candidate's distances are symmetric."""
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)


def test_n_samples_as_a_count_and_as_a_fraction():
    x = np.random.default_rng(0).random((50, 4)).astype(np.float32)
    assert len(run_selection(x, ["stopping_condition.n_samples=7"]).indices) == 7
    assert len(run_selection(x, ["stopping_condition.n_samples=0.2"]).indices) == 10


def test_min_distance_stops_once_everything_is_covered():
    x = np.array([[0, 0], [0.05, 0], [1, 0], [1.05, 0], [5, 0]], dtype=np.float32)
    result = run_selection(x, ["stopping_condition.min_distance=0.5", "normalize_embeddings=false"])
    assert sorted(result.indices.tolist()) == [0, 3, 4]  # one per group; 1.05 is farther than 1
    assert result.stop_reason.startswith("min_distance reached")
    # every pick after the first was at least min_distance from the earlier ones
    assert (result.distance_at_pick[1:] >= 0.5).all()


def test_the_first_stopping_condition_reached_wins():
    x = np.array([[0, 0], [0.05, 0], [1, 0], [1.05, 0], [5, 0]], dtype=np.float32)
    by_count = run_selection(x, ["stopping_condition.min_distance=0.5", "stopping_condition.n_samples=2"])
    assert len(by_count.indices) == 2 and by_count.stop_reason == "n_samples reached"
    by_distance = run_selection(x, ["stopping_condition.min_distance=0.5", "stopping_condition.n_samples=4"])
    assert len(by_distance.indices) == 3 and by_distance.stop_reason.startswith("min_distance")


def test_coral_prefers_the_higher_score_among_equally_distant_samples():
    x = ring(12)
    scores = np.linspace(0.1, 0.5, 12)
    scores[7] = 0.99
    result = run_selection(x, ["method=coral", "active_learning_score_column_name=al", "stopping_condition.n_samples=2"], {"al": scores})
    # First pick: all infinitely far, so the best score wins; coreset would take index 0.
    assert result.indices[0] == 7
    coreset = run_selection(x, ["stopping_condition.n_samples=2"])
    assert coreset.indices[0] == 0


def test_coral_prefers_the_more_distant_sample_at_equal_score_once_labels_are_many():
    # Four points, then 300 labeled ones far away: past the cold start (30 labels per class,
    # 10 classes assumed), typicality no longer weighs the distance term.
    x = np.array([[0, 0], [1, 0], [3, 0], [2.9, 0.1]] + [[100 + i, 100] for i in range(300)], dtype=np.float32)
    scores = np.concatenate([[1.0, 0.5, 0.5, 0.5], np.zeros(300)])
    args = ["method=coral", "active_learning_score_column_name=al", "stopping_condition.n_samples=2", "normalize_embeddings=false"]
    result = run_selection(x, args, {"al": scores}, preselected=np.arange(4, 304))
    assert result.indices.tolist() == [0, 2]
    # At the cold start the denser end wins instead: 2.9 has a close neighbour and 3 is farther out.
    assert run_selection(x[:4], args, {"al": scores[:4]}).indices.tolist() == [0, 3]


def test_coral_selection_has_higher_scores_than_coreset():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((400, 8)).astype(np.float32)
    scores = rng.random(400)
    args = ["stopping_condition.n_samples=40"]
    coral = run_selection(x, [*args, "method=coral", "active_learning_score_column_name=al"], {"al": scores})
    coreset = run_selection(x, args)
    assert scores[coral.indices].mean() > scores[coreset.indices].mean() + 0.1
    assert coral.contributions["WEIGHTS:al"].shape == (40,)


def test_random_is_seeded_and_reproducible():
    x = np.zeros((100, 2), dtype=np.float32)
    a = run_selection(x, ["method=random", "stopping_condition.n_samples=10", "seed=1"])
    b = run_selection(x, ["method=random", "stopping_condition.n_samples=10", "seed=1"])
    c = run_selection(x, ["method=random", "stopping_condition.n_samples=10", "seed=2"])
    assert a.indices.tolist() == b.indices.tolist()
    assert a.indices.tolist() != c.indices.tolist()
    assert len(set(a.indices.tolist())) == 10


def test_more_requested_than_available_selects_everything_and_says_so():
    x = np.random.default_rng(0).random((5, 3)).astype(np.float32)
    result = run_selection(x, ["stopping_condition.n_samples=1.0"])
    assert result.skipped and sorted(result.indices.tolist()) == [0, 1, 2, 3, 4]


def test_non_candidates_and_preselected_are_never_picked():
    x = np.random.default_rng(0).random((30, 3)).astype(np.float32)
    candidates = np.ones(30, dtype=bool)
    candidates[:10] = False
    result = run_selection(x, ["stopping_condition.n_samples=25"], candidates=candidates, preselected=np.array([10, 11]))
    assert set(result.indices.tolist()) == set(range(12, 30))
    assert result.skipped  # 18 candidates, 25 requested
    # every sample knows its nearest selected one, including the preselected
    assert (result.nearest >= 10).all()


@pytest.mark.parametrize("method", ["coreset", "random"])
def test_nearest_selected_is_correct(method):
    x = np.random.default_rng(5).random((60, 3)).astype(np.float32)
    result = run_selection(x, [f"method={method}", "stopping_condition.n_samples=6"])
    picked = x[result.indices]
    d = np.linalg.norm(x[:, None, :] - picked[None, :, :], axis=2)
    np.testing.assert_array_equal(result.nearest, result.indices[d.argmin(1)])
    np.testing.assert_allclose(result.nearest_distance, d.min(1), atol=1e-5)
