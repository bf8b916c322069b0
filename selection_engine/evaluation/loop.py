"""A simulated labeling loop on labeled data: does a selection method beat random labeling here?

The field's protocol (e.g. Sener & Savarese 2018; Hacohen et al. 2022): hold out a test split,
label a random initial set, then in each round let a method pick ``per_round`` more samples from
the unlabeled pool, reveal their labels, retrain a simple classifier on the embeddings and
measure test accuracy. Every method starts from the same initial set in a seed, so per-round
differences against random are paired.

Methods are *selectors*: functions from a :class:`RoundState` to the indices they pick. The
engine's own methods (:func:`engine_selector`) run the same ``build_objectives`` + ``select``
as a run, with the labeled samples as already selected and the classifier's uncertainty as the
active-learning scores of a classification task, so what is measured is what a run does.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config.selection import SelectionConfig
from ..config.tasks import score_column
from ..scoring import uncertainty_scores
from ..scoring.classification import CLASSIFICATION_SCORE_NAMES
from ..selection import ClassCounts, SelectionData, build_objectives, select, typicality

#: The task name under which the simulated classifier's scores are offered to selection configs
#: that name none of their own (``method=coral`` in the loop scores this task).
TASK = "model"


@dataclass
class Protocol:
    """Labeled samples at the start (random), rounds, samples labeled per round, seeds."""

    initial: int = 30
    rounds: int = 8
    per_round: int = 30
    seeds: int = 5
    #: Share of the labeled data held out for measuring accuracy (stratified by class).
    test_fraction: float = 0.3


@dataclass
class RoundState:
    """What a selector sees in one round. Indices refer to the pool (the non-test samples)."""

    embeddings: np.ndarray  # float32 (P, D)
    labels: np.ndarray  # int (P,): the pool's labels; a selector may read only labels[labeled]
    labeled: np.ndarray  # int64 (L,)
    probabilities: np.ndarray  # float64 (P, C): the current classifier's predictions
    typicality: np.ndarray  # float64 (P,)
    n_classes: int
    k: int
    rng: np.random.Generator


Selector = Callable[[RoundState], np.ndarray]


def random_selector(state: RoundState) -> np.ndarray:
    """Uniformly random unlabeled samples: the baseline every method is measured against."""
    pool = np.setdiff1d(np.arange(len(state.embeddings)), state.labeled)
    return state.rng.choice(pool, size=min(state.k, len(pool)), replace=False)


def engine_selector(config: SelectionConfig) -> Selector:
    """The engine's selection for ``config`` (its n_samples replaced by the round size)."""

    def choose(state: RoundState) -> np.ndarray:
        n = len(state.embeddings)
        round_config = SelectionConfig(n_samples=state.k, strategies=config.strategies)
        data = SelectionData(n=n, typicality=state.typicality, n_labeled=len(state.labeled))
        predicted = np.zeros_like(state.probabilities)
        predicted[np.arange(n), state.probabilities.argmax(axis=1)] = 1.0
        names = [str(c) for c in range(state.n_classes)]
        scores = uncertainty_scores(state.probabilities)
        for task in {s.input.task for s in config.strategies if s.input.task} | {TASK}:
            data.class_counts[task] = ClassCounts(predicted, names)
            data.scores.update({score_column(task, name): scores[name] for name in CLASSIFICATION_SCORE_NAMES})
        candidates = np.ones(n, dtype=bool)
        candidates[state.labeled] = False
        objectives = build_objectives(round_config, data, candidates, seed=int(state.rng.integers(1 << 31)))
        return select(state.embeddings, round_config, objectives, candidates, preselected=state.labeled).indices

    return choose


def _split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(pool, test) indices, the test share drawn per class so every class is measured."""
    from sklearn.model_selection import train_test_split

    index = np.arange(len(labels))
    pool, test = train_test_split(index, test_size=test_fraction, stratify=labels, random_state=seed)
    return pool, test


def _classifier(x: np.ndarray, y: np.ndarray, n_classes: int) -> Callable[[np.ndarray], np.ndarray]:
    """predict_proba-like function of logistic regression on standardised features; with one
    class labeled so far, that class with certainty."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    classes = np.unique(y)
    if len(classes) == 1:
        return lambda q: np.eye(n_classes)[np.full(len(q), classes[0])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings on tiny sets say nothing useful
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)

    def proba(q: np.ndarray) -> np.ndarray:
        out = np.zeros((len(q), n_classes))
        out[:, classes] = model.predict_proba(q)
        return out

    return proba


def simulate(
    embeddings: np.ndarray,
    labels: np.ndarray,
    selectors: dict[str, Selector],
    protocol: Protocol,
    on_round: Callable[[], None] | None = None,
) -> pd.DataFrame:
    """Accuracy per method, seed and round: columns method, seed, round, labeled, accuracy.

    embeddings: float32 (N, D); labels: (N,) of any hashable type (encoded to 0..C-1 here).
    Round 0 is the random initial set, the same for every method of a seed.
    """
    _, codes = np.unique(np.asarray(labels), return_inverse=True)
    n_classes = int(codes.max()) + 1
    x = np.ascontiguousarray(embeddings, dtype=np.float32)
    rows = []
    for seed in range(protocol.seeds):
        pool, test = _split(codes, protocol.test_fraction, seed)
        xp, yp = x[pool], codes[pool]
        typ = typicality(xp, seed=seed)
        initial = np.random.default_rng(seed).choice(len(pool), size=protocol.initial, replace=False)
        for method, selector in selectors.items():
            rng = np.random.default_rng([seed, 7])
            labeled = initial.copy()
            for round_ in range(protocol.rounds + 1):
                proba = _classifier(xp[labeled], yp[labeled], n_classes)
                accuracy = float((proba(x[test]).argmax(axis=1) == codes[test]).mean())
                rows.append((method, seed, round_, len(labeled), accuracy))
                if on_round is not None:
                    on_round()
                if round_ == protocol.rounds:
                    break
                state = RoundState(xp, yp, labeled, proba(xp), typ, n_classes, protocol.per_round, rng)
                picks = np.asarray(selector(state), dtype=np.int64)
                if np.isin(picks, labeled).any() or len(np.unique(picks)) != len(picks):
                    raise RuntimeError(f"method {method} picked a labeled sample or one sample twice")
                labeled = np.concatenate([labeled, picks])
    return pd.DataFrame(rows, columns=["method", "seed", "round", "labeled", "accuracy"])
