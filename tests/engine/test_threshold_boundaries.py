"""THRESHOLD at its boundary: a value exactly at the threshold is kept by SMALLER_EQUAL and
BIGGER_EQUAL and dropped by SMALLER and BIGGER; in the run's outputs it is named as excluded."""

import io
import json

import numpy as np
import pandas as pd
import pytest

from selection_engine import pipeline
from selection_engine.config import resolve
from selection_engine.selection import SelectionData, build_objectives, select
from tests.factories import write_embeddings_csv

#: Two samples exactly at the threshold 0.5, one below, one above.
VALUES = np.array([0.2, 0.5, 0.5, 0.8])
KEPT = {
    "SMALLER": [0],
    "SMALLER_EQUAL": [0, 1, 2],
    "BIGGER": [3],
    "BIGGER_EQUAL": [1, 2, 3],
}


def selection(operation, n_samples):
    return {"n_samples": n_samples, "strategies": [
        {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}},
        {"input": {"type": "SCORES", "column": "v"}, "strategy": {"type": "THRESHOLD", "threshold": 0.5, "operation": operation}},
    ]}


@pytest.mark.parametrize("operation", list(KEPT))
@pytest.mark.parametrize("n_samples", [2, 10])  # through the selection loop, and "every candidate selected"
def test_a_value_at_the_threshold(operation, n_samples):
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    config = resolve(selection_config=selection(operation, n_samples)).selection
    candidates = np.ones(4, dtype=bool)
    objectives = build_objectives(config, SelectionData(n=4, scores={"v": VALUES}), candidates, seed=0)
    result = select(x, config, objectives, candidates=candidates)
    kept = KEPT[operation]
    assert set(result.indices.tolist()) <= set(kept)
    assert len(result.indices) == min(n_samples, len(kept))
    if n_samples >= len(kept):
        assert sorted(result.indices.tolist()) == kept


@pytest.mark.parametrize("operation", list(KEPT))
def test_the_run_names_what_the_threshold_excluded(tmp_path, operation):
    shared = tmp_path / "shared"
    names = [f"img_{i}.png" for i in range(len(VALUES))]
    write_embeddings_csv(shared / "embeddings.csv", names, np.random.default_rng(1).standard_normal((4, 3)), v=VALUES)
    config = resolve(overrides=[f"shared_dir={shared}", f"output_dir={tmp_path / 'out'}", "embeddings=embeddings.csv",
                                f"selection_config={json.dumps(selection(operation, 10))}"])
    result = pipeline.run(config, show_bars=False, stream=io.StringIO())
    kept = [names[i] for i in KEPT[operation]]
    assert sorted(result.selected) == kept
    removed = pd.read_csv(result.run_dir / "removed_samples.csv").set_index("filenames")
    assert sorted(removed.index) == sorted(set(names) - set(kept))
    for name in removed.index:
        assert removed.loc[name, "reason"].startswith("excluded by THRESHOLD:v"), removed.loc[name, "reason"]
