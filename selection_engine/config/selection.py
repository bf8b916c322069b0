"""The selection config (SPEC §3): how many samples, and which objectives pick them.

```
{"n_samples": 100,                                  # or "proportion_samples": 0.1
 "strategies": [
   {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}},
   {"input": {"type": "SCORES", "task": "cars", "score": "uncertainty_margin"},
    "strategy": {"type": "WEIGHTS"}}]}
```

The legacy worker keys ``method`` and ``stopping_condition`` map onto this form
(:func:`from_legacy`), so the selection code knows only one shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from .documents import MAX_COUNT, WorkerConfig, at_most, count_or_fraction
from .typed import build

#: Which strategies each input type can feed, and why the others cannot. METADATA is checked
#: again at run time: WEIGHTS/THRESHOLD need a numeric field, BALANCE a categorical one.
COMPATIBLE = {
    "EMBEDDINGS": ("DIVERSITY", "SIMILARITY"),
    "SCORES": ("WEIGHTS", "THRESHOLD"),
    "METADATA": ("WEIGHTS", "THRESHOLD", "BALANCE"),
    "PREDICTIONS": ("BALANCE",),
    "RANDOM": ("WEIGHTS",),
    "TYPICALITY": ("WEIGHTS", "THRESHOLD"),
}
WHY_NOT = {
    "DIVERSITY": "DIVERSITY spreads samples out in embedding space, so its input must be EMBEDDINGS",
    "SIMILARITY": "SIMILARITY looks for samples near query samples in embedding space, so its input must be EMBEDDINGS",
    "WEIGHTS": (
        "WEIGHTS prefers high values of a number per sample, so its input must be SCORES, numeric METADATA, TYPICALITY or RANDOM"
    ),
    "THRESHOLD": (
        "THRESHOLD compares a number per sample with a threshold, so its input must be SCORES, numeric METADATA or TYPICALITY"
    ),
    "BALANCE": "BALANCE steers the mix of classes, so its input must be PREDICTIONS (CLASS_DISTRIBUTION) or categorical METADATA",
}
OPERATIONS = ("SMALLER", "SMALLER_EQUAL", "BIGGER", "BIGGER_EQUAL")
#: DIVERSITY's ``typicality``: this name for the rule that fades with the labels known, or a fixed exponent.
COLD_START = "COLD_START"
#: Each strategy scores every sample; no useful selection combines more objectives than this.
MAX_STRATEGIES = 64


@dataclass
class SelectionInput:
    type: str = ""
    #: SCORES from predictions: the task and score name.
    task: str = ""
    score: str = ""
    #: SCORES from a column of the embeddings CSV (``active_learning_score_column_name``).
    column: str = ""
    #: PREDICTIONS: the predicted class mix of a task's images (``CLASS_DISTRIBUTION``).
    name: str = ""
    #: METADATA: the field, e.g. ``weather`` or ``lightly.sharpness``.
    key: str = ""
    #: RANDOM: the seed of the uniform scores (defaults to the worker's ``seed``).
    random_seed: int | None = None
    #: EMBEDDINGS for SIMILARITY: the query samples, as filenames of this dataset ...
    filenames: list[str] | None = None
    #: ... or as the selection of an earlier run (its run directory).
    run: str = ""


@dataclass
class SelectionStrategy:
    type: str = ""
    #: DIVERSITY only: stop once no candidate is farther than this from the selection.
    stopping_condition_minimum_distance: float | None = None
    #: DIVERSITY only: weigh the distance term by typicality^w (``selection/typicality.py``):
    #: "COLD_START" (w from the number of labeled samples known to the run) or a fixed w >= 0.
    typicality: float | str | None = None
    #: THRESHOLD: keep only samples whose value compares true with ``threshold``.
    threshold: float | None = None
    operation: str = ""
    #: BALANCE: wanted fraction per class name; the rest goes evenly to the unnamed classes.
    target: dict[str, float] | None = None
    #: How much this objective counts against the others in a combined selection.
    strength: float = 1.0


@dataclass
class StrategySpec:
    input: SelectionInput = field(default_factory=SelectionInput)
    strategy: SelectionStrategy = field(default_factory=SelectionStrategy)


@dataclass
class SelectionConfig:
    n_samples: int | None = None
    proportion_samples: float | None = None
    strategies: list[StrategySpec] = field(default_factory=list)

    def validate(self) -> None:
        if self.n_samples is not None and self.proportion_samples is not None:
            raise ConfigError("selection_config", "set exactly one of n_samples and proportion_samples, not both")
        if self.n_samples is not None and self.n_samples < 1 and self.n_samples != -1:
            raise ConfigError("selection_config.n_samples", f"must be >= 1, got {self.n_samples}")
        if self.n_samples is not None:
            at_most("selection_config.n_samples", self.n_samples, MAX_COUNT, "no run holds more images")
        if self.proportion_samples is not None and not 0 < self.proportion_samples <= 1:
            raise ConfigError(
                "selection_config.proportion_samples", f"must lie in (0, 1], got {self.proportion_samples}"
            )
        if not self.strategies:
            raise ConfigError("selection_config.strategies", "needs at least one strategy")
        at_most("selection_config.strategies", len(self.strategies), MAX_STRATEGIES, "strategies; each scores every sample")
        for i, spec in enumerate(self.strategies):
            key = f"selection_config.strategies[{i}]"
            kind, strategy = spec.input.type, spec.strategy.type
            if kind not in COMPATIBLE:
                raise ConfigError(f"{key}.input.type", f"must be one of {', '.join(COMPATIBLE)}, got {kind!r}")
            if strategy not in WHY_NOT:
                raise ConfigError(f"{key}.strategy.type", f"must be one of {', '.join(WHY_NOT)}, got {strategy!r}")
            if strategy not in COMPATIBLE[kind]:
                raise ConfigError(key, f"{strategy} cannot use {kind} input: {WHY_NOT[strategy]}")
            self._validate_input(key, spec)
            self._validate_strategy(key, spec)
            if spec.strategy.strength <= 0:
                raise ConfigError(f"{key}.strategy.strength", "must be positive")
            distance = spec.strategy.stopping_condition_minimum_distance
            if distance is not None and strategy != "DIVERSITY":
                raise ConfigError(f"{key}.strategy.stopping_condition_minimum_distance", "applies to DIVERSITY only")
            if distance is not None and distance < 0:
                raise ConfigError(f"{key}.strategy.stopping_condition_minimum_distance", "must be >= 0")
            self._validate_typicality(key, spec.strategy)
        if self.n_samples is None and self.proportion_samples is None and self.min_distance is None:
            raise ConfigError(
                "selection_config",
                "no stopping condition: set n_samples, proportion_samples or a DIVERSITY "
                "stopping_condition_minimum_distance",
            )

    @staticmethod
    def _validate_input(key: str, spec: StrategySpec) -> None:
        given = spec.input
        if given.type == "SCORES" and not given.column and not (given.task and given.score):
            raise ConfigError(f"{key}.input", "SCORES needs task and score (from predictions) or column")
        if given.type == "PREDICTIONS":
            if not given.task:
                raise ConfigError(f"{key}.input.task", "PREDICTIONS needs the task whose classes to balance")
            if given.name != "CLASS_DISTRIBUTION":
                raise ConfigError(f"{key}.input.name", f"must be CLASS_DISTRIBUTION, got {given.name!r}")
        if given.type == "METADATA" and not given.key:
            raise ConfigError(f"{key}.input.key", "METADATA needs the key of a metadata field, e.g. lightly.sharpness")
        queries = given.filenames is not None or bool(given.run)
        if spec.strategy.type == "SIMILARITY" and not queries:
            raise ConfigError(f"{key}.input", "SIMILARITY needs query samples: filenames [...] or run (an earlier run directory)")
        if given.filenames is not None and given.run:
            raise ConfigError(f"{key}.input", "give the query samples as filenames or as run, not both")
        if queries and spec.strategy.type != "SIMILARITY":
            raise ConfigError(f"{key}.input", "filenames/run name query samples, which only SIMILARITY uses")
        if given.filenames is not None and not given.filenames:
            raise ConfigError(f"{key}.input.filenames", "needs at least one query filename")

    @staticmethod
    def _validate_strategy(key: str, spec: StrategySpec) -> None:
        strategy = spec.strategy
        if strategy.type == "THRESHOLD":
            if strategy.threshold is None:
                raise ConfigError(f"{key}.strategy.threshold", "THRESHOLD needs a threshold value")
            if strategy.operation not in OPERATIONS:
                raise ConfigError(
                    f"{key}.strategy.operation", f"must be one of {', '.join(OPERATIONS)}, got {strategy.operation!r}"
                )
        elif strategy.threshold is not None or strategy.operation:
            raise ConfigError(f"{key}.strategy", "threshold/operation apply to THRESHOLD only")
        if strategy.type == "BALANCE":
            if not strategy.target:
                raise ConfigError(f"{key}.strategy.target", "BALANCE needs a target such as {\"car\": 0.5, \"person\": 0.5}")
            total = sum(strategy.target.values())
            if any(v < 0 for v in strategy.target.values()) or total > 1 + 1e-6:
                raise ConfigError(
                    f"{key}.strategy.target", f"fractions must be >= 0 and sum to at most 1, got a sum of {total:g}"
                )
        elif strategy.target is not None:
            raise ConfigError(f"{key}.strategy.target", "applies to BALANCE only")

    @staticmethod
    def _validate_typicality(key: str, strategy: SelectionStrategy) -> None:
        value = strategy.typicality
        if value is None:
            return
        if strategy.type != "DIVERSITY":
            raise ConfigError(f"{key}.strategy.typicality", "applies to DIVERSITY only")
        if isinstance(value, str) and value != COLD_START:
            raise ConfigError(f"{key}.strategy.typicality", f"must be {COLD_START} or an exponent >= 0, got {value!r}")
        if not isinstance(value, str) and value < 0:
            raise ConfigError(f"{key}.strategy.typicality", f"an exponent must be >= 0, got {value}")

    @property
    def uses_typicality(self) -> bool:
        """Whether a strategy reads typicality (a TYPICALITY input or a DIVERSITY weighed by it)."""
        return any(s.input.type == "TYPICALITY" or s.strategy.typicality is not None for s in self.strategies)

    @property
    def min_distance(self) -> float | None:
        """The DIVERSITY stopping distance, if one is set."""
        for spec in self.strategies:
            if spec.strategy.stopping_condition_minimum_distance is not None:
                return spec.strategy.stopping_condition_minimum_distance
        return None


def parse_selection_config(data: Any) -> SelectionConfig:
    """Build and validate a selection config from its JSON form."""
    if not isinstance(data, dict):
        raise ConfigError("selection_config", f"expected a JSON object, got {type(data).__name__}")
    strategies = data.get("strategies", [])
    if not isinstance(strategies, list):
        raise ConfigError("selection_config.strategies", "expected a list of {input, strategy} objects")
    rest = {k: v for k, v in data.items() if k != "strategies"}
    config = build(SelectionConfig, rest, "selection_config")
    for i, item in enumerate(strategies):
        if not isinstance(item, dict):
            raise ConfigError(f"selection_config.strategies[{i}]", "expected an object with input and strategy")
        config.strategies.append(build(StrategySpec, item, f"selection_config.strategies[{i}]"))
    config.validate()
    return config


def from_legacy(worker: WorkerConfig) -> SelectionConfig:
    """Map ``method`` + ``stopping_condition`` onto a selection config.

    coreset = DIVERSITY on embeddings (plain greedy k-center); coral = DIVERSITY weighed by
    typicality while labels are few (``COLD_START``) + WEIGHTS on the active-learning score, or
    that DIVERSITY alone when there are no scores yet; random = WEIGHTS on uniform random scores.
    """
    wanted = count_or_fraction(worker.stopping_condition.n_samples)
    distance = worker.stopping_condition.min_distance
    config = SelectionConfig(n_samples=wanted.count, proportion_samples=wanted.fraction)
    diversity = SelectionStrategy(
        type="DIVERSITY",
        stopping_condition_minimum_distance=None if distance == -1 else distance,
        typicality=COLD_START if worker.method == "coral" else None,
    )
    if worker.method == "random":
        if distance != -1:
            raise ConfigError(
                "stopping_condition.min_distance", "needs a diversity method (coreset or coral), not random"
            )
        config.strategies.append(
            StrategySpec(SelectionInput(type="RANDOM", random_seed=worker.seed), SelectionStrategy(type="WEIGHTS"))
        )
    else:
        config.strategies.append(StrategySpec(SelectionInput(type="EMBEDDINGS"), diversity))
    if worker.method == "coral":
        if worker.active_learning_score_column_name:
            scores = SelectionInput(type="SCORES", column=worker.active_learning_score_column_name)
        elif worker.active_learning.task_name:
            scores = SelectionInput(
                type="SCORES", task=worker.active_learning.task_name, score=worker.active_learning.score_name
            )
        else:
            scores = None  # a cold start: no model yet, so typical and diverse samples first
        if scores is not None:
            config.strategies.append(StrategySpec(scores, SelectionStrategy(type="WEIGHTS")))
    if config.n_samples is None and config.proportion_samples is None and distance == -1:
        raise ConfigError(
            "stopping_condition",
            "no stopping condition: set stopping_condition.n_samples or stopping_condition.min_distance",
        )
    config.validate()
    return config
