"""The selection loop: several objectives combined in one greedy pass.

Each step picks the candidate with the largest sum of ``strength × term`` over the objectives
(lowest index on ties); see ``objectives.py`` for the terms. Coral (DIVERSITY + WEIGHTS, equal
strength) therefore prefers, at equal distance, the higher score and, at equal score, the more
distant sample. DIVERSITY alone is exactly greedy k-center. A DIVERSITY weighed by typicality
multiplies its distance term by each sample's typicality factor (``typicality.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config.selection import SelectionConfig
from .kcenter import Tracker, tracker_for
from .objectives import Objective, rescale


@dataclass
class SelectionResult:
    """indices: picks in order; the rest are (k,) per pick or (N,) per sample."""

    indices: np.ndarray
    #: label → (k,) what the objective contributed (strength × term) when the sample was
    #: picked; for THRESHOLD, the value it compared.
    contributions: dict[str, np.ndarray]
    #: (k,) distance of each pick to the nearest earlier pick (inf for the first).
    distance_at_pick: np.ndarray
    #: (N,) index of the nearest selected sample (this run's picks and datapool picks); -1 if
    #: none, or if it is a datapool pick outside this data (then nearest_distance is finite).
    nearest: np.ndarray
    #: (N,) distance to that sample, nan where there is none.
    nearest_distance: np.ndarray
    stop_reason: str
    skipped: bool = False
    #: (k,) the typicality factor of each pick when DIVERSITY is weighed by typicality, else None.
    typicality_factor: np.ndarray | None = None


def target_count(config: SelectionConfig, n_candidates: int) -> int | None:
    """The number of samples to pick, or None when only a distance stops the selection."""
    if config.n_samples is not None and config.n_samples != -1:
        return config.n_samples
    if config.proportion_samples is not None:
        return max(1, round(config.proportion_samples * n_candidates)) if n_candidates else 0
    return None


def _min_distance_to(embeddings: np.ndarray, queries: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """(N,) Euclidean distance of each embedding to its nearest query, in chunks of rows."""
    q_sq = np.einsum("ij,ij->i", queries, queries)
    out = np.empty(len(embeddings), dtype=np.float64)
    for start in range(0, len(embeddings), chunk):
        x = embeddings[start : start + chunk]
        d2 = np.einsum("ij,ij->i", x, x)[:, None] - 2.0 * (x @ queries.T) + q_sq[None, :]
        out[start : start + chunk] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out


def _balance_term(objective: Objective, totals: np.ndarray, pickable: np.ndarray) -> np.ndarray:
    """How far adding each sample moves the selection's class mix toward the target (L1), [0, 1]."""
    counts, target = objective.counts, objective.target
    assert counts is not None and target is not None, "a BALANCE objective has counts and a target"
    total = totals.sum()
    before = np.abs((totals / total if total > 0 else totals) - target).sum()
    after_totals = counts + totals[None, :]
    sums = after_totals.sum(axis=1, keepdims=True)
    after = np.abs(np.divide(after_totals, sums, out=np.zeros_like(after_totals), where=sums > 0) - target).sum(axis=1)
    after[sums[:, 0] == 0] = before  # a sample without classes changes nothing
    return rescale(before - after, pickable)


