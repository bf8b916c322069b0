"""The k-center core: exact greedy result, tie-breaking, already-selected points."""

import numpy as np
import pytest

from selection_engine.selection import greedy_k_center
from tests.factories import clustered_embeddings


def reference_k_center(x, k, already=()):
    """Textbook greedy k-center in float64: farthest point first, lowest index on ties."""
    x = x.astype(np.float64)
    dist = np.full(len(x), np.inf)
    chosen = list(already)
    for c in chosen:
        dist = np.minimum(dist, ((x - x[c]) ** 2).sum(1))
    picks = []
    while len(picks) < k and len(chosen) < len(x):
        masked = dist.copy()
        masked[chosen] = -1
        i = int(np.argmax(masked))
        picks.append(i)
        chosen.append(i)
        dist = np.minimum(dist, ((x - x[i]) ** 2).sum(1))
    return picks


def test_matches_the_textbook_algorithm():
    x = np.random.default_rng(3).standard_normal((3000, 16)).astype(np.float32)
    assert greedy_k_center(x, 100).tolist() == reference_k_center(x, 100)


def test_already_selected_points_count_and_are_never_returned():
    x = np.random.default_rng(4).standard_normal((500, 4)).astype(np.float32)
    picks = greedy_k_center(x, 20, already_selected=[5, 17])
    assert picks.tolist() == reference_k_center(x, 20, already=[5, 17])
    assert not {5, 17} & set(picks.tolist())


def test_one_pick_per_well_separated_cluster():
    x, cluster = clustered_embeddings(n_clusters=7, per_cluster=40, dim=8)
    picks = greedy_k_center(x, 7)
    assert sorted(cluster[picks].tolist()) == list(range(7))


def test_ties_go_to_the_lowest_index_and_the_first_pick_is_index_0():
    x = np.array([[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]], dtype=np.float32)
    # From the origin, four points are at distance 1: the lowest index wins.
    assert greedy_k_center(x, 2).tolist() == [0, 1]


def test_stops_when_candidates_run_out_and_handles_duplicates():
    x = np.zeros((4, 3), dtype=np.float32)
    assert greedy_k_center(x, 10).tolist() == [0, 1, 2, 3]
    assert greedy_k_center(x, 0).tolist() == []
    with pytest.raises(ValueError):
        greedy_k_center(x, -1)


def test_returns_int64_indices():
    x = np.random.default_rng(0).random((10, 2)).astype(np.float32)
    assert greedy_k_center(x, 3).dtype == np.int64
