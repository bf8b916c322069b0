"""selected_samples.csv: what each strategy contributed to a pick is ``strength x term`` with the
term in [0, 1], so every ``contribution/<strategy>`` column lies in [0, strength] for its strategy,
whatever the scale of the embeddings or of the scores; THRESHOLD's column holds the value it
compared."""

import io
import json

import numpy as np
import pandas as pd
import pytest

from selection_engine import pipeline, synthetic
from selection_engine.config import resolve
from selection_engine.selection import ClassCounts, SelectionData, build_objectives, select
from tests.factories import write_embeddings_csv

STRENGTHS = {
    "DIVERSITY": 2.0,
    "WEIGHTS:al": 0.5,
    "WEIGHTS:animals/uncertainty_margin": 1.5,
    "BALANCE:animals/CLASS_DISTRIBUTION": 3.0,
    "SIMILARITY": 0.7,
}
THRESHOLD = 10.0


def test_every_contribution_lies_between_0_and_its_strength(tmp_path):
    root, shared = tmp_path / "input", tmp_path / "shared"
    names = synthetic.write_images(root, 40, size=(32, 32), seed=3)
    synthetic.write_predictions(root, names, {"animals": "classification"}, categories=("cat", "dog", "bird"),
                                image_size=(32, 32), coverage=0.8, seed=4)
    rng = np.random.default_rng(5)
    # Far from unit length, and scores far from [0, 1]: only the rescaled terms stay in [0, 1].
    embeddings = rng.standard_normal((40, 8)) * 30
    al = rng.random(40) * 50 + 5
    write_embeddings_csv(shared / "embeddings.csv", names, embeddings, al=al)
    selection = {"n_samples": 12, "strategies": [
        {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY", "strength": STRENGTHS["DIVERSITY"]}},
        {"input": {"type": "SCORES", "column": "al"}, "strategy": {"type": "WEIGHTS", "strength": STRENGTHS["WEIGHTS:al"]}},
        {"input": {"type": "SCORES", "task": "animals", "score": "uncertainty_margin"},
         "strategy": {"type": "WEIGHTS", "strength": STRENGTHS["WEIGHTS:animals/uncertainty_margin"]}},
        {"input": {"type": "PREDICTIONS", "task": "animals", "name": "CLASS_DISTRIBUTION"},
         "strategy": {"type": "BALANCE", "target": {"bird": 0.6}, "strength": STRENGTHS["BALANCE:animals/CLASS_DISTRIBUTION"]}},
        {"input": {"type": "EMBEDDINGS", "filenames": [names[0]]},
         "strategy": {"type": "SIMILARITY", "strength": STRENGTHS["SIMILARITY"]}},
        {"input": {"type": "SCORES", "column": "al"}, "strategy": {"type": "THRESHOLD", "threshold": THRESHOLD, "operation": "BIGGER"}},
    ]}
    config = resolve(overrides=[f"input_dir={root}", f"shared_dir={shared}", f"output_dir={tmp_path / 'out'}",
                                "embeddings=embeddings.csv", "normalize_embeddings=false", "lightly.loader.num_workers=0",
                                f"selection_config={json.dumps(selection)}"])
    result = pipeline.run(config, show_bars=False, stream=io.StringIO())

    picks = pd.read_csv(result.run_dir / "data/selected_samples.csv")
    assert len(picks) == 12
    objectives = json.loads((result.run_dir / "report.json").read_text())["selection"]["objectives"]
    assert {o["label"]: o["strength"] for o in objectives if not o["label"].startswith("THRESHOLD")} == STRENGTHS
    columns = [c for c in picks.columns if c.startswith("contribution/")]
    assert sorted(columns) == sorted(f"contribution/{label}" for label in [*STRENGTHS, "THRESHOLD:al"])
    for label, strength in STRENGTHS.items():
        values = picks[f"contribution/{label}"]
        assert values.notna().all(), label
        assert values.between(0.0, strength + 1e-6).all(), (label, strength, values.tolist())
    # the first pick is "infinitely far": DIVERSITY contributes its full strength
    assert picks["contribution/DIVERSITY"].iloc[0] == STRENGTHS["DIVERSITY"]
    compared = pd.Series(al, index=names)[picks["filenames"]].to_numpy()
    np.testing.assert_allclose(picks["contribution/THRESHOLD:al"], compared, rtol=1e-5)
    assert (compared > THRESHOLD).all()


@pytest.mark.parametrize("strength", [0.5, 3.0])
def test_a_balance_contribution_is_its_strength_times_the_term(strength):
    # BALANCE alone on a 50/50 target: the first pick moves nothing (term 0), the second, of the
    # other class, evens the mix out (term 1). Its column holds strength x term: 0, then strength.
    counts = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=np.float64)
    balance = {"input": {"type": "PREDICTIONS", "task": "t", "name": "CLASS_DISTRIBUTION"},
               "strategy": {"type": "BALANCE", "target": {"a": 0.5, "b": 0.5}, "strength": strength}}
    config = resolve(selection_config={"n_samples": 2, "strategies": [balance]}).selection
    candidates = np.ones(len(counts), dtype=bool)
    data = SelectionData(n=len(counts), class_counts={"t": ClassCounts(counts, ["a", "b"])})
    result = select(np.zeros((len(counts), 2), dtype=np.float32), config,
                    build_objectives(config, data, candidates, seed=0), candidates=candidates)
    assert result.indices.tolist() == [0, 2]
    assert result.contributions["BALANCE:t/CLASS_DISTRIBUTION"].tolist() == pytest.approx([0.0, strength])
