"""The selection loop: several objectives combined in one greedy pass.

Every objective gives each candidate a value in [0, 1] per step, weighted by its ``strength``;
the candidate with the largest sum is picked (lowest index on ties):

* DIVERSITY: distance to the nearest selected sample divided by the largest such distance
  among the candidates (1 for everyone before anything is selected). Recomputed every step.
* WEIGHTS: the input's values rescaled to [0, 1] over the candidates (min → 0, max → 1).

So coral (DIVERSITY + WEIGHTS, equal strength) prefers, at equal distance, the higher score, and
at equal score, the more distant sample. DIVERSITY alone is exactly greedy k-center.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..config.selection import SelectionConfig, StrategySpec
from ..errors import ConfigError
from .kcenter import DistanceTracker


@dataclass
class Objective:
    """One strategy, ready to use. values: float64 (N,) in [0, 1] for static objectives."""

    label: str
    kind: str  # "diversity" or "weights"
    strength: float = 1.0
    values: np.ndarray | None = None


@dataclass
class SelectionResult:
    """indices: picks in order; the rest are (k,) per pick or (N,) per sample."""

    indices: np.ndarray
    #: label → (k,) value the objective contributed (strength × term) when the sample was picked.
    contributions: dict[str, np.ndarray]
    #: (k,) distance of each pick to the nearest earlier pick (inf for the first, nan if unknown).
    distance_at_pick: np.ndarray
    #: (N,) index of the nearest selected sample (this run's picks and datapool picks), -1 if none.
    nearest: np.ndarray
    #: (N,) distance to that sample, nan where there is none.
    nearest_distance: np.ndarray
    stop_reason: str
    skipped: bool = False
    notes: list[str] = field(default_factory=list)


def _rescale(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Map values to [0, 1] by min-max over the candidates; constant values become 0."""
    out = np.zeros(values.shape, dtype=np.float64)
    if not mask.any():
        return out
    low, high = values[mask].min(), values[mask].max()
    if high > low:
        out = (values - low) / (high - low)
    return np.clip(out, 0.0, 1.0)


def build_objectives(
    config: SelectionConfig,
    n: int,
    candidates: np.ndarray,
    scores: dict[str, np.ndarray],
    seed: int,
) -> list[Objective]:
    """Turn the config's strategies into objectives over N samples.

    ``scores`` maps a SCORES input's name (``column`` or ``task/score``) to (N,) values.
    """
    objectives = []
    for i, spec in enumerate(config.strategies):
        kind, strategy = spec.input.type, spec.strategy.type
        strength = spec.strategy.strength
        if strategy == "DIVERSITY":
            objectives.append(Objective("DIVERSITY", "diversity", strength))
        elif kind == "RANDOM":
            rng_seed = spec.input.random_seed if spec.input.random_seed is not None else seed
            values = np.random.default_rng(rng_seed).random(n)
            objectives.append(Objective("WEIGHTS:random", "weights", strength, values))
        elif kind == "SCORES":
            name = score_name(spec)
            if name not in scores:
                raise ConfigError(
                    f"selection_config.strategies[{i}].input",
                    f"no scores named {name!r}; available: {', '.join(sorted(scores)) or 'none'}",
                )
            objectives.append(Objective(f"WEIGHTS:{name}", "weights", strength, _rescale(scores[name], candidates)))
    return objectives


def score_name(spec: StrategySpec) -> str:
    """How a SCORES input is named in outputs: its CSV column, or ``task/score``."""
    return spec.input.column or f"{spec.input.task}/{spec.input.score}"


def target_count(config: SelectionConfig, n_candidates: int) -> int | None:
    """The number of samples to pick, or None when only a distance stops the selection."""
    if config.n_samples is not None and config.n_samples != -1:
        return config.n_samples
    if config.proportion_samples is not None:
        return max(1, int(round(config.proportion_samples * n_candidates))) if n_candidates else 0
    return None