def select(
    embeddings: np.ndarray,
    config: SelectionConfig,
    objectives: list[Objective],
    candidates: np.ndarray | None = None,
    preselected: np.ndarray | None = None,
    external: np.ndarray | None = None,
    device: str = "cpu",
    backend: str | None = None,
) -> SelectionResult:
    """Run the greedy selection.

    embeddings: float32 (N, D). candidates: bool (N,), which samples may be picked (default all).
    preselected: indices counted as already selected (e.g. a datapool's picks present in the
    data). external: float32 (M, D) embeddings of earlier picks absent from the data. device:
    where the per-pick passes run ("cpu", or a GPU such as "cuda"); backend: "numba" or "torch"
    to choose the tracker regardless of the device (``kcenter.tracker_for``).
    """
    n = embeddings.shape[0]
    candidates = np.ones(n, dtype=bool) if candidates is None else candidates.copy()
    preselected = np.asarray(preselected if preselected is not None else [], dtype=np.int64)
    candidates[preselected] = False
    n_candidates = int(candidates.sum())
    k = target_count(config, n_candidates)
    min_distance = config.min_distance

    tracker = tracker_for(embeddings, candidates, track_nearest=True, device=device, backend=backend)
    for index in preselected:
        tracker.add(int(index))
    if external is not None and len(external):
        tracker.add_external(external)

    if k is not None and k >= n_candidates and min_distance is None:
        every = np.flatnonzero(candidates)
        for index in every:
            tracker.add(int(index))
        contributions = {o.label: np.full(len(every), np.nan) for o in objectives}
        return _finish(tracker, every, contributions, np.full(len(every), np.nan), "every candidate selected", skipped=True)

    # The terms that do not change between picks, summed once, in float32 like the distances.
    static = np.zeros(n, dtype=np.float64)
    for objective in objectives:
        if objective.kind == "similarity":
            assert objective.queries is not None, "a SIMILARITY objective has queries"
            objective.values = rescale(-_min_distance_to(embeddings, objective.queries), candidates)
        if objective.kind in ("weights", "similarity"):
            assert objective.values is not None, "WEIGHTS and SIMILARITY objectives have values"
            static += objective.strength * objective.values
    static32 = static.astype(np.float32)
    diversities = [o for o in objectives if o.kind == "diversity"]
    factors = [o.factor for o in diversities if o.factor is not None]
    # Per-sample weight of the shared distance term: a number, or (N,) when typicality weighs it.
    div_weight: float | np.ndarray = sum(o.strength * (o.factor if o.factor is not None else 1.0) for o in diversities)
    if isinstance(div_weight, np.ndarray):
        div_weight = div_weight.astype(np.float32)
    balances = [o for o in objectives if o.kind == "balance"]
    balance_counts = [_required(o.counts, o.label) for o in balances]
    balance_totals = [np.zeros(counts.shape[1]) for counts in balance_counts]
    only_diversity = not factors and all(o.kind in ("diversity", "threshold") for o in objectives)
    pickable = candidates.copy()  # the BALANCE terms rescale over the pickable samples

    picks: list[int] = []
    picked_terms: dict[str, list[float]] = {o.label: [] for o in objectives}
    picked_distance: list[float] = []
    picked_factor: list[float] = []
    limit = n_candidates if k is None else min(k, n_candidates)
    stop_reason = "n_samples reached" if k is not None and k <= n_candidates else "no candidates left"
    while len(picks) < limit:
        farthest, far_sq = tracker.far_index, tracker.far_sq
        if farthest < 0:
            stop_reason = "no candidates left"
            break
        if min_distance is not None and np.isfinite(far_sq) and np.sqrt(far_sq) < min_distance:
            stop_reason = f"min_distance reached: no candidate is farther than {min_distance} from the selection"
            break
        balance_terms = [_balance_term(o, totals, pickable) for o, totals in zip(balances, balance_totals)]
        if only_diversity:
            index = farthest  # DIVERSITY alone: exactly greedy k-center
        else:
            extra = None
            if balances:
                extra = sum((o.strength * term for o, term in zip(balances, balance_terms)), np.zeros(n)).astype(np.float32)
            index = tracker.best_total(static32, div_weight, extra)
        picks.append(index)
        picked_distance.append(float(np.sqrt(tracker.sq_at(index))))
        distance_term = tracker.distance_term(index)
        for objective in objectives:
            if objective.kind == "diversity":
                value = objective.strength * distance_term
                if objective.factor is not None:
                    value *= objective.factor[index]
            elif objective.kind == "balance":
                value = objective.strength * balance_terms[balances.index(objective)][index]
            elif objective.kind == "threshold":
                value = _required(objective.values, objective.label)[index]
            else:
                value = objective.strength * _required(objective.values, objective.label)[index]
            picked_terms[objective.label].append(float(value))
        if factors:
            picked_factor.append(float(factors[0][index]))
        for counts, totals in zip(balance_counts, balance_totals):
            totals += counts[index]
        pickable[index] = False
        tracker.add(index)
    contributions = {label: np.asarray(values, dtype=np.float64) for label, values in picked_terms.items()}
    result = _finish(tracker, np.asarray(picks, dtype=np.int64), contributions, np.asarray(picked_distance), stop_reason)
    result.typicality_factor = np.asarray(picked_factor) if factors else None
    return result


def _required(array: np.ndarray | None, label: str) -> np.ndarray:
    """An array the objective ``label`` has by its kind (its values, counts)."""
    assert array is not None, f"objective {label} lacks an array its kind needs"
    return array


def _finish(
    tracker: Tracker,
    picks: np.ndarray,
    contributions: dict[str, np.ndarray],
    distance_at_pick: np.ndarray,
    stop_reason: str,
    skipped: bool = False,
) -> SelectionResult:
    min_sq, tracked, selected = tracker.results()
    assert tracked is not None, "select's tracker tracks the nearest pick"
    nearest = tracked.copy()
    nearest_distance = np.where(np.isfinite(min_sq), np.sqrt(np.maximum(min_sq, 0.0)), np.nan).astype(np.float64)
    nearest[selected] = np.flatnonzero(selected)
    nearest_distance[selected] = 0.0
    return SelectionResult(
        indices=picks,
        contributions=contributions,
        distance_at_pick=distance_at_pick,
        nearest=nearest,
        nearest_distance=nearest_distance,
        stop_reason=stop_reason,
        skipped=skipped,
    )
