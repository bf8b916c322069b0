"""Turning a selection config's strategies into objectives over N samples.

An objective gives each candidate a term in [0, 1]; the selection loop (``select.py``) picks the
candidate with the largest strength-weighted sum. THRESHOLD is not a term but a filter on the
candidates.

* DIVERSITY: distance to the nearest selected sample / the largest such distance (per step),
  times typicality^w when the strategy asks for it (``typicality.py``; coral's cold start).
* WEIGHTS: the input rescaled to [0, 1] over the candidates (static).
* SIMILARITY: closeness to the query samples, rescaled to [0, 1] (static).
* BALANCE: how much adding the sample moves the selection's class mix toward the target,
  rescaled to [0, 1] over the candidates (per step).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..config.selection import COLD_START, SelectionConfig, StrategySpec
from ..config.tasks import score_column, scores_input_column
from ..errors import ConfigError
from .typicality import cold_start_exponent

_COMPARE = {
    "SMALLER": operator.lt,
    "SMALLER_EQUAL": operator.le,
    "BIGGER": operator.gt,
    "BIGGER_EQUAL": operator.ge,
}


@dataclass
class ClassCounts:
    """Per-sample class counts: counts float64 (N, C), class names (C,)."""

    counts: np.ndarray
    names: list[str]


@dataclass
class SelectionData:
    """Everything strategies can read, aligned to the N samples of the run."""

    n: int
    #: SCORES by name (CSV column, or ``task/score``) → float64 (N,).
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    #: METADATA columns (N rows) and each column's kind, "numeric" or "categorical".
    metadata: pd.DataFrame | None = None
    metadata_kinds: dict[str, str] = field(default_factory=dict)
    #: PREDICTIONS CLASS_DISTRIBUTION per task.
    class_counts: dict[str, ClassCounts] = field(default_factory=dict)
    #: SIMILARITY queries per strategy index: float32 (Q, D) embeddings, and the indices of
    #: query samples that are part of this run (they are not candidates).
    queries: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    #: float64 (N,) typicality (``typicality.py``), when a strategy reads it.
    typicality: np.ndarray | None = None
    #: How many labeled samples the run knows (labeled_filenames_file, datapool picks); they
    #: decide how long a COLD_START DIVERSITY keeps weighing typicality.
    n_labeled: int = 0


@dataclass
class Objective:
    """One strategy, ready to use.

    values: float64 (N,) static term in [0, 1] (weights), or the raw value a threshold
    compared (reported only). For balance: ``counts`` (N, C) and ``target`` (C,). For
    similarity: ``queries`` float32 (Q, D); its term is computed where the embeddings are. For
    diversity weighed by typicality: ``factor`` float64 (N,) in [0, 1], typicality^``exponent``.
    """

    label: str
    kind: str  # "diversity", "weights", "similarity", "balance" or "threshold"
    strength: float = 1.0
    values: np.ndarray | None = None
    counts: np.ndarray | None = None
    target: np.ndarray | None = None
    queries: np.ndarray | None = None
    #: bool (N,): samples this strategy took out of the candidates (THRESHOLD, SIMILARITY queries).
    excluded: np.ndarray | None = None
    factor: np.ndarray | None = None
    exponent: float | None = None

    @property
    def is_term(self) -> bool:
        return self.kind != "threshold"


def rescale(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Map values to [0, 1] by min-max over ``mask``; constant values become 0."""
    out = np.zeros(values.shape, dtype=np.float64)
    if not mask.any():
        return out
    low, high = values[mask].min(), values[mask].max()
    if high > low:
        out = (values - low) / (high - low)
    return np.clip(out, 0.0, 1.0)


def input_name(spec: StrategySpec) -> str:
    """How an input is named in outputs: a CSV column, ``task/score``, a metadata key, a task."""
    given = spec.input
    if given.type == "SCORES":
        return scores_input_column(spec)
    if given.type == "METADATA":
        return given.key
    if given.type == "PREDICTIONS":
        return score_column(given.task, given.name)
    if given.type == "RANDOM":
        return "random"
    if given.type == "TYPICALITY":
        return "typicality"
    return "embeddings"


def _numbers(spec: StrategySpec, data: SelectionData, key: str) -> np.ndarray:
    """The numeric input of WEIGHTS/THRESHOLD: scores or a numeric metadata field, (N,)."""
    name = input_name(spec)
    if spec.input.type == "TYPICALITY":
        return _typicality(data)
    if spec.input.type == "SCORES":
        if name not in data.scores:
            raise ConfigError(f"{key}.input", f"no scores named {name!r}; available: {', '.join(sorted(data.scores)) or 'none'}")
        return data.scores[name]
    kind = _metadata_kind(name, data, key)
    if kind != "numeric":
        raise ConfigError(key, f"{spec.strategy.type} needs a numeric input, but metadata {name!r} is categorical; use BALANCE")
    return pd.to_numeric(_metadata_column(data, name)).to_numpy(dtype=np.float64)


def _metadata_kind(name: str, data: SelectionData, key: str) -> str:
    if data.metadata is None or name not in data.metadata_kinds:
        available = ", ".join(sorted(data.metadata_kinds)) or "none"
        raise ConfigError(f"{key}.input.key", f"no metadata field {name!r}; available: {available}")
    return data.metadata_kinds[name]


def _metadata_column(data: SelectionData, name: str) -> pd.Series:
    """The metadata column ``name``, once :func:`_metadata_kind` found it."""
    assert data.metadata is not None, "_metadata_kind checks that the run has metadata"
    return data.metadata[name]


