"""One k-center core for every path: ``greedy_k_center`` is ``select`` with DIVERSITY alone, and
the torch tracker (a GPU's, run here on torch's CPU build) picks what the compiled CPU one picks,
for every strategy mix, on data without ties."""

import numpy as np
import pytest

from selection_engine.config import resolve
from selection_engine.selection import SelectionData, build_objectives, greedy_k_center, select

from .test_greedy_k_center import reference_k_center

DIVERSITY = {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}
WEIGHTS = {"input": {"type": "SCORES", "column": "s"}, "strategy": {"type": "WEIGHTS"}}
TYPICAL = {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY", "typicality": 1.0}}
BALANCE = {"input": {"type": "PREDICTIONS", "task": "t", "name": "CLASS_DISTRIBUTION"},
           "strategy": {"type": "BALANCE", "target": {"a": 0.5, "b": 0.3, "c": 0.2}}}
FAR_ENOUGH = {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY", "stopping_condition_minimum_distance": 1.0}}


def unit_rows(n, d, seed):
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def run(x, strategies, backend, n_samples=40, candidates=None, preselected=(), external=None, seed=0):
    from selection_engine.selection import ClassCounts, typicality

    rng = np.random.default_rng(seed)
    selection = {"strategies": strategies} | ({"n_samples": n_samples} if n_samples else {})
    config = resolve(selection_config=selection).selection
    counts = np.eye(3)[rng.integers(0, 3, len(x))]
    data = SelectionData(n=len(x), scores={"s": rng.random(len(x))}, class_counts={"t": ClassCounts(counts, ["a", "b", "c"])},
                         n_labeled=len(preselected))
    if config.uses_typicality:
        data.typicality = typicality(x, seed=0)
    candidates = np.ones(len(x), dtype=bool) if candidates is None else candidates.copy()
    objectives = build_objectives(config, data, candidates, seed=0)
    return select(x, config, objectives, candidates, np.asarray(preselected, dtype=np.int64), external, backend=backend)


def test_greedy_k_center_is_select_with_diversity_alone():
    x = unit_rows(4000, 24, seed=1)
    for already in ((), (3, 99, 2500)):
        picks = greedy_k_center(x, 60, already_selected=list(already))
        chosen = run(x, [DIVERSITY], "numba", n_samples=60, preselected=already)
        assert picks.tolist() == chosen.indices.tolist() == reference_k_center(x, 60, already=list(already))


@pytest.mark.parametrize("strategies", [
    [DIVERSITY], [DIVERSITY, WEIGHTS], [TYPICAL, WEIGHTS], [DIVERSITY, BALANCE], [WEIGHTS, BALANCE],
], ids=["coreset", "coral", "typicality", "diversity+balance", "weights+balance"])
def test_the_torch_tracker_picks_what_the_cpu_tracker_picks(strategies):
    x = unit_rows(3000, 32, seed=2)
    candidates = np.random.default_rng(3).random(len(x)) > 0.1  # some samples are never candidates
    external = unit_rows(5, 32, seed=4)
    cpu = run(x, strategies, "numba", candidates=candidates, preselected=(7, 11), external=external)
    gpu = run(x, strategies, "torch", candidates=candidates, preselected=(7, 11), external=external)
    assert len(cpu.indices) == 40
    assert gpu.indices.tolist() == cpu.indices.tolist()
    for label, values in cpu.contributions.items():
        np.testing.assert_allclose(gpu.contributions[label], values, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(gpu.nearest, cpu.nearest)
    np.testing.assert_allclose(gpu.nearest_distance, cpu.nearest_distance, rtol=1e-5)
    np.testing.assert_allclose(gpu.distance_at_pick, cpu.distance_at_pick, rtol=1e-5)


def test_both_trackers_stop_at_the_same_minimum_distance():
    x = unit_rows(2000, 8, seed=5)
    cpu = run(x, [FAR_ENOUGH], "numba", n_samples=None)
    gpu = run(x, [FAR_ENOUGH], "torch", n_samples=None)
    assert cpu.stop_reason.startswith("min_distance reached") and gpu.stop_reason == cpu.stop_reason
    assert gpu.indices.tolist() == cpu.indices.tolist() and len(cpu.indices) > 10
    assert cpu.distance_at_pick[1:].min() >= 1.0


def test_the_cpu_tracker_matches_plain_numpy_on_every_distance():
    """The compiled pass keeps every sample's distance to the selection and its nearest pick."""
    x = unit_rows(1500, 16, seed=6)
    result = run(x, [DIVERSITY], "numba", n_samples=25)
    picked = x[result.indices].astype(np.float64)
    d = np.sqrt(((x.astype(np.float64)[:, None, :] - picked[None]) ** 2).sum(-1))
    np.testing.assert_allclose(result.nearest_distance, d.min(axis=1), atol=1e-5)
    assert (result.indices[d.argmin(axis=1)] == result.nearest).mean() > 0.999
