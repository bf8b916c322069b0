"""Near-duplicate images (unit embeddings a millionth apart): their distance is 0 or tiny, never
negative or NaN. Computed as |a|² + |b|² - 2ab in float32 the squared distance of such a pair rounds
below 0 for a sizeable share of them; the selection must still pick every sample it is asked for
and write only finite distances >= 0."""

import io
import json

import numpy as np
import pandas as pd
import pytest

from selection_engine import pipeline
from selection_engine.config import resolve
from selection_engine.selection import SelectionData, build_objectives, select, typicality
from tests.factories import write_embeddings_csv

GROUPS, COPIES = 40, 5


def near_duplicates(seed=0, dim=64):
    """GROUPS unit vectors, each with COPIES-1 near-duplicates, unit length, float32."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((GROUPS, dim))
    x = np.repeat(base / np.linalg.norm(base, axis=1, keepdims=True), COPIES, axis=0)
    x += rng.standard_normal(x.shape) * 1e-6
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def choose(x, args):
    config = resolve(overrides=args).selection
    candidates = np.ones(len(x), dtype=bool)
    data = SelectionData(n=len(x), scores={"al": np.random.default_rng(1).random(len(x))})
    if config.uses_typicality:
        data.typicality = typicality(x)
    objectives = build_objectives(config, data, candidates, seed=0)
    return select(x, config, objectives, candidates=candidates)


@pytest.mark.parametrize("method", [["method=coreset"], ["method=coral", "active_learning_score_column_name=al"]])
def test_every_requested_sample_is_picked_among_near_duplicates(method):
    x = near_duplicates()
    n = len(x) - 1  # all but one: the selection loop runs to the last near-duplicate
    result = choose(x, [*method, f"stopping_condition.n_samples={n}"])
    assert result.stop_reason == "n_samples reached"
    assert len(result.indices) == n and len(set(result.indices.tolist())) == n
    later = result.distance_at_pick[1:]
    assert np.isfinite(later).all() and (later >= 0).all()
    assert np.isfinite(result.nearest_distance).all() and (result.nearest_distance >= 0).all()
    if method == ["method=coreset"]:  # k-center: the 40 distinct directions before any near-duplicate
        assert len({int(i) // COPIES for i in result.indices[:GROUPS]}) == GROUPS


def test_a_run_on_near_duplicates_writes_finite_distances(tmp_path):
    x = near_duplicates(seed=2)
    names = [f"img_{i:03d}.png" for i in range(len(x))]
    write_embeddings_csv(tmp_path / "shared/embeddings.csv", names, x.astype(np.float64))
    n = len(x) - 1
    config = resolve(overrides=[f"shared_dir={tmp_path / 'shared'}", f"output_dir={tmp_path / 'out'}",
                                "embeddings=embeddings.csv", f"stopping_condition.n_samples={n}"])
    result = pipeline.run(config, show_bars=False, stream=io.StringIO())
    assert len(result.selected) == n
    report = json.loads((result.run_dir / "report.json").read_text())
    assert report["job"]["stop_reason"] == "n_samples reached" and report["job"]["selected"] == n
    picks = pd.read_csv(result.run_dir / "data/selected_samples.csv")
    later = picks["distance_to_nearest_earlier_pick"].iloc[1:]
    assert later.notna().all() and (later >= 0).all()
    removed = pd.read_csv(result.run_dir / "removed_samples.csv")
    assert len(removed) == 1 and removed["distance"].notna().all() and (removed["distance"] >= 0).all()


def test_earlier_picks_outside_the_data_leave_their_near_duplicates_pickable():
    # a datapool's gone picks (external) that are near-duplicates of candidates: the rounded
    # squared distance may fall below 0, yet every candidate can still be picked
    x = near_duplicates(seed=3)
    # one more near-duplicate of each group, outside the data
    external = x[::COPIES] + np.random.default_rng(1).standard_normal((GROUPS, x.shape[1])) * 1e-6
    external = (external / np.linalg.norm(external, axis=1, keepdims=True)).astype(np.float32)
    config = resolve(overrides=["method=coreset", f"stopping_condition.n_samples={len(x) - 1}"]).selection
    result = select(x, config, build_objectives(config, SelectionData(n=len(x)), np.ones(len(x), dtype=bool), seed=0),
                    external=external)
    assert result.stop_reason == "n_samples reached" and len(result.indices) == len(x) - 1
    assert np.isfinite(result.distance_at_pick).all() and (result.distance_at_pick >= 0).all()
    assert np.isfinite(result.nearest_distance).all() and (result.nearest_distance >= 0).all()