def _class_counts(spec: StrategySpec, data: SelectionData, key: str) -> ClassCounts:
    if spec.input.type == "PREDICTIONS":
        if spec.input.task not in data.class_counts:
            available = ", ".join(sorted(data.class_counts)) or "none"
            raise ConfigError(f"{key}.input.task", f"no predictions for task {spec.input.task!r}; tasks: {available}")
        return data.class_counts[spec.input.task]
    name = input_name(spec)
    if _metadata_kind(name, data, key) != "categorical":
        raise ConfigError(key, f"BALANCE needs classes, but metadata {name!r} is numeric; use WEIGHTS or THRESHOLD")
    values = _metadata_column(data, name).astype(str).to_numpy()
    names, codes = np.unique(values, return_inverse=True)
    counts = np.zeros((data.n, len(names)))
    counts[np.arange(data.n), codes] = 1
    return ClassCounts(counts, names.tolist())


def _target_vector(target: dict[str, float], names: list[str], key: str) -> np.ndarray:
    """Named fractions in class order; the remaining mass is shared evenly by unnamed classes."""
    unknown = [n for n in target if n not in names]
    if unknown:
        raise ConfigError(f"{key}.strategy.target", f"unknown class {unknown[0]!r}; classes: {', '.join(names)}")
    vector = np.array([target.get(n, np.nan) for n in names], dtype=np.float64)
    rest = 1.0 - np.nansum(vector)
    unnamed = np.isnan(vector)
    if unnamed.any():
        vector[unnamed] = max(rest, 0.0) / unnamed.sum()
    elif abs(rest) > 1e-6:
        raise ConfigError(
            f"{key}.strategy.target", f"every class is named, so the fractions must sum to 1 (they sum to {1 - rest:g})"
        )
    return vector


def _diversity(config: SelectionConfig, spec: StrategySpec, data: SelectionData, candidates: np.ndarray) -> Objective:
    """DIVERSITY, with its typicality factor when the strategy asks for one (and it is not 1)."""
    objective = Objective("DIVERSITY", "diversity", spec.strategy.strength)
    weighing = spec.strategy.typicality
    if weighing is None:
        return objective
    exponent = cold_start_exponent(data.n_labeled, _n_classes(config, data)) if weighing == COLD_START else float(weighing)
    objective.exponent = exponent
    known = _typicality(data)[candidates]
    if exponent > 0 and known.size and known.max() > known.min():  # equal typicality weighs nothing
        objective.factor = rescale(_typicality(data), candidates) ** exponent
    return objective


def _typicality(data: SelectionData) -> np.ndarray:
    if data.typicality is None:
        raise ValueError("this selection reads typicality: set SelectionData.typicality = selection.typicality(embeddings)")
    return data.typicality


def _n_classes(config: SelectionConfig, data: SelectionData) -> int | None:
    """The number of classes of the first task the strategies score, if the run knows it."""
    for spec in config.strategies:
        if spec.input.task in data.class_counts:
            return len(data.class_counts[spec.input.task].names)
    return None


def build_objectives(config: SelectionConfig, data: SelectionData, candidates: np.ndarray, seed: int) -> list[Objective]:
    """Objectives for the config's strategies. THRESHOLD strategies clear ``candidates`` (in place)
    for samples they exclude, and SIMILARITY does so for its query samples."""
    objectives: list[Objective] = []
    for i, spec in enumerate(config.strategies):
        key = f"selection_config.strategies[{i}]"
        strategy, strength = spec.strategy.type, spec.strategy.strength
        name = input_name(spec)
        if strategy == "DIVERSITY":
            objectives.append(_diversity(config, spec, data, candidates))
        elif strategy == "WEIGHTS":
            if spec.input.type == "RANDOM":
                rng_seed = spec.input.random_seed if spec.input.random_seed is not None else seed
                values = np.random.default_rng(rng_seed).random(data.n)
            else:
                values = _numbers(spec, data, key)
            objectives.append(Objective(f"WEIGHTS:{name}", "weights", strength, rescale(values, candidates)))
        elif strategy == "THRESHOLD":
            values = _numbers(spec, data, key)
            assert spec.strategy.threshold is not None, "SelectionConfig.validate: THRESHOLD has a threshold"
            keep = _COMPARE[spec.strategy.operation](values, spec.strategy.threshold)
            excluded = candidates & ~keep
            candidates &= keep
            objectives.append(Objective(f"THRESHOLD:{name}", "threshold", strength, values, excluded=excluded))
        elif strategy == "BALANCE":
            classes = _class_counts(spec, data, key)
            assert spec.strategy.target is not None, "SelectionConfig.validate: BALANCE has a target"
            target = _target_vector(spec.strategy.target, classes.names, key)
            objectives.append(Objective(f"BALANCE:{name}", "balance", strength, counts=classes.counts, target=target))
        elif strategy == "SIMILARITY":
            queries, query_indices = data.queries[i]
            excluded = np.zeros(data.n, dtype=bool)
            excluded[query_indices] = True
            candidates[query_indices] = False
            objectives.append(Objective("SIMILARITY", "similarity", strength, queries=queries, excluded=excluded))
    labels = [o.label for o in objectives]
    for o in objectives:
        if labels.count(o.label) > 1:
            o.label = f"{o.label}[{objectives.index(o)}]"
    return objectives
