"""Typicality (TypiClust's inverse mean distance to the k nearest neighbours) and coral's cold start."""

import numpy as np
import pytest

from selection_engine.config import resolve
from selection_engine.errors import ConfigError
from selection_engine.selection import SelectionData, build_objectives, cold_start_exponent, select, typicality


def test_typicality_is_the_inverse_mean_distance_to_the_nearest_neighbours():
    # Points on a line at 0, 1, 3 and 10: each one's two nearest others, worked out by hand.
    x = np.array([[0.0], [1.0], [3.0], [10.0]], dtype=np.float32)
    expected = 1 / np.array([(1 + 3) / 2, (1 + 2) / 2, (2 + 3) / 2, (7 + 9) / 2])
    np.testing.assert_allclose(typicality(x, k=2), expected, rtol=1e-6)


def test_duplicates_stay_finite_and_k_is_capped_by_the_data():
    x = np.zeros((3, 2), dtype=np.float32)
    values = typicality(x, k=20)
    assert np.isfinite(values).all() and (values > 0).all()
    assert typicality(np.zeros((1, 2), dtype=np.float32)).tolist() == [1.0]


def test_a_reference_sample_keeps_dense_points_above_outliers():
    rng = np.random.default_rng(0)
    dense = rng.normal(0, 0.05, (3000, 4))
    outliers = rng.uniform(-20, 20, (20, 4))  # isolated: scattered over a wide box
    x = np.concatenate([dense, outliers]).astype(np.float32)
    sampled = typicality(x, k=20, reference=500)
    exact = typicality(x, k=20)
    assert sampled[:3000].min() > sampled[3000:].max()
    # the same ranking as the exact search, measured at the same neighbourhood radius
    assert np.corrcoef(np.argsort(np.argsort(sampled)), np.argsort(np.argsort(exact)))[0, 1] > 0.8


def test_the_cold_start_exponent_fades_with_labels_per_class():
    assert cold_start_exponent(0) == 0.5
    assert cold_start_exponent(150, n_classes=10) == pytest.approx(0.25)
    assert cold_start_exponent(300, n_classes=10) == 0.0
    assert cold_start_exponent(1000, n_classes=2) == 0.0
    assert cold_start_exponent(30, n_classes=2) == pytest.approx(0.25)  # 60 labels make 2 classes warm


def choose(x, args, scores=None, preselected=None):
    config = resolve(overrides=["normalize_embeddings=false", *args]).selection
    candidates = np.ones(len(x), dtype=bool)
    data = SelectionData(n=len(x), scores=scores or {}, n_labeled=0 if preselected is None else len(preselected))
    if config.uses_typicality:
        data.typicality = typicality(x)
    objectives = build_objectives(config, data, candidates, seed=0)
    return select(x, config, objectives, candidates, preselected=preselected)


@pytest.fixture
def clusters_and_outliers():
    """Three tight clusters of 40 points and 6 isolated outliers far from everything."""
    rng = np.random.default_rng(3)
    centres = np.array([[0, 0], [4, 0], [0, 4]])
    clusters = np.concatenate([c + rng.normal(0, 0.3, (40, 2)) for c in centres])
    outliers = np.array([[12, 12], [-9, 7], [9, -9], [-8, -8], [15, 0], [0, -14]])
    return np.concatenate([clusters, outliers]).astype(np.float32)


def test_coral_at_the_cold_start_picks_typical_samples_where_k_center_picks_outliers(clusters_and_outliers):
    x = clusters_and_outliers
    outlier = np.arange(len(x)) >= 120
    coreset = choose(x, ["stopping_condition.n_samples=6"])
    assert outlier[coreset.indices].sum() >= 5  # farthest-first runs straight to the outliers
    assert outlier[coreset.indices[:3]].sum() >= 2
    coral = choose(x, ["method=coral", "stopping_condition.n_samples=6"])  # no scores: the cold-start rule alone
    first = coral.indices[:3]
    assert not outlier[first].any()
    assert set(first // 40) == {0, 1, 2}  # one typical sample per cluster first
    assert (coral.typicality_factor[:3] > 0.8).all()


def test_with_many_labels_coral_is_diversity_plus_score_again(clusters_and_outliers):
    x = np.concatenate([clusters_and_outliers, np.full((300, 2), 100.0, dtype=np.float32)])
    scores = {"al": np.random.default_rng(0).random(len(x))}
    labeled = np.arange(126, 426)  # 300 labels: past the cold start for 10 classes
    args = ["stopping_condition.n_samples=8", "active_learning_score_column_name=al"]
    coral = choose(x, ["method=coral", *args], scores, preselected=labeled)
    plain = choose(x, [("selection_config={\"n_samples\": 8, \"strategies\": [{\"input\": {\"type\": \"EMBEDDINGS\"}, "
                        "\"strategy\": {\"type\": \"DIVERSITY\"}}, {\"input\": {\"type\": \"SCORES\", \"column\": \"al\"}, "
                        "\"strategy\": {\"type\": \"WEIGHTS\"}}]}")], scores, preselected=labeled)
    assert coral.indices.tolist() == plain.indices.tolist()
    assert coral.typicality_factor is None


def test_typicality_as_an_input_filters_and_weighs(clusters_and_outliers):
    x = clusters_and_outliers
    document = ('{"n_samples": 10, "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}},'
                ' {"input": {"type": "TYPICALITY"}, "strategy": {"type": "THRESHOLD", "threshold": %r, "operation": "BIGGER"}}]}')
    cutoff = float(np.sort(typicality(x))[6])  # just above the six outliers
    result = choose(x, [f"selection_config={document % cutoff}"])
    assert (result.indices < 120).all()
    assert result.contributions["THRESHOLD:typicality"].min() > cutoff


@pytest.mark.parametrize(
    "spec, message",
    [
        ('{"input": {"type": "TYPICALITY"}, "strategy": {"type": "WEIGHTS", "typicality": 0.5}}',
         "strategies[0].strategy.typicality: applies to DIVERSITY only"),
        ('{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY", "typicality": "SOMETIMES"}}',
         "strategies[0].strategy.typicality: must be COLD_START or an exponent >= 0"),
        ('{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY", "typicality": -1}}',
         "strategies[0].strategy.typicality: an exponent must be >= 0"),
        ('{"input": {"type": "TYPICALITY"}, "strategy": {"type": "BALANCE", "target": {"a": 1}}}',
         "BALANCE cannot use TYPICALITY input"),
    ],
)
def test_bad_typicality_settings_name_the_key(spec, message):
    document = '{"n_samples": 3, "strategies": [%s]}' % spec
    with pytest.raises(ConfigError) as err:
        resolve(overrides=[f"selection_config={document}"])
    assert message in str(err.value)