def select(
    embeddings: np.ndarray,
    config: SelectionConfig,
    objectives: list[Objective],
    candidates: np.ndarray | None = None,
    preselected: np.ndarray | None = None,
    external: np.ndarray | None = None,
) -> SelectionResult:
    """Run the greedy selection.

    embeddings: float32 (N, D). candidates: bool (N,), which samples may be picked (default all).
    preselected: indices counted as already selected (e.g. a datapool's picks present in the
    data). external: float32 (M, D) embeddings of earlier picks absent from the data.
    """
    n = embeddings.shape[0]
    candidates = np.ones(n, dtype=bool) if candidates is None else candidates.copy()
    preselected = np.asarray(preselected if preselected is not None else [], dtype=np.int64)
    candidates[preselected] = False
    n_candidates = int(candidates.sum())
    k = target_count(config, n_candidates)
    min_distance = config.min_distance

    tracker = DistanceTracker(embeddings, track_nearest=True)
    for index in preselected:
        tracker.add(int(index))
    if external is not None and len(external):
        tracker.add_external(external)
    # Non-candidates can never be picked but keep their distances for the removed-samples report.
    blocked = ~candidates

    if k is not None and k >= n_candidates and min_distance is None:
        picks = np.flatnonzero(candidates)
        for index in picks:
            tracker.add(int(index))
        return _finish(
            tracker, picks, {o.label: np.full(len(picks), np.nan) for o in objectives},
            np.full(len(picks), np.nan), "every candidate selected", skipped=True,
        )

    diversity = [o for o in objectives if o.kind == "diversity"]
    static = np.zeros(n, dtype=np.float64)
    for objective in objectives:
        if objective.kind == "weights":
            static += objective.strength * objective.values
    div_strength = sum(o.strength for o in diversity)

    picks: list[int] = []
    picked_terms: dict[str, list[float]] = {o.label: [] for o in objectives}
    picked_distance: list[float] = []
    limit = n_candidates if k is None else min(k, n_candidates)
    stop_reason = "n_samples reached" if k is not None and k <= n_candidates else "no candidates left"
    has_weights = any(o.kind == "weights" for o in objectives)
    sq = np.empty(n, dtype=np.float32)  # squared distance to the selection; -1 = not pickable
    while len(picks) < limit:
        np.copyto(sq, tracker.min_sq)
        sq[blocked] = -1.0
        farthest = int(np.argmax(sq))
        if sq[farthest] < 0:
            stop_reason = "no candidates left"
            break
        far_sq = float(sq[farthest])
        if min_distance is not None and np.isfinite(far_sq) and np.sqrt(max(far_sq, 0.0)) < min_distance:
            stop_reason = f"min_distance reached: no candidate is farther than {min_distance} from the selection"
            break
        div_term = None
        if diversity:
            if np.isinf(far_sq):
                # Nothing selected yet: every candidate is infinitely far, so diversity is a tie.
                div_term = (sq >= 0).astype(np.float64)
            else:
                div_term = np.sqrt(np.maximum(sq, 0.0), dtype=np.float64)
                div_term /= max(np.sqrt(max(far_sq, 0.0)), 1e-12)
        if has_weights:
            total = static.copy() if div_term is None else div_strength * div_term + static
            total[sq < 0] = -np.inf
            index = int(np.argmax(total))
        else:
            index = farthest  # DIVERSITY alone: exactly greedy k-center
        picks.append(index)
        picked_distance.append(float(np.sqrt(max(sq[index], 0.0))))
        for objective in objectives:
            term = div_term[index] if objective.kind == "diversity" else objective.values[index]
            picked_terms[objective.label].append(objective.strength * float(term))
        tracker.add(index)
    contributions = {label: np.asarray(values, dtype=np.float64) for label, values in picked_terms.items()}
    return _finish(tracker, np.asarray(picks, dtype=np.int64), contributions, np.asarray(picked_distance), stop_reason)


def _finish(tracker, picks, contributions, distance_at_pick, stop_reason, skipped=False) -> SelectionResult:
    nearest = tracker.nearest.copy()
    has_nearest = np.isfinite(tracker.min_sq)
    nearest_distance = np.where(has_nearest, np.sqrt(np.maximum(tracker.min_sq, 0.0)), np.nan)
    selected = tracker.min_sq == DistanceTracker.SELECTED
    nearest[selected] = np.flatnonzero(selected)
    nearest_distance[selected] = 0.0
    return SelectionResult(
        indices=picks,
        contributions=contributions,
        distance_at_pick=distance_at_pick,
        nearest=nearest,
        nearest_distance=nearest_distance.astype(np.float64),
        stop_reason=stop_reason,
        skipped=skipped,
    )


def nearest_selected(embeddings: np.ndarray, selected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every sample, the nearest of ``selected`` (indices) and its distance; one pass per pick."""
    tracker = DistanceTracker(embeddings, track_nearest=True)
    for index in selected:
        tracker.add(int(index))
    return tracker.nearest, np.sqrt(np.maximum(tracker.min_sq, 0.0))
