"""How strategies are weighed, as the README states it: each pick maximises the sum over the
strategies of ``strength x term``, each term in [0, 1]. DIVERSITY's term is the candidate's distance
to the nearest selected sample divided by the largest such distance among the candidates (at every
step); WEIGHTS' term is its input rescaled to [0, 1] over the candidates.

The small worlds lie on a line: sample 0 at the origin counts as selected already, so every
distance is finite and each case's sums can be checked by hand."""

import numpy as np
import pytest

from selection_engine.config import resolve
from selection_engine.selection import SelectionData, build_objectives, select

SCORES = {"type": "SCORES", "column": "s"}


def diversity(strength=1.0):
    return {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY", "strength": strength}}


def weights(strength=1.0):
    return {"input": SCORES, "strategy": {"type": "WEIGHTS", "strength": strength}}


def choose(positions, scores, strategies, n_samples=1, preselected=(0,)):
    """Select from points at ``positions`` (a line, or rows of coordinates) with scores ``s``."""
    x = np.asarray(positions, dtype=np.float32)
    if x.ndim == 1:
        x = np.stack([x, np.zeros_like(x)], axis=1)
    config = resolve(selection_config={"n_samples": n_samples, "strategies": strategies}).selection
    candidates = np.ones(len(x), dtype=bool)
    candidates[list(preselected)] = False
    data = SelectionData(n=len(x), scores={"s": np.asarray(scores, dtype=np.float64)}, n_labeled=len(preselected))
    objectives = build_objectives(config, data, candidates, seed=0)
    return select(x, config, objectives, candidates=candidates, preselected=np.asarray(preselected, dtype=np.int64))


# Sample 1 is twice as far from the selection as sample 2 (DIVERSITY 1 vs 0.5); sample 2 has the
# better score (WEIGHTS 0 vs 1).
FAR_LOW, NEAR_HIGH = 1, 2
LINE = [0.0, 2.0, 1.0]
LINE_SCORES = [0.0, 0.0, 1.0]


def test_equal_strengths_add_the_terms():
    result = choose(LINE, LINE_SCORES, [diversity(), weights()])
    assert result.indices.tolist() == [NEAR_HIGH]  # 0.5 + 1 beats 1 + 0
    assert result.contributions["DIVERSITY"].tolist() == pytest.approx([0.5])
    assert result.contributions["WEIGHTS:s"].tolist() == pytest.approx([1.0])


def test_a_weaker_weights_strength_lets_the_distance_win():
    # DIVERSITY 1 + 0.25 x 0 = 1 beats 0.5 + 0.25 x 1 = 0.75
    result = choose(LINE, LINE_SCORES, [diversity(), weights(strength=0.25)])
    assert result.indices.tolist() == [FAR_LOW]
    assert result.contributions["WEIGHTS:s"].tolist() == pytest.approx([0.0])
    # ... and a stronger one makes the score win even against a much farther sample
    result = choose([0.0, 2.0, 0.2], LINE_SCORES, [diversity(), weights(strength=3.0)])
    assert result.indices.tolist() == [NEAR_HIGH]  # 0.1 + 3 beats 1 + 0
    assert result.contributions["WEIGHTS:s"].tolist() == pytest.approx([3.0])


def test_a_stronger_diversity_strength_lets_the_distance_win():
    # 4 x 1 + 0 = 4 beats 4 x 0.5 + 1 = 3
    result = choose(LINE, LINE_SCORES, [diversity(strength=4.0), weights()])
    assert result.indices.tolist() == [FAR_LOW]
    assert result.contributions["DIVERSITY"].tolist() == pytest.approx([4.0])
    # ... and a weak one lets the score win against a much farther sample
    result = choose([0.0, 2.0, 0.5], LINE_SCORES, [diversity(strength=0.5), weights()])
    assert result.indices.tolist() == [NEAR_HIGH]  # 0.5 x 0.25 + 1 beats 0.5 x 1 + 0


@pytest.mark.parametrize("scale", [0.001, 1.0, 1000.0])
def test_the_distance_term_is_relative_to_the_farthest_candidate(scale):
    """Scaling the embeddings changes no pick: distances count only relative to the largest one."""
    result = choose(np.array(LINE) * scale, LINE_SCORES, [diversity(), weights()])
    assert result.indices.tolist() == [NEAR_HIGH]
    assert result.contributions["DIVERSITY"].tolist() == pytest.approx([0.5])


def test_the_distance_term_is_relative_to_the_farthest_candidate_at_each_step():
    """After a pick the largest distance shrinks; the term is divided by the new largest one.

    Sample 0 selected at 0; 1 at 10, 2 at 4 and 3 at 5.5 (scores 0, 0.6, 1). Step 1: DIVERSITY
    1, 0.4, 0.55 + WEIGHTS 0, 0.6, 1 (x 0.7): 3 wins with 1.25. Step 2, the distances are now 4.5,
    1.5 (largest 4.5): 1 + 0 against 0.333 + 0.42, so 1 wins; divided by step 1's largest (10),
    the terms would be 0.45 + 0 against 0.15 + 0.42 and 2 would win.
    """
    result = choose([0.0, 10.0, 4.0, 5.5], [0.0, 0.0, 0.6, 1.0], [diversity(), weights(strength=0.7)], n_samples=2)
    assert result.indices.tolist() == [3, 1]
    assert result.contributions["DIVERSITY"].tolist() == pytest.approx([0.55, 1.0])


def test_the_distance_term_is_the_distance_not_its_square():
    # Sample 2 is 3/4 as far as sample 1: 0.75 + 0.35 x 1 = 1.1 beats 1 + 0 (squared: 0.5625 + 0.35 loses)
    result = choose([0.0, 2.0, 1.5], LINE_SCORES, [diversity(), weights(strength=0.35)])
    assert result.indices.tolist() == [NEAR_HIGH]
    assert result.contributions["DIVERSITY"].tolist() == pytest.approx([0.75])


@pytest.mark.parametrize("offset, factor", [(0.0, 1.0), (0.01, 0.001), (500.0, 40.0), (-3.0, 1.0)])
def test_weights_are_rescaled_to_0_1_over_the_candidates(offset, factor):
    """Only the order of the scores among the candidates counts, not their unit or range."""
    scores = offset + factor * np.array(LINE_SCORES)
    result = choose(LINE, scores, [diversity(), weights()])
    assert result.indices.tolist() == [NEAR_HIGH]  # 0.5 + 1 beats 1 + 0, whatever the scores' range
    assert result.contributions["WEIGHTS:s"].tolist() == pytest.approx([1.0])


def reference_picks(x, scores, strength_d, strength_w, k, preselected):
    """The README's rule, written out in float64: lowest index on ties."""
    x = x.astype(np.float64)
    candidates = np.ones(len(x), dtype=bool)
    candidates[preselected] = False
    low, high = scores[candidates].min(), scores[candidates].max()
    w = (scores - low) / (high - low)
    nearest = np.full(len(x), np.inf)
    for i in preselected:
        nearest = np.minimum(nearest, np.linalg.norm(x - x[i], axis=1))
    picks = []
    for _ in range(k):
        d = nearest / nearest[candidates].max()
        total = np.where(candidates, strength_d * d + strength_w * w, -np.inf)
        i = int(np.argmax(total))
        picks.append(i)
        candidates[i] = False
        nearest = np.minimum(nearest, np.linalg.norm(x - x[i], axis=1))
    return picks


@pytest.mark.parametrize("strength_d, strength_w", [(1.0, 1.0), (0.3, 1.0), (1.0, 0.3), (2.5, 0.7)])
def test_many_picks_follow_the_stated_rule(strength_d, strength_w):
    rng = np.random.default_rng(11)
    x = (rng.standard_normal((150, 6)) * 7).astype(np.float32)
    scores = rng.random(150) * 40 + 10
    preselected = [0, 1, 2]
    result = choose(x, scores, [diversity(strength_d), weights(strength_w)], n_samples=20, preselected=preselected)
    assert result.indices.tolist() == reference_picks(x, scores, strength_d, strength_w, 20, preselected)
