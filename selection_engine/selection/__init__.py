"""Choosing samples: greedy k-center and the strategies that combine with it."""

from .kcenter import DistanceTracker, greedy_k_center
from .objectives import ClassCounts, Objective, SelectionData, build_objectives, input_name
from .select import SelectionResult, select, target_count
from .typicality import cold_start_exponent, typicality

__all__ = [
    "ClassCounts",
    "DistanceTracker",
    "Objective",
    "SelectionData",
    "SelectionResult",
    "build_objectives",
    "cold_start_exponent",
    "greedy_k_center",
    "input_name",
    "select",
    "target_count",
    "typicality",
]
